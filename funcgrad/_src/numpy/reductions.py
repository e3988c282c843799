"""funcgrad.numpy: reductions (sums, products, extrema, ``all``/``any``, ``mean``/``var``/``std``,
``average``, arg-extrema, and their NaN-ignoring versions) and cumulative operations."""

from __future__ import annotations

import builtins

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval
from funcgrad._src.core import canonicalize_axis
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax import transcendental as ltr
from funcgrad._src.numpy import logic as lg
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.conversion import _broadcast, _dtype, _inexact, _promote, asarray, astype
from funcgrad._src.numpy.creation import full_like, ones_like, zeros_like
from funcgrad._src.numpy.logic import _to_bool, isnan, logical_and, logical_not, where
from funcgrad._src.numpy.math import add, conj, maximum, minimum, multiply, real
from funcgrad._src.numpy.reduction_docs import doc_for, templated
from funcgrad._src.numpy.transcendental import sqrt


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple(canonicalize_axis(a, ndim) for a in axis)
    else:
        axes = (canonicalize_axis(axis, ndim),)
    if len(set(axes)) != len(axes):
        raise ValueError(f"repeated axis in {axis}")
    return axes


def _keep(out, shape, axes, keepdims):
    if not keepdims:
        return out
    return ls.reshape(out, tuple(1 if i in axes else s for i, s in enumerate(shape)))


def _sum_dtype(dt):
    """numpy/JAX: sums of bools and small ints accumulate in the default int."""
    if dt.kind == "b" or (dt.kind in "iu" and dt.itemsize < dtypes.default_int().itemsize):
        return dtypes.default_int() if dt.kind != "u" else dtypes.canonicalize(np.uint64)
    return dt


def _reduction(lax_fn, name, promote_sum=False, initial_op=None):
    """Make the numpy reduction ``name`` (sum, prod, max, min) from the lax reduction."""

    @arraylike_args(0)
    def f(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
        a = asarray(a)
        shape = get_aval(a).shape
        if dtype is not None:
            a = astype(a, dtype)
        elif promote_sum:
            a = astype(a, _sum_dtype(get_aval(a).dtype))
        if where is not None:
            ident = {"sum": 0, "prod": 1, "all": True, "any": False}.get(name)
            if ident is None:
                ident = initial
            if ident is None:
                raise ValueError(
                    f"reduction operation {name} does not have an identity, so "
                    f"to use a where mask one has to specify 'initial'"
                )
            a = _where_fill(a, where, ident)
        axes = _axes(axis, len(shape))
        if name in ("max", "min") and builtins.any(shape[i] == 0 for i in axes) and initial is None:
            raise ValueError(
                f"zero-size array to reduction operation {name} which has no "
                f"identity (shape {shape}, axis {axis}); pass initial="
            )
        res = lax_fn(a, axes)
        if initial is not None:
            res = initial_op(res, asarray(initial, get_aval(res).dtype))
        return _keep(res, shape, axes, keepdims)

    f.__name__ = name
    if name in ("sum", "prod", "max", "min"):  # all/any are made per call (_bool_reduce)
        f.__doc__ = doc_for(name)
    return f


def _where_fill(a, mask, ident):
    mask = _to_bool(mask)
    m, a2 = _broadcast(mask, a)
    return le.select(m, a2, full_like(a2, ident))


def _bool_reduce(fn):
    """Make ``all`` (``fn`` is ``reduce_and``) or ``any`` (``reduce_or``)."""
    name = "all" if fn is lr.reduce_and else "any"

    @arraylike_args(0)
    def f(a, axis=None, out=None, keepdims=False, where=None):
        a = _to_bool(asarray(a))
        return _reduction(fn, name)(a, axis, None, None, keepdims, where=where)

    f.__doc__ = doc_for(name)
    return f


sum = _reduction(lr.reduce_sum, "sum", promote_sum=True, initial_op=add)
prod = _reduction(lr.reduce_prod, "prod", promote_sum=True, initial_op=multiply)
max = amax = _reduction(lr.reduce_max, "max", initial_op=maximum)
min = amin = _reduction(lr.reduce_min, "min", initial_op=minimum)
all = _bool_reduce(lr.reduce_and)
any = _bool_reduce(lr.reduce_or)


@arraylike_args(0)
def mean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    """Arithmetic mean of ``a`` over ``axis``.

    Follows ``numpy.mean`` and ``jax.numpy.mean``.

    Args:
      a: array_like input.
      axis: None (every axis), an int or a tuple of ints (static; negative counts from the end).
      dtype: dtype to compute in. Default: ``a``'s dtype promoted to inexact (integers and bools
        give the default float).
      out: ignored (arrays are immutable; use the return value).
      keepdims: keep the reduced axes as size-1 dimensions.
      where: optional boolean mask, broadcast against ``a``: only entries where it is True are
        averaged.

    Returns:
      The mean: ``a``'s shape without the reduced axes (size 1 with ``keepdims``). An empty
      reduction gives NaN.

    Raises:
      ValueError: if an axis is out of bounds or repeated.
    """
    a = asarray(a)
    shape = get_aval(a).shape
    axes = _axes(axis, len(shape))
    if dtype is None:
        (a,) = _promote(a, to_inexact=True)
    else:
        a = astype(a, dtype)
    if where is not None:
        total = sum(a, axis, keepdims=keepdims, where=where)
        count = sum(
            _where_fill(
                astype(_to_bool(asarray(1)), get_aval(a).dtype) * zeros_like(a) + 1, where, 0
            ),
            axis,
            keepdims=keepdims,
        )
        return total / count
    n = 1
    for i in axes:
        n *= shape[i]
    s = lr.reduce_sum(a, axes)
    res = le.div(s, ls.full(get_aval(s).shape, n if n else np.nan, get_aval(s).dtype))
    return _keep(res, shape, axes, keepdims)


@arraylike_args(0)
@templated
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, correction=None):
    a = asarray(a)
    ddof = correction if correction is not None else ddof
    (a,) = _promote(a, to_inexact=True)
    if dtype is not None:
        a = astype(a, dtype)
    m = mean(a, axis, keepdims=True, where=where)
    d = a - m
    if get_aval(d).dtype.kind == "c":
        sq = le.real(d * le.conj(d))
    else:
        sq = d * d
    shape = get_aval(a).shape
    axes = _axes(axis, len(shape))
    if where is not None:  # as in JAX: divide by (count of selected elements - ddof)
        s = sum(sq, axis, keepdims=keepdims, where=where)
        n_sel = sum(_where_fill(ones_like(sq), where, 0), axis, keepdims=keepdims)
        return s / (n_sel - ddof)
    n = 1
    for i in axes:
        n *= shape[i]
    s = sum(sq, axis, keepdims=keepdims)
    return s / builtins.max(n - ddof, 0) if n - ddof > 0 else s * np.nan


@arraylike_args(0)
@templated
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, correction=None):
    return ltr.sqrt(var(a, axis, dtype, None, ddof, keepdims, where=where, correction=correction))


@arraylike_args(0)
@templated
def argmax(a, axis=None, out=None, keepdims=False):
    return _arg(lr.argmax, a, axis, keepdims)


@arraylike_args(0)
@templated
def argmin(a, axis=None, out=None, keepdims=False):
    return _arg(lr.argmin, a, axis, keepdims)


def _arg(fn, a, axis, keepdims):
    a = asarray(a)
    if axis is None:
        shape = get_aval(a).shape
        res = fn(ls.reshape(a, (get_aval(a).size,)), 0, dtypes.default_int())
        return ls.reshape(res, (1,) * len(shape)) if keepdims else res
    ax = canonicalize_axis(axis, get_aval(a).ndim)
    res = fn(a, ax, dtypes.default_int())
    return ls.expand_dims(res, (ax,)) if keepdims else res


@arraylike_args(0)
def ptp(a, axis=None, out=None, keepdims=False):
    """Peak to peak: ``max(a, axis) - min(a, axis)``.

    Follows ``numpy.ptp`` and ``jax.numpy.ptp``.

    Args:
      a: array_like input.
      axis: None (every axis), an int or a tuple of ints (static; negative counts from the end).
      out: ignored (arrays are immutable; use the return value).
      keepdims: keep the reduced axes as size-1 dimensions.

    Returns:
      The range of values: ``a``'s shape without the reduced axes (size 1 with ``keepdims``);
      ``a``'s dtype.

    Raises:
      ValueError: if an axis is out of bounds or repeated, or if a reduced axis is empty.
    """
    return max(a, axis, keepdims=keepdims) - min(a, axis, keepdims=keepdims)


@arraylike_args(0)
def count_nonzero(a, axis=None, keepdims=False):
    """Number of nonzero (true) elements of ``a`` over ``axis``.

    Follows ``numpy.count_nonzero`` and ``jax.numpy.count_nonzero``.

    Args:
      a: array_like input of any dtype.
      axis: None (every axis), an int or a tuple of ints (static; negative counts from the end).
      keepdims: keep the reduced axes as size-1 dimensions.

    Returns:
      The counts, in the default int dtype: ``a``'s shape without the reduced axes (size 1 with
      ``keepdims``).

    Raises:
      ValueError: if an axis is out of bounds or repeated.
    """
    return sum(_to_bool(asarray(a)), axis, keepdims=keepdims)


@arraylike_args(0)
def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """Sum over ``axis`` treating NaNs as zero.

    Follows ``numpy.nansum`` and ``jax.numpy.nansum``; dtypes as :func:`sum`.

    Args:
      a: array_like input.
      axis: None (every axis), an int or a tuple of ints (static; negative counts from the end).
      dtype: accumulation dtype (default: as :func:`sum`).
      out: ignored (arrays are immutable; use the return value).
      keepdims: keep the reduced axes as size-1 dimensions.
      initial: optional scalar added to the result.
      where: optional boolean mask, broadcast against ``a``; entries where it is False count as 0.

    Returns:
      The sum of the non-NaN entries: ``a``'s shape without the reduced axes (size 1 with
      ``keepdims``).

    Raises:
      ValueError: if an axis is out of bounds or repeated.
    """
    a = asarray(a)
    a = where_(isnan(a), zeros_like(a), a)
    return sum(a, axis, dtype, keepdims=keepdims, initial=initial, where=where)


@arraylike_args(0)
def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    """Mean over ``axis`` of the non-NaN entries.

    Follows ``numpy.nanmean`` and ``jax.numpy.nanmean``.

    Args:
      a: array_like input.
      axis: None (every axis), an int or a tuple of ints (static; negative counts from the end).
      dtype: accumulation dtype of the sum (default: as :func:`sum`).
      out: ignored (arrays are immutable; use the return value).
      keepdims: keep the reduced axes as size-1 dimensions.
      where: optional boolean mask, broadcast against ``a``: only the non-NaN entries where it is
        True are averaged.

    Returns:
      The mean, inexact: ``a``'s shape without the reduced axes (size 1 with ``keepdims``). A slice
      with no non-NaN entries gives NaN.

    Raises:
      ValueError: if an axis is out of bounds or repeated.
    """
    a = asarray(a)
    ok = le.bitwise_not(isnan(a))
    total = nansum(a, axis, dtype, keepdims=keepdims, where=where)
    n = sum(ok, axis, keepdims=keepdims, where=where)
    return total / astype(n, get_aval(total).dtype)


@arraylike_args(0)
@templated
def nanmax(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    return _nan_extremum(max, -np.inf, a, axis, keepdims, initial, where)


@arraylike_args(0)
@templated
def nanmin(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    return _nan_extremum(min, np.inf, a, axis, keepdims, initial, where)


def _nan_extremum(plain, fill, a, axis, keepdims, initial, where):
    """``plain`` (max/min) of ``a`` with NaNs replaced by ``fill``.

    An all-NaN slice gives NaN unless ``initial`` is given (as JAX).
    """
    a = asarray(a)
    if get_aval(a).dtype.kind not in "fc":  # no NaNs to skip
        return plain(a, axis, keepdims=keepdims, initial=initial, where=where)
    filled = where_(isnan(a), ls.full(get_aval(a).shape, fill, get_aval(a).dtype), a)
    res = plain(filled, axis, keepdims=keepdims, initial=initial, where=where)
    return res if initial is not None else _all_nan_to_nan(a, res, axis, keepdims)


def _all_nan_to_nan(a, res, axis, keepdims):
    """An all-NaN slice reduces to NaN (as in numpy and JAX), not to the +-inf fill."""
    if get_aval(a).dtype.kind not in "fc":
        return res
    return where_(all(isnan(a), axis, keepdims=keepdims), np.nan, res)


def where_(c, x, y):
    return where(c, x, y)


@arraylike_args(0)
@templated
def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, correction=None):
    a = _inexact(asarray(a))[0]
    if dtype is not None:
        a = astype(a, dtype)
    ddof = correction if correction is not None else ddof
    ok = logical_not(isnan(a))
    if where is not None:
        ok = logical_and(ok, _to_bool(where))
    mu = nanmean(lg.where(ok, a, np.nan), axis, keepdims=True)
    d = lg.where(ok, a - mu, 0)
    sq = real(d * conj(d)) if _dtype(d).kind == "c" else d * d
    n = sum(ok, axis, keepdims=keepdims)
    tot = sum(sq, axis, keepdims=keepdims)
    return tot / astype(maximum(n - ddof, 0), _dtype(tot))


@arraylike_args(0)
@templated
def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, correction=None):
    return sqrt(nanvar(a, axis, dtype, out, ddof, keepdims, where, correction))


@arraylike_args(0)
def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """Product over ``axis`` treating NaNs as one.

    Follows ``numpy.nanprod`` and ``jax.numpy.nanprod``; dtypes as :func:`prod`.

    Args:
      a: array_like input.
      axis: None (every axis), an int or a tuple of ints (static; negative counts from the end).
      dtype: accumulation dtype (default: as :func:`prod`).
      out: ignored (arrays are immutable; use the return value).
      keepdims: keep the reduced axes as size-1 dimensions.
      initial: optional scalar multiplied into the result.
      where: optional boolean mask, broadcast against ``a``; entries where it is False count as 1.

    Returns:
      The product of the non-NaN entries: ``a``'s shape without the reduced axes (size 1 with
      ``keepdims``).

    Raises:
      ValueError: if an axis is out of bounds or repeated.
    """
    a = asarray(a)
    return prod(
        lg.where(isnan(a), ones_like(a), a),
        axis,
        dtype,
        keepdims=keepdims,
        initial=initial,
        where=where,
    )


def _nanarg(fn, fill, a, axis, keepdims):
    a = asarray(a)
    nan = isnan(a)
    res = fn(where(nan, fill, a), axis, keepdims=keepdims)
    all_nan = all(nan, axis, keepdims=keepdims)
    return where(all_nan, -1, res)


@arraylike_args(0)
@templated
def nanargmax(a, axis=None, out=None, keepdims=False):
    return _nanarg(argmax, -np.inf, a, axis, keepdims)


@arraylike_args(0)
@templated
def nanargmin(a, axis=None, out=None, keepdims=False):
    return _nanarg(argmin, np.inf, a, axis, keepdims)


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    """Weighted average of ``a`` over ``axis``.

    Follows ``numpy.average`` and ``jax.numpy.average``; weights summing to zero give inf/NaN (numpy
    raises ``ZeroDivisionError``).

    Args:
      a: array_like input.
      axis: None (every axis), an int or a tuple of ints (static).
      weights: optional array_like of ``a``'s shape, or 1-d along an int ``axis``. None: equal
        weights (the plain mean).
      returned: also return the sum of the weights.
      keepdims: keep the reduced axes as size-1 dimensions.

    Returns:
      The average (inexact; ``a``'s shape without the reduced axes), or with ``returned`` the pair
      ``(average, sum_of_weights)``; without ``weights`` the sum is the number of entries averaged,
      in the average's dtype and shape.

    Raises:
      ValueError: if ``weights`` neither matches ``a``'s shape nor is 1-d with ``axis`` given, or if
        an axis is out of bounds or repeated.
    """
    a = asarray(a)
    if weights is None:
        avg = mean(a, axis, keepdims=keepdims)
        cnt = ls.full(
            get_aval(avg).shape,
            get_aval(a).size // builtins.max(get_aval(avg).size, 1),
            get_aval(avg).dtype,
        )
        return (avg, cnt) if returned else avg
    w = asarray(weights)
    if get_aval(w).shape != get_aval(a).shape:
        if axis is None or get_aval(w).ndim != 1:
            raise ValueError(
                f"average: weights of shape {get_aval(w).shape} need axis= and "
                f"must be 1-d along it, or match a's shape {get_aval(a).shape}"
            )
        ax = canonicalize_axis(axis, get_aval(a).ndim)
        w = ls.broadcast_in_dim(
            astype(
                w, get_aval(a).dtype if get_aval(a).dtype.kind in "fc" else dtypes.default_float()
            ),
            get_aval(a).shape,
            (ax,),
        )
    a, w = _promote(a, w, to_inexact=True)
    wsum = sum(w, axis, keepdims=keepdims)
    avg = sum(a * w, axis, keepdims=keepdims) / wsum
    return (avg, wsum) if returned else avg


def _cum(kind, promote=False):
    """Make ``cum{kind}`` (``promote``: the accumulation dtype of ``sum``, as cumulative_*)."""

    @arraylike_args(0)
    def f(a, axis=None, dtype=None, out=None):
        a = asarray(a)
        if axis is None:
            a = ls.reshape(a, (get_aval(a).size,))
            axis = 0
        if dtype is not None:
            a = astype(a, dtype)
        elif kind in ("sum", "prod") and (promote or get_aval(a).dtype == np.bool_):
            # jnp.cumsum keeps small integer dtypes (only bool becomes int);
            # cumulative_sum / cumulative_prod promote like sum (as in JAX)
            a = astype(a, _sum_dtype(get_aval(a).dtype))
        ax = canonicalize_axis(axis, get_aval(a).ndim)
        return {"sum": lr.cumsum, "prod": lr.cumprod, "max": lr.cummax, "min": lr.cummin}[kind](
            a, ax
        )

    f.__name__ = "cum" + kind
    f.__doc__ = doc_for("cum" + kind)
    return f


cumsum = _cum("sum")
cumprod = _cum("prod")


def _cumulative(kind):
    """Make the array-API ``cumulative_{kind}``."""
    cum = _cum(kind, promote=True)

    @arraylike_args(0)
    def f(x, /, *, axis=None, dtype=None, include_initial=False):
        x = asarray(x)
        nd = get_aval(x).ndim
        if axis is None:
            if nd > 1:
                raise ValueError(
                    f"cumulative_{kind}: the input has rank {nd}; axis= is only "
                    f"optional for 0-d and 1-d arrays"
                )
            axis = 0
        if nd == 0:
            raise ValueError(
                f"cumulative_{kind}: the input must be non-scalar (got a 0-d "
                f"array); use an array with at least one dimension"
            )
        out = cum(x, axis, dtype)
        if include_initial:
            ax = canonicalize_axis(axis, get_aval(out).ndim)
            shape = list(get_aval(out).shape)
            shape[ax] = 1
            init = ls.full(tuple(shape), 0 if kind == "sum" else 1, get_aval(out).dtype)
            out = lsl.concatenate([init, out], ax)
        return out

    f.__name__ = "cumulative_" + kind
    f.__doc__ = doc_for("cumulative_" + kind)
    return f


cumulative_sum = _cumulative("sum")  # the array-API forms (as in JAX)
cumulative_prod = _cumulative("prod")


@arraylike_args(0)
def nancumsum(a, axis=None, dtype=None):
    """Cumulative sum along ``axis`` treating NaNs as zero.

    Follows ``numpy.nancumsum`` and ``jax.numpy.nancumsum``; dtypes as :func:`cumsum`.

    Args:
      a: array_like input.
      axis: int axis (static); None flattens ``a`` first.
      dtype: dtype to cast ``a`` to first (default: as :func:`cumsum`).

    Returns:
      An array of ``a``'s shape (1-d of size ``a.size`` when ``axis`` is None).

    Raises:
      ValueError: if ``axis`` is out of bounds.
    """
    a = asarray(a)
    return cumsum(where(isnan(a), zeros_like(a), a), axis, dtype)
