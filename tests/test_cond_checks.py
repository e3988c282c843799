"""lax.cond / lax.switch check their branches' output types also for a concrete predicate
(JAX traces every branch), with JAX's TypeError messages."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax


def test_concrete_pred_structure_mismatch():
    with pytest.raises(TypeError) as e:
        lax.cond(True, lambda x: x, lambda x: (x, x), 1.0)
    msg = str(e.value)
    assert msg.startswith("cond branch outputs must have the same pytree structure")
    assert "true_fun is <lambda> at " in msg and "false_fun is <lambda> at " in msg
    assert "true_fun output is a pytree leaf but false_fun output is a <class 'tuple'>" in msg
    assert "so their Python types differ" in msg


def test_concrete_pred_shape_and_dtype_mismatch():
    with pytest.raises(TypeError, match="so the shapes do not match") as e:
        lax.cond(False, lambda x: x, lambda x: fnp.ones(3), fnp.float32(1.0))
    assert (
        "The output of true_fun has type float32[] but the corresponding output of "
        "false_fun has type float32[3]"
    ) in str(e.value)
    with pytest.raises(TypeError, match="so the dtypes do not match"):
        lax.cond(True, lambda x: x, lambda x: fnp.int32(1), fnp.float32(1.0))


def test_concrete_switch_mismatch():
    fs = [lambda x: x, lambda x: fnp.ones(3), lambda x: x]
    with pytest.raises(TypeError) as e:
        lax.switch(0, fs, fnp.float32(1.0))
    msg = str(e.value)
    assert msg.startswith("switch branches must have equal output types")
    assert "branch 0 is <lambda>" in msg and "branch1 is <lambda>" in msg
    with pytest.raises(TypeError, match="pytree node metadata does not match"):
        lax.switch(1, [lambda x: {"a": x}, lambda x: {"b": x}], 1.0)


def test_traced_pred_same_messages():
    f = lambda p: lax.cond(p, lambda: fnp.zeros(2), lambda: fnp.zeros(3))
    with pytest.raises(TypeError, match="cond branches must have equal output types"):
        fg.jit(f)(True)


def test_each_branch_traced_once_and_concrete_pred_runs_chosen():
    calls = []

    def t(x):
        calls.append("t")
        return x * 2

    def f(x):
        calls.append("f")
        return x * 3

    assert float(lax.cond(True, t, f, 1.5)) == 3.0
    assert float(lax.cond(0, t, f, 1.5)) == 4.5
    assert sorted(calls) == ["f", "f", "t", "t"]  # JAX traces both branches once per call
    assert float(fg.grad(lambda x: lax.cond(True, t, f, x))(1.0)) == 2.0
    assert float(fg.grad(lambda x: lax.switch(5, [t, f], x))(1.0)) == 3.0
    np.testing.assert_allclose(
        np.asarray(fg.vmap(lambda x: lax.cond(False, t, f, x))(fnp.arange(3.0))), [0, 3, 6]
    )


def test_weak_python_scalars_agree_with_arrays():
    # a weakly typed Python float and a float32 array are the same type for the check
    out = lax.cond(True, lambda x: x, lambda x: 1.0, fnp.float32(2.0))
    assert float(out) == 2.0
