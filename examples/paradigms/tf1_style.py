"""TensorFlow 1.0's paradigm: the two-layer network declared as a graph, run in a Session.

The graph is built once, before any data exists: placeholders for the inputs, variables for
the weights, the loss, the gradient graph (``tf.gradients``, built by the library), the
clipping as a ``tf.cond`` node (a Python ``if`` cannot branch on a node: the value does not
exist yet) and the update as ``assign`` nodes grouped into a train op. Each
``sess.run(fetches, feed_dict)`` runs the compiled program for those fetches; any node
(the hidden layer, the gradient norm) can be fetched. ``train_in_graph`` puts the whole
training loop into the graph with ``tf.while_loop``, so one run compiles and runs K steps.

Run: python examples/paradigms/tf1_style.py
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import tf1_graph as tf
from common import (
    NUM_CLASSES,
    Config,
    Data,
    accuracy,
    batch_order,
    initial_weights,
    load_data,
    train,
)


def small_program():
    """The lecture's example as a graph, and dv5/dv1 through the ``tf.cond`` node:

    v2 = exp(v1); v3 = v2 + 1; v4 = v2 * v3; v5 = 2 * v4 if v4 > 0.5 else v4
    """
    graph = tf.Graph()
    with graph.as_default():
        v1 = tf.placeholder(np.float32, name="v1")
        v2 = tf.exp(v1)
        v3 = v2 + 1.0
        v4 = v2 * v3
        v5 = tf.cond(v4 > 0.5, lambda: v4 * 2.0, lambda: v4)
        (dv5_dv1,) = tf.gradients(v5, [v1])
    return graph, v1, v5, dv5_dv1


def forward(params, x):
    """Logits of the network; the variables are in TF's ``(in, out)`` layout."""
    w1, b1, w2, b2 = params
    hidden = tf.relu(tf.matmul(x, w1) + b1)
    return tf.matmul(hidden, w2) + b2, hidden


def loss_fn(params, x, labels):
    logits, hidden = forward(params, x)
    per_example = tf.softmax_cross_entropy_with_logits(
        labels=tf.one_hot(labels, NUM_CLASSES), logits=logits
    )
    return tf.reduce_mean(per_example), logits, hidden


def sgd_update(loss, params, cfg: Config):
    """New values for ``params``: the gradient graph, clipping by global norm with a
    ``tf.cond`` node, and the SGD step. Returns (new values, gradient norm)."""
    grads = tf.gradients(loss, params)
    norm = tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(g)) for g in grads]))
    scale = tf.cond(norm > cfg.max_norm, lambda: cfg.max_norm / norm, lambda: tf.constant(1.0))
    return [p - cfg.lr * (g * scale) for p, g in zip(params, grads)], norm


class Model(NamedTuple):
    graph: tf.Graph
    x: tf.Node
    labels: tf.Node
    params: list
    loss: tf.Node
    logits: tf.Node
    hidden: tf.Node
    grad_norm: tf.Node
    train_op: tf.Node
    init: tf.Node


def build_model(weights, cfg: Config) -> Model:
    """Declares the whole program; nothing is computed here."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(np.float32, shape=(None, 64), name="x")
        labels = tf.placeholder(np.int32, shape=(None,), name="labels")
        params = [
            tf.Variable(weights["w1"].T, name="w1"),
            tf.Variable(weights["b1"], name="b1"),
            tf.Variable(weights["w2"].T, name="w2"),
            tf.Variable(weights["b2"], name="b2"),
        ]
        loss, logits, hidden = loss_fn(params, x, labels)
        new_values, grad_norm = sgd_update(loss, params, cfg)
        train_op = tf.group(*[tf.assign(p, v) for p, v in zip(params, new_values)])
        init = tf.global_variables_initializer()
    return Model(graph, x, labels, params, loss, logits, hidden, grad_norm, train_op, init)


def build_in_graph_loop(model: Model, cfg: Config, steps: int):
    """``steps`` SGD steps as one ``tf.while_loop`` over batches fed as (steps, B, 64).

    Returns (xs, ys, losses, train_op): ``losses`` is the (steps,) vector of the losses.
    """
    with model.graph.as_default():
        xs = tf.placeholder(np.float32, shape=(steps, None, 64), name="xs")
        ys = tf.placeholder(np.int32, shape=(steps, None), name="ys")

        def body(i, losses, *params):
            loss = loss_fn(params, tf.gather(xs, i), tf.gather(ys, i))[0]
            new_params, _ = sgd_update(loss, list(params), cfg)
            mark = tf.one_hot(i, steps)  # write loss into slot i of the losses vector
            return [i + 1, losses + mark * loss, *new_params]

        zero = tf.constant(np.zeros(steps, np.float32))
        _, losses, *final = tf.while_loop(
            lambda i, *_: tf.greater(steps, i), body, [tf.constant(0), zero, *model.params]
        )
        train_op = tf.group(*[tf.assign(p, v) for p, v in zip(model.params, final)])
    return xs, ys, losses, train_op


class TF1Trainer:
    """The shared loop's interface: one ``sess.run`` per step."""

    def __init__(self, weights, cfg: Config):
        self.model = build_model(weights, cfg)
        self.sess = tf.Session(self.model.graph)
        self.sess.run(self.model.init)

    def step(self, x, y) -> float:
        m = self.model
        loss, _ = self.sess.run([m.loss, m.train_op], feed_dict={m.x: x, m.labels: y})
        return float(loss)

    def predict(self, x):
        return self.sess.run(self.model.logits, feed_dict={self.model.x: x})


def train_in_graph(trainer: TF1Trainer, data: Data, cfg: Config) -> list[float]:
    """The shared data order, but one ``sess.run`` per epoch: the epoch's batches are fed
    at once and a ``tf.while_loop`` runs the steps inside the compiled program."""
    batches = list(batch_order(len(data.x_train), cfg))
    per_epoch = len(batches) // cfg.epochs
    xs, ys, losses, train_op = build_in_graph_loop(trainer.model, cfg, per_epoch)
    out = []
    for e in range(cfg.epochs):
        idx = np.stack(batches[e * per_epoch : (e + 1) * per_epoch])
        epoch_losses, _ = trainer.sess.run(
            [losses, train_op], feed_dict={xs: data.x_train[idx], ys: data.y_train[idx]}
        )
        out.extend(float(v) for v in epoch_losses)
    return out


def main():
    cfg, data = Config(), load_data()
    trainer = TF1Trainer(initial_weights(cfg), cfg)
    losses = train(trainer, data, cfg)
    acc = accuracy(trainer.predict(data.x_test), data.y_test)
    print(f"tf1-style: {len(losses)} steps, last loss {losses[-1]:.4f}, test accuracy {acc:.4f}")
    print(f"  compiled {trainer.sess.traces} programs (init, train step, predict)")


if __name__ == "__main__":
    main()
