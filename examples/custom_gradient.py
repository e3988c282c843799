"""Custom derivatives: a numerically safe log1pexp with custom_jvp, and gradient clipping in the
backward pass with custom_vjp.

Run: python examples/custom_gradient.py
"""

import funcgrad as fg
import funcgrad.numpy as fnp


@fg.custom_jvp
def log1pexp(x):
    """log(1 + exp(x)); the naive derivative exp(x)/(1+exp(x)) is inf/inf = nan for large x."""
    return fnp.logaddexp(x, 0.0)


@log1pexp.defjvp
def log1pexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return log1pexp(x), t * (1.0 - 1.0 / (1.0 + fnp.exp(x)))  # sigmoid(x), stable form


@fg.custom_vjp
def clip_gradient(x, bound):
    return x


def clip_fwd(x, bound):
    return x, bound


def clip_bwd(bound, g):
    return fnp.clip(g, -bound, bound), None


clip_gradient.defvjp(clip_fwd, clip_bwd)


def main(argv=None):
    for x in (0.0, 10.0, 100.0, 1000.0):
        print(f"log1pexp({x}) = {float(log1pexp(x)):.4f}, grad = {float(fg.grad(log1pexp)(x)):.4f}")
    assert float(fg.grad(log1pexp)(1000.0)) == 1.0
    # second derivatives work through custom_jvp too
    print("second derivative at 0:", float(fg.grad(fg.grad(log1pexp))(0.0)))
    f = lambda x: 10.0 * clip_gradient(x, 1.0) ** 2
    print("clipped gradient:", float(fg.grad(f)(3.0)), "(unclipped would be 60.0)")
    assert float(fg.grad(f)(3.0)) == 1.0


if __name__ == "__main__":
    main()
