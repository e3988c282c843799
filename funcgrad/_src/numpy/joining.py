"""funcgrad.numpy: joining arrays (``concatenate``, ``stack`` and its variants, ``block``),
splitting them (``split``, ``array_split``, ``hsplit``, ``vsplit``), and adding or removing
elements (``append``, ``insert``, ``delete``, ``trim_zeros``)."""

from __future__ import annotations

import builtins

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval
from funcgrad._src.core import Tracer, canonicalize_axis
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.conversion import (
    _concrete_input,
    _dtype,
    _int_indices,
    _promote,
    _shape,
    array,
    asarray,
    astype,
    broadcast_shapes,
    broadcast_to,
)
from funcgrad._src.numpy.creation import full, ones, zeros
from funcgrad._src.numpy.indexing import take
from funcgrad._src.numpy.logic import less, where
from funcgrad._src.numpy.math import clip
from funcgrad._src.numpy.shape import (
    atleast_1d,
    atleast_2d,
    atleast_3d,
    moveaxis,
    ravel,
    reshape,
)


def concatenate(arrays, axis=0, dtype=None):
    """Join arrays along an existing axis (alias ``concat``).

    The arrays are promoted to a common dtype (JAX's rules) first.

    Args:
        arrays: sequence of array_likes of equal rank, equal shapes except along ``axis``.
        axis: the axis to join along; None flattens the arrays first.
        dtype: result dtype; None gives the promoted dtype.

    Returns:
        The joined array.

    Raises:
        ValueError: if ``arrays`` is empty, the arrays are 0-d or differ in rank, or ``axis``
            is out of range.
        TypeError: if the shapes differ off ``axis``.
    """
    arrays = [asarray(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    if axis is None:
        arrays = [ravel(a) for a in arrays]
        axis = 0
    arrays = _promote(*arrays)
    if dtype is not None:
        arrays = [astype(a, dtype) for a in arrays]
    nd = get_aval(arrays[0]).ndim
    if nd == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    for a in arrays:
        if get_aval(a).ndim != nd:
            raise ValueError(
                f"concatenate: all arrays need the same rank, got shapes "
                f"{[_shape(x) for x in arrays]}"
            )
    return lsl.concatenate(arrays, canonicalize_axis(axis, nd))


concat = concatenate


def stack(arrays, axis=0, out=None, dtype=None):
    """Join arrays of the same shape along a new axis.

    Args:
        arrays: sequence of array_likes, all of the same shape.
        axis: position of the new axis in the result.
        out: ignored (arrays are immutable).
        dtype: result dtype; None gives the promoted dtype.

    Returns:
        Array of shape ``shape[:axis] + (len(arrays),) + shape[axis:]``.

    Raises:
        ValueError: if ``arrays`` is empty or the shapes differ.
    """
    arrays = [asarray(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to stack")
    shapes = {_shape(a) for a in arrays}
    if len(shapes) > 1:
        raise ValueError(
            f"stack: all input arrays must have the same shape, got {[_shape(a) for a in arrays]}"
        )
    nd = get_aval(arrays[0]).ndim + 1
    ax = canonicalize_axis(axis, nd)
    return concatenate([ls.expand_dims(a, (ax,)) for a in arrays], ax, dtype)


def hstack(tup, dtype=None):
    """Join arrays horizontally: along axis 1 (axis 0 for 1-d inputs); inputs are made at least 1-d.

    Args:
        tup: sequence of array_likes.
        dtype: result dtype; None gives the promoted dtype.

    Returns:
        The joined array.

    Raises:
        IndexError: if ``tup`` is empty.
        ValueError: if the ranks differ.
        TypeError: if the shapes differ off the joining axis.
    """
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, 0 if get_aval(arrs[0]).ndim == 1 else 1, dtype)


def vstack(tup, dtype=None):
    """Join arrays vertically (alias ``row_stack``): along axis 0; inputs are made at least 2-d.

    Args:
        tup: sequence of array_likes.
        dtype: result dtype; None gives the promoted dtype.

    Returns:
        The joined array.

    Raises:
        ValueError: if ``tup`` is empty or the shapes do not fit.
        TypeError: if the shapes differ off the joining axis.
    """
    return concatenate([atleast_2d(a) for a in tup], 0, dtype)


row_stack = vstack


def dstack(tup, dtype=None):
    """Join arrays depth-wise: along axis 2; inputs are made at least 3-d.

    Args:
        tup: sequence of array_likes.
        dtype: result dtype; None gives the promoted dtype.

    Returns:
        The joined array.

    Raises:
        ValueError: if ``tup`` is empty or the shapes do not fit.
        TypeError: if the shapes differ off the joining axis.
    """
    return concatenate([atleast_3d(a) for a in tup], 2, dtype)


def column_stack(tup):
    """Join 1-d arrays as columns (and 2-d arrays as they are) along axis 1.

    Args:
        tup: sequence of array_likes; 0-d and 1-d ones become columns.

    Returns:
        A 2-d (or higher) array.

    Raises:
        ValueError: if ``tup`` is empty or the shapes do not fit.
        TypeError: if the shapes differ off axis 1.
    """
    arrs = [asarray(a) for a in tup]
    arrs = [reshape(a, (-1, 1)) if get_aval(a).ndim < 2 else a for a in arrs]
    return concatenate(arrs, 1)


def _split_points(n, indices_or_sections, exact):
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError("number of sections must be larger than 0")
        if exact and n % k:
            raise ValueError(f"array split does not result in an equal division: {n} into {k}")
        q, r = builtins.divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
        return list(np.cumsum([0] + sizes))
    pts = [0] + [builtins.min(builtins.max(int(i), 0), n) for i in indices_or_sections] + [n]
    return pts


@arraylike_args(0)
def split(ary, indices_or_sections, axis=0):
    """Split an array into pieces along ``axis``.

    Args:
        ary: input (array_like).
        indices_or_sections: int N (N pieces), or a sequence of split points (static).
        axis: the axis to split.

    Returns:
        A list of arrays.

    Raises:
        ValueError: if N does not divide the axis length, or N <= 0.
    """
    return _split(ary, indices_or_sections, axis, True)


@arraylike_args(0)
def array_split(ary, indices_or_sections, axis=0):
    """Split an array into pieces along ``axis``, allowing unequal pieces.

    With N sections of a length-``l`` axis, the first ``l % N`` pieces are one longer.

    Args:
        ary: input (array_like).
        indices_or_sections: int N (N pieces), or a sequence of split points (static).
        axis: the axis to split.

    Returns:
        A list of arrays.

    Raises:
        ValueError: if N <= 0.
    """
    return _split(ary, indices_or_sections, axis, False)


def _split(ary, ios, axis, exact):
    a = asarray(ary)
    ax = canonicalize_axis(axis, get_aval(a).ndim)
    pts = _split_points(_shape(a)[ax], ios, exact)
    return [lsl.slice_in_dim(a, s, builtins.max(s, e), axis=ax) for s, e in zip(pts[:-1], pts[1:])]


@arraylike_args(0)
def hsplit(a, ios):
    """``split`` along axis 1 (axis 0 for 1-d input).

    Args:
        a: input (array_like).
        ios: int N (N equal pieces), or a sequence of split points (static).

    Returns:
        A list of arrays.

    Raises:
        ValueError: if N does not divide the axis length, or N <= 0.
    """
    return split(a, ios, 1 if get_aval(asarray(a)).ndim > 1 else 0)


@arraylike_args(0)
def vsplit(a, ios):
    """``split`` along axis 0.

    Args:
        a: input (array_like).
        ios: int N (N equal pieces), or a sequence of split points (static).

    Returns:
        A list of arrays.

    Raises:
        ValueError: if N does not divide the axis length, or N <= 0.
    """
    return split(a, ios, 0)


def block(arrays):
    """Assemble an array from nested lists of blocks (numpy's ``block``).

    The innermost lists are joined along the last axis, the next level along the second to
    last, and so on; blocks are first made at least as many-dimensional as the nesting.

    Args:
        arrays: nested lists of array_likes (lists, not tuples), all at the same depth.

    Returns:
        The assembled array.

    Raises:
        TypeError: if tuples are used for nesting.
        ValueError: if a list is empty or the depths differ.
    """

    def depth(x):
        if isinstance(x, tuple):
            raise TypeError("block: use lists, not tuples, to nest blocks")
        if isinstance(x, list):
            if not x:
                raise ValueError("block: lists cannot be empty")
            ds = {depth(y) for y in x}
            if len(ds) != 1:
                raise ValueError("block: list depths are mismatched")
            return ds.pop() + 1
        return 0

    d = depth(arrays)

    def leaves(x):
        return [y for z in x for y in leaves(z)] if isinstance(x, list) else [asarray(x)]

    nd = builtins.max([d] + [get_aval(x).ndim for x in leaves(arrays)])

    def build(x, level):
        if not isinstance(x, list):
            return array(x, ndmin=nd)
        parts = [build(y, level + 1) for y in x]
        return concatenate(parts, axis=-(d - level))

    if d == 0:
        return array(arrays, ndmin=0)
    return build(arrays, 0)


@arraylike_args(0, 1)
def append(arr, values, axis=None):
    """Values appended at the end of ``arr`` along ``axis`` (flattened when ``axis`` is None).

    Args:
        arr: input (array_like).
        values: array_like to append; with an axis, of ``arr``'s shape off that axis.
        axis: the axis to append along; None flattens both first.

    Returns:
        The concatenation, with the promoted dtype.

    Raises:
        ValueError: if the ranks differ.
        TypeError: if the shapes differ off ``axis``.
    """
    if axis is None:
        return concatenate([ravel(asarray(arr)), ravel(asarray(values))])
    return concatenate([asarray(arr), asarray(values)], axis=axis)


def _obj_indices(obj, n, name):
    if isinstance(obj, slice):
        return np.arange(*obj.indices(n)), False
    v = asarray(obj)
    if get_aval(v).ndim > 1:
        raise ValueError(
            f"{name}: obj must be a slice, a scalar or a 1-d array of indices, "
            f"got shape {_shape(v)}"
        )
    if not dtypes.is_int(_dtype(v)) and get_aval(v).size:
        raise ValueError(f"{name}: index array must be integer typed, got {_dtype(v)}")
    return v, True


def insert(arr, obj, values, axis=None):
    """Insert ``values`` before the index or indices ``obj`` along ``axis``.

    ``obj`` may be traced (its number of indices is static), as in ``jax.numpy.insert``.

    Args:
        arr: input (array_like).
        obj: an int, a slice, or a 1-d integer array of indices (negative ones count from the
            end; indices are clipped to ``[0, n]``).
        values: array_like, converted to ``arr``'s dtype and broadcast to the inserted block.
        axis: the axis to insert along; None flattens ``arr`` first.

    Returns:
        Array with the values inserted, with the dtype of ``arr``.

    Raises:
        ValueError: if ``obj`` is more than 1-d or not integer.
    """
    from funcgrad._src.numpy.ranges import arange
    from funcgrad._src.numpy.sorting import argsort, nonzero

    a = asarray(arr)
    if axis is None:
        a, axis = ravel(a), 0
    ax = canonicalize_axis(axis, get_aval(a).ndim)
    n = _shape(a)[ax]
    idx, _ = _obj_indices(obj, n, "insert")
    idx = asarray(idx)
    if get_aval(idx).size == 0:
        idx = astype(idx, dtypes.default_int())
    vals = array(values, dtype=_dtype(a), ndmin=get_aval(a).ndim)
    if get_aval(idx).size == 1:
        if get_aval(idx).ndim == 0:
            vals = moveaxis(vals, 0, ax)
        idx = full(_shape(vals)[ax], ravel(idx)[0])
    k = broadcast_shapes(_shape(idx), (_shape(vals)[ax],))[0]
    idx = astype(idx, dtypes.default_int())
    idx = clip(where(less(idx, 0), idx + n, idx), 0, n)
    pos = idx.at[argsort(idx)].add(arange(k, dtype=_dtype(idx)))
    keep = ones(n + k, np.bool_).at[pos].set(False)
    (arr_pos,) = nonzero(keep, size=n)
    out_shape = list(_shape(a))
    out_shape[ax] = n + k
    vshape = list(_shape(a))
    vshape[ax] = k
    vals = broadcast_to(vals, tuple(vshape))
    lead = (slice(None),) * ax
    out = zeros(tuple(out_shape), _dtype(a))
    out = out.at[lead + (pos,)].set(vals)
    return out.at[lead + (arr_pos,)].set(a)


@arraylike_args(0, 1)
def delete(arr, obj, axis=None, *, assume_unique_indices=False):
    """Remove the entries at ``obj`` along ``axis`` (flattened when ``axis`` is None).

    ``obj`` must be concrete unless ``assume_unique_indices=True`` (in-range, unique indices),
    JAX's rule: the output size depends on it.

    Args:
        arr: input (array_like).
        obj: an int, a slice, or a 1-d integer array of indices (negative ones count from the
            end).
        axis: the axis to delete along; None flattens ``arr`` first.
        assume_unique_indices: promise that a traced ``obj`` holds unique in-range indices.

    Returns:
        Array with the entries removed.

    Raises:
        IndexError: if a concrete index is out of range.
        ValueError: if ``obj`` is boolean, more than 1-d, or not integer.
        TypeError: if ``obj`` is traced and ``assume_unique_indices`` is False.
    """
    from funcgrad._src.numpy.sorting import nonzero

    a = asarray(arr)
    if axis is None:
        a, axis = ravel(a), 0
    ax = canonicalize_axis(axis, get_aval(a).ndim)
    n = _shape(a)[ax]
    idx, _ = _obj_indices(obj, n, "delete")
    if isinstance(idx, np.ndarray) or not isinstance(idx, Tracer):
        iv = np.asarray(idx)
        if iv.dtype == np.bool_:
            raise ValueError("delete: boolean obj is not supported; use arr[~mask]")
        iv = iv.astype(np.int64).ravel()
        if iv.size and (iv.min() < -n or iv.max() >= n):
            raise IndexError(
                f"delete: index out of bounds for axis {ax} with size {n}: {iv.tolist()}"
            )
        keep = np.ones(n, bool)
        keep[iv] = False
        return take(a, _int_indices(np.nonzero(keep)[0]), axis=ax)
    if not assume_unique_indices:
        raise TypeError(
            "delete: traced obj needs assume_unique_indices=True (unique, "
            "in-range indices), because the output size depends on it"
        )
    k = get_aval(idx).size
    idx = ravel(astype(idx, dtypes.default_int()))
    idx = where(less(idx, 0), idx + n, idx)
    keep = ones(n, np.bool_).at[idx].set(False)
    (kept,) = nonzero(keep, size=n - k)
    return take(a, kept, axis=ax)


@arraylike_args(0)
def trim_zeros(filt, trim="fb"):
    """Strip leading (``'f'``) and/or trailing (``'b'``) zeros of a 1-d array.

    The result's length depends on the values, so ``filt`` must be concrete.

    Args:
        filt: a 1-d array_like.
        trim: ``'f'``, ``'b'`` or ``'fb'`` (both).

    Returns:
        A 1-d slice of ``filt``.

    Raises:
        ValueError: if ``filt`` is not 1-d.
        TypeError: if ``filt`` is traced.
    """
    v = _concrete_input(asarray(filt), "trim_zeros", "filt")
    if v.ndim != 1:
        raise ValueError(f"trim_zeros: filt must be 1-d, got shape {v.shape}")
    nz = np.nonzero(v)[0]
    if nz.size == 0:
        return asarray(filt)[0:0]
    start = int(nz[0]) if "f" in trim.lower() else 0
    stop = int(nz[-1]) + 1 if "b" in trim.lower() else v.size
    return asarray(filt)[start:stop]
