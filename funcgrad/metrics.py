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
from funcgrad._src.classification_metrics import AUROC, F1, Precision, Recall
from funcgrad._src.metrics_util import _f32, _metric, _predictions
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


@_metric
class Mean:
    """A (weighted) running mean. Make it with :meth:`init`.

    Args:
      total: the weighted sum of the values seen (float32 scalar).
      count: the sum of their weights (float32 scalar).

    >>> import funcgrad.numpy as fnp
    >>> m = Mean.init().update(fnp.array([1.0, 2.0])).update(fnp.array(6.0))
    >>> float(m.compute())
    3.0
    """

    total: Any
    count: Any

    @classmethod
    def init(cls) -> Mean:
        """The empty state.

        Returns:
          A ``Mean`` with zero total and count.
        """
        return cls(fnp.zeros((), np.float32), fnp.zeros((), np.float32))

    def update(self, values, weights=None) -> Mean:
        """Add values (every element of ``values``).

        Args:
          values: an array or number (converted to float32).
          weights: optional weights, broadcastable to ``values``; default 1 each.

        Returns:
          The new state.
        """
        v = _f32(values)
        w = fnp.ones_like(v) if weights is None else fnp.broadcast_to(_f32(weights), v.shape)
        return Mean(self.total + fnp.sum(v * w), self.count + fnp.sum(w))

    def merge(self, other: Mean) -> Mean:
        """Combine with the state of another stream (e.g. another shard).

        Args:
          other: a ``Mean``.

        Returns:
          The state of both streams.
        """
        return Mean(self.total + other.total, self.count + other.count)

    def compute(self):
        """The mean.

        Returns:
          ``total / count``, a float32 scalar (NaN before any update).
        """
        return self.total / self.count


@_metric
class Accuracy:
    """Fraction of correct predictions. Make it with :meth:`init`.

    Args:
      correct: the number of correct predictions (float32 scalar).
      count: the number of predictions (float32 scalar).
    """

    correct: Any
    count: Any

    @classmethod
    def init(cls) -> Accuracy:
        """The empty state.

        Returns:
          An ``Accuracy`` with zero counts.
        """
        return cls(fnp.zeros((), np.float32), fnp.zeros((), np.float32))

    def update(self, logits_or_preds, labels) -> Accuracy:
        """Count a batch of predictions.

        Args:
          logits_or_preds: logits ``(..., C)`` (their argmax is the prediction) or integer
            predictions shaped like ``labels``.
          labels: integer class labels ``(...)``.

        Returns:
          The new state.

        Raises:
          ValueError: if the shapes match neither form.
        """
        labels = fnp.asarray(labels)
        hits = _predictions(logits_or_preds, labels) == labels
        return Accuracy(self.correct + fnp.sum(_f32(hits)), self.count + float(hits.size))

    def merge(self, other: Accuracy) -> Accuracy:
        """Combine with the state of another stream (e.g. another shard).

        Args:
          other: an ``Accuracy``.

        Returns:
          The state of both streams.
        """
        return Accuracy(self.correct + other.correct, self.count + other.count)

    def compute(self):
        """The accuracy.

        Returns:
          ``correct / count``, a float32 scalar (NaN before any update).
        """
        return self.correct / self.count


@_metric
class TopKAccuracy:
    """Fraction of examples whose label is among the ``k`` largest logits (ties count as hits).

    Make it with :meth:`init`.

    Args:
      correct: the number of hits (float32 scalar).
      count: the number of examples (float32 scalar).
      k: how many of the largest logits count (static).

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
        """The empty state.

        Args:
          k: a hit is a label whose logit has fewer than ``k`` logits above it.

        Returns:
          A ``TopKAccuracy`` with zero counts.
        """
        return cls(fnp.zeros((), np.float32), fnp.zeros((), np.float32), k)

    def update(self, logits, labels) -> TopKAccuracy:
        """Count a batch.

        Args:
          logits: scores ``(..., C)``.
          labels: integer class labels ``(...)``.

        Returns:
          The new state.
        """
        logits, labels = fnp.asarray(logits), fnp.asarray(labels)
        label_logit = fnp.take_along_axis(logits, fnp.expand_dims(labels, -1), axis=-1)
        rank = fnp.sum(logits > label_logit, axis=-1)
        hits = _f32(rank < self.k)
        return TopKAccuracy(self.correct + fnp.sum(hits), self.count + float(hits.size), self.k)

    def merge(self, other: TopKAccuracy) -> TopKAccuracy:
        """Combine with the state of another stream (same ``k``).

        Args:
          other: a ``TopKAccuracy``.

        Returns:
          The state of both streams.
        """
        return TopKAccuracy(self.correct + other.correct, self.count + other.count, self.k)

    def compute(self):
        """The top-k accuracy.

        Returns:
          ``correct / count``, a float32 scalar (NaN before any update).
        """
        return self.correct / self.count


@_metric
class Welford:
    """Running mean and variance (Welford; batches merged with Chan et al.'s formula), per
    feature of shape ``shape``: ``update(x)`` takes ``x`` of shape ``(..., *shape)``.
    Make it with :meth:`init`.

    Args:
      count: the number of samples (float32 scalar).
      mean: their mean, of shape ``shape``.
      m2: the sum of squared deviations from the mean, of shape ``shape``.

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
        """The empty state.

        Args:
          shape: the shape of one sample (int or tuple).

        Returns:
          A ``Welford`` with zero count, mean and ``m2``.
        """
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        return cls(
            fnp.zeros((), np.float32), fnp.zeros(shape, np.float32), fnp.zeros(shape, np.float32)
        )

    def update(self, values) -> Welford:
        """Add a batch of samples.

        Args:
          values: an array of shape ``(..., *shape)``; every index of the leading axes is
            one sample.

        Returns:
          The new state.
        """
        v = fnp.reshape(_f32(values), (-1,) + tuple(fnp.shape(self.mean)))
        n = float(fnp.shape(v)[0])
        mean = fnp.mean(v, axis=0)
        batch = Welford(fnp.full((), n, np.float32), mean, fnp.sum(fnp.square(v - mean), axis=0))
        return self.merge(batch)

    def merge(self, other: Welford) -> Welford:
        """Combine with the state of another stream (Chan et al.'s parallel formula).

        Args:
          other: a ``Welford`` of the same ``shape``.

        Returns:
          The state of both streams.
        """
        n = self.count + other.count
        safe_n = fnp.where(n > 0, n, fnp.ones_like(n))
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / safe_n)
        m2 = self.m2 + other.m2 + fnp.square(delta) * (self.count * other.count / safe_n)
        return Welford(n, mean, m2)

    def variance(self, ddof: int = 0):
        """The variance per feature.

        Args:
          ddof: delta degrees of freedom: divide by ``count - ddof`` (1: sample variance).

        Returns:
          ``m2 / (count - ddof)``, of shape ``shape`` (NaN or inf for too few samples).
        """
        return self.m2 / (self.count - ddof)

    def compute(self):
        """The mean and the population variance.

        Returns:
          ``(mean, variance())``, each of shape ``shape``.
        """
        return self.mean, self.variance()


@_metric
class ConfusionMatrix:
    """Counts ``matrix[true_label, predicted_label]``. Make it with :meth:`init`.

    Args:
      matrix: the ``(num_classes, num_classes)`` int32 counts.
      num_classes: the number of classes (static).

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
        """The empty state.

        Args:
          num_classes: the number of classes ``C``.

        Returns:
          A ``ConfusionMatrix`` of zeros.
        """
        return cls(fnp.zeros((num_classes, num_classes), np.int32), num_classes)

    def update(self, logits_or_preds, labels) -> ConfusionMatrix:
        """Count a batch (labels or predictions outside ``[0, C)`` are not counted).

        Args:
          logits_or_preds: logits ``(..., C)`` (their argmax is the prediction) or integer
            predictions shaped like ``labels``.
          labels: integer class labels ``(...)``.

        Returns:
          The new state.

        Raises:
          ValueError: if the shapes match neither form.
        """
        labels = fnp.asarray(labels)
        preds = fnp.ravel(_predictions(logits_or_preds, labels))
        labels = fnp.ravel(labels)
        classes = fnp.arange(self.num_classes)
        t = (labels[:, None] == classes).astype(np.int32)
        p = (preds[:, None] == classes).astype(np.int32)
        return ConfusionMatrix(self.matrix + t.T @ p, self.num_classes)

    def merge(self, other: ConfusionMatrix) -> ConfusionMatrix:
        """Combine with the state of another stream (same ``num_classes``).

        Args:
          other: a ``ConfusionMatrix``.

        Returns:
          The state of both streams.
        """
        return ConfusionMatrix(self.matrix + other.matrix, self.num_classes)

    def compute(self):
        """The counts.

        Returns:
          ``matrix``, int32 ``(C, C)``, rows true labels, columns predictions.
        """
        return self.matrix

    def recall(self):
        """Per-class recall ``diag / row sums``.

        Returns:
          A float32 ``(C,)`` array (0 for a class absent from the labels).
        """
        return fnp.diagonal(self.matrix) / fnp.maximum(fnp.sum(self.matrix, axis=1), 1)

    def precision(self):
        """Per-class precision ``diag / column sums``.

        Returns:
          A float32 ``(C,)`` array (0 for a class never predicted).
        """
        return fnp.diagonal(self.matrix) / fnp.maximum(fnp.sum(self.matrix, axis=0), 1)


# ---- regression and language modelling ----------------------------------------------------


@_metric
class MeanSquaredError:
    """Mean of ``(preds - targets) ** 2`` over every element; ``squared=False`` gives its
    square root (RMSE), as torchmetrics. Make it with :meth:`init`.

    Args:
      total: the sum of squared errors (float32 scalar).
      count: the number of elements (float32 scalar).
      squared: False: :meth:`compute` gives the RMSE (static).

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
        """The empty state.

        Args:
          squared: True: the MSE; False: its square root.

        Returns:
          A ``MeanSquaredError`` with zero sums.
        """
        return cls(fnp.zeros((), np.float32), fnp.zeros((), np.float32), squared)

    def update(self, preds, targets) -> MeanSquaredError:
        """Add a batch.

        Args:
          preds: predictions (any shape; converted to float32).
          targets: targets broadcastable with ``preds``.

        Returns:
          The new state.
        """
        err = fnp.square(_f32(preds) - _f32(targets))
        return dataclasses.replace(
            self, total=self.total + fnp.sum(err), count=self.count + float(err.size)
        )

    def merge(self, other: MeanSquaredError) -> MeanSquaredError:
        """Combine with the state of another stream (keeps this state's ``squared``).

        Args:
          other: a ``MeanSquaredError``.

        Returns:
          The state of both streams.
        """
        return dataclasses.replace(
            self, total=self.total + other.total, count=self.count + other.count
        )

    def compute(self):
        """The mean squared error (or its root).

        Returns:
          A float32 scalar (NaN before any update).
        """
        mse = self.total / self.count
        return mse if self.squared else fnp.sqrt(mse)


@_metric
class Perplexity:
    """``exp`` of the mean negative log-likelihood of the targets under softmax(logits), as
    torchmetrics: ``update(logits (..., V), targets (...))``; targets equal to
    ``ignore_index`` (e.g. padding) are left out. Make it with :meth:`init`.

    Args:
      total: the summed negative log-likelihood (float32 scalar).
      count: the number of targets counted (float32 scalar).
      ignore_index: the target value left out, or None (static).

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
        """The empty state.

        Args:
          ignore_index: a target value to leave out (e.g. the padding token), or None.

        Returns:
          A ``Perplexity`` with zero sums.
        """
        return cls(fnp.zeros((), np.float32), fnp.zeros((), np.float32), ignore_index)

    def update(self, logits, targets) -> Perplexity:
        """Add a batch.

        Args:
          logits: unnormalised scores ``(..., V)`` over the vocabulary.
          targets: integer token ids ``(...)``.

        Returns:
          The new state.
        """
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
        """Combine with the state of another stream.

        Args:
          other: a ``Perplexity``.

        Returns:
          The state of both streams.
        """
        return dataclasses.replace(
            self, total=self.total + other.total, count=self.count + other.count
        )

    def compute(self):
        """The perplexity.

        Returns:
          ``exp(total / count)``, a float32 scalar (NaN before any update).
        """
        return fnp.exp(self.total / self.count)
