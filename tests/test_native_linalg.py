"""Native CPU op kernels for the linear-algebra primitives (backend/cpu/ops/linalg.py).

Everything runs through ``jit`` and is compared with eager evaluation (the numpy
``impl_rules``) on fresh random inputs. cholesky, qr, eigh and svd call the LAPACK routines
numpy.linalg calls, in double, on the same column-major data, so they agree bit for bit (NaN
outputs of failed factorisations included); lu is the impl's own elimination written natively
(bit for bit, integer pivots included); triangular_solve (trsm vs the impl's LU solve) agrees
to rounding. Each jitted function takes a tuple of cases so one compilation covers many shapes;
every supported case asserts a native op kernel and no numpy FALLBACK.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad._src.lax import linalg as L
from funcgrad.config import config

F32, F64 = np.float32, np.float64
SQUARE = [(1, 1), (5, 5), (3, 7, 7), (0, 4, 4), (2, 1, 3, 3)]
RECT = [(1, 1), (5, 3), (3, 5), (2, 4, 4), (0, 3, 2), (2, 7, 6)]

pytestmark = pytest.mark.usefixtures("strict_jit", "x64")


@pytest.fixture
def x64():
    with config.override(enable_x64=True):
        yield


def _spd(rng, shape, dtype):
    n = shape[-1]
    a = rng.standard_normal(shape)
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(dtype)


def _run(f, args, prim, native=True):
    """jit(f)(*args) and f(*args) (eager), flattened; asserts the op kernel (or the fallback)."""
    text = fg.jit(f).lower(*args).as_text("kernels")
    if native:
        assert f"op {prim}(" in text and "FALLBACK" not in text, text
    else:
        assert "FALLBACK" in text, text
    got, want = fg.jit(f)(*args), f(*args)
    flat = lambda t: [np.asarray(x) for x in fg.tree_util.tree_leaves(t)]
    return flat(got), flat(want)


def _assert_same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)  # bit for bit (NaN == NaN here)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_cholesky(dtype):
    rng = np.random.default_rng(1)
    cases = [_spd(rng, s, dtype) for s in SQUARE]
    bad = _spd(rng, (4, 5, 5), dtype)
    bad[1] = -bad[1]  # not positive definite: that matrix is all NaN
    bad[2, 3, 1] = np.nan  # NaN below the diagonal
    bad[3, 0, 4] = np.nan  # above the diagonal: not read
    cases.append(bad)
    got, want = _run(lambda xs: [L.cholesky(x) for x in xs], (tuple(cases),), "cholesky")
    _assert_same(got, want)
    assert np.isnan(got[-1][1]).all() and not np.isnan(got[-1][3]).any()


@pytest.mark.parametrize("dtype", [F32, F64])
def test_triangular_solve(dtype):
    rng = np.random.default_rng(2)
    combos = list(itertools.product([False, True], repeat=4))
    shapes = [((3,), 4, 3), ((), 1, 1), ((0,), 3, 2), ((2, 1), 5, 1), ((), 3, 0)]
    cases = []
    for (batch, n, p), flags in itertools.product(shapes, combos):
        a = rng.standard_normal(batch + (n, n)) + 3 * np.eye(n)
        b = rng.standard_normal(batch + ((n, p) if flags[0] else (p, n)))
        cases.append((a.astype(dtype), b.astype(dtype)))

    def f(cases):
        return [
            L.triangular_solve(a, b, left, low, tr, tr and low, unit)
            for (a, b), (left, low, tr, unit) in zip(cases, itertools.cycle(combos))
        ]

    got, want = _run(f, (tuple(cases),), "triangular_solve")
    tol = 1e-5 if dtype == F32 else 1e-12
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


def test_triangular_solve_singular():
    """A zero on the diagonal: the impl's substitution and trsm give the same inf/NaN."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 4, 4)) + 3 * np.eye(4)
    a[0, 1, 1] = 0.0
    b = rng.standard_normal((2, 4, 3))
    for lower in (False, True):
        f = lambda a, b, lower=lower: L.triangular_solve(a, b, left_side=True, lower=lower)
        (g,), (w,) = _run(f, (a, b), "triangular_solve")
        assert np.array_equal(np.isfinite(g), np.isfinite(w)) and not np.isfinite(g).all()
        np.testing.assert_allclose(g[np.isfinite(g)], w[np.isfinite(w)], rtol=1e-12)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_lu(dtype):
    rng = np.random.default_rng(4)
    cases = [rng.standard_normal(s).astype(dtype) for s in RECT]
    ties = rng.integers(-2, 3, (6, 5, 5)).astype(dtype)  # many equal pivot candidates
    ties[0, :, 2] = 0  # a zero pivot column
    ties[1, 3, 1] = np.nan
    ties[2, 0, 0] = np.inf
    cases.append(ties)
    got, want = _run(lambda xs: [L.lu(x) for x in xs], (tuple(cases),), "lu")
    _assert_same(got, want)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_qr(dtype):
    rng = np.random.default_rng(5)
    shapes = [s for s in RECT if 0 not in s]
    cases = tuple(rng.standard_normal(s).astype(dtype) for s in shapes)
    for full in (True, False):
        f = lambda xs, full=full: [L.qr(x, full) for x in xs]
        got, want = _run(f, (cases,), "qr")
        _assert_same(got, want)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_eigh(dtype):
    rng = np.random.default_rng(6)
    cases = tuple(_spd(rng, s, dtype) - 2 * np.eye(s[-1], dtype=dtype) for s in SQUARE)
    cases += (rng.standard_normal((2, 6, 6)).astype(dtype),)  # unsymmetric: one triangle read
    for lower in (True, False):
        f = lambda xs, lower=lower: [L.eigh(x, lower, symmetrize_input=False) for x in xs]
        got, want = _run(f, (cases,), "eigh")
        _assert_same(got, want)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_svd(dtype):
    rng = np.random.default_rng(7)
    shapes = [s for s in RECT if 0 not in s[-2:]]
    cases = tuple(rng.standard_normal(s).astype(dtype) for s in shapes)
    cases += (np.zeros((3, 3), dtype), np.ones((4, 2), dtype))  # zero / repeated singular values
    for full, uv in itertools.product((True, False), repeat=2):
        f = lambda xs, full=full, uv=uv: [L.svd(x, full, uv) for x in xs]
        got, want = _run(f, (cases,), "svd")
        _assert_same(got, want)


def test_refused_cases_fall_back():
    """Empty matrices for qr/svd (and lu) stay numpy Fallback steps (and stay correct)."""
    x = np.ones((2, 0, 3), F32)
    for g, w in zip(fg.jit(L.lu)(x), L.lu(x)):
        assert np.asarray(g).shape == np.asarray(w).shape
    for f, prim in [(lambda x: L.qr(x), "qr"), (lambda x: L.svd(x), "svd")]:
        got, want = _run(f, (x,), prim, native=False)
        _assert_same(got, want)


def test_no_lapack_falls_back(monkeypatch):
    """Without the OpenBLAS routines every check refuses (lu needs none: still native)."""
    from funcgrad.backend.cpu import blas

    monkeypatch.setattr(blas, "bind_routine", lambda name: None)
    rng = np.random.default_rng(8)
    x, b = _spd(rng, (2, 3, 3), F64), rng.standard_normal((2, 3, 2))
    for f, args, prim in [
        (L.cholesky, (x,), "cholesky"),
        (L.eigh, (x,), "eigh"),
        (L.qr, (x,), "qr"),
        (L.svd, (x,), "svd"),
        (L.triangular_solve, (x, np.swapaxes(b, 1, 2)), "triangular_solve"),
    ]:
        got, want = _run(lambda *a, f=f: f(*a), args, prim, native=False)
        _assert_same(got, want)


def test_gradients_through_jit():
    """jit(grad(f)) for cholesky-, solve- and eigh-based losses equals eager grad, natively."""
    rng = np.random.default_rng(9)
    x = _spd(rng, (2, 5, 5), F64)
    b = rng.standard_normal((2, 5, 3))
    c = rng.standard_normal((2, 5))

    def chol_loss(x, b):
        l_ = L.cholesky(x)
        y = L.triangular_solve(l_, b, left_side=True, lower=True)
        return fnp.sum(y * y) + fnp.sum(fnp.log(fnp.abs(l_) + 1.0))

    def eigh_loss(x):
        v, w = L.eigh(x)
        return fnp.sum(w * c) + fnp.sum(v[..., 0] ** 2 * c)

    for f, args, prim in [(chol_loss, (x, b), "cholesky"), (eigh_loss, (x,), "eigh")]:
        g = fg.grad(f, argnums=tuple(range(len(args))))
        text = fg.jit(g).lower(*args).as_text("kernels")
        assert f"op {prim}(" in text and "FALLBACK" not in text, text
        for got, want in zip(fg.jit(g)(*args), g(*args)):
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-9, atol=1e-12)
    text = fg.jit(fg.grad(chol_loss)).lower(x, b).as_text("kernels")
    assert "op cholesky(" in text and "op triangular_solve(" in text
