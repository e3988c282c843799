"""GEMM for JIT code: numpy's bundled OpenBLAS bound by a fixed name, or a generated fallback.

``declare_gemm(module, dtype)`` gives JIT code a function with the CBLAS ``?gemm`` signature

    void fg_sgemm(i32 order, i32 transA, i32 transB, iN M, iN N, iN K, float alpha,
                  ptr A, iN lda, ptr B, iN ldb, float beta, ptr C, iN ldc)

(``fg_dgemm`` with doubles; ``iN`` is ``blas_int_type()``, i64 for numpy's ``scipy_openblas64_``).
When numpy ships OpenBLAS, the name is bound to it with ``llvm.add_symbol``; otherwise the same
name is defined in the module by ``emit_gemm_fallback``: a blocked loop nest whose inner loop the
vectoriser widens. Where numpy's BLAS lives is a detail of its wheels (PERF-NOTES 7), so it is
looked up defensively and never required.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os
from dataclasses import dataclass

import llvmlite.binding as llvm
import numpy as np
from funcgrad.backend.llvm.builders import for_range
from llvmlite import ir

from .engine import set_function_attributes

ROW_MAJOR, COL_MAJOR = 101, 102
NO_TRANS, TRANS, CONJ_TRANS = 111, 112, 113
_PREFIX = {np.dtype(np.float32): "s", np.dtype(np.float64): "d"}
_IR_TYPE = {"s": ir.FloatType(), "d": ir.DoubleType()}
# (symbol pattern, integer bits), most preferred first; {t} is "s" or "d".
_SYMBOLS = (
    ("scipy_cblas_{t}gemm64_", 64),
    ("cblas_{t}gemm64_", 64),
    ("scipy_cblas_{t}gemm", 32),
    ("cblas_{t}gemm", 32),
)


@dataclass(frozen=True)
class BlasInfo:
    path: str
    int_bits: int
    symbols: dict[str, str]  # "s"/"d" -> exported symbol bound to fg_sgemm / fg_dgemm


def _prefix(dtype) -> str:
    try:
        return _PREFIX[np.dtype(dtype)]
    except (KeyError, TypeError):
        raise TypeError(f"gemm supports float32 and float64, not {dtype!r}") from None


def gemm_name(dtype) -> str:
    """The fixed name JIT code calls: ``fg_sgemm`` or ``fg_dgemm``."""
    return f"fg_{_prefix(dtype)}gemm"


# --- finding numpy's OpenBLAS -------------------------------------------------------------------


def _candidate_paths() -> list[str]:
    root = os.path.dirname(np.__file__)
    paths = []
    for folder in (os.path.join(root, os.pardir, "numpy.libs"), os.path.join(root, ".libs")):
        paths += sorted(glob.glob(os.path.join(folder, "*openblas*.so*")))
    return paths + _loaded_openblas()


def _loaded_openblas() -> list[str]:
    """Shared objects with 'openblas' in their path already mapped into this process."""
    try:
        with open("/proc/self/maps") as f:
            fields = [line.split() for line in f]
    except OSError:
        return []
    return sorted({f[-1] for f in fields if len(f) >= 6 and "openblas" in f[-1].lower()})


def _bind(path: str) -> BlasInfo | None:
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    for pattern, bits in _SYMBOLS:
        names = {t: pattern.format(t=t) for t in "sd"}
        if all(hasattr(lib, n) for n in names.values()):
            for t, n in names.items():
                llvm.add_symbol(f"fg_{t}gemm", ctypes.cast(getattr(lib, n), ctypes.c_void_p).value)
            return BlasInfo(os.path.realpath(path), bits, names)
    return None


@functools.cache
def blas_info() -> BlasInfo | None:
    """Find and bind numpy's OpenBLAS once; None when there is none we can use."""
    for path in _candidate_paths():
        info = _bind(path)
        if info is not None:
            return info
    return None


def blas_available() -> bool:
    """True when ``fg_sgemm``/``fg_dgemm`` are bound to a real BLAS."""
    return blas_info() is not None


def blas_threads() -> int:
    """Threads the gemm runs a big product on: 1 for the generated gemm; OpenBLAS's own
    thread count otherwise (read once; 2 when it cannot be read)."""
    return _openblas_threads(blas_info().path) if blas_available() else 1


@functools.cache
def _openblas_threads(path: str) -> int:
    lib = ctypes.CDLL(path)
    for sym in (
        "scipy_openblas_get_num_threads64_",
        "scipy_openblas_get_num_threads",
        "openblas_get_num_threads64_",
        "openblas_get_num_threads",
    ):
        if hasattr(lib, sym):
            return max(1, int(getattr(lib, sym)()))
    return 2  # unknown: assume it threads


def blas_int_type() -> ir.IntType:
    """The integer type of M, N, K and the leading dimensions in the gemm signature."""
    info = blas_info()
    return ir.IntType(info.int_bits if info else 64)


# --- the signature ------------------------------------------------------------------------------


def gemm_type(dtype, int_bits: int | None = None) -> ir.FunctionType:
    ty = _IR_TYPE[_prefix(dtype)]
    it = ir.IntType(int_bits) if int_bits else blas_int_type()
    i32, ptr = ir.IntType(32), ir.PointerType()
    return ir.FunctionType(
        ir.VoidType(), [i32, i32, i32, it, it, it, ty, ptr, it, ptr, it, ty, ptr, it]
    )


def declare_gemm(module: ir.Module, dtype) -> ir.Function:
    """``fg_sgemm``/``fg_dgemm`` in ``module``: declared (bound to BLAS) or the fallback."""
    name = gemm_name(dtype)
    existing = module.globals.get(name)
    if existing is not None:
        return existing
    if blas_available():
        fn = ir.Function(module, gemm_type(dtype), name)
        fn.attributes.add("nounwind")
        return fn
    return emit_gemm_fallback(module, dtype, name=name)


# --- the generated fallback ---------------------------------------------------------------------

KC, NC = 128, 256  # block of op(B) packed on the stack: KC x NC elements


@dataclass
class _Gemm:
    """The gemm arguments inside the fallback, normalised to row-major and i64."""

    b: ir.IRBuilder
    ty: ir.Type
    ta: ir.Value  # i1: op(A) = A^T
    tb: ir.Value
    m: ir.Value
    n: ir.Value
    k: ir.Value
    alpha: ir.Value
    a: ir.Value
    lda: ir.Value
    bmat: ir.Value
    ldb: ir.Value
    beta: ir.Value
    c: ir.Value
    ldc: ir.Value

    def load(self, ptr, idx):
        return self.b.load(self.b.gep(ptr, [idx], source_etype=self.ty), typ=self.ty)

    def store(self, val, ptr, idx):
        self.b.store(val, self.b.gep(ptr, [idx], source_etype=self.ty))

    def at(self, row, col, ld):  # row * ld + col
        return self.b.add(self.b.mul(row, ld), col)

    def op_index(self, trans, row, col, ld):
        """Index of op(X)[row, col] in X stored row-major with leading dimension ld."""
        return self.b.select(trans, self.at(col, row, ld), self.at(row, col, ld))


def _normalise(b: ir.IRBuilder, ty: ir.Type, args) -> _Gemm:
    order, ta, tb, m, n, k, alpha, a, lda, bm, ldb, beta, c, ldc = args
    i64 = ir.IntType(64)
    wide = [b.sext(v, i64) if v.type.width < 64 else v for v in (m, n, k, lda, ldb, ldc)]
    m, n, k, lda, ldb, ldc = wide
    ta = b.icmp_signed("!=", ta, ir.Constant(ta.type, NO_TRANS))
    tb = b.icmp_signed("!=", tb, ir.Constant(tb.type, NO_TRANS))
    # Column-major C = op(A) op(B) is row-major C^T = op(B)^T op(A)^T: swap the operands.
    col = b.icmp_signed("==", order, ir.Constant(order.type, COL_MAJOR))
    sw = lambda x, y: (b.select(col, y, x), b.select(col, x, y))  # noqa: E731
    (m, n), (ta, tb), (a, bm), (lda, ldb) = sw(m, n), sw(ta, tb), sw(a, bm), sw(lda, ldb)
    return _Gemm(b, ty, ta, tb, m, n, k, alpha, a, lda, bm, ldb, beta, c, ldc)


def _imin(b: ir.IRBuilder, x, y):
    return b.select(b.icmp_signed("<", x, y), x, y)


def _scale_c(g: _Gemm) -> None:
    """C = beta * C (C = 0 when beta == 0, so NaNs in C do not leak, as in BLAS)."""
    b, zero = g.b, ir.Constant(g.ty, 0.0)
    beta_zero = b.fcmp_ordered("==", g.beta, zero)
    with for_range(b, g.m, name="ci") as i, for_range(b, g.n, vectorize=True, name="cj") as j:
        idx = g.at(i, j, g.ldc)
        scaled = b.fmul(g.load(g.c, idx), g.beta)
        g.store(b.select(beta_zero, zero, scaled), g.c, idx)


def _pack_b(g: _Gemm, packed, p0, kc, j0, nc) -> None:
    b, i64 = g.b, ir.IntType(64)
    with for_range(b, kc, name="pp") as p, for_range(b, nc, name="pj") as j:
        src = g.op_index(g.tb, b.add(p0, p), b.add(j0, j), g.ldb)
        g.store(g.load(g.bmat, src), packed, g.at(p, j, ir.Constant(i64, NC)))


def _update_block(g: _Gemm, packed, p0, kc, j0, nc) -> None:
    """C[:, j0:j0+nc] += alpha * op(A)[:, p0:p0+kc] @ packed."""
    b, i64, fm = g.b, ir.IntType(64), ("contract",)
    with for_range(b, g.m, name="ui") as i, for_range(b, kc, name="up") as p:
        a_ip = g.load(g.a, g.op_index(g.ta, i, b.add(p0, p), g.lda))
        a_ip = b.fmul(a_ip, g.alpha)
        row = b.add(b.mul(i, g.ldc), j0)
        brow = b.mul(p, ir.Constant(i64, NC))
        with for_range(b, nc, vectorize=True, name="uj") as j:
            c_idx = b.add(row, j)
            prod = b.fmul(a_ip, g.load(packed, b.add(brow, j)), flags=fm)
            g.store(b.fadd(g.load(g.c, c_idx), prod, flags=fm), g.c, c_idx)


def emit_gemm_fallback(
    module: ir.Module, dtype, *, name: str | None = None, int_bits: int | None = None
) -> ir.Function:
    """Define a CBLAS-compatible ``?gemm`` (row/column-major, transpose flags) in ``module``.

    Blocks of op(B) (``KC x NC``) are packed into a stack buffer so the inner loop over
    columns of C is unit-stride on both sides and vectorises whatever the transpose flags.
    """
    t = _prefix(dtype)
    fn = ir.Function(module, gemm_type(dtype, int_bits), name or f"fg_{t}gemm_fallback")
    set_function_attributes(fn, nocapture=True)
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    ty = _IR_TYPE[t]
    packed = b.alloca(ty, ir.Constant(ir.IntType(64), KC * NC), name="packed")
    packed.align = 64
    g = _normalise(b, ty, fn.args)
    _scale_c(g)
    i64 = ir.IntType(64)
    with for_range(b, 0, g.k, KC, name="p0") as p0:
        kc = _imin(b, ir.Constant(i64, KC), b.sub(g.k, p0))
        with for_range(b, 0, g.n, NC, name="j0") as j0:
            nc = _imin(b, ir.Constant(i64, NC), b.sub(g.n, j0))
            _pack_b(g, packed, p0, kc, j0, nc)
            _update_block(g, packed, p0, kc, j0, nc)
    b.ret_void()
    return fn


# --- LAPACKE/CBLAS routines for the linear-algebra op kernels -------------------------------------


@functools.cache
def bind_routine(name: str):
    """Bind numpy's OpenBLAS ``scipy_{name}64_`` (a LAPACKE or CBLAS routine with 64-bit
    integers, e.g. ``LAPACKE_dpotrf_work``) to the JIT name ``fg_{name}``.

    Returns the ctypes function (for workspace queries at compile time), or None when there is
    no such OpenBLAS (then the caller leaves the equation to numpy).
    """
    info = blas_info()
    if info is None or info.int_bits != 64 or not info.symbols["d"].startswith("scipy_"):
        return None
    try:
        fn = getattr(ctypes.CDLL(info.path), f"scipy_{name}64_")
    except (OSError, AttributeError):
        return None
    llvm.add_symbol(f"fg_{name}", ctypes.cast(fn, ctypes.c_void_p).value)
    return fn
