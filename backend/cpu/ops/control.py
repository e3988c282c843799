"""Control flow as native branches and loops: ``cond`` (``switch``), ``while``, ``scan``.

Each inner jaxpr (a branch, a loop's predicate or body) is compiled with the same pipeline as a
whole jit function (``passes.optimize`` then ``fusion.fuse`` with the CPU hooks, this op table
included, so nested control flow works recursively) into a kernel *sub-program*. ``check``
refuses (None: the equation stays a numpy ``Fallback``) when any sub-program has a Fallback step
(an unsupported op, float16, an effectful ``debug_callback``...), so ``emit`` only meets
sub-programs that are one native call each. The sub-programs are cached per inner jaxpr (a weak
dictionary: the jaxpr lives as long as the equation holding it).

``emit`` puts each sub-program into the module with ``codegen.emit_subprogram`` under a name
prefix (``k3.body.k0``, ..., entry ``k3.body.run``: the ``void(ptr ins, ptr outs, ptr ws)`` of a
top-level entry), then writes the op kernel, which fills pointer tables and calls those entries:

- ``cond``: clamp the index to ``[0, len(branches) - 1]`` (as the impl does) and ``switch`` to
  the chosen branch, which writes the op's outputs directly;
- ``scan``: ``for k in range(length)``, ``i = length - 1 - k`` when reversed; the body reads
  the consts, the current carry and ``xs[j] + i * slice_bytes``, and writes the next carry and
  ``ys[j] + i * slice_bytes`` directly;
- ``while``: ``loop { cond(carry) -> pred; break unless pred and steps < max_steps; body }``.

The carry is double-buffered in the scratch: step ``k`` writes carry set ``k % 2`` and the next
step reads it (only pointers move; a sub-program never writes its inputs, and its outputs are
fresh buffers). The first step reads the op's input buffers, so there is no initial copy; the
final carry is copied into the op's outputs once (``llvm.memcpy``). Scratch layout, 64-byte
aligned regions: ``[carry set 0][carry set 1][while predicate byte][sub-program workspace]``;
the workspace is shared by the sub-programs, which never run at the same time. Literal operands
are compile-time constants: they become internal constant globals. Nothing here assumes the
kernels it calls run once (a threaded loop kernel is a plain call; its threads are joined before
it returns).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.llvm.builders import for_range
from funcgrad.backend.llvm.scalar import storage_type
from llvmlite import ir

from funcgrad._src import core
from funcgrad._src.core import Jaxpr

from . import PTR, new_function, register

I1, I8, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(64)
ALIGN = 64

# ---- inner jaxprs -> kernel sub-programs ------------------------------------------------------

_programs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Jaxpr -> Program | None


def sub_program(jaxpr) -> K.Program | None:
    """The kernel program of an inner jaxpr, or None when it is not all native code."""
    if not isinstance(jaxpr, Jaxpr):  # a ClosedJaxpr's consts would need globals: refuse
        return None
    try:
        return _programs[jaxpr]
    except KeyError:  # threads racing keep the first program stored (setdefault is atomic)
        return _programs.setdefault(jaxpr, _compile(jaxpr))


def _compile(jaxpr: Jaxpr) -> K.Program | None:
    from funcgrad.backend import lower

    from .. import executable

    if jaxpr.constvars:
        return None
    _, program = lower.to_program(jaxpr, "inner", executable.RULES)
    return None if any(isinstance(s, K.Fallback) for s in program.steps) else program


def _workspace(program: K.Program) -> int:
    from .. import codegen

    return codegen.plan_memory(program)[1]


# ---- plans: the sub-programs of an equation and its scratch layout ----------------------------


def _round(n: int) -> int:
    return -(-max(int(n), 1) // ALIGN) * ALIGN


@dataclass(frozen=True)
class Plan:
    programs: tuple  # the sub-programs, in the primitive's order (branches / cond, body / body)
    carry: tuple  # (offset of set 0, offset of set 1, bytes) per carry component
    pred: int  # offset of the while predicate byte, or -1
    ws: int  # offset of the shared sub-program workspace
    size: int  # scratch bytes in all (0: no scratch)


def _plan(programs, carry_avals=(), pred=False) -> Plan | None:
    if any(p is None for p in programs):
        return None
    off, carry = 0, []
    for a in carry_avals:
        nbytes = int(np.prod(a.shape, dtype=np.int64)) * np.dtype(a.dtype).itemsize
        carry.append((off, off + _round(nbytes), nbytes))
        off += 2 * _round(nbytes)
    pred_off = off if pred else -1
    off += _round(1) if pred else 0
    ws = max(_workspace(p) for p in programs)
    size = off + ws if (ws or off) else 0
    return Plan(tuple(programs), tuple(carry), pred_off, off, size)


def _types(avals) -> list:
    return [(tuple(a.shape), np.dtype(a.dtype)) for a in avals]


def _fits(jaxpr, in_avals, out_avals) -> bool:
    """Does ``jaxpr`` take and return exactly these shapes and dtypes? (The kernels index the
    operands with the inner jaxpr's shapes: a mismatch must be refused, never run.)"""
    return (
        isinstance(jaxpr, Jaxpr)
        and _types(jaxpr.in_avals) == _types(in_avals)
        and _types(jaxpr.out_avals) == _types(out_avals)
    )


def _plan_cond(eqn) -> Plan | None:
    index, *ops = [x.aval for x in eqn.inputs]
    outs = [v.aval for v in eqn.out_binders]
    branches = eqn.params["branches"]
    if (
        index.shape != ()
        or np.dtype(index.dtype).kind not in "iu"
        or not branches
        or not all(_fits(j, ops, outs) for j in branches)
    ):
        return None
    return _plan([sub_program(j) for j in branches])


def _plan_while(eqn) -> Plan | None:
    p = eqn.params
    ncc, nbc, max_steps = p["cond_nconsts"], p["body_nconsts"], p["max_steps"]
    avals = [x.aval for x in eqn.inputs]
    carry = avals[ncc + nbc :]
    if max_steps is not None and not isinstance(max_steps, (int, np.integer)):
        return None
    pred = [core.ShapedArray((), np.dtype(np.bool_))]
    if not (
        _fits(p["cond_jaxpr"], avals[:ncc] + carry, pred)
        and _fits(p["body_jaxpr"], avals[ncc:], carry)
        and _types(carry) == _types(v.aval for v in eqn.out_binders)
    ):
        return None
    return _plan([sub_program(p["cond_jaxpr"]), sub_program(p["body_jaxpr"])], carry, pred=True)


def _plan_scan(eqn) -> Plan | None:
    p = eqn.params
    nk, nc, length = p["num_consts"], p["num_carry"], p["length"]
    avals = [x.aval for x in eqn.inputs]
    outs = [v.aval for v in eqn.out_binders]
    xs, ys = avals[nk + nc :], outs[nc:]
    if any(a.ndim == 0 or a.shape[0] != length for a in xs + ys) or _types(
        avals[nk : nk + nc]
    ) != _types(outs[:nc]):
        return None
    unstacked = [a.update(shape=a.shape[1:]) for a in xs + ys]
    if not _fits(
        p["jaxpr"], avals[: nk + nc] + unstacked[: len(xs)], outs[:nc] + unstacked[len(xs) :]
    ):
        return None
    return _plan([sub_program(p["jaxpr"])], outs[:nc])


PLANS = {"cond": _plan_cond, "while": _plan_while, "scan": _plan_scan}


def check(eqn) -> int | None:
    plan = PLANS[eqn.primitive.name](eqn)
    return None if plan is None else plan.size


# ---- IR helpers ----------------------------------------------------------------------------------


def _opaque(v):
    v.type = PTR  # printed the same; stops llvmlite's typed-pointer checks (as parallel.py)
    return v


def _byte_offset(b, base, nbytes):
    nbytes = ir.Constant(I64, nbytes) if isinstance(nbytes, int) else nbytes
    return _opaque(b.gep(base, [nbytes], source_etype=I8))


def _table(b, n: int):
    """A stack array of ``n`` pointers (an entry's input or output table)."""
    return _opaque(b.alloca(PTR, ir.Constant(I64, max(n, 1))))


def _slot(b, table, i: int):
    return _opaque(b.gep(table, [ir.Constant(I64, i)], source_etype=PTR))


def _fill(b, table, ptrs, start=0) -> None:
    for i, p in enumerate(ptrs):
        b.store(p, _slot(b, table, start + i))


def _memcpy(b, dst, src, nbytes: int) -> None:
    if nbytes:
        fn = b.module.declare_intrinsic("llvm.memcpy", [PTR, PTR, I64])
        b.call(fn, [dst, src, ir.Constant(I64, nbytes), ir.Constant(I1, 0)])


def _literal(module, name: str, value):
    """An internal constant global holding ``value``'s bytes (a literal operand)."""
    data = np.ascontiguousarray(value).tobytes() or b"\0"
    ty = ir.ArrayType(I8, len(data))
    g = ir.GlobalVariable(module, ty, name)
    g.linkage, g.global_constant, g.align = "internal", True, ALIGN
    g.initializer = ir.Constant(ty, bytearray(data))
    return _opaque(g)


@dataclass
class _Ctx:
    """What the per-primitive emitters get: the builder at the kernel's entry, the operand
    pointers (literals as globals), the output pointers, and the sub-programs' entries."""

    b: ir.IRBuilder
    eqn: object
    plan: Plan
    ins: list
    outs: list
    entries: list
    scratch: ir.Value

    def at(self, offset: int):
        return _byte_offset(self.b, self.scratch, offset)

    def call(self, j: int, ins_table, outs_table) -> None:
        self.b.call(self.entries[j], [ins_table, outs_table, self.at(self.plan.ws)])

    def next_carry(self, k):
        """Pointers of the carry set step ``k`` writes (set ``k % 2``)."""
        odd = self.b.trunc(k, I1)
        return [self.b.select(odd, self.at(s1), self.at(s0)) for s0, s1, _ in self.plan.carry]

    def copy_out(self, table, start: int) -> None:
        """Copy the final carry (pointers in ``table[start:]``) into the op's outputs."""
        for c, (_, _, nbytes) in enumerate(self.plan.carry):
            cur = self.b.load(_slot(self.b, table, start + c), typ=PTR)
            _memcpy(self.b, self.outs[c], cur, nbytes)


# ---- emitters ------------------------------------------------------------------------------------


def _emit_cond(cx: _Ctx) -> None:
    b, n = cx.b, len(cx.entries)
    tin, tout = _table(b, len(cx.ins) - 1), _table(b, len(cx.outs))
    _fill(b, tin, cx.ins[1:])
    _fill(b, tout, cx.outs)
    idx = _clamped_index(b, cx.ins[0], cx.eqn.inputs[0].aval.dtype, n)
    done = b.append_basic_block("cond.done")
    blocks = [b.append_basic_block(f"branch{j}") for j in range(n)]
    sw = b.switch(idx, blocks[-1])
    for j, blk in enumerate(blocks[:-1]):
        sw.add_case(ir.Constant(I64, j), blk)
    for j, blk in enumerate(blocks):
        b.position_at_end(blk)
        cx.call(j, tin, tout)
        b.branch(done)
    b.position_at_end(done)


def _clamped_index(b, ptr, dtype, n: int):
    """The i64 index at ``ptr`` clamped to ``[0, n - 1]``, as ``np.clip(int(index), ...)``."""
    dtype = np.dtype(dtype)
    raw = b.load(ptr, typ=storage_type(dtype))
    unsigned = dtype.kind == "u"
    if raw.type.width < 64:
        raw = b.zext(raw, I64) if unsigned else b.sext(raw, I64)
    last, zero = ir.Constant(I64, n - 1), ir.Constant(I64, 0)
    cmp = b.icmp_unsigned if unsigned else b.icmp_signed
    idx = b.select(cmp(">", raw, last), last, raw)
    return idx if unsigned else b.select(b.icmp_signed("<", idx, zero), zero, idx)


def _emit_scan(cx: _Ctx) -> None:
    b, p = cx.b, cx.eqn.params
    nk, nc, length = p["num_consts"], p["num_carry"], p["length"]
    xs, ys = cx.ins[nk + nc :], cx.outs[nc:]
    x_bytes = [_slice_bytes(x.aval) for x in cx.eqn.inputs[nk + nc :]]
    y_bytes = [_slice_bytes(v.aval) for v in cx.eqn.out_binders[nc:]]
    tin, tout = _table(b, len(cx.ins)), _table(b, len(cx.outs))
    _fill(b, tin, cx.ins[: nk + nc])  # consts, then the initial carry (read in place)
    with for_range(b, length, unroll=False, name="step") as k:
        i = b.sub(ir.Constant(I64, length - 1), k) if p["reverse"] else k
        _fill(
            b,
            tin,
            [_byte_offset(b, x, b.mul(i, ir.Constant(I64, n))) for x, n in zip(xs, x_bytes)],
            nk + nc,
        )
        nxt = cx.next_carry(k)
        _fill(b, tout, nxt)
        _fill(
            b,
            tout,
            [_byte_offset(b, y, b.mul(i, ir.Constant(I64, n))) for y, n in zip(ys, y_bytes)],
            nc,
        )
        cx.call(0, tin, tout)
        _fill(b, tin, nxt, nk)  # the next step reads what this one wrote
    cx.copy_out(tin, nk)


def _slice_bytes(aval) -> int:
    return int(np.prod(aval.shape[1:], dtype=np.int64)) * np.dtype(aval.dtype).itemsize


def _emit_while(cx: _Ctx) -> None:
    b, p = cx.b, cx.eqn.params
    ncc, nbc, max_steps = p["cond_nconsts"], p["body_nconsts"], p["max_steps"]
    carry = cx.ins[ncc + nbc :]
    nc = len(carry)
    cin, cout = _table(b, ncc + nc), _table(b, 1)
    bin_, bout = _table(b, nbc + nc), _table(b, nc)
    steps = _opaque(b.alloca(I64))
    _fill(b, cin, cx.ins[:ncc] + carry)
    _fill(b, bin_, cx.ins[ncc : ncc + nbc] + carry)
    pred = cx.at(cx.plan.pred)
    _fill(b, cout, [pred])
    b.store(ir.Constant(I64, 0), steps)
    head, body, done = (b.append_basic_block(f"while.{s}") for s in ("head", "body", "done"))
    b.branch(head)
    b.position_at_end(head)
    cx.call(0, cin, cout)
    go = b.icmp_unsigned("!=", b.load(pred, typ=I8), ir.Constant(I8, 0))
    k = b.load(steps, typ=I64)
    if max_steps is not None:
        go = b.and_(go, b.icmp_signed("<", k, ir.Constant(I64, int(max_steps))))
    b.cbranch(go, body, done)
    b.position_at_end(body)
    nxt = cx.next_carry(k)
    _fill(b, bout, nxt)
    cx.call(1, bin_, bout)
    _fill(b, cin, nxt, ncc)
    _fill(b, bin_, nxt, nbc)
    b.store(b.add(k, ir.Constant(I64, 1)), steps)
    b.branch(head)
    b.position_at_end(done)
    cx.copy_out(bin_, nbc)


EMITTERS = {"cond": _emit_cond, "while": _emit_while, "scan": _emit_scan}
SUB_NAMES = {
    "cond": lambda j: f"branch{j}",
    "while": lambda j: ("cond", "body")[j],
    "scan": lambda j: "body",
}  # the name prefix of sub-program j: k3.body.k0, ...


def emit(module, program, step: K.OpKernel, name: str, num_threads: int):
    from .. import codegen

    prim = step.eqn.primitive.name
    plan = PLANS[prim](step.eqn)
    entries = [
        codegen.emit_subprogram(module, sub, f"{name}.{SUB_NAMES[prim](j)}.", num_threads)[0]
        for j, sub in enumerate(plan.programs)
    ]
    fn = new_function(module, name, len(K.op_buffers(step)))
    args = iter(fn.args)
    ins = [
        next(args) if isinstance(x, int) else _literal(module, f"{name}.lit{j}", x[1])
        for j, x in enumerate(step.inputs)
    ]
    outs = [next(args) for _ in step.outputs]
    scratch = next(args) if step.scratch >= 0 else ir.Constant(PTR, None)
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    EMITTERS[prim](_Ctx(b, step.eqn, plan, ins, outs, entries, scratch))
    b.ret_void()
    return fn


for _name in PLANS:
    register(_name, check, emit)
