"""Reverse mode at the API boundary: ``vjp``, ``grad``, ``value_and_grad``. Pytrees are
flattened here; ``ad.vjp_flat`` records and replays the tape on flat lists."""

from __future__ import annotations

import functools
from collections.abc import Callable

from funcgrad import tree_util as tu
from funcgrad._src import ad
from funcgrad._src.api_util import (
    _argnums_tuple,
    _as_array,
    _check_differentiable,
    _check_holomorphic_inputs,
    _flatten_args,
    _fun_name,
)
from funcgrad._src.array import get_aval
from funcgrad._src.lax import structural as ls


def vjp(fun: Callable, *primals, has_aux: bool = False):
    """Reverse mode: evaluate ``fun`` at ``primals`` and return its pullback (``jax.vjp``).

    Args:
      fun: a function of ``len(primals)`` positional arguments (pytrees of arrays) returning
        a pytree of arrays (with ``has_aux``: a pair ``(output, aux)``).
      *primals: the point to differentiate at: arrays, numpy arrays, Python scalars or
        pytrees of them.
      has_aux: ``fun`` returns ``(output, aux)``; ``aux`` is returned as is, not
        differentiated.

    Returns:
      ``(fun(*primals), vjp_fn)``, or ``(output, vjp_fn, aux)`` with ``has_aux``.
      ``vjp_fn(ct)`` takes a cotangent with the output's structure, shapes and dtypes (a
      weakly-typed scalar adopts the output's dtype) and returns a tuple with one cotangent
      per primal, each shaped like that primal (integer primals get integer zeros, where JAX
      gives ``float0``). ``vjp_fn`` raises ValueError for a cotangent of another structure,
      shape or floating dtype.

    Raises:
      TypeError: with ``has_aux=True``, if ``fun`` does not return a pair; if an argument is
        not an array type.

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
    """A function computing both ``fun(*args)`` and its gradient (``jax.value_and_grad``).

    Args:
      fun: a function returning a real scalar (shape ``()``, floating dtype; complex with
        ``holomorphic``), or ``(scalar, aux)`` with ``has_aux``. Keyword arguments of the
        returned function are passed to ``fun`` and not differentiated.
      argnums: the positional argument (int) or arguments (sequence of ints, negative
        allowed) to differentiate with respect to. Each may be a pytree of arrays.
      has_aux: ``fun`` returns ``(output, aux)``; ``aux`` is returned alongside, not
        differentiated.
      holomorphic: ``fun`` is holomorphic: inputs and output must be complex and the
        gradient is the complex derivative ``f'(z)``.
      allow_int: allow integer (or bool) inputs among ``argnums``; their gradient is an
        integer zero array of the input's shape and dtype (JAX returns ``float0`` zeros).

    Returns:
      A function with ``fun``'s signature returning ``(value, grad)`` (with ``has_aux``:
      ``((value, aux), grad)``). ``grad`` has the structure of ``args[argnums]`` for an int
      ``argnums``, else a tuple with one entry per listed argument.

    Raises:
      TypeError: (when the returned function is called) if the output is not a scalar, has
        an integer dtype, is complex without ``holomorphic`` or real with it; if an input is
        an integer without ``allow_int`` or real with ``holomorphic``; if an ``argnums``
        entry is out of range for the call (an error that is also a ValueError).

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
    """The gradient of a scalar function, as a function (``jax.grad``).

    Reverse mode (``vjp`` with a cotangent of 1). Differentiating twice
    (``grad(grad(f))``), or under ``jit``/``vmap``, works as in JAX.

    Args:
      fun: a function returning a real scalar (shape ``()``, floating dtype; complex with
        ``holomorphic``), or ``(scalar, aux)`` with ``has_aux``. Keyword arguments of the
        returned function are passed to ``fun`` and not differentiated.
      argnums: the positional argument (int) or arguments (sequence of ints, negative
        allowed) to differentiate with respect to. Each may be a pytree of arrays.
      has_aux: ``fun`` returns ``(output, aux)``; the gradient function then returns
        ``(grad, aux)``.
      holomorphic: ``fun`` is holomorphic: inputs and output must be complex and the
        gradient is the complex derivative ``f'(z)``.
      allow_int: allow integer (or bool) inputs among ``argnums``; their gradient is an
        integer zero array of the input's shape and dtype (JAX returns ``float0`` zeros).

    Returns:
      A function with ``fun``'s signature returning the gradient: the structure, shapes and
      dtypes of ``args[argnums]`` for an int ``argnums``, else a tuple with one entry per
      listed argument (with ``has_aux``: ``(grad, aux)``).

    Raises:
      TypeError: (when the returned function is called) if the output is not a scalar, has
        an integer dtype, is complex without ``holomorphic`` or real with it; if an input is
        an integer without ``allow_int`` or real with ``holomorphic``; if an ``argnums``
        entry is out of range for the call (an error that is also a ValueError).

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
