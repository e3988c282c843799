"""funcgrad.random: discrete distributions beyond the basic ones (``poisson``, ``geometric``)."""

from __future__ import annotations

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax import transcendental as ltr
from funcgrad._src.numpy.conversion import asarray, astype
from funcgrad._src.numpy.logic import where
from funcgrad._src.random.basic import _uniform, uniform
from funcgrad._src.random.params import _bcast, _params_shape, _shape
from funcgrad._src.random.prng import _check_key, _keys


def _c(v, shape, dt):
    return ls.full(shape, v, dt)


def _poisson_knuth(key, lam, shape, out_dt):
    """Knuth's multiplication method over the whole array (JAX's, for lam < 10)."""
    from funcgrad import lax

    f32 = np.dtype(np.float32)
    neg_lam = le.neg(lam)

    def cond(c):
        return le.bitwise_and(
            lr.reduce_or(le.gt(c[3], neg_lam), tuple(range(len(shape)))),
            le.lt(c[0], _c(np.iinfo(np.int32).max, (), np.int32)),
        )

    def body(c):
        i, k, rng, log_prod = c
        rng, sub = _keys(rng, 2)
        k = le.select(le.gt(log_prod, neg_lam), le.add(k, _c(1, shape, out_dt)), k)
        u = _uniform(sub, shape, f32)
        return le.add(i, _c(1, (), np.int32)), k, rng, le.add(log_prod, ltr.log(u))

    init = (_c(0, (), np.int32), _c(0, shape, out_dt), key, _c(0.0, shape, f32))
    k = lax.while_loop(cond, body, init)[1]
    return le.sub(k, _c(1, shape, out_dt))


def _poisson_rejection(key, lam, shape, out_dt):
    """Hörmann's transformed rejection with squeeze (PTRS, 1993), JAX's loop (lam >= 10)."""
    from funcgrad import lax

    dt = get_aval(lam).dtype
    c = lambda v: _c(v, shape, dt)
    log_lam = ltr.log(lam)
    b = le.add(c(0.931), le.mul(c(2.53), ltr.sqrt(lam)))
    a = le.add(c(-0.059), le.mul(c(0.02483), b))
    inv_alpha = le.add(c(1.1239), le.div(c(1.1328), le.sub(b, c(3.4))))
    v_r = le.sub(c(0.9277), le.div(c(3.6224), le.sub(b, c(2.0))))

    def body(carry):
        i, k_out, accepted, key = carry
        key, k0, k1 = _keys(key, 3)
        u = le.sub(_uniform(k0, shape, dt), c(0.5))
        v = _uniform(k1, shape, dt)
        us = le.sub(c(0.5), le.abs(u))
        k = le.floor(
            le.add(le.add(le.mul(le.add(le.div(le.mul(c(2.0), a), us), b), u), lam), c(0.43))
        )
        s = ltr.log(le.div(le.mul(v, inv_alpha), le.add(le.div(a, le.mul(us, us)), b)))
        # lgamma(k + 1) at k >= 0 only: where k < 0 the candidate is rejected anyway (and
        # funcgrad's eager lgamma refuses the poles)
        lg = ltr.lgamma(le.max(le.add(k, c(1.0)), c(1.0)))
        t = le.sub(le.add(le.neg(lam), le.mul(k, log_lam)), lg)
        accept1 = le.bitwise_and(le.ge(us, c(0.07)), le.le(v, v_r))
        reject = le.bitwise_or(le.lt(k, c(0.0)), le.bitwise_and(le.lt(us, c(0.013)), le.gt(v, us)))
        accept = le.bitwise_or(accept1, le.bitwise_and(le.bitwise_not(reject), le.le(s, t)))
        k_out = le.select(accept, k, k_out)
        return le.add(i, _c(1, (), np.int32)), k_out, le.bitwise_or(accepted, accept), key

    def cond(carry):
        pending = lr.reduce_or(le.bitwise_not(carry[2]), tuple(range(len(shape))))
        return le.bitwise_and(pending, le.lt(carry[0], _c(np.iinfo(np.int32).max, (), np.int32)))

    init = (_c(0, (), np.int32), c(-1.0), _c(False, shape, np.bool_), key)
    return le.convert_element_type(lax.while_loop(cond, body, init)[1], out_dt)


def poisson(key, lam, shape=None, dtype=None):
    """Poisson(``lam``) counts: Knuth's method for ``lam < 10``, Hörmann's PTRS rejection above
    (JAX's algorithms and loops; ``lam`` is converted to float32, as in JAX).

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
    f32 = np.dtype(np.float32)
    lam = asarray(lam)
    shape = get_aval(lam).shape if shape is None else _shape(shape)
    from funcgrad._src.api import stop_gradient

    lam = astype(stop_gradient(_bcast(lam, shape, "poisson", "lam")), f32)  # float32, as JAX
    use_knuth = le.bitwise_or(le.ne(lam, lam), le.lt(lam, _c(10.0, shape, f32)))
    lam_knuth = le.select(use_knuth, lam, _c(0.0, shape, f32))
    lam_rej = le.select(use_knuth, _c(1e5, shape, f32), lam)
    out = le.select(
        use_knuth,
        _poisson_knuth(key, lam_knuth, shape, out_dt),
        _poisson_rejection(key, lam_rej, shape, out_dt),
    )
    return le.select(le.eq(lam, _c(0.0, shape, f32)), _c(0, shape, out_dt), out)


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
        raise ValueError(f"dtype argument to `geometric` must be an int dtype, got {out_dt}")
    p = asarray(p)
    if get_aval(p).dtype.kind not in "f":
        p = astype(p, dtypes.default_float())
    dt = get_aval(p).dtype
    shape = _params_shape(shape, p)
    u = uniform(key, shape, dt)
    u = where(le.eq(u, ls.full(shape, 0.0, dt)), ls.full(shape, 1.0, dt), u)
    lp = _bcast(ltr.log1p(le.neg(p)), shape, "geometric", "p")
    k = le.add(le.floor(le.div(ltr.log(u), lp)), ls.full(shape, 1.0, dt))
    return le.convert_element_type(k, out_dt)
