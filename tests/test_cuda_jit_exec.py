"""``jit(f, backend="cuda")`` on a real GPU against eager (numpy) evaluation: the CUDA cases of
the op table (``tests/support/op_table.py``, as test_cuda_lowering.py lowers them), device
arrays, and an MLP train step. Skipped without a GPU."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from funcgrad.backend.cuda import compiler, driver, runtime
from support.op_table import CUDA_UNSUPPORTED
from test_cuda_lowering import CASES, assert_close, case_name, cuda_tol, eager, make_inputs

import funcgrad as fg
import funcgrad.numpy as fnp

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not driver.cuda_available(), reason="needs an NVIDIA GPU and the CUDA driver (libcuda.so.1)"
    ),
]


@pytest.mark.parametrize("op,shapes,dtype", CASES)
def test_op_table_matches_eager(op, shapes, dtype):
    inputs = make_inputs(op, shapes, dtype, seed=1)
    got = fg.jit(op.fn, backend="cuda")(*inputs)
    got = got if isinstance(got, (tuple, list)) else [got]
    for i, (g, w) in enumerate(zip(got, eager(op, inputs), strict=True)):
        assert_close(g, w, cuda_tol(op, dtype), f"{op.name} output {i}")


@pytest.mark.parametrize("op,shapes,dtype", CASES)
def test_executable_matches_interpreter(op, shapes, dtype):
    """Bit-level agreement target: the GPU against the kernel program's numpy interpreter."""
    jaxpr = fg.make_jaxpr(op.fn)(*make_inputs(op, shapes, dtype))
    program, consts = compiler.program_from_jaxpr(jaxpr, case_name(op, shapes, dtype))
    exe = compiler.lower_program(program, consts=consts).compile()
    inputs = make_inputs(op, shapes, dtype, seed=2)
    from funcgrad.backend import kernel_ir as K

    for g, w in zip(exe(*inputs), K.interpret(program, [*consts, *inputs]), strict=True):
        assert_close(g, w, cuda_tol(op, dtype), op.name)


@pytest.mark.parametrize("prim, fn, shape", CUDA_UNSUPPORTED, ids=[u[0] for u in CUDA_UNSUPPORTED])
def test_unsupported_primitive_raises(prim, fn, shape):
    with pytest.raises(compiler.CudaUnsupportedError, match=prim):
        fg.jit(fn, backend="cuda")(np.ones(shape, np.float32))


def test_large_elementwise_and_reduction():
    x = np.random.default_rng(0).standard_normal((1 << 22,), dtype=np.float32)
    f = fg.jit(
        lambda x: fnp.sum(fnp.tanh(x) * 0.5 + fnp.sin(x) ** 2 - fnp.exp(-x * x)), backend="cuda"
    )
    want = np.sum((np.tanh(x) * 0.5 + np.sin(x) ** 2 - np.exp(-x * x)).astype(np.float64))
    np.testing.assert_allclose(float(np.asarray(f(x))), want, rtol=1e-4)


def test_matmul_sizes_not_multiple_of_tiles():
    rng = np.random.default_rng(3)
    for m, k, n in [(1, 1, 1), (65, 17, 129), (256, 300, 100)]:
        a, b = rng.standard_normal((m, k), np.float32), rng.standard_normal((k, n), np.float32)
        got = np.asarray(fg.jit(fnp.matmul, backend="cuda")(a, b))
        np.testing.assert_allclose(got, a @ b, rtol=1e-4, atol=1e-4)
        a16, b16 = a.astype(np.float16), b.astype(np.float16)
        got16 = np.asarray(fg.jit(fnp.matmul, backend="cuda")(a16, b16)).astype(np.float32)
        want16 = a16.astype(np.float32) @ b16.astype(np.float32)
        np.testing.assert_allclose(got16, want16, rtol=2e-2, atol=2e-2 * np.sqrt(k))


def test_large_float32_matmul_uses_the_128_tile():
    """Outputs of at least 128 tiles of 128x128 take the 8x8-per-thread kernel."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((1030, 17), np.float32)
    b = rng.standard_normal((17, 1800), np.float32)
    low = fg.jit(fnp.matmul, backend="cuda").lower(a, b)
    assert low.as_text("ptx").count("ld.shared.v4") >= 16
    got = np.asarray(fg.jit(fnp.matmul, backend="cuda")(a, b))
    np.testing.assert_allclose(got, a @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "m, k, n, batch",
    [(1, 1, 1, None), (65, 17, 129, None), (40, 70, 24, 3), (1100, 40, 1500, None)],
)
def test_bfloat16_matmul_on_tensor_cores(m, k, n, batch):
    """bfloat16 dots run bfloat16 mma.sync (both block tiles: the last case is large enough for
    the 128x128 one); products of bfloat16 values are exact in float32, so the result is the
    float32 product rounded once to bfloat16: within one bfloat16 step of eager."""
    rng = np.random.default_rng(4)
    lead = (batch,) if batch else ()
    a = fnp.asarray(rng.standard_normal(lead + (m, k), np.float32), fnp.bfloat16)
    b = fnp.asarray(rng.standard_normal(lead + (n, k), np.float32), fnp.bfloat16)
    f = lambda a, b: (
        fnp.matmul(a, fnp.swapaxes(b, -1, -2)),
        fg.lax.dot_general(
            a,
            b,
            (((a.ndim - 1,), (b.ndim - 1,)), ((0,), (0,)) if batch else ((), ())),
            preferred_element_type=fnp.float32,
        ),
    )
    assert "bfloat16 operands" in fg.jit(f, backend="cuda").lower(a, b).as_text("kernels")
    got, got32 = fg.jit(f, backend="cuda")(a, b)
    want, want32 = f(a, b)
    assert got.dtype == fnp.bfloat16 and got32.dtype == fnp.float32
    np.testing.assert_allclose(
        np.asarray(got32), np.asarray(want32), rtol=1e-5, atol=1e-5 * np.sqrt(k)
    )
    np.testing.assert_allclose(
        np.asarray(got), np.asarray(want), rtol=2**-7, atol=1e-5 * np.sqrt(k)
    )


def test_device_arrays():
    dev = fg.devices("cuda")[0]
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    xd = fg.device_put(x, dev)
    assert xd.device == dev and xd.shape == (3, 4) and xd.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(xd), x)
    np.testing.assert_array_equal(fg.device_get(xd), x)
    with pytest.raises(TypeError, match="backend='cuda'"):
        xd + 1.0
    exe = compiler.lower_jaxpr(fg.make_jaxpr(lambda x: x * 2.0)(x)).compile()
    (out,) = exe.call_device(xd)
    np.testing.assert_array_equal(out.to_numpy(), x * 2.0)


def _mlp_params(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [
        (rng.standard_normal((a, b), np.float32) / np.sqrt(a), np.zeros(b, np.float32))
        for a, b in itertools.pairwise(sizes)
    ]


def _loss(params, x, y):
    h = x
    for w, b in params[:-1]:
        h = fnp.tanh(h @ w + b)
    w, b = params[-1]
    logits = h @ w + b
    logz = fnp.log(fnp.sum(fnp.exp(logits - fnp.max(logits, 1, keepdims=True)), 1)) + fnp.max(
        logits, 1
    )
    return fnp.mean(logz - fnp.sum(logits * y, 1))


def _train_step(params, x, y):
    loss, grads = fg.value_and_grad(_loss)(params, x, y)
    return loss, [(w - 0.1 * gw, b - 0.1 * gb) for (w, b), (gw, gb) in zip(params, grads)]


def test_mlp_train_step_matches_eager():
    params = _mlp_params((784, 512, 512, 10))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((128, 784), np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 128)]
    step = fg.jit(_train_step, backend="cuda")
    loss_gpu, params_gpu = step(params, x, y)
    loss_cpu, params_cpu = _train_step(params, x, y)
    np.testing.assert_allclose(float(np.asarray(loss_gpu)), float(np.asarray(loss_cpu)), rtol=1e-5)
    for got, want in zip(
        fg.tree_util.tree_leaves(params_gpu), fg.tree_util.tree_leaves(params_cpu)
    ):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4, atol=1e-5)


def test_allocator_reuses_buffers_across_calls():
    f = fg.jit(lambda x: fnp.exp(x) + 1.0, backend="cuda")
    x = np.ones((1000,), np.float32)
    f(x)
    before = runtime.allocator().stats()["num_driver_allocs"]
    for _ in range(5):
        f(x)
    assert runtime.allocator().stats()["num_driver_allocs"] == before
