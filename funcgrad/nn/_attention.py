"""Attention: ``jax.nn.dot_product_attention`` (batched ``(B, T, N, H)`` layout, as JAX) and
Equinox's ``MultiheadAttention`` (one sequence ``(length, features)``; batch with ``fg.vmap``)."""

from __future__ import annotations

import math

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import random as fr
from funcgrad._src.nn_functions import softmax
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


# ---- jax.nn.dot_product_attention ---------------------------------------------------------------


def _ensure_4d(t):
    t = fnp.asarray(t)
    return fnp.expand_dims(t, tuple(range(4 - t.ndim))) if t.ndim < 4 else t


def _check(t, shape, dtype, name):
    """JAX's checks (and messages) of an argument's rank, dtype and fixed sizes."""
    if t is None:
        return
    if t.ndim != len(shape):
        raise ValueError(f"{name} ndim should be {len(shape)}, but got {t.ndim}")
    if dtype is not None and t.dtype != dtype:
        raise ValueError(f"{name} dtype should be {dtype}, but got {t.dtype}")
    if any(want != -1 and got != want for got, want in zip(t.shape, shape)):
        raise ValueError(f"{name} shape should be {list(shape)}: but got {tuple(t.shape)}")


def _window_mask(t, s, window):
    q, k = np.arange(t)[:, None], np.arange(s)[None, :]
    left, right = window
    return fnp.asarray((q <= k + left) & (q >= k - right))


def _padding_mask(t, s, q_len, kv_len):
    mask = fnp.ones((1, t, s), dtype=bool)
    if q_len is not None:
        mask = mask & (fnp.arange(t)[None, :, None] < q_len[:, None, None])
    if kv_len is not None:
        mask = mask & (fnp.arange(s)[None, None, :] < kv_len[:, None, None])
    return mask[:, None, None]  # (B, 1, 1, T, S): broadcasts over (K, G)


def _combined_mask(t, s, mask, is_causal, q_len, kv_len, window):
    """The conjunction of every mask given (None when there is none), over ``(T, S)``."""
    parts = [] if mask is None else [mask]
    if is_causal:
        parts.append(make_causal_mask(t, s))
    if window is not None:
        parts.append(_window_mask(t, s, window))
    if q_len is not None or kv_len is not None:
        parts.append(_padding_mask(t, s, q_len, kv_len))
    out = None
    for p in parts:
        out = p if out is None else fnp.logical_and(out, p)
    return out


def _grouped(t, n, k):
    """A ``(b, n|1, T, S)`` bias or mask as ``(b, K|1, G|1, T, S)`` for grouped heads."""
    if t is None:
        return None
    tb, tn, tt, ts = t.shape
    if tn == 1:
        return t[:, :, None]
    if tn != n:
        raise ValueError(f"bias/mask has {tn} heads; expected 1 or the query's {n}")
    return fnp.reshape(t, (tb, k, n // k, tt, ts))


def _large_negative(dtype):
    big = min(float(fnp.finfo(dtype).max), float(np.finfo(np.float32).max))
    return fnp.asarray(-0.7 * big, dtype)


def _attend(q, k, v, bias, mask, is_causal, scale, q_len, kv_len, window):
    """Grouped-head attention on ``q (B,T,K,G,H)``, ``k, v (B,S,K,H)`` -> ``(B,T,K,G,H)``."""
    logits_dtype = fnp.promote_types(q.dtype, np.float32)
    logits = fnp.einsum("btkgh,bskh->bkgts", q, k).astype(logits_dtype)
    logits = logits * fnp.asarray(scale, logits_dtype)
    if bias is not None:
        logits = (logits + bias).astype(logits_dtype)
    t, s = logits.shape[-2:]
    m = _combined_mask(t, s, mask, is_causal, q_len, kv_len, window)
    if m is not None:
        logits = fnp.where(m, logits, _large_negative(logits_dtype))
    probs = softmax(logits.astype(np.float32), axis=-1).astype(k.dtype)
    out = fnp.einsum("bkgts,bskh->btkgh", probs, v)
    if q_len is not None:
        keep = fnp.arange(t)[None, :] < q_len[:, None]
        out = out * keep[:, :, None, None, None].astype(out.dtype)
    return out


def _seq_lengths(x, b, name):
    if x is None:
        return None
    x = fnp.asarray(x)
    _check(x, [b], np.dtype("int32"), name)
    return x


def dot_product_attention(
    query,
    key,
    value,
    bias=None,
    mask=None,
    *,
    scale: float | None = None,
    is_causal: bool = False,
    query_seq_lengths=None,
    key_value_seq_lengths=None,
    local_window_size: int | tuple | None = None,
    implementation: str | None = None,
):
    """Scaled dot-product attention, as ``jax.nn.dot_product_attention``.

    ``softmax(scale * q k^T + bias, masked) v`` per head, with JAX's layout: ``query`` is
    ``(B, T, N, H)`` or ``(T, N, H)``, ``key`` and ``value`` are ``(B, S, K, H)`` or
    ``(S, K, H)`` with ``K`` dividing ``N`` (grouped-query attention: query head ``n`` uses
    key/value head ``n // (N // K)``). Fewer dimensions are padded with leading ones, as JAX
    does (so a 2-d ``(T, d)`` input is read as ``T`` heads of one position). Masked-out
    logits become a large negative number (JAX's ``-0.7 * finfo.max``), so a fully masked
    row attends uniformly; padded query positions (``query_seq_lengths``) give zeros.

    Args:
      query: queries ``(B, T, N, H)`` or ``(T, N, H)``.
      key: keys ``(B, S, K, H)`` or ``(S, K, H)``.
      value: values of ``key``'s shape.
      bias: added to the logits; broadcastable to ``(B, N, T, S)`` (rank up to 4).
      mask: booleans broadcastable to ``(B, N, T, S)``, True where a query may attend.
      scale: the logits' scale (default ``1 / sqrt(H)``).
      is_causal: add a causal (lower-triangular) mask.
      query_seq_lengths: ``int32 (B,)``, the valid length of each query sequence.
      key_value_seq_lengths: ``int32 (B,)``, the valid length of each key sequence.
      local_window_size: ``w`` or ``(left, right)``: query ``i`` sees keys
        ``i - left .. i + right`` only.
      implementation: ``None`` or ``"xla"`` (both the one implementation here); JAX's
        ``"cudnn"`` raises ``NotImplementedError``.

    Returns:
      The attended values, with ``query``'s shape.

    Raises:
      ValueError: for shapes or dtypes JAX rejects (a non-bool mask, mismatched key and
        value, a query head count not a multiple of the key heads, ...).

    >>> import funcgrad.numpy as fnp
    >>> q = fnp.ones((2, 5, 4, 8))
    >>> kv = fnp.ones((2, 7, 2, 8))   # 2 key/value heads shared by 4 query heads
    >>> dot_product_attention(q, kv, kv, is_causal=False).shape
    (2, 5, 4, 8)
    """
    if implementation not in (None, "xla"):
        if implementation == "cudnn":
            raise NotImplementedError("dot_product_attention: implementation='cudnn'")
        raise ValueError(f"Unsupported implementation option: {implementation}")
    out_shape = fnp.shape(query)
    q, k, v = _ensure_4d(query), _ensure_4d(key), _ensure_4d(value)
    bias = None if bias is None else _ensure_4d(bias)
    mask = None if mask is None else _ensure_4d(mask)
    b, s, nk, h = k.shape
    _check(v, [b, s, nk, h], k.dtype, "value")
    _check(q, [b, -1, -1, h], k.dtype, "query")
    _check(mask, [-1] * 4, np.dtype(bool), "mask")
    _check(bias, [-1] * 4, None, "bias")
    q_len = _seq_lengths(query_seq_lengths, b, "query_seq_lengths")
    kv_len = _seq_lengths(key_value_seq_lengths, b, "key_value_seq_lengths")
    n = q.shape[2]
    if n % nk:
        raise ValueError(
            f"The number of query heads must be a multiple of key/value heads, but got {n} vs {nk}"
        )
    if isinstance(local_window_size, int):
        local_window_size = (local_window_size, local_window_size)
    scale = 1.0 / math.sqrt(h) if scale is None else scale
    qg = fnp.reshape(q, (b, q.shape[1], nk, n // nk, h))
    out = _attend(
        qg,
        k,
        v,
        _grouped(bias, n, nk),
        _grouped(mask, n, nk),
        is_causal,
        scale,
        q_len,
        kv_len,
        local_window_size,
    )
    return fnp.reshape(out, out_shape)


# ---- Equinox's MultiheadAttention ---------------------------------------------------------------


def _attention_weights(q, k, mask):
    """Equinox's weights of one head: masked logits are ``finfo.min``; softmax in float32."""
    logits = fnp.einsum("sd,Sd->sS", q / math.sqrt(q.shape[-1]), k)
    if mask is not None:
        if tuple(mask.shape) != tuple(logits.shape):
            raise ValueError(
                f"mask must have shape (query_seq_length, kv_seq_length)=({q.shape[0]}, "
                f"{k.shape[0]}). Got {tuple(mask.shape)}."
            )
        logits = fnp.where(mask, logits, fnp.finfo(logits.dtype).min)
    dtype = fnp.promote_types(logits.dtype, np.float32)
    return softmax(logits.astype(dtype)).astype(logits.dtype)


def _rows(linear, x):
    """``linear`` applied to each row of ``x`` (one matmul instead of a vmap)."""
    y = x @ linear.weight.T
    return y if linear.bias is None else y + linear.bias


def _check_sequence(x, what):
    if fnp.ndim(x) != 2:
        raise ValueError(
            f"MultiheadAttention takes one sequence (length, features) as {what}, got "
            f"shape {tuple(fnp.shape(x))}; for a batch use fg.vmap."
        )


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al. 2017) on one sequence, as ``equinox.nn``.

    Called as ``mha(query, key_, value, mask=None, *, key=None, inference=None,
    process_heads=None)`` with ``query (Lq, query_size)``, ``key_ (Lk, key_size)``, ``value
    (Lk, value_size)``; ``mask`` is ``(Lq, Lk)`` or ``(num_heads, Lq, Lk)`` booleans (True =
    attend; masked logits become ``finfo.min``); ``key`` drives the dropout of the attention
    weights (split into one key per head, as Equinox); ``process_heads(q, k, v)`` may
    transform the ``(seq, num_heads, size)`` heads (e.g. rotary embeddings) without changing
    their shapes. Returns ``(Lq, output_size)``. ``causal=True`` (a funcgrad extension) adds
    a causal mask. The projections are Equinox's :class:`Linear` layers, drawn from
    ``split(key, 4)``.

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
      inference: whether the dropout is off (see :func:`inference_mode`).
      dtype: the parameters' dtype (default float32).
      key: the PRNG key the projections are drawn with (keyword-only, required).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> mha = fg.nn.MultiheadAttention(num_heads=2, query_size=8, key=fg.random.key(0))
    >>> x = fnp.ones((5, 8))
    >>> mha(x, x, x, mask=fg.nn.make_causal_mask(5)).shape
    (5, 8)
    """

    query_proj: Linear
    key_proj: Linear
    value_proj: Linear
    output_proj: Linear
    dropout: Dropout
    num_heads: int = static_field()
    query_size: int = static_field()
    key_size: int = static_field()
    value_size: int = static_field()
    output_size: int = static_field()
    qk_size: int = static_field()
    vo_size: int = static_field()
    use_query_bias: bool = static_field()
    use_key_bias: bool = static_field()
    use_value_bias: bool = static_field()
    use_output_bias: bool = static_field()

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
        inference: bool = False,
        dtype=None,
        *,
        key,
    ):
        ks, vs = query_size if key_size is None else key_size, value_size
        vs = query_size if vs is None else vs
        qk = query_size // num_heads if qk_size is None else qk_size
        vo = query_size // num_heads if vo_size is None else vo_size
        out = query_size if output_size is None else output_size
        kq, kk, kv, ko = fr.split(key, 4)
        h = num_heads
        self.query_proj = Linear(query_size, h * qk, use_query_bias, dtype, key=kq)
        self.key_proj = Linear(ks, h * qk, use_key_bias, dtype, key=kk)
        self.value_proj = Linear(vs, h * vo, use_value_bias, dtype, key=kv)
        self.output_proj = Linear(h * vo, out, use_output_bias, dtype, key=ko)
        self.dropout = Dropout(dropout_p, inference=inference)
        self.num_heads, self.query_size, self.key_size = num_heads, query_size, ks
        self.value_size, self.output_size, self.qk_size, self.vo_size = vs, out, qk, vo
        self.use_query_bias, self.use_key_bias = use_query_bias, use_key_bias
        self.use_value_bias, self.use_output_bias = use_value_bias, use_output_bias

    def _project(self, proj, x, what):
        _check_sequence(x, what)
        return fnp.reshape(_rows(proj, x), (fnp.shape(x)[0], self.num_heads, -1))

    def _heads(self, query, key_, value, process_heads):
        if fnp.shape(key_)[0] != fnp.shape(value)[0]:
            raise ValueError("key and value must both be sequences of equal length.")
        q = self._project(self.query_proj, query, "query")
        k = self._project(self.key_proj, key_, "key_")
        v = self._project(self.value_proj, value, "value")
        if process_heads is None:
            return q, k, v
        shapes = (q.shape, k.shape, v.shape)
        q, k, v = process_heads(q, k, v)
        if (q.shape, k.shape, v.shape) != shapes:
            raise ValueError("process_heads must not change the shape of the heads.")
        return q, k, v

    def __call__(
        self,
        query,
        key_,
        value,
        mask=None,
        *,
        key=None,
        inference: bool | None = None,
        process_heads=None,
        causal: bool = False,
    ):
        q, k, v = self._heads(query, key_, value, process_heads)
        if causal:
            cm = make_causal_mask(q.shape[0], k.shape[0])
            mask = cm if mask is None else fnp.logical_and(mask, cm)
        keys = [None] * self.num_heads if key is None else list(fr.split(key, self.num_heads))
        outs = []
        for i in range(self.num_heads):
            m = mask if mask is None or fnp.ndim(mask) != 3 else mask[i]
            w = _attention_weights(q[:, i], k[:, i], m)
            w = self.dropout(w, key=keys[i], inference=inference)
            outs.append(w @ v[:, i])
        attn = fnp.reshape(fnp.stack(outs, axis=1), (q.shape[0], -1))
        return _rows(self.output_proj, attn)
