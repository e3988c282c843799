"""The IR half of the block emulator (``cuda_emu``): the thread context layout, the rewriting
of NVPTX LLVM IR into host IR (``Rewriter``) and the runtime IR the rewritten code calls
(address checks, launch shape, special registers, yields and fibers, warp shuffles). See
``cuda_emu``'s docstring for how the pieces fit."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import llvmlite.binding as llvm
from funcgrad.backend.cpu import engine


def register_half_libcalls() -> None:
    """Bind the compiler-runtime conversions to half that host code needs (a PTX ``cvt`` on the
    GPU, a libgcc call on the host CPU: ``fptrunc double to half`` is ``__truncdfhf2``, which
    MCJIT does not find in this process by itself and would call through a null pointer)."""
    import ctypes
    import ctypes.util

    try:
        lib = ctypes.CDLL(ctypes.util.find_library("gcc_s") or "libgcc_s.so.1")
    except OSError:
        return
    for name in ("__truncdfhf2", "__truncsfhf2", "__extendhfsf2"):
        fn = getattr(lib, name, None)
        if fn is not None and not llvm.address_of_symbol(name):
            llvm.add_symbol(name, ctypes.cast(fn, ctypes.c_void_p).value)


register_half_libcalls()

WARP = 32
MAX_THREADS = 1024  # per block, as on every CUDA GPU
POISON = 0xFF  # the bytes of shared memory at the start of every block
SHFL_MODES = ("up", "down", "bfly", "idx")

# The thread context: int32 words, then pointers. The special registers come first.
CTX = {
    name: i
    for i, name in enumerate(
        (
            "tid.x",
            "tid.y",
            "tid.z",
            "ntid.x",
            "ntid.y",
            "ntid.z",
            "ctaid.x",
            "ctaid.y",
            "ctaid.z",
            "nctaid.x",
            "nctaid.y",
            "nctaid.z",
            "laneid",
            "warpid",
            "linear",
        )
    )
}
W_STATUS, W_SITE, W_OP = 15, 16, 17  # what the thread is doing, where, which operation
W_ARGS = 18  # shfl: mask, value, b, c; mma: a0..a3, b0, b1 (b32), c0..c3 (f32)
W_RESULT = 32  # shfl: value, predicate; mma: d0..d3 (f32)
P_FIBER, P_SCHED, P_ENTRY, P_ARGS = 160, 168, 176, 184  # byte offsets of pointers
CTX_BYTES = 192
RUNNING, DONE, AT_BARRIER, AT_SHFL, AT_MMA = range(5)
STACK_BYTES = 256 * 1024  # per fiber (the lowest page is a guard page)
UC_BYTES = 2048  # >= sizeof(ucontext_t) on x86-64 and aarch64 glibc
UC_LINK, UC_STACK_SP, UC_STACK_FLAGS, UC_STACK_SIZE = 8, 16, 24, 32  # ucontext_t offsets

# ---- IR text helpers ----------------------------------------------------------------------------

_NAME = r'(?:"[^"]*"|[-\w.$]+)'
_SCALAR_SIZE = {
    "i1": 1,
    "i8": 1,
    "i16": 2,
    "i32": 4,
    "i64": 8,
    "i128": 16,
    "half": 2,
    "bfloat": 2,
    "float": 4,
    "double": 8,
    "ptr": 8,
}
_ARG_TYPES = {"ptr", "i1", "i8", "i16", "i32", "i64", "half", "bfloat", "float", "double"}


def _ref(name: str) -> str:
    """``@name`` as LLVM writes it (quoted unless it is a plain identifier)."""
    return f"@{name}" if re.fullmatch(r"[-a-zA-Z$._][-\w$.]*", name) else f'@"{name}"'


def _unquote(name: str) -> str:
    return name[1:-1] if name.startswith('"') else name


def _split_top(text: str) -> list[str]:
    """``text`` split at the commas outside brackets and quotes."""
    parts, depth, start, quoted = [], 0, 0, False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return parts + [text[start:]]


def _take_operand(text: str) -> tuple[str, str]:
    """Split ``text`` into its leading operand (a value name, a constant expression such as
    ``getelementptr inbounds (...)``, or a keyword constant) and the rest."""
    text = text.lstrip()
    m = re.match(rf"[%@]{_NAME}", text)
    if m:
        return m.group(0), text[m.end() :]
    if re.match(r"[a-z]+( [a-z]+)* \(", text):
        depth = 0
        for i, ch in enumerate(text):
            depth += ch == "("
            if ch == ")":
                depth -= 1
                if depth == 0:
                    return text[: i + 1], text[i + 1 :]
    token = re.match(r"\S+", text).group(0)
    return token, text[len(token) :]


def _leading_type(text: str) -> str:
    """The type at the start of ``text`` (``float``, ``<2 x i32>``, ``{ float, float }``...)."""
    text = text.strip()
    if text[0] in "[{<":
        depth = 0
        for i, ch in enumerate(text):
            depth += ch in "[{<"
            depth -= ch in "]}>"
            if depth == 0:
                return text[: i + 1]
    return text.split(" ", 1)[0]


def type_size(ty: str) -> tuple[int, int]:
    """``(size, alignment)`` in bytes of an LLVM type written as text (x86-64 layout)."""
    ty = ty.strip()
    if ty.startswith("ptr"):
        return 8, 8
    if ty in _SCALAR_SIZE:
        return _SCALAR_SIZE[ty], _SCALAR_SIZE[ty]
    m = re.fullmatch(r"([\[<])\s*(\d+) x (.+)[\]>]", ty)
    if m:
        size, align = type_size(m.group(3))
        total = int(m.group(2)) * size
        return total, (max(align, min(total, 64)) if m.group(1) == "<" else align)
    if ty.startswith(("{", "<{")):
        packed = ty.startswith("<")
        offset, align = 0, 1
        for part in _split_top(ty.strip("<>")[1:-1]):
            size, a = type_size(part)
            a = 1 if packed else a
            offset = -(-offset // a) * a + size
            align = max(align, a)
        return -(-offset // align) * align, align
    raise NotImplementedError(f"cuda_emu: no size for LLVM type {ty!r}")


# ---- NVPTX IR -> host IR -----------------------------------------------------------------------

_SREG = re.compile(r"@llvm\.nvvm\.read\.ptx\.sreg\.([a-z]+)(?:\.([xyz]))?\(\)")
_BARRIER = re.compile(
    r"call void @llvm\.nvvm\.(?:barrier0\(\)|barrier(?:\.cta)?\.sync"
    r"(?:\.aligned)?(?:\.all)?\(i32 ([^)]*)\))"
)
_SHFL = re.compile(r"@llvm\.nvvm\.shfl\.sync\.(up|down|bfly|idx)\.(i32|f32)(\.p)?\(")
_ASM = re.compile(
    r"asm (?:sideeffect )?(?:alignstack )?(?:inteldialect )?(?:unwind )?"
    r'"((?:[^"\\]|\\.)*)", "((?:[^"\\]|\\.)*)"\('
)
_MMA = re.compile(
    r"mma\.sync\.aligned\.m16n8k16\.row\.col\.f32\.(f16|bf16)\.(f16|bf16)\.f32\s+"
    r"\{([^}]*)\},\s*\{([^}]*)\},\s*\{([^}]*)\},\s*\{([^}]*)\};?"
)
_MMA_CONSTRAINTS = ",".join(["=f"] * 4 + ["r"] * 6 + ["f"] * 4)
_DEFINE = re.compile(rf"^define ([^@]*)@({_NAME})\((.*)\)([^)]*)\{{$")
_ACCESS = re.compile(rf"^(\s+)((?:%{_NAME} = )?)(load|store|atomicrmw|cmpxchg)\b(.*)$")
_LOCAL = re.compile(rf"^\s+(%{_NAME}) = (alloca|getelementptr)\b(.*)$")


@dataclass
class Function:
    name: str
    params: list  # LLVM types of the kernel's own parameters
    kernel: bool
    cooperative: bool = False  # uses barriers, warp operations or shared memory itself
    callees: set = field(default_factory=set)


class Rewriter:
    """One pass over the canonical NVPTX IR text; ``run()`` returns the host IR text."""

    def __init__(self, nvptx_ir: str):
        text = str(llvm.parse_assembly(nvptx_ir))  # canonical printing, intrinsics upgraded
        self.annotated = {
            _unquote(m) for m in re.findall(rf'!\{{ptr @({_NAME}), !"kernel", i32 1\}}', text)
        }
        self.lines = text.splitlines()
        self.functions: dict = {}
        self.sites: list = []  # access check site -> (function, instruction)
        self.shared: dict = {}  # shared array -> bytes
        self.statics: dict = {}  # any other global variable -> bytes
        self.helpers: list[str] = []
        self.mma: dict = {}  # (a type, b type, operand groups) -> helper name
        self.mma_kinds: list = []  # helper index -> (a type, b type)
        self.sync_sites = itertools.count()
        self._shared_re = None

    def run(self) -> str:
        out, current, locals_ = [], None, set()
        defined = {_unquote(m.group(2)) for line in self.lines if (m := _DEFINE.match(line))}
        for line in self.lines:
            if current is None:
                m = _DEFINE.match(line)
                if m:
                    current, locals_ = self._define(m), set()
                    out.append(self._define_line(m))
                else:
                    out.extend(self._module_line(line))
            elif line == "}":
                out.append(line)
                current = None
            else:
                out.extend(self._body_line(line, current, defined, locals_))
        text = "\n".join(out)
        text = re.sub(r"addrspacecast \(ptr(?: addrspace\(\d+\))? ([^ ]+) to ptr\)", r"\1", text)
        space = r"(?: addrspace\(\d+\))?"
        text = re.sub(
            rf"= addrspacecast ptr{space} (\S+) to ptr{space}",
            r"= getelementptr i8, ptr \1, i64 0",
            text,
        )  # one address space on the host
        text = re.sub(r" addrspace\(\d+\)", "", text)
        leftovers = sorted(set(re.findall(r"@llvm\.nvvm\.[\w.]+", text)))
        if leftovers:
            raise NotImplementedError(f"cuda_emu: no host version of {', '.join(leftovers)}")
        tm = engine.target_machine()
        head = f'target triple = "{tm.triple}"\ntarget datalayout = "{tm.target_data}"\n'
        entries = [_entry_points(f) for f in self.functions.values() if f.kernel]
        return "\n".join([head, text, _RUNTIME_IR, *self.helpers, *entries]) + "\n"

    # -- module level

    def _module_line(self, line: str) -> list[str]:
        if re.match(
            r"^(target (triple|datalayout) = |!nvvm\.annotations = |declare .*"
            r"@llvm\.nvvm\.)",
            line,
        ):
            return []
        m = re.match(
            rf"^@({_NAME}) = (.*)addrspace\(3\) (?:externally_initialized )?global "
            r"(.+) (undef|poison|zeroinitializer)(, align \d+)?$",
            line,
        )
        if m:
            name = _unquote(m.group(1))
            self.shared[name] = type_size(m.group(3))[0]
            return [f"{_ref(name)} = global {m.group(3)} zeroinitializer{m.group(5) or ''}"]
        if line.startswith("@") and "addrspace(3)" in line:
            raise NotImplementedError(f"cuda_emu: unsupported shared variable: {line}")
        m = re.match(rf"^@({_NAME}) = [^=]*?\b(?:global|constant) (.*)$", line)
        if m:  # (a constant table, say: accesses inside it are allowed)
            self.statics[_unquote(m.group(1))] = type_size(_leading_type(m.group(2)))[0]
        return [line]

    def _define(self, m) -> Function:
        name = _unquote(m.group(2))
        params = (
            [
                re.match(r"\s*(ptr(?: addrspace\(\d+\))?|\S+)", p).group(1)
                for p in _split_top(m.group(3))
            ]
            if m.group(3).strip()
            else []
        )
        fn = Function(name, params, "ptx_kernel" in m.group(1) or name in self.annotated)
        self.functions[name] = fn
        return fn

    @staticmethod
    def _define_line(m) -> str:
        params = "ptr %emu.ctx" + (", " + m.group(3) if m.group(3).strip() else "")
        pre = m.group(1).replace("ptx_kernel ", "")
        return f"define {pre}@{m.group(2)}({params}){m.group(4)}{{"

    # -- function bodies

    def _body_line(self, line: str, fn: Function, defined, locals_) -> list[str]:
        m = _LOCAL.match(line)
        if m and (m.group(2) == "alloca" or any(f"ptr {x}," in m.group(3) for x in locals_)):
            locals_.add(m.group(1))  # a stack slot, or an address inside one
        line = _SREG.sub(self._sreg, line)
        line, n_bar = _BARRIER.subn(self._barrier, line)
        line, n_shfl = _SHFL.subn(self._shfl, line)
        line, n_asm = _ASM.subn(self._asm, line)
        fn.cooperative |= bool(n_bar or n_shfl or n_asm or self._uses_shared(line))
        for callee in set(re.findall(rf"call [^@]*@({_NAME})\(", line)):
            if _unquote(callee) in defined:
                fn.callees.add(_unquote(callee))
                line = re.sub(
                    rf"(call [^@]*@{re.escape(callee)}\()(\)?)",
                    lambda c: c.group(1) + ("ptr %emu.ctx)" if c.group(2) else "ptr %emu.ctx, "),
                    line,
                )
        m = _ACCESS.match(line)
        return self._checked_access(m, fn, locals_) if m else [line]

    def _uses_shared(self, line: str) -> bool:
        if not self.shared:
            return False
        if self._shared_re is None:  # (shared arrays are defined before any function)
            names = "|".join(re.escape(_ref(s)) for s in self.shared)
            self._shared_re = re.compile(rf"(?:{names})(?![-\w.$])")
        return bool(self._shared_re.search(line))

    @staticmethod
    def _sreg(m) -> str:
        reg = m.group(1) + (f".{m.group(2)}" if m.group(2) else "")
        if reg not in CTX and reg != "warpsize":
            raise NotImplementedError(f"cuda_emu: special register %{reg} is not emulated")
        return f'@"emu.sreg.{reg}"(ptr %emu.ctx)'

    def _barrier(self, m) -> str:
        if m.group(1) not in (None, "0"):
            raise NotImplementedError(f"cuda_emu: only bar.sync 0 is emulated, not {m.group(0)}")
        return f"call void @emu.barrier(ptr %emu.ctx, i32 {next(self.sync_sites)})"

    def _shfl(self, m) -> str:
        mode, ty, pred = m.groups()
        return f'@"emu.shfl.{mode}.{ty}{pred or ""}"(ptr %emu.ctx, i32 {next(self.sync_sites)}, '

    def _asm(self, m) -> str:
        code, constraints = m.group(1).strip(), m.group(2).replace(" ", "")
        mma = _MMA.fullmatch(code)
        if not mma or constraints != _MMA_CONSTRAINTS:
            raise NotImplementedError(
                f"cuda_emu: inline asm is not emulated: {code!r} ({constraints!r})"
            )
        groups = tuple(
            tuple(int(x.strip().lstrip("$")) for x in g.split(",")) for g in mma.groups()[2:]
        )
        if (
            [len(g) for g in groups] != [4, 4, 2, 4]
            or sorted(sum(groups, ())) != list(range(14))
            or sorted(groups[0]) != [0, 1, 2, 3]
        ):
            raise NotImplementedError(f"cuda_emu: unexpected mma operands: {code!r}")
        key = (mma.group(1), mma.group(2), groups)
        if key not in self.mma:
            self.mma[key] = f"emu.mma.{len(self.mma)}"
            self.mma_kinds.append(key[:2])
            self.helpers.append(_mma_helper(self.mma[key], len(self.mma_kinds) - 1, groups))
        return f"{_ref(self.mma[key])}(ptr %emu.ctx, i32 {next(self.sync_sites)}, "

    def _checked_access(self, m, fn: Function, locals_) -> list[str]:
        """The access, preceded by a call that checks (and may redirect) its address."""
        indent, lhs, op, rest = m.groups()
        words, mods = rest.split(" "), []
        while words and words[0] in ("", "atomic", "volatile", "weak"):
            mods.append(words.pop(0))
        parts = _split_top(" ".join(words))
        at = 1 if op in ("load", "store") else 0  # the pointer operand's part
        ty = _leading_type(parts[0] if op in ("load", "store") else parts[1])
        pm = re.match(r"^(\s*(?:\w+ )?)ptr( addrspace\((\d+)\))? (.*)$", parts[at], re.DOTALL)
        operand, tail = _take_operand(pm.group(4))
        space = int(pm.group(3) or 0)
        if operand in locals_ or space == 5:  # the thread's own stack
            return [m.group(0)]
        site = len(self.sites)
        self.sites.append((fn.name, f"{op}{rest}".strip()))
        checker = "emu.check.shared" if space == 3 else "emu.check.global"
        call = (
            f"{indent}%emu.p{site} = call ptr @{checker}(ptr{pm.group(2) or ''} {operand}, "
            f"i64 {type_size(ty)[0]}, i32 {site})"
        )
        parts[at] = f"{pm.group(1)}ptr %emu.p{site}{tail}"
        access = f"{indent}{lhs}{' '.join([op, *filter(None, mods)])} {','.join(parts).lstrip()}"
        return [call, access]


def _entry_points(fn: Function) -> str:
    """``emu.one.<k>(ctx, args)`` calls kernel ``k`` once; ``emu.all.<k>(ctx, args)`` calls it
    for every thread of the grid (``ctx``'s ntid/nctaid give the launch shape). ``args`` is an
    array of 8-byte slots, one per kernel parameter."""
    unpack, values = [], []
    for i, ty in enumerate(fn.params):
        base = "ptr" if ty.startswith("ptr") else ty
        if base not in _ARG_TYPES:
            raise NotImplementedError(f"cuda_emu: kernel {fn.name} has a {ty} parameter")
        unpack.append(
            f"  %s{i} = getelementptr i8, ptr %args, i64 {8 * i}\n"
            f"  %a{i} = load {base}, ptr %s{i}\n"
        )
        values.append(f"{base} %a{i}")
    call = f"  call void {_ref(fn.name)}({', '.join(['ptr %ctx', *values])})\n"
    unpack = "".join(unpack)
    return (
        f"define void {_ref('emu.one.' + fn.name)}(ptr %ctx, ptr %args) {{\n{unpack}{call}"
        f"  ret void\n}}\n"
        f"define void {_ref('emu.all.' + fn.name)}(ptr %ctx, ptr %args) {{\nentry:\n{unpack}"
        "  %total = call i64 @emu.total(ptr %ctx)\n  br label %head\nhead:\n"
        "  %i = phi i64 [ 0, %entry ], [ %next, %body ]\n  %more = icmp ult i64 %i, %total\n"
        "  br i1 %more, label %body, label %done\nbody:\n"
        f"  call void @emu.place(ptr %ctx, i64 %i)\n{call}  %next = add i64 %i, 1\n"
        "  br label %head\ndone:\n  ret void\n}\n"
    )


def _mma_helper(name: str, kind: int, groups) -> str:
    """``{float x4} name(ctx, site, <the asm's inputs $4..$13>)``: the inputs go to the context
    as a0..a3, b0, b1, c0..c3 (placed by the asm's operand numbers), the thread yields, and the
    results d0..d3 come back in the asm's output order."""
    d, a, b, c = groups
    types = ["i32"] * 6 + ["float"] * 4  # $4..$13, as the constraints say
    word_of = {op: W_ARGS + k for k, op in enumerate(a + b + c)}
    body = [
        f"  %q{i} = getelementptr i32, ptr %ctx, i64 {word_of[i + 4]}\n"
        f"  store {types[i]} %x{i}, ptr %q{i}\n"
        for i in range(10)
    ]
    body.append(f"  call void @emu.op(ptr %ctx, i32 {AT_MMA}, i32 %site, i32 {kind})\n")
    result = "undef"
    for out in range(4):
        body.append(
            f"  %r{out}p = getelementptr i32, ptr %ctx, i64 {W_RESULT + d.index(out)}\n"
            f"  %r{out} = load float, ptr %r{out}p\n"
            f"  %s{out} = insertvalue {{ float, float, float, float }} {result}, "
            f"float %r{out}, {out}\n"
        )
        result = f"%s{out}"
    params = ", ".join(["ptr %ctx", "i32 %site", *(f"{t} %x{i}" for i, t in enumerate(types))])
    return (
        f"define {{ float, float, float, float }} {_ref(name)}({params}) {{\n"
        + "".join(body)
        + f"  ret {{ float, float, float, float }} {result}\n}}\n"
    )


# ---- the runtime IR: checks, launch shape, special registers, yields, fibers ---------------------

_CHECK_IR = r"""
@emu.ranges = global ptr null
@emu.nranges = global i64 -1
@emu.shared = global ptr null
@emu.nshared = global i64 0
@emu.statics = global ptr null
@emu.nstatics = global i64 0
@emu.bad = global [4 x i64] zeroinitializer
@emu.dummy = global [128 x i64] zeroinitializer, align 64

define internal i1 @emu.within(ptr %table, i64 %n, i64 %lo, i64 %hi) {
entry:
  br label %head
head:                       ; binary search: a = how many ranges start at or below %lo
  %a = phi i64 [ 0, %entry ], [ %a2, %step ]
  %b = phi i64 [ %n, %entry ], [ %b2, %step ]
  %more = icmp slt i64 %a, %b
  br i1 %more, label %step, label %found
step:
  %d = sub i64 %b, %a
  %half = lshr i64 %d, 1
  %m = add i64 %a, %half
  %pm = getelementptr [2 x i64], ptr %table, i64 %m, i64 0
  %start = load i64, ptr %pm
  %below = icmp ule i64 %start, %lo
  %m1 = add i64 %m, 1
  %a2 = select i1 %below, i64 %m1, i64 %a
  %b2 = select i1 %below, i64 %b, i64 %m
  br label %head
found:
  %none = icmp eq i64 %a, 0
  br i1 %none, label %no, label %check
check:                      ; the last range starting at or below %lo must hold [lo, hi)
  %k = sub i64 %a, 1
  %pe = getelementptr [2 x i64], ptr %table, i64 %k, i64 1
  %end = load i64, ptr %pe
  %in = icmp ule i64 %hi, %end
  ret i1 %in
no:
  ret i1 false
}

define internal ptr @emu.reject(i64 %addr, i64 %size, i32 %site) {
entry:
  %c = atomicrmw add ptr @emu.bad, i64 1 seq_cst
  %first = icmp eq i64 %c, 0
  br i1 %first, label %keep, label %done
keep:
  %p1 = getelementptr i64, ptr @emu.bad, i64 1
  store i64 %addr, ptr %p1
  %p2 = getelementptr i64, ptr @emu.bad, i64 2
  store i64 %size, ptr %p2
  %p3 = getelementptr i64, ptr @emu.bad, i64 3
  %s = sext i32 %site to i64
  store i64 %s, ptr %p3
  br label %done
done:
  ret ptr @emu.dummy
}

define internal i1 @emu.in_shared(i64 %lo, i64 %hi) {
  %st = load ptr, ptr @emu.shared
  %sn = load i64, ptr @emu.nshared
  %in = call i1 @emu.within(ptr %st, i64 %sn, i64 %lo, i64 %hi)
  ret i1 %in
}

define ptr @emu.check.global(ptr %p, i64 %size, i32 %site) {
entry:
  %n = load i64, ptr @emu.nranges
  %off = icmp slt i64 %n, 0
  br i1 %off, label %ok, label %check
check:
  %lo = ptrtoint ptr %p to i64
  %hi = add i64 %lo, %size
  %t = load ptr, ptr @emu.ranges
  %in = call i1 @emu.within(ptr %t, i64 %n, i64 %lo, i64 %hi)
  br i1 %in, label %ok, label %shared
shared:
  %ins = call i1 @emu.in_shared(i64 %lo, i64 %hi)
  br i1 %ins, label %ok, label %statics
statics:
  %gt = load ptr, ptr @emu.statics
  %gn = load i64, ptr @emu.nstatics
  %ing = call i1 @emu.within(ptr %gt, i64 %gn, i64 %lo, i64 %hi)
  br i1 %ing, label %ok, label %bad
bad:
  %d = call ptr @emu.reject(i64 %lo, i64 %size, i32 %site)
  ret ptr %d
ok:
  ret ptr %p
}

define ptr @emu.check.shared(ptr %p, i64 %size, i32 %site) {
entry:
  %lo = ptrtoint ptr %p to i64
  %hi = add i64 %lo, %size
  %ins = call i1 @emu.in_shared(i64 %lo, i64 %hi)
  br i1 %ins, label %ok, label %bad
bad:
  %d = call ptr @emu.reject(i64 %lo, i64 %size, i32 %site)
  ret ptr %d
ok:
  ret ptr %p
}
"""


def _launch_shape_ir() -> str:
    """``emu.total(ctx)``: the threads of the launch; ``emu.place(ctx, i)``: make ``ctx`` thread
    ``i`` of the launch (thread index fastest, then block index; x fastest in each)."""
    load = "".join(
        f"  %p{i} = getelementptr i32, ptr %ctx, i64 {i}\n  %v{i} = load i32, ptr "
        f"%p{i}\n  %e{i} = zext i32 %v{i} to i64\n"
        for i in (3, 4, 5, 9, 10, 11)
    )
    total = (
        f"define i64 @emu.total(ptr %ctx) {{\n{load}  %m0 = mul i64 %e3, %e4\n"
        "  %m1 = mul i64 %m0, %e5\n  %m2 = mul i64 %m1, %e9\n  %m3 = mul i64 %m2, %e10\n"
        "  %m4 = mul i64 %m3, %e11\n  ret i64 %m4\n}\n"
    )
    steps = [
        ("n0", "mul i64 %e3, %e4"),
        ("nthreads", "mul i64 %n0, %e5"),
        ("t", "urem i64 %i, %nthreads"),
        ("blk", "udiv i64 %i, %nthreads"),
        ("tx", "urem i64 %t, %e3"),
        ("t1", "udiv i64 %t, %e3"),
        ("ty", "urem i64 %t1, %e4"),
        ("tz", "udiv i64 %t1, %e4"),
        ("cx", "urem i64 %blk, %e9"),
        ("c1", "udiv i64 %blk, %e9"),
        ("cy", "urem i64 %c1, %e10"),
        ("cz", "udiv i64 %c1, %e10"),
        ("lane", "urem i64 %t, 32"),
        ("warp", "udiv i64 %t, 32"),
    ]
    body = "".join(f"  %{v} = {expr}\n" for v, expr in steps)
    for v, reg in (
        ("tx", "tid.x"),
        ("ty", "tid.y"),
        ("tz", "tid.z"),
        ("cx", "ctaid.x"),
        ("cy", "ctaid.y"),
        ("cz", "ctaid.z"),
        ("lane", "laneid"),
        ("warp", "warpid"),
        ("t", "linear"),
    ):
        body += (
            f"  %{v}.w = trunc i64 %{v} to i32\n"
            f"  %{v}.p = getelementptr i32, ptr %ctx, i64 {CTX[reg]}\n"
            f"  store i32 %{v}.w, ptr %{v}.p\n"
        )
    return total + f"define void @emu.place(ptr %ctx, i64 %i) {{\n{load}{body}  ret void\n}}\n"


def _sreg_ir() -> str:
    defs = [
        f'define i32 @"emu.sreg.{reg}"(ptr %ctx) {{\n'
        f"  %p = getelementptr i32, ptr %ctx, i64 {i}\n  %v = load i32, ptr %p\n"
        f"  ret i32 %v\n}}\n"
        for reg, i in CTX.items()
    ]
    return "".join(defs) + 'define i32 @"emu.sreg.warpsize"(ptr %ctx) {\n  ret i32 32\n}\n'


def _yield_ir() -> str:
    """Yielding to the scheduler: a thread stops at an operation and switches to it."""
    return f"""
declare i32 @getcontext(ptr)
declare void @makecontext(ptr, ptr, i32, ...)
declare i32 @swapcontext(ptr, ptr)
@emu.current = global ptr null

define void @emu.yield(ptr %ctx) {{
  %fp = getelementptr i8, ptr %ctx, i64 {P_FIBER}
  %fiber = load ptr, ptr %fp
  %sp = getelementptr i8, ptr %ctx, i64 {P_SCHED}
  %sched = load ptr, ptr %sp
  %r = call i32 @swapcontext(ptr %fiber, ptr %sched)
  ret void
}}

define void @emu.op(ptr %ctx, i32 %status, i32 %site, i32 %op) {{
  %p0 = getelementptr i32, ptr %ctx, i64 {W_STATUS}
  store i32 %status, ptr %p0
  %p1 = getelementptr i32, ptr %ctx, i64 {W_SITE}
  store i32 %site, ptr %p1
  %p2 = getelementptr i32, ptr %ctx, i64 {W_OP}
  store i32 %op, ptr %p2
  call void @emu.yield(ptr %ctx)
  ret void
}}

define void @emu.barrier(ptr %ctx, i32 %site) {{
  call void @emu.op(ptr %ctx, i32 {AT_BARRIER}, i32 %site, i32 0)
  ret void
}}
"""


def _fiber_ir() -> str:
    """The fibers' life (glibc ucontext): start, make, resume."""
    return f"""
define void @emu.fiber_main() {{
  %ctx = load ptr, ptr @emu.current
  %ep = getelementptr i8, ptr %ctx, i64 {P_ENTRY}
  %entry = load ptr, ptr %ep
  %ap = getelementptr i8, ptr %ctx, i64 {P_ARGS}
  %args = load ptr, ptr %ap
  call void %entry(ptr %ctx, ptr %args)
  %sp = getelementptr i32, ptr %ctx, i64 {W_STATUS}
  store i32 {DONE}, ptr %sp
  ret void
}}

define void @emu.make_fiber(ptr %ctx, ptr %uc, ptr %stack, i64 %size) {{
  %r = call i32 @getcontext(ptr %uc)
  %sp = getelementptr i8, ptr %ctx, i64 {P_SCHED}
  %sched = load ptr, ptr %sp
  %l = getelementptr i8, ptr %uc, i64 {UC_LINK}
  store ptr %sched, ptr %l
  %s = getelementptr i8, ptr %uc, i64 {UC_STACK_SP}
  store ptr %stack, ptr %s
  %f = getelementptr i8, ptr %uc, i64 {UC_STACK_FLAGS}
  store i32 0, ptr %f
  %z = getelementptr i8, ptr %uc, i64 {UC_STACK_SIZE}
  store i64 %size, ptr %z
  call void (ptr, ptr, i32, ...) @makecontext(ptr %uc, ptr @emu.fiber_main, i32 0)
  %fp = getelementptr i8, ptr %ctx, i64 {P_FIBER}
  store ptr %uc, ptr %fp
  %st = getelementptr i32, ptr %ctx, i64 {W_STATUS}
  store i32 {RUNNING}, ptr %st
  ret void
}}

define void @emu.resume(ptr %ctx) {{
  store ptr %ctx, ptr @emu.current
  %st = getelementptr i32, ptr %ctx, i64 {W_STATUS}
  store i32 {RUNNING}, ptr %st
  %sp = getelementptr i8, ptr %ctx, i64 {P_SCHED}
  %sched = load ptr, ptr %sp
  %fp = getelementptr i8, ptr %ctx, i64 {P_FIBER}
  %fiber = load ptr, ptr %fp
  %r = call i32 @swapcontext(ptr %sched, ptr %fiber)
  ret void
}}
"""


def _shfl_ir() -> str:
    """``emu.shfl.<mode>.<i32|f32>[.p](ctx, site, mask, value, b, c)``."""
    defs = []
    for (mode_index, mode), ty, pred in itertools.product(
        enumerate(SHFL_MODES), ("i32", "f32"), ("", ".p")
    ):
        lty = "i32" if ty == "i32" else "float"
        ret = f"{{ {lty}, i1 }}" if pred else lty
        lines = [
            f"  %w{i} = getelementptr i32, ptr %ctx, i64 {W_ARGS + i}\n"
            f"  store {t} %{v}, ptr %w{i}\n"
            for i, (t, v) in enumerate((("i32", "mask"), (lty, "v"), ("i32", "b"), ("i32", "c")))
        ]
        lines.append(
            f"  call void @emu.op(ptr %ctx, i32 {AT_SHFL}, i32 %site, i32 {mode_index})\n"
            f"  %rp = getelementptr i32, ptr %ctx, i64 {W_RESULT}\n"
            f"  %r = load {lty}, ptr %rp\n"
        )
        value = "%r"
        if pred:
            lines.append(
                f"  %pp = getelementptr i32, ptr %ctx, i64 {W_RESULT + 1}\n"
                "  %pw = load i32, ptr %pp\n  %pb = trunc i32 %pw to i1\n"
                f"  %s0 = insertvalue {ret} undef, {lty} %r, 0\n"
                f"  %s1 = insertvalue {ret} %s0, i1 %pb, 1\n"
            )
            value = "%s1"
        defs.append(
            f'define {ret} @"emu.shfl.{mode}.{ty}{pred}"(ptr %ctx, i32 %site, i32 %mask, '
            f"{lty} %v, i32 %b, i32 %c) {{\n{''.join(lines)}  ret {ret} {value}\n}}\n"
        )
    return "".join(defs)


_RUNTIME_IR = (
    f"{_CHECK_IR}\n{_launch_shape_ir()}\n{_sreg_ir()}\n{_yield_ir()}\n{_fiber_ir()}\n{_shfl_ir()}"
)
