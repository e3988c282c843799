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
    "ChainState",
    "EmptyState",
    "GradientTransformation",
    "apply_updates",
    "chain",
    "identity",
    "set_to_zero",
    "stateless",
]


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


class EmptyState(NamedTuple):
    """The state of a stateless transformation (an empty NamedTuple, no arguments)."""


class ChainState(NamedTuple):
    """The states of the transformations of a ``chain``, in order.

    Args:
      states: a tuple with one state per chained transformation.
    """

    states: tuple


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply ``transforms`` one after the other (their states form a :class:`ChainState`).

    Args:
      *transforms: the transformations, applied in order to the updates.

    Returns:
      A :class:`GradientTransformation` whose state is a :class:`ChainState`.

    >>> import funcgrad as fg
    >>> opt = fg.optim.chain(fg.optim.clip_by_global_norm(1.0), fg.optim.sgd(0.1))
    >>> type(opt.init({"w": fg.numpy.zeros(1)})).__name__
    'ChainState'
    """

    def init(params):
        return ChainState(tuple(t.init(params) for t in transforms))

    def update(updates, state, params=None):
        new = []
        for t, s in zip(transforms, state.states):
            updates, s = t.update(updates, s, params)
            new.append(s)
        return updates, ChainState(tuple(new))

    return GradientTransformation(init, update)


def stateless(fn: Callable) -> GradientTransformation:
    """A transformation from ``fn(updates, params) -> updates`` with no state.

    Args:
      fn: ``fn(updates, params) -> updates`` (``params`` may be None).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`EmptyState`.
    """

    def update(updates, state, params=None):
        return fn(updates, params), state

    return GradientTransformation(lambda params: EmptyState(), update)


def identity() -> GradientTransformation:
    """A transformation that leaves the updates unchanged.

    Returns:
      A stateless :class:`GradientTransformation`.
    """
    return stateless(lambda u, p: u)


def set_to_zero() -> GradientTransformation:
    """A transformation replacing every update with zeros (freeze parameters with
    ``multi_transform``).

    Returns:
      A stateless :class:`GradientTransformation`.
    """
    return stateless(lambda u, p: tu.tree_map(fnp.zeros_like, u))


def apply_updates(params: Any, updates: Any) -> Any:
    """``params + updates`` leaf by leaf, keeping each parameter's dtype (None updates skip).

    Args:
      params: a pytree of parameters.
      updates: a pytree of updates with ``params``' structure (None leaves leave the
        parameter as is).

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

    return tu.tree_map(add, params, updates, is_leaf=lambda x: x is None)


# ---- helpers of the transformations' states ---------------------------------------------------

_tm = tu.tree_map  # shorthand of the transformation modules


def _zeros_count():
    return fnp.zeros((), np.int32)


def _zeros_like_tree(tree):
    return _tm(fnp.zeros_like, tree)


def _select_tree(pred, on_true, on_false):
    return _tm(lambda a, b: fnp.where(pred, a, b), on_true, on_false)
