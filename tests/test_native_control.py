"""cond / switch / while_loop / fori_loop / scan as native branches and loops (backend/cpu/ops/
control.py): jit vs eager on fresh random inputs, and the compiled program is one native call
with the control-flow op kernel and no numpy FALLBACK step."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from funcgrad.backend.cpu.ops import control

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad import tree_util as tu
from funcgrad._src.jit import jit
from funcgrad._src.lax.control import cond_p
from funcgrad.config import config

F32, F64, I32, BOOL = np.float32, np.float64, np.int32, np.bool_


pytestmark = pytest.mark.usefixtures("strict_jit")


def _rand(rng, shape, dtype):
    if np.dtype(dtype).kind == "b":
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-5, 6, shape).astype(dtype)
    return rng.uniform(-1, 1, shape).astype(dtype)


def _lower(f, *args):
    return jit(f).lower(*args)


def assert_native(f, *args, prims=("scan",)):
    """The jitted ``f`` has an op kernel for each of ``prims``, no FALLBACK, one native call."""
    lo = _lower(f, *args)
    text = lo.as_text("kernels")
    assert "FALLBACK" not in text, text
    for p in prims:
        assert f"op {p}(" in text, text
    exe = lo._executable()
    assert exe.error is None and exe.fallbacks() == []
    assert [kind for kind, _ in exe.emitted.entries] == ["run"]  # one native call per jit call


def assert_same(f, *args, rtol=1e-5, atol=1e-6):
    """jit(f) vs eager f: same structure, shapes and dtypes; exact for ints and bools."""
    got, want = jit(f)(*args), f(*args)
    g_leaves, g_tree = tu.tree_flatten(got)
    w_leaves, w_tree = tu.tree_flatten(want)
    assert g_tree == w_tree
    for g, w in zip(g_leaves, w_leaves):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
        if g.dtype.kind in "biu":
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def check(f, *args, prims=("scan",), **tol):
    assert_native(f, *args, prims=prims)
    assert_same(f, *args, **tol)


# ---- scan ---------------------------------------------------------------------------------------


def multi_scan(reverse):
    """Consts, float/int/bool carries, two xs and three ys (one of them the carry itself)."""

    def f(w, h0, n0, flag0, xs, ks):
        def step(carry, inp):
            h, n, flag = carry
            x, k = inp
            h = fnp.tanh(h[::-1] * w + x)  # reads other elements: in-place updates would show
            n = n + k * 2 - 1
            flag = fnp.logical_xor(flag, k > 0)
            return (h, n, flag), (h, n * 3, fnp.where(flag, x.sum(), -1.0))

        return lax.scan(step, (h0, n0, flag0), (xs, ks), reverse=reverse)

    return f


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("length,width", [(5, 3), (1, 7), (0, 2), (4, 1), (3, 0)])
def test_scan_multi_carry(reverse, length, width):
    f = multi_scan(reverse)
    for seed in range(2):
        rng = np.random.default_rng(seed * 100 + length)
        args = (
            _rand(rng, (width,), F32),
            _rand(rng, (width,), F32),
            np.int32(seed),
            np.bool_(seed),
            _rand(rng, (length, width), F32),
            _rand(rng, (length,), I32),
        )
        check(f, *args)


@pytest.mark.parametrize("dtype", [F32, I32, BOOL])
def test_scan_scalar_carry_per_dtype(dtype):
    def f(c0, xs):
        def step(c, x):
            if np.dtype(dtype).kind == "b":
                return fnp.logical_or(fnp.logical_and(c, x), ~x), c
            return c * 2 - x if dtype is I32 else c * 0.5 + x, x + c

        return lax.scan(step, c0, xs)

    for seed in range(3):
        rng = np.random.default_rng(seed)
        check(f, _rand(rng, (), dtype), _rand(rng, (2 + seed * 3,), dtype))


def test_scan_float64():
    def f(c0, xs):
        return lax.scan(lambda c, x: (fnp.sin(c) + x, c * x), c0, xs)

    with config.override(enable_x64=True):
        rng = np.random.default_rng(3)
        check(f, rng.standard_normal(4), rng.standard_normal((6, 4)), rtol=1e-12, atol=1e-12)


def test_scan_matmul_body_and_no_xs():
    """A BLAS call inside the body; ``xs=None`` (length only), no ys."""

    def f(w, h0):
        h, _ = lax.scan(lambda h, _: (fnp.tanh(h @ w), None), h0, None, length=6)
        return h

    rng = np.random.default_rng(4)
    check(f, _rand(rng, (5, 5), F32), _rand(rng, (3, 5), F32), rtol=1e-4, atol=1e-5)


def test_scan_big_carry_runs_threaded_kernels_every_step():
    """A carry big enough for the 2-thread loop kernels, called from inside the native loop."""

    def f(c0, xs):
        return lax.scan(lambda c, x: (c * 0.5 + x, c[:3].sum() + x), c0, xs)

    rng = np.random.default_rng(5)
    args = (_rand(rng, (1 << 18,), F32), _rand(rng, (3,), F32))
    with config.override(num_threads=2):
        check(f, *args)
        assert ".pfor" in _lower(f, *args).as_text("llvm")


def test_fori_loop_concrete_and_traced_bounds():
    def f(x):
        return lax.fori_loop(0, 7, lambda i, v: v * 1.1 + i, x)

    def g(n, x):  # traced upper bound: a while loop
        return lax.fori_loop(0, n, lambda i, v: v + i * v[0], x)

    rng = np.random.default_rng(6)
    check(f, _rand(rng, (3, 4), F32))
    for n in (0, 1, 5):
        check(g, np.int32(n), _rand(rng, (3,), F32), prims=("while",))


def test_grad_through_scan_is_a_native_reverse_scan():
    def loss(w, h0, xs):
        def step(h, x):
            h = fnp.tanh(h * w + x)
            return h, (h**2).sum()

        h, ys = lax.scan(step, h0, xs)
        return h.sum() + ys.sum()

    rng = np.random.default_rng(7)
    g = fg.grad(loss, argnums=(0, 1, 2))
    for n in (1, 6):
        args = (_rand(rng, (4,), F32), _rand(rng, (4,), F32), _rand(rng, (n, 4), F32))
        lo = _lower(g, *args)
        text = lo.as_text("kernels")
        assert text.count("op scan(") == 2 and "FALLBACK" not in text
        assert any(e.params.get("reverse") for e in lo.jaxpr.eqns if e.primitive.name == "scan")
        check(g, *args, rtol=1e-4, atol=1e-5)


# ---- while -------------------------------------------------------------------------------------


def test_while_int_float_bool_carries():
    def f(x, limit):
        def cond(s):
            i, v, _flag = s
            return fnp.logical_and(i < limit, v.sum() < 1e4)

        def body(s):
            i, v, flag = s
            return i + 1, v * 1.5 + 1.0, fnp.logical_not(flag)

        return lax.while_loop(cond, body, (0, x, True))

    for seed, limit in enumerate((0, 1, 9, 50)):
        rng = np.random.default_rng(seed)
        check(f, _rand(rng, (2, 3), F32), np.int32(limit), prims=("while",))


@pytest.mark.parametrize("max_steps", [0, 1, 4, 100])
def test_while_max_steps(max_steps):
    def f(x):
        return lax.while_loop(
            lambda s: s[0] < 10, lambda s: (s[0] + 1, s[1] * 2 - 1), (0, x), max_steps=max_steps
        )

    x = _rand(np.random.default_rng(max_steps), (5,), F32)
    check(f, x, prims=("while",))
    assert int(jit(f)(x)[0]) == min(max_steps, 10)


def test_while_under_vmap_batched_predicate():
    def f(xs):
        return fg.vmap(lambda x: lax.while_loop(lambda v: v < 20.0, lambda v: v * 2 + 1, x))(xs)

    check(f, np.random.default_rng(8).uniform(-1, 10, (6,)).astype(F32), prims=("while",))


# ---- cond / switch -------------------------------------------------------------------------------


def three_way(i, x, y):
    return lax.switch(
        i,
        [
            lambda x, y: (x + y.sum(), y.sum()),
            lambda x, y: (x * 2, -y.sum()),
            lambda x, y: (fnp.exp(x), y.max()),
        ],
        x,
        y,
    )


@pytest.mark.parametrize("index", [-7, -1, 0, 1, 2, 3, 2**31 - 1])
def test_switch_three_branches_index_clamped(index):
    rng = np.random.default_rng(index % 97)
    check(
        three_way, np.int32(index), _rand(rng, (3, 2), F32), _rand(rng, (4,), F32), prims=("cond",)
    )


def test_cond_predicate_and_int_bool_outputs():
    def f(p, x, n):
        return lax.cond(
            p, lambda x, n: (x.sum(), n + 1, n > 0), lambda x, n: (x.prod(), n * 2, n < 0), x, n
        )

    for seed in range(4):
        rng = np.random.default_rng(seed)
        args = (np.bool_(seed % 2), _rand(rng, (seed, 3), F32), _rand(rng, (2,), I32))
        check(f, *args, prims=("cond",))


@pytest.mark.parametrize("dtype", [np.uint8, np.int32])
def test_cond_index_dtypes_and_literal_index(dtype):
    """Index dtypes the lax wrappers never make (uint8), and a literal (constant) index."""
    branches = jit(three_way).lower(np.int32(0), np.zeros((3, 2), F32), np.zeros(4, F32)).jaxpr.eqns
    eqn = next(e for e in branches if e.primitive.name == "cond")
    nconsts = len(eqn.inputs) - 3

    def f(i, x, y):
        consts = [fnp.zeros(v.aval.shape, v.aval.dtype) + 1 for v in eqn.inputs[1 : 1 + nconsts]]
        return cond_p.bind(i, *consts, x, y, branches=eqn.params["branches"])

    def g(x, y):
        return f(np.asarray(2, dtype), x, y)

    rng = np.random.default_rng(9)
    x, y = _rand(rng, (3, 2), F32), _rand(rng, (4,), F32)
    for i in (0, 1, 2, 200):
        check(f, np.asarray(i, dtype), x, y, prims=("cond",))
    check(g, x, y, prims=("cond",))


# ---- nesting -----------------------------------------------------------------------------------


def test_scan_in_scan_with_while_and_cond_in_body():
    def f(xs, w):
        def outer(c, row):
            inner_c, inner_ys = lax.scan(lambda a, x: (a * w + x, a - x), c, row)
            n, v = lax.while_loop(
                lambda s: s[0] < 3, lambda s: (s[0] + 1, s[1] * 0.5), (0, inner_c)
            )
            v = lax.cond(v.sum() > 0, lambda v: v + 1, lambda v: v - 1, v)
            return v, (inner_ys.sum(), n)

        return lax.scan(outer, fnp.zeros_like(w), xs, reverse=True)

    for seed, shape in enumerate([(4, 3, 2), (1, 5, 3), (3, 0, 2)]):
        rng = np.random.default_rng(seed)
        check(f, _rand(rng, shape, F32), _rand(rng, shape[2:], F32))
    lo = _lower(f, _rand(rng, (4, 3, 2), F32), _rand(rng, (2,), F32))
    assert lo.as_text("kernels").count("(native op kernel)") == 1  # inner loops: inside it
    llvm = lo.as_text("llvm")
    for inner in (
        ".body.k0.body.run",
        ".body.k1.cond.run",
        ".body.k1.body.run",
        ".branch0.run",
        ".branch1.run",
    ):
        assert inner in llvm, inner


# ---- refusals: stay a numpy Fallback, and still correct ----------------------------------------


def test_debug_callback_in_body_stays_fallback():
    seen = []

    def f(xs):
        def step(c, x):
            fg.debug.callback(lambda v: seen.append(float(v)), x)
            return c + x, c

        return lax.scan(step, 0.0, xs)

    xs = np.arange(4, dtype=F32)
    text = _lower(f, xs).as_text("kernels")
    assert "FALLBACK scan" in text
    assert_same(f, xs)
    seen.clear()
    jit(f)(xs)
    assert seen == [0.0, 1.0, 2.0, 3.0]


def test_float16_body_refused_by_check():
    def f(xs):
        return lax.scan(lambda c, x: (c + x, c * x), np.float16(1), xs)

    xs = np.linspace(0, 1, 5).astype(np.float16)
    eqn = next(e for e in jit(f).lower(xs).jaxpr.eqns if e.primitive.name == "scan")
    assert control.check(eqn) is None
    assert_same(f, xs)


def test_inconsistent_equations_are_refused_not_run():
    """check() compares the operands with the inner jaxprs' types: no out-of-bounds kernel."""

    def f(c0, xs):
        return lax.scan(lambda c, x: (c + x, c * x), c0, xs)

    c0, xs = np.ones(3, F32), np.ones((4, 3), F32)
    eqn = next(e for e in jit(f).lower(c0, xs).jaxpr.eqns if e.primitive.name == "scan")
    assert control.check(eqn) is not None
    for bad in ({"length": 9}, {"num_carry": 0}, {"num_consts": 1}):
        assert control.check(dataclasses.replace(eqn, params={**eqn.params, **bad})) is None
    t = jit(three_way).lower(np.int32(0), np.zeros((3, 2), F32), np.zeros(4, F32)).jaxpr
    eqn = next(e for e in t.eqns if e.primitive.name == "cond")
    other = jit(lambda x: lax.cond(x.sum() > 0, lambda: x, lambda: -x)).lower(c0).jaxpr
    swapped = next(e for e in other.eqns if e.primitive.name == "cond").params["branches"]
    assert control.check(dataclasses.replace(eqn, params={"branches": swapped})) is None
