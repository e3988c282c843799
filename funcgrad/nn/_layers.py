"""Basic layers. Every layer takes ONE example and an optional ``key``; batch with ``fg.vmap``."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import random as fr
from funcgrad._src.array import get_aval
from funcgrad.nn import initializers as init
from funcgrad.nn._module import Module, static_field

__all__ = [
    "MLP",
    "Dropout",
    "Embedding",
    "Flatten",
    "Identity",
    "Lambda",
    "Linear",
    "Residual",
    "Sequential",
]


def _relu(x):
    try:
        from funcgrad._src.nn_functions import relu
    except ImportError:  # pragma: no cover - nn_functions is written in parallel
        return fnp.maximum(x, 0)
    return relu(x)


def _identity(x):
    return x


def _split(key, n: int) -> list:
    """``n`` keys from ``key`` (or ``n`` Nones without one)."""
    if key is None:
        return [None] * n
    return list(fr.split(key, n))


def _default_bias_init(fan_in: int) -> Callable:
    lim = 1.0 / math.sqrt(max(1, fan_in))
    return lambda key, shape, dtype: fr.uniform(key, shape, dtype, -lim, lim)


# PyTorch's and Equinox's default for Linear and Conv weights: U(+-1/sqrt(fan_in))
default_kernel_init = init.variance_scaling(1.0 / 3.0, "fan_in", "uniform")


def _wrong_size(layer: str, expected, got_shape) -> ValueError:
    return ValueError(
        f"{layer} expects one example of shape {expected} but got shape {tuple(got_shape)}. "
        f"Layers take ONE example; for a batch use fg.vmap(layer)(x)."
    )


class Linear(Module):
    """``y = W x + b`` on one vector; ``W`` has shape ``(out_features, in_features)``.

    Called as ``lin(x, *, key=None)`` on one input of shape ``(in_features,)``; raises
    ``ValueError`` for any other shape (batch with ``fg.vmap``).

    Args:
      in_features: the input size, or ``"scalar"`` for a shape-``()`` input.
      out_features: the output size, or ``"scalar"`` for a shape-``()`` output.
      use_bias: whether to add a bias vector.
      key: the PRNG key the parameters are drawn with (keyword-only, required).
      dtype: the parameters' dtype.
      weight_init: ``init(key, shape, dtype)`` for the weight; default
        ``U(+-1/sqrt(in_features))`` (``variance_scaling(1/3, "fan_in", "uniform")``).
      bias_init: ``init(key, shape, dtype)`` for the bias; default the same bound.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> lin = fg.nn.Linear(3, 2, key=fg.random.key(0))
    >>> lin(fnp.ones(3)).shape
    (2,)
    >>> fg.vmap(lin)(fnp.ones((5, 3))).shape
    (5, 2)
    """

    weight: Any
    bias: Any
    in_features: Any = static_field()
    out_features: Any = static_field()
    use_bias: bool = static_field()

    def __init__(
        self,
        in_features,
        out_features,
        use_bias: bool = True,
        *,
        key,
        dtype=np.float32,
        weight_init: Callable | None = None,
        bias_init: Callable | None = None,
    ):
        n_in = 1 if in_features == "scalar" else in_features
        n_out = 1 if out_features == "scalar" else out_features
        wkey, bkey = fr.split(key)
        self.weight = (weight_init or default_kernel_init)(wkey, (n_out, n_in), dtype)
        self.bias = (
            (bias_init or _default_bias_init(n_in))(bkey, (n_out,), dtype) if use_bias else None
        )
        self.in_features, self.out_features, self.use_bias = in_features, out_features, use_bias

    def __call__(self, x, *, key=None):
        expected = () if self.in_features == "scalar" else (self.in_features,)
        if tuple(fnp.shape(x)) != expected:
            raise _wrong_size("Linear", expected, fnp.shape(x))
        if self.in_features == "scalar":
            x = fnp.reshape(x, (1,))
        y = self.weight @ x
        if self.bias is not None:
            y = y + self.bias
        return fnp.reshape(y, ()) if self.out_features == "scalar" else y


class Identity(Module):
    """A layer that returns its input unchanged (``layer(x, *, key=None) -> x``)."""

    def __call__(self, x, *, key=None):
        return x


class Lambda(Module):
    """Wraps a parameter-free function ``fn(x)`` as a layer (the function is static).

    Args:
      fn: the function of one example; ``layer(x, *, key=None)`` returns ``fn(x)``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.nn.Lambda(fnp.tanh)(fnp.zeros(2))
    Array([0., 0.], dtype=float32)
    """

    fn: Callable = static_field()

    def __call__(self, x, *, key=None):
        return self.fn(x)


class Flatten(Module):
    """A layer that flattens one example to a vector (``(C, H, W) -> (C*H*W,)``)."""

    def __call__(self, x, *, key=None):
        return fnp.reshape(x, (-1,))


class Sequential(Module):
    """Applies ``layers`` in order; a ``key`` is split among them.

    Indexing (``seq[i]``) gives a layer, slicing a new ``Sequential``.

    Args:
      layers: the layers (callables ``layer(x, *, key=None)``), in order.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> k1, k2 = fg.random.split(fg.random.key(0))
    >>> net = fg.nn.Sequential([fg.nn.Linear(4, 8, key=k1), fg.nn.Lambda(fnp.tanh),
    ...                         fg.nn.Linear(8, 2, key=k2)])
    >>> net(fnp.ones(4)).shape
    (2,)
    """

    layers: tuple

    def __init__(self, layers: Sequence[Callable]):
        self.layers = tuple(layers)

    def __call__(self, x, *, key=None):
        for layer, k in zip(self.layers, _split(key, len(self.layers))):
            x = layer(x, key=k)
        return x

    def __getitem__(self, i):
        return Sequential(self.layers[i]) if isinstance(i, slice) else self.layers[i]

    def __len__(self):
        return len(self.layers)


class Residual(Module):
    """``x + fn(x, key=key)``: a skip connection around a layer.

    Args:
      fn: the layer (a callable ``fn(x, *, key=None)`` returning ``x``'s shape).
    """

    fn: Any

    def __call__(self, x, *, key=None):
        return x + self.fn(x, key=key)


class MLP(Module):
    """A multi-layer perceptron: ``depth`` hidden layers of ``width_size`` (Equinox's signature).

    Called as ``mlp(x, *, key=None)`` on one input; ``key`` is needed only with dropout in
    training mode.

    Args:
      in_size: the input size (or ``"scalar"``).
      out_size: the output size (or ``"scalar"``).
      width_size: the size of each hidden layer.
      depth: the number of hidden layers (0: one linear layer).
      activation: applied after each hidden layer (default relu).
      final_activation: applied to the output (default the identity).
      use_bias: biases in the hidden layers.
      use_final_bias: a bias in the output layer.
      dropout_p: dropout probability after each hidden activation (0: no dropout layer).
      key: the PRNG key the parameters are drawn with (keyword-only, required).
      dtype: the parameters' dtype.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> mlp = fg.nn.MLP(64, 10, width_size=32, depth=2, key=fg.random.key(0))
    >>> mlp(fnp.zeros(64)).shape, fg.nn.count_params(mlp)
    ((10,), 3466)
    """

    layers: tuple
    activation: Callable = static_field()
    final_activation: Callable = static_field()
    dropout: Any = None

    def __init__(
        self,
        in_size,
        out_size,
        width_size: int,
        depth: int,
        activation: Callable = _relu,
        final_activation: Callable = _identity,
        use_bias: bool = True,
        use_final_bias: bool = True,
        dropout_p: float = 0.0,
        *,
        key,
        dtype=np.float32,
    ):
        sizes = [in_size] + [width_size] * depth + [out_size]
        keys = fr.split(key, depth + 1)
        self.layers = tuple(
            Linear(a, b, use_bias if i < depth else use_final_bias, key=keys[i], dtype=dtype)
            for i, (a, b) in enumerate(itertools.pairwise(sizes))
        )
        self.activation, self.final_activation = activation, final_activation
        self.dropout = Dropout(dropout_p) if dropout_p else None

    def __call__(self, x, *, key=None):
        keys = _split(key, len(self.layers))
        for layer, k in zip(self.layers[:-1], keys):
            x = self.activation(layer(x))
            if self.dropout is not None:
                x = self.dropout(x, key=k)
        return self.final_activation(self.layers[-1](x))


class Dropout(Module):
    """Zeroes each element with probability ``p`` and scales the rest by ``1/(1-p)``.

    Called as ``drop(x, *, key=None, inference=None)``. Needs an explicit ``key`` in
    training (else ``ValueError``); it is the identity when ``inference`` is True (see
    ``fg.nn.inference_mode``) or when called with ``inference=True``.

    Args:
      p: the probability of zeroing an element (``p >= 1`` zeroes everything).
      inference: whether the layer is in inference mode (the identity).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> drop = fg.nn.Dropout(0.5)
    >>> drop(fnp.ones(4), key=fg.random.key(0)).shape
    (4,)
    >>> fg.nn.inference_mode(drop)(fnp.ones(2))
    Array([1., 1.], dtype=float32)
    """

    p: float = static_field(default=0.5)
    inference: bool = static_field(default=False)

    def __call__(self, x, *, key=None, inference: bool | None = None):
        inference = self.inference if inference is None else inference
        if inference or self.p == 0:
            return x
        if key is None:
            raise ValueError(
                "Dropout in training mode needs a key: dropout(x, key=key). For "
                "evaluation use fg.nn.inference_mode(model)."
            )
        if self.p >= 1:
            return fnp.zeros_like(x)
        keep = fr.bernoulli(key, 1.0 - self.p, fnp.shape(x))
        return fnp.where(keep, x / (1.0 - self.p), fnp.zeros_like(x))


_embedding_init = init.normal(1.0)


class Embedding(Module):
    """A lookup table: integer index (or array of indices) -> rows of ``weight``.

    Called as ``emb(x, *, key=None)``; ``x`` must be integers (else ``TypeError``) and
    the result has shape ``x.shape + (embedding_size,)``.

    Args:
      num_embeddings: the number of rows (valid indices ``0 .. num_embeddings - 1``).
      embedding_size: the length of each row.
      key: the PRNG key the table is drawn with (keyword-only, required).
      dtype: the table's dtype.
      weight_init: ``init(key, shape, dtype)`` for the table; default ``N(0, 1)``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> emb = fg.nn.Embedding(10, 4, key=fg.random.key(0))
    >>> emb(fnp.array([1, 2, 3])).shape
    (3, 4)
    """

    weight: Any
    num_embeddings: int = static_field()
    embedding_size: int = static_field()

    def __init__(
        self,
        num_embeddings: int,
        embedding_size: int,
        *,
        key,
        dtype=np.float32,
        weight_init: Callable = _embedding_init,
    ):
        self.weight = weight_init(key, (num_embeddings, embedding_size), dtype)
        self.num_embeddings, self.embedding_size = num_embeddings, embedding_size

    def __call__(self, x, *, key=None):
        if np.dtype(get_aval(fnp.asarray(x)).dtype).kind not in "iu":
            raise TypeError(
                f"Embedding takes integer indices, got dtype {get_aval(fnp.asarray(x)).dtype}"
            )
        return fnp.take(self.weight, x, axis=0)
