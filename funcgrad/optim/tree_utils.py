"""``funcgrad.optim.tree_utils``: Optax's pytree maths and optimizer-state lookups.

>>> import funcgrad as fg, funcgrad.numpy as fnp
>>> from funcgrad.optim import tree_utils as otu
>>> opt = fg.optim.adam(0.1)
>>> state = opt.init({"w": fnp.zeros(2)})
>>> int(otu.tree_get(state, "count"))
0
>>> float(otu.tree_l2_norm({"a": fnp.array([3.0]), "b": fnp.array([4.0])}))
5.0
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import random as frandom
from funcgrad import tree_util as tu

__all__ = [
    "NamedTupleKey",
    "tree_add",
    "tree_add_scale",
    "tree_allclose",
    "tree_batch_shape",
    "tree_bias_correction",
    "tree_cast",
    "tree_cast_like",
    "tree_clip",
    "tree_conj",
    "tree_div",
    "tree_dtype",
    "tree_full_like",
    "tree_get",
    "tree_get_all_with_path",
    "tree_l1_norm",
    "tree_l2_norm",
    "tree_linf_norm",
    "tree_map_params",
    "tree_max",
    "tree_min",
    "tree_random_like",
    "tree_mul",
    "tree_norm",
    "tree_ones_like",
    "tree_real",
    "tree_scale",
    "tree_set",
    "tree_size",
    "tree_split_key_like",
    "tree_sub",
    "tree_sum",
    "tree_update_infinity_moment",
    "tree_update_moment",
    "tree_update_moment_per_elem_norm",
    "tree_vdot",
    "tree_where",
    "tree_zeros_like",
]

_tm = tu.tree_map


def _is_none(x):
    return x is None


# ---- arithmetic ---------------------------------------------------------------------------------


def tree_add(tree_x: Any, tree_y: Any, *other_trees: Any) -> Any:
    """The leafwise sum of two or more trees of the same structure.

    Args:
      tree_x: a pytree of arrays.
      tree_y: a pytree of the same structure.
      *other_trees: more such pytrees.

    Returns:
      ``tree_x + tree_y + ...`` leaf by leaf.
    """
    return _tm(lambda *leaves: sum(leaves[1:], leaves[0]), tree_x, tree_y, *other_trees)


def tree_sub(tree_x: Any, tree_y: Any) -> Any:
    """``tree_x - tree_y`` leaf by leaf.

    Args:
      tree_x: a pytree of arrays.
      tree_y: a pytree of the same structure.

    Returns:
      The difference, a pytree.
    """
    return _tm(operator.sub, tree_x, tree_y)


def tree_mul(tree_x: Any, tree_y: Any) -> Any:
    """``tree_x * tree_y`` leaf by leaf.

    Args:
      tree_x: a pytree of arrays.
      tree_y: a pytree of the same structure.

    Returns:
      The product, a pytree.
    """
    return _tm(operator.mul, tree_x, tree_y)


def tree_div(tree_x: Any, tree_y: Any) -> Any:
    """``tree_x / tree_y`` leaf by leaf.

    Args:
      tree_x: a pytree of arrays.
      tree_y: a pytree of the same structure.

    Returns:
      The quotient, a pytree.
    """
    return _tm(operator.truediv, tree_x, tree_y)


def tree_scale(scalar, tree: Any) -> Any:
    """``scalar * tree`` leaf by leaf.

    Args:
      scalar: a number or scalar array.
      tree: a pytree of arrays.

    Returns:
      The scaled pytree.
    """
    return _tm(lambda x: scalar * x, tree)


def tree_add_scale(tree_x: Any, scalar, tree_y: Any) -> Any:
    """``tree_x + scalar * tree_y`` leaf by leaf (None leaves of ``tree_x`` stay None).

    Args:
      tree_x: a pytree of arrays.
      scalar: a number or scalar array.
      tree_y: a pytree of the same structure.

    Returns:
      The pytree ``tree_x + scalar * tree_y``.
    """
    scalar = fnp.asarray(scalar)
    return _tm(lambda x, y: None if x is None else x + scalar * y, tree_x, tree_y, is_leaf=_is_none)


def tree_vdot(tree_x: Any, tree_y: Any):
    """The inner product ``sum(vdot(x, y))`` over all leaves (conjugating ``tree_x``).

    Args:
      tree_x: a pytree of arrays.
      tree_y: a pytree of the same structure and shapes.

    Returns:
      A scalar.
    """
    vdots = tu.tree_leaves(
        _tm(lambda a, b: fnp.vdot(fnp.asarray(a), fnp.asarray(b)), tree_x, tree_y)
    )
    return functools.reduce(operator.add, vdots, 0)


def tree_sum(tree: Any, associative_reduction: bool = False):
    """The sum of all elements of all leaves.

    Args:
      tree: a pytree of arrays.
      associative_reduction: accepted for Optax compatibility (the order is the leaves').

    Returns:
      A scalar (0 for an empty tree).
    """
    return functools.reduce(operator.add, [fnp.sum(x) for x in tu.tree_leaves(tree)], 0)


def _reduce_leaves(tree, fn, combine, init):
    vals = [fn(x) for x in tu.tree_leaves(tree) if fnp.size(x) > 0]
    return functools.reduce(combine, vals, init)


def tree_max(tree: Any):
    """The largest element over all leaves (``-inf`` for an empty tree).

    Args:
      tree: a pytree of arrays.

    Returns:
      A scalar.
    """
    return _reduce_leaves(tree, fnp.max, fnp.maximum, -float("inf"))


def tree_min(tree: Any):
    """The smallest element over all leaves (``inf`` for an empty tree).

    Args:
      tree: a pytree of arrays.

    Returns:
      A scalar.
    """
    return _reduce_leaves(tree, fnp.min, fnp.minimum, float("inf"))


def tree_size(tree: Any) -> int:
    """The total number of elements of all leaves.

    Args:
      tree: a pytree of arrays.

    Returns:
      An int.
    """
    return sum(int(fnp.size(x)) for x in tu.tree_leaves(tree))


def tree_conj(tree: Any) -> Any:
    """The complex conjugate of every leaf.

    Args:
      tree: a pytree of arrays.

    Returns:
      A pytree.
    """
    return _tm(fnp.conj, tree)


def tree_real(tree: Any) -> Any:
    """The real part of every leaf.

    Args:
      tree: a pytree of arrays.

    Returns:
      A pytree.
    """
    return _tm(fnp.real, tree)


def _abs_sq(x):
    x = fnp.asarray(x)
    if np.dtype(x.dtype).kind == "c":
        return fnp.square(fnp.real(x)) + fnp.square(fnp.imag(x))
    return fnp.square(x)


def tree_norm(tree: Any, ord=None, squared: bool = False):
    """The norm of all leaves together: ``ord`` None or 2 (Euclidean), 1, or ``inf``.

    Args:
      tree: a pytree of arrays.
      ord: None/2, 1, or ``inf`` (``fnp.inf``, ``"inf"``, ``"infinity"``).
      squared: return the squared norm.

    Returns:
      A scalar array.

    Raises:
      ValueError: for another ``ord``.
    """
    if ord is None or ord == 2:
        sq = tree_sum(_tm(_abs_sq, tree))
        return fnp.asarray(sq if squared else fnp.sqrt(sq))
    if ord == 1:
        out = tree_sum(_tm(fnp.abs, tree))
    elif ord in ("inf", "infinity") or ord == float("inf"):
        out = tree_max(_tm(fnp.abs, tree))
    else:
        raise ValueError(f"Unsupported ord: {ord}")
    return fnp.asarray(_abs_sq(out) if squared else out)


def tree_l2_norm(tree: Any, squared: bool = False):
    """The Euclidean norm of all leaves together (Optax's deprecated name of ``tree_norm``).

    Args:
      tree: a pytree of arrays.
      squared: return the squared norm.

    Returns:
      A scalar array.
    """
    return tree_norm(tree, 2, squared)


def tree_l1_norm(tree: Any):
    """The sum of absolute values of all leaves (``tree_norm(tree, ord=1)``).

    Args:
      tree: a pytree of arrays.

    Returns:
      A scalar array.
    """
    return tree_norm(tree, 1)


def tree_linf_norm(tree: Any):
    """The largest absolute value over all leaves (``tree_norm(tree, ord="inf")``).

    Args:
      tree: a pytree of arrays.

    Returns:
      A scalar array.
    """
    return tree_norm(tree, "inf")


def tree_batch_shape(tree: Any, shape: tuple = ()) -> Any:
    """Broadcast every leaf to ``shape + leaf.shape``.

    Args:
      tree: a pytree of arrays.
      shape: the leading batch shape.

    Returns:
      A pytree.
    """
    return _tm(lambda x: fnp.broadcast_to(x, (*shape, *fnp.shape(x))), tree)


def tree_zeros_like(tree: Any, dtype=None) -> Any:
    """Zeros like every leaf.

    Args:
      tree: a pytree of arrays.
      dtype: the dtype of the result (default: each leaf's).

    Returns:
      A pytree.
    """
    return _tm(lambda x: fnp.zeros_like(x, dtype=dtype), tree)


def tree_ones_like(tree: Any, dtype=None) -> Any:
    """Ones like every leaf.

    Args:
      tree: a pytree of arrays.
      dtype: the dtype of the result (default: each leaf's).

    Returns:
      A pytree.
    """
    return _tm(lambda x: fnp.ones_like(x, dtype=dtype), tree)


def tree_full_like(tree: Any, fill_value, dtype=None) -> Any:
    """``fill_value`` in the shape of every leaf.

    Args:
      tree: a pytree of arrays.
      fill_value: the value.
      dtype: the dtype of the result (default: each leaf's).

    Returns:
      A pytree.
    """
    return _tm(lambda x: fnp.full_like(x, fill_value, dtype=dtype), tree)


def tree_clip(tree: Any, min_value=None, max_value=None) -> Any:
    """Clip every leaf to ``[min_value, max_value]``.

    Args:
      tree: a pytree of arrays.
      min_value: the lower bound, or None.
      max_value: the upper bound, or None.

    Returns:
      A pytree.
    """
    return _tm(lambda g: fnp.clip(g, min_value, max_value), tree)


def tree_where(condition, tree_x: Any, tree_y: Any) -> Any:
    """``where(condition, x, y)`` leaf by leaf.

    Args:
      condition: a boolean (scalar or broadcastable) array.
      tree_x: the values where ``condition`` holds.
      tree_y: the values elsewhere.

    Returns:
      A pytree.
    """
    return _tm(lambda x, y: fnp.where(condition, x, y), tree_x, tree_y)


def tree_allclose(a: Any, b: Any, rtol=1e-5, atol=1e-8, equal_nan: bool = False):
    """Whether every leaf of ``a`` is close to the one of ``b``.

    Args:
      a: a pytree of arrays.
      b: a pytree of the same structure.
      rtol: the relative tolerance.
      atol: the absolute tolerance.
      equal_nan: treat NaNs as equal.

    Returns:
      A bool (scalar array).
    """
    close = _tm(lambda x, y: fnp.allclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan), a, b)
    return functools.reduce(operator.and_, tu.tree_leaves(close), True)


# ---- moments ------------------------------------------------------------------------------------


def tree_update_moment(updates, moments, decay, order):
    """The moving average ``(1 - decay) * g ** order + decay * m`` of every leaf.

    Args:
      updates: the new values ``g``.
      moments: the averages so far ``m``.
      decay: the decay.
      order: the power of ``g``.

    Returns:
      The new averages.
    """

    def one(g, t):
        return None if g is None else (1 - decay) * g**order + decay * t

    return _tm(one, updates, moments, is_leaf=_is_none)


def tree_update_infinity_moment(updates, moments, decay, eps):
    """The infinity-norm moment ``max(|g| + eps, decay * m)`` of every leaf (AdaMax).

    Args:
      updates: the new values ``g``.
      moments: the moments so far ``m``.
      decay: the decay.
      eps: added to ``|g|``.

    Returns:
      The new moments.
    """

    def one(g, t):
        return None if g is None else fnp.maximum(fnp.abs(g) + eps, decay * t)

    return _tm(one, updates, moments, is_leaf=_is_none)


def tree_update_moment_per_elem_norm(updates, moments, decay, order):
    """The moving average of ``|g| ** order`` (``g ** order`` for real ``g``).

    Args:
      updates: the new values ``g``.
      moments: the averages so far.
      decay: the decay.
      order: the power.

    Returns:
      The new averages.
    """

    def norm(g):
        if np.dtype(fnp.asarray(g).dtype).kind != "c":
            return g**order
        half = order / 2
        return _abs_sq(g) ** (int(half) if float(half).is_integer() else half)

    def one(g, t):
        return None if g is None else (1 - decay) * norm(g) + decay * t

    return _tm(one, updates, moments, is_leaf=_is_none)


def tree_bias_correction(moment, decay, count):
    """Adam's bias correction ``m / (1 - decay ** count)`` of every leaf.

    Args:
      moment: a pytree of averages.
      decay: their decay.
      count: the step count (from 1).

    Returns:
      The corrected pytree.
    """
    c = 1 - decay ** fnp.asarray(count).astype(np.float32)
    return _tm(lambda t: t / fnp.asarray(c).astype(t.dtype), moment)


# ---- casting ------------------------------------------------------------------------------------


def tree_cast(tree: Any, dtype) -> Any:
    """Cast every floating (or any, for a non-float dtype) leaf to ``dtype``; None keeps it.

    Args:
      tree: a pytree of arrays.
      dtype: the target dtype, or None for no change.

    Returns:
      A pytree.
    """
    if dtype is None:
        return tree

    def cast(x):
        x = fnp.asarray(x)
        kind = np.dtype(x.dtype).kind
        if np.dtype(dtype).kind in "fc" and kind not in "fc":
            return x
        return x.astype(dtype)

    return _tm(cast, tree)


def tree_cast_like(tree: Any, other_tree: Any) -> Any:
    """Cast every leaf of ``tree`` to the dtype of the matching leaf of ``other_tree``.

    Args:
      tree: a pytree of arrays.
      other_tree: a pytree of the same structure.

    Returns:
      A pytree.
    """
    return _tm(lambda x, o: fnp.asarray(x).astype(fnp.asarray(o).dtype), tree, other_tree)


def tree_dtype(tree: Any, mixed_dtype_handler: str | None = None):
    """The common dtype of the leaves.

    Args:
      tree: a pytree of arrays.
      mixed_dtype_handler: None (raise on mixed dtypes), ``"promote"`` (the promoted dtype)
        or ``"highest"``/``"lowest"`` (by item size).

    Returns:
      A numpy dtype.

    Raises:
      ValueError: for mixed dtypes without a handler, or an unknown handler.
    """
    dtypes = [np.dtype(fnp.asarray(x).dtype) for x in tu.tree_leaves(tree)]
    if not dtypes:
        return np.dtype(np.float32)
    if len(set(dtypes)) == 1:
        return dtypes[0]
    if mixed_dtype_handler == "promote":
        return functools.reduce(np.promote_types, dtypes)
    if mixed_dtype_handler in ("highest", "lowest"):
        pick = max if mixed_dtype_handler == "highest" else min
        return pick(dtypes, key=lambda d: d.itemsize)
    raise ValueError(f"the tree has mixed dtypes {sorted({d.name for d in dtypes})}")


# ---- optimizer-state lookups --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class NamedTupleKey:
    """A path entry naming a field of a NamedTuple state.

    Args:
      tuple_name: the NamedTuple's class name.
      name: the field.
    """

    tuple_name: str
    name: str

    def __str__(self):
        return f"{self.tuple_name}.{self.name}"


def _is_nt(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _children(path, node):
    if _is_nt(node):
        cls = type(node).__name__
        return [((*path, NamedTupleKey(cls, f)), getattr(node, f)) for f in node._fields]
    if isinstance(node, dict):
        return [((*path, tu.DictKey(k)), v) for k, v in node.items()]
    if isinstance(node, (tuple, list)):
        return [((*path, tu.SequenceKey(i)), v) for i, v in enumerate(node)]
    return []


def _find(path, node, key, out):
    if _is_nt(node) and type(node).__name__ == key:
        out.append((path, node))
    for child_path, child in _children(path, node):
        last = child_path[-1]
        name = last.name if isinstance(last, NamedTupleKey) else getattr(last, "key", None)
        if not isinstance(last, tu.SequenceKey) and name == key:
            out.append((child_path, child))
        _find(child_path, child, key, out)


def tree_get_all_with_path(tree: Any, key: Any, filtering: Callable | None = None) -> list:
    """Every ``(path, value)`` in an optimizer state where ``key`` names a NamedTuple field,
    a dict key, or a NamedTuple class (the whole tuple).

    Args:
      tree: an optimizer state (nested tuples, dicts and NamedTuples).
      key: the name looked for.
      filtering: ``filtering(path, value) -> bool`` keeps some of the matches.

    Returns:
      A list of ``(path, value)`` pairs, in depth-first order.
    """
    out = []
    _find((), tree, key, out)
    return [pv for pv in out if filtering is None or filtering(*pv)]


def tree_get(tree: Any, key: Any, default: Any = None, filtering: Callable | None = None) -> Any:
    """The value named ``key`` in an optimizer state (``tree_get(state, "count")``).

    Args:
      tree: an optimizer state.
      key: a NamedTuple field, dict key or NamedTuple class name.
      default: returned when nothing matches.
      filtering: ``filtering(path, value) -> bool`` to pick among several matches.

    Returns:
      The single matching value, or ``default``.

    Raises:
      KeyError: if several values match.
    """
    found = tree_get_all_with_path(tree, key, filtering)
    if len(found) > 1:
        raise KeyError(f"Found multiple values for '{key}' in {tree}.")
    return found[0][1] if found else default


def _set(path, node, kwargs, filtering):
    ok = lambda p, v: filtering is None or filtering(p, v)  # noqa: E731
    if _is_nt(node) and type(node).__name__ in kwargs and ok(path, node):
        return kwargs[type(node).__name__]
    new = []
    for child_path, child in _children(path, node):
        last = child_path[-1]
        name = last.name if isinstance(last, NamedTupleKey) else getattr(last, "key", None)
        if not isinstance(last, tu.SequenceKey) and name in kwargs and ok(child_path, child):
            new.append(kwargs[name])
        else:
            new.append(_set(child_path, child, kwargs, filtering))
    if _is_nt(node):
        return type(node)(*new)
    if isinstance(node, dict):
        return dict(zip(node.keys(), new))
    if isinstance(node, (tuple, list)):
        return type(node)(new)
    return node


def tree_set(tree: Any, filtering: Callable | None = None, /, **kwargs: Any) -> Any:
    """A copy of an optimizer state with the values named by ``kwargs`` replaced
    (``tree_set(state, learning_rate=0.1)``).

    Args:
      tree: an optimizer state.
      filtering: ``filtering(path, value) -> bool`` limits which matches are replaced.
      **kwargs: ``name=new_value`` for NamedTuple fields, dict keys or NamedTuple classes.

    Returns:
      The new state.

    Raises:
      KeyError: if a name matches nothing.
    """
    for key in kwargs:
        if not tree_get_all_with_path(tree, key, filtering):
            extra = " given the filtering operation" if filtering else ""
            raise KeyError(f"Found no values matching '{key}'{extra} in {tree}")
    return _set((), tree, kwargs, filtering)


class _Placeholder:
    """Stands for the parameters while ``tree_map_params`` builds a state."""


tu.register_pytree_node(_Placeholder, lambda x: ((), None), lambda aux, ch: _Placeholder())


def tree_map_params(
    initable, f: Callable, state: Any, /, *rest: Any, transform_non_params=None, is_leaf=None
) -> Any:
    """Apply ``f`` to the parts of an optimizer state shaped like the parameters.

    Args:
      initable: an optimizer (with ``.init``) or an init function.
      f: applied to every parameter-shaped leaf (with the matching leaves of ``rest``).
      state: the optimizer state.
      *rest: more trees passed to ``f``.
      transform_non_params: applied to the other leaves, or None to keep them.
      is_leaf: passed to the tree map over the parameter-shaped parts.

    Returns:
      The mapped state.
    """
    init = initable.init if hasattr(initable, "init") else initable
    skeleton = init(_Placeholder())

    def one(sk, value):
        if isinstance(sk, _Placeholder):
            return _tm(f, value, *rest, is_leaf=is_leaf)
        return value if transform_non_params is None else transform_non_params(value)

    return _tm(one, skeleton, state, is_leaf=lambda v: isinstance(v, _Placeholder))


# ---- random -------------------------------------------------------------------------------------


def tree_split_key_like(rng_key, target_tree: Any) -> Any:
    """One PRNG key per leaf of ``target_tree`` (``random.split`` into the tree's shape).

    Args:
      rng_key: a PRNG key.
      target_tree: a pytree.

    Returns:
      A pytree of ``target_tree``'s structure whose leaves are keys.
    """
    td = tu.tree_structure(target_tree)
    keys = frandom.split(rng_key, td.num_leaves)
    return tu.tree_unflatten(td, [keys[i] for i in range(td.num_leaves)])


def tree_random_like(rng_key, target_tree: Any, sampler: Callable | None = None, dtype=None):
    """Random values shaped like every leaf: ``sampler(key, leaf.shape, dtype)`` with one key
    per leaf (default sampler: ``random.normal``).

    Args:
      rng_key: a PRNG key.
      target_tree: a pytree of arrays.
      sampler: ``sampler(key, shape, dtype) -> array``.
      dtype: the dtype (default: each leaf's).

    Returns:
      A pytree of ``target_tree``'s structure.
    """
    sampler = frandom.normal if sampler is None else sampler
    keys = tree_split_key_like(rng_key, target_tree)
    return _tm(
        lambda x, k: sampler(k, fnp.shape(x), dtype or fnp.asarray(x).dtype), target_tree, keys
    )
