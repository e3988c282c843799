"""funcgrad.numpy: finite differences (``diff``, ``ediff1d``, ``gradient``) and ``unwrap``."""

from __future__ import annotations

import functools
import operator

import numpy as np

from funcgrad._src.array import get_aval
from funcgrad._src.core import canonicalize_axis
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy import math as fm
from funcgrad._src.numpy.conversion import _dtype, _inexact, _shape, asarray, astype, broadcast_to
from funcgrad._src.numpy.creation import zeros
from funcgrad._src.numpy.logic import equal, greater, less, logical_and, where
from funcgrad._src.numpy.math import remainder, subtract
from funcgrad._src.numpy.reductions import cumsum
from funcgrad._src.numpy.shape import concatenate, ravel


def diff(a, n=1, axis=-1, prepend=None, append=None):
    """``n``-th discrete difference along ``axis`` (boolean input: ``not_equal``, as numpy)."""
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
        hi = ls.slice_in_dim(a, 1, m, axis=ax)
        lo = ls.slice_in_dim(a, 0, m - 1, axis=ax)
        a = le.ne(hi, lo) if _dtype(a) == np.bool_ else subtract(hi, lo)
    return a


def ediff1d(ary, to_end=None, to_begin=None):
    """Differences of the flattened array, with optional values before and after."""
    d = diff(ravel(asarray(ary)))
    parts = []
    if to_begin is not None:
        parts.append(astype(ravel(asarray(to_begin)), _dtype(d)))
    parts.append(d)
    if to_end is not None:
        parts.append(astype(ravel(asarray(to_end)), _dtype(d)))
    return concatenate(parts) if len(parts) > 1 else d


def gradient(f, *varargs, axis=None, edge_order=None):
    """Central differences inside, one-sided first-order differences at the edges.

    As in JAX: spacings must be scalars (no coordinate arrays) and ``edge_order`` must be None
    or 1.
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
        sl = functools.partial(ls.slice_in_dim, f, axis=ax)
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


def unwrap(p, discont=None, axis=-1, period=2 * np.pi):
    """Unwrap phase jumps greater than ``max(discont, period/2)`` along ``axis``."""
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
