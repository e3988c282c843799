"""Row fusion in the CPU code generator: grouping consecutive loop kernels over the same rows.

Row-wise logsumexp / softmax fuse into a chain of kernels over the same rows: a max reduction
over the innermost dims, a tiny kernel over the rows (the max made finite), an exp(x - max)
sum reduction over the same innermost dims, tiny epilogues, maybe an elementwise kernel over
the whole array again (softmax's division). Each reads the whole array from memory. A row
group runs such consecutive kernels in one kernel whose outer loop walks the rows and runs
every member's inner part in turn, so a row is read from memory once and from cache after.

This is a rewrite of the Program done here, before memory planning (a group's buffers are
live across the whole group); the kernel IR and its interpreter do not change. Members are
LoopKernels over the group's full shape F = rows + row elements (a reduction over exactly
the row-element dims, or elementwise stores), or elementwise kernels over the rows alone
(their dims but size-1 ones are the row dims). Running member after member row by row is the
same computation as kernel after kernel when every buffer a member writes is touched
(read or written) by the group only at the row being run: through a contiguous view of F, or
a contiguous view of the rows broadcast along the row elements. Each reduction member emits
the same inner loop as its own kernel would (``_emit_row_reduce``, same merged inner dims),
so its result is bit-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from funcgrad.backend import kernel_ir as K


@dataclass(frozen=True)
class RowGroup:
    """Consecutive LoopKernels run row by row in one kernel (in the place of the first)."""

    kernels: tuple
    shape: tuple  # F: the full shape of its full members
    split: int  # F[:split] are the rows, F[split:] the row elements

    def buffers(self) -> tuple[set, set]:
        rw = [K.step_buffers(k) for k in self.kernels]
        return set().union(*(r for r, _ in rw)), set().union(*(w for _, w in rw))


@dataclass(frozen=True)
class InRowGroup:
    """A step emitted as part of the row group before it (touches nothing by itself)."""

    step: K.LoopKernel


def group_rows(program: K.Program) -> K.Program:
    """``program`` with its row groups (see above) in place of their first member and
    ``InRowGroup`` markers in place of the others: step indices do not move."""
    steps, i = list(program.steps), 0
    while i < len(steps):
        group = _row_group_at(program, steps, i)
        if group is None:
            i += 1
            continue
        steps[i] = group
        for j in range(i + 1, i + len(group.kernels)):
            steps[j] = InRowGroup(steps[j])
        i += len(group.kernels)
    return K.Program(program.name, program.buffers, program.inputs, program.outputs, tuple(steps))


def _row_group_at(program, steps, i) -> RowGroup | None:
    """The longest row group starting at step ``i`` with a row reduction, if it has at least
    two members over the full shape."""
    k = steps[i]
    if not isinstance(k, K.LoopKernel) or k.reduce is None:
        return None
    shape, split = k.shape, len(k.shape) - len(k.reduce.axes)
    rows, elems = shape[:split], shape[split:]
    if (
        k.reduce.axes != tuple(range(split, len(shape)))
        or 0 in shape
        or all(n == 1 for n in rows)
        or all(n == 1 for n in elems)
    ):
        return None
    members = [k]
    for s in steps[i + 1 :]:
        if not (
            _row_member(s, shape, split) and _rows_independent(program, members + [s], shape, split)
        ):
            break
        members.append(s)
    if sum(m.shape == shape for m in members) < 2:
        return None
    return RowGroup(tuple(members), shape, split)


def _row_member(s, shape, split) -> bool:
    if not isinstance(s, K.LoopKernel):
        return False
    if s.shape == shape:
        return s.reduce is None or s.reduce.axes == tuple(range(split, len(shape)))
    return s.reduce is None and _non1(s.shape) == _non1(shape[:split])


def _non1(shape) -> list:
    return [n for n in shape if n != 1]


def to_full(k: K.LoopKernel, strides, shape, split) -> tuple:
    """Strides of a view of member ``k`` over the group's full shape (a row member's non-1
    dims are the non-1 row dims; it does not move along the row elements)."""
    if k.shape == shape:
        return tuple(strides)
    out = [0] * len(shape)
    rows = [d for d in range(split) if shape[d] != 1]
    own = [d for d, n in enumerate(k.shape) if n != 1]
    for rd, kd in zip(rows, own):
        out[rd] = strides[kd]
    return tuple(out)


def row_out_strides(shape, split) -> tuple:
    """A contiguous buffer of the rows, seen over the full shape."""
    return K.contiguous_strides(shape[:split]) + (0,) * (len(shape) - split)


def _accesses(k: K.LoopKernel, shape, split):
    """(buffer, strides over the full shape, offset, written) of every access of ``k``."""
    for n in k.body:
        if isinstance(n, K.Load):
            yield n.buf, to_full(k, n.view.strides, shape, split), n.view.offset, False
    out = to_full(k, K.contiguous_strides(k.shape), shape, split)
    for buf, _ in k.stores:
        yield buf, out, 0, True
    if k.reduce is not None:
        yield k.reduce.out, row_out_strides(shape, split), 0, True


def _access_kind(buf: K.Buffer, strides, offset, shape, split) -> str | None:
    """ "full" (contiguous over the full shape), "row" (contiguous over the rows, broadcast
    along the row elements) or None (anything else)."""

    def same(want):
        return offset == 0 and all(s == w for s, w, n in zip(strides, want, shape) if n != 1)

    if buf.size == int(np.prod(shape, dtype=np.int64)) and same(K.contiguous_strides(shape)):
        return "full"
    if buf.size == int(np.prod(shape[:split], dtype=np.int64)) and same(
        row_out_strides(shape, split)
    ):
        return "row"
    return None


def _rows_independent(program, kernels, shape, split) -> bool:
    """Whether every buffer the kernels write is touched by them only at the row being run
    (all its accesses "full", or all "row"): then running them row by row is exact."""
    acc = [a for k in kernels for a in _accesses(k, shape, split)]
    written = {a[0] for a in acc if a[3]}
    kinds: dict = {}
    for buf, strides, offset, _ in acc:
        if buf in written:
            kinds.setdefault(buf, set()).add(
                _access_kind(program.buffer(buf), strides, offset, shape, split)
            )
    return all(len(v) == 1 and None not in v for v in kinds.values())
