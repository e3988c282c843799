"""jax.numpy's rule for Python lists and tuples: most functions reject them.

JAX's functions call ``check_arraylike`` on their array arguments and raise ``TypeError:
sum requires ndarray or scalar arguments, got <class 'list'> at position 0.``; the ones that
build arrays (``array``, ``asarray``, ``stack``, ``concatenate``...) and shape or axis
arguments accept sequences. Each ``funcgrad.numpy`` function JAX checks carries
``@arraylike_args(...)`` naming the positions it checks, as recorded from jax 0.10.2
(``tests/data/make_jax_strictness.py``; ``tests/test_strictness.py`` iterates the record).
"""

from __future__ import annotations

import functools


def check_arraylike(name: str, args, positions) -> None:
    """Raise JAX's ``TypeError`` if an argument at one of ``positions`` is a list or tuple.

    Args:
      name: the function's name (for the message).
      args: the positional arguments.
      positions: the indices of the arguments that must be arrays or scalars.

    Raises:
      TypeError: "<name> requires ndarray or scalar arguments, got <class 'list'> at position i."
    """
    for i in positions:
        if i < len(args) and isinstance(args[i], (list, tuple)):
            raise TypeError(
                f"{name} requires ndarray or scalar arguments, got {type(args[i])} at position {i}."
            )


def arraylike_args(*positions: int):
    """Decorator: the function raises JAX's ``TypeError`` for a list or tuple at ``positions``.

    Args:
      *positions: the indices of the positional arguments that must be arrays or scalars.

    Returns:
      The decorator (the message names the function by its ``__name__`` at call time).
    """

    def wrap(fn):
        @functools.wraps(fn)
        def checked(*args, **kwargs):
            for i in positions:
                if i < len(args) and isinstance(args[i], (list, tuple)):
                    check_arraylike(checked.__name__, args, positions)
            return fn(*args, **kwargs)

        return checked

    return wrap
