"""Reductions, argmax/argmin, cumulative sums (and scans built on them), sort."""

from __future__ import annotations

from funcgrad._src.core import canonicalize_axis, prod
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax.common import (
    Primitive,
    ShapedArray,
    abstract_eval_rules,
    ad,
    as_operand,
    batching,
    dtypes,
    get_aval,
    google_doc,
    impl_rules,
    np,
    quiet,
    reduction_doc,
    weak_type_rules,
)
from funcgrad._src.lax.elementwise import convert_element_type, div, eq, mul
from funcgrad._src.lax.elementwise import max as lmax
from funcgrad._src.lax.elementwise import min as lmin

# ---- reductions --------------------------------------------------------------------------------


def _reduce_shape(x, axes):
    if any(not 0 <= a < x.ndim for a in axes) or len(set(axes)) != len(axes):
        raise TypeError(f"reduction axes {axes} are invalid for {x.str_short()}")
    return tuple(s for i, s in enumerate(x.shape) if i not in axes)


def _reduce_batch_rule(prim):
    def rule(vals, dims, axis_size, axes, **params):
        d = dims[0]
        new_axes = tuple(a + (a >= d) for a in axes)
        out_d = d - sum(1 for a in new_axes if a < d)
        return prim.bind(vals[0], axes=new_axes, **params), out_d

    return rule


def reduction(name, impl, kinds="iufcb", out_dtype=None, doc=""):
    """A reduction primitive over ``axes`` and its wrapper (``doc``: the docstring's summary)."""
    prim = Primitive(name)

    def abstract(x, axes):
        if x.dtype.kind not in kinds:
            raise TypeError(f"{name} does not accept {x.dtype.name} input")
        dt = out_dtype(x.dtype) if out_dtype else x.dtype
        return ShapedArray(_reduce_shape(x, axes), dt, x.weak_type and out_dtype is None)

    impl_rules[prim] = quiet(
        lambda x, axes: np.asarray(impl(x, axis=axes)).astype(
            out_dtype(x.dtype) if out_dtype else x.dtype, copy=False
        )
    )
    abstract_eval_rules[prim] = abstract
    batching.vmap_rules[prim] = _reduce_batch_rule(prim)

    def wrapper(x, axes):
        x = as_operand(x)
        nd = get_aval(x).ndim
        return prim.bind(x, axes=tuple(sorted({canonicalize_axis(a, nd) for a in axes})))

    wrapper.__name__, wrapper.__doc__ = name, reduction_doc(doc, kinds)
    return prim, wrapper


def _expand_back(ct, in_shape, axes):
    """Broadcast a reduced cotangent back over the reduced axes."""
    kept = tuple(i for i in range(len(in_shape)) if i not in axes)
    return ls.broadcast_in_dim(ct, in_shape, kept)


# float32/16 and complex64 sums accumulate in double precision: an eager sum is then as
# accurate as XLA's (and the compiled kernels') tree-shaped sums, along any axis (numpy sums a
# non-contiguous axis with one running float32 sum, whose error grows with its length).
_WIDE = {np.dtype(np.float16): np.float64, np.dtype(np.float32): np.float64}
_WIDE[np.dtype(np.complex64)] = np.complex128


def _sum_impl(x, axis):
    return np.sum(x, axis=axis, dtype=_WIDE.get(x.dtype))


reduce_sum_p, reduce_sum = reduction(
    "reduce_sum", _sum_impl, "iufc", doc="Sum over ``axes`` (0 for an empty reduction)."
)
ad.deflinear(reduce_sum_p, lambda ct, x, axes: [_expand_back(ct, get_aval(x).shape, axes)])


def _chooser_jvp_weights(x, out, axes):
    """Equal split of the derivative among the positions that attain the max/min."""
    shape = get_aval(x).shape
    loc = convert_element_type(eq(x, _expand_back(out, shape, axes)), get_aval(x).dtype)
    counts = reduce_sum(loc, axes)
    return div(loc, _expand_back(counts, shape, axes))


def _defchooser(prim):
    def jvp(primals, tangents, axes):
        (x,) = primals
        out = prim.bind(x, axes=axes)
        w = _chooser_jvp_weights(x, out, axes)
        return out, reduce_sum(mul(tangents[0], w), axes)

    def vjp(cts, primals, out, axes):
        (x,) = primals
        w = _chooser_jvp_weights(x, out, axes)
        return [mul(_expand_back(cts[0], get_aval(x).shape, axes), w)]

    ad.jvp_rules[prim] = jvp
    ad.vjp_rules[prim] = vjp


reduce_max_p, reduce_max = reduction(
    "reduce_max", np.max, "iufb", doc="Maximum over ``axes`` (NaN propagates; -inf if empty)."
)
reduce_min_p, reduce_min = reduction(
    "reduce_min", np.min, "iufb", doc="Minimum over ``axes`` (NaN propagates; inf if empty)."
)
_defchooser(reduce_max_p)
_defchooser(reduce_min_p)


def _max_identity(dtype):
    return -np.inf if dtype.kind == "f" else (np.iinfo(dtype).min if dtype.kind in "iu" else False)


def _min_identity(dtype):
    return np.inf if dtype.kind == "f" else (np.iinfo(dtype).max if dtype.kind in "iu" else True)


def _empty_safe(fn, ident):
    def impl(x, axes):
        if x.size == 0:
            shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
            return np.full(shape, ident(x.dtype), x.dtype)
        return fn(x, axis=axes)

    return impl


impl_rules[reduce_max_p] = _empty_safe(np.max, _max_identity)
impl_rules[reduce_min_p] = _empty_safe(np.min, _min_identity)

reduce_prod_p, reduce_prod = reduction(
    "reduce_prod", np.prod, "iufc", doc="Product over ``axes`` (1 for an empty reduction)."
)


def _prod_others(x, axes):
    """For each element, the product of the other elements in its reduction group."""
    shape = get_aval(x).shape
    kept = [i for i in range(len(shape)) if i not in axes]
    perm = kept + list(axes)
    xt = ls.reshape(
        ls.transpose(x, perm), tuple(shape[i] for i in kept) + (prod([shape[a] for a in axes]),)
    )
    last = len(kept)
    left = _exclusive(cumprod(xt, last), last, 1)
    right = _exclusive(cumprod(xt, last, reverse=True), last, 1, reverse=True)
    others = mul(left, right)
    others = ls.reshape(others, tuple(shape[i] for i in perm))
    return ls.transpose(others, tuple(np.argsort(perm)))


def _exclusive(c, axis, ident, reverse=False):
    n = get_aval(c).shape[axis]
    cfg = [(0, 0, 0)] * get_aval(c).ndim
    cfg[axis] = (0, 1, 0) if reverse else (1, 0, 0)
    padded = lsl.pad(c, ident, cfg)
    return (
        lsl.slice_in_dim(padded, 1, n + 1, axis=axis)
        if reverse
        else lsl.slice_in_dim(padded, 0, n, axis=axis)
    )


def _prod_jvp(primals, tangents, axes):
    (x,) = primals
    return reduce_prod_p.bind(x, axes=axes), reduce_sum(
        mul(tangents[0], _prod_others(x, axes)), axes
    )


ad.jvp_rules[reduce_prod_p] = _prod_jvp
ad.vjp_rules[reduce_prod_p] = lambda cts, p, out, axes: [
    mul(_expand_back(cts[0], get_aval(p[0]).shape, axes), _prod_others(p[0], axes))
]

reduce_and_p, reduce_and = reduction("reduce_and", np.all, "b", doc="Logical AND over ``axes``.")
reduce_or_p, reduce_or = reduction("reduce_or", np.any, "b", doc="Logical OR over ``axes``.")
ad.defzero(reduce_and_p)
ad.defzero(reduce_or_p)

# ---- argmax / argmin ---------------------------------------------------------------------------


def _argfn(name, npfn):
    prim = Primitive(name)

    def impl(x, axes, index_dtype):
        return npfn(x, axis=axes[0]).astype(index_dtype)

    def abstract(x, axes, index_dtype):
        if len(axes) != 1:
            raise TypeError(f"{name} reduces exactly one axis, got {axes}")
        if x.shape[axes[0]] == 0:
            raise ValueError(f"{name} of an empty axis (shape {x.shape}, axis {axes[0]})")
        return ShapedArray(_reduce_shape(x, axes), index_dtype, False)

    impl_rules[prim] = impl
    abstract_eval_rules[prim] = abstract
    weak_type_rules[prim] = lambda w, **p: False
    batching.vmap_rules[prim] = _reduce_batch_rule(prim)
    ad.defzero(prim)

    def wrapper(x, axis, index_dtype=None):
        x = as_operand(x)
        ax = canonicalize_axis(axis, get_aval(x).ndim)
        return prim.bind(
            x, axes=(ax,), index_dtype=dtypes.canonicalize(index_dtype or dtypes.int32)
        )

    word = "largest" if name == "argmax" else "smallest"
    wrapper.__name__, wrapper.__doc__ = (
        name,
        google_doc(
            f"Index of the {word} element along ``axis`` (the first of ties; a NaN wins).",
            [
                ("x", "an array."),
                ("axis", "the static axis to reduce (negative counts from the end)."),
                ("index_dtype", "the integer dtype of the result (default int32)."),
            ],
            "An array of ``index_dtype``, of ``x``'s shape without ``axis``.",
            [("ValueError", "if ``axis`` is out of bounds or has size 0.")],
        ),
    )
    return prim, wrapper


argmax_p, argmax = _argfn("argmax", np.argmax)
argmin_p, argmin = _argfn("argmin", np.argmin)

# ---- cumulative sums (a primitive) and associative scans built from it or from ops ----------

cumsum_p = Primitive("cumsum")


def _cumsum_impl(x, axis, reverse):  # accumulated in double, as reduce_sum (and the kernel)
    if x.ndim == 0:  # (numpy's cumsum of a scalar is 1-d)
        return x.copy()
    wide = _WIDE.get(x.dtype, x.dtype)
    if reverse:
        return np.flip(np.cumsum(np.flip(x, axis), axis, dtype=wide), axis).astype(x.dtype)
    return np.cumsum(x, axis, dtype=wide).astype(x.dtype, copy=False)


impl_rules[cumsum_p] = _cumsum_impl
abstract_eval_rules[cumsum_p] = lambda x, axis, reverse: x
ad.deflinear(
    cumsum_p, lambda ct, x, axis, reverse: [cumsum_p.bind(ct, axis=axis, reverse=not reverse)]
)
batching.vmap_rules[cumsum_p] = lambda vals, dims, axis_size, axis, reverse: (
    cumsum_p.bind(vals[0], axis=axis + (axis >= dims[0]), reverse=reverse),
    dims[0],
)


def cumsum(x, axis=0, reverse=False):
    """Inclusive cumulative sum along ``axis``, as ``jax.lax.cumsum``.

    Args:
      x: an array.
      axis: the static axis to accumulate along (negative counts from the end).
      reverse: accumulate from the end of the axis instead.

    Returns:
      An array of the shape and dtype of ``x`` (integer sums wrap).

    Raises:
      ValueError: if ``axis`` is out of bounds.
    """
    x = as_operand(x)
    return cumsum_p.bind(x, axis=canonicalize_axis(axis, get_aval(x).ndim), reverse=bool(reverse))


def prefix_scan(fn, x, axis=0, reverse=False, identity=0):
    """Inclusive scan of an associative, commutative ``fn`` with an identity element along
    ``axis`` by recursive doubling (Hillis-Steele: log2(n) steps of ``fn`` on the array and a
    copy shifted by 1, 2, 4, ... padded with ``identity``). The cumulative reductions
    (``cumprod``, ``cummax``, ``cummin``, ``cumlogsumexp``) use it; the general, JAX-compatible
    scan is :func:`funcgrad.lax.associative_scan`.

    Args:
      fn: an associative elementwise function of two arrays of ``x``'s shape and dtype.
      x: an array.
      axis: the static axis to scan along (negative counts from the end).
      reverse: scan from the end of the axis instead.
      identity: a scalar identity element of ``fn`` (0 for add, 1 for mul, ...), used to
        pad the shifted copies.

    Returns:
      An array of ``x``'s shape: ``fn`` applied cumulatively (``x[0]``, ``fn(x[0], x[1])``, ...).

    Raises:
      ValueError: if ``axis`` is out of bounds.
    """
    x = as_operand(x)
    axis = canonicalize_axis(axis, get_aval(x).ndim)
    if reverse:
        return ls.rev(prefix_scan(fn, ls.rev(x, (axis,)), axis, False, identity), (axis,))
    n = get_aval(x).shape[axis]
    k = 1
    while k < n:
        cfg = [(0, 0, 0)] * get_aval(x).ndim
        cfg[axis] = (k, -k, 0)
        x = fn(x, lsl.pad(x, identity, cfg))
        k *= 2
    return x


def cumprod(x, axis=0, reverse=False):
    """Inclusive cumulative product along ``axis`` (a ``prefix_scan`` of ``mul``).

    Args:
      x: an array.
      axis: the static axis to accumulate along (negative counts from the end).
      reverse: accumulate from the end of the axis instead.

    Returns:
      An array of the shape and dtype of ``x``.

    Raises:
      ValueError: if ``axis`` is out of bounds.
    """
    return prefix_scan(mul, x, axis, reverse, 1)


def cummax(x, axis=0, reverse=False):
    """Inclusive cumulative maximum along ``axis`` (a ``prefix_scan`` of ``max``).

    Args:
      x: an array (not complex).
      axis: the static axis to accumulate along (negative counts from the end).
      reverse: accumulate from the end of the axis instead.

    Returns:
      An array of the shape and dtype of ``x``.

    Raises:
      ValueError: if ``axis`` is out of bounds.
    """
    dt = get_aval(as_operand(x)).dtype
    return prefix_scan(lmax, x, axis, reverse, _max_identity(dt))


def cummin(x, axis=0, reverse=False):
    """Inclusive cumulative minimum along ``axis`` (a ``prefix_scan`` of ``min``).

    Args:
      x: an array (not complex).
      axis: the static axis to accumulate along (negative counts from the end).
      reverse: accumulate from the end of the axis instead.

    Returns:
      An array of the shape and dtype of ``x``.

    Raises:
      ValueError: if ``axis`` is out of bounds.
    """
    dt = get_aval(as_operand(x)).dtype
    return prefix_scan(lmin, x, axis, reverse, _min_identity(dt))


# ---- sort ----------------------------------------------------------------------------------------

sort_p = Primitive("sort", multiple_results=True)


def _sort_impl(*operands, dimension, is_stable, num_keys):
    keys = operands[:num_keys]
    if num_keys == 1:
        perm = np.argsort(keys[0], axis=dimension, kind="stable")
    else:
        perm = np.lexsort(keys[::-1], axis=dimension)
    return [np.take_along_axis(o, perm, axis=dimension) for o in operands]


def _sort_abstract(*operands, dimension, is_stable, num_keys):
    s0 = operands[0].shape
    if any(o.shape != s0 for o in operands):
        raise TypeError(
            f"sort: operands must have equal shapes, got {[o.str_short() for o in operands]}"
        )
    return [o for o in operands]


impl_rules[sort_p] = _sort_impl
abstract_eval_rules[sort_p] = _sort_abstract


def sort(operands, dimension=-1, is_stable=True, num_keys=1):
    """Sort along ``dimension``, as ``jax.lax.sort``: ``operands`` is one array or a sequence
    of arrays permuted together, ordered lexicographically by the first ``num_keys``.

    NaNs sort to the end; the sort is always stable (``is_stable`` is accepted for JAX
    compatibility).

    Args:
      operands: an array, or a list/tuple of arrays of one shape.
      dimension: the static axis to sort along (default the last).
      is_stable: accepted; every sort is stable.
      num_keys: how many leading operands are the sort keys.

    Returns:
      The sorted array, or a tuple of the sorted operands when ``operands`` is a sequence.

    Raises:
      ValueError: if ``dimension`` is out of bounds.
      TypeError: if the operands' shapes differ (checked when traced, e.g. under ``jit``).
    """
    single = not isinstance(operands, (list, tuple))
    ops = [as_operand(o) for o in ([operands] if single else operands)]
    dim = canonicalize_axis(dimension, get_aval(ops[0]).ndim)
    outs = sort_p.bind(*ops, dimension=dim, is_stable=bool(is_stable), num_keys=int(num_keys))
    return outs[0] if single else tuple(outs)


def _perm_of(operands, dimension, num_keys):
    shape = get_aval(operands[0]).shape
    io = ls.broadcasted_iota(dtypes.int32, shape, dimension)
    return sort_p.bind(
        *operands[:num_keys], io, dimension=dimension, is_stable=True, num_keys=num_keys
    )[-1]


def _sort_jvp(primals, tangents, dimension, is_stable, num_keys):
    from funcgrad._src.lax.indexing import take_along_axis

    outs = sort_p.bind(*primals, dimension=dimension, is_stable=is_stable, num_keys=num_keys)
    perm = _perm_of(primals, dimension, num_keys)
    return outs, [take_along_axis(t, perm, dimension) for t in tangents]


def _sort_vjp(cts, primals, outs, dimension, is_stable, num_keys):
    from funcgrad._src.lax.indexing import take_along_axis

    perm = _perm_of(primals, dimension, num_keys)
    inv = _perm_of([perm], dimension, 1)
    return [
        take_along_axis(ct, inv, dimension) if get_aval(p).dtype.kind in "fc" else None
        for ct, p in zip(cts, primals)
    ]


def _sort_batch(vals, dims, axis_size, dimension, is_stable, num_keys):
    vals = [batching.bdim_at_front(v, d, axis_size) for v, d in zip(vals, dims)]
    outs = sort_p.bind(*vals, dimension=dimension + 1, is_stable=is_stable, num_keys=num_keys)
    return outs, [0] * len(outs)


ad.jvp_rules[sort_p] = _sort_jvp
ad.vjp_rules[sort_p] = _sort_vjp
batching.vmap_rules[sort_p] = _sort_batch


# at the bottom: structural.py and slicing.py import reduce_sum from here, whichever of the
# three is imported first
from funcgrad._src.lax import slicing as lsl  # noqa: E402  (circular by design)
