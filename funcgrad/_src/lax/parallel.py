"""Collectives over named axes (``jax.lax``'s parallel operators).

``psum``, ``pmax``, ``pmin``, ``all_gather``, ``psum_scatter``, ``ppermute``, ``all_to_all``,
``pbroadcast`` and ``axis_index`` are primitives whose ``axis_name`` names an axis bound by
``vmap(..., axis_name=...)``; ``pmean`` and ``axis_size`` are built from them. ``core.bind``
sends a collective to the vmap that binds its axis even when no argument is batched there
(``core._axis_trace``). That vmap's rule (``batching.axis_vmap_rules``) turns the collective
into an ordinary reduction, transpose or gather over the batch axis, so under ``jit`` it
compiles and fuses as any other op. A vmap over another axis batches it as usual
(``batching.vmap_rules``). Outside every binding vmap a collective raises
``NameError: unbound axis name``. This module: the shared machinery, the reductions
(psum, pmax, pmin, pmean), pbroadcast, axis_index, axis_size; ``parallel_data.py``: the
collectives that move data (all_gather, psum_scatter, ppermute, all_to_all).
"""

from __future__ import annotations

import threading

from funcgrad import tree_util as tu
from funcgrad._src.axis_env import axis_frame, axis_names_rules
from funcgrad._src.core import prod
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax.common import (
    Primitive,
    ShapedArray,
    Tracer,
    abstract_eval_rules,
    ad,
    as_operand,
    batching,
    dtypes,
    get_aval,
    impl_rules,
    np,
    weak_type_rules,
)
from funcgrad._src.lax.composites import index_in_dim

# ---- shared helpers ------------------------------------------------------------------------------


def _names(axis_name) -> tuple:
    return tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)


def _check_bound(names) -> None:
    for n in names:
        axis_frame(n)  # NameError: unbound axis name


def _no_groups(axis_index_groups, what: str) -> None:
    if axis_index_groups is not None:
        raise NotImplementedError(
            f"{what}: axis_index_groups is not supported by funcgrad (only whole axes); "
            f"split the axis with nested vmaps and name the inner one instead"
        )


def _single(names: tuple, what: str):
    if len(names) != 1:
        raise NotImplementedError(
            f"{what} over several axis names {names} is not supported (as jax.vmap); "
            f"apply it once per name"
        )
    return names[0]


class _DeviceContext(threading.local):
    """Set by pmap/shard_map in each device thread: ``comm.binds(names)``, and
    ``comm.exchange(prim, args, params)`` runs a collective among the devices."""

    comm = None


device_context = _DeviceContext()


def _unbound_impl(prim, names_of):
    """Eagerly, a collective is a host exchange among pmap/shard_map's device threads;
    anywhere else its axis is unbound."""

    def impl(*args, **params):
        comm = device_context.comm
        if comm is not None and comm.binds(names_of(params)):
            return comm.exchange(prim, args, params)
        _check_bound(names_of(params))
        raise RuntimeError(f"internal: {prim} reached its eager implementation while bound")

    impl_rules[prim] = impl


def _register(prim, names_of, abstract, vmap_rule, axis_rule, weak=None):
    """The rules every collective has: axis names, abstract eval (checks the names are bound),
    an eager impl that raises (unbound), batching over other axes and over its own."""
    axis_names_rules[prim] = lambda **p: names_of(p)

    def checked(*avals, **params):
        comm = device_context.comm  # (a pmap device's eager step: bound by its communicator)
        if comm is None or not comm.binds(names_of(params)):
            _check_bound(names_of(params))
        return abstract(*avals, **params)

    abstract_eval_rules[prim] = checked
    _unbound_impl(prim, names_of)
    batching.vmap_rules[prim] = vmap_rule
    batching.axis_vmap_rules[prim] = axis_rule
    weak_type_rules[prim] = weak or (lambda w, **p: bool(w and w[0]))


def _move(x, src, dst):
    return x if src == dst else ls.moveaxis(x, src, dst)


def _split_axis(x, axis, parts):
    """Reshape ``axis`` into ``(parts, size // parts)``."""
    shape = get_aval(x).shape
    return ls.reshape(x, shape[:axis] + (parts, shape[axis] // parts) + shape[axis + 1 :])


def _fold_axis(x, axis):
    """Merge ``axis`` and ``axis + 1`` (row-major: ``axis`` is the major index)."""
    shape = get_aval(x).shape
    merged = shape[axis] * shape[axis + 1]
    return ls.reshape(x, shape[:axis] + (merged,) + shape[axis + 2 :])


def _broadcast_batch(x, d, size):
    """``x`` with its batch axis at 0 (materialised when ``x`` is not batched)."""
    return batching.bdim_at_front(x, d, size)


def _same_vmap(prim):
    """Batching over an axis the collective does not name: it acts elementwise along it."""

    def rule(vals, dims, axis_size, **params):
        return prim.bind(vals[0], **params), dims[0]

    return rule


# ---- psum, pmax, pmin ----------------------------------------------------------------------------


def _allreduce(name, reduce, if_unmapped):
    prim = Primitive(name)

    def axis_rule(axis, vals, dims, axes):
        (x,), (d,) = vals, dims
        rest = tuple(n for n in axes if n != axis.name)
        y = if_unmapped(x, axis.size) if d is None else reduce(x, (d,))
        return (prim.bind(y, axes=rest) if rest else y), None

    _register(
        prim,
        lambda p: p["axes"],
        lambda x, axes: x.update(weak_type=False),
        _same_vmap(prim),
        axis_rule,
        weak=lambda w, **p: False,
    )
    return prim


def _times(x, n):
    return le.mul(x, ls.full_like(x, n))


psum_p = _allreduce("psum", lr.reduce_sum, _times)
pmax_p = _allreduce("pmax", lr.reduce_max, lambda x, n: x)
pmin_p = _allreduce("pmin", lr.reduce_min, lambda x, n: x)
ad.deflinear(psum_p, lambda ct, x, axes: [psum_p.bind(ct, axes=axes)])


def _chooser_weights(x, out, axes):
    """Equal split among the members that attain the max/min (as reduce_max's jvp)."""
    hit = le.convert_element_type(le.eq(x, out), get_aval(x).dtype)
    return le.div(hit, psum_p.bind(hit, axes=axes))


def _defchooser(prim):
    def jvp(primals, tangents, axes):
        out = prim.bind(primals[0], axes=axes)
        w = _chooser_weights(primals[0], out, axes)
        return out, psum_p.bind(le.mul(tangents[0], w), axes=axes)

    def vjp(cts, primals, out, axes):
        w = _chooser_weights(primals[0], out, axes)
        return [le.mul(psum_p.bind(cts[0], axes=axes), w)]

    ad.jvp_rules[prim] = jvp
    ad.vjp_rules[prim] = vjp


_defchooser(pmax_p)
_defchooser(pmin_p)


def _prep(leaf):
    leaf = as_operand(leaf)
    if get_aval(leaf).dtype == np.bool_:  # as JAX: booleans are summed as int32
        leaf = le.convert_element_type(leaf, np.int32)
    return leaf


def psum(x, axis_name, *, axis_index_groups=None):
    """All-reduce sum of ``x`` over the named axis (``jax.lax.psum``).

    Every member of the axis gets the sum of ``x`` over all members. Under
    ``vmap(..., axis_name=...)`` this is a sum over the batch axis, broadcast back.

    Args:
      x: an array or a pytree of arrays (booleans are summed as int32). A Python number
        gives ``number * axis_size``, as in JAX (so ``psum(1, name)`` is the axis size).
      axis_name: a name bound by an enclosing ``vmap``, or a tuple of names (summed over
        all of them).
      axis_index_groups: not supported (must be None).

    Returns:
      ``x``'s structure, each leaf the sum over the axis (same shape and dtype).

    Raises:
      NameError: if a name is not bound by an enclosing vmap.
      NotImplementedError: if ``axis_index_groups`` is given.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.vmap(lambda v: v / fg.lax.psum(v, "i"), axis_name="i")(fnp.arange(4.0))
    Array([0.        , 0.16666667, 0.33333334, 0.5       ], dtype=float32)
    """
    _no_groups(axis_index_groups, "psum")
    names = _names(axis_name)

    def one(leaf):
        if not isinstance(leaf, Tracer) and not hasattr(leaf, "_value"):
            return _constant_psum(leaf, names)
        return psum_p.bind(_prep(leaf), axes=names)

    return tu.tree_map(one, x)


def _constant_psum(leaf, names):
    """A Python number (or numpy value) times the axes' size, as JAX does for constants."""
    n = axis_size(names)
    if isinstance(leaf, (bool, int, float, complex)) and not isinstance(leaf, np.generic):
        return type(leaf)(leaf * n) if not isinstance(leaf, bool) else int(leaf) * n
    return psum_p.bind(_prep(leaf), axes=names)


def pmax(x, axis_name, *, axis_index_groups=None):
    """All-reduce maximum of ``x`` over the named axis (``jax.lax.pmax``).

    Args:
      x: an array or a pytree of arrays.
      axis_name: a name bound by an enclosing ``vmap``, or a tuple of names.
      axis_index_groups: not supported (must be None).

    Returns:
      ``x``'s structure, each leaf the maximum over the axis. Its derivative splits equally
      among the members attaining the maximum (as ``reduce_max``; JAX has none).

    Raises:
      NameError: if a name is not bound by an enclosing vmap.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.vmap(lambda v: fg.lax.pmax(v, "i"), axis_name="i")(fnp.array([1.0, 3.0, 2.0]))
    Array([3., 3., 3.], dtype=float32)
    """
    _no_groups(axis_index_groups, "pmax")
    return tu.tree_map(lambda v: pmax_p.bind(as_operand(v), axes=_names(axis_name)), x)


def pmin(x, axis_name, *, axis_index_groups=None):
    """All-reduce minimum of ``x`` over the named axis (``jax.lax.pmin``).

    Args:
      x: an array or a pytree of arrays.
      axis_name: a name bound by an enclosing ``vmap``, or a tuple of names.
      axis_index_groups: not supported (must be None).

    Returns:
      ``x``'s structure, each leaf the minimum over the axis.

    Raises:
      NameError: if a name is not bound by an enclosing vmap.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.vmap(lambda v: fg.lax.pmin(v, "i"), axis_name="i")(fnp.array([1.0, 3.0, 2.0]))
    Array([1., 1., 1.], dtype=float32)
    """
    _no_groups(axis_index_groups, "pmin")
    return tu.tree_map(lambda v: pmin_p.bind(as_operand(v), axes=_names(axis_name)), x)


def pmean(x, axis_name, *, axis_index_groups=None):
    """All-reduce mean of ``x`` over the named axis (``jax.lax.pmean``).

    Args:
      x: an array or a pytree of arrays (integers give the default float dtype, as
        ``x / n`` does in JAX).
      axis_name: a name bound by an enclosing ``vmap``, or a tuple of names.
      axis_index_groups: not supported (must be None).

    Returns:
      ``x``'s structure, each leaf the mean over the axis.

    Raises:
      NameError: if a name is not bound by an enclosing vmap.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.vmap(lambda v: fg.lax.pmean(v, "i"), axis_name="i")(fnp.array([1.0, 3.0, 2.0]))
    Array([2., 2., 2.], dtype=float32)
    """
    n = axis_size(axis_name)
    _no_groups(axis_index_groups, "pmean")

    def one(leaf):
        s = as_operand(psum(leaf, axis_name))
        if get_aval(s).dtype.kind not in "fc":
            s = le.convert_element_type(s, dtypes.default_float())
        return le.div(s, ls.full_like(s, n))

    return tu.tree_map(one, x)


def axis_size(axis_name) -> int:
    """The size of a named axis, or the product of the sizes of a tuple of names.

    Args:
      axis_name: a name bound by an enclosing ``vmap``, or a tuple of names.

    Returns:
      A Python int.

    Raises:
      NameError: if a name is not bound by an enclosing vmap.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.vmap(lambda v: v * fg.lax.axis_size("i"), axis_name="i")(fnp.ones(3))
    Array([3., 3., 3.], dtype=float32)
    """
    return prod([axis_frame(n).size for n in _names(axis_name)])


# ---- pbroadcast ----------------------------------------------------------------------------------

pbroadcast_p = Primitive("pbroadcast")


def _pbroadcast_axis_rule(axis, vals, dims, axis_name, source):
    (x,), (d,) = vals, dims
    _single(axis_name, "pbroadcast")
    if d is None:
        return x, None
    return index_in_dim(x, source, d, keepdims=False), None


def _pbroadcast_transpose(ct, x, axis_name, source):
    is_source = le.eq(axis_index(axis_name), ls.full((), source, np.int32))
    total = psum_p.bind(ct, axes=axis_name)
    zero = ls.full_like(total, 0)
    return [le.select(ls.broadcast_in_dim(is_source, get_aval(total).shape, ()), total, zero)]


_register(
    pbroadcast_p,
    lambda p: p["axis_name"],
    lambda x, axis_name, source: x,
    _same_vmap(pbroadcast_p),
    _pbroadcast_axis_rule,
)
ad.deflinear(pbroadcast_p, _pbroadcast_transpose)


def pbroadcast(x, axis_name, source):
    """Every member of the named axis gets member ``source``'s ``x`` (``jax.lax.pbroadcast``).

    Args:
      x: an array or a pytree of arrays.
      axis_name: a name bound by an enclosing ``vmap`` (one name).
      source: the index (along the axis) of the member whose value is copied.

    Returns:
      ``x``'s structure, each leaf member ``source``'s value.

    Raises:
      NameError: if the name is not bound by an enclosing vmap.
      ValueError: if ``source`` is outside the axis.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.vmap(lambda v: fg.lax.pbroadcast(v, "i", 1), axis_name="i")(fnp.arange(3.0))
    Array([1., 1., 1.], dtype=float32)
    """
    names = _names(axis_name)
    n = axis_size(names)
    if not 0 <= int(source) < n:
        raise ValueError(f"pbroadcast source {source} is outside the axis size {n}")
    return tu.tree_map(
        lambda v: pbroadcast_p.bind(as_operand(v), axis_name=names, source=int(source)), x
    )


# ---- axis_index ----------------------------------------------------------------------------------

axis_index_p = Primitive("axis_index")


def _axis_index_vmap(vals, dims, axis_size, axis_name):
    return axis_index_p.bind(axis_name=axis_name), None  # never batched (it has no operand)


_register(
    axis_index_p,
    lambda p: (p["axis_name"],),
    lambda axis_name: ShapedArray((), np.dtype(np.int32)),
    _axis_index_vmap,
    lambda axis, vals, dims, axis_name: (ls.iota(np.int32, axis.size), 0),
    weak=lambda w, **p: False,
)
ad.defzero(axis_index_p)


def axis_index(axis_name):
    """This member's index along the named axis (``jax.lax.axis_index``), as int32.

    Args:
      axis_name: a name bound by an enclosing ``vmap``, or a tuple of names (the index in
        the row-major flattening of those axes, the first name major).

    Returns:
      An int32 scalar.

    Raises:
      NameError: if a name is not bound by an enclosing vmap.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.vmap(lambda v: v * fg.lax.axis_index("i"), axis_name="i")(fnp.ones(3))
    Array([0., 1., 2.], dtype=float32)
    """
    if not isinstance(axis_name, (tuple, list)):
        return axis_index_p.bind(axis_name=axis_name)
    index, inner = None, 1
    for name in reversed(tuple(axis_name)):
        term = le.mul(axis_index(name), ls.full((), inner, np.int32))
        index = term if index is None else le.add(index, term)
        inner *= axis_size(name)
    return ls.full((), 0, np.int32) if index is None else index
