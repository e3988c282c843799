"""Gather and scatter primitives (the engine behind integer-array indexing and ``.at``).

funcgrad's gather is simpler than XLA's: ``indices`` has shape ``batch + (k,)`` and selects
along the operand axes ``axes`` (k of them); the other operand axes are kept whole:

    out[b..., rest...] = operand[idx[b..., 0] on axes[0], ..., rest...]

Out-of-bounds indices follow ``mode``: "clip" (clamp, the default for reads, like JAX),
"fill" (reads give ``fill_value``) or "drop" (scatters ignore the update).
"""

from __future__ import annotations

from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
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
from funcgrad._src.lax.elementwise import (
    add,
    clamp_int,
    convert_element_type,
    eq,
    full_like,
    mul,
    select,
)

_MODES = ("clip", "fill", "drop", "promise_in_bounds")


def _default_fill(dtype):
    if dtype.kind in "fc":
        return np.nan
    if dtype.kind == "i":
        return np.iinfo(dtype).min
    if dtype.kind == "u":
        return np.iinfo(dtype).max
    return True


def _prep(operand, indices, axes, mode):
    """Move the indexed axes to the front and clamp the indices; return mask of valid ones."""
    op_t = np.moveaxis(operand, axes, tuple(range(len(axes))))
    sizes = np.array([operand.shape[a] for a in axes], dtype=np.int64).reshape(
        (1,) * (indices.ndim - 1) + (-1,)
    )
    if indices.dtype == np.uint64:  # above 2**63: out of bounds, not negative
        indices = np.minimum(indices, np.uint64(np.iinfo(np.int64).max))
    idx = indices.astype(np.int64)
    valid = np.all((idx >= 0) & (idx < sizes), axis=-1)
    idx = np.clip(idx, 0, np.maximum(sizes - 1, 0))
    return op_t, tuple(idx[..., j] for j in range(len(axes))), valid


def _gather_shape(op, idx, axes):
    rest = tuple(s for i, s in enumerate(op.shape) if i not in axes)
    return idx.shape[:-1] + rest


# ---- gather ------------------------------------------------------------------------------------

gather_p = Primitive("gather")


def _gather_impl(operand, indices, axes, mode, fill_value):
    op_t, idx, valid = _prep(operand, indices, axes, mode)
    if op_t.size == 0 and len(idx) and idx[0].size:
        out = np.zeros(_gather_shape(operand, indices, axes), operand.dtype)
        valid = np.zeros_like(valid)
    else:
        out = op_t[idx]
    if mode == "fill" and not valid.all():
        fv = _default_fill(operand.dtype) if fill_value is None else fill_value
        mask = valid.reshape(valid.shape + (1,) * (out.ndim - valid.ndim))
        out = np.where(mask, out, np.asarray(fv, dtype=operand.dtype))
    out = np.asarray(out)
    # (np.ascontiguousarray alone would turn a 0-d result into shape (1,))
    return np.ascontiguousarray(out).reshape(out.shape)


def _gather_abstract(operand, indices, axes, mode, fill_value):
    if indices.dtype.kind not in "iu" or indices.ndim < 1 or indices.shape[-1] != len(axes):
        raise TypeError(
            f"gather: indices must be integers of shape batch + ({len(axes)},), "
            f"got {indices.str_short()}"
        )
    if mode not in _MODES:
        raise ValueError(f"gather: mode must be one of {_MODES}, got {mode!r}")
    return ShapedArray(_gather_shape(operand, indices, axes), operand.dtype, operand.weak_type)


impl_rules[gather_p] = _gather_impl
abstract_eval_rules[gather_p] = _gather_abstract
weak_type_rules[gather_p] = lambda w, **p: w[0]


def gather(operand, indices, axes, mode="clip", fill_value=None):
    """Read ``operand`` at integer index tuples: funcgrad's gather (see the module docstring),
    not ``jax.lax.gather``'s ``GatherDimensionNumbers`` form.

    ``out[b..., rest...] = operand[indices[b..., 0] on axes[0], ..., rest...]``.

    Args:
      operand: an array.
      indices: an integer array of shape ``batch + (len(axes),)``.
      axes: the static, non-negative operand axes that ``indices`` select along.
      mode: out-of-bounds indices: ``"clip"`` (the default; also for None and
        ``"promise_in_bounds"``) clamps them into range (negative ones to 0); ``"fill"``
        reads ``fill_value``; ``"drop"`` acts as ``"clip"`` for reads.
      fill_value: the value read in ``"fill"`` mode (default NaN for floating dtypes, the
        minimum for signed, the maximum for unsigned integers, True for bool).

    Returns:
      An array of ``operand``'s dtype and shape ``batch`` + the shape of the operand axes
      not in ``axes``.

    Raises:
      TypeError: if ``indices`` is not an integer array of that shape.
      ValueError: for an unknown ``mode`` (checked when traced, e.g. under ``jit``).
    """
    indices = as_operand(indices)
    if get_aval(indices).dtype.kind not in "iu":
        raise TypeError(f"indices must be integers, got {get_aval(indices).dtype}")
    mode = "clip" if mode in (None, "promise_in_bounds") else mode
    return gather_p.bind(
        as_operand(operand), indices, axes=tuple(axes), mode=mode, fill_value=fill_value
    )


def _scatter_mode(mode):
    return "clip" if mode == "clip" else "drop"


def _gather_jvp(primals, tangents, axes, mode, fill_value):
    op, idx = primals
    out = gather_p.bind(op, idx, axes=axes, mode=mode, fill_value=fill_value)
    t = gather_p.bind(tangents[0], idx, axes=axes, mode=mode, fill_value=0)
    return out, t


def _gather_vjp(cts, primals, out, axes, mode, fill_value):
    op, idx = primals
    z = ls.zeros(get_aval(op).shape, get_aval(cts[0]).dtype)
    return [scatter_add_p.bind(z, idx, cts[0], axes=axes, mode=_scatter_mode(mode)), None]


def _with_batch_index(idx, size):
    """Prepend the batch position as an extra index column (idx has the batch dim first)."""
    shape = get_aval(idx).shape
    b = ls.broadcasted_iota(get_aval(idx).dtype, shape[:-1] + (1,), 0)
    return lsl.concatenate([b, idx], len(shape) - 1)


def _gather_batch(vals, dims, axis_size, axes, mode, fill_value):
    op, idx = vals
    od, id_ = dims
    if id_ is None:  # only the operand is batched: the batch axis is one more kept axis
        op = batching.bdim_at_front(op, od, axis_size)
        out = gather_p.bind(
            op, idx, axes=tuple(a + 1 for a in axes), mode=mode, fill_value=fill_value
        )
        nb = get_aval(idx).ndim - 1
        return out, nb
    op = batching.bdim_at_front(op, od, axis_size)
    idx = batching.bdim_at_front(idx, id_, axis_size)
    idx = _with_batch_index(idx, axis_size)
    return gather_p.bind(
        op, idx, axes=(0,) + tuple(a + 1 for a in axes), mode=mode, fill_value=fill_value
    ), 0


ad.jvp_rules[gather_p] = _gather_jvp
ad.vjp_rules[gather_p] = _gather_vjp
batching.vmap_rules[gather_p] = _gather_batch

# ---- scatter_add ---------------------------------------------------------------------------------

scatter_add_p = Primitive("scatter_add")


def _scatter_common(operand, indices, updates, axes, mode, ufunc):
    out = operand.copy()
    out_t, idx, valid = _prep(out, indices, axes, mode)
    if mode != "clip" and not valid.all():
        idx = tuple(i[valid] for i in idx)
        updates = updates[valid]
    if ufunc is None:
        out_t[idx] = updates
    else:
        ufunc.at(out_t, idx, updates)
    return out


def _scatter_abstract(operand, indices, updates, axes, mode, **kw):
    expect = _gather_shape(operand, indices, axes)
    if updates.shape != expect or updates.dtype != operand.dtype:
        raise TypeError(
            f"scatter: updates must be {operand.dtype.name}{list(expect)} for "
            f"operand {operand.str_short()} and indices {indices.str_short()}, got "
            f"{updates.str_short()}"
        )
    return ShapedArray(operand.shape, operand.dtype, operand.weak_type)


impl_rules[scatter_add_p] = lambda o, i, u, axes, mode: _scatter_common(o, i, u, axes, mode, np.add)
abstract_eval_rules[scatter_add_p] = _scatter_abstract
weak_type_rules[scatter_add_p] = lambda w, **p: w[0]


def scatter_add(operand, indices, updates, axes, mode="drop"):
    """``operand`` with ``updates`` added at integer index tuples (repeated indices
    accumulate): funcgrad's ``axes`` form of scatter, the inverse of :func:`gather`.

    Args:
      operand: an array.
      indices: an integer array of shape ``batch + (len(axes),)``.
      updates: an array of shape ``batch`` + the shape of the operand axes not in ``axes``;
        converted to ``operand``'s dtype.
      axes: the static, non-negative operand axes that ``indices`` select along.
      mode: out-of-bounds indices: ``"drop"`` (the default; also for None, ``"fill"`` and
        ``"promise_in_bounds"``) ignores their updates, ``"clip"`` clamps them into range.

    Returns:
      An array of the shape and dtype of ``operand``.

    Raises:
      TypeError: if ``updates`` does not have the shape above.
    """
    operand = as_operand(operand)
    updates = convert_element_type(as_operand(updates), get_aval(operand).dtype)
    mode = "drop" if mode in (None, "fill", "promise_in_bounds") else mode
    return scatter_add_p.bind(operand, as_operand(indices), updates, axes=tuple(axes), mode=mode)


def _scatter_add_jvp(primals, tangents, axes, mode):
    op, idx, upd = primals
    return (
        scatter_add_p.bind(op, idx, upd, axes=axes, mode=mode),
        scatter_add_p.bind(tangents[0], idx, tangents[2], axes=axes, mode=mode),
    )


def _gather_back(ct, idx, axes, mode):
    return gather_p.bind(
        ct, idx, axes=axes, mode="clip" if mode == "clip" else "fill", fill_value=0
    )


def _scatter_add_vjp(cts, primals, out, axes, mode):
    return [cts[0], None, _gather_back(cts[0], primals[1], axes, mode)]


def _scatter_batch_rule(prim):
    def rule(vals, dims, axis_size, axes, mode, **kw):
        op, idx, upd = vals
        od, id_, ud = dims
        op = batching.bdim_at_front(op, od, axis_size)
        upd = batching.bdim_at_front(upd, ud, axis_size)
        idx = batching.bdim_at_front(idx, id_, axis_size)
        idx = _with_batch_index(idx, axis_size)
        return prim.bind(op, idx, upd, axes=(0,) + tuple(a + 1 for a in axes), mode=mode, **kw), 0

    return rule


ad.jvp_rules[scatter_add_p] = _scatter_add_jvp
ad.vjp_rules[scatter_add_p] = _scatter_add_vjp
batching.vmap_rules[scatter_add_p] = _scatter_batch_rule(scatter_add_p)

# ---- scatter (set / mul / min / max) -------------------------------------------------------------

scatter_p = Primitive("scatter")
_COMBINE = {"set": None, "mul": np.multiply, "min": np.minimum, "max": np.maximum}
impl_rules[scatter_p] = lambda o, i, u, axes, mode, combine: _scatter_common(
    o, i, u, axes, mode, _COMBINE[combine]
)
abstract_eval_rules[scatter_p] = _scatter_abstract
weak_type_rules[scatter_p] = lambda w, **p: w[0]


def scatter(operand, indices, updates, axes, mode="drop", combine="set"):
    """``operand`` with ``updates`` combined in at integer index tuples (``axes`` form, as
    :func:`scatter_add`): ``combine`` is ``"set"`` (``jax.lax.scatter``; with repeated
    indices one update wins, unspecified which), ``"mul"``, ``"min"`` or ``"max"``.

    Args:
      operand: an array.
      indices: an integer array of shape ``batch + (len(axes),)``.
      updates: an array of shape ``batch`` + the shape of the operand axes not in ``axes``;
        converted to ``operand``'s dtype.
      axes: the static, non-negative operand axes that ``indices`` select along.
      mode: out-of-bounds indices: ``"drop"`` (the default; also for None, ``"fill"`` and
        ``"promise_in_bounds"``) ignores their updates, ``"clip"`` clamps them into range.
      combine: how an update meets the current value.

    Returns:
      An array of the shape and dtype of ``operand``.

    Raises:
      ValueError: for an unknown ``combine``.
      TypeError: if ``updates`` does not have the shape above.
    """
    if combine not in _COMBINE:
        raise ValueError(f"scatter: combine must be one of {list(_COMBINE)}, got {combine!r}")
    operand = as_operand(operand)
    updates = convert_element_type(as_operand(updates), get_aval(operand).dtype)
    mode = "drop" if mode in (None, "fill", "promise_in_bounds") else mode
    return scatter_p.bind(
        operand, as_operand(indices), updates, axes=tuple(axes), mode=mode, combine=combine
    )


def _scat(op, idx, upd, axes, mode, combine):
    return scatter_p.bind(op, idx, upd, axes=axes, mode=mode, combine=combine)


def _scatter_jvp(primals, tangents, axes, mode, combine):
    """Exact for unique indices (as in JAX; with duplicates the chosen update is arbitrary)."""
    op, idx, upd = primals
    t_op, _, t_upd = tangents
    out = _scat(op, idx, upd, axes, mode, combine)
    if combine == "set":
        return out, _scat(t_op, idx, t_upd, axes, mode, "set")
    if combine == "mul":
        g = gather_p.bind(op, idx, axes=axes, mode="clip", fill_value=None)
        t = scatter_add_p.bind(
            _scat(t_op, idx, upd, axes, mode, "mul"), idx, mul(g, t_upd), axes=axes, mode=mode
        )
        return out, t
    won = eq(gather_p.bind(out, idx, axes=axes, mode="clip", fill_value=None), upd)
    t_u = _scat(
        ls.zeros(get_aval(op).shape, get_aval(op).dtype),
        idx,
        select(won, t_upd, full_like(t_upd, 0)),
        axes,
        mode,
        "set",
    )
    return out, select(eq(out, op), t_op, t_u)


def _scatter_vjp(cts, primals, out, axes, mode, combine):
    op, idx, upd = primals
    ct = cts[0]
    if combine == "set":
        t_op = _scat(ct, idx, ls.zeros(get_aval(upd).shape, get_aval(ct).dtype), axes, mode, "set")
        return [t_op, None, _gather_back(ct, idx, axes, mode)]
    if combine == "mul":
        t_op = _scat(ct, idx, upd, axes, mode, "mul")
        return [t_op, None, _gather_back(mul(ct, op), idx, axes, mode)]
    kept = eq(out, op)
    won = eq(gather_p.bind(out, idx, axes=axes, mode="clip", fill_value=None), upd)
    t_op = select(kept, ct, full_like(ct, 0))
    t_u = select(won, _gather_back(ct, idx, axes, mode), full_like(upd, 0))
    return [t_op, None, t_u]


ad.jvp_rules[scatter_p] = _scatter_jvp
ad.vjp_rules[scatter_p] = _scatter_vjp
batching.vmap_rules[scatter_p] = _scatter_batch_rule(scatter_p)

# ---- helpers built on gather/scatter -------------------------------------------------------------


def full_indices(idx, shape, axis):
    """Index tuple for take_along_axis: ``idx`` on ``axis``, iotas on the other axes."""
    ishape = get_aval(idx).shape
    cols = []
    for d in range(len(shape)):
        col = idx if d == axis else ls.broadcasted_iota(get_aval(idx).dtype, ishape, d)
        cols.append(ls.expand_dims(col, (len(ishape),)))
    return lsl.concatenate(cols, len(ishape))


def take_along_axis(x, idx, axis, mode="clip", fill_value=None):
    x, idx = as_operand(x), as_operand(idx)
    shape = get_aval(x).shape
    return gather(x, full_indices(idx, shape, axis), tuple(range(len(shape))), mode, fill_value)


def _slice_index_grid(starts, sizes, shape, batch):
    """indices (B, *sizes, 1 + ndim): batch position, then start_j + iota_j per dim."""
    grid_shape = (batch,) + tuple(sizes)
    cols = [ls.broadcasted_iota(dtypes.int32, grid_shape, 0)]
    for j, (s, k, n) in enumerate(zip(starts, sizes, shape)):
        s = clamp_int(s, 0, n - k)
        s_b = ls.broadcast_in_dim(s, grid_shape, (0,) if get_aval(s).ndim else ())
        cols.append(add(s_b, ls.broadcasted_iota(dtypes.int32, grid_shape, j + 1)))
    nd = len(grid_shape)
    return lsl.concatenate([ls.expand_dims(c, (nd,)) for c in cols], nd)


def batched_dynamic_slice(x, xd, starts, sd, slice_sizes, axis_size):
    x = batching.bdim_at_front(x, xd, axis_size)
    starts = [
        batching.bdim_at_front(s, d, axis_size) if d is not None else s for s, d in zip(starts, sd)
    ]
    shape = get_aval(x).shape[1:]
    idx = _slice_index_grid(starts, slice_sizes, shape, axis_size)
    return gather_p.bind(x, idx, axes=tuple(range(len(shape) + 1)), mode="clip", fill_value=None)


def batched_dynamic_update_slice(x, xd, u, ud, starts, sd, axis_size):
    x = batching.bdim_at_front(x, xd, axis_size)
    u = batching.bdim_at_front(u, ud, axis_size)
    starts = [
        batching.bdim_at_front(s, d, axis_size) if d is not None else s for s, d in zip(starts, sd)
    ]
    shape = get_aval(x).shape[1:]
    idx = _slice_index_grid(starts, get_aval(u).shape[1:], shape, axis_size)
    return scatter_p.bind(x, idx, u, axes=tuple(range(len(shape) + 1)), mode="clip", combine="set")
