"""DLPack interchange: ``Array.__dlpack__`` / ``__dlpack_device__`` and ``from_dlpack``.

Export is zero-copy and read-only: the capsule says "read-only" (DLPack >= 1.0), so numpy's
``from_dlpack`` gives a read-only view of the Array's buffer. A consumer that cannot be told
"read-only" gets a copy instead, so that nobody can write into an immutable Array: legacy
(pre-1.0) requests, and PyTorch, whose ``from_dlpack`` (2.13) ignores the read-only flag and
would hand out a writable tensor over the buffer. Import is zero-copy where the dtype allows
(see docs/how-to/interchange.md).
"""

from __future__ import annotations

import numpy as np

from funcgrad._src import array as _array
from funcgrad._src import dtypes
from funcgrad._src.array import Array, array_from_user

CPU = 1  # DLDeviceType.kDLCPU
_IGNORE_READ_ONLY = ("torch",)  # consumers known to ignore DLPack's read-only flag


def _buffer(x: Array) -> np.ndarray:
    v = x._value
    if v is _array.DELETED:
        raise RuntimeError("cannot export a deleted (or donated) Array through DLPack")
    if x._ldt is dtypes.bfloat16:
        raise BufferError(
            "a bfloat16 Array cannot be exported through DLPack: funcgrad holds bfloat16 "
            "values in a float32 buffer. Export x.astype(funcgrad.numpy.float32) (exact) and "
            "convert on the other side, e.g. torch.from_dlpack(...).to(torch.bfloat16)"
        )
    return v


def _needs_copy(max_version, consumer: str) -> bool:
    """Whether a zero-copy export could end up writable in the consumer's hands."""
    legacy = max_version is None or tuple(max_version)[0] < 1
    return legacy or consumer.split(".")[0] in _IGNORE_READ_ONLY


def export(x: Array, consumer: str, *, stream=None, max_version=None, dl_device=None, copy=None):
    """The DLPack capsule for ``x`` (``consumer``: the calling module's name)."""
    v = _buffer(x)
    if stream is not None:
        raise BufferError(f"funcgrad arrays live on the CPU: stream must be None, got {stream!r}")
    if dl_device is not None and tuple(dl_device) != (CPU, 0):
        raise BufferError(f"funcgrad arrays live on the CPU (1, 0), not on device {dl_device}")
    if copy is not True and _needs_copy(max_version, consumer):
        if copy is False:
            raise BufferError(
                "copy=False: this consumer cannot be handed a read-only view of an immutable "
                "funcgrad Array (legacy DLPack, or a consumer that ignores the read-only flag)"
            )
        copy = True
    if copy:
        v = v.copy()  # writable, owned by the capsule
    if max_version is None:
        return v.__dlpack__()
    return v.__dlpack__(max_version=tuple(max_version))


# ---- import -------------------------------------------------------------------------------


def from_dlpack(x, /, *, device=None, copy: bool | None = None) -> Array:
    """A funcgrad Array from any object with ``__dlpack__`` (numpy arrays, torch tensors...).

    Zero-copy where possible: the Array is a read-only view of the producer's memory, so do
    not modify the source afterwards (or pass ``copy=True``). A copy is made when funcgrad
    needs another dtype (float64 without ``jax_enable_x64``) and for bfloat16 (converted
    exactly; funcgrad holds bfloat16 in float32). CPU memory only.

    Args:
      x: a producer with ``__dlpack__`` on the CPU (a funcgrad Array is returned as is).
      device: None, ``"cpu"`` or the CPU :class:`Device`.
      copy: True: always copy; False: never (raise if a dtype conversion needs one); None:
        copy only when needed.

    Returns:
      A read-only funcgrad Array with the source's shape and (canonicalised) dtype.

    Raises:
      TypeError: if ``x`` has no ``__dlpack__``, or is a bfloat16 tensor of an unknown
        library.
      ValueError: if ``device`` is not the CPU, or ``copy=False`` and the dtype changes.
      BufferError: if the source lives on another DLPack device (a GPU).

    >>> import numpy as np, funcgrad.numpy as fnp
    >>> a = np.arange(3, dtype=np.float32)
    >>> x = fnp.from_dlpack(a)
    >>> x, np.shares_memory(np.asarray(x), a)
    (Array([0., 1., 2.], dtype=float32), True)
    """
    if type(x) is Array:
        return x
    _check_device(x, device)
    bits = _bfloat16_bits(x)
    if bits is not None:
        values = np.array(dtypes.bfloat16_from_bits(bits))
        values.flags.writeable = False
        return Array(values, False, dtypes.bfloat16)
    v = np.from_dlpack(x)
    if dtypes.canonicalize(v.dtype) != v.dtype:
        if copy is False:
            raise ValueError(
                f"from_dlpack(copy=False): {v.dtype} becomes {dtypes.canonicalize(v.dtype)} "
                "in funcgrad (enable x64 to keep it), which needs a copy"
            )
        return array_from_user(v)
    view = v.copy() if copy else v.view()
    view.flags.writeable = False
    return Array(view, False)


def _check_device(x, device) -> None:
    if device is not None and getattr(device, "platform", device) != "cpu":
        raise ValueError(f"from_dlpack: funcgrad imports to the CPU only, got device={device!r}")
    if not hasattr(x, "__dlpack__"):
        raise TypeError(f"from_dlpack needs an object with __dlpack__, got {type(x).__name__}")
    where = tuple(x.__dlpack_device__()) if hasattr(x, "__dlpack_device__") else (CPU, 0)
    if where[0] != CPU:
        raise BufferError(
            f"from_dlpack: the source lives on DLPack device {where}, funcgrad imports CPU "
            "memory only: copy it to the host first (torch: t.cpu())"
        )


def _bfloat16_bits(x):
    """uint16 bit patterns of a bfloat16 source (numpy with ml_dtypes, torch), else None.

    numpy has no bfloat16, so ``np.from_dlpack`` refuses these; their bits come through as
    16-bit integers and funcgrad widens them to float32 exactly."""
    if "bfloat16" not in str(getattr(x, "dtype", "")):
        return None
    if isinstance(x, np.ndarray):
        return x.view(np.uint16)
    if type(x).__module__.split(".")[0] == "torch":
        import torch

        return np.from_dlpack(x.detach().view(torch.int16)).view(np.uint16)
    raise TypeError(
        f"from_dlpack: cannot import bfloat16 from {type(x).__name__}; convert it to float32 "
        "on the producer's side and use .astype(funcgrad.numpy.bfloat16)"
    )
