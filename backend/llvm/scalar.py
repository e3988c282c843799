"""Scalar emission rules: one table, keyed by primitive name, shared by the CPU and the NVPTX
code generators (``backend/cpu/codegen.py``, ``backend/cuda/codegen.py``). Nothing here knows
the target.

``SCALAR_RULES[name](sc, args, in_dtypes, out_dtype, params)`` where ``sc`` is an ``Emitter``
(builder + helpers) and ``args`` are IR values in *register* types (``ir_type``: bool is
``i1``, ints ``iN``, floats ``half``/``float``/``double``). Code generators call ``emit``, which
checks ``can_emit`` and computes float16 in float32 and rounds back, as numpy does. Every rule
emits only instructions the loop vectoriser widens; transcendental functions come from
``vmath.VMATH`` (inline polynomials, never libm calls). The semantics are those of the numpy
``impl_rules`` of ``funcgrad/_src/lax_*.py`` (integer division by zero, shifts out of range,
saturating float -> int conversion with NaN -> 0, NaN-propagating max/min).

Complex numbers (``COMPLEX_RULES``, used when an operand or the result is complex64/128) are
``{float, float}`` / ``{double, double}`` literal structs in registers and (real, imag) pairs in
memory, numpy's layout. Their rules work on the two parts (``extractvalue``/``insertvalue``,
which LLVM turns back into plain scalars): ``add sub mul div neg conj real imag complex abs exp
log sqrt eq ne select_n convert_element_type integer_pow pow`` and the sum/product reductions.
``dtype_ok`` stays real-only (op kernels ask it); ``loop_dtype_ok`` adds the complex dtypes.

>>> from llvmlite import ir
>>> import numpy as np
>>> m = ir.Module()
>>> fn = ir.Function(m, ir.FunctionType(ir.FloatType(), [ir.FloatType()]), "f")
>>> b = ir.IRBuilder(fn.append_basic_block())
>>> f32 = np.dtype("float32")
>>> _ = b.ret(emit(b, "tanh", [fn.args[0]], [f32], f32))
>>> can_emit("sin", [f32], f32), can_emit("sin", [np.dtype("int32")], np.dtype("int32"))
(True, False)
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from .vmath import VMATH

I1 = ir.IntType(1)
F16, F32, F64 = np.dtype("float16"), np.dtype("float32"), np.dtype("float64")
C64, C128 = np.dtype("complex64"), np.dtype("complex128")
_FLOAT = {F16: ir.HalfType(), F32: ir.FloatType(), F64: ir.DoubleType()}
PART = {C64: F32, C128: F64}  # complex dtype -> dtype of its real and imaginary parts
_COMPLEX = {c: ir.LiteralStructType([_FLOAT[f], _FLOAT[f]]) for c, f in PART.items()}


class UnsupportedScalarOp(NotImplementedError):
    """``emit`` was asked for a primitive/dtype combination the table does not cover."""


# ---- types and constants --------------------------------------------------------------------------


def dtype_ok(dtype) -> bool:
    """Dtypes the rules handle: bool, 8- to 64-bit ints, float16/32/64. (A code generator may
    accept fewer: the CPU one leaves float16 to the fallback path.)"""
    try:
        dt = np.dtype(dtype)
    except TypeError:  # e.g. the bfloat16 marker
        return False
    return dt in _FLOAT or (dt.kind in "iu" and dt.itemsize in (1, 2, 4, 8)) or dt.kind == "b"


def loop_dtype_ok(dtype) -> bool:
    """``dtype_ok`` plus complex64/complex128: the dtypes loop kernels load, compute and store
    (op kernels take only ``dtype_ok`` ones)."""
    return dtype_ok(dtype) or is_complex(dtype)


def is_complex(dtype) -> bool:
    try:
        return np.dtype(dtype) in PART
    except TypeError:
        return False


def ir_type(dtype) -> ir.Type:
    """The register (compute) type of a dtype (bool is i1, complex a struct of two floats)."""
    dt = np.dtype(dtype)
    if dt in _COMPLEX:
        return _COMPLEX[dt]
    if dt.kind == "f":
        if dt not in _FLOAT:
            raise UnsupportedScalarOp(f"dtype {dt.name} has no scalar IR type")
        return _FLOAT[dt]
    if dt.kind == "b":
        return I1
    return ir.IntType(dt.itemsize * 8)


def storage_type(dtype) -> ir.Type:
    """The in-memory type of a dtype (bool is one byte)."""
    dt = np.dtype(dtype)
    return ir.IntType(8) if dt.kind == "b" else ir_type(dt)


def const(dtype, value) -> ir.Constant:
    dt = np.dtype(dtype)
    ty = ir_type(dt)
    if dt in PART:
        z = complex(value)
        return ir.Constant(ty, [const(PART[dt], z.real), const(PART[dt], z.imag)])
    if dt.kind == "f":
        return ir.Constant(ty, float(value))
    if dt.kind == "b":
        return ir.Constant(I1, int(bool(value)))
    v = int(value)
    if dt.kind == "u":
        v &= (1 << (dt.itemsize * 8)) - 1
    return ir.Constant(ty, v)


def to_register(b: ir.IRBuilder, value: ir.Value, dtype) -> ir.Value:
    """A loaded value (storage type) as a register value."""
    return b.icmp_unsigned("!=", value, value.type(0)) if np.dtype(dtype).kind == "b" else value


def to_memory(b: ir.IRBuilder, value: ir.Value, dtype) -> ir.Value:
    """A register value in its storage type."""
    return b.zext(value, ir.IntType(8)) if np.dtype(dtype).kind == "b" else value


class Emitter:
    """A builder plus constant and intrinsic helpers: the context a rule gets."""

    def __init__(self, builder: ir.IRBuilder):
        self.b = builder

    def const(self, dtype, value) -> ir.Constant:
        return const(dtype, value)

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
        if dt.kind == "f":  # llvm.maximum/minimum: NaN if either is NaN, like numpy
            return sc.intrinsic(fname, x.type, [x, y])
        if dt.kind == "b":
            return sc.b.or_(x, y) if pred == ">" else sc.b.and_(x, y)
        cmp = sc.b.icmp_signed if dt.kind == "i" else sc.b.icmp_unsigned
        return sc.b.select(cmp(pred, x, y), x, y)

    return rule


def _neg(sc, args, dts, out, params):
    (x,) = args
    return sc.b.fneg(x) if _is_float(dts[0]) else sc.b.sub(sc.const(dts[0], 0), x)


def _abs(sc, args, dts, out, params):
    (x,) = args
    dt = np.dtype(dts[0])
    if dt.kind == "f":
        return sc.intrinsic("llvm.fabs", x.type, [x])
    if dt.kind in "ub":
        return x
    return sc.b.select(sc.b.icmp_signed("<", x, sc.const(dt, 0)), sc.b.sub(sc.const(dt, 0), x), x)


def _sign(sc, args, dts, out, params):
    (x,) = args
    dt = np.dtype(dts[0])
    b = sc.b
    if dt.kind == "f":  # 0 and NaN map to themselves
        pos = b.select(b.fcmp_ordered(">", x, sc.const(dt, 0)), sc.const(dt, 1), x)
        return b.select(b.fcmp_ordered("<", x, sc.const(dt, 0)), sc.const(dt, -1), pos)
    if dt.kind == "u":
        return b.zext(b.icmp_unsigned("!=", x, sc.const(dt, 0)), x.type)
    gt = b.zext(b.icmp_signed(">", x, sc.const(dt, 0)), x.type)
    lt = b.zext(b.icmp_signed("<", x, sc.const(dt, 0)), x.type)
    return b.sub(gt, lt)


def _integer_pow(sc, args, dts, out, params):
    (x,) = args
    y = int(params["y"])
    dt = dts[0]
    mul = sc.b.fmul if _is_float(dt) else sc.b.mul
    acc, base, n = None, x, abs(y)
    while n:  # square and multiply
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
    (x,) = args
    if params.get("rounding_method", 0) == 1:
        return sc.intrinsic("llvm.rint", x.type, [x])  # half to even
    ax = sc.intrinsic("llvm.fabs", x.type, [x])  # half away from zero
    fl = sc.intrinsic("llvm.floor", x.type, [sc.b.fadd(ax, sc.const(dts[0], 0.5))])
    return sc.intrinsic("llvm.copysign", x.type, [fl, x])


def _is_finite(sc, args, dts, out, params):
    (x,) = args
    ax = sc.intrinsic("llvm.fabs", x.type, [x])
    return sc.b.fcmp_ordered("<", ax, sc.const(dts[0], np.inf))


def _vmath(name):
    return lambda sc, args, dts, out, params: VMATH[name](sc.b, *args)


def _nextafter(sc, args, dts, out, params):
    x, y = args
    dt = np.dtype(dts[0])
    b = sc.b
    ity = ir.IntType(8 * dt.itemsize)
    bits = b.bitcast(x, ity)
    up = b.xor(b.fcmp_ordered("<", x, y), b.fcmp_ordered("<", x, sc.const(dt, 0)))  # |x| grows
    nxt = b.bitcast(b.add(bits, b.select(up, ity(1), ity(-1))), x.type)
    tiny = sc.intrinsic("llvm.copysign", x.type, [b.bitcast(ity(1), x.type), y])
    res = b.select(b.fcmp_ordered("==", x, sc.const(dt, 0)), tiny, nxt)
    res = b.select(b.fcmp_ordered("==", x, y), y, res)
    return b.select(b.fcmp_unordered("uno", x, y), b.fadd(x, y), res)


# ---- bits, comparisons ------------------------------------------------------------------------


def _bitwise(op):
    return lambda sc, args, dts, out, params: getattr(sc.b, op)(*args)


def _not(sc, args, dts, out, params):
    (x,) = args
    return sc.b.xor(x, ir.Constant(x.type, -1 if x.type != I1 else 1))


def _shift(kind):
    def rule(sc, args, dts, out, params):
        x, y = args
        dt = np.dtype(dts[0])
        bits = dt.itemsize * 8
        b = sc.b
        if kind == "ashr" and dt.kind == "i":  # clip(y, 0, bits - 1)
            lo = b.select(b.icmp_signed("<", y, sc.const(dt, 0)), sc.const(dt, 0), y)
            ys = b.select(
                b.icmp_signed(">", lo, sc.const(dt, bits - 1)), sc.const(dt, bits - 1), lo
            )
            return b.ashr(x, ys)
        if kind == "ashr":  # unsigned: logical, by min(y, bits - 1) (numpy)
            top = sc.const(dt, bits - 1)
            return b.lshr(x, b.select(b.icmp_unsigned(">", y, top), top, y))
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


def convert(b: ir.IRBuilder, x, src, dst):
    """numpy/XLA conversion semantics: float->int saturates and maps NaN to 0, != 0 -> bool;
    complex -> real types converts the real part (the impl's ``np.real`` first)."""
    src, dst = np.dtype(src), np.dtype(dst)
    sc, ty = Emitter(b), ir_type(dst)
    if src == dst:
        return x
    if src in PART or dst in PART:
        return _convert_complex(b, x, src, dst)
    if dst.kind == "b":
        if src.kind == "f":
            return b.fcmp_unordered("!=", x, const(src, 0))
        return b.icmp_unsigned("!=", x, const(src, 0))
    if dst.kind == "f":
        if src.kind == "f":
            return b.fpext(x, ty) if dst.itemsize > src.itemsize else b.fptrunc(x, ty)
        return b.sitofp(x, ty) if src.kind == "i" else b.uitofp(x, ty)
    if src.kind == "f":
        if src == F16:  # saturating conversions from half are not legal everywhere
            x = b.fpext(x, _FLOAT[F32])
        name = "llvm.fptosi.sat" if dst.kind == "i" else "llvm.fptoui.sat"
        return sc.intrinsic(name, ty, [x], [ty, x.type])
    if dst.itemsize < src.itemsize:
        return b.trunc(x, ty)
    if dst.itemsize == src.itemsize:
        return x
    return b.sext(x, ty) if src.kind == "i" else b.zext(x, ty)


def _population_count(sc, args, dts, out, params):
    (x,) = args  # the 1-bits of the two's-complement pattern (XLA/JAX: popcount(int8 -1) = 8)
    return sc.intrinsic("llvm.ctpop", x.type, [x])


def _convert(sc, args, dts, out, params):
    return convert(sc.b, args[0], dts[0], out)


def _bitcast(sc, args, dts, out, params):
    return sc.b.bitcast(args[0], ir_type(out))


def _identity(sc, args, dts, out, params):
    return args[0]


# ---- the table ------------------------------------------------------------------------------------

_VMATH_RULES = (
    "exp",
    "exp2",
    "log",
    "expm1",
    "log1p",
    "tanh",
    "logistic",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "asinh",
    "acosh",
    "atanh",
    "rsqrt",
    "cbrt",
    "erf",
    "erfc",
    "erf_inv",
    "lgamma",
    "digamma",
    "trigamma",
    "pow",
    "atan2",
)

SCALAR_RULES: dict = {
    "add": _arith("fadd", "add"),
    "add_any": _arith("fadd", "add"),
    "sub": _arith("fsub", "sub"),
    "mul": _arith("fmul", "mul"),
    "div": _div,
    "rem": _rem,
    "neg": _neg,
    "abs": _abs,
    "sign": _sign,
    "max": _minmax("llvm.maximum", ">"),
    "min": _minmax("llvm.minimum", "<"),
    "integer_pow": _integer_pow,
    "nextafter": _nextafter,
    "floor": _unary_intrinsic("llvm.floor"),
    "ceil": _unary_intrinsic("llvm.ceil"),
    "sqrt": _unary_intrinsic("llvm.sqrt"),
    "round": _round,
    "is_finite": _is_finite,
    "and": _bitwise("and_"),
    "or": _bitwise("or_"),
    "xor": _bitwise("xor"),
    "not": _not,
    "shift_left": _shift("shl"),
    "shift_right_logical": _shift("lshr"),
    "shift_right_arithmetic": _shift("ashr"),
    "population_count": _population_count,
    **{n: _compare(n) for n in _FCMP},
    "select_n": _select_n,
    "convert_element_type": _convert,
    "bitcast_convert_type": _bitcast,
    "stop_gradient": _identity,
    **{n: _vmath(n) for n in _VMATH_RULES},
}
_FLOAT_RULES = {"floor", "ceil", "sqrt", "round", "is_finite", "nextafter", *_VMATH_RULES}
_INT_RULES = {"population_count"}
# float16 operands are widened to float32 around every rule but these (exact in half)
_EXACT_IN_HALF = {
    "select_n",
    "convert_element_type",
    "bitcast_convert_type",
    "stop_gradient",
    "nextafter",
}


def can_emit(name: str, in_dtypes, out_dtype, params=None) -> bool:
    """Whether ``SCALAR_RULES`` covers this primitive at these dtypes (the fusion pass asks)."""
    if any(is_complex(d) for d in (*in_dtypes, out_dtype)):
        return _can_emit_complex(name, in_dtypes, out_dtype, params or {})
    if name not in SCALAR_RULES:
        return False
    ins = [np.dtype(d) for d in in_dtypes] if all(dtype_ok(d) for d in in_dtypes) else None
    if ins is None or not dtype_ok(out_dtype):
        return False
    out = np.dtype(out_dtype)
    if name in _FLOAT_RULES and not all(d.kind == "f" for d in ins):
        return False
    if name in _INT_RULES and not all(d.kind in "iu" for d in ins):
        return False
    if name == "integer_pow" and (params or {}).get("y", 0) < 0 and ins[0].kind != "f":
        return False
    if name == "bitcast_convert_type":
        return ins[0].itemsize == out.itemsize and "b" not in (ins[0].kind, out.kind)
    return True


def emit(b: ir.IRBuilder, name: str, args, in_dtypes, out_dtype, params=None) -> ir.Value:
    """Emit primitive ``name`` on scalar ``args`` (register types); float16 is computed in
    float32 and rounded back. Raises ``UnsupportedScalarOp`` where ``can_emit`` says no."""
    ins, out, params = (
        tuple(np.dtype(d) for d in in_dtypes),
        np.dtype(out_dtype),
        dict(params or {}),
    )
    if not can_emit(name, ins, out, params):
        kinds = ", ".join(d.name for d in ins)
        raise UnsupportedScalarOp(f"no scalar rule for {name}({kinds}) -> {out.name}")
    if any(d in PART for d in (*ins, out)):
        return COMPLEX_RULES[name](Emitter(b), args, ins, out, params)
    rule, sc = SCALAR_RULES[name], Emitter(b)
    if F16 in ins and name not in _EXACT_IN_HALF:
        args = [b.fpext(a, _FLOAT[F32]) if d == F16 else a for a, d in zip(args, ins)]
        wide = tuple(F32 if d == F16 else d for d in ins)
        res = rule(sc, args, wide, F32 if out == F16 else out, params)
        return b.fptrunc(res, _FLOAT[F16]) if out == F16 else res
    return rule(sc, args, ins, out, params)


# ---- complex numbers --------------------------------------------------------------------------
# A complex value is a {re, im} struct; the helpers below take and return (re, im) pairs of
# scalar IR values, and rules pack the result once. Arithmetic follows numpy's loops (naive
# product, Smith's quotient, hypot-based abs) so that results match the impl within rounding.


def _parts(b, z):
    return b.extract_value(z, 0), b.extract_value(z, 1)


def _pack(b, dtype, re, im):
    z = b.insert_value(ir.Constant(ir_type(dtype), ir.Undefined), re, 0)
    return b.insert_value(z, im, 1)


def _cmul(b, x, y):
    (a, c), (d, e) = x, y
    return b.fsub(b.fmul(a, d), b.fmul(c, e)), b.fadd(b.fmul(a, e), b.fmul(c, d))


def _cdiv(sc, x, y, part):
    """numpy's quotient: Smith's algorithm scaled by the larger part of the divisor; a zero
    divisor divides each part by 0 (inf or NaN)."""
    b = sc.b
    (xr, xi), (yr, yi) = x, y
    ar, ai = sc.intrinsic("llvm.fabs", yr.type, [yr]), sc.intrinsic("llvm.fabs", yi.type, [yi])
    one = const(part, 1)
    # |yr| >= |yi|: rat = yi/yr, scl = 1/(yr + yi*rat)
    rat1 = b.fdiv(yi, yr)
    scl1 = b.fdiv(one, b.fadd(yr, b.fmul(yi, rat1)))
    re1 = b.fmul(b.fadd(xr, b.fmul(xi, rat1)), scl1)
    im1 = b.fmul(b.fsub(xi, b.fmul(xr, rat1)), scl1)
    zero = b.and_(
        b.fcmp_ordered("==", ar, const(part, 0)), b.fcmp_ordered("==", ai, const(part, 0))
    )
    re1 = b.select(zero, b.fdiv(xr, ar), re1)
    im1 = b.select(zero, b.fdiv(xi, ar), im1)
    # otherwise: rat = yr/yi, scl = 1/(yi + yr*rat)
    rat2 = b.fdiv(yr, yi)
    scl2 = b.fdiv(one, b.fadd(yi, b.fmul(yr, rat2)))
    re2 = b.fmul(b.fadd(b.fmul(xr, rat2), xi), scl2)
    im2 = b.fmul(b.fsub(b.fmul(xi, rat2), xr), scl2)
    first = b.fcmp_ordered(">=", ar, ai)
    return b.select(first, re1, re2), b.select(first, im1, im2)


def _hypot(sc, re, im, part):
    """sqrt(re**2 + im**2) without overflow or underflow; inf if a part is inf (even with a NaN
    beside it, like C's hypot), else NaN if a part is NaN. float32 goes through float64."""
    b = sc.b
    ar, ai = sc.intrinsic("llvm.fabs", re.type, [re]), sc.intrinsic("llvm.fabs", im.type, [im])
    if part == F32:
        d = _FLOAT[F64]
        r, i = b.fpext(re, d), b.fpext(im, d)
        h = sc.intrinsic("llvm.sqrt", d, [b.fadd(b.fmul(r, r), b.fmul(i, i))])
        h = b.fptrunc(h, _FLOAT[F32])
    else:
        big = b.fcmp_ordered(">", ar, ai)
        hi, lo = b.select(big, ar, ai), b.select(big, ai, ar)  # a NaN ends up in the result
        q = b.fdiv(lo, hi)
        h = b.fmul(hi, sc.intrinsic("llvm.sqrt", q.type, [b.fadd(const(part, 1), b.fmul(q, q))]))
        h = b.select(b.fcmp_ordered("==", hi, const(part, 0)), hi, h)
    inf = b.or_(
        b.fcmp_ordered("==", ar, const(part, np.inf)), b.fcmp_ordered("==", ai, const(part, np.inf))
    )
    return b.select(inf, const(part, np.inf), h)


def _c_arith(op):
    def rule(sc, args, dts, out, params):
        (a, c), (d, e) = (_parts(sc.b, z) for z in args)
        f = getattr(sc.b, op)
        return _pack(sc.b, out, f(a, d), f(c, e))

    return rule


def _c_mul(sc, args, dts, out, params):
    return _pack(sc.b, out, *_cmul(sc.b, *(_parts(sc.b, z) for z in args)))


def _c_div(sc, args, dts, out, params):
    x, y = (_parts(sc.b, z) for z in args)
    return _pack(sc.b, out, *_cdiv(sc, x, y, PART[out]))


def _c_neg(sc, args, dts, out, params):
    re, im = _parts(sc.b, args[0])
    return _pack(sc.b, out, sc.b.fneg(re), sc.b.fneg(im))


def _c_conj(sc, args, dts, out, params):
    re, im = _parts(sc.b, args[0])
    return _pack(sc.b, out, re, sc.b.fneg(im))


def _c_part(i):
    return lambda sc, args, dts, out, params: sc.b.extract_value(args[0], i)


def _c_make(sc, args, dts, out, params):
    return _pack(sc.b, out, *args)


def _c_abs(sc, args, dts, out, params):
    return _hypot(sc, *_parts(sc.b, args[0]), out)


def _c_exp(sc, args, dts, out, params):
    """e**re * (cos im, sin im), with e**re as (e**(re/2))**2 so that the parts stay finite
    where the result is; a zero imaginary part stays exactly zero (e**x + 0j)."""
    b, part = sc.b, PART[out]
    re, im = _parts(b, args[0])
    h = VMATH["exp"](b, b.fmul(re, const(part, 0.5)))
    c, s = VMATH["cos"](b, im), VMATH["sin"](b, im)
    out_re, out_im = b.fmul(b.fmul(h, c), h), b.fmul(b.fmul(h, s), h)
    return _pack(b, out, out_re, b.select(b.fcmp_ordered("==", im, const(part, 0)), im, out_im))


def _log_abs(sc, re, im, part):
    """log|z|: float32 in float64 (log(re**2 + im**2) / 2); float64 as log(hi) +
    log1p((lo/hi)**2) / 2 with hi, lo the larger and smaller part magnitudes."""
    b = sc.b
    if part == F32:
        d = _FLOAT[F64]
        r, i = b.fpext(re, d), b.fpext(im, d)
        half = b.fmul(VMATH["log"](b, b.fadd(b.fmul(r, r), b.fmul(i, i))), const(F64, 0.5))
        return b.fptrunc(half, _FLOAT[F32])
    ar, ai = sc.intrinsic("llvm.fabs", re.type, [re]), sc.intrinsic("llvm.fabs", im.type, [im])
    big = b.fcmp_ordered(">", ar, ai)
    hi, lo = b.select(big, ar, ai), b.select(big, ai, ar)
    q = b.fdiv(lo, hi)
    tail = b.fmul(VMATH["log1p"](b, b.fmul(q, q)), const(part, 0.5))
    ok = b.and_(
        b.fcmp_ordered("<", hi, const(part, np.inf)), b.fcmp_ordered(">", hi, const(part, 0))
    )  # else log(hi) alone: -inf, inf
    res = b.fadd(VMATH["log"](b, hi), b.select(ok, tail, const(part, 0)))
    inf = b.or_(
        b.fcmp_ordered("==", ar, const(part, np.inf)), b.fcmp_ordered("==", ai, const(part, np.inf))
    )
    return b.select(inf, const(part, np.inf), res)


def _c_log(sc, args, dts, out, params):
    b, part = sc.b, PART[out]
    re, im = _parts(b, args[0])
    return _pack(b, out, _log_abs(sc, re, im, part), VMATH["atan2"](b, im, re))


def _c_sqrt(sc, args, dts, out, params):
    """Principal square root (Kahan): t = sqrt((|re| + |z|) / 2); re >= 0: (t, im / 2t), else
    (|im| / 2t, copysign(t, im)); sqrt(±0 + im·i) with im = ±0 is (0, im)."""
    b, part = sc.b, PART[out]
    re, im = _parts(b, args[0])
    ar = sc.intrinsic("llvm.fabs", re.type, [re])
    half = const(part, 0.5)
    t = sc.intrinsic(
        "llvm.sqrt", re.type, [b.fadd(b.fmul(ar, half), b.fmul(_hypot(sc, re, im, part), half))]
    )
    u = b.fdiv(im, b.fadd(t, t))
    pos = b.fcmp_unordered("uge", re, const(part, 0))
    out_re = b.select(pos, t, sc.intrinsic("llvm.fabs", u.type, [u]))
    out_im = b.select(pos, u, sc.intrinsic("llvm.copysign", t.type, [t, im]))
    zero = b.fcmp_ordered("==", t, const(part, 0))
    out_im = b.select(zero, im, out_im)
    inf = b.fcmp_ordered("==", sc.intrinsic("llvm.fabs", im.type, [im]), const(part, np.inf))
    out_re = b.select(inf, const(part, np.inf), out_re)
    return _pack(b, out, out_re, b.select(inf, im, out_im))


def _c_compare(name):
    def rule(sc, args, dts, out, params):
        b = sc.b
        (a, c), (d, e) = (_parts(b, z) for z in args)
        if name == "eq":
            return b.and_(b.fcmp_ordered("==", a, d), b.fcmp_ordered("==", c, e))
        return b.or_(b.fcmp_unordered("!=", a, d), b.fcmp_unordered("!=", c, e))

    return rule


def _c_select_n(sc, args, dts, out, params):
    which, *cases = args
    b = sc.b

    def pick(c, x, y):  # part by part: no select of aggregates
        (xr, xi), (yr, yi) = _parts(b, x), _parts(b, y)
        return _pack(b, out, b.select(c, xr, yr), b.select(c, xi, yi))

    if len(cases) == 1:
        return cases[0]
    if np.dtype(dts[0]).kind == "b":
        return pick(which, cases[1], cases[0])
    acc = cases[-1]
    for i in range(len(cases) - 2, -1, -1):
        acc = pick(b.icmp_signed("==", which, sc.const(dts[0], i)), cases[i], acc)
    return acc


def _c_integer_pow(sc, args, dts, out, params):
    """Square and multiply (numpy's integer-exponent power); y < 0: 1 / x**-y, Smith's
    quotient as numpy's ``1 / np.power(x, -y)``."""
    b, part, y = sc.b, PART[out], int(params["y"])
    one = (const(part, 1), const(part, 0))
    acc, base, n = None, _parts(b, args[0]), abs(y)
    while n:
        if n & 1:
            acc = base if acc is None else _cmul(b, acc, base)
        n >>= 1
        if n:
            base = _cmul(b, base, base)
    acc = one if acc is None else acc
    return _pack(b, out, *(_cdiv(sc, one, acc, part) if y < 0 else acc))


def _c_pow(sc, args, dts, out, params):
    """x**y = exp(y log x) (numpy's general case); y == 0 gives 1, x == 0 gives 0 for a real
    y > 0 and NaN otherwise (numpy's npy_cpow). numpy's exact repeated products for small
    integer y are not reproduced: the result differs from it by rounding only."""
    b, part = sc.b, PART[out]
    (xr, xi), (yr, yi) = (_parts(b, z) for z in args)
    lr, li = _log_abs(sc, xr, xi, part), VMATH["atan2"](b, xi, xr)
    w = _pack(b, out, *_cmul(b, (yr, yi), (lr, li)))
    er, ei = _parts(b, _c_exp(sc, [w], [out], out, params))
    zero, one, nan = const(part, 0), const(part, 1), const(part, np.nan)
    is0 = lambda re, im: b.and_(b.fcmp_ordered("==", re, zero), b.fcmp_ordered("==", im, zero))
    x0 = is0(xr, xi)
    y_pos_real = b.and_(b.fcmp_ordered(">", yr, zero), b.fcmp_ordered("==", yi, zero))
    er = b.select(x0, b.select(y_pos_real, zero, nan), er)
    ei = b.select(x0, b.select(y_pos_real, zero, nan), ei)
    y0 = is0(yr, yi)
    return _pack(b, out, b.select(y0, one, er), b.select(y0, zero, ei))


def _convert_complex(b, x, src, dst):
    if src in PART and dst in PART:
        re, im = _parts(b, x)
        return _pack(
            b, dst, convert(b, re, PART[src], PART[dst]), convert(b, im, PART[src], PART[dst])
        )
    if src in PART:  # complex -> real, int or bool: the real part (the impl's np.real)
        return convert(b, b.extract_value(x, 0), PART[src], dst)
    return _pack(b, dst, convert(b, x, src, PART[dst]), const(PART[dst], 0))


def _c_convert(sc, args, dts, out, params):
    return _convert_complex(sc.b, args[0], dts[0], out)


COMPLEX_RULES: dict = {
    "add": _c_arith("fadd"),
    "add_any": _c_arith("fadd"),
    "sub": _c_arith("fsub"),
    "mul": _c_mul,
    "div": _c_div,
    "neg": _c_neg,
    "conj": _c_conj,
    "real": _c_part(0),
    "imag": _c_part(1),
    "complex": _c_make,
    "abs": _c_abs,
    "exp": _c_exp,
    "log": _c_log,
    "sqrt": _c_sqrt,
    "pow": _c_pow,
    "eq": _c_compare("eq"),
    "ne": _c_compare("ne"),
    "select_n": _c_select_n,
    "convert_element_type": _c_convert,
    "integer_pow": _c_integer_pow,
    "stop_gradient": _identity,
}
_C_TO_PART = {"real", "imag", "abs"}  # complex -> its part dtype


def _can_emit_complex(name, in_dtypes, out_dtype, params) -> bool:
    """``can_emit`` where an operand or the result is complex."""
    if name not in COMPLEX_RULES or not all(loop_dtype_ok(d) for d in (*in_dtypes, out_dtype)):
        return False
    ins, out = [np.dtype(d) for d in in_dtypes], np.dtype(out_dtype)
    if name == "convert_element_type":
        return True
    if name == "complex":
        return len(ins) == 2 and ins[0] == ins[1] and out in PART and PART[out] == ins[0]
    if name == "select_n":
        return ins[0].kind in "biu" and all(d == out for d in ins[1:]) and out in PART
    if name in ("eq", "ne"):
        return ins[0] in PART and ins[0] == ins[1] and out.kind == "b"
    if name in _C_TO_PART:
        return ins[0] in PART and out == PART[ins[0]]
    return all(d == out for d in ins) and out in PART
