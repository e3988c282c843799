"""Float accuracy as JAX's: eager float32 sums (and mean, var, std, norm, cumsum built on them)
agree with the compiled ones and with float64 references to float32 rounding over 10^4-10^6
elements, along any axis. A running float32 sum (numpy's for a strided axis or a cumsum) is
off by ~1e-6 at 10^4 elements of ~1000 and ~1e-2 at 10^6: the tolerances below reject it."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

RTOL = {10**4: 2e-7, 10**5: 3e-7, 10**6: 5e-7}


def _data(n, seed=0):
    return (np.random.default_rng(seed).random(n, dtype=np.float32) + 1000).astype(np.float32)


def _naive_error(x):
    return abs(float(np.cumsum(x)[-1]) - x.astype(np.float64).sum()) / x.astype(np.float64).sum()


@pytest.mark.parametrize("n", sorted(RTOL))
def test_the_tolerance_rejects_a_running_float32_sum(n):
    assert _naive_error(_data(n)) > RTOL[n]


@pytest.mark.parametrize("n", sorted(RTOL))
@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_sum_mean_norm(n, mode):
    x = _data(n)
    x64 = x.astype(np.float64)
    wrap = fg.jit if mode == "jit" else (lambda f: f)
    xs = fnp.asarray(x)
    np.testing.assert_allclose(float(wrap(fnp.sum)(xs)), x64.sum(), rtol=RTOL[n])
    np.testing.assert_allclose(float(wrap(fnp.mean)(xs)), x64.mean(), rtol=RTOL[n])
    ref_norm = np.sqrt((x64**2).sum())
    np.testing.assert_allclose(float(wrap(fnp.linalg.norm)(xs)), ref_norm, rtol=RTOL[n])


@pytest.mark.parametrize("n", sorted(RTOL))
def test_var_std_eager_and_jit(n):
    x = _data(n)
    x64 = x.astype(np.float64)
    xs = fnp.asarray(x)
    np.testing.assert_allclose(float(fnp.var(xs)), x64.var(), rtol=1e-6)
    np.testing.assert_allclose(float(fnp.std(xs)), x64.std(), rtol=1e-6)
    np.testing.assert_allclose(float(fg.jit(fnp.var)(xs)), x64.var(), rtol=1e-5)


@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_sum_along_a_strided_axis(mode):
    x = _data(10**6).reshape(-1, 4)  # 250000 rows: numpy's axis-0 sum is a running sum
    ref = x.astype(np.float64).sum(0)
    f = lambda a: fnp.sum(a, axis=0)
    out = np.asarray((fg.jit(f) if mode == "jit" else f)(fnp.asarray(x)))
    np.testing.assert_allclose(out, ref, rtol=5e-7)
    assert np.abs(x.sum(0) - ref).max() / ref.max() > 5e-7  # numpy's own is not as good


@pytest.mark.parametrize("shape,axis", [((10**6,), 0), ((4, 10**5), 1), ((10**5, 3), 0)])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumsum_eager_equals_jit_and_is_accurate(shape, axis, reverse):
    x = _data(int(np.prod(shape))).reshape(shape)
    eager = np.asarray(lax.cumsum(fnp.asarray(x), axis, reverse))
    jitted = np.asarray(fg.jit(lambda a: lax.cumsum(a, axis, reverse))(fnp.asarray(x)))
    np.testing.assert_array_equal(eager, jitted)
    x64 = np.flip(x, axis).astype(np.float64) if reverse else x.astype(np.float64)
    ref = np.cumsum(x64, axis)
    ref = np.flip(ref, axis) if reverse else ref
    np.testing.assert_allclose(eager, ref, rtol=1e-7)


def test_eager_and_jit_sums_agree_to_float32_rounding():
    x = fnp.asarray(_data(10**6, seed=3).reshape(1000, 1000))
    for axis in (0, 1, None):
        e = np.asarray(fnp.sum(x, axis=axis))
        j = np.asarray(fg.jit(lambda a, axis=axis: fnp.sum(a, axis=axis))(x))
        np.testing.assert_allclose(e, j, rtol=5e-7)
