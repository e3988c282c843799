"""funcgrad.random: the gamma family (``gamma``, ``loggamma``, ``beta``, ``dirichlet``,
``chisquare``, ``t``, ``f``, ``generalized_normal``). Gamma samples come from a rejection
sampler with a fixed number of candidates and carry the implicit reparameterization gradient."""

from __future__ import annotations

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax import transcendental as ltr
from funcgrad._src.random.basic import _normal_real, _uniform, normal, rademacher
from funcgrad._src.random.params import (
    _bcast,
    _float_dtype,
    _param,
    _params_shape,
    _shape,
)
from funcgrad._src.random.prng import _check_key, _keys
from funcgrad._src.random.threefry import split_raw


def _gamma_one(key, alpha, log_space):
    """One Gamma(alpha, 1) sample (or its log), JAX's algorithm step for step: Marsaglia &
    Tsang's rejection with a ``while_loop`` (and an inner one redrawing ``x`` until
    ``v > 0``), the ``alpha < 1`` boost from one more uniform draw."""
    from funcgrad import lax

    dt = get_aval(alpha).dtype
    c_ = lambda v: ls.full((), v, dt)
    zero, one = c_(0.0), c_(1.0)
    boost_mask = le.ge(alpha, one)
    alpha_orig = alpha
    alpha = le.select(boost_mask, alpha, le.add(alpha, one))
    d = le.sub(alpha, c_(1.0 / 3.0))
    c = le.div(c_(1.0 / 3.0), ltr.sqrt(d))

    def cond_fn(kxvu):
        _, x, v, u = kxvu
        squeeze = le.ge(u, le.sub(one, le.mul(c_(0.0331), le.mul(x, x))))
        rhs = le.add(le.mul(x, c_(0.5)), le.mul(d, le.add(le.sub(one, v), ltr.log(v))))
        return le.bitwise_and(squeeze, le.ge(ltr.log(u), rhs))

    def next_kxv(kxv):
        k, sub = _keys(kxv[0], 2)
        x = _normal_real(sub, (), dt)
        return k, x, le.add(one, le.mul(x, c))

    def body_fn(kxvu):
        k, x_key, u_key = _keys(kxvu[0], 3)
        _, x, v = lax.while_loop(lambda kxv: le.le(kxv[2], zero), next_kxv, (x_key, zero, c_(-1.0)))
        u = _uniform(u_key, (), dt)
        return k, le.mul(x, x), le.mul(le.mul(v, v), v), u

    key, sub = _keys(key, 2)
    v = lax.while_loop(cond_fn, body_fn, (key, zero, one, c_(2.0)))[2]
    if log_space:
        log_s = le.neg(le.neg(ltr.log1p(le.neg(_uniform(sub, (), dt)))))
        skip = le.bitwise_or(boost_mask, le.eq(log_s, zero))
        log_boost = le.select(skip, zero, le.mul(log_s, le.div(one, alpha_orig)))
        return le.add(le.add(ltr.log(d), ltr.log(v)), log_boost)
    s = le.sub(one, _uniform(sub, (), dt))
    boost = le.select(boost_mask, one, ltr.pow(s, le.div(one, alpha_orig)))
    return le.mul(le.mul(d, v), boost)


def _gamma_sample(key, a, shape, dt, log_space):
    """Gamma(a, 1) samples of ``shape`` (or their logs): one subkey per element, as JAX;
    differentiable in ``a`` (the implicit reparameterization derivative, ``_dlogz_da``)."""
    from funcgrad._src.api import custom_jvp

    a_in = _bcast(a, shape, "gamma", "a")

    @custom_jvp
    def draw(a):
        return _gamma_draw(key, a, shape, dt, log_space)

    @draw.defjvp
    def draw_jvp(primals, tangents):
        (a,), (ta,) = primals, tangents
        z = draw(a)
        if log_space:
            return z, le.mul(_dlogz_da(a, z), ta)
        return z, le.mul(le.mul(z, _dlogz_da(a, ltr.log(z))), ta)

    return draw(a_in)


def _gamma_draw(key, a, shape, dt, log_space):
    import math

    from funcgrad._src.vectorization import vmap

    n = math.prod(shape)
    if not n:
        return ls.full(shape, 0.0, dt)
    keys = split_raw(key, (n,))
    one = lambda k, al: _gamma_one(k, al, log_space)
    a = ls.reshape(a, (n,))
    if dtypes.is_bf16(dt):  # funcgrad's vmap of while_loop loses bfloat16 carries: unroll
        from funcgrad._src.numpy.joining import stack

        pick = lambda x, i: ls.reshape(lsl.slice_in_dim(x, i, i + 1), get_aval(x).shape[1:])
        out = stack([one(pick(keys, i), pick(a, i)) for i in range(n)])
    else:
        out = vmap(one)(keys, a)
    return ls.reshape(out, tuple(shape))


def _log_gamma_sample(key, a, shape, dt):
    return _gamma_sample(key, a, shape, dt, True)


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
    return _gamma_sample(key, a, shape, dt, False)


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
    half = le.div(df, ls.full(get_aval(df).shape, 2.0, dt))
    return le.mul(ltr.exp(_log_gamma_sample(key, half, shape, dt)), ls.full(shape, 2.0, dt))


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
    half = le.div(_bcast(df, shape, "t", "df"), ls.full(shape, 2.0, dt))
    g = _gamma_sample(kg, half, shape, dt, False)
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
    k_den, k_num = _keys(key, 2)  # JAX's order: the first subkey is the denominator's
    num = le.div(chisquare(k_num, dfnum, shape, dt), _bcast(dfnum, shape, "f", "dfnum"))
    den = le.div(chisquare(k_den, dfden, shape, dt), _bcast(dfden, shape, "f", "dfden"))
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
    shape = _shape(shape)
    if isinstance(p, (int, float)) and not isinstance(p, bool):
        inv_p = ls.full(shape, 1 / p, dt)  # as JAX: 1/p in Python, then cast
    else:
        inv_p = le.div(
            ls.full(shape, 1.0, dt), _bcast(_param(p, dt), shape, "generalized_normal", "p")
        )
    k1, k2 = _keys(key, 2)
    g = _gamma_sample(k1, inv_p, shape, dt, False)
    return le.mul(rademacher(k2, shape, dt), ltr.pow(g, inv_p))
