"""Op table rows: elementwise operations (see ``op_table.py``)."""

from __future__ import annotations

import math

import numpy as np

import funcgrad.lax as lax
import funcgrad.numpy as fnp

from .op_inputs import BOOL, F16, F32, F64, I32, I64, U8
from .op_refs import int_div, lgamma, saturating_cast, sps, vec
from .op_spec import BCAST_SHAPES, BIN_SHAPES, FI, FIB, UN_SHAPES, Op, binary, composite, unary


def _logistic(x):
    return 1 / (1 + np.exp(-x))


def _shift_left(x, y):
    return np.where((y >= 0) & (y < 32), np.left_shift(x, np.clip(y, 0, 31)), 0).astype(x.dtype)


def _shift_right_logical(x, y):
    u = np.right_shift(x.view(np.uint32), np.clip(y, 0, 31).astype(np.uint32))
    return np.where((y >= 0) & (y < 32), u, 0).astype(np.uint32).view(np.int32)


def _popcount(x):
    return np.bitwise_count(x.view(f"u{x.dtype.itemsize}")).astype(x.dtype)


_F_UN = {"cuda": (F32,)}  # float32 elementwise rows lowered to CUDA

ELEMENTWISE = [
    # -- unary math
    unary("neg", lax.neg, np.negative, dtypes=FI, cuda=FI),
    unary("exp", lax.exp, np.exp, dtypes=(F32, F64), **_F_UN),
    unary("exp2", lax.exp2, np.exp2, **_F_UN),
    unary("log", lax.log, np.log, (0.01, 10.0), grad_kinds=("pos",), **_F_UN),
    unary("expm1", lax.expm1, np.expm1, **_F_UN),
    unary("log1p", lax.log1p, np.log1p, (-0.9, 5.0), grad_kinds=("pos",), **_F_UN),
    unary("tanh", lax.tanh, np.tanh, **_F_UN),
    unary("logistic", lax.logistic, _logistic, **_F_UN),
    unary("sin", lax.sin, np.sin, **_F_UN),
    unary("cos", lax.cos, np.cos, **_F_UN),
    unary("tan", lax.tan, np.tan, (-1.2, 1.2), grad_kinds=("unit",), **_F_UN),
    unary("asin", lax.asin, np.arcsin, (-0.95, 0.95), grad_kinds=("unit",), **_F_UN),
    unary("acos", lax.acos, np.arccos, (-0.95, 0.95), grad_kinds=("unit",), **_F_UN),
    unary("atan", lax.atan, np.arctan, **_F_UN),
    unary("sinh", lax.sinh, np.sinh, **_F_UN),
    unary("cosh", lax.cosh, np.cosh, **_F_UN),
    unary("asinh", lax.asinh, np.arcsinh, **_F_UN),
    unary("acosh", lax.acosh, np.arccosh, (1.0, 5.0), grad_kinds=("gt1",), **_F_UN),
    unary("atanh", lax.atanh, np.arctanh, "unit", **_F_UN),
    unary("sqrt", lax.sqrt, np.sqrt, (0.0, 9.0), grad_kinds=("pos",), **_F_UN),
    unary("rsqrt", lax.rsqrt, lambda x: 1 / np.sqrt(x), (0.1, 9.0), grad_kinds=("pos",), **_F_UN),
    unary("cbrt", lax.cbrt, np.cbrt, (-3.0, 3.0), grad_kinds=("nonzero",), **_F_UN),
    unary("abs", lax.abs, np.abs, grad_kinds=("nonzero",), dtypes=FI, cuda=FI),
    unary("sign", lax.sign, np.sign, "ties", diff=False, dtypes=FI, cuda=FI),
    unary("floor", lax.floor, np.floor, diff=False, **_F_UN),
    unary("ceil", lax.ceil, np.ceil, diff=False, **_F_UN),
    unary(
        "round_away",
        lax.round,
        lambda x: np.sign(x) * np.floor(np.abs(x) + 0.5),
        "round",
        diff=False,
        **_F_UN,
    ),
    unary("round_even", lambda x: lax.round(x, 1), np.round, "round", diff=False, **_F_UN),
    composite(
        "round_half",
        lambda x: lax.round(x * 0.5),
        lambda x: np.sign(x) * np.floor(np.abs(x * 0.5) + 0.5),
        UN_SHAPES,
        ("small_int",),
    ),
    unary("is_finite", lax.is_finite, np.isfinite, "wide", diff=False, **_F_UN),
    unary("erf", lax.erf, vec(math.erf), **_F_UN),
    unary("erfc", lax.erfc, vec(math.erfc), **_F_UN),
    unary(
        "erf_inv", lax.erf_inv, lambda x: sps.erfinv(x), "unit", tol=1e-4, grad_tol=1e-4, **_F_UN
    ),
    unary(
        "lgamma",
        lax.lgamma,
        lgamma,
        (0.1, 6.0),
        tol=1e-4,
        grad_tol=1e-4,
        grad_kinds=("pos",),
        cuda_tol=1e-5,
        **_F_UN,
    ),
    unary(
        "digamma",
        lax.digamma,
        lambda x: sps.digamma(x),
        (0.1, 6.0),
        tol=1e-4,
        order=1,
        grad_tol=1e-4,
        grad_kinds=("pos",),
        cuda_tol=1e-5,
        **_F_UN,
    ),
    unary("integer_pow3", lambda x: lax.integer_pow(x, 3), lambda x: x**3, dtypes=FI, **_F_UN),
    unary(
        "integer_pow_neg2",
        lambda x: lax.integer_pow(x, -2),
        lambda x: x**-2.0,
        "nonzero",
        **_F_UN,
    ),
    unary("integer_pow0", lambda x: lax.integer_pow(x, 0), lambda x: np.ones_like(x)),
    unary("square", lax.square, np.square, dtypes=FI, **_F_UN),
    unary("fnp.reciprocal", fnp.reciprocal, np.reciprocal, "nonzero"),
    # -- binary arithmetic (strict lax: same shapes and dtypes)
    binary("add", lax.add, np.add, dtypes=(F32, I32, F64, I64), cuda=(F32, I32, F16)),
    binary("sub", lax.sub, np.subtract, dtypes=FI, **_F_UN),
    binary("mul", lax.mul, np.multiply, dtypes=FI, cuda=FI),
    binary("div", lax.div, np.divide, ("normal", "nonzero"), **_F_UN),
    binary("div_int", lax.div, int_div, ("small_int", "nonzero"), diff=False, dtypes=(I32,)),
    # integer division by zero included: compiled code must agree with eager evaluation
    binary("div_int_any", lax.div, None, ((-9, 9),), diff=False, dtypes=(I32,), cuda=(I32,)),
    binary("rem", lax.rem, np.fmod, ("normal", "nonzero"), **_F_UN),
    binary("rem_int", lax.rem, np.fmod, ("small_int", "nonzero"), diff=False, dtypes=(I32,)),
    binary("rem_any", lax.rem, None, ((-9, 9),), diff=False, dtypes=FI, cuda=(I32,)),
    binary("pow", lax.pow, np.power, ("pos", "normal")),
    binary("max", lax.max, np.maximum, ("distinct",), dtypes=FI, cuda=FI),
    binary("min", lax.min, np.minimum, ("distinct",), dtypes=FI, **_F_UN),
    binary("max_ties", lax.max, np.maximum, ("ties",), diff=False),
    binary("atan2", lax.atan2, np.arctan2, ("nonzero",), **_F_UN),
    binary("nextafter", lax.nextafter, np.nextafter, diff=False, native=False, **_F_UN),
    # -- bitwise (integers and bools)
    binary(
        "and",
        lax.bitwise_and,
        np.bitwise_and,
        ((-99, 99),),
        diff=False,
        dtypes=(I32, U8, BOOL),
        cuda=(I32,),
    ),
    binary(
        "or",
        lax.bitwise_or,
        np.bitwise_or,
        ((-99, 99),),
        diff=False,
        dtypes=(I32, U8, BOOL),
        cuda=(I32,),
    ),
    binary(
        "xor",
        lax.bitwise_xor,
        np.bitwise_xor,
        ((-99, 99),),
        diff=False,
        dtypes=(I32, BOOL),
        cuda=(I32,),
    ),
    unary(
        "not",
        lax.bitwise_not,
        np.invert,
        (-99, 99),
        diff=False,
        dtypes=(I32, U8, BOOL),
        cuda=(I32,),
    ),
    binary(
        "shift_left",
        lax.shift_left,
        _shift_left,
        ("small_int", "shift"),
        diff=False,
        dtypes=(I32,),
        cuda=(I32,),
    ),
    binary(
        "shift_right_arithmetic",
        lax.shift_right_arithmetic,
        lambda x, y: np.right_shift(x, np.clip(y, 0, 31)),
        ("small_int", "shift"),
        diff=False,
        dtypes=(I32,),
        cuda=(I32,),
    ),
    binary(
        "shift_right_logical",
        lax.shift_right_logical,
        _shift_right_logical,
        ("small_int", "shift"),
        diff=False,
        dtypes=(I32,),
        cuda=(I32,),
    ),
    unary(
        "population_count",
        lax.population_count,
        _popcount,
        (-999, 999),
        diff=False,
        dtypes=(I32, U8),
        cuda=(I32,),
    ),
    # -- comparisons (ties make equality interesting)
    *[
        binary(n, getattr(lax, n), f, ("ties",), diff=False, dtypes=FIB, cuda=cuda)
        for n, f, cuda in (
            ("eq", np.equal, (F32,)),
            ("ne", np.not_equal, (F32,)),
            ("lt", np.less, (F32, U8)),
            ("le", np.less_equal, (F32,)),
            ("gt", np.greater, (F32,)),
            ("ge", np.greater_equal, (F32,)),
        )
    ],
    # -- numpy-level (broadcasting and promotion) wrappers
    binary("fnp.add", fnp.add, np.add, shapes=BCAST_SHAPES),
    binary("fnp.multiply", fnp.multiply, np.multiply, shapes=BCAST_SHAPES),
    binary(
        "fnp.true_divide",
        fnp.true_divide,
        np.true_divide,
        ("normal", "nonzero"),
        shapes=BCAST_SHAPES,
    ),
    binary(
        "fnp.floor_divide",
        fnp.floor_divide,
        np.floor_divide,
        ("small_int", "nonzero"),
        diff=False,
        dtypes=FI,
        shapes=BCAST_SHAPES + BIN_SHAPES,
    ),
    binary(
        "fnp.remainder",
        fnp.remainder,
        np.remainder,
        ("small_int", "nonzero"),
        diff=False,
        dtypes=FI,
        shapes=BCAST_SHAPES,
    ),
    binary(
        "fnp.power",
        fnp.power,
        np.power,
        ("pos", "normal"),
        shapes=BCAST_SHAPES + BIN_SHAPES,
        cuda=(F32,),
        cuda_tol=1e-5,
    ),
    binary(
        "fnp.power_int",
        fnp.power,
        np.power,
        ("small_int", "idx0:4"),
        diff=False,
        dtypes=(I32,),
        shapes=BCAST_SHAPES,
    ),
    binary("fnp.maximum", fnp.maximum, np.maximum, ("distinct",), shapes=BCAST_SHAPES),
    binary("fnp.less", fnp.less, np.less, ("ties",), diff=False, shapes=BCAST_SHAPES),
    binary("fnp.hypot", fnp.hypot, np.hypot, ("nonzero",), shapes=BCAST_SHAPES),
    binary("fnp.logaddexp", fnp.logaddexp, np.logaddexp, shapes=BCAST_SHAPES),
    # -- select / where
    Op(
        "select",
        lax.select,
        np.where,
        [((2, 3),) * 3, ((),) * 3, ((0, 2),) * 3],
        ("bool", "normal"),
    ),
    Op(
        "select_n3",
        lax.select_n,
        lambda w, *c: np.choose(w, c),
        [((2, 3),) * 4, ((),) * 4],
        ("which3", "normal"),
    ),
    Op("select_scalar_pred", lax.select, np.where, [((), (2, 3), (2, 3))], ("bool", "normal")),
    Op(
        "fnp.where",
        fnp.where,
        np.where,
        [((3, 1), (1, 4), ()), ((2,), (2,), (2,))],
        ("bool", "normal"),
    ),
    # -- casts: float->int saturates (never wraps), NaN -> 0
    unary(
        "convert_f2i32_saturating",
        lambda x: lax.convert_element_type(x, np.int32),
        lambda x: saturating_cast(x, np.int32),
        "wide",
        diff=False,
        dtypes=(F32, F64),
        cuda=(F32,),
    ),
    unary(
        "convert_f2i64_saturating",
        lambda x: lax.convert_element_type(x, np.int64),
        lambda x: saturating_cast(x, np.int64),
        "wide",
        diff=False,
        dtypes=(F64,),
    ),
    unary(
        "convert_f2u8_saturating",
        lambda x: lax.convert_element_type(x, np.uint8),
        lambda x: saturating_cast(x, np.uint8),
        "wide",
        diff=False,
    ),
    unary(
        "convert_f2i8_saturating",
        lambda x: lax.convert_element_type(x, np.int8),
        lambda x: saturating_cast(x, np.int8),
        "wide",
        diff=False,
    ),
    unary(
        "convert_i2f",
        lambda x: lax.convert_element_type(x, np.float32),
        lambda x: x.astype(np.float32),
        "small_int",
        diff=False,
        dtypes=(I32, BOOL),
        cuda=(I32,),
    ),
    unary(
        "convert_to_bool",
        lambda x: lax.convert_element_type(x, np.bool_),
        lambda x: x != 0,
        "ties",
        diff=False,
        dtypes=FI,
        **_F_UN,
    ),
    unary(
        "convert_f32_f16",
        lambda x: lax.convert_element_type(x, np.float16),
        lambda x: x.astype(np.float16),
        tol=1e-3,
        grad_tol=5e-2,  # float16 intermediates: a float16-sized step and tolerance
        grad_eps=1e-2,
        cuda_tol=1e-3,
        native=False,  # the CPU codegen has no float16: numpy fallback
        **_F_UN,
    ),
    unary(
        "bitcast_f2i",
        lambda x: lax.bitcast_convert_type(x, np.int32),
        lambda x: x.view(np.int32),
        diff=False,
        **_F_UN,
    ),
]
