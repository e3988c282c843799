"""``fg.checkpoint_policies``: which intermediates ``fg.checkpoint`` may save instead of
recomputing (``jax.checkpoint_policies``, without the host-offloading ones).

>>> import funcgrad as fg, funcgrad.numpy as fnp
>>> f = fg.checkpoint(lambda x: fnp.sin(x @ x), policy=fg.checkpoint_policies.dots_saveable)
>>> fg.grad(lambda x: f(x).sum())(fnp.eye(2)).shape
(2, 2)
"""

from funcgrad._src.checkpoint_policies import (
    checkpoint_dots,
    checkpoint_dots_with_no_batch_dims,
    dots_saveable,
    dots_with_no_batch_dims_saveable,
    everything_saveable,
    nothing_saveable,
    save_any_names_but_these,
    save_from_both_policies,
    save_only_these_names,
)

__all__ = [
    "checkpoint_dots",
    "checkpoint_dots_with_no_batch_dims",
    "dots_saveable",
    "dots_with_no_batch_dims_saveable",
    "everything_saveable",
    "nothing_saveable",
    "save_any_names_but_these",
    "save_from_both_policies",
    "save_only_these_names",
]
