"""The one builder of CUDA op kernels: an ``.entry`` function of an op step, its pointer
arguments, the index type of its arithmetic and how to launch it."""

from __future__ import annotations

import contextlib

import numpy as np
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.llvm import scalar as S
from llvmlite import ir

from .. import codegen, ptx
from ..ptx import i32, i64


def index_type(*sizes) -> ir.IntType:
    """i32 index arithmetic when every position and coordinate fits (cheaper division by
    constants), else i64. Callers pass sizes and the magnitudes of offsets they add."""
    return i32 if max((abs(int(s)) for s in sizes), default=0) < 2**30 else i64


def is_literal(x) -> bool:
    return isinstance(x, tuple) and x[0] == "lit"


class Kernel:
    """One ``.entry`` function of an op step: its builder ``b``, its pointer arguments
    (``args``: buffer id -> argument; ``ins``/``outs``/``scratch`` for ``for_step``) and the
    index type ``ity`` of its arithmetic. ``written``: the buffers it stores to (the others are
    read through the read-only data cache)."""

    def __init__(self, module, program, index, suffix, ids, written, ity=i64, noalias=True):
        self.name = f"{codegen.kernel_name(program, index)}_{suffix}"
        fn, self.b = ptx.new_kernel(module, self.name, [ptx.ptr] * len(ids), [f"b{i}" for i in ids])
        if noalias:
            for arg in fn.args:
                arg.add_attribute("noalias")  # distinct buffers of a program never alias
        self.program, self.step, self.ids, self.ity = program, index, tuple(ids), ity
        self.params = fn.args
        self.args = dict(zip(ids, fn.args))
        self.readonly = set(ids) - set(written)

    @classmethod
    def for_buffers(cls, module, program, index, suffix, inputs, written, ity) -> Kernel:
        """A kernel taking each distinct buffer of ``inputs`` once (literals are constants)."""
        ids = tuple(dict.fromkeys(i for i in inputs if not is_literal(i)))
        return cls(module, program, index, suffix, ids, written, ity)

    @classmethod
    def for_step(cls, module, program, step: K.OpKernel, index, suffix) -> Kernel:
        """A kernel taking ``kernel_ir.op_buffers(step)`` in order (a buffer passed twice is
        two arguments): ``ins``, ``outs`` and ``scratch`` are its parameters."""
        ids = K.op_buffers(step)
        k = cls(module, program, index, suffix, ids, ids, noalias=False)
        n_in, n_out = sum(isinstance(i, int) for i in step.inputs), len(step.outputs)
        k.ins, k.outs = k.params[:n_in], k.params[n_in : n_in + n_out]
        k.scratch = k.params[n_in + n_out] if step.scratch >= 0 else None
        return k

    def c(self, value: int) -> ir.Constant:
        return ir.Constant(self.ity, int(value))

    def dtype(self, buf: int) -> np.dtype:
        return self.program.buffer(buf).dtype

    def ptr(self, buf: int, index) -> ir.Value:
        etype = S.storage_type(self.dtype(buf))
        return self.b.gep(self.args[buf], [index], inbounds=True, source_etype=etype)

    def read(self, src, index) -> ir.Value:
        """Element ``index`` of a buffer input, or the value of a ``("lit", value)`` input, as
        a register value."""
        if is_literal(src):
            return S.const(src[1].dtype, src[1].item())
        dt = self.dtype(src)
        value = self.b.load(self.ptr(src, index), typ=S.storage_type(dt))
        if src in self.readonly:  # lets NVPTX use the read-only data cache (ld.global.nc)
            value.set_metadata("invariant.load", self.b.module.add_metadata([]))
        return S.to_register(self.b, value, dt)

    def store(self, buf: int, index, value) -> None:
        self.b.store(S.to_memory(self.b, value, self.dtype(buf)), self.ptr(buf, index))

    @contextlib.contextmanager
    def elements(self, n: int):
        """A grid-stride loop over ``range(n)``; yields the position in the index type."""
        with ptx.emit_grid_stride_loop(self.b, i64(n)) as i:
            yield self.b.trunc(i, self.ity) if self.ity.width < 64 else i

    def launch(self, kind: str, n: int) -> codegen.Launch:
        """Finish the kernel; the launch of ``n`` grid-stride elements (or rows, a thread each;
        none when ``n == 0``)."""
        grid = min(codegen.cdiv(n, codegen.BLOCK), codegen.MAX_BLOCKS) if n else 0
        return self.launch_grid(kind, grid, codegen.BLOCK)

    def launch_grid(self, kind: str, grid: int, block: int) -> codegen.Launch:
        """Finish the kernel; a launch of ``grid`` blocks of ``block`` threads."""
        self.b.ret_void()
        return codegen.Launch(self.name, self.step, kind, self.ids, (grid,), (block,))
