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
from funcgrad._src.numpy.transcendental import exp, expm1, log, log1p, sqrt, tanh
from funcgrad.scipy.special import logsumexp  # noqa: F401  (re-exported)

__all__ = [
    "celu",
    "elu",
    "gelu",
    "hard_tanh",
    "leaky_relu",
    "log_sigmoid",
    "log_softmax",
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
    """``max(x, 0)``; its derivative at 0 is 0 (JAX's convention). Integer input keeps its
    dtype (as in JAX)."""
    x = asarray(x)
    if get_aval(x).dtype.kind not in "iu":
        x = _f(x)
    return maximum(x, zeros_like(x))


relu.defjvps(lambda t, out, x: where(_f(x) > 0, t, zeros_like(t)))


@custom_jvp
def relu6(x):
    """``min(max(x, 0), 6)``; derivative 0 at 0 and at 6 (as in JAX)."""
    x = _f(x)
    return minimum(maximum(x, zeros_like(x)), full_like(x, 6))


relu6.defjvps(lambda t, out, x: where((_f(x) > 0) & (_f(x) < 6), t, zeros_like(t)))


def sigmoid(x):
    """``1 / (1 + exp(-x))``, stable for large ``|x|``."""
    return ltr.logistic(_f(x))


def softplus(x):
    """``log(1 + exp(x))`` computed without overflow; gradient ``sigmoid(x)`` (0.5 at 0)."""
    x = _f(x)
    pos = x > 0
    xp = where(pos, x, zeros_like(x))  # double where: the unused branch stays finite
    xn = where(pos, zeros_like(x), x)
    return where(pos, xp + log1p(exp(-xp)), log1p(exp(xn)))


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, finite for very negative ``x``."""
    return -softplus(-_f(x))


def soft_sign(x):
    """``x / (|x| + 1)``."""
    x = _f(x)
    return x / (le.abs(x) + 1)


def silu(x):
    """``x * sigmoid(x)`` (also called swish)."""
    x = _f(x)
    return x * sigmoid(x)


swish = silu


def gelu(x, approximate: bool = True):
    """Gaussian error linear unit: the tanh approximation (default, as in JAX) or the exact
    ``x * (1 + erf(x / sqrt(2))) / 2``."""
    x = _f(x)
    if approximate:
        c = math.sqrt(2 / math.pi)
        return 0.5 * x * (1 + tanh(c * (x + 0.044715 * (x * x * x))))
    return x * (1 + ltr.erf(x * (1 / math.sqrt(2)))) / 2


def hard_tanh(x):
    """-1 below -1, 1 above 1, identity in between."""
    x = _f(x)
    return where(x > 1, full_like(x, 1), where(x < -1, full_like(x, -1), x))


def leaky_relu(x, negative_slope: float = 1e-2):
    """``x`` for ``x >= 0``, ``negative_slope * x`` below."""
    x = _f(x)
    return where(x >= 0, x, negative_slope * x)


def elu(x, alpha: float = 1.0):
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` below (no overflow for large ``x``)."""
    x = _f(x)
    safe = where(x > 0, zeros_like(x), x)
    return where(x > 0, x, alpha * expm1(safe))


def celu(x, alpha: float = 1.0):
    """Continuously differentiable ELU: ``max(x, 0) + alpha * expm1(min(x, 0) / alpha)``."""
    x = _f(x)
    return maximum(x, zeros_like(x)) + alpha * expm1(minimum(x, zeros_like(x)) / alpha)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """Scaled ELU with the self-normalising constants (Klambauer et al. 2017)."""
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def _max_shift(x, axis, where_):
    """The stop-gradient max along ``axis`` (0 where it is not finite)."""
    m = r.max(x, axis=axis, keepdims=True, where=where_, initial=-np.inf)
    return stop_gradient(where(isfinite(m), m, zeros_like(m)))


def softmax(x, axis=-1, where=None):
    """``exp(x) / sum(exp(x))`` along ``axis``, shifted by the max (no overflow).

    ``where`` (a boolean mask) leaves entries out: they get probability 0.

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
    """``x - logsumexp(x)`` along ``axis``, computed stably; masked-out entries are
    ``-inf``."""
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
    Labels outside ``[0, num_classes)`` give all-zero rows.

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


def standardize(x, axis=-1, mean=None, variance=None, epsilon: float = 1e-5, where=None):
    """``(x - mean) / sqrt(variance + epsilon)`` along ``axis`` (statistics computed when
    not given; the variance as ``mean((x - mean)**2)``, which is never negative)."""
    x = _f(x)
    if mean is None:
        mean = r.mean(x, axis=axis, keepdims=True, where=where)
    if variance is None:
        d = x - mean
        variance = r.mean(d * d, axis=axis, keepdims=True, where=where)
    return (x - mean) / sqrt(variance + epsilon)


normalize = standardize  # its name in older JAX


def identity(x):
    """Returns ``x`` unchanged."""
    return asarray(x)


def hard_sigmoid(x):
    """``relu6(x + 3) / 6``: a piecewise-linear sigmoid."""
    return relu6(_f(x) + 3.0) / 6.0


def hard_silu(x):
    """``x * hard_sigmoid(x)`` (also called hard_swish)."""
    x = _f(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def mish(x):
    """``x * tanh(softplus(x))`` (Misra 2019)."""
    x = _f(x)
    return x * tanh(softplus(x))


def squareplus(x, b=4):
    """``(x + sqrt(x**2 + b)) / 2``, a smooth relu (So 2021)."""
    x = _f(x)
    return (x + sqrt(x * x + b)) / 2


def sparse_plus(x):
    """0 for ``x <= -1``, ``(x + 1)**2 / 4`` on ``(-1, 1)``, ``x`` for ``x >= 1``."""
    x = _f(x)
    mid = (x + 1) * (x + 1) / 4
    return where(x <= -1, zeros_like(x), where(x >= 1, x, mid))


def sparse_sigmoid(x):
    """0 for ``x <= -1``, ``(x + 1) / 2`` on ``(-1, 1)``, 1 for ``x >= 1`` (the derivative
    of ``sparse_plus``)."""
    x = _f(x)
    return where(x <= -1, zeros_like(x), where(x >= 1, full_like(x, 1), (x + 1) / 2))


def glu(x, axis=-1):
    """Gated linear unit: split ``x`` in two halves ``a, b`` along ``axis``;
    ``a * sigmoid(b)``. The axis size must be even.

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
    """``log(1 - exp(-x))`` for ``x > 0``, accurate near 0 and for large ``x`` (Mächler's
    switch at ``log 2``)."""
    x = _f(x)
    small = x < math.log(2)
    xs = where(small, x, full_like(x, 1.0))  # keep each unused branch finite
    xl = where(small, full_like(x, 1.0), x)
    return where(small, log(-expm1(-xs)), log1p(-exp(-xl)))
