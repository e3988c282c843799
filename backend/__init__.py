"""Compilation targets, found by name: ``get_target("cpu")``, ``get_target("cuda")``, ...

A target turns a closed jaxpr into an ``Executable``. The front end (``funcgrad._src.jit``)
asks this registry for the target of a call and never names one. Each target lives in its own
folder, whose ``target.py`` defines ``TARGET``, and is imported only when first asked for (so
``import funcgrad`` imports no llvmlite and touches no CUDA). Adding a target is one folder and
one line in ``_TARGETS``.

>>> from funcgrad.backend import get_target
>>> ref = get_target("ref")
>>> ref.name, ref.stages
('ref', ('ir-opt', 'kernels'))
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from funcgrad._src import dtypes

_TARGETS = {  # name -> the module defining TARGET
    "cpu": "funcgrad.backend.cpu.target",
    "cuda": "funcgrad.backend.cuda.target",
    "ref": "funcgrad.backend.ref.target",
}
_loaded: dict = {}


class FastCall(NamedTuple):
    """What the front end gives an executable's optional ``fast_entry``: the number of
    arguments, the constants (numpy arrays, passed first) and ``finish(*outputs)``, which
    turns the numpy outputs into the call's result."""

    n_in: int
    consts: tuple
    finish: Callable


class Executable(Protocol):
    """A compiled jaxpr. Optional extras: ``fast_entry(FastCall)`` returns ``run(values)``
    (numpy arguments in, ``finish(*outputs)`` or None out: None sends the call down the
    general path) or None; ``call_donating(values)`` (targets with the ``"donation"``
    capability) runs with the donated buffers, given up by the caller, written in place."""

    def __call__(self, *args) -> list: ...  # consts then arguments in; numpy outputs

    def as_text(self, stage: str) -> str: ...

    def memory_report(self) -> dict: ...  # bytes: "peak", "inputs", "outputs"


class Target(Protocol):
    name: str
    capabilities: frozenset  # what the front end may ask: "donation", "devices"
    stages: tuple  # the stages of ``lower(...).as_text(stage)`` (besides the jaxpr, "ir")
    rewrites: tuple  # jaxpr -> jaxpr rewrites run before the passes, in order

    def available(self) -> bool: ...  # whether it can run here (lowering always works)

    def lower(self, jaxpr, name: str) -> Any: ...  # something with ``as_text(stage)``

    def compile(
        self, jaxpr, name: str = "", donated: tuple = (), trace_ms: float | None = None
    ) -> Executable: ...

    # optional: release_memory() frees what no executable uses any more (clear_caches)


def _legalize_param(value):
    from .lower import bf16  # imported when the eager path first meets such a parameter

    return bf16.legalize_param(value)


dtypes.bf16_hooks["legalize_param"] = _legalize_param


def get_target(name: str) -> Target:
    """The target registered as ``name`` (imported on first use); a ValueError naming the
    registered targets for an unknown name."""
    target = _loaded.get(name)
    if target is None:
        if name not in _TARGETS:
            raise ValueError(
                f"jit: backend {name!r} is not available (registered backends: "
                f"{sorted(_TARGETS)}). Use backend='cpu' (native code on this machine), "
                f"'cuda' (NVIDIA GPUs) or 'ref' (the numpy reference interpreter)."
            )
        target = _loaded[name] = importlib.import_module(_TARGETS[name]).TARGET
    return target


def release_memory() -> None:
    """Free what the loaded targets still hold for code that is gone (``fg.clear_caches``):
    each target's optional ``release_memory()`` (machine code, device modules, allocator
    caches)."""
    for target in list(_loaded.values()):
        release = getattr(target, "release_memory", None)
        if release is not None:
            release()


def registered_targets() -> list[str]:
    """Every registered target name, whether or not it can run here."""
    return sorted(_TARGETS)


def available_targets() -> list[str]:
    """The registered targets that can run on this machine (``cuda`` only with a GPU)."""
    return [n for n in registered_targets() if get_target(n).available()]
