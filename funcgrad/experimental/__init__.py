"""``fg.experimental``: JAX's ``jax.experimental`` names that funcgrad provides.

>>> import numpy as np, funcgrad as fg, funcgrad.numpy as fnp
>>> from funcgrad.experimental import io_callback
>>> io_callback(lambda x: np.float32(x * 2), fg.ShapeDtypeStruct((), fnp.float32), 1.5)
Array(3., dtype=float32)
"""

from funcgrad._src.callbacks import io_callback
from funcgrad.experimental import shard_map  # noqa: F401

__all__ = ["io_callback", "shard_map"]
