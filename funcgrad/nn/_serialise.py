"""``tree_serialise_leaves`` / ``tree_deserialise_leaves``: Equinox's format, a plain stream of
``.npy`` records (one per array-like leaf, in flattening order). No pickle: loading never runs
code, and the structure comes from the ``like`` tree the caller provides."""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import tree_util as tu
from funcgrad._src.array import Array
from funcgrad.nn._filters import is_array_like

__all__ = [
    "default_deserialise_filter_spec",
    "default_serialise_filter_spec",
    "tree_deserialise_leaves",
    "tree_serialise_leaves",
]


def default_serialise_filter_spec(f, x) -> None:
    """Writes an array-like leaf ``x`` to the binary file ``f`` as one ``.npy`` record.

    Args:
      f: a writable binary file.
      x: a leaf; arrays and Python/numpy scalars are written, anything else is skipped.
    """
    if is_array_like(x):
        np.save(f, np.asarray(x), allow_pickle=False)


def default_deserialise_filter_spec(f, x) -> Any:
    """Reads the record of leaf ``x`` (the ``like`` leaf) from the binary file ``f``.

    Args:
      f: a readable binary file.
      x: the leaf of the ``like`` tree: funcgrad arrays and numpy arrays are read as their
        kind, Python/numpy scalars as ``type(x)``; other leaves are returned as they are.

    Returns:
      The new leaf.
    """
    if isinstance(x, Array) or (is_array_like(x) and hasattr(x, "aval")):
        return fnp.asarray(np.load(f, allow_pickle=False))
    if isinstance(x, np.ndarray):
        return np.load(f, allow_pickle=False)
    if is_array_like(x):
        return type(x)(np.load(f, allow_pickle=False).item())
    return x


@contextlib.contextmanager
def _maybe_open(path_or_file, mode: str):
    if isinstance(path_or_file, (str, pathlib.Path)):
        path = pathlib.Path(path_or_file)
        path = path.with_suffix(".eqx") if path.suffix == "" else path
        with open(path, mode) as f:
            yield f
    else:
        yield path_or_file


def _each(spec_tree, tree, fn, is_leaf):
    """``fn(spec, leaf)`` in flattening order, ``spec_tree`` a prefix of ``tree``."""

    def apply(spec, sub):
        return tu.tree_map(lambda y: fn(spec, y), sub, is_leaf=is_leaf)

    if callable(spec_tree):
        return apply(spec_tree, tree)
    return tu.tree_map(apply, spec_tree, tree, is_leaf=lambda x: callable(x))


def tree_serialise_leaves(
    path_or_file,
    pytree,
    filter_spec: Any = default_serialise_filter_spec,
    is_leaf: Callable | None = None,
) -> None:
    """Saves the array leaves of ``pytree`` as Equinox does (a stream of ``.npy`` records).

    Args:
      path_or_file: a path (``.eqx`` is added when it has no suffix) or a binary file.
      pytree: the tree to save (e.g. a module; static fields are not saved).
      filter_spec: ``spec(f, leaf)`` writing one leaf, or a prefix tree of such.
      is_leaf: optional predicate for what counts as a leaf.

    >>> import io, funcgrad as fg
    >>> lin = fg.nn.Linear(2, 2, key=fg.random.key(0))
    >>> buf = io.BytesIO()
    >>> fg.nn.tree_serialise_leaves(buf, lin)
    >>> _ = buf.seek(0)
    >>> back = fg.nn.tree_deserialise_leaves(buf, fg.nn.Linear(2, 2, key=fg.random.key(1)))
    >>> bool((back.weight == lin.weight).all())
    True
    """
    with _maybe_open(path_or_file, "wb") as f:
        _each(filter_spec, pytree, lambda spec, y: spec(f, y), is_leaf)


def _check_same(new, old):
    if type(new) is not type(old) and not (is_array_like(new) and hasattr(old, "aval")):
        raise RuntimeError(
            f"Deserialised leaf has changed type from {type(old)} in `like` to {type(new)} on disk."
        )
    if hasattr(new, "shape") and hasattr(old, "shape"):
        if tuple(new.shape) != tuple(old.shape) or np.dtype(new.dtype) != np.dtype(old.dtype):
            raise RuntimeError(
                f"Deserialised leaf has changed from {old.dtype}{tuple(old.shape)} in `like` "
                f"to {new.dtype}{tuple(new.shape)} on disk."
            )


def tree_deserialise_leaves(
    path_or_file,
    like,
    filter_spec: Any = default_deserialise_filter_spec,
    is_leaf: Callable | None = None,
):
    """Loads leaves saved by :func:`tree_serialise_leaves` into the structure of ``like``.

    Args:
      path_or_file: a path (``.eqx`` is added when it has no suffix) or a binary file.
      like: a tree of the saved structure (e.g. a freshly built model); its leaves give the
        types, shapes and dtypes expected.
      filter_spec: ``spec(f, like_leaf) -> leaf``, or a prefix tree of such.
      is_leaf: optional predicate for what counts as a leaf.

    Returns:
      ``like`` with the loaded leaves.

    Raises:
      RuntimeError: if a loaded leaf's type, shape or dtype differs from ``like``'s.
    """
    with _maybe_open(path_or_file, "rb") as f:
        out = _each(filter_spec, like, lambda spec, y: spec(f, y), is_leaf)
    tu.tree_map(_check_same, out, like, is_leaf=is_leaf)
    return out
