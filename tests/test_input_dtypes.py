"""Issue 21, part 2: nothing of an unsupported dtype reaches native code.

Strings, bytes, objects, void/structured, datetime/timedelta and extension (ml_dtypes) data is
refused with a TypeError naming the dtype at every entry point (Array construction, asarray,
jit arguments, lax inputs), eagerly and under jit; non-native byte orders are converted.
"""

import re

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

BAD = {
    "string": np.array(["a", "b"], "<U16"),
    "bytes": np.array([b"a", b"b"]),
    "object": np.array([1.0, None], object),
    "void": np.zeros(2, "V4"),
    "structured": np.zeros(2, [("a", "f4")]),
    "datetime": np.array(["2020-01-01", "2021-01-01"], "datetime64[D]"),
    "timedelta": np.array([1, 2], "timedelta64[s]"),
}

ENTRY_POINTS = {
    "Array": fg.Array,
    "asarray": fnp.asarray,
    "array": fnp.array,
    "jit identity": fg.jit(lambda v: v),
    "jit arithmetic": fg.jit(lambda v: v * 2),
    "lax.neg": lax.neg,
    "jit lax.neg": fg.jit(lax.neg),
    "top_k": lambda v: lax.top_k(v, 1),
    "jit top_k": fg.jit(lambda v: lax.top_k(v, 1)),
    "fnp.sin": fnp.sin,
    "grad": fg.grad(lambda v: fnp.sum(v)),
    "vmap": fg.vmap(lambda v: v),
    "zeros of dtype": lambda v: fnp.zeros(2, v.dtype),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("kind", BAD)
def test_unsupported_dtype_is_a_clear_type_error(kind, entry):
    x = BAD[kind]
    with pytest.raises(TypeError, match=re.escape(str(x.dtype))):
        ENTRY_POINTS[entry](x)


def test_the_issue_repros():
    with pytest.raises(TypeError, match=r"<U16 \(string\).*convert"):
        fg.jit(lambda v: v)(np.array(["a", "b"], "<U16"))
    with pytest.raises(TypeError, match="string"):
        fg.jit(lambda: lax.top_k([1.0, "a"], 2))()
    with pytest.raises(TypeError, match="string"):
        lax.top_k([1.0, "a"], 2)  # returned a string Array
    with pytest.raises(TypeError, match="datetime.*int64"):
        fnp.asarray(BAD["datetime"])


def test_ml_dtypes_types_are_refused():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    for name in ("bfloat16", "float8_e4m3fn", "int4"):
        x = np.zeros(3, getattr(ml_dtypes, name))
        for f in (fnp.asarray, fg.jit(lambda v: v), lax.neg):
            with pytest.raises(TypeError, match="not supported"):
                f(x)


@pytest.mark.parametrize("dt", [">f4", ">f8", ">i4", ">i2", ">u4", ">c8"])
def test_big_endian_input_is_converted(dt):
    x = np.arange(1, 5).astype(dt)
    want = x.astype(x.dtype.newbyteorder("=")) * 2
    for got in (
        fnp.asarray(x) * 2,
        fg.jit(lambda v: v * 2)(x),
        fg.vmap(lambda v: v * 2)(x),
        fg.Array(x) * 2,
        fnp.multiply(x, 2),
    ):
        got = np.asarray(got)
        assert got.dtype.isnative
        np.testing.assert_array_equal(got, want.astype(got.dtype))
    g = fg.grad(lambda v: fnp.sum(v * v))(np.array([1.0, 2.0], ">f4"))
    np.testing.assert_array_equal(np.asarray(g), [2.0, 4.0])
