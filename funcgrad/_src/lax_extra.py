"""``funcgrad.lax`` functions composed from existing primitives (no new rules): top_k,
sort_key_val, index_in_dim, scatter_mul/min/max, batch_matmul, Precision,
optimization_barrier, cumlogsumexp, reduce_window.

Each is written from ``sort``, ``slice``, ``pad``, ``dot_general``, ``scatter`` and
elementwise primitives, so grad, jvp, vmap and jit work without new rules.
"""

from __future__ import annotations

import enum
import itertools

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src import lax_elementwise as le
from funcgrad._src import lax_indexing as li
from funcgrad._src import lax_reductions as lr
from funcgrad._src import lax_structural as ls
from funcgrad._src.array import get_aval
from funcgrad._src.core import canonicalize_axis
from funcgrad._src.lax_common import as_operand

__all__ = [
    "Precision",
    "batch_matmul",
    "cumlogsumexp",
    "index_in_dim",
    "optimization_barrier",
    "polygamma",
    "reduce",
    "reduce_window",
    "scatter_max",
    "scatter_min",
    "scatter_mul",
    "sort_key_val",
    "top_k",
    "zeta",
]


# ---- sorting ------------------------------------------------------------------------------------


def top_k(operand, k: int, *, axis: int = -1):
    """The ``k`` largest entries along ``axis`` and their int32 indices, largest first; of
    equal entries the lower index comes first (NaN counts as the largest).

    >>> import funcgrad.numpy as fnp
    >>> top_k(fnp.array([9., 3., 6., 4., 10.]), 3)
    (Array([10.,  9.,  6.], dtype=float32), Array([4, 0, 2], dtype=int32))
    """
    x = as_operand(operand)
    a = get_aval(x)
    if a.ndim == 0:
        raise TypeError("top_k: operand must have at least one dimension, got a scalar")
    if a.dtype.kind == "c":
        raise TypeError(f"top_k: operand must not be complex, got {a.dtype}")
    ax = canonicalize_axis(axis, a.ndim)
    n = a.shape[ax]
    k = int(k)
    if not 0 <= k <= n:
        raise ValueError(
            f"top_k: k must be between 0 and the size of axis {axis} ({n}), "
            f"got k={k} for operand {a.str_short()}"
        )
    # ascending sort by (x, -index), then reversed: descending x, ties by ascending index
    neg_idx = ls.broadcasted_iota(dtypes.int32, a.shape, ax)
    neg_idx = le.neg(neg_idx)
    vals, idx = lr.sort([x, neg_idx], ax, num_keys=2)
    vals = ls.slice_in_dim(ls.rev(vals, (ax,)), 0, k, axis=ax)
    idx = ls.slice_in_dim(ls.rev(le.neg(idx), (ax,)), 0, k, axis=ax)
    return vals, idx


def sort_key_val(keys, values, dimension: int = -1, is_stable: bool = True):
    """Sort ``keys`` along ``dimension`` and permute ``values`` the same way."""
    ks, vs = get_aval(as_operand(keys)), get_aval(as_operand(values))
    if ks.shape != vs.shape:
        raise TypeError(
            f"sort_key_val: keys and values must have the same shape, got "
            f"{ks.str_short()} and {vs.str_short()}"
        )
    k, v = lr.sort([keys, values], dimension, is_stable=is_stable, num_keys=1)
    return k, v


# ---- indexing -----------------------------------------------------------------------------------


def index_in_dim(operand, index: int, axis: int = 0, keepdims: bool = True):
    """``operand`` at the static ``index`` along ``axis`` (negative indices count from the
    end); the axis is kept with size 1 when ``keepdims``."""
    x = as_operand(operand)
    a = get_aval(x)
    ax = canonicalize_axis(axis, a.ndim)
    n = a.shape[ax]
    i = int(index)
    if not -n <= i < n:
        raise IndexError(
            f"index_in_dim: index {index} is out of bounds for axis {axis} of size {n}"
        )
    i %= n
    out = ls.slice_in_dim(x, i, i + 1, axis=ax)
    return out if keepdims else ls.squeeze(out, (ax,))


def scatter_mul(operand, indices, updates, axes, mode="drop"):
    """``operand`` with ``operand[idx] *= updates`` (funcgrad's ``axes`` form of scatter, as
    ``lax.scatter_add``; not JAX's ScatterDimensionNumbers)."""
    return li.scatter(operand, indices, updates, axes, mode, combine="mul")


def scatter_min(operand, indices, updates, axes, mode="drop"):
    """``operand`` with ``operand[idx] = min(operand[idx], updates)`` (``axes`` form)."""
    return li.scatter(operand, indices, updates, axes, mode, combine="min")


def scatter_max(operand, indices, updates, axes, mode="drop"):
    """``operand`` with ``operand[idx] = max(operand[idx], updates)`` (``axes`` form)."""
    return li.scatter(operand, indices, updates, axes, mode, combine="max")


# ---- products -----------------------------------------------------------------------------------


class Precision(enum.Enum):
    """Accepted by ``precision=`` of dot/conv, as in JAX. funcgrad's CPU kernels always
    compute in the operand dtype (float32 accumulation in float32), so every value gives
    the same result. Strings ``'default'``/``'high'``/``'highest'`` (and ``'bfloat16'``,
    ``'tensorfloat32'``, ``'float32'``) convert: ``Precision('highest')``."""

    DEFAULT = 0
    HIGH = 1
    HIGHEST = 2

    @classmethod
    def _missing_(cls, value):
        names = {
            "default": cls.DEFAULT,
            "fastest": cls.DEFAULT,
            "bfloat16": cls.DEFAULT,
            "high": cls.HIGH,
            "bfloat16_3x": cls.HIGH,
            "tensorfloat32": cls.HIGH,
            "highest": cls.HIGHEST,
            "float32": cls.HIGHEST,
        }
        if isinstance(value, str) and value.lower() in names:
            return names[value.lower()]
        return None

    def __str__(self) -> str:
        return self.name


def batch_matmul(lhs, rhs, precision=None):
    """Batched matrix product: ``lhs[..., i, k] @ rhs[..., k, j]`` with equal batch dims."""
    from funcgrad._src.lax_dot import dot_general

    la, ra = get_aval(as_operand(lhs)), get_aval(as_operand(rhs))
    if (
        la.ndim < 2
        or la.ndim != ra.ndim
        or la.shape[:-2] != ra.shape[:-2]
        or la.shape[-1] != ra.shape[-2]
    ):
        raise TypeError(
            f"batch_matmul: operands must have equal rank >= 2, equal batch "
            f"dimensions and matching inner dimensions, got {la.str_short()} and "
            f"{ra.str_short()}"
        )
    nb = la.ndim - 2
    batch = tuple(range(nb))
    return dot_general(
        lhs, rhs, (((la.ndim - 1,), (ra.ndim - 2,)), (batch, batch)), precision=precision
    )


def optimization_barrier(operand):
    """Identity on a pytree of arrays (funcgrad's compiler does not move work across it
    anyway: it exists for JAX compatibility)."""
    return operand


# ---- scans and windows --------------------------------------------------------------------------


def _logaddexp(a, b):
    m = le.max(a, b)
    finite = le.is_finite(m)
    m_safe = le.select(finite, m, ls.full(get_aval(m).shape, 0, get_aval(m).dtype))
    s = le.add(le.exp(le.sub(a, m_safe)), le.exp(le.sub(b, m_safe)))
    s = le.select(finite, s, ls.full(get_aval(s).shape, 1, get_aval(s).dtype))  # finite grads
    return le.select(finite, le.add(m_safe, le.log(s)), m)


def cumlogsumexp(operand, axis: int = 0, reverse: bool = False):
    """Cumulative ``log(sum(exp(x)))`` along ``axis``, computed stably (no overflow)."""
    x = as_operand(operand)
    if get_aval(x).dtype.kind not in "fc":
        raise TypeError(f"cumlogsumexp: operand must be floating point, got {get_aval(x).dtype}")
    return lr.associative_scan(_logaddexp, x, axis, reverse, -np.inf)


def _window_pads(shape, window, strides, padding):
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            return tuple((0, 0) for _ in shape)
        if mode == "SAME":
            pads = []
            for n, w, s in zip(shape, window, strides):
                out = -(-n // s)
                total = max((out - 1) * s + w - n, 0)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise ValueError(
            f"reduce_window: padding must be 'SAME', 'VALID' or a sequence of "
            f"(low, high) pairs, got {padding!r}"
        )
    pads = tuple((int(lo), int(hi)) for lo, hi in padding)
    if len(pads) != len(shape):
        raise ValueError(
            f"reduce_window: padding needs one (low, high) pair per dimension "
            f"({len(shape)}), got {len(pads)}"
        )
    return pads


def reduce_window(
    operand,
    init_value,
    computation,
    window_dimensions,
    window_strides,
    padding,
    base_dilation=None,
    window_dilation=None,
):
    """Reduce each window of ``operand`` with the binary ``computation`` (``lax.add``,
    ``lax.max``, ``lax.min``, ``lax.mul`` or any associative elementwise function of two
    arrays), starting from ``init_value``; out-of-bounds (padded) positions hold
    ``init_value``. Written as one strided slice per window position, so it is
    differentiable and batchable. One operand only (not JAX's pytree-of-operands form).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> reduce_window(fnp.arange(5.0), 0.0, fg.lax.add, (2,), (1,), "VALID")
    Array([1., 3., 5., 7.], dtype=float32)
    """
    x = as_operand(operand)
    a = get_aval(x)
    nd = a.ndim
    window = tuple(int(w) for w in window_dimensions)
    strides = tuple(int(s) for s in window_strides)
    base = tuple(int(d) for d in base_dilation) if base_dilation else (1,) * nd
    wdil = tuple(int(d) for d in window_dilation) if window_dilation else (1,) * nd
    if not len(window) == len(strides) == len(base) == len(wdil) == nd:
        raise ValueError(
            f"reduce_window: window_dimensions {window}, window_strides "
            f"{strides} (and dilations) need one entry per dimension of "
            f"operand {a.str_short()}"
        )
    if min(window + strides + base + wdil, default=1) < 1:
        raise ValueError("reduce_window: window sizes, strides and dilations must be >= 1")
    init = le.convert_element_type(as_operand(init_value), a.dtype)
    if get_aval(init).shape != ():
        raise TypeError(
            f"reduce_window: init_value must be a scalar, got {get_aval(init).str_short()}"
        )
    dilated = tuple((n - 1) * b + 1 if n else 0 for n, b in zip(a.shape, base))
    eff = tuple((w - 1) * d + 1 for w, d in zip(window, wdil))
    pads = _window_pads(dilated, eff, strides, padding)
    cfg = [(lo, hi, b - 1) for (lo, hi), b in zip(pads, base)]
    xp = ls.pad(x, init, cfg)
    padded = get_aval(xp).shape
    out_shape = tuple(max((p - e) // s + 1, 0) for p, e, s in zip(padded, eff, strides))
    acc = ls.broadcast_in_dim(init, out_shape, ())
    if 0 in out_shape:
        return acc
    for offs in itertools.product(*(range(w) for w in window)):
        start = tuple(o * d for o, d in zip(offs, wdil))
        limit = tuple(st + (m - 1) * s + 1 for st, m, s in zip(start, out_shape, strides))
        acc = computation(acc, ls.slice(xp, start, limit, strides))
    return acc


def _halve(xs, axis, computation):
    """One pairwise step along ``axis``: combine the first and second halves; an odd last
    slice is carried over unchanged."""
    n = get_aval(xs[0]).shape[axis]
    half = n // 2
    lo = [ls.slice_in_dim(x, 0, half, axis=axis) for x in xs]
    hi = [ls.slice_in_dim(x, half, 2 * half, axis=axis) for x in xs]
    out = _as_list(computation(_un(lo), _un(hi)), len(xs))
    if n % 2:
        out = [
            ls.concatenate([o, ls.slice_in_dim(x, n - 1, n, axis=axis)], axis)
            for o, x in zip(out, xs)
        ]
    return out


def _un(xs):
    return xs[0] if len(xs) == 1 else tuple(xs)


def _as_list(x, n):
    return [x] if n == 1 and not isinstance(x, (tuple, list)) else list(x)


def reduce(operands, init_values, computation, dimensions):
    """Reduce ``operands`` over ``dimensions`` with the binary ``computation`` (associative
    and commutative, like every XLA reduction), starting from ``init_values``.

    ``operands``/``init_values`` are one array and one scalar, or equal-length tuples (then
    ``computation`` takes and returns tuples, e.g. a value-and-index argmax). Computed by
    pairwise halving with slices, so grad, vmap and jit work for any such computation.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> reduce(fnp.arange(6.0).reshape(2, 3), 0.0, fg.lax.add, (1,))
    Array([ 3., 12.], dtype=float32)
    """
    multi = isinstance(operands, (tuple, list))
    xs = [as_operand(x) for x in (operands if multi else [operands])]
    inits = list(init_values) if multi else [init_values]
    if len(inits) != len(xs):
        raise ValueError(f"reduce: got {len(xs)} operands but {len(inits)} init_values")
    shape = get_aval(xs[0]).shape
    if any(get_aval(x).shape != shape for x in xs):
        raise TypeError(
            f"reduce: operands must have equal shapes, got {[get_aval(x).str_short() for x in xs]}"
        )
    dims = sorted({canonicalize_axis(d, len(shape)) for d in dimensions}, reverse=True)
    inits = [le.convert_element_type(as_operand(v), get_aval(x).dtype) for v, x in zip(inits, xs)]
    if any(shape[d] == 0 for d in dims):  # nothing to reduce: the init values
        out_shape = tuple(s for i, s in enumerate(shape) if i not in dims)
        out = [ls.broadcast_in_dim(v, out_shape, ()) for v in inits]
        return tuple(out) if multi else out[0]
    for d in dims:
        while get_aval(xs[0]).shape[d] > 1:
            xs = _halve(xs, d, computation)
        xs = [ls.squeeze(x, (d,)) for x in xs]
    out_shape = get_aval(xs[0]).shape
    init_b = [ls.broadcast_in_dim(v, out_shape, ()) for v in inits]
    out = _as_list(computation(_un(init_b), _un(xs)), len(xs))
    return tuple(out) if multi else out[0]


# ---- polygamma ----------------------------------------------------------------------------------

# Euler-Maclaurin coefficients (2j)! / B_2j of the Hurwitz zeta tail (as in Cephes' zeta)
_ZETA_A = (
    12.0,
    -720.0,
    30240.0,
    -1209600.0,
    47900160.0,
    -1.8924375803183791606e9,
    7.47242496e10,
    -2.950130727918164224e12,
    1.1646782814350067249e14,
    -4.5979787224074726105e15,
    1.8152105401943546773e17,
    -7.1661652561756670113e18,
)


def _hurwitz_zeta(s, q):
    """``sum_k (q + k)**-s`` for ``s > 1``, ``q > 0``: ten terms plus the Euler-Maclaurin
    tail at ``w = q + 9`` (relative error ~1e-16 there)."""
    c = lambda v: ls.full(get_aval(q).shape, v, get_aval(q).dtype)
    neg_s = le.neg(s)
    total = c(0.0)
    for k in range(10):
        total = le.add(total, le.pow(le.add(q, c(float(k))), neg_s))
    w = le.add(q, c(9.0))
    b = le.pow(w, neg_s)
    total = le.add(total, le.sub(le.div(le.mul(b, w), le.sub(s, c(1.0))), le.mul(c(0.5), b)))
    a, k = c(1.0), 0.0
    for coef in _ZETA_A:
        a = le.mul(a, le.add(s, c(k)))
        b = le.div(b, w)
        total = le.add(total, le.div(le.mul(a, b), c(coef)))
        a = le.mul(a, le.add(s, c(k + 1.0)))
        b = le.div(b, w)
        k += 2.0
    return total


def zeta(x, q):
    """The Hurwitz zeta function ``sum_k (q + k)**-x``: finite for ``x > 1, q > 0``, inf at
    ``x == 1``; NaN for ``x < 1`` (as in JAX) and for ``q <= 0`` (funcgrad does not extend
    it to non-positive ``q``). Differentiable in ``q``."""
    from funcgrad._src.fnp_base import _promote

    x, q = _promote(x, q, to_inexact=True)
    shape = np.broadcast_shapes(get_aval(x).shape, get_aval(q).shape)
    bd = lambda v: ls.broadcast_in_dim(
        v, shape, tuple(range(len(shape) - get_aval(v).ndim, len(shape)))
    )
    x, q = bd(x), bd(q)
    c = lambda v: ls.full(shape, v, get_aval(q).dtype)
    ok = le.bitwise_and(le.ge(x, c(1.0)), le.gt(q, c(0.0)))
    val = _hurwitz_zeta(le.select(ok, x, c(2.0)), le.select(ok, q, c(1.0)))
    val = le.select(le.eq(x, c(1.0)), c(np.inf), val)
    return le.select(ok, val, c(np.nan))


def polygamma(m, x):
    """The ``m``-th derivative of the digamma function, ``psi^(m)(x)``, for integer
    ``m >= 0`` (given as a float array like ``x``). NaN for non-integer or negative ``m``
    (as in JAX) and, for ``m >= 1``, at ``x <= 0`` (funcgrad does not implement the
    reflection to negative ``x``). Differentiable in ``x``.

    >>> import funcgrad.numpy as fnp
    >>> polygamma(fnp.array(1.0), fnp.array(1.0))   # pi**2 / 6
    Array(1.644934, dtype=float32)
    """
    from funcgrad._src.fnp_base import _promote

    m, x = _promote(m, x, to_inexact=True)
    shape = np.broadcast_shapes(get_aval(m).shape, get_aval(x).shape)
    bd = lambda v: ls.broadcast_in_dim(
        v, shape, tuple(range(len(shape) - get_aval(v).ndim, len(shape)))
    )
    m, x = bd(m), bd(x)
    dt = get_aval(x).dtype
    c = lambda v: ls.full(shape, v, dt)
    valid_m = le.bitwise_and(le.eq(m, le.floor(m)), le.ge(m, c(0.0)))
    pos = le.gt(x, c(0.0))
    m1 = le.max(m, c(1.0))  # the zeta branch sees m >= 1 and x > 0 only
    x1 = le.select(pos, x, c(1.0))
    sign = le.sub(c(1.0), le.mul(c(2.0), le.rem(le.add(m1, c(1.0)), c(2.0))))  # (-1)**(m+1)
    zeta = _hurwitz_zeta(le.add(m1, c(1.0)), x1)
    val = le.mul(le.mul(sign, le.exp(le.lgamma(le.add(m1, c(1.0))))), zeta)
    val = le.select(pos, val, c(np.nan))
    out = le.select(le.eq(m, c(0.0)), le.digamma(x), val)
    return le.select(valid_m, out, c(np.nan))
