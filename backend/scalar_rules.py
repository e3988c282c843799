"""Target-neutral scalar emission rules: one primitive name -> one function that emits its
scalar LLVM IR with an ``ir.IRBuilder``. The NVPTX code generator (backend/cuda/codegen.py)
uses this table; it knows nothing about the target, so the CPU code generator can use it too.

A rule is ``rule(s, *args, **params) -> ir.Value`` where ``s`` is a ``Scalar`` (the builder, the
input dtypes and the output dtype) and ``args`` are IR values in *register* types
(``ir_type``: bool is ``i1``, ints are ``iN``, floats ``half``/``float``/``double``).
Transcendental functions come from VMATH (inline polynomials, no libm calls). ``float16``
math is computed in ``float`` and rounded back, as numpy does. Semantics follow the numpy
``impl_rules`` of ``funcgrad/_src/lax_*.py`` (integer division by zero, shift masks, saturating
float -> int conversion, NaN-propagating max/min).

>>> from llvmlite import ir
>>> import numpy as np
>>> m = ir.Module()
>>> fn = ir.Function(m, ir.FunctionType(ir.FloatType(), [ir.FloatType()]), "f")
>>> b = ir.IRBuilder(fn.append_basic_block())
>>> f32 = np.dtype("float32")
>>> _ = b.ret(emit_scalar(b, "tanh", [fn.args[0]], [f32], f32, {}))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from funcgrad.backend.cpu.vmath import VMATH
from llvmlite import ir

I1, I32, I64 = ir.IntType(1), ir.IntType(32), ir.IntType(64)
F16, F32 = np.dtype("float16"), np.dtype("float32")
_FLOAT_TYPES = {2: ir.HalfType(), 4: ir.FloatType(), 8: ir.DoubleType()}


class UnsupportedScalarOp(NotImplementedError):
    pass


# ---- types and constants -----------------------------------------------------------------------


def dtype_ok(dtype) -> bool:
    """Dtypes the scalar rules handle: bool, 8- to 64-bit ints, float16/32/64."""
    try:
        dt = np.dtype(dtype)
    except TypeError:  # e.g. the bfloat16 marker
        return False
    return dt.kind in "biu" or (dt.kind == "f" and dt.itemsize in _FLOAT_TYPES)


def ir_type(dtype) -> ir.Type:
    """The register type of ``dtype``."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return I1
    if dt.kind in "iu":
        return ir.IntType(8 * dt.itemsize)
    if dt.kind == "f" and dt.itemsize in _FLOAT_TYPES:
        return _FLOAT_TYPES[dt.itemsize]
    raise UnsupportedScalarOp(f"dtype {dt.name} has no scalar IR type")


def mem_type(dtype) -> ir.Type:
    """The in-memory type of ``dtype`` (bool is one byte)."""
    return ir.IntType(8) if np.dtype(dtype).kind == "b" else ir_type(dtype)


def const(dtype, value) -> ir.Constant:
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return ir.Constant(ir_type(dt), float(value))
    if dt.kind == "b":
        return ir.Constant(I1, int(bool(value)))
    return ir.Constant(ir_type(dt), int(np.asarray(value).astype(dt).view(f"u{dt.itemsize}")))


def to_register(b: ir.IRBuilder, value: ir.Value, dtype) -> ir.Value:
    """A loaded value (memory type) as a register value."""
    return b.icmp_unsigned("!=", value, value.type(0)) if np.dtype(dtype).kind == "b" else value


def to_memory(b: ir.IRBuilder, value: ir.Value, dtype) -> ir.Value:
    return b.zext(value, ir.IntType(8)) if np.dtype(dtype).kind == "b" else value


# ---- the rule context --------------------------------------------------------------------------


class Scalar(NamedTuple):
    b: ir.IRBuilder
    in_dtypes: tuple
    out_dtype: np.dtype

    @property
    def dt(self) -> np.dtype:  # the dtype of the (first) operand
        return self.in_dtypes[0] if self.in_dtypes else self.out_dtype

    def is_float(self) -> bool:
        return self.dt.kind == "f"

    def signed(self) -> bool:
        return self.dt.kind == "i"

    def c(self, value, dtype=None) -> ir.Constant:
        return const(self.dt if dtype is None else dtype, value)

    def intrinsic(self, name: str, *args) -> ir.Value:
        ty = args[0].type
        suffix = {ir.HalfType: "f16", ir.FloatType: "f32", ir.DoubleType: "f64"}.get(
            type(ty), f"i{getattr(ty, 'width', 0)}")
        full = f"llvm.{name}.{suffix}"
        module = self.b.module
        fn = module.globals.get(full) or ir.Function(
            module, ir.FunctionType(ty, [a.type for a in args]), full)
        return self.b.call(fn, list(args))


RULES: dict[str, Callable] = {}
FLOAT_ONLY: set = set()  # rules that need float operands
HALF_IN_FLOAT = set()  # float16 operands are widened to float32 around these


def _rule(name: str, floats_only=False, widen_half=True):
    def register(fn):
        RULES[name] = fn
        if floats_only:
            FLOAT_ONLY.add(name)
        if widen_half:
            HALF_IN_FLOAT.add(name)
        return fn
    return register


def can_emit(name: str, in_dtypes, out_dtype, params=None) -> bool:
    """Whether ``name`` has a rule for these dtypes (the fusion pass asks this)."""
    dts = [*in_dtypes, out_dtype]
    if name not in RULES or not all(dtype_ok(d) for d in dts):
        return False
    if name in FLOAT_ONLY and not all(np.dtype(d).kind == "f" for d in in_dtypes):
        return False
    if name == "bitcast_convert_type":
        return np.dtype(in_dtypes[0]).itemsize == np.dtype(out_dtype).itemsize and \
            "b" not in (np.dtype(in_dtypes[0]).kind, np.dtype(out_dtype).kind)
    return True


def emit_scalar(b: ir.IRBuilder, name: str, args, in_dtypes, out_dtype, params) -> ir.Value:
    """Emit primitive ``name`` on scalar ``args``; raises ``UnsupportedScalarOp`` without a rule."""
    in_dtypes, out_dtype = tuple(np.dtype(d) for d in in_dtypes), np.dtype(out_dtype)
    if not can_emit(name, in_dtypes, out_dtype):
        kinds = ", ".join(d.name for d in in_dtypes)
        raise UnsupportedScalarOp(f"no scalar rule for {name}({kinds}) -> {out_dtype.name}")
    params = dict(params)
    if name in HALF_IN_FLOAT and F16 in in_dtypes:
        args = [b.fpext(a, ir.FloatType()) if d == F16 else a for a, d in zip(args, in_dtypes)]
        wide = tuple(F32 if d == F16 else d for d in in_dtypes)
        out = RULES[name](Scalar(b, wide, F32 if out_dtype == F16 else out_dtype), *args,
                          **params)
        return b.fptrunc(out, ir.HalfType()) if out_dtype == F16 else out
    return RULES[name](Scalar(b, in_dtypes, out_dtype), *args, **params)


# ---- arithmetic --------------------------------------------------------------------------------


def _arith(name, fop, iop):
    @_rule(name)
    def rule(s, x, y):
        return getattr(s.b, fop if s.is_float() else iop)(x, y)
    return rule


for _name, _f, _i in (("add", "fadd", "add"), ("add_any", "fadd", "add"), ("sub", "fsub", "sub"),
                      ("mul", "fmul", "mul")):
    _arith(_name, _f, _i)


@_rule("neg")
def _neg(s, x):
    return s.b.fneg(x) if s.is_float() else s.b.sub(s.c(0), x)


def _safe_divisor(s, y):
    """(y with 0 and -1 replaced by 1, y == 0, y == -1): avoids LLVM's undefined cases."""
    zero = s.b.icmp_unsigned("==", y, s.c(0))
    minus1 = s.b.icmp_unsigned("==", y, s.c(-1)) if s.signed() else I1(0)
    return s.b.select(s.b.or_(zero, minus1), s.c(1), y), zero, minus1


@_rule("div")
def _div(s, x, y):
    if s.is_float():
        return s.b.fdiv(x, y)
    safe, zero, minus1 = _safe_divisor(s, y)  # truncating division; x / 0 == -1
    q = s.b.sdiv(x, safe) if s.signed() else s.b.udiv(x, safe)
    q = s.b.select(minus1, s.b.sub(s.c(0), x), q)
    return s.b.select(zero, s.c(-1), q)


@_rule("rem")
def _rem(s, x, y):
    if s.is_float():
        return s.b.frem(x, y)
    safe, zero, _ = _safe_divisor(s, y)  # sign of x (C fmod); x % 0 == x
    r = s.b.srem(x, safe) if s.signed() else s.b.urem(x, safe)
    return s.b.select(zero, x, r)


def _minmax(name, fcmp, icmp, bool_op):
    @_rule(name)
    def rule(s, x, y):
        b = s.b
        if s.dt.kind == "b":
            return getattr(b, bool_op)(x, y)
        if s.is_float():  # numpy: NaN if either is NaN
            pick = b.select(b.fcmp_ordered(fcmp, x, y), x, y)
            return b.select(b.fcmp_unordered("uno", x, y), b.fadd(x, y), pick)
        cmp = b.icmp_signed if s.signed() else b.icmp_unsigned
        return b.select(cmp(icmp, x, y), x, y)
    return rule


_minmax("max", ">", ">", "or_")
_minmax("min", "<", "<", "and_")


def _vmath(name, arity=1):
    @_rule(name, floats_only=True)
    def rule(s, *args):
        return VMATH[name](s.b, *args)
    return rule


for _name in ("exp", "exp2", "log", "expm1", "log1p", "tanh", "logistic", "sin", "cos", "tan",
              "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "sqrt", "rsqrt",
              "cbrt", "erf", "erfc", "erf_inv", "lgamma", "digamma", "pow", "atan2"):
    _vmath(_name)


@_rule("nextafter", floats_only=True)
def _nextafter(s, x, y):
    b = s.b
    ity = ir.IntType(8 * s.dt.itemsize)
    bits = b.bitcast(x, ity)
    up = b.xor(b.fcmp_ordered("<", x, y), b.fcmp_ordered("<", x, s.c(0)))  # |x| grows
    step = b.select(up, ity(1), ity(-1))
    nxt = b.bitcast(b.add(bits, step), x.type)
    tiny = s.intrinsic("copysign", b.bitcast(ity(1), x.type), y)
    out = b.select(b.fcmp_ordered("==", x, s.c(0)), tiny, nxt)
    out = b.select(b.fcmp_ordered("==", x, y), y, out)
    return b.select(b.fcmp_unordered("uno", x, y), b.fadd(x, y), out)


# ---- bits --------------------------------------------------------------------------------------

def _bitwise(name, op):
    RULES[name] = lambda s, x, y: getattr(s.b, op)(x, y)


for _name, _op in (("and", "and_"), ("or", "or_"), ("xor", "xor")):
    _bitwise(_name, _op)
RULES["not"] = lambda s, x: s.b.not_(x)


def _shift(name, op):
    @_rule(name)
    def rule(s, x, y):
        ok = s.b.icmp_unsigned("<", y, s.c(8 * s.dt.itemsize))  # negative y: huge unsigned
        shifted = getattr(s.b, op)(x, s.b.select(ok, y, s.c(0)))
        return s.b.select(ok, shifted, s.c(0))
    return rule


_shift("shift_left", "shl")
_shift("shift_right_logical", "lshr")


@_rule("shift_right_arithmetic")
def _sra(s, x, y):
    b, top = s.b, s.c(8 * s.dt.itemsize - 1)
    if s.signed():  # clip(y, 0, bits - 1)
        y = b.select(b.icmp_signed("<", y, s.c(0)), s.c(0), y)
        return b.ashr(x, b.select(b.icmp_signed(">", y, top), top, y))
    return b.lshr(x, b.select(b.icmp_unsigned(">", y, top), top, y))  # numpy: logical


RULES["population_count"] = lambda s, x: s.intrinsic("ctpop", x)


# ---- comparisons -------------------------------------------------------------------------------


def _compare(name, op):
    @_rule(name)
    def rule(s, x, y):
        if s.is_float():
            return s.b.fcmp_unordered(op, x, y) if op == "!=" else s.b.fcmp_ordered(op, x, y)
        return (s.b.icmp_signed if s.signed() else s.b.icmp_unsigned)(op, x, y)
    return rule


for _name, _op in (("eq", "=="), ("ne", "!="), ("lt", "<"), ("le", "<="), ("gt", ">"),
                   ("ge", ">=")):
    _compare(_name, _op)


# ---- rounding, sign, abs -----------------------------------------------------------------------

RULES["floor"] = lambda s, x: s.intrinsic("floor", x)
RULES["ceil"] = lambda s, x: s.intrinsic("ceil", x)
HALF_IN_FLOAT |= {"floor", "ceil"}
FLOAT_ONLY |= {"floor", "ceil"}


@_rule("round", floats_only=True)
def _round(s, x, rounding_method=0):
    if rounding_method == 1:
        return s.intrinsic("rint", x)  # half to even
    t = s.intrinsic("floor", s.b.fadd(s.intrinsic("fabs", x), s.c(0.5)))
    return s.intrinsic("copysign", t, x)  # half away from zero


@_rule("is_finite", floats_only=True)
def _is_finite(s, x):
    return s.b.fcmp_ordered("<", s.intrinsic("fabs", x), s.c(float("inf")))


@_rule("abs")
def _abs(s, x):
    if s.is_float():
        return s.intrinsic("fabs", x)
    if not s.signed():
        return x
    return s.b.select(s.b.icmp_signed("<", x, s.c(0)), s.b.sub(s.c(0), x), x)


@_rule("sign")
def _sign(s, x):
    b = s.b
    if s.is_float():  # 0 and NaN map to themselves
        pos = b.select(b.fcmp_ordered(">", x, s.c(0)), s.c(1.0), x)
        return b.select(b.fcmp_ordered("<", x, s.c(0)), s.c(-1.0), pos)
    if not s.signed():
        return b.zext(b.icmp_unsigned("!=", x, s.c(0)), x.type)
    pos = b.zext(b.icmp_signed(">", x, s.c(0)), x.type)
    return b.select(b.icmp_signed("<", x, s.c(0)), s.c(-1), pos)


@_rule("integer_pow")
def _integer_pow(s, x, y):
    mul = s.b.fmul if s.is_float() else s.b.mul
    acc, base, n = None, x, abs(int(y))
    while n:  # square and multiply
        if n & 1:
            acc = base if acc is None else mul(acc, base)
        n >>= 1
        if n:
            base = mul(base, base)
    acc = s.c(1) if acc is None else acc
    return s.b.fdiv(s.c(1.0), acc) if y < 0 else acc


@_rule("stop_gradient", widen_half=False)
def _identity(s, x):
    return x


# ---- select and conversions --------------------------------------------------------------------


@_rule("select_n", widen_half=False)
def _select_n(s, which, *cases):
    if len(cases) == 1:
        return cases[0]
    if s.in_dtypes[0].kind == "b":
        return s.b.select(which, cases[1], cases[0])
    out = cases[0]
    for i, case in enumerate(cases[1:], 1):
        out = s.b.select(s.b.icmp_signed("==", which, which.type(i)), case, out)
    return out


def convert(b: ir.IRBuilder, x: ir.Value, src, dst) -> ir.Value:
    """``convert_element_type`` semantics: saturating float -> int with NaN -> 0, != 0 -> bool."""
    src, dst = np.dtype(src), np.dtype(dst)
    to = ir_type(dst)
    if src == dst:
        return x
    if dst.kind == "b":
        zero = const(src, 0)
        return b.fcmp_unordered("!=", x, zero) if src.kind == "f" else b.icmp_unsigned(
            "!=", x, zero)
    if src.kind == "f":
        if dst.kind == "f":
            return b.fpext(x, to) if dst.itemsize > src.itemsize else b.fptrunc(x, to)
        if src == F16:
            x = b.fpext(x, ir.FloatType())
        op = "fptosi" if dst.kind == "i" else "fptoui"
        name = f"llvm.{op}.sat.i{to.width}.{'f64' if src.itemsize == 8 else 'f32'}"
        fn = b.module.globals.get(name) or ir.Function(
            b.module, ir.FunctionType(to, [x.type]), name)
        return b.call(fn, [x])
    if dst.kind == "f":
        return b.sitofp(x, to) if src.kind == "i" else b.uitofp(x, to)
    if to.width == x.type.width:
        return x
    if to.width < x.type.width:
        return b.trunc(x, to)
    return b.sext(x, to) if src.kind == "i" else b.zext(x, to)


@_rule("convert_element_type", widen_half=False)
def _convert(s, x, new_dtype, weak_type=False):
    return convert(s.b, x, s.in_dtypes[0], new_dtype)


@_rule("bitcast_convert_type", widen_half=False)
def _bitcast(s, x, new_dtype):
    return s.b.bitcast(x, ir_type(new_dtype))
