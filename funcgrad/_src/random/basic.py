"""funcgrad.random: the basic samplers (``uniform``, ``normal``, ``truncated_normal``,
``bernoulli``, ``randint``, ``categorical``, ``permutation``, ``choice``, ``exponential``,
...), each a transformation of uniform bits."""

from __future__ import annotations

import math

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy.conversion import asarray, astype
from funcgrad._src.numpy.logic import where
from funcgrad._src.random.params import _float_dtype, _shape
from funcgrad._src.random.prng import _U32, _check_key, _u32, random_bits, split


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
    lo_b = ls.broadcast_in_dim(lo, shape, tuple(range(len(shape) - get_aval(lo).ndim, len(shape))))
    hi_b = ls.broadcast_in_dim(hi, shape, tuple(range(len(shape) - get_aval(hi).ndim, len(shape))))
    return le.max(lo_b, le.add(lo_b, le.mul(u, le.sub(hi_b, lo_b))))


def normal(key, shape=(), dtype=None):
    """Standard normal samples (inverse-CDF of a uniform draw)."""
    key = _check_key(key, "normal")
    if dtype is not None and dtypes.canonicalize(dtype).kind == "c":
        # as in JAX: independent real and imaginary parts, each of variance 1/2
        cdt = dtypes.canonicalize(dtype)
        rdt = np.dtype(f"float{cdt.itemsize * 4}")
        k_re, k_im = split(key)
        re, im = normal(k_re, shape, rdt), normal(k_im, shape, rdt)
        s = ls.full(get_aval(re).shape, 1 / math.sqrt(2), rdt)
        return le.complex(le.mul(re, s), le.mul(im, s))
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
    lower = ls.broadcast_in_dim(
        lower, shape, tuple(range(len(shape) - get_aval(lower).ndim, len(shape)))
    )
    upper = ls.broadcast_in_dim(
        upper, shape, tuple(range(len(shape) - get_aval(upper).ndim, len(shape)))
    )
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
    # as in JAX: the bounds are clipped to the dtype's range; a maxval above the range
    # makes the dtype's largest value a possible draw
    it = np.int64 if dtypes.x64_enabled() else np.int32
    tmin, tmax = (
        max(int(info.min), int(np.iinfo(it).min)),
        min(int(info.max), int(np.iinfo(it).max)),
    )
    lo = le.clamp(asarray(tmin, it), astype(asarray(minval), it), asarray(tmax, it))
    lo = astype(
        ls.broadcast_in_dim(lo, shape, tuple(range(len(shape) - get_aval(lo).ndim, len(shape)))), dt
    )
    hi_raw = astype(asarray(maxval), it)
    hi_raw = ls.broadcast_in_dim(
        hi_raw, shape, tuple(range(len(shape) - get_aval(hi_raw).ndim, len(shape)))
    )
    above = le.gt(hi_raw, ls.full(shape, tmax, it))
    hi = astype(le.clamp(ls.full(shape, tmin, it), hi_raw, ls.full(shape, tmax, it)), dt)
    span = le.convert_element_type(le.sub(hi, lo), _U32)
    span = le.max(span, _u32(1, shape))
    span = where(le.bitwise_and(above, le.gt(hi, lo)), le.add(span, _u32(1, shape)), span)
    # (2**32 mod span)**2 mod span, so that hi*2**32 + lo is reduced modulo span exactly
    mult = le.rem(_u32(2**32 - 1, shape), span)
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
    from funcgrad._src.numpy.shape import moveaxis

    lg = moveaxis(logits, axis, -1)
    lead = len(shape) - len(batch)
    lg = ls.broadcast_in_dim(lg, shape + (n,), tuple(range(lead, len(shape) + 1)))
    g = gumbel(key, shape + (n,), get_aval(lg).dtype)
    return lr.argmax(le.add(g, lg), len(shape), dtypes.default_int())


def permutation(key, x, axis=0, independent=False):
    """A random permutation of ``range(x)`` (int) or of ``x`` along ``axis``."""
    key = _check_key(key, "permutation")
    from funcgrad._src.numpy.indexing import take

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
    from funcgrad._src.numpy.indexing import take

    arr = None if isinstance(a, (int, np.integer)) else asarray(a)
    n = int(a) if arr is None else get_aval(arr).shape[axis]
    shape = _shape(shape)
    m = int(np.prod(shape, dtype=np.int64))
    if p is None:
        if replace:
            idx = randint(key, shape, 0, n)
        else:
            if m > n:
                raise ValueError(
                    f"choice: cannot take a larger sample ({m}) than the "
                    f"population ({n}) when replace=False"
                )
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
