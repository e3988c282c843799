"""Builders of funcgrad.numpy's elementwise functions from lax ones: promotion and broadcasting
of the operands, an eager fast path for concrete operands (the primitive's numpy impl on the
broadcast values, skipping two binds), and each function's Google-style docstring, generated
from its one-line summary."""

from __future__ import annotations

import textwrap

import numpy as np

from funcgrad._src import core, dtypes
from funcgrad._src.array import Array, _check_nans, get_aval, wrap
from funcgrad._src.core import Tracer
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import transcendental as ltr
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.conversion import _broadcast, _promote, _typed, asarray
from funcgrad.config import config

# lax wrappers whose primitive's numpy impl can run directly on broadcast operands
_PRIMS = {
    le.add: le.add_p,
    le.sub: le.sub_p,
    le.mul: le.mul_p,
    le.max: le.max_p,
    le.min: le.min_p,
    ltr.atan2: ltr.atan2_p,
    le.eq: le.eq_p,
    le.ne: le.ne_p,
    le.lt: le.lt_p,
    le.le: le.le_p,
    le.gt: le.gt_p,
    le.ge: le.ge_p,
    le.div: le.div_p,
    ltr.pow: ltr.pow_p,
    le.rem: le.rem_p,
}


def _eager_binary(lax_fn, x, y, to_inexact, name):
    """Both operands concrete: promote, then call the primitive's numpy impl directly (numpy
    broadcasting equals broadcast_in_dim + the primitive), skipping two binds. None (the
    general path) while staging: inside jit concrete operands are staged too (omnistaging)."""
    if core.is_staging():
        return None
    prim = _PRIMS.get(lax_fn)
    (dx, wx), (dy, wy) = _typed(x), _typed(y)
    dt, weak = dtypes.result_type((dx, wx), (dy, wy))
    if to_inexact and dt.kind not in "fc":
        dt, weak = dtypes.default_float(), weak and dt.kind != "b"
    if dt is dtypes.bfloat16 or (dt == np.bool_ and lax_fn in _BOOL_FNS):
        return None  # bfloat16 rounds every result, bool + is or: the general path (bind)
    xv = _value_as(x, dt)
    yv = _value_as(y, dt)
    if xv.shape != yv.shape:
        try:
            np.broadcast_shapes(xv.shape, yv.shape)
        except ValueError:
            raise core.ValueTypeError(  # numpy: ValueError, JAX: TypeError
                f"{name}: shapes {xv.shape} and {yv.shape} cannot be broadcast together"
            ) from None
    aval = core.ShapedArray((), dt, weak)  # the dtype checks tracing makes (bool for lax.div...)
    declared = core.abstract_eval(prim, aval, aval).dtype
    out = np.asarray(core.impl_rules[prim](xv, yv))
    out = out if out.dtype == declared else out.astype(declared)
    if config.check_floats:
        _check_nans(prim, [out])
    return wrap(out, weak and out.dtype != np.bool_)


def _value_as(x, dt):
    if type(x) is Array:
        v = x._value
        return v if v.dtype == dt else core.impl_rules[le.convert_element_type_p](v, new_dtype=dt)
    return np.asarray(x, dtype=dt)


# bool arithmetic as numpy (and the eager path, which runs numpy's ufuncs) does it
_BOOL_FNS = {le.add: le.bitwise_or, le.mul: le.bitwise_and}


def _bin(lax_fn, to_inexact=False, name=None, *, doc, accepts=None):
    """A numpy binary ufunc from a lax one. ``doc`` is its one-line summary and ``accepts``
    names the dtypes it takes (else any): the rest of its docstring is generated."""

    @arraylike_args(0, 1)
    def f(x, y, /):
        if (
            not isinstance(x, Tracer)
            and not isinstance(y, Tracer)
            and lax_fn in _PRIMS
            and (type(x) is Array or type(y) is Array)
        ):
            out = _eager_binary(lax_fn, x, y, to_inexact, name or lax_fn.__name__)
            if out is not None:
                return out
        try:
            x, y = _promote(x, y, to_inexact=to_inexact)
            x, y = _broadcast(x, y)
        except ValueError as e:
            raise type(e)(f"{name or lax_fn.__name__}: {e}") from None
        if get_aval(x).dtype == np.bool_ and lax_fn in _BOOL_FNS:  # numpy: bool + is or
            return _BOOL_FNS[lax_fn](x, y)
        return lax_fn(x, y)

    f.__name__ = name or lax_fn.__name__
    f.__doc__ = _binary_doc(f.__name__, doc, lax_fn, to_inexact, accepts)
    return f


# comparisons: their lax function returns bool whatever the operands' dtype
_BOOL_OUT = {le.eq, le.ne, le.lt, le.le, le.gt, le.ge}


def _binary_doc(name, summary, lax_fn, to_inexact, accepts):
    if lax_fn in _BOOL_OUT:
        out = "Bool array of the broadcast shape."
    elif to_inexact:
        out = "Array of the broadcast shape with the promoted dtype (floating or complex)."
    elif lax_fn in _BOOL_FNS:
        logical = _BOOL_FNS[lax_fn].__name__
        out = f"Array of the broadcast shape with the promoted dtype (bool: logical {logical})."
    else:
        out = "Array of the broadcast shape with the promoted dtype."
    raises = [
        "ValueError: (a ``ValueTypeError``, also a ``TypeError``) if the shapes of ``x`` and "
        "``y`` cannot be broadcast together."
    ]
    if accepts:
        raises.append(f"TypeError: if the promoted dtype is not {accepts}.")
    return _doc(
        summary,
        f"Follows ``numpy.{name}``. As in ``jax.numpy``, the operands are promoted to a common "
        "dtype with JAX's rules (Python scalars are weakly typed: they take the other operand's "
        "dtype)"
        + (", integer and bool to the default float dtype," if to_inexact else "")
        + " and broadcast against each other.",
        ["x: first operand (array_like).", "y: second operand (array_like)."],
        out,
        raises,
    )


def _doc(summary, body, args, returns, raises=()):
    """A Google-style docstring from its parts (each Args/Raises entry one string)."""
    parts = [summary, "", textwrap.fill(body, 92), "", "Args:", *map(_entry, args), ""]
    parts += ["Returns:", _entry(returns)]
    if raises:
        parts += ["", "Raises:", *map(_entry, raises)]
    return "\n".join(parts)


def _entry(text):
    return textwrap.fill(text, 92, initial_indent="    ", subsequent_indent="        ")


def _un(lax_fn, to_inexact=True, name=None, *, doc, complex_ok=True):
    """A numpy unary ufunc from a lax one; ``doc`` is its one-line summary."""

    @arraylike_args(0)
    def f(x, /):
        (x,) = _promote(x, to_inexact=to_inexact)
        return lax_fn(x)

    f.__name__ = name or lax_fn.__name__
    promo = (
        "Integer and bool inputs are promoted to the default float dtype (float32, float64 "
        "with ``enable_x64``), as in ``jax.numpy``."
        if to_inexact
        else "The input keeps its dtype."
    )
    f.__doc__ = _doc(
        doc,
        f"Follows ``numpy.{f.__name__}``. {promo}",
        ["x: input (array_like)."],
        "Array of the shape of ``x``"
        + (
            f"; {'floating or complex' if complex_ok else 'floating'} dtype."
            if to_inexact
            else " and its dtype."
        ),
        () if complex_ok else ["TypeError: if ``x`` is complex."],
    )
    return f


def _int_passthrough(fn, doc):
    """A rounding ufunc that returns integer and bool input unchanged (as ``jax.numpy``)."""

    @arraylike_args(0)
    def f(x, /):
        x = asarray(x)
        if get_aval(x).dtype.kind in "iub":
            return x
        return fn(x)

    f.__name__ = fn.__name__
    f.__doc__ = _doc(
        doc,
        f"Follows ``numpy.{fn.__name__}``; as in ``jax.numpy``, integer and bool inputs are "
        "returned unchanged.",
        ["x: input (array_like)."],
        "Array of the shape and dtype of ``x``.",
        ["TypeError: if ``x`` is complex."],
    )
    return f
