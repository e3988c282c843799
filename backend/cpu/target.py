"""The ``cpu`` target: native code for this machine through LLVM (``executable.py``)."""

from __future__ import annotations

from funcgrad.backend.lower import bf16


class CpuTarget:
    name = "cpu"
    capabilities = frozenset({"donation"})
    stages = ("ir-opt", "kernels", "llvm", "llvm-opt", "asm")
    rewrites = (bf16.legalize,)

    def available(self) -> bool:
        return True

    def lower(self, jaxpr, name: str):
        return self.compile(jaxpr, name)  # the stages are those of the compiled executable

    def compile(self, jaxpr, name: str = "", donated: tuple = (), trace_ms=None):
        from . import executable

        return executable.get_executable(jaxpr, name, donated, trace_ms)

    def release_memory(self) -> None:
        """Free the machine code of dropped executables and hand freed heap back to the OS."""
        from . import engine

        engine.free_pending()
        engine.trim_heap()


TARGET = CpuTarget()
