"""dtypes: canonicalisation (32-bit unless x64 is on) and JAX's type-promotion lattice.

Python scalars are *weakly typed*: they adopt the dtype of the array they meet
(``f32_array + 2.0`` stays float32), exactly as in JAX.
"""

from __future__ import annotations

import functools

import numpy as np

from funcgrad.config import config

bool_ = np.dtype(np.bool_)
int8, int16, int32, int64 = (np.dtype(t) for t in ("int8", "int16", "int32", "int64"))
uint8, uint16, uint32, uint64 = (np.dtype(t) for t in ("uint8", "uint16", "uint32", "uint64"))
float16, float32, float64 = (np.dtype(t) for t in ("float16", "float32", "float64"))
complex64, complex128 = np.dtype("complex64"), np.dtype("complex128")


class _BFloat16Marker:
    """numpy has no bfloat16; funcgrad names it for the CUDA path only."""

    name = "bfloat16"


bfloat16 = _BFloat16Marker()

_X64_TO_X32 = {int64: int32, uint64: uint32, float64: float32, complex128: complex64}

# JAX's lattice: each node lists the nodes directly above it. 'i*', 'f*', 'c*' are the weak
# Python-scalar kinds.
_LATTICE = {
    "b1": ["i*"], "i*": ["u8", "i8"],
    "u8": ["i16", "u16"], "u16": ["i32", "u32"], "u32": ["i64", "u64"], "u64": ["f*"],
    "i8": ["i16"], "i16": ["i32"], "i32": ["i64"], "i64": ["f*"],
    "f*": ["f16", "c*"], "f16": ["f32"], "f32": ["f64", "c64"], "f64": ["c128"],
    "c*": ["c64"], "c64": ["c128"], "c128": [],
}
_CODE = {bool_: "b1", uint8: "u8", uint16: "u16", uint32: "u32", uint64: "u64", int8: "i8",
         int16: "i16", int32: "i32", int64: "i64", float16: "f16", float32: "f32",
         float64: "f64", complex64: "c64", complex128: "c128"}
_FROM_CODE = {v: k for k, v in _CODE.items()}


@functools.lru_cache(None)
def _upper(node: str) -> frozenset:
    out = {node}
    for n in _LATTICE[node]:
        out |= _upper(n)
    return frozenset(out)


@functools.lru_cache(None)
def _join(a: str, b: str) -> str:
    common = _upper(a) & _upper(b)
    for c in common:
        if all(o in _upper(c) for o in common):
            return c
    raise TypeError(f"no common type for {a} and {b}")  # unreachable for this lattice


def x64_enabled() -> bool:
    return bool(config.enable_x64)


def canonicalize(dtype) -> np.dtype:
    """The dtype funcgrad actually uses: 64-bit types become 32-bit unless x64 is enabled."""
    dt = np.dtype(dtype)
    if not x64_enabled():
        dt = _X64_TO_X32.get(dt, dt)
    return dt


def default_int() -> np.dtype:
    return int64 if x64_enabled() else int32


def default_float() -> np.dtype:
    return float64 if x64_enabled() else float32


def default_complex() -> np.dtype:
    return complex128 if x64_enabled() else complex64


def _weak_code(dtype: np.dtype) -> str:
    if dtype.kind == "b":
        return "b1"
    return {"i": "i*", "u": "i*", "f": "f*", "c": "c*"}[dtype.kind]


def lattice_code(dtype: np.dtype, weak: bool) -> str:
    return _weak_code(dtype) if weak else _CODE[np.dtype(dtype)]


def result_type(*typed: tuple) -> tuple[np.dtype, bool]:
    """Promote ``(dtype, weak_type)`` pairs; return ``(dtype, weak_type)`` of the result."""
    codes = [lattice_code(d, w) for d, w in typed]
    code = functools.reduce(_join, codes)
    if code in ("i*", "f*", "c*"):
        dt = {"i*": default_int, "f*": default_float, "c*": default_complex}[code]()
        # a weak kind that met only weak values keeps the widest weak dtype seen
        return dt, True
    return canonicalize(_FROM_CODE[code]), False


def scalar_type(x) -> tuple[np.dtype, bool]:
    """The (dtype, weak) a Python scalar gets."""
    if isinstance(x, (bool, np.bool_)):
        return bool_, False
    if isinstance(x, int):
        return default_int(), True
    if isinstance(x, float):
        return default_float(), True
    if isinstance(x, complex):
        return default_complex(), True
    raise TypeError(f"not a Python scalar: {x!r}")


def is_float(dtype) -> bool:
    return np.dtype(dtype).kind in "fc"


def is_int(dtype) -> bool:
    return np.dtype(dtype).kind in "iu"


def is_inexact(dtype) -> bool:
    return np.dtype(dtype).kind in "fc"


def finfo(dtype):
    return np.finfo(canonicalize(dtype))


def iinfo(dtype):
    return np.iinfo(canonicalize(dtype))


def short_name(dtype) -> str:
    dt = np.dtype(dtype)
    return {"b": "bool", "i": "i", "u": "u", "f": "f", "c": "c"}[dt.kind] + (
        "" if dt.kind == "b" else str(dt.itemsize * 8 if dt.kind != "c" else dt.itemsize * 8))
