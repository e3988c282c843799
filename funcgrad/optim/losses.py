"""``funcgrad.optim.losses``: Optax's losses, with Optax's names, arguments and values.

Every loss returns one value per example (no reduction): take ``.mean()`` or ``.sum()``
yourself, as with Optax. (The reducing losses of :mod:`funcgrad.nn.losses` are funcgrad's own
torch-style family, with a ``reduction=`` argument.)

>>> import funcgrad.numpy as fnp
>>> from funcgrad.optim import losses
>>> losses.l2_loss(fnp.array([1.0, 3.0]), fnp.array([0.0, 1.0]))
Array([0.5, 2. ], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad._src import nn_functions as jnn
from funcgrad._src.vectorization import vmap
from funcgrad.optim._loss_class import (
    _floating,
    _same_shape,
    convex_kl_divergence,
    ctc_loss,
    ctc_loss_with_forward_probs,
    generalized_kl_divergence,
    hinge_loss,
    kl_divergence,
    kl_divergence_with_log_targets,
    multiclass_hinge_loss,
    multiclass_perceptron_loss,
    multiclass_sparsemax_loss,
    perceptron_loss,
    poly_loss_cross_entropy,
    safe_softmax_cross_entropy,
    sigmoid_binary_cross_entropy,
    sigmoid_focal_loss,
    softmax_cross_entropy,
    softmax_cross_entropy_with_integer_labels,
    sparsemax_loss,
)

__all__ = [
    "binary_dice_loss",
    "convex_kl_divergence",
    "cosine_distance",
    "cosine_similarity",
    "ctc_loss",
    "ctc_loss_with_forward_probs",
    "dice_loss",
    "generalized_kl_divergence",
    "hinge_loss",
    "huber_loss",
    "kl_divergence",
    "kl_divergence_with_log_targets",
    "l2_loss",
    "log_cosh",
    "make_fenchel_young_loss",
    "multiclass_generalized_dice_loss",
    "multiclass_hinge_loss",
    "multiclass_perceptron_loss",
    "multiclass_sparsemax_loss",
    "ntxent",
    "perceptron_loss",
    "poly_loss_cross_entropy",
    "ranking_softmax_loss",
    "safe_softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_labels",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "sparsemax_loss",
    "squared_error",
    "triplet_margin_loss",
]

# ---- regression ---------------------------------------------------------------------------------


def _errors(predictions, targets):
    predictions = _floating(predictions, "predictions")
    return predictions if targets is None else predictions - targets


def squared_error(predictions, targets=None):
    """``(predictions - targets) ** 2`` elementwise (``predictions ** 2`` without targets).

    Args:
      predictions: floating-point predictions.
      targets: targets of the same shape, or None.

    Returns:
      The loss, one value per element.

    Raises:
      ValueError: for non-float predictions or different shapes.
    """
    if targets is not None:
        _same_shape(predictions, targets)
    return _errors(predictions, targets) ** 2


def l2_loss(predictions, targets=None):
    """Half the squared error ``0.5 * (predictions - targets) ** 2``, elementwise (Optax).

    Args:
      predictions: floating-point predictions.
      targets: targets of the same shape, or None.

    Returns:
      The loss, one value per element.
    """
    return 0.5 * squared_error(predictions, targets)


def huber_loss(predictions, targets=None, *, delta=1.0):
    """Huber loss: ``0.5 e^2`` for ``|e| <= delta``, ``delta (|e| - 0.5 delta)`` beyond.

    Args:
      predictions: floating-point predictions.
      targets: targets (broadcastable), or None.
      delta: where the loss turns from quadratic to linear.

    Returns:
      The loss, one value per element.
    """
    abs_e = fnp.abs(_errors(predictions, targets))
    quadratic = fnp.minimum(abs_e, delta)
    return 0.5 * quadratic**2 + delta * (abs_e - quadratic)


def log_cosh(predictions, targets=None):
    """``log(cosh(predictions - targets))``, elementwise, computed without overflow.

    Args:
      predictions: floating-point predictions.
      targets: targets (broadcastable), or None.

    Returns:
      The loss, one value per element.
    """
    e = _errors(predictions, targets)
    return fnp.logaddexp(e, -e) - fnp.log(2.0).astype(e.dtype)


def cosine_similarity(predictions, targets, *, epsilon=0.0, axis=-1, where=None):
    """Cosine similarity ``<a, b> / (max(|a|, sqrt(eps)) max(|b|, sqrt(eps)))`` along ``axis``.

    Args:
      predictions: floating-point vectors.
      targets: floating-point vectors of the same shape.
      epsilon: the lower bound of the squared norms.
      axis: the vector axis (or axes).
      where: a mask of the elements taking part.

    Returns:
      The similarity: the shape without ``axis``.
    """
    a, b = _floating(predictions, "predictions"), _floating(targets, "targets")
    a_n2 = fnp.sum(fnp.square(a), axis=axis, where=where, keepdims=True)
    b_n2 = fnp.sum(fnp.square(b), axis=axis, where=where, keepdims=True)
    a_unit = a / fnp.sqrt(fnp.maximum(a_n2, epsilon))
    b_unit = b / fnp.sqrt(fnp.maximum(b_n2, epsilon))
    return fnp.sum(a_unit * b_unit, axis=axis, where=where)


def cosine_distance(predictions, targets, *, epsilon=0.0, axis=-1, where=None):
    """Cosine distance ``1 - cosine_similarity(predictions, targets)``.

    Args:
      predictions: floating-point vectors.
      targets: floating-point vectors of the same shape.
      epsilon: the lower bound of the squared norms.
      axis: the vector axis (or axes).
      where: a mask of the elements taking part.

    Returns:
      The distance: the shape without ``axis``.
    """
    sim = cosine_similarity(predictions, targets, epsilon=epsilon, axis=axis, where=where)
    return 1.0 - sim


# ---- smoothing, self-supervised, ranking ---------------------------------------------------------


def smooth_labels(labels, alpha, *, axis=-1, where=None):
    """Label smoothing ``(1 - alpha) * labels + alpha / num_categories``.

    Args:
      labels: floating-point one-hot (or soft) labels.
      alpha: the smoothing factor.
      axis: the class axis.
      where: a mask of the categories taking part (``num_categories`` counts them).

    Returns:
      The smoothed labels, ``labels``' shape.
    """
    labels = _floating(labels, "labels")
    if where is None:
        n = (
            labels.shape[axis]
            if isinstance(axis, int)
            else int(np.prod([labels.shape[a] for a in axis]))
        )
    else:
        n = fnp.sum(where, axis, keepdims=True)
    return (1.0 - alpha) * labels + alpha / n


def ntxent(embeddings, labels, temperature=0.07):
    """Normalized temperature-scaled cross-entropy (SimCLR), averaged over positive pairs.

    Args:
      embeddings: ``[batch, dim]`` floating-point embeddings.
      labels: ``[batch]`` integers; equal labels mark positive pairs.
      temperature: the softmax temperature.

    Returns:
      A scalar loss.

    Raises:
      ValueError: if the leading dimensions differ.
    """
    emb = _floating(embeddings, "embeddings")
    labels = fnp.asarray(labels)
    if labels.shape[0] != emb.shape[0]:
        raise ValueError(
            "Labels and embeddings must have the same leading dimension, found "
            f"{labels.shape[0]} for labels and {emb.shape[0]} for embeddings."
        )
    eps = float(np.finfo(np.dtype(emb.dtype)).eps)
    xcs = cosine_similarity(emb[None, :, :], emb[:, None, :], epsilon=eps) / temperature
    same = labels[:, None] == labels[None, :]
    matches = fnp.logical_and(same, fnp.logical_not(fnp.eye(emb.shape[0], dtype=bool)))
    xcs_diffs = fnp.where(fnp.logical_not(same), xcs, -fnp.inf)
    xcs_matches = fnp.where(matches, xcs, -fnp.inf)
    comb = fnp.concatenate((xcs_diffs, xcs_matches), axis=-1)
    xmax = lax.stop_gradient(fnp.max(comb, axis=1, keepdims=True))
    numer = xcs_matches - xmax
    denom = fnp.sum(fnp.exp(xcs_diffs - xmax), axis=1, keepdims=True) + fnp.exp(numer)
    log_softm = numer - fnp.log(denom)
    return -fnp.sum(fnp.where(matches, log_softm, 0.0)) / fnp.sum(matches)


def triplet_margin_loss(
    anchors, positives, negatives, axis=-1, norm_degree=2, margin=1.0, eps=1e-6
):
    """Triplet margin loss ``max(d(a, p) - d(a, n) + margin, 0)`` with
    ``d(x, y) = (sum((x - y) ** norm_degree) + eps) ** (1 / norm_degree)``.

    Args:
      anchors: floating-point anchor embeddings.
      positives: embeddings of the same class.
      negatives: embeddings of another class.
      axis: the embedding axis.
      norm_degree: the degree of the norm.
      margin: the margin.
      eps: added inside the root.

    Returns:
      The loss: the shape without ``axis``.
    """
    a = _floating(anchors, "anchors")

    def dist(x):
        return fnp.power(fnp.sum(fnp.power(a - x, norm_degree), axis) + eps, 1 / norm_degree)

    return fnp.maximum(dist(positives) - dist(negatives) + margin, 0)


def ranking_softmax_loss(logits, labels, *, where=None, weights=None, reduce_fn=fnp.mean):
    """Softmax ranking loss: ``-sum(labels * log_softmax(logits))`` over the last axis, then
    ``reduce_fn`` (Optax's default reduces with the mean; pass None for per-list values).

    Args:
      logits: floating-point item scores ``[..., list_size]``.
      labels: relevance labels of the same shape.
      where: a mask of the valid items.
      weights: per-item weights multiplying the labels.
      reduce_fn: a reduction taking ``where=`` (``fnp.mean``, ``fnp.sum``) or None.

    Returns:
      The reduced loss, or one value per list for ``reduce_fn=None``.
    """
    logits = _floating(logits)
    labels = fnp.asarray(labels).astype(logits.dtype)
    if where is not None:
        labels = fnp.where(where, labels, fnp.zeros_like(labels))
        logits = fnp.where(where, logits, -fnp.inf * fnp.ones_like(logits))
    if weights is not None:
        labels = labels * weights
    loss = -fnp.sum(labels * jnn.log_softmax(logits, axis=-1), axis=-1, where=where)
    if where is not None:
        where = fnp.any(where, axis=-1)
    if reduce_fn is None:
        return loss if where is None else fnp.where(where, loss, 0.0)
    out = reduce_fn(loss, where=where)
    if reduce_fn is fnp.mean:
        valid = fnp.logical_not(fnp.any(fnp.isnan(loss)))
        out = fnp.where(fnp.logical_and(fnp.isnan(out), valid), 0.0, out)
    return out


# ---- segmentation -------------------------------------------------------------------------------


def _reduce(loss, reduction, axis=None):
    if reduction == "mean":
        return fnp.mean(loss, axis=axis)
    if reduction == "sum":
        return fnp.sum(loss, axis=axis)
    if reduction == "none":
        return loss
    raise ValueError(f"Unsupported reduction: {reduction}")


def _dice_probs(predictions, apply_softmax):
    if not apply_softmax:
        sums = np.asarray(fnp.sum(predictions, axis=-1))
        if not np.allclose(sums, 1.0, rtol=1e-5):
            raise ValueError(
                "When apply_softmax=False, predictions must be valid probability distributions "
                "that sum to 1 along the class axis. Found sum range: "
                f"[{sums.min():.6f}, {sums.max():.6f}]"
            )
        return predictions
    if predictions.shape[-1] == 1:
        return jnn.sigmoid(predictions)
    return jnn.softmax(predictions, axis=-1)


def _dice_inputs(predictions, targets):
    p, t = fnp.asarray(predictions), fnp.asarray(targets)
    if p.ndim == t.ndim - 1:
        p = p[..., None]
    if t.ndim == p.ndim - 1:
        t = t[..., None]
    _same_shape(p, t)
    return p, t


def dice_loss(
    predictions,
    targets,
    *,
    class_weights=None,
    smooth=1.0,
    alpha=0.5,
    beta=0.5,
    apply_softmax=True,
    reduction="mean",
    ignore_background=False,
    axis=None,
):
    """Dice (Tversky for ``alpha != beta``) loss per example and class, then reduced over the
    classes (Optax's segmentation loss; the class axis is last).

    Args:
      predictions: ``[batch, ..., classes]`` logits (or probabilities).
      targets: one-hot targets of the same shape.
      class_weights: ``[classes]`` weights, or None.
      smooth: added to numerator and denominator.
      alpha: the weight of false positives.
      beta: the weight of false negatives.
      apply_softmax: apply softmax (sigmoid for one class) to ``predictions``.
      reduction: ``"mean"``, ``"sum"`` or ``"none"`` over the classes.
      ignore_background: drop class 0.
      axis: the spatial axes summed over (default: all but the first and last).

    Returns:
      The loss per example (``[batch]``), or ``[batch, classes]`` for ``"none"``.

    Raises:
      ValueError: for different shapes, non-normalised probabilities, or a bad reduction.
    """
    p, t = _dice_inputs(predictions, targets)
    probs = _dice_probs(p, apply_softmax)
    axis = tuple(range(1, probs.ndim - 1)) if axis is None else axis
    inter = fnp.sum(probs * t, axis=axis)
    p_sum, t_sum = fnp.sum(probs, axis=axis), fnp.sum(t, axis=axis)
    denom = inter + alpha * (p_sum - inter) + beta * (t_sum - inter) + smooth
    loss = 1.0 - (inter + smooth) / denom
    if class_weights is not None:
        loss = loss * fnp.asarray(class_weights)
    if ignore_background and probs.shape[-1] > 1:
        loss = loss[..., 1:]
    return _reduce(loss, reduction, axis=-1)


def multiclass_generalized_dice_loss(
    predictions, targets, *, smooth=1.0, apply_softmax=True, ignore_background=False
):
    """Generalized Dice loss: Dice with class weights ``1 / frequency ** 2`` (normalised to
    sum to the number of classes), averaged.

    Args:
      predictions: ``[batch, ..., classes]`` logits.
      targets: one-hot targets of the same shape.
      smooth: added to numerator and denominator.
      apply_softmax: apply softmax to ``predictions``.
      ignore_background: drop class 0.

    Returns:
      A scalar loss.
    """
    _same_shape(predictions, targets)
    t = fnp.asarray(targets)
    freq = fnp.sum(t, axis=tuple(range(t.ndim - 1)))
    w = 1.0 / (freq**2 + 1e-7)
    w = w / fnp.sum(w) * w.shape[0]
    loss = dice_loss(
        predictions,
        t,
        class_weights=w,
        smooth=smooth,
        apply_softmax=apply_softmax,
        reduction="none",
        ignore_background=ignore_background,
    )
    return fnp.mean(loss)


def binary_dice_loss(predictions, targets, *, smooth=1.0, apply_sigmoid=True):
    """Dice loss of binary segmentation (sigmoid of the logits), averaged per example.

    Args:
      predictions: ``[batch, ...]`` or ``[batch, ..., 1]`` logits.
      targets: binary targets of the same shape.
      smooth: added to numerator and denominator.
      apply_sigmoid: apply the sigmoid to ``predictions``.

    Returns:
      The loss per example, ``[batch]``.
    """
    p, t = fnp.asarray(predictions), fnp.asarray(targets)
    if p.ndim == t.ndim and p.shape[-1] != 1:
        p, t = p[..., None], t[..., None]
    return dice_loss(p, t, smooth=smooth, apply_softmax=apply_sigmoid, reduction="mean")


# ---- Fenchel-Young ------------------------------------------------------------------------------


def make_fenchel_young_loss(max_fun: Callable) -> Callable:
    """The Fenchel-Young loss ``max_fun(scores) - <targets, scores>`` of a convex ``max_fun``
    over the last axis (e.g. ``logsumexp`` gives the softmax cross-entropy).

    Args:
      max_fun: ``max_fun(scores_vector, *args, **kwargs) -> scalar``.

    Returns:
      ``loss(scores, targets, *args, **kwargs)``: one value per vector of the last axis.

    >>> import funcgrad.numpy as fnp
    >>> from funcgrad.scipy.special import logsumexp
    >>> loss = make_fenchel_young_loss(logsumexp)
    >>> round(float(loss(fnp.array([[0.0, 1.0]]), fnp.array([[0.0, 1.0]]))[0]), 5)
    0.31326
    """

    def loss(scores, targets, *args, **kwargs):
        scores = fnp.asarray(scores)
        fn = lambda s: max_fun(s, *args, **kwargs)
        for _ in range(scores.ndim - 1):
            fn = vmap(fn)
        return fn(scores) - fnp.sum(fnp.asarray(targets) * scores, axis=-1)

    return loss
