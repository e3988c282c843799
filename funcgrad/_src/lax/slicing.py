"""Slicing primitives: slice, pad, concatenate, dynamic slice/update, and the ``*_in_dim``
conveniences built on them (the shape primitives they use are in ``structural.py``)."""

from __future__ import annotations

import builtins
import operator

from funcgrad._src.lax.common import (
    Primitive,
    ShapedArray,
    abstract_eval_rules,
    ad,
    as_operand,
    batching,
    dtypes,
    get_aval,
    impl_rules,
    np,
    weak_type_rules,
)
from funcgrad._src.lax.elementwise import convert_element_type, select_n_p
from funcgrad._src.lax.structural import _ints, broadcast_in_dim, full, squeeze, zeros

# ---- slice -------------------------------------------------------------------------------------

slice_p = Primitive("slice")


def _slice_impl(x, start_indices, limit_indices, strides):
    idx = tuple(builtins.slice(s, e, st) for s, e, st in zip(start_indices, limit_indices, strides))
    return x[idx]


def _slice_abstract(x, start_indices, limit_indices, strides):
    if len(start_indices) != x.ndim or any(
        not 0 <= s <= e <= n for s, e, n in zip(start_indices, limit_indices, x.shape)
    ):
        raise TypeError(
            f"slice: start {start_indices} / limit {limit_indices} out of range for {x.str_short()}"
        )
    shape = tuple((e - s + st - 1) // st for s, e, st in zip(start_indices, limit_indices, strides))
    return ShapedArray(shape, x.dtype, x.weak_type)


impl_rules[slice_p] = _slice_impl
abstract_eval_rules[slice_p] = _slice_abstract


def slice(x, start_indices, limit_indices, strides=None):
    """The static strided slice ``x[start:limit:stride, ...]``, as ``jax.lax.slice``.

    Args:
      x: an array.
      start_indices: one static start per axis, with ``0 <= start <= limit``.
      limit_indices: one static (exclusive) limit per axis, at most the axis size.
      strides: one static positive stride per axis (default all 1).

    Returns:
      An array of ``x``'s dtype and shape ``ceil((limit - start) / stride)`` per axis.

    Raises:
      TypeError: if the bounds are out of range (checked when traced, e.g. under ``jit``;
        an eager call on negative starts follows numpy).
    """
    x = as_operand(x)
    start, limit = _ints(start_indices), _ints(limit_indices)
    strides = _ints(strides) if strides is not None else (1,) * len(start)
    if start == (0,) * len(start) and limit == get_aval(x).shape and set(strides) <= {1}:
        return x
    return slice_p.bind(x, start_indices=start, limit_indices=limit, strides=strides)


def slice_in_dim(x, start, limit, stride=1, axis=0):
    """``slice`` along one axis: ``x[..., start:limit:stride, ...]`` on ``axis``.

    Args:
      x: an array.
      start: the static start, ``0 <= start <= limit``.
      limit: the static (exclusive) limit, at most the size of ``axis``.
      stride: the static positive stride.
      axis: the static axis (negative counts from the end).

    Returns:
      An array of ``x``'s dtype, shortened along ``axis``.

    Raises:
      TypeError: as :func:`slice`.
    """
    shape = get_aval(as_operand(x)).shape
    s, e, st = [0] * len(shape), list(shape), [1] * len(shape)
    s[axis], e[axis], st[axis] = start, limit, stride
    return slice(x, s, e, st)


def _slice_transpose(ct, x, start_indices, limit_indices, strides):
    shape = get_aval(x).shape
    out_shape = get_aval(ct).shape
    cfg = []
    for s, n, o, st in zip(start_indices, shape, out_shape, strides):
        real_limit = s + (o - 1) * st + 1 if o else s
        cfg.append((s, n - real_limit, st - 1 if o else 0))
    if any(o == 0 for o in out_shape):
        return [zeros(shape, get_aval(ct).dtype)]
    return [pad(ct, zeros((), get_aval(ct).dtype), cfg)]


def _slice_batch(vals, dims, axis_size, start_indices, limit_indices, strides):
    d = dims[0]
    x = vals[0]
    n = get_aval(x).shape[d]
    return slice(
        x,
        start_indices[:d] + (0,) + start_indices[d:],
        limit_indices[:d] + (n,) + limit_indices[d:],
        strides[:d] + (1,) + strides[d:],
    ), d


ad.deflinear(slice_p, _slice_transpose)
batching.vmap_rules[slice_p] = _slice_batch

# ---- pad ---------------------------------------------------------------------------------------

pad_p = Primitive("pad")


def _pad_impl(x, padval, padding_config):
    shape = [lo + hi + n + max(n - 1, 0) * it for (lo, hi, it), n in zip(padding_config, x.shape)]
    # interior + non-negative pads first, then crop negative ones
    full_shape = [
        max(lo, 0) + max(hi, 0) + n + max(n - 1, 0) * it
        for (lo, hi, it), n in zip(padding_config, x.shape)
    ]
    out = np.full(full_shape, padval, dtype=x.dtype)
    idx = tuple(
        np.s_[max(lo, 0) : max(lo, 0) + (n - 1) * (it + 1) + 1 : it + 1] if n else np.s_[0:0]
        for (lo, hi, it), n in zip(padding_config, x.shape)
    )
    out[idx] = x
    crop = tuple(
        np.s_[-min(lo, 0) : -min(lo, 0) + s] for (lo, hi, it), s in zip(padding_config, shape)
    )
    return out[crop]


def _pad_abstract(x, padval, padding_config):
    if padval.shape != () or padval.dtype != x.dtype:
        raise TypeError(
            f"pad: the padding value must be a scalar of dtype {x.dtype}, got {padval.str_short()}"
        )
    shape = tuple(
        lo + hi + n + max(n - 1, 0) * it for (lo, hi, it), n in zip(padding_config, x.shape)
    )
    if any(s < 0 for s in shape) or len(padding_config) != x.ndim:
        from funcgrad._src.core import ValueTypeError  # JAX: ValueError here

        raise ValueTypeError(f"pad: padding {padding_config} is invalid for {x.str_short()}")
    return ShapedArray(shape, x.dtype, x.weak_type)


impl_rules[pad_p] = _pad_impl
abstract_eval_rules[pad_p] = _pad_abstract


def pad(x, padding_value, padding_config):
    """Pad ``x`` with ``padding_value``, as ``jax.lax.pad``.

    Args:
      x: an array.
      padding_value: a scalar, converted to ``x``'s dtype.
      padding_config: one static ``(low, high, interior)`` triple per axis: ``low``/``high``
        elements before/after (negative values crop) and ``interior`` between neighbours.

    Returns:
      An array of ``x``'s dtype whose axis sizes are ``low + high + n + (n - 1) * interior``.

    Raises:
      TypeError: if ``padding_value`` is not a scalar, or the configuration does not fit
        ``x`` (one triple per axis, no negative size).
    """
    x = as_operand(x)
    padval = convert_element_type(as_operand(padding_value, get_aval(x).dtype), get_aval(x).dtype)
    cfg = tuple(_ints(c) for c in padding_config)
    return pad_p.bind(x, padval, padding_config=cfg)


def _pad_transpose(ct, x, padval, padding_config):
    unpadded = pad(
        ct, zeros((), get_aval(ct).dtype), tuple((-lo, -hi, 0) for lo, hi, _ in padding_config)
    )
    t_x = slice(
        unpadded,
        (0,) * len(padding_config),
        get_aval(unpadded).shape,
        tuple(it + 1 for _, _, it in padding_config),
    )
    t_pad = reduce_sum(ct, tuple(range(get_aval(ct).ndim))) - reduce_sum(
        t_x, tuple(range(get_aval(t_x).ndim))
    )
    return [t_x, t_pad]


def _pad_batch(vals, dims, axis_size, padding_config):
    x, padval = vals
    xd, pd = dims
    if pd is None:
        cfg = padding_config[:xd] + ((0, 0, 0),) + padding_config[xd:]
        return pad_p.bind(x, padval, padding_config=cfg), xd
    # a batched padding value: pad with zero, then select the value where nothing was copied
    x = batching.bdim_at_front(x, xd, axis_size)
    cfg = ((0, 0, 0),) + padding_config
    dt = get_aval(x).dtype
    padded = pad_p.bind(x, zeros((), dt), padding_config=cfg)
    inside = pad_p.bind(
        full(get_aval(x).shape, True, dtypes.bool_),
        full((), False, dtypes.bool_),
        padding_config=cfg,
    )
    shape = get_aval(padded).shape
    vals_b = broadcast_in_dim(batching.bdim_at_front(padval, pd, axis_size), shape, (0,))
    return select_n_p.bind(inside, vals_b, padded), 0


ad.deflinear(pad_p, _pad_transpose)
batching.vmap_rules[pad_p] = _pad_batch

# ---- concatenate ------------------------------------------------------------------------------

concatenate_p = Primitive("concatenate")
impl_rules[concatenate_p] = lambda *xs, dimension: np.concatenate(xs, dimension)


def _concat_abstract(*xs, dimension):
    x0 = xs[0]
    for x in xs:
        if (
            x.dtype != x0.dtype
            or x.ndim != x0.ndim
            or any(a != b for i, (a, b) in enumerate(zip(x.shape, x0.shape)) if i != dimension)
        ):
            shapes = ", ".join(a.str_short() for a in xs)
            raise TypeError(
                f"concatenate: operands must agree except along axis {dimension}, got {shapes}"
            )
    shape = list(x0.shape)
    shape[dimension] = sum(x.shape[dimension] for x in xs)
    return ShapedArray(tuple(shape), x0.dtype, all(x.weak_type for x in xs))


abstract_eval_rules[concatenate_p] = _concat_abstract


def concatenate(operands, dimension):
    """Join arrays along an existing axis, as ``jax.lax.concatenate``.

    Args:
      operands: a sequence of arrays of one dtype and rank, with equal sizes except along
        ``dimension``.
      dimension: the static, non-negative axis to join along.

    Returns:
      An array of the operands' dtype (the operand itself when there is one).

    Raises:
      TypeError: if the operands do not agree as above (their dtypes eagerly and under ``jit``
        alike; the shapes checked when traced, e.g. under ``jit``).
    """
    ops = [as_operand(x) for x in operands]
    if len(ops) == 1:
        return ops[0]
    dts = sorted({str(get_aval(x).dtype) for x in ops})
    if len(dts) > 1:  # an eager numpy concatenate would promote silently
        raise TypeError(
            f"lax.concatenate: the operands' dtypes differ ({', '.join(dts)}); convert them "
            "first, or use funcgrad.numpy.concatenate, which promotes"
        )
    return concatenate_p.bind(*ops, dimension=operator.index(dimension))


def _concat_transpose(ct, *xs, dimension):
    outs, start = [], 0
    for x in xs:
        n = get_aval(x).shape[dimension]
        outs.append(slice_in_dim(ct, start, start + n, axis=dimension))
        start += n
    return outs


def _concat_batch(vals, dims, axis_size, dimension):
    vals = [batching.bdim_at_front(v, d, axis_size) for v, d in zip(vals, dims)]
    return concatenate(vals, dimension + 1), 0


ad.jvp_rules[concatenate_p] = lambda p, t, dimension: (
    concatenate_p.bind(*p, dimension=dimension),
    concatenate_p.bind(*t, dimension=dimension),
)
ad.vjp_rules[concatenate_p] = lambda cts, p, out, dimension: _concat_transpose(
    cts[0], *p, dimension=dimension
)
batching.vmap_rules[concatenate_p] = _concat_batch


# ---- dynamic_slice / dynamic_update_slice ------------------------------------------------------

dynamic_slice_p = Primitive("dynamic_slice")


def _clamp_starts(starts, shape, sizes):
    return [int(np.clip(int(s), 0, n - k)) for s, n, k in zip(starts, shape, sizes)]


def _dyn_slice_impl(x, *starts, slice_sizes):
    st = _clamp_starts(starts, x.shape, slice_sizes)
    return x[tuple(np.s_[s : s + k] for s, k in zip(st, slice_sizes))]


def _check_starts(name, x, starts):
    if len(starts) != x.ndim or any(s.shape != () or s.dtype.kind not in "iu" for s in starts):
        raise TypeError(
            f"{name}: needs {x.ndim} scalar integer start indices for "
            f"{x.str_short()}, got {[s.str_short() for s in starts]}"
        )


def _dyn_slice_abstract(x, *starts, slice_sizes):
    _check_starts("dynamic_slice", x, starts)
    if any(not 0 <= k <= n for k, n in zip(slice_sizes, x.shape)):
        raise TypeError(f"dynamic_slice: slice sizes {slice_sizes} do not fit {x.str_short()}")
    return ShapedArray(slice_sizes, x.dtype, x.weak_type)


impl_rules[dynamic_slice_p] = _dyn_slice_impl
abstract_eval_rules[dynamic_slice_p] = _dyn_slice_abstract
weak_type_rules[dynamic_slice_p] = lambda w, **p: w[0]


def _starts(start_indices, shape):
    """int32 start indices; a negative one counts from the end of its dimension (as JAX's
    ``lax.dynamic_slice`` / ``dynamic_update_slice`` do), then the primitive clamps. No start
    wraps: a wide one is saturated in its own dtype first (:func:`normalize_index`)."""
    out = []
    for k, s in enumerate(start_indices):
        s = as_operand(s)
        if get_aval(s).dtype.kind in "iu":
            out.append(normalize_index(s, int(shape[k])))
        else:  # the abstract rule names the bad start
            out.append(s)
    return out


# ---- index arithmetic that never wraps -------------------------------------------------------


def _index_dtype(lo: int, hi: int):
    return dtypes.int32 if -(2**31) <= lo and hi < 2**31 else dtypes.int64


def saturate_index(s, lo: int, hi: int):
    """An integer array clamped to ``[lo, hi]`` in its own dtype (the bounds cut to what the
    dtype holds, so nothing overflows), then converted to int32 (int64 for bounds beyond
    int32): every value keeps its place relative to the range, whatever its dtype (uint64 and
    int64 limits included)."""
    from funcgrad._src.lax.elementwise import full_like, max, min

    info = np.iinfo(get_aval(s).dtype)
    if lo > info.min:
        s = max(s, full_like(s, builtins.min(lo, info.max)))
    if hi < info.max:
        s = min(s, full_like(s, builtins.max(hi, info.min)))
    return convert_element_type(s, _index_dtype(lo, hi))


def normalize_index(s, n: int):
    """Integer indices for an axis of size ``n`` as int32: a negative (signed) index counts
    from the end; out-of-range ones stay out of range (saturated to ``[-n - 1, n]`` in their
    own dtype first, so int8 -1 on an axis of 200 gives 199 and int64/uint64 limits never
    wrap into range)."""
    from funcgrad._src.lax.elementwise import add, full_like, lt, select

    signed = get_aval(s).dtype.kind == "i"
    s = saturate_index(s, -n - 1, n)
    if not signed:
        return s
    return select(lt(s, full_like(s, 0)), add(s, full_like(s, n)), s)


def wrap_index(s, n: int):
    """Integer indices taken modulo ``n`` (into ``[0, n)``), exact for every integer dtype,
    as int32 (numpy's ``take(mode="wrap")``)."""
    from funcgrad._src.lax.elementwise import add, full_like, rem

    if n > np.iinfo(get_aval(s).dtype).max:  # a narrow dtype: int32 holds all of it
        s = convert_element_type(s, dtypes.int32)
    r = convert_element_type(rem(s, full_like(s, n)), _index_dtype(-n, n))
    nn = full_like(r, n)
    return rem(add(r, nn), nn)


def dynamic_slice(x, start_indices, slice_sizes):
    """A slice of static size ``slice_sizes`` at traced ``start_indices``, as
    ``jax.lax.dynamic_slice``.

    A negative start counts from the end of its axis; then each start is clamped so that the
    slice fits (XLA's rule: never out of bounds, never an error).

    Args:
      x: an array.
      start_indices: one scalar integer (array or Python int) per axis of ``x``.
      slice_sizes: one static size per axis, ``0 <= size <= x.shape[axis]``.

    Returns:
      An array of shape ``slice_sizes`` and ``x``'s dtype.

    Raises:
      ValueError: (a ``ValueTypeError``, also a ``TypeError``) if the numbers of starts or
        sizes differ from ``x.ndim``.
      TypeError: if a size is negative or exceeds its axis.
    """
    x = as_operand(x)
    shape = get_aval(x).shape
    sizes = _ints(slice_sizes)
    if len(sizes) != len(shape) or len(start_indices) != len(shape):
        from funcgrad._src.core import ValueTypeError

        raise ValueTypeError(
            f"dynamic_slice: needs one start index and one slice size per "
            f"dimension of the operand of shape {shape}; got "
            f"{len(start_indices)} start indices and slice_sizes {sizes}"
        )
    if any(not 0 <= k <= n for k, n in zip(sizes, shape)):
        raise TypeError(
            f"dynamic_slice: slice_sizes must be non-negative and less than or "
            f"equal to the operand shape; got slice_sizes "
            f"{sizes} for operand shape {shape}"
        )
    return dynamic_slice_p.bind(x, *_starts(start_indices, shape), slice_sizes=sizes)


def _dyn_slice_jvp(primals, tangents, slice_sizes):
    x, *starts = primals
    return (
        dynamic_slice_p.bind(x, *starts, slice_sizes=slice_sizes),
        dynamic_slice_p.bind(tangents[0], *starts, slice_sizes=slice_sizes),
    )


def _dyn_slice_vjp(cts, primals, out, slice_sizes):
    x, *starts = primals
    z = zeros(get_aval(x).shape, get_aval(cts[0]).dtype)
    return [dynamic_update_slice_p.bind(z, cts[0], *starts)] + [None] * len(starts)


def _dyn_slice_batch(vals, dims, axis_size, slice_sizes):
    x, *starts = vals
    xd, *sd = dims
    if all(d is None for d in sd):
        sizes = _insert(slice_sizes, xd, get_aval(x).shape[xd])
        return dynamic_slice_p.bind(x, *_insert(starts, xd, _izero()), slice_sizes=sizes), xd
    from funcgrad._src.lax.indexing import batched_dynamic_slice

    return batched_dynamic_slice(x, xd, starts, sd, slice_sizes, axis_size), 0


def _insert(seq, i, v):
    seq = list(seq)
    seq.insert(i, v)
    return tuple(seq)


def _izero():
    return as_operand(np.int32(0))


ad.jvp_rules[dynamic_slice_p] = _dyn_slice_jvp
ad.vjp_rules[dynamic_slice_p] = _dyn_slice_vjp
batching.vmap_rules[dynamic_slice_p] = _dyn_slice_batch

dynamic_update_slice_p = Primitive("dynamic_update_slice")


def _dus_impl(x, update, *starts):
    st = _clamp_starts(starts, x.shape, update.shape)
    out = x.copy()
    out[tuple(np.s_[s : s + k] for s, k in zip(st, update.shape))] = update
    return out


def _dus_abstract(x, update, *starts):
    _check_starts("dynamic_update_slice", x, starts)
    if (
        update.dtype != x.dtype
        or update.ndim != x.ndim
        or any(u > n for u, n in zip(update.shape, x.shape))
    ):
        raise TypeError(
            f"dynamic_update_slice: update {update.str_short()} does not fit "
            f"operand {x.str_short()}"
        )
    return ShapedArray(x.shape, x.dtype, x.weak_type)


impl_rules[dynamic_update_slice_p] = _dus_impl
abstract_eval_rules[dynamic_update_slice_p] = _dus_abstract
weak_type_rules[dynamic_update_slice_p] = lambda w, **p: w[0]


def dynamic_update_slice(x, update, start_indices):
    """``x`` with ``update`` written at traced ``start_indices``, as
    ``jax.lax.dynamic_update_slice``.

    A negative start counts from the end of its axis; then each start is clamped so that the
    update fits.

    Args:
      x: an array.
      update: an array of ``x``'s rank and dtype (a weakly typed one, such as a Python
        scalar, is converted), no larger than ``x`` along any axis.
      start_indices: one scalar integer (array or Python int) per axis of ``x``.

    Returns:
      An array of the shape and dtype of ``x``.

    Raises:
      TypeError: if ``update``'s dtype differs from ``x``'s, or it does not fit ``x``.
    """
    x = as_operand(x)
    update = as_operand(update)
    xa, ua = get_aval(x), get_aval(update)
    if xa.dtype != ua.dtype and not ua.weak_type:
        raise TypeError(
            f"lax.dynamic_update_slice requires arguments to have the same "
            f"dtypes, got {xa.dtype.name}, {ua.dtype.name}: cast the update "
            f"with .astype({xa.dtype.name})"
        )
    update = convert_element_type(update, xa.dtype)
    return dynamic_update_slice_p.bind(x, update, *_starts(start_indices, xa.shape))


def _dus_jvp(primals, tangents):
    x, u, *starts = primals
    return (
        dynamic_update_slice_p.bind(x, u, *starts),
        dynamic_update_slice_p.bind(tangents[0], tangents[1], *starts),
    )


def _dus_vjp(cts, primals, out):
    x, u, *starts = primals
    ct = cts[0]
    ushape = get_aval(u).shape
    t_x = dynamic_update_slice_p.bind(ct, zeros(ushape, get_aval(ct).dtype), *starts)
    t_u = dynamic_slice_p.bind(ct, *starts, slice_sizes=ushape)
    return [t_x, t_u] + [None] * len(starts)


def _dus_batch(vals, dims, axis_size):
    x, u, *starts = vals
    xd, ud, *sd = dims
    if all(d is None for d in sd):
        x = batching.bdim_at_front(x, xd, axis_size)
        u = batching.bdim_at_front(u, ud, axis_size)
        return dynamic_update_slice_p.bind(x, u, _izero(), *starts), 0
    from funcgrad._src.lax.indexing import batched_dynamic_update_slice

    return batched_dynamic_update_slice(x, xd, u, ud, starts, sd, axis_size), 0


ad.jvp_rules[dynamic_update_slice_p] = _dus_jvp
ad.vjp_rules[dynamic_update_slice_p] = _dus_vjp
batching.vmap_rules[dynamic_update_slice_p] = _dus_batch


# ---- conveniences composed from the primitives above -------------------------------------------


def dynamic_slice_in_dim(operand, start_index, slice_size, axis=0):
    """``dynamic_slice`` along one axis (the other axes whole).

    Args:
      operand: an array.
      start_index: a scalar integer (traced or not); negative counts from the end, then the
        start is clamped so the slice fits.
      slice_size: the static size of the slice.
      axis: the static axis (negative counts from the end).

    Returns:
      An array of ``operand``'s dtype with size ``slice_size`` along ``axis``.

    Raises:
      TypeError: if ``slice_size`` exceeds the axis.
    """
    nd = get_aval(operand).ndim
    starts = [0] * nd
    starts[axis] = start_index
    sizes = list(get_aval(operand).shape)
    sizes[axis] = slice_size
    return dynamic_slice(operand, starts, sizes)


def dynamic_update_slice_in_dim(operand, update, start_index, axis):
    """``dynamic_update_slice`` along one axis: ``update`` starts at ``start_index`` on
    ``axis`` and at 0 on the other axes.

    Args:
      operand: an array.
      update: an array of ``operand``'s rank and dtype that fits in it.
      start_index: a scalar integer (traced or not); negative counts from the end, then the
        start is clamped so the update fits.
      axis: the static axis (negative counts from the end).

    Returns:
      An array of the shape and dtype of ``operand``.

    Raises:
      TypeError: as :func:`dynamic_update_slice`.
    """
    starts = [0] * get_aval(operand).ndim
    starts[axis] = start_index
    return dynamic_update_slice(operand, update, starts)


def dynamic_index_in_dim(operand, index, axis=0, keepdims=True):
    """The entry at a traced ``index`` along ``axis``, as ``jax.lax.dynamic_index_in_dim``.

    Args:
      operand: an array.
      index: a scalar integer (traced or not); negative counts from the end, then it is
        clamped into range.
      axis: the static axis (negative counts from the end).
      keepdims: keep ``axis`` with size 1 (the default) or remove it.

    Returns:
      An array of ``operand``'s dtype.
    """
    out = dynamic_slice_in_dim(operand, index, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


from funcgrad._src.lax.reductions import reduce_sum  # noqa: E402  (circular by design)
