"""Hand-written native kernels for single equations (``kernel_ir.OpKernel`` steps).

The fusion pass turns elementwise/broadcast/reduction/dot chains into loop kernels; what does
not fit that shape (convolution, gather/scatter, sort, cumulative sums, control flow, ...) is
run by an *op kernel*: a function written here with llvmlite that takes the pointers of its
(contiguous) input buffers, output buffers and an optional scratch buffer, in that order.

Each op module registers ``(check, emit)`` for a primitive name:

- ``check(eqn) -> int | None``: the scratch bytes the kernel needs for this equation, or None
  when this case is not supported (the equation then runs as a numpy ``Fallback`` step);
- ``emit(module, program, step, name, num_threads) -> ir.Function``: define the kernel
  ``void name(ptr, ptr, ...)`` in ``module``, one pointer per ``kernel_ir.op_buffers(step)`` entry.

``check`` must be cheap and must say no to anything ``emit`` cannot compile: the compiler
never meets a case it cannot lower.
"""

from __future__ import annotations

from funcgrad.backend import kernel_ir as K
from llvmlite import ir

from .. import engine

PTR = ir.PointerType()
EMITTERS: dict = {}  # primitive name -> (check, emit)


def register(name: str, check, emit) -> None:
    EMITTERS[name] = (check, emit)


def native_check(eqn):
    """The fusion pass's ``native`` hook: scratch bytes for ``eqn``, or None (not native)."""
    entry = EMITTERS.get(eqn.primitive.name)
    if entry is None:
        return None
    return entry[0](eqn)


def new_function(module, name: str, nargs: int) -> ir.Function:
    """An internal ``void name(ptr * nargs)`` (pointers may alias among the inputs)."""
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR] * nargs), name)
    fn.linkage = "internal"
    engine.set_function_attributes(fn, nocapture=True)
    return fn


def emit(module, program, step: K.OpKernel, name: str, num_threads: int):
    """Define the op kernel of ``step``; returns (function, buffer ids it takes)."""
    _, emit_fn = EMITTERS[step.eqn.primitive.name]
    return emit_fn(module, program, step, name, num_threads), K.op_buffers(step)


from . import control, conv, indexing, linalg, sort_scan  # noqa: E402,F401 (they register themselves)
