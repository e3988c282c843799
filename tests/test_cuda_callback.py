"""``debug_callback`` (``fg.debug.print`` / ``fg.debug.callback``) in CUDA programs: a
``control.HostCallback`` host node that reads its operands back and calls the impl.

Without a GPU: the programs lower with an ``op debug_callback`` step and no FALLBACK, their PTX
assembles, and ``control.run_plan`` with test_cuda_ops_b's numpy runner (whose fresh buffers
hold garbage, so a read before the producing launch shows) calls the callback with the same
values, in the same order, as eager evaluation, also inside scan / fori_loop / while / cond
bodies. The ``cuda`` tests run ``jit(f, backend="cuda")`` on a GPU and compare printed output.
"""

from __future__ import annotations

import numpy as np
import pytest
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.cuda import codegen, compiler, driver, ptx
from funcgrad.backend.cuda.ops import control
from test_cuda_ops_b import NumpyRunner, assert_same, lower, rand, run_program

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

pytestmark = pytest.mark.usefixtures("strict_jit", "x64")  # x64: the eager references here
#                                                              are plain numpy


DTYPES = ["float32", "float64", "float16", "int32", "int8", "uint16", "int64", "bool"]
SHAPES = [(), (1,), (0,), (7,), (3, 5), (2, 0, 3), (1, 1, 4)]


class Recorder:
    """A callback that keeps copies of what it was called with: ``(tag, args, kwargs)``."""

    def __init__(self):
        self.calls: list = []

    def __call__(self, tag):
        def cb(*args, **kwargs):
            copy = lambda v: np.array(v, copy=True)
            self.calls.append(
                (tag, [copy(a) for a in args], {k: copy(v) for k, v in sorted(kwargs.items())})
            )

        return cb


def assert_same_calls(got: list, want: list, rtol=0.0) -> None:
    assert [c[0] for c in got] == [c[0] for c in want]
    for (tag, g_args, g_kw), (_, w_args, w_kw) in zip(got, want):
        assert len(g_args) == len(w_args) and g_kw.keys() == w_kw.keys(), tag
        for g, w in zip([*g_args, *g_kw.values()], [*w_args, *w_kw.values()]):
            assert isinstance(g, np.ndarray), (tag, type(g))
            assert_same(g, np.asarray(w), rtol)


def check_plan(make_fn, args, rtol=0.0, calls=None):
    """Lower ``make_fn(recorder)`` for CUDA (no Fallback, an ``op debug_callback`` step), run
    its plan with the numpy runner, and compare the callback's calls and the outputs with
    eager evaluation. Returns the runner."""
    eager, planned = Recorder(), Recorder()
    want = fg.tree_util.tree_leaves(make_fn(eager)(*args))
    program, consts = lower(make_fn(planned), *args)
    assert "op debug_callback(" in _all_text(program), K.program_str(program)
    runner = NumpyRunner()
    got = run_program(program, [*consts, *args], runner)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_same(g, np.asarray(w), rtol)
    assert eager.calls or calls == 0, "the reference made no call: the test proves nothing"
    if calls is not None:
        assert len(eager.calls) == calls
    assert_same_calls(planned.calls, eager.calls, rtol)
    return runner


def _all_text(program: K.Program) -> str:
    """The program and the kernel programs of its control-flow bodies."""
    texts = [K.program_str(program)]
    for step in program.steps:
        if isinstance(step, K.OpKernel):
            for v in step.eqn.params.values():
                for j in v if isinstance(v, tuple) else (v,):
                    if hasattr(j, "eqns") or hasattr(j, "jaxpr"):
                        texts.append(_all_text(control._sub_program(j)))
    return "\n".join(texts)


# ---- values and order, on the plan interpreter ---------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_callback_sees_the_current_values(dtype):
    """Operands that are inputs, computed temporaries and outputs, with every dtype and odd,
    empty and 0-d shapes; the callbacks run in program order between the kernels."""
    rng = np.random.default_rng(DTYPES.index(dtype))
    for shape in SHAPES:
        arg = rand(rng, shape, dtype, special=False)

        def make(rec):
            def f(x):
                fg.debug.callback(rec("in"), x)
                y = fnp.where(x > 0, x, x) if dtype == "bool" else x * 2 + 1
                fg.debug.callback(rec("tmp"), y, x)
                z = fnp.sum(
                    y.astype(np.float32) if dtype == "bool" else y, axis=-1 if y.ndim else None
                )
                fg.debug.callback(rec("out"), z)
                return y, z

            return f

        runner = check_plan(make, [arg], rtol=1e-3 if dtype == "float16" else 0.0, calls=3)
        assert runner.reads == 4  # each buffer operand read back once per call


def test_literal_and_keyword_operands_and_print(capsys):
    x = np.array([1.5, -2.0, 0.25], np.float32)

    def make(rec):
        def f(x):
            fg.debug.callback(rec("lit"), 3.0, x, scale=np.int32(7), arr=x * 0.5)
            fg.debug.print("x={x} s={s}", x=x, s=fnp.sum(x))
            return x + 1.0

        return f

    runner = check_plan(make, [x], calls=1)
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"x={x} s={np.float32(x.sum())}"] * 2  # eager, then the plan
    assert runner.reads == 4  # x twice, x * 0.5 and the sum; the literals are not read


def test_vmapped_callback_runs_once_per_element_in_order():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)

    def make(rec):
        return fg.vmap(lambda r: (fg.debug.callback(rec("row"), r, fnp.max(r)), r * r)[1])

    check_plan(make, [x], calls=4)


def test_grad_calls_the_callback_on_primals():
    x = np.array([0.5, 1.0, -2.0], np.float64)

    def make(rec):
        def loss(x):
            fg.debug.callback(rec("primal"), x)
            return fnp.sum(fnp.sin(x) * x)

        return fg.grad(loss)

    check_plan(make, [x], rtol=1e-12, calls=1)


# ---- inside control flow ------------------------------------------------------------------------


@pytest.mark.parametrize("length, reverse", [(0, False), (1, False), (4, False), (5, True)])
def test_callback_in_a_scan_body_runs_every_iteration(length, reverse):
    rng = np.random.default_rng(length)
    c0 = rng.standard_normal(3).astype(np.float32)
    xs = rng.standard_normal((length, 3)).astype(np.float32)

    def make(rec):
        def f(c0, xs):
            def body(c, x):
                fg.debug.callback(rec("carry"), c, x)
                c = c * 0.5 + x
                fg.debug.callback(rec("new"), c)
                return c, c * x

            return lax.scan(body, c0, xs, reverse=reverse)

        return f

    eager = Recorder()
    make(eager)(c0, xs)
    assert len(eager.calls) == 2 * length
    check_plan(make, [c0, xs], rtol=1e-6, calls=2 * length)


def _scan_rows(rec):
    def f(x):
        fg.debug.callback(rec("x"), x, 2)
        if x.ndim == 0:
            return x
        return lax.scan(lambda c, r: (c, fg.debug.callback(rec("row"), r)), x, x)[0]

    return f


@pytest.mark.parametrize("dtype", DTYPES)
def test_callback_on_scanned_rows_every_dtype(dtype):
    rng = np.random.default_rng(10 + DTYPES.index(dtype))
    for shape in [(), (0,), (1,), (7,), (3, 5), (4, 0)]:
        x = rand(rng, shape, dtype, special=False)
        check_plan(_scan_rows, [x], calls=1 + (shape[0] if shape else 0))


def test_fori_loop_print_each_iteration(capsys):
    def make(rec):
        def f(x):
            def body(i, c):
                fg.debug.print("i={} c={}", i, c)
                fg.debug.callback(rec("it"), i, c)
                return c * 2.0 - 1.0

            return lax.fori_loop(0, 4, body, x)

        return f

    check_plan(make, [np.array([1.0, 3.0], np.float32)], calls=4)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 8 and lines[:4] == lines[4:], lines
    assert lines[0] == "i=0 c=[1. 3.]" and lines[3] == "i=3 c=[ 1. 17.]", lines


def test_while_cond_and_body_callbacks_interleave():
    def make(rec):
        def f(x, limit):
            def cond(v):
                fg.debug.callback(rec("cond"), v[1])
                return v[1] < limit

            def body(v):
                fg.debug.callback(rec("body"), v[0], v[1])
                return v[0] * 1.5 + 1.0, v[1] + 1

            return lax.while_loop(cond, body, (x, np.int32(0)))

        return f

    x = np.array([0.5, -1.0], np.float32)
    for limit in (0, 1, 3):
        check_plan(make, [x, np.int32(limit)], rtol=1e-6, calls=2 * limit + 1)


@pytest.mark.parametrize("index", [-1, 0, 1, 5])
def test_callback_only_in_the_branch_taken(index):
    def make(rec):
        def f(i, x):
            def branch(k):
                return lambda x: (fg.debug.callback(rec(f"branch{k}"), x), x + k)[1]

            fg.debug.callback(rec("before"), i)
            return lax.switch(i, [branch(0), branch(1)], x)

        return f

    check_plan(make, [np.int32(index), np.array([2.0, 4.0], np.float32)], calls=2)


def test_callback_in_nested_loops():
    def make(rec):
        def f(xs):
            def outer(c, x):
                def inner(j, c):
                    fg.debug.callback(rec("inner"), j, c)
                    return c + x

                return lax.fori_loop(0, 2, inner, c), None

            return lax.scan(outer, xs[0] * 0, xs)[0]

        return f

    xs = np.random.default_rng(3).standard_normal((3, 2)).astype(np.float64)
    check_plan(make, [xs], rtol=1e-12, calls=6)


def test_a_callback_error_propagates():
    def f(x):
        fg.debug.callback(lambda v: 1 / 0, x)
        return x

    program, consts = lower(f, np.ones(2, np.float32))
    with pytest.raises(ZeroDivisionError):
        run_program(program, [*consts, np.ones(2, np.float32)])


def _print_fn(x, xs):
    fg.debug.print("x={x}", x=x)
    y = fnp.sin(x) * 2.0
    fg.debug.print("y={} n={}", y, fnp.sum(y > 0))

    def body(i, c):
        fg.debug.print("i={} c={}", i, c)
        return c * 0.5 + fnp.asarray(xs)[i]

    return lax.fori_loop(0, xs.shape[0], body, y)


def _print_args():
    rng = np.random.default_rng(0)
    return (
        rng.integers(-4, 5, 5).astype(np.float32),
        rng.integers(-4, 5, (3, 5)).astype(np.float32),
    )


def test_print_plan_matches_eager(capsys):
    """What the GPU test below runs, on the plan interpreter."""
    args = _print_args()
    want = _print_fn(*args)
    eager = capsys.readouterr().out
    program, consts = lower(_print_fn, *args)
    (got,) = run_program(program, [*consts, *args])
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-6)
    assert capsys.readouterr().out == eager and eager.count("\n") == 5


# ---- lowering: one PTX module, one ptxas run ----------------------------------------------------

LOWERED = [
    ("only_print", lambda x: (fg.debug.print("{}", x), x)[1], [(3,)]),
    ("print_between", lambda x: (fg.debug.print("{}", fnp.exp(x)), fnp.sin(x) * 2)[1], [(5,)]),
    (
        "fori",
        lambda x: lax.fori_loop(0, 3, lambda i, c: (fg.debug.print("{}", c), c + i)[1], x),
        [(4,)],
    ),
    (
        "while",
        lambda x: lax.while_loop(
            lambda c: (fg.debug.print("{}", c), c[0] < 5)[1], lambda c: c * 2 + 1, x
        ),
        [(2,)],
    ),
    (
        "cond",
        lambda x: lax.cond(x[0] > 0, lambda x: (fg.debug.print("{}", x), x)[1], lambda x: -x, x),
        [(3,)],
    ),
]


def test_lowered_programs_assemble_with_ptxas():
    module = ptx.new_kernel_module("cuda_callback", "sm_90")
    nodes = []
    for name, fn, shapes in LOWERED:
        args = [np.ones(s, np.float32) for s in shapes]
        program, _ = compiler.program_from_jaxpr(fg.make_jaxpr(fn)(*args), name)
        text = _all_text(program)
        assert "FALLBACK" not in text and "op debug_callback(" in text, text
        _, launches = codegen.emit_program(program, module)
        nodes += [k for k in launches if isinstance(k, control.HostNode)]
    top = [n for n in nodes if isinstance(n, control.HostCallback)]
    assert len(top) == 2 and all(n.kernels() == () for n in top)
    assert len(list(_callbacks_in(nodes))) == 5  # and one in each loop / branch body
    text = ptx.compile_ptx(module, "sm_90")
    assert ".entry" in text
    result = ptx.ptxas_check(text, "sm_90")
    if result is not None:  # only this assertion needs ptxas
        ok, log = result
        assert ok, log


def _callbacks_in(groups):
    for g in groups:
        if isinstance(g, control.HostCallback):
            yield g
        elif isinstance(g, control.HostNode):
            for plan in vars(g).values():
                for p in plan if isinstance(plan, tuple) else (plan,):
                    if isinstance(p, control.SubPlan):
                        yield from _callbacks_in(p.groups)


def test_a_program_of_callbacks_only_lowers():
    lowered = compiler.lower_jaxpr(
        fg.make_jaxpr(lambda x: fg.debug.print("{}", x))(np.ones(3, np.int32)), "cb_only"
    )
    assert [type(k) for k in lowered.kernels] == [control.HostCallback]
    assert control.plan_of(lowered.program, lowered.kernels).host_driven
    result = ptx.ptxas_check(lowered.ptx, "sm_90")
    assert result is None or result[0], result and result[1]


# ---- on a GPU ---------------------------------------------------------------------------------

requires_gpu = pytest.mark.skipif(
    not driver.cuda_available(), reason="needs an NVIDIA GPU and the CUDA driver (libcuda.so.1)"
)


@pytest.mark.cuda
@requires_gpu
def test_gpu_debug_print_matches_eager(capsys):
    args = _print_args()
    want = _print_fn(*args)
    eager = capsys.readouterr().out
    assert eager.count("\n") == 5
    for _ in range(2):  # compiled once, printed on every call
        got = fg.jit(_print_fn, backend="cuda")(*args)
        assert capsys.readouterr().out == eager
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5)


@pytest.mark.cuda
@requires_gpu
@pytest.mark.parametrize("dtype", DTYPES)
def test_gpu_callback_values_every_dtype(dtype):
    rng = np.random.default_rng(1)
    for shape in [(), (0,), (7,), (3, 5)]:
        arg = rand(rng, shape, dtype, special=False)
        eager, device = Recorder(), Recorder()
        _scan_rows(eager)(arg)
        fg.jit(_scan_rows(device), backend="cuda")(arg)
        assert_same_calls(device.calls, eager.calls)
