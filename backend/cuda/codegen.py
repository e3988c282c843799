"""kernel_ir ``Program`` -> one NVPTX LLVM module: one ``.entry`` kernel per step.

- ``LoopKernel`` without a reduction: a grid-stride loop over the flattened iteration space;
  each load's address is ``offset + sum(index[d] * strides[d])`` (a contiguous view reads at
  the flat index directly); the body goes through the shared scalar rule table
  (``backend/llvm/scalar.py``, VMATH for transcendental functions).
- ``LoopKernel`` with a reduction: one block per output element (threads stride over the
  reduced elements, then warp shuffles and shared memory), or one thread per output element when
  the reduced extent is small or the kept innermost dimension makes that the coalesced choice.
- ``Dot``: a 64x64x16 shared-memory tiled matmul (4x4 outputs per thread) for float32/64 and
  ints, and for large float32 products a 128x128x8 one (8x8 outputs per thread, float4
  fragment loads); ``mma.sync.m16n8k16`` tensor cores (float32 accumulation) for float16, and for
  the float32 dots of bfloat16 values that the bfloat16 legalisation marks (``Dot.bf16``): operands
  staged in shared memory as 16-bit values, 64x64 or 128x128 block tiles. The dot kernels are
  in ``dot.py``; the choice of tiling (``tiled_config``, ``mma_config``) is made here.
- ``OpKernel``: hand-written kernels of ``ops/`` (one or more launches per step).
- ``Fallback``: not runnable on the GPU: ``CudaUnsupportedError`` names the primitive.

Shapes are static, so sizes and strides are constants in the code; every kernel takes only the
pointers of the buffers it touches (``Launch.buffers``). See docs/gpu.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.llvm import scalar as S
from funcgrad.backend.llvm.builders import for_range, local
from llvmlite import ir

from . import ops, ptx
from .ptx import i32, i64

BLOCK = 256  # threads per block of elementwise and reduction kernels
MAX_BLOCKS = 8192  # grid-stride loops cover the rest
F16 = np.dtype("float16")


class CudaUnsupportedError(NotImplementedError):
    """A program step the CUDA backend cannot run (it never falls back to the CPU)."""


@dataclass(frozen=True)
class Launch:
    """How to launch one kernel: its name, the buffer ids passed as its pointer arguments, and
    the launch shape (``grid`` with a 0 means: nothing to do, skip the launch)."""

    name: str
    step: int
    kind: str  # "elementwise" | "reduce_block" | "reduce_thread" | "dot_tiled" | "dot_mma"
    buffers: tuple
    grid: tuple
    block: tuple

    @property
    def signature(self) -> tuple:
        return ("ptr",) * len(self.buffers)


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _prod(xs) -> int:
    return int(np.prod(xs, dtype=np.int64))


# ---- what the fusion pass may hand us ------------------------------------------------------------


def dtype_ok(dtype) -> bool:
    """Dtypes of op kernels, dots and loops. Loop kernels also take complex64/128 (the fusion
    pass reads that from ``S.can_emit``); complex ``dot_general`` is refused (a Fallback,
    hence ``CudaUnsupportedError``)."""
    return S.dtype_ok(dtype)


def can_dot(dtype) -> bool:
    return S.dtype_ok(dtype) and np.dtype(dtype).kind in "iuf"


def check_supported(program: K.Program) -> None:
    """Raise ``CudaUnsupportedError`` for the first step that cannot run on the GPU."""
    for i, step in enumerate(program.steps):
        if isinstance(step, K.Fallback):
            prim = step.eqn.primitive.name
            raise CudaUnsupportedError(
                f"the CUDA backend cannot compile primitive '{prim}' (step {i} of program "
                f"{program.name!r}: {step.reason}). funcgrad never runs part of a CUDA program "
                f"on the CPU; use jit(f, backend='cpu') for this function, or compute '{prim}' "
                f"outside the CUDA-jitted function."
            )


# ---- the program ---------------------------------------------------------------------------------


def kernel_name(program: K.Program, step: int) -> str:
    return re.sub(r"\W", "_", f"fg_{program.name}_{step}")


def emit_program(
    program: K.Program, module: ir.Module | None = None, arch: str = ptx.DEFAULT_ARCH
) -> tuple[ir.Module, list[Launch]]:
    """Add one kernel per step of ``program`` to ``module`` (a new one by default)."""
    check_supported(program)
    module = module if module is not None else ptx.new_kernel_module(program.name, arch)
    launches = []
    for i, step in enumerate(program.steps):
        if isinstance(step, K.OpKernel):
            launches += ops.emit(module, program, step, i)
        else:
            launches.append(EMIT_STEP[type(step)](module, program, step, i))
    return module, launches


def new_kernel(module, program, step_index, buf_ids, written):
    name = kernel_name(program, step_index)
    fn, b = ptx.new_kernel(module, name, [ptx.ptr] * len(buf_ids), [f"b{i}" for i in buf_ids])
    for arg in fn.args:
        arg.add_attribute("noalias")  # buffers of a program never alias
    return name, b, _Pointers(zip(buf_ids, fn.args), readonly=set(buf_ids) - set(written))


class _Pointers(dict):
    """buffer id -> kernel argument; ``readonly``: the buffers this kernel never writes."""

    def __init__(self, items, readonly):
        super().__init__(items)
        self.readonly = frozenset(readonly)


def _index_type(*sizes) -> ir.IntType:
    """i32 index arithmetic when every offset fits (cheaper division by constants), else i64."""
    return i32 if max(sizes, default=0) < 2**31 else i64


# ---- index arithmetic ----------------------------------------------------------------------------


class _Index:
    """One iteration point: flat indices over groups of dimensions (an elementwise kernel has
    one group; a reduction has the kept and the reduced dimensions); per-dimension indices
    are computed only when a view needs them."""

    def __init__(self, b: ir.IRBuilder, shape, groups, ity):
        self.b, self.shape, self.ity = b, tuple(shape), ity
        self.groups = [
            (b.trunc(f, ity) if f.type.width > ity.width else f, tuple(dims)) for f, dims in groups
        ]
        self._dims: dict = {}

    def dim(self, d: int) -> ir.Value:
        if d not in self._dims:
            flat, dims = next(g for g in self.groups if d in g[1])
            pos = dims.index(d)
            inner = _prod([self.shape[e] for e in dims[pos + 1 :]])
            v = self.b.udiv(flat, self.ity(inner)) if inner > 1 else flat
            if any(self.shape[e] != 1 for e in dims[:pos]):
                v = self.b.urem(v, self.ity(self.shape[d]))
            self._dims[d] = v
        return self._dims[d]

    def offset(self, view: K.View) -> ir.Value:
        b, total = self.b, self.ity(view.offset)
        for flat, dims in self.groups:
            scale = K.row_major_stride(self.shape, dims, view.strides)
            if scale is not None:
                terms = [(flat, scale)] if scale else []
            else:
                terms = [
                    (self.dim(d), view.strides[d])
                    for d in dims
                    if view.strides[d] and self.shape[d] != 1
                ]
            for v, stride in terms:
                total = b.add(total, v if stride == 1 else b.mul(v, self.ity(stride)))
        return total

    def flat(self) -> ir.Value:
        """Row-major position of the point in the whole iteration shape."""
        return self.offset(K.View(K.contiguous_strides(self.shape), 0))


def elem_ptr(b, base, index, dtype):
    return b.gep(base, [index], inbounds=True, source_etype=S.storage_type(dtype))


def store_elem(b, ptrs, buf_dtype, buf, index, value):
    b.store(S.to_memory(b, value, buf_dtype), elem_ptr(b, ptrs[buf], index, buf_dtype))


# ---- loop bodies --------------------------------------------------------------------------------


def _emit_load(b, n: K.Load, idx, ptrs, body, vals):
    ptr = elem_ptr(b, ptrs[n.buf], idx.offset(n.view), n.dtype)
    value = b.load(ptr, typ=S.storage_type(n.dtype))
    if n.buf in ptrs.readonly:  # lets NVPTX use the read-only data cache (ld.global.nc)
        value.set_metadata("invariant.load", b.module.add_metadata([]))
    return S.to_register(b, value, n.dtype)


def _emit_iota(b, n: K.Iota, idx, ptrs, body, vals):
    v = idx.offset(n.view)  # position in the virtual contiguous array of n.shape
    inner = _prod(n.shape[n.dimension + 1 :])
    v = b.udiv(v, v.type(inner)) if inner > 1 else v
    v = b.urem(v, v.type(n.shape[n.dimension])) if n.dimension > 0 else v
    return S.convert(b, v, np.int32 if v.type == i32 else np.int64, n.dtype)


def _emit_const(b, n: K.Const, idx, ptrs, body, vals):
    return S.const(n.dtype, n.value)


def _emit_op(b, n: K.Op, idx, ptrs, body, vals):
    return S.emit(
        b, n.prim, [vals[a] for a in n.args], [body[a].dtype for a in n.args], n.dtype, n.params
    )


EMIT_NODE = {K.Load: _emit_load, K.Iota: _emit_iota, K.Const: _emit_const, K.Op: _emit_op}


def emit_body(b: ir.IRBuilder, body, idx: _Index, ptrs) -> list:
    vals: list = []
    for n in body:
        vals.append(EMIT_NODE[type(n)](b, n, idx, ptrs, body, vals))
    return vals


def _kernel_buffers(program, k: K.LoopKernel):
    reads, written = K.step_buffers(k)
    ids = tuple(sorted(reads | written))
    return ids, written, _index_type(_prod(k.shape), *[program.buffer(i).size for i in ids])


def _store_all(b, program, k, ptrs, vals, flat):
    for buf, v in k.stores:
        store_elem(b, ptrs, program.buffer(buf).dtype, buf, flat, vals[v])


# ---- elementwise kernels ------------------------------------------------------------------------


def emit_loop(module, program: K.Program, k: K.LoopKernel, step: int) -> Launch:
    if k.reduce is not None:
        return emit_reduce(module, program, k, step)
    ids, written, ity = _kernel_buffers(program, k)
    name, b, ptrs = new_kernel(module, program, step, ids, written)
    n = _prod(k.shape)
    with ptx.emit_grid_stride_loop(b, i64(n)) as i:
        idx = _Index(b, k.shape, [(i, range(len(k.shape)))], ity)
        vals = emit_body(b, k.body, idx, ptrs)
        _store_all(b, program, k, ptrs, vals, idx.groups[0][0])
    b.ret_void()
    return Launch(name, step, "elementwise", ids, (min(cdiv(n, BLOCK), MAX_BLOCKS),), (BLOCK,))


# ---- reductions ---------------------------------------------------------------------------------

_COMBINE_PRIM = {"sum": "add", "prod": "mul", "max": "max", "min": "min", "and": "and", "or": "or"}


class _Reducer:
    """The accumulator of a reduction: float16 accumulates in float32, bool in int32 (0/1)."""

    def __init__(self, op: str, out_dtype: np.dtype):
        self.op, self.out_dtype = op, np.dtype(out_dtype)
        kind = self.out_dtype.kind
        self.acc = (
            np.dtype("float32")
            if self.out_dtype == F16
            else (np.dtype("int32") if kind == "b" else self.out_dtype)
        )
        self.prim = (
            {"max": "or", "min": "and"}.get(op, _COMBINE_PRIM[op])
            if kind == "b"
            else _COMBINE_PRIM[op]
        )
        self.identity = S.const(self.acc, K.reduce_identity(op, self.out_dtype))

    def combine(self, b, x, y):
        return S.emit(b, self.prim, [x, y], [self.acc] * 2, self.acc)

    def take(self, b, value, dtype):
        """A body value as an accumulator value (through the output dtype, like numpy)."""
        return S.convert(b, S.convert(b, value, dtype, self.out_dtype), self.out_dtype, self.acc)

    def result(self, b, acc):
        return S.convert(b, acc, self.acc, self.out_dtype)


def _shfl(b, value, lane_mask):
    """``shfl.sync.bfly`` of a value of any width (split or widened to i32 registers; a
    complex struct part by part)."""
    ty = value.type
    if isinstance(ty, ir.LiteralStructType):
        out = ir.Constant(ty, ir.Undefined)
        for i in range(len(ty.elements)):
            out = b.insert_value(out, _shfl(b, b.extract_value(value, i), lane_mask), i)
        return out
    width = (
        ty.width
        if isinstance(ty, ir.IntType)
        else {ir.HalfType: 16, ir.FloatType: 32, ir.DoubleType: 64}[type(ty)]
    )
    ity = ir.IntType(width)
    x = value if isinstance(ty, ir.IntType) else b.bitcast(value, ity)
    if width <= 32:
        y = ptx.shfl_bfly(b, b.zext(x, i32) if width < 32 else x, lane_mask)
        y = b.trunc(y, ity) if width < 32 else y
    else:
        lo = ptx.shfl_bfly(b, b.trunc(x, i32), lane_mask)
        hi = ptx.shfl_bfly(b, b.trunc(b.lshr(x, ity(32)), i32), lane_mask)
        y = b.or_(b.zext(lo, ity), b.shl(b.zext(hi, ity), ity(32)))
    return y if isinstance(ty, ir.IntType) else b.bitcast(y, ty)


def warp_reduce(b, value, combine):
    for mask in (16, 8, 4, 2, 1):
        value = combine(b, value, _shfl(b, value, mask))
    return value


def block_reduce(b, value, combine, identity):
    """``ptx.block_reduce`` for any accumulator type and combine function."""
    partials = ptx.shared_array(b.module, value.type, ptx.WARP_SIZE, "partials")
    lane, warp = ptx.lane_and_warp(b)
    value = warp_reduce(b, value, combine)
    with b.if_then(b.icmp_unsigned("==", lane, i32(0))):
        b.store(value, ptx.shared_ptr(b, partials, warp))
    ptx.barrier(b)
    in_range = b.icmp_unsigned("<", lane, b.lshr(ptx.block_dim(b), i32(5)))
    slot = ptx.shared_ptr(b, partials, b.select(in_range, lane, i32(0)))
    partial = b.select(in_range, b.load(slot, typ=value.type), identity)
    total = warp_reduce(b, partial, combine)
    ptx.barrier(b)
    return total


def _reduce_inner(b, program, k, ptrs, ity, red, o, start, step, n_red):
    """Accumulate the reduced elements ``start, start+step, ...`` of output ``o``."""
    axes = tuple(k.reduce.axes)
    kept = tuple(d for d in range(len(k.shape)) if d not in axes)
    acc = local(b, red.identity, S.ir_type(red.acc))
    with for_range(b, start, i64(n_red), step, name="r") as r:
        idx = _Index(b, k.shape, [(o, kept), (r, axes)], ity)
        vals = emit_body(b, k.body, idx, ptrs)
        value = red.take(b, vals[k.reduce.value], k.body[k.reduce.value].dtype)
        b.store(red.combine(b, b.load(acc, typ=value.type), value), acc)
        if k.stores:
            _store_all(b, program, k, ptrs, vals, idx.flat())
    return b.load(acc, typ=S.ir_type(red.acc))


def emit_reduce(module, program: K.Program, k: K.LoopKernel, step: int) -> Launch:
    ids, written, ity = _kernel_buffers(program, k)
    name, b, ptrs = new_kernel(module, program, step, ids, written)
    r = k.reduce
    out_dtype = program.buffer(r.out).dtype
    red = _Reducer(r.op, out_dtype)
    n_out = _prod([s for d, s in enumerate(k.shape) if d not in r.axes])
    n_red = _prod([k.shape[d] for d in r.axes])
    inner_kept = bool(k.shape) and (len(k.shape) - 1) not in r.axes and k.shape[-1] > 1
    per_thread = n_red <= 32 or (inner_kept and n_out >= 4096)
    if per_thread:  # thread per output: neighbouring threads read neighbouring elements
        with ptx.emit_grid_stride_loop(b, i64(n_out)) as o:
            acc = _reduce_inner(b, program, k, ptrs, ity, red, o, i64(0), i64(1), n_red)
            store_elem(b, ptrs, out_dtype, r.out, o, red.result(b, acc))
        grid, block, kind = (min(cdiv(n_out, BLOCK), MAX_BLOCKS),), (BLOCK,), "reduce_thread"
    else:  # block per output: threads stride over the reduced elements
        tid, ntid = b.zext(ptx.thread_idx(b), i64), b.zext(ptx.block_dim(b), i64)
        first, every = b.zext(ptx.block_idx(b), i64), b.zext(ptx.grid_dim(b), i64)
        with for_range(b, first, i64(n_out), every, name="o") as o:
            acc = _reduce_inner(b, program, k, ptrs, ity, red, o, tid, ntid, n_red)
            total = block_reduce(b, acc, red.combine, red.identity)
            with b.if_then(b.icmp_unsigned("==", tid, i64(0))):
                store_elem(b, ptrs, out_dtype, r.out, o, red.result(b, total))
        threads = min(BLOCK, 32 * cdiv(n_red, 32))
        grid, block, kind = (min(n_out, 65535 * 16),), (threads,), "reduce_block"
    b.ret_void()
    return Launch(name, step, kind, ids, grid if n_out else (0,), block)


# ---- dot: the kernels are in dot.py; the choice of tiling is made here -------------------------


@dataclass(frozen=True)
class Tiling:
    """A shared-memory tiled matmul on 16x16 threads: ``tile`` x ``tile`` outputs per block, K
    staged ``k`` at a time as k-major tiles with rows of ``pitch`` elements, ``per`` x ``per``
    outputs per thread. ``vector``: a thread's outputs are runs of 4 (rows ``4ty + {0..3}``,
    then ``64 + 4ty + {0..3}``; columns likewise), read from the tiles as ``ld.shared.v4``;
    otherwise they are ``ty + 16i`` (columns ``tx + 16j``), read one by one."""

    tile: int
    k: int
    per: int
    pitch: int
    vector: bool

    def place(self, b, lane, i):
        """Offset within the block tile of a thread's ``i``-th output row (or column)."""
        if self.vector:
            return b.add(b.mul(lane, i64(4)), i64(i % 4 + 64 * (i // 4)))
        return b.add(lane, i64(16 * i))


TILED_SMALL = Tiling(64, 16, 4, 64, False)  # any dtype of a dot
# float32 with large outputs: twice the FMAs per shared-memory load; rows padded to 132 floats
# so that the transposing stores of a warp hit 32 banks (and rows stay 16-byte aligned)
TILED_LARGE = Tiling(128, 8, 8, 132, True)


def tiled_config(m: int, n: int, dtype) -> str:
    """``"large"`` (``TILED_LARGE``) for float32 once the output has at least 128 tiles of
    128x128 (a full wave of blocks on a big GPU), else ``"small"``."""
    big = cdiv(m, TILED_LARGE.tile) * cdiv(n, TILED_LARGE.tile) >= 128
    return "large" if big and np.dtype(dtype) == np.float32 else "small"


# (block tile M, block tile N, warps along M, warps along N); a warp computes a
# (BM / WM) x (BN / WN) tile as (BM / WM / 16) x (BN / WN / 8) mma tiles
MMA_SMALL = (64, 64, 2, 2)  # 128 threads, 32x32 per warp
MMA_LARGE = (128, 128, 2, 4)  # 256 threads, 64x32 per warp: twice the reuse per staged byte


def mma_config(m: int, n: int) -> tuple:
    """The block tile for an ``m x n`` output: the large one once it still gives a full wave
    of blocks on a big GPU (about 132 SMs)."""
    return MMA_LARGE if cdiv(m, 128) * cdiv(n, 128) >= 128 else MMA_SMALL


def emit_dot(module, program: K.Program, d: K.Dot, step: int) -> Launch:
    from . import dot

    dtype, (_, m, n, _) = program.buffer(d.lhs).dtype, d.bmnk
    if dtype == F16 or d.bf16:
        return dot.emit_dot_mma(module, program, d, step, mma_config(m, n))
    large = tiled_config(m, n, dtype) == "large"
    return dot.emit_dot_tiled(module, program, d, step, TILED_LARGE if large else TILED_SMALL)


EMIT_STEP = {K.LoopKernel: emit_loop, K.Dot: emit_dot}
