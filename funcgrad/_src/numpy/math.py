"""funcgrad.numpy: elementwise mathematical functions (arithmetic, powers, exponentials and
logarithms, trigonometric and hyperbolic functions, rounding, complex parts, floating-point
routines such as ``frexp``/``ldexp``, ``gcd``/``lcm`` and ``i0``)."""

from __future__ import annotations

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import Array, get_aval
from funcgrad._src.core import Tracer
from funcgrad._src.lax import elementwise as le
from funcgrad._src.numpy.bitwise import bitwise_and, right_shift
from funcgrad._src.numpy.conversion import _broadcast, _dtype, _inexact, _promote, asarray, astype
from funcgrad._src.numpy.creation import full_like, ones_like, zeros_like
from funcgrad._src.numpy.logic import (
    equal,
    greater_equal,
    isfinite,
    isnan,
    isneginf,
    isposinf,
    less,
    less_equal,
    logical_and,
    logical_not,
    logical_or,
    not_equal,
    where,
)
from funcgrad._src.numpy.ufuncs import _bin, _eager_binary, _int_passthrough, _un

add = _bin(le.add, name="add")
subtract = _bin(le.sub, name="subtract")
multiply = _bin(le.mul, name="multiply")
maximum = _bin(le.max, name="maximum")
minimum = _bin(le.min, name="minimum")
arctan2 = _bin(le.atan2, to_inexact=True, name="arctan2")
nextafter = _bin(le.nextafter, to_inexact=True, name="nextafter")


def true_divide(x, y, /):
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


def floor_divide(x, y, /):
    x, y = _broadcast(*_promote(x, y))
    if get_aval(x).dtype.kind in "iu":
        q = le.div(x, y)
        fix = logical_and(
            le.ne(le.rem(x, y), zeros_like(x)),
            le.ne(le.lt(x, zeros_like(x)), le.lt(y, zeros_like(y))),
        )
        return where(fix, q - 1, q) if get_aval(x).dtype.kind == "i" else q
    return floor(le.div(x, y))


def remainder(x, y, /):
    x, y = _broadcast(*_promote(x, y))
    r = le.rem(x, y)
    z = zeros_like(r)
    fix = logical_and(le.ne(r, z), le.ne(le.lt(r, z), le.lt(y, zeros_like(y))))
    return where(fix, r + y, r)


mod = remainder


def fmod(x, y, /):
    x, y = _broadcast(*_promote(x, y))
    return le.rem(x, y)


def divmod(x, y, /):
    return floor_divide(x, y), remainder(x, y)


def power(x, y, /):
    if isinstance(y, (int, np.integer)) and not isinstance(y, bool):
        (x,) = _promote(x)
        if get_aval(x).dtype.kind in "iu" and y < 0:
            from funcgrad._src.core import ValueTypeError

            raise ValueTypeError(
                "integers to negative integer powers are not allowed: use "
                "a float base (x.astype(float)) or a non-negative exponent"
            )
        return le.integer_pow(x, int(y))
    x, y = _broadcast(*_promote(x, y))
    dt = get_aval(x).dtype
    if dt.kind in "iub":
        return _int_pow(x, y)
    return le.pow(x, y)


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


def float_power(x, y, /):
    x, y = _promote(x, y, to_inexact=True)
    x, y = astype(x, dtypes.canonicalize(np.float64)), astype(y, dtypes.canonicalize(np.float64))
    return power(x, y)


def negative(x, /):
    return le.neg(asarray(x))


def positive(x, /):
    return asarray(x)


def square(x, /):
    return le.integer_pow(asarray(x), 2)


def reciprocal(x, /):
    (x,) = _promote(x, to_inexact=True)
    return le.div(ones_like(x), x)


def absolute(x, /):
    return le.abs(asarray(x))


abs = absolute


def fabs(x, /):
    return le.abs(_promote(x, to_inexact=True)[0])


def sign(x, /):
    x = asarray(x)
    if get_aval(x).dtype.kind == "c":
        return x / where(x == 0, ones_like(x), astype(le.abs(x), get_aval(x).dtype))
    if get_aval(x).dtype == np.bool_:
        return x
    return le.sign(x)


exp = _un(le.exp)
exp2 = _un(le.exp2)
expm1 = _un(le.expm1)
log = _un(le.log)
log1p = _un(le.log1p)
sqrt = _un(le.sqrt)
cbrt = _un(le.cbrt)
sin, cos, tan = _un(le.sin), _un(le.cos), _un(le.tan)
arcsin, arccos, arctan = (
    _un(le.asin, name="arcsin"),
    _un(le.acos, name="arccos"),
    _un(le.atan, name="arctan"),
)
sinh, cosh, tanh = _un(le.sinh), _un(le.cosh), _un(le.tanh)
arcsinh, arccosh, arctanh = (
    _un(le.asinh, name="arcsinh"),
    _un(le.acosh, name="arccosh"),
    _un(le.atanh, name="arctanh"),
)
asin, acos, atan, asinh, acosh, atanh = arcsin, arccos, arctan, arcsinh, arccosh, arctanh
atan2 = arctan2


def log2(x, /):
    (x,) = _promote(x, to_inexact=True)
    return le.div(le.log(x), full_like(x, np.log(2)))


def log10(x, /):
    (x,) = _promote(x, to_inexact=True)
    return le.div(le.log(x), full_like(x, np.log(10)))


floor = _int_passthrough(le.floor)
ceil = _int_passthrough(le.ceil)


def trunc(x, /):
    x = asarray(x)
    if get_aval(x).dtype.kind in "iub":
        return x
    return where(le.lt(x, zeros_like(x)), le.ceil(x), le.floor(x))


fix = trunc


def round(x, decimals=0, out=None):
    x = asarray(x)
    if get_aval(x).dtype.kind in "iub":
        return x
    if decimals == 0:
        return le.round(x, 1)
    f = full_like(x, 10.0**decimals)
    return le.div(le.round(le.mul(x, f), 1), f)


around = round
rint = lambda x: round(x)


def clip(a, a_min=None, a_max=None, *, min=None, max=None):
    a = asarray(a)
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    if lo is not None:
        a = maximum(a, lo)
    if hi is not None:
        a = minimum(a, hi)
    return a


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    x = asarray(x)
    dt = get_aval(x).dtype
    if dt.kind not in "fc":
        return x
    info = np.finfo(dt)
    x = where(isnan(x), full_like(x, nan), x)
    x = where(isposinf(x), full_like(x, info.max if posinf is None else posinf), x)
    return where(isneginf(x), full_like(x, info.min if neginf is None else neginf), x)


def fmax(x, y, /):
    x, y = _broadcast(*_promote(x, y))
    return where(isnan(y), x, where(isnan(x), y, le.max(x, y)))


def fmin(x, y, /):
    x, y = _broadcast(*_promote(x, y))
    return where(isnan(y), x, where(isnan(x), y, le.min(x, y)))


def hypot(x, y, /):
    x, y = _broadcast(*_promote(x, y, to_inexact=True))
    ax, ay = le.abs(x), le.abs(y)
    hi, lo = le.max(ax, ay), le.min(ax, ay)
    safe = where(hi == 0, ones_like(hi), hi)
    r = lo / safe
    return where(hi == 0, zeros_like(hi), hi * sqrt(1 + r * r))


def logaddexp(x, y, /):
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


def logaddexp2(x, y, /):
    ln2 = np.log(2)
    x, y = _promote(x, y, to_inexact=True)
    return logaddexp(x * ln2, y * ln2) / ln2


def sinc(x, /):
    (x,) = _promote(x, to_inexact=True)
    pix = x * np.pi
    safe = where(x == 0, ones_like(x), pix)
    return where(x == 0, ones_like(x), sin(safe) / safe)


def deg2rad(x, /):
    (x,) = _promote(x, to_inexact=True)
    return x * (np.pi / 180)


def rad2deg(x, /):
    (x,) = _promote(x, to_inexact=True)
    return x * (180 / np.pi)


radians, degrees = deg2rad, rad2deg


def heaviside(x1, x2, /):
    x1, x2 = _broadcast(*_promote(x1, x2, to_inexact=True))
    return where(x1 < 0, zeros_like(x1), where(x1 > 0, ones_like(x1), x2))


def real(x, /):
    x = asarray(x)
    return le.real(x) if get_aval(x).dtype.kind == "c" else x


def imag(x, /):
    x = asarray(x)
    return le.imag(x) if get_aval(x).dtype.kind == "c" else zeros_like(x)


def conjugate(x, /):
    x = asarray(x)
    return le.conj(x) if get_aval(x).dtype.kind == "c" else x


conj = conjugate


def angle(z, deg=False):
    z = asarray(z)
    if get_aval(z).dtype.kind != "c":
        (z,) = _promote(z, to_inexact=True)
        a = where(z < 0, full_like(z, np.pi), zeros_like(z))
    else:
        a = le.atan2(le.imag(z), le.real(z))
    return rad2deg(a) if deg else a


def signbit(x, /):
    x = asarray(x)
    if get_aval(x).dtype.kind == "f":
        bits = le.bitcast_convert_type(x, np.dtype(f"i{get_aval(x).dtype.itemsize}"))
        return le.lt(bits, zeros_like(bits))
    return less(x, 0)


def copysign(x, y, /):
    x, y = _broadcast(*_promote(x, y, to_inexact=True))
    return where(signbit(y), -le.abs(x), le.abs(x))


_logaddexp = _make_logaddexp()


def frexp(x, /):
    """Mantissa in [0.5, 1) and integer exponent with ``x = m * 2**e`` (exact for finite
    normal and subnormal floats)."""
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


def ldexp(x1, x2, /):
    """``x1 * 2**x2`` (``x2`` integer)."""
    x2 = asarray(x2)
    if not dtypes.is_int(_dtype(x2)):
        raise TypeError(f"ldexp: x2 must be an integer array, got {_dtype(x2)}")
    (x1,) = _inexact(asarray(x1))
    return _scale2(x1, astype(x2, _dtype(x1)))


def modf(x, /, out=None):
    """Fractional and integral parts, both with the sign of ``x``."""
    x = _inexact(asarray(x))[0]
    whole = trunc(x)
    return x - whole, whole


def _int_args(name, x1, x2):
    x1, x2 = _promote(asarray(x1), asarray(x2))
    if not (dtypes.is_int(_dtype(x1)) or _dtype(x1) == np.bool_):
        raise ValueError(f"{name}: arguments must be integers, got {_dtype(x1)}")
    return _broadcast(x1, x2)


def gcd(x1, x2, /):
    """Greatest common divisor (non-negative), by Euclid's algorithm in a while_loop."""
    from funcgrad._src.lax.control import while_loop
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


def lcm(x1, x2, /):
    """Least common multiple (non-negative)."""
    a, b = _int_args("lcm", x1, x2)
    g = gcd(a, b)
    zero = equal(g, 0)
    return where(zero, zeros_like(a), abs(a * floor_divide(b, where(zero, 1, g))))


def i0(x):
    """Modified Bessel function of the first kind, order 0 (Cephes' Chebyshev expansions)."""
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
