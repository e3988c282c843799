"""``vmath`` kernels: exponentials, logarithms, hyperbolic functions."""

from __future__ import annotations

from llvmlite import ir

from .vmath_kit import INV_LN2, LN2, LOG2E, Kit, Val, coeffs

# --- exponentials -----------------------------------------------------------------------------


def _exp_reduce(k: Kit, x: Val, poly=None):
    """x = n*ln2 + r with |r| <= ln2/2; x must be finite. Returns (n as int, r, expm1(r))
    (``poly``: the expm1 kernel, ``_expm1_poly`` by default)."""
    nf = k.rint(x * LOG2E)
    hi, lo = k.fmt.ln2
    r = k.fma(-nf, hi, x)
    r = k.fma(-nf, lo, r)
    return k.to_int(nf), r, (poly or _expm1_poly)(k, r)


def _expm1_poly(k: Kit, r: Val) -> Val:
    """expm1(r) = r + r**2 * q(r) on |r| <= ln2/2."""
    return k.fma(r * r, k.poly(r, coeffs(k, "exp")), r)


def _exp_poly(k: Kit, r: Val) -> Val:
    """expm1(r) as ``_expm1_poly``, for ``exp`` alone: there it is only ever added to 1, so
    float32 needs a small relative error of e**r, not of expm1(r) near 0: a shorter q (6 terms
    instead of 7; the float32 exp of softmax/logsumexp is compute bound)."""
    return k.fma(r * r, k.poly(r, coeffs(k, "exp_only")), r)


def _scale(k: Kit, p: Val, n: ir.Value) -> Val:
    """p * 2**n in two steps so that results down to subnormals and up to inf are right."""
    n1 = k.b.ashr(n, k.i(1))
    n2 = k.b.sub(n, n1)
    return p * k.pow2i(n1) * k.pow2i(n2)


def _exp(k: Kit, x: Val) -> Val:
    """e**x. Fewer instructions than ``_exp_reduce`` + ``_scale`` (it is the hot loop of
    softmax): NaN flows through every step instead of being restored by a final select (the
    clamps are selects that keep NaN; n is read from the bits of the rounded x*log2(e) with
    the 1.5 * 2**mant shifter, as fptosi of NaN would be poison), and the first half of the
    scale by 2**n adds to p's exponent field (p * 2**(n//2) is a normal float)."""
    lo, hi = k.fmt.exp_clamp
    xc = k.where(x > hi, hi, x)
    xc = k.where(xc < lo, lo, xc)
    shifter = 1.5 * 2.0**k.fmt.mant
    t = k.fma(xc, LOG2E, shifter)  # rint(x * log2(e)) + shifter, exactly
    nf = t - shifter
    ln2_hi, ln2_lo = k.fmt.ln2
    r = k.fma(-nf, ln2_lo, k.fma(-nf, ln2_hi, xc))
    n = k.b.sub(k.bits(t), k.bits(shifter))
    p = _exp_poly(k, r) + 1.0
    n1 = k.b.ashr(n, k.i(1))
    half = k.from_bits(k.b.add(k.bits(p), k.b.shl(n1, k.i(k.fmt.mant))))
    return half * k.pow2i(k.b.sub(n, n1))


def _exp2(k: Kit, x: Val) -> Val:
    """2**x."""
    lo, hi = k.fmt.exp_clamp
    xc = k.clamp(x, lo * LOG2E, hi * LOG2E)
    nf = k.rint(xc)
    p = _expm1_poly(k, (xc - nf) * LN2) + 1.0
    return k.where(k.isnan(x), x, _scale(k, p, k.to_int(nf)))


def _expm1(k: Kit, x: Val) -> Val:
    """e**x - 1, accurate near 0."""
    big = k.fmt.exp_big
    n, _, em = _exp_reduce(k, k.clamp(x, k.fmt.expm1_lo, 2 * big))
    t = k.pow2i(n)
    small = k.fma(t, em, t - 1.0)
    large = _exp(k, x) - 1.0
    out = k.where(x > big, large, small)
    return k.where(k.isnan(x) | x.eq(0.0), x, out)


# --- logarithms -------------------------------------------------------------------------------


def _log_reduce(k: Kit, x: Val):
    """x = 2**e * (1 + f) with 1 + f in [sqrt(1/2), sqrt(2)); x positive and finite."""
    fmt = k.fmt
    sub = x < 2.0 ** (1 - fmt.bias)
    xs = k.where(sub, x * 2.0**fmt.mant, x)
    one_bits = fmt.bias << fmt.mant
    ix = k.b.add(k.bits(xs), k.i(one_bits - fmt.sqrt_half_bits))
    e = k.b.sub(k.b.ashr(ix, k.i(fmt.mant)), k.i(fmt.bias))
    m_bits = k.b.add(k.b.and_(ix, k.i((1 << fmt.mant) - 1)), k.i(fmt.sqrt_half_bits))
    ef = k.to_float(e) - k.where(sub, float(fmt.mant), 0.0)
    return ef, k.from_bits(m_bits) - 1.0


def _log1p_kernel(k: Kit, f: Val):
    """(hfsq, s*(hfsq+R)) with log(1+f) = f - (hfsq - s*(hfsq+R)) for |f| < sqrt(2)-1."""
    s = f / (f + 2.0)
    z = s * s
    hfsq = 0.5 * f * f
    return hfsq, s * (hfsq + z * k.poly(z, coeffs(k, "log")))


def _log_special(k: Kit, x: Val, out: Val) -> Val:
    nan = float("nan")
    out = k.where(x.eq(float("inf")), x, out)
    out = k.where(x.eq(0.0), float("-inf"), out)
    return k.where(k.isnan(x) | (x < 0.0), nan, out)


def _log(k: Kit, x: Val) -> Val:
    """Natural logarithm."""
    e, f = _log_reduce(k, x)
    hfsq, t = _log1p_kernel(k, f)
    hi, lo = k.fmt.ln2
    out = e * hi - ((hfsq - (t + e * lo)) - f)
    return _log_special(k, x, out)


def _log2(k: Kit, x: Val) -> Val:
    """Base-2 logarithm."""
    e, f = _log_reduce(k, x)
    hfsq, t = _log1p_kernel(k, f)
    return _log_special(k, x, e + (f - (hfsq - t)) * INV_LN2)


def _log1p(k: Kit, x: Val) -> Val:
    """log(1 + x), accurate near 0 (Goldberg: log(u) * x / (u - 1) with u = 1 + x)."""
    u = x + 1.0
    out = _log(k, u) * (x / (u - 1.0))
    out = k.where(u.eq(1.0), x, out)
    return k.where(x.eq(float("inf")), x, out)


# --- hyperbolic -------------------------------------------------------------------------------


def _tanh(k: Kit, x: Val) -> Val:
    """tanh(x) = em / (em + 2) with em = expm1(2|x|).

    |x| is clamped to tanh_hi (where tanh rounds to 1), so 2|x| never overflows and expm1 needs
    only its one-reduction form 2**n * (expm1(r) + 1) - 1 (no second exp for large inputs)."""
    a = k.abs(x)
    a = k.where(a > k.fmt.tanh_hi, k.fmt.tanh_hi, a)
    n, _, em_r = _exp_reduce(k, a * 2.0)
    t = k.pow2i(n)
    em = k.fma(t, em_r, t - 1.0)
    return k.where(x.eq(0.0), x, k.copysign(em / (em + 2.0), x))


def _logistic(k: Kit, x: Val) -> Val:
    """1 / (1 + e**-x), without overflow for either sign."""
    e = _exp(k, -k.abs(x))
    d = e + 1.0
    return k.where(x >= 0.0, 1.0 / d, e / d)


def _exp_half_squared(k: Kit, a: Val) -> Val:
    """e**a / 2 as (e**(a/2) / 2) * e**(a/2): finite as long as the result is."""
    h = _exp(k, a * 0.5)
    return (h * 0.5) * h


def _sinh(k: Kit, x: Val) -> Val:
    """sinh(x) = (em + em / (em + 1)) / 2 with em = expm1(|x|)."""
    a = k.abs(x)
    big = a > k.fmt.exp_big
    em = _expm1(k, k.where(big, 0.0, a))
    small = 0.5 * (em + em / (em + 1.0))
    return k.copysign(k.where(big, _exp_half_squared(k, a), small), x)


def _cosh(k: Kit, x: Val) -> Val:
    """cosh(x) = e**|x| / 2 + e**-|x| / 2."""
    a = k.abs(x)
    big = a > k.fmt.exp_big
    e = _exp(k, k.where(big, 0.0, a))
    small = 0.5 * e + 0.5 / e
    return k.where(big, _exp_half_squared(k, a), small)


def _log_big(k: Kit, a: Val, small_arg: Val) -> Val:
    """log1p(small_arg), or log(2a) = log1p(a - 1) + ln2 where a >= fmt.big."""
    big = a >= k.fmt.big
    out = _log1p(k, k.where(big, a - 1.0, small_arg))
    return out + k.where(big, LN2, 0.0)


def _asinh(k: Kit, x: Val) -> Val:
    """asinh(x) = sign(x) * log1p(a + a**2 / (1 + sqrt(1 + a**2)))."""
    a = k.abs(x)
    ac = k.where(a >= k.fmt.big, 1.0, a)
    a2 = ac * ac
    return k.copysign(_log_big(k, a, ac + a2 / (k.sqrt(a2 + 1.0) + 1.0)), x)


def _acosh(k: Kit, x: Val) -> Val:
    """acosh(x) = log1p(t + sqrt(t * (t + 2))) with t = x - 1."""
    t = k.where(x >= k.fmt.big, 0.0, x - 1.0)
    out = _log_big(k, x, t + k.sqrt(t * (t + 2.0)))
    return k.where(x < 1.0, float("nan"), out)


def _atanh(k: Kit, x: Val) -> Val:
    """atanh(x) = sign(x) * log1p(2a / (1 - a)) / 2."""
    a = k.abs(x)
    return k.copysign(0.5 * _log1p(k, (a + a) / (1.0 - a)), x)
