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
    """A device that arrays can live on and computations can run on."""

    platform: str
    id: int = 0
    device_kind: str = "cpu"

    def __repr__(self) -> str:
        return f"{self.platform.capitalize()}Device(id={self.id})"


_CPU = Device("cpu", 0, "cpu")


def cpu_device() -> Device:
    return _CPU


def _check_platform(name: str) -> str:
    name = {"gpu": "cuda"}.get(name, name)
    if name not in registered_targets():
        raise ValueError(f"unknown backend {name!r}; funcgrad knows {registered_targets()}")
    return name


def devices(backend: str | None = None) -> list[Device]:
    """The devices of ``backend`` (default: the default backend)."""
    target = get_target(_check_platform(backend or default_backend()))
    if "devices" not in target.capabilities:
        return [_CPU]
    return [Device(target.name, i, kind) for i, kind in enumerate(target.device_kinds())]


local_devices = devices


def device_count(backend: str | None = None) -> int:
    """How many devices ``backend`` (default: the default backend) has."""
    return len(devices(backend))


def default_backend() -> str:
    """``config.platform`` ('cpu' unless FUNCGRAD_PLATFORM / config.update set it)."""
    return _check_platform(config.platform)


def device_put(x, device: Device | None = None):
    """Place a pytree of arrays on ``device`` (default: the default backend's first device)."""
    from funcgrad import tree_util as tu
    from funcgrad._src.api import _as_array

    dev = device or devices()[0]
    if isinstance(dev, str):
        dev = devices(dev)[0]
    if "devices" not in get_target(dev.platform).capabilities:  # the host
        return tu.tree_map(_as_array, x)
    from funcgrad._src import cuda_array

    return tu.tree_map(lambda a: cuda_array.to_device(_as_array(a), dev), x)


def device_get(x):
    """Bring a pytree of arrays back to host numpy arrays."""
    import numpy as np

    from funcgrad import tree_util as tu

    return tu.tree_map(lambda a: np.asarray(a), x)
