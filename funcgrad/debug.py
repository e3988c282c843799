"""``fg.debug``: print and call back from inside transformed code (jit, grad, vmap).

>>> import funcgrad as fg, funcgrad.numpy as fnp
>>> f = fg.vmap(lambda x: fg.debug.print("x = {}", x) or x * 2)
>>> _ = f(fnp.arange(2.0))
x = 0.0
x = 1.0
"""

from collections.abc import Callable

from funcgrad._src.debug import debug_callback as _debug_callback
from funcgrad._src.debug import debug_print as _debug_print
from funcgrad._src.debugger import breakpoint

__all__ = ["breakpoint", "callback", "print"]


def callback(
    callback: Callable, *args, ordered: bool = False, partitioned: bool = False, **kwargs
) -> None:
    """Call ``callback(*args, **kwargs)`` with concrete numpy values, also under transformations.

    Eagerly it runs at once; under grad / jvp / vmap / jit it runs when the staged program
    runs (under vmap, once per example), never with tracers. Its result is ignored.

    Args:
      callback: a Python function of the (numpy) values.
      *args: positional arguments for ``callback``: pytrees of arrays.
      ordered: accepted for JAX compatibility: funcgrad runs callbacks in program order.
      partitioned: accepted for JAX compatibility (one device).
      **kwargs: keyword arguments for ``callback``: pytrees of arrays.

    >>> import funcgrad as fg
    >>> seen = []
    >>> _ = fg.grad(lambda x: (fg.debug.callback(seen.append, x), x * x)[1])(3.0)
    >>> [float(v) for v in seen]
    [3.0]
    """
    _debug_callback(callback, *args, **kwargs)


def print(fmt: str, *args, ordered: bool = False, **kwargs) -> None:  # noqa: A001
    """``print(fmt.format(*args, **kwargs))`` with the runtime values, also under
    transformations (unlike Python's ``print``, which sees tracers).

    Args:
      fmt: a ``str.format`` template.
      *args: positional values for the template: pytrees of arrays.
      ordered: accepted for JAX compatibility: funcgrad runs callbacks in program order.
      **kwargs: keyword values for the template: pytrees of arrays.
    """
    _debug_print(fmt, *args, **kwargs)
