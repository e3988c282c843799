"""pure_callback / io_callback / debug.print / debug.breakpoint / ShapeDtypeStruct, eagerly
and under jit, vmap and grad, with JAX's semantics and error types (jax 0.10.2)."""

import io

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.experimental import io_callback

S = fg.ShapeDtypeStruct


def host_sin(x):
    return np.sin(np.asarray(x))


def psin(x, **kw):
    return fg.pure_callback(host_sin, S(x.shape, x.dtype), x, **kw)


def test_pure_callback_eager_and_jit():
    x = fnp.arange(3.0)
    np.testing.assert_allclose(np.asarray(psin(x)), np.sin(np.arange(3.0)), rtol=1e-6)
    calls = []

    def cb(a):
        calls.append(type(a))
        return np.asarray(a) * 2

    f = fg.jit(lambda x: fg.pure_callback(cb, S(x.shape, x.dtype), x) + 1)
    np.testing.assert_allclose(np.asarray(f(x)), [1.0, 3.0, 5.0])
    np.testing.assert_allclose(np.asarray(f(x)), [1.0, 3.0, 5.0])
    assert len(calls) == 2  # runs each time the compiled program runs
    assert calls[0] is fg.Array  # the callback receives arrays, as JAX's receives jax.Array


def test_pure_callback_pytrees_and_kwargs():
    def cb(a, b=None):
        return {"s": np.asarray(a) + np.asarray(b), "n": np.int32(a.shape[0])}

    out = fg.jit(
        lambda a, b: fg.pure_callback(
            cb, {"s": S((2,), fnp.float32), "n": S((), fnp.int32)}, a, b=b
        )
    )(fnp.ones(2), fnp.ones(2))
    np.testing.assert_array_equal(np.asarray(out["s"]), [2.0, 2.0])
    assert int(out["n"]) == 2 and out["n"].dtype == np.int32


def test_pure_callback_result_checks():
    with pytest.raises(RuntimeError, match=r"Incorrect output shape for return value #0"):
        fg.pure_callback(lambda a: np.ones(3, np.float32), S((), fnp.float32), 1.0)
    with pytest.raises(RuntimeError, match=r"Incorrect output dtype .* Expected: float32"):
        fg.pure_callback(lambda a: np.int32(1), S((), fnp.float32), 1.0)
    with pytest.raises(RuntimeError, match="Incorrect output shape"):
        fg.jit(lambda x: fg.pure_callback(lambda a: np.ones(3, np.float32), S((), x.dtype), x))(1.0)
    # a Python float is fine for a float32 result (as in JAX: canonicalised)
    assert float(fg.pure_callback(lambda a: 2.0, S((), fnp.float32), 1.0)) == 2.0
    with pytest.raises(ValueError, match="64-bit"):
        fg.pure_callback(lambda a: a, S((), np.float64), 1.0)
    with pytest.raises(ValueError, match="vmap_method"):
        fg.pure_callback(host_sin, S((), fnp.float32), 1.0, vmap_method="bogus")


def test_pure_callback_not_differentiable():
    with pytest.raises(ValueError, match="Pure callbacks do not support JVP"):
        fg.grad(psin)(1.0)
    with pytest.raises(ValueError, match="Pure callbacks do not support JVP"):
        fg.jvp(psin, (1.0,), (1.0,))


def test_pure_callback_with_custom_jvp_is_differentiable():
    @fg.custom_jvp
    def f(x):
        return psin(x)

    @f.defjvp
    def f_jvp(p, t):
        (x,), (tx,) = p, t
        return f(x), fg.pure_callback(lambda a: np.cos(np.asarray(a)), S(x.shape, x.dtype), x) * tx

    np.testing.assert_allclose(float(fg.grad(f)(0.5)), np.cos(0.5), rtol=1e-6)
    np.testing.assert_allclose(float(fg.jit(fg.grad(f))(0.5)), np.cos(0.5), rtol=1e-6)


def test_vmap_default_raises_not_implemented():
    with pytest.raises(NotImplementedError, match="vmap_method"):
        fg.vmap(psin)(fnp.ones(3))


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize(
    "method, shapes",
    [
        ("sequential", [((3,), (3,))] * 4),
        ("sequential_unrolled", [((3,), (3,))] * 4),
        ("expand_dims", [((4, 3), (1, 3))]),
        ("broadcast_all", [((4, 3), (4, 3))]),
        ("legacy_vectorized", [((4, 3), (3,))]),
    ],
)
def test_vmap_methods(method, shapes, jit):
    seen = []

    def cb(a, b):
        seen.append((a.shape, b.shape))
        return np.asarray(a) * np.asarray(b)

    def g(x, y):
        return fg.pure_callback(cb, S(x.shape, x.dtype), x, y, vmap_method=method)

    f = fg.vmap(g, in_axes=(0, None))
    f = fg.jit(f) if jit else f
    x = fnp.arange(12.0).reshape(4, 3)
    y = fnp.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(np.asarray(f(x, y)), np.asarray(x) * np.asarray(y))
    assert seen == shapes


def test_vmap_batch_axis_not_first():
    f = fg.vmap(lambda x: psin(x, vmap_method="expand_dims"), in_axes=1, out_axes=1)
    x = fnp.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(np.asarray(f(x)), np.sin(np.arange(6.0).reshape(2, 3)), rtol=1e-6)


def test_io_callback_effects_kept_and_ordered():
    log = []

    def record(x):
        log.append(float(x))
        return np.asarray(x, np.float32) * 2

    def f(x):
        io_callback(record, S((), fnp.float32), x)  # result unused: still runs
        y = io_callback(record, S((), fnp.float32), x + 1.0, ordered=True)
        return y

    assert float(fg.jit(f)(fnp.float32(1.0))) == 4.0
    assert log == [1.0, 2.0]
    log.clear()
    fg.vmap(lambda x: io_callback(record, S((), fnp.float32), x))(fnp.arange(3.0))
    assert log == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="Cannot `vmap` ordered IO callback"):
        fg.vmap(lambda x: io_callback(record, S((), fnp.float32), x, ordered=True))(fnp.arange(3.0))
    with pytest.raises(ValueError, match="IO callbacks do not support JVP"):
        fg.grad(lambda x: io_callback(record, S((), fnp.float32), x))(1.0)
    assert io_callback(lambda: None, None) is None


def test_debug_print_formats_as_jax(capsys):
    # the strings jax 0.10.2 prints for the same calls
    fg.debug.print("x = {} {y:.2f}", fnp.arange(2.0), y=fnp.float32(3.14159))
    fg.debug.print("x = {}", 1.0)
    fg.debug.print("x = {}", {"a": fnp.ones(2)})
    fg.jit(lambda x: fg.debug.print("x = {x}", x=x, ordered=True))(fnp.ones((2, 2)))
    assert capsys.readouterr().out == (
        "x = [0. 1.] 3.14\nx = 1.0\nx = {'a': Array([1., 1.], dtype=float32)}\n"
        "x = [[1. 1.]\n [1. 1.]]\n"
    )


def test_debug_callback_ordered_keyword():
    seen = []
    fg.jit(lambda x: fg.debug.callback(seen.append, x, ordered=True))(fnp.float32(2.0))
    assert [float(v) for v in seen] == [2.0]


def _with_breakpoint(commands, out):
    def f(x):
        y = fnp.sin(x)
        fg.debug.breakpoint(stdin=io.StringIO(commands), stdout=out)
        return y * 2

    return f


@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_breakpoint_prompt_shows_runtime_values(mode):
    out = io.StringIO()
    f = _with_breakpoint("p y\nx\npp {'k': x}\nbogus_name\nc\n", out)
    f = fg.jit(f) if mode == "jit" else f
    r = f(fnp.float32(1.0))
    assert float(r) == pytest.approx(2 * np.sin(1.0))
    text = out.getvalue()
    assert text.startswith("Entering jdb:\n(jdb) ")
    assert "(jdb) Array(0.841471, dtype=float32)\n" in text  # the value of y = sin(x)
    assert "Array(1., dtype=float32)" in text
    assert "{'k': Array(1., dtype=float32)}" in text
    assert "*** NameError" in text


def test_breakpoint_under_vmap_once_per_example():
    outs = []

    def f(x):
        out = io.StringIO()
        outs.append(out)
        fg.debug.breakpoint(stdin=io.StringIO("p x\nc\n" * 2), stdout=out)
        return x

    fg.vmap(f)(fnp.arange(2.0))
    (out,) = outs
    text = out.getvalue()
    assert text.count("Entering jdb:") == 2
    assert "Array(0., dtype=float32)" in text and "Array(1., dtype=float32)" in text


def test_breakpoint_token_and_errors():
    t = fnp.ones(2)
    assert fg.debug.breakpoint(token=t, stdin=io.StringIO("c\n"), stdout=io.StringIO()) is t
    with pytest.raises(ValueError, match="mutually exclusive"):
        fg.debug.breakpoint(token=t, ordered=True)


def test_shape_dtype_struct_fields():
    s = S((2, 3), fnp.float32)
    assert (s.shape, s.dtype, s.sharding, s.weak_type, s.ndim, s.size) == (
        (2, 3),
        np.float32,
        None,
        False,
        2,
        6,
    )
    assert s == S((2, 3), "float32") and hash(s) == hash(S([2, 3], np.float32))
    assert s != S((2, 3), fnp.int32)
    assert repr(s) == "ShapeDtypeStruct(shape=(2, 3), dtype=float32)"
    assert repr(S((), fnp.float32, weak_type=True)) == (
        "ShapeDtypeStruct(shape=(), dtype=float32, weak_type=True)"
    )
    assert s.update(shape=(4,)) == S((4,), fnp.float32) and len(s) == 2
    x = fnp.ones((2, 2), fnp.int32)
    assert S.like(x) == S((2, 2), fnp.int32, sharding=x.sharding)  # (like keeps the sharding)
    assert S.like(S((2, 2), fnp.int32)) == S((2, 2), fnp.int32)
    with pytest.raises(ValueError):
        S((2,), None)


def test_eval_shape_kwargs_and_weak_type():
    out = fg.eval_shape(lambda x, y=1: x + y, fnp.ones(2), y=fnp.ones(2))
    assert out == S((2,), fnp.float32)
    assert repr(fg.eval_shape(lambda x: x * 2, 1.0)) == (
        "ShapeDtypeStruct(shape=(), dtype=float32, weak_type=True)"
    )


def _cuda_available():
    from funcgrad.backend.cuda import driver

    return driver.cuda_available()


@pytest.mark.cuda
@pytest.mark.skipif(not _cuda_available(), reason="needs an NVIDIA GPU (or FUNCGRAD_FAKE_CUDA=1)")
def test_callbacks_in_cuda_programs():
    # a host node: operands read back, the callback run, its results written to the device
    f = fg.jit(lambda x: psin(x) * 2 + 1, backend="cuda")
    x = fnp.arange(3.0)
    np.testing.assert_allclose(np.asarray(f(x)), np.sin(np.arange(3.0)) * 2 + 1, rtol=1e-6)
    log = []
    g = fg.jit(
        lambda x: io_callback(lambda a: log.append(np.asarray(a).sum()), None, x), backend="cuda"
    )
    g(x)
    assert log == [3.0]
    h = fg.jit(fg.vmap(lambda x: psin(x, vmap_method="sequential")), backend="cuda")
    np.testing.assert_allclose(np.asarray(h(x)), np.sin(np.arange(3.0)), rtol=1e-6)
