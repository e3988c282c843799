"""Parameter initialisers: each is a function ``init(key, shape, dtype=float32) -> array``.

As in ``jax.nn.initializers``, ``zeros`` and ``ones`` are initialisers themselves and the
others are factories that return one (``glorot_uniform()``, ``normal(0.02)``, ...).

**Axis convention** (differs from JAX, which assumes Flax's ``(in, out)`` kernels): funcgrad
layers store weights PyTorch-style, ``(out, in)`` for Linear and ``(O, I, *window)`` for
convolutions, so by default ``out_axis=0`` and ``in_axis=1`` and every other axis is the
receptive field: ``fan_in = shape[1] * prod(shape[2:])``, ``fan_out = shape[0] *
prod(shape[2:])``. A 1-d shape has ``fan_in = fan_out = shape[0]``. Pass ``in_axis`` /
``out_axis`` to :func:`variance_scaling` for another layout.

>>> import funcgrad as fg
>>> from funcgrad.nn import initializers as init
>>> w = init.glorot_uniform()(fg.random.key(0), (4, 3))
>>> w.shape, w.dtype
((4, 3), dtype('float32'))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import random as fr

__all__ = [
    "Initializer",
    "compute_fans",
    "constant",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "orthogonal",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

Initializer = Callable  # (key, shape, dtype) -> array
_F32 = np.float32


def _shape(shape) -> tuple:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)


def zeros(key, shape, dtype=_F32):
    """The all-zeros initialiser (the key is ignored).

    Args:
      key: ignored (may be None).
      shape: the shape (an int or a tuple).
      dtype: the dtype.

    Returns:
      An array of ``shape`` and ``dtype``.

    >>> zeros(None, (2,))
    Array([0., 0.], dtype=float32)
    """
    return fnp.zeros(_shape(shape), dtype)


def ones(key, shape, dtype=_F32):
    """The all-ones initialiser (the key is ignored).

    Args:
      key: ignored (may be None).
      shape: the shape (an int or a tuple).
      dtype: the dtype.

    Returns:
      An array of ``shape`` and ``dtype``.
    """
    return fnp.ones(_shape(shape), dtype)


def constant(value, dtype=_F32) -> Initializer:
    """An initialiser filling with ``value`` (it ignores the key).

    Args:
      value: the fill value.
      dtype: the default dtype of the arrays it makes.

    Returns:
      An initialiser ``init(key, shape, dtype=dtype) -> array``.

    >>> constant(0.5)(None, (2,))
    Array([0.5, 0.5], dtype=float32)
    """

    def init(key, shape, dtype=dtype):
        return fnp.full(_shape(shape), value, dtype)

    return init


def normal(stddev: float = 1e-2, dtype=_F32) -> Initializer:
    """An initialiser sampling from ``N(0, stddev**2)``.

    Args:
      stddev: the standard deviation.
      dtype: the default dtype of the arrays it makes.

    Returns:
      An initialiser ``init(key, shape, dtype=dtype) -> array``.
    """

    def init(key, shape, dtype=dtype):
        return fr.normal(key, _shape(shape), dtype) * fnp.asarray(stddev, dtype)

    return init


def uniform(scale: float = 1e-2, dtype=_F32) -> Initializer:
    """An initialiser sampling from ``U[0, scale)`` (JAX semantics: not centred).

    Args:
      scale: the upper bound.
      dtype: the default dtype of the arrays it makes.

    Returns:
      An initialiser ``init(key, shape, dtype=dtype) -> array``.
    """

    def init(key, shape, dtype=dtype):
        return fr.uniform(key, _shape(shape), dtype) * fnp.asarray(scale, dtype)

    return init


def truncated_normal(
    stddev: float = 1e-2, dtype=_F32, lower: float = -2.0, upper: float = 2.0
) -> Initializer:
    """An initialiser sampling ``stddev`` times a standard normal truncated to ``(lower, upper)``.

    Args:
      stddev: the scale (the standard deviation before truncation).
      dtype: the default dtype of the arrays it makes.
      lower: the lower bound of the standard normal.
      upper: the upper bound of the standard normal.

    Returns:
      An initialiser ``init(key, shape, dtype=dtype) -> array``.
    """

    def init(key, shape, dtype=dtype):
        s = fr.truncated_normal(key, lower, upper, _shape(shape), dtype)
        return s * fnp.asarray(stddev, dtype)

    return init


def compute_fans(shape: Sequence[int], in_axis: int = 1, out_axis: int = 0) -> tuple:
    """``(fan_in, fan_out)`` of a weight shape (see the module docstring for the axes).

    Args:
      shape: the weight's shape (0-d: fans 1; 1-d: both fans ``shape[0]``).
      in_axis: the input axis (negative counts from the end).
      out_axis: the output axis; every other axis is the receptive field.

    Returns:
      The pair of ints ``(fan_in, fan_out)``.

    >>> compute_fans((16, 3, 5, 5))        # conv kernel OIHW
    (75, 400)
    """
    shape = _shape(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    in_axis, out_axis = in_axis % len(shape), out_axis % len(shape)
    receptive = math.prod(s for i, s in enumerate(shape) if i not in (in_axis, out_axis))
    return shape[in_axis] * receptive, shape[out_axis] * receptive


_TRUNC_STD = 0.87962566103423978  # std of a standard normal truncated to (-2, 2)


def variance_scaling(
    scale: float, mode: str, distribution: str, in_axis: int = 1, out_axis: int = 0, dtype=_F32
) -> Initializer:
    """Samples with variance ``scale / n``, ``n`` the fan given by ``mode`` (JAX semantics).

    Args:
      scale: the variance numerator.
      mode: ``"fan_in"``, ``"fan_out"`` or ``"fan_avg"`` (``n`` is at least 1).
      distribution: ``"truncated_normal"`` (rescaled to the variance), ``"normal"`` or
        ``"uniform"`` (``U(+-sqrt(3 scale / n))``).
      in_axis: the input axis for :func:`compute_fans`.
      out_axis: the output axis for :func:`compute_fans`.
      dtype: the default dtype of the arrays it makes.

    Returns:
      An initialiser ``init(key, shape, dtype=dtype) -> array``.

    Raises:
      ValueError: for an unknown ``mode`` or ``distribution``.

    >>> import funcgrad as fg
    >>> w = variance_scaling(2.0, "fan_in", "normal")(fg.random.key(1), (256, 512))
    >>> abs(float(w.std()) - (2 / 512) ** 0.5) < 3e-3
    True
    """
    if mode not in ("fan_in", "fan_out", "fan_avg"):
        raise ValueError(f"variance_scaling: mode must be fan_in, fan_out or fan_avg, got {mode!r}")
    if distribution not in ("truncated_normal", "normal", "uniform"):
        raise ValueError(f"variance_scaling: unknown distribution {distribution!r}")

    def init(key, shape, dtype=dtype):
        fan_in, fan_out = compute_fans(shape, in_axis, out_axis)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        var = scale / max(1.0, n)
        if distribution == "truncated_normal":
            return truncated_normal(math.sqrt(var) / _TRUNC_STD, dtype)(key, shape, dtype)
        if distribution == "normal":
            return normal(math.sqrt(var), dtype)(key, shape, dtype)
        lim = math.sqrt(3 * var)
        return fr.uniform(key, _shape(shape), dtype, -lim, lim)

    return init


def glorot_uniform(in_axis=1, out_axis=0, dtype=_F32) -> Initializer:
    """Glorot/Xavier uniform: ``variance_scaling(1, "fan_avg", "uniform")``.

    Args:
      in_axis: the input axis for :func:`compute_fans`.
      out_axis: the output axis for :func:`compute_fans`.
      dtype: the default dtype of the arrays it makes.

    Returns:
      An initialiser ``init(key, shape, dtype=dtype) -> array``.
    """
    return variance_scaling(1.0, "fan_avg", "uniform", in_axis, out_axis, dtype)


def glorot_normal(in_axis=1, out_axis=0, dtype=_F32) -> Initializer:
    """Glorot/Xavier normal: ``variance_scaling(1, "fan_avg", "truncated_normal")``.

    Args:
      in_axis: the input axis for :func:`compute_fans`.
      out_axis: the output axis for :func:`compute_fans`.
      dtype: the default dtype of the arrays it makes.

    Returns:
      An initialiser ``init(key, shape, dtype=dtype) -> array``.
    """
    return variance_scaling(1.0, "fan_avg", "truncated_normal", in_axis, out_axis, dtype)


def he_uniform(in_axis=1, out_axis=0, dtype=_F32) -> Initializer:
    """He/Kaiming uniform: ``variance_scaling(2, "fan_in", "uniform")``.

    Args:
      in_axis: the input axis for :func:`compute_fans`.
      out_axis: the output axis for :func:`compute_fans`.
      dtype: the default dtype of the arrays it makes.

    Returns:
      An initialiser ``init(key, shape, dtype=dtype) -> array``.
    """
    return variance_scaling(2.0, "fan_in", "uniform", in_axis, out_axis, dtype)


def he_normal(in_axis=1, out_axis=0, dtype=_F32) -> Initializer:
    """He/Kaiming normal: ``variance_scaling(2, "fan_in", "truncated_normal")``.

    Args:
      in_axis: the input axis for :func:`compute_fans`.
      out_axis: the output axis for :func:`compute_fans`.
      dtype: the default dtype of the arrays it makes.

    Returns:
      An initialiser ``init(key, shape, dtype=dtype) -> array``.
    """
    return variance_scaling(2.0, "fan_in", "truncated_normal", in_axis, out_axis, dtype)


def lecun_uniform(in_axis=1, out_axis=0, dtype=_F32) -> Initializer:
    """LeCun uniform: ``variance_scaling(1, "fan_in", "uniform")``.

    Args:
      in_axis: the input axis for :func:`compute_fans`.
      out_axis: the output axis for :func:`compute_fans`.
      dtype: the default dtype of the arrays it makes.

    Returns:
      An initialiser ``init(key, shape, dtype=dtype) -> array``.
    """
    return variance_scaling(1.0, "fan_in", "uniform", in_axis, out_axis, dtype)


def lecun_normal(in_axis=1, out_axis=0, dtype=_F32) -> Initializer:
    """LeCun normal: ``variance_scaling(1, "fan_in", "truncated_normal")``.

    Args:
      in_axis: the input axis for :func:`compute_fans`.
      out_axis: the output axis for :func:`compute_fans`.
      dtype: the default dtype of the arrays it makes.

    Returns:
      An initialiser ``init(key, shape, dtype=dtype) -> array``.
    """
    return variance_scaling(1.0, "fan_in", "truncated_normal", in_axis, out_axis, dtype)


xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal


def orthogonal(scale: float = 1.0, column_axis: int = -1, dtype=_F32) -> Initializer:
    """An initialiser of (semi-)orthogonal matrices, from the QR decomposition of a normal
    sample (as JAX).

    Args:
      scale: multiplies the matrix.
      column_axis: the axis holding the columns; the other axes are flattened into rows.
      dtype: the default dtype of the arrays it makes.

    Returns:
      An initialiser ``init(key, shape, dtype=dtype) -> array``; it raises ``ValueError`` for
      a shape of fewer than 2 dimensions.

    >>> import funcgrad as fg
    >>> q = orthogonal()(fg.random.key(0), (3, 3))
    >>> bool(fnp.allclose(q @ q.T, fnp.eye(3), atol=1e-5))
    True
    """

    def init(key, shape, dtype=dtype):
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError(f"orthogonal initialiser needs at least 2 dimensions, got {shape}")
        n_cols = shape[column_axis]
        n_rows = math.prod(shape) // n_cols
        a = fr.normal(key, (max(n_rows, n_cols), min(n_rows, n_cols)), dtype)
        q, r = fnp.linalg.qr(a)
        q = q * fnp.sign(fnp.diagonal(r))  # a uniform (Haar) distribution
        if n_rows < n_cols:
            q = q.T
        q = fnp.reshape(
            q, tuple(s for i, s in enumerate(shape) if i != column_axis % len(shape)) + (n_cols,)
        )
        q = fnp.moveaxis(q, -1, column_axis)
        return q * fnp.asarray(scale, dtype)

    return init
