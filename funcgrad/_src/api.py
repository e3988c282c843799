"""The public transformations: grad, value_and_grad, jvp, vjp, linearize, jacfwd, jacrev,
hessian, vmap, make_jaxpr, custom_jvp, custom_vjp, checkpoint, stop_gradient.

Pytrees are flattened here, at the boundary; the interpreters underneath see flat lists.
"""

from __future__ import annotations

import functools
import inspect
import operator
from collections.abc import Callable, Sequence

import numpy as np

from funcgrad import tree_util as tu
from funcgrad._src import ad, batching, core, dtypes
from funcgrad._src.lax import structural as ls
from funcgrad._src.array import Array, array_from_user, get_aval
from funcgrad._src.core import ClosedJaxpr, Tracer, trace_to_jaxpr
from funcgrad._src.lax.call import custom_jvp_call_p, custom_vjp_call_p, remat_p

# ---- argument helpers -----------------------------------------------------------------------------


def _as_array(x):
    if isinstance(x, (Array, Tracer)):
        return x
    try:
        return array_from_user(x)
    except TypeError:
        raise TypeError(
            f"Argument {x!r} of type {type(x).__name__} is not a valid funcgrad "
            f"type: pass arrays, numpy arrays or Python scalars (or mark the "
            f"argument static)"
        ) from None


def _flatten_args(args, what="argument"):
    leaves, tree = tu.tree_flatten(args)
    return [_as_array(x) for x in leaves], tree


def _argnums_tuple(argnums, n_args, fname="grad") -> tuple:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for a in nums:
        if not -n_args <= a < n_args:
            # JAX raises TypeError here; ValueTypeError is both (earlier funcgrad: ValueError)
            raise core.ValueTypeError(
                f"{fname}: argnums={argnums} is out of range for a "
                f"function called with {n_args} positional arguments"
            )
    return tuple(a % n_args for a in nums)


def _check_differentiable(leaves, fname, allow_int=False):
    for x in leaves:
        dt = get_aval(x).dtype
        if dt.kind not in "fc" and not allow_int:
            raise TypeError(
                f"{fname} requires real- or complex-valued inputs (input dtype "
                f"that is a sub-dtype of np.inexact), but got {dt.name}. If you "
                f"want to differentiate with respect to an integer value, convert "
                f"it to float first (x.astype(float)), or use vjp / "
                f"allow_int=True."
            )


def _check_holomorphic_inputs(leaves, fname):
    for x in leaves:
        dt = get_aval(x).dtype
        if dt.kind != "c":
            raise TypeError(
                f"{fname} with holomorphic=True requires inputs with complex dtype, "
                f"but got {dt.name}. Convert the input to complex "
                f"(x.astype(complex)) or drop holomorphic=True."
            )


def _check_output_dtypes(leaves, fname, holomorphic):
    for x in leaves:
        dt = get_aval(x).dtype
        if holomorphic and dt.kind != "c":
            raise TypeError(
                f"{fname} with holomorphic=True requires outputs with complex "
                f"dtype, but got {dt.name}"
            )
        if not holomorphic and dt.kind == "c":
            raise TypeError(
                f"{fname} requires real-valued outputs (output dtype that is a "
                f"sub-dtype of np.floating), but got {dt.name}. For holomorphic "
                f"differentiation, pass holomorphic=True."
            )


def _fun_name(f) -> str:
    return getattr(f, "__name__", type(f).__name__)


# ---- grad family ----------------------------------------------------------------------------------


def vjp(fun: Callable, *primals, has_aux: bool = False):
    """Returns ``(fun(*primals), vjp_fn)``; ``vjp_fn(ct)`` gives cotangents for the primals.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> y, f_vjp = fg.vjp(fnp.sin, 0.0)
    >>> f_vjp(1.0)
    (Array(1., dtype=float32, weak_type=True),)
    """
    flat, in_tree = _flatten_args(primals)
    out_store = {}

    def flat_fun(*xs):
        out = fun(*tu.tree_unflatten(in_tree, xs))
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError(
                    f"has_aux=True needs {_fun_name(fun)} to return a pair "
                    f"(output, aux), got {type(out).__name__}"
                )
            out, aux = out
            out_store["aux"] = aux
        leaves, out_tree = tu.tree_flatten(out)
        out_store["tree"] = out_tree
        return [_as_array(x) for x in leaves]

    outs, f_vjp_flat = ad.vjp_flat(flat_fun, flat)
    out_tree = out_store["tree"]
    if has_aux:
        out_store["aux"] = _lower_finished(out_store["aux"])

    def vjp_fn(ct):
        ct_leaves, ct_tree = tu.tree_flatten(ct)
        if ct_tree != out_tree:
            raise tu.structure_mismatch(
                "vjp: the cotangent must have the output's structure", out_tree, ct_tree
            )
        ct_leaves = [_as_array(c) for c in ct_leaves]
        for c, o in zip(ct_leaves, outs):
            if get_aval(c).shape != get_aval(o).shape:
                raise ValueError(
                    f"vjp: cotangent shape {get_aval(c).shape} does not match the "
                    f"output shape {get_aval(o).shape}"
                )
            cd, od = get_aval(c).dtype, get_aval(o).dtype
            if cd != od and od.kind in "fc" and not get_aval(c).weak_type:
                raise ValueError(
                    f"vjp: cotangent dtype {cd.name} does not match the output "
                    f"dtype {od.name}: cast it with .astype({od.name})"
                )
        cts = f_vjp_flat(ct_leaves)
        return tuple(tu.tree_unflatten(in_tree, cts))

    out = tu.tree_unflatten(out_tree, outs)
    if has_aux:
        return out, vjp_fn, out_store["aux"]
    return out, vjp_fn


def _lower_finished(tree):
    """Aux outputs: strip differentiation tracers of transformations that have finished."""

    def lower(x):
        while isinstance(x, (ad.VJPTracer, ad.JVPTracer)) and not x._trace.main.active[0]:
            x = x.primal
        return x

    return tu.tree_map(lower, tree)


def value_and_grad(
    fun: Callable, argnums=0, has_aux: bool = False, holomorphic=False, allow_int: bool = False
):
    """Returns a function computing ``(fun(*args), gradient)`` w.r.t. ``argnums``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.value_and_grad(lambda x: fnp.sum(x ** 2))(fnp.array([1.0, 2.0]))
    (Array(5., dtype=float32), Array([2., 4.], dtype=float32))
    """

    @functools.wraps(fun)
    def vg(*args, **kwargs):
        nums = _argnums_tuple(argnums, len(args), "value_and_grad")
        diff_args = tuple(args[i] for i in nums)
        _check_differentiable(_flatten_args(diff_args)[0], "grad", allow_int)
        if holomorphic:
            _check_holomorphic_inputs(_flatten_args(diff_args)[0], "grad")

        def partial_fun(*dargs):
            full = list(args)
            for i, a in zip(nums, dargs):
                full[i] = a
            return fun(*full, **kwargs)

        res = vjp(partial_fun, *diff_args, has_aux=has_aux)
        out, f_vjp = res[0], res[1]
        o_leaves = tu.tree_leaves(out)
        if len(o_leaves) != 1 or get_aval(o_leaves[0]).shape != ():
            shape = get_aval(o_leaves[0]).shape if len(o_leaves) == 1 else "a pytree"
            raise TypeError(
                f"grad requires a scalar output, but {_fun_name(fun)} returned "
                f"{shape}. Use jacrev/jacobian or vjp for non-scalar outputs, or "
                f"reduce it (e.g. fnp.sum / fnp.mean)."
            )
        odt = get_aval(o_leaves[0]).dtype
        if holomorphic and odt.kind != "c":
            raise TypeError(
                f"grad with holomorphic=True requires outputs with complex dtype, "
                f"but got {odt.name}"
            )
        if not holomorphic and odt.kind != "f":
            raise TypeError(
                f"grad requires real-valued outputs (output dtype that is a "
                f"sub-dtype of np.floating), but got {odt.name}. For holomorphic "
                f"differentiation, pass holomorphic=True. For differentiating "
                f"non-holomorphic functions involving complex outputs, take the "
                f"real part (fnp.real) or use vjp."
            )
        one = _ones_like(o_leaves[0])
        g = f_vjp(tu.tree_unflatten(tu.tree_structure(out), [one]))
        g = g[0] if isinstance(argnums, int) else tuple(g)
        if has_aux:
            return (out, res[2]), g
        return out, g

    return vg


def _ones_like(x):
    return ls.full(get_aval(x).shape, 1, get_aval(x).dtype)


def grad(
    fun: Callable, argnums=0, has_aux: bool = False, holomorphic=False, allow_int: bool = False
):
    """The gradient of a scalar function, as a function (same pytree as the argument).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.grad(fnp.tanh)(0.0)
    Array(1., dtype=float32, weak_type=True)
    """
    vg = value_and_grad(fun, argnums, has_aux, holomorphic, allow_int)

    @functools.wraps(fun)
    def g(*args, **kwargs):
        (out, aux), gr = vg(*args, **kwargs) if has_aux else ((None, None), vg(*args, **kwargs)[1])
        return (gr, aux) if has_aux else gr

    return g


def jvp(fun: Callable, primals, tangents, has_aux: bool = False):
    """Forward mode: returns ``(fun(*primals), J @ tangents)``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.jvp(fnp.sin, (0.0,), (2.0,))
    (Array(0., dtype=float32, weak_type=True), Array(2., dtype=float32, weak_type=True))
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            "jvp: primals and tangents must be tuples or lists, e.g. jvp(f, (x,), (t,))"
        )
    p_flat, p_tree = _flatten_args(tuple(primals))
    t_flat, t_tree = _flatten_args(tuple(tangents))
    if p_tree != t_tree:
        raise tu.structure_mismatch(
            "jvp: primals and tangents must have the same structure", p_tree, t_tree
        )
    for p, t in zip(p_flat, t_flat):
        if get_aval(p).shape != get_aval(t).shape:
            raise ValueError(
                f"jvp: primal and tangent shapes differ: {get_aval(p).shape} vs {get_aval(t).shape}"
            )
    store = {}

    def flat_fun(*xs):
        out = fun(*tu.tree_unflatten(p_tree, xs))
        if has_aux:
            out, store["aux"] = out
        leaves, store["tree"] = tu.tree_flatten(out)
        return [_as_array(x) for x in leaves]

    t_flat = [_match_dtype(t, p) for t, p in zip(t_flat, p_flat)]
    outs, touts = ad.jvp_flat(flat_fun, p_flat, t_flat)
    res = (tu.tree_unflatten(store["tree"], outs), tu.tree_unflatten(store["tree"], touts))
    return res + (_lower_finished(store["aux"]),) if has_aux else res


def _match_dtype(t, p, strict=True):
    from funcgrad._src.lax.elementwise import convert_element_type

    pa, ta = get_aval(p), get_aval(t)
    if strict and pa.dtype != ta.dtype and pa.dtype.kind in "fc":
        raise TypeError(
            f"primal and tangent arguments to jvp do not match; dtypes must be "
            f"equal. Got primal dtype {pa.dtype.name} and tangent dtype "
            f"{ta.dtype.name}: cast the tangent with .astype({pa.dtype.name})"
        )
    if pa.dtype != ta.dtype and pa.dtype.kind in "fc":
        return convert_element_type(t, pa.dtype, pa.weak_type)
    return t


def linearize(fun: Callable, *primals):
    """Returns ``(fun(*primals), f_jvp)`` where ``f_jvp(*tangents)`` is the linear map.

    The primal work is done once: ``f_jvp`` evaluates a jaxpr of tangent operations only.
    """
    p_flat, p_tree = _flatten_args(primals)
    store = {}

    def flat_fun(*xs):
        leaves, store["tree"] = tu.tree_flatten(fun(*tu.tree_unflatten(p_tree, xs)))
        return [_as_array(x) for x in leaves]

    holder = {}

    def tangent_fun(*ts):
        outs, touts = ad.jvp_flat(flat_fun, p_flat, list(ts))
        holder["outs"] = outs
        return touts

    jaxpr, consts = trace_to_jaxpr(tangent_fun, [get_aval(p) for p in p_flat])
    out = tu.tree_unflatten(store["tree"], [core.full_lower(o) for o in holder["outs"]])

    def f_jvp(*tangents):
        t_flat, t_tree = _flatten_args(tangents)
        if t_tree != p_tree:
            raise tu.structure_mismatch("linearize: tangent structure", p_tree, t_tree)
        for t, p in zip(t_flat, p_flat):
            if get_aval(t).shape != get_aval(p).shape:
                raise ValueError(
                    f"linearized function called on tangent values inconsistent "
                    f"with the original primal values: tangent shape "
                    f"{get_aval(t).shape} for a primal of shape "
                    f"{get_aval(p).shape}"
                )
        t_flat = [_match_dtype(t, p, strict=False) for t, p in zip(t_flat, p_flat)]
        return tu.tree_unflatten(store["tree"], core.eval_jaxpr(jaxpr, consts, t_flat))

    return out, f_jvp


def _std_basis(leaves):
    """Identity matrices for a flat list of inputs, batched along a new leading axis."""
    sizes = [int(np.prod(get_aval(x).shape, dtype=np.int64)) for x in leaves]
    total = sum(sizes)
    eye = np.eye(total, dtype=np.float64)
    out, start = [], 0
    for x, n in zip(leaves, sizes):
        a = get_aval(x)
        block = eye[:, start : start + n].reshape((total,) + a.shape).astype(a.dtype)
        out.append(array_from_user(block, a.dtype))
        start += n
    return out, total


def _unravel_jac(out_leaves, out_tree, in_leaves, in_tree):
    """Split each output's trailing (flattened inputs) axis into the nested input structure."""
    rows = []
    for o in out_leaves:
        oshape = get_aval(o).shape
        blocks, start = [], 0
        for x in in_leaves:
            n = int(np.prod(get_aval(x).shape, dtype=np.int64))
            part = ls.slice_in_dim(o, start, start + n, axis=len(oshape) - 1)
            blocks.append(ls.reshape(part, oshape[:-1] + get_aval(x).shape))
            start += n
        rows.append(tu.tree_unflatten(in_tree, blocks))
    return tu.tree_unflatten(out_tree, rows)


def jacfwd(fun: Callable, argnums=0, has_aux: bool = False, holomorphic=False):
    """Jacobian by forward mode (vmap of jvp over the standard basis)."""

    def jac(*args):
        nums = _argnums_tuple(argnums, len(args), "jacfwd")
        dargs = tuple(args[i] for i in nums)
        d_flat, d_tree = _flatten_args(dargs)
        _check_differentiable(d_flat, "jacfwd")
        if holomorphic:
            _check_holomorphic_inputs(d_flat, "jacfwd")

        def pushfwd(*basis):
            def f_partial(*da):
                full = list(args)
                for i, a in zip(nums, tu.tree_unflatten(d_tree, da)):
                    full[i] = a
                return fun(*full)

            outs = jvp(f_partial, tuple(d_flat), tuple(basis), has_aux=has_aux)
            return outs

        basis, n = _std_basis(d_flat)
        res = (
            vmap(pushfwd, in_axes=0, out_axes=-1 if not has_aux else (None, -1, None), axis_size=n)(
                *basis
            )
            if not has_aux
            else _jacfwd_aux(pushfwd, basis, n)
        )
        if holomorphic:
            _check_output_dtypes(tu.tree_leaves(res[0]), "jacfwd", True)
        jt = res[1]
        out_leaves, out_tree = tu.tree_flatten(jt)
        in_tree = tu.tree_structure(dargs if not isinstance(argnums, int) else dargs[0])
        in_leaves = d_flat
        J = _unravel_jac(out_leaves, out_tree, in_leaves, in_tree)
        return (J, res[2]) if has_aux else J

    return jac


def _jacfwd_aux(pushfwd, basis, n):
    outs = vmap(pushfwd, in_axes=0, out_axes=(0, -1, 0), axis_size=n)(*basis)
    first = lambda t: tu.tree_map(lambda x: x[0], t)
    return first(outs[0]), outs[1], first(outs[2])


def jacrev(fun: Callable, argnums=0, has_aux: bool = False, holomorphic=False, allow_int=False):
    """Jacobian by reverse mode (vmap of vjp over the standard basis of the output)."""

    def jac(*args):
        nums = _argnums_tuple(argnums, len(args), "jacrev")
        dargs = tuple(args[i] for i in nums)
        d_flat, d_tree = _flatten_args(dargs)
        _check_differentiable(d_flat, "jacrev", allow_int)
        if holomorphic:
            _check_holomorphic_inputs(d_flat, "jacrev")

        def f_partial(*da):
            full = list(args)
            for i, a in zip(nums, da):
                full[i] = a
            return fun(*full)

        res = vjp(f_partial, *dargs, has_aux=has_aux)
        y, f_vjp = res[0], res[1]
        y_flat, y_tree = tu.tree_flatten(y)
        _check_output_dtypes(y_flat, "jacrev", holomorphic)
        basis, n = _std_basis(y_flat)
        cts = vmap(
            lambda *b: f_vjp(tu.tree_unflatten(y_tree, list(b))), in_axes=0, out_axes=0, axis_size=n
        )(*basis)
        # cts: tuple over dargs of arrays (n, *in_shape); split n among outputs
        ct_flat = tu.tree_leaves(cts)
        J = _rev_unravel(ct_flat, y_flat, y_tree, d_flat, d_tree, argnums)
        return (J, res[2]) if has_aux else J

    return jac


def _rev_unravel(ct_flat, y_flat, y_tree, d_flat, d_tree, argnums):
    reshape, slice_in_dim = ls.reshape, ls.slice_in_dim
    rows, start = [], 0
    for o in y_flat:
        oshape = get_aval(o).shape
        n = int(np.prod(oshape, dtype=np.int64))
        blocks = [
            reshape(slice_in_dim(c, start, start + n, axis=0), oshape + get_aval(x).shape)
            for c, x in zip(ct_flat, d_flat)
        ]
        tree = tu.tree_unflatten(d_tree, blocks)
        rows.append(tree[0] if isinstance(argnums, int) else tree)
        start += n
    return tu.tree_unflatten(y_tree, rows)


jacobian = jacrev


def hessian(fun: Callable, argnums=0, has_aux=False, holomorphic=False):
    """The Hessian, as ``jacfwd(jacrev(fun))``."""
    return jacfwd(
        jacrev(fun, argnums, has_aux=has_aux, holomorphic=holomorphic),
        argnums,
        has_aux=has_aux,
        holomorphic=holomorphic,
    )


# ---- vmap ---------------------------------------------------------------------------------------


def _broadcast_prefix(prefix, tree, what):
    """Expand an in_axes/out_axes prefix tree to one entry per leaf of ``tree``."""
    out = []
    leaves_tree = tu.tree_structure(tree)

    def go(p, t):
        if p is None or isinstance(p, int):
            out.extend([p] * len(tu.tree_leaves(t)))
            return
        pt = tu._node_of(p)
        tt = tu._node_of(t)
        if pt is None or tt is None or pt[0] is not tt[0]:
            raise ValueError(
                f"vmap {what} specification {prefix!r} does not match the "
                f"structure of the arguments {leaves_tree}"
            )
        pc, paux = pt[1].to_iter(p)
        tc, taux = tt[1].to_iter(t)
        if len(pc) != len(tc) or (paux != taux and pt[0] is dict):
            raise ValueError(
                f"vmap {what} specification {prefix!r} does not match the "
                f"structure of the arguments {leaves_tree}"
            )
        for a, b in zip(pc, tc):
            go(a, b)

    go(prefix, tree)
    return out


def vmap(fun: Callable, in_axes=0, out_axes=0, axis_name=None, axis_size=None, spmd_axis_name=None):
    """Vectorise ``fun`` over the axes ``in_axes`` of its arguments.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.vmap(lambda v: fnp.dot(v, v))(fnp.ones((3, 2)))
    Array([2., 2., 2.], dtype=float32)
    """
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if not (
        in_axes is None
        or isinstance(in_axes, (int, tuple, dict))
        or tu._node_of(in_axes) is not None
    ):
        raise TypeError(
            f"vmap in_axes must be an int, None, or a tuple of entries matching "
            f"the positional arguments, got {type(in_axes).__name__}"
        )

    @functools.wraps(fun)
    def batched(*args, **kwargs):
        axes = in_axes
        if isinstance(axes, tuple) and len(axes) != len(args):
            raise ValueError(
                f"vmap in_axes has {len(axes)} entries but the function was "
                f"called with {len(args)} positional arguments"
            )
        if not isinstance(axes, tuple):
            axes = (axes,) * len(args)
        f = fun
        if kwargs:
            # As in JAX, keyword arguments are always mapped over their leading axis.
            names = tuple(kwargs)
            n_pos = len(args)

            def f(*a):
                return fun(*a[:n_pos], **dict(zip(names, a[n_pos:])))

            args = args + tuple(kwargs[k] for k in names)
            axes = axes + (0,) * len(names)
        flat_dims, arg_of_leaf = [], []
        for i, (ax, a) in enumerate(zip(axes, args)):
            arg_of_leaf += [i] * len(tu.tree_leaves(a))
            try:
                flat_dims += _broadcast_prefix(ax, a, "in_axes")
            except ValueError as e:
                raise ValueError(f"{e} (argument {i})") from None
        flat, in_tree = _flatten_args(args)
        dims = []
        sizes = set()
        for i, (x, d) in enumerate(zip(flat, flat_dims)):
            if d is None:
                dims.append(None)
                continue
            nd = get_aval(x).ndim
            if not -nd <= d < nd:
                raise ValueError(
                    f"vmap in_axes={d} is out of bounds for positional argument "
                    f"{arg_of_leaf[i]} of shape {get_aval(x).shape} (rank {nd})"
                )
            dims.append(d % nd)
            sizes.add(get_aval(x).shape[d % nd])
        if len(sizes) > 1:
            desc = ", ".join(
                f"argument {arg_of_leaf[i]} has size {get_aval(x).shape[d]} "
                f"on axis {d} (shape {get_aval(x).shape})"
                for i, (x, d) in enumerate(zip(flat, dims))
                if d is not None
            )
            raise ValueError(f"vmap got inconsistent sizes for the mapped axes: {desc}")
        if not sizes and axis_size is None:
            raise ValueError(
                "vmap needs at least one mapped input (an in_axes entry that is "
                "not None), or axis_size="
            )
        size = axis_size if not sizes else sizes.pop()
        if axis_size is not None and size != axis_size:
            raise ValueError(f"vmap axis_size={axis_size} differs from the mapped size {size}")
        store = {}

        def flat_fun(*xs):
            out = f(*tu.tree_unflatten(in_tree, xs))
            leaves, store["tree"] = tu.tree_flatten(out)
            store["out"] = out
            return [_as_array(x) for x in leaves]

        def out_dims(vals, bdims):
            wanted = (
                [out_axes] * len(vals)
                if isinstance(out_axes, int) or out_axes is None
                else _broadcast_prefix(out_axes, store["out"], "out_axes")
            )
            for v, d, w in zip(vals, bdims, wanted):
                shp = get_aval(v).shape
                ex = shp if d is None else shp[:d] + shp[d + 1 :]  # one example's shape
                if w is not None and not -(len(ex) + 1) <= w <= len(ex):
                    raise ValueError(
                        f"vmap out_axes={w} is out of bounds for an output of "
                        f"rank {len(ex) + 1} (per-example shape {ex})"
                    )
            return [
                w + get_aval(v).ndim + (d is None) if w is not None and w < 0 else w
                for v, d, w in zip(vals, bdims, wanted)
            ]

        outs = batching.vmap_flat(flat_fun, dims, size, flat, out_dims)
        return tu.tree_unflatten(store["tree"], outs)

    return batched


# ---- staging ----------------------------------------------------------------------------------


def make_jaxpr(fun: Callable, static_argnums=(), return_shape=False):
    """Trace ``fun`` to funcgrad's typed IR (the same IR jit compiles).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> print(fg.make_jaxpr(lambda x: fnp.sin(x) * 2.0)(1.0))
    { lambda  ; a:f32[] . let
        b:f32[] = sin a
        c:f32[] = mul b 2.0
      in ( c ) }
    """
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @functools.wraps(fun)
    def make(*args):
        dyn = [a for i, a in enumerate(args) if i not in static]
        flat, in_tree = _flatten_args(tuple(dyn))
        store = {}

        def flat_fun(*xs):
            it = iter(tu.tree_unflatten(in_tree, xs))
            full = [args[i] if i in static else next(it) for i in range(len(args))]
            leaves, store["tree"] = tu.tree_flatten(fun(*full))
            return [_as_array(x) for x in leaves]

        jaxpr, consts = trace_to_jaxpr(flat_fun, [get_aval(x) for x in flat])
        closed = ClosedJaxpr(jaxpr, tuple(consts))
        if return_shape:
            shapes = [ShapeDtypeStruct(v.aval.shape, v.aval.dtype) for v in jaxpr.outvars]
            return closed, tu.tree_unflatten(store["tree"], shapes)
        return closed

    return make


class ShapeDtypeStruct:
    """A shape and dtype standing in for an array (``eval_shape`` results, ``lower`` inputs)."""

    def __init__(self, shape, dtype, sharding=None, weak_type=False):
        self.shape, self.dtype = tuple(shape), dtypes.as_dtype(dtype)  # bfloat16 too
        self.weak_type = bool(weak_type)

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)))

    def __repr__(self):
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name})"


def eval_shape(fun: Callable, *args):
    """Output shapes/dtypes of ``fun`` without computing it."""
    leaves, tree = tu.tree_flatten(args)
    avals = [
        core.ShapedArray(tuple(x.shape), x.dtype, bool(getattr(x, "weak_type", False)))
        if isinstance(x, ShapeDtypeStruct)
        else get_aval(_as_array(x))
        for x in leaves
    ]
    store = {}

    def flat_fun(*xs):
        out, store["tree"] = tu.tree_flatten(fun(*tu.tree_unflatten(tree, xs)))
        return [_as_array(o) for o in out]

    jaxpr, _ = trace_to_jaxpr(flat_fun, avals)
    return tu.tree_unflatten(
        store["tree"],
        [
            ShapeDtypeStruct(v.aval.shape, v.aval.dtype, weak_type=v.aval.weak_type)
            for v in jaxpr.outvars
        ],
    )


# ---- stop_gradient ----------------------------------------------------------------------------

from funcgrad._src.lax.common import Primitive  # noqa: E402

stop_gradient_p = Primitive("stop_gradient")
core.impl_rules[stop_gradient_p] = lambda x: x
core.abstract_eval_rules[stop_gradient_p] = lambda x: x
ad.defzero(stop_gradient_p)
batching.defvectorized(stop_gradient_p)


def stop_gradient(x):
    """Identity whose derivative is zero (on every leaf of a pytree)."""

    def one(v):
        v = _as_array(v)
        if get_aval(v).dtype.kind not in "fc":
            return v
        return stop_gradient_p.bind(v)

    return tu.tree_map(one, x)


# ---- custom derivatives -----------------------------------------------------------------------


def _has_tracers(leaves) -> bool:
    return any(isinstance(x, Tracer) for x in leaves)


def _trace_flat(fun, flat, in_tree, store):
    def flat_fun(*xs):
        out = fun(*tu.tree_unflatten(in_tree, xs))
        leaves, store["tree"] = tu.tree_flatten(out)
        return [_as_array(x) for x in leaves]

    jaxpr, consts = trace_to_jaxpr(flat_fun, [get_aval(x) for x in flat])
    return core.close_over_consts(jaxpr), consts


def _split_nondiff(args, nondiff_argnums):
    nd = [args[i] for i in nondiff_argnums]
    diff = [a for i, a in enumerate(args) if i not in nondiff_argnums]
    return nd, diff


def _merge_nondiff(nd_vals, diff_vals, nondiff_argnums, n):
    it_nd, it_d = iter(nd_vals), iter(diff_vals)
    return [next(it_nd) if i in nondiff_argnums else next(it_d) for i in range(n)]


def _stage_custom(obj, args):
    """Trace a custom_jvp/custom_vjp function's primal (None when no argument is traced)."""
    nd, diff = _split_nondiff(args, obj.nondiff_argnums)
    flat, in_tree = _flatten_args(tuple(diff))
    if not _has_tracers(flat):
        return None
    n = len(args)
    store = {}
    fun = lambda *d: obj.fun(*_merge_nondiff(nd, d, obj.nondiff_argnums, n))  # noqa: E731
    jaxpr, consts = _trace_flat(fun, flat, in_tree, store)
    return nd, diff, flat, in_tree, n, store, jaxpr, consts


class custom_jvp:
    """A function with a user-defined jvp rule (reverse mode is derived by transposing it).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> @fg.custom_jvp
    ... def f(x):
    ...     return fnp.sin(x)
    >>> @f.defjvp
    ... def f_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return f(x), 2.0 * t
    >>> fg.grad(f)(0.5)
    Array(2., dtype=float32, weak_type=True)
    """

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp = None
        functools.update_wrapper(self, fun)

    def defjvp(self, jvp: Callable, symbolic_zeros: bool = False):
        self.jvp = jvp
        return jvp

    def defjvps(self, *jvps):
        def jvp(primals, tangents):
            out = self(*primals)
            t_out = None
            for (
                fn,
                t,
            ) in zip(jvps, tangents):
                if fn is not None:
                    c = fn(t, out, *primals)
                    t_out = c if t_out is None else tu.tree_map(operator.add, t_out, c)
            if t_out is None:
                t_out = tu.tree_map(lambda o: o * 0, out)
            return out, t_out

        self.jvp = jvp

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args, **kwargs):
        if kwargs:
            args = _bind_kwargs(self.fun, args, kwargs)
        if self.jvp is None:
            raise AttributeError(
                f"No JVP defined for custom_jvp function {_fun_name(self.fun)} using defjvp."
            )
        st = _stage_custom(self, args)
        if st is None:
            return self.fun(*args)
        nd, diff, flat, in_tree, n, store, jaxpr, consts = st

        def jvp_fn(primals, tangents):
            ps = tu.tree_unflatten(in_tree, primals)
            ts = tu.tree_unflatten(in_tree, tangents)
            out, t_out = (
                self.jvp(*nd, tuple(ps), tuple(ts)) if nd else self.jvp(tuple(ps), tuple(ts))
            )
            o_flat = [_as_array(o) for o in tu.tree_leaves(out)]
            t_flat = [_as_array(t) for t in tu.tree_leaves(t_out)]
            t_flat = [_match_dtype(t, o, strict=False) for t, o in zip(t_flat, o_flat)]
            return o_flat, t_flat

        outs = custom_jvp_call_p.bind(
            *consts, *flat, jaxpr=jaxpr, jvp_fn=jvp_fn, num_consts=len(consts)
        )
        return tu.tree_unflatten(store["tree"], outs)


def _bind_kwargs(fun, args, kwargs):
    sig = inspect.signature(fun)
    ba = sig.bind(*args, **kwargs)
    ba.apply_defaults()
    return tuple(ba.args)


class custom_vjp:
    """A function with a user-defined reverse-mode rule: ``defvjp(fwd, bwd)``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> @fg.custom_vjp
    ... def clip_grad(x):
    ...     return x
    >>> clip_grad.defvjp(lambda x: (x, None), lambda res, g: (fnp.clip(g, -1.0, 1.0),))
    >>> fg.grad(lambda x: 5.0 * clip_grad(x))(2.0)
    Array(1., dtype=float32, weak_type=True)
    """

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd = self.bwd = None
        functools.update_wrapper(self, fun)

    def defvjp(self, fwd: Callable, bwd: Callable, symbolic_zeros: bool = False):
        self.fwd, self.bwd = fwd, bwd

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args, **kwargs):
        if kwargs:
            args = _bind_kwargs(self.fun, args, kwargs)
        if self.fwd is None:
            raise AttributeError(
                f"No VJP defined for custom_vjp function {_fun_name(self.fun)} using defvjp."
            )
        st = _stage_custom(self, args)
        if st is None:
            return self.fun(*args)
        nd, diff, flat, in_tree, n, store, jaxpr, consts = st

        def fwd_fn(primals):
            full = _merge_nondiff(nd, tu.tree_unflatten(in_tree, primals), self.nondiff_argnums, n)
            out, res = self.fwd(*full)
            return [_as_array(o) for o in tu.tree_leaves(out)], res

        def bwd_fn(res, cts):
            ct_tree = tu.tree_unflatten(store["tree"], cts)
            cts_in = self.bwd(*nd, res, ct_tree)
            if not isinstance(cts_in, (tuple, list)) or len(cts_in) != len(diff):
                raise TypeError(
                    f"custom_vjp bwd of {_fun_name(self.fun)} must return a tuple "
                    f"with one cotangent per (differentiable) argument: expected "
                    f"{len(diff)}, got {cts_in!r:.80}"
                )
            leaves = []
            for c, a in zip(cts_in, diff):
                if c is None:
                    leaves += [ad.zeros_like_aval(get_aval(x)) for x in tu.tree_leaves(a)]
                else:
                    leaves += [_as_array(x) for x in tu.tree_leaves(c)]
            return leaves

        outs = custom_vjp_call_p.bind(
            *consts, *flat, jaxpr=jaxpr, fwd_fn=fwd_fn, bwd_fn=bwd_fn, num_consts=len(consts)
        )
        return tu.tree_unflatten(store["tree"], outs)


def checkpoint(fun: Callable, prevent_cse: bool = True, policy=None, static_argnums=()):
    """Rematerialisation: in reverse mode, ``fun``'s intermediates are recomputed during the
    backward pass instead of being stored (saves memory, costs one more forward pass)."""
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @functools.wraps(fun)
    def wrapped(*args):
        nd, diff = _split_nondiff(args, static)
        flat, in_tree = _flatten_args(tuple(diff))
        if not _has_tracers(flat):
            return fun(*args)
        store = {}
        f = lambda *d: fun(*_merge_nondiff(nd, d, static, len(args)))
        jaxpr, consts = _trace_flat(f, flat, in_tree, store)
        outs = remat_p.bind(*consts, *flat, jaxpr=jaxpr, name=_fun_name(fun))
        return tu.tree_unflatten(store["tree"], outs)

    return wrapped


remat = checkpoint
