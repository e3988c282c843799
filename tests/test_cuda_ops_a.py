"""CUDA op kernels of ``backend/cuda/ops/conv.py`` and ``indexing.py`` (conv_general_dilated,
gather, scatter, scatter_add, dynamic_slice, dynamic_update_slice, concatenate, pad).

Without a GPU: every case lowers to a kernel program with the op kernel and no Fallback, and
the PTX of all cases (one module, one ptxas call) assembles for sm_90. The kernels are also
*run* on the CPU: the same LLVM IR, with the special-register intrinsics (tid, ntid, ctaid,
nctaid) turned into reads of globals, is compiled for the host and every launch is executed
thread by thread (2 blocks of 3 threads: the grid-stride loops then split the work as on a
GPU), and every element address is checked against its buffer's size first (out-of-range
indices must never touch memory outside a buffer). That is a legal schedule for kernels
without barriers (all of these but the block-per-output convolution, which is checked in its
thread-per-output form here and for real by the ``cuda``-marked tests at the end, skipped
without a GPU). The sequential schedule makes atomics trivially atomic, so it checks the
arithmetic and addressing, not races. Each kernel runs twice: with its i32 index arithmetic
and forced to i64 (the path of arrays over 2**30 elements).
"""

from __future__ import annotations

import ctypes
import dataclasses
import re
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.cpu import engine
from funcgrad.backend.cuda import codegen, compiler, driver, ptx
from funcgrad.backend.cuda.ops import conv as cuda_conv
from funcgrad.backend.cuda.ops import indexing as cuda_indexing

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax, nn
from funcgrad._src.lax.indexing import gather_p, scatter_add_p
from funcgrad._src.lax.slicing import dynamic_slice_p

# compiler errors raise (no silent numpy fallback); 64-bit dtypes stay 64-bit (conftest.py)
pytestmark = pytest.mark.usefixtures("strict_jit", "x64")


# ---- the cases -----------------------------------------------------------------------------------


class Case(NamedTuple):
    name: str
    fn: Callable
    make: Callable  # rng -> argument list
    prims: tuple  # op kernels the program must contain
    tol: float = 1e-5


def _normal(rng, shape, dtype="float32"):
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return rng.integers(max(info.min, -100), min(info.max, 100) + 1, shape).astype(dt)
    return rng.standard_normal(shape).astype(dt)


def _ints(rng, lo, hi, shape, dtype="int32"):
    return rng.integers(lo, hi, shape).astype(dtype)


def _conv(name, x_shape, w_shape, dtype="float32", tol=1e-5, **params):
    p = {"window_strides": (1,) * (len(x_shape) - 2), "padding": "VALID"} | params

    def fn(x, w):
        return lax.conv_general_dilated(x, w, **p)

    return Case(
        name,
        fn,
        lambda rng: [_normal(rng, x_shape, dtype), _normal(rng, w_shape, dtype)],
        ("conv_general_dilated",),
        tol,
    )


CONV_CASES = [
    _conv("conv2d_same", (2, 3, 7, 6), (4, 3, 3, 3), padding=((1, 1), (1, 1))),
    _conv(
        "conv2d_every_param",
        (2, 3, 9, 8),
        (4, 3, 3, 2),
        window_strides=(2, 1),
        padding=((1, -1), (2, 0)),
        lhs_dilation=(1, 2),
        rhs_dilation=(2, 1),
    ),
    _conv(
        "conv1d_groups",
        (3, 4, 11),
        (6, 2, 3),
        window_strides=(2,),
        padding=((2, 1),),
        feature_group_count=2,
    ),
    _conv(
        "conv1d_depthwise_dilated",
        (2, 3, 10),
        (3, 1, 2),
        padding=((-1, 3),),
        lhs_dilation=(3,),
        rhs_dilation=(2,),
        feature_group_count=3,
    ),
    _conv(
        "conv3d",
        (1, 2, 4, 5, 3),
        (3, 2, 2, 3, 1),
        padding=((1, 0), (0, 1), (0, 0)),
        lhs_dilation=(2, 1, 1),
    ),
    _conv(
        "conv2d_f64",
        (2, 2, 5, 5),
        (3, 2, 2, 2),
        "float64",
        1e-12,
        window_strides=(2, 2),
        padding=((1, 1), (0, 1)),
    ),
    _conv("conv2d_i32", (2, 3, 5, 4), (2, 3, 2, 2), "int32", padding=((1, 0), (0, 1))),
    _conv("conv1d_i8_wraps", (2, 4, 9), (3, 4, 3), "int8", preferred_element_type=np.int32),
    _conv("conv1d_bool", (2, 3, 6), (2, 3, 2), "bool", padding=((1, 1),)),
    _conv("conv2d_f16", (1, 2, 5, 5), (2, 2, 3, 3), "float16", 1e-2, padding=((1, 1), (1, 1))),
    _conv("conv2d_f32_to_f64", (1, 2, 4, 4), (2, 2, 2, 2), preferred_element_type=np.float64),
    _conv("conv_empty_batch", (0, 2, 5), (3, 2, 2)),
    _conv("conv_no_channels", (2, 0, 5), (3, 0, 2)),
    _conv("conv_empty_output", (2, 2, 2), (3, 2, 4)),
    _conv("conv_all_padding", (1, 1, 3), (2, 1, 2), padding=((-3, 4),)),
    _conv("conv_size1", (1, 1, 1, 1), (1, 1, 1, 1)),
    # the shapes of a weight gradient: few outputs, long sums (block-per-output on a GPU)
    _conv("conv_weight_grad_shape", (3, 16, 12, 12), (4, 16, 10, 10), tol=2e-4),
]


def _gather(
    name,
    op_shape,
    idx_shape,
    axes,
    lo,
    hi,
    dtype="float32",
    idx_dtype="int32",
    mode="clip",
    fill_value=None,
):
    def fn(x, i):
        return lax.gather(x, i, axes, mode, fill_value)

    return Case(
        name,
        fn,
        lambda rng: [_normal(rng, op_shape, dtype), _ints(rng, lo, hi, idx_shape, idx_dtype)],
        ("gather",),
    )


def _scatter(
    name,
    op_shape,
    idx_shape,
    axes,
    lo,
    hi,
    kind="add",
    dtype="float32",
    idx_dtype="int32",
    mode="drop",
    tol=1e-5,
):
    upd_shape = idx_shape[:-1] + tuple(s for d, s in enumerate(op_shape) if d not in axes)

    def fn(x, i, u):
        if kind == "add":
            return lax.scatter_add(x, i, u, axes, mode)
        return lax.scatter(x, i, u, axes, mode, kind)

    return Case(
        name,
        fn,
        lambda rng: [
            _normal(rng, op_shape, dtype),
            _ints(rng, lo, hi, idx_shape, idx_dtype),
            _normal(rng, upd_shape, dtype),
        ],
        ("scatter_add" if kind == "add" else "scatter",),
        tol,
    )


INDEX_CASES = [
    _gather("gather_rows_clip", (7, 5), (4, 1), (0,), -3, 10),
    _gather("gather_2axes_fill", (4, 3, 5), (2, 3, 2), (2, 0), -2, 6, mode="fill"),
    _gather("gather_fill_value_i32", (6, 4), (5, 1), (1,), -1, 6, "int32", "int8", "fill", 7),
    _gather("gather_bool_u8", (9,), (4, 1), (0,), 0, 255, "bool", "uint8"),
    _gather("gather_i64_idx_f64", (3, 4), (2, 2, 2), (0, 1), -5, 5, "float64", "int64"),
    _gather("gather_u64_idx_f16", (5, 2), (3, 1), (0,), 0, 9, "float16", "uint64", "fill"),
    Case(
        "gather_u64_beyond_int64",
        lambda x, i: lax.gather(x, i, (0,), "fill", -1.0),
        lambda rng: [
            _normal(rng, (5, 2)),
            np.array([[2**63 + 1], [3], [2**64 - 1], [4]], np.uint64),
        ],
        ("gather",),
    ),
    _gather("gather_empty_axis_fill", (0, 3), (2, 1), (0,), -1, 2, mode="fill"),
    _gather("gather_empty_axis_clip", (0, 3), (2, 1), (0,), -1, 2, "int32"),
    _gather("gather_no_batch", (4, 5), (1,), (1,), 0, 5),
    _gather("gather_empty_batch", (4, 5), (0, 1), (1,), 0, 5),
    _scatter("scatter_add_f32_dup", (6, 3), (10, 1), (0,), -2, 8),
    _scatter("scatter_add_clip", (5, 4), (7, 1), (1,), -3, 7, mode="clip"),
    _scatter("scatter_add_i32_2axes", (4, 5, 3), (6, 2), (0, 2), 0, 4, dtype="int32"),
    _scatter("scatter_add_i8", (4,), (9, 1), (0,), -1, 5, dtype="int8", idx_dtype="int16"),
    _scatter("scatter_add_f16", (5,), (8, 1), (0,), 0, 5, dtype="float16", tol=1e-2),
    _scatter(
        "scatter_add_f64_u32",
        (3, 3),
        (4, 1),
        (1,),
        0,
        5,
        dtype="float64",
        idx_dtype="uint32",
        tol=1e-12,
    ),
    _scatter("scatter_add_bool", (6,), (5, 1), (0,), 0, 6, dtype="bool"),
    _scatter("scatter_add_empty_axis_drop", (0, 2), (3, 1), (0,), -1, 2),
    _scatter("scatter_set_unique", (8, 2), (8, 1), (0,), 0, 8, "set"),  # a permutation below
    Case(
        "scatter_set_literal_update",
        lambda x, i: lax.scatter(x, i, 2.5, (0,)),
        lambda rng: [_normal(rng, (5,)), _ints(rng, -1, 6, (1,))],
        ("scatter",),
    ),
    _scatter("scatter_set_clip_i64", (5, 3), (4, 1), (0,), 0, 5, "set", "int64", mode="clip"),
    _scatter("scatter_mul_f32", (5, 2), (7, 1), (0,), -1, 6, "mul", tol=1e-5),
    _scatter("scatter_mul_i32", (4,), (6, 1), (0,), 0, 5, "mul", "int32"),
    _scatter("scatter_min_f32", (6,), (9, 1), (0,), 0, 7, "min"),
    _scatter("scatter_max_i16", (6,), (9, 1), (0,), -1, 6, "max", "int16"),
    _scatter("scatter_max_u8", (6,), (9, 1), (0,), 0, 6, "max", "uint8"),
    _scatter("scatter_min_bool", (6,), (9, 1), (0,), 0, 6, "min", "bool"),
    _scatter("scatter_max_bool", (6,), (9, 1), (0,), 0, 6, "max", "bool"),
    _scatter("scatter_mul_bool", (6,), (9, 1), (0,), 0, 6, "mul", "bool"),
    _scatter("scatter_max_f64", (3, 2), (5, 2), (0, 1), 0, 3, "max", "float64"),
    _scatter("scatter_max_f16", (4, 2), (6, 1), (0,), 0, 4, "max", "float16"),
]


def _starts(rng, shape, lo_pad=3, dtype="int32"):
    return [np.asarray(rng.integers(-lo_pad, n + lo_pad), dtype) for n in shape]


STRUCT_CASES = [
    Case(
        "dynamic_slice_traced",
        lambda x, i, j: lax.dynamic_slice(x, (i, j), (3, 2)),
        lambda rng: [_normal(rng, (6, 5)), *_starts(rng, (6, 5))],
        ("dynamic_slice",),
    ),
    Case(
        "dynamic_slice_literal_u8",
        lambda x, i: lax.dynamic_slice(x, (i, 7, 1), (2, 1, 3)),
        lambda rng: [_normal(rng, (4, 3, 5), "int8"), *_starts(rng, (4,), 0, "uint8")],
        ("dynamic_slice",),
    ),
    Case(
        "dynamic_slice_u64_huge",
        lambda x, i: dynamic_slice_p.bind(x, i, slice_sizes=(2,)),
        lambda rng: [_normal(rng, (5,)), np.uint64(2**63 + int(rng.integers(0, 9)))],
        ("dynamic_slice",),
    ),
    Case(
        "dynamic_slice_i64_bool",
        lambda x, i: dynamic_slice_p.bind(x, i, np.int64(-4), slice_sizes=(0, 2)),
        lambda rng: [_normal(rng, (3, 4), "bool"), np.int64(rng.integers(-9, 9))],
        ("dynamic_slice",),
    ),
    Case(
        "dynamic_update_slice",
        lambda x, u, i, j: lax.dynamic_update_slice(x, u, (i, j)),
        lambda rng: [_normal(rng, (6, 7)), _normal(rng, (2, 3)), *_starts(rng, (6, 7))],
        ("dynamic_update_slice",),
    ),
    Case(
        "dynamic_update_slice_f64_3d",
        lambda x, u, i: lax.dynamic_update_slice(x, u, (i, -1, 9)),
        lambda rng: [
            _normal(rng, (3, 4, 5), "float64"),
            _normal(rng, (3, 2, 2), "float64"),
            *_starts(rng, (3,)),
        ],
        ("dynamic_update_slice",),
    ),
    Case(
        "dynamic_update_slice_empty_update",
        lambda x, u, i: lax.dynamic_update_slice(x, u, (i, 0)),
        lambda rng: [
            _normal(rng, (3, 4), "int32"),
            _normal(rng, (0, 4), "int32"),
            *_starts(rng, (3,)),
        ],
        ("dynamic_update_slice",),
    ),
    Case(
        "concatenate_axis1",
        lambda x, y, z: lax.concatenate([x, y, z], 1),
        lambda rng: [_normal(rng, (2, 3, 4)), _normal(rng, (2, 1, 4)), _normal(rng, (2, 5, 4))],
        ("concatenate",),
    ),
    Case(
        "concatenate_axis0_repeat_i16",
        lambda x, y: lax.concatenate([x, y, x], 0),
        lambda rng: [_normal(rng, (3, 2), "int16"), _normal(rng, (1, 2), "int16")],
        ("concatenate",),
    ),
    Case(
        "concatenate_last_with_empty_bool",
        lambda x, y: lax.concatenate([x, y, x], 2),
        lambda rng: [_normal(rng, (2, 3, 2), "bool"), _normal(rng, (2, 3, 0), "bool")],
        ("concatenate",),
    ),
    Case(
        "pad_interior_negative",
        lambda x: lax.pad(x, 1.5, ((1, -1, 1), (2, 2, 0), (-1, 1, 2))),
        lambda rng: [_normal(rng, (3, 4, 5))],
        ("pad",),
    ),
    Case(
        "pad_traced_value_i32",
        lambda x, v: lax.pad(x, v, ((0, 3, 2), (-2, -1, 0))),
        lambda rng: [_normal(rng, (4, 6), "int32"), np.int32(rng.integers(-9, 9))],
        ("pad",),
    ),
    Case(
        "pad_empty_input_f16",
        lambda x: lax.pad(x, np.float16(2.5), ((1, 2, 3), (0, 1, 0))),
        lambda rng: [_normal(rng, (0, 3), "float16")],
        ("pad",),
    ),
    Case(
        "pad_scalar_u8",
        lambda x: lax.pad(x, np.uint8(200), ()),
        lambda rng: [np.uint8(rng.integers(0, 255))],
        ("pad",),
    ),
    Case(
        "pad_crop_everything_f64",
        lambda x: lax.pad(x, 0.0, ((-2, -1, 0),)),
        lambda rng: [_normal(rng, (3,), "float64")],
        ("pad",),
    ),
]

CASES = CONV_CASES + INDEX_CASES + STRUCT_CASES
EXACT = {"scatter_set_unique"}  # its indices are made a permutation (see _args)


def _args(case: Case, seed: int) -> list:
    rng = np.random.default_rng(seed)
    args = case.make(rng)
    if case.name == "scatter_set_unique":
        args[1] = rng.permutation(8).astype(np.int32).reshape(8, 1)
    return args


def _eager(case: Case, args) -> list:
    out = case.fn(*args)
    return [np.asarray(o) for o in (out if isinstance(out, (tuple, list)) else [out])]


def _assert_close(got, want, tol, where):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (
        where,
        got.dtype,
        want.dtype,
        got.shape,
        want.shape,
    )
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want, err_msg=where)
    else:
        np.testing.assert_allclose(
            got.astype(np.float64), want.astype(np.float64), rtol=tol, atol=tol, err_msg=where
        )


# ---- lowering: programs, one PTX module, ptxas ---------------------------------------------------


def _program(case: Case):
    return compiler.program_from_jaxpr(fg.make_jaxpr(case.fn)(*_args(case, 0)), case.name)


@pytest.fixture(scope="module")
def lowered():
    """Every case's program, emitted into one NVPTX module: (programs, launches, ptx)."""
    module = ptx.new_kernel_module("ops_a")
    programs, launches = {}, {}
    for case in CASES:
        programs[case.name] = _program(case)
        _, launches[case.name] = codegen.emit_program(programs[case.name][0], module)
    return programs, launches, ptx.compile_ptx(module)  # sm_80: what the runtime loads


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_program_has_the_op_kernel_and_no_fallback(lowered, case):
    program, _ = lowered[0][case.name]
    text = K.program_str(program)
    assert "FALLBACK" not in text, text
    ops = [s.eqn.primitive.name for s in program.steps if isinstance(s, K.OpKernel)]
    assert ops == list(case.prims), text


def test_every_launch_is_a_ptx_entry(lowered):
    _, launches, text = lowered
    entries = set(re.findall(r"\.visible \.entry (\w+)\(", text))
    names = [k.name for ks in launches.values() for k in ks]
    assert len(names) == len(set(names)) and set(names) <= entries, sorted(set(names) - entries)


def test_ptxas_assembles_every_kernel_for_sm_90(lowered):
    result = ptx.ptxas_check(lowered[2], "sm_90")
    if result is None:
        pytest.skip("ptxas is not on PATH (install the CUDA toolkit to assemble generated PTX)")
    ok, log = result
    assert ok, log[-4000:]


def test_empty_work_skips_the_launch(lowered):
    for name in ("conv_empty_batch", "conv_empty_output", "gather_empty_batch"):
        assert all(k.grid == (0,) for k in lowered[1][name]), name
    assert all(k.grid[0] > 0 for k in lowered[1]["conv2d_same"])


def test_weight_gradient_shape_uses_a_block_per_output(lowered):
    (launch,) = lowered[1]["conv_weight_grad_shape"]
    assert launch.kind == "conv_block" and launch.block == (codegen.BLOCK,)
    (launch,) = lowered[1]["conv2d_same"]
    assert launch.kind == "conv_thread"


def _refused_cases():
    x, x_i8 = np.ones((4, 3), np.float32), np.ones((4, 3), np.int8)
    idx1, idx2 = np.zeros((2, 1), np.int32), np.zeros((2, 2), np.int32)
    return {
        "gather_repeated_axes": (
            lambda x, i: gather_p.bind(x, i, axes=(0, 0), mode="clip", fill_value=None),
            (x, idx2),
        ),
        "gather_negative_axis": (
            lambda x, i: gather_p.bind(x, i, axes=(-1,), mode="clip", fill_value=None),
            (x, idx1),
        ),
        "gather_uncastable_fill": (
            lambda x, i: gather_p.bind(x, i, axes=(0,), mode="fill", fill_value=1000),
            (x_i8, idx1),
        ),
        "gather_nan_fill_for_ints": (
            lambda x, i: gather_p.bind(x, i, axes=(0,), mode="fill", fill_value=float("nan")),
            (x_i8, idx1),
        ),
        "scatter_clip_into_empty_axis": (
            lambda x, i, u: scatter_add_p.bind(x, i, u, axes=(0,), mode="clip"),
            (x[:0], idx1, np.ones((2, 3), np.float32)),
        ),
    }


@pytest.mark.parametrize("name", sorted(_refused_cases()))
def test_refused_cases_stay_numpy_fallbacks(name):
    fn, args = _refused_cases()[name]
    program, _ = compiler.program_from_jaxpr(fg.make_jaxpr(fn)(*args), name)
    assert [type(s) for s in program.steps] == [K.Fallback], K.program_str(program)
    with pytest.raises(compiler.CudaUnsupportedError, match="primitive"):
        compiler.lower_program(program)


def _convnet():
    """A small convnet's loss (convs with padding and stride, max pooling, a dense layer),
    its parameters and a batch."""
    keys = fg.random.split(fg.random.key(0), 3)
    params = (
        nn.Conv2d(1, 4, 3, key=keys[0], padding=1),
        nn.Conv2d(4, 6, 3, key=keys[1], stride=2),
        nn.Linear(24, 10, key=keys[2]),
    )
    pool = nn.MaxPool2d(2)

    def forward(p, x):
        h = pool(fnp.tanh(p[0](x)))
        return p[2](fnp.reshape(fnp.tanh(p[1](h)), (-1,)))

    def loss(p, x, y):
        logits = fg.vmap(forward, (None, 0))(p, x)
        return -fnp.mean(fnp.sum(nn.log_softmax(logits) * y, -1))

    x = np.random.default_rng(0).standard_normal((5, 1, 12, 12)).astype(np.float32)
    return loss, params, x, np.eye(10, dtype=np.float32)[[1, 2, 3, 4, 5]]


def test_convnet_gradient_lowers_completely():
    loss, *args = _convnet()
    lowered = fg.jit(fg.grad(loss), backend="cuda").lower(*args)
    kernels = lowered.as_text("kernels")
    assert "FALLBACK" not in kernels
    assert kernels.count("op conv_general_dilated") == 5  # forward 2, input grad 1, weights 2
    assert "op pad" in kernels and "op concatenate" in kernels  # from the pooling's gradient
    text = lowered.as_text("ptx")
    assert text.count(".entry") >= kernels.count("step ")
    result = ptx.ptxas_check(text, "sm_90")
    if result is None:
        pytest.skip("ptxas is not on PATH (install the CUDA toolkit to assemble generated PTX)")
    assert result[0], result[1][-4000:]


# ---- running the kernels on the CPU --------------------------------------------------------------

EMU_GRID, EMU_BLOCK = 2, 3  # threads the emulation runs, one after another
_SREGS = ("tid", "ntid", "ctaid", "nctaid")


_GEP = re.compile(
    r'^(\s*)(%"[^"]+") = getelementptr inbounds [^,]+, ptr %"b(\d+)", '
    r'(i32|i64) (%"[^"]+"|-?\d+)$',
    re.MULTILINE,
)
_CHECK = """
@"emu.sizes" = global [4096 x i64] zeroinitializer
@"emu.bad" = global i64 0
define void @"emu.check"(i64 %buf, i64 %i) {
  %p = getelementptr [4096 x i64], ptr @"emu.sizes", i64 0, i64 %buf
  %n = load volatile i64, ptr %p
  %ok = icmp ult i64 %i, %n
  br i1 %ok, label %done, label %bad
bad:
  store volatile i64 1, ptr @"emu.bad"
  br label %done
done:
  ret void
}
"""


def _bounds_checked(match) -> str:
    """A GEP on buffer argument ``b<id>``, preceded by a call checking its index."""
    indent, name, buf, ty, index = match.groups()
    wide = f'{name[:-1]}.chk"'
    ext = f"{indent}{wide} = sext {ty} {index} to i64\n" if ty == "i32" else ""
    arg = wide if ty == "i32" else index
    return f'{ext}{indent}call void @"emu.check"(i64 {buf}, i64 {arg})\n{match.group(0)}'


def _host_ir(nvptx_ir: str) -> str:
    """NVPTX LLVM IR -> host IR: special registers read globals the emulator sets, and every
    element address of a buffer is checked against the buffer's size first."""
    text = re.sub(
        r"^(target (triple|datalayout) = .*|!nvvm\.annotations = .*)$",
        "",
        nvptx_ir,
        flags=re.MULTILINE,
    )
    text = re.sub(
        r'^declare i32 @"llvm\.nvvm\.read\.ptx\.sreg\.\w+\.\w"\(\)$', "", text, flags=re.MULTILINE
    )
    text = re.sub(r'@"llvm\.nvvm\.read\.ptx\.sreg\.(\w+)\.(\w)"', r'@"emu.\1.\2"', text)
    text = _GEP.sub(_bounds_checked, text)
    defs = [_CHECK]
    for reg in _SREGS:
        for dim in "xyz":
            g = f'@"emu.g.{reg}.{dim}"'
            defs += [
                f"{g} = global i32 0",
                f'define i32 @"emu.{reg}.{dim}"() {{\n  %v = load i32, ptr {g}\n  ret i32 %v\n}}',
            ]
    return text + "\n" + "\n".join(defs) + "\n"


class Emulator:
    """Compiled host versions of the kernels; ``run(program, launches, inputs)``."""

    def __init__(self, module):
        host = _host_ir(str(module))
        self.compiled = engine.compile_module(host, name="ops_a_emu")
        self.checks = host.count('call void @"emu.check"')
        self.geps = len(re.findall(r'getelementptr inbounds [^,]+, ptr %"b\d+"', str(module)))
        address = self.compiled.engine.get_global_value_address
        self.sregs = {
            (r, d): ctypes.c_int32.from_address(address(f"emu.g.{r}.{d}"))
            for r in _SREGS
            for d in "xyz"
        }
        self.sizes = (ctypes.c_int64 * 4096).from_address(address("emu.sizes"))
        self.bad = ctypes.c_int64.from_address(address("emu.bad"))
        for d in "yz":
            self.sregs["ntid", d].value = self.sregs["nctaid", d].value = 1

    def launch(self, launch, bufs) -> None:
        fn = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * len(launch.buffers))(
            self.compiled.address(launch.name)
        )
        args = [bufs[i].ctypes.data for i in launch.buffers]
        self.sregs["ntid", "x"].value, self.sregs["nctaid", "x"].value = EMU_BLOCK, EMU_GRID
        for block in range(EMU_GRID):
            for thread in range(EMU_BLOCK):
                self.sregs["ctaid", "x"].value, self.sregs["tid", "x"].value = block, thread
                fn(*args)

    def run(self, program: K.Program, launches, inputs) -> list:
        bufs = {b.id: np.zeros(max(b.size, 1), b.dtype) for b in program.buffers}
        for b in program.buffers:
            self.sizes[b.id] = b.size
        for i, x in zip(program.inputs, inputs):
            bufs[i][: max(np.size(x), 1)] = np.asarray(x).reshape(-1) if np.size(x) else 0
        self.bad.value = 0
        for launch in launches:
            if launch.grid != (0,):
                self.launch(launch, bufs)
        assert self.bad.value == 0, f"{program.name}: an access outside a buffer"
        return [
            bufs[o][: program.buffer(o).size].reshape(program.buffer(o).shape)
            for o in program.outputs
        ]


EMULATED_KINDS = {
    "elementwise",
    "reduce_thread",
    "conv_thread",
    "gather",
    "copy",
    "scatter",
    "dynamic_slice",
    "dynamic_update_slice",
    "concatenate",
    "pad",
}


@pytest.fixture(scope="module")
def emulated(lowered):
    """Every case's kernels in one host module, twice: with the index arithmetic the sizes call
    for (i32 here) and forced to i64 (the path of arrays over 2**30 elements). Convolutions are
    forced to a thread per output (the block schedule needs real threads)."""
    module = ptx.new_kernel_module("ops_a_emu")
    launches = {}
    saved = cuda_conv.BLOCK_MAX_OUTPUTS, cuda_indexing.index_type, cuda_conv.index_type
    cuda_conv.BLOCK_MAX_OUTPUTS = 0
    try:
        for wide in (False, True):
            if wide:
                cuda_indexing.index_type = cuda_conv.index_type = lambda *sizes: ptx.i64
            for case in CASES:
                program = dataclasses.replace(
                    lowered[0][case.name][0], name=case.name + ("_i64" if wide else "")
                )
                _, launches[case.name, wide] = codegen.emit_program(program, module)
    finally:
        cuda_conv.BLOCK_MAX_OUTPUTS, cuda_indexing.index_type, cuda_conv.index_type = saved
    return Emulator(module), launches


@pytest.mark.parametrize("seed, wide", [(1, False), (2, True)], ids=["i32", "i64"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_kernels_run_on_the_cpu_match_eager(lowered, emulated, case, seed, wide):
    emulator, launches = emulated
    assert {k.kind for k in launches[case.name, wide]} <= EMULATED_KINDS
    assert emulator.checks == emulator.geps > 0  # every buffer address is bounds-checked
    program, consts = lowered[0][case.name]
    args = _args(case, seed)
    got = emulator.run(program, launches[case.name, wide], [*consts, *args])
    for g, w in zip(got, _eager(case, args), strict=True):
        _assert_close(g, w, case.tol, case.name)


def test_scatter_set_with_collisions_stores_one_of_the_updates(lowered, emulated):
    case = next(c for c in CASES if c.name == "scatter_set_clip_i64")
    emulator, launches = emulated
    program, consts = lowered[0][case.name]
    x = np.zeros((5, 3), np.int64)
    idx = np.array([[4], [9], [-2], [4]], np.int32)  # 4 and 9 clamp to 4, -2 to 0
    upd = np.arange(1, 13, dtype=np.int64).reshape(4, 3)
    (got,) = emulator.run(program, launches[case.name, False], [*consts, x, idx, upd])
    assert got[4].tolist() in (upd[0].tolist(), upd[1].tolist(), upd[3].tolist())
    assert got[0].tolist() == upd[2].tolist() and not got[1:4].any()


# ---- on a GPU ------------------------------------------------------------------------------------

GPU_CASES = [
    "conv2d_every_param",
    "conv1d_groups",
    "conv3d",
    "conv2d_i32",
    "conv2d_f16",
    "conv_weight_grad_shape",
    "gather_2axes_fill",
    "gather_u64_idx_f16",
    "scatter_add_f32_dup",
    "scatter_add_i8",
    "scatter_add_f16",
    "scatter_set_unique",
    "scatter_min_f32",
    "scatter_mul_i32",
    "scatter_max_bool",
    "dynamic_slice_traced",
    "dynamic_update_slice_f64_3d",
    "concatenate_axis1",
    "pad_interior_negative",
]
needs_gpu = pytest.mark.skipif(
    not driver.cuda_available(), reason="needs an NVIDIA GPU and the CUDA driver (libcuda.so.1)"
)


@pytest.mark.parametrize("name", GPU_CASES)
@pytest.mark.cuda
@needs_gpu
def test_gpu_matches_eager(name):
    case = next(c for c in CASES if c.name == name)
    args = _args(case, 3)
    got = fg.jit(case.fn, backend="cuda")(*args)
    for g, w in zip([got], _eager(case, args), strict=True):
        _assert_close(g, w, case.tol, name)


@pytest.mark.cuda
@needs_gpu
def test_gpu_scatter_add_many_collisions():
    rng = np.random.default_rng(4)
    x, idx = np.zeros(7, np.float32), rng.integers(0, 7, (20000, 1)).astype(np.int32)
    upd = rng.standard_normal(20000).astype(np.float32)
    f = fg.jit(lambda x, i, u: lax.scatter_add(x, i, u, (0,)), backend="cuda")
    np.testing.assert_allclose(
        np.asarray(f(x, idx, upd)),
        np.bincount(idx[:, 0], upd.astype(np.float64), 7),
        rtol=1e-4,
        atol=1e-3,
    )
    xi, ui = np.zeros(7, np.int32), rng.integers(-50, 50, 20000).astype(np.int32)
    got = fg.jit(lambda x, i, u: lax.scatter_add(x, i, u, (0,)), backend="cuda")(xi, idx, ui)
    np.testing.assert_array_equal(np.asarray(got), np.bincount(idx[:, 0], ui, 7).astype(np.int32))


@pytest.mark.cuda
@needs_gpu
def test_gpu_convnet_gradient_matches_eager():
    loss, *args = _convnet()
    got = fg.tree_util.tree_leaves(fg.jit(fg.grad(loss), backend="cuda")(*args))
    want = fg.tree_util.tree_leaves(fg.grad(loss)(*args))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-4, atol=1e-5)
