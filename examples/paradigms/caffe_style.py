"""Caffe 1.0's paradigm on funcgrad arrays: layers with hand-written forward and backward.

A ``Layer`` reads its ``bottom`` blobs and writes its ``top`` blobs in ``forward``; in
``backward`` it reads the tops' ``diff`` and writes the bottoms' ``diff`` (and accumulates its
parameters' ``diff``). Nothing is differentiated automatically: each layer's gradient is
written by hand below. A ``Net`` is a list of layers wired by blob names (Caffe's prototxt)
and runs them in order, then in reverse; an ``SGDSolver`` updates the parameter blobs in place.

funcgrad arrays are immutable, so "in place" here means what it means for a Caffe ``Blob``
object: the blob (shared by the layers that read and write it) gets new contents, e.g.
``blob.data = blob.data - blob.diff``; no layer ever sees a copy of a blob.

Run: python examples/paradigms/caffe_style.py
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from common import Config, accuracy, initial_weights, load_data, train

import funcgrad.numpy as fnp

FLT_MIN = float(np.finfo(np.float32).tiny)


class Blob:
    """Caffe's Blob: a ``data`` array and a ``diff`` array (its gradient) of the same shape."""

    def __init__(self, data=None):
        self.data = data
        self.diff = None


class Layer:
    """The interface of every layer; ``blobs`` holds its learnable parameters."""

    blobs: list[Blob] = []

    def forward(self, bottom: list[Blob], top: list[Blob]) -> None:
        raise NotImplementedError

    def backward(self, top: list[Blob], propagate_down: list[bool], bottom: list[Blob]) -> None:
        raise NotImplementedError


class InputLayer(Layer):
    """Its tops are filled from outside (pycaffe's ``net.blobs["data"].data = x``)."""

    def forward(self, bottom, top):
        pass

    def backward(self, top, propagate_down, bottom):
        pass


class InnerProductLayer(Layer):
    """``top = bottom @ W.T + b`` with ``W`` of shape ``(out, in)``, as in Caffe."""

    def __init__(self, weight, bias):
        self.blobs = [Blob(fnp.asarray(weight)), Blob(fnp.asarray(bias))]

    def forward(self, bottom, top):
        w, b = self.blobs
        top[0].data = bottom[0].data @ w.data.T + b.data

    def backward(self, top, propagate_down, bottom):
        w, b = self.blobs
        g, x = top[0].diff, bottom[0].data
        w.diff = w.diff + g.T @ x  # parameter gradients accumulate, as in Caffe
        b.diff = b.diff + fnp.sum(g, axis=0)
        if propagate_down[0]:
            bottom[0].diff = g @ w.data


class ReLULayer(Layer):
    """``max(x, 0)``; may run in place (top is bottom), as Caffe nets usually do to save
    memory: the mask ``x > 0`` reads the same from the input or the output."""

    def forward(self, bottom, top):
        top[0].data = fnp.maximum(bottom[0].data, 0.0)

    def backward(self, top, propagate_down, bottom):
        if propagate_down[0]:
            bottom[0].diff = fnp.where(top[0].data > 0, top[0].diff, 0.0)


class SoftmaxWithLossLayer(Layer):
    """Softmax, then the mean negative log-probability of the labels; bottoms (logits,
    labels). The gradient is Caffe's: ``(prob - one_hot(label)) * loss_weight / N``."""

    def forward(self, bottom, top):
        logits, labels = bottom[0].data, bottom[1].data
        e = fnp.exp(logits - fnp.max(logits, axis=1, keepdims=True))
        self.prob = e / fnp.sum(e, axis=1, keepdims=True)
        self.target = (labels[:, None] == fnp.arange(logits.shape[1])).astype(np.float32)
        picked = fnp.sum(self.prob * self.target, axis=1)
        top[0].data = -fnp.mean(fnp.log(fnp.maximum(picked, FLT_MIN)))

    def backward(self, top, propagate_down, bottom):
        if propagate_down[0]:
            n = bottom[0].data.shape[0]
            bottom[0].diff = (self.prob - self.target) * (top[0].diff / n)


class LayerSpec(NamedTuple):
    """One entry of the net definition (a prototxt ``layer { }`` block)."""

    name: str
    layer: Layer
    bottom: tuple[str, ...]
    top: tuple[str, ...]


class Net:
    """Runs the layers in order (forward) and in reverse (backward), wiring blobs by name."""

    def __init__(self, specs: list[LayerSpec]):
        self.specs = specs
        self.blobs: dict[str, Blob] = {}
        for spec in specs:
            for name in spec.bottom + spec.top:
                self.blobs.setdefault(name, Blob())
        self.needs_backward = self._needs_backward()

    def _needs_backward(self) -> set[str]:
        """Blobs whose diff is needed: outputs of layers that have parameters upstream."""
        needs = set()
        for spec in self.specs:
            if spec.layer.blobs or any(b in needs for b in spec.bottom):
                needs.update(spec.top)
        return needs

    def params(self) -> list[Blob]:
        return [blob for spec in self.specs for blob in spec.layer.blobs]

    def _io(self, spec):
        return [self.blobs[n] for n in spec.bottom], [self.blobs[n] for n in spec.top]

    def forward(self, end: str | None = None):
        """Runs the layers up to and including ``end`` (default: all); returns the last top."""
        for spec in self.specs:
            bottom, top = self._io(spec)
            spec.layer.forward(bottom, top)
            if spec.name == end:
                break
        return top[0].data

    def backward(self) -> None:
        self.blobs[self.specs[-1].top[0]].diff = fnp.asarray(1.0)  # the loss weight
        for spec in reversed(self.specs):
            bottom, top = self._io(spec)
            propagate_down = [name in self.needs_backward for name in spec.bottom]
            spec.layer.backward(top, propagate_down, bottom)

    def clear_param_diffs(self) -> None:
        for blob in self.params():
            blob.diff = fnp.zeros_like(blob.data)


class SGDSolver:
    """Caffe's SGD without momentum: clear diffs, forward, backward, clip, update in place."""

    def __init__(self, net: Net, base_lr: float, clip_gradients: float):
        self.net, self.base_lr, self.clip = net, base_lr, clip_gradients

    def step(self):
        self.net.clear_param_diffs()
        loss = self.net.forward()
        self.net.backward()
        self.clip_gradients()
        self.apply_update()
        return loss

    def clip_gradients(self) -> None:
        params = self.net.params()
        l2norm = fnp.sqrt(sum(fnp.sum(p.diff * p.diff) for p in params))
        if float(l2norm) > self.clip:  # Python control flow on a computed value
            scale = self.clip / l2norm
            for p in params:
                p.diff = p.diff * scale

    def apply_update(self) -> None:
        for p in self.net.params():
            p.diff = self.base_lr * p.diff  # ComputeUpdateValue: diff becomes the step
            p.data = p.data - p.diff  # Blob::Update


def build_net(weights) -> Net:
    """The two-layer network as a Caffe net definition."""
    return Net(
        [
            LayerSpec("data", InputLayer(), (), ("data", "label")),
            LayerSpec("ip1", InnerProductLayer(weights["w1"], weights["b1"]), ("data",), ("ip1",)),
            LayerSpec("relu1", ReLULayer(), ("ip1",), ("ip1",)),  # in place
            LayerSpec("ip2", InnerProductLayer(weights["w2"], weights["b2"]), ("ip1",), ("ip2",)),
            LayerSpec("loss", SoftmaxWithLossLayer(), ("ip2", "label"), ("loss",)),
        ]
    )


class CaffeTrainer:
    """The shared loop's interface: feed the input blobs, call ``solver.step()``."""

    def __init__(self, weights, cfg: Config):
        self.net = build_net(weights)
        self.solver = SGDSolver(self.net, cfg.lr, cfg.max_norm)

    def step(self, x, y) -> float:
        self.net.blobs["data"].data = fnp.asarray(x)
        self.net.blobs["label"].data = fnp.asarray(y)
        return float(self.solver.step())

    def predict(self, x):
        self.net.blobs["data"].data = fnp.asarray(x)
        return np.asarray(self.net.forward(end="ip2"))


def main():
    cfg, data = Config(), load_data()
    trainer = CaffeTrainer(initial_weights(cfg), cfg)
    losses = train(trainer, data, cfg)
    acc = accuracy(trainer.predict(data.x_test), data.y_test)
    print(f"caffe-style: {len(losses)} steps, last loss {losses[-1]:.4f}, test accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
