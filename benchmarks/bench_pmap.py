"""pmap over 2 CPU devices against one device, and the cost of one host-exchange collective.

Run: ``FUNCGRAD_NUM_CPU_DEVICES=2 python benchmarks/bench_pmap.py``. Prints, side by side,
the time of an MLP gradient step (tanh layers, global batch split over the devices, gradients
averaged with ``pmean``) on one device (``jit``) and with ``pmap`` on two, and the time of a
``pmap`` whose only work is one ``psum`` (the barrier plus the numpy reduction).
"""

from __future__ import annotations

import time

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax


def _loss(params, x, y):
    h = x
    for w in params[:-1]:
        h = fnp.tanh(h @ w)
    return fnp.mean((h @ params[-1] - y) ** 2)


def _best(fn, reps=20):
    fn()  # compile
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fg.block_until_ready(fn())
        times.append(time.perf_counter() - t)
    return min(times)


def main(batch=512, width=512, depth=3):
    n = fg.device_count()
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(width, width)).astype(np.float32) * 0.05 for _ in range(depth)]
    x = rng.normal(size=(batch, width)).astype(np.float32)
    y = rng.normal(size=(batch, width)).astype(np.float32)
    one = fg.jit(fg.grad(_loss))
    t1 = _best(lambda: one(params, x, y))
    step = fg.pmap(
        lambda p, a, b: lax.pmean(fg.grad(_loss)(p, a, b), "d"), axis_name="d", in_axes=(None, 0, 0)
    )
    xs, ys = x.reshape(n, batch // n, width), y.reshape(n, batch // n, width)
    tn = _best(lambda: step(params, xs, ys))
    ex = fg.pmap(lambda v: lax.psum(v, "d"), axis_name="d")
    te = _best(lambda: ex(np.ones((n, width * width), np.float32)))
    print(f"devices: {n}, MLP grad step, global batch {batch}, width {width}, depth {depth}")
    print(f"  1 device (jit):      {t1 * 1e3:8.2f} ms  {batch / t1:10.0f} samples/s")
    print(f"  {n} devices (pmap):   {tn * 1e3:8.2f} ms  {batch / tn:10.0f} samples/s")
    print(f"  pmap of one psum of {width * width * 4 / 1e6:.1f} MB: {te * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
