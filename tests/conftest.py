"""Shared test fixtures."""

import pytest


@pytest.fixture(scope="module")
def strict_jit():
    """Compiler errors raise instead of falling back to numpy evaluation (a module uses it with
    ``pytestmark = pytest.mark.usefixtures("strict_jit")``)."""
    from funcgrad.backend.cpu import executable

    old, executable.STRICT = executable.STRICT, True
    yield
    executable.STRICT = old
