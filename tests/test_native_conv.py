"""The native CPU convolution op kernel (backend/cpu/ops/conv.py).

Every case is jitted (strict: compiler errors raise) and compared with eager evaluation (the
numpy impl of ``conv_general_dilated``) on fresh random inputs: 1-, 2- and 3-d, odd sizes,
strides, SAME/VALID/explicit and negative padding, lhs and rhs dilation, feature groups
(2 and depthwise), batch 1, size-0 and size-1 dims, float32 and float64; the kernel program
must run the convolution as an ``op`` kernel with no FALLBACK step. The tiling variants
(row tiles, channel chunks, several images per gemm, the transposed fill, threads, the
generated gemm) are forced by shrinking the kernel's budgets. Gradients of a small convnet
(whose backward pass is made of lhs-dilated and role-swapped convolutions) are checked under
``jit(grad)`` against ``grad``.
"""

from __future__ import annotations

import numpy as np
import pytest
from funcgrad.backend.cpu import blas, executable
from funcgrad.backend.cpu.ops import conv as conv_op

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import config, lax
from funcgrad._src.jit import jit

F32, F64 = np.float32, np.float64


@pytest.fixture(autouse=True, scope="module")
def strict():
    old, executable.STRICT = executable.STRICT, True
    with config.override(enable_x64=True):
        yield
    executable.STRICT = old


def _conv_fn(strides, padding, lhs_dil=None, rhs_dil=None, groups=1, pet=None):
    return lambda x, w: lax.conv_general_dilated(
        x,
        w,
        strides,
        padding,
        lhs_dil,
        rhs_dil,
        feature_group_count=groups,
        preferred_element_type=pet,
    )


def _kernels(jf, *args) -> str:
    return jf.lower(*args).as_text("kernels")


def _close(got, want, dtype, k):
    """Float comparison scaled by the length of the sums."""
    tol = (2e-6 if np.dtype(dtype) == F32 else 1e-13) * np.sqrt(max(k, 1))
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=tol * 10, atol=tol * scale)


def check(lhs_shape, rhs_shape, dtype=F32, seed=0, native=True, **kw):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(lhs_shape).astype(dtype)
    w = rng.standard_normal(rhs_shape).astype(dtype)
    f = _conv_fn(**kw)
    want = np.asarray(f(x, w))
    jf = jit(f)
    got = np.asarray(jf(x, w))
    assert got.shape == want.shape and got.dtype == want.dtype
    _close(got, want, dtype, rhs_shape[1] * int(np.prod(rhs_shape[2:])))
    text = _kernels(jf, x, w)
    if native:
        assert "FALLBACK" not in text, text
        assert "op conv_general_dilated(" in text, text
    else:
        assert "FALLBACK conv_general_dilated" in text, text
    return want


# ---- cases ---------------------------------------------------------------------------------------


def P(strides, padding, lhs_dil=None, rhs_dil=None, groups=1):
    """The parameters of one case (``check``'s keywords)."""
    return {
        "strides": strides,
        "padding": padding,
        "lhs_dil": lhs_dil,
        "rhs_dil": rhs_dil,
        "groups": groups,
    }


CASES = [  # lhs shape, rhs shape, params
    ((2, 3, 9, 9), (4, 3, 3, 3), P((1, 1), "VALID")),
    ((2, 3, 9, 10), (5, 3, 3, 3), P((2, 2), "SAME")),
    ((1, 3, 8, 7), (4, 3, 2, 4), P((1, 3), "SAME")),
    ((3, 2, 7, 9), (4, 2, 3, 2), P((2, 1), ((2, 1), (0, 3)))),
    ((2, 3, 9, 10), (4, 3, 3, 2), P((2, 1), ((2, -1), (-1, 3)), (2, 3), (1, 2))),
    ((2, 2, 10, 9), (3, 2, 3, 3), P((1, 1), ((-2, -1), (-3, 0)))),
    ((2, 3, 6, 7), (4, 3, 3, 3), P((1, 1), ((2, 2), (2, 2)), (2, 2))),
    ((2, 3, 6, 7), (4, 3, 3, 3), P((2, 3), ((1, 2), (2, 1)), (2, 2))),
    ((2, 3, 11, 12), (4, 3, 3, 3), P((1, 2), "SAME", None, (2, 3))),
    ((2, 4, 9, 8), (6, 2, 3, 3), P((1, 1), "SAME", groups=2)),
    ((2, 6, 9, 8), (6, 1, 3, 3), P((2, 2), "SAME", groups=6)),
    ((2, 4, 9, 8), (8, 1, 3, 3), P((1, 1), "VALID", groups=4)),
    ((1, 1, 5, 5), (1, 1, 1, 1), P((1, 1), "VALID")),
    ((1, 3, 1, 1), (2, 3, 1, 1), P((1, 1), "VALID")),
    ((1, 2, 1, 7), (3, 2, 1, 3), P((1, 1), "SAME")),
    # the window larger than the output: the transposed fill (weight-gradient shapes)
    ((3, 4, 12, 13), (5, 4, 10, 11), P((1, 1), "VALID")),
    ((3, 4, 12, 13), (5, 4, 9, 9), P((1, 1), ((1, 0), (0, 2)), (1, 2), (1, 1))),
    ((3, 4, 9, 9), (5, 4, 5, 5), P((2, 2), ((1, 1), (1, 1)), (2, 1), (2, 2))),
    # 1-d
    ((2, 3, 17), (4, 3, 5), P((1,), "VALID")),
    ((2, 4, 11), (6, 2, 3), P((3,), "SAME", (1,), (2,), groups=2)),
    ((1, 2, 13), (3, 2, 4), P((2,), ((-2, 3),), (3,), (2,))),
    ((2, 3, 5), (2, 3, 9), P((1,), ((4, 4),))),
    # 3-d
    ((1, 4, 5, 6, 7), (4, 1, 3, 2, 3), P((1, 2, 1), "SAME", (2, 1, 1), (1, 1, 2), groups=4)),
    ((2, 2, 4, 5, 6), (3, 2, 2, 3, 3), P((2, 1, 2), ((1, 0), (-1, 1), (2, 2)))),
    ((2, 3, 5, 5, 5), (2, 3, 4, 4, 4), P((1, 1, 1), "VALID")),
]


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_cases(case, dtype):
    lhs, rhs, kw = CASES[case]
    check(lhs, rhs, dtype, seed=case, **kw)


EMPTY = [  # size-0 dims: empty outputs, or empty sums (zeros)
    ((0, 3, 5, 5), (4, 3, 3, 3), P((1, 1), "VALID")),
    ((2, 0, 5, 5), (4, 0, 3, 3), P((1, 1), "VALID")),
    ((2, 3, 5, 5), (0, 3, 3, 3), P((1, 1), "VALID")),
    ((2, 3, 2, 5), (4, 3, 3, 3), P((1, 1), "VALID")),
    ((2, 3, 0, 5), (4, 3, 1, 3), P((1, 1), ((1, 1), (1, 1)))),
    ((2, 3, 4, 5), (4, 3, 0, 3), P((1, 1), "VALID")),
    ((2, 3, 7), (4, 3, 2), P((1,), ((-5, -3),))),
]


@pytest.mark.parametrize("case", range(len(EMPTY)))
def test_empty(case):
    lhs, rhs, kw = EMPTY[case]
    want = check(lhs, rhs, F32, seed=case, **kw)
    if case == 1 or case == 4:
        assert want.size and not want.any()  # all-zero sums were really computed


def _random_case(rng):
    nsp = int(rng.integers(1, 4))
    groups = int(rng.choice([1, 1, 2, 3]))
    cg, og = int(rng.integers(1, 4)), int(rng.integers(1, 3))
    ints = lambda lo, hi: tuple(int(v) for v in rng.integers(lo, hi, nsp))
    k, n_in = ints(1, 4), ints(1, 9 if nsp < 3 else 6)
    pads = tuple((int(a), int(b)) for a, b in rng.integers(-2, 4, (nsp, 2)))
    kw = P(ints(1, 4), pads, ints(1, 4), ints(1, 3), groups)
    return (int(rng.integers(1, 4)), groups * cg) + n_in, (groups * og, cg) + k, kw


def _valid(lhs, rhs, kw) -> bool:
    """The padded, dilated input is not negative-sized (abstract eval would reject it)."""
    return all(
        (n - 1) * ld + 1 + lo + hi >= 0
        for n, (lo, hi), ld in zip(lhs[2:], kw["padding"], kw["lhs_dil"])
    )


@pytest.mark.parametrize("seed", range(24))
def test_random(seed):
    rng = np.random.default_rng(1000 + seed)
    lhs, rhs, kw = _random_case(rng)
    while not _valid(lhs, rhs, kw):
        lhs, rhs, kw = _random_case(rng)
    check(lhs, rhs, F64 if seed % 3 == 0 else F32, seed=seed, **kw)


# ---- tiling variants --------------------------------------------------------------------------

VARIANT_CASES = [
    ((3, 4, 9, 11), (6, 2, 3, 3), P((1, 2), "SAME", groups=2)),
    ((2, 5, 10, 9), (3, 5, 3, 2), P((1, 1), ((1, -1), (2, 0)), (2, 1), (1, 2))),
    ((2, 3, 41), (4, 3, 4), P((2,), "SAME", (2,))),
    ((2, 3, 5, 6, 7), (4, 3, 2, 3, 2), P((1, 1, 1), "SAME")),
    ((5, 4, 12, 13), (3, 4, 10, 11), P((1, 1), ((0, 1), (1, 0)))),
    ((7, 2, 5, 5), (3, 2, 3, 3), P((1, 1), "VALID")),
]


@pytest.mark.parametrize("scratch", [256, 2048, 40000])
@pytest.mark.parametrize("case", range(len(VARIANT_CASES)))
def test_small_scratch(monkeypatch, case, scratch):
    """Row tiles of every level, channel chunks (accumulating gemms), few images per gemm."""
    monkeypatch.setattr(conv_op, "SCRATCH_BYTES", scratch)
    monkeypatch.setattr(conv_op, "MIN_COLUMNS", 4)
    lhs, rhs, kw = VARIANT_CASES[case]
    check(lhs, rhs, F32, seed=case, **kw)


@pytest.mark.parametrize("case", range(len(VARIANT_CASES)))
def test_threads_and_generated_gemm(monkeypatch, case):
    """Work items split over threads (each with its own scratch slot), with the generated
    gemm (the one case where the kernel threads when numpy's OpenBLAS threads itself)."""
    monkeypatch.setattr(conv_op, "SCRATCH_BYTES", 1400)
    monkeypatch.setattr(conv_op, "PARALLEL_MIN_FLOPS", 0)
    monkeypatch.setattr(blas, "blas_available", lambda: False)
    lhs, rhs, kw = VARIANT_CASES[case]
    with config.override(num_threads=3):
        check(lhs, rhs, F64 if case % 2 else F32, seed=case, **kw)
    eqn = fg.make_jaxpr(_conv_fn(**kw))(np.zeros(lhs, F32), np.zeros(rhs, F32)).jaxpr.eqns[0]
    plan = conv_op._plan(conv_op._geometry(eqn))
    assert plan.slots > 1 and conv_op.conv_check(eqn) == plan.slots * plan.slot_bytes(
        conv_op._geometry(eqn)
    )


def test_plans_cover_the_modes():
    """The cases above do reach each tiling mode (guards the variant tests)."""
    seen = set()
    for scratch in (256, 2048, 40000, conv_op.SCRATCH_BYTES):
        for lhs, rhs, kw in VARIANT_CASES:
            f = _conv_fn(**kw)
            eqn = fg.make_jaxpr(f)(np.zeros(lhs, F32), np.zeros(rhs, F32)).jaxpr.eqns[0]
            old, conv_op.SCRATCH_BYTES, conv_op.MIN_COLUMNS = conv_op.SCRATCH_BYTES, scratch, 4
            try:
                cv = conv_op._geometry(eqn)
                plan = conv_op._plan(cv)
            finally:
                conv_op.SCRATCH_BYTES, conv_op.MIN_COLUMNS = old, 256
            seen.add("batch" if plan.images > 1 else f"level{plan.level}")
            seen |= {"chunked"} if plan.chans < cv.cg else set()
            seen |= {"transposed"} if plan.transposed else set()
    assert {"batch", "level0", "level1", "level2", "chunked", "transposed"} <= seen, seen


# ---- the progression tables ------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_tables_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    for _ in range(300):
        n, lo = int(rng.integers(0, 9)), int(rng.integers(-4, 5))
        ld, a_step, b_step = (int(v) for v in rng.integers(1, 5, 3))
        a_count, b_count = (int(v) for v in rng.integers(0, 8, 2))
        rows, (step_b, step_i) = conv_op._table_rows(n, lo, ld, a_step, a_count, b_step, b_count)
        for a, (first, count, istart) in enumerate(rows):
            hits = [
                (bb, (a * a_step + bb * b_step - lo) // ld)
                for bb in range(b_count)
                if (q := a * a_step + bb * b_step - lo) >= 0 and q % ld == 0 and q <= (n - 1) * ld
            ]
            want = [(first + j * step_b, istart + j * step_i) for j in range(count)]
            assert hits == want, (n, lo, ld, a_step, b_step, a, b_count)


# ---- what check refuses -------------------------------------------------------------------------


def test_refused_cases_fall_back():
    rng = np.random.default_rng(5)
    x = rng.integers(-5, 5, (2, 3, 6, 6)).astype(np.int32)
    w = rng.integers(-5, 5, (4, 3, 3, 3)).astype(np.int32)
    f = _conv_fn((1, 1), "SAME")
    jf = jit(f)
    np.testing.assert_array_equal(np.asarray(jf(x, w)), np.asarray(f(x, w)))
    assert "FALLBACK conv_general_dilated" in _kernels(jf, x, w)
    # a preferred element type other than the input's: numpy
    check(
        (2, 3, 6, 6),
        (4, 3, 3, 3),
        F32,
        native=False,
        strides=(1, 1),
        padding="SAME",
        pet=np.float64,
    )
    # the same dtype as the input is just the plain convolution
    check((2, 3, 6, 6), (4, 3, 3, 3), F32, strides=(1, 1), padding="SAME", pet=np.float32)


# ---- gradients --------------------------------------------------------------------------------


def _convnet_loss(p, x):
    h = lax.conv_general_dilated(x, p["c1"], (2, 2), ((1, 1), (1, 1)), feature_group_count=2)
    h = fnp.maximum(h, 0)
    h = lax.conv_general_dilated(h, p["c2"], (1, 1), "SAME", rhs_dilation=(2, 1))
    h = fnp.maximum(h, 0)
    h = lax.conv_general_dilated(h, p["dw"], (2, 1), "VALID", feature_group_count=6)
    return fnp.sum(h * h)


def test_convnet_grad(dtype=F64):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 4, 13, 10)).astype(dtype)
    p = {
        "c1": rng.standard_normal((6, 2, 3, 3)).astype(dtype) * 0.5,
        "c2": rng.standard_normal((6, 6, 3, 2)).astype(dtype) * 0.3,
        "dw": rng.standard_normal((6, 1, 2, 3)).astype(dtype),
    }
    g = fg.grad(_convnet_loss, argnums=(0, 1))
    jg = jit(g)
    text = _kernels(jg, p, x)
    assert "FALLBACK" not in text, text
    assert text.count("op conv_general_dilated(") >= 8, text
    want, got = g(p, x), jg(p, x)
    for a, b in zip(fg.tree_util.tree_leaves(want), fg.tree_util.tree_leaves(got)):
        _close(np.asarray(b), np.asarray(a), dtype, 200)


def test_value_and_grad_of_bench_convnet_shape():
    """The benchmark's convnet layers (smaller batch): conv, relu, conv, relu, 2x2 max, dense."""
    rng = np.random.default_rng(3)
    p = {
        "c1": rng.standard_normal((8, 1, 3, 3)).astype(F32) * 0.3,
        "c2": rng.standard_normal((16, 8, 3, 3)).astype(F32) * 0.1,
        "w": rng.standard_normal((16 * 6 * 6, 10)).astype(F32) * 0.01,
    }
    x = rng.standard_normal((4, 1, 16, 16)).astype(F32)

    def loss(p, x):
        h = fnp.maximum(lax.conv(x, p["c1"], (1, 1), "VALID"), 0)
        h = fnp.maximum(lax.conv(h, p["c2"], (1, 1), "VALID"), 0)
        h = fnp.max(h.reshape(4, 16, 6, 2, 6, 2), axis=(3, 5))
        return fnp.sum(fnp.tanh(h.reshape(4, -1) @ p["w"]))

    vg = fg.value_and_grad(loss)
    jvg = jit(vg)
    text = _kernels(jvg, p, x)
    assert "FALLBACK" not in text, text
    (v0, g0), (v1, g1) = vg(p, x), jvg(p, x)
    _close(np.asarray(v1), np.asarray(v0), F32, 1000)
    for a, b in zip(fg.tree_util.tree_leaves(g0), fg.tree_util.tree_leaves(g1)):
        _close(np.asarray(b), np.asarray(a), F32, 1000)
