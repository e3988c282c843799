"""funcgrad.numpy: array creation from shapes and values (``zeros``, ``ones``, ``full``, the
``*_like`` functions, ``eye``, ``identity``, ``tri``, ``fromfunction``, ``copy``)."""

from __future__ import annotations

import operator

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.conversion import _is_array, asarray, astype, broadcast_to


def _shape_tuple(shape):
    if isinstance(shape, (int, np.integer)) or (_is_array(shape) and get_aval(shape).ndim == 0):
        return (operator.index(shape),)
    return tuple(operator.index(s) for s in shape)


def _dt(dtype, default=None):
    return dtypes.canonicalize(dtype) if dtype is not None else (default or dtypes.default_float())


def zeros(shape, dtype=None):
    """An array of the given shape filled with 0s.

    Args:
        shape: int or sequence of ints (static).
        dtype: result dtype; None gives the default float dtype (float32, float64 with x64).

    Returns:
        Array of ``shape`` and ``dtype``.

    Raises:
        ValueError: if a dimension is negative.
        TypeError: if ``shape`` holds non-integers.
    """
    return ls.full(_shape_tuple(shape), 0, _dt(dtype))


def ones(shape, dtype=None):
    """An array of the given shape filled with 1s.

    Args:
        shape: int or sequence of ints (static).
        dtype: result dtype; None gives the default float dtype (float32, float64 with x64).

    Returns:
        Array of ``shape`` and ``dtype``.

    Raises:
        ValueError: if a dimension is negative.
        TypeError: if ``shape`` holds non-integers.
    """
    return ls.full(_shape_tuple(shape), 1, _dt(dtype))


def empty(shape, dtype=None):
    """An array of the given shape (filled with zeros: arrays are immutable, as in JAX).

    Args:
        shape: int or sequence of ints (static).
        dtype: result dtype; None gives the default float dtype (float32, float64 with x64).

    Returns:
        Array of ``shape`` and ``dtype``, all zeros.

    Raises:
        ValueError: if a dimension is negative.
        TypeError: if ``shape`` holds non-integers.
    """
    return zeros(shape, dtype)


@arraylike_args(1)
def full(shape, fill_value, dtype=None):
    """An array of the given shape filled with ``fill_value`` (broadcast to it).

    As in JAX, a Python scalar ``fill_value`` without ``dtype`` gives a weakly typed result.

    Args:
        shape: int or sequence of ints (static).
        fill_value: scalar or array broadcastable to ``shape``.
        dtype: result dtype; None takes the dtype of ``fill_value``.

    Returns:
        Array of ``shape`` and ``dtype``.

    Raises:
        ValueError: if ``fill_value`` cannot be broadcast to ``shape``.
    """
    fv = asarray(fill_value)
    dt = _dt(dtype, get_aval(fv).dtype if not get_aval(fv).weak_type or dtype else None)
    if dtype is None:
        dt = get_aval(fv).dtype
    shape = _shape_tuple(shape)
    out = broadcast_to(astype(fv, dt), shape)
    # as in JAX, a Python scalar fill value without dtype= gives a weakly typed result
    return _weak_like(out, dtype is None and get_aval(fv).weak_type)


def _weak_like(x, weak):
    if get_aval(x).weak_type == weak:
        return x
    return le.convert_element_type(x, get_aval(x).dtype, weak_type=weak)


@arraylike_args(0)
def zeros_like(a, dtype=None, shape=None):
    """An array of 0s (alias ``empty_like``) with the shape and dtype of ``a``.

    Args:
        a: array_like whose shape and dtype are used (weakly typed if ``a`` is, as in JAX).
        dtype: overrides the dtype.
        shape: overrides the shape (int or sequence of ints).

    Returns:
        Array of the shape and dtype of ``a`` (or those given).
    """
    a_ = get_aval(asarray(a))
    out = ls.full(a_.shape if shape is None else _shape_tuple(shape), 0, dtype or a_.dtype)
    return _weak_like(out, dtype is None and a_.weak_type)  # weak if `a` is (as in JAX)


@arraylike_args(0)
def ones_like(a, dtype=None, shape=None):
    """An array of 1s with the shape and dtype of ``a``.

    Args:
        a: array_like whose shape and dtype are used (weakly typed if ``a`` is, as in JAX).
        dtype: overrides the dtype.
        shape: overrides the shape (int or sequence of ints).

    Returns:
        Array of the shape and dtype of ``a`` (or those given).
    """
    a_ = get_aval(asarray(a))
    out = ls.full(a_.shape if shape is None else _shape_tuple(shape), 1, dtype or a_.dtype)
    return _weak_like(out, dtype is None and a_.weak_type)


@arraylike_args(0, 1)
def full_like(a, fill_value, dtype=None, shape=None):
    """An array filled with ``fill_value``, with the shape and dtype of ``a``.

    Args:
        a: array_like whose shape and dtype are used (weakly typed if ``a`` is, as in JAX).
        fill_value: scalar or array broadcastable to the shape.
        dtype: overrides the dtype.
        shape: overrides the shape (int or sequence of ints).

    Returns:
        Array of the shape and dtype of ``a`` (or those given).

    Raises:
        ValueError: if ``fill_value`` cannot be broadcast to the shape.
    """
    a_ = get_aval(asarray(a))
    out = full(a_.shape if shape is None else shape, fill_value, dtype or a_.dtype)
    return _weak_like(out, dtype is None and a_.weak_type)


empty_like = zeros_like


def eye(N, M=None, k=0, dtype=None):
    """A 2-d array with ones on the ``k``-th diagonal and zeros elsewhere.

    Args:
        N: number of rows (static int).
        M: number of columns (static int); None gives ``N``.
        k: diagonal: 0 the main one, positive above it, negative below.
        dtype: result dtype; None gives the default float dtype (float32, float64 with x64).

    Returns:
        Array of shape ``(N, M)`` and ``dtype``.
    """
    M = N if M is None else M
    r = ls.broadcasted_iota(dtypes.int32, (N, M), 0)
    c = ls.broadcasted_iota(dtypes.int32, (N, M), 1)
    return astype(le.eq(le.add(r, ls.full((N, M), k, dtypes.int32)), c), _dt(dtype))


def identity(n, dtype=None):
    """The ``n`` x ``n`` identity matrix.

    Args:
        n: number of rows and columns (static int).
        dtype: result dtype; None gives the default float dtype (float32, float64 with x64).

    Returns:
        Array of shape ``(n, n)`` and ``dtype``.
    """
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    """A 2-d array with ones at and below the ``k``-th diagonal and zeros above it.

    Args:
        N: number of rows (static int).
        M: number of columns (static int); None gives ``N``.
        k: diagonal: 0 the main one, positive above it, negative below.
        dtype: result dtype; None gives the default float dtype (float32, float64 with x64).

    Returns:
        Array of shape ``(N, M)`` and ``dtype``.
    """
    M = N if M is None else M
    r = ls.broadcasted_iota(dtypes.int32, (N, M), 0)
    c = ls.broadcasted_iota(dtypes.int32, (N, M), 1)
    return astype(le.ge(le.add(r, ls.full((N, M), k, dtypes.int32)), c), _dt(dtype))


def fromfunction(function, shape, *, dtype=float, **kwargs):
    """``function(*indices, **kwargs)``, where ``indices`` are index grids of ``shape``.

    Follows ``numpy.fromfunction``: ``function`` is called once, on whole arrays.

    Args:
        function: callable taking one index array per dimension.
        shape: sequence of ints (static).
        dtype: dtype of the index grids (default: the default float dtype).
        **kwargs: passed on to ``function``.

    Returns:
        Whatever ``function`` returns.
    """
    shape = tuple(operator.index(s) for s in shape)
    dt = dtypes.canonicalize(dtype)
    idx = [
        ls.broadcasted_iota(dt, shape, d)
        if dt.kind in "iu"
        else astype(ls.broadcasted_iota(dtypes.default_int(), shape, d), dt)
        for d in range(len(shape))
    ]
    return function(*idx, **kwargs)


@arraylike_args(0)
def copy(a, order=None):
    """``a`` as a funcgrad array (arrays are immutable, so no copy is needed).

    Args:
        a: array_like.
        order: ignored (numpy compatibility).

    Returns:
        ``asarray(a)``.
    """
    return asarray(a)
