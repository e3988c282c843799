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


class BFloat16DType:
    """The bfloat16 dtype (8 exponent bits, 7 mantissa bits), which numpy does not have.

    funcgrad keeps a bfloat16 array's values in a float32 numpy buffer, every value exactly
    representable in bfloat16: each primitive that produces bfloat16 computes in float32 and
    rounds its result to the nearest bfloat16 (ties to even), the way XLA's CPU backend
    computes bfloat16. ``np.asarray`` of such an array therefore gives float32 values; on the
    CUDA path the device buffers hold real 16-bit bfloat16. Compares equal to itself,
    ``fnp.bfloat16`` and the string ``"bfloat16"``.
    """

    name = "bfloat16"
    kind = "f"
    char = "E"
    itemsize = 2
    alignment = 2
    byteorder = "="
    shape = ()
    ndim = 0
    names = None
    fields = None
    subdtype = None
    isbuiltin = 0
    physical = np.dtype("float32")  # the numpy dtype of the buffers that hold the values
    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __eq__(self, other):
        if other is self:
            return True
        if isinstance(other, str):
            return other == "bfloat16"
        return getattr(other, "dtype", None) is self

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash("bfloat16")

    def __repr__(self):
        return "dtype(bfloat16)"

    def __str__(self):
        return "bfloat16"

    def __reduce__(self):
        return (BFloat16DType, ())

    @property
    def type(self):
        from funcgrad._src.scalar_types import BFLOAT16

        return BFLOAT16


bfloat16 = BFloat16DType()


def as_dtype(x):
    """``np.dtype(x)``, extended with bfloat16 (public as ``funcgrad.numpy.dtype``).

    Not canonicalised: ``fnp.dtype("float64")`` is float64 even without x64 (arrays made
    with it are float32 then).

    Args:
      x: a dtype, dtype name (``"float32"``, ``"bfloat16"``), scalar type (``fnp.int8``,
        ``float``) or a funcgrad Array (its dtype). numpy arrays are refused, as by
        ``np.dtype``.

    Returns:
      A ``numpy.dtype``, or ``funcgrad.numpy.bfloat16``.

    Raises:
      TypeError: if ``x`` is not dtype-like.
    """
    if (
        x is bfloat16
        or getattr(x, "dtype", None) is bfloat16
        or (isinstance(x, str) and x == "bfloat16")
    ):
        return bfloat16
    return np.dtype(x)


def is_bf16(dt) -> bool:
    return dt is bfloat16


def physical(dt):
    """The numpy dtype of the buffer holding values of ``dt`` (float32 for bfloat16)."""
    return np.dtype("float32") if dt is bfloat16 else dt


_BF16_ROUND = np.uint32(0x7FFF)


def round_to_bfloat16(x) -> np.ndarray:
    """float32 values rounded to the nearest bfloat16 (ties to even), still float32; NaN stays
    a NaN of the same sign, overflow gives inf (as a bfloat16 conversion does)."""
    x = np.asarray(x, dtype=np.float32)
    u = x.view(np.uint32)
    r = (u + _BF16_ROUND + ((u >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
    nan = np.isnan(x)
    if nan.any():
        r = np.where(nan, (u | np.uint32(0x00400000)) & np.uint32(0xFFFF0000), r)
    return np.asarray(r, dtype=np.uint32).view(np.float32)


# Control flow on bfloat16 values runs its inner jaxprs on float32 buffers, rewritten to round
# after every equation like the eager path: the bfloat16 legalisation of the compiled targets
# (funcgrad.backend.lower.bf16). The eager path must not import the backends, so it reaches that
# rewrite through this slot, which funcgrad.backend fills when it is imported (with funcgrad:
# funcgrad/_src/jit.py imports the target registry).
bf16_hooks: dict = {}


def legalize_param(value):
    """A primitive parameter with every inner jaxpr (and bfloat16 dtype) in its float32 form."""
    return bf16_hooks["legalize_param"](value)


def bfloat16_bits(x) -> np.ndarray:
    """The uint16 bit patterns of (already rounded) bfloat16 values held as float32."""
    return (np.ascontiguousarray(x, dtype=np.float32).view(np.uint32) >> np.uint32(16)).astype(
        np.uint16
    )


def bfloat16_from_bits(bits) -> np.ndarray:
    """float32 values of bfloat16 bit patterns (uint16)."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << np.uint32(16)).view(np.float32)


class _BFloat16Info:
    """``fnp.finfo(fnp.bfloat16)``."""

    bits = 16
    dtype = bfloat16
    eps = np.float32(2.0**-7)
    epsneg = np.float32(2.0**-8)
    max = np.float32(3.3895313892515355e38)
    min = np.float32(-3.3895313892515355e38)
    tiny = smallest_normal = np.float32(2.0**-126)
    smallest_subnormal = np.float32(2.0**-133)
    resolution = np.float32(0.01)
    precision = 2
    nmant = 7
    nexp = 8
    maxexp = 128
    minexp = -126

    def __repr__(self):
        return "finfo(resolution=0.01, min=-3.38953e+38, max=3.38953e+38, dtype=bfloat16)"


def finfo_of(dt):
    """Machine limits of a floating dtype (``numpy.finfo``, knowing bfloat16; ``fnp.finfo``).

    Args:
      dt: a floating or complex dtype, dtype name, scalar type or array (complex gives the
        limits of its real part). Not canonicalised: float64 gives float64's limits.

    Returns:
      A ``numpy.finfo`` (``eps``, ``max``, ``min``, ``tiny``, ``bits``, ``resolution``...),
      or an object with the same attributes for bfloat16.

    Raises:
      ValueError: for an integer or bool dtype (use ``fnp.iinfo``).
      TypeError: if ``dt`` is not dtype-like.
    """
    return _BFloat16Info() if as_dtype(dt) is bfloat16 else np.finfo(dt)


_X64_TO_X32 = {int64: int32, uint64: uint32, float64: float32, complex128: complex64}

# JAX's lattice: each node lists the nodes directly above it. 'i*', 'f*', 'c*' are the weak
# Python-scalar kinds.
_LATTICE = {
    "b1": ["i*"],
    "i*": ["u8", "i8"],
    "u8": ["i16", "u16"],
    "u16": ["i32", "u32"],
    "u32": ["i64", "u64"],
    "u64": ["f*"],
    "i8": ["i16"],
    "i16": ["i32"],
    "i32": ["i64"],
    "i64": ["f*"],
    "f*": ["bf16", "f16", "c*"],
    "bf16": ["f32"],
    "f16": ["f32"],
    "f32": ["f64", "c64"],
    "f64": ["c128"],
    "c*": ["c64"],
    "c64": ["c128"],
    "c128": [],
}
_CODE = {
    bool_: "b1",
    uint8: "u8",
    uint16: "u16",
    uint32: "u32",
    uint64: "u64",
    int8: "i8",
    int16: "i16",
    int32: "i32",
    int64: "i64",
    float16: "f16",
    bfloat16: "bf16",
    float32: "f32",
    float64: "f64",
    complex64: "c64",
    complex128: "c128",
}
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
    """The dtype funcgrad actually uses: 64-bit types become 32-bit unless x64 is enabled.

    Non-native byte orders become native (the values are converted where arrays are made).

    Raises:
      TypeError: for a dtype funcgrad cannot hold (strings, bytes, objects, void and structured
        types, datetimes, the ``ml_dtypes`` extension types): this is the check that keeps
        such data away from the compiled code.
    """
    dt = as_dtype(dtype)
    if dt is bfloat16:
        return dt
    if dt.kind not in "biufc":
        raise TypeError(unsupported_dtype_message(dt))
    if not dt.isnative:
        dt = dt.newbyteorder("=")
    if not x64_enabled():
        dt = _X64_TO_X32.get(dt, dt)
    return dt


_KIND_NAMES = {"U": "string", "S": "bytes", "O": "object", "M": "datetime", "m": "timedelta"}


def unsupported_dtype_message(dt: np.dtype) -> str:
    """Why funcgrad refuses ``dt``, and what to convert to instead."""
    kind = _KIND_NAMES.get(dt.kind, "void/structured or extension (e.g. ml_dtypes)")
    hint = {
        "M": "convert to integers first, e.g. x.astype('int64') (or .view('int64'))",
        "m": "convert to integers first, e.g. x.astype('int64') (or .view('int64'))",
    }.get(dt.kind, "convert to a numeric dtype first, e.g. x.astype(np.float32)")
    return (
        f"funcgrad arrays hold bool, integer, float (and bfloat16) and complex values; "
        f"dtype {dt} ({kind}) is not supported: {hint}"
    )


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
    return _weak_code(dtype) if weak else _CODE[dtype if dtype is bfloat16 else np.dtype(dtype)]


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
    return as_dtype(dtype).kind in "fc"


def is_int(dtype) -> bool:
    return as_dtype(dtype).kind in "iu"


def is_inexact(dtype) -> bool:
    return as_dtype(dtype).kind in "fc"


def finfo(dtype):
    dt = canonicalize(dtype)
    return _BFloat16Info() if dt is bfloat16 else np.finfo(dt)


def iinfo(dtype):
    return np.iinfo(canonicalize(dtype))


def short_name(dtype) -> str:
    dt = as_dtype(dtype)
    if dt is bfloat16:
        return "bf16"
    return {"b": "bool", "i": "i", "u": "u", "f": "f", "c": "c"}[dt.kind] + (
        "" if dt.kind == "b" else str(dt.itemsize * 8 if dt.kind != "c" else dt.itemsize * 8)
    )


# ---- extended dtypes: the abstract type of typed PRNG keys (as jax.dtypes) -----------------------


class extended:  # noqa: N801 - JAX's name (jax.dtypes.extended)
    """The abstract dtype of JAX's extended dtypes: ``issubdtype(k.dtype, extended)``."""


class prng_key(extended):  # noqa: N801 - JAX's name (jax.dtypes.prng_key)
    """The abstract dtype of typed PRNG key arrays (``funcgrad.random.key``):
    ``funcgrad.dtypes.issubdtype(key.dtype, funcgrad.dtypes.prng_key)`` is true."""
