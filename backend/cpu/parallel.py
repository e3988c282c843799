"""One native call that uses every core: split [0, n) into chunks run on pthreads.

``emit_parallel_for(module, worker, name)`` defines

    void name(ptr ctx, i64 n, i64 min_chunk, i32 nthreads)

which runs ``worker(ctx, start, end)`` (``void(ptr, i64, i64)``) over contiguous chunks of
``[0, n)``: chunk 0 on the calling thread, the others on threads made with ``pthread_create`` and
joined before returning. With fewer than ``2 * min_chunk`` items (or ``nthreads <= 1``) the worker
runs inline, with no thread at all; a failed ``pthread_create`` runs that chunk inline too. The
chunks depend only on ``n``, ``min_chunk`` and ``nthreads``, so results are deterministic as long
as chunks do not share outputs. Creating a thread costs tens of microseconds (PERF-NOTES: split
only kernels that run for more than ~0.5 ms), which is what ``min_chunk`` is for.

``pthread_create``/``pthread_join`` are taken from libc with ctypes and bound with
``llvm.add_symbol`` under the names ``fg_pthread_create``/``fg_pthread_join``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

import llvmlite.binding as llvm
from funcgrad.backend.llvm.builders import for_range
from llvmlite import ir

from .engine import set_function_attributes

MAX_THREADS = 64
I32, I64, PTR = ir.IntType(32), ir.IntType(64), ir.PointerType()
TASK = ir.LiteralStructType([PTR, I64, I64])  # (ctx, start, end)
_PTHREAD_SYMBOLS = {"fg_pthread_create": "pthread_create", "fg_pthread_join": "pthread_join"}


@functools.cache
def bind_pthreads() -> None:
    """Bind ``fg_pthread_create``/``fg_pthread_join`` to libc's functions (once)."""
    libs = [ctypes.CDLL(None)]
    for name in ("c", "pthread"):
        path = ctypes.util.find_library(name)
        if path:
            libs.append(ctypes.CDLL(path))
    for alias, real in _PTHREAD_SYMBOLS.items():
        fn = next((getattr(lib, real) for lib in libs if hasattr(lib, real)), None)
        if fn is None:
            raise RuntimeError(f"cannot find {real} in libc/libpthread")
        llvm.add_symbol(alias, ctypes.cast(fn, ctypes.c_void_p).value)


def _declare(module: ir.Module, name: str, fnty: ir.FunctionType) -> ir.Function:
    fn = module.globals.get(name)
    return fn if fn is not None else ir.Function(module, fnty, name)


def _pthread_fns(module: ir.Module):
    create = _declare(
        module, "fg_pthread_create", ir.FunctionType(I32, [PTR, PTR, PTR, PTR])
    )  # (pthread_t*, attr, fn, arg)
    join = _declare(module, "fg_pthread_join", ir.FunctionType(I32, [I64, PTR]))
    return create, join


def _check_worker(worker: ir.Function) -> None:
    want = ir.FunctionType(ir.VoidType(), [PTR, I64, I64])
    if not isinstance(worker, ir.Function) or worker.ftype != want:
        got = getattr(worker, "ftype", type(worker).__name__)
        raise TypeError(f"parallel worker must be an ir.Function of type {want}, got {got}")


def _emit_trampoline(module: ir.Module, worker: ir.Function, name: str) -> ir.Function:
    """``ptr name(ptr task)``: the pthread start routine unpacking a TASK and calling worker."""
    fn = ir.Function(module, ir.FunctionType(PTR, [PTR]), name)
    fn.linkage = "internal"
    set_function_attributes(fn)
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    ctx, start, end = (_field(b, fn.args[0], i) for i in range(3))
    b.call(worker, [ctx, start, end])
    b.ret(ir.Constant(PTR, None))
    return fn


def _gep(b: ir.IRBuilder, base, indices, ety: ir.Type) -> ir.Value:
    """An opaque ``ptr`` to ``base[indices]`` (llvmlite would type the result otherwise)."""
    idx = [ir.Constant(I32, i) if isinstance(i, int) else i for i in indices]
    g = b.gep(base, idx, source_etype=ety)
    g.type = PTR  # printed the same; stops llvmlite's typed-pointer checks on store
    return g


def _field(b: ir.IRBuilder, task_ptr, i: int):
    return b.load(_gep(b, task_ptr, [0, i], TASK), typ=TASK.elements[i])


def _stack_array(b: ir.IRBuilder, ty: ir.Type, name: str) -> ir.Value:
    """MAX_THREADS elements on the stack, as an opaque ``ptr`` (llvmlite types alloca results)."""
    a = b.alloca(ty, ir.Constant(I64, MAX_THREADS), name=name)
    a.type = PTR
    return a


def _imin(b, x, y):
    return b.select(b.icmp_signed("<", x, y), x, y)


def _imax(b, x, y):
    return b.select(b.icmp_signed(">", x, y), x, y)


def _ceil_div(b, x, y):
    return b.sdiv(b.add(x, b.sub(y, ir.Constant(I64, 1))), y)


def _chunk_count(b: ir.IRBuilder, n, min_chunk, nthreads):
    """min(nthreads, MAX_THREADS, n // max(min_chunk, 1)), at least 1."""
    one = ir.Constant(I64, 1)
    nt = _imin(b, b.sext(nthreads, I64), ir.Constant(I64, MAX_THREADS))
    by_size = b.sdiv(n, _imax(b, min_chunk, one))
    return _imax(b, _imin(b, nt, by_size), one)


def emit_parallel_for(module: ir.Module, worker_fn: ir.Function, name: str) -> ir.Function:
    """Define ``void name(ptr ctx, i64 n, i64 min_chunk, i32 nthreads)`` (see module doc)."""
    _check_worker(worker_fn)
    bind_pthreads()
    create, join = _pthread_fns(module)
    tramp = _emit_trampoline(module, worker_fn, f"{name}.trampoline")
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR, I64, I64, I32]), name)
    set_function_attributes(fn)
    ctx, n, min_chunk, nthreads = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    tasks, tids, started = (
        _stack_array(b, ty, nm)
        for ty, nm in ((TASK, "tasks"), (I64, "tids"), (ir.IntType(8), "started"))
    )
    chunks = _chunk_count(b, n, min_chunk, nthreads)
    with b.if_else(b.icmp_signed("<=", chunks, ir.Constant(I64, 1))) as (inline, threaded):
        with inline:
            b.call(worker_fn, [ctx, ir.Constant(I64, 0), n])
        with threaded:
            size = _ceil_div(b, n, chunks)
            chunks = _ceil_div(b, n, size)  # no empty chunks (n=100, 64 threads: 50 of 2)
            _spawn(b, (create, tramp, worker_fn), (tasks, tids, started), ctx, n, chunks, size)
            b.call(worker_fn, [ctx, ir.Constant(I64, 0), _imin(b, size, n)])
            _join_all(b, join, tids, started, chunks)
    b.ret_void()
    return fn


def _spawn(b, fns, bufs, ctx, n, chunks, size) -> None:
    """Start chunks 1..chunks-1 on threads (inline when pthread_create fails)."""
    create, tramp, worker = fns
    tasks, tids, started = bufs
    with for_range(b, 1, chunks, name="spawn") as t:
        start = b.mul(t, size)
        end = _imin(b, b.add(start, size), n)
        task = _gep(b, tasks, [t], TASK)
        for i, v in enumerate((ctx, start, end)):
            b.store(v, _gep(b, tasks, [t, i], TASK))
        tid = _gep(b, tids, [t], I64)
        rc = b.call(create, [tid, ir.Constant(PTR, None), tramp, task])
        ok = b.icmp_signed("==", rc, ir.Constant(I32, 0))
        b.store(b.zext(ok, ir.IntType(8)), _gep(b, started, [t], ir.IntType(8)))
        with b.if_then(b.not_(ok), likely=False):
            b.call(worker, [ctx, start, end])


def _join_all(b, join, tids, started, chunks) -> None:
    with for_range(b, 1, chunks, name="join") as t:
        flag = b.load(_gep(b, started, [t], ir.IntType(8)), typ=ir.IntType(8))
        with b.if_then(b.icmp_unsigned("!=", flag, ir.Constant(ir.IntType(8), 0))):
            tid = b.load(_gep(b, tids, [t], I64), typ=I64)
            b.call(join, [tid, ir.Constant(PTR, None)])
