"""The rest of funcgrad.numpy's surface, one table: values vs numpy (scalars, size-1 and empty
dims where the function accepts them), second-order gradients where differentiable, and vmap vs
a Python loop. (Primitive-level functions are covered by tests/test_core_ops.py.)"""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.config import config
from funcgrad.test_util import check_grads

rng = np.random.RandomState(0)
POS = lambda s: rng.uniform(0.5, 2.0, s)  # noqa: E731
ANY = lambda s: rng.uniform(-2.0, 2.0, s)  # noqa: E731
SHAPES = [(), (1,), (0,), (3, 4)]

# name, funcgrad fn, numpy fn, input maker(s), shapes, differentiable
UNARY = [
    ("log10", fnp.log10, np.log10, POS, True),
    ("trunc", fnp.trunc, np.trunc, ANY, False),
    ("sinc", fnp.sinc, np.sinc, ANY, True),
    ("deg2rad", fnp.deg2rad, np.deg2rad, ANY, True),
    ("rad2deg", fnp.rad2deg, np.rad2deg, ANY, True),
    ("isnan", fnp.isnan, np.isnan, ANY, False),
    ("isinf", fnp.isinf, np.isinf, ANY, False),
    ("nan_to_num", fnp.nan_to_num, np.nan_to_num, ANY, True),
    ("logical_not", fnp.logical_not, np.logical_not, ANY, False),
    ("angle", fnp.angle, np.angle, ANY, False),
    ("ravel", fnp.ravel, np.ravel, ANY, True),
    ("atleast_1d", fnp.atleast_1d, np.atleast_1d, ANY, True),
    ("atleast_2d", fnp.atleast_2d, np.atleast_2d, ANY, True),
    ("atleast_3d", fnp.atleast_3d, np.atleast_3d, ANY, True),
    ("amax", fnp.amax, np.amax, ANY, True),
    ("amin", fnp.amin, np.amin, ANY, True),
    ("ptp", fnp.ptp, np.ptp, ANY, True),
    ("nansum", fnp.nansum, np.nansum, ANY, True),
    (
        "count_nonzero",
        lambda x: fnp.count_nonzero(x > 0),
        lambda x: np.count_nonzero(x > 0),
        ANY,
        False,
    ),
    ("empty_like", lambda x: fnp.empty_like(x).shape, lambda x: np.empty_like(x).shape, ANY, False),
    ("full_like", lambda x: fnp.full_like(x, 3.0), lambda x: np.full_like(x, 3.0), ANY, False),
]

BINARY = [
    ("float_power", fnp.float_power, np.float_power, (POS, ANY), True),
    ("fmax", fnp.fmax, np.fmax, (ANY, ANY), True),
    ("fmin", fnp.fmin, np.fmin, (ANY, ANY), True),
    ("logaddexp2", fnp.logaddexp2, np.logaddexp2, (ANY, ANY), True),
    ("heaviside", fnp.heaviside, np.heaviside, (ANY, ANY), False),
    ("logical_and", fnp.logical_and, np.logical_and, (ANY, ANY), False),
    ("logical_or", fnp.logical_or, np.logical_or, (ANY, ANY), False),
    (
        "logical_xor",
        lambda a, b: fnp.logical_xor(a > 0, b > 0),
        lambda a, b: np.logical_xor(a > 0, b > 0),
        (ANY, ANY),
        False,
    ),
    ("vdot", fnp.vdot, np.vdot, (ANY, ANY), True),
    ("inner", fnp.inner, np.inner, (ANY, ANY), True),
    ("outer", fnp.outer, np.outer, (ANY, ANY), True),
    ("kron", fnp.kron, np.kron, (ANY, ANY), True),
]

# functions of one (3, 4) matrix (with axis variants)
MATRIX = [
    ("median0", lambda x: fnp.median(x, axis=0), lambda x: np.median(x, axis=0), True),
    ("median", fnp.median, np.median, True),
    (
        "percentile",
        lambda x: fnp.percentile(x, 30, axis=1),
        lambda x: np.percentile(x, 30, axis=1),
        True,
    ),
    (
        "percentile_q",
        lambda x: fnp.percentile(x, fnp.array([10, 90])),  # JAX rejects a list q
        lambda x: np.percentile(x, [10, 90]),
        True,
    ),
    ("nanmean", lambda x: fnp.nanmean(x, 1), lambda x: np.nanmean(x, 1), True),
    (
        "average",
        lambda x: fnp.average(x, 1, weights=fnp.arange(1.0, 5.0)),
        lambda x: np.average(x, 1, weights=np.arange(1.0, 5.0)),
        True,
    ),
    ("ptp1", lambda x: fnp.ptp(x, 1), lambda x: np.ptp(x, 1), True),
    (
        "amax0",
        lambda x: fnp.amax(x, 0, keepdims=True),
        lambda x: np.amax(x, 0, keepdims=True),
        True,
    ),
    (
        "moveaxis",
        lambda x: fnp.moveaxis(x[None], 0, -1),
        lambda x: np.moveaxis(x[None], 0, -1),
        True,
    ),
    (
        "broadcast_arrays",
        lambda x: fnp.broadcast_arrays(x, x[:1])[1],
        lambda x: np.broadcast_arrays(x, x[:1])[1],
        True,
    ),
    ("hstack", lambda x: fnp.hstack([x, x]), lambda x: np.hstack([x, x]), True),
    ("vstack", lambda x: fnp.vstack([x, x[0]]), lambda x: np.vstack([x, x[0]]), True),
    ("dstack", lambda x: fnp.dstack([x, x]), lambda x: np.dstack([x, x]), True),
    (
        "array_split",
        lambda x: fnp.array_split(x, 3, axis=1)[1],
        lambda x: np.array_split(x, 3, axis=1)[1],
        True,
    ),
    ("tile", lambda x: fnp.tile(x, (2, 1)), lambda x: np.tile(x, (2, 1)), True),
    ("repeat", lambda x: fnp.repeat(x, 2, axis=0), lambda x: np.repeat(x, 2, axis=0), True),
    (
        "repeat_list",
        lambda x: fnp.repeat(x, fnp.array([1, 0, 2]), axis=0),  # JAX rejects a list
        lambda x: np.repeat(x, [1, 0, 2], axis=0),
        True,
    ),
    ("fliplr", fnp.fliplr, np.fliplr, True),
    ("flipud", fnp.flipud, np.flipud, True),
    ("roll", lambda x: fnp.roll(x, -5), lambda x: np.roll(x, -5), True),
    (
        "roll_axes",
        lambda x: fnp.roll(x, (1, 2), (0, 1)),
        lambda x: np.roll(x, (1, 2), (0, 1)),
        True,
    ),
    ("rot90", lambda x: fnp.rot90(x, 1), lambda x: np.rot90(x, 1), True),
    ("rot90_3", lambda x: fnp.rot90(x, 3), lambda x: np.rot90(x, 3), True),
    ("diagonal", lambda x: fnp.diagonal(x, -1), lambda x: np.diagonal(x, -1), True),
    ("diag_vec", lambda x: fnp.diag(x[0], 1), lambda x: np.diag(x[0], 1), True),
    ("diag_mat", lambda x: fnp.diag(x, 1), lambda x: np.diag(x, 1), True),
    ("trace", lambda x: fnp.trace(x, 1), lambda x: np.trace(x, 1), True),
    ("triu", lambda x: fnp.triu(x, -1), lambda x: np.triu(x, -1), True),
    (
        "take_along_axis",
        lambda x: fnp.take_along_axis(x, fnp.argsort(x, 1), 1),
        lambda x: np.take_along_axis(x, np.argsort(x, 1), 1),
        True,
    ),
    ("tensordot", lambda x: fnp.tensordot(x, x.T, 1), lambda x: np.tensordot(x, x.T, 1), True),
    (
        "tensordot_axes",
        lambda x: fnp.tensordot(x, x, ([0, 1], [0, 1])),
        lambda x: np.tensordot(x, x, ([0, 1], [0, 1])),
        True,
    ),
    ("kron_mat", lambda x: fnp.kron(x, x[:2, :2]), lambda x: np.kron(x, x[:2, :2]), True),
    (
        "searchsorted",
        lambda x: fnp.searchsorted(fnp.sort(x[0]), x[1]),
        lambda x: np.searchsorted(np.sort(x[0]), x[1]),
        False,
    ),
    (
        "searchsorted_right",
        lambda x: fnp.searchsorted(fnp.sort(x[0]), x[0], side="right"),
        lambda x: np.searchsorted(np.sort(x[0]), x[0], side="right"),
        False,
    ),
    (
        "count_nonzero_axis",
        lambda x: fnp.count_nonzero(x > 0, axis=0),
        lambda x: np.count_nonzero(x > 0, axis=0),
        False,
    ),
]


def _close(got, want):
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(
        got.astype(np.float64) if got.dtype.kind == "b" else got,
        want.astype(np.float64) if want.dtype.kind == "b" else want,
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("name,f,g,make,diff", UNARY, ids=[u[0] for u in UNARY])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_unary_values(name, f, g, make, diff, shape):
    x = make(shape).astype(np.float32)
    if name in ("amax", "amin", "ptp") and 0 in shape:  # no identity: numpy raises, so do we
        with pytest.raises(ValueError):
            g(x)
        with pytest.raises(ValueError, match="zero-size"):
            f(fnp.asarray(x))
        return
    _close(f(fnp.asarray(x)), g(x))


@pytest.mark.parametrize("name,f,g,makes,diff", BINARY, ids=[b[0] for b in BINARY])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_binary_values(name, f, g, makes, diff, shape):
    if name in ("outer", "kron") and shape == ():
        shape = (1,)
    x, y = (m(shape).astype(np.float32) for m in makes)
    _close(f(fnp.asarray(x), fnp.asarray(y)), g(x, y))


@pytest.mark.parametrize("name,f,g,diff", MATRIX, ids=[m[0] for m in MATRIX])
def test_matrix_values(name, f, g, diff):
    x = ANY((3, 4)).astype(np.float32)
    _close(f(fnp.asarray(x)), g(x))


GRAD_CASES = (
    [(n, f, (m,)) for n, f, _, m, d in UNARY if d]
    + [(n, f, ms) for n, f, _, ms, d in BINARY if d]
    + [(n, f, (ANY,)) for n, f, _, d in MATRIX if d]
)


@pytest.mark.parametrize("name,f,makes", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_second_order_gradients(name, f, makes):
    shape = (3, 4) if name in {m[0] for m in MATRIX} else (3,)
    with config.override(enable_x64=True):
        args = [fnp.asarray(m(shape)) for m in makes]
        check_grads(f, args, order=2)


@pytest.mark.parametrize("name,f,makes", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_vmap_matches_a_loop(name, f, makes):
    shape = (3, 4) if name in {m[0] for m in MATRIX} else (3,)
    batch = [fnp.asarray(m((2,) + shape).astype(np.float32)) for m in makes]
    got = fg.vmap(f)(*batch)
    want = [f(*[b[i] for b in batch]) for i in range(2)]
    for leaf_got, *leaf_want in zip(fg.tree.leaves(got), *[fg.tree.leaves(w) for w in want]):
        _close(leaf_got, np.stack([np.asarray(w) for w in leaf_want]))


def test_creation_functions():
    _close(fnp.empty((2, 3)).shape, (2, 3))
    _close(fnp.linspace(-1, 2, 7), np.linspace(-1, 2, 7))
    _close(fnp.linspace(0, 1, 5, endpoint=False), np.linspace(0, 1, 5, endpoint=False))
    _close(fnp.logspace(0, 2, 5), np.logspace(0, 2, 5))
    _close(fnp.eye(3, 4, k=1), np.eye(3, 4, k=1))
    _close(fnp.identity(3), np.identity(3))
    _close(fnp.tri(3, 4, -1), np.tri(3, 4, -1))
    for indexing in ("xy", "ij"):
        for a, b in zip(
            fnp.meshgrid(fnp.arange(3), fnp.arange(2), indexing=indexing),
            np.meshgrid(np.arange(3), np.arange(2), indexing=indexing),
        ):
            _close(a, b)
    assert fnp.linspace(0, 1, 0).shape == (0,) and fnp.eye(0).shape == (0, 0)


def test_unique_and_nonzero_concrete_and_sized():
    x = np.array([3, 1, 3, 2, 1])
    vals, idx, inv, cnt = fnp.unique(x, return_index=True, return_inverse=True, return_counts=True)
    for a, b in zip((vals, idx, inv, cnt), np.unique(x, True, True, True)):
        _close(a, b)
    with pytest.raises(TypeError, match="size"):
        fg.jit(fnp.unique)(fnp.asarray(x))
    got = fg.jit(lambda v: fnp.nonzero(v, size=4, fill_value=-1)[0])(fnp.asarray(x > 1))
    _close(got, [0, 2, 3, -1])


def test_unique_with_size_works_under_jit():
    x = fnp.asarray([3, 1, 3, 2, 1])
    f = fg.jit(lambda v: fnp.unique(v, size=5, fill_value=-1))
    _close(f(x), [1, 2, 3, -1, -1])
    _close(fnp.unique(x, size=2), [1, 2])
    _close(fnp.unique(x, size=4), [1, 2, 3, 1])  # default fill: the smallest value
