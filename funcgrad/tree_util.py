"""Pytrees: nested containers of arrays, flattened at every API boundary.

Built-in nodes: tuple, list, dict (sorted keys, like JAX), None (no leaves), namedtuples,
and anything registered with :func:`register_pytree_node`, :func:`register_dataclass` or
:func:`register_pytree_with_keys`.
"""

from __future__ import annotations

import builtins  # fg.tree is this module: its aliases fg.tree.all / .map shadow builtins
import collections
import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "PyTreeDef",
    "tree_flatten",
    "tree_unflatten",
    "tree_leaves",
    "tree_structure",
    "tree_map",
    "tree_map_with_path",
    "tree_flatten_with_path",
    "tree_leaves_with_path",
    "tree_reduce",
    "tree_all",
    "tree_transpose",
    "register_pytree_node",
    "register_pytree_with_keys",
    "register_dataclass",
    "register_static",
    "SequenceKey",
    "DictKey",
    "GetAttrKey",
    "FlattenedIndexKey",
    "keystr",
    "all_leaves",
    "treedef_is_leaf",
    "Partial",
    "register_pytree_node_class",
    "treedef_children",
    "build_tree",
    "tree_broadcast",
]


from funcgrad._src.tree_keys import (  # noqa: E402  (key path entries, as jax.tree_util)
    DictKey,
    FlattenedIndexKey,
    GetAttrKey,
    SequenceKey,
    keystr,
)

# ---- the registry -----------------------------------------------------------------------


class _NodeType(NamedTuple):
    # to_iter(x) -> (children, aux); from_iter(aux, children) -> x
    # keys(x, aux) -> tuple of key entries for the children
    to_iter: Callable
    from_iter: Callable
    keys: Callable


_registry: dict[type, _NodeType] = {}


def register_pytree_node(
    nodetype: type,
    flatten_func: Callable,
    unflatten_func: Callable,
    flatten_with_keys_func: Callable | None = None,
) -> None:
    """Register a container type: ``flatten(x) -> (children, aux)``, ``unflatten(aux, children)``.

    Args:
      nodetype: the type to register.
      flatten_func: ``flatten(x) -> (children, aux)``; ``aux`` is static (hashable,
        compared between trees).
      unflatten_func: ``unflatten(aux, children) -> x``.
      flatten_with_keys_func: optional ``x -> ([(key, child), ...], aux)`` giving the key
        path entries; without it children are keyed by :class:`FlattenedIndexKey`.

    Returns:
      None.

    Raises:
      ValueError: if ``nodetype`` is already registered.
    """
    if nodetype in _registry:
        raise ValueError(f"{nodetype.__name__} is already registered as a pytree node")
    if flatten_with_keys_func is None:
        keys = lambda x, aux: tuple(FlattenedIndexKey(i) for i in range(len(flatten_func(x)[0])))
    else:
        keys = lambda x, aux: tuple(k for k, _ in flatten_with_keys_func(x)[0])
    _registry[nodetype] = _NodeType(flatten_func, unflatten_func, keys)


def register_pytree_node_class(cls: type) -> type:
    """Class decorator: register ``cls`` with its ``tree_flatten()`` method (returning
    ``(children, aux_data)``) and ``tree_unflatten(aux_data, children)`` classmethod.

    Args:
      cls: the class.

    Returns:
      ``cls`` itself.

    Raises:
      TypeError: if ``cls`` lacks either method.
      ValueError: if ``cls`` is already registered.

    >>> @register_pytree_node_class
    ... class Pair:
    ...     def __init__(self, a, b): self.a, self.b = a, b
    ...     def tree_flatten(self): return (self.a, self.b), None
    ...     @classmethod
    ...     def tree_unflatten(cls, aux, children): return cls(*children)
    >>> tree_leaves(Pair(1, (2, 3)))
    [1, 2, 3]
    """
    for name in ("tree_flatten", "tree_unflatten"):
        if not callable(getattr(cls, name, None)):
            raise TypeError(
                f"register_pytree_node_class: {cls.__name__} needs a "
                f"{name} method (tree_flatten(self) -> (children, aux_data); "
                f"classmethod tree_unflatten(cls, aux_data, children))"
            )
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def register_pytree_with_keys(
    nodetype: type,
    flatten_with_keys: Callable,
    unflatten_func: Callable,
    flatten_func: Callable | None = None,
):
    """Register a type whose flatten returns ``([(key, child), ...], aux)``.

    A type registered before is re-registered (replaced).

    Args:
      nodetype: the type to register.
      flatten_with_keys: ``x -> ([(key, child), ...], aux)``.
      unflatten_func: ``unflatten(aux, children) -> x``.
      flatten_func: optional faster ``x -> (children, aux)``; default derived from
        ``flatten_with_keys``.

    Returns:
      ``nodetype``.
    """

    def flat(x):
        kc, aux = flatten_with_keys(x)
        return [c for _, c in kc], aux

    _registry[nodetype] = _NodeType(
        flatten_func or flat,
        unflatten_func,
        lambda x, aux: tuple(k for k, _ in flatten_with_keys(x)[0]),
    )
    return nodetype


def register_dataclass(nodetype=None, *, data_fields=None, meta_fields=None, drop_fields=()):
    """Register a dataclass: ``data_fields`` are children, ``meta_fields`` are static (hashed).

    Without explicit lists, fields marked ``field(metadata={"static": True})`` are meta fields
    and all others data fields. Usable as a decorator (with or without arguments).
    Unflattening bypasses ``__init__``.

    Args:
      nodetype: the dataclass (None when used as ``@register_dataclass(...)``).
      data_fields: the names of the fields that are children.
      meta_fields: the names of the static fields (part of the tree structure).
      drop_fields: fields left out of both (only without explicit ``data_fields``).

    Returns:
      ``nodetype``, or a decorator when ``nodetype`` is None.
    """
    if nodetype is None:
        return functools.partial(
            register_dataclass,
            data_fields=data_fields,
            meta_fields=meta_fields,
            drop_fields=drop_fields,
        )
    if data_fields is None:
        fields = [f for f in dataclasses.fields(nodetype) if f.name not in drop_fields]
        meta_fields = [f.name for f in fields if f.metadata.get("static", False)]
        data_fields = [f.name for f in fields if not f.metadata.get("static", False)]
    data_fields, meta_fields = tuple(data_fields), tuple(meta_fields or ())

    def flatten(x):
        return [getattr(x, n) for n in data_fields], tuple(getattr(x, n) for n in meta_fields)

    def unflatten(aux, children):
        obj = object.__new__(nodetype)
        for n, v in zip(data_fields, children):
            object.__setattr__(obj, n, v)
        for n, v in zip(meta_fields, aux):
            object.__setattr__(obj, n, v)
        return obj

    _registry[nodetype] = _NodeType(
        flatten, unflatten, lambda x, aux: tuple(GetAttrKey(n) for n in data_fields)
    )
    return nodetype


def register_static(cls: type) -> type:
    """Register a type as a node with no children (the whole value is static metadata).

    Args:
      cls: the type; its instances must be hashable and comparable.

    Returns:
      ``cls`` (usable as a decorator).
    """
    _registry[cls] = _NodeType(lambda x: ((), x), lambda aux, _: aux, lambda x, aux: ())
    return cls


def _dict_flatten(d):
    try:  # as JAX: keys sorted by their own order; keys that do not compare are an error
        keys = sorted(d)
    except TypeError as e:
        raise ValueError("Comparator raised exception while sorting pytree dictionary keys.") from e
    return [d[k] for k in keys], tuple(keys)


def _aux_eq(a, b) -> bool:
    """Node data compared by equality (as JAX), arrays included (all elements equal)."""
    if a is b:
        return True
    try:
        r = a == b
        if isinstance(r, np.ndarray):
            return np.shape(a) == np.shape(b) and bool(r.all())
        return bool(r)
    except Exception:  # noqa: BLE001 - data that cannot be compared is not equal
        return False


_registry[tuple] = _NodeType(
    lambda x: (list(x), None),
    lambda _, c: tuple(c),
    lambda x, aux: tuple(SequenceKey(i) for i in range(len(x))),
)
_registry[list] = _NodeType(
    lambda x: (list(x), None),
    lambda _, c: list(c),
    lambda x, aux: tuple(SequenceKey(i) for i in range(len(x))),
)
_registry[dict] = _NodeType(
    _dict_flatten, lambda keys, c: dict(zip(keys, c)), lambda x, aux: tuple(DictKey(k) for k in aux)
)
_registry[type(None)] = _NodeType(lambda x: ([], None), lambda _, c: None, lambda x, aux: ())
# as in JAX: OrderedDict keeps insertion order, defaultdict sorts its keys like dict
_registry[collections.OrderedDict] = _NodeType(
    lambda d: (list(d.values()), tuple(d)),
    lambda keys, c: collections.OrderedDict(zip(keys, c)),
    lambda x, aux: tuple(DictKey(k) for k in aux),
)
_registry[collections.defaultdict] = _NodeType(
    lambda d: (lambda vals, keys: (vals, (d.default_factory, keys)))(*_dict_flatten(d)),
    lambda aux, c: collections.defaultdict(aux[0], zip(aux[1], c)),
    lambda x, aux: tuple(DictKey(k) for k in aux[1]),
)


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields") and type(x) is not tuple


def _node_of(x) -> tuple[Any, _NodeType] | None:
    t = type(x)
    if t in _registry:
        return t, _registry[t]
    if _is_namedtuple(x):
        return t, _NodeType(
            lambda v: (list(v), None),
            lambda _, c, t=t: t(*c),
            lambda v, aux: tuple(GetAttrKey(f) for f in type(v)._fields),
        )
    return None


# ---- PyTreeDef --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PyTreeDef:
    """The structure of a pytree: hashable, comparable, printable.

    Made by :func:`tree_flatten` / :func:`tree_structure` rather than by hand.

    Args:
      node_type: the node's type (None for a leaf).
      aux: the node's static data.
      children: the children's ``PyTreeDef``s (a tuple).
    """

    node_type: Any  # None for a leaf
    aux: Any
    children: tuple

    @property
    def num_leaves(self) -> int:
        if self.node_type is None:
            return 1
        return sum(c.num_leaves for c in self.children)

    @property
    def num_nodes(self) -> int:
        return 1 + sum(c.num_nodes for c in self.children)

    def unflatten(self, leaves):
        """Rebuild a pytree of this structure (as :func:`tree_unflatten`).

        Args:
          leaves: an iterable of ``num_leaves`` leaves.

        Returns:
          The pytree.
        """
        return tree_unflatten(self, leaves)

    def flatten_up_to(self, tree) -> list:
        """Flatten ``tree`` only as deep as this structure (its leaves may be subtrees).

        Args:
          tree: a pytree with this structure as a prefix.

        Returns:
          A list with one entry (leaf or subtree) per leaf of this structure.

        Raises:
          ValueError: if the structures differ.
        """
        return _flatten_up_to(self, tree, None)[0]

    def __eq__(self, other) -> bool:  # aux by equality: it need not be hashable (as JAX)
        if self is other:
            return True
        if not isinstance(other, PyTreeDef):
            return NotImplemented
        return (
            self.node_type is other.node_type
            and self.children == other.children
            and _aux_eq(self.aux, other.aux)
        )

    def __hash__(self) -> int:  # without aux (as JAX): equal treedefs still hash alike
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash((self.node_type, len(self.children), self.children))
            object.__setattr__(self, "_hash", h)
        return h

    def __repr__(self) -> str:
        return f"PyTreeDef({self._str()})"

    def _str(self) -> str:
        if self.node_type is None:
            return "*"
        kids = [c._str() for c in self.children]
        if self.node_type is tuple:
            return "(" + ", ".join(kids) + ("," if len(kids) == 1 else "") + ")"
        if self.node_type is list:
            return "[" + ", ".join(kids) + "]"
        if self.node_type is dict:
            return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(self.aux, kids)) + "}"
        if self.node_type is type(None):
            return "None"
        return f"CustomNode({self.node_type.__name__}[{self.aux!r}], [{', '.join(kids)}])"


_LEAF = PyTreeDef(None, None, ())


def _flatten(x, is_leaf, leaves):
    if x is None and is_leaf is None:
        return PyTreeDef(type(None), None, ())
    if is_leaf is not None and is_leaf(x):
        leaves.append(x)
        return _LEAF
    node = _node_of(x)
    if node is None:
        leaves.append(x)
        return _LEAF
    t, nt = node
    children, aux = nt.to_iter(x)
    return PyTreeDef(t, aux, tuple(_flatten(c, is_leaf, leaves) for c in children))


def tree_flatten(tree, is_leaf: Callable | None = None):
    """Flatten a pytree into ``(leaves, treedef)``.

    Args:
      tree: a pytree (None is a node without leaves unless ``is_leaf`` says otherwise).
      is_leaf: optional predicate: subtrees it is true for are leaves (not flattened).

    Returns:
      ``(leaves, treedef)``: the leaves in order (dict keys sorted) and a :class:`PyTreeDef`.
    """
    leaves: list = []
    return leaves, _flatten(tree, is_leaf, leaves)


def _unflatten(td: PyTreeDef, it):
    if td.node_type is None:
        return next(it)
    children = [_unflatten(c, it) for c in td.children]
    if td.node_type in _registry:
        return _registry[td.node_type].from_iter(td.aux, children)
    return td.node_type(*children)  # namedtuple


def tree_unflatten(treedef: PyTreeDef, leaves):
    """Rebuild a pytree with ``treedef``'s structure from ``leaves``.

    Args:
      treedef: a :class:`PyTreeDef`.
      leaves: an iterable with ``treedef.num_leaves`` leaves.

    Returns:
      The pytree.

    Raises:
      ValueError: if the number of leaves is wrong.
    """
    leaves = list(leaves)
    if len(leaves) != treedef.num_leaves:
        raise ValueError(
            f"tree_unflatten: the structure {treedef} has {treedef.num_leaves} "
            f"leaves but {len(leaves)} were given"
        )
    return _unflatten(treedef, iter(leaves))


def tree_leaves(tree, is_leaf=None) -> list:
    """The leaves of a pytree, in flattening order.

    Args:
      tree: a pytree.
      is_leaf: optional predicate: subtrees it is true for are leaves (not flattened).

    Returns:
      A list of leaves.
    """
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None) -> PyTreeDef:
    """The structure of a pytree.

    Args:
      tree: a pytree.
      is_leaf: optional predicate: subtrees it is true for are leaves (not flattened).

    Returns:
      A :class:`PyTreeDef`.
    """
    return tree_flatten(tree, is_leaf)[1]


def treedef_is_leaf(td: PyTreeDef) -> bool:
    """Whether a structure is a single leaf.

    Args:
      td: a :class:`PyTreeDef`.

    Returns:
      ``True`` for the structure of a leaf.
    """
    return td.node_type is None


def all_leaves(iterable, is_leaf=None) -> bool:
    """Whether every element of ``iterable`` is a leaf (not a container).

    Args:
      iterable: the objects to test.
      is_leaf: optional predicate: subtrees it is true for are leaves (not flattened).

    Returns:
      ``True`` if each element's structure is a leaf.
    """
    return builtins.all(treedef_is_leaf(tree_structure(x, is_leaf)) for x in iterable)


def structure_mismatch(what: str, a: PyTreeDef, b: PyTreeDef) -> ValueError:
    return ValueError(f"{what}: pytree structures differ.\n  first:  {a}\n  second: {b}")


def tree_map(f: Callable, tree, *rest, is_leaf: Callable | None = None):
    """Apply ``f`` to each leaf (and the matching leaves of ``rest``), keeping the structure.

    Args:
      f: a function of ``1 + len(rest)`` leaves.
      tree: a pytree.
      *rest: pytrees with ``tree``'s structure as a prefix (their matching subtrees are
        passed whole).
      is_leaf: optional predicate: subtrees it is true for are leaves (not flattened).

    Returns:
      A pytree of ``tree``'s structure holding ``f``'s results.

    Raises:
      ValueError: if a tree of ``rest`` does not have ``tree``'s structure.
    """
    leaves, td = tree_flatten(tree, is_leaf)
    others = []
    for r in rest:
        rl, rtd = _flatten_up_to(td, r, is_leaf)
        others.append(rl)
    return tree_unflatten(td, [f(*xs) for xs in zip(leaves, *others)])


def _flatten_up_to(td: PyTreeDef, tree, is_leaf):
    """Flatten ``tree`` only as deep as ``td`` (its leaves may be subtrees)."""
    out: list = []

    def go(t, x):
        if t.node_type is None:
            out.append(x)
            return
        node = _node_of(x) if x is not None else (type(None), _registry[type(None)])
        if node is None or node[0] is not t.node_type:
            raise structure_mismatch("tree_map", td, tree_structure(tree, is_leaf))
        children, aux = node[1].to_iter(x)
        if not _aux_eq(aux, t.aux) or len(children) != len(t.children):
            raise structure_mismatch("tree_map", td, tree_structure(tree, is_leaf))
        for ct, cx in zip(t.children, children):
            go(ct, cx)

    go(td, tree)
    return out, td


def _flatten_with_path(x, path, is_leaf, out):
    if x is None:
        return
    if is_leaf is not None and is_leaf(x):
        out.append((path, x))
        return
    node = _node_of(x)
    if node is None:
        out.append((path, x))
        return
    children, aux = node[1].to_iter(x)
    keys = node[1].keys(x, aux)
    for k, c in zip(keys, children):
        _flatten_with_path(c, path + (k,), is_leaf, out)


def tree_flatten_with_path(tree, is_leaf=None):
    """Like tree_flatten, but leaves come as ``(key_path, leaf)`` pairs.

    Args:
      tree: a pytree.
      is_leaf: optional predicate: subtrees it is true for are leaves (not flattened).

    Returns:
      ``([(key_path, leaf), ...], treedef)``; a key path is a tuple of key entries
      (:class:`SequenceKey`, :class:`DictKey`, :class:`GetAttrKey`, ...).
    """
    out: list = []
    _flatten_with_path(tree, (), is_leaf, out)
    return out, tree_structure(tree, is_leaf)


def tree_leaves_with_path(tree, is_leaf=None):
    """The ``(key_path, leaf)`` pairs of a pytree (see :func:`tree_flatten_with_path`).

    Args:
      tree: a pytree.
      is_leaf: optional predicate: subtrees it is true for are leaves (not flattened).

    Returns:
      A list of ``(key_path, leaf)`` pairs.
    """
    return tree_flatten_with_path(tree, is_leaf)[0]


def tree_map_with_path(f: Callable, tree, *rest, is_leaf=None):
    """Like tree_map, but ``f(path, leaf, *others)``.

    Args:
      f: a function of a key path and ``1 + len(rest)`` leaves.
      tree: a pytree.
      *rest: pytrees with ``tree``'s structure as a prefix.
      is_leaf: optional predicate: subtrees it is true for are leaves (not flattened).

    Returns:
      A pytree of ``tree``'s structure holding ``f``'s results.

    Raises:
      ValueError: if a tree of ``rest`` does not have ``tree``'s structure.
    """
    pl, td = tree_flatten_with_path(tree, is_leaf)
    others = [_flatten_up_to(td, r, is_leaf)[0] for r in rest]
    return tree_unflatten(td, [f(p, x, *o) for (p, x), *o in zip(pl, *others)])


_NO_INIT = object()


def tree_reduce(f: Callable, tree, initializer=_NO_INIT, is_leaf=None):
    """Fold the leaves with ``f`` (``functools.reduce`` over :func:`tree_leaves`).

    Args:
      f: a function of two values.
      tree: a pytree.
      initializer: the starting value (default: the first leaf).
      is_leaf: optional predicate: subtrees it is true for are leaves (not flattened).

    Returns:
      The reduced value.

    Raises:
      TypeError: for a tree without leaves and no ``initializer``.
    """
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _NO_INIT:
        return functools.reduce(f, leaves)
    return functools.reduce(f, leaves, initializer)


def tree_all(tree) -> bool:
    """Whether every leaf is truthy.

    Args:
      tree: a pytree.

    Returns:
      ``all(tree_leaves(tree))``.
    """
    return builtins.all(tree_leaves(tree))


def tree_transpose(outer_treedef: PyTreeDef, inner_treedef: PyTreeDef, pytree_to_transpose):
    """Turn an outer tree of inner trees into an inner tree of outer trees.

    Args:
      outer_treedef: the outer structure.
      inner_treedef: the structure of each inner tree.
      pytree_to_transpose: a tree of ``outer_treedef`` whose leaves are trees of
        ``inner_treedef``.

    Returns:
      A tree of ``inner_treedef`` whose leaves are trees of ``outer_treedef``.

    Raises:
      ValueError: if the structures do not match.
    """
    flat = _flatten_up_to(outer_treedef, pytree_to_transpose, None)[0]
    inner = [_flatten_up_to(inner_treedef, x, None)[0] for x in flat]
    cols = [tree_unflatten(outer_treedef, list(col)) for col in zip(*inner)]
    return tree_unflatten(inner_treedef, cols)


class Partial(functools.partial):
    """A ``functools.partial`` that is a pytree (its bound args are children).

    The function is static (part of the tree structure).

    Args:
      func: the function.
      *args: positional arguments bound (pytree children).
      **kwargs: keyword arguments bound (pytree children).
    """


register_pytree_node(
    Partial,
    lambda p: ((p.args, p.keywords), p.func),
    lambda func, c: Partial(func, *c[0], **c[1]),
)


def treedef_children(treedef: PyTreeDef) -> list:
    """The structures of the root's children, in order.

    Args:
      treedef: a :class:`PyTreeDef`.

    Returns:
      A list of :class:`PyTreeDef` (empty for a leaf).
    """
    return list(treedef.children)


def _build(td: PyTreeDef, xs):
    if td.node_type is None:
        return xs
    kids = list(xs)
    if len(kids) != len(td.children):
        raise ValueError(
            f"build_tree: a node of {td} has {len(td.children)} children but "
            f"{len(kids)} values were given for it"
        )
    children = [_build(c, x) for c, x in zip(td.children, kids)]
    if td.node_type in _registry:
        return _registry[td.node_type].from_iter(td.aux, children)
    return td.node_type(*children)  # namedtuple


def build_tree(treedef: PyTreeDef, xs):
    """Build a tree of ``treedef``'s structure from nested iterables ``xs``: at each node
    ``xs`` is an iterable of that node's children; at each leaf, the leaf value.

    Args:
      treedef: the structure.
      xs: nested iterables matching ``treedef``.

    Returns:
      The pytree.

    Raises:
      ValueError: if a node gets the wrong number of children.

    >>> build_tree(tree_structure({"a": 0, "b": (0, 0)}), [1, (2, 3)])
    {'a': 1, 'b': (2, 3)}
    """
    return _build(treedef, xs)


def tree_broadcast(prefix_tree, full_tree, is_leaf=None):
    """Repeat each leaf of ``prefix_tree`` over the matching subtree of ``full_tree``.

    Args:
      prefix_tree: a pytree whose structure is a prefix of ``full_tree``'s.
      full_tree: the pytree giving the result's structure.
      is_leaf: optional predicate: subtrees it is true for are leaves (not flattened).

    Returns:
      A pytree of ``full_tree``'s structure.

    Raises:
      ValueError: if ``prefix_tree`` is not a prefix of ``full_tree``.

    >>> tree_broadcast((1, 2), ([0, 0], {"x": 0}))
    ([1, 1], {'x': 2})
    """
    leaves, td = tree_flatten(prefix_tree, is_leaf)
    try:
        subtrees = _flatten_up_to(td, full_tree, is_leaf)[0]
    except ValueError as e:
        raise ValueError(
            f"tree_broadcast: prefix_tree is not a prefix of full_tree.\n{e}"
        ) from None
    return tree_unflatten(
        td, [tree_map(lambda _, v=v: v, sub, is_leaf=is_leaf) for v, sub in zip(leaves, subtrees)]
    )
