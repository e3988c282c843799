"""Host callbacks with results: ``pure_callback`` and ``io_callback``.

Each is one primitive carrying the flat Python callback and the result types
(``result_avals``). Rules:

- impl: calls the callback with funcgrad arrays, checks the results against
  ``result_avals`` (JAX's ``RuntimeError`` messages) and returns them as numpy arrays. Under
  ``jit`` the equation is a host step of the compiled program (a numpy ``Fallback`` on the
  CPU target), so the callback runs each time the program runs;
- abstract eval: ``result_avals``;
- jvp / vjp: raise ``ValueError`` as JAX does (wrap the callback in ``custom_jvp`` or
  ``custom_vjp`` to differentiate through it);
- vmap: ``pure_callback`` follows its ``vmap_method`` (``"sequential"``: a ``scan`` calling it
  once per example; ``"expand_dims"`` / ``"broadcast_all"``: one call with the batch axis in
  front, unbatched arguments given a size-1 / full-size axis; ``"legacy_vectorized"``: one
  call, unbatched arguments as they are; None: ``NotImplementedError`` as in jax 0.10);
  ``io_callback`` is sequential, and refuses ``ordered=True`` as JAX does.

``io_callback`` is effectful (``effect=True``: never dropped, merged or folded by the
compiler passes); ``pure_callback`` is not (an unused result may be dropped, as in JAX).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from funcgrad import tree_util as tu
from funcgrad._src import ad, batching, core, dtypes
from funcgrad._src.array import array_from_user
from funcgrad._src.core import Primitive
from funcgrad._src.lax import loops
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax.common import as_operand

pure_callback_p = Primitive("pure_callback", multiple_results=True)
io_callback_p = Primitive("io_callback", multiple_results=True)

VMAP_METHODS = ("sequential", "sequential_unrolled", "expand_dims", "broadcast_all")
_ALLOWED = [*VMAP_METHODS, "legacy_vectorized", None]


class FlatCallback:
    """The user's callback taking the flat argument list (hashable by identity)."""

    def __init__(self, fn: Callable, in_tree):
        self.fn, self.in_tree = fn, in_tree
        self.__name__ = getattr(fn, "__name__", "callback")

    def __call__(self, *flat):
        args, kwargs = tu.tree_unflatten(self.in_tree, list(flat))
        return tu.tree_leaves(self.fn(*args, **kwargs))


def _check_result(i, r, aval):
    r = np.asarray(r)
    if r.shape != aval.shape:
        raise RuntimeError(
            f"Incorrect output shape for return value #{i}: Expected: {aval.shape}, "
            f"Actual: {r.shape}"
        )
    if r.dtype != aval.dtype:
        if dtypes.canonicalize(r.dtype) != aval.dtype or r.dtype.kind != aval.dtype.kind:
            raise RuntimeError(
                f"Incorrect output dtype for return value #{i}: Expected: {aval.dtype}, "
                f"Actual: {r.dtype}"
            )
        r = r.astype(aval.dtype)
    return r


def _impl(*args, callback, result_avals, **_):
    outs = callback(*[array_from_user(np.asarray(a)) for a in args])
    if len(outs) != len(result_avals):
        raise RuntimeError(
            f"Callback {callback.__name__} returned {len(outs)} values, expected "
            f"{len(result_avals)} (the leaves of result_shape_dtypes)"
        )
    return [_check_result(i, r, a) for i, (r, a) in enumerate(zip(outs, result_avals))]


def _abstract(*avals, result_avals, **_):
    return list(result_avals)


def _raiser(msg):
    def rule(*args, **params):
        raise ValueError(msg)

    return rule


_PURE_AD = (
    "Pure callbacks do not support JVP. Please use `fg.custom_jvp` to use callbacks "
    "while taking gradients."
)


def _batched_avals(result_avals, size):
    return tuple(a.update(shape=(size, *a.shape)) for a in result_avals)


def _sequential(prim, vals, dims, size, params):
    """One call per example: a ``scan`` over the batched arguments (JAX's ``lax.map``)."""
    batched = [i for i, d in enumerate(dims) if d is not None]
    xs = [batching.bdim_at_front(vals[i], dims[i], size) for i in batched]

    def body(carry, x):
        args = list(vals)
        for i, v in zip(batched, x):
            args[i] = v
        return carry, prim.bind(*args, **params)

    _, outs = loops.scan(body, (), xs)
    return list(outs), [0] * len(outs)


def _vectorised(prim, vals, dims, size, method, params):
    args = []
    for v, d in zip(vals, dims):
        if d is not None:
            args.append(batching.bdim_at_front(v, d, size))
        elif method == "legacy_vectorized":
            args.append(v)
        else:
            n = size if method == "broadcast_all" else 1
            args.append(
                ls.broadcast_in_dim(
                    v, (n, *core.get_aval(v).shape), tuple(range(1, core.get_aval(v).ndim + 1))
                )
            )
    p = dict(params, result_avals=_batched_avals(params["result_avals"], size))
    outs = prim.bind(*args, **p)
    return outs, [0] * len(outs)


def _pure_vmap(vals, dims, axis_size, **params):
    method = params["vmap_method"]
    if method in ("sequential", "sequential_unrolled"):
        return _sequential(pure_callback_p, vals, dims, axis_size, params)
    if method in ("expand_dims", "broadcast_all", "legacy_vectorized"):
        return _vectorised(pure_callback_p, vals, dims, axis_size, method, params)
    raise NotImplementedError(
        "vmap is only supported for the pure_callback primitive when vmap_method is one of "
        "'sequential', 'sequential_unrolled', 'expand_dims', 'broadcast_all', or "
        f"'legacy_vectorized'. Got vmap_method={method!r}."
    )


def _io_vmap(vals, dims, axis_size, **params):
    if params["ordered"]:
        raise ValueError("Cannot `vmap` ordered IO callback.")
    return _sequential(io_callback_p, vals, dims, axis_size, params)


core.impl_rules[pure_callback_p] = _impl
core.abstract_eval_rules[pure_callback_p] = _abstract
ad.jvp_rules[pure_callback_p] = _raiser(_PURE_AD)
ad.vjp_fwd_rules[pure_callback_p] = _raiser(_PURE_AD)
batching.vmap_rules[pure_callback_p] = _pure_vmap

core.impl_rules[io_callback_p] = _impl
core.abstract_eval_rules[io_callback_p] = _abstract
ad.jvp_rules[io_callback_p] = _raiser("IO callbacks do not support JVP.")
ad.vjp_fwd_rules[io_callback_p] = _raiser("IO callbacks do not support JVP.")
batching.vmap_rules[io_callback_p] = _io_vmap


def _result_avals(result_shape_dtypes):
    leaves, tree = tu.tree_flatten(result_shape_dtypes)
    avals = []
    for x in leaves:
        dt = dtypes.as_dtype(x.dtype)
        if dtypes.canonicalize(dt) != dt:
            raise ValueError(
                "result_shape_dtypes cannot specify 64-bit types when `jax_enable_x64` is disabled"
            )
        avals.append(core.ShapedArray(tuple(x.shape), dt))
    return tuple(avals), tree


def _flat_args(callback, args, kwargs):
    flat, in_tree = tu.tree_flatten((args, kwargs))
    return [as_operand(x) for x in flat], FlatCallback(callback, in_tree)


def pure_callback(
    callback: Callable,
    result_shape_dtypes,
    *args,
    sharding=None,
    vmap_method: str | None = None,
    **kwargs,
):
    """Call a side-effect-free Python function on the host (``jax.pure_callback``).

    Works eagerly and under ``jit`` (the compiled program calls back into Python each time
    it runs) and ``vmap`` (see ``vmap_method``). Not differentiable: under ``grad``/``jvp``
    it raises ``ValueError``; wrap it in :class:`funcgrad.custom_jvp` or
    :class:`funcgrad.custom_vjp` to give it derivatives. Being pure, a call whose results
    are unused may be dropped by the compiler.

    Args:
      callback: ``callback(*args, **kwargs)`` receiving funcgrad arrays and returning a
        pytree of arrays matching ``result_shape_dtypes``.
      result_shape_dtypes: a pytree of objects with ``shape`` and ``dtype``
        (:class:`funcgrad.ShapeDtypeStruct`, arrays).
      *args: pytrees of arrays passed to ``callback``.
      sharding: accepted for JAX compatibility and ignored (one device).
      vmap_method: how ``vmap`` calls it: ``"sequential"`` (once per example),
        ``"sequential_unrolled"`` (the same), ``"expand_dims"`` (once, batched arguments
        with the batch axis in front and the others with a new axis of size 1),
        ``"broadcast_all"`` (once, every argument broadcast to the batch size),
        ``"legacy_vectorized"`` (once, unbatched arguments unchanged); None makes ``vmap``
        raise ``NotImplementedError`` (jax 0.10's default).
      **kwargs: pytrees of arrays passed to ``callback`` as keyword arguments.

    Returns:
      A pytree of arrays of the structure, shapes and dtypes of ``result_shape_dtypes``.

    Raises:
      ValueError: for an unknown ``vmap_method``, 64-bit result types without x64, or
        under differentiation.
      RuntimeError: if the callback's results do not match ``result_shape_dtypes``.

    >>> import numpy as np, funcgrad as fg, funcgrad.numpy as fnp
    >>> f = lambda x: fg.pure_callback(np.sin, fg.ShapeDtypeStruct(x.shape, x.dtype), x)
    >>> fg.jit(f)(fnp.float32(0.0))
    Array(0., dtype=float32)
    """
    if vmap_method not in _ALLOWED:
        raise ValueError(
            f"vmap_method must be on of the allowed methods {_ALLOWED}, but got: {vmap_method}"
        )
    del sharding
    avals, out_tree = _result_avals(result_shape_dtypes)
    flat, cb = _flat_args(callback, args, kwargs)
    outs = pure_callback_p.bind(*flat, callback=cb, result_avals=avals, vmap_method=vmap_method)
    return tu.tree_unflatten(out_tree, outs)


def io_callback(
    callback: Callable, result_shape_dtypes, *args, sharding=None, ordered=False, **kwargs
):
    """Call a Python function with side effects on the host (``jax.experimental.io_callback``).

    Unlike :func:`pure_callback` it is never dropped or merged by the compiler, even when
    its results are unused, and runs in program order. Under ``vmap`` it is called once
    per example (``ordered=True`` refuses ``vmap``, as in JAX); it is not differentiable.

    Args:
      callback: ``callback(*args, **kwargs)`` receiving funcgrad arrays and returning a
        pytree of arrays matching ``result_shape_dtypes`` (None for no results).
      result_shape_dtypes: a pytree of objects with ``shape`` and ``dtype`` (None: none).
      *args: pytrees of arrays passed to ``callback``.
      sharding: accepted for JAX compatibility and ignored (one device).
      ordered: keep the order of ordered effects (funcgrad runs every effect in program
        order); refuses ``vmap``.
      **kwargs: pytrees of arrays passed to ``callback`` as keyword arguments.

    Returns:
      A pytree of arrays of the structure, shapes and dtypes of ``result_shape_dtypes``.

    Raises:
      ValueError: under differentiation, or ``vmap`` with ``ordered=True``.
      RuntimeError: if the callback's results do not match ``result_shape_dtypes``.
    """
    del sharding
    avals, out_tree = _result_avals(result_shape_dtypes)
    flat, cb = _flat_args(callback, args, kwargs)
    outs = io_callback_p.bind(
        *flat, callback=cb, result_avals=avals, ordered=bool(ordered), effect=True
    )
    return tu.tree_unflatten(out_tree, outs)
