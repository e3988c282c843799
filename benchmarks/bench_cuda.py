"""CUDA backend benchmark (needs an NVIDIA GPU): prints one table.

- the fused elementwise chain ``tanh(x)*0.5 + sin(x)**2 - exp(-x*x)`` (one kernel), as bandwidth
  against the device's own copy bandwidth (``cuMemcpyDtoD``);
- matmul 4096^3: float32 (tiled kernel), float16 and bfloat16 (mma.sync kernels) from
  funcgrad's code generator (``fg.jit``'s CUDA path), each against ``torch.matmul`` when torch
  with CUDA is importable (bfloat16 timings include funcgrad's rounding of the float32
  accumulator to bfloat16, a second kernel over the output);
- the MLP 784-512-512-10 (B=128) value_and_grad + SGD step, against PyTorch eager.

Device times come from CUDA events around repeated launches on the executable's stream, with
inputs already on the device. Run: ``python benchmarks/bench_cuda.py [--quick]``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time

import numpy as np


def _cuda_or_exit():
    from funcgrad.backend.cuda import driver

    if not driver.cuda_available():
        sys.exit(
            "bench_cuda: no CUDA GPU available (libcuda.so.1 missing, cuInit failed or no "
            "devices); this benchmark needs an NVIDIA GPU. Nothing was measured."
        )
    from funcgrad.backend.cuda import runtime

    return runtime


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def _time_ms(runtime, fn, stream=None, reps=20) -> float:
    """Median milliseconds of ``fn()`` measured with CUDA events (after one warm-up call)."""
    fn()
    times = []
    for _ in range(reps):
        start = runtime.Event().record(stream)
        fn()
        end = runtime.Event().record(stream)
        times.append(end.elapsed_ms(start))
    return float(np.median(times))


def _torch_ms(torch, fn, reps=20) -> float:
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return float(np.median(times))


def _executable(fn, *example_args):
    from funcgrad.backend.cuda import compiler

    import funcgrad as fg

    t0 = time.perf_counter()
    exe = compiler.lower_jaxpr(fg.make_jaxpr(fn)(*example_args), fn.__name__).compile()
    return exe, (time.perf_counter() - t0) * 1e3


def bench_copy(runtime, n_bytes: int) -> float:
    """Device-to-device copy bandwidth in GB/s (bytes read + written)."""
    src = runtime.DeviceBuffer.empty((n_bytes,), np.uint8)
    dst = runtime.DeviceBuffer.empty((n_bytes,), np.uint8)
    ms = _time_ms(runtime, lambda: dst.copy_from(src))
    return 2 * n_bytes / ms / 1e6


def bench_chain(runtime, n: int, rows: list, copy_bw: float) -> None:
    import funcgrad.numpy as fnp

    def chain(x):
        return fnp.tanh(x) * 0.5 + fnp.sin(x) ** 2 - fnp.exp(-x * x)

    x = np.random.default_rng(0).standard_normal(n, dtype=np.float32)
    exe, compile_ms = _executable(chain, x)
    xd = runtime.DeviceBuffer.from_numpy(x)
    ms = _time_ms(runtime, lambda: exe.call_device(xd), exe.stream)
    bw = 8 * n / ms / 1e6
    rows.append(
        (
            f"chain f32, {n / 1e6:.0f}M",
            f"{ms * 1e3:.0f} us",
            f"{bw:.0f} GB/s = {100 * bw / copy_bw:.0f}% of copy",
            "-",
            f"compile {compile_ms:.0f} ms",
        )
    )


def bench_matmul(runtime, torch, size: int, rows: list) -> None:
    import funcgrad.numpy as fnp

    flops = 2 * size**3
    rng = np.random.default_rng(0)
    for dtype in ("float32", "float16", "bfloat16"):
        a32 = rng.standard_normal((size, size)).astype(np.float32)
        # bfloat16 arrays hold their values in float32 buffers (device too): a = the rounded
        # values as a funcgrad array, host = those float32 words
        a = fnp.asarray(a32, fnp.bfloat16) if dtype == "bfloat16" else a32.astype(dtype)
        exe, _ = _executable(fnp.matmul, a, a)
        ad = runtime.DeviceBuffer.from_numpy(np.asarray(a))
        ms = _time_ms(runtime, lambda exe=exe, ad=ad: exe.call_device(ad, ad), exe.stream, reps=5)
        peer = "-"
        if torch is not None:
            ta = torch.from_numpy(a32).cuda().to(getattr(torch, dtype))
            torch.backends.cuda.matmul.allow_tf32 = False
            peer = f"{flops / _torch_ms(torch, lambda ta=ta: ta @ ta, 5) / 1e9:.1f} TFLOP/s"
        rows.append(
            (
                f"matmul {dtype} {size}^3",
                f"{ms:.2f} ms",
                f"{flops / ms / 1e9:.1f} TFLOP/s",
                peer,
                exe.lowered.kernels[0].kind,
            )
        )


def bench_mlp(runtime, torch, rows: list) -> None:
    import funcgrad as fg
    import funcgrad.numpy as fnp

    sizes, batch = (784, 512, 512, 10), 128
    rng = np.random.default_rng(0)
    flat = []
    for a, b in itertools.pairwise(sizes):
        flat += [
            (rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32),
            np.zeros(b, np.float32),
        ]
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], batch)]

    def loss(params, x, y):
        h = x
        for i in range(0, len(params) - 2, 2):
            h = fnp.tanh(h @ params[i] + params[i + 1])
        logits = h @ params[-2] + params[-1]
        m = fnp.max(logits, 1)
        logz = fnp.log(fnp.sum(fnp.exp(logits - m[:, None]), 1)) + m
        return fnp.mean(logz - fnp.sum(logits * y, 1))

    def mlp_step(*args):
        params, (x, y) = list(args[:-2]), args[-2:]
        value, grads = fg.value_and_grad(loss)(params, x, y)
        return [value] + [p - 0.1 * g for p, g in zip(params, grads)]

    exe, compile_ms = _executable(mlp_step, *flat, x, y)
    dev = [runtime.DeviceBuffer.from_numpy(a) for a in (*flat, x, y)]
    ms = _time_ms(runtime, lambda: exe.call_device(*dev), exe.stream)
    peer = "-"
    if torch is not None:
        tp = [torch.from_numpy(p).cuda().requires_grad_() for p in flat]
        tx, ty = torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()

        def torch_step():
            h = tx
            for i in range(0, len(tp) - 2, 2):
                h = torch.tanh(h @ tp[i] + tp[i + 1])
            logits = h @ tp[-2] + tp[-1]
            value = (torch.logsumexp(logits, 1) - (logits * ty).sum(1)).mean()
            grads = torch.autograd.grad(value, tp)
            with torch.no_grad():
                return [p - 0.1 * g for p, g in zip(tp, grads)]

        peer = f"{_torch_ms(torch, torch_step) * 1e3:.0f} us"
    rows.append(
        (
            "MLP 784-512-512-10 B=128 step",
            f"{ms * 1e3:.0f} us",
            "-",
            peer,
            f"{len(exe.lowered.kernels)} kernels, compile {compile_ms:.0f} ms",
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    args = parser.parse_args()
    runtime = _cuda_or_exit()
    torch = _torch()
    dev = runtime.get_device(0)
    copy_bw = bench_copy(runtime, 1 << 28)
    rows = [("copy (cuMemcpyDtoD) 256 MiB", "-", f"{copy_bw:.0f} GB/s", "-", "reference")]
    bench_chain(runtime, 1 << 22 if args.quick else 10_000_000, rows, copy_bw)
    bench_chain(runtime, 1 << 26, rows, copy_bw)
    bench_matmul(runtime, torch, 1024 if args.quick else 4096, rows)
    bench_mlp(runtime, torch, rows)
    print(
        f"device: {dev.name} ({dev.arch}, {dev.multiprocessor_count} SMs); torch: "
        f"{'yes' if torch is not None else 'not importable (peer column empty)'}"
    )
    header = ("workload", "time", "throughput", "torch", "notes")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths)))


if __name__ == "__main__":
    main()
