"""A fake ``libcuda`` for tests: the CUDA driver API on host memory, kernels run by an emulator.

``install()`` puts a ``FakeCuda`` in place of ``driver._lib`` (the ctypes library every driver
call goes through), so the real ``driver.py``, ``runtime.py``, ``compiler.py`` and the
control-flow runner run unchanged on a machine without a GPU; ``uninstall(fake)`` puts
everything back (``installed()`` does both around a ``with`` block).

- Every ``driver._SIGNATURES`` entry is a real ctypes function pointer (``CFUNCTYPE``) over a
  Python method, so arguments are marshalled exactly as for the real library, and errors come
  back as ``CUresult`` codes with the driver's own names and strings (``cuGetErrorName``).
- Device memory is host memory this object owns (256-byte aligned, filled with 0xFF bytes so
  a read of memory nobody wrote shows up as NaN or -1). A device pointer is its host address;
  frees, copies and memsets are checked against the table of live allocations
  (``CUDA_ERROR_INVALID_VALUE`` as the real driver returns).
- Streams and events are synchronous: work is done when the call returns; an event records
  the host time (``time.perf_counter``).
- The device is an sm_90 part with H100-like attributes (132 SMs, 48 KiB shared per block).
- ``cuModuleLoadDataEx`` gets PTX text, which cannot be executed here. While installed,
  ``ptx.compile_ptx`` (and every module-level alias of it) records ``PTX text -> LLVM IR`` of
  the module it compiled; a launch runs that IR with ``cuda_emu.HostModule`` (every thread of
  the grid, barriers, warp shuffles and mma emulated), passing the live allocations as the
  valid address ranges. An out-of-range access becomes ``CUDA_ERROR_ILLEGAL_ADDRESS``, any
  other emulator failure (undefined behaviour it detected, or a gap of the emulator)
  ``CUDA_ERROR_LAUNCH_FAILED``; for these two the error string carries
  the emulator's message in brackets (the only place the fake adds to the driver's text).
  PTX that was not recorded is checked with ``ptxas`` when it is on PATH (its log becomes
  the JIT error log) and can be loaded, but not launched (``CUDA_ERROR_NOT_SUPPORTED``).

``FUNCGRAD_FAKE_CUDA=1 python -m pytest -m cuda`` runs the GPU tests this way (conftest.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import itertools
import re
import shutil
import sys
import threading
import time
import traceback
from ctypes import POINTER, c_char_p, c_void_p

import numpy as np
from funcgrad.backend.cuda import compiler, driver, ptx, runtime

from support import cuda_emu

# ---- CUresult codes ---------------------------------------------------------------------------

ERRORS = {  # code -> (name, string), as cuGetErrorName / cuGetErrorString return them
    0: ("CUDA_SUCCESS", "no error"),
    1: ("CUDA_ERROR_INVALID_VALUE", "invalid argument"),
    2: ("CUDA_ERROR_OUT_OF_MEMORY", "out of memory"),
    3: ("CUDA_ERROR_NOT_INITIALIZED", "initialization error"),
    100: ("CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"),
    101: ("CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"),
    200: ("CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"),
    201: ("CUDA_ERROR_INVALID_CONTEXT", "invalid device context"),
    218: ("CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"),
    400: ("CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"),
    500: ("CUDA_ERROR_NOT_FOUND", "named symbol not found"),
    600: ("CUDA_ERROR_NOT_READY", "device not ready"),
    700: ("CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"),
    701: ("CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"),
    709: ("CUDA_ERROR_CONTEXT_IS_DESTROYED", "context is destroyed"),
    719: ("CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"),
    801: ("CUDA_ERROR_NOT_SUPPORTED", "operation not supported"),
    999: ("CUDA_ERROR_UNKNOWN", "unknown error"),
}
CODES = {name: code for code, (name, _) in ERRORS.items()}
# NUL-terminated copies that live as long as the process: cuGetErrorName hands out pointers
_TEXTS = {
    (code, i): ctypes.create_string_buffer(text[i].encode())
    for code, text in ERRORS.items()
    for i in (0, 1)
}


class CudaFailure(Exception):
    """Raised inside a fake entry point: the call returns ``code``."""

    def __init__(self, name: str, detail: str = ""):
        super().__init__(f"{name}: {detail}" if detail else name)
        self.code, self.detail = CODES[name], detail


# ---- the device ---------------------------------------------------------------------------------

DEVICE_NAME = "NVIDIA H100 80GB HBM3 (funcgrad fake)"
TOTAL_MEMORY = 80 << 30
ATTRIBUTES = {  # CUdevice_attribute -> value, an H100 SXM
    1: 1024,
    2: 1024,
    3: 1024,
    4: 64,  # max threads per block; max block dims x, y, z
    5: 2**31 - 1,
    6: 65535,
    7: 65535,  # max grid dims x, y, z
    8: 48 << 10,
    9: 64 << 10,
    10: 32,
    12: 65536,  # shared/block, constant, warp, regs/block
    16: 132,
    38: 50 << 20,
    39: 2048,  # SMs, L2 bytes, threads per SM
    75: 9,
    76: 0,  # compute capability 9.0
    81: 228 << 10,
    82: 65536,
    97: 227 << 10,  # shared/SM, regs/SM, shared/block opt-in
}
MAX_BLOCK, MAX_GRID = (1024, 1024, 64), (2**31 - 1, 65535, 65535)
ALIGN = 256
POISON = 0xFF

# ---- PTX text -> the LLVM IR it came from --------------------------------------------------------

SOURCES: dict[str, str] = {}  # filled by the wrapped compile_ptx (kept across installs)
_real_compile_ptx = getattr(ptx.compile_ptx, "__wrapped__", ptx.compile_ptx)


def recording_compile_ptx(module, arch: str = ptx.DEFAULT_ARCH) -> str:
    """``ptx.compile_ptx`` that remembers which LLVM IR each PTX text came from."""
    text = _real_compile_ptx(module, arch)
    SOURCES[text] = str(module)
    return text


recording_compile_ptx.__wrapped__ = _real_compile_ptx


def _entries(ptx_text: str) -> list[str]:
    return re.findall(r"\.entry\s+([\w$.]+)\s*\(", ptx_text)


def _ptxas_log(ptx_text: str) -> str | None:
    """ptxas' error log for PTX nobody recorded ("" if it assembles, None without ptxas)."""
    if shutil.which("ptxas") is None:
        return None
    ok, log = ptx.ptxas_check(ptx_text, "sm_90")
    return "" if ok else log


# ---- running kernels -----------------------------------------------------------------------------


def _read(ctype, convert=None):
    def read(address: int):
        value = ctype.from_address(address).value
        return value if convert is None else convert(value)

    return read


_ARG_READERS = {  # LLVM parameter type -> the value behind a kernelParams slot
    "ptr": _read(ctypes.c_uint64),
    "i64": _read(ctypes.c_int64),
    "i32": _read(ctypes.c_int32),
    "i16": _read(ctypes.c_int16),
    "i8": _read(ctypes.c_int8),
    "i1": _read(ctypes.c_bool),
    "float": _read(ctypes.c_float),
    "double": _read(ctypes.c_double),
    "half": _read(ctypes.c_uint16, lambda bits: float(np.uint16(bits).view(np.float16))),
}


@functools.lru_cache(maxsize=32)
def kernel_signatures(nvptx_ir: str) -> dict[str, tuple[str, ...]]:
    """Function name -> its LLVM parameter types."""
    import llvmlite.binding as llvm

    mod = llvm.parse_assembly(nvptx_ir)
    return {fn.name: tuple(str(a.type) for a in fn.arguments) for fn in mod.functions}


@functools.lru_cache(maxsize=32)
def host_module(nvptx_ir: str) -> cuda_emu.HostModule:
    """The emulator of a module's IR (compiled once per IR text, also across installs)."""
    return cuda_emu.HostModule(nvptx_ir, "fake_cuda")


# ---- the fake library ----------------------------------------------------------------------------

_handles = itertools.count(0x10_000, 0x10)  # unique across installs: a stale handle never resolves


class _Allocation:
    def __init__(self, nbytes: int):
        self.raw = (ctypes.c_char * (nbytes + ALIGN))()
        self.ptr = -(-ctypes.addressof(self.raw) // ALIGN) * ALIGN
        self.nbytes = nbytes
        ctypes.memset(self.ptr, POISON, nbytes)


class _Module:
    def __init__(self, ptx_text: str):
        self.ptx, self.ir = ptx_text, SOURCES.get(ptx_text)
        self.entries = set(_entries(ptx_text))


class _Event:
    def __init__(self, flags: int):
        self.flags, self.time = flags, None


class FakeCuda:
    """Stands in for ``ctypes.CDLL("libcuda.so.1")``: one attribute per driver entry point.

    ``memory_limit`` caps the bytes live at once (``CUDA_ERROR_OUT_OF_MEMORY`` beyond it);
    ``calls`` counts the calls of each entry point; ``launches`` lists ``(kernel, grid,
    block)`` of every kernel run; ``schedule`` is ``cuda_emu.HostModule.schedule`` ("forward"
    or "reverse": another legal interleaving of a block's threads)."""

    CU_EVENT_DISABLE_TIMING = 2

    def __init__(
        self, memory_limit: int = 4 << 30, device_count: int = 1, schedule: str = "forward"
    ):
        self.memory_limit, self.device_count = memory_limit, device_count
        self.schedule = schedule  # cuda_emu's order of resuming a block's threads
        self.initialized = False
        self.allocations: dict[int, _Allocation] = {}
        self.contexts: dict[int, list] = {}  # handle -> [device, refcount]
        self.primary: dict[int, int] = {}  # device -> primary context handle
        self.modules: dict[int, _Module] = {}
        self.functions: dict[int, tuple[int, str]] = {}  # handle -> (module, name)
        self.streams: set[int] = set()
        self.events: dict[int, _Event] = {}
        self.current = threading.local()
        self.lock = threading.RLock()
        self.calls: dict[str, int] = {}
        self.launches: list[tuple] = []
        self.last_failure: CudaFailure | None = None
        for name, argtypes in driver._SIGNATURES.items():
            setattr(self, name, self._entry_point(name, argtypes))

    # -- plumbing: a ctypes function per entry point, CudaFailure -> CUresult -------------------

    def _entry_point(self, name: str, argtypes):
        # char* arguments arrive as addresses (a c_char_p callback argument would be a copy)
        callee = [c_void_p if t is c_char_p else t for t in argtypes]
        impl = getattr(self, "_" + name)

        def entry(*args):
            self.calls[name] = self.calls.get(name, 0) + 1
            if not name.startswith("cuGetError"):  # the error text describes the last call
                self.last_failure = None
            try:
                with self.lock:
                    impl(*args)
                return 0
            except CudaFailure as e:
                if e.detail:
                    self.last_failure = e
                return e.code
            except BaseException:  # noqa: BLE001 (a ctypes callback must not raise)
                self.last_failure = CudaFailure("CUDA_ERROR_UNKNOWN", traceback.format_exc())
                print(f"fake_cuda: {name} raised\n{self.last_failure.detail}", file=sys.stderr)
                return CODES["CUDA_ERROR_UNKNOWN"]

        return ctypes.CFUNCTYPE(ctypes.c_int, *callee)(entry)

    def _require_init(self) -> None:
        if not self.initialized:
            raise CudaFailure("CUDA_ERROR_NOT_INITIALIZED")

    def _require_context(self) -> int:
        self._require_init()
        ctx = getattr(self.current, "ctx", None)
        if ctx is None:
            raise CudaFailure("CUDA_ERROR_INVALID_CONTEXT")
        if self.contexts[ctx][1] == 0:
            raise CudaFailure("CUDA_ERROR_CONTEXT_IS_DESTROYED")
        return ctx

    def _device(self, dev: int) -> int:
        self._require_init()
        if not 0 <= dev < self.device_count:
            raise CudaFailure("CUDA_ERROR_INVALID_DEVICE")
        return dev

    @staticmethod
    def _out(pointer, value) -> None:
        if not pointer:
            raise CudaFailure("CUDA_ERROR_INVALID_VALUE")
        pointer[0] = value

    def _range(self, ptr: int, nbytes: int) -> _Allocation:
        """The allocation holding ``[ptr, ptr + nbytes)``."""
        for a in self.allocations.values():
            if a.ptr <= ptr < a.ptr + a.nbytes:
                if ptr + nbytes > a.ptr + a.nbytes:
                    raise CudaFailure("CUDA_ERROR_INVALID_VALUE")
                return a
        raise CudaFailure("CUDA_ERROR_INVALID_VALUE")

    def _stream(self, stream) -> None:
        if stream and stream not in self.streams:
            raise CudaFailure("CUDA_ERROR_INVALID_HANDLE")

    # -- initialisation and devices ---------------------------------------------------------------

    def _cuInit(self, flags):
        if flags != 0:
            raise CudaFailure("CUDA_ERROR_INVALID_VALUE")
        if self.device_count == 0:
            raise CudaFailure("CUDA_ERROR_NO_DEVICE")
        self.initialized = True

    def _cuDeviceGetCount(self, count):
        self._require_init()
        self._out(count, self.device_count)

    def _cuDeviceGet(self, device, ordinal):
        self._out(device, self._device(ordinal))

    def _cuDeviceGetName(self, name, length, dev):
        self._device(dev)
        if not name or length <= 0:
            raise CudaFailure("CUDA_ERROR_INVALID_VALUE")
        text = DEVICE_NAME.encode()[: length - 1]
        ctypes.memmove(name, text + b"\0", len(text) + 1)

    def _cuDeviceGetAttribute(self, value, attribute, dev):
        self._device(dev)
        if attribute not in ATTRIBUTES:
            raise CudaFailure("CUDA_ERROR_INVALID_VALUE")
        self._out(value, ATTRIBUTES[attribute])

    def _cuDeviceTotalMem_v2(self, nbytes, dev):
        self._device(dev)
        self._out(nbytes, TOTAL_MEMORY)

    # -- contexts ----------------------------------------------------------------------------------

    def _cuDevicePrimaryCtxRetain(self, ctx, dev):
        self._device(dev)
        handle = self.primary.setdefault(dev, next(_handles))
        entry = self.contexts.setdefault(handle, [dev, 0])
        entry[1] += 1
        self._out(ctx, handle)

    def _cuDevicePrimaryCtxRelease_v2(self, dev):
        self._device(dev)
        handle = self.primary.get(dev)
        if handle is None or self.contexts[handle][1] == 0:
            raise CudaFailure("CUDA_ERROR_INVALID_CONTEXT")
        self.contexts[handle][1] -= 1
        if self.contexts[handle][1] == 0:  # destroyed: everything made in it goes too
            for table in (self.allocations, self.modules, self.functions, self.events):
                table.clear()
            self.streams.clear()

    def _cuCtxSetCurrent(self, ctx):
        self._require_init()
        if ctx and ctx not in self.contexts:
            raise CudaFailure("CUDA_ERROR_INVALID_CONTEXT")
        self.current.ctx = ctx or None

    def _cuCtxSynchronize(self):
        self._require_context()

    # -- memory ------------------------------------------------------------------------------------

    def _cuMemAlloc_v2(self, dptr, nbytes):
        self._require_context()
        if nbytes == 0:
            raise CudaFailure("CUDA_ERROR_INVALID_VALUE")
        if self.bytes_in_use() + nbytes > self.memory_limit:
            raise CudaFailure("CUDA_ERROR_OUT_OF_MEMORY")
        a = _Allocation(nbytes)
        self.allocations[a.ptr] = a
        self._out(dptr, a.ptr)

    def _cuMemFree_v2(self, dptr):
        self._require_context()
        if self.allocations.pop(dptr, None) is None:
            raise CudaFailure("CUDA_ERROR_INVALID_VALUE")

    def _cuMemcpyHtoD_v2(self, dst, src, nbytes):
        self._require_context()
        if nbytes:
            self._range(dst, nbytes)
            ctypes.memmove(dst, src, nbytes)

    def _cuMemcpyDtoH_v2(self, dst, src, nbytes):
        self._require_context()
        if nbytes:
            self._range(src, nbytes)
            ctypes.memmove(dst, src, nbytes)

    def _cuMemcpyDtoD_v2(self, dst, src, nbytes):
        self._require_context()
        if nbytes:
            self._range(dst, nbytes), self._range(src, nbytes)
            ctypes.memmove(dst, src, nbytes)

    def _cuMemcpyHtoDAsync_v2(self, dst, src, nbytes, stream):
        self._stream(stream)
        self._cuMemcpyHtoD_v2(dst, src, nbytes)

    def _cuMemcpyDtoHAsync_v2(self, dst, src, nbytes, stream):
        self._stream(stream)
        self._cuMemcpyDtoH_v2(dst, src, nbytes)

    def _cuMemsetD8_v2(self, dst, value, count):
        self._require_context()
        if count:
            self._range(dst, count)
            ctypes.memset(dst, value, count)

    def bytes_in_use(self) -> int:
        return sum(a.nbytes for a in self.allocations.values())

    # -- streams and events ------------------------------------------------------------------------

    def _cuStreamCreate(self, stream, flags):
        self._require_context()
        handle = next(_handles)
        self.streams.add(handle)
        self._out(stream, handle)

    def _cuStreamSynchronize(self, stream):
        self._require_context()
        self._stream(stream)

    def _cuStreamDestroy_v2(self, stream):
        self._require_context()
        if stream not in self.streams:
            raise CudaFailure("CUDA_ERROR_INVALID_HANDLE")
        self.streams.discard(stream)

    def _cuEventCreate(self, event, flags):
        self._require_context()
        handle = next(_handles)
        self.events[handle] = _Event(flags)
        self._out(event, handle)

    def _event(self, handle) -> _Event:
        if handle not in self.events:
            raise CudaFailure("CUDA_ERROR_INVALID_HANDLE")
        return self.events[handle]

    def _cuEventRecord(self, event, stream):
        self._require_context()
        self._stream(stream)
        self._event(event).time = time.perf_counter()

    def _cuEventSynchronize(self, event):
        self._event(event)

    def _cuEventElapsedTime(self, ms, start, end):
        self._require_context()
        a, b = self._event(start), self._event(end)
        if a.time is None or b.time is None or (a.flags | b.flags) & self.CU_EVENT_DISABLE_TIMING:
            raise CudaFailure("CUDA_ERROR_INVALID_HANDLE")
        self._out(ms, (b.time - a.time) * 1e3)

    def _cuEventDestroy_v2(self, event):
        self._require_context()
        self._event(event)
        del self.events[event]

    # -- errors ------------------------------------------------------------------------------------

    def _cuGetErrorName(self, code, out):
        self._error_text(code, out, 0)

    def _cuGetErrorString(self, code, out):
        self._error_text(code, out, 1)

    def _error_text(self, code, out, which: int) -> None:
        if not out:
            raise CudaFailure("CUDA_ERROR_INVALID_VALUE")
        slot = ctypes.cast(out, POINTER(c_void_p))
        if code not in ERRORS:
            slot[0] = None
            raise CudaFailure("CUDA_ERROR_INVALID_VALUE")
        failure = self.last_failure
        if which == 1 and failure is not None and failure.code == code:
            # the emulator's explanation, in brackets after the driver's string
            text = f"{ERRORS[code][1]} [fake_cuda: {failure.detail.strip()}]"
            self._detail_text = ctypes.create_string_buffer(text.encode(errors="replace"))
            slot[0] = ctypes.addressof(self._detail_text)
        else:
            slot[0] = ctypes.addressof(_TEXTS[code, which])

    # -- modules and launches ----------------------------------------------------------------------

    def _cuModuleLoadDataEx(self, module, image, num_options, options, values):
        self._require_context()
        if not image:
            raise CudaFailure("CUDA_ERROR_INVALID_VALUE")
        text = ctypes.string_at(image).decode(errors="replace")
        if text not in SOURCES:
            log = _ptxas_log(text)
            if log is None and ".version" not in text:
                log = "ptxas fatal   : Parsing error: no .version directive"
            if log:
                self._write_log(log, num_options, options, values)
                raise CudaFailure("CUDA_ERROR_INVALID_PTX")
        handle = next(_handles)
        self.modules[handle] = _Module(text)
        self._out(module, handle)

    @staticmethod
    def _write_log(log: str, num_options, options, values) -> None:
        opts = {options[i]: i for i in range(num_options)} if num_options else {}
        buf_i = opts.get(driver.JIT_ERROR_LOG_BUFFER)
        size_i = opts.get(driver.JIT_ERROR_LOG_BUFFER_SIZE_BYTES)
        if buf_i is None or size_i is None or not values[buf_i]:
            return
        data = log.encode(errors="replace")[: max(values[size_i] - 1, 0)] + b"\0"
        ctypes.memmove(values[buf_i], data, len(data))
        values[size_i] = len(data)

    def _cuModuleGetFunction(self, function, module, name):
        self._require_context()
        if module not in self.modules or not name:
            raise CudaFailure("CUDA_ERROR_INVALID_HANDLE" if name else "CUDA_ERROR_INVALID_VALUE")
        kernel = ctypes.string_at(name).decode(errors="replace")
        if kernel not in self.modules[module].entries:
            raise CudaFailure("CUDA_ERROR_NOT_FOUND")
        handle = next(_handles)
        self.functions[handle] = (module, kernel)
        self._out(function, handle)

    def _cuModuleUnload(self, module):
        self._require_context()
        if self.modules.pop(module, None) is None:
            raise CudaFailure("CUDA_ERROR_INVALID_HANDLE")
        for handle in [h for h, (m, _) in self.functions.items() if m == module]:
            del self.functions[handle]

    def _cuLaunchKernel(self, function, gx, gy, gz, bx, by, bz, shared, stream, params, extra):
        self._require_context()
        if function not in self.functions:
            raise CudaFailure("CUDA_ERROR_INVALID_HANDLE")
        self._stream(stream)
        grid, block = (gx, gy, gz), (bx, by, bz)
        if (
            min(grid + block) < 1
            or bx * by * bz > ATTRIBUTES[1]
            or extra
            or any(b > m for b, m in zip(block, MAX_BLOCK))
            or any(g > m for g, m in zip(grid, MAX_GRID))
            or shared > ATTRIBUTES[8]
        ):
            raise CudaFailure("CUDA_ERROR_INVALID_VALUE")
        module, name = self.functions[function]
        source = self.modules[module].ir
        if source is None:
            raise CudaFailure(
                "CUDA_ERROR_NOT_SUPPORTED",
                f"{name}: this PTX was not made by "
                "ptx.compile_ptx while the fake was installed: no IR to run",
            )
        args = self._kernel_args(kernel_signatures(source)[name], params)
        self.launches.append((name, grid, block))
        self._run(source, name, grid, block, args)

    @staticmethod
    def _kernel_args(types, params) -> list:
        if types and not params:
            raise CudaFailure("CUDA_ERROR_INVALID_VALUE")
        return [_ARG_READERS[t](params[i]) for i, t in enumerate(types)]

    def _run(self, source: str, name: str, grid, block, args) -> None:
        ranges = sorted((a.ptr, a.ptr + a.nbytes) for a in self.allocations.values())
        try:
            emulator = host_module(source)
            emulator.schedule = self.schedule
            emulator.launch(name, grid, block, args, ranges=ranges)
        except AssertionError as e:  # a bad access, or other undefined behaviour it saw
            bad_access = "outside the allowed memory" in str(e)
            raise CudaFailure(
                "CUDA_ERROR_ILLEGAL_ADDRESS" if bad_access else "CUDA_ERROR_LAUNCH_FAILED", str(e)
            ) from e
        except Exception as e:  # an emulator gap (or bug): say which
            detail = f"{name}: {type(e).__name__}: {e}"
            print(f"fake_cuda: launch of {detail}\n{traceback.format_exc()}", file=sys.stderr)
            raise CudaFailure("CUDA_ERROR_LAUNCH_FAILED", detail) from e


# ---- install / uninstall -------------------------------------------------------------------------


def reset_runtime_state() -> None:
    """Forget every cached context, device, allocator, stream and compiled executable."""
    runtime._contexts.clear()
    runtime.get_device.cache_clear()
    runtime.allocator.cache_clear()
    compiler._shared_stream.cache_clear()
    compiler._executable_for.cache_clear()


def _compile_ptx_aliases(value) -> list:
    """Modules holding ``compile_ptx`` as a global equal to ``value``."""
    return [
        m
        for m in list(sys.modules.values())
        if getattr(m, "compile_ptx", None) is value and m is not ptx
    ]


def install(**kwargs) -> FakeCuda:
    """Make the CUDA driver use a new ``FakeCuda`` (kwargs go to it); returns it."""
    fake = FakeCuda(**kwargs)
    fake.saved = (
        driver._lib,
        dict(driver._functions),
        driver._initialized,
        ptx.compile_ptx,
        _compile_ptx_aliases(ptx.compile_ptx),
    )
    driver._lib, driver._initialized = fake, False
    driver._functions.clear()
    for m in [ptx, *fake.saved[4]]:
        m.compile_ptx = recording_compile_ptx
    reset_runtime_state()
    return fake


def uninstall(fake: FakeCuda) -> None:
    """Undo ``install``: the driver, ``compile_ptx`` and the runtime's caches as they were."""
    lib, functions, initialized, compile_fn, aliases = fake.saved
    driver._lib, driver._initialized = lib, initialized
    driver._functions.clear()
    driver._functions.update(functions)
    for m in [ptx, *aliases]:
        m.compile_ptx = compile_fn
    reset_runtime_state()
    fake.allocations.clear()


@contextlib.contextmanager
def installed(**kwargs):
    """``with installed() as fake:`` the fake driver inside the block."""
    fake = install(**kwargs)
    try:
        yield fake
    finally:
        uninstall(fake)
