"""``funcgrad.experimental.shard_map`` (``jax.experimental.shard_map``)."""

from funcgrad._src.shard_map import shard_map  # noqa: F401

__all__ = ["shard_map"]
