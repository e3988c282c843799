"""``debug_nans`` / ``debug_infs``: raise at the first operation that produces a NaN (an inf).

Eagerly every primitive's output is checked (only while a flag is on: ``config.check_floats``
is one attribute read otherwise). Under ``jit`` the compiled outputs are checked; when one
holds a NaN, the function runs again de-optimised (op by op, as JAX does) so that the error
names the primitive and the user's source line that produced it first. Reverse mode records
each primitive's source line while a flag is on, so a NaN made by a backward rule names the
forward operation it differentiates and its line.
"""

from __future__ import annotations

import contextlib
import linecache
import logging
import os
import sys

import numpy as np

from funcgrad.config import config

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../funcgrad
_SKIP = (_PKG, os.path.dirname(contextlib.__file__) + os.sep + "contextlib")
_backward_of: list = []  # (primitive name, source line) of the forward op being pulled back
_log = logging.getLogger("funcgrad")


@contextlib.contextmanager
def debug_nans(enable: bool = True):
    """Context manager: raise ``FloatingPointError`` at the first operation producing a NaN.

    The same as ``config.update("jax_debug_nans", True)`` (or the environment variable
    ``JAX_DEBUG_NANS=1``), for the ``with`` block only.

    Args:
      enable: the setting inside the block.

    Yields:
      None.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> with fg.debug_nans(True):
    ...     fnp.log(fnp.array(-1.0))
    Traceback (most recent call last):
    FloatingPointError: invalid value (nan) encountered in log ...
    """
    with config.override(debug_nans=bool(enable)):
        yield


@contextlib.contextmanager
def debug_infs(enable: bool = True):
    """Context manager: raise ``FloatingPointError`` at the first operation producing an inf.

    The same as ``config.update("jax_debug_infs", True)`` (or ``JAX_DEBUG_INFS=1``), for the
    ``with`` block only.

    Args:
      enable: the setting inside the block.

    Yields:
      None.
    """
    with config.override(debug_infs=bool(enable)):
        yield


def user_site() -> str:
    """The innermost source line outside funcgrad on the current stack, as ``file:line (code)``.

    Returns:
      The description, or ``"<unknown>"`` when every frame is funcgrad's.
    """
    f = sys._getframe(1)
    while f is not None and f.f_code.co_filename.startswith(_SKIP):
        f = f.f_back
    if f is None:
        return "<unknown>"
    code = linecache.getline(f.f_code.co_filename, f.f_lineno).strip()
    return f"{f.f_code.co_filename}:{f.f_lineno} ({code})"


def _bad(value) -> str | None:
    v = np.asarray(value)
    if v.dtype.kind not in "fc":
        return None
    if config.debug_nans and np.isnan(v).any():
        return "nan"
    if config.debug_infs and np.isinf(v).any():
        return "inf"
    return None


def check(name: str, outs, rerun=None) -> None:
    """Raise if an output of primitive ``name`` holds a NaN (debug_nans) or inf (debug_infs).

    Args:
      name: the primitive's name.
      outs: its outputs (numpy arrays).
      rerun: for a call primitive (a nested jit), a thunk that evaluates its body op by op,
        so that the error names the primitive inside that produced the value.

    Raises:
      FloatingPointError: JAX's "invalid value (nan) encountered in <name>", with the source
        line (for a backward rule: the forward operation's name and line).
    """
    for o in outs:
        kind = _bad(o)
        if kind is None:
            continue
        if rerun is not None:
            rerun()  # raises at the inner primitive, when it finds one
        what = "a NaN" if kind == "nan" else "an inf"
        shape = f"{np.asarray(o).dtype}{list(np.shape(o))}"
        if _backward_of:
            fwd, site = _backward_of[-1]
            where = f"in the backward pass (derivative) of '{fwd}', whose forward op is at {site}"
        else:
            where = f"at {user_site()}"
        raise FloatingPointError(
            f"invalid value ({kind}) encountered in {name}: the primitive '{name}' produced "
            f"{what} (output {shape}) {where}"
        )


def pull_back(node, cts_out):
    """Run a reverse-mode node's backward rule, naming its forward op in any NaN error.

    Args:
      node: the ``VJPNode`` (its ``name`` and ``site``).
      cts_out: the cotangents of its outputs.

    Returns:
      The cotangents of its inputs.
    """
    _backward_of.append((node.name, node.site))
    try:
        return node.bwd(cts_out)
    finally:
        _backward_of.pop()


def check_jit(outs, name: str, rerun=None) -> None:
    """Check a jitted function's outputs; on a NaN (inf) run it de-optimised to find the op.

    Args:
      outs: the outputs (funcgrad Arrays).
      name: the function's name.
      rerun: a thunk running the function again; called op by op (jit disabled).

    Raises:
      FloatingPointError: naming the first primitive and source line when ``rerun`` finds
        it, else naming the jitted function.
    """
    values = [o._value for o in outs if hasattr(o, "_value")]  # tracers are checked later
    kind = next((k for k in map(_bad, values) if k), None)
    if kind is None:
        return
    if rerun is not None:
        from funcgrad._src.jit import disable_jit

        _log.warning(
            "Invalid %s value encountered in the output of a funcgrad.jit function %s. "
            "Calling the de-optimized version.",
            kind,
            name,
        )
        with disable_jit():
            rerun()
    raise FloatingPointError(
        f"invalid value ({kind}) encountered in the output of the jitted function {name} "
        f"(run op by op it produced none: the compiled code's rounding differs)"
    )
