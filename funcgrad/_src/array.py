"""``fg.Array``: an immutable array with numpy-like operators, and the eager evaluator."""

from __future__ import annotations

import sys

import numpy as np

from funcgrad._src import core, dtypes
from funcgrad._src.core import ShapedArray, Tracer
from funcgrad.config import config


class ArrayOps:
    """Operators and methods shared by concrete Arrays and Tracers (``x + y``, ``x[i]``,
    ``x.sum()``...). They are funcgrad.numpy functions, so the numpy layer installs them here
    and into Tracer when it is imported (``funcgrad._src.numpy.array_methods``)."""

    __slots__ = ()
    __array_priority__ = 1000
    __hash__ = None  # unhashable, like numpy arrays (Array defines its own error)


class _ArrayMeta(type):
    """``isinstance(x, fg.Array)`` is also True for traced arrays, as for ``jax.Array``."""

    def __instancecheck__(cls, obj):
        return type.__instancecheck__(cls, obj) or (cls is Array and isinstance(obj, Tracer))


class _DeletedBuffer:
    """Stands in for the data of an Array whose buffer was donated to a jitted call: any use
    raises the error below instead of reading memory that now holds the call's result."""

    __slots__ = ()
    MESSAGE = (
        "Array has been deleted: x.delete() was called, or its buffer was donated to "
        "a jitted function (jit(..., donate_argnums=...)), where it now holds that "
        "call's output. Use the function's output instead, or do not donate this "
        "argument."
    )

    def __getattr__(self, name):
        raise RuntimeError(self.MESSAGE)

    def __array__(self, *args, **kwargs):
        raise RuntimeError(self.MESSAGE)

    def __len__(self):
        raise RuntimeError(self.MESSAGE)


DELETED = _DeletedBuffer()


class Array(ArrayOps, metaclass=_ArrayMeta):
    """An immutable n-dimensional array (funcgrad's ``jax.Array``).

    Made by ``funcgrad.numpy`` functions (``fnp.asarray``, ``fnp.zeros``...) and returned
    by every operation, rather than constructed directly. It holds a read-only numpy
    buffer on the host; numpy's operators, methods (``x.sum()``, ``x.reshape``, ``x.T``)
    and indexing work, updates go through ``x.at[idx].set(y)``. ``isinstance(t, Array)``
    is also true for traced values.

    Args:
      value: the numpy buffer (not copied; it should be read-only).
      weak_type: whether the value is weakly typed (from a Python scalar: it adopts the
        other operand's dtype in binary operations).
      ldt: the logical dtype when it is not the buffer's (``bfloat16``, held in float32),
        else None.
    """

    # _ldt: the logical dtype when it is not the numpy buffer's (bfloat16, held in float32)
    __slots__ = ("_value", "_weak_type", "_aval", "_ldt", "_sharding", "__weakref__")

    def __init__(self, value: np.ndarray, weak_type: bool = False, ldt=None):
        dt = value.dtype
        if dt.kind not in "biufc" or not dt.isnative:  # nothing else may reach compiled code
            value = _native_buffer(value)
        self._value = value
        self._weak_type = weak_type
        self._aval = None
        self._ldt = ldt

    @property
    def aval(self) -> ShapedArray:
        a = self._aval
        if a is None:
            a = self._aval = ShapedArray(
                self._value.shape, self._ldt or self._value.dtype, self._weak_type
            )
        return a

    shape = property(lambda self: self._value.shape)
    dtype = property(lambda self: self._ldt or self._value.dtype)
    ndim = property(lambda self: self._value.ndim)
    size = property(lambda self: self._value.size)
    weak_type = property(lambda self: self._weak_type)
    nbytes = property(lambda self: self._value.size * self.itemsize)
    itemsize = property(lambda self: self.dtype.itemsize)

    @property
    def device(self):
        from funcgrad._src import devices

        return devices.cpu_device()

    def devices(self) -> set:
        """The devices holding this array.

        Returns:
          ``{CpuDevice(id=0)}`` (a concrete Array lives on the host), or the devices of its
          sharding (``fg.device_put(x, NamedSharding(...))``, pmap's outputs).
        """
        return self.sharding.device_set

    @property
    def sharding(self):
        """How the array is laid out on devices (``SingleDeviceSharding`` by default)."""
        from funcgrad._src import sharding

        return sharding.sharding_of(self)

    @property
    def addressable_shards(self) -> list:
        """Each device's block: ``Shard(device, index, replica_id, data)`` (views)."""
        from funcgrad._src import sharding

        return sharding.addressable_shards(self)

    def block_until_ready(self):
        """Wait until the array is computed (funcgrad computes synchronously).

        Returns:
          The array itself.
        """
        return self

    def delete(self) -> None:
        """Free this array now; any later use raises ``RuntimeError`` (as in JAX)."""
        self._value, self._aval = DELETED, None

    def is_deleted(self) -> bool:
        """Whether ``delete()`` was called or the buffer was donated to a jitted call.

        Returns:
          A bool.
        """
        return self._value is DELETED

    def __array__(self, dtype=None, copy=None):
        v = self._value
        if v is DELETED:
            raise RuntimeError(_DeletedBuffer.MESSAGE)
        if dtype is not None and np.dtype(dtype) != v.dtype:
            return v.astype(dtype)
        if copy:
            return v.copy()
        return v

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """Export through DLPack: zero-copy and flagged read-only, or a copy for consumers
        that could write into it (funcgrad/_src/dlpack.py)."""
        from funcgrad._src import dlpack

        consumer = sys._getframe(1).f_globals.get("__name__", "")
        return dlpack.export(
            self, consumer, stream=stream, max_version=max_version, dl_device=dl_device, copy=copy
        )

    def __dlpack_device__(self) -> tuple[int, int]:
        return (1, 0)  # (kDLCPU, device 0)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self):
        if self.size != 1:
            raise ValueError(
                f"The truth value of an array with shape {self.shape} is "
                f"ambiguous. Use a.any() or a.all()."
            )
        return bool(self._value.reshape(()))

    def __float__(self):
        return float(self._scalar("float"))

    def __int__(self):
        return int(self._scalar("int"))

    def __complex__(self):
        return complex(self._scalar("complex"))

    def __index__(self):
        if self.dtype.kind not in "iub":
            raise TypeError(f"only integer arrays can be used as an index, not {self.dtype}")
        return int(self._scalar("index"))

    def _scalar(self, what):
        if self.size != 1:
            raise TypeError(
                f"only size-1 arrays can be converted to Python {what}s, got shape {self.shape}"
            )
        return self._value.reshape(()).item()

    def item(self, *args):
        """One element as a Python scalar (``numpy.ndarray.item``).

        Args:
          *args: none (the array must have one element), a flat index, or one index per
            dimension.

        Returns:
          A Python ``int``, ``float``, ``complex`` or ``bool``.

        Raises:
          ValueError: without arguments, if the array has more than one element.
          IndexError: if the index is out of bounds.
        """
        return self._value.item(*args)

    def tolist(self):
        """The values as nested Python lists of Python scalars (``numpy.ndarray.tolist``).

        Returns:
          A (nested) list, or a Python scalar for a 0-d array.
        """
        return self._value.tolist()

    def __hash__(self):
        raise TypeError("funcgrad arrays are not hashable; use .item() or a tuple of values")

    def __setitem__(self, idx, val):
        raise TypeError(
            "funcgrad arrays are immutable: x[idx] = y is not allowed. "
            "Use the functional update x = x.at[idx].set(y) instead "
            "(also .add, .multiply, .min, .max)."
        )

    def __repr__(self):
        if self._value is DELETED:
            return "Array(<deleted>)"
        body = np.array2string(self._value, separator=", ", prefix="Array(")
        extra = f", dtype={self.dtype.name}"
        if self._weak_type:
            extra += ", weak_type=True"
        return f"Array({body}{extra})"

    def __str__(self):
        return str(self._value)

    def __format__(self, spec):
        if self.ndim == 0:
            return format(self._value.item(), spec)
        return format(str(self), spec)

    def __reduce__(self):
        raise TypeError(
            "funcgrad arrays are not pickled (loading a pickle can run code); "
            "use fg.save / fg.load or np.asarray(x)"
        )

    def copy(self):
        """A copy: the array itself, since Arrays are immutable.

        Returns:
          ``self``.
        """
        return self

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


def _native_buffer(v: np.ndarray) -> np.ndarray:
    """``v`` in native byte order; TypeError for a dtype that funcgrad cannot hold."""
    if v.dtype.kind not in "biufc":
        raise TypeError(dtypes.unsupported_dtype_message(v.dtype))
    return _readonly(v.astype(v.dtype.newbyteorder("=")))


def _readonly(v: np.ndarray) -> np.ndarray:
    v.flags.writeable = False
    return v


def to_numpy(x) -> np.ndarray:
    if type(x) is Array:
        return x._value
    if isinstance(x, Tracer):
        raise core.TracerArrayConversionError("internal: tracer reached numpy")
    return np.asarray(x)


def wrap(value, weak: bool = False) -> Array:
    """Wrap a fresh numpy result (no copy) as an Array."""
    v = value if isinstance(value, np.ndarray) else np.asarray(value)
    return Array(_readonly(v), weak)


def wrap_bfloat16(value, weak: bool = False) -> Array:
    """Round float values to bfloat16 and wrap them as a bfloat16 Array (float32 buffer)."""
    return Array(_readonly(dtypes.round_to_bfloat16(value)), weak, dtypes.bfloat16)


def array_from_user(x, dtype=None, weak=None) -> Array:
    """Convert user data to an Array (copies, canonicalises the dtype)."""
    if type(x) is Array and dtype is None:
        return x
    if isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic):
        dt, w = dtypes.scalar_type(x)
        if dtype is not None:
            dt, w = dtypes.canonicalize(dtype), False
            if dt is dtypes.bfloat16:
                return wrap_bfloat16(np.array(x, dtype=np.float32), w if weak is None else weak)
        return wrap(np.array(x, dtype=dt), w if weak is None else weak)
    v = np.asarray(x._value if type(x) is Array else x)
    if v.dtype.kind not in "biufc":  # object, str, bytes, datetime...
        raise TypeError(
            f"cannot convert {type(x).__name__} to a funcgrad array, not a valid funcgrad "
            "type: " + dtypes.unsupported_dtype_message(v.dtype)
        )
    if dtype is None and type(x) is Array and x._ldt is not None:
        dtype = x._ldt
    dt = dtypes.canonicalize(dtype if dtype is not None else v.dtype)
    if dt is dtypes.bfloat16:
        if v.dtype.kind not in "biuf":
            raise TypeError(f"cannot convert {v.dtype} values to bfloat16")
        return wrap_bfloat16(v.astype(np.float32), bool(weak) if weak is not None else False)
    out = np.array(v, dtype=dt, copy=True)
    return wrap(out, bool(weak) if weak is not None else False)


def get_aval(x) -> ShapedArray:
    if type(x) is Array:
        return x.aval
    if isinstance(x, Tracer):
        return x.aval
    if isinstance(getattr(x, "aval", None), ShapedArray):  # device arrays (CUDA)
        return x.aval
    if isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic):
        dt, w = dtypes.scalar_type(x)
        return ShapedArray((), dt, w)
    if isinstance(x, (np.ndarray, np.generic)):
        return ShapedArray(np.shape(x), dtypes.canonicalize(x.dtype), False)
    raise TypeError(
        f"Value {x!r} of type {type(x).__name__} is not a valid funcgrad type "
        f"(arrays, numpy arrays and Python scalars are)"
    )


weak_type_rules: dict = {}  # prim -> fn(weak_in: list[bool], **params) -> bool


# primitives whose parameters may name bfloat16: primitive name -> parameter
_DTYPE_PARAMS = {
    "convert_element_type": "new_dtype",
    "iota": "dtype",
    "bitcast_convert_type": "new_dtype",
    "dot_general": "preferred_element_type",
    "conv_general_dilated": "preferred_element_type",
}


def _apply_bfloat16(prim, args, params):
    """Evaluate a primitive that takes or makes bfloat16: the impl runs on the float32
    buffers (bfloat16 parameters read as float32) and every bfloat16 result is rounded to
    bfloat16. A bitcast between bfloat16 and 16-bit integers moves the bit patterns."""
    avals = [get_aval(a) for a in args]
    out_avals = core.abstract_eval(prim, *avals, **params)
    outs_avals = out_avals if prim.multiple_results else [out_avals]
    if prim.name == "bitcast_convert_type":
        x, new = to_numpy(args[0]), params["new_dtype"]
        if new is dtypes.bfloat16:
            out = dtypes.bfloat16_from_bits(x.view(np.uint16))
            return Array(_readonly(np.ascontiguousarray(out)), False, dtypes.bfloat16)
        if avals[0].dtype is dtypes.bfloat16:
            return wrap(dtypes.bfloat16_bits(x).view(new), False)
    if any(isinstance(v, (core.Jaxpr, core.ClosedJaxpr, tuple)) for v in params.values()):
        # inner jaxprs (control flow, calls) run on float32 buffers: legalise them so that
        # they round like the eager path (dtypes.legalize_param)
        physical = {k: dtypes.legalize_param(v) for k, v in params.items()}
    else:
        physical = {
            k: (np.dtype(np.float32) if v is dtypes.bfloat16 else v) for k, v in params.items()
        }
    outs = core.impl_rules[prim](*[to_numpy(a) for a in args], **physical)
    weak_in = [
        a._weak_type
        if type(a) is Array
        else (isinstance(a, (int, float, complex)) and not isinstance(a, (bool, np.generic)))
        for a in args
    ]
    wr = weak_type_rules.get(prim)
    weak = wr(weak_in, **params) if wr else (bool(weak_in) and all(weak_in))
    res = [
        wrap_bfloat16(o, weak) if a.dtype is dtypes.bfloat16 else wrap(o, weak)
        for o, a in zip(outs if prim.multiple_results else [outs], outs_avals)
    ]
    if config.check_floats:
        _check_nans(prim, [r._value for r in res])
    return res if prim.multiple_results else res[0]


_AVAL_CACHE: dict = {}


def _checked_avals(prim, args, params):
    """The abstract rule's result for these operand types, memoised (the rules are pure
    functions of the avals and the hashable parameters); a failing check raises every time."""
    avals = tuple(get_aval(a) for a in args)
    try:
        key = (prim, avals, tuple(sorted(params.items())))
        hit = _AVAL_CACHE.get(key)
    except TypeError:  # an unhashable parameter: no memo
        return core.abstract_eval(prim, *avals, **params)
    if hit is None:
        hit = core.abstract_eval(prim, *avals, **params)
        if len(_AVAL_CACHE) > 8192:
            _AVAL_CACHE.clear()
        _AVAL_CACHE[key] = hit
    return hit


def _as_declared(outs, avals, multiple: bool):
    """numpy results converted to the dtypes the abstract rule declares (where they differ,
    e.g. numpy's ``bool ** 2`` is int8, the primitive's bool)."""
    if not multiple:
        return _cast_to(outs, avals)
    return [_cast_to(o, a) for o, a in zip(outs, avals)]


def _cast_to(out, aval):
    dt = getattr(aval, "dtype", None)
    if isinstance(out, np.ndarray) and isinstance(dt, np.dtype) and out.dtype != dt:
        return out.astype(dt)
    if isinstance(out, np.generic) and isinstance(dt, np.dtype) and out.dtype != dt:
        return np.asarray(out, dt)
    return out


def apply_impl(prim, args, params):
    for a in args:
        if type(a) is Array and a._ldt is not None:
            return _apply_bfloat16(prim, args, params)
    key = _DTYPE_PARAMS.get(prim.name)
    if key is not None and params.get(key) is dtypes.bfloat16:
        return _apply_bfloat16(prim, args, params)
    vals = [to_numpy(a) for a in args]
    impl = core.impl_rules.get(prim)
    if impl is None:
        raise core.missing_rule("evaluation (impl)", prim)
    # the checks tracing makes (dtypes, shapes, parameters), eagerly too: eager and jit raise
    # alike, and the result has the dtype jit would give it (numpy's promotion aside)
    out_avals = _checked_avals(prim, args, params)
    outs = _as_declared(impl(*vals, **params), out_avals, prim.multiple_results)
    weak_in = [
        a._weak_type
        if type(a) is Array
        else (isinstance(a, (int, float, complex)) and not isinstance(a, (bool, np.generic)))
        for a in args
    ]
    wr = weak_type_rules.get(prim)
    weak = wr(weak_in, **params) if wr else (bool(weak_in) and all(weak_in))
    if config.check_floats:
        _check_nans(prim, outs if prim.multiple_results else [outs], args, params)
    if prim.multiple_results:
        return [wrap(o, weak) for o in outs]
    return wrap(outs, weak)


def _check_nans(prim, outs, args=(), params=None):
    from funcgrad._src.debug_nans import check

    rerun = None
    if params and isinstance(params.get("jaxpr"), core.Jaxpr) and prim.name == "pjit":
        rerun = lambda: core.eval_jaxpr(params["jaxpr"], [], list(args))  # op by op
    check(prim.name, outs, rerun)


core.eval_hooks["apply_impl"] = apply_impl
core.eval_hooks["get_aval"] = get_aval
core.eval_hooks["to_numpy"] = to_numpy
