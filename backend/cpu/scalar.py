"""Scalar emission rules: one table, keyed by primitive name, from IR values to an IR value.

``SCALAR_RULES[name](sc, args, in_dtypes, out_dtype, params)`` where ``sc`` is an ``Emitter``
(builder + helpers). Values are scalars: floats as ``float``/``double``, integers as ``iN``,
booleans as ``i1``. Every rule emits only instructions the loop vectoriser widens; the
transcendental functions come from ``vmath.VMATH`` (inline polynomials, never libm calls).
The semantics are those of the numpy ``impl_rules`` (integer division by zero, shifts out of
range and float->int conversions included).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from .vmath import VMATH

I1 = ir.IntType(1)
_FLOAT = {np.dtype(np.float32): ir.FloatType(), np.dtype(np.float64): ir.DoubleType()}


def ir_type(dtype) -> ir.Type:
    """The compute type of a dtype (bool is i1)."""
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return _FLOAT[dt]
    if dt.kind == "b":
        return I1
    return ir.IntType(dt.itemsize * 8)


def storage_type(dtype) -> ir.Type:
    dt = np.dtype(dtype)
    return ir.IntType(8) if dt.kind == "b" else ir_type(dt)


def dtype_ok(dtype) -> bool:
    dt = np.dtype(dtype)
    return dt in _FLOAT or (dt.kind in "iu" and dt.itemsize in (1, 2, 4, 8)) or dt.kind == "b"


class Emitter:
    """A builder plus constant and intrinsic helpers."""

    def __init__(self, builder: ir.IRBuilder):
        self.b = builder

    def const(self, dtype, value) -> ir.Constant:
        dt = np.dtype(dtype)
        ty = ir_type(dt)
        if dt.kind == "f":
            return ir.Constant(ty, float(value))
        if dt.kind == "b":
            return ir.Constant(I1, int(bool(value)))
        v = int(value)
        if dt.kind == "u":
            v &= (1 << (dt.itemsize * 8)) - 1
        return ir.Constant(ty, v)

    def intrinsic(self, name: str, ret: ir.Type, args, tys=None):
        mod = self.b.module
        fnty = ir.FunctionType(ret, [a.type for a in args])
        fn = mod.declare_intrinsic(name, tys if tys is not None else [ret], fnty)
        return self.b.call(fn, args)

    def select(self, c, x, y):
        return self.b.select(c, x, y)


def _is_float(dt) -> bool:
    return np.dtype(dt).kind == "f"


def _signed(dt) -> bool:
    return np.dtype(dt).kind == "i"


# ---- arithmetic -----------------------------------------------------------------------------------


def _arith(fop, iop):
    def rule(sc, args, dts, out, params):
        if _is_float(dts[0]):
            return getattr(sc.b, fop)(*args)
        if np.dtype(dts[0]).kind == "b":
            return {"add": sc.b.or_, "mul": sc.b.and_, "sub": sc.b.xor}[iop](*args)
        return getattr(sc.b, iop)(*args)
    return rule


def _safe_divisor(sc, x, y, dt):
    """y, with 0 (and -1 when x is the minimum, for signed types) replaced by 1."""
    b = sc.b
    bad = b.icmp_unsigned("==", y, sc.const(dt, 0))
    if _signed(dt):
        mn = sc.const(dt, np.iinfo(dt).min)
        ovf = b.and_(b.icmp_signed("==", x, mn), b.icmp_signed("==", y, sc.const(dt, -1)))
        bad = b.or_(bad, ovf)
    return b.select(bad, sc.const(dt, 1), y)


def _div(sc, args, dts, out, params):
    x, y = args
    dt = dts[0]
    if _is_float(dt):
        return sc.b.fdiv(x, y)
    q = (sc.b.sdiv if _signed(dt) else sc.b.udiv)(x, _safe_divisor(sc, x, y, dt))
    return sc.b.select(sc.b.icmp_unsigned("==", y, sc.const(dt, 0)), sc.const(dt, -1), q)


def _rem(sc, args, dts, out, params):
    x, y = args
    dt = dts[0]
    if _is_float(dt):
        return sc.b.frem(x, y)
    r = (sc.b.srem if _signed(dt) else sc.b.urem)(x, _safe_divisor(sc, x, y, dt))
    return sc.b.select(sc.b.icmp_unsigned("==", y, sc.const(dt, 0)), x, r)


def _minmax(fname, pred):
    def rule(sc, args, dts, out, params):
        x, y = args
        dt = np.dtype(dts[0])
        if dt.kind == "f":
            return sc.intrinsic(fname, x.type, [x, y])
        if dt.kind == "b":
            return sc.b.or_(x, y) if pred == ">" else sc.b.and_(x, y)
        cmp = sc.b.icmp_signed if dt.kind == "i" else sc.b.icmp_unsigned
        return sc.b.select(cmp(pred, x, y), x, y)
    return rule


def _neg(sc, args, dts, out, params):
    x, = args
    return sc.b.fneg(x) if _is_float(dts[0]) else sc.b.sub(sc.const(dts[0], 0), x)


def _abs(sc, args, dts, out, params):
    x, = args
    dt = np.dtype(dts[0])
    if dt.kind == "f":
        return sc.intrinsic("llvm.fabs", x.type, [x])
    if dt.kind in "ub":
        return x
    return sc.b.select(sc.b.icmp_signed("<", x, sc.const(dt, 0)), sc.b.sub(sc.const(dt, 0), x), x)


def _sign(sc, args, dts, out, params):
    x, = args
    dt = np.dtype(dts[0])
    b = sc.b
    if dt.kind == "f":
        pos = b.select(b.fcmp_ordered(">", x, sc.const(dt, 0)), sc.const(dt, 1), x)
        return b.select(b.fcmp_ordered("<", x, sc.const(dt, 0)), sc.const(dt, -1), pos)
    if dt.kind == "u":
        return b.zext(b.icmp_unsigned("!=", x, sc.const(dt, 0)), x.type)
    gt = b.zext(b.icmp_signed(">", x, sc.const(dt, 0)), x.type)
    lt = b.zext(b.icmp_signed("<", x, sc.const(dt, 0)), x.type)
    return b.sub(gt, lt)


def _integer_pow(sc, args, dts, out, params):
    x, = args
    y = int(params["y"])
    dt = dts[0]
    mul = sc.b.fmul if _is_float(dt) else sc.b.mul
    acc, base, n = None, x, abs(y)
    while n:
        if n & 1:
            acc = base if acc is None else mul(acc, base)
        n >>= 1
        if n:
            base = mul(base, base)
    acc = sc.const(dt, 1) if acc is None else acc
    return sc.b.fdiv(sc.const(dt, 1), acc) if y < 0 else acc


def _unary_intrinsic(name):
    return lambda sc, args, dts, out, params: sc.intrinsic(name, args[0].type, [args[0]])


def _round(sc, args, dts, out, params):
    x, = args
    if params.get("rounding_method", 0) == 1:
        return sc.intrinsic("llvm.rint", x.type, [x])
    ax = sc.intrinsic("llvm.fabs", x.type, [x])
    fl = sc.intrinsic("llvm.floor", x.type, [sc.b.fadd(ax, sc.const(dts[0], 0.5))])
    return sc.intrinsic("llvm.copysign", x.type, [fl, x])


def _is_finite(sc, args, dts, out, params):
    x, = args
    ax = sc.intrinsic("llvm.fabs", x.type, [x])
    return sc.b.fcmp_ordered("<", ax, sc.const(dts[0], np.inf))


def _vmath(name):
    return lambda sc, args, dts, out, params: VMATH[name](sc.b, *args)


# ---- bits, comparisons ------------------------------------------------------------------------


def _bitwise(op):
    return lambda sc, args, dts, out, params: getattr(sc.b, op)(*args)


def _not(sc, args, dts, out, params):
    x, = args
    return sc.b.xor(x, ir.Constant(x.type, -1 if x.type != I1 else 1))


def _shift(kind):
    def rule(sc, args, dts, out, params):
        x, y = args
        dt = np.dtype(dts[0])
        bits = dt.itemsize * 8
        b = sc.b
        if kind == "ashr" and dt.kind == "i":
            lo = b.select(b.icmp_signed("<", y, sc.const(dt, 0)), sc.const(dt, 0), y)
            ys = b.select(b.icmp_signed(">", lo, sc.const(dt, bits - 1)),
                          sc.const(dt, bits - 1), lo)
            return b.ashr(x, ys)
        ok = b.icmp_unsigned("<", y, sc.const(dt, bits))  # negative y is huge unsigned
        ys = b.select(ok, y, sc.const(dt, 0))
        op = b.shl if kind == "shl" else b.lshr
        return b.select(ok, op(x, ys), sc.const(dt, 0))
    return rule


_FCMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _compare(name):
    pred = _FCMP[name]

    def rule(sc, args, dts, out, params):
        dt = np.dtype(dts[0])
        if dt.kind == "f":
            f = sc.b.fcmp_unordered if name == "ne" else sc.b.fcmp_ordered
            return f(pred, *args)
        cmp = sc.b.icmp_signed if dt.kind == "i" else sc.b.icmp_unsigned
        return cmp(pred, *args)
    return rule


# ---- selection and conversion ---------------------------------------------------------------------


def _select_n(sc, args, dts, out, params):
    which, *cases = args
    if len(cases) == 1:
        return cases[0]
    if np.dtype(dts[0]).kind == "b":
        return sc.b.select(which, cases[1], cases[0])
    acc = cases[-1]
    for i in range(len(cases) - 2, -1, -1):
        acc = sc.b.select(sc.b.icmp_signed("==", which, sc.const(dts[0], i)), cases[i], acc)
    return acc


def convert(sc: Emitter, x, src, dst):
    """numpy/XLA conversion semantics: float->int saturates and maps NaN to 0."""
    src, dst = np.dtype(src), np.dtype(dst)
    b, ty = sc.b, ir_type(dst)
    if src == dst:
        return x
    if dst.kind == "b":
        if src.kind == "f":
            return b.fcmp_unordered("!=", x, sc.const(src, 0))
        return b.icmp_unsigned("!=", x, sc.const(src, 0))
    if dst.kind == "f":
        if src.kind == "f":
            return b.fpext(x, ty) if dst.itemsize > src.itemsize else b.fptrunc(x, ty)
        return b.sitofp(x, ty) if src.kind == "i" else b.uitofp(x, ty)
    if src.kind == "f":
        name = "llvm.fptosi.sat" if dst.kind == "i" else "llvm.fptoui.sat"
        return sc.intrinsic(name, ty, [x], [ty, x.type])
    if dst.itemsize < src.itemsize:
        return b.trunc(x, ty)
    if dst.itemsize == src.itemsize:
        return x
    return b.sext(x, ty) if src.kind == "i" else b.zext(x, ty)


def _convert(sc, args, dts, out, params):
    return convert(sc, args[0], dts[0], out)


# ---- the table ------------------------------------------------------------------------------------

_ANY, _FLOAT_ONLY = "iufb", "f"

SCALAR_RULES: dict = {
    "add": _arith("fadd", "add"), "add_any": _arith("fadd", "add"),
    "sub": _arith("fsub", "sub"), "mul": _arith("fmul", "mul"),
    "div": _div, "rem": _rem, "neg": _neg, "abs": _abs, "sign": _sign,
    "max": _minmax("llvm.maximum", ">"), "min": _minmax("llvm.minimum", "<"),
    "integer_pow": _integer_pow,
    "floor": _unary_intrinsic("llvm.floor"), "ceil": _unary_intrinsic("llvm.ceil"),
    "sqrt": _unary_intrinsic("llvm.sqrt"), "round": _round, "is_finite": _is_finite,
    "and": _bitwise("and_"), "or": _bitwise("or_"), "xor": _bitwise("xor"), "not": _not,
    "shift_left": _shift("shl"), "shift_right_logical": _shift("lshr"),
    "shift_right_arithmetic": _shift("ashr"),
    **{n: _compare(n) for n in _FCMP},
    "select_n": _select_n, "convert_element_type": _convert,
    **{n: _vmath(n) for n in ("exp", "exp2", "log", "expm1", "log1p", "tanh", "logistic",
                              "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
                              "asinh", "acosh", "atanh", "rsqrt", "cbrt", "erf", "erfc",
                              "erf_inv", "lgamma", "digamma", "pow", "atan2")},
}
_FLOAT_RULES = {"floor", "ceil", "sqrt", "round", "is_finite", "exp", "exp2", "log", "expm1",
                "log1p", "tanh", "logistic", "sin", "cos", "tan", "asin", "acos", "atan", "sinh",
                "cosh", "asinh", "acosh", "atanh", "rsqrt", "cbrt", "erf", "erfc", "erf_inv",
                "lgamma", "digamma", "pow", "atan2"}


def can_emit(name: str, in_dtypes, out_dtype, params) -> bool:
    """Whether ``SCALAR_RULES`` covers this primitive at these dtypes."""
    if name == "stop_gradient":
        return True
    if name not in SCALAR_RULES:
        return False
    dts = [np.dtype(d) for d in in_dtypes] + [np.dtype(out_dtype)]
    if not all(dtype_ok(d) for d in dts):
        return False
    if name in _FLOAT_RULES and np.dtype(in_dtypes[0]).kind != "f":
        return False
    if name == "integer_pow" and params.get("y", 0) < 0 and dts[0].kind != "f":
        return False
    return True
