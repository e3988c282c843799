"""Records jax 0.10.2's results for the extreme-index table of tests/test_extreme_indices.py.

Run once, in an environment with jax installed (never a test dependency):
    python tests/data/make_jax_extreme_indices.py
Writes jax_extreme_indices.json beside this file: {"jax_version", "results": {id: result}}
for the cases ``cases()`` lists (the test imports that table from here, numpy only), where
``result`` is {"value": nested list, "dtype": name} or {"error": exception type name}.

The operand is ``arange(1, n + 1)`` in float32; index arrays hold the one value ``value`` in
``dtype`` (a numpy dtype string, big-endian ones included, e.g. ">i8"); the ``dynamic_*`` ops
take it as a 0-d start. Updates: 100 (set/add/max), 3 (mul), -100 (min); the slice ops read or
write two elements (updates [100, 200]).
"""

import json
from pathlib import Path

import numpy as np

ARRAY_OPS = [
    ("getitem", None),
    ("at_get", None),
    ("at_get", "clip"),
    ("at_get", "fill"),
    ("at_get", "promise_in_bounds"),
    ("at_set", None),
    ("at_set", "drop"),
    ("at_set", "clip"),
    ("at_add", None),
    ("at_add", "clip"),
    ("at_mul", None),
    ("at_min", None),
    ("at_max", "drop"),
    ("take", None),
    ("take", "fill"),
    ("take", "clip"),
    ("take", "wrap"),
    ("take_along_axis", None),
    ("take_along_axis", "clip"),
    ("bincount", None),
]
START_OPS = [
    ("dynamic_slice", None),
    ("dynamic_update_slice", None),
    ("dynamic_index_in_dim", None),
    ("dynamic_slice_in_dim", None),
]

I64, U64 = np.iinfo(np.int64), np.iinfo(np.uint64)
VALUES = {
    "int8": [-128, 127, -1, -5, -6, 4, 5],
    "uint8": [255, 4, 5],
    "int16": [-32768, 32767],
    "uint16": [65535],
    "int32": [2**31 - 1, -(2**31), -1, 5],
    "uint32": [2**32 - 1, 2**31],
    "int64": [int(I64.max), int(I64.min), 2**31, 2**32 + 1, -(2**32) + 2],
    "uint64": [int(U64.max), 2**63, 2**32 + 1],
    ">i4": [-1, 2, 7],
    ">i8": [-1, 2, 2**40],
    ">u8": [int(U64.max)],
    "<i2": [-2],
}
# a long axis: int8 -1 normalised in int8 would wrap (-1 + 200 overflows int8)
VALUES_LONG = {"int8": [-1, -100, -128, 127], "uint8": [255, 199, 200]}
X64_OFF_DTYPES = ("int8", "uint8", "int32", "uint32", ">i4")


def cases():
    out = []
    for x64 in (True, False):
        for n, table in ((5, VALUES), (200, VALUES_LONG)):
            for dtype, values in table.items():
                if not x64 and dtype not in X64_OFF_DTYPES:
                    continue
                for op, mode in ARRAY_OPS + START_OPS:
                    if n == 200 and op not in (
                        "getitem",
                        "at_get",
                        "at_add",
                        "take",
                        "dynamic_slice",
                    ):
                        continue
                    for v in values:
                        cid = f"{op}-{mode}-n{n}-{dtype}-{v}-x64{int(x64)}"
                        out.append(
                            {
                                "id": cid,
                                "op": op,
                                "mode": mode,
                                "n": n,
                                "dtype": dtype,
                                "value": v,
                                "x64": x64,
                            }
                        )
    return out


def run(case, jnp, lax):
    n, mode = case["n"], case["mode"]
    x = jnp.arange(1, n + 1, dtype=jnp.float32)
    kw = {} if mode is None else {"mode": mode}
    op = case["op"]
    if op.startswith("dynamic"):
        s = np.array(case["value"], dtype=case["dtype"])
        if op == "dynamic_slice":
            return lax.dynamic_slice(x, (s,), (2,))
        if op == "dynamic_update_slice":
            return lax.dynamic_update_slice(x, jnp.array([100.0, 200.0], jnp.float32), (s,))
        if op == "dynamic_index_in_dim":
            return lax.dynamic_index_in_dim(x, s, 0, keepdims=False)
        return lax.dynamic_slice_in_dim(x, s, 2, 0)
    i = np.array([case["value"]], dtype=case["dtype"])
    if op == "getitem":
        return x[i]
    if op == "at_get":
        return x.at[i].get(**kw, **({"fill_value": -7.0} if mode == "fill" else {}))
    if op.startswith("at_"):
        upd = {"at_mul": 3.0, "at_min": -100.0}.get(op, 100.0)
        return getattr(x.at[i], op[3:])(upd, **kw)
    if op == "take":
        return jnp.take(x, i, **kw)
    if op == "take_along_axis":
        return jnp.take_along_axis(x, i, axis=0, **kw)
    if op == "bincount":
        return jnp.bincount(i, length=n)
    raise ValueError(op)


def main():
    import jax

    results = {}
    for case in cases():
        jax.config.update("jax_enable_x64", case["x64"])
        import jax.numpy as jnp
        from jax import lax

        try:
            r = run(case, jnp, lax)
            res = {"value": np.asarray(r).tolist(), "dtype": str(np.asarray(r).dtype)}
        except Exception as e:  # recorded: the test expects the same type
            res = {"error": type(e).__name__}
        results[case["id"]] = res
    path = Path(__file__).with_name("jax_extreme_indices.json")
    path.write_text(json.dumps({"jax_version": jax.__version__, "results": results}, indent=0))
    print(len(results), "cases written to", path)


if __name__ == "__main__":
    main()
