"""A CUDA block emulator on the CPU: run the kernels of an NVPTX LLVM IR module on the host,
with the cooperation CUDA gives the threads of a block (``bar.sync``, warp shuffles,
tensor-core ``mma.sync``, shared memory), so kernels that need it can be checked without a GPU.

How (``HostModule``):

1. The NVPTX IR is parsed and printed back by LLVM (one canonical text, with the intrinsic
   upgrades LLVM applies, e.g. ``barrier0`` -> ``barrier.cta.sync.aligned.all``), then
   rewritten into host IR (``Rewriter``, in ``cuda_emu_ir.py``):
   - every defined function gets a hidden first parameter ``ptr %emu.ctx``: the thread's
     context (``CTX``: the special registers ``tid``, ``ntid``, ``ctaid``, ``nctaid`` x/y/z,
     ``laneid``, ``warpid``; then the operation it waits in, its operands and results);
   - ``bar.sync 0``, ``shfl.sync.{up,down,bfly,idx}.{i32,f32}[.p]`` and the inline-asm
     ``mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32`` become calls of IR
     helpers that write the operation and its operands into the context and *yield* (below);
     any other inline asm or NVVM intrinsic is refused (``NotImplementedError``), never guessed;
   - ``addrspace(3)`` arrays (shared memory) become ordinary, externally visible host globals
     (so the host compiler must assume a yield may change them). Blocks run one after another,
     so one copy serves every block; it is filled with 0xff bytes (NaN, -1) before each block,
     so reading shared memory nobody wrote shows;
   - every load, store and atomic through a pointer that is not a stack slot first calls a
     checker with the address and size: a global-memory access must fall inside one of the
     launch's ``ranges`` (or the shared arrays, or the module's other globals), a shared access
     inside a shared array. A bad access is recorded and redirected to a scratch area, so
     native code never touches memory it must not; ``launch`` raises ``AssertionError``
     afterwards, naming the kernel, the address and the instruction.
   The result is JIT-compiled for the host at ``HostModule.opt_level`` (0 by default: the
   unrolled matmul tiles compile ~30x faster than at O3, and the code runs as written).

2. A kernel whose code (or callees) has no barrier, warp operation or shared memory runs
   *sequentially*: one compiled host loop calls it for every thread of the grid in turn, a
   legal CUDA schedule for threads that never cooperate (fast). A cooperative kernel runs block
   after block; each CUDA thread of the block is a fiber (glibc ``makecontext`` /
   ``swapcontext``, its own stack with a guard page) on the calling OS thread. A Python
   scheduler (``HostModule._run_block`` with ``_Block``) resumes the runnable threads in turn;
   a thread runs natively until it returns or reaches a barrier or warp operation, where it
   switches back. ``bar.sync`` completes when every thread of the block has arrived; a warp
   operation (lane = linear thread id % 32, warp = linear thread id // 32) when the lanes it
   names have (exited lanes excepted, as the ISA says), with the PTX ISA semantics written out
   in ``shfl_results`` and ``mma_results`` (the m16n8k16 fragment layouts come from the ISA
   text, not from the code generator). The schedule is deterministic (threads switch only at
   those points, so atomics are trivially atomic: races are not explored); ``HostModule.
   schedule = "reverse"`` resumes the threads in the opposite order, another legal one.

Undefined behaviour is reported (``AssertionError`` after the launch), never papered over:
threads of a block waiting at different ``bar.sync`` instructions, a thread returning while
others wait at a barrier (or before a barrier the others reach), warp operations whose lanes
disagree on the operation or mask or read a lane that took no part, ``mma`` in a partial warp,
and deadlocks (threads left waiting when nothing can run). A thread that loops forever without
reaching a barrier hangs the launch, as it would hang a GPU.
"""

from __future__ import annotations

import collections
import ctypes
import itertools
import math
import mmap
import struct
import threading

import llvmlite.binding as llvm
import numpy as np
from funcgrad.backend.cpu import engine

from .cuda_emu_ir import (
    AT_BARRIER,
    AT_MMA,
    AT_SHFL,
    CTX,
    CTX_BYTES,
    DONE,
    MAX_THREADS,
    P_ARGS,
    P_ENTRY,
    P_SCHED,
    POISON,
    SHFL_MODES,
    STACK_BYTES,
    UC_BYTES,
    W_ARGS,
    W_OP,
    W_RESULT,
    W_SITE,
    W_STATUS,
    WARP,
    Function,
    Rewriter,
)

# ---- warp operations as the PTX ISA defines them -------------------------------------------------


def shfl_results(mode: str, ops: dict) -> tuple[dict, list]:
    """``shfl.sync.<mode>.b32`` of one warp: ``ops[lane] = (value, b, c)`` for the lanes taking
    part; returns ``{lane: (value, predicate)}`` and the problems (reads of lanes that took no
    part). The ISA's pseudocode, with ``c[4:0]`` the clamp value and ``c[12:8]`` the segment
    mask."""
    results, problems = {}, []
    for lane, (_, b, c) in ops.items():
        bval, cval, segmask = b & 31, c & 31, (c >> 8) & 31
        max_lane = (lane & segmask) | (cval & ~segmask & 31)
        min_lane = lane & segmask
        if mode == "up":
            j, pval = lane - bval, lane - bval >= max_lane
        elif mode == "down":
            j, pval = lane + bval, lane + bval <= max_lane
        elif mode == "bfly":
            j, pval = lane ^ bval, (lane ^ bval) <= max_lane
        else:
            j = min_lane | (bval & ~segmask & 31)
            pval = j <= max_lane
        j = j if pval else lane
        if j not in ops:
            problems.append(f"lane {lane} reads lane {j}, which is not in the shuffle")
            j = lane
        results[lane] = (ops[j][0], pval)
    return results, problems


def mma_fragment_coords(lane: int) -> dict:
    """Where lane ``lane``'s fragment elements sit, from the PTX ISA section "Matrix Fragments
    for mma.m16n8k16 with floating point type" (``.f16``/``.bf16`` A and B, ``.f32`` C/D):
    ``{"a": [(row, col) of a0..a7], "b": [... of b0..b3], "c": [... of c0..c3]}``. Registers
    hold their elements low to high: a0 and a1 are the low and high halves of A's first ``b32``
    register."""
    group, tig = lane >> 2, lane % 4  # groupID, threadID_in_group
    a = [
        (group if i < 2 or 4 <= i < 6 else group + 8, tig * 2 + (i & 1) + (8 if i >= 4 else 0))
        for i in range(8)
    ]
    b = [(tig * 2 + (i & 1) + (8 if i >= 2 else 0), group) for i in range(4)]
    c = [(group if i < 2 else group + 8, tig * 2 + (i & 1)) for i in range(4)]
    return {"a": a, "b": b, "c": c}


def _decode16(bits, kind: str) -> np.ndarray:
    raw = np.asarray(bits, np.uint16)
    if kind == "f16":
        return raw.view(np.float16).astype(np.float64)
    return (raw.astype(np.uint32) << 16).view(np.float32).astype(np.float64)  # bf16


def mma_results(kinds: tuple, ops: dict) -> dict:
    """``mma.sync.aligned.m16n8k16.row.col.f32.<ka>.<kb>.f32`` of a full warp: ``ops[lane] =
    (a0..a3 and b0..b1 as b32 words, c0..c3 as floats)``; returns ``{lane: (d0, d1, d2, d3)}``
    with D = A @ B + C (exact products, float64 sums, rounded once to float32)."""
    ka, kb = kinds
    a, b, c = np.zeros((16, 16)), np.zeros((16, 8)), np.zeros((16, 8))
    for lane, words in ops.items():
        coords = mma_fragment_coords(lane)
        halves = [(w >> s) & 0xFFFF for w in words[:6] for s in (0, 16)]  # low half first
        for (r, col), v in zip(coords["a"], _decode16(halves[:8], ka)):
            a[r, col] = v
        for (r, col), v in zip(coords["b"], _decode16(halves[8:], kb)):
            b[r, col] = v
        for (r, col), v in zip(coords["c"], words[6:10]):
            c[r, col] = v
    d = (a @ b + c).astype(np.float32)
    return {
        lane: tuple(float(d[r, col]) for r, col in mma_fragment_coords(lane)["c"]) for lane in ops
    }


# ---- the scheduler of one block ---------------------------------------------------------------


class _Round:
    """A barrier or warp operation being gathered: who arrived with what."""

    def __init__(self, key=None):
        self.key, self.arrived = key, {}


class _Block:
    """The threads of the block being run: which are runnable, which wait where, which have
    returned. ``arrive_*`` and ``exit`` return the threads that may run again."""

    def __init__(self, n: int, mma_kinds: list, problems: list, where: str):
        self.n, self.mma_kinds, self.problems, self.where = n, mma_kinds, problems, where
        self.exited: set = set()
        self.bar = _Round()
        self.warps = [_Round() for _ in range(-(-n // WARP))]
        self.results: dict = {}  # thread -> the values its warp operation returns

    def problem(self, message: str) -> None:
        self.problems.append(f"{self.where}: {message}")

    # -- bar.sync 0

    def arrive_barrier(self, t: int, site: int) -> list:
        self.bar.arrived[t] = site
        return self._barrier_done() if len(self.bar.arrived) + len(self.exited) == self.n else []

    def _barrier_done(self) -> list:
        sites = sorted(set(self.bar.arrived.values()))
        if len(sites) > 1:
            self.problem(
                f"threads wait at different bar.sync instructions (sites {sites}): "
                "undefined for bar.sync, which is .aligned"
            )
        if self.exited:
            self.problem(
                f"threads {_few(self.exited)} returned while threads "
                f"{_few(self.bar.arrived)} wait at bar.sync (undefined in CUDA)"
            )
        released, self.bar = sorted(self.bar.arrived), _Round()
        return released

    # -- warp operations

    def arrive_warp(self, t: int, key: tuple, payload) -> list:
        w, lane = divmod(t, WARP)
        r = self.warps[w]
        if r.arrived and r.key != key:
            self.problem(
                f"warp {w}: lane {lane} runs {_describe(key)} while lanes "
                f"{_few(r.arrived)} run {_describe(r.key)}"
            )
        r.key = r.key or key
        r.arrived[lane] = payload
        return self._warp_done(w) if self._warp_ready(w) else []

    def _members(self, w: int, key) -> set:
        """The lanes of warp ``w`` that operation ``key`` names (and that exist)."""
        lanes = range(min(WARP, self.n - w * WARP))
        if key[0] == "shfl":
            return {lane for lane in lanes if key[2] >> lane & 1}
        return set(lanes)

    def _warp_ready(self, w: int) -> bool:
        r = self.warps[w]
        exited = {t - w * WARP for t in self.exited if t // WARP == w}
        return bool(r.arrived) and self._members(w, r.key) - exited <= set(r.arrived)

    def _warp_done(self, w: int) -> list:
        r = self.warps[w]
        strays = set(r.arrived) - self._members(w, r.key)
        if strays:
            self.problem(
                f"warp {w}: lanes {_few(strays)} run {_describe(r.key)} without being "
                "in its member mask"
            )
        if r.key[0] == "shfl":
            results, problems = shfl_results(r.key[1], r.arrived)
            for p in problems:
                self.problem(f"warp {w}: {_describe(r.key)}: {p}")
        else:
            if len(r.arrived) != WARP:
                self.problem(
                    f"warp {w}: mma.sync run by lanes {_few(r.arrived)} only (it needs "
                    "the whole warp)"
                )
            ops = {lane: r.arrived.get(lane, (0,) * 6 + (0.0,) * 4) for lane in range(WARP)}
            results = mma_results(self.mma_kinds[r.key[1]], ops)
        released = sorted(w * WARP + lane for lane in r.arrived)
        for lane in r.arrived:
            self.results[w * WARP + lane] = results[lane]
        self.warps[w] = _Round()
        return released

    # -- a thread returned from the kernel

    def exit(self, t: int) -> list:
        self.exited.add(t)
        released = []
        if self.bar.arrived and len(self.bar.arrived) + len(self.exited) == self.n:
            released += self._barrier_done()
        w = t // WARP  # a warp operation waits for the lanes that have not exited (the ISA);
        if self.warps[w].arrived and self._warp_ready(w):  # reading one that has is reported
            released += self._warp_done(w)
        return released

    def stuck(self) -> str:
        waits = [f"{len(self.bar.arrived)} at bar.sync"] if self.bar.arrived else []
        waits += [
            f"warp {w}: lanes {_few(r.arrived)} in {_describe(r.key)}"
            for w, r in enumerate(self.warps)
            if r.arrived
        ]
        return "; ".join(waits)


def _describe(key) -> str:
    if key[0] == "shfl":
        return f"shfl.sync.{key[1]} (mask {key[2]:#x})"
    return "mma.sync"


def _few(threads) -> str:
    threads = sorted(threads)
    return str(threads) if len(threads) <= 8 else f"{threads[:8]}... ({len(threads)})"


# ---- the module -------------------------------------------------------------------------------

_ENTRY = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
_RESUME = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_MAKE_FIBER = ctypes.CFUNCTYPE(
    None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64
)


def _dim3(dims) -> tuple:
    dims = tuple(int(d) for d in dims)
    if not 1 <= len(dims) <= 3:
        raise ValueError(f"a launch dimension has 1 to 3 entries, not {dims}")
    return dims + (1,) * (3 - len(dims))


class _Fibers:
    """Stacks (a guard page at the bottom of each), ucontexts and thread contexts for up to
    ``n`` fibers, plus the scheduler's ucontext."""

    def __init__(self, n: int):
        self.n = n
        self.stacks = mmap.mmap(-1, n * STACK_BYTES)
        self.stack_base = ctypes.addressof(ctypes.c_char.from_buffer(self.stacks))
        libc = ctypes.CDLL(None, use_errno=True)
        for i in range(n):  # PROT_NONE: an overflow faults instead of corrupting a neighbour
            libc.mprotect(
                ctypes.c_void_p(self.stack_base + i * STACK_BYTES),
                ctypes.c_size_t(mmap.PAGESIZE),
                0,
            )
        self.ucs = (ctypes.c_char * (UC_BYTES * (n + 1)))()
        self.ctx = np.zeros((n, CTX_BYTES // 4), np.int32)
        self.ctx_base = self.ctx.ctypes.data
        self.floats = self.ctx.view(np.float32)

    def uc(self, i: int) -> int:
        return ctypes.addressof(self.ucs) + UC_BYTES * i

    def ctx_address(self, t: int) -> int:
        return self.ctx_base + CTX_BYTES * t


class _Compiled:
    """Host machine code of a module (the engine owns it; keep this alive while it runs)."""

    def __init__(self, engine_, module_ref):
        self.engine, self.module_ref = engine_, module_ref

    def address(self, fn_name: str) -> int:
        addr = self.engine.get_function_address(fn_name)
        if not addr:
            raise KeyError(f"no function {fn_name!r} in the host module")
        return addr


def _compile(text: str, name: str, opt_level: int) -> _Compiled:
    """Parse, verify, optimise at ``opt_level`` and JIT-compile host IR (the CPU backend's
    engine would always use O3: minutes for big modules of unrolled tiles, see opt_level)."""
    engine.target_machine()  # initialises the native target
    mod = llvm.parse_assembly(text)
    mod.verify()
    mod.name = name
    if opt_level:
        engine.optimize(mod, opt_level)
    cpu, features = engine.host_cpu()
    tm = llvm.Target.from_default_triple().create_target_machine(
        cpu=cpu, features=features, opt=opt_level, jit=True
    )
    ee = llvm.create_mcjit_compiler(mod, tm)
    ee.finalize_object()
    return _Compiled(ee, mod)


class HostModule:
    """The kernels of one NVPTX LLVM IR module, compiled for the host CPU."""

    schedule = "forward"  # or "reverse": the order the scheduler resumes runnable threads in
    # Host optimisation level: 0 compiles the unrolled matmul tiles ~30x faster than O3; raise
    # it for long sequential grids (the fibers' speed is the Python scheduler's anyway).
    opt_level = 0

    def __init__(self, nvptx_ir: str, name: str = "emu"):
        self.name = name
        rewriter = Rewriter(nvptx_ir)
        self.host_ir = rewriter.run()
        self.functions, self.sites = rewriter.functions, rewriter.sites
        self.mma_kinds = rewriter.mma_kinds
        self.compiled = _compile(self.host_ir, f"{name}_host", self.opt_level)
        address = self.compiled.engine.get_global_value_address
        self._global = lambda sym, n=1, ty=ctypes.c_int64: (ty * n).from_address(address(sym))
        self.shared = {s: (address(s), size) for s, size in rewriter.shared.items()}
        statics = {s: (address(s), size) for s, size in rewriter.statics.items()}
        self._tables = [
            self._range_table(t, [(lo, lo + size) for lo, size in v.values()])
            for t, v in (("shared", self.shared), ("statics", statics))
        ]
        self._ranges_table = None
        self._fibers: _Fibers | None = None
        self._lock = threading.Lock()  # one launch at a time (fibers, ranges, error counters)
        fn = self.compiled.address
        self._resume = _RESUME(fn("emu.resume"))
        self._make_fiber = _MAKE_FIBER(fn("emu.make_fiber"))

    def _range_table(self, table: str, ranges) -> ctypes.Array:
        """Point ``@emu.<table>`` at the [lo, hi) pairs of ``ranges``, sorted, overlapping ones
        merged (what ``emu.within``'s binary search needs); returns the table (keep it)."""
        merged: list = []
        for lo, hi in sorted((int(lo), int(hi)) for lo, hi in ranges if hi > lo):
            if merged and lo < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        pairs = (ctypes.c_uint64 * max(2 * len(merged), 2))(*[v for r in merged for v in r])
        self._global(f"emu.{table}", 1, ctypes.c_void_p)[0] = ctypes.addressof(pairs)
        self._global(f"emu.n{table}")[0] = len(merged)
        return pairs

    def kernel_names(self) -> list[str]:
        return [f.name for f in self.functions.values() if f.kernel]

    def is_cooperative(self, kernel: str) -> bool:
        """Does ``kernel`` (or a function it calls) use barriers, warp operations or shared
        memory? (Then its blocks run as fibers; otherwise all threads run one after another.)"""
        seen, todo = set(), [kernel]
        while todo:
            f = self.functions[todo.pop()]
            if f.cooperative:
                return True
            seen.add(f.name)
            todo += [c for c in f.callees if c not in seen]
        return False

    def launch(
        self,
        kernel: str,
        grid: tuple,
        block: tuple,
        args: list,
        ranges: list[tuple[int, int]] | None = None,
    ) -> None:
        """Run every thread of grid x block (3-tuples). ``args``: raw parameter values in the
        kernel's parameter order (pointers as int addresses, scalars as Python ints/floats).
        ``ranges``: when given, every global-memory load/store address must fall inside one of
        these [lo, hi) byte ranges (shared memory is always allowed); otherwise raise
        AssertionError naming the kernel and the bad address after the launch."""
        fn = self.functions.get(kernel)
        if fn is None or not fn.kernel:
            raise KeyError(
                f"module {self.name!r} has no kernel {kernel!r}; it has {self.kernel_names()}"
            )
        grid, block = _dim3(grid), _dim3(block)
        if math.prod(block) > MAX_THREADS:
            raise ValueError(f"{kernel}: a block of {block} has more than {MAX_THREADS} threads")
        if 0 in grid or 0 in block:
            return
        argbuf = self._pack(fn, args)
        with self._lock:
            problems = self._launch(kernel, grid, block, argbuf, ranges)
        if problems:
            raise AssertionError(
                f"kernel {kernel} (grid {grid}, block {block}): " + "; ".join(problems[:6])
            )

    def _launch(self, kernel: str, grid, block, argbuf, ranges) -> list[str]:
        self._set_ranges(ranges)
        bad = self._global("emu.bad", 4)
        bad[0] = 0
        problems: list[str] = []
        if self.is_cooperative(kernel):
            self._run_blocks(kernel, grid, block, argbuf, problems)
        else:
            ctx = np.zeros(CTX_BYTES // 4, np.int32)
            ctx[[3, 4, 5, 9, 10, 11]] = (*block, *grid)
            _ENTRY(self.compiled.address(f"emu.all.{kernel}"))(
                ctx.ctypes.data, ctypes.addressof(argbuf)
            )
        if bad[0]:
            func, text = self.sites[bad[3]]
            problems.insert(
                0,
                f"{bad[0]} access(es) outside the allowed memory; the first: "
                f"{bad[2]} bytes at {bad[1]:#x} by `{text}` (in {func})",
            )
        return problems

    # -- launch plumbing

    @staticmethod
    def _pack(fn: Function, args) -> ctypes.Array:
        """The arguments as 8-byte slots (what ``emu.one``/``emu.all`` unpack)."""
        if len(args) != len(fn.params):
            raise TypeError(
                f"kernel {fn.name} takes {len(fn.params)} arguments "
                f"({', '.join(fn.params)}), got {len(args)}"
            )
        slots = (ctypes.c_uint64 * max(len(args), 1))()
        for i, (ty, value) in enumerate(zip(fn.params, args)):
            if ty.startswith("ptr") or ty[0] == "i":
                slots[i] = int(value) & 0xFFFFFFFFFFFFFFFF
            elif ty in ("float", "double"):
                raw = struct.pack("<f" if ty == "float" else "<d", float(value))
                slots[i] = int.from_bytes(raw, "little")
            elif ty == "half":
                slots[i] = int(np.float16(value).view(np.uint16))
            else:  # bfloat: the upper half of the float32
                slots[i] = int(np.float32(value).view(np.uint32)) >> 16
        return slots

    def _set_ranges(self, ranges) -> None:
        if ranges is None:
            self._global("emu.nranges")[0] = -1  # no checks of global memory
        else:
            self._ranges_table = self._range_table("ranges", ranges)

    def _fibers_for(self, n: int) -> _Fibers:
        if self._fibers is None or self._fibers.n < n:
            self._fibers = _Fibers(max(n, 32))
        return self._fibers

    def _run_blocks(self, kernel: str, grid, block, argbuf, problems: list) -> None:
        """Block after block; the threads of a block are fibers resumed by ``_run_block``."""
        n = math.prod(block)
        fib = self._fibers_for(n)
        ctx = fib.ctx[:n]
        ctx[:] = 0
        t = np.arange(n)
        ctx[:, 0], ctx[:, 1], ctx[:, 2] = (
            t % block[0],
            t // block[0] % block[1],
            t // (block[0] * block[1]),
        )
        ctx[:, 3:6], ctx[:, 9:12] = block, grid
        ctx[:, CTX["laneid"]], ctx[:, CTX["warpid"]], ctx[:, CTX["linear"]] = t % WARP, t // WARP, t
        pointers = ctx.view(np.int64)
        pointers[:, P_SCHED // 8] = fib.uc(fib.n)
        pointers[:, P_ENTRY // 8] = self.compiled.address(f"emu.one.{kernel}")
        pointers[:, P_ARGS // 8] = ctypes.addressof(argbuf)
        for bz, by, bx in itertools.product(*(range(g) for g in reversed(grid))):
            ctx[:, 6:9] = bx, by, bz
            for lo, size in self.shared.values():
                ctypes.memset(lo, POISON, size)
            for i in range(n):
                self._make_fiber(
                    fib.ctx_address(i),
                    fib.uc(i),
                    fib.stack_base + i * STACK_BYTES + mmap.PAGESIZE,
                    STACK_BYTES - mmap.PAGESIZE,
                )
            where = f"block {(bx, by, bz)}"
            if not self._run_block(_Block(n, self.mma_kinds, problems, where), fib):
                return  # a deadlocked block: its threads are abandoned, the launch failed

    def _run_block(self, blk: _Block, fib: _Fibers) -> bool:
        """Resume runnable threads until none is left; False when some never finished."""
        ctx, floats = fib.ctx, fib.floats
        order = range(blk.n) if self.schedule == "forward" else range(blk.n - 1, -1, -1)
        runnable = collections.deque(order)
        while runnable:
            t = runnable.popleft()
            if t in blk.results:  # hand the thread its warp operation's results
                out = blk.results.pop(t)
                if len(out) == 2:
                    ctx[t, W_RESULT], ctx[t, W_RESULT + 1] = (
                        np.uint32(out[0]).view(np.int32),
                        int(out[1]),
                    )
                else:
                    floats[t, W_RESULT : W_RESULT + 4] = out
            self._resume(fib.ctx_address(t))
            status = ctx[t, W_STATUS]
            if status == DONE:
                released = blk.exit(t)
            elif status == AT_BARRIER:
                released = blk.arrive_barrier(t, int(ctx[t, W_SITE]))
            elif status == AT_SHFL:
                mask, value, b, c = (int(v) & 0xFFFFFFFF for v in ctx[t, W_ARGS : W_ARGS + 4])
                key = ("shfl", SHFL_MODES[ctx[t, W_OP]], mask)
                released = blk.arrive_warp(t, key, (value, b, c))
            elif status == AT_MMA:
                words = [int(v) & 0xFFFFFFFF for v in ctx[t, W_ARGS : W_ARGS + 6]]
                payload = (*words, *map(float, floats[t, W_ARGS + 6 : W_ARGS + 10]))
                released = blk.arrive_warp(t, ("mma", int(ctx[t, W_OP])), payload)
            else:
                raise AssertionError(f"cuda_emu: thread {t} yielded with status {status}")
            runnable.extend(released if self.schedule == "forward" else released[::-1])
        if len(blk.exited) < blk.n:
            blk.problem(
                f"deadlock: threads wait and nothing can run ({blk.stuck()}); "
                f"{len(blk.exited)} of {blk.n} threads returned"
            )
            return False
        return True
