"""Per-example gradients with vmap(grad(...)): the gradient of each example's loss separately.

Run: python examples/per_example_gradients.py [--batch 64]
"""

import argparse

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp


def init(key, sizes):
    keys = fg.random.split(key, len(sizes) - 1)
    return [
        {"w": fg.random.normal(k, (m, n)) / np.sqrt(m), "b": fnp.zeros(n)}
        for k, m, n in zip(keys, sizes[:-1], sizes[1:])
    ]


def predict(params, x):
    for layer in params[:-1]:
        x = fnp.tanh(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def loss(params, x, y):
    """Loss of ONE example: x is (784,), y an integer label."""
    logits = predict(params, x)
    return (
        fg.nn.logsumexp(logits) - logits[y]
        if hasattr(fg.nn, "logsumexp")
        else fnp.log(fnp.sum(fnp.exp(logits - fnp.max(logits)))) + fnp.max(logits) - logits[y]
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args(argv)
    key = fg.random.key(0)
    kp, kx, ky = fg.random.split(key, 3)
    params = init(kp, [784, 128, 10])
    xs = fg.random.normal(kx, (args.batch, 784))
    ys = fg.random.randint(ky, (args.batch,), 0, 10)

    per_example = fg.jit(fg.vmap(fg.grad(loss), in_axes=(None, 0, 0)))
    grads = per_example(params, xs, ys)
    print("per-example gradient shapes:", fg.tree.map(lambda g: g.shape, grads))

    # the mean of the per-example gradients is the batch gradient
    batch_grad = fg.grad(lambda p: fnp.mean(fg.vmap(loss, in_axes=(None, 0, 0))(p, xs, ys)))(params)
    diff = max(
        float(fnp.max(fnp.abs(fnp.mean(g, 0) - b)))
        for g, b in zip(fg.tree.leaves(grads), fg.tree.leaves(batch_grad))
    )
    print(f"max |mean(per-example) - batch gradient| = {diff:.2e}")
    assert diff < 1e-5
    norms = fnp.sqrt(
        sum(fnp.sum(g.reshape(args.batch, -1) ** 2, axis=1) for g in fg.tree.leaves(grads))
    )
    print("per-example gradient norms (first 5):", np.round(np.asarray(norms[:5]), 4))


if __name__ == "__main__":
    main()
