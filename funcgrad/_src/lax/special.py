"""``funcgrad.lax`` special functions composed from elementwise primitives (no new rules):
the Hurwitz ``zeta`` function and ``polygamma``."""

from __future__ import annotations

import numpy as np

from funcgrad._src.array import get_aval
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax import transcendental as ltr

__all__ = ["polygamma", "zeta"]


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
        total = le.add(total, ltr.pow(le.add(q, c(float(k))), neg_s))
    w = le.add(q, c(9.0))
    b = ltr.pow(w, neg_s)
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
    it to non-positive ``q``). Differentiable in ``q``.

    Args:
      x: the exponent: an array or scalar.
      q: the offset: an array or scalar. Unlike most of ``lax``, ``x`` and ``q`` are
        promoted to a common floating dtype and broadcast, as in ``funcgrad.numpy``.

    Returns:
      A floating array of the broadcast shape.

    Raises:
      ValueError: if the shapes do not broadcast.
    """
    from funcgrad._src.numpy.conversion import _promote

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

    Args:
      m: the order: an array or scalar of integral values.
      x: an array or scalar. Unlike most of ``lax``, ``m`` and ``x`` are promoted to a
        common floating dtype and broadcast, as in ``funcgrad.numpy``.

    Returns:
      A floating array of the broadcast shape.

    Raises:
      ValueError: if the shapes do not broadcast.

    >>> import funcgrad.numpy as fnp
    >>> polygamma(fnp.array(1.0), fnp.array(1.0))   # pi**2 / 6
    Array(1.644934, dtype=float32)
    """
    from funcgrad._src.numpy.conversion import _promote

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
    val = le.mul(le.mul(sign, ltr.exp(ltr.lgamma(le.add(m1, c(1.0))))), zeta)
    val = le.select(pos, val, c(np.nan))
    out = le.select(le.eq(m, c(0.0)), ltr.digamma(x), val)
    return le.select(valid_m, out, c(np.nan))
