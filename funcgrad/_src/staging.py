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
    """Trace ``fun`` to funcgrad's typed IR (the same IR jit compiles).

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
    """A shape and dtype standing in for an array (``eval_shape`` results, ``lower`` inputs)."""

    def __init__(self, shape, dtype, sharding=None, weak_type=False):
        self.shape, self.dtype = tuple(shape), dtypes.as_dtype(dtype)  # bfloat16 too
        self.weak_type = bool(weak_type)

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)))

    def __repr__(self):
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name})"


def eval_shape(fun: Callable, *args):
    """Output shapes/dtypes of ``fun`` without computing it."""
    leaves, tree = tu.tree_flatten(args)
    avals = [
        core.ShapedArray(tuple(x.shape), x.dtype, bool(getattr(x, "weak_type", False)))
        if isinstance(x, ShapeDtypeStruct)
        else get_aval(_as_array(x))
        for x in leaves
    ]
    store = {}

    def flat_fun(*xs):
        out, store["tree"] = tu.tree_flatten(fun(*tu.tree_unflatten(tree, xs)))
        return [_as_array(o) for o in out]

    jaxpr, _ = trace_to_jaxpr(flat_fun, avals)
    return tu.tree_unflatten(
        store["tree"],
        [
            ShapeDtypeStruct(v.aval.shape, v.aval.dtype, weak_type=v.aval.weak_type)
            for v in jaxpr.outvars
        ],
    )
