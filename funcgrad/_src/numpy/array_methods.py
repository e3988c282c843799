"""The operators and methods of ``Array`` and ``Tracer`` (``x + y``, ``x[i]``, ``x.sum()``...).

They are funcgrad.numpy functions, and ``array.py`` sits below the numpy layer, so this module
installs them into ``ArrayOps`` (the mixin of ``Array``) and ``Tracer`` when it is imported
(``funcgrad._src.numpy`` imports it, and ``import funcgrad`` imports that).
"""

from __future__ import annotations

from funcgrad._src.array import ArrayOps
from funcgrad._src.core import Tracer
from funcgrad._src.numpy import bitwise as bw
from funcgrad._src.numpy import conversion as cv
from funcgrad._src.numpy import indexing as ix
from funcgrad._src.numpy import logic as lg
from funcgrad._src.numpy import math as fm
from funcgrad._src.numpy import products as pr
from funcgrad._src.numpy import reductions as R
from funcgrad._src.numpy import shape as S
from funcgrad._src.numpy import sorting as Q

# operator name -> numpy function; binary operators also get their reflected form (__radd__)
BINARY = {
    "add": fm.add,
    "sub": fm.subtract,
    "mul": fm.multiply,
    "truediv": fm.true_divide,
    "floordiv": fm.floor_divide,
    "mod": fm.remainder,
    "divmod": fm.divmod,
    "pow": fm.power,
    "matmul": pr.matmul,
    "and": bw.bitwise_and,
    "or": bw.bitwise_or,
    "xor": bw.bitwise_xor,
    "lshift": bw.left_shift,
    "rshift": bw.right_shift,
}
COMPARISONS = {
    "eq": lg.equal,
    "ne": lg.not_equal,
    "lt": lg.less,
    "le": lg.less_equal,
    "gt": lg.greater,
    "ge": lg.greater_equal,
}
UNARY = {"neg": fm.negative, "abs": fm.abs, "invert": bw.invert}


def _named(f, name):
    f.__name__ = f.__qualname__ = name
    return f


def _binary(fn, name):
    return _named(lambda self, o: fn(self, o), name)


def _reflected(fn, name):
    return _named(lambda self, o: fn(o, self), name)


def _unary(fn, name):
    return _named(lambda self: fn(self), name)


def operators() -> dict:
    """Every operator method, by its dunder name."""
    ops = {"__pos__": _named(lambda self: self, "__pos__")}
    for n, fn in BINARY.items():
        ops[f"__{n}__"] = _binary(fn, f"__{n}__")
        ops[f"__r{n}__"] = _reflected(fn, f"__r{n}__")
    for n, fn in COMPARISONS.items():
        ops[f"__{n}__"] = _binary(fn, f"__{n}__")
    for n, fn in UNARY.items():
        ops[f"__{n}__"] = _unary(fn, f"__{n}__")
    return ops


class ArrayMethods:
    """The (non-operator) methods and properties installed on Array and Tracer."""

    def __getitem__(self, idx):
        return ix.getitem(self, idx)

    @property
    def at(self):
        return ix.IndexUpdateHelper(self)

    @property
    def T(self):
        return S.transpose(self)

    @property
    def mT(self):
        return S.swapaxes(self, -1, -2)

    @property
    def real(self):
        return fm.real(self)

    @property
    def imag(self):
        return fm.imag(self)

    def conj(self):
        return fm.conj(self)

    def conjugate(self):
        return fm.conj(self)

    def reshape(self, *shape, order="C"):
        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        return S.reshape(self, shape, order=order)

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes
        return S.transpose(self, axes or None)

    def astype(self, dtype):
        return cv.astype(self, dtype)

    # reductions forward `initial=` / `where=` (and the like) to funcgrad.numpy, as in JAX
    def sum(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        return R.sum(self, axis, dtype, keepdims=keepdims, **kw)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        return R.prod(self, axis, dtype, keepdims=keepdims, **kw)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        return R.mean(self, axis, dtype, keepdims=keepdims, **kw)

    def var(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
        return R.var(self, axis, dtype, ddof=ddof, keepdims=keepdims, **kw)

    def std(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
        return R.std(self, axis, dtype, ddof=ddof, keepdims=keepdims, **kw)

    def max(self, axis=None, out=None, keepdims=False, **kw):
        return R.max(self, axis, keepdims=keepdims, **kw)

    def min(self, axis=None, out=None, keepdims=False, **kw):
        return R.min(self, axis, keepdims=keepdims, **kw)

    def argmax(self, axis=None, out=None, keepdims=False):
        return R.argmax(self, axis, keepdims=keepdims)

    def argmin(self, axis=None, out=None, keepdims=False):
        return R.argmin(self, axis, keepdims=keepdims)

    def all(self, axis=None, out=None, keepdims=False, **kw):
        return R.all(self, axis, keepdims=keepdims, **kw)

    def any(self, axis=None, out=None, keepdims=False, **kw):
        return R.any(self, axis, keepdims=keepdims, **kw)

    def cumsum(self, axis=None, dtype=None, out=None):
        return R.cumsum(self, axis, dtype)

    def cumprod(self, axis=None, dtype=None, out=None):
        return R.cumprod(self, axis, dtype)

    def ptp(self, axis=None, out=None, keepdims=False):
        return R.ptp(self, axis, keepdims=keepdims)

    def searchsorted(self, v, side="left", sorter=None):
        return Q.searchsorted(self, v, side=side, sorter=sorter)

    def squeeze(self, axis=None):
        return S.squeeze(self, axis)

    def ravel(self):
        return S.ravel(self)

    def flatten(self):
        return S.ravel(self)

    def clip(self, min=None, max=None, out=None, **kw):
        return fm.clip(self, min, max)

    def dot(self, o):
        return pr.dot(self, o)

    def round(self, decimals=0, out=None):
        return fm.round(self, decimals)

    def swapaxes(self, a, b):
        return S.swapaxes(self, a, b)

    def sort(self, axis=-1, **kw):
        return Q.sort(self, axis, **kw)

    def argsort(self, axis=-1, **kw):
        return Q.argsort(self, axis, **kw)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return S.diagonal(self, offset, axis1, axis2)

    def trace(self, offset=0):
        return S.trace(self, offset)

    def nonzero(self):
        return Q.nonzero(self)

    def repeat(self, repeats, axis=None):
        return S.repeat(self, repeats, axis)

    def take(self, indices, axis=None):
        return ix.take(self, indices, axis)


_NOT_METHODS = {"__module__", "__doc__", "__dict__", "__weakref__", "__qualname__"}


def install(cls, keep=()) -> None:
    """Set every operator and method on ``cls``, except the names in ``keep``."""
    methods = {k: v for k, v in vars(ArrayMethods).items() if k not in _NOT_METHODS}
    for name, fn in {**operators(), **methods}.items():
        if name not in keep:
            setattr(cls, name, fn)


install(ArrayOps)
install(Tracer, keep=set(vars(Tracer)))  # Tracer keeps its own conversions and errors
