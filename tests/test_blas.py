"""fg_sgemm / fg_dgemm: numpy's OpenBLAS through llvm.add_symbol, and the generated fallback."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from funcgrad.backend.cpu import blas, engine
from llvmlite import ir

SHAPES = [(1, 1, 1), (7, 13, 5), (64, 3, 129), (33, 300, 140), (5, 1, 260)]  # (M, N, K)
TRANS = [(False, False), (True, False), (False, True), (True, True)]
DTYPES = [np.float32, np.float64]
TOL = {np.float32: 2e-5, np.float64: 1e-12}


def _wrapper(module, callee, name):
    """A JIT function forwarding to ``callee`` (so the BLAS symbol is resolved by MCJIT)."""
    fn = ir.Function(module, callee.ftype, name)
    bld = ir.IRBuilder(fn.append_basic_block())
    bld.call(callee, fn.args)
    bld.ret_void()


@pytest.fixture(scope="module")
def compiled():
    module = engine.new_module("gemm_test")
    for dt in DTYPES:
        t = "s" if dt == np.float32 else "d"
        fb = blas.emit_gemm_fallback(module, dt, int_bits=64)
        _wrapper(module, fb, f"fallback_{t}")
        if blas.blas_available():
            _wrapper(module, blas.declare_gemm(module, dt), f"blas_{t}")
    return engine.compile_module(str(module), name="gemm_test")


def _call(cm, fn_name, dtype, order, ta, tb, a, b, c, alpha, beta, int_bits=64):
    it = ctypes.c_int64 if int_bits == 64 else ctypes.c_int32
    ft = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    i32, vp = ctypes.c_int32, ctypes.c_void_p
    proto = ctypes.CFUNCTYPE(None, i32, i32, i32, it, it, it, ft, vp, it, vp, it, ft, vp, it)
    m, n = c.shape if order == blas.ROW_MAJOR else c.shape[::-1]
    k = a.shape[0] if (ta == blas.TRANS) == (order == blas.ROW_MAJOR) else a.shape[1]
    lda, ldb, ldc = a.shape[1], b.shape[1], c.shape[1]
    proto(cm.address(fn_name))(
        order,
        ta,
        tb,
        m,
        n,
        k,
        alpha,
        a.ctypes.data,
        lda,
        b.ctypes.data,
        ldb,
        beta,
        c.ctypes.data,
        ldc,
    )


def _operands(rng, dtype, m, n, k, ta, tb):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    c = rng.standard_normal((m, n)).astype(dtype)
    return a, b, c


def _expected(a, b, c, ta, tb, alpha, beta):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return alpha * ((a64.T if ta else a64) @ (b64.T if tb else b64)) + beta * c


def _kinds():
    return ["fallback", "blas"] if blas.blas_available() else ["fallback"]


@pytest.mark.parametrize("kind", ["fallback", "blas"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("ta,tb", TRANS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_gemm_row_major(compiled, kind, dtype, ta, tb, shape):
    if kind == "blas" and not blas.blas_available():
        pytest.skip("numpy has no bundled OpenBLAS here")
    rng = np.random.default_rng(sum(shape))
    m, n, k = shape
    a, b, c = _operands(rng, dtype, m, n, k, ta, tb)
    want = _expected(a, b, c, ta, tb, 1.5, -0.5)
    flags = [blas.TRANS if t else blas.NO_TRANS for t in (ta, tb)]
    bits = 64 if kind == "fallback" else blas.blas_info().int_bits
    _call(
        compiled,
        f"{kind}_{'s' if dtype == np.float32 else 'd'}",
        dtype,
        blas.ROW_MAJOR,
        *flags,
        a,
        b,
        c,
        1.5,
        -0.5,
        bits,
    )
    np.testing.assert_allclose(c, want, rtol=TOL[dtype], atol=TOL[dtype] * np.sqrt(k))


@pytest.mark.parametrize("kind", ["fallback", "blas"])
def test_gemm_col_major_and_beta_zero(compiled, kind):
    if kind == "blas" and not blas.blas_available():
        pytest.skip("numpy has no bundled OpenBLAS here")
    rng = np.random.default_rng(1)
    m, n, k = 9, 6, 11
    a = np.asfortranarray(rng.standard_normal((m, k)))
    b = np.asfortranarray(rng.standard_normal((k, n)))
    c = np.full((m, n), np.nan, order="F")  # beta == 0: C's old NaNs must not leak
    # Fortran arrays seen as row-major transposes: pass the transposed views' shapes.
    bits = 64 if kind == "fallback" else blas.blas_info().int_bits
    _call(
        compiled,
        f"{kind}_d",
        np.float64,
        blas.COL_MAJOR,
        blas.NO_TRANS,
        blas.NO_TRANS,
        a.T,
        b.T,
        c.T,
        1.0,
        0.0,
        bits,
    )
    np.testing.assert_allclose(c, a @ b, rtol=1e-12)


def test_fallback_inner_loop_vectorises(compiled):
    start = compiled.ir_opt.index("@fg_sgemm_fallback(")
    body = compiled.ir_opt[start : compiled.ir_opt.index("\n}\n", start)]
    assert "<16 x float>" in body


def test_discovery_and_names():
    assert blas.gemm_name(np.float32) == "fg_sgemm" and blas.gemm_name("float64") == "fg_dgemm"
    with pytest.raises(TypeError, match="float32 and float64"):
        blas.gemm_name(np.int32)
    info = blas.blas_info()
    if info is not None:
        assert info.int_bits in (32, 64) and "openblas" in info.path.lower()
        assert blas.blas_int_type().width == info.int_bits


def test_declare_gemm_is_idempotent():
    module = engine.new_module("decl")
    assert blas.declare_gemm(module, np.float32) is blas.declare_gemm(module, np.float32)
