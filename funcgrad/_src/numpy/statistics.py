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
from funcgrad._src.lax import slicing
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy import reductions as R
from funcgrad._src.numpy.arraylike import arraylike_args
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
from funcgrad._src.numpy.joining import concatenate
from funcgrad._src.numpy.logic import equal, greater_equal, where
from funcgrad._src.numpy.math import clip, conj, real
from funcgrad._src.numpy.products import matmul
from funcgrad._src.numpy.ranges import linspace
from funcgrad._src.numpy.reductions import mean
from funcgrad._src.numpy.shape import diagonal, moveaxis, ravel, squeeze, transpose
from funcgrad._src.numpy.sorting import searchsorted, sort
from funcgrad._src.numpy.transcendental import sqrt


@arraylike_args(0)
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """Median of ``a`` along ``axis``: ``quantile(a, 0.5, axis, method='linear')``.

    Follows ``numpy.median`` and ``jax.numpy.median``.

    Args:
      a: array_like input.
      axis: int axis (static); None uses the flattened array.
      out: ignored (arrays are immutable; use the return value).
      overwrite_input: ignored (accepted for numpy compatibility).
      keepdims: keep the reduced axes as size-1 dimensions.

    Returns:
      The median, inexact: ``a``'s shape without ``axis`` (size 1 with ``keepdims``).

    Raises:
      ValueError: if ``axis`` is out of bounds.
    """
    return quantile(a, 0.5, axis, keepdims=keepdims, method="linear")


@arraylike_args(0, 1)
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
    """Percentiles ``q`` (in [0, 100]) of ``a`` along ``axis``: ``quantile(a, q / 100, ...)``.

    Follows ``numpy.percentile`` and ``jax.numpy.percentile``.

    Args:
      a: array_like input.
      q: scalar or 1-d array_like of percentages in [0, 100].
      axis: int axis (static); None uses the flattened array.
      out: ignored (arrays are immutable; use the return value).
      overwrite_input: ignored (accepted for numpy compatibility).
      method: 'linear' (default), 'lower', 'higher', 'nearest' or 'midpoint' (numpy's methods that
        pick or blend the two neighbouring order statistics).
      keepdims: keep the reduced axes as size-1 dimensions.
      interpolation: ignored (numpy's deprecated name of ``method``; pass ``method``).

    Returns:
      Inexact values (``a`` promoted to inexact). A scalar ``q`` gives ``a``'s shape without
      ``axis``; a 1-d ``q`` of length ``Q`` adds a leading axis of length ``Q`` (a ``q`` with more
      dimensions is flattened into it, where numpy keeps its shape).

    Raises:
      ValueError: if ``method`` is not one of the five above, or ``axis`` is out of bounds.
    """
    return quantile(a, asarray(q) / 100.0, axis, method=method, keepdims=keepdims)


@arraylike_args(0, 1)
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
    """Quantiles ``q`` (in [0, 1]) of ``a`` along ``axis``, from a sort of ``a``.

    Follows ``numpy.quantile`` and ``jax.numpy.quantile``, except that NaNs sort last and make NaN
    only the quantiles that use them (numpy: any NaN gives NaN), and ``q`` is not range-checked
    (numpy raises ``ValueError``).

    Args:
      a: array_like input.
      q: scalar or 1-d array_like of probabilities in [0, 1].
      axis: int axis (static); None uses the flattened array.
      out: ignored (arrays are immutable; use the return value).
      overwrite_input: ignored (accepted for numpy compatibility).
      method: 'linear' (default), 'lower', 'higher', 'nearest' or 'midpoint' (numpy's methods that
        pick or blend the two neighbouring order statistics).
      keepdims: keep the reduced axes as size-1 dimensions.
      interpolation: ignored (numpy's deprecated name of ``method``; pass ``method``).

    Returns:
      Inexact values (``a`` promoted to inexact). A scalar ``q`` gives ``a``'s shape without
      ``axis``; a 1-d ``q`` of length ``Q`` adds a leading axis of length ``Q`` (a ``q`` with more
      dimensions is flattened into it, where numpy keeps its shape).

    Raises:
      ValueError: if ``method`` is not one of the five above, or ``axis`` is out of bounds;
        for complex ``a`` (a ``ValueTypeError``, also a ``TypeError``).
    """
    a = asarray(a)
    (a,) = _promote(a, to_inexact=True)
    if _dtype(a).kind == "c":
        from funcgrad._src.core import ValueTypeError

        raise ValueTypeError("quantile/median: complex input has no order (as JAX)")
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


@arraylike_args(0, 1)
def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None):
    """Covariance matrix of the variables in the rows (``rowvar``) of ``m`` (and ``y``).

    Follows ``numpy.cov`` and ``jax.numpy.cov`` (weights, ``ddof`` and ``bias`` as numpy).

    Args:
      m: 1-d or 2-d array_like: one variable per row (per column if ``rowvar`` is False), one
        observation per column.
      y: optional extra variables, laid out as ``m``; stacked after ``m``'s.
      rowvar: whether rows are variables (True) or observations (False).
      bias: normalise by ``N`` instead of ``N - 1`` (``ddof`` overrides it).
      ddof: delta degrees of freedom (default: 1, or 0 with ``bias``).
      fweights: optional 1-d integer frequency weights, one per observation.
      aweights: optional 1-d observation weights, one per observation.

    Returns:
      The ``(V, V)`` covariance matrix of the ``V`` variables, inexact (a scalar for a single
      variable).

    Raises:
      ValueError: if ``m`` has more than 2 dimensions or a weight array is not 1-d of the number of
        observations.
    """
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


@arraylike_args(0, 1)
def corrcoef(x, y=None, rowvar=True):
    """Pearson correlation coefficients: :func:`cov` normalised by the standard deviations.

    Follows ``numpy.corrcoef`` and ``jax.numpy.corrcoef``; real results are clipped to [-1, 1].

    Args:
      x: 1-d or 2-d array_like of variables (rows, unless ``rowvar`` is False).
      y: optional extra variables, laid out as ``x``.
      rowvar: whether rows are variables (True) or observations (False).

    Returns:
      The ``(V, V)`` correlation matrix, inexact (for a single variable the scalar ``c / c``: 1, or
      NaN for zero variance).

    Raises:
      ValueError: as :func:`cov`.
    """
    c = cov(x, y, rowvar)
    if get_aval(c).ndim == 0:
        return c / c
    d = diagonal(c)
    sd = sqrt(real(d))
    c = c / sd[:, None] / sd[None, :]
    if _dtype(c).kind != "c":
        c = clip(c, -1, 1)
    return c


@arraylike_args(0)
def bincount(x, weights=None, minlength=0, *, length=None):
    """Count occurrences of each non-negative integer in ``x`` (weighted by ``weights``).

    Follows ``numpy.bincount`` and ``jax.numpy.bincount``. When ``x`` is traced (jit, vmap) pass
    a static ``length`` (as in JAX); then values ``>= length`` are dropped and negative values
    count in bin 0 (numpy raises on them).

    Args:
      x: 1-d array_like of integers (or bools).
      weights: optional array_like of ``x``'s shape; bin ``i`` sums the weights of the entries equal
        to ``i``.
      minlength: minimum number of bins when ``length`` is None.
      length: static number of bins (keyword-only); overrides ``minlength``. Default:
        ``max(minlength, max(x) + 1)``, which needs a concrete ``x``.

    Returns:
      A 1-d array of ``length`` counts: the default int dtype, or ``weights``' dtype.

    Raises:
      ValueError: if ``x`` is not 1-d, ``minlength`` is negative, ``weights`` does not match ``x``'s
        shape, or (without ``length``) ``x`` has a negative value.
      TypeError: if ``x`` is not an integer array, or ``length`` is None and ``x`` is traced.
    """
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
    if _dtype(x) == np.bool_:
        x = astype(x, dtypes.int32)
    idx = slicing.saturate_index(x, 0, length)  # negative -> 0, >= length dropped; none wraps
    return zeros(length, _dtype(w)).at[idx].add(w, mode="drop")


@arraylike_args(0, 1)
def digitize(x, bins, right=False, *, method=None):
    """Indices of the bins (of monotonic 1-d ``bins``) that the values of ``x`` fall in.

    Follows ``numpy.digitize`` and ``jax.numpy.digitize``, through :func:`searchsorted`.

    Args:
      x: array_like values.
      bins: 1-d array_like of monotonic bin edges.
      right: whether the intervals include their right edge instead of their left edge.
      method: ignored (JAX's choice of search method; funcgrad compares against every edge).

    Returns:
      Indices in the default int dtype, of ``x``'s shape (0 for all when ``bins`` is empty).

    Raises:
      ValueError: if ``bins`` is not 1-d.
    """
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


@arraylike_args(0, 1)
def histogram_bin_edges(a, bins=10, range=None, weights=None):
    """The ``bins + 1`` edges that :func:`histogram` uses.

    Follows ``numpy.histogram_bin_edges`` and ``jax.numpy.histogram_bin_edges`` for an int or array
    ``bins`` (numpy's named binning rules such as 'auto' are not supported).

    Args:
      a: array_like data (flattened).
      bins: static int number of equal-width bins, or a 1-d array_like of edges (returned, cast to
        ``a``'s inexact dtype).
      range: optional ``(min, max)`` pair; default: the data's min and max. An empty range
        ``min == max`` becomes ``(min - 0.5, max + 0.5)``.
      weights: ignored (accepted for numpy compatibility).

    Returns:
      A 1-d array of edges in ``a``'s inexact dtype.

    Raises:
      ValueError: if ``bins`` is not positive or not 1-d, or ``range`` is not a pair.
    """
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


@arraylike_args(0, 1)
def histogram(a, bins=10, range=None, weights=None, density=None):
    """Histogram of ``a``: ``(hist, bin_edges)``.

    Follows ``numpy.histogram`` and ``jax.numpy.histogram``. As in JAX, ``hist`` has ``a``'s inexact
    dtype (numpy: int64). Values outside the edges are not counted; the last bin includes its right
    edge.

    Args:
      a: array_like data (flattened).
      bins: static int number of equal-width bins, or a 1-d array_like of edges.
      range: optional ``(min, max)`` of the bins; default: the data's min and max.
      weights: optional array_like of ``a``'s shape: each value adds its weight.
      density: normalise ``hist`` so that it integrates to 1 over the range.

    Returns:
      ``(hist, bin_edges)``: the counts (weight sums or densities), of length
      ``len(bin_edges) - 1``, and the edges.

    Raises:
      ValueError: if ``weights`` does not match ``a``'s shape, or as :func:`histogram_bin_edges`.
    """
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
