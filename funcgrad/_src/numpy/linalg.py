"""``funcgrad.numpy.linalg``: numpy.linalg over funcgrad arrays (re-exported by
``funcgrad/numpy/linalg/__init__.py``).

Everything is differentiable (grad, jvp, vmap, jit) and batched over leading dimensions like
numpy. Built from the primitives in ``funcgrad._src.lax.linalg``; differences from numpy
(NaN instead of LinAlgError, gradient conventions, ...) are listed in docs/numpy.md."""

from __future__ import annotations

import builtins
import operator
from typing import NamedTuple

import numpy as _np

from funcgrad._src.api import custom_jvp as _custom_jvp
from funcgrad._src.array import get_aval as _aval
from funcgrad._src.core import canonicalize_axis as _canon
from funcgrad._src.lax import linalg as _ll
from funcgrad._src.numpy import reductions as R
from funcgrad._src.numpy.conversion import _promote
from funcgrad._src.numpy.conversion import asarray as _asarray
from funcgrad._src.numpy.conversion import astype as _astype
from funcgrad._src.numpy.conversion import broadcast_shapes as _bshapes
from funcgrad._src.numpy.conversion import broadcast_to as _broadcast_to
from funcgrad._src.numpy.creation import eye as _eye
from funcgrad._src.numpy.creation import full as _full
from funcgrad._src.numpy.creation import ones_like as _ones_like
from funcgrad._src.numpy.creation import zeros_like as _zeros_like
from funcgrad._src.numpy.logic import equal as _eq
from funcgrad._src.numpy.logic import greater as _gt
from funcgrad._src.numpy.logic import not_equal as _ne
from funcgrad._src.numpy.logic import where as _where
from funcgrad._src.numpy.math import abs as _abs
from funcgrad._src.numpy.math import conj as _conj
from funcgrad._src.numpy.math import power as _power
from funcgrad._src.numpy.math import real as _real
from funcgrad._src.numpy.math import sign as _sign
from funcgrad._src.numpy.products import matmul
from funcgrad._src.numpy.ranges import arange as _arange
from funcgrad._src.numpy.reductions import prod
from funcgrad._src.numpy.shape import diagonal as _diagonal
from funcgrad._src.numpy.shape import expand_dims as _expand_dims
from funcgrad._src.numpy.shape import moveaxis as _moveaxis
from funcgrad._src.numpy.shape import swapaxes as _swapaxes
from funcgrad._src.numpy.transcendental import log as _log
from funcgrad._src.numpy.transcendental import sqrt as _sqrt

LinAlgError = _np.linalg.LinAlgError


class EighResult(NamedTuple):
    """``(eigenvalues, eigenvectors)`` named tuple returned by :func:`eigh`.

    Args:
      eigenvalues: ``(..., N)`` real eigenvalues in ascending order.
      eigenvectors: ``(..., N, N)`` matrix whose columns are the unit eigenvectors.
    """

    eigenvalues: object
    eigenvectors: object


class QRResult(NamedTuple):
    """``(Q, R)`` named tuple returned by :func:`qr`.

    Args:
      Q: the matrix with orthonormal columns.
      R: the upper-triangular factor.
    """

    Q: object
    R: object


class SlogdetResult(NamedTuple):
    """``(sign, logabsdet)`` named tuple returned by :func:`slogdet`.

    Args:
      sign: the sign (real input) or unit-modulus phase (complex input) of the determinant; 0 for a
        singular matrix.
      logabsdet: the natural log of ``|det|`` (-inf for a singular matrix).
    """

    sign: object
    logabsdet: object


class SVDResult(NamedTuple):
    """``(U, S, Vh)`` named tuple returned by :func:`svd`.

    Args:
      U: the left singular vectors (columns).
      S: the singular values, descending.
      Vh: the conjugate-transposed right singular vectors (rows).
    """

    U: object
    S: object
    Vh: object


def _inexact(a):
    (a,) = _promote(_asarray(a), to_inexact=True)
    return a


def _square(name, a):
    s = _aval(a).shape
    if len(s) < 2 or s[-1] != s[-2]:
        raise LinAlgError(f"{name}: last 2 dimensions of the array must be square, got shape {s}")


def _H(x):
    x = _swapaxes(x, -1, -2)
    return _conj(x) if _aval(x).dtype.kind == "c" else x


def _diag(a):
    return _diagonal(a, 0, -2, -1)


def _eye_batch(a, n=None):
    n = _aval(a).shape[-1] if n is None else n
    return _broadcast_to(_eye(n, dtype=_aval(a).dtype), _aval(a).shape[:-2] + (n, n))


def _safe_sqrt(x):
    """sqrt with gradient 0 (not NaN) at 0: the double-where pattern (docs/numpy.md)."""
    zero = _eq(x, 0)
    return _where(zero, _zeros_like(x), _sqrt(_where(zero, _ones_like(x), x)))


def cholesky(a, *, upper: bool = False):
    """Cholesky factor of a (batch of) Hermitian positive-definite matrices.

    Follows ``numpy.linalg.cholesky`` (``upper`` as numpy 2) and ``jax.numpy.linalg.cholesky``. Like
    JAX it factors ``(a + aᴴ)/2`` (so gradients are symmetric) and gives NaN, not ``LinAlgError``,
    when ``a`` is not positive definite.

    Args:
      a: array_like of shape ``(..., N, N)``; promoted to inexact.
      upper: return the upper factor ``U = Lᴴ`` (``a = Uᴴ U``) instead of the lower ``L``
        (``a = L Lᴴ``). Keyword-only.

    Returns:
      The ``(..., N, N)`` triangular factor.

    Raises:
      LinAlgError: (a ``ValueError``) if the last two dimensions are not square.

    >>> import funcgrad.numpy as fnp
    >>> fnp.linalg.cholesky(fnp.array([[4.0, 2.0], [2.0, 5.0]]))
    Array([[2., 0.],
           [1., 2.]], dtype=float32)
    """
    a = _inexact(a)
    _square("cholesky", a)
    L = _ll.cholesky((a + _H(a)) / 2)
    return _H(L) if upper else L


def qr(a, mode: str = "reduced"):
    """QR decomposition ``a = Q @ R`` of a (batch of) matrices.

    Follows ``numpy.linalg.qr`` and ``jax.numpy.linalg.qr``. Differentiable for ``mode='reduced'``
    with ``M >= N``.

    Args:
      a: array_like of shape ``(..., M, N)``; promoted to inexact.
      mode: 'reduced' (``Q`` is ``(..., M, K)`` and ``R`` ``(..., K, N)`` with ``K = min(M, N)``),
        'complete' (``Q`` is ``(..., M, M)``, ``R`` ``(..., M, N)``) or 'r' (``R`` only, as
        'reduced').

    Returns:
      A :class:`QRResult` ``(Q, R)``, or ``R`` alone for ``mode='r'``.

    Raises:
      ValueError: if ``mode`` is not one of the three.
    """
    a = _inexact(a)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"qr: mode {mode!r} is not supported (use 'reduced', 'complete' or 'r')")
    m, n = _aval(a).shape[-2:]
    full = mode == "complete" and m != n
    q, r = _ll.qr(a, full_matrices=full)
    return r if mode == "r" else QRResult(q, r)


def eigh(a, UPLO: str | None = None, symmetrize_input: bool = True):
    """Eigenvalues (ascending) and eigenvectors of a (batch of) Hermitian matrices.

    Follows ``numpy.linalg.eigh`` and ``jax.numpy.linalg.eigh``. With ``symmetrize_input`` (the
    default, as in JAX) ``(a + aᴴ)/2`` is used, so ``UPLO`` does not matter; otherwise only the
    ``UPLO`` triangle is read. Eigenvectors are unique only up to sign (phase); their derivatives
    are infinite where eigenvalues coincide. No convergence gives NaN, not ``LinAlgError``.

    Args:
      a: array_like of shape ``(..., N, N)``; promoted to inexact.
      UPLO: 'L' (default) or 'U': the triangle read when ``symmetrize_input`` is False.
      symmetrize_input: use ``(a + aᴴ)/2`` (JAX's argument).

    Returns:
      An :class:`EighResult` ``(eigenvalues, eigenvectors)``: ``(..., N)`` real values and the
      ``(..., N, N)`` matrix of eigenvector columns.

    Raises:
      LinAlgError: (a ``ValueError``) if the last two dimensions are not square.
    """
    a = _inexact(a)
    _square("eigh", a)
    v, w = _ll.eigh(a, lower=(UPLO or "L").upper() == "L", symmetrize_input=symmetrize_input)
    return EighResult(w, v)


def eigvalsh(a, UPLO: str | None = None):
    """Eigenvalues (ascending) of a (batch of) Hermitian matrices: ``eigh(a, UPLO).eigenvalues``.

    Follows ``numpy.linalg.eigvalsh`` and ``jax.numpy.linalg.eigvalsh`` (``(a + aᴴ)/2`` is used, as
    :func:`eigh` does by default).

    Args:
      a: array_like of shape ``(..., N, N)``; promoted to inexact.
      UPLO: accepted as in :func:`eigh` (no effect, because the input is symmetrized).

    Returns:
      The ``(..., N)`` real eigenvalues.

    Raises:
      LinAlgError: (a ``ValueError``) if the last two dimensions are not square.
    """
    return eigh(a, UPLO).eigenvalues


def svd(a, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False):
    """Singular value decomposition ``a = U @ diag(S) @ Vh`` (``S`` descending), batched.

    Follows ``numpy.linalg.svd`` and ``jax.numpy.linalg.svd``. Gradients need
    ``full_matrices=False`` for non-square ``a`` (as in JAX); square inputs are always
    differentiable, but the ``U``/``Vh`` derivatives are infinite where singular values coincide. No
    convergence gives NaN, not ``LinAlgError``.

    Args:
      a: array_like of shape ``(..., M, N)``; promoted to inexact.
      full_matrices: ``U`` is ``(..., M, M)`` and ``Vh`` ``(..., N, N)`` (True, default) or
        ``(..., M, K)`` and ``(..., K, N)`` with ``K = min(M, N)`` (False).
      compute_uv: return ``U`` and ``Vh`` too (True) or only ``S`` (False).
      hermitian: ignored (accepted for numpy compatibility).

    Returns:
      An :class:`SVDResult` ``(U, S, Vh)``, or only the ``(..., K)`` real singular values ``S`` when
      ``compute_uv`` is False.
    """
    a = _inexact(a)
    m, n = _aval(a).shape[-2:]
    if not compute_uv:
        return _ll.svd(a, full_matrices=False, compute_uv=False)
    u, s, vh = _ll.svd(a, full_matrices=full_matrices and m != n)
    return SVDResult(u, s, vh)


def svdvals(x):
    """Singular values (descending) of a (batch of) matrices: ``svd(x, compute_uv=False)``.

    Follows ``numpy.linalg.svdvals`` and ``jax.numpy.linalg.svdvals``.

    Args:
      x: array_like of shape ``(..., M, N)``; promoted to inexact.

    Returns:
      The ``(..., min(M, N))`` real singular values.
    """
    return svd(x, compute_uv=False)


def _lu_solve(lu, perm, b):
    """Solve with P a = L U given b (..., m, k) of the same batch dims."""
    m = _aval(lu).shape[-1]
    p = _astype(_eq(perm[..., :, None], _arange(m, dtype=perm.dtype)), _aval(b).dtype)
    y = _ll.triangular_solve(lu, matmul(p, b), left_side=True, lower=True, unit_diagonal=True)
    return _ll.triangular_solve(lu, y, left_side=True, lower=False)


def solve(a, b):
    """Solve the linear system ``a @ x = b`` for ``x`` (LU with partial pivoting).

    Follows ``numpy.linalg.solve`` (numpy 2 semantics) and ``jax.numpy.linalg.solve``: a 1-d ``b``
    is one right-hand side; otherwise ``b`` is a (batch of) ``(..., M, K)`` matrices and the batch
    dimensions of ``a`` and ``b`` broadcast. A singular ``a`` gives inf/NaN, not ``LinAlgError``.

    Args:
      a: array_like of shape ``(..., M, M)``.
      b: array_like of shape ``(M,)`` or ``(..., M, K)``; promoted with ``a`` to inexact.

    Returns:
      ``x``: ``(..., M)`` for a 1-d ``b``, else ``(batch..., M, K)``.

    Raises:
      LinAlgError: (a ``ValueError``) if the last two dimensions are not square.
      ValueError: if the batch dimensions do not broadcast.

    >>> import funcgrad.numpy as fnp
    >>> fnp.linalg.solve(fnp.array([[2.0, 0.0], [0.0, 4.0]]), fnp.array([2.0, 2.0]))
    Array([1. , 0.5], dtype=float32)
    """
    a, b = _promote(_asarray(a), _asarray(b), to_inexact=True)
    _square("solve", a)
    vec = _aval(b).ndim == 1
    if vec:
        b = b[:, None]
    batch = _bshapes(_aval(a).shape[:-2], _aval(b).shape[:-2])
    a = _broadcast_to(a, batch + _aval(a).shape[-2:])
    b = _broadcast_to(b, batch + _aval(b).shape[-2:])
    lu, _, perm = _ll.lu(a)
    x = _lu_solve(lu, perm, b)
    return x[..., 0] if vec else x


def inv(a):
    """Inverse of a (batch of) square matrices: ``solve(a, I)``.

    Follows ``numpy.linalg.inv`` and ``jax.numpy.linalg.inv``; a singular ``a`` gives inf/NaN, not
    ``LinAlgError``.

    Args:
      a: array_like of shape ``(..., N, N)``; promoted to inexact.

    Returns:
      The ``(..., N, N)`` inverse.

    Raises:
      LinAlgError: (a ``ValueError``) if the last two dimensions are not square.
    """
    a = _inexact(a)
    _square("inv", a)
    return solve(a, _eye_batch(a))


def _lu_det_parts(a):
    lu, piv, _ = _ll.lu(a)
    d = _diag(lu)
    swaps = R.sum(_ne(piv, _arange(_aval(piv).shape[-1], dtype=piv.dtype)), axis=-1)
    parity = 1 - 2 * (swaps % 2)
    return d, _astype(parity, _aval(a).dtype)


def det(a):
    """Determinant of a (batch of) square matrices, from the LU factorisation.

    Follows ``numpy.linalg.det`` and ``jax.numpy.linalg.det``; the gradient at an exactly singular
    matrix is not finite (JAX uses a cofactor expansion there).

    Args:
      a: array_like of shape ``(..., N, N)``; promoted to inexact.

    Returns:
      The ``(...)`` determinants.

    Raises:
      LinAlgError: (a ``ValueError``) if the last two dimensions are not square.

    >>> import funcgrad.numpy as fnp
    >>> fnp.linalg.det(fnp.array([[2.0, 1.0], [1.0, 3.0]]))
    Array(5., dtype=float32)
    """
    a = _inexact(a)
    _square("det", a)
    d, parity = _lu_det_parts(a)
    return parity * prod(d, axis=-1)


def slogdet(a):
    """Sign and log of the absolute value of the determinant, without overflow (batched).

    Follows ``numpy.linalg.slogdet`` and ``jax.numpy.linalg.slogdet`` (from the LU factorisation).

    Args:
      a: array_like of shape ``(..., N, N)``; promoted to inexact.

    Returns:
      A :class:`SlogdetResult` ``(sign, logabsdet)`` of ``(...)`` arrays:
      ``det = sign * exp(logabsdet)``; a singular matrix gives sign 0 and logabsdet -inf.

    Raises:
      LinAlgError: (a ``ValueError``) if the last two dimensions are not square.
    """
    a = _inexact(a)
    _square("slogdet", a)
    d, parity = _lu_det_parts(a)
    ad = _abs(d)
    if _aval(a).dtype.kind == "c":
        unit = d / _where(_eq(ad, 0), _ones_like(ad), ad)
        sign = parity * prod(unit, axis=-1)
    else:
        sign = parity * prod(_sign(d), axis=-1)
    logabs = R.sum(_log(ad), axis=-1)
    zero = _eq(sign, 0)
    return SlogdetResult(sign, _where(zero, _full((), -_np.inf, _aval(logabs).dtype), logabs))


def _pinv_default_rtol(a):
    m, n = _aval(a).shape[-2:]
    return 10.0 * builtins.max(m, n) * float(_np.finfo(_aval(a).dtype).eps)


def _pinv_fun(a, rtol):
    u, s, vh = _ll.svd(a, full_matrices=False)
    cutoff = rtol * R.max(s, axis=-1, keepdims=True)
    keep = _gt(s, cutoff)
    s_inv = _where(keep, 1 / _where(keep, s, _ones_like(s)), _zeros_like(s))
    return matmul(_H(vh) * _astype(s_inv, _aval(a).dtype)[..., None, :], _H(u))


def _pinv_jvp(rtol, primals, tangents):
    # Golub & Pereyra (1973), as in JAX: with p = pinv(a),
    # ṗ = −p ȧ p + p pᴴ ȧᴴ (I − a p) + (I − p a) ȧᴴ pᴴ p
    # (valid where the rank is locally constant; no division by singular-value gaps).
    (a,), (a_dot,) = primals, tangents
    p = _pinv_fun(a, rtol)
    s = matmul(matmul(p, _H(p)), _H(a_dot))
    t = matmul(matmul(_H(a_dot), _H(p)), p)
    p_dot = -matmul(matmul(p, a_dot), p) + s - matmul(matmul(s, a), p) + t - matmul(matmul(p, a), t)
    return p, p_dot


_pinv = _custom_jvp(_pinv_fun, nondiff_argnums=(1,))
_pinv.defjvp(_pinv_jvp)


def pinv(a, rtol=None, hermitian: bool = False, *, rcond=None):
    """Moore-Penrose pseudo-inverse of a (batch of) matrices, via the SVD.

    Follows ``numpy.linalg.pinv`` and ``jax.numpy.linalg.pinv``: singular values at or below
    ``rtol * max(s)`` are dropped. Differentiable with the Golub-Pereyra formula (no NaN for
    repeated singular values; valid where the rank is locally constant).

    Args:
      a: array_like of shape ``(..., M, N)``; promoted to inexact.
      rtol: relative cutoff; default ``10 * max(M, N) * eps`` (as in JAX).
      hermitian: ignored (accepted for numpy compatibility).
      rcond: numpy's older name of ``rtol`` (keyword-only); overrides ``rtol`` when given.

    Returns:
      The ``(..., N, M)`` pseudo-inverse.
    """
    a = _inexact(a)
    tol = rcond if rcond is not None else rtol
    tol = _pinv_default_rtol(a) if tol is None else float(tol)
    return _pinv(a, tol)


def matrix_power(a, n: int):
    """``a`` raised to the integer power ``n`` (negative ``n``: powers of the inverse), batched.

    Follows ``numpy.linalg.matrix_power`` and ``jax.numpy.linalg.matrix_power``: for ``n >= 0``
    the result keeps the input's dtype (bool and integer matrices stay bool and integer); a
    negative ``n`` inverts first, so the input is promoted to inexact.

    Args:
      a: array_like of shape ``(..., N, N)``.
      n: static int exponent; 0 gives the identity.

    Returns:
      The ``(..., N, N)`` power.

    Raises:
      LinAlgError: (a ``ValueError``) if the last two dimensions are not square.
      TypeError: if ``n`` is not an int.
    """
    a = _asarray(a)
    _square("matrix_power", a)
    n = operator.index(n)
    if n == 0:
        return _eye_batch(a)
    if n < 0:
        a, n = inv(_inexact(a)), -n
    result = None
    while n:
        if n & 1:
            result = a if result is None else matmul(result, a)
        n >>= 1
        if n:
            a = matmul(a, a)
    return result


def matrix_rank(M, rtol=None, *, tol=None):
    """Rank of a (batch of) matrices: the number of singular values above a tolerance.

    Follows ``numpy.linalg.matrix_rank`` and ``jax.numpy.linalg.matrix_rank``. An input with fewer
    than 2 dimensions has rank 1 unless all its entries are 0.

    Args:
      M: array_like of shape ``(..., M, N)`` (or fewer dimensions); promoted to inexact.
      rtol: relative tolerance (times the largest singular value); default ``max(M, N) * eps``.
      tol: absolute tolerance (keyword-only; a scalar or one per matrix); overrides ``rtol``.

    Returns:
      The ``(...)`` ranks in the default int dtype (an int32 scalar for fewer than 2 dimensions).
    """
    M = _inexact(M)
    if _aval(M).ndim < 2:
        return _astype(R.any(_ne(M, 0)), _np.int32)
    s = svd(M, compute_uv=False)
    if tol is None:
        r = (
            rtol
            if rtol is not None
            else builtins.max(_aval(M).shape[-2:]) * float(_np.finfo(_aval(s).dtype).eps)
        )
        tol = R.max(s, axis=-1, keepdims=True) * r
    else:
        tol = _asarray(tol)[..., None] if _aval(_asarray(tol)).ndim else tol
    return R.sum(_gt(s, tol), axis=-1)


def lstsq(a, b, rcond=None):
    """Least-squares solution ``x`` of ``a @ x = b``, via the pseudo-inverse.

    Follows ``numpy.linalg.lstsq`` and ``jax.numpy.linalg.lstsq``, except that (as in JAX)
    ``residuals`` is always ``sum(|b - a x|², axis=0)``: numpy returns an empty array when ``a`` is
    rank-deficient or has fewer rows than columns.

    Args:
      a: 2-d array_like of shape ``(M, N)`` (no batch dimensions).
      b: array_like of shape ``(M,)`` or ``(M, K)``; promoted with ``a`` to inexact.
      rcond: cutoff for small singular values: relative in the pseudo-inverse (as ``pinv``'s
        ``rtol``, default as there), and used as the absolute ``tol`` of the rank.

    Returns:
      ``(x, residuals, rank, s)``: ``x`` of shape ``(N,)`` or ``(N, K)``; ``residuals`` of shape
      ``(1,)`` or ``(K,)``; the rank of ``a`` (default int); its ``min(M, N)`` singular values.

    Raises:
      ValueError: if ``a`` is not 2-d.
    """
    a, b = _promote(_asarray(a), _asarray(b), to_inexact=True)
    if _aval(a).ndim != 2:
        raise ValueError("lstsq: a must be 2-d")
    vec = _aval(b).ndim == 1
    b2 = b[:, None] if vec else b
    x = matmul(pinv(a, rcond=rcond), b2)
    resid = R.sum(_abs(b2 - matmul(a, x)) ** 2, axis=0)
    s = svd(a, compute_uv=False)
    rank = matrix_rank(a, tol=(rcond if rcond is not None else None))
    return (x[:, 0] if vec else x), (resid[0:1] if vec else resid), rank, s


def cond(x, p=None):
    """Condition number of a (batch of) matrices.

    Follows ``numpy.linalg.cond`` and ``jax.numpy.linalg.cond``: for ``p`` None or 2 it is
    ``s_max / s_min`` (-2: ``s_min / s_max``) from the singular values; for other ``p``
    ``norm(x, p) * norm(inv(x), p)``. A singular matrix gives inf (or NaN), not an error.

    Args:
      x: array_like of shape ``(..., M, N)`` (square for ``p`` other than None/2/-2); promoted to
        inexact.
      p: None, 2, -2, 'fro', 'nuc', 1, -1, inf or -inf (a matrix-norm order, as :func:`norm`).

    Returns:
      The ``(...)`` condition numbers (real).

    Raises:
      ValueError: if ``p`` is not a valid matrix-norm order.
      LinAlgError: if ``p`` needs the inverse and ``x`` is not square.
    """
    x = _inexact(x)
    if p is None or p == 2 or p == -2:
        s = svd(x, compute_uv=False)
        r = s[..., 0] / s[..., -1]
        return 1 / r if p == -2 else r
    return norm(x, p, axis=(-2, -1)) * norm(inv(x), p, axis=(-2, -1))


def _vector_norm(x, ord, axes, keepdims):
    ax = _abs(x)
    if ord is None or ord == 2:
        sq = _real(x * _conj(x)) if _aval(x).dtype.kind == "c" else x * x
        return _safe_sqrt(R.sum(sq, axis=axes, keepdims=keepdims))
    if ord == _np.inf:
        return R.max(ax, axis=axes, keepdims=keepdims)
    if ord == -_np.inf:
        return R.min(ax, axis=axes, keepdims=keepdims)
    if ord == 0:
        return _astype(R.sum(_ne(x, 0), axis=axes, keepdims=keepdims), _aval(ax).dtype)
    if ord == 1:
        return R.sum(ax, axis=axes, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"norm: invalid norm order {ord!r} for vectors")
    p = float(ord)
    return _power(R.sum(_power(ax, p), axis=axes, keepdims=keepdims), 1.0 / p)


def _matrix_norm(x, ord, axes, keepdims):
    r, c = axes
    if ord is None or ord == "fro":
        return _vector_norm(x, None, axes, keepdims)
    if ord in (1, -1, _np.inf, -_np.inf):
        sum_ax, red_ax = (r, c) if ord in (1, -1) else (c, r)
        sums = R.sum(_abs(x), axis=sum_ax, keepdims=True)
        red = R.max if ord > 0 else R.min
        out = red(sums, axis=red_ax, keepdims=True)
    elif ord in ("nuc", 2, -2):
        s = svd(_moveaxis(x, (r, c), (-2, -1)), compute_uv=False)
        out = (
            R.sum(s, axis=-1)
            if ord == "nuc"
            else R.max(s, axis=-1)
            if ord == 2
            else R.min(s, axis=-1)
        )
        if keepdims:
            out = _expand_dims(out, tuple(sorted((r, c))))
        return out
    else:
        raise ValueError(f"norm: invalid norm order {ord!r} for matrices")
    return out if keepdims else R.sum(out, axis=(r, c))  # drop the two size-1 axes


def norm(x, ord=None, axis=None, keepdims: bool = False):
    """Vector or matrix norm, with numpy's ``ord`` values.

    Follows ``numpy.linalg.norm`` and ``jax.numpy.linalg.norm``. Vector orders: None/2, 1, inf,
    -inf, 0 (number of nonzeros), any other number ``p`` (``sum(|x|**p)**(1/p)``). Matrix orders
    (``axis`` a pair, or a 2-d input with ``axis=None``): None/'fro', 'nuc', 1, -1, 2, -2, inf,
    -inf. With ``ord=None`` and ``axis=None`` any input is flattened (2-norm of all entries). The
    2-norm and Frobenius norm have gradient 0 (not NaN) at zero.

    Args:
      x: array_like input; promoted to inexact.
      ord: the norm order (see above).
      axis: None, an int (vector norms) or a pair of ints (matrix norms); static.
      keepdims: keep the normed axes as size-1 dimensions.

    Returns:
      The norms (real): ``x``'s shape without ``axis`` (size 1 with ``keepdims``).

    Raises:
      ValueError: if ``ord`` is invalid for vectors/matrices, ``axis`` has more than 2 or repeated
        entries, or ``axis`` is None with an ``ord`` and ``x`` is neither 1-d nor 2-d.

    >>> import funcgrad.numpy as fnp
    >>> fnp.linalg.norm(fnp.array([3.0, 4.0]))
    Array(5., dtype=float32)
    """
    x = _inexact(x)
    nd = _aval(x).ndim
    if axis is None:
        if ord is None:
            out = _vector_norm(x, None, tuple(range(nd)), keepdims)
            return out
        if nd == 1:
            axis = (0,)
        elif nd == 2:
            axis = (0, 1)
        else:
            raise ValueError("norm: improper number of dimensions to norm (pass axis=)")
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(_canon(a, nd) for a in axes)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes, keepdims)
    if len(axes) == 2:
        if axes[0] == axes[1]:
            raise ValueError("norm: duplicate axes")
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError("norm: improper number of dimensions to norm")


def vector_norm(x, /, *, axis=None, keepdims: bool = False, ord=2):
    """Vector norm over ``axis`` (the array-API function; ``axis=None`` flattens).

    Follows ``numpy.linalg.vector_norm`` and ``jax.numpy.linalg.vector_norm``.

    Args:
      x: array_like input; promoted to inexact.
      axis: None (all entries), an int or a tuple of ints (static; keyword-only).
      keepdims: keep the normed axes as size-1 dimensions.
      ord: 2 (default), 1, inf, -inf, 0 (number of nonzeros) or any other number ``p``.

    Returns:
      The norms (real): ``x``'s shape without ``axis`` (size 1 with ``keepdims``).

    Raises:
      ValueError: if ``ord`` is a string or an axis is out of bounds.
    """
    x = _inexact(x)
    axes = (
        tuple(range(_aval(x).ndim))
        if axis is None
        else ((axis,) if isinstance(axis, int) else tuple(axis))
    )
    axes = tuple(_canon(a, _aval(x).ndim) for a in axes)
    return _vector_norm(x, ord, axes, keepdims)


def matrix_norm(x, /, *, keepdims: bool = False, ord="fro"):
    """Matrix norm over the last two axes (the array-API function).

    Follows ``numpy.linalg.matrix_norm`` and ``jax.numpy.linalg.matrix_norm``.

    Args:
      x: array_like of shape ``(..., M, N)``; promoted to inexact.
      keepdims: keep the last two axes as size-1 dimensions (keyword-only).
      ord: 'fro' (default), 'nuc', 1, -1, 2, -2, inf or -inf.

    Returns:
      The ``(...)`` norms (real).

    Raises:
      ValueError: if ``ord`` is not a matrix-norm order.
    """
    x = _inexact(x)
    nd = _aval(x).ndim
    return _matrix_norm(x, ord, (nd - 2, nd - 1), keepdims)
