"""Inputs for the op table (``op_table.py``): dtypes and one generator of random arguments.

An input *kind* says what values an argument takes: a name (below) or a ``(lo, hi)`` range
(floats uniform in [lo, hi), integers in [lo, hi], bools at random).
"""

from __future__ import annotations

import numpy as np

F16, F32, F64 = (np.dtype(d) for d in ("float16", "float32", "float64"))
I32, I64, U8, BOOL = (np.dtype(d) for d in ("int32", "int64", "uint8", "bool"))

_WIDE = [1e10, -1e10, np.nan, np.inf, -np.inf, 3.7, -3.7, 300.5, -129.5, 2.0**31, -(2.0**31) - 5]


def _float_kind(rng, kind: str, shape):
    n = int(np.prod(shape, dtype=np.int64))
    gen = {
        "normal": lambda: rng.standard_normal(shape),
        "pos": lambda: rng.uniform(0.5, 2.0, shape),
        "unit": lambda: rng.uniform(-0.9, 0.9, shape),
        "gt1": lambda: rng.uniform(1.2, 3.0, shape),
        "nonzero": lambda: rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape),
        "ties": lambda: rng.integers(-2, 3, shape).astype(np.float64),
        "distinct": lambda: (
            (rng.permutation(n).reshape(shape) - n / 2) * 0.5 + rng.uniform(-0.1, 0.1, shape)
        ),
        "wide": lambda: rng.choice(_WIDE, shape),
        "small_int": lambda: rng.integers(-8, 9, shape).astype(np.float64),
        "shift": lambda: rng.integers(-2, 40, shape).astype(np.float64),
        # halves (ties for rounding) and values in between
        "round": lambda: np.where(
            rng.random(shape) < 0.5,
            rng.integers(-8, 9, shape) * 0.5,
            rng.uniform(-4.0, 4.0, shape),
        ),
    }
    return gen[kind]()


def _int_kind(rng, kind: str, shape, gen):
    if kind in ("pos", "gt1"):
        return rng.integers(1, 5, shape)
    if kind == "nonzero":
        return rng.choice([-3, -2, -1, 1, 2, 3], shape)
    if kind in ("small_int", "shift", "ties"):
        return gen
    return np.round(gen * 3)


def _range(rng, lo, hi, shape, dtype):
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        return rng.integers(int(lo), int(hi) + 1, shape).astype(dtype)
    return rng.uniform(lo, hi, shape).astype(dtype)


def values(rng, kind, shape, dtype):
    """Random values of one kind; ``idx<n>`` / ``idx<lo>:<hi>`` are int32 indices in [0, n) /
    [lo, hi), ``uidx<n>`` unique int32 indices (shape (m, 1)), ``which3`` int32 in [0, 3)."""
    dtype = np.dtype(dtype)
    if isinstance(kind, tuple):
        return _range(rng, *kind, shape, dtype)
    if kind.startswith("uidx"):
        return rng.permutation(int(kind[4:]))[: shape[0]].reshape(shape).astype(np.int32)
    if kind.startswith("idx"):
        lo, hi = (int(v) for v in kind[3:].split(":")) if ":" in kind else (0, int(kind[3:]))
        return rng.integers(lo, hi, shape).astype(np.int32)
    if kind == "bool":
        return rng.random(shape) < 0.5
    if kind == "which3":
        return rng.integers(0, 3, shape).astype(np.int32)
    gen = _float_kind(rng, kind, shape)
    if dtype.kind in "iu":
        gen = _int_kind(rng, kind, shape, gen)
        if dtype.kind == "u":
            gen = np.abs(gen)
    if dtype.kind == "b":
        return gen > 0
    return np.asarray(gen).astype(dtype)


def is_value_kind(kind) -> bool:
    """Whether arguments of this kind take the case's dtype (indices and masks keep theirs)."""
    if isinstance(kind, tuple):
        return True
    return not (kind.startswith(("idx", "uidx")) or kind in ("bool", "which3"))


def kinds_for(op, n: int) -> tuple:
    """The input kind of each of ``n`` arguments (the last kind repeats)."""
    return op.kinds + (op.kinds[-1],) * (n - len(op.kinds))


def make_args(op, shapes, dtype, seed: int = 0) -> list:
    """Numpy arguments for one case of ``op``: one array per shape in ``shapes``."""
    rng = np.random.default_rng(seed)
    return [values(rng, k, s, dtype) for k, s in zip(kinds_for(op, len(shapes)), shapes)]
