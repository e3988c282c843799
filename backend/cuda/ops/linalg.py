"""CUDA op kernels for the linear-algebra primitives: cholesky, triangular_solve, lu, qr, eigh, svd.

One thread per matrix: a grid-stride loop over the batch (the leading dims), each thread runs
the textbook sequential algorithm on its own matrix, in the operand's dtype (float32 or
float64), reading the input and writing the outputs at ``matrix * size + i * stride + j``. No
thread talks to another, so there are no barriers (the kernels run, thread by thread, in the
CPU emulator of the tests). The cost is O(n^3) serial work per matrix: fine for small or
batched matrices; the way to go faster on big ones is a block per matrix (its threads sharing
the row updates of each step, with barriers between the steps), or cuSOLVER.

- ``cholesky``: the left-looking (Cholesky-Crout) factorisation of the matrix given by the
  lower triangle; the upper triangle of the output is zero. A diagonal that is not positive
  (or NaN) makes the whole factor NaN, as the impl's per-matrix ``LinAlgError`` handling does.
- ``triangular_solve``: one thread per right-hand side (a column of ``b`` for ``left_side``,
  a row otherwise): forward or backward substitution with ``T = op(a)`` or ``op(a)ᵀ``, reading
  only the ``lower`` (or upper) triangle. ``unit_diagonal`` divides by ``a_ii * 0 + 1``, the
  impl's ``a * (1 - I) + I``, so a NaN/inf on the diagonal still poisons the result.
- ``lu``: the impl's own unblocked elimination, step for step in the input dtype (numpy's
  argmax pivot: the first largest ``|a|``, the first NaN; a zero pivot divides by 1; row swaps
  of the whole row), so factors, pivots and permutation agree bit for bit.
- ``qr``: Householder reflections as LAPACK's ``dgeqr2``/``dlarfg`` (``beta = -sign(alpha)
  ‖x‖``, ``tau = 0`` when the column below the diagonal is zero), the reflectors kept in a
  scratch copy of the matrix; ``R`` is its upper triangle, ``Q`` the reflectors applied
  backwards to the first ``m`` (full) or ``min(m, n)`` (reduced) columns of the identity.
- ``eigh``: cyclic Jacobi on a scratch copy of the symmetric matrix read from the ``lower``
  (or upper) triangle: sweeps of rotations zeroing each ``a_pq`` until the off-diagonal norm is
  at most ``eps * ‖A‖_F`` (at most ``MAX_SWEEPS``), eigenvectors accumulated in the output;
  then a selection sort puts the eigenvalues in ascending order, eigenvectors alongside.
- ``svd``: one-sided (Hestenes) Jacobi on the columns of a scratch copy of ``A`` (of ``Aᵀ``
  when ``m < n``): rotate each pair of columns that is not orthogonal to ``sqrt(rows) * eps``
  until a sweep rotates nothing; singular values are the column norms, sorted descending, the
  left vectors the normalised columns, the right ones the accumulated rotations (written
  straight into ``U`` or ``Vhᵀ``). Columns a zero singular value leaves undefined, and the
  extra columns of ``full_matrices``, are completed to an orthonormal basis by Gram-Schmidt
  (twice) of the unit vector least covered by the columns so far. A non-finite input gives
  NaN outputs (the impl's ``LinAlgError`` path).

Signs of eigenvectors, singular vectors and Q columns may differ from LAPACK's (as on JAX's
GPU backend). NaN inputs never crash (every loop has a static bound or a sweep cap) but only
cholesky, lu and svd reproduce the impl's NaN pattern. ``check`` refuses (numpy fallback, so
``CudaUnsupportedError``): dtypes other than float32/float64 and literal operands. Empty
matrices and empty batches are handled (nothing to compute, or an identity to write).
"""

from __future__ import annotations

import contextlib

import numpy as np
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.llvm import scalar as S
from funcgrad.backend.llvm.builders import for_range, get, local, while_loop
from llvmlite import ir

from .. import ptx
from ..ptx import i1, i64
from . import register
from .kernel import Kernel
from .sort_scan import _improves, _load, _no_literals, _prod, _store

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
I32 = np.dtype(np.int32)
MAX_SWEEPS = 100  # Jacobi sweeps (eigh, svd); a few suffice, the cap bounds NaN inputs


def _ix(v):
    return i64(v) if isinstance(v, int) else v


# ---- emission helpers ---------------------------------------------------------------------------


class _Ops:
    """Float arithmetic, locals and loops of one kernel, in one dtype."""

    def __init__(self, b: ir.IRBuilder, dtype):
        self.b, self.dt = b, np.dtype(dtype)
        self.ty = S.ir_type(self.dt)
        self.eps = float(np.finfo(self.dt).eps)

    def c(self, v) -> ir.Constant:
        return ir.Constant(self.ty, float(v))

    def add(self, x, y):
        return self.b.fadd(x, y)

    def sub(self, x, y):
        return self.b.fsub(x, y)

    def mul(self, x, y):
        return self.b.fmul(x, y)

    def div(self, x, y):
        return self.b.fdiv(x, y)

    def _intrinsic(self, name: str, *args):
        suffix = "f32" if self.dt.itemsize == 4 else "f64"
        fn = ptx.intrinsic(self.b.module, f"llvm.{name}.{suffix}", self.ty, [self.ty] * len(args))
        return self.b.call(fn, list(args))

    def sqrt(self, x):
        return self._intrinsic("sqrt", x)

    def abs(self, x):
        return self._intrinsic("fabs", x)

    def copysign(self, x, y):
        return self._intrinsic("copysign", x, y)

    def cmp(self, op: str, x, y):
        """Ordered comparison: false when either side is NaN."""
        return self.b.fcmp_ordered(op, x, y)

    def select(self, cond, x, y):
        return self.b.select(cond, x, y)

    def var(self, init):
        return local(self.b, init)

    def get(self, slot):
        return get(self.b, slot)

    def set(self, slot, value) -> None:
        self.b.store(value, slot)

    def accumulate(self, slot, value) -> None:
        self.b.store(self.add(self.get(slot), value), slot)

    def range(self, lo, hi, name="i"):
        return for_range(self.b, _ix(lo), _ix(hi), name=name)

    @contextlib.contextmanager
    def reversed_range(self, n: int, name="r"):
        """``for i in range(n - 1, -1, -1)``."""
        with self.range(0, n, name) as t:
            yield self.b.sub(i64(n - 1), t)

    def iadd(self, x, y):
        return self.b.add(_ix(x), _ix(y))

    def imul(self, x, y):
        return self.b.mul(_ix(x), _ix(y))

    def sum_over(self, lo, hi, term, name="k"):
        """``sum(term(k) for k in range(lo, hi))`` in order, starting from 0."""
        acc = self.var(self.c(0))
        with self.range(lo, hi, name) as k:
            self.accumulate(acc, term(k))
        return self.get(acc)


class _Mat:
    """A matrix in a buffer argument: element ``(i, j)`` at flat index
    ``start + i * rs + j * cs`` (in elements of ``dtype``); ``.T`` swaps the strides."""

    def __init__(self, ops: _Ops, ptr, start, rs: int, cs: int, dtype=None):
        self.ops, self.ptr, self.start, self.rs, self.cs = ops, ptr, start, rs, cs
        self.dt = np.dtype(dtype) if dtype is not None else ops.dt

    @property
    def T(self) -> _Mat:
        return _Mat(self.ops, self.ptr, self.start, self.cs, self.rs, self.dt)

    def at(self, i, j=0):
        o = self.ops
        return o.iadd(o.iadd(self.start, o.imul(i, self.rs)), o.imul(j, self.cs))

    def __getitem__(self, ij):
        return _load(self.ops.b, self.ptr, self.at(*_pair(ij)), self.dt)

    def __setitem__(self, ij, value) -> None:
        _store(self.ops.b, self.ptr, self.at(*_pair(ij)), value, self.dt)

    def swap(self, a, b) -> None:
        x, y = self[a], self[b]
        self[a], self[b] = y, x


def _pair(ij) -> tuple:
    return ij if isinstance(ij, tuple) else (ij,)


def _matrices(k: Kernel, count: int):
    """Grid-stride loop over ``count`` matrices (or right-hand sides); yields the index."""
    return ptx.emit_grid_stride_loop(k.b, i64(count))


def _rotate(o: _Ops, mat: _Mat, rows: int, p, q, c, s) -> None:
    """Columns ``p, q`` of ``mat`` := ``(c p - s q, s p + c q)`` (a Jacobi rotation)."""
    with o.range(0, rows, "rot") as i:
        x, y = mat[i, p], mat[i, q]
        mat[i, p] = o.sub(o.mul(c, x), o.mul(s, y))
        mat[i, q] = o.add(o.mul(s, x), o.mul(c, y))


def _jacobi_tangent(o: _Ops, num, den2):
    """``t = sign(z) / (|z| + sqrt(1 + z^2))`` with ``z = num / den2``, the smaller root of
    ``t^2 + 2 z t - 1 = 0``, and ``(c, s) = (1, t) / sqrt(1 + t^2)``."""
    z = o.div(num, den2)
    t = o.div(o.copysign(o.c(1), z), o.add(o.abs(z), o.sqrt(o.add(o.c(1), o.mul(z, z)))))
    c = o.div(o.c(1), o.sqrt(o.add(o.c(1), o.mul(t, t))))
    return t, c, o.mul(t, c)


def _identity(o: _Ops, mat: _Mat, rows: int, cols: int) -> None:
    b = o.b
    with o.range(0, rows, "ir") as i, o.range(0, cols, "ic") as j:
        mat[i, j] = o.select(b.icmp_signed("==", i, j), o.c(1), o.c(0))


def _fill(o: _Ops, mat: _Mat, rows: int, cols: int, value) -> None:
    with o.range(0, rows, "fr") as i, o.range(0, cols, "fc") as j:
        mat[i, j] = value


def _finite(o: _Ops, x) -> ir.Value:
    return o.cmp("==", o.sub(x, x), o.c(0))


def _float_operands(eqn) -> bool:
    return _no_literals(eqn) and all(np.dtype(x.aval.dtype) in FLOATS for x in eqn.inputs)


def _batch(aval) -> int:
    return _prod(aval.shape[:-2])


def _scratch(elements: int, dtype) -> int:
    return max(int(elements), 1) * np.dtype(dtype).itemsize  # never 0: the kernel indexes it


# ---- cholesky ---------------------------------------------------------------------------------


def cholesky_check(eqn):
    return 0 if _float_operands(eqn) else None


def cholesky_emit(module, program, step: K.OpKernel, index: int) -> list:
    aval = step.eqn.inputs[0].aval
    n, batch = aval.shape[-1], _batch(aval)
    k = Kernel.for_step(module, program, step, index, "cholesky")
    o = _Ops(k.b, aval.dtype)
    with _matrices(k, batch) as r:
        base = o.imul(r, n * n)
        a, low = _Mat(o, k.ins[0], base, n, 1), _Mat(o, k.outs[0], base, n, 1)
        ok = o.var(i1(1))
        with o.range(0, n, "j") as j:
            s = o.sub(a[j, j], o.sum_over(0, j, lambda c: o.mul(low[j, c], low[j, c])))
            o.set(ok, k.b.and_(o.get(ok), o.cmp(">", s, o.c(0))))
            d = o.sqrt(s)
            low[j, j] = d
            with o.range(o.iadd(j, 1), n, "i") as i:
                t = o.sub(a[i, j], o.sum_over(0, j, lambda c: o.mul(low[i, c], low[j, c])))
                low[i, j] = o.div(t, d)
            with o.range(0, j, "u") as i:
                low[i, j] = o.c(0)
        with k.b.if_then(k.b.not_(o.get(ok))):
            _fill(o, low, n, n, o.c(np.nan))
    return [k.launch("cholesky", batch if n else 0)]


# ---- triangular_solve -------------------------------------------------------------------------


def triangular_solve_check(eqn):
    return 0 if _float_operands(eqn) else None


def triangular_solve_emit(module, program, step: K.OpKernel, index: int) -> list:
    eqn, p = step.eqn, step.eqn.params
    a_aval, b_aval = eqn.inputs[0].aval, eqn.inputs[1].aval
    m = a_aval.shape[-1]
    rows, cols = b_aval.shape[-2:]
    left = p["left_side"]
    nvec = cols if left else rows  # right-hand sides: columns of b (left) or rows
    count = _batch(b_aval) * nvec if m else 0
    k = Kernel.for_step(module, program, step, index, "trsm")
    o = _Ops(k.b, b_aval.dtype)
    # Solve T x = rhs per right-hand side: T = op(a) (left) or op(a)ᵀ (right: x op = b).
    swap = p["transpose_a"] != (not left)
    t_lower = p["lower"] != swap
    with _matrices(k, count) as r:
        mat, vec = k.b.udiv(r, i64(nvec)), k.b.urem(r, i64(nvec))
        a = _Mat(o, k.ins[0], o.imul(mat, m * m), m, 1)
        t = a.T if swap else a
        start = o.iadd(o.imul(mat, rows * cols), vec if left else o.imul(vec, m))
        stride = cols if left else 1
        rhs, x = _Mat(o, k.ins[1], start, stride, 0), _Mat(o, k.outs[0], start, stride, 0)

        def solve_row(i, lo, hi):
            diag = t[i, i]
            if p["unit_diagonal"]:
                diag = o.add(o.mul(diag, o.c(0)), o.c(1))
            s = o.sum_over(lo, hi, lambda c: o.mul(t[i, c], x[c, 0]))
            x[i, 0] = o.div(o.sub(rhs[i, 0], s), diag)

        if t_lower:
            with o.range(0, m, "i") as i:
                solve_row(i, 0, i)
        else:
            with o.reversed_range(m, "i") as i:
                solve_row(i, o.iadd(i, 1), m)
    return [k.launch("triangular_solve", count)]


# ---- lu ---------------------------------------------------------------------------------------


def lu_check(eqn):
    return 0 if _float_operands(eqn) else None


def lu_emit(module, program, step: K.OpKernel, index: int) -> list:
    aval = step.eqn.inputs[0].aval
    dt, (m, n), batch = np.dtype(aval.dtype), aval.shape[-2:], _batch(aval)
    kk = min(m, n)
    k = Kernel.for_step(module, program, step, index, "lu")
    o, b = _Ops(k.b, dt), k.b
    with _matrices(k, batch) as r:
        x = _Mat(o, k.ins[0], o.imul(r, m * n), n, 1)
        w = _Mat(o, k.outs[0], o.imul(r, m * n), n, 1)
        piv = _Mat(o, k.outs[1], o.imul(r, kk), 0, 1, I32)
        perm = _Mat(o, k.outs[2], o.imul(r, m), 1, 0, I32)
        with o.range(0, m, "ci") as i:
            perm[i] = b.trunc(i, ptx.i32)
            with o.range(0, n, "cj") as j:
                w[i, j] = x[i, j]
        with o.range(0, kk, "j") as j:
            best, at = o.var(o.abs(w[j, j])), o.var(j)
            with o.range(o.iadd(j, 1), m, "p") as i:  # np.argmax(|column|)
                v, cur = o.abs(w[i, j]), o.get(best)
                take = _improves(b, "max", v, cur, dt)
                o.set(best, o.select(take, v, cur))
                o.set(at, o.select(take, i, o.get(at)))
            p = o.get(at)
            piv[0, j] = b.trunc(p, ptx.i32)
            perm.swap((j,), (p,))
            with o.range(0, n, "s") as c:
                w.swap((j, c), (p, c))
            d = w[j, j]
            d = o.select(o.cmp("==", d, o.c(0)), o.c(1), d)
            with o.range(o.iadd(j, 1), m, "l") as i:
                w[i, j] = o.div(w[i, j], d)
            with o.range(o.iadd(j, 1), m, "ui") as i, o.range(o.iadd(j, 1), n, "uj") as c:
                w[i, c] = o.sub(w[i, c], o.mul(w[i, j], w[j, c]))
    return [k.launch("lu", batch)]


# ---- qr ---------------------------------------------------------------------------------------


def qr_check(eqn):
    if not _float_operands(eqn):
        return None
    aval = eqn.inputs[0].aval
    m, n = aval.shape[-2:]
    return _scratch(_batch(aval) * (m * n + min(m, n)), aval.dtype)


def _householder(o: _Ops, w: _Mat, tau: _Mat, m: int, n: int, j) -> None:
    """Reflector of column ``j`` (LAPACK's dlarfg), stored below the diagonal of ``w``, then
    applied to the columns right of it."""
    below = lambda i: o.mul(w[i, j], w[i, j])
    alpha, xn2 = w[j, j], o.sum_over(o.iadd(j, 1), m, below, "h")
    beta = o.sub(o.c(0), o.copysign(o.sqrt(o.add(o.mul(alpha, alpha), xn2)), alpha))
    zero = o.cmp("==", xn2, o.c(0))
    t = o.select(zero, o.c(0), o.div(o.sub(beta, alpha), beta))
    scale = o.select(zero, o.c(1), o.div(o.c(1), o.sub(alpha, beta)))
    tau[j] = t
    with o.range(o.iadd(j, 1), m, "v") as i:
        w[i, j] = o.mul(w[i, j], scale)
    w[j, j] = o.select(zero, alpha, beta)
    with o.range(o.iadd(j, 1), n, "a") as c:
        _reflect(o, w, w, t, m, j, c)


def _reflect(o: _Ops, v: _Mat, target: _Mat, t, m: int, j, c) -> None:
    """Column ``c`` of ``target`` := ``(I - t u uᵀ)`` times it, ``u = (1, v[j+1:, j])`` in rows
    ``j:``."""
    dot = o.add(target[j, c], o.sum_over(o.iadd(j, 1), m, lambda i: o.mul(v[i, j], target[i, c])))
    dot = o.mul(dot, t)
    target[j, c] = o.sub(target[j, c], dot)
    with o.range(o.iadd(j, 1), m, "ra") as i:
        target[i, c] = o.sub(target[i, c], o.mul(dot, v[i, j]))


def qr_emit(module, program, step: K.OpKernel, index: int) -> list:
    aval = step.eqn.inputs[0].aval
    (m, n), batch = aval.shape[-2:], _batch(aval)
    kk = min(m, n)
    kq = m if step.eqn.params["full_matrices"] else kk
    k = Kernel.for_step(module, program, step, index, "qr")
    o = _Ops(k.b, aval.dtype)
    with _matrices(k, batch) as r:
        x = _Mat(o, k.ins[0], o.imul(r, m * n), n, 1)
        q = _Mat(o, k.outs[0], o.imul(r, m * kq), kq, 1)
        rr = _Mat(o, k.outs[1], o.imul(r, kq * n), n, 1)
        w = _Mat(o, k.scratch, o.imul(r, m * n), n, 1)
        tau = _Mat(o, k.scratch, o.iadd(batch * m * n, o.imul(r, kk)), 1, 0)
        with o.range(0, m, "ci") as i, o.range(0, n, "cj") as j:
            w[i, j] = x[i, j]
        with o.range(0, kk, "j") as j:
            _householder(o, w, tau, m, n, j)
        with o.range(0, kq, "ri") as i, o.range(0, n, "rj") as j:
            rr[i, j] = o.select(k.b.icmp_signed(">=", j, i), w[i, j], o.c(0))
        _identity(o, q, m, kq)
        with o.reversed_range(kk, "qj") as j:  # Q = H_0 ... H_{k-1} I; columns < j stay e_c
            t = tau[j]
            with o.range(j, kq, "qc") as c:
                _reflect(o, w, q, t, m, j, c)
    return [k.launch("qr", batch)]


# ---- eigh -------------------------------------------------------------------------------------


def eigh_check(eqn):
    if not _float_operands(eqn):
        return None
    aval = eqn.inputs[0].aval
    return _scratch(_batch(aval) * aval.shape[-1] ** 2, aval.dtype)


def _eigh_rotation(o: _Ops, a: _Mat, v: _Mat, n: int, p, q) -> None:
    """Zero ``a[p, q]`` by ``a := Jᵀ a J``, ``v := v J`` (Golub & Van Loan's sym.schur2)."""
    apq, app, aqq = a[p, q], a[p, p], a[q, q]
    with o.b.if_then(o.cmp("!=", apq, o.c(0))):
        t, c, s = _jacobi_tangent(o, o.sub(aqq, app), o.mul(o.c(2), apq))
        _rotate(o, a, n, p, q, c, s)
        _rotate(o, a.T, n, p, q, c, s)
        _rotate(o, v, n, p, q, c, s)
        a[p, p] = o.sub(app, o.mul(t, apq))
        a[q, q] = o.add(aqq, o.mul(t, apq))
        a[p, q] = a[q, p] = o.c(0)


def _sort_columns(o: _Ops, key, mats, count: int, descending: bool) -> None:
    """Selection sort of ``key(i)`` (a ``_Mat`` element index) for ``i < count``; the columns
    of each of ``mats`` (``(mat, rows)``) move alongside."""
    kmat, kidx = key
    with o.range(0, count, "si") as i:
        best, at = o.var(kmat[kidx(i)]), o.var(i)
        with o.range(o.iadd(i, 1), count, "sj") as j:
            v = kmat[kidx(j)]
            take = o.cmp(">" if descending else "<", v, o.get(best))
            o.set(best, o.select(take, v, o.get(best)))
            o.set(at, o.select(take, j, o.get(at)))
        kmat.swap(kidx(i), kidx(o.get(at)))
        for mat, rows in mats:
            with o.range(0, rows, "sr") as row:
                mat.swap((row, i), (row, o.get(at)))


def eigh_emit(module, program, step: K.OpKernel, index: int) -> list:
    aval = step.eqn.inputs[0].aval
    n, batch = aval.shape[-1], _batch(aval)
    lower = step.eqn.params["lower"]
    k = Kernel.for_step(module, program, step, index, "eigh")
    o, b = _Ops(k.b, aval.dtype), k.b
    with _matrices(k, batch) as r:
        x = _Mat(o, k.ins[0], o.imul(r, n * n), n, 1)
        v = _Mat(o, k.outs[0], o.imul(r, n * n), n, 1)
        w = _Mat(o, k.outs[1], o.imul(r, n), 1, 0)
        a = _Mat(o, k.scratch, o.imul(r, n * n), n, 1)
        read = x if lower else x.T  # element (i, j) of the triangle read, i >= j
        with o.range(0, n, "ci") as i, o.range(0, n, "cj") as j:
            hi = b.select(b.icmp_signed(">=", i, j), i, j)
            lo = b.select(b.icmp_signed(">=", i, j), j, i)
            a[i, j] = read[hi, lo]
        _identity(o, v, n, n)
        frob2 = o.sum_over(0, n, lambda i: o.sum_over(0, n, lambda j: o.mul(a[i, j], a[i, j])))
        tol2 = o.mul(o.c(o.eps * o.eps), frob2)

        def off2():
            return o.sum_over(
                0,
                n,
                lambda i: o.sum_over(
                    o.iadd(i, 1), n, lambda j: o.mul(o.c(2), o.mul(a[i, j], a[i, j]))
                ),
            )

        sweeps = o.var(i64(0))
        more = lambda: b.and_(
            b.icmp_signed("<", o.get(sweeps), i64(MAX_SWEEPS)), o.cmp(">", off2(), tol2)
        )
        with while_loop(b, more, "sweep"):
            with o.range(0, n, "p") as p, o.range(o.iadd(p, 1), n, "q") as q:
                _eigh_rotation(o, a, v, n, p, q)
            o.set(sweeps, b.add(o.get(sweeps), i64(1)))
        _sort_columns(o, (a, lambda i: (i, i)), [(v, n)], n, descending=False)
        with o.range(0, n, "w") as i:
            w[i] = a[i, i]
    return [k.launch("eigh", batch)]


# ---- svd --------------------------------------------------------------------------------------


def svd_check(eqn):
    if not _float_operands(eqn):
        return None
    aval = eqn.inputs[0].aval
    return _scratch(_batch(aval) * _prod(aval.shape[-2:]), aval.dtype)


def _column_pair(o: _Ops, w: _Mat, rows: int, p, q) -> tuple:
    """``(|w_p|^2, |w_q|^2, w_p . w_q)``."""
    acc = [o.var(o.c(0)) for _ in range(3)]
    with o.range(0, rows, "cp") as i:
        x, y = w[i, p], w[i, q]
        for slot, term in zip(acc, (o.mul(x, x), o.mul(y, y), o.mul(x, y))):
            o.accumulate(slot, term)
    return tuple(o.get(s) for s in acc)


def _hestenes(o: _Ops, w: _Mat, right, rows: int, cols: int) -> None:
    """One-sided Jacobi: rotate column pairs of ``w`` (and of ``right``, if any) until they are
    orthogonal to ``sqrt(rows) * eps``."""
    b = o.b
    tol = o.c(np.sqrt(max(rows, 1)) * o.eps)
    rotated, sweeps = o.var(i1(1)), o.var(i64(0))
    more = lambda: b.and_(o.get(rotated), b.icmp_signed("<", o.get(sweeps), i64(MAX_SWEEPS)))
    with while_loop(b, more, "sweep"):
        o.set(rotated, i1(0))
        with o.range(0, cols, "p") as p, o.range(o.iadd(p, 1), cols, "q") as q:
            alpha, beta, gamma = _column_pair(o, w, rows, p, q)
            bound = o.mul(tol, o.mul(o.sqrt(alpha), o.sqrt(beta)))
            with b.if_then(o.cmp(">", o.abs(gamma), bound)):
                o.set(rotated, i1(1))
                _, c, s = _jacobi_tangent(o, o.sub(beta, alpha), o.mul(o.c(2), gamma))
                _rotate(o, w, rows, p, q, c, s)
                if right is not None:
                    _rotate(o, right, cols, p, q, c, s)
        o.set(sweeps, b.add(o.get(sweeps), i64(1)))


def _complete_column(o: _Ops, mat: _Mat, rows: int, j) -> None:
    """Column ``j`` := a unit vector orthogonal to columns ``< j`` (orthonormal): the unit
    vector ``e_i`` least covered by them (largest ``1 - |row i|^2``), Gram-Schmidt twice."""
    b = o.b
    best, at = o.var(o.c(-1)), o.var(i64(0))
    with o.range(0, rows, "ce") as i:
        cover = o.sum_over(0, j, lambda c: o.mul(mat[i, c], mat[i, c]))
        left = o.sub(o.c(1), cover)
        take = o.cmp(">", left, o.get(best))
        o.set(best, o.select(take, left, o.get(best)))
        o.set(at, o.select(take, i, o.get(at)))
    with o.range(0, rows, "cz") as i:
        mat[i, j] = o.select(b.icmp_signed("==", i, o.get(at)), o.c(1), o.c(0))
    for _ in range(2):
        with o.range(0, j, "gs") as c:
            d = o.sum_over(0, rows, lambda i: o.mul(mat[i, c], mat[i, j]))
            with o.range(0, rows, "gi") as i:
                mat[i, j] = o.sub(mat[i, j], o.mul(d, mat[i, c]))
    norm = o.sqrt(o.sum_over(0, rows, lambda i: o.mul(mat[i, j], mat[i, j])))
    with o.range(0, rows, "gn") as i:
        mat[i, j] = o.div(mat[i, j], norm)


def svd_emit(module, program, step: K.OpKernel, index: int) -> list:
    aval, p = step.eqn.inputs[0].aval, step.eqn.params
    (m, n), batch = aval.shape[-2:], _batch(aval)
    mm, kk = max(m, n), min(m, n)  # the Jacobi matrix is A (m >= n) or Aᵀ: mm x kk
    ku, kv = (m, n) if p["full_matrices"] else (kk, kk)
    k = Kernel.for_step(module, program, step, index, "svd")
    o, b = _Ops(k.b, aval.dtype), k.b
    with _matrices(k, batch) as r:
        x = _Mat(o, k.ins[0], o.imul(r, m * n), n, 1)
        a = x if m >= n else x.T
        w = _Mat(o, k.scratch, o.imul(r, mm * kk), kk, 1)
        s_idx = 1 if p["compute_uv"] else 0
        s = _Mat(o, k.outs[s_idx], o.imul(r, kk), 1, 0)
        finite = o.var(i1(1))
        with o.range(0, mm, "ci") as i, o.range(0, kk, "cj") as j:
            w[i, j] = a[i, j]
            o.set(finite, b.and_(o.get(finite), _finite(o, w[i, j])))
        left = right = None
        if p["compute_uv"]:
            u = _Mat(o, k.outs[0], o.imul(r, m * ku), ku, 1)
            vh = _Mat(o, k.outs[2], o.imul(r, kv * n), n, 1)
            # A = W S Rᵀ: U = W, Vh = Rᵀ (m >= n); Aᵀ = W S Rᵀ: U = R, Vh = Wᵀ (m < n)
            (left, left_cols), right = ((u, ku), vh.T) if m >= n else ((vh.T, kv), u)
            _identity(o, right, kk, kk)
        _hestenes(o, w, right, mm, kk)
        with o.range(0, kk, "s") as j:
            s[j] = o.sqrt(o.sum_over(0, mm, lambda i: o.mul(w[i, j], w[i, j])))
        mats = [(w, mm)] + ([(right, kk)] if right is not None else [])
        _sort_columns(o, (s, lambda i: (i,)), mats, kk, descending=True)
        if left is not None:
            _left_vectors(o, w, s, left, mm, kk, left_cols)
        with b.if_then(b.not_(o.get(finite))):
            nan = o.c(np.nan)
            _fill(o, s, kk, 1, nan)
            if left is not None:
                _fill(o, left, mm, left_cols, nan)
                _fill(o, right, kk, kk, nan)
    return [k.launch("svd", batch)]


def _left_vectors(o: _Ops, w: _Mat, s: _Mat, left: _Mat, rows: int, kk: int, cols: int):
    """``left[:, j] = w[:, j] / s_j``; columns of zero singular values and those past ``kk``
    completed to an orthonormal basis."""
    b = o.b
    with o.range(0, cols, "lj") as j:
        in_range = b.icmp_signed("<", j, i64(kk))
        sj = o.var(o.c(0))
        with b.if_then(in_range):
            o.set(sj, s[j])
        with b.if_else(o.cmp(">", o.get(sj), o.c(0))) as (positive, otherwise):
            with positive, o.range(0, rows, "lr") as i:
                left[i, j] = o.div(w[i, j], o.get(sj))
            with otherwise:
                _complete_column(o, left, rows, j)


register("cholesky", cholesky_check, cholesky_emit)
register("triangular_solve", triangular_solve_check, triangular_solve_emit)
register("lu", lu_check, lu_emit)
register("qr", qr_check, qr_emit)
register("eigh", eigh_check, eigh_emit)
register("svd", svd_check, svd_emit)
