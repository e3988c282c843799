"""The CUDA runtime for funcgrad: devices, the primary context, a caching device allocator,
device buffers, streams, events, PTX modules and kernel launches.

Nothing here touches the driver at import time; the first ``get_device()`` / ``allocator()`` /
``Module.from_ptx()`` loads libcuda (``driver.py``). See docs/cuda-runtime.md.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import driver
from .driver import CudaError, CudaUnavailableError, cuda_available  # noqa: F401 (re-export)

# ---- devices and contexts --------------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    index: int
    name: str
    compute_capability: tuple[int, int]
    total_memory: int
    multiprocessor_count: int
    max_threads_per_block: int
    max_shared_memory_per_block: int

    @property
    def arch(self) -> str:
        """The ``sm_XY`` name to compile PTX for."""
        major, minor = self.compute_capability
        return f"sm_{major}{minor}"


@functools.cache
def get_device(index: int = 0) -> Device:
    """Describe CUDA device ``index``; raises ``CudaUnavailableError`` when there is none."""
    dev = driver.require_device(index)
    attr = functools.partial(driver.device_attribute, dev)
    return Device(
        index=index,
        name=driver.device_name(dev),
        compute_capability=(attr("compute_capability_major"), attr("compute_capability_minor")),
        total_memory=driver.call_out("cuDeviceTotalMem_v2", ctypes.c_size_t, dev),
        multiprocessor_count=attr("multiprocessor_count"),
        max_threads_per_block=attr("max_threads_per_block"),
        max_shared_memory_per_block=attr("max_shared_memory_per_block"),
    )


class Context:
    """A device's primary context (shared with every other CUDA user in the process), made
    current on each thread that uses it."""

    def __init__(self, device_index: int = 0):
        self.device = get_device(device_index)
        cu_device = driver.require_device(device_index)
        self.handle = driver.call_out("cuDevicePrimaryCtxRetain", driver.CUcontext, cu_device)
        self._current = threading.local()

    def make_current(self) -> Context:
        if getattr(self._current, "set", False) is False:
            driver.call("cuCtxSetCurrent", self.handle)
            self._current.set = True
        return self

    def synchronize(self) -> None:
        self.make_current()
        driver.call("cuCtxSynchronize")


_contexts: dict[int, Context] = {}
_contexts_lock = threading.Lock()


def context(device_index: int = 0) -> Context:
    """The (current-on-this-thread) primary context of ``device_index``."""
    with _contexts_lock:
        if device_index not in _contexts:
            _contexts[device_index] = Context(device_index)
    return _contexts[device_index].make_current()


def synchronize(device_index: int = 0) -> None:
    context(device_index).synchronize()


# ---- caching allocator -----------------------------------------------------------------------

_SMALL = 1 << 20  # sizes up to 1 MiB round up to a power of two (at least 512 B)
_LARGE_STEP = 2 << 20  # larger sizes round up to a multiple of 2 MiB


def bucket_size(nbytes: int) -> int:
    """The size class a request of ``nbytes`` is served from."""
    if nbytes <= _SMALL:
        return max(512, 1 << (max(nbytes, 1) - 1).bit_length())
    return -(-nbytes // _LARGE_STEP) * _LARGE_STEP


class CachingAllocator:
    """Size-bucketed free lists over raw ``malloc``/``free`` (``cuMemAlloc``/``cuMemFree`` by
    default). A freed block goes back to its bucket and is reused by the next request of the
    same size class; ``empty_cache()`` returns cached blocks to the driver. Blocks are reused
    in stream order, so they are safe on one stream (the default stream serialises everything).
    """

    def __init__(
        self, malloc: Callable[[int], int] | None = None, free: Callable[[int], None] | None = None
    ):
        self._malloc = malloc or _driver_malloc
        self._free = free or _driver_free
        self._free_lists: dict[int, list[int]] = defaultdict(list)
        self._live: dict[int, int] = {}  # ptr -> bucket size
        self._lock = threading.Lock()
        self._counts = dict(in_use=0, cached=0, peak=0, driver_allocs=0, reuses=0)

    def malloc(self, nbytes: int) -> int:
        """A device pointer to at least ``nbytes`` bytes (0 for a zero-size request)."""
        if nbytes == 0:
            return 0
        size = bucket_size(nbytes)
        with self._lock:
            ptr = self._pop_cached(size) or self._fresh(size)
            self._live[ptr] = size
            self._counts["in_use"] += size
            self._counts["peak"] = max(self._counts["peak"], self._counts["in_use"])
        return ptr

    def free(self, ptr: int) -> None:
        """Return ``ptr`` to its bucket (the memory stays allocated on the device)."""
        if ptr == 0:
            return
        with self._lock:
            size = self._live.pop(ptr, None)
            if size is None:
                raise ValueError(
                    f"pointer {ptr:#x} was not allocated by this allocator or was already freed"
                )
            self._free_lists[size].append(ptr)
            self._counts["in_use"] -= size
            self._counts["cached"] += size

    def empty_cache(self) -> None:
        """Give every cached (free) block back to the driver."""
        with self._lock:
            self._release_cached()

    def stats(self) -> dict:
        """``bytes_in_use``, ``bytes_cached``, ``peak_bytes_in_use``, ``num_driver_allocs``,
        ``num_reuses``."""
        c = self._counts
        return dict(
            bytes_in_use=c["in_use"],
            bytes_cached=c["cached"],
            peak_bytes_in_use=c["peak"],
            num_driver_allocs=c["driver_allocs"],
            num_reuses=c["reuses"],
        )

    def _pop_cached(self, size: int) -> int:
        blocks = self._free_lists.get(size)
        if not blocks:
            return 0
        self._counts["cached"] -= size
        self._counts["reuses"] += 1
        return blocks.pop()

    def _fresh(self, size: int) -> int:
        try:
            ptr = self._malloc(size)
        except CudaError as e:  # out of memory: drop the cache once and retry
            if e.code != driver.CUDA_ERROR_OUT_OF_MEMORY:
                raise
            self._release_cached()
            ptr = self._malloc(size)
        self._counts["driver_allocs"] += 1
        return ptr

    def _release_cached(self) -> None:
        for blocks in self._free_lists.values():
            for ptr in blocks:
                self._free(ptr)
        self._free_lists.clear()
        self._counts["cached"] = 0


def _driver_malloc(nbytes: int) -> int:
    context()
    return driver.call_out("cuMemAlloc_v2", driver.CUdeviceptr, nbytes)


def _driver_free(ptr: int) -> None:
    context()
    driver.call("cuMemFree_v2", ptr)


@functools.cache
def allocator() -> CachingAllocator:
    """The process-wide device allocator (device 0)."""
    context()
    return CachingAllocator()


# ---- buffers ---------------------------------------------------------------------------------


def _stream_handle(stream) -> int | None:
    return None if stream is None else stream.handle


class DeviceBuffer:
    """``nbytes`` of device memory at ``ptr`` owned by ``allocator``, optionally typed with a
    numpy ``shape`` and ``dtype``. Freed back to the allocator by ``free()`` or when collected."""

    def __init__(self, ptr: int, nbytes: int, owner: CachingAllocator, shape=None, dtype=None):
        self.ptr, self.nbytes, self.allocator = ptr, nbytes, owner
        self.shape = None if shape is None else tuple(shape)
        self.dtype = None if dtype is None else np.dtype(dtype)

    @classmethod
    def empty(cls, shape, dtype, owner: CachingAllocator | None = None) -> DeviceBuffer:
        owner = owner or allocator()
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        return cls(owner.malloc(nbytes), nbytes, owner, shape, dtype)

    @classmethod
    def from_numpy(cls, array, stream=None, owner=None) -> DeviceBuffer:
        """Copy a host array to a new device buffer with its shape and dtype."""
        # ascontiguousarray makes a 0-d array 1-d: keep the caller's shape
        host = np.ascontiguousarray(array).reshape(np.shape(array))
        buf = cls.empty(host.shape, host.dtype, owner)
        buf.copy_from_host(host, stream)
        return buf

    def copy_from_host(self, host: np.ndarray, stream=None) -> None:
        host = np.ascontiguousarray(host)
        _check_size(host.nbytes, self.nbytes)
        if host.nbytes == 0:
            return
        src = host.ctypes.data_as(ctypes.c_void_p)
        context()
        if stream is None:
            driver.call("cuMemcpyHtoD_v2", self.ptr, src, host.nbytes)
        else:  # pageable memory: the driver has staged it by the time the call returns
            driver.call("cuMemcpyHtoDAsync_v2", self.ptr, src, host.nbytes, stream.handle)

    def to_numpy(self, shape=None, dtype=None, stream=None) -> np.ndarray:
        """Copy back to a new host array (synchronous: waits for work queued before it)."""
        shape = self.shape if shape is None else tuple(shape)
        dtype = self.dtype if dtype is None else np.dtype(dtype)
        if shape is None or dtype is None:
            raise ValueError("DeviceBuffer.to_numpy needs shape and dtype for an untyped buffer")
        host = np.empty(shape, dtype)
        _check_size(host.nbytes, self.nbytes)
        if host.nbytes:
            self._copy_to_host(host, stream)
        return host

    def _copy_to_host(self, host: np.ndarray, stream) -> None:
        dst = host.ctypes.data_as(ctypes.c_void_p)
        context()
        if stream is None:
            driver.call("cuMemcpyDtoH_v2", dst, self.ptr, host.nbytes)
        else:
            driver.call("cuMemcpyDtoHAsync_v2", dst, self.ptr, host.nbytes, stream.handle)
            stream.synchronize()

    def copy_from(self, other: DeviceBuffer) -> None:
        _check_size(other.nbytes, self.nbytes)
        if other.nbytes:
            context()
            driver.call("cuMemcpyDtoD_v2", self.ptr, other.ptr, other.nbytes)

    def zero(self) -> None:
        if self.nbytes:
            context()
            driver.call("cuMemsetD8_v2", self.ptr, 0, self.nbytes)

    def free(self) -> None:
        if self.allocator is not None:
            self.allocator, owner = None, self.allocator
            owner.free(self.ptr)

    def __del__(self):
        try:
            self.free()
        except Exception:  # interpreter shutdown or a dead context: nothing useful to do
            pass

    def __repr__(self) -> str:
        return (
            f"DeviceBuffer(ptr={self.ptr:#x}, nbytes={self.nbytes}, shape={self.shape}, "
            f"dtype={self.dtype})"
        )


def _check_size(src_nbytes: int, dst_nbytes: int) -> None:
    if src_nbytes > dst_nbytes:
        raise ValueError(f"copy of {src_nbytes} bytes does not fit a {dst_nbytes}-byte buffer")


# ---- streams and events ----------------------------------------------------------------------


class Stream:
    """A CUDA stream (``cuStreamCreate``); ``None`` means the legacy default stream elsewhere."""

    def __init__(self, flags: int = 0):
        context()
        self.handle = driver.call_out("cuStreamCreate", driver.CUstream, flags)

    def synchronize(self) -> None:
        driver.call("cuStreamSynchronize", self.handle)

    def close(self) -> None:
        if self.handle is not None:
            self.handle, handle = None, self.handle
            driver.call("cuStreamDestroy_v2", handle)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Event:
    """A CUDA event, for timing: ``start.record(); ...; end.record(); end.elapsed_ms(start)``."""

    def __init__(self, flags: int = 0):
        context()
        self.handle = driver.call_out("cuEventCreate", driver.CUevent, flags)

    def record(self, stream: Stream | None = None) -> Event:
        driver.call("cuEventRecord", self.handle, _stream_handle(stream))
        return self

    def synchronize(self) -> None:
        driver.call("cuEventSynchronize", self.handle)

    def elapsed_ms(self, start: Event) -> float:
        """Milliseconds from ``start`` to this event (waits for this event)."""
        self.synchronize()
        return driver.call_out("cuEventElapsedTime", ctypes.c_float, start.handle, self.handle)

    def __del__(self):
        try:
            driver.call("cuEventDestroy_v2", self.handle)
        except Exception:
            pass


# ---- modules and launches --------------------------------------------------------------------

# Kernel argument kinds -> ctypes; "ptr" also accepts a DeviceBuffer.
ARG_TYPES = {
    "ptr": ctypes.c_void_p,
    "i32": ctypes.c_int32,
    "i64": ctypes.c_int64,
    "u32": ctypes.c_uint32,
    "u64": ctypes.c_uint64,
    "f32": ctypes.c_float,
    "f64": ctypes.c_double,
}


@dataclass(frozen=True)
class Kernel:
    name: str
    handle: int
    module: Module
    signature: tuple[str, ...] | None = None


class Module:
    """A loaded PTX module (``cuModuleLoadDataEx``); kernels are looked up by name."""

    def __init__(self, handle: int, ptx: str):
        self.handle, self.ptx = handle, ptx
        self._kernels: dict[str, int] = {}

    @classmethod
    def from_ptx(cls, ptx: str) -> Module:
        context()
        return cls(driver.module_load_ptx(ptx), ptx)

    def get_function(self, name: str, signature: Sequence[str] | None = None) -> Kernel:
        """The kernel ``name``; raises ``CudaError`` (cuModuleGetFunction) if there is none."""
        if name not in self._kernels:
            context()
            self._kernels[name] = driver.call_out(
                "cuModuleGetFunction", driver.CUfunction, self.handle, name.encode()
            )
        sig = None if signature is None else tuple(signature)
        return Kernel(name, self._kernels[name], self, sig)

    def launch(self, kernel: str | Kernel, grid, block, args, signature=None, **kwargs) -> None:
        """``launch`` on a kernel of this module given by name or as a ``Kernel``."""
        if isinstance(kernel, str):
            kernel = self.get_function(kernel, signature)
        launch(kernel, grid, block, args, signature=signature, **kwargs)

    def unload(self) -> None:
        if self.handle is not None:
            self.handle, handle = None, self.handle
            driver.call("cuModuleUnload", handle)

    def __del__(self):
        if driver._lib is None:  # the driver was reset or never loaded: the handle is gone
            return
        try:
            self.unload()
        except Exception:
            pass


def _dim3(dims) -> tuple[int, int, int]:
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if not 1 <= len(dims) <= 3 or any(int(d) < 1 for d in dims):
        raise ValueError(f"launch dimensions must be 1 to 3 positive ints, got {dims}")
    return tuple(int(d) for d in dims) + (1,) * (3 - len(dims))


def pack_args(args: Sequence, signature: Sequence[str], kernel_name: str = "kernel"):
    """Box each argument in its ctypes type; return ``(void* array, boxes)`` (keep both alive
    until the launch call returns)."""
    if len(args) != len(signature):
        raise TypeError(
            f"{kernel_name} takes {len(signature)} arguments {tuple(signature)}, got {len(args)}"
        )
    boxes = [ARG_TYPES[kind](_arg_value(a, kind)) for a, kind in zip(args, signature)]
    params = (ctypes.c_void_p * max(len(boxes), 1))(
        *[ctypes.cast(ctypes.pointer(b), ctypes.c_void_p) for b in boxes]
    )
    return params, boxes


def _arg_value(arg, kind: str):
    if isinstance(arg, DeviceBuffer):
        if kind != "ptr":
            raise TypeError(f"a DeviceBuffer was passed for a {kind!r} argument")
        return arg.ptr
    return float(arg) if kind in ("f32", "f64") else int(arg)


def launch(
    kernel: Kernel,
    grid,
    block,
    args: Sequence,
    signature: Sequence[str] | None = None,
    shared_mem: int = 0,
    stream: Stream | None = None,
    sync: bool = False,
) -> None:
    """Launch ``kernel`` on ``grid`` x ``block`` with ``args`` packed by ``signature`` (or the
    kernel's own). With ``sync=True`` waits for it, so an execution error surfaces here."""
    signature = signature or kernel.signature
    if signature is None:
        raise TypeError(f"launching {kernel.name} needs a signature, e.g. ('ptr', 'i64', 'f32')")
    params, _boxes = pack_args(args, signature, kernel.name)
    context()
    gx, gy, gz = _dim3(grid)
    bx, by, bz = _dim3(block)
    driver.call(
        "cuLaunchKernel",
        kernel.handle,
        gx,
        gy,
        gz,
        bx,
        by,
        bz,
        shared_mem,
        _stream_handle(stream),
        params,
        None,
    )
    if sync:
        stream.synchronize() if stream is not None else driver.call("cuCtxSynchronize")
