"""CUDA op kernels along one axis: ``sort``, ``cumsum``, ``argmax`` / ``argmin``.

Every kernel works on *rows*: with ``shape = outer + (n,) + inner`` and the axis in the middle,
row ``r`` (``o = r // inner``, ``i = r % inner``) holds the elements ``o*n*inner + j*inner + i``
for ``j < n``. Neighbouring rows are neighbouring in memory when ``inner > 1``, so one thread
per row reads coalesced; along the last axis each thread walks its own contiguous row.

- ``cumsum``: one thread per row, a sequential sum in numpy's order (ints wrap, bool is a
  running "or"; float32/16 accumulate in double, each partial sum rounded once, as the eager
  impl and the CPU kernel), backwards for ``reverse``.
- ``argmax`` / ``argmin``: one thread per row, numpy's scan: the first NaN wins, ties keep the
  first index (``-0.0 == 0.0``); the index is converted to ``index_dtype`` as ``astype`` does.
- ``sort``: a stable bottom-up merge sort of a permutation (int32, in the scratch buffer: two
  ping-pong arrays laid out like the operand), then one gather of every operand through it.
  Within a merge pass every element finds its place on its own: an element of a left run
  moves by the number of right-run elements strictly smaller than it, one of a right run by
  the number of left-run elements not greater (binary searches). That is stable and needs
  no coordination inside a pass, so a short row is sorted by one thread and a long row by a
  whole block (a barrier between passes): O(n log^2 n / threads) per row. Keys compare
  lexicographically (``num_keys`` operands) with numpy's order: NaN after everything and
  equal to NaN, ``-0.0 == 0.0``; the impl's ``np.argsort(kind="stable")``/``np.lexsort``.
"""

from __future__ import annotations

import numpy as np
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.llvm import scalar as S
from funcgrad.backend.llvm.builders import for_range, get, local, while_loop

from .. import codegen, ptx
from ..ptx import i1, i32, i64
from . import register
from .kernel import Kernel

I32 = np.dtype("int32")
SORT_BLOCK_MIN = 32  # rows at least this long are sorted by a whole block
MAX_GRID = 65535  # blocks of a block-per-row kernel (they stride over the rows)


def _prod(xs) -> int:
    return int(np.prod(xs, dtype=np.int64))


def _rows(shape, axis: int) -> tuple:
    """``(outer, n, inner)`` of ``shape`` around ``axis`` (a 0-d array is one row of 1)."""
    shape = tuple(shape) or (1,)
    return _prod(shape[:axis]), shape[axis], _prod(shape[axis + 1 :])


def _load(b, base, index, dtype):
    ty = S.storage_type(dtype)
    ptr = b.gep(base, [index], inbounds=True, source_etype=ty)
    return S.to_register(b, b.load(ptr, typ=ty), dtype)


def _store(b, base, index, value, dtype):
    ptr = b.gep(base, [index], inbounds=True, source_etype=S.storage_type(dtype))
    b.store(S.to_memory(b, value, dtype), ptr)


def _row_base(b, r, n: int, inner: int):
    """Flat index of element 0 of row ``r``."""
    if inner == 1:
        return b.mul(r, i64(n))
    return b.add(b.mul(b.udiv(r, i64(inner)), i64(n * inner)), b.urem(r, i64(inner)))


def _at(b, base, j, inner: int):
    """Flat index of element ``j`` of the row starting at ``base``."""
    return b.add(base, j if inner == 1 else b.mul(j, i64(inner)))


def _no_literals(eqn) -> bool:
    from funcgrad._src.core import Literal

    return not any(isinstance(x, Literal) for x in eqn.inputs)


# ---- comparisons in numpy's order ---------------------------------------------------------------


def _widen(b, x, dtype):
    """float16 compares exactly as float32."""
    return b.fpext(x, ptx.f32) if np.dtype(dtype) == np.float16 else x


def _less(b, x, y, dtype):
    """numpy's sort order ``x < y``: NaN sorts last (NaNs equal), ``-0.0 == 0.0``."""
    dt = np.dtype(dtype)
    if dt.kind == "f":
        x, y = _widen(b, x, dt), _widen(b, y, dt)
        nan_after = b.and_(b.fcmp_unordered("uno", y, y), b.fcmp_ordered("ord", x, x))
        return b.or_(b.fcmp_ordered("<", x, y), nan_after)
    return (b.icmp_signed if dt.kind == "i" else b.icmp_unsigned)("<", x, y)


def _improves(b, op: str, v, best, dtype):
    """numpy's argmax/argmin step: does ``v`` replace ``best``? (``!(v <= best)`` for argmax,
    true for a NaN, never once ``best`` is NaN.)"""
    dt = np.dtype(dtype)
    pred = ">" if op == "max" else "<"
    if dt.kind == "f":
        v, best = _widen(b, v, dt), _widen(b, best, dt)
        return b.and_(b.fcmp_unordered(pred, v, best), b.fcmp_ordered("ord", best, best))
    return (b.icmp_signed if dt.kind == "i" else b.icmp_unsigned)(pred, v, best)


# ---- cumsum --------------------------------------------------------------------------------------


def check_cumsum(eqn):
    dt = np.dtype(eqn.inputs[0].aval.dtype)
    if not _no_literals(eqn) or not S.can_emit("add", [dt, dt], dt):
        return None
    return 0


def emit_cumsum(module, program, step: K.OpKernel, index: int) -> list:
    eqn = step.eqn
    aval = eqn.inputs[0].aval
    dt = np.dtype(aval.dtype)
    outer, n, inner = _rows(aval.shape, eqn.params["axis"])
    k = Kernel.for_step(module, program, step, index, "cumsum")
    b = k.b
    adt = np.dtype(np.float64) if dt in (np.float16, np.float32) else dt  # as the CPU kernel
    with ptx.emit_grid_stride_loop(b, i64(outer * inner)) as r:
        base = _row_base(b, r, n, inner)
        acc = local(b, S.const(adt, 0))
        with for_range(b, i64(0), i64(n), name="j") as j:
            at = _at(b, base, b.sub(i64(n - 1), j) if eqn.params["reverse"] else j, inner)
            v = S.convert(b, _load(b, k.ins[0], at, dt), dt, adt)
            total = S.emit(b, "add", [get(b, acc), v], [adt, adt], adt)
            b.store(total, acc)
            _store(b, k.outs[0], at, S.convert(b, total, adt, dt), dt)
    rows = outer * inner if n else 0
    return [k.launch("cumsum", rows)]


register("cumsum", check_cumsum, emit_cumsum)

# ---- argmax / argmin ----------------------------------------------------------------------------


def check_arg(eqn):
    out = np.dtype(eqn.out_binders[0].aval.dtype)
    axes = eqn.params["axes"]
    if (
        not _no_literals(eqn)
        or out.kind not in "iu"
        or len(axes) != 1
        or eqn.inputs[0].aval.ndim == 0
    ):
        return None
    return 0


def _emit_arg(op: str):
    def emit(module, program, step: K.OpKernel, index: int) -> list:
        eqn = step.eqn
        aval = eqn.inputs[0].aval
        dt, out_dt = np.dtype(aval.dtype), np.dtype(eqn.out_binders[0].aval.dtype)
        outer, n, inner = _rows(aval.shape, eqn.params["axes"][0])
        k = Kernel.for_step(module, program, step, index, f"arg{op}")
        b = k.b
        with ptx.emit_grid_stride_loop(b, i64(outer * inner)) as r:
            base = _row_base(b, r, n, inner)
            best, pos = local(b, _load(b, k.ins[0], base, dt)), local(b, i64(0))
            with for_range(b, i64(1), i64(n), name="j") as j:
                v, cur = _load(b, k.ins[0], _at(b, base, j, inner), dt), get(b, best)
                take = _improves(b, op, v, cur, dt)
                b.store(b.select(take, v, cur), best)
                b.store(b.select(take, j, get(b, pos)), pos)
            _store(b, k.outs[0], r, S.convert(b, get(b, pos), np.int64, out_dt), out_dt)
        rows = outer * inner if n else 0
        return [k.launch(f"arg{op}", rows)]

    return emit


register("argmax", check_arg, _emit_arg("max"))
register("argmin", check_arg, _emit_arg("min"))

# ---- sort ----------------------------------------------------------------------------------------


def check_sort(eqn):
    p = eqn.params
    avals = [x.aval for x in eqn.inputs]
    if (
        not _no_literals(eqn)
        or not avals
        or avals[0].ndim == 0
        or not 1 <= p["num_keys"] <= len(avals)
        or any(a.shape != avals[0].shape for a in avals)
    ):
        return None
    if avals[0].shape[p["dimension"]] >= 2**31:
        return None
    return 2 * _prod(avals[0].shape) * I32.itemsize  # two int32 permutations


class _Sorter:
    """The merge-sort passes of one row; ``j0, dj``: the elements this thread handles."""

    def __init__(self, b, keys, n: int, inner: int, base, j0, dj, sync):
        self.b, self.keys, self.n, self.inner, self.base = b, keys, n, inner, base
        self.j0, self.dj, self.sync = j0, dj, sync

    def at(self, j):
        return _at(self.b, self.base, j, self.inner)

    def elements(self):
        return for_range(self.b, self.j0, i64(self.n), self.dj, name="j")

    def perm(self, array, j):
        return self.b.zext(_load(self.b, array, self.at(j), I32), i64)

    def less(self, p, q):
        """Lexicographic ``key(p) < key(q)`` over the keys (positions in the row)."""
        b = self.b
        result, decided = i1(0), i1(0)
        for ptr, dt in self.keys:
            x, y = _load(b, ptr, self.at(p), dt), _load(b, ptr, self.at(q), dt)
            lt, gt = _less(b, x, y, dt), _less(b, y, x, dt)
            result = b.select(decided, result, lt)
            decided = b.or_(decided, b.or_(lt, gt))
        return result

    def sort(self, perm_a, perm_b):
        """Sort the row's permutation; returns the array (pointer) holding the result."""
        b = self.b
        with self.elements() as j:
            _store(b, perm_a, self.at(j), b.trunc(j, i32), I32)
        self.sync()
        a_is_src, width = local(b, i1(1)), local(b, i64(1))
        with while_loop(b, lambda: b.icmp_signed("<", get(b, width), i64(self.n)), "pass"):
            w, flag = get(b, width), get(b, a_is_src)
            src, dst = b.select(flag, perm_a, perm_b), b.select(flag, perm_b, perm_a)
            with self.elements() as j:
                self.place(src, dst, w, j)
            self.sync()
            b.store(b.not_(flag), a_is_src)
            b.store(b.shl(w, i64(1)), width)
        return b.select(get(b, a_is_src), perm_a, perm_b)

    def place(self, src, dst, w, j):
        """Move element ``j`` of ``src`` to its place in the merge of its pair of runs."""
        b, n = self.b, i64(self.n)
        smaller = lambda x, y: b.select(b.icmp_signed("<", x, y), x, y)
        w2 = b.shl(w, i64(1))
        lo = b.mul(b.udiv(j, w2), w2)
        mid, hi = smaller(b.add(lo, w), n), smaller(b.add(lo, w2), n)
        me = self.perm(src, j)
        left = b.icmp_signed("<", j, mid)
        # left element: count the right run's elements < me; right: the left run's <= me
        first, last = local(b, b.select(left, mid, lo)), local(b, b.select(left, hi, mid))
        start = get(b, first)
        with while_loop(b, lambda: b.icmp_signed("<", get(b, first), get(b, last)), "search"):
            f, e = get(b, first), get(b, last)
            m = b.lshr(b.add(f, e), i64(1))
            other = self.perm(src, m)
            goes_before = b.select(left, self.less(other, me), b.not_(self.less(me, other)))
            b.store(b.select(goes_before, b.add(m, i64(1)), f), first)
            b.store(b.select(goes_before, e, m), last)
        count = b.sub(get(b, first), start)
        offset = b.sub(j, b.select(left, lo, mid))
        target = b.add(lo, b.add(offset, count))
        _store(b, dst, self.at(target), b.trunc(me, i32), I32)


def emit_sort(module, program, step: K.OpKernel, index: int) -> list:
    eqn = step.eqn
    avals = [x.aval for x in eqn.inputs]
    dts = [np.dtype(a.dtype) for a in avals]
    outer, n, inner = _rows(avals[0].shape, eqn.params["dimension"])
    rows, size = outer * inner, outer * n * inner
    k = Kernel.for_step(module, program, step, index, "sort")
    b = k.b
    if size == 0:
        return [k.launch_grid("sort", 0, 1)]
    perm_a = k.scratch
    perm_b = b.gep(perm_a, [i64(size)], inbounds=True, source_etype=i32)
    per_block = n >= SORT_BLOCK_MIN
    if per_block:  # a block per row: threads stride over the row's elements
        rows_loop = for_range(
            b, b.zext(ptx.block_idx(b), i64), i64(rows), b.zext(ptx.grid_dim(b), i64), name="row"
        )
        j0, dj = b.zext(ptx.thread_idx(b), i64), b.zext(ptx.block_dim(b), i64)
        sync = lambda: ptx.barrier(b)
    else:  # a thread per row
        rows_loop = ptx.emit_grid_stride_loop(b, i64(rows))
        j0, dj, sync = i64(0), i64(1), lambda: None
    keys = list(zip(k.ins, dts))[: eqn.params["num_keys"]]
    with rows_loop as r:
        sorter = _Sorter(b, keys, n, inner, _row_base(b, r, n, inner), j0, dj, sync)
        final = sorter.sort(perm_a, perm_b)
        with sorter.elements() as j:
            at, src = sorter.at(j), sorter.at(sorter.perm(final, j))
            for x, out, dt in zip(k.ins, k.outs, dts):
                _store(b, out, at, _load(b, x, src, dt), dt)
    if per_block:
        threads = min(codegen.BLOCK, 32 * codegen.cdiv(n, 32))
        return [k.launch_grid("sort_block", min(rows, MAX_GRID), threads)]
    return [k.launch("sort_thread", rows)]


register("sort", check_sort, emit_sort)
