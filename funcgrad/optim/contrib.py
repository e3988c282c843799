"""``funcgrad.optim.contrib``: some of Optax's contributed transformations
(``reduce_on_plateau``, ADOPT, Schedule-Free, AdEMAMix, Prodigy), with Optax's names,
states and numbers.

>>> import funcgrad as fg, funcgrad.numpy as fnp
>>> tx = fg.optim.contrib.reduce_on_plateau(factor=0.5, patience=1)
>>> s = tx.init(fnp.zeros(1))
>>> scales = []
>>> for v in (1.0, 1.0, 1.0):
...     u, s = tx.update(fnp.ones(1), s, value=v)
...     scales.append(float(s.scale))
>>> scales
[1.0, 0.5, 0.25]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp
from funcgrad.optim import tree_utils as otu
from funcgrad.optim._alias import sgd
from funcgrad.optim._base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    _cast_tree,
    _needs_params,
    _safe_inc,
    _tm,
    _zeros_count,
    _zeros_tree,
    chain,
    with_extra_args_support,
)
from funcgrad.optim._transforms import (
    ScaleByAdamState,
    add_decayed_weights,
    scale_by_learning_rate,
    scale_by_rms,
)
from funcgrad.optim.schedules import warmup_constant_schedule
from funcgrad.optim.tree_utils import tree_dtype

__all__ = [
    "ProdigyState",
    "ReduceLROnPlateauState",
    "ScaleByAdemamixState",
    "ScaleBySimplifiedAdEMAMixState",
    "ScheduleFreeState",
    "ademamix",
    "adopt",
    "prodigy",
    "scale_by_ademamix",
    "scale_by_simplified_ademamix",
    "simplified_ademamix",
    "reduce_on_plateau",
    "scale_by_adopt",
    "schedule_free",
    "schedule_free_adamw",
    "schedule_free_eval_params",
    "schedule_free_sgd",
]


class ReduceLROnPlateauState(NamedTuple):
    """The state of :func:`reduce_on_plateau`.

    Args:
      scale: the current factor of the updates.
      best_value: the best (averaged) value so far.
      plateau_count: evaluations without improvement.
      cooldown_count: evaluations left in the cooldown.
      count: values accumulated into ``avg_value`` since the last evaluation.
      avg_value: their mean.
    """

    scale: Any
    best_value: Any
    plateau_count: Any
    cooldown_count: Any
    count: Any
    avg_value: Any


def _check(factor, rtol, atol):
    if factor <= 0.0 or factor >= 1.0:
        raise ValueError(f"Factor must be in the range (0, 1), got factor = {factor}.")
    if rtol < 0.0 or atol < 0.0:
        raise ValueError(
            f"Both rtol and atol must be non-negative, got rtol = {rtol} and atol = {atol}."
        )
    if rtol == 0.0 and atol == 0.0:
        raise ValueError(
            f"At least one of rtol or atol must be positive, got rtol = {rtol} and atol = {atol}."
        )
    if rtol > 1.0:
        raise ValueError(f"rtol must be less than or equal to 1.0, got rtol = {rtol}.")


def _evaluate(s, factor, patience, rtol, atol, cooldown, min_scale):
    improved = s.avg_value < (1 - rtol) * s.best_value - atol
    best = fnp.where(improved, s.avg_value.astype(s.best_value.dtype), s.best_value)
    plateau = fnp.where(improved, 0, _safe_inc(s.plateau_count)).astype(np.int32)
    hit = plateau == patience
    cooling = s.cooldown_count > 0
    new_plateau = fnp.where(cooling, 0, fnp.where(hit, 0, plateau)).astype(np.int32)
    reduced = fnp.maximum(fnp.where(hit, s.scale * factor, s.scale), min_scale)
    new_scale = fnp.where(cooling, s.scale, reduced).astype(s.scale.dtype)
    new_cool = fnp.where(cooling, s.cooldown_count - 1, fnp.where(hit, cooldown, 0))
    zero = fnp.zeros((), s.avg_value.dtype)
    return ReduceLROnPlateauState(
        new_scale, best, new_plateau, new_cool.astype(np.int32), fnp.zeros((), np.int32), zero
    )


def reduce_on_plateau(
    factor: float = 0.1,
    patience=10,
    rtol: float = 1e-4,
    atol: float = 0.0,
    cooldown=0,
    accumulation_size=1,
    min_scale=0.0,
) -> GradientTransformationExtraArgs:
    """Scale the updates by a factor that shrinks by ``factor`` when the monitored value
    (``update(..., value=loss)``, averaged over ``accumulation_size`` calls) has not improved
    by ``rtol``/``atol`` for ``patience`` evaluations; then wait ``cooldown`` evaluations.

    Args:
      factor: the reduction factor, in (0, 1).
      patience: evaluations without improvement before a reduction.
      rtol: the relative improvement needed.
      atol: the absolute improvement needed.
      cooldown: evaluations after a reduction during which none happens.
      accumulation_size: the values averaged per evaluation.
      min_scale: the smallest scale.

    Returns:
      A :class:`GradientTransformationExtraArgs` with a :class:`ReduceLROnPlateauState`.

    Raises:
      ValueError: for a ``factor`` outside (0, 1) or invalid tolerances.
    """
    _check(factor, rtol, atol)

    def init(params):
        lo, hi = tree_dtype(params, "lowest"), tree_dtype(params, "highest")
        i0 = fnp.zeros((), np.int32)
        return ReduceLROnPlateauState(
            fnp.ones((), lo), fnp.full((), np.inf, hi), i0, i0, i0, fnp.zeros((), hi)
        )

    def update(updates, state, params=None, *, value, **extra_args):
        n = _safe_inc(state.count)
        avg = (state.count * state.avg_value + fnp.asarray(value).astype(state.avg_value.dtype)) / n
        s = state._replace(avg_value=avg.astype(state.avg_value.dtype), count=n)
        evaluated = _evaluate(s, factor, patience, rtol, atol, cooldown, min_scale)
        s = _tm(lambda e, k: fnp.where(n == accumulation_size, e, k), evaluated, s)
        return _tm(lambda g: s.scale * g, updates), s

    return GradientTransformationExtraArgs(init, update)


# ---- ADOPT --------------------------------------------------------------------------------------


def scale_by_adopt(
    b1=0.9,
    b2=0.9999,
    eps=1e-6,
    mu_dtype=None,
    *,
    nesterov: bool = False,
    use_clipping: bool = True,
    clip_value_fn: Callable = lambda x: x**0.25,
) -> GradientTransformation:
    """ADOPT's scaling (Taniguchi et al. 2024): normalise by the previous second moment, then
    take momentum (the first step only initialises ``nu``).

    Args:
      b1: the momentum decay.
      b2: the second-moment decay.
      eps: the lower bound of ``sqrt(nu)``.
      mu_dtype: the dtype of the momentum.
      nesterov: Nesterov momentum.
      use_clipping: clip the normalised gradient to ``clip_value_fn(step)``.
      clip_value_fn: the clipping bound as a function of the step.

    Returns:
      A :class:`GradientTransformation` with a ``ScaleByAdamState``.
    """

    def init(params):
        return ScaleByAdamState(_zeros_count(), _zeros_tree(params, mu_dtype), _zeros_tree(params))

    def normalised(g, nu, clip):
        x = g / fnp.maximum(fnp.sqrt(nu), eps)
        return fnp.clip(x, -clip, clip) if use_clipping else x

    def update(updates, state, params=None):
        b2_ = fnp.where(state.count > 0, b2, 0.0)
        b1_ = fnp.where(state.count > 0, b1, 1.0)
        nu = otu.tree_update_moment_per_elem_norm(updates, state.nu, b2_, 2)
        clip = clip_value_fn(state.count) if use_clipping else None
        mu_u = _tm(lambda g, n: normalised(g, n, clip), updates, state.nu)
        mu = otu.tree_update_moment(mu_u, state.mu, b1_, 1)
        out = otu.tree_update_moment(mu_u, mu, b1_, 1) if nesterov else mu
        return out, ScaleByAdamState(_safe_inc(state.count), _cast_tree(mu, mu_dtype), nu)

    return GradientTransformation(init, update)


def adopt(
    learning_rate,
    b1=0.9,
    b2=0.9999,
    eps=1e-6,
    mu_dtype=None,
    *,
    nesterov: bool = False,
    use_clipping: bool = True,
    clip_value_fn: Callable = lambda x: x**0.25,
) -> GradientTransformationExtraArgs:
    """ADOPT (Taniguchi et al. 2024): :func:`scale_by_adopt` then ``-learning_rate``.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the momentum decay.
      b2: the second-moment decay.
      eps: the lower bound of ``sqrt(nu)``.
      mu_dtype: the dtype of the momentum.
      nesterov: Nesterov momentum.
      use_clipping: clip the normalised gradient.
      clip_value_fn: the clipping bound as a function of the step.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        scale_by_adopt(
            b1,
            b2,
            eps,
            mu_dtype,
            nesterov=nesterov,
            use_clipping=use_clipping,
            clip_value_fn=clip_value_fn,
        ),
        scale_by_learning_rate(learning_rate),
    )


# ---- Schedule-Free ------------------------------------------------------------------------------


class ScheduleFreeState(NamedTuple):
    """The state of :func:`schedule_free`.

    Args:
      b1: the interpolation factor.
      weight_sum: the sum of the averaging weights so far.
      step_count: the step (from 1).
      max_lr: the largest learning rate so far.
      base_optimizer_state: the base optimizer's state.
      z: the base optimizer's iterate.
    """

    b1: Any
    weight_sum: Any
    step_count: Any
    max_lr: Any
    base_optimizer_state: Any
    z: Any


def schedule_free_eval_params(state, params):
    """The parameters to evaluate a Schedule-Free model at: ``(y - (1 - b1) z) / b1``.

    Args:
      state: a :class:`ScheduleFreeState` (or a state holding ``b1`` and ``z``).
      params: the training parameters ``y``.

    Returns:
      The averaged parameters ``x``.

    Raises:
      ValueError: if the state holds no ``b1``/``z``.
    """
    b1, z = getattr(state, "b1", None), getattr(state, "z", None)
    if b1 is None or z is None:
        raise ValueError("schedule_free_eval_params requires a ScheduleFreeState as input.")
    return _tm(lambda y, zi: (y - (1.0 - b1) * zi) / b1, params, z)


def _sf_weight(state, learning_rate, weight_lr_power):
    lr = learning_rate
    if callable(learning_rate):
        lr = fnp.asarray(learning_rate(state.step_count)).astype(state.max_lr.dtype)
    max_lr = fnp.maximum(state.max_lr, lr).astype(state.max_lr.dtype)
    weight = max_lr**weight_lr_power
    total = state.weight_sum + weight
    bad = fnp.logical_or(fnp.isnan(weight), fnp.isnan(total))
    ck = fnp.where(bad, np.nan, fnp.nan_to_num(weight / total, nan=0.0, posinf=np.inf))
    return max_lr, total, ck


def schedule_free(
    base_optimizer: GradientTransformation,
    learning_rate,
    b1=0.9,
    weight_lr_power=2.0,
    state_dtype=None,
) -> GradientTransformationExtraArgs:
    """Schedule-Free wrapper (Defazio et al. 2024): the base optimizer steps ``z``, the
    parameters are an interpolation of ``z`` and a weighted average of it (evaluate at
    :func:`schedule_free_eval_params`).

    Args:
      base_optimizer: the base optimizer (its learning rate included).
      learning_rate: its learning rate (a number or schedule), for the averaging weights.
      b1: the interpolation factor.
      weight_lr_power: the power of the learning rate in the weights.
      state_dtype: the dtype of ``z`` (default: the params').

    Returns:
      A :class:`GradientTransformationExtraArgs` with a :class:`ScheduleFreeState`.
    """
    base = with_extra_args_support(base_optimizer)

    def init(params):
        dt = tree_dtype(params, "lowest")
        z = params if state_dtype is None else otu.tree_cast(params, state_dtype)
        z = _tm(lambda t: fnp.array(t), z)
        return ScheduleFreeState(
            fnp.asarray(b1).astype(dt), fnp.zeros((), dt), fnp.ones((), np.int32),
            fnp.zeros((), dt), base.init(params), z,
        )  # fmt: skip

    def update(grads, state, params=None, **extra_args):
        max_lr, total, ck = _sf_weight(state, learning_rate, weight_lr_power)
        base_u, base_s = base.update(grads, state.base_optimizer_state, params, **extra_args)
        z = _tm(lambda p, u: (fnp.asarray(p) + u).astype(fnp.asarray(p).dtype), state.z, base_u)
        prev_x = _tm(lambda y, zi: (y - (1.0 - b1) * zi) / b1, params, state.z)
        x = _tm(lambda xi, zi: (1.0 - ck) * xi + ck * zi, prev_x, z)
        new_p = _tm(lambda xi, zi: b1 * xi + (1.0 - b1) * zi, x, z)
        updates = _tm(lambda n, p: n - p, new_p, params)
        step = _safe_inc(state.step_count)
        return updates, ScheduleFreeState(state.b1, total, step, max_lr, base_s, z)

    return GradientTransformationExtraArgs(init, update)


def schedule_free_sgd(
    learning_rate=1.0,
    warmup_steps=None,
    b1=0.9,
    weight_decay=None,
    weight_lr_power=2.0,
    state_dtype=None,
) -> GradientTransformationExtraArgs:
    """Schedule-Free SGD.

    Args:
      learning_rate: the peak learning rate.
      warmup_steps: a linear warm-up length, or None.
      b1: the interpolation factor.
      weight_decay: weight decay added before SGD, or None.
      weight_lr_power: the power of the learning rate in the weights.
      state_dtype: the dtype of ``z``.

    Returns:
      A :class:`GradientTransformationExtraArgs` (:func:`schedule_free` of SGD).
    """
    if warmup_steps is not None:
        learning_rate = warmup_constant_schedule(0, learning_rate, warmup_steps)
    opt = sgd(learning_rate)
    if weight_decay is not None:
        opt = chain(add_decayed_weights(weight_decay), opt)
    return schedule_free(opt, learning_rate, b1, weight_lr_power, state_dtype)


def schedule_free_adamw(
    learning_rate=0.0025,
    warmup_steps=None,
    b1=0.9,
    b2=0.999,
    eps=1e-8,
    weight_decay=0.0,
    weight_lr_power=2.0,
    state_dtype=None,
) -> GradientTransformationExtraArgs:
    """Schedule-Free AdamW.

    Args:
      learning_rate: the peak learning rate.
      warmup_steps: a linear warm-up length, or None.
      b1: the interpolation factor.
      b2: the second-moment decay.
      eps: added outside the square root.
      weight_decay: the decoupled weight decay.
      weight_lr_power: the power of the learning rate in the weights.
      state_dtype: the dtype of ``z``.

    Returns:
      A :class:`GradientTransformationExtraArgs` (:func:`schedule_free` of an RMS scaling).
    """
    if warmup_steps is not None:
        learning_rate = warmup_constant_schedule(0, learning_rate, warmup_steps)
    opt = chain(
        scale_by_rms(decay=b2, eps=eps, eps_in_sqrt=False, bias_correction=True),
        add_decayed_weights(weight_decay),
        scale_by_learning_rate(learning_rate),
    )
    return schedule_free(opt, learning_rate, b1, weight_lr_power, state_dtype)


# ---- AdEMAMix -----------------------------------------------------------------------------------


class ScaleByAdemamixState(NamedTuple):
    """The state of :func:`scale_by_ademamix`.

    Args:
      count: the number of updates so far (int32 scalar).
      count_m2: the count of the slow EMA (for ``b3``/``alpha`` schedules).
      m1: the fast EMA of the gradients.
      m2: the slow EMA of the gradients.
      nu: the EMA of the squared gradients.
    """

    count: Any
    count_m2: Any
    m1: Any
    m2: Any
    nu: Any


def _sched(v, count):
    return v(count) if callable(v) else v


def scale_by_ademamix(
    b1=0.9, b2=0.999, b3=0.9999, alpha=6.0, eps=1e-8, eps_root=0.0, mu_dtype=None
) -> GradientTransformation:
    """AdEMAMix's scaling (Pagliardini et al. 2024): ``(m1_hat + alpha m2) / (sqrt(nu_hat)
    + eps)`` with a fast (``b1``) and a slow (``b3``) gradient EMA.

    Args:
      b1: the fast EMA decay.
      b2: the second-moment decay.
      b3: the slow EMA decay (or a schedule).
      alpha: the weight of the slow EMA (or a schedule).
      eps: added outside the square root.
      eps_root: added inside the square root.
      mu_dtype: the dtype of the moments.

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByAdemamixState`.
    """

    def init(params):
        z = _zeros_tree(params, mu_dtype)
        return ScaleByAdemamixState(_zeros_count(), _zeros_count(), z, z, z)

    def update(updates, state, params=None):
        c_b3, c_alpha = _sched(b3, state.count_m2), _sched(alpha, state.count_m2)
        m1 = otu.tree_update_moment(updates, state.m1, b1, 1)
        m2 = otu.tree_update_moment(updates, state.m2, c_b3, 1)
        nu = otu.tree_update_moment_per_elem_norm(updates, state.nu, b2, 2)
        count, count_m2 = _safe_inc(state.count), _safe_inc(state.count_m2)
        m1_hat = otu.tree_bias_correction(m1, b1, count)
        nu_hat = otu.tree_bias_correction(nu, b2, count)
        out = _tm(
            lambda a, b, v: (a + c_alpha * b) / (fnp.sqrt(v + eps_root) + eps), m1_hat, m2, nu_hat
        )
        return out, ScaleByAdemamixState(count, count_m2, m1, m2, nu)

    return GradientTransformation(init, update)


def ademamix(
    learning_rate,
    b1=0.9,
    b2=0.999,
    b3=0.9999,
    alpha=5.0,
    eps=1e-8,
    eps_root=0.0,
    mu_dtype=None,
    weight_decay=0.0,
    mask=None,
) -> GradientTransformationExtraArgs:
    """AdEMAMix with decoupled weight decay.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the fast EMA decay.
      b2: the second-moment decay.
      b3: the slow EMA decay (or a schedule).
      alpha: the weight of the slow EMA (or a schedule).
      eps: added outside the square root.
      eps_root: added inside the square root.
      mu_dtype: the dtype of the moments.
      weight_decay: the decoupled weight decay.
      mask: the decayed leaves.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        scale_by_ademamix(b1, b2, b3, alpha, eps, eps_root, mu_dtype),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )


class ScaleBySimplifiedAdEMAMixState(NamedTuple):
    """The state of :func:`scale_by_simplified_ademamix`.

    Args:
      t: the number of updates so far (int32 scalar).
      m: the (undamped) momentum.
      n: the EMA of the squared gradients.
    """

    t: Any
    m: Any
    n: Any


def scale_by_simplified_ademamix(
    b1=0.99, b2=0.95, alpha=0.0, eps=1e-8, eps_root=0.0
) -> GradientTransformation:
    """Simplified AdEMAMix's scaling: ``(m + alpha g) / (sqrt(n_hat) + eps)`` with
    ``m <- g + b1 m``.

    Args:
      b1: the momentum decay.
      b2: the second-moment decay.
      alpha: the weight of the current gradient (or a schedule).
      eps: added outside the square root.
      eps_root: added inside the square root.

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleBySimplifiedAdEMAMixState`.
    """

    def init(params):
        return ScaleBySimplifiedAdEMAMixState(
            _zeros_count(), _zeros_tree(params), _zeros_tree(params)
        )

    def update(updates, state, params=None):
        c_alpha = _sched(alpha, state.t)
        m = otu.tree_add_scale(updates, b1, state.m)
        sq = otu.tree_mul(updates, updates)
        n = otu.tree_add_scale(sq, b2, otu.tree_sub(state.n, sq))
        t = _safe_inc(state.t)
        n_hat = otu.tree_bias_correction(n, b2, t)
        num = otu.tree_add_scale(m, c_alpha, updates)
        den = _tm(lambda v: fnp.sqrt(v + eps_root) + eps, n_hat)
        return otu.tree_div(num, den), ScaleBySimplifiedAdEMAMixState(t, m, n)

    return GradientTransformation(init, update)


def simplified_ademamix(
    learning_rate, b1=0.99, b2=0.95, alpha=0.0, eps=1e-8, eps_root=0.0, weight_decay=0.0, mask=None
) -> GradientTransformationExtraArgs:
    """Simplified AdEMAMix with decoupled weight decay.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the momentum decay.
      b2: the second-moment decay.
      alpha: the weight of the current gradient (or a schedule).
      eps: added outside the square root.
      eps_root: added inside the square root.
      weight_decay: the decoupled weight decay.
      mask: the decayed leaves.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        scale_by_simplified_ademamix(b1, b2, alpha, eps, eps_root),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )


# ---- Prodigy ------------------------------------------------------------------------------------


class ProdigyState(NamedTuple):
    """The state of :func:`prodigy`.

    Args:
      exp_avg: the EMA of the scaled gradients.
      exp_avg_sq: the EMA of their squares.
      grad_sum: the weighted sum of scaled gradients.
      params0: the initial parameters.
      estim_lr: the current estimate of the distance to the solution.
      numerator_weighted: the numerator of that estimate.
      count: the number of updates so far (int32 scalar).
    """

    exp_avg: Any
    exp_avg_sq: Any
    grad_sum: Any
    params0: Any
    estim_lr: Any
    numerator_weighted: Any
    count: Any


def _prodigy_init(estim_lr0):
    def init(params):
        dt = tree_dtype(params, "lowest")
        z = _zeros_tree(params)
        est = fnp.asarray(estim_lr0).astype(dt)
        return ProdigyState(z, z, z, params, est, fnp.zeros((), dt), _zeros_count())

    return init


def prodigy(
    learning_rate=1.0,
    betas=(0.9, 0.999),
    beta3=None,
    eps=1e-8,
    estim_lr0=1e-6,
    estim_lr_coef=1.0,
    weight_decay=0.0,
    safeguard_warmup: bool = False,
) -> GradientTransformationExtraArgs:
    """Prodigy (Mishchenko & Defazio 2023): Adam whose step size is an adaptive estimate of
    the distance to the solution. ``update`` needs the params.

    Args:
      learning_rate: a multiplier of the estimated step (a number or schedule).
      betas: ``(beta1, beta2)`` of the moments.
      beta3: the decay of the estimate's sums (default ``sqrt(beta2)``).
      eps: added to the denominator.
      estim_lr0: the initial estimate.
      estim_lr_coef: multiplies the estimate.
      weight_decay: the decoupled weight decay.
      safeguard_warmup: leave the learning rate out of the sums (safer with warm-up).

    Returns:
      A :class:`GradientTransformationExtraArgs` with a :class:`ProdigyState`.
    """
    beta1, beta2 = betas
    beta3 = beta2**0.5 if beta3 is None else beta3

    def update(updates, state, params=None, **extra_args):
        _needs_params(params, "prodigy")
        count = _safe_inc(state.count)
        sched = _sched(learning_rate, state.count)
        est = state.estim_lr
        bc = (1 - beta2 ** count.astype(np.float32)) ** 0.5 / (
            1 - beta1 ** count.astype(np.float32)
        )
        dlr = fnp.asarray(est * sched * bc).astype(est.dtype)
        dg = _tm(lambda g: est * g, updates)
        num_acc = otu.tree_vdot(updates, _tm(lambda p0, p: p0 - p, state.params0, params))
        ea = _tm(lambda e, d: beta1 * e + (1 - beta1) * d, state.exp_avg, dg)
        eas = _tm(lambda e, d: beta2 * e + (1 - beta2) * d * d, state.exp_avg_sq, dg)
        scale = est if safeguard_warmup else dlr
        gs = _tm(lambda s, d: beta3 * s + scale * d / estim_lr0, state.grad_sum, dg)
        numw = beta3 * state.numerator_weighted + est / estim_lr0 * dlr * num_acc
        den = otu.tree_sum(_tm(fnp.abs, gs))
        est = fnp.maximum(state.estim_lr, estim_lr_coef * numw / den)
        upd = _tm(
            lambda e, s, p: -weight_decay * dlr * p - dlr * e / (fnp.sqrt(s) + est * eps),
            ea, eas, params,
        )  # fmt: skip
        return upd, ProdigyState(ea, eas, gs, state.params0, est, numw, count)

    return GradientTransformationExtraArgs(_prodigy_init(estim_lr0), update)
