"""``vmath`` kernels: trigonometric functions and their inverses."""

from __future__ import annotations

import functools
import math

from llvmlite import ir

from .vmath_kit import PI, PIO2, PIO4, TWO_OVER_PI, Kit, Val, coeffs

# --- float32 reduction of huge arguments (Payne-Hanek, in double) --------------------------------
#
# For float32 |x| >= 1/2, x = M * 2**(8j - 24) with an integer |M| < 2**31, exact in double
# (j = (e - 126) // 8 for the biased exponent e). Then x * 2/pi = M * F_j (mod 4) with
# F_j = 2**(8j - 24) * 2/pi mod 4,
# stored in five 22-bit parts, so that each M * part is exact in double. The parts' products,
# each reduced mod 4 (exact), sum to the quadrant and a fraction that keeps about 75 good bits
# however close x is to a multiple of pi/2: far more than float32 needs.

# The three-part Cody-Waite reduction is used below this (about 1 ulp there; it loses accuracy
# as |x| grows: 22 ulp at 2**23, NaN beyond).
_BIG_F32 = 2.0**16
_PART_BITS, _NPARTS, _NTAB = 22, 5, 17


def _two_over_pi_bits(nbits: int) -> int:
    """floor(2/pi * 2**nbits), from Machin's formula in integer arithmetic."""
    one = 1 << (nbits + 64)

    def atan_inv(n):  # atan(1/n) * 2**(nbits + 64)
        total, term, k, sign = 0, one // n, 1, 1
        while term:
            total += sign * (term // k)
            term, k, sign = term // (n * n), k + 2, -sign
        return total

    pi = 4 * (4 * atan_inv(5) - atan_inv(239))
    return (2 * one << nbits) // pi


@functools.cache
def _big_table():
    """Per j: (2**(24 - 8j), the five parts of F_j), all exact doubles."""
    nbits = 8 * _NTAB + _PART_BITS * _NPARTS + 64
    t = _two_over_pi_bits(nbits)
    rows = []
    for j in range(_NTAB):
        sh = 8 * j - 24
        v = (t << sh if sh >= 0 else t >> -sh) % (4 << nbits)  # F_j * 2**nbits
        parts, shift = [], nbits - (_PART_BITS - 2)  # part 0 holds bits 2**1 .. 2**-20
        for _ in range(_NPARTS):
            chunk = (v >> shift) & ((1 << _PART_BITS) - 1)
            parts.append(math.ldexp(chunk, -(nbits - shift)))
            shift -= _PART_BITS
        rows.append((2.0 ** (24 - 8 * j), *parts))
    return rows


def _row_index(k: Kit, x: Val) -> ir.Value:
    """j = (e - 126) // 8 from x's biased exponent e, clamped at 0 (small |x|: unused)."""
    b = k.b
    j = b.ashr(b.sub(b.and_(b.lshr(k.bits(x), k.i(23)), k.i(0xFF)), k.i(126)), k.i(3))
    return b.select(b.icmp_signed("<", j, k.i(0)), k.i(0), j)


def _select_row(k: Kit, d: Kit, x: Val):
    """The table row of each lane, chosen with selects by exponent band (a table load would
    make the loop vectorizer gather at 8 lanes instead of computing at 16)."""
    j, rows = _row_index(k, x), _big_table()
    vals = [d.lift(v) for v in rows[0]]
    for jj in range(1, _NTAB):
        use = Val(k, k.b.icmp_signed(">=", j, k.i(jj)))
        vals = [d.where(use, v, old) for v, old in zip(rows[jj], vals)]
    return vals


def _mod4(d: Kit, p: Val) -> Val:
    return p - 4.0 * d.rint(p * 0.25)  # exact: p is a multiple of 2**-64 below 2**33


def _reduce_big_f32(k: Kit, x: Val):
    """(q, r) of float32 x = q*pi/2 + r for |x| >= 1/2 (other lanes: garbage, selected away)."""
    dty = ir.DoubleType() if k.lanes is None else ir.VectorType(ir.DoubleType(), k.lanes)
    d = Kit(k.b, dty)
    scale, *parts = _select_row(k, d, x)
    m = Val(d, k.b.fpext(x.v, dty)) * scale
    p = [m * c for c in parts]
    s = _mod4(d, p[0]) + _mod4(d, p[1])  # exact, in [-4, 4]
    q = d.rint(s)
    f = s - q  # exact
    q = d.where(d.isnan(q), 0.0, q)  # x = inf: fptosi of NaN would be poison
    hi = f + p[2]  # TwoSum: hi + err == f + p[2]
    bb = hi - f
    err = (f - (hi - bb)) + (p[2] - bb)
    y = hi + (err + (p[3] + p[4]))
    r = Val(k, k.b.fptrunc((y * PIO2[0]).v, k.ty))
    return k.to_int(Val(k, k.b.fptrunc(q.v, k.ty))), r


# --- trigonometric ----------------------------------------------------------------------------


def _trig_reduce(k: Kit, x: Val):
    """x = q*pi/2 + r with |r| <= pi/4 (Cody-Waite, three parts, fma; float32 from 2**16 on:
    Payne-Hanek in double). Returns (q, r, z=r*r)."""
    nf = k.rint(x * TWO_OVER_PI)
    nf = k.where(k.abs(nf) < 2.0 ** (k.fmt.bits - 2), nf, 0.0)  # inf/nan/huge: fptosi defined
    p1, p2, p3 = k.fmt.pio2
    r = k.fma(-nf, p1, x)
    r = k.fma(-nf, p2, r)
    r = k.fma(-nf, p3, r)
    q = k.to_int(nf)
    if k.fmt.bits == 32:
        q, r = _with_big_f32(k, x, q, r)
    return q, r, r * r


def _with_big_f32(k: Kit, x: Val, q, r: Val):
    """(q, r) with the lanes of |x| >= 2**16 reduced again by Payne-Hanek."""
    big = k.abs(x) >= _BIG_F32
    qb, rb = _reduce_big_f32(k, x)
    return k.b.select(big.v, qb, q), k.where(big, rb, r)


def _sin_kernel(k: Kit, r: Val, z: Val) -> Val:
    return k.fma(r * z, k.poly(z, coeffs(k, "sin")), r)


def _cos_kernel(k: Kit, z: Val) -> Val:
    hz = 0.5 * z
    w = 1.0 - hz
    return w + (((1.0 - w) - hz) + z * z * k.poly(z, coeffs(k, "cos")))


# Beyond these |x| the reduction is not trusted: the result is NaN, not garbage. float32 reduces
# every finite argument exactly (above); float64 keeps the three-part reduction only.
_TRIG_MAX = {32: math.inf, 64: 1e15}


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
