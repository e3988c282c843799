"""The four paradigm examples side by side, in one process: one training step of the
two-layer digits network (examples/paradigms/) in each style, plus PyTorch itself when it is
installed (it is never a funcgrad dependency).

For each: the median step time (a step is what the shared training loop calls: feed one
batch, forward, backward, clip, update, return the loss as a float), the compile time (the
first step minus the median: tracing and LLVM compilation for the jit styles), the peak
Python-heap memory of a step above the level before it and the memory the trainer keeps
alive between steps (both with tracemalloc, which sees numpy's and funcgrad's buffers but not
torch's), and at the end the process's peak RSS.

Run: python benchmarks/bench_paradigms.py [--repeat 100] [--batch 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import pathlib
import resource
import statistics
import sys
import time
import tracemalloc
from typing import NamedTuple

import numpy as np

PARADIGMS = pathlib.Path(__file__).resolve().parents[1] / "examples" / "paradigms"
sys.path.insert(0, str(PARADIGMS))

import common  # noqa: E402
import run_all  # noqa: E402
import tf1_style  # noqa: E402


class Row(NamedTuple):
    name: str
    step_s: float
    compile_s: float
    peak_step_bytes: int | None
    kept_bytes: int | None


def batches(data, cfg, n):
    order = common.batch_order(len(data.x_train), cfg._replace(epochs=10**6))
    return [(data.x_train[i], data.y_train[i]) for i, _ in zip(order, range(n))]


def memory(make_trainer, feed, cfg) -> tuple[int, int]:
    """(peak heap of one step above the level before it, heap a fresh trainer keeps alive
    after its first step), with tracemalloc on (so timed separately)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    trainer = make_trainer(common.initial_weights(cfg), cfg)
    trainer.step(*feed[0])
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.reset_peak()
    level = tracemalloc.get_traced_memory()[0]
    trainer.step(*feed[1])
    peak = tracemalloc.get_traced_memory()[1] - level
    tracemalloc.stop()
    return peak, kept


def measure(name, make_trainer, data, cfg, repeat) -> Row:
    """Times and memory of one paradigm's ``step`` over fresh batches."""
    feed = batches(data, cfg, repeat + 1)
    trainer = make_trainer(common.initial_weights(cfg), cfg)
    t0 = time.perf_counter()
    trainer.step(*feed[0])
    first = time.perf_counter() - t0
    times = []
    for x, y in feed[1:]:
        t0 = time.perf_counter()
        trainer.step(x, y)
        times.append(time.perf_counter() - t0)
    step = statistics.median(times)
    return Row(name, step, max(first - step, 0.0), *memory(make_trainer, feed, cfg))


class InGraphLoop:
    """The TF1 graph's training loop as one ``tf.while_loop``: ``steps`` steps per run; a
    ``step`` here is one run, reported divided by ``steps``."""

    steps = 32

    def __init__(self, weights, cfg):
        self.trainer = tf1_style.TF1Trainer(weights, cfg)
        self.io = tf1_style.build_in_graph_loop(self.trainer.model, cfg, self.steps)
        rng = np.random.default_rng(0)
        data = run_all.load_data()
        idx = rng.integers(0, len(data.x_train), (self.steps, cfg.batch_size))
        self.feed = {self.io[0]: data.x_train[idx], self.io[1]: data.y_train[idx]}

    def step(self, x, y) -> float:
        losses, _ = self.trainer.sess.run([self.io[2], self.io[3]], self.feed)
        return float(losses[-1])


def in_graph_row(data, cfg, repeat) -> Row:
    name = (
        f"TF1-style, in-graph while_loop (time per step; memory per {InGraphLoop.steps}-step run)"
    )
    row = measure(name, InGraphLoop, data, cfg, repeat)
    n = InGraphLoop.steps
    return row._replace(step_s=row.step_s / n, compile_s=row.compile_s)


class RealTorch:
    """PyTorch itself, the same network, initial weights, clipping and SGD; one thread (the
    paradigm examples run single-threaded at this size, and this machine's cores are shared)."""

    def __init__(self, weights, cfg):
        import torch

        torch.set_num_threads(1)
        self.torch = torch
        self.model = torch.nn.Sequential(
            torch.nn.Linear(64, cfg.hidden), torch.nn.ReLU(), torch.nn.Linear(cfg.hidden, 10)
        )
        with torch.no_grad():
            for p, key in zip(self.model.parameters(), ("w1", "b1", "w2", "b2")):
                p.copy_(torch.from_numpy(weights[key]))
        self.opt = torch.optim.SGD(self.model.parameters(), lr=cfg.lr)
        self.max_norm = cfg.max_norm

    def step(self, x, y) -> float:
        torch = self.torch
        self.opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(
            self.model(torch.from_numpy(x)), torch.from_numpy(y).long()
        )
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.max_norm)
        self.opt.step()
        return loss.item()


def rows(cfg, repeat, with_torch: bool = True) -> list[Row]:
    data = common.load_data()
    x, y = batches(data, cfg, 1)[0]
    run_all.TRAINERS["Caffe-style layers"](common.initial_weights(cfg), cfg).step(x, y)  # warm
    out = [measure(name, make, data, cfg, repeat) for name, make in run_all.TRAINERS.items()]
    out.append(in_graph_row(data, cfg, max(repeat // 8, 3)))
    if not with_torch:
        return out
    try:
        import torch
    except ImportError:
        return out
    row = measure(f"reference: PyTorch {torch.__version__} (eager)", RealTorch, data, cfg, repeat)
    out.append(row._replace(peak_step_bytes=None, kept_bytes=None))  # torch's are not traced
    return out


def median_rows(rounds: list[list[Row]]) -> list[Row]:
    """Field by field medians over rounds (the machine is shared and noisy)."""
    med = lambda vals: None if vals[0] is None else statistics.median(vals)
    return [Row(rs[0].name, *(med(v) for v in list(zip(*rs))[1:])) for rs in zip(*rounds)]


def table(rows_: list[Row], cfg) -> str:
    lines = [
        f"one training step, MLP 64-{cfg.hidden}-10, batch {cfg.batch_size} (median)",
        "| paradigm | step | compile (first step - median) | peak heap per step "
        "| kept between steps |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    kib = lambda n: "not traced" if n is None else f"{n / 1024:,.0f} KiB"
    for r in rows_:
        lines.append(
            f"| {r.name} | {r.step_s * 1e6:,.0f} µs | {r.compile_s * 1e3:,.0f} ms "
            f"| {kib(r.peak_step_bytes)} | {kib(r.kept_bytes)} |"
        )
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=100)
    ap.add_argument("--batch", type=int, default=common.Config().batch_size)
    ap.add_argument("--rounds", type=int, default=3, help="whole runs; medians are reported")
    ap.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    args = ap.parse_args(argv)
    cfg = common.Config(batch_size=args.batch)
    rounds = [rows(cfg, args.repeat, not args.no_torch) for _ in range(args.rounds)]
    print(table(median_rows(rounds), cfg))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS: {rss:,.0f} MiB")


if __name__ == "__main__":
    main()
