"""``shard_map``: run a function on each device's block of its arguments (``jax.shard_map``)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

import numpy as np

from funcgrad import tree_util as tu
from funcgrad._src import spmd, vectorization
from funcgrad._src.api_util import _as_array
from funcgrad._src.array import get_aval, wrap
from funcgrad._src.core import Tracer
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax.composites import index_in_dim
from funcgrad._src.sharding import Mesh, NamedSharding, PartitionSpec, block_index, with_sharding
from funcgrad.config import config


def shard_map(
    f: Callable | None = None,
    *,
    mesh: Mesh,
    in_specs,
    out_specs,
    check_rep: bool = True,
    check_vma: bool | None = None,
    axis_names=None,
):
    """Map ``f`` over the blocks of its arguments on a mesh (``jax.shard_map``).

    Each device of ``mesh`` runs ``f`` (compiled once) on its block of every argument, in
    its own thread (on traced values, inside ``jit``/``grad``/``vmap``, the mesh axes are
    nested named ``vmap``s instead: the same results, one thread). Inside ``f`` every mesh
    axis name is bound, so collectives (``lax.psum(x, "data")``, ``all_gather``,
    ``ppermute``, ``axis_index``...) exchange values among the devices along that axis.
    The outputs' blocks are put together by ``out_specs``.

    Args:
      f: the per-block function (also usable as a decorator: ``shard_map(mesh=...,
        in_specs=..., out_specs=...)``).
      mesh: a :class:`~funcgrad.sharding.Mesh`.
      in_specs: a PartitionSpec per positional argument (a pytree prefix of the
        arguments): the dimensions split over mesh axes; ``P()`` gives every device the
        whole argument.
      out_specs: a PartitionSpec per output (a pytree prefix): how the devices' blocks
        form the result. An output not split over some mesh axis must be the same on every
        device along it (it is taken from the first; not checked).
      check_rep: accepted and ignored (see ``out_specs``).
      check_vma: accepted and ignored.
      axis_names: accepted only as None or all of the mesh's axes (no automatic axes).

    Returns:
      The mapped function; its outputs are Arrays carrying ``NamedSharding(mesh, spec)``.

    Raises:
      ValueError: if a split dimension is not divisible by its mesh axes' size.
      NotImplementedError: with a subset of the mesh's axes.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> from funcgrad.sharding import PartitionSpec as P
    >>> mesh = fg.make_mesh((1,), ("data",))
    >>> f = fg.shard_map(lambda x: fg.lax.psum(x, "data"), mesh=mesh, in_specs=P("data"),
    ...                  out_specs=P())
    >>> f(fnp.ones(4))
    Array([1., 1., 1., 1.], dtype=float32)
    """
    if f is None:
        return functools.partial(
            shard_map, mesh=mesh, in_specs=in_specs, out_specs=out_specs, axis_names=axis_names
        )
    if axis_names is not None and set(axis_names) != set(mesh.axis_names):
        raise NotImplementedError("shard_map over a subset of the mesh axes is not supported")
    return functools.wraps(f)(_ShardMapped(f, mesh, in_specs, out_specs))


def _spec_leaves(specs, tree, what):
    """One PartitionSpec per leaf of ``tree`` (``specs``: a prefix; a bare spec fits all)."""
    if isinstance(specs, PartitionSpec) or specs is None:
        return [PartitionSpec() if specs is None else specs] * len(tu.tree_leaves(tree))
    out = []
    parts = tu.tree_flatten(specs, is_leaf=lambda s: isinstance(s, PartitionSpec) or s is None)
    flat_specs, spec_tree = parts
    sub = tu.tree_structure(tree)
    try:
        subtrees = spec_tree.flatten_up_to(tree)
    except (ValueError, TypeError, AttributeError) as e:
        raise ValueError(f"shard_map {what} {specs!r} does not match {sub}: {e}") from None
    for s, t in zip(flat_specs, subtrees):
        out += [PartitionSpec() if s is None else s] * len(tu.tree_leaves(t))
    return out


class _ShardMapped:
    def __init__(self, f, mesh, in_specs, out_specs):
        self.f, self.mesh, self.in_specs, self.out_specs = f, mesh, in_specs, out_specs
        self._cache: dict = {}
        self._lock = threading.Lock()
        names = mesh.axis_names
        self.grid = spmd.Grid(names, tuple(mesh.shape[n] for n in names), tuple(mesh.devices.flat))

    def __call__(self, *args):
        if any(isinstance(x, Tracer) for x in tu.tree_leaves(args)):
            return self._via_vmap(args)
        specs = _spec_leaves(self.in_specs, args, "in_specs")
        flat, in_tree = tu.tree_flatten(args)
        flat = [_as_array(x) for x in flat]
        shardings = [NamedSharding(self.mesh, s) for s in specs]
        avals = [get_aval(x).update(shape=s.shard_shape(x.shape)) for x, s in zip(flat, shardings)]
        key = (in_tree, tuple(avals), tuple(specs), config.code_key())
        entry = self._entry(key, in_tree, avals)
        per_device = [
            [np.asarray(x)[block_index(s, x.shape, i)] for x, s in zip(flat, shardings)]
            for i in range(len(self.grid.devices))
        ]
        outs = spmd.run(entry.steps, entry.jaxpr, entry.consts, per_device, self.grid)
        return self._assemble(outs, entry)

    def _entry(self, key, in_tree, avals):
        from funcgrad._src.pmap import _trace_and_plan

        with self._lock:
            if key not in self._cache:
                f = lambda *a: self.f(*a)
                f.__name__ = getattr(self.f, "__name__", "shard_map")
                backend = _default_backend()
                self._cache[key] = _trace_and_plan(f, in_tree, avals, self.grid, backend)
            return self._cache[key]

    def _assemble(self, outs, entry):
        blocks = list(zip(*outs)) if outs and outs[0] else []
        tree = tu.tree_unflatten(entry.out_tree, [wrap(b[0]) for b in blocks])
        specs = _spec_leaves(self.out_specs, tree, "out_specs")
        res = [self._global(b, s) for b, s in zip(blocks, specs)]
        return tu.tree_unflatten(entry.out_tree, res)

    def _global(self, blocks, spec):
        s = NamedSharding(self.mesh, spec)
        shape = list(np.shape(blocks[0]))
        for d in range(len(spec)):
            shape[d] *= int(np.prod([self.mesh.shape[a] for a in spec.names_of(d)]))
        out = np.empty(shape, np.asarray(blocks[0]).dtype)
        for i in reversed(range(len(blocks))):  # the first device's block wins
            out[block_index(s, shape, i)] = blocks[i]
        return with_sharding(wrap(out), s)


def _default_backend() -> str:
    from funcgrad._src.devices import default_backend

    return default_backend()


# ---- on traced values: the mesh axes as nested named vmaps --------------------------------------


def _via_vmap(self, args):
    """Inside jit/grad/vmap: every mesh axis becomes a named ``vmap`` over the blocks (the
    same values as the threads give; the collectives lower as under any vmap)."""
    mesh = self.mesh
    specs = _spec_leaves(self.in_specs, args, "in_specs")
    flat, in_tree = tu.tree_flatten(args)
    split = [_to_blocks(_as_array(x), s, mesh) for x, s in zip(flat, specs)]
    store = {}

    def per_device(*blocks):
        leaves, store["tree"] = tu.tree_flatten(self.f(*tu.tree_unflatten(in_tree, blocks)))
        return [_as_array(o) for o in leaves]

    g = lambda *a: tuple(per_device(*a))
    for name in reversed(mesh.axis_names):
        axes = tuple(0 if name in used else None for _, used in split)
        g = vectorization.vmap(g, axes, 0, axis_name=name, axis_size=mesh.shape[name])
    outs = g(*[a for a, _ in split])
    tree = tu.tree_unflatten(store["tree"], list(outs))
    out_specs = _spec_leaves(self.out_specs, tree, "out_specs")
    res = [_from_blocks(o, s, mesh) for o, s in zip(outs, out_specs)]
    return tu.tree_unflatten(store["tree"], res)


_ShardMapped._via_vmap = _via_vmap


def _to_blocks(x, spec, mesh):
    """``x`` reshaped so that each mesh axis it is split over is a leading axis (in mesh
    order), followed by the block; returns (array, names of those leading axes)."""
    shape, pos, dims = [], {}, []
    for d, size in enumerate(x.shape):
        names = spec.names_of(d)
        for n in names:
            pos[n] = len(shape)
            shape.append(mesh.shape[n])
        dims.append(len(shape))
        shape.append(size // int(np.prod([mesh.shape[n] for n in names])) if names else size)
    used = tuple(n for n in mesh.axis_names if n in pos)
    y = ls.reshape(x, tuple(shape))
    return ls.transpose(y, tuple(pos[n] for n in used) + tuple(dims)), used


def _from_blocks(y, spec, mesh):
    """The inverse of ``_to_blocks`` for an output with every mesh axis leading: axes the
    spec does not split over are taken at index 0 (the first device's block)."""
    names = mesh.axis_names
    for k in reversed(range(len(names))):
        if not any(names[k] in spec.names_of(d) for d in range(len(spec))):
            y = index_in_dim(y, 0, k, keepdims=False)
    kept = [n for n in names if any(n in spec.names_of(d) for d in range(len(spec)))]
    nblock = y.ndim - len(kept)
    perm, shape = [], []
    for d in range(nblock):
        dnames = spec.names_of(d)
        perm += [kept.index(n) for n in dnames] + [len(kept) + d]
        shape.append(y.shape[len(kept) + d] * int(np.prod([mesh.shape[n] for n in dnames])))
    y = ls.transpose(y, tuple(perm))
    return ls.reshape(y, tuple(shape))
