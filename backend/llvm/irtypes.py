"""Types, constants and conversions of the scalar rules (``scalar``, ``scalar_complex``): numpy
dtypes as LLVM register and storage types, and ``convert`` with numpy's semantics. A complex
value is a ``{re, im}`` literal struct in registers (``parts``/``pack``), a (re, im) pair in
memory (numpy's layout)."""

from __future__ import annotations

import numpy as np
from llvmlite import ir

I1 = ir.IntType(1)
F16, F32, F64 = np.dtype("float16"), np.dtype("float32"), np.dtype("float64")
C64, C128 = np.dtype("complex64"), np.dtype("complex128")
FLOAT = {F16: ir.HalfType(), F32: ir.FloatType(), F64: ir.DoubleType()}
PART = {C64: F32, C128: F64}  # complex dtype -> dtype of its real and imaginary parts
COMPLEX = {c: ir.LiteralStructType([FLOAT[f], FLOAT[f]]) for c, f in PART.items()}


class UnsupportedScalarOp(NotImplementedError):
    """``emit`` was asked for a primitive/dtype combination the table does not cover."""


# ---- types and constants -------------------------------------------------------------------------


def dtype_ok(dtype) -> bool:
    """Dtypes the rules handle: bool, 8- to 64-bit ints, float16/32/64. (A code generator may
    accept fewer: the CPU one leaves float16 to the fallback path.)"""
    try:
        dt = np.dtype(dtype)
    except TypeError:  # e.g. the bfloat16 marker
        return False
    return dt in FLOAT or (dt.kind in "iu" and dt.itemsize in (1, 2, 4, 8)) or dt.kind == "b"


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
    if dt in COMPLEX:
        return COMPLEX[dt]
    if dt.kind == "f":
        if dt not in FLOAT:
            raise UnsupportedScalarOp(f"dtype {dt.name} has no scalar IR type")
        return FLOAT[dt]
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


def is_float(dt) -> bool:
    return np.dtype(dt).kind == "f"


def is_signed(dt) -> bool:
    return np.dtype(dt).kind == "i"


def convert(b: ir.IRBuilder, x, src, dst):
    """numpy/XLA conversion semantics: float->int saturates and maps NaN to 0, != 0 -> bool;
    complex -> real types converts the real part (the impl's ``np.real`` first)."""
    src, dst = np.dtype(src), np.dtype(dst)
    sc, ty = Emitter(b), ir_type(dst)
    if src == dst:
        return x
    if src in PART or dst in PART:
        return convert_complex(b, x, src, dst)
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
            x = b.fpext(x, FLOAT[F32])
        name = "llvm.fptosi.sat" if dst.kind == "i" else "llvm.fptoui.sat"
        return sc.intrinsic(name, ty, [x], [ty, x.type])
    if src.kind == "b":  # an i1 register, whatever the storage width
        return b.zext(x, ty)
    if dst.itemsize < src.itemsize:
        return b.trunc(x, ty)
    if dst.itemsize == src.itemsize:
        return x
    return b.sext(x, ty) if src.kind == "i" else b.zext(x, ty)


def convert_complex(b, x, src, dst):
    if src in PART and dst in PART:
        re, im = parts(b, x)
        return pack(
            b, dst, convert(b, re, PART[src], PART[dst]), convert(b, im, PART[src], PART[dst])
        )
    if src in PART:  # complex -> real, int or bool: the real part (the impl's np.real)
        return convert(b, b.extract_value(x, 0), PART[src], dst)
    return pack(b, dst, convert(b, x, src, PART[dst]), const(PART[dst], 0))


def parts(b, z):
    return b.extract_value(z, 0), b.extract_value(z, 1)


def pack(b, dtype, re, im):
    z = b.insert_value(ir.Constant(ir_type(dtype), ir.Undefined), re, 0)
    return b.insert_value(z, im, 1)
