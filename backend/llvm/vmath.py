"""Vectorisable transcendental functions emitted as inline LLVM IR (no libm calls).

Every function in ``VMATH`` takes an ``ir.IRBuilder`` and one or two values of type ``float``,
``double``, ``<N x float>`` or ``<N x double>`` and returns a value of the same type. The same
Python code emits the scalar and the vector form (everything is decided by the value's type), and
the emitted code uses only instructions the loop vectoriser widens: ``fma``, ``select``,
``rint``/``fabs``/``copysign``/``sqrt`` intrinsics, bit casts and integer shifts. Calls to
``expf``/``llvm.exp`` would be scalarised 16 times per vector (PERF-NOTES 3).

>>> from llvmlite import ir
>>> from funcgrad.backend.cpu.engine import new_module
>>> m = new_module("m")
>>> fn = ir.Function(m, ir.FunctionType(ir.FloatType(), [ir.FloatType()]), "f")
>>> b = ir.IRBuilder(fn.append_basic_block())
>>> _ = b.ret(VMATH["tanh"](b, fn.args[0]))

The polynomial coefficients below are Chebyshev fits (mpmath ``chebyfit`` at 90 digits, rounded
to float64) of the reduced kernels named in each function; measured accuracy is in
docs/math-accuracy.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from llvmlite import ir

# --- float formats ----------------------------------------------------------------------------


class _Format(NamedTuple):
    bits: int
    mant: int  # explicit mantissa bits
    bias: int
    sqrt_half_bits: int  # bit pattern of the float just below sqrt(1/2) (log's reduction)
    ln2: tuple[float, float]  # hi (trailing zeros, n * hi exact) and lo
    pio2: tuple[float, float, float]  # pi/2 in three parts for Cody-Waite with fma
    exp_clamp: tuple[float, float]  # exp(x) is 0 below / inf above these
    expm1_lo: float  # expm1(x) == -1 below
    big: float  # 1 + big**2 == big**2: asinh/acosh switch to log(2x)
    tanh_hi: float  # tanh(x) rounds to 1 above
    exp_big: float  # sinh/cosh: e**-x negligible above
    gamma_shift: int  # lgamma/digamma: shift x up to this before the asymptotic series
    erf_one: float  # erf(x) rounds to 1 above


_FORMATS = {
    32: _Format(
        32,
        23,
        127,
        0x3F3504F3,
        (0.693145751953125, 1.428606765330187e-06),
        (1.5707963705062866, -4.371138828673793e-08, -1.7151245100058819e-15),
        (-104.0, 89.0),
        -18.0,
        2.0**13,
        9.0,
        10.0,
        4,
        4.0,
    ),
    64: _Format(
        64,
        52,
        1023,
        0x3FE6A09E667F3BCD,
        (6.93147180369123816490e-01, 1.90821492927058770002e-10),
        (1.5707963267948966, 6.123233995736766e-17, -1.4973849048591698e-33),
        (-746.0, 710.0),
        -40.0,
        2.0**28,
        20.0,
        20.0,
        10,
        6.0,
    ),
}
LOG2E = 1.4426950408889634
INV_LN2 = LOG2E
TWO_OVER_PI = 0.6366197723675814
PI = (3.141592653589793, 1.2246467991473532e-16)
PIO2 = (1.5707963267948966, 6.123233995736766e-17)
PIO4 = (0.7853981633974483, 3.061616997868383e-17)
LN2 = 0.6931471805599453
HALF_LOG_2PI = 0.9189385332046728
LOG_PI = 1.1447298858494002


# --- emission context -------------------------------------------------------------------------


def _mangle(ty: ir.Type) -> str:
    if isinstance(ty, ir.VectorType):
        return f"v{ty.count}{_mangle(ty.element)}"
    return {ir.FloatType: "f32", ir.DoubleType: "f64"}[type(ty)]


class _K:
    """Emission context for one float type: constants, intrinsics and bit tricks."""

    def __init__(self, b: ir.IRBuilder, ty: ir.Type):
        vec = isinstance(ty, ir.VectorType)
        et = ty.element if vec else ty
        if not isinstance(et, (ir.FloatType, ir.DoubleType)) or isinstance(et, ir.HalfType):
            raise TypeError(f"vmath works on float/double scalars or vectors, got {ty}")
        self.b, self.ty, self.lanes = b, ty, (ty.count if vec else None)
        self.fmt = _FORMATS[32 if isinstance(et, ir.FloatType) else 64]
        it = ir.IntType(self.fmt.bits)
        self.ity = ir.VectorType(it, ty.count) if vec else it

    def _const(self, ty, v):
        return ir.Constant(ty, v if self.lanes is None else [v] * self.lanes)

    def lift(self, v) -> _F:
        if isinstance(v, _F):
            return v
        if isinstance(v, (int, float)):
            return _F(self, self._const(self.ty, float(v)))
        return _F(self, v)

    def i(self, v: int) -> ir.Constant:
        return self._const(self.ity, v)

    def call(self, name: str, *args) -> _F:
        vals = [self.lift(a).v for a in args]
        module = self.b.module
        full = f"llvm.{name}.{_mangle(self.ty)}"
        fn = module.globals.get(full)
        if fn is None:
            fn = ir.Function(module, ir.FunctionType(self.ty, [self.ty] * len(vals)), full)
        return _F(self, self.b.call(fn, vals))

    def fma(self, a, b, c):
        return self.call("fma", a, b, c)

    def abs(self, a):
        return self.call("fabs", a)

    def copysign(self, mag, sign):
        return self.call("copysign", mag, sign)

    def rint(self, a):
        return self.call("rint", a)

    def sqrt(self, a):
        return self.call("sqrt", a)

    def clamp(self, a, lo, hi):  # NaN becomes a bound: callers restore NaN at the end
        return self.call("maxnum", self.call("minnum", a, hi), lo)

    def where(self, cond: _F, a, b) -> _F:
        return _F(self, self.b.select(cond.v, self.lift(a).v, self.lift(b).v))

    def isnan(self, a) -> _F:
        a = self.lift(a)
        return _F(self, self.b.fcmp_unordered("uno", a.v, a.v))

    def poly(self, x, coeffs) -> _F:
        """Horner with fma; ``coeffs`` lowest power first."""
        acc = self.lift(coeffs[-1])
        for c in reversed(coeffs[:-1]):
            acc = self.fma(acc, x, c)
        return acc

    # bit-level helpers (integers are plain ir values of type self.ity)
    def bits(self, a) -> ir.Value:
        return self.b.bitcast(self.lift(a).v, self.ity)

    def from_bits(self, i: ir.Value) -> _F:
        return _F(self, self.b.bitcast(i, self.ty))

    def to_int(self, a) -> ir.Value:
        return self.b.fptosi(self.lift(a).v, self.ity)

    def to_float(self, i: ir.Value) -> _F:
        return _F(self, self.b.sitofp(i, self.ty))

    def pow2i(self, n: ir.Value) -> _F:
        """2**n for an integer n in the normal exponent range."""
        e = self.b.add(n, self.i(self.fmt.bias))
        return self.from_bits(self.b.shl(e, self.i(self.fmt.mant)))

    def sign_bit_set(self, a) -> _F:
        return _F(self, self.b.icmp_signed("<", self.bits(a), self.i(0)))

    def int_flag(self, n: ir.Value, mask: int) -> _F:
        return _F(self, self.b.icmp_unsigned("!=", self.b.and_(n, self.i(mask)), self.i(0)))


class _F:
    """A float (or boolean) IR value with arithmetic operators; Python numbers become constants."""

    __slots__ = ("k", "v")

    def __init__(self, k: _K, v: ir.Value):
        self.k, self.v = k, v

    def _op(self, name, other, swap=False):
        o = self.k.lift(other)
        a, c = (o, self) if swap else (self, o)
        return _F(self.k, getattr(self.k.b, name)(a.v, c.v))

    def _cmp(self, op, other, ordered=True):
        fn = self.k.b.fcmp_ordered if ordered else self.k.b.fcmp_unordered
        return _F(self.k, fn(op, self.v, self.k.lift(other).v))

    __add__ = lambda s, o: s._op("fadd", o)
    __radd__ = lambda s, o: s._op("fadd", o, True)
    __sub__ = lambda s, o: s._op("fsub", o)
    __rsub__ = lambda s, o: s._op("fsub", o, True)
    __mul__ = lambda s, o: s._op("fmul", o)
    __rmul__ = lambda s, o: s._op("fmul", o, True)
    __truediv__ = lambda s, o: s._op("fdiv", o)
    __rtruediv__ = lambda s, o: s._op("fdiv", o, True)
    __and__ = lambda s, o: _F(s.k, s.k.b.and_(s.v, o.v))
    __or__ = lambda s, o: _F(s.k, s.k.b.or_(s.v, o.v))
    __invert__ = lambda s: _F(s.k, s.k.b.not_(s.v))
    __neg__ = lambda s: _F(s.k, s.k.b.fneg(s.v))
    __lt__ = lambda s, o: s._cmp("<", o)
    __le__ = lambda s, o: s._cmp("<=", o)
    __gt__ = lambda s, o: s._cmp(">", o)
    __ge__ = lambda s, o: s._cmp(">=", o)
    eq = lambda s, o: s._cmp("==", o)
    ne = lambda s, o: s._cmp("!=", o, ordered=False)


def _coeffs(k: _K, name: str):
    return _POLY[(name, k.fmt.bits)]


def _piecewise(k: _K, x: _F, name: str) -> _F:
    """Evaluate the piecewise polynomial ``_PIECES[name]`` at x (pieces chosen with selects)."""
    pieces = _PIECES[(name, k.fmt.bits)]
    deg = max(len(p[-1]) for p in pieces)
    padded = [(p[-3], p[-2], tuple(p[-1]) + (0.0,) * (deg - len(p[-1]))) for p in pieces]
    start, centre, coeffs = padded[0]
    centre, coeffs = k.lift(centre), [k.lift(c) for c in coeffs]
    for start, c0, cs in padded[1:]:
        use = x >= start
        centre = k.where(use, c0, centre)
        coeffs = [k.where(use, c, old) for c, old in zip(cs, coeffs)]
    return k.poly(x - centre, coeffs)


def _unary(kernel: Callable[[_K, _F], _F]) -> Callable:
    def emit(builder: ir.IRBuilder, x: ir.Value) -> ir.Value:
        k = _K(builder, x.type)
        return kernel(k, _F(k, x)).v

    emit.__name__ = emit.__qualname__ = kernel.__name__.lstrip("_")
    emit.__doc__ = kernel.__doc__
    return emit


def _binary(kernel: Callable[[_K, _F, _F], _F]) -> Callable:
    def emit(builder: ir.IRBuilder, x: ir.Value, y: ir.Value) -> ir.Value:
        if x.type != y.type:
            name = kernel.__name__.lstrip("_")
            raise TypeError(f"{name}: operand types differ: {x.type}, {y.type}")
        k = _K(builder, x.type)
        return kernel(k, _F(k, x), _F(k, y)).v

    emit.__name__ = emit.__qualname__ = kernel.__name__.lstrip("_")
    emit.__doc__ = kernel.__doc__
    return emit


# --- exponentials -----------------------------------------------------------------------------


def _exp_reduce(k: _K, x: _F, poly=None):
    """x = n*ln2 + r with |r| <= ln2/2; x must be finite. Returns (n as int, r, expm1(r))
    (``poly``: the expm1 kernel, ``_expm1_poly`` by default)."""
    nf = k.rint(x * LOG2E)
    hi, lo = k.fmt.ln2
    r = k.fma(-nf, hi, x)
    r = k.fma(-nf, lo, r)
    return k.to_int(nf), r, (poly or _expm1_poly)(k, r)


def _expm1_poly(k: _K, r: _F) -> _F:
    """expm1(r) = r + r**2 * q(r) on |r| <= ln2/2."""
    return k.fma(r * r, k.poly(r, _coeffs(k, "exp")), r)


def _exp_poly(k: _K, r: _F) -> _F:
    """expm1(r) as ``_expm1_poly``, for ``exp`` alone: there it is only ever added to 1, so
    float32 needs a small relative error of e**r, not of expm1(r) near 0: a shorter q (6 terms
    instead of 7; the float32 exp of softmax/logsumexp is compute bound)."""
    return k.fma(r * r, k.poly(r, _coeffs(k, "exp_only")), r)


def _scale(k: _K, p: _F, n: ir.Value) -> _F:
    """p * 2**n in two steps so that results down to subnormals and up to inf are right."""
    n1 = k.b.ashr(n, k.i(1))
    n2 = k.b.sub(n, n1)
    return p * k.pow2i(n1) * k.pow2i(n2)


def _exp(k: _K, x: _F) -> _F:
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


def _exp2(k: _K, x: _F) -> _F:
    """2**x."""
    lo, hi = k.fmt.exp_clamp
    xc = k.clamp(x, lo * LOG2E, hi * LOG2E)
    nf = k.rint(xc)
    p = _expm1_poly(k, (xc - nf) * LN2) + 1.0
    return k.where(k.isnan(x), x, _scale(k, p, k.to_int(nf)))


def _expm1(k: _K, x: _F) -> _F:
    """e**x - 1, accurate near 0."""
    big = k.fmt.exp_big
    n, _, em = _exp_reduce(k, k.clamp(x, k.fmt.expm1_lo, 2 * big))
    t = k.pow2i(n)
    small = k.fma(t, em, t - 1.0)
    large = _exp(k, x) - 1.0
    out = k.where(x > big, large, small)
    return k.where(k.isnan(x) | x.eq(0.0), x, out)


# --- logarithms -------------------------------------------------------------------------------


def _log_reduce(k: _K, x: _F):
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


def _log1p_kernel(k: _K, f: _F):
    """(hfsq, s*(hfsq+R)) with log(1+f) = f - (hfsq - s*(hfsq+R)) for |f| < sqrt(2)-1."""
    s = f / (f + 2.0)
    z = s * s
    hfsq = 0.5 * f * f
    return hfsq, s * (hfsq + z * k.poly(z, _coeffs(k, "log")))


def _log_special(k: _K, x: _F, out: _F) -> _F:
    nan = float("nan")
    out = k.where(x.eq(float("inf")), x, out)
    out = k.where(x.eq(0.0), float("-inf"), out)
    return k.where(k.isnan(x) | (x < 0.0), nan, out)


def _log(k: _K, x: _F) -> _F:
    """Natural logarithm."""
    e, f = _log_reduce(k, x)
    hfsq, t = _log1p_kernel(k, f)
    hi, lo = k.fmt.ln2
    out = e * hi - ((hfsq - (t + e * lo)) - f)
    return _log_special(k, x, out)


def _log2(k: _K, x: _F) -> _F:
    """Base-2 logarithm."""
    e, f = _log_reduce(k, x)
    hfsq, t = _log1p_kernel(k, f)
    return _log_special(k, x, e + (f - (hfsq - t)) * INV_LN2)


def _log1p(k: _K, x: _F) -> _F:
    """log(1 + x), accurate near 0 (Goldberg: log(u) * x / (u - 1) with u = 1 + x)."""
    u = x + 1.0
    out = _log(k, u) * (x / (u - 1.0))
    out = k.where(u.eq(1.0), x, out)
    return k.where(x.eq(float("inf")), x, out)


# --- hyperbolic -------------------------------------------------------------------------------


def _tanh(k: _K, x: _F) -> _F:
    """tanh(x) = em / (em + 2) with em = expm1(2|x|).

    |x| is clamped to tanh_hi (where tanh rounds to 1), so 2|x| never overflows and expm1 needs
    only its one-reduction form 2**n * (expm1(r) + 1) - 1 (no second exp for large inputs)."""
    a = k.abs(x)
    a = k.where(a > k.fmt.tanh_hi, k.fmt.tanh_hi, a)
    n, _, em_r = _exp_reduce(k, a * 2.0)
    t = k.pow2i(n)
    em = k.fma(t, em_r, t - 1.0)
    return k.where(x.eq(0.0), x, k.copysign(em / (em + 2.0), x))


def _logistic(k: _K, x: _F) -> _F:
    """1 / (1 + e**-x), without overflow for either sign."""
    e = _exp(k, -k.abs(x))
    d = e + 1.0
    return k.where(x >= 0.0, 1.0 / d, e / d)


def _exp_half_squared(k: _K, a: _F) -> _F:
    """e**a / 2 as (e**(a/2) / 2) * e**(a/2): finite as long as the result is."""
    h = _exp(k, a * 0.5)
    return (h * 0.5) * h


def _sinh(k: _K, x: _F) -> _F:
    """sinh(x) = (em + em / (em + 1)) / 2 with em = expm1(|x|)."""
    a = k.abs(x)
    big = a > k.fmt.exp_big
    em = _expm1(k, k.where(big, 0.0, a))
    small = 0.5 * (em + em / (em + 1.0))
    return k.copysign(k.where(big, _exp_half_squared(k, a), small), x)


def _cosh(k: _K, x: _F) -> _F:
    """cosh(x) = e**|x| / 2 + e**-|x| / 2."""
    a = k.abs(x)
    big = a > k.fmt.exp_big
    e = _exp(k, k.where(big, 0.0, a))
    small = 0.5 * e + 0.5 / e
    return k.where(big, _exp_half_squared(k, a), small)


def _log_big(k: _K, a: _F, small_arg: _F) -> _F:
    """log1p(small_arg), or log(2a) = log1p(a - 1) + ln2 where a >= fmt.big."""
    big = a >= k.fmt.big
    out = _log1p(k, k.where(big, a - 1.0, small_arg))
    return out + k.where(big, LN2, 0.0)


def _asinh(k: _K, x: _F) -> _F:
    """asinh(x) = sign(x) * log1p(a + a**2 / (1 + sqrt(1 + a**2)))."""
    a = k.abs(x)
    ac = k.where(a >= k.fmt.big, 1.0, a)
    a2 = ac * ac
    return k.copysign(_log_big(k, a, ac + a2 / (k.sqrt(a2 + 1.0) + 1.0)), x)


def _acosh(k: _K, x: _F) -> _F:
    """acosh(x) = log1p(t + sqrt(t * (t + 2))) with t = x - 1."""
    t = k.where(x >= k.fmt.big, 0.0, x - 1.0)
    out = _log_big(k, x, t + k.sqrt(t * (t + 2.0)))
    return k.where(x < 1.0, float("nan"), out)


def _atanh(k: _K, x: _F) -> _F:
    """atanh(x) = sign(x) * log1p(2a / (1 - a)) / 2."""
    a = k.abs(x)
    return k.copysign(0.5 * _log1p(k, (a + a) / (1.0 - a)), x)


# --- trigonometric ----------------------------------------------------------------------------


def _trig_reduce(k: _K, x: _F):
    """x = q*pi/2 + r with |r| <= pi/4 (Cody-Waite, three parts, fma). Returns (q, r, z=r*r)."""
    nf = k.rint(x * TWO_OVER_PI)
    nf = k.where(k.abs(nf) < 2.0 ** (k.fmt.bits - 2), nf, 0.0)  # inf/nan/huge: fptosi defined
    p1, p2, p3 = k.fmt.pio2
    r = k.fma(-nf, p1, x)
    r = k.fma(-nf, p2, r)
    r = k.fma(-nf, p3, r)
    return k.to_int(nf), r, r * r


def _sin_kernel(k: _K, r: _F, z: _F) -> _F:
    return k.fma(r * z, k.poly(z, _coeffs(k, "sin")), r)


def _cos_kernel(k: _K, z: _F) -> _F:
    hz = 0.5 * z
    w = 1.0 - hz
    return w + (((1.0 - w) - hz) + z * z * k.poly(z, _coeffs(k, "cos")))


# Beyond these |x| the three-part reduction is not trusted: the result is NaN, not garbage.
_TRIG_MAX = {32: 2.0**23, 64: 1e15}  # float32: float rounding of x * 2/pi limits it


def _trig_finish(k: _K, x: _F, out: _F) -> _F:
    out = k.where(k.abs(x) >= _TRIG_MAX[k.fmt.bits], float("nan"), out)  # also inf; NaN stays
    return k.where(x.eq(0.0), x, out)  # keeps the sign of zero


def _sin(k: _K, x: _F) -> _F:
    """sin(x); accurate while |x| * 2/pi fits the reduction (see docs/math-accuracy.md)."""
    q, r, z = _trig_reduce(k, x)
    v = k.where(k.int_flag(q, 1), _cos_kernel(k, z), _sin_kernel(k, r, z))
    return _trig_finish(k, x, k.where(k.int_flag(q, 2), -v, v))


def _cos(k: _K, x: _F) -> _F:
    """cos(x)."""
    q, r, z = _trig_reduce(k, x)
    v = k.where(k.int_flag(q, 1), _sin_kernel(k, r, z), _cos_kernel(k, z))
    neg = k.int_flag(k.b.add(q, k.i(1)), 2)
    out = k.where(neg, -v, v)
    return k.where(k.abs(x) >= _TRIG_MAX[k.fmt.bits], float("nan"), out)


def _tan(k: _K, x: _F) -> _F:
    """tan(x) = sin/cos of the reduced argument (-cos/sin in odd quadrants)."""
    q, r, z = _trig_reduce(k, x)
    s, c = _sin_kernel(k, r, z), _cos_kernel(k, z)
    odd = k.int_flag(q, 1)
    return _trig_finish(k, x, k.where(odd, -c, s) / k.where(odd, s, c))


def _atan_pos(k: _K, a: _F) -> _F:
    """atan(a) for a >= 0 (or NaN): reduce to |t| <= tan(pi/8), then t + t**3 * Q(t**2)."""
    big, mid = a > 2.414213562373095, a > 0.41421356237309503
    num = k.where(big, -1.0, k.where(mid, a - 1.0, a))
    den = k.where(big, a, k.where(mid, a + 1.0, 1.0))
    t = num / den
    z = t * t
    p = k.fma(t * z, k.poly(z, _coeffs(k, "atan")), t)
    y_hi = k.where(big, PIO2[0], k.where(mid, PIO4[0], 0.0))
    y_lo = k.where(big, PIO2[1], k.where(mid, PIO4[1], 0.0))
    return y_hi + (p + y_lo)


def _atan(k: _K, x: _F) -> _F:
    """Arc tangent."""
    return k.copysign(_atan_pos(k, k.abs(x)), x)


def _atan2(k: _K, y: _F, x: _F) -> _F:
    """atan2(y, x) with IEEE special cases (signed zeros, infinities)."""
    ax, ay = k.abs(x), k.abs(y)
    steep = ay > ax
    t = k.where(steep, ax, ay) / k.where(steep, ay, ax)
    inf = float("inf")
    t = k.where(ax.eq(inf) & ay.eq(inf), 1.0, k.where(ax.eq(0.0) & ay.eq(0.0), 0.0, t))
    ang = _atan_pos(k, t)
    # steep: pi/2 -+ ang; x < 0 (or -0): pi - ang; one rounding on the offset's high part.
    neg = k.sign_bit_set(x)
    flip = _F(k, k.b.xor(steep.v, neg.v))
    hi = k.where(steep, PIO2[0], k.where(neg, PI[0], 0.0))
    lo = k.where(steep, PIO2[1], k.where(neg, PI[1], 0.0))
    ang = hi + (k.where(flip, -ang, ang) + lo)
    return k.where(k.isnan(x) | k.isnan(y), x + y, k.copysign(ang, y))


def _asin_parts(k: _K, x: _F):
    """(small, p) with p = asin(s) for s = |x| (small) or sqrt((1 - |x|) / 2)."""
    a = k.abs(x)
    small = a <= 0.5
    z = k.where(small, a * a, (1.0 - a) * 0.5)
    s = k.where(small, a, k.sqrt(z))
    return small, k.fma(s * z, k.poly(z, _coeffs(k, "asin")), s)


def _asin(k: _K, x: _F) -> _F:
    """Arc sine."""
    small, p = _asin_parts(k, x)
    out = k.where(small, p, (PIO2[0] - 2.0 * p) + PIO2[1])
    return k.copysign(out, x)


def _acos(k: _K, x: _F) -> _F:
    """Arc cosine."""
    small, p = _asin_parts(k, x)
    centre = (PIO2[0] - k.copysign(p, x)) + PIO2[1]
    side = k.where(x > 0.0, 2.0 * p, (PI[0] - 2.0 * p) + PI[1])
    return k.where(small, centre, side)


# --- error function ---------------------------------------------------------------------------


def _erf_small(k: _K, x: _F) -> _F:
    """erf(x) = x + x * E(x**2) for |x| <= 1/2."""
    return k.fma(x, k.poly(x * x, _coeffs(k, "erf")), x)


def _erfc_pos(k: _K, a: _F) -> _F:
    """erfc(a) for a >= 1/2: exp(-a**2) / a * F(1/a), with a**2 split into hi + lo."""
    a = k.where(a < 0.5, 0.5, k.where(a > 30.0, 30.0, a))  # erfc(30) == 0 in float64 too
    u = 1.0 / a
    a2 = a * a
    a2_lo = k.fma(a, a, -a2)
    e = _exp(k, -a2) * (1.0 - a2_lo)
    return e * u * _piecewise(k, u, "erfc")


def _erf(k: _K, x: _F) -> _F:
    """Error function."""
    a = k.abs(x)
    large = k.copysign(1.0 - _erfc_pos(k, k.where(a > k.fmt.erf_one, k.fmt.erf_one, a)), x)
    return k.where(a < 0.5, _erf_small(k, x), large)


def _erfc(k: _K, x: _F) -> _F:
    """Complementary error function, accurate in the far right tail."""
    ec = _erfc_pos(k, k.abs(x))
    large = k.where(x < 0.0, 2.0 - ec, ec)
    return k.where(k.abs(x) < 0.5, 1.0 - _erf_small(k, x), large)


def _erf_inv(k: _K, y: _F) -> _F:
    """Inverse error function: y * G(w), w = -log(1 - y**2), G piecewise in w or sqrt(w)."""
    a = k.abs(y)
    w = -_log(k, (1.0 - a) * (1.0 + a))
    v_start = next(p[1] for p in _PIECES[("erf_inv", k.fmt.bits)] if p[0] == "v")
    wc = k.where(a < 1.0, w, 0.0)
    var = k.where(wc >= v_start * v_start, k.sqrt(wc), wc)
    out = y * _piecewise_erfinv(k, wc, var)
    out = k.where(a.eq(1.0), k.copysign(float("inf"), y), out)
    return k.where(a > 1.0, float("nan"), out)


def _piecewise_erfinv(k: _K, w: _F, var: _F) -> _F:
    # Pieces are keyed by their start in their own variable (w or sqrt w); select on w.
    pieces = _PIECES[("erf_inv", k.fmt.bits)]
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


def _shift_up(k: _K, a: _F, step):
    """Apply ``acc = step(acc, y)`` and y += 1 while y < fmt.gamma_shift (fixed trip count)."""
    y, acc = a, None
    for _ in range(k.fmt.gamma_shift):
        m = y < float(k.fmt.gamma_shift)
        acc = step(m, acc, y)
        y = k.where(m, y + 1.0, y)
    return y, acc


def _lgamma_pos(k: _K, a: _F) -> _F:
    """lgamma(a) for a >= 0: Stirling series at y = a + n minus log(a (a+1) ... (a+n-1))."""

    def step(m, p, y):  # p = a (a+1) ... over the shifted steps
        return k.where(m, y, 1.0) if p is None else k.where(m, p * y, p)

    y, p = _shift_up(k, a, step)
    r = 1.0 / y
    series = r * k.poly(r * r, _STIRLING[k.fmt.bits])
    return ((y - 0.5) * _log(k, y) - y) + (HALF_LOG_2PI + series) - _log(k, p)


def _sinpi_cospi(k: _K, x: _F):
    """(sin(pi r), cos(pi r)) with r = x - rint(x), the fractional part, |r| <= 1/2."""
    r = (x - k.rint(x)) * PI[0]
    return _sin(k, r), _cos(k, r)


def _lgamma(k: _K, x: _F) -> _F:
    """log|Gamma(x)|, with the reflection formula for x < 0."""
    neg = x < 0.0
    a = k.where(neg, 1.0 - x, x)
    pos = _lgamma_pos(k, a)
    s, _ = _sinpi_cospi(k, k.where(neg, x, 0.5))
    refl = (LOG_PI - _log(k, k.abs(s))) - pos
    out = k.where(neg, refl, pos)
    return k.where(k.abs(x).eq(float("inf")), float("inf"), out)


def _digamma_pos(k: _K, a: _F) -> _F:
    """psi(a) for a > 0: asymptotic series at y = a + n minus sum 1/(a+i), kept as num/den."""

    def step(m, acc, y):
        num, den = acc if acc is not None else (k.lift(0.0), k.lift(1.0))
        return k.where(m, num * y + den, num), k.where(m, den * y, den)

    y, (num, den) = _shift_up(k, a, step)
    r = 1.0 / y
    r2 = r * r
    series = r2 * k.poly(r2, _DIGAMMA[k.fmt.bits])
    return (_log(k, y) - 0.5 * r) - series - num / den


def _digamma(k: _K, x: _F) -> _F:
    """psi(x) = d/dx lgamma(x); NaN at the poles x = 0, -1, -2, ..."""
    neg = x <= 0.0
    a = k.where(neg, 1.0 - x, x)
    s, c = _sinpi_cospi(k, k.where(neg, x, 0.25))
    out = _digamma_pos(k, a) - k.where(neg, PI[0] * c / s, 0.0)
    pole = neg & k.rint(x).eq(x)
    out = k.where(x.eq(float("inf")), x, out)
    return k.where(pole | x.eq(float("-inf")), float("nan"), out)


def _trigamma_pos(k: _K, a: _F) -> _F:
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


def _trigamma(k: _K, x: _F) -> _F:
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


def _sqrt(k: _K, x: _F) -> _F:
    """Square root (the llvm.sqrt intrinsic vectorises to one instruction)."""
    return k.sqrt(x)


def _rsqrt(k: _K, x: _F) -> _F:
    """1 / sqrt(x)."""
    return 1.0 / k.sqrt(x)


_CBRT_MAGIC = {32: 709958130, 64: 715094163 << 32}


def _cbrt(k: _K, x: _F) -> _F:
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


def _pow(k: _K, x: _F, y: _F) -> _F:
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


def _pow_abs(k: _K, ax: _F, y: _F) -> _F:
    if k.fmt.bits == 64:
        return _exp(k, y * _log(k, ax))
    wide = ir.VectorType(ir.DoubleType(), k.lanes) if k.lanes else ir.DoubleType()
    kd = _K(k.b, wide)
    axd, yd = _F(kd, k.b.fpext(ax.v, wide)), _F(kd, k.b.fpext(y.v, wide))
    return _F(k, k.b.fptrunc(_exp(kd, yd * _log(kd, axd)).v, k.ty))


# --- the table --------------------------------------------------------------------------------

_UNARY = (
    _exp,
    _exp2,
    _expm1,
    _log,
    _log2,
    _log1p,
    _tanh,
    _logistic,
    _sin,
    _cos,
    _tan,
    _atan,
    _asin,
    _acos,
    _sinh,
    _cosh,
    _asinh,
    _acosh,
    _atanh,
    _erf,
    _erfc,
    _erf_inv,
    _cbrt,
    _lgamma,
    _digamma,
    _trigamma,
    _sqrt,
    _rsqrt,
)
_BINARY = (_atan2, _pow)

VMATH: dict[str, Callable[..., ir.Value]] = {
    **{f.__name__.lstrip("_"): _unary(f) for f in _UNARY},
    **{f.__name__.lstrip("_"): _binary(f) for f in _BINARY},
}
"""name -> emit(builder, *values) -> value, for float/double scalars and vectors."""

ARITY = {name: (2 if name in ("atan2", "pow") else 1) for name in VMATH}


# --- coefficient tables -----------------------------------------------------------------------

# (kernel, bits) -> coefficients, lowest power first (see the docstring above each use).
_POLY = {
    ("asin", 32): (
        0.16666666686085643,
        0.07499992404401838,
        0.04464766388813485,
        0.030269138728589183,
        0.023611817008891752,
        0.010574415516912909,
        0.030974540371355073,
    ),
    ("asin", 64): (
        0.16666666666666666,
        0.07500000000000118,
        0.044642857142551895,
        0.03038194447553234,
        0.02237215744350722,
        0.017352816540325496,
        0.01396378001220357,
        0.011566459612121669,
        0.009621842970100282,
        0.009319560794767446,
        0.0030448799094556773,
        0.019554513336123378,
        -0.01924167174674304,
        0.02961201126495512,
    ),
    ("atan", 32): (
        -0.333333332792548,
        0.19999977258688387,
        -0.14284151193628614,
        0.11071365021884794,
        -0.08624676145249494,
        0.050481385120797445,
    ),
    ("atan", 64): (
        -0.3333333333333333,
        0.19999999999999804,
        -0.14285714285659828,
        0.11111111105155447,
        -0.09090908753500877,
        0.07692296375032143,
        -0.06666424885738255,
        0.05878928997834775,
        -0.05230454270650244,
        0.04551593220626549,
        -0.034570561981427744,
        0.016285756855221028,
    ),
    ("cos", 32): (
        0.0416666666643212,
        -0.001388888767201679,
        2.480060037715673e-05,
        -2.730095920390147e-07,
    ),
    ("cos", 64): (
        0.041666666666666664,
        -0.0013888888888888887,
        2.4801587301584645e-05,
        -2.7557319221402824e-07,
        2.087675579108042e-09,
        -1.1470460887609959e-11,
        4.7458719020432915e-14,
    ),
    ("erf", 32): (
        0.12837916708240948,
        -0.37612638525650693,
        0.11283774013179539,
        -0.026863143032249386,
        0.005200413724335493,
        -0.0007694534279142308,
    ),
    ("erf", 64): (
        0.1283791670955126,
        -0.3761263890318375,
        0.1128379167095487,
        -0.02686617064499972,
        0.0052239776220169365,
        -0.0008548326510724796,
        0.00012055286202005714,
        -1.4923003368152099e-05,
        1.637123442577e-06,
        -1.462091340945175e-07,
    ),
    ("exp", 32): (
        0.5,
        0.16666666718997508,
        0.041666666718980845,
        0.008333298483754886,
        0.001388885404961482,
        0.0001989927395864936,
        2.4859578222625295e-05,
    ),
    # e**r = 1 + r + r**2 q(r) on |r| <= ln2/2: minimax of the relative error of e**r (Lawson's
    # iteration in numpy float64, each coefficient rounded to float32 in turn and the rest
    # refitted): 9.9e-11. Five terms (3.1e-9) took the worst case over 1 ulp on dense samples.
    ("exp_only", 32): (
        0.5,
        0.1666666567325592,
        0.041666463017463684,
        0.008333571255207062,
        0.0013935096794739366,
        0.00019739559502340853,
    ),
    ("exp", 64): (
        0.5,
        0.1666666666666667,
        0.04166666666666667,
        0.008333333333326141,
        0.0013888888888883752,
        0.00019841269874800493,
        2.480158732553336e-05,
        2.7557255425746435e-06,
        2.7557273661350686e-07,
        2.510520637395701e-08,
        2.091467937596335e-09,
    ),
    ("log", 32): (
        0.6666666655449709,
        0.40000121839806124,
        0.28550820815960665,
        0.23330467216303835,
    ),
    ("log", 64): (
        0.6666666666666666,
        0.4000000000000088,
        0.28571428570803614,
        0.22222222391713917,
        0.18181795640132906,
        0.15386239702814658,
        0.13268773138656886,
        0.13086626147840102,
    ),
    ("sin", 32): (
        -0.1666666666385529,
        0.008333331874710208,
        -0.00019840086735384846,
        2.724992580305979e-06,
    ),
    ("sin", 64): (
        -0.16666666666666666,
        0.008333333333333331,
        -0.00019841269841265065,
        2.7557319219339167e-06,
        -2.5052106232447578e-08,
        1.6058531618986147e-10,
        -7.586697117706918e-13,
    ),
}
_POLY[("exp_only", 64)] = _POLY[("exp", 64)]  # float64 exp keeps the full q

# (kernel, bits) -> pieces (start, centre, coefficients around the centre); see _piecewise.
_PIECES = {
    ("erf_inv", 32): (
        (
            "w",
            0.0,
            2.5,
            (
                1.501409351110792,
                0.24664028942745514,
                -0.004177320040540122,
                -0.0012527485028416628,
                0.00021825772396383332,
                -4.9596917942159365e-06,
                -3.4234142742220455e-06,
                4.6541741050231655e-07,
                1.598430613390006e-08,
                -8.739010702830122e-09,
                4.671932509038665e-10,
            ),
        ),
        (
            "v",
            2.23606797749979,
            3.179586801558725,
            (
                3.0131301142790483,
                1.0044430898482328,
                0.006243746504407652,
                -0.004543201747391954,
                0.003159873620471847,
                -0.0021303106332894403,
                0.0011369530790715642,
                -0.00035110477658044956,
                -4.9720624379417924e-05,
                0.00010659959616115335,
                -3.469249670755093e-05,
            ),
        ),
    ),
    ("erf_inv", 64): (
        (
            "w",
            0.0,
            1.5,
            (
                1.2520638405834421,
                0.2503624453424533,
                0.0008797647126624306,
                -0.002092327930396362,
                0.0001776693151364815,
                2.3288167998022545e-05,
                -5.372773978441946e-06,
                -6.507562333075337e-08,
                1.1770360466744276e-07,
                -7.232039646035623e-09,
                -2.0197844277880304e-09,
                3.025022423945856e-10,
                2.2821374551355602e-11,
                -8.216186991722818e-12,
                6.69914099013171e-14,
                1.5292687608252847e-13,
                -1.0149655105549236e-14,
            ),
        ),
        (
            "w",
            3.0,
            4.625,
            (
                1.9986469608891364,
                0.21919392797953619,
                -0.007361350924149318,
                3.577044993033542e-05,
                7.442625634742466e-05,
                -1.2653042734713941e-05,
                9.406842755385049e-07,
                4.141547777759566e-08,
                -2.037656327765573e-08,
                2.4342236955720855e-09,
                -5.4214657659162555e-11,
                -2.8978534434009767e-11,
                5.156304603690331e-12,
                -3.1347128321544173e-13,
                -4.0784007367736045e-14,
                9.349988186472911e-15,
            ),
        ),
        (
            "v",
            2.5,
            3.0,
            (
                2.8329767987282706,
                1.0016752766934005,
                0.009445522011984885,
                -0.007643805570178328,
                0.00568518241825842,
                -0.0035587940097007646,
                0.001483737331837269,
                -0.0001488982535937807,
                -0.00028312419523921124,
                0.00020551854699753244,
                -4.6463008451817316e-05,
                -2.2887466838194773e-05,
                2.195286574623887e-05,
                -5.888365859386257e-06,
                -1.7296002505167625e-06,
                1.8764843821449951e-06,
                -4.6831176489668314e-07,
            ),
        ),
        (
            "v",
            3.5,
            4.0,
            (
                3.839783797411554,
                1.0094932532454244,
                0.0012598472670873715,
                -0.0008689918052480567,
                0.0003209550441586161,
                -0.00011786478675977848,
                5.5674951583434374e-05,
                -3.254925972520315e-05,
                1.8672045324611503e-05,
                -8.878873174060302e-06,
                3.0152913661732737e-06,
                -4.198193625057186e-07,
                -2.7714338956119434e-07,
                2.5063142079273446e-07,
                -8.768548401012001e-08,
            ),
        ),
        (
            "v",
            4.5,
            5.311862178478973,
            (
                5.164961556320324,
                1.010159565449065,
                -0.00030093542929615007,
                -0.0001369217341850349,
                5.098501708231285e-05,
                -1.2915857403897442e-05,
                2.8519685812361585e-06,
                -5.862295164225676e-07,
                1.1645893103686975e-07,
                -2.3909038835779395e-08,
                6.054536053847298e-09,
                -2.225764708850423e-09,
                9.826966790406302e-10,
                -5.318077606621143e-10,
                3.5217044133742447e-10,
                -1.2481133765017332e-10,
            ),
        ),
    ),
    ("erfc", 32): (
        (
            0,
            0.125,
            (
                0.5598813301479413,
                -0.06739860037317205,
                -0.24594457702261321,
                0.1757490886978744,
                0.22774251151350844,
                -0.4882533657823605,
                -0.0890816935861808,
                1.235316205606387,
            ),
        ),
        (
            0.25,
            0.375,
            (
                0.530860349316975,
                -0.15158563413913387,
                -0.09203993736354578,
                0.17732165124482824,
                -0.11630794234552402,
                -0.044701408953633524,
                0.19966320606029903,
            ),
        ),
        (
            0.5,
            0.75,
            (
                0.4681795904701846,
                -0.16908097567963656,
                0.019348673670235326,
                0.040292122917978845,
                -0.050528973901483906,
                0.03777427627808716,
                -0.01655224146888263,
                -0.001591335743160216,
            ),
        ),
        (
            1,
            1.5,
            (
                0.35952293862040013,
                -0.11839804677544254,
                0.03315695944179951,
                -0.005931846126535882,
                -0.0011651903469807683,
                0.0020442595258435385,
                -0.0014862092419565937,
                0.0009494506197271118,
                -0.000449973551028167,
            ),
        ),
    ),
    ("erfc", 64): (
        (
            0,
            0.0625,
            (
                0.5630940451988934,
                -0.03485456929753174,
                -0.2724135106995078,
                0.10081080494238658,
                0.36491465739174705,
                -0.3498258093073873,
                -0.7016229316603981,
                1.4253853889612318,
                1.37135581660024,
                -6.453707195672072,
                -0.35477598495948326,
                28.937604746893324,
                -25.313951503973858,
            ),
        ),
        (
            0.125,
            0.1875,
            (
                0.5547541131463941,
                -0.09589699130081211,
                -0.20884255680235492,
                0.21386570038950492,
                0.08113329168587326,
                -0.42226336550353194,
                0.34417042332863146,
                0.4781787008877382,
                -1.5790816409223107,
                1.2380162679323683,
                2.7273976630380465,
                -8.846674698542696,
            ),
        ),
        (
            0.25,
            0.3125,
            (
                0.5399299097980298,
                -0.137893732491621,
                -0.12786056209997684,
                0.20376073604515613,
                -0.09066656288437243,
                -0.1337503479448745,
                0.3173521013720207,
                -0.2792733095627449,
                -0.09181476212985576,
                0.7041572598034165,
                -1.1439111019467125,
                0.7299186276794069,
            ),
        ),
        (
            0.375,
            0.4375,
            (
                0.5210682012454139,
                -0.1611285887918779,
                -0.06157985339523633,
                0.1475502407207001,
                -0.11862338326871956,
                0.01688350868452721,
                0.10129462882269107,
                -0.17645157086019425,
                0.16153579873216634,
                -0.035264041433746444,
                -0.1683726940172273,
            ),
        ),
        (
            0.5,
            0.625,
            (
                0.4895247876335057,
                -0.17158565208407026,
                -0.0012945387364095605,
                0.07210217057203509,
                -0.07803847380468477,
                0.049600318473095616,
                -0.010086178209300857,
                -0.024447058700402383,
                0.04478180679059044,
                -0.0477623597155566,
                0.034977440556112675,
                -0.009414654181752882,
                -0.01835959423681357,
            ),
        ),
        (
            0.75,
            0.875,
            (
                0.44741423912587286,
                -0.16270679023129328,
                0.030397728896215323,
                0.0202609107920853,
                -0.03097933690456113,
                0.02510604167425218,
                -0.014754897707106229,
                0.005457367604569478,
                0.0008812398882223661,
                -0.004183497930189911,
                0.005275655762352798,
                -0.004640267879473021,
            ),
        ),
        (
            1,
            1.25,
            (
                0.39128047137849176,
                -0.1359654462414667,
                0.03673952077974272,
                -0.0028695863392916346,
                -0.005745645578678165,
                0.005881647786831271,
                -0.00399166699021881,
                0.002211048169244059,
                -0.0010192038507128597,
                0.0003540988451624911,
                -3.9204313174103654e-05,
                -7.76515432303127e-05,
                0.00010000122357145283,
                -9.321196136642268e-05,
                6.376540051376127e-05,
            ),
        ),
        (
            1.5,
            1.75,
            (
                0.33190018355725326,
                -0.10297199060768884,
                0.028520137488902926,
                -0.0061783316235981935,
                0.00038391256405991995,
                0.0006463487665039194,
                -0.0005490789098444564,
                0.0003171813311867923,
                -0.00015544641380048078,
                6.818804561186993e-05,
                -2.703361306238573e-05,
                9.54701582366675e-06,
                -2.650707368904263e-06,
            ),
        ),
    ),
}
