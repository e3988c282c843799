"""Worker of ``tests/test_fuzz_public.py``: seeded random malformed calls of public
``funcgrad.numpy`` / ``lax`` / ``nn`` entry points, each run eagerly and under ``jit``.

``python fuzz_public.py SEED COUNT`` draws ``COUNT`` cases from ``numpy.random.default_rng(SEED)``
and prints one JSON line per case: ``{"case", "eager", "jit"}``, each outcome ``["ok", dtype,
shape]`` or ``["raise", exception type, clean]`` where ``clean`` says the exception is one a
caller can expect (TypeError, ValueError, IndexError or a subclass, with a message; or an
OverflowError for a Python number that does not fit the dtype). The parent
test checks the lines; a crash (a signal) or a hang (its timeout) fails it there.
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np

DTYPES = ["bool", "int8", "uint8", "int32", "uint32", "float16", "float32", "complex64", ">f4"]
# OverflowError: a Python number that does not fit the dtype (numpy and JAX raise it too)
CLEAN = (TypeError, ValueError, IndexError, OverflowError)

# (namespace, name, argument kinds); kinds: a array, i index-like int, n size-like int, x axis,
# X axes, s shape, S starts, f float, D dtype, L list of arrays, E einsum spec, P pad config
SIGS = (
    [
        ("numpy", n, "a")
        for n in "sin exp log sqrt abs floor round sign square tanh log1p isnan logical_not invert "
        "cumsum sort argsort ravel flip nan_to_num real angle diff unique_values".split()
    ]
    + [
        ("numpy", n, "ax")
        for n in "sum prod mean var std max min argmax any cumsum sort median ptp squeeze".split()
    ]
    + [
        ("numpy", n, "aa")
        for n in "add subtract multiply divide floor_divide power mod maximum arctan2 hypot "
        "bitwise_and left_shift logical_or equal less matmul dot outer kron where".split()
    ]
    + [
        ("numpy", "reshape", "as"),
        ("numpy", "broadcast_to", "as"),
        ("numpy", "zeros", "s"),
        ("numpy", "ones", "s"),
        ("numpy", "full", "sf"),
        ("numpy", "eye", "n"),
        ("numpy", "arange", "n"),
        ("numpy", "linspace", "ffn"),
        ("numpy", "tile", "an"),
        ("numpy", "repeat", "an"),
        ("numpy", "take", "aa"),
        ("numpy", "take_along_axis", "aax"),
        ("numpy", "expand_dims", "ax"),
        ("numpy", "moveaxis", "axx"),
        ("numpy", "swapaxes", "axx"),
        ("numpy", "roll", "aix"),
        ("numpy", "pad", "an"),
        ("numpy", "split", "an"),
        ("numpy", "clip", "aff"),
        ("numpy", "searchsorted", "aa"),
        ("numpy", "bincount", "a"),
        ("numpy", "concatenate", "Lx"),
        ("numpy", "stack", "Lx"),
        ("numpy", "einsum", "Eaa"),
        ("lax", "add", "aa"),
        ("lax", "mul", "aa"),
        ("lax", "div", "aa"),
        ("lax", "rem", "aa"),
        ("lax", "max", "aa"),
        ("lax", "sin", "a"),
        ("lax", "exp", "a"),
        ("lax", "neg", "a"),
        ("lax", "reduce_sum", "aX"),
        ("lax", "reduce_max", "aX"),
        ("lax", "reshape", "as"),
        ("lax", "transpose", "aX"),
        ("lax", "squeeze", "aX"),
        ("lax", "expand_dims", "aX"),
        ("lax", "rev", "aX"),
        ("lax", "cumsum", "ax"),
        ("lax", "sort", "a"),
        ("lax", "top_k", "an"),
        ("lax", "iota", "Dn"),
        ("lax", "full", "sf"),
        ("lax", "broadcast_in_dim", "asX"),
        ("lax", "dynamic_slice", "aSs"),
        ("lax", "dynamic_update_slice", "aaS"),
        ("lax", "dynamic_index_in_dim", "aix"),
        ("lax", "convert_element_type", "aD"),
        ("lax", "integer_pow", "ai"),
        ("lax", "clamp", "aaa"),
        ("lax", "select", "aaa"),
        ("lax", "pad", "afP"),
        ("lax", "dot", "aa"),
        ("nn", "relu", "a"),
        ("nn", "sigmoid", "a"),
        ("nn", "gelu", "a"),
        ("nn", "softmax", "ax"),
        ("nn", "log_softmax", "ax"),
        ("nn", "logsumexp", "ax"),
        ("nn", "one_hot", "an"),
        ("nn", "standardize", "ax"),
        ("nn", "glu", "ax"),
        ("nn", "leaky_relu", "af"),
    ]
)


def _shape(rng):
    return tuple(int(d) for d in rng.integers(0, 4, rng.integers(0, 4)))


def _array(rng):
    dt = np.dtype(DTYPES[rng.integers(len(DTYPES))])
    shape = _shape(rng)
    k = rng.integers(0, 6)
    if k == 0:  # extreme values of the dtype
        info = np.iinfo(dt) if dt.kind in "iu" else None
        vals = [info.min, info.max] if info else [np.nan, np.inf, -np.inf, 0]
        return np.asarray(rng.choice(vals, shape) if dt.kind != "b" else True).astype(dt)
    return (rng.standard_normal(shape) * 5).astype(dt)


def _int(rng):
    """An index-like int: extremes included (they must clamp, never wrap)."""
    return [-(2**40), -7, -1, 0, 1, 2, 3, 2**31, 2.5, None, "3"][rng.integers(11)]


def _size(rng):
    """A size-like int: malformed, but never a legitimately huge request."""
    return [-7, -1, 0, 1, 2, 3, 2.5, None, "3", np.int8(2)][rng.integers(10)]


def _axis(rng):
    return [0, 1, -1, 2, 3, -4, 5, None, (0, 0), (0, 1), 1.0][rng.integers(11)]


def _shape_arg(rng):
    return [(), (2,), (3,), (-1,), (2, -3), (2.5,), (None,), (0,), (1, 3), "a"][rng.integers(10)]


def _arg(rng, kind):
    gen = {
        "a": lambda: _array(rng),
        "i": lambda: _int(rng),
        "n": lambda: _size(rng),
        "x": lambda: _axis(rng),
        "X": lambda: _axis(rng) if rng.integers(2) else (0,),
        "s": lambda: _shape_arg(rng),
        "S": lambda: tuple(_int(rng) for _ in range(rng.integers(0, 3))),
        "f": lambda: [0.5, -1.0, np.nan, np.inf, 1e40, "x", None][rng.integers(7)],
        "D": lambda: [np.float32, np.int8, "U8", np.complex64, bool, None][rng.integers(6)],
        "L": lambda: [_array(rng) for _ in range(rng.integers(0, 3))],
        "E": lambda: ["ij,jk->ik", "i,i->", "ii->i", "ij->k", "...,..."][rng.integers(5)],
        "P": lambda: tuple((int(a), int(b), int(c)) for a, b, c in rng.integers(-2, 3, (2, 3))),
    }
    return gen[kind]()


def _summary(out):
    if isinstance(out, (tuple, list)):
        out = out[0] if out else np.zeros(0)
    arr = np.asarray(out)
    return ["ok", str(arr.dtype), list(arr.shape)]


def _error(e):
    clean = isinstance(e, CLEAN) and bool(str(e).strip())
    return ["raise", type(e).__name__, clean, str(e)[:160]]


def run_case(spaces, jit, fn, args, use_jit):
    arrays = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]

    def call(*xs):
        full = list(args)
        for i, x in zip(arrays, xs):
            full[i] = x
        return fn(*full)

    try:
        if use_jit:
            return _summary(jit(call)(*[args[i] for i in arrays]))
        return _summary(call(*[args[i] for i in arrays]))
    except Exception as e:  # noqa: BLE001  (the outcome is the point)
        return _error(e)


def main(seed: int, count: int, dry: bool = False):
    import funcgrad as fg
    import funcgrad.lax as flax
    import funcgrad.nn as fnn
    import funcgrad.numpy as fnp

    spaces = {"numpy": fnp, "lax": flax, "nn": fnn}
    rng = np.random.default_rng(seed)
    warnings.simplefilter("ignore")
    for k in range(count):
        ns, name, kinds = SIGS[rng.integers(len(SIGS))]
        args = [_arg(rng, c) for c in kinds]
        fn = getattr(spaces[ns], name)
        desc = f"{ns}.{name}({', '.join(_describe(a) for a in args)})"
        if dry:  # only the case list (to find one that a signal killed)
            print(f"{seed}/{k} {desc}")
            continue
        eager = run_case(spaces, fg.jit, fn, args, False)
        jitted = run_case(spaces, fg.jit, fn, args, True)
        print(json.dumps({"case": f"{seed}/{k} {desc}", "eager": eager, "jit": jitted}), flush=True)
        if k % 20 == 19:
            fg.clear_caches()


def _describe(a):
    if isinstance(a, np.ndarray):
        return f"{a.dtype.str}{list(a.shape)}"
    if isinstance(a, list):
        return "[" + ", ".join(_describe(x) for x in a) + "]"
    return repr(a)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), "--list" in sys.argv)
