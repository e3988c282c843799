"""Transformations that wrap other transformations: masks and parameter groups, gradient
accumulation (``MultiSteps``), skipping non-finite updates, hyperparameters in the state.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import tree_util as tu
from funcgrad._src.array import Array
from funcgrad._src.core import Tracer
from funcgrad.optim._base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    _safe_inc,
    _select_tree,
    _tm,
    _zeros_count,
    _zeros_like_tree,
    with_extra_args_support,
)

__all__ = [
    "ApplyIfFiniteState",
    "InjectHyperparamsState",
    "InjectStatefulHyperparamsState",
    "MaskedNode",
    "MaskedState",
    "MultiSteps",
    "MultiStepsState",
    "MultiTransformState",
    "PartitionState",
    "WrappedSchedule",
    "WrappedScheduleState",
    "apply_if_finite",
    "inject_hyperparams",
    "inject_stateful_hyperparams",
    "masked",
    "multi_transform",
    "partition",
    "skip_large_updates",
    "skip_not_finite",
]


# ---- masks and parameter groups -----------------------------------------------------------------


class MaskedState(NamedTuple):
    """The state of :func:`masked`.

    Args:
      inner_state: the inner transformation's state, over the masked tree (the leaves left
        out are :class:`MaskedNode`).
    """

    inner_state: Any


class MaskedNode(NamedTuple):
    """Stands for a leaf that a mask leaves out (an empty pytree node, as in Optax)."""


def _mask_pytree(tree, mask_tree):
    return _tm(lambda m, p: p if m else MaskedNode(), mask_tree, tree)


def _is_fn(mask) -> bool:
    """Optax's test: a mask is a function when every leaf of it is callable (a Module of
    bools is callable itself, but its leaves are not)."""
    flags = tu.tree_leaves(tu.tree_map(callable, mask))
    return bool(flags) and all(flags)


def _mask_of(mask, tree):
    return mask(tree) if _is_fn(mask) else mask


def masked(
    inner: GradientTransformation, mask, *, mask_compatible_extra_args: bool = False
) -> GradientTransformationExtraArgs:
    """Apply ``inner`` only where ``mask`` is True; other updates pass through unchanged.

    The inner transformation sees the tree with the left-out leaves replaced by
    :class:`MaskedNode` (no leaves), as Optax's.

    Args:
      inner: the transformation to apply to the selected leaves.
      mask: a pytree of bools (a prefix of the params' tree), or a function ``params ->``
        such a pytree.
      mask_compatible_extra_args: also mask the extra arguments of ``update`` that have the
        updates' tree structure.

    Returns:
      A :class:`GradientTransformationExtraArgs` with a :class:`MaskedState`.
    """
    inner = with_extra_args_support(inner)

    def init(params):
        return MaskedState(inner.init(_mask_pytree(params, _mask_of(mask, params))))

    def update(updates, state, params=None, **extra_args):
        mask_tree = _mask_of(mask, updates)
        sub_p = None if params is None else _mask_pytree(params, mask_tree)
        if mask_compatible_extra_args:
            td = tu.tree_structure(updates)
            extra_args = {
                k: _mask_pytree(v, mask_tree) if tu.tree_structure(v) == td else v
                for k, v in extra_args.items()
            }
        new, s = inner.update(
            _mask_pytree(updates, mask_tree), state.inner_state, sub_p, **extra_args
        )
        out = _tm(lambda m, n, o: n if m else o, mask_tree, new, updates)
        return out, MaskedState(s)

    return GradientTransformationExtraArgs(init, update)


class PartitionState(NamedTuple):
    """The state of :func:`partition` (:func:`multi_transform`).

    Args:
      inner_states: a dict: label -> that group's :class:`MaskedState`.
    """

    inner_states: dict


MultiTransformState = PartitionState


def partition(
    transforms: dict, param_labels, *, mask_compatible_extra_args: bool = False
) -> GradientTransformationExtraArgs:
    """A different transformation per parameter group: ``param_labels`` (a pytree of labels,
    or ``params -> pytree of labels``) picks the key of ``transforms`` for each leaf.

    Args:
      transforms: a dict ``label -> GradientTransformation`` (each applied through
        :func:`masked` to its leaves).
      param_labels: a pytree of labels (a prefix of the params' tree), or a function
        ``params ->`` such a pytree.
      mask_compatible_extra_args: passed on to :func:`masked`.

    Returns:
      A :class:`GradientTransformationExtraArgs` with a :class:`PartitionState`; ``init``
      raises ``ValueError`` for a label without a transformation.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> opt = fg.optim.multi_transform({"train": fg.optim.sgd(0.1),
    ...                                 "frozen": fg.optim.set_to_zero()},
    ...                                {"w": "train", "emb": "frozen"})
    >>> p = {"w": fnp.ones(1), "emb": fnp.ones(1)}
    >>> u, _ = opt.update({"w": fnp.ones(1), "emb": fnp.ones(1)}, opt.init(p), p)
    >>> round(float(u["w"][0]), 6), float(u["emb"][0])
    (-0.1, 0.0)
    """
    txs = {k: with_extra_args_support(v) for k, v in transforms.items()}

    def group(labels, k):
        mask = _tm(lambda label: label == k, labels)
        return masked(txs[k], mask, mask_compatible_extra_args=mask_compatible_extra_args)

    def init(params):
        labels = _mask_of(param_labels, params)
        unknown = set(tu.tree_leaves(labels)) - set(txs)
        if unknown:
            raise ValueError(
                "Some parameters have no corresponding transformation.\nParameter labels: "
                f"{sorted(map(str, set(tu.tree_leaves(labels))))} \nTransforms keys: "
                f"{sorted(map(str, txs))} \n(multi_transform: labels {sorted(map(str, unknown))}"
                " have no transformation)"
            )
        return PartitionState({k: group(labels, k).init(params) for k in txs})

    def update(updates, state, params=None, **extra_args):
        labels = _mask_of(param_labels, updates)
        new = {}
        for k in txs:
            updates, new[k] = group(labels, k).update(
                updates, state.inner_states[k], params, **extra_args
            )
        return updates, PartitionState(new)

    return GradientTransformationExtraArgs(init, update)


multi_transform = partition


# ---- gradient accumulation and skipping ---------------------------------------------------------


def skip_not_finite(updates, gradient_step, params):
    """A ``should_skip_update_fn`` for :class:`MultiSteps`: skip updates with inf/NaN.

    Args:
      updates: the gradients.
      gradient_step: the inner optimizer's step (unused).
      params: the parameters (unused).

    Returns:
      ``(should_skip, {"should_skip": ..., "num_not_finite": ...})``.
    """
    counts = [fnp.sum(fnp.logical_not(fnp.isfinite(p))) for p in tu.tree_leaves(updates)]
    n = fnp.sum(fnp.stack(counts)) if counts else fnp.zeros((), np.int32)
    skip = n > 0
    return skip, {"should_skip": skip, "num_not_finite": n}


def skip_large_updates(updates, gradient_step, params, max_squared_norm):
    """A ``should_skip_update_fn`` for :class:`MultiSteps` (bind ``max_squared_norm`` with
    ``functools.partial``): skip updates whose squared norm is not below the bound.

    Args:
      updates: the gradients.
      gradient_step: the inner optimizer's step (unused).
      params: the parameters (unused).
      max_squared_norm: the bound of the squared global norm.

    Returns:
      ``(should_skip, {"should_skip": ..., "norm_squared": ...})``.
    """
    sq = sum(fnp.sum(fnp.asarray(p) ** 2) for p in tu.tree_leaves(updates))
    skip = fnp.logical_not(sq < max_squared_norm)
    return skip, {"should_skip": skip, "norm_squared": sq}


class MultiStepsState(NamedTuple):
    """The state of :class:`MultiSteps`.

    Args:
      mini_step: calls since the last applied update (int32 scalar).
      gradient_step: the number of applied updates (int32 scalar).
      inner_opt_state: the inner optimizer's state.
      acc_grads: the accumulated gradients (their running mean, or sum) since the last
        applied update.
      skip_state: what ``should_skip_update_fn`` returned last (``()`` without one).
    """

    mini_step: Any
    gradient_step: Any
    inner_opt_state: Any
    acc_grads: Any
    skip_state: Any = ()


def _never_skip(*args, **kwargs):
    return fnp.asarray(False), ()


class MultiSteps:
    """Accumulate gradients over ``every_k_schedule(gradient_step)`` calls, then apply ``opt``
    to their mean (or sum); on the other calls the updates are zeros and the inner state is
    unchanged. Use ``.init``/``.update`` directly or ``.gradient_transformation()``.

    Args:
      opt: the inner optimizer.
      every_k_schedule: the number of calls per applied update: an int (a float with an
        integer value is taken as that int), or a schedule ``gradient_step -> k``.
      use_grad_mean: average the gradients (True) or sum them.
      should_skip_update_fn: ``fn(updates, gradient_step, params) -> (skip, skip_state)``
        (e.g. :func:`skip_not_finite`); a skipped call changes nothing but ``skip_state``.
      accumulator_dtype: the dtype of ``acc_grads``.

    Raises:
      ValueError: if ``every_k_schedule`` is a number that is not a positive integer.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> opt = fg.optim.MultiSteps(fg.optim.sgd(1.0), every_k_schedule=2)
    >>> p = fnp.zeros(1)
    >>> s = opt.init(p)
    >>> u1, s = opt.update(fnp.array([1.0]), s, p)
    >>> u2, s = opt.update(fnp.array([3.0]), s, p)
    >>> float(u1[0]), float(u2[0])
    (0.0, -2.0)
    """

    def __init__(
        self,
        opt: GradientTransformation,
        every_k_schedule,
        use_grad_mean: bool = True,
        should_skip_update_fn=None,
        accumulator_dtype=np.float32,
    ):
        self._opt = with_extra_args_support(opt)
        self._every_k_schedule = _k_schedule(every_k_schedule)
        self._use_grad_mean = use_grad_mean
        self._should_skip_update_fn = should_skip_update_fn or _never_skip
        self._accumulator_dtype = accumulator_dtype

    @property
    def inner_opt(self) -> GradientTransformationExtraArgs:
        """The inner optimizer.

        Returns:
          It, taking extra arguments.
        """
        return self._opt

    def init(self, params) -> MultiStepsState:
        """The initial state.

        Args:
          params: the pytree of parameters.

        Returns:
          A :class:`MultiStepsState` (zero counters and accumulator, the inner state).
        """
        step = _zeros_count()
        _, skip_state = self._should_skip_update_fn(_zeros_like_tree(params), step, params)
        acc = _tm(lambda p: fnp.zeros_like(p, dtype=self._accumulator_dtype), params)
        return MultiStepsState(_zeros_count(), step, self._opt.init(params), acc, skip_state)

    def _acc(self, g, acc, n):
        if self._use_grad_mean:
            return acc + (g - acc) / (n + 1)
        return g + acc

    def update(self, updates, state: MultiStepsState, params=None, **extra_args):
        """Accumulate ``updates``; on the ``k``-th call apply the inner optimizer.

        Args:
          updates: the gradients, a pytree like the params.
          state: the current :class:`MultiStepsState`.
          params: the parameters (passed on to the inner optimizer).
          **extra_args: passed on to the inner optimizer.

        Returns:
          ``(updates, new_state)``: the inner optimizer's updates on the ``k``-th call, zeros
          of the same structure otherwise.

        Raises:
          ValueError: if ``should_skip_update_fn`` returns no boolean scalar.
        """
        k = self._every_k_schedule(state.gradient_step)
        skip, skip_state = self._should_skip_update_fn(updates, state.gradient_step, params)
        skip = fnp.asarray(skip)
        if (np.dtype(skip.dtype), tuple(skip.shape)) != (np.dtype(bool), ()):
            raise ValueError(
                "The `should_skip_update_fn` function should return a boolean scalar array, "
                f"but it returned an array of dtype {skip.dtype} and shape {skip.shape}"
            )
        acc = _tm(lambda g, a: self._acc(g, a, state.mini_step), updates, state.acc_grads)
        acc_cast = _tm(lambda a, g: a.astype(fnp.asarray(g).dtype), acc, updates)
        new_u, new_inner = self._opt.update(acc_cast, state.inner_opt_state, params, **extra_args)
        emit = fnp.logical_and(state.mini_step == k - 1, fnp.logical_not(skip))
        done = MultiStepsState(
            (_safe_inc(state.mini_step) % k).astype(np.int32),
            fnp.where(emit, _safe_inc(state.gradient_step), state.gradient_step),
            _select_tree(emit, new_inner, state.inner_opt_state),
            _tm(lambda a: fnp.where(emit, 0, a).astype(self._accumulator_dtype), acc),
            skip_state,
        )
        kept = state._replace(skip_state=skip_state)
        new_state = _tm(lambda d, o: fnp.where(skip, o, d), done, kept)
        out = _tm(lambda u: fnp.where(emit, u, fnp.zeros_like(u)), new_u)
        return out, new_state

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


def _k_schedule(every_k):
    if callable(every_k):
        return every_k
    ok = isinstance(every_k, (int, float, np.integer, np.floating)) and not isinstance(
        every_k, bool
    )
    if not ok or every_k < 1 or float(every_k) != int(every_k):
        raise ValueError(
            f"MultiSteps: every_k_schedule must be a positive integer or a schedule, "
            f"got {every_k!r}"
        )
    k = int(every_k)
    return lambda step: k


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


def _all_finite(tree):
    ok = fnp.asarray(True)
    for x in tu.tree_leaves(tree):
        ok = fnp.logical_and(ok, fnp.all(fnp.isfinite(x)))
    return ok


def apply_if_finite(
    inner: GradientTransformation, max_consecutive_errors: int
) -> GradientTransformationExtraArgs:
    """Skip updates whose gradients contain inf/NaN (zeros out, inner state kept), unless that
    happened more than ``max_consecutive_errors`` times in a row.

    Args:
      inner: the transformation applied to finite updates.
      max_consecutive_errors: after this many non-finite updates in a row, the next ones are
        applied anyway.

    Returns:
      A :class:`GradientTransformationExtraArgs` with an :class:`ApplyIfFiniteState`.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> opt = fg.optim.apply_if_finite(fg.optim.sgd(1.0), max_consecutive_errors=3)
    >>> s = opt.init(fnp.zeros(1))
    >>> u, s = opt.update(fnp.array([fnp.nan]), s)
    >>> float(u[0]), int(s.total_notfinite)
    (0.0, 1)
    """
    inner = with_extra_args_support(inner)

    def init(params):
        return ApplyIfFiniteState(
            _zeros_count(), fnp.asarray(True), _zeros_count(), inner.init(params)
        )

    def update(updates, state, params=None, **extra_args):
        ok = _all_finite(updates)
        bad = fnp.where(ok, 0, _safe_inc(state.notfinite_count)).astype(np.int32)
        apply = fnp.logical_or(ok, bad > max_consecutive_errors)
        new_u, new_inner = inner.update(updates, state.inner_state, params, **extra_args)
        out = _tm(lambda u: fnp.where(apply, u, fnp.zeros_like(u)), new_u)
        total = fnp.where(ok, state.total_notfinite, _safe_inc(state.total_notfinite))
        return out, ApplyIfFiniteState(
            bad, ok, total, _select_tree(apply, new_inner, state.inner_state)
        )

    return GradientTransformationExtraArgs(init, update)


# ---- hyperparameters in the state ---------------------------------------------------------------


class InjectHyperparamsState(NamedTuple):
    """Optax's older state of :func:`inject_hyperparams` (kept for the name; the optimizers
    return :class:`InjectStatefulHyperparamsState`, as Optax 0.2.x does).

    Args:
      count: the number of updates so far (int32 scalar).
      hyperparams: a dict: name -> current value (arrays).
      inner_state: the inner optimizer's state.
    """

    count: Any
    hyperparams: dict
    inner_state: Any


class InjectStatefulHyperparamsState(NamedTuple):
    """The state of an optimizer made by :func:`inject_hyperparams`.

    Args:
      count: the number of updates so far (int32 scalar).
      hyperparams: a dict: name -> current value (arrays); change values with
        ``state.hyperparams["learning_rate"] = ...`` or ``tree_set``.
      hyperparams_states: a dict: name -> :class:`WrappedScheduleState` of each schedule.
      inner_state: the inner optimizer's state.
    """

    count: Any
    hyperparams: dict
    hyperparams_states: dict
    inner_state: Any


class WrappedScheduleState(NamedTuple):
    """The state of a :class:`WrappedSchedule`.

    Args:
      count: the number of updates so far (int32 scalar).
    """

    count: Any


class WrappedSchedule:
    """A schedule ``count -> value`` as a stateful schedule (``init``/``update``/call).

    Args:
      schedule_fn: the schedule.
    """

    def __init__(self, schedule_fn: Callable):
        self.schedule_fn = schedule_fn

    def init(self) -> WrappedScheduleState:
        """The initial state.

        Returns:
          ``WrappedScheduleState(count=0)``.
        """
        return WrappedScheduleState(_zeros_count())

    def update(self, state: WrappedScheduleState, **extra_args) -> WrappedScheduleState:
        """The next state.

        Args:
          state: the current state.
          **extra_args: ignored.

        Returns:
          The state with the count incremented.
        """
        return WrappedScheduleState(_safe_inc(state.count))

    def __call__(self, state: WrappedScheduleState, **extra_args):
        """The schedule's value at ``state.count``.

        Args:
          state: the current state.
          **extra_args: ignored.

        Returns:
          The value.
        """
        return self.schedule_fn(state.count)


def _is_numeric(v) -> bool:
    return isinstance(v, (int, float, np.number, np.ndarray, Array, Tracer)) and not isinstance(
        v, bool
    )


def _convert_floats(x, dtype):
    x = fnp.asarray(x)
    return x.astype(dtype) if np.dtype(x.dtype).kind == "f" else x


def _split_hparams(arguments, static_args):
    sched, numeric, other = {}, {}, {}
    for name, value in arguments.items():
        if name in static_args or isinstance(value, bool):
            other[name] = value
        elif hasattr(value, "init") and hasattr(value, "update") and callable(value):
            sched[name] = value
        elif callable(value):
            sched[name] = WrappedSchedule(value)
        elif _is_numeric(value):
            numeric[name] = value
        else:
            other[name] = value
    return sched, numeric, other


def _hp_dtype(hyperparam_dtype, params):
    if hyperparam_dtype is not None:
        return hyperparam_dtype
    from funcgrad.optim.tree_utils import tree_dtype

    dt = tree_dtype(params, "highest")
    return dt if dt.kind == "f" else np.dtype(np.float32)


def inject_hyperparams(inner_factory: Callable, static_args=(), hyperparam_dtype=None) -> Callable:
    """Wrap an optimizer factory so its numeric hyperparameters live in the state (Optax's).

    Numbers become arrays in ``state.hyperparams`` (change them there, or trace them under
    ``jit`` without recompiling); schedules are evaluated at their own step count each update
    and their current value stored. Bools, None and ``static_args`` stay static.

    Args:
      inner_factory: an optimizer factory such as :func:`sgd` or :func:`adam`.
      static_args: a name or names of numeric arguments to keep static.
      hyperparam_dtype: the dtype of float hyperparameters (default: the params' widest
        float dtype).

    Returns:
      A factory with ``inner_factory``'s signature and docstring, returning a
      :class:`GradientTransformationExtraArgs` with an
      :class:`InjectStatefulHyperparamsState`.

    Raises:
      ValueError: if ``static_args`` names an argument ``inner_factory`` lacks.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> opt = fg.optim.inject_hyperparams(fg.optim.sgd)(learning_rate=0.1)
    >>> s = opt.init(fnp.zeros(1))
    >>> s.hyperparams["learning_rate"] = fnp.asarray(0.5)
    >>> u, s = opt.update(fnp.ones(1), s)
    >>> float(u[0])
    -0.5
    """
    static_args = {static_args} if isinstance(static_args, str) else set(static_args)
    sig = inspect.signature(inner_factory)
    if not static_args.issubset(sig.parameters):
        raise ValueError(
            "`static_args` must specify a subset of `inner_factory`'s parameters. Given "
            f"`static_args`: {static_args}. `inner_factory` parameters: {set(sig.parameters)}"
        )

    @functools.wraps(inner_factory)
    def factory(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        sched, numeric, other = _split_hparams(dict(bound.arguments), static_args)

        def init(params):
            dt = _hp_dtype(hyperparam_dtype, params)
            hp = {k: _convert_floats(v, dt) for k, v in numeric.items()}
            hs = {k: f.init() for k, f in sched.items()}
            hp.update({k: _convert_floats(f(hs[k]), dt) for k, f in sched.items()})
            inner = inner_factory(**other, **hp).init(params)
            return InjectStatefulHyperparamsState(_zeros_count(), hp, hs, inner)

        def update(updates, state, params=None, **extra_args):
            dt = _hp_dtype(hyperparam_dtype, updates if params is None else params)
            hp = {k: _convert_floats(v, dt) for k, v in state.hyperparams.items()}
            hs = state.hyperparams_states
            hp.update({k: _convert_floats(f(hs[k], **extra_args), dt) for k, f in sched.items()})
            new_hs = {k: f.update(hs[k], **extra_args) for k, f in sched.items()}
            tx = with_extra_args_support(inner_factory(**other, **hp))
            updates, inner = tx.update(updates, state.inner_state, params, **extra_args)
            return updates, InjectStatefulHyperparamsState(
                _safe_inc(state.count), hp, new_hs, inner
            )

        return GradientTransformationExtraArgs(init, update)

    return factory


def inject_stateful_hyperparams(
    inner_factory: Callable, static_args=(), hyperparam_dtype=None
) -> Callable:
    """Optax's deprecated name of :func:`inject_hyperparams` (warns, then the same).

    Args:
      inner_factory: an optimizer factory.
      static_args: names of numeric arguments to keep static.
      hyperparam_dtype: the dtype of float hyperparameters.

    Returns:
      ``inject_hyperparams(inner_factory, static_args, hyperparam_dtype)``.
    """
    warnings.warn(
        "inject_stateful_hyperparams is deprecated, use inject_hyperparams instead",
        DeprecationWarning,
        stacklevel=2,
    )
    return inject_hyperparams(inner_factory, static_args, hyperparam_dtype)
