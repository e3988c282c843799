"""``funcgrad.dtypes``: the dtype helpers of ``jax.dtypes`` that funcgrad has, among them the
abstract key dtype of typed PRNG key arrays.

>>> import funcgrad as fg
>>> fg.dtypes.issubdtype(fg.random.key(0).dtype, fg.dtypes.prng_key)
True
"""

from funcgrad._src.dtypes import bfloat16, extended, prng_key
from funcgrad._src.random.keys import issubdtype

__all__ = ["bfloat16", "extended", "issubdtype", "prng_key"]
