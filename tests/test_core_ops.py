"""One op table drives every check of the primitives (STYLE principle 12).

Each row: a function built from funcgrad.lax / funcgrad.numpy, its numpy reference, the
argument shapes to try (scalars, size-1 and empty dims), per-argument input kinds, dtypes,
tolerance and whether it is differentiable. The tests:

- values vs numpy (eager), for every shape set and dtype;
- output dtype/shape (and weak type) of the staged program (make_jaxpr) == the eager result;
- check_grads to second order (fwd + rev) on the first shape set, float64 with x64;
- vmap vs a Python loop, with in_axes 0, 1, None and mixes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.lax as lax
import funcgrad.numpy as fnp
from funcgrad import tree_util as tu
from funcgrad.test_util import check_grads

try:
    import scipy.special as sps
except ImportError:  # pragma: no cover
    sps = None

F32, F64, I32, U8, BOOL = (np.dtype(d) for d in ("float32", "float64", "int32", "uint8", "bool"))


class Op(NamedTuple):
    name: str
    fn: Callable  # funcgrad function of the arguments
    ref: Callable  # numpy reference
    shapes: list  # list of tuples of argument shapes; shapes[0] is used for grads/vmap
    kinds: tuple = ("normal",)  # input kind per argument (the last one repeats)
    dtypes: tuple = (F32,)  # dtypes of the value arguments (index/bool kinds keep their own)
    tol: float = 1e-5  # rtol for float32 values (atol = tol as well)
    diff: bool = True  # differentiable: check_grads to second order
    vmap: bool = True
    order: int = 2  # derivative order checked (digamma: trigamma has no derivative)
    grad_tol: float | None = 1e-5  # None: check_grads' per-dtype default
    grad_eps: float | None = None  # finite-difference step (None: per-dtype default)


# ---- input generation ------------------------------------------------------------------------


def _values(rng, kind: str, shape, dtype):
    """Random inputs of a given kind; ``idx<n>`` / ``uidx<n>`` are int32 indices in [0, n)."""
    if kind.startswith("uidx"):  # unique indices, shape (m, 1)
        n = int(kind[4:])
        return rng.permutation(n)[: shape[0]].reshape(shape).astype(np.int32)
    if kind.startswith("idx"):
        lo, hi = (int(v) for v in kind[3:].split(":")) if ":" in kind else (0, int(kind[3:]))
        return rng.integers(lo, hi, shape).astype(np.int32)
    if kind == "bool":
        return rng.random(shape) < 0.5
    if kind == "which3":
        return rng.integers(0, 3, shape).astype(np.int32)
    n = int(np.prod(shape, dtype=np.int64))
    gen = {
        "normal": lambda: rng.standard_normal(shape),
        "pos": lambda: rng.uniform(0.5, 2.0, shape),
        "unit": lambda: rng.uniform(-0.9, 0.9, shape),
        "gt1": lambda: rng.uniform(1.2, 3.0, shape),
        "nonzero": lambda: rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape),
        "ties": lambda: rng.integers(-2, 3, shape).astype(np.float64),
        "distinct": lambda: (
            (rng.permutation(n).reshape(shape) - n / 2) * 0.5 + rng.uniform(-0.1, 0.1, shape)
        ),
        "wide": lambda: rng.choice(
            [
                1e10,
                -1e10,
                np.nan,
                np.inf,
                -np.inf,
                3.7,
                -3.7,
                300.5,
                -129.5,
                2.0**31,
                -(2.0**31) - 5,
            ],
            shape,
        ),
        "small_int": lambda: rng.integers(-8, 9, shape).astype(np.float64),
        "shift": lambda: rng.integers(-2, 40, shape).astype(np.float64),
    }[kind]()
    if dtype.kind in "iu":
        if kind in ("pos", "gt1"):
            gen = rng.integers(1, 5, shape)
        elif kind == "nonzero":
            gen = rng.choice([-3, -2, -1, 1, 2, 3], shape)
        elif kind not in ("small_int", "shift", "ties"):
            gen = np.round(gen * 3)
        if dtype.kind == "u":
            gen = np.abs(gen)
    if dtype.kind == "b":
        return gen > 0
    return np.asarray(gen).astype(dtype)


def _make_args(op: Op, shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    kinds = op.kinds + (op.kinds[-1],) * (len(shapes) - len(op.kinds))
    return [_values(rng, k, s, dtype) for k, s in zip(kinds, shapes)]


def _is_value_kind(kind: str) -> bool:
    return not (kind.startswith("idx") or kind.startswith("uidx") or kind in ("bool", "which3"))


# ---- numpy references that need a few lines ---------------------------------------------------


def _vec(f, dt=None):
    return lambda x: (
        np.vectorize(f, otypes=[dt or x.dtype])(x).astype(x.dtype) if x.size else x.copy()
    )


def _saturating_cast(x, dtype):
    info = np.iinfo(dtype)
    with np.errstate(invalid="ignore"):
        y = np.where(np.isnan(x), 0.0, np.clip(np.trunc(x.astype(np.float64)), info.min, info.max))
        # float(info.max) rounds up to 2**31 / 2**63: saturate those explicitly
        return np.where(y >= float(info.max), info.max, y.astype(dtype)).astype(dtype)


def _int_div(x, y):
    q = np.abs(x.astype(np.int64)) // np.abs(y.astype(np.int64))
    return (np.sign(x) * np.sign(y) * q).astype(x.dtype)


def _pad_ref(x, val, config):
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


def _same_pads(in_sp, k_sp, strides, rhs_dil):
    pads = []
    for n, k, s, d in zip(in_sp, k_sp, strides, rhs_dil):
        out = -(-n // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - n)
        pads.append((total // 2, total - total // 2))
    return pads


def _conv_ref(lhs, rhs, strides, padding, lhs_dil=None, rhs_dil=None, groups=1):
    """Direct convolution (NC*, OI*): dilate, pad, then one window sum per output position."""
    nsp = lhs.ndim - 2
    lhs_dil, rhs_dil = lhs_dil or (1,) * nsp, rhs_dil or (1,) * nsp
    if isinstance(padding, str):
        padding = (
            [(0, 0)] * nsp
            if padding == "VALID"
            else _same_pads(lhs.shape[2:], rhs.shape[2:], strides, rhs_dil)
        )
    x = lhs.astype(np.float64)
    for ax, d in enumerate(lhs_dil):
        x = _pad_ref(
            x, 0.0, [(0, 0, 0)] * (2 + ax) + [(0, 0, d - 1)] + [(0, 0, 0)] * (nsp - ax - 1)
        )
    x = _pad_ref(x, 0.0, [(0, 0, 0)] * 2 + [(lo, hi, 0) for lo, hi in padding])
    k = rhs.astype(np.float64)
    for ax, d in enumerate(rhs_dil):
        k = _pad_ref(
            k, 0.0, [(0, 0, 0)] * (2 + ax) + [(0, 0, d - 1)] + [(0, 0, 0)] * (nsp - ax - 1)
        )
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


def _gather_ref(x, idx, axes, mode="clip"):
    idx = idx.astype(np.int64)
    sizes = np.array([x.shape[a] for a in axes])
    valid = np.all((idx >= 0) & (idx < sizes), -1)
    ci = np.clip(idx, 0, sizes - 1)
    xt = np.moveaxis(x, axes, range(len(axes)))
    out = xt[tuple(ci[..., j] for j in range(len(axes)))]
    if mode == "fill":
        out = np.where(valid.reshape(valid.shape + (1,) * (out.ndim - valid.ndim)), out, np.nan)
    return out.astype(x.dtype)


def _scatter_ref(x, idx, upd, ufunc=None):
    out = x.copy()
    if ufunc is None:
        out[idx[..., 0]] = upd
    else:
        ufunc.at(out, idx[..., 0], upd)
    return out


def _sort_ref(k, v):
    perm = np.argsort(k, axis=-1, kind="stable")
    return np.take_along_axis(k, perm, -1), np.take_along_axis(v, perm, -1)


def _sort2_ref(k1, k2, v):
    perm = np.lexsort((k2, k1), axis=-1)
    return tuple(np.take_along_axis(a, perm, -1) for a in (k1, k2, v))


def _dot_ref(dn):
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


def _cummax_ref(x, axis=0):
    return np.maximum.accumulate(x, axis=axis)


def _conv_op(tag, shapes, strides, padding, lhs_dil, rhs_dil, groups):
    fn = lambda x, w: lax.conv_general_dilated(
        x, w, strides, padding, lhs_dil, rhs_dil, feature_group_count=groups
    )
    ref = lambda x, w: _conv_ref(x, w, strides, padding, lhs_dil, rhs_dil, groups)
    return Op(f"conv_{tag}", fn, ref, [shapes], tol=1e-4)


# ---- the table -------------------------------------------------------------------------------

UN_SHAPES = [((2, 3),), ((),), ((1, 4),), ((0, 3),)]
BIN_SHAPES = [((2, 3), (2, 3)), ((), ()), ((1, 1), (1, 1)), ((0, 2), (0, 2))]
BCAST_SHAPES = [((3, 1), (1, 4)), ((2, 3), ()), ((), (4,)), ((0, 1), (1, 3))]
INT_DTYPES = (I32,)


def unary(name, fn, ref, kind="normal", tol=1e-5, diff=True, dtypes=(F32,), order=2, grad_tol=1e-5):
    return Op(name, fn, ref, UN_SHAPES, (kind,), dtypes, tol, diff, order=order, grad_tol=grad_tol)


def binary(name, fn, ref, kinds=("normal",), tol=1e-5, diff=True, dtypes=(F32,), shapes=BIN_SHAPES):
    return Op(name, fn, ref, shapes, kinds, dtypes, tol, diff)


def _lgamma(x):
    return _vec(math.lgamma)(x)


OPS = [
    # -- unary elementwise math
    unary("neg", lax.neg, np.negative, dtypes=(F32, I32)),
    unary("exp", lax.exp, np.exp, dtypes=(F32, F64)),
    unary("exp2", lax.exp2, np.exp2),
    unary("log", lax.log, np.log, "pos"),
    unary("expm1", lax.expm1, np.expm1),
    unary("log1p", lax.log1p, np.log1p, "pos"),
    unary("tanh", lax.tanh, np.tanh),
    unary("logistic", lax.logistic, lambda x: 1 / (1 + np.exp(-x))),
    unary("sin", lax.sin, np.sin),
    unary("cos", lax.cos, np.cos),
    unary("tan", lax.tan, np.tan, "unit"),
    unary("asin", lax.asin, np.arcsin, "unit"),
    unary("acos", lax.acos, np.arccos, "unit"),
    unary("atan", lax.atan, np.arctan),
    unary("sinh", lax.sinh, np.sinh),
    unary("cosh", lax.cosh, np.cosh),
    unary("asinh", lax.asinh, np.arcsinh),
    unary("acosh", lax.acosh, np.arccosh, "gt1"),
    unary("atanh", lax.atanh, np.arctanh, "unit"),
    unary("sqrt", lax.sqrt, np.sqrt, "pos"),
    unary("rsqrt", lax.rsqrt, lambda x: 1 / np.sqrt(x), "pos"),
    unary("cbrt", lax.cbrt, np.cbrt, "nonzero"),
    unary("abs", lax.abs, np.abs, "nonzero", dtypes=(F32, I32)),
    unary("sign", lax.sign, np.sign, "nonzero", diff=False, dtypes=(F32, I32)),
    unary("floor", lax.floor, np.floor, diff=False),
    unary("ceil", lax.ceil, np.ceil, diff=False),
    unary(
        "round_away",
        lax.round,
        lambda x: np.sign(x) * np.floor(np.abs(x) + 0.5),
        "small_int",
        diff=False,
    ),
    unary("round_even", lambda x: lax.round(x, 1), np.round, "small_int", diff=False),
    Op(
        "round_half",
        lambda x: lax.round(x * 0.5),
        lambda x: np.sign(x) * np.floor(np.abs(x * 0.5) + 0.5),
        UN_SHAPES,
        ("small_int",),
        diff=False,
    ),
    unary("is_finite", lax.is_finite, np.isfinite, "wide", diff=False),
    unary("erf", lax.erf, _vec(math.erf)),
    unary("erfc", lax.erfc, _vec(math.erfc)),
    unary("erf_inv", lax.erf_inv, lambda x: sps.erfinv(x), "unit", tol=1e-4, grad_tol=1e-4),
    unary("lgamma", lax.lgamma, _lgamma, "pos", tol=1e-4, grad_tol=1e-4),
    unary(
        "digamma", lax.digamma, lambda x: sps.digamma(x), "pos", tol=1e-4, order=1, grad_tol=1e-4
    ),
    unary("integer_pow3", lambda x: lax.integer_pow(x, 3), lambda x: x**3, dtypes=(F32, I32)),
    unary("integer_pow_neg2", lambda x: lax.integer_pow(x, -2), lambda x: x**-2.0, "nonzero"),
    unary("integer_pow0", lambda x: lax.integer_pow(x, 0), lambda x: np.ones_like(x)),
    unary("square", lax.square, np.square),
    unary("fnp.reciprocal", fnp.reciprocal, np.reciprocal, "nonzero"),
    # -- binary arithmetic (strict lax: same shapes and dtypes)
    binary("add", lax.add, np.add, dtypes=(F32, I32, F64, np.dtype("int64"))),
    binary("sub", lax.sub, np.subtract, dtypes=(F32, I32)),
    binary("mul", lax.mul, np.multiply, dtypes=(F32, I32)),
    binary("div", lax.div, np.divide, ("normal", "nonzero")),
    binary("div_int", lax.div, _int_div, ("small_int", "nonzero"), diff=False, dtypes=INT_DTYPES),
    binary("rem", lax.rem, np.fmod, ("normal", "nonzero")),
    binary("rem_int", lax.rem, np.fmod, ("small_int", "nonzero"), diff=False, dtypes=INT_DTYPES),
    binary("pow", lax.pow, np.power, ("pos", "normal")),
    binary("max", lax.max, np.maximum, ("distinct",), dtypes=(F32, I32)),
    binary("min", lax.min, np.minimum, ("distinct",), dtypes=(F32, I32)),
    binary("max_ties", lax.max, np.maximum, ("ties",), diff=False),
    binary("atan2", lax.atan2, np.arctan2, ("nonzero",)),
    binary("nextafter", lax.nextafter, np.nextafter, diff=False),
    # -- bitwise (integers and bools)
    binary(
        "and", lax.bitwise_and, np.bitwise_and, ("small_int",), diff=False, dtypes=(I32, U8, BOOL)
    ),
    binary("or", lax.bitwise_or, np.bitwise_or, ("small_int",), diff=False, dtypes=(I32, U8, BOOL)),
    binary("xor", lax.bitwise_xor, np.bitwise_xor, ("small_int",), diff=False, dtypes=(I32, BOOL)),
    unary("not", lax.bitwise_not, np.invert, "small_int", diff=False, dtypes=(I32, U8, BOOL)),
    binary(
        "shift_left",
        lax.shift_left,
        lambda x, y: np.where((y >= 0) & (y < 32), np.left_shift(x, np.clip(y, 0, 31)), 0).astype(
            x.dtype
        ),
        ("small_int", "shift"),
        diff=False,
        dtypes=INT_DTYPES,
    ),
    binary(
        "shift_right_arithmetic",
        lax.shift_right_arithmetic,
        lambda x, y: np.right_shift(x, np.clip(y, 0, 31)),
        ("small_int", "shift"),
        diff=False,
        dtypes=INT_DTYPES,
    ),
    binary(
        "shift_right_logical",
        lax.shift_right_logical,
        lambda x, y: (
            np.where(
                (y >= 0) & (y < 32),
                np.right_shift(x.view(np.uint32), np.clip(y, 0, 31).astype(np.uint32)),
                0,
            )
            .astype(np.uint32)
            .view(np.int32)
        ),
        ("small_int", "shift"),
        diff=False,
        dtypes=INT_DTYPES,
    ),
    unary(
        "population_count",
        lax.population_count,
        lambda x: np.bitwise_count(x.view(f"u{x.dtype.itemsize}")).astype(x.dtype),
        "small_int",
        diff=False,
        dtypes=(I32, U8),
    ),
    # -- comparisons (ties make equality interesting)
    *[
        binary(n, getattr(lax, n), f, ("ties",), diff=False, dtypes=(F32, I32, BOOL))
        for n, f in (
            ("eq", np.equal),
            ("ne", np.not_equal),
            ("lt", np.less),
            ("le", np.less_equal),
            ("gt", np.greater),
            ("ge", np.greater_equal),
        )
    ],
    # -- numpy-level (broadcasting and promotion) wrappers
    binary("fnp.add", fnp.add, np.add, shapes=BCAST_SHAPES),
    binary("fnp.multiply", fnp.multiply, np.multiply, shapes=BCAST_SHAPES),
    binary(
        "fnp.true_divide",
        fnp.true_divide,
        np.true_divide,
        ("normal", "nonzero"),
        shapes=BCAST_SHAPES,
    ),
    binary(
        "fnp.floor_divide",
        fnp.floor_divide,
        np.floor_divide,
        ("small_int", "nonzero"),
        diff=False,
        dtypes=(F32, I32),
        shapes=BCAST_SHAPES,
    ),
    binary(
        "fnp.remainder",
        fnp.remainder,
        np.remainder,
        ("small_int", "nonzero"),
        diff=False,
        dtypes=(F32, I32),
        shapes=BCAST_SHAPES,
    ),
    binary("fnp.power", fnp.power, np.power, ("pos", "normal"), shapes=BCAST_SHAPES),
    binary(
        "fnp.power_int",
        fnp.power,
        np.power,
        ("small_int", "idx0:4"),
        diff=False,
        dtypes=INT_DTYPES,
        shapes=BCAST_SHAPES,
    ),
    binary("fnp.maximum", fnp.maximum, np.maximum, ("distinct",), shapes=BCAST_SHAPES),
    binary("fnp.less", fnp.less, np.less, ("ties",), diff=False, shapes=BCAST_SHAPES),
    binary("fnp.hypot", fnp.hypot, np.hypot, ("nonzero",), shapes=BCAST_SHAPES),
    binary("fnp.logaddexp", fnp.logaddexp, np.logaddexp, shapes=BCAST_SHAPES),
    # -- select / where
    Op(
        "select",
        lax.select,
        np.where,
        [((2, 3),) * 3, ((),) * 3, ((0, 2),) * 3],
        ("bool", "normal"),
    ),
    Op(
        "select_n3",
        lax.select_n,
        lambda w, *c: np.choose(w, c),
        [((2, 3),) * 4, ((),) * 4],
        ("which3", "normal"),
    ),
    Op("select_scalar_pred", lax.select, np.where, [((), (2, 3), (2, 3))], ("bool", "normal")),
    Op(
        "fnp.where",
        fnp.where,
        np.where,
        [((3, 1), (1, 4), ()), ((2,), (2,), (2,))],
        ("bool", "normal"),
    ),
    # -- casts: float->int saturates (never wraps), NaN -> 0
    unary(
        "convert_f2i32_saturating",
        lambda x: lax.convert_element_type(x, np.int32),
        lambda x: _saturating_cast(x, np.int32),
        "wide",
        diff=False,
        dtypes=(F32, F64),
    ),
    unary(
        "convert_f2i64_saturating",
        lambda x: lax.convert_element_type(x, np.int64),
        lambda x: _saturating_cast(x, np.int64),
        "wide",
        diff=False,
        dtypes=(F64,),
    ),
    unary(
        "convert_f2u8_saturating",
        lambda x: lax.convert_element_type(x, np.uint8),
        lambda x: _saturating_cast(x, np.uint8),
        "wide",
        diff=False,
    ),
    unary(
        "convert_f2i8_saturating",
        lambda x: lax.convert_element_type(x, np.int8),
        lambda x: _saturating_cast(x, np.int8),
        "wide",
        diff=False,
    ),
    unary(
        "convert_i2f",
        lambda x: lax.convert_element_type(x, np.float32),
        lambda x: x.astype(np.float32),
        "small_int",
        diff=False,
        dtypes=(I32, BOOL),
    ),
    unary(
        "convert_f2bool",
        lambda x: lax.convert_element_type(x, np.bool_),
        lambda x: x != 0,
        "ties",
        diff=False,
    ),
    unary(
        "convert_f32_f16",
        lambda x: lax.convert_element_type(x, np.float16),
        lambda x: x.astype(np.float16),
        tol=1e-3,
    ),
    unary(
        "bitcast_f2i",
        lambda x: lax.bitcast_convert_type(x, np.int32),
        lambda x: x.view(np.int32),
        diff=False,
    ),
    # -- reductions
    Op(
        "reduce_sum",
        lambda x: lax.reduce_sum(x, (1,)),
        lambda x: np.sum(x, 1, dtype=x.dtype),
        [((2, 3),), ((1, 4),), ((0, 3),), ((3, 0),)],
        dtypes=(F32, I32),
    ),
    Op(
        "reduce_sum_all",
        lambda x: lax.reduce_sum(x, (0, 1)),
        lambda x: np.sum(x),
        [((2, 3),), ((0, 2),)],
    ),
    Op(
        "reduce_max",
        lambda x: lax.reduce_max(x, (0,)),
        lambda x: np.max(x, 0),
        [((3, 2),), ((1, 4),)],
        ("distinct",),
        dtypes=(F32, I32),
    ),
    Op(
        "reduce_max_ties",
        lambda x: lax.reduce_max(x, (1,)),
        lambda x: np.max(x, 1, initial=-np.inf),
        [((3, 4),), ((2, 0),)],
        ("ties",),
        diff=False,
    ),
    Op(
        "reduce_min",
        lambda x: lax.reduce_min(x, (1,)),
        lambda x: np.min(x, 1, initial=np.inf),
        [((3, 2),), ((1, 4),), ((3, 0),)],
        ("distinct",),
    ),
    Op(
        "reduce_prod",
        lambda x: lax.reduce_prod(x, (1,)),
        lambda x: np.prod(x, 1, dtype=x.dtype),
        [((2, 3),), ((1, 4),), ((2, 0),)],
        ("nonzero",),
        dtypes=(F32, I32),
    ),
    Op(
        "reduce_prod_with_zero",
        lambda x: lax.reduce_prod(x, (0,)),
        lambda x: np.prod(x, 0),
        [((3, 2),)],
        ("ties",),
    ),
    Op(
        "argmax",
        lambda x: lax.argmax(x, 1),
        lambda x: np.argmax(x, 1).astype(np.int32),
        [((3, 4),), ((1, 5),), ((0, 3),)],
        ("ties",),
        dtypes=(F32, I32),
        diff=False,
    ),
    Op(
        "argmin",
        lambda x: lax.argmin(x, 0),
        lambda x: np.argmin(x, 0).astype(np.int32),
        [((4, 3),), ((5, 1),)],
        ("ties",),
        dtypes=(F32, I32),
        diff=False,
    ),
    Op(
        "fnp.argmax_flat",
        fnp.argmax,
        lambda x: np.argmax(x).astype(np.int32),
        [((3, 4),)],
        ("ties",),
        diff=False,
    ),
    Op(
        "reduce_and",
        lambda x: lax.reduce_and(x, (1,)),
        lambda x: np.all(x, 1),
        [((3, 4),), ((2, 0),)],
        ("bool",),
        diff=False,
    ),
    Op(
        "reduce_or",
        lambda x: lax.reduce_or(x, (0,)),
        lambda x: np.any(x, 0),
        [((3, 4),), ((0, 2),)],
        ("bool",),
        diff=False,
    ),
    # -- shape ops
    Op(
        "broadcast_in_dim",
        lambda x: lax.broadcast_in_dim(x, (2, 3, 4), (0, 2)),
        lambda x: np.broadcast_to(x[:, None, :], (2, 3, 4)),
        [((2, 4),), ((1, 4),), ((2, 1),)],
    ),
    Op(
        "broadcast_scalar",
        lambda x: lax.broadcast_in_dim(x, (2, 3), ()),
        lambda x: np.broadcast_to(x, (2, 3)),
        [((),)],
    ),
    Op(
        "broadcast_to_empty",
        lambda x: lax.broadcast_in_dim(x, (0, 3), (1,)),
        lambda x: np.broadcast_to(x, (0, 3)),
        [((3,),)],
    ),
    Op(
        "broadcast",
        lambda x: lax.broadcast(x, (2,)),
        lambda x: np.broadcast_to(x, (2,) + x.shape),
        [((3,),), ((),)],
    ),
    Op(
        "reshape",
        lambda x: lax.reshape(x, (3, 2)),
        lambda x: x.reshape(3, 2),
        [((2, 3),), ((6,),), ((1, 6),)],
    ),
    Op("reshape_scalar", lambda x: lax.reshape(x, (1, 1)), lambda x: x.reshape(1, 1), [((),)]),
    Op("reshape_empty", lambda x: lax.reshape(x, (3, 0)), lambda x: x.reshape(3, 0), [((0, 3),)]),
    Op(
        "transpose",
        lambda x: lax.transpose(x, (2, 0, 1)),
        lambda x: x.transpose(2, 0, 1),
        [((2, 3, 4),), ((1, 0, 2),)],
    ),
    Op(
        "squeeze",
        lambda x: lax.squeeze(x, (0, 2)),
        lambda x: x.reshape(x.shape[1:2]),
        [((1, 3, 1),), ((1, 0, 1),)],
    ),
    Op(
        "expand_dims",
        lambda x: lax.expand_dims(x, (0, 2)),
        lambda x: x[None, :, None],
        [((3,),), ((0,),)],
    ),
    Op(
        "rev",
        lambda x: lax.rev(x, (0, 1)),
        lambda x: x[::-1, ::-1],
        [((2, 3),), ((1, 1),), ((0, 2),)],
    ),
    Op(
        "slice",
        lambda x: lax.slice(x, (1, 0), (4, 5), (2, 2)),
        lambda x: x[1:4:2, 0:5:2],
        [((5, 5),), ((4, 6),)],
    ),
    Op("slice_empty", lambda x: lax.slice(x, (1, 0), (1, 3)), lambda x: x[1:1, 0:3], [((2, 3),)]),
    Op(
        "slice_in_dim",
        lambda x: lax.slice_in_dim(x, 1, 3, axis=1),
        lambda x: x[:, 1:3],
        [((2, 4),), ((0, 4),)],
    ),
    Op(
        "dynamic_slice",
        lambda x, i: lax.dynamic_slice(x, (i, 1), (2, 2)),
        lambda x, i: x[_start(i, x.shape[0], 2) :][:2, 1:3],
        [((4, 3), ())],
        ("normal", "idx-3:7"),
    ),
    Op(
        "dynamic_slice_2starts",
        lambda x, i, j: lax.dynamic_slice(x, (i, j), (2, 1)),
        lambda x, i, j: x[_start(i, x.shape[0], 2) :][:2][:, _start(j, x.shape[1], 1) :][:, :1],
        [((4, 3), (), ())],
        ("normal", "idx-2:6"),
    ),
    Op(
        "dynamic_update_slice",
        lambda x, u, i: lax.dynamic_update_slice(x, u, (i, 0)),
        lambda x, u, i: _dus_ref(x, u, (int(i), 0)),
        [((4, 3), (2, 3), ())],
        ("normal", "normal", "idx-2:6"),
    ),
    Op(
        "concatenate",
        lambda x, y: lax.concatenate([x, y], 1),
        lambda x, y: np.concatenate([x, y], 1),
        [((2, 3), (2, 1)), ((1, 0), (1, 2)), ((0, 2), (0, 1))],
        dtypes=(F32, I32),
    ),
    Op(
        "concatenate3",
        lambda x, y, z: lax.concatenate([x, y, z], 0),
        lambda x, y, z: np.concatenate([x, y, z], 0),
        [((1, 2), (2, 2), (1, 2))],
    ),
    Op(
        "pad",
        lambda x: lax.pad(x, 0.5, ((1, 2, 0), (0, 1, 1))),
        lambda x: _pad_ref(x, 0.5, ((1, 2, 0), (0, 1, 1))),
        [((2, 3),), ((1, 1),), ((0, 2),)],
    ),
    Op(
        "pad_negative",
        lambda x: lax.pad(x, -1.0, ((-1, 1, 0), (2, -2, 2))),
        lambda x: _pad_ref(x, -1.0, ((-1, 1, 0), (2, -2, 2))),
        [((3, 3),), ((2, 4),)],
    ),
    Op(
        "pad_traced_value",
        lambda x, v: lax.pad(x, v, ((1, 0, 1),)),
        lambda x, v: _pad_ref(x, v, ((1, 0, 1),)),
        [((3,), ())],
    ),
    Op(
        "fnp.pad",
        lambda x: fnp.pad(x, ((1, 0), (2, 1))),
        lambda x: np.pad(x, ((1, 0), (2, 1))),
        [((2, 3),)],
    ),
    Op(
        "iota",
        lambda: lax.iota(np.int32, 5),
        lambda: np.arange(5, dtype=np.int32),
        [()],
        diff=False,
        vmap=False,
    ),
    Op(
        "broadcasted_iota",
        lambda: lax.broadcasted_iota(np.float32, (2, 3), 1),
        lambda: np.broadcast_to(np.arange(3, dtype=np.float32), (2, 3)),
        [()],
        diff=False,
        vmap=False,
    ),
    # -- indexing: gather / scatter
    Op(
        "gather",
        lambda x, i: lax.gather(x, i, (0,)),
        lambda x, i: _gather_ref(x, i, (0,)),
        [((5, 3), (4, 1)), ((5,), (2, 3, 1)), ((5, 3), (0, 1)), ((5,), (1,))],
        ("normal", "idx5"),
    ),
    Op(
        "gather_axis1",
        lambda x, i: lax.gather(x, i, (1,)),
        lambda x, i: _gather_ref(x, i, (1,)),
        [((2, 4), (3, 1))],
        ("normal", "idx4"),
    ),
    Op(
        "gather_2axes",
        lambda x, i: lax.gather(x, i, (0, 2)),
        lambda x, i: _gather_ref(x, i, (0, 2)),
        [((3, 2, 3), (4, 2))],
        ("normal", "idx3"),
    ),
    Op(
        "gather_clip",
        lambda x, i: lax.gather(x, i, (0,), mode="clip"),
        lambda x, i: _gather_ref(x, i, (0,)),
        [((4, 2), (5, 1))],
        ("normal", "idx-3:8"),
    ),
    Op(
        "gather_fill",
        lambda x, i: lax.gather(x, i, (0,), mode="fill"),
        lambda x, i: _gather_ref(x, i, (0,), "fill"),
        [((4, 2), (5, 1))],
        ("normal", "idx-3:8"),
        diff=False,
    ),
    Op(
        "scatter_add",
        lambda x, i, u: lax.scatter_add(x, i, u, (0,)),
        lambda x, i, u: _scatter_ref(x, i, u, np.add),
        [((5, 2), (4, 1), (4, 2)), ((4,), (6, 1), (6,))],
        ("normal", "idx3", "normal"),
        dtypes=(F32, I32),
    ),
    Op(
        "scatter_add_drop",
        lambda x, i, u: lax.scatter_add(x, i, u, (0,), mode="drop"),
        lambda x, i, u: _scatter_ref(
            x, i[(i[:, 0] >= 0) & (i[:, 0] < 4)], u[(i[:, 0] >= 0) & (i[:, 0] < 4)], np.add
        ),
        [((4,), (6, 1), (6,))],
        ("normal", "idx-2:6", "normal"),
    ),
    Op(
        "scatter_set",
        lambda x, i, u: lax.scatter(x, i, u, (0,)),
        lambda x, i, u: _scatter_ref(x, i, u),
        [((5, 2), (3, 1), (3, 2))],
        ("normal", "uidx5", "normal"),
    ),
    Op(
        "scatter_mul",
        lambda x, i, u: lax.scatter(x, i, u, (0,), combine="mul"),
        lambda x, i, u: _scatter_ref(x, i, u, np.multiply),
        [((5, 2), (3, 1), (3, 2))],
        ("normal", "uidx5", "normal"),
    ),
    Op(
        "scatter_max",
        lambda x, i, u: lax.scatter(x, i, u, (0,), combine="max"),
        lambda x, i, u: _scatter_ref(x, i, u, np.maximum),
        [((5, 2), (3, 1), (3, 2))],
        ("distinct", "uidx5", "distinct"),
    ),
    # -- dot_general
    Op(
        "dot_mm",
        lambda x, y: lax.dot_general(x, y, (((1,), (0,)), ((), ()))),
        _dot_ref((((1,), (0,)), ((), ()))),
        [((2, 3), (3, 4)), ((1, 1), (1, 1)), ((0, 3), (3, 2)), ((2, 0), (0, 3))],
        dtypes=(F32, I32),
    ),
    Op(
        "dot_batch",
        lambda x, y: lax.dot_general(x, y, (((2,), (1,)), ((0,), (0,)))),
        _dot_ref((((2,), (1,)), ((0,), (0,)))),
        [((2, 3, 4), (2, 4, 1)), ((1, 1, 2), (1, 2, 3))],
    ),
    Op(
        "dot_odd",
        lambda x, y: lax.dot_general(x, y, (((0, 3), (2, 0)), ((1,), (1,)))),
        _dot_ref((((0, 3), (2, 0)), ((1,), (1,)))),
        [((2, 3, 1, 4), (4, 3, 2))],
    ),
    Op(
        "dot_outer",
        lambda x, y: lax.dot_general(x, y, (((), ()), ((), ()))),
        _dot_ref((((), ()), ((), ()))),
        [((3,), (2,)), ((), ())],
    ),
    Op("dot_vec", lax.dot, lambda x, y: np.dot(x, y), [((3,), (3,)), ((2, 3), (3,))]),
    Op(
        "fnp.matmul",
        fnp.matmul,
        np.matmul,
        [((2, 3), (3, 4)), ((2, 2, 3), (3,)), ((3,), (1, 3, 2))],
    ),
    # -- convolutions, against a direct reference
    *[
        _conv_op(tag, shapes, s, p, ld, rd, g)
        for tag, shapes, s, p, ld, rd, g in (
            ("1d", ((2, 3, 7), (4, 3, 3)), (1,), "VALID", None, None, 1),
            ("1d_stride_same", ((1, 2, 7), (3, 2, 3)), (2,), "SAME", None, None, 1),
            ("1d_pad_neg", ((1, 1, 6), (2, 1, 2)), (1,), ((2, -1),), None, None, 1),
            ("2d", ((1, 2, 5, 4), (3, 2, 3, 2)), (1, 1), ((1, 1), (0, 1)), None, None, 1),
            ("2d_stride", ((2, 1, 6, 5), (2, 1, 3, 3)), (2, 3), "SAME", None, None, 1),
            ("2d_lhs_dil", ((1, 2, 4, 3), (2, 2, 2, 2)), (1, 1), ((1, 1), (1, 0)), (2, 2), None, 1),
            ("2d_rhs_dil", ((1, 1, 6, 6), (2, 1, 2, 3)), (1, 2), "VALID", None, (2, 1), 1),
            ("2d_groups", ((2, 4, 4, 4), (6, 2, 2, 2)), (1, 1), "SAME", None, None, 2),
            ("2d_depthwise", ((1, 3, 4, 3), (3, 1, 3, 1)), (1, 1), "VALID", None, None, 3),
            (
                "3d",
                ((1, 2, 3, 4, 3), (2, 2, 2, 2, 2)),
                (1, 2, 1),
                ((0, 0), (1, 0), (0, 1)),
                None,
                None,
                1,
            ),
        )
    ],
    # -- cumulative ops
    Op(
        "cumsum",
        lambda x: lax.cumsum(x, 1),
        lambda x: np.cumsum(x, 1, dtype=x.dtype),
        [((2, 4),), ((1, 1),), ((3, 0),)],
        dtypes=(F32, I32),
    ),
    Op(
        "cumsum_reverse",
        lambda x: lax.cumsum(x, 0, reverse=True),
        lambda x: np.cumsum(x[::-1], 0)[::-1],
        [((4, 2),)],
    ),
    Op(
        "cumprod",
        lambda x: lax.cumprod(x, 1),
        lambda x: np.cumprod(x, 1),
        [((2, 5),), ((1, 1),)],
        ("nonzero",),
    ),
    Op(
        "cummax",
        lambda x: lax.cummax(x, 0),
        _cummax_ref,
        [((5, 2),), ((1, 3),)],
        ("distinct",),
        dtypes=(F32, I32),
    ),
    Op(
        "cummin_reverse",
        lambda x: lax.cummin(x, 1, reverse=True),
        lambda x: np.minimum.accumulate(x[:, ::-1], 1)[:, ::-1],
        [((2, 5),)],
        ("distinct",),
    ),
    Op("fnp.cumsum_flat", fnp.cumsum, lambda x: np.cumsum(x), [((2, 3),)]),
    # -- sorting
    Op(
        "sort",
        lambda x: lax.sort(x),
        lambda x: np.sort(x, -1),
        [((3, 5),), ((6,),), ((2, 0),)],
        ("distinct",),
        dtypes=(F32, I32),
    ),
    Op(
        "sort_ties",
        lambda x: lax.sort(x, 0),
        lambda x: np.sort(x, 0),
        [((6, 2),)],
        ("ties",),
        diff=False,
    ),
    Op(
        "sort_multi",
        lambda k, v: tuple(lax.sort((k, v), num_keys=1)),
        _sort_ref,
        [((3, 5), (3, 5)), ((4,), (4,))],
        ("distinct", "normal"),
    ),
    Op(
        "sort_multi_ties",
        lambda k, v: tuple(lax.sort((k, v), num_keys=1)),
        _sort_ref,
        [((3, 5), (3, 5))],
        ("ties", "normal"),
        diff=False,
    ),
    Op(
        "sort_2keys",
        lambda a, b, v: tuple(lax.sort((a, b, v), num_keys=2)),
        _sort2_ref,
        [((6,), (6,), (6,))],
        ("ties", "ties", "normal"),
        diff=False,
    ),
    Op(
        "argsort",
        fnp.argsort,
        lambda x: np.argsort(x, -1, kind="stable").astype(np.int32),
        [((3, 5),), ((7,),)],
        ("ties",),
        diff=False,
    ),
    Op(
        "fnp.sort_desc",
        lambda x: fnp.sort(x, descending=True),
        lambda x: -np.sort(-x, -1),
        [((2, 5),)],
        ("distinct",),
    ),
]


def _start(s, n, k):
    """JAX's dynamic start: a negative index counts from the end, then it is clamped so that a
    slice of size ``k`` fits in ``n``."""
    s = int(s)
    return int(np.clip(s + n if s < 0 else s, 0, n - k))


def _dus_ref(x, u, starts):
    out = x.copy()
    st = [_start(s, n, k) for s, n, k in zip(starts, x.shape, u.shape)]
    out[tuple(slice(s, s + k) for s, k in zip(st, u.shape))] = u
    return out


# float16 intermediates: differences need a float16-sized step and tolerance
OPS = [
    op._replace(grad_tol=5e-2, grad_eps=1e-2) if op.name == "convert_f32_f16" else op for op in OPS
]
OPS_BY_NAME = {op.name: op for op in OPS}
assert len(OPS_BY_NAME) == len(OPS), "duplicate op names in the table"


def _needs_scipy(op):
    return op.name in ("erf_inv", "digamma") and sps is None


# ---- parametrisation --------------------------------------------------------------------------


def _value_cases():
    for op in OPS:
        for shapes in op.shapes:
            for dt in op.dtypes:
                sid = ",".join("x".join(map(str, s)) or "s" for s in shapes) or "noargs"
                yield pytest.param(op, shapes, dt, id=f"{op.name}-{sid}-{dt.name}")


VALUE_CASES = list(_value_cases())


def _leaves(x):
    return tu.tree_leaves(x) if isinstance(x, (tuple, list)) else [x]


def _tol(op, dt):
    if dt.kind in "fc":
        return op.tol if dt.itemsize <= 4 else 1e-10
    return 0


def _call_ref(op, args):
    with np.errstate(all="ignore"):
        return op.ref(*args)


def _x64_for(dtype):
    return fg.config.override(enable_x64=dtype.itemsize == 8)


@pytest.mark.parametrize("op,shapes,dtype", VALUE_CASES)
def test_values_vs_numpy(op, shapes, dtype):
    if _needs_scipy(op):
        pytest.skip("needs scipy for the reference")
    with _x64_for(dtype):
        _check_values(op, shapes, dtype)


def _check_values(op, shapes, dtype):
    args = _make_args(op, shapes, dtype)
    got = op.fn(*[fnp.asarray(a) for a in args])
    want = _call_ref(op, args)
    got_l, want_l = _leaves(got), _leaves(want)
    assert len(got_l) == len(want_l)
    for g, w in zip(got_l, want_l):
        assert isinstance(g, fg.Array)
        w = np.asarray(w)
        assert g.shape == w.shape, f"{op.name}: shape {g.shape} vs numpy {w.shape}"
        if w.dtype.kind in "fc" and g.dtype.kind in "fc":
            assert g.dtype == w.dtype or op.name.startswith(("fnp.", "dot", "conv")), (
                g.dtype,
                w.dtype,
            )
            tol = _tol(op, g.dtype)
            np.testing.assert_allclose(
                np.asarray(g, np.float64),
                w.astype(np.float64),
                rtol=tol,
                atol=tol,
                equal_nan=True,
                err_msg=op.name,
            )
        else:
            assert g.dtype == w.dtype, f"{op.name}: dtype {g.dtype} vs numpy {w.dtype}"
            np.testing.assert_array_equal(np.asarray(g), w, err_msg=op.name)


@pytest.mark.parametrize("op,shapes,dtype", VALUE_CASES)
def test_abstract_eval_matches_eager(op, shapes, dtype):
    with _x64_for(dtype):
        _check_abstract_eval(op, shapes, dtype)


def _check_abstract_eval(op, shapes, dtype):
    args = [fnp.asarray(a) for a in _make_args(op, shapes, dtype)]
    eager = _leaves(op.fn(*args))
    closed = fg.make_jaxpr(op.fn)(*args)
    avals = closed.out_avals
    assert len(avals) == len(eager)
    for a, e in zip(avals, eager):
        assert (a.shape, a.dtype) == (e.shape, e.dtype), (op.name, a, e.aval)
        assert a.weak_type == e.weak_type, (op.name, a, e.aval)


# ---- gradients --------------------------------------------------------------------------------

GRAD_OPS = [op for op in OPS if op.diff]


def _grad_args(op):
    """Float64 value arguments (x64 on) from the first shape set with no empty dims."""
    shapes = next((s for s in op.shapes if all(0 not in sh for sh in s)), op.shapes[0])
    raw = _make_args(op, shapes, F64)
    kinds = op.kinds + (op.kinds[-1],) * (len(shapes) - len(op.kinds))
    return [fnp.asarray(a, F64 if _is_value_kind(k) else None) for a, k in zip(raw, kinds)]


@pytest.mark.parametrize("op", GRAD_OPS, ids=[op.name for op in GRAD_OPS])
def test_grads_second_order(op):
    if _needs_scipy(op):
        pytest.skip("needs scipy")
    with fg.config.override(enable_x64=True):
        args = _grad_args(op)
        check_grads(
            op.fn, args, order=op.order, atol=op.grad_tol, rtol=op.grad_tol, eps=op.grad_eps
        )


def test_reduce_max_ties_splits_gradient():
    x = fnp.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]])
    g = fg.grad(lambda x: fnp.sum(lax.reduce_max(x, (1,)) * fnp.array([1.0, 2.0])))(x)
    np.testing.assert_allclose(g, [[0, 0.5, 0.5, 0], [0.5, 0.5, 0.5, 0.5]])
    gb = fg.grad(lambda a, b: fnp.sum(lax.max(a, b)), argnums=(0, 1))(fnp.ones(2), fnp.ones(2))
    np.testing.assert_allclose(gb[0], [0.5, 0.5])


def test_reduce_prod_gradient_with_zeros():
    x = fnp.array([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0]])
    g = fg.grad(lambda x: fnp.sum(lax.reduce_prod(x, (1,))))(x)
    np.testing.assert_allclose(g, [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0]])


def test_convert_saturates_never_wraps():
    x = fnp.array([1e10, -1e10, np.nan, np.inf, -np.inf, 2.0**31, 3.99, -3.99], dtype=np.float32)
    y = np.asarray(lax.convert_element_type(x, np.int32))
    i32 = np.iinfo(np.int32)
    np.testing.assert_array_equal(y, [i32.max, i32.min, 0, i32.max, i32.min, i32.max, 3, -3])
    np.testing.assert_array_equal(fnp.array([300.0, -5.0, 255.9]).astype(np.uint8), [255, 0, 255])


# ---- vmap vs a Python loop ------------------------------------------------------------------------

VMAP_OPS = [op for op in OPS if op.vmap]
B = 3


def _axes_options(op, ndims):
    """in_axes combinations: all 0, all 1 (where rank allows), all -1, and None mixes."""
    n = len(ndims)
    opts = [(0,) * n]
    if all(d >= 1 for d in ndims):
        opts.append((1,) * n)
        opts.append((-1,) * n)
    for k in range(n):
        if n > 1:
            mix = tuple(None if j == k else (1 if ndims[j] >= 1 and j % 2 else 0) for j in range(n))
            opts.append(mix)
    return list(dict.fromkeys(opts))


def _vmap_cases():
    for op in VMAP_OPS:
        shapes = op.shapes[0]
        for axes in _axes_options(op, [len(s) for s in shapes]):
            yield pytest.param(op, axes, id=f"{op.name}-{axes}")


def _stack_at(xs, axis):
    return np.stack(xs, axis=axis)


@pytest.mark.parametrize("op,in_axes", list(_vmap_cases()))
def test_vmap_vs_loop(op, in_axes):
    shapes = op.shapes[0]
    dtype = op.dtypes[0]
    examples = [_make_args(op, shapes, dtype, seed=s) for s in range(B)]
    batched = []
    for j, ax in enumerate(in_axes):
        if ax is None:
            batched.append(fnp.asarray(examples[0][j]))
        else:
            batched.append(fnp.asarray(_stack_at([e[j] for e in examples], ax)))
    loop = []
    for b in range(B):
        args = [examples[0][j] if ax is None else examples[b][j] for j, ax in enumerate(in_axes)]
        loop.append(_leaves(op.fn(*[fnp.asarray(a) for a in args])))
    got = _leaves(fg.vmap(op.fn, in_axes=in_axes)(*batched))
    for i, g in enumerate(got):
        want = np.stack([np.asarray(ls[i]) for ls in loop])
        assert g.shape == want.shape, (op.name, g.shape, want.shape)
        assert g.dtype == want.dtype
        tol = _tol(op, g.dtype)
        np.testing.assert_allclose(
            np.asarray(g),
            want,
            rtol=tol,
            atol=tol,
            equal_nan=True,
            err_msg=f"{op.name} in_axes={in_axes}",
        )


def test_vmap_out_axes_and_unbatched_operands():
    x = fnp.arange(6.0).reshape(2, 3)
    out = fg.vmap(lambda r: lax.reduce_sum(r, (0,)), out_axes=0)(x)
    np.testing.assert_allclose(out, [3.0, 12.0])
    out = fg.vmap(lambda r: r * 2, in_axes=1, out_axes=1)(x)
    np.testing.assert_allclose(out, np.arange(6.0).reshape(2, 3) * 2)


def test_table_covers_the_requested_primitives():
    names = set(OPS_BY_NAME)
    wanted = {
        "select",
        "reduce_sum",
        "reduce_max",
        "reduce_min",
        "reduce_prod",
        "argmax",
        "argmin",
        "broadcast_in_dim",
        "reshape",
        "transpose",
        "squeeze",
        "expand_dims",
        "rev",
        "slice",
        "dynamic_slice",
        "dynamic_update_slice",
        "gather",
        "scatter_add",
        "scatter_set",
        "concatenate",
        "pad",
        "pad_negative",
        "iota",
        "dot_batch",
        "conv_3d",
        "conv_2d_groups",
        "cumsum",
        "cumprod",
        "cummax",
        "sort_multi",
        "argsort",
    }
    assert wanted <= names, sorted(wanted - names)
