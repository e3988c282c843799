"""funcgrad.numpy: functional programming helpers (``vectorize`` and ``apply_along_axis``
through vmap, ``piecewise``)."""

from __future__ import annotations

import builtins
import functools

import numpy as np

from funcgrad._src.array import get_aval
from funcgrad._src.core import canonicalize_axis
from funcgrad._src.numpy.conversion import (
    _dtype,
    _shape,
    asarray,
    astype,
    broadcast_shapes,
    broadcast_to,
)
from funcgrad._src.numpy.creation import ones, zeros_like
from funcgrad._src.numpy.logic import _to_bool, logical_not, logical_or, where


def piecewise(x, condlist, funclist, *args, **kw):
    """Piecewise-defined function: ``funclist[i]`` where ``condlist[i]`` holds.

    Follows ``numpy.piecewise`` and ``jax.numpy.piecewise``: one extra entry in ``funclist`` is the
    value where no condition holds (else 0 there); later conditions win where several hold. Every
    function is evaluated on all of ``x`` (so it must be safe everywhere), and the results are
    selected with ``where``, which keeps it differentiable and jit-able.

    Args:
      x: array_like input.
      condlist: a list of boolean arrays of ``x``'s shape (or one such array, or a stacked array of
        them).
      funclist: one function (called as ``f(x, *args, **kw)``) or constant per condition, plus
        optionally the default.
      *args: extra positional arguments for the functions.
      **kw: extra keyword arguments for the functions.

    Returns:
      An array of ``x``'s shape and dtype (values are cast to it, as in numpy).

    Raises:
      ValueError: if ``funclist`` has neither as many entries as ``condlist`` nor one more.
    """
    x = asarray(x)
    if isinstance(condlist, (list, tuple)):
        conds = [_to_bool(asarray(c)) for c in condlist]
    else:
        c = _to_bool(asarray(condlist))
        conds = (
            [c]
            if get_aval(c).ndim == get_aval(x).ndim
            else [c[i] for i in builtins.range(_shape(c)[0])]
        )
    nc, nf = len(conds), len(funclist)
    if nf == nc + 1:
        otherwise = funclist[-1]
        conds = (
            conds + [logical_not(functools.reduce(logical_or, conds))]
            if nc
            else [ones(_shape(x), np.bool_)]
        )
    elif nf == nc:
        otherwise = None
    else:
        raise ValueError(
            f"piecewise: with {nc} condition(s), funclist must have {nc} or "
            f"{nc + 1} entries, got {nf}"
        )
    funcs = list(funclist[:nc]) + ([otherwise] if otherwise is not None else [])
    out = zeros_like(x)
    for c, f in zip(conds, funcs):
        val = f(x, *args, **kw) if callable(f) else f
        out = where(c, astype(val, _dtype(x)), out)
    return out


def _parse_signature(sig):
    import re

    m = re.fullmatch(r"\s*(\(.*?\)(?:\s*,\s*\(.*?\))*)\s*->\s*(\(.*?\)(?:\s*,\s*\(.*?\))*)\s*", sig)
    if not m:
        raise ValueError(f"vectorize: not a valid gufunc signature: {sig!r}")

    def groups(s):
        return [
            tuple(d.strip() for d in g.split(",") if d.strip()) for g in re.findall(r"\((.*?)\)", s)
        ]

    return groups(m.group(1)), groups(m.group(2))


def vectorize(pyfunc, *, excluded=frozenset(), signature=None):
    """Vectorize ``pyfunc`` over the broadcast leading axes of its arguments (through vmap).

    Follows ``numpy.vectorize`` and ``jax.numpy.vectorize``: with a gufunc ``signature`` such as
    ``'(n),(n)->()'`` each call gets the core sub-arrays; without one, scalars. The other (leading)
    axes of all non-excluded arguments broadcast together and are vmapped, so ``pyfunc`` must be
    traceable (written with funcgrad.numpy). The output part of the signature is not checked.

    Args:
      pyfunc: the function to vectorize.
      excluded: positions (ints) and names (strs) of arguments passed through unchanged.
      signature: optional gufunc signature of the inputs' core dimensions.

    Returns:
      The vectorized function (``functools.wraps(pyfunc)``). Calling it raises ``TypeError`` if the
      signature's number of inputs differs from the number of arguments, and ``ValueError`` if an
      input lacks its core dimensions or a core dimension's sizes disagree.

    Raises:
      ValueError: if ``signature`` is not a valid gufunc signature.
    """
    from funcgrad._src.api import vmap

    ins, _ = _parse_signature(signature) if signature is not None else (None, None)

    @functools.wraps(pyfunc)
    def wrapped(*args, **kwargs):
        fixed = {i: a for i, a in enumerate(args) if i in excluded}
        fixed_kw = {k: v for k, v in kwargs.items() if k in excluded}
        kw = {k: v for k, v in kwargs.items() if k not in excluded}
        names = list(kw)
        dyn = [asarray(a) for i, a in enumerate(args) if i not in excluded] + [
            asarray(kw[k]) for k in names
        ]
        nd = len(dyn) - len(names)
        core = ins if ins is not None else [()] * len(dyn)
        if len(core) != len(dyn):
            raise TypeError(
                f"vectorize: signature has {len(core)} inputs, got {len(dyn)} arguments"
            )
        sizes = {}
        for x, dims in zip(dyn, core):
            s = _shape(x)
            if len(s) < len(dims):
                raise ValueError(
                    f"vectorize: input with shape {s} has fewer dimensions than "
                    f"its core dimensions {dims}"
                )
            for d, n in zip(dims, s[len(s) - len(dims) :] if dims else ()):
                if sizes.setdefault(d, n) != n:
                    raise ValueError(
                        f"vectorize: inconsistent size for core dimension {d!r}: {sizes[d]} vs {n}"
                    )
        batch = broadcast_shapes(*[_shape(x)[: len(_shape(x)) - len(c)] for x, c in zip(dyn, core)])
        dyn = [
            broadcast_to(x, batch + _shape(x)[len(_shape(x)) - len(c) :]) for x, c in zip(dyn, core)
        ]

        def call(*xs):
            pos = list(xs[:nd])
            full = []
            for i in range(len(args)):
                full.append(fixed[i] if i in fixed else pos.pop(0))
            return pyfunc(*full, **fixed_kw, **dict(zip(names, xs[nd:])))

        f = call
        for _ in range(len(batch)):
            f = vmap(f)
        return f(*dyn)

    return wrapped


def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """Apply ``func1d`` to every 1-d slice of ``arr`` along ``axis`` (through vmap).

    Follows ``numpy.apply_along_axis`` and ``jax.numpy.apply_along_axis``: ``func1d`` is traced once
    and vmapped over the other axes, so it must be traceable.

    Args:
      func1d: function of a 1-d array (and ``*args``, ``**kwargs``), returning an array.
      axis: int axis of the slices (static).
      arr: array_like input.
      *args: extra positional arguments for ``func1d``.
      **kwargs: extra keyword arguments for ``func1d``.

    Returns:
      The results stacked: ``arr.shape[:axis] + out.shape + arr.shape[axis + 1:]`` where ``out`` is
      the result for one slice.

    Raises:
      ValueError: if ``axis`` is out of bounds.
    """
    from funcgrad._src.api import vmap

    arr = asarray(arr)
    nd = get_aval(arr).ndim
    axis = canonicalize_axis(axis, nd)
    f = lambda x: func1d(x, *args, **kwargs)  # noqa: E731
    for _ in range(1, nd - axis):
        f = vmap(f, in_axes=-1, out_axes=-1)
    for _ in range(axis):
        f = vmap(f, in_axes=0, out_axes=0)
    return f(arr)
