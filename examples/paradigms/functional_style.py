"""funcgrad's own paradigm: pure functions over pytrees, transformed.

The model is a frozen pytree module (Equinox's design) that takes ONE example; ``fg.vmap``
batches it. The loss is a pure function of the model; ``fg.value_and_grad`` differentiates
it; the optimizer is an Optax-style ``(init, update)`` pair (its clipping is branch-free:
the factor ``max_norm / maximum(norm, max_norm)``); ``fg.jit`` compiles forward, backward
and update into one native program. Nothing is mutated: the step returns a new model and
optimizer state.

Run: python examples/paradigms/functional_style.py
"""

from __future__ import annotations

from common import Config, accuracy, initial_weights, load_data, train

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn, optim
from funcgrad.nn import losses


class MLP(nn.Module):
    """Two Linear layers with a ReLU, on one example."""

    fc1: nn.Linear
    fc2: nn.Linear

    def __call__(self, x):
        return self.fc2(fnp.maximum(self.fc1(x), 0.0))


def linear(weight, bias) -> nn.Linear:
    """An ``nn.Linear`` holding the given weights (it is built with a key, then its two
    leaves are replaced functionally with ``tree_at``)."""
    out_features, in_features = weight.shape
    layer = nn.Linear(in_features, out_features, key=fg.random.key(0))
    leaves = (fnp.asarray(weight), fnp.asarray(bias))
    return nn.tree_at(lambda lin: (lin.weight, lin.bias), layer, leaves)


def build_model(weights) -> MLP:
    return MLP(linear(weights["w1"], weights["b1"]), linear(weights["w2"], weights["b2"]))


def loss_fn(model: MLP, x, y):
    logits = fg.vmap(model)(x)
    return losses.softmax_cross_entropy(logits, y)


def make_optimizer(cfg: Config) -> optim.GradientTransformation:
    return optim.chain(optim.clip_by_global_norm(cfg.max_norm), optim.sgd(cfg.lr))


def make_train_step(optimizer):
    @fg.jit
    def train_step(model, opt_state, x, y):
        loss, grads = fg.value_and_grad(loss_fn)(model, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, model)
        return optim.apply_updates(model, updates), opt_state, loss

    return train_step


@fg.jit
def predict(model: MLP, x):
    return fg.vmap(model)(x)


class FunctionalTrainer:
    """The shared loop's interface: the loop holds the state, the step is pure."""

    def __init__(self, weights, cfg: Config):
        self.model = build_model(weights)
        optimizer = make_optimizer(cfg)
        self.opt_state = optimizer.init(self.model)
        self.train_step = make_train_step(optimizer)

    def step(self, x, y) -> float:
        self.model, self.opt_state, loss = self.train_step(
            self.model, self.opt_state, fnp.asarray(x), fnp.asarray(y)
        )
        return float(loss)

    def predict(self, x):
        return predict(self.model, fnp.asarray(x))


def main():
    cfg, data = Config(), load_data()
    trainer = FunctionalTrainer(initial_weights(cfg), cfg)
    losses_ = train(trainer, data, cfg)
    acc = accuracy(trainer.predict(data.x_test), data.y_test)
    print(f"functional: {len(losses_)} steps, last loss {losses_[-1]:.4f}, test accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
