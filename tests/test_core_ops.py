"""The op table (``tests/support/op_table.py``), eager: every check of the primitives
(STYLE principle 12).

- values vs numpy, for every shape set and dtype of every row with a numpy reference;
- output dtype/shape (and weak type) of the staged program (make_jaxpr) == the eager result,
  for every row;
- check_grads to second order (fwd + rev) on the first shape set, float64 with x64;
- vmap vs a Python loop, with in_axes 0, 1, None and mixes.
"""

from __future__ import annotations

import numpy as np
import pytest
from support.op_inputs import F64, is_value_kind, kinds_for, make_args, values
from support.op_refs import sps
from support.op_table import OPS, OPS_BY_NAME, shape_id

import funcgrad as fg
import funcgrad.lax as lax
import funcgrad.numpy as fnp
from funcgrad import tree_util as tu
from funcgrad.test_util import check_grads


def _needs_scipy(op):
    return op.name in ("erf_inv", "digamma") and sps is None


# ---- parametrisation --------------------------------------------------------------------------


def _cases(ops):
    for op in ops:
        for shapes in op.shapes:
            for dt in op.dtypes:
                yield pytest.param(op, shapes, dt, id=f"{op.name}-{shape_id(shapes)}-{dt.name}")


ALL_CASES = list(_cases(OPS))
VALUE_CASES = list(_cases(op for op in OPS if op.ref is not None))


def _leaves(x):
    return tu.tree_leaves(x) if isinstance(x, (tuple, list)) else [x]


def _tol(op, dt):
    if dt.kind in "fc":
        return op.tol if dt.itemsize <= 4 else 1e-10
    return 0


def _call_ref(op, args):
    with np.errstate(all="ignore"):
        return op.ref(*args)


def _x64_for(dtype):
    return fg.config.override(enable_x64=dtype.itemsize == 8)


@pytest.mark.parametrize("op,shapes,dtype", VALUE_CASES)
def test_values_vs_numpy(op, shapes, dtype):
    if _needs_scipy(op):
        pytest.skip("needs scipy for the reference")
    with _x64_for(dtype):
        _check_values(op, shapes, dtype)


def _check_values(op, shapes, dtype):
    args = make_args(op, shapes, dtype)
    got = op.fn(*[fnp.asarray(a) for a in args])
    want = _call_ref(op, args)
    got_l, want_l = _leaves(got), _leaves(want)
    assert len(got_l) == len(want_l)
    for g, w in zip(got_l, want_l):
        assert isinstance(g, fg.Array)
        w = np.asarray(w)
        assert g.shape == w.shape, f"{op.name}: shape {g.shape} vs numpy {w.shape}"
        if w.dtype.kind in "fc" and g.dtype.kind in "fc":
            assert g.dtype == w.dtype or op.name.startswith(("fnp.", "dot", "conv")), (
                g.dtype,
                w.dtype,
            )
            tol = _tol(op, g.dtype)
            np.testing.assert_allclose(
                np.asarray(g, np.float64),
                w.astype(np.float64),
                rtol=tol,
                atol=tol,
                equal_nan=True,
                err_msg=op.name,
            )
        else:
            assert g.dtype == w.dtype, f"{op.name}: dtype {g.dtype} vs numpy {w.dtype}"
            np.testing.assert_array_equal(np.asarray(g), w, err_msg=op.name)


@pytest.mark.parametrize("op,shapes,dtype", ALL_CASES)
def test_abstract_eval_matches_eager(op, shapes, dtype):
    with _x64_for(dtype):
        _check_abstract_eval(op, shapes, dtype)


def _check_abstract_eval(op, shapes, dtype):
    args = [fnp.asarray(a) for a in make_args(op, shapes, dtype)]
    eager = _leaves(op.fn(*args))
    closed = fg.make_jaxpr(op.fn)(*args)
    avals = closed.out_avals
    assert len(avals) == len(eager)
    for a, e in zip(avals, eager):
        assert (a.shape, a.dtype) == (e.shape, e.dtype), (op.name, a, e.aval)
        assert a.weak_type == e.weak_type, (op.name, a, e.aval)


# ---- gradients --------------------------------------------------------------------------------

GRAD_OPS = [op for op in OPS if op.diff]


def _grad_args(op):
    """Float64 value arguments (x64 on) from the first shape set with no empty dims."""
    shapes = next((s for s in op.shapes if all(0 not in sh for sh in s)), op.shapes[0])
    kinds = kinds_for(op._replace(kinds=op.grad_kinds or op.kinds), len(shapes))
    rng = np.random.default_rng(0)
    raw = [values(rng, k, s, F64) for k, s in zip(kinds, shapes)]
    return [fnp.asarray(a, F64 if is_value_kind(k) else None) for a, k in zip(raw, kinds)]


@pytest.mark.parametrize("op", GRAD_OPS, ids=[op.name for op in GRAD_OPS])
def test_grads_second_order(op):
    if _needs_scipy(op):
        pytest.skip("needs scipy")
    with fg.config.override(enable_x64=True):
        args = _grad_args(op)
        check_grads(
            op.fn, args, order=op.order, atol=op.grad_tol, rtol=op.grad_tol, eps=op.grad_eps
        )


def test_reduce_max_ties_splits_gradient():
    x = fnp.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]])
    g = fg.grad(lambda x: fnp.sum(lax.reduce_max(x, (1,)) * fnp.array([1.0, 2.0])))(x)
    np.testing.assert_allclose(g, [[0, 0.5, 0.5, 0], [0.5, 0.5, 0.5, 0.5]])
    gb = fg.grad(lambda a, b: fnp.sum(lax.max(a, b)), argnums=(0, 1))(fnp.ones(2), fnp.ones(2))
    np.testing.assert_allclose(gb[0], [0.5, 0.5])


def test_reduce_prod_gradient_with_zeros():
    x = fnp.array([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0]])
    g = fg.grad(lambda x: fnp.sum(lax.reduce_prod(x, (1,))))(x)
    np.testing.assert_allclose(g, [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0]])


def test_convert_saturates_never_wraps():
    x = fnp.array([1e10, -1e10, np.nan, np.inf, -np.inf, 2.0**31, 3.99, -3.99], dtype=np.float32)
    y = np.asarray(lax.convert_element_type(x, np.int32))
    i32 = np.iinfo(np.int32)
    np.testing.assert_array_equal(y, [i32.max, i32.min, 0, i32.max, i32.min, i32.max, 3, -3])
    np.testing.assert_array_equal(fnp.array([300.0, -5.0, 255.9]).astype(np.uint8), [255, 0, 255])


# ---- vmap vs a Python loop ----------------------------------------------------------------------

VMAP_OPS = [op for op in OPS if op.vmap]
B = 3


def _axes_options(op, ndims):
    """in_axes combinations: all 0, all 1 (where rank allows), all -1, and None mixes."""
    n = len(ndims)
    opts = [(0,) * n]
    if all(d >= 1 for d in ndims):
        opts.append((1,) * n)
        opts.append((-1,) * n)
    for k in range(n):
        if n > 1:
            mix = tuple(None if j == k else (1 if ndims[j] >= 1 and j % 2 else 0) for j in range(n))
            opts.append(mix)
    return list(dict.fromkeys(opts))


def _vmap_cases():
    for op in VMAP_OPS:
        shapes = op.shapes[0]
        for axes in _axes_options(op, [len(s) for s in shapes]):
            yield pytest.param(op, axes, id=f"{op.name}-{axes}")


def _stack_at(xs, axis):
    return np.stack(xs, axis=axis)


@pytest.mark.parametrize("op,in_axes", list(_vmap_cases()))
def test_vmap_vs_loop(op, in_axes):
    shapes = op.shapes[0]
    dtype = op.dtypes[0]
    examples = [make_args(op, shapes, dtype, seed=s) for s in range(B)]
    batched = []
    for j, ax in enumerate(in_axes):
        if ax is None:
            batched.append(fnp.asarray(examples[0][j]))
        else:
            batched.append(fnp.asarray(_stack_at([e[j] for e in examples], ax)))
    loop = []
    for b in range(B):
        args = [examples[0][j] if ax is None else examples[b][j] for j, ax in enumerate(in_axes)]
        loop.append(_leaves(op.fn(*[fnp.asarray(a) for a in args])))
    got = _leaves(fg.vmap(op.fn, in_axes=in_axes)(*batched))
    for i, g in enumerate(got):
        want = np.stack([np.asarray(ls[i]) for ls in loop])
        assert g.shape == want.shape, (op.name, g.shape, want.shape)
        assert g.dtype == want.dtype
        tol = _tol(op, g.dtype)
        np.testing.assert_allclose(
            np.asarray(g),
            want,
            rtol=tol,
            atol=tol,
            equal_nan=True,
            err_msg=f"{op.name} in_axes={in_axes}",
        )


def test_vmap_out_axes_and_unbatched_operands():
    x = fnp.arange(6.0).reshape(2, 3)
    out = fg.vmap(lambda r: lax.reduce_sum(r, (0,)), out_axes=0)(x)
    np.testing.assert_allclose(out, [3.0, 12.0])
    out = fg.vmap(lambda r: r * 2, in_axes=1, out_axes=1)(x)
    np.testing.assert_allclose(out, np.arange(6.0).reshape(2, 3) * 2)


def test_table_covers_the_requested_primitives():
    names = set(OPS_BY_NAME)
    wanted = {
        "select",
        "reduce_sum",
        "reduce_max",
        "reduce_min",
        "reduce_prod",
        "argmax",
        "argmin",
        "broadcast_in_dim",
        "reshape",
        "transpose",
        "squeeze",
        "expand_dims",
        "rev",
        "slice",
        "dynamic_slice",
        "dynamic_update_slice",
        "gather",
        "scatter_add",
        "scatter_set",
        "concatenate",
        "pad",
        "pad_negative",
        "iota",
        "dot_batch",
        "conv_3d",
        "conv_2d_groups",
        "cumsum",
        "cumprod",
        "cummax",
        "sort_multi",
        "argsort",
    }
    assert wanted <= names, sorted(wanted - names)
