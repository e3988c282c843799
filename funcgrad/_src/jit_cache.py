"""The jit cache: one per function, shared by its wrappers, bounded, freed with the function.

``jit(f)`` asks ``cache_for(f, options, wrapper)`` for the ``FunCache`` of ``f`` (as JAX, the
cache belongs to the function, not to the wrapper: ``jit(f)(1.); jit(f)(2.)`` traces once).
Caches are keyed by the identity of the callable (a bound method by its object and function)
and the jit options, and held weakly: when the function goes, its cache, traces and compiled
code go too. A callable that cannot be weakly referenced gets a cache of its own wrapper.

Every signature cached by any function is one entry of a single LRU (``config.jit_cache_size``
entries, as JAX's shared in-memory cache): the least recently called signature is evicted
(its trace, executable and fast runner are dropped; the next call with it recompiles). After
``config.recompile_warning_after`` distinct traces of one function, a ``RecompilationWarning``
says, once, what changed in the latest one.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import logging
import threading
import warnings
import weakref
from collections import OrderedDict

from funcgrad import tree_util as tu
from funcgrad._src import core
from funcgrad.config import config

logger = logging.getLogger("funcgrad.jit")


class RecompilationWarning(UserWarning):
    """A jitted function keeps being traced and compiled again for new arguments."""


class FunCache:
    """One function's traces (signature -> entry), executables and fast runners."""

    def __init__(self, name: str):
        self.name = name
        self.entries: dict = {}  # signature -> the traced entry
        self.exes: dict = {}  # signature -> (entry, executable, LRU key): the top-level path
        self.fast: dict = {}  # fast key -> (runner, LRU key): calls with only arrays
        self.fast_keys: dict = {}  # signature -> its fast key
        self.tokens: dict = {}  # signature -> its LRU key (an int: cheap to hash per call)
        self.lock = threading.RLock()  # one trace per signature, even with threads racing
        self.traces = 0
        self.warned = False
        _ALL.add(self)

    def lru_key(self, sig) -> int | None:
        return self.tokens.get(sig)

    def drop(self, sig) -> None:
        """Forget one signature (no lock: each dict operation is atomic)."""
        self.entries.pop(sig, None)
        self.tokens.pop(sig, None)
        self.exes.pop(sig, None)
        fast_key = self.fast_keys.pop(sig, None)
        if fast_key is not None:
            self.fast.pop(fast_key, None)

    def clear(self) -> None:
        """Forget every signature (the next call of each retraces and recompiles)."""
        with _LRU_LOCK:  # not self.lock: a finalizer may call this (see _REGISTRY_LOCK)
            for token in list(self.tokens.values()):
                _LRU.pop(token, None)
            self.tokens.clear()
            self.entries.clear()
            self.exes.clear()
            self.fast.clear()
            self.fast_keys.clear()
            self.traces, self.warned = 0, False


_ALL: weakref.WeakSet = weakref.WeakSet()  # every live FunCache
_REGISTRY: dict = {}  # (ids of the callable's parts, options) -> FunCache
# re-entrant: a finalizer (_forget, run by the garbage collector at any allocation) may take
# them on a thread that already holds them
_REGISTRY_LOCK = threading.RLock()
_LRU: OrderedDict = OrderedDict()  # token -> (FunCache, signature), oldest first
_TOKENS = itertools.count()
_LRU_LOCK = threading.RLock()


def _parts(fun) -> tuple:
    """What identifies a callable: a bound method is its object and its function (each
    access makes a new method object); anything else is itself."""
    if inspect.ismethod(fun):
        return (fun.__self__, fun.__func__)
    return (fun,)


def cache_for(fun, options: tuple, holder) -> FunCache:
    """The cache of ``fun`` jitted with ``options`` (hashable), shared by every wrapper of
    the same callable and options while the callable lives; ``holder`` (the wrapper) owns a
    private one when the callable cannot be weakly referenced."""
    parts = _parts(fun)
    try:
        refs = [weakref.ref(p) for p in parts]
    except TypeError:  # e.g. a builtin, or a bound method of an int
        cache = FunCache(fun_name(fun))
        weakref.finalize(holder, cache.clear)
        return cache
    key = (tuple(map(id, parts)), options)
    with _REGISTRY_LOCK:
        cache = _REGISTRY.get(key)
        if cache is None or not all(r() is p for r, p in zip(cache.refs, parts)):
            cache = _REGISTRY[key] = FunCache(fun_name(fun))
            cache.refs = refs
            for p in parts:
                weakref.finalize(p, _forget, key, cache)
    return cache


def _forget(key, cache: FunCache) -> None:
    with _REGISTRY_LOCK:
        if _REGISTRY.get(key) is cache:
            del _REGISTRY[key]
    cache.clear()


def record(cache: FunCache, sig) -> None:
    """Put a newly traced signature in the LRU, evicting the least recently used ones."""
    size = max(int(config.jit_cache_size), 1)
    evicted = []
    with _LRU_LOCK:
        token = cache.tokens[sig] = next(_TOKENS)
        _LRU[token] = (cache, sig)
        while len(_LRU) > size:
            _, (owner, old) = _LRU.popitem(last=False)
            evicted.append((owner, old))
    for owner, old in evicted:
        owner.drop(old)


mark_used = _LRU.move_to_end  # (the fast path's hit) KeyError if evicted meanwhile


def touch(lru_key) -> None:
    """Mark a signature as just used (a hit)."""
    try:
        mark_used(lru_key)
    except KeyError:  # evicted meanwhile (or None): the call still runs, the next recompiles
        pass


def clear_all() -> None:
    """Empty every function's cache."""
    for cache in list(_ALL):
        cache.clear()


def lru_size() -> int:
    """How many signatures the LRU holds (all functions together)."""
    return len(_LRU)


# ---- names ----------------------------------------------------------------------------------


def fun_name(fun) -> str:
    """A name for any callable, as JAX's: ``__name__``, a partial's function's name, or the
    class name of a callable object."""
    name = getattr(fun, "__name__", None)
    if isinstance(name, str):
        return name
    if isinstance(fun, functools.partial):
        return fun_name(fun.func)
    return type(fun).__name__


# ---- explaining misses ----------------------------------------------------------------------


def sig_str(sig) -> str:
    """A signature's argument types (``~``: weak type) and static values, for logs."""
    avals = ", ".join(
        core.ShapedArray(s, d, w).str_short() + ("~" if w else "") for s, d, w in sig.avals
    )
    return f"({avals})" + (f" static={dict(sig.static)}" if sig.static else "")


def explain_miss(name: str, sig, old: list) -> None:
    """Log why ``sig`` missed the cache (``config.explain_cache_misses``)."""
    if not old:
        logger.warning("jit cache miss for %s: first call with %s", name, sig_str(sig))
        return
    closest = min(old, key=lambda o: sum(a != b for a, b in zip(o, sig)))
    diffs = [
        f"{field}: {getattr(closest, field)!r:.200} -> {getattr(sig, field)!r:.200}"
        for field in sig._fields
        if getattr(closest, field) != getattr(sig, field)
    ]
    logger.warning(
        "jit cache miss for %s (%d entries cached); vs the closest previous call: %s",
        name,
        len(old),
        "; ".join(diffs),
    )


# ---- the recompilation warning ---------------------------------------------------------------


def note_trace(cache: FunCache, sig, old: list, arg_name) -> None:
    """Count a trace of ``sig``; past ``config.recompile_warning_after`` traces warn once,
    naming what changed from the closest earlier signature (``arg_name(i)``: positional
    argument i's name)."""
    cache.traces += 1
    limit = int(config.recompile_warning_after)
    if limit <= 0 or cache.traces <= limit or cache.warned or not old:
        return
    cache.warned = True
    reason = miss_reason(sig, old, arg_name)
    warnings.warn(
        RecompilationWarning(
            f"jit({cache.name}) has been traced and compiled {cache.traces} times for "
            f"different arguments (more than config.recompile_warning_after={limit}). The "
            f"latest retrace: {reason}. Each new shape, dtype or static value compiles "
            f"again: pad or bucket shapes, pass changing Python values as arrays instead of "
            f"static arguments, or raise config.recompile_warning_after (0: never warn)."
        ),
        stacklevel=4,
    )


def miss_reason(sig, old: list, arg_name) -> str:
    """What differs between ``sig`` and the closest signature in ``old`` (``arg_name(i)``:
    positional argument i's name)."""
    closest = min(reversed(old), key=lambda o: _distance(o, sig))  # ties: the latest
    if closest.in_tree != sig.in_tree:
        return f"the argument structure changed from {closest.in_tree} to {sig.in_tree}"
    labels = leaf_labels(sig, arg_name)
    parts = [
        f"{labels[i]} changed from {_aval_str(a)} to {_aval_str(b)}"
        for i, (a, b) in enumerate(zip(closest.avals, sig.avals))
        if a != b
    ]
    old_static, new_static = dict(closest.static), dict(sig.static)
    parts += [
        f"static {arg_name(k) if isinstance(k, int) else f'argument {k!r}'} changed from "
        f"{old_static.get(k)!r:.80} to {v!r:.80}"
        for k, v in new_static.items()
        if old_static.get(k, _MISSING) != v
    ]
    if closest.code_key != sig.code_key:
        parts.append(f"config changed from {closest.code_key} to {sig.code_key}")
    if closest.backend != sig.backend:
        parts.append(f"backend changed from {closest.backend!r} to {sig.backend!r}")
    return "; ".join(parts) or "no difference found"


_MISSING = object()


def _distance(a, b) -> int:
    """How many arguments, static values and settings differ between two signatures."""
    if a.in_tree != b.in_tree:
        return len(b.avals) + len(b.static) + 2
    avals = sum(x != y for x, y in zip(a.avals, b.avals))
    return avals + (a.static != b.static) + (a.code_key != b.code_key) + (a.backend != b.backend)


def _aval_str(key) -> str:
    shape, dtype, weak = key
    return core.ShapedArray(shape, dtype, weak).str_short() + (" (weak type)" if weak else "")


def leaf_labels(sig, arg_name) -> list:
    """A name for each flat argument of ``sig``: ``argument 'x' (position 0)``, plus the path
    inside a pytree argument (``['w']``); ``arg_name(i)`` names positional argument i."""
    n = len(sig.avals)
    dyn_args, dyn_kw = tu.tree_unflatten(sig.in_tree, list(range(n)))
    static_pos = {k for k, _ in sig.static if isinstance(k, int)}
    positions = [i for i in range(len(dyn_args) + len(static_pos)) if i not in static_pos]
    labels = [""] * n
    named = [(arg_name(p), a) for p, a in zip(positions, dyn_args)]
    named += [(f"argument '{k}'", a) for k, a in dyn_kw.items()]
    for name, tree in named:
        for path, i in tu.tree_flatten_with_path(tree)[0]:
            labels[i] = name + tu.keystr(path)
    return labels
