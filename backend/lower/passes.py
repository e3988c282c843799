"""Jaxpr-to-jaxpr passes run before fusion: inlining of call primitives, constant folding,
CSE and DCE. Every pass returns a new Jaxpr (the input is never changed) and ``optimize``
type-checks the result after each pass.

All passes are the same IR walker: ``for eqn in jaxpr.eqns`` with a substitution ``env``
(old atom -> new atom) and a rule lookup by primitive name.
"""

from __future__ import annotations

import numpy as np

from funcgrad._src import core
from funcgrad._src.core import Jaxpr, JaxprEqn, Literal, Var

CALL_PRIMITIVES = frozenset({"pjit", "checkpoint", "custom_jvp_call", "custom_vjp_call"})
FOLD_MAX_SIZE = 1  # fold only scalar results (they become Literals)


def _subst(env: dict, x):
    return env.get(x, x) if isinstance(x, Var) else x


def _with(eqn: JaxprEqn, inputs, out_binders=None) -> JaxprEqn:
    return JaxprEqn(eqn.primitive, tuple(inputs), eqn.params, out_binders or eqn.out_binders)


# ---- inlining ---------------------------------------------------------------------------------


def inline_calls(jaxpr: Jaxpr) -> Jaxpr:
    """Replace pjit/checkpoint/custom_*_call equations by the equations of their jaxpr."""
    env: dict = {}
    eqns: list = []
    _inline_into(jaxpr, env, eqns)
    return Jaxpr(
        jaxpr.constvars, jaxpr.invars, tuple(eqns), tuple(_subst(env, x) for x in jaxpr.outvars)
    )


def _inline_into(jaxpr: Jaxpr, env: dict, eqns: list) -> None:
    for eqn in jaxpr.eqns:
        inputs = [_subst(env, x) for x in eqn.inputs]
        inner = eqn.params.get("jaxpr")
        if (
            eqn.primitive.name in CALL_PRIMITIVES
            and isinstance(inner, Jaxpr)
            and not inner.constvars
        ):
            sub = dict(zip(inner.invars, inputs))
            fresh = _fresh_copy(inner, sub)
            _inline_into(fresh, sub, eqns)
            for v, o in zip(eqn.out_binders, fresh.outvars):
                env[v] = _subst(sub, o)
        else:
            eqns.append(_with(eqn, inputs))


def _fresh_copy(jaxpr: Jaxpr, sub: dict) -> Jaxpr:
    """The same jaxpr with new Vars for every equation output (it may be inlined twice)."""
    ren: dict = {}
    eqns = []
    for eqn in jaxpr.eqns:
        outs = tuple(Var(v.aval) for v in eqn.out_binders)
        ren.update(zip(eqn.out_binders, outs))
        eqns.append(_with(eqn, [_subst(ren, x) for x in eqn.inputs], outs))
    return Jaxpr((), jaxpr.invars, tuple(eqns), tuple(_subst(ren, x) for x in jaxpr.outvars))


# ---- constant folding -------------------------------------------------------------------------


def fold_constants(jaxpr: Jaxpr) -> Jaxpr:
    """Evaluate equations whose inputs are all Literals and whose outputs are scalars."""
    env: dict = {}
    eqns = []
    for eqn in jaxpr.eqns:
        inputs = [_subst(env, x) for x in eqn.inputs]
        folded = _try_fold(eqn, inputs)
        if folded is None:
            eqns.append(_with(eqn, inputs))
        else:
            env.update(zip(eqn.out_binders, folded))
    return Jaxpr(
        jaxpr.constvars, jaxpr.invars, tuple(eqns), tuple(_subst(env, x) for x in jaxpr.outvars)
    )


def _effectful(eqn: JaxprEqn) -> bool:
    """Equations with side effects (``debug_callback``: params ``effect=True``), or whose
    inner jaxprs have some (a ``cond`` whose branch prints), are never folded, merged or
    dropped, even though nothing uses their outputs."""
    if eqn.params.get("effect", False):
        return True
    return any(_has_effects(j) for v in eqn.params.values() for j in _inner_jaxprs(v))


def _inner_jaxprs(v) -> list:
    if isinstance(v, core.ClosedJaxpr):
        return [v.jaxpr]
    if isinstance(v, Jaxpr):
        return [v]
    if isinstance(v, tuple):
        return [j for x in v for j in _inner_jaxprs(x)]
    return []


_EFFECTS_SEEN: dict = {}


def _has_effects(jaxpr: Jaxpr) -> bool:
    key = id(jaxpr)
    hit = _EFFECTS_SEEN.get(key)
    if hit is None or hit[0] is not jaxpr:
        hit = (jaxpr, any(_effectful(e) for e in jaxpr.eqns))
        if len(_EFFECTS_SEEN) > 4096:
            _EFFECTS_SEEN.clear()
        _EFFECTS_SEEN[key] = hit
    return hit[1]


def _try_fold(eqn: JaxprEqn, inputs):
    if _effectful(eqn) or not inputs or not all(isinstance(x, Literal) for x in inputs):
        return None
    if any(v.aval.size > FOLD_MAX_SIZE or v.aval.ndim for v in eqn.out_binders):
        return None
    impl = core.impl_rules.get(eqn.primitive)
    if impl is None or eqn.primitive.name in CALL_PRIMITIVES:
        return None
    try:
        with np.errstate(all="ignore"):
            outs = impl(*[np.asarray(x.val) for x in inputs], **eqn.params)
    except Exception:  # noqa: BLE001 (leave it to run time and its error message)
        return None
    outs = outs if eqn.primitive.multiple_results else [outs]
    return [
        Literal(np.asarray(o, dtype=v.aval.dtype).reshape(()), v.aval)
        for o, v in zip(outs, eqn.out_binders)
    ]


# ---- common subexpressions --------------------------------------------------------------------


def _atom_key(x):
    if isinstance(x, Literal):
        v = np.asarray(x.val)
        return ("lit", v.dtype.str, v.tobytes())
    return id(x)


def _eqn_key(eqn: JaxprEqn, inputs):
    try:
        params = tuple(sorted(eqn.params.items()))
        hash(params)
    except TypeError:
        return None
    return (eqn.primitive, tuple(_atom_key(x) for x in inputs), params)


def cse(jaxpr: Jaxpr) -> Jaxpr:
    """Merge equations with the same primitive, inputs and params (pure ones only)."""
    env: dict = {}
    seen: dict = {}
    eqns = []
    for eqn in jaxpr.eqns:
        inputs = [_subst(env, x) for x in eqn.inputs]
        key = None if _effectful(eqn) else _eqn_key(eqn, inputs)
        if key is not None and key in seen:
            env.update(zip(eqn.out_binders, seen[key]))
            continue
        if key is not None:
            seen[key] = eqn.out_binders
        eqns.append(_with(eqn, inputs))
    return Jaxpr(
        jaxpr.constvars, jaxpr.invars, tuple(eqns), tuple(_subst(env, x) for x in jaxpr.outvars)
    )


# ---- dead code ----------------------------------------------------------------------------------


def dce(jaxpr: Jaxpr) -> Jaxpr:
    """Drop equations none of whose outputs is used (effectful ones are always kept)."""
    live = {x for x in jaxpr.outvars if isinstance(x, Var)}
    kept = []
    for eqn in reversed(jaxpr.eqns):
        if _effectful(eqn) or any(v in live for v in eqn.out_binders):
            kept.append(eqn)
            live.update(x for x in eqn.inputs if isinstance(x, Var))
    return Jaxpr(jaxpr.constvars, jaxpr.invars, tuple(reversed(kept)), jaxpr.outvars)


# ---- the pipeline -------------------------------------------------------------------------------

PIPELINE = (("inline", inline_calls), ("fold", fold_constants), ("cse", cse), ("dce", dce))


def optimize(jaxpr: Jaxpr, pipeline=PIPELINE) -> Jaxpr:
    """Run the passes in order, type-checking after each."""
    for name, pass_fn in pipeline:
        jaxpr = pass_fn(jaxpr)
        try:
            core.typecheck_jaxpr(jaxpr)
        except TypeError as e:
            raise TypeError(f"after the {name!r} pass: {e}") from None
    return jaxpr
