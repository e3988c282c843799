"""Multi-head attention on one sequence ``(length, features)`` (batch with ``fg.vmap``)."""

from __future__ import annotations

import math

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import random as fr
from funcgrad._src.api import stop_gradient
from funcgrad.nn._layers import Dropout, Linear
from funcgrad.nn._module import Module, static_field

__all__ = ["MultiheadAttention", "dot_product_attention", "make_causal_mask"]


def make_causal_mask(query_length: int, key_length: int | None = None):
    """Boolean ``(query_length, key_length)`` mask, True where query ``i`` may see key ``j <= i``.

    Args:
      query_length: the number of queries (rows).
      key_length: the number of keys (columns); default ``query_length``.

    Returns:
      A bool array of shape ``(query_length, key_length)``, lower-triangular.

    >>> make_causal_mask(3)
    Array([[ True, False, False],
           [ True,  True, False],
           [ True,  True,  True]], dtype=bool)
    """
    key_length = query_length if key_length is None else key_length
    return fnp.tril(fnp.ones((query_length, key_length), dtype=bool))


def _masked_softmax(logits, mask):
    """Softmax over the last axis; masked-out entries get probability 0 (and no NaN when a
    whole row is masked: that row is all zeros)."""
    if mask is not None:
        logits = fnp.where(mask, logits, fnp.full_like(logits, -np.inf))
    m = stop_gradient(fnp.max(logits, axis=-1, keepdims=True))
    m = fnp.where(fnp.isfinite(m), m, fnp.zeros_like(m))
    e = fnp.exp(logits - m)
    s = fnp.sum(e, axis=-1, keepdims=True)
    return e / fnp.where(s > 0, s, fnp.ones_like(s))


def dot_product_attention(query, key_, value, mask=None):
    """Scaled dot-product attention ``softmax(q k^T / sqrt(d)) v`` for one head.

    Masked-out keys get weight 0; a query whose keys are all masked gets a zero output (not
    NaN). Leading batch dimensions broadcast as in matmul.

    Args:
      query: queries of shape ``(Lq, d)``.
      key_: keys of shape ``(Lk, d)``.
      value: values of shape ``(Lk, dv)``.
      mask: optional booleans broadcastable to ``(Lq, Lk)``, True where a query may attend.

    Returns:
      The attended values, shape ``(Lq, dv)``.

    >>> import funcgrad.numpy as fnp
    >>> dot_product_attention(fnp.ones((2, 4)), fnp.ones((3, 4)), fnp.ones((3, 5))).shape
    (2, 5)
    """
    d = fnp.shape(query)[-1]
    logits = (query @ fnp.swapaxes(key_, -1, -2)) / math.sqrt(d)
    return _masked_softmax(logits, mask) @ value


def _rows(linear, x):
    """``linear`` applied to each row of ``x`` (one matmul instead of a vmap)."""
    y = x @ linear.weight.T
    return y if linear.bias is None else y + linear.bias


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al. 2017) on one sequence, Equinox's signature.

    Called as ``mha(query, key_, value, mask=None, *, causal=False, key=None,
    inference=None)`` with ``query (Lq, query_size)``, ``key_ (Lk, key_size)``, ``value (Lk,
    value_size)``; ``mask`` is ``(Lq, Lk)`` or ``(num_heads, Lq, Lk)`` booleans (True =
    attend); ``causal=True`` adds a causal mask; ``key`` drives the dropout of the attention
    weights. Returns ``(Lq, output_size)``; a input that is not 2-D raises ``ValueError``.
    Projections are :class:`Linear` layers (default init).

    Args:
      num_heads: the number of heads.
      query_size: the features of a query.
      key_size: the features of a key (default ``query_size``).
      value_size: the features of a value (default ``query_size``).
      output_size: the features of the output (default ``query_size``).
      qk_size: the per-head query/key size (default ``query_size // num_heads``).
      vo_size: the per-head value/output size (default ``query_size // num_heads``).
      use_query_bias: a bias in the query projection.
      use_key_bias: a bias in the key projection.
      use_value_bias: a bias in the value projection.
      use_output_bias: a bias in the output projection.
      dropout_p: dropout probability on the attention weights.
      key: the PRNG key the projections are drawn with (keyword-only, required).
      dtype: the parameters' dtype.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> mha = fg.nn.MultiheadAttention(num_heads=2, query_size=8, key=fg.random.key(0))
    >>> x = fnp.ones((5, 8))
    >>> mha(x, x, x, causal=True).shape
    (5, 8)
    """

    query_proj: Linear
    key_proj: Linear
    value_proj: Linear
    output_proj: Linear
    dropout: Dropout
    num_heads: int = static_field()
    qk_size: int = static_field()
    vo_size: int = static_field()

    def __init__(
        self,
        num_heads: int,
        query_size: int,
        key_size: int | None = None,
        value_size: int | None = None,
        output_size: int | None = None,
        qk_size: int | None = None,
        vo_size: int | None = None,
        use_query_bias: bool = False,
        use_key_bias: bool = False,
        use_value_bias: bool = False,
        use_output_bias: bool = False,
        dropout_p: float = 0.0,
        *,
        key,
        dtype=np.float32,
    ):
        key_size = key_size or query_size
        value_size = value_size or query_size
        output_size = output_size or query_size
        self.qk_size = qk_size or query_size // num_heads
        self.vo_size = vo_size or query_size // num_heads
        self.num_heads = num_heads
        kq, kk, kv, ko = fr.split(key, 4)
        h, qk, vo = num_heads, self.qk_size, self.vo_size
        self.query_proj = Linear(query_size, h * qk, use_query_bias, key=kq, dtype=dtype)
        self.key_proj = Linear(key_size, h * qk, use_key_bias, key=kk, dtype=dtype)
        self.value_proj = Linear(value_size, h * vo, use_value_bias, key=kv, dtype=dtype)
        self.output_proj = Linear(h * vo, output_size, use_output_bias, key=ko, dtype=dtype)
        self.dropout = Dropout(dropout_p)

    def _heads(self, proj, x, size):
        if fnp.ndim(x) != 2:
            raise ValueError(
                f"MultiheadAttention takes one sequence (length, features), got "
                f"shape {tuple(fnp.shape(x))}; for a batch use fg.vmap."
            )
        y = _rows(proj, x)
        return fnp.swapaxes(fnp.reshape(y, (fnp.shape(x)[0], self.num_heads, size)), 0, 1)

    def __call__(
        self,
        query,
        key_,
        value,
        mask=None,
        *,
        causal: bool = False,
        key=None,
        inference: bool | None = None,
    ):
        q = self._heads(self.query_proj, query, self.qk_size)  # (H, Lq, qk)
        k = self._heads(self.key_proj, key_, self.qk_size)  # (H, Lk, qk)
        v = self._heads(self.value_proj, value, self.vo_size)  # (H, Lk, vo)
        if causal:
            cm = make_causal_mask(fnp.shape(query)[0], fnp.shape(key_)[0])
            mask = cm if mask is None else fnp.logical_and(mask, cm)
        logits = q @ fnp.swapaxes(k, -1, -2) / math.sqrt(self.qk_size)
        weights = self.dropout(_masked_softmax(logits, mask), key=key, inference=inference)
        out = fnp.swapaxes(weights @ v, 0, 1)  # (Lq, H, vo)
        out = fnp.reshape(out, (fnp.shape(query)[0], self.num_heads * self.vo_size))
        return _rows(self.output_proj, out)
