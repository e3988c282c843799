"""Second-order optimisation: Newton's method with the Hessian, and Hessian-vector products
(forward-over-reverse) solved by conjugate gradient, on a logistic regression.

Run: python examples/second_order.py [--steps 8]
"""

import argparse
import functools

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp


def make_data(n=256, d=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    w_true = rng.standard_normal(d).astype(np.float32)
    y = (x @ w_true + 0.3 * rng.standard_normal(n) > 0).astype(np.float32)
    return fnp.asarray(x), fnp.asarray(y)


def loss(w, x, y):
    z = x @ w
    return fnp.mean(fnp.logaddexp(0.0, z) - y * z) + 1e-3 * fnp.sum(w * w)


def hvp(f, w, v):
    """H(w) @ v without forming H: the jvp of the gradient."""
    return fg.jvp(fg.grad(f), (w,), (v,))[1]


def conjugate_gradient(matvec, b, iters=20):
    x = fnp.zeros_like(b)
    r = b - matvec(x)
    p = r
    rs = fnp.sum(r * r)
    for _ in range(iters):
        ap = matvec(p)
        alpha = rs / fnp.sum(p * ap)
        x, r = x + alpha * p, r - alpha * ap
        rs_new = fnp.sum(r * r)
        if float(rs_new) < 1e-12:
            break
        p, rs = r + (rs_new / rs) * p, rs_new
    return x


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=8)
    args = ap.parse_args(argv)
    x, y = make_data()
    f = lambda w: loss(w, x, y)
    w = fnp.zeros(x.shape[1])
    for step in range(args.steps):
        g, H = fg.grad(f)(w), fg.hessian(f)(w)
        w = (
            w - fnp.linalg.solve(H, g)
            if hasattr(fnp.linalg, "solve")
            else w - fnp.asarray(np.linalg.solve(np.asarray(H), np.asarray(g)))
        )
        print(
            f"newton step {step}: loss {float(f(w)):.6f}, |grad| {float(fnp.max(fnp.abs(g))):.2e}"
        )
    w2 = fnp.zeros(x.shape[1])
    for _ in range(args.steps):
        g = fg.grad(f)(w2)
        w2 = w2 - conjugate_gradient(functools.partial(hvp, f, w2), g)
    print(f"Newton-CG with Hessian-vector products: loss {float(f(w2)):.6f}")
    assert abs(float(f(w2)) - float(f(w))) < 1e-4
    assert float(fnp.max(fnp.abs(fg.grad(f)(w)))) < 1e-4


if __name__ == "__main__":
    main()
