"""An Array and every numpy view of it keep their values for their whole life (issue 17.1).

The CPU executable hands big outputs out of an ``OutputPool`` and writes donated buffers in
place; a buffer may be reused only when no Python object can reach its memory. Each test holds
one kind of view of an earlier result (``np.asarray``, a slice, ``reshape``, ``.T``, a pytree
leaf, a view of a donated argument) across later calls that would reuse the buffer, on the
fast path (positional Arrays) and the general path (keyword arguments).
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp

N = 1 << 19  # 2 MiB of float32: big enough for the output pool


def _double(x):
    return x * 2.0


VIEWS = {
    "asarray": lambda y: np.asarray(y),
    "slice": lambda y: np.asarray(y)[3:11],
    "reshape": lambda y: y.reshape(-1, 4),
    "numpy_reshape": lambda y: np.asarray(y).reshape(4, -1),
    "transpose": lambda y: np.asarray(y).reshape(-1, 8).T,
    "array_T": lambda y: y.reshape(-1, 8).T,
    "memoryview": lambda y: memoryview(np.asarray(y)[5:]),
    "strided": lambda y: np.asarray(y)[::7],
    "as_strided": lambda y: np.lib.stride_tricks.as_strided(np.asarray(y), (4,), (8,)),
}


@pytest.mark.parametrize("path", ["fast", "general"])
@pytest.mark.parametrize("kind", sorted(VIEWS))
def test_view_of_a_result_keeps_its_values(kind, path):
    f = fg.jit(_double)
    call = (lambda x: f(x)) if path == "fast" else (lambda x: f(x=x))
    x = fnp.ones(N)
    view = VIEWS[kind](call(x))  # the Array itself is dropped at once
    gc.collect()
    for k in range(3, 8):  # each call would take a free pool buffer
        call(x * float(k))
    assert np.all(np.asarray(view) == 2.0)


def test_pytree_leaf_views_keep_their_values():
    g = fg.jit(lambda x: {"a": x * 2.0, "b": (x * 3.0, x + 1.0)})
    x = fnp.ones(N)
    out = g(x)
    views = [np.asarray(out["a"])[1:], np.asarray(out["b"][0]).reshape(2, -1), out["b"][1]]
    del out
    for k in range(2, 6):
        g(x * float(k))
    assert [float(np.asarray(v).ravel()[0]) for v in views] == [2.0, 3.0, 2.0]
    assert all(np.all(np.asarray(v) == np.asarray(v).ravel()[0]) for v in views)


def test_result_held_as_array_keeps_its_values():
    f = fg.jit(_double)
    x = fnp.ones(N)
    ys = [f(x * float(k)) for k in range(1, 5)]  # more results alive than pool buffers
    assert [float(y[0]) for y in ys] == [2.0, 4.0, 6.0, 8.0]
    assert all(np.all(np.asarray(y) == 2.0 * (k + 1)) for k, y in enumerate(ys))


def test_view_of_a_donated_argument_keeps_its_values():
    g = fg.jit(lambda x: x + 1.0, donate_argnums=0)
    x = fnp.ones(N) * 1.0
    view = np.asarray(x)[2:]
    y = g(x)
    assert x.is_deleted() and float(y[0]) == 2.0
    assert np.all(view == 1.0)


def test_view_of_a_donated_pooled_result_keeps_its_values():
    f = fg.jit(_double)
    g = fg.jit(lambda x: x + 1.0, donate_argnums=0)
    base = fnp.ones(N)
    x = f(base)  # a pooled buffer
    view = np.asarray(x)[1:].reshape(-1, 1)
    y = g(x)
    for k in range(3, 7):
        f(base * float(k))
        y = g(y)
    assert np.all(view == 2.0)
    assert float(y[0]) == 7.0


def test_donation_without_views_is_still_in_place():
    g = fg.jit(lambda x: x + 1.0, donate_argnums=0)
    x = fnp.ones(N) * 1.0
    ptr = np.asarray(x).ctypes.data
    y = g(x)
    assert np.asarray(y).ctypes.data == ptr


def test_pool_still_reuses_buffers_nothing_refers_to():
    f = fg.jit(_double)
    x = fnp.ones(N)
    ptrs = {np.asarray(f(x)).ctypes.data for _ in range(12)}
    assert len(ptrs) <= 2


@pytest.mark.parametrize("n", [N, 8])  # pooled and plain outputs
def test_results_are_read_only(n):
    f = fg.jit(_double)
    y = f(fnp.ones(n))
    a = np.asarray(y)
    assert not a.flags.writeable and not a[1:].flags.writeable
    with pytest.raises(ValueError):
        a[0] = 5.0
    with pytest.raises(ValueError):
        a[1:][0] = 5.0
    with pytest.raises(ValueError):
        a[1:].setflags(write=True)  # a view cannot be made writable either
    assert float(y[0]) == 2.0


def test_pooled_result_cannot_be_made_writable():
    f = fg.jit(_double)
    a = np.asarray(f(fnp.ones(N)))
    with pytest.raises(ValueError):
        a.setflags(write=True)
