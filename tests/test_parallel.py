"""emit_parallel_for: chunks over pthreads, correct and deterministic."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from funcgrad.backend.cpu import engine, parallel
from funcgrad.backend.llvm import builders as loops
from funcgrad.backend.llvm.vmath import VMATH
from llvmlite import ir

F32, I64, PTR = ir.FloatType(), ir.IntType(64), ir.PointerType()
CTX = ir.LiteralStructType([PTR, PTR, PTR])  # (x, out, chunk_start)


def _emit_worker(module):
    """out[i] = exp(x[i]) * 2; mark[i] = start of the chunk that wrote i."""
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR, I64, I64]), "worker")
    engine.set_function_attributes(fn)
    ctx, start, end = fn.args
    b = ir.IRBuilder(fn.append_basic_block())
    zero = ir.Constant(ir.IntType(32), 0)
    x, out, mark = (
        b.load(b.gep(ctx, [zero, ir.Constant(ir.IntType(32), i)], source_etype=CTX), typ=PTR)
        for i in range(3)
    )
    with loops.for_range(b, start, end, vectorize=True) as i:
        v = b.load(b.gep(x, [i], source_etype=F32), typ=F32)
        b.store(
            b.fmul(VMATH["exp"](b, v), ir.Constant(F32, 2.0)), b.gep(out, [i], source_etype=F32)
        )
        b.store(start, b.gep(mark, [i], source_etype=I64))
    b.ret_void()
    return fn


@pytest.fixture(scope="module")
def pfor():
    module = engine.new_module("parallel_test")
    parallel.emit_parallel_for(module, _emit_worker(module), "pfor")
    cm = engine.compile_module(str(module), name="parallel_test")
    proto = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int32)
    fn = proto(cm.address("pfor"))

    def run(x, min_chunk, nthreads):
        out = np.zeros_like(x)
        mark = np.full(x.shape, -1, np.int64)
        ctx = (ctypes.c_void_p * 3)(x.ctypes.data, out.ctypes.data, mark.ctypes.data)
        fn(ctypes.addressof(ctx), x.size, min_chunk, nthreads)
        return out, mark

    run.cm = cm
    return run


def test_results_and_chunks(pfor):
    x = np.linspace(-5, 5, 1_000_003).astype(np.float32)
    out, mark = pfor(x, 1000, 2)
    np.testing.assert_allclose(out, 2 * np.exp(x.astype(np.float64)), rtol=3e-7)
    size = -(-x.size // 2)
    assert set(np.unique(mark)) == {0, size}
    assert (mark[:size] == 0).all() and (mark[size:] == size).all()


@pytest.mark.parametrize(
    "n,min_chunk,nthreads,chunks",
    [
        (10, 100, 2, 1),  # below the threshold: inline
        (300, 100, 8, 3),  # limited by n // min_chunk
        (1000, 1, 1, 1),  # one thread asked for
        (1000, 0, 4, 4),  # min_chunk 0 behaves as 1
        (5, 1, 16, 5),  # more threads than items
        (0, 1, 4, 1),  # empty range
        (100, 1, 1000, 50),  # capped at MAX_THREADS (64), then 50 non-empty chunks of 2
        (1000, 1, 1000, 63),  # 64 chunks of ceil(1000/64)=16 leave 63 non-empty
    ],
)
def test_chunking(pfor, n, min_chunk, nthreads, chunks):
    x = np.ones(n, np.float32)
    out, mark = pfor(x, min_chunk, nthreads)
    assert (out == np.float32(2 * np.e)).all()
    assert len(np.unique(mark)) == min(chunks, max(n, 1)) or n == 0


def test_deterministic(pfor):
    x = np.random.default_rng(0).standard_normal(200_001).astype(np.float32)
    first = pfor(x, 10, 2)
    for _ in range(5):
        again = pfor(x, 10, 2)
        assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])


def test_bad_worker_is_a_python_error():
    module = engine.new_module("bad")
    bad = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR, I64]), "w")
    with pytest.raises(TypeError, match="parallel worker"):
        parallel.emit_parallel_for(module, bad, "p")
