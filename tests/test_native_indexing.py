"""Native CPU op kernels of gather/scatter and the structural ops (backend/cpu/ops/indexing.py).

Every case is jitted (strict: compiler errors raise) and compared with eager evaluation (the numpy
impls) on fresh random inputs of several shapes (odd sizes, size-0 and size-1 dims), every dtype
family, out-of-bounds and negative indices and duplicates; the kernel program must run the
primitive as an ``op`` kernel with no FALLBACK step. Copies are compared bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from funcgrad.backend import kernel_ir
from funcgrad.backend.cpu.ops import native_check

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad._src.jit import jit
from funcgrad._src.lax.slicing import dynamic_slice_p

F32, F64, I32, BOOL = np.float32, np.float64, np.int32, np.bool_
DTYPES = [F32, I32, BOOL, np.uint8, np.int16]
X64_DTYPES = [F64, np.int64, np.uint64]


pytestmark = pytest.mark.usefixtures("strict_jit")


def _rand(rng, shape, dtype):
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind in "iu":
        return rng.integers(0 if dt.kind == "u" else -50, 100, shape).astype(dt)
    return rng.standard_normal(shape).astype(dt)


def _indices(rng, sizes, batch, dtype=I32, slack=3):
    """Index rows of shape batch + (len(sizes),), some out of bounds (negative and too big)."""
    lo = 0 if np.dtype(dtype).kind == "u" else -slack
    cols = [rng.integers(lo, n + slack, batch) for n in sizes]
    return np.stack(cols, -1).astype(dtype)


def _kernels(jf, *args) -> str:
    return jf.lower(*args).as_text("kernels")


def _assert_native(jf, args, *prims):
    text = _kernels(jf, *args)
    assert "FALLBACK" not in text, text
    for p in prims:
        assert f"op {p}(" in text, text
    return text


def _assert_same(got, want, tol=None):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape, (g.dtype, g.shape, w.dtype, w.shape)
        if tol is not None and g.dtype.kind == "f":
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol, equal_nan=True)
        else:  # copies are bit-exact (NaN payloads included)
            assert g.tobytes() == w.tobytes(), (g, w)


def _run(f, args, *prims, tol=None):
    """jit(f) vs f on ``args`` (a list of input tuples): natively, with guard bytes around
    every output and the workspace, and vs the kernel program's numpy interpreter."""
    from funcgrad import tree_util as tu

    jf = jit(f)
    want = f(args)
    _assert_same(jf(args), want, tol)
    _assert_native(jf, (args,), *prims)
    lowered = jf.lower(args)
    exe = lowered.compile()._exe
    flat = [np.asarray(x) for x in (*lowered._entry.consts, *tu.tree_leaves(args))]
    _assert_same(_guarded_call(exe, flat), tu.tree_leaves(want), tol)
    _assert_same(exe(*flat), kernel_ir.interpret(exe.program, flat), tol)


GUARD = 64


def _guarded(nbytes):
    raw = np.full(nbytes + 2 * GUARD, 0xA5, np.uint8)
    return raw, raw[GUARD : GUARD + nbytes]


def _guarded_call(exe, flat):
    """Run a program without fallbacks on outputs and workspace surrounded by guard bytes,
    and check that no kernel wrote outside them."""
    import ctypes

    assert exe._simple
    ins = [np.ascontiguousarray(x) for x in flat]
    outs, raws = [], []
    for shape, dtype in exe.out_specs:
        raw, body = _guarded(int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize)
        raws.append(raw)
        outs.append(body.view(dtype).reshape(shape))
    ws_raw, ws = _guarded(exe._peak)
    raws.append(ws_raw)
    in_ptrs = exe._in_t(*[a.ctypes.data for a in ins])
    out_ptrs = exe._out_t(*[o.ctypes.data for o in outs])
    exe._entries[0][1](in_ptrs, out_ptrs, ctypes.c_void_p(ws.ctypes.data))
    for raw in raws:
        assert (raw[:GUARD] == 0xA5).all() and (raw[-GUARD:] == 0xA5).all(), "write out of bounds"
    return outs


# ---- gather ------------------------------------------------------------------------------------

# (operand shape, indexed axes, batch shape of the index rows)
GATHERS = [
    ((7,), (0,), (5,)),
    ((6, 5), (0,), (4,)),  # rows: whole-row copies
    ((6, 5), (1,), (3, 2)),  # columns: strided block
    ((4, 3, 5), (2, 0), (6,)),  # unordered axes, middle dim kept
    ((4, 3, 5), (0, 1, 2), (2, 3)),  # every axis indexed (take_along_axis)
    ((3, 1, 4), (1,), (5,)),  # size-1 indexed axis
    ((0, 4), (0,), (3,)),  # empty indexed axis: zeros / the fill value
    ((4, 0), (0,), (3,)),  # empty kept block
    ((5, 3), (0,), (0,)),  # no index rows
    ((5, 3), (1,), ()),  # one index row, no batch dims
    ((1, 1), (0,), (1, 1)),
]


def _gather_args(rng, dtype, idx_dtype=I32):
    return [
        (_rand(rng, s, dtype), _indices(rng, [s[a] for a in axes], b, idx_dtype))
        for s, axes, b in GATHERS
    ]


@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_modes_and_dtypes(dtype):
    rng = np.random.default_rng(np.dtype(dtype).num)
    modes = [("clip", None), ("fill", None), ("fill", 1)]
    f = lambda xs: [
        lax.gather(x, i, axes, mode, fill)
        for mode, fill in modes
        for (x, i), (_, axes, _) in zip(xs, GATHERS)
    ]
    _run(f, _gather_args(rng, dtype), "gather")


@pytest.mark.parametrize("idx_dtype", [np.int8, np.uint8, np.uint16, np.int64, np.uint32])
def test_gather_index_dtypes(idx_dtype):
    rng = np.random.default_rng(3)
    f = lambda xs: [lax.gather(x, i, axes, "fill") for (x, i), (_, axes, _) in zip(xs, GATHERS)]
    with fg.config.override(enable_x64=True):
        _run(f, _gather_args(rng, F32, idx_dtype), "gather")


def test_gather_64bit_dtypes_and_huge_indices():
    rng = np.random.default_rng(4)
    big = np.array([[2**63 + 1], [2**64 - 1], [3], [2**40]], np.uint64)  # astype(int64) wraps
    with fg.config.override(enable_x64=True):
        for dt in X64_DTYPES:
            args = _gather_args(rng, dt) + [(_rand(rng, (5, 2), dt), big)]
            f = lambda xs: (
                [lax.gather(x, i, (0,), m) for x, i in xs[-1:] for m in ("clip", "fill")]
                + [lax.gather(x, i, axes) for (x, i), (_, axes, _) in zip(xs, GATHERS)]
            )
            _run(f, args, "gather")


def test_gather_nan_payload_and_fill_refusal():
    x = np.array([1.0, np.nan, -0.0], F32).view(np.uint32)
    x[1] |= 0x1234  # a NaN with a payload: copied as bits
    x = x.view(F32)
    i = np.array([[1], [2], [5], [-1]], I32)
    f = lambda x, i: lax.gather(x, i, (0,), "fill", -2.5)
    _assert_same([jit(f)(x, i)], [f(x, i)])
    _assert_native(jit(f), (x, i), "gather")
    # a fill value numpy cannot convert to the dtype: refused (numpy decides at run time)
    g = lambda x, i: lax.gather(x, i, (0,), "fill", float("nan"))
    xi = np.arange(3, dtype=I32)
    assert "FALLBACK gather" in _kernels(jit(g), xi, i[:2])
    _assert_same([jit(g)(xi, i[:2])], [g(xi, i[:2])])


# ---- scatter / scatter_add -----------------------------------------------------------------------


SCATTERS = [GATHERS[k] for k in (1, 2, 3, 4, 6, 8, 9, 10)]  # rows, columns, ... (compile time)


def _scatter_args(rng, dtype, idx_dtype=I32, slack=3):
    args = []
    for s, axes, b in SCATTERS:
        sizes = [s[a] for a in axes]
        rest = tuple(n for d, n in enumerate(s) if d not in axes)
        # duplicates on purpose: few distinct positions, many rows
        b = tuple(3 * n for n in b)
        args.append(
            (
                _rand(rng, s, dtype),
                _indices(rng, sizes, b, idx_dtype, slack),
                _rand(rng, b + rest, dtype),
            )
        )
    return args


def _cases(combines, modes=("clip", "drop")):
    """Every combine and mode over the SCATTERS layouts (clipping into an empty axis raises in
    numpy: that case is left out, see test_refusals)."""

    def f(xs):
        outs = []
        for mode in modes:
            for k, (s, axes, _) in enumerate(SCATTERS):
                if mode == "clip" and any(s[a] == 0 for a in axes):
                    continue
                for c in combines:
                    outs.append(
                        lax.scatter_add(*xs[k], axes, mode)
                        if c == "add"
                        else lax.scatter(*xs[k], axes, mode, c)
                    )
        return outs

    return f


@pytest.mark.parametrize("dtype", [F32, I32, BOOL, np.uint8])
def test_scatter_combines_modes_dtypes(dtype):
    rng = np.random.default_rng(np.dtype(dtype).num)
    _run(
        _cases(["add", "set", "mul", "min", "max"]),
        _scatter_args(rng, dtype),
        "scatter_add",
        "scatter",
        tol=1e-6,
    )


def test_scatter_64bit_dtypes():
    rng = np.random.default_rng(5)
    with fg.config.override(enable_x64=True):
        for dt in X64_DTYPES:
            _run(
                _cases(["add", "set", "max"], ["drop"]),
                _scatter_args(rng, dt, np.int64),
                "scatter_add",
                "scatter",
                tol=1e-12,
            )


def test_scatter_add_duplicates_accumulate_in_order():
    # float addition is not associative: the order of the duplicates shows in the bits
    x = np.zeros(2, F32)
    i = np.array([[0], [1], [0], [0], [1], [0]], I32)
    u = np.array([1e8, 1.0, 1.0, -1e8, 3.0, 1.0], F32)
    f = lambda x, i, u: lax.scatter_add(x, i, u, (0,))
    _assert_same([jit(f)(x, i, u)], [f(x, i, u)])
    # set: with duplicates the last update wins, as in numpy's fancy assignment
    g = lambda x, i, u: lax.scatter(x, i, u, (0,))
    np.testing.assert_array_equal(np.asarray(jit(g)(x, i, u)), [1.0, 3.0])


def test_literal_updates_and_constant_indices():
    x = np.arange(6, dtype=F32)
    f = lambda x: [
        lax.scatter_add(x, np.array([3]), 5.0, (0,)),
        lax.scatter(x, np.array([9]), 2.0, (0,), "clip", "max"),
        lax.scatter(x, np.array([-1]), 7.0, (0,), "drop"),
    ]
    _assert_same(jit(f)(x), f(x))
    text = _assert_native(jit(f), (x,), "scatter_add", "scatter")
    assert "array(5., dtype=float32)" in text  # a literal update: a constant in the kernel


# ---- dynamic_slice / dynamic_update_slice ----------------------------------------------------

DSLICES = [
    ((7,), (3,)),
    ((5, 6), (2, 6)),
    ((5, 6), (5, 1)),
    ((4, 3, 5), (2, 3, 2)),
    ((4, 0, 3), (2, 0, 1)),
    ((3, 4), (0, 2)),
    ((), ()),
    ((1, 5), (1, 5)),
]


def _starts(rng, shape, dtype):
    lo = 0 if np.dtype(dtype).kind == "u" else -4
    return tuple(np.asarray(rng.integers(lo, n + 4), dtype) for n in shape)


@pytest.mark.parametrize("start_dtype", [np.int8, np.uint16])
def test_dynamic_slice_and_update(start_dtype):
    rng = np.random.default_rng(np.dtype(start_dtype).itemsize)
    with fg.config.override(enable_x64=True):
        for dt in (F32, BOOL, np.int64):
            args = [
                (_rand(rng, s, dt), _starts(rng, s, start_dtype), _rand(rng, k, dt))
                for s, k in DSLICES
            ]
            f = lambda xs: (
                [lax.dynamic_slice(x, st, np.shape(u)) for x, st, u in xs]
                + [lax.dynamic_update_slice(x, u, st) for x, st, u in xs]
            )
            _run(f, args, "dynamic_slice", "dynamic_update_slice")


def test_dynamic_slice_literal_and_huge_starts():
    x = np.arange(24, dtype=F32).reshape(4, 6)
    u = -np.ones((2, 3), F32)
    f = lambda x, u: [
        lax.dynamic_slice(x, (1, -3), (2, 3)),
        lax.dynamic_slice(x, (9, 4), (3, 3)),
        lax.dynamic_update_slice(x, u, (3, 5)),
    ]
    _assert_same(jit(f)(x, u), f(x, u))
    _assert_native(jit(f), (x, u), "dynamic_slice", "dynamic_update_slice")
    with fg.config.override(enable_x64=True):
        # the primitive itself takes any integer starts (the wrapper converts to int32):
        # beyond int64 they compare unsigned, so they clamp to the top
        s = np.array([2**64 - 1, 2**63 + 5, 1], np.uint64)
        g = lambda x, s: [
            dynamic_slice_p.bind(x, s[i], s[j], slice_sizes=(2, 2))
            for i, j in ((0, 1), (2, 0), (1, 2))
        ]
        got = jit(g)(x, s)
        _assert_same(got, g(x, s))
        np.testing.assert_array_equal(np.asarray(got[0]), x[2:, 4:])
        _assert_native(jit(g), (x, s), "dynamic_slice")


# ---- concatenate -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [F32, I32, BOOL, np.int16])
def test_concatenate(dtype):
    rng = np.random.default_rng(7)
    groups = [
        ([(3,), (0,), (5,)], 0),
        ([(2, 3), (2, 1), (2, 4)], 1),
        ([(2, 3), (4, 3)], 0),
        ([(2, 0, 3), (2, 2, 3), (2, 1, 3)], 1),
        ([(0, 4), (0, 2)], 1),
        ([(1, 2, 3)] * 7, 2),
        ([(3, 1), (3, 1)], 1),
    ]
    args = [tuple(_rand(rng, s, dtype) for s in shapes) for shapes, _ in groups]
    f = lambda xs: [lax.concatenate(x, d) for x, (_, d) in zip(xs, groups)]
    _run(f, args, "concatenate")


# ---- pad -------------------------------------------------------------------------------------

PADS = [
    ((5,), ((1, 2, 0),)),
    ((5,), ((-2, 3, 1),)),
    ((5,), ((-1, 0, 1),)),  # crop inside an interior gap
    ((2, 6), ((1, 0, 0), (-3, -2, 2))),
    ((5,), ((0, -1, 1),)),  # crop right after an element
    ((6, 4), ((0, 0, 0), (2, 1, 0))),
    ((6, 4), ((1, 2, 0), (0, 0, 0))),  # merged into long rows
    ((3, 4, 5), ((-1, 2, 1), (0, -2, 0), (1, -3, 2))),
    ((3, 4), ((2, -4, 2), (-5, 1, 0))),  # everything cropped but padding
    ((1, 3, 1), ((0, 0, 3), (1, 1, 0), (0, 2, 5))),
    ((0, 3), ((1, 1, 0), (2, 0, 1))),  # empty operand: all padding
    ((2, 3), ((-1, -1, 0), (0, 0, 0))),  # empty result
    ((), ()),
    ((4, 2), ((0, 0, 0), (0, 0, 0))),
]


@pytest.mark.parametrize("dtype", [F32, I32, BOOL, np.uint8])
def test_pad(dtype):
    rng = np.random.default_rng(8)
    args = [(_rand(rng, s, dtype), _rand(rng, (), dtype)) for s, _ in PADS]
    lit = np.asarray(_rand(rng, (), dtype)).item()
    f = lambda xs: (
        [lax.pad(x, v, cfg) for (x, v), (_, cfg) in zip(xs, PADS)]
        + [lax.pad(x, lit, cfg) for (x, _), (_, cfg) in zip(xs, PADS)]
    )
    _run(f, args, "pad")


def test_pad_random_configs():
    rng = np.random.default_rng(9)
    args, cfgs = [], []
    for _ in range(12):
        shape = tuple(int(n) for n in rng.integers(0, 5, rng.integers(1, 4)))
        cfg = []
        for n in shape:
            it = int(rng.integers(0, 3))
            full = n + max(n - 1, 0) * it
            lo = int(rng.integers(-full, 4))
            hi = int(rng.integers(-(full + lo) if full + lo > 0 else 0, 4))
            cfg.append((lo, hi, it))
        args.append((_rand(rng, shape, F32),))
        cfgs.append(tuple(cfg))
    f = lambda xs: [lax.pad(x, -1.0, c) for (x,), c in zip(xs, cfgs)]
    _run(f, args, "pad")


# ---- refusals ------------------------------------------------------------------------------


def _eqn(f, *args):
    return fg.make_jaxpr(f)(*args).jaxpr.eqns[-1]


def test_refusals():
    x, i = np.zeros((0, 3), F32), np.zeros((2, 1), I32)
    u = np.zeros((2, 3), F32)
    assert (
        native_check(_eqn(lambda x, i, u: lax.scatter_add(x, i, u, (0,), "clip"), x, i, u)) is None
    )
    assert native_check(_eqn(lambda x, i, u: lax.scatter_add(x, i, u, (0,), "drop"), x, i, u)) == 0
    xi = np.zeros(4, I32)
    assert (
        native_check(_eqn(lambda x, i: lax.gather(x, i, (0,), "fill", float("nan")), xi, i)) is None
    )
    assert native_check(_eqn(lambda x, i: lax.gather(x, i, (0,), "fill", -3), xi, i)) == 0


# ---- through the public API, with gradients ----------------------------------------------------


def _api_check(f, *args, prims=(), tol=1e-5):
    """A function returning a list: jit vs eager, and natively."""
    jf = jit(f)
    _assert_same(jf(*args), f(*args), tol)
    return _assert_native(jf, args, *prims)


def test_numpy_indexing_and_at():
    rng = np.random.default_rng(10)
    x = fnp.asarray(rng.standard_normal((6, 5)).astype(F32))
    i = fnp.asarray(np.array([4, -1, 0, 2, 2, -6], I32))
    v = fnp.asarray(rng.standard_normal((6, 5)).astype(F32))
    f = lambda x, i, v: [
        x[i],
        x[:, i[:3]],
        x[i, i[:1]],
        x.at[i].add(v),
        x.at[i].set(v),
        x.at[i, 1].max(v[:, 0]),
        x.at[i].get(mode="fill", fill_value=0.5),
    ]
    _api_check(f, x, i, v, prims=("gather", "scatter_add", "scatter"))


def test_embedding_and_cross_entropy_grads():
    rng = np.random.default_rng(11)
    table = rng.standard_normal((10, 4)).astype(F32)
    w = rng.standard_normal((4, 7)).astype(F32)
    tokens = np.array([[1, 9, 3], [3, 3, 0]], I32)
    labels = np.array([[0, 6, 2], [2, 2, 5]], I32)

    def loss(table, w, tokens, labels):
        h = table[tokens] @ w
        logp = h - fnp.log(fnp.sum(fnp.exp(h), -1, keepdims=True))
        return -fnp.mean(fnp.take_along_axis(logp, labels[..., None], -1))

    g = jit(fg.grad(loss, argnums=(0, 1)))
    got, want = g(table, w, tokens, labels), fg.grad(loss, argnums=(0, 1))(table, w, tokens, labels)
    _assert_same(got, want, 1e-5)
    _assert_native(g, (table, w, tokens, labels), "gather", "scatter_add")


def test_structural_grads():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((4, 5)).astype(F32)
    s = np.array(3, I32)

    def f(x, s):
        y = fnp.concatenate([x, 2 * x[:, :2]], 1)
        z = fnp.stack([y, -y], 0)
        p = fnp.pad(z, ((0, 0), (1, 2), (2, 0))) + lax.pad(x, 0.0, ((-1, 1, 1), (2, -1, 0))).sum()
        d = lax.dynamic_slice(p, (1, s, s - 1), (1, 3, 4))
        return fnp.sum(d**2) + fnp.sum(lax.dynamic_update_slice(p, d * 3, (0, s, 1)) ** 2)

    gf = jit(fg.grad(f))
    _assert_same([gf(x, s)], [fg.grad(f)(x, s)], 1e-4)
    _assert_native(gf, (x, s), "concatenate", "pad", "dynamic_slice", "dynamic_update_slice")


def test_one_hot_and_vmap_gather():
    rng = np.random.default_rng(13)
    x = rng.standard_normal((3, 6)).astype(F32)
    i = np.array([[5, 0], [2, 2], [1, 7]], I32)
    f = lambda x, i: [
        fg.nn.one_hot(i, 6) * 2.0,
        fg.vmap(lambda r, j: r[j])(x, i),
        fg.vmap(lambda r, j: lax.dynamic_slice(r, (j[0],), (2,)))(x, i),
    ]
    _api_check(f, x, i, prims=("gather",))
