"""The cases of ``tests/test_fuzz_inputs.py``: each runs in its own process (a crash or a hang
there fails one case, not the test run), draws its inputs from ``numpy.random.default_rng(seed)``
and raises on a wrong result; ``run`` prints ``OK`` at the end.

Classes covered (issue 21): unsupported dtypes eagerly and under jit, non-native byte order,
the float32 trigonometric range reduction, jvp/hessian with infinite or huge primals,
searchsorted with NaN, ``.at[].add`` on integers, ``take`` clip/wrap, ``matrix_power`` of
bool/int matrices, lax's strict dtypes, and the temporaries of killed checkpoint saves.
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

BAD_DTYPES = ["<U8", "S4", "O", "V4", "datetime64[s]", "timedelta64[ms]", [("a", "f4")]]


def _shape(rng):
    return tuple(int(n) for n in rng.integers(1, 5, rng.integers(0, 3)))


def _bad_array(rng):
    dt = np.dtype(BAD_DTYPES[rng.integers(len(BAD_DTYPES))])
    return np.zeros(_shape(rng), dt)


def _expect_type_error(f, *args):
    try:
        f(*args)
    except TypeError as e:
        assert "not supported" in str(e) or "funcgrad type" in str(e), e
        return
    raise AssertionError(f"no TypeError for {[getattr(a, 'dtype', a) for a in args]}")


def bad_dtype_eager(rng):
    entries = [fnp.asarray, fg.Array, lax.neg, fnp.sin, lambda v: fnp.add(v, 1)]
    entries += [lambda v: lax.top_k(np.ravel(v)[:1], 1), fg.vmap(lambda v: v * 2)]
    for _ in range(12):
        x = _bad_array(rng)
        _expect_type_error(entries[rng.integers(len(entries))], x)
    _expect_type_error(lax.top_k, [1.0, "a"], 2)


def bad_dtype_jit(rng):
    fns = [lambda v: v, lambda v: v * 2, lambda v: lax.top_k(fnp.ravel(v), 1), fnp.cos]
    for _ in range(12):
        x = _bad_array(rng)
        _expect_type_error(fg.jit(fns[rng.integers(len(fns))]), x)
    _expect_type_error(fg.jit(lambda: lax.top_k([1.0, "a"], 2)))
    _expect_type_error(fg.jit(lambda v: v), np.array(["a", "b"], "<U16"))


def byte_order(rng):
    for dt in rng.choice(["f4", "f8", "i4", "i2", "u2", "c8"], 4, replace=False):
        x = (rng.standard_normal(_shape(rng)) * 10).astype(">" + dt)
        want = x.astype("=" + dt) * 3
        for got in (fnp.asarray(x) * 3, fg.jit(lambda v: v * 3)(x), lax.mul(x, x * 0 + 3)):
            got = np.asarray(got)
            assert got.dtype.isnative
            np.testing.assert_allclose(got, want.astype(got.dtype), rtol=1e-6)


def trig_huge(rng):
    bits = rng.integers(0x47800000, 0x7F800000, 3000, dtype=np.uint32)  # 2**16 .. max
    x = bits.view(np.float32) * rng.choice(np.array([-1, 1], np.float32), 3000)
    bounds = {"sin": 1.5, "cos": 1.5, "tan": 3.0}
    for name, bound in bounds.items():
        got = np.asarray(fg.jit(getattr(fnp, name))(x)).astype(np.float64)
        ref = getattr(np, name)(x.astype(np.float64))
        ulp = np.abs(got - ref) / np.spacing(np.abs(ref.astype(np.float32)))
        assert ulp.max() <= bound, (name, x[ulp.argmax()], ulp.max())


def jvp_inf(rng):
    c = fnp.asarray(rng.uniform(0.5, 2, 3).astype(np.float32))
    fns = [lambda v: v * c, lambda v: c * v, lambda v: v / c, lambda v: fnp.dot(v, c) * c]
    x = rng.uniform(-1, 1, 3).astype(np.float32)
    x[rng.integers(3)] = np.inf * rng.choice([-1, 1])
    t = np.ones(3, np.float32)
    for f in fns:
        for tan in (fg.jvp(f, (x,), (t,))[1], fg.jit(lambda x, f=f: fg.jvp(f, (x,), (t,))[1])(x)):
            assert not np.isnan(np.asarray(tan)).any(), tan


def hessian_big(rng):
    x = (rng.uniform(1e37, 5e37, 2) * rng.choice([-1, 1], 2)).astype(np.float32)
    h = fg.jit(fg.hessian(lambda v: fnp.sum(v**3)))(x)
    np.testing.assert_allclose(np.diag(np.asarray(h)), 6 * x.astype(np.float64), rtol=1e-5)


def searchsorted_nan(rng):
    a = np.sort(rng.standard_normal(rng.integers(1, 8)).astype(np.float32))
    a[len(a) - rng.integers(0, len(a) + 1) :] = np.nan
    v = rng.standard_normal(6).astype(np.float32)
    v[rng.integers(0, 6, 3)] = np.nan
    for side in ("left", "right"):
        want = np.searchsorted(a, v, side=side)
        f = lambda a, v: fnp.searchsorted(a, v, side=side)  # noqa: B023
        for got in (f(a, v), fg.jit(f)(a, v)):
            np.testing.assert_array_equal(np.asarray(got), want)


def at_add_int(rng):
    x = rng.integers(-50, 50, 6).astype(np.int32)
    idx = rng.integers(0, 6, 4)
    upd = rng.uniform(-2, 2, 4).astype(np.float32)
    acc = x.astype(np.float32)
    np.add.at(acc, idx, upd)
    want = acc.astype(np.int32)  # JAX: add in float32, then cast (truncating)
    for got in (fnp.asarray(x).at[idx].add(upd), fg.jit(lambda x: x.at[idx].add(upd))(x)):
        np.testing.assert_array_equal(np.asarray(got), want)


def take_modes(rng):
    a = rng.standard_normal(5).astype(np.float32)
    idx = rng.integers(-12, 12, 8)
    for mode in ("clip", "wrap"):
        want = np.take(a, idx, mode=mode)
        f = lambda a, i: fnp.take(a, i, mode=mode)  # noqa: B023
        for got in (f(a, idx), fg.jit(f)(a, idx)):
            np.testing.assert_array_equal(np.asarray(got), want)


def matrix_power(rng):
    for m in (rng.integers(-2, 3, (3, 3)).astype(np.int32), rng.integers(0, 2, (3, 3)) > 0):
        n = int(rng.integers(0, 5))
        want = np.linalg.matrix_power(m, n)
        for got in (
            fnp.linalg.matrix_power(m, n),
            fg.jit(fnp.linalg.matrix_power, static_argnums=1)(m, n),
        ):
            assert np.asarray(got).dtype == want.dtype
            np.testing.assert_array_equal(np.asarray(got), want)


def lax_strict_dtypes(rng):
    dts = ["int32", "float32", "int8", "uint8", "bool"]
    i, j = rng.choice(len(dts), 2, replace=False)
    a, b = np.ones(3, dts[i]), np.ones(3, dts[j])
    dn = (((0,), (0,)), ((), ()))
    for f in (
        lambda a, b: lax.dot_general(a, b, dn),
        fg.jit(lambda a, b: lax.dot_general(a, b, dn)),
    ):
        try:
            f(a, b)
        except TypeError:
            continue
        raise AssertionError(f"dot_general({dts[i]}, {dts[j]}) did not raise")


def killed_save(rng):
    from funcgrad._src import checkpoint

    d = tempfile.mkdtemp()
    target = os.path.join(d, "c.npz")
    for _ in range(int(rng.integers(1, 3))):
        pid = os.fork()
        if pid == 0:  # a save killed mid-write
            checkpoint.atomic_write(target, lambda f: (f.write(b"half"), os._exit(9)))
        os.waitpid(pid, 0)
    temps = [n for n in os.listdir(d) if n.endswith(".tmp")]
    assert temps, "the killed save left no temporary"
    for n in temps:
        os.utime(os.path.join(d, n), (0, 0))  # older than the grace period
    checkpoint.save(target, {"w": np.ones(2, np.float32)})
    assert [n for n in os.listdir(d) if n.endswith(".tmp")] == []


CASES = {
    f.__name__: f
    for f in (
        bad_dtype_eager,
        bad_dtype_jit,
        byte_order,
        trig_huge,
        jvp_inf,
        hessian_big,
        searchsorted_nan,
        at_add_int,
        take_modes,
        matrix_power,
        lax_strict_dtypes,
        killed_save,
    )
}


def run(name: str, seed: int) -> None:
    CASES[name](np.random.default_rng(seed))
    print("OK", flush=True)


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]))
