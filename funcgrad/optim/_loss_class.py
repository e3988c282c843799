"""Classification losses with Optax's names and semantics: one value per example, no reduction.

Re-exported by :mod:`funcgrad.optim.losses` (and :mod:`funcgrad.optim`); the reducing,
torch-style losses of :mod:`funcgrad.nn.losses` are a different family.
"""

from __future__ import annotations

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad._src import nn_functions as jnn
from funcgrad.scipy.special import logsumexp

__all__ = [
    "convex_kl_divergence",
    "ctc_loss",
    "ctc_loss_with_forward_probs",
    "generalized_kl_divergence",
    "hinge_loss",
    "kl_divergence",
    "kl_divergence_with_log_targets",
    "multiclass_hinge_loss",
    "multiclass_perceptron_loss",
    "multiclass_sparsemax_loss",
    "perceptron_loss",
    "poly_loss_cross_entropy",
    "safe_softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "sparsemax_loss",
]


def _check_kind(x, kinds: str, what: str, name: str):
    x = fnp.asarray(x)
    if np.dtype(x.dtype).kind not in kinds:
        raise ValueError(f"{name} must be {what}, got dtype {np.dtype(x.dtype).name}")
    return x


def _floating(x, name="logits"):
    return _check_kind(x, "f", "a floating-point array", name)


def _expand_where(where, logits, axis):
    if where is None or fnp.ndim(where) == fnp.ndim(logits):
        return where
    return fnp.expand_dims(fnp.asarray(where), axis)


def sigmoid_binary_cross_entropy(logits, labels):
    """Binary cross-entropy of ``sigmoid(logits)`` against ``labels`` in [0, 1], elementwise.

    ``-labels log(sigmoid(x)) - (1 - labels) log(1 - sigmoid(x))``, no reduction (Optax).

    Args:
      logits: floating-point logits.
      labels: targets of the same shape (cast to the logits' dtype).

    Returns:
      The loss, one value per element.

    >>> import funcgrad.numpy as fnp
    >>> sigmoid_binary_cross_entropy(fnp.array([0.0, 2.0]), fnp.array([1.0, 0.0]))
    Array([0.6931472, 2.126928 ], dtype=float32)
    """
    logits = _floating(logits)
    labels = fnp.asarray(labels).astype(logits.dtype)
    return -labels * jnn.log_sigmoid(logits) - (1.0 - labels) * jnn.log_sigmoid(-logits)


def hinge_loss(predictor_outputs, targets):
    """Binary hinge loss ``max(0, 1 - outputs * targets)``, elementwise (targets in {-1, 1}).

    Args:
      predictor_outputs: the scores.
      targets: the signs, ``-1`` or ``1``.

    Returns:
      The loss, one value per element.
    """
    return fnp.maximum(0, 1 - fnp.asarray(predictor_outputs) * targets)


def perceptron_loss(predictor_outputs, targets):
    """Binary perceptron loss ``max(0, -outputs * targets)``, elementwise.

    Args:
      predictor_outputs: the scores.
      targets: the signs, ``-1`` or ``1`` (same shape).

    Returns:
      The loss, one value per element.

    Raises:
      ValueError: if the shapes differ.
    """
    _same_shape(predictor_outputs, targets)
    return fnp.maximum(0, -fnp.asarray(predictor_outputs) * targets)


def _same_shape(a, b):
    if tuple(fnp.shape(a)) != tuple(fnp.shape(b)):
        raise ValueError(f"shapes differ: {tuple(fnp.shape(a))} and {tuple(fnp.shape(b))}")


def sparsemax_loss(logits, labels):
    """Binary sparsemax loss ``sparse_plus(-logits if labels else logits)``, elementwise.

    Args:
      logits: the scores.
      labels: binary labels (0 or 1).

    Returns:
      The loss, one value per element.
    """
    logits = fnp.asarray(logits)
    return jnn.sparse_plus(fnp.where(fnp.asarray(labels) != 0, -logits, logits))


def _weighted_log_softmax(logits, weights):
    lsm = jnn.log_softmax(logits, axis=-1)
    nonzero = weights != 0
    # the where on the input keeps 0 * (-inf) out of both the value and the gradient
    safe = fnp.where(nonzero, lsm, fnp.zeros_like(lsm))
    return fnp.where(nonzero, weights * safe, fnp.zeros_like(lsm))


def safe_softmax_cross_entropy(logits, labels):
    """Softmax cross-entropy over the last axis that stays finite when a logit is ``-inf``
    where its label is 0.

    Args:
      logits: floating-point logits ``[..., num_classes]``.
      labels: probabilities of the same shape.

    Returns:
      The loss, shape ``logits.shape[:-1]``.
    """
    logits = _floating(logits)
    return -fnp.sum(_weighted_log_softmax(logits, fnp.asarray(labels)), axis=-1)


def softmax_cross_entropy(logits, labels, axis=-1, where=None):
    """Cross-entropy ``-sum(labels * log_softmax(logits), axis)`` per example (Optax).

    Args:
      logits: floating-point logits.
      labels: probability targets of the logits' shape (one-hot or soft).
      axis: the class axis (or axes).
      where: a mask of the elements taking part (broadcast over ``axis`` when it lacks it).

    Returns:
      The loss: the logits' shape without ``axis``.

    >>> import funcgrad.numpy as fnp
    >>> logits = fnp.array([[2.0, 0.0, -1.0], [0.0, 5.0, 0.0]])
    >>> [round(float(v), 4) for v in softmax_cross_entropy(logits, fnp.eye(3)[fnp.array([0, 1])])]
    [0.1698, 0.0134]
    """
    logits = _floating(logits)
    where = _expand_where(where, logits, axis)
    log_probs = jnn.log_softmax(logits, axis, where)
    return -fnp.sum(fnp.asarray(labels) * log_probs, axis=axis, where=where)


def _canon(axis, ndim):
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def _flatten_class_axes(logits, where, axis):
    logit_axes = tuple(_canon(a, logits.ndim) for a in axis)
    batch = tuple(a for a in range(logits.ndim) if a not in logit_axes)
    perm = batch + logit_axes
    logits = fnp.transpose(logits, perm)
    logits = logits.reshape(logits.shape[: len(batch)] + (-1,))
    if where is not None:
        where = fnp.transpose(fnp.asarray(where), perm)
        where = where.reshape(where.shape[: len(batch)] + (-1,))
    return logits, where, len(batch)


def softmax_cross_entropy_with_integer_labels(logits, labels, axis=-1, where=None):
    """Cross-entropy with integer labels: ``logsumexp(logits) - logits[label]`` (Optax).

    Args:
      logits: floating-point logits.
      labels: integer class indices, the logits' shape without ``axis``.
      axis: the class axis (an int, or a tuple of axes flattened into one class axis).
      where: a mask of the classes taking part; an example with none gives 0.

    Returns:
      The loss, shape ``labels.shape``.

    Raises:
      ValueError: for non-float logits, non-integer labels, or a bad ``axis``.

    >>> import funcgrad.numpy as fnp
    >>> logits = fnp.array([[2.0, 0.0, -1.0], [0.0, 5.0, 0.0]])
    >>> loss = softmax_cross_entropy_with_integer_labels(logits, fnp.array([0, 1]))
    >>> [round(float(v), 4) for v in loss], loss.sum() == loss[0] + loss[1]
    ([0.1698, 0.0134], Array(True, dtype=bool))
    """
    logits = _floating(logits)
    labels = _check_kind(labels, "iu", "an integer array", "labels")
    where = _expand_where(where, logits, axis)
    if isinstance(axis, int):
        axis = _canon(axis, logits.ndim)
    elif isinstance(axis, tuple):
        logits, where, axis = _flatten_class_axes(logits, where, axis)
    else:
        raise ValueError(f"axis must be an int or a tuple of ints, got {type(axis).__name__}")
    picked = fnp.take_along_axis(logits, fnp.expand_dims(labels, axis), axis=axis)
    label_logits = fnp.squeeze(picked, axis)
    out = logsumexp(logits, axis=axis, where=where) - label_logits
    if where is not None:
        out = fnp.where(fnp.any(where, axis), out, 0.0)
    return out


def _dot_last(a, b):
    return fnp.sum(a * b, axis=-1)


def multiclass_hinge_loss(scores, labels):
    """Multiclass hinge loss ``max(scores + 1 - onehot) - scores[label]`` per example.

    Args:
      scores: ``[..., num_classes]`` scores.
      labels: integer labels ``[...]``.

    Returns:
      The loss, shape ``labels.shape``.
    """
    scores = fnp.asarray(scores)
    oh = jnn.one_hot(labels, scores.shape[-1])
    return fnp.max(scores + 1.0 - oh, axis=-1) - _dot_last(scores, oh)


def multiclass_perceptron_loss(scores, labels):
    """Multiclass perceptron loss ``max(scores) - scores[label]`` per example.

    Args:
      scores: ``[..., num_classes]`` scores.
      labels: integer labels ``[...]``.

    Returns:
      The loss, shape ``labels.shape``.
    """
    scores = fnp.asarray(scores)
    oh = jnn.one_hot(labels, scores.shape[-1])
    return fnp.max(scores, axis=-1) - _dot_last(scores, oh)


def _projection_simplex(x):
    """The Euclidean projection of each last-axis vector onto the probability simplex."""
    n = x.shape[-1]
    srt = -fnp.sort(-x, axis=-1)
    cssv = fnp.cumsum(srt, axis=-1) - 1.0
    ind = fnp.arange(1, n + 1, dtype=x.dtype)
    rho = fnp.sum((srt - cssv / ind > 0).astype(np.int32), axis=-1, keepdims=True)
    tau = fnp.take_along_axis(cssv, rho - 1, axis=-1) / rho.astype(x.dtype)
    return fnp.maximum(x - tau, 0.0)


def multiclass_sparsemax_loss(scores, labels):
    """Multiclass sparsemax loss (Martins & Astudillo 2016) per example.

    Args:
      scores: ``[batch, num_classes]`` scores.
      labels: integer labels ``[batch]``.

    Returns:
      The loss, shape ``[batch]``.
    """
    scores = _floating(fnp.asarray(scores), "scores")
    proba = _projection_simplex(scores)
    oh = jnn.one_hot(labels, scores.shape[-1], dtype=scores.dtype)
    shifted = (scores - _dot_last(scores, oh)[..., None]) * (1.0 - oh)
    inner = _dot_last(proba, fnp.where(proba != 0, shifted, 0.0))
    return inner + 0.5 * (1.0 - _dot_last(proba, proba))


def poly_loss_cross_entropy(logits, labels, *, epsilon=2.0, axis=-1, where=None):
    """PolyLoss (Leng et al. 2022): ``cross_entropy + epsilon * sum(labels * (1 - p))``.

    Args:
      logits: floating-point logits.
      labels: floating-point probability targets of the logits' shape.
      epsilon: the weight of the first polynomial term.
      axis: the class axis (or axes).
      where: a mask of the elements taking part.

    Returns:
      The loss: the logits' shape without ``axis``.
    """
    logits = _floating(logits)
    labels = _floating(labels, "labels")
    p = jnn.softmax(logits, axis=axis, where=where)
    one_minus_pt = fnp.sum(labels * (1 - p), axis=axis, where=where)
    return softmax_cross_entropy(logits, labels, axis=axis, where=where) + epsilon * one_minus_pt


def kl_divergence(log_predictions, targets, axis=-1, where=None):
    """``KL(targets || predictions) = sum(targets * (log(targets) - log_predictions))``
    with ``0 log 0 = 0`` (Optax's argument order: log-predictions first).

    Args:
      log_predictions: floating-point log-probabilities.
      targets: floating-point probabilities of the same shape.
      axis: the axis (or axes) summed over.
      where: a mask of the elements taking part.

    Returns:
      The divergence: the shape without ``axis``.
    """
    log_predictions = _floating(log_predictions, "log_predictions")
    targets = _floating(targets, "targets")
    log_t = fnp.log(fnp.where(targets == 0, 1.0, targets))
    return fnp.sum(targets * (log_t - log_predictions), axis=axis, where=where)


def kl_divergence_with_log_targets(log_predictions, log_targets, axis=-1, where=None):
    """``sum(exp(log_targets) * (log_targets - log_predictions))``.

    Args:
      log_predictions: floating-point log-probabilities.
      log_targets: floating-point log-probabilities of the targets.
      axis: the axis (or axes) summed over.
      where: a mask of the elements taking part.

    Returns:
      The divergence: the shape without ``axis``.
    """
    log_predictions = _floating(log_predictions, "log_predictions")
    log_targets = _floating(log_targets, "log_targets")
    loss = fnp.exp(log_targets) * (log_targets - log_predictions)
    return fnp.sum(loss, axis=axis, where=where)


def generalized_kl_divergence(log_predictions, targets, axis=-1, where=None):
    """The generalized KL divergence ``kl_divergence + sum(exp(log_predictions) - targets)``
    (for unnormalised measures; convex in the predictions).

    Args:
      log_predictions: floating-point log-values.
      targets: floating-point non-negative values of the same shape.
      axis: the axis (or axes) summed over.
      where: a mask of the elements taking part.

    Returns:
      The divergence: the shape without ``axis``.
    """
    x = kl_divergence(log_predictions, targets, axis=axis, where=where)
    y = fnp.sum(fnp.exp(log_predictions) - targets, axis=axis, where=where)
    return x + y


def convex_kl_divergence(log_predictions, targets, axis=-1, where=None):
    """The deprecated Optax name of :func:`generalized_kl_divergence` (same values).

    Args:
      log_predictions: floating-point log-values.
      targets: floating-point non-negative values.
      axis: the axis (or axes) summed over.
      where: a mask of the elements taking part.

    Returns:
      The divergence: the shape without ``axis``.
    """
    return generalized_kl_divergence(log_predictions, targets, axis=axis, where=where)


def sigmoid_focal_loss(logits, labels, *, alpha=None, gamma=2.0):
    """Focal loss (Lin et al. 2017): ``sigmoid_binary_cross_entropy * (1 - p_t) ** gamma``,
    weighted by ``alpha`` for positives and ``1 - alpha`` for negatives when given.

    Args:
      logits: floating-point logits.
      labels: binary (or soft) labels of the same shape.
      alpha: the positive-class weight, or None for none.
      gamma: the focusing exponent.

    Returns:
      The loss, one value per element.
    """
    logits = _floating(logits)
    labels = fnp.asarray(labels).astype(logits.dtype)
    ce = sigmoid_binary_cross_entropy(logits, labels)
    log_p, log_q = jnn.log_sigmoid(logits), jnn.log_sigmoid(-logits)
    stacked = fnp.stack([log_p, log_q], axis=-1)
    log_one_minus_pt = logsumexp(stacked, axis=-1, b=fnp.stack([1 - labels, labels], axis=-1))
    loss = ce * fnp.exp(gamma * log_one_minus_pt)
    if alpha is None:
        return loss
    return (alpha * labels + (1.0 - alpha) * (1.0 - labels)) * loss


# ---- CTC ------------------------------------------------------------------------------------


def _ctc_check(logits, logit_paddings, labels, label_paddings):
    if fnp.ndim(logits) != 3 or fnp.ndim(labels) != 2:
        raise ValueError("ctc_loss: logits must be [B, T, K] and labels [B, N]")
    _same_shape(labels, label_paddings)
    _same_shape(fnp.asarray(logits)[..., 0], logit_paddings)
    if labels.shape[0] != logits.shape[0]:
        raise ValueError(
            f"Expected `labels` to have batch size {logits.shape[0]}, got {labels.shape[0]}."
        )


def _phi_update(phi, added):
    return fnp.concatenate([phi[:, :1], fnp.logaddexp(phi[:, 1:], added)], axis=-1)


def _ctc_step(repeat, log_eps, batch):
    def body(prev, x):
        prev_phi, prev_emit = prev
        phi = _phi_update(prev_phi, prev_emit + log_eps * repeat)
        lp_emit, lp_phi, pad = x
        next_emit = fnp.logaddexp(phi[:, :-1] + lp_emit, prev_emit + lp_emit)
        next_phi = _phi_update(phi + lp_phi, prev_emit + lp_phi + log_eps * (1.0 - repeat))
        pad = pad.reshape((batch, 1))
        next_emit = pad * prev_emit + (1.0 - pad) * next_emit
        next_phi = pad * prev_phi + (1.0 - pad) * next_phi
        return (next_phi, next_emit), (next_phi, next_emit)

    return body


def ctc_loss_with_forward_probs(
    logits, logit_paddings, labels, label_paddings, *, blank_id=0, log_epsilon=-1e5
):
    """Connectionist temporal classification loss and its forward log-probabilities (Optax).

    Args:
      logits: ``[B, T, K]`` logits.
      logit_paddings: ``[B, T]``, 1.0 at padded frames.
      labels: ``[B, N]`` integer label sequences.
      label_paddings: ``[B, N]``, 1.0 at padded labels.
      blank_id: the blank class.
      log_epsilon: the log-probability standing for 0.

    Returns:
      ``(per_seq_loss [B], logalpha_phi [T, B, N+1], logalpha_emit [T, B, N])``.

    Raises:
      ValueError: for inputs of the wrong ranks or shapes.
    """
    logits, labels = fnp.asarray(logits), fnp.asarray(labels)
    _ctc_check(logits, logit_paddings, labels, label_paddings)
    batch, _, k = logits.shape
    n = labels.shape[1]
    logprobs = jnn.log_softmax(logits)
    labellens = n - fnp.sum(label_paddings, axis=1).astype(np.int32)
    repeat = (labels[:, :-1] == labels[:, 1:]).astype(np.float32)
    repeat = fnp.pad(repeat, ((0, 0), (0, 1)))
    lp_phi = fnp.transpose(logprobs[:, :, blank_id : blank_id + 1], (1, 0, 2))
    lp_emit = fnp.einsum("btk,bnk->btn", logprobs, jnn.one_hot(labels, k))
    lp_emit = fnp.transpose(lp_emit, (1, 0, 2))
    phi0 = fnp.full((batch, n + 1), log_epsilon, np.float32).at[:, 0].set(0.0)
    emit0 = fnp.full((batch, n), log_epsilon, np.float32)
    xs = (lp_emit, lp_phi, fnp.transpose(fnp.asarray(logit_paddings), (1, 0)))
    _, (alpha_phi, alpha_emit) = lax.scan(_ctc_step(repeat, log_epsilon, batch), (phi0, emit0), xs)
    last = _phi_update(alpha_phi[-1], alpha_emit[-1])
    alpha_phi = alpha_phi.at[-1].set(last)
    per_seq = -fnp.sum(last * jnn.one_hot(labellens, n + 1), axis=-1)
    return per_seq, alpha_phi, alpha_emit


def ctc_loss(logits, logit_paddings, labels, label_paddings, *, blank_id=0, log_epsilon=-1e5):
    """Connectionist temporal classification loss per sequence (Optax).

    Args:
      logits: ``[B, T, K]`` logits.
      logit_paddings: ``[B, T]``, 1.0 at padded frames.
      labels: ``[B, N]`` integer label sequences.
      label_paddings: ``[B, N]``, 1.0 at padded labels.
      blank_id: the blank class.
      log_epsilon: the log-probability standing for 0.

    Returns:
      The negative log-likelihood of each label sequence, shape ``[B]``.
    """
    out = ctc_loss_with_forward_probs(
        logits, logit_paddings, labels, label_paddings, blank_id=blank_id, log_epsilon=log_epsilon
    )
    return out[0]
