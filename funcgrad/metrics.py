"""Pure metric states: pytrees with ``init``, ``update``, ``merge`` and ``compute``.

A metric never mutates: ``update`` returns a new state, so metrics can live inside a jitted
eval step, be vmapped, or be merged across shards. (For host-side logging of numbers over
time, printing progress and drawing curves, see :class:`Tracker`.)

>>> import funcgrad.numpy as fnp
>>> from funcgrad import metrics
>>> acc = metrics.Accuracy.init()
>>> acc = acc.update(fnp.array([[0.1, 0.9], [0.8, 0.2]]), fnp.array([1, 1]))
>>> float(acc.compute())
0.5
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import tree_util as tu
from funcgrad._src.nn_functions import log_softmax
from funcgrad._src.tracker import Tracker
from funcgrad._src.tracker_sinks import TensorBoardSink

__all__ = [
    "AUROC",
    "Accuracy",
    "ConfusionMatrix",
    "F1",
    "Mean",
    "MeanSquaredError",
    "Perplexity",
    "Precision",
    "Recall",
    "TensorBoardSink",
    "TopKAccuracy",
    "Tracker",
    "Welford",
]


def _metric(cls):
    return tu.register_dataclass(dataclasses.dataclass(frozen=True)(cls))


def _f32(x):
    return fnp.asarray(x).astype(np.float32)


def _predictions(logits_or_preds, labels):
    """Class predictions: argmax of logits, or the input itself if it already has labels' rank."""
    x = fnp.asarray(logits_or_preds)
    if fnp.ndim(x) == fnp.ndim(labels) + 1:
        return fnp.argmax(x, axis=-1)
    if tuple(fnp.shape(x)) != tuple(fnp.shape(labels)):
        raise ValueError(
            f"predictions of shape {tuple(fnp.shape(x))} do not match labels of "
            f"shape {tuple(fnp.shape(labels))} (pass logits (..., classes) or "
            f"integer predictions shaped like the labels)"
        )
    return x


@_metric
class Mean:
    """A (weighted) running mean.

    >>> import funcgrad.numpy as fnp
    >>> m = Mean.init().update(fnp.array([1.0, 2.0])).update(fnp.array(6.0))
    >>> float(m.compute())
    3.0
    """

    total: Any
    count: Any

    @classmethod
    def init(cls) -> Mean:
        return cls(fnp.zeros((), np.float32), fnp.zeros((), np.float32))

    def update(self, values, weights=None) -> Mean:
        v = _f32(values)
        w = fnp.ones_like(v) if weights is None else fnp.broadcast_to(_f32(weights), v.shape)
        return Mean(self.total + fnp.sum(v * w), self.count + fnp.sum(w))

    def merge(self, other: Mean) -> Mean:
        return Mean(self.total + other.total, self.count + other.count)

    def compute(self):
        return self.total / self.count


@_metric
class Accuracy:
    """Fraction of correct predictions; ``update`` takes logits ``(..., C)`` or integer
    predictions, and integer labels."""

    correct: Any
    count: Any

    @classmethod
    def init(cls) -> Accuracy:
        return cls(fnp.zeros((), np.float32), fnp.zeros((), np.float32))

    def update(self, logits_or_preds, labels) -> Accuracy:
        labels = fnp.asarray(labels)
        hits = _predictions(logits_or_preds, labels) == labels
        return Accuracy(self.correct + fnp.sum(_f32(hits)), self.count + float(hits.size))

    def merge(self, other: Accuracy) -> Accuracy:
        return Accuracy(self.correct + other.correct, self.count + other.count)

    def compute(self):
        return self.correct / self.count


@_metric
class TopKAccuracy:
    """Fraction of examples whose label is among the ``k`` largest logits (ties count as hits).

    >>> import funcgrad.numpy as fnp
    >>> m = TopKAccuracy.init(k=2).update(fnp.array([[0.1, 0.5, 0.4]]), fnp.array([2]))
    >>> float(m.compute())
    1.0
    """

    correct: Any
    count: Any
    k: int = dataclasses.field(metadata={"static": True}, default=5)

    @classmethod
    def init(cls, k: int = 5) -> TopKAccuracy:
        return cls(fnp.zeros((), np.float32), fnp.zeros((), np.float32), k)

    def update(self, logits, labels) -> TopKAccuracy:
        logits, labels = fnp.asarray(logits), fnp.asarray(labels)
        label_logit = fnp.take_along_axis(logits, fnp.expand_dims(labels, -1), axis=-1)
        rank = fnp.sum(logits > label_logit, axis=-1)
        hits = _f32(rank < self.k)
        return TopKAccuracy(self.correct + fnp.sum(hits), self.count + float(hits.size), self.k)

    def merge(self, other: TopKAccuracy) -> TopKAccuracy:
        return TopKAccuracy(self.correct + other.correct, self.count + other.count, self.k)

    def compute(self):
        return self.correct / self.count


@_metric
class Welford:
    """Running mean and variance (Welford; batches merged with Chan et al.'s formula), per
    feature of shape ``shape``: ``update(x)`` takes ``x`` of shape ``(..., *shape)``.

    >>> import funcgrad.numpy as fnp
    >>> w = Welford.init().update(fnp.array([1.0, 2.0])).update(fnp.array([3.0, 4.0]))
    >>> float(w.mean), float(w.variance()), round(float(w.variance(ddof=1)), 4)
    (2.5, 1.25, 1.6667)
    """

    count: Any
    mean: Any
    m2: Any

    @classmethod
    def init(cls, shape=()) -> Welford:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        return cls(
            fnp.zeros((), np.float32), fnp.zeros(shape, np.float32), fnp.zeros(shape, np.float32)
        )

    def update(self, values) -> Welford:
        v = fnp.reshape(_f32(values), (-1,) + tuple(fnp.shape(self.mean)))
        n = float(fnp.shape(v)[0])
        mean = fnp.mean(v, axis=0)
        batch = Welford(fnp.full((), n, np.float32), mean, fnp.sum(fnp.square(v - mean), axis=0))
        return self.merge(batch)

    def merge(self, other: Welford) -> Welford:
        n = self.count + other.count
        safe_n = fnp.where(n > 0, n, fnp.ones_like(n))
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / safe_n)
        m2 = self.m2 + other.m2 + fnp.square(delta) * (self.count * other.count / safe_n)
        return Welford(n, mean, m2)

    def variance(self, ddof: int = 0):
        return self.m2 / (self.count - ddof)

    def compute(self):
        """``(mean, variance)`` (population variance)."""
        return self.mean, self.variance()


@_metric
class ConfusionMatrix:
    """Counts ``matrix[true_label, predicted_label]``.

    >>> import funcgrad.numpy as fnp
    >>> cm = ConfusionMatrix.init(2).update(fnp.array([0, 1, 1]), fnp.array([0, 0, 1]))
    >>> cm.compute()
    Array([[1, 1],
           [0, 1]], dtype=int32)
    """

    matrix: Any
    num_classes: int = dataclasses.field(metadata={"static": True}, default=2)

    @classmethod
    def init(cls, num_classes: int) -> ConfusionMatrix:
        return cls(fnp.zeros((num_classes, num_classes), np.int32), num_classes)

    def update(self, logits_or_preds, labels) -> ConfusionMatrix:
        labels = fnp.asarray(labels)
        preds = fnp.ravel(_predictions(logits_or_preds, labels))
        labels = fnp.ravel(labels)
        classes = fnp.arange(self.num_classes)
        t = (labels[:, None] == classes).astype(np.int32)
        p = (preds[:, None] == classes).astype(np.int32)
        return ConfusionMatrix(self.matrix + t.T @ p, self.num_classes)

    def merge(self, other: ConfusionMatrix) -> ConfusionMatrix:
        return ConfusionMatrix(self.matrix + other.matrix, self.num_classes)

    def compute(self):
        return self.matrix

    def recall(self):
        """Per-class recall ``diag / row sums``."""
        return fnp.diagonal(self.matrix) / fnp.maximum(fnp.sum(self.matrix, axis=1), 1)

    def precision(self):
        """Per-class precision ``diag / column sums``."""
        return fnp.diagonal(self.matrix) / fnp.maximum(fnp.sum(self.matrix, axis=0), 1)


# ---- precision, recall, F1 ----------------------------------------------------------------

_AVERAGES = ("micro", "macro", "weighted", "binary", None)


def _class_predictions(preds, labels, threshold: float):
    """Integer class predictions: argmax of logits, thresholded probabilities (binary), or
    integer predictions as given."""
    x = fnp.asarray(preds)
    if fnp.ndim(x) == fnp.ndim(labels) and fnp.issubdtype(x.dtype, fnp.floating):
        return (x >= threshold).astype(np.int32)
    return _predictions(x, labels)


def _safe_div(num, den):
    ok = den > 0
    return fnp.where(ok, num / fnp.where(ok, den, 1.0), 0.0)


def _precision(tp, fp, fn):
    return _safe_div(tp, tp + fp)


def _recall(tp, fp, fn):
    return _safe_div(tp, tp + fn)


def _f1(tp, fp, fn):
    return _safe_div(2.0 * tp, 2.0 * tp + fp + fn)


def _average(score_fn, matrix, average):
    """Apply ``score_fn(tp, fp, fn)`` per class, then average as scikit-learn/torchmetrics do.

    "macro" averages over the classes that occur in the labels or the predictions (the others
    have no score); "weighted" weights classes by their support (count in the labels);
    "micro" scores the summed counts; "binary" is class 1's score; None gives every class's.
    """
    m = _f32(matrix)
    tp = fnp.diagonal(m)
    fp, fn = fnp.sum(m, axis=0) - tp, fnp.sum(m, axis=1) - tp
    if average == "micro":
        return score_fn(fnp.sum(tp), fnp.sum(fp), fnp.sum(fn))
    per_class = score_fn(tp, fp, fn)
    if average is None:
        return per_class
    if average == "binary":
        return per_class[1]
    weights = tp + fn if average == "weighted" else _f32(tp + fp + fn > 0)
    return _safe_div(fnp.sum(per_class * weights), fnp.sum(weights))


@dataclasses.dataclass(frozen=True)
class _ClassScore:
    """Precision/Recall/F1 share a confusion-matrix state (``matrix[true, predicted]``)."""

    matrix: Any
    num_classes: int = dataclasses.field(metadata={"static": True}, default=2)
    average: str | None = dataclasses.field(metadata={"static": True}, default="macro")
    threshold: float = dataclasses.field(metadata={"static": True}, default=0.5)

    @classmethod
    def init(cls, num_classes: int, average: str | None = "macro", threshold: float = 0.5):
        if average not in _AVERAGES:
            raise ValueError(f"{cls.__name__}: average must be one of {_AVERAGES}, got {average!r}")
        if average == "binary" and num_classes != 2:
            raise ValueError(f"{cls.__name__}: average='binary' needs num_classes=2")
        matrix = fnp.zeros((num_classes, num_classes), np.int32)
        return cls(matrix, num_classes, average, float(threshold))

    def update(self, preds, labels):
        """``preds``: logits ``(..., C)``, integer predictions, or (binary) probabilities of
        class 1 compared with ``threshold``; ``labels``: integer classes."""
        labels = fnp.asarray(labels)
        pred = fnp.ravel(_class_predictions(preds, labels, self.threshold))
        classes = fnp.arange(self.num_classes)
        t = (fnp.ravel(labels)[:, None] == classes).astype(np.int32)
        p = (pred[:, None] == classes).astype(np.int32)
        return dataclasses.replace(self, matrix=self.matrix + t.T @ p)

    def merge(self, other):
        return dataclasses.replace(self, matrix=self.matrix + other.matrix)

    def compute(self):
        return _average(self._score, self.matrix, self.average)


@_metric
class Precision(_ClassScore):
    """Precision ``tp / (tp + fp)`` (0 where nothing was predicted), averaged over classes.

    ``init(num_classes, average="macro", threshold=0.5)``; ``average`` is "micro", "macro",
    "weighted", "binary" (class 1 of two) or None (one value per class), as in scikit-learn.

    >>> import funcgrad.numpy as fnp
    >>> p = Precision.init(3).update(fnp.array([0, 1, 1, 2]), fnp.array([0, 1, 2, 2]))
    >>> round(float(p.compute()), 4)  # (1 + 1/2 + 1) / 3
    0.8333
    """

    _score = staticmethod(_precision)


@_metric
class Recall(_ClassScore):
    """Recall ``tp / (tp + fn)`` (0 for a class absent from the labels), averaged over classes
    like :class:`Precision`.

    >>> import funcgrad.numpy as fnp
    >>> r = Recall.init(3, average=None).update(fnp.array([0, 1, 1, 2]), fnp.array([0, 1, 2, 2]))
    >>> r.compute()
    Array([1. , 1. , 0.5], dtype=float32)
    """

    _score = staticmethod(_recall)


@_metric
class F1(_ClassScore):
    """F1 score ``2 tp / (2 tp + fp + fn)``, the harmonic mean of precision and recall,
    averaged over classes like :class:`Precision`.

    >>> import funcgrad.numpy as fnp
    >>> f = F1.init(2, average="binary").update(fnp.array([0.9, 0.2, 0.7]), fnp.array([1, 1, 0]))
    >>> float(f.compute())  # tp=1, fp=1, fn=1
    0.5
    """

    _score = staticmethod(_f1)


# ---- AUROC --------------------------------------------------------------------------------


def _binary_auroc(scores, positive):
    """Area under the ROC curve (trapezoidal, ties as in scikit-learn's ``roc_auc_score``).

    Equivalently the Mann-Whitney probability that a positive scores above a negative, ties
    counting half: scores are grouped by value (sort + group ids, fixed shapes so it jits),
    and each group's negatives earn the positives above it plus half the positives within it.
    NaN when only one class is present.
    """
    order = fnp.argsort(-scores)
    s, pos = scores[order], _f32(positive)[order]
    first = fnp.concatenate([fnp.ones(1, bool), s[1:] != s[:-1]])
    group = fnp.cumsum(first.astype(np.int32)) - 1
    n = s.shape[0]
    group_pos = fnp.zeros(n, np.float32).at[group].add(pos)
    group_neg = fnp.zeros(n, np.float32).at[group].add(1.0 - pos)
    above = fnp.cumsum(group_pos) - group_pos
    area = fnp.sum(group_neg * (above + 0.5 * group_pos))
    return area / (fnp.sum(pos) * fnp.sum(1.0 - pos))


@_metric
class AUROC:
    """Area under the ROC curve, as scikit-learn's ``roc_auc_score`` (ties handled the same).

    Binary (``init()``): ``update(scores, labels)`` with scores ``(N,)`` (any monotone score:
    logits or probabilities) and 0/1 labels. Multiclass (``init(num_classes)``): scores
    ``(N, C)`` (e.g. softmax probabilities), integer labels; one-vs-rest AUROC per class,
    averaged with ``average="macro"`` (over classes that have positives and negatives),
    ``"weighted"`` (by support) or None (per class; NaN for a class without both). The state
    keeps every score (AUROC is not a sum of per-batch parts), so ``merge`` concatenates.

    >>> import funcgrad.numpy as fnp
    >>> a = AUROC.init().update(fnp.array([0.1, 0.4, 0.35, 0.8]), fnp.array([0, 0, 1, 1]))
    >>> float(a.compute())
    0.75
    """

    scores: Any
    labels: Any
    num_classes: int | None = dataclasses.field(metadata={"static": True}, default=None)
    average: str | None = dataclasses.field(metadata={"static": True}, default="macro")

    @classmethod
    def init(cls, num_classes: int | None = None, average: str | None = "macro") -> AUROC:
        if average not in ("macro", "weighted", None):
            raise ValueError(f"AUROC: average must be 'macro', 'weighted' or None, got {average!r}")
        shape = (0,) if num_classes is None else (0, num_classes)
        return cls(fnp.zeros(shape, np.float32), fnp.zeros((0,), np.int32), num_classes, average)

    def update(self, scores, labels) -> AUROC:
        scores, labels = _f32(scores), fnp.ravel(fnp.asarray(labels).astype(np.int32))
        scores = fnp.reshape(scores, (-1,) + tuple(fnp.shape(self.scores))[1:])
        return AUROC(
            fnp.concatenate([self.scores, scores]),
            fnp.concatenate([self.labels, labels]),
            self.num_classes,
            self.average,
        )

    def merge(self, other: AUROC) -> AUROC:
        return self.update(other.scores, other.labels)

    def compute(self):
        if self.num_classes is None:
            return _binary_auroc(self.scores, self.labels == 1)
        per_class = fnp.stack(
            [_binary_auroc(self.scores[:, c], self.labels == c) for c in range(self.num_classes)]
        )
        if self.average is None:
            return per_class
        support = fnp.sum(_f32(self.labels[:, None] == fnp.arange(self.num_classes)), axis=0)
        defined = fnp.isfinite(per_class)
        weights = fnp.where(defined, support if self.average == "weighted" else 1.0, 0.0)
        return _safe_div(fnp.sum(fnp.where(defined, per_class, 0.0) * weights), fnp.sum(weights))


# ---- regression and language modelling ----------------------------------------------------


@_metric
class MeanSquaredError:
    """Mean of ``(preds - targets) ** 2`` over every element; ``squared=False`` gives its
    square root (RMSE), as torchmetrics.

    >>> import funcgrad.numpy as fnp
    >>> m = MeanSquaredError.init().update(fnp.array([1.0, 2.0]), fnp.array([1.0, 4.0]))
    >>> float(m.compute()), float(MeanSquaredError.init(squared=False).merge(m).compute())
    (2.0, 1.4142135381698608)
    """

    total: Any
    count: Any
    squared: bool = dataclasses.field(metadata={"static": True}, default=True)

    @classmethod
    def init(cls, squared: bool = True) -> MeanSquaredError:
        return cls(fnp.zeros((), np.float32), fnp.zeros((), np.float32), squared)

    def update(self, preds, targets) -> MeanSquaredError:
        err = fnp.square(_f32(preds) - _f32(targets))
        return dataclasses.replace(
            self, total=self.total + fnp.sum(err), count=self.count + float(err.size)
        )

    def merge(self, other: MeanSquaredError) -> MeanSquaredError:
        return dataclasses.replace(
            self, total=self.total + other.total, count=self.count + other.count
        )

    def compute(self):
        mse = self.total / self.count
        return mse if self.squared else fnp.sqrt(mse)


@_metric
class Perplexity:
    """``exp`` of the mean negative log-likelihood of the targets under softmax(logits), as
    torchmetrics: ``update(logits (..., V), targets (...))``; targets equal to
    ``ignore_index`` (e.g. padding) are left out.

    >>> import funcgrad.numpy as fnp
    >>> p = Perplexity.init().update(fnp.zeros((2, 4)), fnp.array([0, 3]))
    >>> round(float(p.compute()), 4)  # uniform over 4 tokens
    4.0
    """

    total: Any
    count: Any
    ignore_index: int | None = dataclasses.field(metadata={"static": True}, default=None)

    @classmethod
    def init(cls, ignore_index: int | None = None) -> Perplexity:
        return cls(fnp.zeros((), np.float32), fnp.zeros((), np.float32), ignore_index)

    def update(self, logits, targets) -> Perplexity:
        logp = log_softmax(_f32(logits), axis=-1)
        targets = fnp.asarray(targets).astype(np.int32)
        keep = fnp.ones(targets.shape, bool)
        if self.ignore_index is not None:
            keep = targets != self.ignore_index
        safe = fnp.where(keep, targets, 0)
        nll = -fnp.take_along_axis(logp, safe[..., None], axis=-1)[..., 0]
        total = self.total + fnp.sum(fnp.where(keep, nll, 0.0))
        return dataclasses.replace(self, total=total, count=self.count + fnp.sum(_f32(keep)))

    def merge(self, other: Perplexity) -> Perplexity:
        return dataclasses.replace(
            self, total=self.total + other.total, count=self.count + other.count
        )

    def compute(self):
        return fnp.exp(self.total / self.count)
