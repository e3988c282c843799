"""Debugging inside transformations: ``debug_callback`` and ``debug_print``.

Both are one primitive, ``debug_callback``: it has no outputs and the parameter
``effect=True``. Passes over the IR (DCE and friends) must keep equations whose params have
``effect=True`` even though nothing uses their (zero) outputs. Its rules:

- impl: calls the Python callback with numpy arrays, returns nothing;
- abstract eval: no outputs; under staging (``make_jaxpr``, ``jit``) the equation stays in the
  jaxpr, so evaluating the jaxpr calls the callback at run time;
- jvp: calls the callback on the primal values only (tangents are not passed);
- vjp: nothing to pull back (the forward pass already called it);
- vmap: calls the callback once per batch element, in order, with that element's values
  (unbatched arguments are passed whole). Under nested vmaps every element is visited once,
  but the innermost vmap's axis is the outer loop (the order is not row-major).

Inside ``jit`` a callback is staged even when its arguments are all constants (omnistaging),
so it runs each time the compiled program runs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from funcgrad import tree_util as tu
from funcgrad._src import ad, batching, core
from funcgrad._src.core import Primitive
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax.common import as_operand

debug_callback_p = Primitive("debug_callback", multiple_results=True)


def _impl(*args, callback, effect=True):
    callback(*[np.asarray(a) for a in args])
    return []


def _jvp(primals, tangents, callback, effect=True):
    debug_callback_p.bind(*primals, callback=callback, effect=effect)
    return [], []


def _vjp(cts, primals, outs, callback, effect=True):
    return [None] * len(primals)


def _index(x, d, i):
    if d is None:
        return x
    return ls.squeeze(lsl.slice_in_dim(x, i, i + 1, axis=d), (d,))


def _vmap(vals, dims, axis_size, callback, effect=True):
    for i in range(axis_size):
        debug_callback_p.bind(
            *[_index(v, d, i) for v, d in zip(vals, dims)], callback=callback, effect=effect
        )
    return [], []


core.impl_rules[debug_callback_p] = _impl
core.abstract_eval_rules[debug_callback_p] = lambda *avals, callback, effect=True: []
ad.jvp_rules[debug_callback_p] = _jvp
ad.vjp_rules[debug_callback_p] = _vjp
batching.vmap_rules[debug_callback_p] = _vmap


def debug_callback(callback: Callable, *args, **kwargs) -> None:
    """Call ``callback(*args, **kwargs)`` with concrete numpy values, eagerly or from inside
    grad / jvp / vmap / jit (where it runs when the staged program runs).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> seen = []
    >>> _ = fg.grad(lambda x: (debug_callback(seen.append, x), x * x)[1])(3.0)
    >>> [float(v) for v in seen]
    [3.0]
    """
    leaves, tree = tu.tree_flatten((args, kwargs))
    leaves = [as_operand(x) for x in leaves]

    def flat_callback(*vals):
        a, kw = tu.tree_unflatten(tree, list(vals))
        callback(*a, **kw)

    flat_callback.__name__ = getattr(callback, "__name__", "callback")
    debug_callback_p.bind(*leaves, callback=flat_callback, effect=True)


def _as_arrays(tree):
    from funcgrad._src.array import array_from_user

    return tu.tree_map(lambda v: array_from_user(np.asarray(v)), tree)


def debug_print(fmt: str, *args, **kwargs) -> None:
    """``print(fmt.format(*args, **kwargs))`` with the runtime values, also under
    transformations (unlike Python's ``print``, which sees tracers). The values are
    formatted as funcgrad arrays (``str`` as numpy's; inside containers their ``repr``,
    ``Array([...], dtype=float32)``, as JAX prints ``jax.Array``).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.vmap(lambda x: debug_print("x = {}", x))(fnp.arange(2.0))
    x = 0.0
    x = 1.0
    """

    def show(*a, **kw):
        print(fmt.format(*_as_arrays(a), **_as_arrays(kw)))

    debug_callback(show, *args, **kwargs)


__all__ = ["debug_callback", "debug_print", "debug_callback_p"]
