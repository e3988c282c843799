"""funcgrad.nn.losses against direct numpy formulas, and stability at logits +-1e4."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.nn import losses as L

RNG = np.random.default_rng(0)
LOGITS = RNG.standard_normal((6, 5)).astype(np.float32) * 3
LABELS = RNG.integers(0, 5, 6).astype(np.int32)
EXTREME = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4]], np.float32)


def np_log_softmax(x):
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def np_onehot(y, n):
    return np.eye(n, dtype=np.float32)[y]


def test_softmax_cross_entropy_integer_and_one_hot():
    ref = -np_log_softmax(LOGITS)[np.arange(6), LABELS]
    np.testing.assert_allclose(
        L.softmax_cross_entropy(LOGITS, LABELS, reduction="none"), ref, rtol=1e-5
    )
    np.testing.assert_allclose(L.softmax_cross_entropy(LOGITS, LABELS), ref.mean(), rtol=1e-5)
    np.testing.assert_allclose(
        L.softmax_cross_entropy(LOGITS, LABELS, reduction="sum"), ref.sum(), rtol=1e-5
    )
    np.testing.assert_allclose(
        L.softmax_cross_entropy(LOGITS, np_onehot(LABELS, 5)), ref.mean(), rtol=1e-5
    )


def test_label_smoothing():
    t = np_onehot(LABELS, 5) * 0.9 + 0.1 / 5
    ref = -(t * np_log_softmax(LOGITS)).sum(-1).mean()
    np.testing.assert_allclose(
        L.softmax_cross_entropy(LOGITS, LABELS, label_smoothing=0.1), ref, rtol=1e-5
    )


def test_cross_entropy_gradient_is_softmax_minus_target():
    g = fg.grad(lambda z: L.softmax_cross_entropy(z, LABELS, reduction="sum"))(fnp.asarray(LOGITS))
    p = np.exp(np_log_softmax(LOGITS))
    np.testing.assert_allclose(g, p - np_onehot(LABELS, 5), rtol=1e-4, atol=1e-6)


def test_cross_entropy_on_another_axis():
    z = np.swapaxes(LOGITS, 0, 1)
    np.testing.assert_allclose(
        L.softmax_cross_entropy(z, LABELS, axis=0),
        L.softmax_cross_entropy(LOGITS, LABELS),
        rtol=1e-6,
    )


def test_nll_loss():
    lp = np_log_softmax(LOGITS)
    np.testing.assert_allclose(L.nll_loss(lp, LABELS), -lp[np.arange(6), LABELS].mean(), rtol=1e-5)


def test_binary_cross_entropy_with_logits():
    x = LOGITS.ravel()
    y = (RNG.random(x.shape) > 0.5).astype(np.float32)
    p = 1 / (1 + np.exp(-x.astype(np.float64)))
    ref = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    np.testing.assert_allclose(
        L.binary_cross_entropy_with_logits(x, y, reduction="none"), ref, rtol=1e-4, atol=1e-6
    )


def test_regression_losses():
    p, t = LOGITS, LOGITS[::-1].copy()
    e = p - t
    np.testing.assert_allclose(L.mse_loss(p, t), (e**2).mean(), rtol=1e-5)
    np.testing.assert_allclose(L.l2_loss(p, t), 0.5 * (e**2).mean(), rtol=1e-5)
    np.testing.assert_allclose(L.l1_loss(p, t, reduction="sum"), np.abs(e).sum(), rtol=1e-5)
    a = np.abs(e)
    hub = np.where(a <= 1.5, 0.5 * e**2, 1.5 * (a - 0.75))
    np.testing.assert_allclose(L.huber_loss(p, t, delta=1.5, reduction="none"), hub, rtol=1e-5)


def test_kl_divergence_with_zero_targets():
    t = np.exp(np_log_softmax(LOGITS))
    t[:, 0] = 0.0
    t /= t.sum(-1, keepdims=True)
    lp = np_log_softmax(LOGITS[::-1].copy())
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = np.where(t > 0, t * (np.log(t) - lp), 0).sum(-1)
    np.testing.assert_allclose(L.kl_divergence(lp, t, reduction="none"), ref, rtol=1e-4, atol=1e-6)
    g = fg.grad(lambda t: L.kl_divergence(fnp.asarray(lp), t))(fnp.asarray(t))
    assert np.all(np.isfinite(g))


def test_hinge_losses():
    s = LOGITS[:, 0]
    y = np.where(LABELS > 2, 1, -1)
    np.testing.assert_allclose(L.hinge_loss(s, y), np.maximum(0, 1 - y * s).mean(), rtol=1e-5)
    margins = LOGITS + 1 - np_onehot(LABELS, 5)
    ref = margins.max(-1) - LOGITS[np.arange(6), LABELS]
    np.testing.assert_allclose(
        L.multiclass_hinge_loss(LOGITS, LABELS, reduction="none"), ref, rtol=1e-5
    )


@pytest.mark.parametrize(
    "loss",
    [
        lambda z: L.softmax_cross_entropy(z, fnp.array([1, 0])),
        lambda z: L.softmax_cross_entropy(z, fnp.array([1, 0]), label_smoothing=0.1),
        lambda z: L.softmax_cross_entropy(z, np_onehot(np.array([2, 0]), 3)),
        lambda z: L.binary_cross_entropy_with_logits(z, (EXTREME > 0).astype(np.float32)),
        lambda z: L.binary_cross_entropy_with_logits(z, (EXTREME < 0).astype(np.float32)),
        lambda z: L.nll_loss(L.log_softmax(z), fnp.array([1, 0])),
        lambda z: L.kl_divergence(L.log_softmax(z), np_onehot(np.array([2, 0]), 3)),
        lambda z: L.huber_loss(z, fnp.zeros_like(z)),
        lambda z: L.multiclass_hinge_loss(z, fnp.array([1, 0])),
    ],
)
def test_extreme_logits_give_finite_values_and_grads(loss):
    val, g = fg.value_and_grad(loss)(fnp.asarray(EXTREME))
    assert np.isfinite(float(val))
    assert np.all(np.isfinite(g))


def test_extreme_cross_entropy_values():
    # label 1 of row 0 sits 2e4 below the max; label 0 of row 1 likewise
    val = L.softmax_cross_entropy(EXTREME, np.array([1, 0]), reduction="none")
    np.testing.assert_allclose(val, [2e4, 2e4], rtol=1e-6)
    ok = L.softmax_cross_entropy(EXTREME, np.array([0, 1]), reduction="none")
    np.testing.assert_allclose(ok, [0, 0], atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="reduction"):
        L.mse_loss(LOGITS, LOGITS, reduction="avg")
    with pytest.raises(ValueError, match="shape"):
        L.softmax_cross_entropy(LOGITS, LABELS[:, None])
