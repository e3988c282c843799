"""dot_general and conv_general_dilated (N-d, strides, padding, dilation, feature groups)."""

from __future__ import annotations

import itertools
from typing import NamedTuple

from funcgrad._src.core import prod
from funcgrad._src.lax import slicing as lsl
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
    impl_rules,
    np,
)
from funcgrad._src.lax.elementwise import convert_element_type

# ---- dot_general ---------------------------------------------------------------------------------

dot_general_p = Primitive("dot_general")
# Params: ``dimension_numbers``, ``preferred_element_type`` (JAX's), and ``bf16_operands``, which
# only the bfloat16 legalisation of the compiled backends sets (``backend/lower/bf16.py``): float32
# operands that hold bfloat16 values, so that a backend may feed them to bfloat16 tensor cores.
# The result is the same float32 product either way.


def _free(ndim, contract, batch):
    return [i for i in range(ndim) if i not in contract and i not in batch]


def _dot_impl(lhs, rhs, dimension_numbers, preferred_element_type, bf16_operands=False):
    (lc, rc), (lb, rb) = dimension_numbers
    lf, rf = _free(lhs.ndim, lc, lb), _free(rhs.ndim, rc, rb)
    bshape = [lhs.shape[i] for i in lb]
    l3 = np.transpose(lhs, list(lb) + lf + list(lc)).reshape(
        prod(bshape), prod([lhs.shape[i] for i in lf]), prod([lhs.shape[i] for i in lc])
    )
    r3 = np.transpose(rhs, list(rb) + list(rc) + rf).reshape(
        prod(bshape), prod([rhs.shape[i] for i in rc]), prod([rhs.shape[i] for i in rf])
    )
    out = np.matmul(l3, r3)
    shape = bshape + [lhs.shape[i] for i in lf] + [rhs.shape[i] for i in rf]
    dt = preferred_element_type or lhs.dtype
    return out.reshape(shape).astype(dt, copy=False)


def _dot_abstract(lhs, rhs, dimension_numbers, preferred_element_type, bf16_operands=False):
    (lc, rc), (lb, rb) = dimension_numbers
    if len(lc) != len(rc) or len(lb) != len(rb):
        raise TypeError(
            f"dot_general requires equal numbers of lhs and rhs contracting and batch "
            f"dimensions, got {dimension_numbers} for shapes {lhs.str_short()} and "
            f"{rhs.str_short()}."
        )
    for what, la, ra in (("lhs batch dimensions and rhs batch", lb, rb), ("contracting", lc, rc)):
        ls, rs = tuple(lhs.shape[a] for a in la), tuple(rhs.shape[b] for b in ra)
        if ls != rs:  # JAX's wording
            raise TypeError(
                f"dot_general requires {what} dimensions to have the same shape, got {ls} and "
                f"{rs}. (operands {lhs.str_short()} and {rhs.str_short()})"
            )
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"dot_general: dtypes differ: {lhs.dtype} and {rhs.dtype}")
    lf, rf = _free(lhs.ndim, lc, lb), _free(rhs.ndim, rc, rb)
    shape = tuple(
        [lhs.shape[i] for i in lb] + [lhs.shape[i] for i in lf] + [rhs.shape[i] for i in rf]
    )
    return ShapedArray(shape, preferred_element_type or lhs.dtype, lhs.weak_type and rhs.weak_type)


impl_rules[dot_general_p] = _dot_impl
abstract_eval_rules[dot_general_p] = _dot_abstract


def _canon_dims(dn):
    (lc, rc), (lb, rb) = dn
    return ((tuple(lc), tuple(rc)), (tuple(lb), tuple(rb)))


def _same_dtypes(name, lhs, rhs):
    """lax is strict: the eager path must refuse mixed dtypes as the traced one does."""
    ld, rd = get_aval(lhs).dtype, get_aval(rhs).dtype
    if ld != rd:
        raise TypeError(
            f"lax.{name}: the operand dtypes differ ({ld} and {rd}); convert one first "
            "(lax.convert_element_type), or use funcgrad.numpy, which promotes"
        )
    return lhs, rhs


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """General tensor contraction with batch dimensions, as ``jax.lax.dot_general``.

    Args:
      lhs: an array.
      rhs: an array of ``lhs``'s dtype.
      dimension_numbers: ``((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))``: static
        tuples of axes; paired axes must have equal sizes.
      precision: accepted for JAX compatibility and ignored (see :class:`Precision`).
      preferred_element_type: the result dtype (default the operands'). The product is
        computed in the operands' dtype, then converted: integers are not widened first.

    Returns:
      An array of shape ``batch + lhs free + rhs free`` (the batch axes, then the remaining
      axes of ``lhs``, then those of ``rhs``, each in order).

    Raises:
      TypeError: if paired axes differ in size, or the operand dtypes differ (eagerly and
        under ``jit`` alike).
    """
    lhs, rhs = _same_dtypes("dot_general", as_operand(lhs), as_operand(rhs))
    pet = dtypes.canonicalize(preferred_element_type) if preferred_element_type else None
    return dot_general_p.bind(
        lhs, rhs, dimension_numbers=_canon_dims(dimension_numbers), preferred_element_type=pet
    )


def dot(lhs, rhs, precision=None, preferred_element_type=None):
    """Vector/matrix product: contracts the last axis of ``lhs`` with the first of ``rhs``.

    Args:
      lhs: a 1-d or 2-d array.
      rhs: a 1-d or 2-d array of ``lhs``'s dtype (higher ranks contract their first axis).
      precision: accepted and ignored, as in :func:`dot_general`.
      preferred_element_type: the result dtype, as in :func:`dot_general`.

    Returns:
      An array of shape ``lhs.shape[:-1] + rhs.shape[1:]``.

    Raises:
      ValueError: if the contracted sizes differ or an operand is 0-d (as ``jax.lax.dot``).
      TypeError: as :func:`dot_general`.
    """
    sl, sr = get_aval(lhs).shape, get_aval(rhs).shape
    nl = len(sl)
    if not sl or not sr or sl[-1] != sr[0]:
        raise ValueError(
            "lax.dot: dimension_numbers must be specified when not performing simple "
            "un-batched matrix-matrix, matrix-vector, or vector-vector products; got "
            f"lhs_shape={sl} rhs_shape={sr}"
        )
    return dot_general(
        lhs, rhs, (((nl - 1,), (0,)), ((), ())), preferred_element_type=preferred_element_type
    )


def _ranges_like(*xs):
    start = 0
    for x in xs:
        yield list(range(start, start + len(x)))
        start += len(x)


def _dot_transpose_lhs(g, x_aval, y, dn, pet, swap_ans=False):
    (xc, yc), (xb, yb) = dn
    x_kept = _free(x_aval.ndim, xc, xb)
    y_kept = _free(get_aval(y).ndim, yc, yb)
    if swap_ans:
        ans_batch, ans_y, _ = _ranges_like(xb, y_kept, x_kept)
    else:
        ans_batch, _, ans_y = _ranges_like(xb, x_kept, y_kept)
    dims = ((tuple(ans_y), tuple(y_kept)), (tuple(ans_batch), tuple(yb)))
    xc_sorted_by_y = list(np.take(xc, np.argsort(yc))) if len(xc) else []
    out_axes = [int(a) for a in np.argsort(list(xb) + x_kept + xc_sorted_by_y)]
    # dot(g, y) gives [batch, g free, y free]; dot(y, g) gives [batch, y free, g free]. When the
    # wanted order is the second one, swap the operands instead of transposing the result
    # (the weight gradient of a matmul then needs no transpose kernel).
    nb, ng = len(ans_batch), len(get_aval(g).shape) - len(ans_batch) - len(ans_y)
    ny = len(y_kept)
    swap = [j if j < nb else (j + ny if j < nb + ng else j - ng) for j in out_axes]
    if swap == list(range(len(swap))) and out_axes != swap:
        res = dot_general_p.bind(
            y,
            g,
            dimension_numbers=((dims[0][1], dims[0][0]), (dims[1][1], dims[1][0])),
            preferred_element_type=None,
        )
    else:
        res = dot_general_p.bind(g, y, dimension_numbers=dims, preferred_element_type=None)
        res = ls.transpose(res, tuple(out_axes))
    return convert_element_type(res, x_aval.dtype) if pet else res


def _dot_vjp(cts, primals, out, dimension_numbers, preferred_element_type, bf16_operands=False):
    x, y = primals
    g = cts[0]
    (xc, yc), (xb, yb) = dimension_numbers
    if preferred_element_type:
        g = convert_element_type(g, get_aval(x).dtype)
    t_x = _dot_transpose_lhs(g, get_aval(x), y, dimension_numbers, None)
    swapped = ((yc, xc), (yb, xb))
    t_y = _dot_transpose_lhs(g, get_aval(y), x, swapped, None, swap_ans=True)
    return [t_x, t_y]


def _dot_jvp(primals, tangents, dimension_numbers, preferred_element_type, bf16_operands=False):
    x, y = primals
    tx, ty = tangents
    kw = dict(dimension_numbers=dimension_numbers, preferred_element_type=preferred_element_type)
    out = dot_general_p.bind(x, y, **kw)
    return out, _bilinear_tangent(dot_general_p, x, y, tx, ty, kw)


def _bilinear_tangent(prim, x, y, tx, ty, kw):
    """``prim(tx, y) + prim(x, ty)``, leaving out a known-zero (None) tangent: with inf in the
    other operand its product would be NaN, not 0 (symbolic zeros, ``ad.JVPTrace``)."""
    a = None if tx is None else prim.bind(tx, y, **kw)
    return ad.add_tangents(a, None if ty is None else prim.bind(x, ty, **kw))


_dot_jvp.symbolic_zeros = True


def _shift(dims, by=1):
    return tuple(d + by for d in dims)


def _dot_batch(
    vals, dims, axis_size, dimension_numbers, preferred_element_type, bf16_operands=False
):
    x, y = vals
    xd, yd = dims
    (lc, rc), (lb, rb) = dimension_numbers
    kw = dict(preferred_element_type=preferred_element_type)
    if xd is not None and yd is not None:
        x, y = ls.moveaxis(x, xd, 0), ls.moveaxis(y, yd, 0)
        dn = ((_shift(lc), _shift(rc)), ((0,) + _shift(lb), (0,) + _shift(rb)))
        return dot_general_p.bind(x, y, dimension_numbers=dn, **kw), 0
    if xd is not None:
        x = ls.moveaxis(x, xd, 0)
        dn = ((_shift(lc), rc), (_shift(lb), rb))
        return dot_general_p.bind(x, y, dimension_numbers=dn, **kw), len(lb)
    y = ls.moveaxis(y, yd, 0)
    dn = ((lc, _shift(rc)), (lb, _shift(rb)))
    n_lfree = len(_free(get_aval(x).ndim, lc, lb))
    return dot_general_p.bind(x, y, dimension_numbers=dn, **kw), len(lb) + n_lfree


ad.jvp_rules[dot_general_p] = _dot_jvp
ad.vjp_rules[dot_general_p] = _dot_vjp
batching.vmap_rules[dot_general_p] = _dot_batch

# ---- conv_general_dilated ------------------------------------------------------------------------
# Layouts are fixed: lhs (N, C, *spatial), rhs (O, I, *window), out (N, O, *spatial).

conv_p = Primitive("conv_general_dilated")


def _conv_out_shape(in_sp, k_sp, strides, padding, lhs_dil, rhs_dil):
    out = []
    for n, k, s, (lo, hi), ld, rd in zip(in_sp, k_sp, strides, padding, lhs_dil, rhs_dil):
        dil_in = (n - 1) * ld + 1 + lo + hi if n else lo + hi
        dil_k = (k - 1) * rd + 1
        out.append(max(0, (dil_in - dil_k) // s + 1) if dil_in >= dil_k else 0)
    return tuple(out)


def _conv_impl(
    lhs,
    rhs,
    window_strides,
    padding,
    lhs_dilation,
    rhs_dilation,
    feature_group_count,
    preferred_element_type,
):
    from funcgrad._src.lax.slicing import _pad_impl

    cfg = [(0, 0, 0), (0, 0, 0)] + [(lo, hi, ld - 1) for (lo, hi), ld in zip(padding, lhs_dilation)]
    x = _pad_impl(lhs, np.zeros((), lhs.dtype), cfg)
    n, c = x.shape[:2]
    o = rhs.shape[0]
    g = feature_group_count
    out_sp = _conv_out_shape(
        lhs.shape[2:], rhs.shape[2:], window_strides, padding, lhs_dilation, rhs_dilation
    )
    offsets = list(itertools.product(*[range(k) for k in rhs.shape[2:]]))
    cols = np.empty((n, c, len(offsets)) + out_sp, dtype=lhs.dtype)
    for j, off in enumerate(offsets):
        idx = tuple(
            np.s_[f * rd : f * rd + (os - 1) * s + 1 : s]
            for f, rd, os, s in zip(off, rhs_dilation, out_sp, window_strides)
        )
        cols[:, :, j] = x[(np.s_[:], np.s_[:]) + idx]
    cg, og = c // g, o // g
    cols = cols.reshape(n, g, cg * len(offsets), prod(out_sp))
    w = rhs.reshape(g, og, cg * len(offsets))
    out = (
        np.einsum("gok,ngkp->ngop", w, cols, optimize=True)
        if g > 1
        else np.matmul(w[0], cols[:, 0])[:, None]
    )
    dt = preferred_element_type or lhs.dtype
    return out.reshape((n, o) + out_sp).astype(dt, copy=False)


def _conv_abstract(
    lhs,
    rhs,
    window_strides,
    padding,
    lhs_dilation,
    rhs_dilation,
    feature_group_count,
    preferred_element_type,
):
    nsp = lhs.ndim - 2
    g = feature_group_count
    problems = []
    if rhs.ndim != lhs.ndim or nsp < 1:
        problems.append("lhs and rhs must have the same rank >= 3 (N, C, spatial...)")
    elif lhs.shape[1] != rhs.shape[1] * g:
        problems.append(
            f"input channels {lhs.shape[1]} != kernel in-channels {rhs.shape[1]} "
            f"x feature_group_count {g}"
        )
    elif rhs.shape[0] % g:
        problems.append(f"output channels {rhs.shape[0]} not divisible by groups {g}")
    if lhs.dtype != rhs.dtype:
        problems.append(f"dtypes differ ({lhs.dtype}, {rhs.dtype})")
    if any(len(p) != nsp for p in (window_strides, padding, lhs_dilation, rhs_dilation)):
        problems.append(f"strides/padding/dilations need {nsp} entries")
    if problems:
        raise TypeError(
            f"conv_general_dilated with lhs {lhs.str_short()} and rhs "
            f"{rhs.str_short()}: " + "; ".join(problems)
        )
    sp = _conv_out_shape(
        lhs.shape[2:], rhs.shape[2:], window_strides, padding, lhs_dilation, rhs_dilation
    )
    return ShapedArray(
        (lhs.shape[0], rhs.shape[0]) + sp,
        preferred_element_type or lhs.dtype,
        lhs.weak_type and rhs.weak_type,
    )


impl_rules[conv_p] = _conv_impl
abstract_eval_rules[conv_p] = _conv_abstract


def _padding_pairs(padding, in_sp, k_sp, strides, rhs_dil):
    if isinstance(padding, str):
        pads = []
        for n, k, s, rd in zip(in_sp, k_sp, strides, rhs_dil):
            if padding.upper() == "VALID":
                pads.append((0, 0))
                continue
            if padding.upper() not in ("SAME", "SAME_LOWER"):
                raise ValueError(f"padding must be 'SAME', 'VALID' or pairs, got {padding!r}")
            out = -(-n // s)
            total = max(0, (out - 1) * s + (k - 1) * rd + 1 - n)
            lo = total // 2 if padding.upper() == "SAME" else total - total // 2
            pads.append((lo, total - lo))
        return tuple(pads)
    return tuple((int(lo), int(hi)) for lo, hi in padding)


class ConvDimensionNumbers(NamedTuple):
    """Where the batch/feature/spatial dims of each operand are (as in JAX): ``lhs_spec`` is
    ``(batch dim, feature dim, spatial dims...)``, ``rhs_spec`` ``(out-feature dim,
    in-feature dim, spatial dims...)``, ``out_spec`` like ``lhs_spec``.

    Args:
      lhs_spec: the input's axes: ``(batch, feature, spatial...)``.
      rhs_spec: the kernel's axes: ``(out feature, in feature, spatial...)``.
      out_spec: the output's axes, ordered as ``lhs_spec``.
    """

    lhs_spec: tuple
    rhs_spec: tuple
    out_spec: tuple


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers) -> ConvDimensionNumbers:
    """Normalise convolution ``dimension_numbers`` to a :class:`ConvDimensionNumbers`.

    Args:
      lhs_shape: the shape of the input, ``(N, C, spatial...)`` in some order.
      rhs_shape: the shape of the kernel, of the same rank.
      dimension_numbers: None (``NC...``, ``OI...`` and ``NC...``), a
        ``ConvDimensionNumbers`` (returned as is), three layout strings such as
        ``("NHWC", "HWIO", "NHWC")``, or three permutations of ``range(rank)``.

    Returns:
      The ``ConvDimensionNumbers`` (axis positions of each operand).

    Raises:
      TypeError: if the ranks differ or the layouts are malformed or disagree.
    """
    nd = len(lhs_shape)
    if len(rhs_shape) != nd:
        raise TypeError(
            f"conv: lhs and rhs must have the same rank, got shapes "
            f"{tuple(lhs_shape)} and {tuple(rhs_shape)}"
        )
    if dimension_numbers is None:
        iota = tuple(range(nd))
        return ConvDimensionNumbers(iota, iota, iota)
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        return dimension_numbers
    if len(dimension_numbers) != 3:
        raise TypeError(
            f"conv: dimension_numbers must be None, a ConvDimensionNumbers or 3 "
            f"layout strings, got {dimension_numbers!r}"
        )
    if all(isinstance(d, str) for d in dimension_numbers):
        lhs_s, rhs_s, out_s = dimension_numbers
        for name, spec, needed in (
            ("lhs", lhs_s, "NC"),
            ("rhs", rhs_s, "OI"),
            ("out", out_s, "NC"),
        ):
            if len(spec) != nd or len(set(spec)) != nd or any(c not in spec for c in needed):
                raise TypeError(
                    f"conv: {name} layout {spec!r} must name {nd} distinct dims "
                    f"including {needed!r} (operands have rank {nd})"
                )
        sp = [c for c in rhs_s if c not in "OI"]
        if set(sp) != set(lhs_s) - {"N", "C"} or set(sp) != set(out_s) - {"N", "C"}:
            raise TypeError(f"conv: the spatial dims of {dimension_numbers!r} do not match")
        return ConvDimensionNumbers(
            (lhs_s.index("N"), lhs_s.index("C")) + tuple(lhs_s.index(c) for c in sp),
            (rhs_s.index("O"), rhs_s.index("I")) + tuple(rhs_s.index(c) for c in sp),
            (out_s.index("N"), out_s.index("C")) + tuple(out_s.index(c) for c in sp),
        )
    specs = tuple(tuple(int(i) for i in d) for d in dimension_numbers)
    for spec in specs:
        if sorted(spec) != list(range(nd)):
            raise TypeError(
                f"conv: dimension_numbers {dimension_numbers!r} must each be a "
                f"permutation of range({nd})"
            )
    return ConvDimensionNumbers(*specs)


def conv_general_dilated(
    lhs,
    rhs,
    window_strides,
    padding,
    lhs_dilation=None,
    rhs_dilation=None,
    dimension_numbers=None,
    feature_group_count=1,
    batch_group_count=1,
    precision=None,
    preferred_element_type=None,
):
    """N-d convolution, as ``jax.lax.conv_general_dilated``. Operands in other layouts are
    transposed to ``NC...``/``OI...``, the one layout the primitive computes in.

    Args:
      lhs: the input, ``(N, C, spatial...)`` by default.
      rhs: the kernel, ``(O, C / feature_group_count, window...)`` by default, of ``lhs``'s
        dtype.
      window_strides: one static stride per spatial axis.
      padding: ``"SAME"``, ``"SAME_LOWER"``, ``"VALID"`` or one ``(low, high)`` pair per
        spatial axis.
      lhs_dilation: static input dilation per spatial axis (default 1: a transposed
        convolution uses more).
      rhs_dilation: static kernel dilation per spatial axis (default 1; atrous convolution).
      dimension_numbers: the layouts, as accepted by :func:`conv_dimension_numbers`.
      feature_group_count: split the channels into this many groups (grouped or depthwise
        convolution); ``C`` and ``O`` must be multiples of it.
      batch_group_count: only 1 is supported.
      precision: accepted for JAX compatibility and ignored.
      preferred_element_type: the result dtype (default the operands').

    Returns:
      The output, ``(N, O, spatial...)`` in the ``out`` layout of ``dimension_numbers``.

    Raises:
      NotImplementedError: if ``batch_group_count != 1``.
      ValueError: for an unknown padding string.
      TypeError: if the layouts, ranks or channel counts do not agree, or the dtypes differ
        (eagerly and under ``jit`` alike).
    """
    if batch_group_count != 1:
        raise NotImplementedError("batch_group_count other than 1")
    lhs, rhs = _same_dtypes("conv_general_dilated", as_operand(lhs), as_operand(rhs))
    dn = conv_dimension_numbers(get_aval(lhs).shape, get_aval(rhs).shape, dimension_numbers)
    iota = tuple(range(get_aval(lhs).ndim))
    if dn.lhs_spec != iota:
        lhs = ls.transpose(lhs, dn.lhs_spec)
    if dn.rhs_spec != iota:
        rhs = ls.transpose(rhs, dn.rhs_spec)
    nsp = get_aval(lhs).ndim - 2
    strides = tuple(int(s) for s in window_strides)
    ld = tuple(lhs_dilation or (1,) * nsp)
    rd = tuple(rhs_dilation or (1,) * nsp)
    pads = _padding_pairs(padding, get_aval(lhs).shape[2:], get_aval(rhs).shape[2:], strides, rd)
    pet = dtypes.canonicalize(preferred_element_type) if preferred_element_type else None
    out = conv_p.bind(
        lhs,
        rhs,
        window_strides=strides,
        padding=pads,
        lhs_dilation=ld,
        rhs_dilation=rd,
        feature_group_count=int(feature_group_count),
        preferred_element_type=pet,
    )
    if dn.out_spec != iota:
        out = ls.transpose(out, tuple(int(i) for i in np.argsort(dn.out_spec)))
    return out


def conv(lhs, rhs, window_strides, padding):
    """Convolution in the ``NC...``/``OI...`` layouts without dilation, as ``jax.lax.conv``.

    Args:
      lhs: the input, ``(N, C, spatial...)``.
      rhs: the kernel, ``(O, C, window...)``, of ``lhs``'s dtype.
      window_strides: one static stride per spatial axis.
      padding: ``"SAME"``, ``"SAME_LOWER"``, ``"VALID"`` or ``(low, high)`` pairs.

    Returns:
      The output, ``(N, O, spatial...)``.

    Raises:
      ValueError: for an unknown padding string.
      TypeError: as :func:`conv_general_dilated`.
    """
    return conv_general_dilated(lhs, rhs, window_strides, padding)


def _conv_bind(lhs, rhs, **p):
    return conv_p.bind(lhs, rhs, **p)


def _vjp_lhs_padding(in_sp, k_sp, strides, out_sp, padding, ld, rd):
    pads = []
    for n, k, s, o, (lo, _hi), a, b in zip(in_sp, k_sp, strides, out_sp, padding, ld, rd):
        lhs_d, rhs_d, out_d = (n - 1) * a + 1, (k - 1) * b + 1, (o - 1) * s + 1
        before = rhs_d - lo - 1
        after = lhs_d + rhs_d - 1 - out_d - before
        pads.append((before, after))
    return tuple(pads)


def _vjp_rhs_padding(in_sp, k_sp, strides, out_sp, padding, ld, rd):
    pads = []
    for n, k, s, o, (lo, _hi), a, b in zip(in_sp, k_sp, strides, out_sp, padding, ld, rd):
        lhs_d, rhs_d, out_d = (n - 1) * a + 1, (k - 1) * b + 1, (o - 1) * s + 1
        pads.append((lo, (out_d - lhs_d) + (rhs_d - lo - 1)))
    return tuple(pads)


def _conv_transpose_lhs(
    g, lhs_aval, rhs, window_strides, padding, lhs_dilation, rhs_dilation, feature_group_count
):
    rshape = get_aval(rhs).shape
    G = feature_group_count
    o, i = rshape[:2]
    nsp = len(rshape) - 2
    # kernel (O, I, k) -> (G, O/G, I, k) -> (G, I, O/G, k) -> (G*I, O/G, k), spatially flipped
    w = ls.reshape(rhs, (G, o // G, i) + rshape[2:])
    w = ls.transpose(w, (0, 2, 1) + tuple(range(3, 3 + nsp)))
    w = ls.reshape(w, (G * i, o // G) + rshape[2:])
    w = ls.rev(w, tuple(range(2, 2 + nsp)))
    out_sp = get_aval(g).shape[2:]
    pads = _vjp_lhs_padding(
        lhs_aval.shape[2:], rshape[2:], window_strides, out_sp, padding, lhs_dilation, rhs_dilation
    )
    res = _conv_bind(
        g,
        w,
        window_strides=lhs_dilation,
        padding=pads,
        lhs_dilation=window_strides,
        rhs_dilation=rhs_dilation,
        feature_group_count=G,
        preferred_element_type=None,
    )
    return _fit_spatial(res, lhs_aval.shape)


def _fit_spatial(x, shape):
    """Crop or zero-pad the spatial dims of ``x`` to ``shape`` (strides can drop a border)."""
    xs = get_aval(x).shape
    if xs == tuple(shape):
        return x
    cfg = [(0, 0, 0)] * 2 + [(0, t - s, 0) for s, t in zip(xs[2:], shape[2:])]
    return lsl.pad(x, ls.zeros((), get_aval(x).dtype), cfg)


def _conv_transpose_rhs_1group(g, lhs, rshape, window_strides, padding, lhs_dilation, rhs_dilation):
    nsp = len(rshape) - 2
    sp = tuple(range(2, 2 + nsp))
    lhs_t = ls.transpose(lhs, (1, 0) + sp)  # (C, N, ...): N acts as the feature dim
    g_t = ls.transpose(g, (1, 0) + sp)  # (O, N, ...): the "kernel"
    pads = _vjp_rhs_padding(
        get_aval(lhs).shape[2:],
        rshape[2:],
        window_strides,
        get_aval(g).shape[2:],
        padding,
        lhs_dilation,
        rhs_dilation,
    )
    res = _conv_bind(
        lhs_t,
        g_t,
        window_strides=rhs_dilation,
        padding=pads,
        lhs_dilation=lhs_dilation,
        rhs_dilation=window_strides,
        feature_group_count=1,
        preferred_element_type=None,
    )  # (C, O, k...)
    res = ls.transpose(res, (1, 0) + sp)
    return lsl.slice(res, (0,) * len(rshape), rshape)


def _conv_transpose_rhs(
    g, lhs, rhs_aval, window_strides, padding, lhs_dilation, rhs_dilation, feature_group_count
):
    G = feature_group_count
    rshape = rhs_aval.shape
    if G == 1:
        return _conv_transpose_rhs_1group(
            g, lhs, rshape, window_strides, padding, lhs_dilation, rhs_dilation
        )
    c, o = get_aval(lhs).shape[1], rshape[0]
    parts = []
    for k in range(G):
        lk = lsl.slice_in_dim(lhs, k * c // G, (k + 1) * c // G, axis=1)
        gk = lsl.slice_in_dim(g, k * o // G, (k + 1) * o // G, axis=1)
        parts.append(
            _conv_transpose_rhs_1group(
                gk, lk, (o // G,) + rshape[1:], window_strides, padding, lhs_dilation, rhs_dilation
            )
        )
    return lsl.concatenate(parts, 0)


def _conv_vjp(cts, primals, out, **p):
    lhs, rhs = primals
    g = cts[0]
    pet = p.pop("preferred_element_type")
    if pet:
        g = convert_element_type(g, get_aval(lhs).dtype)
    return [
        _conv_transpose_lhs(g, get_aval(lhs), rhs, **p),
        _conv_transpose_rhs(g, lhs, get_aval(rhs), **p),
    ]


def _conv_jvp(primals, tangents, **p):
    lhs, rhs = primals
    out = conv_p.bind(lhs, rhs, **p)
    return out, _bilinear_tangent(conv_p, lhs, rhs, tangents[0], tangents[1], p)


_conv_jvp.symbolic_zeros = True


def _conv_batch(vals, dims, axis_size, **p):
    lhs, rhs = vals
    xd, yd = dims
    B = axis_size
    G = p["feature_group_count"]
    if yd is None:
        lhs = ls.moveaxis(lhs, xd, 0)
        s = get_aval(lhs).shape
        out = conv_p.bind(ls.reshape(lhs, (s[0] * s[1],) + s[2:]), rhs, **p)
        os_ = get_aval(out).shape
        return ls.reshape(out, (B, s[1]) + os_[1:]), 0
    rhs = ls.moveaxis(rhs, yd, 0)
    rs = get_aval(rhs).shape  # (B, O, I, k...)
    o = rs[1]
    if xd is None:
        w = ls.reshape(rhs, (B, G, o // G) + rs[2:])
        w = ls.transpose(w, (1, 0) + tuple(range(2, len(rs) + 1)))
        w = ls.reshape(w, (G * B * (o // G),) + rs[2:])
        out = conv_p.bind(lhs, w, **p)
        os_ = get_aval(out).shape
        out = ls.reshape(out, (os_[0], G, B, o // G) + os_[2:])
        out = ls.transpose(out, (0, 2, 1) + tuple(range(3, len(os_) + 2)))
        return ls.reshape(out, (os_[0], B, o) + os_[2:]), 1
    lhs = ls.moveaxis(lhs, xd, 0)
    s = get_aval(lhs).shape  # (B, N, C, ...)
    x = ls.reshape(ls.transpose(lhs, (1, 0) + tuple(range(2, len(s)))), (s[1], B * s[2]) + s[3:])
    w = ls.reshape(rhs, (B * o,) + rs[2:])
    out = conv_p.bind(x, w, **dict(p, feature_group_count=B * G))
    os_ = get_aval(out).shape
    return ls.reshape(out, (os_[0], B, o) + os_[2:]), 1


ad.jvp_rules[conv_p] = _conv_jvp
ad.vjp_rules[conv_p] = _conv_vjp
batching.vmap_rules[conv_p] = _conv_batch
