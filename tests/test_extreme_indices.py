"""Indices never wrap: the extreme-index table (int64/uint64 limits, int8 values that overflow
when normalised, big-endian index arrays) eagerly, under ``jit`` on ``cpu`` and ``ref`` (and on
``cuda`` through the fake driver with ``-m cuda``), against the clamp/drop/fill contract
(``_contract`` below, in exact Python integers) and against jax 0.10.2's recorded results.

JAX follows the same contract except where it converts an index to its int32 index dtype
(values beyond int32 wrap) or normalises a negative index in the index's own dtype (int8 -1 on
an axis of 200 wraps; JAX raises OverflowError where it cannot even form the axis size), and it
refuses big-endian index arrays (TypeError): ``test_jax_agrees_with_the_contract`` checks that
these are the only differences (docs/sharp-bits.md, "Indexing").
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
from funcgrad.backend.cuda import driver

import funcgrad as fg
import funcgrad.lax as lax
import funcgrad.numpy as fnp

DATA = Path(__file__).parent / "data"
_spec = importlib.util.spec_from_file_location("make_xi", DATA / "make_jax_extreme_indices.py")
_make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_make)
CASES = _make.cases()
JAX = json.loads((DATA / "jax_extreme_indices.json").read_text())["results"]


# ---- the contract, in exact integers -----------------------------------------------------------


def _wrap(v, dtype):
    """``v`` converted to ``dtype`` with two's-complement wrap-around (as a narrow cast)."""
    info = np.iinfo(np.dtype(dtype).newbyteorder("="))
    span = info.max - info.min + 1
    return (v - info.min) % span + info.min


def _normalise(v, n, dtype, jax_like=False):
    """A negative index counts from the end; ``jax_like``: in the index dtype, then int32."""
    if np.dtype(dtype).kind == "i" and v < 0:
        if jax_like:  # (jnp.take wraps the axis size into the dtype too)
            v = _wrap(v + _wrap(n, dtype), dtype)
        else:
            v = v + n
    return _wrap(v, np.int32) if jax_like else v


def _clamp(v, lo, hi):
    return min(max(v, lo), hi)


def _apply(x, j, op, clip):
    n = len(x)
    x = list(x)
    if clip:
        j = _clamp(j, 0, n - 1)
    if not 0 <= j < n:
        return x
    u = {"at_mul": 3.0, "at_min": -100.0}.get(op, 100.0)
    fn = {"at_set": lambda a: u, "at_add": lambda a: a + u, "at_mul": lambda a: a * u}
    fn.update({"at_min": lambda a: min(a, u), "at_max": lambda a: max(a, u)})
    x[j] = fn[op](x[j])
    return x


def _contract(case, jax_like=False):
    """The expected result (a list; ``jax_like``: as JAX computes it, wrapping)."""
    n, op, mode, v = case["n"], case["op"], case["mode"], case["value"]
    x = [float(k) for k in range(1, n + 1)]
    if op in ("take", "take_along_axis") and mode in ("clip", "wrap") and op == "take":
        raw = _wrap(v, np.int32) if jax_like and mode == "clip" else v
        return [x[_clamp(raw, 0, n - 1)]] if mode == "clip" else [x[v % n]]
    if op == "bincount":
        j = max(v, 0)
        j = _wrap(j, np.int32) if jax_like else j
        return [int(k == j) for k in range(n)]
    dtype = case["dtype"]
    if jax_like and op == "take_along_axis":  # JAX converts to int32 first, then normalises
        v, dtype = _wrap(v, np.int32), "int32"
    j = _normalise(v, n, dtype, jax_like)
    if op.startswith("dynamic"):
        size = 1 if op == "dynamic_index_in_dim" else 2
        s = _clamp(j, 0, n - size)
        if op == "dynamic_update_slice":
            return x[:s] + [100.0, 200.0] + x[s + 2 :]
        return x[s] if size == 1 else x[s : s + 2]
    if op in ("take", "take_along_axis") and mode in (None, "fill"):
        return [x[j] if 0 <= j < n else math.nan]
    if op == "at_get" and mode == "fill":
        return [x[j] if 0 <= j < n else -7.0]
    if op in ("getitem", "at_get", "take_along_axis"):
        return [x[_clamp(j, 0, n - 1)]]
    return _apply(x, j, op, mode == "clip")


# ---- funcgrad ----------------------------------------------------------------------------------


def _call(case, x, i):
    op, mode = case["op"], case["mode"]
    kw = {} if mode is None else {"mode": mode}
    if op == "dynamic_slice":
        return lax.dynamic_slice(x, (i,), (2,))
    if op == "dynamic_update_slice":
        return lax.dynamic_update_slice(x, fnp.array([100.0, 200.0], fnp.float32), (i,))
    if op == "dynamic_index_in_dim":
        return lax.dynamic_index_in_dim(x, i, 0, keepdims=False)
    if op == "dynamic_slice_in_dim":
        return lax.dynamic_slice_in_dim(x, i, 2, 0)
    if op == "getitem":
        return x[i]
    if op == "at_get":
        return x.at[i].get(**kw, **({"fill_value": -7.0} if mode == "fill" else {}))
    if op.startswith("at_"):
        upd = {"at_mul": 3.0, "at_min": -100.0}.get(op, 100.0)
        return getattr(x.at[i], op[3:])(upd, **kw)
    if op == "take":
        return fnp.take(x, i, **kw)
    if op == "take_along_axis":
        return fnp.take_along_axis(x, i, axis=0, **kw)
    assert op == "bincount"
    return fnp.bincount(i, length=len(x))


def _index(case):
    shape = () if case["op"].startswith("dynamic") else (1,)
    return np.full(shape, case["value"], dtype=case["dtype"])


def _run(case, backend):
    with fg.config.override(enable_x64=case["x64"]):
        x = fnp.arange(1, case["n"] + 1, dtype=fnp.float32)
        i = _index(case)
        if backend is None:
            out = _call(case, x, i)
        else:
            out = fg.jit(lambda x, i: _call(case, x, i), backend=backend)(x, i)
        return np.asarray(out)


def _same(got, want):
    return np.array_equal(np.asarray(got, np.float64), np.asarray(want, np.float64), equal_nan=True)


def _check(case, backend):
    want = _contract(case)
    got = _run(case, backend)
    if not _same(got, want):
        raise AssertionError(f"{got.tolist()} != {want}")
    if "dtype" in JAX[case["id"]] and np.dtype(case["dtype"]).isnative:
        assert str(got.dtype) == JAX[case["id"]]["dtype"], case["id"]


@pytest.mark.parametrize("backend", [None, "cpu", "ref"])
def test_extreme_indices_follow_the_contract(backend):
    bad = []
    for case in CASES:
        try:
            _check(case, backend)
        except Exception as e:  # noqa: BLE001  (every failure is listed)
            bad.append(f"{case['id']} on {backend}: {type(e).__name__}: {e}")
    assert not bad, f"{len(bad)} of {len(CASES)} cases differ:\n" + "\n".join(bad[:40])


@pytest.mark.cuda
@pytest.mark.skipif(
    not driver.cuda_available(), reason="needs a GPU (FUNCGRAD_FAKE_CUDA=1: the emulator)"
)
def test_extreme_indices_follow_the_contract_cuda():
    bad = []
    for case in CASES[::3]:  # every third case: the emulator is slow
        try:
            _check(case, "cuda")
        except Exception as e:  # noqa: BLE001
            bad.append(f"{case['id']}: {type(e).__name__}: {e}")
    assert not bad, "\n".join(bad[:40])


def test_jax_agrees_with_the_contract():
    """JAX's recorded results follow the contract except for the documented classes."""
    exact = deviations = 0
    for case in CASES:
        res, want = JAX[case["id"]], _contract(case)
        if not np.dtype(case["dtype"]).isnative and not _same(res.get("value"), want):
            # JAX refuses some non-native byte orders and misreads others (jnp.take reads the
            # bytes as native): funcgrad converts them
            swapped = {**case, "value": int(_index(case).view(case["dtype"][1:]).reshape(-1)[0])}
            assert res == {"error": "TypeError"} or any(
                _same(res["value"], _contract(swapped, j)) for j in (False, True)
            ), case["id"]
            deviations += 1
            continue
        if "error" in res:
            assert res["error"] == "OverflowError", case["id"]  # the axis size in the dtype
            assert case["n"] > np.iinfo(case["dtype"]).max, case["id"]
            deviations += 1
        elif _same(res["value"], want):
            exact += 1
        else:
            assert _same(res["value"], _contract(case, jax_like=True)), case["id"]
            assert case["n"] == 200 or not -(2**31) <= case["value"] < 2**31, case["id"]
            deviations += 1
    assert exact > 2 * deviations, (exact, deviations)  # 1087 and 377 with jax 0.10.2


# ---- the primitives themselves (lax.gather/scatter take any integer dtype) ----------------------

_RAW = [
    ("uint64", 2**64 - 1),
    ("uint64", 2**63),
    ("int64", 2**63 - 1),
    ("int64", -(2**63)),
    ("uint32", 2**32 - 1),
    ("int8", -128),
    (">i8", -1),
]


def _raw_ops(dtype, v):
    hi = 4 if np.dtype(dtype).kind == "u" or v > 0 else 0  # where "clip" puts the extreme one
    x = np.arange(1.0, 6.0, dtype=np.float32)
    upd = np.array([10.0, 20.0], np.float32)
    yield lambda x, i: fg.lax.gather(x, i, (0,)), [x[hi], 3.0]
    yield lambda x, i: fg.lax.gather(x, i, (0,), mode="fill", fill_value=-1.0), [-1.0, 3.0]
    dropped = x.copy()
    dropped[2] += 20
    yield lambda x, i: fg.lax.scatter_add(x, i, upd, (0,)), dropped
    clipped = dropped.copy()
    clipped[hi] += 10
    yield lambda x, i: fg.lax.scatter_add(x, i, upd, (0,), mode="clip"), clipped
    s = _clamp(v + 5 if v < 0 else v, 0, 3)  # a negative start counts from the end first
    yield lambda x, i: fg.lax.dynamic_slice(x, (i[0, 0],), (2,)), x[s : s + 2]


@pytest.mark.parametrize("backend", [None, "cpu", "ref"])
@pytest.mark.parametrize(("dtype", "v"), _RAW)
def test_primitives_take_any_index_dtype_without_wrapping(dtype, v, backend):
    with fg.config.override(enable_x64=True):
        x = fnp.arange(1, 6, dtype=fnp.float32)
        i = np.array([[v], [2]], dtype=dtype)  # one extreme row and one in range
        for k, (f, want) in enumerate(_raw_ops(dtype, v)):
            got = f(x, i) if backend is None else fg.jit(f, backend=backend)(x, i)
            assert _same(got, want), (k, np.asarray(got).tolist(), list(want))


@pytest.mark.cuda
@pytest.mark.skipif(
    not driver.cuda_available(), reason="needs a GPU (FUNCGRAD_FAKE_CUDA=1: the emulator)"
)
@pytest.mark.parametrize(("dtype", "v"), _RAW)
def test_primitives_take_any_index_dtype_without_wrapping_cuda(dtype, v):
    test_primitives_take_any_index_dtype_without_wrapping(dtype, v, "cuda")


def test_non_native_byte_orders_are_accepted_wherever_arrays_are():
    x = np.arange(4, dtype=">f4")
    for got in (fnp.asarray(x), fg.jit(lambda v: v * 2)(x) / 2, fg.device_put(x)):
        assert np.asarray(got).dtype.isnative and np.asarray(got).tolist() == [0, 1, 2, 3]
    y = fnp.arange(5.0)
    i = np.array([[1], [7]], ">i8")
    assert np.asarray(fg.lax.gather(y, i, (0,))).tolist() == [1.0, 4.0]
    assert np.asarray(fg.jit(lambda y, i: fg.lax.gather(y, i, (0,)))(y, i)).tolist() == [1.0, 4.0]
    assert np.asarray(y.at[np.array([1, 2], ">i2")].set(9.0)).tolist() == [0, 9, 9, 3, 4]
    start = np.array(-1, ">i4")
    assert np.asarray(fg.lax.dynamic_slice(y, (start,), (2,))).tolist() == [3.0, 4.0]
    assert np.asarray(fnp.bincount(np.array([1, 1, 3], ">u2"), length=4)).tolist() == [0, 2, 0, 1]
