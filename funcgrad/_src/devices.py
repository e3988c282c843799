"""Devices, JAX-style: ``fg.devices()``, ``fg.default_backend()``, ``fg.device_put``.

The CPU device always exists (the targets that run on the host, ``cpu`` and ``ref``, share
it). The devices of a target with the ``"devices"`` capability (CUDA) are discovered through
``funcgrad.backend.get_target`` only when asked for (``import funcgrad`` never touches CUDA),
and asking for CUDA where there is none raises ``CudaUnavailableError``: nothing silently falls
back to the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

from funcgrad.backend import get_target, registered_targets
from funcgrad.config import config


@dataclass(frozen=True)
class Device:
    """A device that arrays can live on and computations can run on (frozen, hashable).

    Args:
      platform: the target's name, ``"cpu"`` or ``"cuda"``.
      id: the device's index among its platform's devices.
      device_kind: a description, ``"cpu"`` or the GPU's name.
    """

    platform: str
    id: int = 0
    device_kind: str = "cpu"

    def __repr__(self) -> str:
        return f"{self.platform.capitalize()}Device(id={self.id})"


_CPU = Device("cpu", 0, "cpu")


def cpu_device() -> Device:
    return _CPU


def cpu_devices() -> list[Device]:
    """The CPU devices: ``config.num_cpu_devices`` of them (``FUNCGRAD_NUM_CPU_DEVICES``, as
    XLA's ``--xla_force_host_platform_device_count``). They share the host's memory; each
    runs its part of a ``pmap``/``shard_map`` in its own thread."""
    n = int(config.num_cpu_devices)
    if n < 1:
        raise ValueError(f"num_cpu_devices must be at least 1, got {n}")
    return [_CPU] + [Device("cpu", i, "cpu") for i in range(1, n)]


def _check_platform(name: str) -> str:
    name = {"gpu": "cuda"}.get(name, name)
    if name not in registered_targets():
        raise ValueError(f"unknown backend {name!r}; funcgrad knows {registered_targets()}")
    return name


def devices(backend: str | None = None) -> list[Device]:
    """The devices of ``backend`` (``jax.devices``; ``local_devices`` is the same function).

    Args:
      backend: ``"cpu"``, ``"cuda"`` (or ``"gpu"``), ``"ref"``; default: the default
        backend. Targets without devices of their own (``cpu``, ``ref``) share the CPU
        devices.

    Returns:
      A list of :class:`Device`: the CPU devices (``[CpuDevice(id=0)]``, or as many as
        ``FUNCGRAD_NUM_CPU_DEVICES`` / ``config.update("num_cpu_devices", n)`` ask for), or
        one per visible GPU.

    Raises:
      ValueError: for an unknown backend name.
      CudaUnavailableError: (a RuntimeError) for ``"cuda"`` where no CUDA driver or GPU is
        found; nothing falls back to the CPU.
    """
    target = get_target(_check_platform(backend or default_backend()))
    if "devices" not in target.capabilities:
        return cpu_devices()
    return [Device(target.name, i, kind) for i, kind in enumerate(target.device_kinds())]


local_devices = devices


def device_count(backend: str | None = None) -> int:
    """How many devices ``backend`` has (``jax.device_count``).

    Args:
      backend: as for :func:`devices`; default: the default backend.

    Returns:
      ``len(devices(backend))``, an int.

    Raises:
      ValueError: for an unknown backend name.
      CudaUnavailableError: for ``"cuda"`` without CUDA.
    """
    return len(devices(backend))


def default_backend() -> str:
    """The default backend's name (``jax.default_backend``): ``config.platform``.

    Returns:
      ``"cpu"`` unless ``FUNCGRAD_PLATFORM`` or ``config.update("platform", ...)`` set
      another (``"gpu"`` reads as ``"cuda"``).

    Raises:
      ValueError: if the configured platform is not a registered backend.
    """
    return _check_platform(config.platform)


def device_put(x, device: Device | None = None):
    """Place a pytree of arrays on a device (``jax.device_put``).

    Args:
      x: an array, numpy array, Python scalar or pytree of them.
      device: a :class:`Device`, a backend name (its first device), or a sharding
        (``NamedSharding``: the result carries it as ``.sharding``; CPU devices share the
        host's memory, so this lays nothing out); default: the default backend's first
        device. JAX's ``src``, ``donate`` and ``may_alias`` are not
        supported.

    Returns:
      ``x`` with every leaf as a funcgrad Array on the host (numpy data converted to
      funcgrad's dtypes), or as a device array on a CUDA device.

    Raises:
      TypeError: if a leaf is not an array type.
      ValueError: for an unknown backend name.
      CudaUnavailableError: for a CUDA device without CUDA.
    """
    from funcgrad import tree_util as tu
    from funcgrad._src import sharding
    from funcgrad._src.api import _as_array

    if isinstance(device, sharding.Sharding):  # a host array marked with its layout
        return tu.tree_map(lambda a: sharding.with_sharding(_copy(_as_array(a)), device), x)
    dev = device or devices()[0]
    if isinstance(dev, str):
        dev = devices(dev)[0]
    if "devices" not in get_target(dev.platform).capabilities:  # the host
        return tu.tree_map(_as_array, x)
    from funcgrad._src import cuda_array

    return tu.tree_map(lambda a: cuda_array.to_device(_as_array(a), dev), x)


def _copy(a):
    """A new Array object on the same (immutable) buffer, so marking it changes nothing else."""
    from funcgrad._src.array import Array

    return Array(a._value, a._weak_type, a._ldt)


def device_get(x):
    """Bring a pytree of arrays back to host numpy arrays (``jax.device_get``).

    Args:
      x: an array or pytree of arrays (funcgrad, device or numpy arrays, Python scalars).

    Returns:
      ``x`` with every leaf passed through ``np.asarray`` (funcgrad Arrays give read-only
      views of their buffers without copying; Python scalars become 0-d numpy arrays,
      where JAX leaves them as they are).
    """
    import numpy as np

    from funcgrad import tree_util as tu

    return tu.tree_map(lambda a: np.asarray(a), x)
