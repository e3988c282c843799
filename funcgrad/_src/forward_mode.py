"""Forward mode at the API boundary: ``jvp`` and ``linearize``."""

from __future__ import annotations

from collections.abc import Callable

from funcgrad import tree_util as tu
from funcgrad._src import ad, core
from funcgrad._src.api_util import _as_array, _flatten_args
from funcgrad._src.array import get_aval
from funcgrad._src.core import trace_to_jaxpr
from funcgrad._src.reverse_mode import _lower_finished


def jvp(fun: Callable, primals, tangents, has_aux: bool = False):
    """Forward mode: ``fun(*primals)`` and its directional derivative (``jax.jvp``).

    Args:
      fun: a function of ``len(primals)`` positional arguments returning a pytree of arrays
        (with ``has_aux``: a pair ``(output, aux)``).
      primals: a tuple or list of the arguments (arrays, Python scalars or pytrees of them).
      tangents: a tuple or list with the structure of ``primals``, each leaf of its primal's
        shape and (for floating primals) dtype. Tangents of integer primals are ignored
        (JAX expects ``float0`` there).
      has_aux: ``fun`` returns ``(output, aux)``; ``aux`` is returned as is.

    Returns:
      ``(primals_out, tangents_out)``: ``fun(*primals)`` and ``J @ tangents``, with the
      output's structure; with ``has_aux``, ``(primals_out, tangents_out, aux)``.

    Raises:
      TypeError: if ``primals`` or ``tangents`` is not a tuple or list, or a tangent's dtype
        differs from its floating primal's.
      ValueError: if the two structures differ or a tangent's shape differs from its
        primal's.

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
    """``fun(*primals)`` and its linear map at ``primals`` (``jax.linearize``).

    The primal work is done once: ``f_jvp`` evaluates a jaxpr of tangent operations only.
    JAX's ``has_aux`` is not supported.

    Args:
      fun: a function of ``len(primals)`` positional arguments returning a pytree of arrays.
      *primals: the point to linearize at (arrays, Python scalars or pytrees of them).

    Returns:
      ``(fun(*primals), f_jvp)``. ``f_jvp(*tangents)`` takes tangents with the structure
      and shapes of ``primals`` (cast to the primals' floating dtypes) and returns
      ``J @ tangents`` with the output's structure; it raises ValueError for another
      structure or shape.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> y, f_jvp = fg.linearize(fnp.sin, 0.0)
    >>> f_jvp(3.0)
    Array(3., dtype=float32)
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

    # not omnistaged: the primal work runs now, only tangent operations are staged
    jaxpr, consts = trace_to_jaxpr(tangent_fun, [get_aval(p) for p in p_flat], dynamic=False)
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
