"""CUDA kernels of ``kernel_ir.Dot`` steps (``codegen.emit_dot`` picks one and its tiling).

- ``emit_dot_tiled``: a shared-memory tiled matmul on 16x16 threads (``codegen.Tiling``): each
  K stage copies a k-major tile of both operands into shared memory, then every thread
  accumulates its ``per x per`` outputs with fused multiply-adds.
- ``emit_dot_mma``: tensor cores for float16, and for float32 dots of bfloat16 values
  (``Dot.bf16``). A block stages a (BM x 32) tile of lhs and a (32 x BN) tile of rhs in shared
  memory as 16-bit values (rhs transposed, so both are k-contiguous rows), then each warp runs
  m16n8k16 ``mma.sync`` on its part of the block tile, reading each fragment register (two
  consecutive k) as one 32-bit shared load. Fragment layouts follow the PTX ISA with
  ``group = lane // 4`` and ``pair = 2 * (lane % 4)``: A regs {(g, p..p+1), (g+8, p..),
  (g, p+8..), (g+8, p+8..)}, B regs {(k p..p+1, n g), (k p+8.., n g)}, C/D {(g, p), (g, p+1),
  (g+8, p), (g+8, p+1)}.

Out-of-range operand elements are staged as zero, so edges need no special case except at the
final store.
"""

from __future__ import annotations

import numpy as np
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.llvm import scalar as S
from funcgrad.backend.llvm.builders import for_range, get, local
from llvmlite import ir

from . import ptx
from .codegen import F16, Launch, cdiv, elem_ptr, new_kernel, store_elem
from .ptx import i32, i64

MMA_BK = 32  # k extent of a shared-memory stage: two m16n8k16 steps
MMA_LDS = MMA_BK + 8  # row pitch (16-bit elements) of the staged tiles: fragment reads of a
#                       warp then hit 32 distinct shared-memory banks

# ---- shared helpers ---------------------------------------------------------------------------


def _operand_addr(b, view, batch, row, col):
    """``offset + batch*s0 + row*s1 + col*s2`` (i64) for a (B, rows, cols) strided view."""
    s0, s1, s2 = view.strides
    total = i64(view.offset)
    for v, s in ((batch, s0), (row, s1), (col, s2)):
        if s:
            total = b.add(total, b.mul(v, i64(s)))
    return total


def _load_or_zero(b, base, index, pred, dtype):
    safe = b.select(pred, index, i64(0))  # reads element 0 when out of range, then drops it
    value = b.load(elem_ptr(b, base, safe, dtype), typ=S.storage_type(dtype))
    return b.select(pred, S.to_register(b, value, dtype), S.const(dtype, 0))


def _inside(b, row, col, rows, cols):
    """``row < rows and col < cols`` (i64 positions, int limits)."""
    return b.and_(b.icmp_signed("<", row, i64(rows)), b.icmp_signed("<", col, i64(cols)))


def _fma(b, dtype):
    if np.dtype(dtype).kind == "f":
        sc = S.Emitter(b)
        return lambda acc, x, y: sc.intrinsic("llvm.fma", x.type, [x, y, acc])
    return lambda acc, x, y: b.add(acc, b.mul(x, y))


def _batch_loop(b, n_batch):
    """``for batch in range(blockIdx.z, B, gridDim.z)``."""
    first, every = b.zext(ptx.block_idx(b, "z"), i64), b.zext(ptx.grid_dim(b, "z"), i64)
    return for_range(b, first, i64(n_batch), every, name="batch")


def _tile_coords_ir(b, e, rows, cols, row_major):
    if row_major:  # consecutive threads walk the columns of a row
        return b.udiv(e, i64(cols)), b.urem(e, i64(cols))
    return b.urem(e, i64(rows)), b.udiv(e, i64(rows))


def _k_fast(view) -> bool:
    """Whether consecutive columns of the (B, rows, cols) view are the closer ones in memory."""
    return abs(view.strides[2]) <= abs(view.strides[1])


def _block_origin(b, tile_m, tile_n):
    """(first row, first column) of this block's output tile."""
    m0 = b.mul(b.zext(ptx.block_idx(b, "y"), i64), i64(tile_m))
    return m0, b.mul(b.zext(ptx.block_idx(b, "x"), i64), i64(tile_n))


# ---- tiled matmul -----------------------------------------------------------------------------


class _Tiled:
    """The parts of one tiled matmul kernel (see ``emit_dot_tiled``)."""

    def __init__(self, module, b, d: K.Dot, ptrs, dtype, tiling):
        self.b, self.d, self.ptrs, self.dtype, self.tiling = b, d, ptrs, dtype, tiling
        self.ety = S.ir_type(dtype)
        self.tx, self.ty = (b.zext(ptx.thread_idx(b, a), i64) for a in ("x", "y"))
        self.t = b.add(b.mul(self.ty, i64(16)), self.tx)
        self.m0, self.n0 = _block_origin(b, tiling.tile, tiling.tile)
        size = tiling.k * tiling.pitch
        self.a_tile = ptx.shared_array(module, self.ety, size, "a_tile")  # [k][m]
        self.b_tile = ptx.shared_array(module, self.ety, size, "b_tile")  # [k][n]

    def stage(self, batch, k0) -> None:
        """Both operands' K stage at ``k0`` into the shared tiles (0 outside the operands)."""
        b, d, T, TK, P = self.b, self.d, self.tiling.tile, self.tiling.k, self.tiling.pitch
        _, M, N, Kd = d.bmnk
        for q in range(TK * T // 256):
            e = b.add(self.t, i64(256 * q))
            mm, kk = _tile_coords_ir(b, e, T, TK, _k_fast(d.lhs_view))
            value = self._load(
                d.lhs, d.lhs_view, batch, (b.add(self.m0, mm), b.add(k0, kk)), (M, Kd)
            )
            b.store(value, ptx.shared_ptr(b, self.a_tile, b.add(b.mul(kk, i64(P)), mm)))
            kk, nn = _tile_coords_ir(b, e, TK, T, _k_fast(d.rhs_view))
            value = self._load(
                d.rhs, d.rhs_view, batch, (b.add(k0, kk), b.add(self.n0, nn)), (Kd, N)
            )
            b.store(value, ptx.shared_ptr(b, self.b_tile, b.add(b.mul(kk, i64(P)), nn)))

    def _load(self, buf, view, batch, at, limit):
        """Element ``at`` (row, column) of an operand, 0 outside ``limit``."""
        index = _operand_addr(self.b, view, batch, *at)
        pred = _inside(self.b, *at, *limit)
        return _load_or_zero(self.b, self.ptrs[buf], index, pred, self.dtype)

    def fragment(self, tile, kk, lane) -> list:
        """The ``per`` values ``tile[kk][place(lane, i)]`` (float4 loads when vectorised)."""
        b, tiling, ety = self.b, self.tiling, self.ety
        row = i64(kk * tiling.pitch)
        at = lambda i: ptx.shared_ptr(b, tile, b.add(tiling.place(b, lane, i), row))
        if not tiling.vector:
            return [b.load(at(i), typ=ety) for i in range(tiling.per)]
        out = []
        for i in range(0, tiling.per, 4):
            v = b.load(at(i), typ=ir.VectorType(ety, 4), align=16)
            out += [b.extract_element(v, i32(j)) for j in range(4)]
        return out

    def multiply(self, accs) -> None:
        """``accs += a_tile^T b_tile`` for this thread's outputs (registers within a stage)."""
        b, R, fma = self.b, self.tiling.per, _fma(self.b, self.dtype)
        vals = [[get(b, s) for s in row] for row in accs]
        for kk in range(self.tiling.k):
            a_reg = self.fragment(self.a_tile, kk, self.ty)
            b_reg = self.fragment(self.b_tile, kk, self.tx)
            vals = [[fma(vals[i][j], a_reg[i], b_reg[j]) for j in range(R)] for i in range(R)]
        for i in range(R):
            for j in range(R):
                b.store(vals[i][j], accs[i][j])

    def store(self, batch, accs) -> None:
        b, d, tiling = self.b, self.d, self.tiling
        _, M, N, _ = d.bmnk
        out_base = b.mul(batch, i64(M * N))
        for i in range(tiling.per):
            row = b.add(self.m0, tiling.place(b, self.ty, i))
            for j in range(tiling.per):
                col = b.add(self.n0, tiling.place(b, self.tx, j))
                with b.if_then(_inside(b, row, col, M, N)):
                    index = b.add(out_base, b.add(b.mul(row, i64(N)), col))
                    store_elem(b, self.ptrs, self.dtype, d.out, index, get(b, accs[i][j]))


def emit_dot_tiled(module, program: K.Program, d: K.Dot, step: int, tiling) -> Launch:
    """A shared-memory tiled matmul with ``tiling`` (a ``codegen.Tiling``)."""
    dtype = program.buffer(d.lhs).dtype
    B, M, N, Kd = d.bmnk
    ids = tuple(sorted({d.lhs, d.rhs, d.out}))
    name, b, ptrs = new_kernel(module, program, step, ids, {d.out})
    kernel = _Tiled(module, b, d, ptrs, dtype, tiling)
    with _batch_loop(b, B) as batch:
        zero, R = S.const(dtype, 0), tiling.per
        accs = [[local(b, zero, kernel.ety) for _ in range(R)] for _ in range(R)]
        with for_range(b, i64(0), i64(Kd), i64(tiling.k), name="k0") as k0:
            kernel.stage(batch, k0)
            ptx.barrier(b)
            kernel.multiply(accs)
            ptx.barrier(b)  # every thread has read the tiles before the next stage overwrites
        kernel.store(batch, accs)
    b.ret_void()
    grid = (cdiv(N, tiling.tile), cdiv(M, tiling.tile), min(B, 65535))
    return Launch(name, step, "dot_tiled", ids, grid if B * M * N else (0,), (16, 16))


# ---- tensor cores: mma.sync m16n8k16, float32 accumulation ------------------------------------


def _operand_bits(b, kind, base, index, pred):
    """One operand element as 16 bits (i16): a float16 as stored; a bfloat16 held in a float32
    buffer is that float32's upper half (exact: the value is a bfloat16). 0 out of range."""
    if kind == "f16":
        value = _load_or_zero(b, base, index, pred, F16)
        return b.bitcast(value, ptx.i16)
    word = b.bitcast(_load_or_zero(b, base, index, pred, np.dtype(np.float32)), i32)
    return b.trunc(b.lshr(word, i32(16)), ptx.i16)


class _Mma:
    """The parts of one tensor-core matmul kernel (see the module docstring)."""

    def __init__(self, module, b, d: K.Dot, ptrs, config):
        self.b, self.d, self.ptrs = b, d, ptrs
        self.kind = "bf16" if d.bf16 else "f16"
        BM, BN, WM, WN = self.config = config
        self.n_threads = 32 * WM * WN
        self.tiles = (BM // WM // 16, BN // WN // 8)
        lane = b.zext(ptx.thread_idx(b, "x"), i64)
        warp = b.zext(ptx.thread_idx(b, "y"), i64)
        self.t = b.add(b.mul(warp, i64(32)), lane)
        self.group, self.pair = b.lshr(lane, i64(2)), b.shl(b.and_(lane, i64(3)), i64(1))
        self.warp_m = b.mul(b.udiv(warp, i64(WN)), i64(BM // WM))
        self.warp_n = b.mul(b.urem(warp, i64(WN)), i64(BN // WN))
        self.m0, self.n0 = _block_origin(b, BM, BN)
        self.a_s = ptx.shared_array(module, ptx.i16, BM * MMA_LDS, "a_mma")  # [m][k]
        self.b_s = ptx.shared_array(module, ptx.i16, BN * MMA_LDS, "b_mma")  # [n][k]

    def stage(self, batch, k0) -> None:
        d, (BM, BN, _, _) = self.d, self.config
        _, M, N, Kd = d.bmnk
        lhs, rhs = self.ptrs[d.lhs], self.ptrs[d.rhs]
        a_at, b_at = (self.m0, k0), (k0, self.n0)
        self._stage(self.a_s, lhs, d.lhs_view, batch, (BM, MMA_BK), a_at, (M, Kd), False)
        self._stage(self.b_s, rhs, d.rhs_view, batch, (MMA_BK, BN), b_at, (Kd, N), True)

    def _stage(self, tile, base, view, batch, extent, origin, limit, transposed):
        """Copy the operand's ``extent`` block at ``origin`` into ``tile`` as 16-bit values
        (rows of the k-contiguous tile: the block's rows, or its columns if ``transposed``)."""
        b = self.b
        for q in range(extent[0] * extent[1] // self.n_threads):
            e = b.add(self.t, i64(self.n_threads * q))
            r, c = _tile_coords_ir(b, e, *extent, _k_fast(view))
            row, col = b.add(origin[0], r), b.add(origin[1], c)
            index = _operand_addr(b, view, batch, row, col)
            bits = _operand_bits(b, self.kind, base, index, _inside(b, row, col, *limit))
            s_row, s_col = (c, r) if transposed else (r, c)
            b.store(bits, ptx.shared_ptr(b, tile, b.add(b.mul(s_row, i64(MMA_LDS)), s_col)))

    def _word(self, tile, row, k):  # the 32-bit register holding tile[row][k], tile[row][k + 1]
        b = self.b
        return b.load(ptx.shared_ptr(b, tile, b.add(b.mul(row, i64(MMA_LDS)), k)), typ=i32)

    def multiply(self, accs) -> None:
        """``accs += a_s b_s^T`` for this warp's mma tiles: two k steps of 16 per stage."""
        b, (tiles_m, tiles_n) = self.b, self.tiles
        vals = [[[get(b, s) for s in tile] for tile in row] for row in accs]
        for kk in (0, 16):
            k_lo, k_hi = b.add(self.pair, i64(kk)), b.add(self.pair, i64(kk + 8))
            b_regs = []
            for j in range(tiles_n):
                n = b.add(b.add(self.warp_n, i64(8 * j)), self.group)
                b_regs.append([self._word(self.b_s, n, k_lo), self._word(self.b_s, n, k_hi)])
            for i in range(tiles_m):
                r = b.add(b.add(self.warp_m, i64(16 * i)), self.group)
                r8 = b.add(r, i64(8))
                a_regs = [self._word(self.a_s, x, k) for k in (k_lo, k_hi) for x in (r, r8)]
                for j in range(tiles_n):
                    vals[i][j] = ptx.mma_m16n8k16(b, self.kind, a_regs, b_regs[j], vals[i][j])
        for i in range(tiles_m):
            for j in range(tiles_n):
                for slot, value in zip(accs[i][j], vals[i][j]):
                    b.store(value, slot)

    def store(self, batch, accs, out_dtype) -> None:
        b, d, (tiles_m, tiles_n) = self.b, self.d, self.tiles
        _, M, N, _ = d.bmnk
        out_base = b.mul(batch, i64(M * N))
        for i in range(tiles_m):
            r = b.add(self.m0, b.add(b.add(self.warp_m, i64(16 * i)), self.group))
            for j in range(tiles_n):
                c = b.add(self.n0, b.add(b.add(self.warp_n, i64(8 * j)), self.pair))
                for slot_index, slot in enumerate(accs[i][j]):
                    row = b.add(r, i64(8 * (slot_index // 2)))
                    col = b.add(c, i64(slot_index % 2))
                    with b.if_then(_inside(b, row, col, M, N)):
                        index = b.add(out_base, b.add(b.mul(row, i64(N)), col))
                        value = S.convert(b, get(b, slot), np.float32, out_dtype)
                        store_elem(b, self.ptrs, out_dtype, d.out, index, value)


def emit_dot_mma(module, program: K.Program, d: K.Dot, step: int, config) -> Launch:
    """Tensor-core matmul with block tile ``config`` = (BM, BN, warps along M, along N)."""
    B, M, N, Kd = d.bmnk
    ids = tuple(sorted({d.lhs, d.rhs, d.out}))
    name, b, ptrs = new_kernel(module, program, step, ids, {d.out})
    kernel = _Mma(module, b, d, ptrs, config)
    with _batch_loop(b, B) as batch:
        zero = ir.Constant(ptx.f32, 0.0)
        tiles_m, tiles_n = kernel.tiles
        accs = [
            [[local(b, zero) for _ in range(4)] for _ in range(tiles_n)] for _ in range(tiles_m)
        ]
        with for_range(b, i64(0), i64(Kd), i64(MMA_BK), name="k0") as k0:
            kernel.stage(batch, k0)
            ptx.barrier(b)
            kernel.multiply(accs)
            ptx.barrier(b)  # every warp has read the tiles before the next stage overwrites them
        kernel.store(batch, accs, program.buffer(d.out).dtype)
    b.ret_void()
    BM, BN, WM, WN = config
    grid = (cdiv(N, BN), cdiv(M, BM), min(B, 65535))
    return Launch(name, step, "dot_mma", ids, grid if B * M * N else (0,), (32, WM * WN))
