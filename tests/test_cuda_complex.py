"""Complex numbers (and trigamma) in CUDA loop kernels.

Each case lowers with ``compiler.lower_jaxpr`` to a program with no Fallback step; the kernels
of all cases, put in one module, assemble with ptxas for sm_90; and they run on the CPU through
the ``Emulator`` of ``test_cuda_ops_a.py`` (thread by thread, every address bounds-checked),
matching eager. ``cuda``-marked tests run them through ``jit(f, backend="cuda")``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
from funcgrad.backend.cuda import codegen, compiler, driver, ptx
from test_cuda_ops_a import Emulator

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad._src import lax_elementwise as le


@pytest.fixture(scope="module", autouse=True)
def x64():
    with fg.config.override(enable_x64=True):
        yield


class Case(NamedTuple):
    name: str
    fn: Callable
    make: Callable  # rng -> argument list
    tol: float


def _cz(rng, shape, dtype, scale=2.0):
    z = rng.uniform(-scale, scale, shape) + 1j * rng.uniform(-scale, scale, shape)
    return np.asarray(z).astype(dtype)


def _cases():
    out = []
    for dt, tol in ((np.complex64, 2e-5), (np.complex128, 1e-12)):
        s = "c64" if dt == np.complex64 else "c128"
        part = np.float32 if dt == np.complex64 else np.float64
        xy = lambda rng, dt=dt: [_cz(rng, (3, 5), dt), _cz(rng, (5,), dt)]
        out += [
            Case(f"arith_{s}", lambda x, y: x * y + x / y - x, xy, tol),
            Case(f"transcendental_{s}", lambda x, y: lax.exp(x) + lax.log(x) * fnp.sqrt(y),
                 xy, tol),
            Case(f"pow_{s}", lambda x, y: lax.pow(x, fnp.broadcast_to(y, (3, 5))), xy, tol),
            Case(f"parts_{s}", lambda x, y: (lax.abs(x) + lax.real(y), lax.conj(x),
                                            lax.complex(lax.imag(x), lax.real(x))), xy, tol),
            Case(f"compare_select_{s}", lambda x, y: (lax.eq(x, x), x != y,
                                                     fnp.where(fnp.real(x) > 0, x, y)), xy, tol),
            Case(f"integer_pow_{s}", lambda x, y: lax.integer_pow(x, 5) + lax.integer_pow(y, -2),
                 xy, tol),
            Case(f"mixed_real_{s}", lambda x, r: x * r + fnp.abs(x),
                 lambda rng, dt=dt, p=part: [_cz(rng, (4, 3), dt),
                                             rng.standard_normal((4, 1)).astype(p)], tol),
            Case(f"convert_{s}", lambda x, y: (lax.convert_element_type(x, np.complex128),
                                              lax.convert_element_type(x, np.complex64),
                                              lax.convert_element_type(x, np.float32),
                                              lax.convert_element_type(x * 9, np.int32)), xy,
                 tol),
            Case(f"sum_axis0_{s}", lambda x, y: fnp.sum(x * y, axis=0), xy, tol * 10),
            Case(f"prod_axis1_{s}", lambda x, y: fnp.prod(x, axis=1), xy, tol * 10),
            Case(f"sum_all_{s}", lambda x, y: fnp.sum(lax.exp(x)), xy, tol * 10),
        ]
    for dt, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        out.append(Case(f"trigamma_{np.dtype(dt).name}", le.trigamma,
                        lambda rng, dt=dt: [np.concatenate([rng.uniform(-6, 0, 20),
                                                            rng.uniform(0, 30, 20)]).astype(dt)],
                        tol))
    return out


CASES = _cases()


def _eager(case, args):
    out = case.fn(*args)
    return [np.asarray(o) for o in (out if isinstance(out, tuple) else (out,))]


def _assert_close(got, want, tol, name):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape, name
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=name)


@pytest.fixture(scope="module")
def lowered():
    """Each case's program and PTX; then every case's kernels in one module, through ptxas."""
    progs = {}
    module = ptx.new_kernel_module("complex_all")
    launches = {}
    for case in CASES:
        args = case.make(np.random.default_rng(0))
        low = compiler.lower_jaxpr(fg.make_jaxpr(case.fn)(*args), case.name)
        progs[case.name] = low
        program = dataclasses.replace(low.program, name=case.name)
        _, launches[case.name] = codegen.emit_program(program, module)
    return progs, module, launches


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_lowers_without_fallback(lowered, case):
    low = lowered[0][case.name]
    text = low.as_text("kernels")
    assert "FALLBACK" not in text and "loop" in text, text
    assert {k.kind for k in low.kernels} <= {"elementwise", "reduce_thread", "reduce_block"}


def test_ptx_of_all_cases_assembles(lowered):
    _, module, _ = lowered
    result = ptx.ptxas_check(ptx.compile_ptx(module, "sm_90"), "sm_90")
    if result is None:
        pytest.skip("ptxas is not installed")
    ok, log = result
    assert ok, log


def test_block_reduction_of_complex_assembles():
    x = _cz(np.random.default_rng(1), (4, 3000), np.complex128)
    low = compiler.lower_jaxpr(fg.make_jaxpr(lambda x: fnp.sum(x, axis=1))(x), "big_sum")
    assert [k.kind for k in low.kernels] == ["reduce_block"]
    result = ptx.ptxas_check(low.ptx, "sm_90")
    assert result is None or result[0], result and result[1]


def test_complex_dot_is_refused():
    a = _cz(np.random.default_rng(2), (3, 4), np.complex64)
    with pytest.raises(codegen.CudaUnsupportedError, match="dot_general"):
        compiler.lower_jaxpr(fg.make_jaxpr(lambda a: a @ a.T)(a), "cdot")


@pytest.fixture(scope="module")
def emulated(lowered):
    _, module, launches = lowered
    return Emulator(module), launches


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_kernels_run_on_the_cpu_match_eager(lowered, emulated, case):
    emulator, launches = emulated
    assert {k.kind for k in launches[case.name]} <= {"elementwise", "reduce_thread"}
    low = lowered[0][case.name]
    program = dataclasses.replace(low.program, name=case.name)
    args = case.make(np.random.default_rng(5))
    got = emulator.run(program, launches[case.name], [*low.consts, *args])
    for g, w in zip(got, _eager(case, args), strict=True):
        _assert_close(g, w, case.tol, case.name)


needs_gpu = pytest.mark.skipif(not driver.cuda_available(),
                               reason="needs an NVIDIA GPU and the CUDA driver (libcuda.so.1)")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.cuda
@needs_gpu
def test_gpu_matches_eager(case):
    compiler.register_jit_backend()
    args = case.make(np.random.default_rng(3))
    got = fg.jit(case.fn, backend="cuda")(*args)
    got = got if isinstance(got, tuple) else (got,)
    for g, w in zip(got, _eager(case, args), strict=True):
        _assert_close(g, w, case.tol, case.name)


@pytest.mark.cuda
@needs_gpu
def test_gpu_block_reduction_of_complex():
    compiler.register_jit_backend()
    for dt, tol in ((np.complex64, 1e-4), (np.complex128, 1e-11)):
        x = _cz(np.random.default_rng(4), (5, 5000), dt, 1.0)
        got = fg.jit(lambda x: fnp.sum(x, axis=1), backend="cuda")(x)
        _assert_close(got, np.asarray(fnp.sum(x, axis=1)), tol, "block sum")
