"""Differences from JAX found by running the same snippets under JAX and funcgrad.

Each test encodes what JAX 0.10.2 (CPU, x64 off) returns as a literal expectation; JAX itself
is not imported (it is not a dependency). The comment ``# jax 0.10.2 gives ...`` records
JAX's result.
"""

import collections

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax, random
from funcgrad import tree_util as tu


def _dt(x):
    return (np.dtype(x.dtype).name, bool(x.weak_type))


# ---- transformations ------------------------------------------------------------------------


def test_grad_holomorphic_needs_complex_input():
    # jax 0.10.2 gives TypeError: grad with holomorphic=True requires inputs with complex dtype
    with pytest.raises(TypeError, match="complex"):
        fg.grad(lambda z: z**2, holomorphic=True)(1.0)


def test_grad_complex_output_needs_holomorphic():
    # jax 0.10.2 gives TypeError: grad requires real-valued outputs ... pass holomorphic=True
    with pytest.raises(TypeError, match="holomorphic=True"):
        fg.grad(lambda z: z**2)(1.0 + 2j)


def test_grad_holomorphic_value():
    # jax 0.10.2 gives Array(2.+4.j, dtype=complex64, weak_type=True) for d(z**2)/dz at 1+2j
    g = fg.grad(lambda z: z**2, holomorphic=True)(1.0 + 2j)
    assert np.dtype(g.dtype) == np.complex64
    np.testing.assert_allclose(np.asarray(g), 2.0 + 4.0j, rtol=1e-6)
    g2 = fg.jit(fg.grad(lambda z: fnp.sin(z), holomorphic=True))(fnp.complex64(1.0 + 2j))
    np.testing.assert_allclose(np.asarray(g2), np.cos(1.0 + 2j), rtol=1e-5)


def test_vmap_maps_keyword_arguments_over_axis_0():
    # jax 0.10.2 gives Array([0., 1., 2.], dtype=float32): kwargs are mapped over axis 0
    f = fg.vmap(lambda x, scale=1.0: x * scale)
    out = f(fnp.ones(3), scale=fnp.arange(3.0))
    np.testing.assert_array_equal(np.asarray(out), [0.0, 1.0, 2.0])
    assert out.shape == (3,)
    # with in_axes for the positional ones, still axis 0 for the keyword
    g = fg.vmap(lambda x, *, b: x + b, in_axes=(1,))
    out = g(fnp.ones((2, 3)), b=fnp.arange(3.0)[:, None] * fnp.ones((3, 2)))
    assert out.shape == (3, 2)
    np.testing.assert_array_equal(np.asarray(out)[:, 0], [1.0, 2.0, 3.0])
    # under jit and grad
    h = fg.jit(lambda x, s: fg.vmap(lambda a, scale: a * scale)(x, scale=s))
    np.testing.assert_array_equal(np.asarray(h(fnp.ones(3), fnp.arange(3.0))), [0, 1, 2])
    gr = fg.grad(lambda s: fnp.sum(fg.vmap(lambda a, scale: a * scale)(fnp.arange(3.0), scale=s)))
    np.testing.assert_array_equal(np.asarray(gr(fnp.ones(3))), [0.0, 1.0, 2.0])
    # a keyword whose leading size differs is an error
    with pytest.raises(ValueError, match="inconsistent sizes"):
        f(fnp.ones(3), scale=fnp.ones(4))


def test_jvp_tangent_dtype_must_match():
    # jax 0.10.2 gives TypeError: primal and tangent arguments to jax.jvp do not match;
    # dtypes must be equal
    with pytest.raises(TypeError, match="dtype"):
        fg.jvp(lambda x: x * 2, (fnp.ones(2),), (fnp.ones(2, fnp.int32),))
    with pytest.raises(TypeError, match="dtype"):
        fg.jvp(lambda x: x * 2, (fnp.ones(2),), (fnp.ones(2, fnp.float16),))
    # numpy float64 tangents are canonicalised to float32 first: fine
    # jax 0.10.2 gives (Array([2., 2.]), Array([2., 2.])) float32
    _, t = fg.jvp(lambda x: x * 2, (fnp.ones(2),), (np.ones(2),))
    assert np.dtype(t.dtype) == np.float32
    np.testing.assert_array_equal(np.asarray(t), [2.0, 2.0])


def test_jit_unhashable_static_argument_is_value_error():
    # jax 0.10.2 gives ValueError: Non-hashable static arguments are not supported
    f = fg.jit(lambda x, y: x + y, static_argnums=(1,))
    with pytest.raises(ValueError, match="hashable"):
        f(fnp.ones(2), fnp.ones(2))
    with pytest.raises(TypeError):  # still a TypeError, as before
        f(fnp.ones(2), [1.0])


# ---- lax ------------------------------------------------------------------------------------


def test_where_one_argument_under_jit_is_concretization_error():
    # jax 0.10.2 gives ConcretizationTypeError (a TypeError)
    with pytest.raises(fg.ConcretizationTypeError):
        fg.jit(lambda x: fnp.where(x > 0))(fnp.ones(3))


def test_where_size_and_fill_value():
    # jax 0.10.2 gives (Array([0, -1, -1], dtype=int32),)
    out = fnp.where(fnp.array([True, False]), size=3, fill_value=-1)
    assert isinstance(out, tuple) and len(out) == 1
    np.testing.assert_array_equal(np.asarray(out[0]), [0, -1, -1])
    assert np.dtype(out[0].dtype) == np.int32
    # jax 0.10.2 gives (Array([0, 2], dtype=int32),) under jit
    out = fg.jit(lambda x: fnp.where(x > 0, size=2))(fnp.array([1.0, -1, 2, 3]))
    np.testing.assert_array_equal(np.asarray(out[0]), [0, 2])
    # batched
    out = fg.vmap(lambda x: fnp.where(x > 0, size=2, fill_value=9)[0])(
        fnp.array([[1.0, -1, 2], [-1.0, -1, 3]])
    )
    np.testing.assert_array_equal(np.asarray(out), [[0, 2], [2, 9]])
    # against numpy on random input
    x = np.random.RandomState(0).randn(4, 5)
    for got, want in zip(fnp.where(x > 0, size=20, fill_value=0), np.nonzero(x > 0)):
        np.testing.assert_array_equal(np.asarray(got)[: len(want)], want)


def test_dynamic_slice_sizes_larger_than_operand():
    # jax 0.10.2 gives TypeError: slice slice_sizes must be less than or equal to operand shape
    with pytest.raises(TypeError, match="slice_sizes"):
        lax.dynamic_slice(fnp.arange(10), (2,), (11,))
    # jax 0.10.2 gives ValueError: Length of slice indices must match number of operand
    # dimensions (funcgrad's error is also a TypeError)
    with pytest.raises(ValueError, match="one start index"):
        lax.dynamic_slice(fnp.ones((2, 3)), (0,), (1,))


def test_dynamic_update_slice_dtypes_must_match():
    # jax 0.10.2 gives TypeError: lax.dynamic_update_slice requires arguments to have the
    # same dtypes, got float32, int32.
    with pytest.raises(TypeError, match="same dtypes"):
        lax.dynamic_update_slice(fnp.zeros(5), fnp.ones(3, fnp.int32), (0,))
    # jax 0.10.2 gives Array([0., 0., 1., 1., 1.], dtype=float32) (start 4 clamped to 2)
    out = lax.dynamic_update_slice(fnp.zeros(5), fnp.ones(3), (4,))
    np.testing.assert_array_equal(np.asarray(out), [0, 0, 1, 1, 1])


def test_cond_and_switch_return_arrays_for_concrete_predicates():
    # jax 0.10.2 gives Array(3., dtype=float32, weak_type=True)
    out = lax.cond(True, lambda x, y: x + y, lambda x, y: x - y, 1.0, 2.0)
    assert isinstance(out, fg.Array) and _dt(out) == ("float32", True)
    assert float(out) == 3.0
    # jax 0.10.2 gives {'a': Array(-1., dtype=float32, weak_type=True)}
    out = lax.cond(fnp.array(0), lambda x: {"a": x}, lambda x: {"a": -x}, 1.0)
    assert isinstance(out["a"], fg.Array) and float(out["a"]) == -1.0
    # jax 0.10.2 gives Array(1., dtype=float32, weak_type=True)
    out = lax.cond(True, lambda: 1.0, lambda: 2.0)
    assert isinstance(out, fg.Array) and _dt(out) == ("float32", True)
    # jax 0.10.2 gives Array(3., dtype=float32, weak_type=True) (index clamped to 2)
    out = lax.switch(5, [lambda x: x, lambda x: x * 2, lambda x: x * 3], 1.0)
    assert isinstance(out, fg.Array) and float(out) == 3.0
    out = fg.jit(lambda i: lax.switch(i, [lambda x: x, lambda x: x * 2], 1.0))(-7)
    assert float(out) == 1.0


def test_switch_index_must_be_integer():
    # jax 0.10.2 gives TypeError: Index type must be an integer, got 1.0 as float32
    with pytest.raises(TypeError, match="integer"):
        lax.switch(1.0, [lambda x: x, lambda x: x * 2], 1.0)
    # jax 0.10.2 gives TypeError: Index type must be an integer, got True as bool
    with pytest.raises(TypeError, match="integer"):
        lax.switch(True, [lambda: 1.0, lambda: 2.0])
    with pytest.raises(TypeError, match="integer"):
        fg.jit(lambda i: lax.switch(i, [lambda: 1.0, lambda: 2.0]))(1.0)


def test_rounding_method():
    x = fnp.array([0.5, 1.5, -0.5, 2.5])
    # jax 0.10.2 gives [ 0.,  2., -0.,  2.] for TO_NEAREST_EVEN, [ 1.,  2., -1.,  3.] default
    np.testing.assert_array_equal(
        np.asarray(lax.round(x, lax.RoundingMethod.TO_NEAREST_EVEN)), [0.0, 2.0, -0.0, 2.0]
    )
    np.testing.assert_array_equal(
        np.asarray(lax.round(x, lax.RoundingMethod.AWAY_FROM_ZERO)), [1.0, 2.0, -1.0, 3.0]
    )
    assert int(lax.RoundingMethod.TO_NEAREST_EVEN) == 1


def test_lax_sort_multiple_operands_returns_tuple():
    # jax 0.10.2 gives a tuple (Array([1, 2, 2]), Array([2., 1., 3.]))
    out = lax.sort((fnp.array([2, 1, 2]), fnp.array([1.0, 2.0, 3.0])), num_keys=1)
    assert type(out) is tuple
    np.testing.assert_array_equal(np.asarray(out[0]), [1, 2, 2])
    np.testing.assert_array_equal(np.asarray(out[1]), [2.0, 1.0, 3.0])


def test_scan_promotes_weak_initial_carry():
    # jax 0.10.2 gives (Array(6., dtype=float32), Array([0., 0., 1., 3.], dtype=float32))
    c, ys = lax.scan(lambda c, x: (c + x, c), 0, fnp.arange(4.0))
    assert _dt(c) == ("float32", False) and _dt(ys) == ("float32", False)
    assert float(c) == 6.0
    np.testing.assert_array_equal(np.asarray(ys), [0.0, 0.0, 1.0, 3.0])
    # jax 0.10.2 gives Array(16., dtype=float32) for while_loop(c < 10, c * 2.0, 1)
    out = lax.while_loop(lambda c: c < 10, lambda c: c * 2.0, 1)
    assert _dt(out) == ("float32", False) and float(out) == 16.0
    # a strongly typed carry is not promoted: still an error, as in JAX
    with pytest.raises(TypeError):
        lax.scan(lambda c, x: (c * x, c), fnp.float16(1), fnp.arange(3.0))
    # the same under jit and grad
    f = fg.jit(lambda xs: lax.scan(lambda c, x: (c + x, c), 0, xs)[0])
    assert float(f(fnp.arange(4.0))) == 6.0
    g = fg.grad(lambda xs: lax.scan(lambda c, x: (c + x * x, c), 0, xs)[0])(fnp.arange(3.0))
    np.testing.assert_array_equal(np.asarray(g), [0.0, 2.0, 4.0])


def test_loop_outputs_keep_weak_types():
    # jax 0.10.2 gives Array(10, dtype=int32, weak_type=True)
    out = lax.fori_loop(0, 5, lambda i, c: c + i, 0)
    assert _dt(out) == ("int32", True) and int(out) == 10
    # jax 0.10.2 gives Array(10., dtype=float32, weak_type=True)
    out = lax.fori_loop(0, 5, lambda i, c: c + i, 0.0)
    assert _dt(out) == ("float32", True) and float(out) == 10.0
    # jax 0.10.2 gives Array(16, dtype=int32, weak_type=True)
    out = lax.while_loop(lambda c: c < 10, lambda c: c * 2, 1)
    assert _dt(out) == ("int32", True) and int(out) == 16
    # jax 0.10.2 gives (Array(3, int32, weak), Array([0, 1, 2], int32, weak))
    c, ys = lax.scan(lambda c, x: (c + 1, c), 0, None, length=3)
    assert _dt(c) == ("int32", True) and _dt(ys) == ("int32", True)
    # a weak carry that meets a strong value becomes strong:
    # jax 0.10.2 gives carry float32 (strong), ys float32 weak
    c, ys = lax.scan(lambda c, x: (c * x, c), 1.0, fnp.arange(3.0))
    assert _dt(c) == ("float32", False) and _dt(ys) == ("float32", True)
    # so a weak loop result adapts to the array it meets (float16 stays float16)
    out = lax.fori_loop(0, 3, lambda i, c: c + 1.0, 0.0) + fnp.ones(2, fnp.float16)
    assert np.dtype(out.dtype) == np.float16


# ---- numpy ----------------------------------------------------------------------------------


def test_linspace_integer_dtype():
    # jax 0.10.2 gives Array([ 0,  2,  5,  7, 10], dtype=int32)
    out = fnp.linspace(0, 10, 5, dtype=fnp.int32)
    assert np.dtype(out.dtype) == np.int32
    np.testing.assert_array_equal(np.asarray(out), [0, 2, 5, 7, 10])
    # jax 0.10.2 gives Array([-5, -2,  1,  5], dtype=int32) (rounded down)
    np.testing.assert_array_equal(
        np.asarray(fnp.linspace(-5, 5, 4, dtype=fnp.int32)), [-5, -2, 1, 5]
    )
    out = fg.jit(lambda a: fnp.linspace(a, 10.0, 5, dtype=fnp.int32))(0.0)
    np.testing.assert_array_equal(np.asarray(out), [0, 2, 5, 7, 10])


def test_cumsum_keeps_small_integer_dtypes():
    # jax 0.10.2 gives int8 / uint8 / int16 for cumsum and cumprod, int32 for bool,
    # while sum promotes to int32 / uint32
    for dt, want in [
        (np.int8, "int8"),
        (np.uint8, "uint8"),
        (np.int16, "int16"),
        (np.bool_, "int32"),
        (np.float16, "float16"),
    ]:
        a = fnp.ones(3, dt)
        assert np.dtype(fnp.cumsum(a).dtype).name == want
        assert np.dtype(fnp.cumprod(a).dtype).name == want
    assert np.dtype(fnp.sum(fnp.ones(3, np.int8)).dtype) == np.int32
    # jax 0.10.2 gives int32 / uint32 for cumulative_sum of int8 / uint8
    assert np.dtype(fnp.cumulative_sum(fnp.ones(3, np.int8)).dtype) == np.int32
    assert np.dtype(fnp.cumulative_sum(fnp.ones(3, np.uint8)).dtype) == np.uint32
    x = np.random.RandomState(0).randint(-5, 5, (4, 3)).astype(np.int8)
    np.testing.assert_array_equal(np.asarray(fnp.cumsum(x, axis=1)), np.cumsum(x, axis=1))
    np.testing.assert_array_equal(np.asarray(fg.jit(fnp.cumsum)(x)), np.cumsum(x))


def test_at_get_clamps_out_of_bounds_by_default():
    x = fnp.arange(5.0)
    # jax 0.10.2 gives Array(4., dtype=float32)
    assert float(x.at[7].get()) == 4.0
    # jax 0.10.2 gives Array([4., 0.], dtype=float32) (-6 -> -1 -> clamped to 0)
    np.testing.assert_array_equal(np.asarray(x.at[fnp.array([-1, -6])].get()), [4.0, 0.0])
    # jax 0.10.2 gives Array(-1., dtype=float32) with mode='fill'
    assert float(x.at[7].get(mode="fill", fill_value=-1.0)) == -1.0
    assert float(fg.jit(lambda i: x.at[i].get())(9)) == 4.0


def test_error_types_match_jax_and_numpy():
    # jax 0.10.2 gives TypeError (numpy: ValueError): both catch it
    for fn in (
        lambda: fnp.reshape(fnp.arange(6), (4, -1)),
        lambda: fnp.ones((2, 3)) @ fnp.ones(4),
        lambda: fnp.power(2, -1),
    ):
        with pytest.raises(TypeError):
            fn()
        with pytest.raises(ValueError):
            fn()
    # jax 0.10.2 gives ValueError: dtype argument to `normal` must be a float or complex dtype
    with pytest.raises(ValueError, match="float"):
        random.normal(random.PRNGKey(0), (3,), fnp.int32)


# ---- random ---------------------------------------------------------------------------------


def test_randint_clips_bounds_to_dtype():
    k = random.PRNGKey(0)
    # jax 0.10.2 gives min 250, max 255: maxval above the dtype's range makes 255 reachable
    x = np.asarray(random.randint(k, (2000,), 250, 256, dtype=fnp.uint8))
    assert x.dtype == np.uint8 and x.min() == 250 and x.max() == 255
    # jax 0.10.2 gives min 0, max 255 (no wrap-around of 300)
    x = np.asarray(random.randint(k, (4000,), 0, 300, dtype=fnp.uint8))
    assert x.min() == 0 and x.max() == 255
    x = np.asarray(random.randint(k, (4000,), -200, 200, dtype=fnp.int8))
    assert x.min() == -128 and x.max() == 127
    # ordinary bounds are unchanged: [minval, maxval)
    x = np.asarray(random.randint(k, (1000,), -3, 3))
    assert x.min() == -3 and x.max() == 2 and x.dtype == np.int32
    # maxval <= minval gives minval
    assert set(np.asarray(random.randint(k, (10,), 5, 2)).tolist()) == {5}
    # traced bounds, batched bounds
    x = np.asarray(fg.jit(lambda a, b: random.randint(k, (500,), a, b, fnp.uint8))(250, 256))
    assert x.min() == 250 and x.max() == 255
    x = np.asarray(random.randint(k, (50, 3), fnp.array([0, 10, 20]), fnp.array([2, 12, 22])))
    assert (x >= [0, 10, 20]).all() and (x < [2, 12, 22]).all()


# ---- tree_util ------------------------------------------------------------------------------


def test_ordered_dict_and_defaultdict_are_pytrees():
    o = collections.OrderedDict([("b", 1.0), ("a", 2.0)])
    # jax 0.10.2 gives [1.0, 2.0]: insertion order, not sorted
    assert tu.tree_leaves(o) == [1.0, 2.0]
    m = tu.tree_map(lambda v: v * 10, o)
    assert type(m) is collections.OrderedDict and list(m.items()) == [("b", 10.0), ("a", 20.0)]
    assert tu.tree_structure(o) != tu.tree_structure(collections.OrderedDict(a=1, b=2))
    g = fg.grad(lambda d: d["a"] * d["b"])(o)
    assert type(g) is collections.OrderedDict and float(g["b"]) == 2.0
    d = collections.defaultdict(list, {"b": 1.0, "a": 2.0})
    # jax 0.10.2 gives [2.0, 1.0]: sorted keys, like dict
    assert tu.tree_leaves(d) == [2.0, 1.0]
    m = tu.tree_map(lambda v: v + 1, d)
    assert type(m) is collections.defaultdict and m.default_factory is list
    assert dict(m) == {"a": 3.0, "b": 2.0}
    out = fg.jit(lambda t: tu.tree_map(lambda v: v * 2, t))(o)
    assert list(out) == ["b", "a"]


# ---- weak types of constructors -------------------------------------------------------------


def test_full_and_like_constructors_weak_types():
    # jax 0.10.2 gives Array([3., 3.], dtype=float32, weak_type=True)
    assert _dt(fnp.full((2,), 3.0)) == ("float32", True)
    # jax 0.10.2 gives Array([3, 3], dtype=int32, weak_type=True)
    assert _dt(fnp.full((2,), 3)) == ("int32", True)
    # an explicit dtype or an array fill value is strong
    assert _dt(fnp.full((2,), 3, dtype=fnp.float32)) == ("float32", False)
    assert _dt(fnp.full((2,), fnp.array([1.0, 2.0]))) == ("float32", False)
    # jax 0.10.2 gives weak_type=True for zeros_like(3.0) / ones_like(2), strong for arrays
    assert _dt(fnp.zeros_like(3.0)) == ("float32", True)
    assert _dt(fnp.ones_like(2)) == ("int32", True)
    assert _dt(fnp.zeros_like(fnp.ones(2, fnp.int8))) == ("int8", False)
    assert _dt(fnp.ones_like(2.0, dtype=fnp.float32)) == ("float32", False)
    # so they adapt to float16 like a Python scalar would
    assert np.dtype((fnp.full((2,), 3.0) + fnp.ones(2, fnp.float16)).dtype) == np.float16
    # under jit
    assert _dt(fg.jit(lambda x: fnp.full((2,), 3.0) * x)(fnp.float16(1))) == ("float16", False)


def test_array_from_list_of_traced_values_is_strong():
    # jax 0.10.2 gives Array([1., 2.], dtype=float32) (not weak) under jit
    out = fg.jit(lambda x: fnp.array([x, 2 * x]))(1.0)
    assert _dt(out) == ("float32", False)
    np.testing.assert_array_equal(np.asarray(out), [1.0, 2.0])
    out = fg.jit(lambda x: fnp.asarray([[x, 0.0], [0.0, x]]))(2.0)
    assert _dt(out) == ("float32", False) and out.shape == (2, 2)
    assert _dt(fnp.array([fnp.asarray(1.0), 2.0])) == ("float32", False)


# ---- nn -------------------------------------------------------------------------------------


def test_relu_keeps_integer_dtype():
    # jax 0.10.2 gives Array([0, 2], dtype=int32)
    out = fg.nn.relu(fnp.array([-1, 2]))
    assert np.dtype(out.dtype) == np.int32
    np.testing.assert_array_equal(np.asarray(out), [0, 2])
    # float input and the derivative at 0 are unchanged
    assert float(fg.grad(fg.nn.relu)(0.0)) == 0.0
    np.testing.assert_array_equal(
        np.asarray(fg.vmap(fg.grad(fg.nn.relu))(fnp.array([-1.0, 0.0, 2.0]))), [0, 0, 1]
    )
    np.testing.assert_array_equal(np.asarray(fg.jit(fg.nn.relu)(fnp.array([-3, 4]))), [0, 4])


def test_logsumexp_where():
    # jax 0.10.2 gives Array(1., dtype=float32)
    out = fg.nn.logsumexp(fnp.array([1.0, 2.0]), where=fnp.array([True, False]))
    assert float(out) == pytest.approx(1.0)
    # jax 0.10.2 gives Array([1.6931472, 1.6931472], dtype=float32)
    out = fg.nn.logsumexp(fnp.ones((2, 3)), axis=1, where=fnp.array([True, False, True]))
    np.testing.assert_allclose(np.asarray(out), [1.6931472, 1.6931472], rtol=1e-6)
    # jax 0.10.2 gives Array([0.5, 0. , 0.5], dtype=float32) for the gradient
    g = fg.grad(lambda x: fg.nn.logsumexp(x, where=fnp.array([True, False, True])))(fnp.ones(3))
    np.testing.assert_allclose(np.asarray(g), [0.5, 0.0, 0.5], rtol=1e-6)
    # against numpy on random input, under jit and vmap
    x = np.random.RandomState(0).randn(4, 5).astype(np.float32)
    m = np.random.RandomState(1).rand(4, 5) > 0.3
    want = np.log(np.sum(np.where(m, np.exp(x), 0.0), axis=1))
    got = fg.jit(lambda a, w: fg.nn.logsumexp(a, axis=1, where=w))(x, m)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5)
    got = fg.vmap(lambda a, w: fg.nn.logsumexp(a, where=w))(x, m)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5)


# ---- more transformation checks -------------------------------------------------------------


def test_jacobians_check_complex_dtypes():
    z = fnp.array([1 + 1j, 2j])
    # jax 0.10.2 gives [[2.+2.j, 0.+0.j], [0.+0.j, 0.+4.j]] for both
    want = np.diag([2 + 2j, 4j])
    np.testing.assert_allclose(
        np.asarray(fg.jacfwd(lambda v: v**2, holomorphic=True)(z)), want, rtol=1e-6
    )
    np.testing.assert_allclose(
        np.asarray(fg.jacrev(lambda v: v**2, holomorphic=True)(z)), want, rtol=1e-6
    )
    # jax 0.10.2 gives TypeError: jacrev requires real-valued outputs ... holomorphic=True
    with pytest.raises(TypeError, match="holomorphic"):
        fg.jacrev(lambda v: v**2)(z)
    # jax 0.10.2 gives TypeError: jacrev/jacfwd with holomorphic=True requires inputs with
    # complex dtype, but got float32.
    with pytest.raises(TypeError, match="complex"):
        fg.jacrev(lambda v: v**2, holomorphic=True)(fnp.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="complex"):
        fg.jacfwd(lambda v: v**2, holomorphic=True)(fnp.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="complex"):
        fg.hessian(lambda v: fnp.sum(v**3), holomorphic=True)(fnp.array([1.0, 2.0]))
    # real hessian unchanged: jax 0.10.2 gives [[6., 0.], [0., 12.]]
    np.testing.assert_allclose(
        np.asarray(fg.hessian(lambda v: fnp.sum(v**3))(fnp.array([1.0, 2.0]))),
        [[6.0, 0.0], [0.0, 12.0]],
    )


def test_grad_argnums_out_of_range_is_type_error():
    # jax 0.10.2 gives TypeError: differentiating with respect to argnums=2 requires at
    # least 3 positional arguments
    with pytest.raises(TypeError, match="argnums"):
        fg.grad(lambda x, y: x * y, argnums=2)(1.0, 2.0)


def test_eval_shape_accepts_python_scalars_and_arrays():
    # jax 0.10.2 gives ShapeDtypeStruct(shape=(), dtype=float32, weak_type=True)
    out = fg.eval_shape(lambda x: x + 1.0, 1.0)
    assert out.shape == () and out.dtype == np.float32 and out.weak_type is True
    out = fg.eval_shape(lambda x, y: fnp.dot(x, y), fnp.ones((2, 3)), np.ones(3, np.float32))
    assert out.shape == (2,) and out.weak_type is False
    # jax 0.10.2 gives ndim 1 and size 2
    s = fg.ShapeDtypeStruct((2,), fnp.float32)
    assert s.ndim == 1 and s.size == 2
    assert fg.eval_shape(lambda x: x * 2, s).shape == (2,)


def test_linearize_and_vjp_check_tangent_and_cotangent_types():
    _, f_jvp = fg.linearize(lambda x: x**2, fnp.ones(2))
    # jax 0.10.2 gives ValueError: linearized function called on tangent values inconsistent
    # with the original primal values
    with pytest.raises(ValueError, match="inconsistent"):
        f_jvp(fnp.ones(3))
    np.testing.assert_array_equal(np.asarray(f_jvp(fnp.ones(2))), [2.0, 2.0])
    _, f_vjp = fg.vjp(lambda x: x**2, fnp.ones(2))
    # jax 0.10.2 gives ValueError: unexpected JAX type (e.g. shape/dtype) for argument to VJP
    # function: got int32[2], but expected float32[2]
    with pytest.raises(ValueError, match="dtype"):
        f_vjp(fnp.ones(2, fnp.int32))
    (g,) = f_vjp(fnp.ones(2))
    np.testing.assert_array_equal(np.asarray(g), [2.0, 2.0])


def test_reductions_honour_where():
    # jax 0.10.2 gives Array(0.5, dtype=float32)
    out = fnp.var(fnp.array([1.0, 2.0, 4.0]), ddof=1, where=fnp.array([True, True, False]))
    assert float(out) == pytest.approx(0.5)
    # jax 0.10.2 gives Array(True, dtype=bool)
    assert bool(fnp.all(fnp.array([1.0, 0.0]), where=fnp.array([True, False]))) is True
    assert bool(fnp.any(fnp.array([1.0, 0.0]), where=fnp.array([False, True]))) is False
    # jax 0.10.2 gives ValueError: reduction operation max does not have an identity, so to
    # use a where mask one has to specify 'initial'
    with pytest.raises(ValueError, match="initial"):
        fnp.max(fnp.array([1.0, 2.0]), where=fnp.array([False, False]))
    # against numpy on random input, under jit, vmap and grad
    x = np.random.RandomState(0).randn(4, 5).astype(np.float32)
    m = np.random.RandomState(1).rand(4, 5) > 0.3
    np.testing.assert_allclose(
        np.asarray(fnp.var(x, axis=1, where=m, ddof=1)),
        np.var(x, axis=1, where=m, ddof=1),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        np.asarray(fg.jit(lambda a, w: fnp.std(a, axis=0, where=w, keepdims=True))(x, m)),
        np.std(x, axis=0, where=m, keepdims=True),
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        np.asarray(fg.vmap(lambda a, w: fnp.var(a, where=w))(x, m)),
        np.var(x, axis=1, where=m),
        rtol=1e-5,
    )
    np.testing.assert_array_equal(
        np.asarray(fnp.all(x > -1, axis=1, where=m)), np.all(x > -1, axis=1, where=m)
    )
    g = fg.grad(lambda a: fnp.var(a, where=m))(x)
    xm = x[m]
    want = np.zeros_like(x)
    want[m] = 2 * (xm - xm.mean()) / xm.size
    np.testing.assert_allclose(np.asarray(g), want, rtol=1e-4, atol=1e-6)


def test_array_methods_forward_where_and_initial():
    x = fnp.arange(6.0).reshape(2, 3)
    m = np.array([True, False, True])
    xn = np.arange(6.0).reshape(2, 3)
    # jax 0.10.2 gives Array(10., dtype=float32) (the mask used to be dropped silently)
    assert float(x.sum(where=m)) == 10.0
    np.testing.assert_array_equal(np.asarray(x.max(axis=1, initial=10.0)), [10.0, 10.0])
    np.testing.assert_allclose(np.asarray(x.mean(axis=1, where=m)), np.mean(xn, axis=1, where=m))
    assert float(x.var(where=m)) == pytest.approx(float(np.var(xn, where=m)))
    assert float(x.std(where=m, ddof=1)) == pytest.approx(float(np.std(xn, where=m, ddof=1)))
    assert float(x.min(where=m, initial=100.0)) == 0.0
    assert float(x.prod(where=x > 0)) == 120.0
    assert bool(x.all(where=m)) is False and bool(x.any(where=~m)) is True
    assert float(fg.jit(lambda v: v.sum(where=v > 2))(x)) == 12.0
    np.testing.assert_array_equal(
        np.asarray(fg.grad(lambda v: v.sum(where=m))(x)), np.broadcast_to(m, (2, 3)) * 1.0
    )
    # jax 0.10.2 gives [[2, 1, 0], [2, 1, 0]] for argsort(axis=1, descending=True)
    np.testing.assert_array_equal(
        np.asarray(x.argsort(axis=1, descending=True)), [[2, 1, 0], [2, 1, 0]]
    )
    np.testing.assert_array_equal(np.asarray(x.sort(axis=0, descending=True)), xn[::-1])


def test_array_methods_and_reflected_operators():
    x = fnp.arange(6.0).reshape(2, 3)
    xn = np.arange(6.0).reshape(2, 3)
    # jax 0.10.2 has Array.cumprod / ptp / conjugate / searchsorted
    np.testing.assert_array_equal(np.asarray(x.cumprod(axis=1)), np.cumprod(xn, axis=1))
    assert float(x.ptp()) == 5.0
    np.testing.assert_array_equal(np.asarray((x * 1j).conjugate()), (xn * 1j).conjugate())
    assert int(fnp.arange(5).searchsorted(2)) == 2
    # jax 0.10.2 gives Array([1, 2, 4], dtype=int32) for 1 << arange(3)
    np.testing.assert_array_equal(np.asarray(1 << fnp.arange(3)), [1, 2, 4])
    np.testing.assert_array_equal(np.asarray(16 >> fnp.arange(3)), [16, 8, 4])
    q, r = divmod(7.0, fnp.array([2.0, 3.0]))
    np.testing.assert_array_equal(np.asarray(q), [3.0, 2.0])
    np.testing.assert_array_equal(np.asarray(r), [1.0, 1.0])


def test_bitcast_to_a_different_width_is_an_error_not_a_wrong_shape():
    # jax 0.10.2 gives shape (2, 4) for float32[2] -> uint8; funcgrad supports equal widths
    # only, and now says so eagerly too (it used to return a flat (8,) array)
    with pytest.raises(TypeError, match="differ in size"):
        lax.bitcast_convert_type(fnp.ones(2), fnp.uint8)
    # jax 0.10.2 gives Array(1065353216, dtype=int32)
    assert int(lax.bitcast_convert_type(fnp.float32(1.0), fnp.int32)) == 1065353216


def test_normal_complex_dtype():
    # jax 0.10.2 gives complex64 samples with real and imaginary parts of variance 1/2
    x = random.normal(random.PRNGKey(0), (4000,), fnp.complex64)
    assert np.dtype(x.dtype) == np.complex64 and x.shape == (4000,)
    xn = np.asarray(x)
    assert abs(xn.real.var() - 0.5) < 0.05 and abs(xn.imag.var() - 0.5) < 0.05
    assert abs(np.corrcoef(xn.real, xn.imag)[0, 1]) < 0.1
    y = fg.jit(lambda k: random.normal(k, (3,), fnp.complex64))(random.PRNGKey(0))
    np.testing.assert_allclose(
        np.asarray(y), np.asarray(random.normal(random.PRNGKey(0), (3,), fnp.complex64)), rtol=1e-6
    )
    ys = fg.vmap(lambda k: random.normal(k, (2,), fnp.complex64))(
        random.split(random.PRNGKey(1), 3)
    )
    assert ys.shape == (3, 2) and np.dtype(ys.dtype) == np.complex64


def test_nanmin_nanmax_all_nan_and_integers():
    # jax 0.10.2 gives Array(nan, dtype=float32) (it used to be inf)
    assert np.isnan(float(fnp.nanmin(fnp.array([np.nan, np.nan]))))
    # jax 0.10.2 gives Array([ 1., nan], dtype=float32)
    np.testing.assert_array_equal(
        np.asarray(fnp.nanmax(fnp.array([[np.nan, 1.0], [np.nan, np.nan]]), axis=1)), [1.0, np.nan]
    )
    # jax 0.10.2 gives Array(2, dtype=int32) for integers (it used to raise OverflowError)
    assert int(fnp.nanmax(fnp.array([1, 2]))) == 2
    np.testing.assert_array_equal(
        np.asarray(fnp.nanmin(fnp.array([[3, 2]]), axis=1, keepdims=True)), [[2]]
    )
    x = np.random.RandomState(0).randn(4, 5).astype(np.float32)
    x[x > 0.8] = np.nan
    np.testing.assert_array_equal(
        np.asarray(fg.jit(lambda a: fnp.nanmax(a, axis=0))(x)), np.nanmax(x, axis=0)
    )
    g = fg.grad(lambda a: fnp.nanmin(a))(fnp.array([np.nan, 2.0, 1.0]))
    np.testing.assert_array_equal(np.asarray(g), [0.0, 0.0, 1.0])


def test_cumulative_sum_array_api_signature():
    # jax 0.10.2 gives Array([0, 1, 3, 6], dtype=int32)
    out = fnp.cumulative_sum(fnp.array([1, 2, 3]), include_initial=True)
    np.testing.assert_array_equal(np.asarray(out), [0, 1, 3, 6])
    # jax 0.10.2 gives [[1., 2., 4.], [1., 2., 4.]]
    out = fnp.cumulative_prod(fnp.ones((2, 2)) * 2, axis=1, include_initial=True)
    np.testing.assert_array_equal(np.asarray(out), [[1.0, 2.0, 4.0], [1.0, 2.0, 4.0]])
    # jax 0.10.2 gives ValueError: ... axis was not set to an explicit value
    with pytest.raises(ValueError, match="axis"):
        fnp.cumulative_sum(fnp.ones((2, 2)))
    # jax 0.10.2 gives ValueError: The input must be non-scalar
    with pytest.raises(ValueError, match="non-scalar"):
        fnp.cumulative_sum(fnp.asarray(3))
    x = np.random.RandomState(0).randn(3, 4).astype(np.float32)
    np.testing.assert_allclose(
        np.asarray(fg.jit(lambda a: fnp.cumulative_sum(a, axis=0))(x)),
        np.cumsum(x, axis=0),
        rtol=1e-6,
    )
    g = fg.grad(lambda a: fnp.sum(fnp.cumulative_sum(a, include_initial=True)))(fnp.ones(3))
    np.testing.assert_array_equal(np.asarray(g), [3.0, 2.0, 1.0])
    out = fg.vmap(lambda a: fnp.cumulative_sum(a, include_initial=True))(fnp.ones((2, 3)))
    np.testing.assert_array_equal(np.asarray(out), [[0, 1, 2, 3]] * 2)


def test_vmap_out_axes_out_of_bounds():
    x = fnp.ones((2, 3))
    # jax 0.10.2 gives ValueError: axis 2 is out of bounds for array of dimension 2
    # (funcgrad used to wrap it around silently, returning shape (2, 3))
    for ax in (2, -3):
        with pytest.raises(ValueError, match="out of bounds"):
            fg.vmap(lambda v: v, out_axes=ax)(x)
    # jax 0.10.2 gives shapes (3, 2), (3, 2), (2, 3)
    assert fg.vmap(lambda v: v, out_axes=1)(x).shape == (3, 2)
    assert fg.vmap(lambda v: v, out_axes=-1)(x).shape == (3, 2)
    assert fg.vmap(lambda v: v, out_axes=-2)(x).shape == (2, 3)
    y = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(
        np.asarray(fg.jit(fg.vmap(lambda v: v * 2, out_axes=-1))(y)), np.moveaxis(y, 0, -1) * 2
    )


def test_jit_static_argnums_out_of_range():
    # jax 0.10.2 gives ValueError: Jitted function has static_argnums=(5,), but only accepts
    # 2 positional arguments (raised by jit itself)
    with pytest.raises(ValueError, match="static_argnums"):
        fg.jit(lambda x, y: x + y, static_argnums=(5,))
    # *args functions and negative indices in range are fine
    assert float(fg.jit(lambda x, *a: x + len(a), static_argnums=(3,))(1.0, 2, 3, 4)) == 4.0
    assert float(fg.jit(lambda x, n: x * n, static_argnums=-1)(1.0, 3)) == 3.0


def test_dynamic_slice_negative_starts_count_from_the_end():
    # jax 0.10.2 gives [7 8], [0 1] and [0 ... 7 100 101] (a negative start counts from the
    # end of its dimension, then the start is clamped so the slice fits), under jit too
    x = fnp.arange(10)
    assert np.asarray(lax.dynamic_slice(x, (-3,), (2,))).tolist() == [7, 8]
    assert np.asarray(lax.dynamic_slice(x, (-30,), (2,))).tolist() == [0, 1]
    out = lax.dynamic_update_slice(x, fnp.array([100, 101]), (-1,))
    assert np.asarray(out).tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 100, 101]
    f = fg.jit(lambda i: lax.dynamic_slice(x, (i,), (2,)))
    assert np.asarray(f(-3)).tolist() == [7, 8] and np.asarray(f(3)).tolist() == [3, 4]
