"""funcgrad.random: keys and the threefry2x32 counter-based generator (``PRNGKey``/``key``,
``split``, ``fold_in``, ``random_bits``), written from lax primitives only."""

from __future__ import annotations

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import array_from_user, get_aval
from funcgrad._src.core import Tracer
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy.conversion import asarray
from funcgrad._src.random.params import _shape

_U32 = dtypes.uint32
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _u32(v, shape=()):
    return ls.full(shape, v, _U32)


def _rotl(x, r):
    shape = get_aval(x).shape
    return le.bitwise_or(
        le.shift_left(x, _u32(r, shape)), le.shift_right_logical(x, _u32(32 - r, shape))
    )


def threefry_2x32(key, count):
    """The threefry2x32 block cipher (Salmon et al. 2011), 20 rounds, on uint32 arrays.

    As in JAX, ``count`` is flattened, padded to even length with a zero, split into halves
    ``x0, x1`` that are encrypted pairwise, and the halves are concatenated back.

    Args:
        key: the cipher key, a ``uint32[2]`` array.
        count: the counters (plaintext), a ``uint32`` array of any shape.

    Returns:
        A ``uint32`` array of ``count``'s shape: the encrypted counters.

    Raises:
        TypeError: if ``count`` is not ``uint32`` (the lax ops do not promote).
    """
    key = asarray(key)
    count = asarray(count)
    n = get_aval(count).size
    flat = ls.reshape(count, (n,))
    odd = n % 2
    if odd:
        flat = lsl.concatenate([flat, _u32(0, (1,))], 0)
    half = (n + odd) // 2
    x0, x1 = lsl.slice_in_dim(flat, 0, half), lsl.slice_in_dim(flat, half, 2 * half)
    return _join_halves(*_threefry_pairs(key, x0, x1), n, get_aval(count).shape)


def _threefry_pairs(key, x0, x1):
    half = get_aval(x0).shape[0]
    k0 = ls.broadcast_in_dim(lsl.slice_in_dim(key, 0, 1), (half,), (0,))
    k1 = ls.broadcast_in_dim(lsl.slice_in_dim(key, 1, 2), (half,), (0,))
    k2 = le.bitwise_xor(le.bitwise_xor(k0, k1), _u32(0x1BD11BDA, (half,)))
    ks = (k0, k1, k2)
    x0, x1 = le.add(x0, k0), le.add(x1, k1)
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x0 = le.add(x0, x1)
            x1 = le.bitwise_xor(_rotl(x1, r), x0)
        x0 = le.add(x0, ks[(i + 1) % 3])
        x1 = le.add(le.add(x1, ks[(i + 2) % 3]), _u32(i + 1, (half,)))
    return x0, x1


def _join_halves(x0, x1, n, shape):
    """``concatenate([x0, x1])[:n]`` written as broadcast + select + reshape, which fuse into
    one loop kernel on every backend (no copy step)."""
    half = get_aval(x0).shape[0]
    row = ls.broadcasted_iota(dtypes.int32, (2, half), 0)
    both = le.select(
        le.eq(row, ls.full((2, half), 0, dtypes.int32)),
        ls.broadcast_in_dim(x0, (2, half), (1,)),
        ls.broadcast_in_dim(x1, (2, half), (1,)),
    )
    out = ls.reshape(both, (2 * half,))
    if n != 2 * half:
        out = lsl.slice_in_dim(out, 0, n)
    return ls.reshape(out, shape)


def _threefry_iota(key, n):
    """``threefry_2x32(key, iota(n))`` without materialising (or padding) the counter."""
    odd = n % 2
    half = (n + odd) // 2
    x0 = ls.iota(_U32, half)
    x1 = le.add(x0, _u32(half, (half,)))
    if odd:  # the padded last counter is 0, as in threefry_2x32
        last = le.eq(x0, _u32(half - 1, (half,)))
        x1 = le.select(last, _u32(0, (half,)), x1)
    return _join_halves(*_threefry_pairs(key, x0, x1), n, (n,))


def PRNGKey(seed) -> Array:  # noqa: F821
    """A PRNG key made from an integer seed (``PRNGKey`` and ``key`` are one function).

    The key is ``[high 32 bits, low 32 bits]`` of the seed as a 64-bit integer with x64 on,
    or ``[0, seed mod 2**32]`` with it off, as JAX's raw ``uint32`` keys (funcgrad has no
    typed key arrays, so ``key`` too returns a raw key).

    Args:
        seed: a Python or numpy integer, an integer array scalar, or a traced integer
            (under ``jit``/``vmap``); negative seeds wrap modulo ``2**64`` (``2**32``).

    Returns:
        The key, a ``uint32[2]`` array.

    Raises:
        TypeError: if ``seed`` is not an integer (bools and floats included).
    """
    if isinstance(seed, Tracer):
        s = asarray(seed)
        if get_aval(s).dtype.kind not in "iu":
            raise TypeError(f"PRNGKey seed must be an integer, got {get_aval(s).dtype}")
        lo = (
            le.convert_element_type(s, _U32)
            if get_aval(s).dtype.itemsize <= 4
            else le.convert_element_type(
                le.bitwise_and(s, asarray(0xFFFFFFFF, get_aval(s).dtype)), _U32
            )
        )
        hi = (
            _u32(0)
            if get_aval(s).dtype.itemsize <= 4
            else le.convert_element_type(
                le.shift_right_logical(s, asarray(32, get_aval(s).dtype)), _U32
            )
        )
        return lsl.concatenate([ls.reshape(hi, (1,)), ls.reshape(lo, (1,))], 0)
    if (
        isinstance(seed, (bool, float))
        or not isinstance(seed, (int, np.integer))
        and np.asarray(seed).dtype.kind not in "iu"
    ):
        raise TypeError(f"PRNGKey seed must be an integer, got {seed!r}")
    seed = int(np.asarray(seed))
    from funcgrad import config

    # as JAX: with x64 off the seed is a 32-bit integer (wrapped), so the high word is 0
    seed = seed % 2**64 if config.enable_x64 else seed % 2**32
    return array_from_user(
        np.array([(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF], dtype=np.uint32), _U32
    )


key = PRNGKey


def key_data(keys):
    """The raw ``uint32`` data of PRNG keys (funcgrad's keys already are that data).

    Args:
        keys: a key or an array of keys, ``uint32[..., 2]``.

    Returns:
        ``keys`` as an Array, unchanged.
    """
    return asarray(keys)


def wrap_key_data(data, impl=None):
    """PRNG keys from raw key data (the inverse of ``key_data``).

    Args:
        data: array_like of shape ``(..., 2)``, converted to ``uint32``.
        impl: accepted for compatibility with JAX and ignored (threefry2x32 is the only
            generator).

    Returns:
        ``data`` as a ``uint32`` Array of the same shape.
    """
    return asarray(data, _U32)


def _check_key(key, fname):
    key = asarray(key)
    a = get_aval(key)
    if a.dtype != _U32 or a.shape[-1:] != (2,):
        raise TypeError(
            f"{fname} expects a PRNG key (uint32 array of shape (2,), from "
            f"fg.random.key(seed) or split), got {a.str_short()}"
        )
    if a.shape != (2,):
        raise TypeError(
            f"{fname} got a batch of keys {a.str_short()}; use fg.vmap over the "
            f"keys, or index one key"
        )
    return key


def split(key, num: int = 2):
    """New independent keys derived from ``key``.

    Args:
        key: a PRNG key, ``uint32[2]``.
        num: how many keys: an int, or a tuple of ints for a batch shape (static under
            ``jit``).

    Returns:
        A ``uint32`` array of shape ``(num, 2)`` (``num + (2,)`` for a tuple).

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key (``vmap`` over a batch).
    """
    key = _check_key(key, "split")
    shape = (num,) if isinstance(num, int) else tuple(num)
    n = int(np.prod(shape))
    bits = _threefry_iota(key, 2 * n)
    return ls.reshape(bits, shape + (2,))


def _keys(key, n):
    ks = split(key, n)
    return [ls.reshape(lsl.slice_in_dim(ks, i, i + 1), (2,)) for i in range(n)]


def fold_in(key, data):
    """A new key from ``key`` and an integer (e.g. a step number).

    Args:
        key: a PRNG key, ``uint32[2]``.
        data: an integer (Python, numpy or traced); it is made into a key as by
            ``PRNGKey(data)`` (so wrapped to 32 bits unless x64 is on).

    Returns:
        A new ``uint32[2]`` key: ``threefry_2x32(key, PRNGKey(data))``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key or ``data`` is not an
            integer.
    """
    key = _check_key(key, "fold_in")
    d = PRNGKey(data) if not isinstance(data, Tracer) else PRNGKey(data)
    return threefry_2x32(key, d)


def clone(key):
    """A copy of ``key``, for compatibility with JAX (keys are immutable arrays here).

    Args:
        key: a PRNG key.

    Returns:
        ``key`` itself.
    """
    return key


def random_bits(key, shape=(), bit_width=32):
    """Uniform random ``uint32`` bits (``random_bits`` and ``bits`` are one function).

    Args:
        key: a PRNG key, ``uint32[2]``.
        shape: the output shape, an int or a tuple of ints (static under ``jit``).
        bit_width: bits per value; only 32 is supported.

    Returns:
        A ``uint32`` array of ``shape``: threefry2x32 of the counters ``0, 1, ...``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key or ``shape`` has
            non-integer entries.
        NotImplementedError: if ``bit_width`` is not 32.
    """
    key = _check_key(key, "random_bits")
    shape = _shape(shape)
    n = int(np.prod(shape, dtype=np.int64))
    if bit_width != 32:
        raise NotImplementedError("random_bits supports bit_width=32")
    if n == 0:
        return ls.full(shape, 0, _U32)
    return ls.reshape(_threefry_iota(key, n), shape)


bits = random_bits
