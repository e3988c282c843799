"""Per-call times of eager random operations in funcgrad, and in JAX when it is installed.

Run: ``python benchmarks/bench_random_eager.py``. Prints microseconds per call (best of
several repeats) for split, fold_in, normal, uniform and randint on one key.
"""

from __future__ import annotations

import timeit


def _cases(R, key):
    return {
        "split": lambda: R.split(key),
        "fold_in": lambda: R.fold_in(key, 3),
        "normal(1000)": lambda: R.normal(key, (1000,)),
        "uniform(1000)": lambda: R.uniform(key, (1000,)),
        "randint(1000)": lambda: R.randint(key, (1000,), 0, 10),
    }


def _time(fn, block):
    block(fn())  # warm up (JAX compiles here)
    n, best = 20, float("inf")
    for _ in range(5):
        best = min(best, timeit.timeit(lambda: block(fn()), number=n) / n)
    return best * 1e6


def main():
    import funcgrad as fg

    rows = {n: [_time(f, lambda x: x)] for n, f in _cases(fg.random, fg.random.key(0)).items()}
    try:
        import jax

        jr = jax.random
        for n, f in _cases(jr, jr.key(0)).items():
            rows[n].append(_time(f, lambda x: x.block_until_ready()))
    except ImportError:
        pass
    print(f"{'op':16s} {'funcgrad us':>12s} {'jax us':>10s}")
    for n, ts in rows.items():
        print(f"{n:16s} {ts[0]:12.1f} " + (f"{ts[1]:10.1f}" if len(ts) > 1 else f"{'-':>10s}"))


if __name__ == "__main__":
    main()
