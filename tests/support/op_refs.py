"""Numpy references of the op table (``op_table.py``) that need more than one line."""

from __future__ import annotations

import math

import numpy as np

try:
    import scipy.special as sps
except ImportError:  # pragma: no cover
    sps = None


def vec(f, dt=None):
    """Elementwise ``f`` of Python scalars as a function of arrays (keeps the dtype)."""
    return lambda x: (
        np.vectorize(f, otypes=[dt or x.dtype])(x).astype(x.dtype) if x.size else x.copy()
    )


def lgamma(x):
    return vec(math.lgamma)(x)


def saturating_cast(x, dtype):
    info = np.iinfo(dtype)
    with np.errstate(invalid="ignore"):
        y = np.where(np.isnan(x), 0.0, np.clip(np.trunc(x.astype(np.float64)), info.min, info.max))
        # float(info.max) rounds up to 2**31 / 2**63: saturate those explicitly
        return np.where(y >= float(info.max), info.max, y.astype(dtype)).astype(dtype)


def int_div(x, y):
    q = np.abs(x.astype(np.int64)) // np.abs(y.astype(np.int64))
    return (np.sign(x) * np.sign(y) * q).astype(x.dtype)


def pad_ref(x, val, config):
    """lax.pad: interior padding, then (possibly negative) low/high padding per axis."""
    for ax, (lo, hi, it) in enumerate(config):
        n = x.shape[ax]
        shape = list(x.shape)
        shape[ax] = n + max(n - 1, 0) * it
        y = np.full(shape, val, x.dtype)
        idx = [slice(None)] * x.ndim
        idx[ax] = slice(None, None, it + 1)
        y[tuple(idx)] = x
        pads = [(0, 0)] * x.ndim
        pads[ax] = (max(lo, 0), max(hi, 0))
        y = np.pad(y, pads, constant_values=val)
        crop = [slice(None)] * x.ndim
        crop[ax] = slice(-min(lo, 0), y.shape[ax] + min(hi, 0))
        x = y[tuple(crop)]
    return x


def same_pads(in_sp, k_sp, strides, rhs_dil):
    pads = []
    for n, k, s, d in zip(in_sp, k_sp, strides, rhs_dil):
        out = -(-n // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - n)
        pads.append((total // 2, total - total // 2))
    return pads


def conv_ref(lhs, rhs, strides, padding, lhs_dil=None, rhs_dil=None, groups=1):
    """Direct convolution (NC*, OI*): dilate, pad, then one window sum per output position."""
    nsp = lhs.ndim - 2
    lhs_dil, rhs_dil = lhs_dil or (1,) * nsp, rhs_dil or (1,) * nsp
    if isinstance(padding, str):
        padding = (
            [(0, 0)] * nsp
            if padding == "VALID"
            else same_pads(lhs.shape[2:], rhs.shape[2:], strides, rhs_dil)
        )
    x = lhs.astype(np.float64)
    for ax, d in enumerate(lhs_dil):
        x = pad_ref(x, 0.0, [(0, 0, 0)] * (2 + ax) + [(0, 0, d - 1)] + [(0, 0, 0)] * (nsp - ax - 1))
    x = pad_ref(x, 0.0, [(0, 0, 0)] * 2 + [(lo, hi, 0) for lo, hi in padding])
    k = rhs.astype(np.float64)
    for ax, d in enumerate(rhs_dil):
        k = pad_ref(k, 0.0, [(0, 0, 0)] * (2 + ax) + [(0, 0, d - 1)] + [(0, 0, 0)] * (nsp - ax - 1))
    n, o, i = x.shape[0], k.shape[0], k.shape[1]
    out_sp = [
        max(0, (xs - ks) // s + 1) if xs >= ks else 0
        for xs, ks, s in zip(x.shape[2:], k.shape[2:], strides)
    ]
    out = np.zeros([n, o] + out_sp)
    og = o // groups
    for g in range(groups):
        xg, kg = x[:, g * i : (g + 1) * i], k[g * og : (g + 1) * og]
        for pos in np.ndindex(*out_sp):
            win = tuple(slice(p * s, p * s + ks) for p, s, ks in zip(pos, strides, k.shape[2:]))
            w = xg[(slice(None), slice(None)) + win]
            out[(slice(None), slice(g * og, (g + 1) * og)) + pos] = np.tensordot(
                w, kg, axes=(list(range(1, w.ndim)), list(range(1, kg.ndim)))
            )
    return out.astype(lhs.dtype)


def gather_ref(x, idx, axes, mode="clip"):
    idx = idx.astype(np.int64)
    sizes = np.array([x.shape[a] for a in axes])
    valid = np.all((idx >= 0) & (idx < sizes), -1)
    ci = np.clip(idx, 0, sizes - 1)
    xt = np.moveaxis(x, axes, range(len(axes)))
    out = xt[tuple(ci[..., j] for j in range(len(axes)))]
    if mode == "fill":
        out = np.where(valid.reshape(valid.shape + (1,) * (out.ndim - valid.ndim)), out, np.nan)
    return out.astype(x.dtype)


def scatter_ref(x, idx, upd, ufunc=None):
    out = x.copy()
    if ufunc is None:
        out[idx[..., 0]] = upd
    else:
        ufunc.at(out, idx[..., 0], upd)
    return out


def sort_ref(k, v):
    perm = np.argsort(k, axis=-1, kind="stable")
    return np.take_along_axis(k, perm, -1), np.take_along_axis(v, perm, -1)


def sort2_ref(k1, k2, v):
    perm = np.lexsort((k2, k1), axis=-1)
    return tuple(np.take_along_axis(a, perm, -1) for a in (k1, k2, v))


def dot_ref(dn):
    (lc, rc), (lb, rb) = dn

    def ref(x, y):
        lf = [i for i in range(x.ndim) if i not in lc and i not in lb]
        rf = [i for i in range(y.ndim) if i not in rc and i not in rb]
        xs = np.transpose(x, list(lb) + lf + list(lc)).astype(np.float64)
        ys = np.transpose(y, list(rb) + list(rc) + rf).astype(np.float64)
        nb, nlf, nc = len(lb), len(lf), len(lc)
        letters = "abcdefghijklmnopqrstuvwxyz"
        b, f1, c, f2 = (
            letters[:nb],
            letters[nb : nb + nlf],
            letters[10 : 10 + nc],
            letters[20 : 20 + len(rf)],
        )
        return np.einsum(f"{b}{f1}{c},{b}{c}{f2}->{b}{f1}{f2}", xs, ys).astype(x.dtype)

    return ref


def cummax_ref(x, axis=0):
    return np.maximum.accumulate(x, axis=axis)


def start(s, n, k):
    """JAX's dynamic start: a negative index counts from the end, then it is clamped so that a
    slice of size ``k`` fits in ``n``."""
    s = int(s)
    return int(np.clip(s + n if s < 0 else s, 0, n - k))


def dus_ref(x, u, starts):
    out = x.copy()
    st = [start(s, n, k) for s, n, k in zip(starts, x.shape, u.shape)]
    out[tuple(slice(s, s + k) for s, k in zip(st, u.shape))] = u
    return out
