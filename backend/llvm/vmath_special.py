"""``vmath`` kernels: the error function family, the gamma family, powers and roots."""

from __future__ import annotations

from llvmlite import ir

from .vmath_coeffs import PIECES
from .vmath_exp import _exp, _log
from .vmath_kit import HALF_LOG_2PI, LOG_PI, PI, Kit, Val, coeffs, piecewise
from .vmath_trig import _cos, _sin

# --- error function ---------------------------------------------------------------------------


def _erf_small(k: Kit, x: Val) -> Val:
    """erf(x) = x + x * E(x**2) for |x| <= 1/2."""
    return k.fma(x, k.poly(x * x, coeffs(k, "erf")), x)


def _erfc_pos(k: Kit, a: Val) -> Val:
    """erfc(a) for a >= 1/2: exp(-a**2) / a * F(1/a), with a**2 split into hi + lo."""
    a = k.where(a < 0.5, 0.5, k.where(a > 30.0, 30.0, a))  # erfc(30) == 0 in float64 too
    u = 1.0 / a
    a2 = a * a
    a2_lo = k.fma(a, a, -a2)
    e = _exp(k, -a2) * (1.0 - a2_lo)
    return e * u * piecewise(k, u, "erfc")


def _erf(k: Kit, x: Val) -> Val:
    """Error function."""
    a = k.abs(x)
    large = k.copysign(1.0 - _erfc_pos(k, k.where(a > k.fmt.erf_one, k.fmt.erf_one, a)), x)
    return k.where(a < 0.5, _erf_small(k, x), large)


def _erfc(k: Kit, x: Val) -> Val:
    """Complementary error function, accurate in the far right tail."""
    ec = _erfc_pos(k, k.abs(x))
    large = k.where(x < 0.0, 2.0 - ec, ec)
    return k.where(k.abs(x) < 0.5, 1.0 - _erf_small(k, x), large)


def _erf_inv(k: Kit, y: Val) -> Val:
    """Inverse error function: y * G(w), w = -log(1 - y**2), G piecewise in w or sqrt(w)."""
    a = k.abs(y)
    w = -_log(k, (1.0 - a) * (1.0 + a))
    v_start = next(p[1] for p in PIECES[("erf_inv", k.fmt.bits)] if p[0] == "v")
    wc = k.where(a < 1.0, w, 0.0)
    var = k.where(wc >= v_start * v_start, k.sqrt(wc), wc)
    out = y * _piecewise_erfinv(k, wc, var)
    out = k.where(a.eq(1.0), k.copysign(float("inf"), y), out)
    return k.where(a > 1.0, float("nan"), out)


def _piecewise_erfinv(k: Kit, w: Val, var: Val) -> Val:
    # Pieces are keyed by their start in their own variable (w or sqrt w); select on w.
    pieces = PIECES[("erf_inv", k.fmt.bits)]
    as_w = [(s * s if v == "v" else s, c, cs) for v, s, c, cs in pieces]
    deg = max(len(cs) for _, _, cs in as_w)
    centre, coeffs = k.lift(as_w[0][1]), [k.lift(c) for c in _pad(as_w[0][2], deg)]
    for start, c0, cs in as_w[1:]:
        use = w >= start
        centre = k.where(use, c0, centre)
        coeffs = [k.where(use, c, old) for c, old in zip(_pad(cs, deg), coeffs)]
    return k.poly(var - centre, coeffs)


def _pad(cs, deg):
    return tuple(cs) + (0.0,) * (deg - len(cs))


# --- gamma family -----------------------------------------------------------------------------


def _shift_up(k: Kit, a: Val, step):
    """Apply ``acc = step(acc, y)`` and y += 1 while y < fmt.gamma_shift (fixed trip count)."""
    y, acc = a, None
    for _ in range(k.fmt.gamma_shift):
        m = y < float(k.fmt.gamma_shift)
        acc = step(m, acc, y)
        y = k.where(m, y + 1.0, y)
    return y, acc


def _lgamma_pos(k: Kit, a: Val) -> Val:
    """lgamma(a) for a >= 0: Stirling series at y = a + n minus log(a (a+1) ... (a+n-1))."""

    def step(m, p, y):  # p = a (a+1) ... over the shifted steps
        return k.where(m, y, 1.0) if p is None else k.where(m, p * y, p)

    y, p = _shift_up(k, a, step)
    r = 1.0 / y
    series = r * k.poly(r * r, _STIRLING[k.fmt.bits])
    return ((y - 0.5) * _log(k, y) - y) + (HALF_LOG_2PI + series) - _log(k, p)


def _sinpi_cospi(k: Kit, x: Val):
    """(sin(pi r), cos(pi r)) with r = x - rint(x), the fractional part, |r| <= 1/2."""
    r = (x - k.rint(x)) * PI[0]
    return _sin(k, r), _cos(k, r)


def _lgamma(k: Kit, x: Val) -> Val:
    """log|Gamma(x)|, with the reflection formula for x < 0."""
    neg = x < 0.0
    a = k.where(neg, 1.0 - x, x)
    pos = _lgamma_pos(k, a)
    s, _ = _sinpi_cospi(k, k.where(neg, x, 0.5))
    refl = (LOG_PI - _log(k, k.abs(s))) - pos
    out = k.where(neg, refl, pos)
    return k.where(k.abs(x).eq(float("inf")), float("inf"), out)


def _digamma_pos(k: Kit, a: Val) -> Val:
    """psi(a) for a > 0: asymptotic series at y = a + n minus sum 1/(a+i), kept as num/den."""

    def step(m, acc, y):
        num, den = acc if acc is not None else (k.lift(0.0), k.lift(1.0))
        return k.where(m, num * y + den, num), k.where(m, den * y, den)

    y, (num, den) = _shift_up(k, a, step)
    r = 1.0 / y
    r2 = r * r
    series = r2 * k.poly(r2, _DIGAMMA[k.fmt.bits])
    return (_log(k, y) - 0.5 * r) - series - num / den


def _digamma(k: Kit, x: Val) -> Val:
    """psi(x) = d/dx lgamma(x); NaN at the poles x = 0, -1, -2, ..."""
    neg = x <= 0.0
    a = k.where(neg, 1.0 - x, x)
    s, c = _sinpi_cospi(k, k.where(neg, x, 0.25))
    out = _digamma_pos(k, a) - k.where(neg, PI[0] * c / s, 0.0)
    pole = neg & k.rint(x).eq(x)
    out = k.where(x.eq(float("inf")), x, out)
    return k.where(pole | x.eq(float("-inf")), float("nan"), out)


def _trigamma_pos(k: Kit, a: Val) -> Val:
    """psi'(a) for a > 0: 1/a**2 (kept apart: it may overflow) plus sum 1/(a+i)**2 as num/den
    while a+i < fmt.gamma_shift, plus the asymptotic series at y >= gamma_shift
    psi'(y) ~ 1/y + 1/(2y**2) + sum B2k / y**(2k+1). float64 uses the shift (10) and the four
    terms of the numpy impl (``_trigamma_scalar``), so both agree to rounding; float32 shifts
    to 4 (series error below 1e-7)."""
    shift = float(k.fmt.gamma_shift)
    m0 = a < shift
    inv = 1.0 / a
    first = k.where(m0, inv * inv, 0.0)
    y = k.where(m0, a + 1.0, a)
    num, den = k.lift(0.0), k.lift(1.0)
    for _ in range(k.fmt.gamma_shift - 1):  # y >= 1 here: den stays below shift**(2*shift)
        m = y < shift
        y2 = y * y
        num, den = k.where(m, num * y2 + den, num), k.where(m, den * y2, den)
        y = k.where(m, y + 1.0, y)
    r = 1.0 / y
    r2 = r * r
    series = r + r2 * k.fma(r, k.poly(r2, _TRIGAMMA), 0.5)
    return first + (num / den + series)


def _trigamma(k: Kit, x: Val) -> Val:
    """psi'(x), the derivative of digamma; reflection psi'(x) = (pi / sin(pi x))**2 - psi'(1-x)
    for x < 0; +inf at the poles x = 0, -1, -2, ... and at -inf, 0 at +inf (the numpy impl)."""
    neg = x < 0.0
    pos = _trigamma_pos(k, k.where(neg, 1.0 - x, x))
    xr = k.where(neg, x, 0.5)
    q = PI[0] / _sin(k, (xr - k.rint(xr)) * PI[0])
    out = k.where(neg, q * q - pos, pos)
    pole = (x <= 0.0) & k.rint(x).eq(x)
    return k.where(pole, float("inf"), out)


# Stirling: lgamma(y) ~ (y-1/2) log y - y + log(2 pi)/2 + sum B2k / (2k (2k-1) y**(2k-1)).
_STIRLING = {
    32: (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188),
    64: (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400),
}
# digamma(y) ~ log y - 1/(2y) - sum B2k / (2k y**2k).
_DIGAMMA = {
    32: (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132),
    64: (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12, -3617 / 8160),
}


# trigamma(y) - 1/y - 1/(2y**2) ~ (1/y**3) * (1/6 - 1/(30y**2) + 1/(42y**4) - 1/(30y**6)).
_TRIGAMMA = (1 / 6, -1 / 30, 1 / 42, -1 / 30)


# --- powers and roots -------------------------------------------------------------------------


def _sqrt(k: Kit, x: Val) -> Val:
    """Square root (the llvm.sqrt intrinsic vectorises to one instruction)."""
    return k.sqrt(x)


def _rsqrt(k: Kit, x: Val) -> Val:
    """1 / sqrt(x)."""
    return 1.0 / k.sqrt(x)


_CBRT_MAGIC = {32: 709958130, 64: 715094163 << 32}


def _cbrt(k: Kit, x: Val) -> Val:
    """Cube root: bit-trick guess, then Halley steps y *= (y**3 + 2a) / (2y**3 + a)."""
    fmt = k.fmt
    a = k.abs(x)
    sub = a < 2.0 ** (1 - fmt.bias)
    shift = 3 * (fmt.mant // 3 + 1)  # a multiple of 3
    a = k.where(sub, a * 2.0**shift, a)
    guess = k.b.add(k.b.udiv(k.bits(a), k.i(3)), k.i(_CBRT_MAGIC[fmt.bits]))
    y = k.from_bits(guess)
    for _ in range(2 if fmt.bits == 32 else 3):
        y3 = y * y * y
        y = y * ((y3 + a + a) / (y3 + y3 + a))
    y = k.where(sub, y * 2.0 ** -(shift // 3), y)
    out = k.copysign(y, x)
    return k.where(x.eq(0.0) | k.abs(x).eq(float("inf")) | k.isnan(x), x, out)


def _pow(k: Kit, x: Val, y: Val) -> Val:
    """x**y = exp(y log|x|) with the sign for integer y and the C99 special cases.

    float32 goes through float64 (same lane count), so it is correctly rounded in practice.
    """
    mag = _pow_abs(k, k.abs(x), y)
    yint = k.rint(y).eq(y)
    half = y * 0.5
    odd = yint & k.rint(half).ne(half)
    out = k.where(k.sign_bit_set(x) & odd, -mag, mag)
    out = k.where((x < 0.0) & ~yint & x.ne(float("-inf")) & ~k.isnan(y), float("nan"), out)
    one = y.eq(0.0) | x.eq(1.0) | (x.eq(-1.0) & k.abs(y).eq(float("inf")))
    return k.where(one, 1.0, out)


def _pow_abs(k: Kit, ax: Val, y: Val) -> Val:
    if k.fmt.bits == 64:
        return _exp(k, y * _log(k, ax))
    wide = ir.VectorType(ir.DoubleType(), k.lanes) if k.lanes else ir.DoubleType()
    kd = Kit(k.b, wide)
    axd, yd = Val(kd, k.b.fpext(ax.v, wide)), Val(kd, k.b.fpext(y.v, wide))
    return Val(k, k.b.fptrunc(_exp(kd, yd * _log(kd, axd)).v, k.ty))
