"""Effects in the forward pass run once per call under reverse mode, as in JAX:
grad(jit(f)), grad(cond), grad(scan), grad(while_loop(max_steps)) and nested grads do not
repeat a debug.callback when the backward pass recomputes the forward; checkpoint (remat)
re-runs them, as JAX's does. The expected logs are jax 0.10.2's for the same programs."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax


def make():
    log = []

    def f(x):
        fg.debug.callback(lambda v: log.append(("a", float(v))), x)
        y = x * x * 2
        fg.debug.callback(lambda v: log.append(("b", float(v))), y)
        return y

    return f, log


ONCE = [("a", 1.5), ("b", 4.5)]


@pytest.mark.parametrize(
    "name, run",
    [
        ("grad(jit)", lambda f: fg.grad(fg.jit(f))(1.5)),
        ("jit(grad)", lambda f: fg.jit(fg.grad(f))(1.5)),
        ("grad(grad(jit))", lambda f: fg.grad(fg.grad(fg.jit(f)))(1.5)),
        ("grad(cond)", lambda f: fg.grad(lambda x: lax.cond(x > 0, f, lambda v: v, x))(1.5)),
        (
            "jit(grad(cond))",
            lambda f: fg.jit(fg.grad(lambda x: lax.cond(x > 0, f, lambda v: v, x)))(1.5),
        ),
        (
            "grad(jit(cond))",
            lambda f: fg.grad(fg.jit(lambda x: lax.cond(x > 0, f, lambda v: v, x)))(1.5),
        ),
        ("vjp(jit)", lambda f: fg.vjp(fg.jit(f), 1.5)[1](1.0)),
    ],
)
def test_forward_effects_once(name, run):
    f, log = make()
    run(f)
    assert log == ONCE, name


def test_scan_and_while_effects_once_per_step():
    f, log = make()
    fg.grad(lambda x: lax.scan(lambda c, _: (f(c) * 0.5, None), x, None, length=2)[0])(1.5)
    assert log == [("a", 1.5), ("b", 4.5), ("a", 2.25), ("b", 10.125)]
    log.clear()
    g = lambda x: lax.while_loop(lambda c: c < 3.0, lambda c: f(c) * 0.5 + 1.0, x, max_steps=4)
    fg.grad(g)(1.5)
    assert log == [("a", 1.5), ("b", 4.5)]


def test_checkpoint_reruns_effects_as_jax():
    f, log = make()
    fg.grad(fg.checkpoint(f))(1.5)
    assert log == ONCE + ONCE
    log.clear()
    fg.grad(fg.checkpoint(f, policy=fg.checkpoint_policies.everything_saveable))(1.5)
    assert log == ONCE  # nothing recomputed: nothing re-run


def test_gradients_unchanged():
    f, _ = make()
    np.testing.assert_allclose(float(fg.grad(fg.jit(f))(1.5)), 6.0)
    np.testing.assert_allclose(float(fg.grad(fg.grad(fg.jit(f)))(1.5)), 4.0)
    h = lambda x: lax.cond(x > 0, f, lambda v: v, x)
    np.testing.assert_allclose(float(fg.grad(h)(1.5)), 6.0)
    np.testing.assert_allclose(np.asarray(fg.vmap(fg.grad(fg.jit(f)))(fnp.arange(3.0))), [0, 4, 8])
