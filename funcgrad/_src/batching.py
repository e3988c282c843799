"""vmap: a BatchTrace whose tracers carry a batch dimension (or ``None``: not mapped)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from funcgrad._src import axis_env
from funcgrad._src.core import Trace, Tracer, get_aval, missing_rule, new_main

vmap_rules: dict = {}  # rule(vals, dims, **params) -> (outs, out_dims)
# Collectives over a named axis, when the trace's own name is among theirs:
# rule(axis_data, vals, dims, **params) -> (outs, out_dims) (JAX's fancy_primitive_batchers)
axis_vmap_rules: dict = {}
not_mapped = None

# filled by lax.py
ops: dict[str, Callable] = {}


class AxisData(NamedTuple):
    size: int
    name: Any = None  # vmap(axis_name=): what psum & co. name this axis by


class _RuleAxis(threading.local):
    name: Any = None


# The name of the axis whose batching rule is running (None: unnamed, or not named by the
# primitive): batch_jaxpr batches inner jaxprs over the same named axis.
_rule_axis = _RuleAxis()


class BatchTracer(Tracer):
    __slots__ = ("val", "bdim")

    def __init__(self, trace, val, bdim):
        self._trace = trace
        self.val = val
        self.bdim = bdim

    @property
    def aval(self):
        aval = get_aval(self.val)
        if self.bdim is not_mapped:
            return aval
        shape = aval.shape[: self.bdim] + aval.shape[self.bdim + 1 :]
        return aval.update(shape=shape)

    def full_lower(self):
        return self.val if self.bdim is not_mapped else self


class BatchTrace(Trace):
    @property
    def axis_data(self) -> AxisData:
        return self.main.global_data

    @property
    def axis_size(self) -> int:
        return self.main.global_data.size

    def pure(self, val):
        return BatchTracer(self, val, not_mapped)

    lift = pure

    def process_primitive(self, prim, tracers, params):
        vals = [t.val for t in tracers]
        dims = [t.bdim for t in tracers]
        name = self.axis_data.name
        named = name is not None and name in axis_env.used_axis_names(prim, params)
        if named and prim in axis_vmap_rules:
            outs, out_dims = axis_vmap_rules[prim](self.axis_data, vals, dims, **params)
        elif all(d is not_mapped for d in dims) and not named:
            outs = prim.bind(*vals, **params)
            out_dims = [None] * len(outs) if prim.multiple_results else None
        else:
            outs, out_dims = self._apply_rule(prim, vals, dims, params, name if named else None)
        if prim.multiple_results:
            return [BatchTracer(self, o, d) for o, d in zip(outs, out_dims)]
        return BatchTracer(self, outs, out_dims)

    def _apply_rule(self, prim, vals, dims, params, name):
        rule = vmap_rules.get(prim)
        if rule is None:
            raise missing_rule("batching (vmap)", prim)
        saved, _rule_axis.name = _rule_axis.name, name
        try:
            return rule(vals, dims, axis_size=self.axis_size, **params)
        finally:
            _rule_axis.name = saved


def current_axis_name():
    """The axis name of the batching rule now running, if the primitive uses it (else None)."""
    return _rule_axis.name


def vmap_flat(
    f: Callable, in_dims: list, axis_size: int, args: list, out_dims: list | None, axis_name=None
):
    with (
        new_main(BatchTrace, AxisData(axis_size, axis_name)) as main,
        axis_env.extend_axis_env(axis_name, axis_size, main),
    ):
        trace = BatchTrace(main)
        tracers_in = [
            BatchTracer(trace, x, d) if d is not None else x for x, d in zip(args, in_dims)
        ]
        outs = f(*tracers_in)
        tracers_out = [trace.full_raise(o) for o in outs]
        vals_out = [t.val for t in tracers_out]
        dims_out = [t.bdim for t in tracers_out]
    if callable(out_dims):  # decided after tracing (it may depend on the output structure)
        out_dims = out_dims(vals_out, dims_out)
    wanted = out_dims if out_dims is not None else [0] * len(vals_out)
    return [move_batch_axis(axis_size, d, w, v) for v, d, w in zip(vals_out, dims_out, wanted)]


def move_batch_axis(axis_size, src, dst, x):
    if dst is None:
        if src is not None:
            raise ValueError(
                "vmap has out_axes=None for an output that depends on the mapped "
                "input; only unmapped outputs can use out_axes=None"
            )
        return x
    if src is not_mapped:
        aval = get_aval(x)
        shape = list(aval.shape)
        dst = dst % (len(shape) + 1)
        shape.insert(dst, axis_size)
        bdims = tuple(i for i in range(len(shape)) if i != dst)
        return ops["broadcast_in_dim"](x, tuple(shape), bdims)
    return ops["moveaxis"](x, src, dst % get_aval(x).ndim)


def bdim_at_front(x, d, size):
    return move_batch_axis(size, d, 0, x)


# ---- helpers for families of rules ---------------------------------------------------------


def vectorized_rule(prim):
    """Unary (or all-same-shape) elementwise primitives: bdims pass straight through."""

    def rule(vals, dims, axis_size, **params):
        if len(vals) == 1:
            return prim.bind(vals[0], **params), dims[0]
        return broadcasting_rule(prim)(vals, dims, axis_size, **params)

    return rule


def broadcasting_rule(prim):
    """n-ary elementwise primitives with equal shapes: put every bdim at the front."""

    def rule(vals, dims, axis_size, **params):
        first = next(d for d in dims if d is not None)
        if all(d == first for d in dims):
            return prim.bind(*vals, **params), first
        vals = [bdim_at_front(v, d, axis_size) for v, d in zip(vals, dims)]
        return prim.bind(*vals, **params), 0

    return rule


def defvectorized(prim):
    vmap_rules[prim] = vectorized_rule(prim)


def defbroadcasting(prim):
    vmap_rules[prim] = broadcasting_rule(prim)
