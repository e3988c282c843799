"""funcgrad.numpy: transcendental functions (exponentials and logarithms, roots, trigonometric
and hyperbolic functions, ``hypot``, ``logaddexp``, ``sinc``, ``i0``)."""

from __future__ import annotations

import numpy as np

from funcgrad._src.array import get_aval
from funcgrad._src.core import ValueTypeError
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import transcendental as ltr
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.conversion import _broadcast, _inexact, _promote, asarray
from funcgrad._src.numpy.creation import full_like, ones_like, zeros_like
from funcgrad._src.numpy.logic import isfinite, isnan, less_equal, where
from funcgrad._src.numpy.math import abs
from funcgrad._src.numpy.ufuncs import _bin, _un

arctan2 = _bin(
    ltr.atan2,
    to_inexact=True,
    name="arctan2",
    doc="Elementwise arc tangent of ``x / y`` in ``[-pi, pi]``, quadrant from both signs.",
    accepts="real (complex operands are refused)",
)


exp = _un(ltr.exp, doc="Elementwise exponential ``e**x``.")
exp2 = _un(ltr.exp2, doc="Elementwise ``2**x``.")
expm1 = _un(ltr.expm1, doc="Elementwise ``exp(x) - 1``, accurate for small ``x``.")
log = _un(ltr.log, doc="Elementwise natural logarithm (NaN below 0, -inf at 0).")
log1p = _un(ltr.log1p, doc="Elementwise ``log(1 + x)``, accurate for small ``x``.")
sqrt = _un(ltr.sqrt, doc="Elementwise non-negative square root (NaN for negative real input).")
cbrt = _un(ltr.cbrt, doc="Elementwise real cube root.", complex_ok=False)
sin = _un(ltr.sin, doc="Elementwise sine (radians).")
cos = _un(ltr.cos, doc="Elementwise cosine (radians).")
tan = _un(ltr.tan, doc="Elementwise tangent (radians).")
arcsin = _un(ltr.asin, name="arcsin", doc="Elementwise inverse sine, in radians (alias ``asin``).")
arccos = _un(
    ltr.acos, name="arccos", doc="Elementwise inverse cosine, in radians (alias ``acos``)."
)
arctan = _un(
    ltr.atan, name="arctan", doc="Elementwise inverse tangent, in radians (alias ``atan``)."
)
sinh = _un(ltr.sinh, doc="Elementwise hyperbolic sine.")
cosh = _un(ltr.cosh, doc="Elementwise hyperbolic cosine.")
tanh = _un(ltr.tanh, doc="Elementwise hyperbolic tangent.")
arcsinh = _un(
    ltr.asinh, name="arcsinh", doc="Elementwise inverse hyperbolic sine (alias ``asinh``)."
)
arccosh = _un(
    ltr.acosh, name="arccosh", doc="Elementwise inverse hyperbolic cosine (alias ``acosh``)."
)
arctanh = _un(
    ltr.atanh, name="arctanh", doc="Elementwise inverse hyperbolic tangent (alias ``atanh``)."
)
asin, acos, atan, asinh, acosh, atanh = arcsin, arccos, arctan, arcsinh, arccosh, arctanh
atan2 = arctan2


@arraylike_args(0)
def log2(x, /):
    """Elementwise base-2 logarithm (``log(x) / log(2)``).

    Args:
        x: input (array_like); integer and bool inputs are promoted to the default float dtype.

    Returns:
        Array of the shape of ``x``, floating or complex dtype.
    """
    (x,) = _promote(x, to_inexact=True)
    return le.div(ltr.log(x), full_like(x, np.log(2)))


@arraylike_args(0)
def log10(x, /):
    """Elementwise base-10 logarithm (``log(x) / log(10)``).

    Args:
        x: input (array_like); integer and bool inputs are promoted to the default float dtype.

    Returns:
        Array of the shape of ``x``, floating or complex dtype.
    """
    (x,) = _promote(x, to_inexact=True)
    return le.div(ltr.log(x), full_like(x, np.log(10)))


@arraylike_args(0, 1)
def hypot(x, y, /):
    """Elementwise ``sqrt(x**2 + y**2)``, without intermediate overflow or underflow.

    Args:
        x: first operand (array_like); promoted to a floating dtype.
        y: second operand (array_like); promoted to a floating dtype.

    Returns:
        Array of the broadcast shape, floating dtype.

    Raises:
        ValueError: if the shapes cannot be broadcast together, or for complex input (a
            ``ValueTypeError``, also a ``TypeError``).
    """
    x, y = _broadcast(*_promote(x, y, to_inexact=True))
    if get_aval(x).dtype.kind == "c":
        raise ValueTypeError("hypot is not defined for complex input (as numpy, JAX): use abs(z)")
    ax, ay = le.abs(x), le.abs(y)
    hi, lo = le.max(ax, ay), le.min(ax, ay)
    safe = where(hi == 0, ones_like(hi), hi)
    r = lo / safe
    return where(hi == 0, zeros_like(hi), hi * sqrt(1 + r * r))


@arraylike_args(0, 1)
def logaddexp(x, y, /):
    """Elementwise ``log(exp(x) + exp(y))``, computed stably.

    The derivative is finite everywhere, also at ``-inf`` and at ties (weights 1/2), as in JAX.

    Args:
        x: first operand (array_like); promoted to a floating dtype.
        y: second operand (array_like); promoted to a floating dtype.

    Returns:
        Array of the broadcast shape, floating dtype.

    Raises:
        ValueError: if the shapes cannot be broadcast together.
    """
    x, y = _broadcast(*_promote(x, y, to_inexact=True))
    return _logaddexp(x, y)


def _logaddexp_impl(x, y):
    m = le.max(x, y)
    m_safe = where(isfinite(m), m, zeros_like(m))
    d = where(x == y, zeros_like(x), x - y)  # inf - inf would be nan
    out = m_safe + log1p(exp(-le.abs(d)))
    return where(isfinite(m), out, where(isnan(m), m, m + log1p(exp(-le.abs(d)))))


def _logaddexp_jvp(primals, tangents):
    # d out = tx * exp(x - out) + ty * exp(y - out): 0.5 / 0.5 at ties, finite at -inf (JAX)
    x, y = primals
    tx, ty = tangents
    out = _logaddexp(x, y)
    safe = where(isfinite(out), out, zeros_like(out))
    wx = where(x == -np.inf, zeros_like(x), exp(where(isfinite(x), x, zeros_like(x)) - safe))
    wy = where(y == -np.inf, zeros_like(y), exp(where(isfinite(y), y, zeros_like(y)) - safe))
    return out, tx * wx + ty * wy


def _make_logaddexp():
    from funcgrad._src.api import custom_jvp

    f = custom_jvp(_logaddexp_impl)
    f.defjvp(_logaddexp_jvp)
    return f


@arraylike_args(0, 1)
def logaddexp2(x, y, /):
    """Elementwise ``log2(2**x + 2**y)``, computed stably.

    Args:
        x: first operand (array_like); promoted to a floating dtype.
        y: second operand (array_like); promoted to a floating dtype.

    Returns:
        Array of the broadcast shape, floating dtype.

    Raises:
        ValueError: if the shapes cannot be broadcast together.
    """
    ln2 = np.log(2)
    x, y = _promote(x, y, to_inexact=True)
    return logaddexp(x * ln2, y * ln2) / ln2


@arraylike_args(0)
def sinc(x, /):
    """Elementwise normalised sinc ``sin(pi x) / (pi x)``, 1 at 0 (with a finite gradient).

    Args:
        x: input (array_like); promoted to a floating dtype.

    Returns:
        Array of the shape of ``x``, floating or complex dtype.
    """
    (x,) = _promote(x, to_inexact=True)
    pix = x * np.pi
    safe = where(x == 0, ones_like(x), pix)
    return where(x == 0, ones_like(x), sin(safe) / safe)


_logaddexp = _make_logaddexp()


@arraylike_args(0)
def i0(x):
    """Modified Bessel function of the first kind, order 0 (Cephes' Chebyshev expansions).

    Args:
        x: real input (array_like); promoted to a floating dtype.

    Returns:
        Array of the shape of ``x``, floating dtype.
    """
    x = _inexact(asarray(x))[0]
    ax = abs(x)
    small = less_equal(ax, 8.0)
    ys = ax / 2.0 - 2.0
    yl = 32.0 / where(small, 8.0, ax) - 2.0
    vs = _chbevl(ys, _I0_A) * exp(ax)
    vl = _chbevl(yl, _I0_B) * exp(ax) / sqrt(where(small, 8.0, ax))
    return where(small, vs, vl)


def _chbevl(x, coeffs):
    b0 = zeros_like(x)
    b1 = zeros_like(x)
    b2 = b1
    for c in coeffs:
        b2 = b1
        b1 = b0
        b0 = x * b1 - b2 + c
    return 0.5 * (b0 - b2)


_I0_A = [
    -4.41534164647933937950e-18,
    3.33079451882223809783e-17,
    -2.43127984654795469359e-16,
    1.71539128555513303061e-15,
    -1.16853328779934516808e-14,
    7.67618549860493561688e-14,
    -4.85644678311192946090e-13,
    2.95505266312963983461e-12,
    -1.72682629144155570723e-11,
    9.67580903537323691224e-11,
    -5.18979560163526290666e-10,
    2.65982372468238665035e-9,
    -1.30002500998624804212e-8,
    6.04699502254191894932e-8,
    -2.67079385394061173391e-7,
    1.11738753912010371815e-6,
    -4.41673835845875056359e-6,
    1.64484480707288970893e-5,
    -5.75419501008210370398e-5,
    1.88502885095841655729e-4,
    -5.76375574538582365885e-4,
    1.63947561694133579842e-3,
    -4.32430999505057594430e-3,
    1.05464603945949983183e-2,
    -2.37374148058994688156e-2,
    4.93052842396707084878e-2,
    -9.49010970480476444210e-2,
    1.71620901522208775349e-1,
    -3.04682672343198398683e-1,
    6.76795274409476084995e-1,
]
_I0_B = [
    -7.23318048787475395456e-18,
    -4.83050448594418207126e-18,
    4.46562142029675999901e-17,
    3.46122286769746109310e-17,
    -2.82762398051658348494e-16,
    -3.42548561967721913462e-16,
    1.77256013305652638360e-15,
    3.81168066935262242075e-15,
    -9.55484669882830764870e-15,
    -4.15056934728722208663e-14,
    1.54008621752140982691e-14,
    3.85277838274214270114e-13,
    7.18012445138366623367e-13,
    -1.79417853150680611778e-12,
    -1.32158118404477131188e-11,
    -3.14991652796324136454e-11,
    1.18891471078464383424e-11,
    4.94060238822496958910e-10,
    3.39623202570838634515e-9,
    2.26666899049817806459e-8,
    2.04891858946906374183e-7,
    2.89137052083475648297e-6,
    6.88975834691682398426e-5,
    3.36911647825569408990e-3,
    8.04490411014108831608e-1,
]
