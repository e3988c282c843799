"""Staging without running: ``make_jaxpr`` (the IR jit compiles), ``eval_shape`` and
``ShapeDtypeStruct``."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from funcgrad import tree_util as tu
from funcgrad._src import core, dtypes
from funcgrad._src.api_util import _as_array, _flatten_args
from funcgrad._src.array import get_aval
from funcgrad._src.core import ClosedJaxpr, trace_to_jaxpr


def make_jaxpr(fun: Callable, static_argnums=(), return_shape=False):
    """Trace ``fun`` to funcgrad's typed IR, the same IR jit compiles (``jax.make_jaxpr``).

    Args:
      fun: a function of positional arguments (pytrees of arrays) returning a pytree of
        arrays.
      static_argnums: an int or sequence of ints: positional arguments passed to ``fun`` as
        Python values (not traced), e.g. sizes.
      return_shape: also return the output shapes as ``ShapeDtypeStruct``.

    Returns:
      A function of ``fun``'s positional arguments (keyword arguments are not accepted)
      returning a :class:`ClosedJaxpr` whose invars are the flattened non-static
      arguments; with ``return_shape``, ``(closed_jaxpr, out_shapes)``, ``out_shapes`` a
      pytree like ``fun``'s output. JAX's ``axis_env`` and ``abstracted_axes`` are not
      supported.

    Raises:
      TypeError: (when called) if a non-static argument is not an array type.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> print(fg.make_jaxpr(lambda x: fnp.sin(x) * 2.0)(1.0))
    { lambda  ; a:f32[] . let
        b:f32[] = sin a
        c:f32[] = mul b 2.0
      in ( c ) }
    """
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @functools.wraps(fun)
    def make(*args):
        dyn = [a for i, a in enumerate(args) if i not in static]
        flat, in_tree = _flatten_args(tuple(dyn))
        store = {}

        def flat_fun(*xs):
            it = iter(tu.tree_unflatten(in_tree, xs))
            full = [args[i] if i in static else next(it) for i in range(len(args))]
            leaves, store["tree"] = tu.tree_flatten(fun(*full))
            return [_as_array(x) for x in leaves]

        jaxpr, consts = trace_to_jaxpr(flat_fun, [get_aval(x) for x in flat])
        closed = ClosedJaxpr(jaxpr, tuple(consts))
        if return_shape:
            shapes = [ShapeDtypeStruct(v.aval.shape, v.aval.dtype) for v in jaxpr.outvars]
            return closed, tu.tree_unflatten(store["tree"], shapes)
        return closed

    return make


class ShapeDtypeStruct:
    """A shape and dtype standing in for an array (``jax.ShapeDtypeStruct``): ``eval_shape``
    results, ``lower`` inputs, ``pure_callback`` result types.

    Compared and hashed by value (shape, dtype, sharding, weak type), as in JAX.

    Args:
      shape: a sequence of ints (stored as a tuple).
      dtype: anything ``funcgrad.numpy.dtype`` accepts, bfloat16 included (not
        canonicalised: ``float64`` stays ``float64``).
      sharding: kept as the ``sharding`` field (funcgrad runs on one device and uses it
        for nothing).
      weak_type: whether it stands for a weakly-typed value (a Python scalar).
    """

    __slots__ = ("shape", "dtype", "sharding", "weak_type")

    def __init__(self, shape, dtype, sharding=None, weak_type=False):
        if dtype is None:
            raise ValueError("ShapeDtypeStruct: dtype must be specified.")
        self.shape, self.dtype = tuple(shape), dtypes.as_dtype(dtype)  # bfloat16 too
        self.sharding, self.weak_type = sharding, bool(weak_type)

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)))

    @classmethod
    def like(cls, x) -> ShapeDtypeStruct:
        """The ``ShapeDtypeStruct`` of an array, tracer or another ``ShapeDtypeStruct``.

        Args:
          x: anything with ``shape`` and ``dtype`` (its ``weak_type`` and ``sharding``
            are kept when it has them).

        Returns:
          A new ``ShapeDtypeStruct``.
        """
        return cls(x.shape, x.dtype, getattr(x, "sharding", None), getattr(x, "weak_type", False))

    def update(self, **kwargs) -> ShapeDtypeStruct:
        """A copy with some of ``shape``, ``dtype``, ``sharding``, ``weak_type`` replaced.

        Args:
          **kwargs: the fields to replace.

        Returns:
          A new ``ShapeDtypeStruct``.
        """
        fields = {k: getattr(self, k) for k in self.__slots__}
        fields.update(kwargs)
        return ShapeDtypeStruct(**fields)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def _key(self):
        return (self.shape, self.dtype, self.sharding, self.weak_type)

    def __eq__(self, other):
        return isinstance(other, ShapeDtypeStruct) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        sh = f", sharding={self.sharding}" if self.sharding is not None else ""
        wt = ", weak_type=True" if self.weak_type else ""
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name}{sh}{wt})"


def eval_shape(fun: Callable, *args, **kwargs):
    """The output shapes and dtypes of ``fun(*args)``, traced without computing it.

    Args:
      fun: a function of positional arguments returning a pytree of arrays.
      *args: pytrees whose leaves are ``ShapeDtypeStruct``, arrays, numpy arrays or Python
        scalars.
      **kwargs: keyword arguments for ``fun``, pytrees like ``args``.

    Returns:
      A pytree like ``fun``'s output with a ``ShapeDtypeStruct`` (weak type included) per
      leaf.

    Raises:
      TypeError: if a leaf is not an array type or ``ShapeDtypeStruct``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> a = fg.ShapeDtypeStruct((2, 3), fnp.float32)
    >>> fg.eval_shape(lambda a, b: a @ b, a, fnp.ones((3, 4)))
    ShapeDtypeStruct(shape=(2, 4), dtype=float32)
    """
    leaves, tree = tu.tree_flatten((args, kwargs))
    avals = [
        core.ShapedArray(tuple(x.shape), x.dtype, bool(getattr(x, "weak_type", False)))
        if isinstance(x, ShapeDtypeStruct)
        else get_aval(_as_array(x))
        for x in leaves
    ]
    store = {}

    def flat_fun(*xs):
        a, kw = tu.tree_unflatten(tree, xs)
        out, store["tree"] = tu.tree_flatten(fun(*a, **kw))
        return [_as_array(o) for o in out]

    jaxpr, _ = trace_to_jaxpr(flat_fun, avals)
    return tu.tree_unflatten(
        store["tree"],
        [
            ShapeDtypeStruct(v.aval.shape, v.aval.dtype, weak_type=v.aval.weak_type)
            for v in jaxpr.outvars
        ],
    )
