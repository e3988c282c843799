"""Records jax 0.10.2's ``lax.associative_scan`` results for tests/test_associative_scan.py.

Run once, in an environment with jax installed (never a test dependency):
python tests/data/make_associative_scan.py. Writes associative_scan.json beside this file
(inputs included, so the test needs no random generator).
"""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", False)


def matmul2(a, b):
    return jnp.einsum("...ij,...jk->...ik", a, b)


def linrec(e1, e2):
    a1, b1 = e1
    a2, b2 = e2
    return a1 * a2, a2 * b1 + b2


def _tolist(tree):
    return jax.tree_util.tree_map(lambda x: np.asarray(x).tolist(), tree)


def main():
    rng = np.random.RandomState(0)
    mats = rng.uniform(-1, 1, (7, 2, 2)).astype(np.float32)
    a = rng.uniform(0.5, 1.0, (6,)).astype(np.float32)
    b = rng.uniform(-1, 1, (6,)).astype(np.float32)
    x2 = rng.uniform(-2, 2, (3, 5)).astype(np.float32)
    ints = rng.randint(-20, 20, (9,)).astype(np.int32)
    scan = jax.lax.associative_scan
    out = {
        "jax_version": jax.__version__,
        "inputs": _tolist({"mats": mats, "a": a, "b": b, "x2": x2, "ints": ints}),
    }
    out["mul"] = _tolist(scan(jnp.multiply, jnp.array([2.0, 3.0, 4.0, 5.0])))
    out["min_ints"] = _tolist(scan(jnp.minimum, ints))
    out["min_ints_rev"] = _tolist(scan(jnp.minimum, ints, reverse=True))
    for n in (0, 1, 2, 3, 5, 7):
        out[f"matmul_{n}"] = _tolist(scan(matmul2, mats[:n]))
        out[f"matmul_rev_{n}"] = _tolist(scan(matmul2, mats[:n], reverse=True))
    out["linrec"] = _tolist(scan(linrec, (a, b)))
    out["linrec_rev"] = _tolist(scan(linrec, (a, b), reverse=True))
    out["mul_axis1"] = _tolist(scan(jnp.multiply, x2, axis=1))
    out["mul_axis1_rev"] = _tolist(scan(jnp.multiply, x2, axis=1, reverse=True))
    f = lambda m: scan(matmul2, m)[-1].sum() + scan(matmul2, m, reverse=True)[0, 0, 1]
    out["grad_matmul"] = _tolist(jax.grad(f)(mats))
    g = lambda a, b: (scan(linrec, (a, b))[1] ** 2).sum()
    out["grad_linrec"] = _tolist(jax.grad(g, argnums=(0, 1))(a, b))
    out["vmap_mul_axis0"] = _tolist(jax.vmap(lambda r: scan(jnp.multiply, r))(x2))
    path = Path(__file__).with_name("associative_scan.json")
    path.write_text(json.dumps(out, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
