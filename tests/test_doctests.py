"""The >>> examples in public docstrings run and print what they claim."""

import doctest
import importlib

import pytest

MODULES = [
    "funcgrad",
    "funcgrad._src.api",
    "funcgrad.random",
    "funcgrad.tree_util",
    "funcgrad._src.jit",
    "funcgrad.nn",
    "funcgrad.optim",
    "funcgrad.optim._alias",
    "funcgrad.optim._transforms",
    "funcgrad.optim._wrappers",
    "funcgrad.optim.schedules",
    "funcgrad.nn.initializers",
    "funcgrad.nn.losses",
    "funcgrad.metrics",
    "funcgrad.data",
    "funcgrad._src.checkpoint",
    "funcgrad._src.tracker",
    "funcgrad.scipy.special",
    "funcgrad._src.nn_functions",
    "funcgrad.test_util",
    "funcgrad._src.lax_control",
    "funcgrad.debug",
    "funcgrad.backend.scalar",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    try:
        mod = importlib.import_module(name)
    except ImportError as e:
        pytest.fail(f"{name} does not import: {e}")
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0, f"{res.failed} docstring example(s) failed in {name}"
