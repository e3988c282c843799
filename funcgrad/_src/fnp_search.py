"""funcgrad.numpy, part 5: sorting and searching."""

from __future__ import annotations

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import structural as ls
from funcgrad._src.array import array_from_user, get_aval
from funcgrad._src.core import Tracer, canonicalize_axis
from funcgrad._src.fnp_base import asarray, ravel


def sort(a, axis=-1, kind=None, order=None, stable=True, descending=False):
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    ax = canonicalize_axis(axis, get_aval(a).ndim)
    out = lr.sort(a, ax)
    return ls.rev(out, (ax,)) if descending else out


def argsort(a, axis=-1, kind=None, order=None, stable=True, descending=False):
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


def searchsorted(a, v, side="left", sorter=None, method=None):
    """Indices where ``v`` would be inserted into sorted 1-d ``a`` (vectorised comparison)."""
    a, v = asarray(a), asarray(v)
    if sorter is not None:
        from funcgrad._src.indexing import take

        a = take(a, sorter)
    if get_aval(a).ndim != 1:
        raise ValueError("searchsorted: a must be 1-d")
    vs = get_aval(v).shape
    n = get_aval(a).shape[0]
    ab = ls.broadcast_in_dim(a, vs + (n,), (len(vs),))
    vb = ls.broadcast_in_dim(v, vs + (n,), tuple(range(len(vs))))
    from funcgrad._src.fnp_base import _promote

    ab, vb = _promote(ab, vb)
    cmp = le.lt(ab, vb) if side == "left" else le.le(ab, vb)
    return lr.reduce_sum(le.convert_element_type(cmp, dtypes.default_int()), (len(vs),))


def _concrete(x, fname):
    if isinstance(x, Tracer):
        from funcgrad._src.core import ConcretizationTypeError

        raise ConcretizationTypeError(  # a TypeError, as in JAX
            f"{fname} has an output size that depends on the values, so it cannot run on "
            f"traced values (inside jit/vmap/grad of a traced input). Pass size=... "
            f"(JAX-style) for a fixed-size result."
        )
    return np.asarray(x)


def nonzero(a, *, size=None, fill_value=None):
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
        order = ls.pad(order, 0, ((0, size - n, 0),))
        cnt = n
    else:
        order = ls.slice_in_dim(order, 0, size)
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


def flatnonzero(a, *, size=None, fill_value=None):
    return nonzero(ravel(asarray(a)), size=size, fill_value=fill_value)[0]


def argwhere(a, *, size=None, fill_value=None):
    from funcgrad._src.fnp_shape import stack

    nz = nonzero(a, size=size, fill_value=fill_value)
    return stack(nz, -1) if nz else asarray(np.zeros((0, 0), np.int32))


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
    """Sorted unique values. With ``size=`` (JAX) it works on traced values: the result has
    exactly ``size`` entries, padded with ``fill_value`` (default: the smallest value)."""
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
    from funcgrad._src.indexing import take

    s = sort(ravel(x))
    n = get_aval(s).shape[0]
    if n == 0:
        return ls.full((size,), 0 if fill_value is None else fill_value, get_aval(s).dtype)
    first = ls.full((1,), True, np.bool_)
    new = (
        ls.concatenate([first, le.ne(ls.slice_in_dim(s, 1, n), ls.slice_in_dim(s, 0, n - 1))], 0)
        if n > 1
        else first
    )
    (idx,) = _nonzero_sized(new, size, 0)
    count = lr.reduce_sum(le.convert_element_type(new, dtypes.int32), (0,))
    valid = le.lt(ls.iota(dtypes.int32, size), ls.broadcast_in_dim(count, (size,), ()))
    vals = take(s, idx)
    fill = (
        ls.slice_in_dim(s, 0, 1) if fill_value is None else asarray(fill_value, get_aval(s).dtype)
    )
    return le.select(valid, vals, ls.broadcast_in_dim(ls.reshape(fill, ()), (size,), ()))


def count_unique(ar):
    return len(np.unique(_concrete(asarray(ar), "unique")))
