"""funcgrad.random: keys (``key`` for typed keys, ``PRNGKey`` for raw ``uint32[2]`` ones),
``split``, ``fold_in`` and ``random_bits``, on JAX's threefry2x32 streams (both settings of
``jax_threefry_partitionable``; see ``threefry.py``)."""

from __future__ import annotations

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval, wrap
from funcgrad._src.core import Tracer
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy.conversion import asarray
from funcgrad._src.random import threefry as tf
from funcgrad._src.random.keys import PRNGKeyArray, resolve_impl
from funcgrad._src.random.params import _shape
from funcgrad._src.random.threefry import threefry_2x32  # noqa: F401 - re-exported

_U32 = dtypes.uint32


def _u32(v, shape=()):
    return ls.full(shape, v, _U32)


def _seed_data(seed):
    """The raw ``uint32[2]`` key of an integer seed, as JAX's ``threefry_seed``."""
    if isinstance(seed, PRNGKeyArray):
        raise TypeError("key accepts a scalar seed, but was given a PRNG key.")
    if isinstance(seed, Tracer):
        return _traced_seed(asarray(seed))
    if isinstance(seed, (bool, float)) or (
        not isinstance(seed, (int, np.integer)) and np.asarray(seed).dtype.kind not in "iu"
    ):
        raise TypeError(f"PRNG key seed must be an integer; got {seed!r}")
    if np.ndim(seed):
        raise TypeError(
            f"PRNG key seed must be a scalar; got an array of shape {np.shape(seed)} != (). "
            "Use fg.vmap for batching"
        )
    seed = int(np.asarray(seed))
    from funcgrad import config

    # as JAX: with x64 off the seed is a 32-bit integer (wrapped), so the high word is 0
    seed = seed % 2**64 if config.enable_x64 else seed % 2**32
    return wrap(np.array([(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF], dtype=np.uint32))


def _traced_seed(s):
    dt = get_aval(s).dtype
    if dt.kind not in "iu":
        raise TypeError(f"PRNG key seed must be an integer; got {dt}")
    if get_aval(s).shape:
        raise TypeError(f"PRNG key seed must be a scalar; got shape {get_aval(s).shape}")
    if dt.itemsize <= 4:
        lo, hi = le.convert_element_type(s, _U32), _u32(0)
    else:
        lo = le.convert_element_type(le.bitwise_and(s, asarray(0xFFFFFFFF, dt)), _U32)
        hi = le.convert_element_type(le.shift_right_logical(s, asarray(32, dt)), _U32)
    return lsl.concatenate([ls.reshape(hi, (1,)), ls.reshape(lo, (1,))], 0)


def PRNGKey(seed, *, impl=None) -> Array:  # noqa: F821
    """A raw PRNG key (``uint32[2]``) made from an integer seed, as JAX's ``PRNGKey``.

    The key is ``[high 32 bits, low 32 bits]`` of the seed as a 64-bit integer with x64 on,
    or ``[0, seed mod 2**32]`` with it off. ``key(seed)`` makes the typed key with the same
    data (``key_data(key(s))`` equals ``PRNGKey(s)``); every sampler accepts both kinds.

    Args:
        seed: a Python or numpy integer, an integer array scalar, or a traced integer
            (under ``jit``/``vmap``); negative seeds wrap modulo ``2**64`` (``2**32``).
        impl: the PRNG implementation: ``None`` or ``"threefry2x32"`` (the only one).

    Returns:
        The key, a ``uint32[2]`` array.

    Raises:
        TypeError: if ``seed`` is not an integer scalar (bools and floats included).
        NotImplementedError: for ``impl="rbg"`` or ``"unsafe_rbg"``.
    """
    resolve_impl(impl)
    return _seed_data(seed)


def key(seed, *, impl=None, dtype=None):
    """A typed PRNG key (shape ``()``, dtype ``key<fry>``) made from an integer seed.

    Args:
        seed: a Python or numpy integer, an integer array scalar, or a traced integer.
        impl: the PRNG implementation: ``None`` or ``"threefry2x32"`` (the only one).
        dtype: alternatively, a key dtype (``key(0).dtype``); not together with ``impl``.

    Returns:
        A typed key array of shape ``()`` whose ``key_data`` is ``PRNGKey(seed)``.

    Raises:
        TypeError: if ``seed`` is not an integer scalar.
        ValueError: if both ``impl`` and ``dtype`` are given, or ``impl`` is unknown.
        NotImplementedError: for ``impl="rbg"`` or ``"unsafe_rbg"``.

    >>> import funcgrad as fg
    >>> k = fg.random.key(0)
    >>> k.shape, k.dtype
    ((), key<fry>)
    """
    if dtype is not None:
        if impl is not None:
            raise ValueError("Cannot specify both `impl` and `dtype` arguments to key")
        impl = dtype
    return PRNGKeyArray(resolve_impl(impl), _seed_data(seed))


def _unwrap(key, fname, allow_batched=False):
    """``(raw uint32 key data, whether key was typed)``; raises for anything but a key."""
    if isinstance(key, PRNGKeyArray):
        raw, typed = key._base, True
    else:
        raw, typed = asarray(key), False
        a = get_aval(raw)
        if a.dtype != _U32 or a.shape[-1:] != (2,):
            raise TypeError(
                f"{fname} expects a PRNG key (fg.random.key(seed), or a uint32[2] raw key from "
                f"fg.random.PRNGKey(seed)), got {a.str_short()}"
            )
    if not allow_batched and get_aval(raw).shape != (2,):
        shape = get_aval(raw).shape[:-1]
        raise ValueError(
            f"{fname} accepts a single key, but was given a key array of shape {shape} != (). "
            "Use fg.vmap for batching."
        )
    return raw, typed


def _check_key(key, fname):
    """The raw ``uint32[2]`` data of a single key (typed or raw)."""
    return _unwrap(key, fname)[0]


def _rewrap(raw, typed):
    return PRNGKeyArray(resolve_impl(None), raw) if typed else raw


def key_data(keys):
    """The raw ``uint32`` data of PRNG keys (a raw key is returned as it is).

    Args:
        keys: a typed key array of any shape, or raw ``uint32[..., 2]`` keys.

    Returns:
        A ``uint32`` array of shape ``keys.shape + (2,)``.

    Raises:
        TypeError: if ``keys`` is neither.
    """
    return _unwrap(keys, "key_data", allow_batched=True)[0]


def wrap_key_data(data, *, impl=None, dtype=None):
    """Typed PRNG keys from raw key data (the inverse of ``key_data``).

    Args:
        data: ``uint32`` array_like of shape ``(..., 2)``.
        impl: the PRNG implementation: ``None`` or ``"threefry2x32"``.
        dtype: alternatively, a key dtype; not together with ``impl``.

    Returns:
        A typed key array of shape ``data.shape[:-1]``.

    Raises:
        TypeError: if ``data`` is a typed key array, not ``uint32``, or its last axis is not 2.
        ValueError: if both ``impl`` and ``dtype`` are given.
    """
    if dtype is not None:
        if impl is not None:
            raise ValueError("Cannot specify both `impl` and `dtype` arguments to wrap_key_data")
        impl = dtype
    if isinstance(data, PRNGKeyArray):
        raise TypeError("wrap_key_data accepts only raw uint32 key data, got a typed key array")
    raw = asarray(data)
    a = get_aval(raw)
    if a.dtype != _U32 or a.shape[-1:] != (2,):
        raise TypeError(f"wrap_key_data expects uint32 data of shape (..., 2), got {a.str_short()}")
    return PRNGKeyArray(resolve_impl(impl), raw)


def key_impl(keys):
    """The name of the PRNG implementation of ``keys`` (``"threefry2x32"``).

    Args:
        keys: typed or raw PRNG keys.

    Returns:
        The implementation's name, a ``str``.
    """
    _unwrap(keys, "key_impl", allow_batched=True)
    return keys._impl.name if isinstance(keys, PRNGKeyArray) else "threefry2x32"


def split(key, num=2):
    """New independent keys derived from ``key``.

    Args:
        key: a single PRNG key, typed (``key(seed)``) or raw (``uint32[2]``).
        num: how many keys: an int, or a tuple of ints for a batch shape (static under
            ``jit``).

    Returns:
        Keys of the same kind: typed keys of shape ``(num,)`` (``num`` for a tuple), or a
        ``uint32`` array of shape ``(num, 2)``.

    Raises:
        TypeError: if ``key`` is not a key.
        ValueError: if ``key`` is a batch of keys (``vmap`` over it).
    """
    raw, typed = _unwrap(key, "split")
    shape = (int(num),) if isinstance(num, (int, np.integer)) else tuple(int(n) for n in num)
    return _rewrap(tf.split_raw(raw, shape), typed)


def _keys(key, n):
    """``n`` raw subkeys of a raw key, as a list (``split`` then unstack)."""
    ks = tf.split_raw(key, (n,))
    if tf.is_concrete(ks):
        return [wrap(ks._value[i]) for i in range(n)]
    return [ls.reshape(lsl.slice_in_dim(ks, i, i + 1), (2,)) for i in range(n)]


def fold_in(key, data):
    """A new key from ``key`` and an integer (e.g. a step number).

    Args:
        key: a single PRNG key, typed or raw.
        data: an integer scalar (Python, numpy or traced), converted to ``uint32`` as JAX does.

    Returns:
        A new key of the same kind: ``threefry_2x32(key, [0, uint32(data)])``.

    Raises:
        TypeError: if ``key`` is not a key or ``data`` is not an integer scalar.
    """
    raw, typed = _unwrap(key, "fold_in")
    if np.ndim(data) if not isinstance(data, Tracer) else get_aval(data).shape:
        raise TypeError("fold_in accepts a scalar, but was given an array. Use fg.vmap.")
    d = asarray(data)
    if get_aval(d).dtype.kind not in "iub":
        raise TypeError(f"fold_in data must be an integer, got {get_aval(d).dtype}")
    if tf.is_concrete(d):
        d = wrap(np.asarray(int(d._value) % 2**32, np.uint32))
    else:
        d = le.convert_element_type(d, _U32)
    return _rewrap(tf.fold_in_raw(raw, d), typed)


def clone(key):
    """A copy of ``key``, for compatibility with JAX (keys are immutable arrays here).

    Args:
        key: a PRNG key.

    Returns:
        ``key`` itself.
    """
    return key


def random_bits(key, shape=(), bit_width=32):
    """Uniform random bits: unsigned integers of ``bit_width`` bits.

    Args:
        key: a single PRNG key, typed or raw.
        shape: the output shape, an int or a tuple of ints (static under ``jit``).
        bit_width: 8, 16, 32 or 64 (64 needs x64 on).

    Returns:
        An unsigned integer array of ``shape``: JAX's ``random_bits`` stream.

    Raises:
        TypeError: if ``key`` is not a key, ``shape`` has non-integer entries or
            ``bit_width`` is not 8, 16, 32 or 64.
    """
    raw = _check_key(key, "random_bits")
    shape = _shape(shape)
    if bit_width not in (8, 16, 32, 64):
        raise TypeError("requires 8-, 16-, 32- or 64-bit field width.")
    if int(np.prod(shape, dtype=np.int64)) == 0:
        return ls.full(shape, 0, tf._UINT[bit_width])
    return tf.random_bits_raw(raw, bit_width, shape)


def bits(key, shape=(), dtype=None):
    """Uniform random bits in an unsigned integer dtype, as ``jax.random.bits``.

    Args:
        key: a single PRNG key, typed or raw.
        shape: the output shape, an int or a tuple of ints (static under ``jit``).
        dtype: ``uint8``, ``uint16``, ``uint32`` (default) or ``uint64`` (with x64 off it
            becomes ``uint32``, as in JAX).

    Returns:
        An array of ``shape`` and ``dtype`` of uniform random bits.

    Raises:
        ValueError: if ``dtype`` is not an unsigned integer dtype.
    """
    dt = dtypes.canonicalize(dtype if dtype is not None else np.uint32)
    if dt.kind != "u":
        raise ValueError(f"dtype argument to `bits` must be an unsigned int dtype, got {dt}")
    return random_bits(key, shape, dt.itemsize * 8)
