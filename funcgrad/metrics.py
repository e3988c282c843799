"""Pure metric states: pytrees with ``init``, ``update``, ``merge`` and ``compute``.

A metric never mutates: ``update`` returns a new state, so metrics can live inside a jitted
eval step, be vmapped, or be merged across shards. (For host-side logging of numbers over
time, see ``funcgrad._src.tracker``.)

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

__all__ = ["Accuracy", "ConfusionMatrix", "Mean", "TopKAccuracy", "Welford"]


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
