"""``Module``: a frozen dataclass that is a pytree (Equinox's design), and tree utilities.

Array fields are the children (parameters); fields marked ``static_field()`` are hashed
metadata (hyperparameters). Modules are never mutated: "changing" one builds a new tree.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from funcgrad import tree_util as tu
from funcgrad._src.array import Array, get_aval
from funcgrad._src.core import Tracer

__all__ = [
    "Module",
    "combine",
    "count_params",
    "field",
    "filter",
    "inference_mode",
    "is_array",
    "is_inexact_array",
    "partition",
    "static_field",
    "train_mode",
    "tree_at",
    "tree_pformat",
]


def field(*, static: bool = False, converter: Callable | None = None, **kwargs) -> Any:
    """A dataclass field of a :class:`Module`, as ``eqx.field``.

    Args:
      static: True for a hyperparameter (hashed into the tree structure, not a pytree child).
      converter: applied to the field's value when ``__init__`` returns (Equinox's
        converters), e.g. ``converter=fnp.asarray``.
      **kwargs: passed on to ``dataclasses.field`` (``default``, ``default_factory``,
        ``metadata``, ...).

    Returns:
      A ``dataclasses.Field`` to use as the field's default in the class body.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> class Scale(fg.nn.Module):
    ...     factor: fg.Array = fg.nn.field(converter=fnp.asarray)
    >>> Scale(2.0).factor
    Array(2., dtype=float32, weak_type=True)
    """
    metadata = dict(kwargs.pop("metadata", {}) or {})
    if static:
        metadata["static"] = True
    if converter is not None:
        metadata["converter"] = converter
    return dataclasses.field(metadata=metadata, **kwargs)


def static_field(**kwargs) -> Any:
    """A hyperparameter field: hashed into the tree structure, never a parameter.

    Args:
      **kwargs: passed on to ``dataclasses.field`` (``default``, ``default_factory``, ...).

    Returns:
      A ``dataclasses.Field`` marked static (``field(static=True, **kwargs)``).

    >>> import funcgrad as fg
    >>> class Scale(fg.nn.Module):
    ...     factor: float = fg.nn.static_field()
    ...     def __call__(self, x, *, key=None):
    ...         return x * self.factor
    >>> fg.tree.leaves(Scale(2.0))
    []
    """
    return field(static=True, **kwargs)


# ---- the Module class ---------------------------------------------------------------------------

_initialising: dict[int, int] = {}  # id(module) -> depth of __init__ calls running on it


def _wrap_init(init: Callable, cls: type) -> Callable:
    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        _initialising[id(self)] = _initialising.get(id(self), 0) + 1
        try:
            init(self, *args, **kwargs)
        finally:
            _initialising[id(self)] -= 1
            if not _initialising[id(self)]:
                del _initialising[id(self)]
        if type(self) is cls:
            _check_all_set(self)
            _convert_and_check(self)

    return __init__


def _convert_and_check(module) -> None:
    """Equinox's end of ``__init__``: field converters, then every ``__check_init__``."""
    for f in dataclasses.fields(module):
        conv = f.metadata.get("converter")
        if conv is not None:
            object.__setattr__(module, f.name, conv(module.__dict__[f.name]))
    for klass in type(module).__mro__:
        check = klass.__dict__.get("__check_init__")
        if check is not None:
            check(module)


def _call_error(call, self, args, kwargs) -> str | None:
    """A clear message when ``args``/``kwargs`` do not fit ``call``'s signature, else None."""
    try:
        sig = inspect.signature(call)
        sig.bind(self, *args, **kwargs)
    except TypeError as e:
        name = type(self).__name__
        shown = str(sig).replace("(self, ", "(", 1).replace("(self)", "()", 1)
        hint = ""
        if "key" in kwargs and "key" not in sig.parameters:
            hint = (
                " Layers are called with a keyword-only PRNG key by Sequential and friends: "
                "define `def __call__(self, x, *, key=None)`."
            )
        return f"{name}.__call__{shown} cannot be called that way: {e}.{hint}"
    except ValueError:  # no signature (a builtin): nothing to add
        return None
    return None


def _checked_call(call: Callable) -> Callable:
    @functools.wraps(call)
    def __call__(self, *args, **kwargs):
        try:
            return call(self, *args, **kwargs)
        except TypeError as e:
            msg = _call_error(call, self, args, kwargs)
            if msg is None:  # the TypeError came from inside the call: not ours to explain
                raise
            raise TypeError(msg) from e

    __call__._fg_checked = True
    return __call__


def _check_all_set(module) -> None:
    missing = [f.name for f in dataclasses.fields(module) if f.name not in module.__dict__]
    if missing:
        raise TypeError(
            f"{type(module).__name__}.__init__ did not set the field(s) {', '.join(missing)}"
        )


class Module:
    """Base class of layers and models: a frozen dataclass registered as a pytree.

    Subclasses are made dataclasses automatically. Declare parameters as plain annotated
    fields and hyperparameters with :func:`static_field`. A custom ``__init__`` may assign
    ``self.x = ...``; after it returns the module is immutable. Calling a module with
    arguments its ``__call__`` does not take raises a ``TypeError`` that shows the signature
    (and, for an unexpected ``key=``, how to accept one). As Equinox, field converters
    (:func:`field`) run when ``__init__`` returns, then every ``__check_init__(self)`` of the
    class and its bases (to validate).

    Args:
      *args, **kwargs: the subclass's fields (the generated dataclass ``__init__``), or what
        its own ``__init__`` takes.

    Raises:
      TypeError: if a custom ``__init__`` leaves a field unset.
      dataclasses.FrozenInstanceError: on assigning or deleting an attribute afterwards.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> class Affine(fg.nn.Module):
    ...     w: fg.Array
    ...     b: fg.Array
    ...     def __call__(self, x, *, key=None):
    ...         return self.w * x + self.b
    >>> m = Affine(fnp.ones(2), fnp.zeros(2))
    >>> m
    Affine(w=f32[2], b=f32[2])
    >>> fg.grad(lambda m: fnp.sum(m(fnp.ones(2))))(m).w
    Array([1., 1.], dtype=float32)
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # a hand-written __init__ (here or in a parent) is kept; otherwise dataclass writes one
        cls._custom_init = "__init__" in cls.__dict__ or getattr(cls, "_custom_init", False)
        dataclasses.dataclass(frozen=True, init=not cls._custom_init, repr=False, eq=False)(cls)
        for name in ("__setattr__", "__delattr__"):  # ours say what to write instead
            if name in cls.__dict__:
                delattr(cls, name)
        cls.__init__ = _wrap_init(cls.__init__, cls)
        call = cls.__dict__.get("__call__")
        if callable(call) and not getattr(call, "_fg_checked", False):
            cls.__call__ = _checked_call(call)
        tu.register_dataclass(cls)

    def __setattr__(self, name, value):
        if _initialising.get(id(self)):
            object.__setattr__(self, name, value)
            return
        raise dataclasses.FrozenInstanceError(
            f"cannot assign {type(self).__name__}.{name}: modules are immutable. Build a new "
            f"tree instead, e.g. fg.nn.tree_at(lambda m: m.{name}, model, new_value)"
        )

    def __delattr__(self, name):
        raise dataclasses.FrozenInstanceError(
            f"cannot delete {type(self).__name__}.{name}: modules are immutable"
        )

    def __repr__(self) -> str:
        return tree_pformat(self)


# ---- pretty printing ----------------------------------------------------------------------------

_WIDTH = 88


def _short(x) -> str | None:
    if is_array(x):
        return (
            get_aval(x).str_short()
            if not isinstance(x, (np.ndarray, np.generic))
            else f"np:{np.dtype(x.dtype).name}{list(np.shape(x))}".replace(" ", "")
        )
    if isinstance(x, (functools.partial,)):
        return f"partial({_short(x.func)})"
    if callable(x) and hasattr(x, "__name__") and not isinstance(x, (type, Module)):
        return f"<function {x.__name__}>"
    return None


def _items(x):
    """(prefix, [(label, child)], suffix) for containers we print, else None."""
    if isinstance(x, Module):
        return (
            f"{type(x).__name__}(",
            [(f.name + "=", getattr(x, f.name, None)) for f in dataclasses.fields(x) if f.repr],
            ")",
        )
    if isinstance(x, tuple) and hasattr(type(x), "_fields"):
        return f"{type(x).__name__}(", [(k + "=", v) for k, v in zip(x._fields, x)], ")"
    if isinstance(x, (list, tuple)):
        o, c = ("[", "]") if isinstance(x, list) else ("(", ",)" if len(x) == 1 else ")")
        return o, [("", v) for v in x], c
    if isinstance(x, dict):
        return "{", [(f"{k!r}: ", v) for k, v in x.items()], "}"
    return None


def tree_pformat(tree, indent: int = 0) -> str:
    """A readable string of a pytree: arrays shown as ``f32[3,4]``, containers nested.

    Lines longer than 88 characters are broken, one child per line.

    Args:
      tree: any pytree (modules, tuples, named tuples, lists, dicts, arrays, other leaves).
      indent: the column the text starts at (for nested calls).

    Returns:
      The text (a ``str``).

    >>> import funcgrad as fg
    >>> fg.nn.tree_pformat({"w": fg.numpy.zeros((2, 3)), "n": 3})
    "{'w': f32[2,3], 'n': 3}"
    """
    short = _short(tree)
    if short is not None:
        return short
    items = _items(tree)
    if items is None:
        return repr(tree)
    open_, kids, close = items
    parts = [label + tree_pformat(v, indent + 2) for label, v in kids]
    one_line = open_ + ", ".join(parts) + close
    if len(one_line) + indent <= _WIDTH and "\n" not in one_line:
        return one_line
    pad = " " * (indent + 2)
    body = "".join(f"\n{pad}{p}," for p in parts)
    return f"{open_}{body}\n{' ' * indent}{close.lstrip(',')}"


# ---- filtering -----------------------------------------------------------------------------------


def is_array(element) -> bool:
    """Whether ``element`` is an array: a funcgrad array, a tracer or a numpy array/scalar.

    Args:
      element: any object (usually a pytree leaf).

    Returns:
      ``True`` for the leaves that count as parameters, else ``False``.
    """
    return isinstance(element, (Array, Tracer, np.ndarray, np.generic))


def is_inexact_array(element) -> bool:
    """Whether ``element`` is a floating (or complex) array: the leaves you differentiate.

    Args:
      element: any object (usually a pytree leaf).

    Returns:
      ``True`` if :func:`is_array` holds and the dtype is floating or complex.
    """
    return is_array(element) and np.dtype(element.dtype).kind in "fc"


def _leaf_pred(is_leaf):
    if is_leaf is None:
        return lambda x: x is None
    return lambda x: x is None or is_leaf(x)


def _leaf_mask(spec, subtree, is_leaf):
    if isinstance(spec, bool):
        return tu.tree_map(lambda _: spec, subtree, is_leaf=is_leaf)
    if callable(spec):
        return tu.tree_map(spec, subtree, is_leaf=is_leaf)
    raise TypeError(f"a filter spec leaf must be a bool or a callable, got {spec!r}")


def _mask(tree, filter_spec, is_leaf):
    if isinstance(filter_spec, bool) or (
        callable(filter_spec) and not isinstance(filter_spec, Module)
    ):
        return _leaf_mask(filter_spec, tree, is_leaf)
    # a pytree prefix of ``tree`` whose leaves are bools or callables
    return tu.tree_map(lambda s, t: _leaf_mask(s, t, is_leaf), filter_spec, tree)


def filter(
    pytree,
    filter_spec: Any = is_array,
    inverse: bool = False,
    replace: Any = None,
    is_leaf: Callable | None = None,
):
    """Keep the leaves where ``filter_spec`` is true; the others become ``replace`` (None).

    Args:
      pytree: any pytree (None leaves are kept as leaves).
      filter_spec: a predicate on leaves, a bool, or a pytree prefix of ``pytree`` whose
        leaves are predicates or bools.
      inverse: keep the leaves where ``filter_spec`` is false instead.
      replace: what the dropped leaves become.
      is_leaf: optional predicate: subtrees it is true for are treated as leaves.

    Returns:
      A pytree of ``pytree``'s structure.

    Raises:
      TypeError: if a leaf of ``filter_spec`` is neither a bool nor a callable.

    >>> import funcgrad as fg
    >>> fg.nn.filter({"w": fg.numpy.ones(2), "act": "relu"})
    {'act': None, 'w': Array([1., 1.], dtype=float32)}
    """
    leaf = _leaf_pred(is_leaf)
    leaves, td = tu.tree_flatten(pytree, is_leaf=leaf)
    keep = tu.tree_leaves(_mask(pytree, filter_spec, leaf), is_leaf=lambda x: x is None)
    return tu.tree_unflatten(
        td, [x if bool(k) != inverse else replace for x, k in zip(leaves, keep)]
    )


def partition(
    pytree, filter_spec: Any = is_array, replace: Any = None, is_leaf: Callable | None = None
):
    """Split ``pytree`` into ``(matching, rest)``; :func:`combine` puts them back together.

    Args:
      pytree: any pytree.
      filter_spec: as for :func:`filter` (default: array leaves).
      replace: what the leaves missing from each part become.
      is_leaf: optional predicate: subtrees it is true for are treated as leaves.

    Returns:
      ``(filter(pytree, filter_spec), filter(pytree, filter_spec, inverse=True))``: two
      pytrees of ``pytree``'s structure.

    >>> import funcgrad as fg
    >>> params, static = fg.nn.partition([fg.numpy.ones(1), "tanh"])
    >>> static
    [None, 'tanh']
    >>> fg.nn.combine(params, static)
    [Array([1.], dtype=float32), 'tanh']
    """
    return (
        filter(pytree, filter_spec, replace=replace, is_leaf=is_leaf),
        filter(pytree, filter_spec, inverse=True, replace=replace, is_leaf=is_leaf),
    )


def combine(*pytrees, is_leaf: Callable | None = None):
    """Merge trees of the same structure, taking the first non-None leaf at each position.

    Args:
      *pytrees: pytrees of one structure (None leaves count as leaves), e.g. the two parts
        of :func:`partition`.
      is_leaf: optional predicate: subtrees it is true for are treated as leaves.

    Returns:
      One pytree of that structure.
    """
    first = lambda *xs: next((x for x in xs if x is not None), None)
    return tu.tree_map(first, *pytrees, is_leaf=_leaf_pred(is_leaf))


def count_params(tree, filter_spec: Any = is_inexact_array) -> int:
    """The number of scalars in the (floating, by default) array leaves of ``tree``.

    Args:
      tree: any pytree (e.g. a module).
      filter_spec: which leaves count, as for :func:`filter` (default: inexact arrays).

    Returns:
      The total size of those leaves (an ``int``).

    >>> import funcgrad as fg
    >>> fg.nn.count_params(fg.nn.Linear(3, 2, key=fg.random.key(0)))
    8
    """
    leaves = tu.tree_leaves(filter(tree, filter_spec))
    return int(sum(int(np.prod(np.shape(x))) for x in leaves))


# ---- tree surgery --------------------------------------------------------------------------------


class _Marker:
    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index


_NOTHING = object()


def _one_level(node):
    return tu.tree_flatten(node, is_leaf=lambda x: x is not node)


def _rebuild(node, targets, leaves):
    """Copy of the marked ``node`` with targets replaced and markers turned back into leaves."""
    if id(node) in targets:
        return targets[id(node)](node)
    if isinstance(node, _Marker):
        return leaves[node.index]
    kids, td = _one_level(node)
    if tu.treedef_is_leaf(td):
        return node
    return tu.tree_unflatten(td, [_rebuild(k, targets, leaves) for k in kids])


def _ids(marked):
    seen = set()

    def walk(n):
        seen.add(id(n))
        if isinstance(n, _Marker):
            return
        kids, td = _one_level(n)
        if not tu.treedef_is_leaf(td):
            for k in kids:
                walk(k)

    walk(marked)
    return seen


def tree_at(
    where: Callable,
    pytree,
    replace: Any = _NOTHING,
    replace_fn: Callable = _NOTHING,
    is_leaf: Callable | None = None,
):
    """A copy of ``pytree`` with the node(s) selected by ``where`` replaced (Equinox's tree_at).

    Static fields are not children; to switch train/inference behaviour use
    :func:`inference_mode`.

    Args:
      where: a function of the tree returning one node or a tuple/list of nodes (children:
        arrays, None, sub-modules, containers).
      pytree: the tree to copy.
      replace: the new value, or a sequence with one value per selected node.
      replace_fn: instead of ``replace``, a function of each old node giving its new value.
      is_leaf: optional predicate: subtrees it is true for are treated as leaves.

    Returns:
      A new pytree; ``pytree`` is not modified.

    Raises:
      ValueError: if neither or both of ``replace`` and ``replace_fn`` are given, if
        ``where`` returns something that is not a node of the tree, or if ``replace`` has
        the wrong number of entries.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> lin = fg.nn.Linear(2, 2, key=fg.random.key(0))
    >>> lin2 = fg.nn.tree_at(lambda m: m.bias, lin, fnp.ones(2))
    >>> lin2.bias
    Array([1., 1.], dtype=float32)
    """
    if (replace is _NOTHING) == (replace_fn is _NOTHING):
        raise ValueError("tree_at: give exactly one of replace= or replace_fn=")
    leaf_pred = lambda x: x is None or (is_leaf is not None and is_leaf(x))
    leaves, td = tu.tree_flatten(pytree, is_leaf=leaf_pred)
    marked = tu.tree_unflatten(td, [_Marker(i) for i in range(len(leaves))])
    nodes = where(marked)
    known = _ids(marked)
    single = id(nodes) in known or not isinstance(nodes, (tuple, list))
    nodes = [nodes] if single else list(nodes)
    bad = [n for n in nodes if id(n) not in known]
    if bad:
        raise ValueError(
            "tree_at: `where` returned something that is not a node of the tree "
            "(a static field, or a value computed from the tree?). Only children "
            "(arrays, None, sub-modules, containers) can be replaced."
        )
    if replace is not _NOTHING:
        values = [replace] if single else list(replace)
        if len(values) != len(nodes):
            raise ValueError(
                f"tree_at: `where` selected {len(nodes)} nodes but replace has "
                f"{len(values)} entries"
            )
        fns = [lambda _, v=v: v for v in values]
    else:
        orig = lambda n: _rebuild(n, {}, leaves)
        fns = [lambda n: replace_fn(orig(n))] * len(nodes)
    targets = {id(n): f for n, f in zip(nodes, fns)}
    return _rebuild(marked, targets, leaves)


def _replace_fields(module, **changes):
    new = object.__new__(type(module))
    for f in dataclasses.fields(module):
        object.__setattr__(new, f.name, changes.get(f.name, getattr(module, f.name)))
    return new


def inference_mode(pytree, value: bool = True):
    """A copy of ``tree`` where every module with an ``inference`` field has it set to ``value``.

    Dropout becomes the identity and BatchNorm uses its running statistics. Nothing is mutated.

    Args:
      pytree: a pytree of modules.
      value: the new value of every ``inference`` field.

    Returns:
      A pytree of the same structure.

    >>> import funcgrad as fg
    >>> model = fg.nn.Sequential([fg.nn.Dropout(0.5)])
    >>> fg.nn.inference_mode(model).layers[0].inference
    True
    """

    def go(node):
        if isinstance(node, Module):
            kids = {
                f.name: go(getattr(node, f.name))
                for f in dataclasses.fields(node)
                if not f.metadata.get("static", False)
            }
            if any(f.name == "inference" for f in dataclasses.fields(node)):
                kids["inference"] = value
            return _replace_fields(node, **kids)
        kids, td = _one_level(node)
        if tu.treedef_is_leaf(td):
            return node
        return tu.tree_unflatten(td, [go(k) for k in kids])

    return go(pytree)


def train_mode(tree):
    """The inverse of :func:`inference_mode`: a copy with every ``inference`` field False.

    Args:
      tree: a pytree of modules.

    Returns:
      A pytree of the same structure (``inference_mode(tree, False)``).
    """
    return inference_mode(tree, False)
