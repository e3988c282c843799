"""``pmap``: one compiled program per CPU device, run in parallel (see ``spmd.py``)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

import numpy as np

from funcgrad import tree_util as tu
from funcgrad._src import spmd, vectorization
from funcgrad._src.api_util import _as_array
from funcgrad._src.array import get_aval, wrap
from funcgrad._src.core import ShapedArray, Tracer
from funcgrad.config import config


def pmap(
    fun: Callable,
    axis_name=None,
    *,
    in_axes=0,
    out_axes=0,
    static_broadcasted_argnums=(),
    devices=None,
    backend=None,
    axis_size=None,
    donate_argnums=(),
):
    """Map ``fun`` over the CPU devices, one device per index of the mapped axis
    (``jax.pmap``).

    ``fun`` is traced once for one device and compiled; each device runs it on its slice of
    the arguments in its own thread (``FUNCGRAD_NUM_CPU_DEVICES=N`` gives N CPU devices), and
    collectives over ``axis_name`` (``lax.psum``, ``all_gather``, ...) exchange values
    between the devices. Called on traced values (inside ``grad``, ``jit``, ``vmap``) it
    runs as ``vmap`` with the same ``axis_name`` (same results, one thread).

    Args:
      fun: a function of arrays (pytrees) returning a pytree of arrays.
      axis_name: the name collectives inside ``fun`` use for the mapped axis.
      in_axes: as for ``vmap``: which axis of each positional argument is mapped (None:
        every device gets the whole argument).
      out_axes: where the device axis goes in each output (None: the output of device 0,
        for outputs that are the same on every device).
      static_broadcasted_argnums: positional arguments passed as Python values (hashable;
        a new value retraces).
      devices: the devices to run on (default: the first ``n`` of ``fg.devices()``).
      backend: the jit target compiling ``fun`` (default: ``config.platform``; only the
        CPU's devices run pmap).
      axis_size: accepted for JAX compatibility; must equal the mapped size if given.
      donate_argnums: accepted and ignored (CPU devices share the host's memory; every
        device gets its own copy of its slice).

    Returns:
      A function with ``fun``'s arguments returning ``fun``'s outputs stacked along the
      device axis (``out_axes``); each output Array carries its ``.sharding``.

    Raises:
      ValueError: when the mapped size exceeds the number of devices, or the mapped sizes
        differ.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> f = fg.pmap(lambda v: v / fg.lax.psum(v, "i"), axis_name="i")
    >>> f(fnp.ones((fg.device_count(), 2))).shape == (fg.device_count(), 2)
    True
    """
    statics = (
        (static_broadcasted_argnums,)
        if isinstance(static_broadcasted_argnums, int)
        else (static_broadcasted_argnums)
    )
    pm = _PMapped(fun, axis_name, in_axes, out_axes, tuple(statics), devices, backend, axis_size)
    return functools.wraps(fun)(pm)


class _PMapped:
    def __init__(self, fun, axis_name, in_axes, out_axes, statics, devices, backend, axis_size):
        self.fun, self.axis_name, self.in_axes, self.out_axes = fun, axis_name, in_axes, out_axes
        self.statics, self.devices, self.backend = statics, devices, backend
        self.axis_size = axis_size
        self._name = axis_name if axis_name is not None else _Unnamed()
        self._cache: dict = {}
        self._lock = threading.Lock()

    def __call__(self, *args, **kwargs):
        fun, args, static_key = self._bind_statics(args)
        leaves = tu.tree_leaves((args, kwargs))
        if any(isinstance(x, Tracer) for x in leaves):  # under a transformation
            return vectorization.vmap(fun, self.in_axes, self.out_axes, self.axis_name)(
                *args, **kwargs
            )
        axes = vectorization._positional_axes(vectorization._check_in_axes(self.in_axes), args)
        f, args, axes = vectorization._with_kwargs_mapped(fun, args, kwargs, axes)
        flat, in_tree, dims, arg_of_leaf = vectorization._flat_in_dims(args, axes)
        n = vectorization._mapped_size(flat, dims, arg_of_leaf, self.axis_size)
        grid = self._grid(n)
        avals = [_per_device_aval(x, d) for x, d in zip(flat, dims)]
        key = (in_tree, tuple(avals), tuple(dims), n, static_key, config.code_key())
        entry = self._entry(key, f, in_tree, avals, grid)
        per_device = [[_slice(x, d, i) for x, d in zip(flat, dims)] for i in range(n)]
        outs = spmd.run(entry.steps, entry.jaxpr, entry.consts, per_device, grid)
        return self._assemble(outs, entry.out_tree, grid)

    def _bind_statics(self, args):
        """``fun`` with the static arguments bound, the dynamic ones, and a cache key."""
        if not self.statics:
            return self.fun, args, ()
        nums = {i % len(args) for i in self.statics}
        static = {i: args[i] for i in nums}
        for v in static.values():
            hash(v)  # a TypeError for an unhashable static argument, as in JAX
        dyn = tuple(a for i, a in enumerate(args) if i not in nums)

        def f(*dyn_args):
            it = iter(dyn_args)
            return self.fun(*[static[i] if i in static else next(it) for i in range(len(args))])

        return f, dyn, tuple(sorted(static.items()))

    def _grid(self, n: int) -> spmd.Grid:
        from funcgrad._src.devices import devices as all_devices

        devs = list(self.devices) if self.devices is not None else all_devices(self.backend)
        if n > len(devs):
            raise ValueError(
                f"pmap over an axis of size {n} needs {n} devices, but only {len(devs)} are "
                f"available (set FUNCGRAD_NUM_CPU_DEVICES={n} or "
                f"fg.config.update('num_cpu_devices', {n}) before the first call)"
            )
        return spmd.Grid((self._name,), (n,), tuple(devs[:n]))

    def _entry(self, key, f, in_tree, avals, grid):
        with self._lock:
            if key not in self._cache:
                self._cache[key] = _trace_and_plan(f, in_tree, avals, grid, self._backend_name())
            return self._cache[key]

    def _backend_name(self) -> str:
        from funcgrad._src.devices import default_backend

        return self.backend or default_backend()

    def _assemble(self, outs, out_tree, grid):
        cols = list(zip(*outs)) if outs and outs[0] else []
        tree_out = tu.tree_unflatten(out_tree, [wrap(c[0]) for c in cols])
        wanted = (
            vectorization._broadcast_prefix(self.out_axes, tree_out, "out_axes")
            if not (isinstance(self.out_axes, int) or self.out_axes is None)
            else [self.out_axes] * len(cols)
        )
        res = [_stack_out(c, w, grid) for c, w in zip(cols, wanted)]
        return tu.tree_unflatten(out_tree, res)


class _Unnamed:
    """The name of a pmap's axis when it has none (no collective can refer to it)."""

    def __repr__(self):
        return "<unnamed pmap axis>"


class _Entry:
    __slots__ = ("jaxpr", "consts", "steps", "out_tree")


def _trace_and_plan(f, in_tree, avals, grid, backend):
    entry = _Entry()
    store = {}

    def flat_fun(*xs):
        out = f(*tu.tree_unflatten(in_tree, list(xs)))
        leaves, store["tree"] = tu.tree_flatten(out)
        return [_as_array(x) for x in leaves]

    jaxpr, entry.consts = spmd.trace_per_device(flat_fun, avals, grid)
    entry.jaxpr = spmd.inline_named_calls(jaxpr)
    entry.out_tree = store["tree"]
    entry.steps = spmd.plan(entry.jaxpr, backend, getattr(f, "__name__", "pmap"))
    return entry


def _per_device_aval(x, d) -> ShapedArray:
    aval = get_aval(x)
    if d is None:
        return aval
    return aval.update(shape=aval.shape[:d] + aval.shape[d + 1 :])


def _slice(x, d, i):
    v = np.asarray(x)
    return v if d is None else np.take(v, i, axis=d)


def _stack_out(col, out_axis, grid):
    from funcgrad._src import sharding

    if out_axis is None:
        return wrap(np.asarray(col[0]))
    nd = np.ndim(col[0]) + 1
    axis = out_axis % nd
    out = wrap(np.stack([np.asarray(c) for c in col], axis=axis))
    return sharding.with_sharding(out, sharding.pmap_sharding(grid, axis, nd))
