"""``fg.debug``: print and call back from inside transformed code (jit, grad, vmap).

>>> import funcgrad as fg, funcgrad.numpy as fnp
>>> f = fg.vmap(lambda x: fg.debug.print("x = {}", x) or x * 2)
>>> _ = f(fnp.arange(2.0))
x = 0.0
x = 1.0
"""

from funcgrad._src.debug import debug_callback as callback  # noqa: F401
from funcgrad._src.debug import debug_print as print  # noqa: F401,A001

__all__ = ["callback", "print"]
