"""funcgrad.numpy: data-type routines (``result_type``, ``promote_types``, ``can_cast``,
``issubdtype``, ``finfo``/``iinfo``) and the scalar type objects (``float32``, ``bfloat16``,
...)."""

from __future__ import annotations

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import Array
from funcgrad._src.core import Tracer
from funcgrad._src.numpy.conversion import _is_dtype_like, _typed
from funcgrad._src.scalar_types import BFLOAT16 as bfloat16  # noqa: F401  (re-exported)
from funcgrad._src.scalar_types import TYPES as _TYPES


def result_type(*args):
    """The dtype that ``funcgrad.numpy`` gives when combining the arguments (JAX's lattice).

    Follows ``jax.numpy.result_type``, not numpy's: e.g. ``int64 + float16 -> float16``, and
    Python scalars are weak (they adopt the other dtype). The result is canonicalised (32-bit
    unless x64 is enabled).

    Args:
        *args: dtypes, dtype names, scalar types, arrays or Python scalars.

    Returns:
        A numpy dtype (or ``funcgrad.numpy.bfloat16``).

    Raises:
        TypeError: if no argument is given or one is not dtype-like.
    """
    return dtypes.result_type(
        *[(dtypes.canonicalize(a), False) if _is_dtype_like(a) else _typed(a) for a in args]
    )[0]


def promote_types(a, b):
    """The promoted dtype of two dtypes under JAX's lattice (canonicalised).

    Args:
        a: a dtype, dtype name or scalar type.
        b: a dtype, dtype name or scalar type.

    Returns:
        A numpy dtype (or ``funcgrad.numpy.bfloat16``).

    Raises:
        TypeError: if ``a`` or ``b`` is not a dtype.
    """
    return dtypes.result_type((dtypes.as_dtype(a), False), (dtypes.as_dtype(b), False))[0]


def can_cast(from_, to, casting="safe"):
    """Whether ``from_`` can be cast to ``to`` under ``casting``: numpy's rule, knowing bfloat16.

    Arrays are not accepted (numpy 2, JAX): pass ``x.dtype``.

    Args:
        from_: source dtype, dtype name or scalar type.
        to: target dtype, dtype name or scalar type.
        casting: ``'no'``, ``'equiv'``, ``'safe'``, ``'same_kind'`` or ``'unsafe'``.

    Returns:
        A Python bool.

    Raises:
        TypeError: if ``from_`` is an array.
    """
    if isinstance(from_, (Array, Tracer)):
        raise TypeError("can_cast: from_ must be a dtype (pass x.dtype, not an array)")
    f, t = dtypes.as_dtype(from_), dtypes.as_dtype(to)
    if not (dtypes.is_bf16(f) or dtypes.is_bf16(t)):
        return bool(np.can_cast(f, t, casting))
    if f == t or casting == "unsafe":
        return True
    if casting in ("no", "equiv"):
        return False
    if dtypes.is_bf16(f):  # bfloat16 fits exactly in float32/64 and complex
        return t.kind in "fc" and (casting == "same_kind" or t.itemsize >= 4)
    if casting == "same_kind":
        return f.kind in "biuf"
    return f.kind == "b" or (f.kind in "iu" and f.itemsize == 1)


float0 = np.dtype([("float0", np.void, 0)])


def issubdtype(arg1, arg2):
    """Whether ``arg1`` is a sub-dtype of ``arg2`` (``numpy.issubdtype``, knowing bfloat16).

    ``bfloat16`` counts as ``floating`` (``inexact``, ``number``, ``generic``), as in JAX.

    Args:
        arg1: a dtype, dtype name or scalar type.
        arg2: a dtype or an abstract scalar class such as ``fnp.floating``.

    Returns:
        A Python bool.

    Raises:
        TypeError: if an argument is not dtype-like.
    """
    a1 = dtypes.as_dtype(arg1) if not isinstance(arg1, type) else arg1
    a2 = arg2 if isinstance(arg2, type) else dtypes.as_dtype(arg2)
    if a1 is dtypes.bfloat16 or a2 is dtypes.bfloat16:
        if a1 is a2:
            return True
        return (
            a1 is dtypes.bfloat16
            and isinstance(a2, type)
            and a2 in (np.floating, np.inexact, np.number, np.generic)
        )
    return np.issubdtype(a1, a2)


dtype = dtypes.as_dtype
finfo = dtypes.finfo_of
iinfo = np.iinfo

# the scalar types: callables that make arrays, and dtypes for dtype= arguments
bool_, int8, int16, int32, int64 = (_TYPES[n] for n in ("bool_", "int8", "int16", "int32", "int64"))
uint8, uint16, uint32, uint64 = (_TYPES[n] for n in ("uint8", "uint16", "uint32", "uint64"))
float16, float32, float64, complex64, complex128 = (
    _TYPES[n] for n in ("float16", "float32", "float64", "complex64", "complex128")
)
float_ = float64
int_ = int64
complex_ = complex128

# numpy's abstract scalar classes, for issubdtype
integer, floating, inexact, number, signedinteger, unsignedinteger, complexfloating = (
    np.integer,
    np.floating,
    np.inexact,
    np.number,
    np.signedinteger,
    np.unsignedinteger,
    np.complexfloating,
)
