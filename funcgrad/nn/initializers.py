"""Parameter initialisers, as ``jax.nn.initializers``: each is ``init(key, shape, dtype) -> array``.

``zeros`` and ``ones`` are initialisers themselves; the others are factories that return one
(``glorot_uniform()``, ``normal(0.02)``, ...). The fan conventions are JAX's: by default the
input axis is ``-2`` and the output axis ``-1`` (Flax's ``(in, out)`` kernels), every axis
that is neither (nor in ``batch_axis``) is the receptive field. funcgrad's own layers store
weights ``(out, in)`` (as Equinox) and draw them with Equinox's ``U(+-1/sqrt(fan_in))``, not
with these; to use one of these on such a weight pass ``in_axis=1, out_axis=0``
(``variance_scaling``, ``glorot_*``, ``he_*``, ``lecun_*``). The same key gives the same
numbers as JAX where ``funcgrad.random`` matches JAX's sampler.

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
from funcgrad._src.dtypes import default_float

__all__ = [
    "Initializer",
    "compute_fans",
    "constant",
    "delta_orthogonal",
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

Initializer = Callable  # (key, shape, dtype=None) -> array
Axes = int | Sequence[int]


def _shape(shape) -> tuple:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)


def _dtype(dtype):
    return default_float() if dtype is None else np.dtype(dtype)


def zeros(key, shape, dtype=None):
    """The all-zeros initialiser (the key is ignored).

    Args:
      key: ignored (may be None).
      shape: the shape (an int or a tuple).
      dtype: the dtype (default float32, float64 with x64).

    Returns:
      An array of ``shape`` and ``dtype``.

    >>> zeros(None, (2,))
    Array([0., 0.], dtype=float32)
    """
    return fnp.zeros(_shape(shape), _dtype(dtype))


def ones(key, shape, dtype=None):
    """The all-ones initialiser (the key is ignored).

    Args:
      key: ignored (may be None).
      shape: the shape (an int or a tuple).
      dtype: the dtype (default float32, float64 with x64).

    Returns:
      An array of ``shape`` and ``dtype``.

    >>> ones(None, 2)
    Array([1., 1.], dtype=float32)
    """
    return fnp.ones(_shape(shape), _dtype(dtype))


def constant(value, dtype=None) -> Initializer:
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
        return fnp.full(_shape(shape), value, _dtype(dtype))

    return init


def normal(stddev: float = 1e-2, dtype=None) -> Initializer:
    """An initialiser sampling ``stddev * normal(key, shape)`` (as JAX).

    Args:
      stddev: the standard deviation.
      dtype: the default dtype of the arrays it makes.

    Returns:
      An initialiser ``init(key, shape, dtype=dtype) -> array``.

    >>> import funcgrad as fg
    >>> normal(1.0)(fg.random.key(0), (3,)).shape
    (3,)
    """

    def init(key, shape, dtype=dtype):
        dt = _dtype(dtype)
        return fr.normal(key, _shape(shape), dt) * fnp.asarray(stddev, dt)

    return init


def uniform(scale: float = 1e-2, dtype=None) -> Initializer:
    """An initialiser sampling ``scale * uniform(key, shape)``: ``U[0, scale)``, not centred.

    Args:
      scale: the upper bound.
      dtype: the default dtype of the arrays it makes.

    Returns:
      An initialiser ``init(key, shape, dtype=dtype) -> array``.

    >>> import funcgrad as fg
    >>> bool((uniform(2.0)(fg.random.key(0), (5,)) >= 0).all())
    True
    """

    def init(key, shape, dtype=dtype):
        dt = _dtype(dtype)
        return fr.uniform(key, _shape(shape), dt) * fnp.asarray(scale, dt)

    return init


def truncated_normal(
    stddev: float = 1e-2, dtype=None, lower: float = -2.0, upper: float = 2.0
) -> Initializer:
    """An initialiser sampling ``stddev`` times a standard normal truncated to ``(lower, upper)``.

    Args:
      stddev: the scale (the standard deviation before truncation).
      dtype: the default dtype of the arrays it makes.
      lower: the lower bound of the standard normal.
      upper: the upper bound of the standard normal.

    Returns:
      An initialiser ``init(key, shape, dtype=dtype) -> array``.

    >>> import funcgrad as fg
    >>> bool((abs(truncated_normal(1.0)(fg.random.key(0), (50,))) <= 2).all())
    True
    """

    def init(key, shape, dtype=dtype):
        dt = _dtype(dtype)
        s = fr.truncated_normal(key, lower, upper, _shape(shape), dt)
        return s * fnp.asarray(stddev, dt)

    return init


def _size(shape, axes) -> int:
    if isinstance(axes, (int, np.integer)):
        return shape[axes]
    return math.prod(shape[i] for i in axes)


def compute_fans(
    shape: Sequence[int], in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = ()
) -> tuple:
    """``(fan_in, fan_out)`` of a weight shape, with JAX's conventions.

    Axes not in ``in_axis``, ``out_axis`` or ``batch_axis`` are the receptive field:
    ``fan_in = in_size * receptive`` and ``fan_out = out_size * receptive``.

    Args:
      shape: the weight's shape.
      in_axis: the input axis or axes (default ``-2``).
      out_axis: the output axis or axes (default ``-1``).
      batch_axis: axes ignored by the fans (default none).

    Returns:
      The pair ``(fan_in, fan_out)`` (floats, as JAX).

    Raises:
      ValueError: for a shape of fewer than 2 dimensions with the default ``in_axis``.

    >>> compute_fans((3, 3, 4, 16))        # an HWIO convolution kernel
    (36.0, 144.0)
    """
    shape = _shape(shape)
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(
            f"Can't compute input and output sizes of a {len(shape)}-dimensional weights "
            "tensor with default in_axis. Must be at least 2D or specify in_axis explicitly."
        )
    n_in, n_out = _size(shape, in_axis), _size(shape, out_axis)
    receptive = math.prod(shape) / n_in / n_out / _size(shape, batch_axis)
    return n_in * receptive, n_out * receptive


_TRUNC_STD = 0.87962566103423978  # std of a standard normal truncated to (-2, 2)
_MODES = {
    "fan_in": lambda fi, fo: fi,
    "fan_out": lambda fi, fo: fo,
    "fan_avg": lambda fi, fo: (fi + fo) / 2,
    "fan_geo_avg": lambda fi, fo: (fi * fo) ** 0.5,
}


def _sample(distribution, key, shape, dt, variance):
    if distribution == "truncated_normal":
        std = fnp.sqrt(variance) / fnp.asarray(_TRUNC_STD, dt)
        return fr.truncated_normal(key, -2, 2, shape, dt) * std
    if distribution == "normal":
        return fr.normal(key, shape, dt) * fnp.sqrt(variance)
    return fr.uniform(key, shape, dt, -1) * fnp.sqrt(3 * variance)


def variance_scaling(
    scale: float,
    mode: str,
    distribution: str,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype=None,
) -> Initializer:
    """Samples with variance ``scale / n``, ``n`` the fan given by ``mode`` (as JAX).

    Args:
      scale: the variance numerator.
      mode: ``"fan_in"``, ``"fan_out"``, ``"fan_avg"`` or ``"fan_geo_avg"``.
      distribution: ``"truncated_normal"`` (truncated at 2 standard deviations, rescaled to
        the variance), ``"normal"`` or ``"uniform"`` (``U(+-sqrt(3 scale / n))``).
      in_axis: the input axis or axes for :func:`compute_fans`.
      out_axis: the output axis or axes for :func:`compute_fans`.
      batch_axis: the axes :func:`compute_fans` ignores.
      dtype: the default dtype of the arrays it makes.

    Returns:
      An initialiser ``init(key, shape, dtype=dtype) -> array``.

    Raises:
      ValueError: for an unknown ``mode`` or ``distribution`` (when the initialiser runs,
        as JAX).

    >>> import funcgrad as fg
    >>> w = variance_scaling(2.0, "fan_in", "normal")(fg.random.key(1), (512, 256))
    >>> abs(float(w.std()) - (2 / 512) ** 0.5) < 3e-3
    True
    """

    def init(key, shape, dtype=dtype):
        shape, dt = _shape(shape), _dtype(dtype)
        fan_in, fan_out = compute_fans(shape, in_axis, out_axis, batch_axis)
        if mode not in _MODES:
            raise ValueError(f"invalid mode for variance scaling initializer: {mode}")
        if distribution not in ("truncated_normal", "normal", "uniform"):
            raise ValueError(
                f"invalid distribution for variance scaling initializer: {distribution}"
            )
        variance = fnp.asarray(scale / _MODES[mode](fan_in, fan_out), dt)
        return _sample(distribution, key, shape, dt, variance)

    return init


def _named(scale: float, mode: str, distribution: str, doc: str) -> Callable:
    def factory(
        in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype=None
    ) -> Initializer:
        return variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype)

    factory.__doc__ = f"""{doc}: ``variance_scaling({scale:g}, "{mode}", "{distribution}")``.

    Args:
      in_axis: the input axis or axes (default ``-2``).
      out_axis: the output axis or axes (default ``-1``).
      batch_axis: the axes the fans ignore.
      dtype: the default dtype of the arrays it makes.

    Returns:
      An initialiser ``init(key, shape, dtype=dtype) -> array``.

    >>> import funcgrad as fg
    >>> factory()(fg.random.key(0), (3, 2)).shape
    (3, 2)
    """
    return factory


glorot_uniform = _named(1.0, "fan_avg", "uniform", "Glorot/Xavier uniform")
glorot_normal = _named(1.0, "fan_avg", "truncated_normal", "Glorot/Xavier normal")
he_uniform = _named(2.0, "fan_in", "uniform", "He/Kaiming uniform")
he_normal = _named(2.0, "fan_in", "truncated_normal", "He/Kaiming normal")
lecun_uniform = _named(1.0, "fan_in", "uniform", "LeCun uniform")
lecun_normal = _named(1.0, "fan_in", "truncated_normal", "LeCun normal")
for _f, _n in [
    (glorot_uniform, "glorot_uniform"),
    (glorot_normal, "glorot_normal"),
    (he_uniform, "he_uniform"),
    (he_normal, "he_normal"),
    (lecun_uniform, "lecun_uniform"),
    (lecun_normal, "lecun_normal"),
]:
    _f.__name__ = _f.__qualname__ = _n
    _f.__doc__ = _f.__doc__.replace("factory()", _n + "()")
xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal


def orthogonal(scale: float = 1.0, column_axis: int = -1, dtype=None) -> Initializer:
    """An initialiser of (semi-)orthogonal matrices, ``scale * random.orthogonal`` (as JAX).

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
        shape, dt = _shape(shape), _dtype(dtype)
        if len(shape) < 2:
            raise ValueError("orthogonal initializer requires at least a 2D shape")
        if 0 in shape:
            return fnp.zeros(shape, dt)
        n_rows, n_cols = math.prod(shape) // shape[column_axis], shape[column_axis]
        q = fr.orthogonal(key, n_rows, (), dt, n_cols)
        q = fnp.reshape(q, tuple(np.delete(shape, column_axis)) + (n_cols,))
        return fnp.asarray(scale, dt) * fnp.moveaxis(q, -1, column_axis)

    return init


def delta_orthogonal(scale: float = 1.0, column_axis: int = -1, dtype=None) -> Initializer:
    """The delta-orthogonal initialiser of convolution kernels (Xiao et al. 2018), as JAX.

    The kernel (``(*window, in, out)``, 3 to 5 dimensions) is zero except at the window's
    centre, which holds an orthogonal ``(in, out)`` matrix.

    Args:
      scale: multiplies the orthogonal matrix.
      column_axis: the column axis of the orthogonal matrix.
      dtype: the default dtype of the arrays it makes.

    Returns:
      An initialiser ``init(key, shape, dtype=dtype) -> array``; it raises ``ValueError``
      for a shape that is not 3-, 4- or 5-d, or with ``shape[-1] < shape[-2]``.

    >>> import funcgrad as fg
    >>> w = delta_orthogonal()(fg.random.key(0), (3, 3, 2, 2))
    >>> float(abs(w[0, 0]).sum())
    0.0
    """

    def init(key, shape, dtype=dtype):
        shape, dt = _shape(shape), _dtype(dtype)
        if len(shape) not in (3, 4, 5):
            raise ValueError("Delta orthogonal initializer requires a 3D, 4D or 5D shape.")
        if shape[-1] < shape[-2]:
            raise ValueError("`fan_in` must be less or equal than `fan_out`. ")
        ortho = orthogonal(scale, column_axis, dt)(key, shape[-2:])
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        return fnp.zeros(shape, dt).at[centre].set(ortho)

    return init
