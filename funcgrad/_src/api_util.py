"""Argument handling shared by the transformations: arrays from user values, flattening of
pytree arguments, ``argnums`` and dtype checks."""

from __future__ import annotations

from funcgrad import tree_util as tu
from funcgrad._src import core
from funcgrad._src.array import Array, array_from_user, get_aval
from funcgrad._src.core import Tracer


def _as_array(x):
    if isinstance(x, (Array, Tracer)):
        return x
    try:
        return array_from_user(x)
    except TypeError:
        raise TypeError(
            f"Argument {x!r} of type {type(x).__name__} is not a valid funcgrad "
            f"type: pass arrays, numpy arrays or Python scalars (or mark the "
            f"argument static)"
        ) from None


def _flatten_args(args, what="argument"):
    leaves, tree = tu.tree_flatten(args)
    return [_as_array(x) for x in leaves], tree


def _argnums_tuple(argnums, n_args, fname="grad") -> tuple:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for a in nums:
        if not -n_args <= a < n_args:
            # JAX raises TypeError here; ValueTypeError is both (earlier funcgrad: ValueError)
            raise core.ValueTypeError(
                f"{fname}: argnums={argnums} is out of range for a "
                f"function called with {n_args} positional arguments"
            )
    return tuple(a % n_args for a in nums)


def _check_differentiable(leaves, fname, allow_int=False):
    for x in leaves:
        dt = get_aval(x).dtype
        if dt.kind not in "fc" and not allow_int:
            raise TypeError(
                f"{fname} requires real- or complex-valued inputs (input dtype "
                f"that is a sub-dtype of np.inexact), but got {dt.name}. If you "
                f"want to differentiate with respect to an integer value, convert "
                f"it to float first (x.astype(float)), or use vjp / "
                f"allow_int=True."
            )


def _check_holomorphic_inputs(leaves, fname):
    for x in leaves:
        dt = get_aval(x).dtype
        if dt.kind != "c":
            raise TypeError(
                f"{fname} with holomorphic=True requires inputs with complex dtype, "
                f"but got {dt.name}. Convert the input to complex "
                f"(x.astype(complex)) or drop holomorphic=True."
            )


def _check_output_dtypes(leaves, fname, holomorphic):
    for x in leaves:
        dt = get_aval(x).dtype
        if holomorphic and dt.kind != "c":
            raise TypeError(
                f"{fname} with holomorphic=True requires outputs with complex "
                f"dtype, but got {dt.name}"
            )
        if not holomorphic and dt.kind == "c":
            raise TypeError(
                f"{fname} requires real-valued outputs (output dtype that is a "
                f"sub-dtype of np.floating), but got {dt.name}. For holomorphic "
                f"differentiation, pass holomorphic=True."
            )


def _fun_name(f) -> str:
    return getattr(f, "__name__", type(f).__name__)
