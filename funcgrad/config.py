"""All of funcgrad's settings in one place.

Each setting has an environment variable (read once, at import), can be changed with
``config.update(name, value)`` and temporarily with ``with config.override(name=value):``.
Nothing else in funcgrad reads ``os.environ``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def _bool(s: str) -> bool:
    return s.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class _Setting:
    name: str
    env: str
    default: Any
    parse: Callable[[str], Any]
    help: str
    changes_code: bool  # part of the jit cache key
    jax_env: str = ""  # JAX's environment variable for the same setting, read too


_SETTINGS = [
    _Setting(
        "enable_x64",
        "FUNCGRAD_ENABLE_X64",
        False,
        _bool,
        "Allow 64-bit floats and ints (default: 32-bit, like JAX).",
        True,
    ),
    _Setting(
        "debug_nans",
        "FUNCGRAD_DEBUG_NANS",
        False,
        _bool,
        "Raise at the first operation that produces a NaN (names it and the source line).",
        True,
        "JAX_DEBUG_NANS",
    ),
    _Setting(
        "debug_infs",
        "FUNCGRAD_DEBUG_INFS",
        False,
        _bool,
        "Raise at the first operation that produces an inf (names it and the source line).",
        True,
        "JAX_DEBUG_INFS",
    ),
    _Setting(
        "platform",
        "FUNCGRAD_PLATFORM",
        "cpu",
        str,
        "Default backend for jit: 'cpu' or 'cuda'.",
        True,
    ),
    _Setting(
        "explain_cache_misses",
        "FUNCGRAD_EXPLAIN_CACHE_MISSES",
        False,
        _bool,
        "Log why a jit call had to retrace/recompile.",
        False,
    ),
    _Setting(
        "dump_dir",
        "FUNCGRAD_DUMP_DIR",
        "",
        str,
        "If set, jit writes every compilation stage to this folder.",
        False,
    ),
    _Setting(
        "compile_report",
        "FUNCGRAD_COMPILE_REPORT",
        False,
        _bool,
        "Print a per-function compile report (trace, passes, LLVM time).",
        False,
    ),
    _Setting(
        "disk_cache_dir",
        "FUNCGRAD_CACHE_DIR",
        "",
        str,
        "If set, compiled code is cached on disk in this (private) folder.",
        False,
    ),
    _Setting(
        "num_threads",
        "FUNCGRAD_NUM_THREADS",
        0,
        int,
        "Threads for large compiled kernels (0: all cores).",
        True,
    ),
    _Setting(
        "threefry_partitionable",
        "FUNCGRAD_THREEFRY_PARTITIONABLE",
        True,
        _bool,
        "random: JAX's partitionable threefry streams (JAX >= 0.5's default); off: the original.",
        True,
    ),
    _Setting(
        "log_compiles", "FUNCGRAD_LOG_COMPILES", False, _bool, "Log every jit compilation.", False
    ),
    _Setting(
        "jit_cache_size",
        "FUNCGRAD_JIT_CACHE_SIZE",
        4096,
        int,
        "Signatures the jit cache keeps, all functions together (least recently used evicted).",
        False,
    ),
    _Setting(
        "recompile_warning_after",
        "FUNCGRAD_RECOMPILE_WARNING_AFTER",
        10,
        int,
        "Warn once per function traced more often than this (0: never).",
        False,
    ),
    _Setting(
        "num_cpu_devices",
        "FUNCGRAD_NUM_CPU_DEVICES",
        1,
        int,
        "How many CPU devices fg.devices() lists (each with its own thread; pmap/shard_map).",
        False,
    ),
]


class Config:
    """Holds the current value of every setting (read them as attributes: ``config.enable_x64``).

    ``funcgrad.config`` is the one instance; each setting starts from its environment variable
    (read at import) or its default. Reading an unknown name raises ``AttributeError``.
    """

    def __init__(self) -> None:
        self._specs = {s.name: s for s in _SETTINGS}
        self._code_key = None
        self.generation = 0  # bumped on every change (jit's fast path keys on it)
        self._values = {}
        for s in _SETTINGS:
            raw = os.environ.get(s.env, os.environ.get(s.jax_env) if s.jax_env else None)
            self._values[s.name] = s.default if raw is None else s.parse(raw)
        self._changed()

    def _changed(self) -> None:
        self._code_key = None
        self.generation += 1
        # one plain attribute for the hot paths (eager ops check it on every call)
        self.__dict__["check_floats"] = bool(
            self._values["debug_nans"] or self._values["debug_infs"]
        )

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        raise AttributeError(
            f"funcgrad.config has no setting {name!r}; known settings: {sorted(values)}"
        )

    def update(self, name: str, value: Any) -> None:
        """Set a setting, e.g. ``config.update("enable_x64", True)``.

        Args:
          name: the setting's name; a ``jax_`` prefix is dropped (``"jax_enable_x64"``).
          value: the new value (not validated).

        Raises:
          ValueError: for an unknown setting.
        """
        if name.startswith("jax_"):
            name = name[4:]
        if name not in self._specs:
            raise ValueError(f"unknown setting {name!r}; known settings: {sorted(self._specs)}")
        self._values[name] = value
        self._changed()

    def read(self, name: str) -> Any:
        """The current value of a setting (as ``getattr(config, name)``).

        Args:
          name: the setting's name.

        Returns:
          Its value.

        Raises:
          AttributeError: for an unknown setting.
        """
        return getattr(self, name)

    @contextlib.contextmanager
    def override(self, **kwargs: Any):
        """Temporarily change settings: ``with config.override(enable_x64=True): ...``.

        Args:
          **kwargs: setting names and their values inside the ``with`` block.

        Returns:
          A context manager; on exit every setting named gets its old value back.

        Raises:
          ValueError: for an unknown setting.
        """
        old = {k: getattr(self, k) for k in kwargs}
        for k, v in kwargs.items():
            self.update(k, v)
        try:
            yield
        finally:
            for k, v in old.items():
                self._values[k] = v
            self._changed()

    def code_key(self) -> tuple:
        """The settings that change generated code (part of every jit cache key).

        Returns:
          A tuple of ``(name, value)`` pairs.
        """
        key = self._code_key
        if key is None:  # cached: it is read on every jit call
            key = self._code_key = tuple(
                (s.name, self._values[s.name]) for s in _SETTINGS if s.changes_code
            )
        return key

    def describe(self) -> str:
        """A table of every setting: name, environment variable, current value, help.

        Returns:
          The table as a ``str``, one setting per line.
        """
        return "\n".join(
            f"{s.name:22s} {s.env:32s} {self._values[s.name]!r:8}  {s.help}" for s in _SETTINGS
        )


config = Config()
