"""Primitives that carry a jaxpr: jit's call, checkpoint (remat), custom_jvp, custom_vjp.

Their derivative and batching rules transform the inner jaxpr (with small caches so a jitted
function called in a loop under vmap/grad is not retraced every time).
"""

from __future__ import annotations

import weakref

from funcgrad._src import ad, batching, core
from funcgrad._src.core import (
    Jaxpr,
    JaxprEqn,
    Primitive,
    abstract_eval_rules,
    close_over_consts,
    eval_jaxpr,
    get_aval,
    impl_rules,
    trace_to_jaxpr,
)

# ---- jaxpr-to-jaxpr transformations (cached) -----------------------------------------------------

_jaxpr_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cached(kind, jaxpr, key, build):
    per = _jaxpr_cache.setdefault(jaxpr, {})
    k = (kind,) + key
    if k not in per:
        per[k] = build()
    return per[k]


def _closed(f, in_avals) -> Jaxpr:
    jaxpr, consts = trace_to_jaxpr(f, in_avals)
    if consts:
        raise AssertionError("internal: a transformed jaxpr captured constants")
    return jaxpr


def _trace_closed(f, in_avals):
    """Trace to a jaxpr whose constants become leading inputs: returns (jaxpr, consts)."""
    jaxpr, consts = trace_to_jaxpr(f, in_avals)
    return close_over_consts(jaxpr), consts


def jvp_jaxpr(jaxpr: Jaxpr) -> tuple[Jaxpr, list]:
    """(primals..., tangents...) -> (outs..., tangent_outs...)."""
    n = len(jaxpr.invars)

    def build():
        def f(*args):
            outs, touts = ad.jvp_flat(
                lambda *a: eval_jaxpr(jaxpr, [], a), list(args[:n]), list(args[n:])
            )
            return outs + touts

        avals = jaxpr.in_avals + jaxpr.in_avals
        return _trace_closed(f, avals)

    return _cached("jvp", jaxpr, (), build)


def _drop_effects_param(v):
    if isinstance(v, Jaxpr):
        return without_effects(v)
    if isinstance(v, tuple) and v and all(isinstance(x, Jaxpr) for x in v):
        return tuple(without_effects(x) for x in v)
    return v


def _has_effects(jaxpr: Jaxpr) -> bool:
    for e in jaxpr.eqns:
        if e.params.get("effect", False) and not e.out_binders:
            return True
        for v in e.params.values():
            inner = v if isinstance(v, tuple) else (v,)
            if any(isinstance(x, Jaxpr) and _has_effects(x) for x in inner):
                return True
    return False


def without_effects(jaxpr: Jaxpr) -> Jaxpr:
    """``jaxpr`` without its output-less effects (``debug_callback``: print, callback,
    breakpoint), also inside nested jaxprs. The forward pass recomputed inside a backward
    pass runs this, so those effects happen once per call, in the forward pass (as JAX's
    ``grad(jit(f))``); ``checkpoint`` re-runs them, as JAX's does."""

    def build():
        eqns = []
        for e in jaxpr.eqns:
            if e.params.get("effect", False) and not e.out_binders:
                continue
            params = {k: _drop_effects_param(v) for k, v in e.params.items()}
            same = all(params[k] is e.params[k] for k in params)
            eqns.append(e if same else JaxprEqn(e.primitive, e.inputs, params, e.out_binders))
        if len(eqns) == len(jaxpr.eqns) and all(a is b for a, b in zip(eqns, jaxpr.eqns)):
            return jaxpr
        return Jaxpr(jaxpr.constvars, jaxpr.invars, tuple(eqns), jaxpr.outvars)

    if not _has_effects(jaxpr):  # (not cached: a cache entry holding its own key never goes)
        return jaxpr
    return _cached("noeffects", jaxpr, (), build)


def vjp_jaxpr(jaxpr: Jaxpr, keep_effects: bool = False) -> tuple[Jaxpr, list]:
    """(primals..., cts...) -> (cts_in...): recomputes the forward pass (rematerialises),
    without its output-less effects unless ``keep_effects`` (see :func:`without_effects`)."""
    n = len(jaxpr.invars)
    fwd = jaxpr if keep_effects else without_effects(jaxpr)

    def build():
        def f(*args):
            _, f_vjp = ad.vjp_flat(lambda *a: eval_jaxpr(fwd, [], a), list(args[:n]))
            return f_vjp(list(args[n:]))

        return _trace_closed(f, jaxpr.in_avals + jaxpr.out_avals)

    return _cached("vjp", jaxpr, (keep_effects,), build)


def _batched_aval(aval, d, size):
    if d is None:
        return aval
    shape = list(aval.shape)
    shape.insert(d, size)
    return aval.update(shape=tuple(shape))


def batch_jaxpr(jaxpr: Jaxpr, dims: tuple, axis_size: int, out_dims=None):
    """A jaxpr over batched inputs (batch axes ``dims``); outputs batched at ``out_dims``.

    Called from a batching rule: the batch axis keeps the name that rule's axis has (when
    the jaxpr's collectives use it), so ``psum`` & co. inside lower to reductions."""
    out_dims = tuple(out_dims) if out_dims is not None else (0,) * len(jaxpr.outvars)
    name = batching.current_axis_name()

    def build():
        def f(*args):
            return batching.vmap_flat(
                lambda *a: eval_jaxpr(jaxpr, [], a),
                list(dims),
                axis_size,
                list(args),
                list(out_dims),
                axis_name=name,
            )

        avals = [_batched_aval(a, d, axis_size) for a, d in zip(jaxpr.in_avals, dims)]
        return _trace_closed(f, avals)

    return _cached("vmap", jaxpr, (tuple(dims), axis_size, out_dims, name), build)


# ---- a family of call primitives -----------------------------------------------------------------


def def_call_primitive(prim: Primitive, impl):
    """Register abstract eval, jvp, vjp (by recomputation) and vmap for a jaxpr-carrying call."""
    impl_rules[prim] = impl
    abstract_eval_rules[prim] = lambda *avals, jaxpr, **p: list(jaxpr.out_avals)

    def jvp(primals, tangents, jaxpr, **p):
        jj, consts = jvp_jaxpr(jaxpr)
        outs = prim.bind(*consts, *primals, *tangents, jaxpr=jj, **p)
        n = len(jaxpr.outvars)
        return outs[:n], outs[n:]

    def vjp_fwd(primals, jaxpr, **p):
        outs = prim.bind(*primals, jaxpr=jaxpr, **p)

        def bwd(cts):
            vj, consts = vjp_jaxpr(jaxpr)
            cts_in = prim.bind(*consts, *primals, *cts, jaxpr=vj, **p)
            return [c if get_aval(x).dtype.kind in "fc" else None for c, x in zip(cts_in, primals)]

        return outs, bwd

    def vmap(vals, dims, axis_size, jaxpr, **p):
        bj, consts = batch_jaxpr(jaxpr, tuple(dims), axis_size)
        outs = prim.bind(*consts, *vals, jaxpr=bj, **p)
        return outs, [0] * len(outs)

    ad.jvp_rules[prim] = jvp
    ad.vjp_fwd_rules[prim] = vjp_fwd
    batching.vmap_rules[prim] = vmap


def _eval_call(*args, jaxpr, **params):
    from funcgrad._src.array import wrap

    return [core.eval_hooks["to_numpy"](o) for o in eval_jaxpr(jaxpr, [], [wrap(a) for a in args])]


# jit: the call the compiler sees. Its impl compiles with the named target (funcgrad.backend's
# registry; see _src/jit.py) or, without one, evaluates.
jit_p = Primitive("pjit", multiple_results=True)


def _jit_impl(*args, jaxpr, name="", backend=None, **kw):
    if backend is None:
        return _eval_call(*args, jaxpr=jaxpr)
    from funcgrad.backend import get_target

    return get_target(backend).compile(jaxpr, name)(*args)


def_call_primitive(jit_p, _jit_impl)

# checkpoint: same as a call, but its reason to exist is the vjp rule (recompute in backward)
remat_p = Primitive("checkpoint", multiple_results=True)
def_call_primitive(remat_p, _eval_call)

# ---- custom_jvp ----------------------------------------------------------------------------------

custom_jvp_call_p = Primitive("custom_jvp_call", multiple_results=True)


def _custom_jvp_impl(*args, jaxpr, jvp_fn, num_consts, symbolic_zeros=False):
    return _eval_call(*args, jaxpr=jaxpr)


impl_rules[custom_jvp_call_p] = _custom_jvp_impl
abstract_eval_rules[custom_jvp_call_p] = lambda *avals, jaxpr, **p: list(jaxpr.out_avals)


def _custom_jvp_jvp(primals, tangents, jaxpr, jvp_fn, num_consts, **p):
    args, targs = primals[num_consts:], tangents[num_consts:]
    outs, touts = jvp_fn(list(args), list(targs))
    return list(outs), list(touts)


def _custom_jvp_vjp_fwd(primals, jaxpr, jvp_fn, num_consts, **p):
    """Reverse mode of a custom_jvp function: the rule runs once (never the primal function),
    with the tangents recorded on a tape at zero; the rule is linear in them, so pulling a
    cotangent back through that tape is its transpose at any tangent point."""
    args = list(primals[num_consts:])
    zeros = [ad.zeros_like_aval(get_aval(a)) for a in args]
    k = []

    def tangent_fn(*t):
        outs, touts = jvp_fn(args, list(t))
        k.append(len(touts))
        return list(touts) + list(outs)

    both, f_vjp = ad.vjp_flat(tangent_fn, zeros)
    n = k[0]

    def bwd(cts):
        cts_in = f_vjp(list(cts) + [None] * (len(both) - n))
        return [None] * num_consts + [
            c if get_aval(a).dtype.kind in "fc" else None for c, a in zip(cts_in, args)
        ]

    return both[n:], bwd


def _custom_jvp_vmap(vals, dims, axis_size, jaxpr, jvp_fn, num_consts, **p):
    vals = [batching.bdim_at_front(v, d, axis_size) for v, d in zip(vals, dims)]
    bj, consts = batch_jaxpr(jaxpr, (0,) * len(vals), axis_size)  # consts: leading inputs
    n = len(vals) - num_consts
    name = batching.current_axis_name()

    def batched_jvp(ps, ts):
        outs = batching.vmap_flat(
            lambda *a: list(_flat2(jvp_fn(list(a[:n]), list(a[n:])))),
            [0] * (2 * n),
            axis_size,
            list(ps) + list(ts),
            None,
            axis_name=name,
        )
        k = len(outs) // 2
        return outs[:k], outs[k:]

    outs = custom_jvp_call_p.bind(
        *consts, *vals, jaxpr=bj, jvp_fn=batched_jvp, num_consts=num_consts + len(consts)
    )
    return outs, [0] * len(outs)


def _flat2(pair):
    outs, touts = pair
    return list(outs) + list(touts)


ad.jvp_rules[custom_jvp_call_p] = _custom_jvp_jvp
ad.vjp_fwd_rules[custom_jvp_call_p] = _custom_jvp_vjp_fwd
batching.vmap_rules[custom_jvp_call_p] = _custom_jvp_vmap

# ---- custom_vjp ----------------------------------------------------------------------------------

custom_vjp_call_p = Primitive("custom_vjp_call", multiple_results=True)
impl_rules[custom_vjp_call_p] = lambda *args, jaxpr, **p: _eval_call(*args, jaxpr=jaxpr)
abstract_eval_rules[custom_vjp_call_p] = lambda *avals, jaxpr, **p: list(jaxpr.out_avals)


def _custom_vjp_fwd(primals, jaxpr, fwd_fn, bwd_fn, num_consts):
    args = list(primals[num_consts:])
    outs, res = fwd_fn(args)

    def bwd(cts):
        cts_in = bwd_fn(res, list(cts))
        return [None] * num_consts + [
            c if get_aval(a).dtype.kind in "fc" else None for c, a in zip(cts_in, args)
        ]

    return list(outs), bwd


def _custom_vjp_jvp(primals, tangents, **p):
    raise TypeError(
        "can't apply forward-mode autodiff (jvp) to a custom_vjp function; "
        "use custom_jvp instead if you need forward mode (jacfwd, hessian, jvp)"
    )


def _custom_vjp_vmap(vals, dims, axis_size, jaxpr, fwd_fn, bwd_fn, num_consts):
    vals = [batching.bdim_at_front(v, d, axis_size) for v, d in zip(vals, dims)]
    bj, consts = batch_jaxpr(jaxpr, (0,) * len(vals), axis_size)
    from funcgrad._src.api import vmap as _vmap

    kw = dict(in_axes=0, out_axes=0, axis_size=axis_size, axis_name=batching.current_axis_name())

    def batched_fwd(args):
        return _vmap(lambda *a: fwd_fn(list(a)), **kw)(*args)

    def batched_bwd(res, cts):
        return _vmap(lambda r, c: bwd_fn(r, list(c)), **kw)(res, list(cts))

    outs = custom_vjp_call_p.bind(
        *consts,
        *vals,
        jaxpr=bj,
        fwd_fn=batched_fwd,
        bwd_fn=batched_bwd,
        num_consts=num_consts + len(consts),
    )
    return outs, [0] * len(outs)


ad.jvp_rules[custom_vjp_call_p] = _custom_vjp_jvp
ad.vjp_fwd_rules[custom_vjp_call_p] = _custom_vjp_fwd
batching.vmap_rules[custom_vjp_call_p] = _custom_vjp_vmap
