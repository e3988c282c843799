"""funcgrad.numpy, part 6: the rest of jax.numpy (differences, convolutions, set operations,
polynomials, statistics, index helpers, ...).

Written only from the fnp_* modules and lax functions, so everything here works under grad,
jvp, vmap and jit unless its docstring says it needs concrete input (as in JAX).
"""

from __future__ import annotations

import builtins
import functools
import operator
from typing import NamedTuple

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src import fnp_base as B
from funcgrad._src import fnp_linalg as L
from funcgrad._src import fnp_reduce as R
from funcgrad._src import fnp_search as Q
from funcgrad._src import fnp_shape as S
from funcgrad._src.lax import dot as ld
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import structural as ls
from funcgrad._src.array import array_from_user, get_aval
from funcgrad._src.core import Tracer, canonicalize_axis
from funcgrad._src.indexing import take

asarray = B.asarray


def _shape(x):
    return get_aval(x).shape


def _dtype(x):
    return get_aval(x).dtype


def _inexact(*xs):
    return B._promote(*xs, to_inexact=True)


def _concrete(x, fname, what="this argument"):
    if isinstance(x, Tracer):
        raise TypeError(
            f"{fname}: {what} must be concrete (not traced inside jit/vmap/grad), "
            f"because the output shape depends on its value; pass it as a static "
            f"argument or use the size=/length= argument where there is one"
        )
    return np.asarray(x)


def _int_indices(vals):
    return array_from_user(np.asarray(vals, np.int64), dtypes.default_int())


def _check_1d(name, *xs):
    for x in xs:
        if get_aval(x).ndim != 1:
            raise ValueError(f"{name}: expected 1-d inputs, got shapes {[_shape(y) for y in xs]}")


# ---- differences -------------------------------------------------------------------------------


def diff(a, n=1, axis=-1, prepend=None, append=None):
    """``n``-th discrete difference along ``axis`` (boolean input: ``not_equal``, as numpy)."""
    a = asarray(a)
    if get_aval(a).ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"diff: order must be non-negative, got n={n}")
    if n == 0:
        return a
    ax = canonicalize_axis(axis, get_aval(a).ndim)
    parts = []
    for extra, where in ((prepend, 0), (append, 1)):
        if extra is None:
            continue
        e = asarray(extra)
        if get_aval(e).ndim == 0:
            shp = list(_shape(a))
            shp[ax] = 1
            e = B.broadcast_to(e, tuple(shp))
        parts.append((where, e))
    if parts:
        pre = [e for w, e in parts if w == 0]
        post = [e for w, e in parts if w == 1]
        a = S.concatenate(pre + [a] + post, axis=ax)
    for _ in range(n):
        m = _shape(a)[ax]
        if m == 0:
            break
        hi = ls.slice_in_dim(a, 1, m, axis=ax)
        lo = ls.slice_in_dim(a, 0, m - 1, axis=ax)
        a = le.ne(hi, lo) if _dtype(a) == np.bool_ else B.subtract(hi, lo)
    return a


def ediff1d(ary, to_end=None, to_begin=None):
    """Differences of the flattened array, with optional values before and after."""
    d = diff(B.ravel(asarray(ary)))
    parts = []
    if to_begin is not None:
        parts.append(B.astype(B.ravel(asarray(to_begin)), _dtype(d)))
    parts.append(d)
    if to_end is not None:
        parts.append(B.astype(B.ravel(asarray(to_end)), _dtype(d)))
    return S.concatenate(parts) if len(parts) > 1 else d


def gradient(f, *varargs, axis=None, edge_order=None):
    """Central differences inside, one-sided first-order differences at the edges.

    As in JAX: spacings must be scalars (no coordinate arrays) and ``edge_order`` must be None
    or 1.
    """
    if edge_order is not None and edge_order != 1:
        raise NotImplementedError(
            "gradient: only edge_order=1 (the default) is supported, as in JAX"
        )
    f = _inexact(asarray(f))[0]
    nd = get_aval(f).ndim
    axes = (
        tuple(range(nd))
        if axis is None
        else (
            (canonicalize_axis(axis, nd),)
            if isinstance(axis, int)
            else tuple(canonicalize_axis(a, nd) for a in axis)
        )
    )
    if len(varargs) == 0:
        spacing = [1.0] * len(axes)
    elif len(varargs) == 1:
        spacing = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        spacing = list(varargs)
    else:
        raise TypeError(f"gradient: expected 0, 1 or {len(axes)} spacings, got {len(varargs)}")
    for h in spacing:
        if np.ndim(h) != 0 and get_aval(asarray(h)).ndim != 0:
            raise NotImplementedError(
                "gradient: only scalar spacings are supported (as in "
                "JAX); resample to a uniform grid for coordinate arrays"
            )
    out = []
    for ax, h in zip(axes, spacing):
        n = _shape(f)[ax]
        if n < 2:
            raise ValueError(f"gradient: shape of axis {ax} is {n}; at least 2 samples are needed")
        sl = functools.partial(ls.slice_in_dim, f, axis=ax)
        first = sl(1, 2) - sl(0, 1)
        last = sl(n - 1, n) - sl(n - 2, n - 1)
        mid = (sl(2, n) - sl(0, n - 2)) / 2.0
        g = (
            S.concatenate([first, mid, last], axis=ax)
            if n > 2
            else S.concatenate([first, last], axis=ax)
        )
        out.append(g / h)
    return out[0] if len(out) == 1 else out


def unwrap(p, discont=None, axis=-1, period=2 * np.pi):
    """Unwrap phase jumps greater than ``max(discont, period/2)`` along ``axis``."""
    p = _inexact(asarray(p))[0]
    ax = canonicalize_axis(axis, get_aval(p).ndim)
    n = _shape(p)[ax]
    if n < 2:
        return p
    discont = period / 2 if discont is None else discont
    dd = diff(p, axis=ax)
    half = period / 2
    ddmod = B.remainder(dd + half, period) - half
    ddmod = B.where(B.logical_and(B.equal(ddmod, -half), B.greater(dd, 0)), half, ddmod)
    corr = B.where(B.less(B.abs(dd), discont), 0.0, ddmod - dd)
    shp = list(_shape(p))
    shp[ax] = 1
    cum = S.concatenate([B.zeros(tuple(shp), _dtype(p)), R.cumsum(corr, axis=ax)], axis=ax)
    return p + cum


# ---- products, convolutions ------------------------------------------------------------------


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of (arrays of) 2- or 3-vectors; 2-vectors give the z component only."""
    a, b = B._promote(asarray(a), asarray(b))
    if axis is not None:
        axisa = axisb = axisc = axis
    a = S.moveaxis(a, axisa, -1)
    b = S.moveaxis(b, axisb, -1)
    na, nb = _shape(a)[-1], _shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(
            f"cross: incompatible dimensions for cross product (dimension must "
            f"be 2 or 3), got vectors of length {na} and {nb}"
        )
    ac = [a[..., i] for i in range(na)]
    bc = [b[..., i] for i in range(nb)]
    if na == 2 and nb == 2:
        return ac[0] * bc[1] - ac[1] * bc[0]
    zero = B.zeros_like
    a0, a1 = ac[0], ac[1]
    a2 = ac[2] if na == 3 else zero(a0)
    b0, b1 = bc[0], bc[1]
    b2 = bc[2] if nb == 3 else zero(b0)
    c = S.stack(B._broadcast(a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0), -1)
    return S.moveaxis(c, -1, axisc)


def _conv(x, y, mode, op, preferred_element_type):
    x, y = asarray(x), asarray(y)
    if get_aval(x).ndim != 1 or get_aval(y).ndim != 1:
        raise ValueError(
            f"{op}() only supports 1-dimensional inputs, got shapes {_shape(x)} and {_shape(y)}"
        )
    if preferred_element_type is None:
        x, y = _inexact(x, y)
    else:
        x, y = B._promote(x, y)
    if _shape(x)[0] == 0 or _shape(y)[0] == 0:
        raise ValueError(f"{op}: inputs cannot be empty, got shapes {_shape(x)} and {_shape(y)}")
    reverse = False
    if op == "correlate":
        if _dtype(y).kind == "c":
            y = B.conj(y)
        if _shape(x)[0] < _shape(y)[0]:
            x, y, reverse = y, x, True
    else:
        if _shape(x)[0] < _shape(y)[0]:
            x, y = y, x
        y = ls.rev(y, (0,))
    m = _shape(y)[0]
    pads = {"valid": (0, 0), "same": (m // 2, m - m // 2 - 1), "full": (m - 1, m - 1)}
    if mode not in pads:
        raise ValueError(f"{op}: mode must be one of 'full', 'same', 'valid', got {mode!r}")
    out = ld.conv_general_dilated(
        ls.reshape(x, (1, 1, _shape(x)[0])), ls.reshape(y, (1, 1, m)), (1,), [pads[mode]]
    )
    out = ls.reshape(out, (_shape(out)[-1],))
    if reverse:
        out = ls.rev(out, (0,))
    if preferred_element_type is not None:
        out = B.astype(out, preferred_element_type)
    return out


def convolve(a, v, mode="full", *, precision=None, preferred_element_type=None):
    """1-d convolution; integer inputs give floats unless ``preferred_element_type`` is given
    (as in JAX)."""
    return _conv(a, v, mode, "convolve", preferred_element_type)


def correlate(a, v, mode="valid", *, precision=None, preferred_element_type=None):
    """1-d cross-correlation ``c[k] = sum_n a[n + k] * conj(v[n])`` (numpy's definition)."""
    return _conv(a, v, mode, "correlate", preferred_element_type)


# ---- interpolation, binning --------------------------------------------------------------------


def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise-linear interpolation of increasing sample points ``xp``. As in JAX,
    ``left``/``right`` may be ``'extrapolate'`` (extend the first/last segment)."""
    x, xp, fp = asarray(x), asarray(xp), asarray(fp)
    _check_1d("interp", xp, fp)
    if _shape(xp) != _shape(fp) or _shape(xp)[0] == 0:
        raise ValueError(
            f"interp: xp and fp must be 1-d of the same non-zero length, got "
            f"shapes {_shape(xp)} and {_shape(fp)}"
        )
    fdt = _dtype(_inexact(x, xp, fp)[2])
    x, xp = _inexact(x, xp)
    fp = B.astype(fp, fdt)
    if period is not None:
        if left is not None or right is not None:
            raise ValueError("interp: left and right cannot be used together with period")
        period = B.abs(asarray(period))
        x = B.remainder(x, period)
        xp = B.remainder(xp, period)
        order = Q.argsort(xp)
        xp, fp = take(xp, order), take(fp, order)
        xp = S.concatenate([xp[-1:] - period, xp, xp[:1] + period])
        fp = S.concatenate([fp[-1:], fp, fp[:1]])
    n = _shape(xp)[0]
    if n == 1:
        f = B.broadcast_to(fp[0], _shape(x))
    else:
        i = B.clip(Q.searchsorted(xp, x, side="right"), 1, n - 1)
        x0, x1 = take(xp, i - 1), take(xp, i)
        f0, f1 = take(fp, i - 1), take(fp, i)
        dx = x1 - x0
        flat = B.less_equal(B.abs(dx), 10 * float(dtypes.finfo_of(_dtype(dx)).eps))
        t = (x - x0) / B.where(flat, B.ones_like(dx), dx)
        f = B.where(flat, f0, f0 + B.astype(t, fdt) * (f1 - f0))
    if period is None:
        if not (isinstance(left, str) and left == "extrapolate"):
            lv = fp[0] if left is None else B.astype(_interp_fill(left), fdt)
            f = B.where(B.less(x, xp[0]), lv, f)
        if not (isinstance(right, str) and right == "extrapolate"):
            rv = fp[-1] if right is None else B.astype(_interp_fill(right), fdt)
            f = B.where(B.greater(x, xp[-1]), rv, f)
    return B.astype(f, fdt)


def _interp_fill(v):
    if isinstance(v, str):
        raise ValueError(f"interp: left/right must be a number, None or 'extrapolate', got {v!r}")
    return v


def bincount(x, weights=None, minlength=0, *, length=None):
    """Count occurrences of each non-negative integer. Under jit pass a static ``length``
    (as in JAX); values ``>= length`` are dropped and negative values count as 0 (JAX)."""
    x = asarray(x)
    if get_aval(x).ndim != 1:
        raise ValueError(f"bincount: x must be 1-d, got shape {_shape(x)}")
    if not dtypes.is_int(_dtype(x)) and _dtype(x) != np.bool_:
        raise TypeError(f"bincount: x must be an integer array, got dtype {_dtype(x)}")
    minlength = operator.index(minlength)
    if minlength < 0:
        raise ValueError("bincount: minlength must be non-negative")
    if length is None:
        v = _concrete(x, "bincount", "x (without length=)")
        if v.size and v.min() < 0:
            raise ValueError("bincount: x must be non-negative")
        length = builtins.max(minlength, int(v.max()) + 1 if v.size else 0)
    length = operator.index(length)
    if weights is None:
        w = B.ones(_shape(x), dtypes.default_int())
    else:
        w = asarray(weights)
        if _shape(w) != _shape(x):
            raise ValueError(f"bincount: weights shape {_shape(w)} must match x shape {_shape(x)}")
    idx = B.maximum(B.astype(x, dtypes.default_int()), 0)
    return B.zeros(length, _dtype(w)).at[idx].add(w, mode="drop")


def digitize(x, bins, right=False, *, method=None):
    """Indices of the bins (increasing or decreasing 1-d ``bins``) each value falls in."""
    x, bins = asarray(x), asarray(bins)
    if get_aval(bins).ndim != 1:
        raise ValueError(f"digitize: bins must be 1-d, got shape {_shape(bins)}")
    n = _shape(bins)[0]
    if n == 0:
        return B.zeros(_shape(x), dtypes.default_int())
    side = "left" if right else "right"
    inc = Q.searchsorted(bins, x, side=side)
    dec = n - Q.searchsorted(ls.rev(bins, (0,)), x, side=side)
    return B.where(B.greater_equal(bins[-1], bins[0]), inc, dec)


def histogram_bin_edges(a, bins=10, range=None, weights=None):
    """The ``bins + 1`` edges ``histogram`` uses (static ``bins``; ``range`` defaults to the
    data's min and max)."""
    a = _inexact(B.ravel(asarray(a)))[0]
    if not isinstance(bins, (int, np.integer)):
        b = asarray(bins)
        if get_aval(b).ndim != 1:
            raise ValueError(
                f"histogram: bins must be an int or a 1-d array, got shape {_shape(b)}"
            )
        return B.astype(b, _dtype(a))
    if bins < 1:
        raise ValueError(f"histogram: bins must be positive, got {bins}")
    if range is None:
        lo, hi = R.min(a), R.max(a)
    else:
        if len(range) != 2:
            raise ValueError("histogram: range must be a pair (min, max)")
        lo, hi = asarray(range[0], _dtype(a)), asarray(range[1], _dtype(a))
    same = B.equal(lo, hi)
    lo = B.where(same, lo - 0.5, lo)
    hi = B.where(same, hi + 0.5, hi)
    return B.linspace(lo, hi, bins + 1, dtype=_dtype(a))


def histogram(a, bins=10, range=None, weights=None, density=None):
    """``(hist, bin_edges)``; ``bins`` is an int or a 1-d array of edges (static size).
    As in JAX, ``hist`` has the float dtype of ``a`` (numpy: int64)."""
    a = _inexact(B.ravel(asarray(a)))[0]
    edges = histogram_bin_edges(a, bins, range)
    nb = _shape(edges)[0]
    if weights is None:
        w = B.ones_like(a)
    else:
        w = B.ravel(asarray(weights))
        if _shape(w) != _shape(a):
            raise ValueError(f"histogram: weights shape {_shape(w)} must match a")
        w = _inexact(w)[0]
    idx = Q.searchsorted(edges, a, side="right")
    idx = B.where(B.equal(a, edges[-1]), nb - 1, idx)
    counts = B.zeros(nb + 1, _dtype(w)).at[idx].add(w, mode="drop")[1:nb]
    if density:
        widths = diff(edges)
        counts = counts / widths / R.sum(counts)
    return counts, edges


# ---- selection ----------------------------------------------------------------------------------


def isin(element, test_elements, assume_unique=False, invert=False, *, method="auto"):
    """Elementwise ``element in test_elements`` (same shape as ``element``)."""
    e, t = B._promote(asarray(element), B.ravel(asarray(test_elements)))
    shp = _shape(e)
    k = _shape(t)[0]
    if k == 0:
        out = B.zeros(shp, np.bool_)
    else:
        eb = ls.broadcast_in_dim(e, shp + (k,), tuple(range(len(shp))))
        tb = ls.broadcast_in_dim(t, shp + (k,), (len(shp),))
        out = lr.reduce_or(le.eq(eb, tb), (len(shp),))
    return B.logical_not(out) if invert else out


def select(condlist, choicelist, default=0):
    """The first ``choicelist[i]`` whose ``condlist[i]`` holds, else ``default``."""
    if len(condlist) != len(choicelist):
        raise ValueError(
            f"select: condlist and choicelist must have the same length, got "
            f"{len(condlist)} and {len(choicelist)}"
        )
    if len(condlist) == 0:
        raise ValueError("select: condlist must be non-empty")
    conds = [asarray(c) for c in condlist]
    for c in conds:
        if _dtype(c) != np.bool_:
            raise TypeError(
                f"select: condlist entries must be boolean arrays, got dtype {_dtype(c)}"
            )
    out = default
    for c, v in zip(conds[::-1], choicelist[::-1]):
        out = B.where(c, v, out)
    return out


def piecewise(x, condlist, funclist, *args, **kw):
    """numpy's piecewise: ``funclist[i]`` (a function or a constant) where ``condlist[i]``;
    one extra entry in ``funclist`` is the value where no condition holds. Later conditions
    win, as in numpy. Every function is evaluated on all of ``x``."""
    x = asarray(x)
    if isinstance(condlist, (list, tuple)):
        conds = [B._to_bool(asarray(c)) for c in condlist]
    else:
        c = B._to_bool(asarray(condlist))
        conds = (
            [c]
            if get_aval(c).ndim == get_aval(x).ndim
            else [c[i] for i in builtins.range(_shape(c)[0])]
        )
    nc, nf = len(conds), len(funclist)
    if nf == nc + 1:
        otherwise = funclist[-1]
        conds = (
            conds + [B.logical_not(functools.reduce(B.logical_or, conds))]
            if nc
            else [B.ones(_shape(x), np.bool_)]
        )
    elif nf == nc:
        otherwise = None
    else:
        raise ValueError(
            f"piecewise: with {nc} condition(s), funclist must have {nc} or "
            f"{nc + 1} entries, got {nf}"
        )
    funcs = list(funclist[:nc]) + ([otherwise] if otherwise is not None else [])
    out = B.zeros_like(x)
    for c, f in zip(conds, funcs):
        val = f(x, *args, **kw) if callable(f) else f
        out = B.where(c, B.astype(val, _dtype(x)), out)
    return out


# ---- inserting, deleting, appending ------------------------------------------------------------


def append(arr, values, axis=None):
    """Values appended at the end (flattened when ``axis`` is None)."""
    if axis is None:
        return S.concatenate([B.ravel(asarray(arr)), B.ravel(asarray(values))])
    return S.concatenate([asarray(arr), asarray(values)], axis=axis)


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
    a = asarray(arr)
    if axis is None:
        a, axis = B.ravel(a), 0
    ax = canonicalize_axis(axis, get_aval(a).ndim)
    n = _shape(a)[ax]
    idx, _ = _obj_indices(obj, n, "insert")
    idx = asarray(idx)
    if get_aval(idx).size == 0:
        idx = B.astype(idx, dtypes.default_int())
    vals = B.array(values, dtype=_dtype(a), ndmin=get_aval(a).ndim)
    if get_aval(idx).size == 1:
        if get_aval(idx).ndim == 0:
            vals = S.moveaxis(vals, 0, ax)
        idx = B.full(_shape(vals)[ax], B.ravel(idx)[0])
    k = B.broadcast_shapes(_shape(idx), (_shape(vals)[ax],))[0]
    idx = B.astype(idx, dtypes.default_int())
    idx = B.clip(B.where(B.less(idx, 0), idx + n, idx), 0, n)
    pos = idx.at[Q.argsort(idx)].add(B.arange(k, dtype=_dtype(idx)))
    keep = B.ones(n + k, np.bool_).at[pos].set(False)
    (arr_pos,) = Q.nonzero(keep, size=n)
    out_shape = list(_shape(a))
    out_shape[ax] = n + k
    vshape = list(_shape(a))
    vshape[ax] = k
    vals = B.broadcast_to(vals, tuple(vshape))
    lead = (slice(None),) * ax
    out = B.zeros(tuple(out_shape), _dtype(a))
    out = out.at[lead + (pos,)].set(vals)
    return out.at[lead + (arr_pos,)].set(a)


def delete(arr, obj, axis=None, *, assume_unique_indices=False):
    """Remove the entries at ``obj`` along ``axis`` (flattened when None). ``obj`` must be
    concrete unless ``assume_unique_indices=True`` (in-range, unique indices; JAX's rule)."""
    a = asarray(arr)
    if axis is None:
        a, axis = B.ravel(a), 0
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
    idx = B.ravel(B.astype(idx, dtypes.default_int()))
    idx = B.where(B.less(idx, 0), idx + n, idx)
    keep = B.ones(n, np.bool_).at[idx].set(False)
    (kept,) = Q.nonzero(keep, size=n - k)
    return take(a, kept, axis=ax)


def trim_zeros(filt, trim="fb"):
    """Strip leading ('f') and/or trailing ('b') zeros of a 1-d array (concrete only)."""
    v = _concrete(asarray(filt), "trim_zeros", "filt")
    if v.ndim != 1:
        raise ValueError(f"trim_zeros: filt must be 1-d, got shape {v.shape}")
    nz = np.nonzero(v)[0]
    if nz.size == 0:
        return asarray(filt)[0:0]
    start = int(nz[0]) if "f" in trim.lower() else 0
    stop = int(nz[-1]) + 1 if "b" in trim.lower() else v.size
    return asarray(filt)[start:stop]


# ---- index helpers ------------------------------------------------------------------------------


def tril_indices(n, k=0, m=None):
    """Row and column indices of the lower triangle of an ``(n, m)`` array (static sizes)."""
    return tuple(_int_indices(i) for i in np.tril_indices(n, k, m))


def triu_indices(n, k=0, m=None):
    """Row and column indices of the upper triangle of an ``(n, m)`` array (static sizes)."""
    return tuple(_int_indices(i) for i in np.triu_indices(n, k, m))


def _check_2d(name, arr):
    if np.ndim(arr) != 2:
        raise ValueError(f"{name}: input array must be 2-d, got shape {np.shape(arr)}")


def tril_indices_from(arr, k=0):
    """``tril_indices`` for the shape of the 2-d ``arr``."""
    _check_2d("tril_indices_from", arr)
    return tril_indices(np.shape(arr)[0], k, np.shape(arr)[1])


def triu_indices_from(arr, k=0):
    """``triu_indices`` for the shape of the 2-d ``arr``."""
    _check_2d("triu_indices_from", arr)
    return triu_indices(np.shape(arr)[0], k, np.shape(arr)[1])


def diag_indices(n, ndim=2):
    """``ndim`` copies of ``arange(n)``: the indices of the main diagonal of an n^ndim array."""
    if n < 0 or ndim < 0:
        raise ValueError(f"diag_indices: n and ndim must be non-negative, got {n}, {ndim}")
    return (_int_indices(np.arange(n)),) * ndim


def diag_indices_from(arr):
    """``diag_indices`` for ``arr``, whose dimensions must all be equal (at least 2)."""
    s = np.shape(arr)
    if len(s) < 2 or len(set(s)) != 1:
        raise ValueError(
            f"diag_indices_from: input must be at least 2-d with equal sides, got shape {s}"
        )
    return diag_indices(s[0], len(s))


def fill_diagonal(a, val, wrap=False, *, inplace=True):
    """The array with its main diagonal set to ``val``. As in JAX, arrays are immutable:
    call it with ``inplace=False`` (it returns the new array)."""
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
    v = B.ravel(B.astype(asarray(val), _dtype(a)))
    nv = _shape(v)[0]
    if nv == 0:
        return a
    v = take(v, _int_indices(np.arange(k) % nv)) if nv != k else v
    flat = B.ravel(a).at[_int_indices(flat_idx)].set(v)
    return ls.reshape(flat, s)


def ix_(*args):
    """Open mesh of 1-d index arrays (boolean arrays become their nonzero indices)."""
    out = []
    n = len(args)
    for i, x in enumerate(args):
        x = asarray(x)
        if get_aval(x).ndim != 1:
            raise ValueError(f"ix_: arguments must be 1-d, got shape {_shape(x)}")
        if _dtype(x) == np.bool_:
            (x,) = Q.nonzero(x)
        shp = [1] * n
        shp[i] = _shape(x)[0]
        out.append(ls.reshape(x, tuple(shp)))
    return tuple(out)


def _canon_np(v):
    v = np.asarray(v)
    return array_from_user(v, dtypes.canonicalize(v.dtype))


class _Grid:
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
                    arr = B.linspace(start, item.stop, int(abs(step)))
                else:
                    arr = B.arange(start, item.stop, step)
                arr = B.array(arr, ndmin=ndmin)
                if ndmin > 1 and trans1d != -1:
                    arr = S.moveaxis(arr, -1, trans1d)
            else:
                arr = asarray(item)
                nd0 = get_aval(arr).ndim
                arr = B.array(arr, ndmin=ndmin)
                if trans1d != -1 and nd0 < ndmin:
                    k2 = ndmin - nd0
                    k1 = trans1d + k2 + 1 if trans1d < 0 else trans1d
                    d = list(range(ndmin))
                    arr = S.transpose(arr, d[:k1] + d[k2:] + d[k1:k2])
            items.append(arr)
        if not items:
            return B.zeros(0)
        return S.concatenate(items, axis=axis)


r_ = _Concat(0, 1, -1)
c_ = _Concat(-1, 2, 0)


def fromfunction(function, shape, *, dtype=float, **kwargs):
    """``function(*indices, **kwargs)`` where ``indices`` are index grids of ``shape``."""
    shape = tuple(operator.index(s) for s in shape)
    dt = dtypes.canonicalize(dtype)
    idx = [
        ls.broadcasted_iota(dt, shape, d)
        if dt.kind in "iu"
        else B.astype(ls.broadcasted_iota(dtypes.default_int(), shape, d), dt)
        for d in range(len(shape))
    ]
    return function(*idx, **kwargs)


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
    return S.moveaxis(a, axis, start)


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
            return B.array(x, ndmin=nd)
        parts = [build(y, level + 1) for y in x]
        return S.concatenate(parts, axis=-(d - level))

    if d == 0:
        return B.array(arrays, ndmin=0)
    return build(arrays, 0)


# ---- polynomials ------------------------------------------------------------------------------


def _poly1d(name, *ps):
    out = []
    for p in ps:
        p = asarray(p)
        if get_aval(p).ndim != 1:
            raise ValueError(f"{name}: polynomial coefficients must be 1-d, got shape {_shape(p)}")
        out.append(p)
    return out


def polyval(p, x, *, unroll=16):
    """Evaluate the polynomial with coefficients ``p`` (highest degree first, along axis 0;
    trailing axes broadcast against ``x``) at ``x``. Inexact result, as in JAX."""
    p, x = _inexact(asarray(p), asarray(x))
    if get_aval(p).ndim == 0:
        raise ValueError("polyval: p must have at least one dimension (the coefficients)")
    y = B.zeros(B.broadcast_shapes(_shape(p)[1:], _shape(x)), _dtype(x))
    for i in range(_shape(p)[0]):
        y = y * x + p[i]
    return y


def _pad_front(p, n):
    k = _shape(p)[0]
    if n == k:
        return p
    return S.concatenate([B.zeros((n - k,) + _shape(p)[1:], _dtype(p)), p])


def _poly_pair(name, a1, a2):
    a1, a2 = B._promote(asarray(a1), asarray(a2))
    if get_aval(a1).ndim == 0 or get_aval(a2).ndim == 0:
        raise ValueError(
            f"{name}: coefficients must be arrays with at least one dimension, "
            f"got shapes {_shape(a1)} and {_shape(a2)}"
        )
    n = builtins.max(_shape(a1)[0], _shape(a2)[0])
    return _pad_front(a1, n), _pad_front(a2, n)


def polyadd(a1, a2):
    """Sum of two polynomials (coefficients along axis 0, highest degree first)."""
    a1, a2 = _poly_pair("polyadd", a1, a2)
    return a1 + a2


def polysub(a1, a2):
    """Difference of two polynomials (coefficients along axis 0, highest degree first)."""
    a1, a2 = _poly_pair("polysub", a1, a2)
    return a1 - a2


def polymul(a1, a2, *, trim_leading_zeros=False):
    """Product of two polynomials (JAX: result is inexact, leading zeros kept by default)."""
    a1, a2 = _poly1d("polymul", *_inexact(asarray(a1), asarray(a2)))
    if trim_leading_zeros:
        a1, a2 = trim_zeros(a1, "f"), trim_zeros(a2, "f")
    if _shape(a1)[0] == 0:
        a1 = B.zeros(1, _dtype(a1))
    if _shape(a2)[0] == 0:
        a2 = B.zeros(1, _dtype(a2))
    return convolve(a1, a2, mode="full")


def polyder(p, m=1):
    """``m``-th derivative of a polynomial (inexact result, as JAX)."""
    (p,) = _poly1d("polyder", *_inexact(asarray(p)))
    m = operator.index(m)
    if m < 0:
        raise ValueError(f"polyder: order of derivative must be non-negative, got {m}")
    for _ in range(m):
        n = _shape(p)[0]
        if n <= 1:
            return B.zeros(0, _dtype(p))
        p = p[:-1] * B.arange(n - 1, 0, -1, dtype=_dtype(p))
    return p


def polyint(p, m=1, k=None):
    """``m``-th antiderivative; ``k`` the integration constant(s) (scalar or ``m`` values)."""
    (p,) = _poly1d("polyint", *_inexact(asarray(p)))
    m = operator.index(m)
    if m < 0:
        raise ValueError(f"polyint: order of integral must be non-negative, got {m}")
    if m == 0:
        return p
    k = B.zeros(m, _dtype(p)) if k is None else B.astype(asarray(k), _dtype(p))
    if get_aval(k).size == 1:
        k = B.broadcast_to(B.ravel(k)[0], (m,))
    if _shape(k) != (m,):
        raise ValueError(f"polyint: k must be a scalar or have length m={m}, got shape {_shape(k)}")
    for i in range(m):
        n = _shape(p)[0]
        p = S.concatenate([p / B.arange(n, 0, -1, dtype=_dtype(p)), k[i : i + 1]])
    return p


def vander(x, N=None, increasing=False):
    """Vandermonde matrix: columns are powers of the 1-d ``x``."""
    x = asarray(x)
    if get_aval(x).ndim != 1:
        raise ValueError(f"vander: x must be 1-d, got shape {_shape(x)}")
    N = _shape(x)[0] if N is None else operator.index(N)
    if N < 0:
        raise ValueError("vander: N must be non-negative")
    cols = [B.ones_like(x)] if N else []
    for _ in range(1, N):
        cols.append(cols[-1] * x)
    if not increasing:
        cols = cols[::-1]
    return S.stack(cols, axis=1) if cols else B.zeros((_shape(x)[0], 0), _dtype(x))


# ---- statistics ---------------------------------------------------------------------------------


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None):
    """Covariance matrix of the variables in the rows (``rowvar``) of ``m`` (and ``y``)."""
    X = B.array(m, ndmin=2)
    if get_aval(asarray(m)).ndim > 2:
        raise ValueError(f"cov: m has more than 2 dimensions (shape {_shape(asarray(m))})")
    X = _inexact(X)[0]
    if not rowvar and _shape(X)[0] != 1:
        X = S.transpose(X)
    if y is not None:
        Y = _inexact(B.array(y, ndmin=2))[0]
        if not rowvar and _shape(Y)[0] != 1:
            Y = S.transpose(Y)
        X, Y = B._promote(X, Y)
        X = S.concatenate([X, Y], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    nobs = _shape(X)[1]
    w = None
    if fweights is not None:
        f = asarray(fweights)
        if get_aval(f).ndim != 1 or _shape(f)[0] != nobs:
            raise ValueError(f"cov: fweights must be 1-d of length {nobs}")
        w = f
    if aweights is not None:
        aw = asarray(aweights)
        if get_aval(aw).ndim != 1 or _shape(aw)[0] != nobs:
            raise ValueError(f"cov: aweights must be 1-d of length {nobs}")
        w = aw if w is None else w * aw
    if w is None:
        avg = R.mean(X, axis=1)
        fact = nobs - ddof
        w_sum = None
    else:
        w = B.astype(w, _dtype(X))
        w_sum = R.sum(w)
        avg = R.sum(X * w, axis=1) / w_sum
        if ddof == 0:
            fact = w_sum
        elif aweights is None:
            fact = w_sum - ddof
        else:
            fact = w_sum - ddof * R.sum(w * B.astype(asarray(aweights), _dtype(X))) / w_sum
    Xc = X - avg[:, None]
    Xw = Xc if w is None else Xc * w
    c = L.matmul(Xw, B.conj(S.transpose(Xc)))
    c = c / fact
    return S.squeeze(c) if _shape(c) == (1, 1) else c


def corrcoef(x, y=None, rowvar=True):
    """Pearson correlation coefficients (clipped to [-1, 1] for real input)."""
    c = cov(x, y, rowvar)
    if get_aval(c).ndim == 0:
        return c / c
    d = S.diagonal(c)
    sd = B.sqrt(B.real(d))
    c = c / sd[:, None] / sd[None, :]
    if _dtype(c).kind != "c":
        c = B.clip(c, -1, 1)
    return c


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, correction=None):
    """Variance ignoring NaNs."""
    a = _inexact(asarray(a))[0]
    if dtype is not None:
        a = B.astype(a, dtype)
    ddof = correction if correction is not None else ddof
    ok = B.logical_not(B.isnan(a))
    if where is not None:
        ok = B.logical_and(ok, B._to_bool(where))
    mu = R.nanmean(B.where(ok, a, np.nan), axis, keepdims=True)
    d = B.where(ok, a - mu, 0)
    sq = B.real(d * B.conj(d)) if _dtype(d).kind == "c" else d * d
    n = R.sum(ok, axis, keepdims=keepdims)
    tot = R.sum(sq, axis, keepdims=keepdims)
    return tot / B.astype(B.maximum(n - ddof, 0), _dtype(tot))


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, correction=None):
    """Standard deviation ignoring NaNs."""
    return B.sqrt(nanvar(a, axis, dtype, out, ddof, keepdims, where, correction))


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """Product treating NaNs as one."""
    a = asarray(a)
    return R.prod(
        B.where(B.isnan(a), B.ones_like(a), a),
        axis,
        dtype,
        keepdims=keepdims,
        initial=initial,
        where=where,
    )


def _nanarg(fn, fill, a, axis, keepdims):
    a = asarray(a)
    nan = B.isnan(a)
    res = fn(B.where(nan, fill, a), axis, keepdims=keepdims)
    all_nan = R.all(nan, axis, keepdims=keepdims)
    return B.where(all_nan, -1, res)


def nanargmax(a, axis=None, out=None, keepdims=False):
    """argmax ignoring NaNs; -1 where a slice is all NaN (numpy raises; JAX gives -1)."""
    return _nanarg(R.argmax, -np.inf, a, axis, keepdims)


def nanargmin(a, axis=None, out=None, keepdims=False):
    """argmin ignoring NaNs; -1 where a slice is all NaN (numpy raises; JAX gives -1)."""
    return _nanarg(R.argmin, np.inf, a, axis, keepdims)


# ---- elementwise -------------------------------------------------------------------------------


def frexp(x, /):
    """Mantissa in [0.5, 1) and integer exponent with ``x = m * 2**e`` (exact for finite
    normal and subnormal floats)."""
    x = _inexact(asarray(x))[0]
    if _dtype(x).kind == "c":
        raise TypeError("frexp does not accept complex input")
    ax = B.abs(x)
    special = B.logical_or(B.equal(x, 0), B.logical_not(B.isfinite(x)))
    safe = B.where(special, B.ones_like(x), ax)
    e = B.floor(B.log2(safe)) + 1
    # log2 can be off by one ulp near powers of two: fix the exponent exactly
    m = _scale2(safe, -e)
    e = B.where(B.greater_equal(m, 1), e + 1, B.where(B.less(m, 0.5), e - 1, e))
    m = _scale2(x, -e)
    eint = B.astype(B.where(special, 0, e), np.int32)
    return B.where(special, x, m), eint


def _scale2(x, e):
    """``x * 2**e`` in two steps, so neither power of two over- or underflows."""
    half = B.floor(e / 2)
    return x * B.exp2(half) * B.exp2(e - half)


def ldexp(x1, x2, /):
    """``x1 * 2**x2`` (``x2`` integer)."""
    x2 = asarray(x2)
    if not dtypes.is_int(_dtype(x2)):
        raise TypeError(f"ldexp: x2 must be an integer array, got {_dtype(x2)}")
    (x1,) = _inexact(asarray(x1))
    return _scale2(x1, B.astype(x2, _dtype(x1)))


def modf(x, /, out=None):
    """Fractional and integral parts, both with the sign of ``x``."""
    x = _inexact(asarray(x))[0]
    whole = B.trunc(x)
    return x - whole, whole


def _int_args(name, x1, x2):
    x1, x2 = B._promote(asarray(x1), asarray(x2))
    if not (dtypes.is_int(_dtype(x1)) or _dtype(x1) == np.bool_):
        raise ValueError(f"{name}: arguments must be integers, got {_dtype(x1)}")
    return B._broadcast(x1, x2)


def gcd(x1, x2, /):
    """Greatest common divisor (non-negative), by Euclid's algorithm in a while_loop."""
    from funcgrad._src.lax.control import while_loop

    a, b = _int_args("gcd", x1, x2)
    a, b = B.abs(a), B.abs(b)

    def cond(c):
        return R.any(B.not_equal(c[1], 0))

    def body(c):
        x, y = c
        nz = B.not_equal(y, 0)
        ysafe = B.where(nz, y, B.ones_like(y))
        return B.where(nz, y, x), B.where(nz, B.remainder(x, ysafe), B.zeros_like(y))

    return while_loop(cond, body, (a, b))[0]


def lcm(x1, x2, /):
    """Least common multiple (non-negative)."""
    a, b = _int_args("lcm", x1, x2)
    g = gcd(a, b)
    zero = B.equal(g, 0)
    return B.where(zero, B.zeros_like(a), B.abs(a * B.floor_divide(b, B.where(zero, 1, g))))


def i0(x):
    """Modified Bessel function of the first kind, order 0 (Cephes' Chebyshev expansions)."""
    x = _inexact(asarray(x))[0]
    ax = B.abs(x)
    small = B.less_equal(ax, 8.0)
    ys = ax / 2.0 - 2.0
    yl = 32.0 / B.where(small, 8.0, ax) - 2.0
    vs = _chbevl(ys, _I0_A) * B.exp(ax)
    vl = _chbevl(yl, _I0_B) * B.exp(ax) / B.sqrt(B.where(small, 8.0, ax))
    return B.where(small, vs, vl)


def _chbevl(x, coeffs):
    b0 = B.zeros_like(x)
    b1 = B.zeros_like(x)
    b2 = b1
    for c in coeffs:
        b2 = b1
        b1 = b0
        b0 = x * b1 - b2 + c
    return 0.5 * (b0 - b2)


_I0_A = [
    -4.41534164647933937950e-18,
    3.33079451882223809783e-17,
    -2.43127984654795469359e-16,
    1.71539128555513303061e-15,
    -1.16853328779934516808e-14,
    7.67618549860493561688e-14,
    -4.85644678311192946090e-13,
    2.95505266312963983461e-12,
    -1.72682629144155570723e-11,
    9.67580903537323691224e-11,
    -5.18979560163526290666e-10,
    2.65982372468238665035e-9,
    -1.30002500998624804212e-8,
    6.04699502254191894932e-8,
    -2.67079385394061173391e-7,
    1.11738753912010371815e-6,
    -4.41673835845875056359e-6,
    1.64484480707288970893e-5,
    -5.75419501008210370398e-5,
    1.88502885095841655729e-4,
    -5.76375574538582365885e-4,
    1.63947561694133579842e-3,
    -4.32430999505057594430e-3,
    1.05464603945949983183e-2,
    -2.37374148058994688156e-2,
    4.93052842396707084878e-2,
    -9.49010970480476444210e-2,
    1.71620901522208775349e-1,
    -3.04682672343198398683e-1,
    6.76795274409476084995e-1,
]
_I0_B = [
    -7.23318048787475395456e-18,
    -4.83050448594418207126e-18,
    4.46562142029675999901e-17,
    3.46122286769746109310e-17,
    -2.82762398051658348494e-16,
    -3.42548561967721913462e-16,
    1.77256013305652638360e-15,
    3.81168066935262242075e-15,
    -9.55484669882830764870e-15,
    -4.15056934728722208663e-14,
    1.54008621752140982691e-14,
    3.85277838274214270114e-13,
    7.18012445138366623367e-13,
    -1.79417853150680611778e-12,
    -1.32158118404477131188e-11,
    -3.14991652796324136454e-11,
    1.18891471078464383424e-11,
    4.94060238822496958910e-10,
    3.39623202570838634515e-9,
    2.26666899049817806459e-8,
    2.04891858946906374183e-7,
    2.89137052083475648297e-6,
    6.88975834691682398426e-5,
    3.36911647825569408990e-3,
    8.04490411014108831608e-1,
]


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """Numbers spaced evenly on a log scale, from ``start`` to ``stop`` (same sign)."""
    start, stop = _inexact(asarray(start), asarray(stop))
    sign = B.sign(start)
    ls_ = B.linspace(
        B.log10(start / sign),
        B.log10(stop / sign),
        num,
        endpoint=endpoint,
        dtype=_dtype(start),
        axis=0,
    )
    out = sign * B.power(10.0, ls_)
    if num > 0:
        out = out.at[0].set(start)
        if endpoint and num > 1:
            out = out.at[-1].set(stop)
    if dtype is not None:
        out = B.astype(out, dtype)
    return S.moveaxis(out, 0, axis) if axis != 0 else out


# ---- function helpers ----------------------------------------------------------------------------


def _parse_signature(sig):
    import re

    m = re.fullmatch(r"\s*(\(.*?\)(?:\s*,\s*\(.*?\))*)\s*->\s*(\(.*?\)(?:\s*,\s*\(.*?\))*)\s*", sig)
    if not m:
        raise ValueError(f"vectorize: not a valid gufunc signature: {sig!r}")

    def groups(s):
        return [
            tuple(d.strip() for d in g.split(",") if d.strip()) for g in re.findall(r"\((.*?)\)", s)
        ]

    return groups(m.group(1)), groups(m.group(2))


def vectorize(pyfunc, *, excluded=frozenset(), signature=None):
    """numpy's vectorize via vmap: ``pyfunc`` is applied to scalar elements (or, with a gufunc
    ``signature`` such as ``'(n),(n)->()'``, to core sub-arrays), broadcasting the rest."""
    from funcgrad._src.api import vmap

    ins, _ = _parse_signature(signature) if signature is not None else (None, None)

    @functools.wraps(pyfunc)
    def wrapped(*args, **kwargs):
        fixed = {i: a for i, a in enumerate(args) if i in excluded}
        fixed_kw = {k: v for k, v in kwargs.items() if k in excluded}
        kw = {k: v for k, v in kwargs.items() if k not in excluded}
        names = list(kw)
        dyn = [asarray(a) for i, a in enumerate(args) if i not in excluded] + [
            asarray(kw[k]) for k in names
        ]
        nd = len(dyn) - len(names)
        core = ins if ins is not None else [()] * len(dyn)
        if len(core) != len(dyn):
            raise TypeError(
                f"vectorize: signature has {len(core)} inputs, got {len(dyn)} arguments"
            )
        sizes = {}
        for x, dims in zip(dyn, core):
            s = _shape(x)
            if len(s) < len(dims):
                raise ValueError(
                    f"vectorize: input with shape {s} has fewer dimensions than "
                    f"its core dimensions {dims}"
                )
            for d, n in zip(dims, s[len(s) - len(dims) :] if dims else ()):
                if sizes.setdefault(d, n) != n:
                    raise ValueError(
                        f"vectorize: inconsistent size for core dimension {d!r}: {sizes[d]} vs {n}"
                    )
        batch = B.broadcast_shapes(
            *[_shape(x)[: len(_shape(x)) - len(c)] for x, c in zip(dyn, core)]
        )
        dyn = [
            B.broadcast_to(x, batch + _shape(x)[len(_shape(x)) - len(c) :])
            for x, c in zip(dyn, core)
        ]

        def call(*xs):
            pos = list(xs[:nd])
            full = []
            for i in range(len(args)):
                full.append(fixed[i] if i in fixed else pos.pop(0))
            return pyfunc(*full, **fixed_kw, **dict(zip(names, xs[nd:])))

        f = call
        for _ in range(len(batch)):
            f = vmap(f)
        return f(*dyn)

    return wrapped


def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """Apply ``func1d`` to 1-d slices along ``axis`` (via vmap over the other axes)."""
    from funcgrad._src.api import vmap

    arr = asarray(arr)
    nd = get_aval(arr).ndim
    axis = canonicalize_axis(axis, nd)
    f = lambda x: func1d(x, *args, **kwargs)  # noqa: E731
    for i in range(1, nd - axis):
        f = vmap(f, in_axes=-1, out_axes=-1)
    for i in range(axis):
        f = vmap(f, in_axes=0, out_axes=0)
    return f(arr)


# ---- sets --------------------------------------------------------------------------------------


def unique_values(x, /, *, size=None, fill_value=None):
    """Sorted unique values (``size=`` for a fixed-size result that works under jit)."""
    return Q.unique(x, size=size, fill_value=fill_value)


class UniqueCountsResult(NamedTuple):
    values: object
    counts: object


def unique_counts(x, /, *, size=None, fill_value=None):
    """``(values, counts)``; with ``size=``, padded with ``fill_value`` (default: the smallest
    value) and count 0."""
    x = B.ravel(asarray(x))
    if size is None:
        v = _concrete(x, "unique_counts", "x (without size=)")
        vals, counts = np.unique(v, return_counts=True)
        return UniqueCountsResult(
            array_from_user(vals, _dtype(x)),
            array_from_user(counts.astype(np.int64), dtypes.default_int()),
        )
    size = operator.index(size)
    s = Q.sort(x)
    n = _shape(s)[0]
    if n == 0:
        fv = 0 if fill_value is None else fill_value
        return B.full(size, fv, _dtype(s)), B.zeros(size, dtypes.default_int())
    new = S.concatenate([B.ones(1, np.bool_), B.not_equal(s[1:], s[:-1])])
    (starts,) = Q.nonzero(new, size=size, fill_value=n)
    nuniq = R.sum(new)
    valid = B.less(B.arange(size), nuniq)
    ends = S.concatenate([starts[1:], B.full(1, n, _dtype(starts))])
    ends = B.where(B.less(B.arange(size), nuniq - 1), ends, n)
    counts = B.where(valid, ends - starts, 0)
    fill = s[0] if fill_value is None else B.astype(fill_value, _dtype(s))
    vals = B.where(valid, take(s, B.minimum(starts, n - 1)), fill)
    return UniqueCountsResult(vals, counts)


def _set_result(vals, mask, size, fill_value, name):
    """Values where ``mask`` holds: all of them (concrete) or ``size`` of them."""
    if size is None:
        m = _concrete(mask, name, "the inputs (without size=)")
        return take(vals, _int_indices(np.nonzero(m)[0]))
    size = operator.index(size)
    n = _shape(vals)[0]
    (idx,) = Q.nonzero(mask, size=size, fill_value=0)
    cnt = R.sum(mask)
    valid = B.less(B.arange(size), cnt)
    if n == 0:
        return B.full(size, 0 if fill_value is None else fill_value, _dtype(vals))
    picked = take(vals, idx)
    # default fill: the smallest value of the result (as unique(size=...))
    fill = picked[0] if fill_value is None else B.astype(fill_value, _dtype(vals))
    return B.where(valid, picked, fill)


def _sorted_unique_mask(s):
    n = _shape(s)[0]
    if n == 0:
        return B.zeros(0, np.bool_)
    return S.concatenate([B.ones(1, np.bool_), B.not_equal(s[1:], s[:-1])])


def union1d(ar1, ar2, *, size=None, fill_value=None):
    """Sorted unique values in either array."""
    a = S.concatenate([B.ravel(asarray(ar1)), B.ravel(asarray(ar2))])
    s = Q.sort(a)
    return _set_result(s, _sorted_unique_mask(s), size, fill_value, "union1d")


def setdiff1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """Sorted unique values of ``ar1`` that are not in ``ar2``."""
    a1, a2 = B._promote(B.ravel(asarray(ar1)), B.ravel(asarray(ar2)))
    s = Q.sort(a1)
    mask = B.logical_and(_sorted_unique_mask(s), isin(s, a2, invert=True))
    return _set_result(s, mask, size, fill_value, "setdiff1d")


def intersect1d(ar1, ar2, assume_unique=False, return_indices=False, *, size=None, fill_value=None):
    """Sorted unique values in both arrays (``return_indices``: first positions in each)."""
    a1, a2 = B._promote(B.ravel(asarray(ar1)), B.ravel(asarray(ar2)))
    o1 = Q.argsort(a1)
    s = take(a1, o1)
    mask = B.logical_and(_sorted_unique_mask(s), isin(s, a2))
    vals = _set_result(s, mask, size, fill_value, "intersect1d")
    if not return_indices:
        return vals
    idx1 = _set_result(o1, mask, size, 0, "intersect1d")
    n2 = _shape(a2)[0]
    eq = le.eq(
        ls.broadcast_in_dim(vals, _shape(vals) + (n2,), (0,)),
        ls.broadcast_in_dim(a2, _shape(vals) + (n2,), (1,)),
    )
    idx2 = R.argmax(eq, axis=1) if n2 else B.zeros(_shape(vals), dtypes.default_int())
    return vals, idx1, idx2


# ---- sorting -----------------------------------------------------------------------------------


def _kth(kth, n, name):
    kth = operator.index(kth)
    if not -n <= kth < n:
        raise ValueError(f"{name}: kth={kth} out of bounds for an axis of size {n}")
    return kth


def partition(a, kth, axis=-1):
    """Elements rearranged so position ``kth`` holds the value it would have after sorting,
    smaller values before it and larger after. The order inside the two parts is
    unspecified in numpy; funcgrad returns them sorted (JAX's order differs too)."""
    a = asarray(a)
    ax = canonicalize_axis(axis, get_aval(a).ndim)
    _kth(kth, _shape(a)[ax], "partition")
    return Q.sort(a, axis=ax)


def argpartition(a, kth, axis=-1):
    """Indices that would partition ``a`` (see ``partition``; funcgrad's are argsort's)."""
    a = asarray(a)
    ax = canonicalize_axis(axis, get_aval(a).ndim)
    _kth(kth, _shape(a)[ax], "argpartition")
    return Q.argsort(a, axis=ax)


def lexsort(keys, axis=-1):
    """Indirect stable sort by several keys; the *last* key is the primary one."""
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
    shp = B.broadcast_shapes(*[_shape(k) for k in keys])
    if len(shp) == 0:
        raise ValueError("lexsort: keys must be at least 1-d")
    keys = [B.broadcast_to(k, shp) for k in keys]
    ax = canonicalize_axis(axis, len(shp))
    io = ls.broadcasted_iota(dtypes.default_int(), shp, ax)
    return lr.sort(keys[::-1] + [io], ax, num_keys=len(keys))[-1]


def sort_complex(a):
    """Sort by real part, then imaginary part, along the last axis; the result is complex."""
    from funcgrad._src.indexing import take_along_axis

    a = asarray(a)
    dt = _dtype(a) if _dtype(a).kind == "c" else B.result_type(_dtype(a), np.complex64)
    a = B.astype(a, dt)
    return take_along_axis(a, lexsort([B.imag(a), B.real(a)], axis=-1), -1)


# ---- dtypes ----------------------------------------------------------------------------------


def can_cast(from_, to, casting="safe"):
    """numpy's can_cast on dtypes, knowing bfloat16. Arrays are not accepted (numpy 2, JAX)."""
    if isinstance(from_, (B.Array, Tracer)):
        raise TypeError("can_cast: from_ must be a dtype (pass x.dtype, not an array)")
    f, t = dtypes.as_dtype(from_), dtypes.as_dtype(to)
    if not (dtypes.is_bf16(f) or dtypes.is_bf16(t)):
        return bool(np.can_cast(f, t, casting))
    if f == t or casting == "unsafe":
        return True
    if casting in ("no", "equiv"):
        return False
    if dtypes.is_bf16(f):  # bfloat16 fits exactly in float32/64 and complex
        return t.kind in "fc" and (casting == "same_kind" or t.itemsize >= 4)
    if casting == "same_kind":
        return f.kind in "biuf"
    return f.kind == "b" or (f.kind in "iu" and f.itemsize == 1)


float0 = np.dtype([("float0", np.void, 0)])
