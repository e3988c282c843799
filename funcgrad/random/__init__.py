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
from funcgrad._src.array import array_from_user, get_aval
from funcgrad._src.core import Tracer
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy.conversion import asarray, astype
from funcgrad._src.numpy.logic import where

__all__ = [
    "PRNGKey",
    "key",
    "key_data",
    "wrap_key_data",
    "split",
    "fold_in",
    "clone",
    "random_bits",
    "bits",
    "uniform",
    "normal",
    "truncated_normal",
    "bernoulli",
    "randint",
    "gumbel",
    "categorical",
    "permutation",
    "shuffle",
    "choice",
    "exponential",
    "laplace",
    "logistic",
    "rademacher",
    "threefry_2x32",
    "gamma",
    "loggamma",
    "beta",
    "dirichlet",
    "chisquare",
    "t",
    "f",
    "poisson",
    "cauchy",
    "lognormal",
    "pareto",
    "weibull_min",
    "geometric",
    "rayleigh",
    "wald",
    "multivariate_normal",
    "orthogonal",
    "ball",
    "maxwell",
    "double_sided_maxwell",
    "generalized_normal",
    "triangular",
]

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
    both = le.select(
        le.eq(row, ls.full((2, half), 0, dtypes.int32)),
        ls.broadcast_in_dim(x0, (2, half), (1,)),
        ls.broadcast_in_dim(x1, (2, half), (1,)),
    )
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
    if odd:  # the padded last counter is 0, as in threefry_2x32
        last = le.eq(x0, _u32(half - 1, (half,)))
        x1 = le.select(last, _u32(0, (half,)), x1)
    return _join_halves(*_threefry_pairs(key, x0, x1), n, (n,))


# ---- keys ---------------------------------------------------------------------------------------


def PRNGKey(seed) -> Array:  # noqa: F821
    """A key from an integer seed: ``uint32[2]`` ``[high 32 bits, low 32 bits]`` of the seed
    as a 64-bit integer with x64 on, or ``[0, seed mod 2**32]`` with it off (as JAX)."""
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
        return ls.concatenate([ls.reshape(hi, (1,)), ls.reshape(lo, (1,))], 0)
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
    return asarray(keys)


def wrap_key_data(data, impl=None):
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
        from funcgrad._src.core import ValueTypeError

        raise ValueTypeError(f"dtype argument must be a float dtype, got {dt}")
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


# ---- distributions built on the ones above ------------------------------------------------------
# Rejection samplers draw a fixed number of candidates per sample and keep the first accepted
# one: no data-dependent loop, so they run unchanged under jit and vmap. With acceptance
# rates >= 0.9 the chance that all _TRIES candidates are rejected is below 1e-16.

_TRIES = 16


def _keys(key, n):
    ks = split(key, n)
    return [ls.reshape(ls.slice_in_dim(ks, i, i + 1), (2,)) for i in range(n)]


def _param(x, dt):
    return astype(asarray(x), dt)


def _bcast(x, shape, fname, what):
    """Broadcast a parameter to the sample ``shape`` (trailing alignment, as numpy)."""
    xs = get_aval(x).shape
    try:
        ok = np.broadcast_shapes(xs, shape) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"{fname}: {what} of shape {xs} does not broadcast to the requested "
            f"shape {tuple(shape)}; pass shape=None (the parameter's shape) or a "
            f"shape that ends with a broadcast of {xs}"
        )
    return ls.broadcast_in_dim(x, tuple(shape), tuple(range(len(shape) - len(xs), len(shape))))


def _params_shape(shape, *params):
    shapes = [get_aval(p).shape for p in params]
    return np.broadcast_shapes(*shapes) if shape is None else _shape(shape)


def _first_accepted(ok, vals):
    """``vals[k]`` for the first ``k`` (axis 0) where ``ok[k]``; the last one if none is."""
    n = get_aval(ok).shape[0]
    pick = lambda a, i: ls.reshape(ls.slice_in_dim(a, i, i + 1), get_aval(a).shape[1:])
    out = pick(vals, n - 1)
    for i in range(n - 2, -1, -1):
        out = where(pick(ok, i), pick(vals, i), out)
    return out


def _log_gamma_sample(key, a, shape, dt):
    """log of Gamma(a, 1) samples (Marsaglia & Tsang 2000), with the ``a < 1`` boost
    ``G(a) = G(a + 1) * U**(1/a)`` applied in log space (no underflow for tiny ``a``)."""
    from funcgrad._src.api import stop_gradient

    a_in = _bcast(a, shape, "gamma", "a")
    a = stop_gradient(a_in)
    one = ls.full(shape, 1.0, dt)
    boost = le.lt(a, one)
    alpha = where(boost, le.add(a, one), a)
    d = le.sub(alpha, ls.full(shape, 1.0 / 3.0, dt))
    c = le.rsqrt(le.mul(ls.full(shape, 9.0, dt), d))
    kx, ku, kb = _keys(key, 3)
    cand = (_TRIES,) + tuple(shape)
    bd = lambda v: ls.broadcast_in_dim(v, cand, tuple(range(1, len(cand))))
    x = normal(kx, cand, dt)
    u = uniform(ku, cand, dt)
    v = le.integer_pow(le.add(ls.full(cand, 1.0, dt), le.mul(bd(c), x)), 3)
    pos = le.gt(v, ls.full(cand, 0.0, dt))
    v_safe = where(pos, v, ls.full(cand, 1.0, dt))
    dd = bd(d)
    rhs = le.add(
        le.add(le.mul(ls.full(cand, 0.5, dt), le.mul(x, x)), dd),
        le.mul(dd, le.sub(le.log(v_safe), v_safe)),
    )
    ok = le.bitwise_and(pos, le.lt(le.log(u), rhs))
    log_v = _first_accepted(ok, le.log(v_safe))
    log_s = le.add(le.log(d), log_v)
    ub = le.sub(one, uniform(kb, shape, dt))  # (0, 1]
    return _implicit_log_gamma(a_in, where(boost, le.add(log_s, le.div(le.log(ub), a)), log_s))


# ---- the implicit reparameterization gradient of gamma samples ----------------------------------
# A sample z = F^-1(u; a) of Gamma(a, 1) moves with a at fixed u (its CDF level):
# dz/da = -dP(a, z)/da / p(z; a), P the regularized lower incomplete gamma function and p the
# density (Figurnov et al. 2018, "Implicit reparameterization gradients"; what JAX's gamma
# gradient is). With log-space forms the density cancels, so d(log z)/da is
#   z < a + 1 (series P = e^-z z^a S / Gamma(a+1), S = sum_n z^n / ((a+1)...(a+n))):
#       -(S (log z - digamma(a + 1)) + dS/da) / a
#   z >= a + 1 (continued fraction Q = 1 - P = e^-z z^a F / Gamma(a)):
#       F (log z - digamma(a)) + dF/da
#   a > _WH_A (where the fixed-length sums would be too short): the Wilson-Hilferty form
#       z = a (1 - 1/(9a) + x / (3 sqrt(a)))^3, differentiated at fixed x.
# The sums run a fixed number of terms, carrying their derivative in a alongside.

_SERIES_TERMS, _CF_TERMS, _WH_A = 256, 128, 400.0


def _dlogz_da(a, logz):
    import funcgrad.numpy as fnp
    from funcgrad import lax

    dt = get_aval(a).dtype
    z = fnp.exp(logz)
    zero, one = fnp.zeros_like(a), fnp.ones_like(a)

    def series(n, c):  # t_n = t_{n-1} z / (a + n); dt_n/da = -t_n sum_{k<=n} 1 / (a + k)
        t, h, s, ds = c
        an = a + (n + 1).astype(dt)
        t = t * z / an
        h = h + 1.0 / an
        return t, h, s + t, ds - t * h

    _, _, s, ds = lax.fori_loop(0, _SERIES_TERMS, series, (one, zero, one, zero))
    lower = -(s * (logz - lax.digamma(a + 1.0)) + ds) / a

    def cf(k, c):  # t <- b_{n-1} + a_n / t for n = N..1, a_n = -n (n - a), b_m = z + 2m + 1 - a
        t, dt_ = c
        n = (_CF_TERMS - k).astype(dt)
        an = -n * (n - a)
        return z + 2.0 * n - 1.0 - a + an / t, -1.0 - (an * dt_ - n * t) / (t * t)

    t, dt_ = lax.fori_loop(0, _CF_TERMS, cf, (z + (2.0 * _CF_TERMS + 1.0) - a, -one))
    f, df = 1.0 / t, -dt_ / (t * t)
    upper = f * (logz - lax.digamma(a)) + df

    x = 3.0 * fnp.sqrt(a) * (fnp.exp((logz - fnp.log(a)) / 3.0) - 1.0 + 1.0 / (9.0 * a))
    u = 1.0 - 1.0 / (9.0 * a) + x / (3.0 * fnp.sqrt(a))
    du = 1.0 / (9.0 * a * a) - x / (6.0 * a * fnp.sqrt(a))
    wh = 1.0 / a + 3.0 * du / u
    return fnp.where(a > _WH_A, wh, fnp.where(z < a + 1.0, lower, upper)).astype(dt)


def _implicit_log_gamma(a, logz):
    """``logz`` (log Gamma(a, 1) samples drawn with a stop-gradient ``a``) with the implicit
    reparameterization derivative in ``a``."""
    from funcgrad._src.api import custom_jvp

    @custom_jvp
    def f(a, logz):
        return logz

    @f.defjvp
    def f_jvp(primals, tangents):
        a, logz = primals
        ta, _ = tangents  # logz came from the stop-gradient a: its own tangent is zero
        return logz, le.mul(_dlogz_da(a, logz), ta)

    return f(a, logz)


def _gamma_args(key, a, shape, dtype, fname):
    key = _check_key(key, fname)
    dt = _float_dtype(dtype)
    a = _param(a, dt)
    return key, a, _params_shape(shape, a), dt


def gamma(key, a, shape=None, dtype=None):
    """Gamma(``a``, 1) samples (Marsaglia–Tsang). ``shape`` defaults to ``a``'s shape.

    Differentiable in ``a`` as in JAX: the implicit reparameterization gradient
    ``dz/da = -(dP(a, z)/da) / p(z; a)`` (see ``_dlogz_da``).

    >>> import funcgrad as fg
    >>> fg.random.gamma(fg.random.key(0), 2.0, (3,)).shape
    (3,)
    """
    key, a, shape, dt = _gamma_args(key, a, shape, dtype, "gamma")
    return le.exp(_log_gamma_sample(key, a, shape, dt))


def loggamma(key, a, shape=None, dtype=None):
    """``log`` of Gamma(``a``, 1) samples, accurate for small ``a`` (where ``gamma``
    underflows to 0). Differentiable in ``a`` (the implicit gradient, see ``gamma``)."""
    key, a, shape, dt = _gamma_args(key, a, shape, dtype, "loggamma")
    return _log_gamma_sample(key, a, shape, dt)


def beta(key, a, b, shape=None, dtype=None):
    """Beta(``a``, ``b``) samples, as ``X / (X + Y)`` of two gamma draws (in log space)."""
    key = _check_key(key, "beta")
    dt = _float_dtype(dtype)
    a, b = _param(a, dt), _param(b, dt)
    shape = _params_shape(shape, a, b)
    ka, kb = _keys(key, 2)
    lx = _log_gamma_sample(ka, a, shape, dt)
    ly = _log_gamma_sample(kb, b, shape, dt)
    m = le.max(lx, ly)
    x, y = le.exp(le.sub(lx, m)), le.exp(le.sub(ly, m))
    return le.div(x, le.add(x, y))


def dirichlet(key, alpha, shape=None, dtype=None):
    """Dirichlet(``alpha``) samples: shape ``shape + alpha.shape[-1:]`` (``shape`` defaults
    to ``alpha.shape[:-1]``)."""
    key = _check_key(key, "dirichlet")
    dt = _float_dtype(dtype)
    alpha = _param(alpha, dt)
    ash = get_aval(alpha).shape
    if len(ash) < 1:
        raise ValueError(
            f"dirichlet: alpha must have at least one dimension (the categories), got shape {ash}"
        )
    shape = ash[:-1] if shape is None else _shape(shape)
    full_shape = tuple(shape) + ash[-1:]
    lg = _log_gamma_sample(key, alpha, full_shape, dt)
    m = lr.reduce_max(lg, (len(full_shape) - 1,))
    e = le.exp(le.sub(lg, ls.broadcast_in_dim(m, full_shape, tuple(range(len(shape))))))
    s = lr.reduce_sum(e, (len(full_shape) - 1,))
    return le.div(e, ls.broadcast_in_dim(s, full_shape, tuple(range(len(shape)))))


def chisquare(key, df, shape=None, dtype=None):
    """Chi-square samples with ``df`` degrees of freedom: ``2 * gamma(df / 2)``."""
    key, df, shape, dt = _gamma_args(key, df, shape, dtype, "chisquare")
    half = le.mul(df, ls.full(get_aval(df).shape, 0.5, dt))
    return le.mul(ls.full(shape, 2.0, dt), le.exp(_log_gamma_sample(key, half, shape, dt)))


def t(key, df, shape=(), dtype=None):
    """Student's t samples with ``df`` degrees of freedom: ``N * sqrt(df / chi2(df))``."""
    key, df, shape, dt = _gamma_args(key, df, shape, dtype, "t")
    kn, kg = _keys(key, 2)
    n = normal(kn, shape, dt)
    half = le.mul(_bcast(df, shape, "t", "df"), ls.full(shape, 0.5, dt))
    g = le.exp(_log_gamma_sample(kg, half, shape, dt))
    return le.mul(n, le.sqrt(le.div(half, g)))


def f(key, dfnum, dfden, shape=(), dtype=None):
    """F-distribution samples: ``(chi2(dfnum) / dfnum) / (chi2(dfden) / dfden)``."""
    key = _check_key(key, "f")
    dt = _float_dtype(dtype)
    dfnum, dfden = _param(dfnum, dt), _param(dfden, dt)
    shape = _params_shape(shape, dfnum, dfden)
    k1, k2 = _keys(key, 2)
    num = le.div(chisquare(k1, dfnum, shape, dt), _bcast(dfnum, shape, "f", "dfnum"))
    den = le.div(chisquare(k2, dfden, shape, dt), _bcast(dfden, shape, "f", "dfden"))
    return le.div(num, den)


_POISSON_TERMS = 48  # inversion is used for lam < 10: P(X >= 48) < 1e-17 there


def _poisson_small(key, lam, shape, dt):
    """Inversion against the survival function, summed from the tail (accurate near 0)."""
    n = _POISSON_TERMS
    full_shape = tuple(shape) + (n,)
    nd = len(shape)
    k = ls.broadcasted_iota(dt, full_shape, nd)
    lam_b = ls.broadcast_in_dim(lam, full_shape, tuple(range(nd)))
    logpmf = le.sub(
        le.sub(le.mul(k, le.log(lam_b)), lam_b), le.lgamma(le.add(k, ls.full(full_shape, 1.0, dt)))
    )
    pmf = le.exp(logpmf)
    sf = le.sub(lr.cumsum(pmf, nd, reverse=True), pmf)  # P(X > k)
    v = le.sub(ls.full(shape, 1.0, dt), uniform(key, shape, dt))  # (0, 1]
    hit = le.le(ls.broadcast_in_dim(v, full_shape, tuple(range(nd))), sf)
    return lr.reduce_sum(le.convert_element_type(hit, dt), (nd,))


def _poisson_large(key, lam, shape, dt):
    """Hörmann's transformed rejection with squeeze (PTRS, 1993), for lam >= 10."""
    cand = (_TRIES,) + tuple(shape)
    bd = lambda v: ls.broadcast_in_dim(v, cand, tuple(range(1, len(cand))))
    c = lambda v: ls.full(cand, v, dt)
    lam = bd(lam)
    slam, loglam = le.sqrt(lam), le.log(lam)
    b = le.add(c(0.931), le.mul(c(2.53), slam))
    a = le.add(c(-0.059), le.mul(c(0.02483), b))
    inv_alpha = le.add(c(1.1239), le.div(c(1.1328), le.sub(b, c(3.4))))
    vr = le.sub(c(0.9277), le.div(c(3.6224), le.sub(b, c(2.0))))
    ku, kv = _keys(key, 2)
    u = le.sub(uniform(ku, cand, dt), c(0.5))
    v = le.sub(c(1.0), uniform(kv, cand, dt))  # (0, 1]
    us = le.sub(c(0.5), le.abs(u))
    us_safe = le.max(us, c(1e-30))
    kf = le.floor(
        le.add(le.mul(le.add(le.div(le.mul(c(2.0), a), us_safe), b), u), le.add(lam, c(0.43)))
    )
    quick = le.bitwise_and(le.ge(us, c(0.07)), le.le(v, vr))
    bad = le.bitwise_or(le.lt(kf, c(0.0)), le.bitwise_and(le.lt(us, c(0.013)), le.gt(v, us)))
    kpos = le.max(kf, c(0.0))
    lhs = le.sub(
        le.add(le.log(v), le.log(inv_alpha)), le.log(le.add(le.div(a, le.mul(us_safe, us_safe)), b))
    )
    rhs = le.sub(le.sub(le.mul(kpos, loglam), lam), le.lgamma(le.add(kpos, c(1.0))))
    ok = le.bitwise_or(quick, le.bitwise_and(le.bitwise_not(bad), le.le(lhs, rhs)))
    return _first_accepted(ok, kf)


def poisson(key, lam, shape=None, dtype=None):
    """Poisson(``lam``) counts: inversion for ``lam < 10``, Hörmann's PTRS rejection above.
    ``lam == 0`` gives 0. ``shape`` defaults to ``lam``'s shape.

    >>> import funcgrad as fg
    >>> fg.random.poisson(fg.random.key(0), 3.0, (2,)).dtype
    dtype('int32')
    """
    key = _check_key(key, "poisson")
    out_dt = dtypes.canonicalize(dtype or dtypes.default_int())
    if out_dt.kind not in "iu":
        raise TypeError(f"poisson: dtype must be an integer dtype, got {out_dt}")
    dt = dtypes.default_float()
    lam = _param(lam, dt)
    shape = _params_shape(shape, lam)
    from funcgrad._src.api import stop_gradient

    lam = stop_gradient(_bcast(lam, shape, "poisson", "lam"))
    small = le.lt(lam, ls.full(shape, 10.0, dt))
    lam_lo = where(small, le.max(lam, ls.full(shape, 1e-30, dt)), ls.full(shape, 1.0, dt))
    lam_hi = where(small, ls.full(shape, 10.0, dt), lam)
    k1, k2 = _keys(key, 2)
    out = where(small, _poisson_small(k1, lam_lo, shape, dt), _poisson_large(k2, lam_hi, shape, dt))
    out = where(le.le(lam, ls.full(shape, 0.0, dt)), ls.full(shape, 0.0, dt), out)
    return le.convert_element_type(out, out_dt)


def cauchy(key, shape=(), dtype=None):
    """Standard Cauchy samples: ``tan(pi * (u - 1/2))``."""
    key = _check_key(key, "cauchy")
    dt = _float_dtype(dtype)
    shape = _shape(shape)
    u = uniform(key, shape, dt, float(np.finfo(dt).eps), 1.0)
    return le.tan(le.mul(ls.full(shape, np.pi, dt), le.sub(u, ls.full(shape, 0.5, dt))))


def lognormal(key, sigma=1.0, shape=None, dtype=None):
    """``exp(sigma * N(0, 1))`` samples."""
    key = _check_key(key, "lognormal")
    dt = _float_dtype(dtype)
    sigma = _param(sigma, dt)
    shape = _params_shape(shape, sigma)
    return le.exp(le.mul(normal(key, shape, dt), _bcast(sigma, shape, "lognormal", "sigma")))


def pareto(key, b, shape=None, dtype=None):
    """Pareto samples with shape parameter ``b`` (support ``[1, inf)``): ``exp(E / b)``."""
    key = _check_key(key, "pareto")
    dt = _float_dtype(dtype)
    b = _param(b, dt)
    shape = _params_shape(shape, b)
    return le.exp(le.div(exponential(key, shape, dt), _bcast(b, shape, "pareto", "b")))


def weibull_min(key, scale, concentration, shape=(), dtype=None):
    """Weibull samples: ``scale * (-log(1 - u)) ** (1 / concentration)``."""
    key = _check_key(key, "weibull_min")
    dt = _float_dtype(dtype)
    scale, conc = _param(scale, dt), _param(concentration, dt)
    shape = _shape(shape)
    e = exponential(key, shape, dt)
    conc = _bcast(conc, shape, "weibull_min", "concentration")
    return le.mul(
        _bcast(scale, shape, "weibull_min", "scale"),
        le.pow(e, le.div(ls.full(shape, 1.0, dt), conc)),
    )


def geometric(key, p, shape=None, dtype=None):
    """Number of Bernoulli(``p``) trials up to and including the first success (>= 1)."""
    key = _check_key(key, "geometric")
    out_dt = dtypes.canonicalize(dtype or dtypes.default_int())
    if out_dt.kind not in "iu":
        raise TypeError(f"geometric: dtype must be an integer dtype, got {out_dt}")
    dt = dtypes.default_float()
    p = _param(p, dt)
    shape = _params_shape(shape, p)
    p = _bcast(p, shape, "geometric", "p")
    u = le.sub(ls.full(shape, 1.0, dt), uniform(key, shape, dt))  # (0, 1]
    k = le.floor(le.div(le.log(u), le.log1p(le.neg(p))))
    return le.convert_element_type(le.add(k, ls.full(shape, 1.0, dt)), out_dt)


def rayleigh(key, scale, shape=None, dtype=None):
    """Rayleigh samples: ``scale * sqrt(-2 log u)``."""
    key = _check_key(key, "rayleigh")
    dt = _float_dtype(dtype)
    scale = _param(scale, dt)
    shape = _params_shape(shape, scale)
    e = exponential(key, shape, dt)
    return le.mul(
        _bcast(scale, shape, "rayleigh", "scale"), le.sqrt(le.mul(ls.full(shape, 2.0, dt), e))
    )


def wald(key, mean, shape=None, dtype=None):
    """Wald (inverse Gaussian, scale 1) samples (Michael, Schucany & Haas 1976)."""
    key = _check_key(key, "wald")
    dt = _float_dtype(dtype)
    mean = _param(mean, dt)
    shape = _params_shape(shape, mean)
    mu = _bcast(mean, shape, "wald", "mean")
    k1, k2 = _keys(key, 2)
    y = le.integer_pow(normal(k1, shape, dt), 2)
    z = uniform(k2, shape, dt)
    mu2 = le.mul(mu, mu)
    c = lambda v: ls.full(shape, v, dt)
    root = le.sqrt(le.add(le.mul(le.mul(c(4.0), mu), y), le.mul(mu2, le.mul(y, y))))
    x = le.sub(le.add(mu, le.mul(le.mul(mu2, y), c(0.5))), le.mul(le.mul(mu, c(0.5)), root))
    return where(le.le(z, le.div(mu, le.add(mu, x))), x, le.div(mu2, x))


def multivariate_normal(key, mean, cov, shape=None, dtype=None, method="cholesky"):
    """Samples of N(``mean``, ``cov``): shape ``shape + mean.shape[-1:]``.

    ``shape`` defaults to the broadcast of ``mean.shape[:-1]`` and ``cov.shape[:-2]``;
    ``method`` is ``"cholesky"``, ``"eigh"`` or ``"svd"`` (the latter two allow singular
    covariances)."""
    import funcgrad.numpy as fnp

    key = _check_key(key, "multivariate_normal")
    if method not in ("cholesky", "eigh", "svd"):
        raise ValueError(
            f"multivariate_normal: method must be 'cholesky', 'eigh' or 'svd', got {method!r}"
        )
    dt = _float_dtype(dtype)
    mean, cov = _param(mean, dt), _param(cov, dt)
    ms, cs = get_aval(mean).shape, get_aval(cov).shape
    if len(ms) < 1 or len(cs) < 2 or cs[-2:] != (ms[-1], ms[-1]):
        raise ValueError(
            f"multivariate_normal: mean must have shape (..., n) and cov shape "
            f"(..., n, n), got mean {ms} and cov {cs}"
        )
    batch = np.broadcast_shapes(ms[:-1], cs[:-2])
    shape = batch if shape is None else _shape(shape)
    if method == "cholesky":
        factor = fnp.linalg.cholesky(cov)
    elif method == "eigh":
        w, v = fnp.linalg.eigh(cov)
        factor = v * fnp.sqrt(fnp.maximum(w, 0))[..., None, :]
    else:
        u, s, _ = fnp.linalg.svd(cov)
        factor = u * fnp.sqrt(s)[..., None, :]
    z = normal(key, tuple(shape) + ms[-1:], dt)
    return mean + fnp.matmul(factor, z[..., None])[..., 0]


def orthogonal(key, n, shape=(), dtype=None, m=None):
    """Haar-uniform ``n x m`` matrices with orthonormal columns (rows when ``n < m``),
    batch ``shape``; ``m`` defaults to ``n``."""
    import funcgrad.numpy as fnp

    key = _check_key(key, "orthogonal")
    dt = _float_dtype(dtype)
    shape = _shape(shape)
    n = operator.index(n)
    m = n if m is None else operator.index(m)
    z = normal(key, shape + (max(n, m), min(n, m)), dt)
    q, r = fnp.linalg.qr(z)
    d = fnp.diagonal(r, axis1=-2, axis2=-1)
    q = q * fnp.where(d < 0, -1.0, 1.0).astype(dt)[..., None, :]
    return fnp.swapaxes(q, -1, -2) if n < m else q


def generalized_normal(key, p, shape=(), dtype=None):
    """Samples with density ``∝ exp(-|x|**p)``: ``± gamma(1/p) ** (1/p)``."""
    key = _check_key(key, "generalized_normal")
    dt = _float_dtype(dtype)
    p = _param(p, dt)
    shape = _shape(shape)
    pb = _bcast(p, shape, "generalized_normal", "p")
    k1, k2 = _keys(key, 2)
    inv_p = le.div(ls.full(shape, 1.0, dt), pb)
    g = le.exp(le.mul(_log_gamma_sample(k1, inv_p, shape, dt), inv_p))
    return le.mul(rademacher(k2, shape, dt), g)


def ball(key, d, p=2, shape=(), dtype=None):
    """Points uniform in the unit ``p``-norm ball of dimension ``d``: shape ``shape + (d,)``
    (Barthe et al. 2005)."""
    import funcgrad.numpy as fnp

    key = _check_key(key, "ball")
    dt = _float_dtype(dtype)
    d = operator.index(d)
    shape = _shape(shape)
    k1, k2 = _keys(key, 2)
    g = generalized_normal(k1, p, shape + (d,), dt)
    e = exponential(k2, shape, dt)
    return g / ((fnp.sum(fnp.abs(g) ** p, axis=-1) + e) ** (1.0 / p))[..., None]


def maxwell(key, shape=(), dtype=None):
    """Maxwell samples: the norm of three standard normals."""
    key = _check_key(key, "maxwell")
    dt = _float_dtype(dtype)
    shape = _shape(shape)
    x = normal(key, shape + (3,), dt)
    return le.sqrt(lr.reduce_sum(le.mul(x, x), (len(shape),)))


def double_sided_maxwell(key, loc, scale, shape=(), dtype=None):
    """``loc + scale * (±Maxwell)``: shape ``shape + broadcast(loc, scale).shape``."""
    key = _check_key(key, "double_sided_maxwell")
    dt = _float_dtype(dtype)
    loc, scale = _param(loc, dt), _param(scale, dt)
    out_shape = _shape(shape) + tuple(
        np.broadcast_shapes(get_aval(loc).shape, get_aval(scale).shape)
    )
    k1, k2 = _keys(key, 2)
    mx = le.mul(maxwell(k1, out_shape, dt), rademacher(k2, out_shape, dt))
    return le.add(
        _bcast(loc, out_shape, "double_sided_maxwell", "loc"),
        le.mul(mx, _bcast(scale, out_shape, "double_sided_maxwell", "scale")),
    )


def triangular(key, left, mode, right, shape=None, dtype=None):
    """Triangular samples on ``[left, right]`` with peak at ``mode`` (inverse CDF)."""
    key = _check_key(key, "triangular")
    dt = _float_dtype(dtype)
    lo, md, hi = (_param(v, dt) for v in (left, mode, right))
    shape = _params_shape(shape, lo, md, hi)
    lo, md, hi = (
        _bcast(v, shape, "triangular", n) for v, n in ((lo, "left"), (md, "mode"), (hi, "right"))
    )
    u = uniform(key, shape, dt)
    width = le.sub(hi, lo)
    fc = le.div(le.sub(md, lo), width)
    out1 = le.add(lo, le.sqrt(le.mul(le.mul(u, width), le.sub(md, lo))))
    out2 = le.sub(
        hi, le.sqrt(le.mul(le.mul(le.sub(ls.full(shape, 1.0, dt), u), width), le.sub(hi, md)))
    )
    return where(le.lt(u, fc), out1, out2)
