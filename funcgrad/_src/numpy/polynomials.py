"""funcgrad.numpy: polynomials as coefficient arrays, highest degree first (``polyval``,
``polyadd``, ``polysub``, ``polymul``, ``polyder``, ``polyint``) and ``vander``."""

from __future__ import annotations

import builtins
import operator

from funcgrad._src.array import get_aval
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
from funcgrad._src.numpy.ranges import arange
from funcgrad._src.numpy.shape import concatenate, ravel, stack, trim_zeros
from funcgrad._src.numpy.signal import convolve


def _poly1d(name, *ps):
    out = []
    for p in ps:
        p = asarray(p)
        if get_aval(p).ndim != 1:
            raise ValueError(f"{name}: polynomial coefficients must be 1-d, got shape {_shape(p)}")
        out.append(p)
    return out


def polyval(p, x, *, unroll=16):
    """Evaluate the polynomial with coefficients ``p`` (highest degree first, along axis 0;
    trailing axes broadcast against ``x``) at ``x``. Inexact result, as in JAX."""
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


def polyadd(a1, a2):
    """Sum of two polynomials (coefficients along axis 0, highest degree first)."""
    a1, a2 = _poly_pair("polyadd", a1, a2)
    return a1 + a2


def polysub(a1, a2):
    """Difference of two polynomials (coefficients along axis 0, highest degree first)."""
    a1, a2 = _poly_pair("polysub", a1, a2)
    return a1 - a2


def polymul(a1, a2, *, trim_leading_zeros=False):
    """Product of two polynomials (JAX: result is inexact, leading zeros kept by default)."""
    a1, a2 = _poly1d("polymul", *_inexact(asarray(a1), asarray(a2)))
    if trim_leading_zeros:
        a1, a2 = trim_zeros(a1, "f"), trim_zeros(a2, "f")
    if _shape(a1)[0] == 0:
        a1 = zeros(1, _dtype(a1))
    if _shape(a2)[0] == 0:
        a2 = zeros(1, _dtype(a2))
    return convolve(a1, a2, mode="full")


def polyder(p, m=1):
    """``m``-th derivative of a polynomial (inexact result, as JAX)."""
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


def polyint(p, m=1, k=None):
    """``m``-th antiderivative; ``k`` the integration constant(s) (scalar or ``m`` values)."""
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


def vander(x, N=None, increasing=False):
    """Vandermonde matrix: columns are powers of the 1-d ``x``."""
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
