"""funcgrad.random: continuous distributions written as transformations of the basic
samplers (``cauchy``, ``lognormal``, ``pareto``, ``weibull_min``, ``rayleigh``, ``wald``,
``maxwell``, ``double_sided_maxwell``, ``triangular``)."""

from __future__ import annotations

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax import transcendental as ltr
from funcgrad._src.numpy.logic import where
from funcgrad._src.random.basic import exponential, normal, rademacher, uniform
from funcgrad._src.random.params import _bcast, _float_dtype, _param, _params_shape, _shape
from funcgrad._src.random.prng import _check_key, _keys


def cauchy(key, shape=(), dtype=None):
    """Standard Cauchy samples: ``tan(pi * (u - 1/2))``.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        shape: the sample shape, an int or a tuple of ints (static under ``jit``).
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        An array of ``shape`` and ``dtype``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``dtype`` is not a float dtype (a ``ValueTypeError``, also a
            ``TypeError``).
    """
    key = _check_key(key, "cauchy")
    dt = _float_dtype(dtype)
    shape = _shape(shape)
    u = uniform(key, shape, dt, float(dtypes.finfo_of(dt).eps), 1.0)
    return ltr.tan(le.mul(ls.full(shape, np.pi, dt), le.sub(u, ls.full(shape, 0.5, dt))))


def lognormal(key, sigma=1.0, shape=None, dtype=None):
    """Log-normal samples ``exp(sigma * N(0, 1))``.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        sigma: the standard deviation of the log, float array_like.
        shape: the sample shape, a tuple of ints (static under ``jit``); ``None``
            (default) is ``sigma``'s shape.
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        Positive samples, an array of ``shape`` and ``dtype``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``sigma`` does not broadcast to ``shape``, or ``dtype`` is not a float
            dtype (a ``ValueTypeError``, also a ``TypeError``).
    """
    key = _check_key(key, "lognormal")
    dt = _float_dtype(dtype)
    sigma = _param(sigma, dt)
    shape = _params_shape(shape, sigma)
    return ltr.exp(le.mul(normal(key, shape, dt), _bcast(sigma, shape, "lognormal", "sigma")))


def pareto(key, b, shape=None, dtype=None):
    """Pareto samples with shape parameter ``b`` (support ``[1, inf)``): ``exp(E / b)``.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        b: the shape (tail index), positive float array_like.
        shape: the sample shape, a tuple of ints (static under ``jit``); ``None``
            (default) is ``b``'s shape.
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        Samples ``>= 1``, an array of ``shape`` and ``dtype``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``b`` does not broadcast to ``shape``, or ``dtype`` is not a float dtype
            (a ``ValueTypeError``, also a ``TypeError``).
    """
    key = _check_key(key, "pareto")
    dt = _float_dtype(dtype)
    b = _param(b, dt)
    shape = _params_shape(shape, b)
    return ltr.exp(le.div(exponential(key, shape, dt), _bcast(b, shape, "pareto", "b")))


def weibull_min(key, scale, concentration, shape=(), dtype=None):
    """Weibull samples: ``scale * (-log(1 - u)) ** (1 / concentration)``.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        scale: the scale, positive float array_like.
        concentration: the shape parameter, positive float array_like.
        shape: the sample shape, a tuple of ints (static under ``jit``; ``None`` is not
            accepted); the parameters must broadcast to it.
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        Non-negative samples, an array of ``shape`` and ``dtype``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key or ``shape`` is ``None``.
        ValueError: if ``scale`` or ``concentration`` does not broadcast to ``shape``, or
            ``dtype`` is not a float dtype (a ``ValueTypeError``, also a ``TypeError``).
    """
    key = _check_key(key, "weibull_min")
    dt = _float_dtype(dtype)
    scale, conc = _param(scale, dt), _param(concentration, dt)
    shape = _shape(shape)
    u = uniform(key, shape, dt)
    conc = _bcast(conc, shape, "weibull_min", "concentration")
    e = ltr.pow(le.neg(ltr.log1p(le.neg(u))), le.div(ls.full(shape, 1.0, dt), conc))
    return le.mul(e, _bcast(scale, shape, "weibull_min", "scale"))


def rayleigh(key, scale, shape=None, dtype=None):
    """Rayleigh samples: ``scale * sqrt(-2 log u)``.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        scale: the scale, positive float array_like.
        shape: the sample shape, a tuple of ints (static under ``jit``); ``None``
            (default) is ``scale``'s shape.
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        Non-negative samples, an array of ``shape`` and ``dtype``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``scale`` does not broadcast to ``shape``, or ``dtype`` is not a float
            dtype (a ``ValueTypeError``, also a ``TypeError``).
    """
    key = _check_key(key, "rayleigh")
    dt = _float_dtype(dtype)
    scale = _param(scale, dt)
    shape = _params_shape(shape, scale)
    u = uniform(key, shape, dt)
    root = ltr.sqrt(le.mul(ltr.log(u), ls.full(shape, -2.0, dt)))
    return le.mul(_bcast(scale, shape, "rayleigh", "scale"), root)


def wald(key, mean, shape=None, dtype=None):
    """Wald (inverse Gaussian, scale 1) samples (Michael, Schucany & Haas 1976).

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        mean: the mean, positive float array_like.
        shape: the sample shape, a tuple of ints (static under ``jit``); ``None``
            (default) is ``mean``'s shape.
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        Positive samples, an array of ``shape`` and ``dtype``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``mean`` does not broadcast to ``shape``, or ``dtype`` is not a float
            dtype (a ``ValueTypeError``, also a ``TypeError``).
    """
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
    root = ltr.sqrt(le.add(le.mul(le.mul(c(4.0), mu), y), le.mul(mu2, le.mul(y, y))))
    x = le.sub(le.add(mu, le.mul(le.mul(mu2, y), c(0.5))), le.mul(le.mul(mu, c(0.5)), root))
    return where(le.le(z, le.div(mu, le.add(mu, x))), x, le.div(mu2, x))


def maxwell(key, shape=(), dtype=None):
    """Maxwell samples: the norm of three standard normals.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        shape: the sample shape, an int or a tuple of ints (static under ``jit``).
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        An array of ``shape`` and ``dtype``, non-negative.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``dtype`` is not a float dtype (a ``ValueTypeError``, also a
            ``TypeError``).
    """
    key = _check_key(key, "maxwell")
    dt = _float_dtype(dtype)
    shape = _shape(shape)
    x = normal(key, shape + (3,), dt)
    return ltr.sqrt(lr.reduce_sum(le.mul(x, x), (len(shape),)))


def double_sided_maxwell(key, loc, scale, shape=(), dtype=None):
    """Double-sided Maxwell samples: ``loc + scale * (±Maxwell)``.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        loc: the location, float array_like.
        scale: the scale, float array_like.
        shape: the leading sample shape, a tuple of ints (static under ``jit``; ``None`` is
            not accepted); the broadcast shape of ``loc`` and ``scale`` is appended.
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        An array of shape ``shape + broadcast(loc, scale).shape`` and ``dtype``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key or ``shape`` is ``None``.
        ValueError: if ``loc`` and ``scale`` do not broadcast together, or ``dtype`` is not a
            float dtype (a ``ValueTypeError``, also a ``TypeError``).
    """
    key = _check_key(key, "double_sided_maxwell")
    dt = _float_dtype(dtype)
    loc, scale = _param(loc, dt), _param(scale, dt)
    params = tuple(np.broadcast_shapes(get_aval(loc).shape, get_aval(scale).shape))
    shape = _shape(shape)
    out_shape = (shape or params) + params  # as JAX (an empty shape takes the params' twice)
    k1, k2 = _keys(key, 2)
    mx = le.mul(rademacher(k2, out_shape, dt), maxwell(k1, out_shape, dt))
    return le.add(
        le.mul(mx, _bcast(scale, out_shape, "double_sided_maxwell", "scale")),
        _bcast(loc, out_shape, "double_sided_maxwell", "loc"),
    )


def triangular(key, left, mode, right, shape=None, dtype=None):
    """Triangular samples on ``[left, right]`` with peak at ``mode`` (inverse CDF).

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        left: the lower limit, float array_like.
        mode: the peak, float array_like with ``left <= mode <= right``.
        right: the upper limit, float array_like (``> left``).
        shape: the sample shape, a tuple of ints (static under ``jit``); ``None``
            (default) is the broadcast shape of the three limits.
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        Samples in ``[left, right]``, an array of ``shape`` and ``dtype``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if a limit does not broadcast to ``shape``, or ``dtype`` is not a float
            dtype (a ``ValueTypeError``, also a ``TypeError``).
    """
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
    out1 = le.add(lo, ltr.sqrt(le.mul(le.mul(u, width), le.sub(md, lo))))
    out2 = le.sub(
        hi, ltr.sqrt(le.mul(le.mul(le.sub(ls.full(shape, 1.0, dt), u), width), le.sub(hi, md)))
    )
    return where(le.lt(u, fc), out1, out2)
