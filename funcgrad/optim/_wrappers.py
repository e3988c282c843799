"""Transformations that wrap other transformations: masks and parameter groups, gradient
accumulation (``MultiSteps``), skipping non-finite updates, hyperparameters in the state.
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
from funcgrad.optim._base import (
    GradientTransformation,
    _select_tree,
    _tm,
    _zeros_count,
    _zeros_like_tree,
)

__all__ = [
    "ApplyIfFiniteState",
    "InjectHyperparamsState",
    "MaskedState",
    "MultiSteps",
    "MultiStepsState",
    "MultiTransformState",
    "apply_if_finite",
    "inject_hyperparams",
    "masked",
    "multi_transform",
]


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
