"""funcgrad.numpy: sorting and searching (``sort``, ``argsort``, ``lexsort``, ``partition``,
``searchsorted``, ``nonzero``, ``argwhere``)."""

from __future__ import annotations

import operator

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import array_from_user, get_aval
from funcgrad._src.core import Tracer, canonicalize_axis
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.conversion import (
    _dtype,
    _promote,
    _shape,
    asarray,
    astype,
    broadcast_shapes,
    broadcast_to,
)
from funcgrad._src.numpy.dtype_routines import result_type
from funcgrad._src.numpy.joining import stack
from funcgrad._src.numpy.math import imag, real
from funcgrad._src.numpy.shape import ravel


@arraylike_args(0)
def sort(a, axis=-1, kind=None, order=None, stable=True, descending=False):
    """Sorted copy of ``a`` along ``axis`` (stable; NaNs last).

    Follows ``numpy.sort`` and ``jax.numpy.sort`` (``descending`` as JAX and the array API).

    Args:
      a: array_like input.
      axis: int axis to sort along (static); None sorts the flattened array.
      kind: ignored (the sort is always stable).
      order: ignored (structured dtypes are not supported).
      stable: ignored (the sort is always stable).
      descending: sort in descending order (the ascending result reversed: NaNs first).

    Returns:
      The sorted array: ``a``'s shape and dtype (1-d when ``axis`` is None).

    Raises:
      ValueError: if ``axis`` is out of bounds.
    """
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    ax = canonicalize_axis(axis, get_aval(a).ndim)
    out = lr.sort(a, ax)
    return ls.rev(out, (ax,)) if descending else out


@arraylike_args(0)
def argsort(a, axis=-1, kind=None, order=None, stable=True, descending=False):
    """Indices that sort ``a`` along ``axis`` (stable; NaNs last).

    Follows ``numpy.argsort`` and ``jax.numpy.argsort``; with ``descending`` equal elements keep
    their order (as JAX).

    Args:
      a: array_like input.
      axis: int axis to sort along (static); None sorts the flattened array.
      kind: ignored (the sort is always stable).
      order: ignored (structured dtypes are not supported).
      stable: ignored (the sort is always stable).
      descending: sort in descending order.

    Returns:
      Indices in the default int dtype: ``a``'s shape (1-d when ``axis`` is None).

    Raises:
      ValueError: if ``axis`` is out of bounds.
    """
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    ax = canonicalize_axis(axis, get_aval(a).ndim)
    if descending:
        a = ls.rev(a, (ax,))
    io = ls.broadcasted_iota(dtypes.default_int(), get_aval(a).shape, ax)
    perm = lr.sort([a, io], ax, num_keys=1)[1]
    if descending:
        n = get_aval(a).shape[ax]
        perm = ls.rev(ls.full(get_aval(perm).shape, n - 1, get_aval(perm).dtype) - perm, (ax,))
    return perm


@arraylike_args(0, 1)
def searchsorted(a, v, side="left", sorter=None, method=None):
    """Indices where the values ``v`` would be inserted into the sorted 1-d ``a`` to keep it sorted.

    Follows ``numpy.searchsorted`` and ``jax.numpy.searchsorted``. Computed by comparing every value
    with every element (``O(len(a) * v.size)``), which works under jit, vmap and grad.

    Args:
      a: 1-d array_like, sorted ascending (or made so by ``sorter``).
      v: array_like of values to place, of any shape; promoted with ``a``. NaN sorts after
        every other value, as in numpy (``searchsorted(a, nan)`` is ``len(a)`` when ``a`` has
        no NaN).
      side: 'left' (the first suitable index) or 'right' (the last); any other value acts as 'right'
        (numpy raises).
      sorter: optional 1-d integer array_like: indices that sort ``a``.
      method: ignored (JAX's choice of search algorithm).

    Returns:
      Indices in the default int dtype, of ``v``'s shape.

    Raises:
      ValueError: if ``a`` is not 1-d.
    """
    a, v = asarray(a), asarray(v)
    if sorter is not None:
        from funcgrad._src.numpy.indexing import take

        a = take(a, sorter)
    if get_aval(a).ndim != 1:
        raise ValueError("searchsorted: a must be 1-d")
    vs = get_aval(v).shape
    n = get_aval(a).shape[0]
    ab = ls.broadcast_in_dim(a, vs + (n,), (len(vs),))
    vb = ls.broadcast_in_dim(v, vs + (n,), tuple(range(len(vs))))
    ab, vb = _promote(ab, vb)
    cmp = _sort_lt(ab, vb) if side == "left" else _sort_le(ab, vb)
    return lr.reduce_sum(le.convert_element_type(cmp, dtypes.default_int()), (len(vs),))


def _sort_lt(x, y):
    """``x < y`` in numpy's sort order, where NaN sorts after every other value."""
    if get_aval(x).dtype.kind != "f":
        return le.lt(x, y)
    return le.bitwise_or(le.lt(x, y), le.bitwise_and(le.ne(y, y), le.eq(x, x)))


def _sort_le(x, y):
    """``x <= y`` in numpy's sort order (NaN last, equal to itself)."""
    if get_aval(x).dtype.kind != "f":
        return le.le(x, y)
    return le.bitwise_or(le.le(x, y), le.ne(y, y))


def _concrete(x, fname):
    if isinstance(x, Tracer):
        from funcgrad._src.core import ConcretizationTypeError

        raise ConcretizationTypeError(  # a TypeError, as in JAX
            f"{fname} has an output size that depends on the values, so it cannot run on "
            f"traced values (inside jit/vmap/grad of a traced input). Pass size=... "
            f"(JAX-style) for a fixed-size result."
        )
    return np.asarray(x)


@arraylike_args(0)
def nonzero(a, *, size=None, fill_value=None):
    """Indices of the nonzero elements of ``a``: one index array per dimension.

    Follows ``numpy.nonzero`` and ``jax.numpy.nonzero`` (``size``/``fill_value`` are JAX's).

    Args:
      a: array_like input (at least 1-d without ``size``).
      size: static length of the result (JAX); with it the function works on traced values. Fewer
        nonzero elements are padded with ``fill_value``; more are truncated.
      fill_value: the padding index (default 0).

    Returns:
      A tuple of ``a.ndim`` 1-d arrays in the default int dtype, in row-major order (each of length
      ``size`` if given).

    Raises:
      ConcretizationTypeError: (a ``TypeError``) if ``size`` is None and ``a`` is traced
        (inside jit, vmap or grad), because the output size would depend on the values.
      ValueError: if ``a`` is 0-d and ``size`` is None (as numpy).
    """
    a = asarray(a)
    if size is not None:
        return _nonzero_sized(a, size, fill_value)
    v = _concrete(a, "nonzero")
    return tuple(array_from_user(i.astype(np.int64), dtypes.default_int()) for i in np.nonzero(v))


def _nonzero_sized(a, size, fill_value):
    shape = get_aval(a).shape
    flat = ravel(a)
    mask = le.ne(flat, ls.full(get_aval(flat).shape, 0, get_aval(flat).dtype))
    n = get_aval(flat).shape[0]
    key = le.convert_element_type(le.bitwise_not(mask), dtypes.int32)
    io = ls.iota(dtypes.int32, n)
    _, order = lr.sort([key, io], 0, num_keys=1)
    if size > n:
        order = lsl.pad(order, 0, ((0, size - n, 0),))
        cnt = n
    else:
        order = lsl.slice_in_dim(order, 0, size)
        cnt = size
    count = lr.reduce_sum(le.convert_element_type(mask, dtypes.int32), (0,))
    valid = le.lt(ls.iota(dtypes.int32, size), ls.broadcast_in_dim(count, (size,), ()))
    out = []
    rem = order
    for d in reversed(range(len(shape))):
        s = ls.full((size,), shape[d], dtypes.int32)
        idx = le.rem(rem, s)
        rem = le.div(rem, s)
        fv = ls.full((size,), 0 if fill_value is None else fill_value, dtypes.int32)
        out.append(le.select(valid, idx, fv))
    del cnt
    return tuple(le.convert_element_type(o, dtypes.default_int()) for o in reversed(out))


@arraylike_args(0)
def flatnonzero(a, *, size=None, fill_value=None):
    """Indices of the nonzero elements of the flattened ``a``.

    Follows ``numpy.flatnonzero`` and ``jax.numpy.flatnonzero`` (``size``/``fill_value`` as
    :func:`nonzero`).

    Args:
      a: array_like input.
      size: static length of the result (JAX); with it the function works on traced values. Fewer
        nonzero elements are padded with ``fill_value``; more are truncated.
      fill_value: the padding index (default 0).

    Returns:
      A 1-d array of indices in the default int dtype (of length ``size`` if given).

    Raises:
      ConcretizationTypeError: (a ``TypeError``) if ``size`` is None and ``a`` is traced
        (inside jit, vmap or grad), because the output size would depend on the values.
    """
    return nonzero(ravel(asarray(a)), size=size, fill_value=fill_value)[0]


@arraylike_args(0)
def argwhere(a, *, size=None, fill_value=None):
    """Indices of the nonzero elements of ``a``, one row per element.

    Follows ``numpy.argwhere`` and ``jax.numpy.argwhere`` (``size``/``fill_value`` as
    :func:`nonzero`).

    Args:
      a: array_like input.
      size: static length of the result (JAX); with it the function works on traced values. Fewer
        nonzero elements are padded with ``fill_value``; more are truncated.
      fill_value: the padding index (default 0).

    Returns:
      An ``(N, a.ndim)`` array of indices in the default int dtype (``N`` the number of nonzero
      elements, or ``size``); ``(0, 0)`` int32 for a 0-d ``a`` with ``size``.

    Raises:
      ConcretizationTypeError: (a ``TypeError``) if ``size`` is None and ``a`` is traced
        (inside jit, vmap or grad), because the output size would depend on the values.
      ValueError: if ``a`` is 0-d and ``size`` is None (as numpy).
    """
    nz = nonzero(a, size=size, fill_value=fill_value)
    return stack(nz, -1) if nz else asarray(np.zeros((0, 0), np.int32))


def _kth(kth, n, name):
    kth = operator.index(kth)
    if not -n <= kth < n:
        raise ValueError(f"{name}: kth={kth} out of bounds for an axis of size {n}")
    return kth


def partition(a, kth, axis=-1):
    """``a`` rearranged along ``axis`` so that position ``kth`` holds the value it has when sorted.

    Follows ``numpy.partition`` and ``jax.numpy.partition``: smaller values come before position
    ``kth`` and larger ones after. Their order inside the two parts is unspecified in numpy;
    funcgrad returns them sorted (the full sort; JAX's order differs too).

    Args:
      a: array_like input.
      kth: int position (static); negative counts from the end.
      axis: int axis (static).

    Returns:
      An array of ``a``'s shape and dtype.

    Raises:
      ValueError: if ``kth`` or ``axis`` is out of bounds.
      TypeError: if ``kth`` is not an int (numpy also takes a sequence of positions).
    """
    a = asarray(a)
    ax = canonicalize_axis(axis, get_aval(a).ndim)
    _kth(kth, _shape(a)[ax], "partition")
    return sort(a, axis=ax)


def argpartition(a, kth, axis=-1):
    """Indices that partition ``a`` along ``axis`` at ``kth`` (see :func:`partition`).

    Follows ``numpy.argpartition`` and ``jax.numpy.argpartition``; funcgrad returns the indices that
    fully sort ``a`` (:func:`argsort`), which is one valid answer.

    Args:
      a: array_like input.
      kth: int position (static); negative counts from the end.
      axis: int axis (static).

    Returns:
      Indices in the default int dtype, of ``a``'s shape.

    Raises:
      ValueError: if ``kth`` or ``axis`` is out of bounds.
      TypeError: if ``kth`` is not an int.
    """
    a = asarray(a)
    ax = canonicalize_axis(axis, get_aval(a).ndim)
    _kth(kth, _shape(a)[ax], "argpartition")
    return argsort(a, axis=ax)


def lexsort(keys, axis=-1):
    """Indirect stable sort by several keys; the *last* key is the primary one.

    Follows ``numpy.lexsort`` and ``jax.numpy.lexsort``.

    Args:
      keys: a sequence of array_like keys (broadcast together), or a 2-d array whose rows are the
        keys.
      axis: int axis to sort along (static).

    Returns:
      Indices in the default int dtype, of the keys' broadcast shape, that sort them along ``axis``.

    Raises:
      TypeError: if there is no key.
      ValueError: if the keys are 0-d, do not broadcast, or ``axis`` is out of bounds.
    """
    keys = [
        asarray(k)
        for k in (
            keys
            if isinstance(keys, (list, tuple))
            else [keys[i] for i in range(_shape(asarray(keys))[0])]
        )
    ]
    if not keys:
        raise TypeError("lexsort: need at least one key")
    shp = broadcast_shapes(*[_shape(k) for k in keys])
    if len(shp) == 0:
        raise ValueError("lexsort: keys must be at least 1-d")
    keys = [broadcast_to(k, shp) for k in keys]
    ax = canonicalize_axis(axis, len(shp))
    io = ls.broadcasted_iota(dtypes.default_int(), shp, ax)
    return lr.sort(keys[::-1] + [io], ax, num_keys=len(keys))[-1]


@arraylike_args(0)
def sort_complex(a):
    """Sort by real part, then imaginary part, along the last axis; the result is complex.

    Follows ``numpy.sort_complex`` and ``jax.numpy.sort_complex``.

    Args:
      a: array_like input (at least 1-d).

    Returns:
      The sorted values, of ``a``'s shape, in ``a``'s complex dtype (real input is promoted with
      complex64: complex64 for float32 and small ints, complex128 for float64).

    Raises:
      ValueError: if ``a`` is 0-d.
    """
    from funcgrad._src.numpy.indexing import take_along_axis

    a = asarray(a)
    dt = _dtype(a) if _dtype(a).kind == "c" else result_type(_dtype(a), np.complex64)
    a = astype(a, dt)
    return take_along_axis(a, lexsort([imag(a), real(a)], axis=-1), -1)
