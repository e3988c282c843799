"""funcgrad.numpy.linalg: array-API helpers (``outer``, ``cross``, ``diagonal``, ``trace``,
``matrix_transpose``, ``vecdot``, ``tensordot``) and tensor routines (``multi_dot``,
``tensorsolve``, ``tensorinv``), built from funcgrad.numpy functions."""

from __future__ import annotations

import math
import operator

from funcgrad._src.array import get_aval
from funcgrad._src.numpy import products as L
from funcgrad._src.numpy import shape as S
from funcgrad._src.numpy.conversion import _promote, _shape, asarray, astype
from funcgrad._src.numpy.math import multiply
from funcgrad._src.numpy.products import cross as _cross
from funcgrad._src.numpy.products import matmul
from funcgrad._src.numpy.shape import ravel, reshape, transpose


def multi_dot(arrays, *, precision=None):
    """Chained matrix product; the first/last argument may be 1-d (a row/column vector).
    Evaluated left to right (numpy picks the cheapest order; the value is the same up to
    rounding)."""
    arrs = [asarray(a) for a in arrays]
    if len(arrs) < 2:
        raise ValueError(f"multi_dot: expecting at least two arrays, got {len(arrs)}")
    first_1d, last_1d = get_aval(arrs[0]).ndim == 1, get_aval(arrs[-1]).ndim == 1
    if first_1d:
        arrs[0] = arrs[0][None, :]
    if last_1d:
        arrs[-1] = arrs[-1][:, None]
    for a in arrs:
        if get_aval(a).ndim != 2:
            raise ValueError(
                f"multi_dot: arrays must be 2-d (the first and last may be 1-d), "
                f"got shapes {[_shape(x) for x in arrays]}"
            )
    out = arrs[0]
    for a in arrs[1:]:
        out = matmul(out, a)
    if first_1d:
        out = out[0]
    if last_1d:
        out = out[..., 0]
    return out


def outer(x1, x2, /):
    """Outer product of two 1-d vectors."""
    x1, x2 = asarray(x1), asarray(x2)
    if get_aval(x1).ndim != 1 or get_aval(x2).ndim != 1:
        raise ValueError(
            f"linalg.outer: inputs must be 1-d, got shapes {_shape(x1)} and {_shape(x2)}"
        )
    return multiply(x1[:, None], x2[None, :])


def cross(x1, x2, /, *, axis=-1):
    """Cross product of (batches of) 3-vectors along ``axis``."""
    x1, x2 = asarray(x1), asarray(x2)
    if _shape(x1)[axis] != 3 or _shape(x2)[axis] != 3:
        raise ValueError(
            f"linalg.cross: both inputs must have size 3 along axis {axis}, got "
            f"shapes {_shape(x1)} and {_shape(x2)}"
        )
    return _cross(x1, x2, axis=axis)


def diagonal(x, /, *, offset=0):
    """Diagonals of the last two axes."""
    return S.diagonal(x, offset, -2, -1)


def trace(x, /, *, offset=0, dtype=None):
    """Traces of the last two axes."""
    return S.trace(x, offset, -2, -1, dtype)


def matrix_transpose(x, /):
    """Swap the last two axes (``numpy.linalg.matrix_transpose``)."""
    return S.matrix_transpose(x)


def vecdot(x1, x2, /, *, axis=-1, precision=None, preferred_element_type=None):
    """Conjugated dot product along ``axis`` (batched, broadcasting)."""
    out = L.vecdot(x1, x2, axis=axis)
    return out if preferred_element_type is None else astype(out, preferred_element_type)


def tensordot(x1, x2, /, *, axes=2, precision=None, preferred_element_type=None):
    """``numpy.tensordot`` with the array-API signature."""
    return L.tensordot(x1, x2, axes, preferred_element_type=preferred_element_type)


def tensorsolve(a, b, axes=None):
    """Solve ``tensordot(a, x, b.ndim) = b`` for ``x``."""
    from funcgrad._src.numpy.linalg import solve

    a, b = _promote(asarray(a), asarray(b), to_inexact=True)
    nd = get_aval(a).ndim
    if axes is not None:
        axes = (axes,) if isinstance(axes, int) else tuple(axes)
        rest = [i for i in range(nd) if i not in [operator.index(x) % nd for x in axes]]
        a = transpose(a, rest + [x % nd for x in axes])
    bs = _shape(b)
    xs = _shape(a)[get_aval(b).ndim :]
    if _shape(a)[: get_aval(b).ndim] != bs or math.prod(xs) != math.prod(bs):
        raise ValueError(
            f"tensorsolve: a of shape {_shape(a)} does not match b of shape {bs} "
            f"(need a.shape == b.shape + x.shape with prod(x.shape) == "
            f"prod(b.shape))"
        )
    n = math.prod(bs)
    x = solve(reshape(a, (n, n)), ravel(b))
    return reshape(x, xs)


def tensorinv(a, ind=2):
    """Inverse with respect to ``tensordot(.., .., ind)``: shape ``a.shape[ind:] +
    a.shape[:ind]``."""
    from funcgrad._src.numpy.linalg import inv

    a = _promote(asarray(a), to_inexact=True)[0]
    ind = operator.index(ind)
    if ind <= 0:
        raise ValueError(f"tensorinv: ind must be a positive integer, got {ind}")
    s = _shape(a)
    lo, hi = s[:ind], s[ind:]
    if math.prod(lo) != math.prod(hi):
        raise ValueError(
            f"tensorinv: prod(a.shape[:ind]) must equal prod(a.shape[ind:]), got "
            f"shape {s} with ind={ind}"
        )
    n = math.prod(lo)
    return reshape(inv(reshape(a, (n, n))), hi + lo)
