"""The op table (``tests/support/op_table.py``) through jit (native code or the visible numpy
fallback) against eager evaluation, on every jit target in ``TARGETS``.

Each (row, dtype) is jitted once over a list of inputs of all the row's shape sets (odd,
size-1, empty, 0-d), so one compiled module covers all shapes of one op and dtype. The result
must match eager evaluation (and the row's numpy reference, where it has one). On the CPU a row
with ``native`` additionally must not fall back to numpy, and the kernel program interpreted
with numpy must agree with the native code.
"""

from __future__ import annotations

import numpy as np
import pytest
from funcgrad.backend import kernel_ir
from support.op_inputs import make_args
from support.op_table import OPS

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad import tree_util as tu
from funcgrad._src.jit import jit

TARGETS = ["cpu", "ref"]  # jit(f, backend=target) for each

pytestmark = pytest.mark.usefixtures("strict_jit")
F32 = np.float32


def _tol(op, dtype):
    if dtype.kind in "fc":
        return op.tol if dtype.itemsize <= 4 else 1e-10
    return 0


def _assert_matches(got, want, tol, where):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape, (where, got.dtype, want.dtype)
    if got.dtype.kind in "fc":
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True, err_msg=where)
    else:
        np.testing.assert_array_equal(got, want, err_msg=where)


def _check_native_cpu(jf, args):
    """No fallback, and the kernel program interpreted with numpy agrees with native code."""
    lowered = jf.lower(args)
    exe = lowered.compile()._exe
    assert exe.fallbacks() == [], exe.fallbacks()
    flat = [np.asarray(x) for x in (*lowered._entry.consts, *tu.tree_leaves(args))]
    ref = kernel_ir.interpret(exe.program, flat)
    got = exe(*flat)
    for r, g in zip(ref, got):
        if g.dtype.kind == "f":
            np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5, equal_nan=True)
        else:
            np.testing.assert_array_equal(g, r)


NATIVE_CHECKS = {"cpu": _check_native_cpu}  # per target: what "no numpy fallback" means there


def _native(op, dtype) -> bool:
    return op.native is True or (isinstance(op.native, tuple) and dtype in op.native)


# Compiler bugs these rows found (backend/cpu); strict: the test fails once they are fixed,
# and this list must shrink then.
KNOWN_BUGS = {}


def _jit_cases():
    for target in TARGETS:
        for op in OPS:
            bug = KNOWN_BUGS.get((target, op.name))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            for dt in op.dtypes if op.jit else ():
                yield pytest.param(target, op, dt, id=f"{target}-{op.name}-{dt.name}", marks=marks)


@pytest.mark.parametrize("target,op,dtype", list(_jit_cases()))
def test_jit_matches_eager(target, op, dtype):
    with fg.config.override(enable_x64=dtype.itemsize == 8):
        args = [tuple(make_args(op, shapes, dtype, seed=i)) for i, shapes in enumerate(op.shapes)]
        f = lambda xs: [op.fn(*a) for a in xs]
        jf = jit(f, backend=target)
        got = tu.tree_leaves(jf(args))
        want = tu.tree_leaves(f([tuple(fnp.asarray(x) for x in a) for a in args]))
        assert len(got) == len(want)
        for i, (g, w) in enumerate(zip(got, want)):
            _assert_matches(g, w, _tol(op, np.asarray(w).dtype), f"{op.name} output {i}")
        if op.ref is not None:
            _check_ref(op, args, got)
        if _native(op, dtype) and target in NATIVE_CHECKS:
            NATIVE_CHECKS[target](jf, args)


def _check_ref(op, args, got):
    with np.errstate(all="ignore"):
        want = tu.tree_leaves([op.ref(*a) for a in args])
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, (op.name, i, g.shape, w.shape)
        tol = _tol(op, g.dtype)
        if g.dtype.kind in "fc" or w.dtype.kind in "fc":
            np.testing.assert_allclose(
                g.astype(np.float64), w.astype(np.float64), rtol=tol, atol=tol, equal_nan=True
            )
        else:
            np.testing.assert_array_equal(g, w, err_msg=f"{op.name} vs numpy, output {i}")


def test_conv_runs_natively():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 8, 8)).astype(F32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(F32)
    f = lambda x, w: fnp.tanh(lax.conv(x, w, (1, 1), "SAME"))
    np.testing.assert_allclose(np.asarray(jit(f)(x, w)), np.asarray(f(x, w)), rtol=1e-5, atol=1e-5)
    text = jit(f).lower(x, w).as_text("kernels")
    assert "op conv_general_dilated(" in text and "FALLBACK" not in text


def test_nan_and_inf_semantics():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30, -1e30, 3.7], F32)
    f = lambda x: [
        fnp.maximum(x, 0.0),
        fnp.minimum(x, 0.0),
        fnp.max(x),
        fnp.sign(x),
        fnp.isfinite(x),
        x != x,
        fnp.sum(x),
    ]
    for g, w in zip(jit(f)(x), f(x)):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))
    # float -> int saturates and maps NaN to 0 (XLA semantics, as lax documents)
    got = np.asarray(jit(lambda x: x.astype(fnp.int32))(x))
    i32 = np.iinfo(np.int32)
    np.testing.assert_array_equal(got, [0, i32.max, i32.min, 0, 0, i32.max, i32.min, 3])


def test_integer_edge_cases():
    x = np.array([np.iinfo(np.int32).min, -7, -1, 0, 1, 7, 2**31 - 1], np.int32)
    y = np.array([-1, 0, 2, 0, -3, 3, 0], np.int32)
    f = lambda x, y: [lax.div(x, y), lax.rem(x, y), x * y, -x, fnp.abs(x)]
    for g, w in zip(jit(f)(x, y), f(x, y)):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))
