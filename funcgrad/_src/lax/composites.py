"""``funcgrad.lax`` functions composed from existing primitives (no new rules): top_k,
sort_key_val, index_in_dim, scatter_mul/min/max, batch_matmul, Precision,
optimization_barrier. Reductions composed the same way are in ``composite_reductions.py``,
special functions in ``special.py``.

Each is written from ``sort``, ``slice``, ``dot_general``, ``scatter`` and elementwise
primitives, so grad, jvp, vmap and jit work without new rules.
"""

from __future__ import annotations

import enum

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval
from funcgrad._src.core import canonicalize_axis
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import indexing as li
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax.common import as_operand

__all__ = [
    "Precision",
    "batch_matmul",
    "index_in_dim",
    "optimization_barrier",
    "scatter_max",
    "scatter_min",
    "scatter_mul",
    "sort_key_val",
    "top_k",
]


# ---- sorting ------------------------------------------------------------------------------------


def top_k(operand, k: int, *, axis: int = -1):
    """The ``k`` largest entries along ``axis`` and their int32 indices, largest first; of
    equal entries the lower index comes first (NaN counts as the largest).

    Args:
      operand: an array of rank >= 1 (not complex).
      k: a static int, ``0 <= k <= operand.shape[axis]``.
      axis: the static axis to search (keyword-only; default the last).

    Returns:
      ``(values, indices)``: arrays of ``operand``'s shape with ``axis`` of size ``k``, of
      ``operand``'s dtype and int32.

    Raises:
      TypeError: if ``operand`` is a scalar or complex.
      ValueError: if ``k`` is out of range (or ``axis`` is out of bounds).

    >>> import funcgrad.numpy as fnp
    >>> top_k(fnp.array([9., 3., 6., 4., 10.]), 3)
    (Array([10.,  9.,  6.], dtype=float32), Array([4, 0, 2], dtype=int32))
    """
    x = as_operand(operand)
    a = get_aval(x)
    if a.ndim == 0:
        from funcgrad._src.core import ValueTypeError  # JAX: ValueError

        raise ValueTypeError("top_k: operand must have at least one dimension, got a scalar")
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
    vals = lsl.slice_in_dim(ls.rev(vals, (ax,)), 0, k, axis=ax)
    idx = lsl.slice_in_dim(ls.rev(le.neg(idx), (ax,)), 0, k, axis=ax)
    return vals, idx


def sort_key_val(keys, values, dimension: int = -1, is_stable: bool = True):
    """Sort ``keys`` along ``dimension`` and permute ``values`` the same way (stable).

    Args:
      keys: an array.
      values: an array of the shape of ``keys`` (any dtype).
      dimension: the static axis to sort along (default the last).
      is_stable: accepted; the sort is always stable.

    Returns:
      ``(sorted keys, values in the same order)``.

    Raises:
      TypeError: if the shapes differ.
    """
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
    """``operand`` at the static ``index`` along ``axis``, as ``jax.lax.index_in_dim``.

    Args:
      operand: an array.
      index: a static int (negative counts from the end).
      axis: the static axis (negative counts from the end).
      keepdims: keep ``axis`` with size 1 (the default) or remove it.

    Returns:
      An array of ``operand``'s dtype.

    Raises:
      IndexError: if ``index`` is out of bounds.
    """
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
    out = lsl.slice_in_dim(x, i, i + 1, axis=ax)
    return out if keepdims else ls.squeeze(out, (ax,))


def scatter_mul(operand, indices, updates, axes, mode="drop"):
    """``operand`` with ``operand[idx] *= updates`` (funcgrad's ``axes`` form of scatter, as
    ``lax.scatter_add``; not JAX's ScatterDimensionNumbers); repeated indices multiply.

    Args:
      operand: an array.
      indices: an integer array of shape ``batch + (len(axes),)``.
      updates: an array of shape ``batch`` + the shape of the operand axes not in ``axes``.
      axes: the static, non-negative operand axes that ``indices`` select along.
      mode: ``"drop"`` (default) ignores out-of-bounds updates; ``"clip"`` clamps.

    Returns:
      An array of the shape and dtype of ``operand``.

    Raises:
      TypeError: if ``updates`` does not have the shape above.
    """
    return li.scatter(operand, indices, updates, axes, mode, combine="mul")


def scatter_min(operand, indices, updates, axes, mode="drop"):
    """``operand`` with ``operand[idx] = min(operand[idx], updates)`` (``axes`` form).

    Args:
      operand: an array.
      indices: an integer array of shape ``batch + (len(axes),)``.
      updates: an array of shape ``batch`` + the shape of the operand axes not in ``axes``.
      axes: the static, non-negative operand axes that ``indices`` select along.
      mode: ``"drop"`` (default) ignores out-of-bounds updates; ``"clip"`` clamps.

    Returns:
      An array of the shape and dtype of ``operand``.

    Raises:
      TypeError: if ``updates`` does not have the shape above.
    """
    return li.scatter(operand, indices, updates, axes, mode, combine="min")


def scatter_max(operand, indices, updates, axes, mode="drop"):
    """``operand`` with ``operand[idx] = max(operand[idx], updates)`` (``axes`` form).

    Args:
      operand: an array.
      indices: an integer array of shape ``batch + (len(axes),)``.
      updates: an array of shape ``batch`` + the shape of the operand axes not in ``axes``.
      axes: the static, non-negative operand axes that ``indices`` select along.
      mode: ``"drop"`` (default) ignores out-of-bounds updates; ``"clip"`` clamps.

    Returns:
      An array of the shape and dtype of ``operand``.

    Raises:
      TypeError: if ``updates`` does not have the shape above.
    """
    return li.scatter(operand, indices, updates, axes, mode, combine="max")


# ---- products -----------------------------------------------------------------------------------


class Precision(enum.Enum):
    """Accepted by ``precision=`` of dot/conv, as in JAX. funcgrad's CPU kernels always
    compute in the operand dtype (float32 accumulation in float32), so every value gives
    the same result. Strings ``'default'``/``'high'``/``'highest'`` (and ``'bfloat16'``,
    ``'tensorfloat32'``, ``'float32'``) convert: ``Precision('highest')``.

    Args:
      value: 0, 1, 2 or one of the strings above (case-insensitive).
    """

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
    """Batched matrix product: ``lhs[..., i, k] @ rhs[..., k, j]`` with equal batch dims.

    Args:
      lhs: an array of rank >= 2.
      rhs: an array of ``lhs``'s rank, dtype and batch dimensions (all but the last two).
      precision: accepted and ignored (see :class:`Precision`).

    Returns:
      An array of shape ``batch + (i, j)``.

    Raises:
      TypeError: if the ranks, batch dimensions or inner dimensions do not match.
    """
    from funcgrad._src.lax.dot import dot_general

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
    anyway: it exists for JAX compatibility).

    Args:
      operand: any pytree.

    Returns:
      ``operand`` itself.
    """
    return operand
