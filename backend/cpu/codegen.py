"""Kernel program -> one LLVM module.

Every ``LoopKernel`` / ``Dot`` / ``OpKernel`` (``ops/``) becomes an internal function over the
buffers it touches (``noalias`` pointers); the steps between two fallbacks become one entry function
``run`` / ``run_1`` / ... of type ``void(ptr inputs, ptr outputs, ptr workspace)`` that calls them
in order: a program without fallbacks is one native call. Temporaries live in one workspace at
offsets chosen by liveness (``plan_memory``). ``emit_subprogram`` puts a fallback-free program
into an existing module under a name prefix, with an internal entry of the same type: the
control-flow op kernels (``ops/control.py``) call it once per branch taken or loop iteration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.llvm import scalar
from funcgrad.backend.llvm.builders import for_range
from funcgrad.backend.llvm.scalar import F16, Emitter, convert, emit, ir_type, storage_type
from llvmlite import ir

from . import blas, engine, ops, parallel
from .rows import InRowGroup, RowGroup, group_rows, row_out_strides, to_full

I32, I64, PTR = ir.IntType(32), ir.IntType(64), ir.PointerType()
ALIGN = 64
PARALLEL_MIN_ELEMENTS = 1 << 18  # split loops with at least this many elements (~0.5 ms+)
UNROLL_MIN_ELEMENTS = 1 << 16
KERNEL_INLINE = "never"  # kernels stay functions: LLVM optimises each alone (compile time)
ENTRY_TYPE = ir.FunctionType(ir.VoidType(), [PTR, PTR, PTR])


def dtype_ok(dtype) -> bool:
    """Dtypes this code generator compiles: those of the shared scalar table but float16 (no
    half arithmetic on the host CPU: float16 stays on the numpy fallback path). Loop kernels
    also take complex64/128 (the fusion pass asks ``scalar.can_emit``); op kernels and dots do
    not (complex ``dot_general`` stays a numpy Fallback)."""
    return scalar.dtype_ok(dtype) and np.dtype(dtype) != F16


# ---- memory planning ----------------------------------------------------------------------------


def _step_buffers(step) -> tuple[set, set]:
    """(read, written) buffer ids of a step; a row group's buffers live through it all."""
    if isinstance(step, InRowGroup):
        return set(), set()
    return step.buffers() if isinstance(step, RowGroup) else K.step_buffers(step)


def plan_memory(program: K.Program) -> tuple[dict, int]:
    """Workspace offsets of the temporaries (first fit over live ranges) and the peak size."""
    first, last = {}, {}
    for t, step in enumerate(program.steps):
        reads, writes = _step_buffers(step)
        for b in writes | reads:
            first.setdefault(b, t)
            last[b] = t
    live: list = []  # (offset, size, last step)
    offsets, peak = {}, 0
    tmps = sorted(
        (b for b in program.buffers if b.kind == "tmp" and b.id in first), key=lambda b: first[b.id]
    )
    for b in tmps:
        t = first[b.id]
        live = [a for a in live if a[2] >= t]
        size = -(-max(b.nbytes, 1) // ALIGN) * ALIGN
        off = 0
        for o, s, _ in sorted(live):
            if off + size <= o:
                break
            off = max(off, o + s)
        live.append((off, size, last[b.id]))
        offsets[b.id] = off
        peak = max(peak, off + size)
    return offsets, peak


# ---- module-level emission -----------------------------------------------------------------------


@dataclass
class Emitted:
    module: ir.Module
    entries: list  # [(entry function name, [step indices])] and fallbacks in between
    offsets: dict
    peak: int


def emit_program(program: K.Program, num_threads: int = 2) -> Emitted:
    module = engine.new_module(program.name)
    program = fuse_rows(program)  # same step indices (fallbacks); see "row fusion"
    offsets, peak = plan_memory(program)
    kernels = _emit_kernels(module, program, num_threads)
    entries = []
    for kind, what in _entry_plan(program):
        if kind == "native":
            name = "run" if not entries else f"run_{len(entries)}"
            _emit_entry(module, program, kernels, [i for i in what if i in kernels], offsets, name)
            entries.append((name, what))
        else:
            entries.append(("fallback", what))
    return Emitted(module, entries, offsets, peak)


def emit_subprogram(
    module: ir.Module, program: K.Program, prefix: str, num_threads: int = 2
) -> tuple[ir.Function, int]:
    """Emit a program without fallback steps into an existing ``module`` (op kernels of
    control flow run the programs of their inner jaxprs this way): its kernels are named
    ``{prefix}k{i}`` and its entry ``{prefix}run`` (internal, of type ``ENTRY_TYPE``).
    Returns (the entry function, the workspace bytes it needs)."""
    if any(isinstance(s, K.Fallback) for s in program.steps):
        raise ValueError(f"{program.name}: a program with fallback steps is not one native call")
    offsets, peak = plan_memory(program)
    kernels = _emit_kernels(module, program, num_threads, prefix)
    fn = _emit_entry(
        module,
        program,
        kernels,
        range(len(program.steps)),
        offsets,
        prefix + "run",
        linkage="internal",
    )
    return fn, peak


def kernel_threads(program: K.Program, num_threads: int) -> int:
    """Threads our loop and op kernels may use in ``program``: 1 when it also calls a
    multi-threaded BLAS (a gemm or a convolution), whose threads keep spinning on the cores for
    a while after each call: splitting a loop over a second thread then fights them (measured:
    the MLP train step took 4.2 ms with split loops, 2.5 ms without)."""
    if (
        num_threads > 1
        and blas.blas_threads() > 1
        and any(
            isinstance(s, K.Dot)
            or (isinstance(s, K.OpKernel) and s.eqn.primitive.name == "conv_general_dilated")
            for s in program.steps
        )
    ):
        return 1
    return num_threads


def _emit_kernels(module, program, num_threads, prefix="") -> dict:
    """step index -> (function, buffer ids it takes), for every step but the fallbacks."""
    num_threads = kernel_threads(program, num_threads)
    kernels = {}
    for i, step in enumerate(program.steps):
        name = f"{prefix}k{i}"
        if isinstance(step, K.LoopKernel):
            kernels[i] = _emit_loop_kernel(module, program, step, name, num_threads)
        elif isinstance(step, K.Dot):
            kernels[i] = _emit_dot(module, program, step, name)
        elif isinstance(step, K.OpKernel):
            kernels[i] = ops.emit(module, program, step, name, num_threads)
        elif isinstance(step, RowGroup):
            kernels[i] = _emit_row_group(module, program, step, name, num_threads)
    return kernels


def _entry_plan(program) -> list:
    """[("native", [step indices]) | ("fallback", step index)]: native runs between fallbacks."""
    plan, seg = [], []
    for i, step in enumerate(program.steps):
        if isinstance(step, K.Fallback):
            if seg:
                plan.append(("native", seg))
            plan.append(("fallback", i))
            seg = []
        else:
            seg.append(i)
    if seg or not plan:
        plan.append(("native", seg))
    return plan


def _emit_entry(module, program, kernels, step_ids, offsets, name, linkage=None) -> ir.Function:
    fn = ir.Function(module, ENTRY_TYPE, name)
    if linkage:
        fn.linkage = linkage
    engine.set_function_attributes(fn, nocapture=True)
    ins, outs, ws = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    cache: dict = {}

    def ptr(buf_id):
        if buf_id not in cache:
            buf = program.buffer(buf_id)
            if buf.kind == "tmp":
                cache[buf_id] = b.gep(
                    ws, [ir.Constant(I64, offsets.get(buf_id, 0))], source_etype=ir.IntType(8)
                )
            else:
                table = ins if buf.kind == "in" else outs
                slot = b.gep(table, [ir.Constant(I64, buf.index)], source_etype=PTR)
                cache[buf_id] = b.load(slot, typ=PTR)
        return cache[buf_id]

    for i in step_ids:
        kfn, bufs = kernels[i]
        b.call(kfn, [ptr(x) for x in bufs])
    b.ret_void()
    return fn


# ---- loop kernels --------------------------------------------------------------------------------


def _strided_nodes(k: K.LoopKernel):
    return [n for n in k.body if isinstance(n, (K.Load, K.Iota))]


def merge_dims(shape, stride_sets, keep_apart=()):
    """Drop size-1 dims and merge neighbours that every stride set walks contiguously.

    ``keep_apart``: per-dim labels; dims with different labels are never merged. Returns
    (new shape, new stride sets, new labels)."""
    dims = [d for d in range(len(shape)) if shape[d] != 1]
    labels = list(keep_apart) or [0] * len(shape)
    groups: list = []
    for d in dims:
        if groups:
            p = groups[-1][-1]
            if labels[p] == labels[d] and all(s[p] == s[d] * shape[d] for s in stride_sets):
                groups[-1].append(d)
                continue
        groups.append([d])
    new_shape = tuple(int(np.prod([shape[d] for d in g], dtype=np.int64)) for g in groups)
    new_sets = [tuple(s[g[-1]] for g in groups) for s in stride_sets]
    return new_shape, new_sets, tuple(labels[g[0]] for g in groups)


class _KernelCtx:
    """Emission state of one loop kernel: buffer pointers by id, scalar emitter."""

    def __init__(self, b, program, ptrs):
        self.b, self.program, self.ptrs = b, program, ptrs
        self.sc = Emitter(b)

    def linear(self, idx, strides, offset):
        acc = ir.Constant(I64, offset)
        for i, s in zip(idx, strides):
            if s:
                acc = self.b.add(acc, self.b.mul(i, ir.Constant(I64, s)))
        return acc

    def load(self, buf_id, index, dtype):
        st = storage_type(dtype)
        p = self.b.gep(self.ptrs[buf_id], [index], source_etype=st, inbounds=True)
        if scalar.is_complex(dtype):
            return self._complex_access(p, dtype)
        v = self.b.load(p, typ=st)
        v.align = np.dtype(dtype).itemsize
        return (
            self.b.icmp_unsigned("!=", v, ir.Constant(st, 0)) if np.dtype(dtype).kind == "b" else v
        )

    def store(self, buf_id, index, dtype, value):
        st = storage_type(dtype)
        if np.dtype(dtype).kind == "b":
            value = self.b.zext(value, st)
        p = self.b.gep(self.ptrs[buf_id], [index], source_etype=st, inbounds=True)
        if scalar.is_complex(dtype):
            return self._complex_access(p, dtype, value)
        self.b.store(value, p).align = np.dtype(dtype).itemsize

    def _complex_access(self, p, dtype, value=None):
        """Load (value None) or store a complex element part by part: scalar accesses the
        loop vectoriser turns into interleaved vector loads and stores."""
        st, b = storage_type(dtype), self.b
        part_size = np.dtype(dtype).itemsize // 2
        out = value if value is not None else ir.Constant(st, ir.Undefined)
        for i in range(2):
            q = b.gep(p, [ir.Constant(I32, 0), ir.Constant(I32, i)], source_etype=st, inbounds=True)
            if value is None:
                v = b.load(q, typ=st.elements[i])
                v.align = part_size
                out = b.insert_value(out, v, i)
            else:
                b.store(b.extract_value(value, i), q).align = part_size
        return out if value is None else None

    def body(self, k: K.LoopKernel, idx, views) -> list:
        """Emit the SSA body at loop indices ``idx`` (views: merged strides per strided node)."""
        vals: list = []
        for i, n in enumerate(k.body):
            if isinstance(n, K.Load):
                vals.append(self.load(n.buf, self.linear(idx, views[i], n.view.offset), n.dtype))
            elif isinstance(n, K.Iota):
                vals.append(self._iota(n, self.linear(idx, views[i], n.view.offset)))
            elif isinstance(n, K.Const):
                vals.append(self.sc.const(n.dtype, n.value))
            else:
                dts = [k.body[a].dtype for a in n.args]
                vals.append(emit(self.b, n.prim, [vals[a] for a in n.args], dts, n.dtype, n.params))
        return vals

    def _iota(self, n: K.Iota, lin):
        st = K.contiguous_strides(n.shape)[n.dimension]
        q = self.b.sdiv(lin, ir.Constant(I64, st)) if st != 1 else lin
        r = self.b.srem(q, ir.Constant(I64, n.shape[n.dimension]))
        return convert(self.b, r, np.int64, n.dtype)


def _kernel_fn(module, name, nbufs):
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR] * nbufs), name)
    fn.linkage = "internal"
    engine.set_function_attributes(fn, noalias=True, nocapture=True, inline=KERNEL_INLINE)
    return fn


def _buffers_of(k: K.LoopKernel) -> list:
    reads, writes = _step_buffers(k)
    return sorted(reads | writes)


def _emit_loop_kernel(module, program, k: K.LoopKernel, name, num_threads):
    bufs = _buffers_of(k)
    if k.reduce is None:
        fn = _emit_elementwise(module, program, k, name, bufs, num_threads)
    else:
        fn = _emit_reduction(module, program, k, name, bufs, num_threads)
    return fn, bufs


def _views(k: K.LoopKernel, extra):
    """Stride sets: one per strided node (by body index), then the extra ones."""
    idx = [i for i, n in enumerate(k.body) if isinstance(n, (K.Load, K.Iota))]
    sets = [k.body[i].view.strides for i in idx] + list(extra)
    return idx, sets


# Software prefetch of the input streams of big elementwise loops. Measured on the 2-core
# AVX-512 VM: the hardware prefetchers do not keep up with a loop that spends ~30 cycles of
# math on each 64-byte line (jitted exp(x)+exp(x*0.5), 10M float32: 1.1-1.6 ns/element with
# the inputs in DRAM, 0.54 with a prefetch 2 KiB ahead; 2 KiB-16 KiB ahead all equal, 512 B
# too close). The innermost loop is strip-mined into blocks of PREFETCH_BLOCK bytes of its
# widest input; each block first prefetches the lines PREFETCH_AHEAD bytes past it, then runs
# the vectorised loop over the block. Blocks of 256-512 B measured best (1 KiB: 5% slower,
# 4 KiB: 25% slower: bursts of prefetches). Prefetching outputs (prefetchw): no gain.
PREFETCH_MIN_ELEMENTS = 1 << 16  # smaller kernels' inputs are usually in L1/L2 already
PREFETCH_BLOCK = 512  # bytes of the widest input per strip
PREFETCH_AHEAD = 4096  # bytes
CACHE_LINE = 64


def _prefetch_streams(k: K.LoopKernel, views, shape) -> tuple[list, int]:
    """(body indices of the loads worth prefetching, strip length in elements). The loads
    are those contiguous along the innermost loop, one per distinct (buffer, view); none when
    the loop is small or its innermost dim shorter than a few strips."""
    size = int(np.prod(shape, dtype=np.int64)) if shape else 0
    if size < PREFETCH_MIN_ELEMENTS:
        return [], 0
    seen, streams = set(), []
    for i, n in enumerate(k.body):
        key = isinstance(n, K.Load) and (n.buf, views[i], n.view.offset)
        if key and views[i][-1] == 1 and key not in seen:
            seen.add(key)
            streams.append(i)
    widest = max((np.dtype(k.body[i].dtype).itemsize for i in streams), default=1)
    block = max(PREFETCH_BLOCK // widest, 16)
    return (streams, block) if streams and shape[-1] >= 4 * block else ([], 0)


def _emit_prefetches(ctx, k, views, streams, block, outer_idx, start) -> None:
    """Prefetch (read, to L1) every line of the strip of ``block`` elements that starts
    PREFETCH_AHEAD bytes after inner index ``start``, for each stream. A prefetch never
    faults, so reaching past the end of a buffer is harmless (the address is computed without
    ``inbounds``)."""
    b = ctx.b
    fn = b.module.globals.get("llvm.prefetch.p0") or ir.Function(
        b.module, ir.FunctionType(ir.VoidType(), [PTR, I32, I32, I32]), "llvm.prefetch.p0"
    )
    for i in streams:
        n = k.body[i]
        st, size = storage_type(n.dtype), np.dtype(n.dtype).itemsize
        ahead = PREFETCH_AHEAD // size
        for j in range(0, block, max(CACHE_LINE // size, 1)):
            at = b.add(start, ir.Constant(I64, ahead + j))
            p = b.gep(
                ctx.ptrs[n.buf],
                [ctx.linear(list(outer_idx) + [at], views[i], n.view.offset)],
                source_etype=st,
            )
            b.call(fn, [p, ir.Constant(I32, 0), ir.Constant(I32, 3), ir.Constant(I32, 1)])


def _emit_elementwise(module, program, k, name, bufs, num_threads):
    idx_nodes, sets = _views(k, [K.contiguous_strides(k.shape)])
    shape, new_sets, _ = merge_dims(k.shape, sets)
    views = dict(zip(idx_nodes, new_sets))
    out_strides = new_sets[-1]
    size = int(np.prod(k.shape, dtype=np.int64))
    threaded = num_threads > 1 and size >= PARALLEL_MIN_ELEMENTS and shape and shape[0] > 1
    streams, block = _prefetch_streams(k, views, shape)

    def emit_loops(b, ptrs, lo=None, hi=None):
        ctx = _KernelCtx(b, program, ptrs)
        pf = streams and (
            lambda outer, start: _emit_prefetches(ctx, k, views, streams, block, outer, start)
        )
        with _nest(b, shape, lo, hi, prefetch=pf or None, strip=block) as idx:
            vals = ctx.body(k, idx, views)
            lin = ctx.linear(idx, out_strides, 0)
            for buf, v in k.stores:
                ctx.store(buf, lin, k.body[v].dtype, vals[v])

    return _kernel_with_optional_threads(
        module, name, bufs, emit_loops, threaded, shape, num_threads
    )


class _nest:
    """Loop nest over ``shape`` with the outermost loop optionally limited to [lo, hi).

    ``prefetch(outer_idx, start)``: strip-mine the innermost loop into blocks of ``strip``
    iterations and call it at the top of each block (it emits the prefetches)."""

    def __init__(
        self, b, shape, lo=None, hi=None, vec=None, interleave=None, prefetch=None, strip=0
    ):
        self.b, self.shape, self.lo, self.hi, self.vec = b, shape, lo, hi, vec
        self.interleave = interleave  # for the innermost loop
        self.prefetch, self.strip = prefetch, strip
        # small loops: no unrolling (code size and compile time; they are not hot)
        self.unroll = None if int(np.prod(shape, dtype=np.int64)) >= UNROLL_MIN_ELEMENTS else False
        self.cms = []

    def __enter__(self):
        idx = []
        for d, n in enumerate(self.shape):
            inner = d == len(self.shape) - 1
            il = self.interleave if inner else None
            start, stop = (self.lo, self.hi) if d == 0 and self.lo is not None else (0, n)
            if inner and self.prefetch is not None:
                start, stop = self._strip(idx, start, stop)
            cm = for_range(
                self.b,
                start,
                stop,
                vectorize=self.vec if inner else None,
                name=f"i{d}",
                unroll=self.unroll,
                interleave=il,
            )
            self.cms.append(cm)
            idx.append(cm.__enter__())
        return idx

    def _strip(self, outer_idx, start, stop):
        """Enter the loop over blocks; prefetch; return the bounds of the block's loop."""
        b = self.b
        stop = stop if isinstance(stop, ir.Value) else ir.Constant(I64, stop)
        cm = for_range(b, start, stop, self.strip, name="blk")
        self.cms.append(cm)
        blk = cm.__enter__()
        self.prefetch(outer_idx, blk)
        end = b.add(blk, ir.Constant(I64, self.strip))
        return blk, b.select(b.icmp_signed("<", end, stop), end, stop)

    def __exit__(self, *exc):
        for cm in reversed(self.cms):
            cm.__exit__(*exc)
        return False


def _kernel_with_optional_threads(module, name, bufs, emit_loops, threaded, shape, nthreads):
    fn = _kernel_fn(module, name, len(bufs))
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    if not threaded:
        emit_loops(b, dict(zip(bufs, fn.args)))
        b.ret_void()
        return fn
    # worker(ctx, start, end) over the outermost dim; ctx = array of buffer pointers
    worker = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR, I64, I64]), name + ".w")
    worker.linkage = "internal"
    engine.set_function_attributes(worker)
    wb = ir.IRBuilder(worker.append_basic_block("entry"))
    ctx, lo, hi = worker.args
    ptrs = {}
    for i, buf in enumerate(bufs):
        ptrs[buf] = wb.load(wb.gep(ctx, [ir.Constant(I64, i)], source_etype=PTR), typ=PTR)
    emit_loops(wb, ptrs, lo, hi)
    wb.ret_void()
    pfor = parallel.emit_parallel_for(module, worker, name + ".pfor")
    arr = b.alloca(PTR, ir.Constant(I64, len(bufs)))
    for i, a in enumerate(fn.args):
        b.store(a, b.gep(arr, [ir.Constant(I64, i)], source_etype=PTR))
    inner = int(np.prod(shape[1:], dtype=np.int64))
    min_chunk = max(1, PARALLEL_MIN_ELEMENTS // 4 // max(inner, 1))
    b.call(
        pfor,
        [arr, ir.Constant(I64, shape[0]), ir.Constant(I64, min_chunk), ir.Constant(I32, nthreads)],
    )
    b.ret_void()
    return fn


# ---- reductions ----------------------------------------------------------------------------------

_RED_OPS = {"sum": ("fadd", "add"), "prod": ("fmul", "mul")}


def _combine(sc: Emitter, op, acc, v, dtype):
    dt = np.dtype(dtype)
    b = sc.b
    if dt.kind == "c":  # sum or product (the fusion pass refuses complex max/min)
        return emit(b, {"sum": "add", "prod": "mul"}[op], [acc, v], [dt, dt], dt)
    if op in _RED_OPS:
        if dt.kind == "f":
            return getattr(b, _RED_OPS[op][0])(acc, v, flags=("reassoc", "contract"))
        if dt.kind == "b":
            return b.or_(acc, v) if op == "sum" else b.and_(acc, v)
        return getattr(b, _RED_OPS[op][1])(acc, v)
    if op in ("and", "or"):
        return b.and_(acc, v) if op == "and" else b.or_(acc, v)
    return emit(b, op, [acc, v], [dt, dt], dt)


def _emit_reduction(module, program, k: K.LoopKernel, name, bufs, num_threads=1):
    r = k.reduce
    out_buf = program.buffer(r.out)
    odt = out_buf.dtype
    kept = [d for d in range(len(k.shape)) if d not in r.axes]
    kept_strides = K.contiguous_strides(tuple(k.shape[d] for d in kept))
    ostr = [0] * len(k.shape)
    for d, s in zip(kept, kept_strides):
        ostr[d] = s
    labels = [1 if d in r.axes else 0 for d in range(len(k.shape))]
    idx_nodes, sets = _views(k, [tuple(ostr)])
    shape, new_sets, labels = merge_dims(k.shape, sets, labels)
    views = dict(zip(idx_nodes, new_sets))
    out_strides = new_sets[-1]
    ident = K.reduce_identity(r.op, odt)
    nred = sum(labels)
    if nred and all(labels[-nred:]) and len(shape) > nred:
        # reduced dims innermost: accumulate in a register; rows split over threads
        outer = shape[: len(shape) - nred]
        size = int(np.prod(k.shape, dtype=np.int64))
        threaded = num_threads > 1 and size >= PARALLEL_MIN_ELEMENTS and outer[0] > 1

        def emit_rows(b, ptrs, lo=None, hi=None):
            ctx = _KernelCtx(b, program, ptrs)
            with _nest(b, outer, lo, hi) as oidx:
                _emit_row_reduce(
                    ctx, k, oidx, shape[len(outer) :], views, out_strides[: len(outer)]
                )

        return _kernel_with_optional_threads(
            module, name, bufs, emit_rows, threaded, shape, num_threads
        )
    fn = _kernel_fn(module, name, len(bufs))
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    ctx = _KernelCtx(b, program, dict(zip(bufs, fn.args)))
    if nred and all(labels[-nred:]):  # a full reduction to a scalar
        adt = _acc_dtype(r.op, odt)
        acc = b.alloca(ir_type(adt))
        b.store(ctx.sc.const(adt, ident), acc)
        with _nest(b, shape) as ridx:
            v = _reduced_value(ctx, k, list(ridx), views, adt)
            b.store(_combine(ctx.sc, r.op, b.load(acc), v, adt), acc)
        ctx.store(r.out, ctx.linear([], (), 0), odt, convert(b, b.load(acc), adt, odt))
    elif _acc_dtype(r.op, odt) != odt and out_buf.size * 8 <= _WIDE_SCRATCH:
        _emit_outer_sum_wide(ctx, k, shape, views, out_strides, out_buf.size)
    else:  # initialise the output, then accumulate into it in the input's order
        with for_range(b, max(out_buf.size, 0), name="init") as i:
            ctx.store(r.out, i, odt, ctx.sc.const(odt, ident))
        with _nest(b, shape) as idx:
            v = _reduced_value(ctx, k, idx, views, odt)
            o = ctx.linear(idx, out_strides, 0)
            ctx.store(r.out, o, odt, _combine(ctx.sc, r.op, ctx.load(r.out, o, odt), v, odt))
    b.ret_void()
    return fn


_WIDE_SCRATCH = 1 << 18  # bytes of double accumulators an outer-axis sum may keep on the stack


def _emit_outer_sum_wide(ctx, k, shape, views, out_strides, n_out):
    """A float32/16 sum over outer axes, accumulated in double on the stack (as the eager
    impl), then rounded once into the output."""
    b, r = ctx.b, k.reduce
    odt, adt = ctx.program.buffer(r.out).dtype, np.dtype(np.float64)
    scratch = b.alloca(ir.ArrayType(ir_type(adt), n_out))
    at = lambda i: b.gep(scratch, [ir.Constant(I64, 0), i], inbounds=True)
    with for_range(b, n_out, name="init") as i:
        b.store(ctx.sc.const(adt, 0), at(i))
    with _nest(b, shape) as idx:
        v = _reduced_value(ctx, k, idx, views, adt)
        slot = at(ctx.linear(idx, out_strides, 0))
        b.store(_combine(ctx.sc, r.op, b.load(slot), v, adt), slot)
    with for_range(b, n_out, name="round") as i:
        ctx.store(r.out, i, odt, convert(b, b.load(at(i)), adt, odt))


def _acc_dtype(op, odt):
    """float32/16 sums accumulate in double (rounded once at the end), as the eager impl: a
    long row's sum is then as accurate as XLA's tree-shaped reductions."""
    return np.dtype(np.float64) if op == "sum" and odt in (np.float32, np.float16) else odt


def _reduced_value(ctx, k, idx, views, odt):
    vals = ctx.body(k, idx, views)
    src = k.body[k.reduce.value].dtype
    return convert(ctx.b, vals[k.reduce.value], src, odt)


def _emit_row_reduce(ctx, k: K.LoopKernel, oidx, inner, views, out_row_strides):
    """One row of a reduction over its innermost dims: accumulate in a register over the
    ``inner`` loop nest, store at ``out_row_strides``. The fused row groups emit exactly this
    code too, so their sums add in the same order (bit-identical results)."""
    b, r = ctx.b, k.reduce
    odt = ctx.program.buffer(r.out).dtype
    adt = _acc_dtype(r.op, odt)
    acc = b.alloca(ir_type(adt))
    b.store(ctx.sc.const(adt, K.reduce_identity(r.op, odt)), acc)
    # float max/min chains have no reassociation flag: ask for 4 accumulators
    il = 4 if r.op in ("max", "min") and odt.kind == "f" else None
    with _nest(b, inner, interleave=il) as ridx:
        v = _reduced_value(ctx, k, list(oidx) + list(ridx), views, adt)
        b.store(_combine(ctx.sc, r.op, b.load(acc), v, adt), acc)
    out = convert(b, b.load(acc), adt, odt)
    ctx.store(r.out, ctx.linear(oidx, out_row_strides, 0), odt, out)


# ---- row fusion (the grouping: rows.py) ----------------------------------------------

ROW_FUSION = True  # tests turn it off to compare with the unfused program


def fuse_rows(program: K.Program) -> K.Program:
    """``program`` with its row groups in place of their first member (``group_rows``)."""
    return group_rows(program) if ROW_FUSION else program


def _emit_row_group(module, program, g: RowGroup, name, num_threads):
    """One kernel: the outer loop over the (merged) rows runs each member's part of the row."""
    reads, writes = g.buffers()
    bufs = sorted(reads | writes)
    rows, plans = _row_group_plan(g)
    size = int(np.prod(g.shape, dtype=np.int64))
    threaded = num_threads > 1 and size >= PARALLEL_MIN_ELEMENTS and rows[0] > 1

    def emit_rows(b, ptrs, lo=None, hi=None):
        ctx = _KernelCtx(b, program, ptrs)
        with _nest(b, rows, lo, hi) as oidx:
            for k, (inner, views, out) in zip(g.kernels, plans):
                _emit_row_member(ctx, k, list(oidx), inner, views, out)

    elems = int(np.prod(g.shape[g.split :], dtype=np.int64))
    fn = _kernel_with_optional_threads(
        module, name, bufs, emit_rows, threaded, tuple(rows) + (elems,), num_threads
    )
    return fn, bufs


def _row_group_plan(g: RowGroup):
    """(merged rows, per member (merged inner dims, strides per strided node, output strides)).
    The rows merge where every member's views allow it; each member's row-element dims merge
    as they would in its own kernel."""
    shape, split = g.shape, g.split
    per = []  # per member: (strided node indices, full strides of nodes + output)
    for k in g.kernels:
        idx, sets = _views(k, [])
        out = (
            row_out_strides(shape, split)
            if k.reduce is not None or k.shape != shape
            else K.contiguous_strides(shape)
        )
        per.append((idx, [to_full(k, s, shape, split) for s in sets] + [out]))
    flat = [s[:split] for _, sets in per for s in sets]
    rows, row_sets, _ = merge_dims(shape[:split], flat)
    plans, at = [], 0
    for k, (idx, sets) in zip(g.kernels, per):
        mine, at = row_sets[at : at + len(sets)], at + len(sets)
        if k.shape == shape:
            inner, inner_sets, _ = merge_dims(shape[split:], [s[split:] for s in sets])
        else:
            inner, inner_sets = (), [()] * len(sets)
        full = [tuple(o) + tuple(i) for o, i in zip(mine, inner_sets)]
        plans.append((inner, dict(zip(idx, full[:-1])), full[-1]))
    return rows, plans


def _emit_row_member(ctx, k: K.LoopKernel, oidx, inner, views, out):
    if k.reduce is not None:
        _emit_row_reduce(ctx, k, oidx, inner, views, out[: len(oidx)])
        return
    with _nest(ctx.b, inner) as ridx:
        idx = oidx + list(ridx)
        vals = ctx.body(k, idx, views)
        lin = ctx.linear(idx, out, 0)
        for buf, v in k.stores:
            ctx.store(buf, lin, k.body[v].dtype, vals[v])


# ---- dot -----------------------------------------------------------------------------------------


def _emit_dot(module, program, d: K.Dot, name):
    bufs = sorted({d.lhs, d.rhs, d.out})
    fn = _kernel_fn(module, name, len(bufs))
    ptrs = dict(zip(bufs, fn.args))
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    dtype = program.buffer(d.out).dtype
    gemm = blas.declare_gemm(module, dtype)
    it = gemm.function_type.args[3]
    bn, m, n, kk = d.bmnk
    la = K.gemm_layout(m, kk, d.lhs_view.strides[1], d.lhs_view.strides[2])
    lb = K.gemm_layout(kk, n, d.rhs_view.strides[1], d.rhs_view.strides[2])
    fty = ir_type(dtype)
    sz = dtype.itemsize
    c = lambda v: ir.Constant(it, v)
    with for_range(b, bn, name="batch") as bi:

        def at(buf, off, bstride):
            e = b.add(ir.Constant(I64, off), b.mul(bi, ir.Constant(I64, bstride)))
            return b.gep(ptrs[buf], [b.mul(e, ir.Constant(I64, sz))], source_etype=ir.IntType(8))

        pa = at(d.lhs, d.lhs_view.offset, d.lhs_view.strides[0])
        pb = at(d.rhs, d.rhs_view.offset, d.rhs_view.strides[0])
        pc = at(d.out, 0, m * n)
        b.call(
            gemm,
            [
                ir.Constant(I32, blas.ROW_MAJOR),
                ir.Constant(I32, blas.TRANS if la[0] else blas.NO_TRANS),
                ir.Constant(I32, blas.TRANS if lb[0] else blas.NO_TRANS),
                c(m),
                c(n),
                c(kk),
                ir.Constant(fty, 1.0),
                pa,
                c(la[1]),
                pb,
                c(lb[1]),
                ir.Constant(fty, 0.0),
                pc,
                c(max(n, 1)),
            ],
        )
    b.ret_void()
    return fn, bufs
