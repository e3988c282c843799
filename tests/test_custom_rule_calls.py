"""custom_jvp / custom_vjp call only the rule under grad/jvp/vjp (JAX never runs the primal
function then), the primal only when evaluated, jitted or vmapped; the jvp rule sees
concrete primals under grad without jit (Python control flow on them works). The counts
below are jax 0.10.2's for the same programs."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp


def make_jvp_fn():
    calls = {"fun": 0, "jvp": 0}

    @fg.custom_jvp
    def f(x):
        calls["fun"] += 1
        return fnp.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        calls["jvp"] += 1
        (x,), (t,) = primals, tangents
        if x > 0:  # Python control flow on a primal value
            return fnp.sin(x), fnp.cos(x) * t
        return fnp.sin(x), -t

    return f, calls


def make_vjp_fn():
    calls = {"fun": 0, "fwd": 0, "bwd": 0}

    @fg.custom_vjp
    def g(x):
        calls["fun"] += 1
        return fnp.sin(x)

    def g_fwd(x):
        calls["fwd"] += 1
        return fnp.sin(x), fnp.cos(x)

    def g_bwd(r, ct):
        calls["bwd"] += 1
        return (r * ct,)

    g.defvjp(g_fwd, g_bwd)
    return g, calls


@pytest.mark.parametrize(
    "name, run, want, value",
    [
        ("eager", lambda f: f(0.5), {"fun": 1, "jvp": 0}, np.sin(0.5)),
        ("grad", lambda f: fg.grad(f)(0.5), {"fun": 0, "jvp": 1}, np.cos(0.5)),
        ("grad, other branch", lambda f: fg.grad(f)(-0.5), {"fun": 0, "jvp": 1}, -1.0),
        ("jvp", lambda f: fg.jvp(f, (0.5,), (1.0,))[1], {"fun": 0, "jvp": 1}, np.cos(0.5)),
        ("vjp", lambda f: fg.vjp(f, 0.5)[1](1.0)[0], {"fun": 0, "jvp": 1}, np.cos(0.5)),
        ("jit", lambda f: fg.jit(f)(0.5), {"fun": 1, "jvp": 0}, np.sin(0.5)),
        ("vmap", lambda f: fg.vmap(f)(fnp.ones(3))[0], {"fun": 1, "jvp": 0}, np.sin(1.0)),
        ("grad grad", lambda f: fg.grad(fg.grad(f))(0.5), {"fun": 0, "jvp": 1}, -np.sin(0.5)),
    ],
)
def test_custom_jvp_calls(name, run, want, value):
    f, calls = make_jvp_fn()
    out = run(f)
    assert calls == want, name
    np.testing.assert_allclose(float(out), value, rtol=1e-6)


def test_custom_jvp_rule_under_jit_grad_sees_tracers():
    f, calls = make_jvp_fn()
    with pytest.raises(TypeError):  # `if x > 0` on a tracer, as in JAX
        fg.jit(fg.grad(f))(fnp.float32(0.5))
    assert calls == {"fun": 0, "jvp": 1}


@pytest.mark.parametrize(
    "name, run, want, value",
    [
        ("eager", lambda g: g(0.5), {"fun": 1, "fwd": 0, "bwd": 0}, np.sin(0.5)),
        ("grad", lambda g: fg.grad(g)(0.5), {"fun": 0, "fwd": 1, "bwd": 1}, np.cos(0.5)),
        ("vjp primal", lambda g: fg.vjp(g, 0.5)[0], {"fun": 0, "fwd": 1, "bwd": 0}, np.sin(0.5)),
        ("jit", lambda g: fg.jit(g)(0.5), {"fun": 1, "fwd": 0, "bwd": 0}, np.sin(0.5)),
        (
            "jit grad",
            lambda g: fg.jit(fg.grad(g))(0.5),
            {"fun": 0, "fwd": 1, "bwd": 1},
            np.cos(0.5),
        ),
        (
            "vmap grad",
            lambda g: fg.vmap(fg.grad(g))(fnp.ones(3))[0],
            {"fun": 0, "fwd": 1, "bwd": 1},
            np.cos(1.0),
        ),
    ],
)
def test_custom_vjp_calls(name, run, want, value):
    g, calls = make_vjp_fn()
    out = run(g)
    assert calls == want, name
    np.testing.assert_allclose(float(out), value, rtol=1e-6)


def test_custom_vjp_under_jvp_raises():
    g, _ = make_vjp_fn()
    with pytest.raises(TypeError, match="custom_vjp"):
        fg.jvp(g, (0.5,), (1.0,))


def test_pytree_outputs_without_tracing_the_primal():
    calls = []

    @fg.custom_jvp
    def h(x):
        calls.append(1)
        return {"s": fnp.sin(x), "c": fnp.cos(x)}

    @h.defjvp
    def h_jvp(p, t):
        (x,), (tx,) = p, t
        return {"s": fnp.sin(x), "c": fnp.cos(x)}, {"s": fnp.cos(x) * tx, "c": -fnp.sin(x) * tx}

    gr = fg.grad(lambda x: h(x)["s"] + 2 * h(x)["c"])(0.3)
    np.testing.assert_allclose(float(gr), np.cos(0.3) - 2 * np.sin(0.3), rtol=1e-6)
    assert calls == []
