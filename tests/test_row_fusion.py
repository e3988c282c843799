"""Row fusion in the CPU code generator (``codegen.fuse_rows``): consecutive loop kernels over
the same rows (row-wise logsumexp, softmax, log_softmax) run in one kernel, row by row.

Each case is compiled twice, with and without row fusion: the fused program must give
bit-identical results (same accumulation order), agree with the kernel interpreter and with
eager evaluation, and have fewer kernels where fusion applies (the same number where it must
not apply)."""

import re

import numpy as np
import pytest
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.cpu import codegen

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn
from funcgrad.scipy import special

pytestmark = pytest.mark.usefixtures("strict_jit")


def _lse_rows(x):
    m = fnp.max(x, axis=-1, keepdims=True)
    return fnp.log(fnp.sum(fnp.exp(x - m), axis=-1)) + m[..., 0]


def _lse_last2(x):  # reduces the two innermost dims
    m = fnp.max(x, axis=(-2, -1), keepdims=True)
    return fnp.log(fnp.sum(fnp.exp(x - m), axis=(-2, -1)))


FLOAT_FNS = {
    "lse": _lse_rows,
    "lse_last2": _lse_last2,
    "softmax": lambda x: nn.softmax(x, axis=-1),
    "log_softmax": lambda x: nn.log_softmax(x, axis=-1),
    "scipy_logsumexp": lambda x: special.logsumexp(x, axis=-1),
}
INT_FNS = {  # two reductions over the same rows, integer and boolean
    "int_sum_minus_max": lambda x: fnp.sum(x - fnp.max(x, axis=-1, keepdims=True), axis=-1),
    "int_centered_prod": lambda x: fnp.prod((x - fnp.min(x, -1, keepdims=True)) % 3 + 1, -1),
}
BOOL_FNS = {
    "bool_any_and_all": lambda x: fnp.any(x ^ fnp.all(x, axis=-1, keepdims=True), axis=-1),
}
FUSED_SHAPES = [(7, 33), (3, 5, 17), (2, 3, 4, 9), (1, 5, 3), (5, 2), (600, 1000)]
UNFUSED_SHAPES = [(1, 13), (13, 1), (0, 5), (5, 0), (4, 0, 3)]


def _kernel_count(lowered) -> int:
    names = re.findall(r'define internal (?:fastcc )?void @"?(k\d+)"?\(', lowered.as_text("llvm"))
    return len(set(names))


def _compile(fn, x, fuse: bool, monkeypatch):
    monkeypatch.setattr(codegen, "ROW_FUSION", fuse)
    jf = fg.jit(lambda a: fn(a))  # a fresh function: a fresh trace and executable
    lowered = jf.lower(x)
    out = np.asarray(jf(x))
    return lowered, out, _kernel_count(lowered)


def _inputs(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if dtype == np.bool_:
        return rng.random(shape) < 0.7
    if np.dtype(dtype).kind == "i":
        return rng.integers(-50, 50, shape).astype(dtype)
    return (rng.standard_normal(shape) * 4).astype(dtype)


def _check(fn, x, monkeypatch, expect_fused):
    fused_low, fused, n_fused = _compile(fn, x, True, monkeypatch)
    _, plain, n_plain = _compile(fn, x, False, monkeypatch)
    text = fused_low.as_text("kernels")
    assert "FALLBACK" not in text, text
    np.testing.assert_array_equal(fused, plain)  # bit-identical (NaNs where NaNs)
    if expect_fused:
        assert n_fused < n_plain, (n_fused, n_plain)
    else:
        assert n_fused == n_plain, (n_fused, n_plain)
    program = fused_low._executable().program
    consts = [np.asarray(c) for c in fused_low._entry.consts]  # folded constants come first
    (ref,) = K.interpret(program, [*consts, x])
    eager = np.asarray(fn(x))
    tol = 1e-5 if fused.dtype == np.float32 else 1e-12
    if fused.dtype.kind == "f":
        np.testing.assert_allclose(fused, ref.reshape(fused.shape), rtol=tol, atol=tol)
        np.testing.assert_allclose(fused, eager, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(fused, ref.reshape(fused.shape))
        np.testing.assert_array_equal(fused, eager)
    return n_fused, n_plain


@pytest.mark.parametrize("shape", FUSED_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(FLOAT_FNS))
def test_float_rows_fuse(name, shape, monkeypatch):
    if name == "lse_last2":  # rows: all dims but the last two
        shape = shape + (3,)
    for seed, dtype in enumerate([np.float32, np.float64]):
        _check(FLOAT_FNS[name], _inputs(shape, dtype, seed), monkeypatch, expect_fused=True)


@pytest.mark.parametrize("shape", [(7, 33), (3, 4, 9), (300, 1001)], ids=str)
@pytest.mark.parametrize("name", sorted(INT_FNS) + sorted(BOOL_FNS))
def test_int_and_bool_rows_fuse(name, shape, monkeypatch):
    fn, dtype = (INT_FNS[name], np.int32) if name in INT_FNS else (BOOL_FNS[name], np.bool_)
    _check(fn, _inputs(shape, dtype, 3), monkeypatch, expect_fused=True)


@pytest.mark.parametrize("shape", UNFUSED_SHAPES, ids=str)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_single_row_single_column_and_empty_are_left_alone(name, shape, monkeypatch):
    _check(FLOAT_FNS[name], _inputs(shape, np.float32, 5), monkeypatch, expect_fused=False)


def test_special_values(monkeypatch):
    x = _inputs((6, 11), np.float32, 7)
    x[0] = -np.inf  # a row of -inf: max made finite, softmax NaN
    x[1, 3] = np.inf
    x[2, 4] = np.nan
    x[3] = 1e30
    x[4, :5] = -1e30
    for name in ("lse", "softmax", "log_softmax", "scipy_logsumexp"):
        _check(FLOAT_FNS[name], x, monkeypatch, expect_fused=True)


def test_strided_inputs_fuse(monkeypatch):
    # the rows are read through a transposed view of the input: only inputs are strided
    _check(lambda a: _lse_rows(a.T), _inputs((19, 12), np.float32, 8), monkeypatch, True)


def test_other_rows_are_not_fused(monkeypatch):
    # the second reduction reads the first one's result at another row (reversed): running
    # row by row would read rows not computed yet, so the kernels must stay apart
    def f(x):
        m = fnp.max(x, axis=1, keepdims=True)[::-1]
        return fnp.sum(fnp.exp(x - m), axis=1)

    _check(f, _inputs((9, 14), np.float32, 9), monkeypatch, expect_fused=False)


def test_softmax_is_one_kernel(monkeypatch):
    low, _, n = _compile(FLOAT_FNS["softmax"], _inputs((64, 37), np.float32, 10), True, monkeypatch)
    assert n == 1, low.as_text("kernels")


def test_fused_softmax_grad(monkeypatch):
    # the backward pass of log_softmax has row reductions of its own
    x = _inputs((17, 23), np.float32, 11)

    def loss(a):
        return fnp.sum(nn.log_softmax(a) * fnp.arange(23.0))

    fused = np.asarray(fg.jit(fg.grad(loss))(x))
    monkeypatch.setattr(codegen, "ROW_FUSION", False)
    plain = np.asarray(fg.jit(fg.grad(lambda a: loss(a)))(x))
    np.testing.assert_array_equal(fused, plain)
    np.testing.assert_allclose(fused, np.asarray(fg.grad(loss)(x)), rtol=1e-5, atol=1e-5)
