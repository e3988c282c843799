"""funcgrad.numpy: polynomials as coefficient arrays, highest degree first (``polyval``,
``polyadd``, ``polysub``, ``polymul``, ``polyder``, ``polyint``) and ``vander``."""

from __future__ import annotations

import builtins
import operator

from funcgrad._src.array import get_aval
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.conversion import (
    _dtype,
    _inexact,
    _promote,
    _shape,
    asarray,
    astype,
    broadcast_shapes,
    broadcast_to,
)
from funcgrad._src.numpy.creation import ones_like, zeros
from funcgrad._src.numpy.joining import concatenate, stack, trim_zeros
from funcgrad._src.numpy.ranges import arange
from funcgrad._src.numpy.shape import ravel
from funcgrad._src.numpy.signal import convolve


def _poly1d(name, *ps):
    out = []
    for p in ps:
        p = asarray(p)
        if get_aval(p).ndim != 1:
            raise ValueError(f"{name}: polynomial coefficients must be 1-d, got shape {_shape(p)}")
        out.append(p)
    return out


@arraylike_args(0, 1)
def polyval(p, x, *, unroll=16):
    """Evaluate the polynomial with coefficients ``p`` at ``x`` (Horner's scheme).

    Follows ``numpy.polyval`` and ``jax.numpy.polyval``; the result is inexact, as in JAX.

    Args:
      p: array_like coefficients, highest degree first, along axis 0; trailing axes (if any)
        broadcast against ``x``.
      x: array_like points.
      unroll: ignored (JAX's loop unrolling; funcgrad's loop is a Python loop, always unrolled).

    Returns:
      ``p[0] * x**(n-1) + ... + p[n-1]``, of shape ``broadcast(p.shape[1:], x.shape)``, in the
      inexact dtype that ``p`` and ``x`` promote to.

    Raises:
      ValueError: if ``p`` is 0-d.
    """
    p, x = _inexact(asarray(p), asarray(x))
    if get_aval(p).ndim == 0:
        raise ValueError("polyval: p must have at least one dimension (the coefficients)")
    y = zeros(broadcast_shapes(_shape(p)[1:], _shape(x)), _dtype(x))
    for i in range(_shape(p)[0]):
        y = y * x + p[i]
    return y


def _pad_front(p, n):
    k = _shape(p)[0]
    if n == k:
        return p
    return concatenate([zeros((n - k,) + _shape(p)[1:], _dtype(p)), p])


def _poly_pair(name, a1, a2):
    a1, a2 = _promote(asarray(a1), asarray(a2))
    if get_aval(a1).ndim == 0 or get_aval(a2).ndim == 0:
        raise ValueError(
            f"{name}: coefficients must be arrays with at least one dimension, "
            f"got shapes {_shape(a1)} and {_shape(a2)}"
        )
    n = builtins.max(_shape(a1)[0], _shape(a2)[0])
    return _pad_front(a1, n), _pad_front(a2, n)


@arraylike_args(0, 1)
def polyadd(a1, a2):
    """Sum of two polynomials given by their coefficients.

    Follows ``numpy.polyadd`` and ``jax.numpy.polyadd``.

    Args:
      a1: array_like coefficients, highest degree first, along axis 0 (at least 1-d).
      a2: array_like coefficients, laid out as ``a1``; the shorter one gets leading zeros.

    Returns:
      The coefficients of ``a1 + a2`` (the longer length), of the promoted dtype.

    Raises:
      ValueError: if an input is 0-d.
    """
    a1, a2 = _poly_pair("polyadd", a1, a2)
    return a1 + a2


@arraylike_args(0, 1)
def polysub(a1, a2):
    """Difference of two polynomials given by their coefficients.

    Follows ``numpy.polysub`` and ``jax.numpy.polysub``.

    Args:
      a1: array_like coefficients, highest degree first, along axis 0 (at least 1-d).
      a2: array_like coefficients, laid out as ``a1``; the shorter one gets leading zeros.

    Returns:
      The coefficients of ``a1 - a2`` (the longer length), of the promoted dtype.

    Raises:
      ValueError: if an input is 0-d.
    """
    a1, a2 = _poly_pair("polysub", a1, a2)
    return a1 - a2


@arraylike_args(0, 1)
def polymul(a1, a2, *, trim_leading_zeros=False):
    """Product of two polynomials given by their coefficients (a full convolution).

    Follows ``numpy.polymul`` and ``jax.numpy.polymul``: as in JAX the result is inexact and leading
    zeros are kept unless ``trim_leading_zeros`` is set.

    Args:
      a1: 1-d array_like coefficients, highest degree first.
      a2: 1-d array_like coefficients, highest degree first.
      trim_leading_zeros: drop the leading zeros of both inputs first (keyword-only; static).

    Returns:
      The ``len(a1) + len(a2) - 1`` coefficients of the product (an empty input counts as ``[0]``),
      in the inexact promoted dtype.

    Raises:
      ValueError: if an input is not 1-d.
    """
    a1, a2 = _poly1d("polymul", *_inexact(asarray(a1), asarray(a2)))
    if trim_leading_zeros:
        a1, a2 = trim_zeros(a1, "f"), trim_zeros(a2, "f")
    if _shape(a1)[0] == 0:
        a1 = zeros(1, _dtype(a1))
    if _shape(a2)[0] == 0:
        a2 = zeros(1, _dtype(a2))
    return convolve(a1, a2, mode="full")


@arraylike_args(0)
def polyder(p, m=1):
    """The ``m``-th derivative of a polynomial given by its coefficients.

    Follows ``numpy.polyder`` and ``jax.numpy.polyder``; the result is inexact, as in JAX.

    Args:
      p: 1-d array_like coefficients, highest degree first.
      m: static int order of the derivative (0 returns ``p``).

    Returns:
      The ``max(len(p) - m, 0)`` coefficients of the derivative (empty when the degree is below
      ``m``), in ``p``'s inexact dtype.

    Raises:
      ValueError: if ``p`` is not 1-d or ``m`` is negative.
      TypeError: if ``m`` is not an int.
    """
    (p,) = _poly1d("polyder", *_inexact(asarray(p)))
    m = operator.index(m)
    if m < 0:
        raise ValueError(f"polyder: order of derivative must be non-negative, got {m}")
    for _ in range(m):
        n = _shape(p)[0]
        if n <= 1:
            return zeros(0, _dtype(p))
        p = p[:-1] * arange(n - 1, 0, -1, dtype=_dtype(p))
    return p


@arraylike_args(0)
def polyint(p, m=1, k=None):
    """The ``m``-th antiderivative of a polynomial given by its coefficients.

    Follows ``numpy.polyint`` and ``jax.numpy.polyint``; the result is inexact, as in JAX.

    Args:
      p: 1-d array_like coefficients, highest degree first.
      m: static int order of the antiderivative (0 returns ``p``).
      k: the integration constants: None (zeros), a scalar (used for every integration) or ``m``
        values, in numpy's order.

    Returns:
      The ``len(p) + m`` coefficients of the antiderivative, in ``p``'s inexact dtype.

    Raises:
      ValueError: if ``p`` is not 1-d, ``m`` is negative, or ``k`` has neither 1 nor ``m`` values.
      TypeError: if ``m`` is not an int.
    """
    (p,) = _poly1d("polyint", *_inexact(asarray(p)))
    m = operator.index(m)
    if m < 0:
        raise ValueError(f"polyint: order of integral must be non-negative, got {m}")
    if m == 0:
        return p
    k = zeros(m, _dtype(p)) if k is None else astype(asarray(k), _dtype(p))
    if get_aval(k).size == 1:
        k = broadcast_to(ravel(k)[0], (m,))
    if _shape(k) != (m,):
        raise ValueError(f"polyint: k must be a scalar or have length m={m}, got shape {_shape(k)}")
    for i in range(m):
        n = _shape(p)[0]
        p = concatenate([p / arange(n, 0, -1, dtype=_dtype(p)), k[i : i + 1]])
    return p


@arraylike_args(0)
def vander(x, N=None, increasing=False):
    """Vandermonde matrix of the 1-d ``x``: its columns are powers of ``x``.

    Follows ``numpy.vander`` and ``jax.numpy.vander``.

    Args:
      x: 1-d array_like input.
      N: static number of columns (default ``len(x)``).
      increasing: column ``j`` is ``x**j`` (True) instead of ``x**(N - 1 - j)`` (False, default).

    Returns:
      An ``(len(x), N)`` array of ``x``'s dtype.

    Raises:
      ValueError: if ``x`` is not 1-d or ``N`` is negative.
    """
    x = asarray(x)
    if get_aval(x).ndim != 1:
        raise ValueError(f"vander: x must be 1-d, got shape {_shape(x)}")
    N = _shape(x)[0] if N is None else operator.index(N)
    if N < 0:
        raise ValueError("vander: N must be non-negative")
    cols = [ones_like(x)] if N else []
    for _ in range(1, N):
        cols.append(cols[-1] * x)
    if not increasing:
        cols = cols[::-1]
    return stack(cols, axis=1) if cols else zeros((_shape(x)[0], 0), _dtype(x))
