"""Times one training step of the two-layer network of docs/tutorials/four-paradigms.md in each
of the four styles, side by side in one process (medians of repeated runs), plus peak memory
of the functional step's compiled program where the jit reports it.

Run: python benchmarks/bench_paradigms.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp


def median_time(fn, repeat=30, warmup=3):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def setup(batch=64):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 20)).astype(np.float32)
    t = rng.standard_normal((batch, 5)).astype(np.float32)
    w1 = (rng.standard_normal((20, 32)) * 0.2).astype(np.float32)
    w2 = (rng.standard_normal((32, 5)) * 0.2).astype(np.float32)
    return x, t, w1, w2


def caffe_style(x, t, w1, w2):
    w1, w2 = w1.copy(), w2.copy()

    def step():
        h = x @ w1
        mask = h > 0
        a = h * mask
        y = a @ w2
        diff = y - t
        g = 2 * diff / diff.size
        dw2 = a.T @ g
        g = (g @ w2.T) * mask
        dw1 = x.T @ g
        w1[...] -= 0.1 * dw1
        w2[...] -= 0.1 * dw2

    return step


def mlp_loss(params, x, t):
    w1, w2 = params
    return fnp.mean((fnp.maximum(x @ w1, 0.0) @ w2 - t) ** 2)


def sgd_step(params, x, t):
    loss, g = fg.value_and_grad(mlp_loss)(params, x, t)
    return fg.tree.map(lambda p, g: p - 0.1 * g, params, g), loss


def main():
    x, t, w1, w2 = setup()
    xa, ta = fnp.asarray(x), fnp.asarray(t)
    params = (fnp.asarray(w1), fnp.asarray(w2))
    rows = []
    rows.append(
        (
            "(a) Caffe-style layers (numpy, hand-written backward)",
            median_time(caffe_style(x, t, w1, w2)),
        )
    )
    graph = fg.jit(sgd_step)
    t0 = time.perf_counter()
    graph(params, xa, ta)[1].block_until_ready()
    compile_s = time.perf_counter() - t0
    rows.append(
        (
            "(b) TF1-style graph (declared, compiled, run)",
            median_time(lambda: graph(params, xa, ta)),
        )
    )
    rows.append(
        (
            "(c) PyTorch-style eager (funcgrad eager + tape grad)",
            median_time(lambda: sgd_step(params, xa, ta), repeat=10),
        )
    )
    rows.append(
        (
            "(d) funcgrad functional (jit(value_and_grad) + tree update)",
            median_time(lambda: graph(params, xa, ta)),
        )
    )
    try:
        import torch

        tw1 = torch.tensor(w1, requires_grad=True)
        tw2 = torch.tensor(w2, requires_grad=True)
        tx, tt = torch.tensor(x), torch.tensor(t)

        def torch_step():
            loss = ((torch.relu(tx @ tw1) @ tw2 - tt) ** 2).mean()
            loss.backward()
            with torch.no_grad():
                for p in (tw1, tw2):
                    p -= 0.1 * p.grad
                    p.grad = None

        rows.append(("    reference: PyTorch eager", median_time(torch_step)))
    except ImportError:
        pass
    print("one training step, two-layer MLP 20-32-5, batch 64 (median)")
    for name, s in rows:
        print(f"  {name:62s} {s * 1e6:9.1f} us")
    print(f"  first call of the jitted step (trace + compile): {compile_s * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
