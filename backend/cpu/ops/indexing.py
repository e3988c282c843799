"""Native CPU kernels for the primitives that move data: gather, scatter, scatter_add,
dynamic_slice, dynamic_update_slice, concatenate and pad.

They are copy loops. An element is copied as the integer of its width (bit-exact for every
dtype, NaN payloads included); only the combining scatters do arithmetic, through the shared
scalar rules. Every copy goes through ``_Kernel.copy``, which merges the dims both sides walk
contiguously, so most inner loops are plain contiguous runs that LLVM turns into vector copies
or ``memcpy``:

- gather / scatter: index row ``n`` (read as i64, uint64 compared unsigned, clamped to the
  axis before any address is formed) selects a block of the operand: the dims not indexed. Gather
  copies the block into output row ``n`` ("fill" mode writes the fill value instead when the
  row was out of bounds); scatter combines update row ``n`` into it (modes other than "clip"
  skip out-of-bounds rows). Rows are applied in index order, so duplicates accumulate
  sequentially (scatter_add) and the last one wins (``set``), as ``ufunc.at`` and numpy's fancy
  assignment do in the impls. Gathering rows of a matrix copies whole rows.
- dynamic_slice / dynamic_update_slice: starts clamped to ``[0, n - size]`` with numpy's
  integer semantics (uint64 compared unsigned), then one block copy.
- concatenate: for each operand, its rows (everything from the axis on) into the output rows.
- pad: identity dims dropped and a dim merged with an unpadded next one; each output row is then
  all padding, or padding + a contiguous run of the input row + padding (interior padding on
  the last dim: the row is filled, then the input elements are stored at their stride).

Literal inputs (scalar starts, padding values, updates) become private constant globals, so
every input is a pointer. ``check`` refuses what the kernels do not do: empty index rows, axes
out of range, a clipping scatter into an empty axis (numpy raises), fill values that do not
convert to the dtype (numpy raises).
"""

from __future__ import annotations

import contextlib

import numpy as np
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.llvm.builders import for_range, loop_nest
from funcgrad.backend.llvm.scalar import emit as emit_scalar
from funcgrad.backend.llvm.scalar import storage_type
from llvmlite import ir

from . import new_function, register

I1, I8, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(64)


def _i64(v) -> ir.Constant:
    return ir.Constant(I64, int(v))


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _bits(dtype) -> ir.IntType:
    return ir.IntType(8 * np.dtype(dtype).itemsize)


def _dtypes_ok(eqn) -> bool:
    from ..codegen import dtype_ok  # (codegen imports ops: imported at use)

    avals = [x.aval for x in eqn.inputs] + [v.aval for v in eqn.out_binders]
    return all(dtype_ok(a.dtype) for a in avals)


def _literal(module, name: str, value) -> ir.GlobalVariable:
    """A private constant global holding the bytes of a literal input."""
    raw = np.ascontiguousarray(value).tobytes()
    ty = ir.ArrayType(I8, len(raw))
    g = ir.GlobalVariable(module, ty, name)
    g.global_constant, g.linkage = True, "private"
    g.initializer = ir.Constant(ty, bytearray(raw))
    g.align = 16
    return g


class _Kernel:
    """One op kernel being emitted: the builder, a pointer per equation input (literals are
    constant globals) and per output, and the loops every kernel here is made of."""

    def __init__(self, module, step, name: str):
        nbuf = sum(isinstance(i, int) for i in step.inputs)
        fn = new_function(module, name, nbuf + len(step.outputs) + (step.scratch >= 0))
        for a in fn.args[nbuf:]:
            a.add_attribute("noalias")  # outputs overlap nothing the kernel reads
        self.fn, self.b = fn, ir.IRBuilder(fn.append_basic_block("entry"))
        args = iter(fn.args)
        self.ins = [
            next(args) if isinstance(i, int) else _literal(module, f"{name}.lit{j}", i[1])
            for j, i in enumerate(step.inputs)
        ]
        self.outs = [next(args) for _ in step.outputs]

    def finish(self) -> ir.Function:
        self.b.ret_void()
        return self.fn

    # -- elements ----------------------------------------------------------------------------

    def _ptr(self, ptr, index, ty):
        return self.b.gep(ptr, [index], source_etype=ty, inbounds=True)

    def load(self, ptr, index, dtype, ty=None):
        """Element ``index`` of ``ptr`` as the integer of the dtype's width (or as ``ty``)."""
        ty = ty or _bits(dtype)
        v = self.b.load(self._ptr(ptr, index, ty), typ=ty)
        v.align = np.dtype(dtype).itemsize
        return v

    def store(self, ptr, index, value, dtype) -> None:
        self.b.store(value, self._ptr(ptr, index, value.type)).align = np.dtype(dtype).itemsize

    def load_value(self, ptr, index, dtype):
        """An element as a value for the scalar rules (bool: i1)."""
        v = self.load(ptr, index, dtype, storage_type(dtype))
        return self.b.icmp_unsigned("!=", v, ir.Constant(I8, 0)) if dtype.kind == "b" else v

    def store_value(self, ptr, index, value, dtype) -> None:
        self.store(ptr, index, self.b.zext(value, I8) if dtype.kind == "b" else value, dtype)

    def index(self, ptr, pos, dtype):
        """An integer element as i64, as numpy's ``astype(np.int64)`` converts it."""
        v = self.load(ptr, pos, dtype)
        if np.dtype(dtype).itemsize == 8:
            return v
        return self.b.sext(v, I64) if np.dtype(dtype).kind == "i" else self.b.zext(v, I64)

    def clamp(self, v, lo: int, hi: int):
        b = self.b
        v = b.select(b.icmp_signed("<", v, _i64(lo)), _i64(lo), v)
        return b.select(b.icmp_signed(">", v, _i64(hi)), _i64(hi), v)

    def linear(self, base, idx, strides):
        """``base + sum(idx * strides)`` in i64."""
        for i, s in zip(idx, strides):
            if s:
                base = self.b.add(base, i if s == 1 else self.b.mul(i, _i64(s)))
        return base

    # -- loops -------------------------------------------------------------------------------

    def copy(self, dst, dst_base, src, src_base, shape, dst_strides, src_strides, dtype):
        """``dst[dst_base + idx . dst_strides] = src[src_base + idx . src_strides]`` over
        ``shape`` (dims merged where both sides are contiguous)."""
        with self.block(shape, dst_strides, src_strides) as (d, s):
            self.store(
                dst, self.b.add(dst_base, d), self.load(src, self.b.add(src_base, s), dtype), dtype
            )

    @contextlib.contextmanager
    def block(self, shape, *stride_sets):
        """A loop nest over ``shape`` (merged); yields the offsets along each stride set."""
        from ..codegen import merge_dims  # (codegen imports ops: imported at use)

        shape, sets, _ = merge_dims(tuple(shape), [tuple(s) for s in stride_sets])
        with loop_nest(self.b, shape) as idx:
            yield [self.linear(_i64(0), idx, s) for s in sets]

    def fill(self, dst, base, count: int, value, dtype) -> None:
        if count > 0:
            with for_range(self.b, count, name="fill") as i:
                self.store(dst, self.b.add(base, i), value, dtype)

    def copy_all(self, dst, src, size: int, dtype) -> None:
        if size > 0:
            self.copy(dst, _i64(0), src, _i64(0), (size,), (1,), (1,), dtype)


def _avals(step):
    return [x.aval for x in step.eqn.inputs], step.eqn.out_binders[0].aval


# ---- gather / scatter ------------------------------------------------------------------------


def _axes_ok(axes, ndim) -> bool:
    return len(axes) > 0 and len(set(axes)) == len(axes) and all(0 <= a < ndim for a in axes)


def _fill_bits(dtype, fill_value) -> int:
    """The bits of the value a "fill" gather writes out of bounds (as the impl converts it)."""
    from funcgrad._src.lax.indexing import _default_fill

    fv = _default_fill(dtype) if fill_value is None else fill_value
    v = np.asarray(fv, dtype=dtype)
    if v.ndim:
        raise ValueError("fill_value must be a scalar")
    return int(v.reshape(1).view(f"u{dtype.itemsize}")[0])


def _rows(indices_aval) -> int:
    return _size(indices_aval.shape[:-1])


def _block_of(shape, axes):
    """(shape, operand strides, row-contiguous strides, size) of the block an index row
    selects: the operand dims not in ``axes``."""
    rest = [d for d in range(len(shape)) if d not in axes]
    rshape = tuple(shape[d] for d in rest)
    src = K.contiguous_strides(shape)
    return rshape, tuple(src[d] for d in rest), K.contiguous_strides(rshape), _size(rshape)


def _locate(k: _Kernel, indices, idx_dtype, n, axes, shape):
    """(operand offset of the block selected by index row ``n``, clamped; in-bounds flag)."""
    b, strides = k.b, K.contiguous_strides(shape)
    base, valid = _i64(0), ir.Constant(I1, 1)
    row = b.mul(n, _i64(len(axes)))
    for j, a in enumerate(axes):
        raw = k.index(indices, b.add(row, _i64(j)), idx_dtype)
        hi = max(shape[a] - 1, 0)
        if idx_dtype == np.uint64:  # above 2**63: a big number, not a negative one
            inside = b.icmp_unsigned("<", raw, _i64(shape[a]))
            raw = b.select(b.icmp_unsigned(">", raw, _i64(hi)), _i64(hi), raw)
        else:
            inside = b.and_(
                b.icmp_signed(">=", raw, _i64(0)), b.icmp_signed("<", raw, _i64(shape[a]))
            )
            raw = k.clamp(raw, 0, hi)
        valid = b.and_(valid, inside)
        base = b.add(base, b.mul(raw, _i64(strides[a])))
    return base, valid


def _gather_check(eqn):
    op, idx = (x.aval for x in eqn.inputs)
    p = eqn.params
    if not _dtypes_ok(eqn) or not _axes_ok(p["axes"], op.ndim) or idx.dtype.kind not in "iu":
        return None
    if p["mode"] == "fill":
        try:
            _fill_bits(op.dtype, p["fill_value"])
        except (TypeError, ValueError, OverflowError):
            return None  # numpy raises when it needs the fill value: leave that to it
    return 0


def _gather_emit(module, program, step, name, num_threads):
    k = _Kernel(module, step, name)
    (op, idx), out = _avals(step)
    axes, mode = step.eqn.params["axes"], step.eqn.params["mode"]
    operand, indices = k.ins
    dst = k.outs[0]
    fill = 0
    if mode == "fill":
        fill = _fill_bits(op.dtype, step.eqn.params["fill_value"])
    fill = ir.Constant(_bits(op.dtype), fill)
    if out.size == 0:
        return k.finish()
    if op.size == 0:  # an indexed axis is empty: the impl gives zeros (or the fill value)
        k.fill(dst, _i64(0), out.size, fill, op.dtype)
        return k.finish()
    rshape, src_strides, dst_strides, rsize = _block_of(op.shape, axes)
    with for_range(k.b, _rows(idx), name="row") as n:
        base, valid = _locate(k, indices, idx.dtype, n, axes, op.shape)
        row = k.b.mul(n, _i64(rsize))

        def copy_row():
            k.copy(dst, row, operand, base, rshape, dst_strides, src_strides, op.dtype)

        if mode != "fill":
            copy_row()
        else:
            with k.b.if_else(valid, likely=True) as (inside, outside):
                with inside:
                    copy_row()
                with outside:
                    k.fill(dst, row, rsize, fill, op.dtype)
    return k.finish()


register("gather", _gather_check, _gather_emit)

_COMBINE = {"set": None, "add": "add", "mul": "mul", "min": "min", "max": "max"}


def _scatter_check(eqn):
    op, idx, _ = (x.aval for x in eqn.inputs)
    p = eqn.params
    if not _dtypes_ok(eqn) or not _axes_ok(p["axes"], op.ndim) or idx.dtype.kind not in "iu":
        return None
    if p.get("combine", "add") not in _COMBINE:
        return None
    empty_axis = any(op.shape[a] == 0 for a in p["axes"])
    if p["mode"] == "clip" and empty_axis and _rows(idx):
        return None  # numpy raises (index 0 into an empty axis): leave that to it
    return 0


def _scatter_emit(module, program, step, name, num_threads):
    k = _Kernel(module, step, name)
    (op, idx, _), _ = _avals(step)
    p = step.eqn.params
    combine = _COMBINE[p.get("combine", "add")]
    axes, dt = p["axes"], op.dtype
    operand, indices, updates = k.ins
    dst = k.outs[0]
    k.copy_all(dst, operand, op.size, dt)
    rshape, dst_strides, upd_strides, rsize = _block_of(op.shape, axes)
    if _rows(idx) == 0 or rsize == 0:
        return k.finish()
    b = k.b
    with for_range(b, _rows(idx), name="row") as n:
        base, valid = _locate(k, indices, idx.dtype, n, axes, op.shape)
        row = b.mul(n, _i64(rsize))
        skip = contextlib.nullcontext() if p["mode"] == "clip" else b.if_then(valid, likely=True)
        with skip:
            if combine is None:
                k.copy(dst, base, updates, row, rshape, dst_strides, upd_strides, dt)
            else:
                _combine_row(
                    k, dst, base, updates, row, (rshape, dst_strides, upd_strides), combine, dt
                )
    return k.finish()


def _combine_row(k: _Kernel, dst, base, updates, row, block, combine, dt) -> None:
    """``dst[base + o] = combine(dst[base + o], updates[row + u])`` over one block."""
    b = k.b
    with k.block(*block) as (o, u):
        o, u = b.add(base, o), b.add(row, u)
        old, new = k.load_value(dst, o, dt), k.load_value(updates, u, dt)
        k.store_value(dst, o, emit_scalar(b, combine, [old, new], [dt, dt], dt), dt)


register("scatter", _scatter_check, _scatter_emit)
register("scatter_add", _scatter_check, _scatter_emit)

# ---- dynamic_slice / dynamic_update_slice ----------------------------------------------------


def _start_offset(k: _Kernel, shape, sizes, start_avals, first: int):
    """Element offset of the block of ``sizes`` at the clamped starts (inputs ``first``...)."""
    b, strides = k.b, K.contiguous_strides(shape)
    base = _i64(0)
    for d, aval in enumerate(start_avals):
        hi = shape[d] - sizes[d]
        v = k.index(k.ins[first + d], _i64(0), aval.dtype)
        if aval.dtype == np.uint64:  # beyond int64: numpy compares the true (unsigned) value
            v = b.select(b.icmp_unsigned(">", v, _i64(hi)), _i64(hi), v)
        else:
            v = k.clamp(v, 0, hi)
        base = b.add(base, b.mul(v, _i64(strides[d])))
    return base


def _starts_check(eqn, first: int):
    x = eqn.inputs[0].aval
    starts = [s.aval for s in eqn.inputs[first:]]
    if not _dtypes_ok(eqn) or len(starts) != x.ndim:
        return None
    return 0 if all(s.shape == () and s.dtype.kind in "iu" for s in starts) else None


def _dynamic_slice_emit(module, program, step, name, num_threads):
    k = _Kernel(module, step, name)
    (x, *starts), out = _avals(step)
    if out.size:
        base = _start_offset(k, x.shape, out.shape, starts, 1)
        k.copy(
            k.outs[0],
            _i64(0),
            k.ins[0],
            base,
            out.shape,
            K.contiguous_strides(out.shape),
            K.contiguous_strides(x.shape),
            x.dtype,
        )
    return k.finish()


def _dynamic_update_slice_emit(module, program, step, name, num_threads):
    k = _Kernel(module, step, name)
    (x, upd, *starts), _ = _avals(step)
    k.copy_all(k.outs[0], k.ins[0], x.size, x.dtype)
    if upd.size:
        base = _start_offset(k, x.shape, upd.shape, starts, 2)
        k.copy(
            k.outs[0],
            base,
            k.ins[1],
            _i64(0),
            upd.shape,
            K.contiguous_strides(x.shape),
            K.contiguous_strides(upd.shape),
            x.dtype,
        )
    return k.finish()


register("dynamic_slice", lambda eqn: _starts_check(eqn, 1), _dynamic_slice_emit)
register("dynamic_update_slice", lambda eqn: _starts_check(eqn, 2), _dynamic_update_slice_emit)

# ---- concatenate ---------------------------------------------------------------------------


def _concatenate_check(eqn):
    return 0 if _dtypes_ok(eqn) else None


def _concatenate_emit(module, program, step, name, num_threads):
    k = _Kernel(module, step, name)
    avals, out = _avals(step)
    dim = step.eqn.params["dimension"]
    outer, inner = _size(out.shape[:dim]), _size(out.shape[dim + 1 :])
    width, offset = out.shape[dim] * inner, 0
    for ptr, aval in zip(k.ins, avals):
        n = aval.shape[dim] * inner  # operand row length
        if n and outer:
            k.copy(k.outs[0], _i64(offset), ptr, _i64(0), (outer, n), (width, 1), (n, 1), out.dtype)
        offset += n
    return k.finish()


register("concatenate", _concatenate_check, _concatenate_emit)

# ---- pad -----------------------------------------------------------------------------------


def _pad_dims(shape, config) -> list:
    """Equivalent ``[(n, (lo, hi, interior))]``: size-1 unpadded dims dropped, a dim merged
    with an unpadded next one when it has no interior padding (its rows get longer)."""
    dims: list = []
    for n, (lo, hi, it) in zip(shape, config):
        it = it if n > 1 else 0
        if n == 1 and lo == hi == 0:
            continue
        if dims and (lo, hi, it) == (0, 0, 0) and dims[-1][1][2] == 0:
            m, (plo, phi, _) = dims[-1]
            dims[-1] = (m * n, (plo * n, phi * n, 0))
        else:
            dims.append((n, (lo, hi, it)))
    return dims or [(1, (0, 0, 0))]


def _padded(n, lo, hi, it) -> int:
    return lo + hi + n + max(n - 1, 0) * it


def _pad_source_row(k: _Kernel, oidx, dims, xstrides):
    """(in-bounds flag, input row offset) of the output row at outer indices ``oidx``."""
    b = k.b
    valid, row = ir.Constant(I1, 1), _i64(0)
    for o, (n, (lo, _, it)), st in zip(oidx, dims, xstrides):
        t = b.sub(o, _i64(lo))
        i = t if it == 0 else b.sdiv(t, _i64(it + 1))
        ok = b.and_(b.icmp_signed(">=", t, _i64(0)), b.icmp_signed("<", i, _i64(n)))
        if it:
            ok = b.and_(ok, b.icmp_signed("==", b.srem(t, _i64(it + 1)), _i64(0)))
        valid = b.and_(valid, ok)
        row = b.add(row, b.mul(i, _i64(st)))
    return valid, row


def _pad_row(k: _Kernel, dst, row, src, xrow, last, value, dtype) -> None:
    """One output row from input row ``xrow``: padding, the visible input run, padding."""
    n, (lo, hi, it) = last
    width, step = _padded(n, lo, hi, it), it + 1
    first = (max(0, -lo) + step - 1) // step  # the input elements that land inside the row
    stop = min(n, (width - 1 - lo) // step + 1)
    if stop <= first:
        return k.fill(dst, row, width, value, dtype)
    a, z = lo + first * step, lo + (stop - 1) * step + 1  # their output span
    b = k.b
    if it:
        k.fill(dst, row, width, value, dtype)
    else:
        k.fill(dst, row, a, value, dtype)
        k.fill(dst, b.add(row, _i64(z)), width - z, value, dtype)
    k.copy(
        dst,
        b.add(row, _i64(a)),
        src,
        b.add(xrow, _i64(first)),
        (stop - first,),
        (step,),
        (1,),
        dtype,
    )


def _pad_check(eqn):
    return 0 if _dtypes_ok(eqn) else None


def _pad_emit(module, program, step, name, num_threads):
    k = _Kernel(module, step, name)
    (x, _), out = _avals(step)
    src, padval = k.ins
    dst, dt = k.outs[0], x.dtype
    value = k.load(padval, _i64(0), dt)
    if out.size == 0:
        return k.finish()
    if x.size == 0:
        k.fill(dst, _i64(0), out.size, value, dt)
        return k.finish()
    dims = _pad_dims(x.shape, step.eqn.params["padding_config"])
    outer, last = dims[:-1], dims[-1]
    oshape = tuple(_padded(n, *cfg) for n, cfg in outer)
    ostrides = K.contiguous_strides(oshape + (_padded(last[0], *last[1]),))[:-1]
    xstrides = K.contiguous_strides(tuple(n for n, _ in dims))[:-1]
    with loop_nest(k.b, oshape) as oidx:
        row = k.linear(_i64(0), oidx, ostrides)
        valid, xrow = _pad_source_row(k, oidx, outer, xstrides)
        with k.b.if_else(valid) as (inside, outside):
            with inside:
                _pad_row(k, dst, row, src, xrow, last, value, dt)
            with outside:
                k.fill(dst, row, _padded(last[0], *last[1]), value, dt)
    return k.finish()


register("pad", _pad_check, _pad_emit)
