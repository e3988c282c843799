"""The complex scalar rules (``COMPLEX_RULES``, used by ``scalar.emit`` when an operand or the
result is complex64/128): arithmetic on the two parts (``extractvalue``/``insertvalue``, which
LLVM turns back into plain scalars), following numpy's loops (naive product, Smith's quotient,
hypot-based abs) so that results match the impl within rounding."""

from __future__ import annotations

import numpy as np

from .irtypes import F32, F64, FLOAT, PART, const, convert_complex, loop_dtype_ok, pack, parts
from .vmath import VMATH

# A complex value is a {re, im} struct; the helpers below take and return (re, im) pairs of
# scalar IR values, and rules pack the result once.


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
        d = FLOAT[F64]
        r, i = b.fpext(re, d), b.fpext(im, d)
        h = sc.intrinsic("llvm.sqrt", d, [b.fadd(b.fmul(r, r), b.fmul(i, i))])
        h = b.fptrunc(h, FLOAT[F32])
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
        (a, c), (d, e) = (parts(sc.b, z) for z in args)
        f = getattr(sc.b, op)
        return pack(sc.b, out, f(a, d), f(c, e))

    return rule


def _c_mul(sc, args, dts, out, params):
    return pack(sc.b, out, *_cmul(sc.b, *(parts(sc.b, z) for z in args)))


def _c_div(sc, args, dts, out, params):
    x, y = (parts(sc.b, z) for z in args)
    return pack(sc.b, out, *_cdiv(sc, x, y, PART[out]))


def _c_neg(sc, args, dts, out, params):
    re, im = parts(sc.b, args[0])
    return pack(sc.b, out, sc.b.fneg(re), sc.b.fneg(im))


def _c_conj(sc, args, dts, out, params):
    re, im = parts(sc.b, args[0])
    return pack(sc.b, out, re, sc.b.fneg(im))


def _c_part(i):
    return lambda sc, args, dts, out, params: sc.b.extract_value(args[0], i)


def _c_make(sc, args, dts, out, params):
    return pack(sc.b, out, *args)


def _c_abs(sc, args, dts, out, params):
    return _hypot(sc, *parts(sc.b, args[0]), out)


def _c_exp(sc, args, dts, out, params):
    """e**re * (cos im, sin im), with e**re as (e**(re/2))**2 so that the parts stay finite
    where the result is; a zero imaginary part stays exactly zero (e**x + 0j)."""
    b, part = sc.b, PART[out]
    re, im = parts(b, args[0])
    h = VMATH["exp"](b, b.fmul(re, const(part, 0.5)))
    c, s = VMATH["cos"](b, im), VMATH["sin"](b, im)
    out_re, out_im = b.fmul(b.fmul(h, c), h), b.fmul(b.fmul(h, s), h)
    return pack(b, out, out_re, b.select(b.fcmp_ordered("==", im, const(part, 0)), im, out_im))


def _log_abs(sc, re, im, part):
    """log|z|: float32 in float64 (log(re**2 + im**2) / 2); float64 as log(hi) +
    log1p((lo/hi)**2) / 2 with hi, lo the larger and smaller part magnitudes."""
    b = sc.b
    if part == F32:
        d = FLOAT[F64]
        r, i = b.fpext(re, d), b.fpext(im, d)
        half = b.fmul(VMATH["log"](b, b.fadd(b.fmul(r, r), b.fmul(i, i))), const(F64, 0.5))
        return b.fptrunc(half, FLOAT[F32])
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
    re, im = parts(b, args[0])
    return pack(b, out, _log_abs(sc, re, im, part), VMATH["atan2"](b, im, re))


def _c_sqrt(sc, args, dts, out, params):
    """Principal square root (Kahan): t = sqrt((|re| + |z|) / 2); re >= 0: (t, im / 2t), else
    (|im| / 2t, copysign(t, im)); sqrt(±0 + im·i) with im = ±0 is (0, im)."""
    b, part = sc.b, PART[out]
    re, im = parts(b, args[0])
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
    return pack(b, out, out_re, b.select(inf, im, out_im))


def _c_compare(name):
    def rule(sc, args, dts, out, params):
        b = sc.b
        (a, c), (d, e) = (parts(b, z) for z in args)
        if name == "eq":
            return b.and_(b.fcmp_ordered("==", a, d), b.fcmp_ordered("==", c, e))
        return b.or_(b.fcmp_unordered("!=", a, d), b.fcmp_unordered("!=", c, e))

    return rule


def _c_select_n(sc, args, dts, out, params):
    which, *cases = args
    b = sc.b

    def pick(c, x, y):  # part by part: no select of aggregates
        (xr, xi), (yr, yi) = parts(b, x), parts(b, y)
        return pack(b, out, b.select(c, xr, yr), b.select(c, xi, yi))

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
    acc, base, n = None, parts(b, args[0]), abs(y)
    while n:
        if n & 1:
            acc = base if acc is None else _cmul(b, acc, base)
        n >>= 1
        if n:
            base = _cmul(b, base, base)
    acc = one if acc is None else acc
    return pack(b, out, *(_cdiv(sc, one, acc, part) if y < 0 else acc))


def _c_pow(sc, args, dts, out, params):
    """x**y = exp(y log x) (numpy's general case); y == 0 gives 1, x == 0 gives 0 for a real
    y > 0 and NaN otherwise (numpy's npy_cpow). numpy's exact repeated products for small
    integer y are not reproduced: the result differs from it by rounding only."""
    b, part = sc.b, PART[out]
    (xr, xi), (yr, yi) = (parts(b, z) for z in args)
    lr, li = _log_abs(sc, xr, xi, part), VMATH["atan2"](b, xi, xr)
    w = pack(b, out, *_cmul(b, (yr, yi), (lr, li)))
    er, ei = parts(b, _c_exp(sc, [w], [out], out, params))
    zero, one, nan = const(part, 0), const(part, 1), const(part, np.nan)
    is0 = lambda re, im: b.and_(b.fcmp_ordered("==", re, zero), b.fcmp_ordered("==", im, zero))
    x0 = is0(xr, xi)
    y_pos_real = b.and_(b.fcmp_ordered(">", yr, zero), b.fcmp_ordered("==", yi, zero))
    er = b.select(x0, b.select(y_pos_real, zero, nan), er)
    ei = b.select(x0, b.select(y_pos_real, zero, nan), ei)
    y0 = is0(yr, yi)
    return pack(b, out, b.select(y0, one, er), b.select(y0, zero, ei))


def _c_convert(sc, args, dts, out, params):
    return convert_complex(sc.b, args[0], dts[0], out)


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
    "stop_gradient": lambda sc, args, dts, out, params: args[0],
    "name": lambda sc, args, dts, out, params: args[0],
}
_C_TO_PART = {"real", "imag", "abs"}  # complex -> its part dtype


def can_emit_complex(name, in_dtypes, out_dtype, params) -> bool:
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
