"""Shape primitives: broadcast, reshape, transpose, squeeze/expand, rev, iota (slice, pad,
concatenate and the dynamic slices are in ``slicing.py``)."""

from __future__ import annotations

import operator

from funcgrad._src.core import ValueTypeError, canonicalize_axis, prod
from funcgrad._src.lax.common import (
    Primitive,
    ShapedArray,
    abstract_eval_rules,
    ad,
    as_operand,
    batching,
    dtypes,
    get_aval,
    impl_rules,
    np,
    weak_type_rules,
)
from funcgrad._src.lax.elementwise import convert_element_type


def _ints(xs) -> tuple:
    return tuple(operator.index(x) for x in xs)


# ---- broadcast_in_dim ---------------------------------------------------------------------------

broadcast_in_dim_p = Primitive("broadcast_in_dim")


def _bid_impl(x, shape, broadcast_dimensions):
    expanded = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        expanded[d] = x.shape[i]
    return np.broadcast_to(x.reshape(expanded), shape)


def _check_shape(name: str, shape) -> None:
    """Negative sizes: a ValueTypeError (numpy raises ValueError, JAX TypeError)."""
    if any(d < 0 for d in shape):
        raise ValueTypeError(f"{name}: the shape {tuple(shape)} has a negative size")


def _bid_abstract(x, shape, broadcast_dimensions):
    _check_shape("broadcast_in_dim", shape)
    if (
        len(broadcast_dimensions) != x.ndim
        or any(not 0 <= d < len(shape) for d in broadcast_dimensions)
        or any(x.shape[i] not in (1, shape[d]) for i, d in enumerate(broadcast_dimensions))
    ):
        raise ValueTypeError(
            f"broadcast_in_dim: cannot broadcast {x.str_short()} to shape {shape} "
            f"with broadcast_dimensions={broadcast_dimensions}"
        )
    return ShapedArray(shape, x.dtype, x.weak_type)


impl_rules[broadcast_in_dim_p] = _bid_impl
abstract_eval_rules[broadcast_in_dim_p] = _bid_abstract


def broadcast_in_dim(x, shape, broadcast_dimensions):
    """Broadcast ``x`` to ``shape``, as ``jax.lax.broadcast_in_dim``: axis ``i`` of ``x``
    becomes axis ``broadcast_dimensions[i]`` of the result; the other axes are new.

    Args:
      x: an array.
      shape: the static output shape (a sequence of ints).
      broadcast_dimensions: one static output axis per axis of ``x``, increasing; each axis
        of ``x`` has size 1 or the size of its output axis.

    Returns:
      An array of ``shape`` and ``x``'s dtype (``x`` itself when nothing changes).

    Raises:
      TypeError: if ``x`` cannot be broadcast this way.
    """
    x = as_operand(x)
    shape, bd = _ints(shape), _ints(broadcast_dimensions)
    if get_aval(x).shape == shape and bd == tuple(range(len(shape))):
        return x
    return broadcast_in_dim_p.bind(x, shape=shape, broadcast_dimensions=bd)


def broadcast(x, sizes):
    """Add leading dimensions of the given sizes, as ``jax.lax.broadcast``.

    Args:
      x: an array.
      sizes: the static sizes of the new leading axes.

    Returns:
      An array of shape ``sizes + x.shape`` and ``x``'s dtype.
    """
    nd = get_aval(as_operand(x)).ndim
    shape = _ints(sizes) + get_aval(as_operand(x)).shape
    return broadcast_in_dim(x, shape, tuple(range(len(sizes), len(sizes) + nd)))


def _bid_transpose(ct, x, shape, broadcast_dimensions):
    in_shape = get_aval(x).shape
    new_dims = tuple(d for d in range(len(shape)) if d not in broadcast_dimensions)
    ones = tuple(
        d for i, d in enumerate(broadcast_dimensions) if in_shape[i] == 1 and shape[d] != 1
    )
    summed = reduce_sum(ct, new_dims + ones) if new_dims or ones else ct
    return [reshape(summed, in_shape)]


def _bid_batch(vals, dims, axis_size, shape, broadcast_dimensions):
    (x,) = vals
    x = batching.bdim_at_front(x, dims[0], axis_size)
    new_shape = (axis_size,) + shape
    bd = (0,) + tuple(d + 1 for d in broadcast_dimensions)
    return broadcast_in_dim(x, new_shape, bd), 0


ad.deflinear(broadcast_in_dim_p, _bid_transpose)
batching.vmap_rules[broadcast_in_dim_p] = _bid_batch


def full(shape, fill_value, dtype=None):
    """An array of ``shape`` filled with ``fill_value``, as ``jax.lax.full``.

    Args:
      shape: the static shape (a sequence of ints).
      fill_value: a scalar (a Python number, numpy scalar or rank-0 array).
      dtype: the dtype; by default ``fill_value``'s (weakly typed for a Python number).

    Returns:
      An array of ``shape`` and the chosen dtype.

    Raises:
      TypeError: if ``fill_value`` is not a scalar.
    """
    dtype = dtypes.canonicalize(dtype) if dtype is not None else None
    v = as_operand(fill_value, dtype)
    if dtype is not None:
        v = convert_element_type(v, dtype, weak_type=False)
    return broadcast_in_dim(v, _ints(shape), ())


def zeros(shape, dtype):
    return full(shape, 0, dtype)


ad.ops["zeros"] = zeros
ad.ops["full"] = full
ad.ops["broadcast_in_dim"] = broadcast_in_dim
batching.ops["broadcast_in_dim"] = broadcast_in_dim

# ---- reshape ----------------------------------------------------------------------------------

reshape_p = Primitive("reshape")
impl_rules[reshape_p] = lambda x, new_sizes: np.reshape(x, new_sizes)


def _reshape_abstract(x, new_sizes):
    if prod(new_sizes) != x.size or any(d < 0 for d in new_sizes):
        raise ValueTypeError(
            f"reshape: cannot reshape {x.str_short()} ({x.size} elements) into "
            f"shape {new_sizes} ({prod(new_sizes)} elements)"
        )
    return ShapedArray(new_sizes, x.dtype, x.weak_type)


abstract_eval_rules[reshape_p] = _reshape_abstract


def reshape(x, new_sizes):
    """Reshape ``x`` (row-major order), as ``jax.lax.reshape`` without ``dimensions``.

    Args:
      x: an array.
      new_sizes: the static new shape, with as many elements as ``x`` (no ``-1``: use
        ``funcgrad.numpy.reshape`` for that).

    Returns:
      An array of shape ``new_sizes`` and ``x``'s dtype (``x`` itself when unchanged).

    Raises:
      TypeError: if the element counts differ.
    """
    x = as_operand(x)
    new_sizes = _ints(new_sizes)
    if get_aval(x).shape == new_sizes:
        return x
    return reshape_p.bind(x, new_sizes=new_sizes)


def _reshape_batch(vals, dims, axis_size, new_sizes):
    x = batching.bdim_at_front(vals[0], dims[0], axis_size)
    return reshape(x, (axis_size,) + new_sizes), 0


ad.deflinear(reshape_p, lambda ct, x, new_sizes: [reshape(ct, get_aval(x).shape)])
batching.vmap_rules[reshape_p] = _reshape_batch

# ---- transpose --------------------------------------------------------------------------------

transpose_p = Primitive("transpose")
impl_rules[transpose_p] = lambda x, permutation: np.transpose(x, permutation)


def _transpose_abstract(x, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise ValueTypeError(
            f"transpose: permutation {permutation} is not a permutation of the "
            f"axes of {x.str_short()}"
        )
    return ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype, x.weak_type)


abstract_eval_rules[transpose_p] = _transpose_abstract


def transpose(x, permutation):
    """Permute the axes of ``x``: axis ``i`` of the result is axis ``permutation[i]`` of ``x``.

    Args:
      x: an array.
      permutation: a static permutation of ``range(x.ndim)``.

    Returns:
      An array of ``x``'s dtype and the permuted shape.

    Raises:
      TypeError: if ``permutation`` is not a permutation of the axes.
    """
    x = as_operand(x)
    permutation = _ints(permutation)
    if permutation == tuple(range(len(permutation))):
        return x
    return transpose_p.bind(x, permutation=permutation)


def _transpose_batch(vals, dims, axis_size, permutation):
    d = dims[0]
    perm = tuple(p if p < d else p + 1 for p in permutation)
    perm = (d,) + perm
    return transpose(vals[0], perm), 0


ad.deflinear(
    transpose_p, lambda ct, x, permutation: [transpose(ct, tuple(np.argsort(permutation)))]
)
batching.vmap_rules[transpose_p] = _transpose_batch


def moveaxis(x, src: int, dst: int):
    nd = get_aval(x).ndim
    perm = [i for i in range(nd) if i != src]
    perm.insert(dst, src)
    return transpose(x, perm)


batching.ops["moveaxis"] = moveaxis

# ---- squeeze / expand_dims -------------------------------------------------------------------

squeeze_p = Primitive("squeeze")
impl_rules[squeeze_p] = lambda x, dimensions: np.squeeze(x, dimensions) if dimensions else x


def _squeeze_abstract(x, dimensions):
    if any(x.shape[d] != 1 for d in dimensions):
        raise ValueTypeError(f"squeeze: dimensions {dimensions} of {x.str_short()} are not all 1")
    shape = tuple(s for i, s in enumerate(x.shape) if i not in dimensions)
    return ShapedArray(shape, x.dtype, x.weak_type)


abstract_eval_rules[squeeze_p] = _squeeze_abstract


def squeeze(x, dimensions):
    """Remove the size-1 axes ``dimensions`` of ``x``, as ``jax.lax.squeeze``.

    Args:
      x: an array.
      dimensions: static axes (negative ones count from the end), each of size 1.

    Returns:
      An array of ``x``'s dtype without those axes.

    Raises:
      ValueError: if an axis is out of bounds.
      TypeError: if an axis does not have size 1.
    """
    x = as_operand(x)
    nd = get_aval(x).ndim
    dims = tuple(sorted({canonicalize_axis(d, nd) for d in dimensions}))
    return squeeze_p.bind(x, dimensions=dims) if dims else x


def _squeeze_batch(vals, dims, axis_size, dimensions):
    x = batching.bdim_at_front(vals[0], dims[0], axis_size)
    return squeeze(x, tuple(d + 1 for d in dimensions)), 0


ad.deflinear(squeeze_p, lambda ct, x, dimensions: [reshape(ct, get_aval(x).shape)])
batching.vmap_rules[squeeze_p] = _squeeze_batch

expand_dims_p = Primitive("expand_dims")
impl_rules[expand_dims_p] = lambda x, dimensions: np.expand_dims(x, dimensions)


def _expand_shape(shape, dimensions):
    out = list(shape)
    for d in sorted(dimensions):
        out.insert(d, 1)
    return tuple(out)


abstract_eval_rules[expand_dims_p] = lambda x, dimensions: ShapedArray(
    _expand_shape(x.shape, dimensions), x.dtype, x.weak_type
)


def expand_dims(x, dimensions):
    """Insert size-1 axes at the positions ``dimensions`` of the result.

    Args:
      x: an array.
      dimensions: static axes of the result (negative ones count from its end).

    Returns:
      An array of ``x``'s dtype and rank ``x.ndim + len(dimensions)``.

    Raises:
      ValueError: if a position is out of bounds for the result, or repeated.
    """
    x = as_operand(x)
    nd = get_aval(x).ndim + len(dimensions)
    dims = tuple(sorted(canonicalize_axis(d, nd) for d in dimensions))
    if len(set(dims)) != len(dims):  # (numpy's message; checked before tracing goes on)
        raise ValueError("repeated axis")
    return expand_dims_p.bind(x, dimensions=dims) if dims else x


def _expand_dims_batch(vals, dims, axis_size, dimensions):
    x = batching.bdim_at_front(vals[0], dims[0], axis_size)
    return expand_dims(x, tuple(d + 1 for d in dimensions)), 0


ad.deflinear(expand_dims_p, lambda ct, x, dimensions: [reshape(ct, get_aval(x).shape)])
batching.vmap_rules[expand_dims_p] = _expand_dims_batch

# ---- rev ---------------------------------------------------------------------------------------

rev_p = Primitive("rev")
impl_rules[rev_p] = lambda x, dimensions: np.flip(x, dimensions) if dimensions else x
abstract_eval_rules[rev_p] = lambda x, dimensions: x


def rev(x, dimensions):
    """Reverse ``x`` along the axes ``dimensions``, as ``jax.lax.rev``.

    Args:
      x: an array.
      dimensions: static axes to reverse (negative ones count from the end).

    Returns:
      An array of the shape and dtype of ``x``.

    Raises:
      TypeError: if an axis is out of bounds or repeated (as JAX).
    """
    x = as_operand(x)
    nd = get_aval(x).ndim
    if len(set(dimensions)) != len(tuple(dimensions)):
        raise TypeError(f"rev dimensions must be unique, got {tuple(dimensions)}.")
    if any(not -nd <= operator.index(d) < nd for d in dimensions):
        raise TypeError(
            f"rev dimensions must all be less than operand ndim, got dimensions "
            f"{tuple(dimensions)} for operand ndim {nd}."
        )
    dims = tuple(sorted(canonicalize_axis(d, nd) for d in dimensions))
    return rev_p.bind(x, dimensions=dims) if dims else x


def _rev_batch(vals, dims, axis_size, dimensions):
    d = dims[0]
    return rev(vals[0], tuple(a + (a >= d) for a in dimensions)), d


ad.deflinear(rev_p, lambda ct, x, dimensions: [rev(ct, dimensions)])
batching.vmap_rules[rev_p] = _rev_batch


# ---- iota --------------------------------------------------------------------------------------

iota_p = Primitive("iota")


def _iota_impl(dtype, shape, dimension):
    r = np.arange(shape[dimension], dtype=dtype)
    return np.broadcast_to(
        r.reshape([-1 if i == dimension else 1 for i in range(len(shape))]), shape
    )


impl_rules[iota_p] = _iota_impl


def _iota_abstract(dtype, shape, dimension):
    _check_shape("iota", shape)
    return ShapedArray(shape, dtype, False)


abstract_eval_rules[iota_p] = _iota_abstract
weak_type_rules[iota_p] = lambda w, **p: False
ad.defzero(iota_p)
batching.vmap_rules[iota_p] = lambda vals, dims, axis_size, **p: (_ for _ in ()).throw(
    AssertionError("iota has no operands to batch")
)


def iota(dtype, size: int):
    """The vector ``[0, 1, ..., size - 1]``, as ``jax.lax.iota``.

    Args:
      dtype: the dtype of the result (integer or floating).
      size: the static length.

    Returns:
      A 1-d array of ``dtype`` (not weakly typed).
    """
    return iota_p.bind(dtype=dtypes.canonicalize(dtype), shape=(operator.index(size),), dimension=0)


def broadcasted_iota(dtype, shape, dimension):
    """An array of ``shape`` whose entries are their index along ``dimension``.

    Args:
      dtype: the dtype of the result (integer or floating).
      shape: the static shape.
      dimension: the static, non-negative axis that counts.

    Returns:
      An array of ``shape`` and ``dtype``.
    """
    return iota_p.bind(
        dtype=dtypes.canonicalize(dtype), shape=_ints(shape), dimension=operator.index(dimension)
    )


# ---- conveniences composed from the primitives above -------------------------------------------


def full_like(x, fill_value, dtype=None, shape=None):
    """An array like ``x`` filled with ``fill_value``, as ``jax.lax.full_like``.

    Args:
      x: an array (or tracer) giving the default shape and dtype.
      fill_value: a scalar.
      dtype: the dtype (default ``x``'s).
      shape: the shape (default ``x``'s).

    Returns:
      An array of the chosen shape and dtype (not weakly typed).
    """
    a = get_aval(x)
    return full(a.shape if shape is None else shape, fill_value, dtype or a.dtype)


def zeros_like_array(x):
    """Zeros of the shape and dtype of ``x``.

    Args:
      x: an array.

    Returns:
      An array of zeros of ``x``'s shape and dtype.
    """
    return full_like(x, 0)


from funcgrad._src.lax.reductions import reduce_sum  # noqa: E402  (circular by design)
