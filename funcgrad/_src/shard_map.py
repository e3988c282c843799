"""``shard_map``: run a function on each device's block of its arguments (``jax.shard_map``)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

import numpy as np

from funcgrad import tree_util as tu
from funcgrad._src import spmd
from funcgrad._src.api_util import _as_array
from funcgrad._src.array import get_aval, wrap
from funcgrad._src.core import Tracer
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
    its own thread; inside ``f`` every mesh axis name is bound, so collectives
    (``lax.psum(x, "data")``, ``all_gather``, ``ppermute``, ``axis_index``...) exchange
    values among the devices along that axis. The outputs' blocks are put together by
    ``out_specs``.

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
      NotImplementedError: when called on traced values (inside jit/grad/vmap) or with a
        subset of the mesh's axes.

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
            raise NotImplementedError(
                "shard_map on traced values (inside jit, grad or vmap) is not supported yet: "
                "call it on concrete arrays (its per-device program is compiled anyway)"
            )
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
