"""Collectives over axes named by ``vmap(axis_name=...)`` against jax 0.10.2's results
(values, shapes, dtypes, grad outside and inside the vmap, jvp), eagerly, under ``jit`` and
with ``jit`` inside the vmap; plus the rules JAX lacks (pmax/pmin derivatives), errors, and
BatchNorm's synchronised statistics. Reference values: tests/data/jax_collectives.json,
written by tests/data/make_jax_collectives.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

DATA = json.loads((Path(__file__).parent / "data" / "jax_collectives.json").read_text())
CASES = DATA["cases"]
MODES = ["eager", "jit", "jit_inside"]


def _fn(case):
    return eval(case["src"], {"lax": lax, "np_": fnp})


def _batched(f, case, mode):
    names, in_axes = case["names"], case["in_axes"]
    g = fg.jit(f) if mode == "jit_inside" else f
    for k, name in enumerate(reversed(names)):
        outer = k == len(names) - 1
        axes = tuple(in_axes) if (outer and in_axes) else 0
        g = fg.vmap(g, in_axes=axes, axis_name=name)
    return fg.jit(g) if mode == "jit" else g


def _args(case):
    dt = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}[case["dtype"]]
    return [np.asarray(a, dtype=dt).reshape(s) for a, s in zip(case["args"], case["shapes"])]


def _leaves(t):
    return [np.asarray(x) for x in fg.tree_util.tree_leaves(t)]


def _close(got, want, what):
    assert len(got) == len(want), what
    for g, w in zip(got, want):
        w = np.asarray(w, dtype=np.float64)
        assert g.shape == w.shape, f"{what}: shape {g.shape} != {w.shape}"
        np.testing.assert_allclose(g, w, rtol=2e-6, atol=2e-6, err_msg=what)


def _dot_cts(out, cts):
    leaves = fg.tree_util.tree_leaves(out)
    return sum(fnp.sum(o * fnp.asarray(c, dtype=np.float32)) for o, c in zip(leaves, cts))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_values_match_jax(name, mode):
    case = CASES[name]
    out = _leaves(_batched(_fn(case), case, mode)(*_args(case)))
    assert [str(o.dtype) for o in out] == case["out_dtypes"]
    assert [list(o.shape) for o in out] == case["out_shapes"]
    _close(out, case["out"], f"{name} ({mode})")


DIFF = sorted(n for n, c in CASES.items() if "grad" in c)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", DIFF)
def test_grad_outside_vmap_matches_jax(name, mode):
    case = CASES[name]
    args = _args(case)
    g = _batched(_fn(case), case, mode)
    grad = fg.grad(lambda a0: _dot_cts(g(a0, *args[1:]), case["cts"]))(args[0])
    _close([np.asarray(grad)], case["grad"], f"grad {name} ({mode})")


@pytest.mark.parametrize("mode", ["eager", "jit"])
@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if "jvp" in c))
def test_jvp_matches_jax(name, mode):
    case = CASES[name]
    args = _args(case)
    g = _batched(_fn(case), case, mode)
    tan = np.asarray(case["tangent"], np.float32)
    _, tout = fg.jvp(lambda a0: g(a0, *args[1:]), (args[0],), (tan,))
    _close(_leaves(tout), case["jvp"], f"jvp {name} ({mode})")


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if "grad_inside" in c))
def test_grad_inside_vmap_matches_jax(name, jit):
    """``vmap(grad(f), axis_name=)``: the transposes of the collectives themselves (psum's
    is psum, all_gather's is psum_scatter, ...)."""
    case = CASES[name]
    f = _fn(case)
    cts = [np.asarray(c, np.float32) for c in case["cts"]]

    def per_example(v, *cs):
        return fg.grad(lambda u: _dot_cts(f(u), cs))(v)

    h = fg.vmap(per_example, axis_name=case["names"][0])
    h = fg.jit(h) if jit else h
    _close([np.asarray(h(_args(case)[0], *cts))], case["grad_inside"], f"grad inside {name}")


def test_jax_errors_recorded_are_the_known_jax_bugs():
    """Where JAX itself fails (recorded), funcgrad still differentiates: checked below."""
    errs = {(n, k) for n, c in CASES.items() for k in c if k.endswith("_error")}
    assert errs <= {
        ("all_to_all_01", "grad_inside_error"),
        ("all_to_all_10", "grad_inside_error"),
        ("pbroadcast", "grad_error"),
        ("pbroadcast", "jvp_error"),
        ("pbroadcast", "grad_inside_error"),
    }


# ---- what JAX cannot give: checked against equivalent formulations ------------------------------


def _x(shape=(4, 3), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _check_same(f1, f2, x, ct):
    """Same values and the same grad of <f(x), ct>, outside and inside the vmap."""
    v1, v2 = (fg.vmap(f, axis_name="i")(x) for f in (f1, f2))
    np.testing.assert_allclose(np.asarray(v1), np.asarray(v2), rtol=1e-6, atol=1e-6)
    for inside in (False, True):
        grads = []
        for f in (f1, f2):
            if inside:
                per = lambda v, c, f=f: fg.grad(lambda u: fnp.sum(f(u) * c))(v)
                grads.append(fg.vmap(per, axis_name="i")(x, ct))
            else:
                grads.append(fg.grad(lambda a, f=f: fnp.sum(fg.vmap(f, axis_name="i")(a) * ct))(x))
        np.testing.assert_allclose(np.asarray(grads[0]), np.asarray(grads[1]), atol=1e-6)


def test_pbroadcast_is_a_masked_psum():
    def masked(v):
        return lax.psum(fnp.where(lax.axis_index("i") == 2, v, 0.0), "i")

    _check_same(lambda v: lax.pbroadcast(v, "i", 2), masked, _x(), _x(seed=1))


@pytest.mark.parametrize("split,concat", [(0, 1), (1, 0)])
def test_all_to_all_grad_inside_is_its_transpose(split, concat):
    shape = (4, 4, 3) if split == 0 else (4, 3, 4)
    x, ct = _x(shape), _x((4, 3, 4) if split == 0 else (4, 4, 3), seed=2)

    def gathered(v):  # all_to_all written with all_gather + axis_index (a different path)
        g = lax.all_gather(v, "i")  # (k, *v.shape)
        mine = fnp.take(g, lax.axis_index("i"), axis=1 + split)
        return fnp.moveaxis(mine, 0, concat)

    _check_same(lambda v: lax.all_to_all(v, "i", split, concat), gathered, x, ct)


@pytest.mark.parametrize("op,red", [(lax.pmax, fnp.max), (lax.pmin, fnp.min)])
def test_pmax_pmin_derivatives_follow_reduce_max(op, red):
    """JAX has no derivative for pmax/pmin; funcgrad's splits it among the members attaining
    the extreme, as reduce_max's does (and so vmap-of-pmax == max over the batch axis)."""
    x = np.array([[1.0, 5.0], [3.0, 5.0], [3.0, -1.0]], np.float32)  # ties on purpose
    ct = _x((3, 2), seed=3)

    def by_reduction(a):
        return fnp.broadcast_to(red(a, axis=0), a.shape)

    want = fg.grad(lambda a: fnp.sum(by_reduction(a) * ct))(x)
    got = fg.grad(lambda a: fnp.sum(fg.vmap(lambda v: op(v, "i"), axis_name="i")(a) * ct))(x)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-6)
    per = lambda v, c: fg.grad(lambda u: fnp.sum(op(u, "i") * c))(v)
    inside = fg.vmap(per, axis_name="i")(x, ct)
    np.testing.assert_allclose(np.asarray(inside), np.asarray(want), atol=1e-6)


# ---- named axes through the rest of funcgrad ----------------------------------------------------


def test_unbound_axis_name_is_a_name_error():
    x = fnp.arange(3.0)
    with pytest.raises(NameError, match="unbound axis name: b"):
        lax.psum(x, "b")
    with pytest.raises(NameError, match="unbound axis name: b"):
        fg.jit(lambda v: lax.all_gather(v, "b"))(x)
    with pytest.raises(NameError, match="unbound axis name: j"):
        fg.vmap(lambda v: lax.psum(v, ("i", "j")), axis_name="i")(x)
    with pytest.raises(NameError, match="unbound axis name: b"):
        lax.axis_index("b")
    with pytest.raises(NameError, match="unbound axis name: b"):
        fg.vmap(lambda v: lax.pmax(v, "b"))(x)  # vmap without axis_name binds nothing


def test_unsupported_options_raise_clearly():
    x = fnp.ones((4, 4))
    with pytest.raises(NotImplementedError, match="axis_index_groups"):
        fg.vmap(lambda v: lax.psum(v, "i", axis_index_groups=[[0, 1], [2, 3]]), axis_name="i")(x)
    two = fg.vmap(fg.vmap(lambda v: lax.all_gather(v, ("i", "j")), axis_name="j"), axis_name="i")
    with pytest.raises(NotImplementedError, match="several axis names"):
        two(fnp.ones((2, 2, 3)))
    with pytest.raises(ValueError, match="repeated"):
        fg.vmap(lambda v: lax.ppermute(v, "i", [(0, 1), (1, 1)]), axis_name="i")(x)
    with pytest.raises(ValueError, match="psum_scatter"):
        fg.vmap(lambda v: lax.psum_scatter(v, "i", scatter_dimension=0), axis_name="i")(
            fnp.ones((4, 3))
        )
    with pytest.raises(TypeError):
        fg.vmap(lambda v: v, axis_name=["not", "hashable"])


def test_ppermute_partial_permutation_gives_zeros():
    f = fg.vmap(lambda v: lax.ppermute(v, "i", [(0, 2), (3, 1)]), axis_name="i")
    np.testing.assert_array_equal(np.asarray(f(fnp.array([1, 2, 3, 4]))), [0, 4, 1, 0])
    g = fg.vmap(lambda v: lax.ppermute(5.0, "i", [(0, 1)]) + v, axis_name="i")  # unbatched
    np.testing.assert_array_equal(np.asarray(g(fnp.zeros(3))), [0.0, 5.0, 0.0])


def test_psum_of_python_number_is_the_axis_size():
    seen = []

    def f(v):
        seen.append(lax.psum(1, "i"))
        return v * lax.axis_size("i")

    np.testing.assert_array_equal(np.asarray(fg.vmap(f, axis_name="i")(fnp.ones(3))), [3.0] * 3)
    assert seen == [3] and isinstance(seen[0], int)


@pytest.mark.parametrize("jit", [False, True])
def test_collectives_inside_control_flow(jit):
    x = fnp.arange(4.0)

    def f(v):
        a = lax.cond(v > 1, lambda u: lax.psum(u, "i"), lambda u: u, v)
        b = lax.fori_loop(0, 3, lambda k, c: c + lax.psum(c, "i"), v)
        c = lax.scan(lambda c, _: (c + lax.pmean(c, "i"), None), v, None, length=2)[0]
        d = lax.while_loop(
            lambda s: s[1] < 2, lambda s: (lax.pmax(s[0], "i") + s[0], s[1] + 1), (v, 0)
        )[0]
        return a, b, c, d

    g = fg.vmap(f, axis_name="i")
    a, b, c, d = (np.asarray(o) for o in (fg.jit(g) if jit else g)(x))
    np.testing.assert_allclose(a, [0.0, 1.0, 6.0, 6.0])
    np.testing.assert_allclose(b, [186.0, 187.0, 188.0, 189.0])
    np.testing.assert_allclose(c, [4.5, 5.5, 6.5, 7.5])
    np.testing.assert_allclose(d, [9.0, 10.0, 11.0, 12.0])  # (v + 3), then + 6


def test_jit_inside_vmap_retraces_for_a_new_axis_size():
    g = fg.jit(lambda v: lax.all_gather(v, "i"))
    assert fg.vmap(g, axis_name="i")(fnp.arange(3.0)).shape == (3, 3)
    assert fg.vmap(g, axis_name="i")(fnp.arange(5.0)).shape == (5, 5)


def test_jit_with_unbatched_arguments_still_sees_the_axis():
    w = fnp.ones(2)
    f = fg.vmap(lambda v: fg.jit(lambda u: lax.psum(u, "i"))(w) * v, axis_name="i")
    np.testing.assert_allclose(np.asarray(f(fnp.arange(3.0))), [[0, 0], [3, 3], [6, 6]])
    h = fg.vmap(lambda v: fg.jit(lambda: lax.axis_index("i"))() + v, axis_name="i")
    np.testing.assert_allclose(np.asarray(h(fnp.zeros(3))), [0.0, 1.0, 2.0])


def test_spmd_axis_name_is_accepted():
    f = fg.vmap(lambda v: lax.psum(v, "i"), axis_name="i", spmd_axis_name="data")
    np.testing.assert_allclose(np.asarray(f(fnp.ones(3))), [3.0] * 3)


def test_compiled_as_reductions_not_loops():
    jaxpr = fg.make_jaxpr(fg.vmap(lambda v: v / lax.psum(v, "i"), axis_name="i"))(fnp.ones(4))
    text = str(jaxpr)
    assert "reduce_sum" in text and "psum" not in text


def test_composition_grad_of_jit_of_vmap_and_hessian():
    x = _x((5,), seed=4)

    def loss(a):
        y = fg.vmap(lambda v: fnp.exp(v) / lax.psum(fnp.exp(v), "i"), axis_name="i")(a)
        return fnp.sum(y * fnp.arange(5.0))

    ref = lambda a: fnp.sum(fnp.exp(a) / fnp.sum(fnp.exp(a)) * fnp.arange(5.0))
    np.testing.assert_allclose(
        np.asarray(fg.jit(fg.grad(fg.jit(loss)))(x)), np.asarray(fg.grad(ref)(x)), atol=1e-6
    )
    np.testing.assert_allclose(
        np.asarray(fg.hessian(loss)(x)), np.asarray(fg.hessian(ref)(x)), atol=1e-5
    )


@pytest.mark.parametrize("mode", ["ema", "batch"])
@pytest.mark.parametrize("jit", [False, True])
def test_batchnorm_axis_name_synchronises_statistics(jit, mode):
    """Equinox's use: BatchNorm(C, "batch") per example under vmap(axis_name="batch"), the
    state unbatched (out_axes=None), equals BatchNorm over the whole batch of 24."""
    x = _x((24, 3, 2, 2), seed=5)
    bn, state = fg.nn.make_with_state(fg.nn.BatchNorm)(3, "batch", mode=mode)
    ref, ref_state = fg.nn.make_with_state(fg.nn.BatchNorm)(3, None, mode=mode)
    f = fg.vmap(bn, axis_name="batch", in_axes=(0, None), out_axes=(0, None))
    f = fg.jit(f) if jit else f
    for step in range(2):  # the second step uses the running statistics of the first
        y, state = f(x + step, state)
        y_all, ref_state = ref(x + step, ref_state)
        np.testing.assert_allclose(np.asarray(y), np.asarray(y_all), atol=2e-6)
        for a, b in zip(fg.tree_util.tree_leaves(state), fg.tree_util.tree_leaves(ref_state)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
    ct = _x((24, 3, 2, 2), seed=6)
    g1 = fg.grad(lambda a: fnp.sum(f(a, state)[0] * ct))(x)
    g2 = fg.grad(lambda a: fnp.sum(ref(a, ref_state)[0] * ct))(x)
    np.testing.assert_allclose(np.asarray(g1), np.asarray(g2), atol=2e-5)


def test_batchnorm_axis_name_tuple_and_shard_axes():
    """Nested named axes: shards x examples, statistics over both names == whole batch."""
    x = _x((4, 6, 3, 2, 2), seed=7)
    bn, state = fg.nn.make_with_state(fg.nn.BatchNorm)(3, ("s", "e"))
    ref, ref_state = fg.nn.make_with_state(fg.nn.BatchNorm)(3, None)
    inner = fg.vmap(bn, axis_name="e", in_axes=(0, None), out_axes=(0, None))
    y, state = fg.vmap(inner, axis_name="s", in_axes=(0, None), out_axes=(0, None))(x, state)
    y_all, ref_state = ref(x.reshape(24, 3, 2, 2), ref_state)
    np.testing.assert_allclose(np.asarray(y).reshape(24, 3, 2, 2), np.asarray(y_all), atol=2e-6)


def test_batchnorm_axis_name_errors():
    bn, state = fg.nn.make_with_state(fg.nn.BatchNorm)(3, "batch")
    with pytest.raises(NameError):
        bn(_x((3, 2, 2), seed=1), state)  # no vmap binds "batch"
    bn, state = fg.nn.make_with_state(fg.nn.BatchNorm)(3, "batch")
    with pytest.raises(ValueError, match="one example"):
        fg.vmap(bn, axis_name="batch", in_axes=(0, None), out_axes=(0, None))(
            _x((5, 4, 2), seed=1), state
        )
