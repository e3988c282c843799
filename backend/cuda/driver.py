"""A ctypes binding of the CUDA driver API (``libcuda.so.1``), loaded lazily.

Importing this module opens no library: ``_lib`` stays ``None`` until the first call. Every
entry point is described once in ``_SIGNATURES`` (name -> argument ctypes); every driver
function returns a ``CUresult``, and ``call`` turns a non-zero one into ``CudaError`` naming the
call, the driver's error name and its error string. See docs/cuda-runtime.md.
"""

from __future__ import annotations

import ctypes
import threading
from ctypes import POINTER, c_char_p, c_float, c_int, c_size_t, c_ubyte, c_uint, c_void_p
from typing import Any

LIBRARY_NAME = "libcuda.so.1"

# Driver handle types (all opaque pointers, except CUdevice and CUdeviceptr).
CUdevice = c_int
CUdeviceptr = ctypes.c_uint64
CUcontext = CUmodule = CUfunction = CUstream = CUevent = c_void_p

# CUdevice_attribute values (cuda.h) used by the runtime.
DEVICE_ATTRIBUTES = {
    "max_threads_per_block": 1,
    "max_shared_memory_per_block": 8,
    "warp_size": 10,
    "multiprocessor_count": 16,
    "compute_capability_major": 75,
    "compute_capability_minor": 76,
    "max_shared_memory_per_block_optin": 97,
}

# CUjit_option values (cuda.h) for cuModuleLoadDataEx.
JIT_INFO_LOG_BUFFER = 3
JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4
JIT_ERROR_LOG_BUFFER = 5
JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6

CUDA_SUCCESS = 0
CUDA_ERROR_OUT_OF_MEMORY = 2

_P = POINTER
# name -> argtypes; the return type is always CUresult (int).
_SIGNATURES: dict[str, tuple] = {
    "cuInit": (c_uint,),
    "cuDeviceGetCount": (_P(c_int),),
    "cuDeviceGet": (_P(CUdevice), c_int),
    "cuDeviceGetName": (c_char_p, c_int, CUdevice),
    "cuDeviceGetAttribute": (_P(c_int), c_int, CUdevice),
    "cuDeviceTotalMem_v2": (_P(c_size_t), CUdevice),
    "cuDevicePrimaryCtxRetain": (_P(CUcontext), CUdevice),
    "cuDevicePrimaryCtxRelease_v2": (CUdevice,),
    "cuCtxSetCurrent": (CUcontext,),
    "cuCtxSynchronize": (),
    "cuModuleLoadDataEx": (_P(CUmodule), c_void_p, c_uint, _P(c_int), _P(c_void_p)),
    "cuModuleGetFunction": (_P(CUfunction), CUmodule, c_char_p),
    "cuModuleUnload": (CUmodule,),
    "cuLaunchKernel": (
        CUfunction,
        c_uint,
        c_uint,
        c_uint,
        c_uint,
        c_uint,
        c_uint,
        c_uint,
        CUstream,
        _P(c_void_p),
        _P(c_void_p),
    ),
    "cuMemAlloc_v2": (_P(CUdeviceptr), c_size_t),
    "cuMemFree_v2": (CUdeviceptr,),
    "cuMemcpyHtoD_v2": (CUdeviceptr, c_void_p, c_size_t),
    "cuMemcpyDtoH_v2": (c_void_p, CUdeviceptr, c_size_t),
    "cuMemcpyDtoD_v2": (CUdeviceptr, CUdeviceptr, c_size_t),
    "cuMemcpyHtoDAsync_v2": (CUdeviceptr, c_void_p, c_size_t, CUstream),
    "cuMemcpyDtoHAsync_v2": (c_void_p, CUdeviceptr, c_size_t, CUstream),
    "cuMemsetD8_v2": (CUdeviceptr, c_ubyte, c_size_t),
    "cuStreamCreate": (_P(CUstream), c_uint),
    "cuStreamSynchronize": (CUstream,),
    "cuStreamDestroy_v2": (CUstream,),
    "cuEventCreate": (_P(CUevent), c_uint),
    "cuEventRecord": (CUevent, CUstream),
    "cuEventSynchronize": (CUevent,),
    "cuEventElapsedTime": (_P(c_float), CUevent, CUevent),
    "cuEventDestroy_v2": (CUevent,),
    "cuGetErrorName": (c_int, _P(c_char_p)),
    "cuGetErrorString": (c_int, _P(c_char_p)),
}

# Newer headers rename some entry points; the old symbol may disappear from a future libcuda.
_FALLBACK_NAMES = {"cuEventElapsedTime": "cuEventElapsedTime_v2"}

_lib: ctypes.CDLL | None = None
_functions: dict[str, Any] = {}
_lock = threading.RLock()  # (re-entered when a collected Module unloads while loading)
_initialized = False


class CudaError(RuntimeError):
    """A CUDA driver call returned an error."""

    def __init__(self, call: str, code: int, name: str, string: str, detail: str = ""):
        self.call, self.code, self.error_name, self.error_string = call, code, name, string
        msg = f"{call} failed: {name} ({code}): {string}"
        super().__init__(msg + (f"\n{detail}" if detail else ""))


class CudaUnavailableError(RuntimeError):
    """funcgrad was asked to use CUDA on a machine without a usable driver or GPU."""


def _unavailable(reason: str) -> CudaUnavailableError:
    return CudaUnavailableError(
        f"funcgrad was asked to use CUDA but it is not available ({reason}); "
        "use the CPU backend or set FUNCGRAD_PLATFORM=cpu"
    )


def _load() -> ctypes.CDLL:
    global _lib
    with _lock:
        if _lib is None:
            try:
                _lib = ctypes.CDLL(LIBRARY_NAME)
            except OSError as e:
                raise _unavailable(
                    f"{LIBRARY_NAME} not found; is the NVIDIA driver installed?"
                ) from e
    return _lib


def _function(name: str):
    fn = _functions.get(name)
    if fn is None:
        fn = _bind(_load(), name)
        _functions[name] = fn
    return fn


def _bind(lib: ctypes.CDLL, name: str):
    try:
        fn = getattr(lib, name)
    except AttributeError:
        fn = getattr(lib, _FALLBACK_NAMES[name])  # KeyError -> the real missing name
    fn.argtypes, fn.restype = _SIGNATURES[name], c_int
    return fn


def error_name(code: int) -> str:
    return _error_text("cuGetErrorName", code, "CUDA_ERROR_UNKNOWN")


def error_string(code: int) -> str:
    return _error_text("cuGetErrorString", code, "unrecognized error code")


def _error_text(fn_name: str, code: int, default: str) -> str:
    out = c_char_p()
    if _function(fn_name)(code, ctypes.byref(out)) != CUDA_SUCCESS or not out.value:
        return default
    return out.value.decode(errors="replace")


def check(name: str, result: int, detail: str = "") -> None:
    """Raise ``CudaError`` for a non-zero ``CUresult`` returned by ``name``."""
    if result != CUDA_SUCCESS:
        raise CudaError(name, result, error_name(result), error_string(result), detail)


def call(name: str, *args) -> None:
    """Call driver function ``name`` and check its result."""
    check(name, _function(name)(*args))


def call_out(name: str, out_type, *args):
    """Call ``name(&out, *args)`` (the driver's out-parameter style) and return ``out.value``."""
    out = out_type()
    call(name, ctypes.byref(out), *args)
    return out.value


def init() -> None:
    """Load libcuda and call ``cuInit(0)`` once; raise ``CudaUnavailableError`` if impossible."""
    global _initialized
    if _initialized:
        return
    try:
        call("cuInit", 0)
    except CudaError as e:
        raise _unavailable(f"cuInit failed: {e.error_name}, no usable device") from e
    _initialized = True


def device_count() -> int:
    init()
    return call_out("cuDeviceGetCount", c_int)


def cuda_available() -> bool:
    """True when libcuda loads, cuInit succeeds and there is at least one device. Never raises."""
    try:
        return device_count() > 0
    except Exception:
        return False


def require_device(index: int = 0) -> int:
    """Return the ``CUdevice`` for ``index``, or raise ``CudaUnavailableError`` saying why not."""
    n = device_count()
    if not 0 <= index < n:
        raise _unavailable(f"no device {index}; this machine has {n} CUDA device(s)")
    return call_out("cuDeviceGet", CUdevice, index)


def device_name(dev: int) -> str:
    buf = ctypes.create_string_buffer(256)
    call("cuDeviceGetName", buf, len(buf), dev)
    return buf.value.decode(errors="replace")


def device_attribute(dev: int, attribute: str) -> int:
    return call_out("cuDeviceGetAttribute", c_int, DEVICE_ATTRIBUTES[attribute], dev)


def module_load_ptx(ptx: str, log_size: int = 16384) -> int:
    """``cuModuleLoadDataEx`` on PTX text; a JIT failure raises with ptxas' error log."""
    image = ctypes.create_string_buffer(ptx.encode())
    err_log, info_log = ctypes.create_string_buffer(log_size), ctypes.create_string_buffer(log_size)
    opts = (c_int * 4)(
        JIT_ERROR_LOG_BUFFER,
        JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
        JIT_INFO_LOG_BUFFER,
        JIT_INFO_LOG_BUFFER_SIZE_BYTES,
    )
    vals = (c_void_p * 4)(
        ctypes.cast(err_log, c_void_p), log_size, ctypes.cast(info_log, c_void_p), log_size
    )
    module = CUmodule()
    result = _function("cuModuleLoadDataEx")(ctypes.byref(module), image, 4, opts, vals)
    log = err_log.value.decode(errors="replace")
    check("cuModuleLoadDataEx", result, f"JIT error log:\n{log}" if log else "")
    return module.value
