"""Convolutions and pooling on ONE example ``(C, *spatial)`` (batch with ``fg.vmap``).

Convolutions call ``fg.lax.conv_general_dilated`` (layouts NC.../OI...) after adding a batch
axis of 1; pooling gathers the window's strided slices and reduces them (no new primitives).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad import random as fr
from funcgrad.nn._layers import _default_bias_init, default_kernel_init
from funcgrad.nn._module import Module, static_field

__all__ = [
    "AdaptiveAvgPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "Conv",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "MaxPool1d",
    "MaxPool2d",
]


def _tuple(v, n: int, what: str) -> tuple:
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(i) for i in v)
    if len(v) != n:
        raise ValueError(f"{what} needs {n} entries, got {v}")
    return v


def _padding(p, n: int):
    """Ints, pairs, or 'SAME'/'VALID' -> what conv_general_dilated accepts."""
    if isinstance(p, str):
        return p.upper()
    if isinstance(p, (int, np.integer)):
        return ((int(p), int(p)),) * n
    return tuple((q, q) if isinstance(q, (int, np.integer)) else tuple(q) for q in p)


_PAD_MODES = {"ZEROS": None, "REFLECT": "reflect", "REPLICATE": "edge", "CIRCULAR": "wrap"}


def _padding_mode(mode: str) -> str:
    mode = mode.upper()
    if mode not in _PAD_MODES:
        raise ValueError(
            "`padding_mode` must be `'ZEROS'`, `'REFLECT'`, `'REPLICATE'`, or `'CIRCULAR'`."
        )
    return mode


def _mode_pad(x, padding, mode: str):
    """Equinox's non-zero padding modes: pad ``x`` with ``fnp.pad``, then convolve VALID."""
    if mode == "ZEROS":
        return x, padding
    if isinstance(padding, str):
        raise NotImplementedError(f"padding_mode={mode!r} with padding={padding!r}")
    return fnp.pad(x, [(0, 0), *padding], mode=_PAD_MODES[mode]), "VALID"


def _check_example(layer: str, x, channels: int, n: int):
    shape = tuple(fnp.shape(x))
    if len(shape) != n + 1 or shape[0] != channels:
        raise ValueError(
            f"{layer} expects one example of shape (C={channels}, {n} spatial dims) but got "
            f"shape {shape}. Layers take ONE example; for a batch use fg.vmap(layer)(x)."
        )


class Conv(Module):
    """N-d convolution of one example ``(C_in, *spatial) -> (C_out, *spatial')``.

    Called as ``conv(x, *, key=None)``; ``x`` must be ``(in_channels, *spatial)`` with
    ``num_spatial_dims`` spatial dims (else ``ValueError``; batch with ``fg.vmap``). The
    weight has shape ``(C_out, C_in // groups, *kernel_size)``.

    Args:
      num_spatial_dims: the number of spatial dimensions (1, 2, 3, ...).
      in_channels: input channels ``C_in``.
      out_channels: output channels ``C_out``.
      kernel_size: an int (every dim) or one int per spatial dim.
      stride: an int or one int per spatial dim.
      padding: an int, per-dim ints or ``(low, high)`` pairs, or ``"SAME"`` / ``"VALID"``.
      dilation: the kernel dilation, an int or one int per spatial dim.
      groups: the feature group count (both channel counts must be divisible by it).
      use_bias: whether to add a per-channel bias.
      padding_mode: ``"ZEROS"``, ``"REFLECT"``, ``"REPLICATE"`` or ``"CIRCULAR"`` (as
        Equinox; the last three need explicit, not string, padding).
      dtype: the parameters' dtype (default float32).
      key: the PRNG key (keyword-only, required): ``split(key, 2)`` draws weight and bias,
        both ``U(+-1/sqrt(fan_in))`` with ``fan_in = C_in // groups * prod(kernel_size)``
        (Equinox's and PyTorch's default).
      weight_init: ``init(key, shape, dtype)`` for the weight (a funcgrad extension).
      bias_init: ``init(key, shape, dtype)`` for the bias.

    Raises:
      ValueError: if a channel count is not divisible by ``groups``, a per-dim argument
        has the wrong number of entries, or ``padding_mode`` is unknown.
    """

    weight: Any
    bias: Any
    num_spatial_dims: int = static_field()
    in_channels: int = static_field()
    out_channels: int = static_field()
    kernel_size: tuple = static_field()
    stride: tuple = static_field()
    padding: Any = static_field()
    dilation: tuple = static_field()
    groups: int = static_field()
    use_bias: bool = static_field(default=True)
    padding_mode: str = static_field(default="ZEROS")

    def __init__(
        self,
        num_spatial_dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        use_bias: bool = True,
        padding_mode: str = "ZEROS",
        dtype=None,
        *,
        key,
        weight_init: Callable | None = None,
        bias_init: Callable | None = None,
    ):
        n = num_spatial_dims
        dtype = np.float32 if dtype is None else dtype
        self.use_bias, self.padding_mode = use_bias, _padding_mode(padding_mode)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"in_channels {in_channels} and out_channels {out_channels} must "
                f"be divisible by groups {groups}"
            )
        self.num_spatial_dims, self.in_channels, self.out_channels = n, in_channels, out_channels
        self.kernel_size = _tuple(kernel_size, n, "kernel_size")
        self.stride, self.dilation = _tuple(stride, n, "stride"), _tuple(dilation, n, "dilation")
        self.padding, self.groups = _padding(padding, n), groups
        wshape = (out_channels, in_channels // groups) + self.kernel_size
        wkey, bkey = fr.split(key, 2)
        self.weight = (weight_init or default_kernel_init)(wkey, wshape, dtype)
        fan_in = math.prod(wshape[1:])
        self.bias = (
            (bias_init or _default_bias_init(fan_in))(bkey, (out_channels,), dtype)
            if use_bias
            else None
        )

    def __call__(self, x, *, key=None):
        _check_example(type(self).__name__, x, self.in_channels, self.num_spatial_dims)
        x, padding = _mode_pad(x, self.padding, self.padding_mode)
        y = lax.conv_general_dilated(
            x[None],
            self.weight,
            self.stride,
            padding,
            rhs_dilation=self.dilation,
            feature_group_count=self.groups,
        )[0]
        if self.bias is not None:
            y = y + fnp.reshape(self.bias, (-1,) + (1,) * self.num_spatial_dims)
        return y


def _conv_nd(n: int, doc: str):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        use_bias: bool = True,
        padding_mode: str = "ZEROS",
        dtype=None,
        *,
        key,
        weight_init: Callable | None = None,
        bias_init: Callable | None = None,
    ):
        Conv.__init__(
            self,
            n,
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            use_bias,
            padding_mode,
            dtype,
            key=key,
            weight_init=weight_init,
            bias_init=bias_init,
        )

    return type(f"Conv{n}d", (Conv,), {"__init__": __init__, "__doc__": doc})


_CONV_DOC = """{n}-d convolution of one example ``(C, *spatial)``, as ``equinox.nn.Conv{n}d``.

    Arguments as :class:`Conv` without the rank: ``(in_channels, out_channels, kernel_size,
    stride=1, padding=0, dilation=1, groups=1, use_bias=True, padding_mode="ZEROS",
    dtype=None, *, key)``.

    Args:
      in_channels: input channels.
      out_channels: output channels.
      kernel_size: an int or one int per spatial dim.
      stride: an int or one int per spatial dim.
      padding: an int, per-dim ints or ``(low, high)`` pairs, or ``"SAME"`` / ``"VALID"``.
      dilation: the kernel dilation.
      groups: the feature group count.
      use_bias: whether to add a per-channel bias.
      padding_mode: ``"ZEROS"``, ``"REFLECT"``, ``"REPLICATE"`` or ``"CIRCULAR"``.
      dtype: the parameters' dtype.
      key: the PRNG key (keyword-only, required).
      weight_init: ``init(key, shape, dtype)`` for the weight (a funcgrad extension).
      bias_init: ``init(key, shape, dtype)`` for the bias.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> conv = fg.nn.Conv{n}d(3, 8, kernel_size=3, padding=1, key=fg.random.key(0))
    >>> conv(fnp.ones((3,) + (6,) * {n})).shape[0]
    8
    """
Conv1d = _conv_nd(1, _CONV_DOC.format(n=1))
Conv2d = _conv_nd(2, _CONV_DOC.format(n=2))
Conv3d = _conv_nd(3, _CONV_DOC.format(n=3))


def _pairs(p, n: int) -> tuple:
    """Explicit ``((lo, hi), ...)`` padding from an int, per-dim ints or pairs."""
    if isinstance(p, str):
        raise NotImplementedError("ConvTranspose: string padding ('SAME'/'VALID')")
    return _padding(p, n)


class ConvTranspose(Module):
    """Transposed ("fractionally strided") convolution of one example, as ``equinox.nn``.

    As Equinox: the weight is ``(C_out, C_in // groups, *kernel_size)`` and is applied as a
    convolution of the input dilated by ``stride`` (``lhs_dilation``) with padding
    ``dilation * (k - 1) - p`` (low) and ``dilation * (k - 1) - p + output_padding`` (high),
    ``feature_group_count=groups``. Called as ``layer(x, *, key=None)`` on ``(in_channels,
    *spatial)`` (else ``ValueError``); each output size is ``(n-1)*stride - p_lo - p_hi +
    dilation*(k-1) + output_padding + 1``.

    Args:
      num_spatial_dims: the number of spatial dimensions.
      in_channels: input channels.
      out_channels: output channels.
      kernel_size: an int or one int per spatial dim.
      stride: an int or one int per spatial dim (the input dilation).
      padding: an int, per-dim ints or ``(low, high)`` pairs (the padding of the forward
        convolution this transposes).
      output_padding: extra size at the high end of each spatial dim (``< stride``).
      dilation: the kernel dilation, an int or one int per spatial dim.
      groups: the number of channel groups (``in_channels`` divisible by it).
      use_bias: whether to add a per-channel bias.
      padding_mode: ``"ZEROS"`` (the only mode here).
      dtype: the parameters' dtype (default float32).
      key: the PRNG key (keyword-only): ``split(key, 2)`` draws weight and bias, both
        ``U(+-1/sqrt(C_in // groups * prod(kernel_size)))`` (Equinox).

    Raises:
      ValueError: if ``in_channels`` is not divisible by ``groups``, ``output_padding >=
        stride``, or a per-dim argument has the wrong number of entries.
      NotImplementedError: for another ``padding_mode`` or a string padding.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> up = fg.nn.ConvTranspose(2, 8, 3, 4, stride=2, padding=1, key=fg.random.key(0))
    >>> up(fnp.ones((8, 16, 16))).shape
    (3, 32, 32)
    """

    weight: Any
    bias: Any
    num_spatial_dims: int = static_field()
    in_channels: int = static_field()
    out_channels: int = static_field()
    kernel_size: tuple = static_field()
    stride: tuple = static_field()
    padding: tuple = static_field()
    output_padding: tuple = static_field()
    dilation: tuple = static_field()
    groups: int = static_field()
    use_bias: bool = static_field()
    padding_mode: str = static_field()

    def __init__(
        self,
        num_spatial_dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        dilation=1,
        groups: int = 1,
        use_bias: bool = True,
        padding_mode: str = "ZEROS",
        dtype=None,
        *,
        key,
    ):
        n = num_spatial_dims
        if in_channels % groups:
            raise ValueError(f"`in_channels` (={in_channels}) must be divisible by `groups`")
        if padding_mode.upper() != "ZEROS":
            raise NotImplementedError(f"ConvTranspose: padding_mode={padding_mode!r}")
        self.num_spatial_dims, self.in_channels, self.out_channels = n, in_channels, out_channels
        self.kernel_size, self.stride = (
            _tuple(kernel_size, n, "kernel_size"),
            _tuple(stride, n, "stride"),
        )
        self.padding, self.dilation = _pairs(padding, n), _tuple(dilation, n, "dilation")
        self.output_padding = _tuple(output_padding, n, "output_padding")
        if any(o >= s for o, s in zip(self.output_padding, self.stride)):
            raise ValueError("Must have `output_padding < stride` (elementwise).")
        self.groups, self.use_bias, self.padding_mode = groups, use_bias, "ZEROS"
        wshape = (out_channels, in_channels // groups) + self.kernel_size
        wkey, bkey = fr.split(key, 2)
        dt = np.float32 if dtype is None else dtype
        init = _default_bias_init(math.prod(wshape[1:]))
        self.weight = init(wkey, wshape, dt)
        self.bias = init(bkey, (out_channels,), dt) if use_bias else None

    def _padding_t(self):
        return tuple(
            (d * (k - 1) - lo, d * (k - 1) - hi + a)
            for k, (lo, hi), a, d in zip(
                self.kernel_size, self.padding, self.output_padding, self.dilation
            )
        )

    def __call__(self, x, *, key=None):
        n = self.num_spatial_dims
        _check_example(type(self).__name__, x, self.in_channels, n)
        y = lax.conv_general_dilated(
            x[None],
            self.weight,
            (1,) * n,
            self._padding_t(),
            lhs_dilation=self.stride,
            rhs_dilation=self.dilation,
            feature_group_count=self.groups,
        )[0]
        if self.bias is not None:
            y = y + fnp.reshape(self.bias, (-1,) + (1,) * n)
        return y


def _transpose_nd(n: int, doc: str):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        output_padding=0,
        padding=0,
        dilation=1,
        groups: int = 1,
        use_bias: bool = True,
        padding_mode: str = "ZEROS",
        dtype=None,
        *,
        key,
    ):
        ConvTranspose.__init__(
            self,
            n,
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            output_padding,
            dilation,
            groups,
            use_bias,
            padding_mode,
            dtype,
            key=key,
        )

    return type(f"ConvTranspose{n}d", (ConvTranspose,), {"__init__": __init__, "__doc__": doc})


_ND_DOC = """{n}-d transposed convolution of one example, as ``equinox.nn.ConvTranspose{n}d``.

    Arguments as :class:`ConvTranspose` without the rank, in Equinox's order: ``(in_channels,
    out_channels, kernel_size, stride=1, output_padding=0, padding=0, dilation=1, groups=1,
    use_bias=True, padding_mode="ZEROS", dtype=None, *, key)``.

    Args:
      in_channels: input channels.
      out_channels: output channels.
      kernel_size: an int or one int per spatial dim.
      stride: an int or one int per spatial dim.
      output_padding: extra size at the high end of each spatial dim.
      padding: an int, per-dim ints or ``(low, high)`` pairs.
      dilation: the kernel dilation.
      groups: the number of channel groups.
      use_bias: whether to add a per-channel bias.
      padding_mode: ``"ZEROS"``.
      dtype: the parameters' dtype.
      key: the PRNG key (keyword-only, required).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> up = fg.nn.ConvTranspose{n}d(8, 3, 4, stride=2, padding=1, key=fg.random.key(0))
    >>> up(fnp.ones((8,) + (16,) * {n})).shape[1]
    32
    """
ConvTranspose1d = _transpose_nd(1, _ND_DOC.format(n=1))
ConvTranspose2d = _transpose_nd(2, _ND_DOC.format(n=2))
ConvTranspose3d = _transpose_nd(3, _ND_DOC.format(n=3))


# ---- pooling ------------------------------------------------------------------------------------


def _windows(x, kernel, stride, out_sp):
    """The strided slices of ``x`` (C, *spatial), one per offset in the window."""
    for off in itertools.product(*[range(k) for k in kernel]):
        idx = (slice(None),) + tuple(
            slice(o, o + (n - 1) * s + 1, s) for o, n, s in zip(off, out_sp, stride)
        )
        yield x[idx]


def _pool(x, kernel, stride, padding, pad_value, reduce_fn):
    pads = [(0, 0)] + [(p, p) for p in padding]
    if any(padding):
        x = fnp.pad(x, pads, constant_values=pad_value)
    sp = fnp.shape(x)[1:]
    out_sp = tuple((n - k) // s + 1 for n, k, s in zip(sp, kernel, stride))
    if any(o < 1 for o in out_sp):
        raise ValueError(f"pooling window {kernel} is larger than the (padded) input {sp}")
    return reduce_fn(fnp.stack(list(_windows(x, kernel, stride, out_sp))), axis=0)


class _Pool(Module):
    kernel_size: tuple = static_field()
    stride: tuple = static_field()
    padding: tuple = static_field()
    num_spatial_dims: int = static_field()

    def __init__(self, kernel_size, stride=None, padding=0, *, num_spatial_dims: int = 2):
        n = num_spatial_dims
        self.num_spatial_dims = n
        self.kernel_size = _tuple(kernel_size, n, "kernel_size")
        self.stride = self.kernel_size if stride is None else _tuple(stride, n, "stride")
        self.padding = _tuple(padding, n, "padding")

    def _check(self, x):
        if fnp.ndim(x) != self.num_spatial_dims + 1:
            n = self.num_spatial_dims
            raise ValueError(
                f"{type(self).__name__} expects one example (C, {n} spatial dims)"
                f" but got shape {tuple(fnp.shape(x))}; for a batch "
                f"use fg.vmap(layer)(x)."
            )


class MaxPool2d(_Pool):
    """Max over ``kernel_size`` windows of one example ``(C, H, W)`` (stride defaults to the
    kernel size; padding is with -inf).

    Called as ``pool(x, *, key=None)`` on one example with ``num_spatial_dims`` spatial dims
    (else ``ValueError``).

    Args:
      kernel_size: the window, an int or one int per spatial dim.
      stride: an int or one int per spatial dim; default ``kernel_size``.
      padding: an int or one int per spatial dim, added on both sides.
      num_spatial_dims: the number of spatial dims (keyword-only; 2 by default).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.nn.MaxPool2d(2)(fnp.arange(16.0).reshape(1, 4, 4))
    Array([[[ 5.,  7.],
            [13., 15.]]], dtype=float32)
    """

    def __call__(self, x, *, key=None):
        self._check(x)
        return _pool(x, self.kernel_size, self.stride, self.padding, -np.inf, fnp.max)


class AvgPool2d(_Pool):
    """Mean over ``kernel_size`` windows of one example ``(C, H, W)`` (zero padding counts
    towards the mean, PyTorch's ``count_include_pad=True``).

    Called as ``pool(x, *, key=None)`` on one example with ``num_spatial_dims`` spatial dims
    (else ``ValueError``).

    Args:
      kernel_size: the window, an int or one int per spatial dim.
      stride: an int or one int per spatial dim; default ``kernel_size``.
      padding: an int or one int per spatial dim, added on both sides.
      num_spatial_dims: the number of spatial dims (keyword-only; 2 by default).
    """

    def __call__(self, x, *, key=None):
        self._check(x)
        return _pool(x, self.kernel_size, self.stride, self.padding, 0.0, fnp.mean)


class MaxPool1d(MaxPool2d):
    """Max pooling of one example ``(C, L)`` (padding with -inf).

    Args:
      kernel_size: the window length.
      stride: the step; default ``kernel_size``.
      padding: added on both sides.
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__(kernel_size, stride, padding, num_spatial_dims=1)


class AvgPool1d(AvgPool2d):
    """Average pooling of one example ``(C, L)`` (zero padding counts towards the mean).

    Args:
      kernel_size: the window length.
      stride: the step; default ``kernel_size``.
      padding: added on both sides.
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__(kernel_size, stride, padding, num_spatial_dims=1)


def _adaptive_bounds(n: int, m: int) -> list:
    return [(i * n // m, -(-(i + 1) * n // m)) for i in range(m)]


class AdaptiveAvgPool2d(Module):
    """Averages one example ``(C, H, W)`` down to ``(C, *output_size)`` (PyTorch's bins).

    Called as ``pool(x, *, key=None)``; a non-3-d ``x`` raises ``ValueError``.

    Args:
      output_size: the output's spatial size, an int (both dims) or a pair.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.nn.AdaptiveAvgPool2d(1)(fnp.ones((4, 5, 5))).shape
    (4, 1, 1)
    """

    output_size: tuple = static_field()

    def __init__(self, output_size):
        self.output_size = _tuple(output_size, 2, "output_size")

    def __call__(self, x, *, key=None):
        if fnp.ndim(x) != 3:
            raise ValueError(
                f"AdaptiveAvgPool2d expects one example (C, H, W), got shape "
                f"{tuple(fnp.shape(x))}; for a batch use fg.vmap(layer)(x)."
            )
        (h, w), (oh, ow) = fnp.shape(x)[1:], self.output_size
        if h % oh == 0 and w % ow == 0:
            c = fnp.shape(x)[0]
            return fnp.mean(fnp.reshape(x, (c, oh, h // oh, ow, w // ow)), axis=(2, 4))
        rows = [
            fnp.stack(
                [fnp.mean(x[:, a:b, c:d], axis=(1, 2)) for c, d in _adaptive_bounds(w, ow)], axis=-1
            )
            for a, b in _adaptive_bounds(h, oh)
        ]
        return fnp.stack(rows, axis=-2)
