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
    """Rematerialisation: in reverse mode, ``fun``'s intermediates are recomputed during the
    backward pass instead of being stored (saves memory, costs one more forward pass)."""
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
