"""Gradient transformations: the building blocks that ``_alias.py`` chains into optimizers.

Each is a function returning a ``GradientTransformation``; every state is a NamedTuple.
Hyperparameters may be Python numbers or (traced) arrays, so ``inject_hyperparams`` can feed
them from the state without recompiling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import tree_util as tu
from funcgrad.optim._base import (
    GradientTransformation,
    _tm,
    _zeros_count,
    _zeros_like_tree,
    stateless,
)
from funcgrad.optim._wrappers import masked

__all__ = [
    "ScaleByAdamState",
    "ScaleByLionState",
    "ScaleByRStdDevState",
    "ScaleByRmsState",
    "ScaleByRssState",
    "ScaleByScheduleState",
    "TraceState",
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
      A :class:`GradientTransformation` (stateless).
    """
    return stateless(lambda u, p: _tm(lambda g: g * step_size, u))


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
        s = step_size_fn(state.count)
        return _tm(lambda g: g * s, updates), ScaleByScheduleState(state.count + 1)

    return GradientTransformation(lambda p: ScaleByScheduleState(_zeros_count()), update)


def scale_by_learning_rate(learning_rate, flip_sign: bool = True) -> GradientTransformation:
    """Scale by ``-learning_rate`` (a number, array or schedule ``count -> lr``).

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      flip_sign: scale by ``-learning_rate`` (descent); False scales by ``+learning_rate``.

    Returns:
      A :class:`GradientTransformation` (:func:`scale`, or :func:`scale_by_schedule` for a
      schedule).
    """
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


def trace(decay, nesterov: bool = False) -> GradientTransformation:
    """Momentum: ``t <- decay * t + g``; the update is ``t`` (or ``decay * t + g`` if Nesterov).

    Args:
      decay: the momentum decay.
      nesterov: use Nesterov momentum.

    Returns:
      A :class:`GradientTransformation` with a :class:`TraceState`.
    """

    def update(updates, state, params=None):
        t = _tm(lambda g, t: decay * t + g, updates, state.trace)
        out = _tm(lambda g, t: decay * t + g, updates, t) if nesterov else t
        return out, TraceState(t)

    return GradientTransformation(lambda p: TraceState(_zeros_like_tree(p)), update)


class ScaleByAdamState(NamedTuple):
    """The state of :func:`scale_by_adam`.

    Args:
      count: the number of updates so far (int32 scalar).
      mu: the first-moment average, a pytree like the params.
      nu: the second-moment average, a pytree like the params.
    """

    count: Any
    mu: Any
    nu: Any


def _moment(updates, m, decay, order):
    return _tm(lambda g, t: decay * t + (1 - decay) * g**order, updates, m)


def _debias(m, decay, count):
    c = 1 - decay**count
    return _tm(lambda t: t / c, m)


def scale_by_adam(
    b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, nesterov: bool = False
) -> GradientTransformation:
    """Adam's scaling (Kingma & Ba 2015): ``m_hat / (sqrt(v_hat + eps_root) + eps)``.

    Args:
      b1: the decay of the first moment.
      b2: the decay of the second moment.
      eps: added to the denominator outside the square root.
      eps_root: added to ``v_hat`` inside the square root.
      nesterov: NAdam's Nesterov-corrected first moment (as Optax).

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByAdamState`.
    """

    def init(params):
        return ScaleByAdamState(_zeros_count(), _zeros_like_tree(params), _zeros_like_tree(params))

    def update(updates, state, params=None):
        mu, nu = _moment(updates, state.mu, b1, 1), _moment(updates, state.nu, b2, 2)
        count = state.count + 1
        c = count.astype(np.float32)
        if nesterov:  # NAdam (Dozat 2016), as optax
            mu_hat = _tm(
                lambda m, g: b1 * m / (1 - b1 ** (c + 1)) + (1 - b1) * g / (1 - b1**c), mu, updates
            )
        else:
            mu_hat = _debias(mu, b1, c)
        nu_hat = _debias(nu, b2, c)
        out = _tm(lambda m, v: m / (fnp.sqrt(v + eps_root) + eps), mu_hat, nu_hat)
        return out, ScaleByAdamState(count, mu, nu)

    return GradientTransformation(init, update)


class ScaleByRmsState(NamedTuple):
    """The state of :func:`scale_by_rms`.

    Args:
      nu: the average of squared gradients, a pytree like the params.
    """

    nu: Any


def scale_by_rms(decay=0.9, eps=1e-8, initial_scale=0.0) -> GradientTransformation:
    """RMSProp's scaling (as optax): ``nu <- decay nu + (1-decay) g^2``, ``g / sqrt(nu + eps)``.

    Args:
      decay: the decay of ``nu``.
      eps: added inside the square root.
      initial_scale: the initial value of ``nu``.

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByRmsState`.
    """

    def init(params):
        return ScaleByRmsState(_tm(lambda p: fnp.full_like(p, initial_scale), params))

    def update(updates, state, params=None):
        nu = _moment(updates, state.nu, decay, 2)
        return _tm(lambda g, n: g / fnp.sqrt(n + eps), updates, nu), ScaleByRmsState(nu)

    return GradientTransformation(init, update)


class ScaleByRStdDevState(NamedTuple):
    """The state of :func:`scale_by_stddev`.

    Args:
      mu: the average gradient, a pytree like the params.
      nu: the average of squared gradients.
    """

    mu: Any
    nu: Any


def scale_by_stddev(decay=0.9, eps=1e-8, initial_scale=0.0) -> GradientTransformation:
    """Centred RMSProp: divide by ``sqrt(nu - mu^2 + eps)`` (``mu``, ``nu``: decayed averages
    of ``g`` and ``g^2``).

    Args:
      decay: the decay of ``mu`` and ``nu``.
      eps: added inside the square root.
      initial_scale: the initial value of ``nu``.

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByRStdDevState`.
    """

    def init(params):
        return ScaleByRStdDevState(
            _zeros_like_tree(params), _tm(lambda p: fnp.full_like(p, initial_scale), params)
        )

    def update(updates, state, params=None):
        mu, nu = _moment(updates, state.mu, decay, 1), _moment(updates, state.nu, decay, 2)
        out = _tm(lambda g, m, n: g / fnp.sqrt(n - m * m + eps), updates, mu, nu)
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
        return ScaleByRssState(_tm(lambda p: fnp.full_like(p, initial_accumulator_value), params))

    def update(updates, state, params=None):
        s = _tm(lambda g, s: s + g * g, updates, state.sum_of_squares)
        inv = _tm(lambda s: fnp.where(s > 0, 1.0 / fnp.sqrt(s + eps), fnp.zeros_like(s)), s)
        return _tm(lambda g, i: g * i, updates, inv), ScaleByRssState(s)

    return GradientTransformation(init, update)


class ScaleByLionState(NamedTuple):
    """The state of :func:`scale_by_lion`.

    Args:
      count: the number of updates so far (int32 scalar).
      mu: the momentum, a pytree like the params.
    """

    count: Any
    mu: Any


def scale_by_lion(b1=0.9, b2=0.99) -> GradientTransformation:
    """Lion (Chen et al. 2023): ``sign(b1 m + (1-b1) g)``, then ``m <- b2 m + (1-b2) g``.

    Args:
      b1: the interpolation factor of the update direction.
      b2: the decay of the momentum ``m``.

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByLionState`.
    """

    def init(params):
        return ScaleByLionState(_zeros_count(), _zeros_like_tree(params))

    def update(updates, state, params=None):
        out = _tm(lambda g, m: fnp.sign(b1 * m + (1 - b1) * g), updates, state.mu)
        mu = _moment(updates, state.mu, b2, 1)
        return out, ScaleByLionState(state.count + 1, mu)

    return GradientTransformation(init, update)


def _norm(x):
    return fnp.sqrt(fnp.sum(fnp.square(x)))


def scale_by_trust_ratio(min_norm=0.0, trust_coefficient=1.0, eps=0.0) -> GradientTransformation:
    """LARS/LAMB layer-wise trust ratio: each leaf's update times ``||p|| / ||u||``.

    The ratio is ``trust_coefficient * max(||p||, min_norm) / (max(||u||, min_norm) + eps)``,
    and 1 where either clipped norm is 0. ``update`` needs the params (else ``ValueError``).

    Args:
      min_norm: the lower bound of both norms.
      trust_coefficient: multiplies the ratio.
      eps: added to the update's norm.

    Returns:
      A :class:`GradientTransformation` (stateless).
    """

    def one(u, p):
        pn, un = fnp.maximum(_norm(p), min_norm), fnp.maximum(_norm(u), min_norm)
        ratio = trust_coefficient * pn / (un + eps)
        zero = fnp.logical_or(pn == 0, un == 0)
        return u * fnp.where(zero, fnp.ones_like(ratio), ratio)

    def fn(updates, params):
        if params is None:
            raise ValueError("scale_by_trust_ratio needs params: opt.update(g, state, params)")
        return _tm(one, updates, params)

    return stateless(fn)


# ---- weight decay, clipping ---------------------------------------------------------------------


def add_decayed_weights(weight_decay=0.0, mask=None) -> GradientTransformation:
    """``u + weight_decay * p`` (decoupled weight decay); ``mask`` (a pytree of bools, or a
    function ``params -> pytree of bools``) limits it to some parameters. ``update`` needs
    the params (else ``ValueError``).

    Args:
      weight_decay: the decay rate.
      mask: None (every leaf), a pytree of bools, or ``params -> pytree of bools``.

    Returns:
      A :class:`GradientTransformation` (stateless, or :func:`masked` with a mask).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> t = fg.optim.add_decayed_weights(0.1, mask={"w": True, "b": False})
    >>> p = {"w": fnp.ones(1), "b": fnp.ones(1)}
    >>> u, _ = t.update({"w": fnp.zeros(1), "b": fnp.zeros(1)}, t.init(p), p)
    >>> round(float(u["w"][0]), 6), float(u["b"][0])
    (0.1, 0.0)
    """

    def fn(updates, params):
        if params is None:
            raise ValueError("add_decayed_weights needs params: opt.update(g, state, params)")
        return _tm(lambda g, p: g + weight_decay * p, updates, params)

    t = stateless(fn)
    return t if mask is None else masked(t, mask)


def clip(max_delta) -> GradientTransformation:
    """Clip every update element to ``[-max_delta, max_delta]``.

    Args:
      max_delta: the bound (positive).

    Returns:
      A :class:`GradientTransformation` (stateless).
    """
    return stateless(lambda u, p: _tm(lambda g: fnp.clip(g, -max_delta, max_delta), u))


def global_norm(tree):
    """The global norm ``sqrt(sum of squares of every leaf)`` of a pytree.

    Args:
      tree: a pytree of arrays.

    Returns:
      A scalar array.

    >>> import funcgrad.numpy as fnp
    >>> float(global_norm([fnp.array([3.0]), fnp.array([4.0])]))
    5.0
    """
    leaves = tu.tree_leaves(tree)
    return fnp.sqrt(sum(fnp.sum(fnp.square(x)) for x in leaves))


def clip_by_global_norm(max_norm) -> GradientTransformation:
    """Rescale all updates together so that their global norm is at most ``max_norm``.

    Args:
      max_norm: the largest global norm let through.

    Returns:
      A :class:`GradientTransformation` (stateless).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> t = fg.optim.clip_by_global_norm(1.0)
    >>> u, _ = t.update([fnp.array([3.0, 4.0])], t.init(None))
    >>> u[0]
    Array([0.6, 0.8], dtype=float32)
    """

    def fn(updates, params):
        g = global_norm(updates)
        factor = max_norm / fnp.maximum(g, max_norm)
        return _tm(lambda x: x * factor, updates)

    return stateless(fn)
