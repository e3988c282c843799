"""funcgrad.numpy: array creation from shapes and values (``zeros``, ``ones``, ``full``, the
``*_like`` functions, ``eye``, ``identity``, ``tri``, ``fromfunction``, ``copy``)."""

from __future__ import annotations

import operator

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy.conversion import _is_array, asarray, astype, broadcast_to


def _shape_tuple(shape):
    if isinstance(shape, (int, np.integer)) or (_is_array(shape) and get_aval(shape).ndim == 0):
        return (operator.index(shape),)
    return tuple(operator.index(s) for s in shape)


def _dt(dtype, default=None):
    return dtypes.canonicalize(dtype) if dtype is not None else (default or dtypes.default_float())


def zeros(shape, dtype=None):
    return ls.full(_shape_tuple(shape), 0, _dt(dtype))


def ones(shape, dtype=None):
    return ls.full(_shape_tuple(shape), 1, _dt(dtype))


def empty(shape, dtype=None):
    return zeros(shape, dtype)


def full(shape, fill_value, dtype=None):
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


def zeros_like(a, dtype=None, shape=None):
    a_ = get_aval(asarray(a))
    out = ls.full(a_.shape if shape is None else _shape_tuple(shape), 0, dtype or a_.dtype)
    return _weak_like(out, dtype is None and a_.weak_type)  # weak if `a` is (as in JAX)


def ones_like(a, dtype=None, shape=None):
    a_ = get_aval(asarray(a))
    out = ls.full(a_.shape if shape is None else _shape_tuple(shape), 1, dtype or a_.dtype)
    return _weak_like(out, dtype is None and a_.weak_type)


def full_like(a, fill_value, dtype=None, shape=None):
    a_ = get_aval(asarray(a))
    out = full(a_.shape if shape is None else shape, fill_value, dtype or a_.dtype)
    return _weak_like(out, dtype is None and a_.weak_type)


empty_like = zeros_like


def eye(N, M=None, k=0, dtype=None):
    M = N if M is None else M
    r = ls.broadcasted_iota(dtypes.int32, (N, M), 0)
    c = ls.broadcasted_iota(dtypes.int32, (N, M), 1)
    return astype(le.eq(le.add(r, ls.full((N, M), k, dtypes.int32)), c), _dt(dtype))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    M = N if M is None else M
    r = ls.broadcasted_iota(dtypes.int32, (N, M), 0)
    c = ls.broadcasted_iota(dtypes.int32, (N, M), 1)
    return astype(le.ge(le.add(r, ls.full((N, M), k, dtypes.int32)), c), _dt(dtype))


def fromfunction(function, shape, *, dtype=float, **kwargs):
    """``function(*indices, **kwargs)`` where ``indices`` are index grids of ``shape``."""
    shape = tuple(operator.index(s) for s in shape)
    dt = dtypes.canonicalize(dtype)
    idx = [
        ls.broadcasted_iota(dt, shape, d)
        if dt.kind in "iu"
        else astype(ls.broadcasted_iota(dtypes.default_int(), shape, d), dt)
        for d in range(len(shape))
    ]
    return function(*idx, **kwargs)


def copy(a, order=None):
    return asarray(a)
