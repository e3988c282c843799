"""funcgrad.random: multivariate and structured samples (``multivariate_normal``,
``orthogonal`` matrices, points in a ``ball``)."""

from __future__ import annotations

import operator

import numpy as np

from funcgrad._src.array import get_aval
from funcgrad._src.random.basic import exponential, normal
from funcgrad._src.random.gamma import generalized_normal
from funcgrad._src.random.params import _float_dtype, _param, _shape
from funcgrad._src.random.prng import _check_key, _keys


def multivariate_normal(key, mean, cov, shape=None, dtype=None, method="cholesky"):
    """Samples of N(``mean``, ``cov``): ``mean + factor @ z`` for standard normal ``z``.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        mean: the means, float array_like of shape ``(..., n)``.
        cov: the covariances, float array_like of shape ``(..., n, n)``, symmetric positive
            (semi-)definite.
        shape: the batch shape, a tuple of ints (static under ``jit``); ``None`` (default) is
            the broadcast of ``mean.shape[:-1]`` and ``cov.shape[:-2]``, which must broadcast
            to it.
        dtype: a float dtype (default: float32, or float64 with x64 on).
        method: how ``cov`` is factored: ``"cholesky"`` (default; a non-positive-definite
            ``cov`` gives NaN), ``"eigh"`` or ``"svd"`` (these allow singular covariances).

    Returns:
        An array of shape ``shape + (n,)`` and ``dtype``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``method`` is unknown, ``mean``/``cov`` do not have shapes ``(..., n)``
            and ``(..., n, n)``, their batch shape does not broadcast with ``shape``, or
            ``dtype`` is not a float dtype (a ``ValueTypeError``, also a ``TypeError``).
    """
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
    """Haar-uniform ``n x m`` matrices with orthonormal columns (rows when ``n < m``).

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        n: the number of rows, an int (static under ``jit``).
        shape: the batch shape, a tuple of ints (static under ``jit``).
        dtype: a float dtype (default: float32, or float64 with x64 on).
        m: the number of columns, an int (default: ``n``, square orthogonal matrices).

    Returns:
        An array of shape ``shape + (n, m)`` and ``dtype`` (QR of a Gaussian matrix, with
        the signs fixed by ``R``'s diagonal).

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key or ``n``/``m`` is not an int.
        ValueError: if ``dtype`` is not a float dtype (a ``ValueTypeError``, also a
            ``TypeError``).
    """
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


def ball(key, d, p=2, shape=(), dtype=None):
    """Points uniform in the unit ``p``-norm ball of dimension ``d`` (Barthe et al. 2005).

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        d: the dimension, an int (static under ``jit``).
        p: the norm's exponent, positive (default 2, the Euclidean ball).
        shape: the batch shape, a tuple of ints (static under ``jit``).
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        An array of shape ``shape + (d,)`` and ``dtype``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key or ``d`` is not an int.
        ValueError: if ``dtype`` is not a float dtype (a ``ValueTypeError``, also a
            ``TypeError``).
    """
    import funcgrad.numpy as fnp

    key = _check_key(key, "ball")
    dt = _float_dtype(dtype)
    d = operator.index(d)
    shape = _shape(shape)
    k1, k2 = _keys(key, 2)
    g = generalized_normal(k1, p, shape + (d,), dt)
    e = exponential(k2, shape, dt)
    return g / ((fnp.sum(fnp.abs(g) ** p, axis=-1) + e) ** (1.0 / p))[..., None]
