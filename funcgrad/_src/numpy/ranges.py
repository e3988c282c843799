"""funcgrad.numpy: numerical ranges and grids (``arange``, ``linspace``, ``logspace``,
``geomspace``, ``meshgrid``, ``mgrid``, ``ogrid``)."""

from __future__ import annotations

import builtins

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import array_from_user, get_aval
from funcgrad._src.core import Tracer
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy import math as fm
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.conversion import _dtype, _inexact, asarray, astype, broadcast_shapes
from funcgrad._src.numpy.creation import _dt
from funcgrad._src.numpy.math import floor, power
from funcgrad._src.numpy.shape import moveaxis, ravel
from funcgrad._src.numpy.transcendental import log10


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in ``[start, stop)`` with step ``step`` (numpy's ``arange``).

    The length must be known while tracing, so the bounds must be concrete (as in JAX); use
    ``static_argnums`` for a bound that is a ``jit`` argument.

    Args:
        start: first value; the stop when ``stop`` is None (then the start is 0).
        stop: end of the interval (excluded).
        step: spacing (default 1).
        dtype: result dtype; None gives the default float dtype if any bound is a Python
            float, else the default integer dtype.

    Returns:
        A 1-d array of ``len(numpy.arange(start, stop, step))`` values.

    Raises:
        TypeError: if a bound is traced.
    """
    for v in (start, stop, step):
        if isinstance(v, Tracer):
            raise TypeError(
                "arange needs concrete (non-traced) bounds: its size must be known "
                "while tracing; use static_argnums for the bound"
            )
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    vals = np.arange(start, stop, step)
    if dtype is None:
        is_float = builtins.any(isinstance(v, float) for v in (start, stop, step))
        dtype = dtypes.default_float() if is_float else dtypes.default_int()
    n = len(vals)
    dt = dtypes.canonicalize(dtype)
    if dt.kind in "iu" and builtins.all(isinstance(v, (int, np.integer)) for v in (start, step)):
        r = ls.iota(dt, n)
        return (
            le.add(le.mul(r, ls.full((n,), step, dt)), ls.full((n,), start, dt))
            if (start, step) != (0, 1)
            else r
        )
    return array_from_user(vals, dt)


@arraylike_args(0, 1)
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop`` (numpy's ``linspace``).

    ``start`` and ``stop`` may be traced arrays (broadcast together); ``num`` is static. An
    integer ``dtype`` rounds the floating-point values down, as in JAX.

    Args:
        start: first value (array_like).
        stop: last value (array_like); excluded when ``endpoint`` is False.
        num: number of values (static int).
        endpoint: whether ``stop`` is the last value.
        retstep: also return the spacing.
        dtype: result dtype; None gives the default float dtype.
        axis: axis of the result along which the values run.

    Returns:
        Array of shape ``(num,) + broadcast(start, stop).shape`` (with that axis moved to
        ``axis``); with ``retstep``, the pair ``(values, step)``.
    """
    if dtype is not None and dtypes.canonicalize(dtype).kind in "iub":
        # as in JAX: computed in floating point, then rounded down to the integer dtype
        out = linspace(start, stop, num, endpoint, retstep, None, axis)
        vals = out[0] if retstep else out
        vals = astype(floor(vals), dtype)
        return (vals, out[1]) if retstep else vals
    dt = _dt(dtype)
    start, stop = asarray(start, dt), asarray(stop, dt)
    div = (num - 1) if endpoint else num
    r = astype(ls.iota(dtypes.default_int(), num), dt)
    step = (stop - start) / div if div > 0 else stop * 0
    shape = broadcast_shapes(get_aval(start).shape, get_aval(stop).shape)
    rb = ls.broadcast_in_dim(r, (num,) + shape, (0,))
    out = (
        start + rb * step
        if div > 0
        else ls.broadcast_in_dim(start, (num,) + shape, tuple(range(1, len(shape) + 1)))
    )
    if endpoint and num > 1:
        out = out.at[-1].set(stop)
    if axis != 0:
        out = moveaxis(out, 0, axis)
    return (out, step) if retstep else out


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``base ** linspace(start, stop, num)``: numbers spaced evenly on a log scale.

    Args:
        start: exponent of the first value (array_like).
        stop: exponent of the last value (array_like).
        num: number of values (static int).
        endpoint: whether ``base**stop`` is the last value.
        base: base of the powers.
        dtype: result dtype; None gives the default float dtype.
        axis: axis of the result along which the values run.

    Returns:
        Array shaped as ``linspace``'s.
    """
    return power(
        asarray(base, _dt(dtype)), linspace(start, stop, num, endpoint, dtype=dtype, axis=axis)
    )


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """Numbers spaced evenly on a log scale from ``start`` to ``stop`` (of the same sign).

    Follows ``numpy.geomspace``; the end points are exact.

    Args:
        start: first value (array_like, nonzero).
        stop: last value (array_like, nonzero, the sign of ``start``).
        num: number of values (static int).
        endpoint: whether ``stop`` is the last value.
        dtype: result dtype; None gives the floating dtype of the inputs.
        axis: axis of the result along which the values run.

    Returns:
        Array of shape ``(num,) + broadcast(start, stop).shape``, the values along ``axis``.
    """
    start, stop = _inexact(asarray(start), asarray(stop))
    sign = fm.sign(start)
    ls_ = linspace(
        log10(start / sign),
        log10(stop / sign),
        num,
        endpoint=endpoint,
        dtype=_dtype(start),
        axis=0,
    )
    out = sign * power(10.0, ls_)
    if num > 0:
        out = out.at[0].set(start)
        if endpoint and num > 1:
            out = out.at[-1].set(stop)
    if dtype is not None:
        out = astype(out, dtype)
    return moveaxis(out, 0, axis) if axis != 0 else out


@arraylike_args(0, 1)
def meshgrid(*xi, indexing="xy", sparse=False, copy=True):
    """Coordinate grids from 1-d coordinate vectors (numpy's ``meshgrid``).

    Args:
        *xi: coordinate arrays (each flattened to 1-d).
        indexing: ``'xy'`` (Cartesian: the first two grid axes swapped) or ``'ij'`` (matrix).
        sparse: ignored: full grids are always returned (they are broadcasts, cheap under jit).
        copy: ignored (arrays are immutable).

    Returns:
        A list with one array per input, all of the grid shape.
    """
    xs = [ravel(asarray(x)) for x in xi]
    shape = [get_aval(x).shape[0] for x in xs]
    if indexing == "xy" and len(xs) >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, x in enumerate(xs):
        d = i
        if indexing == "xy" and len(xs) >= 2 and i < 2:
            d = 1 - i
        out.append(ls.broadcast_in_dim(x, tuple(shape), (d,)))
    return out


def _canon_np(v):
    v = np.asarray(v)
    return array_from_user(v, dtypes.canonicalize(v.dtype))


class _Grid:
    """``mgrid[...]`` / ``ogrid[...]``: dense or open grids from slices (numpy's objects).

    The slice bounds must be concrete; a complex step ``nj`` means ``n`` points (linspace).
    """

    def __init__(self, sparse):
        self.sparse = sparse

    def __getitem__(self, key):
        for k in key if isinstance(key, tuple) else (key,):
            for part in (k.start, k.stop, k.step) if isinstance(k, slice) else (k,):
                if isinstance(part, Tracer):
                    raise TypeError("mgrid/ogrid need concrete slice bounds")
        res = (np.ogrid if self.sparse else np.mgrid)[key]
        if isinstance(res, (list, tuple)):
            return [_canon_np(r) for r in res] if self.sparse else _canon_np(res)
        return _canon_np(res)


mgrid = _Grid(sparse=False)
ogrid = _Grid(sparse=True)
