"""CUDA op kernels for gather, scatter, scatter_add, dynamic_slice, dynamic_update_slice,
concatenate and pad (the numpy impls in ``funcgrad/_src/lax/indexing.py`` and
``lax/structural.py`` are the specification).

Every kernel is a grid-stride loop with one thread per element (shapes are static, so sizes and
strides are constants); each element's coordinates come from its flat position:

- ``gather``: one thread per output element loads its row of indices (uint64 compared
  unsigned: never a negative number), clamps each to the axis
  (``mode="fill"`` then selects the fill value where an index was out of range), and copies one
  operand element. An indexed axis of size 0 makes the output all zeros (or the fill value), as
  the numpy impl does; nothing is read.
- ``scatter`` / ``scatter_add``: a copy of the operand into the output, then one thread per
  update element. Indices are clamped (``mode="clip"``) or the update is dropped (any other
  mode), exactly as ``_scatter_common``. Collisions are resolved with atomics: ``atomicrmw
  add/fadd`` (float16/32/64 and ints; 8- and 16-bit ints become 32-bit CAS loops in LLVM, which
  stay inside the buffer's allocation: the caching allocator hands out 512-byte multiples),
  ``atomicrmw min/max`` for ints, and a compare-and-swap loop for float min/max and for mul
  (through the shared scalar rules, so NaN propagates as with ``np.minimum``); complex add is two
  float atomic adds, one per part (complex mul/min/max are refused). For bool, add/max
  is "or" and mul/min is "and": only one value can be written, so a plain store suffices.
  **Order**: float sums (and float products) of colliding updates are accumulated in whatever
  order the threads arrive, not numpy's sequential order, so they agree with the CPU to rounding
  only. ``scatter`` (set) with colliding indices stores one of the colliding updates,
  unspecified which (numpy: the last one).
- ``dynamic_slice`` / ``dynamic_update_slice``: the start indices (buffers or literals) are
  clamped once per thread to ``[0, n - size]`` as ``_clamp_starts`` does (a uint64 start above
  2**63 is a big number, not a negative one); the update is one kernel over the output that
  picks the update or the operand element.
- ``concatenate``: one kernel with one grid-stride loop per operand, each copying into its slab.
- ``pad``: negative padding, interior padding; each output element maps back to an input
  element or takes the padding value.

Refused in ``check`` (the equation stays a numpy Fallback): gather/scatter with no indexed axes,
repeated or negative axes (numpy's ``moveaxis`` decides those), a fill value numpy cannot cast
to the operand dtype, and a ``clip`` scatter into an axis of size 0 with non-empty indices
(numpy raises ``IndexError``). The helpers of the first section are shared with ``conv.py``.
"""

from __future__ import annotations

import numpy as np
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.llvm import scalar as S
from llvmlite import ir

from ..ptx import i1, i32, i64
from . import register
from .kernel import Kernel, index_type, is_literal

# ---- shared helpers ------------------------------------------------------------------------------


def prod(xs) -> int:
    return int(np.prod(list(xs), dtype=np.int64))


contiguous_strides = K.contiguous_strides


def unravel(b: ir.IRBuilder, flat: ir.Value, shape) -> list:
    """Row-major coordinates of position ``flat`` (``< prod(shape)``) in ``shape``."""
    ty, coords, inner = flat.type, [], 1
    for d in reversed(range(len(shape))):
        if shape[d] == 1:
            v = ty(0)
        else:
            v = b.udiv(flat, ty(inner)) if inner > 1 else flat
            if any(s != 1 for s in shape[:d]):
                v = b.urem(v, ty(max(shape[d], 1)))  # (size 0: the loop never runs)
        coords.append(v)
        inner *= max(shape[d], 1)
    return coords[::-1]


def dot_offset(b: ir.IRBuilder, coords, strides, ty) -> ir.Value:
    """``sum(coords[d] * strides[d])``."""
    total = ty(0)
    for v, s in zip(coords, strides):
        if s and not (isinstance(v, ir.Constant) and v.constant == 0):
            total = b.add(total, v if s == 1 else b.mul(v, ty(s)))
    return total


def all_of(b: ir.IRBuilder, preds) -> ir.Value:
    out = i1(1)
    for p in preds:
        out = b.and_(out, p)
    return out


def dilated_coord(b: ir.IRBuilder, t: ir.Value, n: int, step: int) -> tuple:
    """Position ``t`` (signed) on an axis holding ``n`` elements ``step`` apart from 0 on (the
    interior-padded/dilated axis of pad and conv): ``(hit, element index)``; the index is 0 when
    ``hit`` is false, so it can always be used in an address."""
    span = (n - 1) * step + 1 if n else 0
    hit = b.icmp_unsigned("<", t, t.type(span))  # a negative t is a huge unsigned number
    if step == 1:
        return hit, b.select(hit, t, t.type(0))
    safe = b.select(hit, t, t.type(0))
    hit = b.and_(hit, b.icmp_unsigned("==", b.urem(safe, t.type(step)), t.type(0)))
    return hit, b.udiv(safe, t.type(step))


def as_i64(b: ir.IRBuilder, v: ir.Value, dtype) -> ir.Value:
    """An integer register value widened to i64 as ``astype(np.int64)`` does."""
    dt = np.dtype(dtype)
    if dt.itemsize == 8:
        return v  # uint64 wraps, as in numpy
    return b.sext(v, i64) if dt.kind == "i" else b.zext(v, i64)


def clamp(b: ir.IRBuilder, v: ir.Value, lo: int, hi: int) -> ir.Value:
    v = b.select(b.icmp_signed("<", v, v.type(lo)), v.type(lo), v)
    return b.select(b.icmp_signed(">", v, v.type(hi)), v.type(hi), v)


def narrow(b: ir.IRBuilder, v: ir.Value, ty) -> ir.Value:
    return b.trunc(v, ty) if v.type.width > ty.width else v


def copy_kernel(module, program, index: int, src: int, dst: int, n: int):
    """``dst[:] = src[:]`` (same dtype, ``n`` elements)."""
    k = Kernel.for_buffers(module, program, index, "copy", [src, dst], {dst}, index_type(n))
    with k.elements(n) as i:
        k.store(dst, i, k.read(src, i))
    return k.launch("copy", n)


def _avals(eqn) -> list:
    return [x.aval for x in eqn.inputs]


# ---- gather --------------------------------------------------------------------------------------


def _axes_ok(axes, ndim: int) -> bool:
    return bool(axes) and len(set(axes)) == len(axes) and all(0 <= a < ndim for a in axes)


def _fill_value(eqn):
    """The fill value as the numpy impl casts it, or None where numpy cannot cast it."""
    from funcgrad._src.lax.indexing import _default_fill

    dt = np.dtype(eqn.inputs[0].aval.dtype)
    fv = eqn.params["fill_value"]
    try:
        with np.errstate(all="ignore"):
            value = np.asarray(_default_fill(dt) if fv is None else fv, dtype=dt)
    except (TypeError, ValueError, OverflowError):
        return None
    return value.item() if value.shape == () else None


def _gather_check(eqn):
    operand, _ = _avals(eqn)
    if not _axes_ok(eqn.params["axes"], operand.ndim):
        return None
    if eqn.params["mode"] == "fill" and _fill_value(eqn) is None:
        return None
    return 0


def _index_row(k: Kernel, idx, row, shape, axes, strides) -> tuple:
    """Row ``row`` of the indices: ``(all in range, offset of the clamped position)``."""
    b, dt, n_axes = k.b, k.dtype(idx), len(axes)
    base = b.mul(row, k.c(n_axes)) if n_axes > 1 else row
    valid, offset = [], k.c(0)
    for j, a in enumerate(axes):
        v = as_i64(b, k.read(idx, b.add(base, k.c(j)) if j else base), dt)
        hi = max(shape[a] - 1, 0)
        if dt == np.uint64:  # above 2**63: a big number, not a negative one
            valid.append(b.icmp_unsigned("<", v, i64(shape[a])))
            v = b.select(b.icmp_unsigned(">", v, i64(hi)), i64(hi), v)
        else:
            valid.append(
                b.and_(b.icmp_signed(">=", v, i64(0)), b.icmp_signed("<", v, i64(shape[a])))
            )
            v = clamp(b, v, 0, hi)
        v = narrow(b, v, k.ity)
        offset = b.add(offset, b.mul(v, k.c(strides[a])))
    return all_of(b, valid), offset


def _rest(shape, axes) -> tuple:
    """The kept (not indexed) dimensions of the operand: (dims, their sizes)."""
    dims = [d for d in range(len(shape)) if d not in axes]
    return dims, [shape[d] for d in dims]


def _row_and_rest(k: Kernel, flat, shape, axes, strides) -> tuple:
    """Element ``flat`` of a gather output / scatter update: (index row, operand offset of
    its kept dimensions)."""
    dims, sizes = _rest(shape, axes)
    n_rest = prod(sizes)
    b = k.b
    row = b.udiv(flat, k.c(n_rest)) if n_rest > 1 else flat
    rest = b.urem(flat, k.c(n_rest)) if n_rest > 1 else k.c(0)
    return row, dot_offset(b, unravel(b, rest, sizes), [strides[d] for d in dims], k.ity)


def _gather_emit(module, program, step, index):
    eqn, (operand, indices) = step.eqn, step.inputs
    out, (shape, axes, mode) = (
        step.outputs[0],
        (eqn.inputs[0].aval.shape, eqn.params["axes"], eqn.params["mode"]),
    )
    dtype, n_out = np.dtype(eqn.inputs[0].aval.dtype), program.buffer(out).size
    ity = index_type(n_out, prod(shape), prod(eqn.inputs[1].aval.shape))
    k = Kernel.for_buffers(module, program, index, "gather", [operand, indices, out], {out}, ity)
    fill = S.const(dtype, _fill_value(eqn) if mode == "fill" else 0)
    strides = contiguous_strides(shape)
    with k.elements(n_out) as flat:
        if any(shape[a] == 0 for a in axes):  # every index is out of range; nothing to read
            k.store(out, flat, fill)
        else:
            row, rest = _row_and_rest(k, flat, shape, axes, strides)
            valid, offset = _index_row(k, indices, row, shape, axes, strides)
            value = k.read(operand, k.b.add(offset, rest))
            k.store(out, flat, k.b.select(valid, value, fill) if mode == "fill" else value)
    return [k.launch("gather", n_out)]


register("gather", _gather_check, _gather_emit)

# ---- scatter, scatter_add ------------------------------------------------------------------------


def _store_if(k: Kernel, buf, pos, pred, value) -> None:
    with k.b.if_then(pred):
        k.store(buf, pos, value)


def _cas_update(k: Kernel, buf, pos, value, dtype, prim: str) -> None:
    """``buf[pos] = prim(buf[pos], value)`` atomically: a compare-and-swap loop on the bits."""
    b = k.b
    bits = ir.IntType(dtype.itemsize * 8)
    to_bits = (lambda v: b.bitcast(v, bits)) if dtype.kind == "f" else (lambda v: v)
    ptr = k.ptr(buf, pos)
    first = b.load_atomic(ptr, "monotonic", dtype.itemsize, typ=bits)
    entry, loop = b.block, b.append_basic_block("cas")
    done = b.append_basic_block("cas.done")
    b.branch(loop)
    b.position_at_end(loop)
    old = b.phi(bits, name="old")
    old.add_incoming(first, entry)
    current = b.bitcast(old, S.ir_type(dtype)) if dtype.kind == "f" else old
    new = to_bits(S.emit(b, prim, [current, value], [dtype, dtype], dtype))
    result = b.cmpxchg(ptr, old, new, "monotonic", "monotonic")
    old.add_incoming(b.extract_value(result, 0), b.block)
    b.cbranch(b.extract_value(result, 1), done, loop)
    b.position_at_end(done)


def _update_add(k, buf, pos, value, dtype):
    if dtype.kind == "b":  # x | u: only a True update changes anything
        return _store_if(k, buf, pos, value, value)
    if dtype.kind == "c":  # complex addition is per part: one float atomic add on each
        b, ptr = k.b, k.ptr(buf, pos)
        for part in (0, 1):
            field = b.gep(
                ptr, [i32(0), i32(part)], inbounds=True, source_etype=S.storage_type(dtype)
            )
            b.atomic_rmw("fadd", field, b.extract_value(value, part), "monotonic")
        return None
    k.b.atomic_rmw("fadd" if dtype.kind == "f" else "add", k.ptr(buf, pos), value, "monotonic")


def _update_minmax(which: str):
    def update(k, buf, pos, value, dtype):
        if dtype.kind == "b":  # min is "and" (False wins), max is "or" (True wins)
            return _store_if(k, buf, pos, k.b.not_(value) if which == "min" else value, value)
        if dtype.kind == "f":  # NaN-propagating, through the scalar rule
            return _cas_update(k, buf, pos, value, dtype, which)
        op = which if dtype.kind == "i" else "u" + which
        k.b.atomic_rmw(op, k.ptr(buf, pos), value, "monotonic")

    return update


def _update_mul(k, buf, pos, value, dtype):
    if dtype.kind == "b":  # "and"
        return _store_if(k, buf, pos, k.b.not_(value), value)
    _cas_update(k, buf, pos, value, dtype, "mul")


UPDATES = {  # scatter combine -> how one update is applied to the output element
    "set": lambda k, buf, pos, value, dtype: k.store(buf, pos, value),
    "add": _update_add,
    "mul": _update_mul,
    "min": _update_minmax("min"),
    "max": _update_minmax("max"),
}


def _combine(eqn) -> str:
    return eqn.params.get("combine", "add")  # scatter_add has no combine parameter


def _scatter_check(eqn):
    operand, indices, _ = _avals(eqn)
    axes = eqn.params["axes"]
    if not _axes_ok(axes, operand.ndim) or _combine(eqn) not in UPDATES:
        return None
    if np.dtype(operand.dtype).kind == "c" and _combine(eqn) not in ("set", "add"):
        return None  # complex mul/min/max: no atomic for them
    empty_axis = any(operand.shape[a] == 0 for a in axes)
    if eqn.params["mode"] == "clip" and empty_axis and prod(indices.shape[:-1]):
        return None  # numpy raises IndexError (an index clamped into an empty axis)
    return 0


def _scatter_emit(module, program, step, index):
    eqn, (operand, indices, updates) = step.eqn, step.inputs
    out, shape, axes = step.outputs[0], eqn.inputs[0].aval.shape, eqn.params["axes"]
    dtype = np.dtype(eqn.inputs[0].aval.dtype)
    n_upd = prod(eqn.inputs[2].aval.shape)
    copy = copy_kernel(module, program, index, operand, out, prod(shape))
    ity = index_type(n_upd, prod(shape), prod(eqn.inputs[1].aval.shape))
    k = Kernel.for_buffers(module, program, index, "scatter", [indices, updates, out], {out}, ity)
    strides, update = contiguous_strides(shape), UPDATES[_combine(eqn)]
    with k.elements(n_upd if prod(shape) else 0) as flat:
        row, rest = _row_and_rest(k, flat, shape, axes, strides)
        valid, offset = _index_row(k, indices, row, shape, axes, strides)
        pos, value = k.b.add(offset, rest), k.read(updates, flat)
        if eqn.params["mode"] == "clip":
            update(k, out, pos, value, dtype)
        else:  # dropped when out of range
            with k.b.if_then(valid):
                update(k, out, pos, value, dtype)
    return [copy, k.launch("scatter", n_upd if prod(shape) else 0)]


register("scatter", _scatter_check, _scatter_emit)
register("scatter_add", _scatter_check, _scatter_emit)

# ---- dynamic_slice, dynamic_update_slice ---------------------------------------------------------


def _clamped_start(k: Kernel, src, hi: int) -> ir.Value:
    """A start index clamped to ``[0, hi]`` as ``_clamp_starts`` does (on the exact value)."""
    if is_literal(src):
        return k.c(int(np.clip(int(src[1]), 0, hi)))
    b, dt = k.b, k.dtype(src)
    v = k.read(src, k.c(0))
    if dt == np.uint64:  # above 2**63: a big number, not a negative one
        v = b.select(b.icmp_unsigned(">", v, i64(hi)), i64(hi), v)
    else:
        v = clamp(b, as_i64(b, v, dt), 0, hi)
    return narrow(b, v, k.ity)


def _starts(k: Kernel, starts, shape, sizes) -> list:
    return [_clamped_start(k, s, n - m) for s, n, m in zip(starts, shape, sizes)]


def _dynamic_slice_check(eqn):
    return 0


def _dynamic_slice_emit(module, program, step, index):
    x, *starts = step.inputs
    out, shape = step.outputs[0], step.eqn.inputs[0].aval.shape
    sizes = step.eqn.params["slice_sizes"]
    n = prod(sizes)
    k = Kernel.for_buffers(
        module,
        program,
        index,
        "dynamic_slice",
        [x, *starts, out],
        {out},
        index_type(prod(shape), *shape),
    )
    begin = _starts(k, starts, shape, sizes)
    with k.elements(n) as flat:
        coords = [k.b.add(c, s) for c, s in zip(unravel(k.b, flat, sizes), begin)]
        k.store(out, flat, k.read(x, dot_offset(k.b, coords, contiguous_strides(shape), k.ity)))
    return [k.launch("dynamic_slice", n)]


register("dynamic_slice", _dynamic_slice_check, _dynamic_slice_emit)


def _dynamic_update_slice_emit(module, program, step, index):
    x, update, *starts = step.inputs
    out, shape = step.outputs[0], step.eqn.inputs[0].aval.shape
    ushape = step.eqn.inputs[1].aval.shape
    n = prod(shape)
    k = Kernel.for_buffers(
        module,
        program,
        index,
        "dynamic_update_slice",
        [x, update, *starts, out],
        {out},
        index_type(n, *shape),
    )
    b, begin = k.b, _starts(k, starts, shape, ushape)
    with k.elements(n) as flat:
        value = k.read(x, flat)
        if prod(ushape):
            rel = [b.sub(c, s) for c, s in zip(unravel(b, flat, shape), begin)]
            inside = all_of(b, [b.icmp_unsigned("<", r, k.c(u)) for r, u in zip(rel, ushape)])
            upos = b.select(inside, dot_offset(b, rel, contiguous_strides(ushape), k.ity), k.c(0))
            value = b.select(inside, k.read(update, upos), value)
        k.store(out, flat, value)
    return [k.launch("dynamic_update_slice", n)]


register("dynamic_update_slice", _dynamic_slice_check, _dynamic_update_slice_emit)

# ---- concatenate ---------------------------------------------------------------------------------


def _concatenate_check(eqn):
    return 0 if 0 <= eqn.params["dimension"] < eqn.inputs[0].aval.ndim else None


def _concatenate_emit(module, program, step, index):
    out, dim = step.outputs[0], step.eqn.params["dimension"]
    out_shape = step.eqn.out_binders[0].aval.shape
    inner, n = prod(out_shape[dim + 1 :]), prod(out_shape)
    k = Kernel.for_buffers(
        module, program, index, "concatenate", [*step.inputs, out], {out}, index_type(n)
    )
    b, start = k.b, 0
    for src, x in zip(step.inputs, step.eqn.inputs):
        slab = x.aval.shape[dim] * inner  # one outer index's worth of this operand
        if prod(x.aval.shape):
            with k.elements(prod(x.aval.shape)) as i:
                outer = b.udiv(i, k.c(slab)) if slab < prod(x.aval.shape) else k.c(0)
                within = b.urem(i, k.c(slab)) if slab < prod(x.aval.shape) else i
                pos = b.add(
                    b.mul(outer, k.c(out_shape[dim] * inner)), b.add(within, k.c(start * inner))
                )
                k.store(out, pos, k.read(src, i))
        start += x.aval.shape[dim]
    return [k.launch("concatenate", n)]


register("concatenate", _concatenate_check, _concatenate_emit)

# ---- pad -----------------------------------------------------------------------------------------


def _pad_check(eqn):
    return 0


def _pad_emit(module, program, step, index):
    (x, padval), out = step.inputs, step.outputs[0]
    shape, config = step.eqn.inputs[0].aval.shape, step.eqn.params["padding_config"]
    out_shape = step.eqn.out_binders[0].aval.shape
    n = prod(out_shape)
    ity = index_type(n, prod(shape), *[abs(lo) + abs(hi) for lo, hi, _ in config])
    k = Kernel.for_buffers(module, program, index, "pad", [x, padval, out], {out}, ity)
    b, fill = k.b, k.read(padval, k.c(0))
    with k.elements(n) as flat:
        if not prod(shape):  # nothing to copy: all padding
            k.store(out, flat, fill)
        else:
            hits, coords = [], []
            for q, m, (lo, _, interior) in zip(unravel(b, flat, out_shape), shape, config):
                hit, i = dilated_coord(b, b.sub(q, k.c(lo)), m, interior + 1)
                hits.append(hit)
                coords.append(i)
            inside = all_of(b, hits)  # coordinates are 0 where missed: always a safe address
            value = k.read(x, dot_offset(b, coords, contiguous_strides(shape), k.ity))
            k.store(out, flat, b.select(inside, value, fill))
    return [k.launch("pad", n)]


register("pad", _pad_check, _pad_emit)
