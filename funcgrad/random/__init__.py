"""``funcgrad.random``: explicit-key, counter-based pseudo-random numbers (threefry2x32).

Written from ``funcgrad.lax`` primitives only, so it runs the same eagerly, under ``vmap``
and under ``jit``. A key is a ``uint32[2]`` array; ``split`` and ``fold_in`` derive new keys.
Never reuse a key for two draws that should be independent.

>>> import funcgrad as fg
>>> key = fg.random.key(0)
>>> k1, k2 = fg.random.split(key)
>>> fg.random.normal(k1, (3,)).shape
(3,)
"""

from __future__ import annotations

import math
import operator

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src import lax_elementwise as le
from funcgrad._src import lax_reductions as lr
from funcgrad._src import lax_structural as ls
from funcgrad._src.array import array_from_user, get_aval
from funcgrad._src.core import Tracer
from funcgrad._src.fnp_base import asarray, astype, where

__all__ = ["PRNGKey", "key", "key_data", "wrap_key_data", "split", "fold_in", "clone",
           "random_bits", "bits", "uniform", "normal", "truncated_normal", "bernoulli",
           "randint", "gumbel", "categorical", "permutation", "shuffle", "choice",
           "exponential", "laplace", "logistic", "rademacher", "threefry_2x32"]

_U32 = dtypes.uint32
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _u32(v, shape=()):
    return ls.full(shape, v, _U32)


def _rotl(x, r):
    shape = get_aval(x).shape
    return le.bitwise_or(le.shift_left(x, _u32(r, shape)),
                         le.shift_right_logical(x, _u32(32 - r, shape)))


def threefry_2x32(key, count):
    """The threefry2x32 block cipher (Salmon et al. 2011), 20 rounds, on uint32 arrays.

    As in JAX, ``count`` is flattened, padded to even length with a zero, split into halves
    ``x0, x1`` that are encrypted pairwise, and the halves are concatenated back."""
    key = asarray(key)
    count = asarray(count)
    n = get_aval(count).size
    flat = ls.reshape(count, (n,))
    odd = n % 2
    if odd:
        flat = ls.concatenate([flat, _u32(0, (1,))], 0)
    half = (n + odd) // 2
    x0, x1 = ls.slice_in_dim(flat, 0, half), ls.slice_in_dim(flat, half, 2 * half)
    return _join_halves(*_threefry_pairs(key, x0, x1), n, get_aval(count).shape)


def _threefry_pairs(key, x0, x1):
    half = get_aval(x0).shape[0]
    k0 = ls.broadcast_in_dim(ls.slice_in_dim(key, 0, 1), (half,), (0,))
    k1 = ls.broadcast_in_dim(ls.slice_in_dim(key, 1, 2), (half,), (0,))
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
    both = le.select(le.eq(row, ls.full((2, half), 0, dtypes.int32)),
                     ls.broadcast_in_dim(x0, (2, half), (1,)),
                     ls.broadcast_in_dim(x1, (2, half), (1,)))
    out = ls.reshape(both, (2 * half,))
    if n != 2 * half:
        out = ls.slice_in_dim(out, 0, n)
    return ls.reshape(out, shape)


def _threefry_iota(key, n):
    """``threefry_2x32(key, iota(n))`` without materialising (or padding) the counter."""
    odd = n % 2
    half = (n + odd) // 2
    x0 = ls.iota(_U32, half)
    x1 = le.add(x0, _u32(half, (half,)))
    if odd:   # the padded last counter is 0, as in threefry_2x32
        last = le.eq(x0, _u32(half - 1, (half,)))
        x1 = le.select(last, _u32(0, (half,)), x1)
    return _join_halves(*_threefry_pairs(key, x0, x1), n, (n,))


# ---- keys ---------------------------------------------------------------------------------------


def PRNGKey(seed) -> "Array":  # noqa: F821
    """A key from an integer seed: ``uint32[2]`` ``[high 32 bits, low 32 bits]``."""
    if isinstance(seed, Tracer):
        s = asarray(seed)
        if get_aval(s).dtype.kind not in "iu":
            raise TypeError(f"PRNGKey seed must be an integer, got {get_aval(s).dtype}")
        lo = le.convert_element_type(s, _U32) if get_aval(s).dtype.itemsize <= 4 else \
            le.convert_element_type(le.bitwise_and(s, asarray(0xFFFFFFFF, get_aval(s).dtype)),
                                    _U32)
        hi = _u32(0) if get_aval(s).dtype.itemsize <= 4 else le.convert_element_type(
            le.shift_right_logical(s, asarray(32, get_aval(s).dtype)), _U32)
        return ls.concatenate([ls.reshape(hi, (1,)), ls.reshape(lo, (1,))], 0)
    if isinstance(seed, (bool, float)) or not isinstance(seed, (int, np.integer)) and \
            np.asarray(seed).dtype.kind not in "iu":
        raise TypeError(f"PRNGKey seed must be an integer, got {seed!r}")
    seed = int(np.asarray(seed))
    if seed < 0:
        seed = seed % 2 ** 64
    return array_from_user(np.array([(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF],
                                    dtype=np.uint32), _U32)


key = PRNGKey


def key_data(keys):
    return asarray(keys)


def wrap_key_data(data, impl=None):
    return asarray(data, _U32)


def _check_key(key, fname):
    key = asarray(key)
    a = get_aval(key)
    if a.dtype != _U32 or a.shape[-1:] != (2,):
        raise TypeError(f"{fname} expects a PRNG key (uint32 array of shape (2,), from "
                        f"fg.random.key(seed) or split), got {a.str_short()}")
    if a.shape != (2,):
        raise TypeError(f"{fname} got a batch of keys {a.str_short()}; use fg.vmap over the "
                        f"keys, or index one key")
    return key


def split(key, num: int = 2):
    """``num`` new independent keys, shape ``(num, 2)``."""
    key = _check_key(key, "split")
    shape = (num,) if isinstance(num, int) else tuple(num)
    n = int(np.prod(shape))
    bits = _threefry_iota(key, 2 * n)
    return ls.reshape(bits, shape + (2,))


def fold_in(key, data):
    """A new key from ``key`` and an integer (e.g. a step number)."""
    key = _check_key(key, "fold_in")
    d = PRNGKey(data) if not isinstance(data, Tracer) else PRNGKey(data)
    return threefry_2x32(key, d)


def clone(key):
    return key


def random_bits(key, shape=(), bit_width=32):
    """Uniform random uint32 bits of the given shape."""
    key = _check_key(key, "random_bits")
    shape = _shape(shape)
    n = int(np.prod(shape, dtype=np.int64))
    if bit_width != 32:
        raise NotImplementedError("random_bits supports bit_width=32")
    if n == 0:
        return ls.full(shape, 0, _U32)
    return ls.reshape(_threefry_iota(key, n), shape)


bits = random_bits


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(operator.index(s) for s in shape)


def _float_dtype(dtype):
    dt = dtypes.canonicalize(dtype if dtype is not None else dtypes.default_float())
    if dt.kind != "f":
        raise TypeError(f"dtype argument must be a float dtype, got {dt}")
    return dt


def _unit_float(key, shape, dt):
    """Uniform in [0, 1) from the high mantissa bits."""
    b = random_bits(key, shape)
    if dt == np.float64:
        b = le.convert_element_type(b, dtypes.canonicalize(np.uint64))
        hi = le.shift_left(b, ls.full(shape, 20, get_aval(b).dtype))
        f = le.bitwise_or(hi, ls.full(shape, 0x3FF0000000000000, get_aval(b).dtype))
        return le.sub(le.bitcast_convert_type(f, np.float64), ls.full(shape, 1.0, np.float64))
    mant = le.shift_right_logical(b, _u32(9, shape))
    f = le.bitwise_or(mant, _u32(0x3F800000, shape))
    u = le.sub(le.bitcast_convert_type(f, np.float32), ls.full(shape, 1.0, np.float32))
    return le.convert_element_type(u, dt) if dt != np.float32 else u


def uniform(key, shape=(), dtype=None, minval=0.0, maxval=1.0):
    """Uniform floats in ``[minval, maxval)``."""
    key = _check_key(key, "uniform")
    dt = _float_dtype(dtype)
    shape = _shape(shape)
    lo = astype(asarray(minval), dt)
    hi = astype(asarray(maxval), dt)
    u = _unit_float(key, shape, dt)
    lo_b = ls.broadcast_in_dim(lo, shape, tuple(range(len(shape) - get_aval(lo).ndim,
                                                      len(shape))))
    hi_b = ls.broadcast_in_dim(hi, shape, tuple(range(len(shape) - get_aval(hi).ndim,
                                                      len(shape))))
    return le.max(lo_b, le.add(lo_b, le.mul(u, le.sub(hi_b, lo_b))))


def normal(key, shape=(), dtype=None):
    """Standard normal samples (inverse-CDF of a uniform draw)."""
    key = _check_key(key, "normal")
    dt = _float_dtype(dtype)
    shape = _shape(shape)
    lo = float(np.nextafter(np.array(-1.0, dt), np.array(1.0, dt)))
    u = uniform(key, shape, dt, lo, 1.0)
    return le.mul(ls.full(shape, math.sqrt(2), dt), le.erf_inv(u))


def truncated_normal(key, lower, upper, shape=None, dtype=None):
    """Normal samples truncated to ``(lower, upper)``."""
    key = _check_key(key, "truncated_normal")
    dt = _float_dtype(dtype)
    lower, upper = astype(asarray(lower), dt), astype(asarray(upper), dt)
    if shape is None:
        shape = np.broadcast_shapes(get_aval(lower).shape, get_aval(upper).shape)
    shape = _shape(shape)
    lower = ls.broadcast_in_dim(lower, shape, tuple(range(len(shape) - get_aval(lower).ndim,
                                                          len(shape))))
    upper = ls.broadcast_in_dim(upper, shape, tuple(range(len(shape) - get_aval(upper).ndim,
                                                          len(shape))))
    sqrt2 = ls.full(shape, math.sqrt(2), dt)
    a, b = le.erf(le.div(lower, sqrt2)), le.erf(le.div(upper, sqrt2))
    u = le.add(a, le.mul(_unit_float(key, shape, dt), le.sub(b, a)))
    out = le.mul(sqrt2, le.erf_inv(u))
    lo = le.nextafter(lower, ls.full(shape, np.inf, dt))
    hi = le.nextafter(upper, ls.full(shape, -np.inf, dt))
    return le.min(le.max(out, lo), hi)


def bernoulli(key, p=0.5, shape=None):
    """Booleans that are True with probability ``p``."""
    key = _check_key(key, "bernoulli")
    p = asarray(p)
    if get_aval(p).dtype.kind != "f":
        p = astype(p, dtypes.default_float())
    shape = _shape(get_aval(p).shape if shape is None else shape)
    pb = ls.broadcast_in_dim(p, shape, tuple(range(len(shape) - get_aval(p).ndim, len(shape))))
    return le.lt(uniform(key, shape, get_aval(p).dtype), pb)


def randint(key, shape, minval, maxval, dtype=None):
    """Integers uniform in ``[minval, maxval)``."""
    key = _check_key(key, "randint")
    dt = dtypes.canonicalize(dtype or dtypes.default_int())
    if dt.kind not in "iu":
        raise TypeError(f"randint needs an integer dtype, got {dt}")
    shape = _shape(shape)
    keys = split(key)
    k1 = ls.reshape(ls.slice_in_dim(keys, 0, 1), (2,))
    k2 = ls.reshape(ls.slice_in_dim(keys, 1, 2), (2,))
    hi_bits, lo_bits = random_bits(k1, shape), random_bits(k2, shape)
    info = np.iinfo(dt)
    lo = le.max(astype(asarray(minval), np.int64 if dtypes.x64_enabled() else np.int32),
                asarray(max(info.min, -2 ** 31), dtypes.default_int()))
    lo = astype(ls.broadcast_in_dim(lo, shape, tuple(range(len(shape) - get_aval(lo).ndim,
                                                           len(shape)))), dt)
    hi = astype(asarray(maxval), dtypes.default_int())
    hi = astype(ls.broadcast_in_dim(hi, shape, tuple(range(len(shape) - get_aval(hi).ndim,
                                                           len(shape)))), dt)
    span = le.convert_element_type(le.sub(hi, lo), _U32)
    span = le.max(span, _u32(1, shape))
    # (2**32 mod span)**2 mod span, so that hi*2**32 + lo is reduced modulo span exactly
    mult = le.rem(_u32(2 ** 32 - 1, shape), span)
    mult = le.rem(le.add(mult, _u32(1, shape)), span)
    mult = le.rem(le.mul(mult, mult), span)
    off = le.add(le.mul(le.rem(hi_bits, span), mult), le.rem(lo_bits, span))
    off = le.rem(off, span)
    return where(le.le(hi, lo), lo, le.add(lo, le.convert_element_type(off, dt)))


def gumbel(key, shape=(), dtype=None):
    key = _check_key(key, "gumbel")
    dt = _float_dtype(dtype)
    tiny = float(np.finfo(dt).tiny)
    u = uniform(key, _shape(shape), dt, tiny, 1.0)
    return le.neg(le.log(le.neg(le.log(u))))


def categorical(key, logits, axis=-1, shape=None, replace=True):
    """Samples from a categorical distribution given unnormalised log-probabilities."""
    key = _check_key(key, "categorical")
    logits = asarray(logits)
    nd = get_aval(logits).ndim
    axis = axis % nd
    batch = tuple(s for i, s in enumerate(get_aval(logits).shape) if i != axis)
    shape = batch if shape is None else _shape(shape)
    n = get_aval(logits).shape[axis]
    from funcgrad._src.fnp_shape import moveaxis

    lg = moveaxis(logits, axis, -1)
    lead = len(shape) - len(batch)
    lg = ls.broadcast_in_dim(lg, shape + (n,), tuple(range(lead, len(shape) + 1)))
    g = gumbel(key, shape + (n,), get_aval(lg).dtype)
    return lr.argmax(le.add(g, lg), len(shape), dtypes.default_int())


def permutation(key, x, axis=0, independent=False):
    """A random permutation of ``range(x)`` (int) or of ``x`` along ``axis``."""
    key = _check_key(key, "permutation")
    from funcgrad._src.indexing import take

    if isinstance(x, (int, np.integer)):
        n = int(x)
        arr = None
    else:
        arr = asarray(x)
        n = get_aval(arr).shape[axis]
    k = random_bits(key, (n,))
    io = ls.iota(dtypes.default_int(), n)
    perm = lr.sort([k, io], 0, num_keys=1)[1]
    return perm if arr is None else take(arr, perm, axis=axis)


def shuffle(key, x, axis=0):
    return permutation(key, x, axis)


def choice(key, a, shape=(), replace=True, p=None, axis=0):
    """Random samples from ``a`` (an int n means ``range(n)``)."""
    key = _check_key(key, "choice")
    from funcgrad._src.indexing import take

    arr = None if isinstance(a, (int, np.integer)) else asarray(a)
    n = int(a) if arr is None else get_aval(arr).shape[axis]
    shape = _shape(shape)
    m = int(np.prod(shape, dtype=np.int64))
    if p is None:
        if replace:
            idx = randint(key, shape, 0, n)
        else:
            if m > n:
                raise ValueError(f"choice: cannot take a larger sample ({m}) than the "
                                 f"population ({n}) when replace=False")
            idx = ls.reshape(ls.slice_in_dim(permutation(key, n), 0, m), shape)
    else:
        p = asarray(p)
        logp = le.log(astype(p, dtypes.default_float()))
        if replace:
            idx = categorical(key, logp, shape=shape)
        else:
            if m > n:
                raise ValueError("choice: sample larger than population with replace=False")
            g = le.add(gumbel(key, (n,), get_aval(logp).dtype), logp)
            io = ls.iota(dtypes.default_int(), n)
            order = lr.sort([le.neg(g), io], 0, num_keys=1)[1]
            idx = ls.reshape(ls.slice_in_dim(order, 0, m), shape)
    return idx if arr is None else take(arr, idx, axis=axis)


def exponential(key, shape=(), dtype=None):
    dt = _float_dtype(dtype)
    u = uniform(_check_key(key, "exponential"), _shape(shape), dt)
    return le.neg(le.log1p(le.neg(u)))


def laplace(key, shape=(), dtype=None):
    dt = _float_dtype(dtype)
    lo = float(np.nextafter(np.array(-1.0, dt), np.array(0.0, dt)))
    u = uniform(_check_key(key, "laplace"), _shape(shape), dt, lo, 1.0)
    return le.mul(le.sign(u), le.neg(le.log1p(le.neg(le.abs(u)))))


def logistic(key, shape=(), dtype=None):
    dt = _float_dtype(dtype)
    tiny = float(np.finfo(dt).tiny)
    u = uniform(_check_key(key, "logistic"), _shape(shape), dt, tiny, 1.0)
    return le.sub(le.log(u), le.log1p(le.neg(u)))


def rademacher(key, shape=(), dtype=None):
    dt = dtypes.canonicalize(dtype or dtypes.default_int())
    b = bernoulli(_check_key(key, "rademacher"), 0.5, _shape(shape))
    return astype(where(b, 1, -1), dt)
