"""Optax's smaller transformations: block-RMS and adaptive clipping, constraints (zero NaNs,
non-negative parameters, centralisation), accumulation (``ema``, ``apply_every``), gradient
noise and the ``lookahead`` wrapper. Same names, states and formulas as Optax 0.2.x.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import random as frandom
from funcgrad import tree_util as tu
from funcgrad._src.api import stop_gradient
from funcgrad.optim import tree_utils as otu
from funcgrad.optim._base import (
    EmptyState,
    GradientTransformation,
    GradientTransformationExtraArgs,
    _cast_tree,
    _needs_params,
    _safe_inc,
    _tm,
    _zeros_count,
    _zeros_tree,
    chain,
    init_empty_state,
)
from funcgrad.optim._scalers import _safe_rms, scale_by_optimistic_gradient
from funcgrad.optim._transforms import scale_by_adam, scale_by_learning_rate

__all__ = [
    "AddNoiseState",
    "ApplyEvery",
    "EmaState",
    "LookaheadParams",
    "LookaheadState",
    "NonNegativeParamsState",
    "ZeroNansState",
    "adaptive_grad_clip",
    "add_noise",
    "apply_every",
    "centralize",
    "clip_by_block_rms",
    "ema",
    "keep_params_nonnegative",
    "lookahead",
    "optimistic_adam",
    "per_example_global_norm_clip",
    "per_example_layer_norm_clip",
    "safe_increment",
    "safe_int32_increment",
    "safe_norm",
    "safe_root_mean_squares",
    "scale_gradient",
    "unitwise_norm",
    "zero_nans",
]


def clip_by_block_rms(threshold) -> GradientTransformation:
    """Divide each leaf's update by ``max(1, rms(u) / threshold)``.

    Args:
      threshold: the largest root mean square let through per leaf.

    Returns:
      A :class:`GradientTransformation` (state ``EmptyState``).
    """

    def one(u):
        return u / fnp.maximum(1.0, fnp.sqrt(fnp.mean(fnp.square(u))) / threshold)

    return GradientTransformation(init_empty_state, lambda u, s, p=None: (_tm(one, u), s))


_UNIT_AXES = {2: (0,), 3: (0,), 4: (0, 1, 2), 5: (0, 1, 2, 3)}


def unitwise_norm(x, axis=None):
    """The norm of each output unit, broadcast to ``x``'s shape (NFNets' convention: axis 0
    for 2D/3D, all but the last for 4D/5D leaves, the whole leaf for vectors).

    Args:
      x: an array.
      axis: the axes summed over instead of the default.

    Returns:
      An array of ``x``'s shape.

    Raises:
      ValueError: for a leaf of more than 5 dimensions without ``axis``.
    """
    x = fnp.asarray(x)
    if axis is not None:
        sq = fnp.sum(fnp.square(x), axis=axis, keepdims=True)
    elif fnp.squeeze(x).ndim <= 1:
        sq = fnp.sum(fnp.square(x), keepdims=True)
    elif x.ndim in _UNIT_AXES:
        sq = fnp.sum(fnp.square(x), axis=_UNIT_AXES[x.ndim], keepdims=True)
    else:
        raise ValueError(
            f"Expected parameter with shape in {(1, 2, 3, 4, 5)}, got {x.shape}. Use axis "
            "parameter to specify reduction axes for other shapes."
        )
    return fnp.broadcast_to(fnp.sqrt(sq), x.shape)


def adaptive_grad_clip(clipping, eps=1e-3, axis=None) -> GradientTransformation:
    """Adaptive gradient clipping (Brock et al. 2021): clip each unit's gradient to
    ``clipping * max(||p_unit||, eps)``.

    Args:
      clipping: the largest gradient-to-parameter norm ratio.
      eps: the smallest parameter norm.
      axis: the axes of a unit's norm (default: :func:`unitwise_norm`'s).

    Returns:
      A :class:`GradientTransformation` (state ``EmptyState``).
    """

    def one(g, p):
        gn, pn = unitwise_norm(g, axis), unitwise_norm(p, axis)
        max_norm = clipping * fnp.maximum(pn, eps)
        clipped = g * (max_norm / fnp.maximum(gn, 1e-6))
        return fnp.where(gn < max_norm, g, clipped)

    def update(updates, state, params=None):
        _needs_params(params, "adaptive_grad_clip")
        return _tm(one, updates, params), state

    return GradientTransformation(init_empty_state, update)


def per_example_global_norm_clip(grads, l2_norm_clip):
    """Clip each example's gradient (axis 0 of every leaf) to global norm ``l2_norm_clip``
    and sum over the examples (DP-SGD's clipping).

    Args:
      grads: a pytree whose leaves all have the batch axis first.
      l2_norm_clip: the largest per-example global norm.

    Returns:
      ``(summed clipped gradients, number of clipped examples)``.

    Raises:
      ValueError: if the leaves do not share a leading batch axis.
    """
    leaves = [fnp.asarray(g) for g in tu.tree_leaves(grads)]
    b = leaves[0].shape[0] if leaves and leaves[0].ndim else None
    if b is None or any(g.ndim < 1 or g.shape[0] != b for g in leaves):
        raise ValueError(
            "Unlike other transforms, `per_example_global_norm_clip` expects `grads` to have "
            "a batch dimension in the 0th axis."
        )
    sq = sum(fnp.sum(fnp.square(g).reshape((b, -1)), axis=1) for g in leaves)
    mult = fnp.nan_to_num(fnp.minimum(l2_norm_clip / fnp.sqrt(sq), 1.0), nan=1.0)
    summed = _tm(lambda g: fnp.tensordot(mult, g, axes=1), grads)
    return summed, fnp.sum(mult < 1.0)


def per_example_layer_norm_clip(grads, global_l2_norm_clip, uniform: bool = True):
    """Per-example clipping leaf by leaf: each leaf gets a share of ``global_l2_norm_clip``
    (equal shares with ``uniform``, else in proportion to its size) and is clipped and summed
    as :func:`per_example_global_norm_clip` does.

    Args:
      grads: a pytree whose leaves all have the batch axis first.
      global_l2_norm_clip: the overall norm bound.
      uniform: equal shares (True) or shares by leaf size.

    Returns:
      ``(summed clipped gradients, per-leaf numbers of clipped examples)``, two pytrees
      like ``grads``.
    """
    leaves, td = tu.tree_flatten(grads)
    if uniform:
        clips = [global_l2_norm_clip * (1.0 / len(leaves)) ** 0.5 for _ in leaves]
    else:
        total = sum(int(np.prod(fnp.shape(g)[1:])) for g in leaves)
        clips = [
            global_l2_norm_clip * (int(np.prod(fnp.shape(g)[1:])) / total) ** 0.5 for g in leaves
        ]
    outs = [per_example_global_norm_clip(g, c) for g, c in zip(leaves, clips)]
    return tu.tree_unflatten(td, [o[0] for o in outs]), tu.tree_unflatten(td, [o[1] for o in outs])


def optimistic_adam(
    learning_rate,
    optimism=None,
    b1=0.9,
    b2=0.999,
    eps=1e-8,
    eps_root=0.0,
    mu_dtype=None,
    *,
    nesterov: bool = True,
) -> GradientTransformationExtraArgs:
    """Optax's deprecated optimistic Adam (warns; use :func:`optimistic_adam_v2`).

    Args:
      learning_rate: a number (no schedules).
      optimism: the optimism strength (default: ``learning_rate``).
      b1: the decay of the first moment.
      b2: the decay of the second moment.
      eps: added to the denominator outside the square root.
      eps_root: added inside the square root.
      mu_dtype: the dtype of the first moment.
      nesterov: Nesterov-corrected first moment.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).

    Raises:
      ValueError: for a learning-rate schedule.
    """
    warnings.warn(
        "`optimistic_adam` is deprecated, please use `optimistic_adam_v2` instead.",
        DeprecationWarning,
        stacklevel=2,
    )
    if callable(learning_rate):
        raise ValueError(
            "This version of `optimistic_adam` does not support learning rate schedules but "
            "`optimistic_adam_v2` does."
        )
    optimism = learning_rate if optimism is None else optimism
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        scale_by_optimistic_gradient(alpha=learning_rate, beta=optimism),
        scale_by_learning_rate(1.0),
    )


# ---- constraints --------------------------------------------------------------------------------

NonNegativeParamsState = EmptyState


def keep_params_nonnegative() -> GradientTransformation:
    """Replace an update that would make a parameter negative by ``-p`` (the parameter
    becomes 0).

    Returns:
      A :class:`GradientTransformation` (state ``EmptyState``).
    """

    def update(updates, state, params=None):
        _needs_params(params, "keep_params_nonnegative")
        return _tm(lambda u, p: fnp.where(p + u < 0.0, -p, u), updates, params), state

    return GradientTransformation(init_empty_state, update)


class ZeroNansState(NamedTuple):
    """The state of :func:`zero_nans`.

    Args:
      found_nan: per leaf, whether the last update had a NaN (bool scalars).
    """

    found_nan: Any


def zero_nans() -> GradientTransformation:
    """Replace NaNs in the updates by 0, recording per leaf whether there were any.

    Returns:
      A :class:`GradientTransformation` with a :class:`ZeroNansState`.
    """

    def init(params):
        return ZeroNansState(_tm(lambda p: fnp.asarray(False), params))

    def update(updates, state, params=None):
        found = _tm(lambda u: fnp.any(fnp.isnan(u)), updates)
        out = _tm(lambda u: fnp.where(fnp.isnan(u), fnp.zeros_like(u), u), updates)
        return out, ZeroNansState(found)

    return GradientTransformation(init, update)


def _subtract_mean(g):
    if g.ndim > 1:
        return g - fnp.mean(g, axis=tuple(range(1, g.ndim)), keepdims=True)
    return g


def centralize() -> GradientTransformation:
    """Gradient centralisation (Yong et al. 2020): subtract from each leaf of 2+ dimensions
    its mean over all axes but the first.

    Returns:
      A :class:`GradientTransformation` (state ``EmptyState``).
    """
    return GradientTransformation(
        init_empty_state, lambda u, s, p=None: (_tm(_subtract_mean, u), s)
    )


# ---- accumulation -------------------------------------------------------------------------------


class EmaState(NamedTuple):
    """The state of :func:`ema`.

    Args:
      count: the number of updates so far (int32 scalar).
      ema: the moving average.
    """

    count: Any
    ema: Any


def ema(decay, debias: bool = True, accumulator_dtype=None) -> GradientTransformation:
    """The exponential moving average of the updates (debiased as Adam's by default).

    Args:
      decay: the decay.
      debias: divide by ``1 - decay ** count``.
      accumulator_dtype: the dtype of the average.

    Returns:
      A :class:`GradientTransformation` with an :class:`EmaState`.
    """

    def init(params):
        return EmaState(_zeros_count(), _zeros_tree(params, accumulator_dtype))

    def update(updates, state, params=None):
        new = otu.tree_update_moment(updates, state.ema, decay, 1)
        count = _safe_inc(state.count)
        out = otu.tree_bias_correction(new, decay, count) if debias else new
        return out, EmaState(count, _cast_tree(new, accumulator_dtype))

    return GradientTransformation(init, update)


class ApplyEvery(NamedTuple):
    """The state of :func:`apply_every`.

    Args:
      count: calls modulo ``k`` (int32 scalar).
      grad_acc: the accumulated (summed) updates.
    """

    count: Any
    grad_acc: Any


def apply_every(k=1) -> GradientTransformation:
    """Sum the updates over ``k`` calls and emit the sum on every ``k``-th call (zeros on
    the others).

    Args:
      k: the period.

    Returns:
      A :class:`GradientTransformation` with an :class:`ApplyEvery` state.
    """

    def init(params):
        return ApplyEvery(_zeros_count(), _zeros_tree(params))

    def update(updates, state, params=None):
        c = state.count % k
        acc = (c != 0).astype(np.float32)
        grad_acc = _tm(lambda g, ga: acc.astype(ga.dtype) * ga + g, updates, state.grad_acc)
        emit = (c == k - 1).astype(np.float32)
        out = _tm(lambda ga: emit.astype(ga.dtype) * ga, grad_acc)
        return out, ApplyEvery(_safe_inc(state.count) % k, grad_acc)

    return GradientTransformation(init, update)


# ---- noise --------------------------------------------------------------------------------------


class AddNoiseState(NamedTuple):
    """The state of :func:`add_noise`.

    Args:
      count: the number of updates so far (int32 scalar).
      rng_key: the PRNG key of the next noise.
    """

    count: Any
    rng_key: Any


def _as_key(key):
    if isinstance(key, (int, np.integer)):
        return frandom.PRNGKey(int(key))
    return key


def add_noise(eta, gamma, key=None, *, seed=None) -> GradientTransformation:
    """Add Gaussian noise of variance ``eta / (count + 1) ** gamma`` to the updates
    (Neelakantan et al. 2015).

    The noise comes from funcgrad's PRNG: the same key gives different numbers than JAX's
    until funcgrad's random streams match JAX's.

    Args:
      eta: the initial variance.
      gamma: the decay exponent of the variance.
      key: a PRNG key or an int seed (None: 0).
      seed: Optax's older name of an int ``key``.

    Returns:
      A :class:`GradientTransformation` with an :class:`AddNoiseState`.

    Raises:
      ValueError: if both ``key`` and ``seed`` are given.
    """
    if seed is not None:
        if key is not None:
            raise ValueError("Only one of seed or key can be specified.")
        key = seed
    key = 0 if key is None else key

    def init(params):
        return AddNoiseState(_zeros_count(), _as_key(key))

    def update(updates, state, params=None):
        count = _safe_inc(state.count)
        std = fnp.sqrt(eta / count.astype(np.float32) ** gamma)
        rng, sample = frandom.split(state.rng_key)
        leaves, td = tu.tree_flatten(updates)
        keys = frandom.split(sample, len(leaves))
        noise = [
            frandom.normal(k, fnp.shape(x), fnp.asarray(x).dtype) for k, x in zip(keys, leaves)
        ]
        out = otu.tree_add_scale(updates, std, tu.tree_unflatten(td, noise))
        return out, AddNoiseState(count, rng)

    return GradientTransformation(init, update)


# ---- lookahead ----------------------------------------------------------------------------------


class LookaheadState(NamedTuple):
    """The state of :func:`lookahead`.

    Args:
      fast_state: the fast optimizer's state.
      steps_since_sync: fast steps since the last synchronisation (int32 scalar).
    """

    fast_state: Any
    steps_since_sync: Any


class LookaheadParams(NamedTuple):
    """The parameters :func:`lookahead` optimizes: a fast and a slow copy.

    Args:
      fast: the fast parameters.
      slow: the slow parameters.
    """

    fast: Any
    slow: Any

    @classmethod
    def init_synced(cls, params) -> LookaheadParams:
        """Both copies equal to ``params``.

        Args:
          params: the initial parameters.

        Returns:
          ``LookaheadParams(fast=params, slow=params)``.
        """
        return cls(fast=params, slow=params)


def _lookahead_update(updates, sync, params, slow_step_size):
    diff = _tm(lambda f, u, s: f + u - s, params.fast, updates, params.slow)
    slow = _tm(lambda d: slow_step_size * sync * d, diff)
    fast = _tm(lambda u, d: u - sync * (1 - slow_step_size) * d, updates, diff)
    return LookaheadParams(fast=fast, slow=slow)


def lookahead(
    fast_optimizer: GradientTransformation, sync_period, slow_step_size, reset_state=False
) -> GradientTransformation:
    """Lookahead (Zhang et al. 2019): every ``sync_period`` fast steps, move the slow
    parameters ``slow_step_size`` of the way to the fast ones and reset the fast ones there.

    Args:
      fast_optimizer: the inner optimizer (of the fast parameters).
      sync_period: fast steps per synchronisation (>= 1).
      slow_step_size: the slow parameters' interpolation factor.
      reset_state: reset the fast optimizer's state at each synchronisation.

    Returns:
      A :class:`GradientTransformation` over :class:`LookaheadParams` (its updates are
      ``LookaheadParams`` too), with a :class:`LookaheadState`.

    Raises:
      ValueError: if ``sync_period < 1``.
    """
    if sync_period < 1:
        raise ValueError("Synchronization period must be >= 1.")

    def init(params):
        fast = getattr(params, "fast", params)
        return LookaheadState(fast_optimizer.init(fast), _zeros_count())

    def update(updates, state, params=None):
        updates, fast_state = fast_optimizer.update(updates, state.fast_state, params.fast)
        sync = (state.steps_since_sync == sync_period - 1).astype(np.float32)
        out = _lookahead_update(updates, sync, params, slow_step_size)
        if reset_state:
            fresh = fast_optimizer.init(params.fast)
            fast_state = _tm(lambda c, i: fnp.where(sync > 0, i, c), fast_state, fresh)
        return out, LookaheadState(fast_state, (state.steps_since_sync + 1) % sync_period)

    return GradientTransformation(init, update)


# ---- numerics -----------------------------------------------------------------------------------


def safe_norm(x, min_norm, ord=None, axis=None, keepdims: bool = False):
    """``norm(x)``, but ``min_norm`` where the norm is at most ``min_norm``, with a finite
    gradient there (the norm of ones is taken instead).

    Args:
      x: an array.
      min_norm: the lower bound.
      ord: the norm's order (as ``numpy.linalg.norm``).
      axis: the axes of the norm.
      keepdims: keep the reduced axes.

    Returns:
      The clipped norm.
    """
    x = fnp.asarray(x)
    norm = fnp.linalg.norm(x, ord=ord, axis=axis, keepdims=True)
    small_b = norm <= min_norm
    masked_x = fnp.where(small_b, fnp.ones_like(x), x)
    small = small_b if keepdims else fnp.squeeze(small_b, axis=axis)
    masked = fnp.linalg.norm(masked_x, ord=ord, axis=axis, keepdims=keepdims)
    return fnp.where(small, min_norm, masked)


def safe_root_mean_squares(x, min_rms):
    """The root mean square of ``x``, but ``min_rms`` where it is at most ``min_rms``.

    Args:
      x: an array.
      min_rms: the lower bound.

    Returns:
      A scalar.
    """
    return _safe_rms(fnp.asarray(x), min_rms)


def safe_increment(count):
    """``count + 1``, saturating at the largest value of ``count``'s dtype.

    Args:
      count: an integer or float scalar array.

    Returns:
      The incremented count, same dtype.
    """
    return _safe_inc(count)


safe_int32_increment = safe_increment


def scale_gradient(inputs, scale):
    """The identity on the forward pass; gradients through it are multiplied by ``scale``.

    Args:
      inputs: a pytree of arrays.
      scale: the gradient factor.

    Returns:
      ``inputs`` (its gradient scaled).
    """
    if scale == 1.0:
        return inputs
    if scale == 0.0:
        return _tm(stop_gradient, inputs)
    return _tm(lambda x: stop_gradient(x) + (x - stop_gradient(x)) * scale, inputs)
