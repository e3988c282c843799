"""The rest of jax.numpy (diff, convolve, sets, polynomials, ...; in funcgrad._src.numpy),
checked against numpy on random inputs, under jit, and with grad / vmap where they apply; bad
input raises clearly."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.test_util import check_grads

rng = np.random.RandomState(0)
pytestmark = [
    pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors"),
    pytest.mark.usefixtures("strict_jit"),
]


def R(*s):
    return rng.uniform(-2.0, 2.0, s).astype(np.float32)


def close(a, b, tol=1e-5):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# ---- against numpy, eager and under jit ------------------------------------------------------

X34, X5, Y5, V3 = R(3, 4), R(5), R(5), R(3)
XP = np.sort(R(7))
CASES = [
    ("diff", lambda x: fnp.diff(x), lambda x: np.diff(x), (X34,)),
    (
        "diff_n2_axis0",
        lambda x: fnp.diff(x, n=2, axis=0),
        lambda x: np.diff(x, n=2, axis=0),
        (X34,),
    ),
    (
        "diff_prepend",
        lambda x: fnp.diff(x, prepend=0.0, append=x[:, :1]),
        lambda x: np.diff(x, prepend=0.0, append=x[:, :1]),
        (X34,),
    ),
    (
        "ediff1d",
        lambda x: fnp.ediff1d(x, to_begin=[9.0], to_end=[1.0, 2.0]),
        lambda x: np.ediff1d(x, to_begin=[9.0], to_end=[1.0, 2.0]),
        (X34,),
    ),
    (
        "gradient",
        lambda x: fnp.gradient(x, 0.5, axis=1),
        lambda x: np.gradient(x, 0.5, axis=1),
        (X34,),
    ),
    (
        "gradient_all",
        lambda x: fnp.stack(fnp.gradient(x)),
        lambda x: np.stack(np.gradient(x)),
        (X34,),
    ),
    ("unwrap", lambda x: fnp.unwrap(x * 4), lambda x: np.unwrap(x * 4), (X34,)),
    ("cross3", lambda a, b: fnp.cross(a, b), np.cross, (R(4, 3), R(4, 3))),
    ("cross2", lambda a, b: fnp.cross(a, b), np.cross, (R(4, 2), R(4, 2))),
    ("cross23", lambda a, b: fnp.cross(a, b), np.cross, (R(4, 2), R(3))),
    (
        "cross_axis",
        lambda a, b: fnp.cross(a, b, axis=0),
        lambda a, b: np.cross(a, b, axis=0),
        (R(3, 4), R(3, 4)),
    ),
    ("convolve_full", fnp.convolve, np.convolve, (X5, V3)),
    (
        "convolve_same",
        lambda a, v: fnp.convolve(a, v, "same"),
        lambda a, v: np.convolve(a, v, "same"),
        (X5, R(4)),
    ),
    (
        "convolve_valid_swap",
        lambda a, v: fnp.convolve(a, v, "valid"),
        lambda a, v: np.convolve(a, v, "valid"),
        (V3, X5),
    ),
    ("correlate", fnp.correlate, np.correlate, (X5, V3)),
    (
        "correlate_full_swap",
        lambda a, v: fnp.correlate(a, v, "full"),
        lambda a, v: np.correlate(a, v, "full"),
        (V3, X5),
    ),
    (
        "correlate_same",
        lambda a, v: fnp.correlate(a, v, "same"),
        lambda a, v: np.correlate(a, v, "same"),
        (R(6), R(4)),
    ),
    (
        "interp",
        lambda x: fnp.interp(x, XP, XP**2),
        lambda x: np.interp(x, XP, XP**2),
        (R(20) * 1.5,),
    ),
    (
        "interp_lr",
        lambda x: fnp.interp(x, XP, XP**2, left=-1.0, right=7.0),
        lambda x: np.interp(x, XP, XP**2, left=-1.0, right=7.0),
        (R(20) * 1.5,),
    ),
    (
        "interp_extrapolate",
        lambda x: fnp.interp(x, XP, XP * 3 + 1, left="extrapolate", right="extrapolate"),
        lambda x: x * 3 + 1,
        (R(20) * 3,),
    ),
    (
        "interp_period",
        lambda x: fnp.interp(x, XP, np.sin(XP), period=3.0),
        lambda x: np.interp(x, XP, np.sin(XP), period=3.0),
        (R(20) * 3,),
    ),
    (
        "isin",
        lambda a: fnp.isin(a, fnp.array([1, 3, 5])),  # JAX rejects a list
        lambda a: np.isin(a, [1, 3, 5]),
        (rng.randint(0, 7, (4, 5)),),
    ),
    (
        "isin_invert",
        lambda a: fnp.isin(a, np.array([[1, 3]]), invert=True),
        lambda a: np.isin(a, [1, 3], invert=True),
        (rng.randint(0, 7, (6,)),),
    ),
    (
        "select",
        lambda x: fnp.select([x < -1, x > 1], [x**2, -x], 7.0),
        lambda x: np.select([x < -1, x > 1], [x**2, -x], 7.0),
        (X34,),
    ),
    (
        "piecewise",
        lambda x: fnp.piecewise(x, [x < 0, x > 1], [lambda t: -t, 5.0, fnp.sin]),
        lambda x: np.piecewise(x, [x < 0, x > 1], [lambda t: -t, 5.0, np.sin]),
        (X34,),
    ),
    ("append", lambda a, b: fnp.append(a, b), np.append, (X34, X5)),
    (
        "append_axis",
        lambda a, b: fnp.append(a, b, axis=0),
        lambda a, b: np.append(a, b, 0),
        (X34, R(2, 4)),
    ),
    ("insert_scalar", lambda a: fnp.insert(a, 2, 9.0), lambda a: np.insert(a, 2, 9.0), (X34,)),
    (
        "insert_axis",
        lambda a: fnp.insert(a, 1, fnp.array([7.0, 8.0, 9.0]), axis=1),
        lambda a: np.insert(a, 1, [7.0, 8.0, 9.0], axis=1),
        (X34,),
    ),
    (
        "insert_many",
        lambda a: fnp.insert(a, [3, 0, -1], [1.0, 2.0, 3.0]),
        lambda a: np.insert(a, [3, 0, -1], [1.0, 2.0, 3.0]),
        (X5,),
    ),
    (
        "insert_slice",
        lambda a: fnp.insert(a, slice(0, 4, 2), 0.5, axis=0),
        lambda a: np.insert(a, slice(0, 4, 2), 0.5, axis=0),
        (X34,),
    ),
    ("delete", lambda a: fnp.delete(a, fnp.array([0, 2])), lambda a: np.delete(a, [0, 2]), (X34,)),
    (
        "delete_axis",
        lambda a: fnp.delete(a, -1, axis=1),
        lambda a: np.delete(a, -1, axis=1),
        (X34,),
    ),
    (
        "delete_slice",
        lambda a: fnp.delete(a, slice(None, None, 2), axis=1),
        lambda a: np.delete(a, slice(None, None, 2), axis=1),
        (X34,),
    ),
    (
        "fill_diagonal",
        lambda a: fnp.fill_diagonal(a, 5.0, inplace=False),
        lambda a: _np_fill(a, 5.0),
        (X34,),
    ),
    (
        "fill_diagonal_wrap",
        lambda a: fnp.fill_diagonal(a, fnp.array([1.0, 2.0]), wrap=True, inplace=False),
        lambda a: _np_fill(a, [1.0, 2.0], True),
        (R(7, 3),),
    ),
    ("polyval", fnp.polyval, np.polyval, (V3, X34)),
    ("polyadd", fnp.polyadd, np.polyadd, (V3, X5)),
    (
        "polyval_batched",
        fnp.polyval,
        lambda p, x: sum(p[i] * x ** (2 - i) for i in range(3)),
        (R(3, 4), R(2, 4)),
    ),
    (
        "polyadd_2d",
        fnp.polyadd,
        lambda a, b: np.concatenate([np.zeros((2, 4)), a]) + b,
        (R(3, 4), R(5, 4)),
    ),
    ("polysub", fnp.polysub, np.polysub, (X5, V3)),
    ("polymul", fnp.polymul, np.polymul, (X5, V3)),
    ("polyder", lambda p: fnp.polyder(p, 2), lambda p: np.polyder(p, 2), (X5,)),
    (
        "polyint",
        lambda p: fnp.polyint(p, 2, k=[1.0, 2.0]),
        lambda p: np.polyint(p, 2, k=[1.0, 2.0]),
        (X5,),
    ),
    ("vander", lambda x: fnp.vander(x, 4), lambda x: np.vander(x, 4), (X5,)),
    (
        "vander_inc",
        lambda x: fnp.vander(x, increasing=True),
        lambda x: np.vander(x, increasing=True),
        (V3,),
    ),
    ("cov", fnp.cov, np.cov, (X34,)),
    (
        "cov_opts",
        lambda x, y: fnp.cov(x, y, rowvar=False, ddof=0),
        lambda x, y: np.cov(x, y, rowvar=False, ddof=0),
        (X34.T, R(4, 2)),
    ),
    (
        "cov_weights",
        lambda x: fnp.cov(
            x, fweights=np.array([1, 2, 1, 3]), aweights=np.array([0.5, 1.0, 2.0, 1.5])
        ),
        lambda x: np.cov(x, fweights=[1, 2, 1, 3], aweights=[0.5, 1.0, 2.0, 1.5]),
        (X34,),
    ),
    ("cov_1d", fnp.cov, np.cov, (X5,)),
    ("corrcoef", fnp.corrcoef, np.corrcoef, (X34,)),
    ("corrcoef_xy", fnp.corrcoef, np.corrcoef, (X5, Y5)),
    (
        "nanvar",
        lambda x: fnp.nanvar(x, axis=1, ddof=1),
        lambda x: np.nanvar(x, axis=1, ddof=1),
        (np.where(X34 > 1, np.nan, X34),),
    ),
    (
        "nanstd",
        lambda x: fnp.nanstd(x, keepdims=True),
        lambda x: np.nanstd(x, keepdims=True),
        (np.where(X34 > 1, np.nan, X34),),
    ),
    (
        "nanprod",
        lambda x: fnp.nanprod(x, axis=0),
        lambda x: np.nanprod(x, axis=0),
        (np.where(X34 > 1, np.nan, X34),),
    ),
    (
        "nanargmax",
        lambda x: fnp.nanargmax(x, axis=1),
        lambda x: np.nanargmax(x, axis=1),
        (np.where(X34 > 1, np.nan, X34),),
    ),
    (
        "nanargmin",
        lambda x: fnp.nanargmin(x),
        lambda x: np.nanargmin(x),
        (np.where(X34 > 1, np.nan, X34),),
    ),
    ("histogram", lambda x: fnp.histogram(x, 5)[0], lambda x: np.histogram(x, 5)[0], (X34,)),
    (
        "histogram_edges",
        lambda x: fnp.histogram(x, 5, range=(-1, 1))[1],
        lambda x: np.histogram(x, 5, range=(-1, 1))[1],
        (X34,),
    ),
    (
        "histogram_w",
        lambda x: fnp.histogram(x, fnp.array([-2.0, -0.5, 0.0, 2.0]), weights=x, density=True)[0],
        lambda x: np.histogram(x, [-2.0, -0.5, 0.0, 2.0], weights=x, density=True)[0],
        (X34,),
    ),
    ("rollaxis", lambda x: fnp.rollaxis(x, 2), lambda x: np.rollaxis(x, 2), (R(2, 3, 4),)),
    (
        "rollaxis_start",
        lambda x: fnp.rollaxis(x, 0, 3),
        lambda x: np.rollaxis(x, 0, 3),
        (R(2, 3, 4),),
    ),
    (
        "block",
        lambda a, b: fnp.block([[a, b], [b, a]]),
        lambda a, b: np.block([[a, b], [b, a]]),
        (R(2, 2), R(2, 2)),
    ),
    ("block_1d", lambda a, b: fnp.block([a, b, 1.0]), lambda a, b: np.block([a, b, 1.0]), (V3, X5)),
    ("frexp_m", lambda x: fnp.frexp(x * 1e3)[0], lambda x: np.frexp(x * 1e3)[0], (X34,)),
    ("frexp_e", lambda x: fnp.frexp(x * 1e3)[1], lambda x: np.frexp(x * 1e3)[1], (X34,)),
    (
        "frexp_pow2",
        lambda x: fnp.frexp(x)[1],
        lambda x: np.frexp(x)[1],
        (np.float32([0.5, 1.0, 2.0, 4.0, 0.0, -8.0, 1e-40, 3e38]),),
    ),
    ("ldexp", lambda x, e: fnp.ldexp(x, e), np.ldexp, (X5, rng.randint(-4, 5, 5))),
    ("modf0", lambda x: fnp.modf(x * 3)[0], lambda x: np.modf(x * 3)[0], (X34,)),
    ("modf1", lambda x: fnp.modf(x * 3)[1], lambda x: np.modf(x * 3)[1], (X34,)),
    ("gcd", fnp.gcd, np.gcd, (rng.randint(-60, 60, (3, 5)), rng.randint(-60, 60, 5))),
    ("lcm", fnp.lcm, np.lcm, (rng.randint(-30, 30, (3, 5)), rng.randint(-30, 30, 5))),
    ("i0", fnp.i0, np.i0, (R(3, 4) * 6,)),
    (
        "geomspace",
        lambda a: fnp.geomspace(a, 100.0, 6),
        lambda a: np.geomspace(a, 100.0, 6),
        (np.float32(0.5),),
    ),
    (
        "geomspace_neg",
        lambda a: fnp.geomspace(-a, -1000.0, 4, endpoint=False),
        lambda a: np.geomspace(-a, -1000.0, 4, endpoint=False),
        (np.float32(1.0),),
    ),
    (
        "bincount",
        lambda x: fnp.bincount(x, length=8),
        lambda x: np.bincount(x, minlength=8),
        (rng.randint(0, 8, 20),),
    ),
    (
        "bincount_w",
        lambda x, w: fnp.bincount(x, w, length=8),
        lambda x, w: np.bincount(x, w, minlength=8),
        (rng.randint(0, 8, 20), R(20)),
    ),
    ("digitize", lambda x: fnp.digitize(x, XP), lambda x: np.digitize(x, XP), (R(20),)),
    (
        "digitize_right",
        lambda x: fnp.digitize(x, XP, right=True),
        lambda x: np.digitize(x, XP, right=True),
        (np.concatenate([XP, R(5)]),),
    ),
    (
        "digitize_dec",
        lambda x: fnp.digitize(x, XP[::-1]),
        lambda x: np.digitize(x, XP[::-1]),
        (np.concatenate([XP, R(5)]),),
    ),
    (
        "digitize_dec_right",
        lambda x: fnp.digitize(x, XP[::-1], True),
        lambda x: np.digitize(x, XP[::-1], True),
        (np.concatenate([XP, R(5)]),),
    ),
    (
        "lexsort",
        lambda a, b: fnp.lexsort((a, b)),
        lambda a, b: np.lexsort((a, b)),
        (rng.randint(0, 3, 12), rng.randint(0, 3, 12)),
    ),
    (
        "lexsort_2d",
        lambda a, b: fnp.lexsort([a, b], axis=0),
        lambda a, b: np.lexsort([a, b], axis=0),
        (rng.randint(0, 3, (9, 2)), rng.randint(0, 3, (9, 2))),
    ),
    (
        "sort_complex",
        fnp.sort_complex,
        np.sort_complex,
        (rng.randint(0, 3, 8) + 1j * rng.randint(0, 3, 8),),
    ),
    (
        "unique_counts_sized_v",
        lambda x: fnp.unique_counts(x, size=4)[0],
        lambda x: np.r_[np.unique(x), 1],
        (np.array([3, 1, 3, 2, 1, 3]),),
    ),
    (
        "unique_counts_sized_c",
        lambda x: fnp.unique_counts(x, size=4, fill_value=0)[1],
        lambda x: np.r_[np.unique(x, return_counts=True)[1], 0],
        (np.array([3, 1, 3, 2, 1, 3]),),
    ),
    (
        "unique_values_sized",
        lambda x: fnp.unique_values(x, size=5, fill_value=-1),
        lambda x: np.r_[np.unique(x), [-1, -1]],
        (np.array([3, 1, 3, 2, 1, 3]),),
    ),
    (
        "union1d",
        lambda a, b: fnp.union1d(a, b, size=6, fill_value=99),
        lambda a, b: np.r_[np.union1d(a, b), [99] * (6 - len(np.union1d(a, b)))],
        (np.array([1, 4, 4, 2]), np.array([2, 7])),
    ),
    (
        "setdiff1d",
        lambda a, b: fnp.setdiff1d(a, b, size=3, fill_value=0),
        lambda a, b: np.r_[np.setdiff1d(a, b), [0] * (3 - len(np.setdiff1d(a, b)))],
        (np.array([5, 1, 4, 4, 2]), np.array([2, 7])),
    ),
    (
        "intersect1d",
        lambda a, b: fnp.intersect1d(a, b, size=3, fill_value=-1),
        lambda a, b: np.r_[np.intersect1d(a, b), [-1] * (3 - len(np.intersect1d(a, b)))],
        (np.array([5, 1, 4, 4, 2]), np.array([2, 7, 4])),
    ),
    (
        "apply_along_axis",
        lambda x: fnp.apply_along_axis(lambda v: v[::-1] * v[0], 1, x),
        lambda x: np.apply_along_axis(lambda v: v[::-1] * v[0], 1, x),
        (R(2, 3, 4),),
    ),
    (
        "apply_along_axis_scalar",
        lambda x: fnp.apply_along_axis(fnp.sum, 0, x),
        lambda x: np.apply_along_axis(np.sum, 0, x),
        (R(2, 3, 4),),
    ),
    (
        "vectorize",
        lambda x, y: fnp.vectorize(lambda a, b: a * b + 1)(x, y),
        lambda x, y: np.vectorize(lambda a, b: a * b + 1)(x, y),
        (X34, R(4)),
    ),
    (
        "vectorize_sig",
        lambda x, y: fnp.vectorize(fnp.dot, signature="(n),(n)->()")(x, y),
        lambda x, y: np.vectorize(np.dot, signature="(n),(n)->()")(x, y),
        (R(2, 3, 4), R(4)),
    ),
    (
        "vectorize_sig_mat",
        lambda x: fnp.vectorize(fnp.outer, signature="(n),(m)->(n,m)")(x, x),
        lambda x: np.vectorize(np.outer, signature="(n),(m)->(n,m)")(x, x),
        (X34,),
    ),
    (
        "linalg.multi_dot",
        lambda a, b, c: fnp.linalg.multi_dot([a, b, c]),
        lambda a, b, c: np.linalg.multi_dot([a, b, c]),
        (V3, R(3, 4), R(4, 2)),
    ),
    (
        "linalg.vecdot",
        lambda a, b: fnp.linalg.vecdot(a, b, axis=0),
        lambda a, b: np.sum(a * b, axis=0),
        (R(3, 4), R(3, 4)),
    ),
    (
        "linalg.tensordot",
        lambda a, b: fnp.linalg.tensordot(a, b, axes=1),
        lambda a, b: np.tensordot(a, b, axes=1),
        (R(2, 3), R(3, 4)),
    ),
    (
        "linalg.matrix_transpose",
        fnp.linalg.matrix_transpose,
        lambda x: np.swapaxes(x, -1, -2),
        (R(2, 3, 4),),
    ),
    ("linalg.outer", fnp.linalg.outer, np.outer, (V3, X5)),
    ("linalg.cross", fnp.linalg.cross, np.cross, (R(2, 3), R(2, 3))),
    (
        "linalg.diagonal",
        lambda x: fnp.linalg.diagonal(x, offset=1),
        lambda x: np.diagonal(x, 1, -2, -1),
        (R(2, 3, 4),),
    ),
    (
        "linalg.trace",
        lambda x: fnp.linalg.trace(x, offset=-1),
        lambda x: np.trace(x, -1, -2, -1),
        (R(2, 3, 4),),
    ),
    (
        "linalg.tensorinv",
        lambda a: fnp.linalg.tensorinv(a, 2),
        lambda a: np.linalg.tensorinv(a, 2),
        (R(3, 2, 6) + 3 * np.eye(6).reshape(3, 2, 6),),
    ),
    (
        "linalg.tensorsolve",
        fnp.linalg.tensorsolve,
        np.linalg.tensorsolve,
        (R(2, 3, 6) + 3 * np.eye(6).reshape(2, 3, 6), R(2, 3)),
    ),
    (
        "linalg.tensorsolve_axes",
        lambda a, b: fnp.linalg.tensorsolve(a, b, axes=(0,)),
        lambda a, b: np.linalg.tensorsolve(a, b, axes=(0,)),
        (R(4, 2, 2) + 3 * np.eye(4).reshape(2, 2, 4).transpose(2, 0, 1), R(2, 2)),
    ),
]


def _np_fill(a, v, wrap=False):
    a = np.array(a)
    np.fill_diagonal(a, v, wrap=wrap)
    return a


@pytest.mark.parametrize("name,f,ref,args", CASES, ids=[c[0] for c in CASES])
def test_against_numpy(name, f, ref, args):
    expect = ref(*args)
    tol = (
        2e-4
        if name.startswith(
            ("i0", "linalg.tensor", "cov", "corrcoef", "geomspace", "interp", "unwrap")
        )
        else 1e-5
    )
    out = f(*args)
    close(
        out,
        np.asarray(expect).astype(np.asarray(out).dtype) if name.startswith("frexp_e") else expect,
        tol,
    )
    close(fg.jit(f)(*args), expect, tol)


def test_dtypes_follow_jax():
    i = fnp.array([1, 2, 3])
    assert fnp.convolve(i, i).dtype == np.float32  # JAX: inexact result
    assert fnp.convolve(i, i, preferred_element_type=fnp.int32).dtype == np.int32
    assert fnp.diff(i).dtype == np.int32
    assert fnp.diff(fnp.array([True, False, False])).dtype == np.bool_
    assert fnp.bincount(i).dtype == np.int32
    assert fnp.histogram(i, 3)[0].dtype == np.float32
    assert fnp.polyval(i, 2).dtype == np.float32 and fnp.polyadd(i, i).dtype == np.int32
    assert fnp.polyder(i).dtype == np.float32
    assert fnp.interp(1.5, i, i).dtype == np.float32
    assert fnp.frexp(fnp.ones(2))[1].dtype == np.int32
    assert fnp.tril_indices(3)[0].dtype == np.int32
    assert fnp.mgrid[0:3].dtype == np.int32 and fnp.mgrid[0:1:3j].dtype == np.float32
    assert fnp.nanargmax(fnp.array([np.nan, np.nan])) == -1  # JAX: -1, numpy raises
    assert fnp.sort_complex(i).dtype == np.complex64


def test_index_helpers():
    for fn, ref, args in [
        (fnp.tril_indices, np.tril_indices, (4, 1)),
        (fnp.triu_indices, np.triu_indices, (3, -1, 5)),
        (fnp.diag_indices, np.diag_indices, (3, 3)),
    ]:
        for a, b in zip(fn(*args), ref(*args)):
            assert np.array_equal(a, b)
    x = R(3, 5)
    for a, b in zip(fnp.triu_indices_from(x, 1), np.triu_indices_from(x, 1)):
        assert np.array_equal(a, b)
    for a, b in zip(fnp.tril_indices_from(fnp.asarray(x)), np.tril_indices_from(x)):
        assert np.array_equal(a, b)
    for a, b in zip(
        fnp.ix_(np.array([0, 2]), np.array([True, False, True])),
        np.ix_(np.array([0, 2]), np.array([True, False, True])),
    ):
        assert np.array_equal(a, b)
    for a, b in zip(fnp.ogrid[0:3, 0:4], np.ogrid[0:3, 0:4]):
        assert np.array_equal(a, b)
    assert np.array_equal(fnp.mgrid[0:3, 0:4:2], np.mgrid[0:3, 0:4:2])
    assert np.allclose(fnp.mgrid[-1:1:5j], np.mgrid[-1:1:5j])
    assert fnp.s_[1:3] == np.s_[1:3] and fnp.index_exp[1] == np.index_exp[1]
    a, b = np.arange(3.0), np.arange(3.0) * 2
    assert np.array_equal(fnp.r_[a, 0, b], np.r_[a, 0, b])
    assert np.array_equal(fnp.r_[0:4, 7], np.r_[0:4, 7])
    assert np.allclose(fnp.r_[-1:1:4j], np.r_[-1:1:4j])
    assert np.array_equal(fnp.c_[a, b], np.c_[a, b])
    assert np.array_equal(fnp.r_["0,2", a, b], np.r_["0,2", a, b])
    assert np.array_equal(fnp.r_["1,2,0", a, b], np.r_["1,2,0", a, b])
    assert np.array_equal(
        fnp.c_[np.ones((2, 2)), np.zeros((2, 1))], np.c_[np.ones((2, 2)), np.zeros((2, 1))]
    )
    out = fnp.fromfunction(lambda i, j: i * 10 + j, (2, 3), dtype=int)
    assert np.array_equal(out, np.fromfunction(lambda i, j: i * 10 + j, (2, 3), dtype=int))
    assert out.dtype == np.int32
    assert np.allclose(
        fnp.fromfunction(lambda i, j: i - j, (3, 2)), np.fromfunction(lambda i, j: i - j, (3, 2))
    )
    a3 = R(3, 3, 3)
    assert np.allclose(fnp.fill_diagonal(a3, 0.0, inplace=False), _np_fill(a3, 0.0))
    d = fnp.diag_indices_from(a3)
    assert len(d) == 3 and np.array_equal(d[0], np.arange(3))


def test_eager_only_and_concrete():
    for f, ref in [
        (lambda x: fnp.trim_zeros(x), np.trim_zeros),
        (lambda x: fnp.trim_zeros(x, "b"), lambda x: np.trim_zeros(x, "b")),
        (lambda x: fnp.unique_counts(x)[1], lambda x: np.unique(x, return_counts=True)[1]),
        (lambda x: fnp.unique_values(x), np.unique),
        (lambda x: fnp.bincount(x), np.bincount),
        (lambda x: fnp.setdiff1d(x, fnp.array([0, 3])), lambda x: np.setdiff1d(x, [0, 3])),
        (lambda x: fnp.union1d(x, fnp.array([9])), lambda x: np.union1d(x, [9])),
        (
            lambda x: fnp.intersect1d(x, fnp.array([0, 2, 9])),
            lambda x: np.intersect1d(x, [0, 2, 9]),
        ),
    ]:
        x = np.array([0, 0, 2, 3, 0, 2, 5, 0])
        assert np.array_equal(f(x), ref(x))
    assert fnp.trim_zeros(np.zeros(3)).shape == (0,)
    uc = fnp.unique_counts(np.array([2, 1, 2]))
    assert np.array_equal(uc.values, [1, 2]) and np.array_equal(uc.counts, [1, 2])
    assert np.array_equal(fnp.setdiff1d(np.array([5, 3, 1]), np.array([1]), size=3), [3, 5, 3])
    v, i1, i2 = fnp.intersect1d(np.array([5, 1, 4, 4, 2]), np.array([2, 7, 4]), return_indices=True)
    ev, e1, e2 = np.intersect1d([5, 1, 4, 4, 2], [2, 7, 4], return_indices=True)
    assert np.array_equal(v, ev) and np.array_equal(i1, e1) and np.array_equal(i2, e2)
    with pytest.raises(TypeError, match="trim_zeros"):
        fg.jit(fnp.trim_zeros)(fnp.ones(3))
    with pytest.raises(TypeError, match="length="):
        fg.jit(fnp.bincount)(fnp.array([1, 2]))
    with pytest.raises(TypeError, match="size="):
        fg.jit(fnp.union1d)(fnp.array([1, 2]), fnp.array([3]))
    # traced obj: insert works, delete needs assume_unique_indices
    f = fg.jit(lambda a, i: fnp.insert(a, i, 0.0))
    assert np.allclose(f(fnp.arange(1.0, 4.0), fnp.array([0, 2])), [0, 1, 2, 0, 3])
    g = fg.jit(lambda a, i: fnp.delete(a, i, assume_unique_indices=True))
    assert np.allclose(g(fnp.arange(5.0), fnp.array([4, 1])), [0, 2, 3])
    with pytest.raises(TypeError, match="assume_unique_indices"):
        fg.jit(lambda a, i: fnp.delete(a, i))(fnp.arange(5.0), fnp.array([1]))


def test_partition():
    x = R(4, 9)
    for k in (0, 3, -1):
        p = np.asarray(fnp.partition(x, k, axis=1))
        kth = np.sort(x, axis=1)[:, k]
        assert np.allclose(p[:, k], kth)
        assert np.all(p[:, : k % 9] <= kth[:, None]) and np.all(p[:, k % 9 :] >= kth[:, None])
        idx = np.asarray(fnp.argpartition(x, k, axis=1))
        assert np.allclose(np.take_along_axis(x, idx, 1)[:, k], kth)
    assert np.allclose(fg.jit(lambda v: fnp.partition(v, 2, axis=0))(x)[2], np.sort(x, axis=0)[2])


def test_can_cast_and_float0():
    for f, t, c in [
        (np.int8, np.float32, "safe"),
        (np.float64, np.float32, "safe"),
        (np.float64, np.float32, "same_kind"),
        (np.int32, np.uint8, "same_kind"),
        (np.int32, np.uint8, "unsafe"),
        ("float32", "int32", "safe"),
        (np.float32, np.float32, "no"),
    ]:
        assert fnp.can_cast(f, t, c) == np.can_cast(f, t, c)
    assert fnp.can_cast(fnp.bfloat16, fnp.float32)
    assert not fnp.can_cast(fnp.float32, fnp.bfloat16)
    assert fnp.can_cast(fnp.float32, fnp.bfloat16, "same_kind")
    assert fnp.can_cast(fnp.int8, fnp.bfloat16) and not fnp.can_cast(fnp.int32, fnp.bfloat16)
    with pytest.raises(TypeError, match="dtype"):
        fnp.can_cast(fnp.ones(2), np.float32)
    assert fnp.float0.itemsize == 0


# ---- gradients --------------------------------------------------------------------------------

GRADS = [
    ("diff", lambda x: fnp.diff(x, n=2), (R(6),)),
    ("gradient", lambda x: fnp.gradient(x, 0.3), (R(6),)),
    ("cross", fnp.cross, (R(2, 3), R(2, 3))),
    ("convolve", fnp.convolve, (R(5), R(3))),
    ("correlate", lambda a, v: fnp.correlate(a, v, "same"), (R(5), R(3))),
    ("interp", lambda x, fp: fnp.interp(x, XP, fp), (R(6) * 0.9, R(7))),
    ("select", lambda x: fnp.select([x < 0], [x**2], x * 3), (R(6),)),
    ("piecewise", lambda x: fnp.piecewise(x, [x < 0], [fnp.sin, fnp.cos]), (R(6),)),
    ("insert", lambda a, v: fnp.insert(a, [1, 3], v), (R(5), R(2))),
    ("delete", lambda a: fnp.delete(a, fnp.array([1, 3])), (R(5),)),
    ("fill_diagonal", lambda a, v: fnp.fill_diagonal(a, v, inplace=False), (R(3, 3), R(3))),
    ("polyval", fnp.polyval, (R(4), R(5))),
    ("polymul", fnp.polymul, (R(4), R(3))),
    ("polyint", lambda p: fnp.polyint(p, 2), (R(4),)),
    ("vander", lambda x: fnp.vander(x, 3), (R(4),)),
    ("cov", fnp.cov, (R(2, 5),)),
    ("corrcoef", fnp.corrcoef, (R(3, 6),)),
    ("nanvar", lambda x: fnp.nanvar(x, axis=0), (R(4, 3),)),
    ("nanprod", fnp.nanprod, (R(5),)),
    ("unwrap", fnp.unwrap, (R(5),)),
    ("block", lambda a, b: fnp.block([[a], [b]]), (R(2, 3), R(1, 3))),
    ("ldexp", lambda x: fnp.ldexp(x, fnp.array([1, -2, 3])), (R(3),)),
    ("i0", fnp.i0, (R(4) * 5,)),
    ("histogram_w", lambda w: fnp.histogram(XP, 3, weights=w)[0], (R(7),)),
    ("bincount_w", lambda w: fnp.bincount(np.array([0, 2, 2, 1]), w, length=3), (R(4),)),
    (
        "vectorize",
        lambda x: fnp.vectorize(lambda a, b: fnp.sum(a * b), signature="(n),(n)->()")(x, x),
        (R(3, 4),),
    ),
    ("apply_along_axis", lambda x: fnp.apply_along_axis(fnp.cumsum, 0, x), (R(3, 2),)),
    ("multi_dot", lambda a, b: fnp.linalg.multi_dot([a, b, a.T]), (R(2, 3), R(3, 3))),
    ("tensorsolve", fnp.linalg.tensorsolve, (R(2, 2, 4) + 3 * np.eye(4).reshape(2, 2, 4), R(2, 2))),
]


@pytest.mark.parametrize("name,f,args", GRADS, ids=[g[0] for g in GRADS])
def test_grads(name, f, args):
    with fg.config.override(enable_x64=True):
        check_grads(
            f,
            tuple(fnp.asarray(np.asarray(a, np.float64)) for a in args),
            order=1,
            modes=("fwd", "rev"),
            atol=1e-4,
            rtol=1e-4,
        )


def test_grad_values():
    # d/dx polyval(p, x) = polyval(polyder(p), x)
    p = R(5)
    g = fg.grad(lambda x: fnp.polyval(p, x))(0.7)
    assert np.allclose(g, np.polyval(np.polyder(p), 0.7), atol=1e-5)
    # interp: slope of the segment
    xp, fp = np.array([0.0, 1.0, 3.0]), np.array([0.0, 2.0, 3.0])
    assert np.allclose(fg.grad(lambda x: fnp.interp(x, xp, fp))(2.0), 0.5)
    # under jit, the same gradients
    a, v = R(5), R(3)
    f = lambda a: fnp.sum(fnp.convolve(a, v) ** 2)  # noqa: E731
    assert np.allclose(fg.jit(fg.grad(f))(a), fg.grad(f)(a), atol=1e-5)
    h = lambda x: fnp.sum(fnp.interp(x, xp, fp))  # noqa: E731
    assert np.allclose(fg.jit(fg.grad(h))(fnp.array([0.5, 2.0])), [2.0, 0.5])
    # cov's gradient is finite
    gx = fg.grad(lambda x: fnp.sum(fnp.cov(x)))(R(2, 4))
    assert np.all(np.isfinite(gx))


# ---- vmap ---------------------------------------------------------------------------------------

VMAPS = [
    ("diff", lambda x: fnp.diff(x), R(3, 5)),
    ("convolve", lambda x: fnp.convolve(x, V3), R(3, 5)),
    ("interp", lambda x: fnp.interp(x, XP, XP * 2), R(3, 5)),
    ("cross", lambda x: fnp.cross(x, V3), R(4, 3)),
    ("isin", lambda x: fnp.isin(x, fnp.array([0, 1])), rng.randint(0, 3, (3, 5))),
    ("bincount", lambda x: fnp.bincount(x, length=4), rng.randint(0, 4, (3, 6))),
    ("digitize", lambda x: fnp.digitize(x, XP), R(3, 5)),
    ("insert", lambda x: fnp.insert(x, 2, -1.0), R(3, 5)),
    ("delete", lambda x: fnp.delete(x, fnp.array([0, 4])), R(3, 5)),
    ("polyval", lambda p: fnp.polyval(p, X5), R(3, 4)),
    ("polymul", lambda p: fnp.polymul(p, V3), R(3, 4)),
    ("cov", lambda x: fnp.cov(x), R(3, 2, 5)),
    ("nanstd", lambda x: fnp.nanstd(x), R(3, 5)),
    ("histogram", lambda x: fnp.histogram(x, 4, range=(-2, 2))[0], R(3, 9)),
    (
        "unique_counts",
        lambda x: fnp.unique_counts(x, size=5, fill_value=0)[1],
        rng.randint(0, 4, (3, 6)),
    ),
    (
        "setdiff1d",
        lambda x: fnp.setdiff1d(x, fnp.array([1]), size=6, fill_value=-1),
        rng.randint(0, 4, (3, 6)),
    ),
    ("lexsort", lambda x: fnp.lexsort([x, -x // 2]), rng.randint(0, 4, (3, 6))),
    ("frexp", lambda x: fnp.frexp(x)[0], R(3, 5)),
    ("gcd", lambda x: fnp.gcd(x, 12), rng.randint(0, 40, (3, 5))),
    ("i0", fnp.i0, R(3, 5)),
    ("tensorinv", lambda a: fnp.linalg.tensorinv(a, 1), R(3, 4, 4) + 3 * np.eye(4)),
]


@pytest.mark.parametrize("name,f,x", VMAPS, ids=[v[0] for v in VMAPS])
def test_vmap(name, f, x):
    out = fg.vmap(f)(x)
    ref = np.stack([np.asarray(f(xi)) for xi in x])
    close(out, ref, 1e-4)


# ---- errors -----------------------------------------------------------------------------------

ERRORS = [
    (lambda: fnp.diff(fnp.array(1.0)), ValueError, "at least one dimensional"),
    (lambda: fnp.diff(fnp.ones(3), n=-1), ValueError, "non-negative"),
    (lambda: fnp.cross(fnp.ones(4), fnp.ones(3)), ValueError, "must be 2 or 3"),
    (lambda: fnp.convolve(fnp.ones((2, 2)), fnp.ones(2)), ValueError, "1-dimensional"),
    (lambda: fnp.convolve(fnp.ones(0), fnp.ones(2)), ValueError, "cannot be empty"),
    (lambda: fnp.convolve(fnp.ones(3), fnp.ones(2), "bad"), ValueError, "mode"),
    (lambda: fnp.interp(1.0, fnp.ones(3), fnp.ones(2)), ValueError, "same non-zero length"),
    (lambda: fnp.interp(1.0, fnp.ones(3), fnp.ones(3), left=0.0, period=1.0), ValueError, "period"),
    (lambda: fnp.bincount(fnp.ones(3)), TypeError, "integer"),
    (lambda: fnp.bincount(fnp.array([-1, 2])), ValueError, "non-negative"),
    (lambda: fnp.bincount(fnp.array([1, 2]), fnp.ones(3)), ValueError, "weights shape"),
    (lambda: fnp.select([fnp.ones(2) > 0], []), ValueError, "same length"),
    (lambda: fnp.piecewise(fnp.ones(2), [fnp.ones(2) > 0], [1, 2, 3]), ValueError, "funclist"),
    (lambda: fnp.insert(fnp.ones(3), [[1]], 0.0), ValueError, "1-d array"),
    (lambda: fnp.insert(fnp.ones(3), fnp.array([1.0]), 0.0), ValueError, "integer"),
    (lambda: fnp.delete(fnp.ones(3), 5), IndexError, "out of bounds"),
    (lambda: fnp.fill_diagonal(fnp.ones((2, 2)), 0.0), ValueError, "inplace=False"),
    (lambda: fnp.fill_diagonal(fnp.ones(3), 0.0, inplace=False), ValueError, "2-d"),
    (lambda: fnp.tril_indices_from(fnp.ones(3)), ValueError, "2-d"),
    (lambda: fnp.ix_(fnp.ones((2, 2))), ValueError, "1-d"),
    (lambda: fnp.polyval(fnp.ones(()), 1.0), ValueError, "at least one dimension"),
    (lambda: fnp.polyadd(fnp.ones(()), fnp.ones(2)), ValueError, "at least one dimension"),
    (lambda: fnp.polyder(fnp.ones(3), -1), ValueError, "non-negative"),
    (lambda: fnp.polyint(fnp.ones(3), 2, k=[1.0, 2.0, 3.0]), ValueError, "length m=2"),
    (lambda: fnp.vander(fnp.ones((2, 2))), ValueError, "1-d"),
    (lambda: fnp.cov(fnp.ones((2, 2, 2))), ValueError, "more than 2"),
    (lambda: fnp.histogram(fnp.ones(3), 0), ValueError, "positive"),
    (lambda: fnp.histogram(fnp.ones(3), fnp.ones((2, 2))), ValueError, "1-d"),
    (lambda: fnp.gradient(fnp.ones(3), fnp.arange(3.0)), NotImplementedError, "scalar"),
    (lambda: fnp.gradient(fnp.ones(3), edge_order=2), NotImplementedError, "edge_order"),
    (lambda: fnp.gradient(fnp.ones(1)), ValueError, "at least 2"),
    (lambda: fnp.rollaxis(fnp.ones((2, 3)), 0, 5), ValueError, "out of range"),
    (lambda: fnp.block([[fnp.ones(2)], fnp.ones(2)]), ValueError, "depths"),
    (lambda: fnp.block((fnp.ones(2),)), TypeError, "lists"),
    (lambda: fnp.ldexp(fnp.ones(2), fnp.ones(2)), TypeError, "integer"),
    (lambda: fnp.gcd(fnp.ones(2), fnp.ones(2)), ValueError, "integers"),
    (lambda: fnp.frexp(fnp.ones(2) * 1j), TypeError, "complex"),
    (lambda: fnp.partition(fnp.ones(3), 3), ValueError, "out of bounds"),
    (lambda: fnp.lexsort([]), TypeError, "at least one key"),
    (
        lambda: fnp.vectorize(fnp.dot, signature="(n),(n)->()")(fnp.ones(3), fnp.ones(4)),
        ValueError,
        "inconsistent size",
    ),
    (lambda: fnp.vectorize(fnp.dot, signature="(n)(n)")(fnp.ones(3)), ValueError, "signature"),
    (lambda: fnp.linalg.multi_dot([fnp.ones(2)]), ValueError, "at least two"),
    (lambda: fnp.linalg.outer(fnp.ones((2, 2)), fnp.ones(2)), ValueError, "1-d"),
    (lambda: fnp.linalg.cross(fnp.ones(2), fnp.ones(2)), ValueError, "size 3"),
    (lambda: fnp.linalg.tensorinv(fnp.ones((2, 3)), 1), ValueError, "prod"),
    (lambda: fnp.linalg.tensorsolve(fnp.ones((2, 3)), fnp.ones(2)), ValueError, "does not match"),
    (lambda: fnp.r_["r", fnp.ones(2)], NotImplementedError, "matrix"),
    (lambda: fnp.interp(1.0, fnp.ones(3), fnp.ones(3), left="x"), ValueError, "extrapolate"),
]


def test_select_conditions_of_any_dtype_as_jax():
    # jax 0.10.2 takes non-bool conditions (true where nonzero); numpy raises TypeError
    out = fnp.select([fnp.array([0.0, 2.0])], [fnp.ones(2)], default=-1.0)
    np.testing.assert_array_equal(np.asarray(out), [-1.0, 1.0])


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors(i):
    fn, exc, msg = ERRORS[i]
    with pytest.raises(exc, match=msg):
        fn()
