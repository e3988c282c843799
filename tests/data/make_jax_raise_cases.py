"""Records jax 0.10.2's outcomes for the malformed-input table of tests/support/raise_cases.py.

Run once, in an environment with jax installed (never a test dependency):
    python tests/data/make_jax_raise_cases.py
Writes jax_raise_cases.json beside this file: {"jax_version", "results": {case id: outcome}},
an outcome being ["ok", dtype, shape, values] or ["raise", [kinds], message] (JAX eagerly,
x64 off, as funcgrad's default), or ["missing"] where JAX has no such function.
"""

import importlib.util
import json
import warnings
from pathlib import Path

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location(
    "raise_cases", HERE.parent / "support" / "raise_cases.py"
)
rc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rc)


def main():
    import jax
    import jax.nn as jnn
    import jax.numpy as jnp
    from jax import lax

    spaces = {"numpy": jnp, "lax": lax, "nn": jnn}
    results = {}
    warnings.simplefilter("ignore")
    for case in rc.cases():
        out = rc.outcome(spaces, jax.jit, case, False)
        results[case[0]] = list(out) if out is not None else ["missing"]
    path = HERE / "jax_raise_cases.json"
    path.write_text(json.dumps({"jax_version": jax.__version__, "results": results}, indent=0))
    print(len(results), "cases written to", path)


if __name__ == "__main__":
    main()
