"""The jit cache: per function (shared by its wrappers), any callable, an LRU of bounded size,
freed with the function, and a recompilation warning that names what changed (issues 14.1,
17.3)."""

from __future__ import annotations

import functools
import gc
import warnings
import weakref

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.config import config


def _counted():
    calls = []

    def f(x, s=1.0):
        calls.append(1)
        return x * s + 1.0

    return f, calls


def _xs(n):
    return fnp.ones(n)


# ---- the cache belongs to the function ---------------------------------------------------------


def test_jit_twice_traces_once():
    f, calls = _counted()
    assert float(fg.jit(f)(1.0)) == 2.0
    assert float(fg.jit(f)(2.0)) == 3.0
    assert len(calls) == 1


def test_jit_twice_shares_the_fast_path():
    f, calls = _counted()
    x = _xs(4)
    fg.jit(f)(x)
    g = fg.jit(f)
    for _ in range(3):
        np.testing.assert_array_equal(g(x), np.full(4, 2.0, np.float32))
    assert len(calls) == 1 and g._cache_size() == 1


def test_different_options_do_not_share():
    f, calls = _counted()
    fg.jit(f)(1.0, 2.0)
    fg.jit(f, static_argnums=1)(1.0, 2.0)
    fg.jit(f, donate_argnums=0)(_xs(3), 2.0)
    assert len(calls) == 3


def test_clear_cache_of_one_wrapper_clears_the_function():
    f, calls = _counted()
    a, b = fg.jit(f), fg.jit(f)
    a(1.0)
    b.clear_cache()
    a(1.0)
    assert len(calls) == 2


def _executable_refs(jitted) -> list:
    return [weakref.ref(v[1]) for v in jitted._fc.exes.values()]


def test_dropped_function_frees_its_executables():
    f, _ = _counted()
    jf = fg.jit(f)
    jf(_xs(5))
    jf(_xs(6))
    refs = _executable_refs(jf)
    assert len(refs) == 2 and all(r() is not None for r in refs)
    del f, jf
    gc.collect()
    assert all(r() is None for r in refs)


def test_clear_caches_frees_executables_of_live_functions():
    f, calls = _counted()
    jf = fg.jit(f)
    jf(_xs(5))
    refs = _executable_refs(jf)
    fg.clear_caches()
    assert all(r() is None for r in refs)
    np.testing.assert_array_equal(jf(_xs(5)), np.full(5, 2.0, np.float32))
    assert len(calls) == 2


# ---- the LRU -------------------------------------------------------------------------------------


def test_lru_bounds_the_cache_and_evicted_entries_recompile():
    f, calls = _counted()
    jf = fg.jit(f)
    with config.override(jit_cache_size=4, recompile_warning_after=0):
        refs = []
        for n in range(1, 11):
            jf(_xs(n))
            refs.append(_executable_refs(jf)[-1])  # the newest
        assert jf._cache_size() == 4 and fg._src.jit_cache.lru_size() <= 4
        gc.collect()
        assert [r() is not None for r in refs] == [False] * 6 + [True] * 4  # evicted: freed
        assert len(calls) == 10
        jf(_xs(10))  # still cached
        assert len(calls) == 10
        np.testing.assert_array_equal(jf(_xs(1)), np.full(1, 2.0, np.float32))  # evicted
        assert len(calls) == 11 and jf._cache_size() == 4


@pytest.mark.parametrize("path", ["fast", "general"])
def test_lru_keeps_the_recently_used(path):
    f, calls = _counted()
    jf = fg.jit(f)
    call = (lambda x: jf(x)) if path == "fast" else (lambda x: jf(x=x))
    with config.override(jit_cache_size=3):
        for n in (1, 2, 3):
            call(_xs(n))
        call(_xs(1))  # used again: now the most recent
        call(_xs(4))  # evicts 2, the least recently used
        assert len(calls) == 4
        call(_xs(1))
        call(_xs(3))
        assert len(calls) == 4
        call(_xs(2))
        assert len(calls) == 5


def test_lru_is_shared_by_all_functions():
    f, f_calls = _counted()
    g, g_calls = _counted()
    jf, jg = fg.jit(f), fg.jit(g)
    with config.override(jit_cache_size=2):
        jf(_xs(1))
        jg(_xs(1))
        jg(_xs(2))  # evicts f's entry
        assert jf._cache_size() == 0 and jg._cache_size() == 2
        jf(_xs(1))
        assert len(f_calls) == 2 and len(g_calls) == 2


# ---- the recompilation warning -------------------------------------------------------------------


def _warnings_of(fn) -> list:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        fn()
    return [w for w in got if issubclass(w.category, UserWarning)]


def test_recompilation_warning_names_the_argument_and_the_shapes():
    def loss(params, x):
        return params["w"].sum() * x.sum()

    jf = fg.jit(loss)
    p = {"w": fnp.ones(3)}
    with config.override(recompile_warning_after=3):
        assert _warnings_of(lambda: [jf(p, _xs(3)) for _ in range(2)]) == []
        quiet = _warnings_of(lambda: [jf({"w": fnp.ones(n)}, _xs(n)) for n in (4, 5)])
        assert quiet == []  # 3 traces: not more than the limit
        (w,) = _warnings_of(lambda: jf({"w": fnp.ones(3)}, _xs(6)))
        loud = _warnings_of(lambda: [jf(p, _xs(n)) for n in (7, 8)])
    assert issubclass(w.category, fg._src.jit_cache.RecompilationWarning)
    msg = str(w.message)
    assert "jit(loss)" in msg and "4 times" in msg
    assert "argument 'x' (position 1) changed from f32[3] to f32[6]" in msg
    assert loud == []  # once per function


def test_recompilation_warning_names_a_pytree_leaf_and_static_values():
    def f(params, n):
        return params["w"] * n

    jf = fg.jit(f, static_argnums=1)
    with config.override(recompile_warning_after=1):
        jf({"w": fnp.ones(2)}, 3)
        (w,) = _warnings_of(lambda: jf({"w": fnp.ones(2)}, 4))
    assert "static argument 'n' (position 1) changed from 3 to 4" in str(w.message)
    jg = fg.jit(lambda params: params["w"] * 2.0)
    with config.override(recompile_warning_after=1):
        jg({"w": fnp.ones(2)})
        (w,) = _warnings_of(lambda: jg({"w": fnp.ones((2, 2), dtype=np.int32)}))
    assert "argument 'params' (position 0)['w'] changed from f32[2] to i32[2,2]" in str(w.message)


def test_recompilation_warning_can_be_turned_off():
    f, _ = _counted()
    jf = fg.jit(f)
    with config.override(recompile_warning_after=0):
        assert _warnings_of(lambda: [jf(_xs(n)) for n in range(1, 14)]) == []


def test_recompilation_warning_default_is_after_ten_traces():
    f, _ = _counted()
    jf = fg.jit(f)
    assert config.recompile_warning_after == 10
    assert _warnings_of(lambda: [jf(_xs(n)) for n in range(1, 11)]) == []
    assert len(_warnings_of(lambda: jf(_xs(11)))) == 1


# ---- any callable --------------------------------------------------------------------------------


def _scale(x, s=1.0, *, shift=0.0):
    return x * s + shift


class _Affine:
    def __init__(self, a):
        self.a = a
        self.calls = 0

    def __call__(self, x, b):
        self.calls += 1
        return x * self.a + b

    def method(self, x, n):
        self.calls += 1
        return x * self.a * n


class _SlotsCallable:  # cannot be weakly referenced: a cache of its own per wrapper
    __slots__ = ()

    def __call__(self, x):
        return x + 1.0


def test_jit_of_partial():
    jf = fg.jit(functools.partial(_scale, s=2.0))
    np.testing.assert_allclose(jf(_xs(3)), np.full(3, 2.0))
    np.testing.assert_allclose(jf(_xs(3), shift=1.0), np.full(3, 3.0))
    assert jf.__name__ == "_scale" and "_scale" in repr(jf) and jf.__qualname__ == "_scale"
    jg = fg.jit(functools.partial(_scale, s=3.0), static_argnames="shift")
    np.testing.assert_allclose(jg(_xs(2), shift=1.0), np.full(2, 4.0))
    np.testing.assert_allclose(jg(_xs(2), shift=2.0), np.full(2, 5.0))
    assert jg._cache_size() == 2


def test_jit_of_callable_object():
    obj = _Affine(3.0)
    jf = fg.jit(obj)
    assert jf.__name__ == "_Affine" and "_Affine" in repr(jf)
    np.testing.assert_allclose(jf(_xs(2), 1.0), np.full(2, 4.0))
    np.testing.assert_allclose(fg.jit(obj)(_xs(2), 2.0), np.full(2, 5.0))
    assert obj.calls == 1  # one cache for the object
    jd = fg.jit(obj, donate_argnums=0)
    x = _xs(4) * 1.0
    np.testing.assert_allclose(jd(x, 1.0), np.full(4, 4.0))
    assert x.is_deleted()


def test_jit_of_bound_method():
    obj = _Affine(2.0)
    jf = fg.jit(obj.method, static_argnums=1)
    assert jf.__name__ == "method"
    np.testing.assert_allclose(jf(_xs(2), 3), np.full(2, 6.0))
    np.testing.assert_allclose(fg.jit(obj.method, static_argnums=1)(_xs(2), 3), np.full(2, 6.0))
    assert obj.calls == 1  # the same object and function: one cache
    np.testing.assert_allclose(jf(_xs(2), 4), np.full(2, 8.0))
    assert obj.calls == 2
    other = _Affine(5.0)
    np.testing.assert_allclose(fg.jit(other.method, static_argnums=1)(_xs(2), 3), np.full(2, 15.0))
    jn = fg.jit(obj.method, static_argnames="n")
    np.testing.assert_allclose(jn(_xs(2), n=2), np.full(2, 4.0))


def test_bound_method_cache_goes_with_its_object():
    obj = _Affine(2.0)
    jf = fg.jit(obj.method, static_argnums=1)
    jf(_xs(2), 3)
    refs = _executable_refs(jf)
    del obj, jf
    gc.collect()
    assert refs and all(r() is None for r in refs)


def test_jit_of_unreferenceable_callable():
    obj = _SlotsCallable()
    jf = fg.jit(obj)
    assert jf.__name__ == "_SlotsCallable"
    for _ in range(2):
        np.testing.assert_allclose(jf(_xs(2)), np.full(2, 2.0))
    assert jf._cache_size() == 1
    refs = _executable_refs(jf)
    del jf
    gc.collect()
    assert all(r() is None for r in refs)


def test_jit_of_builtin_and_of_jitted():
    jf = fg.jit(fnp.sin)
    np.testing.assert_allclose(jf(_xs(2)), np.sin(np.ones(2)), rtol=1e-6)
    jj = fg.jit(fg.jit(_scale))
    np.testing.assert_allclose(jj(_xs(2), 2.0), np.full(2, 2.0))
    assert jj.__name__ == "_scale"


_TRANSFORMED = """
import gc, weakref
import funcgrad as fg, funcgrad.numpy as fnp
from funcgrad.backend.cpu.executable import Executable

def live():
    return [o for o in gc.get_objects() if type(o) is Executable]

f = fg.jit(lambda x: (fnp.sin(x) * 2.0).sum())
g, h, v = fg.jit(fg.grad(f)), fg.grad(f), fg.vmap(f)
for n in (2, 3):
    g(fnp.ones(n))
    h(fnp.ones(n))  # grad of a jitted call: its transformed jaxprs are compiled too
    v(fnp.ones((3, n)))
refs = [weakref.ref(o) for o in live()]
assert len(refs) >= 6, len(refs)
fg.clear_caches()
left = [r for r in refs if r() is not None]
assert left == [], len(left)
"""


@pytest.mark.xfail(
    strict=False,
    reason="known leak, issue 17 part 3 open: executables of grad/vmap-transformed jitted calls "
    "can stay reachable after clear_caches() (seen after the merge of the sixth session)",
)
def test_clear_caches_frees_executables_of_transformed_calls():
    # in a fresh process: the whole suite's other tests hold jitted functions of their own
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _TRANSFORMED], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
