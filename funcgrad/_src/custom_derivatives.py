"""Derivative control: the ``stop_gradient`` primitive and its rules, ``custom_jvp`` and
``custom_vjp`` (functions with user-given derivative rules, staged as call primitives)."""

from __future__ import annotations

import functools
import inspect
import operator
from collections.abc import Callable, Sequence

from funcgrad import tree_util as tu
from funcgrad._src import ad, batching, core
from funcgrad._src.api_util import _as_array, _flatten_args, _fun_name
from funcgrad._src.array import get_aval
from funcgrad._src.core import Tracer, trace_to_jaxpr
from funcgrad._src.forward_mode import _match_dtype
from funcgrad._src.lax.call import custom_jvp_call_p, custom_vjp_call_p
from funcgrad._src.lax.common import Primitive

stop_gradient_p = Primitive("stop_gradient")
core.impl_rules[stop_gradient_p] = lambda x: x
core.abstract_eval_rules[stop_gradient_p] = lambda x: x
ad.defzero(stop_gradient_p)
batching.defvectorized(stop_gradient_p)


def stop_gradient(x):
    """The identity, with a zero derivative (``jax.lax.stop_gradient``).

    Args:
      x: an array, Python scalar or pytree of them.

    Returns:
      ``x`` with every leaf as a funcgrad array (Python scalars converted, weakly typed);
      floating and complex leaves are wrapped in the ``stop_gradient`` primitive, so no
      derivative flows through them; integer and bool leaves are returned unchanged.

    Raises:
      TypeError: if a leaf is not an array type.

    >>> import funcgrad as fg
    >>> fg.grad(lambda x: x * fg.stop_gradient(x))(3.0)
    Array(3., dtype=float32, weak_type=True)
    """

    def one(v):
        v = _as_array(v)
        if get_aval(v).dtype.kind not in "fc":
            return v
        return stop_gradient_p.bind(v)

    return tu.tree_map(one, x)


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


def _rule_only(flat) -> bool:
    """True when the innermost transformation of the arguments is jvp or grad and it
    differentiates them (a nonzero tangent, a recorded node): JAX then calls only the rule,
    never the primal function (whose jaxpr is not needed: no tracing)."""
    trace = core.find_top_trace(flat)
    mine = [x for x in flat if isinstance(x, Tracer) and x._trace.main is trace.main]
    if isinstance(trace, ad.JVPTrace):
        return any(not x.zero for x in mine)
    if isinstance(trace, ad.VJPTrace):
        return any(x.node is not None for x in mine)
    return False


def _stage_custom(obj, args):
    """Split the arguments and trace the primal when a transformation needs its jaxpr.

    Returns None when no argument is traced (``fun`` then just runs), else
    ``(nd, diff, flat, in_tree, n, store, jaxpr, consts)`` with ``jaxpr`` None (and no
    consts) when only the rule will run (see :func:`_rule_only`).
    """
    nd, diff = _split_nondiff(args, obj.nondiff_argnums)
    flat, in_tree = _flatten_args(tuple(diff))
    if not _has_tracers(flat):
        return None
    n = len(args)
    store = {}
    if _rule_only(flat):
        return nd, diff, flat, in_tree, n, store, None, []
    fun = lambda *d: obj.fun(*_merge_nondiff(nd, d, obj.nondiff_argnums, n))  # noqa: E731
    jaxpr, consts = _trace_flat(fun, flat, in_tree, store)
    return nd, diff, flat, in_tree, n, store, jaxpr, consts


class custom_jvp:
    """A function with a user-defined jvp rule (``jax.custom_jvp``).

    Used as a decorator; register the rule with :meth:`defjvp` (or :meth:`defjvps`).
    Reverse mode is derived by linearising and transposing the rule, so the tangent
    output must be linear in the tangents. As in JAX, under ``grad``/``jvp``/``vjp`` only the
    rule runs (never ``fun``; without ``jit`` its primals are concrete, so Python control
    flow on them works); ``fun`` runs when called with no traced argument, and is traced
    under ``jit``/``vmap``. Keyword arguments are bound to positions by ``fun``'s signature. Calling
    before a rule is defined raises ``AttributeError``.

    Args:
      fun: the primal function of positional arguments (pytrees of arrays).
      nondiff_argnums: positions of arguments that are not differentiated (Python values
        or arrays); they are passed first to the jvp rule.

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
        """Set the jvp rule (usable as a decorator).

        Args:
          jvp: ``jvp(*nondiff_args, primals, tangents) -> (primal_out, tangent_out)``,
            ``primals`` and ``tangents`` tuples of the differentiable arguments; the outputs
            have ``fun``'s output structure.
          symbolic_zeros: accepted and ignored (zero tangents arrive as zero arrays).

        Returns:
          ``jvp`` itself.
        """
        self.jvp = jvp
        return jvp

    def defjvps(self, *jvps) -> None:
        """Set the jvp rule from one function per argument (summed, as ``jax``'s ``defjvps``).

        Args:
          *jvps: for each positional argument, ``None`` (no contribution) or
            ``f(tangent, primal_out, *primals)`` giving that argument's contribution to the
            output tangent. Not usable with ``nondiff_argnums``.
        """

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
            store.setdefault("tree", tu.tree_structure(out))
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
    """A function with a user-defined reverse-mode rule (``jax.custom_vjp``).

    Used as a decorator; register the rule with :meth:`defvjp`. As in JAX, under ``grad``/
    ``vjp`` only ``fwd`` and ``bwd`` run (never ``fun``); ``fun`` runs when called with no
    traced argument, and is traced under ``jit``/``vmap``. Keyword arguments are bound to
    positions by ``fun``'s signature. Calling before a rule is defined raises ``AttributeError``.

    Args:
      fun: the primal function of positional arguments (pytrees of arrays).
      nondiff_argnums: positions of arguments that are not differentiated; they are passed
        first to ``bwd``.

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

    def defvjp(self, fwd: Callable, bwd: Callable, symbolic_zeros: bool = False) -> None:
        """Set the forward and backward functions of the rule.

        Args:
          fwd: ``fwd(*args) -> (output, residuals)``, called with all of ``fun``'s arguments;
            ``output`` must equal ``fun(*args)``, ``residuals`` is any pytree for ``bwd``.
          bwd: ``bwd(*nondiff_args, residuals, output_cotangent)`` returning a tuple with one
            cotangent per differentiable argument (``None`` for zero); another length
            raises TypeError when differentiated.
          symbolic_zeros: accepted and ignored.
        """
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
            store.setdefault("tree", tu.tree_structure(out))
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
