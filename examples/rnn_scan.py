"""A recurrent network trained with lax.scan: predict the next value of noisy sine waves.

The recurrence is a `lax.scan` over time, so the whole sequence is one traced loop: `grad`
differentiates it (backpropagation through time) and `jit` compiles it.

Run: python examples/rnn_scan.py [--steps 300]
"""

import argparse

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax


def make_data(key, batch=32, length=40):
    k1, k2 = fg.random.split(key)
    phase = fg.random.uniform(k1, (batch, 1), maxval=2 * np.pi)
    freq = fg.random.uniform(k2, (batch, 1), minval=0.5, maxval=1.5)
    t = fnp.arange(length + 1, dtype=np.float32)[None, :] * 0.3
    waves = fnp.sin(freq * t + phase)
    return waves[:, :-1], waves[:, 1:]  # inputs, next-step targets


def init(key, hidden=32):
    k1, k2, k3 = fg.random.split(key, 3)
    return {
        "wx": fg.random.normal(k1, (1, hidden)) * 0.5,
        "wh": fg.random.normal(k2, (hidden, hidden)) / np.sqrt(hidden),
        "b": fnp.zeros(hidden),
        "wo": fg.random.normal(k3, (hidden, 1)) / np.sqrt(hidden),
    }


def predict(params, xs):
    """xs: (time,) for one sequence -> predictions (time,)."""

    def step(h, x):
        h = fnp.tanh(x * params["wx"][0] + h @ params["wh"] + params["b"])
        return h, (h @ params["wo"])[0]

    _, ys = lax.scan(step, fnp.zeros(params["b"].shape), xs)
    return ys


def loss(params, xs, ys):
    preds = fg.vmap(predict, in_axes=(None, 0))(params, xs)
    return fnp.mean((preds - ys) ** 2)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=0.1)
    args = ap.parse_args(argv)
    key = fg.random.key(0)
    kp, kd = fg.random.split(key)
    params = init(kp)
    jit = getattr(fg, "jit", lambda f: f)

    @jit
    def train_step(params, xs, ys):
        loss_value, g = fg.value_and_grad(loss)(params, xs, ys)
        return fg.tree.map(lambda p, g: p - args.lr * g, params, g), loss_value

    first = None
    for step in range(args.steps):
        xs, ys = make_data(fg.random.fold_in(kd, step))
        params, loss_value = train_step(params, xs, ys)
        first = float(loss_value) if first is None else first
        if step % max(args.steps // 5, 1) == 0 or step == args.steps - 1:
            print(f"step {step:4d}  loss {float(loss_value):.4f}")
    print(f"loss went from {first:.4f} to {float(loss_value):.4f}")
    assert float(loss_value) < first


if __name__ == "__main__":
    main()
