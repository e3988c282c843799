"""A small ResNet (He et al. 2016) from residual blocks, for 8x8 digits or 32x32 CIFAR images.

Because BatchNorm needs the whole batch, the blocks and the ResNet take a BATCH
``(N, C, H, W)`` plus a state (a tuple of BatchNorm states) and return ``(y, new_state)``;
inside, the per-example layers (convolutions, pooling, the head) are vmapped. With
``norm="group"`` the norms are per-example and the state holds only ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import funcgrad.numpy as fnp
from funcgrad import random as fr
from funcgrad._src.api import vmap
from funcgrad.nn._conv import Conv2d
from funcgrad.nn._layers import Linear, _relu
from funcgrad.nn._module import Module, static_field
from funcgrad.nn._norm import BatchNorm, GroupNorm
from funcgrad.nn._state import delete_init_state
from funcgrad.nn.initializers import he_normal

__all__ = ["BasicBlock", "ResNet"]


def _norm(kind: str, channels: int):
    if kind == "batch":
        # the initial values live in init_state(), not in the model (no integer leaves)
        return delete_init_state(BatchNorm(channels, momentum=0.9, mode="batch"))
    if kind == "group":
        return GroupNorm(min(8, channels), channels)
    raise ValueError(f"ResNet norm must be 'batch' or 'group', got {kind!r}")


def _apply_norm(norm, x, state, inference):
    if isinstance(norm, BatchNorm):
        return norm(x, state, inference=inference)
    return vmap(norm)(x), state


def _init_norm_state(norm):
    return norm.init_state() if isinstance(norm, BatchNorm) else None


def _conv(cin, cout, k, stride, key):
    return Conv2d(
        cin,
        cout,
        k,
        stride=stride,
        padding=k // 2,
        use_bias=False,
        key=key,
        weight_init=he_normal(in_axis=1, out_axis=0),
    )


class BasicBlock(Module):
    """``relu(x' + shortcut(x))`` with ``x' = norm(conv(relu(norm(conv(x)))))``, 3x3 convs.

    The shortcut is the identity, or a strided 1x1 conv + norm when the shape changes.
    Called as ``block(x, state, *, inference=None)`` on a batch ``(N, C, H, W)`` and the
    tuple of its norms' states; returns ``(y, new_state)``. Convolutions are He-normal
    initialised, without bias.

    Args:
      in_channels: input channels.
      out_channels: output channels.
      stride: the first conv's (and the projection's) stride.
      norm: ``"batch"`` (BatchNorm, momentum 0.9) or ``"group"`` (GroupNorm with
        ``min(8, C)`` groups).
      key: the PRNG key the parameters are drawn with (keyword-only, required).

    Raises:
      ValueError: if ``norm`` is neither ``"batch"`` nor ``"group"``.
    """

    conv1: Conv2d
    norm1: Any
    conv2: Conv2d
    norm2: Any
    shortcut: Any
    shortcut_norm: Any

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, norm: str = "batch", *, key
    ):
        k1, k2, k3 = fr.split(key, 3)
        self.conv1 = _conv(in_channels, out_channels, 3, stride, k1)
        self.norm1 = _norm(norm, out_channels)
        self.conv2 = _conv(out_channels, out_channels, 3, 1, k2)
        self.norm2 = _norm(norm, out_channels)
        project = stride != 1 or in_channels != out_channels
        self.shortcut = _conv(in_channels, out_channels, 1, stride, k3) if project else None
        self.shortcut_norm = _norm(norm, out_channels) if project else None

    def init_state(self) -> tuple:
        """The initial state of the block's norms.

        Returns:
          A triple (norm1, norm2, shortcut norm) of ``fg.nn.State`` or None (group
          norms, no shortcut projection).
        """
        norms = (self.norm1, self.norm2, self.shortcut_norm)
        return tuple(None if n is None else _init_norm_state(n) for n in norms)

    def __call__(self, x, state: tuple, *, inference: bool | None = None):
        s1, s2, s3 = state
        y, s1 = _apply_norm(self.norm1, vmap(self.conv1)(x), s1, inference)
        y, s2 = _apply_norm(self.norm2, vmap(self.conv2)(_relu(y)), s2, inference)
        if self.shortcut is not None:
            x, s3 = _apply_norm(self.shortcut_norm, vmap(self.shortcut)(x), s3, inference)
        return _relu(y + x), (s1, s2, s3)


class ResNet(Module):
    """A CIFAR-style ResNet: 3x3 stem, stages of :class:`BasicBlock`, global average pool,
    linear head. Stage ``i`` has ``stage_sizes[i]`` blocks of ``widths[i]`` channels, and every
    stage after the first halves the resolution.

    ``ResNet(3, 10, (3, 3, 3), (16, 32, 64))`` is ResNet-20 for 32x32 images;
    ``ResNet(1, 10, (1, 1), (8, 16))`` is a tiny one for 8x8 digits. Called as
    ``net(x, state, *, key=None, inference=None)`` on a batch ``(N, C, H, W)`` (else
    ``ValueError``); returns ``(logits (N, num_classes), new_state)``.

    Args:
      in_channels: image channels.
      num_classes: the number of logits.
      stage_sizes: blocks per stage.
      widths: channels per stage (one per entry of ``stage_sizes``).
      norm: ``"batch"`` or ``"group"`` (see :class:`BasicBlock`).
      key: the PRNG key the parameters are drawn with (keyword-only, required).

    Raises:
      ValueError: if ``norm`` is neither ``"batch"`` nor ``"group"``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> net = fg.nn.ResNet(1, 10, stage_sizes=(1, 1), widths=(8, 16), key=fg.random.key(0))
    >>> state = net.init_state()
    >>> logits, state = net(fnp.zeros((4, 1, 8, 8)), state)
    >>> logits.shape
    (4, 10)
    """

    stem: Conv2d
    stem_norm: Any
    blocks: tuple
    head: Linear
    num_classes: int = static_field()

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        stage_sizes: Sequence[int] = (3, 3, 3),
        widths: Sequence[int] = (16, 32, 64),
        norm: str = "batch",
        *,
        key,
    ):
        keys = iter(fr.split(key, 2 + sum(stage_sizes)))
        self.stem = _conv(in_channels, widths[0], 3, 1, next(keys))
        self.stem_norm = _norm(norm, widths[0])
        blocks, cin = [], widths[0]
        for i, (n, w) in enumerate(zip(stage_sizes, widths)):
            for j in range(n):
                stride = 2 if i > 0 and j == 0 else 1
                blocks.append(BasicBlock(cin, w, stride, norm, key=next(keys)))
                cin = w
        self.blocks = tuple(blocks)
        self.head = Linear(cin, num_classes, key=next(keys))
        self.num_classes = num_classes

    def init_state(self) -> tuple:
        """The initial state of every norm of the network.

        Returns:
          ``(stem_norm_state, (block_state, ...))``; see :meth:`BasicBlock.init_state`.
        """
        return _init_norm_state(self.stem_norm), tuple(b.init_state() for b in self.blocks)

    def __call__(self, x, state: tuple, *, key=None, inference: bool | None = None):
        if fnp.ndim(x) != 4:
            raise ValueError(
                f"ResNet takes a batch (N, C, H, W) (BatchNorm needs it), got "
                f"shape {tuple(fnp.shape(x))}"
            )
        s_stem, s_blocks = state
        y, s_stem = _apply_norm(self.stem_norm, vmap(self.stem)(x), s_stem, inference)
        y = _relu(y)
        new_blocks = []
        for block, s in zip(self.blocks, s_blocks):
            y, s = block(y, s, inference=inference)
            new_blocks.append(s)
        pooled = fnp.mean(y, axis=(2, 3))
        return vmap(self.head)(pooled), (s_stem, tuple(new_blocks))
