"""funcgrad.numpy: floating-point routines (``signbit``, ``copysign``, ``nextafter``,
``frexp``, ``ldexp``, ``modf``)."""

from __future__ import annotations

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval
from funcgrad._src.lax import elementwise as le
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.conversion import _broadcast, _dtype, _inexact, _promote, asarray, astype
from funcgrad._src.numpy.creation import ones_like, zeros_like
from funcgrad._src.numpy.logic import (
    equal,
    greater_equal,
    isfinite,
    less,
    logical_not,
    logical_or,
    where,
)
from funcgrad._src.numpy.math import abs, floor, trunc
from funcgrad._src.numpy.transcendental import exp2, log2
from funcgrad._src.numpy.ufuncs import _bin

nextafter = _bin(
    le.nextafter,
    to_inexact=True,
    name="nextafter",
    doc="Elementwise next representable floating-point value after ``x`` towards ``y``.",
    accepts="real (complex operands are refused)",
)


@arraylike_args(0)
def signbit(x, /):
    """Elementwise: whether the sign bit is set (True for ``-0.0``, and for negative NaNs).

    Floating input is read bit by bit; other input gives ``x < 0``.

    Args:
        x: input (array_like).

    Returns:
        Bool array of the shape of ``x``.
    """
    x = asarray(x)
    if get_aval(x).dtype.kind == "f":
        bits = le.bitcast_convert_type(x, np.dtype(f"i{get_aval(x).dtype.itemsize}"))
        return le.lt(bits, zeros_like(bits))
    if get_aval(x).dtype.kind == "c":
        from funcgrad._src.core import ValueTypeError  # numpy: TypeError, JAX: ValueError

        raise ValueTypeError("signbit is not defined for complex input (as numpy and JAX)")
    return less(x, 0)


@arraylike_args(0, 1)
def copysign(x, y, /):
    """Elementwise magnitude of ``x`` with the sign (bit) of ``y``.

    Args:
        x: first operand (array_like); promoted to a floating dtype.
        y: second operand (array_like); promoted to a floating dtype.

    Returns:
        Array of the broadcast shape, floating dtype.

    Raises:
        ValueError: if the shapes cannot be broadcast together.
    """
    x, y = _broadcast(*_promote(x, y, to_inexact=True))
    return where(signbit(y), -le.abs(x), le.abs(x))


@arraylike_args(0)
def frexp(x, /):
    """Split ``x`` into mantissa and exponent: ``x = m * 2**e``, ``|m|`` in ``[0.5, 1)``.

    Exact for finite normal and subnormal floats; 0, inf and NaN give ``(x, 0)``.

    Args:
        x: input (array_like); integer and bool inputs are promoted to the default float dtype.

    Returns:
        A pair ``(m, e)``: ``m`` with the floating dtype of ``x``, ``e`` int32, both of its shape.

    Raises:
        TypeError: if ``x`` is complex.
    """
    x = _inexact(asarray(x))[0]
    if _dtype(x).kind == "c":
        raise TypeError("frexp does not accept complex input")
    ax = abs(x)
    special = logical_or(equal(x, 0), logical_not(isfinite(x)))
    safe = where(special, ones_like(x), ax)
    e = floor(log2(safe)) + 1
    # log2 can be off by one ulp near powers of two: fix the exponent exactly
    m = _scale2(safe, -e)
    e = where(greater_equal(m, 1), e + 1, where(less(m, 0.5), e - 1, e))
    m = _scale2(x, -e)
    eint = astype(where(special, 0, e), np.int32)
    return where(special, x, m), eint


def _scale2(x, e):
    """``x * 2**e`` in two steps, so neither power of two over- or underflows."""
    half = floor(e / 2)
    return x * exp2(half) * exp2(e - half)


@arraylike_args(0, 1)
def ldexp(x1, x2, /):
    """Elementwise ``x1 * 2**x2``, scaled in two steps so no power of two overflows.

    Args:
        x1: mantissas (array_like); promoted to a floating dtype.
        x2: integer exponents (array_like, broadcast against ``x1``).

    Returns:
        Array of the broadcast shape with the floating dtype of ``x1``.

    Raises:
        TypeError: (a ``ValueTypeError``, also a ``ValueError``) if ``x2`` is not an integer
            array or ``x1`` is complex.
    """
    from funcgrad._src.core import ValueTypeError  # numpy: TypeError, JAX: ValueError

    x2 = asarray(x2)
    if not dtypes.is_int(_dtype(x2)):
        raise ValueTypeError(f"ldexp: x2 must be an integer array, got {_dtype(x2)}")
    (x1,) = _inexact(asarray(x1))
    if _dtype(x1).kind == "c":
        raise ValueTypeError("ldexp: x1 must be real (as numpy and JAX), got complex")
    return _scale2(x1, astype(x2, _dtype(x1)))


@arraylike_args(0)
def modf(x, /, out=None):
    """Fractional and integral parts of ``x``, both with the sign of ``x``.

    Args:
        x: input (array_like); promoted to a floating dtype.
        out: ignored (numpy compatibility; arrays are immutable).

    Returns:
        A pair ``(fractional, integral)`` of arrays of the shape and floating dtype of ``x``.
    """
    x = _inexact(asarray(x))[0]
    whole = trunc(x)
    return x - whole, whole
