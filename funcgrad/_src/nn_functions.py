"""Activation functions and friends (re-exported from ``funcgrad.nn``).

Written from ``funcgrad.numpy`` / ``lax`` operations only (no rules). Stable in value and
gradient for large ``|x|`` (logits of ±1e4 give finite values and gradients), with JAX's
conventions at kinks: ``relu'(0) = 0``, ``relu6'(0) = relu6'(6) = 0``.

>>> import funcgrad as fg
>>> from funcgrad._src.nn_functions import relu, softplus
>>> fg.grad(relu)(0.0)
Array(0., dtype=float32, weak_type=True)
>>> softplus(1e4)
Array(10000., dtype=float32, weak_type=True)
"""

from __future__ import annotations

import math

import numpy as np

from funcgrad._src.api import custom_jvp, stop_gradient
from funcgrad._src.array import get_aval
from funcgrad._src.core import canonicalize_axis
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import transcendental as ltr
from funcgrad._src.numpy import reductions as r
from funcgrad._src.numpy.conversion import _promote, asarray, astype
from funcgrad._src.numpy.creation import full_like, zeros_like
from funcgrad._src.numpy.logic import isfinite, where
from funcgrad._src.numpy.logic import where as _where
from funcgrad._src.numpy.math import maximum, minimum
from funcgrad._src.numpy.ranges import arange
from funcgrad._src.numpy.shape import expand_dims
from funcgrad._src.numpy.transcendental import exp, expm1, log, log1p, sqrt
from funcgrad._src.numpy.transcendental import tanh as _tanh
from funcgrad.scipy.special import logsumexp as _logsumexp

__all__ = [
    "celu",
    "elu",
    "gelu",
    "hard_tanh",
    "leaky_relu",
    "log_sigmoid",
    "log_softmax",
    "logmeanexp",
    "logsumexp",
    "one_hot",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "soft_sign",
    "softmax",
    "softplus",
    "standardize",
    "swish",
    "glu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "identity",
    "log1mexp",
    "mish",
    "normalize",
    "sparse_plus",
    "sparse_sigmoid",
    "squareplus",
    "tanh",
]


def _f(x):
    (x,) = _promote(x, to_inexact=True)
    return x


@custom_jvp
def relu(x):
    """Rectified linear unit ``max(x, 0)``, elementwise; its derivative at 0 is 0 (as in JAX).

    Args:
      x: input array (or scalar); integer input keeps its dtype (as in JAX).

    Returns:
      An array of ``x``'s shape and dtype (float for float or Python-scalar input).
    """
    x = asarray(x)
    if get_aval(x).dtype.kind not in "iu":
        x = _f(x)
    return maximum(x, zeros_like(x))


relu.defjvps(lambda t, out, x: where(_f(x) > 0, t, zeros_like(t)))


@custom_jvp
def relu6(x):
    """``min(max(x, 0), 6)``, elementwise; derivative 0 at 0 and at 6 (as in JAX).

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    x = _f(x)
    return minimum(maximum(x, zeros_like(x)), full_like(x, 6))


relu6.defjvps(lambda t, out, x: where((_f(x) > 0) & (_f(x) < 6), t, zeros_like(t)))


def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, elementwise, stable for large ``|x|``.

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    return ltr.logistic(_f(x))


def softplus(x):
    """``log(1 + exp(x))`` without overflow, elementwise; gradient ``sigmoid(x)``.

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    x = _f(x)
    pos = x > 0
    xp = where(pos, x, zeros_like(x))  # double where: the unused branch stays finite
    xn = where(pos, zeros_like(x), x)
    return where(pos, xp + log1p(exp(-xp)), log1p(exp(xn)))


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, elementwise, finite for very negative ``x``.

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    return -softplus(-_f(x))


def soft_sign(x):
    """Soft sign ``x / (|x| + 1)``, elementwise.

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    x = _f(x)
    return x / (le.abs(x) + 1)


def silu(x):
    """Sigmoid linear unit ``x * sigmoid(x)``, elementwise (also called ``swish``).

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    x = _f(x)
    return x * sigmoid(x)


swish = silu


def gelu(x, approximate: bool = True):
    """Gaussian error linear unit, elementwise.

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.
      approximate: True (the default, as in JAX) for the tanh approximation
        ``x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x**3)))``; False for the exact
        ``x * (1 + erf(x / sqrt(2))) / 2``.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    x = _f(x)
    if approximate:
        c = math.sqrt(2 / math.pi)
        return 0.5 * x * (1 + _tanh(c * (x + 0.044715 * (x * x * x))))
    return x * (1 + ltr.erf(x * (1 / math.sqrt(2)))) / 2


def hard_tanh(x):
    """Hard tanh: -1 below -1, 1 above 1, ``x`` in between (elementwise).

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    x = _f(x)
    return where(x > 1, full_like(x, 1), where(x < -1, full_like(x, -1), x))


def leaky_relu(x, negative_slope: float = 1e-2):
    """Leaky relu: ``x`` for ``x >= 0``, ``negative_slope * x`` below (elementwise).

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.
      negative_slope: the slope for negative inputs.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    x = _f(x)
    return where(x >= 0, x, negative_slope * x)


def elu(x, alpha: float = 1.0):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` below.

    No overflow for large ``x`` (the unused branch is kept finite).

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.
      alpha: the scale of the negative branch.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    x = _f(x)
    safe = where(x > 0, zeros_like(x), x)
    return where(x > 0, x, alpha * expm1(safe))


def celu(x, alpha: float = 1.0):
    """Continuously differentiable ELU ``max(x, 0) + alpha * expm1(min(x, 0) / alpha)``.

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.
      alpha: the scale of the negative branch (must be nonzero).

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    x = _f(x)
    return maximum(x, zeros_like(x)) + alpha * expm1(minimum(x, zeros_like(x)) / alpha)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """Scaled ELU ``scale * elu(x, alpha)`` with the self-normalising constants
    (Klambauer et al. 2017: ``alpha ~ 1.6733``, ``scale ~ 1.0507``).

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def _max_shift(x, axis, where_):
    """The stop-gradient max along ``axis`` (0 where it is not finite)."""
    m = r.max(x, axis=axis, keepdims=True, where=where_, initial=-np.inf)
    return stop_gradient(where(isfinite(m), m, zeros_like(m)))


def softmax(x, axis=-1, where=None):
    """Softmax ``exp(x) / sum(exp(x))`` along ``axis``, shifted by the max (no overflow).

    Args:
      x: input array; integers are promoted to the default float dtype.
      axis: the axis (or tuple of axes) normalised over.
      where: optional boolean mask broadcastable to ``x``; masked-out entries are left out
        of the sum and get probability 0.

    Returns:
      An array of ``x``'s shape and (float) dtype whose entries along ``axis`` sum to 1.

    >>> import funcgrad.numpy as fnp
    >>> softmax(fnp.array([0.0, 1e4]))
    Array([0., 1.], dtype=float32)
    """
    x = _f(x)
    mask = where
    if mask is not None:
        x = _where(mask, x, full_like(x, -np.inf))
    unnorm = exp(x - _max_shift(x, axis, mask))
    out = unnorm / r.sum(unnorm, axis=axis, keepdims=True, where=mask)
    return out if mask is None else _where(mask, out, zeros_like(out))


def log_softmax(x, axis=-1, where=None):
    """Log-softmax ``x - logsumexp(x)`` along ``axis``, computed stably.

    Args:
      x: input array; integers are promoted to the default float dtype.
      axis: the axis (or tuple of axes) normalised over.
      where: optional boolean mask broadcastable to ``x``; masked-out entries are left out
        of the sum and come out as ``-inf``.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    x = _f(x)
    mask = where
    if mask is not None:
        x = _where(mask, x, full_like(x, -np.inf))
    shifted = x - _max_shift(x, axis, mask)
    lse = log(r.sum(exp(shifted), axis=axis, keepdims=True, where=mask))
    out = shifted - lse
    return out if mask is None else _where(mask, out, full_like(out, -np.inf))


def one_hot(x, num_classes: int, *, dtype=np.float32, axis=-1):
    """One-hot encode integer labels: a new axis of size ``num_classes`` (at ``axis``).

    Args:
      x: integer labels, any shape; labels outside ``[0, num_classes)`` give all-zero rows.
      num_classes: the size of the new axis.
      dtype: the dtype of the result.
      axis: where the new axis goes in the result (negative counts from the end).

    Returns:
      An array of shape ``x.shape`` with ``num_classes`` inserted at ``axis``, of ``dtype``.

    >>> import funcgrad.numpy as fnp
    >>> one_hot(fnp.array([0, 2]), 3)
    Array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    x = asarray(x)
    nd = get_aval(x).ndim
    ax = canonicalize_axis(axis, nd + 1)
    xe = expand_dims(x, ax)
    shape = [1] * (nd + 1)
    shape[ax] = num_classes
    classes = arange(num_classes, dtype=get_aval(x).dtype).reshape(tuple(shape))
    return astype(xe == classes, dtype)


def standardize(
    x,
    axis=-1,
    mean=None,
    variance=None,
    epsilon: float = 1e-5,
    where=None,
    *,
    algorithm: str = "fast",
):
    """Standardize ``(x - mean) * rsqrt(variance + epsilon)`` along ``axis`` (as JAX).

    Args:
      x: input array; integers are promoted to the default float dtype.
      axis: the axis (or tuple of axes) the statistics are taken over.
      mean: the mean to subtract (broadcastable to ``x``); computed from ``x`` when None.
      variance: the variance (broadcastable to ``x``); computed when None.
      epsilon: added to the variance before the square root.
      where: optional boolean mask: only these entries enter the computed statistics.
      algorithm: how a computed variance is taken: ``"fast"`` (JAX's default,
        ``mean(x**2) - mean**2`` clipped at 0) or ``"stable"`` (``mean((x - mean)**2)``).

    Returns:
      An array of ``x``'s shape and (float) dtype.

    Raises:
      ValueError: for another ``algorithm``.

    >>> import funcgrad.numpy as fnp
    >>> standardize(fnp.array([1.0, 3.0]), algorithm="stable")
    Array([-0.999995,  0.999995], dtype=float32)
    """
    x = _f(x)
    if mean is None:
        mean = r.mean(x, axis=axis, keepdims=True, where=where)
    if variance is None:
        if algorithm == "stable":
            d = x - mean
            variance = r.mean(d * d, axis=axis, keepdims=True, where=where)
        elif algorithm == "fast":
            variance = r.mean(x * x, axis=axis, keepdims=True, where=where) - mean * mean
            variance = maximum(variance, 0)
        else:
            raise ValueError(f"Unknown algorithm '{algorithm}'. Expected 'fast' or 'stable'.")
    return (x - mean) * ltr.rsqrt(variance + epsilon)


normalize = standardize  # its name in older JAX


def identity(x):
    """The identity activation: ``x`` unchanged (as an array).

    Args:
      x: input array (or scalar).

    Returns:
      ``x`` as an array, same shape and dtype.
    """
    return asarray(x)


def hard_sigmoid(x):
    """Hard sigmoid ``relu6(x + 3) / 6``: a piecewise-linear sigmoid (elementwise).

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    return relu6(_f(x) + 3.0) / 6.0


def hard_silu(x):
    """Hard SiLU ``x * hard_sigmoid(x)``, elementwise (also called ``hard_swish``).

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    x = _f(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def mish(x):
    """Mish ``x * tanh(softplus(x))``, elementwise (Misra 2019).

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    x = _f(x)
    return x * _tanh(softplus(x))


def squareplus(x, b=4):
    """Squareplus ``(x + sqrt(x**2 + b)) / 2``, a smooth relu (So 2021), elementwise.

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.
      b: the smoothing constant (``b >= 0``; 0 gives relu).

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    x = _f(x)
    return (x + sqrt(x * x + b)) / 2


def sparse_plus(x):
    """Sparse plus: 0 for ``x <= -1``, ``(x + 1)**2 / 4`` on ``(-1, 1)``, ``x`` for
    ``x >= 1`` (elementwise).

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    x = _f(x)
    mid = (x + 1) * (x + 1) / 4
    return where(x <= -1, zeros_like(x), where(x >= 1, x, mid))


def sparse_sigmoid(x):
    """Sparse sigmoid: 0 for ``x <= -1``, ``(x + 1) / 2`` on ``(-1, 1)``, 1 for ``x >= 1``
    (elementwise; the derivative of ``sparse_plus``).

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    x = _f(x)
    return where(x <= -1, zeros_like(x), where(x >= 1, full_like(x, 1), (x + 1) / 2))


def glu(x, axis=-1):
    """Gated linear unit: split ``x`` in two halves ``a, b`` along ``axis``; ``a * sigmoid(b)``.

    Args:
      x: input array; integers are promoted to the default float dtype.
      axis: the axis split in two (its size must be even).

    Returns:
      An array of ``x``'s shape with ``axis`` halved, (float) dtype.

    Raises:
      ValueError: if the size of ``axis`` is odd.

    >>> import funcgrad.numpy as fnp
    >>> glu(fnp.array([1.0, 2.0, 0.0, 0.0]))
    Array([0.5, 1. ], dtype=float32)
    """
    from funcgrad._src.lax.slicing import slice_in_dim

    x = _f(x)
    ax = canonicalize_axis(axis, get_aval(x).ndim)
    n = get_aval(x).shape[ax]
    if n % 2:
        raise ValueError(
            f"glu: the size of axis {axis} must be even (it is split in two "
            f"halves), got {n} for shape {get_aval(x).shape}"
        )
    a = slice_in_dim(x, 0, n // 2, axis=ax)
    b = slice_in_dim(x, n // 2, n, axis=ax)
    return a * sigmoid(b)


def log1mexp(x):
    """``log(1 - exp(-x))`` for ``x > 0``, elementwise, accurate near 0 and for large ``x``
    (Mächler's switch at ``log 2``).

    Args:
      x: input array (or scalar), meant to be positive (``x <= 0`` gives NaN or ``-inf``);
        integers are promoted to the default float dtype.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    x = _f(x)
    small = x < math.log(2)
    xs = where(small, x, full_like(x, 1.0))  # keep each unused branch finite
    xl = where(small, full_like(x, 1.0), x)
    return where(small, log(-expm1(-xs)), log1p(-exp(-xl)))


def tanh(x):
    """Hyperbolic tangent, elementwise (``funcgrad.numpy.tanh``; ``jax.nn.tanh``).

    Args:
      x: input array (or scalar); integers are promoted to the default float dtype.

    Returns:
      An array of ``x``'s shape and (float) dtype.
    """
    return _tanh(x)


def logsumexp(a, axis=None, b=None, keepdims: bool = False, return_sign: bool = False, where=None):
    """``log(sum(b * exp(a), axis))`` without overflow (``funcgrad.scipy.special.logsumexp``).

    Args:
      a: input array; integers are promoted to the default float dtype.
      axis: the axis or tuple of axes summed over (None: all).
      b: optional scale factors broadcastable to ``a`` (terms with ``b == 0`` are dropped).
      keepdims: keep the summed axes as size-1 dimensions.
      return_sign: also return the sign of the sum (then a negative sum is not NaN).
      where: optional boolean mask broadcastable to ``a``: only these terms are summed.

    Returns:
      The log of the sum (``-inf`` when every term is zero), of ``a``'s float dtype and the
      reduced shape; with ``return_sign``, the pair ``(log|sum|, sign)``.
    """
    return _logsumexp(a, axis, b, keepdims, return_sign, where)


def logmeanexp(x, axis=None, where=None, keepdims: bool = False):
    """``log(mean(exp(x), axis))`` without overflow, as ``jax.nn.logmeanexp``.

    Args:
      x: input array; integers are promoted to the default float dtype.
      axis: the axis or tuple of axes averaged over (None: all).
      where: optional boolean mask: only these terms enter the mean (and the count).
      keepdims: keep the reduced axes as size-1 dimensions.

    Returns:
      ``logsumexp(x) - log(count)``, of ``x``'s float dtype and the reduced shape.

    >>> import funcgrad.numpy as fnp
    >>> logmeanexp(fnp.zeros(4))
    Array(0., dtype=float32)
    """
    x = _f(x)
    lse = _logsumexp(x, axis, None, keepdims, False, where)
    ones = full_like(x, 1.0)
    terms = ones if where is None else _where(where, ones, zeros_like(x))
    count = r.sum(terms, axis, None, None, keepdims)
    return lse - log(count)
