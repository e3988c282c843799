"""Trains the two-layer network on the shipped digits in all four paradigms, from the same
initial weights in the same data order, and prints each one's loss, test accuracy and time,
and how far its losses are from the functional style's.

Run: python examples/paradigms/run_all.py [--epochs N]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import caffe_style  # noqa: E402
import functional_style  # noqa: E402
import tf1_style  # noqa: E402
import torch_style  # noqa: E402
from common import Config, accuracy, initial_weights, load_data, timed, train  # noqa: E402

TRAINERS = {
    "Caffe-style layers": caffe_style.CaffeTrainer,
    "TF1-style graph + Session": tf1_style.TF1Trainer,
    "PyTorch-style tape": torch_style.TorchTrainer,
    "funcgrad functional": functional_style.FunctionalTrainer,
}


def run_one(make_trainer, data, cfg, in_graph: bool = False):
    """(losses, test accuracy, seconds) of one paradigm trained from the shared start."""

    def fit():
        trainer = make_trainer(initial_weights(cfg), cfg)
        if in_graph:
            return trainer, tf1_style.train_in_graph(trainer, data, cfg)
        return trainer, train(trainer, data, cfg)

    (trainer, losses), seconds = timed(fit)
    return np.asarray(losses), accuracy(trainer.predict(data.x_test), data.y_test), seconds


def run_all(cfg: Config) -> dict[str, tuple]:
    data = load_data()
    results = {name: run_one(make, data, cfg) for name, make in TRAINERS.items()}
    results["TF1-style, in-graph while_loop"] = run_one(tf1_style.TF1Trainer, data, cfg, True)
    return results


def report(results) -> None:
    reference = results["funcgrad functional"][0]
    print(
        f"{'paradigm':32s} {'steps':>6s} {'last loss':>10s} {'test acc':>9s} {'time':>7s}"
        f" {'max rel. loss diff':>19s}"
    )
    for name, (losses, acc, seconds) in results.items():
        diff = np.max(np.abs(losses - reference) / np.abs(reference))
        print(
            f"{name:32s} {len(losses):6d} {losses[-1]:10.5f} {acc:9.4f} {seconds:6.2f}s"
            f" {diff:19.2e}"
        )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=Config().epochs)
    cfg = Config(epochs=ap.parse_args(argv).epochs)
    print(
        f"two-layer MLP 64-{cfg.hidden}-10 on the shipped digits, SGD lr {cfg.lr}, "
        f"batch {cfg.batch_size}, clip {cfg.max_norm}, {cfg.epochs} epochs"
    )
    results = run_all(cfg)
    report(results)
    return results


if __name__ == "__main__":
    main()
