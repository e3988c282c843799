"""CUDA op kernel for ``conv_general_dilated`` (layouts NC<spatial> / OI<window>, any number of
spatial dimensions, strides, padding pairs that may be negative, lhs (input) dilation, rhs
(window) dilation, feature groups, ``preferred_element_type``): a direct convolution, no
im2col buffer.

Output element ``(n, o, p...)`` of group ``g = o // (O / G)`` is

    sum over c < C/G and window offsets k... of  x[n, g*C/G + c, i...] * w[o, c, k...]

where, per spatial dimension, ``t = p*stride + k*rhs_dilation - pad_lo`` is a position on the
padded, lhs-dilated input axis: it hits input element ``i = t / lhs_dilation`` when
``0 <= t <= (n_in - 1)*lhs_dilation`` and ``t % lhs_dilation == 0``, else it reads a padding
zero (``indexing.dilated_coord``). That is exactly the numpy impl's ``_pad_impl`` followed by a
strided window, so the gradients (convs with lhs dilation, negative padding and swapped roles)
need nothing special.

Two schedules, both reading through the same ``_window`` arithmetic:

- one thread per output element (grid-stride loop): nested loops over the window, a window
  position missing the input skips its whole channel loop; the channel loop is innermost;
- one block per output element when the outputs are few and the sums long (a weight gradient:
  ``(C, O, kh, kw)`` outputs, each a sum over batch x output pixels): the threads stride over
  the flattened (channel, window) positions, then a block reduction (``codegen.block_reduce``).

Accumulation: float32 for float16 inputs (numpy's float16 matmul accumulates in float16, so
long float16 sums differ from the CPU by more than rounding), float32/float64 with fused
multiply-adds, integers in their own width (wrapping, bit-exact with numpy), bool as or-of-ands.
The sum is rounded to the input dtype, then converted to ``preferred_element_type`` as the impl
does. Refused: non-positive strides/dilations/groups, and bool inputs with a non-bool output.
"""

from __future__ import annotations

import numpy as np
from funcgrad.backend.llvm import scalar as S
from funcgrad.backend.llvm.builders import for_range, local

from .. import codegen, ptx
from ..ptx import i64
from . import register
from .indexing import all_of, contiguous_strides, dilated_coord, dot_offset, prod, unravel
from .kernel import Kernel, index_type

BLOCK_MAX_OUTPUTS = 16384  # fewer outputs than this ...
BLOCK_MIN_TERMS = 256  # ... each summing at least this many terms: one block per output


def _check(eqn):
    lhs, rhs = (x.aval for x in eqn.inputs)
    out, p = eqn.out_binders[0].aval, eqn.params
    if lhs.ndim < 3 or rhs.ndim != lhs.ndim or np.dtype(lhs.dtype) != np.dtype(rhs.dtype):
        return None
    if (
        min(
            (
                *p["window_strides"],
                *p["lhs_dilation"],
                *p["rhs_dilation"],
                p["feature_group_count"],
            ),
            default=1,
        )
        < 1
    ):
        return None
    if np.dtype(lhs.dtype).kind == "b" and np.dtype(out.dtype).kind != "b":
        return None
    return 0


class _Conv:
    """The static geometry of one convolution equation."""

    def __init__(self, eqn):
        lhs, rhs = (x.aval for x in eqn.inputs)
        p = eqn.params
        self.dtype, self.out_dtype = np.dtype(lhs.dtype), np.dtype(eqn.out_binders[0].aval.dtype)
        self.acc = np.dtype("float32") if self.dtype == np.float16 else self.dtype
        (self.n, self.c), self.in_sp = lhs.shape[:2], lhs.shape[2:]
        self.o, self.k_sp = rhs.shape[0], rhs.shape[2:]
        self.out_shape = eqn.out_binders[0].aval.shape
        self.groups = p["feature_group_count"]
        self.cg, self.og = self.c // self.groups, self.o // self.groups
        self.strides, self.padding = p["window_strides"], p["padding"]
        self.lhs_dil, self.rhs_dil = p["lhs_dilation"], p["rhs_dilation"]
        self.x_strides, self.w_strides = (
            contiguous_strides(lhs.shape),
            contiguous_strides(rhs.shape),
        )
        self.n_out, self.n_terms = prod(self.out_shape), self.cg * prod(self.k_sp)

    def index_type(self):
        reach = [
            abs(lo) + abs(hi) + (n + 1) * ld + (k + 1) * rd + o * s
            for n, k, o, s, (lo, hi), ld, rd in zip(
                self.in_sp,
                self.k_sp,
                self.out_shape[2:],
                self.strides,
                self.padding,
                self.lhs_dil,
                self.rhs_dil,
            )
        ]
        return index_type(
            self.n_out,
            self.n * self.c * prod(self.in_sp),
            self.o * self.cg * prod(self.k_sp),
            *reach,
        )

    def window(self, b, d: int, p, k) -> tuple:
        """Spatial dim ``d``: does window offset ``k`` of output position ``p`` hit an input
        element, and which (``(hit, index)``, index 0 on a miss)."""
        t = b.add(b.mul(p, p.type(self.strides[d])), b.mul(k, k.type(self.rhs_dil[d])))
        t = b.sub(t, t.type(self.padding[d][0]))
        return dilated_coord(b, t, self.in_sp[d], self.lhs_dil[d])

    def bases(self, k: Kernel, coords) -> tuple:
        """Offsets of channel 0 of the input and weights feeding output ``(n, o, ...)``."""
        b, (n, o) = k.b, coords[:2]
        g = b.udiv(o, k.c(self.og)) if self.groups > 1 else k.c(0)
        x_base = b.add(b.mul(n, k.c(self.x_strides[0])), b.mul(g, k.c(self.cg * self.x_strides[1])))
        return x_base, b.mul(o, k.c(self.w_strides[0]))

    def mac(self, k: Kernel, acc_slot, x_buf, x_pos, w_buf, w_pos) -> None:
        """``acc += x[x_pos] * w[w_pos]`` in the accumulator dtype."""
        b, acc_ty = k.b, S.ir_type(self.acc)
        x = S.convert(b, k.read(x_buf, x_pos), self.dtype, self.acc)
        w = S.convert(b, k.read(w_buf, w_pos), self.dtype, self.acc)
        acc = b.load(acc_slot, typ=acc_ty)
        if self.acc.kind == "f":
            new = S.Emitter(b).intrinsic("llvm.fma", acc_ty, [x, w, acc])
        else:  # ints wrap; bool: add is "or", mul is "and"
            prod_ = S.emit(b, "mul", [x, w], [self.acc] * 2, self.acc)
            new = S.emit(b, "add", [acc, prod_], [self.acc] * 2, self.acc)
        b.store(new, acc_slot)

    def result(self, b, acc):
        value = S.convert(b, acc, self.acc, self.dtype)
        return S.convert(b, value, self.dtype, self.out_dtype)

    def combine(self, b, x, y):
        return S.emit(b, "add", [x, y], [self.acc] * 2, self.acc)


def _emit_thread_per_output(cv: _Conv, k: Kernel, lhs, rhs, out):
    b = k.b
    with k.elements(cv.n_out) as flat:
        coords = unravel(b, flat, cv.out_shape)
        x_base, w_base = cv.bases(k, coords)
        acc = local(b, S.const(cv.acc, 0))
        _window_nest(cv, k, acc, lhs, rhs, coords[2:], 0, x_base, w_base)
        k.store(out, flat, cv.result(b, b.load(acc, typ=S.ir_type(cv.acc))))
    return k.launch("conv_thread", cv.n_out)


def _window_nest(cv: _Conv, k: Kernel, acc, lhs, rhs, ps, d, x_off, w_off):
    """Loops over the window offsets of spatial dims ``d...``, then over the channels."""
    b = k.b
    if d == len(ps):
        with for_range(b, k.c(0), k.c(cv.cg), name="c") as c:
            x_pos = b.add(x_off, b.mul(c, k.c(cv.x_strides[1])))
            cv.mac(k, acc, lhs, x_pos, rhs, b.add(w_off, b.mul(c, k.c(cv.w_strides[1]))))
        return
    with for_range(b, k.c(0), k.c(cv.k_sp[d]), name=f"k{d}") as kd:
        hit, i = cv.window(b, d, ps[d], kd)
        with b.if_then(hit):
            _window_nest(
                cv,
                k,
                acc,
                lhs,
                rhs,
                ps,
                d + 1,
                b.add(x_off, b.mul(i, k.c(cv.x_strides[d + 2]))),
                b.add(w_off, b.mul(kd, k.c(cv.w_strides[d + 2]))),
            )


def _emit_block_per_output(cv: _Conv, k: Kernel, lhs, rhs, out):
    b = k.b
    tid, ntid = ptx.thread_idx(b), ptx.block_dim(b)
    tid, ntid = (b.zext(v, k.ity) if k.ity.width > 32 else v for v in (tid, ntid))
    first, every = b.zext(ptx.block_idx(b), i64), b.zext(ptx.grid_dim(b), i64)
    with for_range(b, first, i64(cv.n_out), every, name="o") as o64:
        flat = b.trunc(o64, k.ity) if k.ity.width < 64 else o64
        coords = unravel(b, flat, cv.out_shape)
        x_base, w_base = cv.bases(k, coords)
        acc = local(b, S.const(cv.acc, 0))
        with for_range(b, tid, k.c(cv.n_terms), ntid, name="r") as r:
            c, *ks = unravel(b, r, (cv.cg, *cv.k_sp))
            hits, x_pos, w_pos = (
                [],
                b.add(x_base, b.mul(c, k.c(cv.x_strides[1]))),
                b.add(w_base, dot_offset(b, [c, *ks], cv.w_strides[1:], k.ity)),
            )
            for d, kd in enumerate(ks):
                hit, i = cv.window(b, d, coords[2 + d], kd)
                hits.append(hit)
                x_pos = b.add(x_pos, b.mul(i, k.c(cv.x_strides[d + 2])))
            with b.if_then(all_of(b, hits)):
                cv.mac(k, acc, lhs, x_pos, rhs, w_pos)
        zero = S.const(cv.acc, 0)
        total = codegen.block_reduce(b, b.load(acc, typ=S.ir_type(cv.acc)), cv.combine, zero)
        with b.if_then(b.icmp_unsigned("==", tid, tid.type(0))):
            k.store(out, flat, cv.result(b, total))
    threads = min(codegen.BLOCK, 32 * codegen.cdiv(cv.n_terms, 32))
    return k.launch_grid("conv_block", min(cv.n_out, 65535 * 16), threads)


def use_block_schedule(cv: _Conv) -> bool:
    return cv.n_out < BLOCK_MAX_OUTPUTS and cv.n_terms >= BLOCK_MIN_TERMS


def _emit(module, program, step, index):
    cv = _Conv(step.eqn)
    (lhs, rhs), out = step.inputs, step.outputs[0]
    block = use_block_schedule(cv)
    k = Kernel.for_buffers(
        module,
        program,
        index,
        "conv_block" if block else "conv",
        [lhs, rhs, out],
        {out},
        cv.index_type(),
    )
    emit = _emit_block_per_output if block else _emit_thread_per_output
    return [emit(cv, k, lhs, rhs, out)]


register("conv_general_dilated", _check, _emit)
