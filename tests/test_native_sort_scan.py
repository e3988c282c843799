"""Native CPU op kernels for sort, cumsum and argmax/argmin (backend/cpu/ops/sort_scan.py).

Everything goes through the public API under ``jit`` and is compared with eager evaluation
(the numpy ``impl_rules``) on fresh random inputs full of ties, NaNs of both signs, -0.0 and
infinities. The kernels reproduce the impl bit for bit (sort moves values; cumsum adds in
numpy's sequential order), so the comparison is on the bytes. Each jitted function takes a
tuple of inputs of several shapes, so one compilation covers many cases; every supported case
asserts that the equation ran as a native op kernel with no numpy FALLBACK.
"""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.config import config
from funcgrad.metrics import Accuracy

F32, F64, I32, I64, BOOL, U8 = np.float32, np.float64, np.int32, np.int64, np.bool_, np.uint8
DTYPES = [F32, F64, I32, I64, BOOL, U8]
# (shape, axis): odd sizes, size-0 and size-1 axes, middle axes (strided rows)
SHAPES = [
    ((7,), 0),
    ((3, 5), 1),
    ((3, 5), 0),
    ((2, 33, 4), 1),
    ((1,), 0),
    ((4, 1), 1),
    ((0, 3), 1),
    ((3, 0), 1),
    ((5, 2, 0), 0),
    ((37,), 0),
    ((2, 3, 300), 1),
]
# the geometry code does not depend on the dtype: other dtypes get fewer shapes (compile time)
FEW = [((3, 37), 1), ((2, 5, 3), 1), ((4, 1), 1), ((0, 3), 1)]


def _shapes(dtype):
    return SHAPES if np.dtype(dtype) == np.float32 else FEW


pytestmark = pytest.mark.usefixtures("strict_jit")


def _rand(rng, shape, dtype):
    """Few distinct values (many ties); floats also get NaN, -NaN, +-0.0 and +-inf."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind == "u":
        return rng.integers(0, 6, shape).astype(dt)
    if dt.kind == "i":
        return rng.integers(-5, 6, shape).astype(dt)
    x = rng.integers(-4, 5, shape).astype(dt)
    u = rng.random(shape)
    x[u < 0.08] = np.nan
    x[(u >= 0.08) & (u < 0.12)] = -np.nan
    x[(u >= 0.12) & (u < 0.2)] = -0.0
    x[(u >= 0.2) & (u < 0.24)] = np.inf
    x[(u >= 0.24) & (u < 0.27)] = -np.inf
    return x


def _bits(a):
    a = np.ascontiguousarray(np.asarray(a))
    return a.view(f"u{a.dtype.itemsize}") if a.dtype.kind == "f" and a.ndim else a


def _assert_same(out, ref):
    out, ref = list(out), list(ref)
    assert len(out) == len(ref)
    for o, r in zip(out, ref):
        o, r = np.asarray(o), np.asarray(r)
        assert o.dtype == r.dtype and o.shape == r.shape, (o.dtype, o.shape, r.dtype, r.shape)
        np.testing.assert_array_equal(_bits(o), _bits(r))


def _check(fn, args, prims, native=True, threaded=False):
    """jit(fn)(*args) == fn(*args) bit for bit; each of ``prims`` runs as a native op kernel
    (and, with ``native``, nothing falls back to numpy; with ``threaded``, the kernels split
    their work over threads)."""
    jf = fg.jit(fn)
    lowered = jf.lower(*args)
    text = lowered.as_text("kernels")
    for p in prims:
        assert f"op {p}(" in text, text
    if native:
        assert "FALLBACK" not in text, text
    if threaded:
        assert ".pfor" in lowered.as_text("llvm")
    with np.errstate(all="ignore"):  # inf - inf in eager cumsums
        ref = fn(*args)
    _assert_same(jf(*args), ref)
    return text


def _inputs(seed, dtype, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return tuple(_rand(rng, s, dtype) for s, _ in shapes)


# ---- sort ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_sort_matches_eager(dtype):
    shapes = _shapes(dtype)
    f = lambda xs: [fnp.sort(x, ax) for x, (_, ax) in zip(xs, shapes)]
    for seed in (0, 1):
        _check(f, (_inputs(seed, dtype, shapes),), ["sort"])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_argsort_matches_eager(dtype):
    shapes = _shapes(dtype)
    f = lambda xs: [fnp.argsort(x, ax) for x, (_, ax) in zip(xs, shapes)]
    _check(f, (_inputs(2, dtype, shapes),), ["sort"])


def test_sort_descending_and_flat():
    f = lambda xs: (
        [fnp.sort(x, ax, descending=True) for x, (_, ax) in zip(xs, SHAPES)]
        + [fnp.sort(xs[1], axis=None), fnp.argsort(xs[3], axis=None)]
    )
    _check(f, (_inputs(3, F32),), ["sort"])


def test_sort_multiple_operands_and_keys():
    rng = np.random.default_rng(4)
    geometry = [((40,), 0), ((9, 2, 3), 0), ((0, 4), 1)]
    cases = tuple(
        tuple(_rand(rng, shape, dt) for dt in (F32, I32, BOOL, F64)) for shape, _ in geometry
    )

    def f(cases):
        outs = []
        for (a, b, c, d), (_, ax) in zip(cases, geometry):
            outs += lax.sort((a, b, c, d), ax, num_keys=1)
            outs += lax.sort((b, a, d, c), ax, num_keys=2)
            outs += lax.sort((c, a, b, d), ax, num_keys=3, is_stable=False)
            outs += lax.sort((d, a, b, c), ax, num_keys=4)
            outs += lax.sort((a, a), ax, num_keys=1)  # one buffer as two operands
        return outs

    _check(f, (cases,), ["sort"])


def test_sort_long_rows_merge_passes():
    """Rows past the insertion-sort run length: odd lengths, several merge passes, stability
    on all-equal and reversed rows, NaN-heavy rows, ints at the extremes."""
    rng = np.random.default_rng(5)
    n = 1037
    base = rng.standard_normal(n).astype(F32)
    rows = np.stack(
        [
            base,
            np.sort(base)[::-1],
            np.zeros(n, F32),
            -np.zeros(n, F32),
            np.where(rng.random(n) < 0.5, np.nan, base),
            np.round(base),
        ]
    )
    rows[3, ::3] = 0.0  # -0.0 and 0.0 interleaved: equal keys keep their order
    ints = rng.integers(np.iinfo(I64).min, np.iinfo(I64).max, (3, 4097), dtype=I64)
    ints[1] = 7
    u8 = rng.integers(0, 256, (17 * 33,), dtype=U8)

    def f(r, i, u):
        return [
            *lax.sort((r, fnp.arange(n * 6).reshape(6, n)), 1, num_keys=1),
            fnp.sort(r, 0),
            fnp.argsort(i, 1),
            fnp.sort(i, 0),
            fnp.sort(u),
            fnp.argsort(u),
        ]

    _check(f, (rows, ints, u8), ["sort"])


def test_sort_big_threaded():
    """Big enough to sort rows on several threads, each with its own scratch slot."""
    rng = np.random.default_rng(6)
    x = np.round(rng.standard_normal((37, 1500)) * 20).astype(F32)
    f = lambda x: [fnp.sort(x, 1), fnp.argsort(x, 0), fnp.sort(x.T, 1)]
    with config.override(num_threads=3):
        _check(f, (x,), ["sort"], threaded=True)


def test_unique_sized_sorts_natively():
    rng = np.random.default_rng(7)
    x = rng.integers(0, 9, 50).astype(I32)
    _check(lambda x: fnp.unique(x, size=12), (x,), ["sort"], native=False)


# ---- cumsum --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_cumsum_matches_eager(dtype):
    """Bit-exact: floats are summed sequentially along the axis, as numpy's accumulate."""
    rng = np.random.default_rng(8)
    shapes = _shapes(dtype)
    xs = _inputs(9, dtype, shapes)
    if np.dtype(dtype).kind == "f":  # non-integral values: the summation order shows
        xs = tuple(
            np.where(np.isfinite(x) & (x != 0), rng.standard_normal(x.shape) * 1e3, x).astype(dtype)
            for x in xs
        )
        # all -0.0: sums stay -0.0 only if the first term is copied rather than added to 0
        xs, shapes = xs + (-np.zeros((3, 4), dtype),) * 2, shapes + [((3, 4), 0), ((3, 4), 1)]

    def f(xs):
        outs = []
        for x, (_, ax) in zip(xs, shapes):
            outs += [lax.cumsum(x, ax), lax.cumsum(x, ax, reverse=True)]
        return outs

    _check(f, (xs,), ["cumsum"])


def test_cumsum_wraps_and_public_api():
    big = np.array([[2**31 - 1, 1, 5], [-(2**31), -1, 2]], I32)
    rng = np.random.default_rng(10)
    x = rng.standard_normal((4, 6, 5)).astype(F32)
    b = rng.random((5, 8)) < 0.5

    def f(big, x, b):
        return [
            lax.cumsum(big, 1),
            lax.cumsum(big, 0, reverse=True),
            fnp.cumsum(x, axis=1),
            fnp.cumsum(x),
            fnp.cumsum(b, axis=1),
            fnp.asarray(x).cumsum(-1),
        ]

    _check(f, (big, x, b), ["cumsum"])


def test_cumsum_gradient_is_reverse_cumsum():
    rng = np.random.default_rng(11)
    x, w = rng.standard_normal((3, 17)).astype(F32), rng.standard_normal((3, 17)).astype(F32)
    g = fg.grad(lambda x, w: fnp.sum(fnp.cumsum(x, axis=1) * w))
    _check(g, (x, w), ["cumsum"])
    np.testing.assert_allclose(
        np.asarray(fg.jit(g)(x, w)), np.cumsum(w[:, ::-1], 1)[:, ::-1], rtol=1e-5
    )


def test_cumsum_big_threaded():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((600, 500)).astype(F32)
    with config.override(num_threads=3):
        _check(
            lambda x: [lax.cumsum(x, 1), lax.cumsum(x, 0, reverse=True)],
            (x,),
            ["cumsum"],
            threaded=True,
        )


# ---- argmax / argmin -----------------------------------------------------------------------------

ARG_SHAPES = [
    ((7,), 0),
    ((3, 5), 1),
    ((3, 5), 0),
    ((2, 33, 4), 1),
    ((1,), 0),
    ((4, 1), 1),
    ((0, 3), 1),
    ((3, 0), 0),
    ((5, 2, 0), 0),
    ((3, 70), 1),
    ((2, 3, 300), 1),
    ((1, 1), 0),
]
ARG_FEW = [((3, 70), 1), ((2, 5, 3), 1), ((4, 1), 1), ((0, 3), 1)]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_argmax_argmin_match_eager(dtype):
    shapes = ARG_SHAPES if np.dtype(dtype) == np.float32 else ARG_FEW

    def f(xs):
        outs = []
        for x, (_, ax) in zip(xs, shapes):
            outs += [lax.argmax(x, ax, I32), lax.argmin(x, ax, I64)]
        return outs

    for seed in (13, 14):
        _check(f, (_inputs(seed, dtype, shapes),), ["argmax", "argmin"])


def test_argmax_first_nan_and_first_tie_in_long_rows():
    """Rows long enough for the interleaved-lane code: the first NaN wins wherever it sits
    (any lane, the tail), and among equal extremes the first index wins across lanes."""
    n = 75  # 4 full groups of 16 lanes and a tail of 11
    rows = []
    for p in (0, 5, 16, 31, 40, 63, 64, 70, 74):
        r = np.arange(n, dtype=F32) % 7
        r[p] = np.nan
        r[min(p + 3, n - 1)] = -np.nan
        rows.append(r)
    for ps in ((3, 19), (20, 4), (33, 66), (70, 71), (0, 74), (15, 16)):
        r = np.zeros(n, F32)
        r[list(ps)] = 9.0
        rows.append(r)
        rows.append(-r)
    x = np.stack(rows)
    xi = np.nan_to_num(x, nan=9.0).astype(I32)
    z = np.where(np.arange(n) % 2 == 0, -0.0, 0.0).astype(F64)[None].repeat(2, 0)

    def f(x, xi, z):
        return [
            fnp.argmax(x, -1),
            fnp.argmin(x, -1),
            fnp.argmax(xi, 1),
            fnp.argmin(xi, 1),
            fnp.argmax(x.T, 0),
            fnp.argmin(x.T, 0),
            fnp.argmax(z, 1),
            fnp.argmin(z, 1),
            lax.argmax(x, 1, np.int8),
        ]  # indices past 127 wrap, as numpy's astype does

    _check(f, (x, xi, z), ["argmax", "argmin"])


def test_argmax_public_api_and_accuracy():
    rng = np.random.default_rng(15)
    logits = rng.standard_normal((64, 10)).astype(F32)
    labels = rng.integers(0, 10, 64).astype(I32)
    big = rng.standard_normal((700, 400)).astype(F32)

    def f(logits, labels):
        acc = Accuracy.init().update(logits, labels).compute()
        return [
            acc,
            fnp.argmax(logits),
            fnp.argmin(logits, axis=0, keepdims=True),
            fnp.asarray(logits).argmax(-1),
        ]

    _check(f, (logits, labels), ["argmax"])
    with config.override(num_threads=3):  # big enough to split the rows over threads
        _check(
            lambda x: [fnp.argmax(x, 1), fnp.argmin(x, 0)],
            (big,),
            ["argmax", "argmin"],
            threaded=True,
        )


# ---- refused cases -------------------------------------------------------------------------------


def test_float16_is_refused_and_stays_correct():
    """float16 is not compiled by the CPU code generator: a visible numpy fallback."""
    x = _rand(np.random.default_rng(16), (4, 9), np.float16)
    f = lambda x: [fnp.sort(x, 1), lax.cumsum(x, 0), fnp.argmax(x, 1)]
    jf = fg.jit(f)
    text = jf.lower(x).as_text("kernels")
    assert "FALLBACK sort" in text and "FALLBACK cumsum" in text and "FALLBACK argmax" in text
    _assert_same(jf(x), f(x))
