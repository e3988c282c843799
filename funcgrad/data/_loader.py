"""DataLoader: reproducible (key-driven) shuffling, batching and background prefetch."""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from funcgrad.tree_util import tree_map

__all__ = ["DataLoader", "default_collate", "key_to_data", "generator_from_key"]

_SHUFFLE_STREAM = 0
_AUGMENT_STREAM = 1


# ---- keys -> numpy Generators -----------------------------------------------------------


def key_to_data(key) -> np.ndarray:
    """A PRNG key as ``uint32[2]``: accepts a key array (e.g. ``fg.random.PRNGKey(0)``,
    any array-like of 2 integers in ``[0, 2**32)``) or an int seed (as ``PRNGKey(seed)``).

    Args:
      key: an int seed (negative seeds wrap to 64 bits, as JAX) or 2 integers.

    Returns:
      A numpy ``uint32`` array of shape ``(2,)``.

    Raises:
      TypeError: for a bool, or an array that is not 2 integers.
      ValueError: for values outside ``[0, 2**32)``.

    >>> key_to_data(7)
    array([0, 7], dtype=uint32)
    >>> key_to_data([1, 2])
    array([1, 2], dtype=uint32)
    """
    if isinstance(key, (bool, np.bool_)):
        raise TypeError(f"a PRNG key must be an int seed or 2 uint32 values, got {key!r}")
    if isinstance(key, (int, np.integer)):
        seed = int(key)
        if seed < 0:
            seed &= 0xFFFFFFFFFFFFFFFF  # like JAX: a negative seed wraps to 64 bits
        return np.array([(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF], dtype=np.uint32)
    if str(getattr(key, "dtype", "")).startswith("key<"):  # a typed key (fg.random.key)
        from funcgrad.random import key_data

        key = key_data(key)
    data = np.asarray(key)
    if data.shape != (2,) or data.dtype.kind not in "ui":
        raise TypeError(
            "a PRNG key must be an int seed or an array-like of 2 unsigned 32-bit "
            f"integers (like fg.random.PRNGKey(0)); got shape {data.shape} dtype "
            f"{data.dtype}"
        )
    if data.min() < 0 or data.max() > 0xFFFFFFFF:
        raise ValueError(f"PRNG key values must lie in [0, 2**32), got {data.tolist()}")
    return data.astype(np.uint32)


def generator_from_key(key, *counters: int) -> np.random.Generator:
    """A numpy Generator determined only by ``key`` and the integer ``counters``.

    Uses ``SeedSequence`` + ``PCG64``, so the stream is the same on every machine.

    Args:
      key: an int seed or a 2-uint32 key (see :func:`key_to_data`).
      *counters: non-negative ints mixed into the seed (epoch, stream, batch, ...).

    Returns:
      A ``numpy.random.Generator``.

    >>> a = generator_from_key(0, 3).integers(1000, size=3)
    >>> b = generator_from_key([0, 0], 3).integers(1000, size=3)
    >>> bool((a == b).all())
    True
    """
    entropy = [int(v) for v in key_to_data(key)] + [int(c) for c in counters]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


# ---- collation --------------------------------------------------------------------------


def default_collate(examples: list) -> Any:
    """Stack a list of same-structure pytrees leaf by leaf into one pytree of numpy arrays.

    Args:
      examples: a non-empty list of pytrees of one structure.

    Returns:
      A pytree of that structure whose leaves are numpy arrays with a new first axis of
      length ``len(examples)``.

    Raises:
      ValueError: for an empty list.

    >>> batch = default_collate([(np.zeros(2), 1), (np.ones(2), 0)])
    >>> batch[0].shape, batch[1].tolist()
    ((2, 2), [1, 0])
    """
    if not examples:
        raise ValueError("default_collate: cannot collate an empty list of examples")
    return tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), examples[0], *examples[1:])


# ---- the loader -------------------------------------------------------------------------


class DataLoader:
    """Iterate over a :class:`Dataset` in batches of numpy arrays.

    * ``shuffle=True`` needs ``key`` (an int seed or a 2-uint32 key such as
      ``fg.random.PRNGKey(0)``): the order of epoch ``e`` depends only on ``(key, e)``,
      so every run and every machine sees the same batches.
    * Each ``iter(loader)`` runs the next epoch (0, 1, 2, ...); :meth:`epoch` runs a given
      one and :meth:`set_epoch` moves the counter (e.g. when resuming).
    * ``transform(rng, example)`` is applied to each example before collation; ``rng`` is a
      numpy Generator derived from ``(key, epoch, batch index)`` (``None`` without a key).
    * ``collate_fn(list_of_examples)`` builds a batch (default: :func:`default_collate`).
    * ``prefetch`` batches are prepared ahead by a background daemon thread (0: no thread).

    Args:
      dataset: a :class:`Dataset` (``len`` and integer ``__getitem__``; a ``get_batch``
        method is used when there is no transform or collate function).
      batch_size: examples per batch (a positive int).
      shuffle: shuffle the examples each epoch (needs ``key``).
      key: an int seed or a 2-uint32 key for shuffling and the transform's ``rng``.
      drop_last: drop the last, smaller batch.
      collate_fn: ``collate_fn(list_of_examples) -> batch``; default :func:`default_collate`.
      transform: ``transform(rng, example) -> example``, applied before collation.
      prefetch: batches prepared ahead on a background thread (0: none).

    Raises:
      ValueError: for a ``batch_size`` that is not a positive int, ``shuffle`` without a
        ``key``, or a negative ``prefetch``.

    >>> from funcgrad.data import ArrayDataset
    >>> ds = ArrayDataset(np.arange(10).reshape(10, 1), np.arange(10))
    >>> loader = DataLoader(ds, batch_size=4, shuffle=True, key=0)
    >>> len(loader), [y.shape for x, y in loader]
    (3, [(4,), (4,), (2,)])
    >>> first = [y.tolist() for _, y in loader.epoch(0)]
    >>> first == [y.tolist() for _, y in loader.epoch(0)]  # same key+epoch, same order
    True
    """

    def __init__(
        self,
        dataset,
        batch_size: int,
        shuffle: bool = False,
        key=None,
        drop_last: bool = False,
        collate_fn: Callable | None = None,
        transform: Callable | None = None,
        prefetch: int = 2,
    ):
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if shuffle and key is None:
            raise ValueError(
                "DataLoader(shuffle=True) needs a key so the order is reproducible:"
                " pass key=0 (an int seed) or key=fg.random.PRNGKey(0)"
            )
        if not isinstance(prefetch, (int, np.integer)) or prefetch < 0:
            raise ValueError(f"DataLoader: prefetch must be an int >= 0, got {prefetch!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.key = None if key is None else key_to_data(key)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.transform = transform
        self.prefetch = int(prefetch)
        self._epoch = 0

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    @property
    def current_epoch(self) -> int:
        """The epoch the next ``iter(loader)`` will run."""
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter(loader)`` run ``epoch`` (e.g. after restoring a checkpoint).

        Args:
          epoch: the epoch number (``>= 0``).

        Returns:
          None.

        Raises:
          ValueError: for a negative ``epoch``.
        """
        if epoch < 0:
            raise ValueError(f"DataLoader.set_epoch: epoch must be >= 0, got {epoch}")
        self._epoch = int(epoch)

    def indices(self, epoch: int = 0) -> np.ndarray:
        """The example order of ``epoch`` (``arange`` when not shuffling).

        Args:
          epoch: the epoch number.

        Returns:
          An integer array, a permutation of ``range(len(dataset))``.
        """
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return generator_from_key(self.key, epoch, _SHUFFLE_STREAM).permutation(n)

    def __iter__(self) -> Iterator:
        epoch = self._epoch
        self._epoch += 1
        return self.epoch(epoch)

    def epoch(self, epoch: int) -> Iterator:
        """An iterator over the batches of ``epoch`` (does not move the epoch counter).

        Args:
          epoch: the epoch number.

        Returns:
          An iterator of batches (what ``collate_fn`` builds: by default pytrees of numpy
          arrays); with ``prefetch`` they are made on a background thread, whose exceptions
          are re-raised by the iterator.
        """
        batches = self._batches(int(epoch))
        if self.prefetch == 0:
            return batches
        return _prefetched(batches, self.prefetch)

    # -- building batches --

    def _batch_indices(self, epoch: int) -> list[np.ndarray]:
        order = self.indices(epoch)
        bs = self.batch_size
        stop = (len(order) // bs) * bs if self.drop_last else len(order)
        return [order[i : i + bs] for i in range(0, stop, bs)]

    def _batches(self, epoch: int) -> Iterator:
        for b, idx in enumerate(self._batch_indices(epoch)):
            yield self._make_batch(epoch, b, idx)

    def _make_batch(self, epoch: int, b: int, idx: np.ndarray):
        if (
            self.transform is None
            and self.collate_fn is None
            and hasattr(self.dataset, "get_batch")
        ):
            return self.dataset.get_batch(idx)
        examples = [self.dataset[int(i)] for i in idx]
        if self.transform is not None:
            rng = (
                None
                if self.key is None
                else generator_from_key(self.key, epoch, _AUGMENT_STREAM, b)
            )
            examples = [self.transform(rng, ex) for ex in examples]
        return (self.collate_fn or default_collate)(examples)

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, prefetch={self.prefetch})"
        )


# ---- background prefetch ----------------------------------------------------------------

_DONE = object()


class _WorkerError:
    def __init__(self, exc: BaseException):
        self.exc = exc


def _produce(source: Iterator, q: queue.Queue, stop: threading.Event) -> None:
    """Worker thread: push each item of ``source`` (then _DONE) unless told to stop."""
    try:
        for item in source:
            if not _put(q, item, stop):
                return
        _put(q, _DONE, stop)
    except BaseException as e:  # handed to the consumer, re-raised there
        _put(q, _WorkerError(e), stop)


def _put(q: queue.Queue, item, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


def _prefetched(source: Iterator, size: int) -> Iterator:
    """Iterate ``source`` on a daemon thread, ``size`` items ahead, in a bounded queue.

    Exceptions in the worker are re-raised here; stopping early (break, close, garbage
    collection) stops and joins the worker.
    """
    q: queue.Queue = queue.Queue(maxsize=size)
    stop = threading.Event()
    worker = threading.Thread(
        target=_produce, args=(source, q, stop), daemon=True, name="funcgrad-data-prefetch"
    )
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, _WorkerError):
                raise item.exc
            yield item
    finally:
        stop.set()
        worker.join(timeout=5.0)
