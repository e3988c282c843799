"""Vectorisable transcendental functions emitted as inline LLVM IR (no libm calls).

Every function in ``VMATH`` takes an ``ir.IRBuilder`` and one or two values of type ``float``,
``double``, ``<N x float>`` or ``<N x double>`` and returns a value of the same type. The same
Python code emits the scalar and the vector form (everything is decided by the value's type), and
the emitted code uses only instructions the loop vectoriser widens: ``fma``, ``select``,
``rint``/``fabs``/``copysign``/``sqrt`` intrinsics, bit casts and integer shifts. Calls to
``expf``/``llvm.exp`` would be scalarised 16 times per vector (PERF-NOTES 3).

>>> from llvmlite import ir
>>> m = ir.Module("m")
>>> fn = ir.Function(m, ir.FunctionType(ir.FloatType(), [ir.FloatType()]), "f")
>>> b = ir.IRBuilder(fn.append_basic_block())
>>> _ = b.ret(VMATH["tanh"](b, fn.args[0]))

The kernels live by family in ``vmath_exp`` (exponentials, logarithms, hyperbolic functions),
``vmath_trig`` and ``vmath_special`` (error and gamma functions, powers and roots), written with
the kit of ``vmath_kit``; their polynomial coefficients (``vmath_coeffs``) are Chebyshev fits
(mpmath ``chebyfit`` at 90 digits, rounded to float64) of the reduced kernels named in each
function; measured accuracy is in docs/math-accuracy.md.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from .vmath_exp import (
    _acosh,
    _asinh,
    _atanh,
    _cosh,
    _exp,
    _exp2,
    _expm1,
    _log,
    _log1p,
    _log2,
    _logistic,
    _sinh,
    _tanh,
)
from .vmath_kit import binary, unary
from .vmath_special import (
    _cbrt,
    _digamma,
    _erf,
    _erf_inv,
    _erfc,
    _lgamma,
    _pow,
    _rsqrt,
    _sqrt,
    _trigamma,
)
from .vmath_trig import _acos, _asin, _atan, _atan2, _cos, _sin, _tan

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
    **{f.__name__.lstrip("_"): unary(f) for f in _UNARY},
    **{f.__name__.lstrip("_"): binary(f) for f in _BINARY},
}
"""name -> emit(builder, *values) -> value, for float/double scalars and vectors."""

ARITY = {name: (2 if name in ("atan2", "pow") else 1) for name in VMATH}
