"""``vmap`` at the API boundary: ``in_axes``/``out_axes`` prefix trees, checks of the mapped
sizes, then ``batching.vmap_flat`` on flat lists."""

from __future__ import annotations

import functools
from collections.abc import Callable

from funcgrad import tree_util as tu
from funcgrad._src import batching
from funcgrad._src.api_util import _as_array, _flatten_args
from funcgrad._src.array import get_aval


def _broadcast_prefix(prefix, tree, what):
    """Expand an in_axes/out_axes prefix tree to one entry per leaf of ``tree``."""
    out = []
    leaves_tree = tu.tree_structure(tree)

    def go(p, t):
        if p is None or isinstance(p, int):
            out.extend([p] * len(tu.tree_leaves(t)))
            return
        pt = tu._node_of(p)
        tt = tu._node_of(t)
        if pt is None or tt is None or pt[0] is not tt[0]:
            raise ValueError(
                f"vmap {what} specification {prefix!r} does not match the "
                f"structure of the arguments {leaves_tree}"
            )
        pc, paux = pt[1].to_iter(p)
        tc, taux = tt[1].to_iter(t)
        if len(pc) != len(tc) or (paux != taux and pt[0] is dict):
            raise ValueError(
                f"vmap {what} specification {prefix!r} does not match the "
                f"structure of the arguments {leaves_tree}"
            )
        for a, b in zip(pc, tc):
            go(a, b)

    go(prefix, tree)
    return out


def vmap(fun: Callable, in_axes=0, out_axes=0, axis_name=None, axis_size=None, spmd_axis_name=None):
    """Vectorise ``fun`` over an axis of its arguments (``jax.vmap``).

    ``fun`` is written for one example; the result maps it over the batch axis without a
    Python loop (every primitive has a batching rule). Composes with grad, jit and vmap.

    Args:
      fun: a function of positional (and keyword) arguments returning a pytree of arrays.
      in_axes: where each positional argument is mapped: an int (every argument, negative
        allowed), ``None`` (not mapped), or a tuple/list with one entry per positional
        argument, each an int, ``None`` or a pytree prefix of that argument (e.g.
        ``({"w": None, "b": 0},)``). Keyword arguments are always mapped over axis 0.
      out_axes: where the batch axis goes in each output: an int (negative allowed),
        ``None`` (only for outputs that do not depend on a mapped input), or a pytree
        prefix of the output. An output that does not depend on a mapped input is
        broadcast along the batch axis.
      axis_name: a hashable name for the mapped axis, so that collectives inside ``fun``
        (``lax.psum``, ``pmean``, ``all_gather``, ``axis_index``, ...) can refer to it; they
        lower to ordinary reductions and gathers over the batch axis.
      axis_size: the batch size; needed when no argument is mapped, else it must equal the
        mapped size.
      spmd_axis_name: accepted for compatibility and ignored (it only names a mesh axis
        for sharding the batch axis under ``jit``; vmap's results do not depend on it).

    Returns:
      A function with ``fun``'s arguments, each mapped argument carrying the extra batch
      axis, returning ``fun``'s outputs with the batch axis at ``out_axes``.

    Raises:
      TypeError: if ``in_axes`` is not an int, None, tuple, list, dict or pytree.
      ValueError: (when called) if ``in_axes``/``out_axes`` do not match the arguments'
        or outputs' structure or are out of bounds, the mapped sizes differ, nothing is
        mapped and ``axis_size`` is not given, or ``out_axes=None`` for a mapped output.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.vmap(lambda v: fnp.dot(v, v))(fnp.ones((3, 2)))
    Array([2., 2., 2.], dtype=float32)
    """
    in_axes = _check_in_axes(in_axes)
    if axis_name is not None:
        hash(axis_name)  # a TypeError now, as in JAX, for an unhashable name

    @functools.wraps(fun)
    def batched(*args, **kwargs):
        f, args, axes = _with_kwargs_mapped(fun, args, kwargs, _positional_axes(in_axes, args))
        flat, in_tree, dims, arg_of_leaf = _flat_in_dims(args, axes)
        size = _mapped_size(flat, dims, arg_of_leaf, axis_size)
        store = {}

        def flat_fun(*xs):
            out = f(*tu.tree_unflatten(in_tree, xs))
            leaves, store["tree"] = tu.tree_flatten(out)
            store["out"] = out
            return [_as_array(x) for x in leaves]

        def out_dims(vals, bdims):
            return _out_dims(out_axes, store.get("out"), vals, bdims)

        outs = batching.vmap_flat(flat_fun, dims, size, flat, out_dims, axis_name=axis_name)
        return tu.tree_unflatten(store["tree"], outs)

    return batched


def _check_in_axes(in_axes):
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if not (
        in_axes is None
        or isinstance(in_axes, (int, tuple, dict))
        or tu._node_of(in_axes) is not None
    ):
        raise TypeError(
            f"vmap in_axes must be an int, None, or a tuple of entries matching "
            f"the positional arguments, got {type(in_axes).__name__}"
        )
    return in_axes


def _positional_axes(in_axes, args) -> tuple:
    """One in_axes entry (a prefix tree) per positional argument."""
    if isinstance(in_axes, tuple) and len(in_axes) != len(args):
        raise ValueError(
            f"vmap in_axes has {len(in_axes)} entries but the function was "
            f"called with {len(args)} positional arguments"
        )
    return in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)


def _with_kwargs_mapped(fun, args, kwargs, axes):
    """As in JAX, keyword arguments are always mapped over their leading axis: they become
    extra positional arguments of a wrapper of ``fun``."""
    if not kwargs:
        return fun, args, axes
    names = tuple(kwargs)
    n_pos = len(args)

    def f(*a):
        return fun(*a[:n_pos], **dict(zip(names, a[n_pos:])))

    return f, args + tuple(kwargs[k] for k in names), axes + (0,) * len(names)


def _flat_in_dims(args, axes):
    """The flat arguments with their batch dimension (None: not mapped), and for each flat
    argument the positional argument it comes from (for error messages)."""
    flat_dims, arg_of_leaf = [], []
    for i, (ax, a) in enumerate(zip(axes, args)):
        arg_of_leaf += [i] * len(tu.tree_leaves(a))
        try:
            flat_dims += _broadcast_prefix(ax, a, "in_axes")
        except ValueError as e:
            raise ValueError(f"{e} (argument {i})") from None
    flat, in_tree = _flatten_args(args)
    dims = []
    for i, (x, d) in enumerate(zip(flat, flat_dims)):
        nd = get_aval(x).ndim
        if d is not None and not -nd <= d < nd:
            raise ValueError(
                f"vmap in_axes={d} is out of bounds for positional argument "
                f"{arg_of_leaf[i]} of shape {get_aval(x).shape} (rank {nd})"
            )
        dims.append(None if d is None else d % nd)
    return flat, in_tree, dims, arg_of_leaf


def _mapped_size(flat, dims, arg_of_leaf, axis_size):
    """The one size of every mapped axis (or ``axis_size`` when nothing is mapped)."""
    sizes = {get_aval(x).shape[d] for x, d in zip(flat, dims) if d is not None}
    if len(sizes) > 1:
        desc = ", ".join(
            f"argument {arg_of_leaf[i]} has size {get_aval(x).shape[d]} "
            f"on axis {d} (shape {get_aval(x).shape})"
            for i, (x, d) in enumerate(zip(flat, dims))
            if d is not None
        )
        raise ValueError(f"vmap got inconsistent sizes for the mapped axes: {desc}")
    if not sizes and axis_size is None:
        raise ValueError(
            "vmap needs at least one mapped input (an in_axes entry that is "
            "not None), or axis_size="
        )
    size = axis_size if not sizes else sizes.pop()
    if axis_size is not None and size != axis_size:
        raise ValueError(f"vmap axis_size={axis_size} differs from the mapped size {size}")
    return size


def _out_dims(out_axes, out, vals, bdims):
    """Where each flat output's batch dimension goes (``out_axes`` as a prefix of ``out``)."""
    wanted = (
        [out_axes] * len(vals)
        if isinstance(out_axes, int) or out_axes is None
        else _broadcast_prefix(out_axes, out, "out_axes")
    )
    for v, d, w in zip(vals, bdims, wanted):
        shp = get_aval(v).shape
        ex = shp if d is None else shp[:d] + shp[d + 1 :]  # one example's shape
        if w is not None and not -(len(ex) + 1) <= w <= len(ex):
            raise ValueError(
                f"vmap out_axes={w} is out of bounds for an output of "
                f"rank {len(ex) + 1} (per-example shape {ex})"
            )
    return [
        w + get_aval(v).ndim + (d is None) if w is not None and w < 0 else w
        for v, d, w in zip(vals, bdims, wanted)
    ]
