"""``funcgrad.experimental``: APIs JAX keeps under ``jax.experimental``."""

from funcgrad.experimental import shard_map  # noqa: F401

__all__ = ["shard_map"]
