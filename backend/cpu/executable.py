"""The CPU runtime: jaxpr -> passes -> kernel program -> LLVM -> machine code, and the call.

``get_executable(jaxpr, name)`` compiles once per jaxpr (the executables live on the jaxpr object,
so they are freed with it).
An ``Executable`` validates its inputs (shape, dtype, C-contiguity) before any native code
runs, takes the outputs from ``np.empty`` (big ones from an ``OutputPool``; donated inputs'
buffers where the program writes them in place), reuses one workspace for the temporaries, and
calls the native entry points (one when the program has no fallback step; ``run_obj`` takes the
array objects themselves). If anything in the
compiler fails, the whole jaxpr runs with the numpy ``impl_rules`` and the report says why.
"""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import os
import sys
import threading
import time
import weakref

import numpy as np
from funcgrad.backend import kernel_ir as K
from funcgrad.backend import lower
from funcgrad.backend.llvm import scalar

from funcgrad._src import core
from funcgrad.config import config

from . import blas, codegen, engine, fastcall, ops

logger = logging.getLogger("funcgrad.jit")
_ENTRY = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
_cache_lock = threading.Lock()  # guards the per-jaxpr slot tables, never a build
_dump_counter = [0]
STRICT = False  # tests set this: compiler errors raise instead of falling back
_SLOTS_ATTR = "_cpu_executables"  # the jaxpr's own table of compiled code: {key: _Slot}


def get_executable(
    jaxpr: core.Jaxpr, name: str = "fn", donated: tuple = (), trace_ms: float | None = None
) -> Executable:
    """The compiled ``jaxpr``. ``donated``: positions of inputs whose buffers the caller gives
    up (``donate_argnums``): outputs of the same shape and dtype may be written into them.
    ``trace_ms``: how long tracing took (for the compile report).

    The executables live in a table on the jaxpr object itself, so they go when the jaxpr goes
    (the front end's cache drops it: LRU eviction, ``clear_caches()``, the jitted function
    dropped). A global table keyed weakly by the jaxpr would keep it, and every executable,
    for ever: an executable refers to its jaxpr. The jaxpr <-> executable cycle is freed by
    Python's cycle collector, which frees the LLVM engine and its machine code with it.

    Thread-safe: one executable per (jaxpr, key), built once under that key's own lock (threads
    asking for other keys compile at the same time), so no thread ever holds code that a
    second build replaced and freed."""
    key = (config.num_threads, tuple(donated))
    with _cache_lock:
        slot = _slot_table(jaxpr).setdefault(key, _Slot())
    exe = slot.exe
    if exe is None:
        with slot.lock:
            if slot.exe is None:
                from .target import TARGET

                legal = lower.apply_rewrites(jaxpr, TARGET.rewrites)
                slot.exe = Executable(legal, name or "fn", donated, trace_ms)
            exe = slot.exe
    return exe


def _slot_table(jaxpr: core.Jaxpr) -> dict:
    """The jaxpr's table of executables (a memo: the frozen jaxpr itself is never changed)."""
    table = jaxpr.__dict__.get(_SLOTS_ATTR)
    if table is None:
        table = {}
        object.__setattr__(jaxpr, _SLOTS_ATTR, table)
    return table


def live_executables(jaxpr: core.Jaxpr) -> list:
    """The executables built for ``jaxpr`` that are still held (for tests and reports)."""
    table = jaxpr.__dict__.get(_SLOTS_ATTR, {})
    return [s.exe for s in table.values() if s.exe is not None]


class _Slot:
    """One cache entry: the executable once built, and the lock its builder holds."""

    __slots__ = ("exe", "lock")

    def __init__(self):
        self.exe, self.lock = None, threading.Lock()


def _aligned_scratch(nbytes: int) -> np.ndarray:
    """``nbytes`` of 64-byte aligned scratch memory."""
    raw = np.empty(nbytes + 64, np.uint8)
    return raw[(-raw.ctypes.data) % 64 :][:nbytes]


def _match_donations(jaxpr: core.Jaxpr, donated) -> dict:
    """``{output index: input index}``: each donated input offered to the first output of
    its shape and dtype not yet taken."""
    free = [i for i in donated]
    aliases = {}
    for o, v in enumerate(jaxpr.outvars):
        for i in free:
            a, b = jaxpr.invars[i].aval, v.aval
            if (a.shape, np.dtype(a.dtype)) == (b.shape, np.dtype(b.dtype)):
                aliases[o] = i
                free.remove(i)
                break
    return aliases


def _num_threads() -> int:
    return config.num_threads or os.cpu_count() or 1


def _can_dot(dtype) -> bool:
    return np.dtype(dtype) in (np.dtype(np.float32), np.dtype(np.float64))


RULES = lower.Rules(scalar.can_emit, codegen.dtype_ok, _can_dot, ops.native_check)


class Executable:
    """A compiled jaxpr. Call it with numpy arrays (consts first, as the jaxpr's invars)."""

    def __init__(self, jaxpr: core.Jaxpr, name: str, donated: tuple = (), trace_ms=None):
        self.trace_ms = trace_ms
        self.donated = tuple(donated)
        self.requested_aliases = _match_donations(jaxpr, donated)
        self.aliases: dict = {}  # output index -> input index written in place
        self.name = "".join(c if c.isalnum() or c == "_" else "_" for c in name) or "fn"
        self.jaxpr = jaxpr
        self.in_specs = [(v.aval.shape, np.dtype(v.aval.dtype)) for v in jaxpr.invars]
        self.out_specs = [(tuple(v.aval.shape), np.dtype(v.aval.dtype)) for v in jaxpr.outvars]
        # big outputs come from a pool of reusable buffers (no page faults on every call)
        self.out_alloc = [
            OutputPool(s, d)
            if int(np.prod(s, dtype=np.int64)) * d.itemsize >= POOL_MIN_BYTES
            else None
            for s, d in self.out_specs
        ]
        self.timings: dict = {}
        self.error: str | None = None
        self.program = self.emitted = self.compiled = self.object_entry = None
        self.opt_jaxpr = jaxpr
        self._ws, self._ws_lock, self._ws_init_lock = None, threading.Lock(), threading.Lock()
        try:
            self._build()
        except Exception as e:  # never let the compiler break a program: evaluate instead
            if STRICT:
                raise
            self.error = f"{type(e).__name__}: {e}"
            logger.warning(
                "jit: compiling %s failed, running it with numpy instead (%s)",
                self.name,
                self.error,
            )
        self._report()

    # -- building ------------------------------------------------------------------------------

    def _timed(self, what, fn, *args, **kw):
        t0 = time.perf_counter()
        out = fn(*args, **kw)
        self.timings[what] = (time.perf_counter() - t0) * 1e3
        return out

    def _build(self) -> None:
        self.opt_jaxpr, self.program = lower.to_program(
            self.jaxpr, self.name, RULES, self.requested_aliases, self.timings
        )
        self.aliases = {
            o: i
            for o, i in self.requested_aliases.items()
            if self.program.outputs[o] == self.program.inputs[i]
        }
        self.emitted = self._timed("codegen", codegen.emit_program, self.program, _num_threads())
        self._obj_arity = None
        if (
            len(self.emitted.entries) == 1
            and self.emitted.entries[0][0] == "run"
            and _NPY_DATA_OFFSET is not None
            and len(self.in_specs) + len(self.out_specs) <= MAX_OBJECT_ARGS
        ):
            _emit_object_entry(self.emitted.module, len(self.in_specs), len(self.out_specs))
            self._obj_arity = len(self.in_specs) + len(self.out_specs)
        self.llvm_ir = str(self.emitted.module)
        self.compiled = self._timed("llvm", engine.compile_module, self.llvm_ir, name=self.name)
        self._entries = []
        for kind, what in self.emitted.entries:
            if kind == "fallback":
                self._entries.append(("fallback", self.program.steps[what]))
            else:
                fn = _ENTRY(self.compiled.address(kind))
                self._entries.append(("native", fn))
        self._tmp_offsets = self.emitted.offsets
        self._peak = self.emitted.peak
        # the llvmlite IR objects (~300 KB of Python objects): the text above is what's kept
        self.emitted = dataclasses.replace(self.emitted, module=None)
        self._simple = len(self._entries) == 1 and self._entries[0][0] == "native"
        self.object_entry = None
        if self._obj_arity is not None:
            proto = ctypes.CFUNCTYPE(None, *[ctypes.py_object] * self._obj_arity, ctypes.c_void_p)
            self.object_entry = proto(self.compiled.address("run_obj"))
        self._in_t = ctypes.c_void_p * max(len(self.in_specs), 1)
        self._out_t = ctypes.c_void_p * max(len(self.out_specs), 1)

    # -- calling -------------------------------------------------------------------------------

    def fast_entry(self, call):
        """``run(values)`` for the front end's per-signature fast path (``fastcall.py``;
        ``call`` a ``funcgrad.backend.FastCall``), or None when this program has no object
        entry (fallback steps, too many arguments, unknown numpy layout).

        ``run`` hands the numpy array objects themselves (inputs, then freshly allocated
        outputs: C-contiguous, of exactly the compiled shapes and dtypes) and the workspace
        address to ``run_obj``, which reads the data pointers natively: no ctypes pointer
        conversions. A program with a workspace keeps one per executable; ``run`` holds its
        lock while it runs and returns None when another thread holds it. ``run`` holds
        references to this executable (its machine code) and to the workspace."""
        if self.object_entry is None:
            return None
        ws = self._workspace(True) if self._peak else None
        wsp = ws.ctypes.data if ws is not None else None
        specs, lock, alloc = self.out_specs, self._ws_lock, self.out_alloc
        keep = (self, ws)  # the runner keeps its code and scratch alive as long as it lives
        return fastcall.runner(
            call.n_in, call.consts, self.object_entry, specs, wsp, lock, alloc, call.finish, keep
        )

    def call_donating(self, values: list) -> list:
        """Run with the donated inputs' buffers (``values`` holds consts then arguments; the
        caller gives up the list and its donated arrays): a buffer nothing else refers to is
        written in place, any other is copied first, so donation never changes a result."""
        for p in self.donated:
            v, values[p] = values[p], None
            # the only reference left is `v` (and an output pool's): else copy it
            values[p] = v if sole_reference(v, 1) else np.array(v, order="C")
        return self(*values)

    def _check(self, args) -> list:
        """Inputs as C-contiguous arrays of the compiled shapes and dtypes (or TypeError)."""
        if len(args) != len(self.in_specs):
            raise TypeError(f"{self.name}: expected {len(self.in_specs)} arrays, got {len(args)}")
        out = []
        for i, (x, (shape, dtype)) in enumerate(zip(args, self.in_specs)):
            a = x if type(x) is np.ndarray else np.asarray(x)
            if a.shape != shape or a.dtype != dtype:
                raise TypeError(
                    f"{self.name}: input {i} is {a.dtype.name}{list(a.shape)}, but "
                    f"the code was compiled for {dtype.name}{list(shape)}"
                )
            out.append(a if a.flags.c_contiguous else np.ascontiguousarray(a))
        return out

    def __call__(self, *args) -> list:
        arrs = self._check(args)
        if self.compiled is None:
            return self._evaluate(arrs)
        pooled = any(a is not None for a in self.out_alloc)
        near = arrs[0].ctypes.data if arrs and pooled else 0
        outs = [
            arrs[self.aliases[k]]
            if k in self.aliases  # donated input buffers
            else alloc(near)
            if alloc is not None
            else np.empty(s, d)
            for k, ((s, d), alloc) in enumerate(zip(self.out_specs, self.out_alloc))
        ]
        obj = self.object_entry  # array objects straight in: no ctypes pointer conversions
        if obj is not None and not self._peak:
            obj(*arrs, *outs, None)
            return outs
        locked = self._ws_lock.acquire(blocking=False)
        try:
            ws = self._workspace(locked)
            wsp = ws.ctypes.data if ws is not None else None
            if obj is not None:
                obj(*arrs, *outs, wsp)
            else:
                in_ptrs = self._in_t(*[a.ctypes.data for a in arrs])
                out_ptrs = self._out_t(*[o.ctypes.data for o in outs])
                if self._simple:
                    self._entries[0][1](in_ptrs, out_ptrs, wsp)
                else:
                    self._run_steps(arrs, outs, ws, in_ptrs, out_ptrs, wsp)
        finally:
            if locked:
                self._ws_lock.release()
        return outs

    def _workspace(self, reuse: bool):
        """The scratch buffer: the executable's own (``reuse``; made once, under a lock, and
        never replaced while a fast path holds its address) or a fresh one."""
        if not self._peak:
            return None
        if reuse and self._ws is not None:
            return self._ws
        if reuse:
            with self._ws_init_lock:
                if self._ws is None:
                    self._ws = _aligned_scratch(self._peak)
            return self._ws
        return _aligned_scratch(self._peak)

    def _run_steps(self, arrs, outs, ws, in_ptrs, out_ptrs, wsp) -> None:
        views = self._buffer_views(arrs, outs, ws)
        for kind, what in self._entries:
            if kind == "native":
                what(in_ptrs, out_ptrs, wsp)
            else:
                K.run_fallback(what, views)

    def _buffer_views(self, arrs, outs, ws) -> dict:
        views = {}
        for b in self.program.buffers:
            if b.kind == "in":
                views[b.id] = arrs[b.index]
            elif b.kind == "out":
                views[b.id] = outs[b.index]
            elif b.id in self._tmp_offsets:
                off = self._tmp_offsets[b.id]
                views[b.id] = ws[off : off + b.nbytes].view(b.dtype).reshape(b.shape)
        return views

    def _evaluate(self, arrs) -> list:
        outs = core.eval_jaxpr(self.jaxpr, [], arrs)
        return [
            np.asarray(core.eval_hooks["to_numpy"](o)).astype(d, copy=False).reshape(s)
            for o, (s, d) in zip(outs, self.out_specs)
        ]

    # -- inspection ------------------------------------------------------------------------------

    def fallbacks(self) -> list[str]:
        if self.compiled is None:
            return [f"whole function ({self.error})"]
        return [
            f"{s.eqn.primitive.name}: {s.reason}"
            for s in self.program.steps
            if isinstance(s, K.Fallback)
        ]

    def as_text(self, stage: str) -> str:
        if stage == "ir-opt":
            return str(self.opt_jaxpr)
        if self.compiled is None:
            return f"# {self.name} runs with the numpy evaluator: {self.error}\n{self.jaxpr}"
        if stage == "kernels":
            return K.program_str(self.program)
        if stage == "llvm":
            return self.llvm_ir
        if stage == "llvm-opt":
            return self.compiled.ir_opt
        if stage == "asm":
            return self.compiled.asm
        raise ValueError(
            f"unknown stage {stage!r}: use 'ir', 'ir-opt', 'kernels', 'llvm', 'llvm-opt' or 'asm'"
        )

    def memory_report(self) -> dict:
        nbytes = lambda specs: sum(int(np.prod(s, dtype=np.int64)) * d.itemsize for s, d in specs)
        return {
            "peak": getattr(self, "_peak", 0),
            "inputs": nbytes(self.in_specs),
            "outputs": nbytes(self.out_specs),
        }

    def _report(self) -> None:
        if config.dump_dir:
            self._dump(config.dump_dir)
        if config.compile_report:
            print(self.report())
        if config.log_compiles:
            logger.warning("jit: compiled %s (%s)", self.name, _fmt_times(self.timings))

    def report(self) -> str:
        trace = self.trace_ms
        steps = self.program.steps if self.program else ()
        nk = sum(isinstance(s, K.LoopKernel) for s in steps)
        nd = sum(isinstance(s, K.Dot) for s in steps)
        no = sum(isinstance(s, K.OpKernel) for s in steps)
        lines = [
            f"[funcgrad.jit] {self.name}: "
            + (f"trace {trace:.1f} ms, " if trace is not None else "")
            + _fmt_times(self.timings),
            f"  {len(self.jaxpr.eqns)} equations -> {len(self.opt_jaxpr.eqns)} after "
            f"passes -> {nk} loop kernels, {no} op kernels, {nd} BLAS calls "
            f"({'OpenBLAS' if blas.blas_available() else 'generated gemm'}), "
            f"workspace {getattr(self, '_peak', 0)} bytes",
        ]
        fb = self.fallbacks()
        lines.append(f"  fallbacks (numpy): {', '.join(fb) if fb else 'none'}")
        return "\n".join(lines)

    def _dump(self, folder: str) -> None:
        os.makedirs(folder, exist_ok=True)
        _dump_counter[0] += 1
        stem = os.path.join(folder, f"{_dump_counter[0]:03d}_{self.name}")
        stages = ["ir-opt", "kernels", "llvm", "llvm-opt", "asm"]
        with open(stem + ".ir.txt", "w") as f:
            f.write(str(self.jaxpr) + "\n")
        for st in stages:
            try:
                text = self.as_text(st)
            except Exception as e:  # noqa: BLE001 (a dump must not break compilation)
                text = f"# {st} unavailable: {e}"
            with open(f"{stem}.{st}.txt", "w") as f:
                f.write(text + "\n")
        with open(stem + ".report.txt", "w") as f:
            f.write(self.report() + "\n")


# ---- reusable output buffers --------------------------------------------------------------------

POOL_MIN_BYTES = 1 << 20  # outputs at least this big are pooled
POOL_PER_OUTPUT = 2  # buffers kept per output (e.g. this call's and the previous call's)


def sole_reference(v: np.ndarray, held: int) -> bool:
    """Whether nothing but the caller's ``held`` references (and an output pool's) can reach
    ``v``'s memory: no Array, numpy view, memoryview or DLPack capsule of it anywhere, so it
    may be overwritten.

    numpy points a view's ``base`` at the array that owns the memory (views of views collapse
    onto it). A buffer that owns its memory is reached only through references to it; a
    pooled buffer (a view of its pool's aligned raw block) through itself or through the raw
    block, which nothing but the buffer may hold. Any other view may share its memory: False.
    """
    if not (v.flags.c_contiguous and v.flags.aligned):
        return False
    others = sys.getrefcount(v) - 2 - held  # less `v` here and getrefcount's argument
    if v.flags.owndata:
        return others <= 0
    raw = v.base
    ref = _POOLED.get(id(raw))
    if ref is None or ref() is not raw:
        return False
    return others <= 1 and sys.getrefcount(raw) <= 3  # the pool's list; v.base, `raw`, arg


_POOLED: dict = {}  # id(raw block) -> weakref to it, while a live pool lists its buffer


class OutputPool:
    """Buffers for one big output, reused across calls once nothing can reach them any more.

    A fresh multi-megabyte ``np.empty`` is new memory from the OS: the first write to each page
    faults, and that costs more than computing most elementwise results (PERF-NOTES: +1.6 to
    +13 ms per 40 MB). The pool keeps up to ``POOL_PER_OUTPUT`` buffers; a buffer is handed
    out again only when nothing but the pool can reach its memory (``sole_reference``: no
    Array, no numpy view of it or of its raw block, however derived: ``np.asarray``, slices,
    ``reshape``, ``.T``, pytree leaves), so reuse can never change an array anyone still sees.
    The raw block is read-only while its buffer is out, so no view of it can be made writable
    (``setflags(write=True)`` raises). The lock makes check-and-take atomic between threads.

    Placement: buffers are 64-byte aligned (whole-vector loads and stores) and start 2 KiB
    away, modulo 4 KiB, from the first input's data. Big numpy arrays all start at the same
    offset within a page; an output at the same offset as an input makes every load look like
    it may depend on the stores just before it ("4K aliasing"), which made a fused
    exp+exp loop over 10M elements 3x slower."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype, self.blocks = shape, np.dtype(dtype), []
        self.nbytes = int(np.prod(shape, dtype=np.int64)) * self.dtype.itemsize
        self.lock = threading.Lock()

    def __call__(self, near: int = 0) -> np.ndarray:
        if not self.lock.acquire(blocking=False):
            return np.empty(self.shape, self.dtype)
        try:
            for b in self.blocks:
                if sole_reference(b, 1):  # `b` (and self.blocks, the pool's own)
                    return _take(b)
            raw = np.empty(self.nbytes + 4096, np.uint8)
            target = (near + 2048) % 4096 // 64 * 64  # a 64-byte aligned page offset
            start = (target - raw.ctypes.data) % 4096
            out = raw[start : start + self.nbytes].view(self.dtype).reshape(self.shape)
            if out.base is not raw:  # numpy collapses views onto their owner (sole_reference)
                return out
            if len(self.blocks) < POOL_PER_OUTPUT:
                self.blocks.append(out)
                _POOLED[id(raw)] = weakref.ref(raw)
            return _take(out)
        finally:
            self.lock.release()

    def __del__(self):
        for b in self.blocks:
            _POOLED.pop(id(b.base), None)


def _take(b: np.ndarray) -> np.ndarray:
    """The pooled buffer ``b``, writable for this call; its raw block read-only from now on."""
    raw = b.base
    raw.setflags(write=True)
    b.setflags(write=True)
    raw.setflags(write=False)
    return b


# ---- the object entry: numpy array objects in, data pointers read natively --------------------

MAX_OBJECT_ARGS = 64


def _find_data_offset():
    """Byte offset of the data pointer in a numpy array object (``PyArrayObject_fields.data``,
    right after the object header in numpy's C ABI), verified on live arrays; None if the
    layout is not the expected one (the fast path is then off)."""
    probes = [np.empty(3, np.float32), np.zeros((2, 2)), np.arange(5)[1:]]
    for off in (16, 24):
        if all(ctypes.c_void_p.from_address(id(a) + off).value == a.ctypes.data for a in probes):
            return off
    return None


_NPY_DATA_OFFSET = _find_data_offset()


def _emit_object_entry(module, n_in: int, n_out: int) -> None:
    """``run_obj(PyObject *in0, ..., PyObject *out0, ..., ptr workspace)``: load each array's
    data pointer, build the pointer tables on the stack and call ``run``."""
    from llvmlite import ir

    ptr, i64 = ir.PointerType(), ir.IntType(64)
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [ptr] * (n_in + n_out + 1)), "run_obj")
    engine.set_function_attributes(fn)
    b = ir.IRBuilder(fn.append_basic_block("entry"))

    def table(args):
        t = b.alloca(ptr, ir.Constant(i64, max(len(args), 1)))
        for i, obj in enumerate(args):
            field = b.gep(obj, [ir.Constant(i64, _NPY_DATA_OFFSET)], source_etype=ir.IntType(8))
            b.store(b.load(field, typ=ptr), b.gep(t, [ir.Constant(i64, i)], source_etype=ptr))
        return t

    ins, outs = table(fn.args[:n_in]), table(fn.args[n_in : n_in + n_out])
    b.call(module.get_global("run"), [ins, outs, fn.args[-1]])
    b.ret_void()


def _fmt_times(t: dict) -> str:
    return ", ".join(f"{k} {v:.1f} ms" for k, v in t.items())
