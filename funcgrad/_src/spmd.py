"""SPMD execution on the CPU devices: what ``pmap`` and ``shard_map`` run on.

The function is traced once, for one device, with the mapped axis names bound (so its
collectives are staged into the jaxpr). The jaxpr is cut at its collectives: each run of
collective-free equations is compiled by the jit target (once, shared by every device), and
each device runs the same steps in its own thread (one worker thread per device). A
collective is a host exchange: every device leaves its operand with a ``Communicator`` and
waits at a barrier; the last to arrive computes every device's result with the same rule
``vmap`` uses for that collective (``batching.axis_vmap_rules``, on the operands stacked along
a new axis), then all go on. So the compiled segments run in parallel and the collectives
cost a barrier plus a numpy reduction on the host (measured in docs/how-to/distributed.md).
Devices lie on a grid of named axes (``Grid``): a 1-D one for pmap, the mesh for shard_map;
a collective over some names exchanges within the groups of devices that agree on the others.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any, NamedTuple

import numpy as np

from funcgrad._src import axis_env, batching, core
from funcgrad._src.array import wrap
from funcgrad._src.jit import _unbroadcast_consts
from funcgrad._src.lax import parallel
from funcgrad.backend import get_target


class Grid(NamedTuple):
    """Devices laid out on named axes, row-major (``devices[i]`` has coordinates
    ``np.unravel_index(i, sizes)``)."""

    names: tuple
    sizes: tuple
    devices: tuple


# ---- tracing for one device -------------------------------------------------------------------


def trace_per_device(f, in_avals: list, grid: Grid) -> tuple[core.Jaxpr, list]:
    """Trace ``f`` (flat in, flat out) for one device, the grid's axis names bound."""
    builder = core.JaxprBuilder()
    with core.new_main(core.JaxprTrace, builder) as main, ExitStack() as stack:
        for name, size in zip(grid.names, grid.sizes):
            stack.enter_context(axis_env.extend_axis_env(name, size, main))
        trace = core.JaxprTrace(main)
        tracers_in = [trace.new_arg(a) for a in in_avals]
        tracers_out = [trace.full_raise(o) for o in f(*tracers_in)]
        jaxpr, consts = core.build_jaxpr(builder, tracers_in, tracers_out)
        jaxpr, consts = _unbroadcast_consts(jaxpr, consts)  # as jit: no big broadcast consts
    return core.close_over_consts(jaxpr), consts


# ---- cutting the jaxpr at its collectives -----------------------------------------------------


class _Run(NamedTuple):
    exe: Any  # a compiled executable of the jit target
    in_vars: tuple
    out_vars: tuple


class _Host(NamedTuple):
    eqn: core.JaxprEqn


_CALLS = frozenset({"pjit", "checkpoint", "custom_jvp_call", "custom_vjp_call"})


def inline_named_calls(jaxpr: core.Jaxpr) -> core.Jaxpr:
    """Calls (``jit`` inside the mapped function, ``checkpoint``, custom derivatives) whose
    jaxpr uses a named axis are replaced by their equations, so that their collectives are
    cut out like the others (never compiled, where constant folding would run them)."""
    eqns: list = []
    outs = _inline_into(jaxpr, dict(zip(jaxpr.invars, jaxpr.invars)), eqns)
    return core.Jaxpr(jaxpr.constvars, jaxpr.invars, tuple(eqns), tuple(outs))


def _inline_into(jaxpr: core.Jaxpr, env: dict, eqns: list) -> list:
    """Append ``jaxpr``'s equations (fresh output variables; ``env`` maps its variables to
    the caller's) to ``eqns``; returns its outputs in the caller's variables."""
    sub = lambda x: env.get(x, x) if isinstance(x, core.Var) else x
    for eqn in jaxpr.eqns:
        inputs = tuple(sub(x) for x in eqn.inputs)
        inner = eqn.params.get("jaxpr")
        named = axis_env.used_axis_names(eqn.primitive, eqn.params)
        if eqn.primitive.name in _CALLS and isinstance(inner, core.Jaxpr) and named:
            outs = _inline_into(inner, dict(zip(inner.invars, inputs)), eqns)
            env.update(zip(eqn.out_binders, outs))
            continue
        fresh = tuple(core.Var(v.aval) for v in eqn.out_binders)
        env.update(zip(eqn.out_binders, fresh))
        eqns.append(core.JaxprEqn(eqn.primitive, inputs, eqn.params, fresh))
    return [sub(x) for x in jaxpr.outvars]


def plan(jaxpr: core.Jaxpr, backend: str, name: str) -> list:
    """The steps every device runs: compiled runs of equations, and host steps (equations
    that use a named axis: collectives, or control flow containing them). ``jaxpr`` has
    been through ``inline_named_calls``."""
    blocks: list = []
    for eqn in jaxpr.eqns:
        if axis_env.used_axis_names(eqn.primitive, eqn.params):
            blocks.append(_Host(eqn))
        elif blocks and isinstance(blocks[-1], list):
            blocks[-1].append(eqn)
        else:
            blocks.append([eqn])
    live = {v for v in jaxpr.outvars if isinstance(v, core.Var)}
    steps = []
    for block in reversed(blocks):
        eqns = [block.eqn] if isinstance(block, _Host) else block
        if isinstance(block, _Host):
            steps.append(block)
        else:
            step = _compile_run(eqns, live, backend, f"{name}_part{len(blocks) - len(steps)}")
            if step is not None:
                steps.append(step)
        live |= {x for e in eqns for x in e.inputs if isinstance(x, core.Var)}
    return steps[::-1]


def _compile_run(eqns, live, backend, name):
    defined = {v for e in eqns for v in e.out_binders}
    outs = tuple(dict.fromkeys(v for e in eqns for v in e.out_binders if v in live))
    if not outs and not any(e.params.get("effect", False) for e in eqns):  # debug callbacks
        return None
    ins = [x for e in eqns for x in e.inputs if isinstance(x, core.Var) and x not in defined]
    ins = tuple(dict.fromkeys(ins))
    sub = core.Jaxpr((), ins, tuple(eqns), outs)
    return _Run(get_target(backend).compile(sub, name), ins, outs)


# ---- the host exchange ------------------------------------------------------------------------

_MERGED = "__funcgrad_device_group__"  # the one axis a group's collective is batched over


class Communicator:
    """The collectives of one SPMD run: a barrier over every device of the grid."""

    def __init__(self, grid: Grid):
        self.grid = grid
        n = len(grid.devices)
        self.slots: list = [None] * n
        self.results: list = [None] * n
        self.error: BaseException | None = None
        self.barrier = threading.Barrier(n, action=self._compute)

    def view(self, index: int) -> _DeviceComm:
        return _DeviceComm(self, index)

    def exchange(self, index: int, prim, args, params):
        self.slots[index] = (prim, params, args)
        self.barrier.wait()
        if self.error is not None:
            raise self.error
        return self.results[index]

    def abort(self) -> None:
        self.barrier.abort()

    def _compute(self) -> None:
        try:
            self._compute_all()
        except BaseException as e:  # raised in every device thread
            self.error = e

    def _compute_all(self) -> None:
        prim, params, _ = self.slots[0]
        if any(s[0] is not prim or s[1] != params for s in self.slots):
            ops = sorted({f"{s[0]}{s[1]}" for s in self.slots})
            raise RuntimeError(f"devices reached different collectives at once: {ops}")
        for members in self._groups(axis_env.used_axis_names(prim, params)):
            vals = [self.slots[d][2] for d in members]
            for d, out in zip(members, _group_collective(prim, params, vals)):
                self.results[d] = out

    def _groups(self, names) -> list:
        """Device indices grouped by their coordinates on the other axes; within a group,
        ordered row-major by the coordinates on ``names`` (in the order given)."""
        pos = [self.grid.names.index(n) for n in names]
        groups: dict = {}
        for d in range(len(self.grid.devices)):
            c = np.unravel_index(d, self.grid.sizes)
            key = tuple(c[i] for i in range(len(c)) if i not in pos)
            rank = np.ravel_multi_index([c[i] for i in pos], [self.grid.sizes[i] for i in pos])
            groups.setdefault(key, []).append((int(rank), d))
        return [[d for _, d in sorted(g)] for g in groups.values()]


class _DeviceComm:
    """What one device thread sees (``parallel.device_context.comm``)."""

    def __init__(self, comm: Communicator, index: int):
        self.comm, self.index = comm, index

    def binds(self, names) -> bool:
        return all(n in self.comm.grid.names for n in names)

    def exchange(self, prim, args, params):
        return self.comm.exchange(self.index, prim, args, params)


def _contig(a) -> np.ndarray:
    """A C-contiguous numpy array (0-d stays 0-d, unlike ``np.ascontiguousarray``)."""
    a = np.asarray(a)
    return a if a.flags.c_contiguous else a.copy(order="C")


def _group_collective(prim, params, vals) -> list:
    """Every member's result: the collective's vmap rule over the stacked operands."""
    size = len(vals)
    stacked = [wrap(np.stack([np.asarray(v[i]) for v in vals])) for i in range(len(vals[0]))]
    key = "axes" if "axes" in params else "axis_name"
    p = dict(params, **{key: _MERGED if prim is parallel.axis_index_p else (_MERGED,)})
    rule = batching.axis_vmap_rules[prim]
    out, d = rule(batching.AxisData(size, _MERGED), stacked, [0] * len(stacked), **p)
    out = np.asarray(out)
    return [out if d is None else _contig(np.take(out, j, axis=d)) for j in range(size)]


# ---- running the steps, one thread per device -------------------------------------------------

_pools: dict = {}
_pools_lock = threading.Lock()
_run_lock = threading.Lock()  # one SPMD run at a time (two would wait on each other's devices)


def _pool(device) -> ThreadPoolExecutor:
    with _pools_lock:
        if device not in _pools:
            name = f"funcgrad-{device.platform}{device.id}"
            _pools[device] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        return _pools[device]


def run(steps: list, jaxpr: core.Jaxpr, consts: list, per_device_args: list, grid: Grid):
    """Run the steps on every device of the grid (``per_device_args[i]``: device i's flat
    arguments); returns each device's flat outputs (numpy arrays)."""
    if parallel.device_context.comm is not None:
        raise NotImplementedError("pmap/shard_map inside pmap/shard_map is not supported")
    comm = Communicator(grid)
    consts = [np.asarray(c) for c in consts]
    with _run_lock:
        futures = [
            _pool(dev).submit(_device_main, steps, jaxpr, consts + list(args), comm.view(i))
            for i, (dev, args) in enumerate(zip(grid.devices, per_device_args))
        ]
        errors = [f.exception() for f in futures]
    root = [e for e in errors if e is not None and not isinstance(e, threading.BrokenBarrierError)]
    if root or any(errors):
        raise (root or [e for e in errors if e is not None])[0]
    return [f.result() for f in futures]


def _device_main(steps, jaxpr, args, comm: _DeviceComm) -> list:
    parallel.device_context.comm = comm
    try:
        return _run_steps(steps, jaxpr, args)
    except BaseException:
        comm.comm.abort()  # the other devices stop waiting at the barrier
        raise
    finally:
        parallel.device_context.comm = None


def _run_steps(steps, jaxpr, args) -> list:
    env: dict = {}

    def read(x):
        if isinstance(x, core.Literal):
            return np.asarray(x.val, x.aval.dtype)
        return env[x]

    for v, a in zip(jaxpr.invars, args):
        env[v] = _contig(a)
    for step in steps:
        if isinstance(step, _Run):
            outs = step.exe(*[read(v) for v in step.in_vars])
            env.update(zip(step.out_vars, outs))
        else:
            eqn = step.eqn
            outs = core.bind(eqn.primitive, *[wrap(read(x)) for x in eqn.inputs], **eqn.params)
            outs = outs if eqn.primitive.multiple_results else [outs]
            env.update((v, _contig(o)) for v, o in zip(eqn.out_binders, outs))
    return [read(x) for x in jaxpr.outvars]
