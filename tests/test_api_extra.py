"""JAX API gaps filled in random, lax, tree_util, nn and the top level (tests/test_api_extra)."""

import math

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
import funcgrad.random as fr
from funcgrad import lax
from funcgrad import tree_util as tu

N = 10000
KS_BOUND = 2.2 / math.sqrt(N)  # far beyond the 0.1% critical value (1.95 / sqrt(N))


# ---- scipy-free references ------------------------------------------------------------------


def _gammainc(a, x):
    """Regularized lower incomplete gamma P(a, x) (Numerical Recipes' series / Lentz)."""
    if x <= 0:
        return 0.0
    lg = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        n = a
        for _ in range(1000):
            n += 1
            term *= x / n
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return total * math.exp(lg)
    b, c, d = x + 1 - a, 1e300, 1 / (x + 1 - a)
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = 1e-300 if abs(d) < 1e-300 else d
        c = b + an / c
        c = 1e-300 if abs(c) < 1e-300 else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return 1 - math.exp(lg) * h


def _ks(samples, cdf):
    x = np.sort(np.asarray(samples, np.float64).ravel())
    n = len(x)
    f = np.array([cdf(v) for v in x])
    return max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))


def _normal_cdf(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


# ---- random: distributions ------------------------------------------------------------------


@pytest.mark.parametrize("a", [0.2, 1.0, 2.5, 30.0])
def test_gamma_matches_the_exact_cdf(a):
    x = fr.gamma(fr.key(1), a, (N,))
    assert x.shape == (N,) and x.dtype == np.float32
    assert np.all(np.asarray(x) >= 0)
    assert _ks(x, lambda v: _gammainc(a, v)) < KS_BOUND


def test_gamma_ks_test_can_fail():
    # the same statistic rejects samples of the wrong shape parameter
    assert _ks(fr.gamma(fr.key(1), 2.0, (N,)), lambda v: _gammainc(2.3, v)) > KS_BOUND


def test_loggamma_is_log_of_gamma_and_finite_for_tiny_a():
    k = fr.key(3)
    np.testing.assert_allclose(
        np.exp(fr.loggamma(k, 2.0, (100,))), fr.gamma(k, 2.0, (100,)), rtol=1e-5
    )
    lg = np.asarray(fr.loggamma(k, 1e-3, (1000,)))
    assert np.all(np.isfinite(lg))
    # P(a, e^v) = e^(a v) / Gamma(a + 1) for very negative v (exp(v) underflows)
    cdf = lambda v: (
        math.exp(1e-3 * v - math.lgamma(1.001)) if v < -30 else _gammainc(1e-3, math.exp(v))
    )
    assert _ks(lg, cdf) < 2.2 / math.sqrt(1000)


def test_gamma_broadcasts_parameters_and_checks_shapes():
    x = fr.gamma(fr.key(0), fnp.array([1.0, 10.0]), (5000, 2))
    np.testing.assert_allclose(np.asarray(x).mean(0), [1.0, 10.0], rtol=0.05)
    assert fr.gamma(fr.key(0), fnp.ones((3,))).shape == (3,)
    with pytest.raises(ValueError, match="does not broadcast"):
        fr.gamma(fr.key(0), fnp.ones((3,)), (4,))
    with pytest.raises(TypeError, match="float dtype"):
        fr.gamma(fr.key(0), 1.0, (2,), dtype=np.int32)


def test_beta_dirichlet_chisquare_moments_and_cdfs():
    k = fr.key(5)
    b = np.asarray(fr.beta(k, 2.0, 3.0, (N,)))
    # Beta(2, 3) CDF: I_x(2, 3) = 6x^2/2 - 8x^3/3 + 3x^4/4 times 2 ... in closed form
    assert _ks(b, lambda v: 6 * v**2 - 8 * v**3 + 3 * v**4) < KS_BOUND
    alpha = np.array([1.0, 2.0, 5.0])
    d = np.asarray(fr.dirichlet(k, fnp.asarray(alpha), (N,)))
    assert d.shape == (N, 3)
    np.testing.assert_allclose(d.sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(d.mean(0), alpha / alpha.sum(), atol=0.01)
    c = fr.chisquare(k, 4.0, (N,))
    assert _ks(c, lambda v: _gammainc(2.0, v / 2)) < KS_BOUND
    with pytest.raises(ValueError, match="at least one dimension"):
        fr.dirichlet(k, 1.0)


def test_t_and_f_moments():
    k = fr.key(6)
    t = np.asarray(fr.t(k, 6.0, (N,)))
    assert abs(t.mean()) < 0.05 and abs(t.var() - 1.5) < 0.15
    f = np.asarray(fr.f(k, 5.0, 12.0, (N,)))
    assert abs(f.mean() - 12.0 / 10.0) < 0.05


def _poisson_pmf(lam, kmax):
    return np.array([math.exp(k * math.log(lam) - lam - math.lgamma(k + 1)) for k in range(kmax)])


@pytest.mark.parametrize("lam", [0.3, 4.0, 9.5, 12.0, 80.0])
def test_poisson_matches_the_exact_pmf(lam):
    x = np.asarray(fr.poisson(fr.key(2), lam, (N,)))
    assert x.dtype == np.int32 and x.min() >= 0
    kmax = int(lam + 10 * math.sqrt(lam) + 10)
    emp = np.bincount(x, minlength=kmax)[:kmax] / N
    pmf = _poisson_pmf(lam, kmax)
    # within 5 standard errors everywhere (and the cdf within the KS bound)
    assert np.all(np.abs(emp - pmf) <= 5 * np.sqrt(pmf * (1 - pmf) / N) + 1e-4)
    assert np.max(np.abs(np.cumsum(emp) - np.cumsum(pmf))) < KS_BOUND


def test_poisson_edge_cases():
    x = fr.poisson(fr.key(0), fnp.array([0.0, 1e4]), (1000, 2))
    assert np.all(np.asarray(x)[:, 0] == 0)
    assert abs(np.asarray(x)[:, 1].mean() - 1e4) < 15
    with pytest.raises(TypeError, match="integer dtype"):
        fr.poisson(fr.key(0), 1.0, dtype=np.float32)


def test_simple_continuous_distributions_match_their_cdfs():
    k = fr.key(9)
    cases = [
        (fr.cauchy(k, (N,)), lambda v: 0.5 + math.atan(v) / math.pi),
        (fr.lognormal(k, 0.5, (N,)), lambda v: _normal_cdf(math.log(v) / 0.5)),
        (fr.pareto(k, 3.0, (N,)), lambda v: 1 - v**-3.0),
        (fr.weibull_min(k, 2.0, 1.5, (N,)), lambda v: 1 - math.exp(-((v / 2.0) ** 1.5))),
        (fr.rayleigh(k, 2.0, (N,)), lambda v: 1 - math.exp(-v * v / 8.0)),
        (fr.maxwell(k, (N,)), lambda v: _gammainc(1.5, v * v / 2)),
        (
            fr.triangular(k, 0.0, 1.0, 3.0, (N,)),
            lambda v: v * v / 3 if v < 1 else 1 - (3 - v) ** 2 / 6,
        ),
        (
            fr.generalized_normal(k, 1.0, (N,)),  # p = 1: Laplace
            lambda v: 0.5 * math.exp(v) if v < 0 else 1 - 0.5 * math.exp(-v),
        ),
        (
            fr.double_sided_maxwell(k, 1.0, 2.0, (N,)),
            lambda v: 0.5 + math.copysign(0.5 * _gammainc(1.5, ((v - 1) / 2) ** 2 / 2), v - 1),
        ),
    ]
    for x, cdf in cases:
        assert _ks(x, cdf) < KS_BOUND


def test_geometric_and_wald():
    k = fr.key(4)
    g = np.asarray(fr.geometric(k, 0.25, (N,)))
    assert g.dtype == np.int32 and g.min() >= 1
    emp = np.bincount(g, minlength=10)[1:10] / N
    pmf = 0.25 * 0.75 ** np.arange(9)
    np.testing.assert_allclose(emp, pmf, atol=0.01)
    w = np.asarray(fr.wald(k, 2.0, (N,)))
    assert w.min() > 0 and abs(w.mean() - 2.0) < 0.1 and abs(w.var() - 8.0) < 1.0


@pytest.mark.parametrize("method", ["cholesky", "eigh", "svd"])
def test_multivariate_normal_covariance(method):
    mean = np.array([1.0, -2.0, 0.5])
    a = np.array([[1.0, 0.2, 0.0], [0.3, 1.0, 0.5], [0.0, 0.1, 0.7]])
    cov = a @ a.T
    x = np.asarray(fr.multivariate_normal(fr.key(8), mean, cov, (N,), method=method))
    assert x.shape == (N, 3)
    np.testing.assert_allclose(x.mean(0), mean, atol=0.05)
    np.testing.assert_allclose(np.cov(x.T), cov, atol=0.06)
    assert fr.multivariate_normal(fr.key(0), np.zeros((4, 3)), cov).shape == (4, 3)


def test_multivariate_normal_rejects_bad_shapes_and_methods():
    with pytest.raises(ValueError, match=r"mean must have shape \(..., n\)"):
        fr.multivariate_normal(fr.key(0), np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match="method"):
        fr.multivariate_normal(fr.key(0), np.zeros(2), np.eye(2), method="qr")


def test_orthogonal_and_ball():
    q = np.asarray(fr.orthogonal(fr.key(0), 4, (3,)))
    assert q.shape == (3, 4, 4)
    np.testing.assert_allclose(
        q @ np.swapaxes(q, -1, -2), np.broadcast_to(np.eye(4), q.shape), atol=1e-5
    )
    wide = np.asarray(fr.orthogonal(fr.key(0), 2, m=5))
    assert wide.shape == (2, 5)
    np.testing.assert_allclose(wide @ wide.T, np.eye(2), atol=1e-5)
    # Haar: the (0, 0) entry of a random 2x2 rotation/reflection is cos(uniform angle)
    c = np.asarray(fr.orthogonal(fr.key(1), 2, (N,)))[:, 0, 0]
    assert _ks(c, lambda v: 1 - math.acos(max(-1.0, min(1.0, v))) / math.pi) < KS_BOUND
    b = np.asarray(fr.ball(fr.key(2), 3, shape=(N,)))
    r = np.linalg.norm(b, axis=-1)
    assert b.shape == (N, 3) and r.max() <= 1.0
    assert _ks(r, lambda v: v**3) < KS_BOUND  # uniform in the ball: P(r <= v) = v^3
    r1 = np.abs(np.asarray(fr.ball(fr.key(2), 2, p=1, shape=(N,)))).sum(-1)
    assert r1.max() <= 1.0 and _ks(r1, lambda v: v**2) < KS_BOUND


def test_new_samplers_under_jit_vmap_and_are_deterministic():
    k = fr.key(11)
    # the two rejection samplers (candidate selection must survive compilation)
    fns = [
        lambda k: fr.gamma(k, fnp.array([0.3, 1.7]), (32, 2)),
        lambda k: fr.poisson(k, fnp.array([3.0, 25.0]), (32, 2)),
    ]
    for f in fns:
        np.testing.assert_allclose(f(k), f(k))
        np.testing.assert_allclose(fg.jit(f)(k), f(k), rtol=1e-4, atol=1e-5)
        keys = fr.split(k, 3)
        np.testing.assert_allclose(
            fg.vmap(f)(keys), np.stack([f(kk) for kk in keys]), rtol=1e-5, atol=1e-6
        )


def test_location_scale_samplers_are_differentiable():
    k = fr.key(0)
    g = fg.grad(lambda s: fnp.sum(fr.lognormal(k, s, (8,))))(0.5)
    z = np.asarray(fr.normal(k, (8,)))
    np.testing.assert_allclose(g, np.sum(z * np.exp(0.5 * z)), rtol=1e-4)
    g = fg.grad(lambda s: fnp.sum(fr.weibull_min(k, s, 2.0, (8,))))(3.0)
    np.testing.assert_allclose(g, np.sum(fr.weibull_min(k, 1.0, 2.0, (8,))), rtol=1e-5)


# ---- lax ------------------------------------------------------------------------------------


def test_top_k_values_indices_and_ties():
    v, i = lax.top_k(fnp.array([9.0, 3.0, 6.0, 4.0, 10.0, 9.0]), 3)
    assert v.tolist() == [10.0, 9.0, 9.0] and i.tolist() == [4, 0, 5] and i.dtype == np.int32
    x = np.random.default_rng(0).integers(0, 5, (4, 7)).astype(np.float32)  # many ties
    v, i = fg.jit(lambda x: lax.top_k(x, 4))(x)
    order = np.argsort(-x, axis=-1, kind="stable")[:, :4]
    np.testing.assert_array_equal(i, order)
    np.testing.assert_array_equal(v, np.take_along_axis(x, order, -1))
    _, i0 = lax.top_k(x, 2, axis=0)
    np.testing.assert_array_equal(i0, np.argsort(-x, axis=0, kind="stable")[:2])
    u, iu = lax.top_k(fnp.array([1, 200, 7], dtype=np.uint8), 2)
    assert u.tolist() == [200, 7] and iu.tolist() == [1, 2]
    with pytest.raises(ValueError, match="k must be between 0"):
        lax.top_k(fnp.ones(3), 4)


def test_top_k_grad_and_vmap():
    x = fnp.array([[1.0, 3.0, 2.0], [5.0, 4.0, 6.0]])
    g = fg.grad(lambda x: fnp.sum(lax.top_k(x, 2)[0] * fnp.array([1.0, 10.0])))(x)
    np.testing.assert_allclose(g, [[0, 1, 10], [10, 0, 1]])
    v, i = fg.vmap(lambda r: lax.top_k(r, 1))(x)
    assert v.tolist() == [[3.0], [6.0]] and i.tolist() == [[1], [2]]


def test_sort_key_val_and_index_in_dim():
    k, v = lax.sort_key_val(fnp.array([3, 1, 2]), fnp.array([30.0, 10.0, 20.0]))
    assert k.tolist() == [1, 2, 3] and v.tolist() == [10.0, 20.0, 30.0]
    with pytest.raises(TypeError, match="same shape"):
        lax.sort_key_val(fnp.ones(3), fnp.ones(2))
    x = fnp.arange(12.0).reshape(3, 4)
    assert lax.index_in_dim(x, -1, 1).shape == (3, 1)
    assert lax.index_in_dim(x, 1, 0, keepdims=False).tolist() == [4.0, 5.0, 6.0, 7.0]
    with pytest.raises(IndexError, match="out of bounds"):
        lax.index_in_dim(x, 3, 0)


def test_scatter_mul_min_max():
    op = fnp.array([1.0, 2.0, 3.0])
    idx = fnp.array([[0], [0], [2]])
    upd = fnp.array([4.0, -5.0, 0.5])
    assert lax.scatter_mul(op, idx, upd, (0,)).tolist() == [-20.0, 2.0, 1.5]
    assert lax.scatter_min(op, idx, upd, (0,)).tolist() == [-5.0, 2.0, 0.5]
    assert lax.scatter_max(op, idx, upd, (0,)).tolist() == [4.0, 2.0, 3.0]
    g = fg.grad(lambda u: fnp.sum(lax.scatter_mul(op, fnp.array([[1]]), u, (0,))))(fnp.array([3.0]))
    assert g.tolist() == [2.0]


def test_batch_matmul_and_precision():
    rng = np.random.default_rng(1)
    a, b = (
        rng.normal(size=(2, 3, 4)).astype(np.float32),
        rng.normal(size=(2, 4, 5)).astype(np.float32),
    )
    np.testing.assert_allclose(
        lax.batch_matmul(a, b, precision=lax.Precision.HIGHEST), a @ b, rtol=1e-5, atol=1e-5
    )
    with pytest.raises(TypeError, match="batch_matmul"):
        lax.batch_matmul(a, b[0])
    assert lax.Precision("highest") is lax.Precision.HIGHEST
    assert lax.Precision("bfloat16") is lax.Precision.DEFAULT
    with pytest.raises(ValueError):
        lax.Precision("fast-ish")
    np.testing.assert_allclose(
        fnp.dot(a[0], b[0], precision=lax.Precision.HIGH), a[0] @ b[0], rtol=1e-5, atol=1e-5
    )


def test_optimization_barrier_is_identity_on_pytrees():
    t = {"a": fnp.ones(2), "b": (fnp.zeros(1),)}
    assert lax.optimization_barrier(t) is t
    assert fg.grad(lambda x: fnp.sum(lax.optimization_barrier(x) ** 2))(fnp.ones(2)).tolist() == [
        2.0,
        2.0,
    ]


def _np_cumlogsumexp(x, axis, reverse):
    x = np.flip(x, axis) if reverse else x
    m = np.max(x)
    out = np.log(np.cumsum(np.exp(x.astype(np.float64) - m), axis)) + m
    return np.flip(out, axis) if reverse else out


def test_cumlogsumexp_matches_numpy_and_is_stable():
    x = np.random.default_rng(2).normal(size=(3, 5)).astype(np.float32) * 3
    for axis, rev in [(0, False), (1, True), (-1, False)]:
        np.testing.assert_allclose(
            lax.cumlogsumexp(x, axis, rev), _np_cumlogsumexp(x, axis, rev), rtol=1e-5, atol=1e-5
        )
    np.testing.assert_allclose(
        fg.jit(lambda x: lax.cumlogsumexp(x, 1))(x),
        _np_cumlogsumexp(x, 1, False),
        rtol=1e-5,
        atol=1e-5,
    )
    big = lax.cumlogsumexp(fnp.array([-1000.0, 0.0, 1000.0, -np.inf]))
    np.testing.assert_allclose(big, [-1000.0, 0.0, 1000.0, 1000.0])
    g = fg.grad(lambda x: lax.cumlogsumexp(x)[-1])(fnp.array([0.0, np.log(3.0)]))
    np.testing.assert_allclose(g, [0.25, 0.75], rtol=1e-6)
    assert np.all(
        np.isfinite(fg.grad(lambda x: fnp.sum(lax.cumlogsumexp(x)))(fnp.array([-np.inf, 0.0])))
    )
    with pytest.raises(TypeError, match="floating"):
        lax.cumlogsumexp(fnp.arange(3))


def _np_reduce_window(x, init, op, window, strides, pads):
    xp = np.pad(x, pads, constant_values=init)
    out_shape = [(p - w) // s + 1 for p, w, s in zip(xp.shape, window, strides)]
    out = np.empty(out_shape, x.dtype)
    for idx in np.ndindex(*out_shape):
        sl = tuple(slice(i * s, i * s + w) for i, s, w in zip(idx, strides, window))
        out[idx] = op(np.concatenate([[init], xp[sl].ravel()]))
    return out


@pytest.mark.parametrize(
    "comp,init,npop",
    [(lax.add, 0.0, np.sum), (lax.max, -np.inf, np.max), (lax.min, np.inf, np.min)],
)
@pytest.mark.parametrize("padding", ["VALID", "SAME", ((1, 0), (2, 1))])
def test_reduce_window_matches_a_loop(comp, init, npop, padding):
    x = np.random.default_rng(3).normal(size=(5, 6)).astype(np.float32)
    window, strides = (2, 3), (2, 1)
    if padding == "VALID":
        pads = ((0, 0), (0, 0))
    elif padding == "SAME":
        pads = ((0, 1), (1, 1))  # out = ceil(5/2)=3 -> total 1; ceil(6/1)=6 -> total 2
    else:
        pads = padding
    ref = _np_reduce_window(x, init, npop, window, strides, pads)
    out = lax.reduce_window(x, init, comp, window, strides, padding)
    np.testing.assert_allclose(out, ref, rtol=1e-5)
    jout = fg.jit(lambda x: lax.reduce_window(x, init, comp, window, strides, padding))(x)
    np.testing.assert_allclose(jout, ref, rtol=1e-5)


def test_reduce_window_grad_vmap_dilation_and_errors():
    x = fnp.arange(6.0).reshape(2, 3)
    g = fg.grad(lambda x: fnp.sum(lax.reduce_window(x, 0.0, lax.add, (1, 2), (1, 1), "VALID")))(x)
    assert g.tolist() == [[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]]
    g = fg.grad(lambda x: fnp.sum(lax.reduce_window(x, -np.inf, lax.max, (2, 2), (1, 1), "VALID")))(
        x
    )
    assert g.tolist() == [[0.0, 0.0, 0.0], [0.0, 1.0, 1.0]]
    xs = np.random.default_rng(4).normal(size=(3, 8)).astype(np.float32)
    out = fg.vmap(lambda r: lax.reduce_window(r, 0.0, lax.add, (3,), (2,), "VALID"))(xs)
    ref = np.stack([_np_reduce_window(r, 0.0, np.sum, (3,), (2,), ((0, 0),)) for r in xs])
    np.testing.assert_allclose(out, ref, rtol=1e-5)
    # window_dilation 2: elements i and i + 2
    wd = lax.reduce_window(fnp.arange(5.0), 0.0, lax.add, (2,), (1,), "VALID", window_dilation=(2,))
    assert wd.tolist() == [2.0, 4.0, 6.0]
    # base_dilation 2: [0, pad, 1, pad, 2] with pad = init
    bd = lax.reduce_window(
        fnp.arange(3.0), -np.inf, lax.max, (2,), (1,), "VALID", base_dilation=(2,)
    )
    assert bd.tolist() == [0.0, 1.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="one entry per dimension"):
        lax.reduce_window(x, 0.0, lax.add, (2,), (1,), "VALID")
    with pytest.raises(ValueError, match="padding must be"):
        lax.reduce_window(x, 0.0, lax.add, (1, 1), (1, 1), "FULL")


def test_polygamma_known_values_recurrence_grad_and_domain():
    m = lambda v, like: fnp.full(fnp.shape(like), float(v))
    one = fnp.array([1.0, 0.5])
    np.testing.assert_allclose(
        lax.polygamma(m(1, one), one), [np.pi**2 / 6, np.pi**2 / 2], rtol=1e-6
    )
    np.testing.assert_allclose(lax.polygamma(2.0, 1.0), -2 * 1.2020569031595942, rtol=1e-6)
    np.testing.assert_allclose(lax.polygamma(3.0, 1.0), np.pi**4 / 15, rtol=1e-6)
    x = np.random.default_rng(7).uniform(0.5, 20, 50).astype(np.float32)
    np.testing.assert_allclose(lax.polygamma(m(0, x), x), fnp.asarray(lax.digamma(x)))
    for k in (1, 2, 4):
        lhs = np.asarray(lax.polygamma(m(k, x), x + 1), np.float64)
        rhs = np.asarray(lax.polygamma(m(k, x), x), np.float64) + (-1) ** k * math.factorial(
            k
        ) / x.astype(np.float64) ** (k + 1)
        np.testing.assert_allclose(lhs, rhs, rtol=1e-4, atol=1e-6)
    g = fg.grad(lambda x: lax.polygamma(2.0, x))(1.0)
    np.testing.assert_allclose(g, np.pi**4 / 15, rtol=1e-5)  # d/dx psi2 = psi3
    np.testing.assert_allclose(
        fg.jit(lax.polygamma)(m(1, x), x), lax.polygamma(m(1, x), x), rtol=1e-5
    )
    np.testing.assert_allclose(
        fg.vmap(lambda v: lax.polygamma(1.0, v))(x), lax.polygamma(m(1, x), x), rtol=1e-6
    )
    bad = lax.polygamma(fnp.array([1.5, -1.0, 2.0]), fnp.array([1.0, 1.0, -0.5]))
    assert np.all(np.isnan(bad))


def test_polygamma_matches_scipy():
    sps = pytest.importorskip("scipy.special")
    x = np.array([0.01, 0.3, 1.0, 2.5, 7.0, 30.0, 1000.0], np.float32)
    for k in (0, 1, 2, 3, 6):
        np.testing.assert_allclose(
            lax.polygamma(np.full_like(x, k), x), sps.polygamma(k, x.astype(np.float64)), rtol=1e-5
        )


def test_zeta_matches_references():
    np.testing.assert_allclose(lax.zeta(2.0, 1.0), np.pi**2 / 6, rtol=1e-6)
    np.testing.assert_allclose(lax.zeta(4.0, 1.0), np.pi**4 / 90, rtol=1e-6)
    np.testing.assert_allclose(lax.zeta(2.0, 0.5), np.pi**2 / 2, rtol=1e-6)
    q = np.random.default_rng(8).uniform(0.1, 10, 20).astype(np.float32)
    # zeta(s, q) - zeta(s, q + 1) = q**-s
    np.testing.assert_allclose(
        np.asarray(lax.zeta(np.full_like(q, 2.5), q))
        - np.asarray(lax.zeta(np.full_like(q, 2.5), q + 1)),
        q**-2.5,
        rtol=1e-4,
    )
    g = fg.grad(lambda q: lax.zeta(3.0, q))(2.0)  # d/dq zeta(s, q) = -s zeta(s + 1, q)
    np.testing.assert_allclose(g, -3.0 * np.asarray(lax.zeta(4.0, 2.0)), rtol=1e-5)
    out = np.asarray(lax.zeta(fnp.array([1.0, 0.5, 2.0]), fnp.array([1.0, 1.0, -1.0])))
    assert out[0] == np.inf and np.isnan(out[1]) and np.isnan(out[2])
    sps = pytest.importorskip("scipy.special")
    s_ = np.array([1.5, 3.0, 7.5], np.float32)
    q_ = np.array([0.3, 2.5, 0.1], np.float32)
    np.testing.assert_allclose(
        lax.zeta(s_, q_), sps.zeta(s_.astype(float), q_.astype(float)), rtol=1e-5
    )


def test_reduce_generic_computations():
    x = np.random.default_rng(9).normal(size=(3, 7)).astype(np.float32)
    np.testing.assert_allclose(lax.reduce(x, 0.0, lax.add, (1,)), x.sum(1), rtol=1e-5)
    np.testing.assert_allclose(lax.reduce(x, -np.inf, lax.max, (0, 1)), x.max())
    np.testing.assert_allclose(lax.reduce(x, 2.0, lax.mul, (0,)), 2 * x.prod(0), rtol=1e-5)
    np.testing.assert_allclose(fg.jit(lambda x: lax.reduce(x, np.inf, lax.min, (1,)))(x), x.min(1))
    np.testing.assert_allclose(
        fg.vmap(lambda r: lax.reduce(r, 0.0, lax.add, (0,)))(x), x.sum(1), rtol=1e-5
    )
    g = fg.grad(lambda x: lax.reduce(x, 0.0, lax.add, (0, 1)))(x)
    np.testing.assert_allclose(g, np.ones_like(x))

    def argmax_comb(a, b):
        (va, ia), (vb, ib) = a, b
        keep = lax.ge(va, vb)
        return lax.select(keep, va, vb), lax.select(keep, ia, ib)

    v, i = lax.reduce(
        (fnp.array([3.0, 7.0, 1.0, 7.0, 2.0]), fnp.arange(5)), (-np.inf, 0), argmax_comb, (0,)
    )
    assert float(v) == 7.0 and int(i) in (1, 3)
    assert lax.reduce(fnp.zeros((0, 3)), 5.0, lax.add, (0,)).tolist() == [5.0, 5.0, 5.0]
    with pytest.raises(ValueError, match="init_values"):
        lax.reduce((fnp.ones(2), fnp.ones(2)), (0.0,), lax.add, (0,))


def test_log1mexp_and_tree_broadcast_alias():
    x = np.array([1e-6, 0.1, 0.69, 0.7, 5.0, 30.0], np.float32)
    np.testing.assert_allclose(
        fg.nn.log1mexp(x), np.log(-np.expm1(-x.astype(np.float64))), rtol=1e-5, atol=1e-12
    )
    g = fg.vmap(fg.grad(fg.nn.log1mexp))(fnp.asarray(x))
    np.testing.assert_allclose(g, 1 / np.expm1(x.astype(np.float64)), rtol=1e-4)
    assert fg.tree.broadcast((1, 2), ([0, 0], 0)) == ([1, 1], 2)


# ---- nn -------------------------------------------------------------------------------------


def _np_softplus(x):
    return np.logaddexp(x, 0)


NN_REFS = {
    "hard_sigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "hard_silu": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "hard_swish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "mish": lambda x: x * np.tanh(_np_softplus(x)),
    "squareplus": lambda x: (x + np.sqrt(x * x + 4)) / 2,
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "sparse_sigmoid": lambda x: np.clip((x + 1) / 2, 0, 1),
    "tanh": np.tanh,
    "identity": lambda x: x,
}


@pytest.mark.parametrize("name", sorted(NN_REFS))
def test_nn_activations_match_numpy_under_jit_grad_vmap(name):
    fn = getattr(fg.nn, name)
    x = np.random.default_rng(5).uniform(-5, 5, (4, 6)).astype(np.float32)
    ref = NN_REFS[name](x.astype(np.float64))
    np.testing.assert_allclose(fn(x), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fg.jit(fn)(x), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fg.vmap(fn)(x), ref, rtol=1e-5, atol=1e-6)
    h = 1e-3
    xs = x[0].astype(np.float64)
    num = (NN_REFS[name](xs + h) - NN_REFS[name](xs - h)) / (2 * h)
    g = fg.vmap(fg.grad(fn))(x[0])
    np.testing.assert_allclose(g, num, rtol=2e-3, atol=2e-3)


def test_glu_and_normalize():
    x = np.random.default_rng(6).normal(size=(3, 4)).astype(np.float32)
    ref = x[:, :2] / (1 + np.exp(-x[:, 2:]))
    np.testing.assert_allclose(fg.nn.glu(x), ref, rtol=1e-5)
    np.testing.assert_allclose(fg.nn.glu(x.T, axis=0), ref.T, rtol=1e-5)
    np.testing.assert_allclose(fg.jit(fg.nn.glu)(x), ref, rtol=1e-5)
    with pytest.raises(ValueError, match="must be even"):
        fg.nn.glu(fnp.ones((2, 3)))
    assert fg.nn.normalize is fg.nn.standardize
    assert fg.nn.squareplus(0.0, b=16).tolist() == 2.0


# ---- tree_util ------------------------------------------------------------------------------


@tu.register_pytree_node_class
class _Box:
    def __init__(self, value, label):
        self.value, self.label = value, label

    def tree_flatten(self):
        return (self.value,), self.label

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(children[0], aux)


def test_register_pytree_node_class_works_with_transformations():
    b = _Box({"w": fnp.ones(2)}, "tag")
    leaves, td = tu.tree_flatten(b)
    assert len(leaves) == 1 and "_Box" in repr(td)
    out = fg.jit(lambda b: _Box(b.value["w"] * 2, b.label))(b)
    assert isinstance(out, _Box) and out.label == "tag" and out.value.tolist() == [2.0, 2.0]
    g = fg.grad(lambda b: fnp.sum(b.value["w"] ** 2))(b)
    assert g.label == "tag" and g.value["w"].tolist() == [2.0, 2.0]
    with pytest.raises(TypeError, match="tree_flatten method"):
        tu.register_pytree_node_class(type("NoMethods", (), {}))


def test_treedef_children_build_tree_tree_broadcast():
    td = tu.tree_structure({"a": 0, "b": (0, [0, 0])})
    kids = tu.treedef_children(td)
    assert kids == [tu.tree_structure(0), tu.tree_structure((0, [0, 0]))]
    assert tu.build_tree(td, [1, (2, [3, 4])]) == {"a": 1, "b": (2, [3, 4])}
    with pytest.raises(ValueError, match="children"):
        tu.build_tree(td, [1])
    assert tu.tree_broadcast({"a": 1, "b": 2}, {"a": [0, 0], "b": {"x": 0, "y": (0,)}}) == {
        "a": [1, 1],
        "b": {"x": 2, "y": (2,)},
    }
    with pytest.raises(ValueError, match="not a prefix"):
        tu.tree_broadcast((1, 2), [0, 0])
    assert td.flatten_up_to({"a": [9], "b": (8, [7, 6])}) == [[9], 8, 7, 6]


# ---- top level ------------------------------------------------------------------------------


def test_disable_jit_runs_python_eagerly():
    seen = []

    @fg.jit
    def f(x):
        seen.append(type(x).__name__)
        return x * 2

    f(fnp.ones(2))
    with fg.disable_jit():
        assert f(fnp.ones(2)).tolist() == [2.0, 2.0]
        assert seen[-1] == "Array"
    assert len(seen) == 2
    f(fnp.ones(2))
    assert len(seen) == 2  # cached again outside the block


def test_clear_caches_named_scope_named_call_ensure_compile_time_eval():
    f = fg.jit(lambda x: x + 1)
    f(fnp.ones(2))
    assert f._cache_size() == 1
    fg.clear_caches()
    assert f._cache_size() == 0 and f(fnp.ones(2)).tolist() == [2.0, 2.0]
    with fg.named_scope("block"), fg.ensure_compile_time_eval():
        g = fg.named_call(lambda x: x * 3, name="triple")
        assert g.__name__ == "triple" and g(2) == 6
    with pytest.raises(TypeError, match="string"), fg.named_scope(3):
        pass
    assert not hasattr(fg, "tree_map")


# ---- the implicit reparameterization gradient of gamma samples ------------------------------


def _gammainc64(a, x):
    """P(a, x) in float64 (series below a + 1, continued fraction above), for the reference."""
    if x < a + 1:
        t = s = 1.0 / a
        n = 0
        while abs(t) > 1e-17 * abs(s):
            n += 1
            t *= x / (a + n)
            s += t
        return s * math.exp(a * math.log(x) - x - math.lgamma(a))
    b, c = x + 1 - a, 1e300
    d = 1 / b
    h = d
    for i in range(1, 3000):
        an = -i * (i - a)
        b += 2
        d = 1 / (an * d + b)
        c = b + an / c
        h *= d * c
    return 1 - math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


@pytest.mark.parametrize("a", [0.05, 0.7, 3.0, 40.0, 350.0, 1500.0])
def test_gamma_sample_gradient_is_the_implicit_one(a):
    """d z / d a per sample against -dP/da / p(z) from a float64 central difference of P (all
    three regimes: series, continued fraction, Wilson-Hilferty above a = 400)."""
    f = lambda a_: fr.gamma(fr.key(3), a_, (64,))
    z = np.asarray(f(a), np.float64)
    dz = np.asarray(fg.jacfwd(f)(fnp.float32(a)), np.float64)
    keep = z > 1e-30
    eps = 1e-6 * a
    want = np.array(
        [
            -(_gammainc64(a + eps, v) - _gammainc64(a - eps, v))
            / (2 * eps)
            / math.exp((a - 1) * math.log(v) - v - math.lgamma(a))
            for v in z[keep]
        ]
    )
    np.testing.assert_allclose(dz[keep], want, rtol=5e-5, atol=1e-6)


def test_gamma_gradients_match_the_moments():
    """E[z] = a and E[log z] = digamma(a): the sample gradients average to 1 and trigamma(a);
    beta's to d/da a/(a+b). Under jit and vmap too."""
    key = fr.key(7)
    n = 20000
    mean = lambda a: fnp.mean(fr.gamma(key, a, (n,)))
    assert abs(float(fg.grad(mean)(2.5)) - 1.0) < 0.03
    mean_log = fg.jit(lambda a: fnp.mean(fr.loggamma(key, a, (n,))))
    trigamma = sum(1.0 / (0.4 + k) ** 2 for k in range(200000))
    assert abs(float(fg.grad(mean_log)(0.4)) - trigamma) < 0.05 * trigamma
    per_a = fg.vmap(fg.grad(lambda a: fnp.mean(fr.gamma(key, a, (n,)))))(fnp.array([0.3, 9.0]))
    np.testing.assert_allclose(np.asarray(per_a), [1.0, 1.0], atol=0.05)
    db = fg.grad(lambda a: fnp.mean(fr.beta(key, a, 3.0, (n,))))(2.0)
    assert abs(float(db) - 3.0 / 25.0) < 0.01
    assert float(fg.grad(lambda s: fnp.sum(fr.gamma(key, 2.0, (10,)) * s))(1.0)) > 0
