"""Structured control flow: cond/switch and the tracing helpers it shares with the loops
(while_loop, fori_loop, scan, map: ``loops.py``).

Each is a primitive carrying closed jaxprs (no constvars: captured values are passed as
leading "consts" operands). Eager calls with a concrete predicate run the chosen branch
directly; everything else binds the primitive, so jvp / vjp / vmap / jit see it.
Reverse mode recomputes inside the backward pass where needed: ``cond`` runs the chosen
branch's vjp; ``scan`` stores the carry of every step and re-runs one step's forward in each
backward step; ``while_loop`` is differentiable in reverse mode only with ``max_steps``.
"""

from __future__ import annotations

import numpy as np

from funcgrad import tree_util as tu
from funcgrad._src import ad, batching, dtypes
from funcgrad._src.array import Array, array_from_user, get_aval, to_numpy, wrap
from funcgrad._src.core import (
    Primitive,
    Tracer,
    abstract_eval_rules,
    close_over_consts,
    eval_jaxpr,
    impl_rules,
    trace_to_jaxpr,
)
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax.call import batch_jaxpr, jvp_jaxpr, vjp_jaxpr

# ---- tracing helpers -----------------------------------------------------------------------------


def _as_arr(x):
    return x if isinstance(x, (Array, Tracer)) else array_from_user(x)


def _trace_tree_fn(f, in_trees_avals, in_tree, what):
    """Trace ``f`` (taking pytrees) to a closed jaxpr; returns (jaxpr, consts, out_tree)."""
    store = {}

    def flat_fun(*xs):
        out = f(*tu.tree_unflatten(in_tree, xs))
        leaves, store["tree"] = tu.tree_flatten(out)
        return [_as_arr(x) for x in leaves]

    jaxpr, consts = trace_to_jaxpr(flat_fun, in_trees_avals)
    return close_over_consts(jaxpr), list(consts), store["tree"]


def _retrace(fn, avals):
    """A closed jaxpr from a flat Python function (used to rearrange jaxpr signatures)."""
    jaxpr, consts = trace_to_jaxpr(fn, avals)
    return close_over_consts(jaxpr), list(consts)


def _run(jaxpr, args):
    return eval_jaxpr(jaxpr, [], list(args))


def _strong(x):
    """Python scalars in carries become strongly typed arrays (JAX does the same)."""
    x = _as_arr(x)
    a = get_aval(x)
    return le.convert_element_type(x, a.dtype, weak_type=False) if a.weak_type else x


def _as_out(x, aval):
    """An eagerly evaluated branch output as an Array (constants keep the output's weak type)."""
    if isinstance(x, (Array, Tracer)):
        return x
    return array_from_user(np.asarray(x), aval.dtype, weak=aval.weak_type)


def _avals(xs):
    return [get_aval(x) for x in xs]


def _type_mismatch(what, a, b):
    return TypeError(f"{what}: {a.str_short()} vs {b.str_short()}")


def _unify_branches(pairs, arg_avals):
    """Branches with different consts -> jaxprs all taking (all consts..., args...)."""
    all_consts = [c for _, cs in pairs for c in cs]
    c_avals = _avals(all_consts)
    out, off = [], 0
    for jaxpr, cs in pairs:
        lo, hi = off, off + len(cs)
        nc = len(all_consts)

        def fn(*a, jaxpr=jaxpr, lo=lo, hi=hi, nc=nc):
            return _run(jaxpr, list(a[lo:hi]) + list(a[nc:]))

        j, extra = _retrace(fn, c_avals + list(arg_avals))
        if extra:
            raise AssertionError("internal: unified branch captured constants")
        out.append(j)
        off = hi
    return tuple(out), all_consts


# ---- cond / switch -------------------------------------------------------------------------------

cond_p = Primitive("cond", multiple_results=True)


def _cond_impl(index, *args, branches):
    i = int(np.clip(int(index), 0, len(branches) - 1))
    return [to_numpy(o) for o in _run(branches[i], [wrap(a) for a in args])]


def _cond_abstract(index, *args, branches):
    if index.shape != () or index.dtype.kind not in "iu":
        raise TypeError(f"cond/switch index must be a scalar integer, got {index.str_short()}")
    return list(branches[0].out_avals)


impl_rules[cond_p] = _cond_impl
abstract_eval_rules[cond_p] = _cond_abstract


def _fun_desc(f) -> str:
    code = getattr(f, "__code__", None)
    name = getattr(f, "__name__", type(f).__name__)
    return f"{name} at {code.co_filename}:{code.co_firstlineno}" if code else name


def _tree_desc(t) -> str:
    if t.node_type is None:
        return "a pytree leaf"
    if t.aux is None:
        return f"a {t.node_type}"
    return f"a {t.node_type} with pytree metadata {t.aux}"


def _first_tree_diff(a, b):
    """The first differing pair of nodes of two tree structures and what differs."""
    if a.node_type != b.node_type:
        return a, b, "their Python types differ"
    if a.aux != b.aux or len(a.children) != len(b.children):
        return a, b, "the pytree node metadata does not match"
    for ca, cb in zip(a.children, b.children):
        if ca != cb:
            return _first_tree_diff(ca, cb)
    return a, b, "their pytree structures differ"


def _type_str(a) -> str:
    return f"{a.dtype.name}[{','.join(map(str, a.shape))}]"


def _header(what, names, funs, i):
    return f"{what}\n\n{names[0]} is {_fun_desc(funs[0])}\n{names[i]} is {_fun_desc(funs[i])}\n\n"


def _check_branches(traced, funs, names, kind):
    """JAX's checks (and messages): every branch returns one structure, shapes and dtypes."""
    tree0, avals0 = traced[0][2], traced[0][0].out_avals
    for i, (j, _, tree) in enumerate(traced[1:], 1):
        if tree != tree0:
            a, b, why = _first_tree_diff(tree0, tree)
            raise TypeError(
                _header(
                    f"{kind} branch outputs must have the same pytree structure, but they differ:",
                    names,
                    funs,
                    i,
                )
                + f"{names[0]} output is {_tree_desc(a)} but {names[i]} output is "
                f"{_tree_desc(b)}, so {why}.\n\nRevise {names[0]} and/or {names[i]} so "
                "that they have the same pytree structure."
            )
        for a, b in zip(avals0, j.out_avals):
            if (a.shape, a.dtype) != (b.shape, b.dtype):
                why = "shapes" if a.shape != b.shape else "dtypes"
                raise TypeError(
                    _header(
                        f"{kind} branches must have equal output types but they differ.",
                        names,
                        funs,
                        i,
                    )
                    + f"The output of {names[0]} has type {_type_str(a)} but "
                    f"the corresponding output of {names[i]} has type "
                    f"{_type_str(b)}, so the {why} do not match.\n\nRevise "
                    f"{names[0]} and/or {names[i]} so that all output types match."
                )


def _check_index(index):
    ia = get_aval(index) if isinstance(index, Tracer) else np.asarray(index)
    if ia.dtype.kind not in "iu" or ia.shape != ():
        raise TypeError(
            f"switch: the index must be a scalar integer, got "
            f"{ia.dtype.name}{list(ia.shape)}; cast it with .astype(int)"
        )


def switch(index, branches, *operands, operand=None):
    """Apply ``branches[index](*operands)``, as ``jax.lax.switch``; the index is clamped to
    the valid range. Every branch is traced (also for a concrete index, as in JAX, so their
    output types are always checked); a concrete index then runs only its branch's traced
    program, a traced one binds one ``cond`` primitive.

    Args:
      index: a scalar integer (array, tracer or Python int).
      branches: a sequence of functions of ``*operands``, returning pytrees of arrays of
        one structure, shapes and dtypes.
      *operands: the arguments passed to the chosen branch (pytrees of arrays).
      operand: a single argument, instead of ``*operands`` (JAX's older form).

    Returns:
      The chosen branch's output.

    Raises:
      ValueError: if ``branches`` is empty.
      TypeError: if ``index`` is not a scalar integer, or the branches' outputs differ in
        structure, shape or dtype (JAX's messages).
    """
    if operand is not None:
        operands = (operand,)
    branches = list(branches)
    if not branches:
        raise ValueError("switch needs at least one branch")
    names = ["branch 0"] + [f"branch{i}" for i in range(1, len(branches))]
    return _switch(index, branches, operands, names, "switch")


def _switch(index, branches, operands, names, kind):
    _check_index(index)
    flat, in_tree = tu.tree_flatten(operands)
    flat = [_as_arr(x) for x in flat]
    avals = _avals(flat)
    traced = [_trace_tree_fn(b, avals, in_tree, "branch") for b in branches]
    order = slice(None, None, -1) if kind == "cond" else slice(None)  # JAX checks true_fun first
    _check_branches(traced[order], branches[order], names, kind)
    if not isinstance(index, Tracer):
        jaxpr, consts, tree = traced[int(np.clip(int(np.asarray(index)), 0, len(branches) - 1))]
        outs = _run(jaxpr, list(consts) + flat)
        return tu.tree_unflatten(tree, [_as_out(o, a) for o, a in zip(outs, jaxpr.out_avals)])
    jaxprs, consts = _unify_branches([(j, c) for j, c, _ in traced], avals)
    idx = le.convert_element_type(_as_arr(index), dtypes.int32)
    outs = cond_p.bind(idx, *consts, *flat, branches=jaxprs)
    return tu.tree_unflatten(traced[0][2], outs)


def cond(pred, true_fun, false_fun, *operands, operand=None):
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``, as ``jax.lax.cond``.

    Both functions are traced (also for a concrete ``pred``, as in JAX, so their output
    types are always checked); a concrete ``pred`` then runs only the chosen one's traced
    program, a traced one binds one ``cond`` primitive (differentiable; under ``vmap`` with
    a batched ``pred``, both run and the results are selected).

    Args:
      pred: a scalar (bool or number; nonzero is true).
      true_fun: a function of ``*operands`` returning a pytree of arrays.
      false_fun: like ``true_fun``, returning the same structure, shapes and dtypes.
      *operands: the arguments passed to the chosen function (pytrees of arrays).
      operand: a single argument, instead of ``*operands`` (JAX's older form).

    Returns:
      The chosen function's output.

    Raises:
      TypeError: if ``pred`` is not a scalar, or the two outputs differ in structure, shape
        or dtype (JAX's messages).
    """
    if operand is not None:
        operands = (operand,)
    names = ["true_fun", "false_fun"]
    if not isinstance(pred, Tracer):
        p = np.asarray(pred._value if type(pred) is Array else pred)
        if p.shape != ():
            raise TypeError(f"cond predicate must be a scalar, got shape {p.shape}")
        idx = np.int32(bool(p))
    else:
        a = get_aval(pred)
        if a.shape != ():
            raise TypeError(
                f"cond predicate must be a scalar, got {a.str_short()}; for an "
                f"elementwise choice use fnp.where"
            )
        idx = le.convert_element_type(pred, dtypes.bool_) if a.dtype != np.bool_ else pred
        idx = le.convert_element_type(idx, dtypes.int32)
    return _switch(idx, [false_fun, true_fun], operands, names, "cond")


def _cond_jvp(primals, tangents, branches):
    index, *args = primals
    targs = tangents[1:]
    pairs = [jvp_jaxpr(b) for b in branches]
    jaxprs, consts = _unify_branches(pairs, _avals(args) + _avals(targs))
    outs = cond_p.bind(index, *consts, *args, *targs, branches=jaxprs)
    n = len(branches[0].outvars)
    return outs[:n], outs[n:]


def _cond_vjp_fwd(primals, branches):
    index, *args = primals
    outs = cond_p.bind(index, *args, branches=branches)

    def bwd(cts):
        pairs = [vjp_jaxpr(b) for b in branches]
        jaxprs, consts = _unify_branches(pairs, _avals(args) + _avals(cts))
        cts_in = cond_p.bind(index, *consts, *args, *cts, branches=jaxprs)
        return [None] + [
            c if get_aval(a).dtype.kind in "fc" else None for c, a in zip(cts_in, args)
        ]

    return outs, bwd


def _cond_vmap(vals, dims, axis_size, branches):
    index, *args = vals
    idim, *adims = dims
    if idim is None:
        pairs = [batch_jaxpr(b, tuple(adims), axis_size) for b in branches]
        jaxprs, consts = _unify_branches(pairs, [get_aval(a) for a in args])
        outs = cond_p.bind(index, *consts, *args, branches=jaxprs)
        return outs, [0] * len(outs)
    # batched predicate: run every branch, then select per example
    index = batching.bdim_at_front(index, idim, axis_size)
    results = []
    for b in branches:
        bj, consts = batch_jaxpr(b, tuple(adims), axis_size)
        results.append(_run(bj, list(consts) + list(args)))
    n = len(branches)
    index = le.clamp_int(index, 0, n - 1)
    outs = []
    for k in range(len(results[0])):
        cases = [r[k] for r in results]
        shape = get_aval(cases[0]).shape
        which = ls.broadcast_in_dim(index, shape, (0,))
        outs.append(le.select_n(which, *cases) if n > 1 else cases[0])
    return outs, [0] * len(outs)


ad.jvp_rules[cond_p] = _cond_jvp
ad.vjp_fwd_rules[cond_p] = _cond_vjp_fwd
batching.vmap_rules[cond_p] = _cond_vmap
