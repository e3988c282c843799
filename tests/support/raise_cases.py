"""Eager versus ``jit`` on malformed inputs: a differential table over the public
``numpy``, ``lax`` and ``nn`` functions (issue 17.5).

Each case is ``(namespace, function name, args, kwargs)`` in plain data (numpy only here, so
``tests/data/make_jax_raise_cases.py`` runs the same table under JAX): an argument string
``"@f32[2,3]"`` is an array of that dtype and shape (deterministic values, zeros included), a
list of such strings a list of arrays; anything else is passed as is (a static argument).
:func:`outcome` runs a case eagerly or under ``jit`` (array arguments traced, the rest closed
over) and reports ``("ok", dtype, shape, values)`` or ``("raise", exception type names)``.

Run it as a script to print every disagreement (eager vs jit, and vs the recorded JAX
outcomes): ``python tests/support/raise_cases.py``. ``tests/test_eager_jit_raise.py`` asserts
there are none beyond the documented ones (``KNOWN`` there, docs/sharp-bits.md).
"""

from __future__ import annotations

import re

import numpy as np

_DT = {
    "bool": np.bool_,
    "i8": np.int8,
    "u8": np.uint8,
    "i16": np.int16,
    "i32": np.int32,
    "u32": np.uint32,
    "f16": np.float16,
    "f32": np.float32,
    "c64": np.complex64,
}


def make_array(spec: str) -> np.ndarray:
    """``"@f32[2,3]"`` -> a deterministic array (small values, zeros and negatives included)."""
    m = re.fullmatch(r"@(\w+)\[([\d,]*)\]", spec)
    dt = np.dtype(_DT[m.group(1)])
    shape = tuple(int(d) for d in m.group(2).split(",") if d)
    k = np.arange(int(np.prod(shape, dtype=np.int64)))
    if dt.kind == "b":
        v = k % 2 == 0
    elif dt.kind == "u":
        v = k % 5
    elif dt.kind == "i":
        v = k % 5 - 2
    elif dt.kind == "c":
        v = (k % 5 - 2) * 0.75 + 0.5j
    else:
        v = (k % 7 - 3) * 0.75
    return np.asarray(v, dt).reshape(shape)


def _is_spec(a) -> bool:
    return isinstance(a, str) and a.startswith("@")


# ---- the table ---------------------------------------------------------------------------------

BAD1 = ["@bool[3]", "@c64[3]", "@i8[3]", "@u8[3]", "@f16[3]", "@f32[0]", "@f32[]", "@i32[2,0]"]
UNARY = """sin cos tan exp log sqrt abs floor ceil round sign negative positive reciprocal square
tanh arcsin log1p expm1 exp2 log2 rint trunc fabs signbit isnan isinf isfinite logical_not
invert conj real imag angle deg2rad cbrt sinc nan_to_num arctan sinh cosh log10 radians
""".split()
REDUCE = """sum prod mean var std max min argmax argmin all any cumsum cumprod sort argsort median
ptp nansum nanmean nanmax count_nonzero average nanstd amax""".split()
BAD_REDUCE = [
    (("@bool[3]",), {}),
    (("@c64[3]",), {}),
    (("@f32[0]",), {}),
    (("@f32[2,0]",), {"axis": 1}),
    (("@f32[2,3]",), {"axis": 2}),
    (("@f32[2,3]",), {"axis": -3}),
    (("@f32[2,3]",), {"axis": (0, 0)}),
    (("@i8[3]",), {}),
    (("@f32[2,3]",), {"axis": 1.0}),
]
BINARY = """add subtract multiply divide floor_divide power mod maximum minimum arctan2 hypot
bitwise_and left_shift right_shift logical_and equal less copysign heaviside fmod remainder
true_divide ldexp gcd lcm float_power nextafter logaddexp matmul dot outer kron
""".split()
BAD2 = [
    ("@f32[3]", "@f32[4]"),
    ("@bool[3]", "@bool[3]"),
    ("@c64[3]", "@i32[3]"),
    ("@i8[3]", "@u8[3]"),
    ("@i32[5]", "@i32[5]"),
    ("@f32[0]", "@f32[1]"),
    ("@u32[3]", "@i32[3]"),
    ("@f32[]", "@f32[]"),
    ("@f16[3]", "@i32[3]"),
]


def _numpy_cases():
    out = [("numpy", f, (a,), {}) for f in UNARY for a in BAD1]
    out += [("numpy", f, a, k) for f in REDUCE for a, k in BAD_REDUCE]
    out += [("numpy", f, a, {}) for f in BINARY for a in BAD2]
    x, m = "@f32[3]", "@f32[2,3]"
    shapes = [(-1,), (2.5,), (2, -3), "a", (2, None)]
    out += [("numpy", f, (s,), {}) for f in ("zeros", "ones", "empty") for s in shapes]
    out += [("numpy", "full", (s, 1.0), {}) for s in shapes]
    out += [
        ("numpy", "arange", (-3,), {}),
        ("numpy", "arange", (0, 5, 0), {}),
        ("numpy", "arange", (2.5,), {}),
        ("numpy", "linspace", (0.0, 1.0, -1), {}),
        ("numpy", "linspace", (0.0, 1.0, 2.5), {}),
        ("numpy", "eye", (-1,), {}),
        ("numpy", "identity", (-2,), {}),
        ("numpy", "tri", (-1,), {}),
        ("numpy", "reshape", (x, (-2,)), {}),
        ("numpy", "reshape", (x, (4,)), {}),
        ("numpy", "reshape", (x, (3.0,)), {}),
        ("numpy", "reshape", (x, (-1, -1)), {}),
        ("numpy", "transpose", (m, (0, 0)), {}),
        ("numpy", "transpose", (m, (0,)), {}),
        ("numpy", "squeeze", (m,), {"axis": 0}),
        ("numpy", "expand_dims", (x, 5), {}),
        ("numpy", "swapaxes", (m, 0, 3), {}),
        ("numpy", "moveaxis", (m, 0, 4), {}),
        ("numpy", "broadcast_to", (m, (2,)), {}),
        ("numpy", "broadcast_to", (x, (-1,)), {}),
        ("numpy", "tile", (x, -1), {}),
        ("numpy", "repeat", (x, -1), {}),
        ("numpy", "repeat", (x, 2), {"axis": 3}),
        ("numpy", "split", (x, 2), {}),
        ("numpy", "split", (x, 0), {}),
        ("numpy", "concatenate", ([x, m],), {}),
        ("numpy", "concatenate", ([x, x],), {"axis": 1}),
        ("numpy", "concatenate", ([],), {}),
        ("numpy", "stack", ([x, "@f32[4]"],), {}),
        ("numpy", "stack", ([],), {}),
        ("numpy", "flip", (x, 3), {}),
        ("numpy", "roll", (x, 1), {"axis": 3}),
        ("numpy", "rot90", (x,), {}),
        ("numpy", "diag", ("@f32[2,2,2]",), {}),
        ("numpy", "trace", (x,), {}),
        ("numpy", "triu", ("@f32[]",), {}),
        ("numpy", "pad", (x, -1), {}),
        ("numpy", "pad", (x, ((1, 2), (3, 4))), {}),
        ("numpy", "take", (x, "@f32[2]"), {}),
        ("numpy", "take", (x, "@i32[2]"), {"axis": 3}),
        ("numpy", "take_along_axis", (m, "@i32[2]"), {"axis": 0}),
        ("numpy", "where", ("@f32[3]", x, x), {}),
        ("numpy", "where", ("@bool[2]", x, x), {}),
        ("numpy", "clip", (x, 2.0, 1.0), {}),
        ("numpy", "searchsorted", (m, x), {}),
        ("numpy", "cross", ("@f32[2]", "@f32[4]"), {}),
        ("numpy", "tensordot", (x, x), {"axes": 2}),
        ("numpy", "einsum", ("ij,j->i", m, "@f32[4]"), {}),
        ("numpy", "diff", (x,), {"n": -1}),
        ("numpy", "diff", ("@f32[]",), {}),
        ("numpy", "cumsum", (x,), {"axis": 2}),
        ("numpy", "histogram", (x,), {"bins": -1}),
        ("numpy", "percentile", (x, 150.0), {}),
        ("numpy", "quantile", (x, 2.0), {}),
        ("numpy", "convolve", ("@f32[0]", x), {}),
        ("numpy", "polyval", ("@f32[0]", x), {}),
        ("numpy", "unravel_index", ("@i32[3]", (2, 2)), {}),
        ("numpy", "ravel_multi_index", (("@i32[3]", "@i32[3]"), (2, 2)), {}),
        ("numpy", "linalg.inv", ("@f32[2,3]",), {}),
        ("numpy", "linalg.det", ("@f32[3]",), {}),
        ("numpy", "linalg.norm", (m,), {"ord": 3}),
        ("numpy", "linalg.solve", ("@f32[2,2]", "@f32[3]"), {}),
        ("numpy", "argmax", ("@f32[0]",), {}),
        ("numpy", "max", ("@f32[0]",), {}),
        ("numpy", "mean", ("@f32[0]",), {}),
        ("numpy", "astype", (x, "U8"), {}),
        ("numpy", "array_split", (x, 0), {}),
        ("numpy", "interp", (x, "@f32[2]", "@f32[3]"), {}),
        ("numpy", "bincount", ("@f32[3]",), {"length": 3}),
        ("numpy", "bincount", ("@i32[3]",), {"length": -1}),
        ("numpy", "isclose", ("@c64[3]", x), {}),
        ("numpy", "round", (x,), {"decimals": 2.5}),
        ("numpy", "full_like", (x, 1.0), {"shape": (-1,)}),
        ("numpy", "zeros_like", (x,), {"dtype": "U8"}),
    ]
    return out


LAX = [
    ("add", ("@f32[3]", "@i32[3]"), {}),
    ("add", ("@f32[3]", "@f32[4]"), {}),
    ("sub", ("@bool[3]", "@bool[3]"), {}),
    ("mul", ("@c64[3]", "@f32[3]"), {}),
    ("div", ("@i32[5]", "@i32[5]"), {}),
    ("rem", ("@i32[5]", "@i32[5]"), {}),
    ("div", ("@u8[5]", "@u8[5]"), {}),
    ("rem", ("@f32[5]", "@f32[5]"), {}),
    ("shift_left", ("@i32[5]", "@i32[5]"), {}),
    ("shift_right_logical", ("@i32[5]", "@i32[5]"), {}),
    ("shift_right_arithmetic", ("@i8[5]", "@i8[5]"), {}),
    ("pow", ("@i32[3]", "@i32[3]"), {}),
    ("integer_pow", ("@i32[3]", -1), {}),
    ("integer_pow", ("@f32[3]", 2.5), {}),
    ("sin", ("@i32[3]",), {}),
    ("sqrt", ("@bool[3]",), {}),
    ("exp", ("@i8[3]",), {}),
    ("erf", ("@c64[3]",), {}),
    ("neg", ("@bool[3]",), {}),
    ("neg", ("@u8[3]",), {}),
    ("abs", ("@c64[3]",), {}),
    ("sign", ("@u8[3]",), {}),
    ("floor", ("@i32[3]",), {}),
    ("round", ("@i32[3]",), {}),
    ("not_", ("@f32[3]",), {}),
    ("bitwise_not", ("@f32[3]",), {}),
    ("population_count", ("@f32[3]",), {}),
    ("max", ("@f32[3]", "@i32[3]"), {}),
    ("reduce_sum", ("@f32[2,3]", (2,)), {}),
    ("reduce_max", ("@f32[0]", (0,)), {}),
    ("reduce_max", ("@i32[0]", (0,)), {}),
    ("argmax", ("@f32[2,3]", 3, np.int32), {}),
    ("argmax", ("@f32[0]", 0, np.int32), {}),
    ("cumsum", ("@bool[3]",), {}),
    ("cumsum", ("@f32[3]",), {"axis": 2}),
    ("sort", ("@c64[3]",), {}),
    ("sort", ("@f32[2,3]",), {"dimension": 2}),
    ("top_k", ("@f32[3]", -1), {}),
    ("top_k", ("@f32[3]", 10), {}),
    ("top_k", ("@f32[]", 1), {}),
    ("dynamic_slice", ("@f32[3]", (0,), (5,)), {}),
    ("dynamic_slice", ("@f32[3]", (0, 0), (1,)), {}),
    ("dynamic_slice", ("@f32[3]", ("@f32[]",), (1,)), {}),
    ("dynamic_update_slice", ("@f32[3]", "@i32[1]", (0,)), {}),
    ("dynamic_update_slice", ("@f32[3]", "@f32[5]", (0,)), {}),
    ("reshape", ("@f32[3]", (-1,)), {}),
    ("reshape", ("@f32[3]", (4,)), {}),
    ("broadcast_in_dim", ("@f32[3]", (2, 3), (5,)), {}),
    ("broadcast_in_dim", ("@f32[3]", (2, 4), (1,)), {}),
    ("transpose", ("@f32[2,3]", (1,)), {}),
    ("slice", ("@f32[3]", (2,), (1,)), {}),
    ("slice", ("@f32[3]", (0,), (5,)), {}),
    ("pad", ("@f32[3]", 0.0, ((-5, 0, 0),)), {}),
    ("pad", ("@f32[3]", 0.0, ((0, 0, -1),)), {}),
    ("concatenate", (["@f32[3]", "@i32[3]"], 0), {}),
    ("concatenate", (["@f32[3]", "@f32[2,2]"], 0), {}),
    ("convert_element_type", ("@f32[3]", "U8"), {}),
    ("convert_element_type", ("@c64[3]", np.float32), {}),
    ("convert_element_type", ("@f32[3]", np.int8), {}),
    ("clamp", ("@f32[]", "@f32[3]", "@i32[]"), {}),
    ("clamp", ("@f32[2]", "@f32[3]", "@f32[]"), {}),
    ("select", ("@f32[3]", "@f32[3]", "@f32[3]"), {}),
    ("select", ("@bool[2]", "@f32[3]", "@f32[3]"), {}),
    ("iota", (np.float32, -1), {}),
    ("full", ((-1,), 0.0), {}),
    ("full", ((2,), "@f32[3]"), {}),
    ("expand_dims", ("@f32[3]", (5,)), {}),
    ("squeeze", ("@f32[2,3]", (0,)), {}),
    ("rev", ("@f32[3]", (3,)), {}),
    ("dot", ("@f32[3]", "@f32[4]"), {}),
    ("dot", ("@i32[3]", "@f32[3]"), {}),
    ("dot_general", ("@f32[2,3]", "@f32[3,2]", (((0,), (0,)), ((), ()))), {}),
    ("atan2", ("@f32[3]", "@f64x[3]"), {}),
    ("nextafter", ("@i32[3]", "@i32[3]"), {}),
    ("complex", ("@f32[3]", "@i32[3]"), {}),
    ("bitcast_convert_type", ("@f32[3]", np.int16), {}),
    ("reduce_and", ("@f32[3]", (0,)), {}),
    ("cummax", ("@bool[3]",), {}),
    ("is_finite", ("@i32[3]",), {}),
    ("lgamma", ("@i32[3]",), {}),
    ("tanh", ("@c64[3]",), {}),
]

NN1 = """relu relu6 sigmoid softplus gelu silu elu leaky_relu tanh softmax log_softmax logsumexp
standardize glu log_sigmoid hard_tanh celu selu mish soft_sign hard_sigmoid normalize""".split()
BAD_NN = ["@bool[3]", "@i32[3]", "@c64[3]", "@f32[0]", "@u8[3]", "@f16[3]"]


def _nn_cases():
    out = [("nn", f, (a,), {}) for f in NN1 for a in BAD_NN]
    out += [("nn", f, ("@f32[2,3]",), {"axis": 5}) for f in ("softmax", "log_softmax", "glu")]
    out += [
        ("nn", "one_hot", ("@f32[3]", 3), {}),
        ("nn", "one_hot", ("@i32[3]", -1), {}),
        ("nn", "one_hot", ("@i32[3]", 2.5), {}),
        ("nn", "one_hot", ("@bool[3]", 2), {}),
        ("nn", "one_hot", ("@i32[3]", 3), {"axis": 4}),
        ("nn", "glu", ("@f32[2,3]",), {}),
        ("nn", "leaky_relu", ("@f32[3]", "@f32[2]"), {}),
    ]
    return out


def cases() -> list:
    """Every case, each ``(id, namespace, function, args, kwargs)``."""
    raw = _numpy_cases() + [("lax", f, a, k) for f, a, k in LAX] + _nn_cases()
    out, seen = [], {}
    for ns, f, a, k in raw:
        base = (
            f"{ns}.{f}({', '.join(map(_short, a))}{''.join(f', {n}={v!r}' for n, v in k.items())})"
        )
        seen[base] = seen.get(base, 0) + 1
        cid = base if seen[base] == 1 else f"{base}#{seen[base]}"
        out.append((cid, ns, f, a, k))
    return out


def _short(a) -> str:
    if _is_spec(a):
        return a[1:]
    if isinstance(a, (list, tuple)) and any(_is_spec(x) for x in a):
        inner = ", ".join(_short(x) for x in a)
        return f"[{inner}]" if isinstance(a, list) else f"({inner})"
    if isinstance(a, type):
        return a.__name__
    return repr(a)


# ---- running a case ----------------------------------------------------------------------------


def resolve(namespaces: dict, ns: str, name: str):
    """The function ``ns.name`` (``name`` may be dotted: ``linalg.inv``), or None."""
    obj = namespaces[ns]
    for part in name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _materialise(a, leaves: list):
    """Arguments with array specs replaced: arrays collected into ``leaves`` (by position)."""
    if _is_spec(a):
        if a.startswith("@f64x"):  # (a float64 numpy array: canonicalised by the library)
            a = "@f32" + a[5:]
            leaves.append(make_array(a).astype(np.float64))
        else:
            leaves.append(make_array(a))
        return ("__leaf__", len(leaves) - 1)
    if isinstance(a, (list, tuple)) and any(_is_spec(x) for x in a):
        return type(a)(_materialise(x, leaves) for x in a)
    return a


def _fill(a, leaves):
    if isinstance(a, tuple) and len(a) == 2 and a[0] == "__leaf__":
        return leaves[a[1]]
    if isinstance(a, (list, tuple)):
        return type(a)(_fill(x, leaves) for x in a)
    return a


def _summary(out) -> tuple:
    arr = np.asarray(out)
    vals = arr.astype(np.complex128) if arr.dtype.kind in "biufc" else None
    vals = None if vals is None or arr.size > 64 else [[z.real, z.imag] for z in vals.ravel()]
    return ("ok", str(arr.dtype), list(arr.shape), vals)


def _error(e: BaseException) -> tuple:
    names = [c.__name__ for c in type(e).__mro__ if c.__name__ in _KINDS]
    return ("raise", names or [type(e).__name__], f"{type(e).__name__}: {str(e)[:200]}")


_KINDS = ("TypeError", "ValueError", "IndexError", "NotImplementedError", "ZeroDivisionError")


def outcome(namespaces: dict, jit, case, use_jit: bool) -> tuple | None:
    """Run one case: ``("ok", dtype, shape, values)`` or ``("raise", kinds, message)``; None
    when the function does not exist in this library."""
    _, ns, name, args, kwargs = case
    fn = resolve(namespaces, ns, name)
    if fn is None:
        return None
    leaves: list = []
    args = _materialise(args, leaves)
    try:
        if not use_jit:
            out = fn(*_fill(args, leaves), **kwargs)
        else:
            out = jit(lambda *xs: fn(*_fill(args, list(xs)), **kwargs))(*leaves)
        if isinstance(out, (tuple, list)):
            out = out[0] if out else np.zeros(0)
        return _summary(out)
    except Exception as e:  # noqa: BLE001  (recorded: the comparison is the point)
        return _error(e)


def agree(a: tuple, b: tuple) -> bool:
    """Both raise a common kind (TypeError/ValueError/IndexError/...), or both return the
    same dtype and shape with the same values (NaN equal to NaN)."""
    if a[0] != b[0]:
        return False
    if a[0] == "raise":
        return bool(set(a[1]) & set(b[1]))
    if a[1:3] != b[1:3]:
        return False
    if a[3] is None or b[3] is None:
        return True
    x, y = np.asarray(a[3], np.float64), np.asarray(b[3], np.float64)
    return bool(np.allclose(x, y, rtol=2e-3, atol=1e-5, equal_nan=True))


def _main():  # pragma: no cover  (the differential report)
    import json
    import sys
    from pathlib import Path

    import funcgrad as fg
    import funcgrad.lax as flax
    import funcgrad.nn as fnn
    import funcgrad.numpy as fnp

    spaces = {"numpy": fnp, "lax": flax, "nn": fnn}
    path = Path(__file__).parents[1] / "data" / "jax_raise_cases.json"
    jax = json.loads(path.read_text())["results"] if path.exists() else {}
    n_bad = 0
    for case in cases():
        e = outcome(spaces, fg.jit, case, False)
        if e is None:
            continue
        j = outcome(spaces, fg.jit, case, True)
        ref = jax.get(case[0])
        why = []
        if not agree(e, j):
            why.append(f"eager {e[:3]} / jit {j[:3]}")
        if ref and ref[0] != "missing" and not agree_with_jax(e, tuple(ref)):
            why.append(f"funcgrad {e[:3]} / jax {tuple(ref)[:3]}")
        if why:
            n_bad += 1
            print(case[0], "\n   ", "\n    ".join(why))
    print(n_bad, "disagreements", file=sys.stderr)


def agree_with_jax(ours: tuple, jax: tuple) -> bool:
    """Against JAX: the same raising kind, or the same dtype and shape (values aside)."""
    if ours[0] != jax[0]:
        return False
    if ours[0] == "raise":
        return bool(set(ours[1]) & set(jax[1]))
    return list(ours[1:3]) == list(jax[1:3])


if __name__ == "__main__":
    _main()
