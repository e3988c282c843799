"""``fg.ad_checkpoint``: rematerialisation (``jax.ad_checkpoint``): ``checkpoint``,
``checkpoint_name``, ``print_saved_residuals`` and the ``checkpoint_policies``.

>>> import funcgrad as fg, funcgrad.numpy as fnp
>>> from funcgrad.ad_checkpoint import checkpoint, checkpoint_name, print_saved_residuals
>>> def f(x):
...     return fnp.sin(checkpoint_name(fnp.cos(x), "c")).sum()
>>> policy = fg.checkpoint_policies.save_only_these_names("c")
>>> print_saved_residuals(checkpoint(f, policy=policy), fnp.ones(2))
f32[2] from the argument x
f32[2] named 'c'
"""

from funcgrad import checkpoint_policies
from funcgrad._src.remat import checkpoint, checkpoint_name, print_saved_residuals, remat

__all__ = [
    "checkpoint",
    "checkpoint_name",
    "checkpoint_policies",
    "print_saved_residuals",
    "remat",
]
