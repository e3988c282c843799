"""Losses: tensors in, a scalar out (``reduction="mean"``, ``"sum"`` or ``"none"``).

These are funcgrad's own torch-style losses: they **reduce** (the mean by default). The
losses with Optax's names and Optax's semantics (one value per example, no reduction, Optax's
arguments) are in :mod:`funcgrad.optim.losses`; port Optax code to those.

Every loss is written to be finite in value and gradient for extreme logits (``+-1e4``):
log-probabilities use the max-shift with a stopped-gradient max, and ``0 * log 0`` terms use a
double ``where`` so neither branch produces a NaN gradient.

>>> import funcgrad.numpy as fnp
>>> from funcgrad.nn import losses
>>> round(float(losses.softmax_cross_entropy(fnp.array([[0.0, 0.0]]), fnp.array([1]))), 4)
0.6931
"""

from __future__ import annotations

import numpy as np

import funcgrad.numpy as fnp
from funcgrad._src.api import stop_gradient

__all__ = [
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge_loss",
    "huber_loss",
    "kl_divergence",
    "l1_loss",
    "l2_loss",
    "log_softmax",
    "mse_loss",
    "multiclass_hinge_loss",
    "nll_loss",
    "reduce_loss",
    "sigmoid_binary_cross_entropy",
    "softmax_cross_entropy",
]

_REDUCTIONS = ("mean", "sum", "none")


def reduce_loss(values, reduction: str = "mean"):
    """Reduce per-element losses: ``"mean"``, ``"sum"`` or ``"none"`` (returned as is).

    Args:
      values: the per-element losses (an array).
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
      A scalar array for ``"mean"`` / ``"sum"``; ``values`` itself for ``"none"``.

    Raises:
      ValueError: for any other ``reduction``.
    """
    if reduction == "mean":
        return fnp.mean(values)
    if reduction == "sum":
        return fnp.sum(values)
    if reduction == "none":
        return values
    raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _float(x):
    x = fnp.asarray(x)
    return x if np.dtype(x.dtype).kind in "fc" else x.astype(np.float32)


def log_softmax(logits, axis: int = -1):
    """``logits - logsumexp(logits)`` along ``axis``, shifted by a stopped-gradient max.

    Args:
      logits: an array (integers are cast to float32).
      axis: the class axis.

    Returns:
      Log-probabilities of ``logits``' shape.
    """
    logits = _float(logits)
    m = stop_gradient(fnp.max(logits, axis=axis, keepdims=True))
    shifted = logits - m
    return shifted - fnp.log(fnp.sum(fnp.exp(shifted), axis=axis, keepdims=True))


def _xlogx(p):
    """``p * log(p)`` with ``0 log 0 = 0``; the double where keeps the gradient finite."""
    pos = p > 0
    return fnp.where(pos, p * fnp.log(fnp.where(pos, p, fnp.ones_like(p))), fnp.zeros_like(p))


def _is_int(x) -> bool:
    return np.dtype(fnp.asarray(x).dtype).kind in "iub"


def _targets(logits, labels, axis, label_smoothing):
    """Probability targets with the shape of ``logits`` from integer labels or probabilities."""
    n = fnp.shape(logits)[axis]
    if _is_int(labels):
        if fnp.ndim(labels) != fnp.ndim(logits) - 1:
            raise ValueError(
                f"integer labels need shape {_drop(fnp.shape(logits), axis)} for "
                f"logits {tuple(fnp.shape(logits))}, got {tuple(fnp.shape(labels))}"
            )
        trailing = fnp.ndim(logits) - 1 - axis % fnp.ndim(logits)
        classes = fnp.arange(n).reshape((n,) + (1,) * trailing)
        labels = (fnp.expand_dims(labels, axis) == classes).astype(logits.dtype)
    elif tuple(fnp.shape(labels)) != tuple(fnp.shape(logits)):
        raise ValueError(
            f"probability/one-hot labels must have the logits' shape "
            f"{tuple(fnp.shape(logits))}, got {tuple(fnp.shape(labels))}"
        )
    labels = fnp.asarray(labels).astype(logits.dtype)
    if label_smoothing:
        labels = labels * (1.0 - label_smoothing) + label_smoothing / n
    return labels


def _drop(shape, axis):
    shape = list(shape)
    del shape[axis]
    return tuple(shape)


def softmax_cross_entropy(
    logits, labels, *, axis: int = -1, label_smoothing: float = 0.0, reduction: str = "mean"
):
    """Cross-entropy between ``softmax(logits)`` and integer labels or probability targets.

    Reduces (``reduction="mean"`` by default), unlike Optax's ``softmax_cross_entropy``: for Optax's
    per-example values and arguments use :func:`funcgrad.optim.losses.softmax_cross_entropy`.

    Args:
      logits: unnormalised log-probabilities (integers are cast to float32).
      labels: integers of shape ``logits.shape`` without ``axis``, or one-hot / probability
        vectors with the logits' shape.
      axis: the class axis (keyword-only).
      label_smoothing: ``e`` mixes the targets with the uniform distribution:
        ``(1 - e) * y + e / num_classes``.
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` (keyword-only).

    Returns:
      The loss: a scalar, or one value per example for ``"none"``.

    Raises:
      ValueError: if ``labels`` has the wrong shape, or for an unknown ``reduction``.

    >>> import funcgrad.numpy as fnp
    >>> logits = fnp.array([[2.0, 0.0, -1.0], [0.0, 5.0, 0.0]])
    >>> round(float(softmax_cross_entropy(logits, fnp.array([0, 1]))), 4)
    0.0916
    >>> softmax_cross_entropy(logits, fnp.array([0, 1]), reduction="none").shape
    (2,)
    """
    logits = _float(logits)
    targets = _targets(logits, labels, axis, label_smoothing)
    per_example = -fnp.sum(targets * log_softmax(logits, axis), axis=axis)
    return reduce_loss(per_example, reduction)


cross_entropy = softmax_cross_entropy


def nll_loss(log_probs, labels, *, axis: int = -1, reduction: str = "mean"):
    """Negative log-likelihood of integer ``labels`` under ``log_probs`` (e.g. log_softmax).

    Args:
      log_probs: log-probabilities (integers are cast to float32).
      labels: integer classes of shape ``log_probs.shape`` without ``axis``.
      axis: the class axis (keyword-only).
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` (keyword-only).
    Returns:
      A scalar (``"mean"``, ``"sum"``) or the per-element losses (``"none"``), float.

    Raises:
      ValueError: for an unknown ``reduction``.

    >>> import funcgrad.numpy as fnp
    >>> float(nll_loss(fnp.log(fnp.array([[0.5, 0.5]])), fnp.array([0])))  # doctest: +ELLIPSIS
    0.693...
    """
    log_probs = _float(log_probs)
    picked = fnp.take_along_axis(log_probs, fnp.expand_dims(fnp.asarray(labels), axis), axis)
    return reduce_loss(-fnp.squeeze(picked, axis), reduction)


def binary_cross_entropy_with_logits(logits, labels, *, reduction: str = "mean"):
    """``-y log sigmoid(x) - (1 - y) log(1 - sigmoid(x))`` computed as
    ``max(x, 0) - x y + log1p(exp(-|x|))`` (finite for any ``x``).

    Reduces (``reduction="mean"`` by default); its alias ``sigmoid_binary_cross_entropy``
    is Optax's name: for Optax's per-element values use
    :func:`funcgrad.optim.losses.sigmoid_binary_cross_entropy`.

    Args:
      logits: the logits ``x`` (integers are cast to float32).
      labels: targets ``y`` in ``[0, 1]``, broadcastable to ``logits``.
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` (keyword-only).
    Returns:
      A scalar (``"mean"``, ``"sum"``) or the per-element losses (``"none"``), float.

    Raises:
      ValueError: for an unknown ``reduction``.

    >>> import funcgrad.numpy as fnp
    >>> float(binary_cross_entropy_with_logits(fnp.array([1e4, -1e4]), fnp.array([1.0, 0.0])))
    0.0
    """
    x = _float(logits)
    y = fnp.asarray(labels).astype(x.dtype)
    per = fnp.maximum(x, 0) - x * y + fnp.log1p(fnp.exp(-fnp.abs(x)))
    return reduce_loss(per, reduction)


sigmoid_binary_cross_entropy = binary_cross_entropy_with_logits


def mse_loss(predictions, targets, *, reduction: str = "mean"):
    """Squared error ``(p - t)**2``, reduced.

    Args:
      predictions: the predictions (integers are cast to float32).
      targets: the targets, broadcastable to ``predictions``.
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` (keyword-only).
    Returns:
      A scalar (``"mean"``, ``"sum"``) or the per-element losses (``"none"``), float.

    Raises:
      ValueError: for an unknown ``reduction``.

    >>> import funcgrad.numpy as fnp
    >>> float(mse_loss(fnp.array([1.0, 2.0]), fnp.array([0.0, 0.0])))
    2.5
    """
    return reduce_loss(fnp.square(_float(predictions) - targets), reduction)


def l2_loss(predictions, targets, *, reduction: str = "mean"):
    """Half the squared error (Optax's ``l2_loss``).

    Reduces (``reduction="mean"`` by default), unlike Optax's ``l2_loss``: for Optax's
    per-example values and arguments use :func:`funcgrad.optim.losses.l2_loss`.

    Args:
      predictions: the predictions (integers are cast to float32).
      targets: the targets, broadcastable to ``predictions``.
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` (keyword-only).
    Returns:
      A scalar (``"mean"``, ``"sum"``) or the per-element losses (``"none"``), float.

    Raises:
      ValueError: for an unknown ``reduction``.
    """
    return reduce_loss(0.5 * fnp.square(_float(predictions) - targets), reduction)


def l1_loss(predictions, targets, *, reduction: str = "mean"):
    """Absolute error ``|p - t|``, reduced.

    Args:
      predictions: the predictions (integers are cast to float32).
      targets: the targets, broadcastable to ``predictions``.
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` (keyword-only).
    Returns:
      A scalar (``"mean"``, ``"sum"``) or the per-element losses (``"none"``), float.

    Raises:
      ValueError: for an unknown ``reduction``.
    """
    return reduce_loss(fnp.abs(_float(predictions) - targets), reduction)


def huber_loss(predictions, targets, *, delta: float = 1.0, reduction: str = "mean"):
    """Huber loss of ``e = p - t``: ``0.5 e**2`` for ``|e| <= delta``, else
    ``delta (|e| - delta / 2)``.

    Reduces (``reduction="mean"`` by default), unlike Optax's ``huber_loss``: for Optax's
    per-example values and arguments use :func:`funcgrad.optim.losses.huber_loss`.

    Args:
      predictions: the predictions (integers are cast to float32).
      targets: the targets, broadcastable to ``predictions``.
      delta: where the quadratic turns linear (keyword-only).
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` (keyword-only).
    Returns:
      A scalar (``"mean"``, ``"sum"``) or the per-element losses (``"none"``), float.

    Raises:
      ValueError: for an unknown ``reduction``.

    >>> import funcgrad.numpy as fnp
    >>> huber_loss(fnp.array([0.5, 3.0]), fnp.zeros(2), reduction="none")
    Array([0.125, 2.5  ], dtype=float32)
    """
    err = fnp.abs(_float(predictions) - targets)
    quad = fnp.minimum(err, delta)  # piecewise form without a where: smooth gradients
    return reduce_loss(0.5 * quad * quad + delta * (err - quad), reduction)


def kl_divergence(log_predictions, targets, *, axis: int = -1, reduction: str = "mean"):
    """``KL(targets || predictions) = sum t (log t - log p)`` over ``axis`` (Optax's argument
    order: log-probabilities first, probabilities second; ``0 log 0 = 0``).

    Reduces (``reduction="mean"`` by default), unlike Optax's ``kl_divergence``: for Optax's
    per-example values and arguments use :func:`funcgrad.optim.losses.kl_divergence`.

    Args:
      log_predictions: predicted log-probabilities (integers are cast to float32).
      targets: target probabilities, of ``log_predictions``' shape.
      axis: the distribution axis, summed over (keyword-only).
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` (keyword-only).
    Returns:
      A scalar (``"mean"``, ``"sum"``) or the per-element losses (``"none"``), float.

    Raises:
      ValueError: for an unknown ``reduction``.

    >>> import funcgrad.numpy as fnp
    >>> p = fnp.array([[0.5, 0.5]])
    >>> float(kl_divergence(fnp.log(p), p))
    0.0
    """
    lp = _float(log_predictions)
    t = fnp.asarray(targets).astype(lp.dtype)
    per = fnp.sum(_xlogx(t) - fnp.where(t > 0, t * lp, fnp.zeros_like(lp)), axis=axis)
    return reduce_loss(per, reduction)


def hinge_loss(scores, labels, *, reduction: str = "mean"):
    """Binary hinge ``max(0, 1 - y s)`` with labels in ``{-1, +1}``.

    Reduces (``reduction="mean"`` by default), unlike Optax's ``hinge_loss``: for Optax's
    per-example values and arguments use :func:`funcgrad.optim.losses.hinge_loss`.

    Args:
      scores: the scores ``s`` (integers are cast to float32).
      labels: labels ``y`` in ``{-1, +1}``, broadcastable to ``scores``.
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` (keyword-only).
    Returns:
      A scalar (``"mean"``, ``"sum"``) or the per-element losses (``"none"``), float.

    Raises:
      ValueError: for an unknown ``reduction``.

    >>> import funcgrad.numpy as fnp
    >>> hinge_loss(fnp.array([2.0, 0.5, -1.0]), fnp.array([1, 1, 1]), reduction="none")
    Array([0. , 0.5, 2. ], dtype=float32)
    """
    s = _float(scores)
    return reduce_loss(fnp.maximum(1.0 - fnp.asarray(labels).astype(s.dtype) * s, 0.0), reduction)


def multiclass_hinge_loss(scores, labels, *, reduction: str = "mean"):
    """Crammer-Singer hinge: ``max_j (s_j + [j != y]) - s_y`` for integer ``labels``.

    Reduces (``reduction="mean"`` by default), unlike Optax's ``multiclass_hinge_loss``: for Optax's
    per-example values and arguments use :func:`funcgrad.optim.losses.multiclass_hinge_loss`.

    Args:
      scores: class scores, classes on the last axis (integers are cast to float32).
      labels: integer classes of shape ``scores.shape[:-1]``.
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` (keyword-only).
    Returns:
      A scalar (``"mean"``, ``"sum"``) or the per-element losses (``"none"``), float.

    Raises:
      ValueError: for an unknown ``reduction``.
    """
    s = _float(scores)
    n = fnp.shape(s)[-1]
    onehot = (fnp.expand_dims(fnp.asarray(labels), -1) == fnp.arange(n)).astype(s.dtype)
    per = fnp.max(s + 1.0 - onehot, axis=-1) - fnp.sum(s * onehot, axis=-1)
    return reduce_loss(per, reduction)
