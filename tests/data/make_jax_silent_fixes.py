"""Records jax 0.10.2's results for the cases of tests/test_silent_fixes.py's JAX comparison.

Run once, in an environment with jax installed (never a test dependency), with JAX's default
threefry streams (jax_threefry_partitionable=True, funcgrad's default too):
python make_jax_silent_fixes.py
Writes jax_silent_fixes.json beside this file.
"""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as R
import numpy as np


def _shape_none(name, fn):
    try:
        return list(np.shape(fn()))
    except TypeError:
        return "TypeError"


def main():
    key = R.PRNGKey(0)
    logits = jnp.array([0.1, 1.0, -0.5, 2.0, 0.3, 0.0])
    a = jnp.array([[1.0, np.nan, 3.0], [4.0, 5.0, np.nan]])
    w = jnp.array([[True, False, True], [False, True, True]])
    u = jnp.array([3, 1, 2, 3, 1, 5, 5, 5])
    i8 = jnp.array([[100, 100], [100, 100]], dtype=jnp.int8)
    r = jnp.unique_counts(u, size=2)
    out = {
        "jax_version": jax.__version__,
        "categorical_no_replace": np.asarray(
            R.categorical(key, logits, shape=(4,), replace=False)
        ).tolist(),
        "categorical": np.asarray(R.categorical(key, logits, shape=(4,))).tolist(),
        "nansum": np.asarray(jnp.nansum(a, axis=1, initial=2.0, where=w)).tolist(),
        "nanmean": np.asarray(jnp.nanmean(a, axis=1, where=w)).tolist(),
        "nanmax": np.asarray(jnp.nanmax(a, axis=1, initial=-1.0, where=w)).tolist(),
        "unique_counts_size2": [np.asarray(r.values).tolist(), np.asarray(r.counts).tolist()],
        "dot_int8_to_int32": np.asarray(jnp.dot(i8, i8, preferred_element_type=jnp.int32)).tolist(),
        "shape_none": {
            "normal": _shape_none("normal", lambda: R.normal(key, shape=None)),
            "cauchy": _shape_none("cauchy", lambda: R.cauchy(key, shape=None)),
            "generalized_normal": _shape_none(
                "generalized_normal", lambda: R.generalized_normal(key, 2.0, shape=None)
            ),
            "weibull_min": _shape_none(
                "weibull_min", lambda: R.weibull_min(key, 1.0, 2.0, shape=None)
            ),
            "t": _shape_none("t", lambda: R.t(key, jnp.full(3, 4.0), shape=None)),
            "gamma": _shape_none("gamma", lambda: R.gamma(key, jnp.full((2, 3), 2.0), shape=None)),
        },
    }
    (Path(__file__).parent / "jax_silent_fixes.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
