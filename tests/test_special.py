"""funcgrad.scipy.special: values vs numpy/math references, stable values and gradients at
extreme inputs, custom derivatives of xlogy/xlog1py, vmap vs a loop."""

import math

import numpy as np
import pytest
from _gradcheck import check_grads

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.scipy import special as sp

RNG = np.random.default_rng(1)
X = RNG.standard_normal((3, 5)).astype(np.float32) * 3


def close(x, y, tol=1e-5):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tol, atol=tol)


def np_logsumexp(a, axis=None, keepdims=False):
    m = np.max(a, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


# ---- logsumexp --------------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_values(axis, keepdims):
    close(sp.logsumexp(X, axis=axis, keepdims=keepdims), np_logsumexp(X, axis, keepdims))


def test_logsumexp_b_and_return_sign():
    b = np.array([1.0, -2.0, 0.5, 0.0, 3.0], np.float32)
    s = np.sum(b * np.exp(X.astype(np.float64)), axis=1)
    out, sign = sp.logsumexp(X, axis=1, b=b, return_sign=True)
    close(out, np.log(np.abs(s)), 1e-4)
    close(sign, np.sign(s))
    plain = np.asarray(sp.logsumexp(X, axis=1, b=b))
    assert np.all(np.isnan(plain[s < 0])) and np.allclose(plain[s > 0], np.log(s[s > 0]))
    # b == 0 removes a term even when it is +inf
    close(sp.logsumexp(np.array([0.0, np.inf], np.float32), b=np.array([1.0, 0.0])), 0.0)


def test_logsumexp_never_overflows_and_grad_is_softmax():
    big = np.array([1e4, -1e4, 1e4 - 1], np.float32)
    close(sp.logsumexp(big), 1e4 + np.log(1 + np.exp(-1)), 1e-3)
    g = np.asarray(fg.grad(sp.logsumexp)(big))
    assert np.all(np.isfinite(g))
    close(g, np.exp(big - np_logsumexp(big.astype(np.float64))), 1e-5)
    tiny = np.full(3, -1e4, np.float32)
    close(sp.logsumexp(tiny), -1e4 + np.log(3), 1e-2)


def test_logsumexp_all_neg_inf_is_neg_inf_with_zero_grad():
    x = fnp.full((2, 3), -np.inf)
    assert np.all(np.asarray(sp.logsumexp(x, axis=1)) == -np.inf)
    g = fg.grad(lambda x: fnp.sum(sp.logsumexp(x, axis=1)))(x)
    assert np.all(np.asarray(g) == 0)
    mixed = fnp.array([-np.inf, 0.0, -np.inf])
    close(fg.grad(sp.logsumexp)(mixed), [0.0, 1.0, 0.0])


def test_logsumexp_grads_and_vmap():
    check_grads(lambda x: sp.logsumexp(x, axis=1), [X], order=2)
    check_grads(lambda x, b: sp.logsumexp(x, axis=0, b=b), [X, np.abs(X) + 0.1])
    got = fg.vmap(lambda r: sp.logsumexp(r))(X)
    close(got, [float(sp.logsumexp(r)) for r in X])


# ---- elementwise functions ---------------------------------------------------------------------

GRID = np.linspace(-4, 4, 17)


@pytest.mark.parametrize(
    "fn,ref",
    [
        (sp.erf, math.erf),
        (sp.erfc, math.erfc),
        (sp.gammaln, math.lgamma),
        (sp.expit, lambda v: 1 / (1 + math.exp(-v))),
    ],
)
def test_elementwise_vs_math(fn, ref):
    with fg.config.override(enable_x64=True):
        x = GRID + 0.3  # avoid gammaln's poles
        close(fn(x), [ref(v) for v in x], 1e-10)


def test_erfinv_logit_digamma():
    with fg.config.override(enable_x64=True):
        p = np.linspace(-0.99, 0.99, 11)
        close(sp.erf(sp.erfinv(p)), p, 1e-12)
        assert float(sp.erfinv(1.0)) == np.inf and np.isnan(float(sp.erfinv(1.5)))
        q = np.linspace(0.01, 0.99, 9)
        close(sp.expit(sp.logit(q)), q, 1e-12)
        close(sp.digamma(1.0), -np.euler_gamma, 1e-9)
        close(sp.digamma(0.5), -np.euler_gamma - 2 * np.log(2), 1e-9)
        x = np.array([0.3, 2.5, 7.0])
        close(sp.digamma(x + 1), np.asarray(sp.digamma(x)) + 1 / x, 1e-9)


def test_expit_extremes():
    x = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], np.float32)
    close(sp.expit(x), [0.0, 0.0, 0.5, 1.0, 1.0])
    g = np.asarray(fg.vmap(fg.grad(sp.expit))(x))
    assert np.all(np.isfinite(g)) and g[2] == 0.25


@pytest.mark.parametrize(
    "fn,lo,hi",
    [
        (sp.erf, -2, 2),
        (sp.erfc, -2, 2),
        (sp.erfinv, -0.9, 0.9),
        (sp.gammaln, 0.5, 4),
        (sp.expit, -4, 4),
        (sp.logit, 0.1, 0.9),
    ],
)
def test_elementwise_grads(fn, lo, hi):
    from funcgrad.config import config

    with config.override(enable_x64=True):  # second differences need float64
        check_grads(fn, [np.linspace(lo, hi, 7)], order=2)


def test_digamma_grad_first_order():
    # lax.trigamma has no derivative rule yet, so only first order here
    check_grads(sp.digamma, [np.linspace(0.5, 4, 7)])


# ---- xlogy / xlog1py --------------------------------------------------------------------------


def test_xlogy_values():
    x = np.array([0.0, 0.0, 1.0, 2.0], np.float32)
    y = np.array([0.0, 3.0, 2.0, 0.5], np.float32)
    close(sp.xlogy(x, y), [0.0, 0.0, np.log(2.0), 2 * np.log(0.5)])
    close(sp.xlog1py(x, y - 1), [0.0, 0.0, np.log(2.0), 2 * np.log(0.5)])


def test_xlogy_zero_has_finite_gradient():
    for fn, y0 in ((sp.xlogy, 0.0), (sp.xlog1py, -1.0)):
        gx, gy = fg.grad(fn, argnums=(0, 1))(0.0, y0)
        assert float(gx) == 0.0 and float(gy) == 0.0
        gx, gy = fg.grad(fn, argnums=(0, 1))(0.0, y0 + 2.0)  # x == 0, y ok: d/dx = log(y)
        close(gx, np.log(2.0) if fn is sp.xlogy else np.log1p(1.0))
        assert float(gy) == 0.0
    # entropy of a distribution with a zero entry: finite value and gradient
    p = fnp.array([0.0, 0.25, 0.75])
    ent = lambda p: -fnp.sum(sp.xlogy(p, p))
    close(ent(p), -(0.25 * np.log(0.25) + 0.75 * np.log(0.75)))
    g = fg.grad(ent)(p)
    assert np.all(np.isfinite(np.asarray(g)))


def test_xlogy_grads_away_from_zero():
    x, y = RNG.uniform(0.5, 2, 5), RNG.uniform(0.5, 2, 5)
    check_grads(sp.xlogy, [x, y], order=2)
    check_grads(sp.xlog1py, [x, y], order=2)


def test_scipy_softmax_defaults_to_all_axes():
    s = np.exp(X) / np.sum(np.exp(X))
    close(sp.softmax(X), s)
    close(sp.log_softmax(X), np.log(s), 1e-4)
    close(sp.softmax(X, axis=1), np.exp(X) / np.sum(np.exp(X), axis=1, keepdims=True))


def test_digamma_trigamma_at_infinities_match_the_compiled_kernels():
    """-inf used to raise OverflowError (math.floor) in the eager impls."""
    import funcgrad as fg
    from funcgrad import lax
    from funcgrad._src.lax.transcendental import trigamma

    x = np.array([-np.inf, -2.0, 0.0, np.inf, np.nan], np.float32)
    np.testing.assert_array_equal(
        np.asarray(lax.digamma(x)), [np.nan, np.nan, np.nan, np.inf, np.nan]
    )
    np.testing.assert_array_equal(np.asarray(trigamma(x)), [np.inf, np.inf, np.inf, 0.0, np.nan])
    for f in (lax.digamma, trigamma):
        np.testing.assert_array_equal(np.asarray(fg.jit(f)(x)), np.asarray(f(x)))
