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
    """Chained matrix product ``arrays[0] @ arrays[1] @ ... @ arrays[-1]``.

    Follows ``numpy.linalg.multi_dot`` and ``jax.numpy.linalg.multi_dot``: the first and last arrays
    may be 1-d (a row and a column vector). Evaluated left to right (numpy picks the cheapest order;
    the value is the same up to rounding).

    Args:
      arrays: a sequence of at least two array_likes: 2-d, except that the first and last may be
        1-d.
      precision: ignored (accepted for JAX compatibility; keyword-only).

    Returns:
      The product: 2-d, or 1-d/0-d when the first and/or last input is 1-d.

    Raises:
      ValueError: if there are fewer than two arrays, an array has the wrong rank, or the shapes do
        not chain.
    """
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
    """Outer product of two 1-d vectors: ``out[i, j] = x1[i] * x2[j]``.

    Follows ``numpy.linalg.outer`` and ``jax.numpy.linalg.outer`` (unlike ``numpy.outer``, inputs
    must be 1-d).

    Args:
      x1: 1-d array_like of length ``M``.
      x2: 1-d array_like of length ``N``.

    Returns:
      An ``(M, N)`` array of the promoted dtype.

    Raises:
      ValueError: if an input is not 1-d.
    """
    x1, x2 = asarray(x1), asarray(x2)
    if get_aval(x1).ndim != 1 or get_aval(x2).ndim != 1:
        raise ValueError(
            f"linalg.outer: inputs must be 1-d, got shapes {_shape(x1)} and {_shape(x2)}"
        )
    return multiply(x1[:, None], x2[None, :])


def cross(x1, x2, /, *, axis=-1):
    """Cross product of (batches of) 3-vectors along ``axis``.

    Follows ``numpy.linalg.cross`` and ``jax.numpy.linalg.cross``: unlike ``numpy.cross``, only
    3-vectors are allowed. The other axes broadcast.

    Args:
      x1: array_like with size 3 along ``axis``.
      x2: array_like with size 3 along ``axis``; promoted with ``x1``.
      axis: int axis holding the vectors, in the inputs and the result (static; keyword-only).

    Returns:
      The cross products, of the broadcast shape and promoted dtype.

    Raises:
      ValueError: if an input does not have size 3 along ``axis``.
    """
    x1, x2 = asarray(x1), asarray(x2)
    if _shape(x1)[axis] != 3 or _shape(x2)[axis] != 3:
        raise ValueError(
            f"linalg.cross: both inputs must have size 3 along axis {axis}, got "
            f"shapes {_shape(x1)} and {_shape(x2)}"
        )
    return _cross(x1, x2, axis=axis)


def diagonal(x, /, *, offset=0):
    """Diagonals of the matrices in the last two axes of ``x``.

    Follows ``numpy.linalg.diagonal`` and ``jax.numpy.linalg.diagonal``.

    Args:
      x: array_like of shape ``(..., M, N)``.
      offset: int offset of the diagonal (static; keyword-only): positive above the main diagonal,
        negative below.

    Returns:
      The ``(..., K)`` diagonals (``K`` the diagonal's length), of ``x``'s dtype.
    """
    return S.diagonal(x, offset, -2, -1)


def trace(x, /, *, offset=0, dtype=None):
    """Traces (sums of the diagonals) of the matrices in the last two axes of ``x``.

    Follows ``numpy.linalg.trace`` and ``jax.numpy.linalg.trace``.

    Args:
      x: array_like of shape ``(..., M, N)``.
      offset: int offset of the diagonal (static; keyword-only).
      dtype: accumulation dtype (default: as :func:`funcgrad.numpy.sum`, so bools and small integers
        sum in the default int).

    Returns:
      The ``(...)`` traces.
    """
    return S.trace(x, offset, -2, -1, dtype)


def matrix_transpose(x, /):
    """Swap the last two axes of ``x``.

    Follows ``numpy.linalg.matrix_transpose`` and ``jax.numpy.linalg.matrix_transpose``.

    Args:
      x: array_like with at least 2 dimensions.

    Returns:
      ``x`` with shape ``(..., N, M)`` for an input of shape ``(..., M, N)``.

    Raises:
      ValueError: if ``x`` has fewer than 2 dimensions.
    """
    return S.matrix_transpose(x)


def vecdot(x1, x2, /, *, axis=-1, precision=None, preferred_element_type=None):
    """Vector dot product along ``axis``, conjugating ``x1``: ``sum(conj(x1) * x2, axis)``.

    Follows ``numpy.linalg.vecdot`` and ``jax.numpy.linalg.vecdot``; the other axes broadcast.

    Args:
      x1: array_like input (conjugated).
      x2: array_like input, broadcast against ``x1``.
      axis: int axis to contract (static; keyword-only).
      precision: ignored (accepted for JAX compatibility).
      preferred_element_type: optional dtype the result is cast to (after the sum, which accumulates
        as :func:`funcgrad.numpy.sum`).

    Returns:
      The broadcast shape of ``x1`` and ``x2`` without ``axis``.

    Raises:
      ValueError: if the shapes do not broadcast or ``axis`` is out of bounds.
    """
    out = L.vecdot(x1, x2, axis=axis)
    return out if preferred_element_type is None else astype(out, preferred_element_type)


def tensordot(x1, x2, /, *, axes=2, precision=None, preferred_element_type=None):
    """``numpy.tensordot`` with the array-API signature (``axes`` keyword-only).

    Follows ``numpy.linalg.tensordot`` and ``jax.numpy.linalg.tensordot``; see
    :func:`funcgrad.numpy.tensordot`.

    Args:
      x1: array_like input.
      x2: array_like input; promoted with ``x1``.
      axes: an int ``n`` (the last ``n`` axes of ``x1`` with the first ``n`` of ``x2``) or a pair
        ``(axes1, axes2)`` of sequences of ints (static).
      precision: ignored (accepted for JAX compatibility).
      preferred_element_type: optional dtype to accumulate in and return.

    Returns:
      The free axes of ``x1`` followed by the free axes of ``x2``.

    Raises:
      ValueError: if ``axes`` exceeds a rank, an axis is out of bounds, or contracted axes differ in
        size.
    """
    return L.tensordot(x1, x2, axes, preferred_element_type=preferred_element_type)


def tensorsolve(a, b, axes=None):
    """Solve ``tensordot(a, x, x.ndim) = b`` for ``x``.

    Follows ``numpy.linalg.tensorsolve`` and ``jax.numpy.linalg.tensorsolve``: ``a`` is reshaped to
    a square ``(b.size, b.size)`` matrix and solved with :func:`funcgrad.numpy.linalg.solve` (a
    singular system gives inf/NaN).

    Args:
      a: array_like of shape ``b.shape + x.shape`` (after moving ``axes`` to the end), with
        ``prod(x.shape) == b.size``.
      b: array_like right-hand side; ``a`` and ``b`` are promoted to inexact.
      axes: optional axes of ``a`` (int or sequence of ints, static) to move to the end first.

    Returns:
      ``x``, of shape ``a.shape[b.ndim:]``.

    Raises:
      ValueError: if the shapes of ``a`` and ``b`` do not fit as described.
    """
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
    """Inverse of ``a`` with respect to ``tensordot(., ., ind)``.

    Follows ``numpy.linalg.tensorinv`` and ``jax.numpy.linalg.tensorinv``: ``a`` is reshaped to a
    square matrix, inverted with :func:`funcgrad.numpy.linalg.inv` and reshaped back.

    Args:
      a: array_like with ``prod(a.shape[:ind]) == prod(a.shape[ind:])``; promoted to inexact.
      ind: static positive int: the number of leading axes that form the first index.

    Returns:
      The inverse, of shape ``a.shape[ind:] + a.shape[:ind]``.

    Raises:
      ValueError: if ``ind`` is not positive or the two products differ.
      TypeError: if ``ind`` is not an int.
    """
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
