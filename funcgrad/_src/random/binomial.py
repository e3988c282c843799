"""funcgrad.random: ``binomial`` (inversion for small means, BTRS rejection above: JAX's
algorithms and loops) and ``multinomial`` (a scan of conditional binomials)."""

from __future__ import annotations

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy.conversion import asarray, astype
from funcgrad._src.random.basic import _uniform
from funcgrad._src.random.params import _float_dtype, _shape, _to_rank
from funcgrad._src.random.prng import _check_key, _keys

_STIRLING_TAIL = (
    0.0810614667953272,
    0.0413406959554092,
    0.0276779256849983,
    0.02079067210376509,
    0.0166446911898211,
    0.0138761288230707,
    0.0118967099458917,
    0.0104112652619720,
    0.00925546218271273,
    0.00833056343336287,
)


def _stirling_approx_tail(k):
    import funcgrad.numpy as fnp

    dt = get_aval(k).dtype
    table = fnp.asarray(np.array(_STIRLING_TAIL), dtype=dt)
    use_table = k <= 9
    k = fnp.clip(k, 0.0, 9.0).astype(dt)
    kp1sq = (k + 1) * (k + 1)
    approx = (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)
    return fnp.where(use_table, table[fnp.floor(k).astype(np.int32)], approx)


def _any(x):
    return lr.reduce_or(x, tuple(range(get_aval(x).ndim)))


def _binomial_inversion(key, count, prob, shape):
    """Sum geometric waiting times until they pass ``count`` (JAX's, for mean <= 10)."""
    import funcgrad.numpy as fnp
    from funcgrad import lax

    dt = get_aval(prob).dtype
    log1mp = fnp.log1p(-prob)

    def body(c):
        i, num_geom, geom_sum, key = c
        sub, key = _keys(key, 2)
        num_geom = fnp.where(geom_sum <= count, num_geom + 1, num_geom)
        geom = fnp.ceil(fnp.log(_uniform(sub, shape, dt)) / log1mp)
        return i + 1, num_geom, geom_sum + geom, key

    zero = ls.full(shape, 0.0, dt)
    init = (ls.full((), 0, np.int32), zero, zero, key)
    k = lax.while_loop(lambda c: _any(c[2] <= count), body, init)[1]
    return k - 1


def _btrs(key, count, prob, shape):
    """Hörmann's BTRS transformed rejection (JAX's loop, for mean > 10)."""
    import funcgrad.numpy as fnp
    from funcgrad import lax

    dt = get_aval(prob).dtype
    stddev = fnp.sqrt(count * prob * (1 - prob))
    b = 1.15 + 2.53 * stddev
    a = -0.0873 + 0.0248 * b + 0.01 * prob
    c = count * prob + 0.5
    v_r = 0.92 - 4.2 / b
    r = prob / (1 - prob)
    alpha = (2.83 + 5.1 / b) * stddev
    m = fnp.floor((count + 1) * prob)
    st = _stirling_approx_tail

    def body(carry):
        i, k_out, accepted, key = carry
        key, k0, k1 = _keys(key, 3)
        u = _uniform(k0, shape, dt) - 0.5
        v = _uniform(k1, shape, dt)
        us = 0.5 - fnp.abs(u)
        accept1 = (us >= 0.07) & (v <= v_r)
        k = fnp.floor((2 * a / us + b) * u + c)
        reject = (k < 0) | (k > count)
        v = fnp.log(v * alpha / (a / (us * us) + b))
        ub = (
            (m + 0.5) * fnp.log((m + 1) / (r * (count - m + 1)))
            + (count + 1) * fnp.log((count - m + 1) / (count - k + 1))
            + (k + 0.5) * fnp.log(r * (count - k + 1) / (k + 1))
            + st(m)
            + st(count - m)
            - st(k)
            - st(count - k)
        )
        accept = accept1 | (~reject & (v <= ub))
        return i + 1, fnp.where(accept, k, k_out), accepted | accept, key

    init = (
        ls.full((), 0, np.int32),
        ls.full(shape, -1.0, dt),
        ls.full(shape, False, np.bool_),
        key,
    )
    return lax.while_loop(lambda c: _any(~c[2]), body, init)[1]


def binomial(key, n, p, shape=None, dtype=None):
    """Binomial(``n``, ``p``) counts, as floats (JAX's algorithms and streams).

    Args:
        key: a single PRNG key, typed or raw (``vmap`` the sampler over a batch of keys).
        n: the number of trials, float array_like (NaN or negative gives NaN, inf gives inf).
        p: the success probability, float array_like.
        shape: the sample shape, a tuple of ints (static under ``jit``); ``None`` (default) is
            the broadcast shape of ``n`` and ``p``.
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        The counts, a float array of ``shape`` and ``dtype``.

    Raises:
        ValueError: if ``dtype`` is not a float dtype.
    """
    import funcgrad.numpy as fnp

    key = _check_key(key, "binomial")
    dt = _float_dtype(dtype)
    n, p = asarray(n), asarray(p)
    if get_aval(p).dtype.kind != "f":
        p = astype(p, dtypes.default_float())
    pdt = get_aval(p).dtype
    shape = (
        np.broadcast_shapes(get_aval(n).shape, get_aval(p).shape)
        if shape is None
        else _shape(shape)
    )
    count, prob = _to_rank(astype(n, pdt), shape), _to_rank(p, shape)
    p_lt_half = prob < 0.5
    q = fnp.where(p_lt_half, prob, 1.0 - prob)
    count_bad = fnp.isnan(count) | (count < 0.0)
    count_inf, q_nan, q_neg = fnp.isinf(count), fnp.isnan(q), q < 0.0
    q = fnp.where(q_nan | q_neg, fnp.full_like(q, 0.01), q)
    use_inv = count_bad | (count * q <= 10.0)
    count = fnp.floor(count)
    count_inv = fnp.where(use_inv, count, fnp.zeros_like(count))
    count_btrs = fnp.where(use_inv, fnp.full_like(count, 1e4), count)
    q_btrs = fnp.where(use_inv, fnp.full_like(q, 0.5), q)
    inv = _binomial_inversion(key, count_inv, q, shape).astype(dt)
    samples = fnp.where(use_inv, inv, _btrs(key, count_btrs, q_btrs, shape).astype(dt))
    invalid = q_neg | q_nan | count_bad
    samples = fnp.where(invalid, fnp.full_like(samples, np.nan), samples)
    samples = fnp.where(count_inf & ~invalid, fnp.full_like(samples, np.inf), samples)
    keep = p_lt_half | count_bad | q_nan | count_inf
    return fnp.where(keep, samples, count.astype(dt) - samples)


def multinomial(key, n, p, *, shape=None, dtype=None, unroll=1):
    """Multinomial(``n``, ``p``) counts over the last axis, as JAX: a scan of conditional
    binomials, one subkey per category.

    Args:
        key: a single PRNG key, typed or raw.
        n: the number of trials, float array_like broadcastable to ``shape[:-1]``.
        p: the category probabilities, float array_like of shape ``(..., k)``.
        shape: the output shape (categories last); ``None`` (default) is ``p``'s shape.
        dtype: a float dtype (default: float32, or float64 with x64 on).
        unroll: accepted for compatibility with JAX (the scan's unrolling).

    Returns:
        The counts, a float array of ``shape`` whose last axis sums to ``n``.
    """
    import funcgrad.numpy as fnp
    from funcgrad import lax

    key = _check_key(key, "multinomial")
    dt = _float_dtype(dtype)
    n, p = fnp.asarray(n), fnp.asarray(p)
    fdt = fnp.result_type(n, p)
    fdt = fdt if fdt.kind == "f" else dtypes.default_float()
    n, p = n.astype(fdt), p.astype(fdt)
    shape = p.shape if shape is None else _shape(shape)
    n = fnp.broadcast_to(n, shape[:-1])
    p = fnp.moveaxis(fnp.broadcast_to(p, shape), -1, 0)
    remaining = lr.cumsum(p, 0, reverse=True)
    ratios = p / fnp.where(remaining == 0, 1, remaining)
    keys = fnp.stack(_keys(key, get_aval(ratios).shape[0]))

    def step(rem, rk):
        ratio, k = rk
        count = binomial(k, rem, fnp.clip(ratio, 0, 1), dtype=rem.dtype)
        return rem - count, count

    _, counts = lax.scan(step, n, (ratios, keys))
    return fnp.moveaxis(counts, 0, -1).astype(dt)
