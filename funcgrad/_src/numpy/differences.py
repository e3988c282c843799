"""funcgrad.numpy: finite differences (``diff``, ``ediff1d``, ``gradient``) and ``unwrap``."""

from __future__ import annotations

import functools
import operator

import numpy as np

from funcgrad._src.array import get_aval
from funcgrad._src.core import canonicalize_axis
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.numpy import math as fm
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.conversion import _dtype, _inexact, _shape, asarray, astype, broadcast_to
from funcgrad._src.numpy.creation import zeros
from funcgrad._src.numpy.joining import concatenate
from funcgrad._src.numpy.logic import equal, greater, less, logical_and, where
from funcgrad._src.numpy.math import remainder, subtract
from funcgrad._src.numpy.reductions import cumsum
from funcgrad._src.numpy.shape import ravel


@arraylike_args(0)
def diff(a, n=1, axis=-1, prepend=None, append=None):
    """``n``-th discrete difference along ``axis``: ``a[1:] - a[:-1]``, applied ``n`` times.

    Follows ``numpy.diff`` and ``jax.numpy.diff``; for bool input the difference is ``not_equal``
    (as numpy).

    Args:
      a: array_like input, at least 1-d.
      n: static int number of times to difference (0 returns ``a``).
      axis: int axis (static).
      prepend: optional values put before ``a`` along ``axis`` first (a scalar is broadcast to one
        slice).
      append: optional values put after ``a`` along ``axis`` first (a scalar is broadcast to one
        slice).

    Returns:
      ``a``'s dtype (after the concatenation), with ``axis`` shorter by ``n`` (never below 0).

    Raises:
      ValueError: if ``a`` is 0-d, ``n`` is negative, or ``axis`` is out of bounds.
      TypeError: if ``n`` is not an int.
    """
    a = asarray(a)
    if get_aval(a).ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"diff: order must be non-negative, got n={n}")
    if n == 0:
        return a
    ax = canonicalize_axis(axis, get_aval(a).ndim)
    parts = []
    for extra, side in ((prepend, 0), (append, 1)):
        if extra is None:
            continue
        e = asarray(extra)
        if get_aval(e).ndim == 0:
            shp = list(_shape(a))
            shp[ax] = 1
            e = broadcast_to(e, tuple(shp))
        parts.append((side, e))
    if parts:
        pre = [e for w, e in parts if w == 0]
        post = [e for w, e in parts if w == 1]
        a = concatenate(pre + [a] + post, axis=ax)
    for _ in range(n):
        m = _shape(a)[ax]
        if m == 0:
            break
        hi = lsl.slice_in_dim(a, 1, m, axis=ax)
        lo = lsl.slice_in_dim(a, 0, m - 1, axis=ax)
        a = le.ne(hi, lo) if _dtype(a) == np.bool_ else subtract(hi, lo)
    return a


@arraylike_args(0, 1)
def ediff1d(ary, to_end=None, to_begin=None):
    """Differences between consecutive elements of the flattened array, with optional ends.

    Follows ``numpy.ediff1d`` and ``jax.numpy.ediff1d``.

    Args:
      ary: array_like input (flattened).
      to_end: optional values appended after the differences (flattened, cast to their dtype).
      to_begin: optional values prepended before the differences (flattened, cast to their dtype).

    Returns:
      A 1-d array of ``ary``'s dtype: ``to_begin``, the ``ary.size - 1`` differences, ``to_end``.
    """
    d = diff(ravel(asarray(ary)))
    parts = []
    if to_begin is not None:
        parts.append(astype(ravel(asarray(to_begin)), _dtype(d)))
    parts.append(d)
    if to_end is not None:
        parts.append(astype(ravel(asarray(to_end)), _dtype(d)))
    return concatenate(parts) if len(parts) > 1 else d


def gradient(f, *varargs, axis=None, edge_order=None):
    """Gradient of sampled values: central differences inside, one-sided ones at the edges.

    Follows ``numpy.gradient`` and ``jax.numpy.gradient``. As in JAX, spacings must be scalars (no
    coordinate arrays) and ``edge_order`` must be None or 1.

    Args:
      f: array_like samples; promoted to inexact.
      *varargs: spacing between samples: none (1.0), one scalar for every axis, or one scalar per
        axis in ``axis``.
      axis: None (every axis), an int or a tuple of ints (static).
      edge_order: None or 1 (first-order differences at the edges).

    Returns:
      The derivative along the only axis as one array of ``f``'s shape, or a list of such arrays,
      one per axis.

    Raises:
      NotImplementedError: if ``edge_order`` is 2 (or anything but None/1) or a spacing is an array.
      TypeError: if the number of spacings is not 0, 1 or the number of axes.
      ValueError: if an axis has fewer than 2 samples or is out of bounds.
    """
    if edge_order is not None and edge_order != 1:
        raise NotImplementedError(
            "gradient: only edge_order=1 (the default) is supported, as in JAX"
        )
    f = _inexact(asarray(f))[0]
    nd = get_aval(f).ndim
    axes = (
        tuple(range(nd))
        if axis is None
        else (
            (canonicalize_axis(axis, nd),)
            if isinstance(axis, int)
            else tuple(canonicalize_axis(a, nd) for a in axis)
        )
    )
    if len(varargs) == 0:
        spacing = [1.0] * len(axes)
    elif len(varargs) == 1:
        spacing = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        spacing = list(varargs)
    else:
        raise TypeError(f"gradient: expected 0, 1 or {len(axes)} spacings, got {len(varargs)}")
    for h in spacing:
        if np.ndim(h) != 0 and get_aval(asarray(h)).ndim != 0:
            raise NotImplementedError(
                "gradient: only scalar spacings are supported (as in "
                "JAX); resample to a uniform grid for coordinate arrays"
            )
    out = []
    for ax, h in zip(axes, spacing):
        n = _shape(f)[ax]
        if n < 2:
            raise ValueError(f"gradient: shape of axis {ax} is {n}; at least 2 samples are needed")
        sl = functools.partial(lsl.slice_in_dim, f, axis=ax)
        first = sl(1, 2) - sl(0, 1)
        last = sl(n - 1, n) - sl(n - 2, n - 1)
        mid = (sl(2, n) - sl(0, n - 2)) / 2.0
        g = (
            concatenate([first, mid, last], axis=ax)
            if n > 2
            else concatenate([first, last], axis=ax)
        )
        out.append(g / h)
    return out[0] if len(out) == 1 else out


@arraylike_args(0)
def unwrap(p, discont=None, axis=-1, period=2 * np.pi):
    """Unwrap phase angles: remove jumps larger than ``max(discont, period / 2)`` along ``axis``.

    Follows ``numpy.unwrap`` and ``jax.numpy.unwrap``: each such jump between neighbours is replaced
    by its equivalent modulo ``period``, and the corrections accumulate.

    Args:
      p: array_like of phases; promoted to inexact.
      discont: the largest jump left as it is (default ``period / 2``; smaller values act
        as ``period / 2``).
      axis: int axis (static).
      period: the period of the values (default ``2 * pi``).

    Returns:
      The unwrapped values, of ``p``'s shape and inexact dtype.

    Raises:
      ValueError: if ``axis`` is out of bounds.
    """
    p = _inexact(asarray(p))[0]
    ax = canonicalize_axis(axis, get_aval(p).ndim)
    n = _shape(p)[ax]
    if n < 2:
        return p
    discont = period / 2 if discont is None else discont
    dd = diff(p, axis=ax)
    half = period / 2
    ddmod = remainder(dd + half, period) - half
    ddmod = where(logical_and(equal(ddmod, -half), greater(dd, 0)), half, ddmod)
    corr = where(less(fm.abs(dd), discont), 0.0, ddmod - dd)
    shp = list(_shape(p))
    shp[ax] = 1
    cum = concatenate([zeros(tuple(shp), _dtype(p)), cumsum(corr, axis=ax)], axis=ax)
    return p + cum
