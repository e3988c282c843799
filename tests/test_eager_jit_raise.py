"""Eager and jit agree on raising (issue 17.5): every case of the malformed-input table
(``tests/support/raise_cases.py``: public numpy, lax and nn functions on wrong dtypes, rank
mismatches, bool/complex where floats are expected, empty arrays, negative sizes, axes out of
range, ...) raises the same kind of exception, or returns the same dtype, shape and values,
eagerly and under ``jit``; and agrees with jax 0.10.2's recorded outcome
(``tests/data/jax_raise_cases.json``) except for the documented classes below
(docs/sharp-bits.md, "Eager, jit and JAX on malformed input")."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from support import raise_cases as rc

import funcgrad as fg
import funcgrad.lax as flax
import funcgrad.nn as fnn
import funcgrad.numpy as fnp

SPACES = {"numpy": fnp, "lax": flax, "nn": fnn}
CASES = rc.cases()
BY_ID = {c[0]: c for c in CASES}
JAX = json.loads((Path(__file__).parent / "data" / "jax_raise_cases.json").read_text())["results"]

# JAX fails inside its own machinery (no check of its own): funcgrad raises a clean error
_JAX_INTERNAL = ("AssertionError", "MLIRError", "ZeroDivisionError")
_JAX_INTERNAL_TEXT = ("gather op is out of range", "index is out of bounds for axis 0 with size 0")

# nn activations: funcgrad computes integer/bool input in the default float (JAX raises for
# some, keeps the integer dtype for others)
_NN_FLOAT = {"sigmoid", "silu", "softmax", "log_softmax", "log_sigmoid", "relu", "hard_tanh"}

# single documented differences: case id -> reason
KNOWN = {
    "numpy.round(bool[3])": "bool input is returned unchanged, as numpy (JAX raises)",
    "numpy.argmax(c64[3])": "complex input ordered lexicographically, as numpy (JAX raises)",
    "numpy.argmin(c64[3])": "complex input ordered lexicographically, as numpy (JAX raises)",
    "numpy.median(f32[2,3], axis=(0, 0))": "a repeated axis is a TypeError (JAX ValueError)",
    "numpy.ldexp(bool[3], bool[3])": "x2 must be an integer array, as numpy (JAX promotes)",
    "numpy.float_power(f16[3], i32[3])": "computed in the canonical float64, as numpy",
    "numpy.kron(bool[3], bool[3])": "bool products are logical and, as numpy (JAX raises)",
    "numpy.reshape(f32[3], (-2,))": "a negative size other than -1 raises, as numpy",
    "lax.round(i32[3])": "lax.round keeps integers unchanged (JAX raises)",
    "lax.cumsum(bool[3])": "bool cumulative ops are logical, as numpy (JAX raises)",
    "lax.cummax(bool[3])": "bool cumulative ops are logical, as numpy (JAX raises)",
    "lax.dot(i32[3], f32[3])": "lax does not promote mixed dtypes (JAX's lax.dot does)",
    "lax.bitcast_convert_type(f32[3], int16)": "only same-width bitcasts (JAX reshapes)",
    "nn.standardize(c64[3])": "complex input is standardised (JAX raises in its clip)",
    "nn.one_hot(i32[3], -1)": "num_classes < 1 gives no classes (JAX raises)",
    "nn.one_hot(bool[3], 2)": "bool labels count as 0/1 (JAX raises)",
}


@functools.cache
def _eager(cid):
    return rc.outcome(SPACES, fg.jit, BY_ID[cid], False)


def _documented(case, ours, jax) -> bool:
    """A difference from JAX of a documented class."""
    cid, ns, name, args, _ = case
    complex_in = any(isinstance(a, str) and a.startswith("@c64") for a in args)
    if cid in KNOWN:
        return True
    if complex_in and ours[0] == "raise" and "TypeError" in ours[1] and jax[0] == "ok":
        return True  # complex numbers have no order: max/min/compare/relu... raise
    if ours[0] == "raise" and set(ours[1]) & {"TypeError", "ValueError", "IndexError"}:
        if jax[0] == "raise" and (
            jax[1][0] in _JAX_INTERNAL or any(t in jax[2] for t in _JAX_INTERNAL_TEXT)
        ):
            return True
    if ours[0] == "ok" and jax[0] == "raise" and any(t in jax[2] for t in _JAX_INTERNAL_TEXT):
        return True  # (median of an empty array: NaN, as numpy)
    return ns == "nn" and name in _NN_FLOAT and not complex_in and ours[0] == "ok"


def _chunks(n):
    return [CASES[i::n] for i in range(n)]


@pytest.mark.parametrize("part", range(4))
def test_eager_and_jit_agree(part):
    bad = []
    for case in _chunks(4)[part]:
        eager, jitted = _eager(case[0]), rc.outcome(SPACES, fg.jit, case, True)
        if eager is not None and not rc.agree(eager, jitted):
            bad.append(f"{case[0]}: eager {eager[:3]} / jit {jitted[:3]}")
    assert not bad, f"{len(bad)} cases disagree:\n" + "\n".join(bad)


@pytest.mark.parametrize("part", range(4))
def test_agrees_with_jax_or_a_documented_difference(part):
    bad = []
    for case in _chunks(4)[part]:
        jax = JAX.get(case[0])
        ours = _eager(case[0])
        if ours is None or jax is None or jax[0] == "missing":
            continue
        if not rc.agree_with_jax(ours, tuple(jax)) and not _documented(case, ours, tuple(jax)):
            bad.append(f"{case[0]}: funcgrad {ours[:3]} / jax {tuple(jax)[:3]}")
    assert not bad, f"{len(bad)} cases differ from JAX:\n" + "\n".join(bad)


def test_known_differences_are_still_differences():
    """Each KNOWN entry is a real case that still differs (no stale allow-list entries)."""
    for cid in KNOWN:
        ours = _eager(cid)
        assert not rc.agree_with_jax(ours, tuple(JAX[cid])), cid


def test_the_table_is_broad():
    names = {(c[1], c[2]) for c in CASES}
    assert len(CASES) > 600 and len(names) > 150, (len(CASES), len(names))
    assert sum(1 for c in CASES if JAX[c[0]][0] != "missing") > 550
