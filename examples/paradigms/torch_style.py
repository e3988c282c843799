"""PyTorch's paradigm on funcgrad arrays: an imperative Tensor that records a tape as it runs.

Every operation on a ``Tensor`` computes its value at once (eager) and, when an input
``requires_grad``, returns a Tensor that remembers its parents and a Python closure that
maps the output's gradient to the parents' gradients. The graph is whatever actually ran,
so Python ``if``/``for`` on values shape it freely. ``loss.backward()`` walks that dynamic
graph in reverse topological order, calls the closures, accumulates ``.grad`` on the
leaves (so ``zero_grad()`` is needed, as in PyTorch) and frees the graph. ``Module`` is
stateful (parameters are attributes, found by walking ``__dict__``); the optimizer mutates
them in ``step()``. funcgrad's own autodiff is not used anywhere here.

Run: python examples/paradigms/torch_style.py
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np
from common import Config, accuracy, initial_weights, load_data, train

import funcgrad.numpy as fnp

_grad_enabled = [True]


@contextlib.contextmanager
def no_grad():
    """Operations inside record nothing (parameter updates, evaluation)."""
    _grad_enabled.append(False)
    try:
        yield
    finally:
        _grad_enabled.pop()


def _unbroadcast(g, shape):
    """Sums ``g`` over the axes that broadcasting added or stretched to reach ``shape``."""
    while g.ndim > len(shape):
        g = fnp.sum(g, axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = fnp.sum(g, axis=axis, keepdims=True)
    return g


class Tensor:
    """A value (a funcgrad array), and for tape entries its parents and backward closure."""

    def __init__(self, data, requires_grad: bool = False, _parents=(), _backward=None):
        self.data = fnp.asarray(data)
        self.requires_grad = requires_grad
        self.grad: Tensor | None = None
        self._parents: tuple[Tensor, ...] = _parents
        self._backward: Callable | None = _backward

    @property
    def shape(self):
        return self.data.shape

    def item(self) -> float:
        return float(self.data)

    def numpy(self) -> np.ndarray:
        return np.asarray(self.data)

    def __repr__(self):
        grad_fn = " (on the tape)" if self._backward else ""
        return f"tensor({np.asarray(self.data)}, requires_grad={self.requires_grad}){grad_fn}"

    # ---- recording ----------------------------------------------------------------------

    @staticmethod
    def _record(value, parents: tuple[Tensor, ...], backward: Callable) -> Tensor:
        """The output of an op: on the tape when grad is on and some input needs a grad."""
        if _grad_enabled[-1] and any(p.requires_grad for p in parents):
            return Tensor(value, True, parents, backward)
        return Tensor(value)

    def __add__(self, other):
        other = _tensor(other)
        a, b = self.shape, other.shape
        return Tensor._record(
            self.data + other.data,
            (self, other),
            lambda g: (_unbroadcast(g, a), _unbroadcast(g, b)),
        )

    __radd__ = __add__

    def __sub__(self, other):
        return self + (-_tensor(other))

    def __rsub__(self, other):
        return _tensor(other) - self

    def __neg__(self):
        return Tensor._record(-self.data, (self,), lambda g: (-g,))

    def __mul__(self, other):
        other = _tensor(other)
        x, y = self.data, other.data
        return Tensor._record(
            x * y,
            (self, other),
            lambda g: (_unbroadcast(g * y, x.shape), _unbroadcast(g * x, y.shape)),
        )

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = _tensor(other)
        x, y = self.data, other.data
        return Tensor._record(
            x / y,
            (self, other),
            lambda g: (_unbroadcast(g / y, x.shape), _unbroadcast(-g * x / (y * y), y.shape)),
        )

    def __rtruediv__(self, other):
        return _tensor(other) / self

    def __matmul__(self, other):
        x, y = self.data, other.data
        return Tensor._record(x @ y, (self, other), lambda g: (g @ y.T, x.T @ g))

    @property
    def T(self):
        return Tensor._record(self.data.T, (self,), lambda g: (g.T,))

    def __gt__(self, other):  # comparisons give plain values: they are not differentiable
        return Tensor(self.data > _tensor(other).data)

    def __bool__(self):  # `if t > 0.5:` works: the value exists
        return bool(self.data)

    def __float__(self):
        return self.item()

    def sum(self):
        shape = self.shape
        return Tensor._record(fnp.sum(self.data), (self,), lambda g: (fnp.broadcast_to(g, shape),))

    def mean(self):
        return self.sum() / float(np.prod(self.shape))

    def exp(self):
        y = fnp.exp(self.data)
        return Tensor._record(y, (self,), lambda g: (g * y,))

    def sqrt(self):
        y = fnp.sqrt(self.data)
        return Tensor._record(y, (self,), lambda g: (g / (2.0 * y),))

    def relu(self):
        x = self.data
        return Tensor._record(fnp.maximum(x, 0.0), (self,), lambda g: (fnp.where(x > 0, g, 0.0),))

    # ---- the backward pass ---------------------------------------------------------------

    def backward(self) -> None:
        """Reverse-mode over the tape that produced ``self`` (a scalar), then frees it."""
        if self._backward is None and not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad")
        grads = {id(self): fnp.ones_like(self.data)}
        for node in reversed(_topological_order(self)):
            g = grads.pop(id(node))
            if node._backward is None:  # a leaf: accumulate into .grad, as PyTorch does
                node.grad = Tensor(g if node.grad is None else node.grad.data + g)
                continue
            for parent, pg in zip(node._parents, node._backward(g)):
                if parent.requires_grad:
                    grads[id(parent)] = grads[id(parent)] + pg if id(parent) in grads else pg
            node._backward, node._parents = _freed, ()  # the graph is freed after backward


def _freed(g):
    raise RuntimeError("Trying to backward through the graph a second time")


def _tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(fnp.asarray(x, dtype=np.float32))


def _topological_order(root: Tensor) -> list[Tensor]:
    """Nodes that need a gradient, each after all of its parents (iterative DFS)."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node._parents if p.requires_grad)
    return order


def cross_entropy(logits: Tensor, labels) -> Tensor:
    """Mean softmax cross-entropy of integer labels, one fused op with its own backward
    (like ``torch.nn.functional.cross_entropy``): the gradient is ``(softmax - onehot) / N``."""
    z = logits.data
    m = fnp.max(z, axis=1, keepdims=True)
    shifted = z - m
    log_prob = shifted - fnp.log(fnp.sum(fnp.exp(shifted), axis=1, keepdims=True))
    target = (fnp.asarray(labels)[:, None] == fnp.arange(z.shape[1])).astype(np.float32)
    n = z.shape[0]
    loss = -fnp.sum(log_prob * target) / n
    return Tensor._record(loss, (logits,), lambda g: ((fnp.exp(log_prob) - target) * (g / n),))


class Parameter(Tensor):
    """A leaf tensor that a Module registers as a parameter."""

    def __init__(self, data):
        super().__init__(fnp.asarray(data), requires_grad=True)


class Module:
    """Stateful: parameters and submodules are attributes; ``parameters()`` finds them."""

    def parameters(self) -> Iterator[Parameter]:
        for value in vars(self).values():
            if isinstance(value, Parameter):
                yield value
            elif isinstance(value, Module):
                yield from value.parameters()

    def __call__(self, *args):
        return self.forward(*args)


class Linear(Module):
    def __init__(self, weight, bias):
        self.weight, self.bias = Parameter(weight), Parameter(bias)

    def forward(self, x: Tensor) -> Tensor:
        return x @ self.weight.T + self.bias


class MLP(Module):
    def __init__(self, weights):
        self.fc1 = Linear(weights["w1"], weights["b1"])
        self.fc2 = Linear(weights["w2"], weights["b2"])

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.fc1(x).relu())


class SGD:
    """``step()`` updates the parameters in place; ``zero_grad()`` clears ``.grad``."""

    def __init__(self, params, lr: float):
        self.params, self.lr = list(params), lr

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None  # PyTorch 2's default, set_to_none=True

    def step(self) -> None:
        with no_grad():
            for p in self.params:
                if p.grad is not None:
                    p.data = p.data - self.lr * p.grad.data


def clip_grad_norm_(params, max_norm: float) -> Tensor:
    """Scales every ``.grad`` in place when their global norm exceeds ``max_norm``."""
    params = [p for p in params if p.grad is not None]
    with no_grad():
        total = sum(((p.grad * p.grad).sum() for p in params), Tensor(0.0)).sqrt()
        if total > max_norm:  # Python control flow on a computed value
            scale = max_norm / total
            for p in params:
                p.grad = p.grad * scale
    return total


def small_program(v1: float) -> tuple[float, float]:
    """The lecture's example run eagerly: the ``if`` sees a real value, and the tape holds
    only the branch that ran. Returns (v5, dv5/dv1)."""
    v1 = Tensor(np.float32(v1), requires_grad=True)
    v2 = v1.exp()
    v3 = v2 + 1.0
    v4 = v2 * v3
    if v4 > 0.5:
        v5 = v4 * 2.0
    else:
        v5 = v4
    v5.backward()
    return v5.item(), v1.grad.item()


class TorchTrainer:
    """The shared loop's interface, written as a PyTorch training step."""

    def __init__(self, weights, cfg: Config):
        self.model = MLP(weights)
        self.optimizer = SGD(self.model.parameters(), lr=cfg.lr)
        self.max_norm = cfg.max_norm

    def step(self, x, y) -> float:
        self.optimizer.zero_grad()
        loss = cross_entropy(self.model(Tensor(x)), y)
        loss.backward()
        clip_grad_norm_(self.model.parameters(), self.max_norm)
        self.optimizer.step()
        return loss.item()

    def predict(self, x):
        with no_grad():
            return self.model(Tensor(x)).numpy()


def main():
    cfg, data = Config(), load_data()
    trainer = TorchTrainer(initial_weights(cfg), cfg)
    losses = train(trainer, data, cfg)
    acc = accuracy(trainer.predict(data.x_test), data.y_test)
    print(f"torch-style: {len(losses)} steps, last loss {losses[-1]:.4f}, test accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
