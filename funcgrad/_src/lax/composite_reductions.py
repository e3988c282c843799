"""``funcgrad.lax`` reductions composed from existing primitives (no new rules):
``cumlogsumexp`` (an associative scan), ``reduce_window`` (one strided slice per window
position) and ``reduce`` (pairwise halving with any associative computation).

Written from ``slice``, ``pad``, ``concatenate`` and elementwise primitives, so grad, jvp,
vmap and jit work without new rules.
"""

from __future__ import annotations

import itertools

import numpy as np

from funcgrad._src.array import get_aval
from funcgrad._src.core import canonicalize_axis
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax import transcendental as ltr
from funcgrad._src.lax.common import as_operand

__all__ = ["cumlogsumexp", "reduce", "reduce_window"]


# ---- scans and windows --------------------------------------------------------------------------


def _logaddexp(a, b):
    m = le.max(a, b)
    finite = le.is_finite(m)
    m_safe = le.select(finite, m, ls.full(get_aval(m).shape, 0, get_aval(m).dtype))
    s = le.add(ltr.exp(le.sub(a, m_safe)), ltr.exp(le.sub(b, m_safe)))
    s = le.select(finite, s, ls.full(get_aval(s).shape, 1, get_aval(s).dtype))  # finite grads
    return le.select(finite, le.add(m_safe, ltr.log(s)), m)


def cumlogsumexp(operand, axis: int = 0, reverse: bool = False):
    """Cumulative ``log(sum(exp(x)))`` along ``axis``, computed stably (no overflow).

    Args:
      operand: a floating or complex array.
      axis: the static axis to accumulate along (negative counts from the end).
      reverse: accumulate from the end of the axis instead.

    Returns:
      An array of the shape and dtype of ``operand``.

    Raises:
      TypeError: if ``operand`` is not floating or complex.
      ValueError: if ``axis`` is out of bounds.
    """
    x = as_operand(operand)
    if get_aval(x).dtype.kind not in "fc":
        raise TypeError(f"cumlogsumexp: operand must be floating point, got {get_aval(x).dtype}")
    return lr.prefix_scan(_logaddexp, x, axis, reverse, -np.inf)


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

    Args:
      operand: an array.
      init_value: a scalar, converted to ``operand``'s dtype (the identity of
        ``computation``, e.g. 0 for add, -inf for max).
      computation: a function of two arrays of one shape returning one such array.
      window_dimensions: the static window size per axis.
      window_strides: the static stride per axis.
      padding: ``"SAME"``, ``"VALID"`` or one ``(low, high)`` pair per axis.
      base_dilation: static dilation of ``operand`` per axis (default 1).
      window_dilation: static dilation of the window per axis (default 1).

    Returns:
      An array of ``operand``'s dtype with one entry per window position.

    Raises:
      ValueError: if the window, strides, dilations or padding do not have one entry per
        axis, a size is < 1, or the padding string is unknown.
      TypeError: if ``init_value`` is not a scalar.

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
    xp = lsl.pad(x, init, cfg)
    padded = get_aval(xp).shape
    out_shape = tuple(max((p - e) // s + 1, 0) for p, e, s in zip(padded, eff, strides))
    acc = ls.broadcast_in_dim(init, out_shape, ())
    if 0 in out_shape:
        return acc
    for offs in itertools.product(*(range(w) for w in window)):
        start = tuple(o * d for o, d in zip(offs, wdil))
        limit = tuple(st + (m - 1) * s + 1 for st, m, s in zip(start, out_shape, strides))
        acc = computation(acc, lsl.slice(xp, start, limit, strides))
    return acc


def _halve(xs, axis, computation):
    """One pairwise step along ``axis``: combine the first and second halves; an odd last
    slice is carried over unchanged."""
    n = get_aval(xs[0]).shape[axis]
    half = n // 2
    lo = [lsl.slice_in_dim(x, 0, half, axis=axis) for x in xs]
    hi = [lsl.slice_in_dim(x, half, 2 * half, axis=axis) for x in xs]
    out = _as_list(computation(_un(lo), _un(hi)), len(xs))
    if n % 2:
        out = [
            lsl.concatenate([o, lsl.slice_in_dim(x, n - 1, n, axis=axis)], axis)
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

    Args:
      operands: an array, or a tuple/list of arrays of one shape.
      init_values: a scalar (a tuple of scalars for several operands), converted to the
        operands' dtypes: the identity of ``computation``.
      computation: a function of two arrays (two tuples of arrays) returning one (a tuple).
      dimensions: the static axes to reduce (negative ones count from the end).

    Returns:
      The reduced array (a tuple of them for several operands), of the operands' shape
      without ``dimensions``.

    Raises:
      ValueError: if the numbers of operands and init values differ, or an axis is out of
        bounds.
      TypeError: if the operands' shapes differ.

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
