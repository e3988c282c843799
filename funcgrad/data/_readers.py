"""Readers for standard dataset files already on disk (no downloads, never pickle).

* :func:`read_idx`: one MNIST-format IDX file (plain or ``.gz``).
* :func:`load_mnist`: the four MNIST (or Fashion-MNIST) files in a folder.
* :func:`load_cifar10`: the CIFAR-10 *binary* distribution (``cifar-10-binary.tar.gz``,
  extracted), not the Python/pickle one.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib

import numpy as np

__all__ = ["read_idx", "load_mnist", "load_cifar10"]

# IDX type byte -> big-endian numpy dtype
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


_CHUNK = 1 << 20
# deflate's largest expansion (about 1032:1), plus slack: a gzip file of n bytes cannot hold
# more than this many times n, so a header declaring more is refused before anything is read
MAX_DEFLATE_RATIO = 1100


def _bound(name: str, path: str, declared: int, gz: bool) -> None:
    """Refuse a declared size the file cannot hold (before allocating anything)."""
    size = os.path.getsize(path)
    if declared > (size * MAX_DEFLATE_RATIO + 1024 if gz else size):
        how = f"at most {MAX_DEFLATE_RATIO} times that gunzipped" if gz else "no more"
        raise ValueError(
            f"{name}: the header declares {declared} bytes but the file has {size} bytes "
            f"({how}): corrupt or truncated"
        )


def _read_exact(f, n: int, name: str) -> bytes:
    """Exactly ``n`` more bytes of ``f``, read in bounded chunks; a ValueError if the data
    ends early or goes on beyond them (decompression stops at the declared size)."""
    chunks, left = [], n
    while left:
        chunk = f.read(min(left, _CHUNK))
        if not chunk:
            raise ValueError(
                f"{name}: truncated: {n} bytes declared, the data ends after {n - left}"
            )
        chunks.append(chunk)
        left -= len(chunk)
    if f.read(1):
        raise ValueError(f"{name}: the data is longer than the {n} bytes its header declares")
    return b"".join(chunks)


class _GzipErrors:
    """Turns the errors of a corrupt gzip stream into a ValueError naming the file."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        return self

    def __exit__(self, kind, e, tb):
        if kind is not None and issubclass(kind, (EOFError, zlib.error, gzip.BadGzipFile)):
            raise ValueError(
                f"{self.name}: not a valid gzip file (corrupt or truncated): {e}"
            ) from None
        return False


def _gzip_size(path: str) -> int:
    """The uncompressed size a gzip file's trailer declares (ISIZE, modulo 2**32)."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() < 18:
            return 0
        f.seek(-4, os.SEEK_END)
        return struct.unpack("<I", f.read(4))[0]


def _read_bytes(path) -> bytes:
    """All bytes of ``path``, gunzipped when it ends in ``.gz`` (in chunks, up to the size
    the gzip trailer declares, after checking the file can hold that much)."""
    path = os.fspath(path)
    if not path.endswith(".gz"):
        with open(path, "rb") as f:
            return f.read()
    declared = _gzip_size(path)
    _bound(path, path, declared, True)
    with _GzipErrors(path), gzip.open(path, "rb") as f:
        return _read_exact(f, declared, path)


def read_idx(path) -> np.ndarray:
    """Read an IDX file (the MNIST format), plain or gzip'd (``.gz``), as a numpy array.

    The header is 2 zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), the number of dimensions, then each dimension as a
    big-endian uint32. The result has native byte order.

    Args:
      path: the file (a ``str`` or path-like); a name ending in ``.gz`` is gunzipped.

    Returns:
      A numpy array of the header's dtype and shape.

    Raises:
      ValueError: for a bad magic number or type byte, a truncated header, a size that does
        not match the shape, or a corrupt gzip file.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.idx")
    >>> _ = open(p, "wb").write(bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> read_idx(p).tolist()
    [7, 8, 9]
    """
    name = os.fspath(path)
    if not name.endswith(".gz"):
        with open(name, "rb") as f:
            return _parse_idx(name, f, False)
    with _GzipErrors(name), gzip.open(name, "rb") as f:
        return _parse_idx(name, f, True)


def _idx_header(name: str, f) -> tuple[np.dtype, tuple, int]:
    """(dtype, shape, header size) from the start of an IDX stream."""
    head = f.read(4)
    if len(head) < 4:
        raise ValueError(
            f"{name}: not an IDX file: only {len(head)} bytes, shorter than the 4-byte magic number"
        )
    if head[0] != 0 or head[1] != 0:
        raise ValueError(
            f"{name}: not an IDX file: the magic number must start with two zero "
            f"bytes, got {head[:4].hex()}"
        )
    if head[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{name}: unknown IDX data type byte 0x{head[2]:02X} (expected one of "
            + ", ".join(f"0x{k:02X}" for k in _IDX_DTYPES)
            + ")"
        )
    dtype, ndim = _IDX_DTYPES[head[2]], head[3]
    header = 4 + 4 * ndim
    dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(
            f"{name}: truncated IDX header: {ndim} dimensions need {header} "
            f"bytes, the file has {4 + len(dims)}"
        )
    return dtype, tuple(int(d) for d in np.frombuffer(dims, dtype=">u4")), header


def _parse_idx(name: str, f, gz: bool) -> np.ndarray:
    dtype, shape, header = _idx_header(name, f)
    nbytes = math.prod(shape) * dtype.itemsize
    if not gz:  # the file's own size says it all
        size = os.path.getsize(name)
        if size != header + nbytes:
            what = "truncated" if size < header + nbytes else "has trailing bytes"
            raise ValueError(
                f"{name}: IDX file {what}: shape {shape} of {dtype.newbyteorder('=')}"
                f" needs {header + nbytes} bytes, the file has {size}"
            )
    _bound(name, name, header + nbytes, gz)
    data = _read_exact(f, nbytes, name)
    out = np.frombuffer(data, dtype=dtype).reshape(shape)
    return out.astype(dtype.newbyteorder("="))


_MNIST_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find_file(folder: str, stem: str) -> str:
    """``folder/stem`` or a common variant (``.gz``, ``train-images.idx3-ubyte``)."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"{stem} (or {stem}.gz) not found in {folder}; download the MNIST "
        "files there yourself (funcgrad never downloads)"
    )


def load_mnist(folder, split: str = "train"):
    """Load MNIST-format data (MNIST, Fashion-MNIST, ...) from the IDX files in ``folder``.

    Args:
      folder: the directory (``~`` is expanded) holding the IDX files.
      split: ``"train"`` (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``) or
        ``"test"`` (``t10k-*``); each file may also be gzip'd (``.gz``) or named with a dot
        (``train-images.idx3-ubyte``).

    Returns:
      ``(images, labels)``: uint8 ``(N, rows, cols)`` (28x28 for MNIST) and int32 ``(N,)``.

    Raises:
      ValueError: for an unknown ``split``, or images/labels of the wrong shape.
      FileNotFoundError: if a file is missing (funcgrad never downloads).

    >>> images, labels = load_mnist("~/data/mnist", "test")  # doctest: +SKIP
    """
    if split not in _MNIST_STEMS:
        raise ValueError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    folder = os.path.expanduser(os.fspath(folder))
    img_path, lbl_path = (_find_file(folder, s) for s in _MNIST_STEMS[split])
    images, labels = read_idx(img_path), read_idx(lbl_path)
    if images.ndim != 3:
        raise ValueError(
            f"{img_path}: expected images of shape (N, rows, cols), got {images.shape}"
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"{lbl_path}: expected {len(images)} labels (one per image in "
            f"{img_path}), got shape {labels.shape}"
        )
    return images.astype(np.uint8), labels.astype(np.int32)


_CIFAR_RECORD = 1 + 3 * 32 * 32
_CIFAR_FILES = {
    "train": [f"data_batch_{i}.bin" for i in range(1, 6)],
    "test": ["test_batch.bin"],
}


def _read_cifar_batch(path: str) -> tuple[np.ndarray, np.ndarray]:
    data = _read_bytes(path)
    if len(data) == 0 or len(data) % _CIFAR_RECORD:
        raise ValueError(
            f"{path}: corrupt or truncated CIFAR-10 batch: its size {len(data)} "
            f"bytes is not a positive multiple of the {_CIFAR_RECORD}-byte record "
            "(1 label byte + 3072 pixel bytes)"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, _CIFAR_RECORD)
    labels = records[:, 0].astype(np.int32)
    if labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise ValueError(
            f"{path}: corrupt CIFAR-10 batch: record {bad} has label "
            f"{labels[bad]}, labels must be 0..9"
        )
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def load_cifar10(folder, split: str = "train", layout: str = "HWC"):
    """Load CIFAR-10 from its binary distribution (``data_batch_1.bin`` .. ``_5.bin``,
    ``test_batch.bin``, each possibly gzip'd as ``.bin.gz``) in ``folder`` or
    ``folder/cifar-10-batches-bin``.

    Args:
      folder: the directory (``~`` is expanded).
      split: ``"train"`` (the 5 data batches, 50,000 images) or ``"test"`` (10,000).
      layout: ``"HWC"`` or ``"CHW"`` for each image.

    Returns:
      ``(images, labels)``: uint8 ``(N, 32, 32, 3)`` (``layout="HWC"``) or
      ``(N, 3, 32, 32)`` (``"CHW"``), and int32 ``(N,)`` labels 0..9.

    Raises:
      ValueError: for an unknown ``split`` or ``layout``, or a corrupt batch file.
      FileNotFoundError: if a batch file is missing (funcgrad never downloads).

    >>> images, labels = load_cifar10("~/data/cifar10", "test")  # doctest: +SKIP
    """
    if split not in _CIFAR_FILES:
        raise ValueError(f"load_cifar10: split must be 'train' or 'test', got {split!r}")
    if layout not in ("HWC", "CHW"):
        raise ValueError(f"load_cifar10: layout must be 'HWC' or 'CHW', got {layout!r}")
    folder = os.path.expanduser(os.fspath(folder))
    sub = os.path.join(folder, "cifar-10-batches-bin")
    if os.path.isdir(sub):
        folder = sub
    images, labels = [], []
    for name in _CIFAR_FILES[split]:
        path = os.path.join(folder, name)
        if not os.path.isfile(path) and os.path.isfile(path + ".gz"):
            path += ".gz"  # gunzipped up to the size its trailer declares
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"{path} not found: load_cifar10 needs the CIFAR-10 binary "
                "version (cifar-10-binary.tar.gz) extracted there"
            )
        x, y = _read_cifar_batch(path)
        images.append(x)
        labels.append(y)
    x = np.concatenate(images)
    if layout == "HWC":
        x = x.transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x), np.concatenate(labels)
