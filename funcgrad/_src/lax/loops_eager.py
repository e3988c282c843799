"""Eager loops as one compiled loop: the impl of a long ``scan`` or ``while`` (``loops.py``).

Evaluating a loop step by step in Python costs tens of microseconds per step (a million
``fori_loop`` steps took 28 s). A loop with at least ``MIN_STEPS`` steps is instead traced
into a one-equation jaxpr and compiled by the CPU target (``funcgrad.backend``), whose native
``scan``/``while`` kernels run every step in machine code. When the target cannot run the loop
natively (an op without a native kernel, float16, an effect...), or jit is disabled, the
caller keeps its Python loop: ``run`` returns None. Compiling costs about as much as a few
thousand Python steps, so shorter loops stay in Python.

Compiled loops are kept in a small LRU (``_CACHE_SIZE``, keyed on the equation's jaxprs,
parameters and input types): a loop run again (a numpy fallback step of a compiled program,
the same traced body) does not recompile, and fresh bodies do not accumulate. Loops the
target cannot compile are remembered weakly, by their body jaxpr.
"""

from __future__ import annotations

import collections
import threading
import weakref

import numpy as np

from funcgrad._src import core

MIN_STEPS = 2000  # loops this long (or longer) run compiled
_CACHE_SIZE = 32
_compiled: collections.OrderedDict = collections.OrderedDict()  # key -> executable
_refused: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # body jaxpr -> {key}
_lock = threading.Lock()


def run(prim: core.Primitive, args, params: dict, body: core.Jaxpr):
    """``prim.bind(*args, **params)`` evaluated by compiled code (numpy arrays in and out),
    or None when the CPU target cannot run it natively (the caller loops in Python)."""
    from funcgrad._src import jit

    if jit._jit_disabled[0]:
        return None
    args = [np.asarray(a) for a in args]
    key = (prim.name, _params_key(params), tuple((a.shape, a.dtype) for a in args))
    exe = _lookup(key)
    if exe is None:
        weak_key = (prim.name, _params_key(params, id), key[2])  # holds no jaxpr
        if weak_key in _refused.get(body, ()):
            return None
        exe = _compile(prim, args, params)
        with _lock:
            if exe is None:
                _refused.setdefault(body, set()).add(weak_key)
                return None
            _compiled[key] = exe
            while len(_compiled) > _CACHE_SIZE:
                _compiled.popitem(last=False)
    return exe(*args)


def _params_key(params: dict, of_jaxpr=lambda j: j) -> tuple:
    items = sorted(params.items(), key=lambda kv: kv[0])
    return tuple((k, of_jaxpr(v) if isinstance(v, core.Jaxpr) else v) for k, v in items)


def _lookup(key):
    with _lock:
        exe = _compiled.get(key)
        if exe is not None:
            _compiled.move_to_end(key)
        return exe


def _compile(prim, args, params):
    """The CPU executable of the one equation, or None if any of it would run in numpy."""
    from funcgrad.backend import get_target

    avals = [core.ShapedArray(a.shape, a.dtype, False) for a in args]
    try:
        jaxpr, consts = core.trace_to_jaxpr(lambda *xs: prim.bind(*xs, **params), avals)
        if consts:
            return None
        exe = get_target("cpu").compile(jaxpr, f"eager_{prim.name}")
    except Exception:  # noqa: BLE001 (the Python loop is always there to fall back on)
        return None
    fallbacks = getattr(exe, "fallbacks", None)
    return exe if fallbacks is not None and not fallbacks() else None
