"""funcgrad.numpy: bitwise operations (``bitwise_and``/``or``/``xor``, ``invert``, shifts)."""

from __future__ import annotations

from funcgrad._src.array import get_aval
from funcgrad._src.lax import elementwise as le
from funcgrad._src.numpy.conversion import _broadcast, _promote, asarray
from funcgrad._src.numpy.ufuncs import _bin

bitwise_and = _bin(le.bitwise_and, name="bitwise_and")
bitwise_or = _bin(le.bitwise_or, name="bitwise_or")
bitwise_xor = _bin(le.bitwise_xor, name="bitwise_xor")
left_shift = _bin(le.shift_left, name="left_shift")


def right_shift(x, y, /):
    x, y = _broadcast(*_promote(x, y))
    if get_aval(x).dtype.kind == "u":
        return le.shift_right_logical(x, y)
    return le.shift_right_arithmetic(x, y)


def invert(x, /):
    return le.bitwise_not(asarray(x))


bitwise_not = bitwise_invert = invert
