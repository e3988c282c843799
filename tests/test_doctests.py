"""The >>> examples in public docstrings run and print what they claim."""

import doctest
import importlib

import pytest

MODULES = [
    "funcgrad",
    "funcgrad._src.api",
    "funcgrad._src.reverse_mode",
    "funcgrad._src.forward_mode",
    "funcgrad._src.jacobians",
    "funcgrad._src.vectorization",
    "funcgrad._src.staging",
    "funcgrad._src.custom_derivatives",
    "funcgrad._src.remat",
    "funcgrad.random",
    "funcgrad._src.random.gamma",
    "funcgrad._src.random.discrete",
    "funcgrad.tree_util",
    "funcgrad._src.jit",
    "funcgrad.nn",
    "funcgrad.optim",
    "funcgrad.optim._alias",
    "funcgrad.optim._transforms",
    "funcgrad.optim._wrappers",
    "funcgrad.optim.schedules",
    "funcgrad.optim._base",
    "funcgrad.optim._extras",
    "funcgrad.optim._scalers",
    "funcgrad.optim._linesearch",
    "funcgrad.optim._loss_class",
    "funcgrad.optim.losses",
    "funcgrad.optim.tree_utils",
    "funcgrad.optim.contrib",
    "funcgrad.optim.projections",
    "funcgrad.nn.initializers",
    "funcgrad.nn.losses",
    "funcgrad.metrics",
    "funcgrad._src.classification_metrics",
    "funcgrad.data",
    "funcgrad._src.checkpoint",
    "funcgrad._src.tracker",
    "funcgrad._src.tracker_sinks",
    "funcgrad._src.dlpack",
    "funcgrad._src.state_dict",
    "funcgrad.scipy.special",
    "funcgrad._src.scipy.special",
    "funcgrad._src.numpy.linalg",
    "funcgrad._src.nn_functions",
    "funcgrad.test_util",
    "funcgrad._src.lax.control",
    "funcgrad._src.lax.loops",
    "funcgrad._src.lax.composites",
    "funcgrad._src.lax.composite_reductions",
    "funcgrad._src.lax.special",
    "funcgrad.debug",
    "funcgrad.backend",
    "funcgrad.backend.llvm.scalar",
    "funcgrad.backend.llvm.vmath",
    "funcgrad.backend.llvm.builders",
    "funcgrad.backend.cuda.compiler",
]


# modules whose examples need an optional package (skipped without it)
NEEDS = {"funcgrad._src.tracker_sinks": "tensorboardX"}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name in NEEDS:
        pytest.importorskip(NEEDS[name])
    try:
        mod = importlib.import_module(name)
    except ImportError as e:
        pytest.fail(f"{name} does not import: {e}")
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0, f"{res.failed} docstring example(s) failed in {name}"
