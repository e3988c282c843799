"""``checkpoint``/``remat``: recompute a function's intermediates in the backward pass instead
of storing them, with JAX's ``checkpoint_policies`` choosing which ones are stored.

Without a policy (or with ``nothing_saveable``) the ``checkpoint`` call primitive's reverse
mode recomputes the whole forward pass inside the backward pass (``lax/call.py``). With a
policy, the forward pass runs equation by equation and keeps the outputs the policy calls
saveable; the backward pass re-runs the function under the tape with those outputs taken
as known (``ad.bind_known``: recorded, not recomputed) and everything else recomputed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from funcgrad import tree_util as tu
from funcgrad._src import ad, batching, core
from funcgrad._src.api_util import _flatten_args, _fun_name
from funcgrad._src.array import get_aval
from funcgrad._src.core import Literal, Primitive
from funcgrad._src.custom_derivatives import (
    _has_tracers,
    _merge_nondiff,
    _split_nondiff,
    _trace_flat,
)
from funcgrad._src.lax.call import remat_p, vjp_jaxpr
from funcgrad._src.lax.common import as_operand

# ---- checkpoint_name: the identity, marking a value for the name policies ---------------

name_p = Primitive("name")
core.impl_rules[name_p] = lambda x, name: x
core.abstract_eval_rules[name_p] = lambda x, name: x
ad.deflinear(name_p, lambda ct, x, name: [ct])
batching.vmap_rules[name_p] = lambda vals, dims, axis_size, name: (vals[0], dims[0])


def checkpoint_name(x, name: str):
    """Name the values of a pytree for ``save_only_these_names``-style policies
    (``jax.ad_checkpoint.checkpoint_name``); otherwise the identity.

    Args:
      x: a pytree of arrays.
      name: the name the policies refer to.

    Returns:
      ``x`` (each leaf passed through the ``name`` primitive).
    """
    return tu.tree_map(lambda v: name_p.bind(as_operand(v), name=name), x)


# ---- the forward and backward passes under a policy ----------------------------------------


def _saveable(policy, eqn) -> bool:
    return bool(policy(eqn.primitive, *[x.aval for x in eqn.inputs], **eqn.params))


def _forward_saving(jaxpr, args, policy):
    """Evaluate ``jaxpr`` on ``args``; return its outputs and ``{eqn index: outputs}`` of
    the equations the policy saves (only those depending on an input: the others are
    constants, cheaper to recompute)."""
    env, dep = dict(zip(jaxpr.invars, args)), set(jaxpr.invars)
    read = lambda x: x.val if isinstance(x, Literal) else env[x]
    saved = {}
    for i, eqn in enumerate(jaxpr.eqns):
        outs = eqn.primitive.bind(*map(read, eqn.inputs), **eqn.params)
        outs = outs if eqn.primitive.multiple_results else [outs]
        env.update(zip(eqn.out_binders, outs))
        if any(not isinstance(x, Literal) and x in dep for x in eqn.inputs):
            dep.update(eqn.out_binders)
            if _saveable(policy, eqn):
                saved[i] = outs
    return [read(x) for x in jaxpr.outvars], saved


def _bind_known(prim, args, params, outs):
    """``prim.bind(*args, **params)`` whose outputs ``outs`` are already known (a saved
    residual): under the backward pass's tape the node is recorded with the primitive's vjp
    rule and those outputs, not recomputed. Primitives that choose their own residuals
    (``vjp_fwd_rules``: calls, control flow, custom rules) are recomputed."""
    trace = core.find_top_trace(args)
    if not isinstance(trace, ad.VJPTrace) or prim in ad.vjp_fwd_rules or prim not in ad.vjp_rules:
        outs = prim.bind(*args, **params)
        return outs if prim.multiple_results else [outs]
    tracers = [trace.full_raise(a) for a in args]
    parents = [(t.node, t.idx) if t.node is not None else None for t in tracers]
    if all(p is None for p in parents):
        return list(outs)
    primals, rule = [t.primal for t in tracers], ad.vjp_rules[prim]
    res = list(outs) if prim.multiple_results else outs[0]
    bwd = lambda cts: rule(cts, primals, res, **params)
    node = ad.VJPNode(parents, bwd, [get_aval(o) for o in outs], prim.name)
    return [ad.VJPTracer(trace, o, node, i) for i, o in enumerate(outs)]


def _eval_with_saved(jaxpr, args, saved):
    env = dict(zip(jaxpr.invars, args))
    read = lambda x: x.val if isinstance(x, Literal) else env[x]
    for i, eqn in enumerate(jaxpr.eqns):
        ins = list(map(read, eqn.inputs))
        if i in saved:
            outs = _bind_known(eqn.primitive, ins, eqn.params, saved[i])
        else:
            outs = eqn.primitive.bind(*ins, **eqn.params)
            outs = outs if eqn.primitive.multiple_results else [outs]
        env.update(zip(eqn.out_binders, outs))
    return [read(x) for x in jaxpr.outvars]


def _remat_vjp_fwd(primals, jaxpr, policy=None, **p):
    if policy is None:  # recompute everything: the call primitive's reverse mode
        outs = remat_p.bind(*primals, jaxpr=jaxpr, policy=policy, **p)

        def bwd(cts):
            vj, consts = vjp_jaxpr(jaxpr, keep_effects=True)  # JAX's remat re-runs them
            cts_in = remat_p.bind(*consts, *primals, *cts, jaxpr=vj, policy=None, **p)
            return [c if get_aval(x).dtype.kind in "fc" else None for c, x in zip(cts_in, primals)]

        return outs, bwd
    outs, saved = _forward_saving(jaxpr, list(primals), policy)

    def bwd_saved(cts):
        _, f_vjp = ad.vjp_flat(lambda *a: _eval_with_saved(jaxpr, a, saved), list(primals))
        cts_in = f_vjp(list(cts))
        return [c if get_aval(x).dtype.kind in "fc" else None for c, x in zip(cts_in, primals)]

    return outs, bwd_saved


ad.vjp_fwd_rules[remat_p] = _remat_vjp_fwd


def _what(eqn) -> str:
    if eqn.primitive is name_p:
        return f"named '{eqn.params['name']}'"
    return f"output of {eqn.primitive.name}"


def saved_residuals(jaxpr, policy):
    """``[(aval, description)]``: the outputs ``policy`` saves among the equations of a
    checkpointed ``jaxpr`` that depend on its inputs (what :func:`print_saved_residuals` shows)."""
    dep, out = set(jaxpr.invars), []
    for eqn in jaxpr.eqns:
        if not any(not isinstance(x, Literal) and x in dep for x in eqn.inputs):
            continue
        dep.update(eqn.out_binders)
        if policy is not None and _saveable(policy, eqn):
            out += [(v.aval, _what(eqn)) for v in eqn.out_binders]
    return out


# ---- the public wrapper --------------------------------------------------------------------


def checkpoint(fun: Callable, prevent_cse: bool = True, policy=None, static_argnums=()):
    """Rematerialisation (``jax.checkpoint``; ``remat`` is the same function).

    In reverse mode, ``fun``'s intermediates are recomputed during the backward pass
    instead of being stored (saves memory, costs one more forward pass), except those the
    ``policy`` allows to be saved. Called with no traced argument, ``fun`` simply runs.
    Under ``jit`` the compiler inlines the call (memory is then managed by the compiled
    code).

    Args:
      fun: a function of positional and keyword arguments (pytrees of arrays) returning a
        pytree of arrays.
      prevent_cse: accepted for JAX compatibility (funcgrad's compiler may merge the
        recomputation with the forward pass).
      policy: None (save nothing, recompute everything) or a function
        ``policy(prim, *avals, **params) -> bool`` saying whether an equation's outputs may
        be saved, such as those of :mod:`funcgrad.checkpoint_policies`.
      static_argnums: an int or sequence of ints: positional arguments passed as Python
        values, not traced.

    Returns:
      A function of ``fun``'s arguments with the same outputs.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.grad(fg.checkpoint(lambda x: fnp.sin(fnp.sin(x))))(0.0)
    Array(1., dtype=float32, weak_type=True)
    """
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    del prevent_cse

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        nd, diff = _split_nondiff(args, static)
        flat, in_tree = _flatten_args((tuple(diff), kwargs))
        if not _has_tracers(flat):
            return fun(*args, **kwargs)
        store = {}

        def f(d, kw):
            return fun(*_merge_nondiff(nd, d, static, len(args)), **kw)

        jaxpr, consts = _trace_flat(f, flat, in_tree, store)
        outs = remat_p.bind(*consts, *flat, jaxpr=jaxpr, name=_fun_name(fun), policy=policy)
        return tu.tree_unflatten(store["tree"], outs)

    return wrapped


remat = checkpoint


def _arg_names(fun, args, kwargs):
    """A name per argument leaf: the parameter name plus the leaf's key path, as JAX's."""
    import inspect

    try:
        params = list(inspect.signature(fun).parameters)
    except (TypeError, ValueError):
        params = []
    names = []
    for i, a in enumerate(args):
        base = params[i] if i < len(params) else f"args[{i}]"
        names += [base + tu.keystr(p) for p, _ in tu.tree_flatten_with_path(a)[0]]
    for k, a in kwargs.items():
        names += [k + tu.keystr(p) for p, _ in tu.tree_flatten_with_path(a)[0]]
    return names


def _residuals(fun, args, kwargs):
    flat, in_tree = _flatten_args((args, kwargs))
    names = _arg_names(fun, args, kwargs)

    def flat_fun(*xs):
        a, kw = tu.tree_unflatten(in_tree, xs)
        return [as_operand(o) for o in tu.tree_leaves(fun(*a, **kw))]

    jaxpr, _ = core.trace_to_jaxpr(flat_fun, [get_aval(x) for x in flat])
    used = {x for e in jaxpr.eqns for x in e.inputs if not isinstance(x, Literal)}
    out = [
        (v.aval, f"from the argument {n}")
        for v, n in zip(jaxpr.invars, names)
        if v in used and v.aval.dtype.kind in "fc"
    ]
    dep = set(jaxpr.invars)
    for eqn in jaxpr.eqns:
        if not any(not isinstance(x, Literal) and x in dep for x in eqn.inputs):
            continue
        dep.update(eqn.out_binders)
        if eqn.primitive is remat_p:
            inner = eqn.params["jaxpr"]
            out += saved_residuals(inner, eqn.params.get("policy"))
        else:
            out += [(v.aval, _what(eqn)) for v in eqn.out_binders]
    return [(a, w) for a, w in out if a.dtype.kind in "fc"]


def print_saved_residuals(fun: Callable, *args, **kwargs) -> None:
    """Print the values reverse mode keeps from the forward pass of ``fun(*args, **kwargs)``
    for the backward pass (``jax.ad_checkpoint.print_saved_residuals``), one per line:
    ``f32[2,3] from the argument x``, ``f32[2,3] output of dot_general``,
    ``f32[2,3] named 'h'``.

    Inside ``checkpoint`` only what its policy saves is listed (nothing with no policy);
    outside it, funcgrad's tape keeps the output of every operation that depends on an
    argument. Unlike JAX's, the lines name no source location.

    Args:
      fun: the function (of pytrees of arrays).
      *args: its positional arguments.
      **kwargs: its keyword arguments.
    """
    for aval, what in _residuals(fun, args, kwargs):
        print(f"{aval.strip_weak().str_short()} {what}")
