"""The JAX-style device API on the CPU, and the platform setting."""

import numpy as np
import pytest
from funcgrad.backend.cuda import driver

import funcgrad as fg
import funcgrad.numpy as fnp


def test_cpu_devices_and_default_backend():
    assert fg.default_backend() == "cpu"
    assert fg.devices() == fg.local_devices() == [fg.devices("cpu")[0]]
    assert fg.device_count() == 1 and fg.devices()[0].platform == "cpu"
    assert fnp.ones(2).device == fg.devices()[0]
    with pytest.raises(ValueError, match="unknown backend"):
        fg.devices("tpu")


def test_device_put_and_get_round_trip_pytrees():
    tree = {"a": np.arange(3.0), "b": [1.0, np.ones((2, 2), np.int32)]}
    placed = fg.device_put(tree)
    assert all(isinstance(x, fg.Array) for x in fg.tree.leaves(placed))
    assert placed["a"].dtype == np.float32  # canonicalised like any array
    back = fg.device_get(placed)
    assert isinstance(back["b"][1], np.ndarray)
    np.testing.assert_array_equal(back["b"][1], np.ones((2, 2)))
    assert fg.device_put(tree, fg.devices("cpu")[0])["a"].shape == (3,)


def test_platform_setting_selects_the_jit_backend():
    if driver.cuda_available():
        pytest.skip("a GPU is present: the cuda tests cover this")
    with fg.config.override(platform="cuda"):
        assert fg.default_backend() == "cuda"
        with pytest.raises(driver.CudaUnavailableError):
            fg.jit(lambda x: x + 1)(fnp.ones(2))  # never silently on the CPU
        with pytest.raises(driver.CudaUnavailableError):
            fg.device_put(fnp.ones(2))
