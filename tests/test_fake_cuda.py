"""The fake CUDA driver (``tests/support/fake_cuda.py``) and, through it, the CUDA runtime,
compiler and control-flow runner end to end on this CPU machine.

Each test module that installs the fake restores the real driver state afterwards (other
modules, e.g. test_cuda_ptx.py, still see "no CUDA"). The first half checks the fake against
the real driver's contract (error names, range checks, contexts, modules, launches); the second
runs ``jit(f, backend="cuda")`` on the emulator against the CPU backend and numpy.
"""

from __future__ import annotations

import ctypes
import pathlib
import sys
import threading
import types

import numpy as np
import pytest
from funcgrad.backend.cuda import compiler, driver, ptx, runtime
from support import examples_kernels, fake_cuda

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

pytestmark = pytest.mark.usefixtures("strict_jit")

AXPB = next(e for e in examples_kernels.EXAMPLES if e.name == "axpb")


@pytest.fixture(scope="module")
def fake():
    with fake_cuda.installed() as f:
        yield f


def _alloc(nbytes: int) -> int:
    runtime.context()
    return driver.call_out("cuMemAlloc_v2", driver.CUdeviceptr, nbytes)


def _raises(code_name: str, call: str, *args):
    with pytest.raises(driver.CudaError) as info:
        driver.call(call, *args)
    code = fake_cuda.CODES[code_name]
    assert info.value.error_name == code_name and info.value.code == code
    assert str(info.value).startswith(
        f"{call} failed: {code_name} ({code}): {fake_cuda.ERRORS[code][1]}"
    )
    return info.value


# ---- the fake driver -----------------------------------------------------------------------------


def test_install_and_uninstall_restore_the_driver():
    available = driver.cuda_available()  # False here, True under FUNCGRAD_FAKE_CUDA=1
    before = (driver._lib, dict(driver._functions), driver._initialized, ptx.compile_ptx)
    alias = types.ModuleType("uses_compile_ptx")
    alias.compile_ptx = ptx.compile_ptx
    sys.modules[alias.__name__] = alias
    try:
        with fake_cuda.installed() as f:
            assert driver._lib is f and driver.cuda_available() and driver.device_count() == 1
            assert ptx.compile_ptx is alias.compile_ptx is fake_cuda.recording_compile_ptx
        after = (driver._lib, dict(driver._functions), driver._initialized, ptx.compile_ptx)
        assert after == before and alias.compile_ptx is before[3]
        assert driver.cuda_available() is available
    finally:
        del sys.modules[alias.__name__]


def test_the_device_is_an_sm90_h100(fake):
    dev = runtime.get_device(0)
    assert (dev.compute_capability, dev.arch, dev.multiprocessor_count) == ((9, 0), "sm_90", 132)
    assert (dev.max_threads_per_block, dev.max_shared_memory_per_block) == (1024, 48 << 10)
    assert dev.total_memory == 80 << 30 and dev.name.startswith("NVIDIA H100")
    assert driver.device_attribute(0, "warp_size") == 32
    assert [d.platform for d in fg.devices("cuda")] == ["cuda"]
    with pytest.raises(driver.CudaUnavailableError, match="no device 1"):
        runtime.get_device(1)
    _raises(
        "CUDA_ERROR_INVALID_VALUE", "cuDeviceGetAttribute", ctypes.byref(ctypes.c_int()), 123456, 0
    )


def test_bad_frees_and_copies_fail_like_the_driver(fake):
    ptr = _alloc(64)
    host = np.zeros(80, np.uint8)
    src = host.ctypes.data_as(ctypes.c_void_p)
    driver.call("cuMemcpyHtoD_v2", ptr, src, 64)
    driver.call("cuMemcpyHtoD_v2", ptr + 60, src, 0)  # zero bytes: nothing to check
    _raises("CUDA_ERROR_INVALID_VALUE", "cuMemcpyHtoD_v2", ptr, src, 65)  # one byte too many
    _raises("CUDA_ERROR_INVALID_VALUE", "cuMemcpyDtoH_v2", src, ptr + 32, 40)
    _raises("CUDA_ERROR_INVALID_VALUE", "cuMemcpyDtoD_v2", ptr, ptr + 1, 64)
    _raises("CUDA_ERROR_INVALID_VALUE", "cuMemsetD8_v2", ptr + 64, 0, 1)
    _raises("CUDA_ERROR_INVALID_VALUE", "cuMemFree_v2", ptr + 8)  # not an allocation's start
    driver.call("cuMemFree_v2", ptr)
    _raises("CUDA_ERROR_INVALID_VALUE", "cuMemFree_v2", ptr)  # freed twice
    _raises("CUDA_ERROR_INVALID_VALUE", "cuMemcpyHtoD_v2", ptr, src, 4)  # use after free
    _raises("CUDA_ERROR_INVALID_VALUE", "cuMemAlloc_v2", ctypes.byref(driver.CUdeviceptr()), 0)


def test_error_names_and_strings(fake):
    assert driver.error_name(700) == "CUDA_ERROR_ILLEGAL_ADDRESS"
    assert driver.error_string(218) == "a PTX JIT compilation failed"
    assert driver.error_name(0) == "CUDA_SUCCESS" and driver.error_string(0) == "no error"
    assert driver.error_name(12345) == "CUDA_ERROR_UNKNOWN"  # the driver refuses: its default


def test_fresh_device_memory_is_poisoned(fake):
    ptr = _alloc(16)
    out = np.zeros(4, np.float32)
    driver.call("cuMemcpyDtoH_v2", out.ctypes.data_as(ctypes.c_void_p), ptr, 16)
    assert np.isnan(out).all()  # 0xFF bytes: a read of memory nobody wrote shows
    driver.call("cuMemFree_v2", ptr)


def test_out_of_memory_and_the_allocators_retry(fake):
    with fake_cuda.installed(memory_limit=2 << 20) as small:
        alloc = runtime.CachingAllocator()
        alloc.free(alloc.malloc(1 << 20))  # 1 MiB cached
        big = alloc.malloc(3 << 19)  # a 2 MiB bucket: fits only once the cache is dropped
        assert small.bytes_in_use() == 2 << 20 and alloc.stats()["num_driver_allocs"] == 2
        _raises("CUDA_ERROR_OUT_OF_MEMORY", "cuMemAlloc_v2", ctypes.byref(driver.CUdeviceptr()), 1)
        alloc.free(big)
        alloc.empty_cache()
        assert small.bytes_in_use() == 0
    assert driver._lib is fake


def test_calls_need_init_and_a_current_context(fake):
    fresh = fake_cuda.FakeCuda()
    assert fresh.cuMemAlloc_v2(ctypes.byref(driver.CUdeviceptr()), 16) == 3  # NOT_INITIALIZED
    errors = []

    def other_thread():  # the runtime makes the context current per thread; a raw call doesn't
        try:
            driver.call("cuMemAlloc_v2", ctypes.byref(driver.CUdeviceptr()), 16)
        except driver.CudaError as e:
            errors.append(e.error_name)

    t = threading.Thread(target=other_thread)
    t.start()
    t.join()
    assert errors == ["CUDA_ERROR_INVALID_CONTEXT"]


def test_modules_kernels_and_launch_checks(fake):
    with pytest.raises(driver.CudaError, match="cuModuleLoadDataEx.*INVALID_PTX") as info:
        runtime.Module.from_ptx("garbage")
    assert "JIT error log:\nptxas" in str(info.value)
    module = runtime.Module.from_ptx(ptx.compile_ptx(examples_kernels.build_axpb()))
    with pytest.raises(driver.CudaError, match="cuModuleGetFunction") as info:
        module.get_function("no_such_kernel")
    assert info.value.error_name == "CUDA_ERROR_NOT_FOUND"
    kernel = module.get_function("axpb", AXPB.signature)
    x = runtime.DeviceBuffer.from_numpy(np.linspace(-1, 1, 37, dtype=np.float32))
    y = runtime.DeviceBuffer.empty((37,), np.float32)
    runtime.launch(kernel, 2, 32, [x, y, 2.0, 0.5, 37], sync=True)
    np.testing.assert_allclose(y.to_numpy(), 2 * x.to_numpy() + 0.5, rtol=1e-6)
    assert fake.launches[-1] == ("axpb", (2, 1, 1), (32, 1, 1))
    for grid, block in [(1, 2048), (1, (1, 1, 65)), ((1, 65536), 32)]:
        with pytest.raises(
            driver.CudaError, match="cuLaunchKernel failed: CUDA_ERROR_INVALID_VALUE"
        ):
            runtime.launch(kernel, grid, block, [x, y, 2.0, 0.5, 37])
    module.unload()
    with pytest.raises(driver.CudaError, match="CUDA_ERROR_INVALID_HANDLE"):
        runtime.launch(kernel, 1, 32, [x, y, 2.0, 0.5, 37])


@pytest.mark.skipif(fake_cuda.shutil.which("ptxas") is None, reason="needs ptxas on PATH")
def test_unrecorded_ptx_is_assembled_by_ptxas_but_cannot_run(fake):
    bad = ".version 7.0\n.target sm_80\n.address_size 64\n.visible .entry k() { bogus; }\n"
    with pytest.raises(driver.CudaError, match="INVALID_PTX") as info:
        runtime.Module.from_ptx(bad)
    assert "JIT error log" in str(info.value) and "bogus" in str(info.value)
    text = ptx.compile_ptx(examples_kernels.build_axpb()) + "// edited by hand\n"
    module = runtime.Module.from_ptx(text)  # assembles, but no IR was recorded for it
    with pytest.raises(driver.CudaError, match="CUDA_ERROR_NOT_SUPPORTED.*no IR to run"):
        module.launch("axpb", 1, 32, [0, 0, 1.0, 0.0, 0], signature=AXPB.signature)


def test_an_out_of_bounds_kernel_access_is_an_illegal_address(fake):
    module = runtime.Module.from_ptx(ptx.compile_ptx(examples_kernels.build_axpb()))
    x, y = _alloc(40), _alloc(40)  # 10 floats each, but the kernel is told 11
    with pytest.raises(driver.CudaError) as info:
        module.launch("axpb", 1, 32, [x, y, 1.0, 0.0, 11], signature=AXPB.signature)
    assert info.value.error_name == "CUDA_ERROR_ILLEGAL_ADDRESS"
    assert "an illegal memory access was encountered [fake_cuda: " in str(info.value)
    assert "axpb" in str(info.value)
    module.launch("axpb", 1, 32, [x, y, 1.0, 0.0, 10], signature=AXPB.signature)  # in range
    driver.call("cuMemFree_v2", x)
    driver.call("cuMemFree_v2", y)


def test_streams_and_events(fake):
    stream = runtime.Stream()
    data = np.arange(100, dtype=np.int32)
    buf = runtime.DeviceBuffer.from_numpy(data, stream=stream)
    start = runtime.Event().record(stream)
    buf.zero()
    end = runtime.Event().record(stream)
    assert end.elapsed_ms(start) >= 0.0
    assert not buf.to_numpy(stream=stream).any()
    _raises(
        "CUDA_ERROR_INVALID_HANDLE",
        "cuEventElapsedTime",
        ctypes.byref(ctypes.c_float()),
        start.handle,
        runtime.Event().handle,
    )  # never recorded
    handle = stream.handle
    stream.close()
    _raises("CUDA_ERROR_INVALID_HANDLE", "cuStreamSynchronize", handle)


# ---- jit(f, backend="cuda") on the emulator ------------------------------------------------------

SHAPES = [(0,), (1,), (7, 5), (3, 1, 4)]


def _chain(dtype):
    if dtype == np.bool_:
        return lambda x, y: (x & ~y) | (x ^ y) == fnp.logical_not(y)
    if np.dtype(dtype).kind == "i":
        return lambda x, y: (x * 3 + y) // 4 - fnp.maximum(x, y) % 5
    return lambda x, y: fnp.tanh(x) * y + fnp.exp(-x * x) - 1.5 / (1.0 + y * y)


def _data(rng, shape, dtype):
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if np.dtype(dtype).kind == "i":
        return rng.integers(-50, 50, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _close(got, want, tol=1e-5):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, want.shape)
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize(
    "dtype", [np.float32, np.float64, np.int32, np.bool_], ids=lambda d: np.dtype(d).name
)
def test_elementwise_chain(fake, dtype):
    f = _chain(dtype)
    with fg.config.override(enable_x64=True):
        for seed, shape in enumerate(SHAPES):
            rng = np.random.default_rng(seed)
            x, y = _data(rng, shape, dtype), _data(rng, shape, dtype)
            got = fg.jit(f, backend="cuda")(x, y)
            _close(got, fg.jit(f, backend="cpu")(x, y), 1e-6)
            _close(got, f(x, y), 1e-6)


def test_reductions(fake):
    rng = np.random.default_rng(3)
    for shape in [(5, 300), (37, 3), (1, 1), (0, 4)]:
        x = rng.standard_normal(shape).astype(np.float32)
        f = fg.jit(
            lambda x: (fnp.sum(x, 1), fnp.max(x, 0, initial=-np.inf), fnp.mean(x * x)),
            backend="cuda",
        )
        got = f(x)
        _close(got[0], x.sum(1), 1e-4)
        _close(got[1], x.max(0, initial=-np.inf))
        _close(got[2], np.mean(x * x) if x.size else np.float32(np.nan), 1e-5)
    i = rng.integers(-9, 9, (4, 70)).astype(np.int32)
    _close(fg.jit(lambda i: fnp.sum(i, 1), backend="cuda")(i), i.sum(1).astype(np.int32))


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_matmul(fake, dtype):
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((33, 17)).astype(dtype), rng.standard_normal((17, 20)).astype(dtype)
    got = fg.jit(fnp.matmul, backend="cuda")(a, b)
    want = (a.astype(np.float32) @ b.astype(np.float32)).astype(dtype)
    _close(got, want, 1e-4 if dtype == np.float32 else 2e-2)


def test_device_arrays(fake):
    dev = fg.devices("cuda")[0]
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    xd = fg.device_put(x, dev)
    assert xd.device == dev and xd.shape == (3, 4) and xd.dtype == np.float32
    np.testing.assert_array_equal(fg.device_get(xd), x)
    _close(fg.jit(lambda v: v * 2.0 + 1.0, backend="cuda")(xd), x * 2.0 + 1.0)
    exe = compiler.lower_jaxpr(fg.make_jaxpr(lambda v: fnp.sin(v))(x)).compile()
    (out,) = exe.call_device(xd)
    assert isinstance(out, runtime.DeviceBuffer)
    _close(out.to_numpy(), np.sin(x), 1e-6)
    with pytest.raises(TypeError, match="backend='cuda'"):
        xd + 1.0


def test_scalars_keep_their_shape(fake):
    """``np.ascontiguousarray`` makes 0-d arrays 1-d: a scalar input used to come back as
    shape (1,) (and broke ``cond``'s branch index, read back with ``int()``)."""
    assert runtime.DeviceBuffer.from_numpy(np.float32(3.0)).to_numpy().shape == ()
    xd = fg.device_put(np.float32(2.0), fg.devices("cuda")[0])
    assert xd.shape == () and np.asarray(xd).shape == ()
    out = fg.jit(lambda x: x * 2, backend="cuda")(xd)
    assert np.asarray(out).shape == () and float(np.asarray(out)) == 4.0
    _close(fg.jit(lambda v: v * 2.0, backend="cuda")(np.float32(3.0)), np.float32(6.0))
    f = fg.jit(
        lambda i, x: lax.switch(i, [lambda x: x, lambda x: fnp.cumsum(x)], x), backend="cuda"
    )
    for i in (0, 1, 5):
        x = np.arange(5, dtype=np.int32)
        _close(f(np.int32(i), x), x if i == 0 else np.cumsum(x, dtype=np.int32))


def test_scan_and_while_loop(fake):
    def scan_fn(c, xs):
        return lax.scan(lambda c, x: (c * 0.5 + x, fnp.sum(c * x)), c, xs)

    def while_fn(x):
        return lax.while_loop(lambda s: s[1] < 5, lambda s: (s[0] * 1.5 + 1.0, s[1] + 1), (x, 0))

    rng = np.random.default_rng(5)
    c, xs = (
        rng.standard_normal(6).astype(np.float32),
        rng.standard_normal((4, 6)).astype(np.float32),
    )
    for fn, args in [
        (scan_fn, (c, xs)),
        (while_fn, (c,)),
        (lambda x: lax.fori_loop(0, 3, lambda i, v: v * v - i, x), (c,)),
    ]:
        got, want = fg.jit(fn, backend="cuda")(*args), fg.jit(fn, backend="cpu")(*args)
        for g, w in zip(fg.tree_util.tree_leaves(got), fg.tree_util.tree_leaves(want), strict=True):
            _close(g, w, 1e-5)
    assert any("_s" in name for name, _, _ in fake.launches)  # sub-program kernels ran


def test_debug_callback(fake):
    seen = []

    def f(x):
        fg.debug.callback(lambda v: seen.append(np.array(v)), x * 2.0)
        y = lax.fori_loop(
            0,
            3,
            lambda i, v: fg.debug.callback(lambda w: seen.append(np.array(w)), v) or v + 1.0,
            x,
        )
        return y * 3.0

    x = np.arange(5, dtype=np.float32)
    got = fg.jit(f, backend="cuda")(x)
    _close(got, (x + 3.0) * 3.0)
    assert len(seen) == 4
    for value, want in zip(seen, [x * 2.0, x, x + 1.0, x + 2.0], strict=True):
        _close(value, want)


def test_train_cuda_example_matches_the_cpu(fake):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples"))
    try:
        import train_cuda
    finally:
        sys.path.pop(0)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((48, 64)).astype(np.float32)
    y = rng.integers(0, 10, 48).astype(np.int32)
    k1, k2 = fg.random.split(fg.random.key(0))
    params = {
        "w1": fg.random.normal(k1, (64, 32)) * 0.1,
        "b1": fnp.zeros(32),
        "w2": fg.random.normal(k2, (32, 10)) * 0.1,
        "b2": fnp.zeros(10),
    }
    cpu_step = fg.jit(train_cuda.step, backend="cpu")
    gpu_step = fg.jit(train_cuda.step, backend="cuda")
    p_cpu = p_gpu = params
    for _ in range(3):
        p_cpu, l_cpu = cpu_step(p_cpu, x, y)
        p_gpu, l_gpu = gpu_step(p_gpu, x, y)
        np.testing.assert_allclose(float(np.asarray(l_gpu)), float(np.asarray(l_cpu)), rtol=1e-5)
    for name in params:
        np.testing.assert_allclose(
            np.asarray(p_gpu[name]), np.asarray(p_cpu[name]), rtol=1e-4, atol=1e-5
        )
