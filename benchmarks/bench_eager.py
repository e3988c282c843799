"""Eager per-operation overhead on small arrays: funcgrad vs numpy (and jax / torch if
importable; neither is a dependency).

    python benchmarks/bench_eager.py [--write docs/performance.md]

Prints the median time per call of each case and its ratio to numpy; with ``--write`` the
table replaces the "Eager overhead" section of the given markdown file (other sections kept).
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import textwrap
import timeit
from pathlib import Path

import numpy as np


def _median_us(fn, number=200, repeat=15) -> float:
    fn()  # warm up (and fail early)
    times = timeit.repeat(fn, number=number, repeat=repeat)
    return statistics.median(times) / number * 1e6


def _numpy_cases():
    x = np.linspace(0.1, 1.0, 16, dtype=np.float32)
    m = np.ones((8, 8), np.float32)

    def grad_tiny():  # the hand-written derivative of sum(sin(x) * x)
        return np.cos(x) * x + np.sin(x)

    return {
        "x*2+1": lambda: x * 2 + 1,
        "sin": lambda: np.sin(x),
        "sum": lambda: np.sum(x),
        "matmul 8x8": lambda: m @ m,
        "grad tiny fn": grad_tiny,
    }


def _funcgrad_cases():
    import funcgrad as fg
    import funcgrad.numpy as fnp

    x = fnp.linspace(0.1, 1.0, 16)
    m = fnp.ones((8, 8))
    g = fg.grad(lambda v: fnp.sum(fnp.sin(v) * v))
    return {
        "x*2+1": lambda: x * 2 + 1,
        "sin": lambda: fnp.sin(x),
        "sum": lambda: fnp.sum(x),
        "matmul 8x8": lambda: m @ m,
        "grad tiny fn": lambda: g(x),
    }


def _jax_cases():
    import jax
    import jax.numpy as jnp

    x = jnp.linspace(0.1, 1.0, 16)
    m = jnp.ones((8, 8))
    g = jax.grad(lambda v: jnp.sum(jnp.sin(v) * v))
    block = lambda f: lambda: f().block_until_ready()
    return {
        "x*2+1": block(lambda: x * 2 + 1),
        "sin": block(lambda: jnp.sin(x)),
        "sum": block(lambda: jnp.sum(x)),
        "matmul 8x8": block(lambda: m @ m),
        "grad tiny fn": block(lambda: g(x)),
    }


def _torch_cases():
    import torch

    x = torch.linspace(0.1, 1.0, 16)
    m = torch.ones((8, 8))

    def grad_tiny():
        v = x.detach().requires_grad_(True)
        (torch.sin(v) * v).sum().backward()
        return v.grad

    return {
        "x*2+1": lambda: x * 2 + 1,
        "sin": lambda: torch.sin(x),
        "sum": lambda: x.sum(),
        "matmul 8x8": lambda: m @ m,
        "grad tiny fn": grad_tiny,
    }


def run() -> tuple[list[str], dict]:
    libs = {
        "numpy": _numpy_cases,
        "funcgrad": _funcgrad_cases,
        "jax": _jax_cases,
        "torch": _torch_cases,
    }
    results: dict[str, dict[str, float]] = {}
    for name, make in libs.items():
        try:
            cases = make()
        except ImportError:
            continue
        results[name] = {k: _median_us(f) for k, f in cases.items()}
    cols = list(results)
    header = (
        "| case | "
        + " | ".join(f"{c} (µs)" for c in cols)
        + " | "
        + " | ".join(f"{c} / numpy" for c in cols if c != "numpy")
        + " |"
    )
    lines = [header, "|" + "---|" * (1 + 2 * len(cols) - 1)]
    for case in results["numpy"]:
        base = results["numpy"][case]
        times = " | ".join(f"{results[c][case]:.1f}" for c in cols)
        ratios = " | ".join(f"{results[c][case] / base:.1f}x" for c in cols if c != "numpy")
        lines.append(f"| {case} | {times} | {ratios} |")
    return lines, results


def write_section(path: Path, lines: list[str]) -> None:
    """Replace (or append) the '## Eager overhead' section; other sections are kept."""
    intro = (
        "Median time per call on small float32 arrays (16 elements; matmul 8x8), measured "
        "by `python benchmarks/bench_eager.py --write docs/performance.md` on "
        f"{platform.processor() or platform.machine()}, Python "
        f'{platform.python_version()}, numpy {np.__version__}. "grad tiny fn" is '
        "`grad(lambda v: sum(sin(v) * v))`; numpy's column is the hand-written "
        "derivative. Ratios are to numpy: funcgrad's eager mode pays for dispatch "
        "(`bind`, tracing checks, weak-type rules) on every primitive; use `jit` for "
        "loops of small operations. The machine is a shared 2-core VM: expect noise of "
        "+-30% between runs; compare ratios within one run."
    )
    body = "## Eager overhead\n\n" + textwrap.fill(intro, 100) + "\n\n" + "\n".join(lines) + "\n"
    text = path.read_text() if path.exists() else "# Performance\n"
    pattern = re.compile(r"^## Eager overhead\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: body + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + body
    path.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--write", type=Path, help="markdown file to update")
    args = ap.parse_args()
    lines, _ = run()
    print("\n".join(lines))
    if args.write:
        write_section(args.write, lines)
        print(f"wrote the 'Eager overhead' section of {args.write}")


if __name__ == "__main__":
    main()
