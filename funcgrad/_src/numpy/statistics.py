"""funcgrad.numpy: order statistics (``median``, ``percentile``, ``quantile``), ``cov`` and
``corrcoef``, and counting (``bincount``, ``digitize``, ``histogram``)."""

from __future__ import annotations

import builtins
import operator

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval
from funcgrad._src.core import canonicalize_axis
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy import reductions as R
from funcgrad._src.numpy.conversion import (
    _concrete_input,
    _dtype,
    _inexact,
    _promote,
    _shape,
    array,
    asarray,
    astype,
)
from funcgrad._src.numpy.creation import ones, ones_like, zeros
from funcgrad._src.numpy.differences import diff
from funcgrad._src.numpy.indexing import take
from funcgrad._src.numpy.logic import equal, greater_equal, where
from funcgrad._src.numpy.math import clip, conj, maximum, real, sqrt
from funcgrad._src.numpy.products import matmul
from funcgrad._src.numpy.ranges import linspace
from funcgrad._src.numpy.reductions import mean
from funcgrad._src.numpy.shape import concatenate, diagonal, moveaxis, ravel, squeeze, transpose
from funcgrad._src.numpy.sorting import searchsorted, sort


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    return quantile(a, 0.5, axis, keepdims=keepdims, method="linear")


def percentile(
    a,
    q,
    axis=None,
    out=None,
    overwrite_input=False,
    method="linear",
    keepdims=False,
    interpolation=None,
):
    return quantile(a, asarray(q) / 100.0, axis, method=method, keepdims=keepdims)


def quantile(
    a,
    q,
    axis=None,
    out=None,
    overwrite_input=False,
    method="linear",
    keepdims=False,
    interpolation=None,
):
    a = asarray(a)
    (a,) = _promote(a, to_inexact=True)
    shape0 = get_aval(a).shape
    if axis is None:
        a, ax = ls.reshape(a, (get_aval(a).size,)), 0
    else:
        ax = canonicalize_axis(axis, get_aval(a).ndim)
    s = sort(a, axis=ax)
    q = astype(asarray(q), get_aval(a).dtype)
    if method not in _QUANTILE_METHODS:
        raise ValueError(
            f"quantile method {method!r} is not supported (linear, lower, higher, "
            f"nearest, midpoint)"
        )
    res = _quantile_values(s, q, ax, _QUANTILE_METHODS[method])
    return _quantile_layout(res, q, shape0, axis, ax, keepdims)


# how each method combines the sorted values just below and above the position (frac: where
# the position lies between them)
_QUANTILE_METHODS = {
    "linear": lambda lo, hi, frac: lo + (hi - lo) * frac,
    "lower": lambda lo, hi, frac: lo,
    "higher": lambda lo, hi, frac: where(frac > 0, hi, lo),
    "nearest": lambda lo, hi, frac: where(frac > 0.5, hi, lo),
    "midpoint": lambda lo, hi, frac: where(frac > 0, (lo + hi) / 2, lo),
}


def _quantile_values(s, q, ax, combine):
    """The quantiles ``q`` of ``s`` (sorted along ``ax``), q's (flattened) axis at ``ax``."""
    n = get_aval(s).shape[ax]
    pos = ls.reshape(q, (get_aval(q).size,)) * (n - 1)
    lo = le.floor(pos)
    lo_i = astype(lo, dtypes.int32)
    hi_i = le.min(lo_i + 1, ls.full(get_aval(lo_i).shape, n - 1, dtypes.int32))
    vlo, vhi = take(s, lo_i, axis=ax), take(s, hi_i, axis=ax)
    fshape = [1] * get_aval(vlo).ndim
    fshape[ax] = get_aval(pos).shape[0]
    return combine(vlo, vhi, ls.reshape(pos - lo, tuple(fshape)))


def _quantile_layout(res, q, shape0, axis, ax, keepdims):
    res = moveaxis(res, ax, 0)  # q axis goes first (numpy), then the remaining axes
    if keepdims:
        kshape = list(shape0) if axis is not None else [1] * len(shape0)
        if axis is not None:
            kshape[ax] = 1
        res = ls.reshape(res, (get_aval(res).shape[0],) + tuple(kshape))
    if get_aval(q).ndim == 0:
        res = ls.reshape(res, get_aval(res).shape[1:])
    return res


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None):
    """Covariance matrix of the variables in the rows (``rowvar``) of ``m`` (and ``y``)."""
    X = array(m, ndmin=2)
    if get_aval(asarray(m)).ndim > 2:
        raise ValueError(f"cov: m has more than 2 dimensions (shape {_shape(asarray(m))})")
    X = _inexact(X)[0]
    if not rowvar and _shape(X)[0] != 1:
        X = transpose(X)
    if y is not None:
        Y = _inexact(array(y, ndmin=2))[0]
        if not rowvar and _shape(Y)[0] != 1:
            Y = transpose(Y)
        X, Y = _promote(X, Y)
        X = concatenate([X, Y], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    nobs = _shape(X)[1]
    w = None
    if fweights is not None:
        f = asarray(fweights)
        if get_aval(f).ndim != 1 or _shape(f)[0] != nobs:
            raise ValueError(f"cov: fweights must be 1-d of length {nobs}")
        w = f
    if aweights is not None:
        aw = asarray(aweights)
        if get_aval(aw).ndim != 1 or _shape(aw)[0] != nobs:
            raise ValueError(f"cov: aweights must be 1-d of length {nobs}")
        w = aw if w is None else w * aw
    if w is None:
        avg = mean(X, axis=1)
        fact = nobs - ddof
        w_sum = None
    else:
        w = astype(w, _dtype(X))
        w_sum = R.sum(w)
        avg = R.sum(X * w, axis=1) / w_sum
        if ddof == 0:
            fact = w_sum
        elif aweights is None:
            fact = w_sum - ddof
        else:
            fact = w_sum - ddof * R.sum(w * astype(asarray(aweights), _dtype(X))) / w_sum
    Xc = X - avg[:, None]
    Xw = Xc if w is None else Xc * w
    c = matmul(Xw, conj(transpose(Xc)))
    c = c / fact
    return squeeze(c) if _shape(c) == (1, 1) else c


def corrcoef(x, y=None, rowvar=True):
    """Pearson correlation coefficients (clipped to [-1, 1] for real input)."""
    c = cov(x, y, rowvar)
    if get_aval(c).ndim == 0:
        return c / c
    d = diagonal(c)
    sd = sqrt(real(d))
    c = c / sd[:, None] / sd[None, :]
    if _dtype(c).kind != "c":
        c = clip(c, -1, 1)
    return c


def bincount(x, weights=None, minlength=0, *, length=None):
    """Count occurrences of each non-negative integer. Under jit pass a static ``length``
    (as in JAX); values ``>= length`` are dropped and negative values count as 0 (JAX)."""
    x = asarray(x)
    if get_aval(x).ndim != 1:
        raise ValueError(f"bincount: x must be 1-d, got shape {_shape(x)}")
    if not dtypes.is_int(_dtype(x)) and _dtype(x) != np.bool_:
        raise TypeError(f"bincount: x must be an integer array, got dtype {_dtype(x)}")
    minlength = operator.index(minlength)
    if minlength < 0:
        raise ValueError("bincount: minlength must be non-negative")
    if length is None:
        v = _concrete_input(x, "bincount", "x (without length=)")
        if v.size and v.min() < 0:
            raise ValueError("bincount: x must be non-negative")
        length = builtins.max(minlength, int(v.max()) + 1 if v.size else 0)
    length = operator.index(length)
    if weights is None:
        w = ones(_shape(x), dtypes.default_int())
    else:
        w = asarray(weights)
        if _shape(w) != _shape(x):
            raise ValueError(f"bincount: weights shape {_shape(w)} must match x shape {_shape(x)}")
    idx = maximum(astype(x, dtypes.default_int()), 0)
    return zeros(length, _dtype(w)).at[idx].add(w, mode="drop")


def digitize(x, bins, right=False, *, method=None):
    """Indices of the bins (increasing or decreasing 1-d ``bins``) each value falls in."""
    x, bins = asarray(x), asarray(bins)
    if get_aval(bins).ndim != 1:
        raise ValueError(f"digitize: bins must be 1-d, got shape {_shape(bins)}")
    n = _shape(bins)[0]
    if n == 0:
        return zeros(_shape(x), dtypes.default_int())
    side = "left" if right else "right"
    inc = searchsorted(bins, x, side=side)
    dec = n - searchsorted(ls.rev(bins, (0,)), x, side=side)
    return where(greater_equal(bins[-1], bins[0]), inc, dec)


def histogram_bin_edges(a, bins=10, range=None, weights=None):
    """The ``bins + 1`` edges ``histogram`` uses (static ``bins``; ``range`` defaults to the
    data's min and max)."""
    a = _inexact(ravel(asarray(a)))[0]
    if not isinstance(bins, (int, np.integer)):
        b = asarray(bins)
        if get_aval(b).ndim != 1:
            raise ValueError(
                f"histogram: bins must be an int or a 1-d array, got shape {_shape(b)}"
            )
        return astype(b, _dtype(a))
    if bins < 1:
        raise ValueError(f"histogram: bins must be positive, got {bins}")
    if range is None:
        lo, hi = R.min(a), R.max(a)
    else:
        if len(range) != 2:
            raise ValueError("histogram: range must be a pair (min, max)")
        lo, hi = asarray(range[0], _dtype(a)), asarray(range[1], _dtype(a))
    same = equal(lo, hi)
    lo = where(same, lo - 0.5, lo)
    hi = where(same, hi + 0.5, hi)
    return linspace(lo, hi, bins + 1, dtype=_dtype(a))


def histogram(a, bins=10, range=None, weights=None, density=None):
    """``(hist, bin_edges)``; ``bins`` is an int or a 1-d array of edges (static size).
    As in JAX, ``hist`` has the float dtype of ``a`` (numpy: int64)."""
    a = _inexact(ravel(asarray(a)))[0]
    edges = histogram_bin_edges(a, bins, range)
    nb = _shape(edges)[0]
    if weights is None:
        w = ones_like(a)
    else:
        w = ravel(asarray(weights))
        if _shape(w) != _shape(a):
            raise ValueError(f"histogram: weights shape {_shape(w)} must match a")
        w = _inexact(w)[0]
    idx = searchsorted(edges, a, side="right")
    idx = where(equal(a, edges[-1]), nb - 1, idx)
    counts = zeros(nb + 1, _dtype(w)).at[idx].add(w, mode="drop")[1:nb]
    if density:
        widths = diff(edges)
        counts = counts / widths / R.sum(counts)
    return counts, edges
