"""The MLP train step on an NVIDIA GPU: the same jit-compiled function, with backend="cuda".

On a machine without a GPU this says so and exits (nothing silently falls back to the CPU).
With a GPU, it trains a few steps on the GPU and checks the result against the CPU.

Run: python examples/train_cuda.py
"""

import argparse

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.data import load_digits


def loss(params, x, y):
    h = fnp.tanh(x @ params["w1"] + params["b1"])
    logits = h @ params["w2"] + params["b2"]
    logz = fnp.log(fnp.sum(fnp.exp(logits - fnp.max(logits, -1, keepdims=True)), -1)) + fnp.max(
        logits, -1
    )
    return fnp.mean(logz - fnp.take_along_axis(logits, y[:, None], -1)[:, 0])


def step(params, x, y):
    loss_value, g = fg.value_and_grad(loss)(params, x, y)
    return fg.tree.map(lambda p, g: p - 0.1 * g, params, g), loss_value


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    from funcgrad.backend.cuda.driver import cuda_available

    if not cuda_available():
        print(
            "no CUDA GPU is available here: skipping the GPU run "
            "(see docs/gpu.md; the PTX is still checked by the test suite)"
        )
        return None
    x, y = load_digits("train")
    x = fnp.asarray(x.reshape(len(x), -1)[:256])
    y = fnp.asarray(y[:256])
    k1, k2 = fg.random.split(fg.random.key(0))
    params = {
        "w1": fg.random.normal(k1, (64, 64)) * 0.1,
        "b1": fnp.zeros(64),
        "w2": fg.random.normal(k2, (64, 10)) * 0.1,
        "b2": fnp.zeros(10),
    }
    cpu_step, gpu_step = fg.jit(step, backend="cpu"), fg.jit(step, backend="cuda")
    p_cpu = p_gpu = params
    for _ in range(5 if args.quick else args.steps):
        p_cpu, l_cpu = cpu_step(p_cpu, x, y)
        p_gpu, l_gpu = gpu_step(p_gpu, x, y)
    print(f"loss on CPU {float(l_cpu):.6f}, on GPU {float(l_gpu):.6f}")
    assert np.allclose(float(l_cpu), float(l_gpu), rtol=1e-4)
    return float(l_gpu)


if __name__ == "__main__":
    main()
