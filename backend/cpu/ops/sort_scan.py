"""Op kernels for ``sort``, ``cumsum`` and ``argmax``/``argmin`` (see ``__init__.py``).

Every kernel views its operand as ``(outer, n, inner)`` around the axis it works along
(``_geometry``) and matches the numpy ``impl_rules`` of ``funcgrad/_src/lax/reductions.py``
exactly:

- ``cumsum``: ``out[j] = out[j-1] + x[j]`` sequentially along the axis (float32/16 in a
  double accumulator, as the eager impl, so results are bit-identical to it; a strided scan
  with over ``_WIDE_SCRATCH`` bytes of columns keeps float32 sums); the first element is
  copied, not added to 0 (``-0.0`` stays ``-0.0``); ints wrap; bool sums are "or". With
  ``inner > 1`` the loop over ``inner`` is innermost and contiguous, so it vectorises.
- ``argmax``/``argmin``: the first extreme wins and the first NaN beats everything (numpy).
  Along a middle axis the running best values of a chunk of ``inner`` columns live in a stack
  array and the innermost loop (over the chunk) is contiguous select code the vectoriser
  widens. A long last-axis row is read the same way as ``LANES`` interleaved columns, whose
  winners are then combined (equal values: the smaller index); short rows and the tail use a
  register accumulator.
- ``sort``: a stable merge sort of each row. The row is gathered (with its stride) into the
  scratch buffer as records: one column per key operand plus the original position (SoA).
  Runs of ``RUN`` records are insertion-sorted, then bottom-up merge passes ping-pong between
  two record regions (the pass count, hence the region holding the result, is known at
  compile time). Keys compare lexicographically with NaN last and ``-0.0 == 0.0`` (numpy's
  ``argsort(kind="stable")`` / ``lexsort``); key outputs are written from the sorted records,
  the other operands are permuted along by the sorted positions. O(n log n) per row.

Rows (and outer slices for cumsum/argmax) are split over threads when the work is large; each
sort thread gets its own slot of the scratch buffer (``_sort_slots``). Literal operands,
float16 and other cases ``emit`` does not handle are refused by ``check`` (numpy fallback).
"""

from __future__ import annotations

import numpy as np
from funcgrad.backend.llvm.builders import for_range, local
from funcgrad.backend.llvm.scalar import convert, storage_type, to_memory, to_register
from llvmlite import ir

from .. import engine, parallel
from . import register

I1, I8, I64, PTR = ir.IntType(1), ir.IntType(8), ir.IntType(64), ir.PointerType()
VOID = ir.VoidType()
RUN = 16  # insertion-sorted run length before the merge passes
ARG_CHUNK = 256  # columns whose running argmax/argmin live in a stack array at once
LANES = 16  # interleaved accumulators of a long argmax/argmin row
ALIGN = 64
PARALLEL_MIN_WORK = 1 << 18  # elements (times log n for sort) before splitting over threads
MAX_SORT_SLOTS = 8  # per-thread scratch slots of a threaded sort


def _c(v) -> ir.Constant:
    return ir.Constant(I64, v)


# ---- shared helpers ------------------------------------------------------------------------------


def _dtype_ok(dtype) -> bool:
    from ..codegen import dtype_ok  # lazily: codegen imports this package

    return dtype_ok(dtype)


def _plain_operands(eqn) -> bool:
    """Every input is a (non-literal) array of a dtype the code generator handles."""
    from funcgrad._src.core import Literal

    avals = [x.aval for x in eqn.inputs] + [v.aval for v in eqn.out_binders]
    return not any(isinstance(x, Literal) for x in eqn.inputs) and all(
        _dtype_ok(a.dtype) for a in avals
    )


def _geometry(shape, axis) -> tuple[int, int, int]:
    """``(outer, n, inner)``: the shape seen as a 3-d array around ``axis``."""
    prod = lambda s: int(np.prod(s, dtype=np.int64))
    return prod(shape[:axis]), int(shape[axis]), prod(shape[axis + 1 :])


class _Col:
    """A contiguous array of ``dtype`` at ``ptr``: element loads and stores in register types."""

    def __init__(self, ptr, dtype):
        self.ptr, self.dtype = ptr, np.dtype(dtype)
        self.st = storage_type(self.dtype)

    def _at(self, b, i):
        return b.gep(self.ptr, [i], source_etype=self.st, inbounds=True)

    def load(self, b, i):
        v = b.load(self._at(b, i), typ=self.st)
        v.align = self.dtype.itemsize
        return to_register(b, v, self.dtype)

    def store(self, b, i, value) -> None:
        b.store(to_memory(b, value, self.dtype), self._at(b, i)).align = self.dtype.itemsize


def _define(module, name, nargs, body, outer, work, num_threads):
    """Define ``void name(ptr * nargs)`` running ``body(b, ptrs, lo, hi)`` for outer indices
    [lo, hi); big kernels split [0, outer) over threads (``parallel.emit_parallel_for``).

    Every pointer is ``noalias``: the only memory written is the outputs and the scratch,
    which never overlap anything (inputs may alias each other, but are only read)."""
    fn = ir.Function(module, ir.FunctionType(VOID, [PTR] * nargs), name)
    fn.linkage = "internal"
    engine.set_function_attributes(fn, noalias=True, nocapture=True, inline="never")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    if num_threads <= 1 or outer < 2 or work < PARALLEL_MIN_WORK:
        body(b, list(fn.args), _c(0), _c(outer))
        b.ret_void()
        return fn
    worker = ir.Function(module, ir.FunctionType(VOID, [PTR, I64, I64]), name + ".w")
    worker.linkage = "internal"
    engine.set_function_attributes(worker)
    wb = ir.IRBuilder(worker.append_basic_block("entry"))
    ctx, lo, hi = worker.args
    ptrs = [wb.load(wb.gep(ctx, [_c(i)], source_etype=PTR), typ=PTR) for i in range(nargs)]
    body(wb, ptrs, lo, hi)
    wb.ret_void()
    pfor = parallel.emit_parallel_for(module, worker, name + ".pfor")
    arr = b.alloca(PTR, _c(nargs))
    for i, a in enumerate(fn.args):
        b.store(a, b.gep(arr, [_c(i)], source_etype=PTR))
    min_chunk = max(1, outer * PARALLEL_MIN_WORK // (4 * work))
    b.call(pfor, [arr, _c(outer), _c(min_chunk), ir.Constant(ir.IntType(32), num_threads)])
    b.ret_void()
    return fn


def _imin(b, x, y):
    return b.select(b.icmp_signed("<", x, y), x, y)


# ---- cumsum --------------------------------------------------------------------------------------


def cumsum_check(eqn):
    shape = eqn.inputs[0].aval.shape
    if not _plain_operands(eqn) or not 0 <= eqn.params["axis"] < len(shape):
        return None
    return 0


def _cumsum_add(b, acc, v, dtype):
    """numpy's ``add`` in ``dtype``: IEEE add (no reassociation), wrapping ints, bool "or"."""
    if dtype.kind == "f":
        return b.fadd(acc, v)
    return b.or_(acc, v) if dtype.kind == "b" else b.add(acc, v)


_WIDE_SCRATCH = 1 << 18  # bytes of double accumulators a strided cumsum may keep on the stack


def _widen(b, v, wide):
    return b.fpext(v, ir.DoubleType()) if wide else v


def _narrow(b, v, wide, ty):
    return b.fptrunc(v, ty) if wide else v


def cumsum_emit(module, program, step, name, num_threads):
    x_aval = step.eqn.inputs[0].aval
    dt = np.dtype(x_aval.dtype)
    outer, n, inner = _geometry(x_aval.shape, step.eqn.params["axis"])
    reverse = step.eqn.params["reverse"]
    # float32/16 prefix sums accumulate in double (as the eager impl): each output is the
    # exact prefix sum rounded once, as accurate as XLA's tree-shaped scan
    wide = dt in (np.float16, np.float32) and (inner == 1 or inner * 8 <= _WIDE_SCRATCH)

    def body(b, ptrs, lo, hi):
        x, y = _Col(ptrs[0], dt), _Col(ptrs[1], dt)
        if n == 0 or inner == 0:
            return
        with for_range(b, lo, hi, name="o", unroll=False) as o:
            base = b.mul(o, _c(n * inner))

            def at(t, c=None):  # element (j, c) of this slice, t-th along the scan order
                j = b.sub(_c(n - 1), t) if reverse else t
                off = b.add(base, b.mul(j, _c(inner)) if inner > 1 else j)
                return off if c is None else b.add(off, c)

            if inner == 1:
                first = x.load(b, at(_c(0)))
                acc = local(b, _widen(b, first, wide))
                y.store(b, at(_c(0)), first)
                with for_range(b, 1, n, name="j", unroll=False) as t:
                    i = at(t)
                    a, v = b.load(acc), _widen(b, x.load(b, i), wide)
                    s = _ordered_fadd(b, a, v) if wide else _cumsum_add(b, a, v, dt)
                    b.store(s, acc)
                    y.store(b, i, _narrow(b, s, wide, first.type))
                return
            if wide:
                _cumsum_strided_wide(b, x, y, at, n, inner, dt)
                return
            with for_range(b, inner, name="c", vectorize=True) as c:
                i = at(_c(0), c)
                y.store(b, i, x.load(b, i))
            with for_range(b, 1, n, name="j", unroll=False) as t:
                prev = b.sub(t, _c(1))
                with for_range(b, inner, name="c", vectorize=True) as c:
                    i = at(t, c)
                    y.store(b, i, _cumsum_add(b, y.load(b, at(prev, c)), x.load(b, i), dt))

    return _define(module, name, 2, body, outer, outer * n * inner, num_threads)


def _ordered_fadd(b, acc, v):
    """``acc + v`` whose NaN is ``acc``'s when ``acc`` is NaN (numpy's, whatever operand order
    the vectorised add ends up with: x86 returns the first operand's NaN)."""
    return b.select(b.fcmp_unordered("uno", acc, acc), acc, b.fadd(acc, v))


def _cumsum_strided_wide(b, x, y, at, n, inner, dt):
    """A scan along a strided axis with one double accumulator per column (on the stack)."""
    with b.goto_entry_block():
        accs = b.alloca(ir.ArrayType(ir.DoubleType(), inner))
    slot = lambda c: b.gep(accs, [_c(0), c], inbounds=True)
    with for_range(b, inner, name="c", vectorize=True) as c:
        i = at(_c(0), c)
        v = x.load(b, i)
        b.store(_widen(b, v, True), slot(c))
        y.store(b, i, v)
    with for_range(b, 1, n, name="j", unroll=False) as t:
        with for_range(b, inner, name="c", vectorize=True) as c:
            i = at(t, c)
            v = x.load(b, i)
            s = _ordered_fadd(b, b.load(slot(c)), _widen(b, v, True))
            b.store(s, slot(c))
            y.store(b, i, _narrow(b, s, True, v.type))


# ---- argmax / argmin ----------------------------------------------------------------------------


def arg_check(eqn):
    x = eqn.inputs[0].aval
    axes, idx_dt = eqn.params["axes"], np.dtype(eqn.params["index_dtype"])
    if not _plain_operands(eqn) or idx_dt.kind not in "iu" or len(axes) != 1:
        return None
    if not 0 <= axes[0] < len(x.shape) or x.shape[axes[0]] == 0:
        return None
    return 0


def _better(b, v, best, dtype, is_max):
    """``v`` replaces the running ``best``: strictly more extreme, or the first NaN."""
    if dtype.kind == "f":  # best not NaN, and (v beyond best, or v NaN)
        beyond = b.fcmp_unordered(">" if is_max else "<", v, best)
        return b.and_(beyond, b.fcmp_ordered("ord", best, best))
    cmp = b.icmp_signed if dtype.kind == "i" else b.icmp_unsigned
    return cmp(">" if is_max else "<", v, best)


def _arg_emit(is_max):
    def emit(module, program, step, name, num_threads):
        x_aval = step.eqn.inputs[0].aval
        dt, idx_dt = np.dtype(x_aval.dtype), np.dtype(step.eqn.params["index_dtype"])
        outer, n, inner = _geometry(x_aval.shape, step.eqn.params["axes"][0])
        rows = _arg_rows if inner == 1 else _arg_columns

        def body(b, ptrs, lo, hi):
            x, out = _Col(ptrs[0], dt), _Col(ptrs[1], idx_dt)
            if outer and inner:
                rows(b, x, out, lo, hi, n, inner, is_max)

        return _define(module, name, 2, body, outer, outer * n * inner, num_threads)

    return emit


def _same(b, v, w, dtype):
    """``v`` ties with ``w`` for argmax/argmin (equal, or both NaN)."""
    if dtype.kind == "f":
        both_nan = b.and_(b.fcmp_unordered("uno", v, v), b.fcmp_unordered("uno", w, w))
        return b.or_(b.fcmp_ordered("==", v, w), both_nan)
    return b.icmp_unsigned("==", v, w)


def _arg_scan(b, x, xbase, stride, nrows, width, best, where, is_max):
    """The running arg-extreme of ``width`` side-by-side columns (column k reads
    ``x[xbase + j * stride + k]`` for rows j < ``nrows``): its value in ``best[k]``, its row
    in ``where[k]`` (``where``'s dtype). The loops over k are contiguous: they vectorise."""
    with for_range(b, width, name="k", vectorize=True) as k:
        best.store(b, k, x.load(b, b.add(xbase, k)))
        where.store(b, k, convert(b, _c(0), np.int64, where.dtype))
    with for_range(b, 1, nrows, name="j", unroll=False) as j:
        row = b.add(xbase, b.mul(j, _c(stride)))
        jj = convert(b, j, np.int64, where.dtype)
        with for_range(b, width, name="k", vectorize=True) as k:
            v, cur = x.load(b, b.add(row, k)), best.load(b, k)
            upd = _better(b, v, cur, x.dtype, is_max)
            best.store(b, k, b.select(upd, v, cur))
            where.store(b, k, b.select(upd, jj, where.load(b, k)))


def _stack_col(b, dtype, n) -> _Col:
    with b.goto_entry_block():
        return _Col(b.alloca(storage_type(dtype), _c(n)), dtype)


def _arg_rows(b, x, out, lo, hi, n, inner, is_max):
    """Along the last axis. Long rows: LANES interleaved columns (``_arg_scan`` over the row
    seen as ``(n // LANES, LANES)``), whose winners are then combined (ties: the smaller
    index); the tail and short rows: one scalar accumulator."""
    q = n // LANES if n >= 2 * LANES else 0
    if q:
        lane_best, lane_row = _stack_col(b, x.dtype, LANES), _stack_col(b, np.int64, LANES)
    with for_range(b, lo, hi, name="o", unroll=False) as o:
        base = b.mul(o, _c(n))
        best = local(b, x.load(b, base))
        where = local(b, _c(0))
        if q:
            _arg_scan(b, x, base, LANES, q, LANES, lane_best, lane_row, is_max)
            b.store(lane_best.load(b, _c(0)), best)
            b.store(b.mul(lane_row.load(b, _c(0)), _c(LANES)), where)
            with for_range(b, 1, LANES, name="lane", unroll=False) as k:
                v, cur = lane_best.load(b, k), b.load(best)
                i, w = b.add(b.mul(lane_row.load(b, k), _c(LANES)), k), b.load(where)
                earlier = b.and_(_same(b, v, cur, x.dtype), b.icmp_signed("<", i, w))
                upd = b.or_(_better(b, v, cur, x.dtype, is_max), earlier)
                b.store(b.select(upd, v, cur), best)
                b.store(b.select(upd, i, w), where)
        with for_range(b, max(1, q * LANES), n, name="j", unroll=False) as j:
            v, cur = x.load(b, b.add(base, j)), b.load(best)
            upd = _better(b, v, cur, x.dtype, is_max)
            b.store(b.select(upd, v, cur), best)
            b.store(b.select(upd, j, b.load(where)), where)
        out.store(b, o, convert(b, b.load(where), np.int64, out.dtype))


def _arg_columns(b, x, out, lo, hi, n, inner, is_max):
    """Along a middle axis: chunks of ARG_CHUNK columns, their best values in a stack array,
    their indices in the output (``_arg_scan``)."""
    best = _stack_col(b, x.dtype, ARG_CHUNK)
    nchunks = -(-inner // ARG_CHUNK)
    with (
        for_range(b, lo, hi, name="o", unroll=False) as o,
        for_range(b, nchunks, name="ch", unroll=False) as ch,
    ):
        c0 = b.mul(ch, _c(ARG_CHUNK))
        width = _imin(b, _c(ARG_CHUNK), b.sub(_c(inner), c0))
        xbase = b.add(b.mul(o, _c(n * inner)), c0)
        where = _Col(
            b.gep(out.ptr, [b.add(b.mul(o, _c(inner)), c0)], source_etype=out.st), out.dtype
        )
        _arg_scan(b, x, xbase, inner, n, width, best, where, is_max)


# ---- sort ----------------------------------------------------------------------------------------


def _align(nbytes: int) -> int:
    return -(-nbytes // ALIGN) * ALIGN


class _Records:
    """The layout of one slot of sort scratch: two regions (ping-pong), each holding one
    column per key and, when other operands are permuted along (``positions``), one of
    original positions; ``n + 1`` entries each (the merge may read one past the end of a run;
    that value is never used)."""

    def __init__(self, key_dtypes, n, positions):
        self.idx_dtype = np.dtype(np.int32 if n < 2**31 else np.int64)
        self.nkeys = len(key_dtypes)
        self.dtypes = [np.dtype(d) for d in key_dtypes] + [self.idx_dtype] * positions
        self.offsets, off = [], 0
        for dt in self.dtypes:
            self.offsets.append(off)
            off += _align((n + 1) * dt.itemsize)
        self.region_bytes = off
        self.slot_bytes = 2 * off

    def cols(self, b, region) -> list:
        return [
            _Col(b.gep(region, [_c(off)], source_etype=I8, inbounds=True), dt)
            for off, dt in zip(self.offsets, self.dtypes)
        ]

    def load(self, cols, b, i) -> list:
        return [c.load(b, i) for c in cols]

    def store(self, cols, b, i, values) -> None:
        for c, v in zip(cols, values):
            c.store(b, i, v)

    def less(self, b, x, y):
        """Record ``x`` sorts before ``y``: lexicographic on the keys (not the position)."""
        keys = list(zip(x, y, self.dtypes))[: self.nkeys]
        xi, yi, dt = keys[-1]
        res = _key_less(b, xi, yi, dt)
        for xi, yi, dt in reversed(keys[:-1]):  # x_t < y_t, or x_t == y_t and the rest is less
            res = b.or_(_key_less(b, xi, yi, dt), b.and_(b.not_(_key_less(b, yi, xi, dt)), res))
        return res


def _key_less(b, x, y, dtype):
    """numpy's sort order: NaN last (every NaN equal), -0.0 == 0.0, ints signed or not."""
    if dtype.kind == "f":  # x not NaN, and (x < y or y NaN)
        return b.and_(b.fcmp_ordered("ord", x, x), b.fcmp_unordered("<", x, y))
    return (b.icmp_signed if dtype.kind == "i" else b.icmp_unsigned)("<", x, y)


def _sort_shape(eqn):
    shape, dim = eqn.inputs[0].aval.shape, eqn.params["dimension"]
    return _geometry(shape, dim)


def _sort_slots(outer, n, inner) -> int:
    """Scratch slots (one per concurrently sorted row): several only for big sorts."""
    rows = outer * inner
    work = rows * n * max(1, int(n).bit_length())
    return 1 if work < PARALLEL_MIN_WORK else max(1, min(rows, MAX_SORT_SLOTS))


def sort_check(eqn):
    p = eqn.params
    shape = eqn.inputs[0].aval.shape
    if not _plain_operands(eqn) or not 1 <= p["num_keys"] <= len(eqn.inputs):
        return None
    if not 0 <= p["dimension"] < len(shape) or any(x.aval.shape != shape for x in eqn.inputs):
        return None
    outer, n, inner = _sort_shape(eqn)
    if outer * n * inner == 0:
        return 0
    keys = [x.aval.dtype for x in eqn.inputs[: p["num_keys"]]]
    rec = _Records(keys, n, len(eqn.inputs) > p["num_keys"])
    return _sort_slots(outer, n, inner) * rec.slot_bytes


def sort_emit(module, program, step, name, num_threads):
    eqn = step.eqn
    nops, nkeys = len(eqn.inputs), eqn.params["num_keys"]
    dtypes = [np.dtype(x.aval.dtype) for x in eqn.inputs]
    outer, n, inner = _sort_shape(eqn)
    nargs = 2 * nops + (step.scratch >= 0)
    if outer * n * inner == 0:
        return _define(module, name, nargs, lambda *a: None, 0, 0, 1)
    rec = _Records(dtypes[:nkeys], n, nops > nkeys)
    runs = _emit_runs(module, name + ".runs", rec, n)
    merge = _emit_merge_pass(module, name + ".merge", rec, n) if n > RUN else None
    slots = _sort_slots(outer, n, inner)
    rows = outer * inner
    per_slot = -(-rows // slots)

    def sort_row(b, ptrs, region_a, region_b, base):
        srcs = [_Col(ptrs[i], dt) for i, dt in enumerate(dtypes)]
        dsts = [_Col(ptrs[nops + i], dt) for i, dt in enumerate(dtypes)]
        at = (
            (lambda i: b.add(base, b.mul(i, _c(inner))))
            if inner > 1
            else (lambda i: b.add(base, i))
        )
        a_cols = rec.cols(b, region_a)
        with for_range(b, n, name="gather", vectorize=False, unroll=False) as i:
            src = at(i)
            pos = [convert(b, i, np.int64, rec.idx_dtype)] if nops > nkeys else []
            rec.store(a_cols, b, i, [s.load(b, src) for s in srcs[:nkeys]] + pos)
        b.call(runs, [region_a])
        width, src_r, dst_r = RUN, region_a, region_b
        while width < n:
            b.call(merge, [src_r, dst_r, _c(width)])
            width, src_r, dst_r = 2 * width, dst_r, src_r
        done = rec.cols(b, src_r)
        with for_range(b, n, name="scatter", vectorize=False, unroll=False) as i:
            dst = at(i)
            vals = rec.load(done, b, i)
            for k in range(nkeys):
                dsts[k].store(b, dst, vals[k])
            if nops > nkeys:
                src = at(convert(b, vals[-1], rec.idx_dtype, np.int64))
                for s, d in zip(srcs[nkeys:], dsts[nkeys:]):
                    d.store(b, dst, s.load(b, src))

    def body(b, ptrs, lo, hi):
        # slot s (its own scratch) sorts rows [s * per_slot, (s + 1) * per_slot)
        with for_range(b, lo, hi, name="slot", unroll=False) as s:
            region_a = b.gep(ptrs[-1], [b.mul(s, _c(rec.slot_bytes))], source_etype=I8)
            region_b = b.gep(region_a, [_c(rec.region_bytes)], source_etype=I8)
            r0 = b.mul(s, _c(per_slot))
            r1 = _imin(b, b.add(r0, _c(per_slot)), _c(rows))
            with for_range(b, r0, r1, name="r", unroll=False) as r:
                sort_row(b, ptrs, region_a, region_b, _row_start(b, r, n, inner))

    work = rows * n * max(1, int(n).bit_length())
    return _define(module, name, nargs, body, slots, work, num_threads)


def _row_start(b, r, n: int, inner: int):
    """Flat index of element 0 of row ``r`` (rows are ``outer x inner``, elements ``n`` apart
    by ``inner``)."""
    if inner > 1:
        o, c = b.udiv(r, _c(inner)), b.urem(r, _c(inner))
        return b.add(b.mul(o, _c(n * inner)), c)
    return b.mul(r, _c(n))


def _sort_fn(module, name, arg_types):
    fn = ir.Function(module, ir.FunctionType(VOID, arg_types), name)
    fn.linkage = "internal"
    engine.set_function_attributes(fn, nocapture=True, inline="never")  # compile time
    return fn, ir.IRBuilder(fn.append_basic_block("entry"))


def _emit_runs(module, name, rec: _Records, n: int):
    """``void name(ptr region)``: insertion-sort each run of RUN records in place (stable)."""
    fn, b = _sort_fn(module, name, [PTR])
    cols = rec.cols(b, fn.args[0])
    j_slot = b.alloca(I64)
    with for_range(b, -(-n // RUN), name="run", unroll=False) as r:
        lo = b.mul(r, _c(RUN))
        with for_range(b, b.add(lo, _c(1)), _imin(b, b.add(lo, _c(RUN)), _c(n)), unroll=False) as i:
            v = rec.load(cols, b, i)
            b.store(i, j_slot)
            head, check, shift, done = (
                b.append_basic_block(s) for s in ("head", "check", "shift", "done")
            )
            b.branch(head)
            b.position_at_end(head)  # while j > lo and v < rec[j-1]: rec[j] = rec[j-1]; j--
            j = b.load(j_slot)
            b.cbranch(b.icmp_signed(">", j, lo), check, done)
            b.position_at_end(check)
            prev = b.sub(j, _c(1))
            u = rec.load(cols, b, prev)
            b.cbranch(rec.less(b, v, u), shift, done)
            b.position_at_end(shift)
            rec.store(cols, b, j, u)
            b.store(prev, j_slot)
            b.branch(head)
            b.position_at_end(done)
            rec.store(cols, b, b.load(j_slot), v)
    b.ret_void()
    return fn


def _emit_merge_pass(module, name, rec: _Records, n: int):
    """``void name(ptr src, ptr dst, i64 width)``: merge neighbouring sorted runs of ``width``
    records from ``src`` into runs of ``2 * width`` in ``dst`` (ties: the left run first)."""
    fn, b = _sort_fn(module, name, [PTR, PTR, I64])
    src_r, dst_r, width = fn.args
    src, dst = rec.cols(b, src_r), rec.cols(b, dst_r)
    i_slot, j_slot = b.alloca(I64), b.alloca(I64)
    pair = b.shl(width, _c(1))
    npairs = b.udiv(b.add(_c(n - 1), pair), pair)
    with for_range(b, npairs, name="pair", unroll=False) as p:
        lo = b.mul(p, pair)
        mid = _imin(b, b.add(lo, width), _c(n))
        hi = _imin(b, b.add(lo, pair), _c(n))
        b.store(lo, i_slot)
        b.store(mid, j_slot)
        # branch-free: load both heads, take one with a select
        with for_range(b, lo, hi, name="k", vectorize=False, unroll=False) as k:
            i, j = b.load(i_slot), b.load(j_slot)
            left, right = rec.load(src, b, i), rec.load(src, b, j)
            left_done = b.icmp_signed(">=", i, mid)
            take_right = b.and_(
                b.icmp_signed("<", j, hi), b.or_(left_done, rec.less(b, right, left))
            )
            rec.store(dst, b, k, [b.select(take_right, r, x) for x, r in zip(left, right)])
            step = b.zext(take_right, I64)
            b.store(b.add(j, step), j_slot)
            b.store(b.add(i, b.sub(_c(1), step)), i_slot)
    b.ret_void()
    return fn


register("cumsum", cumsum_check, cumsum_emit)
register("argmax", arg_check, _arg_emit(True))
register("argmin", arg_check, _arg_emit(False))
register("sort", sort_check, sort_emit)
