"""Reference CUDA kernels written with the ``backend/cuda/ptx.py`` helpers (test support); the
tests lower, assemble and (with a GPU) run them against numpy. They show the patterns the jit's
kernel lowering uses.

All arrays are row-major and contiguous; sizes are i64 kernel arguments.

================  ========================================  ======================================
kernel            arguments (launch signature)              launch
================  ========================================  ======================================
``axpb``          x, y, a:f32, b:f32, n:i64 (y = a*x + b)   any grid, 1-D block (grid-stride)
``row_sum``       x, out, rows:i64, cols:i64                grid=rows (or fewer), block=k*32
``matmul_tiled``  a, b, c, M, N, K (c = a @ b, f32)         grid=(cdiv(N,T), cdiv(M,T)), block=(T,T)
``matmul_mma_*``  a, b, c, M, N, K (f16/bf16 in, f32 out)   grid=(cdiv(N,8), cdiv(M,16)), block=32
================  ========================================  ======================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from funcgrad.backend.cuda import ptx
from funcgrad.backend.cuda.ptx import f32, i16, i32, i64
from funcgrad.backend.llvm.builders import for_range
from llvmlite import ir

TILE = 16


class ExampleKernel(NamedTuple):
    name: str
    build: Callable[[], ir.Module]
    signature: tuple
    min_arch: str = "sm_80"


def _elem_ptr(builder, base, index, elem_type=f32):
    return builder.gep(base, [index], inbounds=True, source_etype=elem_type)


def _load_or_zero(builder, base, index, pred, elem_type=f32):
    """``base[index] if pred else 0``, branch-free: the load reads ``base[0]`` when ``pred`` is
    false, so ``base`` must hold at least one element."""
    safe = builder.select(pred, index, ir.Constant(index.type, 0))
    value = builder.load(_elem_ptr(builder, base, safe, elem_type), typ=elem_type)
    return builder.select(pred, value, ir.Constant(elem_type, 0))


def _accumulator(builder, elem_type=f32, init=0.0):
    """A stack slot for a loop-carried value (O3's mem2reg turns it into a phi)."""
    with builder.goto_entry_block():
        slot = builder.alloca(elem_type)
    builder.store(ir.Constant(elem_type, init), slot)
    return slot


def _both(builder, *preds):
    out = preds[0]
    for p in preds[1:]:
        out = builder.and_(out, p)
    return out


# ---- (1) y = a*x + b, grid-stride ------------------------------------------------------------


def build_axpb() -> ir.Module:
    module = ptx.new_kernel_module("axpb")
    fn, b = ptx.new_kernel(
        module, "axpb", [ptx.ptr, ptx.ptr, f32, f32, i64], ["x", "y", "a", "b", "n"]
    )
    x, y, a, c, n = fn.args
    with ptx.emit_grid_stride_loop(b, n) as i:
        xi = b.load(_elem_ptr(b, x, i), typ=f32)
        b.store(b.fadd(b.fmul(a, xi), c), _elem_ptr(b, y, i))
    b.ret_void()
    return module


# ---- (2) row sums: one block per row, warp shuffles + shared memory --------------------------


def build_row_sum() -> ir.Module:
    module = ptx.new_kernel_module("row_sum")
    fn, b = ptx.new_kernel(
        module, "row_sum", [ptx.ptr, ptx.ptr, i64, i64], ["x", "out", "rows", "cols"]
    )
    x, out, rows, cols = fn.args
    tid = b.zext(ptx.thread_idx(b), i64)
    ntid = b.zext(ptx.block_dim(b), i64)
    rows_start, rows_step = b.zext(ptx.block_idx(b), i64), b.zext(ptx.grid_dim(b), i64)
    with for_range(b, rows_start, rows, rows_step, name="row") as row:
        acc = _accumulator(b)
        with for_range(b, tid, cols, ntid, name="col") as col:
            xv = b.load(_elem_ptr(b, x, b.add(b.mul(row, cols), col)), typ=f32)
            b.store(b.fadd(b.load(acc, typ=f32), xv), acc)
        total = ptx.block_reduce(b, b.load(acc, typ=f32), "add")
        with b.if_then(b.icmp_unsigned("==", tid, i64(0))):
            b.store(total, _elem_ptr(b, out, row))
    b.ret_void()
    return module


# ---- (3) tiled f32 matmul through shared memory ----------------------------------------------


def build_matmul_tiled(tile: int = TILE) -> ir.Module:
    module = ptx.new_kernel_module("matmul_tiled")
    fn, b = ptx.new_kernel(
        module, "matmul_tiled", [ptx.ptr] * 3 + [i64] * 3, ["a", "b", "c", "M", "N", "K"]
    )
    a, bm, c, M, N, K = fn.args
    T = i64(tile)
    tx, ty = b.zext(ptx.thread_idx(b, "x"), i64), b.zext(ptx.thread_idx(b, "y"), i64)
    row = b.add(b.mul(b.zext(ptx.block_idx(b, "y"), i64), T), ty, name="row")
    col = b.add(b.mul(b.zext(ptx.block_idx(b, "x"), i64), T), tx, name="col")
    a_tile = ptx.shared_array(module, f32, tile * tile, "a_tile")
    b_tile = ptx.shared_array(module, f32, tile * tile, "b_tile")
    my_slot = b.add(b.mul(ty, T), tx)
    acc = _accumulator(b)
    with for_range(b, i64(0), K, T, name="k0") as k0:
        ak, bk = b.add(k0, tx), b.add(k0, ty)
        a_in = _both(b, b.icmp_signed("<", row, M), b.icmp_signed("<", ak, K))
        b_in = _both(b, b.icmp_signed("<", bk, K), b.icmp_signed("<", col, N))
        a_val = _load_or_zero(b, a, b.add(b.mul(row, K), ak), a_in)
        b_val = _load_or_zero(b, bm, b.add(b.mul(bk, N), col), b_in)
        b.store(a_val, ptx.shared_ptr(b, a_tile, my_slot))
        b.store(b_val, ptx.shared_ptr(b, b_tile, my_slot))
        ptx.barrier(b)
        total = b.load(acc, typ=f32)
        for k in range(tile):  # unrolled: tile FMAs out of shared memory
            av = b.load(ptx.shared_ptr(b, a_tile, b.add(b.mul(ty, T), i64(k))), typ=f32)
            bv = b.load(ptx.shared_ptr(b, b_tile, b.add(i64(k * tile), tx)), typ=f32)
            total = b.fadd(total, b.fmul(av, bv))
        b.store(total, acc)
        ptx.barrier(b)
    out_in = _both(b, b.icmp_signed("<", row, M), b.icmp_signed("<", col, N))
    with b.if_then(out_in):
        b.store(b.load(acc, typ=f32), _elem_ptr(b, c, b.add(b.mul(row, N), col)))
    b.ret_void()
    return module


# ---- (4) tensor-core tile: mma.sync m16n8k16, f16 or bf16 in, f32 accumulate -----------------


def _pack_pair(builder, base, idx0, idx1, in0, in1):
    """Two 16-bit elements -> one b32 register, the first in the low half (PTX's x2 order)."""
    lo = builder.zext(_load_or_zero(builder, base, idx0, in0, i16), i32)
    hi = builder.zext(_load_or_zero(builder, base, idx1, in1, i16), i32)
    return builder.or_(lo, builder.shl(hi, i32(16)))


def build_matmul_mma(dtype: str = "f16") -> ir.Module:
    """One warp per 16x8 output tile; fragments follow the PTX ISA m16n8k16 layouts, with
    ``group = lane // 4`` and ``pair = 2 * (lane % 4)``. Out-of-range elements read as zero."""
    name = f"matmul_mma_{dtype}"
    module = ptx.new_kernel_module(name)
    fn, b = ptx.new_kernel(module, name, [ptx.ptr] * 3 + [i64] * 3, ["a", "b", "c", "M", "N", "K"])
    a, bm, c, M, N, K = fn.args
    lane = b.zext(ptx.thread_idx(b), i64)
    group, pair = b.lshr(lane, i64(2)), b.shl(b.and_(lane, i64(3)), i64(1))
    row0 = b.add(b.mul(b.zext(ptx.block_idx(b, "y"), i64), i64(16)), group)
    rows = (row0, b.add(row0, i64(8)))
    col0 = b.mul(b.zext(ptx.block_idx(b, "x"), i64), i64(8))
    bcol, ccols = b.add(col0, group), (b.add(col0, pair), b.add(col0, b.add(pair, i64(1))))
    accs = [_accumulator(b) for _ in range(4)]
    lt = lambda x, y: b.icmp_signed("<", x, y)  # noqa: E731
    with for_range(b, i64(0), K, i64(16), name="k0") as k0:
        ks = [b.add(k0, b.add(pair, i64(d))) for d in (0, 1, 8, 9)]

        def a_reg(r, k_lo, k_hi):
            idx = [b.add(b.mul(rows[r], K), k) for k in (k_lo, k_hi)]
            return _pack_pair(
                b,
                a,
                *idx,
                _both(b, lt(rows[r], M), lt(k_lo, K)),
                _both(b, lt(rows[r], M), lt(k_hi, K)),
            )

        def b_reg(k_lo, k_hi):
            idx = [b.add(b.mul(k, N), bcol) for k in (k_lo, k_hi)]
            return _pack_pair(
                b, bm, *idx, _both(b, lt(k_lo, K), lt(bcol, N)), _both(b, lt(k_hi, K), lt(bcol, N))
            )

        a_regs = [a_reg(0, *ks[:2]), a_reg(1, *ks[:2]), a_reg(0, *ks[2:]), a_reg(1, *ks[2:])]
        b_regs = [b_reg(*ks[:2]), b_reg(*ks[2:])]
        d = ptx.mma_m16n8k16(b, dtype, a_regs, b_regs, [b.load(s, typ=f32) for s in accs])
        for slot, value in zip(accs, d):
            b.store(value, slot)
    for j, slot in enumerate(accs):  # c0,c1: (row0, pair+0/1); c2,c3: (row0+8, pair+0/1)
        r, cc = rows[j // 2], ccols[j % 2]
        with b.if_then(_both(b, lt(r, M), lt(cc, N))):
            b.store(b.load(slot, typ=f32), _elem_ptr(b, c, b.add(b.mul(r, N), cc)))
    b.ret_void()
    return module


EXAMPLES = (
    ExampleKernel("axpb", build_axpb, ("ptr", "ptr", "f32", "f32", "i64")),
    ExampleKernel("row_sum", build_row_sum, ("ptr", "ptr", "i64", "i64")),
    ExampleKernel("matmul_tiled", build_matmul_tiled, ("ptr",) * 3 + ("i64",) * 3),
    ExampleKernel("matmul_mma_f16", lambda: build_matmul_mma("f16"), ("ptr",) * 3 + ("i64",) * 3),
    ExampleKernel("matmul_mma_bf16", lambda: build_matmul_mma("bf16"), ("ptr",) * 3 + ("i64",) * 3),
)
