"""``checkpoint``/``remat``: recompute a function's intermediates in the backward pass instead
of storing them."""

from __future__ import annotations

import functools
from collections.abc import Callable

from funcgrad import tree_util as tu
from funcgrad._src.api_util import _flatten_args, _fun_name
from funcgrad._src.custom_derivatives import (
    _has_tracers,
    _merge_nondiff,
    _split_nondiff,
    _trace_flat,
)
from funcgrad._src.lax.call import remat_p


def checkpoint(fun: Callable, prevent_cse: bool = True, policy=None, static_argnums=()):
    """Rematerialisation (``jax.checkpoint``; ``remat`` is the same function).

    In reverse mode, ``fun``'s intermediates are recomputed during the backward pass
    instead of being stored (saves memory, costs one more forward pass). Called with no
    traced argument, ``fun`` simply runs. Under ``jit`` the compiler inlines the call and
    merges common subexpressions, so the recomputation may be merged with the forward pass
    (memory is then managed by the compiled code as without ``checkpoint``).

    Args:
      fun: a function of positional arguments (pytrees of arrays) returning a pytree of
        arrays.
      prevent_cse: accepted and ignored (see above).
      policy: accepted and ignored: everything inside is recomputed (JAX's
        ``checkpoint_policies`` are not implemented).
      static_argnums: an int or sequence of ints: positional arguments passed as Python
        values, not traced.

    Returns:
      A function of ``fun``'s positional arguments (no keyword arguments) with the same
      outputs.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.grad(fg.checkpoint(lambda x: fnp.sin(fnp.sin(x))))(0.0)
    Array(1., dtype=float32, weak_type=True)
    """
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @functools.wraps(fun)
    def wrapped(*args):
        nd, diff = _split_nondiff(args, static)
        flat, in_tree = _flatten_args(tuple(diff))
        if not _has_tracers(flat):
            return fun(*args)
        store = {}
        f = lambda *d: fun(*_merge_nondiff(nd, d, static, len(args)))
        jaxpr, consts = _trace_flat(f, flat, in_tree, store)
        outs = remat_p.bind(*consts, *flat, jaxpr=jaxpr, name=_fun_name(fun))
        return tu.tree_unflatten(store["tree"], outs)

    return wrapped


remat = checkpoint
