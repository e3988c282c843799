"""Runs the example kernels on a real GPU and compares with numpy. Skipped without one."""

import numpy as np
import pytest
from funcgrad.backend.cuda import driver, ptx, runtime
from support import examples_kernels

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not driver.cuda_available(), reason="needs an NVIDIA GPU and the CUDA driver (libcuda.so.1)"
    ),
]

EXAMPLES = {e.name: e for e in examples_kernels.EXAMPLES}
cdiv = lambda a, b: -(-a // b)  # noqa: E731


@pytest.fixture(scope="module")
def device():
    return runtime.get_device(0)


@pytest.fixture(scope="module")
def load(device):
    """name -> Kernel, compiled for sm_80 (runs on every sm_80+ GPU) or the device's own arch."""
    arch = "sm_80" if device.compute_capability >= (8, 0) else device.arch
    modules = {}

    def get(name):
        if name not in modules:
            example = EXAMPLES[name]
            modules[name] = runtime.Module.from_ptx(ptx.compile_ptx(example.build(), arch))
        return modules[name].get_function(name, EXAMPLES[name].signature)

    return get


def to_dev(x):
    return runtime.DeviceBuffer.from_numpy(x)


def test_device_description(device):
    assert device.name and device.total_memory > 0 and device.multiprocessor_count > 0
    assert device.max_threads_per_block >= 1024 and device.arch.startswith("sm_")


@pytest.mark.parametrize("n, grid", [(1, 1), (1000, 4), (1_000_003, 120)])
def test_axpb(load, n, grid):
    x = np.random.default_rng(0).standard_normal(n, dtype=np.float32)
    xd, yd = to_dev(x), runtime.DeviceBuffer.empty((n,), np.float32)
    runtime.launch(load("axpb"), grid, 256, [xd, yd, 2.5, -1.0, n], sync=True)
    np.testing.assert_allclose(yd.to_numpy(), 2.5 * x - 1.0, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "rows, cols, grid, block",
    [(1, 1, 1, 32), (37, 1000, 37, 128), (300, 77, 16, 256), (5, 100_000, 5, 1024)],
)
def test_row_sum(load, rows, cols, grid, block):
    x = np.random.default_rng(1).standard_normal((rows, cols), dtype=np.float32)
    out = runtime.DeviceBuffer.empty((rows,), np.float32)
    runtime.launch(load("row_sum"), grid, block, [to_dev(x), out, rows, cols], sync=True)
    np.testing.assert_allclose(out.to_numpy(), x.sum(1, dtype=np.float64), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("M, N, K", [(1, 1, 1), (33, 47, 29), (128, 256, 64), (17, 5, 300)])
def test_matmul_tiled(load, M, N, K):
    rng = np.random.default_rng(2)
    a, b = (rng.standard_normal(s, dtype=np.float32) for s in ((M, K), (K, N)))
    c = runtime.DeviceBuffer.empty((M, N), np.float32)
    T = examples_kernels.TILE
    runtime.launch(
        load("matmul_tiled"),
        (cdiv(N, T), cdiv(M, T)),
        (T, T),
        [to_dev(a), to_dev(b), c, M, N, K],
        sync=True,
    )
    np.testing.assert_allclose(c.to_numpy(), a @ b, rtol=1e-4, atol=1e-4)


def _bf16_bits(x):
    """float32 -> bfloat16 bit patterns (truncation) and the float32 values they stand for."""
    bits = (np.ascontiguousarray(x, np.float32).view(np.uint32) >> 16).astype(np.uint16)
    return bits, (bits.astype(np.uint32) << 16).view(np.float32)


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
@pytest.mark.parametrize("M, N, K", [(16, 8, 16), (64, 40, 48), (30, 20, 24), (128, 128, 256)])
def test_matmul_mma(load, device, dtype, M, N, K):
    if device.compute_capability < (8, 0):
        pytest.skip("mma.sync m16n8k16 needs sm_80+")
    rng = np.random.default_rng(3)
    a, b = (rng.standard_normal(s).astype(np.float32) for s in ((M, K), (K, N)))
    if dtype == "f16":
        (a_dev, a_ref), (b_dev, b_ref) = [
            (x.astype(np.float16), x.astype(np.float16)) for x in (a, b)
        ]
    else:
        (a_dev, a_ref), (b_dev, b_ref) = _bf16_bits(a), _bf16_bits(b)
    c = runtime.DeviceBuffer.empty((M, N), np.float32)
    runtime.launch(
        load(f"matmul_mma_{dtype}"),
        (cdiv(N, 8), cdiv(M, 16)),
        32,
        [to_dev(a_dev), to_dev(b_dev), c, M, N, K],
        sync=True,
    )
    want = a_ref.astype(np.float64) @ b_ref.astype(np.float64)
    np.testing.assert_allclose(c.to_numpy(), want, rtol=1e-3, atol=1e-3)


def test_allocator_reuses_device_memory():
    alloc = runtime.allocator()
    buf = runtime.DeviceBuffer.empty((1000,), np.float32)
    ptr = buf.ptr
    before = alloc.stats()
    buf.free()
    again = runtime.DeviceBuffer.empty((999,), np.float32)  # same 4 KiB bucket
    after = alloc.stats()
    assert again.ptr == ptr and after["num_reuses"] == before["num_reuses"] + 1
    assert after["num_driver_allocs"] == before["num_driver_allocs"]
    assert after["peak_bytes_in_use"] >= after["bytes_in_use"] > 0
    again.free()
    alloc.empty_cache()
    assert alloc.stats()["bytes_cached"] == 0


def test_copies_memset_streams_and_events():
    x = np.arange(4096, dtype=np.float32)
    stream = runtime.Stream()
    a = runtime.DeviceBuffer.from_numpy(x, stream=stream)
    b = runtime.DeviceBuffer.empty(x.shape, x.dtype)
    start, end = runtime.Event().record(stream), runtime.Event()
    stream.synchronize()
    b.copy_from(a)
    np.testing.assert_array_equal(b.to_numpy(stream=stream), x)
    b.zero()
    end.record()
    assert end.elapsed_ms(start) >= 0.0
    np.testing.assert_array_equal(b.to_numpy(), np.zeros_like(x))
    stream.close()


def test_bad_kernel_name_raises_cuda_error(load):
    module = load("axpb").module
    with pytest.raises(driver.CudaError, match="cuModuleGetFunction") as info:
        module.launch("no_such_kernel", 1, 32, [], signature=())
    assert info.value.error_name == "CUDA_ERROR_NOT_FOUND"


def test_bad_ptx_raises_with_jit_log():
    bad = ".version 7.0\n.target sm_80\n.address_size 64\n.visible .entry k() { bogus; }\n"
    with pytest.raises(driver.CudaError, match="cuModuleLoadDataEx") as info:
        runtime.Module.from_ptx(bad)
    assert "JIT error log" in str(info.value)


def test_oversized_block_raises_cuda_error(load):
    with pytest.raises(driver.CudaError, match="cuLaunchKernel"):
        runtime.launch(load("axpb"), 1, 4096, [0, 0, 1.0, 0.0, 0])
