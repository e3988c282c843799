"""funcgrad.numpy: elementwise arithmetic (sums, products, division and remainders, powers,
absolute value and sign), rounding, clipping, complex parts, angle conversions and
``gcd``/``lcm``. The transcendental functions are in ``transcendental.py``, the floating-point
routines (``frexp``, ``ldexp``, ``copysign``, ...) in ``float_routines.py``."""

from __future__ import annotations

import operator

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import Array, get_aval
from funcgrad._src.core import Tracer
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import transcendental as ltr
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.bitwise import bitwise_and, right_shift
from funcgrad._src.numpy.conversion import (
    _broadcast,
    _dtype,
    _promote,
    _promote_bools_to_int,
    asarray,
    astype,
)
from funcgrad._src.numpy.creation import full_like, ones_like, zeros_like
from funcgrad._src.numpy.logic import (
    equal,
    isnan,
    isneginf,
    isposinf,
    logical_and,
    not_equal,
    where,
)
from funcgrad._src.numpy.ufuncs import _bin, _eager_binary, _int_passthrough

add = _bin(le.add, name="add", doc="Elementwise sum ``x + y``.")
subtract = _bin(
    le.sub,
    name="subtract",
    doc="Elementwise difference ``x - y``.",
    accepts="integer, floating or complex (bool is refused, as in numpy)",
)
multiply = _bin(le.mul, name="multiply", doc="Elementwise product ``x * y``.")
maximum = _bin(
    le.max,
    name="maximum",
    doc="Elementwise maximum of ``x`` and ``y`` (NaN where either is NaN).",
    accepts="integer, floating or bool (complex operands raise when traced)",
)
minimum = _bin(
    le.min,
    name="minimum",
    doc="Elementwise minimum of ``x`` and ``y`` (NaN where either is NaN).",
    accepts="integer, floating or bool (complex operands raise when traced)",
)


@arraylike_args(0, 1)
def true_divide(x, y, /):
    """Elementwise true division ``x / y`` (alias ``divide``).

    Follows ``numpy.true_divide``; as in ``jax.numpy``, integer and bool operands are promoted to
    the default float dtype first, then both are broadcast.

    Args:
        x: first operand (array_like).
        y: second operand (array_like).

    Returns:
        Array of the broadcast shape with the promoted floating (or complex) dtype.

    Raises:
        ValueError: if the shapes cannot be broadcast together.
    """
    if (
        not isinstance(x, Tracer)
        and not isinstance(y, Tracer)
        and (type(x) is Array or type(y) is Array)
    ):
        out = _eager_binary(le.div, x, y, True, "true_divide")
        if out is not None:
            return out
    x, y = _broadcast(*_promote(x, y, to_inexact=True))
    return le.div(x, y)


divide = true_divide


@arraylike_args(0, 1)
def floor_divide(x, y, /):
    """Elementwise floor division ``x // y`` (rounds towards minus infinity).

    Follows ``numpy.floor_divide``: integer operands stay integer, floats give ``floor(x / y)``.
    Integer division by zero does not raise (its value is unspecified).

    Args:
        x: first operand (array_like).
        y: second operand (array_like).

    Returns:
        Array of the broadcast shape and the promoted dtype.

    Raises:
        ValueError: if the shapes cannot be broadcast together.
        TypeError: for complex operands.
    """
    x, y = _broadcast(*_promote_bools_to_int(x, y))
    if get_aval(x).dtype.kind in "iu":
        q = le.div(x, y)
        fix = logical_and(
            le.ne(le.rem(x, y), zeros_like(x)),
            le.ne(le.lt(x, zeros_like(x)), le.lt(y, zeros_like(y))),
        )
        return where(fix, q - 1, q) if get_aval(x).dtype.kind == "i" else q
    return floor(le.div(x, y))


@arraylike_args(0, 1)
def remainder(x, y, /):
    """Elementwise remainder of floor division, with the sign of ``y`` (alias ``mod``).

    Follows ``numpy.remainder``: ``x - floor_divide(x, y) * y``. Integer ``x % 0`` gives ``x``
    (no error).

    Args:
        x: first operand (array_like).
        y: second operand (array_like).

    Returns:
        Array of the broadcast shape and the promoted dtype.

    Raises:
        ValueError: if the shapes cannot be broadcast together.
        TypeError: for complex operands.
    """
    x, y = _broadcast(*_promote_bools_to_int(x, y))
    r = le.rem(x, y)
    z = zeros_like(r)
    fix = logical_and(le.ne(r, z), le.ne(le.lt(r, z), le.lt(y, zeros_like(y))))
    return where(fix, r + y, r)


mod = remainder


@arraylike_args(0, 1)
def fmod(x, y, /):
    """Elementwise C-style remainder, with the sign of ``x`` (``numpy.fmod``).

    Integer ``fmod(x, 0)`` gives ``x`` (no error).

    Args:
        x: first operand (array_like).
        y: second operand (array_like).

    Returns:
        Array of the broadcast shape and the promoted dtype.

    Raises:
        ValueError: if the shapes cannot be broadcast together.
    """
    x, y = _broadcast(*_promote_bools_to_int(x, y))
    return le.rem(x, y)


@arraylike_args(0, 1)
def divmod(x, y, /):
    """``(floor_divide(x, y), remainder(x, y))``, as numpy's ``divmod``.

    Args:
        x: first operand (array_like).
        y: second operand (array_like).

    Returns:
        A pair of arrays of the broadcast shape and the promoted dtype.

    Raises:
        ValueError: if the shapes cannot be broadcast together.
    """
    return floor_divide(x, y), remainder(x, y)


@arraylike_args(0, 1)
def power(x, y, /):
    """Elementwise ``x ** y``.

    Follows ``numpy.power`` with JAX's promotion. A Python ``int`` exponent becomes an
    ``integer_pow`` (exact repeated multiplication); integer arrays use repeated squaring.
    Negative exponents in an integer *array* are not checked (numpy raises): the result wraps.

    Args:
        x: base (array_like).
        y: exponent (array_like, or a Python int).

    Returns:
        Array of the broadcast shape and the promoted dtype.

    Raises:
        ValueError: if ``x`` is integer and ``y`` a negative Python int (a ``ValueTypeError``,
            also a ``TypeError``), or if the shapes cannot be broadcast together.
    """
    if isinstance(y, (int, np.integer)) and not isinstance(y, bool):
        (x,) = _promote_bools_to_int(x)
        if get_aval(x).dtype.kind in "iu" and y < 0:
            from funcgrad._src.core import ValueTypeError

            raise ValueTypeError(
                "integers to negative integer powers are not allowed: use "
                "a float base (x.astype(float)) or a non-negative exponent"
            )
        return le.integer_pow(x, int(y))
    x, y = _broadcast(*_promote_bools_to_int(x, y))
    dt = get_aval(x).dtype
    if dt.kind in "iub":
        return _int_pow(x, y)
    return ltr.pow(x, y)


def _int_pow(x, y):
    """Integer ** integer by repeated squaring (exponents up to 2**31)."""
    acc = ones_like(x)
    base = x
    e = y
    for _ in range(32 if get_aval(x).dtype.itemsize <= 4 else 64):
        bit = le.ne(bitwise_and(e, ones_like(e)), zeros_like(e))
        acc = where(bit, acc * base, acc)
        base = base * base
        e = right_shift(e, ones_like(e))
    return acc


@arraylike_args(0, 1)
def float_power(x, y, /):
    """Elementwise ``x ** y`` computed in float64 (float32 unless ``enable_x64``).

    Follows ``numpy.float_power``: the operands are cast to the canonical float64 dtype, or
    complex128 for a complex operand (complex64 without ``enable_x64``).

    Args:
        x: first operand (array_like).
        y: second operand (array_like).

    Returns:
        Array of the broadcast shape, floating dtype.

    Raises:
        ValueError: if the shapes cannot be broadcast together.
    """
    x, y = _promote(x, y, to_inexact=True)
    wide = dtypes.canonicalize(np.complex128 if _dtype(x).kind == "c" else np.float64)
    return power(astype(x, wide), astype(y, wide))


@arraylike_args(0, 1)
def negative(x, /):
    """Elementwise ``-x`` (unsigned integers wrap around, as in numpy).

    Args:
        x: input (array_like).

    Returns:
        Array of the shape and dtype of ``x``.

    Raises:
        TypeError: if ``x`` is bool (as numpy, which asks for ``logical_not``).
    """
    return le.neg(asarray(x))


@arraylike_args(0)
def positive(x, /):
    """Elementwise ``+x``: ``x`` itself, as a funcgrad array.

    Args:
        x: input (array_like).

    Returns:
        ``asarray(x)``.
    """
    return asarray(x)


@arraylike_args(0)
def square(x, /):
    """Elementwise ``x * x``.

    Args:
        x: input (array_like).

    Returns:
        Array of the shape and dtype of ``x`` (bool input gives the default int, as in JAX).
    """
    return le.integer_pow(_promote_bools_to_int(x)[0], 2)


@arraylike_args(0)
def reciprocal(x, /):
    """Elementwise ``1 / x``.

    Unlike numpy (which keeps integers), integer and bool inputs are promoted to the default
    float dtype first, as in ``jax.numpy``.

    Args:
        x: input (array_like).

    Returns:
        Array of the shape of ``x``, floating or complex dtype.
    """
    (x,) = _promote(x, to_inexact=True)
    return le.div(ones_like(x), x)


@arraylike_args(0)
def absolute(x, /):
    """Elementwise absolute value (alias ``abs``); ``|z|`` for complex ``z``.

    The derivative at 0 is taken as 1 (JAX's convention).

    Args:
        x: input (array_like).

    Returns:
        Array of the shape of ``x``; its dtype, or the matching real dtype for complex input.
    """
    return le.abs(asarray(x))


abs = absolute


@arraylike_args(0)
def fabs(x, /):
    """Elementwise absolute value, as a floating-point array.

    Args:
        x: input (array_like); integer and bool inputs are promoted to the default float dtype.

    Returns:
        Array of the shape of ``x`` with a floating dtype.

    Raises:
        TypeError: for complex input (as numpy and JAX; ``abs`` gives the magnitude).
    """
    (x,) = _promote(x, to_inexact=True)
    if _dtype(x).kind == "c":
        raise TypeError("fabs does not accept complex input (as numpy and JAX): use abs")
    return le.abs(x)


@arraylike_args(0)
def sign(x, /):
    """Elementwise sign: -1, 0 or 1 (NaN for NaN); ``z / |z|`` (0 at 0) for complex ``z``.

    Follows ``numpy.sign``.

    Args:
        x: input (array_like).

    Returns:
        Array of the shape and dtype of ``x``.

    Raises:
        TypeError: for bool input (as numpy and JAX).
    """
    x = asarray(x)
    if get_aval(x).dtype.kind == "c":
        return x / where(x == 0, ones_like(x), astype(le.abs(x), get_aval(x).dtype))
    if get_aval(x).dtype == np.bool_:
        raise TypeError("sign does not accept bool input (as numpy and JAX): use x.astype(int)")
    return le.sign(x)


floor = _int_passthrough(le.floor, "Elementwise floor: the largest integer value ``<= x``.")
ceil = _int_passthrough(le.ceil, "Elementwise ceiling: the smallest integer value ``>= x``.")


@arraylike_args(0)
def trunc(x, /):
    """Elementwise truncation towards zero (alias ``fix``).

    Follows ``numpy.trunc``; integer and bool inputs are returned unchanged.

    Args:
        x: input (array_like).

    Returns:
        Array of the shape and dtype of ``x``.

    Raises:
        TypeError: if ``x`` is complex.
    """
    x = asarray(x)
    if get_aval(x).dtype.kind in "iub":
        return x
    return where(le.lt(x, zeros_like(x)), le.ceil(x), le.floor(x))


fix = trunc


@arraylike_args(0)
def round(x, decimals=0, out=None):
    """Round to ``decimals`` decimal places, halves to even (alias ``around``).

    Follows ``numpy.round``: computed as ``round(x * 10**decimals) / 10**decimals``; integer and
    bool inputs are returned unchanged (also for negative ``decimals``).

    Args:
        x: input (array_like).
        decimals: number of decimal places (static int; may be negative).
        out: ignored (numpy compatibility; arrays are immutable).

    Returns:
        Array of the shape and dtype of ``x``.
    """
    x = asarray(x)
    decimals = operator.index(decimals)  # (a TypeError for 2.5, as numpy and JAX)
    if get_aval(x).dtype.kind in "iub":
        return x
    if decimals == 0:
        return le.round(x, 1)
    f = full_like(x, 10.0**decimals)
    return le.div(le.round(le.mul(x, f), 1), f)


around = round


@arraylike_args(0)
def rint(x):
    """Round to the nearest integer value, halves to even; ``round(x)``.

    Args:
        x: input (array_like).

    Returns:
        Array of the shape of ``x``: floating or complex (integer and bool input are promoted
        to the default float dtype first, as in ``jax.numpy``).
    """
    return round(_promote(x, to_inexact=True)[0])


@arraylike_args(0, 1, 2)
def clip(a, a_min=None, a_max=None, *, min=None, max=None):
    """Limit the values of ``a`` to ``[lo, hi]`` elementwise.

    Follows ``numpy.clip`` / ``jax.numpy.clip``: ``minimum(maximum(a, lo), hi)``. NaN stays NaN.

    Args:
        a: input (array_like).
        a_min: lower bound (array_like, broadcast against ``a``), or None for none.
        a_max: upper bound (array_like), or None for none.
        min: the lower bound by its newer keyword name (used when ``a_min`` is None).
        max: the upper bound by its newer keyword name (used when ``a_max`` is None).

    Returns:
        Array of the broadcast shape and the promoted dtype.

    Raises:
        ValueError: if a bound cannot be broadcast against ``a``.
    """
    a = asarray(a)
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    if lo is not None:
        a = maximum(a, lo)
    if hi is not None:
        a = minimum(a, hi)
    return a


@arraylike_args(0)
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """Replace NaN, +inf and -inf by finite numbers (real and imaginary parts together).

    Follows ``numpy.nan_to_num``. Non-floating input is returned unchanged.

    Args:
        x: input (array_like).
        copy: ignored (numpy compatibility; arrays are immutable).
        nan: value for NaN.
        posinf: value for +inf; None gives the dtype's largest finite value.
        neginf: value for -inf; None gives the dtype's most negative finite value.

    Returns:
        Array of the shape and dtype of ``x``.
    """
    x = asarray(x)
    dt = get_aval(x).dtype
    if dt.kind not in "fc":
        return x
    if dt.kind == "c":  # each part on its own (complex numbers have no order)
        parts = (nan_to_num(p, True, nan, posinf, neginf) for p in (le.real(x), le.imag(x)))
        return le.complex(*parts)
    info = np.finfo(dt)
    x = where(isnan(x), full_like(x, nan), x)
    x = where(isposinf(x), full_like(x, info.max if posinf is None else posinf), x)
    return where(isneginf(x), full_like(x, info.min if neginf is None else neginf), x)


@arraylike_args(0, 1)
def fmax(x, y, /):
    """Elementwise maximum ignoring NaN: where one operand is NaN the other is returned.

    Follows ``numpy.fmax``.

    Args:
        x: first operand (array_like).
        y: second operand (array_like).

    Returns:
        Array of the broadcast shape and the promoted dtype.

    Raises:
        ValueError: if the shapes cannot be broadcast together.
    """
    x, y = _broadcast(*_promote(x, y))
    return where(isnan(y), x, where(isnan(x), y, le.max(x, y)))


@arraylike_args(0, 1)
def fmin(x, y, /):
    """Elementwise minimum ignoring NaN: where one operand is NaN the other is returned.

    Follows ``numpy.fmin``.

    Args:
        x: first operand (array_like).
        y: second operand (array_like).

    Returns:
        Array of the broadcast shape and the promoted dtype.

    Raises:
        ValueError: if the shapes cannot be broadcast together.
    """
    x, y = _broadcast(*_promote(x, y))
    return where(isnan(y), x, where(isnan(x), y, le.min(x, y)))


@arraylike_args(0)
def deg2rad(x, /):
    """Convert angles from degrees to radians (alias ``radians``).

    Args:
        x: angles in degrees (array_like); promoted to a floating dtype.

    Returns:
        Array of the shape of ``x``, floating dtype.
    """
    (x,) = _promote(x, to_inexact=True)
    return x * (np.pi / 180)


@arraylike_args(0)
def rad2deg(x, /):
    """Convert angles from radians to degrees (alias ``degrees``).

    Args:
        x: angles in radians (array_like); promoted to a floating dtype.

    Returns:
        Array of the shape of ``x``, floating dtype.
    """
    (x,) = _promote(x, to_inexact=True)
    return x * (180 / np.pi)


radians, degrees = deg2rad, rad2deg


@arraylike_args(0, 1)
def heaviside(x1, x2, /):
    """Elementwise Heaviside step: 0 where ``x1 < 0``, ``x2`` where ``x1 == 0``, 1 above.

    Args:
        x1: input values (array_like).
        x2: the value at ``x1 == 0`` (array_like, broadcast against ``x1``).

    Returns:
        Array of the broadcast shape, floating dtype.

    Raises:
        ValueError: if the shapes cannot be broadcast together.
    """
    x1, x2 = _broadcast(*_promote(x1, x2, to_inexact=True))
    return where(x1 < 0, zeros_like(x1), where(x1 > 0, ones_like(x1), x2))


@arraylike_args(0)
def real(x, /):
    """The real part of ``x`` (``x`` itself when it is not complex).

    Args:
        x: input (array_like).

    Returns:
        Array of the shape of ``x``; the real dtype matching a complex input.
    """
    x = asarray(x)
    return le.real(x) if get_aval(x).dtype.kind == "c" else x


@arraylike_args(0)
def imag(x, /):
    """The imaginary part of ``x`` (zeros of ``x``'s dtype when it is not complex).

    Args:
        x: input (array_like).

    Returns:
        Array of the shape of ``x``; the real dtype matching a complex input.
    """
    x = asarray(x)
    return le.imag(x) if get_aval(x).dtype.kind == "c" else zeros_like(x)


@arraylike_args(0)
def conjugate(x, /):
    """Elementwise complex conjugate (alias ``conj``); real input is returned unchanged.

    Args:
        x: input (array_like).

    Returns:
        Array of the shape and dtype of ``x``.
    """
    x = asarray(x)
    return le.conj(x) if get_aval(x).dtype.kind == "c" else x


conj = conjugate


@arraylike_args(0)
def angle(z, deg=False):
    """The counterclockwise angle of complex ``z`` from the positive real axis.

    Real input gives ``pi`` for negative values and 0 otherwise.

    Args:
        z: input (array_like).
        deg: return degrees instead of radians.

    Returns:
        Array of the shape of ``z``, floating dtype.
    """
    z = asarray(z)
    if get_aval(z).dtype.kind != "c":
        (z,) = _promote(z, to_inexact=True)
        a = where(z < 0, full_like(z, np.pi), zeros_like(z))
    else:
        a = ltr.atan2(le.imag(z), le.real(z))
    return rad2deg(a) if deg else a


def _int_args(name, x1, x2):
    x1, x2 = _promote(asarray(x1), asarray(x2))
    if not dtypes.is_int(_dtype(x1)):  # (bool too, as JAX: the loop carry must stay integer)
        raise ValueError(f"{name}: arguments must be integers, got {_dtype(x1)}")
    return _broadcast(x1, x2)


@arraylike_args(0, 1)
def gcd(x1, x2, /):
    """Elementwise greatest common divisor (non-negative), by Euclid's algorithm.

    Runs as a ``while_loop`` until every pair is done, so it works under ``jit`` and ``vmap``.

    Args:
        x1: integer operand (array_like).
        x2: integer operand (array_like).

    Returns:
        Array of the broadcast shape and the promoted integer dtype; ``gcd(0, 0) == 0``.

    Raises:
        ValueError: if the operands are not integers, or cannot be broadcast together.
    """
    from funcgrad._src.lax.loops import while_loop
    from funcgrad._src.numpy.reductions import any as _any

    a, b = _int_args("gcd", x1, x2)
    a, b = abs(a), abs(b)

    def cond(c):
        return _any(not_equal(c[1], 0))

    def body(c):
        x, y = c
        nz = not_equal(y, 0)
        ysafe = where(nz, y, ones_like(y))
        return where(nz, y, x), where(nz, remainder(x, ysafe), zeros_like(y))

    return while_loop(cond, body, (a, b))[0]


@arraylike_args(0, 1)
def lcm(x1, x2, /):
    """Elementwise least common multiple (non-negative); 0 when either operand is 0.

    Args:
        x1: integer or bool operand (array_like).
        x2: integer or bool operand (array_like).

    Returns:
        Array of the broadcast shape and the promoted integer dtype.

    Raises:
        ValueError: if the operands are not integers, or cannot be broadcast together.
    """
    a, b = _int_args("lcm", x1, x2)
    g = gcd(a, b)
    zero = equal(g, 0)
    return where(zero, zeros_like(a), abs(a * floor_divide(b, where(zero, 1, g))))
