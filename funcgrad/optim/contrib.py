"""``funcgrad.optim.contrib``: Optax's contributed transformations (``reduce_on_plateau``)."""

__all__ = []
