"""funcgrad.random: discrete distributions beyond the basic ones (``poisson``, ``geometric``)."""

from __future__ import annotations

from funcgrad._src import dtypes
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax import transcendental as ltr
from funcgrad._src.numpy.logic import where
from funcgrad._src.random.basic import uniform
from funcgrad._src.random.params import _TRIES, _bcast, _first_accepted, _param, _params_shape
from funcgrad._src.random.prng import _check_key, _keys

_POISSON_TERMS = 48  # inversion is used for lam < 10: P(X >= 48) < 1e-17 there


def _poisson_small(key, lam, shape, dt):
    """Inversion against the survival function, summed from the tail (accurate near 0)."""
    n = _POISSON_TERMS
    full_shape = tuple(shape) + (n,)
    nd = len(shape)
    k = ls.broadcasted_iota(dt, full_shape, nd)
    lam_b = ls.broadcast_in_dim(lam, full_shape, tuple(range(nd)))
    logpmf = le.sub(
        le.sub(le.mul(k, ltr.log(lam_b)), lam_b),
        ltr.lgamma(le.add(k, ls.full(full_shape, 1.0, dt))),
    )
    pmf = ltr.exp(logpmf)
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
    slam, loglam = ltr.sqrt(lam), ltr.log(lam)
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
        le.add(ltr.log(v), ltr.log(inv_alpha)),
        ltr.log(le.add(le.div(a, le.mul(us_safe, us_safe)), b)),
    )
    rhs = le.sub(le.sub(le.mul(kpos, loglam), lam), ltr.lgamma(le.add(kpos, c(1.0))))
    ok = le.bitwise_or(quick, le.bitwise_and(le.bitwise_not(bad), le.le(lhs, rhs)))
    return _first_accepted(ok, kf)


def poisson(key, lam, shape=None, dtype=None):
    """Poisson(``lam``) counts: inversion for ``lam < 10``, Hörmann's PTRS rejection above.

    ``lam <= 0`` gives 0. The gradient with respect to ``lam`` is zero (``lam`` is held
    constant, as the samples are integers).

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        lam: the rate, non-negative float array_like.
        shape: the sample shape, a tuple of ints (static under ``jit``); ``None``
            (default) is ``lam``'s shape.
        dtype: an integer dtype (default: int32, or int64 with x64 on).

    Returns:
        The counts, an array of ``shape`` and ``dtype``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key or ``dtype`` is not an integer
            dtype.
        ValueError: if ``lam`` does not broadcast to ``shape``.

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


def geometric(key, p, shape=None, dtype=None):
    """Number of Bernoulli(``p``) trials up to and including the first success (>= 1).

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        p: the success probability, float array_like in ``(0, 1]``.
        shape: the sample shape, a tuple of ints (static under ``jit``); ``None``
            (default) is ``p``'s shape.
        dtype: an integer dtype (default: int32, or int64 with x64 on).

    Returns:
        The counts ``floor(log(u) / log(1 - p)) + 1``, an array of ``shape`` and ``dtype``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key or ``dtype`` is not an integer
            dtype.
        ValueError: if ``p`` does not broadcast to ``shape``.
    """
    key = _check_key(key, "geometric")
    out_dt = dtypes.canonicalize(dtype or dtypes.default_int())
    if out_dt.kind not in "iu":
        raise TypeError(f"geometric: dtype must be an integer dtype, got {out_dt}")
    dt = dtypes.default_float()
    p = _param(p, dt)
    shape = _params_shape(shape, p)
    p = _bcast(p, shape, "geometric", "p")
    u = le.sub(ls.full(shape, 1.0, dt), uniform(key, shape, dt))  # (0, 1]
    k = le.floor(le.div(ltr.log(u), ltr.log1p(le.neg(p))))
    return le.convert_element_type(le.add(k, ls.full(shape, 1.0, dt)), out_dt)
