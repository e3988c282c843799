"""``fnp.float32`` and friends: usable as dtypes *and* callable like JAX's scalar types
(``fnp.float32(3)`` is a 0-d float32 array, ``fnp.int32([1, 2])`` converts an array)."""

from __future__ import annotations

import numpy as np


class ScalarType:
    """A dtype name that numpy accepts (``np.dtype(fnp.float32)``) and that converts values.

    Args:
      name: the numpy dtype name (``ScalarType("float32")``).
      x: when calling it: an array, numpy array, Python scalar or nested sequence.

    Returns:
      When calling it: ``fnp.asarray(x, dtype)`` (a 0-d array for a scalar), as JAX's
      ``jnp.float32(x)``.
    """

    def __init__(self, name: str):
        self.dtype = np.dtype(name)
        self.__name__ = name

    def __call__(self, x):
        from funcgrad._src.numpy.conversion import asarray

        return asarray(x, self.dtype)

    def __eq__(self, other):
        try:
            return self.dtype == np.dtype(other)
        except TypeError:
            return NotImplemented

    def __hash__(self):
        return hash(self.dtype)

    def __repr__(self):
        return f"funcgrad.numpy.{self.__name__}"

    @property
    def type(self):
        return self.dtype.type

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def kind(self):
        return self.dtype.kind

    @property
    def name(self):
        return self.dtype.name


NAMES = [
    "bool_",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
]
TYPES = {n: ScalarType("bool" if n == "bool_" else n) for n in NAMES}


class _BFloat16Type(ScalarType):
    """``fnp.bfloat16``: the bfloat16 dtype (``funcgrad._src.dtypes.BFloat16DType``) as a
    scalar type. ``np.dtype(fnp.bfloat16)`` fails, since numpy has no bfloat16: use
    ``fnp.dtype(fnp.bfloat16)``.

    Args:
      x: when calling it: values to convert (rounded to bfloat16, held in float32).

    Returns:
      When calling it: ``fnp.asarray(x, fnp.bfloat16)``.
    """

    def __init__(self):
        from funcgrad._src import dtypes

        self.dtype = dtypes.bfloat16
        self.__name__ = "bfloat16"

    def __eq__(self, other):
        from funcgrad._src import dtypes

        try:
            return dtypes.as_dtype(other) is self.dtype
        except TypeError:
            return NotImplemented

    def __hash__(self):
        return hash(self.dtype)

    @property
    def type(self):
        return self


BFLOAT16 = _BFloat16Type()
