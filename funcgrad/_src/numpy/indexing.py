"""numpy-style indexing (``x[...]``), ``take``/``take_along_axis`` and ``x.at[...]``
updates, written from lax slicing, gather and scatter primitives."""

from __future__ import annotations

import operator

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import Array, get_aval
from funcgrad._src.core import Tracer, canonicalize_axis
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import indexing as li
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.conversion import _broadcast, _promote, asarray, broadcast_to

_INT = dtypes.int32


def _is_int_scalar(i) -> bool:
    return isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))


def _is_array_index(i) -> bool:
    if isinstance(i, (list, np.ndarray, Array, Tracer)):
        return True
    return False


def _normalize(idx, ndim):
    """Tuple form with Ellipsis expanded; booleans turned into integer arrays (concretely)."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    for i in idx:
        if isinstance(i, np.ndarray) and i.ndim == 0 and i.dtype == np.bool_:
            i = bool(i)
        if isinstance(i, (bool, np.bool_)):
            if not i:
                raise IndexError(
                    "indexing with the scalar False (an empty new axis) is not "
                    "supported; use x[None][:0]"
                )
            out.append(None)  # numpy: x[True] adds a new axis of length 1
            continue
        if isinstance(i, list):
            i = np.asarray(i) if len(i) else np.zeros(0, np.int32)
        if isinstance(i, (np.ndarray, Array, Tracer)) and get_aval(asarray(i)).dtype == np.bool_:
            if isinstance(i, Tracer):
                raise IndexError(
                    "boolean-mask indexing with a traced mask is not possible inside jit/vmap "
                    "(the result size would depend on values): use fnp.where(mask, x, 0) or "
                    "x.at[...] with a fixed-size index instead"
                )
            out.extend(np.nonzero(np.asarray(i)))
            continue
        if (
            isinstance(i, (np.ndarray, Array, Tracer))
            and get_aval(asarray(i)).dtype.kind not in "iu"
        ):
            raise IndexError(
                f"indices must be integers or booleans, got dtype {get_aval(asarray(i)).dtype}"
            )
        if not (
            i is None
            or i is Ellipsis
            or isinstance(i, slice)
            or _is_int_scalar(i)
            or isinstance(i, (np.ndarray, Array, Tracer))
        ):
            raise IndexError(
                f"only integers, slices (`:`), ellipsis (`...`), None and integer "
                f"or boolean arrays are valid indices, got {i!r}"
            )
        out.append(i)
    n_ell = sum(1 for i in out if i is Ellipsis)
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(1 for i in out if i is not None and i is not Ellipsis)
    if used > ndim:
        raise IndexError(
            f"too many indices for array: array is {ndim}-dimensional, but {used} were indexed"
        )
    if n_ell:
        k = out.index(Ellipsis)
        out = out[:k] + [slice(None)] * (ndim - used) + out[k + 1 :]
    else:
        out = out + [slice(None)] * (ndim - used)
    return out


def _has_advanced(items):
    return any(isinstance(i, (np.ndarray, Array, Tracer)) for i in items)


def getitem(x, idx, mode=None, fill_value=None):
    x = asarray(x)
    items = _normalize(idx, get_aval(x).ndim)
    if mode is not None:  # .at[...] paths: ints go through gather so `mode` applies to them
        items = [np.asarray(i) if _is_int_scalar(i) else i for i in items]
    advanced = _has_advanced(items)
    shape = get_aval(x).shape
    d = 0
    squeeze_dims, adv = [], []  # adv: (position in the tuple, axis of x, index array)
    for pos, it in enumerate(items):
        if it is None:
            continue
        n = shape[d]
        if isinstance(it, slice):
            x = _apply_slice(x, d, it, n)
        elif _is_int_scalar(it) and not advanced:
            i = operator.index(it)
            if n == 0:
                raise IndexError(f"index {i} is out of bounds for axis {d} with size 0")
            i = min(max(i + n if i < 0 else i, 0), n - 1)  # clamped, like JAX
            x = lsl.slice_in_dim(x, i, i + 1, axis=d)
            squeeze_dims.append(d)
        elif isinstance(it, Tracer) and get_aval(it).ndim == 0 and not advanced:
            x = _dynamic_index(x, d, it, n)
            squeeze_dims.append(d)
        else:
            adv.append((pos, d, _norm_index_array(it, n)))
        d += 1
    if adv:
        x = _advanced(x, items, adv, mode, fill_value)
        return x
    x = ls.squeeze(x, tuple(squeeze_dims)) if squeeze_dims else x
    return _insert_newaxes(x, items)


def _insert_newaxes(x, items):
    pos, out_axes = 0, []
    for it in items:
        if it is None:
            out_axes.append(pos)
            pos += 1
        elif not (_is_int_scalar(it) or (isinstance(it, Tracer) and get_aval(it).ndim == 0)):
            pos += 1
    return ls.expand_dims(x, tuple(out_axes)) if out_axes else x


def _apply_slice(x, d, s, n):
    start, stop, step = s.indices(n) if not _traced_slice(s) else _traced_slice_error(s)
    if step > 0:
        if (start, stop, step) == (0, n, 1):
            return x
        return lsl.slice_in_dim(x, start, max(start, stop), step, axis=d)
    # negative step: reverse, then slice forward
    x = ls.rev(x, (d,))
    s2, e2 = n - 1 - start, n - 1 - stop
    return lsl.slice_in_dim(x, s2, max(s2, e2), -step, axis=d)


def _traced_slice(s) -> bool:
    return any(isinstance(v, Tracer) for v in (s.start, s.stop, s.step))


def _traced_slice_error(s):
    raise IndexError(
        "slice bounds must be concrete (the slice size must be known while "
        "tracing): use lax.dynamic_slice(x, (start,), (size,)) for a traced start"
    )


def _dynamic_index(x, d, i, n):
    starts = [ls.full((), 0, _INT)] * get_aval(x).ndim
    starts[d] = i  # dynamic_slice normalises it (negative from the end) without wrapping
    sizes = list(get_aval(x).shape)
    sizes[d] = 1
    return lsl.dynamic_slice(x, starts, sizes)


def _np_index(a, n, how):
    """A concrete index array as int32 (int64 for huge axes), exactly: ``how`` is "normalize"
    (negative counts from the end), "saturate" (the raw value) or "wrap" (modulo ``n``); out of
    range values stay out of range (saturated to ``[-n - 1, n]``), none wraps."""
    a = np.asarray(a)
    a = a.astype(a.dtype.newbyteorder("="))  # big-endian and other byte orders: native
    if not (a.dtype.kind == "u" and a.dtype.itemsize == 8):
        a = a.astype(np.int64)  # exact for every other integer dtype
    if how == "wrap":
        return (a % a.dtype.type(n)).astype(np.int32 if n < 2**31 else np.int64)
    info = np.iinfo(a.dtype)
    a = np.clip(a, a.dtype.type(max(-n - 1, info.min)), a.dtype.type(n)).astype(np.int64)
    if how == "normalize":
        a = np.where(a < 0, a + n, a)
    return a.astype(np.int32 if n < 2**31 else np.int64)


def _norm_index_array(it, n, how="normalize"):
    """Integer index array as int32, negative indices counted from the end (like numpy / JAX)
    for ``how="normalize"``; see ``_np_index``. No index wraps, whatever its dtype."""
    kind = np.asarray(it).dtype.kind if not isinstance(it, (Array, Tracer)) else None
    kind = kind or get_aval(it).dtype.kind
    if kind not in "iu":
        from funcgrad._src.core import ValueTypeError

        raise ValueTypeError(f"indices must be integers, got dtype {get_aval(asarray(it)).dtype}")
    if isinstance(it, np.ndarray) or _is_int_scalar(it):
        return asarray(_np_index(it, n, how))
    a = asarray(it)
    if how == "wrap":
        return lsl.wrap_index(a, n)
    return lsl.normalize_index(a, n) if how == "normalize" else lsl.saturate_index(a, -1, n)


def _advanced(x, items, adv, mode, fill_value):
    arrays = _broadcast(*[a for _, _, a in adv])
    bshape = get_aval(arrays[0]).shape
    axes = tuple(d for _, d, _ in adv)
    cols = [ls.expand_dims(le.convert_element_type(a, _INT), (len(bshape),)) for a in arrays]
    idx = lsl.concatenate(cols, len(bshape)) if len(cols) > 1 else cols[0]
    out = li.gather(x, idx, axes, mode or "clip", fill_value)
    # out: B + kept axes of x (in order). None axes and placement, numpy-style:
    positions = [p for p, _, _ in adv]
    adjacent = positions == list(range(positions[0], positions[0] + len(positions)))
    n_b = len(bshape)
    kept_before = 0
    if adjacent:
        for it in items[: positions[0]]:
            if it is not None:
                kept_before += 1
    if kept_before:
        nd = get_aval(out).ndim
        perm = (
            list(range(n_b, n_b + kept_before))
            + list(range(n_b))
            + list(range(n_b + kept_before, nd))
        )
        out = ls.transpose(out, tuple(perm))
    # insert None axes: they count in the non-advanced order
    none_axes, pos = [], 0
    b_inserted = False
    for p, it in enumerate(items):
        if p in positions:
            if not b_inserted and adjacent:
                pos += n_b
                b_inserted = True
            continue
        if it is None:
            none_axes.append(pos + (0 if adjacent else n_b))
        pos += 1
    return ls.expand_dims(out, tuple(none_axes)) if none_axes else out


def _gather_pairs(a, rows, cols):
    """a[..., rows[k], cols[k]] for k, with the selected axis last."""
    nd = get_aval(a).ndim
    idx = np.stack([rows, cols], -1).astype(np.int32)
    out = li.gather(a, asarray(idx), (nd - 2, nd - 1), "clip")
    return ls.transpose(out, tuple(range(1, nd - 1)) + (0,))


@arraylike_args(0, 1)
def take(
    a,
    indices,
    axis=None,
    out=None,
    mode=None,
    unique_indices=False,
    indices_are_sorted=False,
    fill_value=None,
):
    """Elements of ``a`` at ``indices`` along ``axis`` (numpy's ``take``).

    Out-of-range indices follow ``mode``, as in ``jax.numpy``: ``None``/``'fill'`` give
    ``fill_value`` (default: NaN for inexact dtypes, the most negative value for signed
    integers, the largest for unsigned, True for bool); ``'clip'`` clamps them; any other mode
    (``'raise'`` included: nothing can raise under ``jit``) clamps too. Negative indices count
    from the end, except under ``'clip'``, which clamps the index as given (``-1`` gives the
    first element, as in numpy and JAX), and ``'wrap'``, which takes it modulo the axis length.

    Args:
        a: input (array_like).
        indices: integer array_like (may be traced).
        axis: the axis to index; None flattens ``a`` first.
        out: ignored (arrays are immutable).
        mode: ``None``, ``'fill'``, ``'clip'`` or ``'wrap'``.
        unique_indices: ignored (a JAX performance hint).
        indices_are_sorted: ignored (a JAX performance hint).
        fill_value: the value for out-of-range indices in fill mode.

    Returns:
        Array of shape ``a.shape[:axis] + indices.shape + a.shape[axis + 1:]``.

    Raises:
        ValueError: if ``axis`` is out of range.
    """
    a = asarray(a)
    if axis is None:
        a = ls.reshape(a, (get_aval(a).size,))
        axis = 0
    ax = canonicalize_axis(axis, get_aval(a).ndim)
    n = get_aval(a).shape[ax]
    # 'clip' clamps the raw index (-1 -> 0) and 'wrap' takes it modulo n, as numpy and JAX do;
    # only the fill modes count negative indices from the end.
    how = {"clip": "saturate", "wrap": "wrap"}.get(mode, "normalize")
    ind = _norm_index_array(
        indices if not isinstance(indices, list) else np.asarray(indices), n, how
    )
    ishape = get_aval(ind).shape
    idx = ls.expand_dims(le.convert_element_type(ind, _INT), (len(ishape),))
    res = li.gather(a, idx, (ax,), "fill" if mode in (None, "fill") else "clip", fill_value)
    # res: ishape + (other axes); move ishape into position ax
    nd_i = len(ishape)
    nd = get_aval(res).ndim
    perm = list(range(nd_i, nd_i + ax)) + list(range(nd_i)) + list(range(nd_i + ax, nd))
    return ls.transpose(res, tuple(perm))


@arraylike_args(0, 1)
def take_along_axis(arr, indices, axis, mode=None, fill_value=None):
    """Pick values of ``arr`` along ``axis`` with an index array of the same rank.

    Follows ``numpy.take_along_axis`` (as ``jax.numpy``, the other axes broadcast).
    Out-of-range indices follow ``mode``, as in ``jax.numpy``: ``None``/``'fill'`` give
    ``fill_value`` (default: NaN for inexact dtypes, the most negative value for signed
    integers, the largest for unsigned, True for bool); ``'clip'`` clamps them; any other mode
    (``'raise'`` included: nothing can raise under ``jit``) clamps too. Negative indices count
    from the end.

    Args:
        arr: input (array_like).
        indices: integer array of ``arr``'s rank (1-d when ``axis`` is None).
        axis: the axis to index; None flattens ``arr`` first.
        mode: ``None``, ``'fill'`` or ``'clip'``.
        fill_value: the value for out-of-range indices in fill mode.

    Returns:
        Array of the broadcast shape, with ``indices``' length along ``axis``.

    Raises:
        ValueError: if the ranks differ or ``axis`` is out of range.
    """
    arr = asarray(arr)
    if axis is None:
        arr = ls.reshape(arr, (get_aval(arr).size,))
        axis = 0
    ax = canonicalize_axis(axis, get_aval(arr).ndim)
    ind = asarray(indices)
    if get_aval(ind).ndim != get_aval(arr).ndim:
        raise ValueError(
            f"take_along_axis: indices of shape {get_aval(ind).shape} need the "
            f"same rank as the array {get_aval(arr).shape}"
        )
    n = get_aval(arr).shape[ax]
    ind = _norm_index_array(ind, n)
    ashape, ishape = get_aval(arr).shape, get_aval(ind).shape
    bshape = tuple(i if d == ax else max(a_, i) for d, (a_, i) in enumerate(zip(ashape, ishape)))
    ind = broadcast_to(ind, bshape)
    arr = broadcast_to(
        arr, tuple(a_ if d == ax else b for d, (a_, b) in enumerate(zip(ashape, bshape)))
    )
    return li.take_along_axis(
        arr,
        le.convert_element_type(ind, _INT),
        ax,
        "fill" if mode in (None, "fill") else "clip",
        fill_value,
    )


class IndexUpdateHelper:
    """``x.at[idx].set(v)`` and friends: functional versions of in-place updates."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, idx):
        return IndexUpdateRef(self.array, idx)

    def __repr__(self):
        return f"_IndexUpdateHelper({self.array!r})"


class IndexUpdateRef:
    """``x.at[idx]``: the functional updates of ``x`` at ``idx`` (``set``, ``add``, ...).

    Each method returns a new array (``x`` is unchanged). Out-of-range indices are dropped by
    updates (``mode='clip'`` clamps them instead) and clamped by ``get``.
    """

    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array, self.index = array, index

    def get(self, indices_are_sorted=False, unique_indices=False, mode=None, fill_value=None):
        # JAX clamps out-of-bounds reads unless mode="fill" is asked for
        return getitem(self.array, self.index, mode or "clip", fill_value)

    def set(self, values, indices_are_sorted=False, unique_indices=False, mode=None):
        return _update(self.array, self.index, values, "set", mode)

    def add(self, values, indices_are_sorted=False, unique_indices=False, mode=None):
        return _update(self.array, self.index, values, "add", mode)

    def subtract(self, values, indices_are_sorted=False, unique_indices=False, mode=None):
        return _update(self.array, self.index, -asarray(values), "add", mode)

    def multiply(self, values, indices_are_sorted=False, unique_indices=False, mode=None):
        return _update(self.array, self.index, values, "mul", mode)

    mul = multiply

    def divide(self, values, indices_are_sorted=False, unique_indices=False, mode=None):
        return _update(self.array, self.index, 1 / asarray(values), "mul", mode)

    def power(self, values, **kw):
        cur = self.get(mode="clip")
        return self.set(cur**values, **kw)

    def min(self, values, indices_are_sorted=False, unique_indices=False, mode=None):
        return _update(self.array, self.index, values, "min", mode)

    def max(self, values, indices_are_sorted=False, unique_indices=False, mode=None):
        return _update(self.array, self.index, values, "max", mode)

    def apply(self, func, indices_are_sorted=False, unique_indices=False, mode=None):
        return self.set(func(self.get(mode="clip")), mode=mode)


def _update(x, idx, values, combine, mode):
    """Scatter ``values`` into ``x`` at ``idx`` (JAX: promote both, combine, cast back)."""
    x = asarray(x)
    dtype, weak = get_aval(x).dtype, get_aval(x).weak_type
    x, values = _promote(x, asarray(values))
    out = _update_same_dtype(x, idx, values, combine, mode)
    if (get_aval(out).dtype, get_aval(out).weak_type) != (dtype, weak):
        out = le.convert_element_type(out, dtype, weak)
    return out


def _update_same_dtype(x, idx, values, combine, mode):
    shape = get_aval(x).shape
    size = get_aval(x).size
    flat_ids = ls.reshape(ls.iota(_INT, size), shape) if shape else ls.iota(_INT, 1)
    if not shape:
        flat_ids = ls.reshape(flat_ids, ())
    sel = getitem(flat_ids, idx, mode="fill" if mode != "clip" else "clip", fill_value=-1)
    sshape = get_aval(sel).shape
    vals = asarray(values)
    if get_aval(vals).dtype != get_aval(x).dtype:
        vals = le.convert_element_type(vals, get_aval(x).dtype)
    try:
        vals = broadcast_to(vals, sshape)
    except ValueError:
        raise ValueError(
            f".at[...] update: values of shape {get_aval(vals).shape} cannot be "
            f"broadcast to the indexed shape {sshape}"
        ) from None
    n = get_aval(sel).size
    flat_x = ls.reshape(x, (size,))
    ind = ls.reshape(sel, (n, 1))
    upd = ls.reshape(vals, (n,))
    smode = "clip" if mode == "clip" else "drop"
    if combine == "add":
        out = li.scatter_add(flat_x, ind, upd, (0,), smode)
    else:
        out = li.scatter(flat_x, ind, upd, (0,), smode, combine)
    return ls.reshape(out, shape)
