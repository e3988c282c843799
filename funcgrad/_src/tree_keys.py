"""Key path entries of pytrees (``tree_flatten_with_path``), as JAX's ``jax.tree_util``
key classes; re-exported by ``funcgrad.tree_util``."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

# ---- key path entries -------------------------------------------------------------------


@dataclass(frozen=True)
class SequenceKey:
    """A key path entry for a child of a tuple or list (prints as ``[i]``).

    Args:
      idx: the child's index.
    """

    idx: int

    def __str__(self) -> str:
        return f"[{self.idx}]"


@dataclass(frozen=True)
class DictKey:
    """A key path entry for a dict value (prints as ``['k']``).

    Args:
      key: the dict key.
    """

    key: Hashable

    def __str__(self) -> str:
        return f"[{self.key!r}]"


@dataclass(frozen=True)
class GetAttrKey:
    """A key path entry for an attribute: namedtuple or dataclass field (prints as ``.name``).

    Args:
      name: the attribute's name.
    """

    name: str

    def __str__(self) -> str:
        return f".{self.name}"


@dataclass(frozen=True)
class FlattenedIndexKey:
    """A key path entry for the i-th child of a node registered without keys.

    Args:
      key: the child's index in the flattened children.
    """

    key: int

    def __str__(self) -> str:
        return f"[<flat index {self.key}>]"


def keystr(path: tuple) -> str:
    """Readable string of a key path, e.g. ``['w'][0].bias``.

    Args:
      path: a tuple of key entries (from :func:`tree_flatten_with_path`).

    Returns:
      The entries' strings joined (a ``str``).
    """
    return "".join(str(k) for k in path)
