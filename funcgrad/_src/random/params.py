"""funcgrad.random: argument handling shared by the samplers (sample shapes, dtypes,
parameter broadcasting, subkeys) and the fixed-candidate pick of the rejection samplers."""

from __future__ import annotations

import operator

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy.conversion import asarray, astype
from funcgrad._src.numpy.logic import where


def _shape(shape):
    """A sample shape as a tuple of ints. ``None`` is refused with a TypeError, as in JAX,
    where a sampler has no parameters to take the shape from (its default is ``()``)."""
    if shape is None:
        raise TypeError(
            "shape=None is not accepted by this sampler (as in JAX): pass a tuple of ints, "
            "e.g. shape=() for one sample"
        )
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(operator.index(s) for s in shape)


def _float_dtype(dtype):
    dt = dtypes.canonicalize(dtype if dtype is not None else dtypes.default_float())
    if dt.kind != "f":
        from funcgrad._src.core import ValueTypeError

        raise ValueTypeError(f"dtype argument must be a float dtype, got {dt}")
    return dt


# ---- rejection sampling ------------------------------------------------------------------------
# Rejection samplers draw a fixed number of candidates per sample and keep the first accepted
# one: no data-dependent loop, so they run unchanged under jit and vmap. With acceptance
# rates >= 0.9 the chance that all _TRIES candidates are rejected is below 1e-16.

_TRIES = 16


def _param(x, dt):
    return astype(asarray(x), dt)


def _bcast(x, shape, fname, what):
    """Broadcast a parameter to the sample ``shape`` (trailing alignment, as numpy)."""
    xs = get_aval(x).shape
    try:
        ok = np.broadcast_shapes(xs, shape) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"{fname}: {what} of shape {xs} does not broadcast to the requested "
            f"shape {tuple(shape)}; pass shape=None (the parameter's shape) or a "
            f"shape that ends with a broadcast of {xs}"
        )
    return ls.broadcast_in_dim(x, tuple(shape), tuple(range(len(shape) - len(xs), len(shape))))


def _to_rank(x, shape):
    """``x`` broadcast to ``shape``, trailing axes aligned (no check: the caller's shapes)."""
    xs = get_aval(x).shape
    if xs == tuple(shape):
        return x
    return ls.broadcast_in_dim(x, tuple(shape), tuple(range(len(shape) - len(xs), len(shape))))


def _params_shape(shape, *params):
    shapes = [get_aval(p).shape for p in params]
    return np.broadcast_shapes(*shapes) if shape is None else _shape(shape)


def _first_accepted(ok, vals):
    """``vals[k]`` for the first ``k`` (axis 0) where ``ok[k]``; the last one if none is."""
    n = get_aval(ok).shape[0]
    pick = lambda a, i: ls.reshape(lsl.slice_in_dim(a, i, i + 1), get_aval(a).shape[1:])
    out = pick(vals, n - 1)
    for i in range(n - 2, -1, -1):
        out = where(pick(ok, i), pick(vals, i), out)
    return out


# ---- a fused multiply-add, as XLA's CPU code contracts ``a * b + c`` ---------------------------


def _split_float(x):
    """Veltkamp's split: ``x == hi + lo`` with both halves' products exact (operators only, so
    it runs on numpy arrays and on funcgrad arrays alike)."""
    c = x * (2.0 ** (27 if x.dtype == np.float64 else 12) + 1.0)
    hi = c - (c - x)
    return hi, x - hi


def _fma(a, b, c):
    """``a * b + c`` rounded once (to within a tie case), from error-free transformations
    (Dekker's product, Knuth's sum): XLA's CPU code fuses these multiply-adds, and the samplers'
    bits follow from that rounding. Same-dtype numpy or funcgrad arrays."""
    p = a * b
    (ah, al), (bh, bl) = _split_float(a), _split_float(b)
    e = (((ah * bh - p) + ah * bl) + al * bh) + al * bl
    s = p + c
    bb = s - p
    t = (p - (s - bb)) + (c - bb)
    return s + (t + e)
