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

Complex numbers (``COMPLEX_RULES`` of ``scalar_complex.py``, used when an operand or the result is
complex64/128) are
``{float, float}`` / ``{double, double}`` literal structs in registers and (real, imag) pairs in
memory, numpy's layout. Their rules work on the two parts (``extractvalue``/``insertvalue``,
which LLVM turns back into plain scalars): ``add sub mul div neg conj real imag complex abs exp
log sqrt eq ne select_n convert_element_type integer_pow pow`` and the sum/product reductions.
``dtype_ok`` stays real-only (op kernels ask it); ``loop_dtype_ok`` adds the complex dtypes. The
types, constants and ``convert`` live in ``irtypes.py`` and are re-exported here.

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

from .irtypes import (  # noqa: F401 (the types and conversions are re-exported with the table)
    F16,
    F32,
    FLOAT,
    I1,
    PART,
    Emitter,
    UnsupportedScalarOp,
    const,
    convert,
    dtype_ok,
    ir_type,
    is_complex,
    is_float,
    is_signed,
    loop_dtype_ok,
    storage_type,
    to_memory,
    to_register,
)
from .scalar_complex import COMPLEX_RULES, can_emit_complex
from .vmath import VMATH

# ---- arithmetic ----------------------------------------------------------------------------------


def _arith(fop, iop):
    def rule(sc, args, dts, out, params):
        if is_float(dts[0]):
            return getattr(sc.b, fop)(*args)
        if np.dtype(dts[0]).kind == "b":
            return {"add": sc.b.or_, "mul": sc.b.and_, "sub": sc.b.xor}[iop](*args)
        return getattr(sc.b, iop)(*args)

    return rule


def _safe_divisor(sc, x, y, dt):
    """y, with 0 (and -1 when x is the minimum, for signed types) replaced by 1."""
    b = sc.b
    bad = b.icmp_unsigned("==", y, sc.const(dt, 0))
    if is_signed(dt):
        mn = sc.const(dt, np.iinfo(dt).min)
        ovf = b.and_(b.icmp_signed("==", x, mn), b.icmp_signed("==", y, sc.const(dt, -1)))
        bad = b.or_(bad, ovf)
    return b.select(bad, sc.const(dt, 1), y)


def _div(sc, args, dts, out, params):
    x, y = args
    dt = dts[0]
    if is_float(dt):
        return sc.b.fdiv(x, y)
    q = (sc.b.sdiv if is_signed(dt) else sc.b.udiv)(x, _safe_divisor(sc, x, y, dt))
    return sc.b.select(sc.b.icmp_unsigned("==", y, sc.const(dt, 0)), sc.const(dt, -1), q)


def _rem(sc, args, dts, out, params):
    x, y = args
    dt = dts[0]
    if is_float(dt):
        return sc.b.frem(x, y)
    r = (sc.b.srem if is_signed(dt) else sc.b.urem)(x, _safe_divisor(sc, x, y, dt))
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
    return sc.b.fneg(x) if is_float(dts[0]) else sc.b.sub(sc.const(dts[0], 0), x)


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
    mul = sc.b.fmul if is_float(dt) else sc.b.mul
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


# ---- selection and conversion --------------------------------------------------------------------


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


def _population_count(sc, args, dts, out, params):
    (x,) = args  # the 1-bits of the two's-complement pattern (XLA/JAX: popcount(int8 -1) = 8)
    return sc.intrinsic("llvm.ctpop", x.type, [x])


def _convert(sc, args, dts, out, params):
    return convert(sc.b, args[0], dts[0], out)


def _bitcast(sc, args, dts, out, params):
    return sc.b.bitcast(args[0], ir_type(out))


def _identity(sc, args, dts, out, params):
    return args[0]


# ---- the table -----------------------------------------------------------------------------------

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
    "name": _identity,  # checkpoint_name
    **{n: _vmath(n) for n in _VMATH_RULES},
}
FLOAT_RULES = {"floor", "ceil", "sqrt", "round", "is_finite", "nextafter", *_VMATH_RULES}
_INT_RULES = {"population_count"}
# float16 operands are widened to float32 around every rule but these (exact in half)
_EXACT_IN_HALF = {
    "select_n",
    "convert_element_type",
    "bitcast_convert_type",
    "stop_gradient",
    "name",
    "nextafter",
}


def can_emit(name: str, in_dtypes, out_dtype, params=None) -> bool:
    """Whether ``SCALAR_RULES`` covers this primitive at these dtypes (the fusion pass asks)."""
    if any(is_complex(d) for d in (*in_dtypes, out_dtype)):
        return can_emit_complex(name, in_dtypes, out_dtype, params or {})
    if name not in SCALAR_RULES:
        return False
    ins = [np.dtype(d) for d in in_dtypes] if all(dtype_ok(d) for d in in_dtypes) else None
    if ins is None or not dtype_ok(out_dtype):
        return False
    out = np.dtype(out_dtype)
    if name in FLOAT_RULES and not all(d.kind == "f" for d in ins):
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
        args = [b.fpext(a, FLOAT[F32]) if d == F16 else a for a, d in zip(args, ins)]
        wide = tuple(F32 if d == F16 else d for d in ins)
        res = rule(sc, args, wide, F32 if out == F16 else out, params)
        return b.fptrunc(res, FLOAT[F16]) if out == F16 else res
    return rule(sc, args, ins, out, params)
