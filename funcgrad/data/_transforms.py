"""Data transforms: small, composable, pure callables ``t(rng, example) -> example``.

``rng`` is a numpy Generator (the DataLoader derives it from its key, so augmentation is
reproducible); deterministic transforms ignore it and can be called as ``t(example)``.
An example is an image array, or a tuple/list whose first element is the image (labels and
other entries pass through unchanged), or a dict with an ``"image"`` entry.
Images are ``(H, W)``, or ``(H, W, C)`` / ``(C, H, W)`` as set by ``layout``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["Transform", "Compose", "Normalize", "RandomHorizontalFlip", "RandomCrop", "ToFloat"]

_LAYOUTS = ("HWC", "CHW")


def _check_layout(layout: str) -> str:
    if layout not in _LAYOUTS:
        raise ValueError(f"layout must be one of {_LAYOUTS}, got {layout!r}")
    return layout


def _as_rng(rng, who: str) -> np.random.Generator:
    """A numpy Generator from a Generator, an int seed or a 2-uint32 PRNG key."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        raise ValueError(
            f"{who} is random and needs an rng: call it as t(rng, example) with a "
            "numpy Generator, or give the DataLoader a key="
        )
    from funcgrad.data._loader import generator_from_key

    return generator_from_key(rng)


def _spatial_axes(x: np.ndarray, layout: str) -> tuple[int, int]:
    """The (H, W) axes of an image: negative, so leading batch axes are left alone."""
    if x.ndim == 2:
        return -2, -1
    if x.ndim < 2:
        raise ValueError(
            f"expected an image of shape (H, W), (H, W, C) or (C, H, W), got shape {x.shape}"
        )
    return (-3, -2) if layout == "HWC" else (-2, -1)


class Transform:
    """Base class: subclasses implement ``apply(rng, image) -> image``.

    ``__call__`` accepts ``t(example)`` or ``t(rng, example)`` and routes the image part of
    the example (see the module docstring) to ``apply``.
    """

    def apply(self, rng, image: np.ndarray) -> np.ndarray:
        """Transform one image (subclasses implement it).

        Args:
          rng: a numpy Generator, an int seed or a 2-uint32 key (random transforms), or None.
          image: the image, a numpy array.

        Returns:
          The transformed image.

        Raises:
          NotImplementedError: in the base class.
        """
        raise NotImplementedError

    def __call__(self, *args):
        rng, example = _split_args(args, type(self).__name__)
        return _on_image(example, lambda img: self.apply(rng, np.asarray(img)))


def _split_args(args: tuple, who: str):
    if len(args) == 1:
        return None, args[0]
    if len(args) == 2:
        return args
    raise TypeError(f"{who} is called as t(example) or t(rng, example), got {len(args)} arguments")


def _on_image(example, f: Callable):
    if isinstance(example, tuple) and not hasattr(example, "_fields"):
        return (f(example[0]),) + example[1:] if example else example
    if isinstance(example, list):
        return [f(example[0])] + example[1:] if example else example
    if isinstance(example, dict):
        if "image" not in example:
            raise KeyError(
                f"transforms on a dict example need an 'image' entry; got keys "
                f"{sorted(map(str, example))}"
            )
        return {**example, "image": f(example["image"])}
    return f(example)


class Compose(Transform):
    """Apply transforms in order, sharing one rng (each random step draws from it in turn).

    Args:
      transforms: the steps, each a callable ``t(rng, example) -> example``.

    Raises:
      TypeError: if a step is not callable.

    >>> t = Compose([ToFloat(), Normalize(0.5, 0.5)])
    >>> t(np.array([[0, 255]], dtype=np.uint8)).tolist()
    [[-1.0, 1.0]]
    """

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(
                    f"Compose: {t!r} is not callable; each step must be a transform t(rng, example)"
                )

    def __call__(self, *args):
        rng, example = _split_args(args, "Compose")
        for t in self.transforms:
            example = t(rng, example)
        return example

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


class ToFloat(Transform):
    """Cast to float32, dividing by ``max_value`` (default: 255 for uint8 images, else 1).

    Args:
      max_value: the divisor; None picks 255 for uint8 images and 1 otherwise.

    >>> ToFloat()(np.array([0, 255], dtype=np.uint8)).tolist()
    [0.0, 1.0]
    """

    def __init__(self, max_value: float | None = None):
        self.max_value = max_value

    def apply(self, rng, image):
        """The image as float32, divided by the scale.

        Args:
          rng: ignored.
          image: the image, ``(H, W)`` or with channels as ``layout`` says.

        Returns:
          The transformed image (a new numpy array).
        """
        scale = self.max_value
        if scale is None:
            scale = 255.0 if image.dtype == np.uint8 else 1.0
        return (image.astype(np.float32) / np.float32(scale)).astype(np.float32)

    def __repr__(self) -> str:
        return f"ToFloat(max_value={self.max_value!r})"


class Normalize(Transform):
    """``(image - mean) / std``, per channel when ``mean``/``std`` are sequences.

    Args:
      mean: a scalar or one value per channel.
      std: a scalar or one nonzero value per channel.
      layout: ``"HWC"`` (channels last) or ``"CHW"`` (channels on axis -3).

    Raises:
      ValueError: for a zero ``std``, a ``mean``/``std`` of more than one dimension, or an
        unknown ``layout``.

    >>> img = np.ones((2, 2, 3), np.float32)
    >>> Normalize([0.0, 0.5, 1.0], [1.0, 0.5, 1.0])(img)[0, 0].tolist()
    [1.0, 1.0, 0.0]
    """

    def __init__(self, mean, std, layout: str = "HWC"):
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        self.layout = _check_layout(layout)
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std must be nonzero, got {self.std.tolist()}")
        if self.mean.ndim > 1 or self.std.ndim > 1:
            raise ValueError("Normalize: mean and std must be scalars or 1-D (one per channel)")

    def apply(self, rng, image):
        """The normalised image, float32.

        Args:
          rng: ignored.
          image: the image, ``(H, W)`` or with channels as ``layout`` says.

        Returns:
          The transformed image (a new numpy array).

        Raises:
          ValueError: if the per-channel statistics do not match the image's channels.
        """
        mean, std = self.mean, self.std
        if image.ndim == 2 and mean.size * std.size > 1:
            raise ValueError(
                f"Normalize: per-channel mean/std given for an image of shape "
                f"{image.shape} without a channel axis; use scalars"
            )
        if self.layout == "CHW" and image.ndim >= 3:  # put channels on axis -3
            mean, std = mean.reshape(-1, 1, 1), std.reshape(-1, 1, 1)
        try:
            return ((image.astype(np.float32) - mean) / std).astype(np.float32)
        except ValueError:
            raise ValueError(
                f"Normalize: mean {self.mean.shape} / std {self.std.shape} do not "
                f"match the channels of an image of shape {image.shape} with "
                f"layout {self.layout!r}"
            ) from None

    def __repr__(self) -> str:
        return (
            f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()}, layout={self.layout!r})"
        )


class RandomHorizontalFlip(Transform):
    """Mirror the image left-right with probability ``p``.

    Args:
      p: the probability of a flip, in ``[0, 1]``.
      layout: ``"HWC"`` or ``"CHW"``.

    Raises:
      ValueError: for ``p`` outside ``[0, 1]`` or an unknown ``layout``.

    >>> img = np.array([[1, 2, 3]])
    >>> RandomHorizontalFlip(p=1.0)(np.random.default_rng(0), img).tolist()
    [[3, 2, 1]]
    """

    def __init__(self, p: float = 0.5, layout: str = "HWC"):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = float(p)
        self.layout = _check_layout(layout)

    def apply(self, rng, image):
        """The image, mirrored with probability ``p``.

        Args:
          rng: a numpy Generator, an int seed or a 2-uint32 key (required).
          image: the image, ``(H, W)`` or with channels as ``layout`` says.

        Returns:
          The transformed image (a new numpy array).

        Raises:
          ValueError: without an ``rng``, or for an image of fewer than 2 dimensions.
        """
        rng = _as_rng(rng, "RandomHorizontalFlip")
        if rng.random() < self.p:
            _, w = _spatial_axes(image, self.layout)
            return np.flip(image, axis=w).copy()
        return image

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p}, layout={self.layout!r})"


class RandomCrop(Transform):
    """Zero-pad by ``padding`` pixels on each side, then crop a random ``size`` window.

    Args:
      size: the crop, an int (square) or ``(height, width)``.
      padding: pixels added on each side before cropping.
      fill: the padding value.
      layout: ``"HWC"`` or ``"CHW"``.

    Raises:
      ValueError: for a non-positive ``size``, a negative ``padding`` or an unknown
        ``layout``.

    >>> out = RandomCrop(4, padding=2)(np.random.default_rng(0), np.ones((4, 4, 3)))
    >>> out.shape
    (4, 4, 3)
    """

    def __init__(self, size, padding: int = 0, fill: float = 0, layout: str = "HWC"):
        self.size = (int(size), int(size)) if np.ndim(size) == 0 else tuple(map(int, size))
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(
                f"RandomCrop: size must be an int or (height, width) > 0, got {size!r}"
            )
        if padding < 0:
            raise ValueError(f"RandomCrop: padding must be >= 0, got {padding}")
        self.padding = int(padding)
        self.fill = fill
        self.layout = _check_layout(layout)

    def apply(self, rng, image):
        """A random ``size`` window of the padded image.

        Args:
          rng: a numpy Generator, an int seed or a 2-uint32 key (required).
          image: the image, ``(H, W)`` or with channels as ``layout`` says.

        Returns:
          The transformed image (a new numpy array).

        Raises:
          ValueError: without an ``rng``, or if the crop is larger than the padded image.
        """
        rng = _as_rng(rng, "RandomCrop")
        h_ax, w_ax = _spatial_axes(image, self.layout)
        if self.padding:
            pad = [(0, 0)] * image.ndim
            pad[h_ax] = pad[w_ax] = (self.padding, self.padding)
            image = np.pad(image, pad, constant_values=self.fill)
        (th, tw), H, W = self.size, image.shape[h_ax], image.shape[w_ax]
        if th > H or tw > W:
            raise ValueError(
                f"RandomCrop: crop size {self.size} is larger than the padded "
                f"image ({H}, {W}); lower size or raise padding"
            )
        top = int(rng.integers(0, H - th + 1))
        left = int(rng.integers(0, W - tw + 1))
        index = [slice(None)] * image.ndim
        index[h_ax] = slice(top, top + th)
        index[w_ax] = slice(left, left + tw)
        return image[tuple(index)].copy()

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding}, layout={self.layout!r})"
