"""``jit``: trace once per input signature, compile to native code, call the compiled code.

The wrapper flattens its arguments (pytrees at the boundary), looks the signature up in a
per-function cache, traces on a miss and binds ``jit_p`` (``pjit``) on the flat arguments.
Everything else follows from ``jit_p``'s rules: under grad/vmap/another jit the call is
transformed or staged like any primitive; at the top level its impl compiles with the target
that ``funcgrad.backend.get_target`` names (``config.platform`` by default) and calls the
executable. See docs/jit.md for the stages.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import inspect
import logging
import time
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from funcgrad import tree_util as tu
from funcgrad._src import axis_env, core, dtypes, jit_cache
from funcgrad._src.array import Array, array_from_user, to_numpy, wrap
from funcgrad._src.core import Tracer
from funcgrad._src.lax.call import jit_p
from funcgrad.backend import FastCall, get_target, release_memory
from funcgrad.config import config

logger = logging.getLogger("funcgrad.jit")

# ---- the target ------------------------------------------------------------------------------


def _resolve_backend(backend: str | None) -> str:
    """The registered target's name (default: ``config.platform``); ValueError if unknown."""
    return get_target(backend or config.platform).name


# ---- argument handling ----------------------------------------------------------------------


_ALWAYS_CANONICAL = frozenset(
    np.dtype(t)
    for t in (
        np.float32,
        np.float16,
        np.int32,
        np.int16,
        np.int8,
        np.uint32,
        np.uint16,
        np.uint8,
        np.bool_,
        np.complex64,
    )
)


def _as_leaf(x, where: str):
    """A valid dynamic argument: Array, Tracer, or numpy data of a canonical dtype."""
    if isinstance(x, (Array, Tracer)):
        return x
    if getattr(x, "device_buffer", None) is not None:  # on a device: its buffer is used in place
        return x
    if isinstance(x, np.ndarray) and (
        x.dtype in _ALWAYS_CANONICAL or x.dtype == dtypes.canonicalize(x.dtype)
    ):
        return x
    if isinstance(x, (np.ndarray, np.generic, bool, int, float, complex)):
        return array_from_user(x)
    raise TypeError(
        f"jit: {where} is of type {type(x).__name__}, which is not an array type. "
        f"Non-array arguments must be marked static, e.g. "
        f"jit(f, static_argnums=...) or jit(f, static_argnames=...)."
    )


def _hashable(v, where: str):
    try:
        hash(v)
    except TypeError:
        raise core.ValueTypeError(  # JAX raises ValueError; earlier funcgrad TypeError
            f"jit: static {where} must be hashable, got an unhashable {type(v).__name__} "
            f"({v!r:.60}). Use a tuple instead of a list, or pass it as a regular (traced) "
            f"array argument."
        ) from None
    return v


def _aval_key(x):
    a = core.get_aval(x)
    return (a.shape, a.dtype, a.weak_type)


class _Entry(NamedTuple):
    jaxpr: core.Jaxpr  # closed: consts first
    consts: tuple
    out_tree: Any
    out_weak: tuple
    out_is_leaf: bool


class _Signature(NamedTuple):
    in_tree: Any
    avals: tuple
    static: tuple
    code_key: tuple
    backend: str


_mark_used = jit_cache.mark_used
_ARRAY_TUPLE_TREES: dict = {}  # n -> treedef of ((array,) * n, {})

# ---- the wrapper ----------------------------------------------------------------------------


class _Jitted:
    """What ``jit(f)`` returns: callable, plus ``lower``, ``clear_cache``, ``_cache_size``."""

    def __init__(self, fun, static_argnums, static_argnames, donate, backend, inline):
        # update_wrapper(updated=()) copies no __dict__ (a jitted fun's would hold its cache);
        # a callable without a __name__ (partial, object) gets JAX's fallback name
        functools.update_wrapper(self, fun, updated=())
        self.__name__ = jit_cache.fun_name(fun)
        self.__dict__.setdefault("__qualname__", self.__name__)
        self._fun = fun
        self._backend = backend
        self._inline = inline
        self._sig = _signature(fun)
        self._static_nums, self._static_names = self._static_sets(static_argnums, static_argnames)
        self._donate = self._donated_positions(donate)
        # the function's cache (traces, executables, fast runners), shared with every other
        # jit of the same callable and options (jit_cache.py)
        options = (self._static_nums, self._static_names, self._donate, backend)
        self._fc = jit_cache.cache_for(fun, options, self)
        self._fast = self._fc.fast  # fast key -> (runner, LRU key): calls with only arrays

    def _donated_positions(self, donate) -> tuple:
        """``donate_argnums`` and ``donate_argnames`` as sorted positions."""
        nums, names = donate
        nums = (nums,) if isinstance(nums, int) else nums
        names = {names} if isinstance(names, str) else set(names)
        params = list(self._sig.parameters) if self._sig else []
        unknown = names - set(params)
        if unknown:
            raise ValueError(
                f"jit: donate_argnames {sorted(unknown)} are not parameters of "
                f"{self.__name__} (parameters: {params})"
            )
        return tuple(sorted({int(i) for i in nums} | {params.index(n) for n in names}))

    def _static_sets(self, nums, names):
        nums = {nums} if isinstance(nums, int) else set(nums)
        names = {names} if isinstance(names, str) else set(names)
        params = list(self._sig.parameters) if self._sig else []
        kinds = [p.kind for p in self._sig.parameters.values()] if self._sig else []
        n_pos = sum(
            k in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.POSITIONAL_ONLY)
            for k in kinds
        )
        if self._sig and inspect.Parameter.VAR_POSITIONAL not in kinds:
            bad = sorted(i for i in nums if not -n_pos <= i < n_pos)
            if bad:  # as in JAX, caught when jit is applied
                raise ValueError(
                    f"Jitted function has static_argnums={tuple(sorted(nums))}, "
                    f"but only accepts {n_pos} positional arguments"
                )
        for n in list(names):
            if n in params and self._sig.parameters[n].kind in (
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                inspect.Parameter.POSITIONAL_ONLY,
            ):
                nums.add(params.index(n))
        for i in list(nums):
            if 0 <= i < len(params):
                names.add(params[i])
        return frozenset(nums), frozenset(names)

    def __get__(self, obj, objtype=None):  # jit on methods
        return self if obj is None else functools.partial(self, obj)

    # -- splitting the arguments ---------------------------------------------------------

    def _arg_name(self, i):
        params = list(self._sig.parameters) if self._sig else []
        return f"argument '{params[i]}' (position {i})" if i < len(params) else f"argument {i}"

    def _split(self, args, kwargs):
        n = len(args)
        nums = {i % n if n else i for i in self._static_nums if -n <= i < n}
        static = tuple((i, _hashable(args[i], self._arg_name(i))) for i in sorted(nums))
        static += tuple(
            (k, _hashable(kwargs[k], f"argument '{k}'"))
            for k in sorted(kwargs)
            if k in self._static_names
        )
        dyn_args = tuple(a for i, a in enumerate(args) if i not in nums)
        dyn_kw = {k: v for k, v in kwargs.items() if k not in self._static_names}
        return static, dyn_args, dyn_kw, nums

    def _flat_args(self, args, kwargs):
        if not kwargs and not self._static_nums and all(type(a) is Array for a in args):
            tree = _ARRAY_TUPLE_TREES.get(len(args))  # the common case, without tree_flatten
            if tree is None:
                tree = _ARRAY_TUPLE_TREES[len(args)] = tu.tree_structure((args, {}))
            return list(args), tree, ()
        if self._static_nums or self._static_names:
            static, dyn_args, dyn_kw, _ = self._split(args, kwargs)
        else:
            static, dyn_args, dyn_kw = (), args, kwargs
        leaves, in_tree = tu.tree_flatten((dyn_args, dyn_kw))
        try:
            flat = [x if type(x) is Array else _as_leaf(x, "an argument") for x in leaves]
        except TypeError:
            self._raise_named(args, kwargs)
            raise
        return flat, in_tree, static

    def _raise_named(self, args, kwargs):
        """Re-find the first invalid argument, to raise an error that names it."""
        _, dyn_args, dyn_kw, nums = self._split(args, kwargs)
        dyn_pos = [i for i in range(len(args)) if i not in nums]
        for i, a in zip(dyn_pos, dyn_args):
            for x in tu.tree_leaves(a):
                _as_leaf(x, self._arg_name(i))
        for k, a in dyn_kw.items():
            for x in tu.tree_leaves(a):
                _as_leaf(x, f"argument '{k}'")

    # -- tracing and the cache -----------------------------------------------------------

    def _signature_of(self, flat, in_tree, static):
        avals = tuple(
            (x._value.shape, x._ldt or x._value.dtype, x._weak_type)
            if type(x) is Array
            else (x.shape, x.dtype, False)
            if type(x) is np.ndarray  # canonical
            else _aval_key(x)
            for x in flat
        )
        return _Signature(
            in_tree,
            avals,
            static,
            config.code_key() + axis_env.axis_env_key(),  # traces under vmap(axis_name=) differ
            _resolve_backend(self._backend),
        )

    def _trace(self, sig: _Signature, static) -> _Entry:
        t0 = time.perf_counter()
        store = {}
        static_d = dict(static)

        def flat_fun(*xs):
            dyn_args, dyn_kw = tu.tree_unflatten(sig.in_tree, xs)
            it = iter(dyn_args)
            n = len(dyn_args) + sum(1 for k in static_d if isinstance(k, int))
            args = [static_d[i] if i in static_d else next(it) for i in range(n)]
            kw = dict(dyn_kw, **{k: v for k, v in static_d.items() if isinstance(k, str)})
            leaves, store["tree"] = tu.tree_flatten(self._fun(*args, **kw))
            return [_as_out(x) for x in leaves]

        avals = [core.ShapedArray(s, d, w) for s, d, w in sig.avals]
        jaxpr, consts = core.trace_to_jaxpr(flat_fun, avals)
        jaxpr, consts = _unbroadcast_consts(jaxpr, consts)
        closed = core.close_over_consts(jaxpr)
        entry = _Entry(
            closed,
            tuple(consts),
            store["tree"],
            tuple(v.aval.weak_type for v in closed.outvars),
            tu.treedef_is_leaf(store["tree"]),
        )
        ms = (time.perf_counter() - t0) * 1e3
        _trace_times[closed] = ms
        if config.log_compiles:
            logger.warning(
                "jit: traced %s for %s in %.1f ms", self.__name__, jit_cache.sig_str(sig), ms
            )
        return entry

    def _lookup(self, sig: _Signature, static) -> _Entry:
        fc = self._fc
        entry = fc.entries.get(sig)
        if entry is not None:
            jit_cache.touch(fc.lru_key(sig))
            return entry
        with fc.lock:  # threads making the first calls all get the one trace
            entry = fc.entries.get(sig)
            if entry is None:
                old = list(fc.entries)
                if config.explain_cache_misses:
                    jit_cache.explain_miss(self.__name__, sig, old)
                entry = self._trace(sig, static)
                fc.entries[sig] = entry
                jit_cache.record(fc, sig)
                jit_cache.note_trace(fc, sig, old, self._arg_name)
        return entry

    # -- calling -------------------------------------------------------------------------

    def __call__(self, *args, **kwargs):
        if _jit_disabled[0]:  # inside `with disable_jit():` run the Python function eagerly
            return self._fun(*args, **kwargs)
        if self._fast and not kwargs:
            outs = self._call_fast(args)
            if outs is not None:
                return outs
        fc = self._fc
        flat, in_tree, static = self._flat_args(args, kwargs)
        sig = self._signature_of(flat, in_tree, static)
        fast = fc.exes.get(sig)
        if fast is not None and not any(isinstance(a, Tracer) for a in flat):
            entry, exe, token = fast
            jit_cache.touch(token)
            all_args = (*entry.consts, *flat)
            outs = exe(*[a._value if type(a) is Array else a for a in all_args])
            outs = _wrap_outs(outs, entry)
        else:
            entry = self._lookup(sig, static)
            all_args = (*entry.consts, *flat)
            concrete = not any(isinstance(a, Tracer) for a in all_args)
            # a jaxpr with collectives runs under the vmap naming their axis (through jit_p)
            concrete = concrete and not axis_env.jaxpr_axis_names(entry.jaxpr)
            target = get_target(sig.backend)
            if self._donate and "donation" in target.capabilities and concrete:
                outs = self._call_donating(target, entry, flat, self._donated_leaves(args, kwargs))
                return outs[0] if entry.out_is_leaf else tu.tree_unflatten(entry.out_tree, outs)
            outs = _call(entry, all_args, self.__name__, sig.backend)
            if concrete and fc.entries.get(sig) is entry:  # (not evicted meanwhile)
                exe = target.compile(entry.jaxpr, self.__name__)
                fc.exes[sig] = (entry, exe, fc.lru_key(sig))
                self._add_fast_path(args, kwargs, flat, entry, exe, sig)
        if config.check_floats and not any(isinstance(a, Tracer) for a in flat):
            _check_nans(outs, self.__name__, lambda: self._fun(*args, **kwargs))
        if entry.out_is_leaf:
            return outs[0]
        return tu.tree_unflatten(entry.out_tree, outs)

    def _call_fast(self, args):
        """The runner registered for these arguments' avals, called; None when there is none
        (or it declines: its workspace is busy)."""
        key, values = (config.generation,), []
        for a in args:
            ta = type(a)
            if ta is Array:
                v = a._value
                key += (v.shape, a._ldt or v.dtype, a._weak_type)
            elif ta is np.ndarray:
                v = a
                key += (a.shape, a.dtype, False)
            else:
                return None
            values.append(v)
        hit = self._fast.get(key)
        if hit is None:
            return None
        try:
            _mark_used(hit[1])
        except KeyError:  # evicted meanwhile: this call still runs
            pass
        return hit[0](values)

    def _donated_leaves(self, args, kwargs) -> list:
        """Flat positions of the leaves of the donated positional arguments."""
        _, dyn_args, _, nums = self._split(args, kwargs)
        dyn_pos = [i for i in range(len(args)) if i not in nums]
        n = len(args)
        donate = {i % n for i in self._donate if -n <= i < n}
        out, off = [], 0
        for i, a in zip(dyn_pos, dyn_args):
            k = len(tu.tree_leaves(a))
            if i in donate:
                out += range(off, off + k)
            off += k
        return out

    def _call_donating(self, target, entry, flat, positions) -> list:
        """Run with the donated Arrays' buffers handed to the executable (written in place
        when nothing else can see them, else copies), deleting those Arrays."""
        values = [c._value if type(c) is Array else c for c in entry.consts]
        values += [a._value if type(a) is Array else a for a in flat]
        given = []
        for p in positions:
            a = flat[p]
            if type(a) is not Array:  # numpy data: copied in, as without donation
                continue
            if any(q != p and flat[q] is a for q in range(len(flat))):
                raise ValueError(
                    f"jit({self.__name__}): a donated array is also passed as "
                    f"another argument of the same call; donate a copy, or do "
                    f"not donate it"
                )
            a.delete()
            given.append(len(entry.consts) + p)
        exe = target.compile(entry.jaxpr, self.__name__, tuple(given))
        outs = _wrap_outs(exe.call_donating(values), entry)
        if config.check_floats:
            _check_nans(outs, self.__name__)
        return outs

    def _add_fast_path(self, args, kwargs, flat, entry, exe, sig) -> None:
        """Register a per-signature runner for calls whose arguments are all Arrays (or numpy
        arrays of canonical dtypes): no
        flattening, no signature object; the array objects go straight to native code
        (the executable's optional ``fast_entry``; None from the runner: the general path)."""
        if (
            kwargs
            or self._static_nums
            or self._donate
            or config.check_floats
            or len(flat) != len(args)
            or not all(
                type(a) is Array or (type(a) is np.ndarray and a is b) for a, b in zip(args, flat)
            )
        ):
            return
        consts = tuple(c._value if type(c) is Array else np.asarray(c) for c in entry.consts)
        fast_entry = getattr(exe, "fast_entry", None)
        run = fast_entry(FastCall(len(args), consts, _finisher(entry))) if fast_entry else None
        if run is None:
            return
        key = (config.generation,)
        for a in args:
            key += (
                (a._value.shape, a._ldt or a._value.dtype, a._weak_type)
                if type(a) is Array
                else (a.shape, a.dtype, False)
            )
        fc = self._fc
        with fc.lock:
            if fc.fast and next(iter(fc.fast))[0] != config.generation:
                fc.fast.clear()
                fc.fast_keys.clear()
            fc.fast[key] = (run, fc.lru_key(sig))
            fc.fast_keys[sig] = key

    def lower(self, *args, **kwargs) -> Lowered:
        """Trace for these arguments (arrays or ShapeDtypeStruct-likes) without running."""
        flat, in_tree, static = self._flat_args(_abstractify(args), _abstractify(kwargs))
        sig = self._signature_of(flat, in_tree, static)
        return Lowered(self._lookup(sig, static), sig, self.__name__)

    def eval_shape(self, *args, **kwargs):
        """The output ``ShapeDtypeStruct``s for these arguments (traced, not compiled)."""
        lowered = self.lower(*args, **kwargs)
        from funcgrad._src.api import ShapeDtypeStruct

        return tu.tree_unflatten(
            lowered._entry.out_tree,
            [ShapeDtypeStruct(a.shape, a.dtype) for a in lowered._entry.jaxpr.out_avals],
        )

    def clear_cache(self) -> None:
        """Drop this function's traces and compiled code (the next call recompiles)."""
        self._fc.clear()

    def _cache_size(self) -> int:
        return len(self._fc.entries)

    def __repr__(self):
        return f"<jitted function {self.__name__}>"


def _finisher(entry: _Entry):
    """``finish(*outputs)`` for a fast entry: the numpy outputs as the call's result (read-only
    Arrays, made without ``__init__``: this runs on every fast call)."""
    new, tree = Array.__new__, entry.out_tree
    lds = tuple(_ldt(v.aval.dtype) for v in entry.jaxpr.outvars)

    def box(o, w, ld):
        o.setflags(write=False)
        x = new(Array)
        x._value, x._weak_type, x._aval, x._ldt = o, w, None, ld
        return x

    if entry.out_is_leaf:
        (w,), (ld,) = entry.out_weak, lds
        return lambda o: box(o, w, ld)
    return lambda *outs: tu.tree_unflatten(tree, list(map(box, outs, entry.out_weak, lds)))


def _ldt(dtype):
    """The ``Array._ldt`` of an output of this dtype (None: the buffer's dtype is the dtype)."""
    return dtype if dtype is dtypes.bfloat16 else None


def _wrap_outs(outs, entry: _Entry) -> list:
    res = [wrap(o, w) for o, w in zip(outs, entry.out_weak)]
    for r, v in zip(res, entry.jaxpr.outvars):
        if v.aval.dtype is dtypes.bfloat16:
            r._ldt, r._aval = dtypes.bfloat16, None
    return res


def _call(entry: _Entry, all_args, name: str, backend: str):
    if any(isinstance(a, Tracer) for a in all_args) or axis_env.jaxpr_axis_names(entry.jaxpr):
        return jit_p.bind(*all_args, jaxpr=entry.jaxpr, name=name, backend=backend)
    # Top level: what EvalTrace would do, without the detour (per-call overhead matters).
    vals = [a._value if type(a) is Array else a for a in all_args]
    exe = get_target(backend).compile(entry.jaxpr, name, trace_ms=trace_ms(entry.jaxpr))
    return _wrap_outs(exe(*vals), entry)


def _check_nans(outs, name, rerun=None):
    from funcgrad._src.debug_nans import check_jit

    check_jit(outs, name, rerun)


def _unbroadcast_consts(jaxpr: core.Jaxpr, consts):
    """Constants that are broadcast views (``0.5`` broadcast to x's shape at trace time) become
    a small constant (or a Literal) plus a ``broadcast_in_dim`` equation: no big constant is
    kept alive, copied or read by the compiled code."""
    from funcgrad._src.lax.structural import broadcast_in_dim_p

    constvars, new_consts, pre = [], [], []
    for v, c in zip(jaxpr.constvars, consts):
        val = c._value if type(c) is Array else c
        if not isinstance(val, np.ndarray) or val.size <= 1 or 0 not in val.strides:
            constvars.append(v)
            new_consts.append(c)
            continue
        keep = tuple(i for i, s in enumerate(val.strides) if s != 0 and val.shape[i] != 1)
        base = np.array(val[tuple(slice(None) if i in keep else 0 for i in range(val.ndim))])
        aval = core.ShapedArray(base.shape, v.aval.dtype, v.aval.weak_type)
        if base.ndim == 0:
            src = core.Literal(base, aval)
        else:
            src = core.Var(aval)
            constvars.append(src)
            new_consts.append(Array(wrap(base)._value, v.aval.weak_type, _ldt(v.aval.dtype)))
        pre.append(
            core.JaxprEqn(
                broadcast_in_dim_p,
                (src,),
                dict(shape=tuple(val.shape), broadcast_dimensions=keep),
                (v,),
            )
        )
    if not pre:
        return jaxpr, consts
    new = core.Jaxpr(tuple(constvars), jaxpr.invars, tuple(pre) + jaxpr.eqns, jaxpr.outvars)
    core.typecheck_jaxpr(new)
    return new, new_consts


def _as_out(x):
    if isinstance(x, (Array, Tracer)):
        return x
    return array_from_user(x)


_trace_times: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def trace_ms(jaxpr) -> float | None:
    """How long tracing the function of this (closed) jaxpr took, for the compile report."""
    return _trace_times.get(jaxpr)


def _signature(fun):
    try:
        return inspect.signature(fun)
    except (TypeError, ValueError):
        return None


def _abstractify(tree):
    """ShapeDtypeStruct-likes become zero arrays of that shape (only their avals are used)."""

    def one(x):
        if (
            hasattr(x, "shape")
            and hasattr(x, "dtype")
            and not isinstance(x, (Array, Tracer, np.ndarray, np.generic))
        ):
            if x.dtype is dtypes.bfloat16:  # no numpy bfloat16: a float32 buffer
                return array_from_user(np.zeros(x.shape, np.float32), dtypes.bfloat16)
            return np.zeros(x.shape, x.dtype)
        return x

    return tu.tree_map(one, tree)


# ---- ahead-of-time: Lowered / Compiled --------------------------------------------------------


class Lowered:
    """A traced function for one input signature; ``compile()`` it or read its stages."""

    def __init__(self, entry: _Entry, sig: _Signature, name: str):
        self._entry, self._sig, self._name = entry, sig, name

    @property
    def jaxpr(self) -> core.Jaxpr:
        return self._entry.jaxpr

    def compile(self) -> Compiled:
        return Compiled(self, self._executable())

    def _executable(self):
        return get_target(self._sig.backend).compile(self._entry.jaxpr, self._name)

    def as_text(self, stage: str = "ir") -> str:
        """``"ir"`` (the traced jaxpr), then the target's stages: for the CPU ``"ir-opt"``,
        ``"kernels"``, ``"llvm"``, ``"llvm-opt"`` or ``"asm"``; for ``backend="cuda"``:
        ``"kernels"``, ``"llvm"`` or ``"ptx"`` (lowering needs no GPU, so anyone can read and
        check the PTX); for ``backend="ref"``: ``"ir-opt"`` or ``"kernels"``."""
        if stage in ("ir", "jaxpr"):
            return str(self._entry.jaxpr)
        return get_target(self._sig.backend).lower(self._entry.jaxpr, self._name).as_text(stage)


class Compiled:
    """A compiled function for one input signature. Calling it with other shapes or dtypes
    raises a TypeError (it never retraces)."""

    def __init__(self, lowered: Lowered, exe):
        self._lowered, self._exe = lowered, exe

    def __call__(self, *args, **kwargs):
        low = self._lowered
        static_names = {k for k, _ in low._sig.static if isinstance(k, str)}
        static_nums = {k for k, _ in low._sig.static if isinstance(k, int)}
        dyn_args = tuple(a for i, a in enumerate(args) if i not in static_nums)
        dyn_kw = {k: kwargs[k] for k in sorted(kwargs) if k not in static_names}
        leaves, tree = tu.tree_flatten((dyn_args, dyn_kw))
        if tree != low._sig.in_tree:
            raise TypeError(
                f"Compiled {low._name}: argument structure {tree} differs from "
                f"the lowered {low._sig.in_tree}"
            )
        flat = [_as_leaf(x, f"argument {i}") for i, x in enumerate(leaves)]
        for i, (x, (shape, dt, _)) in enumerate(zip(flat, low._sig.avals)):
            a = core.get_aval(x)
            if (a.shape, a.dtype) != (shape, dt):
                raise TypeError(
                    f"Compiled {low._name}: argument {i} is {a.str_short()}, but "
                    f"it was compiled for "
                    f"{core.ShapedArray(shape, dt).str_short()}; call the jitted "
                    f"function instead to compile for new shapes"
                )
        outs = _call(low._entry, (*low._entry.consts, *flat), low._name, low._sig.backend)
        if config.check_floats and not any(isinstance(a, Tracer) for a in flat):
            _check_nans(outs, low._name)
        return tu.tree_unflatten(low._entry.out_tree, outs)

    def as_text(self, stage: str = "kernels") -> str:
        return self._lowered.as_text(stage)

    def memory_report(self) -> dict:
        """Bytes: ``peak`` (workspace of intermediates), ``inputs``, ``outputs``."""
        if self._exe is None:
            return {}
        return self._exe.memory_report()

    @property
    def peak_bytes(self) -> int:
        return self.memory_report().get("peak", 0)


# ---- disable_jit, clear_caches ----------------------------------------------------------------


def clear_caches() -> None:
    """Drop every jit-compiled function's cache of traces and compiled code (the next call
    retraces and recompiles) and free the compiled code no one holds any more (machine code,
    output buffers); the on-disk cache (``config.disk_cache_dir``) is kept.

    Returns:
      None.
    """
    from funcgrad._src.lax import call as lax_call  # its transformed (jvp/vjp/vmap) jaxprs
    from funcgrad._src.lax import loops_eager  # its compiled eager loops

    jit_cache.clear_all()
    lax_call._jaxpr_cache.clear()
    with loops_eager._lock:
        loops_eager._compiled.clear()
    for _ in range(4):  # a jaxpr and its executables refer to each other; freeing one cycle
        if not gc.collect():  # can free what a weak table kept for it (lax/call.py's
            break  # transformed jaxprs): collect again
    release_memory()


_jit_disabled = [False]


@contextlib.contextmanager
def disable_jit(disable: bool = True):
    """Context manager: jit-decorated functions run their Python code eagerly (op by op)
    inside it, as in JAX, so ``print`` and debuggers see concrete values.

    Args:
      disable: ``False`` turns jit back on inside the block (e.g. nested in another
        ``disable_jit()``); the previous setting is restored on exit.

    Yields:
      None.

    >>> import funcgrad.numpy as fnp
    >>> f = jit(lambda x: x.sum() + 1.0)
    >>> with disable_jit():
    ...     f(fnp.ones(3))
    Array(4., dtype=float32)
    """
    old = _jit_disabled[0]
    _jit_disabled[0] = bool(disable)
    try:
        yield
    finally:
        _jit_disabled[0] = old


# ---- the public function ----------------------------------------------------------------------


def jit(
    fun: Callable | None = None,
    static_argnums=(),
    static_argnames=(),
    donate_argnums=(),
    backend: str | None = None,
    inline: bool = False,
    donate_argnames=(),
):
    """Compile ``fun`` to native code, once per input signature (``jax.jit``).

    The first call with a new signature (argument tree structure, shapes, dtypes, weak
    types, static values, backend and code-changing config) traces ``fun`` and compiles
    it; later calls with that signature run the cached executable. Under grad/vmap/another
    jit the call is transformed or staged like a primitive. Inside ``disable_jit()`` it runs
    ``fun`` eagerly. Also usable as a decorator with options (``fun=None``), and on methods.

    Args:
      fun: a function of arrays (pytrees of arrays; numpy arrays and Python scalars are
        converted) returning arrays (pytrees of arrays). None: return a decorator.
      static_argnums: an int or sequence of ints (negative allowed): positional arguments
        that are Python values, passed to ``fun`` untraced; they must be hashable and a new
        value retraces and recompiles. A parameter named here is also static when passed
        by keyword.
      static_argnames: a str or sequence of str: the same, by parameter name (positional
        use of such a parameter is static too).
      donate_argnums: an int or sequence of ints: positional arguments whose buffers the
        caller gives up: an output of the same shape and dtype may be computed in place
        in a donated buffer (in-place updates of parameters and optimizer state), and the
        donated Arrays are deleted after the call (using them raises ``RuntimeError``), as
        in JAX. Numpy arguments are copied instead. Only the ``"cpu"`` target donates;
        elsewhere donation is ignored and nothing is deleted.
      backend: a target of ``funcgrad.backend``'s registry: ``"cpu"``, ``"cuda"`` or
        ``"ref"`` (the numpy reference interpreter); default ``config.platform``.
      inline: accepted and ignored: nested jit calls are always inlined when compiled.
      donate_argnames: a str or sequence of str: parameters donated as ``donate_argnums``
        (only when the argument is passed positionally).

    JAX's ``in_shardings``, ``out_shardings``, ``keep_unused``, ``device``,
    ``abstracted_axes`` and ``compiler_options`` are not supported.

    Returns:
      A callable with ``fun``'s signature and name, with the methods ``lower(*args,
      **kwargs)`` (trace for arrays or ``ShapeDtypeStruct``s without running: a ``Lowered``
      with ``compile()`` and ``as_text(stage)``), ``eval_shape(*args, **kwargs)`` and
      ``clear_cache()``. With ``fun=None``, a decorator taking ``fun``.

    Raises:
      TypeError: if ``fun`` is not callable; (when called) if a non-static argument is not
        an array type, or a static one is unhashable (that error is also a ValueError).
      ValueError: if ``static_argnums`` is out of range for ``fun``'s positional
        parameters, or ``donate_argnames`` names a non-parameter; (when called) for an
        unknown ``backend``, or a donated Array also passed as another argument.
      FloatingPointError: with ``config.debug_nans``, if an output holds a NaN.

    >>> import funcgrad.numpy as fnp
    >>> f = jit(lambda x: fnp.sin(x) * 2.0 + 1.0)
    >>> f(fnp.zeros(3))
    Array([1., 1., 1.], dtype=float32)
    """
    if fun is None:
        return functools.partial(
            jit,
            static_argnums=static_argnums,
            static_argnames=static_argnames,
            donate_argnums=donate_argnums,
            backend=backend,
            inline=inline,
            donate_argnames=donate_argnames,
        )
    if not callable(fun):
        raise TypeError(f"jit expects a callable, got {type(fun).__name__}")
    donate = (donate_argnums, donate_argnames)
    return _Jitted(fun, static_argnums, static_argnames, donate, backend, inline)


__all__ = ["Compiled", "Lowered", "clear_caches", "disable_jit", "jit", "to_numpy"]
