"""``funcgrad.sharding``: meshes, partition specs and shardings (``jax.sharding``)."""

from funcgrad._src.sharding import (  # noqa: F401
    Mesh,
    NamedSharding,
    PartitionSpec,
    Shard,
    Sharding,
    SingleDeviceSharding,
)

__all__ = [
    "Mesh",
    "NamedSharding",
    "PartitionSpec",
    "Shard",
    "Sharding",
    "SingleDeviceSharding",
]
