"""Normalisation layers, as ``equinox.nn``.

LayerNorm, GroupNorm and RMSNorm take one example (and pass an optional ``State`` through, as
Equinox). BatchNorm keeps running statistics in an ``fg.nn.State``: ``y, state = bn(x,
state)``; with ``axis_name=None`` it takes the whole batch ``(N, C, *spatial)`` outside
``vmap`` (see docs/modularity.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.nn._module import Module, static_field
from funcgrad.nn._state import State, StatefulLayer, StateIndex

__all__ = ["BatchNorm", "GroupNorm", "LayerNorm", "RMSNorm"]


def _shape(s) -> tuple:
    return (int(s),) if isinstance(s, (int, np.integer)) else tuple(s)


def _affine(y, weight, bias):
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


_NO_STATE = object()


def _compute_dtype(x):
    return fnp.promote_types(x.dtype, np.float32)


def _finish(out, orig_dtype, state):
    out = out.astype(orig_dtype)
    return out if state is _NO_STATE else (out, state)


def _scale_shift(out, weight, bias, dtype):
    if weight is not None:
        out = weight.astype(dtype) * out
    if bias is not None:
        out = out + bias.astype(dtype)
    return out


def _check_shape(layer, shape, x):
    if tuple(fnp.shape(x)) != shape:
        raise ValueError(
            f"`{layer}(shape)(x)` must satisfy the invariant `shape == x.shape`. Received "
            f"shape={shape} and x.shape={tuple(fnp.shape(x))}. You might need to replace "
            f"`layer(x)` with `fg.vmap(layer)(x)`."
        )


class LayerNorm(Module):
    """Normalises one example of shape ``shape``, then scales and shifts (as Equinox).

    Called as ``ln(x, state=None, *, key=None)``: ``(x - mean) * rsqrt(var + eps) * weight +
    bias`` with the (biased) statistics over all of ``x``, computed in at least float32;
    ``x.shape`` must equal ``shape`` (else ``ValueError``: batch with ``fg.vmap``). Given a
    ``state``, returns ``(y, state)``.

    Args:
      shape: the example's shape (an int or a tuple).
      eps: added to the variance.
      use_weight: learn a scale (initialised to ones).
      use_bias: learn a shift (initialised to zeros).
      dtype: the parameters' dtype (default float32).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> ln = fg.nn.LayerNorm(4)
    >>> y = ln(fnp.array([1.0, 2.0, 3.0, 4.0]))
    >>> round(float(y.mean()), 5), round(float(y.var()), 3)
    (0.0, 1.0)
    """

    shape: tuple = static_field()
    eps: float = static_field()
    use_weight: bool = static_field()
    use_bias: bool = static_field()
    weight: Any
    bias: Any

    def __init__(
        self, shape, eps: float = 1e-5, use_weight: bool = True, use_bias: bool = True, dtype=None
    ):
        dt = np.float32 if dtype is None else dtype
        self.shape, self.eps = _shape(shape), eps
        self.use_weight, self.use_bias = use_weight, use_bias
        self.weight = fnp.ones(self.shape, dt) if use_weight else None
        self.bias = fnp.zeros(self.shape, dt) if use_bias else None

    def __call__(self, x, state=_NO_STATE, *, key=None):
        _check_shape("LayerNorm", self.shape, x)
        orig, dt = x.dtype, _compute_dtype(x)
        x = x.astype(dt)
        mean = fnp.mean(x, keepdims=True)
        var = fnp.maximum(0.0, fnp.var(x, keepdims=True))
        out = (x - mean) * lax.rsqrt(var + self.eps)
        return _finish(_scale_shift(out, self.weight, self.bias, dt), orig, state)


class RMSNorm(Module):
    """``x * rsqrt(mean(x**2) + eps) * weight + bias`` on one example of shape ``shape``.

    As Equinox: called as ``norm(x, state=None, *, key=None)``; ``x.shape`` must equal
    ``shape`` (else ``ValueError``); computed in at least float32. Given a ``state``,
    returns ``(y, state)``.

    Args:
      shape: the example's shape (an int or a tuple).
      eps: added to the mean square.
      use_weight: learn a scale (initialised to ones).
      use_bias: learn a shift (initialised to zeros; on by default, as Equinox).
      dtype: the parameters' dtype (default float32).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.nn.RMSNorm(2)(fnp.array([3.0, 4.0])).shape
    (2,)
    """

    shape: tuple = static_field()
    eps: float = static_field()
    use_weight: bool = static_field()
    use_bias: bool = static_field()
    weight: Any
    bias: Any

    def __init__(
        self, shape, eps: float = 1e-5, use_weight: bool = True, use_bias: bool = True, dtype=None
    ):
        dt = np.float32 if dtype is None else dtype
        self.shape, self.eps = _shape(shape), eps
        self.use_weight, self.use_bias = use_weight, use_bias
        self.weight = fnp.ones(self.shape, dt) if use_weight else None
        self.bias = fnp.zeros(self.shape, dt) if use_bias else None

    def __call__(self, x, state=_NO_STATE, *, key=None):
        _check_shape("RMSNorm", self.shape, x)
        orig, dt = x.dtype, _compute_dtype(x)
        x = x.astype(dt)
        out = lax.rsqrt(fnp.mean(x**2) + self.eps) * x
        return _finish(_scale_shift(out, self.weight, self.bias, dt), orig, state)


class GroupNorm(Module):
    """Normalises one example ``(C, *spatial)`` within ``groups`` groups of channels.

    As Equinox: called as ``gn(x, state=None, *, key=None)``; statistics in at least
    float32; given a ``state``, returns ``(y, state)``. ``x.shape[0]`` must be ``channels``
    when that is given (else ``ValueError``).

    Args:
      groups: the number of channel groups (must divide ``channels``).
      channels: the number of channels ``C`` (needed with ``channelwise_affine``).
      eps: added to the variance.
      channelwise_affine: learn a per-channel scale (ones) and shift (zeros).
      dtype: the parameters' dtype (default float32).

    Raises:
      ValueError: if ``channels`` is not divisible by ``groups``, or is None with
        ``channelwise_affine``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.nn.GroupNorm(2, 4)(fnp.arange(16.0).reshape(4, 2, 2)).shape
    (4, 2, 2)
    """

    groups: int = static_field()
    channels: Any = static_field()
    eps: float = static_field()
    channelwise_affine: bool = static_field()
    weight: Any
    bias: Any

    def __init__(
        self,
        groups: int,
        channels: int | None = None,
        eps: float = 1e-5,
        channelwise_affine: bool = True,
        dtype=None,
    ):
        if channels is not None and channels % groups:
            raise ValueError("The number of groups must divide the number of channels.")
        if channels is None and channelwise_affine:
            raise ValueError(
                "The number of channels should be specified if `channelwise_affine=True`"
            )
        dt = np.float32 if dtype is None else dtype
        self.groups, self.channels, self.eps = groups, channels, eps
        self.channelwise_affine = channelwise_affine
        self.weight = fnp.ones((channels,), dt) if channelwise_affine else None
        self.bias = fnp.zeros((channels,), dt) if channelwise_affine else None

    def __call__(self, x, state=_NO_STATE, *, key=None):
        shape = tuple(fnp.shape(x))
        if not shape or (self.channels is not None and shape[0] != self.channels):
            raise ValueError(
                f"GroupNorm expects one example (C={self.channels}, ...), got "
                f"shape {shape}; for a batch use fg.vmap(layer)(x)."
            )
        orig, dt = x.dtype, _compute_dtype(x)
        y = fnp.reshape(x.astype(dt), (self.groups, -1))
        mean = fnp.mean(y, axis=1, keepdims=True)
        var = fnp.maximum(0.0, fnp.var(y, axis=1, keepdims=True))
        out = fnp.reshape((y - mean) * lax.rsqrt(var + self.eps), shape)
        bshape = (shape[0],) + (1,) * (len(shape) - 1)
        w = None if self.weight is None else fnp.reshape(self.weight, bshape)
        b = None if self.bias is None else fnp.reshape(self.bias, bshape)
        return _finish(_scale_shift(out, w, b, dt), orig, state)


def batch_stats(x, axes: tuple, axis_name=None):
    """Mean and biased variance of ``x`` over ``axes``; with ``axis_name`` also over that
    named axis (``vmap``'s or ``pmap``'s ``axis_name``): the statistics of the whole batch,
    every member holding as many elements (as Equinox's BatchNorm: the variance is the mean
    over the axis of each member's mean squared deviation from the global mean)."""
    if axis_name is None:
        return fnp.mean(x, axis=axes), fnp.var(x, axis=axes)
    mean = lax.pmean(fnp.mean(x, axis=axes), axis_name)
    centred = x - fnp.expand_dims(mean, axes)
    var = lax.pmean(fnp.mean(centred * fnp.conj(centred), axis=axes), axis_name)
    return mean, fnp.maximum(0.0, var)


def _batch_stats(x, axis_name):
    """Per-channel statistics: of a whole batch ``(N, C, *spatial)`` without a named axis, of
    one example ``(C, *spatial)`` and the named axis with one (Equinox's call under vmap)."""
    if axis_name is None:
        return batch_stats(x, (0,) + tuple(range(2, fnp.ndim(x))))
    return batch_stats(x, tuple(range(1, fnp.ndim(x))), axis_name)


class BatchNorm(StatefulLayer):
    """Batch normalisation with Equinox's state handling: ``y, state = bn(x, state)``.

    The state lives in an :class:`State` (build both with ``make_with_state(BatchNorm)(...)``).
    As in Equinox, with ``axis_name`` the layer is called on one example ``(C, *spatial)``
    inside ``vmap(..., axis_name=...)`` (or ``pmap``), and the statistics are averaged over that
    named axis with ``lax.pmean`` (an unbound name raises ``NameError``). With
    ``axis_name=None`` (funcgrad's extension) it is called OUTSIDE ``vmap`` on the whole batch
    ``(N, C, *spatial)`` (else ``ValueError``).

    ``mode="ema"`` (Equinox's default): the first training call stores the batch statistics;
    later ones store ``(1 - momentum) * batch + momentum * running`` and normalise with that
    (as Equinox). ``mode="batch"``: training normalises with the batch statistics and keeps
    the debiased running averages ``hidden = momentum * hidden + (1 - momentum) * batch``,
    which inference divides by ``1 - momentum**count``. Inference (``inference=True`` here or
    in the call, or :func:`inference_mode`) returns the state unchanged.

    Args:
      input_size: the number of channels ``C``.
      axis_name: the named batch axis, or a tuple of names (``None``: the call gets the
        whole batch).
      eps: added to the variance.
      channelwise_affine: learn a per-channel scale (ones) and shift (zeros).
      momentum: the running statistics' decay.
      inference: use the running statistics.
      dtype: the parameters' and statistics' dtype (default float32).
      mode: ``"ema"`` or ``"batch"``.

    Raises:
      ValueError: for another ``mode``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> bn, state = fg.nn.make_with_state(fg.nn.BatchNorm)(3, None, mode="batch")
    >>> y, state = bn(fnp.ones((8, 3, 4, 4)), state)
    >>> y.shape
    (8, 3, 4, 4)
    >>> y, state = fg.nn.inference_mode(bn)(fnp.ones((2, 3, 4, 4)), state)
    """

    weight: Any
    bias: Any
    ema_first_time_index: Any
    ema_state_index: Any
    batch_counter: Any
    batch_state_index: Any
    axis_name: Any = static_field()
    inference: bool = static_field()
    input_size: int = static_field()
    eps: float = static_field()
    channelwise_affine: bool = static_field()
    momentum: float = static_field()
    mode: str = static_field()

    def __init__(
        self,
        input_size: int,
        axis_name=None,
        eps: float = 1e-5,
        channelwise_affine: bool = True,
        momentum: float = 0.99,
        inference: bool = False,
        dtype=None,
        mode: str = "ema",
    ):
        if mode not in ("ema", "batch"):
            raise ValueError("Invalid mode, must be 'ema' or 'batch'.")
        dt = np.float32 if dtype is None else dtype
        c = input_size
        self.weight = fnp.ones((c,), dt) if channelwise_affine else None
        self.bias = fnp.zeros((c,), dt) if channelwise_affine else None
        ema, batch = mode == "ema", mode == "batch"
        stats = (fnp.zeros((c,), dt), fnp.ones((c,), dt))
        self.ema_first_time_index = StateIndex(fnp.asarray(True)) if ema else None
        self.ema_state_index = StateIndex(stats) if ema else None
        self.batch_counter = StateIndex(fnp.asarray(0, np.int32)) if batch else None
        self.batch_state_index = StateIndex(stats) if batch else None
        self.axis_name, self.inference, self.input_size, self.eps = axis_name, inference, c, eps
        self.channelwise_affine, self.momentum, self.mode = channelwise_affine, momentum, mode

    def init_state(self) -> State:
        """A fresh initial :class:`State` of this layer (works after ``delete_init_state``).

        Returns:
          A :class:`State` holding this layer's entries only; ``make_with_state`` is the
          Equinox way to build model and state together.
        """
        c = self.input_size
        dt = np.float32 if self.weight is None else self.weight.dtype
        stats = (fnp.zeros((c,), dt), fnp.ones((c,), dt))
        if self.mode == "ema":
            pairs = [(self.ema_first_time_index, fnp.asarray(True)), (self.ema_state_index, stats)]
        else:
            pairs = [
                (self.batch_counter, fnp.asarray(0, np.int32)),
                (self.batch_state_index, stats),
            ]
        return State.from_values({index.marker: value for index, value in pairs})

    def _ema(self, x, state, inference):
        if inference:
            return state.get(self.ema_state_index), state
        first = state.get(self.ema_first_time_index)
        state = state.set(self.ema_first_time_index, fnp.asarray(False))
        batch_mean, batch_var = _batch_stats(x, self.axis_name)
        run_mean, run_var = state.get(self.ema_state_index)
        m = self.momentum
        mean = fnp.where(first, batch_mean, (1 - m) * batch_mean + m * run_mean)
        var = fnp.where(first, batch_var, (1 - m) * batch_var + m * run_var)
        return (mean, var), state.set(self.ema_state_index, (mean, var))

    def _batch(self, x, state, inference):
        count = state.get(self.batch_counter)
        hidden_mean, hidden_var = state.get(self.batch_state_index)
        m = self.momentum
        if inference:
            scale = fnp.where(count == 0, 1, 1 - m**count).astype(hidden_mean.dtype)
            return (hidden_mean / scale, hidden_var / scale), state
        mean, var = _batch_stats(x, self.axis_name)
        state = state.set(self.batch_counter, count + 1)
        hidden = (hidden_mean * m + mean * (1 - m), hidden_var * m + var * (1 - m))
        return (mean, var), state.set(self.batch_state_index, hidden)

    def _check_shape(self, shape):
        if self.axis_name is not None:
            if len(shape) < 1 or shape[0] != self.input_size:
                raise ValueError(
                    f"BatchNorm({self.input_size}, axis_name={self.axis_name!r}) takes one "
                    f"example (C, ...) with C={self.input_size} inside fg.vmap(..., "
                    f"axis_name={self.axis_name!r}), got shape {shape}."
                )
        elif len(shape) < 2 or shape[1] != self.input_size:
            raise ValueError(
                f"BatchNorm({self.input_size}) with axis_name=None takes a whole batch "
                f"(N, C, ...) with C={self.input_size}, got shape {shape}. Apply it "
                f"outside fg.vmap, or give axis_name and call it inside vmap."
            )

    def __call__(self, x, state: State, *, key=None, inference: bool | None = None):
        shape = tuple(fnp.shape(x))
        self._check_shape(shape)
        inference = self.inference if inference is None else inference
        stats = self._ema if self.mode == "ema" else self._batch
        (mean, var), state = stats(x, state, inference)
        lead = (1, -1) if self.axis_name is None else (-1,)
        bshape = lead + (1,) * (len(shape) - len(lead))
        y = (x - fnp.reshape(mean, bshape)) / fnp.sqrt(fnp.reshape(var, bshape) + self.eps)
        w = None if self.weight is None else fnp.reshape(self.weight, bshape)
        b = None if self.bias is None else fnp.reshape(self.bias, bshape)
        return _affine(y, w, b), state
