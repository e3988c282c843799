"""Regression tests for results that used to be silently wrong (JAX/numpy fidelity): truncated
``unique_counts``, ``initial``/``where`` of the NaN reductions, ``preferred_element_type`` of the
products, ``categorical(replace=False)``, ``shape=None`` of the samplers and
``permutation(independent=True)``. Each is checked eagerly and under ``jit`` (and ``vmap``)."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
import funcgrad.random as fr

# ---- unique_counts(size=) ---------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 4, 6])
def test_unique_counts_size_truncates_counts(size):
    x = np.array([5, 1, 3, 3, 1, 1, 7, 5, 5, 5])
    vals, counts = np.unique(x, return_counts=True)  # 4 unique values
    want_v = np.r_[vals, np.full(6, vals[0])][:size]
    want_c = np.r_[counts, np.zeros(6, counts.dtype)][:size]
    f = lambda a: tuple(fnp.unique_counts(a, size=size))
    for got_v, got_c in (f(x), fg.jit(f)(x)):
        np.testing.assert_array_equal(got_v, want_v)
        np.testing.assert_array_equal(got_c, want_c)
    bv, bc = fg.vmap(f)(np.stack([x, x[::-1]]))
    np.testing.assert_array_equal(bc, np.stack([want_c, want_c]))
    np.testing.assert_array_equal(bv, np.stack([want_v, want_v]))


def test_unique_counts_empty_sized_is_named_result():
    r = fnp.unique_counts(np.zeros(0, np.int32), size=3)
    assert type(r).__name__ == "UniqueCountsResult"
    np.testing.assert_array_equal(r.values, [0, 0, 0])
    np.testing.assert_array_equal(r.counts, [0, 0, 0])
    r = fg.jit(lambda a: fnp.unique_counts(a, size=2, fill_value=9).counts)(np.zeros(0))
    np.testing.assert_array_equal(r, [0, 0])


# ---- NaN reductions: initial / where ----------------------------------------------------------

_A = np.array([[1.0, np.nan, 3.0, 4.0], [np.nan, 2.0, -1.0, 0.5], [7.0, 1.0, np.nan, 2.0]])
_W = np.array([[True, True, False, True], [False, True, True, True], [True, False, True, True]])


def _both(f, *args):
    return f(*args), fg.jit(f)(*args)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_nansum_initial_and_where(axis):
    want = np.nansum(_A, axis=axis, initial=10.0, where=_W)
    for got in _both(lambda a, w: fnp.nansum(a, axis=axis, initial=10.0, where=w), _A, _W):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    got = fg.vmap(lambda a, w: fnp.nansum(a, where=w, initial=1.0))(_A, _W)
    np.testing.assert_allclose(got, np.nansum(_A, axis=1, where=_W, initial=1.0), rtol=1e-6)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_nanmean_where(axis):
    want = np.nanmean(_A, axis=axis, where=_W)
    for got in _both(lambda a, w: fnp.nanmean(a, axis=axis, where=w), _A, _W):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    got = fg.vmap(lambda a, w: fnp.nanmean(a, where=w))(_A, _W)
    np.testing.assert_allclose(got, np.nanmean(_A, axis=1, where=_W), rtol=1e-6)


@pytest.mark.parametrize("name", ["nanprod", "nanvar", "nanstd"])
def test_other_nan_reductions_honour_where(name):
    kw = {"initial": 2.0} if name == "nanprod" else {}
    want = getattr(np, name)(_A, axis=1, where=_W, **kw)
    f = lambda a, w: getattr(fnp, name)(a, axis=1, where=w, **kw)
    for got in _both(f, _A, _W):
        np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("name", ["nanmax", "nanmin"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_nan_extrema_initial_and_where(name, axis):
    a = np.vstack([_A, np.full(4, np.nan)])  # an all-NaN row: gives ``initial``
    w = np.vstack([_W, np.ones(4, bool)])
    init = 3.0 if name == "nanmax" else 1.5
    want = getattr(np, name)(a, axis=axis, initial=init, where=w)
    f = lambda x, m: getattr(fnp, name)(x, axis=axis, initial=init, where=m)
    for got in _both(f, a, w):
        np.testing.assert_allclose(got, want)
    got = fg.vmap(lambda x, m: getattr(fnp, name)(x, initial=init, where=m))(a, w)
    np.testing.assert_allclose(got, getattr(np, name)(a, axis=1, initial=init, where=w))
    with pytest.raises(ValueError):
        getattr(fnp, name)(a, where=w)  # where needs initial, as numpy and JAX
    plain = getattr(fnp, name)(a, axis=1)  # without initial, an all-NaN slice is NaN
    assert np.isnan(np.asarray(plain)[-1])


# ---- preferred_element_type -------------------------------------------------------------------

_I8 = np.arange(-6, 6, dtype=np.int8).reshape(3, 4)  # int8 sums of products overflow


@pytest.mark.parametrize(
    "fn, ref",
    [
        (lambda a, **k: fnp.dot(a, a.T, **k), lambda a: a @ a.T),
        (lambda a, **k: fnp.dot(a, a[0], **k), lambda a: a @ a[0]),
        (lambda a, **k: fnp.dot(a[0, 0], a, **k), lambda a: a[0, 0] * a),
        (lambda a, **k: fnp.vdot(a, a, **k), lambda a: np.vdot(a, a)),
        (lambda a, **k: fnp.inner(a, a, **k), lambda a: np.inner(a, a)),
        (lambda a, **k: fnp.inner(a, a[1, 1], **k), lambda a: a * a[1, 1]),
        (lambda a, **k: fnp.einsum("ij->j", a, **k), lambda a: a.sum(0)),
        (lambda a, **k: fnp.einsum("ij,kj->ik", a, a, **k), lambda a: a @ a.T),
        (lambda a, **k: fnp.matmul(a * 9, a.T * 9, **k), lambda a: (a * 9) @ (a.T * 9)),
        (lambda a, **k: fnp.tensordot(a * 9, a * 9, 2, **k), lambda a: np.sum(a * a * 81)),
    ],
)
def test_products_honour_preferred_element_type(fn, ref):
    want = ref(_I8.astype(np.int32))
    f = lambda a: fn(a, preferred_element_type=np.int32)
    for got in _both(f, _I8):
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, want)
    got = fg.vmap(f)(np.stack([_I8, _I8]))
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, np.stack([want, want]))


def test_dot_preferred_float_dtype():
    a = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    for got in _both(lambda x: fnp.dot(x, x.T, preferred_element_type=np.float16), a):
        assert got.dtype == np.float16
        np.testing.assert_allclose(np.asarray(got, np.float32), a @ a.T, rtol=1e-2)


# ---- categorical(replace=False) ---------------------------------------------------------------

_LOGITS = np.log(np.array([0.1, 0.15, 0.25, 0.5]))


def test_categorical_without_replacement_has_no_repeats():
    keys = fr.split(fr.PRNGKey(3), 200)
    f = lambda k: fr.categorical(k, _LOGITS, shape=(4,), replace=False)
    draws = np.asarray(fg.vmap(f)(keys))
    assert draws.shape == (200, 4)
    assert all(sorted(d) == [0, 1, 2, 3] for d in draws)
    eager, jitted = f(keys[0]), fg.jit(f)(keys[0])
    np.testing.assert_array_equal(eager, jitted)
    assert sorted(np.asarray(eager)) == [0, 1, 2, 3]


def test_categorical_without_replacement_batched_logits():
    logits = np.stack([_LOGITS, _LOGITS[::-1], np.zeros(4)], axis=0).T  # categories on axis 0
    f = lambda k: fr.categorical(k, logits, axis=0, shape=(2, 2, 3), replace=False)
    for got in _both(f, fr.PRNGKey(1)):
        got = np.asarray(got).reshape(4, 3)
        assert got.shape == (4, 3) and got.dtype.kind == "i"
        for j in range(3):
            assert sorted(got[:, j]) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="categories"):
        fr.categorical(fr.PRNGKey(0), _LOGITS, shape=(5,), replace=False)


def test_categorical_without_replacement_first_draw_frequencies():
    n = 20000
    f = fg.jit(fg.vmap(lambda k: fr.categorical(k, _LOGITS, shape=(2,), replace=False)))
    draws = np.asarray(f(fr.split(fr.PRNGKey(7), n)))
    assert np.all(draws[:, 0] != draws[:, 1])
    p = np.exp(_LOGITS) / np.exp(_LOGITS).sum()
    freq = np.bincount(draws[:, 0], minlength=4) / n
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / n)), (freq, p)


# ---- shape=None -------------------------------------------------------------------------------
# As recorded with jax 0.10.2 (tests/data/jax_silent_fixes.json, "shape_none"): samplers whose shape
# defaults to () raise TypeError for shape=None; samplers with parameters take their shape.

JAX_REFUSES_SHAPE_NONE = [
    lambda k: fr.generalized_normal(k, 2.0, shape=None),
    lambda k: fr.weibull_min(k, 1.0, 2.0, shape=None),
    lambda k: fr.double_sided_maxwell(k, 0.0, 1.0, shape=None),
    lambda k: fr.cauchy(k, shape=None),
    lambda k: fr.maxwell(k, shape=None),
    lambda k: fr.normal(k, shape=None),
    lambda k: fr.exponential(k, shape=None),
    lambda k: fr.uniform(k, shape=None),
]


@pytest.mark.parametrize("fn", JAX_REFUSES_SHAPE_NONE)
def test_samplers_refuse_shape_none_as_jax(fn):
    with pytest.raises(TypeError):
        fn(fr.PRNGKey(0))


@pytest.mark.parametrize(
    "fn, want_shape",
    [
        (lambda k: fr.t(k, np.full(3, 4.0), shape=None), (3,)),
        (lambda k: fr.gamma(k, np.full((2, 3), 2.0), shape=None), (2, 3)),
        (lambda k: fr.beta(k, 2.0, np.full(4, 3.0), shape=None), (4,)),
    ],
)
def test_parameterised_samplers_take_shape_none_from_parameters(fn, want_shape):
    key = fr.PRNGKey(0)
    eager, jitted = _both(fn, key)
    assert eager.shape == jitted.shape == want_shape
    np.testing.assert_allclose(eager, jitted, rtol=1e-5)
    assert fg.vmap(fn)(fr.split(key, 3)).shape == (3,) + want_shape


# ---- permutation(independent=True) ------------------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_permutation_independent(axis):
    x = np.arange(6 * 40).reshape(6, 40)
    f = lambda k, a: fr.permutation(k, a, axis=axis, independent=True)
    eager, jitted = _both(f, fr.PRNGKey(2), x)
    np.testing.assert_array_equal(eager, jitted)
    got = np.asarray(eager)
    np.testing.assert_array_equal(np.sort(got, axis=axis), x)  # each slice permuted
    slices = np.moveaxis(got, axis, -1) - np.moveaxis(x, axis, -1)[..., :1]
    assert len({tuple(s) for s in slices}) > 1  # not one permutation shared by every slice
    shared = np.asarray(fr.permutation(fr.PRNGKey(2), x, axis=axis))
    order = np.moveaxis(shared, axis, -1) - np.moveaxis(x, axis, -1)[..., :1]
    assert len({tuple(s) for s in order}) == 1
    batched = fg.vmap(lambda k: f(k, x))(fr.split(fr.PRNGKey(4), 2))
    np.testing.assert_array_equal(np.sort(np.asarray(batched), axis=axis % 2 + 1), [x, x])


def test_permutation_zero_d():
    with pytest.raises(TypeError):
        fr.permutation(fr.PRNGKey(0), np.array(2.5))
    with pytest.raises(TypeError):
        fg.jit(lambda k, n: fr.permutation(k, n))(fr.PRNGKey(0), np.array(4))
    got = fr.permutation(fr.PRNGKey(0), np.array(5))  # a concrete 0-d int is range(n), as JAX
    np.testing.assert_array_equal(np.sort(np.asarray(got)), np.arange(5))


# ---- against recorded JAX results (tests/data/make_jax_silent_fixes.py) -------------------------


def _jax_ref():
    import json
    from pathlib import Path

    return json.loads((Path(__file__).parent / "data" / "jax_silent_fixes.json").read_text())


def test_silent_fixes_match_recorded_jax_results():
    ref = _jax_ref()
    key = fr.PRNGKey(0)
    logits = fnp.array([0.1, 1.0, -0.5, 2.0, 0.3, 0.0])
    a = fnp.array([[1.0, np.nan, 3.0], [4.0, 5.0, np.nan]])
    w = fnp.array([[True, False, True], [False, True, True]])
    i8 = fnp.array([[100, 100], [100, 100]], dtype=fnp.int8)
    r = fnp.unique_counts(fnp.array([3, 1, 2, 3, 1, 5, 5, 5]), size=2)
    got = {
        "categorical_no_replace": fr.categorical(key, logits, shape=(4,), replace=False),
        "categorical": fr.categorical(key, logits, shape=(4,)),
        "nansum": fnp.nansum(a, axis=1, initial=2.0, where=w),
        "nanmean": fnp.nanmean(a, axis=1, where=w),
        "nanmax": fnp.nanmax(a, axis=1, initial=-1.0, where=w),
        "unique_counts_size2": [r.values, r.counts],
        "dot_int8_to_int32": fnp.dot(i8, i8, preferred_element_type=fnp.int32),
    }
    for name, value in got.items():
        np.testing.assert_array_equal(np.asarray(value), np.asarray(ref[name]), err_msg=name)


def test_shape_none_matches_recorded_jax_behaviour():
    key = fr.PRNGKey(0)
    calls = {
        "normal": lambda: fr.normal(key, shape=None),
        "cauchy": lambda: fr.cauchy(key, shape=None),
        "generalized_normal": lambda: fr.generalized_normal(key, 2.0, shape=None),
        "weibull_min": lambda: fr.weibull_min(key, 1.0, 2.0, shape=None),
        "t": lambda: fr.t(key, fnp.full(3, 4.0), shape=None),
        "gamma": lambda: fr.gamma(key, fnp.full((2, 3), 2.0), shape=None),
    }
    for name, call in calls.items():
        want = _jax_ref()["shape_none"][name]
        if want == "TypeError":
            with pytest.raises(TypeError):
                call()
        else:
            assert list(np.shape(call())) == want, name
