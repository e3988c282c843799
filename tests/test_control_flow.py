"""lax control flow under every transformation, checked against Python loops and numerics."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.config import config


def num_grad(f, x, eps=1e-6):
    x = np.asarray(x, np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (float(f(fnp.asarray(x + d))) - float(f(fnp.asarray(x - d)))) / (2 * eps)
    return g


@pytest.fixture(autouse=True)
def x64():
    with config.override(enable_x64=True):
        yield


def scan_fn(x):
    def body(c, xi):
        c = c * 0.9 + fnp.sin(xi) * c
        return c, c * xi

    c, ys = lax.scan(body, 1.0, x)
    return c + fnp.sum(ys)


def scan_loop(x):
    c, tot = 1.0, 0.0
    for xi in np.asarray(x):
        c = c * 0.9 + np.sin(xi) * c
        tot += c * xi
    return c + tot


def test_scan_value_grad_jvp_vmap():
    x = np.random.RandomState(0).randn(6)
    assert np.allclose(scan_fn(fnp.asarray(x)), scan_loop(x))
    assert np.allclose(fg.grad(scan_fn)(fnp.asarray(x)), num_grad(scan_fn, x), atol=1e-6)
    t = np.random.RandomState(1).randn(6)
    _, tout = fg.jvp(scan_fn, (fnp.asarray(x),), (fnp.asarray(t),))
    assert np.allclose(tout, num_grad(scan_fn, x) @ t, atol=1e-6)
    xs = np.random.RandomState(2).randn(3, 6)
    assert np.allclose(fg.vmap(scan_fn)(fnp.asarray(xs)), [scan_loop(r) for r in xs])
    per_ex = fg.vmap(fg.grad(scan_fn))(fnp.asarray(xs))
    assert np.allclose(per_ex, [num_grad(scan_fn, r) for r in xs], atol=1e-6)


def test_scan_reverse_and_pytrees():
    xs = {"a": fnp.arange(4.0), "b": fnp.ones((4, 2))}

    def body(carry, x):
        s, n = carry
        return (s + x["a"] * fnp.sum(x["b"]), n + 1), x["a"] * 2

    (s, n), ys = lax.scan(body, (0.0, 0), xs, reverse=True)
    assert float(s) == 12.0 and int(n) == 4
    assert np.allclose(ys, [0, 2, 4, 6])
    _, order = lax.scan(lambda c, x: (c + 1, c), 0, None, length=3, reverse=True)
    assert np.allclose(order, [2, 1, 0])


def test_scan_second_order():
    f = lambda x: lax.scan(lambda c, i: (c * fnp.sin(x * i), None), 1.0, fnp.arange(1.0, 4.0))[0]
    g2 = fg.grad(fg.grad(f))(0.7)
    fd = (float(fg.grad(f)(0.7 + 1e-5)) - float(fg.grad(f)(0.7 - 1e-5))) / 2e-5
    assert np.allclose(g2, fd, rtol=1e-5)


def test_scan_carry_type_error():
    with pytest.raises(TypeError, match="carry"):
        lax.scan(lambda c, x: (c.astype(np.int32), x), fnp.zeros(2), fnp.ones((3, 2)))


def cond_fn(x):
    return lax.cond(fnp.sum(x) > 0, lambda a: fnp.sin(a) * 2, lambda a: fnp.cos(a), x)


def test_cond_eager_traced_grad_vmap():
    x = fnp.asarray([0.5, -0.2])
    assert np.allclose(cond_fn(x), np.sin(x) * 2)
    assert np.allclose(cond_fn(-x), np.cos(-np.asarray(x)))
    assert np.allclose(fg.grad(lambda x: fnp.sum(cond_fn(x)))(x), 2 * np.cos(x))
    batch = fnp.asarray([[0.5, -0.2], [-0.5, 0.2], [-1.0, -1.0]])
    expect = [np.sin(r) * 2 if r.sum() > 0 else np.cos(r) for r in np.asarray(batch)]
    assert np.allclose(fg.vmap(cond_fn)(batch), expect)
    g = fg.vmap(fg.grad(lambda x: fnp.sum(cond_fn(x))))(batch)
    g_ref = [2 * np.cos(r) if r.sum() > 0 else -np.sin(r) for r in np.asarray(batch)]
    assert np.allclose(g, g_ref)
    jaxpr = str(fg.make_jaxpr(cond_fn)(x))
    assert "cond[" in jaxpr
    _, t = fg.jvp(cond_fn, (x,), (fnp.ones(2),))
    assert np.allclose(t, 2 * np.cos(x))


def test_cond_branch_mismatch():
    with pytest.raises(TypeError, match="equal output types"):
        fg.make_jaxpr(lambda p: lax.cond(p, lambda: fnp.zeros(2), lambda: fnp.zeros(3)))(True)


def test_switch_clamps_and_batches():
    fs = [lambda a: a, lambda a: a * 2, lambda a: a * 3]
    assert float(lax.switch(7, fs, 1.0)) == 3.0
    assert float(lax.switch(-3, fs, 1.0)) == 1.0
    out = fg.vmap(lambda i, a: lax.switch(i, fs, a))(fnp.asarray([0, 1, 2, 5]), fnp.ones(4))
    assert np.allclose(out, [1, 2, 3, 3])


def test_while_loop_eager_vmap_jvp():
    f = lambda x: lax.while_loop(lambda c: c < 10.0, lambda c: c * 2.0, x)
    assert float(f(1.0)) == 16.0
    assert np.allclose(fg.vmap(f)(fnp.asarray([1.0, 3.0, 20.0])), [16, 12, 20])
    g = lambda x: lax.while_loop(lambda c: c < 10.0, lambda c: c * x, 1.0)
    y, t = fg.jvp(g, (2.0,), (1.0,))
    assert float(y) == 16.0 and float(t) == 32.0  # d/dx x**4 at 2


def test_while_loop_reverse_mode():
    g = lambda x: lax.while_loop(lambda c: c < 10.0, lambda c: c * x, 1.0)
    with pytest.raises(ValueError, match="max_steps"):
        fg.grad(g)(2.0)
    gm = lambda x: lax.while_loop(lambda c: c < 10.0, lambda c: c * x, 1.0, max_steps=50)
    assert float(fg.grad(gm)(2.0)) == 32.0
    assert np.allclose(fg.vmap(fg.grad(gm))(fnp.asarray([2.0, 3.0])), [32.0, 27.0])


def test_fori_loop_static_and_traced_bounds():
    assert float(lax.fori_loop(0, 5, lambda i, c: c + i, 0.0)) == 10.0
    assert float(fg.grad(lambda x: lax.fori_loop(0, 3, lambda i, c: c * x, 1.0))(2.0)) == 12.0
    f = lambda n: lax.fori_loop(0, n, lambda i, c: c + i, 0)
    assert int(fg.vmap(f)(fnp.asarray([3, 4]))[1]) == 6


def test_map():
    assert np.allclose(lax.map(lambda v: v * 2, fnp.arange(3.0)), [0, 2, 4])
