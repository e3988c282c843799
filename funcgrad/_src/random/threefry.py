"""funcgrad.random: the threefry2x32 hash and JAX's two ways of drawing from it.

``jax_threefry_partitionable=True`` (JAX's default since 0.5, and funcgrad's) hashes the 64-bit
position of every output (its ``hi``/``lo`` 32-bit words) with the key; ``False`` is JAX's
original scheme, which hashes ``iota(n)`` split into two halves. Both are implemented exactly.

The hash runs in numpy when the key is a concrete array (one vectorised call: an eager ``split``
costs microseconds, not dozens of eager primitives) and from lax primitives when it is traced
(under ``jit``/``vmap``/``grad``); the two give the same bits.
"""

from __future__ import annotations

import math

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval, wrap
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls

_U32 = dtypes.uint32
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = 0x1BD11BDA
_UINT = {8: np.dtype(np.uint8), 16: np.dtype(np.uint16), 32: _U32, 64: np.dtype(np.uint64)}


def partitionable() -> bool:
    """Whether the ``jax_threefry_partitionable`` setting is on (the default, as JAX 0.10)."""
    from funcgrad import config

    return bool(config.threefry_partitionable)


def is_concrete(x) -> bool:
    from funcgrad._src.array import Array

    return type(x) is Array


# ---- the hash: numpy (concrete keys) and lax (traced keys) --------------------------------------


def _hash_np(k0, k1, x0, x1):
    """threefry2x32 (20 rounds) on uint32 numpy arrays; ``k0``/``k1`` scalars."""
    k0, k1 = np.uint32(k0), np.uint32(k1)
    ks = (k0, k1, np.uint32(k0 ^ k1 ^ np.uint32(_PARITY)))
    with np.errstate(over="ignore"):
        x0, x1 = x0 + ks[0], x1 + ks[1]
        for i in range(5):
            for r in _ROTATIONS[i % 2]:
                x0 = x0 + x1
                x1 = ((x1 << np.uint32(r)) | (x1 >> np.uint32(32 - r))) ^ x0
            x0 = x0 + ks[(i + 1) % 3]
            x1 = x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


def _u32(v, shape):
    return ls.full(shape, v, _U32)


def _rotl(x, r):
    shape = get_aval(x).shape
    return le.bitwise_or(
        le.shift_left(x, _u32(r, shape)), le.shift_right_logical(x, _u32(32 - r, shape))
    )


def _key_word(key, i, shape):
    w = ls.reshape(lsl.slice_in_dim(key, i, i + 1), ())
    return ls.broadcast_in_dim(w, shape, ())


def _hash_lax(key, x0, x1):
    """threefry2x32 from lax primitives; ``key`` a traced ``uint32[2]``."""
    shape = get_aval(x0).shape
    k0, k1 = _key_word(key, 0, shape), _key_word(key, 1, shape)
    ks = (k0, k1, le.bitwise_xor(le.bitwise_xor(k0, k1), _u32(_PARITY, shape)))
    x0, x1 = le.add(x0, k0), le.add(x1, k1)
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x0 = le.add(x0, x1)
            x1 = le.bitwise_xor(_rotl(x1, r), x0)
        x0 = le.add(x0, ks[(i + 1) % 3])
        x1 = le.add(le.add(x1, ks[(i + 2) % 3]), _u32(i + 1, shape))
    return x0, x1


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
        TypeError: if ``key`` or ``count`` is not ``uint32``.
    """
    from funcgrad._src.numpy.conversion import asarray

    key, count = asarray(key), asarray(count)
    if get_aval(key).dtype != _U32 or get_aval(count).dtype != _U32:
        raise TypeError(
            f"threefry_2x32 requires uint32 arguments, got {get_aval(key).dtype} and "
            f"{get_aval(count).dtype}"
        )
    shape = get_aval(count).shape
    if is_concrete(key) and is_concrete(count):
        flat = count._value.reshape(-1)
        return wrap(_threefry_flat_np(key._value, flat).reshape(shape))
    n = math.prod(shape)
    flat = ls.reshape(count, (n,))
    if n % 2:
        flat = lsl.concatenate([flat, _u32(0, (1,))], 0)
    half = (n + n % 2) // 2
    y0, y1 = _hash_lax(key, lsl.slice_in_dim(flat, 0, half), lsl.slice_in_dim(flat, half, 2 * half))
    out = lsl.concatenate([y0, y1], 0)
    return ls.reshape(lsl.slice_in_dim(out, 0, n) if n % 2 else out, shape)


def _threefry_flat_np(key, flat):
    n = flat.shape[0]
    if n % 2:
        flat = np.concatenate([flat, np.zeros(1, np.uint32)])
    half = flat.shape[0] // 2
    y0, y1 = _hash_np(key[0], key[1], flat[:half], flat[half:])
    return np.concatenate([y0, y1])[:n]


# ---- counters -----------------------------------------------------------------------------------


def _iota_2x32_np(shape):
    """The hi and lo words of ``arange(prod(shape), dtype=uint64).reshape(shape)``."""
    i = np.arange(math.prod(shape), dtype=np.uint64).reshape(shape)
    return (i >> np.uint64(32)).astype(np.uint32), (i & np.uint64(0xFFFFFFFF)).astype(np.uint32)


def _iota_2x32_lax(shape):
    n = math.prod(shape)
    if n >= 2**32:
        raise NotImplementedError("random bits of more than 2**32 values under jit")
    lo = ls.reshape(ls.iota(_U32, n), shape)
    return _u32(0, shape), lo


def _iota_hashes(key, shape):
    """The two hash words of every position of ``shape`` (the partitionable scheme)."""
    shape = tuple(shape)
    if is_concrete(key):
        hi, lo = _iota_2x32_np(shape)
        return _hash_np(key._value[0], key._value[1], hi, lo)
    if not shape:
        return _hash_lax(key, _u32(0, ()), _u32(0, ()))
    return _hash_lax(key, *_iota_2x32_lax(shape))


def _iota_threefry(key, n):
    """``threefry_2x32(key, iota(n))`` (the original scheme's stream), as a flat array."""
    if is_concrete(key):
        return _threefry_flat_np(key._value, np.arange(n, dtype=np.uint32))
    odd, half = n % 2, (n + n % 2) // 2
    x0 = ls.iota(_U32, half)
    x1 = le.add(x0, _u32(half, (half,)))
    if odd:  # the padded last counter is 0, as in threefry_2x32
        x1 = le.select(le.eq(x0, _u32(half - 1, (half,))), _u32(0, (half,)), x1)
    y0, y1 = _hash_lax(key, x0, x1)
    out = lsl.concatenate([y0, y1], 0)
    return lsl.slice_in_dim(out, 0, n) if odd else out


# ---- split, fold_in, random_bits on raw uint32[2] key data --------------------------------------


def _stack_last(a, b):
    if isinstance(a, np.ndarray) or np.isscalar(a):
        return wrap(np.stack([np.asarray(a, np.uint32), np.asarray(b, np.uint32)], axis=-1))
    shape = get_aval(a).shape
    nd = len(shape)
    both = shape + (2,)
    row = ls.broadcasted_iota(dtypes.int32, both, nd)
    first = le.eq(row, ls.full(both, 0, dtypes.int32))
    bd = lambda v: ls.broadcast_in_dim(v, both, tuple(range(nd)))
    return le.select(first, bd(a), bd(b))


def split_raw(key, shape):
    """``num`` new raw keys of ``shape + (2,)`` from a raw ``uint32[2]`` key."""
    shape = tuple(shape)
    if partitionable():
        return _stack_last(*_iota_hashes(key, shape))
    bits = _iota_threefry(key, 2 * math.prod(shape))
    if isinstance(bits, np.ndarray):
        return wrap(bits.reshape(shape + (2,)))
    return ls.reshape(bits, shape + (2,))


def fold_in_raw(key, data):
    """A raw key from a raw key and a ``uint32`` scalar (either scheme: as JAX)."""
    if is_concrete(key) and is_concrete(data):
        y0, y1 = _hash_np(key._value[0], key._value[1], np.zeros(1, np.uint32), data._value[None])
        return wrap(np.concatenate([y0, y1]))
    y0, y1 = _hash_lax(key, _u32(0, (1,)), ls.reshape(data, (1,)))
    return lsl.concatenate([y0, y1], 0)


def random_bits_raw(key, bit_width, shape):
    """Uniform bits of ``bit_width`` (8, 16, 32, 64) and ``shape`` from a raw key."""
    shape = tuple(shape)
    if partitionable():
        b1, b2 = _iota_hashes(key, shape)
        return _combine_partitionable(b1, b2, bit_width, shape)
    size = math.prod(shape)
    words = -(-bit_width * size // 32)
    bits = _iota_threefry(key, words)
    return _unpack_original(bits, bit_width, size, shape)


def _combine_partitionable(b1, b2, width, shape):
    dt = _UINT[width]
    if isinstance(b1, np.ndarray) or np.isscalar(b1):
        b1, b2 = np.asarray(b1, np.uint32), np.asarray(b2, np.uint32)
        if width == 64:
            out = (b1.astype(np.uint64) << np.uint64(32)) | b2.astype(np.uint64)
        else:
            out = (b1 ^ b2).astype(dt)
        return wrap(out.reshape(shape))
    if width == 64:
        hi, lo = le.convert_element_type(b1, dt), le.convert_element_type(b2, dt)
        return le.bitwise_or(le.shift_left(hi, ls.full(shape, 32, dt)), lo)
    x = le.bitwise_xor(b1, b2)
    return x if width == 32 else le.convert_element_type(x, dt)


def _unpack_original(bits, width, size, shape):
    """JAX's original packing: 64-bit values join the two halves of the word stream, 8/16-bit
    values take every word's sub-words from the lowest up."""
    dt = _UINT[width]
    if isinstance(bits, np.ndarray):
        if width == 64:
            hi, lo = np.split(bits.astype(np.uint64), 2)
            out = (hi << np.uint64(32)) | lo
        elif width == 32:
            out = bits
        else:
            shifts = np.arange(32 // width, dtype=np.uint32) * np.uint32(width)
            out = (bits[:, None] >> shifts[None, :]).reshape(-1) & np.uint32(2**width - 1)
            out = out.astype(dt)[:size]
        return wrap(out.reshape(shape))
    return ls.reshape(_unpack_original_lax(bits, width, size), shape)


def _unpack_original_lax(bits, width, size):
    dt = _UINT[width]
    n = get_aval(bits).shape[0]
    if width == 64:
        h = n // 2
        hi = le.convert_element_type(lsl.slice_in_dim(bits, 0, h), dt)
        lo = le.convert_element_type(lsl.slice_in_dim(bits, h, n), dt)
        return le.bitwise_or(le.shift_left(hi, ls.full((h,), 32, dt)), lo)
    if width == 32:
        return bits
    per = 32 // width
    sub = (n, per)
    shifts = le.mul(ls.broadcasted_iota(_U32, sub, 1), _u32(width, sub))
    words = ls.broadcast_in_dim(bits, sub, (0,))
    out = le.bitwise_and(le.shift_right_logical(words, shifts), _u32(2**width - 1, sub))
    out = le.convert_element_type(ls.reshape(out, (n * per,)), dt)
    return lsl.slice_in_dim(out, 0, size)
