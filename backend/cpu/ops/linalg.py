"""Op kernels for the linear-algebra primitives: cholesky, triangular_solve, lu, qr, eigh, svd.

The numpy ``impl_rules`` (``funcgrad/_src/lax/linalg.py``) call ``numpy.linalg``, which runs
LAPACK from numpy's bundled OpenBLAS on a column-major copy of each matrix, always in float64
(numpy's ``_commonType``: float32 inputs are computed in double and rounded at the end). These
kernels call the same routines of the same library the same way, so the results agree bit for
bit (up to OpenBLAS's own threading):

- ``cholesky``: ``dpotrf('L')`` on the matrix symmetrised from its lower triangle (as the impl
  builds it, ``+ 0.0`` included), the upper triangle zeroed; a failed factorisation
  (``info != 0``: not positive definite, NaN) gives an all-NaN matrix, like the impl's
  per-matrix ``LinAlgError`` handling.
- ``eigh``: ``dsyevd('V', lower ? 'L' : 'U')``; ``svd``: ``dgesdd`` with job ``'A'``, ``'S'``
  or ``'N'`` (numpy's drivers, so eigenvector signs and ordering agree); ``info != 0`` gives
  NaN outputs, like the impl.
- ``qr``: ``dgeqrf`` then ``dorgqr`` for ``m x (m or min(m, n))`` columns, R the upper
  triangle of the factored matrix's first rows (numpy's ``qr``).
- ``triangular_solve``: ``cblas_dtrsm`` (row-major; float64 straight on the operands, float32
  through double copies in the scratch, as numpy computes). The impl solves with
  ``numpy.linalg.solve`` (LU with pivoting) on the masked triangle, or by substitution when that
  is singular; trsm agrees to rounding, and gives the same inf/NaN for a zero pivot. One known
  difference: with ``unit_diagonal`` the impl builds ``a*(1-I) + I``, so a NaN/inf *on the
  diagonal* still poisons its result, while trsm never reads the diagonal.
- ``lu``: the impl is not LAPACK but its own unblocked right-looking elimination (argmax
  pivoting, division by the pivot, a zero pivot leaves its column). Its integer outputs (pivots,
  permutation) must match exactly, and ``dgetrf``'s blocked updates round differently (a near
  tie could pick another pivot), so this kernel is that same loop written natively, in the
  input dtype, with the same operation order: bit-identical to the impl.

Workspace sizes are LAPACK's own answers to a workspace query (``lwork = -1``), asked at compile
time through ctypes (numpy asks the same question, and the blocked algorithms depend on it).
The routines are the LAPACKE ``_work`` entry points (no NaN pre-check, no allocation) called
with ``LAPACK_COL_MAJOR``; each matrix of the batch is copied (and widened to double) into the
scratch buffer in column-major order, factored in place there, and copied out (transposed and
rounded). ``check`` refuses (numpy fallback): dtypes other than float32/float64, literal
operands, no OpenBLAS with the ``scipy_*64_`` routines, and empty matrices for qr/svd/lu.
"""

from __future__ import annotations

import ctypes

import numpy as np
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.llvm.builders import for_range
from funcgrad.backend.llvm.scalar import ir_type
from llvmlite import ir

from .. import blas
from . import new_function, register

I8, I32, I64, PTR = ir.IntType(8), ir.IntType(32), ir.IntType(64), ir.PointerType()
F64 = ir.DoubleType()
VOID = ir.VoidType()
COL_MAJOR, ROW_MAJOR = 102, 101
CBLAS_LEFT, CBLAS_RIGHT, CBLAS_UPPER, CBLAS_LOWER = 141, 142, 121, 122
CBLAS_NO_TRANS, CBLAS_TRANS, CBLAS_NON_UNIT, CBLAS_UNIT = 111, 112, 131, 132
ALIGN = 64
FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

# name -> (return type, argument types): the LAPACKE/CBLAS signatures with 64-bit integers.
ROUTINES = {
    "LAPACKE_dpotrf_work": (I64, [I32, I8, I64, PTR, I64]),
    "LAPACKE_dgeqrf_work": (I64, [I32, I64, I64, PTR, I64, PTR, PTR, I64]),
    "LAPACKE_dorgqr_work": (I64, [I32, I64, I64, I64, PTR, I64, PTR, PTR, I64]),
    "LAPACKE_dsyevd_work": (I64, [I32, I8, I8, I64, PTR, I64, PTR, PTR, I64, PTR, I64]),
    "LAPACKE_dgesdd_work": (
        I64,
        [I32, I8, I64, I64, PTR, I64, PTR, PTR, I64, PTR, I64, PTR, I64, PTR],
    ),
    "cblas_dtrsm": (VOID, [I32] * 5 + [I64, I64, F64, PTR, I64, PTR, I64]),
}
_CTYPES = {
    I8: ctypes.c_char,
    I32: ctypes.c_int,
    I64: ctypes.c_int64,
    F64: ctypes.c_double,
    PTR: ctypes.c_void_p,
    VOID: None,
}


def _c(v) -> ir.Constant:
    return ir.Constant(I64, int(v))


def _align(nbytes: int) -> int:
    return -(-nbytes // ALIGN) * ALIGN


def _routine(name: str):
    """The bound ctypes function of ``name`` (typed), or None when it is not available."""
    fn = blas.bind_routine(name)
    if fn is not None:
        ret, args = ROUTINES[name]
        fn.restype, fn.argtypes = _CTYPES[ret], [_CTYPES[a] for a in args]
    return fn


def _query(name: str, *args) -> tuple:
    """A LAPACK workspace query: ``args`` with ``"w"``/``"i"`` for the float/int work arrays
    (their sizes are -1); returns (lwork, liwork) read back from them."""
    fn = _routine(name)
    work, iwork, dummy = np.zeros(1), np.zeros(1, np.int64), np.zeros(1)
    call = []
    for a in args:
        if a == "w":
            call += [work.ctypes.data, -1]
        elif a == "i":
            call += [iwork.ctypes.data, -1]
        elif a is None:
            call.append(dummy.ctypes.data)
        else:
            call.append(a)
    info = fn(*call)
    if info != 0:
        return None
    return max(1, int(work[0])), max(1, int(iwork[0]))


def _layout(**counts) -> tuple[dict, int]:
    """Byte offsets of 8-byte-element regions of the scratch buffer, and its size."""
    offsets, size = {}, 0
    for key, count in counts.items():
        offsets[key] = size
        size += _align(max(1, int(count)) * 8)
    return offsets, size


def _input(eqn, routines=()):
    """The aval of the single matrix operand when the case can run natively, else None."""
    from funcgrad._src.core import Literal

    if any(isinstance(x, Literal) for x in eqn.inputs):
        return None
    avals = [x.aval for x in eqn.inputs] + [v.aval for v in eqn.out_binders]
    if any(np.dtype(a.dtype) not in FLOATS for a in avals if np.dtype(a.dtype).kind == "f"):
        return None
    if any(np.dtype(a.dtype).kind not in "fi" for a in avals):
        return None
    if any(_routine(r) is None for r in routines):
        return None
    return eqn.inputs[0].aval


def _batch(aval) -> int:
    return int(np.prod(aval.shape[:-2], dtype=np.int64))


# ---- emission helpers ----------------------------------------------------------------------------


def _begin(module, step, name):
    fn = new_function(module, name, len(K.op_buffers(step)))
    return fn, ir.IRBuilder(fn.append_basic_block("entry"))


def _at(b, ptr, idx, ty):
    return b.gep(ptr, [idx], source_etype=ty, inbounds=True)


def _load(b, ptr, idx, ty):
    return b.load(_at(b, ptr, idx, ty), typ=ty)


def _cvt(b, v, to):
    if v.type == to:
        return v
    return b.fpext(v, to) if to == F64 else b.fptrunc(v, to)


def _region(b, scratch, offsets, key):
    return b.gep(scratch, [_c(offsets[key])], source_etype=I8)


def _mats(b, bi, *ptr_size_ty):
    """Pointers to matrix ``bi`` of each ``(buffer, elements per matrix, type)``."""
    return [_at(b, p, b.mul(bi, _c(size)), ty) for p, size, ty in ptr_size_ty]


def _copy(b, src, sty, dst, dty, rows, cols, src_idx, dst_idx, keep=None):
    """``dst[dst_idx(i, j)] = src[src_idx(i, j)]`` (converted) over ``rows x cols``; where
    ``keep(i, j)`` is false, 0 is written instead."""
    with for_range(b, rows, name="r", unroll=False) as i, for_range(b, cols, name="c") as j:
        v = _cvt(b, _load(b, src, src_idx(i, j), sty), dty)
        if keep is not None:
            v = b.select(keep(i, j), v, ir.Constant(dty, 0.0))
        b.store(v, _at(b, dst, dst_idx(i, j), dty))


def _fill(b, ptr, ty, count, value):
    with for_range(b, count, name="f") as i:
        b.store(ir.Constant(ty, value), _at(b, ptr, i, ty))


def _call(module, b, name, args):
    ret, types = ROUTINES[name]
    blas.bind_routine(name)
    fn = module.globals.get(f"fg_{name}")
    if fn is None:
        fn = ir.Function(module, ir.FunctionType(ret, types), f"fg_{name}")
    conv = [a if isinstance(a, ir.Value) else ir.Constant(t, a) for a, t in zip(args, types)]
    return b.call(fn, conv)


def _row_major(n):
    return lambda b: lambda i, j: b.add(b.mul(i, _c(n)), j)


def _col_major(ld):
    return lambda b: lambda i, j: b.add(b.mul(j, _c(ld)), i)


def _on_info(b, info, ok, failed):
    """Run ``ok()`` when LAPACK's ``info`` is 0, ``failed()`` otherwise (NaN outputs)."""
    with b.if_else(b.icmp_signed("==", info, _c(0))) as (then, otherwise):
        with then:
            ok()
        with otherwise:
            failed()


# ---- cholesky ------------------------------------------------------------------------------------


def cholesky_check(eqn):
    aval = _input(eqn, ["LAPACKE_dpotrf_work"])
    if aval is None:
        return None
    n = aval.shape[-1]
    return 0 if n == 0 or _batch(aval) == 0 else _layout(a=n * n)[1]


def cholesky_emit(module, program, step, name, num_threads):
    aval = step.eqn.inputs[0].aval
    n, ty = aval.shape[-1], ir_type(aval.dtype)
    fn, b = _begin(module, step, name)
    if step.scratch >= 0:
        x, out, scratch = fn.args
        a = _region(b, scratch, _layout(a=n * n)[0], "a")
        with for_range(b, _batch(aval), name="mat", unroll=False) as bi:
            xm, om = _mats(b, bi, (x, n * n, ty), (out, n * n, ty))
            # the impl's tril(x) + tril(x, -1)ᵀ (so "+ 0.0"); symmetric, so also column-major
            with for_range(b, n, name="r", unroll=False) as i, for_range(b, n, name="c") as j:
                low = b.icmp_signed(">=", i, j)
                src = b.add(b.mul(b.select(low, i, j), _c(n)), b.select(low, j, i))
                v = b.fadd(_cvt(b, _load(b, xm, src, ty), F64), ir.Constant(F64, 0.0))
                b.store(v, _at(b, a, b.add(b.mul(i, _c(n)), j), F64))
            info = _call(module, b, "LAPACKE_dpotrf_work", [COL_MAJOR, ord("L"), n, a, n])
            lower = lambda i, j: b.icmp_signed(">=", i, j)
            _on_info(
                b,
                info,
                lambda: _copy(b, a, F64, om, ty, n, n, _col_major(n)(b), _row_major(n)(b), lower),
                lambda: _fill(b, om, ty, n * n, float("nan")),
            )
    b.ret_void()
    return fn


# ---- triangular_solve ----------------------------------------------------------------------------


def triangular_solve_check(eqn):
    aval = _input(eqn, ["cblas_dtrsm"])
    if aval is None:
        return None
    n = aval.shape[-1]
    m, p = eqn.inputs[1].aval.shape[-2:]
    if aval.dtype == np.float64 or m * p * _batch(aval) == 0:
        return 0
    return _layout(a=n * n, b=m * p)[1]


def triangular_solve_emit(module, program, step, name, num_threads):
    aval, bval = (x.aval for x in step.eqn.inputs)
    prm = step.eqn.params
    n, (m, p), ty = aval.shape[-1], bval.shape[-2:], ir_type(aval.dtype)
    flags = [
        ROW_MAJOR,
        CBLAS_LEFT if prm["left_side"] else CBLAS_RIGHT,
        CBLAS_LOWER if prm["lower"] else CBLAS_UPPER,
        CBLAS_TRANS if prm["transpose_a"] else CBLAS_NO_TRANS,  # real: conjugate_a is a no-op
        CBLAS_UNIT if prm["unit_diagonal"] else CBLAS_NON_UNIT,
    ]
    fn, b = _begin(module, step, name)
    if m * p * _batch(aval):
        a, rhs, out = fn.args[:3]
        flat = lambda i, j: j
        with for_range(b, _batch(aval), name="mat", unroll=False) as bi:
            am, bm, om = _mats(b, bi, (a, n * n, ty), (rhs, m * p, ty), (out, m * p, ty))
            if step.scratch >= 0:  # float32: solve in double, as numpy does
                off = _layout(a=n * n, b=m * p)[0]
                wa, wb = _region(b, fn.args[3], off, "a"), _region(b, fn.args[3], off, "b")
                _copy(b, am, ty, wa, F64, 1, n * n, flat, flat)
                _copy(b, bm, ty, wb, F64, 1, m * p, flat, flat)
            else:
                wa, wb = am, om
                _copy(b, bm, ty, om, ty, 1, m * p, flat, flat)
            _call(
                module,
                b,
                "cblas_dtrsm",
                flags + [m, p, ir.Constant(F64, 1.0), wa, max(1, n), wb, max(1, p)],
            )
            if step.scratch >= 0:
                _copy(b, wb, F64, om, ty, 1, m * p, flat, flat)
    b.ret_void()
    return fn


# ---- lu ------------------------------------------------------------------------------------------


def lu_check(eqn):
    aval = _input(eqn)
    # an empty matrix: the impl itself fails (reshape to (-1, 0, n)); keep its behaviour
    return None if aval is None or 0 in aval.shape[-2:] else 0


def lu_emit(module, program, step, name, num_threads):
    """The impl's elimination, step for step (see the module docstring)."""
    aval = step.eqn.inputs[0].aval
    (m, n), ty = aval.shape[-2:], ir_type(aval.dtype)
    k = min(m, n)
    i32 = ir.IntType(32)
    fn, b = _begin(module, step, name)
    x, w_out, piv_out, perm_out = fn.args
    best, idx = b.alloca(ty), b.alloca(I64)
    with for_range(b, _batch(aval), name="mat", unroll=False) as bi:
        xm, w = _mats(b, bi, (x, m * n, ty), (w_out, m * n, ty))
        piv, perm = _mats(b, bi, (piv_out, k, i32), (perm_out, m, i32))
        flat = lambda i, j: j
        _copy(b, xm, ty, w, ty, 1, m * n, flat, flat)
        with for_range(b, m, name="p") as i:
            b.store(b.trunc(i, i32), _at(b, perm, i, i32))
        at = lambda i, j: b.add(b.mul(i, _c(n)), j)
        with for_range(b, k, name="j", unroll=False) as j:
            p = _argmax_abs(b, w, ty, j, at, m, best, idx)
            b.store(b.trunc(p, i32), _at(b, piv, j, i32))
            with for_range(b, n, name="s") as c:
                _swap(b, w, ty, at(j, c), at(p, c))
            _swap(b, perm, i32, j, p)
            d = _load(b, w, at(j, j), ty)
            zero = b.fcmp_ordered("==", d, ir.Constant(ty, 0.0))
            d = b.select(zero, ir.Constant(ty, 1.0), d)
            j1 = b.add(j, _c(1))
            with for_range(b, j1, m, name="l", unroll=False) as i:
                ptr = _at(b, w, at(i, j), ty)
                lij = b.fdiv(b.load(ptr, typ=ty), d)
                b.store(lij, ptr)
                with for_range(b, j1, n, name="u") as c:
                    ptr = _at(b, w, at(i, c), ty)
                    prod = b.fmul(lij, _load(b, w, at(j, c), ty))
                    b.store(b.fsub(b.load(ptr, typ=ty), prod), ptr)
    b.ret_void()
    return fn


def _argmax_abs(b, w, ty, j, at, m, best, idx):
    """``j + argmax(|w[j:, j]|)`` with numpy's rules: the first maximum, the first NaN wins
    (``best``/``idx``: stack slots for the running maximum and its row)."""
    fabs = b.module.declare_intrinsic("llvm.fabs", [ty])
    b.store(b.call(fabs, [_load(b, w, at(j, j), ty)]), best)
    b.store(j, idx)
    with for_range(b, b.add(j, _c(1)), m, name="am") as i:
        v = b.call(fabs, [_load(b, w, at(i, j), ty)])
        cur = b.load(best, typ=ty)
        nan_v, nan_cur = b.fcmp_unordered("uno", v, v), b.fcmp_unordered("uno", cur, cur)
        take = b.or_(b.fcmp_ordered(">", v, cur), b.and_(nan_v, b.not_(nan_cur)))
        b.store(b.select(take, v, cur), best)
        b.store(b.select(take, i, b.load(idx, typ=I64)), idx)
    return b.load(idx, typ=I64)


def _swap(b, ptr, ty, i, j):
    pi, pj = _at(b, ptr, i, ty), _at(b, ptr, j, ty)
    vi, vj = b.load(pi, typ=ty), b.load(pj, typ=ty)
    b.store(vj, pi)
    b.store(vi, pj)


# ---- qr ------------------------------------------------------------------------------------------


def _qr_plan(eqn):
    aval = _input(eqn, ["LAPACKE_dgeqrf_work", "LAPACKE_dorgqr_work"])
    if aval is None or 0 in aval.shape[-2:]:
        return None
    m, n = aval.shape[-2:]
    k = min(m, n)
    qc = m if eqn.params["full_matrices"] else k
    q1 = _query("LAPACKE_dgeqrf_work", COL_MAJOR, m, n, None, m, None, "w")
    q2 = _query("LAPACKE_dorgqr_work", COL_MAJOR, m, qc, k, None, m, None, "w")
    if q1 is None or q2 is None:
        return None
    lwork = max(q1[0], q2[0])
    offsets, size = _layout(q=m * max(n, qc), tau=k, work=lwork)
    return aval, m, n, k, qc, lwork, offsets, size


def qr_check(eqn):
    plan = _qr_plan(eqn)
    return None if plan is None else plan[-1]


def qr_emit(module, program, step, name, num_threads):
    aval, m, n, k, qc, lwork, off, _ = _qr_plan(step.eqn)
    ty = ir_type(aval.dtype)
    fn, b = _begin(module, step, name)
    x, q_out, r_out, scratch = fn.args
    qa, tau, work = (_region(b, scratch, off, key) for key in ("q", "tau", "work"))
    with for_range(b, _batch(aval), name="mat", unroll=False) as bi:
        xm, qm, rm = _mats(b, bi, (x, m * n, ty), (q_out, m * qc, ty), (r_out, qc * n, ty))
        if qc > n:  # the extra columns dorgqr sets up itself; keep them defined anyway
            _fill(b, qa, F64, m * qc, 0.0)
        _copy(b, xm, ty, qa, F64, m, n, _row_major(n)(b), _col_major(m)(b))
        _call(module, b, "LAPACKE_dgeqrf_work", [COL_MAJOR, m, n, qa, m, tau, work, lwork])
        upper = lambda i, j: b.icmp_signed(">=", j, i)
        _copy(b, qa, F64, rm, ty, qc, n, _col_major(m)(b), _row_major(n)(b), upper)
        _call(module, b, "LAPACKE_dorgqr_work", [COL_MAJOR, m, qc, k, qa, m, tau, work, lwork])
        _copy(b, qa, F64, qm, ty, m, qc, _col_major(m)(b), _row_major(qc)(b))
    b.ret_void()
    return fn


# ---- eigh ----------------------------------------------------------------------------------------


def _eigh_plan(eqn):
    aval = _input(eqn, ["LAPACKE_dsyevd_work"])
    if aval is None:
        return None
    n = aval.shape[-1]
    if n == 0 or _batch(aval) == 0:
        return aval, n, "L", 0, 0, {}, 0
    uplo = "L" if eqn.params["lower"] else "U"
    q = _query("LAPACKE_dsyevd_work", COL_MAJOR, b"V", uplo.encode(), n, None, n, None, "w", "i")
    if q is None:
        return None
    offsets, size = _layout(a=n * n, w=n, work=q[0], iwork=q[1])
    return aval, n, uplo, q[0], q[1], offsets, size


def eigh_check(eqn):
    plan = _eigh_plan(eqn)
    return None if plan is None else plan[-1]


def eigh_emit(module, program, step, name, num_threads):
    aval, n, uplo, lwork, liwork, off, size = _eigh_plan(step.eqn)
    ty = ir_type(aval.dtype)
    fn, b = _begin(module, step, name)
    if size:
        x, v_out, w_out, scratch = fn.args
        a, w, work, iwork = (_region(b, scratch, off, key) for key in ("a", "w", "work", "iwork"))
        with for_range(b, _batch(aval), name="mat", unroll=False) as bi:
            xm, vm, wm = _mats(b, bi, (x, n * n, ty), (v_out, n * n, ty), (w_out, n, ty))
            _copy(b, xm, ty, a, F64, n, n, _row_major(n)(b), _col_major(n)(b))
            info = _call(
                module,
                b,
                "LAPACKE_dsyevd_work",
                [COL_MAJOR, ord("V"), ord(uplo), n, a, n, w, work, lwork, iwork, liwork],
            )

            def ok():
                _copy(b, a, F64, vm, ty, n, n, _col_major(n)(b), _row_major(n)(b))
                _copy(b, w, F64, wm, ty, 1, n, lambda i, j: j, lambda i, j: j)

            def failed():
                _fill(b, vm, ty, n * n, float("nan"))
                _fill(b, wm, ty, n, float("nan"))

            _on_info(b, info, ok, failed)
    b.ret_void()
    return fn


# ---- svd -----------------------------------------------------------------------------------------


def _svd_plan(eqn):
    aval = _input(eqn, ["LAPACKE_dgesdd_work"])
    if aval is None or 0 in aval.shape[-2:]:
        return None
    m, n = aval.shape[-2:]
    k = min(m, n)
    uv, full = eqn.params["compute_uv"], eqn.params["full_matrices"]
    job = "N" if not uv else "A" if full else "S"
    ucols, vrows = (m, n) if job == "A" else (k, k)
    ldu, ldvt = (m, vrows) if uv else (1, 1)
    q = _query(
        "LAPACKE_dgesdd_work",
        COL_MAJOR,
        job.encode(),
        m,
        n,
        None,
        m,
        None,
        None,
        ldu,
        None,
        ldvt,
        "w",
        None,
    )
    if q is None:
        return None
    offsets, size = _layout(
        a=m * n, s=k, u=m * ucols if uv else 1, vt=vrows * n if uv else 1, work=q[0], iwork=8 * k
    )
    return aval, m, n, k, job, ucols, vrows, ldu, ldvt, q[0], offsets, size


def svd_check(eqn):
    plan = _svd_plan(eqn)
    return None if plan is None else plan[-1]


def svd_emit(module, program, step, name, num_threads):
    aval, m, n, k, job, ucols, vrows, ldu, ldvt, lwork, off, _ = _svd_plan(step.eqn)
    ty = ir_type(aval.dtype)
    uv = job != "N"
    fn, b = _begin(module, step, name)
    x, outs, scratch = fn.args[0], fn.args[1:-1], fn.args[-1]
    a, s, u, vt, work, iwork = (
        _region(b, scratch, off, key) for key in ("a", "s", "u", "vt", "work", "iwork")
    )
    with for_range(b, _batch(aval), name="mat", unroll=False) as bi:
        xm = _mats(b, bi, (x, m * n, ty))[0]
        sizes = [m * ucols, k, vrows * n] if uv else [k]
        om = _mats(b, bi, *[(o, sz, ty) for o, sz in zip(outs, sizes)])
        _copy(b, xm, ty, a, F64, m, n, _row_major(n)(b), _col_major(m)(b))
        info = _call(
            module,
            b,
            "LAPACKE_dgesdd_work",
            [COL_MAJOR, ord(job), m, n, a, m, s, u, ldu, vt, ldvt, work, lwork, iwork],
        )

        def ok():
            sm = om[1] if uv else om[0]
            _copy(b, s, F64, sm, ty, 1, k, lambda i, j: j, lambda i, j: j)
            if uv:
                _copy(b, u, F64, om[0], ty, m, ucols, _col_major(m)(b), _row_major(ucols)(b))
                _copy(b, vt, F64, om[2], ty, vrows, n, _col_major(vrows)(b), _row_major(n)(b))

        def failed():
            for o, sz in zip(om, sizes):
                _fill(b, o, ty, sz, float("nan"))

        _on_info(b, info, ok, failed)
    b.ret_void()
    return fn


register("cholesky", cholesky_check, cholesky_emit)
register("triangular_solve", triangular_solve_check, triangular_solve_emit)
register("lu", lu_check, lu_emit)
register("qr", qr_check, qr_emit)
register("eigh", eigh_check, eigh_emit)
register("svd", svd_check, svd_emit)
