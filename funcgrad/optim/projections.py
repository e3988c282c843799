"""``funcgrad.optim.projections``: Optax's Euclidean projections of pytrees (onto boxes,
balls, spheres, the simplex, hyperplanes), for projected gradient descent.

>>> import funcgrad.numpy as fnp
>>> from funcgrad.optim import projections
>>> [round(float(v), 3) for v in projections.projection_simplex(fnp.array([0.5, 1.5, -1.0]))]
[0.0, 1.0, 0.0]
"""

from __future__ import annotations

from typing import Any

import funcgrad.numpy as fnp
from funcgrad import tree_util as tu
from funcgrad.optim import tree_utils as otu
from funcgrad.optim._loss_class import _projection_simplex

__all__ = [
    "projection_box",
    "projection_halfspace",
    "projection_hypercube",
    "projection_hyperplane",
    "projection_l1_ball",
    "projection_l1_sphere",
    "projection_l2_ball",
    "projection_l2_sphere",
    "projection_linf_ball",
    "projection_non_negative",
    "projection_simplex",
    "projection_vector",
]


def projection_non_negative(tree: Any) -> Any:
    """The projection onto the non-negative orthant: ``max(x, 0)`` leaf by leaf.

    Args:
      tree: a pytree of arrays.

    Returns:
      The projected pytree.
    """
    return tu.tree_map(lambda x: fnp.maximum(x, 0), tree)


def _like(bound, tree):
    if tu.tree_structure(bound) == tu.tree_structure(tree):
        return bound
    return tu.tree_map(lambda x: bound, tree)


def projection_box(tree: Any, lower: Any, upper: Any) -> Any:
    """The projection onto the box ``lower <= x <= upper`` (clipping leaf by leaf).

    Args:
      tree: a pytree of arrays.
      lower: the lower bounds (a pytree like ``tree``, or one scalar for all).
      upper: the upper bounds (a pytree like ``tree``, or one scalar for all).

    Returns:
      The projected pytree.
    """
    return tu.tree_map(fnp.clip, tree, _like(lower, tree), _like(upper, tree))


def projection_hypercube(tree: Any, scale=1) -> Any:
    """The projection onto the hypercube ``0 <= x <= scale``.

    Args:
      tree: a pytree of arrays.
      scale: the side of the cube.

    Returns:
      The projected pytree.
    """
    return projection_box(tree, 0, scale)


def _ravel(tree):
    leaves, td = tu.tree_flatten(tree)
    flat = fnp.concatenate([fnp.reshape(x, (-1,)) for x in leaves])
    sizes = [int(fnp.size(x)) for x in leaves]

    def unravel(v):
        out, i = [], 0
        for x, n in zip(leaves, sizes):
            out.append(fnp.reshape(v[i : i + n], fnp.shape(x)))
            i += n
        return tu.tree_unflatten(td, out)

    return flat, unravel


def projection_simplex(tree: Any, scale=1) -> Any:
    """The projection onto the simplex ``{x >= 0, sum(x) = scale}`` of all leaves together.

    Args:
      tree: a pytree of arrays.
      scale: the sum of the result.

    Returns:
      The projected pytree.
    """
    flat, unravel = _ravel(tree)
    return unravel(scale * _projection_simplex(flat / scale))


def projection_l1_sphere(tree: Any, scale=1) -> Any:
    """The projection onto the l1 sphere ``||x||_1 = scale``.

    Args:
      tree: a pytree of arrays.
      scale: the radius.

    Returns:
      The projected pytree.
    """
    proj = projection_simplex(tu.tree_map(fnp.abs, tree), scale)
    return otu.tree_mul(tu.tree_map(fnp.sign, tree), proj)


def projection_l1_ball(tree: Any, scale=1) -> Any:
    """The projection onto the l1 ball ``||x||_1 <= scale``.

    Args:
      tree: a pytree of arrays.
      scale: the radius.

    Returns:
      The projected pytree.
    """
    inside = otu.tree_norm(tree, ord=1) <= scale
    return otu.tree_where(inside, tree, projection_l1_sphere(tree, scale))


def projection_l2_sphere(tree: Any, scale=1) -> Any:
    """The projection onto the l2 sphere ``||x||_2 = scale``.

    Args:
      tree: a pytree of arrays.
      scale: the radius.

    Returns:
      The projected pytree.
    """
    return otu.tree_scale(scale / otu.tree_norm(tree), tree)


def projection_l2_ball(tree: Any, scale=1) -> Any:
    """The projection onto the l2 ball ``||x||_2 <= scale``.

    Args:
      tree: a pytree of arrays.
      scale: the radius.

    Returns:
      The projected pytree.
    """
    sq = otu.tree_norm(tree, squared=True)
    return otu.tree_scale(scale / fnp.sqrt(fnp.maximum(sq, scale**2)), tree)


def projection_linf_ball(tree: Any, scale=1) -> Any:
    """The projection onto the l-infinity ball ``max |x| <= scale``.

    Args:
      tree: a pytree of arrays.
      scale: the radius.

    Returns:
      The projected pytree.
    """
    return projection_box(tree, otu.tree_full_like(tree, -scale), otu.tree_full_like(tree, scale))


def projection_vector(x: Any, a: Any) -> Any:
    """The projection of ``x`` onto the line spanned by ``a``.

    Args:
      x: a pytree of arrays.
      a: a pytree like ``x``.

    Returns:
      ``(<x, a> / <a, a>) a``.
    """
    return otu.tree_scale(otu.tree_vdot(x, a) / otu.tree_vdot(a, a), a)


def projection_hyperplane(x: Any, a: Any, b) -> Any:
    """The projection onto the hyperplane ``<a, x> = b``.

    Args:
      x: a pytree of arrays.
      a: the normal, a pytree like ``x``.
      b: the offset.

    Returns:
      The projected pytree.
    """
    scalar = (b - otu.tree_vdot(x, a)) / otu.tree_vdot(a, a)
    return otu.tree_add_scale(x, scalar, a)


def projection_halfspace(x: Any, a: Any, b) -> Any:
    """The projection onto the half-space ``<a, x> <= b``.

    Args:
      x: a pytree of arrays.
      a: the normal, a pytree like ``x``.
      b: the offset.

    Returns:
      The projected pytree.
    """
    scalar = fnp.minimum((b - otu.tree_vdot(x, a)) / otu.tree_vdot(a, a), 0)
    return otu.tree_add_scale(x, scalar, a)
