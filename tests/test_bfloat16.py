"""bfloat16: the dtype object, rounding (against an independent reference), promotion, eager
ops, transformations, jit on the CPU (legalised to float32 + rounding, compiled natively),
checkpoints, and the CUDA lowering (PTX assembles)."""

from __future__ import annotations

import os
import re
import tempfile

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad._src import dtypes

pytestmark = pytest.mark.usefixtures("strict_jit")
BF16 = fnp.bfloat16


def reference_round(x: np.ndarray) -> np.ndarray:
    """Nearest bfloat16 by exact arithmetic: the two neighbours by truncation of the float32
    bits, the closer one in float64, ties to the even mantissa (independent of the bit trick)."""
    x = np.asarray(x, np.float32).ravel()
    out = np.empty_like(x)
    for i, v in enumerate(x):
        if np.isnan(v):
            out[i] = np.nan
            continue
        if np.isinf(v):
            out[i] = v
            continue
        bits = int(np.array(v).view(np.uint32))
        lo_bits = bits & 0xFFFF0000
        lo = float(np.array(lo_bits, np.uint32).view(np.float32))
        hi_bits = lo_bits + 0x10000
        hi = float(np.array(hi_bits & 0xFFFFFFFF, np.uint32).view(np.float32))
        if np.isinf(hi):  # one step past the largest finite value: 2**128 in magnitude
            hi = 2.0**128 if v > 0 else -(2.0**128)
        dl, dh = abs(float(v) - lo), abs(hi - float(v))
        if dl < dh or (dl == dh and (lo_bits >> 16) % 2 == 0):
            out[i] = lo
        else:
            out[i] = hi if abs(hi) < 2.0**128 else np.copysign(np.inf, v)
    return out.reshape(np.shape(x))


def test_dtype_object():
    assert fnp.dtype(BF16) is dtypes.bfloat16 and fnp.dtype("bfloat16") is dtypes.bfloat16
    x = fnp.zeros((2, 3), BF16)
    assert x.dtype == BF16 and x.dtype == "bfloat16" and x.dtype != fnp.float32
    assert x.dtype.itemsize == 2 and x.itemsize == 2 and x.nbytes == 12
    assert x.dtype.name == "bfloat16" and str(x.dtype) == "bfloat16"
    assert fnp.issubdtype(BF16, fnp.floating) and not fnp.issubdtype(BF16, fnp.integer)
    assert not fnp.issubdtype(BF16, fnp.float16) and fnp.issubdtype(BF16, BF16)
    fi = fnp.finfo(BF16)
    assert fi.bits == 16 and fi.eps == 2.0**-7 and fi.max == np.float32(3.3895314e38)
    assert "bfloat16" in repr(x)
    with pytest.raises((TypeError, ValueError)):
        np.dtype(BF16)  # numpy has no bfloat16: never silently float32


def test_promotion_follows_jax():
    b, f32, f16, i32 = (fnp.ones(2, d) for d in (BF16, fnp.float32, fnp.float16, fnp.int32))
    assert (b + f32).dtype == fnp.float32
    assert (b + f16).dtype == fnp.float32
    assert (b + i32).dtype == BF16
    assert (b + 1.5).dtype == BF16 and (b * 2).dtype == BF16
    assert fnp.result_type(BF16, fnp.float32) == fnp.float32
    assert fnp.promote_types(BF16, fnp.int8) == BF16


def test_rounding_matches_an_exact_reference():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**32, 20000, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    special = np.array(
        [
            0.0,
            -0.0,
            1.0,
            1 + 2**-8,
            1 + 3 * 2**-8,
            3.3895314e38,
            3.4e38,
            -3.4e38,
            np.inf,
            -np.inf,
            np.nan,
            1e-45,
            2**-126,
        ],
        np.float32,
    )
    for v in (x, special):
        got = np.asarray(fnp.asarray(v, BF16))
        want = reference_round(v)
        np.testing.assert_array_equal(got, want)
        # the values are bfloat16: their low 16 bits are zero
        assert not (got.view(np.uint32) & 0xFFFF).any() or np.isnan(got).any()


@pytest.mark.parametrize(
    "fn",
    [  # one primitive each: one rounding of the float32 result
        lambda x, y: x + y,
        lambda x, y: x * y,
        lambda x, y: x / y,
        lambda x, y: fnp.tanh(x),
        lambda x, y: fnp.exp(y),
        lambda x, y: fnp.maximum(x, y),
        lambda x, y: fnp.sqrt(x * x),
        lambda x, y: fnp.where(x > y, x, y),
    ],
)
def test_eager_ops_round_the_float32_result(fn):
    rng = np.random.default_rng(1)
    a, b = (reference_round(rng.normal(size=300)).astype(np.float32) for _ in range(2))
    got = fn(fnp.asarray(a, BF16), fnp.asarray(b, BF16))
    assert got.dtype == BF16
    want = reference_round(np.asarray(fn(fnp.asarray(a), fnp.asarray(b))))
    np.testing.assert_array_equal(np.asarray(got), want)


def test_conversions_and_bitcasts():
    x = fnp.asarray(np.array([1.0, -2.5, 3.14159, 65504.0, 1e-3], np.float32), BF16)
    bits = lax.bitcast_convert_type(x, fnp.uint16)
    assert bits.dtype == fnp.uint16
    np.testing.assert_array_equal(
        np.asarray(bits), (np.asarray(x).view(np.uint32) >> 16).astype(np.uint16)
    )
    back = lax.bitcast_convert_type(bits, BF16)
    assert back.dtype == BF16
    np.testing.assert_array_equal(np.asarray(back), np.asarray(x))
    i = fnp.arange(300, dtype=fnp.int32).astype(BF16)
    np.testing.assert_array_equal(np.asarray(i), reference_round(np.arange(300)))
    assert fnp.arange(5, dtype=BF16).dtype == BF16 and BF16(2.0).dtype == BF16
    assert x.astype(fnp.float32).dtype == fnp.float32


def test_transformations_keep_bfloat16():
    x = fnp.asarray(np.linspace(-1, 1, 7, dtype=np.float32), BF16)
    g = fg.grad(lambda v: fnp.sum(fnp.sin(v) * v).astype(fnp.float32))(x)
    assert g.dtype == BF16
    want = reference_round(np.asarray(fnp.cos(x) * x + fnp.sin(x), np.float32))
    np.testing.assert_allclose(np.asarray(g), want, rtol=2**-7, atol=2**-8)
    y, t = fg.jvp(fnp.tanh, (x,), (fnp.ones_like(x),))
    assert y.dtype == t.dtype == BF16
    v = fg.vmap(lambda r: r @ r)(fnp.ones((3, 4), BF16))
    assert v.dtype == BF16 and np.asarray(v).tolist() == [4.0, 4.0, 4.0]
    jaxpr = fg.make_jaxpr(lambda v: v * 2)(x)
    assert "bf16[7]" in str(jaxpr)


def _mlp(params, x):
    h = fnp.tanh(x @ params["w1"] + params["b1"])
    return fnp.sum((h @ params["w2"]) ** 2)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(
    "fn",
    [
        lambda x, y: fnp.tanh(x) * y + 1.0,
        lambda x, y: (x @ y.T, fnp.sum(x, 0), fnp.max(x, 1)),
        lambda x, y: (
            lax.bitcast_convert_type(x, fnp.int16),
            x.astype(fnp.float32) * 3,
            (x * 1000).astype(fnp.int32),
            fnp.arange(40, dtype=BF16) * 3,
        ),
        lambda x, y: fg.lax.fori_loop(0, 3, lambda i, c: c * 0.5 + y, x),
    ],
    ids=["elementwise", "dot_reduce", "convert_bitcast_iota", "loop"],
)
def test_jit_matches_eager(fn, seed):
    rng = np.random.default_rng(seed)
    x, y = (fnp.asarray(rng.normal(size=(5, 8)).astype(np.float32), BF16) for _ in range(2))
    want = fn(x, y)
    got = fg.jit(fn)(x, y)
    got2 = fg.jit(fn)(x, y)  # the cached (fast-path) call
    for g_, w in zip(fg.tree_util.tree_leaves((got, got2)), fg.tree_util.tree_leaves((want, want))):
        assert g_.dtype == w.dtype
        if w.dtype == BF16:  # sums may round differently: one bfloat16 step
            np.testing.assert_allclose(np.asarray(g_), np.asarray(w), rtol=2**-7, atol=1e-6)
            assert not (np.asarray(g_).view(np.uint32) & 0xFFFF).any()
        else:
            np.testing.assert_allclose(np.asarray(g_), np.asarray(w), rtol=1e-6)


def test_jit_elementwise_is_native_and_bit_exact():
    rng = np.random.default_rng(3)
    x = fnp.asarray(rng.normal(size=1000).astype(np.float32), BF16)
    f = lambda v: fnp.exp(-v * v) * 3.0 + v
    text = fg.jit(f).lower(x).as_text("kernels")
    assert "FALLBACK" not in text and "bitcast_convert_type" in text
    np.testing.assert_array_equal(np.asarray(fg.jit(f)(x)), np.asarray(f(x)))


def test_jit_signature_separates_float32_and_bfloat16():
    f = fg.jit(lambda v: v / 3.0)
    a = fnp.ones(4, fnp.float32)
    b = fnp.ones(4, BF16)
    assert f(a).dtype == fnp.float32 and f(b).dtype == BF16 and f(a).dtype == fnp.float32
    np.testing.assert_array_equal(np.asarray(f(b)), reference_round(np.full(4, 1 / 3)))


def test_bfloat16_training_step_under_jit():
    rng = np.random.default_rng(4)
    p = {
        k: fnp.asarray(rng.normal(size=s).astype(np.float32) * 0.3, BF16)
        for k, s in (("w1", (6, 8)), ("b1", (8,)), ("w2", (8, 2)))
    }
    x = fnp.asarray(rng.normal(size=(4, 6)).astype(np.float32), BF16)
    step = fg.jit(
        lambda p, x: fg.tree_util.tree_map(lambda a, g: a - 0.1 * g, p, fg.grad(_mlp)(p, x))
    )
    got, want = step(p, x), fg.tree_util.tree_map(lambda a, g: a - 0.1 * g, p, fg.grad(_mlp)(p, x))
    for k in p:
        assert got[k].dtype == BF16
        np.testing.assert_allclose(np.asarray(got[k]), np.asarray(want[k]), rtol=2**-6, atol=2**-7)


def test_checkpoint_round_trip_keeps_bfloat16():
    x = fnp.asarray(np.array([1.0, -2.5, np.inf, np.nan], np.float32), BF16)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ck.npz")
        fg.save(path, {"w": x})
        for y in (fg.load(path)["w"], fg.load(path, like={"w": x})["w"]):
            assert y.dtype == BF16
            np.testing.assert_array_equal(np.asarray(y), np.asarray(x))
        with pytest.raises(ValueError, match="bfloat16"):
            fg.load(path, like={"w": x.astype(fnp.float32)})


def test_cuda_lowering_of_bfloat16_assembles():
    from funcgrad.backend.cuda import ptx

    x = fnp.ones((32, 16), BF16)
    lowered = fg.jit(lambda a, b: fnp.tanh(a @ b.T) * 2 + 1, backend="cuda").lower(x, x)
    assert "FALLBACK" not in lowered.as_text("kernels")
    result = ptx.ptxas_check(lowered.as_text("ptx"), "sm_90")
    if result is None:
        pytest.skip("ptxas is not on PATH (install the CUDA toolkit to assemble generated PTX)")
    assert result[0], result[1][-2000:]


@pytest.mark.parametrize("m, k, n", [(32, 16, 40), (1100, 64, 1500)])
def test_cuda_bfloat16_dot_uses_bfloat16_tensor_cores(m, k, n):
    """The legalised float32 dot of bfloat16 values is marked and lowered to bfloat16 mma.sync
    (small and large block tiles); a float32 dot of the same values is not; the marked program
    still interprets to the eager result."""
    from funcgrad.backend import kernel_ir as K
    from funcgrad.backend.cuda import compiler, ptx

    rng = np.random.default_rng(0)
    x = fnp.asarray(rng.normal(size=(m, k)).astype(np.float32), BF16)
    y = fnp.asarray(rng.normal(size=(k, n)).astype(np.float32), BF16)
    f = lambda a, b: (a @ b, lax.dot(a, b, preferred_element_type=fnp.float32))
    lowered = fg.jit(f, backend="cuda").lower(x, y)
    kernels = lowered.as_text("kernels")
    assert kernels.count("(bfloat16 operands)") == 2, kernels
    text = lowered.as_text("ptx")
    assert "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32" in text
    f32 = fg.jit(lambda a, b: a @ b, backend="cuda").lower(
        x.astype(fnp.float32), y.astype(fnp.float32)
    )
    assert "bfloat16 operands" not in f32.as_text("kernels")
    assert "mma.sync" not in f32.as_text("ptx")
    if m < 100:
        program, consts = compiler.program_from_jaxpr(fg.make_jaxpr(f)(x, y), "bf16dot")
        got = K.interpret(program, [*consts, np.asarray(x), np.asarray(y)])
        want = f(x, y)
        np.testing.assert_array_equal(got[1], np.asarray(want[1]))
        np.testing.assert_allclose(got[0], np.asarray(want[0]), rtol=2**-8)
    result = ptx.ptxas_check(text, "sm_90")
    if result is None:
        pytest.skip("ptxas is not on PATH (install the CUDA toolkit to assemble generated PTX)")
    assert result[0], result[1][-2000:]
    assert re.findall(r"(\d+) bytes spill stores", result[1]) == ["0"] * len(
        re.findall(r"bytes spill stores", result[1])
    ), result[1][-2000:]


def test_shape_structs_and_eval_shape_take_bfloat16():
    s = fg.ShapeDtypeStruct((3, 2), BF16)
    assert s.dtype == BF16
    out = fg.eval_shape(lambda x: x * 2, s)
    assert out.shape == (3, 2) and out.dtype == BF16
    assert fg.eval_shape(lambda x: x.sum(), fnp.ones(4, BF16)).dtype == BF16
    lowered = fg.jit(lambda x: x + 1).lower(s)
    np.testing.assert_array_equal(
        np.asarray(lowered.compile()(fnp.ones((3, 2), BF16))), np.full((3, 2), 2.0, np.float32)
    )
