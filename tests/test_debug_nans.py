"""debug_nans / debug_infs as in JAX: config flags (``jax_`` names, environment variables),
context managers, JAX's FloatingPointError naming the primitive, and under jit a de-optimised
re-run naming the primitive and the user's source line (forward and backward passes)."""

import os
import subprocess
import sys

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad._src import debug_nans as dn

HERE = os.path.abspath(__file__)


def _line(text):
    """The line number of ``text`` in this file (for the source-line checks)."""
    lines = open(HERE).read().splitlines()
    return next(i + 1 for i, line in enumerate(lines) if text in line)


def f_log(x):
    y = fnp.log(x)  # the NaN source of f_log
    return y * 2.0


def f_sqrt_where(x):
    return fnp.where(x > 0, fnp.sqrt(x), 0.0)  # backward NaN source


def test_context_managers_and_config_flags():
    x = -fnp.ones(3)
    assert np.isnan(np.asarray(f_log(x))).all()  # off by default
    with fg.debug_nans(True):
        assert fg.config.debug_nans
        with pytest.raises(FloatingPointError, match=r"invalid value \(nan\) encountered in log"):
            f_log(x)
        with fg.debug_nans(False):
            f_log(x)
    assert not fg.config.debug_nans
    fg.config.update("jax_debug_nans", True)
    try:
        with pytest.raises(FloatingPointError):
            f_log(x)
    finally:
        fg.config.update("jax_debug_nans", False)
    with fg.debug_infs(True):
        with pytest.raises(FloatingPointError, match=r"invalid value \(inf\) encountered in div"):
            fnp.ones(2) / 0.0
        assert np.isnan(np.asarray(fnp.zeros(2) / 0.0)).all()  # NaNs are debug_nans' job
    assert not fg.config.debug_infs


@pytest.mark.parametrize("var", ["JAX_DEBUG_NANS", "FUNCGRAD_DEBUG_NANS"])
def test_environment_variable(var):
    code = (
        "import funcgrad as fg, funcgrad.numpy as fnp\n"
        "assert fg.config.debug_nans\n"
        "try:\n    fnp.log(-fnp.ones(2))\nexcept FloatingPointError:\n    print('raised')\n"
    )
    env = {**os.environ, var: "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "raised", out.stderr


def test_eager_names_primitive_and_line():
    with fg.debug_nans(True):
        with pytest.raises(FloatingPointError) as e:
            f_log(-fnp.ones(3))
    msg = str(e.value)
    assert msg.startswith("invalid value (nan) encountered in log")
    assert f"{HERE}:{_line('the NaN source of f_log')}" in msg


def test_jit_reruns_deoptimised_to_name_primitive_and_line(caplog):
    f = fg.jit(f_log)
    with fg.debug_nans(True):
        f(fnp.ones(3))  # no NaN: no error
        with pytest.raises(FloatingPointError) as e:
            f(-fnp.ones(3))
    msg = str(e.value)
    assert msg.startswith("invalid value (nan) encountered in log")
    assert f"{HERE}:{_line('the NaN source of f_log')}" in msg
    assert "de-optimized" in caplog.text
    assert np.isnan(np.asarray(f(-fnp.ones(3)))).all()  # flag off again: no check


@pytest.mark.parametrize(
    "make", [lambda: fg.grad(f_sqrt_where), lambda: fg.jit(fg.grad(f_sqrt_where))]
)
def test_backward_pass_names_the_forward_op_and_line(make):
    g = make()
    with fg.debug_nans(True):
        assert float(g(4.0)) == 0.25
        with pytest.raises(FloatingPointError) as e:
            g(0.0)
    msg = str(e.value)
    assert msg.startswith("invalid value (nan) encountered in div")
    assert "backward pass" in msg and "'sqrt'" in msg
    assert f"{HERE}:{_line('backward NaN source')}" in msg


def test_grad_of_jit_names_the_inner_primitive():
    with fg.debug_nans(True):
        with pytest.raises(FloatingPointError, match="encountered in div"):
            fg.grad(fg.jit(f_sqrt_where))(0.0)


def test_debug_infs_under_jit():
    f = fg.jit(lambda x: fnp.exp(x) * 2.0)
    with fg.debug_infs(True):
        with pytest.raises(FloatingPointError, match=r"invalid value \(inf\) encountered in exp"):
            f(fnp.full(3, 1e4))


def test_no_checks_when_flags_are_off(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("checked while the flags are off")

    monkeypatch.setattr(dn, "check", boom)
    monkeypatch.setattr(dn, "check_jit", boom)
    monkeypatch.setattr(dn, "user_site", boom)
    x = -fnp.ones(3)
    f_log(x)
    fg.jit(f_log)(x)
    fg.grad(lambda v: fnp.sum(f_log(v)))(x)
    assert not fg.config.check_floats
