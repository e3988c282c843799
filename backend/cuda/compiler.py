"""Lowering (jaxpr -> kernel program -> PTX) and execution of CUDA programs.

``lower_jaxpr(jaxpr)`` runs the CPU backend's jaxpr passes and fusion pass (the kernel program
is backend-neutral), ``lower_program(program)`` renders it with ``codegen.py`` into one PTX
module, and ``CudaLowered.compile()`` loads that module and returns a ``CudaExecutable`` that
allocates buffers with the caching allocator and launches the kernels in order on one stream.
A program with control flow (``cond``/``while``/``scan``) or debug callbacks
(``fg.debug.print``) also has host nodes among its launches (``ops/control.py``); the
executable then runs the plan with ``control.run_plan``, handing it a ``_DeviceRunner``
(launches, buffers, offset views, copies, reads back to the host, which wait for the GPU).
Lowering needs no GPU (tests assemble the PTX with ``ptxas``); ``compile()`` does.

>>> import numpy as np
>>> import funcgrad as fg, funcgrad.numpy as fnp
>>> lowered = lower_jaxpr(fg.make_jaxpr(lambda x: fnp.tanh(x) * 2.0)(np.ones(4, np.float32)))
>>> ".entry" in lowered.as_text("ptx")
True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.llvm import scalar

from . import codegen, ptx
from .codegen import CudaUnsupportedError, Launch  # noqa: F401 (re-export)
from .ops import control

# ---- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CudaLowered:
    """A program rendered to PTX: ``as_text(stage)``, ``kernels``, ``compile()``."""

    program: K.Program
    llvm_ir: str
    ptx: str
    kernels: tuple  # Launch (one or more per program step) or ops.control host node, in order
    arch: str
    consts: tuple = field(default=())  # values of leading inputs (a ClosedJaxpr's consts)

    def as_text(self, stage: str = "ptx") -> str:
        """``"kernels"`` (the kernel program), ``"llvm"`` (NVPTX LLVM IR) or ``"ptx"``."""
        texts = {
            "kernels": lambda: K.program_str(self.program),
            "llvm": lambda: self.llvm_ir,
            "ptx": lambda: self.ptx,
        }
        if stage not in texts:
            raise ValueError(
                f"unknown stage {stage!r} for the CUDA backend; use one of {sorted(texts)}"
            )
        return texts[stage]()

    def compile(self, device_index: int = 0) -> CudaExecutable:
        return CudaExecutable(self, device_index)


def lower_program(program: K.Program, arch: str = ptx.DEFAULT_ARCH, consts=()) -> CudaLowered:
    """Render ``program`` as one PTX module (raises ``CudaUnsupportedError`` for a Fallback)."""
    module, launches = codegen.emit_program(program, arch=arch)
    return CudaLowered(
        program, str(module), ptx.compile_ptx(module, arch), tuple(launches), arch, tuple(consts)
    )


def program_from_jaxpr(jaxpr, name: str = "jit") -> tuple[K.Program, tuple]:
    """The kernel program of a jaxpr (or ClosedJaxpr, whose consts become leading inputs),
    built by the shared middle (``funcgrad.backend.lower``) with CUDA's rewrites and rules:
    bfloat16 values live in float32 buffers (device too), rounded after each equation; complex
    dots become real ones (the dot kernels are real)."""
    from funcgrad.backend import lower

    from funcgrad._src import core

    from .target import TARGET

    consts: tuple = ()
    if isinstance(jaxpr, core.ClosedJaxpr):
        jaxpr, consts = jaxpr.jaxpr, tuple(jaxpr.consts)
    jaxpr = lower.apply_rewrites(core.close_over_consts(jaxpr), TARGET.rewrites)
    _, program = lower.to_program(jaxpr, name, rules())
    return program, consts


@functools.cache
def rules():
    """What CUDA tells the fusion pass it can do."""
    from funcgrad.backend import lower

    from . import ops

    return lower.Rules(scalar.can_emit, codegen.dtype_ok, codegen.can_dot, ops.native_check)


def lower_jaxpr(jaxpr, name: str = "jit", arch: str = ptx.DEFAULT_ARCH) -> CudaLowered:
    """jaxpr -> kernel program -> PTX (no GPU needed)."""
    program, consts = program_from_jaxpr(jaxpr, name)
    return lower_program(program, arch, consts)


# ---- execution -----------------------------------------------------------------------------------


class CudaExecutable:
    """A loaded program. ``exe(*args)`` returns host numpy arrays; ``exe.call_device(*args)``
    returns ``DeviceBuffer``s. Arguments are numpy arrays (copied in) or device arrays
    (``funcgrad._src.cuda_array.CudaArray`` / ``DeviceBuffer``, used in place)."""

    def __init__(self, lowered: CudaLowered, device_index: int = 0):
        from . import runtime

        self.lowered, self.device_index = lowered, device_index
        self.module = runtime.Module.from_ptx(lowered.ptx)
        self.plan = control.plan_of(lowered.program, lowered.kernels)
        self.kernels_by_name = {
            k.name: self.module.get_function(k.name, k.signature)
            for k in control.kernels_in(self.plan)
        }
        self.functions = [
            self.kernels_by_name.get(getattr(k, "name", None)) for k in lowered.kernels
        ]  # None for a host node
        self.stream = _shared_stream(device_index)

    def __call__(self, *args) -> list:
        outs = self.call_device(*args)
        return [buf.to_numpy(stream=self.stream) for buf in outs]

    def call_device(self, *args, sync: bool = False) -> list:
        from . import runtime

        program = self.lowered.program
        args = (*self.lowered.consts, *args)
        if len(args) != len(program.inputs):
            raise TypeError(
                f"{program.name} takes {len(program.inputs) - len(self.lowered.consts)}"
                f" arguments, got {len(args) - len(self.lowered.consts)}"
            )
        bufs = {i: self._input(program.buffer(i), a) for i, a in zip(program.inputs, args)}
        for b in program.buffers:
            if b.id not in bufs:
                bufs[b.id] = runtime.DeviceBuffer.empty(b.shape, b.dtype)
        if self.plan.host_driven:  # control flow: the host drives the iteration
            control.run_plan(self.plan, bufs, _DeviceRunner(self, sync))
        else:
            for kernel, launch in zip(self.functions, self.lowered.kernels):
                if 0 in launch.grid:
                    continue
                runtime.launch(
                    kernel,
                    launch.grid,
                    launch.block,
                    [bufs[i] for i in launch.buffers],
                    stream=self.stream,
                    sync=sync,
                )
        # temporaries go back to the caching allocator here; their reuse is stream-ordered
        return [bufs[i] for i in program.outputs]

    def _input(self, buf: K.Buffer, arg):
        from . import runtime

        dev = getattr(arg, "device_buffer", arg)
        if isinstance(dev, runtime.DeviceBuffer):
            if dev.shape != buf.shape or dev.dtype != buf.dtype:
                raise TypeError(
                    f"input {buf.index} is a device array {dev.dtype}{dev.shape}, "
                    f"but the program needs {buf.dtype}{buf.shape}"
                )
            return dev
        host = np.asarray(arg, dtype=buf.dtype).reshape(buf.shape)  # 0-d stays 0-d
        return runtime.DeviceBuffer.from_numpy(host, stream=self.stream)

    def synchronize(self) -> None:
        self.stream.synchronize()

    def as_text(self, stage: str) -> str:
        return self.lowered.as_text(stage)

    def memory_report(self) -> dict:
        """Bytes: ``peak`` (every temporary, allocated for the call), ``inputs``, ``outputs``."""
        return K.memory_report(self.lowered.program)


class _DeviceRunner:
    """The device side of ``ops.control.run_plan``: runs kernel launches, allocates, slices,
    copies and reads buffers on the executable's stream."""

    def __init__(self, exe: CudaExecutable, sync: bool):
        self.exe, self.stream, self.sync = exe, exe.stream, sync

    def launch(self, program, step: int, launches, bufs: dict) -> None:
        for launch in launches:
            self._run(launch, [bufs[i] for i in launch.buffers])

    def alloc(self, buf: K.Buffer):
        from . import runtime

        return runtime.DeviceBuffer.empty(buf.shape, buf.dtype)

    def constant(self, value):
        from . import runtime

        return runtime.DeviceBuffer.from_numpy(np.asarray(value), stream=self.stream)

    def slice(self, base, i: int, buf: K.Buffer):
        """Element ``i`` along axis 0 of ``base`` as a buffer of ``buf``'s shape: a view that
        owns nothing (``base`` stays alive in the caller's buffer table)."""
        from . import runtime

        return runtime.DeviceBuffer(
            base.ptr + i * buf.nbytes, buf.nbytes, None, buf.shape, buf.dtype
        )

    def copy(self, kernel, dst, src) -> None:
        self._run(kernel, [dst, src])

    def read(self, buf) -> np.ndarray:
        """A buffer's values as a new host array (waits for the kernels queued before)."""
        return buf.to_numpy(stream=self.stream)

    def write(self, buf, host: np.ndarray) -> None:
        """Copy a host array (a host callback's result) into a device buffer."""
        buf.copy_from_host(host, stream=self.stream)

    def _run(self, kernel, args) -> None:
        from . import runtime

        if 0 not in kernel.grid:
            runtime.launch(
                self.exe.kernels_by_name[kernel.name],
                kernel.grid,
                kernel.block,
                args,
                stream=self.stream,
                sync=self.sync,
            )


@functools.cache
def _shared_stream(device_index: int):
    """One stream for every executable: the caching allocator reuses freed temporaries in host
    order, which is only safe when all kernels that may touch them run on one stream."""
    from . import runtime

    runtime.context(device_index)
    return runtime.Stream()


@functools.lru_cache(maxsize=256)
def _executable_for(jaxpr, name: str, device_index: int, arch: str) -> CudaExecutable:
    return lower_jaxpr(jaxpr, name, arch).compile(device_index)


def get_executable(jaxpr, name: str = "jit", device_index: int = 0) -> CudaExecutable:
    """The compiled executable of a closed jaxpr, cached per jaxpr (what ``jit`` calls).

    PTX is generated for sm_80, which every Ampere-or-newer GPU loads; older GPUs get their own
    architecture."""
    from . import runtime

    dev = runtime.get_device(device_index)
    arch = ptx.DEFAULT_ARCH if dev.compute_capability >= (8, 0) else dev.arch
    return _executable_for(jaxpr, name, device_index, arch)
