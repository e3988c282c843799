"""funcgrad.numpy: shape manipulation (reshaping, transposing, joining, splitting, tiling,
padding, flipping, rolling, diagonals and triangles; ``append``/``insert``/``delete``)."""

from __future__ import annotations

import builtins
import operator

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval
from funcgrad._src.core import Tracer, ValueTypeError, canonicalize_axis
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy.conversion import (
    _broadcast,
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
from funcgrad._src.numpy.creation import full, ones, tri, zeros, zeros_like
from funcgrad._src.numpy.indexing import _gather_pairs, take
from funcgrad._src.numpy.logic import less, where
from funcgrad._src.numpy.math import clip


def reshape(a, newshape=None, order="C", *, shape=None):
    a = asarray(a)
    newshape = shape if newshape is None else newshape
    if order != "C":
        raise NotImplementedError("reshape supports order='C' only")
    if isinstance(newshape, (int, np.integer)):
        newshape = (newshape,)
    newshape = [operator.index(s) for s in newshape]
    size = get_aval(a).size
    if newshape.count(-1) > 1:
        raise ValueError("reshape: can only specify one unknown dimension (-1)")
    if -1 in newshape:
        known = int(np.prod([s for s in newshape if s != -1], dtype=np.int64))
        if known == 0 or size % known:
            raise ValueTypeError(
                f"cannot reshape array of shape {_shape(a)} (size {size}) into "
                f"shape {tuple(newshape)}"
            )
        newshape[newshape.index(-1)] = size // known
    if int(np.prod(newshape, dtype=np.int64)) != size:
        raise ValueTypeError(
            f"cannot reshape array of shape {_shape(a)} (size {size}) into shape {tuple(newshape)}"
        )
    return ls.reshape(a, tuple(newshape))


def transpose(a, axes=None):
    a = asarray(a)
    nd = get_aval(a).ndim
    if axes is None:
        axes = tuple(range(nd))[::-1]
    axes = tuple(canonicalize_axis(x, nd) for x in axes)
    if sorted(axes) != list(range(nd)):
        raise ValueError(f"transpose: axes {axes} don't match an array of rank {nd}")
    return ls.transpose(a, axes)


permute_dims = transpose


def matrix_transpose(x):
    return swapaxes(x, -1, -2)


def moveaxis(a, source, destination):
    a = asarray(a)
    nd = get_aval(a).ndim
    src = [canonicalize_axis(s, nd) for s in np.atleast_1d(source)]
    dst = [canonicalize_axis(d, nd) for d in np.atleast_1d(destination)]
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination need the same number of axes")
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return ls.transpose(a, tuple(order))


def swapaxes(a, axis1, axis2):
    a = asarray(a)
    nd = get_aval(a).ndim
    perm = list(range(nd))
    i, j = canonicalize_axis(axis1, nd), canonicalize_axis(axis2, nd)
    perm[i], perm[j] = perm[j], perm[i]
    return ls.transpose(a, tuple(perm))


def expand_dims(a, axis):
    a = asarray(a)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return ls.expand_dims(a, axes)


def squeeze(a, axis=None):
    a = asarray(a)
    shape = _shape(a)
    if axis is None:
        axes = tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        axes = tuple(canonicalize_axis(x, len(shape)) for x in axes)
        bad = [x for x in axes if shape[x] != 1]
        if bad:
            raise ValueError(
                f"cannot select an axis to squeeze out which has size not equal "
                f"to one (shape {shape}, axis {bad[0]})"
            )
    return ls.squeeze(a, axes)


def atleast_1d(*arys):
    out = [reshape(a, (1,)) if get_aval(asarray(a)).ndim == 0 else asarray(a) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    out = []
    for a in arys:
        a = asarray(a)
        nd = get_aval(a).ndim
        out.append(reshape(a, (1,) * (2 - nd) + _shape(a)) if nd < 2 else a)
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys):
    out = []
    for a in arys:
        a = asarray(a)
        s = _shape(a)
        if len(s) == 0:
            a = reshape(a, (1, 1, 1))
        elif len(s) == 1:
            a = reshape(a, (1, s[0], 1))
        elif len(s) == 2:
            a = reshape(a, s + (1,))
        out.append(a)
    return out[0] if len(out) == 1 else out


def broadcast_arrays(*args):
    return _broadcast(*[asarray(a) for a in args])


def concatenate(arrays, axis=0, dtype=None):
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
    return ls.concatenate(arrays, canonicalize_axis(axis, nd))


concat = concatenate


def stack(arrays, axis=0, out=None, dtype=None):
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
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, 0 if get_aval(arrs[0]).ndim == 1 else 1, dtype)


def vstack(tup, dtype=None):
    return concatenate([atleast_2d(a) for a in tup], 0, dtype)


row_stack = vstack


def dstack(tup, dtype=None):
    return concatenate([atleast_3d(a) for a in tup], 2, dtype)


def column_stack(tup):
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


def split(ary, indices_or_sections, axis=0):
    return _split(ary, indices_or_sections, axis, True)


def array_split(ary, indices_or_sections, axis=0):
    return _split(ary, indices_or_sections, axis, False)


def _split(ary, ios, axis, exact):
    a = asarray(ary)
    ax = canonicalize_axis(axis, get_aval(a).ndim)
    pts = _split_points(_shape(a)[ax], ios, exact)
    return [ls.slice_in_dim(a, s, builtins.max(s, e), axis=ax) for s, e in zip(pts[:-1], pts[1:])]


def hsplit(a, ios):
    return split(a, ios, 1 if get_aval(asarray(a)).ndim > 1 else 0)


def vsplit(a, ios):
    return split(a, ios, 0)


def tile(A, reps):
    a = asarray(A)
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    nd = builtins.max(len(reps), get_aval(a).ndim)
    a = reshape(a, (1,) * (nd - get_aval(a).ndim) + _shape(a))
    reps = (1,) * (nd - len(reps)) + reps
    shape = _shape(a)
    expanded = []
    for r, s in zip(reps, shape):
        expanded += [r, s]
    b = ls.broadcast_in_dim(a, tuple(expanded), tuple(range(1, 2 * nd, 2)))
    return reshape(b, tuple(r * s for r, s in zip(reps, shape)))


def repeat(a, repeats, axis=None, total_repeat_length=None):
    a = asarray(a)
    if axis is None:
        a = ravel(a)
        axis = 0
    ax = canonicalize_axis(axis, get_aval(a).ndim)
    if isinstance(repeats, Tracer):
        raise TypeError("repeat needs concrete repeats (the output size must be known)")
    reps = np.asarray(repeats)
    n = _shape(a)[ax]
    if reps.ndim == 0:
        r = int(reps)
        shape = _shape(a)
        b = ls.broadcast_in_dim(
            ls.expand_dims(a, (ax + 1,)),
            shape[: ax + 1] + (r,) + shape[ax + 1 :],
            tuple(range(len(shape) + 1)),
        )
        return reshape(b, shape[:ax] + (n * r,) + shape[ax + 1 :])
    idx = np.repeat(np.arange(n), reps)
    return take(a, asarray(idx.astype(np.int32)), axis=ax)


def pad(array, pad_width, mode="constant", constant_values=0, **kwargs):
    a = asarray(array)
    nd = get_aval(a).ndim
    pw = np.broadcast_to(
        np.asarray(pad_width, dtype=np.int64).reshape((-1, 2) if np.ndim(pad_width) else (1, 1)),
        (nd, 2),
    )
    if mode == "constant":
        cv = (
            np.broadcast_to(np.asarray(constant_values), (nd, 2))
            if np.ndim(constant_values)
            else None
        )
        if cv is None or np.all(cv == cv.flat[0]):
            val = constant_values if cv is None else cv.flat[0]
            return ls.pad(
                a, asarray(val, get_aval(a).dtype), tuple((int(lo), int(hi), 0) for lo, hi in pw)
            )
        for d in range(nd):
            a = _pad_axis_const(a, d, pw[d], cv[d])
        return a
    if mode in ("edge", "reflect", "symmetric", "wrap"):
        for d in range(nd):
            a = _pad_axis_index(a, d, int(pw[d][0]), int(pw[d][1]), mode)
        return a
    raise NotImplementedError(
        f"pad mode {mode!r} (supported: constant, edge, reflect, symmetric, wrap)"
    )


def _pad_axis_const(a, d, pw, cv):
    cfg = [(0, 0, 0)] * get_aval(a).ndim
    cfg[d] = (int(pw[0]), 0, 0)
    a = ls.pad(a, asarray(cv[0], get_aval(a).dtype), tuple(cfg))
    cfg[d] = (0, int(pw[1]), 0)
    return ls.pad(a, asarray(cv[1], get_aval(a).dtype), tuple(cfg))


def _pad_axis_index(a, d, lo, hi, mode):
    n = _shape(a)[d]
    idx = np.arange(-lo, n + hi)
    if mode == "edge":
        idx = np.clip(idx, 0, n - 1)
    elif mode == "wrap":
        idx = idx % n
    else:
        period = 2 * n - 2 if mode == "reflect" else 2 * n
        idx = np.abs(idx) if mode == "reflect" else idx
        m = idx % period if period else np.zeros_like(idx)
        if mode == "reflect":
            idx = np.where(m < n, m, period - m)
        else:
            idx = np.where(m < n, m, period - 1 - m)
    return take(a, asarray(idx.astype(np.int32)), axis=d)


def flip(m, axis=None):
    m = asarray(m)
    nd = get_aval(m).ndim
    axes = tuple(range(nd)) if axis is None else ((axis,) if isinstance(axis, int) else axis)
    return ls.rev(m, tuple(canonicalize_axis(a, nd) for a in axes))


def fliplr(m):
    return flip(m, 1)


def flipud(m):
    return flip(m, 0)


def roll(a, shift, axis=None):
    a = asarray(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), _shape(a))
    shifts = np.atleast_1d(shift)
    axes = np.atleast_1d(axis)
    shifts, axes = np.broadcast_arrays(shifts, axes)
    for s, ax in zip(shifts, axes):
        ax = canonicalize_axis(int(ax), get_aval(a).ndim)
        n = _shape(a)[ax]
        if n == 0:
            continue
        s = int(s) % n
        if s:
            a = concatenate(
                [ls.slice_in_dim(a, n - s, n, axis=ax), ls.slice_in_dim(a, 0, n - s, axis=ax)], ax
            )
    return a


def rot90(m, k=1, axes=(0, 1)):
    m = asarray(m)
    k = k % 4
    a0, a1 = axes
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    perm = list(range(get_aval(m).ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose(flip(m, a1), perm)
    return flip(transpose(m, perm), a1)


def diagonal(a, offset=0, axis1=0, axis2=1):
    a = asarray(a)
    nd = get_aval(a).ndim
    a1, a2 = canonicalize_axis(axis1, nd), canonicalize_axis(axis2, nd)
    a = moveaxis(a, (a1, a2), (-2, -1))
    n, m = _shape(a)[-2:]
    i = np.arange(
        builtins.max(0, builtins.min(n, m - offset) if offset >= 0 else builtins.min(n + offset, m))
    )
    rows, cols = (i, i + offset) if offset >= 0 else (i - offset, i)
    return _gather_pairs(a, rows.astype(np.int32), cols.astype(np.int32))


def diag(v, k=0):
    v = asarray(v)
    s = _shape(v)
    if len(s) == 1:
        n = s[0] + builtins.abs(k)

        i = np.arange(s[0])
        rows, cols = (i, i + k) if k >= 0 else (i - k, i)
        out = zeros((n, n), get_aval(v).dtype)
        return out.at[asarray(rows.astype(np.int32)), asarray(cols.astype(np.int32))].set(v)
    if len(s) == 2:
        return diagonal(v, k)
    raise ValueError("diag input must be 1-d or 2-d")


def diagflat(v, k=0):
    return diag(ravel(v), k)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    from funcgrad._src.numpy.reductions import sum

    return sum(diagonal(a, offset, axis1, axis2), -1, dtype)


def _tri_mask(shape, k, upper):
    n, m = shape[-2:]
    t = tri(n, m, k - 1 if upper else k, dtype=bool)
    return le.bitwise_not(t) if upper else t


def tril(m, k=0):
    m = asarray(m)
    mask = broadcast_to(_tri_mask(_shape(m), k, False), _shape(m))
    return where(mask, m, zeros_like(m))


def triu(m, k=0):
    m = asarray(m)
    mask = broadcast_to(_tri_mask(_shape(m), k, True), _shape(m))
    return where(mask, m, zeros_like(m))


def shape(a):
    return _shape(asarray(a))


def ndim(a):
    return get_aval(asarray(a)).ndim


def size(a, axis=None):
    s = _shape(asarray(a))
    return int(np.prod(s, dtype=np.int64)) if axis is None else s[axis]


def ravel(x, order="C"):
    x = asarray(x)
    return ls.reshape(x, (get_aval(x).size,))


def rollaxis(a, axis, start=0):
    """Roll ``axis`` backwards until it lies before ``start`` (use moveaxis in new code)."""
    a = asarray(a)
    nd = get_aval(a).ndim
    axis = canonicalize_axis(axis, nd)
    if not -nd <= start <= nd:
        raise ValueError(f"rollaxis: start {start} out of range for a {nd}-d array")
    if start < 0:
        start += nd
    if axis < start:
        start -= 1
    return moveaxis(a, axis, start)


def block(arrays):
    """Assemble an array from nested lists of blocks (numpy's ``block``)."""

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


def append(arr, values, axis=None):
    """Values appended at the end (flattened when ``axis`` is None)."""
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
    """Insert ``values`` before the index/indices ``obj`` along ``axis`` (flattened when None).
    ``obj`` may be traced (the number of indices is static)."""
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


def delete(arr, obj, axis=None, *, assume_unique_indices=False):
    """Remove the entries at ``obj`` along ``axis`` (flattened when None). ``obj`` must be
    concrete unless ``assume_unique_indices=True`` (in-range, unique indices; JAX's rule)."""
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


def trim_zeros(filt, trim="fb"):
    """Strip leading ('f') and/or trailing ('b') zeros of a 1-d array (concrete only)."""
    v = _concrete_input(asarray(filt), "trim_zeros", "filt")
    if v.ndim != 1:
        raise ValueError(f"trim_zeros: filt must be 1-d, got shape {v.shape}")
    nz = np.nonzero(v)[0]
    if nz.size == 0:
        return asarray(filt)[0:0]
    start = int(nz[0]) if "f" in trim.lower() else 0
    stop = int(nz[-1]) + 1 if "b" in trim.lower() else v.size
    return asarray(filt)[start:stop]
