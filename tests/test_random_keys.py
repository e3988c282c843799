"""Typed PRNG keys (``random.key``) as JAX's ``key<fry>`` arrays, the
``jax_threefry_partitionable`` setting, and eager speed of the key operations."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
import funcgrad.random as R


def _data(k):
    return np.asarray(R.key_data(k))


def test_typed_key_shape_dtype_and_print():
    k = R.key(0)
    assert k.shape == () and k.ndim == 0 and str(k.dtype) == "key<fry>"
    assert repr(k).startswith("Array((), dtype=key<fry>) overlaying:")
    assert fg.dtypes.issubdtype(k.dtype, fg.dtypes.prng_key)
    assert not fg.dtypes.issubdtype(np.dtype(np.uint32), fg.dtypes.prng_key)
    assert R.key_impl(k) == "threefry2x32" and R.key_impl(R.PRNGKey(0)) == "threefry2x32"
    assert R.key(0, impl="threefry2x32").dtype == k.dtype
    with pytest.raises(NotImplementedError, match="threefry2x32"):
        R.key(0, impl="rbg")
    with pytest.raises(ValueError, match="unrecognized"):
        R.key(0, impl="nope")


def test_key_data_round_trip_and_raw_keys_are_unchanged():
    k = R.key(42)
    assert _data(k).tolist() == np.asarray(R.PRNGKey(42)).tolist() == [0, 42]
    w = R.wrap_key_data(R.key_data(R.split(k, 3)))
    assert w.shape == (3,) and str(w.dtype) == "key<fry>"
    np.testing.assert_array_equal(_data(w), _data(R.split(k, 3)))
    assert R.PRNGKey(0).dtype == np.uint32 and R.PRNGKey(0).shape == (2,)
    with pytest.raises(TypeError):
        np.asarray(k)  # as JAX: a typed key is not a numeric array
    with pytest.raises(TypeError):
        R.wrap_key_data(k)


def test_split_fold_in_give_typed_keys_with_the_raw_streams():
    k, raw = R.key(7), R.PRNGKey(7)
    ks = R.split(k, 4)
    assert ks.shape == (4,) and R.split(k, (2, 3)).shape == (2, 3)
    np.testing.assert_array_equal(_data(ks), np.asarray(R.split(raw, 4)))
    f = R.fold_in(k, 5)
    assert f.shape == () and str(f.dtype) == "key<fry>"
    np.testing.assert_array_equal(_data(f), np.asarray(R.fold_in(raw, 5)))
    np.testing.assert_array_equal(R.normal(k, (4,)), R.normal(raw, (4,)))


def test_indexing_iteration_and_reshape():
    ks = R.split(R.key(1), 6)
    np.testing.assert_array_equal(_data(ks[2]), _data(ks)[2])
    assert ks[1:4].shape == (3,) and ks.reshape(2, 3).shape == (2, 3)
    assert ks.reshape(2, 3)[1, 2].shape == ()
    a, b = R.split(R.key(1))
    assert a.shape == () and len(list(R.split(R.key(1), 3))) == 3
    np.testing.assert_array_equal(R.uniform(ks[0], (3,)), R.uniform(list(ks)[0], (3,)))
    assert bool(fnp.all(ks == ks)) and not bool(fnp.any(ks[0] == ks[1]))
    with pytest.raises(TypeError):
        bool(ks[0])


def test_typed_keys_under_jit_vmap_scan_and_in_pytrees():
    k = R.key(3)
    f = fg.jit(lambda key: R.uniform(key, (3,)))
    np.testing.assert_array_equal(f(k), R.uniform(k, (3,)))
    # (normal: funcgrad's compiled erf_inv may differ from its eager one by an ulp)
    np.testing.assert_allclose(
        fg.jit(lambda key: R.normal(key, (3,)))(k), R.normal(k, (3,)), rtol=1e-6
    )
    g = fg.jit(lambda key: R.split(key, 2))
    out = g(k)
    assert out.shape == (2,) and str(out.dtype) == "key<fry>"
    np.testing.assert_array_equal(_data(out), _data(R.split(k)))
    ks = R.split(k, 4)
    batched = fg.vmap(lambda key: R.uniform(key, (2,)))(ks)
    looped = np.stack([np.asarray(R.uniform(ks[i], (2,))) for i in range(4)])
    np.testing.assert_array_equal(batched, looped)
    folded = fg.vmap(lambda key: R.fold_in(key, 1))(ks)
    assert folded.shape == (4,)
    tree = {"k": k, "w": fnp.ones(2)}
    back = fg.jit(lambda t: t)(tree)
    np.testing.assert_array_equal(_data(back["k"]), _data(k))

    def step(key, _):
        key, sub = R.split(key)
        return key, R.uniform(sub)

    _, xs = fg.lax.scan(step, k, None, length=3)
    assert xs.shape == (3,)


def test_every_sampler_accepts_typed_and_raw_keys():
    for key in (R.key(0), R.PRNGKey(0)):
        assert R.gamma(key, 2.0, (2,)).shape == (2,)
        assert R.poisson(key, 3.0, (2,)).shape == (2,)
        assert R.permutation(key, 5).shape == (5,)
        assert R.choice(key, 5, (2,), replace=False).shape == (2,)
        assert R.categorical(key, fnp.zeros(3), shape=(2,)).shape == (2,)
        assert R.bits(key, (2,), "uint8").dtype == np.uint8


def test_threefry_partitionable_setting():
    k = R.PRNGKey(0)
    assert fg.config.threefry_partitionable is True  # JAX 0.10's default
    with fg.config.override(threefry_partitionable=False):
        legacy = np.asarray(R.split(k))
    assert legacy.tolist() == [[4146024105, 967050713], [2718843009, 1272950319]]
    fg.config.update("jax_threefry_partitionable", False)
    try:
        np.testing.assert_array_equal(np.asarray(R.split(k)), legacy)
        # the setting is part of jit's cache key
        np.testing.assert_array_equal(np.asarray(fg.jit(R.split)(k)), legacy)
    finally:
        fg.config.update("jax_threefry_partitionable", True)
    assert not np.array_equal(np.asarray(fg.jit(R.split)(k)), legacy)
    env = dict(os.environ, FUNCGRAD_THREEFRY_PARTITIONABLE="0")
    code = "import funcgrad as fg; print(fg.config.threefry_partitionable)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "False"


def test_eager_key_operations_are_fast():
    k = R.key(0)
    R.split(k), R.fold_in(k, 1)
    t0 = time.perf_counter()
    for i in range(50):
        R.split(k)
        R.fold_in(k, i)
    per_call = (time.perf_counter() - t0) / 100
    assert per_call < 2e-3  # one numpy hash per call (it was ~4 ms of eager primitives)


def test_traced_and_eager_hashes_agree():
    for part in (True, False):
        with fg.config.override(threefry_partitionable=part):
            k = R.PRNGKey(11)
            for w in ("uint8", "uint16", "uint32"):
                eager = np.asarray(R.bits(k, (5,), w))
                np.testing.assert_array_equal(
                    fg.jit(lambda key, w=w: R.bits(key, (5,), w))(k), eager
                )
            np.testing.assert_array_equal(fg.jit(lambda key: R.split(key, 3))(k), R.split(k, 3))
            np.testing.assert_array_equal(fg.jit(lambda key: R.fold_in(key, 9))(k), R.fold_in(k, 9))
            np.testing.assert_array_equal(
                fg.jit(lambda key: R.uniform(key, (7,), minval=-2.0, maxval=3.0))(k),
                R.uniform(k, (7,), minval=-2.0, maxval=3.0),
            )
