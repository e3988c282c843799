"""Every primitive through jit (native code or the visible numpy fallback) vs eager numpy.

One table drives everything: (name, function, arity, dtypes, input range, tolerance, native).
Each case is jitted once over a tuple of inputs of several shapes (odd, size-1, empty, 0-d),
so one compiled module covers all shapes of one op and dtype. ``native=True`` additionally
asserts that no equation fell back to numpy.
"""

from __future__ import annotations

import numpy as np
import pytest
from funcgrad.backend import kernel_ir

import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad._src.jit import jit

SHAPES = [(7,), (3, 5), (2, 1, 4), (0, 3), (), (1,)]
F32, I32, BOOL = np.float32, np.int32, np.bool_


pytestmark = pytest.mark.usefixtures("strict_jit")


def _rand(rng, shape, dtype, lo, hi):
    if np.dtype(dtype).kind == "b":
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind in "iu":
        return rng.integers(int(lo), int(hi) + 1, shape).astype(dtype)
    return rng.uniform(lo, hi, shape).astype(dtype)


def _case(name, fn, arity=1, dtypes=(F32,), rng=(-3, 3), tol=1e-5, native=True, shapes=SHAPES):
    return pytest.param(fn, arity, dtypes, rng, tol, native, shapes, id=name)


U = (F32,)
FI = (F32, I32)
FIB = (F32, I32, BOOL)
ELEMENTWISE = [
    _case("add", fnp.add, 2, FI),
    _case("sub", fnp.subtract, 2, FI),
    _case("mul", fnp.multiply, 2, FI),
    _case("div", fnp.divide, 2, U, (0.5, 3)),
    _case("lax_div_int", lax.div, 2, (I32,), (-9, 9)),
    _case("lax_rem", lax.rem, 2, FI, (-9, 9)),
    _case("floor_divide", fnp.floor_divide, 2, FI, (1, 9)),
    _case("maximum", fnp.maximum, 2, FI),
    _case("minimum", fnp.minimum, 2, FI),
    _case("power", fnp.power, 2, U, (0.2, 2)),
    _case("arctan2", fnp.arctan2, 2, U),
    _case("neg", fnp.negative, 1, FI),
    _case("abs", fnp.abs, 1, FI),
    _case("sign", fnp.sign, 1, FI),
    _case("floor", fnp.floor, 1, U),
    _case("ceil", fnp.ceil, 1, U),
    _case("round", fnp.round, 1, U),
    _case("lax_round_away", lambda x: lax.round(x, 0), 1, U),
    _case("isfinite", lambda x: fnp.isfinite(fnp.log(x)), 1, U, (-1, 2)),
    _case("exp", fnp.exp, 1, U),
    _case("exp2", fnp.exp2, 1, U),
    _case("log", fnp.log, 1, U, (0.01, 10)),
    _case("log1p", fnp.log1p, 1, U, (-0.9, 5)),
    _case("expm1", fnp.expm1, 1, U),
    _case("tanh", fnp.tanh, 1, U),
    _case("sigmoid", lax.logistic, 1, U),
    _case("sin", fnp.sin, 1, U),
    _case("cos", fnp.cos, 1, U),
    _case("tan", fnp.tan, 1, U, (-1.2, 1.2)),
    _case("arcsin", fnp.arcsin, 1, U, (-1, 1)),
    _case("arccos", fnp.arccos, 1, U, (-1, 1)),
    _case("arctan", fnp.arctan, 1, U),
    _case("sinh", fnp.sinh, 1, U),
    _case("cosh", fnp.cosh, 1, U),
    _case("arcsinh", fnp.arcsinh, 1, U),
    _case("arccosh", fnp.arccosh, 1, U, (1, 5)),
    _case("arctanh", fnp.arctanh, 1, U, (-0.9, 0.9)),
    _case("sqrt", fnp.sqrt, 1, U, (0, 9)),
    _case("rsqrt", lax.rsqrt, 1, U, (0.1, 9)),
    _case("cbrt", fnp.cbrt, 1, U),
    _case("erf", lax.erf, 1, U),
    _case("erfc", lax.erfc, 1, U),
    _case("erf_inv", lax.erf_inv, 1, U, (-0.9, 0.9), 1e-4),
    _case("lgamma", lax.lgamma, 1, U, (0.1, 6), 1e-4),
    _case("digamma", lax.digamma, 1, U, (0.1, 6), 1e-4),
    _case("square", fnp.square, 1, FI),
    _case("integer_pow3", lambda x: x**3, 1, FI),
    _case("integer_pow_neg", lambda x: lax.integer_pow(x, -2), 1, U, (0.5, 2)),
    _case("reciprocal", fnp.reciprocal, 1, U, (0.5, 2)),
    _case("eq", fnp.equal, 2, FIB, (-2, 2)),
    _case("ne", fnp.not_equal, 2, FIB, (-2, 2)),
    _case("lt", fnp.less, 2, FI, (-2, 2)),
    _case("le", fnp.less_equal, 2, FI, (-2, 2)),
    _case("gt", fnp.greater, 2, FI, (-2, 2)),
    _case("ge", fnp.greater_equal, 2, FI, (-2, 2)),
    _case("and", fnp.bitwise_and, 2, (I32, BOOL), (-50, 50)),
    _case("or", fnp.bitwise_or, 2, (I32, BOOL), (-50, 50)),
    _case("xor", fnp.bitwise_xor, 2, (I32, BOOL), (-50, 50)),
    _case("not", fnp.invert, 1, (I32, BOOL), (-50, 50)),
    _case("shift_left", lax.shift_left, 2, (I32,), (-2, 40)),
    _case("shift_right_logical", lax.shift_right_logical, 2, (I32,), (-2, 40)),
    _case("shift_right_arithmetic", lax.shift_right_arithmetic, 2, (I32,), (-2, 40)),
    _case("where", lambda x, y: fnp.where(x > y, x, y * 2), 2, FI),
    _case("clip", lambda x: fnp.clip(x, -1, 1), 1, FI),
    _case("astype_f2i", lambda x: (x * 1e8).astype(fnp.int32), 1, U),
    _case("astype_i2f", lambda x: x.astype(fnp.float32), 1, (I32,)),
    _case("astype_2bool", lambda x: x.astype(bool), 1, FI, (-1, 1)),
    _case("astype_bool2f", lambda x: x.astype(fnp.float32) + 1, 1, (BOOL,)),
    _case("astype_i8", lambda x: x.astype(fnp.int8) * 3, 1, (I32,), (-300, 300)),
    _case(
        "astype_u32_shift",
        lambda x: lax.shift_right_logical(x.astype(fnp.uint32), x.astype(fnp.uint32) * 0 + 3),
        1,
        (I32,),
        (-300, 300),
    ),
    _case("nextafter", fnp.nextafter, 2, U, native=False),
    _case("chain", lambda x, y: fnp.tanh(x) * 0.5 + fnp.sin(y) ** 2 - fnp.exp(-x * y), 2, U),
    _case("stop_gradient", lambda x: lax.stop_gradient(x) * 2, 1, U),
]

_AX = [(7,), (3, 5), (2, 3, 4), (0, 3), (1,)]
REDUCTIONS = [
    _case("sum_all", fnp.sum, 1, FI, shapes=_AX),
    _case("sum_last", lambda x: fnp.sum(x, -1), 1, FI, shapes=_AX),
    _case("sum_first", lambda x: fnp.sum(x, 0), 1, FI, shapes=_AX),
    _case("max_all", fnp.max, 1, FI, shapes=_AX[:3]),
    _case("max_last", lambda x: fnp.max(x, -1), 1, FI, shapes=_AX[:3]),
    _case("min_first", lambda x: fnp.min(x, 0), 1, FI, shapes=_AX[:3]),
    _case("prod", lambda x: fnp.prod(x, -1), 1, FI, (-2, 2), shapes=_AX),
    _case("mean", lambda x: fnp.mean(x, 0), 1, U, shapes=_AX[:3]),
    _case("sum_middle", lambda x: fnp.sum(x, 1), 1, FI, shapes=[(2, 3, 4), (3, 1, 2)]),
    _case("sum_outer_inner", lambda x: fnp.sum(x, (0, 2)), 1, FI, shapes=[(2, 3, 4)]),
    _case("any", lambda x: fnp.any(x > 1, -1), 1, U, shapes=_AX),
    _case("all", lambda x: fnp.all(x > -2, 0), 1, U, shapes=_AX),
    _case("sum_bool", lambda x: fnp.sum(x > 0, -1), 1, U, shapes=_AX),
    _case(
        "logsumexp",
        lambda x: fnp.log(fnp.sum(fnp.exp(x - fnp.max(x, -1, keepdims=True)), -1)) + fnp.max(x, -1),
        1,
        U,
        shapes=_AX[:3],
    ),
    _case(
        "softmax", lambda x: fnp.exp(x) / fnp.sum(fnp.exp(x), -1, keepdims=True), 1, U, shapes=_AX
    ),
    _case("argmax", lambda x: fnp.argmax(x, -1), 1, FI, shapes=_AX[:3]),
    _case("cumsum", lambda x: fnp.cumsum(x, -1), 1, FI, shapes=_AX),
    _case("sort", lambda x: fnp.sort(x, -1), 1, FI, shapes=_AX),
    _case("var", lambda x: fnp.var(x, -1), 1, U, shapes=_AX[:3]),
]

STRUCTURAL = [
    _case("reshape", lambda x: fnp.reshape(x, (-1,)) * 2, 1, FI, shapes=_AX),
    _case("reshape_T", lambda x: fnp.reshape(x.T, (-1,)) + 1, 1, FI, shapes=_AX),
    _case("transpose", lambda x: fnp.transpose(x) * 2, 1, FI, shapes=_AX),
    _case("T_plus", lambda x: x.T + fnp.sin(x).T, 1, U, shapes=_AX),
    _case(
        "broadcast", lambda x: fnp.broadcast_to(fnp.exp(x), (2,) + x.shape) + 1, 1, U, shapes=_AX
    ),
    _case("bcast_add", lambda x: x[:, None] - x[None, :], 1, FI, shapes=[(5,), (0,), (1,)]),
    _case("expand_squeeze", lambda x: fnp.squeeze(fnp.expand_dims(x, 0), 0) * 3, 1, FI, shapes=_AX),
    _case("slice", lambda x: x[1:5:2] * 2, 1, FI, shapes=[(7,), (3, 5), (0, 3), (1,)]),
    _case("slice2", lambda x: x[:, ::-2] + 1, 1, FI, shapes=[(3, 5), (2, 3, 4)]),
    _case("flip", lambda x: fnp.flip(x) * 2, 1, FI, shapes=_AX),
    _case("concatenate", lambda x: fnp.concatenate([x, x * 2], 0), 1, FI, shapes=_AX),
    _case("pad", lambda x: fnp.pad(x, 1) * 2, 1, FI, shapes=_AX),
    _case("arange", lambda x: x + fnp.arange(x.shape[-1], dtype=x.dtype), 1, FI, shapes=_AX),
    _case("tril", lambda x: fnp.tril(x), 1, FI, shapes=[(3, 5), (4, 4)]),
    _case("take", lambda x: fnp.take(x, fnp.array([0, 2, 1]), 0), 1, FI, shapes=[(3,), (3, 5)]),
    _case("dynamic_slice", lambda x: lax.dynamic_slice(x, (1,), (2,)), 1, FI, shapes=[(5,)]),
    _case("scatter_add", lambda x: fnp.asarray(x).at[1].add(5.0), 1, U, shapes=[(5,), (3, 2)]),
]

_DOTS = [
    (
        "mm",
        lambda a, b: a @ b,
        [((5, 7), (7, 3)), ((1, 4), (4, 1)), ((3, 0), (0, 2)), ((0, 2), (2, 3))],
    ),
    ("mm_T", lambda a, b: a @ b.T, [((5, 7), (3, 7)), ((4, 1), (6, 1))]),
    ("T_mm", lambda a, b: a.T @ b, [((7, 5), (7, 3))]),
    ("T_mm_T", lambda a, b: a.T @ b.T, [((7, 5), (3, 7))]),
    ("batched", lambda a, b: a @ b, [((2, 5, 7), (2, 7, 3)), ((3, 1, 4), (3, 4, 2))]),
    ("batched_T", lambda a, b: a @ fnp.swapaxes(b, -1, -2), [((2, 5, 7), (2, 3, 7))]),
    ("bcast_batch", lambda a, b: a @ b, [((2, 5, 7), (7, 3))]),
    ("vec_mat", lambda a, b: a @ b, [((7,), (7, 3)), ((5, 7), (7,)), ((7,), (7,))]),
    ("einsum", lambda a, b: fnp.einsum("bij,bkj->bik", a, b), [((2, 3, 4), (2, 5, 4))]),
    ("slice_mm", lambda a, b: a[:, 1:] @ b[:-1], [((4, 6), (6, 3))]),
]
DOTS = [
    pytest.param(fn, shapes, dt, id=f"{name}-{np.dtype(dt).name}")
    for name, fn, shapes in _DOTS
    for dt in (F32, np.int32)
]


def _check(fn, arity, dtypes, rng_range, tol, native, shapes, seed=0):
    rng = np.random.default_rng(seed)
    for dt in dtypes:
        args = [tuple(_rand(rng, s, dt, *rng_range) for _ in range(arity)) for s in shapes]
        f = lambda xs: [fn(*a) for a in xs]
        jf = jit(f)
        want = f(args)
        got = jf(args)
        for g, w, a in zip(got, want, args):
            g, w = np.asarray(g), np.asarray(w)
            assert g.dtype == w.dtype and g.shape == w.shape, (a, g, w)
            if g.dtype.kind == "f":
                np.testing.assert_allclose(g, w, rtol=tol, atol=tol, equal_nan=True)
            else:
                np.testing.assert_array_equal(g, w)
        if native:
            _check_native(jf, args)


def _check_native(jf, args):
    """No fallback, and the kernel program interpreted with numpy agrees with native code."""
    from funcgrad import tree_util as tu

    lowered = jf.lower(args)
    exe = lowered.compile()._exe
    assert exe.fallbacks() == [], exe.fallbacks()
    flat = [np.asarray(x) for x in (*lowered._entry.consts, *tu.tree_leaves(args))]
    ref = kernel_ir.interpret(exe.program, flat)
    got = exe(*flat)
    for r, g in zip(ref, got):
        if g.dtype.kind == "f":
            np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5, equal_nan=True)
        else:
            np.testing.assert_array_equal(g, r)


@pytest.mark.parametrize("fn,arity,dtypes,rng,tol,native,shapes", ELEMENTWISE)
def test_elementwise(fn, arity, dtypes, rng, tol, native, shapes):
    _check(fn, arity, dtypes, rng, tol, native, shapes)


@pytest.mark.parametrize("fn,arity,dtypes,rng,tol,native,shapes", REDUCTIONS)
def test_reductions(fn, arity, dtypes, rng, tol, native, shapes):
    _check(fn, arity, dtypes, rng, tol, native, shapes)


@pytest.mark.parametrize("fn,arity,dtypes,rng,tol,native,shapes", STRUCTURAL)
def test_structural(fn, arity, dtypes, rng, tol, native, shapes):
    _check(fn, arity, dtypes, rng, tol, native, shapes)


@pytest.mark.parametrize("fn,shapes,dtype", DOTS)
def test_dot(fn, shapes, dtype):
    rng = np.random.default_rng(1)
    args = [(_rand(rng, sa, dtype, -3, 3), _rand(rng, sb, dtype, -3, 3)) for sa, sb in shapes]
    f = lambda xs: [fn(a, b) for a, b in xs]
    got = jit(f)(args)
    for g, (a, b) in zip(got, args):
        want = np.asarray(fn(fnp.asarray(a), fnp.asarray(b)))
        np.testing.assert_allclose(np.asarray(g), want, rtol=1e-5, atol=1e-4)
        if fn is _DOTS[0][1]:
            np.testing.assert_allclose(np.asarray(g), a @ b, rtol=1e-5, atol=1e-4)
    if dtype == F32:
        _check_native(jit(f), args)


def test_conv_runs_natively():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 8, 8)).astype(F32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(F32)
    f = lambda x, w: fnp.tanh(lax.conv(x, w, (1, 1), "SAME"))
    np.testing.assert_allclose(np.asarray(jit(f)(x, w)), np.asarray(f(x, w)), rtol=1e-5, atol=1e-5)
    text = jit(f).lower(x, w).as_text("kernels")
    assert "op conv_general_dilated(" in text and "FALLBACK" not in text


def test_nan_and_inf_semantics():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30, -1e30, 3.7], F32)
    f = lambda x: [
        fnp.maximum(x, 0.0),
        fnp.minimum(x, 0.0),
        fnp.max(x),
        fnp.sign(x),
        fnp.isfinite(x),
        x != x,
        fnp.sum(x),
    ]
    for g, w in zip(jit(f)(x), f(x)):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))
    # float -> int saturates and maps NaN to 0 (XLA semantics, as lax documents)
    got = np.asarray(jit(lambda x: x.astype(fnp.int32))(x))
    i32 = np.iinfo(np.int32)
    np.testing.assert_array_equal(got, [0, i32.max, i32.min, 0, 0, i32.max, i32.min, 3])


def test_integer_edge_cases():
    x = np.array([np.iinfo(np.int32).min, -7, -1, 0, 1, 7, 2**31 - 1], np.int32)
    y = np.array([-1, 0, 2, 0, -3, 3, 0], np.int32)
    f = lambda x, y: [lax.div(x, y), lax.rem(x, y), x * y, -x, fnp.abs(x)]
    for g, w in zip(jit(f)(x, y), f(x, y)):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))
