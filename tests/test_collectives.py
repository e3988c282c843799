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
