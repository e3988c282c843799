"""Helpers shared by the metric states of ``funcgrad.metrics`` (``funcgrad/metrics.py`` and
``funcgrad/_src/classification_metrics.py``)."""

from __future__ import annotations

import dataclasses

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import tree_util as tu


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


def _safe_div(num, den):
    ok = den > 0
    return fnp.where(ok, num / fnp.where(ok, den, 1.0), 0.0)
