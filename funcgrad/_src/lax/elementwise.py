"""Elementwise primitives: arithmetic, bitwise operations, comparisons, abs/sign/rounding,
integer powers, complex parts, select and casts (the transcendental functions, built with
the same ``unop``/``binop``, are in ``transcendental.py``).

Each primitive is one block: the primitive and its wrapper, then every rule it has.
"""

from __future__ import annotations

import enum
import operator

from funcgrad._src import core
from funcgrad._src.lax.common import (
    KIND_NAMES,
    Primitive,
    ShapedArray,
    abstract_eval_rules,
    ad,
    as_operand,
    batching,
    binop_doc,
    dtypes,
    get_aval,
    impl_rules,
    np,
    quiet,
    same_dtype,
    shape_err,
    unop_doc,
    weak_type_rules,
)

# ---- helpers --------------------------------------------------------------------------------


def _check_kinds(name, aval, kinds):
    if aval.dtype.kind not in kinds:
        allowed = " or ".join(KIND_NAMES[k] for k in kinds)
        raise TypeError(f"lax.{name} needs {allowed} input, got {aval.dtype.name}")


def unop(name: str, impl, kinds: str = "fc", out_dtype=None, doc="", ret="", raises=()):
    """A unary elementwise primitive and its wrapper; ``doc`` (a one-line summary), ``ret``
    (the Returns text, when the dtype changes) and ``raises`` (extra ``(exception, when)``
    pairs) complete the wrapper's docstring."""
    prim = Primitive(name)
    impl_rules[prim] = quiet(impl)

    def abstract(x):
        _check_kinds(name, x, kinds)
        dt = out_dtype(x.dtype) if out_dtype else x.dtype
        return ShapedArray(x.shape, dt, x.weak_type and out_dtype is None)

    abstract_eval_rules[prim] = abstract
    batching.defvectorized(prim)

    def wrapper(x):
        return prim.bind(as_operand(x))

    wrapper.__name__ = name
    wrapper.__doc__ = unop_doc(doc, kinds, ret, raises)
    wrapper.lax_kinds = (kinds,)  # read by strict.py (funcgrad.lax's dtype checks)
    return prim, wrapper


def binop(name: str, impl, kinds: str = "iufc", out_bool: bool = False, doc: str = ""):
    """A binary elementwise primitive and its wrapper (``doc``: the docstring's summary)."""
    prim = Primitive(name)
    impl_rules[prim] = quiet(impl)

    def abstract(x, y):
        if x.shape != y.shape or x.dtype != y.dtype:
            raise shape_err(name, (x, y))
        _check_kinds(name, x, kinds)
        if out_bool:
            return ShapedArray(x.shape, dtypes.bool_, False)
        return ShapedArray(x.shape, x.dtype, x.weak_type and y.weak_type)

    abstract_eval_rules[prim] = abstract
    if out_bool:
        weak_type_rules[prim] = lambda w, **p: False
    batching.defbroadcasting(prim)

    def wrapper(x, y):
        x, y = same_dtype(name, x, y)
        ax, ay = get_aval(x), get_aval(y)
        if ax.shape != ay.shape:  # eager numpy would broadcast silently: lax does not,
            if ay.shape == ():  # except for rank-0 operands (made explicit here, so
                y = ad.ops["broadcast_in_dim"](y, ax.shape, ())  # traced code agrees)
            elif ax.shape == ():
                x = ad.ops["broadcast_in_dim"](x, ay.shape, ())
            else:
                raise shape_err(name, (ax, ay))
        return prim.bind(x, y)

    wrapper.__name__ = name
    wrapper.__doc__ = binop_doc(doc, kinds, out_bool)
    wrapper.lax_kinds = (kinds, kinds)  # read by strict.py (funcgrad.lax's dtype checks)
    return prim, wrapper


def _zero_like(x):
    return full_like(x, 0)


def full_like(x, val, dtype=None):
    aval = get_aval(x)
    return ad.ops["full"](aval.shape, val, dtype or aval.dtype)


# ---- arithmetic -----------------------------------------------------------------------------

neg_p, neg = unop("neg", np.negative, "iufc", doc="Elementwise negation ``-x`` (integers wrap).")
ad.deflinear(neg_p, lambda ct, x: [neg(ct)])

add_p, add = binop("add", np.add, doc="Elementwise sum ``x + y`` (integers wrap).")
ad.deflinear(add_p, lambda ct, x, y: [ct, ct])

sub_p, sub = binop("sub", np.subtract, doc="Elementwise difference ``x - y`` (integers wrap).")
ad.deflinear(sub_p, lambda ct, x, y: [ct, neg(ct)])

mul_p, mul = binop("mul", np.multiply, doc="Elementwise product ``x * y`` (integers wrap).")
ad.defjvp(mul_p, lambda t, x, y: mul(t, y), lambda t, x, y: mul(x, t))
ad.vjp_rules[mul_p] = lambda cts, p, out: [mul(cts[0], p[1]), mul(p[0], cts[0])]


def _div_impl(x, y):
    if x.dtype.kind in "iu":
        q = np.floor_divide(x, np.where(y == 0, 1, y))
        fix = (np.remainder(x, np.where(y == 0, 1, y)) != 0) & ((x < 0) != (y < 0))
        return np.where(y == 0, -1, q + fix).astype(x.dtype)
    return np.divide(x, y)


div_p, div = binop(
    "div",
    _div_impl,
    doc="Elementwise ``x / y``; integer division rounds toward 0 (an integer ``x / 0`` is -1).",
)
ad.defjvp(div_p, lambda t, x, y: div(t, y), lambda t, x, y: neg(mul(t, div(div(x, y), y))))
ad.vjp_rules[div_p] = lambda cts, p, out: [div(cts[0], p[1]), neg(mul(cts[0], div(out, p[1])))]


def _rem_impl(x, y):
    if x.dtype.kind in "iu":
        ys = np.where(y == 0, 1, y)
        return np.where(y == 0, x, np.fmod(x, ys)).astype(x.dtype)
    return np.fmod(x, y)


rem_p, rem = binop(
    "rem",
    _rem_impl,
    doc="Elementwise remainder with the sign of ``x`` (C fmod); integer ``rem(x, 0)`` is x.",
)
ad.defjvp(rem_p, lambda t, x, y: t, lambda t, x, y: neg(mul(t, round(div(sub(x, rem(x, y)), y)))))
ad.vjp_rules[rem_p] = lambda cts, p, out: [
    cts[0],
    neg(mul(cts[0], round(div(sub(p[0], out), p[1])))),
]

max_p, max = binop("max", np.maximum, "iufb", doc="Elementwise maximum (NaN if either is NaN).")
min_p, min = binop("min", np.minimum, "iufb", doc="Elementwise minimum (NaN if either is NaN).")


def _balanced_eq(x, z, y):
    """1 where x alone attains z, 0.5 where x and y tie, 0 elsewhere (JAX's convention)."""
    one, half, zero = full_like(z, 1), full_like(z, 0.5), full_like(z, 0)
    return select(eq(x, z), select(eq(y, z), half, one), zero)


for _p, _w in ((max_p, max), (min_p, min)):
    ad.defjvp(
        _p,
        lambda t, x, y, _w=_w: mul(t, _balanced_eq(x, _w(x, y), y)),
        lambda t, x, y, _w=_w: mul(t, _balanced_eq(y, _w(x, y), x)),
    )
    ad.vjp_rules[_p] = lambda cts, p, out: [
        mul(cts[0], _balanced_eq(p[0], out, p[1])),
        mul(cts[0], _balanced_eq(p[1], out, p[0])),
    ]


nextafter_p, nextafter = binop(
    "nextafter",
    np.nextafter,
    "f",
    doc="Elementwise next representable value after ``x`` toward ``y``.",
)
ad.defzero(nextafter_p)

# ---- bitwise / logical ------------------------------------------------------------------------

and_p, bitwise_and = binop(
    "and", np.bitwise_and, "iub", doc="Elementwise bitwise AND (logical AND for booleans)."
)
or_p, bitwise_or = binop(
    "or", np.bitwise_or, "iub", doc="Elementwise bitwise OR (logical OR for booleans)."
)
xor_p, bitwise_xor = binop(
    "xor", np.bitwise_xor, "iub", doc="Elementwise bitwise XOR (logical XOR for booleans)."
)
not_p, bitwise_not = unop(
    "not", np.invert, "iub", doc="Elementwise bitwise NOT (logical NOT for booleans)."
)


def _shift_mask(x, y, fn):
    bits = x.dtype.itemsize * 8
    ok = (y >= 0) & (y < bits)
    return np.where(ok, fn(x, np.where(ok, y, 0)), 0).astype(x.dtype)


def _shr_logical(x, y):
    u = x.view(np.dtype(f"u{x.dtype.itemsize}"))
    yu = y.astype(u.dtype)
    return _shift_mask(u, yu, np.right_shift).view(x.dtype)


def _shr_arith(x, y):
    bits = x.dtype.itemsize * 8
    return np.right_shift(x, np.clip(y, 0, bits - 1)).astype(x.dtype)


shift_left_p, shift_left = binop(
    "shift_left",
    lambda x, y: _shift_mask(x, y, np.left_shift),
    "iu",
    doc="Elementwise ``x << y``; shifts outside [0, bits) give 0.",
)
shift_right_logical_p, shift_right_logical = binop(
    "shift_right_logical",
    _shr_logical,
    "iu",
    doc="Elementwise right shift filling with zeros; shifts outside [0, bits) give 0.",
)
shift_right_arithmetic_p, shift_right_arithmetic = binop(
    "shift_right_arithmetic",
    _shr_arith,
    "iu",
    doc="Elementwise right shift filling with the sign bit; shifts clamp to [0, bits - 1].",
)
for _p in (
    and_p,
    or_p,
    xor_p,
    not_p,
    shift_left_p,
    shift_right_logical_p,
    shift_right_arithmetic_p,
):
    ad.defzero(_p)

population_count_p, population_count = unop(  # bits of the two's-complement pattern (XLA)
    "population_count",
    lambda x: np.bitwise_count(x.view(f"u{x.dtype.itemsize}")).astype(x.dtype),
    "iu",
    doc="Elementwise number of set bits of the two's-complement pattern, in x's dtype.",
)
ad.defzero(population_count_p)

# ---- comparisons ------------------------------------------------------------------------------

eq_p, eq = binop("eq", np.equal, "iufcb", out_bool=True, doc="Elementwise ``x == y``.")
ne_p, ne = binop("ne", np.not_equal, "iufcb", out_bool=True, doc="Elementwise ``x != y``.")
lt_p, lt = binop("lt", np.less, "iufb", out_bool=True, doc="Elementwise ``x < y``.")
le_p, le = binop("le", np.less_equal, "iufb", out_bool=True, doc="Elementwise ``x <= y``.")
gt_p, gt = binop("gt", np.greater, "iufb", out_bool=True, doc="Elementwise ``x > y``.")
ge_p, ge = binop("ge", np.greater_equal, "iufb", out_bool=True, doc="Elementwise ``x >= y``.")
for _p in (eq_p, ne_p, lt_p, le_p, gt_p, ge_p):
    ad.defzero(_p)

# ---- unary math: abs, sign, rounding (the rest is in transcendental.py) -------------------------


def _defunary_deriv(prim, d):
    """``d(t, out, x) -> tangent``, linear in t: registers jvp and vjp together."""
    ad.defjvp_out(prim, d)
    ad.defvjp_from_jvp_unary(prim, d)


def _abs_impl(x):
    return np.abs(x)


abs_p, abs = unop(
    "abs",
    _abs_impl,
    "iufc",
    out_dtype=lambda d: np.dtype(d.char.lower()) if d.kind == "c" else d,
    doc="Elementwise absolute value (the modulus for complex x; integers wrap at the minimum).",
    ret="An array of ``x``'s shape and dtype; for complex ``x`` the real dtype of its parts.",
)
# JAX's convention: d|x|/dx = 1 at x == 0 (select(x >= 0, t, -t)).
_defunary_deriv(abs_p, lambda t, out, x: select(ge(x, full_like(x, 0)), t, neg(t)))


def _abs_unit_conj(out, x):
    """conj(z)/|z| as a complex array (|z| = 0 replaced by 1, as in JAX)."""
    safe = select(eq(out, full_like(out, 0)), full_like(out, 1), out)
    return div(conj(x), _complex(safe, full_like(safe, 0)))


def _abs_jvp(primals, tangents):
    # complex z: d|z| = Re(ż · conj(z)/|z|) (JAX's _abs_jvp_rule); real x: the rule above
    (x,) = primals
    out = abs(x)
    if get_aval(x).dtype.kind != "c":
        return out, select(ge(x, full_like(x, 0)), tangents[0], neg(tangents[0]))
    return out, real(mul(tangents[0], _abs_unit_conj(out, x)))


def _abs_vjp(cts, primals, out):
    (x,) = primals
    if get_aval(x).dtype.kind != "c":
        return [select(ge(x, full_like(x, 0)), cts[0], neg(cts[0]))]
    return [mul(_complex(cts[0], full_like(cts[0], 0)), _abs_unit_conj(out, x))]


ad.jvp_rules[abs_p] = _abs_jvp
ad.vjp_rules[abs_p] = _abs_vjp
weak_type_rules[abs_p] = lambda w, **p: all(w)
abstract_eval_rules[abs_p] = lambda x: ShapedArray(
    x.shape, np.dtype(f"f{x.dtype.itemsize // 2}") if x.dtype.kind == "c" else x.dtype, x.weak_type
)

sign_p, sign = unop("sign", np.sign, "iuf", doc="Elementwise sign: -1, 0 or 1 (NaN stays NaN).")
floor_p, floor = unop("floor", np.floor, "f", doc="Elementwise round down to an integral value.")
ceil_p, ceil = unop("ceil", np.ceil, "f", doc="Elementwise round up to an integral value.")
is_finite_p, is_finite = unop(
    "is_finite",
    np.isfinite,
    "f",
    out_dtype=lambda d: dtypes.bool_,
    doc="Elementwise test for finite values (neither inf nor NaN).",
    ret="A bool array of ``x``'s shape.",
)
weak_type_rules[is_finite_p] = lambda w, **p: False


def _round_impl(x, rounding_method=0):
    if rounding_method == 1:
        return np.round(x)
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(x.dtype)


round_p = Primitive("round")
impl_rules[round_p] = _round_impl
abstract_eval_rules[round_p] = lambda x, rounding_method=0: x
batching.defvectorized(round_p)


def round(x, rounding_method=0):
    """Round elementwise to the nearest integral value, as ``jax.lax.round``.

    Args:
      x: an array (floating; integer arrays come back unchanged).
      rounding_method: a static :class:`RoundingMethod` or int: 0 rounds halves away from
        zero (lax's default), 1 rounds halves to even (numpy's ``round``).

    Returns:
      An array of the shape and dtype of ``x``.
    """
    return round_p.bind(as_operand(x), rounding_method=int(rounding_method))


class RoundingMethod(enum.IntEnum):
    """Rounding modes for :func:`round` (as ``jax.lax.RoundingMethod``).

    Args:
      value: 0 (``AWAY_FROM_ZERO``) or 1 (``TO_NEAREST_EVEN``).
    """

    AWAY_FROM_ZERO = 0
    TO_NEAREST_EVEN = 1


for _p in (sign_p, floor_p, ceil_p, is_finite_p, round_p):
    ad.defzero(_p)


# ---- integer powers ---------------------------------------------------------------------------

integer_pow_p = Primitive("integer_pow")


def _integer_pow_impl(x, y):
    if y < 0 and x.dtype.kind in "iu":
        raise TypeError("integer_pow with a negative exponent needs a float input")
    return np.power(x, x.dtype.type(y)) if y >= 0 else (1 / np.power(x, -y)).astype(x.dtype)


impl_rules[integer_pow_p] = quiet(_integer_pow_impl)
abstract_eval_rules[integer_pow_p] = lambda x, y: x
batching.defvectorized(integer_pow_p)


def integer_pow(x, y: int):
    """Elementwise ``x ** y`` for a static integer exponent ``y``.

    Args:
      x: an array of any numeric dtype.
      y: a Python int (static: part of the traced program, not an array).

    Returns:
      An array of the shape and dtype of ``x`` (``x`` itself when ``y == 1``).

    Raises:
      TypeError: if ``y < 0`` and ``x`` is an integer array.
    """
    y = operator.index(y)  # (a TypeError for 2.5, as JAX)
    if y == 1:
        return as_operand(x)
    return integer_pow_p.bind(as_operand(x), y=y)


def _integer_pow_d(t, x, y):
    if y == 0:
        return full_like(t, 0)
    return mul(t, mul(full_like(x, y), integer_pow(x, y - 1) if y != 1 else full_like(x, 1)))


ad.defjvp(integer_pow_p, _integer_pow_d)
ad.vjp_rules[integer_pow_p] = lambda cts, p, out, y: [_integer_pow_d(cts[0], p[0], y)]

# ---- complex parts ----------------------------------------------------------------------------

_real_dt = lambda d: np.dtype(f"f{d.itemsize // 2}") if d.kind == "c" else d
_parts_ret = "An array of ``x``'s shape in the real dtype of its parts (complex64 -> float32)."
real_p, real = unop(
    "real", np.real, "c", out_dtype=_real_dt, doc="Elementwise real part.", ret=_parts_ret
)
imag_p, imag = unop(
    "imag", np.imag, "c", out_dtype=_real_dt, doc="Elementwise imaginary part.", ret=_parts_ret
)
conj_p, conj = unop("conj", np.conj, "c", doc="Elementwise complex conjugate.")
complex_p, _complex = binop(
    "complex",
    lambda x, y: (x + 1j * y).astype(np.complex64 if x.dtype == np.float32 else np.complex128),
    "f",
    doc="Elementwise ``x + 1j * y``.",
)
abstract_eval_rules[complex_p] = lambda x, y: ShapedArray(
    x.shape,
    np.dtype(np.complex64 if x.dtype == np.float32 else np.complex128),
    x.weak_type and y.weak_type,
)


def complex(x, y):
    """Elementwise ``x + 1j * y`` from real and imaginary parts.

    Args:
      x: the real parts: a floating array, or a Python scalar (which takes ``y``'s dtype).
      y: the imaginary parts, of the shape and dtype of ``x`` (a rank-0 operand is broadcast).

    Returns:
      A complex array of the common shape: complex64 for float32 parts, else complex128.

    Raises:
      TypeError: if the shapes or dtypes of ``x`` and ``y`` differ.
    """
    return _complex(x, y)


complex.lax_kinds = ("f", "f")
ad.deflinear(real_p, lambda ct, x: [_complex(ct, full_like(ct, 0))])
ad.deflinear(imag_p, lambda ct, x: [_complex(full_like(ct, 0), neg(ct))])
ad.deflinear(conj_p, lambda ct, x: [conj(ct)])
ad.deflinear(complex_p, lambda ct, x, y: [real(ct), neg(imag(ct))])

# ---- select and casts -------------------------------------------------------------------------

select_n_p = Primitive("select_n")


def _select_n_impl(which, *cases):
    if len(cases) == 1:
        return cases[0]
    if which.dtype == np.bool_:
        return np.where(which, cases[1], cases[0])
    return np.choose(which, cases)


def _select_n_abstract(which, *cases):
    c0 = cases[0]
    if any(c.shape != c0.shape or c.dtype != c0.dtype for c in cases):
        raise shape_err("select_n (cases)", cases)
    if which.shape not in (c0.shape, ()):
        raise TypeError(
            f"select_n: the predicate has shape {which.shape} but the cases have shape {c0.shape}"
        )
    if which.dtype.kind not in "bi":
        raise TypeError(f"select_n: the predicate must be bool or int32, got {which.dtype}")
    return ShapedArray(c0.shape, c0.dtype, all(c.weak_type for c in cases))


impl_rules[select_n_p] = _select_n_impl
abstract_eval_rules[select_n_p] = _select_n_abstract
weak_type_rules[select_n_p] = lambda w, **p: all(w[1:])


def select_n(which, *cases):
    """Elementwise choice among ``cases``: ``cases[which]`` at each position.

    Args:
      which: a bool or int32 array, either a scalar or of the cases' shape. A bool picks
        ``cases[0]`` where False and ``cases[1]`` where True; an int must lie in
        ``[0, len(cases))``.
      *cases: one or more arrays of equal shape and dtype (Python scalars take their dtype).

    Returns:
      An array of the cases' shape and dtype.

    Raises:
      TypeError: if the cases differ in shape or dtype, or ``which`` has another shape (or,
        when traced, another dtype).
    """
    cases = same_dtype("select_n", *cases)
    return select_n_p.bind(as_operand(which), *cases)


def select(pred, on_true, on_false):
    """Elementwise ``on_true`` where ``pred`` else ``on_false`` (``jax.lax.select``).

    Args:
      pred: a bool array, a scalar or of the operands' shape.
      on_true: an array (or a Python scalar, which takes the other's dtype).
      on_false: an array of the shape and dtype of ``on_true``.

    Returns:
      An array of the operands' shape and dtype.

    Raises:
      TypeError: if the shapes or dtypes do not match as above.
    """
    return select_n(pred, on_false, on_true)


def _select_n_jvp(primals, tangents):
    which, *cases = primals
    out = select_n_p.bind(which, *cases)
    return out, select_n_p.bind(which, *tangents[1:])


def _select_n_vjp(cts, primals, out):
    which, *cases = primals
    ct = cts[0]
    zero = full_like(ct, 0)
    if get_aval(which).shape != get_aval(ct).shape:
        which = ad.ops["broadcast_in_dim"](which, get_aval(ct).shape, ())
    outs = [None]
    for i in range(len(cases)):
        picks = [zero] * len(cases)
        picks[i] = ct
        outs.append(select_n_p.bind(which, *picks))
    return outs


def _select_n_batch(vals, dims, axis_size):
    which, *cases = vals
    wd, *cds = dims
    if wd is None and get_aval(which).ndim == 0:
        first = next(d for d in cds if d is not None)
        cases = [batching.move_batch_axis(axis_size, d, first, c) for c, d in zip(cases, cds)]
        return select_n_p.bind(which, *cases), first
    vals = [batching.bdim_at_front(v, d, axis_size) for v, d in zip(vals, dims)]
    which = vals[0]
    if get_aval(which).ndim == 1 and get_aval(vals[1]).ndim > 1:
        which = ad.ops["broadcast_in_dim"](which, get_aval(vals[1]).shape, (0,))
    return select_n_p.bind(which, *vals[1:]), 0


ad.jvp_rules[select_n_p] = _select_n_jvp
ad.vjp_rules[select_n_p] = _select_n_vjp
batching.vmap_rules[select_n_p] = _select_n_batch

convert_element_type_p = Primitive("convert_element_type")


def _convert_impl(x, new_dtype, weak_type=False):
    if x.dtype.kind in "fc" and new_dtype.kind in "iu":
        return _float_to_int(np.real(x) if x.dtype.kind == "c" else x, new_dtype)
    if x.dtype.kind == "c" and new_dtype.kind != "c":
        x = np.real(x)
    if new_dtype.kind == "b":
        return x != 0
    return x.astype(new_dtype)


def _float_to_int(x, new_dtype):
    """XLA semantics: truncate, NaN -> 0, saturate out-of-range values (never wrap).

    The comparisons run in float64 so the bounds are exact (2**31 - 1 is not a float32)."""
    info = np.iinfo(new_dtype)
    with np.errstate(all="ignore"):
        t = np.trunc(x.astype(np.float64))
        out = np.where(np.isnan(t), 0, np.clip(t, info.min, info.max))
        too_big = t >= float(info.max)  # float(2**63 - 1) rounds up to 2**63
        res = out.astype(new_dtype)
        res[np.broadcast_to(too_big, res.shape)] = info.max
        res[np.broadcast_to(t <= float(info.min), res.shape)] = info.min
    return res


impl_rules[convert_element_type_p] = _convert_impl
abstract_eval_rules[convert_element_type_p] = lambda x, new_dtype, weak_type=False: ShapedArray(
    x.shape, new_dtype, weak_type
)
weak_type_rules[convert_element_type_p] = lambda w, new_dtype, weak_type=False: weak_type
batching.defvectorized(convert_element_type_p)


def convert_element_type(x, new_dtype, weak_type: bool = False):
    """Cast ``x`` to ``new_dtype`` elementwise (``jax.lax.convert_element_type``).

    Float to integer truncates toward zero, sends NaN to 0 and saturates out-of-range
    values (XLA's rule); integer to integer wraps; complex to real drops the imaginary part;
    anything to bool tests ``!= 0``.

    Args:
      x: an array, Python scalar or numpy value.
      new_dtype: the target dtype (a numpy dtype, a name such as ``"float32"``, or a
        funcgrad dtype such as ``fnp.bfloat16``).
      weak_type: whether the result is weakly typed (as a Python scalar is).

    Returns:
      An array of ``x``'s shape and dtype ``new_dtype`` (``x`` itself when nothing changes).
    """
    x = as_operand(x)
    new_dtype = dtypes.canonicalize(new_dtype)
    aval = get_aval(x)
    if aval.dtype == new_dtype and aval.weak_type == weak_type:
        return x
    if aval.weak_type and aval.shape == () and not isinstance(x, core.Tracer):
        # a Python scalar converted at once, also inside jit (JAX makes it a literal)
        with core.dynamic_main(None):
            return convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=bool(weak_type))
    return convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=bool(weak_type))


def _convert_tangent(t, x, new_dtype, weak_type=False):
    if new_dtype.kind not in "fc" or get_aval(x).dtype.kind not in "fc":
        return ad.ops["zeros"](get_aval(x).shape, new_dtype)
    return convert_element_type_p.bind(t, new_dtype=new_dtype, weak_type=weak_type)


def _convert_vjp(cts, primals, out, new_dtype, weak_type=False):
    aval = get_aval(primals[0])
    if aval.dtype.kind not in "fc" or new_dtype.kind not in "fc":
        return [None]
    return [convert_element_type_p.bind(cts[0], new_dtype=aval.dtype, weak_type=aval.weak_type)]


ad.defjvp(convert_element_type_p, _convert_tangent)
ad.ops["convert"] = convert_element_type
ad.vjp_rules[convert_element_type_p] = _convert_vjp

bitcast_convert_type_p = Primitive("bitcast_convert_type")
impl_rules[bitcast_convert_type_p] = lambda x, new_dtype: x.view(new_dtype)


def _bitcast_abstract(x, new_dtype):
    if x.dtype.itemsize != new_dtype.itemsize:
        raise TypeError(
            f"bitcast_convert_type: {x.dtype} and {new_dtype} differ in size; "
            f"funcgrad supports only bitcasts between types of the same width "
            f"(JAX adds or removes a trailing dimension here)"
        )
    return ShapedArray(x.shape, new_dtype, False)


abstract_eval_rules[bitcast_convert_type_p] = _bitcast_abstract
weak_type_rules[bitcast_convert_type_p] = lambda w, **p: False
batching.defvectorized(bitcast_convert_type_p)
ad.defzero(bitcast_convert_type_p)


def bitcast_convert_type(x, new_dtype):
    """Reinterpret the bits of each element of ``x`` as ``new_dtype``.

    Args:
      x: an array.
      new_dtype: a dtype of the same width as ``x``'s (JAX's changes of width, which add or
        remove a trailing dimension, are not supported).

    Returns:
      An array of ``x``'s shape and dtype ``new_dtype``.

    Raises:
      TypeError: if the two dtypes differ in width.
    """
    x, new_dtype = as_operand(x), dtypes.as_dtype(new_dtype)
    # checked here too: the eager path (numpy's view) would silently flatten the bytes
    _bitcast_abstract(get_aval(x), new_dtype)
    return bitcast_convert_type_p.bind(x, new_dtype=new_dtype)


# add_any: the sum of two cotangents (kept apart from add so cotangent sums stay visible)
add_any_p = Primitive("add_any")
impl_rules[add_any_p] = np.add
abstract_eval_rules[add_any_p] = lambda x, y: x
batching.defbroadcasting(add_any_p)
ad.deflinear(add_any_p, lambda ct, x, y: [ct, ct])


def add_any(x, y):
    return add_any_p.bind(x, y)


ad.ops["add_any"] = add_any


def clamp_int(x, lo: int, hi: int):
    """Clamp an integer array between Python ints (used for index arithmetic)."""
    return max(min(x, full_like(x, hi)), full_like(x, lo))


def clamp(lo, x, hi):
    """Elementwise ``min(max(x, lo), hi)``, as ``jax.lax.clamp(min, x, max)``.

    Args:
      lo: the lower bound: a scalar or an array of ``x``'s shape.
      x: an array of integer, floating or boolean dtype.
      hi: the upper bound, like ``lo``.

    Returns:
      An array of the shape and dtype of ``x``.

    Raises:
      TypeError: if the dtypes differ (Python scalars take ``x``'s), or a bound is neither
        rank 0 nor of ``x``'s shape.
    """
    x, lo, hi = same_dtype("clamp", x, lo, hi)
    shape = get_aval(x).shape
    lo, hi = (
        ad.ops["broadcast_in_dim"](v, shape, ()) if get_aval(v).shape != shape else v
        for v in (lo, hi)
    )
    return max(min(x, hi), lo)


def square(x):
    """Elementwise ``x * x`` (as ``integer_pow(x, 2)``).

    Args:
      x: an array of any numeric dtype.

    Returns:
      An array of the shape and dtype of ``x``.
    """
    return integer_pow(x, 2)
