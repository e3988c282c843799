"""Normalisation layers.

LayerNorm, GroupNorm and RMSNorm take one example. BatchNorm is the one layer that needs the
whole batch: it takes ``(N, C, *spatial)``, is applied outside ``vmap``, and its running
statistics are an explicit state pytree: ``y, state = bn(x, state)`` (see docs/modularity.md).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp
from funcgrad._src.api import stop_gradient
from funcgrad.lax import pmean
from funcgrad.nn._module import Module, static_field

__all__ = ["BatchNorm", "BatchNormState", "GroupNorm", "LayerNorm", "RMSNorm"]


def _shape(s) -> tuple:
    return (int(s),) if isinstance(s, (int, np.integer)) else tuple(s)


def batch_stats(x, axes: tuple, axis_name=None):
    """Mean and biased variance of ``x`` over ``axes``; with ``axis_name`` also over that
    named axis (``vmap``'s ``axis_name``): the statistics of the whole batch, every member
    holding as many elements (as Equinox's BatchNorm). BatchNorm's statistics, kept apart
    so that any form of the layer can call it."""
    if axis_name is None:
        return fnp.mean(x, axis=axes), fnp.var(x, axis=axes)
    mean = pmean(fnp.mean(x, axis=axes), axis_name)
    centred = x - fnp.expand_dims(mean, axes)
    return mean, pmean(fnp.mean(centred * centred, axis=axes), axis_name)


def _affine(y, weight, bias):
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


class LayerNorm(Module):
    """Normalises the trailing ``shape`` dims of one example, then scales and shifts.

    Called as ``ln(x, *, key=None)``: ``(x - mean) / sqrt(var + eps) * weight + bias`` with
    the (biased) statistics over the trailing dims; raises ``ValueError`` when the trailing
    dims of ``x`` are not ``shape``.

    Args:
      shape: the normalised trailing shape (an int or a tuple).
      eps: added to the variance.
      use_weight: learn a scale (initialised to ones).
      use_bias: learn a shift (initialised to zeros).
      dtype: the parameters' dtype (keyword-only).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> ln = fg.nn.LayerNorm(4)
    >>> y = ln(fnp.array([1.0, 2.0, 3.0, 4.0]))
    >>> round(float(y.mean()), 5), round(float(y.var()), 3)
    (0.0, 1.0)
    """

    weight: Any
    bias: Any
    shape: tuple = static_field()
    eps: float = static_field()

    def __init__(
        self,
        shape,
        eps: float = 1e-5,
        use_weight: bool = True,
        use_bias: bool = True,
        *,
        dtype=np.float32,
    ):
        self.shape, self.eps = _shape(shape), eps
        self.weight = fnp.ones(self.shape, dtype) if use_weight else None
        self.bias = fnp.zeros(self.shape, dtype) if use_bias else None

    def __call__(self, x, *, key=None):
        n = len(self.shape)
        if tuple(fnp.shape(x)[fnp.ndim(x) - n :]) != self.shape:
            raise ValueError(
                f"LayerNorm{self.shape} got an input of shape "
                f"{tuple(fnp.shape(x))}; its trailing dims must be {self.shape}"
            )
        axes = tuple(range(fnp.ndim(x) - n, fnp.ndim(x)))
        mean = fnp.mean(x, axis=axes, keepdims=True)
        var = fnp.mean(fnp.square(x - mean), axis=axes, keepdims=True)
        return _affine((x - mean) / fnp.sqrt(var + self.eps), self.weight, self.bias)


class RMSNorm(Module):
    """``x / sqrt(mean(x**2) + eps) * weight`` over the trailing ``shape`` dims of one example.

    Called as ``norm(x, *, key=None)``; the mean is over the last ``len(shape)`` dims of
    ``x`` (whose sizes must broadcast with ``shape``).

    Args:
      shape: the normalised trailing shape (an int or a tuple).
      eps: added to the mean square.
      use_weight: learn a scale (initialised to ones).
      use_bias: learn a shift too (initialised to zeros; off by default).
      dtype: the parameters' dtype (keyword-only).
    """

    weight: Any
    bias: Any
    shape: tuple = static_field()
    eps: float = static_field()

    def __init__(
        self,
        shape,
        eps: float = 1e-6,
        use_weight: bool = True,
        use_bias: bool = False,
        *,
        dtype=np.float32,
    ):
        self.shape, self.eps = _shape(shape), eps
        self.weight = fnp.ones(self.shape, dtype) if use_weight else None
        self.bias = fnp.zeros(self.shape, dtype) if use_bias else None

    def __call__(self, x, *, key=None):
        axes = tuple(range(fnp.ndim(x) - len(self.shape), fnp.ndim(x)))
        ms = fnp.mean(fnp.square(x), axis=axes, keepdims=True)
        return _affine(x / fnp.sqrt(ms + self.eps), self.weight, self.bias)


class GroupNorm(Module):
    """Normalises one example ``(C, *spatial)`` within ``groups`` groups of channels.

    Called as ``gn(x, *, key=None)``; raises ``ValueError`` unless ``x.shape[0]`` is
    ``channels``.

    Args:
      groups: the number of channel groups (must divide ``channels``).
      channels: the number of channels ``C``.
      eps: added to the variance.
      channelwise_affine: learn a per-channel scale (ones) and shift (zeros).
      dtype: the parameters' dtype (keyword-only).

    Raises:
      ValueError: if ``channels`` is not divisible by ``groups``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.nn.GroupNorm(2, 4)(fnp.arange(16.0).reshape(4, 2, 2)).shape
    (4, 2, 2)
    """

    weight: Any
    bias: Any
    groups: int = static_field()
    channels: int = static_field()
    eps: float = static_field()

    def __init__(
        self,
        groups: int,
        channels: int,
        eps: float = 1e-5,
        channelwise_affine: bool = True,
        *,
        dtype=np.float32,
    ):
        if channels % groups:
            raise ValueError(f"GroupNorm: channels {channels} not divisible by groups {groups}")
        self.groups, self.channels, self.eps = groups, channels, eps
        self.weight = fnp.ones((channels,), dtype) if channelwise_affine else None
        self.bias = fnp.zeros((channels,), dtype) if channelwise_affine else None

    def __call__(self, x, *, key=None):
        shape = tuple(fnp.shape(x))
        if not shape or shape[0] != self.channels:
            raise ValueError(
                f"GroupNorm expects one example (C={self.channels}, ...), got "
                f"shape {shape}; for a batch use fg.vmap(layer)(x)."
            )
        g = fnp.reshape(x, (self.groups, -1))
        mean = fnp.mean(g, axis=1, keepdims=True)
        var = fnp.mean(fnp.square(g - mean), axis=1, keepdims=True)
        y = fnp.reshape((g - mean) / fnp.sqrt(var + self.eps), shape)
        bshape = (self.channels,) + (1,) * (len(shape) - 1)
        w = None if self.weight is None else fnp.reshape(self.weight, bshape)
        b = None if self.bias is None else fnp.reshape(self.bias, bshape)
        return _affine(y, w, b)


class BatchNormState(NamedTuple):
    """BatchNorm's running statistics (a pytree, returned by every call).

    Args:
      mean: the running mean per channel, shape ``(C,)``.
      var: the running (biased) variance per channel, shape ``(C,)``.
    """

    mean: Any
    var: Any


class BatchNorm(Module):
    """Batch normalisation over a WHOLE batch ``(N, C, *spatial)`` with explicit state.

    Training (``inference=False``): normalise with the batch statistics and return updated
    running statistics ``r <- momentum * r + (1 - momentum) * batch`` (biased variance, as
    Flax/Equinox). Inference: normalise with the running statistics; the state is returned
    unchanged. Call it outside ``vmap`` (it is the one layer that sees the batch):
    ``y, state = bn(x, state, *, key=None, inference=None)``, where ``x`` is ``(N, C, ...)``
    (else ``ValueError``) and ``y`` has ``x``'s shape.

    Args:
      num_features: the number of channels ``C``.
      eps: added to the variance.
      momentum: the running statistics' decay (``r <- momentum * r + (1 - momentum) *
        batch``).
      affine: learn a per-channel scale (ones) and shift (zeros).
      inference: use the running statistics (see :func:`inference_mode`).
      dtype: the parameters' dtype (keyword-only).
      axis_name: (keyword-only) a name (or tuple of names) bound by an enclosing
        ``vmap``/``pmap``: the batch statistics are then averaged over that axis too, so
        each member (a shard of the batch) normalises with the whole batch's statistics.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> bn = fg.nn.BatchNorm(3)
    >>> state = bn.init_state()
    >>> y, state = bn(fnp.ones((8, 3, 4, 4)), state)
    >>> y.shape, state.mean.shape
    ((8, 3, 4, 4), (3,))
    >>> y, _ = fg.nn.inference_mode(bn)(fnp.ones((2, 3, 4, 4)), state)
    """

    weight: Any
    bias: Any
    num_features: int = static_field()
    eps: float = static_field()
    momentum: float = static_field()
    inference: bool = static_field()
    axis_name: Any = static_field()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.99,
        affine: bool = True,
        inference: bool = False,
        *,
        dtype=np.float32,
        axis_name=None,
    ):
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.inference, self.axis_name = inference, axis_name
        self.weight = fnp.ones((num_features,), dtype) if affine else None
        self.bias = fnp.zeros((num_features,), dtype) if affine else None

    def init_state(self, dtype=np.float32) -> BatchNormState:
        """The initial state: running mean 0 and running variance 1.

        Args:
          dtype: the statistics' dtype.

        Returns:
          A :class:`BatchNormState` of two ``(num_features,)`` arrays.
        """
        return BatchNormState(
            fnp.zeros((self.num_features,), dtype), fnp.ones((self.num_features,), dtype)
        )

    def __call__(self, x, state: BatchNormState, *, key=None, inference: bool | None = None):
        shape = tuple(fnp.shape(x))
        if len(shape) < 2 or shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm({self.num_features}) takes a whole batch (N, C, ...) "
                f"with C={self.num_features}, got shape {shape}. Apply it outside "
                f"fg.vmap."
            )
        inference = self.inference if inference is None else inference
        axes = (0,) + tuple(range(2, len(shape)))
        bshape = (1, -1) + (1,) * (len(shape) - 2)
        if inference:
            mean, var = state.mean, state.var
        else:
            mean, var = batch_stats(x, axes, self.axis_name)
            m = self.momentum
            state = BatchNormState(
                stop_gradient(m * state.mean + (1 - m) * mean).astype(state.mean.dtype),
                stop_gradient(m * state.var + (1 - m) * var).astype(state.var.dtype),
            )
        y = (x - fnp.reshape(mean, bshape)) / fnp.sqrt(fnp.reshape(var, bshape) + self.eps)
        w = None if self.weight is None else fnp.reshape(self.weight, bshape)
        b = None if self.bias is None else fnp.reshape(self.bias, bshape)
        return _affine(y, w, b), state
