"""What a row of the op table (``op_table.py``) holds, and helpers that build rows.

A row says how to build the function (``fn``, over arrays), how to make its inputs (``shapes``:
the shape sets to try, one shape per argument; ``kinds``: the values of each argument, see
``op_inputs.py``; ``dtypes``), its numpy reference (``ref``; None: only compared with eager
evaluation) and what it supports:

- ``tol``: rtol = atol for float32 values (float64: 1e-10; integers: exact);
- ``diff``: differentiable (``check_grads`` to ``order``, on ``grad_kinds`` inputs if given);
- ``vmap``: batched with ``vmap`` against a Python loop;
- ``jit``: compiled with ``jit`` against eager; ``native``: no equation may fall back to numpy
  (True: every dtype; a tuple: those dtypes; False: values only);
- ``cuda``: the dtypes lowered to CUDA kernels, on each shape set of ``cuda_shapes`` (None: the
  first shape set), compared (kernel interpreter, or a GPU) with eager at ``cuda_tol``.

Tests filter rows by these flags: ``tests/test_core_ops.py`` (eager), ``tests/test_jit_ops.py``,
``tests/test_cuda_lowering.py`` and ``tests/test_cuda_jit_exec.py`` (GPU).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from .op_inputs import BOOL, F32, I32


class Op(NamedTuple):
    name: str
    fn: Callable  # funcgrad function of the arguments
    ref: Callable | None  # numpy reference (None: eager is the reference)
    shapes: tuple  # shape sets; the first one is used for grads and vmap
    kinds: tuple = ("normal",)  # input kind per argument (the last one repeats)
    dtypes: tuple = (F32,)  # dtypes of the value arguments (index/bool kinds keep their own)
    tol: float = 1e-5
    diff: bool = True
    vmap: bool = True
    order: int = 2  # derivative order checked (digamma: trigamma has no derivative)
    grad_tol: float | None = 1e-5  # None: check_grads' per-dtype default
    grad_eps: float | None = None  # finite-difference step (None: per-dtype default)
    grad_kinds: tuple | None = None  # inputs for check_grads (None: kinds)
    jit: bool = True
    native: bool | tuple = True
    cuda: tuple = ()
    cuda_shapes: tuple | None = None
    cuda_tol: float = 2e-6


_UN = ((2, 3), (), (1, 4), (0, 3), (7,), (3, 5), (2, 1, 4), (1,))
UN_SHAPES = tuple((s,) for s in _UN)
BIN_SHAPES = tuple((s, s) for s in (*_UN[:2], (1, 1), (0, 2), *_UN[3:]))
BCAST_SHAPES = (((3, 1), (1, 4)), ((2, 3), ()), ((), (4,)), ((0, 1), (1, 3)))
AX_SHAPES = (((7,),), ((3, 5),), ((2, 3, 4),), ((0, 3),), ((1,),))
UN_CUDA, BIN_CUDA = (((37,),),), (((5, 7), (5, 7)),)
FI, FIB = (F32, I32), (F32, I32, BOOL)


def unary(name, fn, ref, kind="normal", **kw) -> Op:
    return Op(name, fn, ref, UN_SHAPES, (kind,), **{"cuda_shapes": UN_CUDA} | kw)


def binary(name, fn, ref, kinds=("normal",), shapes=BIN_SHAPES, **kw) -> Op:
    return Op(name, fn, ref, shapes, kinds, **{"cuda_shapes": BIN_CUDA} | kw)


def composite(name, fn, ref, shapes, kinds=("normal",), dtypes=(F32,), **kw) -> Op:
    """A row for a small program of several ops (not differentiated unless it says so)."""
    return Op(name, fn, ref, shapes, kinds, dtypes, **{"diff": False} | kw)
