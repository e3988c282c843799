"""Records jax 0.10.2's results for tests/test_collectives.py: collectives over axes named by
``vmap(axis_name=...)`` (values, shapes, dtypes, reverse- and forward-mode derivatives).

Run once, in an environment with jax installed (never a test dependency):
``python make_jax_collectives.py``. Writes jax_collectives.json beside this file.

Each case is the source of a per-example function (``lax`` and ``np_`` are the library's lax
and numpy modules), the shapes of its batched arguments, their dtype, ``in_axes`` and the
axis names (outermost first; several names mean nested vmaps). The test evaluates the same
source with funcgrad's modules, so the cases live in one place: the JSON.
"""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

F, INT, B = "float32", "int32", "bool"
# name, src, shapes, dtype, in_axes (None: all 0), names, flags ("d": derivatives,
# "in": also grad inside vmap). JAX has no derivative of pmax/pmin (funcgrad's is tested
# against reduce_max's in the test).
CASES = [
    ("psum", "lambda v: lax.psum(v, 'i')", [(4, 3)], F, None, ["i"], "d in"),
    ("psum_int", "lambda v: lax.psum(v, 'i')", [(4, 3)], INT, None, ["i"], ""),
    ("psum_bool", "lambda v: lax.psum(v, 'i')", [(4, 3)], B, None, ["i"], ""),
    ("psum_ratio", "lambda v: v / lax.psum(v, 'i')", [(4,)], F, None, ["i"], "d in"),
    ("psum_const", "lambda v: v * lax.psum(1, 'i')", [(5, 2)], F, None, ["i"], "d in"),
    (
        "psum_unbatched",
        "lambda v, w: v * lax.psum(w, 'i')",
        [(4, 3), (3,)],
        F,
        (0, None),
        ["i"],
        "d",
    ),
    (
        "psum_tree",
        "lambda v: lax.psum({'a': v, 'b': (2 * v, v[0])}, 'i')",
        [(3, 2)],
        F,
        None,
        ["i"],
        "d in",
    ),
    ("pmean", "lambda v: lax.pmean(v, 'i')", [(4, 3)], F, None, ["i"], "d in"),
    ("pmean_int", "lambda v: lax.pmean(v, 'i')", [(4, 3)], INT, None, ["i"], ""),
    ("pmax", "lambda v: lax.pmax(v, 'i')", [(4, 3)], F, None, ["i"], ""),
    ("pmin", "lambda v: lax.pmin(v, 'i')", [(4, 3)], F, None, ["i"], ""),
    ("pmax_int", "lambda v: lax.pmax(v, 'i')", [(4, 3)], INT, None, ["i"], ""),
    ("pmin_int", "lambda v: lax.pmin(v, 'i')", [(4, 3)], INT, None, ["i"], ""),
    ("all_gather", "lambda v: lax.all_gather(v, 'i')", [(4, 3)], F, None, ["i"], "d in"),
    (
        "all_gather_ax1",
        "lambda v: lax.all_gather(v, 'i', axis=1)",
        [(4, 2, 3)],
        F,
        None,
        ["i"],
        "d in",
    ),
    (
        "all_gather_tiled",
        "lambda v: lax.all_gather(v, 'i', axis=1, tiled=True)",
        [(4, 2, 3)],
        F,
        None,
        ["i"],
        "d in",
    ),
    ("all_gather_int", "lambda v: lax.all_gather(v, 'i')", [(3, 2)], INT, None, ["i"], ""),
    ("psum_scatter", "lambda v: lax.psum_scatter(v, 'i')", [(4, 4, 3)], F, None, ["i"], "d in"),
    (
        "psum_scatter_dim1",
        "lambda v: lax.psum_scatter(v, 'i', scatter_dimension=1)",
        [(4, 3, 4)],
        F,
        None,
        ["i"],
        "d in",
    ),
    (
        "psum_scatter_tiled",
        "lambda v: lax.psum_scatter(v, 'i', scatter_dimension=1, tiled=True)",
        [(4, 3, 8)],
        F,
        None,
        ["i"],
        "d in",
    ),
    (
        "ppermute",
        "lambda v: lax.ppermute(v, 'i', [(0, 1), (1, 2), (2, 3), (3, 0)])",
        [(4, 3)],
        F,
        None,
        ["i"],
        "d in",
    ),
    (
        "ppermute_swap",
        "lambda v: lax.ppermute(v, 'i', [(0, 2), (2, 0), (1, 1), (3, 3)])",
        [(4, 2)],
        INT,
        None,
        ["i"],
        "",
    ),
    (
        "all_to_all_00",
        "lambda v: lax.all_to_all(v, 'i', 0, 0)",
        [(4, 4, 3)],
        F,
        None,
        ["i"],
        "d in",
    ),
    (
        "all_to_all_01",
        "lambda v: lax.all_to_all(v, 'i', 0, 1)",
        [(4, 4, 3)],
        F,
        None,
        ["i"],
        "d in",
    ),
    (
        "all_to_all_10",
        "lambda v: lax.all_to_all(v, 'i', 1, 0)",
        [(4, 3, 4)],
        F,
        None,
        ["i"],
        "d in",
    ),
    (
        "all_to_all_tiled",
        "lambda v: lax.all_to_all(v, 'i', 0, 1, tiled=True)",
        [(4, 8, 3)],
        F,
        None,
        ["i"],
        "d in",
    ),
    ("pbroadcast", "lambda v: lax.pbroadcast(v, 'i', 2)", [(4, 3)], F, None, ["i"], "d in"),
    ("axis_index", "lambda v: v * lax.axis_index('i')", [(4, 3)], F, None, ["i"], "d in"),
    ("axis_size", "lambda v: v * lax.axis_size('i')", [(4, 3)], F, None, ["i"], "d"),
    (
        "softmax_like",
        "lambda v: np_.exp(v) / lax.psum(np_.exp(v), 'i')",
        [(5, 3)],
        F,
        None,
        ["i"],
        "d in",
    ),
    ("nested_psum_ij", "lambda v: lax.psum(v, ('i', 'j'))", [(2, 3, 4)], F, None, ["i", "j"], "d"),
    ("nested_psum_i", "lambda v: lax.psum(v, 'i')", [(2, 3, 4)], F, None, ["i", "j"], "d"),
    ("nested_psum_j", "lambda v: lax.psum(v, 'j')", [(2, 3, 4)], F, None, ["i", "j"], "d"),
    ("nested_pmax_ij", "lambda v: lax.pmax(v, ('i', 'j'))", [(2, 3, 4)], F, None, ["i", "j"], ""),
    (
        "nested_pmean_ji",
        "lambda v: lax.pmean(v, ('j', 'i'))",
        [(2, 3, 4)],
        F,
        None,
        ["i", "j"],
        "d",
    ),
    (
        "nested_axis_index",
        "lambda v: v * lax.axis_index(('i', 'j'))",
        [(2, 3, 4)],
        F,
        None,
        ["i", "j"],
        "d",
    ),
    (
        "nested_axis_size",
        "lambda v: v * lax.axis_size(('i', 'j'))",
        [(2, 3)],
        F,
        None,
        ["i", "j"],
        "",
    ),
    ("nested_gather_i", "lambda v: lax.all_gather(v, 'i')", [(2, 3, 4)], F, None, ["i", "j"], "d"),
    (
        "nested_gather_j",
        "lambda v: lax.all_gather(v, 'j', axis=1)",
        [(2, 3, 4)],
        F,
        None,
        ["i", "j"],
        "d",
    ),
    (
        "nested_ppermute_i",
        "lambda v: lax.ppermute(v, 'i', [(0, 1), (1, 0)])",
        [(2, 3, 4)],
        F,
        None,
        ["i", "j"],
        "d",
    ),
    (
        "nested_scatter_j",
        "lambda v: lax.psum_scatter(v, 'j')",
        [(2, 3, 3)],
        F,
        None,
        ["i", "j"],
        "d",
    ),
    (
        "nested_a2a_i",
        "lambda v: lax.all_to_all(v, 'i', 0, 0)",
        [(2, 3, 2, 5)],
        F,
        None,
        ["i", "j"],
        "d",
    ),
]


def _data(shape, dtype, rng):
    if dtype == B:
        return rng.random(shape) < 0.5
    if dtype == INT:
        return rng.integers(-5, 6, shape).astype(np.int32)
    return (np.round(rng.normal(size=shape) * 4) / 4 + 0.1).astype(np.float32)


def _batched(f, names, in_axes):
    g = f
    for k, name in enumerate(reversed(names)):
        outer = k == len(names) - 1
        g = jax.vmap(g, in_axes=in_axes if (outer and in_axes) else 0, axis_name=name)
    return g


def _leaves(t):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(t)]


def _dot_cts(out, cts):
    return sum(jnp.sum(o * c) for o, c in zip(jax.tree_util.tree_leaves(out), cts))


def _grad_inside(f, names, args, cts):
    def per_example(v, *cs):
        return jax.grad(lambda u: _dot_cts(f(u), cs))(v)

    return jax.vmap(per_example, axis_name=names[0])(args[0], *cts)


def _try(rec, key, fn):
    """Record ``fn()``'s leaves under ``key``, or the error JAX raises (its bugs: the
    transposes of all_to_all and pbroadcast under vmap) under ``key + '_error'``."""
    try:
        rec[key] = [o.tolist() for o in _leaves(fn())]
    except (TypeError, ValueError, NotImplementedError) as e:
        rec[key + "_error"] = f"{type(e).__name__}: {str(e).splitlines()[0]}"


def _record(case, rng):
    name, src, shapes, dtype, in_axes, names, flags = case
    f = eval(src, {"lax": lax, "np_": jnp})
    args = [_data(s, dtype, rng) for s in shapes]
    g = _batched(f, names, in_axes)
    out = _leaves(g(*args))
    rec = {
        "src": src,
        "shapes": shapes,
        "dtype": dtype,
        "in_axes": in_axes,
        "names": names,
        "flags": flags,
        "args": [a.tolist() for a in args],
        "out": [o.tolist() for o in out],
        "out_dtypes": [str(o.dtype) for o in out],
        "out_shapes": [list(o.shape) for o in out],
    }
    if "d" in flags.split():
        cts = [_data(o.shape, F, rng) for o in out]
        tan = _data(shapes[0], F, rng)
        rec["cts"], rec["tangent"] = [c.tolist() for c in cts], tan.tolist()
        rest = args[1:]
        _try(rec, "grad", lambda: jax.grad(lambda a0: _dot_cts(g(a0, *rest), cts))(args[0]))
        _try(rec, "jvp", lambda: jax.jvp(lambda a0: g(a0, *rest), (args[0],), (tan,))[1])
        if "in" in flags.split():
            _try(rec, "grad_inside", lambda: _grad_inside(f, names, args, cts))
    return name, rec


def main():
    rng = np.random.default_rng(0)
    out = {"jax_version": jax.__version__, "cases": dict(_record(c, rng) for c in CASES)}
    (Path(__file__).parent / "jax_collectives.json").write_text(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
