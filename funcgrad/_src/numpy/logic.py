"""funcgrad.numpy: comparisons, logical operations, ``where``/``select``, value tests
(``isnan``, ``isfinite``, ``isinf``, ...) and array comparisons (``isclose``, ``allclose``,
``array_equal``)."""

from __future__ import annotations

import numpy as np

from funcgrad._src.array import Array, get_aval
from funcgrad._src.lax import elementwise as le
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.bitwise import bitwise_and, bitwise_or, bitwise_xor
from funcgrad._src.numpy.conversion import _broadcast, _dtype, _promote, asarray
from funcgrad._src.numpy.creation import ones_like, zeros_like
from funcgrad._src.numpy.ufuncs import _bin

_ORDERED = "integer, floating or bool (complex operands raise when traced)"
equal = _bin(le.eq, name="equal", doc="Elementwise ``x == y``.")
not_equal = _bin(le.ne, name="not_equal", doc="Elementwise ``x != y``.")
less = _bin(le.lt, name="less", doc="Elementwise ``x < y``.", accepts=_ORDERED)
less_equal = _bin(le.le, name="less_equal", doc="Elementwise ``x <= y``.", accepts=_ORDERED)
greater = _bin(le.gt, name="greater", doc="Elementwise ``x > y``.", accepts=_ORDERED)
greater_equal = _bin(le.ge, name="greater_equal", doc="Elementwise ``x >= y``.", accepts=_ORDERED)


def _to_bool(x):
    x = asarray(x)
    return x if get_aval(x).dtype == np.bool_ else le.ne(x, zeros_like(x))


@arraylike_args(0, 1)
def logical_and(x, y, /):
    """Elementwise logical AND of the truth values of ``x`` and ``y``.

    Non-bool operands are true where they are nonzero (``x != 0``), as in numpy.

    Args:
        x: first operand (array_like).
        y: second operand (array_like).

    Returns:
        Bool array of the broadcast shape.

    Raises:
        ValueError: if the shapes cannot be broadcast together.
    """
    return bitwise_and(_to_bool(x), _to_bool(y))


@arraylike_args(0, 1)
def logical_or(x, y, /):
    """Elementwise logical OR of the truth values of ``x`` and ``y``.

    Non-bool operands are true where they are nonzero (``x != 0``), as in numpy.

    Args:
        x: first operand (array_like).
        y: second operand (array_like).

    Returns:
        Bool array of the broadcast shape.

    Raises:
        ValueError: if the shapes cannot be broadcast together.
    """
    return bitwise_or(_to_bool(x), _to_bool(y))


@arraylike_args(0, 1)
def logical_xor(x, y, /):
    """Elementwise logical XOR of the truth values of ``x`` and ``y``.

    Non-bool operands are true where they are nonzero (``x != 0``), as in numpy.

    Args:
        x: first operand (array_like).
        y: second operand (array_like).

    Returns:
        Bool array of the broadcast shape.

    Raises:
        ValueError: if the shapes cannot be broadcast together.
    """
    return bitwise_xor(_to_bool(x), _to_bool(y))


@arraylike_args(0)
def logical_not(x, /):
    """Elementwise logical NOT: True where ``x`` is zero / False.

    Args:
        x: input (array_like); non-bool input is true where nonzero.

    Returns:
        Bool array of the shape of ``x``.
    """
    return le.bitwise_not(_to_bool(x))


@arraylike_args(0, 1, 2)
def where(condition, x=None, y=None, /, *, size=None, fill_value=None):
    """Elementwise select ``x`` where ``condition`` holds, else ``y``; or ``nonzero``.

    Follows ``jax.numpy.where``. With only a condition it returns ``nonzero(condition)``,
    whose size depends on the values: pass ``size=`` (and ``fill_value=``) to use it under
    ``jit``/``vmap``.

    Args:
        condition: array_like; non-bool values are true where nonzero.
        x: values where ``condition`` is true (array_like).
        y: values where ``condition`` is false (array_like).
        size: one-argument form only: the static length of each index array.
        fill_value: one-argument form only: the index used to pad up to ``size``.

    Returns:
        Array of the broadcast shape of the three arguments and the promoted dtype of ``x``
        and ``y``; or, with only a condition, a tuple of integer index arrays.

    Raises:
        ValueError: if only one of ``x`` and ``y`` is given, or the shapes cannot be broadcast.
    """
    if x is None and y is None:
        from funcgrad._src.numpy.sorting import nonzero

        return nonzero(condition, size=size, fill_value=fill_value)
    if x is None or y is None:
        raise ValueError("where needs either just a condition, or a condition, x and y")
    c = _to_bool(condition)
    x, y = _promote(x, y)
    c, x, y = _broadcast(c, x, y)
    return le.select(c, x, y)


@arraylike_args(0)
def isnan(x, /):
    """Elementwise test for NaN (real or imaginary part NaN for complex input).

    Args:
        x: input (array_like).

    Returns:
        Bool array of the shape of ``x``; all False for integer and bool input.
    """
    x = asarray(x)
    if get_aval(x).dtype.kind not in "fc":
        return zeros_like(x, dtype=np.bool_)
    return le.ne(x, x)


@arraylike_args(0)
def isfinite(x, /):
    """Elementwise test for finite values (neither inf nor NaN; both parts for complex).

    Args:
        x: input (array_like).

    Returns:
        Bool array of the shape of ``x``; all True for integer and bool input.
    """
    x = asarray(x)
    if get_aval(x).dtype.kind not in "fc":
        return ones_like(x, dtype=np.bool_)
    if get_aval(x).dtype.kind == "c":
        return logical_and(le.is_finite(le.real(x)), le.is_finite(le.imag(x)))
    return le.is_finite(x)


@arraylike_args(0)
def isinf(x, /):
    """Elementwise test for +inf or -inf (either part, for complex input).

    Args:
        x: input (array_like).

    Returns:
        Bool array of the shape of ``x``; all False for integer and bool input.
    """
    x = asarray(x)
    if get_aval(x).dtype.kind not in "fc":
        return zeros_like(x, dtype=np.bool_)
    return logical_and(logical_not(isfinite(x)), logical_not(isnan(x)))


@arraylike_args(0)
def isposinf(x, /):
    """Elementwise test for +inf.

    Args:
        x: real input (array_like).

    Returns:
        Bool array of the shape of ``x``.
    """
    return logical_and(isinf(x), greater(x, 0))


@arraylike_args(0)
def isneginf(x, /):
    """Elementwise test for -inf.

    Args:
        x: real input (array_like).

    Returns:
        Bool array of the shape of ``x``.
    """
    return logical_and(isinf(x), less(x, 0))


@arraylike_args(0, 1)
def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise ``|a - b| <= atol + rtol * |b|`` (numpy's asymmetric test).

    Equal values (including equal infinities) are close; NaNs are close only with
    ``equal_nan=True``.

    Args:
        a: first operand (array_like).
        b: second operand (array_like), the reference for ``rtol``.
        rtol: relative tolerance.
        atol: absolute tolerance.
        equal_nan: whether NaN is close to NaN.

    Returns:
        Bool array of the broadcast shape.

    Raises:
        ValueError: if the shapes cannot be broadcast together.
    """
    a, b = _broadcast(*_promote(a, b, to_inexact=True))
    close = le.abs(a - b) <= atol + rtol * le.abs(b)
    close = logical_or(close, a == b)
    if equal_nan:
        close = logical_or(close, logical_and(isnan(a), isnan(b)))
    return close


@arraylike_args(0, 1)
def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether ``isclose(a, b, rtol, atol, equal_nan)`` holds everywhere.

    Args:
        a: first operand (array_like).
        b: second operand (array_like).
        rtol: relative tolerance.
        atol: absolute tolerance.
        equal_nan: whether NaN is close to NaN.

    Returns:
        A 0-d bool array (a traced value under transformations, not a Python bool).

    Raises:
        ValueError: if the shapes cannot be broadcast together.
    """
    from funcgrad._src.numpy.reductions import all as _all

    return _all(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1, a2, equal_nan=False):
    """Whether two arrays have the same shape and equal elements.

    Args:
        a1: first array (array_like).
        a2: second array (array_like).
        equal_nan: whether NaNs at the same positions count as equal.

    Returns:
        A 0-d bool array (False when the shapes differ).
    """
    from funcgrad._src.numpy.reductions import all as _all

    a1, a2 = asarray(a1), asarray(a2)
    if get_aval(a1).shape != get_aval(a2).shape:
        return asarray(False)
    eq = a1 == a2
    if equal_nan:
        eq = logical_or(eq, logical_and(isnan(a1), isnan(a2)))
    return _all(eq)


def select(condlist, choicelist, default=0):
    """The value of ``choicelist[i]`` for the first ``condlist[i]`` that holds, else ``default``.

    Follows ``jax.numpy.select``; the conditions, choices and default are broadcast together.

    Args:
        condlist: sequence of arrays: a condition holds where its entry is true (nonzero).
        choicelist: sequence of arrays, as long as ``condlist``.
        default: value where no condition holds (array_like).

    Returns:
        Array of the broadcast shape and the promoted dtype of the choices and ``default``.

    Raises:
        ValueError: if the lists differ in length or are empty.
    """
    if len(condlist) != len(choicelist):
        raise ValueError(
            f"select: condlist and choicelist must have the same length, got "
            f"{len(condlist)} and {len(choicelist)}"
        )
    if len(condlist) == 0:
        raise ValueError("select: condlist must be non-empty")
    conds = [asarray(c) for c in condlist]  # as JAX: any dtype, true where nonzero
    conds = [c if _dtype(c) == np.bool_ else c != 0 for c in conds]
    out = default
    for c, v in zip(conds[::-1], choicelist[::-1]):
        out = where(c, v, out)
    return out


def isscalar(x):
    """Whether ``x`` is a scalar: a 0-d funcgrad array, or anything numpy sees as 0-d.

    Unlike ``numpy.isscalar``, 0-d arrays count (as in ``jax.numpy``).

    Args:
        x: any object.

    Returns:
        A Python bool.
    """
    return np.ndim(x) == 0 if not isinstance(x, Array) else x.ndim == 0


def iscomplexobj(x):
    """Whether ``x`` has a complex dtype (its ``dtype``, or numpy's dtype for it).

    Args:
        x: an array, scalar or nested sequence.

    Returns:
        A Python bool.
    """
    return np.dtype(getattr(x, "dtype", np.asarray(x).dtype)).kind == "c"
