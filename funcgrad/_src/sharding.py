"""Meshes, partition specs and shardings (``jax.sharding``), and the shards of an Array.

CPU devices share the host's memory, so a sharded Array keeps one host buffer and its
sharding says which block each device owns: ``addressable_shards`` are views of those
blocks. ``shard_map`` and ``pmap`` run one block per device (``spmd.py``).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np


class PartitionSpec(tuple):
    """How an array's dimensions are split over mesh axes (``jax.sharding.PartitionSpec``).

    One entry per leading dimension: ``None`` (not split), a mesh axis name, or a tuple of
    names (split over all of them, the first major). Missing trailing entries are None.

    Args:
      *partitions: the entries.

    >>> from funcgrad.sharding import PartitionSpec as P
    >>> P("data", None)
    PartitionSpec('data', None)
    """

    def __new__(cls, *partitions):
        parts = tuple(tuple(p) if isinstance(p, list) else p for p in partitions)
        return super().__new__(cls, parts)

    def __repr__(self) -> str:
        return "PartitionSpec(" + ", ".join(repr(p) for p in self) + ")"

    def names_of(self, dim: int) -> tuple:
        """The mesh axis names dimension ``dim`` is split over (``()``: not split).

        Args:
          dim: a dimension index.

        Returns:
          A tuple of names.
        """
        p = self[dim] if dim < len(self) else None
        return () if p is None else (p if isinstance(p, tuple) else (p,))


class Mesh:
    """Devices on a grid of named axes (``jax.sharding.Mesh``).

    Args:
      devices: an array (or nested list) of devices, one dimension per axis name.
      axis_names: a name per dimension of ``devices``.

    >>> import funcgrad as fg
    >>> from funcgrad.sharding import Mesh
    >>> Mesh(fg.devices()[:1], ("x",)).shape
    {'x': 1}
    """

    def __init__(self, devices, axis_names):
        names = (axis_names,) if isinstance(axis_names, str) else tuple(axis_names)
        devs = np.empty(np.shape(np.asarray(devices, dtype=object)), dtype=object)
        devs[...] = np.asarray(devices, dtype=object)
        if devs.ndim != len(names):
            raise ValueError(f"Mesh: devices of rank {devs.ndim} for {len(names)} axis names")
        if len(set(names)) != len(names):
            raise ValueError(f"Mesh: repeated axis names {names}")
        self.devices, self.axis_names = devs, names

    @property
    def shape(self) -> dict:
        return dict(zip(self.axis_names, self.devices.shape))

    @property
    def size(self) -> int:
        return int(self.devices.size)

    @property
    def device_ids(self) -> np.ndarray:
        return np.vectorize(lambda d: d.id, otypes=[int])(self.devices)

    def _key(self):
        return (self.axis_names, self.devices.shape, tuple(self.devices.flat))

    def __eq__(self, other) -> bool:
        return isinstance(other, Mesh) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Mesh({self.shape!r})"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def make_mesh(axis_shapes, axis_names, *, devices=None, axis_types=None) -> Mesh:
    """A mesh of the first ``prod(axis_shapes)`` devices (``jax.make_mesh``).

    Args:
      axis_shapes: the size of each axis.
      axis_names: a name per axis.
      devices: the devices to use (default: ``fg.devices()``).
      axis_types: accepted for JAX compatibility and ignored (every axis is explicit).

    Returns:
      A :class:`Mesh`.

    Raises:
      ValueError: if there are fewer devices than the mesh needs.

    >>> import funcgrad as fg
    >>> fg.make_mesh((1,), ("data",)).shape
    {'data': 1}
    """
    from funcgrad._src.devices import devices as all_devices

    shape = tuple(int(s) for s in axis_shapes)
    devs = list(devices) if devices is not None else all_devices()
    n = math.prod(shape)
    if n > len(devs):
        raise ValueError(
            f"make_mesh{shape} needs {n} devices but {len(devs)} are available "
            f"(FUNCGRAD_NUM_CPU_DEVICES={n} gives {n} CPU devices)"
        )
    grid = np.empty(n, dtype=object)
    grid[:] = devs[:n]
    return Mesh(grid.reshape(shape), axis_names)


class Sharding:
    """The base class of shardings: a map from devices to the blocks they hold."""

    def devices_indices_map(self, global_shape) -> dict:
        raise NotImplementedError

    @property
    def device_set(self) -> set:
        return set(self._device_list())

    def _device_list(self) -> list:
        raise NotImplementedError


class SingleDeviceSharding(Sharding):
    """The whole array on one device (``jax.sharding.SingleDeviceSharding``).

    Args:
      device: the device.
    """

    def __init__(self, device):
        self.device = device

    def _device_list(self):
        return [self.device]

    def devices_indices_map(self, global_shape) -> dict:
        """``{device: index}``: the whole array.

        Args:
          global_shape: the array's shape.

        Returns:
          A dict of one entry.
        """
        return {self.device: tuple(slice(None) for _ in global_shape)}

    @property
    def is_fully_replicated(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"SingleDeviceSharding(device={self.device!r})"

    def __eq__(self, other):
        return isinstance(other, SingleDeviceSharding) and other.device == self.device

    def __hash__(self):
        return hash(self.device)


class NamedSharding(Sharding):
    """An array split over a mesh by a partition spec (``jax.sharding.NamedSharding``).

    Args:
      mesh: a :class:`Mesh`.
      spec: a :class:`PartitionSpec` (at most one entry per dimension, each mesh axis used
        once).

    >>> import funcgrad as fg
    >>> from funcgrad.sharding import NamedSharding, PartitionSpec as P
    >>> s = NamedSharding(fg.make_mesh((1,), ("x",)), P("x"))
    >>> s.shard_shape((4, 2))
    (4, 2)
    """

    def __init__(self, mesh: Mesh, spec=None):
        spec = PartitionSpec() if spec is None else PartitionSpec(*spec)
        used = [n for i in range(len(spec)) for n in spec.names_of(i)]
        if len(set(used)) != len(used) or any(n not in mesh.axis_names for n in used):
            raise ValueError(f"NamedSharding: {spec} does not fit mesh axes {mesh.axis_names}")
        self.mesh, self.spec = mesh, spec

    def _device_list(self):
        return list(self.mesh.devices.flat)

    def shard_shape(self, global_shape) -> tuple:
        """The shape of each device's block.

        Args:
          global_shape: the whole array's shape.

        Returns:
          A tuple.

        Raises:
          ValueError: if a split dimension is not divisible by its mesh axes' size.
        """
        return tuple(s // self._parts(d, s) for d, s in enumerate(global_shape))

    def _parts(self, dim, size) -> int:
        n = math.prod(self.mesh.shape[a] for a in self.spec.names_of(dim))
        if size % n:
            raise ValueError(
                f"dimension {dim} of size {size} is not divisible by the {n} parts of "
                f"mesh axes {self.spec.names_of(dim)}"
            )
        return n

    def devices_indices_map(self, global_shape) -> dict:
        """``{device: tuple of slices}``: the block of the array each device holds.

        Args:
          global_shape: the whole array's shape.

        Returns:
          A dict over every device of the mesh.
        """
        return {d: block_index(self, global_shape, i) for i, d in enumerate(self._device_list())}

    @property
    def is_fully_replicated(self) -> bool:
        return not any(self.spec.names_of(i) for i in range(len(self.spec)))

    def __repr__(self) -> str:
        return f"NamedSharding(mesh={self.mesh!r}, spec={self.spec!r})"

    def __eq__(self, other):
        return isinstance(other, NamedSharding) and (self.mesh, self.spec) == (
            other.mesh,
            other.spec,
        )

    def __hash__(self):
        return hash((self.mesh, self.spec))


def block_index(sharding: NamedSharding, global_shape, flat_device: int) -> tuple:
    """The slices of the block that the device at ``flat_device`` (row-major in the mesh)
    holds."""
    mesh = sharding.mesh
    coords = dict(zip(mesh.axis_names, np.unravel_index(flat_device, mesh.devices.shape)))
    index = []
    for dim, size in enumerate(global_shape):
        names = sharding.spec.names_of(dim)
        sizes = [mesh.shape[a] for a in names]
        k = int(np.ravel_multi_index([coords[a] for a in names], sizes)) if names else 0
        block = size // sharding._parts(dim, size)
        index.append(slice(k * block, (k + 1) * block) if names else slice(None))
    return tuple(index)


class Shard(NamedTuple):
    """One device's block of an Array (``jax.Shard``)."""

    device: Any
    index: tuple
    replica_id: int
    data: Any


# ---- Arrays and their shardings -------------------------------------------------------------


def with_sharding(x, sharding: Sharding):
    """``x`` (an Array) marked as laid out by ``sharding`` (checked against its shape)."""
    if isinstance(sharding, NamedSharding):
        sharding.shard_shape(x.shape)  # raises for indivisible dimensions
    x._sharding = sharding
    return x


def sharding_of(x) -> Sharding:
    from funcgrad._src.devices import cpu_device

    s = getattr(x, "_sharding", None)
    return s if s is not None else SingleDeviceSharding(cpu_device())


def addressable_shards(x) -> list:
    from funcgrad._src.array import wrap

    s = sharding_of(x)
    value, seen, shards = x._value, {}, []
    for d, index in s.devices_indices_map(x.shape).items():
        key = tuple((i.start, i.stop) for i in index)
        replica = seen[key] = seen.get(key, -1) + 1
        shards.append(Shard(d, index, replica, wrap(value[index])))
    return shards


def pmap_sharding(grid, axis: int, ndim: int) -> NamedSharding:
    """The sharding of a pmap output: the device axis at ``axis`` split over the devices."""
    mesh = Mesh(np.array(grid.devices, dtype=object), grid.names)
    return NamedSharding(mesh, PartitionSpec(*([None] * axis + [grid.names[0]])))
