"""Jaxpr-to-jaxpr rewrites that the compiled backends run before their passes, written as
re-tracing: each equation of the old jaxpr is replayed on tracers of a new one, where a rule
may bind other primitives in its place.

``retrace(jaxpr, in_avals, rule, literal)`` is the shared machinery; ``bf16.legalize`` (bfloat16
-> float32 plus rounding) and ``expand_complex_dots`` (a complex ``dot_general`` -> four real
ones, and a complex ``cumsum`` -> two real ones, for the CUDA backend, whose dot and scan
kernels are real) are built on it. Inner jaxprs in
parameters (control flow, calls) are rewritten by the rules' own parameter mapping.
"""

from __future__ import annotations

import numpy as np

from funcgrad._src import core
from funcgrad._src.lax.elementwise import (
    add_p,
    complex_p,
    convert_element_type_p,
    imag_p,
    real_p,
    sub_p,
)


def retrace(jaxpr: core.Jaxpr, in_avals, rule, literal=None) -> core.Jaxpr:
    """A new jaxpr with ``jaxpr``'s constvars and invars (``in_avals``, in that order) whose
    equations are ``rule(eqn, trace, inputs) -> list of outputs`` replayed on tracers.
    ``literal(lit)`` is a literal's value (default: as it is); literals are staged as scalar
    constants of the trace, which stay literals."""
    nc = len(jaxpr.constvars)
    builder = core.JaxprBuilder()
    with core.new_main(core.JaxprTrace, builder) as main:
        trace = core.JaxprTrace(main)
        tracers = [trace.new_arg(a) for a in in_avals]
        env = dict(zip((*jaxpr.constvars, *jaxpr.invars), tracers))

        def read(x):
            if isinstance(x, core.Literal):
                val = np.asarray(x.val) if literal is None else literal(x)
                return constant(trace, val, x.aval.weak_type)
            return env[x]

        for eqn in jaxpr.eqns:
            outs = rule(eqn, trace, [read(x) for x in eqn.inputs])
            env.update(zip(eqn.out_binders, outs))
        outs = [trace.full_raise(read(x)) for x in jaxpr.outvars]
        new, consts = core.build_jaxpr(builder, tracers, outs)
    if consts:  # rules make scalar constants only, which become literals
        raise NotImplementedError(
            f"a backend rewrite produced {len(consts)} array constants; "
            f"please report this as a funcgrad bug"
        )
    return core.Jaxpr(tuple(new.invars[:nc]), tuple(new.invars[nc:]), new.eqns, new.outvars)


def constant(trace: core.JaxprTrace, value: np.ndarray, weak_type: bool = False):
    """``value`` as a constant of the jaxpr ``trace`` builds (a scalar becomes a literal)."""
    tracer = trace.builder.new_tracer(trace, core.ShapedArray(value.shape, value.dtype, weak_type))
    trace.builder.add_const(tracer, value)
    return tracer


def bind(eqn, ins, params) -> list:
    """``eqn``'s primitive bound on ``ins`` with ``params``; always a list of outputs."""
    outs = eqn.primitive.bind(*ins, **params)
    return list(outs) if eqn.primitive.multiple_results else [outs]


def map_inner_jaxprs(value, fn):
    """``value`` (a parameter) with every inner ``Jaxpr``/``ClosedJaxpr`` replaced by
    ``fn(jaxpr)`` (a ClosedJaxpr keeps its consts)."""
    if isinstance(value, core.ClosedJaxpr):
        return core.ClosedJaxpr(fn(value.jaxpr), value.consts)
    if isinstance(value, core.Jaxpr):
        return fn(value)
    if isinstance(value, tuple):
        return tuple(map_inner_jaxprs(x, fn) for x in value)
    if isinstance(value, list):
        return [map_inner_jaxprs(x, fn) for x in value]
    return value


def _inner_jaxprs(value):
    if isinstance(value, core.ClosedJaxpr):
        yield value.jaxpr
    elif isinstance(value, core.Jaxpr):
        yield value
    elif isinstance(value, (tuple, list)):
        for x in value:
            yield from _inner_jaxprs(x)


def any_eqn(jaxpr: core.Jaxpr, pred) -> bool:
    """Whether ``pred(eqn)`` holds for an equation of ``jaxpr`` or of an inner jaxpr."""
    for eqn in jaxpr.eqns:
        if pred(eqn):
            return True
        for v in eqn.params.values():
            if any(any_eqn(j, pred) for j in _inner_jaxprs(v)):
                return True
    return False


# ---- complex dot_general -> real dots ------------------------------------------------------------


def _is_complex_dot(eqn) -> bool:
    return eqn.primitive.name == "dot_general" and np.dtype(eqn.inputs[0].aval.dtype).kind == "c"


def _is_complex_cumsum(eqn) -> bool:
    return eqn.primitive.name == "cumsum" and np.dtype(eqn.inputs[0].aval.dtype).kind == "c"


def _complex_cumsum(eqn, ins) -> list:
    parts = [bind(eqn, [p.bind(ins[0])], eqn.params)[0] for p in (real_p, imag_p)]
    return [complex_p.bind(*parts)]


def _complex_dot(eqn, ins) -> list:
    a, b = ins
    params = dict(eqn.params, preferred_element_type=None)
    dot = lambda x, y: bind(eqn, [x, y], params)[0]
    parts = [p.bind(x) for x in (a, b) for p in (real_p, imag_p)]
    out = np.dtype(eqn.out_binders[0].aval.dtype)
    part = np.dtype(np.real(np.zeros((), out)).dtype)
    if part != np.dtype(core.get_aval(parts[0]).dtype):  # preferred_element_type complex128
        parts = [convert_element_type_p.bind(x, new_dtype=part, weak_type=False) for x in parts]
    ar, ai, br, bi = parts
    re = sub_p.bind(dot(ar, br), dot(ai, bi))
    im = add_p.bind(dot(ar, bi), dot(ai, br))
    return [complex_p.bind(re, im)]


def expand_complex_dots(jaxpr: core.Jaxpr) -> core.Jaxpr:
    """Every complex ``dot_general`` (inner jaxprs too) as ``complex(ar.br - ai.bi,
    ar.bi + ai.br)`` over real dots of the parts (the textbook four-product form: no
    cancellation beyond the complex product's own), and every complex ``cumsum`` as the
    cumsums of the parts (complex addition is per part). Unchanged when there is none."""
    wanted = lambda eqn: _is_complex_dot(eqn) or _is_complex_cumsum(eqn)
    if not any_eqn(jaxpr, wanted):
        return jaxpr

    def rule(eqn, trace, ins):
        if _is_complex_dot(eqn):
            return _complex_dot(eqn, ins)
        if _is_complex_cumsum(eqn):
            return _complex_cumsum(eqn, ins)
        params = {k: map_inner_jaxprs(v, expand_complex_dots) for k, v in eqn.params.items()}
        return bind(eqn, ins, params)

    return retrace(jaxpr, [v.aval for v in (*jaxpr.constvars, *jaxpr.invars)], rule)
