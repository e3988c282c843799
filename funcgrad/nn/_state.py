"""Equinox's stateful layers: ``StateIndex`` (where a layer's state lives), ``State`` (the
values, a pytree passed in and returned by every call) and ``make_with_state``.

A stateful layer (``BatchNorm``) holds ``StateIndex`` fields; ``make_with_state(Cls)(...)``
builds the model and the initial ``State``; a call is ``y, state = layer(x, state)``. Each
``State`` is used once: ``set`` and ``update`` return a new one and retire the old, so
reusing an old state raises (as Equinox).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import tree_util as tu
from funcgrad.nn._module import Module, _replace_fields, static_field, tree_at

__all__ = ["State", "StateIndex", "StatefulLayer", "delete_init_state", "make_with_state"]


class _Sentinel(Module):
    pass


_sentinel = _Sentinel()


class StateIndex(Module):
    """A key into a :class:`State`, holding the initial value of one piece of state.

    Args:
      init: the initial value (a pytree of arrays; not a function, as Equinox >= 0.11).

    Raises:
      ValueError: if ``init`` is a function.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> index = fg.nn.StateIndex(fnp.zeros(2))
    >>> fg.nn.State(index).get(index)
    Array([0., 0.], dtype=float32)
    """

    marker: Any = static_field()
    init: Any

    def __init__(self, init):
        if callable(init) and not isinstance(init, Module) and not hasattr(init, "shape"):
            raise ValueError(
                "StateIndex takes the value of the initial state directly (not a function "
                "that creates it)."
            )
        self.marker = object()
        self.init = init


def _is_index(x) -> bool:
    return isinstance(x, StateIndex)


_STATE_ERROR = (
    "Attempted to use old state. Probably you have done something like\n"
    "    x, state2 = layer1(x, state1)\n"
    "    x, state3 = layer1(x, state1)  # bug! Re-used state1 instead of using state2.\n"
    "To use an old state on purpose, clone it first: "
    "fg.tree.unflatten(*reversed(fg.tree.flatten(state)))."
)


def _struct(tree):
    leaves, td = tu.tree_flatten(tree)
    return td, [(tuple(np.shape(x)), np.dtype(x.dtype)) for x in leaves]


def _new_state(values: dict) -> State:
    new = object.__new__(State)
    new._state = values
    return new


@tu.register_pytree_node_class
class State:
    """The values of a model's state, keyed by its :class:`StateIndex` fields (a pytree).

    Build it with :func:`make_with_state` (or ``State(model)`` for a model whose indices
    still hold their initial values). ``get`` reads, ``set`` returns a new state with one
    value replaced (the old state can no longer be used); ``substate`` and ``update``
    select and merge parts.

    Args:
      model: a pytree holding :class:`StateIndex` nodes.

    Raises:
      ValueError: if an index has had its initial value removed (call
        ``make_with_state(Cls)(...)`` instead).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> bn, state = fg.nn.make_with_state(fg.nn.BatchNorm)(3, "batch", mode="batch")
    >>> type(state).__name__
    'State'
    """

    def __init__(self, model):
        values = {}
        for leaf in tu.tree_leaves(model, is_leaf=_is_index):
            if _is_index(leaf):
                if isinstance(leaf.init, _Sentinel):
                    raise ValueError(
                        "Do not call `fg.nn.State(model)` directly. Call "
                        "`fg.nn.make_with_state(ModelClass)(...args...)` instead."
                    )
                values[leaf.marker] = tu.tree_map(fnp.asarray, leaf.init)
        self._state = values

    @classmethod
    def from_values(cls, values: dict) -> State:
        """A state holding ``values``, a dict ``{StateIndex.marker: value}``.

        Args:
          values: the entries.

        Returns:
          A new :class:`State`.
        """
        return _new_state(dict(values))

    def _values(self) -> dict:
        if isinstance(self._state, _Sentinel):
            raise ValueError(_STATE_ERROR)
        return self._state

    def get(self, item: StateIndex):
        """The value stored under ``item``.

        Args:
          item: a :class:`StateIndex` of the model.

        Returns:
          The current value (a pytree of arrays).
        """
        values = self._values()
        if type(item) is not StateIndex:
            raise ValueError("Can only use `fg.nn.StateIndex`s as state keys.")
        return values[item.marker]

    def set(self, item: StateIndex, value) -> State:
        """A new state with ``item``'s value replaced; this state is retired.

        Args:
          item: a :class:`StateIndex` of the model.
          value: the new value: the old value's structure, shapes and dtypes.

        Returns:
          The new :class:`State`.

        Raises:
          ValueError: if the new value's structure, shapes or dtypes differ.
        """
        values = self._values()
        if type(item) is not StateIndex:
            raise ValueError("Can only use `fg.nn.StateIndex`s as state keys.")
        value = tu.tree_map(fnp.asarray, value)
        old, new = _struct(values[item.marker]), _struct(value)
        if old != new:
            raise ValueError(
                "Old and new values have different structures/shapes/dtypes. The old "
                f"value is {old} and the new value is {new}."
            )
        self._state = _sentinel
        return _new_state({**values, item.marker: value})

    def substate(self, pytree) -> State:
        """The part of this state that the indices in ``pytree`` refer to.

        Args:
          pytree: a pytree (e.g. a sub-module) holding :class:`StateIndex` nodes.

        Returns:
          A :class:`State` with those entries only.
        """
        values = self._values()
        leaves = tu.tree_leaves(pytree, is_leaf=_is_index)
        return _new_state({x.marker: values[x.marker] for x in leaves if _is_index(x)})

    def update(self, substate: State) -> State:
        """A new state with the entries of ``substate`` replaced; this state is retired.

        Args:
          substate: a :class:`State` from :meth:`substate` (possibly advanced).

        Returns:
          The merged :class:`State`.

        Raises:
          ValueError: if ``substate`` has an entry this state lacks.
        """
        values = dict(self._values())
        if type(substate) is not State:
            raise ValueError("Can only use `fg.nn.State`s in `update`.")
        for k, v in substate._values().items():
            if k not in values:
                raise ValueError(
                    "Cannot call `state1.update(state2)` unless `state2` is a substate of `state1`."
                )
            values[k] = v
        self._state = _sentinel
        return _new_state(values)

    def __repr__(self) -> str:
        if isinstance(self._state, _Sentinel):
            return "State(~old~)"
        from funcgrad.nn._module import tree_pformat

        return "State(" + ", ".join(tree_pformat(v) for v in self._state.values()) + ")"

    def tree_flatten(self):
        """The pytree protocol: ``(values, keys)``.

        Returns:
          The values and the markers (the tree's auxiliary data).
        """
        keys = tuple(self._values())
        return tuple(self._state[k] for k in keys), keys

    @classmethod
    def tree_unflatten(cls, keys, values):
        """The pytree protocol: a state from the markers and the values.

        Args:
          keys: the markers from :meth:`tree_flatten`.
          values: the values.

        Returns:
          A new :class:`State`.
        """
        return _new_state(dict(zip(keys, values)))


def delete_init_state(model):
    """A copy of ``model`` whose :class:`StateIndex` nodes no longer hold initial values.

    Args:
      model: a pytree holding :class:`StateIndex` nodes.

    Returns:
      The pytree, smaller in memory (what :func:`make_with_state` returns).
    """
    drop = lambda x: tree_at(lambda i: i.init, x, _sentinel) if _is_index(x) else x
    return tu.tree_map(drop, model, is_leaf=_is_index)


def _named_index(leaf, path_str):
    new = _replace_fields(leaf, init=leaf.init)
    object.__setattr__(new, "marker", path_str)
    return new


def make_with_state(make_model: Callable) -> Callable:
    """Wraps a model constructor to return ``(model, state)`` (as ``eqx.nn.make_with_state``).

    Each :class:`StateIndex` gets a marker named after its path in the model (so the state
    survives serialisation), the initial values move into the :class:`State`, and are
    removed from the model.

    Args:
      make_model: a callable building the model (usually the class).

    Returns:
      A callable with ``make_model``'s arguments returning ``(model, state)``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> bn, state = fg.nn.make_with_state(fg.nn.BatchNorm)(2, None, mode="batch")
    >>> y, state = bn(fnp.ones((4, 2)), state)
    >>> y.shape
    (4, 2)
    """

    def make(*args, **kwargs):
        model = make_model(*args, **kwargs)
        pairs, td = tu.tree_flatten_with_path(model, is_leaf=_is_index)
        leaves = [
            _named_index(leaf, type(model).__name__ + tu.keystr(path)) if _is_index(leaf) else leaf
            for path, leaf in pairs
        ]
        model = tu.tree_unflatten(td, leaves)
        state = State(model)
        return delete_init_state(model), state

    return make


class StatefulLayer(Module):
    """Base class of layers called as ``layer(x, state, *, key=None) -> (y, state)``.

    :class:`Sequential` passes the state through every layer whose ``is_stateful()`` is
    True.
    """

    def is_stateful(self) -> bool:
        """Whether the layer takes and returns a state (True here).

        Returns:
          ``True``.
        """
        return True
