"""DLPack: Array.__dlpack__/__dlpack_device__ and fnp.from_dlpack, with numpy (always) and
PyTorch (when installed). Zero-copy where it is safe; never a writable view of an Array."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp


def buffer(x):
    return np.asarray(x)  # the Array's own numpy buffer (no copy)


class Legacy:
    """A consumer-side wrapper asking for a pre-1.0 (unversioned) capsule, which cannot say
    "read-only"."""

    def __init__(self, x, copy=None):
        self.x, self.copy = x, copy

    def __dlpack__(self, **kw):
        return self.x.__dlpack__(copy=self.copy)

    def __dlpack_device__(self):
        return self.x.__dlpack_device__()


# ---- export -----------------------------------------------------------------------------------


def test_numpy_gets_a_zero_copy_read_only_view():
    x = fnp.arange(6.0).reshape(2, 3)
    n = np.from_dlpack(x)
    assert np.shares_memory(n, buffer(x)) and n.shape == (2, 3) and n.dtype == np.float32
    assert not n.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        n[0, 0] = 5.0
    np.testing.assert_array_equal(x, np.arange(6.0).reshape(2, 3))


def test_a_legacy_consumer_gets_a_copy():
    x = fnp.array([1, 2, 3], dtype=fnp.int32)
    n = np.from_dlpack(Legacy(x))
    assert not np.shares_memory(n, buffer(x))  # whatever it does with it, x cannot change
    np.testing.assert_array_equal(n, [1, 2, 3])
    with pytest.raises(BufferError, match="copy=False"):
        np.from_dlpack(Legacy(x, copy=False))


def test_copy_true_gives_a_separate_buffer():
    x = fnp.ones(4)
    n = np.from_dlpack(x, copy=True)
    assert not np.shares_memory(n, buffer(x)) and n.flags.writeable


@pytest.mark.parametrize(
    "value",
    [
        np.array(3.5, np.float32),
        np.zeros((0, 3), np.float32),
        np.array([True, False]),
        np.arange(6, dtype=np.uint8).reshape(3, 2),
        np.array([1 + 2j, 3 - 1j], np.complex64),
        np.arange(12, dtype=np.int16).reshape(3, 4)[:, ::2],
    ],
    ids=["scalar", "empty", "bool", "uint8", "complex64", "strided"],
)
def test_round_trip_dtypes_and_shapes(value):
    x = fnp.from_dlpack(value)
    assert x.shape == value.shape and x.dtype == value.dtype
    back = np.from_dlpack(x)
    np.testing.assert_array_equal(back, value)
    assert np.shares_memory(back, value) or value.size == 0


def test_device_stream_and_deleted_arrays():
    x = fnp.ones(2)
    assert x.__dlpack_device__() == (1, 0)
    with pytest.raises(BufferError, match="stream"):
        x.__dlpack__(stream=1, max_version=(1, 0))
    with pytest.raises(BufferError, match="CPU"):
        x.__dlpack__(dl_device=(2, 0), max_version=(1, 0))
    y = fnp.ones(2) + 1
    y.delete()
    with pytest.raises(RuntimeError, match="deleted"):
        np.from_dlpack(y)


def test_bfloat16_export_is_refused_with_what_to_do():
    x = fnp.ones(3, dtype=fnp.bfloat16)
    with pytest.raises(BufferError, match=r"bfloat16.*astype\(funcgrad.numpy.float32\)"):
        np.from_dlpack(x)
    np.testing.assert_array_equal(np.from_dlpack(x.astype(fnp.float32)), np.ones(3))


# ---- import -----------------------------------------------------------------------------------


def test_from_dlpack_of_numpy_is_zero_copy_and_leaves_the_source_writable():
    a = np.arange(5, dtype=np.float32)
    x = fnp.from_dlpack(a)
    assert isinstance(x, fg.Array) and np.shares_memory(buffer(x), a)
    assert not buffer(x).flags.writeable and a.flags.writeable
    np.testing.assert_array_equal(x + 1, a + 1)  # an ordinary Array
    c = fnp.from_dlpack(a, copy=True)
    assert not np.shares_memory(buffer(c), a)
    assert fnp.from_dlpack(x) is x


def test_from_dlpack_converts_float64_unless_x64():
    a = np.linspace(0, 1, 4)  # float64
    x = fnp.from_dlpack(a)
    assert x.dtype == np.float32 and not np.shares_memory(buffer(x), a)
    with pytest.raises(ValueError, match="copy=False"):
        fnp.from_dlpack(a, copy=False)
    with fg.config.override(enable_x64=True):
        y = fnp.from_dlpack(a, copy=False)
        assert y.dtype == np.float64 and np.shares_memory(buffer(y), a)


def test_from_dlpack_errors():
    with pytest.raises(TypeError, match="__dlpack__"):
        fnp.from_dlpack([1.0, 2.0])

    class OnGpu:
        def __dlpack__(self, **kw):  # pragma: no cover - refused before
            raise AssertionError

        def __dlpack_device__(self):
            return (2, 0)  # kDLCUDA

    with pytest.raises(BufferError, match="host"):
        fnp.from_dlpack(OnGpu())
    with pytest.raises(ValueError, match="CPU only"):
        fnp.from_dlpack(np.ones(2), device="cuda")


# ---- PyTorch ----------------------------------------------------------------------------------


def test_torch_to_funcgrad_is_zero_copy():
    torch = pytest.importorskip("torch")
    t = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    x = fnp.from_dlpack(t)
    assert buffer(x).ctypes.data == t.data_ptr() and x.shape == (3, 4)
    np.testing.assert_array_equal(x, t.numpy())
    xt = fnp.from_dlpack(t.T)  # strided views keep their strides
    np.testing.assert_array_equal(xt, t.numpy().T)
    assert np.shares_memory(buffer(xt), t.numpy())


def test_funcgrad_to_torch_never_writes_into_the_array():
    torch = pytest.importorskip("torch")
    x = fnp.arange(4.0)
    t = torch.from_dlpack(x)  # torch ignores DLPack's read-only flag: funcgrad hands a copy
    t[0] = 100.0
    np.testing.assert_array_equal(x, [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(t.numpy(), [100.0, 1.0, 2.0, 3.0])
    with pytest.raises(BufferError, match="copy=False"):
        torch.from_dlpack(x, copy=False)


def test_torch_bfloat16_imports_exactly():
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.5, -2.0, 3.140625, 1e-3], dtype=torch.bfloat16)
    x = fnp.from_dlpack(t)
    assert x.dtype == fnp.bfloat16
    np.testing.assert_array_equal(np.asarray(x.astype(fnp.float32)), t.float().numpy())
