"""Datasets: anything with ``__len__`` and ``__getitem__`` returning a pytree of arrays."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from funcgrad.tree_util import keystr, tree_flatten_with_path, tree_map

__all__ = ["Dataset", "ArrayDataset"]


@runtime_checkable
class Dataset(Protocol):
    """The dataset protocol: ``len(ds)`` examples, ``ds[i]`` is a pytree of numpy arrays.

    Any class with these two methods works with :class:`DataLoader`; no base class needed.

    >>> class Squares:
    ...     def __len__(self): return 4
    ...     def __getitem__(self, i): return np.array(i * i)
    >>> isinstance(Squares(), Dataset)
    True
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


class ArrayDataset:
    """A dataset over arrays (or pytrees of arrays) that share their first dimension.

    ``ds[i]`` is the tuple ``(a[i], b[i], ...)``, one entry per argument, always a tuple;
    an integer index out of range raises ``IndexError``.

    Args:
      *arrays: arrays or pytrees of arrays (converted with ``np.asarray``), every leaf with
        the same first dimension (the number of examples).

    Raises:
      ValueError: without arrays, for a 0-d leaf, or when the first dimensions differ.

    >>> ds = ArrayDataset(np.zeros((5, 3)), np.arange(5))
    >>> len(ds), ds[2][0].shape, int(ds[2][1])
    (5, (3,), 2)
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError(
                "ArrayDataset needs at least one array, e.g. ArrayDataset(images, labels)"
            )
        self.arrays = tuple(tree_map(np.asarray, a) for a in arrays)
        self._length = _common_length(self.arrays)

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            if not -self._length <= index < self._length:
                raise IndexError(
                    f"ArrayDataset index {index} is out of range for {self._length} examples"
                )
        return tuple(tree_map(lambda a: a[index], t) for t in self.arrays)

    def get_batch(self, indices) -> tuple:
        """The examples at ``indices`` already stacked (what the default collate would build).

        Args:
          indices: integer indices (a sequence or an array).

        Returns:
          A tuple with one entry per array: each leaf indexed by ``indices``.
        """
        indices = np.asarray(indices, dtype=np.intp)
        return tuple(tree_map(lambda a: a[indices], t) for t in self.arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(str(tree_map(lambda a: a.shape, t)) for t in self.arrays)
        return f"ArrayDataset({shapes})"


def _common_length(trees) -> int:
    """The shared first dimension of every leaf, or a ValueError listing all the shapes."""
    found = []
    for i, tree in enumerate(trees):
        for path, leaf in tree_flatten_with_path(tree)[0]:
            found.append((f"arrays[{i}]{keystr(path)}", leaf.shape))
    if not found:
        raise ValueError("ArrayDataset: the arguments hold no arrays")
    if any(len(shape) == 0 for _, shape in found):
        raise ValueError(
            "ArrayDataset: every array needs a first (example) dimension; got "
            "shapes " + ", ".join(f"{n}: {s}" for n, s in found)
        )
    lengths = {shape[0] for _, shape in found}
    if len(lengths) != 1:
        raise ValueError(
            "ArrayDataset: all arrays must have the same first dimension (the "
            "number of examples), got shapes " + ", ".join(f"{n}: {s}" for n, s in found)
        )
    return lengths.pop()
