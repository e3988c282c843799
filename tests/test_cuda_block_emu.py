"""The cooperative CUDA kernels, run on the CPU by ``tests/support/cuda_emu.py`` (threads of a
block as fibers that really meet at ``bar.sync``, shuffle within warps and run ``mma.sync``
together) and compared with eager numpy on random inputs:

- ``reduce_block``: block-per-output reductions (warp shuffles + shared memory + barriers);
- ``dot_tiled``: the 64x64x16 shared-memory tiled matmul;
- ``dot_mma``: the float16 / bfloat16 ``mma.sync.m16n8k16`` tensor-core matmul;
- ``conv_block``: the block-per-output direct convolution;
- ``sort_block``: the block-per-row merge sort;

and, first, self-tests of the emulator on hand-built kernels: shuffles of every mode against
CUDA's documented ``__shfl*_sync`` results, barriers and per-block shared memory, the mma
fragment layouts (packed here from the ISA's element -> (lane, register) description, the
inverse of the emulator's), the address checks, and the undefined behaviour it must report.

Programs come from the normal pipeline (``jit(f, backend="cuda").lower(...)`` -> kernel
program -> ``codegen.emit_program``); the programs of a group share one host module, so each
group is compiled once. Every launch checks that each global address falls in its buffers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.cuda import codegen, compiler, ptx
from funcgrad.backend.cuda.ops import conv as cuda_conv
from llvmlite import ir
from support import cuda_emu, examples_kernels

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax, nn

i32, i64, f32 = ptx.i32, ptx.i64, ptx.f32


# compiler errors raise (no silent numpy fallback); 64-bit dtypes stay 64-bit (conftest.py)
pytestmark = pytest.mark.usefixtures("strict_jit", "x64")


# ---- emulator self-tests: hand-built kernels ----------------------------------------------------


def _module(name, params, body) -> tuple[cuda_emu.HostModule, str]:
    """A one-kernel NVPTX module: ``body(b, fn.args)`` emits the kernel's code."""
    module = ptx.new_kernel_module(name)
    fn, b = ptx.new_kernel(module, name, params)
    body(b, fn.args)
    b.ret_void()
    return cuda_emu.HostModule(str(module), name), name


def _at(b, base, index, ty=i32):
    return b.gep(base, [index], inbounds=True, source_etype=ty)


def _linear_tid(b):
    """x + ntid.x * (y + ntid.y * z), as i32."""
    tid = [ptx.thread_idx(b, d) for d in "xyz"]
    ntid = [ptx.block_dim(b, d) for d in "xy"]
    return b.add(tid[0], b.mul(ntid[0], b.add(tid[1], b.mul(ntid[1], tid[2]))))


def _ranges(*arrays):
    return [(a.ctypes.data, a.ctypes.data + a.nbytes) for a in arrays]


SHFL_CASES = [
    (mode, width, ty)
    for mode in ("idx", "up", "down", "bfly")
    for width in (32, 8, 2)
    for ty in ("i32", "f32")
]


def _shfl_kernel(mode: str, ty: str):
    """out[t] = shfl.sync.<mode>(x[t], b[t], c), pred[t] = its predicate (the ``.p`` form)."""
    lty = i32 if ty == "i32" else f32

    def body(b, args):
        x, bs, out, pred, c = args
        t = b.zext(_linear_tid(b), i64)
        fn = ptx.intrinsic(
            b.module,
            f"llvm.nvvm.shfl.sync.{mode}.{ty}.p",
            ir.LiteralStructType([lty, ptx.i1]),
            [i32, lty, i32, i32],
        )
        r = b.call(
            fn, [i32(-1), b.load(_at(b, x, t, lty), typ=lty), b.load(_at(b, bs, t), typ=i32), c]
        )
        b.store(b.extract_value(r, 0), _at(b, out, t, lty))
        b.store(b.zext(b.extract_value(r, 1), i32), _at(b, pred, t))

    return _module(f"shfl_{mode}_{ty}", [ptx.ptr] * 4 + [i32], body)


def _cuda_shfl(mode: str, x, src, width):
    """What CUDA's ``__shfl{,_up,_down,_xor}_sync(FULL, x, src, width)`` return, as the CUDA
    programming guide describes them (segments of ``width`` lanes), and whether a transfer
    happened."""
    out, ok = x.copy(), np.zeros(len(x), bool)
    for t in range(len(x)):
        lane = t % 32
        start, warp = lane - lane % width, t - lane
        if mode == "idx":
            j = start + src[t] % width
        elif mode == "up":
            j = lane - src[t] if lane - start >= src[t] else None
        elif mode == "down":
            j = lane + src[t] if lane - start + src[t] < width else None
        else:  # xor: earlier segments are reachable, later ones give the lane's own value
            j = lane ^ src[t] if (lane ^ src[t]) < start + width else None
        if j is not None:
            out[t], ok[t] = x[warp + j], True
    return out, ok


@pytest.mark.parametrize("mode, width, ty", SHFL_CASES)
def test_shuffles_match_cuda_semantics(mode, width, ty):
    hm, name = _shfl_kernel(mode, ty)
    rng = np.random.default_rng(width)
    n = 64  # two warps
    x = (
        rng.standard_normal(n).astype(np.float32)
        if ty == "f32"
        else rng.integers(-(2**31), 2**31, n).astype(np.int32)
    )
    src = rng.integers(0, 32 if mode in ("idx", "bfly") else min(width + 1, 32), n).astype(
        np.int32
    )  # (the ISA uses b[4:0]; CUDA's documented results assume offsets < 32)
    c = ((32 - width) << 8) | (0 if mode == "up" else 0x1F)  # as CUDA's intrinsics pack it
    out, pred = np.zeros_like(x), np.zeros(n, np.int32)
    hm.launch(
        name,
        (1, 1, 1),
        (16, 2, 2),
        [x.ctypes.data, src.ctypes.data, out.ctypes.data, pred.ctypes.data, c],
        _ranges(x, src, out, pred),
    )
    want, ok = _cuda_shfl(mode, x, src, width)
    np.testing.assert_array_equal(out, want)
    if mode != "idx":  # idx: the predicate is only about the clamp, always true here
        np.testing.assert_array_equal(pred.astype(bool), ok)


def _block_ids_kernel(with_barrier: bool):
    """out[linear id over the grid] = tid.x + 10 tid.y + 100 tid.z + 1000 ctaid.x +
    10000 ctaid.y + 100000 ctaid.z (+ the warp id and lane checked on the side)."""

    def body(b, args):
        (out,) = args
        if with_barrier:
            ptx.barrier(b)
        tid = [ptx.thread_idx(b, d) for d in "xyz"]
        cta = [ptx.block_idx(b, d) for d in "xyz"]
        value = i32(0)
        for v, scale in zip(tid + cta, (1, 10, 100, 1000, 10000, 100000)):
            value = b.add(value, b.mul(v, i32(scale)))
        nthreads = b.mul(b.mul(ptx.block_dim(b, "x"), ptx.block_dim(b, "y")), ptx.block_dim(b, "z"))
        block = b.add(
            cta[0], b.mul(ptx.grid_dim(b, "x"), b.add(cta[1], b.mul(ptx.grid_dim(b, "y"), cta[2])))
        )
        flat = b.add(b.mul(block, nthreads), _linear_tid(b))
        b.store(value, _at(b, out, b.zext(flat, i64)))

    return _module(f"ids_{int(with_barrier)}", [ptx.ptr], body)


@pytest.mark.parametrize("with_barrier", [False, True], ids=["sequential", "fibers"])
def test_special_registers_in_both_schedules(with_barrier):
    hm, name = _block_ids_kernel(with_barrier)
    assert hm.is_cooperative(name) == with_barrier
    grid, block = (3, 2, 2), (5, 3, 2)
    out = np.full(np.prod(grid) * np.prod(block), -1, np.int32)
    hm.launch(name, grid, block, [out.ctypes.data], _ranges(out))
    want = [
        tx + 10 * ty + 100 * tz + 1000 * cx + 10000 * cy + 100000 * cz
        for cz in range(2)
        for cy in range(2)
        for cx in range(3)
        for tz in range(2)
        for ty in range(3)
        for tx in range(5)
    ]
    np.testing.assert_array_equal(out, want)


def _rotate_kernel():
    """Through shared memory, twice: s[t] = x[t]; v = s[t + 1]; s[t] = 2 v; out[t] = s[t + 1]
    (indices mod n, per block), with barriers in between; first[t] = s[t] before any write
    (poisoned: -1)."""

    def body(b, args):
        x, out, first = args
        smem = ptx.shared_array(b.module, i32, 256, "rot")
        t = ptx.thread_idx(b)
        n = ptx.block_dim(b)
        base = b.mul(ptx.block_idx(b), n)
        b.store(
            b.load(ptx.shared_ptr(b, smem, t), typ=i32), _at(b, first, b.zext(b.add(base, t), i64))
        )
        ptx.barrier(b)
        b.store(b.load(_at(b, x, b.zext(b.add(base, t), i64)), typ=i32), ptx.shared_ptr(b, smem, t))
        ptx.barrier(b)
        nxt = b.urem(b.add(t, i32(1)), n)
        v = b.load(ptx.shared_ptr(b, smem, nxt), typ=i32)
        ptx.barrier(b)
        b.store(b.mul(v, i32(2)), ptx.shared_ptr(b, smem, t))
        ptx.barrier(b)
        v2 = b.load(ptx.shared_ptr(b, smem, nxt), typ=i32)
        b.store(v2, _at(b, out, b.zext(b.add(base, t), i64)))

    return _module("rotate", [ptx.ptr] * 3, body)


@pytest.mark.parametrize("schedule", ["forward", "reverse"])
def test_barriers_and_shared_memory_per_block(schedule, monkeypatch):
    hm, name = _rotate_kernel()
    monkeypatch.setattr(hm, "schedule", schedule)
    n, blocks = 96, 3
    x = np.random.default_rng(0).integers(-1000, 1000, blocks * n).astype(np.int32)
    out, first = np.zeros_like(x), np.zeros_like(x)
    hm.launch(
        name,
        (blocks,),
        (n,),
        [x.ctypes.data, out.ctypes.data, first.ctypes.data],
        _ranges(x, out, first),
    )
    np.testing.assert_array_equal(out, 2 * np.roll(x.reshape(blocks, n), -2, 1).reshape(-1))
    assert (first == -1).all()  # every block starts from poisoned shared memory


def test_without_barriers_the_same_kernel_races():
    """The rotation with its barriers removed must give wrong results under the fiber
    schedule (the emulator's barriers are what makes it right)."""

    def body(b, args):
        x, out = args
        smem = ptx.shared_array(b.module, i32, 64, "race")
        t = ptx.thread_idx(b)
        b.store(b.load(_at(b, x, b.zext(t, i64)), typ=i32), ptx.shared_ptr(b, smem, t))
        v = b.load(ptx.shared_ptr(b, smem, b.urem(b.add(t, i32(1)), ptx.block_dim(b))), typ=i32)
        b.store(v, _at(b, out, b.zext(t, i64)))

    hm, name = _module("race", [ptx.ptr] * 2, body)
    x, out = np.arange(1, 65, dtype=np.int32), np.zeros(64, np.int32)
    hm.launch(name, (1,), (64,), [x.ctypes.data, out.ctypes.data])
    assert not np.array_equal(out, np.roll(x, -1))


def _fragment_owner(matrix: str, row: int, col: int) -> tuple[int, int, int]:
    """(lane, register, half) holding an element, read off the ISA's fragment figures for
    m16n8k16 .f16/.bf16: the 8x8 quadrants of A are held in registers 0 (rows 0-7, cols 0-7),
    1 (rows 8-15), 2 (cols 8-15), 3 (both); in a quadrant, row r lives in lanes 4r..4r+3, each
    lane holding two neighbouring columns, the lower in the low half. B (16x8, k x n) in
    registers 0 (k 0-7) and 1 (k 8-15), column n in lanes 4n..4n+3, two neighbouring k per
    lane. C/D (16x8 f32): rows 0-7 in c0/c1, rows 8-15 in c2/c3, two neighbouring columns."""
    if matrix == "a":
        return 4 * (row % 8) + (col % 8) // 2, (row >= 8) + 2 * (col >= 8), col % 2
    if matrix == "b":
        return 4 * col + (row % 8) // 2, int(row >= 8), row % 2
    return 4 * (row % 8) + col // 2, 2 * (row >= 8) + col % 2, 0


def _exact16(values, kind) -> np.ndarray:
    """``values`` rounded to float16 / bfloat16 (as float64)."""
    bits = _bits16(values, kind)
    if kind == "f16":
        return bits.astype(np.uint16).view(np.float16).astype(np.float64)
    return (bits << 16).view(np.float32).astype(np.float64)


def _bits16(values, kind):
    if kind == "f16":
        return values.astype(np.float16).view(np.uint16).astype(np.uint32)
    return values.astype(np.float32).view(np.uint32) >> 16  # exact bf16 values


@pytest.mark.parametrize("kind", ["f16", "bf16"])
def test_mma_fragment_layouts_follow_the_ptx_isa(kind):
    """A kernel passes per-lane registers straight from memory to mma.sync: the emulator must
    compute D = A @ B + C for fragments packed by the ISA's element -> lane mapping."""

    def body(b, args):
        regs, out = args
        lane = b.zext(ptx.thread_idx(b), i64)
        words = [
            b.load(_at(b, regs, b.add(b.mul(lane, i64(10)), i64(k))), typ=i32) for k in range(10)
        ]
        c_vals = [b.bitcast(w, f32) for w in words[6:]]
        d = ptx.mma_m16n8k16(b, kind, words[:4], words[4:6], c_vals)
        for k, v in enumerate(d):
            b.store(v, _at(b, out, b.add(b.mul(lane, i64(4)), i64(k)), f32))

    hm, name = _module(f"mma_{kind}", [ptx.ptr] * 2, body)
    rng = np.random.default_rng(7)
    a, bm = (_exact16(rng.standard_normal(shape), kind) for shape in ((16, 16), (16, 8)))
    c = rng.standard_normal((16, 8)).astype(np.float32)
    regs = np.zeros((32, 10), np.uint32)
    for matrix, values, first in (("a", a, 0), ("b", bm, 4)):
        bits = _bits16(values, kind)
        for (row, col), v in np.ndenumerate(bits):
            lane, reg, half = _fragment_owner(matrix, row, col)
            regs[lane, first + reg] |= np.uint32(v) << np.uint32(16 * half)
    for (row, col), v in np.ndenumerate(c):
        lane, reg, _ = _fragment_owner("c", row, col)
        regs[lane, 6 + reg] = np.float32(v).view(np.uint32)
    out = np.zeros((32, 4), np.float32)
    hm.launch(name, (1,), (32,), [regs.ctypes.data, out.ctypes.data], _ranges(regs, out))
    d = np.zeros((16, 8), np.float32)
    for (row, col), _ in np.ndenumerate(d):
        lane, reg, _ = _fragment_owner("c", row, col)
        d[row, col] = out[lane, reg]
    np.testing.assert_allclose(d, a @ bm + c, rtol=1e-6, atol=1e-5)


def test_fragment_coordinates_are_a_bijection():
    for matrix, shape in (("a", (16, 16)), ("b", (16, 8)), ("c", (16, 8))):
        seen = {rc for lane in range(32) for rc in cuda_emu.mma_fragment_coords(lane)[matrix]}
        assert seen == {(r, c) for r in range(shape[0]) for c in range(shape[1])}, matrix
        for lane in range(32):  # and it is the same mapping the ISA figures give
            for i, (r, c) in enumerate(cuda_emu.mma_fragment_coords(lane)[matrix]):
                owner = _fragment_owner(matrix, r, c)
                per_reg = 1 if matrix == "c" else 2
                assert owner[0] == lane and owner[1] * per_reg + owner[2] == i, (matrix, lane, i)


EXAMPLES = {e.name: e for e in examples_kernels.EXAMPLES}


def _example(name) -> cuda_emu.HostModule:
    return cuda_emu.HostModule(str(EXAMPLES[name].build()), name)


def test_example_kernels_with_scalar_arguments():
    """``axpb`` (f32 and i64 arguments, a grid-stride loop) and ``row_sum`` (block reduce)."""
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal(1000).astype(np.float32), np.zeros(1000, np.float32)
    _example("axpb").launch(
        "axpb", (3,), (64,), [x.ctypes.data, y.ctypes.data, 1.5, -0.25, 1000], _ranges(x, y)
    )
    np.testing.assert_allclose(y, 1.5 * x - 0.25, rtol=1e-6)
    x, out = rng.standard_normal((5, 333)).astype(np.float32), np.zeros(5, np.float32)
    _example("row_sum").launch(
        "row_sum", (2,), (96,), [x.ctypes.data, out.ctypes.data, 5, 333], _ranges(x, out)
    )
    np.testing.assert_allclose(out, x.sum(1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["f32", "f16", "bf16"])
def test_example_matmul_kernels(kind):
    """``matmul_tiled`` (f32) and ``matmul_mma_<kind>`` (16-bit operands, f32 out)."""
    M, N, Kd = 37, 21, 45
    rng = np.random.default_rng(4)
    a, bm = rng.standard_normal((M, Kd)), rng.standard_normal((Kd, N))
    if kind == "f32":
        name, grid, block = "matmul_tiled", (codegen.cdiv(N, 16), codegen.cdiv(M, 16)), (16, 16)
        a_in, b_in = a.astype(np.float32), bm.astype(np.float32)
        a, bm = a_in, b_in
    else:  # operands as 16-bit patterns; the values they hold
        name, grid, block = f"matmul_mma_{kind}", (codegen.cdiv(N, 8), codegen.cdiv(M, 16)), (32,)
        a_in, b_in = (_bits16(v, kind).astype(np.uint16) for v in (a, bm))
        a, bm = _exact16(a, kind), _exact16(bm, kind)
    c = np.zeros((M, N), np.float32)
    _example(name).launch(
        name,
        grid,
        block,
        [a_in.ctypes.data, b_in.ctypes.data, c.ctypes.data, M, N, Kd],
        _ranges(a_in, b_in, c),
    )
    np.testing.assert_allclose(
        c, a.astype(np.float64) @ bm.astype(np.float64), rtol=1e-4, atol=1e-4
    )


# ---- emulator self-tests: what it must refuse or report -----------------------------------------


def test_an_address_outside_the_ranges_is_reported_not_touched():
    def body(b, args):  # out[t + shift] = x[t + shift]
        x, out, shift = args
        t = b.add(b.zext(ptx.thread_idx(b), i64), shift)
        b.store(b.load(_at(b, x, t), typ=i32), _at(b, out, t))

    hm, name = _module("oob", [ptx.ptr, ptx.ptr, i64], body)
    x, out = np.arange(17, dtype=np.int32), np.zeros(17, np.int32)
    allowed = [(x.ctypes.data, x.ctypes.data + 64), (out.ctypes.data, out.ctypes.data + 64)]
    decoys = [(lo, lo + 32) for lo in range(4096, 4096 + 64 * 40, 64)]  # a binary search's work
    allowed = [
        *decoys[20:],
        allowed[0],
        *decoys[:20],
        allowed[1],
        (out.ctypes.data + 8, out.ctypes.data + 16),
    ]
    hm.launch(name, (1,), (16,), [x.ctypes.data, out.ctypes.data, 0], allowed)
    np.testing.assert_array_equal(out[:16], x[:16])
    with pytest.raises(
        AssertionError,
        match=r"kernel oob .*2 access\(es\).* 4 bytes at "
        rf"{x.ctypes.data + 64:#x} by `load",
    ):
        hm.launch(name, (1,), (16,), [x.ctypes.data, out.ctypes.data, 1], allowed)
    assert out[16] == 0  # the bad store went to the emulator's scratch area
    with pytest.raises(AssertionError, match="kernel oob"):  # 2**40 elements away: no crash
        hm.launch(name, (1,), (16,), [x.ctypes.data, out.ctypes.data, 1 << 40], allowed)
    hm.launch(name, (1,), (16,), [x.ctypes.data, out.ctypes.data, 1], None)  # unchecked
    assert out[16] == 16


def test_shared_memory_out_of_bounds_is_reported():
    def body(b, args):
        (out,) = args
        smem = ptx.shared_array(b.module, i32, 32, "small")
        t = ptx.thread_idx(b)
        b.store(t, ptx.shared_ptr(b, smem, t))  # thread 32 writes past the end
        ptx.barrier(b)
        b.store(i32(0), _at(b, out, b.zext(t, i64)))

    hm, name = _module("smem_oob", [ptx.ptr], body)
    out = np.zeros(64, np.int32)
    hm.launch(name, (1,), (32,), [out.ctypes.data], _ranges(out))
    with pytest.raises(AssertionError, match="smem_oob.*store"):
        hm.launch(name, (1,), (33,), [out.ctypes.data], _ranges(out))


def _misbehaving(kind: str):
    def body(b, args):
        (out,) = args
        t = ptx.thread_idx(b)
        if kind == "early_return":
            with b.if_then(b.icmp_unsigned("==", t, i32(5))):
                b.ret_void()
            ptx.barrier(b)
        elif kind == "divergent_barriers":
            with b.if_else(b.icmp_unsigned("<", t, i32(16))) as (then, otherwise):
                with then:
                    ptx.barrier(b)
                with otherwise:
                    ptx.barrier(b)
        elif kind == "barrier_vs_shuffle":  # half a warp at a barrier, half in a shuffle
            with b.if_else(b.icmp_unsigned("<", t, i32(16))) as (then, otherwise):
                with then:
                    ptx.barrier(b)
                with otherwise:
                    ptx.shfl_bfly(b, t, 1)
        elif kind == "partial_warp_shuffle":
            ptx.shfl_bfly(b, t, 16)
        b.store(t, _at(b, out, b.zext(t, i64)))

    return _module(kind, [ptx.ptr], body)


@pytest.mark.parametrize(
    "kind, block, message",
    [
        ("early_return", 64, r"returned while threads .* wait at bar\.sync"),
        ("divergent_barriers", 64, "different bar.sync instructions"),
        ("barrier_vs_shuffle", 32, "deadlock"),
        ("partial_warp_shuffle", 48, "reads lane .* not in the shuffle"),
    ],
)
def test_undefined_behaviour_is_reported(kind, block, message):
    hm, name = _misbehaving(kind)
    out = np.zeros(64, np.int32)
    with pytest.raises(AssertionError, match=message):
        hm.launch(name, (2,), (block,), [out.ctypes.data], _ranges(out))


def test_mma_in_a_partial_warp_is_reported():
    hm = _example("matmul_mma_f16")
    a, c = np.zeros((16, 16), np.float16), np.zeros((16, 16), np.float32)
    with pytest.raises(AssertionError, match="needs the whole warp"):
        hm.launch(
            "matmul_mma_f16",
            (1,),
            (16,),
            [a.ctypes.data, a.ctypes.data, c.ctypes.data, 16, 16, 16],
            _ranges(a, c),
        )


def test_unknown_inline_asm_and_intrinsics_are_refused():
    def asm_body(b, args):
        fty = ir.FunctionType(i32, [i32])
        b.call(ir.InlineAsm(fty, "brev.b32 $0, $1;", "=r,r"), [i32(1)])

    def intrinsic_body(b, args):
        b.call(ptx.intrinsic(b.module, "llvm.nvvm.read.ptx.sreg.clock", i32, []), [])

    for body, message in (
        (asm_body, "inline asm is not emulated"),
        (intrinsic_body, "not emulated"),
    ):
        with pytest.raises(NotImplementedError, match=message):
            _module("refused", [ptx.ptr], body)


# ---- programs from the pipeline -----------------------------------------------------------------


class Case(NamedTuple):
    name: str
    fn: Callable
    make: Callable  # rng -> argument list
    kind: str  # the cooperative launch kind the program must contain
    tol: float = 1e-5


def _data(rng, shape, dtype="float32"):
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if dt.kind in "iu":
        return rng.integers(-50, 51, shape).astype(dt)
    if dt.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)
    return rng.standard_normal(shape).astype(dt)


def _reduce(name, op, shape, axes, dtype="float32", tol=1e-5, kind="reduce_block"):
    fn = lambda x: op(x, axis=axes)
    return Case(name, fn, lambda rng: [_data(rng, shape, dtype)], kind, tol)


def _special(rng, shape):
    """Normal values with NaN, +-inf, -0.0 and repeats sprinkled in."""
    x = rng.standard_normal(shape).astype(np.float32)
    flat = x.reshape(-1)
    picks = rng.choice(flat.size, size=min(flat.size, 12), replace=False)
    flat[picks] = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1.0, 1.0, -1.0, np.nan, 2.0, 2.0, -0.0][
        : len(picks)
    ]
    return x


REDUCE_CASES = [
    _reduce("sum_f32_1000", fnp.sum, (3, 1000), 1),
    _reduce("sum_f32_33", fnp.sum, (2, 33), 1),
    _reduce("sum_f64_100", fnp.sum, (2, 100), 1, "float64", 1e-12),
    _reduce("sum_i32_257", fnp.sum, (3, 257), 1, "int32"),
    _reduce("sum_f16_300", fnp.sum, (3, 300), 1, "float16", 3e-2),
    _reduce("sum_c64_70", fnp.sum, (2, 70), 1, "complex64", 1e-5),
    _reduce("sum_c128_45", fnp.sum, (2, 45), 1, "complex128", 1e-12),
    _reduce("max_f32_500", fnp.max, (2, 500), 1),
    _reduce("min_i32_99", fnp.min, (4, 99), 1, "int32"),
    _reduce("max_i32_axis0", fnp.max, (130, 3), 0, "int32"),
    _reduce("min_f32_axis0_700", fnp.min, (700, 2), 0),
    _reduce("sum_axes_0_2", fnp.sum, (5, 3, 40), (0, 2)),
    _reduce("sum_single_output", fnp.sum, (1, 4099), 1),
    _reduce("any_bool_200", fnp.any, (3, 200), 1, "bool"),
    _reduce("all_bool_65", fnp.all, (3, 65), 1, "bool"),
    _reduce("sum_bool_to_int", fnp.sum, (2, 90), 1, "bool"),
    _reduce("prod_f64_40", fnp.prod, (2, 40), 1, "float64", 1e-12),
    Case(
        "max_f32_nan_inf",
        lambda x: fnp.max(x, axis=1),
        lambda rng: [_special(rng, (3, 64))],
        "reduce_block",
    ),
    Case(
        "min_f32_nan_inf",
        lambda x: fnp.min(x, axis=1),
        lambda rng: [_special(rng, (3, 64))],
        "reduce_block",
    ),
    Case(
        "logsumexp",
        lambda x: nn.logsumexp(x, axis=1),
        lambda rng: [_data(rng, (2, 300))],
        "reduce_block",
    ),
    Case(
        "sum_and_elementwise_out",
        lambda x: (fnp.exp(x), fnp.sum(fnp.exp(x), 1)),
        lambda rng: [_data(rng, (2, 150))],
        "reduce_block",
    ),
    Case(
        "mean_var",
        lambda x: (fnp.mean(x, 1), fnp.var(x, 1)),
        lambda rng: [_data(rng, (3, 77), "float64")],
        "reduce_block",
        1e-12,
    ),
    _reduce("sum_size1_axis", fnp.sum, (4, 1), 1, kind="reduce_thread"),
    _reduce("argmax_long_axis", fnp.argmax, (3, 500), 1, kind="argmax"),
]


def _dot(name, a_shape, b_shape, dtype="float32", fn=None, tol=1e-5, kind=None):
    kind = kind or ("dot_mma" if dtype in ("float16", "bfloat16") else "dot_tiled")
    fn = fn or (lambda a, b: fnp.matmul(a, b))
    if dtype == "bfloat16":
        inner = fn
        fn = lambda a, b: inner(fnp.asarray(a, fnp.bfloat16), fnp.asarray(b, fnp.bfloat16))
        dtype = "float32"
    return Case(
        name, fn, lambda rng: [_data(rng, a_shape, dtype), _data(rng, b_shape, dtype)], kind, tol
    )


_T = lambda a, b: fnp.matmul(a.T, b)
_TT = lambda a, b: fnp.matmul(a, b.T)

DOT_CASES = [
    _dot("f32_17x65x33", (17, 65), (65, 33)),
    _dot("f32_130x20x70", (130, 20), (20, 70)),
    _dot("f32_1x1x1", (1, 1), (1, 1)),
    _dot("f32_lhs_transposed", (65, 17), (65, 9), fn=_T),
    _dot("f32_rhs_transposed", (9, 40), (21, 40), fn=_TT),
    _dot("f32_batched", (3, 17, 9), (3, 9, 5)),
    _dot("f64_33x1x20", (33, 1), (1, 20), "float64", tol=1e-12),
    _dot("f64_batched_transposed", (2, 31, 18), (2, 18, 7), "float64", tol=1e-12),
    _dot("i32_33x40x17", (33, 40), (40, 17), "int32"),
    _dot("i32_rhs_transposed", (5, 16), (66, 16), "int32", fn=_TT),
    _dot("f16_17x65x33", (17, 65), (65, 33), "float16", tol=2e-3),
    _dot("f16_1x1x1", (1, 1), (1, 1), "float16", tol=2e-3),
    _dot("f16_lhs_transposed", (40, 20), (40, 12), "float16", fn=_T, tol=2e-3),
    _dot(
        "f16_batched_rhs_transposed",
        (2, 9, 24),
        (2, 11, 24),
        "float16",
        fn=lambda a, b: fnp.matmul(a, fnp.swapaxes(b, 1, 2)),
        tol=2e-3,
    ),
    _dot("bf16_23x50x19", (23, 50), (50, 19), "bfloat16", tol=1e-2),
    _dot(
        "bf16_batched_transposed",
        (2, 33, 8),
        (2, 33, 17),
        "bfloat16",
        fn=lambda a, b: fnp.matmul(fnp.swapaxes(a, 1, 2), b),
        tol=1e-2,
    ),
]


def _conv(name, x_shape, w_shape, dtype="float32", tol=1e-5, **params):
    p = {"window_strides": (1,) * (len(x_shape) - 2), "padding": "VALID"} | params

    def fn(x, w):
        return lax.conv_general_dilated(x, w, **p)

    return Case(
        name,
        fn,
        lambda rng: [_data(rng, x_shape, dtype), _data(rng, w_shape, dtype)],
        "conv_block",
        tol,
    )


CONV_CASES = [  # emitted with the block schedule forced (BLOCK_MIN_TERMS = 0), except the first
    _conv("natural_block_schedule", (1, 16, 5, 5), (2, 16, 4, 4), tol=1e-4),
    _conv("conv2d_same", (1, 3, 5, 4), (2, 3, 3, 3), padding=((1, 1), (1, 1))),
    _conv(
        "conv2d_every_param",
        (1, 3, 7, 6),
        (2, 3, 3, 2),
        window_strides=(2, 1),
        padding=((1, -1), (2, 0)),
        lhs_dilation=(1, 2),
        rhs_dilation=(2, 1),
    ),
    _conv(
        "conv1d_groups",
        (2, 4, 9),
        (4, 2, 3),
        window_strides=(2,),
        padding=((2, 1),),
        feature_group_count=2,
    ),
    _conv(
        "conv2d_f64",
        (1, 2, 5, 5),
        (2, 2, 2, 2),
        "float64",
        1e-12,
        window_strides=(2, 2),
        padding=((1, 1), (0, 1)),
    ),
    _conv("conv2d_i32", (1, 3, 4, 4), (2, 3, 2, 2), "int32", padding=((1, 0), (0, 1))),
    _conv("conv1d_i8_to_i32", (1, 4, 9), (3, 4, 3), "int8", preferred_element_type=np.int32),
    _conv("conv1d_bool", (1, 3, 6), (2, 3, 2), "bool", padding=((1, 1),)),
    _conv("conv2d_f16", (1, 2, 4, 4), (2, 2, 3, 3), "float16", 1e-2, padding=((1, 1), (1, 1))),
    _conv("conv_all_padding", (1, 1, 3), (2, 1, 2), padding=((-3, 4),)),
]


def _sort_case(name, make, dimension=-1, num_keys=1, n_out=1):
    def fn(*xs):
        outs = lax.sort(list(xs), dimension=dimension, num_keys=num_keys)
        return tuple(outs[:n_out]) if n_out > 1 else outs[0]

    return Case(name, fn, make, "sort_block", 0)


SORT_CASES = [
    _sort_case("f32_special_values", lambda rng: [_special(rng, (3, 100))]),
    _sort_case("i32_many_ties", lambda rng: [rng.integers(-5, 5, (2, 33)).astype(np.int32)]),
    _sort_case("f64_axis0", lambda rng: [_data(rng, (40, 2), "float64")], dimension=0),
    _sort_case("bool_64", lambda rng: [_data(rng, (2, 64), "bool")]),
    _sort_case("f16_50", lambda rng: [_data(rng, (2, 50), "float16")]),
    _sort_case("one_long_row", lambda rng: [_data(rng, (1, 600))]),
    _sort_case(
        "two_keys_and_payload",
        lambda rng: [
            rng.integers(0, 3, (2, 70)).astype(np.int32),
            _special(rng, (2, 70)),
            np.arange(140, dtype=np.int32).reshape(2, 70),
        ],
        num_keys=2,
        n_out=3,
    ),
    _sort_case(
        "stable_payload",
        lambda rng: [rng.integers(0, 4, (3, 45)).astype(np.int8), rng.standard_normal((3, 45))],
        n_out=2,
    ),
]


class Lowered(NamedTuple):
    program: K.Program
    consts: tuple
    launches: list
    kernels_text: str


def _lower(case: Case, module) -> Lowered:
    args = case.make(np.random.default_rng(0))
    lowered = fg.jit(case.fn, backend="cuda").lower(*args)
    program, consts = compiler.program_from_jaxpr(lowered.jaxpr, case.name)
    _, launches = codegen.emit_program(program, module)
    return Lowered(program, consts, launches, lowered.as_text("kernels"))


def _group(cases, name, patches=()):
    """Every case's program in one NVPTX module -> one HostModule; ``patches``: (object,
    attribute, value) in force while the kernels are emitted."""
    module = ptx.new_kernel_module(name)
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _ in patches]
    try:
        for obj, attr, value in patches:
            setattr(obj, attr, value)
        lowered = {case.name: _lower(case, module) for case in cases}
    finally:
        for obj, attr, value in saved:
            setattr(obj, attr, value)
    return cuda_emu.HostModule(str(module), name), lowered


def run_program(hm: cuda_emu.HostModule, low: Lowered, args, grid=None) -> list:
    """Run a lowered program's launches on numpy buffers (each buffer exactly its bytes in the
    allowed ranges); ``grid`` overrides the grid of its cooperative launches."""
    program = low.program
    bufs = {b.id: np.zeros(max(b.size, 1), b.dtype) for b in program.buffers}
    for i, x in zip(program.inputs, [*low.consts, *args]):
        if np.size(x):
            bufs[i][: np.size(x)] = np.asarray(x, program.buffer(i).dtype).reshape(-1)
    ranges = [
        (bufs[b.id].ctypes.data, bufs[b.id].ctypes.data + b.size * b.dtype.itemsize)
        for b in program.buffers
    ]
    for launch in low.launches:
        if 0 not in launch.grid:
            cooperative = grid and launch.kind in COOPERATIVE_KINDS
            hm.launch(
                launch.name,
                grid if cooperative else launch.grid,
                launch.block,
                [bufs[i].ctypes.data for i in launch.buffers],
                ranges,
            )
    return [
        bufs[o][: program.buffer(o).size].reshape(program.buffer(o).shape) for o in program.outputs
    ]


def _check(got, want, tol, where):
    want = np.asarray(want)
    assert got.shape == want.shape, (where, got.shape, want.shape)
    if want.dtype.kind in "biu" or tol == 0:  # bit for bit (the sign of a zero too)
        np.testing.assert_array_equal(got, want.astype(got.dtype), err_msg=where)
        if want.dtype.kind == "f":
            np.testing.assert_array_equal(np.signbit(got), np.signbit(want), err_msg=where)
        return
    g, w = got.astype(np.complex128), want.astype(np.complex128)
    scale = max(1.0, float(np.nanmax(np.abs(w), initial=0.0)))
    np.testing.assert_allclose(g, w, rtol=tol, atol=tol * scale, err_msg=where)


def _eager(case, args) -> list:
    out = case.fn(*args)
    return [np.asarray(o) for o in (out if isinstance(out, tuple) else [out])]


def _check_case(group, case, seed, grid=None):
    hm, lowered = group
    low = lowered[case.name]
    assert "FALLBACK" not in low.kernels_text, low.kernels_text
    kinds = {k.kind for k in low.launches}
    assert case.kind in kinds, (case.name, kinds)
    cooperative = {k.name for k in low.launches if hm.is_cooperative(k.name)}
    assert cooperative == {k.name for k in low.launches if k.kind in COOPERATIVE_KINDS}
    args = case.make(np.random.default_rng(seed))
    got = run_program(hm, low, args, grid)
    for g, w in zip(got, _eager(case, args), strict=True):
        _check(g, w, case.tol, case.name)


COOPERATIVE_KINDS = {"reduce_block", "dot_tiled", "dot_mma", "conv_block", "sort_block"}


LARGE_MMA_CASES = [_dot("f16_large_tile_config", (70, 50), (50, 130), "float16", tol=2e-3)]
# the 128x128 float32 kernel (8x8 outputs per thread, float4 fragment loads), forced on small
# products: edges in every direction, K not a multiple of 8, transposes, batches
SGEMM_CASES = [
    _dot("sg_f32_130x21x129", (130, 21), (21, 129)),
    _dot("sg_f32_1x1x1", (1, 1), (1, 1)),
    _dot("sg_f32_lhs_transposed", (19, 70), (19, 40), fn=_T),
    _dot("sg_f32_rhs_transposed", (33, 16), (140, 16), fn=_TT),
    _dot("sg_f32_batched", (2, 65, 9), (2, 9, 67)),
]
GROUPS = [  # (host module, cases, (object, attribute, value) in force while emitting them)
    ("emu_reduce", REDUCE_CASES, ()),
    ("emu_dot", DOT_CASES, ()),
    ("emu_dot_large", LARGE_MMA_CASES, ((codegen, "mma_config", lambda m, n: codegen.MMA_LARGE),)),
    ("emu_sgemm", SGEMM_CASES, ((codegen, "tiled_config", lambda m, n, dt: "large"),)),
    ("emu_conv", CONV_CASES[:1], ()),
    ("emu_conv_forced", CONV_CASES[1:], ((cuda_conv, "BLOCK_MIN_TERMS", 0),)),
    ("emu_sort", SORT_CASES, ()),
]
CASES = {c.name: c for _, cases, _ in GROUPS for c in cases}


class _Groups(dict):
    """case name -> (HostModule, lowered cases) of its group, each group built on first use."""

    def __missing__(self, name):
        module, cases, patches = next(g for g in GROUPS if any(c.name == name for c in g[1]))
        group = _group(cases, module, patches)
        self.update({c.name: group for c in cases})
        return group


@pytest.fixture(scope="module")
def groups():
    return _Groups()


@pytest.mark.parametrize("case", REDUCE_CASES, ids=lambda c: c.name)
def test_block_reductions_match_eager(groups, case):
    _check_case(groups[case.name], case, 1)


@pytest.mark.parametrize("case", DOT_CASES, ids=lambda c: c.name)
def test_matmuls_match_eager(groups, case):
    _check_case(groups[case.name], case, 1)


def test_mma_large_block_tile_matches_eager(groups):
    (case,) = LARGE_MMA_CASES
    assert {k.block for k in groups[case.name][1][case.name].launches} == {(32, 8)}
    _check_case(groups[case.name], case, 4)


@pytest.mark.parametrize("case", SGEMM_CASES, ids=lambda c: c.name)
def test_large_float32_tile_matches_eager(groups, case):
    assert {k.grid[0] for k in groups[case.name][1][case.name].launches} <= {1, 2}  # 128 wide
    _check_case(groups[case.name], case, 3)


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: c.name)
def test_block_per_output_convolution_matches_eager(groups, case):
    _check_case(groups[case.name], case, 1)


@pytest.mark.parametrize("case", SORT_CASES, ids=lambda c: c.name)
def test_block_merge_sort_matches_eager(groups, case):
    _check_case(groups[case.name], case, 1)


@pytest.mark.parametrize(
    "name, grid",
    [
        ("sum_i32_257", (2,)),
        ("f32_batched", (1, 1, 2)),
        ("f16_batched_rhs_transposed", (1, 1, 1)),
        ("f32_special_values", (2,)),
        ("conv1d_groups", (3,)),
    ],
)
def test_fewer_blocks_than_the_work_still_cover_it(groups, name, grid):
    """Blocks stride over outputs, batches and rows (for grids past the hardware limits):
    launched with fewer blocks than the code generator asks for, the results stay right."""
    (launch,) = [k for k in groups[name][1][name].launches if k.kind in COOPERATIVE_KINDS]
    assert np.prod(grid) < np.prod(launch.grid), launch
    _check_case(groups[name], CASES[name], 2, grid=grid)


@pytest.mark.parametrize("name", ["sum_f32_1000", "f16_17x65x33", "f32_special_values"])
def test_reverse_schedule_gives_the_same_results(groups, name, monkeypatch):
    """Another legal interleaving of the threads (resumed last to first)."""
    monkeypatch.setattr(groups[name][0], "schedule", "reverse")
    _check_case(groups[name], CASES[name], 5)
