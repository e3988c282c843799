"""The emission kit of ``vmath``: float formats and constants, ``Kit`` (constants, intrinsics
and bit tricks for one float type) and ``Val`` (an IR value with arithmetic operators)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from llvmlite import ir

from .vmath_coeffs import PIECES, POLY

# --- float formats ----------------------------------------------------------------------------


class Format(NamedTuple):
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


FORMATS = {
    32: Format(
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
    64: Format(
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


class Kit:
    """Emission context for one float type: constants, intrinsics and bit tricks."""

    def __init__(self, b: ir.IRBuilder, ty: ir.Type):
        vec = isinstance(ty, ir.VectorType)
        et = ty.element if vec else ty
        if not isinstance(et, (ir.FloatType, ir.DoubleType)) or isinstance(et, ir.HalfType):
            raise TypeError(f"vmath works on float/double scalars or vectors, got {ty}")
        self.b, self.ty, self.lanes = b, ty, (ty.count if vec else None)
        self.fmt = FORMATS[32 if isinstance(et, ir.FloatType) else 64]
        it = ir.IntType(self.fmt.bits)
        self.ity = ir.VectorType(it, ty.count) if vec else it

    def _const(self, ty, v):
        return ir.Constant(ty, v if self.lanes is None else [v] * self.lanes)

    def lift(self, v) -> Val:
        if isinstance(v, Val):
            return v
        if isinstance(v, (int, float)):
            return Val(self, self._const(self.ty, float(v)))
        return Val(self, v)

    def i(self, v: int) -> ir.Constant:
        return self._const(self.ity, v)

    def call(self, name: str, *args) -> Val:
        vals = [self.lift(a).v for a in args]
        module = self.b.module
        full = f"llvm.{name}.{_mangle(self.ty)}"
        fn = module.globals.get(full)
        if fn is None:
            fn = ir.Function(module, ir.FunctionType(self.ty, [self.ty] * len(vals)), full)
        return Val(self, self.b.call(fn, vals))

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

    def where(self, cond: Val, a, b) -> Val:
        return Val(self, self.b.select(cond.v, self.lift(a).v, self.lift(b).v))

    def isnan(self, a) -> Val:
        a = self.lift(a)
        return Val(self, self.b.fcmp_unordered("uno", a.v, a.v))

    def poly(self, x, coeffs) -> Val:
        """Horner with fma; ``coeffs`` lowest power first."""
        acc = self.lift(coeffs[-1])
        for c in reversed(coeffs[:-1]):
            acc = self.fma(acc, x, c)
        return acc

    # bit-level helpers (integers are plain ir values of type self.ity)
    def bits(self, a) -> ir.Value:
        return self.b.bitcast(self.lift(a).v, self.ity)

    def from_bits(self, i: ir.Value) -> Val:
        return Val(self, self.b.bitcast(i, self.ty))

    def to_int(self, a) -> ir.Value:
        return self.b.fptosi(self.lift(a).v, self.ity)

    def to_float(self, i: ir.Value) -> Val:
        return Val(self, self.b.sitofp(i, self.ty))

    def pow2i(self, n: ir.Value) -> Val:
        """2**n for an integer n in the normal exponent range."""
        e = self.b.add(n, self.i(self.fmt.bias))
        return self.from_bits(self.b.shl(e, self.i(self.fmt.mant)))

    def sign_bit_set(self, a) -> Val:
        return Val(self, self.b.icmp_signed("<", self.bits(a), self.i(0)))

    def int_flag(self, n: ir.Value, mask: int) -> Val:
        return Val(self, self.b.icmp_unsigned("!=", self.b.and_(n, self.i(mask)), self.i(0)))


class Val:
    """A float (or boolean) IR value with arithmetic operators; Python numbers become constants."""

    __slots__ = ("k", "v")

    def __init__(self, k: Kit, v: ir.Value):
        self.k, self.v = k, v

    def _op(self, name, other, swap=False):
        o = self.k.lift(other)
        a, c = (o, self) if swap else (self, o)
        return Val(self.k, getattr(self.k.b, name)(a.v, c.v))

    def _cmp(self, op, other, ordered=True):
        fn = self.k.b.fcmp_ordered if ordered else self.k.b.fcmp_unordered
        return Val(self.k, fn(op, self.v, self.k.lift(other).v))

    __add__ = lambda s, o: s._op("fadd", o)
    __radd__ = lambda s, o: s._op("fadd", o, True)
    __sub__ = lambda s, o: s._op("fsub", o)
    __rsub__ = lambda s, o: s._op("fsub", o, True)
    __mul__ = lambda s, o: s._op("fmul", o)
    __rmul__ = lambda s, o: s._op("fmul", o, True)
    __truediv__ = lambda s, o: s._op("fdiv", o)
    __rtruediv__ = lambda s, o: s._op("fdiv", o, True)
    __and__ = lambda s, o: Val(s.k, s.k.b.and_(s.v, o.v))
    __or__ = lambda s, o: Val(s.k, s.k.b.or_(s.v, o.v))
    __invert__ = lambda s: Val(s.k, s.k.b.not_(s.v))
    __neg__ = lambda s: Val(s.k, s.k.b.fneg(s.v))
    __lt__ = lambda s, o: s._cmp("<", o)
    __le__ = lambda s, o: s._cmp("<=", o)
    __gt__ = lambda s, o: s._cmp(">", o)
    __ge__ = lambda s, o: s._cmp(">=", o)
    eq = lambda s, o: s._cmp("==", o)
    ne = lambda s, o: s._cmp("!=", o, ordered=False)


def coeffs(k: Kit, name: str):
    return POLY[(name, k.fmt.bits)]


def piecewise(k: Kit, x: Val, name: str) -> Val:
    """Evaluate the piecewise polynomial ``PIECES[name]`` at x (pieces chosen with selects)."""
    pieces = PIECES[(name, k.fmt.bits)]
    deg = max(len(p[-1]) for p in pieces)
    padded = [(p[-3], p[-2], tuple(p[-1]) + (0.0,) * (deg - len(p[-1]))) for p in pieces]
    start, centre, coeffs = padded[0]
    centre, coeffs = k.lift(centre), [k.lift(c) for c in coeffs]
    for start, c0, cs in padded[1:]:
        use = x >= start
        centre = k.where(use, c0, centre)
        coeffs = [k.where(use, c, old) for c, old in zip(cs, coeffs)]
    return k.poly(x - centre, coeffs)


def unary(kernel: Callable[[Kit, Val], Val]) -> Callable:
    def emit(builder: ir.IRBuilder, x: ir.Value) -> ir.Value:
        k = Kit(builder, x.type)
        return kernel(k, Val(k, x)).v

    emit.__name__ = emit.__qualname__ = kernel.__name__.lstrip("_")
    emit.__doc__ = kernel.__doc__
    return emit


def binary(kernel: Callable[[Kit, Val, Val], Val]) -> Callable:
    def emit(builder: ir.IRBuilder, x: ir.Value, y: ir.Value) -> ir.Value:
        if x.type != y.type:
            name = kernel.__name__.lstrip("_")
            raise TypeError(f"{name}: operand types differ: {x.type}, {y.type}")
        k = Kit(builder, x.type)
        return kernel(k, Val(k, x), Val(k, y)).v

    emit.__name__ = emit.__qualname__ = kernel.__name__.lstrip("_")
    emit.__doc__ = kernel.__doc__
    return emit
