"""funcgrad.numpy: bitwise operations (``bitwise_and``/``or``/``xor``, ``invert``, shifts)."""

from __future__ import annotations

from funcgrad._src.array import get_aval
from funcgrad._src.lax import elementwise as le
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.conversion import _broadcast, _promote_bools_to_int, asarray
from funcgrad._src.numpy.ufuncs import _bin

bitwise_and = _bin(
    le.bitwise_and,
    name="bitwise_and",
    doc="Elementwise bitwise AND ``x & y`` (logical AND on bools).",
    accepts="integer or bool",
)
bitwise_or = _bin(
    le.bitwise_or,
    name="bitwise_or",
    doc="Elementwise bitwise OR ``x | y`` (logical OR on bools).",
    accepts="integer or bool",
)
bitwise_xor = _bin(
    le.bitwise_xor,
    name="bitwise_xor",
    doc="Elementwise bitwise XOR ``x ^ y`` (logical XOR on bools).",
    accepts="integer or bool",
)
_left_shift = _bin(
    le.shift_left,
    name="left_shift",
    doc="Elementwise ``x << y``; negative shifts, or shifts by the bit width or more, give 0.",
    accepts="integer",
)


@arraylike_args(0, 1)
def left_shift(x, y, /):
    return _left_shift(*_promote_bools_to_int(x, y))


left_shift.__doc__ = _left_shift.__doc__


@arraylike_args(0, 1)
def right_shift(x, y, /):
    """Elementwise ``x >> y``: arithmetic for signed integers, logical for unsigned ones.

    Follows ``numpy.right_shift`` with JAX's promotion. Shifts by the bit width or more give 0
    (or -1 for negative signed ``x``).

    Args:
        x: integer values (array_like).
        y: integer shift amounts (array_like, broadcast against ``x``).

    Returns:
        Array of the broadcast shape with the promoted integer dtype.

    Raises:
        ValueError: if the shapes cannot be broadcast together.
        TypeError: if the promoted dtype is not integer.
    """
    x, y = _broadcast(*_promote_bools_to_int(x, y))
    if get_aval(x).dtype.kind == "u":
        return le.shift_right_logical(x, y)
    return le.shift_right_arithmetic(x, y)


@arraylike_args(0)
def invert(x, /):
    """Elementwise bitwise NOT ``~x`` (logical NOT on bools).

    Also available as ``bitwise_not`` and ``bitwise_invert``.

    Args:
        x: integer or bool input (array_like).

    Returns:
        Array of the shape and dtype of ``x``.

    Raises:
        TypeError: if ``x`` is not integer or bool.
    """
    return le.bitwise_not(asarray(x))


bitwise_not = bitwise_invert = invert
