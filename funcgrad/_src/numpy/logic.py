"""funcgrad.numpy: comparisons, logical operations, ``where``/``select``, value tests
(``isnan``, ``isfinite``, ``isinf``, ...) and array comparisons (``isclose``, ``allclose``,
``array_equal``)."""

from __future__ import annotations

import numpy as np

from funcgrad._src.array import Array, get_aval
from funcgrad._src.lax import elementwise as le
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


def logical_and(x, y, /):
    return bitwise_and(_to_bool(x), _to_bool(y))


def logical_or(x, y, /):
    return bitwise_or(_to_bool(x), _to_bool(y))


def logical_xor(x, y, /):
    return bitwise_xor(_to_bool(x), _to_bool(y))


def logical_not(x, /):
    return le.bitwise_not(_to_bool(x))


def where(condition, x=None, y=None, /, *, size=None, fill_value=None):
    """Elementwise select. With only a condition, returns ``nonzero(condition)`` (``size``
    and ``fill_value`` as in ``nonzero``; they apply only to this one-argument form)."""
    if x is None and y is None:
        from funcgrad._src.numpy.sorting import nonzero

        return nonzero(condition, size=size, fill_value=fill_value)
    if x is None or y is None:
        raise ValueError("where needs either just a condition, or a condition, x and y")
    c = _to_bool(condition)
    x, y = _promote(x, y)
    c, x, y = _broadcast(c, x, y)
    return le.select(c, x, y)


def isnan(x, /):
    x = asarray(x)
    if get_aval(x).dtype.kind not in "fc":
        return zeros_like(x, dtype=np.bool_)
    return le.ne(x, x)


def isfinite(x, /):
    x = asarray(x)
    if get_aval(x).dtype.kind not in "fc":
        return ones_like(x, dtype=np.bool_)
    if get_aval(x).dtype.kind == "c":
        return logical_and(le.is_finite(le.real(x)), le.is_finite(le.imag(x)))
    return le.is_finite(x)


def isinf(x, /):
    x = asarray(x)
    if get_aval(x).dtype.kind not in "fc":
        return zeros_like(x, dtype=np.bool_)
    return logical_and(logical_not(isfinite(x)), logical_not(isnan(x)))


def isposinf(x, /):
    return logical_and(isinf(x), greater(x, 0))


def isneginf(x, /):
    return logical_and(isinf(x), less(x, 0))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = _broadcast(*_promote(a, b, to_inexact=True))
    close = le.abs(a - b) <= atol + rtol * le.abs(b)
    close = logical_or(close, a == b)
    if equal_nan:
        close = logical_or(close, logical_and(isnan(a), isnan(b)))
    return close


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    from funcgrad._src.numpy.reductions import all as _all

    return _all(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1, a2, equal_nan=False):
    from funcgrad._src.numpy.reductions import all as _all

    a1, a2 = asarray(a1), asarray(a2)
    if get_aval(a1).shape != get_aval(a2).shape:
        return asarray(False)
    eq = a1 == a2
    if equal_nan:
        eq = logical_or(eq, logical_and(isnan(a1), isnan(a2)))
    return _all(eq)


def select(condlist, choicelist, default=0):
    """The first ``choicelist[i]`` whose ``condlist[i]`` holds, else ``default``."""
    if len(condlist) != len(choicelist):
        raise ValueError(
            f"select: condlist and choicelist must have the same length, got "
            f"{len(condlist)} and {len(choicelist)}"
        )
    if len(condlist) == 0:
        raise ValueError("select: condlist must be non-empty")
    conds = [asarray(c) for c in condlist]
    for c in conds:
        if _dtype(c) != np.bool_:
            raise TypeError(
                f"select: condlist entries must be boolean arrays, got dtype {_dtype(c)}"
            )
    out = default
    for c, v in zip(conds[::-1], choicelist[::-1]):
        out = where(c, v, out)
    return out


def isscalar(x):
    return np.ndim(x) == 0 if not isinstance(x, Array) else x.ndim == 0


def iscomplexobj(x):
    return np.dtype(getattr(x, "dtype", np.asarray(x).dtype)).kind == "c"
