"""funcgrad.random: the basic samplers (``uniform``, ``normal``, ``truncated_normal``,
``bernoulli``, ``randint``, ``categorical``, ``permutation``, ``choice``, ``exponential``,
...), each a transformation of uniform bits."""

from __future__ import annotations

import math

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval
from funcgrad._src.core import canonicalize_axis
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax import transcendental as ltr
from funcgrad._src.numpy.conversion import _concrete_input, asarray, astype
from funcgrad._src.numpy.logic import where
from funcgrad._src.random.params import _float_dtype, _shape
from funcgrad._src.random.prng import _U32, _check_key, _u32, random_bits, split


def _unit_float(key, shape, dt):
    """Uniform in [0, 1) from the high mantissa bits."""
    b = random_bits(key, shape)
    if dt == np.float64:
        b = le.convert_element_type(b, dtypes.canonicalize(np.uint64))
        hi = le.shift_left(b, ls.full(shape, 20, get_aval(b).dtype))
        f = le.bitwise_or(hi, ls.full(shape, 0x3FF0000000000000, get_aval(b).dtype))
        return le.sub(le.bitcast_convert_type(f, np.float64), ls.full(shape, 1.0, np.float64))
    mant = le.shift_right_logical(b, _u32(9, shape))
    f = le.bitwise_or(mant, _u32(0x3F800000, shape))
    u = le.sub(le.bitcast_convert_type(f, np.float32), ls.full(shape, 1.0, np.float32))
    return le.convert_element_type(u, dt) if dt != np.float32 else u


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
    lo = astype(asarray(minval), dt)
    hi = astype(asarray(maxval), dt)
    u = _unit_float(key, shape, dt)
    lo_b = ls.broadcast_in_dim(lo, shape, tuple(range(len(shape) - get_aval(lo).ndim, len(shape))))
    hi_b = ls.broadcast_in_dim(hi, shape, tuple(range(len(shape) - get_aval(hi).ndim, len(shape))))
    return le.max(lo_b, le.add(lo_b, le.mul(u, le.sub(hi_b, lo_b))))


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
        k_re, k_im = split(key)
        re, im = normal(k_re, shape, rdt), normal(k_im, shape, rdt)
        s = ls.full(get_aval(re).shape, 1 / math.sqrt(2), rdt)
        return le.complex(le.mul(re, s), le.mul(im, s))
    dt = _float_dtype(dtype)
    shape = _shape(shape)
    lo = float(np.nextafter(np.array(-1.0, dt), np.array(1.0, dt)))
    u = uniform(key, shape, dt, lo, 1.0)
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
    lower = ls.broadcast_in_dim(
        lower, shape, tuple(range(len(shape) - get_aval(lower).ndim, len(shape)))
    )
    upper = ls.broadcast_in_dim(
        upper, shape, tuple(range(len(shape) - get_aval(upper).ndim, len(shape)))
    )
    sqrt2 = ls.full(shape, math.sqrt(2), dt)
    a, b = ltr.erf(le.div(lower, sqrt2)), ltr.erf(le.div(upper, sqrt2))
    u = le.add(a, le.mul(_unit_float(key, shape, dt), le.sub(b, a)))
    out = le.mul(sqrt2, ltr.erf_inv(u))
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
        raise TypeError(f"randint needs an integer dtype, got {dt}")
    shape = _shape(shape)
    keys = split(key)
    k1 = ls.reshape(lsl.slice_in_dim(keys, 0, 1), (2,))
    k2 = ls.reshape(lsl.slice_in_dim(keys, 1, 2), (2,))
    hi_bits, lo_bits = random_bits(k1, shape), random_bits(k2, shape)
    info = np.iinfo(dt)
    # as in JAX: the bounds are clipped to the dtype's range; a maxval above the range
    # makes the dtype's largest value a possible draw
    it = np.int64 if dtypes.x64_enabled() else np.int32
    tmin, tmax = (
        max(int(info.min), int(np.iinfo(it).min)),
        min(int(info.max), int(np.iinfo(it).max)),
    )
    lo = le.clamp(asarray(tmin, it), astype(asarray(minval), it), asarray(tmax, it))
    lo = astype(
        ls.broadcast_in_dim(lo, shape, tuple(range(len(shape) - get_aval(lo).ndim, len(shape)))), dt
    )
    hi_raw = astype(asarray(maxval), it)
    hi_raw = ls.broadcast_in_dim(
        hi_raw, shape, tuple(range(len(shape) - get_aval(hi_raw).ndim, len(shape)))
    )
    above = le.gt(hi_raw, ls.full(shape, tmax, it))
    hi = astype(le.clamp(ls.full(shape, tmin, it), hi_raw, ls.full(shape, tmax, it)), dt)
    span = le.convert_element_type(le.sub(hi, lo), _U32)
    span = le.max(span, _u32(1, shape))
    span = where(le.bitwise_and(above, le.gt(hi, lo)), le.add(span, _u32(1, shape)), span)
    # (2**32 mod span)**2 mod span, so that hi*2**32 + lo is reduced modulo span exactly
    mult = le.rem(_u32(2**32 - 1, shape), span)
    mult = le.rem(le.add(mult, _u32(1, shape)), span)
    mult = le.rem(le.mul(mult, mult), span)
    off = le.add(le.mul(le.rem(hi_bits, span), mult), le.rem(lo_bits, span))
    off = le.rem(off, span)
    return where(le.le(hi, lo), lo, le.add(lo, le.convert_element_type(off, dt)))


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
    tiny = float(np.finfo(dt).tiny)
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
    nd = get_aval(logits).ndim
    axis = axis % nd
    batch = tuple(s for i, s in enumerate(get_aval(logits).shape) if i != axis)
    shape = batch if shape is None else _shape(shape)
    n = get_aval(logits).shape[axis]
    from funcgrad._src.numpy.shape import moveaxis

    lg = moveaxis(logits, axis, -1)
    lead = len(shape) - len(batch)
    if not replace:
        return _categorical_no_replace(key, lg, shape, lead)
    lg = ls.broadcast_in_dim(lg, shape + (n,), tuple(range(lead, len(shape) + 1)))
    g = gumbel(key, shape + (n,), get_aval(lg).dtype)
    return lr.argmax(le.add(g, lg), len(shape), dtypes.default_int())


def _categorical_no_replace(key, lg, shape, lead):
    """Gumbel top-k: one noise draw per batch entry, its ``k = prod(shape[:lead])`` best."""
    n, bshape = get_aval(lg).shape[-1], shape[lead:]
    k = int(np.prod(shape[:lead], dtype=np.int64))
    if k > n:
        raise ValueError(
            f"categorical: number of samples without replacement ({k}) cannot exceed the "
            f"number of categories ({n})"
        )
    nb = len(bshape)
    lg = ls.broadcast_in_dim(lg, bshape + (n,), tuple(range(nb - get_aval(lg).ndim + 1, nb + 1)))
    g = le.add(gumbel(key, bshape + (n,), get_aval(lg).dtype), lg)
    io = ls.broadcasted_iota(dtypes.default_int(), bshape + (n,), nb)
    order = lr.sort([le.neg(g), io], nb, num_keys=1)[1]
    top = lsl.slice_in_dim(order, 0, k, axis=nb)
    top = ls.transpose(top, (nb,) + tuple(range(nb)))
    return ls.reshape(top, shape)


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
            raise TypeError("permutation: x must be an integer or at least 1-dimensional")
        x, arr = int(_concrete_input(arr, "permutation", "a 0-d x")), None
    if arr is not None and independent and get_aval(arr).ndim > 1:
        bits = random_bits(key, get_aval(arr).shape)
        return lr.sort([bits, arr], canonicalize_axis(axis, get_aval(arr).ndim), num_keys=1)[1]
    n = int(x) if arr is None else get_aval(arr).shape[axis]
    k = random_bits(key, (n,))
    io = ls.iota(dtypes.default_int(), n)
    perm = lr.sort([k, io], 0, num_keys=1)[1]
    return perm if arr is None else take(arr, perm, axis=axis)


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

    arr = None if isinstance(a, (int, np.integer)) else asarray(a)
    n = int(a) if arr is None else get_aval(arr).shape[axis]
    shape = _shape(shape)
    m = int(np.prod(shape, dtype=np.int64))
    if p is None:
        if replace:
            idx = randint(key, shape, 0, n)
        else:
            if m > n:
                raise ValueError(
                    f"choice: cannot take a larger sample ({m}) than the "
                    f"population ({n}) when replace=False"
                )
            idx = ls.reshape(lsl.slice_in_dim(permutation(key, n), 0, m), shape)
    else:
        p = asarray(p)
        logp = ltr.log(astype(p, dtypes.default_float()))
        if replace:
            idx = categorical(key, logp, shape=shape)
        else:
            if m > n:
                raise ValueError("choice: sample larger than population with replace=False")
            g = le.add(gumbel(key, (n,), get_aval(logp).dtype), logp)
            io = ls.iota(dtypes.default_int(), n)
            order = lr.sort([le.neg(g), io], 0, num_keys=1)[1]
            idx = ls.reshape(lsl.slice_in_dim(order, 0, m), shape)
    return idx if arr is None else take(arr, idx, axis=axis)


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
    lo = float(np.nextafter(np.array(-1.0, dt), np.array(0.0, dt)))
    u = uniform(_check_key(key, "laplace"), _shape(shape), dt, lo, 1.0)
    return le.mul(le.sign(u), le.neg(ltr.log1p(le.neg(le.abs(u)))))


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
    tiny = float(np.finfo(dt).tiny)
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
