"""The ``ref`` target: the kernel program made by the shared middle, run by the numpy
interpreter ``kernel_ir.interpret`` (the living definition every compiled target is tested
against). It fuses exactly what the compiled targets fuse (the scalar table's ``can_emit``), so
``jit(f, backend="ref")`` runs the programs they run, one numpy operation at a time.
"""

from __future__ import annotations

import numpy as np
from funcgrad.backend import kernel_ir as K
from funcgrad.backend import lower
from funcgrad.backend.lower import bf16


def _dtype_ok(dtype) -> bool:
    try:
        return np.dtype(dtype).kind in "biufc"
    except TypeError:  # bfloat16 is legalised away before the fusion pass
        return False


def _can_dot(dtype) -> bool:
    dt = np.dtype(dtype)
    return dt.kind in "fc" and dt.itemsize >= 4


def _can_emit(name, in_dtypes, out_dtype, params=None) -> bool:
    from funcgrad.backend.llvm import scalar  # the one table that says what is elementwise

    return scalar.can_emit(name, in_dtypes, out_dtype, params)


RULES = lower.Rules(_can_emit, _dtype_ok, _can_dot, None)


class RefExecutable:
    """A kernel program run by ``kernel_ir.interpret``: numpy arrays in (consts first)."""

    def __init__(self, jaxpr, name: str):
        self.jaxpr = lower.apply_rewrites(jaxpr, TARGET.rewrites)
        self.opt_jaxpr, self.program = lower.to_program(self.jaxpr, name or "fn", RULES)

    def __call__(self, *args) -> list:
        if len(args) != len(self.program.inputs):
            raise TypeError(f"expected {len(self.program.inputs)} arrays, got {len(args)}")
        return K.interpret(self.program, args)

    def as_text(self, stage: str) -> str:
        texts = {
            "ir-opt": lambda: str(self.opt_jaxpr),
            "kernels": lambda: K.program_str(self.program),
        }
        if stage not in texts:
            raise ValueError(
                f"unknown stage {stage!r} for the ref backend; use one of {sorted(texts)}"
            )
        return texts[stage]()

    def memory_report(self) -> dict:
        """Bytes: ``peak`` (every temporary, allocated for the call), ``inputs``, ``outputs``."""
        return K.memory_report(self.program)


class RefTarget:
    name = "ref"
    capabilities = frozenset()
    stages = ("ir-opt", "kernels")
    rewrites = (bf16.legalize,)

    def available(self) -> bool:
        return True

    def lower(self, jaxpr, name: str):
        return self.compile(jaxpr, name)

    def compile(self, jaxpr, name: str = "", donated: tuple = (), trace_ms=None):
        # on the jaxpr itself: a weak table keyed by the jaxpr would never free it (the
        # executable refers to its jaxpr); the cycle goes with the jaxpr
        exe = jaxpr.__dict__.get("_ref_executable")
        if exe is None:
            exe = RefExecutable(jaxpr, name)
            object.__setattr__(jaxpr, "_ref_executable", exe)
        return exe


TARGET = RefTarget()
