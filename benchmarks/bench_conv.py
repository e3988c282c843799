"""The native convolution op kernel (backend/cpu/ops/conv.py) vs numpy and jax.jit.

    python benchmarks/bench_conv.py [--quick]

Measures the convnet of ``bench_jit.bench_convnet`` (batch 32, 28x28, conv3x3x32, relu,
conv3x3x64, relu, maxpool 2x2, dense; ``jit(value_and_grad(loss))``) with the native conv
kernel and with convolutions left to the numpy fallback (the "before"), then each convolution
of that step alone (forward, input gradient, weight gradient) and a few other shapes. jax is
measured when importable. With ``OPENBLAS_NUM_THREADS=1`` the conv kernel splits images over
its own threads instead of relying on OpenBLAS's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import bench_jit as B
from bench_jit import jax, median_time, report
from funcgrad.backend.cpu import ops

import funcgrad as fg
from funcgrad import lax
from funcgrad._src.jit import jit

if jax:
    import jax.numpy as jnp


@contextlib.contextmanager
def numpy_conv():
    """Compile with conv_general_dilated left to the numpy fallback (the code before)."""
    entry = ops.EMITTERS.pop("conv_general_dilated")
    try:
        yield
    finally:
        ops.EMITTERS["conv_general_dilated"] = entry


def _jax_conv_loss(p, x, t):
    dn = ("NCHW", "OIHW", "NCHW")
    conv = lambda h, w: jax.lax.conv_general_dilated(h, w, (1, 1), "VALID", dimension_numbers=dn)
    h = jnp.maximum(conv(x, p["c1"]), 0)
    h = jnp.maximum(conv(h, p["c2"]), 0)
    b = h.shape[0]
    h = jnp.max(h.reshape(b, 64, 12, 2, 12, 2), axis=(3, 5))
    z = h.reshape(b, -1) @ p["w"]
    return -jnp.mean(jnp.sum(jax.nn.log_softmax(z, -1) * t, -1))


def bench_convnet(reps):
    p = B.conv_init()
    x, t = B._mlp_data(32, 28 * 28, 10, seed=3)
    x = x.reshape(32, 1, 28, 28)
    f = jit(fg.value_and_grad(B.conv_loss))
    with numpy_conv():
        f_np = jit(fg.value_and_grad(B.conv_loss))
        f_np(p, x, t)  # compiled now, without the conv kernel
    r = {
        "numpy conv (before)": median_time(lambda: f_np(p, x, t), reps=reps),
        "funcgrad.jit": median_time(lambda: f(p, x, t), reps=reps),
    }
    if jax:
        jf = jax.jit(jax.value_and_grad(_jax_conv_loss))
        pj = {k: jnp.asarray(v) for k, v in p.items()}
        r["jax.jit"] = median_time(lambda: B._block(jf(pj, x, t)[0]), reps=reps)
    report("convnet fwd+bwd B=32 28x28", r)
    text = f.lower(p, x, t).as_text("kernels")
    fallbacks = [line.strip() for line in text.splitlines() if "FALLBACK" in line]
    print("  fallback steps left:", fallbacks or "none")


CASES = [  # name, lhs shape, rhs shape, params (as the convnet's step binds them)
    ("conv2 forward", (32, 32, 26, 26), (64, 32, 3, 3), {}),
    ("conv2 input grad", (32, 64, 24, 24), (32, 64, 3, 3), {"padding": ((2, 2), (2, 2))}),
    ("conv2 weight grad", (32, 32, 26, 26), (64, 32, 24, 24), {}),
    ("conv1 forward", (32, 1, 28, 28), (32, 1, 3, 3), {}),
    ("conv1 weight grad", (1, 32, 28, 28), (32, 32, 26, 26), {}),
    (
        "strided 3x3/2 SAME 64->64 28x28",
        (32, 64, 28, 28),
        (64, 64, 3, 3),
        {"window_strides": (2, 2), "padding": ((0, 1), (0, 1))},
    ),
    (
        "its input grad (lhs_dilation 2)",
        (32, 64, 14, 14),
        (64, 64, 3, 3),
        {"padding": ((2, 1), (2, 1)), "lhs_dilation": (2, 2)},
    ),
    (
        "depthwise 3x3 64ch 28x28",
        (32, 64, 28, 28),
        (64, 1, 3, 3),
        {"padding": ((1, 1), (1, 1)), "feature_group_count": 64},
    ),
]


def bench_layer(name, x, w, kw, reps):
    fn = lambda x, w: lax.conv_general_dilated(x, w, **kw)
    f = jit(fn)
    with numpy_conv():
        f_np = jit(fn)
        f_np(x, w)
    r = {
        "numpy": median_time(lambda: f_np(x, w), reps=reps),
        "funcgrad.jit": median_time(lambda: f(x, w), reps=reps),
    }
    if jax:
        jkw = dict(kw, dimension_numbers=("NCHW", "OIHW", "NCHW"))
        jf = jax.jit(lambda x, w: jax.lax.conv_general_dilated(x, w, **jkw))
        r["jax.jit"] = median_time(lambda: B._block(jf(x, w)), reps=reps)
    report(f"{name}: {x.shape} * {w.shape}", r)


def bench_layers(reps):
    rng = np.random.default_rng(0)
    for name, xs, ws, params in CASES:
        x = rng.standard_normal(xs).astype(np.float32)
        w = rng.standard_normal(ws).astype(np.float32)
        kw = {"window_strides": (1, 1), "padding": ((0, 0), (0, 0)), **params}
        bench_layer(name, x, w, kw, reps)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = ap.parse_args(argv)
    reps = 3 if args.quick else 10
    from funcgrad.backend.cpu.ops import conv

    print(
        f"# OpenBLAS threads {conv._blas_threads()}, funcgrad threads "
        f"{fg.config.num_threads or os.cpu_count()}, load average "
        f"{os.getloadavg()[0]:.2f} (OpenBLAS's threads degrade badly on a loaded machine: "
        f"compare with OPENBLAS_NUM_THREADS=1)"
    )
    bench_convnet(reps)
    bench_layers(reps)


if __name__ == "__main__":
    main()
