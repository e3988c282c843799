"""Equinox's filtered transformations: ``filter_jit``, ``filter_grad``,
``filter_value_and_grad`` and ``filter_vmap`` act on the array leaves of any pytree (modules
included) and treat every other leaf as static, so a module can be passed straight in.
Also ``is_array_like`` and ``apply_updates``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from funcgrad import tree_util as tu
from funcgrad._src.api import grad, value_and_grad
from funcgrad._src.jit import jit
from funcgrad._src.vectorization import vmap
from funcgrad.nn._module import Module, combine, is_array, is_inexact_array, partition

__all__ = [
    "apply_updates",
    "filter_grad",
    "filter_jit",
    "filter_value_and_grad",
    "filter_vmap",
    "is_array_like",
]


def is_array_like(element) -> bool:
    """Whether ``x`` is an array or a Python/numpy scalar (as ``eqx.is_array_like``).

    Args:
      element: any object.

    Returns:
      True for arrays, tracers, numpy scalars and Python ``bool``/``int``/``float``/
      ``complex``.

    >>> is_array_like(1.0), is_array_like("relu")
    (True, False)
    """
    return is_array(element) or isinstance(element, (bool, int, float, complex))


def apply_updates(model, updates):
    """``model + updates`` leaf by leaf; a None update leaves the leaf as it is (Equinox).

    Args:
      model: a pytree (e.g. a module).
      updates: a pytree of the same structure, with None where there is no update (e.g.
        non-differentiable leaves from :func:`filter_grad`).

    Returns:
      The updated pytree.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> apply_updates({"w": fnp.ones(2), "n": 3}, {"w": fnp.ones(2), "n": None})
    {'n': 3, 'w': Array([2., 2.], dtype=float32)}
    """
    add = lambda u, p: p if u is None else p + u
    return tu.tree_map(add, updates, model, is_leaf=lambda x: x is None)


def _bind_self(fun):
    """A bound method of a Module becomes a function of the module (so it is traced)."""
    if isinstance(getattr(fun, "__self__", None), Module):
        return fun.__func__, (fun.__self__,)
    return fun, ()


def filter_jit(fun: Callable | None = None, *, donate: str = "none") -> Callable:
    """``jit`` in which array leaves are traced and every other leaf is static (Equinox).

    Arguments may be any pytrees (modules, functions, Python numbers, strings): the array
    leaves are the inputs of the compiled function; the other leaves must be hashable and
    are part of the cache key (a change recompiles). Outputs may hold non-array leaves too.

    Args:
      fun: the function (or use ``@filter_jit`` / ``@filter_jit()``).
      donate: accepted for compatibility (``"none"``); buffers are not donated.

    Returns:
      The compiled function, called with ``fun``'s arguments.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> @fg.nn.filter_jit
    ... def f(x, act):
    ...     return act(x), "done"
    >>> f(fnp.zeros(2), fnp.tanh)
    (Array([0., 0.], dtype=float32), 'done')
    """
    if fun is None:
        return functools.partial(filter_jit, donate=donate)
    base, bound = _bind_self(fun)
    out_static: dict = {}

    def traced(dynamic, static):
        args, kwargs = combine(dynamic, static.value)
        out = base(*args, **kwargs)
        out_dyn, out_st = partition(out, is_array)
        out_static[static] = out_st
        return out_dyn

    compiled = jit(traced, static_argnums=1)

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        dynamic, static = partition(((*bound, *args), kwargs), is_array)
        key = _Static(static)
        out_dyn = compiled(dynamic, key)
        return combine(out_dyn, out_static[key])

    return wrapped


class _Static:
    """A hashable holder of a pytree of static leaves (compared leaf by leaf)."""

    __slots__ = ("value", "_key")

    def __init__(self, value):
        leaves, td = tu.tree_flatten(value)
        self.value, self._key = value, (td, tuple(leaves))

    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        return isinstance(other, _Static) and self._key == other._key


def _diff_fn(fun, has_aux):
    def split_first(x, *args, **kwargs):
        diff, nondiff = partition(x, is_inexact_array)
        f = lambda d: fun(combine(d, nondiff), *args, **kwargs)
        return f, diff

    return split_first


def filter_grad(fun: Callable, *, has_aux: bool = False) -> Callable:
    """The gradient with respect to the floating array leaves of the first argument.

    As ``eqx.filter_grad``: the other leaves (integers, functions, static fields) are not
    differentiated and come back as None, so the result has the first argument's structure
    and can be passed to :func:`apply_updates` or an optimizer.

    Args:
      fun: a scalar-valued function; its first argument is a pytree (e.g. a module).
      has_aux: ``fun`` returns ``(value, aux)``; the result is then ``(grads, aux)``.

    Returns:
      A function with ``fun``'s arguments returning the gradients (and ``aux``).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> g = fg.nn.filter_grad(lambda p: fnp.sum(p["w"] ** 2))({"w": fnp.ones(2), "n": 3})
    >>> g
    {'n': None, 'w': Array([2., 2.], dtype=float32)}
    """
    split = _diff_fn(fun, has_aux)

    @functools.wraps(fun)
    def wrapped(x, *args, **kwargs):
        f, diff = split(x, *args, **kwargs)
        return grad(f, has_aux=has_aux)(diff)

    return wrapped


def filter_value_and_grad(fun: Callable, *, has_aux: bool = False) -> Callable:
    """``(value, grads)`` with the gradient of :func:`filter_grad`.

    Args:
      fun: a scalar-valued function; its first argument is a pytree (e.g. a module).
      has_aux: ``fun`` returns ``(value, aux)``; the result is ``((value, aux), grads)``.

    Returns:
      A function with ``fun``'s arguments returning ``(value, grads)``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.nn.filter_value_and_grad(lambda p: fnp.sum(p ** 2))(fnp.ones(2))
    (Array(2., dtype=float32), Array([2., 2.], dtype=float32))
    """
    split = _diff_fn(fun, has_aux)

    @functools.wraps(fun)
    def wrapped(x, *args, **kwargs):
        f, diff = split(x, *args, **kwargs)
        return value_and_grad(f, has_aux=has_aux)(diff)

    return wrapped


def _axes_for(spec, tree):
    """One axis (int or None) per array leaf of ``tree`` from a prefix ``spec``."""

    def leaf_axes(s, sub):
        return [(s(x) if callable(s) else s) for x in tu.tree_leaves(sub) if is_array(x)]

    if spec is None or isinstance(spec, int) or callable(spec):
        return leaf_axes(spec, tree)
    nested = tu.tree_map(leaf_axes, spec, tree, is_leaf=lambda x: x is None)
    return [a for sub in tu.tree_leaves(nested, is_leaf=lambda x: isinstance(x, list)) for a in sub]


def filter_vmap(
    fun: Callable,
    in_axes: Any = 0,
    out_axes: Any = 0,
    *,
    axis_name=None,
    axis_size: int | None = None,
) -> Callable:
    """``vmap`` over the array leaves; every other leaf is passed through unbatched (Equinox).

    Args:
      fun: the function to vectorise.
      in_axes: an int or None for every array leaf, or a pytree prefix of the argument
        tuple whose leaves are ints, None or callables ``leaf -> axis`` (non-array leaves
        are never batched).
      out_axes: the axis of every array output (non-array outputs come back as they are).
      axis_name: the name of the batched axis, for collectives.
      axis_size: the batch size, needed when no input is batched.

    Returns:
      The vectorised function.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> lin = fg.nn.Linear(3, 2, key=fg.random.key(0))
    >>> fg.nn.filter_vmap(lambda m, x: m(x), in_axes=(None, 0))(lin, fnp.ones((5, 3))).shape
    (5, 2)
    """

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        base, bound = _bind_self(fun)
        args = (*bound, *args)
        spec = in_axes if not bound or not isinstance(in_axes, tuple) else (None, *in_axes)
        axes = _axes_for(spec, args) + _axes_for(0, kwargs)
        dynamic, static = partition((args, kwargs), is_array)
        leaves, td = tu.tree_flatten(dynamic)
        out_static = []

        def inner(*flat):
            a, k = combine(tu.tree_unflatten(td, list(flat)), static)
            out_dyn, out_st = partition(base(*a, **k), is_array)
            out_static.append(out_st)
            return out_dyn

        out = vmap(inner, tuple(axes), out_axes, axis_name=axis_name, axis_size=axis_size)(*leaves)
        return combine(out, out_static[-1])

    return wrapped
