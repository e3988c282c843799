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
from funcgrad.nn._module import Module, static_field
from funcgrad.nn._state import StatefulLayer

_NO_STATE = object()

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


def default_init(key, shape, dtype, lim: float):
    """Equinox's default initialiser: ``uniform(key, shape, dtype, -lim, lim)``."""
    return fr.uniform(key, shape, dtype, -lim, lim)


def _default_bias_init(fan_in: int) -> Callable:
    lim = 1.0 if fan_in == 0 else 1 / math.sqrt(fan_in)
    return lambda key, shape, dtype: default_init(key, shape, dtype, lim)


def default_kernel_init(key, shape, dtype):
    """Equinox's (and PyTorch's) weight init: ``U(+-1/sqrt(fan_in))`` of an ``(O, I, ...)``
    weight, ``fan_in = prod(shape[1:])``."""
    return _default_bias_init(math.prod(shape[1:]))(key, shape, dtype)


def _dtype(dtype):
    return np.float32 if dtype is None else dtype


def _wrong_size(layer: str, expected, got_shape) -> ValueError:
    return ValueError(
        f"{layer} expects one example of shape {expected} but got shape {tuple(got_shape)}. "
        f"Layers take ONE example; for a batch use fg.vmap(layer)(x)."
    )


class Linear(Module):
    """``y = W x + b`` on one vector; ``W`` has shape ``(out_features, in_features)`` (Equinox).

    Called as ``lin(x, *, key=None)`` on one input of shape ``(in_features,)``; raises
    ``ValueError`` for any other shape (batch with ``fg.vmap``). Weight and bias are drawn
    as Equinox: ``wkey, bkey = split(key)``, both ``U(+-1/sqrt(in_features))``.

    Args:
      in_features: the input size, or ``"scalar"`` for a shape-``()`` input.
      out_features: the output size, or ``"scalar"`` for a shape-``()`` output.
      use_bias: whether to add a bias vector.
      dtype: the parameters' dtype (default float32).
      key: the PRNG key the parameters are drawn with (keyword-only, required).
      weight_init: ``init(key, shape, dtype)`` for the weight (a funcgrad extension);
        default ``U(+-1/sqrt(in_features))``.
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
        dtype=None,
        *,
        key,
        weight_init: Callable | None = None,
        bias_init: Callable | None = None,
    ):
        n_in = 1 if in_features == "scalar" else in_features
        n_out = 1 if out_features == "scalar" else out_features
        wkey, bkey = fr.split(key, 2)
        dtype, default = _dtype(dtype), _default_bias_init(n_in)
        self.weight = (weight_init or default)(wkey, (n_out, n_in), dtype)
        self.bias = (bias_init or default)(bkey, (n_out,), dtype) if use_bias else None
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
    """A layer that returns its input unchanged (``layer(x, *, key=None) -> x``).

    Args:
      *args: ignored (as Equinox, so it can stand in for any layer).
      **kwargs: ignored.
    """

    def __init__(self, *args, **kwargs):
        pass

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


class Sequential(StatefulLayer):
    """Applies ``layers`` in order; a ``key`` is split among them (as Equinox).

    Called as ``seq(x, *, key=None)``, or ``seq(x, state, *, key=None) -> (y, state)`` when
    a layer is stateful (:class:`BatchNorm`, or any ``StatefulLayer``): the state is passed
    through those layers. Indexing (``seq[i]``) gives a layer, slicing a new ``Sequential``.

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

    def is_stateful(self) -> bool:
        """Whether any layer takes and returns a state.

        Returns:
          True if some layer is a stateful ``StatefulLayer``.
        """
        return any(isinstance(x, StatefulLayer) and x.is_stateful() for x in self.layers)

    def __call__(self, x, state=_NO_STATE, *, key=None):
        for layer, k in zip(self.layers, _split(key, len(self.layers))):
            if isinstance(layer, StatefulLayer) and layer.is_stateful():
                x, state = layer(x, state=state, key=k)
            else:
                x = layer(x, key=k)
        return x if state is _NO_STATE else (x, state)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(self.layers[i])
        if isinstance(i, int):
            return self.layers[i]
        raise TypeError(f"Indexing with type {type(i)} is not supported")

    def __iter__(self):
        yield from self.layers

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
      dtype: the parameters' dtype (default float32).
      scan: Equinox's stacked hidden layers; only ``False`` (``True`` raises
        ``NotImplementedError``).
      key: the PRNG key the parameters are drawn with (keyword-only, required): split into
        ``depth + 1`` keys, one per :class:`Linear` (as Equinox).
      dropout_p: dropout probability after each hidden activation (0: no dropout layer; a
        funcgrad extension, keyword-only).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> mlp = fg.nn.MLP(64, 10, width_size=32, depth=2, key=fg.random.key(0))
    >>> mlp(fnp.zeros(64)).shape, fg.nn.count_params(mlp)
    ((10,), 3466)
    """

    layers: tuple
    activation: Callable = static_field()
    final_activation: Callable = static_field()
    dropout: Any = None
    use_bias: bool = static_field(default=True)
    use_final_bias: bool = static_field(default=True)
    in_size: Any = static_field(default=None)
    out_size: Any = static_field(default=None)
    width_size: int = static_field(default=0)
    depth: int = static_field(default=0)

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
        dtype=None,
        *,
        scan: bool = False,
        key,
        dropout_p: float = 0.0,
    ):
        if scan:
            raise NotImplementedError("MLP(scan=True): the hidden layers are a tuple here")
        sizes = [in_size] + [width_size] * depth + [out_size]
        keys = fr.split(key, depth + 1)
        self.layers = tuple(
            Linear(a, b, use_bias if i < depth else use_final_bias, dtype, key=keys[i])
            for i, (a, b) in enumerate(itertools.pairwise(sizes))
        )
        self.activation, self.final_activation = activation, final_activation
        self.dropout = Dropout(dropout_p) if dropout_p else None
        self.use_bias, self.use_final_bias = use_bias, use_final_bias
        self.in_size, self.out_size, self.width_size, self.depth = (
            in_size,
            out_size,
            width_size,
            depth,
        )

    def __call__(self, x, *, key=None):
        keys = _split(key, len(self.layers))
        for layer, k in zip(self.layers[:-1], keys):
            x = self.activation(layer(x))
            if self.dropout is not None:
                x = self.dropout(x, key=k)
        return self.final_activation(self.layers[-1](x))


class Dropout(Module):
    """Zeroes each element with probability ``p`` and scales the rest by ``1/(1-p)``.

    As Equinox: called as ``drop(x, *, key=None, inference=None)``; needs an explicit
    ``key`` in training (else ``RuntimeError``); it is the identity when ``inference`` is
    True (see ``fg.nn.inference_mode``), when called with ``inference=True`` or when
    ``p == 0``. The mask is ``bernoulli(key, 1 - p, x.shape)``.

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
            raise RuntimeError(
                "Dropout requires a key when running in non-deterministic mode: "
                "dropout(x, key=key). For evaluation use fg.nn.inference_mode(model)."
            )
        q = 1.0 - self.p
        keep = fr.bernoulli(key, q, fnp.shape(x))
        return fnp.where(keep, x / q, fnp.zeros_like(x)) if q > 0 else fnp.zeros_like(x)


class Embedding(Module):
    """A lookup table: one integer index -> one row of ``weight`` (as Equinox).

    Called as ``emb(x, *, key=None)`` with a SCALAR integer index (else ``ValueError``; use
    ``fg.vmap(emb)(indices)`` for many, and a non-integer raises ``TypeError``). The lookup is
    ``weight[x]``: as in JAX an out-of-range index is clamped to the last row and a negative
    one counts from the end.

    Args:
      num_embeddings: the number of rows (optional when ``weight`` is given).
      embedding_size: the length of each row (optional when ``weight`` is given).
      weight: the table itself, ``(num_embeddings, embedding_size)``, instead of drawing it.
      dtype: the table's dtype (default float32).
      key: the PRNG key the table is drawn with, ``normal(key, shape)`` (keyword-only;
        required without ``weight``).

    Raises:
      ValueError: if neither ``weight`` nor the sizes and ``key`` are given, or the sizes
        are negative or disagree with ``weight``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> emb = fg.nn.Embedding(10, 4, key=fg.random.key(0))
    >>> fg.vmap(emb)(fnp.array([1, 2, 3])).shape
    (3, 4)
    """

    num_embeddings: int = static_field()
    embedding_size: int = static_field()
    weight: Any

    def __init__(
        self, num_embeddings=None, embedding_size=None, weight=None, dtype=None, *, key=None
    ):
        if weight is None:
            if num_embeddings is None or embedding_size is None or key is None:
                raise ValueError(
                    "Must provide `fg.nn.Embedding(num_embeddings=..., embedding_size=..., "
                    "key=...)` if not providing the weight directly."
                )
            if num_embeddings < 0 or embedding_size < 0:
                raise ValueError("num_embeddings and embedding_size must not be negative.")
            weight = fr.normal(key, (num_embeddings, embedding_size), _dtype(dtype))
        elif fnp.ndim(weight) != 2 or (
            (num_embeddings, embedding_size) != (None, None)
            and tuple(fnp.shape(weight)) != (num_embeddings, embedding_size)
        ):
            raise ValueError("weight must have shape (num_embeddings, embedding_size).")
        self.weight = weight
        self.num_embeddings, self.embedding_size = (int(n) for n in fnp.shape(weight))

    def __call__(self, x, *, key=None):
        x = fnp.asarray(x)
        if fnp.ndim(x) != 0:
            raise ValueError(
                "`fg.nn.Embedding()(x)` should be called with a scalar index `x`. Use "
                "`fg.vmap` if you would like to index with multiple values."
            )
        if np.dtype(get_aval(x).dtype).kind not in "iu":
            raise TypeError(f"Embedding takes integer indices, got dtype {get_aval(x).dtype}")
        return self.weight[x]
