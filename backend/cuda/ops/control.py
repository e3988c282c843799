"""Control flow on CUDA: ``cond``, ``while`` and ``scan``, driven from the host; and
``debug_callback`` (``fg.debug.print`` / ``fg.debug.callback``), run on the host.

A GPU kernel cannot launch the kernels of a loop body, so the iteration lives on the host:

- ``check`` lowers each inner jaxpr to a kernel *sub-program* with the same pipeline as a
  whole function (the CPU passes, then ``fusion.fuse`` with CUDA's capabilities); an inner
  program with a ``Fallback`` step (or constants of its own) makes the equation unsupported.
- ``emit`` renders the sub-programs into the same PTX module (their names extend the outer
  step's, so kernel names stay unique, also for nested control flow) and returns one *host
  node* (``HostScan`` / ``HostWhile`` / ``HostCond``) in place of a kernel launch. A node holds
  each sub-program's ``SubPlan`` (its launches grouped by step) and the outer buffer ids.
- ``run_plan(plan, bufs, runner)`` executes a plan: a group of launches goes to
  ``runner.launch``, a host node runs itself. ``runner`` is the device
  (``compiler.CudaExecutable`` makes one): ``launch``, ``alloc``, ``constant`` (a literal
  operand), ``slice`` (element ``i`` along axis 0 of a buffer, as a view), ``copy`` (with one
  of the node's copy kernels) and ``read`` (a buffer to the host as a numpy array, which
  waits for the GPU). Tests supply a numpy runner, so the same control logic runs without a GPU.
- ``debug_callback`` has no outputs and no kernel: its host node ``HostCallback`` reads its
  operands back when the plan reaches it (after the launches before it, in program order, also
  inside loop bodies: once per iteration) and calls the primitive's impl on them, as JAX does
  on GPUs (copy the operands to the host, call the Python function there).

Buffers: a sub-program's inputs and outputs are bound to outer buffers or views of them, and
its temporaries are allocated once per node run. Kernels of a sub-program never write their
own inputs, so loop carries are double-buffered: ``scan`` alternates the outer carry outputs
with a spare set so that the last step writes the outputs (no copy unless ``length == 0``);
``while`` does the same with an unknown trip count and copies the final carry when it ended
in the spare set (or never ran). ``while`` reads the predicate and ``cond`` the branch index
back to the host (a synchronisation per iteration: the price of data-dependent control).
Semantics follow the impls in ``funcgrad/_src/lax/control.py``: the predicate is tested
before ``max_steps``; the branch index is clamped; ``scan`` with ``reverse`` walks ``xs``
backwards and writes ``ys`` in place.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
from funcgrad.backend import kernel_ir as K

from .. import ptx
from ..ptx import i64
from . import register

# ---- plans ---------------------------------------------------------------------------------------


class HostNode:
    """A step of a plan the host runs itself: ``run(bufs, runner)``."""

    step: int


@dataclass(frozen=True)
class SubPlan:
    """A kernel program and how to run it: ``groups`` in order, each a ``(step index,
    launches)`` pair or a ``HostNode``."""

    program: K.Program
    groups: tuple

    @property
    def host_driven(self) -> bool:
        return any(isinstance(g, HostNode) for g in self.groups)


def plan_of(program: K.Program, launches) -> SubPlan:
    """Group the launch list of ``program`` (Launches and host nodes) by step."""
    groups: list = []
    for item in launches:
        if isinstance(item, HostNode):
            groups.append(item)
        elif groups and isinstance(groups[-1], tuple) and groups[-1][0] == item.step:
            groups[-1] = (item.step, groups[-1][1] + (item,))
        else:
            groups.append((item.step, (item,)))
    return SubPlan(program, tuple(groups))


def kernels_in(plan: SubPlan):
    """Every kernel a plan may launch (nested ones and copy kernels included)."""
    for g in plan.groups:
        if isinstance(g, HostNode):
            yield from g.kernels()
        else:
            yield from g[1]


def run_plan(plan: SubPlan, bufs: dict, runner) -> None:
    """Run ``plan`` on ``bufs`` (buffer id -> runner buffer, every buffer of the program)."""
    for g in plan.groups:
        if isinstance(g, HostNode):
            g.run(bufs, runner)
        else:
            runner.launch(plan.program, g[0], g[1], bufs)


@dataclass(frozen=True)
class CopyKernel:
    """``dst[:] = src[:]`` for one buffer shape: a kernel taking ``(dst, src)``."""

    name: str
    grid: tuple
    block: tuple
    signature: tuple = ("ptr", "ptr")


def _temps(plan: SubPlan, runner) -> dict:
    return {b.id: runner.alloc(b) for b in plan.program.buffers if b.kind == "tmp"}


def _bind(plan: SubPlan, inputs, outputs, temps: dict) -> dict:
    bufs = dict(temps)
    bufs.update(zip(plan.program.inputs, inputs, strict=True))
    bufs.update(zip(plan.program.outputs, outputs, strict=True))
    return bufs


def _operands(inputs, bufs, runner) -> list:
    return [bufs[i] if isinstance(i, int) else runner.constant(i[1]) for i in inputs]


def _copy_all(runner, copies, dsts, srcs) -> None:
    for kernel, dst, src in zip(copies, dsts, srcs, strict=True):
        runner.copy(kernel, dst, src)


# ---- host nodes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostScan(HostNode):
    step: int
    body: SubPlan
    inputs: tuple  # the OpKernel's: buffer ids or ("lit", value)
    outputs: tuple
    length: int
    reverse: bool
    num_consts: int
    num_carry: int
    copies: tuple  # CopyKernel per carry

    def kernels(self):
        return (*kernels_in(self.body), *self.copies)

    def run(self, bufs: dict, runner) -> None:
        nc, nk, n = self.num_consts, self.num_carry, self.length
        args = _operands(self.inputs, bufs, runner)
        consts, carry, xs = args[:nc], args[nc : nc + nk], args[nc + nk :]
        outs = [bufs[o] for o in self.outputs]
        carry_out, ys = outs[:nk], outs[nk:]
        prog = self.body.program
        x_bufs = [prog.buffer(i) for i in prog.inputs[nc + nk :]]
        y_bufs = [prog.buffer(i) for i in prog.outputs[nk:]]
        spare = [runner.alloc(prog.buffer(i)) for i in prog.outputs[:nk]] if n > 1 else []
        temps = _temps(self.body, runner)
        for t in range(n):
            i = n - 1 - t if self.reverse else t
            target = carry_out if (n - 1 - t) % 2 == 0 else spare  # the last step: outputs
            x_i = [runner.slice(x, i, b) for x, b in zip(xs, x_bufs)]
            y_i = [runner.slice(y, i, b) for y, b in zip(ys, y_bufs)]
            run_plan(self.body, _bind(self.body, consts + carry + x_i, target + y_i, temps), runner)
            carry = target
        if n == 0:
            _copy_all(runner, self.copies, carry_out, carry)


@dataclass(frozen=True)
class HostWhile(HostNode):
    step: int
    cond: SubPlan
    body: SubPlan
    inputs: tuple
    outputs: tuple
    cond_nconsts: int
    body_nconsts: int
    max_steps: int | None
    copies: tuple

    def kernels(self):
        return (*kernels_in(self.cond), *kernels_in(self.body), *self.copies)

    def run(self, bufs: dict, runner) -> None:
        ncc, nbc = self.cond_nconsts, self.body_nconsts
        args = _operands(self.inputs, bufs, runner)
        cc, bc, carry = args[:ncc], args[ncc : ncc + nbc], args[ncc + nbc :]
        out = [bufs[o] for o in self.outputs]
        body = self.body.program
        spare = [runner.alloc(body.buffer(i)) for i in body.outputs]
        pred = runner.alloc(self.cond.program.buffer(self.cond.program.outputs[0]))
        cond_temps, body_temps = _temps(self.cond, runner), _temps(self.body, runner)
        in_out, steps = False, 0  # in_out: the carry lives in the output buffers
        while True:
            run_plan(self.cond, _bind(self.cond, cc + carry, [pred], cond_temps), runner)
            if not bool(runner.read(pred)):
                break
            if self.max_steps is not None and steps >= self.max_steps:
                break
            target = spare if in_out else out
            run_plan(self.body, _bind(self.body, bc + carry, target, body_temps), runner)
            carry, in_out, steps = target, not in_out, steps + 1
        if not in_out:
            _copy_all(runner, self.copies, out, carry)


@dataclass(frozen=True)
class HostCond(HostNode):
    step: int
    branches: tuple  # SubPlan per branch
    inputs: tuple  # the index, then the operands
    outputs: tuple

    def kernels(self):
        return tuple(k for br in self.branches for k in kernels_in(br))

    def run(self, bufs: dict, runner) -> None:
        index = self.inputs[0]
        index = index[1] if isinstance(index, tuple) else runner.read(bufs[index])
        branch = self.branches[int(np.clip(int(index), 0, len(self.branches) - 1))]
        args = _operands(self.inputs[1:], bufs, runner)
        outs = [bufs[o] for o in self.outputs]
        run_plan(branch, _bind(branch, args, outs, _temps(branch, runner)), runner)


@dataclass(frozen=True, eq=False)
class HostCallback(HostNode):
    """``debug_callback`` / ``pure_callback`` / ``io_callback``: the operands read back
    (literals as they are), then its impl; its results (if any) written to the outputs."""

    step: int
    eqn: object  # the JaxprEqn: its impl and params are the reference semantics
    inputs: tuple
    outputs: tuple = ()

    def kernels(self):
        return ()

    def run(self, bufs: dict, runner) -> None:
        from funcgrad._src import core

        args = [
            np.array(i[1])
            if isinstance(i, tuple)
            else np.asarray(runner.read(bufs[i])).reshape(x.aval.shape)
            for i, x in zip(self.inputs, self.eqn.inputs, strict=True)
        ]
        outs = core.impl_rules[self.eqn.primitive](*args, **self.eqn.params)
        for o, r in zip(self.outputs, outs or (), strict=True):
            runner.write(bufs[o], np.ascontiguousarray(r))


# ---- lowering the inner jaxprs ----------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _sub_program(jaxpr) -> K.Program | None:
    """The kernel program of an inner jaxpr; None when some step of it cannot run on the GPU."""
    from funcgrad._src import core

    from .. import compiler

    if isinstance(jaxpr, core.ClosedJaxpr):
        if jaxpr.consts:
            return None
        jaxpr = jaxpr.jaxpr
    if jaxpr.constvars:
        return None
    program, consts = compiler.program_from_jaxpr(jaxpr, "sub")
    if consts or any(isinstance(s, K.Fallback) for s in program.steps):
        return None
    if len(program.inputs) != len(jaxpr.invars) or len(program.outputs) != len(jaxpr.outvars):
        return None
    return program


def _all_native(*jaxprs):
    return 0 if all(_sub_program(j) is not None for j in jaxprs) else None


def _lower_sub(module, program, index: int, what: str, jaxpr) -> SubPlan:
    from .. import codegen

    sub = dataclasses.replace(_sub_program(jaxpr), name=f"{program.name}_s{index}_{what}")
    _, launches = codegen.emit_program(sub, module)
    return plan_of(sub, launches)


def _emit_copies(module, program, index: int, buf_ids) -> tuple:
    """One ``CopyKernel`` per buffer in ``buf_ids`` (a grid-stride element copy)."""
    from funcgrad.backend.llvm import scalar as S

    from .. import codegen

    copies = []
    for k, buf_id in enumerate(buf_ids):
        buf = program.buffer(buf_id)
        name = f"{codegen.kernel_name(program, index)}_copy{k}"
        _, b = ptx.new_kernel(module, name, [ptx.ptr, ptx.ptr], ["dst", "src"])
        dst, src = b.function.args
        ty = S.storage_type(buf.dtype)
        with ptx.emit_grid_stride_loop(b, i64(buf.size)) as i:
            value = b.load(b.gep(src, [i], inbounds=True, source_etype=ty), typ=ty)
            b.store(value, b.gep(dst, [i], inbounds=True, source_etype=ty))
        b.ret_void()
        grid = min(codegen.cdiv(buf.size, codegen.BLOCK), codegen.MAX_BLOCKS)
        copies.append(CopyKernel(name, (grid,), (codegen.BLOCK,)))
    return tuple(copies)


# ---- the four primitives ---------------------------------------------------------------------


def check_scan(eqn):
    return _all_native(eqn.params["jaxpr"])


def emit_scan(module, program, step: K.OpKernel, index: int) -> list:
    p = step.eqn.params
    body = _lower_sub(module, program, index, "body", p["jaxpr"])
    copies = _emit_copies(module, program, index, step.outputs[: p["num_carry"]])
    return [
        HostScan(
            index,
            body,
            step.inputs,
            step.outputs,
            p["length"],
            p["reverse"],
            p["num_consts"],
            p["num_carry"],
            copies,
        )
    ]


def check_while(eqn):
    return _all_native(eqn.params["cond_jaxpr"], eqn.params["body_jaxpr"])


def emit_while(module, program, step: K.OpKernel, index: int) -> list:
    p = step.eqn.params
    cond = _lower_sub(module, program, index, "cond", p["cond_jaxpr"])
    body = _lower_sub(module, program, index, "body", p["body_jaxpr"])
    copies = _emit_copies(module, program, index, step.outputs)
    return [
        HostWhile(
            index,
            cond,
            body,
            step.inputs,
            step.outputs,
            p["cond_nconsts"],
            p["body_nconsts"],
            p["max_steps"],
            copies,
        )
    ]


def check_cond(eqn):
    return _all_native(*eqn.params["branches"])


def emit_cond(module, program, step: K.OpKernel, index: int) -> list:
    branches = tuple(
        _lower_sub(module, program, index, f"branch{k}", j)
        for k, j in enumerate(step.eqn.params["branches"])
    )
    return [HostCond(index, branches, step.inputs, step.outputs)]


def check_callback(eqn):
    return 0  # any operands: they only need to be read back


def emit_callback(module, program, step: K.OpKernel, index: int) -> list:
    return [HostCallback(index, step.eqn, step.inputs, tuple(step.outputs))]


register("scan", check_scan, emit_scan)
register("while", check_while, emit_while)
register("cond", check_cond, emit_cond)
register("debug_callback", check_callback, emit_callback)
register("pure_callback", check_callback, emit_callback)
register("io_callback", check_callback, emit_callback)
