"""funcgrad.numpy: set routines (``unique`` and its array-API variants, ``union1d``,
``setdiff1d``, ``intersect1d``, ``isin``)."""

from __future__ import annotations

import operator
from typing import NamedTuple

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import array_from_user, get_aval
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy import reductions as R
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.conversion import (
    _concrete_input,
    _dtype,
    _int_indices,
    _promote,
    _shape,
    asarray,
    astype,
)
from funcgrad._src.numpy.creation import full, ones, zeros
from funcgrad._src.numpy.indexing import take
from funcgrad._src.numpy.joining import concatenate
from funcgrad._src.numpy.logic import less, logical_and, logical_not, not_equal, where
from funcgrad._src.numpy.math import minimum
from funcgrad._src.numpy.ranges import arange
from funcgrad._src.numpy.reductions import argmax
from funcgrad._src.numpy.shape import ravel
from funcgrad._src.numpy.sorting import _concrete, _nonzero_sized, argsort, nonzero, sort


@arraylike_args(0)
def unique(
    ar,
    return_index=False,
    return_inverse=False,
    return_counts=False,
    axis=None,
    *,
    size=None,
    fill_value=None,
    equal_nan=True,
):
    """Sorted unique values of ``ar`` (and optionally where they occur and how often).

    Follows ``numpy.unique`` (computed by numpy on concrete values) and, with ``size=``,
    ``jax.numpy.unique``: then it works on traced values.

    Args:
      ar: array_like input; flattened unless ``axis`` is given.
      return_index: also return the index of each value's first occurrence.
      return_inverse: also return the indices that rebuild ``ar`` from the unique values.
      return_counts: also return how often each value occurs.
      axis: int axis along which to take unique sub-arrays (static); None flattens.
      size: static length of the result (JAX, keyword-only; values only): fewer unique values are
        padded with ``fill_value``, more are truncated.
      fill_value: the padding value with ``size`` (default: the smallest value; 0 for an empty
        ``ar``).
      equal_nan: ignored. Without ``size`` NaNs collapse into one (numpy's default); with ``size``
        each NaN is a separate value.

    Returns:
      The unique values (``ar``'s dtype), or a tuple of them followed by the requested index and
      count arrays (default int dtype), in numpy's order.

    Raises:
      ConcretizationTypeError: (a ``TypeError``) if ``size`` is None and ``ar`` is traced.
      NotImplementedError: if ``size`` is given together with ``return_index``, ``return_inverse``,
        ``return_counts`` or ``axis``.
    """
    if size is not None:
        if return_index or return_inverse or return_counts or axis is not None:
            raise NotImplementedError(
                "unique(size=...) supports the values only (no "
                "return_index/inverse/counts, axis=None)"
            )
        return _unique_sized(asarray(ar), int(size), fill_value)
    v = _concrete(asarray(ar), "unique")
    res = np.unique(
        v,
        return_index=return_index,
        return_inverse=return_inverse,
        return_counts=return_counts,
        axis=axis,
    )
    if not isinstance(res, tuple):
        return array_from_user(res)
    return tuple(array_from_user(r) for r in res)


def _unique_sized(x, size, fill_value):
    s = sort(ravel(x))
    n = get_aval(s).shape[0]
    if n == 0:
        return ls.full((size,), 0 if fill_value is None else fill_value, get_aval(s).dtype)
    first = ls.full((1,), True, np.bool_)
    new = (
        lsl.concatenate([first, le.ne(lsl.slice_in_dim(s, 1, n), lsl.slice_in_dim(s, 0, n - 1))], 0)
        if n > 1
        else first
    )
    (idx,) = _nonzero_sized(new, size, 0)
    count = lr.reduce_sum(le.convert_element_type(new, dtypes.int32), (0,))
    valid = le.lt(ls.iota(dtypes.int32, size), ls.broadcast_in_dim(count, (size,), ()))
    vals = take(s, idx)
    fill = (
        lsl.slice_in_dim(s, 0, 1) if fill_value is None else asarray(fill_value, get_aval(s).dtype)
    )
    return le.select(valid, vals, ls.broadcast_in_dim(ls.reshape(fill, ()), (size,), ()))


def count_unique(ar):
    return len(np.unique(_concrete(asarray(ar), "unique")))


@arraylike_args(0)
def unique_values(x, /, *, size=None, fill_value=None):
    """Sorted unique values of the flattened ``x`` (the array-API form of :func:`unique`).

    Follows ``numpy.unique_values`` and ``jax.numpy.unique_values``.

    Args:
      x: array_like input.
      size: static length of the result (JAX); with it the function works on traced values: fewer
        values are padded with ``fill_value``, more are truncated.
      fill_value: the padding value (default: the smallest value).

    Returns:
      A sorted 1-d array of ``x``'s dtype (of length ``size`` if given).

    Raises:
      ConcretizationTypeError: (a ``TypeError``) if ``size`` is None and ``x`` is traced.
    """
    return unique(x, size=size, fill_value=fill_value)


class UniqueCountsResult(NamedTuple):
    """``(values, counts)`` named tuple returned by :func:`unique_counts`.

    Args:
      values: the sorted unique values.
      counts: how many times each value occurs (default int dtype).
    """

    values: object
    counts: object


@arraylike_args(0)
def unique_counts(x, /, *, size=None, fill_value=None):
    """Sorted unique values of the flattened ``x`` and how often each occurs.

    Follows ``numpy.unique_counts`` and ``jax.numpy.unique_counts``.

    Args:
      x: array_like input.
      size: static length of the result (JAX); with it the function works on traced values. Fewer
        unique values are padded with ``fill_value`` and count 0; more are truncated to the first
        ``size`` values and their counts.
      fill_value: the padding value (default: the smallest value).

    Returns:
      A :class:`UniqueCountsResult` ``(values, counts)``: 1-d arrays of ``x``'s dtype and the
      default int dtype.

    Raises:
      TypeError: if ``size`` is None and ``x`` is traced (the output size would depend on the
        values).
    """
    x = ravel(asarray(x))
    if size is None:
        v = _concrete_input(x, "unique_counts", "x (without size=)")
        vals, counts = np.unique(v, return_counts=True)
        return UniqueCountsResult(
            array_from_user(vals, _dtype(x)),
            array_from_user(counts.astype(np.int64), dtypes.default_int()),
        )
    size = operator.index(size)
    s = sort(x)
    n = _shape(s)[0]
    if n == 0:
        fv = 0 if fill_value is None else fill_value
        return UniqueCountsResult(full(size, fv, _dtype(s)), zeros(size, dtypes.default_int()))
    new = concatenate([ones(1, np.bool_), not_equal(s[1:], s[:-1])])
    # One start past ``size``: the end of unique i is the start of unique i + 1 (or ``n``, the
    # padding), so truncated counts cover only the first ``size`` values.
    (bounds,) = nonzero(new, size=size + 1, fill_value=n)
    starts, ends = bounds[:size], bounds[1:]
    valid = less(arange(size), R.sum(new))
    counts = where(valid, ends - starts, 0)
    fill = s[0] if fill_value is None else astype(fill_value, _dtype(s))
    vals = where(valid, take(s, minimum(starts, n - 1)), fill)
    return UniqueCountsResult(vals, counts)


def _set_result(vals, mask, size, fill_value, name):
    """Values where ``mask`` holds: all of them (concrete) or ``size`` of them."""
    if size is None:
        m = _concrete_input(mask, name, "the inputs (without size=)")
        return take(vals, _int_indices(np.nonzero(m)[0]))
    size = operator.index(size)
    n = _shape(vals)[0]
    (idx,) = nonzero(mask, size=size, fill_value=0)
    cnt = R.sum(mask)
    valid = less(arange(size), cnt)
    if n == 0:
        return full(size, 0 if fill_value is None else fill_value, _dtype(vals))
    picked = take(vals, idx)
    # default fill: the smallest value of the result (as unique(size=...))
    fill = picked[0] if fill_value is None else astype(fill_value, _dtype(vals))
    return where(valid, picked, fill)


def _sorted_unique_mask(s):
    n = _shape(s)[0]
    if n == 0:
        return zeros(0, np.bool_)
    return concatenate([ones(1, np.bool_), not_equal(s[1:], s[:-1])])


@arraylike_args(0, 1)
def union1d(ar1, ar2, *, size=None, fill_value=None):
    """Sorted unique values that are in either of the flattened arrays.

    Follows ``numpy.union1d`` and ``jax.numpy.union1d`` (``size``/``fill_value`` are JAX's).

    Args:
      ar1: array_like input.
      ar2: array_like input.
      size: static length of the result (JAX, keyword-only); with it the function works on traced
        values: fewer values are padded with ``fill_value``, more are truncated.
      fill_value: the padding value (default: the smallest value of the result).

    Returns:
      A sorted 1-d array of the inputs' promoted dtype (of length ``size`` if given).

    Raises:
      TypeError: if ``size`` is None and an input is traced (inside jit, vmap or grad), because the
        output size would depend on the values.
    """
    a = concatenate([ravel(asarray(ar1)), ravel(asarray(ar2))])
    s = sort(a)
    return _set_result(s, _sorted_unique_mask(s), size, fill_value, "union1d")


@arraylike_args(0, 1)
def setdiff1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """Sorted unique values of ``ar1`` that are not in ``ar2`` (both flattened).

    Follows ``numpy.setdiff1d`` and ``jax.numpy.setdiff1d`` (``size``/``fill_value`` are JAX's).

    Args:
      ar1: array_like input.
      ar2: array_like values to leave out.
      assume_unique: ignored (the result is always de-duplicated).
      size: static length of the result (JAX, keyword-only); with it the function works on traced
        values: fewer values are padded with ``fill_value``, more are truncated.
      fill_value: the padding value (default: the smallest value of the result).

    Returns:
      A sorted 1-d array of the inputs' promoted dtype (of length ``size`` if given).

    Raises:
      TypeError: if ``size`` is None and an input is traced (inside jit, vmap or grad), because the
        output size would depend on the values.
    """
    a1, a2 = _promote(ravel(asarray(ar1)), ravel(asarray(ar2)))
    s = sort(a1)
    mask = logical_and(_sorted_unique_mask(s), isin(s, a2, invert=True))
    return _set_result(s, mask, size, fill_value, "setdiff1d")


@arraylike_args(0, 1)
def intersect1d(ar1, ar2, assume_unique=False, return_indices=False, *, size=None, fill_value=None):
    """Sorted unique values that are in both flattened arrays.

    Follows ``numpy.intersect1d`` and ``jax.numpy.intersect1d`` (``size``/``fill_value`` are JAX's).

    Args:
      ar1: array_like input.
      ar2: array_like input.
      assume_unique: ignored (the result is always de-duplicated).
      return_indices: also return, for each value, the index of its first occurrence in ``ar1`` and
        in ``ar2`` (padding entries: index 0 in ``ar1``, and in ``ar2`` the first match of the fill
        value, else 0).
      size: static length of the result (JAX, keyword-only); with it the function works on traced
        values: fewer values are padded with ``fill_value``, more are truncated.
      fill_value: the padding value (default: the smallest value of the result).

    Returns:
      A sorted 1-d array of the inputs' promoted dtype (of length ``size`` if given). With
      ``return_indices``, ``(values, indices1, indices2)`` with indices in the default int dtype.

    Raises:
      TypeError: if ``size`` is None and an input is traced (inside jit, vmap or grad), because the
        output size would depend on the values.
    """
    a1, a2 = _promote(ravel(asarray(ar1)), ravel(asarray(ar2)))
    o1 = argsort(a1)
    s = take(a1, o1)
    mask = logical_and(_sorted_unique_mask(s), isin(s, a2))
    vals = _set_result(s, mask, size, fill_value, "intersect1d")
    if not return_indices:
        return vals
    idx1 = _set_result(o1, mask, size, 0, "intersect1d")
    n2 = _shape(a2)[0]
    eq = le.eq(
        ls.broadcast_in_dim(vals, _shape(vals) + (n2,), (0,)),
        ls.broadcast_in_dim(a2, _shape(vals) + (n2,), (1,)),
    )
    idx2 = argmax(eq, axis=1) if n2 else zeros(_shape(vals), dtypes.default_int())
    return vals, idx1, idx2


@arraylike_args(0, 1)
def isin(element, test_elements, assume_unique=False, invert=False, *, method="auto"):
    """Elementwise ``element in test_elements``, of ``element``'s shape.

    Follows ``numpy.isin`` and ``jax.numpy.isin``. Compares every element with every test value
    (``O(element.size * test_elements.size)``); works under jit, vmap and grad.

    Args:
      element: array_like input.
      test_elements: array_like values to look for (flattened); promoted with ``element``.
      assume_unique: ignored.
      invert: return ``element not in test_elements`` instead.
      method: ignored (JAX's choice of algorithm).

    Returns:
      A bool array of ``element``'s shape.
    """
    e, t = _promote(asarray(element), ravel(asarray(test_elements)))
    shp = _shape(e)
    k = _shape(t)[0]
    if k == 0:
        out = zeros(shp, np.bool_)
    else:
        eb = ls.broadcast_in_dim(e, shp + (k,), tuple(range(len(shp))))
        tb = ls.broadcast_in_dim(t, shp + (k,), (len(shp),))
        out = lr.reduce_or(le.eq(eb, tb), (len(shp),))
    return logical_not(out) if invert else out
