"""funcgrad.numpy.linalg (being built: see docs/numpy.md for what is supported)."""

from funcgrad._src.fnp_base import sqrt as _sqrt
from funcgrad._src.fnp_base import abs as _abs, asarray as _asarray
from funcgrad._src import fnp_reduce as _r


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector 2-norm / Frobenius norm (other ``ord`` values: see funcgrad.numpy.linalg)."""
    x = _asarray(x)
    if ord is None or ord == 2 and (axis is None and x.ndim == 1 or isinstance(axis, int)):
        return _sqrt(_r.sum(_abs(x) ** 2 if x.dtype.kind == "c" else x * x, axis=axis,
                            keepdims=keepdims))
    if ord == 1 and (x.ndim == 1 or isinstance(axis, int)):
        return _r.sum(_abs(x), axis=axis, keepdims=keepdims)
    if ord in (float("inf"), "inf") and (x.ndim == 1 or isinstance(axis, int)):
        return _r.max(_abs(x), axis=axis, keepdims=keepdims)
    if ord == "fro":
        return _sqrt(_r.sum(x * x, axis=axis, keepdims=keepdims))
    raise NotImplementedError(f"norm with ord={ord!r}")
