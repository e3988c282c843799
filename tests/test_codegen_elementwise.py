"""Big elementwise loop kernels: strip-mined innermost loops with software prefetch.

``codegen._emit_elementwise`` splits the innermost loop of a big kernel into strips and
prefetches the contiguous input streams ahead of each strip. These tests check that the strips
are emitted where expected (the LLVM IR calls ``llvm.prefetch``) and that the results match
numpy on sizes that are not multiples of a strip, with several dims, broadcast and transposed
inputs, every dtype, and the loop split over threads (each thread's range starts anywhere).
"""

from __future__ import annotations

import numpy as np
import pytest
from funcgrad.backend.cpu import codegen

import funcgrad as fg
import funcgrad.numpy as fnp

pytestmark = pytest.mark.usefixtures("strict_jit")

BIG = codegen.PREFETCH_MIN_ELEMENTS
PAR = codegen.PARALLEL_MIN_ELEMENTS


def _rand(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind == "i":
        return rng.integers(-1000, 1000, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _check(f, ref, args, *, prefetch, threads=1, rtol=2e-6, atol=2e-6):
    """Jit ``f`` on ``args``: native only, prefetching as expected, equal to ``ref``."""
    with fg.config.override(num_threads=threads, enable_x64=True):
        jf = fg.jit(f)
        lowered = jf.lower(*args)
        assert "FALLBACK" not in lowered.as_text("kernels")
        assert ("llvm.prefetch" in lowered.as_text("llvm")) == prefetch
        got = np.asarray(jf(*args))
    want = ref(*args)
    assert got.dtype == want.dtype and got.shape == want.shape
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n", [BIG, BIG + 77, 3 * BIG - 1])
@pytest.mark.parametrize("seed", [0, 1])
def test_transcendental_chain_1d(n, seed):
    x = _rand(np.random.default_rng(seed), n, np.float32)
    _check(
        lambda x: fnp.tanh(x) * 0.5 + fnp.sin(x) ** 2 - fnp.exp(-x * x),
        lambda x: np.tanh(x) * np.float32(0.5) + np.sin(x) ** 2 - np.exp(-x * x),
        (x,),
        prefetch=True,
    )


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("n", [PAR + 1, 2 * PAR + 333])
def test_threaded_split(n, threads):
    x = _rand(np.random.default_rng(n), n, np.float32)
    _check(
        lambda x: fnp.exp(x) + fnp.exp(x * 0.5),
        lambda x: np.exp(x) + np.exp(x * np.float32(0.5)),
        (x,),
        prefetch=True,
        threads=threads,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.bool_])
def test_dtypes(dtype):
    rng = np.random.default_rng(3)
    x, y = _rand(rng, BIG + 5, dtype), _rand(rng, BIG + 5, dtype)
    if np.dtype(dtype).kind == "b":
        f, ref = (lambda x, y: x ^ y), (lambda x, y: x ^ y)
    else:
        f, ref = (lambda x, y: x * y - x), (lambda x, y: x * y - x)
    _check(f, ref, (x, y), prefetch=True, rtol=1e-12)


def test_mixed_widths():
    rng = np.random.default_rng(4)
    x, y = _rand(rng, BIG + 9, np.float64), _rand(rng, BIG + 9, np.float32)
    _check(
        lambda x, y: x * y.astype(np.float64) + 1.0,
        lambda x, y: x * y.astype(np.float64) + 1.0,
        (x, y),
        prefetch=True,
        rtol=1e-12,
    )


@pytest.mark.parametrize("threads", [1, 2])
def test_rows_with_broadcast_and_transpose(threads):
    rng = np.random.default_rng(5)
    x = _rand(rng, (131, 2053), np.float32)
    b = _rand(rng, (2053,), np.float32)
    t = _rand(rng, (2053, 131), np.float32)
    _check(
        lambda x, b, t: fnp.exp(x) * b + t.T,
        lambda x, b, t: np.exp(x) * b + t.T,
        (x, b, t),
        prefetch=True,
        threads=threads,
    )


def test_sliced_inputs():
    x = _rand(np.random.default_rng(6), BIG + 2000, np.float32)
    _check(lambda x: fnp.sin(x[1:]) - x[:-1], lambda x: np.sin(x[1:]) - x[:-1], (x,), prefetch=True)


@pytest.mark.parametrize("shape", [(BIG - 1,), (0, BIG), (1, 1), ()])
def test_no_strips_for_small_loops(shape):
    x = _rand(np.random.default_rng(7), shape, np.float32)
    _check(lambda x: fnp.exp(x) * 2.0, lambda x: np.exp(x) * np.float32(2.0), (x,), prefetch=False)


def test_no_strips_for_short_inner_dims():
    rng = np.random.default_rng(9)
    x, c = _rand(rng, (BIG // 16, 16), np.float32), _rand(rng, (BIG // 16, 1), np.float32)
    # the column broadcast keeps the 16-long dim apart: too short to strip
    _check(lambda x, c: fnp.exp(x) - c, lambda x, c: np.exp(x) - c, (x, c), prefetch=False)


def test_no_strips_without_contiguous_input():
    x = _rand(np.random.default_rng(8), (2053, 131), np.float32)
    # the only input is read transposed (inner stride 131): nothing to stream
    _check(lambda x: fnp.exp(x.T), lambda x: np.exp(x.T), (x,), prefetch=False)
