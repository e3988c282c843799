"""Shared machinery for defining primitives: registration helpers and argument handling."""

from __future__ import annotations

import functools
import textwrap

import numpy as np

from funcgrad._src import ad, batching, core, dtypes
from funcgrad._src.array import Array, get_aval, weak_type_rules, wrap, wrap_bfloat16
from funcgrad._src.core import Primitive, ShapedArray, Tracer, abstract_eval_rules, impl_rules

__all__ = [
    "Primitive",
    "ShapedArray",
    "Tracer",
    "Array",
    "np",
    "core",
    "ad",
    "batching",
    "dtypes",
    "impl_rules",
    "abstract_eval_rules",
    "weak_type_rules",
    "get_aval",
    "quiet",
    "as_operand",
    "same_dtype",
    "shape_err",
    "KIND_NAMES",
    "kinds_doc",
    "unop_doc",
    "binop_doc",
    "google_doc",
    "reduction_doc",
]


def quiet(fn):
    """Run a numpy implementation with floating-point warnings silenced (XLA never warns)."""

    @functools.wraps(fn)
    def wrapped(*args, **kw):
        with np.errstate(all="ignore"):
            return fn(*args, **kw)

    return wrapped


def as_operand(x, dtype=None):
    """Arrays and tracers pass through; Python scalars and numpy data become Arrays."""
    if isinstance(x, (Array, Tracer)):
        return x
    if isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic):
        dt, weak = dtypes.scalar_type(x)
        if dtype is not None:
            dt = dtype
        if dt is dtypes.bfloat16:
            return wrap_bfloat16(np.array(x, dtype=np.float32), weak)
        return wrap(np.array(x, dtype=dt), weak)
    if isinstance(x, (np.ndarray, np.generic, list, tuple)):
        v = np.asarray(x)
        dt = dtypes.canonicalize(dtype or v.dtype)
        if dt is dtypes.bfloat16:
            return wrap_bfloat16(v.astype(np.float32), False)
        return wrap(np.array(v, dtype=dt), False)
    raise TypeError(f"{type(x).__name__} is not a valid funcgrad array type")


def same_dtype(name: str, *args):
    """lax-level dtype handling: Python scalars take the array's dtype; arrays must agree."""
    ops = [x for x in args if isinstance(x, (Array, Tracer, np.ndarray, np.generic))]
    if not ops:
        dt, _ = dtypes.result_type(*[dtypes.scalar_type(x) for x in args])
        return [as_operand(x, dt) for x in args]
    strong = [get_aval(x) for x in ops]
    non_weak = {a.dtype for a in strong if not a.weak_type}
    if len(non_weak) > 1:
        raise TypeError(
            f"lax.{name} requires arguments to have the same dtypes, got "
            f"{', '.join(sorted(d.name for d in non_weak))}. Convert with "
            f"astype, or use funcgrad.numpy, which promotes types."
        )
    dt = non_weak.pop() if non_weak else strong[0].dtype
    out = []
    for x in args:
        if isinstance(x, (Array, Tracer)):
            a = get_aval(x)
            if a.dtype != dt:
                from funcgrad._src.lax.elementwise import convert_element_type

                x = convert_element_type(x, dt, weak_type=a.weak_type)
            out.append(x)
        else:
            out.append(as_operand(x, dt))
    return out


def shape_err(name: str, avals) -> TypeError:
    shapes = ", ".join(a.str_short() for a in avals)
    return TypeError(
        f"{name}: operands must have equal shapes and dtypes, got {shapes}. "
        f"funcgrad.numpy functions broadcast and promote; lax ones do not."
    )


# ---- docstrings of generated wrappers ---------------------------------------------------------

KIND_NAMES = {
    "f": "floating",
    "c": "complex",
    "i": "signed integer",
    "u": "unsigned integer",
    "b": "boolean",
}


def kinds_doc(kinds: str) -> str:
    """Dtype kinds in words: ``"iufb"`` -> ``"integer, floating or boolean"``."""
    words = ["integer" if k == "i" and "u" in kinds else KIND_NAMES[k] for k in kinds]
    words = [w for k, w in zip(kinds, words) if not (k == "u" and "i" in kinds)]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def google_doc(summary: str, args=(), returns: str = "", raises=()) -> str:
    """A Google-style docstring from its parts: ``args`` and ``raises`` are ``(name, text)``
    pairs (used by the factories that generate lax wrappers)."""

    def item(name, text):
        return textwrap.fill(f"{name}: {text}", 92, initial_indent="  ", subsequent_indent="    ")

    parts = [summary]
    if args:
        parts.append("Args:\n" + "\n".join(item(n, t) for n, t in args))
    if returns:
        parts.append(
            "Returns:\n" + textwrap.fill(returns, 92, initial_indent="  ", subsequent_indent="  ")
        )
    if raises:
        parts.append("Raises:\n" + "\n".join(item(e, t) for e, t in raises))
    return "\n\n".join(parts)


def unop_doc(summary: str, kinds: str, returns: str = "", raises=()) -> str:
    """The docstring of a unary elementwise wrapper made by ``elementwise.unop``."""
    k = kinds_doc(kinds)
    x = (
        f"an array of {k} dtype (a Python scalar or numpy value is converted; a Python "
        "scalar is weakly typed)."
    )
    ret = returns or "An array of the shape, dtype and weak type of ``x``."
    err = (
        f"if ``x`` is not of {k} dtype (checked when traced, e.g. under ``jit``, ``grad`` "
        "or ``vmap``; eager calls leave the dtype to numpy)."
    )
    return google_doc(summary, [("x", x)], ret, [("TypeError", err), *raises])


def binop_doc(summary: str, kinds: str, out_bool: bool = False) -> str:
    """The docstring of a binary elementwise wrapper made by ``elementwise.binop``."""
    k = kinds_doc(kinds)
    x = f"an array of {k} dtype, or a Python scalar (which takes the other operand's dtype)."
    y = (
        "like ``x``. The operands must have equal shapes (a rank-0 operand is broadcast) and "
        "equal dtypes (a weakly typed operand is converted); unlike ``funcgrad.numpy``, lax "
        "neither broadcasts nor promotes otherwise."
    )
    err = (
        "if the shapes or dtypes differ as above, or (checked when traced, e.g. under "
        f"``jit``) if the dtype is not {k}."
    )
    ret = f"An array of the operands' common shape and {'bool ' if out_bool else ''}dtype."
    return google_doc(summary, [("x", x), ("y", y)], ret, [("TypeError", err)])


def reduction_doc(summary: str, kinds: str) -> str:
    """The docstring of a reduction wrapper made by ``reductions.reduction``."""
    k = kinds_doc(kinds)
    args = [
        ("x", f"an array of {k} dtype."),
        (
            "axes",
            "a sequence of the axes to reduce (static ints; negative ones count from the end).",
        ),
    ]
    ret = "An array of ``x``'s dtype, of ``x``'s shape without ``axes``."
    raises = [
        ("ValueError", "if an axis is out of bounds."),
        ("TypeError", f"if ``x`` is not of {k} dtype (checked when traced, e.g. under ``jit``)."),
    ]
    return google_doc(summary, args, ret, raises)
