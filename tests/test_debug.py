"""debug_print / debug_callback (eager and under grad, jvp, vmap, make_jaxpr) and
config.debug_nans (raises at the first primitive that produces a NaN, naming it)."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad._src import core
from funcgrad._src.debug import debug_callback, debug_callback_p, debug_print


def test_debug_print_eager(capsys):
    debug_print("x = {} and y = {y}", fnp.array([1.0, 2.0]), y=3)
    assert capsys.readouterr().out == "x = [1. 2.] and y = 3\n"


def test_callback_gets_numpy_values_and_pytrees():
    seen = []
    debug_callback(
        lambda d, k=None: seen.append((d, k)), {"a": fnp.ones(2)}, k=fnp.array(4, dtype=fnp.int32)
    )
    ((d, k),) = seen
    assert isinstance(d["a"], np.ndarray) and np.all(d["a"] == 1) and int(k) == 4


def test_under_grad_called_once_with_primal():
    seen = []

    def f(x):
        debug_callback(lambda v: seen.append(float(v)), x * 2)
        return x * x

    assert float(fg.grad(f)(3.0)) == 6.0
    assert seen == [6.0]
    seen.clear()
    assert float(fg.grad(fg.grad(f))(3.0)) == 2.0
    assert seen == [6.0]


def test_under_jvp_primals_only():
    seen = []
    out, t = fg.jvp(lambda x: (debug_callback(seen.append, x), fnp.sin(x))[1], (0.5,), (1.0,))
    assert len(seen) == 1 and float(seen[0]) == 0.5
    assert np.isclose(float(t), np.cos(0.5))


def test_under_vmap_once_per_element_in_order(capsys):
    def f(x, c):
        debug_print("{} {}", x, c)
        return x + c

    out = fg.vmap(f, in_axes=(0, None))(fnp.arange(3.0), 10.0)
    assert np.all(np.asarray(out) == [10, 11, 12])
    assert capsys.readouterr().out == "0.0 10.0\n1.0 10.0\n2.0 10.0\n"
    seen = []
    fg.vmap(fg.vmap(lambda x: debug_callback(seen.append, x)))(fnp.arange(4.0).reshape(2, 2))
    assert sorted(float(v) for v in seen) == [0.0, 1.0, 2.0, 3.0]  # order: see debug.py


def test_staged_equation_has_effect_and_runs_when_evaluated():
    seen = []

    def f(x):
        debug_callback(lambda v: seen.append(float(v)), x)
        return fnp.sin(x)

    closed = fg.make_jaxpr(f)(1.0)
    eqns = [e for e in closed.eqns if e.primitive is debug_callback_p]
    assert len(eqns) == 1 and eqns[0].params["effect"] is True and eqns[0].out_binders == ()
    assert "debug_callback" in str(closed)
    assert seen == []  # tracing does not call it
    core.eval_jaxpr(closed.jaxpr, closed.consts, [fnp.array(2.5)])
    assert seen == [2.5]  # running the staged program does
    core.typecheck_jaxpr(closed.jaxpr)


def test_staged_under_grad():
    seen = []

    def f(x):
        debug_callback(lambda v: seen.append(float(v)), x)
        return x * x

    closed = fg.make_jaxpr(fg.grad(f))(1.0)
    assert sum(e.primitive is debug_callback_p for e in closed.eqns) == 1
    out = core.eval_jaxpr(closed.jaxpr, closed.consts, [fnp.array(4.0)])
    assert seen == [4.0] and float(out[0]) == 8.0


# ---- debug_nans ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn,x,first",
    [
        (lambda x: fnp.sqrt(fnp.log(x)), 0.5, "sqrt"),  # log(0.5) < 0 is fine, sqrt is not
        (lambda x: fnp.sum(fnp.log(x) * 2.0), fnp.array([1.0, -1.0]), "log"),
        (lambda x: fnp.exp(x) - fnp.exp(x), fnp.array(1e4), "sub"),  # inf - inf
        (lambda x: fnp.sum(x / x), fnp.zeros(2), "div"),
    ],
)
def test_debug_nans_names_first_nan_op(fn, x, first):
    assert np.isnan(np.asarray(fn(x))).any()  # off by default: NaN flows through
    with fg.config.override(debug_nans=True):
        with pytest.raises(FloatingPointError, match=f"primitive '{first}' produced a NaN"):
            fn(x)
        with pytest.raises(FloatingPointError, match=f"'{first}'"):
            fg.vmap(fn)(fnp.stack([fnp.asarray(x)] * 2))
    assert not fg.config.debug_nans


def test_debug_nans_in_backward_pass_and_clean_code():
    f = lambda x: fnp.where(x > 0, fnp.sqrt(x), 0.0)  # the NaN-through-where trap
    with fg.config.override(debug_nans=True):
        assert float(fg.grad(lambda x: fnp.sqrt(x))(4.0)) == 0.25  # no NaN: no error
        assert float(f(0.0)) == 0.0  # forward pass is fine
        with pytest.raises(FloatingPointError, match="'div'"):  # sqrt's derivative 0/0
            fg.grad(f)(0.0)
    assert np.isnan(float(fg.grad(f)(0.0)))


def test_debug_nans_ignores_integer_and_inf_results():
    with fg.config.override(debug_nans=True):
        assert float(fnp.log(fnp.array(0.0))) == -np.inf
        assert int(fnp.array(7) // 2) == 3


def test_debug_print_inside_jit_runs_on_every_call(capsys):
    import funcgrad as fg
    import funcgrad.numpy as fnp

    f = fg.jit(lambda x: (fg.debug.print("x = {}", x), fg.debug.print("x = {}", x), x * 2)[2])
    f(fnp.arange(2.0))
    f(fnp.arange(2.0) + 1)
    out = capsys.readouterr().out.splitlines()
    assert out == ["x = [0. 1.]", "x = [0. 1.]", "x = [1. 2.]", "x = [1. 2.]"]


def test_checkpoint_recomputes_the_forward_pass_in_the_backward_pass():
    import funcgrad as fg
    import funcgrad.numpy as fnp

    calls = []

    def f(x):
        fg.debug.callback(lambda v: calls.append(float(v)), x)
        return fnp.sin(fnp.sin(x))

    g_plain = fg.grad(f)(1.0)
    assert len(calls) == 1  # forward only: residuals were stored
    calls.clear()
    g_remat = fg.grad(fg.checkpoint(f))(1.0)
    assert len(calls) == 2  # forward, then recomputed in the backward pass
    assert float(g_plain) == float(g_remat)
