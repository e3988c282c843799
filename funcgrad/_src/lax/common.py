"""Shared machinery for defining primitives: registration helpers and argument handling."""

from __future__ import annotations

import functools

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
