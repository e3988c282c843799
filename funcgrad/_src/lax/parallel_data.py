"""Collectives that move data between the members of a named axis: ``all_gather``,
``psum_scatter`` (reduce_scatter), ``ppermute``, ``all_to_all`` (see ``parallel.py``)."""

from __future__ import annotations

from funcgrad import tree_util as tu
from funcgrad._src.core import canonicalize_axis
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax.common import Primitive, ad, as_operand, get_aval, np
from funcgrad._src.lax.indexing import gather
from funcgrad._src.lax.parallel import (
    _broadcast_batch,
    _fold_axis,
    _move,
    _names,
    _no_groups,
    _prep,
    _register,
    _same_vmap,
    _single,
    _split_axis,
    _times,
    axis_size,
)

# ---- all_gather and psum_scatter (reduce_scatter) ------------------------------------------------

all_gather_p = Primitive("all_gather")
reduce_scatter_p = Primitive("reduce_scatter")


def _gather_abstract(x, all_gather_dimension, axis_name, size, tiled):
    shape = list(x.shape)
    if tiled:
        shape[all_gather_dimension] *= size
    else:
        shape.insert(all_gather_dimension, size)
    return x.update(shape=tuple(shape), weak_type=False)


def _gather_vmap(vals, dims, axis_size, all_gather_dimension, tiled, **p):
    (x,), (d,) = vals, dims
    if d <= all_gather_dimension:
        all_gather_dimension += 1
    elif not tiled:
        d += 1
    out = all_gather_p.bind(x, all_gather_dimension=all_gather_dimension, tiled=tiled, **p)
    return out, d


def _gather_axis_rule(axis, vals, dims, all_gather_dimension, axis_name, size, tiled):
    """Over the vmap's own axis: the batch axis becomes the gathered axis."""
    (x,), (d,) = vals, dims
    _single(axis_name, "all_gather")
    y = _move(_broadcast_batch(x, d, axis.size), 0, all_gather_dimension)
    return (_fold_axis(y, all_gather_dimension) if tiled else y), None


def _scatter_abstract(x, scatter_dimension, axis_name, size, tiled):
    shape = list(x.shape)
    n = shape[scatter_dimension]
    if tiled and n % size:
        raise ValueError(
            f"psum_scatter(tiled=True): the scatter dimension's size {n} must be divisible "
            f"by the size {size} of axis {axis_name}"
        )
    if not tiled and n != size:
        raise ValueError(
            f"psum_scatter: the scatter dimension's size {n} must equal the size "
            f"{size} of axis {axis_name} (or use tiled=True)"
        )
    if tiled:
        shape[scatter_dimension] = n // size
    else:
        del shape[scatter_dimension]
    return x.update(shape=tuple(shape), weak_type=False)


def _scatter_vmap(vals, dims, axis_size, scatter_dimension, tiled, **p):
    (x,), (d,) = vals, dims
    if d <= scatter_dimension:
        scatter_dimension += 1
    elif not tiled:
        d += 1
    out = reduce_scatter_p.bind(x, scatter_dimension=scatter_dimension, tiled=tiled, **p)
    return out, d


def _scatter_axis_rule(axis, vals, dims, scatter_dimension, axis_name, size, tiled):
    """Over the vmap's own axis: sum over the batch axis; member i keeps block i."""
    (x,), (d,) = vals, dims
    _single(axis_name, "psum_scatter")
    y = _times(x, axis.size) if d is None else lr.reduce_sum(x, (d,))
    if tiled:
        y = _split_axis(y, scatter_dimension, axis.size)
    return y, scatter_dimension


_register(all_gather_p, lambda p: p["axis_name"], _gather_abstract, _gather_vmap, _gather_axis_rule)
_register(
    reduce_scatter_p,
    lambda p: p["axis_name"],
    _scatter_abstract,
    _scatter_vmap,
    _scatter_axis_rule,
)


def _gather_transpose(ct, x, all_gather_dimension, axis_name, size, tiled):
    p = dict(axis_name=axis_name, size=size, tiled=tiled)
    return [reduce_scatter_p.bind(ct, scatter_dimension=all_gather_dimension, **p)]


def _scatter_transpose(ct, x, scatter_dimension, axis_name, size, tiled):
    p = dict(axis_name=axis_name, size=size, tiled=tiled)
    return [all_gather_p.bind(ct, all_gather_dimension=scatter_dimension, **p)]


ad.deflinear(all_gather_p, _gather_transpose)
ad.deflinear(reduce_scatter_p, _scatter_transpose)


def all_gather(x, axis_name, *, axis_index_groups=None, axis=0, tiled=False):
    """Gather ``x`` from every member of the named axis (``jax.lax.all_gather``).

    Args:
      x: an array or a pytree of arrays.
      axis_name: a name bound by an enclosing ``vmap`` (one name).
      axis_index_groups: not supported (must be None).
      axis: where the new axis (of the axis' size) goes in the result.
      tiled: if True, concatenate along ``axis`` instead of stacking a new axis.

    Returns:
      ``x``'s structure; each leaf has a new axis of the axis' size at ``axis`` holding
      every member's value in index order (``tiled``: that axis is ``axis_size`` times
      longer instead).

    Raises:
      NameError: if the name is not bound by an enclosing vmap.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.vmap(lambda v: fg.lax.all_gather(v, "i"), axis_name="i")(fnp.arange(3.0))[0]
    Array([0., 1., 2.], dtype=float32)
    """
    _no_groups(axis_index_groups, "all_gather")
    names = _names(axis_name)
    n = axis_size(names)

    def one(leaf):
        leaf = as_operand(leaf)
        nd = get_aval(leaf).ndim + (0 if tiled else 1)
        dim = canonicalize_axis(axis, nd, "all_gather axis")
        p = dict(axis_name=names, size=n, tiled=bool(tiled))
        return all_gather_p.bind(leaf, all_gather_dimension=dim, **p)

    return tu.tree_map(one, x)


def psum_scatter(x, axis_name, *, scatter_dimension=0, axis_index_groups=None, tiled=False):
    """Sum over the named axis, each member keeping one block (``jax.lax.psum_scatter``).

    Args:
      x: an array or a pytree of arrays; ``x.shape[scatter_dimension]`` must equal the
        axis' size (or be a multiple of it with ``tiled=True``).
      axis_name: a name bound by an enclosing ``vmap`` (one name).
      scatter_dimension: the dimension split among the members.
      axis_index_groups: not supported (must be None).
      tiled: if True, keep ``scatter_dimension`` (shortened) instead of removing it.

    Returns:
      ``x``'s structure; member ``i`` gets block ``i`` of the sum over all members.

    Raises:
      NameError: if the name is not bound by an enclosing vmap.
      ValueError: if the scatter dimension does not fit the axis size.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> f = lambda v: fg.lax.psum_scatter(v, "i")
    >>> fg.vmap(f, axis_name="i")(fnp.ones((2, 2)))
    Array([2., 2.], dtype=float32)
    """
    _no_groups(axis_index_groups, "psum_scatter")
    names = _names(axis_name)
    n = axis_size(names)

    def one(leaf):
        leaf = _prep(leaf)
        dim = canonicalize_axis(scatter_dimension, get_aval(leaf).ndim, "psum_scatter dimension")
        p = dict(axis_name=names, size=n, tiled=bool(tiled))
        _scatter_abstract(get_aval(leaf), dim, **p)  # its shape errors, also when eager
        return reduce_scatter_p.bind(leaf, scatter_dimension=dim, **p)

    return tu.tree_map(one, x)


# ---- ppermute ------------------------------------------------------------------------------------

ppermute_p = Primitive("ppermute")


def _ppermute_axis_rule(axis, vals, dims, axis_name, perm):
    """Over the vmap's own axis: a gather along the batch axis (zeros where no source)."""
    (x,), (d,) = vals, dims
    _single(axis_name, "ppermute")
    if d is None and len(perm) == axis.size:
        return x, None
    src = np.full(axis.size, axis.size, np.int32)  # out of bounds: filled with 0
    for s, t in perm:
        src[t] = s
    x = _broadcast_batch(x, d, axis.size)
    zero = np.zeros((), get_aval(x).dtype).item()
    out = gather(x, np.asarray(src)[:, None], (0,), mode="fill", fill_value=zero)
    return out, 0


_register(
    ppermute_p,
    lambda p: p["axis_name"],
    lambda x, axis_name, perm: x,
    _same_vmap(ppermute_p),
    _ppermute_axis_rule,
)
ad.deflinear(
    ppermute_p,
    lambda ct, x, axis_name, perm: [
        ppermute_p.bind(ct, axis_name=axis_name, perm=tuple((t, s) for s, t in perm))
    ],
)


def _check_perm(perm, n: int) -> tuple:
    perm = tuple((int(s), int(t)) for s, t in perm)
    srcs, dsts = [s for s, _ in perm], [t for _, t in perm]
    if len(set(srcs)) != len(srcs) or len(set(dsts)) != len(dsts):
        raise ValueError(f"ppermute perm {perm} has a repeated source or destination")
    if any(not 0 <= i < n for i in srcs + dsts):
        raise ValueError(f"ppermute perm {perm} has an index outside the axis size {n}")
    return perm


def ppermute(x, axis_name, perm):
    """Send each member's ``x`` to another member of the named axis (``jax.lax.ppermute``).

    Args:
      x: an array or a pytree of arrays.
      axis_name: a name bound by an enclosing ``vmap`` (one name).
      perm: ``(source, destination)`` pairs of axis indices; each index appears at most
        once as a source and once as a destination. Members that no pair sends to get
        zeros.

    Returns:
      ``x``'s structure; member ``d`` holds the ``x`` of the member ``s`` with ``(s, d)``
      in ``perm``.

    Raises:
      NameError: if the name is not bound by an enclosing vmap.
      ValueError: if ``perm`` repeats an index or leaves the axis.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> shift = lambda v: fg.lax.ppermute(v, "i", [(0, 1), (1, 2), (2, 0)])
    >>> fg.vmap(shift, axis_name="i")(fnp.array([1.0, 2.0, 3.0]))
    Array([3., 1., 2.], dtype=float32)
    """
    names = _names(axis_name)
    perm = _check_perm(perm, axis_size(names))
    return tu.tree_map(lambda v: ppermute_p.bind(as_operand(v), axis_name=names, perm=perm), x)


# ---- all_to_all ----------------------------------------------------------------------------------

all_to_all_p = Primitive("all_to_all")


def _a2a_abstract(x, axis_name, split_axis, concat_axis, size):
    shape = list(x.shape)
    if shape[split_axis] % size:
        raise ValueError(
            f"all_to_all: split_axis size {shape[split_axis]} is not divisible by the size "
            f"{size} of axis {axis_name}"
        )
    shape[split_axis] //= size
    shape[concat_axis] *= size
    return x.update(shape=tuple(shape), weak_type=False)


def _a2a_vmap(vals, dims, axis_size, split_axis, concat_axis, **p):
    (x,), (d,) = vals, dims
    s, c = split_axis + (d <= split_axis), concat_axis + (d <= concat_axis)
    return all_to_all_p.bind(x, split_axis=s, concat_axis=c, **p), d


def _a2a_axis_rule(axis, vals, dims, axis_name, split_axis, concat_axis, size):
    """Over the vmap's own axis: member k's chunk j of ``split_axis`` goes to member j,
    which concatenates the chunks in k order along ``concat_axis``."""
    (x,), (d,) = vals, dims
    _single(axis_name, "all_to_all")
    n = axis.size
    y = _split_axis(_broadcast_batch(x, d, n), 1 + split_axis, n)  # (k, ..., j, chunk, ...)
    y = _move(y, 1 + split_axis, 0)  # (j, k, ...)
    y = _move(y, 1, 1 + concat_axis)  # (j, ..., k, concat, ...)
    return _fold_axis(y, 1 + concat_axis), 0


_register(all_to_all_p, lambda p: p["axis_name"], _a2a_abstract, _a2a_vmap, _a2a_axis_rule)
ad.deflinear(
    all_to_all_p,
    lambda ct, x, split_axis, concat_axis, **p: [
        all_to_all_p.bind(ct, split_axis=concat_axis, concat_axis=split_axis, **p)
    ],
)


def all_to_all(x, axis_name, split_axis, concat_axis, *, axis_index_groups=None, tiled=False):
    """Swap a named axis with an array axis (``jax.lax.all_to_all``).

    Member ``k`` splits its ``x`` along ``split_axis`` into one chunk per member and sends
    chunk ``j`` to member ``j``, which puts the received chunks, in order of ``k``, along
    ``concat_axis``.

    Args:
      x: an array or a pytree of arrays.
      axis_name: a name bound by an enclosing ``vmap`` (one name).
      split_axis: the axis split among the members; its size must equal the axis' size
        (a multiple of it with ``tiled=True``).
      concat_axis: where the received chunks go: a new axis at that position of the
        result, or (``tiled=True``) concatenated along that existing axis.
      axis_index_groups: not supported (must be None).
      tiled: if True, no axis is added or removed.

    Returns:
      ``x``'s structure with the axes exchanged.

    Raises:
      NameError: if the name is not bound by an enclosing vmap.
      ValueError: if ``split_axis`` does not fit the axis size.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> f = lambda v: fg.lax.all_to_all(v, "i", 0, 0)
    >>> fg.vmap(f, axis_name="i")(fnp.arange(4.0).reshape(2, 2))
    Array([[0., 2.],
           [1., 3.]], dtype=float32)
    """
    _no_groups(axis_index_groups, "all_to_all")
    names = _names(axis_name)
    n = axis_size(names)
    return tu.tree_map(lambda v: _all_to_all_leaf(v, names, n, split_axis, concat_axis, tiled), x)


def _all_to_all_leaf(x, names, n, split_axis, concat_axis, tiled):
    x = as_operand(x)
    nd = get_aval(x).ndim
    s = canonicalize_axis(split_axis, nd, "all_to_all split_axis")
    c = canonicalize_axis(concat_axis, nd if tiled else nd, "all_to_all concat_axis")
    size = get_aval(x).shape[s]
    if not tiled and size != n:
        raise ValueError(
            f"all_to_all requires the size of the mapped axis {names} to equal "
            f"x.shape[split_axis], but they are {n} and {size} respectively"
        )
    if not tiled and s < c:
        c += 1
        x = ls.expand_dims(x, (c,))
    elif not tiled and c < s:
        x = ls.expand_dims(x, (c,))
        s += 1
    out = all_to_all_p.bind(x, axis_name=names, split_axis=s, concat_axis=c, size=n)
    return ls.squeeze(out, (s,)) if not tiled and s != c else out
