"""Transcendental elementwise primitives: exponentials and logarithms, trigonometric and
hyperbolic functions, roots (``sqrt``, ``rsqrt``, ``cbrt``: transcendental ops in XLA's
sense), ``pow`` and ``atan2``, and the erf and gamma families.

Each primitive is one block: the primitive and its wrapper, then every rule it has. The
builders (``unop``, ``binop``) and the arithmetic the rules are written with live in
``elementwise.py``.
"""

from __future__ import annotations

import math

from funcgrad._src.lax.common import ad, impl_rules, np
from funcgrad._src.lax.elementwise import (
    _defunary_deriv,
    add,
    binop,
    div,
    eq,
    full_like,
    mul,
    neg,
    select,
    sub,
    unop,
)

# ---- pow / atan2 ------------------------------------------------------------------------------


def _pow_dx(t, x, y):
    # d/dx x**y = y * x**(y-1); JAX makes it 0 where y == 0 (so 0**0 has gradient 0)
    y_is_0 = eq(y, full_like(y, 0))
    d = mul(y, pow(x, sub(y, full_like(y, 1))))
    return mul(t, select(y_is_0, full_like(d, 0), d))


def _pow_dy(t, x, y):
    out = pow(x, y)
    x_is_0 = eq(x, full_like(x, 0))
    safe_log = log(select(x_is_0, full_like(x, 1), x))
    return mul(t, select(x_is_0, full_like(out, 0), mul(out, safe_log)))


pow_p, pow = binop(
    "pow",
    np.power,
    "fc",
    doc="Elementwise power ``x ** y`` (see ``integer_pow`` for int exponents).",
)
ad.defjvp(pow_p, _pow_dx, _pow_dy)
ad.vjp_rules[pow_p] = lambda cts, p, out: [_pow_dx(cts[0], *p), _pow_dy(cts[0], *p)]

atan2_p, atan2 = binop(
    "atan2",
    np.arctan2,
    "f",
    doc="Elementwise arc tangent of ``x / y`` in the quadrant of the point (y, x).",
)


def _atan2_d(x, y):
    return add(mul(x, x), mul(y, y))


ad.defjvp(
    atan2_p,
    lambda t, x, y: mul(t, div(y, _atan2_d(x, y))),
    lambda t, x, y: neg(mul(t, div(x, _atan2_d(x, y)))),
)
ad.vjp_rules[atan2_p] = lambda cts, p, out: [
    mul(cts[0], div(p[1], _atan2_d(*p))),
    neg(mul(cts[0], div(p[0], _atan2_d(*p)))),
]


# ---- unary math (derivatives use the output where that is cheaper) ------------------------------

exp_p, exp = unop("exp", np.exp, doc="Elementwise exponential ``e ** x``.")
_defunary_deriv(exp_p, lambda t, out, x: mul(t, out))

exp2_p, exp2 = unop("exp2", np.exp2, doc="Elementwise ``2 ** x``.")
_defunary_deriv(exp2_p, lambda t, out, x: mul(t, mul(out, full_like(out, math.log(2)))))

log_p, log = unop("log", np.log, doc="Elementwise natural logarithm (``-inf`` at 0, NaN below).")
_defunary_deriv(log_p, lambda t, out, x: div(t, x))

expm1_p, expm1 = unop("expm1", np.expm1, doc="Elementwise ``exp(x) - 1``, accurate near 0.")
_defunary_deriv(expm1_p, lambda t, out, x: mul(t, add(out, full_like(out, 1))))

log1p_p, log1p = unop("log1p", np.log1p, doc="Elementwise ``log(1 + x)``, accurate near 0.")
_defunary_deriv(log1p_p, lambda t, out, x: div(t, add(x, full_like(x, 1))))

tanh_p, tanh = unop("tanh", np.tanh, doc="Elementwise hyperbolic tangent.")
_defunary_deriv(tanh_p, lambda t, out, x: mul(t, sub(full_like(out, 1), mul(out, out))))


def _logistic_impl(x):
    return np.where(
        x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x)))
    ).astype(x.dtype)


logistic_p, logistic = unop(
    "logistic",
    _logistic_impl,
    "f",
    doc="Elementwise sigmoid ``1 / (1 + exp(-x))``, without overflow.",
)
_defunary_deriv(logistic_p, lambda t, out, x: mul(t, mul(out, sub(full_like(out, 1), out))))

sin_p, sin = unop("sin", np.sin, doc="Elementwise sine.")
cos_p, cos = unop("cos", np.cos, doc="Elementwise cosine.")
_defunary_deriv(sin_p, lambda t, out, x: mul(t, cos(x)))
_defunary_deriv(cos_p, lambda t, out, x: neg(mul(t, sin(x))))

tan_p, tan = unop("tan", np.tan, doc="Elementwise tangent.")
_defunary_deriv(tan_p, lambda t, out, x: mul(t, add(full_like(out, 1), mul(out, out))))


def _one_minus_sq(x):
    return sub(full_like(x, 1), mul(x, x))


asin_p, asin = unop("asin", np.arcsin, doc="Elementwise arc sine (NaN outside [-1, 1] for real x).")
_defunary_deriv(asin_p, lambda t, out, x: mul(t, rsqrt(_one_minus_sq(x))))
acos_p, acos = unop(
    "acos", np.arccos, doc="Elementwise arc cosine (NaN outside [-1, 1] for real x)."
)
_defunary_deriv(acos_p, lambda t, out, x: neg(mul(t, rsqrt(_one_minus_sq(x)))))
atan_p, atan = unop("atan", np.arctan, doc="Elementwise arc tangent.")
_defunary_deriv(atan_p, lambda t, out, x: div(t, add(full_like(x, 1), mul(x, x))))
sinh_p, sinh = unop("sinh", np.sinh, doc="Elementwise hyperbolic sine.")
cosh_p, cosh = unop("cosh", np.cosh, doc="Elementwise hyperbolic cosine.")
_defunary_deriv(sinh_p, lambda t, out, x: mul(t, cosh(x)))
_defunary_deriv(cosh_p, lambda t, out, x: mul(t, sinh(x)))
asinh_p, asinh = unop("asinh", np.arcsinh, doc="Elementwise inverse hyperbolic sine.")
_defunary_deriv(asinh_p, lambda t, out, x: mul(t, rsqrt(add(mul(x, x), full_like(x, 1)))))
acosh_p, acosh = unop(
    "acosh", np.arccosh, doc="Elementwise inverse hyperbolic cosine (NaN below 1)."
)
_defunary_deriv(
    acosh_p, lambda t, out, x: mul(t, rsqrt(mul(sub(x, full_like(x, 1)), add(x, full_like(x, 1)))))
)
atanh_p, atanh = unop("atanh", np.arctanh, doc="Elementwise inverse hyperbolic tangent.")
_defunary_deriv(atanh_p, lambda t, out, x: div(t, _one_minus_sq(x)))

sqrt_p, sqrt = unop("sqrt", np.sqrt, doc="Elementwise square root (NaN for negative real x).")
_defunary_deriv(sqrt_p, lambda t, out, x: div(t, mul(full_like(out, 2), out)))
rsqrt_p, rsqrt = unop(
    "rsqrt", lambda x: (1 / np.sqrt(x)).astype(x.dtype), doc="Elementwise ``1 / sqrt(x)``."
)
_defunary_deriv(rsqrt_p, lambda t, out, x: mul(t, mul(full_like(out, -0.5), div(out, x))))
cbrt_p, cbrt = unop(
    "cbrt", np.cbrt, "f", doc="Elementwise real cube root (negative for negative x)."
)
_defunary_deriv(cbrt_p, lambda t, out, x: div(t, mul(full_like(out, 3), mul(out, out))))


# ---- the erf and gamma families -----------------------------------------------------------------

erf_p, erf = unop(
    "erf", np.vectorize(math.erf, otypes=[np.float64]), "f", doc="Elementwise error function."
)
impl_rules[erf_p] = lambda x: np.vectorize(math.erf, otypes=[x.dtype])(x) if x.size else x.copy()
_two_over_sqrt_pi = 2 / math.sqrt(math.pi)
_defunary_deriv(
    erf_p, lambda t, out, x: mul(t, mul(full_like(x, _two_over_sqrt_pi), exp(neg(mul(x, x)))))
)
erfc_p, erfc = unop(
    "erfc", None, "f", doc="Elementwise complementary error function ``1 - erf(x)``."
)
impl_rules[erfc_p] = lambda x: np.vectorize(math.erfc, otypes=[x.dtype])(x) if x.size else x.copy()
_defunary_deriv(
    erfc_p, lambda t, out, x: neg(mul(t, mul(full_like(x, _two_over_sqrt_pi), exp(neg(mul(x, x))))))
)


def _erfinv_impl(x):
    # Giles' single-precision approximation refined with two Newton steps in float64.
    x64 = x.astype(np.float64)
    w = -np.log((1.0 - x64) * (1.0 + x64))
    small = w < 5.0
    ws = w - 2.5
    wl = np.sqrt(np.where(small, 5.0, w)) - 3.0
    ps = np.polyval(
        [
            2.81022636e-08,
            3.43273939e-07,
            -3.5233877e-06,
            -4.39150654e-06,
            0.00021858087,
            -0.00125372503,
            -0.00417768164,
            0.246640727,
            1.50140941,
        ],
        ws,
    )
    pl = np.polyval(
        [
            -0.000200214257,
            0.000100950558,
            0.00134934322,
            -0.00367342844,
            0.00573950773,
            -0.0076224613,
            0.00943887047,
            1.00167406,
            2.83297682,
        ],
        wl,
    )
    y = np.where(small, ps, pl) * x64
    erf_v = np.vectorize(math.erf, otypes=[np.float64])
    for _ in range(2):
        fin = np.isfinite(y)
        err = np.where(fin, erf_v(np.where(fin, y, 0.0)) - x64, 0.0)
        y = np.where(fin, y - err / (_two_over_sqrt_pi * np.exp(-y * y)), y)
    y = np.where(x64 == 1, np.inf, np.where(x64 == -1, -np.inf, y))
    y = np.where(np.abs(x64) > 1, np.nan, y)
    return y.astype(x.dtype)


erf_inv_p, erf_inv = unop(
    "erf_inv",
    _erfinv_impl,
    "f",
    doc="Elementwise inverse of ``erf``: +-inf at +-1, NaN outside [-1, 1].",
)
_defunary_deriv(
    erf_inv_p,
    lambda t, out, x: mul(t, mul(full_like(x, math.sqrt(math.pi) / 2), exp(mul(out, out)))),
)


def _lgamma_impl(x):
    return np.vectorize(math.lgamma, otypes=[x.dtype])(x) if x.size else x.copy()


def _digamma_scalar(x: float) -> float:
    if x <= 0 and (math.isinf(x) or x == math.floor(x)):  # poles (and -inf): NaN
        return math.nan
    if x < 0:  # reflection
        return _digamma_scalar(1 - x) - math.pi / math.tan(math.pi * x)
    r = 0.0
    while x < 10:
        r -= 1 / x
        x += 1
    f = 1 / (x * x)
    return (
        r
        + math.log(x)
        - 0.5 / x
        - f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f / 132))))
    )


def _trigamma_scalar(x: float) -> float:
    if x <= 0 and (math.isinf(x) or x == math.floor(x)):  # poles (and -inf): +inf
        return math.inf
    if x < 0:
        return -_trigamma_scalar(1 - x) + (math.pi / math.sin(math.pi * x)) ** 2
    r = 0.0
    while x < 10:
        r += 1 / (x * x)
        x += 1
    f = 1 / (x * x)
    return r + 1 / x + f / 2 + (1 / 6 - f * (1 / 30 - f * (1 / 42 - f / 30))) / (x * x * x)


def _vec(fn):
    return lambda x: np.vectorize(fn, otypes=[x.dtype])(x) if x.size else x.copy()


_lgamma_pole = "eagerly (not traced) at the poles 0, -1, -2, ... (``jit`` code returns inf)."
lgamma_p, lgamma = unop(
    "lgamma",
    _lgamma_impl,
    "f",
    doc="Elementwise ``log|gamma(x)|``.",
    raises=[("ValueError", _lgamma_pole)],
)
digamma_p, digamma = unop(
    "digamma",
    _vec(_digamma_scalar),
    "f",
    doc="Elementwise digamma ``d lgamma(x) / dx`` (NaN at 0, -1, -2, ...).",
)
trigamma_p, trigamma = unop(
    "trigamma",
    _vec(_trigamma_scalar),
    "f",
    doc="Elementwise trigamma, the derivative of digamma (inf at 0, -1, ...).",
)
_defunary_deriv(lgamma_p, lambda t, out, x: mul(t, digamma(x)))
_defunary_deriv(digamma_p, lambda t, out, x: mul(t, trigamma(x)))
