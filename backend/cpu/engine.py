"""LLVM plumbing for the CPU backend: one-time init, the host target machine, O3 + MCJIT.

Nothing here runs at import: ``llvmlite.binding`` is initialised on first use (``_init``), and
the host ``TargetMachine`` is created once. ``llvm.initialize()`` raises on llvmlite 0.50 and is
never called. Every module must come from ``new_module`` so that its triple and data layout match
the target machine (without a triple LLVM neither turns libm calls into intrinsics nor picks the
right vector costs; see /work/shared/PERF-NOTES.md).
"""

from __future__ import annotations

import ctypes
import functools
import time
import weakref
from dataclasses import dataclass, field

import llvmlite.binding as llvm
from funcgrad.backend.llvm import LLVM_LOCK
from llvmlite import ir

PREFERRED_VECTOR_WIDTH = "512"  # x86 tuning otherwise stops at 256-bit vectors (PERF-NOTES 1)


def _once(fn):
    """``functools.cache`` for a function of no arguments, made once even when threads race
    (a second target machine would be freed while modules still use the first)."""
    cached = functools.cache(fn)

    @functools.wraps(fn)
    def once():
        with LLVM_LOCK:
            return cached()

    return once


@_once
def _init() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    llvm.initialize_native_asmparser()  # inline asm needs it (PERF-NOTES 6)


@_once
def host_cpu() -> tuple[str, str]:
    """``(cpu name, feature string)`` of the machine we run on."""
    _init()
    return llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()


def new_target_machine() -> llvm.TargetMachine:
    """A fresh host target machine (opt level 3, JIT code model)."""
    _init()
    cpu, features = host_cpu()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=cpu, features=features, opt=3, jit=True)


@_once
def target_machine() -> llvm.TargetMachine:
    """The shared host target machine, for data layouts and pass pipelines.

    Never hand it to an execution engine: MCJIT takes ownership of its target machine and
    deletes it with the engine (``compile_module`` makes one per engine).
    """
    return new_target_machine()


def new_module(name: str) -> ir.Module:
    """An empty ``ir.Module`` whose triple and data layout match the host target machine."""
    tm = target_machine()
    module = ir.Module(name=name)
    module.triple = tm.triple
    module.data_layout = str(tm.target_data)
    return module


# --- function attributes --------------------------------------------------------------------


class _HostFunctionAttributes(ir.values.FunctionAttributes):
    """llvmlite's function attributes plus ``"key"="value"`` string attributes."""

    def __init__(self, args=()):
        super().__init__(args)
        self.strings: dict[str, str] = {}

    def _to_list(self, ret_type):
        pairs = [f'"{k}"="{v}"' for k, v in sorted(self.strings.items())]
        return super()._to_list(ret_type) + pairs


def _host_attributes(fn: ir.Function) -> _HostFunctionAttributes:
    if not isinstance(fn.attributes, _HostFunctionAttributes):
        old = fn.attributes
        fn.attributes = _HostFunctionAttributes(sorted(old))
        fn.attributes.alignstack, fn.attributes.personality = old.alignstack, old.personality
    return fn.attributes


def _pointer_arg_indices(fn: ir.Function, which) -> list[int]:
    ptr_args = [i for i, a in enumerate(fn.args) if isinstance(a.type, ir.PointerType)]
    if which is True:
        return ptr_args
    bad = [i for i in which if i not in ptr_args]
    if bad:
        raise ValueError(f"{fn.name}: arguments {bad} are not pointers (pointers: {ptr_args})")
    return list(which)


_ARG_ATTRS = {"noalias": "noalias", "nocapture": "captures(none)"}  # LLVM 21+ spelling
_INLINE_ATTRS = {"always": "alwaysinline", "never": "noinline", None: None}


def set_function_attributes(
    fn: ir.Function, *, noalias=(), nocapture=(), inline: str | None = None, **strings: str
) -> ir.Function:
    """Mark ``fn`` for the host CPU and return it.

    Adds ``nounwind``, ``"prefer-vector-width"="512"``, ``"target-cpu"`` and
    ``"target-features"`` of the host. ``noalias``/``nocapture``: indices of pointer arguments
    to mark, or ``True`` for every pointer argument. ``inline``: ``"always"``, ``"never"`` or
    None. Extra keyword arguments become string attributes (``_`` in the key becomes ``-``).

    >>> m = new_module("m")
    >>> f = ir.Function(m, ir.FunctionType(ir.VoidType(), [ir.PointerType()]), "f")
    >>> _ = set_function_attributes(f, noalias=True)
    """
    if inline not in _INLINE_ATTRS:
        raise ValueError(f"inline must be one of {list(_INLINE_ATTRS)}, got {inline!r}")
    cpu, features = host_cpu()
    attrs = _host_attributes(fn)
    attrs.add("nounwind")
    if _INLINE_ATTRS[inline]:
        attrs.add(_INLINE_ATTRS[inline])
    attrs.strings.update(
        {
            "prefer-vector-width": PREFERRED_VECTOR_WIDTH,
            "target-cpu": cpu,
            "target-features": features,
        }
    )
    attrs.strings.update({k.replace("_", "-"): str(v) for k, v in strings.items()})
    for kind, which in (("noalias", noalias), ("nocapture", nocapture)):
        for i in _pointer_arg_indices(fn, which):
            fn.args[i].add_attribute(_ARG_ATTRS[kind])
    return fn


# --- compilation ----------------------------------------------------------------------------


@dataclass
class CompiledModule:
    """A module compiled to machine code. Keep it alive as long as its addresses are used."""

    name: str
    engine: llvm.ExecutionEngine
    target_machine: llvm.TargetMachine
    module_ref: llvm.ModuleRef
    _ir_opt: str | None
    timings: dict[str, float] = field(default_factory=dict)
    _asm: str | None = None
    _ir_text: str = ""
    from_disk_cache: bool = False

    @property
    def ir_opt(self) -> str:
        """The optimised IR (made on demand: the IR text parsed and optimised again)."""
        if self._ir_opt is None:
            with LLVM_LOCK:
                ctx = llvm.create_context()
                mod = _parse(self._ir_text, self.name, ctx)
                optimize(mod)
                self._ir_opt = str(mod)
                mod.close()
                ctx.close()
        return self._ir_opt

    def address(self, fn_name: str) -> int:
        addr = self.engine.get_function_address(fn_name)
        if not addr:
            raise KeyError(f"module {self.name!r} has no function {fn_name!r}")
        return addr

    @property
    def asm(self) -> str:
        if self._asm is None:
            with LLVM_LOCK:
                self._asm = self.target_machine.emit_assembly(self.module_ref)
        return self._asm


def optimize(mod: llvm.ModuleRef, speed_level: int = 3) -> None:
    """Run the O``speed_level`` pipeline (loop and SLP vectorisation on) on ``mod`` in place."""
    pto = llvm.create_pipeline_tuning_options(speed_level=speed_level)
    pto.loop_vectorization = True
    pto.slp_vectorization = True
    pb = llvm.create_pass_builder(target_machine(), pto)
    pb.getModulePassManager().run(mod, pb)


def compile_module(llvm_ir_text: str | ir.Module, *, name: str = "fg_module") -> CompiledModule:
    """Parse, verify, optimise (O3) and JIT-compile LLVM IR; return a ``CompiledModule``."""
    if isinstance(llvm_ir_text, ir.Module):
        llvm_ir_text = str(llvm_ir_text)
    if not isinstance(llvm_ir_text, str):
        raise TypeError(f"compile_module wants LLVM IR text, got {type(llvm_ir_text).__name__}")
    _init()
    with LLVM_LOCK:
        return _compile_locked(llvm_ir_text, name)


def _compile_locked(llvm_ir_text: str, name: str) -> CompiledModule:
    _free_pending()
    ctx = llvm.create_context()  # its own context: freed after the engine (see _release)
    ctx._owned = True  # so llvmlite's finalizer never frees it before its module
    made: dict = {}
    try:
        compiled = _build(llvm_ir_text, name, ctx, made)
    except BaseException:
        if "engine" in made:
            made["engine"].close()  # frees the module it owns
        elif "module" in made:
            made["module"].close()
        _dispose_context(ctx)
        raise
    weakref.finalize(compiled, _release, made["engine"], ctx).atexit = False
    return compiled


def _build(llvm_ir_text: str, name: str, ctx, made: dict) -> CompiledModule:
    t0 = time.perf_counter()
    cache_dir, cache_key, cached = _disk_cache_lookup(llvm_ir_text)
    mod = made["module"] = _parse(llvm_ir_text, name, ctx)
    t1 = time.perf_counter()
    if cached is None:
        optimize(mod)  # a cache hit skips O3 and codegen: the object code is ready
    t2 = time.perf_counter()
    tm = new_target_machine()  # owned (and freed) by the engine
    engine = made["engine"] = llvm.create_mcjit_compiler(mod, tm)
    if cache_dir:
        from . import disk_cache

        engine.set_object_cache(
            lambda m, obj: cached is None and disk_cache.write(cache_dir, cache_key, obj),
            lambda m: cached,
        )
    engine.finalize_object()
    t3 = time.perf_counter()
    return CompiledModule(
        name,
        engine,
        tm,
        mod,
        None,  # the optimised IR's text: made on demand (a copy of the module per program)
        {"parse": t1 - t0, "opt": t2 - t1, "codegen": t3 - t2},
        _ir_text=llvm_ir_text,
        from_disk_cache=cached is not None,
    )


# --- freeing ------------------------------------------------------------------------------------
#
# A compiled module's machine code, its engine (which owns the module and the target machine)
# and its LLVM context (which owns every type and constant of the module: in the global context
# they would stay for the life of the process) are freed when the CompiledModule goes, engine
# first: the context must outlive the module. llvmlite's own finalizers would free them in any
# order when the cycle collector finds them together, so the context is marked owned (its
# finalizer then frees nothing) and one weakref.finalize frees both, in order, under LLVM_LOCK
# (not at exit: the process's memory goes anyway).
# A finalizer that runs while another thread holds the lock leaves the pair on _PENDING for the
# next compilation (or free_pending()) instead of waiting for it.

_PENDING: list = []  # (engine, context) pairs whose module has gone


def _release(engine, ctx) -> None:
    _PENDING.append((engine, ctx))
    if LLVM_LOCK.acquire(blocking=False):
        try:
            _free_pending()
        finally:
            LLVM_LOCK.release()


def _free_pending() -> None:
    """Free every released (engine, context) pair; the caller holds LLVM_LOCK."""
    while _PENDING:
        engine, ctx = _PENDING.pop()
        engine.close()
        _dispose_context(ctx)


def _dispose_context(ctx) -> None:
    """Free a context made by ``_compile_locked`` (marked owned: llvmlite would not)."""
    ptr = ctx._ptr
    ctx.detach()
    llvm.ffi.lib.LLVMPY_ContextDispose(ptr)


def free_pending() -> None:
    """Free the machine code of every compiled module that is no longer referenced."""
    with LLVM_LOCK:
        _free_pending()


@functools.cache
def _malloc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc
    except (OSError, AttributeError):
        return None


def trim_heap() -> None:
    """Return the C heap's free pages to the OS (glibc ``malloc_trim``; elsewhere nothing):
    LLVM frees a compiled module as many small blocks, which glibc otherwise keeps."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _disk_cache_lookup(text: str):
    """(directory, key, object bytes or None) when config.disk_cache_dir is set."""
    from funcgrad.config import config

    if not config.disk_cache_dir:
        return None, None, None
    from . import disk_cache

    path = disk_cache.ensure_dir(config.disk_cache_dir)
    k = disk_cache.key(text, *host_cpu())
    return path, k, disk_cache.read(path, k)


def _parse(text: str, name: str, ctx=None) -> llvm.ModuleRef:
    mod = None
    try:
        mod = llvm.parse_assembly(text, ctx)
        mod.verify()
    except RuntimeError as e:
        if mod is not None:  # now, before its context goes
            mod.close()
        raise ValueError(f"invalid LLVM IR in module {name!r}: {e}") from None
    mod.name = name
    return mod
