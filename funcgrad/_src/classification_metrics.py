"""Classification scores of ``funcgrad.metrics``: Precision, Recall and F1 (from a confusion
matrix, averaged as scikit-learn does) and AUROC (from the kept scores)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad._src.metrics_util import _f32, _metric, _predictions, _safe_div

__all__ = ["AUROC", "F1", "Precision", "Recall"]


# ---- precision, recall, F1 ----------------------------------------------------------------

_AVERAGES = ("micro", "macro", "weighted", "binary", None)


def _class_predictions(preds, labels, threshold: float):
    """Integer class predictions: argmax of logits, thresholded probabilities (binary), or
    integer predictions as given."""
    x = fnp.asarray(preds)
    if fnp.ndim(x) == fnp.ndim(labels) and fnp.issubdtype(x.dtype, fnp.floating):
        return (x >= threshold).astype(np.int32)
    return _predictions(x, labels)


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
    """Precision/Recall/F1 share a confusion-matrix state (``matrix[true, predicted]``).

    Args:
      matrix: the ``(num_classes, num_classes)`` int32 counts.
      num_classes: the number of classes (static).
      average: how :meth:`compute` averages over classes (static; see :meth:`init`).
      threshold: the probability at and above which a binary prediction is class 1
        (static).
    """

    matrix: Any
    num_classes: int = dataclasses.field(metadata={"static": True}, default=2)
    average: str | None = dataclasses.field(metadata={"static": True}, default="macro")
    threshold: float = dataclasses.field(metadata={"static": True}, default=0.5)

    @classmethod
    def init(cls, num_classes: int, average: str | None = "macro", threshold: float = 0.5):
        """The empty state.

        Args:
          num_classes: the number of classes ``C``.
          average: as in scikit-learn: ``"macro"`` (mean over the classes present in the
            labels or predictions), ``"weighted"`` (by support), ``"micro"`` (from the
            summed counts), ``"binary"`` (class 1 of two) or None (one score per class).
          threshold: see the class.

        Returns:
          A state of zero counts.

        Raises:
          ValueError: for another ``average``, or ``"binary"`` with ``num_classes != 2``.
        """
        if average not in _AVERAGES:
            raise ValueError(f"{cls.__name__}: average must be one of {_AVERAGES}, got {average!r}")
        if average == "binary" and num_classes != 2:
            raise ValueError(f"{cls.__name__}: average='binary' needs num_classes=2")
        matrix = fnp.zeros((num_classes, num_classes), np.int32)
        return cls(matrix, num_classes, average, float(threshold))

    def update(self, preds, labels):
        """Count a batch (labels or predictions outside ``[0, C)`` are not counted).

        Args:
          preds: logits ``(..., C)`` (argmax), integer predictions shaped like ``labels``,
            or floating probabilities of class 1 shaped like ``labels`` (class 1 where
            ``>= threshold``).
          labels: integer class labels ``(...)``.

        Returns:
          The new state.

        Raises:
          ValueError: if the shapes match none of these forms.
        """
        labels = fnp.asarray(labels)
        pred = fnp.ravel(_class_predictions(preds, labels, self.threshold))
        classes = fnp.arange(self.num_classes)
        t = (fnp.ravel(labels)[:, None] == classes).astype(np.int32)
        p = (pred[:, None] == classes).astype(np.int32)
        return dataclasses.replace(self, matrix=self.matrix + t.T @ p)

    def merge(self, other):
        """Combine with the state of another stream (same settings).

        Args:
          other: a state of the same class.

        Returns:
          The state of both streams.
        """
        return dataclasses.replace(self, matrix=self.matrix + other.matrix)

    def compute(self):
        """The score, averaged as ``average`` says (0 where undefined, as scikit-learn).

        Returns:
          A float32 scalar, or ``(C,)`` with ``average=None``.
        """
        return _average(self._score, self.matrix, self.average)


@_metric
class Precision(_ClassScore):
    """Precision ``tp / (tp + fp)`` (0 where nothing was predicted), averaged over classes.

    ``init(num_classes, average="macro", threshold=0.5)``; ``average`` is "micro", "macro",
    "weighted", "binary" (class 1 of two) or None (one value per class), as in scikit-learn.
    Make it with ``init``; ``update``, ``merge`` and ``compute`` as for every metric.

    Args:
      matrix: the ``(num_classes, num_classes)`` int32 counts ``[true, predicted]``.
      num_classes: the number of classes (static).
      average: the averaging over classes (static; see ``init``).
      threshold: the probability at and above which a binary prediction is class 1.

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

    Args:
      matrix: the ``(num_classes, num_classes)`` int32 counts ``[true, predicted]``.
      num_classes: the number of classes (static).
      average: the averaging over classes (static; see ``init``).
      threshold: the probability at and above which a binary prediction is class 1.

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

    Args:
      matrix: the ``(num_classes, num_classes)`` int32 counts ``[true, predicted]``.
      num_classes: the number of classes (static).
      average: the averaging over classes (static; see ``init``).
      threshold: the probability at and above which a binary prediction is class 1.

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
    Make it with :meth:`init`.

    Args:
      scores: every score seen, ``(N,)`` or ``(N, C)`` float32.
      labels: their labels, ``(N,)`` int32.
      num_classes: None (binary) or ``C`` (static).
      average: ``"macro"``, ``"weighted"`` or None (static).

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
        """The empty state.

        Args:
          num_classes: None for binary AUROC, else the number of classes ``C``.
          average: ``"macro"``, ``"weighted"`` or None (multiclass only).

        Returns:
          An ``AUROC`` holding no scores.

        Raises:
          ValueError: for another ``average``.
        """
        if average not in ("macro", "weighted", None):
            raise ValueError(f"AUROC: average must be 'macro', 'weighted' or None, got {average!r}")
        shape = (0,) if num_classes is None else (0, num_classes)
        return cls(fnp.zeros(shape, np.float32), fnp.zeros((0,), np.int32), num_classes, average)

    def update(self, scores, labels) -> AUROC:
        """Append a batch (the state grows: its shapes change with every update).

        Args:
          scores: ``(N,)`` scores of class 1 (binary) or ``(N, C)`` per-class scores.
          labels: ``(N,)`` labels: 0/1 (binary; anything but 1 is negative) or classes.

        Returns:
          The new state.
        """
        scores, labels = _f32(scores), fnp.ravel(fnp.asarray(labels).astype(np.int32))
        scores = fnp.reshape(scores, (-1,) + tuple(fnp.shape(self.scores))[1:])
        return AUROC(
            fnp.concatenate([self.scores, scores]),
            fnp.concatenate([self.labels, labels]),
            self.num_classes,
            self.average,
        )

    def merge(self, other: AUROC) -> AUROC:
        """Combine with the state of another stream (concatenates the scores).

        Args:
          other: an ``AUROC`` with the same settings.

        Returns:
          The state of both streams.
        """
        return self.update(other.scores, other.labels)

    def compute(self):
        """The area under the ROC curve.

        Returns:
          A float32 scalar: binary, NaN unless both classes occurred; averaged, over the
          classes where it is defined (0 if none is). With ``average=None``, ``(C,)`` (NaN
          for a class without positives and negatives).
        """
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
