"""funcgrad.numpy: one-dimensional signal routines (``convolve``, ``correlate``) and linear
interpolation (``interp``)."""

from __future__ import annotations

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval
from funcgrad._src.lax import dot as ld
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy import math as fm
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.conversion import (
    _dtype,
    _inexact,
    _promote,
    _shape,
    asarray,
    astype,
    broadcast_to,
)
from funcgrad._src.numpy.creation import ones_like
from funcgrad._src.numpy.indexing import take
from funcgrad._src.numpy.joining import concatenate
from funcgrad._src.numpy.logic import greater, less, less_equal, where
from funcgrad._src.numpy.math import clip, conj, remainder
from funcgrad._src.numpy.sorting import argsort, searchsorted


def _check_1d(name, *xs):
    for x in xs:
        if get_aval(x).ndim != 1:
            raise ValueError(f"{name}: expected 1-d inputs, got shapes {[_shape(y) for y in xs]}")


def _conv(x, y, mode, op, preferred_element_type):
    x, y = asarray(x), asarray(y)
    if get_aval(x).ndim != 1 or get_aval(y).ndim != 1:
        raise ValueError(
            f"{op}() only supports 1-dimensional inputs, got shapes {_shape(x)} and {_shape(y)}"
        )
    if preferred_element_type is None:
        x, y = _inexact(x, y)
    else:
        x, y = _promote(x, y)
    if _shape(x)[0] == 0 or _shape(y)[0] == 0:
        raise ValueError(f"{op}: inputs cannot be empty, got shapes {_shape(x)} and {_shape(y)}")
    reverse = False
    if op == "correlate":
        if _dtype(y).kind == "c":
            y = conj(y)
        if _shape(x)[0] < _shape(y)[0]:
            x, y, reverse = y, x, True
    else:
        if _shape(x)[0] < _shape(y)[0]:
            x, y = y, x
        y = ls.rev(y, (0,))
    m = _shape(y)[0]
    pads = {"valid": (0, 0), "same": (m // 2, m - m // 2 - 1), "full": (m - 1, m - 1)}
    if mode not in pads:
        raise ValueError(f"{op}: mode must be one of 'full', 'same', 'valid', got {mode!r}")
    out = ld.conv_general_dilated(
        ls.reshape(x, (1, 1, _shape(x)[0])), ls.reshape(y, (1, 1, m)), (1,), [pads[mode]]
    )
    out = ls.reshape(out, (_shape(out)[-1],))
    if reverse:
        out = ls.rev(out, (0,))
    if preferred_element_type is not None:
        out = astype(out, preferred_element_type)
    return out


@arraylike_args(0, 1)
def convolve(a, v, mode="full", *, precision=None, preferred_element_type=None):
    """Discrete linear convolution of two 1-d arrays: ``c[k] = sum_n a[n] * v[k - n]``.

    Follows ``numpy.convolve`` and ``jax.numpy.convolve``; as in JAX, the inputs are promoted to
    inexact (integers give floats) unless ``preferred_element_type`` is given.

    Args:
      a: 1-d array_like of length ``N``.
      v: 1-d array_like of length ``M``.
      mode: 'full' (every overlap: length ``N + M - 1``), 'same' (length ``max(N, M)``, centred) or
        'valid' (complete overlaps only: length ``max(N, M) - min(N, M) + 1``).
      precision: ignored (accepted for JAX compatibility).
      preferred_element_type: optional result dtype (as JAX); then the inputs are only promoted to a
        common dtype (integers stay integers) and the result is cast to it.

    Returns:
      A 1-d array of the promoted dtype (or ``preferred_element_type``).

    Raises:
      ValueError: if an input is not 1-d or is empty, or ``mode`` is not one of the three.
    """
    return _conv(a, v, mode, "convolve", preferred_element_type)


@arraylike_args(0, 1)
def correlate(a, v, mode="valid", *, precision=None, preferred_element_type=None):
    """Cross-correlation of two 1-d arrays: ``c[k] = sum_n a[n + k] * conj(v[n])``.

    Follows ``numpy.correlate`` and ``jax.numpy.correlate`` (numpy's definition, default mode
    'valid'); as in JAX, the inputs are promoted to inexact unless ``preferred_element_type`` is
    given.

    Args:
      a: 1-d array_like of length ``N``.
      v: 1-d array_like of length ``M`` (conjugated).
      mode: 'full' (every overlap: length ``N + M - 1``), 'same' (length ``max(N, M)``, centred) or
        'valid' (complete overlaps only: length ``max(N, M) - min(N, M) + 1``).
      precision: ignored (accepted for JAX compatibility).
      preferred_element_type: optional result dtype (as JAX); then the inputs are only promoted to a
        common dtype (integers stay integers) and the result is cast to it.

    Returns:
      A 1-d array of the promoted dtype (or ``preferred_element_type``).

    Raises:
      ValueError: if an input is not 1-d or is empty, or ``mode`` is not one of the three.
    """
    return _conv(a, v, mode, "correlate", preferred_element_type)


def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise-linear interpolation of the samples ``(xp, fp)`` at ``x``.

    Follows ``numpy.interp`` and ``jax.numpy.interp``. As in JAX, ``left``/``right`` may be
    ``'extrapolate'`` (extend the first/last segment).

    Args:
      x: array_like points to evaluate at.
      xp: 1-d array_like of increasing sample points (any order with ``period``).
      fp: 1-d array_like of sample values, ``xp``'s length.
      left: value for ``x < xp[0]`` (default ``fp[0]``), or ``'extrapolate'``.
      right: value for ``x > xp[-1]`` (default ``fp[-1]``), or ``'extrapolate'``.
      period: optional period of the x-coordinates: ``x`` and ``xp`` are taken modulo it.

    Returns:
      The interpolated values, of ``x``'s shape, in the inexact dtype that ``x``, ``xp`` and ``fp``
      promote to.

    Raises:
      ValueError: if ``xp`` or ``fp`` is not 1-d, their lengths differ or are 0, ``left`` or
        ``right`` is given with ``period``, or ``left``/``right`` is a string other than
        ``'extrapolate'``.
    """
    x, xp, fp = asarray(x), asarray(xp), asarray(fp)
    _check_1d("interp", xp, fp)
    if _shape(xp) != _shape(fp) or _shape(xp)[0] == 0:
        raise ValueError(
            f"interp: xp and fp must be 1-d of the same non-zero length, got "
            f"shapes {_shape(xp)} and {_shape(fp)}"
        )
    fdt = _dtype(_inexact(x, xp, fp)[2])
    x, xp = _inexact(x, xp)
    fp = astype(fp, fdt)
    if period is not None:
        if left is not None or right is not None:
            raise ValueError("interp: left and right cannot be used together with period")
        period = fm.abs(asarray(period))
        x = remainder(x, period)
        xp = remainder(xp, period)
        order = argsort(xp)
        xp, fp = take(xp, order), take(fp, order)
        xp = concatenate([xp[-1:] - period, xp, xp[:1] + period])
        fp = concatenate([fp[-1:], fp, fp[:1]])
    n = _shape(xp)[0]
    if n == 1:
        f = broadcast_to(fp[0], _shape(x))
    else:
        i = clip(searchsorted(xp, x, side="right"), 1, n - 1)
        x0, x1 = take(xp, i - 1), take(xp, i)
        f0, f1 = take(fp, i - 1), take(fp, i)
        dx = x1 - x0
        flat = less_equal(fm.abs(dx), 10 * float(dtypes.finfo_of(_dtype(dx)).eps))
        t = (x - x0) / where(flat, ones_like(dx), dx)
        f = where(flat, f0, f0 + astype(t, fdt) * (f1 - f0))
    if period is None:
        if not (isinstance(left, str) and left == "extrapolate"):
            lv = fp[0] if left is None else astype(_interp_fill(left), fdt)
            f = where(less(x, xp[0]), lv, f)
        if not (isinstance(right, str) and right == "extrapolate"):
            rv = fp[-1] if right is None else astype(_interp_fill(right), fdt)
            f = where(greater(x, xp[-1]), rv, f)
    return astype(f, fdt)


def _interp_fill(v):
    if isinstance(v, str):
        raise ValueError(f"interp: left/right must be a number, None or 'extrapolate', got {v!r}")
    return v
