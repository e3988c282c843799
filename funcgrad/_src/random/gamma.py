"""funcgrad.random: the gamma family (``gamma``, ``loggamma``, ``beta``, ``dirichlet``,
``chisquare``, ``t``, ``f``, ``generalized_normal``). Gamma samples come from a rejection
sampler with a fixed number of candidates and carry the implicit reparameterization gradient."""

from __future__ import annotations

from funcgrad._src.array import get_aval
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax import transcendental as ltr
from funcgrad._src.numpy.logic import where
from funcgrad._src.random.basic import normal, rademacher, uniform
from funcgrad._src.random.params import (
    _TRIES,
    _bcast,
    _first_accepted,
    _float_dtype,
    _param,
    _params_shape,
    _shape,
)
from funcgrad._src.random.prng import _check_key, _keys


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
    c = ltr.rsqrt(le.mul(ls.full(shape, 9.0, dt), d))
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
        le.mul(dd, le.sub(ltr.log(v_safe), v_safe)),
    )
    ok = le.bitwise_and(pos, le.lt(ltr.log(u), rhs))
    log_v = _first_accepted(ok, ltr.log(v_safe))
    log_s = le.add(ltr.log(d), log_v)
    ub = le.sub(one, uniform(kb, shape, dt))  # (0, 1]
    return _implicit_log_gamma(a_in, where(boost, le.add(log_s, le.div(ltr.log(ub), a)), log_s))


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
    """Gamma(``a``, 1) samples (Marsaglia–Tsang rejection with a fixed number of candidates).

    Differentiable in ``a`` as in JAX: the implicit reparameterization gradient
    ``dz/da = -(dP(a, z)/da) / p(z; a)`` (see ``_dlogz_da``).

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        a: the shape (concentration) parameter, positive float array_like.
        shape: the sample shape, a tuple of ints (static under ``jit``); ``None``
            (default) is ``a``'s shape.
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        Positive samples, an array of ``shape`` and ``dtype`` (for tiny ``a`` they may
        underflow to 0: use ``loggamma``).

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``a`` does not broadcast to ``shape``, or ``dtype`` is not a
            float dtype (a ``ValueTypeError``, also a ``TypeError``).

    >>> import funcgrad as fg
    >>> fg.random.gamma(fg.random.key(0), 2.0, (3,)).shape
    (3,)
    """
    key, a, shape, dt = _gamma_args(key, a, shape, dtype, "gamma")
    return ltr.exp(_log_gamma_sample(key, a, shape, dt))


def loggamma(key, a, shape=None, dtype=None):
    """``log`` of Gamma(``a``, 1) samples, accurate for small ``a`` (where ``gamma`` underflows).

    Differentiable in ``a`` (the implicit gradient, see ``gamma``).

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        a: the shape (concentration) parameter, positive float array_like.
        shape: the sample shape, a tuple of ints (static under ``jit``); ``None``
            (default) is ``a``'s shape.
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        The log-samples, an array of ``shape`` and ``dtype``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``a`` does not broadcast to ``shape``, or ``dtype`` is not a
            float dtype (a ``ValueTypeError``, also a ``TypeError``).
    """
    key, a, shape, dt = _gamma_args(key, a, shape, dtype, "loggamma")
    return _log_gamma_sample(key, a, shape, dt)


def beta(key, a, b, shape=None, dtype=None):
    """Beta(``a``, ``b``) samples, as ``X / (X + Y)`` of two gamma draws (in log space).

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        a: the first shape parameter, positive float array_like.
        b: the second shape parameter, positive float array_like.
        shape: the sample shape, a tuple of ints (static under ``jit``); ``None``
            (default) is the broadcast shape of ``a`` and ``b``.
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        Samples in ``[0, 1]``, an array of ``shape`` and ``dtype``; differentiable in ``a`` and
        ``b`` (implicit gamma gradient).

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``a`` or ``b`` does not broadcast to ``shape``, or ``dtype`` is not a
            float dtype (a ``ValueTypeError``, also a ``TypeError``).
    """
    key = _check_key(key, "beta")
    dt = _float_dtype(dtype)
    a, b = _param(a, dt), _param(b, dt)
    shape = _params_shape(shape, a, b)
    ka, kb = _keys(key, 2)
    lx = _log_gamma_sample(ka, a, shape, dt)
    ly = _log_gamma_sample(kb, b, shape, dt)
    m = le.max(lx, ly)
    x, y = ltr.exp(le.sub(lx, m)), ltr.exp(le.sub(ly, m))
    return le.div(x, le.add(x, y))


def dirichlet(key, alpha, shape=None, dtype=None):
    """Dirichlet(``alpha``) samples: probability vectors over the last axis of ``alpha``.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        alpha: the concentrations, positive float array_like of shape ``(..., k)``.
        shape: the batch shape, a tuple of ints (static under ``jit``); ``None`` (default) is
            ``alpha.shape[:-1]``, which must broadcast to it.
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        An array of shape ``shape + (k,)`` and ``dtype`` whose last axis sums to 1;
        differentiable in ``alpha`` (implicit gamma gradient).

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``alpha`` is 0-d or does not broadcast, or ``dtype`` is not a float dtype
            (a ``ValueTypeError``, also a ``TypeError``).
    """
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
    e = ltr.exp(le.sub(lg, ls.broadcast_in_dim(m, full_shape, tuple(range(len(shape))))))
    s = lr.reduce_sum(e, (len(full_shape) - 1,))
    return le.div(e, ls.broadcast_in_dim(s, full_shape, tuple(range(len(shape)))))


def chisquare(key, df, shape=None, dtype=None):
    """Chi-square samples with ``df`` degrees of freedom: ``2 * gamma(df / 2)``.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        df: the degrees of freedom, positive float array_like.
        shape: the sample shape, a tuple of ints (static under ``jit``); ``None``
            (default) is ``df``'s shape.
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        Non-negative samples, an array of ``shape`` and ``dtype``; differentiable in ``df``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``df`` does not broadcast to ``shape``, or ``dtype`` is not a
            float dtype (a ``ValueTypeError``, also a ``TypeError``).
    """
    key, df, shape, dt = _gamma_args(key, df, shape, dtype, "chisquare")
    half = le.mul(df, ls.full(get_aval(df).shape, 0.5, dt))
    return le.mul(ls.full(shape, 2.0, dt), ltr.exp(_log_gamma_sample(key, half, shape, dt)))


def t(key, df, shape=(), dtype=None):
    """Student's t samples with ``df`` degrees of freedom: ``N * sqrt(df / chi2(df))``.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        df: the degrees of freedom, positive float array_like.
        shape: the sample shape, a tuple of ints (static under ``jit``); the default
            ``()`` needs scalar parameters; ``None`` is ``df``'s shape.
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        An array of ``shape`` and ``dtype``; differentiable in ``df``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``df`` does not broadcast to ``shape``, or ``dtype`` is not a
            float dtype (a ``ValueTypeError``, also a ``TypeError``).
    """
    key, df, shape, dt = _gamma_args(key, df, shape, dtype, "t")
    kn, kg = _keys(key, 2)
    n = normal(kn, shape, dt)
    half = le.mul(_bcast(df, shape, "t", "df"), ls.full(shape, 0.5, dt))
    g = ltr.exp(_log_gamma_sample(kg, half, shape, dt))
    return le.mul(n, ltr.sqrt(le.div(half, g)))


def f(key, dfnum, dfden, shape=(), dtype=None):
    """F-distribution samples: ``(chi2(dfnum) / dfnum) / (chi2(dfden) / dfden)``.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        dfnum: the numerator degrees of freedom, positive float array_like.
        dfden: the denominator degrees of freedom, positive float array_like.
        shape: the sample shape, a tuple of ints (static under ``jit``); the default
            ``()`` needs scalar parameters; ``None`` is their broadcast shape.
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        Positive samples, an array of ``shape`` and ``dtype``; differentiable in both
        parameters.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``dfnum`` or ``dfden`` does not broadcast to ``shape``, or ``dtype`` is not a
            float dtype (a ``ValueTypeError``, also a ``TypeError``).
    """
    key = _check_key(key, "f")
    dt = _float_dtype(dtype)
    dfnum, dfden = _param(dfnum, dt), _param(dfden, dt)
    shape = _params_shape(shape, dfnum, dfden)
    k1, k2 = _keys(key, 2)
    num = le.div(chisquare(k1, dfnum, shape, dt), _bcast(dfnum, shape, "f", "dfnum"))
    den = le.div(chisquare(k2, dfden, shape, dt), _bcast(dfden, shape, "f", "dfden"))
    return le.div(num, den)


def generalized_normal(key, p, shape=(), dtype=None):
    """Samples with density ``∝ exp(-|x|**p)``: ``± gamma(1/p) ** (1/p)``.

    ``p = 2`` is a normal of variance 1/2, ``p = 1`` a standard Laplace.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        p: the exponent, positive float array_like that broadcasts to ``shape``.
        shape: the sample shape, a tuple of ints (static under ``jit``; ``None`` is not
            accepted).
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        An array of ``shape`` and ``dtype``; differentiable in ``p``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key or ``shape`` is ``None``.
        ValueError: if ``p`` does not broadcast to ``shape``, or ``dtype`` is not a
            float dtype (a ``ValueTypeError``, also a ``TypeError``).
    """
    key = _check_key(key, "generalized_normal")
    dt = _float_dtype(dtype)
    p = _param(p, dt)
    shape = _shape(shape)
    pb = _bcast(p, shape, "generalized_normal", "p")
    k1, k2 = _keys(key, 2)
    inv_p = le.div(ls.full(shape, 1.0, dt), pb)
    g = ltr.exp(le.mul(_log_gamma_sample(k1, inv_p, shape, dt), inv_p))
    return le.mul(rademacher(k2, shape, dt), g)
