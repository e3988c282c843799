"""The CUDA path through the public API, on any machine: jit(f, backend="cuda").lower(...)
gives PTX that ptxas assembles; running without a GPU raises a clear error."""

import shutil

import numpy as np
import pytest
from funcgrad.backend.cuda import driver, ptx

import funcgrad as fg
import funcgrad.numpy as fnp


def chain(x):
    return fnp.tanh(x) * 0.5 + fnp.sin(x) ** 2 - fnp.exp(-x * x)


def mlp_step(params, x, y):
    def loss(p):
        h = fnp.tanh(x @ p["w1"])
        return fnp.mean((h @ p["w2"] - y) ** 2)

    loss_value, g = fg.value_and_grad(loss)(params)
    return fg.tree.map(lambda p, g: p - 0.1 * g, params, g), loss_value


@pytest.mark.parametrize(
    "fn,args",
    [
        (chain, (np.ones(1000, np.float32),)),
        (
            lambda x: fnp.sum(fnp.exp(x - fnp.max(x, 1, keepdims=True)), 1),
            (np.ones((64, 33), np.float32),),
        ),
        (
            mlp_step,
            (
                {"w1": np.ones((8, 16), np.float32), "w2": np.ones((16, 4), np.float32)},
                np.ones((32, 8), np.float32),
                np.ones((32, 4), np.float32),
            ),
        ),
    ],
)
def test_cuda_lowering_through_jit_assembles(fn, args):
    text = fg.jit(fn, backend="cuda").lower(*args).as_text("ptx")
    assert ".entry" in text and ".target sm_80" in text
    if shutil.which("ptxas") is None:
        pytest.skip("ptxas is not installed: PTX generated but not assembled")
    ok, log = ptx.ptxas_check(text, arch="sm_90")
    assert ok, log


def test_running_cuda_without_a_gpu_is_a_clear_error():
    if driver.cuda_available():
        pytest.skip("a GPU is present: tests/test_cuda_jit_exec.py runs instead")
    with pytest.raises(driver.CudaUnavailableError, match="use the CPU backend"):
        fg.jit(chain, backend="cuda")(fnp.ones(4))
    with pytest.raises(driver.CudaUnavailableError):
        fg.devices("cuda")


def test_main_example_train_step_lowers_completely_to_ptx():
    """The README's train step (MLP, dropout keys, AdamW) has no numpy-fallback steps, so it
    lowers entirely to PTX: what `examples/train_digits.py --device cuda` runs on a GPU."""
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples"))
    import train_digits as td

    from funcgrad import optim

    with fg.config.override(platform="cuda"):
        model = td.build_model("mlp", (8, 8), fg.random.key(0))
        opt = optim.adamw(1e-3)
        state = opt.init(model)
        x, y = np.zeros((64, 8, 8), np.float32), np.zeros(64, np.int32)
        lowered = td.make_train_step(opt, 0.05).lower(model, None, state, x, y, fg.random.key(1))
        assert "FALLBACK" not in lowered.as_text("kernels")
        text = lowered.as_text("ptx")
    if shutil.which("ptxas") is None:
        pytest.skip("ptxas is not installed: PTX generated but not assembled")
    ok, log = ptx.ptxas_check(text, arch="sm_90")
    assert ok, log


def test_resnet_train_step_lowers_completely_for_cuda_and_the_cpu():
    """The ResNet example's train step (convolutions, batch norm, pooling, gradients) has no
    numpy step on either backend, and its PTX assembles."""
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples"))
    import train_digits as td

    from funcgrad import optim

    model = td.build_model("resnet", (8, 8), fg.random.key(0))
    opt = optim.adamw(1e-3)
    args = (
        model,
        model.init_state(),
        opt.init(model),
        np.zeros((8, 8, 8), np.float32),
        np.zeros(8, np.int32),
        fg.random.key(1),
    )
    step = td.make_train_step(opt, 0.05)
    assert "FALLBACK" not in step.lower(*args).as_text("kernels")
    with fg.config.override(platform="cuda"):
        lowered = td.make_train_step(opt, 0.05).lower(*args)
        assert "FALLBACK" not in lowered.as_text("kernels")
        text = lowered.as_text("ptx")
    if shutil.which("ptxas") is None:
        pytest.skip("ptxas is not installed: PTX generated but not assembled")
    ok, log = ptx.ptxas_check(text, arch="sm_90")
    assert ok, log[-3000:]
