"""Activation functions (funcgrad._src.nn_functions): values vs numpy references, finite
values and gradients at ±1e4, JAX's pinned gradient conventions at kinks and ties."""

import math

import numpy as np
import pytest
from _gradcheck import check_grads

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad._src import nn_functions as nn

_erf = np.vectorize(math.erf)
_sig = lambda x: 1 / (1 + np.exp(-x))
ALPHA, SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

REFS = {
    "relu": (nn.relu, lambda x: np.maximum(x, 0)),
    "relu6": (nn.relu6, lambda x: np.clip(x, 0, 6)),
    "sigmoid": (nn.sigmoid, _sig),
    "softplus": (nn.softplus, lambda x: np.log1p(np.exp(x))),
    "log_sigmoid": (nn.log_sigmoid, lambda x: np.log(_sig(x))),
    "silu": (nn.silu, lambda x: x * _sig(x)),
    "swish": (nn.swish, lambda x: x * _sig(x)),
    "gelu_tanh": (
        nn.gelu,
        lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
    ),
    "gelu_exact": (
        lambda x: nn.gelu(x, approximate=False),
        lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))),
    ),
    "hard_tanh": (nn.hard_tanh, lambda x: np.clip(x, -1, 1)),
    "leaky_relu": (nn.leaky_relu, lambda x: np.where(x >= 0, x, 0.01 * x)),
    "elu": (nn.elu, lambda x: np.where(x > 0, x, np.expm1(x))),
    "celu": (
        lambda x: nn.celu(x, 0.5),
        lambda x: np.maximum(x, 0) + 0.5 * np.expm1(np.minimum(x, 0) / 0.5),
    ),
    "selu": (nn.selu, lambda x: SCALE * np.where(x > 0, x, ALPHA * np.expm1(x))),
    "soft_sign": (nn.soft_sign, lambda x: x / (np.abs(x) + 1)),
}
GRID = np.linspace(-8, 8, 33) + 0.01  # avoid the kinks at exactly 0 / ±1 / 6


@pytest.mark.parametrize("name", sorted(REFS))
def test_values(name):
    fn, ref = REFS[name]
    with fg.config.override(enable_x64=True):
        np.testing.assert_allclose(np.asarray(fn(GRID)), ref(GRID), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(REFS))
def test_grads(name):
    check_grads(REFS[name][0], [GRID], order=2)


@pytest.mark.parametrize("name", sorted(REFS))
def test_extreme_inputs_finite_value_and_grad(name):
    fn = REFS[name][0]
    x = fnp.array([-1e4, -100.0, 100.0, 1e4])
    assert np.all(np.isfinite(np.asarray(fn(x))))
    g = fg.vmap(fg.grad(fn))(x)
    assert np.all(np.isfinite(np.asarray(g))), (name, g)


def test_stable_tails():
    close = np.testing.assert_allclose
    close(nn.softplus(fnp.array([1e4, -1e4])), [1e4, 0.0])
    close(nn.log_sigmoid(fnp.array([-1e4, 1e4])), [-1e4, 0.0])
    close(fg.grad(nn.log_sigmoid)(-1e4), 1.0)
    close(fg.grad(nn.softplus)(1e4), 1.0)
    close(fg.grad(nn.softplus)(0.0), 0.5)
    close(nn.gelu(fnp.array([-1e4, 1e4])), [0.0, 1e4])


# ---- pinned conventions (JAX's), documented in docs/numpy.md ----------------------------------


def test_kink_conventions():
    assert float(fg.grad(nn.relu)(0.0)) == 0.0
    assert float(fg.grad(nn.relu6)(0.0)) == 0.0 and float(fg.grad(nn.relu6)(6.0)) == 0.0
    assert float(fg.grad(nn.relu6)(3.0)) == 1.0
    assert float(fg.grad(fnp.abs)(0.0)) == 1.0
    assert float(fg.grad(lambda x: fnp.maximum(x, x))(2.0)) == 1.0
    gx, gy = fg.grad(fnp.maximum, argnums=(0, 1))(2.0, 2.0)
    assert float(gx) == 0.5 and float(gy) == 0.5
    gx, gy = fg.grad(fnp.minimum, argnums=(0, 1))(2.0, 2.0)
    assert float(gx) == 0.5 and float(gy) == 0.5
    g = fg.grad(fnp.max)(fnp.array([1.0, 3.0, 3.0, 3.0]))
    np.testing.assert_allclose(g, [0, 1 / 3, 1 / 3, 1 / 3])
    g = fg.grad(lambda x: fnp.sum(fnp.min(x, axis=1)))(fnp.array([[1.0, 1.0], [0.0, 2.0]]))
    np.testing.assert_allclose(g, [[0.5, 0.5], [1.0, 0.0]])
    # relu via maximum (not nn.relu) splits the tie with the constant 0
    assert float(fg.grad(lambda x: fnp.maximum(x, 0.0))(0.0)) == 0.5


# ---- softmax family ---------------------------------------------------------------------------

X = np.random.default_rng(2).standard_normal((3, 5)).astype(np.float32)


def _np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [-1, 0, (0, 1)])
def test_softmax_log_softmax_values(axis):
    np.testing.assert_allclose(nn.softmax(X, axis=axis), _np_softmax(X, axis), rtol=1e-5)
    np.testing.assert_allclose(
        nn.log_softmax(X, axis=axis), np.log(_np_softmax(X, axis)), rtol=1e-5, atol=1e-6
    )


def test_softmax_extreme_logits():
    x = fnp.array([1e4, -1e4, 0.0, 1e4])
    np.testing.assert_allclose(nn.softmax(x), [0.5, 0, 0, 0.5])
    ls = np.asarray(nn.log_softmax(x))
    assert np.all(np.isfinite(ls)) and abs(ls[0] + np.log(2)) < 1e-6
    for f in (
        lambda x: nn.log_softmax(x)[1],
        lambda x: nn.softmax(x)[0],
        lambda x: nn.logsumexp(x),
    ):
        assert np.all(np.isfinite(np.asarray(fg.grad(f)(x))))


def test_softmax_where_mask():
    mask = np.array([[True, False, True, True, False]] * 3)
    s = np.asarray(nn.softmax(X, where=mask))
    ref = _np_softmax(np.where(mask, X, -np.inf))
    np.testing.assert_allclose(s, ref, rtol=1e-5)
    ls = np.asarray(nn.log_softmax(X, where=mask))
    assert np.all(ls[~mask] == -np.inf)
    np.testing.assert_allclose(ls[mask], np.log(ref[mask]), rtol=1e-5)
    g = fg.grad(lambda x: fnp.sum(nn.softmax(x, where=mask) * fnp.arange(5.0)))(X)
    assert np.all(np.asarray(g)[~mask] == 0) and np.all(np.isfinite(np.asarray(g)))
    # a fully masked row: zeros, not NaN
    full = np.zeros((1, 5), bool)
    assert np.all(np.asarray(nn.softmax(X[:1], where=full)) == 0)


def test_softmax_grads_and_vmap():
    check_grads(lambda x: nn.softmax(x, axis=1), [X], order=2)
    check_grads(lambda x: nn.log_softmax(x, axis=0), [X], order=2)
    got = fg.vmap(nn.log_softmax)(X)
    np.testing.assert_allclose(got, np.stack([np.asarray(nn.log_softmax(r)) for r in X]))


# ---- one_hot, standardize ---------------------------------------------------------------------


def test_one_hot():
    labels = fnp.array([0, 2, -1, 3])
    oh = nn.one_hot(labels, 3)
    np.testing.assert_array_equal(oh, [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]])
    assert oh.dtype == np.float32
    assert nn.one_hot(labels, 3, dtype=fnp.int32).dtype == np.int32
    np.testing.assert_array_equal(nn.one_hot(labels, 3, axis=0), np.asarray(oh).T)
    m = nn.one_hot(fnp.array([[0, 1], [1, 1]]), 2, axis=1)
    assert m.shape == (2, 2, 2)
    np.testing.assert_array_equal(m[0], [[1, 0], [0, 1]])
    np.testing.assert_array_equal(fg.vmap(lambda label: nn.one_hot(label, 3))(labels), oh)


def test_standardize():
    ref = (X - X.mean(-1, keepdims=True)) / np.sqrt(X.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(nn.standardize(X), ref, rtol=1e-4, atol=1e-5)
    ref0 = (X - 1.0) / np.sqrt(4.0 + 1e-5)
    np.testing.assert_allclose(nn.standardize(X, mean=1.0, variance=4.0), ref0, rtol=1e-5)
    ref_ax0 = (X - X.mean(0)) / np.sqrt(X.var(0) + 1e-3)
    np.testing.assert_allclose(
        nn.standardize(X, axis=0, epsilon=1e-3), ref_ax0, rtol=1e-4, atol=1e-5
    )
    const = nn.standardize(fnp.ones((2, 4)))  # zero variance: finite
    assert np.all(np.asarray(const) == 0)
    check_grads(lambda x: nn.standardize(x), [X])


def test_complex_gradient_convention_and_double_where():
    # JAX's convention: grad of a real f(z) is df/dx - i df/dy (2 conj(z) for |z|^2)
    z = fnp.array(3.0 + 4.0j, dtype=fnp.complex64)
    assert np.isclose(complex(fg.grad(lambda z: fnp.abs(z) ** 2)(z)), 6 - 8j)
    assert np.isclose(complex(fg.grad(fnp.abs)(z)), 0.6 - 0.8j)
    assert complex(fg.grad(fnp.abs)(fnp.array(0j, dtype=fnp.complex64))) == 0
    _, t = fg.jvp(fnp.abs, (z,), (fnp.array(1j, dtype=fnp.complex64),))
    assert np.isclose(float(t), 0.8)  # Re(conj(z)/|z| * i)
    unsafe = lambda x: fnp.where(x > 0, fnp.sqrt(x), 0.0)
    safe = lambda x: fnp.where(x > 0, fnp.sqrt(fnp.where(x > 0, x, 1.0)), 0.0)
    assert np.isnan(float(fg.grad(unsafe)(0.0)))
    assert float(fg.grad(safe)(0.0)) == 0.0 and float(fg.grad(safe)(4.0)) == 0.25
