"""Accuracy of backend/llvm/vmath.py against float64 / long double references.

One module holds a loop kernel ``out[i] = f(a[i] [, b[i]])`` per function and dtype; each kernel
runs over ~100k inputs spanning the domain plus special values. Errors are measured

- float32: in ulps of the float32 result (reference computed in float64 or long double),
- float64: as relative error ``|got - ref| / max(|ref|, tiny)`` (reference in long double where
  numpy has one, otherwise math.* in float64 or careful float64 code below).

The bounds asserted here are the measured maxima rounded up; docs/math-accuracy.md lists them.
"""

from __future__ import annotations

import ctypes
import math

import numpy as np
import pytest
from funcgrad.backend.cpu import engine
from funcgrad.backend.llvm import builders as loops
from funcgrad.backend.llvm.vmath import ARITY, VMATH
from llvmlite import ir

N = 100_000
LD = np.longdouble


# --- references ---------------------------------------------------------------------------------


def _vec(f):
    return np.vectorize(f, otypes=[np.float64])


def _lgamma(x):
    try:
        return math.lgamma(x)
    except (ValueError, OverflowError):
        return math.inf


def _trigamma_ref(x: float) -> float:
    """Float64 trigamma: reflection, recurrence to x >= 20, asymptotic series (fsum)."""
    if math.isnan(x):
        return math.nan
    if x == math.inf:
        return 0.0
    if x <= 0 and (x == -math.inf or x == math.floor(x)):
        return math.inf
    if x < 0:
        r = x - round(x)
        return (math.pi / math.sin(math.pi * r)) ** 2 - _trigamma_ref(1 - x)
    terms = []
    while x < 20:
        terms.append(1.0 / (x * x))
        x += 1
    r2 = 1 / (x * x)
    series = r2 / x * (1 / 6 - r2 * (1 / 30 - r2 * (1 / 42 - r2 * (1 / 30 - r2 * 5 / 66))))
    return math.fsum(terms + [1 / x, 0.5 * r2, series])


def _digamma_ref(x: float) -> float:
    """Float64 digamma: reflection, recurrence to x >= 20, asymptotic series (fsum)."""
    if math.isnan(x) or x == -math.inf or (x <= 0 and x == math.floor(x)):
        return math.nan
    if x == math.inf:
        return math.inf
    if x < 0:
        r = x - round(x)
        return _digamma_ref(1 - x) - math.pi * math.cos(math.pi * r) / math.sin(math.pi * r)
    terms = []
    while x < 20:
        terms.append(-1.0 / x)
        x += 1
    r2 = 1 / (x * x)
    series = r2 * (1 / 12 - r2 * (1 / 120 - r2 * (1 / 252 - r2 * (1 / 240 - r2 / 132))))
    return math.fsum(terms + [math.log(x), -0.5 / x, -series])


def _erfinv_ref(y: float) -> float:
    """Float64 erfinv by Newton on erf (|y| <= 1/2) or on erfc (tails, 1 - |y| is exact)."""
    if math.isnan(y) or abs(y) > 1:
        return math.nan
    if abs(y) == 1:
        return math.copysign(math.inf, y)
    a = abs(y)
    x = math.sqrt(-math.log((1 - a) * (1 + a))) * 0.8 if a > 0.5 else a * 0.886
    for _ in range(60):
        g = (math.erf(x) - a) if a <= 0.5 else ((1 - a) - math.erfc(x))
        step = g / (2 / math.sqrt(math.pi) * math.exp(-x * x))
        x -= step
        if abs(step) <= 1e-17 * abs(x):
            break
    return math.copysign(x, y)


def _pow_ref(x, y):
    with np.errstate(all="ignore"):
        return np.power(x.astype(LD), y.astype(LD))


def _ld(f):
    def ref(*xs):
        with np.errstate(all="ignore"):
            return f(*[x.astype(LD) for x in xs])

    return ref


def _atanh_ref(x):
    with np.errstate(all="ignore"):
        return np.arctanh(x.astype(LD))


_logistic_ref = _ld(lambda x: 1 / (1 + np.exp(-x)))
_erf = _vec(math.erf)
_erfc = _vec(math.erfc)


# name -> (reference on float64 arrays, sampling ranges (lo, hi[, "log"]) for each argument)
REFS = {
    "exp": (_ld(np.exp), [[(-110, 100), (-2, 2), (-1e-6, 1e-6), (-760, 720)]]),
    "exp2": (_ld(np.exp2), [[(-160, 140), (-2, 2), (-1080, 1030)]]),
    "expm1": (_ld(np.expm1), [[(-30, 100), (-1, 1), (-1e-5, 1e-5), (-60, 720)]]),
    "log": (_ld(np.log), [[(0, 1e38, "log"), (0.5, 2), (1e-45, 1e-37, "log")]]),
    "log2": (_ld(np.log2), [[(0, 1e38, "log"), (0.5, 2)]]),
    "log1p": (_ld(np.log1p), [[(-1, 1e38, "log"), (-0.5, 0.5), (-1e-6, 1e-6), (-1, -0.9)]]),
    "tanh": (_ld(np.tanh), [[(-12, 12), (-1, 1), (-1e-4, 1e-4), (-30, 30)]]),
    "logistic": (_logistic_ref, [[(-110, 110), (-5, 5), (-760, 760)]]),
    "sin": (_ld(np.sin), [[(-10, 10), (-1e4, 1e4), (-1e-3, 1e-3)]]),
    "cos": (_ld(np.cos), [[(-10, 10), (-1e4, 1e4), (-1e-3, 1e-3)]]),
    "tan": (_ld(np.tan), [[(-10, 10), (-1e4, 1e4), (-1e-3, 1e-3)]]),
    "atan": (_ld(np.arctan), [[(-4, 4), (-1e6, 1e6, "log"), (-1e-3, 1e-3)]]),
    "asin": (_ld(np.arcsin), [[(-1, 1), (-1e-3, 1e-3), (0.99, 1)]]),
    "acos": (_ld(np.arccos), [[(-1, 1), (-1e-3, 1e-3), (0.99, 1), (-1, -0.99)]]),
    "sinh": (_ld(np.sinh), [[(-90, 90), (-2, 2), (-1e-4, 1e-4), (-712, 712)]]),
    "cosh": (_ld(np.cosh), [[(-90, 90), (-2, 2), (-712, 712)]]),
    "asinh": (_ld(np.arcsinh), [[(-1e30, 1e30, "log"), (-2, 2), (-1e-4, 1e-4)]]),
    "acosh": (_ld(np.arccosh), [[(1, 1e30, "log"), (1, 3)]]),
    "atanh": (_atanh_ref, [[(-1, 1), (-1e-4, 1e-4), (0.99, 1)]]),
    "erf": (_erf, [[(-5, 5), (-1, 1), (-1e-4, 1e-4)]]),
    "erfc": (_erfc, [[(-5, 10), (-1, 1), (8, 27)]]),
    "erf_inv": (_vec(_erfinv_ref), [[(-1, 1), (-1e-3, 1e-3), (0.999, 1), (-1, -0.99999)]]),
    "pow": (_pow_ref, [[(0, 10), (-5, 5), (0, 1e10, "log")], [(-10, 10), (-3, 3), (-30, 30)]]),
    "cbrt": (_ld(np.cbrt), [[(-1e30, 1e30, "log"), (-10, 10), (-1e-40, 1e-40)]]),
    "lgamma": (_vec(_lgamma), [[(0, 40), (0, 1e30, "log"), (-10, 0)]]),
    "digamma": (_vec(_digamma_ref), [[(0, 40), (0.01, 1e30, "log"), (-10, 0)]]),
    "trigamma": (_vec(_trigamma_ref), [[(0, 40), (0.01, 1e30, "log"), (-10, 0)]]),
    "sqrt": (_ld(np.sqrt), [[(0, 1e30, "log"), (0, 4)]]),
    "rsqrt": (_ld(lambda x: 1 / np.sqrt(x)), [[(1e-30, 1e30, "log"), (0.1, 4)]]),
    "atan2": (_ld(np.arctan2), [[(-10, 10), (-1e-3, 1e-3)], [(-10, 10), (-1e3, 1e3)]]),
}

# name -> (max ulp float32, max relative error float64): measured maxima, rounded up
# (lgamma/digamma: error against max(|ref|, 1), see ABSOLUTE_BELOW_ONE).
BOUNDS = {
    "exp": (1, 5e-16),
    "exp2": (1, 5e-16),
    "expm1": (2, 5e-16),
    "log": (1, 5e-16),
    "log2": (2, 5e-16),
    "log1p": (3, 5e-16),
    "tanh": (3, 5e-16),
    "logistic": (3, 5e-16),
    "sin": (2, 5e-16),
    "cos": (2, 5e-16),
    "tan": (3, 5e-16),
    "atan": (3, 5e-16),
    "asin": (3, 5e-16),
    "acos": (2, 5e-16),
    "sinh": (3, 5e-16),
    "cosh": (3, 5e-16),
    "asinh": (3, 5e-16),
    "acosh": (3, 5e-16),
    "atanh": (3, 5e-16),
    "erf": (2, 5e-16),
    "erfc": (4.5, 8e-16),
    "erf_inv": (3, 5e-16),
    "pow": (1, 1e-13),
    "cbrt": (3, 5e-16),
    "lgamma": (24, 1e-14),
    "digamma": (10, 4e-15),
    "trigamma": (6, 8e-12),  # f64: the impl's 4-term series at x >= 10
    "sqrt": (0.5, 2.3e-16),
    "rsqrt": (2, 5e-16),
    "atan2": (3, 5e-16),
}

SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -0.5, 2.0, 1e-30, -1e-30]


# --- the kernels --------------------------------------------------------------------------------

DTYPES = {np.float32: ir.FloatType(), np.float64: ir.DoubleType()}


def _kernel_name(name, dtype):
    return f"k_{name}_{np.dtype(dtype).itemsize * 8}"


def _emit_kernel(module, name, dtype):
    ty, ptr = DTYPES[dtype], ir.PointerType()
    fnty = ir.FunctionType(ir.VoidType(), [ptr, ptr, ptr, ir.IntType(64)])
    fn = ir.Function(module, fnty, _kernel_name(name, dtype))
    engine.set_function_attributes(fn, noalias=True, nocapture=True)
    a, b, out, n = fn.args
    bld = ir.IRBuilder(fn.append_basic_block("entry"))
    with loops.for_range(bld, n, vectorize=True) as i:
        args = [bld.load(bld.gep(p, [i], source_etype=ty), typ=ty) for p in (a, b)[: ARITY[name]]]
        bld.store(VMATH[name](bld, *args), bld.gep(out, [i], source_etype=ty))
    bld.ret_void()


@pytest.fixture(scope="module")
def compiled():
    module = engine.new_module("vmath_accuracy")
    for name in VMATH:
        for dtype in DTYPES:
            _emit_kernel(module, name, dtype)
    return engine.compile_module(str(module), name="vmath_accuracy")


def run_kernel(compiled, name, dtype, *xs):
    xs = [np.ascontiguousarray(x, dtype=dtype) for x in xs]
    out = np.empty_like(xs[0])
    ptrs = [x.ctypes.data for x in xs] + [0] * (2 - len(xs))
    proto = ctypes.CFUNCTYPE(
        None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64
    )
    proto(compiled.address(_kernel_name(name, dtype)))(*ptrs, out.ctypes.data, out.size)
    return out


# --- inputs and error measures ------------------------------------------------------------------


def _sample(rng, ranges, dtype, n):
    parts = []
    for r in ranges:
        lo, hi = r[0], r[1]
        k = n // len(ranges)
        if len(r) == 3:  # log-uniform magnitude, sign from lo
            tiny = max(abs(lo), np.finfo(dtype).tiny) if lo > 0 else np.finfo(dtype).tiny
            mag = np.exp(rng.uniform(np.log(tiny), np.log(hi), k))
            sign = np.where(rng.random(k) < 0.5, -1, 1) if lo < 0 else 1
            parts.append(mag * sign)
        else:
            parts.append(rng.uniform(lo, hi, k))
    with np.errstate(over="ignore"):
        return np.concatenate(parts).astype(dtype)


def inputs(name, dtype, seed=0):
    rng = np.random.default_rng(seed)
    _, ranges = REFS[name]
    cols = [_sample(rng, r, dtype, N) for r in ranges]
    n = min(len(c) for c in cols)
    cols = [c[:n] for c in cols]
    if len(cols) == 1:
        return [np.concatenate([cols[0], np.array(SPECIALS, dtype)])]
    sx, sy = np.meshgrid(np.array(SPECIALS, dtype), np.array(SPECIALS, dtype))
    return [np.concatenate([cols[0], sx.ravel()]), np.concatenate([cols[1], sy.ravel()])]


def ulp32(ref):
    mag = np.abs(ref).astype(np.float64)
    exp = np.floor(np.log2(np.maximum(mag, 2.0**-126)))
    return 2.0 ** (exp - 23)


# lgamma and digamma have roots where relative error is unbounded: their error is measured
# against max(|ref|, 1) (absolute error below 1, relative above).
ABSOLUTE_BELOW_ONE = {"lgamma", "digamma"}


def errors(got, ref, dtype, floor=0.0):
    """(error array for finite references, mask of mismatched non-finite values)."""
    with np.errstate(over="ignore", invalid="ignore"):
        ref_c = np.asarray(ref, dtype=np.float64)
        ref_r = ref_c.astype(dtype).astype(np.float64)  # what the ideal result rounds to
    finite = np.isfinite(ref_r)
    bad = ~finite & ~((np.isnan(ref_r) & np.isnan(got)) | (ref_r == got))
    got64 = got.astype(np.float64)
    diff = np.abs(got64[finite] - ref_c[finite])
    scale = np.maximum(np.abs(ref_c[finite]), floor)
    if dtype == np.float32:
        return diff / ulp32(scale), bad
    return diff / np.maximum(scale, np.finfo(np.float64).tiny), bad


def measure(compiled, name, dtype, mask=None):
    xs = inputs(name, dtype)
    got = run_kernel(compiled, name, dtype, *xs)
    ref = REFS[name][0](*[x.astype(np.float64) for x in xs])
    err, bad = errors(got, ref, dtype, 1.0 if name in ABSOLUTE_BELOW_ONE else 0.0)
    return err, bad, xs, got, ref


# --- tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", sorted(VMATH))
def test_accuracy(compiled, name, dtype):
    err, bad, xs, got, ref = measure(compiled, name, dtype)
    x0 = xs[0]
    assert not bad.any(), f"{name}: wrong special values at {x0[bad][:8]} -> {got[bad][:8]}"
    bound = BOUNDS[name][0 if dtype == np.float32 else 1]
    worst = np.nanmax(err, initial=0.0) if not np.isnan(err).any() else np.inf
    assert worst <= bound, f"{name} {np.dtype(dtype).name}: max error {worst:.3g} > {bound}"


@pytest.mark.parametrize("name", ["exp", "tanh", "sin", "log", "erf", "logistic"])
def test_loop_vectorises_without_libm_calls(compiled, name):
    body = _function_ir(compiled.ir_opt, _kernel_name(name, np.float32))
    assert "<16 x float>" in body
    for call in ("@expf", "@llvm.exp.", "@tanhf", "@sinf", "@llvm.sin.", "@logf", "@llvm.log."):
        assert call not in body, f"{name} kernel calls {call}"


def _function_ir(text, fn_name):
    start = text.index(f"@{fn_name}(")
    return text[start : text.index("\n}\n", start)]


@pytest.mark.parametrize("name", ["exp", "log1p", "atan2", "erf_inv", "pow", "cbrt", "lgamma"])
def test_explicit_vector_types(name):
    """The same emitters accept <8 x double> values; results match the scalar kernels."""
    vty = ir.VectorType(ir.DoubleType(), 8)
    module = engine.new_module("vec")
    ptr = ir.PointerType()
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [ptr, ptr, ptr]), "f")
    bld = ir.IRBuilder(fn.append_basic_block())
    args = [bld.load(p, typ=vty, align=8) for p in fn.args[: ARITY[name]]]  # numpy: 8-aligned
    bld.store(VMATH[name](bld, *args), fn.args[2], align=8)
    bld.ret_void()
    cm = engine.compile_module(str(module), name="vec")
    xs = [np.linspace(0.1, 0.9, 8), np.linspace(-2.0, 3.0, 8)]
    out = np.empty(8)
    proto = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
    proto(cm.address("f"))(xs[0].ctypes.data, xs[1].ctypes.data, out.ctypes.data)
    ref = np.asarray(REFS[name][0](*xs[: ARITY[name]]), np.float64)
    np.testing.assert_allclose(out, ref, rtol=1e-14, atol=1e-14)


def test_signed_zeros_and_saturation(compiled):
    f32 = np.float32
    z = np.array([0.0, -0.0], f32)
    for name in ("sin", "tan", "tanh", "expm1", "log1p", "atan", "asin", "sinh", "erf", "cbrt"):
        got = run_kernel(compiled, name, f32, z)
        assert list(np.signbit(got)) == [False, True], name
    big = np.array([50.0, -50.0, 1e30, -1e30], f32)
    np.testing.assert_array_equal(run_kernel(compiled, "tanh", f32, big), [1, -1, 1, -1])
    np.testing.assert_allclose(run_kernel(compiled, "logistic", f32, big), [1, np.exp(-50), 1, 0])
    np.testing.assert_array_equal(run_kernel(compiled, "erf", f32, big), [1, -1, 1, -1])
    np.testing.assert_array_equal(
        run_kernel(compiled, "exp", f32, big * 10), [np.inf, 0, np.inf, 0]
    )


def test_atan2_quadrants(compiled):
    y = np.array([0.0, -0.0, 0.0, -0.0, np.inf, np.inf, -np.inf, 1.0, -1.0])
    x = np.array([0.0, 0.0, -0.0, -0.0, np.inf, -np.inf, -np.inf, -0.0, -np.inf])
    got = run_kernel(compiled, "atan2", np.float64, y, x)
    np.testing.assert_array_equal(got, np.arctan2(y, x))
    assert list(np.signbit(got)) == list(np.signbit(np.arctan2(y, x)))


def test_wrong_types_fail_in_python():
    module = engine.new_module("bad")
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [ir.IntType(32)]), "f")
    bld = ir.IRBuilder(fn.append_basic_block())
    with pytest.raises(TypeError, match="float/double"):
        VMATH["exp"](bld, fn.args[0])
    fn2 = ir.Function(
        module, ir.FunctionType(ir.VoidType(), [ir.FloatType(), ir.DoubleType()]), "g"
    )
    bld2 = ir.IRBuilder(fn2.append_basic_block())
    with pytest.raises(TypeError, match="differ"):
        VMATH["pow"](bld2, *fn2.args)


def test_table_names():
    expected = {
        "exp",
        "exp2",
        "expm1",
        "log",
        "log2",
        "log1p",
        "tanh",
        "logistic",
        "sin",
        "cos",
        "tan",
        "atan",
        "atan2",
        "asin",
        "acos",
        "sinh",
        "cosh",
        "asinh",
        "acosh",
        "atanh",
        "erf",
        "erfc",
        "erf_inv",
        "pow",
        "cbrt",
        "lgamma",
        "digamma",
        "trigamma",
        "sqrt",
        "rsqrt",
    }
    assert set(VMATH) == expected
