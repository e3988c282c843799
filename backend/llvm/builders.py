"""The builder kit of the CPU and CUDA renderers: loops, ifs, locals and index arithmetic for
``llvmlite.ir.IRBuilder`` (in the spirit of numba's cgutils).

>>> from llvmlite import ir
>>> m = ir.Module("m")
>>> fn = ir.Function(m, ir.FunctionType(ir.VoidType(), [ir.IntType(64)]), "f")
>>> b = ir.IRBuilder(fn.append_basic_block("entry"))
>>> with for_range(b, 0, fn.args[0], vectorize=True) as i:
...     pass
>>> _ = b.ret_void()
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from llvmlite import ir

I64 = ir.IntType(64)


def _as_index(value, ty: ir.Type = I64) -> ir.Value:
    if isinstance(value, int):
        return ir.Constant(ty, value)
    if not isinstance(value, ir.Value) or not isinstance(value.type, ir.IntType):
        raise TypeError(f"loop bounds must be ints or integer IR values, got {value!r}")
    return value


def _loop_metadata(
    module: ir.Module, vectorize: bool | None, unroll: bool | None, interleave: int | None = None
):
    """A self-referential ``!llvm.loop`` node with the requested hints (None: no hint)."""
    hints = []
    if interleave is not None:
        hints.append(
            module.add_metadata(
                [
                    ir.MetaDataString(module, "llvm.loop.interleave.count"),
                    ir.IntType(32)(interleave),
                ]
            )
        )
    if vectorize is not None:
        hints.append(
            module.add_metadata(
                [ir.MetaDataString(module, "llvm.loop.vectorize.enable"), ir.IntType(1)(vectorize)]
            )
        )
    if unroll is False:
        hints.append(module.add_metadata([ir.MetaDataString(module, "llvm.loop.unroll.disable")]))
    if not hints:
        return None
    # llvmlite cannot build a self-referential node directly: make a distinct node whose first
    # operand is later patched to point to itself.
    node = module.add_metadata([None, *hints])
    node.operands = (node, *hints)
    return node


@contextlib.contextmanager
def for_range(
    builder: ir.IRBuilder,
    start,
    stop=None,
    step=1,
    *,
    vectorize: bool | None = None,
    unroll: bool | None = None,
    name: str = "i",
    interleave: int | None = None,
) -> Iterator[ir.Value]:
    """Emit ``for (i = start; i < stop; i += step)``; yields the index.

    ``for_range(b, n)`` counts from 0. ``step`` is a positive int or an integer IR value (a
    grid stride) that the caller knows is positive. ``vectorize=True`` attaches
    ``llvm.loop.vectorize.enable``; ``interleave=k`` asks the vectoriser for ``k`` independent
    vector accumulators (``llvm.loop.interleave.count``); the body is emitted at the builder's
    position inside the ``with`` block, and the builder is left after the loop when it exits.
    """
    if stop is None:
        start, stop = 0, start
    if isinstance(step, int) and step <= 0 or not isinstance(step, (int, ir.Value)):
        raise ValueError(f"for_range needs a positive step, got {step!r}")
    stop = _as_index(stop)
    start, step = _as_index(start, stop.type), _as_index(step, stop.type)
    fn = builder.function
    head, body, latch, done = (
        fn.append_basic_block(f"{name}.{s}") for s in ("head", "body", "latch", "done")
    )
    pre = builder.block
    builder.branch(head)
    builder.position_at_end(head)
    idx = builder.phi(stop.type, name=name)
    idx.add_incoming(start, pre)
    builder.cbranch(builder.icmp_signed("<", idx, stop), body, done)
    builder.position_at_end(body)
    yield idx
    builder.branch(latch)
    builder.position_at_end(latch)
    nxt = builder.add(idx, step, name=f"{name}.next", flags=["nsw"])
    br = builder.branch(head)
    md = _loop_metadata(builder.module, vectorize, unroll, interleave)
    if md is not None:
        br.set_metadata("llvm.loop", md)
    idx.add_incoming(nxt, latch)
    builder.position_at_end(done)


@contextlib.contextmanager
def while_loop(builder: ir.IRBuilder, cond, name: str = "while"):
    """``while cond(): <with body>``; ``cond()`` emits its test in the loop header."""
    head, body, end = (builder.append_basic_block(f"{name}.{s}") for s in ("cond", "body", "end"))
    builder.branch(head)
    builder.position_at_end(head)
    builder.cbranch(cond(), body, end)
    builder.position_at_end(body)
    yield
    builder.branch(head)
    builder.position_at_end(end)


def local(builder: ir.IRBuilder, init: ir.Value, ty: ir.Type | None = None):
    """A mutable local set to ``init``: an ``alloca`` in the entry block, which LLVM promotes
    to registers. Read it with ``get``, write it with ``builder.store``."""
    with builder.goto_entry_block():
        slot = builder.alloca(ty or init.type)
    builder.store(init, slot)
    return slot


def get(builder: ir.IRBuilder, slot) -> ir.Value:
    """The value of a ``local``."""
    return builder.load(slot, typ=slot.allocated_type)


@contextlib.contextmanager
def loop_nest(
    builder: ir.IRBuilder, shape: Sequence, *, vectorize_inner: bool | None = None
) -> Iterator[tuple[ir.Value, ...]]:
    """Nested ``for_range`` loops over ``shape`` (outermost first); yields the index tuple."""
    with contextlib.ExitStack() as stack:
        idxs = []
        for d, extent in enumerate(shape):
            inner = d == len(shape) - 1
            idxs.append(
                stack.enter_context(
                    for_range(
                        builder, extent, vectorize=vectorize_inner if inner else None, name=f"i{d}"
                    )
                )
            )
        yield tuple(idxs)


@contextlib.contextmanager
def if_then(builder: ir.IRBuilder, pred: ir.Value, *, likely: bool | None = None):
    """``if (pred) { <with body> }``; the builder continues after the ``if``."""
    with builder.if_then(pred, likely=likely):
        yield


@contextlib.contextmanager
def if_else(builder: ir.IRBuilder, pred: ir.Value, *, likely: bool | None = None):
    """Yields ``(then, otherwise)`` context managers, as ``IRBuilder.if_else`` does.

    >>> # with if_else(b, pred) as (then, otherwise):
    >>> #     with then: ...
    >>> #     with otherwise: ...
    """
    with builder.if_else(pred, likely=likely) as branches:
        yield branches
