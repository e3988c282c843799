"""Many CPU devices: ``FUNCGRAD_NUM_CPU_DEVICES``, ``pmap``, ``shard_map``, meshes and shardings.

The collectives are checked against jax 0.10.2's results recorded for vmap
(tests/data/jax_collectives.json): pmap over N devices and shard_map over a mesh of N devices
give vmap's results. The module runs on at least 4 CPU devices (``num_cpu_devices`` is raised
to 4 if the environment asks for fewer); CI also runs it with ``FUNCGRAD_NUM_CPU_DEVICES=4``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from test_collectives import CASES, _args, _close, _dot_cts, _fn, _leaves

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.sharding import Mesh, NamedSharding, PartitionSpec, SingleDeviceSharding

P = PartitionSpec


@pytest.fixture(autouse=True, scope="module")
def four_devices():
    n = max(fg.config.num_cpu_devices, 4)
    with fg.config.override(num_cpu_devices=n):
        yield n


def _single_axis_cases(max_size):
    return sorted(
        n for n, c in CASES.items() if c["names"] == ["i"] and c["shapes"][0][0] <= max_size
    )


SINGLE = _single_axis_cases(4)


def _pmapped(case, jit=False):
    f = _fn(case)
    in_axes = tuple(case["in_axes"]) if case["in_axes"] else 0
    return fg.pmap(fg.jit(f) if jit else f, axis_name="i", in_axes=in_axes)


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("name", SINGLE)
def test_pmap_values_match_jax(name, jit):
    case = CASES[name]
    out = _pmapped(case, jit)(*_args(case))
    leaves = _leaves(out)
    assert [str(o.dtype) for o in leaves] == case["out_dtypes"]
    _close(leaves, case["out"], f"pmap {name}")


@pytest.mark.parametrize("name", sorted(n for n in SINGLE if "grad_inside" in CASES[n]))
def test_pmap_of_grad_matches_jax(name):
    """Each device differentiates its own function: the collectives' transposes run as host
    exchanges between the devices."""
    case = CASES[name]
    f = _fn(case)
    cts = [np.asarray(c, np.float32) for c in case["cts"]]

    def per_device(v, *cs):
        return fg.grad(lambda u: _dot_cts(f(u), cs))(v)

    got = fg.pmap(per_device, axis_name="i")(_args(case)[0], *cts)
    _close([np.asarray(got)], case["grad_inside"], f"pmap grad {name}")


@pytest.mark.parametrize("name", sorted(n for n in SINGLE if "grad" in CASES[n]))
def test_grad_of_pmap_matches_jax(name):
    case = CASES[name]
    args = _args(case)
    g = _pmapped(case)
    grad = fg.grad(lambda a0: _dot_cts(g(a0, *args[1:]), case["cts"]))(args[0])
    _close([np.asarray(grad)], case["grad"], f"grad of pmap {name}")


def _block_fn(f):
    """The per-example function applied to blocks with a leading axis of 1."""

    def g(*blocks):
        out = f(*[b[0] for b in blocks])
        return fg.tree_util.tree_map(lambda o: fnp.expand_dims(o, 0), out)

    return g


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("name", SINGLE)
def test_shard_map_values_match_jax(name, jit):
    case = CASES[name]
    n = case["shapes"][0][0]
    mesh = fg.make_mesh((n,), ("i",))
    specs = tuple(
        P("i") if k == 0 or not case["in_axes"] else P() for k in range(len(case["shapes"]))
    )
    args = _args(case)
    if case["in_axes"]:  # an unmapped argument: every device gets all of it, unexpanded
        g = lambda v, *rest: _block_fn(lambda u: _fn(case)(u, *rest))(v)
    else:
        g = _block_fn(_fn(case))
    sm = fg.shard_map(g, mesh=mesh, in_specs=specs, out_specs=P("i"))
    out = (fg.jit(sm) if jit else sm)(*args)  # jit: the mesh axis as a named vmap
    _close(_leaves(out), case["out"], f"shard_map {name}")


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c["names"] == ["i", "j"]))
def test_pmap_of_vmap_mixes_device_and_batch_axes(name):
    """pmap over 'i' (devices) of vmap over 'j': psum(x, ('i', 'j')) reduces over the batch
    axis in the compiled program and over the devices by exchange."""
    case = CASES[name]
    f = fg.pmap(fg.vmap(_fn(case), axis_name="j"), axis_name="i")
    _close(_leaves(f(*_args(case))), case["out"], f"pmap(vmap) {name}")


# ---- devices, meshes, shardings ------------------------------------------------------------------


def test_env_var_sets_the_cpu_device_count():
    code = "import funcgrad as fg; print(fg.device_count(), fg.devices()[-1])"
    env = dict(os.environ, FUNCGRAD_NUM_CPU_DEVICES="3")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["3", "CpuDevice(id=2)"], out.stderr


def test_config_setting_sets_the_device_count(four_devices):
    assert fg.device_count() == four_devices
    with fg.config.override(num_cpu_devices=2):
        assert [d.id for d in fg.devices()] == [0, 1]
    assert len(fg.local_devices()) == four_devices


def test_each_device_runs_in_its_own_thread():
    seen = set()
    lock = threading.Lock()

    def record(_):
        with lock:
            seen.add(threading.current_thread().name.split("_")[0])

    def f(v):
        fg.debug.callback(record, v)
        return lax.psum(v, "i")

    out = fg.pmap(f, axis_name="i")(fnp.arange(4.0))
    np.testing.assert_allclose(np.asarray(out), [6.0] * 4)
    assert seen == {f"funcgrad-cpu{i}" for i in range(4)}


def test_pmap_options():
    x = fnp.arange(8.0).reshape(4, 2)
    f = fg.pmap(lambda v, w: v * w, in_axes=(0, None), axis_name="i")
    np.testing.assert_allclose(np.asarray(f(x, fnp.full(2, 3.0))), np.asarray(x) * 3)
    g = fg.pmap(lambda v: v + 1, in_axes=1, out_axes=1)
    np.testing.assert_allclose(np.asarray(g(x.T)), np.asarray(x.T) + 1)
    h = fg.pmap(lambda v: (lax.psum(v, "i"), v), axis_name="i", out_axes=(None, 0))
    tot, same = h(x)
    np.testing.assert_allclose(np.asarray(tot), [12.0, 16.0])
    np.testing.assert_allclose(np.asarray(same), np.asarray(x))
    s = fg.pmap(lambda v, k: v * k, static_broadcasted_argnums=1)
    np.testing.assert_allclose(np.asarray(s(x, 2)), np.asarray(x) * 2)
    d = fg.pmap(lambda v: {"a": v, "b": [lax.axis_index("i")]}, axis_name="i")(x)
    np.testing.assert_array_equal(np.asarray(d["b"][0]), [0, 1, 2, 3])


def test_pmap_errors():
    with pytest.raises(ValueError, match="needs 9 devices"):
        fg.pmap(lambda v: v)(fnp.ones((9, 2)))
    with pytest.raises(NameError, match="unbound axis name: j"):
        fg.pmap(lambda v: lax.psum(v, "j"), axis_name="i")(fnp.ones((2, 2)))
    with pytest.raises(TypeError):
        fg.pmap(lambda v, k: v, static_broadcasted_argnums=1)(fnp.ones((2, 2)), [1])


def test_pmap_output_sharding():
    y = fg.pmap(lambda v: v * 2, axis_name="i")(fnp.ones((4, 3)))
    assert isinstance(y.sharding, NamedSharding)
    assert y.sharding.spec == P("i") and y.sharding.mesh.shape == {"i": 4}
    shards = y.addressable_shards
    assert [s.device.id for s in shards] == [0, 1, 2, 3]
    assert all(s.data.shape == (1, 3) for s in shards)


def test_device_put_with_a_named_sharding():
    mesh = fg.make_mesh((2, 2), ("a", "b"))
    x = fnp.arange(16.0).reshape(4, 4)
    y = fg.device_put(x, NamedSharding(mesh, P("a", "b")))
    assert y.sharding == NamedSharding(mesh, P("a", "b"))
    assert x.sharding == SingleDeviceSharding(fg.devices()[0])  # x itself is unchanged
    blocks = {s.device.id: np.asarray(s.data) for s in y.addressable_shards}
    np.testing.assert_array_equal(blocks[1], np.asarray(x)[:2, 2:])
    np.testing.assert_array_equal(blocks[2], np.asarray(x)[2:, :2])
    r = fg.device_put(x, NamedSharding(mesh, P(None, "b")))
    assert [s.replica_id for s in r.addressable_shards] == [0, 0, 1, 1]
    assert y.devices() == set(fg.devices()[:4])
    with pytest.raises(ValueError, match="divisible"):
        fg.device_put(fnp.ones(3), NamedSharding(mesh, P("a")))
    with pytest.raises(ValueError, match="does not fit"):
        NamedSharding(mesh, P("a", "a"))


def test_mesh_and_make_mesh():
    mesh = fg.make_mesh((2, 2), ("x", "y"))
    assert mesh.shape == {"x": 2, "y": 2} and mesh.size == 4
    np.testing.assert_array_equal(mesh.device_ids, [[0, 1], [2, 3]])
    assert mesh == Mesh(np.array(fg.devices()[:4], dtype=object).reshape(2, 2), ("x", "y"))
    with pytest.raises(ValueError, match="needs 64 devices"):
        fg.make_mesh((8, 8), ("x", "y"))
    assert repr(P("x", None)) == "PartitionSpec('x', None)"


# ---- shard_map on a 2-D mesh ---------------------------------------------------------------------


@pytest.fixture
def mesh22():
    return fg.make_mesh((2, 2), ("a", "b"))


def _sm(f, mesh, in_specs, out_specs):
    return fg.shard_map(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs)


def test_shard_map_collectives_on_a_2d_mesh(mesh22):
    z = np.arange(16.0, dtype=np.float32).reshape(4, 4)
    blocks = z.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3)  # [a, b] -> the (2, 2) block
    sa = _sm(lambda v: lax.psum(v, "a"), mesh22, P("a", "b"), P(None, "b"))(z)
    np.testing.assert_allclose(np.asarray(sa), np.concatenate(blocks.sum(0), axis=1))
    sab = _sm(lambda v: lax.psum(v, ("a", "b")), mesh22, P("a", "b"), P())(z)
    np.testing.assert_allclose(np.asarray(sab), blocks.sum((0, 1)))
    g = _sm(lambda v: lax.all_gather(v, "b", axis=1, tiled=True), mesh22, P("a", "b"), P("a"))
    np.testing.assert_allclose(np.asarray(g(z)), z)
    idx = _sm(lambda v: v * 0 + lax.axis_index(("a", "b")), mesh22, P("a", "b"), P("a", "b"))
    np.testing.assert_allclose(np.asarray(idx(z))[::2, ::2], [[0, 1], [2, 3]])
    swap = _sm(lambda v: lax.ppermute(v, "b", [(0, 1), (1, 0)]), mesh22, P("a", "b"), P("a", "b"))
    np.testing.assert_allclose(np.asarray(swap(z)), np.concatenate([z[:, 2:], z[:, :2]], 1))


def test_shard_map_data_parallel_gradient_matches_one_device(mesh22):
    """The data-parallel step: per-device grads averaged with pmean equal the full-batch grad."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 3)).astype(np.float32), rng.normal(size=(8,)).astype(np.float32)
    w = rng.normal(size=(3,)).astype(np.float32)
    loss = lambda w, x, y: fnp.mean((x @ w - y) ** 2)
    mesh = fg.make_mesh((4,), ("data",))

    def step(w, x, y):
        return lax.pmean(fg.grad(loss)(w, x, y), "data")

    g = fg.shard_map(step, mesh=mesh, in_specs=(P(), P("data"), P("data")), out_specs=P())
    np.testing.assert_allclose(
        np.asarray(g(w, x, y)), np.asarray(fg.grad(loss)(w, x, y)), rtol=1e-5
    )


def test_shard_map_decorator_and_experimental_path(mesh22):
    from funcgrad.experimental.shard_map import shard_map

    @shard_map(mesh=mesh22, in_specs=P("a"), out_specs=P())
    def total(v):
        return lax.psum(fnp.sum(v), "a")

    assert float(total(fnp.arange(4.0))) == 6.0
    assert float(fg.jit(total)(fnp.arange(4.0))) == 6.0  # traced: nested named vmaps


@pytest.mark.parametrize(
    "in_spec,out_spec",
    [
        (P("a", "b"), P(None, "b")),
        (P("a", "b"), P("a", "b")),
        (P(("b", "a")), P(("b", "a"))),
        (P(None, "a"), P()),
        (P(None, "a"), P("b")),
    ],
)
def test_shard_map_under_jit_and_grad_matches_the_threads(mesh22, in_spec, out_spec):
    def f(v):
        g = lax.all_gather(v, "a", axis=0, tiled=True)
        return fnp.tanh(v) * lax.psum(fnp.sum(g), "a") + lax.axis_index(("a", "b"))

    if out_spec == P():
        f = lambda v, f=f: lax.psum(fnp.sum(f(v)), ("a", "b"))  # the same on every device
    if out_spec == P("b"):
        f = lambda v, f=f: lax.psum(f(v), "a")
    z = np.random.default_rng(1).normal(size=(4, 4)).astype(np.float32)
    sm = _sm(f, mesh22, in_spec, out_spec)
    want = np.asarray(sm(z))
    np.testing.assert_allclose(np.asarray(fg.jit(sm)(z)), want, rtol=1e-6)
    ct = np.random.default_rng(2).normal(size=want.shape).astype(np.float32)
    grad = fg.grad(lambda a: fnp.sum(sm(a) * ct))(z)
    eps, e = 1e-2, np.zeros_like(z)
    e[1, 2] = eps
    fd = (np.sum(np.asarray(sm(z + e)) * ct) - np.sum(np.asarray(sm(z - e)) * ct)) / (2 * eps)
    np.testing.assert_allclose(np.asarray(grad)[1, 2], fd, rtol=2e-2, atol=2e-3)


def test_jitted_helpers_with_collectives_inside_pmap():
    """A jitted function with a collective, called twice per device: its equations are
    inlined and cut at the collective (fresh variables for each call)."""
    h = fg.jit(lambda v: v + lax.psum(v, "i"))
    f = lambda v: h(h(v)) * 2 + lax.pmax(fnp.asarray(2.0), "i")
    x = fnp.arange(4.0)
    want = fg.vmap(f, axis_name="i")(x)
    np.testing.assert_allclose(np.asarray(fg.pmap(f, axis_name="i")(x)), np.asarray(want))
    loop = lambda v: lax.fori_loop(0, 50, lambda k, c: c * 0.5 + lax.pmean(c, "i"), v)
    np.testing.assert_allclose(
        np.asarray(fg.pmap(loop, axis_name="i")(x)),
        np.asarray(fg.vmap(loop, axis_name="i")(x)),
        rtol=1e-6,
    )


def test_pmap_under_jit_runs_as_vmap():
    f = fg.pmap(lambda v: v / lax.psum(v, "i"), axis_name="i")
    x = fnp.arange(1.0, 5.0)
    np.testing.assert_allclose(np.asarray(fg.jit(f)(x)), np.asarray(f(x)), rtol=1e-6)
    np.testing.assert_allclose(
        np.asarray(fg.vmap(f)(fnp.stack([x, 2 * x]))), np.asarray(fnp.stack([f(x), f(x)]))
    )
