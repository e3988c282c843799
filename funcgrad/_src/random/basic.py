"""funcgrad.random: the basic samplers (``uniform``, ``normal``, ``truncated_normal``,
``bernoulli``, ``randint``, ``categorical``, ``permutation``, ``choice``, ``exponential``,
...), each a transformation of uniform bits."""

from __future__ import annotations

import math

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval, wrap
from funcgrad._src.core import canonicalize_axis
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax import transcendental as ltr
from funcgrad._src.numpy.conversion import _concrete_input, asarray, astype
from funcgrad._src.numpy.logic import where
from funcgrad._src.random.params import _float_dtype, _fma, _shape, _to_rank
from funcgrad._src.random.prng import _U32, _check_key, _keys, _u32, random_bits
from funcgrad._src.random.threefry import is_concrete

_ONE_BITS = {16: 0x3C00, 32: 0x3F800000, 64: 0x3FF0000000000000}


def _unit_float(key, shape, dt):
    """Uniform in [0, 1) from the high mantissa bits, as JAX: ``nbits`` random bits (8 for
    bfloat16), shifted into the mantissa of a float in [1, 2), minus 1."""
    if dtypes.is_bf16(dt):  # 8 bits into bfloat16's 7-bit mantissa: exact through float32
        b = le.convert_element_type(random_bits(key, shape, 8), _U32)
        f = le.bitwise_or(
            le.shift_left(le.shift_right_logical(b, _u32(1, shape)), _u32(16, shape)),
            _u32(0x3F800000, shape),
        )
        u = le.sub(le.bitcast_convert_type(f, np.float32), ls.full(shape, 1.0, np.float32))
        return le.convert_element_type(u, dt)
    nbits, nmant = dt.itemsize * 8, int(np.finfo(dt).nmant)
    b = random_bits(key, shape, nbits)
    udt = get_aval(b).dtype
    f = le.shift_right_logical(b, ls.full(shape, nbits - nmant, udt))
    f = le.bitwise_or(f, ls.full(shape, _ONE_BITS[nbits], udt))
    return le.sub(le.bitcast_convert_type(f, dt), ls.full(shape, 1.0, dt))


def uniform(key, shape=(), dtype=None, minval=0.0, maxval=1.0):
    """Uniform floats in ``[minval, maxval)``.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        shape: the sample shape, an int or a tuple of ints (static under ``jit``).
        dtype: a float dtype (default: float32, or float64 with x64 on).
        minval: the lower bound, array_like broadcastable to ``shape`` (trailing alignment).
        maxval: the upper bound, array_like broadcastable to ``shape``.

    Returns:
        An array of ``shape`` and ``dtype``, ``minval + u * (maxval - minval)`` (at least
        ``minval``) for ``u`` uniform in ``[0, 1)``; differentiable in ``minval``/``maxval``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key, or ``minval`` or ``maxval``
            does not broadcast to ``shape``.
        ValueError: if ``dtype`` is not a float dtype (a ``ValueTypeError``, also a
            ``TypeError``).
    """
    key = _check_key(key, "uniform")
    dt = _float_dtype(dtype)
    shape = _shape(shape)
    return _uniform(key, shape, dt, minval, maxval)


def _uniform(key, shape, dt, minval=0.0, maxval=1.0):
    """``max(minval, u * (maxval - minval) + minval)``, JAX's order of operations."""
    lo = _to_rank(astype(asarray(minval), dt), shape)
    hi = _to_rank(astype(asarray(maxval), dt), shape)
    if all(map(is_concrete, (key, lo, hi))) and not dtypes.is_bf16(dt):
        return wrap(_uniform_np(key, shape, dt, lo._value, hi._value))
    u = _unit_float(key, shape, dt)
    if dt.itemsize >= 4:  # XLA fuses the multiply-add (float16/bfloat16 go through float32)
        return le.max(lo, _fma(u, le.sub(hi, lo), lo))
    return le.max(lo, le.add(le.mul(u, le.sub(hi, lo)), lo))


def _uniform_np(key, shape, dt, lo, hi):
    """``_uniform`` for a concrete key, in numpy (the same IEEE operations, one call)."""
    nbits, nmant = dt.itemsize * 8, int(np.finfo(dt).nmant)
    b = random_bits(key, shape, nbits)._value
    one = np.array(_ONE_BITS[nbits], b.dtype)
    u = ((b >> np.array(nbits - nmant, b.dtype)) | one).view(dt) - np.array(1.0, dt)
    if dt.itemsize >= 4:
        return np.maximum(lo, _fma(u, hi - lo, lo))
    return np.maximum(lo, u * (hi - lo) + lo)


def normal(key, shape=(), dtype=None):
    """Standard normal samples (inverse-CDF of a uniform draw).

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        shape: the sample shape, an int or a tuple of ints (static under ``jit``).
        dtype: a float or complex dtype (default: float32, or float64 with x64 on); complex
            samples have independent real and imaginary parts of variance 1/2, as in JAX.

    Returns:
        An array of ``shape`` and ``dtype``: ``sqrt(2) * erfinv(u)``, ``u`` uniform in
        ``(-1, 1)``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``dtype`` is neither float nor complex (a ``ValueTypeError``, also a
            ``TypeError``).
    """
    key = _check_key(key, "normal")
    if dtype is not None and dtypes.canonicalize(dtype).kind == "c":
        # as in JAX: independent real and imaginary parts, each of variance 1/2
        cdt = dtypes.canonicalize(dtype)
        rdt = np.dtype(f"float{cdt.itemsize * 4}")
        k_re, k_im = _keys(key, 2)
        re, im = _normal_real(k_re, _shape(shape), rdt), _normal_real(k_im, _shape(shape), rdt)
        s = ls.full(get_aval(re).shape, math.sqrt(2), rdt)
        return le.complex(le.div(re, s), le.div(im, s))
    return _normal_real(key, _shape(shape), _float_dtype(dtype))


def _normal_real(key, shape, dt):
    lo = float(
        np.nextafter(np.array(-1.0, dtypes.physical(dt)), np.array(0.0, dtypes.physical(dt)))
    )
    if dtypes.is_bf16(dt):
        lo = -1.0 + 2.0**-8
    u = _uniform(key, shape, dt, lo, 1.0)
    return le.mul(ls.full(shape, math.sqrt(2), dt), ltr.erf_inv(u))


def truncated_normal(key, lower, upper, shape=None, dtype=None):
    """Standard normal samples truncated to ``(lower, upper)``.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        lower: the lower bound, array_like (``-inf`` allowed).
        upper: the upper bound, array_like (``inf`` allowed).
        shape: the sample shape (static under ``jit``); ``None`` (default) is the broadcast
            shape of ``lower`` and ``upper``, which must broadcast to it.
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        An array of ``shape`` and ``dtype`` strictly inside ``(lower, upper)`` (inverse CDF,
        then clipped to the next representable values); differentiable in the bounds.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key, or ``lower`` or ``upper``
            does not broadcast to ``shape``.
        ValueError: if ``dtype`` is not a float dtype (a ``ValueTypeError``, also a
            ``TypeError``).
    """
    key = _check_key(key, "truncated_normal")
    dt = _float_dtype(dtype)
    lower, upper = astype(asarray(lower), dt), astype(asarray(upper), dt)
    if shape is None:
        shape = np.broadcast_shapes(get_aval(lower).shape, get_aval(upper).shape)
    shape = _shape(shape)
    lower, upper = _to_rank(lower, shape), _to_rank(upper, shape)
    sqrt2 = ls.full(shape, math.sqrt(2), dt)
    a, b = ltr.erf(le.div(lower, sqrt2)), ltr.erf(le.div(upper, sqrt2))
    out = le.mul(sqrt2, ltr.erf_inv(_uniform(key, shape, dt, a, b)))
    lo = le.nextafter(lower, ls.full(shape, np.inf, dt))
    hi = le.nextafter(upper, ls.full(shape, -np.inf, dt))
    return le.min(le.max(out, lo), hi)


def bernoulli(key, p=0.5, shape=None):
    """Booleans that are True with probability ``p``.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        p: the probability of True, array_like in ``[0, 1]`` (non-float ``p`` is converted to
            the default float dtype).
        shape: the sample shape (static under ``jit``); ``None`` (default) is ``p``'s shape,
            and ``p`` must broadcast to it.

    Returns:
        A ``bool`` array of ``shape``: ``uniform(key) < p``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key or ``p`` does not broadcast
            to ``shape``.
    """
    key = _check_key(key, "bernoulli")
    p = asarray(p)
    if get_aval(p).dtype.kind != "f":
        p = astype(p, dtypes.default_float())
    shape = _shape(get_aval(p).shape if shape is None else shape)
    pb = ls.broadcast_in_dim(p, shape, tuple(range(len(shape) - get_aval(p).ndim, len(shape))))
    return le.lt(uniform(key, shape, get_aval(p).dtype), pb)


def randint(key, shape, minval, maxval, dtype=None):
    """Integers uniform in ``[minval, maxval)``.

    As in JAX, the bounds are clipped to ``dtype``'s range (a ``maxval`` above it makes the
    largest value a possible draw), and ``maxval <= minval`` gives ``minval``.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        shape: the sample shape, an int or a tuple of ints (static under ``jit``).
        minval: the lower bound (inclusive), integer array_like broadcastable to ``shape``.
        maxval: the upper bound (exclusive), integer array_like broadcastable to ``shape``.
        dtype: an integer dtype (default: int32, or int64 with x64 on).

    Returns:
        An integer array of ``shape`` and ``dtype``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key, ``dtype`` is not an integer
            dtype, or a bound does not broadcast to ``shape``.
    """
    key = _check_key(key, "randint")
    dt = dtypes.canonicalize(dtype or dtypes.default_int())
    if dt.kind not in "iu":
        raise TypeError(f"randint only accepts integer dtypes, got {dt}")
    shape = _shape(shape)
    lo, hi = _int_bound(minval), _int_bound(maxval)
    info = np.iinfo(dt)
    if info.bits < 32:  # as JAX: sample in int32 (bounds clipped to dt's range), then cast
        i32 = np.dtype(np.int32)
        lo = _clip_int(astype(lo, i32), int(info.min), int(info.max))
        hi = _clip_int(astype(hi, i32), int(info.min), int(info.max) + 1)
        return astype(_randint(key, shape, lo, hi, i32), dt)
    return _randint(key, shape, lo, hi, dt)


def _int_bound(v):
    v = asarray(v)
    return v if get_aval(v).dtype.kind in "iu" else astype(v, dtypes.default_int())


def _clip_int(v, lo, hi):
    dt = get_aval(v).dtype
    shape = get_aval(v).shape
    return le.clamp(ls.full(shape, lo, dt), v, ls.full(shape, hi, dt))


def _convert_and_clip(v, dt):
    """``v`` clipped to the range both its dtype and ``dt`` hold, then cast to ``dt``."""
    vi, ti = np.iinfo(get_aval(v).dtype), np.iinfo(dt)
    lo, hi = max(int(ti.min), int(vi.min)), min(int(ti.max), int(vi.max))
    return le.convert_element_type(_clip_int(v, lo, hi), dt)


def _randint(key, shape, minval, maxval, dt):
    """JAX's randint: two words of bits per value reduced modulo the span."""
    nbits = np.iinfo(dt).bits
    udt = np.dtype(f"uint{nbits}")
    mdt = get_aval(maxval).dtype
    top = _convert_and_clip(asarray(np.iinfo(dt).max, dt), mdt)
    out_of_range = _to_rank(
        le.gt(maxval, ls.broadcast_in_dim(top, get_aval(maxval).shape, ())), shape
    )
    lo = _to_rank(_convert_and_clip(minval, dt), shape)
    hi = _to_rank(_convert_and_clip(maxval, dt), shape)
    k1, k2 = _keys(key, 2)
    higher, lower = random_bits(k1, shape, nbits), random_bits(k2, shape, nbits)
    one = ls.full(shape, 1, udt)
    span = le.convert_element_type(le.sub(hi, lo), udt)
    span = le.select(le.le(hi, lo), one, span)
    span = le.select(le.bitwise_and(out_of_range, le.gt(hi, lo)), le.add(span, one), span)
    mult = le.rem(ls.full(shape, 2 ** (nbits // 2), udt), span)
    mult = le.rem(le.mul(mult, mult), span)
    off = le.add(le.mul(le.rem(higher, span), mult), le.rem(lower, span))
    off = le.rem(off, span)
    return le.add(lo, le.convert_element_type(off, dt))


def gumbel(key, shape=(), dtype=None):
    """Standard Gumbel samples (location 0, scale 1).

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        shape: the sample shape, an int or a tuple of ints (static under ``jit``).
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        An array of ``shape`` and ``dtype``, computed as
        ``-log(-log(u))``, ``u`` uniform in ``(0, 1)``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``dtype`` is not a float dtype (a ``ValueTypeError``, also a
            ``TypeError``).
    """
    key = _check_key(key, "gumbel")
    dt = _float_dtype(dtype)
    tiny = float(dtypes.finfo_of(dt).tiny)
    u = uniform(key, _shape(shape), dt, tiny, 1.0)
    return le.neg(ltr.log(le.neg(ltr.log(u))))


def categorical(key, logits, axis=-1, shape=None, replace=True):
    """Samples from a categorical distribution given unnormalised log-probabilities.

    Uses the Gumbel-max trick: ``argmax(logits + gumbel)`` along ``axis``; without replacement
    the Gumbel-top-k trick (the ``k`` largest ``logits + gumbel``, as JAX).

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        logits: float array_like of log-probabilities (up to a constant), categories along
            ``axis``.
        axis: the category axis of ``logits`` (default: the last).
        shape: the output shape (static under ``jit``); it must end with (a broadcast of)
            the batch shape ``logits.shape`` without ``axis``, the default (``None``).
        replace: draw with replacement (default) or without: then the draws over the leading
            ``shape[:-len(batch)]`` axes are distinct categories for each batch entry, and
            their number (the product of those axes) must not exceed the number of categories.

    Returns:
        An integer array (default int dtype) of ``shape``: category indices.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key or ``shape`` does not end
            with the batch shape.
        ValueError: if ``logits`` is not a float array (a ``ValueTypeError``, also a
            ``TypeError``), or ``replace=False`` asks for more draws than categories.
    """
    key = _check_key(key, "categorical")
    logits = asarray(logits)
    lshape = get_aval(logits).shape
    nd = len(lshape)
    axis = canonicalize_axis(axis, nd)
    batch = tuple(s for i, s in enumerate(lshape) if i != axis)
    shape = batch if shape is None else _shape(shape)
    if tuple(np.broadcast_shapes(shape, batch)) != shape:
        raise ValueError(
            f"categorical: shape {shape} must end with (a broadcast of) the batch shape {batch}"
        )
    lead = len(shape) - len(batch)
    if not replace:
        return _categorical_no_replace(key, logits, axis, shape, lead)
    # as JAX: the noise has the logits' layout (category axis at ``axis``) behind the prefix
    gshape = shape[:lead] + shape[lead:][:axis] + (lshape[axis],) + shape[lead:][axis:]
    lg = ls.broadcast_in_dim(logits, gshape, tuple(range(len(gshape) - nd, len(gshape))))
    g = gumbel(key, gshape, get_aval(logits).dtype)
    return lr.argmax(le.add(g, lg), lead + axis, dtypes.default_int())


def _categorical_no_replace(key, logits, axis, shape, lead):
    """Gumbel top-k on the noisy logits: the ``k = prod(shape[:lead])`` best per batch entry."""
    from funcgrad._src.numpy.shape import moveaxis

    lshape = get_aval(logits).shape
    n = lshape[axis]
    k = int(np.prod(shape[:lead], dtype=np.int64))
    if k > n:
        raise ValueError(
            f"Number of samples without replacement ({k}) cannot exceed number of categories ({n})."
        )
    g = moveaxis(le.add(logits, gumbel(key, lshape, get_aval(logits).dtype)), axis, -1)
    top = _top_k_indices(g, k)
    nb = len(lshape) - 1
    top = ls.transpose(top, (nb,) + tuple(range(nb)))
    return ls.reshape(top, shape)


def _top_k_indices(x, k):
    """Indices of the ``k`` largest entries along the last axis (ties: lower index first)."""
    shape = get_aval(x).shape
    nd = len(shape)
    io = ls.broadcasted_iota(dtypes.default_int(), shape, nd - 1)
    order = lr.sort([le.neg(x), io], nd - 1, num_keys=1)[1]
    return lsl.slice_in_dim(order, 0, k, axis=nd - 1)


def permutation(key, x, axis=0, independent=False):
    """A random permutation of ``range(x)`` (int ``x``) or of ``x`` along ``axis``.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        x: an int ``n`` (static under ``jit``), or an array with at least one dimension.
        axis: the axis of ``x`` to permute.
        independent: for an array of two or more dimensions, permute every slice along
            ``axis`` independently (default: one permutation for all of them).

    Returns:
        For an int (or a concrete 0-d integer array), a default-int array of shape ``(n,)``;
        for an array, ``x`` with its entries along ``axis`` permuted (same shape and dtype).

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key, or ``x`` is a 0-d array that
            is not a concrete integer (as JAX).
        IndexError: if ``axis`` is out of range.
    """
    key = _check_key(key, "permutation")
    from funcgrad._src.numpy.indexing import take

    arr = None if isinstance(x, (int, np.integer)) else asarray(x)
    if arr is not None and get_aval(arr).ndim == 0:
        if get_aval(arr).dtype.kind not in "iu":
            raise TypeError("x must be an integer or at least 1-dimensional")
        x, arr = int(_concrete_input(arr, "permutation", "a 0-d x")), None
    if arr is None:
        return _shuffle(key, ls.iota(dtypes.default_int(), int(x)), 0)
    axis = canonicalize_axis(axis, get_aval(arr).ndim)
    if independent or get_aval(arr).ndim == 1:
        return _shuffle(key, arr, axis)
    ind = _shuffle(key, ls.iota(dtypes.default_int(), get_aval(arr).shape[axis]), 0)
    return take(arr, ind, axis=axis)


def _shuffle(key, x, axis):
    """JAX's shuffle: sort by fresh 32-bit random keys, ``ceil(3 ln(n) / ln(2**32 - 1))``
    rounds (one below ~1600 entries), each with a new subkey."""
    size = max(1, int(np.prod(get_aval(x).shape, dtype=np.int64)))
    rounds = int(np.ceil(3 * np.log(size) / np.log(np.iinfo(np.uint32).max)))
    for _ in range(rounds):
        key, sub = _keys(key, 2)
        sort_keys = random_bits(sub, get_aval(x).shape, 32)
        x = lr.sort([sort_keys, x], axis, num_keys=1)[1]
    return x


def shuffle(key, x, axis=0):
    """``x`` permuted along ``axis``: the same as ``permutation(key, x, axis)``.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        x: an int ``n`` (then ``range(n)`` is shuffled) or an array of at least one dimension.
        axis: the axis of ``x`` to shuffle.

    Returns:
        The permuted ``range(n)`` or ``x`` (same shape and dtype).

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key or ``x`` is a 0-d array that is
            not a concrete integer.
        IndexError: if ``axis`` is out of range.
    """
    return permutation(key, x, axis)


def choice(key, a, shape=(), replace=True, p=None, axis=0):
    """Random samples from ``a`` (an int ``n`` means ``range(n)``).

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        a: an int ``n`` (static under ``jit``) or an array; entries are drawn along ``axis``.
        shape: the sample shape, an int or a tuple of ints (static under ``jit``).
        replace: draw with replacement (default) or without (all indices distinct; Gumbel
            top-k when ``p`` is given).
        p: optional probabilities of the ``n`` entries, array_like of shape ``(n,)`` (used
            through their logs, so they need not sum to 1); ``None`` is uniform.
        axis: the axis of ``a`` to draw along.

    Returns:
        For an int ``a``, default-int indices of ``shape``; for an array, ``a`` indexed along
        ``axis`` (shape ``a.shape[:axis] + shape + a.shape[axis + 1:]``).

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``replace=False`` and ``shape`` has more elements than ``n``.
    """
    key = _check_key(key, "choice")
    from funcgrad._src.numpy.indexing import take

    arr = asarray(a)
    scalar = get_aval(arr).ndim == 0
    if scalar:
        n = int(_concrete_input(arr, "choice", "a 0-d a"))
    else:
        axis = canonicalize_axis(axis, get_aval(arr).ndim)
        n = get_aval(arr).shape[axis]
    shape = _shape(shape)
    m = int(np.prod(shape, dtype=np.int64))
    if m == 0:
        return ls.full(shape, 0, get_aval(arr).dtype)
    if n <= 0:
        raise ValueError("a must be greater than 0 unless no samples are taken")
    if not replace and m > n:
        raise ValueError(
            f"Cannot take a larger sample (size {m}) than population (size {n}) when "
            "'replace=False'"
        )
    if p is None and not replace:
        perm = permutation(key, n if scalar else arr, axis if not scalar else 0)
        idx = lsl.slice_in_dim(perm, 0, m, axis=0 if scalar else axis)
        out_shape = (
            shape
            if scalar
            else get_aval(arr).shape[:axis] + shape + get_aval(arr).shape[axis + 1 :]
        )
        return ls.reshape(idx, out_shape)
    idx = _choice_indices(key, n, shape, replace, p)
    return idx if scalar else take(arr, idx, axis=axis)


def _choice_indices(key, n, shape, replace, p):
    if p is None:
        return randint(key, shape, 0, n)
    import funcgrad.numpy as fnp

    p = asarray(p)
    if get_aval(p).dtype.kind not in "fc":
        p = astype(p, dtypes.default_float())
    if get_aval(p).shape != (n,):
        raise ValueError(
            "p must be None or a 1D vector with the same size as a.shape[axis]. "
            f"p has shape {get_aval(p).shape} and a.shape[axis] is {n}."
        )
    dt = get_aval(p).dtype
    if replace:
        cum = fnp.cumsum(p)
        r = cum[-1] * (1 - uniform(key, shape, dt))
        return fnp.searchsorted(cum, r).astype(dtypes.default_int())
    g = le.add(gumbel(key, (n,), dt), ltr.log(p))
    m = int(np.prod(shape, dtype=np.int64))
    return ls.reshape(_top_k_indices(g, m), shape)


def exponential(key, shape=(), dtype=None):
    """Standard exponential samples (rate 1).

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        shape: the sample shape, an int or a tuple of ints (static under ``jit``).
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        An array of ``shape`` and ``dtype``, computed as
        ``-log(1 - u)``, ``u`` uniform in ``[0, 1)``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``dtype`` is not a float dtype (a ``ValueTypeError``, also a
            ``TypeError``).
    """
    dt = _float_dtype(dtype)
    u = uniform(_check_key(key, "exponential"), _shape(shape), dt)
    return le.neg(ltr.log1p(le.neg(u)))


def laplace(key, shape=(), dtype=None):
    """Standard Laplace samples (location 0, scale 1).

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        shape: the sample shape, an int or a tuple of ints (static under ``jit``).
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        An array of ``shape`` and ``dtype``, computed as
        ``sign(u) * -log(1 - |u|)``, ``u`` uniform in ``(-1, 1)``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``dtype`` is not a float dtype (a ``ValueTypeError``, also a
            ``TypeError``).
    """
    dt = _float_dtype(dtype)
    lo = -1.0 + float(dtypes.finfo_of(dt).epsneg)
    u = uniform(_check_key(key, "laplace"), _shape(shape), dt, lo, 1.0)
    return le.mul(le.sign(u), ltr.log1p(le.neg(le.abs(u))))


def logistic(key, shape=(), dtype=None):
    """Standard logistic samples (location 0, scale 1).

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        shape: the sample shape, an int or a tuple of ints (static under ``jit``).
        dtype: a float dtype (default: float32, or float64 with x64 on).

    Returns:
        An array of ``shape`` and ``dtype``, computed as
        ``log(u / (1 - u))``, ``u`` uniform in ``(0, 1)``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
        ValueError: if ``dtype`` is not a float dtype (a ``ValueTypeError``, also a
            ``TypeError``).
    """
    dt = _float_dtype(dtype)
    tiny = float(dtypes.finfo_of(dt).tiny)
    u = uniform(_check_key(key, "logistic"), _shape(shape), dt, tiny, 1.0)
    return le.sub(ltr.log(u), ltr.log1p(le.neg(u)))


def rademacher(key, shape=(), dtype=None):
    """Random signs: -1 or +1, each with probability 1/2.

    Args:
        key: a PRNG key, ``uint32[2]`` (``vmap`` the sampler over a batch of keys).
        shape: the sample shape, an int or a tuple of ints (static under ``jit``).
        dtype: the output dtype, integer or float (default: int32, or int64 with x64 on).

    Returns:
        An array of ``shape`` and ``dtype`` with values in ``{-1, 1}``.

    Raises:
        TypeError: if ``key`` is not a single ``uint32[2]`` key.
    """
    dt = dtypes.canonicalize(dtype or dtypes.default_int())
    b = bernoulli(_check_key(key, "rademacher"), 0.5, _shape(shape))
    return astype(where(b, 1, -1), dt)
