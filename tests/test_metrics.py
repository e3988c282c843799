"""funcgrad.metrics: pure metric states against numpy, merging, and use under jit/vmap."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import metrics as M

try:
    from funcgrad._src.jit import jit
except ImportError:  # pragma: no cover
    jit = None

RNG = np.random.default_rng(0)
LOGITS = RNG.standard_normal((50, 6)).astype(np.float32)
LABELS = RNG.integers(0, 6, 50).astype(np.int32)


def test_mean_weighted_and_merge():
    v, w = RNG.random(20).astype(np.float32), RNG.random(20).astype(np.float32)
    m = M.Mean.init().update(v[:10], w[:10]).merge(M.Mean.init().update(v[10:], w[10:]))
    np.testing.assert_allclose(m.compute(), (v * w).sum() / w.sum(), rtol=1e-5)


def test_accuracy_from_logits_or_predictions():
    ref = (LOGITS.argmax(-1) == LABELS).mean()
    a = M.Accuracy.init().update(LOGITS[:20], LABELS[:20]).update(LOGITS[20:], LABELS[20:])
    np.testing.assert_allclose(a.compute(), ref, rtol=1e-6)
    b = M.Accuracy.init().update(LOGITS.argmax(-1), LABELS)
    np.testing.assert_allclose(b.compute(), ref, rtol=1e-6)
    with pytest.raises(ValueError, match="do not match"):
        M.Accuracy.init().update(LOGITS[:3, :2].argmax(-1)[:2], LABELS[:3])


@pytest.mark.parametrize("k", [1, 3])
def test_top_k(k):
    topk = np.argsort(-LOGITS, axis=-1)[:, :k]
    ref = np.mean([LABELS[i] in topk[i] for i in range(50)])
    m = M.TopKAccuracy.init(k).update(LOGITS, LABELS)
    np.testing.assert_allclose(m.compute(), ref, rtol=1e-6)
    assert len(fg.tree.leaves(m)) == 2  # k is static


def test_welford_matches_numpy_and_merges_in_any_order():
    x = RNG.standard_normal((40, 3)).astype(np.float32) * 5 + 100
    w = M.Welford.init(3)
    for chunk in np.split(x, 4):
        w = w.update(chunk)
    np.testing.assert_allclose(w.mean, x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(w.variance(), x.var(0), rtol=1e-3)
    np.testing.assert_allclose(w.variance(ddof=1), x.var(0, ddof=1), rtol=1e-3)
    a = M.Welford.init(3).update(x[:7])
    b = M.Welford.init(3).update(x[7:])
    np.testing.assert_allclose(b.merge(a).compute()[1], x.var(0), rtol=1e-3)
    np.testing.assert_allclose(a.merge(M.Welford.init(3)).mean, x[:7].mean(0), rtol=1e-5)


def test_confusion_matrix():
    preds = LOGITS.argmax(-1)
    ref = np.zeros((6, 6), np.int32)
    np.add.at(ref, (LABELS, preds), 1)
    cm = M.ConfusionMatrix.init(6).update(LOGITS, LABELS)
    np.testing.assert_array_equal(cm.compute(), ref)
    np.testing.assert_array_equal(cm.merge(cm).compute(), 2 * ref)
    np.testing.assert_allclose(cm.recall(), np.diag(ref) / np.maximum(ref.sum(1), 1))
    np.testing.assert_allclose(cm.precision(), np.diag(ref) / np.maximum(ref.sum(0), 1))


def test_metrics_are_pytrees_that_work_under_jit():
    if jit is None:
        pytest.skip("jit not available")

    @jit
    def step(acc, logits, labels):
        return acc.update(logits, labels)

    acc = step(M.Accuracy.init(), fnp.asarray(LOGITS[:25]), fnp.asarray(LABELS[:25]))
    acc = step(acc, fnp.asarray(LOGITS[25:]), fnp.asarray(LABELS[25:]))
    np.testing.assert_allclose(acc.compute(), (LOGITS.argmax(-1) == LABELS).mean(), rtol=1e-6)
