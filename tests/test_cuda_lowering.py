"""CUDA lowering without a GPU: every op of the table goes jaxpr -> kernel program (the CPU
fusion pass) -> NVPTX PTX. The PTX of the whole table (one module, one ptxas call) must contain
every kernel as an ``.entry`` and assemble for sm_90; each program's numpy ``interpret`` must
match eager evaluation. ``test_cuda_jit_exec.py`` runs the same table on a GPU."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
from funcgrad.backend import kernel_ir as K
from funcgrad.backend import scalar
from funcgrad.backend.cuda import codegen, compiler, ptx

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad._src.lax import elementwise as lax_elementwise
from funcgrad._src.lax import transcendental as lax_transcendental


class Op(NamedTuple):
    name: str
    fn: Callable
    shapes: tuple = ((37,),)
    dtype: str = "float32"
    lo: float = -2.0
    hi: float = 2.0
    tol: float = 2e-6


def _un(name, fn, lo=-2.0, hi=2.0, dtype="float32", tol=2e-6, shape=(37,)):
    return Op(name, fn, (shape,), dtype, lo, hi, tol)


def _bin(name, fn, lo=-2.0, hi=2.0, dtype="float32", tol=2e-6, shape=(5, 7)):
    return Op(name, fn, (shape, shape), dtype, lo, hi, tol)


OPS = [
    # -- elementwise, float32 ----------------------------------------------------------------
    *[
        _un(n, getattr(fnp, n))
        for n in (
            "exp",
            "exp2",
            "expm1",
            "tanh",
            "sin",
            "cos",
            "arctan",
            "sinh",
            "cosh",
            "arcsinh",
            "cbrt",
            "abs",
            "sign",
            "floor",
            "ceil",
            "negative",
            "isfinite",
        )
    ],
    _un("log", fnp.log, 0.05, 4.0),
    _un("log1p", fnp.log1p, -0.5, 4.0),
    _un("tan", fnp.tan, -1.2, 1.2),
    _un("arcsin", fnp.arcsin, -0.95, 0.95),
    _un("arccos", fnp.arccos, -0.95, 0.95),
    _un("arctanh", fnp.arctanh, -0.9, 0.9),
    _un("arccosh", fnp.arccosh, 1.05, 4.0),
    _un("sqrt", fnp.sqrt, 0.0, 4.0),
    _un("rsqrt", lax.rsqrt, 0.1, 4.0),
    _un("logistic", lax.logistic),
    _un("erf", lax.erf),
    _un("erfc", lax.erfc),
    _un("erf_inv", lax.erf_inv, -0.9, 0.9),
    _un("lgamma", lax.lgamma, 0.1, 5.0, tol=1e-5),
    _un("digamma", lax.digamma, 0.2, 5.0, tol=1e-5),
    _un("round_away", lambda x: lax.round(x * 3.0)),
    _un("round_even", lambda x: fnp.round(x * 3)),
    _un("integer_pow", lambda x: x**3 + lax.integer_pow(x, -2)),
    _un("square", lambda x: x**2),
    _bin("add", fnp.add),
    _bin("sub", fnp.subtract),
    _bin("mul", fnp.multiply),
    _bin("div", fnp.divide, 0.5, 2.0),
    _bin("rem", lax.rem, 0.5, 3.0),
    _bin("max", fnp.maximum),
    _bin("min", fnp.minimum),
    _bin("pow", fnp.power, 0.1, 3.0, tol=1e-5),
    _bin("atan2", fnp.arctan2),
    _bin("nextafter", lax.nextafter),
    *[
        _bin(n, getattr(fnp, n))
        for n in ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")
    ],
    _bin("where", lambda x, y: fnp.where(x > y, x, y * 2.0)),
    _un("convert_f32_i32", lambda x: (x * 10).astype(fnp.int32), -1e3, 1e3),
    _un("convert_f32_bool", lambda x: fnp.round(x).astype(bool)),
    _un("convert_f32_f16_f32", lambda x: x.astype(fnp.float16).astype(fnp.float32), tol=1e-3),
    _un("bitcast_f32_i32", lambda x: lax.bitcast_convert_type(x, np.int32)),
    _un("chain", lambda x: fnp.tanh(x) * 0.5 + fnp.sin(x) ** 2 - fnp.exp(-x * x), shape=(1000,)),
    _un("softplus_grad", fg.grad(lambda x: fnp.sum(fnp.logaddexp(x, 0.0)))),
    # -- elementwise, other dtypes -----------------------------------------------------------
    _bin("add_i32", fnp.add, -100, 100, "int32"),
    _bin("mul_i32", fnp.multiply, -100, 100, "int32"),
    _bin("div_i32", lax.div, -9, 9, "int32"),
    _bin("rem_i32", lax.rem, -9, 9, "int32"),
    _bin("max_i32", fnp.maximum, -9, 9, "int32"),
    _bin("lt_u8", fnp.less, 0, 200, "uint8"),
    _bin("and_i32", fnp.bitwise_and, -99, 99, "int32"),
    _bin("or_i32", fnp.bitwise_or, 0, 99, "int32"),
    _bin("xor_i32", fnp.bitwise_xor, 0, 99, "int32"),
    _un("not_i32", fnp.bitwise_not, -99, 99, "int32"),
    _un("neg_i32", fnp.negative, -99, 99, "int32"),
    _un("abs_i32", fnp.abs, -99, 99, "int32"),
    _un("sign_i32", fnp.sign, -3, 3, "int32"),
    _bin("shl_i32", lax.shift_left, -2, 40, "int32"),
    _bin("shr_logical_i32", lax.shift_right_logical, -2, 40, "int32"),
    _bin("shr_arith_i32", lax.shift_right_arithmetic, -2, 40, "int32"),
    _un("popcount_i32", lax.population_count, -999, 999, "int32"),
    _un("convert_i32_f32", lambda x: x.astype(fnp.float32) * 0.5, -999, 999, "int32"),
    _bin("logical_bool", lambda x, y: (x & ~y) | (y ^ x), 0, 2, "bool"),
    _bin("add_f16", fnp.add, dtype="float16", tol=1e-3),
    _un("tanh_exp_f16", lambda x: fnp.tanh(x) + fnp.exp(x), dtype="float16", tol=2e-3),
    # -- shapes (views) ------------------------------------------------------------------------
    _bin("broadcast_outer", lambda x, y: x[:, None] * y[None, :], shape=(9,)),
    _un("transpose", lambda x: fnp.transpose(x) + 1.0, shape=(6, 5)),
    _un("reshape", lambda x: fnp.reshape(fnp.sin(x), (5, 2, 3)) * 2.0, shape=(6, 5)),
    _un("slice_rev", lambda x: fnp.flip(x[1:6:2, ::2], 0) - x[0, 0], shape=(7, 8)),
    _un("squeeze_expand", lambda x: fnp.expand_dims(fnp.squeeze(x, 1), 0) * 3.0, shape=(4, 1, 3)),
    _un("iota", lambda x: x + lax.broadcasted_iota(np.float32, (4, 6), 1), shape=(4, 6)),
    # -- reductions ----------------------------------------------------------------------------
    _un("sum_all", fnp.sum, shape=(13, 9)),
    _un("sum_rows", lambda x: fnp.sum(x, 1), shape=(6, 300), tol=1e-5),
    _un("sum_cols_wide", lambda x: fnp.sum(x, 0), shape=(40, 4100), tol=1e-5),
    _un("mean_axis0", lambda x: fnp.mean(x, 0), shape=(200, 3), tol=1e-5),
    _un("max_rows", lambda x: fnp.max(x, 1), shape=(5, 333)),
    _un("min_mid", lambda x: fnp.min(x, 1), shape=(3, 70, 4)),
    _un("prod", lambda x: fnp.prod(x, 1), 0.5, 1.5, shape=(4, 40), tol=1e-5),
    _un("all_any", lambda x: fnp.all(x > -1.5, 1) | fnp.any(x > 1.9, 1), shape=(8, 50)),
    _un("sum_i32", lambda x: fnp.sum(x, 1), -9, 9, "int32", shape=(7, 100)),
    _un("max_i32_reduce", lambda x: fnp.max(x), -99, 99, "int32", shape=(100, 33)),
    _un("sum_f16", lambda x: fnp.sum(x, 1), dtype="float16", shape=(4, 64), tol=2e-2),
    _un(
        "logsumexp",
        lambda x: fnp.log(fnp.sum(fnp.exp(x - fnp.max(x, 1, keepdims=True)), 1)),
        shape=(16, 129),
        tol=1e-5,
    ),
    # -- dots ----------------------------------------------------------------------------------
    Op("matmul", fnp.matmul, ((37, 19), (19, 70)), tol=1e-5),
    Op("matmul_tn", lambda a, b: a.T @ b, ((19, 37), (19, 23)), tol=1e-5),
    Op("matvec", fnp.matmul, ((33, 65), (65,)), tol=1e-5),
    Op(
        "batched",
        lambda a, b: fnp.einsum("bij,bjk->bik", a, b),
        ((3, 9, 20), (3, 20, 11)),
        tol=1e-5,
    ),
    Op("matmul_i32", fnp.matmul, ((9, 17), (17, 5)), "int32", -9, 9),
    Op("matmul_f16", fnp.matmul, ((40, 33), (33, 24)), "float16", -1, 1, tol=2e-2),
    Op("mlp_layer", lambda x, w, b: fnp.tanh(x @ w + b), ((16, 30), (30, 20), (20,)), tol=1e-5),
]

# What the fusion pass leaves as Fallback steps: CUDA reports them, never runs them.
UNSUPPORTED = [
    # complex operands of the sort op kernel (complex elementwise code, sums, dots, cumsums and
    # element-moving op kernels do run)
    ("sort", lambda x: fnp.sort(x * 1j + x[::-1]), (8,)),
]


def make_inputs(op: Op, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for shape in op.shapes:
        if op.dtype == "bool":
            out.append(rng.integers(0, 2, shape).astype(bool))
        elif np.dtype(op.dtype).kind in "iu":
            out.append(rng.integers(op.lo, op.hi, shape).astype(op.dtype))
        else:
            out.append(rng.uniform(op.lo, op.hi, shape).astype(op.dtype))
    return out


def eager(op: Op, inputs) -> list:
    out = op.fn(*inputs)
    return [np.asarray(o) for o in (out if isinstance(out, (tuple, list)) else [out])]


def assert_close(got, want, tol, where):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (where, got.dtype, want.dtype)
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want, err_msg=where)
    else:
        np.testing.assert_allclose(
            got.astype(np.float64), want.astype(np.float64), rtol=tol, atol=tol, err_msg=where
        )


def program_of(op: Op, name: str | None = None):
    jaxpr = fg.make_jaxpr(op.fn)(*make_inputs(op))
    return compiler.program_from_jaxpr(jaxpr, name or op.name)


@pytest.fixture(scope="module")
def table():
    """All programs of the table in one NVPTX module: (programs, launches, ptx text)."""
    module = ptx.new_kernel_module("op_table")
    programs, launches = {}, {}
    for op in OPS:
        programs[op.name] = program_of(op)
        _, launches[op.name] = codegen.emit_program(programs[op.name][0], module)
    return programs, launches, ptx.compile_ptx(module)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_interpret_matches_eager(table, op):
    program, consts = table[0][op.name]
    assert not any(isinstance(s, K.Fallback) for s in program.steps), K.program_str(program)
    inputs = make_inputs(op)
    got = K.interpret(program, [*consts, *inputs])
    for i, (g, w) in enumerate(zip(got, eager(op, inputs), strict=True)):
        assert_close(g, w, op.tol, f"{op.name} output {i}\n{K.program_str(program)}")


def test_every_kernel_is_a_ptx_entry(table):
    _, launches, text = table
    entries = set(re.findall(r"\.visible \.entry (\w+)\(", text))
    names = {k.name for ks in launches.values() for k in ks}
    assert names and names <= entries, sorted(names - entries)
    assert re.search(r"^\.target sm_80$", text, re.MULTILINE)


def test_table_covers_every_kernel_kind(table):
    kinds = {k.kind for ks in table[1].values() for k in ks}
    assert kinds == {"elementwise", "reduce_block", "reduce_thread", "dot_tiled", "dot_mma"}


def test_ptxas_assembles_the_whole_table_for_sm_90(table):
    result = ptx.ptxas_check(table[2], "sm_90")
    if result is None:
        pytest.skip("ptxas is not on PATH (install the CUDA toolkit to assemble generated PTX)")
    ok, log = result
    assert ok, log[-4000:]
    assert "spill" not in log or re.findall(r"(\d+) bytes spill stores", log) == ["0"] * len(
        re.findall(r"bytes spill stores", log)
    ), log[-4000:]


def test_lowered_text_stages():
    op = OPS[0]
    lowered = compiler.lower_jaxpr(fg.make_jaxpr(op.fn)(*make_inputs(op)), "exp_only")
    assert ".entry fg_exp_only_0" in lowered.as_text("ptx")
    assert "define" in lowered.as_text("llvm") and "loop" in lowered.as_text("kernels")
    assert [k.name for k in lowered.kernels] == ["fg_exp_only_0"]
    with pytest.raises(ValueError, match="unknown stage"):
        lowered.as_text("sass")


@pytest.mark.parametrize("prim, fn, shape", UNSUPPORTED, ids=[u[0] for u in UNSUPPORTED])
def test_fallback_steps_are_reported_not_run(prim, fn, shape):
    jaxpr = fg.make_jaxpr(fn)(np.arange(np.prod(shape), dtype=np.float32).reshape(shape))
    with pytest.raises(compiler.CudaUnsupportedError, match=f"primitive '{prim}'"):
        compiler.lower_jaxpr(jaxpr)


def test_scalar_table_covers_the_elementwise_primitives():
    from funcgrad._src import core

    f32 = np.dtype("float32")
    prims = {
        v.name
        for mod in (lax_elementwise, lax_transcendental)
        for v in vars(mod).values()
        if isinstance(v, core.Primitive)
    }
    # real/imag/conj/complex only take complex operands: their rules are scalar.COMPLEX_RULES
    missing = {p for p in prims if p not in scalar.SCALAR_RULES}
    assert missing == {"real", "imag", "conj", "complex"}, missing
    assert missing <= set(scalar.COMPLEX_RULES)
    assert scalar.can_emit("real", [np.dtype("complex64")], np.dtype("float32"))
    assert scalar.can_emit("trigamma", [f32], f32)
    assert scalar.can_emit("sin", [f32], f32)
    assert not scalar.can_emit("sin", [np.dtype("int32")], np.dtype("int32"))


# handled by the fusion pass itself (views, reductions, dots) or inlined by the passes
_FUSION_OR_PASSES = {
    "broadcast_in_dim",
    "expand_dims",
    "iota",
    "reshape",
    "rev",
    "slice",
    "squeeze",
    "transpose",
    "reduce_and",
    "reduce_or",
    "reduce_max",
    "reduce_min",
    "reduce_prod",
    "reduce_sum",
    "dot_general",
    "checkpoint",
    "custom_jvp_call",
    "custom_vjp_call",
    "pjit",
}


def test_every_primitive_has_a_cuda_lowering():
    """A new primitive must get a scalar rule, a CUDA op kernel, or fusion/pass handling."""
    import gc

    from funcgrad.backend.cuda import ops

    import funcgrad._src.debug  # noqa: F401  (defines debug_callback)
    import funcgrad._src.lax.linalg  # noqa: F401
    from funcgrad._src import core

    prims = {o.name for o in gc.get_objects() if isinstance(o, core.Primitive)}
    assert len(prims) > 100
    covered = set(scalar.SCALAR_RULES) | set(scalar.COMPLEX_RULES) | set(ops.EMITTERS)
    assert prims - covered - _FUSION_OR_PASSES == set()
    assert _FUSION_OR_PASSES <= prims  # the list names real primitives
