"""Fused elementwise loops in detail: ns per element by size, threads and code-generation knob.

    python benchmarks/bench_elementwise_detail.py [--sizes 1048576 10000000] [--threads 1 2]

For each workload, size and thread count, every variant below is compiled fresh and the
variants are timed in interleaved rounds (the machine is noisy: compare within one run):

- ``prefetch``: the default code (input streams prefetched ahead, loop strip-mined);
- ``no-prefetch``: ``codegen.PREFETCH_MIN_ELEMENTS`` raised so no loop is strip-mined.

The inputs are standard-normal float32; outputs come from the executable's pool, as in real
use. Prints medians in ms and ns/element.
"""

from __future__ import annotations

import argparse
import contextlib
import time

import numpy as np
from funcgrad.backend.cpu import codegen

import funcgrad as fg
import funcgrad.numpy as fnp

WORKLOADS = {
    "tanh*0.5+sin^2-exp(-x^2)": lambda x: fnp.tanh(x) * 0.5 + fnp.sin(x) ** 2 - fnp.exp(-x * x),
    "exp(x)+exp(x*0.5)": lambda x: fnp.exp(x) + fnp.exp(x * 0.5),
    "exp(x)": lambda x: fnp.exp(x),
    "sin(x)-exp(x)": lambda x: fnp.sin(x) - fnp.exp(x),
    "tanh(x)*expm1(x)": lambda x: fnp.tanh(x) * fnp.expm1(x),
    "x*2+1": lambda x: x * 2 + 1,
}


@contextlib.contextmanager
def _setting(obj, name, value):
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


VARIANTS = {
    "prefetch": lambda: contextlib.nullcontext(),
    "no-prefetch": lambda: _setting(codegen, "PREFETCH_MIN_ELEMENTS", 1 << 62),
}


def _compiled(f, x, variant):
    with VARIANTS[variant]():
        jf = fg.jit(lambda x: f(x))  # a fresh function: a fresh trace and executable
        jf(x)  # compile inside the setting
    return jf


def _once(jf, x) -> float:
    t0 = time.perf_counter()
    jf(x)
    return time.perf_counter() - t0


def bench(name, f, n, rounds=7, reps=5) -> None:
    x = fnp.asarray(np.random.default_rng(0).standard_normal(n).astype(np.float32))
    fns = {v: _compiled(f, x, v) for v in VARIANTS}
    times: dict = {v: [] for v in VARIANTS}
    for _ in range(rounds):
        for v, jf in fns.items():
            times[v].extend(_once(jf, x) for _ in range(reps))
    cells = [
        f"{v} {np.median(t) * 1e3:7.3f} ms ({np.median(t) * 1e9 / n:.3f} ns/el)"
        for v, t in times.items()
    ]
    print(f"{name:26s} n={n:<9d} " + " | ".join(cells), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1 << 20, 10_000_000])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    for t in args.threads:
        print(f"-- {t} thread(s)")
        with fg.config.override(num_threads=t):
            for n in args.sizes:
                for name, f in WORKLOADS.items():
                    bench(name, f, n)


if __name__ == "__main__":
    main()
