"""Native CPU convolution (``conv_general_dilated``): im2col into the scratch buffer, then gemm.

Layouts are the primitive's: lhs ``(N, C, *spatial)``, rhs ``(O, C/G, *window)``, out
``(N, O, *spatial)``, with 1 to 3 spatial dims. For image ``n`` and feature group ``g``

    out[n, g*og:(g+1)*og, :]  (og, P)  =  W[g]  (og, cg*K)  @  cols  (cg*K, P)

where ``K`` is the number of window taps, ``P`` the number of output positions and
``cols[(c, tap), p]`` the input element that tap sees from output position ``p`` (zero in the
padding and between lhs-dilated samples). ``W[g]`` is the rhs as it lies in memory and the gemm
writes the output rows in place (``ldc = P``): nothing is transposed.

Geometry, per spatial dim (``_table_rows``): output index ``o`` with tap ``t`` reads position
``q = o*stride + t*rhs_dil - pad_lo`` of the dilated input, i.e. input sample ``q / lhs_dil``
when ``q`` is a multiple of ``lhs_dil`` in ``[0, (n-1)*lhs_dil]`` (negative padding is just a
negative ``pad_lo``). For a fixed tap the valid ``o`` are an arithmetic progression
``first + j*step_o`` (``j < count``) reading sample ``istart + j*step_i``. These triples are a
constant table per dim, so the fill never divides or tests per element: for each (channel, tap)
and output row, the innermost loop over output x writes zeros, a copy with the constant input
stride ``step_i``, and zeros (with lhs dilation: a zeroed run, then a store every ``step_o``).
LLVM widens those loops; the zero runs become ``memset``. When the window is wider than the
output (weight gradients: the "window" is a whole feature map, the output a few taps) the
roles swap (``transposed``): ``cols[p, (c, tap)]`` is filled with the inner loop over the
window's last dim, from tables indexed by output position, and the gemm takes it as ``B^T``.

Tiling keeps the scratch at most ``SCRATCH_BYTES`` per thread (``_plan``):

- columns: a whole image per gemm when it fits; several images side by side when an image has
  few output positions (``BATCH_COLUMNS``: weight gradients, small late layers), their products
  going to a scratch block that is then copied to the output (the one copy, small since ``P``
  is); otherwise a range of rows of one spatial level of the output;
- channels: when even that is too big (a weight gradient's "channels" are the batch and its
  window a whole feature map), a group's channels in chunks whose gemms accumulate
  (``beta = 1`` after the first).

Column tiles are the work items. The gemm is ``blas.declare_gemm``: numpy's OpenBLAS or the
generated one. OpenBLAS threads each big product itself, so the items then run in order (our
threads calling it at once oversubscribe the cores: measured slower); with a single-threaded
gemm (the generated one, or ``OPENBLAS_NUM_THREADS=1``) big convolutions split the items over
threads (``parallel.emit_parallel_for``), each with its own slot of the scratch. ``check`` refuses
dtypes other than float32/float64, a ``preferred_element_type`` other than the input dtype,
literal operands, and (never met in practice) a window so large that one channel's columns
alone exceed ``MAX_SCRATCH_BYTES``: those run with numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from funcgrad.backend.llvm.builders import for_range
from funcgrad.backend.llvm.scalar import ir_type
from llvmlite import ir

from .. import blas, engine, parallel
from . import new_function, register

I32, I64, PTR = ir.IntType(32), ir.IntType(64), ir.PointerType()
SCRATCH_BYTES = 8 << 20  # im2col columns per thread (per work item in flight)
MAX_SCRATCH_BYTES = 64 << 20  # a single channel's columns may use up to this, else refused
MIN_COLUMNS = 256  # columns kept per gemm (if the image has them) before chunking channels
BATCH_COLUMNS = 512  # images with fewer output positions share a gemm, up to this many columns
PARALLEL_MIN_FLOPS = 1 << 24  # multiply-adds before the work items are split over threads
MAX_SLOTS = 8  # threads (scratch slots) at most
ALIGN = 64


def _c(v) -> ir.Constant:
    return ir.Constant(I64, int(v))


def _prod(xs) -> int:
    return int(np.prod(xs, dtype=np.int64))


def _align(nbytes: int) -> int:
    return -(-nbytes // ALIGN) * ALIGN


# ---- geometry ------------------------------------------------------------------------------------


def _progression(n, lo, ld, b_step, b_count, c0) -> tuple[int, int, int]:
    """``(first, count, istart)``: the ``b`` in ``[0, b_count)`` for which position
    ``q = b*b_step + c0`` of the dilated input is a sample (a multiple of ``ld`` in
    ``[0, (n-1)*ld]``) are ``first + j*step_b`` for ``j < count``; the first reads ``istart``."""
    g = math.gcd(b_step, ld)
    step_b = ld // g
    if n == 0 or b_count == 0 or c0 % g:
        return 0, 0, 0
    # b*b_step = -c0 (mod ld)  <=>  b = r (mod step_b): b_step/g is invertible modulo step_b
    r = (-(c0 // g) * pow(b_step // g, -1, step_b)) % step_b if step_b > 1 else 0
    lo_b = max(0, -(c0 // b_step))  # smallest b with q >= 0
    first = lo_b + (r - lo_b) % step_b
    hi_b = min(b_count - 1, ((n - 1) * ld - c0) // b_step)  # largest b with q <= (n-1)*ld
    if hi_b < first:
        return 0, 0, 0
    return first, (hi_b - first) // step_b + 1, (first * b_step + c0) // ld


def _table_rows(n, lo, ld, a_step, a_count, b_step, b_count) -> tuple[list, tuple]:
    """For each ``a`` in ``[0, a_count)`` the progression of the ``b`` that read a sample at
    ``q = a*a_step + b*b_step - lo``; and ``(step_b, step_i)``, the same for every ``a``.
    (a, b) is (tap, output index) for the plain fill, (output index, tap) for the transposed."""
    g = math.gcd(b_step, ld)
    rows = [_progression(n, lo, ld, b_step, b_count, a * a_step - lo) for a in range(a_count)]
    return rows, (ld // g, b_step // g)


@dataclass(frozen=True)
class _Conv:
    """The shapes and parameters of one convolution equation."""

    n: int
    c: int
    o: int
    groups: int
    in_sp: tuple
    k_sp: tuple
    out_sp: tuple
    strides: tuple
    padding: tuple
    lhs_dil: tuple
    rhs_dil: tuple
    dtype: np.dtype

    @property
    def cg(self) -> int:
        return self.c // self.groups

    @property
    def og(self) -> int:
        return self.o // self.groups

    @property
    def taps(self) -> int:
        return _prod(self.k_sp)

    @property
    def p(self) -> int:
        return _prod(self.out_sp)

    @property
    def plane(self) -> int:
        return _prod(self.in_sp)

    def dim_table(self, d: int, transposed: bool):
        """``_table_rows`` of spatial dim ``d``: rows per tap (plain) or per output index."""
        tap, out = (self.rhs_dil[d], self.k_sp[d]), (self.strides[d], self.out_sp[d])
        a, b = (out, tap) if transposed else (tap, out)
        return _table_rows(self.in_sp[d], self.padding[d][0], self.lhs_dil[d], *a, *b)


def _geometry(eqn) -> _Conv | None:
    from funcgrad._src.core import Literal

    lhs, rhs = (x.aval for x in eqn.inputs)
    out = eqn.out_binders[0].aval
    p = eqn.params
    dt = np.dtype(lhs.dtype)
    if any(isinstance(x, Literal) for x in eqn.inputs) or dt not in (np.float32, np.float64):
        return None
    if np.dtype(rhs.dtype) != dt or np.dtype(out.dtype) != dt or not 1 <= lhs.ndim - 2 <= 3:
        return None
    return _Conv(
        lhs.shape[0],
        lhs.shape[1],
        rhs.shape[0],
        p["feature_group_count"],
        tuple(lhs.shape[2:]),
        tuple(rhs.shape[2:]),
        tuple(out.shape[2:]),
        tuple(p["window_strides"]),
        tuple(p["padding"]),
        tuple(p["lhs_dilation"]),
        tuple(p["rhs_dilation"]),
        dt,
    )


# ---- tiling --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """How the work is cut. A work item is ``images`` whole images side by side (several: their
    products go through a block after the columns), or, with ``images == 1``, one image's output
    rows ``[r, r + rows)`` of spatial dim ``level`` (one index of the dims before it, all of the
    dims after it). ``chans`` channels of a group are filled and multiplied at a time.
    ``transposed``: the columns are stored as rows (``cols[p, (c, tap)]``, gemm with op(B) =
    B^T) so that the fill's inner loop runs over the window instead of a short output row."""

    images: int
    level: int
    rows: int
    chans: int
    columns: int  # output positions per work item at most
    items: int
    slots: int
    transposed: bool

    def cols_bytes(self, cv: _Conv) -> int:
        return _align(self.chans * cv.taps * self.columns * cv.dtype.itemsize)

    def slot_bytes(self, cv: _Conv) -> int:
        block = cv.o * self.columns * cv.dtype.itemsize if self.images > 1 else 0
        return self.cols_bytes(cv) + _align(block)

    def ld_cols(self, cv: _Conv) -> int:
        """Row stride of the columns buffer."""
        return self.chans * cv.taps if self.transposed else self.columns


def _plan(cv: _Conv) -> _Plan | None:
    budget = SCRATCH_BYTES // cv.dtype.itemsize  # elements
    per_col = cv.cg * cv.taps
    if per_col * cv.p <= budget:  # whole images (maybe several) with all a group's channels
        images = 1
        if cv.p < BATCH_COLUMNS:
            images = max(1, min(cv.n, budget // (per_col * cv.p), -(-BATCH_COLUMNS // cv.p)))
        return _finish(cv, images, 0, cv.out_sp[0], cv.cg, images * cv.p)
    target = max(min(cv.p, MIN_COLUMNS), budget // per_col)
    level = next(d for d in range(len(cv.out_sp)) if _prod(cv.out_sp[d + 1 :]) <= target)
    inner = _prod(cv.out_sp[level + 1 :])
    rows = max(1, min(cv.out_sp[level], target // inner))
    chans = max(1, min(cv.cg, budget // (cv.taps * rows * inner)))
    if chans * cv.taps * rows * inner * cv.dtype.itemsize > MAX_SCRATCH_BYTES:
        return None
    return _finish(cv, 1, level, rows, chans, rows * inner)


def _finish(cv, images, level, rows, chans, columns) -> _Plan:
    whole = level == 0 and rows == cv.out_sp[0]
    if images > 1:
        items = -(-cv.n // images)
    else:
        items = cv.n * _prod(cv.out_sp[:level]) * -(-cv.out_sp[level] // rows)
    work = cv.n * cv.o * cv.p * cv.cg * cv.taps
    serial = work < PARALLEL_MIN_FLOPS or blas.blas_threads() > 1
    slots = 1 if serial else max(1, min(MAX_SLOTS, items))
    transposed = whole and cv.k_sp[-1] > cv.out_sp[-1]
    return _Plan(images, level, rows, chans, columns, items, slots, transposed)


def conv_check(eqn):
    cv = _geometry(eqn)
    if cv is None:
        return None
    if cv.n * cv.o * cv.p == 0 or cv.cg * cv.taps == 0:
        return 0  # nothing to compute, or all zeros: no gemm
    plan = _plan(cv)
    if plan is None:
        return None
    big = max(cv.p, plan.columns, cv.cg * cv.taps)
    if blas.blas_int_type().width < 64 and big >= 2**31:
        return None
    return plan.slots * plan.slot_bytes(cv)


# ---- emission ------------------------------------------------------------------------------------


class _Emit:
    """One convolution kernel being emitted: geometry, plan, the per-dim progression tables.

    The fill walks a *row space* flat (each index picks, per dim, a table row) and, inside it,
    a *run space* with nested loops whose innermost one writes a contiguous run of columns:
    plain, the row space is the window taps and the run space the output positions;
    transposed, the other way round."""

    def __init__(self, module, name, cv: _Conv, plan: _Plan):
        self.cv, self.plan = cv, plan
        self.ty = ir_type(cv.dtype)
        self.gemm = blas.declare_gemm(module, cv.dtype)
        self.tables, self.steps = [], []
        for d in range(len(cv.in_sp)):
            rows, steps = cv.dim_table(d, plan.transposed)
            self.tables.append(_table(module, f"{name}.taps{d}", rows))
            self.steps.append(steps)
        self.in_strides = _strides(cv.in_sp)
        self.out_strides = _strides(cv.out_sp)
        row_space = cv.out_sp if plan.transposed else cv.k_sp
        self.row_space, self.row_strides = row_space, _strides(row_space)

    # -- elements --------------------------------------------------------------------------

    def at(self, b, ptr, index):
        return b.gep(ptr, [index], source_etype=self.ty, inbounds=True)

    def zero(self, b, ptr, start, count):
        with for_range(b, count, name="z") as j:
            b.store(ir.Constant(self.ty, 0.0), self.at(b, ptr, b.add(start, j)))

    def strided_copy(self, b, dst, dst_start, dst_step, src, src_start, src_step, count):
        """``dst[dst_start + j*dst_step] = src[src_start + j*src_step]`` for ``j < count``."""
        with for_range(b, count, vectorize=True, name="cp") as j:
            s = b.add(src_start, b.mul(j, _c(src_step)) if src_step != 1 else j)
            d = b.add(dst_start, b.mul(j, _c(dst_step)) if dst_step != 1 else j)
            b.store(b.load(self.at(b, src, s), typ=self.ty), self.at(b, dst, d))

    # -- im2col ----------------------------------------------------------------------------

    def fill(self, b, x, cols, nchans, ranges, col0):
        """The columns of channels ``[0, nchans)`` of ``x`` (a pointer to the first) for the
        output positions of ``ranges`` (``(lo, hi)`` per dim), at column ``col0`` on."""
        cv = self.cv
        if not self.plan.transposed:
            with _loop(b, nchans, "ch") as ch, _loop(b, cv.taps, "a") as a:
                row = b.add(b.mul(ch, _c(cv.taps)), a)
                coff = b.add(b.mul(row, _c(self.plan.columns)), col0)
                self.walk(b, 0, x, cols, self.entries(b, a), ranges, b.mul(ch, _c(cv.plane)), coff)
            return
        taps = [(_c(0), _c(k)) for k in cv.k_sp]  # transposed: whole images only
        ld = self.plan.ld_cols(cv)
        with for_range(b, cv.p, name="a", unroll=False) as a:
            entries = self.entries(b, a)
            base = b.mul(b.add(col0, a), _c(ld))
            with for_range(b, nchans, name="ch", unroll=False) as ch:
                coff = b.add(base, b.mul(ch, _c(cv.taps)))
                self.walk(b, 0, x, cols, entries, taps, b.mul(ch, _c(cv.plane)), coff)

    def entries(self, b, a):
        """Per dim, the table row ``(first, count, istart)`` of row-space index ``a``."""
        out = []
        for d, (size, stride) in enumerate(zip(self.row_space, self.row_strides)):
            t = b.udiv(a, _c(stride)) if stride > 1 else a
            t = b.urem(t, _c(size)) if d else t
            base = b.mul(t, _c(3))
            out.append(
                [
                    b.load(b.gep(self.tables[d], [b.add(base, _c(i))], source_etype=I64), typ=I64)
                    for i in range(3)
                ]
            )
        return out

    def walk(self, b, d, x, cols, entries, ranges, xoff, coff):
        """Columns ``coff`` on for run-space dims ``d`` on, input at ``xoff``."""
        first, count, istart = entries[d]
        lo, hi = ranges[d]
        step_b, step_i = self.steps[d]
        if d == len(ranges) - 1:
            return self.run(b, x, cols, entries[d], ranges[d], self.steps[d], xoff, coff)
        block = _c(1)  # columns per index of dim d
        for r0, r1 in ranges[d + 1 :]:
            block = b.mul(block, b.sub(r1, r0))
        with for_range(b, lo, hi, name=f"r{d}", unroll=False) as r:
            dst = b.add(coff, b.mul(b.sub(r, lo), block))
            rel = b.sub(r, first)
            ok = b.and_(
                b.icmp_signed(">=", rel, _c(0)), b.icmp_signed("<", rel, b.mul(count, _c(step_b)))
            )
            if step_b > 1:
                ok = b.and_(ok, b.icmp_signed("==", b.srem(rel, _c(step_b)), _c(0)))
                rel = b.sdiv(rel, _c(step_b))
            with b.if_else(ok) as (sample, padding):
                with sample:
                    i = b.add(istart, b.mul(rel, _c(step_i)))
                    src = b.add(xoff, b.mul(i, _c(self.in_strides[d])))
                    self.walk(b, d + 1, x, cols, entries, ranges, src, dst)
                with padding:
                    self.zero(b, cols, dst, block)

    def run(self, b, x, cols, entry, rng, steps, xoff, coff):
        """The innermost run ``[lo, hi)``: zeros, the samples (input stride ``step_i``), zeros;
        with ``step_b > 1`` (lhs dilation) zeros, then a sample every ``step_b``."""
        (first, count, istart), (lo, hi), (step_b, step_i) = entry, rng, steps
        j0 = _ceil_div_pos(b, b.sub(lo, first), step_b)
        j1 = _imin(b, count, _ceil_div_pos(b, b.sub(hi, first), step_b))
        n = _imax(b, b.sub(j1, j0), _c(0))
        ext = b.sub(hi, lo)
        start = b.sub(b.add(first, b.mul(j0, _c(step_b))), lo)  # run index of the first sample
        src = b.add(xoff, b.add(istart, b.mul(j0, _c(step_i))))
        if step_b == 1:
            pre = b.select(b.icmp_signed(">", n, _c(0)), start, ext)
            self.zero(b, cols, coff, pre)
            self.strided_copy(b, cols, b.add(coff, pre), 1, x, src, step_i, n)
            self.zero(b, cols, b.add(coff, b.add(pre, n)), b.sub(ext, b.add(pre, n)))
        else:
            self.zero(b, cols, coff, ext)
            self.strided_copy(b, cols, b.add(coff, start), step_b, x, src, step_i, n)

    # -- gemm ------------------------------------------------------------------------------

    def call_gemm(self, b, m, n, k, a, lda, bm, ldb, beta, c, ldc):
        it = self.gemm.function_type.args[3]
        cast = lambda v: v if v.type == it else b.trunc(v, it)
        tb = blas.TRANS if self.plan.transposed else blas.NO_TRANS
        b.call(
            self.gemm,
            [
                ir.Constant(I32, blas.ROW_MAJOR),
                ir.Constant(I32, blas.NO_TRANS),
                ir.Constant(I32, tb),
                cast(m),
                cast(n),
                cast(k),
                ir.Constant(self.ty, 1.0),
                a,
                cast(lda),
                bm,
                cast(ldb),
                beta,
                c,
                cast(ldc),
            ],
        )

    def group_products(self, b, x_img, w, cols, fill, target, ldc):
        """For every group and chunk of its channels: ``n = fill(x, nchans)`` (``x`` the
        chunk's first channel) fills the columns, then ``target(g) (+)= W[g, chunk] @ cols``."""
        cv, plan = self.cv, self.plan
        nchunks = -(-cv.cg // plan.chans)
        cgk = cv.cg * cv.taps
        with _loop(b, cv.groups, "g") as g, _loop(b, nchunks, "cc") as cc:
            c0 = b.mul(cc, _c(plan.chans))
            nch = _imin(b, _c(plan.chans), b.sub(_c(cv.cg), c0))
            first_ch = b.add(b.mul(g, _c(cv.cg)), c0)
            n = fill(self.at(b, x_img, b.mul(first_ch, _c(cv.plane))), nch)
            a = self.at(b, w, b.add(b.mul(g, _c(cv.og * cgk)), b.mul(c0, _c(cv.taps))))
            beta = b.select(
                b.icmp_signed("==", cc, _c(0)), ir.Constant(self.ty, 0.0), ir.Constant(self.ty, 1.0)
            )
            self.call_gemm(
                b,
                _c(cv.og),
                n,
                b.mul(nch, _c(cv.taps)),
                a,
                _c(cgk),
                cols,
                _c(plan.ld_cols(cv)),
                beta,
                target(g),
                ldc,
            )

    # -- work items ------------------------------------------------------------------------

    def run_items(self, b, x, w, out, cols, lo, hi):
        with for_range(b, lo, hi, name="item", unroll=False) as item:
            if self.plan.images > 1:
                self.batch_item(b, x, w, out, cols, item)
            else:
                self.tile_item(b, x, w, out, cols, item)

    def tile_item(self, b, x, w, out, cols, item):
        """One image, output rows ``[r, r + rows)`` of dim ``level``: the gemm writes ``out``."""
        cv, plan = self.cv, self.plan
        lv = plan.level
        counts = [cv.n] + list(cv.out_sp[:lv]) + [-(-cv.out_sp[lv] // plan.rows)]
        idx = _unravel(b, item, counts)
        n, outer, chunk = idx[0], idx[1:-1], idx[-1]
        r0 = b.mul(chunk, _c(plan.rows))
        r1 = _imin(b, b.add(r0, _c(plan.rows)), _c(cv.out_sp[lv]))
        ranges = [(o, b.add(o, _c(1))) for o in outer] + [(r0, r1)]
        ranges += [(_c(0), _c(s)) for s in cv.out_sp[lv + 1 :]]
        pstart = _c(0)
        for (o, _), s in zip(ranges[: lv + 1], self.out_strides):
            pstart = b.add(pstart, b.mul(o, _c(s)))
        ncols = b.mul(b.sub(r1, r0), _c(self.out_strides[lv]))
        x_img = self.at(b, x, b.mul(n, _c(cv.c * cv.plane)))
        out_img = b.mul(n, _c(cv.o))

        def fill(xg, nch):
            self.fill(b, xg, cols, nch, ranges, _c(0))
            return ncols

        def target(g):
            row = b.add(out_img, b.mul(g, _c(cv.og)))
            return self.at(b, out, b.add(b.mul(row, _c(cv.p)), pstart))

        self.group_products(b, x_img, w, cols, fill, target, _c(cv.p))

    def batch_item(self, b, x, w, out, cols, item):
        """Images ``[n0, n0 + images)`` side by side in the columns; their products go to a
        block after the columns, then to the output."""
        cv, plan = self.cv, self.plan
        n0 = b.mul(item, _c(plan.images))
        nimg = _imin(b, _c(plan.images), b.sub(_c(cv.n), n0))
        ranges = [(_c(0), _c(s)) for s in cv.out_sp]
        block = self.at(b, cols, _c(plan.cols_bytes(cv) // cv.dtype.itemsize))

        def fill(xg, nch):
            with for_range(b, nimg, name="img", unroll=False) as i:
                xi = self.at(b, xg, b.mul(i, _c(cv.c * cv.plane)))
                self.fill(b, xi, cols, nch, ranges, b.mul(i, _c(cv.p)))
            return b.mul(nimg, _c(cv.p))

        def target(g):
            return self.at(b, block, b.mul(g, _c(cv.og * plan.columns)))

        x_first = self.at(b, x, b.mul(n0, _c(cv.c * cv.plane)))
        self.group_products(b, x_first, w, cols, fill, target, _c(plan.columns))
        with _loop(b, nimg, "bi") as i, _loop(b, cv.o, "bo") as o:
            dst = b.mul(b.add(b.mul(b.add(n0, i), _c(cv.o)), o), _c(cv.p))
            src = b.add(b.mul(o, _c(plan.columns)), b.mul(i, _c(cv.p)))
            self.strided_copy(b, out, dst, 1, block, src, 1, _c(cv.p))


def _loop(b, n, name):
    """An outer loop: never unrolled (LLVM would copy the vectorised inner loops per trip)."""
    return for_range(b, n, name=name, unroll=False)


def _strides(shape) -> list:
    return [_prod(shape[d + 1 :]) for d in range(len(shape))]


def _table(module, name, rows) -> ir.GlobalVariable:
    flat = [v for row in rows for v in row] or [0]
    ty = ir.ArrayType(I64, len(flat))
    g = ir.GlobalVariable(module, ty, name)
    g.global_constant, g.linkage = True, "private"
    g.initializer = ir.Constant(ty, [ir.Constant(I64, v) for v in flat])
    return g


def _unravel(b, flat, counts) -> list:
    """Row-major indices of ``flat`` over ``counts``."""
    idx = []
    for size in reversed(counts[1:]):
        idx.append(b.urem(flat, _c(size)))
        flat = b.udiv(flat, _c(size))
    return [flat] + idx[::-1]


def _imin(b, x, y):
    return b.select(b.icmp_signed("<", x, y), x, y)


def _imax(b, x, y):
    return b.select(b.icmp_signed(">", x, y), x, y)


def _ceil_div_pos(b, a, m: int):
    """``ceil(a / m)`` for ``a > 0``, else 0 (``m`` a positive constant)."""
    q = a if m == 1 else b.sdiv(b.add(a, _c(m - 1)), _c(m))
    return b.select(b.icmp_signed(">", a, _c(0)), q, _c(0))


def _zero_output(module, b, out, cv: _Conv):
    ty = ir_type(cv.dtype)
    with for_range(b, cv.n * cv.o * cv.p, name="z") as i:
        b.store(ir.Constant(ty, 0.0), b.gep(out, [i], source_etype=ty, inbounds=True))


def conv_emit(module, program, step, name, num_threads):
    cv = _geometry(step.eqn)
    fn = new_function(module, name, 3 + (step.scratch >= 0))
    for a in fn.args[2:]:
        a.add_attribute("noalias")  # the output and the scratch overlap nothing
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    x, w, out = fn.args[:3]
    if cv.n * cv.o * cv.p and cv.cg * cv.taps == 0:  # empty sums
        _zero_output(module, b, out, cv)
    elif cv.n * cv.o * cv.p:
        plan = _plan(cv)
        em = _Emit(module, name, cv, plan)
        threads = max(1, min(num_threads, plan.slots))
        if threads == 1:
            em.run_items(b, x, w, out, fn.args[3], _c(0), _c(plan.items))
        else:
            _emit_threads(module, name, em, b, fn.args, threads)
    b.ret_void()
    return fn


def _emit_threads(module, name, em: _Emit, b, args, threads):
    """Thread ``t`` runs work items ``[t*items/threads, (t+1)*items/threads)`` with scratch
    slot ``t`` (``parallel_for`` over ``threads`` tasks of one)."""
    worker = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR, I64, I64]), name + ".w")
    worker.linkage = "internal"
    engine.set_function_attributes(worker)
    wb = ir.IRBuilder(worker.append_basic_block("entry"))
    ctx, t0, t1 = worker.args
    ptrs = [wb.load(wb.gep(ctx, [_c(i)], source_etype=PTR), typ=PTR) for i in range(4)]
    items, slot_bytes = em.plan.items, em.plan.slot_bytes(em.cv)
    with for_range(wb, t0, t1, name="t", unroll=False) as t:
        lo = wb.udiv(wb.mul(t, _c(items)), _c(threads))
        hi = wb.udiv(wb.mul(wb.add(t, _c(1)), _c(items)), _c(threads))
        slot = wb.gep(ptrs[3], [wb.mul(t, _c(slot_bytes))], source_etype=ir.IntType(8))
        em.run_items(wb, ptrs[0], ptrs[1], ptrs[2], slot, lo, hi)
    wb.ret_void()
    pfor = parallel.emit_parallel_for(module, worker, name + ".pfor")
    arr = b.alloca(PTR, _c(4))
    for i, a in enumerate(args):
        b.store(a, b.gep(arr, [_c(i)], source_etype=PTR))
    b.call(pfor, [arr, _c(threads), _c(1), ir.Constant(I32, threads)])


register("conv_general_dilated", conv_check, conv_emit)
