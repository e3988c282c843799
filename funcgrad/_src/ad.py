"""Automatic differentiation: forward mode (JVPTrace) and reverse mode (a tape, VJPTrace).

Forward mode pushes tangents through ``jvp_rules``. Reverse mode records each primitive on a
tape while the primal runs (so Python control flow on concrete values works, as in JAX's
``grad``), then walks the tape backwards with ``vjp_rules``. Rules are written with ``bind``-
level operations, so they are themselves differentiable: that is how higher derivatives work.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from funcgrad._src import debug_nans
from funcgrad._src.core import Trace, Tracer, get_aval, missing_rule, new_main
from funcgrad.config import config

jvp_rules: dict = {}
vjp_rules: dict = {}  # rule(cts_out, primals_in, primals_out, **params) -> cts_in
# rule(primals_in, **params) -> (primals_out, bwd(cts_out) -> cts_in); used instead of vjp_rules
# by primitives that choose their own residuals (custom_vjp, call and control-flow primitives)
vjp_fwd_rules: dict = {}

# filled by lax.py (avoids a circular import)
ops: dict[str, Callable] = {}


def zeros_like_aval(aval):
    return ops["zeros"](aval.shape, aval.dtype)


def add_tangents(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return ops["add_any"](a, b)


def instantiate(ct, aval):
    return zeros_like_aval(aval) if ct is None else ct


# ---- forward mode -------------------------------------------------------------------------


class JVPTracer(Tracer):
    """A primal with its tangent; ``zero`` marks a tangent known to be zero (a lifted constant)."""

    __slots__ = ("primal", "tangent", "zero")

    def __init__(self, trace, primal, tangent, zero=False):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent
        self.zero = zero

    @property
    def aval(self):
        return get_aval(self.primal)


class JVPTrace(Trace):
    def pure(self, val):
        return JVPTracer(self, val, zeros_like_aval(get_aval(val)), zero=True)

    lift = pure

    def process_primitive(self, prim, tracers, params):
        rule = jvp_rules.get(prim)
        if rule is None:
            raise missing_rule("forward-mode differentiation (jvp)", prim)
        primals = [t.primal for t in tracers]
        if all(t.zero for t in tracers):
            return self._constant(prim.bind(*primals, **params), prim.multiple_results)
        # Rules built by ``defjvp`` skip a known-zero tangent (None) instead of multiplying it
        # by a derivative: 0 * inf would make a NaN tangent (jvp of v * 3. at v = inf).
        skip = getattr(rule, "symbolic_zeros", False)
        tangents = [None if skip and t.zero else t.tangent for t in tracers]
        primals_out, tangents_out = rule(primals, tangents, **params)
        if prim.multiple_results:
            return [JVPTracer(self, p, t) for p, t in zip(primals_out, tangents_out)]
        return JVPTracer(self, primals_out, tangents_out)

    def _constant(self, out, multiple_results):
        """Outputs of an equation whose inputs all have zero tangents: zero tangents too."""
        outs = out if multiple_results else [out]
        tracers = [JVPTracer(self, o, zeros_like_aval(get_aval(o)), zero=True) for o in outs]
        return tracers if multiple_results else tracers[0]


def jvp_flat(f: Callable, primals: list, tangents: list) -> tuple[list, list]:
    with new_main(JVPTrace) as main:
        trace = JVPTrace(main)
        tracers_in = [JVPTracer(trace, p, t) for p, t in zip(primals, tangents)]
        outs = f(*tracers_in)
        tracers_out = [trace.full_raise(o) for o in outs]
        return [t.primal for t in tracers_out], [t.tangent for t in tracers_out]


# ---- reverse mode -------------------------------------------------------------------------

_node_ids = itertools.count()


class VJPNode:
    """One recorded primitive application: its parents and how to pull cotangents back."""

    __slots__ = ("id", "parents", "bwd", "out_avals", "name", "site")

    def __init__(self, parents, bwd, out_avals, name, site=None):
        self.id = next(_node_ids)
        self.parents = parents  # per input: (node, out_index) or None
        self.bwd = bwd  # cts_out (list) -> cts_in (list, None = zero)
        self.out_avals = out_avals
        self.name = name
        self.site = site  # the user's source line, recorded only under debug_nans/debug_infs


class VJPTracer(Tracer):
    __slots__ = ("primal", "node", "idx")

    def __init__(self, trace, primal, node, idx):
        self._trace = trace
        self.primal = primal
        self.node = node
        self.idx = idx

    @property
    def aval(self):
        return get_aval(self.primal)


def _default_fwd(prim, primals, params):
    rule = vjp_rules.get(prim)
    if rule is None:
        raise missing_rule("reverse-mode differentiation (vjp/transpose)", prim)
    outs = prim.bind(*primals, **params)
    return outs, lambda cts: rule(cts, primals, outs, **params)


class VJPTrace(Trace):
    def pure(self, val):
        return VJPTracer(self, val, None, 0)

    lift = pure

    def process_primitive(self, prim, tracers, params):
        primals = [t.primal for t in tracers]
        parents = [(t.node, t.idx) if t.node is not None else None for t in tracers]
        if all(p is None for p in parents):  # nothing to differentiate: just run it
            outs = prim.bind(*primals, **params)
            return self._wrap(prim, outs, None)
        fwd = vjp_fwd_rules.get(prim)
        outs, bwd = fwd(primals, **params) if fwd else _default_fwd(prim, primals, params)
        outs_l = outs if prim.multiple_results else [outs]
        node = VJPNode(parents, bwd, [get_aval(o) for o in outs_l], prim.name)
        if config.check_floats:
            node.site = debug_nans.user_site()
        return self._wrap(prim, outs, node)

    def _wrap(self, prim, outs, node):
        if prim.multiple_results:
            return [VJPTracer(self, o, node, i) for i, o in enumerate(outs)]
        return VJPTracer(self, outs, node, 0)


def _toposort(out_nodes) -> list:
    seen, stack, order = set(), [n for n in out_nodes if n is not None], []
    while stack:
        n = stack.pop()
        if n.id in seen:
            continue
        seen.add(n.id)
        order.append(n)
        stack.extend(p[0] for p in n.parents if p is not None and p[0].id not in seen)
    return sorted(order, key=lambda n: -n.id)


def backward_pass(out_refs, cts, in_nodes) -> list:
    """Pull cotangents from the outputs back to the input nodes."""
    ct_env: dict = {}
    for ref, ct in zip(out_refs, cts):
        if ref is not None and ct is not None:
            node, idx = ref
            slot = ct_env.setdefault(node.id, [None] * len(node.out_avals))
            slot[idx] = add_tangents(slot[idx], ct)
    for node in _toposort([r[0] for r in out_refs if r is not None]):
        if node.bwd is None or node.id not in ct_env:
            continue
        cts_out = [instantiate(c, a) for c, a in zip(ct_env.pop(node.id), node.out_avals)]
        cts_in = node.bwd(cts_out) if node.site is None else debug_nans.pull_back(node, cts_out)
        for parent, ct in zip(node.parents, cts_in):
            if parent is None or ct is None:
                continue
            pnode, idx = parent
            slot = ct_env.setdefault(pnode.id, [None] * len(pnode.out_avals))
            slot[idx] = add_tangents(slot[idx], ct)
    return [ct_env.get(n.id, [None])[0] for n in in_nodes]


def vjp_flat(f: Callable, primals: list) -> tuple[list, Callable]:
    """Run ``f`` recording a tape; return its outputs and a function from cts to input cts."""
    with new_main(VJPTrace) as main:
        trace = VJPTrace(main)
        in_nodes = [VJPNode([], None, [get_aval(p)], "input") for p in primals]
        tracers_in = [VJPTracer(trace, p, n, 0) for p, n in zip(primals, in_nodes)]
        outs = f(*tracers_in)
        tracers_out = [trace.full_raise(o) for o in outs]
    primals_out = [t.primal for t in tracers_out]
    out_refs = [(t.node, t.idx) if t.node is not None else None for t in tracers_out]

    def f_vjp(cts):
        cts_in = backward_pass(out_refs, list(cts), in_nodes)
        return [
            _match_aval(instantiate(c, n.out_avals[0]), n.out_avals[0])
            for c, n in zip(cts_in, in_nodes)
        ]

    return primals_out, f_vjp


def _match_aval(ct, aval):
    """Cotangents take the primal's dtype and weak type (as in JAX)."""
    a = get_aval(ct)
    if (a.dtype, a.weak_type) != (aval.dtype, aval.weak_type) and aval.dtype.kind in "fc":
        return ops["convert"](ct, aval.dtype, aval.weak_type)
    return ct


# ---- helpers for families of rules ----------------------------------------------------------


def defjvp(prim, *jvp_fns):
    """jvp from one function per input: ``fn(tangent, *primals, **params) -> tangent_out``."""

    def rule(primals, tangents, **params):
        out = prim.bind(*primals, **params)
        t_out = None
        for fn, t in zip(jvp_fns, tangents):
            if fn is not None and t is not None:
                t_out = add_tangents(t_out, fn(t, *primals, **params))
        return out, instantiate(t_out, get_aval(out))

    rule.symbolic_zeros = True  # a tangent of None is a known zero: skipped
    jvp_rules[prim] = rule


def defjvp_out(prim, fn):
    """jvp as ``fn(tangent, out, x, **params)`` for unary primitives (uses the output)."""

    def rule(primals, tangents, **params):
        out = prim.bind(*primals, **params)
        return out, fn(tangents[0], out, *primals, **params)

    jvp_rules[prim] = rule


def defvjp_from_jvp_unary(prim, fn):
    """For unary elementwise primitives whose jvp is ``t * d(x)``: vjp is ``ct * d(x)``."""
    vjp_rules[prim] = lambda cts, primals, out, **p: [fn(cts[0], out, *primals, **p)]


def deflinear(prim, transpose_rule):
    """A linear primitive: jvp applies it to the tangents; vjp is its transpose."""

    def jvp(primals, tangents, **params):
        return prim.bind(*primals, **params), prim.bind(*tangents, **params)

    jvp_rules[prim] = jvp
    vjp_rules[prim] = lambda cts, primals, out, **p: transpose_rule(cts[0], *primals, **p)


def defzero(prim):
    """Outputs that do not depend differentiably on inputs (comparisons, integer ops)."""

    def jvp(primals, tangents, **params):
        out = prim.bind(*primals, **params)
        outs = out if prim.multiple_results else [out]
        zs = [zeros_like_aval(get_aval(o)) for o in outs]
        return out, (zs if prim.multiple_results else zs[0])

    jvp_rules[prim] = jvp
    vjp_rules[prim] = lambda cts, primals, out, **p: [None] * len(primals)
