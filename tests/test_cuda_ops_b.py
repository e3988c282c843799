"""CUDA op kernels for sort / cumsum / argmax / argmin and host-driven control flow
(``backend/cuda/ops/sort_scan.py``, ``backend/cuda/ops/control.py``).

Without a GPU three things are checked:

- lowering: the programs have the op kernels and no FALLBACK, and their PTX assembles
  (one ``ptxas`` run over one module holding every case);
- the kernels' logic: each op kernel's NVPTX LLVM IR is retargeted to the host (the special
  registers become globals, the barrier a no-op) and run with MCJIT on numpy buffers, thread
  by thread, against the numpy impls. Kernels whose blocks synchronise (block-per-row sort)
  run with one thread per block, which a barrier cannot reorder; the others with several
  blocks of several threads, so the grid-stride row loops are exercised;
- the control-flow plan interpreter (``control.run_plan``): the same code the GPU executable
  runs, given a numpy runner whose "launches" interpret each sub-program step (kernel_ir's
  interpreter, or the emulated op kernels above).

The tests marked ``cuda`` run ``jit(f, backend="cuda")`` on a real GPU against eager.
"""

from __future__ import annotations

import ctypes
import re

import numpy as np
import pytest
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.cpu import engine
from funcgrad.backend.cuda import codegen, compiler, driver, ptx
from funcgrad.backend.cuda import ops as cuda_ops
from funcgrad.backend.cuda.ops import control
from support import cuda_emu_ir  # noqa: F401  (binds __truncdfhf2 for the emulator)

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

pytestmark = pytest.mark.usefixtures("strict_jit")


# ---- running op kernels on the host -------------------------------------------------------------

EMULATED = {"sort", "cumsum", "argmax", "argmin"}
_SREG = re.compile(r"^declare [^@]*@llvm\.nvvm\.read\.ptx\.sreg\.(\w+)\.x\(\).*$", re.MULTILINE)
_BARRIER = re.compile(r"^declare [^@]*@llvm\.nvvm\.(barrier[\w.]*)\(([^)]*)\).*$", re.MULTILINE)


def host_ir(text: str) -> str:
    """Optimised NVPTX IR -> host IR: the special registers ``%tid.x`` etc. read globals
    ``emu.tid`` ..., barriers do nothing (every block runs one thread), kernels are plain
    functions."""
    tm = engine.target_machine()
    text = "\n".join(
        ln
        for ln in text.splitlines()
        if not ln.startswith(("target triple", "target datalayout", "!nvvm.annotations"))
    )
    text = text.replace("define ptx_kernel void", "define void")
    text = _SREG.sub(
        lambda m: (
            f"@emu.{m[1]} = global i32 0\n"
            f"define i32 @emu.sreg.{m[1]}() {{\n"
            f"  %v = load i32, ptr @emu.{m[1]}\n  ret i32 %v\n}}"
        ),
        text,
    )
    text = _BARRIER.sub(lambda m: f"define void @emu.{m[1]}({m[2]}) {{\n  ret void\n}}", text)
    text = re.sub(r"@llvm\.nvvm\.read\.ptx\.sreg\.(\w+)\.x\b", r"@emu.sreg.\1", text)
    text = re.sub(r"@llvm\.nvvm\.(barrier[\w.]*)", r"@emu.\1", text)
    assert "llvm.nvvm" not in text, "an NVPTX intrinsic the emulator does not know"
    return f'target triple = "{tm.triple}"\ntarget datalayout = "{tm.target_data}"\n{text}'


class Emulator:
    """Op kernels run on the host: their LLVM IR after the NVPTX O3 pipeline (what becomes
    PTX), retargeted and compiled without further optimisation. ``add`` steps of several
    programs (names unique), then ``run``: one compilation per batch."""

    def __init__(self):
        self.module, self.pending, self.ready, self.engines = None, {}, {}, []

    def add(self, program: K.Program, index: int) -> None:
        key = (program.name, index)
        if key not in self.ready and key not in self.pending:
            self.module = self.module or ptx.new_kernel_module("emulated")
            self.pending[key] = cuda_ops.emit(self.module, program, program.steps[index], index)

    def run(self, program: K.Program, index: int, bufs: dict) -> None:
        key = (program.name, index)
        if key not in self.ready:
            self.add(program, index)
            self._compile()
        launches, ee = self.ready[key]
        for launch in launches:
            if 0 in launch.grid:
                continue
            fn = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * len(launch.buffers))(
                ee.get_function_address(launch.name)
            )
            args = [bufs[i].ctypes.data for i in launch.buffers]
            grid, block = (2, 1) if launch.kind == "sort_block" else (2, 3)
            for c in range(grid):
                for t in range(block):
                    regs = {"tid": t, "ntid": block, "ctaid": c, "nctaid": grid}
                    for reg, value in regs.items():
                        addr = ee.get_global_value_address(f"emu.{reg}")
                        if addr:
                            ctypes.c_int32.from_address(addr).value = value
                    fn(*args)

    def _compile(self) -> None:
        import llvmlite.binding as llvm

        mod = llvm.parse_assembly(host_ir(str(ptx.optimize(self.module))))
        mod.verify()
        cpu, features = engine.host_cpu()
        tm = llvm.Target.from_default_triple().create_target_machine(
            cpu=cpu, features=features, opt=0, jit=True
        )
        ee = llvm.create_mcjit_compiler(mod, tm)
        ee.finalize_object()
        self.engines.append(ee)
        for key, launches in self.pending.items():
            self.ready[key] = (launches, ee)
        self.module, self.pending = None, {}


class NumpyRunner:
    """``control.run_plan``'s device, on numpy arrays: LoopKernels and Dots run with the
    kernel_ir interpreter, sort/cumsum/argmax/argmin with the emulated kernels, other op kernels
    with their numpy impl. Counts the launches of every step."""

    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)
        self.prims = K._prims_by_name()
        self.emulator = Emulator()
        self.launched: dict = {}
        self.reads = 0

    def launch(self, program, step, launches, bufs):
        s = program.steps[step]
        key = (program.name, step)
        self.launched[key] = self.launched.get(key, 0) + 1
        if isinstance(s, K.LoopKernel):
            K._run_loop(s, bufs, self.prims)
        elif isinstance(s, K.Dot):
            K._run_dot(s, bufs)
        elif s.eqn.primitive.name in EMULATED:
            self.emulator.run(program, step, bufs)
        else:
            K.run_fallback(s, bufs)

    def prepare(self, program: K.Program) -> None:
        """Compile the emulated op kernels of ``program`` with the next batch."""
        for i, s in enumerate(program.steps):
            if isinstance(s, K.OpKernel) and s.eqn.primitive.name in EMULATED:
                self.emulator.add(program, i)

    def alloc(self, buf):  # garbage, so that a read before a write shows
        raw = np.frombuffer(self.rng.bytes(buf.nbytes), np.uint8)
        if buf.dtype.kind == "b":
            raw = raw & 1
        return raw.view(buf.dtype).reshape(buf.shape).copy()

    def constant(self, value):
        return np.array(value)

    def slice(self, base, i, buf):
        view = base[i, ...]
        assert view.shape == buf.shape and view.dtype == buf.dtype and view.base is not None
        return view

    def copy(self, kernel, dst, src):
        assert kernel.signature == ("ptr", "ptr")
        dst[...] = src

    def read(self, buf):
        self.reads += 1
        return buf.copy()


def run_program(program: K.Program, args, runner=None) -> list:
    """Run a lowered program through ``control.run_plan`` with the numpy runner."""
    runner = runner or NumpyRunner()
    module = ptx.new_kernel_module(program.name)
    _, launches = codegen.emit_program(program, module)
    bufs = {b.id: runner.alloc(b) for b in program.buffers}
    for i, a in zip(program.inputs, args, strict=True):
        bufs[i] = np.array(a, program.buffer(i).dtype, order="C").reshape(program.buffer(i).shape)
    control.run_plan(control.plan_of(program, launches), bufs, runner)
    return [bufs[o].copy() for o in program.outputs]


def lower(fn, *args, name="t"):
    """(program, consts) of ``fn`` for CUDA; asserts there is no Fallback step."""
    program, consts = compiler.program_from_jaxpr(fg.make_jaxpr(fn)(*args), name)
    text = K.program_str(program)
    assert "FALLBACK" not in text, text
    return program, consts


def check_cases(cases, runner=None):
    """``cases``: (fn, args, primitives that must be op kernels, rtol). Lower every case, run
    it with the numpy runner (emulated op kernels: one compilation), compare with eager."""
    runner = runner or NumpyRunner()
    lowered = []
    for k, (fn, args, prims, _rtol) in enumerate(cases):
        program, consts = lower(fn, *args, name=f"t{k}")
        text = K.program_str(program)
        for prim in prims:
            assert f"op {prim}(" in text, text
        runner.prepare(program)
        lowered.append((program, consts))
    for (fn, args, _prims, rtol), (program, consts) in zip(cases, lowered):
        got = run_program(program, [*consts, *args], runner)
        want = fg.tree_util.tree_leaves(fn(*args))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, np.asarray(w), rtol)


def check_against_eager(fn, args, prims, rtol=0.0, runner=None):
    check_cases([(fn, args, prims, rtol)], runner)


def assert_same(got, want, rtol=0.0):
    assert got.shape == want.shape and got.dtype == want.dtype, (got.dtype, want.dtype)
    if rtol and want.dtype.kind in "fc":  # a case's rtol holds for complex results too
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)
    elif want.dtype.kind == "f":  # bit-exact, -0.0 and NaN included
        np.testing.assert_array_equal(got.view(f"u{want.itemsize}"), want.view(f"u{want.itemsize}"))
    else:
        np.testing.assert_array_equal(got, want)


# ---- inputs -----------------------------------------------------------------------------------

DTYPES = ["float32", "float64", "float16", "int32", "int8", "uint16", "int64", "bool"]
SHAPES = [
    ((7,), 0),
    ((1,), 0),
    ((0,), 0),
    ((5, 9), 1),
    ((5, 9), 0),
    ((3, 1, 4), 1),
    ((2, 0, 3), 2),
    ((4, 40), 1),
    ((33, 3), 0),
    ((2, 3, 37), 2),
]


def rand(rng, shape, dtype, special=True):
    """Random values with many ties; floats with NaN, -0.0, +-inf sprinkled in."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind in "iu":
        info = np.iinfo(dt)
        lo, hi = max(info.min, -50), min(info.max, 50)
        return rng.integers(lo, hi + 1, shape).astype(dt)
    x = rng.integers(-6, 7, shape).astype(dt) / 2
    if special and x.size:
        pick = rng.random(shape)
        x[pick < 0.1] = np.nan
        x[(pick >= 0.1) & (pick < 0.15)] = -0.0
        x[(pick >= 0.15) & (pick < 0.18)] = np.inf
        x[(pick >= 0.18) & (pick < 0.2)] = -np.inf
        x[(pick >= 0.2) & (pick < 0.23)] = -np.nan
    return x.astype(dt)


# ---- sort / cumsum / argmax / argmin: kernels against the numpy impls -------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_sort_matches_numpy(dtype):
    rng = np.random.default_rng(1)
    cases = []
    for shape, axis in SHAPES:
        x = rand(rng, shape, dtype)
        idx = np.arange(x.size, dtype=np.int32).reshape(shape)
        cases.append(
            (lambda x, i, axis=axis: lax.sort((x, i), dimension=axis), [x, idx], ["sort"], 0.0)
        )
    check_cases(cases)


def test_sort_multiple_keys_and_operands():
    rng = np.random.default_rng(2)
    cases = []
    for shape, axis in [((50,), 0), ((6, 45), 1), ((9, 4), 0), ((3, 5, 2), 1)]:
        a = rand(rng, shape, "float32")
        k = rng.integers(0, 3, shape).astype(np.int8)
        c = rng.random(shape) < 0.5
        v = rng.standard_normal(shape)
        fn = lambda a, k, c, v, axis=axis: lax.sort((k, a, c, v), dimension=axis, num_keys=3)
        cases.append((fn, [a, k, c, v], ["sort"], 0.0))
        fn = lambda c, k, v, axis=axis: lax.sort((c, k, v), dimension=axis, num_keys=2)
        cases.append((fn, [c, k, v], ["sort"], 0.0))
    x = rand(rng, (4, 70), "float64")
    cases.append((lambda x: lax.sort((x, x, -x), dimension=1, num_keys=2), [x], ["sort"], 0.0))
    cases.append((lambda x: (fnp.argsort(x, axis=0), fnp.sort(x, axis=-1)), [x], ["sort"], 0.0))
    check_cases(cases)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cumsum_matches_numpy(dtype):
    rng = np.random.default_rng(4)
    rtol = {"float16": 2e-3, "float32": 1e-6, "float64": 1e-12}.get(dtype, 0.0)
    cases = []
    for shape, axis in SHAPES:
        x = rand(rng, shape, dtype, special=False)
        cases.append(
            (
                lambda x, a=axis: (lax.cumsum(x, a), lax.cumsum(x, a, reverse=True)),
                [x],
                ["cumsum"],
                rtol,
            )
        )
    check_cases(cases)


def test_cumsum_integer_wraparound_and_0d():
    x = np.full((2, 300), 100, np.int8)
    check_against_eager(lambda x: lax.cumsum(x, 1), [x], ["cumsum"])
    # a 0-d cumsum is the identity (the numpy impl returns shape (1,), abstract eval says ())
    x = np.float32(2.5)
    program, _ = lower(lambda x: lax.cumsum(x, 0), x)
    assert_same(run_program(program, [x])[0], np.asarray(x))


@pytest.mark.parametrize("dtype", DTYPES)
def test_argmax_argmin_match_numpy(dtype):
    rng = np.random.default_rng(5)
    cases = []
    for shape, axis in SHAPES:
        if shape[axis] == 0:
            continue
        x = rand(rng, shape, dtype)
        for index_dtype in (np.int32, np.int64):
            fn = lambda x, a=axis, t=index_dtype: (lax.argmax(x, a, t), lax.argmin(x, a, t))
            cases.append((fn, [x], ["argmax", "argmin"], 0.0))
    check_cases(cases)


def test_argmax_first_nan_and_first_tie():
    x = np.array(
        [
            [1, np.nan, 3, np.nan],
            [-0.0, 0.0, 0.0, -1],
            [2, 2, 1, 1],
            [-np.inf, -np.inf, -np.inf, -np.inf],
        ],
        np.float32,
    )
    y = np.array([[np.nan, 5.0], [1.0, np.nan]])
    check_cases(
        [
            (
                lambda x: (fnp.argmax(x, 1), fnp.argmin(x, 1), fnp.argmax(x, 0)),
                [x],
                ["argmax", "argmin"],
                0.0,
            ),
            (lambda y: (fnp.argmax(y, 1), fnp.argmin(y, 0)), [y], ["argmax"], 0.0),
        ]
    )


def test_literal_operands_are_refused():
    """A literal operand is not a buffer: ``check`` says no (the step stays a Fallback)."""
    from funcgrad._src.core import JaxprEqn, Literal, ShapedArray, Var
    from funcgrad._src.lax import reductions as lr

    aval = ShapedArray((), np.dtype("float32"))
    eqn = JaxprEqn(
        lr.cumsum_p, (Literal(np.float32(1), aval),), {"axis": 0, "reverse": False}, (Var(aval),)
    )
    assert cuda_ops.native_check(eqn) is None
    eqn = JaxprEqn(
        lr.sort_p, (Var(aval),), {"dimension": 0, "is_stable": True, "num_keys": 1}, (Var(aval),)
    )
    assert cuda_ops.native_check(eqn) is None  # a 0-d sort


# ---- control flow: the host plan interpreter --------------------------------------------------


def _scan_fn(reverse):
    def f(c0, xs, w):
        def body(carry, x):
            c, k = carry
            c = c * 0.5 + x * w
            return (c, k + 1), (fnp.sum(c), c - x)

        (c, k), ys = lax.scan(body, (c0, np.int32(0)), xs, reverse=reverse)
        return c, k, ys

    return f


@pytest.mark.parametrize("length", [0, 1, 2, 5])
@pytest.mark.parametrize("reverse", [False, True])
def test_scan_plan_matches_eager(length, reverse):
    rng = np.random.default_rng(length)
    c0 = rng.standard_normal(3).astype(np.float32)
    xs = rng.standard_normal((length, 3)).astype(np.float32)
    w = rng.standard_normal(3).astype(np.float32)
    runner = NumpyRunner()
    check_against_eager(_scan_fn(reverse), [c0, xs, w], ["scan"], 1e-5, runner)
    body_launches = {n for (p, _), n in runner.launched.items() if "_body" in p}
    assert body_launches == ({length} if length else set())


def test_while_plan_matches_eager():
    def f(x, limit):
        def cond(v):
            return v[1] < limit

        def body(v):
            return v[0] * 1.5 + 1.0, v[1] + 1

        return lax.while_loop(cond, body, (x, 0))

    x = np.array([0.5, -1.0], np.float32)
    for limit in (0, 1, 2, 7):
        runner = NumpyRunner()
        check_against_eager(f, [x, np.int32(limit)], ["while"], 1e-6, runner)
        assert runner.reads == limit + 1  # one predicate per test, the last one false


def test_while_max_steps_and_literal_carry():
    def f(x):
        return lax.while_loop(
            lambda v: v[0] < 1e6, lambda v: (v[0] * 2.0 + 1.0, v[1] - x), (0.0, x), max_steps=4
        )

    for x in (np.array(1.5, np.float32), np.array(-3.0, np.float32)):
        program, _ = lower(f, x)
        assert "array(0." in K.program_str(program)  # the initial carry is a literal
        check_against_eager(f, [x], ["while"], 1e-6)


@pytest.mark.parametrize("index", [-3, 0, 1, 2, 9])
def test_switch_plan_clamps_the_index(index):
    def f(i, x):
        branches = [lambda x: x + 1.0, lambda x: fnp.sort(x * -2.0), lambda x: fnp.cumsum(x)]
        return lax.switch(i, branches, x)

    x = np.array([3.0, -1.0, 2.0, 0.5], np.float32)
    runner = NumpyRunner()
    check_against_eager(f, [np.int32(index), x], ["cond"], 1e-6, runner)
    ran = {re.sub(r".*_branch", "", p) for p, _ in runner.launched if "_branch" in p}
    assert ran == {str(int(np.clip(index, 0, 2)))}, ran


def test_nested_control_flow():
    def f(xs, y):
        def body(c, x):
            c = lax.cond(fnp.sum(x) > 0, lambda c: c + x, lambda c: c * 0.5, c)
            n = lax.while_loop(
                lambda v: v[0] < 3.0,
                lambda v: (v[0] + 1.0, v[1] * 0.9),
                (fnp.abs(x[0]), fnp.sort(x)),
            )
            return c, n[1]

        return lax.scan(body, y, xs)

    rng = np.random.default_rng(7)
    xs = rng.standard_normal((4, 6)).astype(np.float32)
    y = rng.standard_normal(6).astype(np.float32)
    check_against_eager(f, [xs, y], ["scan"], 1e-5)


def test_gradient_of_an_rnn_scan_and_vmapped_while():
    """Backpropagation through time: the forward scan and the reverse scan of its vjp."""

    def loss(w, xs):
        def step(h, x):
            h = fnp.tanh(h @ w + x)
            return h, fnp.sum(h)

        _, ys = lax.scan(step, fnp.zeros(w.shape[0]), xs)
        return fnp.sum(ys**2)

    def collatz_steps(n):  # a data-dependent trip count per lane: vmap runs "while any"
        body = lambda v: (fnp.where(v[0] % 2 == 0, v[0] // 2, 3 * v[0] + 1), v[1] + 1)
        return lax.while_loop(lambda v: v[0] != 1, body, (n, 0))[1]

    rng = np.random.default_rng(8)
    w = (rng.standard_normal((5, 5)) / 3).astype(np.float32)
    xs = rng.standard_normal((7, 5)).astype(np.float32)
    n = np.array([1, 6, 7, 27], np.int32)
    check_cases(
        [
            (fg.value_and_grad(loss), [w, xs], ["scan"], 1e-4),
            (fg.vmap(collatz_steps), [n], ["while"], 0.0),
        ]
    )


def test_control_flow_with_an_unsupported_inner_step_is_refused():
    def f(xs):
        def body(c, x):
            z = x.astype(np.complex64)
            return c + x, fnp.real(fnp.sort(z))  # complex sort: a Fallback

        return lax.scan(body, xs[0], xs)

    jaxpr = fg.make_jaxpr(f)(np.ones((3, 2), np.float32))
    with pytest.raises(compiler.CudaUnsupportedError, match="primitive 'scan'"):
        compiler.lower_jaxpr(jaxpr)


# ---- lowering: one PTX module, one ptxas run --------------------------------------------------

LOWERED = [
    ("sort_rows", lambda x: fnp.sort(x, axis=1), [(5, 40)], "float32"),
    (
        "sort_cols_keys",
        lambda x: lax.sort((x, -x, x * 2), dimension=0, num_keys=2),
        [(7, 3)],
        "float64",
    ),
    ("sort_f16", lambda x: fnp.sort(x), [(9,)], "float16"),
    ("sort_bool", lambda x: fnp.argsort(x > 0), [(33,)], "float32"),
    ("sort_empty", lambda x: fnp.sort(x), [(0, 4)], "int32"),
    ("cumsum", lambda x: (lax.cumsum(x, 0), lax.cumsum(x, 1, reverse=True)), [(6, 5)], "int8"),
    ("argmax", lambda x: (lax.argmax(x, 1, np.int64), fnp.argmin(x, 0)), [(6, 5)], "float16"),
    ("scan", _scan_fn(True), [(3,), (4, 3), (3,)], "float32"),
    (
        "while",
        lambda x: lax.while_loop(lambda v: v[0] < 5, lambda v: (v[0] + 1, fnp.sort(v[1])), (0, x)),
        [(8,)],
        "float32",
    ),
    (
        "cond",
        lambda i, x: lax.switch(i, [lambda x: x, lambda x: fnp.cumsum(x)], x),
        [(), (4,)],
        "int32",
    ),
]


def test_lowered_programs_assemble_with_ptxas():
    module = ptx.new_kernel_module("cuda_ops_b", "sm_90")
    kinds = set()
    for name, fn, shapes, dtype in LOWERED:
        args = [np.ones(s, dtype) for s in shapes]
        program, _ = compiler.program_from_jaxpr(fg.make_jaxpr(fn)(*args), name)
        text = K.program_str(program)
        assert "FALLBACK" not in text and "op " in text, text
        _, launches = codegen.emit_program(program, module)
        kinds |= {type(k).__name__ for k in launches}
        kinds |= {getattr(k, "kind", "") for k in launches}
    assert {"HostScan", "HostWhile", "HostCond", "sort_block", "sort_thread"} <= kinds, kinds
    text = ptx.compile_ptx(module, "sm_90")
    assert text.count(".entry") > 20
    result = ptx.ptxas_check(text, "sm_90")
    if result is not None:  # only this assertion needs ptxas
        ok, log = result
        assert ok, log


# ---- on a GPU ---------------------------------------------------------------------------------

requires_gpu = pytest.mark.skipif(
    not driver.cuda_available(), reason="needs an NVIDIA GPU and the CUDA driver (libcuda.so.1)"
)


@pytest.mark.parametrize("case", LOWERED, ids=[c[0] for c in LOWERED])
@pytest.mark.cuda
@requires_gpu
def test_gpu_matches_eager(case):
    _, fn, shapes, dtype = case
    rng = np.random.default_rng(0)
    args = [rand(rng, s, dtype, special=False) if s else np.asarray(1, dtype) for s in shapes]
    got = fg.tree_util.tree_leaves(fg.jit(fn, backend="cuda")(*args))
    want = fg.tree_util.tree_leaves(fn(*args))
    for g, w in zip(got, want, strict=True):
        assert_same(
            np.asarray(g), np.asarray(w), 1e-3 if np.asarray(w).dtype == np.float16 else 1e-5
        )


@pytest.mark.cuda
@requires_gpu
def test_gpu_sort_long_rows_and_specials():
    rng = np.random.default_rng(1)
    x = rand(rng, (3, 5000), "float32")
    got = fg.jit(
        lambda x: (fnp.sort(x, axis=1), fnp.argsort(x, axis=1), fnp.argmax(x, 1)), backend="cuda"
    )(x)
    perm = np.argsort(x, 1, kind="stable")  # the impl's order for -0.0/0.0 and NaNs
    want = (np.take_along_axis(x, perm, 1), perm, np.argmax(x, 1))
    for g, w in zip(got, want):
        assert_same(np.asarray(g), np.asarray(w).astype(np.asarray(g).dtype))
