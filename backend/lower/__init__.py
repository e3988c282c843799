"""The shared middle: jaxpr -> kernel program (``funcgrad.backend.kernel_ir``), used by every
target. ``bf16`` (bfloat16 legalisation) and ``rewrite`` (jaxpr rewrites by retracing) are a
target's ``rewrites``; ``passes`` (inlining, DCE, CSE, folding) and ``fusion`` (the fusion pass,
asking the target's ``Rules`` what it can do) make the program.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from . import fusion, passes


class Rules(NamedTuple):
    """What a target tells the fusion pass it can do."""

    can_emit: Callable  # (primitive name, in dtypes, out dtype, params) -> bool: elementwise
    dtype_ok: Callable  # dtype -> bool: loops, dots and op kernels load and store it
    can_dot: Callable  # dtype -> bool: a Dot step (else dot_general is an op kernel/fallback)
    native: Callable | None = None  # eqn -> scratch bytes of an op kernel, or None


def apply_rewrites(jaxpr, rewrites):
    """``jaxpr`` after each of a target's ``rewrites`` in turn."""
    for rewrite in rewrites:
        jaxpr = rewrite(jaxpr)
    return jaxpr


def to_program(jaxpr, name: str, rules: Rules, aliases=None, timings: dict | None = None):
    """``(optimised jaxpr, kernel program)``; ``timings`` (when given) gets the milliseconds of
    ``"passes"`` and ``"fusion"``."""
    t0 = time.perf_counter()
    opt = passes.optimize(jaxpr)
    t1 = time.perf_counter()
    program = fusion.fuse(opt, name, *rules, aliases=aliases)
    if timings is not None:
        timings["passes"] = (t1 - t0) * 1e3
        timings["fusion"] = (time.perf_counter() - t1) * 1e3
    return opt, program
