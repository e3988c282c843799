"""What the four paradigm examples share: the data, the initial weights, the data order.

The model is the same in every style: a two-layer network on the shipped 8x8 digits,

    logits = W2 relu(W1 x + b1) + b2,     loss = mean softmax cross-entropy,

trained by plain SGD whose gradient is clipped to a global norm of ``max_norm`` (Caffe's
``clip_gradients``): the clipping is an ``if`` on a computed value, which is how the examples
show each paradigm's control flow. Weights use the PyTorch/Caffe layout ``(out, in)``.

Everything here is numpy: each paradigm converts to its own kind of array.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import NamedTuple, Protocol

import numpy as np

from funcgrad.data import load_digits

NUM_CLASSES = 10


class Config(NamedTuple):
    hidden: int = 32
    lr: float = 0.2
    max_norm: float = (
        0.5  # clip the gradient's global norm to this (most steps after the first epoch)
    )
    batch_size: int = 32
    epochs: int = 20
    seed: int = 0


class Data(NamedTuple):
    x_train: np.ndarray  # float32 (N, 64) in [0, 1]
    y_train: np.ndarray  # int32 (N,)
    x_test: np.ndarray
    y_test: np.ndarray


class Trainer(Protocol):
    """What every paradigm exposes to the shared loop (each in its own idiom inside)."""

    def step(self, x: np.ndarray, y: np.ndarray) -> float: ...

    def predict(self, x: np.ndarray) -> np.ndarray: ...


def load_data() -> Data:
    """The shipped digits, flattened to 64 features."""
    (x_train, y_train), (x_test, y_test) = load_digits("train"), load_digits("test")
    return Data(x_train.reshape(len(x_train), -1), y_train, x_test.reshape(len(x_test), -1), y_test)


def initial_weights(cfg: Config, n_in: int = 64) -> dict[str, np.ndarray]:
    """PyTorch's default init, U(+-1/sqrt(fan_in)), from a fixed seed: float32 numpy."""
    rng = np.random.default_rng(cfg.seed)

    def uniform(shape, fan_in):
        lim = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-lim, lim, shape).astype(np.float32)

    return {
        "w1": uniform((cfg.hidden, n_in), n_in),
        "b1": uniform((cfg.hidden,), n_in),
        "w2": uniform((NUM_CLASSES, cfg.hidden), cfg.hidden),
        "b2": uniform((NUM_CLASSES,), cfg.hidden),
    }


def batch_order(n: int, cfg: Config) -> Iterator[np.ndarray]:
    """Index batches for every epoch: a fixed shuffle per epoch, the last partial batch
    dropped (so every step has the same shape and compiles once)."""
    rng = np.random.default_rng(cfg.seed + 1)
    for _ in range(cfg.epochs):
        perm = rng.permutation(n)
        for i in range(0, n - cfg.batch_size + 1, cfg.batch_size):
            yield perm[i : i + cfg.batch_size]


def one_hot(labels: np.ndarray) -> np.ndarray:
    return np.eye(NUM_CLASSES, dtype=np.float32)[labels]


def accuracy(logits, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(np.asarray(logits), axis=-1) == labels))


def train(trainer: Trainer, data: Data, cfg: Config, max_steps: int | None = None) -> list[float]:
    """The shared loop: the same batches in the same order for every paradigm."""
    losses = []
    for idx in batch_order(len(data.x_train), cfg):
        if max_steps is not None and len(losses) >= max_steps:
            break
        losses.append(trainer.step(data.x_train[idx], data.y_train[idx]))
    return losses


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0
