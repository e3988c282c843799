"""funcgrad.numpy: index helpers (``tril_indices``, ``diag_indices``, ``ix_``,
``fill_diagonal``) and the index-expression objects ``r_``, ``c_``, ``s_``, ``index_exp``."""

from __future__ import annotations

import builtins

import numpy as np

from funcgrad._src.array import get_aval
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.conversion import _dtype, _int_indices, _shape, array, asarray, astype
from funcgrad._src.numpy.creation import zeros
from funcgrad._src.numpy.indexing import take
from funcgrad._src.numpy.joining import concatenate
from funcgrad._src.numpy.ranges import arange, linspace
from funcgrad._src.numpy.shape import moveaxis, ravel, transpose
from funcgrad._src.numpy.sorting import nonzero


def tril_indices(n, k=0, m=None):
    """Row and column indices of the lower triangle of an ``(n, m)`` array.

    Args:
        n: number of rows (static int).
        k: diagonal offset: the triangle includes diagonal ``k`` (positive above the main one).
        m: number of columns (static int); None gives ``n``.

    Returns:
        A pair ``(rows, cols)`` of 1-d arrays of the default integer dtype.
    """
    return tuple(_int_indices(i) for i in np.tril_indices(n, k, m))


def triu_indices(n, k=0, m=None):
    """Row and column indices of the upper triangle of an ``(n, m)`` array.

    Args:
        n: number of rows (static int).
        k: diagonal offset: the triangle includes diagonal ``k`` (positive above the main one).
        m: number of columns (static int); None gives ``n``.

    Returns:
        A pair ``(rows, cols)`` of 1-d arrays of the default integer dtype.
    """
    return tuple(_int_indices(i) for i in np.triu_indices(n, k, m))


def _check_2d(name, arr):
    if np.ndim(arr) != 2:
        raise ValueError(f"{name}: input array must be 2-d, got shape {np.shape(arr)}")


@arraylike_args(0)
def tril_indices_from(arr, k=0):
    """``tril_indices`` for the shape of the 2-d ``arr``.

    Args:
        arr: a 2-d array (only its shape is used).
        k: diagonal offset, as in ``tril_indices``.

    Returns:
        A pair ``(rows, cols)`` of 1-d integer arrays.

    Raises:
        ValueError: if ``arr`` is not 2-d.
    """
    _check_2d("tril_indices_from", arr)
    return tril_indices(np.shape(arr)[0], k, np.shape(arr)[1])


@arraylike_args(0)
def triu_indices_from(arr, k=0):
    """``triu_indices`` for the shape of the 2-d ``arr``.

    Args:
        arr: a 2-d array (only its shape is used).
        k: diagonal offset, as in ``triu_indices``.

    Returns:
        A pair ``(rows, cols)`` of 1-d integer arrays.

    Raises:
        ValueError: if ``arr`` is not 2-d.
    """
    _check_2d("triu_indices_from", arr)
    return triu_indices(np.shape(arr)[0], k, np.shape(arr)[1])


def diag_indices(n, ndim=2):
    """``ndim`` copies of ``arange(n)``: the main-diagonal indices of an ``n``^``ndim`` array.

    Args:
        n: side length (static int).
        ndim: number of dimensions.

    Returns:
        A tuple of ``ndim`` identical 1-d integer arrays.

    Raises:
        ValueError: if ``n`` or ``ndim`` is negative.
    """
    if n < 0 or ndim < 0:
        raise ValueError(f"diag_indices: n and ndim must be non-negative, got {n}, {ndim}")
    return (_int_indices(np.arange(n)),) * ndim


@arraylike_args(0)
def diag_indices_from(arr):
    """``diag_indices`` for ``arr``, whose dimensions must all be equal (at least 2).

    Args:
        arr: an array (only its shape is used).

    Returns:
        A tuple of ``arr.ndim`` identical 1-d integer arrays.

    Raises:
        ValueError: if ``arr`` is less than 2-d or its sides differ.
    """
    s = np.shape(arr)
    if len(s) < 2 or len(set(s)) != 1:
        raise ValueError(
            f"diag_indices_from: input must be at least 2-d with equal sides, got shape {s}"
        )
    return diag_indices(s[0], len(s))


def fill_diagonal(a, val, wrap=False, *, inplace=True):
    """The array with its main diagonal set to ``val``; call it with ``inplace=False``.

    As in JAX, arrays are immutable, so the default ``inplace=True`` raises: the new array is
    returned instead.

    Args:
        a: array_like, at least 2-d; with more than 2 dimensions, all sides equal.
        val: scalar or array_like, cast to ``a``'s dtype; its flattened values are repeated
            along the diagonal.
        wrap: for tall 2-d arrays, continue the diagonal every ``ncols + 1`` rows (numpy).
        inplace: must be False.

    Returns:
        Array of the shape and dtype of ``a``.

    Raises:
        ValueError: if ``inplace`` is True, ``a`` is less than 2-d, or an n-d ``a`` has unequal
            sides.
    """
    if inplace:
        raise ValueError(
            "fill_diagonal: funcgrad arrays are immutable; call "
            "fill_diagonal(a, val, inplace=False) and use the returned array"
        )
    a = asarray(a)
    s = _shape(a)
    if len(s) < 2:
        raise ValueError(f"fill_diagonal: array must be at least 2-d, got shape {s}")
    if len(s) > 2 and len(set(s)) != 1:
        raise ValueError(
            f"fill_diagonal: all dimensions of an n-d input must be equal, got shape {s}"
        )
    if len(s) > 2:
        m = s[0]
        step = sum(m**i for i in range(len(s)))
        flat_idx = np.arange(m) * step
    else:
        nrow, ncol = s
        end = nrow * ncol if wrap else builtins.min(nrow, ncol) * ncol
        flat_idx = np.arange(0, end, ncol + 1)
    k = flat_idx.size
    v = ravel(astype(asarray(val), _dtype(a)))
    nv = _shape(v)[0]
    if nv == 0:
        return a
    v = take(v, _int_indices(np.arange(k) % nv)) if nv != k else v
    flat = ravel(a).at[_int_indices(flat_idx)].set(v)
    return ls.reshape(flat, s)


@arraylike_args(0, 1)
def ix_(*args):
    """Open mesh of 1-d index arrays, for cross-product indexing ``x[ix_(rows, cols)]``.

    Boolean arrays become the indices of their True entries (concrete masks only).

    Args:
        *args: 1-d integer or bool array_likes.

    Returns:
        A tuple of arrays; the ``i``-th has shape ``(1, ..., len(args[i]), ..., 1)``.

    Raises:
        ValueError: if an argument is not 1-d.
    """
    out = []
    n = len(args)
    for i, x in enumerate(args):
        x = asarray(x)
        if get_aval(x).ndim != 1:
            raise ValueError(f"ix_: arguments must be 1-d, got shape {_shape(x)}")
        if _dtype(x) == np.bool_:
            (x,) = nonzero(x)
        shp = [1] * n
        shp[i] = _shape(x)[0]
        out.append(ls.reshape(x, tuple(shp)))
    return tuple(out)


s_ = np.s_
index_exp = np.index_exp


class _Concat:
    """``r_`` / ``c_``: slices (``a:b:c``, or ``a:b:nj`` for linspace), arrays and scalars,
    optionally after a directive string 'axis[,ndmin[,trans1d]]'."""

    def __init__(self, axis, ndmin, trans1d):
        self.defaults = (axis, ndmin, trans1d)

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        axis, ndmin, trans1d = self.defaults
        items = []
        for j, item in enumerate(key):
            if isinstance(item, str):
                if j != 0:
                    raise ValueError("r_/c_: a directive string must come first")
                if item in ("r", "c"):
                    raise NotImplementedError(
                        "r_/c_: the 'r'/'c' matrix directives are not supported"
                    )
                vals = [int(p) for p in item.split(",")]
                axis = vals[0]
                if len(vals) > 1:
                    ndmin = vals[1]
                if len(vals) > 2:
                    trans1d = vals[2]
                continue
            if isinstance(item, slice):
                start = 0 if item.start is None else item.start
                step = 1 if item.step is None else item.step
                if isinstance(step, complex):
                    arr = linspace(start, item.stop, int(abs(step)))
                else:
                    arr = arange(start, item.stop, step)
                arr = array(arr, ndmin=ndmin)
                if ndmin > 1 and trans1d != -1:
                    arr = moveaxis(arr, -1, trans1d)
            else:
                arr = asarray(item)
                nd0 = get_aval(arr).ndim
                arr = array(arr, ndmin=ndmin)
                if trans1d != -1 and nd0 < ndmin:
                    k2 = ndmin - nd0
                    k1 = trans1d + k2 + 1 if trans1d < 0 else trans1d
                    d = list(range(ndmin))
                    arr = transpose(arr, d[:k1] + d[k2:] + d[k1:k2])
            items.append(arr)
        if not items:
            return zeros(0)
        return concatenate(items, axis=axis)


r_ = _Concat(0, 1, -1)
c_ = _Concat(-1, 2, 0)
