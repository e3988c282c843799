"""funcgrad.random: threefry keys, reproducibility, distributions, and transformations."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
import funcgrad.random as fr


def test_threefry_matches_the_published_jax_values():
    # jax.random.split(jax.random.PRNGKey(0)) with the classic threefry implementation
    with fg.config.override(threefry_partitionable=False):
        assert np.asarray(fr.split(fr.PRNGKey(0))).tolist() == [
            [4146024105, 967050713],
            [2718843009, 1272950319],
        ]
    # ... and with jax_threefry_partitionable=True, JAX's default since 0.5 (jax 0.10.2)
    assert np.asarray(fr.split(fr.PRNGKey(0))).tolist() == [
        [1797259609, 2579123966],
        [928981903, 3453687069],
    ]


def test_keys_are_uint32_pairs_and_seeds_split_into_words():
    assert fr.PRNGKey(0).dtype == np.uint32 and fr.PRNGKey(0).shape == (2,)
    assert fr.key(0).shape == () and str(fr.key(0).dtype) == "key<fry>"
    # jax 0.10.2 gives these, x64 off then on
    assert np.asarray(fr.PRNGKey(2**32 + 5)).tolist() == [0, 5]
    assert np.asarray(fr.PRNGKey(-1)).tolist() == [0, 2**32 - 1]
    assert np.asarray(fr.PRNGKey(2**31 + 5)).tolist() == [0, 2**31 + 5]
    with fg.config.override(enable_x64=True):
        assert np.asarray(fr.PRNGKey(2**32 + 5)).tolist() == [1, 5]
        assert np.asarray(fr.PRNGKey(-1)).tolist() == [2**32 - 1, 2**32 - 1]
        assert np.asarray(fr.PRNGKey(2**40 + 7)).tolist() == [256, 7]
    with pytest.raises(TypeError, match="integer"):
        fr.PRNGKey(1.5)


def test_reproducible_and_independent():
    k = fr.key(7)
    a, b = fr.split(k)
    assert np.array_equal(fr.normal(a, (5,)), fr.normal(a, (5,)))
    assert not np.allclose(fr.normal(a, (5,)), fr.normal(b, (5,)))
    assert not np.array_equal(fr.key_data(fr.fold_in(k, 1)), fr.key_data(fr.fold_in(k, 2)))
    assert fr.split(k, 5).shape == (5,) and fr.split(k, (2, 3)).shape == (2, 3)
    raw = fr.PRNGKey(7)
    assert fr.split(raw, 5).shape == (5, 2)
    assert fr.split(raw, (2, 3)).shape == (2, 3, 2)


def test_bad_keys_are_rejected_clearly():
    with pytest.raises(TypeError, match="PRNG key"):
        fr.normal(fnp.zeros(2), (3,))
    with pytest.raises(ValueError, match="single key"):  # as JAX
        fr.normal(fr.split(fr.key(0), 3), (3,))


@pytest.mark.parametrize("shape", [(), (1,), (0,), (3, 4)])
def test_shapes_and_dtypes(shape):
    k = fr.key(1)
    for fn in (fr.normal, fr.uniform, fr.gumbel, fr.exponential, fr.laplace, fr.logistic):
        x = fn(k, shape)
        assert x.shape == shape and x.dtype == np.float32
    assert fr.randint(k, shape, 0, 5).dtype == np.int32
    assert fr.bernoulli(k, 0.5, shape).dtype == np.bool_


def test_distribution_moments():
    k = fr.key(3)
    n = 200_000
    x = np.asarray(fr.normal(k, (n,)))
    assert abs(x.mean()) < 0.01 and abs(x.std() - 1) < 0.01
    u = np.asarray(fr.uniform(k, (n,), minval=-2.0, maxval=3.0))
    assert u.min() >= -2 and u.max() < 3 and abs(u.mean() - 0.5) < 0.02
    assert abs(np.asarray(fr.bernoulli(k, 0.3, (n,))).mean() - 0.3) < 0.01
    t = np.asarray(fr.truncated_normal(k, -1.0, 2.0, (n,)))
    assert t.min() > -1 and t.max() < 2
    g = np.asarray(fr.gumbel(k, (n,)))
    assert abs(g.mean() - np.euler_gamma) < 0.02


def test_integer_sampling():
    k = fr.key(4)
    r = np.asarray(fr.randint(k, (50_000,), -3, 4))
    assert r.min() == -3 and r.max() == 3
    assert np.all(np.abs(np.bincount(r + 3) / 50_000 - 1 / 7) < 0.01)
    p = np.asarray(fr.permutation(k, 20))
    assert sorted(p.tolist()) == list(range(20))
    x = fnp.arange(10.0) * 2
    px = np.asarray(fr.permutation(k, x))
    assert sorted(px.tolist()) == list(np.arange(10.0) * 2)
    c = np.asarray(fr.choice(k, 10, (10,), replace=False))
    assert sorted(c.tolist()) == list(range(10))
    freqs = (
        np.bincount(
            np.asarray(fr.categorical(k, fnp.log(fnp.asarray([0.2, 0.3, 0.5])), shape=(50_000,))),
            minlength=3,
        )
        / 50_000
    )
    assert np.allclose(freqs, [0.2, 0.3, 0.5], atol=0.01)
    weighted = np.asarray(fr.choice(k, 3, (50_000,), p=fnp.asarray([0.1, 0.1, 0.8])))
    assert abs((weighted == 2).mean() - 0.8) < 0.01


def test_vmap_over_keys_equals_a_loop():
    keys = fr.split(fr.key(5), 4)
    batched = fg.vmap(lambda k: fr.normal(k, (3,)))(keys)
    looped = np.stack([np.asarray(fr.normal(keys[i], (3,))) for i in range(4)])
    assert np.array_equal(batched, looped)


def test_random_inside_grad_is_a_constant():
    k = fr.key(0)
    f = lambda x: fnp.sum(x * fr.normal(k, (3,)))
    assert np.allclose(fg.grad(f)(fnp.ones(3)), fr.normal(k, (3,)))
