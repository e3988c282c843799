"""Gradient transformations: the building blocks that ``_alias.py`` chains into optimizers.

Each is a function returning a ``GradientTransformation``; every state is a NamedTuple.
Hyperparameters may be Python numbers or (traced) arrays, so ``inject_hyperparams`` can feed
them from the state without recompiling.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import tree_util as tu
from funcgrad._src.array import Array
from funcgrad._src.core import Tracer
from funcgrad.optim._base import GradientTransformation, stateless

__all__ = [
    "ApplyIfFiniteState",
    "InjectHyperparamsState",
    "MaskedState",
    "MultiSteps",
    "MultiStepsState",
    "MultiTransformState",
    "ScaleByAdamState",
    "ScaleByLionState",
    "ScaleByRStdDevState",
    "ScaleByRmsState",
    "ScaleByRssState",
    "ScaleByScheduleState",
    "TraceState",
    "add_decayed_weights",
    "apply_if_finite",
    "clip",
    "clip_by_global_norm",
    "global_norm",
    "inject_hyperparams",
    "masked",
    "multi_transform",
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

_tm = tu.tree_map


def _zeros_count():
    return fnp.zeros((), np.int32)


def _zeros_like_tree(tree):
    return _tm(fnp.zeros_like, tree)


def _select_tree(pred, on_true, on_false):
    return _tm(lambda a, b: fnp.where(pred, a, b), on_true, on_false)


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


# ---- masks and parameter groups -----------------------------------------------------------------


class MaskedState(NamedTuple):
    """The state of :func:`masked`.

    Args:
      inner_state: the inner transformation's state (over the selected leaves).
    """

    inner_state: Any


def _labels_list(labels, tree) -> list:
    labels = labels(tree) if callable(labels) else labels
    out = tu.tree_leaves(labels)
    n = len(tu.tree_leaves(tree))
    if len(out) != n:
        raise ValueError(
            f"the mask/labels tree has {len(out)} leaves but the parameters have "
            f"{n}; build it with fg.tree.map(fn, params)"
        )
    return out


def _gather(tree, flags, value):
    return [x for x, f in zip(tu.tree_leaves(tree), flags) if f == value]


def _scatter(tree, flags, value, new):
    leaves, td = tu.tree_flatten(tree)
    it = iter(new)
    return tu.tree_unflatten(td, [next(it) if f == value else x for x, f in zip(leaves, flags)])


def masked(inner: GradientTransformation, mask) -> GradientTransformation:
    """Apply ``inner`` only where ``mask`` is True; other updates pass through unchanged.

    The inner transformation sees a flat list of the selected leaves.

    Args:
      inner: the transformation to apply to the selected leaves.
      mask: a pytree of bools with one leaf per parameter, or a function ``params ->`` such
        a pytree.

    Returns:
      A :class:`GradientTransformation` with a :class:`MaskedState`; it raises
      ``ValueError`` when the mask's leaf count differs from the parameters'.
    """

    def init(params):
        return MaskedState(inner.init(_gather(params, _mask_flags(mask, params), True)))

    def update(updates, state, params=None):
        flags = _mask_flags(mask, updates if params is None else params)
        sub_p = None if params is None else _gather(params, flags, True)
        new, s = inner.update(_gather(updates, flags, True), state.inner_state, sub_p)
        return _scatter(updates, flags, True, new), MaskedState(s)

    return GradientTransformation(init, update)


def _mask_flags(mask, tree):
    return [bool(m) for m in _labels_list(mask, tree)]


class MultiTransformState(NamedTuple):
    """The state of :func:`multi_transform`.

    Args:
      inner_states: a dict: label -> that group's transformation state.
    """

    inner_states: dict


def multi_transform(transforms: dict, param_labels) -> GradientTransformation:
    """A different transformation per parameter group: ``param_labels`` (a pytree of labels,
    or ``params -> pytree of labels``) picks the key of ``transforms`` for each leaf.

    Args:
      transforms: a dict ``label -> GradientTransformation`` (each sees a flat list of its
        leaves).
      param_labels: a pytree of labels with one leaf per parameter, or a function
        ``params ->`` such a pytree.

    Returns:
      A :class:`GradientTransformation` with a :class:`MultiTransformState`; ``init`` and
      ``update`` raise ``ValueError`` for a label without a transformation or a labels tree
      of the wrong size.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> opt = fg.optim.multi_transform({"train": fg.optim.sgd(0.1),
    ...                                 "frozen": fg.optim.set_to_zero()},
    ...                                {"w": "train", "emb": "frozen"})
    >>> p = {"w": fnp.ones(1), "emb": fnp.ones(1)}
    >>> u, _ = opt.update({"w": fnp.ones(1), "emb": fnp.ones(1)}, opt.init(p), p)
    >>> round(float(u["w"][0]), 6), float(u["emb"][0])
    (-0.1, 0.0)
    """

    def flags_of(tree):
        flags = _labels_list(param_labels, tree)
        unknown = sorted({str(f) for f in flags} - {str(k) for k in transforms})
        if unknown:
            raise ValueError(
                f"multi_transform: labels {unknown} have no transformation; "
                f"known labels are {sorted(transforms)}"
            )
        return flags

    def init(params):
        flags = flags_of(params)
        return MultiTransformState(
            {k: t.init(_gather(params, flags, k)) for k, t in transforms.items()}
        )

    def update(updates, state, params=None):
        flags = flags_of(updates if params is None else params)
        new_states = {}
        for k, t in transforms.items():
            sub_p = None if params is None else _gather(params, flags, k)
            new, new_states[k] = t.update(_gather(updates, flags, k), state.inner_states[k], sub_p)
            updates = _scatter(updates, flags, k, new)
        return updates, MultiTransformState(new_states)

    return GradientTransformation(init, update)


# ---- gradient accumulation and skipping ---------------------------------------------------------


class MultiStepsState(NamedTuple):
    """The state of :class:`MultiSteps`.

    Args:
      mini_step: calls since the last applied update (int32 scalar).
      gradient_step: the number of applied updates (int32 scalar).
      inner_opt_state: the inner optimizer's state.
      acc_grads: the running mean of the gradients since the last applied update.
    """

    mini_step: Any
    gradient_step: Any
    inner_opt_state: Any
    acc_grads: Any


class MultiSteps:
    """Accumulate (average) gradients over ``every_k_schedule`` calls, then apply ``opt``.

    On the other calls the updates are zeros and the inner state is unchanged. Use
    ``.init``/``.update`` directly or ``.gradient_transformation()``.

    Args:
      opt: the inner optimizer.
      every_k_schedule: the number of calls per applied update (a positive int; Optax also
        takes a schedule, funcgrad does not).

    Raises:
      ValueError: if ``every_k_schedule`` is not a positive int.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> opt = fg.optim.MultiSteps(fg.optim.sgd(1.0), every_k_schedule=2)
    >>> p = fnp.zeros(1)
    >>> s = opt.init(p)
    >>> u1, s = opt.update(fnp.array([1.0]), s, p)
    >>> u2, s = opt.update(fnp.array([3.0]), s, p)
    >>> float(u1[0]), float(u2[0])
    (0.0, -2.0)
    """

    def __init__(self, opt: GradientTransformation, every_k_schedule: int):
        if not isinstance(every_k_schedule, int) or every_k_schedule < 1:
            raise ValueError(
                f"MultiSteps: every_k_schedule must be a positive int, got {every_k_schedule!r}"
            )
        self.inner, self.k = opt, every_k_schedule

    def init(self, params) -> MultiStepsState:
        """The initial state.

        Args:
          params: the pytree of parameters.

        Returns:
          A :class:`MultiStepsState` (zero counters and accumulator, the inner state).
        """
        return MultiStepsState(
            _zeros_count(), _zeros_count(), self.inner.init(params), _zeros_like_tree(params)
        )

    def update(self, updates, state: MultiStepsState, params=None):
        """Accumulate ``updates``; every ``k``-th call apply the inner optimizer to the mean.

        Args:
          updates: the gradients, a pytree like the params.
          state: the current :class:`MultiStepsState`.
          params: the parameters (passed on to the inner optimizer).

        Returns:
          ``(updates, new_state)``: the inner optimizer's updates on the ``k``-th call, zeros
          of the same structure otherwise.
        """
        n = (state.mini_step + 1).astype(np.float32)
        acc = _tm(lambda a, g: a + (g - a) / n, state.acc_grads, updates)
        emit = state.mini_step == self.k - 1
        new_u, new_inner = self.inner.update(acc, state.inner_opt_state, params)
        out = _tm(lambda u: fnp.where(emit, u, fnp.zeros_like(u)), new_u)
        return out, MultiStepsState(
            fnp.where(emit, 0, state.mini_step + 1).astype(np.int32),
            state.gradient_step + emit.astype(np.int32),
            _select_tree(emit, new_inner, state.inner_opt_state),
            _tm(lambda a: fnp.where(emit, fnp.zeros_like(a), a), acc),
        )

    def has_updated(self, state: MultiStepsState):
        """Whether the last call applied the accumulated gradient.

        Args:
          state: the state returned by that call.

        Returns:
          A bool scalar array.
        """
        return fnp.logical_and(state.mini_step == 0, state.gradient_step > 0)

    def gradient_transformation(self) -> GradientTransformation:
        """This accumulator as a plain ``(init, update)`` pair.

        Returns:
          ``GradientTransformation(self.init, self.update)``.
        """
        return GradientTransformation(self.init, self.update)


class ApplyIfFiniteState(NamedTuple):
    """The state of :func:`apply_if_finite`.

    Args:
      notfinite_count: consecutive non-finite updates so far (int32 scalar).
      last_finite: whether the last update was finite (bool scalar).
      total_notfinite: all non-finite updates so far (int32 scalar).
      inner_state: the inner transformation's state.
    """

    notfinite_count: Any
    last_finite: Any
    total_notfinite: Any
    inner_state: Any


def apply_if_finite(
    inner: GradientTransformation, max_consecutive_errors: int
) -> GradientTransformation:
    """Skip updates whose gradients contain inf/NaN (zeros out, inner state kept), unless that
    happened more than ``max_consecutive_errors`` times in a row.

    Args:
      inner: the transformation applied to finite updates.
      max_consecutive_errors: after this many non-finite updates in a row, the next ones are
        applied anyway.

    Returns:
      A :class:`GradientTransformation` with an :class:`ApplyIfFiniteState`.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> opt = fg.optim.apply_if_finite(fg.optim.sgd(1.0), max_consecutive_errors=3)
    >>> s = opt.init(fnp.zeros(1))
    >>> u, s = opt.update(fnp.array([fnp.nan]), s)
    >>> float(u[0]), int(s.total_notfinite)
    (0.0, 1)
    """

    def init(params):
        return ApplyIfFiniteState(
            _zeros_count(), fnp.asarray(True), _zeros_count(), inner.init(params)
        )

    def update(updates, state, params=None):
        ok = fnp.asarray(True)
        for x in tu.tree_leaves(updates):
            ok = fnp.logical_and(ok, fnp.all(fnp.isfinite(x)))
        bad = fnp.where(ok, 0, state.notfinite_count + 1).astype(np.int32)
        apply = fnp.logical_or(ok, bad > max_consecutive_errors)
        new_u, new_inner = inner.update(updates, state.inner_state, params)
        out = _tm(lambda u: fnp.where(apply, u, fnp.zeros_like(u)), new_u)
        total = state.total_notfinite + fnp.logical_not(ok).astype(np.int32)
        return out, ApplyIfFiniteState(
            bad, ok, total, _select_tree(apply, new_inner, state.inner_state)
        )

    return GradientTransformation(init, update)


# ---- hyperparameters in the state ---------------------------------------------------------------


class InjectHyperparamsState(NamedTuple):
    """The state of an optimizer made by :func:`inject_hyperparams`.

    Args:
      count: the number of updates so far (int32 scalar).
      hyperparams: a dict: name -> current value (arrays).
      inner_state: the inner optimizer's state.
    """

    count: Any
    hyperparams: dict
    inner_state: Any


def _is_numeric(v) -> bool:
    return isinstance(v, (int, float, np.number, np.ndarray, Array, Tracer)) and not isinstance(
        v, bool
    )


def _as_hparam(v):
    v = fnp.asarray(v)
    return v.astype(np.float32) if np.dtype(v.dtype).kind == "f" else v


def inject_hyperparams(inner_factory: Callable, static_args=()) -> Callable:
    """Wrap an optimizer factory so its numeric hyperparameters live in the state.

    Numbers become arrays in ``state.hyperparams`` (change them with ``state._replace``, or
    trace them under ``jit`` without recompiling); schedules are evaluated at the step count
    each update and their current value stored. Bools, None and ``static_args`` stay static.

    Args:
      inner_factory: an optimizer factory such as :func:`sgd` or :func:`adam`.
      static_args: names of numeric arguments to keep static.

    Returns:
      A factory with ``inner_factory``'s signature and docstring, returning a
      :class:`GradientTransformation` with an :class:`InjectHyperparamsState`.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> opt = fg.optim.inject_hyperparams(fg.optim.sgd)(learning_rate=0.1)
    >>> s = opt.init(fnp.zeros(1))
    >>> s = s._replace(hyperparams={**s.hyperparams, "learning_rate": fnp.asarray(0.5)})
    >>> u, s = opt.update(fnp.ones(1), s)
    >>> float(u[0])
    -0.5
    """
    sig = inspect.signature(inner_factory)

    def factory(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        static = {
            k: v
            for k, v in arguments.items()
            if k in static_args or not (_is_numeric(v) or callable(v))
        }
        schedules = {k: v for k, v in arguments.items() if k not in static and callable(v)}
        numbers = {k: v for k, v in arguments.items() if k not in static and k not in schedules}

        def hparams(count, stored):
            hp = dict(stored)
            hp.update({k: _as_hparam(fn(count)) for k, fn in schedules.items()})
            return hp

        def init(params):
            count = _zeros_count()
            hp = hparams(count, {k: _as_hparam(v) for k, v in numbers.items()})
            return InjectHyperparamsState(count, hp, inner_factory(**static, **hp).init(params))

        def update(updates, state, params=None):
            hp = hparams(state.count, state.hyperparams)
            updates, inner = inner_factory(**static, **hp).update(
                updates, state.inner_state, params
            )
            return updates, InjectHyperparamsState(state.count + 1, hp, inner)

        return GradientTransformation(init, update)

    factory.__name__ = getattr(inner_factory, "__name__", "optimizer")
    factory.__doc__ = inner_factory.__doc__
    return factory
