"""Gradient transformations: the building blocks that ``_alias.py`` chains into optimizers.

Each is a function returning a ``GradientTransformation``; every state is a NamedTuple.
Hyperparameters may be Python numbers or (traced) arrays, so ``inject_hyperparams`` can feed
them from the state without recompiling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import funcgrad.numpy as fnp
from funcgrad.optim import tree_utils as otu
from funcgrad.optim._base import (
    EmptyState,
    GradientTransformation,
    _cast_tree,
    _full_tree,
    _needs_params,
    _safe_inc,
    _tm,
    _zeros_count,
    _zeros_tree,
    identity,
    init_empty_state,
)
from funcgrad.optim._wrappers import masked

__all__ = [
    "ScaleByAdamState",
    "ScaleByLionState",
    "ScaleByRStdDevState",
    "ScaleByRStdDevWithCountState",
    "ScaleByRmsState",
    "ScaleByRmsWithCountState",
    "ScaleByRssState",
    "ScaleByScheduleState",
    "TraceState",
    "WeightDecaySchedule",
    "add_decayed_weights",
    "clip",
    "clip_by_global_norm",
    "global_norm",
    "scale",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_lion",
    "scale_by_rms",
    "scale_by_rss",
    "scale_by_schedule",
    "scale_by_stddev",
    "scale_by_trust_ratio",
    "trace",
]

# ---- scaling -----------------------------------------------------------------------------------


def scale(step_size) -> GradientTransformation:
    """Multiply updates by ``step_size``.

    Args:
      step_size: a number or scalar array.

    Returns:
      A :class:`GradientTransformation` (state :class:`EmptyState`).
    """

    def update(updates, state, params=None):
        return _tm(lambda g: step_size * g, updates), state

    return GradientTransformation(init_empty_state, update)


class ScaleByScheduleState(NamedTuple):
    """The state of :func:`scale_by_schedule`.

    Args:
      count: the number of updates so far (int32 scalar).
    """

    count: Any


def scale_by_schedule(step_size_fn: Callable) -> GradientTransformation:
    """Multiply updates by ``step_size_fn(count)``, ``count`` the number of updates so far.

    Args:
      step_size_fn: a schedule ``count -> step size`` (``count`` an int32 scalar array).

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByScheduleState`.
    """

    def update(updates, state, params=None):
        s = fnp.asarray(step_size_fn(state.count))
        out = _tm(lambda g: s.astype(g.dtype) * g, updates)
        return out, ScaleByScheduleState(_safe_inc(state.count))

    return GradientTransformation(lambda p: ScaleByScheduleState(_zeros_count()), update)


def scale_by_learning_rate(learning_rate=None, *, flip_sign: bool = True) -> GradientTransformation:
    """Scale by ``-learning_rate`` (a number, array or schedule ``count -> lr``).

    Args:
      learning_rate: a number, an array, a schedule ``count -> lr``, or None (identity).
      flip_sign: scale by ``-learning_rate`` (descent); False scales by ``+learning_rate``.

    Returns:
      A :class:`GradientTransformation` (:func:`scale`, or :func:`scale_by_schedule` for a
      schedule).
    """
    if learning_rate is None:
        return identity()
    m = -1 if flip_sign else 1
    if callable(learning_rate):
        return scale_by_schedule(lambda c: m * learning_rate(c))
    return scale(m * learning_rate)


# ---- momentum and adaptive moments --------------------------------------------------------------


class TraceState(NamedTuple):
    """The state of :func:`trace`.

    Args:
      trace: the momentum, a pytree like the params.
    """

    trace: Any


def trace(decay, nesterov: bool = False, accumulator_dtype=None) -> GradientTransformation:
    """Momentum: ``t <- g + decay * t``; the update is ``t`` (or ``g + decay * t`` if Nesterov).

    Args:
      decay: the momentum decay.
      nesterov: use Nesterov momentum.
      accumulator_dtype: the dtype of ``t`` (None: the params').

    Returns:
      A :class:`GradientTransformation` with a :class:`TraceState`.
    """

    def update(updates, state, params=None):
        t = _tm(lambda g, t: g + decay * t, updates, state.trace)
        out = _tm(lambda g, t: g + decay * t, updates, t) if nesterov else t
        return out, TraceState(_cast_tree(t, accumulator_dtype))

    return GradientTransformation(lambda p: TraceState(_zeros_tree(p, accumulator_dtype)), update)


class ScaleByAdamState(NamedTuple):
    """The state of :func:`scale_by_adam` (and of adamax, yogi, radam).

    Args:
      count: the number of updates so far (int32 scalar).
      mu: the first-moment average, a pytree like the params.
      nu: the second-moment average, a pytree like the params.
    """

    count: Any
    mu: Any
    nu: Any


_moment = otu.tree_update_moment
_moment2 = otu.tree_update_moment_per_elem_norm
_debias = otu.tree_bias_correction


def _nesterov_mu_hat(mu, updates, b1, count):
    return _tm(
        lambda m, g: b1 * m + (1 - b1) * g,
        _debias(mu, b1, _safe_inc(count)),
        _debias(updates, b1, count),
    )


def _adam_div(mu_hat, nu_hat, eps, eps_root):
    return _tm(lambda m, v: m / (fnp.sqrt(v + eps_root) + eps), mu_hat, nu_hat)


def scale_by_adam(
    b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, mu_dtype=None, *, nesterov: bool = False
) -> GradientTransformation:
    """Adam's scaling (Kingma & Ba 2015): ``m_hat / (sqrt(v_hat + eps_root) + eps)``.

    Args:
      b1: the decay of the first moment.
      b2: the decay of the second moment.
      eps: added to the denominator outside the square root.
      eps_root: added to ``v_hat`` inside the square root.
      mu_dtype: the dtype of the first moment (None: the params').
      nesterov: NAdam's Nesterov-corrected first moment (keyword-only, as Optax).

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByAdamState`.
    """

    def init(params):
        return ScaleByAdamState(_zeros_count(), _zeros_tree(params, mu_dtype), _zeros_tree(params))

    def update(updates, state, params=None):
        mu, nu = _moment(updates, state.mu, b1, 1), _moment2(updates, state.nu, b2, 2)
        count = _safe_inc(state.count)
        if nesterov:
            mu_hat = _nesterov_mu_hat(mu, updates, b1, count)
        else:
            mu_hat = _debias(mu, b1, count)
        out = _adam_div(mu_hat, _debias(nu, b2, count), eps, eps_root)
        return out, ScaleByAdamState(count, _cast_tree(mu, mu_dtype), nu)

    return GradientTransformation(init, update)


class ScaleByRmsState(NamedTuple):
    """The state of :func:`scale_by_rms`.

    Args:
      nu: the average of squared gradients, a pytree like the params.
    """

    nu: Any


class ScaleByRmsWithCountState(NamedTuple):
    """The state of :func:`scale_by_rms` with ``bias_correction=True``.

    Args:
      count: the number of updates so far (int32 scalar).
      nu: the average of squared gradients.
    """

    count: Any
    nu: Any


def _rms_scaling(eps, eps_in_sqrt):
    if eps_in_sqrt:
        return lambda n: 1.0 / fnp.sqrt(n + eps)
    return lambda n: 1.0 / (fnp.sqrt(n) + eps)


def scale_by_rms(
    decay=0.9, eps=1e-8, initial_scale=0.0, eps_in_sqrt: bool = True, bias_correction=False
) -> GradientTransformation:
    """RMSProp's scaling: ``nu <- decay nu + (1-decay) g^2``, ``g / sqrt(nu + eps)``.

    Args:
      decay: the decay of ``nu``.
      eps: added inside the square root (outside with ``eps_in_sqrt=False``).
      initial_scale: the initial value of ``nu``.
      eps_in_sqrt: where ``eps`` goes.
      bias_correction: debias ``nu`` as Adam does (the state then counts steps).

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByRmsState` (or
      :class:`ScaleByRmsWithCountState`).
    """
    scaling = _rms_scaling(eps, eps_in_sqrt)

    def init(params):
        nu = _full_tree(params, initial_scale)
        return (
            ScaleByRmsWithCountState(_zeros_count(), nu) if bias_correction else ScaleByRmsState(nu)
        )

    def update(updates, state, params=None):
        nu = _moment2(updates, state.nu, decay, 2)
        if not bias_correction:
            return _tm(lambda g, n: scaling(n) * g, updates, nu), ScaleByRmsState(nu)
        count = _safe_inc(state.count)
        out = _tm(lambda g, n: scaling(n) * g, updates, _debias(nu, decay, count))
        return out, ScaleByRmsWithCountState(count, nu)

    return GradientTransformation(init, update)


class ScaleByRStdDevState(NamedTuple):
    """The state of :func:`scale_by_stddev`.

    Args:
      mu: the average gradient, a pytree like the params.
      nu: the average of squared gradients.
    """

    mu: Any
    nu: Any


class ScaleByRStdDevWithCountState(NamedTuple):
    """The state of :func:`scale_by_stddev` with ``bias_correction=True``.

    Args:
      count: the number of updates so far (int32 scalar).
      mu: the average gradient.
      nu: the average of squared gradients.
    """

    count: Any
    mu: Any
    nu: Any


def scale_by_stddev(
    decay=0.9, eps=1e-8, initial_scale=0.0, eps_in_sqrt: bool = True, bias_correction=False
) -> GradientTransformation:
    """Centred RMSProp: divide by ``sqrt(nu - mu^2 + eps)`` (``mu``, ``nu``: decayed averages
    of ``g`` and ``g^2``).

    Args:
      decay: the decay of ``mu`` and ``nu``.
      eps: added inside the square root (outside with ``eps_in_sqrt=False``).
      initial_scale: the initial value of ``nu``.
      eps_in_sqrt: where ``eps`` goes.
      bias_correction: debias ``mu`` and ``nu`` (the state then counts steps).

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByRStdDevState` (or
      :class:`ScaleByRStdDevWithCountState`).
    """
    scaling = _rms_scaling(eps, eps_in_sqrt)

    def init(params):
        mu, nu = _zeros_tree(params), _full_tree(params, initial_scale)
        if bias_correction:
            return ScaleByRStdDevWithCountState(_zeros_count(), mu, nu)
        return ScaleByRStdDevState(mu, nu)

    def update(updates, state, params=None):
        mu, nu = _moment(updates, state.mu, decay, 1), _moment2(updates, state.nu, decay, 2)
        count = _safe_inc(state.count) if bias_correction else None
        mu_h = _debias(mu, decay, count) if bias_correction else mu
        nu_h = _debias(nu, decay, count) if bias_correction else nu
        out = _tm(lambda g, m, n: scaling(n - m * m) * g, updates, mu_h, nu_h)
        if bias_correction:
            return out, ScaleByRStdDevWithCountState(count, mu, nu)
        return out, ScaleByRStdDevState(mu, nu)

    return GradientTransformation(init, update)


class ScaleByRssState(NamedTuple):
    """The state of :func:`scale_by_rss`.

    Args:
      sum_of_squares: the accumulated squared gradients, a pytree like the params.
    """

    sum_of_squares: Any


def scale_by_rss(initial_accumulator_value=0.1, eps=1e-7) -> GradientTransformation:
    """AdaGrad's scaling: ``s <- s + g^2``, update ``g / sqrt(s + eps)`` (0 where ``s == 0``).

    Args:
      initial_accumulator_value: the initial value of ``s``.
      eps: added inside the square root.

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByRssState`.
    """

    def init(params):
        return ScaleByRssState(_full_tree(params, initial_accumulator_value))

    def update(updates, state, params=None):
        s = _tm(lambda g, s: g * g + s, updates, state.sum_of_squares)
        inv = _tm(lambda s: fnp.where(s > 0, 1.0 / fnp.sqrt(s + eps), 0.0), s)
        return _tm(lambda i, g: i * g, inv, updates), ScaleByRssState(s)

    return GradientTransformation(init, update)


class ScaleByLionState(NamedTuple):
    """The state of :func:`scale_by_lion`.

    Args:
      count: the number of updates so far (int32 scalar).
      mu: the momentum, a pytree like the params.
    """

    count: Any
    mu: Any


_LION_MODES = {
    "hard": lambda x, beta: fnp.sign(x),
    "smooth": lambda x, beta: fnp.tanh(beta * x),
    "refined": lambda x, beta: fnp.where(fnp.abs(x) < 1.0, x, fnp.sign(x)),
}


def scale_by_lion(
    b1=0.9, b2=0.99, mu_dtype=None, *, mode: str = "hard", smooth_beta: float = 1.0
) -> GradientTransformation:
    """Lion (Chen et al. 2023): ``sign(b1 m + (1-b1) g)``, then ``m <- b2 m + (1-b2) g``.

    Args:
      b1: the interpolation factor of the update direction.
      b2: the decay of the momentum ``m``.
      mu_dtype: the dtype of ``m`` (None: the params').
      mode: ``"hard"`` (sign), ``"smooth"`` (``tanh(smooth_beta x)``) or ``"refined"``
        (``x`` inside [-1, 1], its sign outside).
      smooth_beta: the slope of the smooth mode.

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByLionState`.

    Raises:
      ValueError: for an unknown mode.
    """
    if mode not in _LION_MODES:
        raise ValueError(
            f'Unknown lion mode: {mode}. It needs to be one of ["hard", "smooth", "refined"].'
        )
    comb = _LION_MODES[mode]

    def init(params):
        return ScaleByLionState(_zeros_count(), _zeros_tree(params, mu_dtype))

    def update(updates, state, params=None):
        out = _tm(lambda g, m: comb((1.0 - b1) * g + b1 * m, smooth_beta), updates, state.mu)
        mu = _cast_tree(_moment(updates, state.mu, b2, 1), mu_dtype)
        return out, ScaleByLionState(_safe_inc(state.count), mu)

    return GradientTransformation(init, update)


def _safe_norm(x, min_norm):
    """The Euclidean norm, ``min_norm`` where it is at most ``min_norm`` (finite gradient)."""
    norm = fnp.sqrt(fnp.sum(fnp.square(x)))
    small = norm <= min_norm
    safe = fnp.sqrt(fnp.sum(fnp.square(fnp.where(small, fnp.ones_like(x), x))))
    return fnp.where(small, min_norm, safe)


def scale_by_trust_ratio(min_norm=0.0, trust_coefficient=1.0, eps=0.0) -> GradientTransformation:
    """LARS/LAMB layer-wise trust ratio: each leaf's update times ``||p|| / ||u||``.

    The ratio is ``trust_coefficient * max(||p||, min_norm) / (max(||u||, min_norm) + eps)``,
    and 1 where either clipped norm is 0. ``update`` needs the params (else ``ValueError``).

    Args:
      min_norm: the lower bound of both norms.
      trust_coefficient: multiplies the ratio.
      eps: added to the update's norm.

    Returns:
      A :class:`GradientTransformation` (state :class:`EmptyState`).
    """

    def one(u, p):
        pn, un = _safe_norm(p, min_norm), _safe_norm(u, min_norm)
        ratio = trust_coefficient * pn / (un + eps)
        zero = fnp.logical_or(pn == 0, un == 0)
        return u * fnp.where(zero, fnp.ones_like(ratio), ratio)

    def update(updates, state, params=None):
        _needs_params(params, "scale_by_trust_ratio")
        return _tm(one, updates, params), state

    return GradientTransformation(init_empty_state, update)


# ---- weight decay, clipping ---------------------------------------------------------------------


class WeightDecaySchedule(NamedTuple):
    """The state of :func:`add_decayed_weights` with a scheduled ``weight_decay``.

    Args:
      count: the number of updates so far (int32 scalar).
    """

    count: Any


def add_decayed_weights(weight_decay=0.0, mask=None) -> GradientTransformation:
    """``u + weight_decay * p`` (decoupled weight decay); ``mask`` (a pytree of bools, or a
    function ``params -> pytree of bools``) limits it to some parameters. ``update`` needs
    the params (else ``ValueError``).

    Args:
      weight_decay: the decay rate, or a schedule ``count -> rate``.
      mask: None (every leaf), a pytree of bools, or ``params -> pytree of bools``.

    Returns:
      A :class:`GradientTransformation` (:func:`masked` with a mask); its state is
      :class:`EmptyState`, or :class:`WeightDecaySchedule` for a schedule.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> t = fg.optim.add_decayed_weights(0.1, mask={"w": True, "b": False})
    >>> p = {"w": fnp.ones(1), "b": fnp.ones(1)}
    >>> u, _ = t.update({"w": fnp.zeros(1), "b": fnp.zeros(1)}, t.init(p), p)
    >>> round(float(u["w"][0]), 6), float(u["b"][0])
    (0.1, 0.0)
    """
    scheduled = callable(weight_decay)

    def init(params):
        return WeightDecaySchedule(_zeros_count()) if scheduled else EmptyState()

    def update(updates, state, params=None):
        _needs_params(params, "add_decayed_weights")
        new = WeightDecaySchedule(_safe_inc(state.count)) if scheduled else state
        if isinstance(weight_decay, (int, float)) and weight_decay == 0.0:
            return updates, new
        s = weight_decay(state.count) if scheduled else weight_decay
        return _tm(lambda g, p: g + s * p, updates, params), new

    t = GradientTransformation(init, update)
    return t if mask is None else masked(t, mask)


def clip(max_delta) -> GradientTransformation:
    """Clip every update element to ``[-max_delta, max_delta]``.

    Args:
      max_delta: the bound (positive).

    Returns:
      A :class:`GradientTransformation` (state :class:`EmptyState`).
    """
    return GradientTransformation(
        init_empty_state,
        lambda u, s, p=None: (_tm(lambda g: fnp.clip(g, -max_delta, max_delta), u), s),
    )


def global_norm(updates):
    """The global norm ``sqrt(sum of squares of every leaf)`` of a pytree.

    Args:
      updates: a pytree of arrays.

    Returns:
      A scalar array.

    >>> import funcgrad.numpy as fnp
    >>> float(global_norm([fnp.array([3.0]), fnp.array([4.0])]))
    5.0
    """
    return otu.tree_norm(updates)


def clip_by_global_norm(max_norm) -> GradientTransformation:
    """Rescale all updates together so that their global norm is at most ``max_norm``:
    ``u / ||u|| * max_norm`` when ``||u|| >= max_norm``.

    Args:
      max_norm: the largest global norm let through.

    Returns:
      A :class:`GradientTransformation` (state :class:`EmptyState`).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> t = fg.optim.clip_by_global_norm(1.0)
    >>> u, _ = t.update([fnp.array([3.0, 4.0])], t.init(None))
    >>> u[0]
    Array([0.6, 0.8], dtype=float32)
    """

    def update(updates, state, params=None):
        g = otu.tree_norm(updates)
        keep = g < max_norm
        out = _tm(lambda t: fnp.where(keep, t, t / g.astype(t.dtype) * max_norm), updates)
        return out, state

    return GradientTransformation(init_empty_state, update)
