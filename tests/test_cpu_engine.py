"""backend/cpu/engine.py and loops.py: target setup, O3 + MCJIT, attributes, loop helpers."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from funcgrad.backend.cpu import engine
from funcgrad.backend.llvm import builders as loops
from llvmlite import ir

F32, I64, PTR = ir.FloatType(), ir.IntType(64), ir.PointerType()


def _saxpy_module():
    """out[i] = 2 * x[i] + 1 over i < n, with vectorisation hints."""
    m = engine.new_module("saxpy")
    fn = ir.Function(m, ir.FunctionType(ir.VoidType(), [PTR, PTR, I64]), "saxpy")
    engine.set_function_attributes(fn, noalias=True, nocapture=[0, 1])
    x, out, n = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    with loops.for_range(b, n, vectorize=True) as i:
        v = b.load(b.gep(x, [i], source_etype=F32), typ=F32)
        v = b.fadd(b.fmul(v, F32(2.0)), F32(1.0))
        b.store(v, b.gep(out, [i], source_etype=F32))
    b.ret_void()
    return m


@pytest.fixture(scope="module")
def saxpy():
    return engine.compile_module(str(_saxpy_module()), name="saxpy")


def test_new_module_matches_host():
    m = engine.new_module("m")
    tm = engine.target_machine()
    assert m.triple == tm.triple and m.data_layout == str(tm.target_data)


def test_function_attributes_text():
    m = _saxpy_module()
    text = str(m)
    cpu, _ = engine.host_cpu()
    assert '"prefer-vector-width"="512"' in text and f'"target-cpu"="{cpu}"' in text
    assert '"target-features"="' in text and "nounwind" in text
    assert "ptr captures(none) noalias" in text or "ptr noalias captures(none)" in text


def test_attribute_errors_are_python_errors():
    m = engine.new_module("m")
    fn = ir.Function(m, ir.FunctionType(ir.VoidType(), [PTR, I64]), "f")
    with pytest.raises(ValueError, match="not pointers"):
        engine.set_function_attributes(fn, noalias=[1])
    with pytest.raises(ValueError, match="inline"):
        engine.set_function_attributes(fn, inline="sometimes")
    engine.set_function_attributes(fn, inline="never", denormal_fp_math="ieee")
    assert '"denormal-fp-math"="ieee"' in str(fn) and "noinline" in str(fn)


def test_compile_run_and_inspect(saxpy):
    x = np.arange(1000, dtype=np.float32)
    out = np.empty_like(x)
    proto = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
    proto(saxpy.address("saxpy"))(x.ctypes.data, out.ctypes.data, x.size)
    np.testing.assert_array_equal(out, 2 * x + 1)
    assert set(saxpy.timings) == {"parse", "opt", "codegen"}
    assert "<16 x float>" in saxpy.ir_opt  # 512-bit vectors thanks to prefer-vector-width
    assert saxpy._asm is None and "zmm" in saxpy.asm  # assembly made on request


def test_compile_errors(saxpy):
    with pytest.raises(KeyError, match="nope"):
        saxpy.address("nope")
    with pytest.raises(ValueError, match="invalid LLVM IR in module 'broken'"):
        engine.compile_module("define void @f() { ret i32 0 }", name="broken")
    with pytest.raises(TypeError):
        engine.compile_module(42, name="x")


def test_many_engines_share_nothing_fragile():
    # MCJIT owns (and frees) its target machine: each engine must get its own.
    for _ in range(3):
        cm = engine.compile_module(str(_saxpy_module()), name="again")
        assert cm.address("saxpy")
        del cm
    engine.compile_module(str(_saxpy_module()), name="last").address("saxpy")


def _emit_nest_kernel():
    """out[i, j] = i*10 + j if (i + j) odd else -(i*10 + j), for a 3x4 nest; also if_then."""
    m = engine.new_module("nest")
    fn = ir.Function(m, ir.FunctionType(ir.VoidType(), [PTR, PTR]), "nest")
    out, count = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    with loops.loop_nest(b, (3, 4)) as (i, j):
        v = b.sitofp(b.add(b.mul(i, I64(10)), j), F32)
        dst = b.gep(out, [b.add(b.mul(i, I64(4)), j)], source_etype=F32)
        odd = b.trunc(b.add(i, j), ir.IntType(1))
        with loops.if_else(b, odd) as (then, otherwise):
            with then:
                b.store(v, dst)
            with otherwise:
                b.store(b.fneg(v), dst)
        with loops.if_then(b, b.icmp_signed("==", i, j)):
            old = b.load(count, typ=I64)
            b.store(b.add(old, I64(1)), count)
    b.ret_void()
    return engine.compile_module(str(m), name="nest")


def test_loop_nest_and_branches():
    cm = _emit_nest_kernel()
    out = np.zeros((3, 4), np.float32)
    count = np.zeros(1, np.int64)
    ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)(cm.address("nest"))(
        out.ctypes.data, count.ctypes.data
    )
    i, j = np.indices((3, 4))
    np.testing.assert_array_equal(out, np.where((i + j) % 2 == 1, 1, -1) * (i * 10 + j))
    assert count[0] == 3


def test_for_range_checks():
    m = engine.new_module("m")
    fn = ir.Function(m, ir.FunctionType(ir.VoidType(), [F32]), "f")
    b = ir.IRBuilder(fn.append_basic_block())
    with pytest.raises(ValueError, match="positive"):
        with loops.for_range(b, 0, 10, step=0):
            pass
    with pytest.raises(TypeError, match="integer"):
        with loops.for_range(b, fn.args[0]):
            pass
