"""JAX's strictness for the public ``funcgrad.lax`` functions.

``lax`` functions do not promote: every operand, Python scalars included, has its canonical
dtype (``1`` is int32, ``1.0`` float32, ``True`` bool), and the operands of an elementwise
function must share one dtype, or a ``TypeError`` with JAX's message is raised
(``lax.add(x_f32, 1.0)`` works, ``lax.add(x_i32, 1.0)`` does not). funcgrad's own numpy layer
and library promote first and call the lenient functions of ``funcgrad._src.lax`` directly;
``funcgrad.lax`` exports the checked wrappers made here.
"""

from __future__ import annotations

import functools

from funcgrad._src.lax.common import Array, Tracer, dtypes, get_aval, np

# funcgrad.lax name -> the jax.numpy function that promotes (JAX's "Tip" in its message)
_TIPS = {
    "add": "add",
    "sub": "subtract",
    "mul": "multiply",
    "div": "divide",
    "rem": "remainder",
    "max": "maximum",
    "min": "minimum",
    "eq": "equal",
    "ne": "not_equal",
    "pow": "power",
    "select": "where",
    "select_n": "where",
}
_KIND_WORDS = (
    ("b", "bool"),
    ("iu", "integer"),
    ("i", "signedinteger"),
    ("u", "unsignedinteger"),
    ("f", "floating"),
    ("c", "complexfloating"),
)


def _kinds_text(kinds: str) -> str:
    words, left = [], set(kinds)
    for ks, word in _KIND_WORDS:
        if set(ks) <= left:
            words.append(word)
            left -= set(ks)
    return ", ".join(words)


def operand_dtype(name: str, x, pos: int) -> np.dtype:
    """The dtype ``lax`` gives an operand: Python scalars their canonical (default) dtype.

    Raises:
      TypeError: for values that are not arrays or scalars (lists, tuples, strings...).
    """
    if isinstance(x, (Array, Tracer)):
        return get_aval(x).dtype
    if isinstance(x, (np.ndarray, np.generic)):
        return dtypes.canonicalize(x.dtype)
    if isinstance(x, (bool, int, float, complex)):
        return dtypes.scalar_type(x)[0]
    raise TypeError(
        f"Error interpreting argument to {name} as a JAX value. The problematic value is "
        f"of type {type(x)} and was passed to {name} at position {pos}.\n"
    )


def check_kinds(name: str, dts, kinds) -> None:
    """JAX's "does not accept dtype" error when an operand's kind is not allowed."""
    for pos, (dt, ks) in enumerate(zip(dts, kinds)):
        if dt.kind not in ks:
            at = f" at position {pos}" if len(dts) > 1 else ""
            raise TypeError(
                f"{name} does not accept dtype {dt.name}{at}. Accepted dtypes{at} are "
                f"subtypes of {_kinds_text(ks)}."
            )


def check_same(name: str, dts) -> None:
    """JAX's "requires arguments to have the same dtypes" error."""
    if len({np.dtype(d) for d in dts}) > 1:
        tip = _TIPS.get(name)
        tip = (
            f" (Tip: jnp.{tip} is a similar function that does automatic type promotion on inputs)."
            if tip
            else ""
        )
        got = ", ".join(np.dtype(d).name for d in dts)
        raise TypeError(f"lax.{name} requires arguments to have the same dtypes, got {got}.{tip}")


def _elementwise(fn, name: str, kinds):
    @functools.wraps(fn)
    def checked(*args):
        dts = [operand_dtype(name, x, i) for i, x in enumerate(args)]
        check_kinds(name, dts, kinds)
        if name != "pow" or dts[1].kind in "fc":  # pow takes an integer exponent of any type
            check_same(name, dts)
        return fn(*args)

    return checked


def _select_n(fn):
    @functools.wraps(fn)
    def checked(which, *cases):
        operand_dtype("select_n", which, 0)
        check_same("select", [operand_dtype("select_n", c, i + 1) for i, c in enumerate(cases)])
        return fn(which, *cases)

    return checked


def _select(fn):
    @functools.wraps(fn)
    def checked(pred, on_true, on_false):
        operand_dtype("select", pred, 0)
        dts = [operand_dtype("select", c, i + 1) for i, c in enumerate((on_true, on_false))]
        check_same("select", dts[::-1])
        return fn(pred, on_true, on_false)

    return checked


def _clamp(fn):
    @functools.wraps(fn)
    def checked(lo, x, hi):
        check_same("clamp", [operand_dtype("clamp", v, i) for i, v in enumerate((lo, x, hi))])
        return fn(lo, x, hi)

    return checked


def _pow(fn):
    check = _elementwise(lambda x, y: None, "pow", ("fc", "iufc"))

    @functools.wraps(fn)
    def checked(x, y):
        check(x, y)
        dx, dy = operand_dtype("pow", x, 0), operand_dtype("pow", y, 1)
        if dy.kind in "iu" and dx != dy:  # an integer exponent: cast to x's dtype (exact)
            from funcgrad._src.lax.elementwise import convert_element_type

            y = convert_element_type(y if isinstance(y, (Array, Tracer)) else np.asarray(y), dx)
        return fn(x, y)

    return checked


_SPECIAL = {"select_n": _select_n, "select": _select, "clamp": _clamp, "pow": _pow}


def strict_namespace(namespace: dict) -> dict:
    """The checked versions of the elementwise functions in ``namespace``.

    Args:
      namespace: a module's names (``funcgrad.lax``'s ``globals()``).

    Returns:
      A dict ``name -> checked function`` for every elementwise function found.
    """
    out = {}
    for name, fn in namespace.items():
        if name in _SPECIAL:
            out[name] = _SPECIAL[name](fn)
        elif callable(fn) and hasattr(fn, "lax_kinds"):
            out[name] = _elementwise(fn, fn.__name__, fn.lax_kinds)
    return out
