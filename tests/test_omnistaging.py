"""Omnistaging, as JAX: inside jit/make_jaxpr, operations on concrete values (built from Python
constants or static shapes) are staged too: tracers, with Python conversions raising
ConcretizationTypeError; shapes and numpy values stay concrete; eagerly and under grad/vmap
without jit they run at once. Constant folding is the compiler's business."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad._src.core import ConcretizationTypeError, Tracer


def test_constants_inside_jit_are_tracers():
    seen = {}

    def f(x):
        n = fnp.array(x.shape).prod()
        r = fnp.arange(3) * 2
        seen.update(n=n, r=r, shape=x.shape, npv=np.ones(2) * 2)
        return x * n + r.sum()

    out = fg.jit(f)(fnp.ones((2, 3)))
    np.testing.assert_array_equal(np.asarray(out), np.full((2, 3), 12.0))
    assert isinstance(seen["n"], Tracer) and isinstance(seen["r"], Tracer)
    assert seen["shape"] == (2, 3) and isinstance(seen["shape"][0], int)
    assert isinstance(seen["npv"], np.ndarray)


def test_python_conversion_of_staged_constant_raises():
    def f(x):
        return x * int(fnp.array(x.shape).prod())

    with pytest.raises(ConcretizationTypeError):
        fg.jit(f)(fnp.ones(3))
    # the static shape works, as in JAX
    assert float(fg.jit(lambda x: x.sum() * int(np.prod(x.shape)))(fnp.ones(3))) == 9.0


def test_make_jaxpr_shows_staged_constant_operations():
    text = str(fg.make_jaxpr(lambda x: x + fnp.arange(3.0) * 2)(fnp.ones(3)))
    assert "mul" in text and "add" in text


def test_ensure_compile_time_eval_runs_at_once():
    seen = {}

    def f(x):
        with fg.ensure_compile_time_eval():
            n = fnp.array(x.shape).prod()
            seen["n"] = n
            k = int(n)
        return x * k

    assert float(fg.jit(f)(fnp.ones(4)).sum()) == 16.0
    assert not isinstance(seen["n"], Tracer)


def test_eager_and_grad_without_jit_stay_concrete():
    seen = {}

    def f(x):
        c = fnp.arange(3.0) * 2
        seen["c"] = c
        return (x * c).sum()

    assert float(f(fnp.ones(3))) == 6.0
    assert not isinstance(seen["c"], Tracer)
    np.testing.assert_array_equal(np.asarray(fg.grad(f)(fnp.ones(3))), [0.0, 2.0, 4.0])
    assert not isinstance(seen["c"], Tracer)  # grad without jit: concrete, as in JAX


def test_python_scalars_still_literals():
    text = str(fg.make_jaxpr(lambda x: x * 3)(fnp.float32(2.0)))
    assert text == "{ lambda  ; a:f32[] . let\n    b:f32[] = mul a 3.0\n  in ( b ) }"
