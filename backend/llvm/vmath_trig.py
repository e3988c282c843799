"""``vmath`` kernels: trigonometric functions and their inverses."""

from __future__ import annotations

from .vmath_kit import PI, PIO2, PIO4, TWO_OVER_PI, Kit, Val, coeffs

# --- trigonometric ----------------------------------------------------------------------------


def _trig_reduce(k: Kit, x: Val):
    """x = q*pi/2 + r with |r| <= pi/4 (Cody-Waite, three parts, fma). Returns (q, r, z=r*r)."""
    nf = k.rint(x * TWO_OVER_PI)
    nf = k.where(k.abs(nf) < 2.0 ** (k.fmt.bits - 2), nf, 0.0)  # inf/nan/huge: fptosi defined
    p1, p2, p3 = k.fmt.pio2
    r = k.fma(-nf, p1, x)
    r = k.fma(-nf, p2, r)
    r = k.fma(-nf, p3, r)
    return k.to_int(nf), r, r * r


def _sin_kernel(k: Kit, r: Val, z: Val) -> Val:
    return k.fma(r * z, k.poly(z, coeffs(k, "sin")), r)


def _cos_kernel(k: Kit, z: Val) -> Val:
    hz = 0.5 * z
    w = 1.0 - hz
    return w + (((1.0 - w) - hz) + z * z * k.poly(z, coeffs(k, "cos")))


# Beyond these |x| the three-part reduction is not trusted: the result is NaN, not garbage.
_TRIG_MAX = {32: 2.0**23, 64: 1e15}  # float32: float rounding of x * 2/pi limits it


def _trig_finish(k: Kit, x: Val, out: Val) -> Val:
    out = k.where(k.abs(x) >= _TRIG_MAX[k.fmt.bits], float("nan"), out)  # also inf; NaN stays
    return k.where(x.eq(0.0), x, out)  # keeps the sign of zero


def _sin(k: Kit, x: Val) -> Val:
    """sin(x); accurate while |x| * 2/pi fits the reduction (see docs/math-accuracy.md)."""
    q, r, z = _trig_reduce(k, x)
    v = k.where(k.int_flag(q, 1), _cos_kernel(k, z), _sin_kernel(k, r, z))
    return _trig_finish(k, x, k.where(k.int_flag(q, 2), -v, v))


def _cos(k: Kit, x: Val) -> Val:
    """cos(x)."""
    q, r, z = _trig_reduce(k, x)
    v = k.where(k.int_flag(q, 1), _sin_kernel(k, r, z), _cos_kernel(k, z))
    neg = k.int_flag(k.b.add(q, k.i(1)), 2)
    out = k.where(neg, -v, v)
    return k.where(k.abs(x) >= _TRIG_MAX[k.fmt.bits], float("nan"), out)


def _tan(k: Kit, x: Val) -> Val:
    """tan(x) = sin/cos of the reduced argument (-cos/sin in odd quadrants)."""
    q, r, z = _trig_reduce(k, x)
    s, c = _sin_kernel(k, r, z), _cos_kernel(k, z)
    odd = k.int_flag(q, 1)
    return _trig_finish(k, x, k.where(odd, -c, s) / k.where(odd, s, c))


def _atan_pos(k: Kit, a: Val) -> Val:
    """atan(a) for a >= 0 (or NaN): reduce to |t| <= tan(pi/8), then t + t**3 * Q(t**2)."""
    big, mid = a > 2.414213562373095, a > 0.41421356237309503
    num = k.where(big, -1.0, k.where(mid, a - 1.0, a))
    den = k.where(big, a, k.where(mid, a + 1.0, 1.0))
    t = num / den
    z = t * t
    p = k.fma(t * z, k.poly(z, coeffs(k, "atan")), t)
    y_hi = k.where(big, PIO2[0], k.where(mid, PIO4[0], 0.0))
    y_lo = k.where(big, PIO2[1], k.where(mid, PIO4[1], 0.0))
    return y_hi + (p + y_lo)


def _atan(k: Kit, x: Val) -> Val:
    """Arc tangent."""
    return k.copysign(_atan_pos(k, k.abs(x)), x)


def _atan2(k: Kit, y: Val, x: Val) -> Val:
    """atan2(y, x) with IEEE special cases (signed zeros, infinities)."""
    ax, ay = k.abs(x), k.abs(y)
    steep = ay > ax
    t = k.where(steep, ax, ay) / k.where(steep, ay, ax)
    inf = float("inf")
    t = k.where(ax.eq(inf) & ay.eq(inf), 1.0, k.where(ax.eq(0.0) & ay.eq(0.0), 0.0, t))
    ang = _atan_pos(k, t)
    # steep: pi/2 -+ ang; x < 0 (or -0): pi - ang; one rounding on the offset's high part.
    neg = k.sign_bit_set(x)
    flip = Val(k, k.b.xor(steep.v, neg.v))
    hi = k.where(steep, PIO2[0], k.where(neg, PI[0], 0.0))
    lo = k.where(steep, PIO2[1], k.where(neg, PI[1], 0.0))
    ang = hi + (k.where(flip, -ang, ang) + lo)
    return k.where(k.isnan(x) | k.isnan(y), x + y, k.copysign(ang, y))


def _asin_parts(k: Kit, x: Val):
    """(small, p) with p = asin(s) for s = |x| (small) or sqrt((1 - |x|) / 2)."""
    a = k.abs(x)
    small = a <= 0.5
    z = k.where(small, a * a, (1.0 - a) * 0.5)
    s = k.where(small, a, k.sqrt(z))
    return small, k.fma(s * z, k.poly(z, coeffs(k, "asin")), s)


def _asin(k: Kit, x: Val) -> Val:
    """Arc sine."""
    small, p = _asin_parts(k, x)
    out = k.where(small, p, (PIO2[0] - 2.0 * p) + PIO2[1])
    return k.copysign(out, x)


def _acos(k: Kit, x: Val) -> Val:
    """Arc cosine."""
    small, p = _asin_parts(k, x)
    centre = (PIO2[0] - k.copysign(p, x)) + PIO2[1]
    side = k.where(x > 0.0, 2.0 * p, (PI[0] - 2.0 * p) + PI[1])
    return k.where(small, centre, side)
