"""Hand-written PTX kernels for single equations (``kernel_ir.OpKernel`` steps) on CUDA.

The counterpart of ``backend/cpu/ops``: each op module registers ``(check, emit)`` for a
primitive name:

- ``check(eqn) -> int | None``: scratch bytes (a device temporary) for this equation, or None
  when the case is not supported (the program then has a ``Fallback`` step, which the CUDA
  backend rejects with ``CudaUnsupportedError``: nothing runs on the CPU behind your back);
- ``emit(module, program, step, index) -> list[Launch]``: define the kernels (``.entry``
  functions whose pointer arguments are ``Launch.buffers``) and say how to launch them, in order.
"""

from __future__ import annotations

from funcgrad.backend import kernel_ir as K

EMITTERS: dict = {}  # primitive name -> (check, emit)


def register(name: str, check, emit) -> None:
    EMITTERS[name] = (check, emit)


def native_check(eqn):
    entry = EMITTERS.get(eqn.primitive.name)
    return None if entry is None else entry[0](eqn)


# op kernels that take complex64/complex128 operands too (the fusion pass asks only these, and
# control flow, for complex equations): they move whole elements (loads, stores, selects of the
# complex struct), except scatter_add, which adds each part with a float atomic (the scatter
# check refuses complex mul/min/max combines). Not here: sort, cumsum, conv, linalg.
native_check.complex_ops = frozenset(
    {
        "gather",
        "scatter",
        "scatter_add",
        "dynamic_slice",
        "dynamic_update_slice",
        "concatenate",
        "pad",
    }
)


def emit(module, program, step: K.OpKernel, index: int) -> list:
    _, emit_fn = EMITTERS[step.eqn.primitive.name]
    return list(emit_fn(module, program, step, index))


from . import control, conv, indexing, linalg, sort_scan  # noqa: E402,F401 (they register themselves)
