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
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.cuda import codegen, compiler, driver, ptx
from test_cuda_ops_a import Emulator

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad._src.lax import transcendental as ltr

pytestmark = pytest.mark.usefixtures("x64")  # 64-bit dtypes stay 64-bit (conftest.py)


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
            Case(
                f"transcendental_{s}", lambda x, y: lax.exp(x) + lax.log(x) * fnp.sqrt(y), xy, tol
            ),
            Case(f"pow_{s}", lambda x, y: lax.pow(x, fnp.broadcast_to(y, (3, 5))), xy, tol),
            Case(
                f"parts_{s}",
                lambda x, y: (
                    lax.abs(x) + lax.real(y),
                    lax.conj(x),
                    lax.complex(lax.imag(x), lax.real(x)),
                ),
                xy,
                tol,
            ),
            Case(
                f"compare_select_{s}",
                lambda x, y: (lax.eq(x, x), x != y, fnp.where(fnp.real(x) > 0, x, y)),
                xy,
                tol,
            ),
            Case(
                f"integer_pow_{s}",
                lambda x, y: lax.integer_pow(x, 5) + lax.integer_pow(y, -2),
                xy,
                tol,
            ),
            Case(
                f"mixed_real_{s}",
                lambda x, r: x * r + fnp.abs(x),
                lambda rng, dt=dt, p=part: [
                    _cz(rng, (4, 3), dt),
                    rng.standard_normal((4, 1)).astype(p),
                ],
                tol,
            ),
            Case(
                f"convert_{s}",
                lambda x, y: (
                    lax.convert_element_type(x, np.complex128),
                    lax.convert_element_type(x, np.complex64),
                    lax.convert_element_type(x, np.float32),
                    lax.convert_element_type(x * 9, np.int32),
                ),
                xy,
                tol,
            ),
            Case(f"sum_axis0_{s}", lambda x, y: fnp.sum(x * y, axis=0), xy, tol * 10),
            Case(f"prod_axis1_{s}", lambda x, y: fnp.prod(x, axis=1), xy, tol * 10),
            Case(f"sum_all_{s}", lambda x, y: fnp.sum(lax.exp(x)), xy, tol * 10),
        ]
    for dt, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        out.append(
            Case(
                f"trigamma_{np.dtype(dt).name}",
                ltr.trigamma,
                lambda rng, dt=dt: [
                    np.concatenate([rng.uniform(-6, 0, 20), rng.uniform(0, 30, 20)]).astype(dt)
                ],
                tol,
            )
        )
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


# ---- complex dot_general: four real dots (backend/lower/rewrite.py) ------------------------

DOT_CASES = [  # (name, fn, lhs shape, rhs shape, dtype)
    ("matmul_c64", lambda a, b: a @ b, (5, 7), (7, 3), np.complex64),
    (
        "batched_tn_c128",
        lambda a, b: fnp.einsum("bki,bkj->bij", a, b) * 2 + 1j,
        (2, 6, 4),
        (2, 6, 3),
        np.complex128,
    ),
    (
        "pet_c64_to_c128",
        lambda a, b: lax.dot(a, b, preferred_element_type=np.complex128),
        (4, 5),
        (5, 2),
        np.complex64,
    ),
    (
        "in_scan_c64",
        lambda a, b: lax.scan(lambda c, x: (c @ b[:3, :3] + x[:3], None), a[0, :3], a[:, :3])[0],
        (4, 5),
        (5, 3),
        np.complex64,
    ),
]


@pytest.mark.parametrize("name, fn, sa, sb, dt", DOT_CASES, ids=[c[0] for c in DOT_CASES])
def test_complex_dot_lowers_to_real_dots(name, fn, sa, sb, dt):
    """A complex dot becomes real dots of the parts (no Fallback), the program interprets to
    the eager result, and its PTX assembles."""
    rng = np.random.default_rng(2)
    a, b = _cz(rng, sa, dt), _cz(rng, sb, dt)
    program, consts = compiler.program_from_jaxpr(fg.make_jaxpr(fn)(a, b), name)
    text = K.program_str(program)
    assert "FALLBACK" not in text, text
    if name != "in_scan_c64":
        assert text.count(" dot ") == 4 and "complex" in text, text
    if name == "in_scan_c64":
        from test_cuda_ops_b import run_program

        got = run_program(program, [*consts, a, b])
    else:
        got = K.interpret(program, [*consts, a, b])
    want = np.asarray(fn(a, b))
    tol = 1e-5 if dt == np.complex64 and name != "pet_c64_to_c128" else 1e-12
    _assert_close(got[0], want, max(tol, 1e-5 if dt == np.complex64 else tol), name)
    result = ptx.ptxas_check(compiler.lower_program(program).ptx, "sm_90")
    assert result is None or result[0], result and result[1][-2000:]


# ---- complex operands of the element-moving op kernels and of control flow -----------------------


def _op_cases():
    return _move_cases(np.complex64, "c64") + _move_cases(np.complex128, "c128")


def _move_cases(dt, s):
    """The element-moving cases for complex dtype ``dt`` (named ``*_{s}``). A function of its
    own so that every lambda closes over this call's ``dt``, not a loop variable."""
    idx = np.array([4, 0, 2, 4, 1])  # a repeated index: scatter_add collides there
    x = lambda rng: [_cz(rng, (6, 5), dt)]
    return [
        Case(
            f"gather_{s}",
            lambda a: (
                a[idx],
                a[idx, 1:4],
                fnp.asarray(a).at[np.array([1, 9])].get(mode="fill"),
            ),
            x,
            0,
        ),
        Case(
            f"scatter_{s}",
            lambda a: fnp.asarray(a).at[np.array([3, 0, 5])].set(a[:3] * 2),
            x,
            0,
        ),
        Case(f"scatter_add_{s}", lambda a: fnp.asarray(a).at[idx].add(a[:5] * 3), x, 1e-5),
        Case(
            f"dynamic_slice_{s}",
            lambda a, st: (
                lax.dynamic_slice(a, (st[0], 1), (2, 3)),
                lax.dynamic_update_slice(a, a[:2, :2] * 2, (st[1], 3)),
            ),
            lambda rng: [_cz(rng, (6, 5), dt), rng.integers(-2, 9, 2).astype(np.int32)],
            0,
        ),
        Case(
            f"concat_pad_{s}",
            lambda a: (
                fnp.concatenate([a, a * 1j], 1),
                lax.pad(a, np.asarray(1 - 2j, dt), ((1, 2, 0), (0, -1, 1))),
            ),
            x,
            0,
        ),
    ]


OP_CASES = _op_cases()
MOVE_KINDS = {
    "gather",
    "copy",
    "scatter",
    "dynamic_slice",
    "dynamic_update_slice",
    "concatenate",
    "pad",
    "elementwise",
    "reduce_thread",
}


@pytest.fixture(scope="module")
def op_lowered():
    module = ptx.new_kernel_module("complex_ops")
    out = {}
    for case in OP_CASES:
        args = case.make(np.random.default_rng(0))
        low = compiler.lower_jaxpr(fg.make_jaxpr(case.fn)(*args), case.name)
        assert "FALLBACK" not in low.as_text("kernels"), low.as_text("kernels")
        program = dataclasses.replace(low.program, name=case.name)
        _, launches = codegen.emit_program(program, module)
        out[case.name] = (low, program, launches)
    return module, out


def test_complex_op_kernels_assemble(op_lowered):
    result = ptx.ptxas_check(ptx.compile_ptx(op_lowered[0], "sm_90"), "sm_90")
    assert result is None or result[0], result and result[1][-2000:]


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.name)
def test_complex_op_kernels_run_on_the_cpu_match_eager(op_lowered, case):
    """The gather/scatter/slice/concatenate/pad kernels move whole complex elements (and
    scatter_add adds each part atomically): run thread by thread by the Emulator, exact."""
    module, lowered = op_lowered
    low, program, launches = lowered[case.name]
    assert {k.kind for k in launches} <= MOVE_KINDS, {k.kind for k in launches}
    prims = {s.eqn.primitive.name for s in program.steps if isinstance(s, K.OpKernel)}
    assert prims, K.program_str(program)
    args = case.make(np.random.default_rng(6))
    got = _emulator(module).run(program, launches, [*low.consts, *args])
    for g, w in zip(got, _eager(case, args), strict=True):
        if case.tol:
            _assert_close(g, w, case.tol, case.name)
        else:
            assert g.dtype == w.dtype and g.shape == w.shape
            np.testing.assert_array_equal(g, w, err_msg=case.name)


_EMULATORS: dict = {}


def _emulator(module):
    if id(module) not in _EMULATORS:
        _EMULATORS.clear()
        _EMULATORS[id(module)] = Emulator(module)
    return _EMULATORS[id(module)]


def test_complex_mul_scatter_is_refused():
    a = _cz(np.random.default_rng(1), (4, 3), np.complex64)
    with pytest.raises(codegen.CudaUnsupportedError, match="scatter"):
        compiler.lower_jaxpr(
            fg.make_jaxpr(lambda a: fnp.asarray(a).at[np.array([0, 2])].multiply(a[:2]))(a), "cmul"
        )


def test_complex_cumsum_is_two_real_cumsums():
    """A complex cumsum becomes the cumsums of its parts: the (emulated) cumsum kernels run it."""
    from test_cuda_ops_b import check_cases

    rng = np.random.default_rng(9)
    for dt in (np.complex64, np.complex128):
        a = _cz(rng, (5, 37), dt)
        check_cases(
            [
                (lambda a: fnp.cumsum(a, axis=1), [a], ["cumsum"], 1e-5),
                (lambda a: lax.cumsum(a, 0, reverse=True), [a], ["cumsum"], 1e-5),
            ]
        )


def test_complex_control_flow_runs_its_plan():
    """scan / while / cond with complex carries are host-driven op kernels on CUDA: lowered
    without Fallback, run by control.run_plan with the numpy runner of test_cuda_ops_b."""
    from test_cuda_ops_b import check_cases

    rng = np.random.default_rng(7)
    a = _cz(rng, (4, 3), np.complex64)
    check_cases(
        [
            (
                lambda a: lax.scan(lambda c, x: (c * x + 1j, fnp.sum(c * x)), a[0], a),
                [a],
                ["scan"],
                1e-5,
            ),
            (
                lambda a: lax.while_loop(
                    lambda c: (c[0] < 20) & (fnp.abs(c[1][0]) < 50.0),
                    lambda c: (c[0] + 1, c[1] * fnp.conj(c[1]) * 0.5 + a[0]),
                    (0, a[1]),
                ),
                [a],
                ["while"],
                1e-5,
            ),
            (
                lambda a: lax.fori_loop(0, 3, lambda i, c: c * fnp.conj(c) * 0.5 + a[0], a[1]),
                [a],
                ["scan"],
                1e-5,
            ),
            (
                lambda a: lax.cond(fnp.real(a[0, 0]) > 0, lambda x: x * 2, lambda x: x - 1j, a),
                [a],
                ["cond"],
                1e-5,
            ),
        ]
    )


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


needs_gpu = pytest.mark.skipif(
    not driver.cuda_available(), reason="needs an NVIDIA GPU and the CUDA driver (libcuda.so.1)"
)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.cuda
@needs_gpu
def test_gpu_matches_eager(case):
    args = case.make(np.random.default_rng(3))
    got = fg.jit(case.fn, backend="cuda")(*args)
    got = got if isinstance(got, tuple) else (got,)
    for g, w in zip(got, _eager(case, args), strict=True):
        _assert_close(g, w, case.tol, case.name)


@pytest.mark.cuda
@needs_gpu
def test_gpu_block_reduction_of_complex():
    for dt, tol in ((np.complex64, 1e-4), (np.complex128, 1e-11)):
        x = _cz(np.random.default_rng(4), (5, 5000), dt, 1.0)
        got = fg.jit(lambda x: fnp.sum(x, axis=1), backend="cuda")(x)
        _assert_close(got, np.asarray(fnp.sum(x, axis=1)), tol, "block sum")


@pytest.mark.cuda
@needs_gpu
def test_gpu_complex_dots_and_op_kernels():
    rng = np.random.default_rng(8)
    for name, fn, sa, sb, dt in DOT_CASES:
        a, b = _cz(rng, sa, dt), _cz(rng, sb, dt)
        _assert_close(
            fg.jit(fn, backend="cuda")(a, b),
            np.asarray(fn(a, b)),
            1e-4 if dt == np.complex64 else 1e-11,
            name,
        )
    z = _cz(rng, (5, 300), np.complex64)
    _assert_close(
        fg.jit(lambda z: fnp.cumsum(z, 1), backend="cuda")(z),
        np.asarray(fnp.cumsum(z, 1)),
        1e-4,
        "cumsum",
    )
    for case in OP_CASES:
        args = case.make(rng)
        got = fg.jit(case.fn, backend="cuda")(*args)
        got = got if isinstance(got, tuple) else (got,)
        for g, w in zip(got, _eager(case, args), strict=True):
            _assert_close(g, w, max(case.tol, 1e-6), case.name)


def test_debug_callback_on_complex_values_runs_its_plan():
    """debug_callback is a host node: complex operands are read back like any other."""
    from test_cuda_ops_b import run_program

    seen = []

    def f(a):
        fg.debug.callback(lambda v: seen.append(np.asarray(v)), a * 2j)
        return a + 1

    a = _cz(np.random.default_rng(10), (3,), np.complex64)
    program, consts = compiler.program_from_jaxpr(fg.make_jaxpr(f)(a), "cb")
    assert "op debug_callback(" in K.program_str(program), K.program_str(program)
    got = run_program(program, [*consts, a])
    np.testing.assert_allclose(got[0], a + 1, rtol=1e-6)
    assert len(seen) == 1 and seen[0].dtype == np.complex64
    np.testing.assert_allclose(seen[0], a * 2j, rtol=1e-6)
