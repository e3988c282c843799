"""More of Optax's ``scale_by_*`` transformations: AMSGrad, AdaMax, AdaBelief, Yogi, RAdam,
AdaDelta, Adan, NovoGrad, Rprop, SM3, sign, optimistic gradient, Polyak step, parameter-block
scales and Adafactor's factored RMS. Same names, states and update formulas as Optax 0.2.x.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import tree_util as tu
from funcgrad.optim import tree_utils as otu
from funcgrad.optim._base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    _cast_tree,
    _full_tree,
    _needs_params,
    _safe_inc,
    _tm,
    _zeros_count,
    _zeros_tree,
    init_empty_state,
)
from funcgrad.optim._transforms import (
    ScaleByAdamState,
    _adam_div,
    _debias,
    _moment,
    _moment2,
    _nesterov_mu_hat,
    _safe_norm,
)

__all__ = [
    "FactoredState",
    "ScaleByAdaDeltaState",
    "ScaleByAdanState",
    "ScaleByAmsgradState",
    "ScaleByBeliefState",
    "ScaleByNovogradState",
    "ScaleByOptimisticGradientState",
    "ScaleByRpropState",
    "ScaleBySM3State",
    "normalize_by_update_norm",
    "scale_by_adadelta",
    "scale_by_adamax",
    "scale_by_adan",
    "scale_by_amsgrad",
    "scale_by_belief",
    "scale_by_factored_rms",
    "scale_by_novograd",
    "scale_by_optimistic_gradient",
    "scale_by_param_block_norm",
    "scale_by_param_block_rms",
    "scale_by_polyak",
    "scale_by_radam",
    "scale_by_rprop",
    "scale_by_sign",
    "scale_by_sm3",
    "scale_by_yogi",
]


class ScaleByAmsgradState(NamedTuple):
    """The state of :func:`scale_by_amsgrad`.

    Args:
      count: the number of updates so far (int32 scalar).
      mu: the first moment.
      nu: the second moment.
      nu_max: the running maximum of the (debiased) second moment.
    """

    count: Any
    mu: Any
    nu: Any
    nu_max: Any


def scale_by_amsgrad(
    b1=0.9,
    b2=0.999,
    eps=1e-8,
    eps_root=0.0,
    mu_dtype=None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
) -> GradientTransformation:
    """AMSGrad (Reddi et al. 2018): Adam dividing by the running maximum of ``v_hat``.

    Args:
      b1: the decay of the first moment.
      b2: the decay of the second moment.
      eps: added to the denominator outside the square root.
      eps_root: added inside the square root.
      mu_dtype: the dtype of the first moment.
      bias_correction_mu: debias the first moment.
      bias_correction_nu: debias the second moment before the maximum.

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByAmsgradState`.
    """

    def init(params):
        z = _zeros_tree(params)
        return ScaleByAmsgradState(_zeros_count(), _zeros_tree(params, mu_dtype), z, z)

    def update(updates, state, params=None):
        mu, nu = _moment(updates, state.mu, b1, 1), _moment2(updates, state.nu, b2, 2)
        count = _safe_inc(state.count)
        mu_hat = _debias(mu, b1, count) if bias_correction_mu else mu
        nu_eff = _debias(nu, b2, count) if bias_correction_nu else nu
        nu_max = _tm(fnp.maximum, state.nu_max, nu_eff)
        out = _adam_div(mu_hat, nu_max, eps, eps_root)
        return out, ScaleByAmsgradState(count, _cast_tree(mu, mu_dtype), nu, nu_max)

    return GradientTransformation(init, update)


def _adam_init(params):
    return ScaleByAdamState(_zeros_count(), _zeros_tree(params), _zeros_tree(params))


def scale_by_adamax(b1=0.9, b2=0.999, eps=1e-8) -> GradientTransformation:
    """AdaMax (Kingma & Ba 2015): ``m_hat / v`` with ``v <- max(|g| + eps, b2 v)``.

    Args:
      b1: the decay of the first moment.
      b2: the decay of the infinity norm.
      eps: added to ``|g|``.

    Returns:
      A :class:`GradientTransformation` with a ``ScaleByAdamState``.
    """

    def update(updates, state, params=None):
        count = _safe_inc(state.count)
        mu = _moment(updates, state.mu, b1, 1)
        nu = otu.tree_update_infinity_moment(updates, state.nu, b2, eps)
        out = _tm(lambda m, v: m / v, _debias(mu, b1, count), nu)
        return out, ScaleByAdamState(count, mu, nu)

    return GradientTransformation(_adam_init, update)


class ScaleByBeliefState(NamedTuple):
    """The state of :func:`scale_by_belief`.

    Args:
      count: the number of updates so far (int32 scalar).
      mu: the first moment.
      nu: the average squared prediction error ``(g - mu)^2``.
    """

    count: Any
    mu: Any
    nu: Any


def scale_by_belief(
    b1=0.9, b2=0.999, eps=1e-16, eps_root=1e-16, *, nesterov: bool = False
) -> GradientTransformation:
    """AdaBelief (Zhuang et al. 2020): Adam with ``v`` the average of ``(g - m)^2``.

    Args:
      b1: the decay of the first moment.
      b2: the decay of the belief term.
      eps: added to the denominator outside the square root.
      eps_root: added to ``v`` every step.
      nesterov: Nesterov-corrected first moment.

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByBeliefState`.
    """

    def init(params):
        return ScaleByBeliefState(_zeros_count(), _zeros_tree(params), _zeros_tree(params))

    def update(updates, state, params=None):
        mu = _moment(updates, state.mu, b1, 1)
        nu = _moment2(otu.tree_sub(updates, mu), state.nu, b2, 2)
        nu = _tm(lambda v: v + eps_root, nu)
        count = _safe_inc(state.count)
        mu_hat = _nesterov_mu_hat(mu, updates, b1, count) if nesterov else _debias(mu, b1, count)
        out = _adam_div(mu_hat, _debias(nu, b2, count), eps, 0.0)
        return out, ScaleByBeliefState(count, mu, nu)

    return GradientTransformation(init, update)


def scale_by_yogi(
    b1=0.9, b2=0.999, eps=1e-3, eps_root=0.0, initial_accumulator_value=1e-6
) -> GradientTransformation:
    """Yogi (Zaheer et al. 2018): ``v <- v - (1 - b2) sign(v - g^2) g^2``, then Adam's ratio.

    Args:
      b1: the decay of the first moment.
      b2: the rate of the second-moment update.
      eps: added to the denominator outside the square root.
      eps_root: added inside the square root.
      initial_accumulator_value: the initial value of both moments.

    Returns:
      A :class:`GradientTransformation` with a ``ScaleByAdamState``.
    """

    def init(params):
        v = initial_accumulator_value
        return ScaleByAdamState(_zeros_count(), _full_tree(params, v), _full_tree(params, v))

    def update(updates, state, params=None):
        mu = _moment(updates, state.mu, b1, 1)
        nu = _tm(lambda g, v: v - (1 - b2) * fnp.sign(v - g * g) * (g * g), updates, state.nu)
        count = _safe_inc(state.count)
        out = _adam_div(_debias(mu, b1, count), _debias(nu, b2, count), eps, eps_root)
        return out, ScaleByAdamState(count, mu, nu)

    return GradientTransformation(init, update)


def scale_by_radam(
    b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, threshold=5.0, *, nesterov: bool = False
) -> GradientTransformation:
    """Rectified Adam (Liu et al. 2020): Adam times the rectification ``r`` once the
    variance estimate is tractable (``rho >= threshold``), plain momentum before.

    Args:
      b1: the decay of the first moment.
      b2: the decay of the second moment.
      eps: added to the denominator outside the square root.
      eps_root: added inside the square root.
      threshold: the ``rho`` from which the adaptive step is used.
      nesterov: Nesterov-corrected first moment.

    Returns:
      A :class:`GradientTransformation` with a ``ScaleByAdamState``.
    """
    ro_inf = 2.0 / (1.0 - b2) - 1.0

    def update(updates, state, params=None):
        mu, nu = _moment(updates, state.mu, b1, 1), _moment2(updates, state.nu, b2, 2)
        count = _safe_inc(state.count)
        c = count.astype(np.float32)
        b2t = b2**c
        ro = ro_inf - 2 * c * b2t / (1 - b2t)
        mu_hat = _nesterov_mu_hat(mu, updates, b1, count) if nesterov else _debias(mu, b1, count)
        nu_hat = _debias(nu, b2, count)
        r = fnp.sqrt((ro - 4.0) * (ro - 2.0) * ro_inf / ((ro_inf - 4.0) * (ro_inf - 2.0) * ro))
        adaptive = _tm(
            lambda m, v: r.astype(m.dtype) * m / (fnp.sqrt(v + eps_root) + eps), mu_hat, nu_hat
        )
        out = _tm(lambda a, m: fnp.where(ro >= threshold, a, m), adaptive, mu_hat)
        return out, ScaleByAdamState(count, mu, nu)

    return GradientTransformation(_adam_init, update)


class ScaleByAdaDeltaState(NamedTuple):
    """The state of :func:`scale_by_adadelta`.

    Args:
      e_g: the average of squared gradients.
      e_x: the average of squared updates.
    """

    e_g: Any
    e_x: Any


def scale_by_adadelta(rho=0.9, eps=1e-6) -> GradientTransformation:
    """AdaDelta (Zeiler 2012): ``sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) * g``.

    Args:
      rho: the decay of both averages.
      eps: added inside both square roots.

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByAdaDeltaState`.
    """

    def init(params):
        return ScaleByAdaDeltaState(_zeros_tree(params), _zeros_tree(params))

    def update(updates, state, params=None):
        e_g = _moment(updates, state.e_g, rho, 2)
        out = _tm(
            lambda g, eg, ex: fnp.sqrt(ex + eps) / fnp.sqrt(eg + eps) * g, updates, e_g, state.e_x
        )
        e_x = _moment(out, state.e_x, rho, 2)
        return out, ScaleByAdaDeltaState(e_g, e_x)

    return GradientTransformation(init, update)


class ScaleByAdanState(NamedTuple):
    """The state of :func:`scale_by_adan`.

    Args:
      m: the average gradient.
      v: the average gradient difference.
      n: the average of squared Nesterov-corrected gradients.
      g: the previous gradient.
      t: the number of updates so far (int32 scalar).
    """

    m: Any
    v: Any
    n: Any
    g: Any
    t: Any


def scale_by_adan(b1=0.98, b2=0.92, b3=0.99, eps=1e-8, eps_root=0.0) -> GradientTransformation:
    """Adan (Xie et al. 2022): adaptive Nesterov momentum from gradient differences.

    Args:
      b1: the decay of the gradient average.
      b2: the decay of the difference average.
      b3: the decay of the squared average.
      eps: added to the denominator outside the square root.
      eps_root: added inside the square root.

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByAdanState`.
    """

    def init(params):
        z = _zeros_tree(params)
        return ScaleByAdanState(z, z, z, z, _zeros_count())

    def update(updates, state, params=None):
        g = updates
        diff = otu.tree_where(state.t == 0, _zeros_tree(g), otu.tree_sub(g, state.g))
        m, v = _moment(g, state.m, b1, 1), _moment(diff, state.v, b2, 1)
        n = _moment2(otu.tree_add_scale(g, 1 - b2, diff), state.n, b3, 2)
        t = _safe_inc(state.t)
        u = otu.tree_add_scale(_debias(m, b1, t), 1 - b2, _debias(v, b2, t))
        denom = _tm(lambda nh: fnp.sqrt(nh + eps_root) + eps, _debias(n, b3, t))
        return otu.tree_div(u, denom), ScaleByAdanState(m, v, n, g, t)

    return GradientTransformation(init, update)


class ScaleByNovogradState(NamedTuple):
    """The state of :func:`scale_by_novograd`.

    Args:
      count: the number of updates so far (int32 scalar).
      mu: the momentum.
      nu: the per-leaf average of the squared gradient norm (scalars).
    """

    count: Any
    mu: Any
    nu: Any


def scale_by_novograd(
    b1=0.9, b2=0.25, eps=1e-8, eps_root=0.0, weight_decay=0.0, mu_dtype=None
) -> GradientTransformation:
    """NovoGrad (Ginsburg et al. 2019): layer-wise second moments of ``||g||^2``.

    Args:
      b1: the momentum decay.
      b2: the decay of the squared norms.
      eps: added to the denominator outside the square root.
      eps_root: added inside the square root.
      weight_decay: added as ``weight_decay * p`` to the normalised gradient.
      mu_dtype: the dtype of the momentum.

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByNovogradState`.
    """

    def init(params):
        nu = _tm(lambda p: fnp.zeros((), fnp.asarray(p).dtype), params)
        return ScaleByNovogradState(_zeros_count(), _zeros_tree(params, mu_dtype), nu)

    def update(updates, state, params=None):
        _needs_params(params, "scale_by_novograd")
        count = _safe_inc(state.count)
        first = count == 1
        sq = _tm(lambda g: fnp.sum(fnp.square(g)), updates)
        nu = _tm(
            lambda s, n: fnp.where(first, s.astype(n.dtype), b2 * n + (1 - b2) * s), sq, state.nu
        )
        add = _tm(
            lambda g, p, n: g / (fnp.sqrt(n + eps_root) + eps) + weight_decay * p,
            updates,
            params,
            nu,
        )
        mu = _tm(lambda a, m: fnp.where(first, a, b1 * m + a), add, state.mu)
        mu = _cast_tree(mu, mu_dtype)
        return mu, ScaleByNovogradState(count, mu, nu)

    return GradientTransformation(init, update)


class ScaleByRpropState(NamedTuple):
    """The state of :func:`scale_by_rprop`.

    Args:
      step_sizes: the per-element step sizes.
      prev_updates: the previous updates.
    """

    step_sizes: Any
    prev_updates: Any


def scale_by_rprop(
    learning_rate, eta_minus=0.5, eta_plus=1.2, min_step_size=1e-6, max_step_size=50.0
) -> GradientTransformation:
    """Rprop (Riedmiller & Braun 1993): per-element step sizes grown by ``eta_plus`` while
    the gradient keeps its sign and shrunk by ``eta_minus`` when it flips (Optax's variant).

    Args:
      learning_rate: the initial step size.
      eta_minus: the shrink factor.
      eta_plus: the growth factor.
      min_step_size: the smallest step size.
      max_step_size: the largest step size.

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByRpropState`.
    """

    def init(params):
        return ScaleByRpropState(_full_tree(params, learning_rate), _zeros_tree(params))

    def step(s, size):
        grown = fnp.clip(size * fnp.where(s > 0, eta_plus, eta_minus), min_step_size, max_step_size)
        return fnp.where(s == 0, size, grown)

    def update(updates, state, params=None):
        sign = _tm(lambda g, pg: g * pg, updates, state.prev_updates)
        sizes = _tm(step, sign, state.step_sizes)
        prev = _tm(
            lambda s, g, size: fnp.where(s < 0, fnp.zeros_like(g), size * fnp.sign(g)),
            sign,
            updates,
            sizes,
        )
        # as Optax 0.2.x: the update emitted is the previous step's (zero where the sign flips)
        out = _tm(lambda s, pg: fnp.where(s < 0, fnp.zeros_like(pg), pg), sign, state.prev_updates)
        return out, ScaleByRpropState(sizes, prev)

    return GradientTransformation(init, update)


def scale_by_sign() -> GradientTransformation:
    """Replace every update by its sign.

    Returns:
      A :class:`GradientTransformation` (state ``EmptyState``).
    """
    return GradientTransformation(init_empty_state, lambda u, s, p=None: (_tm(fnp.sign, u), s))


class ScaleBySM3State(NamedTuple):
    """The state of :func:`scale_by_sm3`.

    Args:
      mu: per leaf, a list of one accumulator per axis.
      nu: the momentum.
    """

    mu: Any
    nu: Any


def _sm3_accum(g, v, b2):
    c0 = 1.0 - b2 if b2 != 1.0 else 1.0
    if g.ndim < 2:
        return c0 * g**2 + b2 * v[0]
    low = v[0]
    for x in v[1:]:
        low = fnp.minimum(low, x)
    return c0 * g**2 + b2 * low


def _sm3_mu(a, i):
    if a.ndim < 2:
        return a
    return fnp.max(a, axis=tuple(j for j in range(a.ndim) if j != i))


def scale_by_sm3(b1=0.9, b2=1.0, eps=1e-8) -> GradientTransformation:
    """SM3 (Anil et al. 2019): memory-efficient adaptive scaling with one accumulator per
    axis, then momentum.

    Args:
      b1: the momentum decay.
      b2: the accumulator decay (1: pure sum).
      eps: added inside the square root.

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleBySM3State`.
    """

    def zeros_for_dims(p):
        p = fnp.asarray(p)
        return [fnp.zeros((p.shape[i],), p.dtype) for i in range(p.ndim)]

    def init(params):
        mu = _tm(zeros_for_dims, params)
        return ScaleBySM3State(mu, _zeros_tree(params))

    def expand(g, v):
        return [
            fnp.reshape(v[i], [1] * i + [g.shape[i]] + [1] * (g.ndim - i - 1))
            for i in range(g.ndim)
        ]

    def update(updates, state, params=None):
        mu = _tm(expand, updates, state.mu)
        accum = _tm(lambda g, v: _sm3_accum(g, v, b2), updates, mu)
        inv = _tm(lambda t: fnp.where(t > 0, 1.0 / fnp.sqrt(t + eps), 0.0), accum)
        nu = _moment(_tm(lambda g, a: g * a, updates, inv), state.nu, b1, 1)
        new_mu = _tm(lambda a: [_sm3_mu(a, i) for i in range(a.ndim)], accum)
        return nu, ScaleBySM3State(new_mu, nu)

    return GradientTransformation(init, update)


class ScaleByOptimisticGradientState(NamedTuple):
    """The state of :func:`scale_by_optimistic_gradient`.

    Args:
      is_initial_step: True before the first update.
      previous_gradient: the previous gradient.
    """

    is_initial_step: Any
    previous_gradient: Any


def scale_by_optimistic_gradient(alpha=1.0, beta=1.0) -> GradientTransformation:
    """Optimistic gradient: ``(alpha + beta) g_t - beta g_{t-1}`` (``g_{-1} = g_0``).

    Args:
      alpha: the weight of the current gradient.
      beta: the weight of the correction.

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByOptimisticGradientState`.
    """

    def init(params):
        return ScaleByOptimisticGradientState(fnp.asarray(True), _zeros_tree(params))

    def update(updates, state, params=None):
        def f(g, prev):
            prev = fnp.where(state.is_initial_step, g, prev)
            return (alpha + beta) * g - beta * prev

        out = _tm(f, updates, state.previous_gradient)
        return out, ScaleByOptimisticGradientState(fnp.asarray(False), updates)

    return GradientTransformation(init, update)


def scale_by_polyak(
    f_min=0.0, max_learning_rate=1.0, eps=0.0, variant: str = "sps"
) -> GradientTransformationExtraArgs:
    """The Polyak step size ``min((f(x) - f_min) / (||g||^2 + eps), max_learning_rate)``
    times ``g``; ``update`` needs the keyword ``value=f(x)``.

    Args:
      f_min: a lower bound of the objective.
      max_learning_rate: the largest step size.
      eps: added to the squared gradient norm.
      variant: ``"sps"``, or ``"sps+"`` (the gap clipped at 0).

    Returns:
      A :class:`GradientTransformationExtraArgs` (state ``EmptyState``).

    Raises:
      ValueError: at ``update`` time for an unknown ``variant``.
    """

    def update(updates, state, params=None, *, value, **extra_args):
        sq = otu.tree_norm(updates, squared=True)
        gap = fnp.asarray(value - f_min).astype(sq.dtype)
        if variant == "sps+":
            gap = fnp.maximum(gap, 0.0)
        elif variant != "sps":
            raise ValueError(f"Invalid argument value for Polyak SGD: variant={variant!r}")
        tiny = float(np.finfo(np.float32).eps)
        step = fnp.where(sq + eps <= tiny, 0.0, fnp.minimum(gap / (sq + eps), max_learning_rate))
        return otu.tree_scale(step, updates), state

    return GradientTransformationExtraArgs(init_empty_state, update)


def scale_by_param_block_norm(min_scale=1e-3) -> GradientTransformation:
    """Scale each leaf's update by the norm of its parameter (at least ``min_scale``).

    Args:
      min_scale: the smallest scale.

    Returns:
      A :class:`GradientTransformation` (state ``EmptyState``).
    """

    def update(updates, state, params=None):
        _needs_params(params, "scale_by_param_block_norm")
        return _tm(lambda u, p: u * _safe_norm(p, min_scale), updates, params), state

    return GradientTransformation(init_empty_state, update)


def _safe_rms(x, min_rms):
    rms = fnp.sqrt(fnp.mean(fnp.square(x)))
    small = rms <= min_rms
    safe = fnp.sqrt(fnp.mean(fnp.square(fnp.where(small, fnp.ones_like(x), x))))
    return fnp.where(small, min_rms, safe)


def scale_by_param_block_rms(min_scale=1e-3) -> GradientTransformation:
    """Scale each leaf's update by the root mean square of its parameter (at least
    ``min_scale``).

    Args:
      min_scale: the smallest scale.

    Returns:
      A :class:`GradientTransformation` (state ``EmptyState``).
    """

    def update(updates, state, params=None):
        _needs_params(params, "scale_by_param_block_rms")
        return _tm(lambda u, p: u * _safe_rms(p, min_scale), updates, params), state

    return GradientTransformation(init_empty_state, update)


def normalize_by_update_norm(scale_factor=1.0, eps=1e-6) -> GradientTransformation:
    """Divide the updates by ``(||u|| + eps) / scale_factor`` (their global norm).

    Args:
      scale_factor: the norm of the result.
      eps: added to the norm.

    Returns:
      A :class:`GradientTransformation` (state ``EmptyState``).
    """

    def update(updates, state, params=None):
        n = (otu.tree_norm(updates) + eps) / scale_factor
        return _tm(lambda g: g / n, updates), state

    return GradientTransformation(init_empty_state, update)


# ---- Adafactor's factored second moments --------------------------------------------------------


class FactoredState(NamedTuple):
    """The state of :func:`scale_by_factored_rms`.

    Args:
      count: the number of updates so far (int32 scalar).
      v_row: per leaf, the row statistics (``[1]`` for unfactored leaves).
      v_col: per leaf, the column statistics (``[1]`` for unfactored leaves).
      v: per leaf, the full second moment (``[1]`` for factored leaves).
    """

    count: Any
    v_row: Any
    v_col: Any
    v: Any


def _decay_rate_pow(i, exponent=0.8):
    t = fnp.asarray(i + 1).astype(np.float32)
    return 1.0 - t ** (-exponent)


def _factored_dims(shape, factored, min_dim):
    if not factored or len(shape) < 2:
        return None
    order = np.argsort(shape)
    if shape[order[-2]] < min_dim:
        return None
    return int(order[-2]), int(order[-1])


def _drop_axis(shape, axis):
    return tuple(s for i, s in enumerate(shape) if i != axis)


def _factored_init(p, dims):
    p = fnp.asarray(p)
    one = fnp.zeros((1,), p.dtype)
    if dims is None:
        return one, one, fnp.zeros_like(p)
    d1, d0 = dims
    return (
        fnp.zeros(_drop_axis(p.shape, d0), p.dtype),
        fnp.zeros(_drop_axis(p.shape, d1), p.dtype),
        one,
    )


def _factored_step(g, vr, vc, v, dims, rate, epsilon):
    dtype = g.dtype
    sq = fnp.square(g) + epsilon
    one = fnp.zeros((1,), dtype)
    if dims is None:
        nv = (rate * v + (1.0 - rate) * sq).astype(dtype)
        return g * nv ** (-0.5), one, one, nv
    d1, d0 = dims
    nr = (rate * vr + (1.0 - rate) * fnp.mean(sq, axis=d0)).astype(dtype)
    nc = (rate * vc + (1.0 - rate) * fnp.mean(sq, axis=d1)).astype(dtype)
    reduced_d1 = d1 - 1 if d1 > d0 else d1
    row_factor = (nr / fnp.mean(nr, axis=reduced_d1, keepdims=True)) ** (-0.5)
    col_factor = nc ** (-0.5)
    u = g * fnp.expand_dims(row_factor, d0) * fnp.expand_dims(col_factor, d1)
    return u, nr, nc, one


def scale_by_factored_rms(
    factored: bool = True,
    decay_rate=0.8,
    step_offset=0,
    min_dim_size_to_factor: int = 128,
    epsilon=1e-30,
    decay_rate_fn: Callable = _decay_rate_pow,
) -> GradientTransformation:
    """Adafactor's scaling (Shazeer & Stern 2018): ``g / sqrt(v)`` with ``v`` factored into
    row and column statistics for leaves whose two largest dimensions are big enough.

    Args:
      factored: factor the second moment when possible.
      decay_rate: the exponent of the step-dependent decay ``1 - (t + 1) ** -decay_rate``.
      step_offset: subtracted from the step before the decay.
      min_dim_size_to_factor: the smallest second-largest dimension that is factored.
      epsilon: added to the squared gradient.
      decay_rate_fn: ``(step, decay_rate) -> decay``.

    Returns:
      A :class:`GradientTransformation` with a :class:`FactoredState`.
    """

    def dims(p):
        return _factored_dims(tuple(fnp.shape(p)), factored, min_dim_size_to_factor)

    def init(params):
        out = _tm(lambda p: _factored_init(p, dims(p)), params)
        return _to_factored(_zeros_count(), params, out)

    def update(updates, state, params=None):
        _needs_params(params, "scale_by_factored_rms")
        rate = decay_rate_fn(state.count - step_offset, decay_rate)
        out = _tm(
            lambda g, vr, vc, v, p: _factored_step(g, vr, vc, v, dims(p), rate, epsilon),
            updates,
            state.v_row,
            state.v_col,
            state.v,
            params,
        )
        st = _to_factored(_safe_inc(state.count), params, out)
        return _pick(params, out, 0), st

    return GradientTransformation(init, update)


def _pick(params, out, i):
    td = tu.tree_structure(params)
    return tu.tree_unflatten(td, [o[i] for o in td.flatten_up_to(out)])


def _to_factored(count, params, out):
    return FactoredState(
        count, _pick(params, out, -3), _pick(params, out, -2), _pick(params, out, -1)
    )
