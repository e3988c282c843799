"""CUDA building blocks that need no GPU: PTX generation (checked by ptxas when installed),
lazy driver loading, the unavailable-CUDA errors, the caching allocator and argument packing."""

import ctypes
import re
import subprocess
import sys

import numpy as np
import pytest
from funcgrad.backend.cuda import driver, ptx, runtime
from support import examples_kernels

EXAMPLES = {e.name: e for e in examples_kernels.EXAMPLES}


@pytest.fixture(scope="module")
def lowered():
    return {name: ptx.compile_ptx(e.build()) for name, e in EXAMPLES.items()}


def _ptxas(text, arch="sm_90"):
    result = ptx.ptxas_check(text, arch)
    if result is None:
        pytest.skip("ptxas is not on PATH (install the CUDA toolkit to assemble generated PTX)")
    return result


# ---- PTX generation --------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_lowers_to_ptx_entry(lowered, name):
    text = lowered[name]
    assert re.search(rf"\.visible \.entry {name}\(", text), text[:2000]
    assert re.search(r"^\.target sm_80$", text, re.M)
    version = re.search(r"^\.version (\d+)\.(\d+)$", text, re.M)
    assert version and (int(version[1]), int(version[2])) >= (7, 0)  # PTX ISA 7.0: sm_80
    assert ".address_size 64" in text


@pytest.mark.parametrize("arch", ["sm_90", "sm_80"])
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_ptx_assembles(lowered, name, arch):
    ok, log = _ptxas(lowered[name], arch)
    assert ok, log
    assert f"Compiling entry function '{name}' for '{arch}'" in log


def test_kernel_annotation_uses_opaque_pointer():
    text = str(examples_kernels.build_axpb())
    assert "!nvvm.annotations = !{ !0 }" in text
    assert '!{ ptr @"axpb", !"kernel", i32 1 }' in text
    assert 'target triple = "nvptx64-nvidia-cuda"' in text


def test_patterns_reach_the_ptx(lowered):
    assert "shfl.sync.bfly" in lowered["row_sum"] and "bar.sync" in lowered["row_sum"]
    assert ".shared" in lowered["matmul_tiled"] and "bar.sync" in lowered["matmul_tiled"]
    assert "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32" in lowered["matmul_mma_f16"]
    assert "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32" in lowered["matmul_mma_bf16"]
    assert "%nctaid.x" in lowered["axpb"]  # grid-stride


def test_compile_for_sm90_target_line():
    text = ptx.compile_ptx(examples_kernels.build_axpb(), arch="sm_90")
    assert re.search(r"^\.target sm_90$", text, re.M)


def test_ptxas_reports_errors():
    bad = ".version 7.0\n.target sm_80\n.address_size 64\n.visible .entry k() { bogus; }"
    ok, log = _ptxas(bad)
    assert not ok and "error" in log.lower()


def test_int_warp_and_block_reduce_lower():
    module = ptx.new_kernel_module("reduce_i32")
    fn, b = ptx.new_kernel(module, "reduce_i32", [ptx.ptr, ptx.i32])
    total = ptx.block_reduce(b, ptx.warp_reduce(b, fn.args[1], "max"), "min")
    b.store(total, fn.args[0])
    b.ret_void()
    text = ptx.compile_ptx(module)
    assert ".entry reduce_i32" in text and "shfl.sync.bfly" in text
    with pytest.raises(TypeError, match="f32 and i32"):
        ptx.warp_reduce(b, ptx.f64(1.0))


# ---- lazy driver, unavailable CUDA -----------------------------------------------------------

_IMPORT_PROBE = """
import ctypes, sys
loads = []
real_cdll = ctypes.CDLL
class Spy(real_cdll):
    def __init__(self, name, *a, **k):
        loads.append(name)
        super().__init__(name, *a, **k)
ctypes.CDLL = Spy
import funcgrad.backend.cuda.driver as d, funcgrad.backend.cuda.runtime as r
import funcgrad.backend.cuda.ptx, funcgrad.backend.cuda.compiler, funcgrad.backend.cuda.target
assert d._lib is None, d._lib
assert not [n for n in loads if 'cuda' in str(n)], loads
print('ok')
"""


def test_importing_cuda_modules_opens_no_library():
    out = subprocess.run([sys.executable, "-c", _IMPORT_PROBE], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


@pytest.fixture
def no_libcuda(monkeypatch):
    """Pretend libcuda.so.1 is missing (also on a machine with a GPU)."""
    monkeypatch.setattr(driver, "LIBRARY_NAME", "libcuda-funcgrad-missing.so.1")
    monkeypatch.setattr(driver, "_lib", None)
    monkeypatch.setattr(driver, "_functions", {})
    monkeypatch.setattr(driver, "_initialized", False)
    runtime.get_device.cache_clear()
    yield
    runtime.get_device.cache_clear()


def test_cuda_available_is_a_bool_and_never_raises():
    assert isinstance(driver.cuda_available(), bool)


def test_cuda_unavailable_without_libcuda(no_libcuda):
    assert driver.cuda_available() is False


def test_asking_for_a_device_without_cuda_explains(no_libcuda):
    with pytest.raises(driver.CudaUnavailableError) as info:
        runtime.get_device(0)
    msg = str(info.value)
    assert msg.startswith("funcgrad was asked to use CUDA but it is not available")
    assert "not found" in msg and "FUNCGRAD_PLATFORM=cpu" in msg and "CPU backend" in msg


def test_cuda_error_message_names_call_and_error():
    err = driver.CudaError(
        "cuModuleGetFunction", 500, "CUDA_ERROR_NOT_FOUND", "named symbol not found", "detail"
    )
    assert str(err) == (
        "cuModuleGetFunction failed: CUDA_ERROR_NOT_FOUND (500): named symbol not found\ndetail"
    )
    assert (err.call, err.code, err.error_name) == (
        "cuModuleGetFunction",
        500,
        "CUDA_ERROR_NOT_FOUND",
    )


def test_signature_table_covers_the_driver_api():
    wanted = """cuInit cuDeviceGetCount cuDeviceGet cuDeviceGetName cuDeviceGetAttribute
    cuDeviceTotalMem_v2 cuDevicePrimaryCtxRetain cuCtxSetCurrent cuCtxSynchronize
    cuModuleLoadDataEx cuModuleGetFunction cuModuleUnload cuLaunchKernel cuMemAlloc_v2
    cuMemFree_v2 cuMemcpyHtoD_v2 cuMemcpyDtoH_v2 cuMemcpyDtoD_v2 cuMemsetD8_v2 cuStreamCreate
    cuStreamSynchronize cuStreamDestroy_v2 cuMemcpyHtoDAsync_v2 cuMemcpyDtoHAsync_v2
    cuEventCreate cuEventRecord cuEventSynchronize cuEventElapsedTime cuGetErrorName
    cuGetErrorString""".split()
    assert set(wanted) <= set(driver._SIGNATURES)
    assert len(driver._SIGNATURES["cuLaunchKernel"]) == 11


# ---- caching allocator (fake driver) ---------------------------------------------------------


class FakeDevice:
    def __init__(self, capacity=1 << 40):
        self.live, self.next, self.capacity = {}, 0x10000, capacity

    def malloc(self, n):
        if sum(self.live.values()) + n > self.capacity:
            raise driver.CudaError("cuMemAlloc_v2", 2, "CUDA_ERROR_OUT_OF_MEMORY", "oom")
        ptr, self.next = self.next, self.next + n
        self.live[ptr] = n
        return ptr

    def free(self, ptr):
        del self.live[ptr]


@pytest.fixture
def fake():
    dev = FakeDevice()
    return dev, runtime.CachingAllocator(dev.malloc, dev.free)


@pytest.mark.parametrize(
    "n, bucket",
    [
        (1, 512),
        (512, 512),
        (513, 1024),
        (1000, 1024),
        (1 << 20, 1 << 20),
        ((1 << 20) + 1, 2 << 20),
        (5 << 20, 6 << 20),
    ],
)
def test_bucket_sizes(n, bucket):
    assert runtime.bucket_size(n) == bucket


def test_allocator_reuses_freed_blocks(fake):
    dev, alloc = fake
    p = alloc.malloc(1000)
    alloc.free(p)
    assert alloc.stats()["bytes_cached"] == 1024
    assert alloc.malloc(900) == p  # same bucket: reused, no driver call
    s = alloc.stats()
    assert (s["num_driver_allocs"], s["num_reuses"], s["bytes_in_use"]) == (1, 1, 1024)
    assert alloc.malloc(900) != p and alloc.stats()["num_driver_allocs"] == 2


def test_allocator_stats_peak_and_empty_cache(fake):
    dev, alloc = fake
    ptrs = [alloc.malloc(4096) for _ in range(3)]
    for p in ptrs:
        alloc.free(p)
    s = alloc.stats()
    assert (s["bytes_in_use"], s["bytes_cached"], s["peak_bytes_in_use"]) == (0, 3 * 4096, 3 * 4096)
    alloc.empty_cache()
    assert alloc.stats()["bytes_cached"] == 0 and dev.live == {}


def test_allocator_zero_size_and_double_free(fake):
    _, alloc = fake
    assert alloc.malloc(0) == 0
    alloc.free(0)
    p = alloc.malloc(10)
    alloc.free(p)
    with pytest.raises(ValueError, match="already freed"):
        alloc.free(p)


def test_allocator_drops_cache_and_retries_when_out_of_memory():
    dev = FakeDevice(capacity=4 << 20)
    alloc = runtime.CachingAllocator(dev.malloc, dev.free)
    alloc.free(alloc.malloc(3 << 20))  # 4 MiB cached
    p = alloc.malloc(2 << 20)  # a different bucket: needs the cached block released
    assert p in dev.live and alloc.stats()["bytes_cached"] == 0


def test_device_buffer_returns_memory_to_its_allocator(fake):
    _, alloc = fake
    buf = runtime.DeviceBuffer(alloc.malloc(64), 64, alloc, (16,), np.float32)
    buf.free()
    buf.free()  # idempotent
    assert alloc.stats()["bytes_in_use"] == 0
    with pytest.raises(ValueError, match="shape and dtype"):
        runtime.DeviceBuffer(0, 0, None).to_numpy()


# ---- argument packing ------------------------------------------------------------------------


def test_pack_args_boxes_by_signature(fake):
    _, alloc = fake
    buf = runtime.DeviceBuffer(alloc.malloc(8), 8, alloc)
    params, boxes = runtime.pack_args([buf, 7, -3, 2.5], ("ptr", "i32", "i64", "f32"))
    assert [type(b) for b in boxes] == [
        ctypes.c_void_p,
        ctypes.c_int32,
        ctypes.c_int64,
        ctypes.c_float,
    ]
    read = [
        ctypes.cast(params[i], ctypes.POINTER(type(b))).contents.value for i, b in enumerate(boxes)
    ]
    assert read == [buf.ptr, 7, -3, 2.5]


def test_pack_args_errors(fake):
    with pytest.raises(TypeError, match=r"axpb takes 2 arguments"):
        runtime.pack_args([1], ("ptr", "i64"), "axpb")
    _, alloc = fake
    buf = runtime.DeviceBuffer(alloc.malloc(8), 8, alloc)
    with pytest.raises(TypeError, match="DeviceBuffer was passed for a 'f32'"):
        runtime.pack_args([buf], ("f32",))


@pytest.mark.parametrize(
    "dims, want", [(5, (5, 1, 1)), ((2, 3), (2, 3, 1)), ((1, 2, 3), (1, 2, 3))]
)
def test_dim3(dims, want):
    assert runtime._dim3(dims) == want


def test_dim3_rejects_bad_dims():
    with pytest.raises(ValueError, match="launch dimensions"):
        runtime._dim3((0, 1))


# ---- driver + runtime against a fake libcuda (host memory; runs `axpb` on the CPU) -----------

_FAKE_LIBCUDA = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef uint64_t dptr;
static int inited, allocs, frees;
int fake_count(int which) { return which ? frees : allocs; }
int cuInit(unsigned f) { inited = 1; return 0; }
int cuDeviceGetCount(int *n) { if (!inited) return 3; *n = 1; return 0; }
int cuDeviceGet(int *d, int i) { if (i != 0) return 101; *d = 0; return 0; }
int cuDeviceGetName(char *s, int len, int d) { snprintf(s, len, "Fake GPU"); return 0; }
int cuDeviceGetAttribute(int *v, int a, int d) {
  *v = a == 75 ? 9 : a == 76 ? 0 : a == 16 ? 132 : a == 1 ? 1024 : a == 8 ? 49152 : 0; return 0; }
int cuDeviceTotalMem_v2(size_t *b, int d) { *b = (size_t)80 << 30; return 0; }
int cuDevicePrimaryCtxRetain(void **c, int d) { *c = (void *)0x1234; return 0; }
int cuCtxSetCurrent(void *c) { return c == (void *)0x1234 ? 0 : 201; }
int cuCtxSynchronize(void) { return 0; }
int cuMemAlloc_v2(dptr *p, size_t n) { void *m = malloc(n); if (!m) return 2; *p = (dptr)m;
  allocs++; return 0; }
int cuMemFree_v2(dptr p) { free((void *)p); frees++; return 0; }
int cuMemcpyHtoD_v2(dptr d, const void *s, size_t n) { memcpy((void *)d, s, n); return 0; }
int cuMemcpyDtoH_v2(void *d, dptr s, size_t n) { memcpy(d, (void *)s, n); return 0; }
int cuMemcpyDtoD_v2(dptr d, dptr s, size_t n) { memcpy((void *)d, (void *)s, n); return 0; }
int cuMemcpyHtoDAsync_v2(dptr d, const void *s, size_t n, void *st) {
  return cuMemcpyHtoD_v2(d, s, n); }
int cuMemcpyDtoHAsync_v2(void *d, dptr s, size_t n, void *st) { return cuMemcpyDtoH_v2(d, s, n); }
int cuMemsetD8_v2(dptr d, unsigned char v, size_t n) { memset((void *)d, v, n); return 0; }
int cuStreamCreate(void **s, unsigned f) { *s = malloc(1); return 0; }
int cuStreamSynchronize(void *s) { return 0; }
int cuStreamDestroy_v2(void *s) { free(s); return 0; }
int cuEventCreate(void **e, unsigned f) { *e = malloc(1); return 0; }
int cuEventRecord(void *e, void *s) { return 0; }
int cuEventSynchronize(void *e) { return 0; }
int cuEventElapsedTime(float *ms, void *a, void *b) { *ms = 1.5f; return 0; }
int cuEventDestroy_v2(void *e) { free(e); return 0; }
int cuModuleLoadDataEx(void **m, const char *img, unsigned n, int *opt, void **val) {
  if (strstr(img, ".entry")) { *m = strdup(img); return 0; }
  for (unsigned i = 0; i < n; i++)
    if (opt[i] == 5) snprintf((char *)val[i], 64, "ptxas fatal: no .entry");
  return 218; }
int cuModuleUnload(void *m) { free(m); return 0; }
int cuModuleGetFunction(void **f, const char *m, const char *name) {
  char key[256]; snprintf(key, sizeof key, ".entry %s(", name);
  if (!strstr(m, key)) return 500; *f = strdup(name); return 0; }
int cuLaunchKernel(const char *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                   unsigned by, unsigned bz, unsigned shm, void *st, void **p, void **extra) {
  if ((uint64_t)bx * by * bz > 1024) return 1;
  if (strcmp(f, "axpb") == 0) {  /* y = a*x + b, as the example kernel computes it */
    float *x = *(float **)p[0], *y = *(float **)p[1], a = *(float *)p[2], b = *(float *)p[3];
    for (int64_t i = 0; i < *(int64_t *)p[4]; i++) y[i] = a * x[i] + b; }
  return 0; }
static const char *names[][3] = {{"0", "CUDA_SUCCESS", "no error"},
  {"1", "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
  {"218", "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
  {"500", "CUDA_ERROR_NOT_FOUND", "named symbol not found"}};
static int lookup(int e, int k, const char **s) {
  for (int i = 0; i < 4; i++) if (atoi(names[i][0]) == e) { *s = names[i][k]; return 0; }
  return 1; }
int cuGetErrorName(int e, const char **s) { return lookup(e, 1, s); }
int cuGetErrorString(int e, const char **s) { return lookup(e, 2, s); }
"""


@pytest.fixture(scope="module")
def fake_libcuda_path(tmp_path_factory):
    import shutil

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build the fake libcuda")
    tmp = tmp_path_factory.mktemp("fakecuda")
    (tmp / "fake.c").write_text(_FAKE_LIBCUDA)
    subprocess.run(
        [cc, "-shared", "-fPIC", "-O1", "-o", str(tmp / "libcuda.so.1"), str(tmp / "fake.c")],
        check=True,
    )
    return str(tmp / "libcuda.so.1")


@pytest.fixture
def fake_cuda(monkeypatch, fake_libcuda_path):
    """The driver and runtime wired to the fake libcuda; real state is restored afterwards."""
    for name, value in [
        ("LIBRARY_NAME", fake_libcuda_path),
        ("_lib", None),
        ("_functions", {}),
        ("_initialized", False),
    ]:
        monkeypatch.setattr(driver, name, value)
    monkeypatch.setattr(runtime, "_contexts", {})
    runtime.get_device.cache_clear()
    runtime.allocator.cache_clear()
    yield ctypes.CDLL(fake_libcuda_path)
    runtime.get_device.cache_clear()
    runtime.allocator.cache_clear()


def test_fake_driver_device_queries(fake_cuda):
    assert driver.cuda_available() and driver.device_count() == 1
    dev = runtime.get_device(0)
    assert (dev.name, dev.compute_capability, dev.arch) == ("Fake GPU", (9, 0), "sm_90")
    assert (dev.multiprocessor_count, dev.total_memory) == (132, 80 << 30)
    with pytest.raises(driver.CudaUnavailableError, match="no device 3"):
        runtime.get_device(3)


def test_fake_driver_buffers_and_allocator(fake_cuda):
    x = np.arange(10, dtype=np.float32).reshape(2, 5)
    buf = runtime.DeviceBuffer.from_numpy(x)
    np.testing.assert_array_equal(buf.to_numpy(), x)
    other = runtime.DeviceBuffer.empty((2, 5), np.float32)
    other.copy_from(buf)
    np.testing.assert_array_equal(other.to_numpy(shape=(10,)), x.ravel())
    other.zero()
    assert not other.to_numpy().any()
    ptr = buf.ptr
    del buf  # back to the cache, not to the driver
    assert runtime.DeviceBuffer.empty((3,), np.float64).ptr == ptr
    assert fake_cuda.fake_count(0) == 2 and fake_cuda.fake_count(1) == 0
    runtime.allocator().empty_cache()


def test_fake_driver_launch_packs_arguments(fake_cuda):
    module = runtime.Module.from_ptx(ptx.compile_ptx(examples_kernels.build_axpb()))
    kernel = module.get_function("axpb", EXAMPLES["axpb"].signature)
    x = np.linspace(-1, 1, 7, dtype=np.float32)
    xd, yd = runtime.DeviceBuffer.from_numpy(x), runtime.DeviceBuffer.empty((7,), np.float32)
    runtime.launch(kernel, 1, 32, [xd, yd, 2.0, 0.5, 7], sync=True)
    np.testing.assert_allclose(yd.to_numpy(), 2 * x + 0.5)
    with pytest.raises(driver.CudaError, match="cuLaunchKernel failed: CUDA_ERROR_INVALID_VALUE"):
        runtime.launch(kernel, 1, 2048, [xd, yd, 2.0, 0.5, 7])
    module.unload()


def test_fake_driver_errors_name_the_call(fake_cuda):
    module = runtime.Module.from_ptx(".visible .entry k() { ret; }")
    with pytest.raises(
        driver.CudaError,
        match="cuModuleGetFunction failed: CUDA_ERROR_NOT_FOUND "
        r"\(500\): named symbol not found",
    ):
        module.launch("no_such_kernel", 1, 32, [], signature=())
    with pytest.raises(driver.CudaError, match="cuModuleLoadDataEx.*INVALID_PTX") as info:
        runtime.Module.from_ptx("garbage")
    assert "JIT error log:\nptxas fatal: no .entry" in str(info.value)
    assert driver.error_name(12345) == "CUDA_ERROR_UNKNOWN"


def test_fake_driver_streams_and_events(fake_cuda):
    stream = runtime.Stream()
    x = np.ones(16, np.int32)
    buf = runtime.DeviceBuffer.from_numpy(x, stream=stream)
    np.testing.assert_array_equal(buf.to_numpy(stream=stream), x)
    start, end = runtime.Event().record(stream), runtime.Event().record(stream)
    assert end.elapsed_ms(start) == 1.5
    stream.close()
    stream.close()
