"""Issue 21, part 4: numerics that disagreed between eager and jit, or with numpy/JAX.

Each test states the JAX (or numpy) value it checks against. Part 2 (unsupported dtypes) is in
test_input_dtypes.py; the float32 trigonometric range reduction in test_trig_reduction.py.
"""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

INF = float("inf")


def _both(f, *args):
    """f's value eagerly and under jit, as numpy arrays."""
    return [np.asarray(v) for v in (f(*args), fg.jit(f)(*args))]


# ---- jvp / hessian: a known-zero tangent times inf is not NaN --------------------------------


def test_jvp_of_scaling_at_inf_is_the_scale():
    _, t = fg.jvp(lambda v: v * 3.0, (INF,), (1.0,))
    assert float(t) == 3.0  # JAX: 3.
    _, t = fg.jit(lambda v: fg.jvp(lambda u: 3.0 * u, (v,), (1.0,)))(np.float32(INF))
    assert float(t) == 3.0


@pytest.mark.parametrize(
    "f",
    [
        lambda v: fnp.dot(v, fnp.array([2.0, 3.0])),
        lambda v: fnp.dot(fnp.array([2.0, 3.0]), v),
        lambda v: v * fnp.array([2.0, 3.0]),
        lambda v: v / 0.5,
    ],
)
def test_jvp_with_inf_primal_and_constant_operand(f):
    """The class of the bug: every rule multiplying a lifted constant's zero tangent by a primal."""
    x, tx = fnp.array([INF, 1.0]), fnp.array([1.0, 0.0])
    for t in (fg.jvp(f, (x,), (tx,))[1], fg.jit(lambda x: fg.jvp(f, (x,), (tx,))[1])(x)):
        assert not np.isnan(np.asarray(t)).any(), t


def test_hessian_of_cube_sum_is_finite_near_float32_max():
    x = fnp.array([3e37, -2e37], "float32")
    f = fg.hessian(lambda v: fnp.sum(v**3))
    for h in _both(f, x):
        np.testing.assert_allclose(np.diag(h), 6 * np.asarray(x, np.float64), rtol=1e-6)
        assert np.isfinite(h).all()  # JAX: finite (6 x); the gradient 3 x**2 overflows


# ---- searchsorted: NaN sorts last -------------------------------------------------------------


@pytest.mark.parametrize("a", [[1.0, 2.0, 3.0], [1.0, 2.0, np.nan], [np.nan, np.nan]])
@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_places_nan_as_numpy(a, side):
    v = np.array([np.nan, 2.0, -INF, INF], np.float32)
    want = np.searchsorted(np.array(a, np.float32), v, side=side)  # numpy/JAX: NaN at len(a)
    for got in _both(lambda a, v: fnp.searchsorted(a, v, side=side), np.array(a, np.float32), v):
        np.testing.assert_array_equal(got, want)


# ---- .at[].add on integers: add in the promoted dtype, then cast ------------------------------


def test_at_add_float_to_int_adds_then_casts():
    a = fnp.array([1, -2, 3])
    for got in _both(lambda a: a.at[1].add(0.665), a):
        np.testing.assert_array_equal(got, [1, -1, 3])  # JAX: int(-2 + 0.665) = -1
    for got in _both(lambda a: a.at[np.array([0, 0])].add(0.6), a):
        np.testing.assert_array_equal(got, [2, -2, 3])  # JAX: int(1 + 0.6 + 0.6) = 2
    for got in _both(lambda a: a.at[0].mul(1.5), a):
        np.testing.assert_array_equal(got, [1, -2, 3])  # JAX: int(1 * 1.5) = 1
        assert got.dtype == np.int32


# ---- lax.dot_general: eager refuses mixed dtypes, as jit does --------------------------------


def test_dot_general_mixed_dtypes_raise_eagerly_and_under_jit():
    a, b = fnp.array([1, 2]), fnp.array([1.0, 2.0], "float32")
    dn = (((0,), (0,)), ((), ()))
    with pytest.raises(TypeError, match="dtypes differ"):
        lax.dot_general(a, b, dn)
    with pytest.raises(TypeError, match="dtypes differ"):
        fg.jit(lambda a, b: lax.dot_general(a, b, dn))(a, b)
    assert float(fnp.dot(a, b)) == 5.0  # funcgrad.numpy promotes


def test_lax_concatenate_mixed_dtypes_raise_eagerly_too():
    """The same class: eager concatenate promoted (to float64) where jit raised."""
    a, b = fnp.array([1, 2]), fnp.array([1.0, 2.0], "float32")
    for f in (lax.concatenate, fg.jit(lax.concatenate, static_argnums=1)):
        with pytest.raises(TypeError, match="dtypes differ"):
            f([a, b], 0)
    assert fnp.concatenate([a, b]).dtype == np.float32  # funcgrad.numpy promotes


# ---- take: 'clip' clamps the raw index, 'wrap' takes it modulo n -------------------------------


@pytest.mark.parametrize("mode", ["clip", "wrap"])
def test_take_clip_and_wrap_use_the_raw_index(mode):
    a = np.arange(5) * 10
    idx = np.array([-1, -7, -5, 0, 4, 5, 9])
    want = np.take(a, idx, mode=mode)  # numpy/JAX: clip(-1) is a[0]
    for got in _both(lambda a, i: fnp.take(a, i, mode=mode), a, idx):
        np.testing.assert_array_equal(got, want)


# ---- matrix_power keeps bool and integer dtypes ----------------------------------------------


@pytest.mark.parametrize(
    "m", [np.array([[1, 1], [0, 1]], np.int32), np.array([[True, False], [True, True]])]
)
@pytest.mark.parametrize("n", [0, 1, 3])
def test_matrix_power_keeps_the_dtype(m, n):
    want = np.linalg.matrix_power(m, n)
    for got in _both(lambda m: fnp.linalg.matrix_power(m, n), m):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_matrix_power_negative_inverts_in_float():
    got = np.asarray(fnp.linalg.matrix_power(np.array([[2, 0], [0, 4]]), -1))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [[0.5, 0], [0, 0.25]])
