"""The shipped 8x8 handwritten digits (UCI, CC BY 4.0): see DIGITS_README.md."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["load_digits", "DIGITS_PATH", "NUM_TEST"]

DIGITS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.npz")
NUM_TEST = 360  # the last 360 examples of a fixed permutation form the test split
_SPLITS = ("train", "test", "all")


def _permutation(n: int) -> np.ndarray:
    """The fixed shuffle behind the train/test split (the same on every machine)."""
    return np.random.default_rng(0).permutation(n)


def load_digits(split: str = "train"):
    """Load the 1,797 UCI 8x8 handwritten digits shipped with funcgrad.

    The split is deterministic: a fixed permutation from ``np.random.default_rng(0)``,
    whose last 360 indices are the test set.

    Args:
      split: ``"train"`` (1,437 examples), ``"test"`` (360) or ``"all"`` (1,797, in the
        original order).

    Returns:
      ``(images, labels)``: float32 ``(N, 8, 8)`` in ``[0, 1]`` and int32 ``(N,)`` in 0..9.

    Raises:
      ValueError: for an unknown ``split``.

    >>> images, labels = load_digits("test")
    >>> images.shape, images.dtype, labels.dtype
    ((360, 8, 8), dtype('float32'), dtype('int32'))
    >>> float(images.min()) >= 0.0 and float(images.max()) <= 1.0
    True
    """
    if split not in _SPLITS:
        raise ValueError(f"load_digits: split must be one of {_SPLITS}, got {split!r}")
    with np.load(DIGITS_PATH, allow_pickle=False) as f:
        images, labels = f["images"], f["labels"]
    if split != "all":
        perm = _permutation(len(labels))
        idx = perm[-NUM_TEST:] if split == "test" else perm[:-NUM_TEST]
        images, labels = images[idx], labels[idx]
    return (images.astype(np.float32) / np.float32(16.0)), labels.astype(np.int32)
