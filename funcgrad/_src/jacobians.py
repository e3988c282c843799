"""Jacobians and Hessians from the two modes: ``jacfwd`` (a vmapped jvp over the input
basis), ``jacrev``/``jacobian`` (a vmapped vjp over the output basis), ``hessian``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from funcgrad import tree_util as tu
from funcgrad._src.api_util import (
    _argnums_tuple,
    _check_differentiable,
    _check_holomorphic_inputs,
    _check_output_dtypes,
    _flatten_args,
)
from funcgrad._src.array import array_from_user, get_aval
from funcgrad._src.forward_mode import jvp
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
from funcgrad._src.reverse_mode import vjp
from funcgrad._src.vectorization import vmap


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
            part = lsl.slice_in_dim(o, start, start + n, axis=len(oshape) - 1)
            blocks.append(ls.reshape(part, oshape[:-1] + get_aval(x).shape))
            start += n
        rows.append(tu.tree_unflatten(in_tree, blocks))
    return tu.tree_unflatten(out_tree, rows)


def jacfwd(fun: Callable, argnums=0, has_aux: bool = False, holomorphic=False):
    """The Jacobian of ``fun`` by forward mode, as a function (``jax.jacfwd``).

    A ``vmap`` of ``jvp`` over the standard basis of the inputs: one forward pass per input
    element, so it suits functions with few inputs and many outputs.

    Args:
      fun: a function of positional arguments returning a pytree of arrays.
      argnums: the positional argument (int) or arguments (sequence of ints) to
        differentiate with respect to; each may be a pytree of arrays.
      has_aux: ``fun`` returns ``(output, aux)``; the Jacobian function then returns
        ``(jacobian, aux)``.
      holomorphic: ``fun`` is holomorphic: its inputs (and outputs) must be complex.
        Without it, real and complex inputs are accepted (complex outputs too).

    Returns:
      A function of positional arguments only (keyword arguments are not accepted, unlike
      JAX) returning the Jacobian: for each output leaf of shape ``out`` and input leaf of
      shape ``in``, an array of shape ``out + in``, nested as the output pytree holding the
      input pytree (a tuple over ``argnums`` when it is a sequence).

    Raises:
      TypeError: (when called) if a differentiated input is an integer (there is no
        ``allow_int``), or, with ``holomorphic``, real.
      ValueError: (also a TypeError) if an ``argnums`` entry is out of range.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.jacfwd(lambda x: x ** 2)(fnp.array([1.0, 2.0]))
    Array([[2., 0.],
           [0., 4.]], dtype=float32)
    """

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
    """The Jacobian of ``fun`` by reverse mode, as a function (``jax.jacrev``).

    A ``vmap`` of ``vjp`` over the standard basis of the outputs: one backward pass per
    output element, so it suits functions with many inputs and few outputs.
    ``jacobian`` is the same function.

    Args:
      fun: a function of positional arguments returning a pytree of arrays.
      argnums: the positional argument (int) or arguments (sequence of ints) to
        differentiate with respect to; each may be a pytree of arrays.
      has_aux: ``fun`` returns ``(output, aux)``; the Jacobian function then returns
        ``(jacobian, aux)``.
      holomorphic: ``fun`` is holomorphic: its inputs (and outputs) must be complex.
        Without it, the outputs must be real.
      allow_int: allow integer inputs among ``argnums`` (their Jacobian blocks are integer
        zeros; JAX gives ``float0``).

    Returns:
      A function of positional arguments only (keyword arguments are not accepted, unlike
      JAX) returning the Jacobian: for each output leaf of shape ``out`` and input leaf of
      shape ``in``, an array of shape ``out + in``, nested as the output pytree holding the
      input pytree (a tuple over ``argnums`` when it is a sequence).

    Raises:
      TypeError: (when called) if a differentiated input is an integer without
        ``allow_int``; if an output is complex without ``holomorphic``, or an input or
        output is real with it.
      ValueError: (also a TypeError) if an ``argnums`` entry is out of range.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.jacrev(lambda x: fnp.sum(x) * x)(fnp.array([1.0, 2.0]))
    Array([[4., 1.],
           [2., 5.]], dtype=float32)
    """

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
    reshape, slice_in_dim = ls.reshape, lsl.slice_in_dim
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
    """The Hessian of a scalar function, as ``jacfwd(jacrev(fun))`` (``jax.hessian``).

    Args:
      fun: a function of positional arguments returning a real scalar (or
        ``(scalar, aux)`` with ``has_aux``).
      argnums: the positional argument (int) or arguments (sequence of ints) to
        differentiate with respect to; each may be a pytree of arrays.
      has_aux: ``fun`` returns ``(output, aux)``; the Jacobian function then returns
        ``(jacobian, aux)``.
      holomorphic: ``fun`` is holomorphic: its inputs (and outputs) must be complex.

    Returns:
      A function of positional arguments returning the Hessian: for an input leaf of shape
      ``s``, an array of shape ``s + s`` (nested pytrees of blocks for several inputs or
      ``argnums``); with ``has_aux``, ``(hessian, aux)``.

    Raises:
      TypeError: (when called) as :func:`jacrev` and :func:`jacfwd`: integer inputs,
        complex outputs without ``holomorphic``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.hessian(lambda x: fnp.sum(x ** 3))(fnp.array([1.0, 2.0]))
    Array([[ 6.,  0.],
           [ 0., 12.]], dtype=float32)
    """
    return jacfwd(
        jacrev(fun, argnums, has_aux=has_aux, holomorphic=holomorphic),
        argnums,
        has_aux=has_aux,
        holomorphic=holomorphic,
    )
