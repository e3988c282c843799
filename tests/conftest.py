"""Shared test fixtures.

``FUNCGRAD_FAKE_CUDA=1 python -m pytest -m cuda`` runs the GPU tests on this machine: the fake
CUDA driver of ``tests/support/fake_cuda.py`` (kernels run by an emulator) is installed before
the test modules are collected, so their ``skipif(not driver.cuda_available())`` marks see a device.
``FUNCGRAD_FAKE_CUDA_SCHEDULE=reverse`` runs the threads of a block in the other order.
"""

import os

import pytest


def pytest_configure(config):
    if os.environ.get("FUNCGRAD_FAKE_CUDA") == "1":
        from support import fake_cuda

        schedule = os.environ.get("FUNCGRAD_FAKE_CUDA_SCHEDULE", "forward")
        config._funcgrad_fake_cuda = fake_cuda.install(schedule=schedule)


def pytest_unconfigure(config):
    fake = getattr(config, "_funcgrad_fake_cuda", None)
    if fake is not None:
        from support import fake_cuda

        fake_cuda.uninstall(fake)


@pytest.fixture(scope="module")
def x64():
    """64-bit dtypes stay 64-bit in the module (they are 32-bit by default, as in JAX); a module
    uses it with ``pytestmark = pytest.mark.usefixtures("x64")``."""
    import funcgrad as fg

    with fg.config.override(enable_x64=True):
        yield


@pytest.fixture(scope="module")
def strict_jit():
    """Compiler errors raise instead of falling back to numpy evaluation (a module uses it with
    ``pytestmark = pytest.mark.usefixtures("strict_jit")``)."""
    from funcgrad.backend.cpu import executable

    old, executable.STRICT = executable.STRICT, True
    yield
    executable.STRICT = old
