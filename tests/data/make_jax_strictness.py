"""Record jax 0.10.2's strictness (error types and messages) for tests/test_strictness.py.

Run with the JAX virtualenv: ``/tmp/jaxenv/bin/python tests/data/make_jax_strictness.py
NAMES.json``, where NAMES.json is a JSON list of funcgrad.numpy's ``__all__`` (written with
funcgrad's own virtualenv; without it every public jax.numpy name is surveyed).
Writes ``tests/data/jax_strictness.json``: for each case, the expression (evaluated by the test
with ``lax``/``jnp``/``np``/``tree_util`` bound to funcgrad's modules) and JAX's outcome:
``["ok", dtype]`` or ``[exception type, message]``; and, for every ``funcgrad.numpy`` name that
jax.numpy has, how it treats a Python list argument.
"""

import json
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax, tree_util

HERE = os.path.dirname(os.path.abspath(__file__))
x32, i32 = jnp.ones(3, jnp.float32), jnp.ones(3, jnp.int32)
ENV = {"jnp": jnp, "lax": lax, "np": np, "tree_util": tree_util, "jit": jax.jit}
SETUP = (
    "f32 = jnp.ones(3, np.float32); i32 = jnp.ones(3, np.int32); "
    "f16 = jnp.ones(3, np.float16); b = jnp.ones(3, bool); c64 = jnp.ones(3, np.complex64)"
)

CASES = [
    "lax.add(1, 1.0)",
    "lax.mul(i32, f32)",
    "lax.add(f32, 1.0)",
    "lax.add(i32, 1.0)",
    "lax.add(i32, 1)",
    "lax.add(f32, 1)",
    "lax.add(1, 2)",
    "lax.add(1.0, 2.0)",
    "lax.sub(f32, f16)",
    "lax.add(f16, 1.0)",
    "lax.max(i32, True)",
    "lax.add(b, b)",
    "lax.add(f32, 1j)",
    "lax.div(i32, 2.0)",
    "lax.pow(f32, 2)",
    "lax.pow(f32, i32)",
    "lax.atan2(f32, i32)",
    "lax.select(b, f32, i32)",
    "lax.add(np.ones(3), f32)",
    "lax.add(f32, np.ones(3, np.int32))",
    "lax.add([1.0, 2.0, 3.0], f32)",
    "lax.eq(f32, 1)",
    "lax.lt(i32, 1.5)",
    "lax.bitwise_and(b, True)",
    "lax.bitwise_and(b, 1)",
    "lax.clamp(0.0, f32, 1.0)",
    "lax.clamp(0, f32, 1)",
    "lax.sin(1)",
    "lax.sin(1.0)",
    "lax.exp(i32)",
    "lax.neg(True)",
    "lax.complex(f32, 1.0)",
    "lax.shift_left(i32, 1)",
    "lax.dot(jnp.ones((2, 3)), jnp.ones((4, 5)))",
    # shape errors of products
    "lax.dot_general(jnp.ones((2, 3)), jnp.ones((4, 5)), (((1,), (0,)), ((), ())))",
    "jnp.dot(jnp.ones((2, 3)), jnp.ones((4, 5)))",
    "jnp.matmul(jnp.ones((2, 3)), jnp.ones((4, 5)))",
    "jnp.matmul(jnp.ones(()), jnp.ones((4, 5)))",
    "jnp.matmul(jnp.ones((2, 2, 3)), jnp.ones((3, 3, 4)))",
    "jnp.ones((2, 3)) @ jnp.ones((4, 5))",
    "jnp.einsum('ij,jk->ik', jnp.ones((2, 3)), jnp.ones((4, 5)))",
    "jnp.vdot(jnp.ones(3), jnp.ones(4))",
    "jnp.inner(jnp.ones(3), jnp.ones(4))",
    "jnp.tensordot(jnp.ones((2, 3)), jnp.ones((4, 5)), 1)",
    "jnp.dot(jnp.ones(3), jnp.ones(4))",
    "jnp.outer(jnp.ones(3), jnp.ones(4))",
    # pytrees
    "tree_util.tree_flatten({1: 1.0, 'a': 2.0})",
    "jit(lambda d: d)({1: 1.0, 'a': 2.0})",
    "tree_util.tree_leaves({(1, 2): 1.0, 'a': 2.0})",
    "tree_util.tree_leaves({2: 1.0, 1: 2.0})",
    # lists in jax.numpy
    "jnp.sum([1, 2])",
    "jnp.mean((1.0, 2.0))",
    "jnp.add([1.0], f32)",
    "jnp.array([1, 2])",
    "jnp.asarray((1.0, 2.0))",
    "jnp.concatenate([jnp.ones(2), jnp.ones(2)])",
    "jnp.stack([jnp.ones(2), jnp.ones(2)])",
    "jnp.zeros([2, 3])",
    "jnp.reshape(f32, [3, 1])",
]


def outcome(expr):
    env = dict(ENV)
    exec(SETUP, env)
    try:
        r = eval(expr, env)
    except Exception as e:  # noqa: BLE001
        return [type(e).__name__, str(e)]
    return ["ok", str(getattr(r, "dtype", type(r).__name__))]


def _call(f, args):
    try:
        f(*args)
    except TypeError as e:
        if "requires ndarray or scalar arguments" in str(e):
            return ["list", str(e)]
        return ["error", type(e).__name__]
    except Exception as e:  # noqa: BLE001
        return ["error", type(e).__name__]
    return ["ok", ""]


def list_table(names):
    """For each name: the outcomes of f(list), f(array, list) and f(list, array)."""
    table = {}
    lst = [1.0, 2.0, 3.0]
    for name in names:
        f = getattr(jnp, name, None)
        if not callable(f) or isinstance(f, type) or name.startswith("_"):
            continue
        table[name] = [_call(f, [lst]), _call(f, [jnp.ones(3), lst]), _call(f, [lst, jnp.ones(3)])]
    return table


def tracer_reprs():
    """repr of a tracer inside jit, grad, vmap and jvp (jax 0.10 prints e.g. JitTracer(...))."""
    seen = {}

    def show(name):
        def f(x):
            seen[name] = repr(x)
            return x

        return f

    x = jnp.ones(3)
    jax.jit(show("jit"))(x)
    jax.grad(lambda v: show("grad")(v).sum())(x)
    jax.vmap(show("vmap"))(x)
    jax.jvp(show("jvp"), (x,), (x,))
    jax.jit(show("jit_weak_scalar"))(1.0)
    jax.jit(show("jit_int"))(jnp.ones((2, 3), jnp.int32))
    return seen


def main():
    names = json.load(open(sys.argv[1])) if len(sys.argv) > 1 else sorted(dir(jnp))
    out = {
        "jax_version": jax.__version__,
        "setup": SETUP,
        "cases": {c: outcome(c) for c in CASES},
        "lists": list_table(names),
        "tracer_reprs": tracer_reprs(),
    }
    with open(os.path.join(HERE, "jax_strictness.json"), "w") as fh:
        json.dump(out, fh, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
