"""funcgrad.numpy: shape manipulation (reshaping, transposing, adding and removing axes,
tiling, padding, flipping, rolling, diagonals and triangles). Joining and splitting arrays,
``append``/``insert``/``delete``, are in ``joining.py``."""

from __future__ import annotations

import builtins
import operator

import numpy as np

from funcgrad._src.array import get_aval
from funcgrad._src.core import Tracer, ValueTypeError, canonicalize_axis
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.conversion import (
    _broadcast,
    _shape,
    asarray,
    broadcast_to,
)
from funcgrad._src.numpy.creation import tri, zeros, zeros_like
from funcgrad._src.numpy.indexing import _gather_pairs, take
from funcgrad._src.numpy.logic import where


@arraylike_args(0)
def reshape(a, newshape=None, order="C", *, shape=None):
    """``a`` with a new shape and the same data, in row-major (C) order.

    Args:
        a: input (array_like).
        newshape: int or sequence of ints (static); one entry may be -1 (inferred).
        order: only ``'C'`` is supported.
        shape: the new shape by its newer keyword name (used when ``newshape`` is None).

    Returns:
        Array of the new shape with the dtype of ``a``.

    Raises:
        ValueError: if the sizes differ or more than one entry is -1 (a ``ValueTypeError``,
            also a ``TypeError``, for sizes).
        NotImplementedError: if ``order`` is not ``'C'``.
    """
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


@arraylike_args(0)
def transpose(a, axes=None):
    """``a`` with its axes permuted (alias ``permute_dims``).

    Args:
        a: input (array_like).
        axes: permutation of ``range(a.ndim)`` (negative axes allowed); None reverses the axes.

    Returns:
        Array of shape ``[a.shape[i] for i in axes]``.

    Raises:
        ValueError: if ``axes`` is not a permutation of the axes of ``a``.
    """
    a = asarray(a)
    nd = get_aval(a).ndim
    if axes is None:
        axes = tuple(range(nd))[::-1]
    axes = tuple(canonicalize_axis(x, nd) for x in axes)
    if sorted(axes) != list(range(nd)):
        raise ValueTypeError(f"transpose: axes {axes} don't match an array of rank {nd}")
    return ls.transpose(a, axes)


permute_dims = transpose


@arraylike_args(0)
def matrix_transpose(x):
    """Swap the last two axes (a batch of matrices transposed).

    Args:
        x: array_like with at least 2 dimensions.

    Returns:
        Array with the last two axes swapped.

    Raises:
        ValueError: if ``x`` has fewer than 2 dimensions.
    """
    return swapaxes(x, -1, -2)


def moveaxis(a, source, destination):
    """Move axes of ``a`` to new positions; the other axes keep their order.

    Args:
        a: input (array_like).
        source: int or sequence of ints: the axes to move.
        destination: int or sequence of ints: their new positions.

    Returns:
        Array with the axes moved.

    Raises:
        ValueError: if ``source`` and ``destination`` differ in length or an axis is out of
            range.
    """
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
    """Interchange two axes of ``a``.

    Args:
        a: input (array_like).
        axis1: first axis.
        axis2: second axis.

    Returns:
        Array with the two axes swapped.

    Raises:
        ValueError: if an axis is out of range.
    """
    a = asarray(a)
    nd = get_aval(a).ndim
    perm = list(range(nd))
    i, j = canonicalize_axis(axis1, nd), canonicalize_axis(axis2, nd)
    perm[i], perm[j] = perm[j], perm[i]
    return ls.transpose(a, tuple(perm))


@arraylike_args(0)
def expand_dims(a, axis):
    """Insert size-1 axes at the positions ``axis`` of the result.

    Args:
        a: input (array_like).
        axis: int or tuple of ints, positions in the result (negative counts from its end).

    Returns:
        Array with ``len(axis)`` more dimensions.

    Raises:
        ValueError: if a position is out of range for the result.
    """
    a = asarray(a)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return ls.expand_dims(a, axes)


@arraylike_args(0)
def squeeze(a, axis=None):
    """Remove size-1 axes.

    Args:
        a: input (array_like).
        axis: int or tuple of ints to remove; None removes every size-1 axis.

    Returns:
        Array without those axes.

    Raises:
        ValueError: if a selected axis does not have size 1, or is out of range.
    """
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


@arraylike_args(0, 1)
def atleast_1d(*arys):
    """The inputs as arrays with at least 1 dimension.

    Follows ``numpy.atleast_1d``: 0-d inputs become shape ``(1,)``.

    Args:
        *arys: array_likes.

    Returns:
        One array for one input, else a list of arrays.
    """
    out = [reshape(a, (1,)) if get_aval(asarray(a)).ndim == 0 else asarray(a) for a in arys]
    return out[0] if len(out) == 1 else out


@arraylike_args(0, 1)
def atleast_2d(*arys):
    """The inputs as arrays with at least 2 dimensions.

    Follows ``numpy.atleast_2d``: missing leading axes are added with size 1.

    Args:
        *arys: array_likes.

    Returns:
        One array for one input, else a list of arrays.
    """
    out = []
    for a in arys:
        a = asarray(a)
        nd = get_aval(a).ndim
        out.append(reshape(a, (1,) * (2 - nd) + _shape(a)) if nd < 2 else a)
    return out[0] if len(out) == 1 else out


@arraylike_args(0, 1)
def atleast_3d(*arys):
    """The inputs as arrays with at least 3 dimensions.

    Follows ``numpy.atleast_3d``: ``(n,)`` becomes ``(1, n, 1)``, ``(m, n)`` becomes
    ``(m, n, 1)``.

    Args:
        *arys: array_likes.

    Returns:
        One array for one input, else a list of arrays.
    """
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


@arraylike_args(0, 1)
def broadcast_arrays(*args):
    """The arguments broadcast against each other.

    Args:
        *args: array_likes.

    Returns:
        A list of arrays of the common broadcast shape (each keeps its dtype).

    Raises:
        ValueError: if the shapes cannot be broadcast together.
    """
    return _broadcast(*[asarray(a) for a in args])


@arraylike_args(0)
def tile(A, reps):
    """Repeat the whole array ``reps`` times along each axis (numpy's ``tile``).

    Args:
        A: input (array_like).
        reps: int or tuple of ints (static); ``A`` or ``reps`` is padded with leading 1s to
            the same length.

    Returns:
        Array of shape ``A.shape * reps`` (after that padding).
    """
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


@arraylike_args(0, 1)
def repeat(a, repeats, axis=None, total_repeat_length=None):
    """Repeat each element ``repeats`` times along ``axis``.

    Args:
        a: input (array_like).
        repeats: int, or array of ints (one per element along ``axis``); must be concrete.
        axis: the axis to repeat along; None flattens ``a`` first.
        total_repeat_length: ignored; JAX uses it to allow traced ``repeats``, funcgrad
            requires concrete ones.

    Returns:
        The repeated array.

    Raises:
        TypeError: if ``repeats`` is traced.
    """
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


@arraylike_args(0)
def pad(array, pad_width, mode="constant", constant_values=0, **kwargs):
    """Pad an array (numpy's ``pad``).

    Args:
        array: input (array_like).
        pad_width: int, ``(before, after)`` or one such pair per axis (static).
        mode: ``'constant'``, ``'edge'``, ``'reflect'``, ``'symmetric'`` or ``'wrap'``.
        constant_values: the padding value(s) for ``'constant'``: a scalar, or pairs as
            for ``pad_width``.
        **kwargs: ignored.

    Returns:
        The padded array, with the dtype of ``array``.

    Raises:
        NotImplementedError: for any other ``mode``.
    """
    a = asarray(array)
    nd = get_aval(a).ndim
    pw = np.broadcast_to(
        np.asarray(pad_width, dtype=np.int64).reshape((-1, 2) if np.ndim(pad_width) else (1, 1)),
        (nd, 2),
    )
    if (pw < 0).any():
        raise ValueError(f"pad: pad_width must not be negative (as numpy), got {pad_width}")
    if mode == "constant":
        cv = (
            np.broadcast_to(np.asarray(constant_values), (nd, 2))
            if np.ndim(constant_values)
            else None
        )
        if cv is None or np.all(cv == cv.flat[0]):
            val = constant_values if cv is None else cv.flat[0]
            return lsl.pad(
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
    a = lsl.pad(a, asarray(cv[0], get_aval(a).dtype), tuple(cfg))
    cfg[d] = (0, int(pw[1]), 0)
    return lsl.pad(a, asarray(cv[1], get_aval(a).dtype), tuple(cfg))


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


@arraylike_args(0)
def flip(m, axis=None):
    """Reverse the order of elements along ``axis``.

    Args:
        m: input (array_like).
        axis: int or tuple of ints; None reverses every axis.

    Returns:
        Array of the shape and dtype of ``m``.

    Raises:
        ValueError: if an axis is out of range.
    """
    m = asarray(m)
    nd = get_aval(m).ndim
    axes = tuple(range(nd)) if axis is None else ((axis,) if isinstance(axis, int) else axis)
    return ls.rev(m, tuple(canonicalize_axis(a, nd) for a in axes))


@arraylike_args(0)
def fliplr(m):
    """Reverse the order of elements left/right (axis 1).

    Args:
        m: input (array_like) with at least 2 dimensions.

    Returns:
        Array of the shape and dtype of ``m``.

    Raises:
        ValueError: if ``m`` has too few dimensions.
    """
    return flip(m, 1)


@arraylike_args(0)
def flipud(m):
    """Reverse the order of elements up/down (axis 0).

    Args:
        m: input (array_like) with at least 1 dimension.

    Returns:
        Array of the shape and dtype of ``m``.

    Raises:
        ValueError: if ``m`` has too few dimensions.
    """
    return flip(m, 0)


@arraylike_args(0)
def roll(a, shift, axis=None):
    """Roll elements along axes: those shifted past the end come back at the start.

    Args:
        a: input (array_like).
        shift: int or sequence of ints (concrete), broadcast against ``axis``.
        axis: int or sequence of ints; None rolls the flattened array.

    Returns:
        Array of the shape and dtype of ``a``.

    Raises:
        TypeError: if ``shift`` is traced (a ``TracerArrayConversionError``).
    """
    from funcgrad._src.numpy.joining import concatenate  # joining.py imports this module

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
                [lsl.slice_in_dim(a, n - s, n, axis=ax), lsl.slice_in_dim(a, 0, n - s, axis=ax)], ax
            )
    return a


@arraylike_args(0)
def rot90(m, k=1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``, from the first towards the second.

    Args:
        m: input (array_like) with at least 2 dimensions.
        k: number of rotations (any int, taken modulo 4).
        axes: the two axes of the plane.

    Returns:
        The rotated array.
    """
    m = asarray(m)
    k = k % 4
    if get_aval(m).ndim < 2:
        raise ValueError(f"rot90 needs an array of rank 2 or more, got shape {get_aval(m).shape}")
    a0, a1 = (canonicalize_axis(a, get_aval(m).ndim) for a in axes)
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    perm = list(range(get_aval(m).ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose(flip(m, a1), perm)
    return flip(transpose(m, perm), a1)


@arraylike_args(0)
def diagonal(a, offset=0, axis1=0, axis2=1):
    """The ``offset``-th diagonal of the 2-d slices of ``a`` over ``axis1`` and ``axis2``.

    Args:
        a: input (array_like) with at least 2 dimensions.
        offset: diagonal: 0 the main one, positive above it, negative below.
        axis1: axis of the rows.
        axis2: axis of the columns.

    Returns:
        Array with ``axis1`` and ``axis2`` removed and the diagonal as a new last axis.

    Raises:
        ValueError: if an axis is out of range.
    """
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


@arraylike_args(0)
def diag(v, k=0):
    """Extract a diagonal of a 2-d array, or build a 2-d array with a 1-d one on its diagonal.

    Args:
        v: a 1-d array (placed on diagonal ``k``) or a 2-d array (diagonal ``k`` read).
        k: diagonal: 0 the main one, positive above it, negative below.

    Returns:
        For 1-d ``v``, a square array of side ``len(v) + |k|``; for 2-d ``v``, a 1-d array.

    Raises:
        ValueError: if ``v`` is not 1-d or 2-d.
    """
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


@arraylike_args(0)
def diagflat(v, k=0):
    """A 2-d array with the flattened input on its ``k``-th diagonal.

    Args:
        v: input (array_like), flattened.
        k: diagonal: 0 the main one, positive above it, negative below.

    Returns:
        A square array of side ``v.size + |k|``.
    """
    return diag(ravel(v), k)


@arraylike_args(0)
def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    """The sum along a diagonal (``diagonal(a, offset, axis1, axis2).sum(-1)``).

    Args:
        a: input (array_like) with at least 2 dimensions.
        offset: diagonal: 0 the main one, positive above it, negative below.
        axis1: axis of the rows.
        axis2: axis of the columns.
        dtype: dtype of the sum; None as in ``sum``.

    Returns:
        Array with ``axis1`` and ``axis2`` removed.

    Raises:
        ValueError: if an axis is out of range.
    """
    from funcgrad._src.numpy.reductions import sum

    return sum(diagonal(a, offset, axis1, axis2), -1, dtype)


def _tri_mask(shape, k, upper):
    n, m = shape[-2:]
    t = tri(n, m, k - 1 if upper else k, dtype=bool)
    return le.bitwise_not(t) if upper else t


@arraylike_args(0)
def tril(m, k=0):
    """Zero the elements above the ``k``-th diagonal of (each matrix in) ``m``.

    Args:
        m: array_like with at least 2 dimensions; the last two are the matrix.
        k: diagonal: 0 the main one, positive above it, negative below.

    Returns:
        Array of the shape and dtype of ``m``.

    Raises:
        ValueError: if ``m`` has fewer than 2 dimensions.
    """
    m = asarray(m)
    mask = broadcast_to(_tri_mask(_shape(m), k, False), _shape(m))
    return where(mask, m, zeros_like(m))


@arraylike_args(0)
def triu(m, k=0):
    """Zero the elements below the ``k``-th diagonal of (each matrix in) ``m``.

    Args:
        m: array_like with at least 2 dimensions; the last two are the matrix.
        k: diagonal: 0 the main one, positive above it, negative below.

    Returns:
        Array of the shape and dtype of ``m``.

    Raises:
        ValueError: if ``m`` has fewer than 2 dimensions.
    """
    m = asarray(m)
    mask = broadcast_to(_tri_mask(_shape(m), k, True), _shape(m))
    return where(mask, m, zeros_like(m))


def shape(a):
    """The shape of ``a``.

    Args:
        a: array_like.

    Returns:
        A tuple of ints (static, also for traced arrays).
    """
    return _shape(asarray(a))


def ndim(a):
    """The number of dimensions of ``a``.

    Args:
        a: array_like.

    Returns:
        A Python int (static, also for traced arrays).
    """
    return get_aval(asarray(a)).ndim


def size(a, axis=None):
    """The number of elements of ``a``, or its length along ``axis``.

    Args:
        a: array_like.
        axis: an axis, or None for the total size.

    Returns:
        A Python int (static, also for traced arrays).
    """
    s = _shape(asarray(a))
    return int(np.prod(s, dtype=np.int64)) if axis is None else s[axis]


@arraylike_args(0)
def ravel(x, order="C"):
    """``x`` flattened to 1-d, in row-major (C) order.

    Args:
        x: input (array_like).
        order: ignored: the result is always in C order.

    Returns:
        A 1-d array of ``x.size`` elements.
    """
    x = asarray(x)
    return ls.reshape(x, (get_aval(x).size,))


def rollaxis(a, axis, start=0):
    """Roll ``axis`` backwards until it lies before position ``start`` (use ``moveaxis``).

    Args:
        a: input (array_like).
        axis: the axis to move.
        start: the position it is moved in front of.

    Returns:
        Array with the axis moved.

    Raises:
        ValueError: if ``axis`` or ``start`` is out of range.
    """
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
