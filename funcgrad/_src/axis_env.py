"""The axis environment: the axis names bound by ``vmap(..., axis_name=)`` (as JAX's
``core.axis_frame``), and how ``core.bind`` finds the trace a collective must run at.

A collective (``psum`` over ``"b"``) has to reach the vmap that binds ``"b"`` even when none
of its operands is batched there (``psum(1.0, "b")``, ``axis_index("b")``, a jitted function
whose arguments are not batched but whose jaxpr uses ``"b"``): ``bind`` asks ``axis_trace``
for the innermost trace among its operands' and the bound axes'. Kept out of ``core.py``,
which imports this module (and is imported back here only inside functions).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any, NamedTuple

from funcgrad._src import core


class AxisFrame(NamedTuple):
    name: Any
    size: int
    main: Any  # core.MainTrace


class _AxisEnv(threading.local):
    """The named axes bound in this thread, innermost last (as the trace stack)."""

    def __init__(self):
        self.frames: list[AxisFrame] = []


state = _AxisEnv()
# prim -> rule(**params) -> the axis names the primitive communicates over (collectives)
axis_names_rules: dict[Any, Callable] = {}
_jaxpr_names: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@contextmanager
def extend_axis_env(name, size: int, main):
    """Bind ``name`` (of ``size``) to ``main`` while the block runs; ``None`` binds nothing."""
    if name is None:
        yield
        return
    state.frames.append(AxisFrame(name, size, main))
    try:
        yield
    finally:
        state.frames.pop()


def axis_frame(name) -> AxisFrame:
    """The innermost frame binding ``name``; NameError (as JAX) when none does."""
    for frame in reversed(state.frames):
        if frame.name == name:
            return frame
    raise NameError(
        f"unbound axis name: {name}. Collectives (psum, all_gather, axis_index, ...) over "
        f"{name!r} must run inside vmap(..., axis_name={name!r}), pmap or shard_map naming it."
    )


def axis_env_key() -> tuple:
    """The bound names and sizes (part of jit's cache key: traces depend on them)."""
    return tuple((f.name, f.size) for f in state.frames)


def used_axis_names(prim, params: dict) -> tuple:
    """The axis names a primitive communicates over, or its inner jaxprs do."""
    rule = axis_names_rules.get(prim)
    if rule is not None:
        return rule(**params)
    names: tuple = ()
    for v in params.values():
        for j in v if isinstance(v, (tuple, list)) else (v,):
            if isinstance(j, core.ClosedJaxpr):
                j = j.jaxpr
            if isinstance(j, core.Jaxpr):
                names += jaxpr_axis_names(j)
    return names


def jaxpr_axis_names(jaxpr) -> tuple:
    """Every axis name used by a collective in ``jaxpr`` or its inner jaxprs (cached)."""
    names = _jaxpr_names.get(jaxpr)
    if names is None:
        found = {n for e in jaxpr.eqns for n in used_axis_names(e.primitive, e.params)}
        names = _jaxpr_names[jaxpr] = tuple(found)
    return names


def axis_trace(trace, prim, params: dict):
    """The trace of the innermost axis ``prim`` names, when it is above ``trace``."""
    names = used_axis_names(prim, params)
    top = trace.main
    for frame in reversed(state.frames):
        if frame.name in names and frame.main.level > top.level and frame.main.active[0]:
            top = frame.main
    return trace if top is trace.main else top.trace_type(top)
