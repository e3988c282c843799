"""Complex numbers in fused loop kernels and the trigamma scalar rule, on the CPU backend.

Every case is jitted (strict: compiler errors raise), must compile to loop kernels with no
FALLBACK step, and must match eager (the numpy impls) on fresh random inputs of several
shapes (odd sizes, size-0 and size-1 dims, 0-d), for complex64 and complex128.
"""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad._src.lax import transcendental as ltr

pytestmark = pytest.mark.usefixtures("strict_jit", "x64")

C64, C128 = np.complex64, np.complex128
TOL = {C64: 2e-5, C128: 1e-12, np.float32: 2e-5, np.float64: 1e-12}
SHAPES = [(7,), (3, 5), (2, 1, 4), (0, 3), (), (1,)]


def _cz(rng, shape, dtype, scale=2.0):
    z = rng.uniform(-scale, scale, shape) + 1j * rng.uniform(-scale, scale, shape)
    return np.asarray(z).astype(dtype)


def _part(dtype):
    return np.float32 if np.dtype(dtype) == np.complex64 else np.float64


def _check(f, args, tol, native=True):
    jf = fg.jit(f)
    text = jf.lower(*args).as_text("kernels")
    if native:
        assert "FALLBACK" not in text, text
    got, want = jf(*args), f(*args)
    got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
    for g, w in zip(got, want, strict=True):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape
        if w.dtype.kind == "b":
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
    return text


UNARY = {
    "neg": lax.neg,
    "conj": lax.conj,
    "real": lax.real,
    "imag": lax.imag,
    "abs": lax.abs,
    "exp": lax.exp,
    "log": lax.log,
    "sqrt": lax.sqrt,
    "integer_pow3": lambda x: lax.integer_pow(x, 3),
    "integer_pow0": lambda x: lax.integer_pow(x, 0),
    "integer_pow-2": lambda x: lax.integer_pow(x, -2),
    "parts": lambda x: lax.complex(lax.real(x) * 2, lax.imag(x) - 1),
}
BINARY = {
    "add": lax.add,
    "sub": lax.sub,
    "mul": lax.mul,
    "div": lax.div,
    "pow": lax.pow,
    "eq": lax.eq,
    "ne": lax.ne,
    "select": lambda x, y: lax.select(lax.ne(lax.real(x), lax.real(y)), x, y),
    "chain": lambda x, y: lax.exp(x * y) / (lax.sqrt(y) + x),
}


@pytest.mark.parametrize("dtype", [C64, C128])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name, dtype):
    rng = np.random.default_rng(len(name))
    f = UNARY[name]
    for shape in SHAPES:
        _check(f, [_cz(rng, shape, dtype)], TOL[dtype])


@pytest.mark.parametrize("dtype", [C64, C128])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary(name, dtype):
    rng = np.random.default_rng(100 + len(name))
    f = BINARY[name]
    for shape in SHAPES:
        x, y = _cz(rng, shape, dtype), _cz(rng, shape, dtype)
        if name in ("eq", "ne") and x.size:
            y.flat[::2] = x.flat[::2]  # some equal pairs
        _check(f, [x, y], TOL[dtype])


@pytest.mark.parametrize("dtype", [C64, C128])
def test_broadcasting_and_mixed_real_complex(dtype):
    rng = np.random.default_rng(7)
    x, y = _cz(rng, (4, 5), dtype), _cz(rng, (5,), dtype)
    r = rng.standard_normal((4, 1)).astype(_part(dtype))

    def f(x, y, r):  # funcgrad.numpy promotes the real operand to complex
        return x * y + r, fnp.abs(x - y) * r, fnp.real(x) + fnp.imag(y) * r

    _check(f, [x, y, r], TOL[dtype])


def test_conversions():
    rng = np.random.default_rng(8)
    z64, z128 = _cz(rng, (3, 7), C64, 50), _cz(rng, (3, 7), C128, 50)
    z128[0, :3] = [0, 0.5j, np.nan]

    def f(a, b):
        c = lax.convert_element_type
        return (
            c(a, np.complex128),
            c(b, np.complex64),
            c(b, np.float32),
            c(b, np.int32),
            c(a, np.bool_),
            c(c(b, np.int32), np.complex64),
            c(c(a, np.bool_), np.complex128),
            c(c(b, np.float32), np.complex128),
        )

    _check(f, [z64, z128], 1e-6)


@pytest.mark.parametrize("dtype", [C64, C128])
def test_reductions_over_axes(dtype):
    rng = np.random.default_rng(9)
    x = _cz(rng, (3, 4, 5), dtype, 1.0)
    cases = [
        lambda x: fnp.sum(x, axis=0),
        lambda x: fnp.sum(x, axis=(1, 2)),
        lambda x: fnp.sum(x * x),
        lambda x: fnp.prod(x, axis=2),
        lambda x: fnp.prod(x, axis=(0, 1)),
        lambda x: fnp.sum(lax.exp(x), axis=1),
    ]
    for f in cases:
        assert "reduce" in _check(f, [x], TOL[dtype] * 10)
    big = _cz(rng, (2, 3000), dtype, 1.0)
    _check(lambda x: fnp.sum(x, axis=1), [big], TOL[dtype] * 100)
    _check(lambda x: fnp.sum(x, axis=0), [_cz(rng, (0, 3), dtype)], 0)


@pytest.mark.parametrize("dtype", [C64, C128])
def test_abs_edge_values(dtype):
    p = _part(dtype)
    big, tiny = np.finfo(p).max / 2, np.finfo(p).tiny
    re = np.array([0, -0.0, 3, big, big, tiny, np.inf, np.nan, np.inf, -np.inf, 1, np.nan], p)
    im = np.array([0, 0, -4, big, 1, tiny, np.nan, np.inf, 1, 0, np.nan, np.nan], p)
    z = np.zeros(re.shape, dtype)
    z.real, z.imag = re, im  # NaN/inf parts exactly
    got = np.asarray(fg.jit(lax.abs)(z))
    want = np.asarray(lax.abs(z))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=TOL[dtype])


@pytest.mark.parametrize("dtype", [C64, C128])
def test_special_values(dtype):
    """exp/log/sqrt/div at zeros and zero imaginary parts: what numpy returns."""
    z = np.array([0, 1, -1, 2j, -4, 1e-3 + 0j, 3 - 0j], dtype)
    for f in (lax.exp, lax.log, lax.sqrt, lambda z: lax.div(z, z * 0 + 2 - 1j)):
        got, want = np.asarray(fg.jit(f)(z)), np.asarray(f(z))
        np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype])
    d = np.asarray(fg.jit(lax.div)(np.array([1 + 1j, 0], dtype), np.zeros(2, dtype)))
    w = np.asarray(lax.div(np.array([1 + 1j, 0], dtype), np.zeros(2, dtype)))
    np.testing.assert_array_equal(np.isnan(d.real), np.isnan(w.real))
    np.testing.assert_array_equal(np.isinf(d.real), np.isinf(w.real))


def test_unsupported_complex_cases_stay_fallbacks():
    rng = np.random.default_rng(3)
    a, b = _cz(rng, (3, 4), C64), _cz(rng, (4, 2), C64)
    text = _check(lambda a, b: fnp.dot(a, b) + 1, [a, b], 1e-5, native=False)
    assert "FALLBACK" in text and "dot_general" in text  # complex dot: numpy Fallback
    text = _check(lambda a: fnp.cumsum(a, axis=1), [a], 1e-5, native=False)
    assert "FALLBACK" in text  # op kernels do not take complex operands


@pytest.mark.parametrize("dtype", [C64, C128])
def test_control_flow_with_complex_carries_is_native(dtype):
    """cond / while / scan move their carries as bytes, so complex ones compile natively (the
    bodies are complex loop kernels)."""
    rng = np.random.default_rng(4)
    a = _cz(rng, (4, 3), dtype)
    tol = TOL[dtype] * 10
    for f, prim in [
        (lambda a: lax.scan(lambda c, x: (c * x + 1j, fnp.sum(c * x)), a[0], a), "scan"),
        (
            lambda a: lax.while_loop(
                lambda c: (c[0] < 20) & (fnp.abs(c[1][0]) < 50.0),
                lambda c: (c[0] + 1, c[1] * fnp.conj(c[1]) * 0.5 + a[0]),
                (0, a[1]),
            ),
            "while",
        ),
        (lambda a: lax.cond(fnp.real(a[0, 0]) > 0, lambda x: x * 2, lambda x: x - 1j, a), "cond"),
    ]:
        text = _check(f, [a], tol)
        assert f"op {prim}(" in text, text


def test_complex_loop_is_one_kernel():
    x = _cz(np.random.default_rng(4), (64,), C128)
    text = fg.jit(lambda x: lax.exp(x) * x + 1).lower(x).as_text("kernels")
    assert text.count("loop") == 1 and "FALLBACK" not in text


# ---- trigamma -----------------------------------------------------------------------------------


def _trigamma_points(rng, dtype):
    xs = np.concatenate(
        [
            rng.uniform(-20, 0, 3000),
            rng.uniform(0, 40, 3000),
            np.exp(rng.uniform(-15, 40, 1000)),
            rng.uniform(-3, 3, 1000),
            np.arange(-12, 1.0),
            [-0.0, np.inf, np.nan, 9.999, 10.0, 10.001, 3.999, 4.0, 1e-3, -1 + 1e-4, -2.5, 0.5],
        ]
    )
    return xs.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_trigamma_matches_eager(dtype):
    x = _trigamma_points(np.random.default_rng(11), dtype)
    jf = fg.jit(ltr.trigamma)
    text = jf.lower(x).as_text("kernels")
    assert "trigamma" in text and "FALLBACK" not in text
    got, want = np.asarray(jf(x)), np.asarray(ltr.trigamma(x))
    assert got.dtype == want.dtype
    fin = np.isfinite(want) & np.isfinite(x)
    np.testing.assert_array_equal(got[~fin], want[~fin])  # poles: +inf, NaN: NaN, inf: 0
    assert np.all(np.isposinf(got[(x <= 0) & (x == np.floor(x))]))
    xd = x[fin].astype(np.float64)
    rel = np.abs(got[fin] - want[fin]) / np.abs(want[fin])
    if dtype == np.float64:  # the impl's sin(pi * x) is off by ~ulp(pi x) near the poles
        bound = 1e-12 + 4e-16 * np.pi * np.abs(xd) / np.abs(np.sin(np.pi * (xd - np.rint(xd))))
        assert np.all(rel <= bound), xd[np.argmax(rel / bound)]
    else:
        assert rel.max() < 1e-5, xd[np.argmax(rel)]


def test_trigamma_infinities_and_shapes():
    f = fg.jit(ltr.trigamma)
    for dtype in (np.float32, np.float64):
        got = np.asarray(f(np.array([np.inf, -np.inf, 1e30], dtype)))
        assert got[0] == 0 and got[1] == np.inf and 0 < got[2] < 1.1e-30
        for shape in SHAPES:
            x = np.random.default_rng(1).uniform(0.1, 5, shape).astype(dtype)
            np.testing.assert_allclose(
                np.asarray(f(x)), np.asarray(ltr.trigamma(x)), rtol=TOL[dtype]
            )
