"""The ``cuda`` target: PTX for NVIDIA GPUs (``compiler.py``), run through the driver binding
(``runtime.py``). Lowering needs no GPU; running without one raises ``CudaUnavailableError``."""

from __future__ import annotations

from funcgrad.backend.lower import bf16, rewrite


class CudaTarget:
    name = "cuda"
    capabilities = frozenset({"devices"})
    stages = ("kernels", "llvm", "ptx")
    rewrites = (bf16.legalize, rewrite.expand_complex_dots)

    def available(self) -> bool:
        from . import driver

        return driver.cuda_available()

    def lower(self, jaxpr, name: str):
        from . import compiler

        return compiler.lower_jaxpr(jaxpr, name or "jit")

    def compile(self, jaxpr, name: str = "", donated: tuple = (), trace_ms=None):
        from . import compiler

        return compiler.get_executable(jaxpr, name or "jit")

    def release_memory(self) -> None:
        """Drop the cached executables (unloading their modules once nothing holds them) and
        give the allocator's cached blocks back to the driver; touches no GPU not yet used."""
        import sys

        compiler = sys.modules.get("funcgrad.backend.cuda.compiler")
        if compiler is not None:
            compiler._executable_for.cache_clear()
        runtime = sys.modules.get("funcgrad.backend.cuda.runtime")
        if runtime is not None and runtime.allocator.cache_info().currsize:
            runtime.allocator().empty_cache()

    # -- devices (funcgrad._src.devices, cuda_array) ------------------------------------------

    def device_kinds(self) -> list[str]:
        """The name of each GPU, by device index; ``CudaUnavailableError`` when there is none."""
        from . import driver, runtime

        if not driver.cuda_available():
            driver.require_device(0)  # raises CudaUnavailableError with the reason
        return [runtime.get_device(i).name for i in range(driver.device_count())]

    def to_device(self, host, device_id: int):
        """A device buffer holding a copy of the C-contiguous numpy array ``host``."""
        from . import runtime

        runtime.context(device_id)
        return runtime.DeviceBuffer.from_numpy(host)

    def synchronize(self, device_id: int) -> None:
        from . import runtime

        runtime.synchronize(device_id)


TARGET = CudaTarget()
