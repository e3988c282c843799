"""``associative_scan``: JAX's parallel prefix scan (odd/even recursive doubling).

Composed from ``slice``, ``pad``, ``concatenate`` and the user's operator, so it has no rules
of its own and inherits grad/vmap/jit from them. No identity element is needed: the
recursion combines adjacent pairs, scans the half-length result, and fills in the even
positions from it (the scheme of ``jax.lax.associative_scan``), so any associative
operator works, commutative or not.
"""

from __future__ import annotations

from funcgrad import tree_util as tu
from funcgrad._src.core import canonicalize_axis
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax.common import as_operand, get_aval
from funcgrad._src.lax.elementwise import add, bitwise_or


def _slice(x, start, limit, stride, axis):
    """``x[start:limit:stride]`` along ``axis`` (``limit`` None or negative as in Python)."""
    start, limit, stride = slice(start, limit, stride).indices(get_aval(x).shape[axis])
    return lsl.slice_in_dim(x, start, max(start, limit), stride, axis)


def _interleave(a, b, axis):
    """``a[0], b[0], a[1], b[1], ...`` along ``axis`` (``a`` as long as ``b`` or one longer)."""
    na, nb = get_aval(a).shape[axis], get_aval(b).shape[axis]
    a_cfg = [(0, 0, 0)] * get_aval(a).ndim
    b_cfg = [(0, 0, 0)] * get_aval(b).ndim
    a_cfg[axis] = (0, 1 if na == nb else 0, 1)
    b_cfg[axis] = (1, 0 if na == nb else 1, 1)
    op = bitwise_or if get_aval(a).dtype.kind == "b" else add
    zero = False if get_aval(a).dtype.kind == "b" else 0
    return op(lsl.pad(a, zero, a_cfg), lsl.pad(b, zero, b_cfg))


def _scan(combine, elems, axis):
    n = get_aval(elems[0]).shape[axis]
    if n < 2:
        return elems
    reduced = combine(
        [_slice(e, 0, -1, 2, axis) for e in elems], [_slice(e, 1, None, 2, axis) for e in elems]
    )
    odd = _scan(combine, reduced, axis)
    if n % 2 == 0:
        even = combine(
            [_slice(e, 0, -1, 1, axis) for e in odd], [_slice(e, 2, None, 2, axis) for e in elems]
        )
    else:
        even = combine(odd, [_slice(e, 2, None, 2, axis) for e in elems])
    even = [lsl.concatenate([_slice(e, 0, 1, 1, axis), r], axis) for e, r in zip(elems, even)]
    return [_interleave(e, o, axis) for e, o in zip(even, odd)]


def _combiner(fn, tree):
    def combine(a_flat, b_flat):
        c = fn(tu.tree_unflatten(tree, a_flat), tu.tree_unflatten(tree, b_flat))
        c_flat, c_tree = tu.tree_flatten(c)
        if c_tree != tree:
            raise TypeError(
                f"associative_scan: fn must return a pytree of the structure of elems "
                f"({tree}), got {c_tree}"
            )
        return [as_operand(x) for x in c_flat]

    return combine


def associative_scan(fn, elems, reverse=False, axis=0):
    """An inclusive scan of an associative ``fn``, in parallel (``jax.lax.associative_scan``).

    ``fn`` need not be commutative and needs no identity element: with elements
    ``x0, x1, x2, ...`` the result is ``x0, fn(x0, x1), fn(fn(x0, x1), x2), ...`` (up to
    re-association), computed in ``O(log n)`` rounds of ``fn`` applied to whole slices.

    Args:
      fn: an associative function of two pytrees of the structure of ``elems`` (whose leaves
        are slices of ``elems``' leaves along ``axis``) returning one such pytree; it must
        work elementwise on slices of any length (it is applied vectorised).
      elems: a pytree of arrays, all of the same size along ``axis``.
      reverse: scan from the end of the axis: reverses the elements, scans, and reverses
        the result, as JAX does.
      axis: the static axis to scan along (negative counts from the end).

    Returns:
      A pytree of the structure, shapes and dtypes of ``elems``.

    Raises:
      ValueError: if the leaves differ in size along ``axis`` or ``axis`` is out of bounds.
      TypeError: if ``fn`` returns another pytree structure.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.lax.associative_scan(fnp.multiply, fnp.array([2.0, 3.0, 4.0, 5.0]))
    Array([  2.,   6.,  24., 120.], dtype=float32)
    """
    flat, tree = tu.tree_flatten(elems)
    flat = [as_operand(x) for x in flat]
    if not flat:
        return elems
    axis = canonicalize_axis(axis, get_aval(flat[0]).ndim)
    sizes = [get_aval(x).shape[axis] if get_aval(x).ndim > axis else None for x in flat]
    if any(s != sizes[0] for s in sizes):
        raise ValueError(
            "Array inputs to associative_scan must have the same first dimension. "
            f"(saw: {[get_aval(x).shape for x in flat]})"
        )
    if reverse:
        flat = [ls.rev(x, (axis,)) for x in flat]
    out = _scan(_combiner(fn, tree), flat, axis)
    if reverse:
        out = [ls.rev(x, (axis,)) for x in out]
    return tu.tree_unflatten(tree, out)
