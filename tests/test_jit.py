"""jit: API, cache, static arguments, errors, compositions with grad/vmap, stages, fallbacks."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest
from funcgrad.backend.cpu import executable
from funcgrad.backend.lower import passes

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad._src.jit import jit
from funcgrad.config import config

pytestmark = pytest.mark.usefixtures("strict_jit")


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


# ---- calling and caching ----------------------------------------------------------------------


def test_cache_hit_does_not_rerun_python():
    calls = []

    def f(x, y):
        calls.append(1)
        return fnp.sin(x) * y + 1.0

    jf = jit(f)
    x = _x(5)
    close(jf(x, 2.0), np.sin(x) * 2 + 1)
    close(jf(x + 1, 3.0), np.sin(x + 1) * 3 + 1)
    assert len(calls) == 1 and jf._cache_size() == 1
    jf(_x(6), 2.0)  # new shape: retrace
    assert len(calls) == 2 and jf._cache_size() == 2
    jf(x.astype(np.int32), 2.0)  # new dtype
    assert len(calls) == 3
    jf.clear_cache()
    jf(x, 2.0)
    assert len(calls) == 4 and jf._cache_size() == 1


def test_weak_types_kept_and_in_key():
    jf = jit(lambda x: x * 2)
    out = jf(3.0)
    assert out.weak_type and out.dtype == np.float32
    strong = jf(np.float32(3.0))
    assert not strong.weak_type
    assert jf._cache_size() == 2


def test_pytrees_in_and_out():
    jf = jit(lambda p, x: {"y": p["w"] @ x + p["b"], "n": (fnp.sum(x),)})
    p = {"w": _x(3, 4), "b": _x(3)}
    x = _x(4)
    out = jf(p, x)
    close(out["y"], p["w"] @ x + p["b"])
    close(out["n"][0], x.sum())


def test_static_argnums_and_argnames():
    calls = []

    def f(x, n, *, mode="add"):
        calls.append((n, mode))
        return x + n if mode == "add" else x * n

    jf = jit(f, static_argnums=1, static_argnames="mode")
    x = _x(3)
    close(jf(x, 2), x + 2)
    close(jf(x, 2), x + 2)
    close(jf(x, 3, mode="mul"), x * 3)
    assert calls == [(2, "add"), (3, "mul")]
    jn = jit(f, static_argnames=("n",))
    close(jn(x, n=4), x + 4)


def test_decorator_forms():
    @jit
    def a(x):
        return x + 1

    @(
        fg.tree_util.Partial(jit, static_argnums=(1,))
        if hasattr(fg.tree_util, "Partial")
        else (lambda f: jit(f, static_argnums=(1,)))
    )
    def b(x, k):
        return x * k

    close(a(_x(2)), _x(2) + 1)
    close(b(_x(2), 3), _x(2) * 3)
    assert a.__name__ == "a"


def test_errors_name_the_argument():
    jf = jit(lambda x, s: x)
    with pytest.raises(TypeError, match=r"argument 's'.*static_argnums"):
        jf(_x(2), "hello")
    js = jit(lambda x, s: x, static_argnums=1)
    with pytest.raises(TypeError, match="hashable.*list"):
        js(_x(2), [1, 2])
    with pytest.raises(ValueError, match=r"backend 'tpu'.*registered backends.*'cpu'"):
        jit(lambda x: x, backend="tpu")(_x(2))


def test_compiled_rejects_wrong_inputs_before_native_code():
    jf = jit(lambda x: x * 2)
    compiled = jf.lower(_x(4)).compile()
    close(compiled(_x(4)), _x(4) * 2)
    with pytest.raises(TypeError, match="f32\\[4\\]"):
        compiled(_x(5))
    with pytest.raises(TypeError):
        compiled(_x(4).astype(np.int32))
    exe = compiled._exe
    consts = compiled._lowered._entry.consts
    with pytest.raises(TypeError, match="compiled for"):
        exe(*consts, np.zeros(5, np.float32))
    # non-contiguous input is copied, not misread
    y = _x(4, 2)[:, 0]
    close(exe(*consts, y)[-1], y * 2)


def test_explain_cache_misses(caplog):
    jf = jit(lambda x: x + 1)
    with (
        config.override(explain_cache_misses=True),
        caplog.at_level(logging.WARNING, "funcgrad.jit"),
    ):
        jf(_x(3))
        jf(_x(4))
    assert "first call" in caplog.text
    assert "avals" in caplog.text and "(3,)" in caplog.text and "(4,)" in caplog.text


def test_config_change_recompiles():
    calls = []
    jf = jit(lambda x: (calls.append(1), x + 1)[1])
    jf(_x(3))
    with config.override(debug_nans=True):
        jf(_x(3))
    assert len(calls) == 2


def test_no_outputs_and_passthrough():
    x = _x(3)
    assert jit(lambda x: ())(x) == ()
    out = jit(lambda x: (x, x, 2.0))(x)
    close(out[0], x)
    close(out[1], x)
    assert float(out[2]) == 2.0


def test_closure_constants():
    w = _x(3, 3)
    jf = jit(lambda x: fnp.tanh(w @ x))
    close(jf(_x(3)), np.tanh(w @ _x(3)))


# ---- compositions -------------------------------------------------------------------------------


def loss(w, x):
    return fnp.sum(fnp.tanh(x @ w) ** 2) / x.shape[0]


def test_jit_of_grad_and_grad_of_jit():
    w, x = _x(4, 3), _x(5, 4, seed=1)
    want = fg.grad(loss)(w, x)
    close(jit(fg.grad(loss))(w, x), want)
    close(fg.grad(jit(loss))(w, x), want)
    close(jit(fg.grad(jit(loss)))(w, x), want)
    v, g = jit(fg.value_and_grad(loss))(w, x)
    close(v, loss(w, x))
    close(g, want)


def test_vmap_and_jit():
    w, xs = _x(4, 3), _x(6, 5, 4, seed=2)
    want = np.stack([np.asarray(loss(w, x)) for x in xs])
    close(fg.vmap(jit(loss), in_axes=(None, 0))(w, xs), want)
    close(jit(fg.vmap(loss, in_axes=(None, 0)))(w, xs), want)
    per_ex = jit(fg.vmap(fg.grad(loss), in_axes=(None, 0)))(w, xs)
    close(per_ex, np.stack([np.asarray(fg.grad(loss)(w, x)) for x in xs]))


def test_nested_jit_and_jvp():
    inner = jit(lambda x: fnp.sin(x) * 2)
    outer = jit(lambda x: inner(x) + inner(x * 2))
    x = _x(4)
    close(outer(x), np.sin(x) * 2 + np.sin(2 * x) * 2)
    _, t = fg.jvp(outer, (x,), (np.ones_like(x),))
    close(t, 2 * np.cos(x) + 4 * np.cos(2 * x))
    txt = outer.lower(x).as_text("ir-opt")
    assert "pjit" not in txt  # inlined by the passes


def test_grad_grad_and_checkpoint_under_jit():
    f = lambda x: fnp.sum(fnp.sin(x) ** 3)
    x = _x(5)
    close(
        jit(fg.grad(fg.grad(lambda x: f(x))))(np.float32(0.3)), fg.grad(fg.grad(f))(np.float32(0.3))
    )
    g = jit(fg.grad(lambda x: fnp.sum(fg.checkpoint(fnp.sin)(x) ** 2)))
    close(g(x), 2 * np.sin(x) * np.cos(x))


def test_custom_jvp_under_jit():
    @fg.custom_jvp
    def f(x):
        return fnp.log1p(fnp.exp(x))

    f.defjvp(lambda p, t: (f(p[0]), t[0] * lax.logistic(p[0])))
    x = _x(5)
    close(jit(f)(x), np.log1p(np.exp(x)))
    close(jit(fg.grad(lambda x: fnp.sum(f(x))))(x), 1 / (1 + np.exp(-x)))


def test_mlp_step_matches_eager():
    rng = np.random.default_rng(3)
    params = [
        (rng.standard_normal((8, 16)).astype(np.float32) * 0.3, np.zeros(16, np.float32)),
        (rng.standard_normal((16, 3)).astype(np.float32) * 0.3, np.zeros(3, np.float32)),
    ]
    x = rng.standard_normal((10, 8)).astype(np.float32)
    y = rng.integers(0, 3, 10)
    onehot = np.eye(3, dtype=np.float32)[y]

    def loss_fn(params, x, t):
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            if i == 0:
                h = fnp.maximum(h, 0)
        logz = fnp.log(fnp.sum(fnp.exp(h - fnp.max(h, -1, keepdims=True)), -1, keepdims=True))
        return -fnp.mean(fnp.sum((h - fnp.max(h, -1, keepdims=True) - logz) * t, -1))

    def step(params, x, t):
        v, g = fg.value_and_grad(loss_fn)(params, x, t)
        return v, fg.tree_util.tree_map(lambda p, g: p - 0.1 * g, params, g)

    v0, p0 = step(params, x, onehot)
    v1, p1 = jit(step)(params, x, onehot)
    close(v0, v1)
    for a, b in zip(fg.tree_util.tree_leaves(p0), fg.tree_util.tree_leaves(p1)):
        close(a, b)


# ---- stages, reports, passes ---------------------------------------------------------------------


def test_lower_stages_and_memory_report(tmp_path, capsys):
    f = jit(lambda x: fnp.sum(fnp.exp(x - fnp.max(x, -1, keepdims=True)), -1))
    low = f.lower(_x(8, 16))
    assert "reduce_max" in low.as_text("ir")
    kern = low.as_text("kernels")
    assert kern.count("loop") == 2 and "reduce_sum" in kern  # two passes over x
    assert 'define void @"run"' in low.as_text("llvm")
    assert not re.search(r"@llvm\.exp\.|@expf", low.as_text("llvm-opt"))
    assert low.as_text("asm").strip()
    comp = low.compile()
    rep = comp.memory_report()
    assert rep["peak"] >= 8 * 4 and rep["inputs"] == 8 * 16 * 4
    with config.override(dump_dir=str(tmp_path), compile_report=True):
        jit(lambda x: x * 3 + 1)(_x(3))
    assert "fallbacks (numpy): none" in capsys.readouterr().out
    names = sorted(p.name.split(".", 1)[1] for p in tmp_path.iterdir())
    assert {"ir.txt", "kernels.txt", "llvm.txt", "llvm-opt.txt", "asm.txt"} <= set(names)


def test_fallback_is_visible_and_correct(capsys):
    # complex QR has no native kernel (no complex arithmetic on the CPU): a visible numpy step
    f = jit(lambda x: fnp.abs(fnp.linalg.qr(fnp.sin(x).astype(np.complex64))[1]) * 2)
    x = _x(6).reshape(3, 2)
    close(f(x), np.abs(np.linalg.qr(np.sin(x))[1]) * 2)
    assert "FALLBACK qr" in f.lower(x).as_text("kernels")


def test_compiler_error_falls_back_to_numpy(monkeypatch):
    from funcgrad.backend.cpu import codegen

    monkeypatch.setattr(executable, "STRICT", False)

    def boom(*a, **k):
        raise RuntimeError("injected")

    monkeypatch.setattr(codegen, "emit_program", boom)
    f = jit(lambda x: x * 5)
    close(f(_x(3)), _x(3) * 5)
    assert "injected" in f.lower(_x(3)).as_text("kernels")


def test_passes_cse_dce_fold():
    def f(x):
        a = fnp.sin(x) + fnp.sin(x)  # CSE
        _ = fnp.cos(x)  # dead
        return a * (2.0 * 3.0)

    jaxpr = fg.make_jaxpr(f)(_x(3)).jaxpr
    opt = passes.optimize(jaxpr)
    prims = [e.primitive.name for e in opt.eqns]
    assert prims.count("sin") == 1 and "cos" not in prims


def test_large_threaded_elementwise():
    x = _x(1 << 19)
    f = jit(lambda x: fnp.tanh(x) * 0.5 + fnp.sin(x) ** 2 - fnp.exp(-x * x))
    close(f(x), np.tanh(x) * 0.5 + np.sin(x) ** 2 - np.exp(-x * x), 2e-6)


# ---- the per-call fast path (array objects straight to native code) --------------------------


def test_fast_path_matches_general_path_and_returns_read_only_arrays():
    import funcgrad.numpy as fnp

    calls = []

    def f(x, y):
        calls.append(1)
        return {"s": fnp.tanh(x) + y, "p": (x * y).sum()}

    jf = jit(f)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = fnp.asarray(rng.standard_normal((5, 3)).astype(np.float32))
        y = fnp.asarray(rng.standard_normal((5, 3)).astype(np.float32))
        out = jf(x, y)
        np.testing.assert_allclose(
            out["s"], np.tanh(np.asarray(x)) + np.asarray(y), rtol=1e-6, atol=1e-6
        )
        np.testing.assert_allclose(out["p"], (np.asarray(x) * np.asarray(y)).sum(), rtol=1e-5)
        assert not np.asarray(out["s"]).flags.writeable
    assert len(calls) == 1 and len(jf._fast) == 1


def test_fast_path_copies_non_contiguous_inputs():
    import funcgrad.numpy as fnp
    from funcgrad._src.array import wrap

    jf = jit(lambda x: x * 2.0 + 1.0)
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    x = fnp.asarray(base[:, :3])
    jf(x)
    views = [wrap(base[:, ::2]), wrap(np.asfortranarray(base[:, 1:4]))]
    assert not any(np.asarray(v).flags.c_contiguous for v in views)
    for arg in (x, fnp.broadcast_to(fnp.asarray(np.float32(2)), (4, 3)), *views):
        np.testing.assert_array_equal(jf(arg), np.asarray(arg) * 2 + 1)


def test_fast_path_sees_config_changes():
    import funcgrad.numpy as fnp
    from funcgrad.config import config

    jf = jit(lambda x: x + 1)
    x = fnp.asarray(np.ones(3, np.float32))
    jf(x)
    jf(x)
    with config.override(debug_nans=True):
        with pytest.raises(FloatingPointError):
            jit(lambda x: fnp.log(x - 2))(x)
        np.testing.assert_array_equal(jf(x), [2, 2, 2])
    np.testing.assert_array_equal(jf(x), [2, 2, 2])


def test_fast_path_with_workspace_and_constants():
    import funcgrad.numpy as fnp

    w = np.random.default_rng(1).standard_normal((16, 16)).astype(np.float32)

    def f(x):
        h = fnp.tanh(x @ w)
        return fnp.exp(h - h.max(axis=1, keepdims=True)).sum(axis=1)

    jf = jit(f)
    x = fnp.asarray(np.random.default_rng(2).standard_normal((4, 16)).astype(np.float32))
    ref = f(x)
    for _ in range(3):
        np.testing.assert_allclose(jf(x), ref, rtol=1e-5)
    assert jf._fast


# ---- donate_argnums ------------------------------------------------------------------------------


def _fresh(a):
    import funcgrad.numpy as fnp

    return fnp.asarray(np.array(a, np.float32))


def test_donated_buffer_is_reused_in_place_and_the_argument_deleted():
    f = jit(lambda p, g: (p - 0.1 * g, (g * g).sum()), donate_argnums=0)
    rng = np.random.default_rng(0)
    p0, g0 = rng.standard_normal(37), rng.standard_normal(37)
    p, g = _fresh(p0), _fresh(g0)
    addr = np.asarray(p).ctypes.data
    new, n = f(p, g)
    np.testing.assert_allclose(new, (p0 - 0.1 * g0).astype(np.float32), rtol=1e-6)
    np.testing.assert_allclose(n, (g0.astype(np.float32) ** 2).sum(), rtol=1e-5)
    assert np.asarray(new).ctypes.data == addr  # computed in the donated buffer
    assert p.is_deleted() and not g.is_deleted()
    with pytest.raises(RuntimeError, match="deleted"):
        p + 1
    assert "deleted" in repr(p)
    again, _ = f(new, g)  # an output can be donated again
    np.testing.assert_allclose(again, (p0 - 0.2 * g0).astype(np.float32), rtol=1e-5)


def test_donation_never_changes_results_when_in_place_is_unsafe():

    def f(x):  # reversed and shifted reads of the donated buffer, then a second output
        return x[::-1] * 2.0 + x, x.sum()

    jf = jit(f, donate_argnums=(0,))
    x0 = np.random.default_rng(1).standard_normal(9).astype(np.float32)
    out, s = jf(_fresh(x0))
    np.testing.assert_allclose(out, x0[::-1] * 2 + x0, rtol=1e-6)
    np.testing.assert_allclose(s, x0.sum(), rtol=1e-5)
    g = jit(lambda x: (x * 2.0, x + 1.0), donate_argnums=0)  # x read after the first write
    a, b = g(_fresh(x0))
    np.testing.assert_allclose(a, x0 * 2, rtol=1e-6)
    np.testing.assert_allclose(b, x0 + 1, rtol=1e-6)


def test_donating_an_array_that_others_view_copies_it():
    import funcgrad.numpy as fnp

    base = _fresh(np.arange(12.0))
    view = base.reshape(3, 4)  # may share base's memory
    keep = np.asarray(view).copy()
    f = jit(lambda x: x * 3.0, donate_argnums=0)
    out = f(base)
    np.testing.assert_array_equal(out, np.arange(12.0, dtype=np.float32) * 3)
    np.testing.assert_array_equal(view, keep)
    x = fnp.asarray(np.ones(4, np.float32))
    user = np.asarray(x)  # the user holds the buffer: no in-place write
    f(x)
    np.testing.assert_array_equal(user, 1.0)


def test_donation_of_pytrees_numpy_inputs_names_and_errors():
    import funcgrad as fg

    def loss(p, x):
        return ((x @ p["w"] + p["b"]) ** 2).mean()

    def step(p, x):
        g = fg.grad(loss)(p, x)
        return {k: p[k] - 0.5 * g[k] for k in p}

    rng = np.random.default_rng(2)
    p0 = {"w": rng.standard_normal((4, 3)), "b": rng.standard_normal(3)}
    x = _fresh(rng.standard_normal((8, 4)))
    ref = jit(step)({k: _fresh(v) for k, v in p0.items()}, x)
    p = {k: _fresh(v) for k, v in p0.items()}
    got = jit(step, donate_argnames="p")(p, x)
    for k in p0:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-6)
        assert p[k].is_deleted()
    assert not x.is_deleted()
    raw = np.ones(3, np.float32)
    np.testing.assert_array_equal(jit(lambda a: a + 1, donate_argnums=0)(raw), 2.0)
    np.testing.assert_array_equal(raw, 1.0)  # numpy inputs are copied, never written
    y = _fresh(np.ones(3))
    with pytest.raises(ValueError, match="also passed"):
        jit(lambda a, b: a + b, donate_argnums=0)(y, y)
    with pytest.raises(ValueError, match="not parameters"):
        jit(lambda a: a, donate_argnames="q")


# ---- pooled output buffers --------------------------------------------------------------------


def test_big_outputs_reuse_a_buffer_only_when_nothing_refers_to_it():
    import funcgrad.numpy as fnp

    n = (1 << 20) // 4 + 3  # just over the pooling threshold
    f = jit(lambda x: x * 2.0 + 1.0)
    x = fnp.asarray(np.arange(n, dtype=np.float32))
    a = f(x)
    a_addr = np.asarray(a).ctypes.data
    assert a_addr % 64 == 0
    b = f(x)  # `a` is alive: a different buffer
    assert np.asarray(b).ctypes.data != a_addr
    held = np.asarray(b)  # a numpy handle keeps `b`'s buffer too
    del a, b
    c = f(x * 0.5)  # `a`'s buffer is free again
    np.testing.assert_array_equal(held, np.arange(n, dtype=np.float32) * 2 + 1)
    np.testing.assert_array_equal(c, np.arange(n, dtype=np.float32) + 1)
    assert np.asarray(c).ctypes.data == a_addr
    d = f(x)
    np.testing.assert_array_equal(held, np.arange(n, dtype=np.float32) * 2 + 1)
    np.testing.assert_array_equal(c, np.arange(n, dtype=np.float32) + 1)
    np.testing.assert_array_equal(d, np.arange(n, dtype=np.float32) * 2 + 1)
    assert not np.asarray(d).flags.writeable


def test_pooled_output_can_be_donated_in_place():
    import funcgrad.numpy as fnp

    n = (1 << 20) // 4 + 5
    make = jit(lambda x: x + 1.0)
    step = jit(lambda p: p * 0.5, donate_argnums=0)
    p = make(fnp.asarray(np.ones(n, np.float32)))
    addr = np.asarray(p).ctypes.data
    q = step(p)
    assert p.is_deleted() and np.asarray(q).ctypes.data == addr
    np.testing.assert_array_equal(q, 1.0)


def test_fast_path_takes_numpy_arguments_of_canonical_dtypes():
    import funcgrad.numpy as fnp

    calls = []

    def f(a, b):
        calls.append(1)
        return a * b + 1

    jf = jit(f)
    a32 = np.arange(6, dtype=np.float32).reshape(2, 3)
    for _ in range(3):
        np.testing.assert_array_equal(jf(a32, a32), a32 * a32 + 1)
    assert len(jf._fast) == 1
    out = jf(a32.astype(np.float64), a32)  # float64 is canonicalised: same signature
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, a32 * a32 + 1)
    np.testing.assert_array_equal(jf(fnp.asarray(a32), a32[:, ::-1]), a32 * a32[:, ::-1] + 1)
    assert len(calls) == 1
