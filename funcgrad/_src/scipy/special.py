"""``funcgrad.scipy.special`` (re-exported by ``funcgrad/scipy/special/__init__.py``): special
functions, stable in value and gradient.

>>> import funcgrad.numpy as fnp
>>> from funcgrad.scipy.special import logsumexp
>>> logsumexp(fnp.array([1000.0, 1000.0]))
Array(1000.6932, dtype=float32)
"""

from __future__ import annotations

from funcgrad._src.api import custom_jvp as _custom_jvp
from funcgrad._src.api import stop_gradient as _stop_gradient
from funcgrad._src.array import get_aval as _aval
from funcgrad._src.lax import transcendental as _ltr
from funcgrad._src.numpy import reductions as _r
from funcgrad._src.numpy.conversion import _broadcast, _promote
from funcgrad._src.numpy.creation import full_like as _full_like
from funcgrad._src.numpy.creation import ones_like as _ones_like
from funcgrad._src.numpy.creation import zeros_like as _zeros_like
from funcgrad._src.numpy.logic import isfinite as _isfinite
from funcgrad._src.numpy.logic import logical_and as _and
from funcgrad._src.numpy.logic import where as _where
from funcgrad._src.numpy.math import abs as _abs
from funcgrad._src.numpy.math import sign as _sign
from funcgrad._src.numpy.reductions import _axes, _keep
from funcgrad._src.numpy.transcendental import exp as _exp
from funcgrad._src.numpy.transcendental import log as _log
from funcgrad._src.numpy.transcendental import log1p as _log1p

__all__ = [
    "digamma",
    "erf",
    "erfc",
    "erfinv",
    "expit",
    "gammaln",
    "log_softmax",
    "logit",
    "logsumexp",
    "softmax",
    "xlog1py",
    "xlogy",
]


def _inexact(*xs):
    out = _promote(*xs, to_inexact=True)
    return _broadcast(*out) if len(out) > 1 else out


def logsumexp(a, axis=None, b=None, keepdims: bool = False, return_sign: bool = False, where=None):
    """``log(sum(b * exp(a), axis))`` without overflow or underflow.

    The maximum is subtracted first (and held constant for differentiation, as in JAX). If
    every term is zero (all ``a`` are ``-inf`` or all ``b`` are 0) the result is ``-inf``
    with a zero gradient, not NaN.

    Args:
        a: array_like; integer and bool inputs are promoted to the default float dtype.
        axis: an int, a tuple of ints, or ``None`` (default: all axes) to sum over.
        b: optional weights, array_like broadcast against ``a`` (promoted with it); terms
            with ``b == 0`` are left out.
        keepdims: keep the summed axes as size-1 dimensions.
        return_sign: return ``(log|sum|, sign)`` instead of NaN for a negative sum.
        where: optional booleans broadcastable to ``a``: only those elements are summed.

    Returns:
        The reduced array (dtype of the promoted ``a``; NaN where the weighted sum is
        negative), or the tuple ``(log|sum|, sign(sum))`` if ``return_sign``.

    Raises:
        ValueError: if ``axis`` is out of range, or ``b`` or ``where`` does not broadcast.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.grad(logsumexp)(fnp.array([-fnp.inf, -fnp.inf]))
    Array([0., 0.], dtype=float32)
    """
    if b is None:
        (a,) = _inexact(a)
    else:
        a, b = _inexact(a, b)
        a = _where(b != 0, a, _full_like(a, -float("inf")))
    if where is not None:
        from funcgrad._src.numpy.conversion import asarray as _asarray
        from funcgrad._src.numpy.conversion import broadcast_to as _bto

        a = _where(_bto(_asarray(where), _aval(a).shape), a, _full_like(a, -float("inf")))
    shape = _aval(a).shape
    axes = _axes(axis, len(shape))
    amax = _r.max(a, axis=axes, keepdims=True, initial=-float("inf"))
    amax = _stop_gradient(_where(_isfinite(amax), amax, _zeros_like(amax)))
    e = _exp(a - amax)
    if b is not None:
        e = e * b
    s = _r.sum(e, axis=axes, keepdims=True)
    sign = _sign(s)
    s = _abs(s)
    empty = s == 0
    # double where: log's gradient 1/s must not meet s == 0 (0 * inf = NaN)
    out = _where(empty, _full_like(s, -float("inf")), _log(_where(empty, _ones_like(s), s)))
    out = out + amax
    out = _keep(_squeeze_axes(out, axes), shape, axes, keepdims)
    sign = _keep(_squeeze_axes(sign, axes), shape, axes, keepdims)
    if return_sign:
        return out, sign
    return _where(sign < 0, _full_like(out, float("nan")), out)


def _squeeze_axes(x, axes):
    from funcgrad._src.lax import structural as ls

    return ls.squeeze(x, tuple(axes)) if axes else x


def expit(x):
    """The logistic sigmoid ``1 / (1 + exp(-x))`` (stable for large ``|x|``).

    Args:
        x: array_like; integer and bool inputs are promoted to the default float dtype
            (float32, or float64 with x64 on), as in ``jax.scipy.special``.

    Returns:
        An array of ``x``'s shape and (promoted) dtype, in ``[0, 1]`` for real ``x``.
    """
    (x,) = _inexact(x)
    return _ltr.logistic(x)


def logit(x):
    """``log(x / (1 - x))``, the inverse of ``expit``.

    Args:
        x: probabilities, array_like; integer and bool inputs are promoted to the default
            float dtype, as in ``jax.scipy.special``.

    Returns:
        An array of ``x``'s shape and (promoted) dtype: ``-inf`` at 0, ``inf`` at 1, NaN
        outside ``[0, 1]``.
    """
    (x,) = _inexact(x)
    return _log(x) - _log1p(-x)


def erf(x):
    """The error function ``2/sqrt(pi) * integral(exp(-t**2), 0, x)``.

    Args:
        x: array_like; integer and bool inputs are promoted to the default float dtype
            (float32, or float64 with x64 on), as in ``jax.scipy.special``.

    Returns:
        An array of ``x``'s shape and (promoted) dtype, in ``[-1, 1]``.

    Raises:
        TypeError: if ``x`` is complex.
    """
    (x,) = _inexact(x)
    return _ltr.erf(x)


def erfc(x):
    """``1 - erf(x)`` (accurate for large ``x``).

    Args:
        x: array_like; integer and bool inputs are promoted to the default float dtype
            (float32, or float64 with x64 on), as in ``jax.scipy.special``.

    Returns:
        An array of ``x``'s shape and (promoted) dtype, in ``[0, 2]``.

    Raises:
        TypeError: if ``x`` is complex.
    """
    (x,) = _inexact(x)
    return _ltr.erfc(x)


def erfinv(x):
    """The inverse error function (``±inf`` at ``±1``, NaN outside ``[-1, 1]``).

    Args:
        x: real array_like; integer and bool inputs are promoted to the default float dtype,
            as in ``jax.scipy.special``.

    Returns:
        An array of ``x``'s shape and (promoted) dtype.
    """
    (x,) = _inexact(x)
    return _ltr.erf_inv(x)


def gammaln(x):
    """``log|Γ(x)|``.

    Args:
        x: array_like; integer and bool inputs are promoted to the default float dtype
            (float32, or float64 with x64 on), as in ``jax.scipy.special``.

    Returns:
        An array of ``x``'s shape and (promoted) dtype; ``inf`` at the poles 0, -1, -2, ...
        in ``jit`` code.

    Raises:
        TypeError: if ``x`` is complex.
        ValueError: at the poles 0, -1, -2, ... when evaluated eagerly (outside ``jit``).
    """
    (x,) = _inexact(x)
    return _ltr.lgamma(x)


def digamma(x):
    """``ψ(x) = d/dx log Γ(x)``.

    Args:
        x: array_like; integer and bool inputs are promoted to the default float dtype
            (float32, or float64 with x64 on), as in ``jax.scipy.special``.

    Returns:
        An array of ``x``'s shape and (promoted) dtype; NaN at the poles 0, -1, -2, ...

    Raises:
        TypeError: if ``x`` is complex.
    """
    (x,) = _inexact(x)
    return _ltr.digamma(x)


def _zero_where_x0(x, val):
    return _where(x == 0, _zeros_like(val), val)


@_custom_jvp
def xlogy(x, y):
    """``x * log(y)``, defined as 0 where ``x == 0`` (also at ``y == 0``).

    Its derivative is finite at ``x == 0``: ``∂/∂y = 0`` there, and at ``(0, 0)``
    ``∂/∂x = 0`` (the limit is ``-inf``); this keeps entropy-style losses finite.

    Args:
        x: the factor, array_like.
        y: the argument of ``log``, array_like broadcast against ``x``; both are promoted
            to a common float dtype as in ``jax.numpy`` (integers to the default float).

    Returns:
        An array of the broadcast shape and promoted dtype (NaN where ``y < 0``
        and ``x != 0``).

    Raises:
        ValueError: if the shapes do not broadcast.

    >>> import funcgrad as fg
    >>> fg.grad(xlogy, argnums=(0, 1))(0.0, 0.0)
    (Array(0., dtype=float32, weak_type=True), Array(0., dtype=float32, weak_type=True))
    """
    x, y = _inexact(x, y)
    safe_y = _where(x == 0, _ones_like(y), y)
    return _zero_where_x0(x, x * _log(safe_y))


@xlogy.defjvp
def _xlogy_jvp(primals, tangents):
    x, y = _inexact(*primals)
    x_dot, y_dot = _inexact(*tangents)
    both0 = _and(x == 0, y == 0)
    dx = _log(_where(both0, _ones_like(y), y))
    dy = _zero_where_x0(x, x / _where(x == 0, _ones_like(y), y))
    return xlogy(x, y), x_dot * dx + y_dot * dy


@_custom_jvp
def xlog1py(x, y):
    """``x * log1p(y)``, defined as 0 where ``x == 0`` (derivatives as for ``xlogy``).

    Args:
        x: the factor, array_like.
        y: the argument of ``log1p``, array_like broadcast against ``x``; both are promoted
            to a common float dtype as in ``jax.numpy`` (integers to the default float).

    Returns:
        An array of the broadcast shape and promoted dtype (NaN where ``y < -1`` and
        ``x != 0``).

    Raises:
        ValueError: if the shapes do not broadcast.
    """
    x, y = _inexact(x, y)
    safe_y = _where(x == 0, _zeros_like(y), y)
    return _zero_where_x0(x, x * _log1p(safe_y))


@xlog1py.defjvp
def _xlog1py_jvp(primals, tangents):
    x, y = _inexact(*primals)
    x_dot, y_dot = _inexact(*tangents)
    both0 = _and(x == 0, y == -1)
    dx = _log1p(_where(both0, _zeros_like(y), y))
    dy = _zero_where_x0(x, x / (1 + _where(x == 0, _zeros_like(y), y)))
    return xlog1py(x, y), x_dot * dx + y_dot * dy


def softmax(x, axis=None):
    """``exp(x) / sum(exp(x), axis)``, computed stably.

    Args:
        x: array_like; integer and bool inputs are promoted to the default float dtype
            (float32, or float64 with x64 on), as in ``jax.scipy.special``.
        axis: an int, a tuple of ints, or ``None`` (default, scipy's: all axes; this
            differs from ``funcgrad.nn``'s default ``axis=-1``).

    Returns:
        An array of ``x``'s shape and (promoted) dtype, non-negative and summing to 1 over
        ``axis``.

    Raises:
        ValueError: if an axis is out of range.
    """
    from funcgrad._src.nn_functions import softmax as _softmax

    (x,) = _inexact(x)
    return _softmax(x, axis=tuple(range(_aval(x).ndim)) if axis is None else axis)


def log_softmax(x, axis=None):
    """``x - logsumexp(x, axis)``, computed stably.

    Args:
        x: array_like; integer and bool inputs are promoted to the default float dtype
            (float32, or float64 with x64 on), as in ``jax.scipy.special``.
        axis: an int, a tuple of ints, or ``None`` (default, scipy's: all axes; this
            differs from ``funcgrad.nn``'s default ``axis=-1``).

    Returns:
        An array of ``x``'s shape and (promoted) dtype: the log-probabilities over ``axis``.

    Raises:
        ValueError: if an axis is out of range.
    """
    from funcgrad._src.nn_functions import log_softmax as _log_softmax

    (x,) = _inexact(x)
    return _log_softmax(x, axis=tuple(range(_aval(x).ndim)) if axis is None else axis)
