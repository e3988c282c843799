"""funcgrad.numpy: converting to arrays (``asarray``, ``array``, ``astype``), dtype promotion
(JAX's lattice, weak Python scalars) and broadcasting, plus the small argument helpers the
other ``funcgrad._src.numpy`` modules share.

Written only from lax functions: no rules live in ``funcgrad._src.numpy``."""

from __future__ import annotations

import builtins

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import Array, array_from_user, get_aval
from funcgrad._src.core import Tracer
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy.arraylike import arraylike_args


def _is_array(x) -> bool:
    return isinstance(x, (Array, Tracer))


def asarray(a, dtype=None, order=None, copy=None):
    """Convert ``a`` to a funcgrad array (no copy for a funcgrad array of the right dtype).

    Follows ``jax.numpy.asarray``: 64-bit numpy data becomes 32-bit unless x64 is enabled;
    Python scalars give weakly typed arrays; lists holding traced values are stacked.

    Args:
        a: array, numpy array, Python scalar or nested sequence of them.
        dtype: result dtype; None keeps (or infers) the dtype.
        order: ignored (numpy compatibility).
        copy: ignored (arrays are immutable).

    Returns:
        A funcgrad array (a tracer under transformations).

    Raises:
        TypeError: for values that are not numeric (strings, objects).
        ValueError: for ragged nested sequences.
    """
    if _is_array(a):
        return astype(a, dtype) if dtype is not None else a
    if isinstance(a, (list, tuple)) and any(
        _is_array(x) or isinstance(x, (list, tuple)) for x in a
    ):
        if any(_contains_tracer(x) for x in a) or any(_is_array(x) for x in a):
            from funcgrad._src.numpy.joining import stack  # joining.py builds on this module

            out = stack([asarray(x) for x in a])
            if dtype is None and get_aval(out).weak_type:  # a list is never weak (as in JAX)
                out = le.convert_element_type(out, get_aval(out).dtype, weak_type=False)
            return astype(out, dtype) if dtype is not None else out
    return array_from_user(a, dtype)


def _contains_tracer(x):
    if isinstance(x, Tracer):
        return True
    if isinstance(x, (list, tuple)):
        return builtins.any(_contains_tracer(y) for y in x)
    return False


def array(object, dtype=None, copy=True, order=None, ndmin=0):
    """Convert ``object`` to a funcgrad array, with at least ``ndmin`` dimensions.

    Args:
        object: array, numpy array, Python scalar or nested sequence of them.
        dtype: result dtype; None keeps (or infers) the dtype.
        copy: ignored (arrays are immutable, so sharing is safe).
        order: ignored (numpy compatibility).
        ndmin: minimum number of dimensions; leading size-1 axes are added.

    Returns:
        A funcgrad array.

    Raises:
        TypeError: for values that are not numeric (strings, objects).
        ValueError: for ragged nested sequences.
    """
    out = asarray(object, dtype)
    if ndmin > get_aval(out).ndim:
        out = ls.reshape(out, (1,) * (ndmin - get_aval(out).ndim) + get_aval(out).shape)
    return out


@arraylike_args(0)
def astype(x, dtype, copy=False):
    """``x`` converted to ``dtype`` (floats to integers truncate towards zero).

    Args:
        x: array_like.
        dtype: target dtype (canonicalised: 64-bit types become 32-bit unless x64 is on).
        copy: ignored (arrays are immutable).

    Returns:
        Array of the shape of ``x`` with the new dtype.

    Raises:
        TypeError: if ``dtype`` is not a dtype.
    """
    x = asarray(x)
    return le.convert_element_type(x, dtypes.canonicalize(dtype))


def _typed(x):
    """(dtype, weak) of an operand for promotion."""
    if _is_array(x):
        a = get_aval(x)
        return a.dtype, a.weak_type
    if isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic):
        return dtypes.scalar_type(x)
    return dtypes.canonicalize(np.asarray(x).dtype), False


def _is_dtype_like(a) -> bool:
    return isinstance(a, (np.dtype, type, str, dtypes.BFloat16DType)) or (
        not _is_array(a) and isinstance(getattr(a, "dtype", None), (np.dtype, dtypes.BFloat16DType))
    )


def _promote(*args, to_inexact=False):
    """Promote operands to a common dtype (JAX rules, weak Python scalars)."""
    dt, weak = dtypes.result_type(*[_typed(a) for a in args])
    if to_inexact and dt.kind not in "fc":
        dt, weak = dtypes.default_float(), weak and dt.kind != "b"
    out = []
    for a in args:
        a = asarray(a) if not _is_array(a) else a
        if get_aval(a).dtype != dt or get_aval(a).weak_type != weak:
            a = le.convert_element_type(a, dt, weak_type=weak)
        out.append(a)
    return out


def broadcast_shapes(*shapes):
    """The shape that arrays of the given shapes broadcast to (numpy's rules).

    Args:
        *shapes: tuples of ints.

    Returns:
        A tuple of ints.

    Raises:
        ValueError: (a ``ValueTypeError``, also a ``TypeError`` as in JAX) if the shapes
            cannot be broadcast together.
    """
    try:
        return tuple(np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        from funcgrad._src.core import ValueTypeError  # numpy: ValueError, JAX: TypeError

        raise ValueTypeError(
            f"shapes {' and '.join(str(tuple(s)) for s in shapes)} cannot be broadcast together"
        ) from None


@arraylike_args(0)
def broadcast_to(x, shape):
    """``x`` broadcast to ``shape`` (numpy's rules: size-1 or missing leading axes).

    Args:
        x: array_like.
        shape: int or tuple of ints (static).

    Returns:
        Array of ``shape`` with the dtype of ``x``.

    Raises:
        ValueError: if ``x``'s shape cannot be broadcast to ``shape``.
    """
    x = asarray(x)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    xs = get_aval(x).shape
    nd = len(shape)
    if len(xs) > nd or any(a not in (1, b) for a, b in zip(xs[::-1], shape[::-1])):
        raise ValueError(f"cannot broadcast an array of shape {xs} to shape {shape}")
    return ls.broadcast_in_dim(x, shape, tuple(range(nd - len(xs), nd)))


def _broadcast(*args):
    shape = broadcast_shapes(*[get_aval(a).shape for a in args])
    return [broadcast_to(a, shape) for a in args]


def _shape(x):
    return get_aval(x).shape


def _dtype(x):
    return get_aval(x).dtype


def _inexact(*xs):
    return _promote(*xs, to_inexact=True)


def _concrete_input(x, fname, what="this argument"):
    if isinstance(x, Tracer):
        raise TypeError(
            f"{fname}: {what} must be concrete (not traced inside jit/vmap/grad), "
            f"because the output shape depends on its value; pass it as a static "
            f"argument or use the size=/length= argument where there is one"
        )
    return np.asarray(x)


def _int_indices(vals):
    return array_from_user(np.asarray(vals, np.int64), dtypes.default_int())


def _promote_bools_to_int(*xs):
    """``_promote``, then two bools become the default int: JAX's arithmetic on bools
    (``//``, ``%``, ``fmod``, ``**``, shifts, ``square``) runs in int32, never in bool."""
    xs = _promote(*xs)
    if get_aval(xs[0]).dtype == np.bool_:
        from funcgrad._src.lax.elementwise import convert_element_type

        xs = tuple(convert_element_type(x, dtypes.default_int()) for x in xs)
    return xs
