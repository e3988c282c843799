"""The optimizer interface (Optax's): a ``GradientTransformation`` is a pair of pure functions.

``init(params) -> state`` and ``update(updates, state, params=None) -> (updates, state)``;
states are NamedTuples (pytrees you can print, save and pass through ``jit``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import tree_util as tu

__all__ = [
    "EmptyState",
    "GradientTransformation",
    "GradientTransformationExtraArgs",
    "apply_updates",
    "chain",
    "identity",
    "incremental_update",
    "init_empty_state",
    "named_chain",
    "periodic_update",
    "set_to_zero",
    "stateless",
    "stateless_with_tree_map",
    "with_extra_args_support",
]

NO_PARAMS_MSG = (
    "You are using a transformation that requires the current value of parameters, but you "
    "are not passing `params` when calling `update`."
)


class GradientTransformation(NamedTuple):
    """An optimizer: ``init(params) -> state``, ``update(grads, state, params) -> (updates,
    state)``.

    Args:
      init: ``init(params) -> state``: the initial state for a pytree of parameters.
      update: ``update(updates, state, params=None) -> (updates, state)``: transforms the
        gradients (or updates) into updates of the same tree structure, and the next state.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> opt = fg.optim.sgd(0.1)
    >>> params = {"w": fnp.ones(2)}
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": fnp.ones(2)}, state, params)
    >>> fg.optim.apply_updates(params, updates)["w"]
    Array([0.9, 0.9], dtype=float32)
    """

    init: Callable
    update: Callable


class GradientTransformationExtraArgs(GradientTransformation):
    """A :class:`GradientTransformation` whose ``update`` also takes keyword ``**extra_args``
    (e.g. ``value=``, ``grad=``, ``value_fn=`` of a line search), as Optax's.

    Args:
      init: ``init(params) -> state``.
      update: ``update(updates, state, params=None, **extra_args) -> (updates, state)``.
    """


def with_extra_args_support(tx: GradientTransformation) -> GradientTransformationExtraArgs:
    """``tx`` as a :class:`GradientTransformationExtraArgs` (extra arguments are dropped).

    Args:
      tx: a transformation.

    Returns:
      ``tx`` itself if it already takes extra arguments, else a wrapper ignoring them.
    """
    if isinstance(tx, GradientTransformationExtraArgs):
        return tx

    def update(updates, state, params=None, **extra_args):
        return tx.update(updates, state, params)

    return GradientTransformationExtraArgs(tx.init, update)


class EmptyState(NamedTuple):
    """The state of a stateless transformation (an empty NamedTuple, no arguments)."""


def init_empty_state(params) -> EmptyState:
    """The ``init`` of a stateless transformation.

    Args:
      params: ignored.

    Returns:
      ``EmptyState()``.
    """
    return EmptyState()


def chain(*args: GradientTransformation) -> GradientTransformationExtraArgs:
    """Apply ``transforms`` one after the other; the state is the tuple of their states.

    Args:
      *args: the transformations, applied in order to the updates.

    Returns:
      A :class:`GradientTransformationExtraArgs` whose state is a tuple with one state per
      transformation (``state[0]`` is the first one's), as Optax's.

    >>> import funcgrad as fg
    >>> opt = fg.optim.chain(fg.optim.clip_by_global_norm(1.0), fg.optim.adam(0.1))
    >>> state = opt.init({"w": fg.numpy.zeros(1)})
    >>> type(state).__name__, type(state[1][0]).__name__
    ('tuple', 'ScaleByAdamState')
    """
    txs = [with_extra_args_support(t) for t in args]

    def init(params):
        return tuple(t.init(params) for t in txs)

    def update(updates, state, params=None, **extra_args):
        if len(txs) != len(state):
            raise ValueError(
                "The number of updates and states has to be the same in chain! Make sure you "
                "have called init first!"
            )
        new = []
        for t, s in zip(txs, state):
            updates, s = t.update(updates, s, params, **extra_args)
            new.append(s)
        return updates, tuple(new)

    return GradientTransformationExtraArgs(init, update)


def named_chain(*args: tuple) -> GradientTransformationExtraArgs:
    """:func:`chain` with names: the state is a dict ``name -> state``.

    Args:
      *args: ``(name, transformation)`` pairs, names unique.

    Returns:
      A :class:`GradientTransformationExtraArgs` whose state is a dict.

    Raises:
      ValueError: for repeated names.
    """
    names = [n for n, _ in args]
    if len(names) != len(set(names)):
        raise ValueError(f"Named transformations must have unique names, but got {names}")
    txs = [(n, with_extra_args_support(t)) for n, t in args]

    def init(params):
        return {n: t.init(params) for n, t in txs}

    def update(updates, state, params=None, **extra_args):
        new = {}
        for n, t in txs:
            updates, new[n] = t.update(updates, state[n], params, **extra_args)
        return updates, new

    return GradientTransformationExtraArgs(init, update)


def stateless(f: Callable) -> GradientTransformation:
    """A transformation from ``f(updates, params) -> updates`` with no state.

    Args:
      f: ``f(updates, params) -> updates`` (``params`` may be None).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`EmptyState`.
    """

    def update(updates, state, params=None):
        return f(updates, params), EmptyState()

    return GradientTransformation(init_empty_state, update)


def stateless_with_tree_map(f: Callable) -> GradientTransformation:
    """A stateless transformation applying ``f(update, param)`` leaf by leaf.

    Args:
      f: ``f(update_leaf, param_leaf_or_None) -> new update leaf``.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`EmptyState`.
    """

    def update(updates, state, params=None):
        if params is None:
            return tu.tree_map(lambda u: f(u, None), updates), EmptyState()
        return tu.tree_map(f, updates, params), EmptyState()

    return GradientTransformation(init_empty_state, update)


def identity() -> GradientTransformation:
    """A transformation that leaves the updates unchanged.

    Returns:
      A stateless :class:`GradientTransformation`.
    """
    return GradientTransformation(init_empty_state, lambda u, s, p=None: (u, s))


def set_to_zero() -> GradientTransformation:
    """A transformation replacing every update with zeros (freeze parameters with
    ``multi_transform``).

    Returns:
      A stateless :class:`GradientTransformation`.
    """
    return GradientTransformation(
        init_empty_state, lambda u, s, p=None: (tu.tree_map(fnp.zeros_like, u), s)
    )


def _none_leaf(x):
    return x is None


def apply_updates(params: Any, updates: Any) -> Any:
    """``params + updates`` leaf by leaf, keeping each parameter's dtype (None leaves stay
    None).

    Args:
      params: a pytree of parameters.
      updates: a pytree of updates with ``params``' structure.

    Returns:
      The new parameters, a pytree of ``params``' structure and dtypes.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.optim.apply_updates([fnp.ones(2)], [fnp.full(2, -0.5)])
    [Array([0.5, 0.5], dtype=float32)]
    """

    def add(p, u):
        if u is None or p is None:
            return p
        return (fnp.asarray(p) + u).astype(fnp.asarray(p).dtype)

    return tu.tree_map(add, params, updates, is_leaf=_none_leaf)


def incremental_update(new_tensors: Any, old_tensors: Any, step_size) -> Any:
    """Polyak averaging ``step_size * new + (1 - step_size) * old``, leaf by leaf.

    Args:
      new_tensors: the latest values.
      old_tensors: the moving average so far.
      step_size: the weight of the new values.

    Returns:
      The updated average, a pytree like ``new_tensors``.
    """

    def mix(new, old):
        return None if new is None else step_size * new + (1.0 - step_size) * old

    return tu.tree_map(mix, new_tensors, old_tensors, is_leaf=_none_leaf)


def periodic_update(new_tensors: Any, old_tensors: Any, steps, update_period) -> Any:
    """``new_tensors`` when ``steps % update_period == 0``, else ``old_tensors``.

    Args:
      new_tensors: the latest values.
      old_tensors: the values kept between periods.
      steps: the step count (int scalar).
      update_period: the period.

    Returns:
      A pytree like ``new_tensors``.
    """
    now = fnp.mod(steps, update_period) == 0
    return tu.tree_map(lambda n, o: fnp.where(now, n, o), new_tensors, old_tensors)


# ---- helpers of the transformations' states ---------------------------------------------------

_tm = tu.tree_map  # shorthand of the transformation modules


def _zeros_count():
    return fnp.zeros((), np.int32)


def _zeros_like_tree(tree):
    return _tm(fnp.zeros_like, tree)


def _select_tree(pred, on_true, on_false):
    return _tm(lambda a, b: fnp.where(pred, a, b), on_true, on_false)


def _safe_inc(count):
    """``count + 1`` saturating at the dtype's largest value (Optax's ``safe_increment``)."""
    count = fnp.asarray(count)
    dt = np.dtype(count.dtype)
    top = np.iinfo(dt).max if dt.kind in "iu" else np.finfo(dt).max
    return fnp.where(count < top, count + np.asarray(1, dt), np.asarray(top, dt)).astype(dt)


def _cast_tree(tree, dtype):
    return tree if dtype is None else _tm(lambda x: fnp.asarray(x).astype(dtype), tree)


def _zeros_tree(tree, dtype=None):
    return _tm(lambda x: fnp.zeros_like(x, dtype=dtype), tree)


def _full_tree(tree, value):
    return _tm(lambda x: fnp.full_like(x, value), tree)


def _needs_params(params, name):
    if params is None:
        raise ValueError(f"{name}: {NO_PARAMS_MSG}")
