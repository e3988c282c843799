"""funcgrad.random: typed PRNG key arrays (``random.key``), as JAX's ``key<fry>`` arrays.

A typed key array holds its raw ``uint32`` key data (shape ``shape + (2,)`` for threefry2x32)
and shows the key shape: ``fg.random.key(0).shape == ()``. It is a pytree node whose one child
is that data, so it passes through ``jit``, ``vmap``, ``scan`` and ``grad`` unchanged (the
transformations see the data; ``vmap`` maps its leading axes, the key axes).
"""

from __future__ import annotations

import numpy as np

from funcgrad._src.dtypes import extended, prng_key


class PRNGImpl:
    """A PRNG implementation: its name, the tag in its dtype's name, and the key data shape.

    Args:
        name: the implementation's name (``"threefry2x32"``).
        tag: the short tag printed in the key dtype (``"fry"`` gives ``key<fry>``).
        key_shape: the shape of one key's ``uint32`` data.
    """

    def __init__(self, name: str, tag: str, key_shape: tuple):
        self.name, self.tag, self.key_shape = name, tag, key_shape

    def __repr__(self) -> str:
        return f"PRNGImpl({self.name!r})"

    __str__ = lambda self: self.name


THREEFRY = PRNGImpl("threefry2x32", "fry", (2,))
_IMPLS = {"threefry2x32": THREEFRY}
_UNSUPPORTED = ("rbg", "unsafe_rbg")


def resolve_impl(impl) -> PRNGImpl:
    """The PRNGImpl named by ``impl`` (``None``, a name, a PRNGImpl or a key dtype)."""
    if impl is None:
        return THREEFRY
    if isinstance(impl, PRNGImpl):
        return impl
    if isinstance(impl, KeyDType):
        return impl.impl
    if isinstance(impl, str):
        if impl in _IMPLS:
            return _IMPLS[impl]
        if impl in _UNSUPPORTED:
            raise NotImplementedError(
                f"PRNG implementation {impl!r} is not implemented in funcgrad; supported: "
                + ", ".join(repr(k) for k in _IMPLS)
            )
        raise ValueError(
            f'unrecognized PRNG implementation "{impl}". Did you mean one of: '
            + ", ".join(f'"{k}"' for k in (*_IMPLS, *_UNSUPPORTED))
            + "?"
        )
    raise TypeError(f"unrecognized type {type(impl)} for specifying PRNG implementation.")


class KeyDType:
    """The dtype of a typed key array; prints as JAX's (``key<fry>``).

    Args:
        impl: the PRNG implementation (a PRNGImpl).
    """

    type = prng_key
    kind = "V"

    def __init__(self, impl: PRNGImpl):
        self.impl = impl

    @property
    def name(self) -> str:
        """The dtype's name, ``key<tag>``."""
        return f"key<{self.impl.tag}>"

    itemsize = property(lambda self: 4 * int(np.prod(self.impl.key_shape)))
    __repr__ = __str__ = lambda self: self.name
    __eq__ = lambda self, o: isinstance(o, KeyDType) and o.impl is self.impl
    __hash__ = lambda self: hash(("key", self.impl.name))


def is_key_dtype(dt) -> bool:
    return isinstance(dt, KeyDType)


class PRNGKeyArray:
    """An array of typed PRNG keys (``random.key``, ``split`` of a typed key).

    Args:
        impl: the PRNG implementation.
        data: the raw ``uint32`` key data, shape ``keys_shape + impl.key_shape`` (an Array or
            a tracer; unflattening a pytree may put anything here).
    """

    __slots__ = ("_impl", "_base")
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, impl: PRNGImpl, data):
        self._impl, self._base = impl, data

    dtype = property(lambda self: KeyDType(self._impl))
    shape = property(lambda self: tuple(self._base.shape[: -len(self._impl.key_shape)]))
    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape)))
    itemsize = property(lambda self: self.dtype.itemsize)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized key array")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d key array")
        return (self[i] for i in range(self.shape[0]))

    def __getitem__(self, idx):
        if not isinstance(idx, tuple):
            idx = (idx,)
        tail = (slice(None),) * len(self._impl.key_shape)
        return PRNGKeyArray(self._impl, self._base[idx + tail])

    def reshape(self, *shape):
        """The keys in a new shape (as ``Array.reshape``)."""
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = tuple(shape[0])
        shape = tuple(np.empty(self.shape, np.int8).reshape(shape).shape)
        return PRNGKeyArray(self._impl, self._base.reshape(shape + self._impl.key_shape))

    def ravel(self):
        """The keys as a 1-d key array."""
        return self.reshape(-1)

    flatten = ravel

    @property
    def T(self):  # noqa: N802 - as Array.T
        """The keys with their axes reversed."""
        nd, k = self.ndim, len(self._impl.key_shape)
        perm = tuple(reversed(range(nd))) + tuple(range(nd, nd + k))
        return PRNGKeyArray(self._impl, self._base.transpose(perm))

    def copy(self):
        """A copy of the keys (keys are immutable: the same data)."""
        return PRNGKeyArray(self._impl, self._base)

    def __bool__(self):
        raise TypeError("key array cannot be converted to boolean.")

    def __array__(self, *args, **kwargs):
        raise TypeError(
            "JAX-style typed PRNG key arrays cannot be converted to numpy arrays; use "
            "fg.random.key_data(keys) for their raw uint32 data"
        )

    def __eq__(self, other):
        return self._compare(other, "eq")

    def __ne__(self, other):
        return self._compare(other, "ne")

    def _compare(self, other, op):
        import funcgrad.numpy as fnp

        if not isinstance(other, PRNGKeyArray):
            return NotImplemented
        axes = tuple(range(-len(self._impl.key_shape), 0))
        same = fnp.all(self._base == other._base, axis=axes)
        return same if op == "eq" else ~same

    def __repr__(self) -> str:
        return f"Array({self.shape}, dtype={self.dtype.name}) overlaying:\n{self._base}"

    def __str__(self) -> str:
        return repr(self)


def _register():
    from funcgrad import tree_util as tu

    tu.register_pytree_node(
        PRNGKeyArray, lambda k: ((k._base,), k._impl), lambda impl, ch: PRNGKeyArray(impl, ch[0])
    )


_register()


def issubdtype(arg1, arg2) -> bool:
    """``numpy.issubdtype`` that also knows typed PRNG keys (as ``jax.dtypes.issubdtype``).

    Args:
        arg1: a dtype (a key dtype such as ``key(0).dtype`` included) or dtype-like.
        arg2: a dtype, dtype-like, or an abstract type (``prng_key``, ``extended``,
            ``numpy.floating``...).

    Returns:
        Whether ``arg1`` is ``arg2`` or a subtype of it.
    """
    if isinstance(arg1, KeyDType) or isinstance(arg2, KeyDType):
        if arg2 in (prng_key, extended):
            return isinstance(arg1, KeyDType)
        return arg1 == arg2
    if arg2 in (prng_key, extended) or arg1 in (prng_key, extended):
        return arg1 is arg2 or (arg1 is prng_key and arg2 is extended)
    from funcgrad._src.numpy.dtype_routines import issubdtype as np_issubdtype

    return np_issubdtype(arg1, arg2)
