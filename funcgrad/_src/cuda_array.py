"""Arrays that live on a CUDA device.

A ``CudaArray`` holds a ``DeviceBuffer`` plus its aval and device. It is deliberately small:
computation on it goes through ``jit(f, backend="cuda")`` (which uses the buffer in place);
bringing it to the host is explicit (``np.asarray(x)``, ``fg.device_get(x)``). Arithmetic
operators raise instead of silently copying to the host and computing there.
"""

from __future__ import annotations

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.core import ShapedArray
from funcgrad.backend import get_target


class CudaArray:
    """An array in CUDA device memory: ``.device``, ``.shape``, ``.dtype``; ``np.asarray`` copies
    it back to the host."""

    __slots__ = ("__weakref__", "aval", "device", "device_buffer")
    __array_priority__ = 100

    def __init__(self, buffer, aval: ShapedArray, device):
        self.device_buffer, self.aval, self.device = buffer, aval, device

    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: len(self.aval.shape))
    size = property(lambda self: int(np.prod(self.aval.shape, dtype=np.int64)))
    weak_type = property(lambda self: self.aval.weak_type)

    def devices(self) -> set:
        return {self.device}

    def block_until_ready(self) -> CudaArray:
        get_target(self.device.platform).synchronize(self.device.id)
        return self

    def __array__(self, dtype=None, copy=None):
        host = self.device_buffer.to_numpy(self.shape, dtypes.physical(self.dtype))
        return host if dtype is None else host.astype(dtype)

    def __repr__(self) -> str:
        return f"CudaArray({np.asarray(self)!r}, device={self.device})"

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def _no_host_math(self, *args, **kwargs):
        raise TypeError(
            "operations on a CudaArray run only inside jit(f, backend='cuda'); funcgrad does not "
            "copy device arrays to the host behind your back. Wrap the computation in "
            "jit(..., backend='cuda'), or bring the array to the host with fg.device_get(x)."
        )

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _no_host_math
    __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = __pow__ = __neg__ = _no_host_math
    __getitem__ = __lt__ = __le__ = __gt__ = __ge__ = _no_host_math
    __bool__ = _no_host_math


def to_device(array, device) -> CudaArray:
    """Copy ``array`` (an ``Array`` or numpy data) to CUDA ``device`` (a ``Device`` of platform
    ``"cuda"``). A ``CudaArray`` already on that device is returned as it is."""
    if isinstance(array, CudaArray) and array.device == device:
        return array
    host = np.asarray(array)
    host = np.ascontiguousarray(host).reshape(host.shape)  # ascontiguousarray makes 0-d 1-d
    buffer = get_target(device.platform).to_device(host, device.id)
    dtype = dtypes.bfloat16 if getattr(array, "dtype", None) is dtypes.bfloat16 else host.dtype
    aval = ShapedArray(host.shape, dtype, bool(getattr(array, "weak_type", False)))
    return CudaArray(buffer, aval, device)


def device_get(x) -> np.ndarray:
    return np.asarray(x)
