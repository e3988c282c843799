"""Precision/Recall/F1, AUROC, MeanSquaredError and Perplexity against their standard
definitions (scikit-learn / torchmetrics conventions), written here in plain numpy."""

import itertools

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import metrics as M

RNG = np.random.default_rng(1)


# ---- references -----------------------------------------------------------------------------


def ref_scores(y_true, y_pred, num_classes, average):
    """scikit-learn's precision_recall_fscore_support (zero_division=0), with its default
    labels (classes present in y_true or y_pred) for the averages."""
    classes = list(range(num_classes))
    tp = np.array([np.sum((y_pred == c) & (y_true == c)) for c in classes], float)
    fp = np.array([np.sum((y_pred == c) & (y_true != c)) for c in classes], float)
    fn = np.array([np.sum((y_pred != c) & (y_true == c)) for c in classes], float)
    if average == "micro":
        tp, fp, fn = tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True)
    div = lambda a, b: np.divide(a, b, out=np.zeros_like(a), where=b > 0)
    p, r = div(tp, tp + fp), div(tp, tp + fn)
    f = div(2 * p * r, p + r)
    if average in ("micro", None):
        return p[0] if average else p, r[0] if average else r, f[0] if average else f
    if average == "binary":
        return p[1], r[1], f[1]
    present = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    if average == "macro":
        return tuple(np.mean(s[present]) for s in (p, r, f))
    support = (tp + fn)[present]
    return tuple(np.sum(s[present] * support) / support.sum() for s in (p, r, f))


def ref_auroc(scores, positive):
    """P(score of a positive > score of a negative), ties counting half (= the trapezoidal
    ROC area of scikit-learn's roc_auc_score)."""
    pos, neg = scores[positive], scores[~positive]
    if len(pos) == 0 or len(neg) == 0:
        return np.nan
    diff = pos[:, None] - neg[None, :]
    return np.mean((diff > 0) + 0.5 * (diff == 0))


# ---- precision, recall, F1 ------------------------------------------------------------------


SKLEARN_DOC = (np.array([0, 1, 2, 0, 1, 2]), np.array([0, 2, 1, 0, 0, 1]))


@pytest.mark.parametrize(
    "average,precision,recall,f1",
    [  # the values printed in scikit-learn's documentation of these functions
        ("macro", 0.2222222, 0.3333333, 0.2666667),
        ("micro", 0.3333333, 0.3333333, 0.3333333),
        ("weighted", 0.2222222, 0.3333333, 0.2666667),
    ],
)
def test_sklearn_documented_values(average, precision, recall, f1):
    y_true, y_pred = SKLEARN_DOC
    for cls, want in ((M.Precision, precision), (M.Recall, recall), (M.F1, f1)):
        got = cls.init(3, average=average).update(y_pred, y_true).compute()
        np.testing.assert_allclose(float(got), want, rtol=1e-5, err_msg=f"{cls.__name__}")


@pytest.mark.parametrize("average", ["micro", "macro", "weighted", None])
def test_multiclass_scores_match_reference(average):
    C = 7
    y_true = RNG.integers(0, 5, 200)  # classes 0-4 in the labels
    logits = RNG.standard_normal((200, C)).astype(np.float32)
    logits[:, [4, 6]] -= 10.0  # 4 is never predicted, 5 only predicted, 6 in neither
    y_pred = logits.argmax(-1)
    assert set(y_pred.tolist()) == {0, 1, 2, 3, 5}
    want = ref_scores(y_true, y_pred, C, average)
    for cls, ref in zip((M.Precision, M.Recall, M.F1), want):
        m = cls.init(C, average=average)
        a = m.update(logits[:80], y_true[:80]).merge(m.update(logits[80:], y_true[80:]))
        b = m.update(y_pred, y_true)  # integer predictions
        np.testing.assert_allclose(a.compute(), ref, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(b.compute(), ref, rtol=1e-5, atol=1e-7)


def test_binary_scores_from_probabilities_and_threshold():
    probs = RNG.random(100).astype(np.float32)
    y_true = RNG.integers(0, 2, 100)
    for threshold in (0.5, 0.3):
        y_pred = (probs >= threshold).astype(int)
        want = ref_scores(y_true, y_pred, 2, "binary")
        for cls, ref in zip((M.Precision, M.Recall, M.F1), want):
            got = cls.init(2, "binary", threshold=threshold).update(probs, y_true).compute()
            np.testing.assert_allclose(got, ref, rtol=1e-5)


def test_scores_zero_division_and_bad_arguments():
    nothing_predicted = M.Precision.init(2, "binary").update(np.zeros(3, int), np.array([1, 0, 1]))
    assert float(nothing_predicted.compute()) == 0.0
    assert float(M.F1.init(3).compute()) == 0.0  # empty: no class present
    with pytest.raises(ValueError, match="average"):
        M.F1.init(3, average="samples")
    with pytest.raises(ValueError, match="binary"):
        M.Recall.init(3, average="binary")


# ---- AUROC ----------------------------------------------------------------------------------


def test_auroc_sklearn_documented_value():
    m = M.AUROC.init().update(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
    assert float(m.compute()) == 0.75


@pytest.mark.parametrize("levels", [None, 5, 2])
def test_binary_auroc_with_ties_matches_reference(levels):
    scores = RNG.standard_normal(300).astype(np.float32)
    if levels:  # heavy ties, including ties across the two classes
        scores = np.round(scores * levels / 3) / levels
    labels = RNG.integers(0, 2, 300)
    want = ref_auroc(scores, labels == 1)
    m = M.AUROC.init()
    got = m.update(scores[:111], labels[:111]).merge(m.update(scores[111:], labels[111:]))
    np.testing.assert_allclose(got.compute(), want, rtol=1e-6)


def test_auroc_perfect_reversed_and_one_class():
    s = np.arange(6, dtype=np.float32)
    assert float(M.AUROC.init().update(s, s >= 3).compute()) == 1.0
    assert float(M.AUROC.init().update(-s, s >= 3).compute()) == 0.0
    assert float(M.AUROC.init().update(np.ones(6), s >= 3).compute()) == 0.5  # all tied
    assert np.isnan(float(M.AUROC.init().update(s, np.ones(6, int)).compute()))


@pytest.mark.parametrize("average", ["macro", "weighted", None])
def test_multiclass_auroc_one_vs_rest(average):
    C = 4
    labels = RNG.integers(0, C - 1, 150)  # class 3 absent: excluded from the averages
    logits = RNG.standard_normal((150, C)) + 0.8 * np.eye(C)[labels]
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    per_class = np.array([ref_auroc(probs[:, c], labels == c) for c in range(C)])
    support = np.array([np.sum(labels == c) for c in range(C)])
    ok = np.isfinite(per_class)
    want = {
        None: per_class,
        "macro": per_class[ok].mean(),
        "weighted": np.sum(per_class[ok] * support[ok]) / support[ok].sum(),
    }[average]
    got = M.AUROC.init(C, average).update(probs[:70], labels[:70]).update(probs[70:], labels[70:])
    np.testing.assert_allclose(got.compute(), want, rtol=1e-5)


# ---- regression and language modelling ------------------------------------------------------


def test_mean_squared_error_and_rmse():
    p, t = RNG.standard_normal((3, 7)), RNG.standard_normal((3, 7))
    mse = (
        M.MeanSquaredError.init()
        .update(p[:1], t[:1])
        .merge(M.MeanSquaredError.init().update(p[1:], t[1:]))
    )
    np.testing.assert_allclose(mse.compute(), np.mean((p - t) ** 2), rtol=1e-5)
    rmse = M.MeanSquaredError.init(squared=False).update(p, t)
    np.testing.assert_allclose(rmse.compute(), np.sqrt(np.mean((p - t) ** 2)), rtol=1e-5)


@pytest.mark.parametrize("ignore_index", [None, -100])
def test_perplexity_matches_reference(ignore_index):
    logits = RNG.standard_normal((4, 9, 11)).astype(np.float32)
    targets = RNG.integers(0, 11, (4, 9))
    keep = np.ones(targets.shape, bool)
    if ignore_index is not None:
        keep = RNG.random(targets.shape) < 0.7
        targets = np.where(keep, targets, ignore_index)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    nll = -np.take_along_axis(logp, np.where(keep, targets, 0)[..., None], -1)[..., 0]
    want = np.exp(nll[keep].mean())
    m = M.Perplexity.init(ignore_index)
    got = m.update(logits[:1], targets[:1]).merge(m.update(logits[1:], targets[1:]))
    np.testing.assert_allclose(got.compute(), want, rtol=1e-5)


# ---- pytrees: merge, jit ----------------------------------------------------------------------


def test_new_metrics_are_pytrees_with_static_settings():
    f1 = M.F1.init(3, average="weighted")
    leaves, treedef = fg.tree_util.tree_flatten(f1)
    assert len(leaves) == 1 and fg.tree_util.tree_unflatten(treedef, leaves) == f1
    for m in (M.AUROC.init(3), M.MeanSquaredError.init(), M.Perplexity.init(0)):
        assert all(hasattr(x, "shape") for x in fg.tree_util.tree_leaves(m))


def test_scores_update_and_compute_under_jit():
    logits = RNG.standard_normal((64, 5)).astype(np.float32)
    labels = RNG.integers(0, 5, 64)

    @fg.jit
    def step(f1, auroc, logits, labels):
        probs = fg.nn.softmax(logits)
        f1, auroc = f1.update(logits, labels), auroc.update(probs, labels)
        return f1, f1.compute(), auroc.compute()

    f1, f1_value, auroc_value = step(M.F1.init(5), M.AUROC.init(5), logits, labels)
    np.testing.assert_allclose(f1_value, M.F1.init(5).update(logits, labels).compute(), 1e-6)
    probs = np.asarray(fg.nn.softmax(fnp.asarray(logits)))
    want = np.mean([ref_auroc(probs[:, c], labels == c) for c in range(5)])
    np.testing.assert_allclose(auroc_value, want, rtol=1e-5)


def test_auroc_states_merge_in_any_order():
    s, y = RNG.random(40), RNG.integers(0, 2, 40)
    parts = [M.AUROC.init().update(s[i : i + 10], y[i : i + 10]) for i in range(0, 40, 10)]
    values = set()
    for perm in itertools.islice(itertools.permutations(parts), 5):
        merged = perm[0]
        for p in perm[1:]:
            merged = merged.merge(p)
        values.add(round(float(merged.compute()), 6))
    assert values == {round(ref_auroc(s, y == 1), 6)}
