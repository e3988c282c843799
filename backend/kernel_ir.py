"""A small backend-neutral description of a compiled program, and its numpy interpreter.

A ``Program`` is a list of steps over numbered buffers (inputs, outputs, temporaries):

- ``LoopKernel``: a loop nest over ``shape``; ``body`` is an SSA list of scalar nodes (``Load``
  with an affine ``View``, ``Iota``, ``Const``, ``Op`` named like the elementwise primitive);
  ``stores`` write SSA values contiguously over ``shape``; or, with ``reduce``, one value is
  reduced over ``reduce.axes`` into a buffer of the kept dimensions.
- ``Dot``: a (batched) matrix product ``out[b] = lhs[b] @ rhs[b]`` on strided views (BLAS).
- ``OpKernel``: one jaxpr equation run by a hand-written native kernel of the backend
  (``backend/<backend>/ops``: convolution, gather/scatter, sort, control flow...), not fused with
  its neighbours; its inputs are contiguous buffers, and ``scratch`` a temporary it may use.
- ``Fallback``: one jaxpr equation run with the numpy ``impl_rules`` (what codegen does not do).

``interpret(program, inputs)`` runs a program with numpy. It is the living definition of the
description: every backend is tested against it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

# ---- data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Buffer:
    id: int
    shape: tuple
    dtype: np.dtype
    kind: str  # "in" | "out" | "tmp"
    index: int = -1  # position among inputs/outputs

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize


@dataclass(frozen=True)
class View:
    """Element ``idx`` of the iteration space reads ``buf[offset + sum(idx * strides)]``."""

    strides: tuple
    offset: int = 0


@dataclass(frozen=True)
class Load:
    buf: int
    view: View
    dtype: np.dtype


@dataclass(frozen=True)
class Iota:
    """Index along ``dimension`` of a virtual contiguous array of ``shape``, read via ``view``."""

    shape: tuple
    dimension: int
    view: View
    dtype: np.dtype


@dataclass(frozen=True)
class Const:
    value: Any
    dtype: np.dtype


@dataclass(frozen=True)
class Op:
    """An elementwise primitive applied to earlier SSA values (indices into the body)."""

    prim: str
    args: tuple
    params: tuple  # sorted (name, value) pairs
    dtype: np.dtype


@dataclass(frozen=True)
class Reduce:
    op: str  # "sum" | "max" | "min" | "prod" | "and" | "or"
    axes: tuple
    value: int  # SSA index of the reduced value
    out: int  # buffer of shape = kept dims of the kernel shape


@dataclass(frozen=True)
class LoopKernel:
    shape: tuple
    body: tuple
    stores: tuple = ()  # ((buffer id, SSA index), ...), written contiguously over shape
    reduce: Reduce | None = None


@dataclass(frozen=True)
class Dot:
    """out[b, m, n] = sum_k lhs[b, m, k] * rhs[b, k, n], operands as strided views."""

    lhs: int
    lhs_view: View  # strides over (B, M, K)
    rhs: int
    rhs_view: View  # strides over (B, K, N)
    out: int  # contiguous (B, M, N)
    bmnk: tuple
    bf16: bool = False  # float32 operands holding bfloat16 values (bfloat16 tensor cores)


@dataclass(frozen=True)
class OpKernel:
    """One equation run natively by a backend op kernel. ``inputs``: buffer ids (contiguous,
    of the input's shape) or ``("lit", value)``; ``scratch``: a uint8 temporary buffer, or -1."""

    eqn: Any
    inputs: tuple
    outputs: tuple
    scratch: int = -1


def op_buffers(step: OpKernel) -> list:
    """The buffer ids an op kernel takes, in argument order: the buffer inputs (literals are
    compile-time constants, not arguments), the outputs, then the scratch."""
    ins = [i for i in step.inputs if isinstance(i, int)]
    return ins + list(step.outputs) + ([step.scratch] if step.scratch >= 0 else [])


@dataclass(frozen=True)
class Fallback:
    eqn: Any  # the JaxprEqn
    inputs: tuple  # buffer ids, or ("lit", value) for Literals
    outputs: tuple  # buffer ids
    reason: str


@dataclass(frozen=True)
class Program:
    name: str
    buffers: tuple  # Buffer, indexed by id
    inputs: tuple  # buffer ids, in call order
    outputs: tuple  # buffer ids, in call order
    steps: tuple

    def buffer(self, i: int) -> Buffer:
        return self.buffers[i]


REDUCE_IDENTITY = {"sum": 0, "prod": 1, "and": True, "or": False}
REDUCE_NP = {
    "sum": np.add,
    "prod": np.multiply,
    "max": np.maximum,
    "min": np.minimum,
    "and": np.logical_and,
    "or": np.logical_or,
}


def contiguous_strides(shape) -> tuple:
    """Row-major element strides of ``shape``."""
    strides, acc = [], 1
    for s in reversed(shape):
        strides.append(acc)
        acc *= s
    return tuple(reversed(strides))


def reduce_identity(op: str, dtype: np.dtype):
    if op in REDUCE_IDENTITY:
        return REDUCE_IDENTITY[op]
    if dtype.kind == "f":
        return -np.inf if op == "max" else np.inf
    if dtype.kind == "b":
        return op == "min"
    info = np.iinfo(dtype)
    return info.min if op == "max" else info.max


# ---- printing ------------------------------------------------------------------------------------


def _node_str(n) -> str:
    dt = np.dtype(n.dtype).name
    if isinstance(n, Load):
        return f"load b{n.buf}[{_view_str(n.view)}] : {dt}"
    if isinstance(n, Iota):
        return f"iota{list(n.shape)}@{n.dimension}[{_view_str(n.view)}] : {dt}"
    if isinstance(n, Const):
        return f"const {n.value!r} : {dt}"
    ps = "".join(f" {k}={v}" for k, v in n.params)
    return f"{n.prim}{ps} " + " ".join(f"%{a}" for a in n.args) + f" : {dt}"


def _view_str(v: View) -> str:
    return f"{v.offset}+{list(v.strides)}"


def _step_str(s, bufs) -> str:
    if isinstance(s, LoopKernel):
        lines = [f"loop {list(s.shape)}:"]
        lines += [f"    %{i} = {_node_str(n)}" for i, n in enumerate(s.body)]
        lines += [f"    store b{b} <- %{v}" for b, v in s.stores]
        if s.reduce:
            r = s.reduce
            lines.append(f"    reduce_{r.op} axes={list(r.axes)} %{r.value} -> b{r.out}")
        return "\n".join(lines)
    if isinstance(s, Dot):
        return (
            f"dot {list(s.bmnk)} b{s.lhs}[{_view_str(s.lhs_view)}] @ "
            f"b{s.rhs}[{_view_str(s.rhs_view)}] -> b{s.out}"
            f"{' (bfloat16 operands)' if s.bf16 else ''}   (BLAS gemm)"
        )
    ins = ", ".join(f"b{i}" if isinstance(i, int) else repr(i[1]) for i in s.inputs)
    outs = ", ".join(f"b{o}" for o in s.outputs)
    if isinstance(s, OpKernel):
        scratch = f", scratch b{s.scratch}" if s.scratch >= 0 else ""
        return f"op {s.eqn.primitive.name}({ins}) -> {outs}{scratch}   (native op kernel)"
    return f"FALLBACK {s.eqn.primitive.name}({ins}) -> {outs}   (numpy: {s.reason})"


def program_str(p: Program) -> str:
    lines = [f"program {p.name}"]
    for b in p.buffers:
        lines.append(
            f"  b{b.id}: {b.dtype.name}{list(b.shape)} {b.kind}"
            + (f"[{b.index}]" if b.index >= 0 else "")
        )
    for i, s in enumerate(p.steps):
        lines.append(f"  step {i}: " + _step_str(s, p.buffers).replace("\n", "\n  "))
    return "\n".join(lines)


# ---- the reference interpreter -----------------------------------------------------------------


def _prims_by_name() -> dict:
    from funcgrad._src import core

    return {p.name: p for p in core.impl_rules}


def _strided(flat: np.ndarray, shape, view: View) -> np.ndarray:
    base = flat[view.offset :] if flat.size else flat
    return as_strided(base, shape, [s * flat.itemsize for s in view.strides], writeable=False)


def _eval_node(n, shape, env, bufs, prims):
    if isinstance(n, Load):
        return _strided(bufs[n.buf].reshape(-1), shape, n.view)
    if isinstance(n, Iota):
        flat = np.arange(int(np.prod(n.shape, dtype=np.int64)) or 1, dtype=np.int64)
        idx = np.unravel_index(flat, n.shape or (1,))[n.dimension] if n.shape else flat * 0
        return _strided(idx.astype(n.dtype), shape, n.view)
    if isinstance(n, Const):
        return np.full(shape, n.value, n.dtype)
    from funcgrad._src import core

    args = [np.broadcast_to(env[a], shape) for a in n.args]
    with np.errstate(all="ignore"):
        out = core.impl_rules[prims[n.prim]](*args, **dict(n.params))
    return np.asarray(out).astype(n.dtype, copy=False)


def _run_loop(k: LoopKernel, bufs, prims) -> None:
    env = []
    for n in k.body:
        env.append(_eval_node(n, k.shape, env, bufs, prims))
    for b, v in k.stores:
        bufs[b][...] = np.broadcast_to(env[v], k.shape).reshape(bufs[b].shape)
    if k.reduce is not None:
        r = k.reduce
        out = bufs[r.out]
        val = np.broadcast_to(env[r.value], k.shape)
        with np.errstate(all="ignore"):
            red = REDUCE_NP[r.op].reduce(
                val, axis=r.axes, dtype=out.dtype, initial=reduce_identity(r.op, out.dtype)
            )
        out[...] = np.asarray(red).reshape(out.shape)


def _run_dot(d: Dot, bufs) -> None:
    b, m, n, k = d.bmnk
    lhs = _strided(bufs[d.lhs].reshape(-1), (b, m, k), d.lhs_view)
    rhs = _strided(bufs[d.rhs].reshape(-1), (b, k, n), d.rhs_view)
    bufs[d.out][...] = np.matmul(lhs, rhs).reshape(bufs[d.out].shape)


def run_fallback(f: Fallback | OpKernel, bufs) -> None:
    """Run one equation's step with the numpy ``impl_rules`` (the reference of an OpKernel)."""
    from funcgrad._src import core

    args = [
        bufs[i].reshape(x.aval.shape) if isinstance(i, int) else i[1]
        for i, x in zip(f.inputs, f.eqn.inputs)
    ]
    outs = core.impl_rules[f.eqn.primitive](*args, **f.eqn.params)
    outs = outs if f.eqn.primitive.multiple_results else [outs]
    for o, val in zip(f.outputs, outs):
        bufs[o][...] = np.asarray(val).reshape(bufs[o].shape)


def interpret(program: Program, inputs) -> list:
    """Run ``program`` with numpy: the reference every backend is checked against."""
    prims = _prims_by_name()
    bufs: dict[int, np.ndarray] = {}
    for b in program.buffers:
        bufs[b.id] = np.empty(b.shape, b.dtype)
    for i, x in zip(program.inputs, inputs):
        bufs[i] = np.ascontiguousarray(x, dtype=program.buffer(i).dtype)
    for s in program.steps:
        if isinstance(s, LoopKernel):
            _run_loop(s, bufs, prims)
        elif isinstance(s, Dot):
            _run_dot(s, bufs)
        else:
            run_fallback(s, bufs)
    return [bufs[o] for o in program.outputs]


def step_buffers(step) -> tuple[set, set]:
    """(read, written) buffer ids of a step (an op kernel writes its scratch too)."""
    if isinstance(step, LoopKernel):
        reads = {n.buf for n in step.body if isinstance(n, Load)}
        writes = {b for b, _ in step.stores} | ({step.reduce.out} if step.reduce else set())
        return reads, writes
    if isinstance(step, Dot):
        return {step.lhs, step.rhs}, {step.out}
    scratch = {step.scratch} if isinstance(step, OpKernel) and step.scratch >= 0 else set()
    return {i for i in step.inputs if isinstance(i, int)}, set(step.outputs) | scratch


def memory_report(program: Program) -> dict:
    """Bytes of the program's temporaries (``peak``, when none is reused), inputs, outputs."""
    kinds = {"in": "inputs", "out": "outputs", "tmp": "peak"}
    report = dict.fromkeys(kinds.values(), 0)
    for b in program.buffers:
        report[kinds[b.kind]] += b.nbytes
    return report


def row_major_stride(shape, dims, strides):
    """One stride ``c`` when ``strides`` over ``dims`` read them as a single row-major index
    times ``c`` (0 when they are all of size 1), or None."""
    dims = [d for d in dims if shape[d] != 1]
    if not dims:
        return 0
    for a, b in itertools.pairwise(dims):
        if strides[a] != strides[b] * shape[b]:
            return None
    return strides[dims[-1]]


def gemm_layout(rows: int, cols: int, s_rows: int, s_cols: int):
    """``(transposed, leading dimension)`` of a BLAS operand with these strides, or None."""
    if (cols == 1 or s_cols == 1) and (rows == 1 or s_rows >= max(1, cols)):
        return False, s_rows if rows > 1 else max(1, cols)
    if (rows == 1 or s_rows == 1) and (cols == 1 or s_cols >= max(1, rows)):
        return True, s_cols if cols > 1 else max(1, rows)
    return None
