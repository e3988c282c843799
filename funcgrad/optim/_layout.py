"""Optax's wrappers that change when or where a transformation applies: conditionally
(``conditionally_transform``, ``conditionally_mask``), on a flat vector (``flatten``), or not
on frozen parameters (``freeze``, ``selective_transform``); and its monitoring transforms
(``snapshot``, ``monitor``, ``measure_with_ema``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import tree_util as tu
from funcgrad.optim._base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    _safe_inc,
    _select_tree,
    _tm,
    _zeros_count,
    chain,
    set_to_zero,
    stateless,
    with_extra_args_support,
)
from funcgrad.optim._extras import ema
from funcgrad.optim._wrappers import masked, partition

__all__ = [
    "ConditionallyMaskState",
    "ConditionallyTransformState",
    "MonitorState",
    "SnapshotState",
    "measure_with_ema",
    "monitor",
    "snapshot",
    "conditionally_mask",
    "conditionally_transform",
    "flatten",
    "freeze",
    "selective_transform",
]


class ConditionallyTransformState(NamedTuple):
    """The state of :func:`conditionally_transform`.

    Args:
      inner_state: the inner transformation's state.
      step: the number of updates so far (int32 scalar).
    """

    inner_state: Any
    step: Any


class ConditionallyMaskState(NamedTuple):
    """The state of :func:`conditionally_mask`.

    Args:
      step: the number of updates so far (int32 scalar).
      inner_state: the inner transformation's state.
    """

    step: Any
    inner_state: Any


def _conditional(inner, should_transform_fn, forward_extra_args, zero_out):
    inner = with_extra_args_support(inner)

    def update(updates, state, params=None, **extra_args):
        kw = extra_args if forward_extra_args else {}
        ok = fnp.asarray(should_transform_fn(state.step, **kw))
        new_u, new_s = inner.update(updates, state.inner_state, params, **extra_args)
        rejected = _tm(fnp.zeros_like, updates) if zero_out else updates
        return _select_tree(ok, new_u, rejected), _select_tree(ok, new_s, state.inner_state)

    return inner, update


def conditionally_transform(
    inner: GradientTransformation, should_transform_fn: Callable, forward_extra_args=False
) -> GradientTransformationExtraArgs:
    """Apply ``inner`` only at the steps where ``should_transform_fn(step)`` holds; the
    updates pass through unchanged (and the inner state is kept) at the others.

    Args:
      inner: the transformation.
      should_transform_fn: ``fn(step, **extra_args) -> bool``.
      forward_extra_args: pass ``update``'s extra arguments to ``should_transform_fn``.

    Returns:
      A :class:`GradientTransformationExtraArgs` with a :class:`ConditionallyTransformState`.
    """
    inner, cond_update = _conditional(inner, should_transform_fn, forward_extra_args, False)

    def update(updates, state, params=None, **extra_args):
        u, s = cond_update(updates, state, params, **extra_args)
        return u, ConditionallyTransformState(s, _safe_inc(state.step))

    init = lambda p: ConditionallyTransformState(inner.init(p), _zeros_count())  # noqa: E731
    return GradientTransformationExtraArgs(init, update)


def conditionally_mask(
    inner: GradientTransformation, should_transform_fn: Callable, forward_extra_args=False
) -> GradientTransformationExtraArgs:
    """Apply ``inner`` only at the steps where ``should_transform_fn(step)`` holds; the
    updates are zeros (and the inner state is kept) at the others.

    Args:
      inner: the transformation.
      should_transform_fn: ``fn(step, **extra_args) -> bool``.
      forward_extra_args: pass ``update``'s extra arguments to ``should_transform_fn``.

    Returns:
      A :class:`GradientTransformationExtraArgs` with a :class:`ConditionallyMaskState`.
    """
    inner, cond_update = _conditional(inner, should_transform_fn, forward_extra_args, True)

    def update(updates, state, params=None, **extra_args):
        u, s = cond_update(updates, state, params, **extra_args)
        return u, ConditionallyMaskState(_safe_inc(state.step), s)

    init = lambda p: ConditionallyMaskState(_zeros_count(), inner.init(p))  # noqa: E731
    return GradientTransformationExtraArgs(init, update)


def _flat(tree):
    return fnp.concatenate([fnp.reshape(x, (-1,)) for x in tu.tree_leaves(tree)])


def _unflat(like, flat):
    leaves, td = tu.tree_flatten(like)
    sizes = [int(np.size(x)) for x in leaves]
    offsets = np.cumsum(sizes)[:-1].tolist()
    parts = fnp.split(flat, offsets) if offsets else [flat]
    return tu.tree_unflatten(td, [fnp.reshape(p, fnp.shape(x)) for p, x in zip(parts, leaves)])


def flatten(inner: GradientTransformation) -> GradientTransformationExtraArgs:
    """Run ``inner`` on one flat vector of all the parameters (fewer, larger operations).

    Args:
      inner: the transformation.

    Returns:
      A :class:`GradientTransformationExtraArgs` whose state is ``inner``'s state over the
      flat vector.
    """
    inner = with_extra_args_support(inner)

    def update(updates, state, params=None, **extra_args):
        flat_p = None if params is None else _flat(params)
        flat_u, state = inner.update(_flat(updates), state, flat_p, **extra_args)
        return _unflat(updates, flat_u), state

    return GradientTransformationExtraArgs(lambda p: inner.init(_flat(p)), update)


def freeze(mask) -> GradientTransformation:
    """Zero the updates of the parameters where ``mask`` is True.

    Args:
      mask: True (all), or a pytree of bools (a prefix of the params' tree).

    Returns:
      ``masked(set_to_zero(), mask)``.
    """
    return masked(set_to_zero(), mask)


def selective_transform(
    optimizer: GradientTransformation, *, freeze_mask
) -> GradientTransformation:
    """Apply ``optimizer`` to the parameters where ``freeze_mask`` is False and zero the
    updates of the others (their state is not kept).

    Args:
      optimizer: the optimizer of the trained parameters.
      freeze_mask: a pytree of bools, True for the frozen parameters.

    Returns:
      A :func:`partition` with the groups ``"train"`` and ``"freeze"``.
    """

    def labels(params):
        return _tm(lambda m: "freeze" if m else "train", freeze_mask)

    return partition({"train": optimizer, "freeze": set_to_zero()}, param_labels=labels)


# ---- monitoring ---------------------------------------------------------------------------------


class SnapshotState(NamedTuple):
    """The state of :func:`snapshot`.

    Args:
      measurement: a dict ``{measure_name: measure(last updates)}``.
    """

    measurement: dict


def snapshot(measure_name: str, measure: Callable) -> GradientTransformation:
    """Keep ``measure(updates)`` of the last updates in the state (updates unchanged).

    Args:
      measure_name: the key of the measurement.
      measure: ``measure(tree) -> pytree``.

    Returns:
      A :class:`GradientTransformation` with a :class:`SnapshotState`.
    """

    def update(updates, state, params=None):
        return updates, SnapshotState({measure_name: measure(updates)})

    return GradientTransformation(lambda p: SnapshotState({measure_name: measure(p)}), update)


class MonitorState(NamedTuple):
    """The state of :func:`monitor`.

    Args:
      measurements: a dict ``{name: measurement}`` of the last update (empty before).
      measure_states: the states of the measuring transformations.
    """

    measurements: dict
    measure_states: tuple


def _as_measure(m):
    if isinstance(m, GradientTransformation):
        return with_extra_args_support(m)
    return with_extra_args_support(stateless(lambda u, _, m=m: m(u)))


def monitor(measures: dict) -> GradientTransformationExtraArgs:
    """Record measurements of the updates (updates unchanged): each measure is a function of
    the updates or a transformation whose output updates are the measurement.

    Args:
      measures: a dict ``{name: fn or transformation}``.

    Returns:
      A :class:`GradientTransformationExtraArgs` with a :class:`MonitorState`.
    """
    ms = {k: _as_measure(m) for k, m in measures.items()}

    def init(params):
        return MonitorState({}, tuple(m.init(params) for m in ms.values()))

    def update(updates, state, params=None, **extra_args):
        out, new = {}, []
        for (k, m), s in zip(ms.items(), state.measure_states):
            out[k], s = m.update(updates, s, params, **extra_args)
            new.append(s)
        return updates, MonitorState(out, tuple(new))

    return GradientTransformationExtraArgs(init, update)


def measure_with_ema(
    measure: Callable, decay, debias: bool = True, accumulator_dtype=None
) -> GradientTransformationExtraArgs:
    """A transformation whose output is the exponential moving average of ``measure(updates)``
    (use it inside :func:`monitor`).

    Args:
      measure: ``measure(updates) -> pytree``.
      decay: the EMA decay.
      debias: debias the EMA.
      accumulator_dtype: the dtype of the EMA.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    base = ema(decay, debias, accumulator_dtype)
    measured = base._replace(init=lambda p: base.init(measure(p)))
    return chain(stateless(lambda u, _: measure(u)), measured)
