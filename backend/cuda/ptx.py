"""NVPTX code generation helpers on top of llvmlite: target machine, kernel modules, thread
indexing, grid-stride loops, warp and block reductions, PTX emission and a ptxas check.

The renderer side of the CUDA backend: it builds LLVM IR and turns it into PTX text; loading
and launching is ``runtime.py``'s job.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import shutil
import subprocess
import tempfile
from pathlib import Path

import llvmlite.binding as llvm
from funcgrad.backend.llvm import LLVM_LOCK
from funcgrad.backend.llvm.builders import for_range
from llvmlite import ir

NVPTX_TRIPLE = "nvptx64-nvidia-cuda"
DEFAULT_ARCH = "sm_80"
WARP_SIZE = 32
FULL_MASK = -1  # all 32 lanes, as i32

i1, i16, i32, i64 = ir.IntType(1), ir.IntType(16), ir.IntType(32), ir.IntType(64)
f16, f32, f64 = ir.HalfType(), ir.FloatType(), ir.DoubleType()
ptr = ir.PointerType()
SHARED = 3  # NVPTX address space of __shared__ memory

_unique = itertools.count()


# ---- target ----------------------------------------------------------------------------------


@functools.cache
def _init_targets() -> None:
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()


@functools.cache
def nvptx_target_machine(arch: str = DEFAULT_ARCH, features: str = "") -> llvm.TargetMachine:
    """An O3 NVPTX target machine for ``arch`` (e.g. ``"sm_80"``, ``"sm_90"``)."""
    _init_targets()
    target = llvm.Target.from_triple(NVPTX_TRIPLE)
    return target.create_target_machine(cpu=arch, features=features, opt=3)


def new_kernel_module(name: str, arch: str = DEFAULT_ARCH) -> ir.Module:
    """An empty ``ir.Module`` with the nvptx64 triple and data layout."""
    module = ir.Module(name=name)
    module.triple = NVPTX_TRIPLE
    module.data_layout = str(nvptx_target_machine(arch).target_data)
    return module


def mark_kernel(module: ir.Module, fn: ir.Function) -> ir.Function:
    """Add ``!nvvm.annotations = !{!{ptr @fn, !"kernel", i32 1}}`` so ``fn`` becomes an ``.entry``.

    (LLVM >= 20 upgrades the annotation to the ``ptx_kernel`` calling convention on parse.)
    """
    fn_ref = ir.FormattedConstant(ptr, fn.get_reference())  # prints as `ptr @fn`
    node = module.add_metadata([fn_ref, ir.MetaDataString(module, "kernel"), i32(1)])
    module.add_named_metadata("nvvm.annotations", node)
    return fn


def new_kernel(module: ir.Module, name: str, arg_types, arg_names=()) -> tuple:
    """Define a marked ``void`` kernel; return ``(fn, builder)`` positioned in its entry block."""
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), list(arg_types)), name=name)
    for arg, arg_name in zip(fn.args, arg_names):
        arg.name = arg_name
    mark_kernel(module, fn)
    return fn, ir.IRBuilder(fn.append_basic_block("entry"))


# ---- intrinsics and thread indexing ----------------------------------------------------------


def intrinsic(module: ir.Module, name: str, ret, args) -> ir.Function:
    """Declare (once) and return intrinsic ``name`` in ``module``."""
    if name in module.globals:
        return module.globals[name]
    return ir.Function(module, ir.FunctionType(ret, list(args)), name=name)


def sreg(builder: ir.IRBuilder, reg: str, dim: str = "x") -> ir.Value:
    """Read special register ``%reg.dim`` (``tid``, ``ntid``, ``ctaid``, ``nctaid``) as i32."""
    name = f"llvm.nvvm.read.ptx.sreg.{reg}.{dim}" if dim else f"llvm.nvvm.read.ptx.sreg.{reg}"
    return builder.call(intrinsic(builder.module, name, i32, []), [], name=f"{reg}{dim}")


def thread_idx(builder, dim="x"):
    return sreg(builder, "tid", dim)


def block_dim(builder, dim="x"):
    return sreg(builder, "ntid", dim)


def block_idx(builder, dim="x"):
    return sreg(builder, "ctaid", dim)


def grid_dim(builder, dim="x"):
    return sreg(builder, "nctaid", dim)


def global_thread_id(builder: ir.IRBuilder, dim: str = "x") -> ir.Value:
    """``ctaid * ntid + tid`` along ``dim``, as i64 (so large arrays index safely)."""
    base = builder.mul(
        builder.zext(block_idx(builder, dim), i64), builder.zext(block_dim(builder, dim), i64)
    )
    return builder.add(base, builder.zext(thread_idx(builder, dim), i64), name="gid")


def grid_stride(builder: ir.IRBuilder, dim: str = "x") -> ir.Value:
    """Total threads in the grid along ``dim`` (``ntid * nctaid``), as i64."""
    return builder.mul(
        builder.zext(block_dim(builder, dim), i64),
        builder.zext(grid_dim(builder, dim), i64),
        name="gstride",
    )


def lane_and_warp(builder: ir.IRBuilder) -> tuple:
    """(lane id, warp id within the block), both i32, for a 1-D block."""
    tid = thread_idx(builder)
    return builder.and_(tid, i32(WARP_SIZE - 1)), builder.lshr(tid, i32(5))


def barrier(builder: ir.IRBuilder) -> None:
    """``bar.sync 0`` (``__syncthreads()``)."""
    builder.call(intrinsic(builder.module, "llvm.nvvm.barrier0", ir.VoidType(), []), [])


# ---- grid-stride loops ---------------------------------------------------------------------------


@contextlib.contextmanager
def emit_grid_stride_loop(builder: ir.IRBuilder, n: ir.Value, dim: str = "x"):
    """``for (i = gid; i < n; i += ntid*nctaid)``; yields ``i`` as i64 (``n`` must be i64)."""
    with for_range(builder, global_thread_id(builder, dim), n, grid_stride(builder, dim)) as i:
        yield i


# ---- reductions ------------------------------------------------------------------------------

# (op, is_float) -> how to combine two values; and each op's identity.
_COMBINE = {
    ("add", True): lambda b, x, y: b.fadd(x, y),
    ("add", False): lambda b, x, y: b.add(x, y),
    ("max", True): lambda b, x, y: _minmax(b, "llvm.maxnum", x, y),
    ("max", False): lambda b, x, y: b.select(b.icmp_signed(">", x, y), x, y),
    ("min", True): lambda b, x, y: _minmax(b, "llvm.minnum", x, y),
    ("min", False): lambda b, x, y: b.select(b.icmp_signed("<", x, y), x, y),
}
_IDENTITY = {
    ("add", True): 0.0,
    ("add", False): 0,
    ("max", True): float("-inf"),
    ("max", False): -(2**31),
    ("min", True): float("inf"),
    ("min", False): 2**31 - 1,
}


def _minmax(builder, base, x, y):
    fn = intrinsic(builder.module, f"{base}.f32", f32, [f32, f32])
    return builder.call(fn, [x, y])


def _is_float(value) -> bool:
    if value.type not in (f32, i32):
        raise TypeError(f"warp reductions support f32 and i32 values, not {value.type}")
    return value.type == f32


def shfl_bfly(builder: ir.IRBuilder, value: ir.Value, lane_mask: int) -> ir.Value:
    """``shfl.sync.bfly`` over the full warp: the value held by lane ``lane ^ lane_mask``."""
    suffix = "f32" if _is_float(value) else "i32"
    fn = intrinsic(
        builder.module,
        f"llvm.nvvm.shfl.sync.bfly.{suffix}",
        value.type,
        [i32, value.type, i32, i32],
    )
    return builder.call(fn, [i32(FULL_MASK), value, i32(lane_mask), i32(WARP_SIZE - 1)])


def warp_reduce(builder: ir.IRBuilder, value: ir.Value, op: str = "add") -> ir.Value:
    """Butterfly reduction over a full warp; every lane gets the result."""
    combine = _COMBINE[op, _is_float(value)]
    for mask in (16, 8, 4, 2, 1):
        value = combine(builder, value, shfl_bfly(builder, value, mask))
    return value


def shared_array(module: ir.Module, elem_type, count: int, name: str = "smem"):
    """A module-level ``addrspace(3)`` array of ``count`` elements (static shared memory)."""
    gv = ir.GlobalVariable(
        module, ir.ArrayType(elem_type, count), name=f"{name}.{next(_unique)}", addrspace=SHARED
    )
    gv.linkage, gv.align = "internal", 16
    gv.initializer = ir.Constant(gv.value_type, ir.Undefined)
    return gv


def shared_ptr(builder: ir.IRBuilder, array, index: ir.Value) -> ir.Value:
    """Pointer to ``array[index]`` in shared memory."""
    # llvmlite types a global as a typed pointer; refer to it through an opaque one so that
    # loads and stores through the GEP are not checked against the array type.
    base = ir.FormattedConstant(ir.PointerType(addrspace=SHARED), array.get_reference())
    return builder.gep(base, [i32(0), index], inbounds=True, source_etype=array.value_type)


def block_reduce(builder: ir.IRBuilder, value: ir.Value, op: str = "add") -> ir.Value:
    """Reduce ``value`` over a 1-D block (size a multiple of 32, at most 1024); every thread
    gets the result. Warp shuffles, then one partial per warp through shared memory."""
    is_float = _is_float(value)
    identity = ir.Constant(value.type, _IDENTITY[op, is_float])
    partials = shared_array(builder.module, value.type, WARP_SIZE, "partials")
    lane, warp = lane_and_warp(builder)
    value = warp_reduce(builder, value, op)
    with builder.if_then(builder.icmp_unsigned("==", lane, i32(0))):
        builder.store(value, shared_ptr(builder, partials, warp))
    barrier(builder)
    n_warps = builder.lshr(block_dim(builder), i32(5))
    in_range = builder.icmp_unsigned("<", lane, n_warps)
    slot = shared_ptr(builder, partials, builder.select(in_range, lane, i32(0)))
    partial = builder.load(slot, typ=value.type)
    total = warp_reduce(builder, builder.select(in_range, partial, identity), op)
    barrier(builder)  # every warp has read its partials before a later reuse overwrites them
    return total


# ---- tensor cores --------------------------------------------------------------------------

_MMA_ASM = (
    "mma.sync.aligned.m16n8k16.row.col.f32.{t}.{t}.f32 "
    "{{$0,$1,$2,$3}}, {{$4,$5,$6,$7}}, {{$8,$9}}, {{$10,$11,$12,$13}};"
)
_MMA_CONSTRAINTS = ",".join(["=f"] * 4 + ["r"] * 6 + ["f"] * 4)


def mma_m16n8k16(builder: ir.IRBuilder, kind: str, a_regs, b_regs, c_vals) -> list:
    """One warp-wide ``mma.sync.m16n8k16`` (``kind`` "f16" or "bf16" operands, float32
    accumulation): four A and two B registers (two 16-bit values each, the first in the low
    half) and four float32 C values in; the four float32 D values out."""
    fty = ir.FunctionType(ir.LiteralStructType([f32] * 4), [i32] * 6 + [f32] * 4)
    asm = ir.InlineAsm(fty, _MMA_ASM.format(t=kind), _MMA_CONSTRAINTS, side_effect=False)
    out = builder.call(asm, [*a_regs, *b_regs, *c_vals])
    return [builder.extract_value(out, j) for j in range(4)]


# ---- PTX emission and checking ---------------------------------------------------------------


def optimize(module, arch: str = DEFAULT_ARCH) -> llvm.ModuleRef:
    """Parse and verify ``module`` (``ir.Module`` or IR text) and run the O3 pipeline on it."""
    with LLVM_LOCK:
        tm = nvptx_target_machine(arch)
        ref = llvm.parse_assembly(str(module))
        ref.verify()
        pto = llvm.create_pipeline_tuning_options(speed_level=3)
        builder = llvm.create_pass_builder(tm, pto)
        builder.getModulePassManager().run(ref, builder)
        return ref


def compile_ptx(module, arch: str = DEFAULT_ARCH) -> str:
    """Optimise ``module`` at O3 for ``arch`` and return the PTX assembly text."""
    with LLVM_LOCK:
        return nvptx_target_machine(arch).emit_assembly(optimize(module, arch))


def ptxas_check(ptx: str, arch: str = "sm_90"):
    """Assemble ``ptx`` with ``ptxas -arch=arch``; return ``(ok, log)``, or None without ptxas."""
    exe = shutil.which("ptxas")
    if exe is None:
        return None
    with tempfile.TemporaryDirectory(prefix="funcgrad-ptxas-") as tmp:
        src = Path(tmp, "kernel.ptx")
        src.write_text(ptx)
        cmd = [exe, f"-arch={arch}", "-v", str(src), "-o", str(Path(tmp, "kernel.cubin"))]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()
