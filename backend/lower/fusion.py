"""Jaxpr -> kernel program (backend/kernel_ir.py).

One walk over the equations. Every value is a lazy expression (``Expr``): a DAG of scalar
nodes over an iteration shape whose leaves are loads through affine views. Elementwise
primitives build bigger DAGs; broadcasts, transposes, reshapes, slices and reversals only
rewrite the views of the leaves (index arithmetic, no copy); a reduction turns the DAG of its
operand into the body of a reduction kernel. A DAG becomes a kernel that writes a buffer
("materialised") when it is an output, is used by several equations (unless it is cheap to
recompute), would be recomputed by a broadcast, or feeds a library call (dot) or a fallback.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from funcgrad.backend import kernel_ir as K

from funcgrad._src.core import Jaxpr, Literal, Var

REDUCTIONS = {
    "reduce_sum": "sum",
    "reduce_max": "max",
    "reduce_min": "min",
    "reduce_prod": "prod",
    "reduce_and": "and",
    "reduce_or": "or",
}
IDENTITY_PRIMS = {"stop_gradient", "name"}  # name: checkpoint_name
EXPENSIVE = {
    "exp",
    "exp2",
    "log",
    "expm1",
    "log1p",
    "tanh",
    "logistic",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "asinh",
    "acosh",
    "atanh",
    "sqrt",
    "rsqrt",
    "cbrt",
    "erf",
    "erfc",
    "erf_inv",
    "lgamma",
    "digamma",
    "trigamma",
    "pow",
    "atan2",
    "div",
    "rem",
}
MAX_NODES = 256  # materialise bigger DAGs (compile time)


# ---- lazy expressions ---------------------------------------------------------------------------


class N:
    """A scalar node: kind 'load' (buf, View) | 'iota' (shape, dim, View) | 'const' value |
    'op' (prim, params)."""

    __slots__ = ("args", "dtype", "kind", "payload")

    def __init__(self, kind, dtype, payload, args=()):
        self.kind, self.dtype, self.payload, self.args = kind, np.dtype(dtype), payload, args


@dataclass(frozen=True, eq=False)
class Expr:
    shape: tuple
    root: N
    nops: int  # op nodes in the DAG (roughly: the cost of recomputing it)
    expensive: bool


contiguous_strides = K.contiguous_strides


def _map_views(e: Expr, shape, fn) -> Expr | None:
    """Rewrite every leaf view with ``fn(view) -> view | None`` (None: not expressible)."""
    memo: dict = {}

    def go(n: N):
        if id(n) in memo:
            return memo[id(n)]
        if n.kind == "load":
            v = fn(n.payload[1])
            out = None if v is None else N("load", n.dtype, (n.payload[0], v))
        elif n.kind == "iota":
            v = fn(n.payload[2])
            out = None if v is None else N("iota", n.dtype, n.payload[:2] + (v,))
        elif n.kind == "const":
            out = n
        else:
            args = [go(a) for a in n.args]
            out = None if any(a is None for a in args) else N("op", n.dtype, n.payload, tuple(args))
        memo[id(n)] = out
        return out

    root = go(e.root)
    return None if root is None else Expr(tuple(shape), root, e.nops, e.expensive)


# ---- view arithmetic (each returns new strides/offset over the new iteration shape) ----------


def view_broadcast(in_shape, shape, bdims):
    def fn(v: K.View):
        strides = [0] * len(shape)
        for i, d in enumerate(bdims):
            if in_shape[i] == shape[d] and in_shape[i] != 1:
                strides[d] = v.strides[i]
        return K.View(tuple(strides), v.offset)

    return fn


def view_transpose(perm):
    return lambda v: K.View(tuple(v.strides[p] for p in perm), v.offset)


def view_squeeze(dims):
    return lambda v: K.View(tuple(s for i, s in enumerate(v.strides) if i not in dims), v.offset)


def view_expand(out_ndim, dims):
    def fn(v: K.View):
        it = iter(v.strides)
        return K.View(tuple(0 if i in dims else next(it) for i in range(out_ndim)), v.offset)

    return fn


def view_slice(starts, steps):
    def fn(v: K.View):
        off = v.offset + sum(s * st for s, st in zip(v.strides, starts))
        return K.View(tuple(s * k for s, k in zip(v.strides, steps)), off)

    return fn


def view_rev(shape, dims):
    def fn(v: K.View):
        off = v.offset + sum((shape[d] - 1) * v.strides[d] for d in dims if shape[d] > 0)
        return K.View(tuple(-s if i in dims else s for i, s in enumerate(v.strides)), off)

    return fn


def reshape_strides(old_shape, old_strides, new_shape):
    """Strides that read ``old`` (as a strided view) in row-major order of ``new_shape``;
    None if no such strides exist (numpy's attempt_nocopy_reshape)."""
    if int(np.prod(new_shape, dtype=np.int64)) == 0:
        return (0,) * len(new_shape)
    old = [(n, s) for n, s in zip(old_shape, old_strides) if n != 1]
    new_strides = [0] * len(new_shape)
    oi = ni = 0
    nonone = [i for i, n in enumerate(new_shape) if n != 1]
    while oi < len(old) and ni < len(nonone):
        oj, nj = oi + 1, ni + 1
        op, np_ = old[oi][0], new_shape[nonone[ni]]
        while op != np_:
            if np_ < op:
                np_ *= new_shape[nonone[nj]]
                nj += 1
            else:
                op *= old[oj][0]
                oj += 1
        for k in range(oi, oj - 1):
            if old[k][1] != old[k + 1][0] * old[k + 1][1]:
                return None
        last = old[oj - 1][1]
        for k in range(nj - 1, ni - 1, -1):
            new_strides[nonone[k]] = last
            last *= new_shape[nonone[k]]
        oi, ni = oj, nj
    return tuple(new_strides)


def view_reshape(old_shape, new_shape):
    def fn(v: K.View):
        st = reshape_strides(old_shape, v.strides, new_shape)
        return None if st is None else K.View(st, v.offset)

    return fn


# ---- the fuser -----------------------------------------------------------------------------------


class Fuser:
    """Walks a jaxpr and emits a kernel program. ``can_emit(prim, in_dtypes, out_dtype, params)``
    says which scalar ops the backend's codegen supports; ``dtype_ok(dtype)`` which dtypes its
    loops can load and store."""

    def __init__(
        self, jaxpr: Jaxpr, name: str, can_emit, dtype_ok, can_dot, native=None, aliases=None
    ):
        self.jaxpr, self.name = jaxpr, name
        self.native = native
        self.aliases = dict(aliases or {})  # output index -> input index (donated buffers)
        self.in_bufs: list = []
        self.can_emit, self.dtype_ok, self.can_dot = can_emit, dtype_ok, can_dot
        self.buffers: list[K.Buffer] = []
        self.steps: list = []
        self.env: dict = {}
        self.uses = self._count_uses()
        self.out_index: dict = {}  # var -> output position, first occurrence
        for i, v in enumerate(jaxpr.outvars):
            if isinstance(v, Var) and v not in self.out_index:
                self.out_index[v] = i
        self.out_bufs: list = [None] * len(jaxpr.outvars)

    def _count_uses(self) -> dict:
        uses: dict = {}
        for eqn in self.jaxpr.eqns:
            for x in {id(x): x for x in eqn.inputs if isinstance(x, Var)}.values():
                uses[x] = uses.get(x, 0) + 1
        for x in self.jaxpr.outvars:
            if isinstance(x, Var):
                uses[x] = uses.get(x, 0) + 1
        return uses

    # -- buffers -----------------------------------------------------------------------------

    def new_buffer(self, aval, kind="tmp", index=-1) -> int:
        b = K.Buffer(len(self.buffers), tuple(aval.shape), np.dtype(aval.dtype), kind, index)
        self.buffers.append(b)
        return b.id

    def result_buffer(self, var) -> int:
        """The buffer a step defining ``var`` writes: its output buffer if it is an output
        (the donated input's buffer when that output aliases an input)."""
        i = self.out_index.pop(var, None)
        if i is None:
            return self.new_buffer(var.aval)
        b = (
            self.in_bufs[self.aliases[i]]
            if i in self.aliases
            else self.new_buffer(var.aval, "out", i)
        )
        self.out_bufs[i] = b
        return b

    def load_expr(self, buf: int) -> Expr:
        b = self.buffers[buf]
        view = K.View(contiguous_strides(b.shape), 0)
        return Expr(b.shape, N("load", b.dtype, (buf, view)), 0, False)

    # -- reading values ----------------------------------------------------------------------

    def read(self, x) -> Expr:
        if isinstance(x, Literal):
            v = np.asarray(x.val, x.aval.dtype)
            return Expr(tuple(x.aval.shape), N("const", v.dtype, v.item()), 0, False)
        return self.env[x]

    def buffer_of(self, e: Expr) -> int | None:
        """The buffer ``e`` is a plain contiguous read of, if it is one."""
        r = e.root
        if r.kind != "load":
            return None
        buf, view = r.payload
        b = self.buffers[buf]
        if b.shape == e.shape and view == K.View(contiguous_strides(e.shape), 0):
            return buf
        if (
            b.size == int(np.prod(e.shape, dtype=np.int64))
            and view.offset == 0
            and view.strides == contiguous_strides(e.shape)
        ):
            return buf
        return None

    def materialize(self, e: Expr, var=None, out: int | None = None) -> Expr:
        """Emit a kernel computing ``e`` into a buffer; return a load of that buffer."""
        if out is None:
            if var is None:
                from funcgrad._src.core import ShapedArray

                out = self.new_buffer(ShapedArray(e.shape, e.root.dtype))
            else:
                out = self.result_buffer(var)
        body, index = linearize(e.root)
        self.steps.append(K.LoopKernel(e.shape, body, ((out, index),)))
        return self.load_expr(out)

    def as_buffer(self, e: Expr) -> int:
        b = self.buffer_of(e)
        return b if b is not None else self.buffer_of(self.materialize(e))

    # -- the walk ----------------------------------------------------------------------------

    def run(self) -> K.Program:
        inputs = self.in_bufs
        for i, v in enumerate(self.jaxpr.invars):
            b = self.new_buffer(v.aval, "in", i)
            inputs.append(b)
            self.env[v] = self.load_expr(b)
        for eqn in self.jaxpr.eqns:
            self.eqn(eqn)
        self.finish_outputs()
        return K.Program(
            self.name, tuple(self.buffers), tuple(inputs), tuple(self.out_bufs), tuple(self.steps)
        )

    def loop_only(self, dtype) -> bool:
        """A complex dtype the backend supports in loop kernels only. A backend's ``dtype_ok``
        is also what its op kernels and dots accept, so complex support is read from its
        scalar table instead: ``can_emit`` of a complex add."""
        dt = np.dtype(dtype)
        return dt.kind == "c" and self.can_emit("add", [dt, dt], dt, {})

    def eqn(self, eqn) -> None:
        name = eqn.primitive.name
        avals = [x.aval for x in eqn.inputs] + [v.aval for v in eqn.out_binders]
        loop_only = [self.loop_only(a.dtype) for a in avals if not self.dtype_ok(a.dtype)]
        if not all(loop_only):
            return self.fallback(eqn, "dtype not supported by codegen")
        if loop_only:
            return self.loop_only_eqn(eqn, name, avals)
        rule = FUSION_RULES.get(name)
        if rule is None and self.can_emit(
            name, [a.dtype for a in avals[:-1]], avals[-1].dtype, eqn.params
        ):
            rule = elementwise_rule
        out = None if rule is None else rule(self, eqn, *[self.read(x) for x in eqn.inputs])
        if out is not None:
            return self.define(eqn.out_binders[0], out)
        scratch = self.native(eqn) if self.native is not None else None
        if scratch is not None:
            return self.op_kernel(eqn, scratch)
        return self.fallback(
            eqn, "no codegen rule" if rule is None else "case not supported by codegen"
        )

    def loop_only_eqn(self, eqn, name, avals) -> None:
        """An equation with complex operands: fused (elementwise, views, iota, sum and product
        reductions), an op kernel that only moves bytes (control flow, whose inner programs
        then decide, and ``debug_callback``) or that the backend's ``native`` hook lists in
        its ``complex_ops``, or a Fallback; never a dot."""
        if self.native is not None and (
            name in BYTE_OP_KERNELS or name in getattr(self.native, "complex_ops", ())
        ):
            scratch = self.native(eqn)
            if scratch is not None:
                return self.op_kernel(eqn, scratch)
            return self.fallback(eqn, "complex case not supported by codegen")
        rule = FUSION_RULES.get(name)
        if name == "dot_general" or (
            name in REDUCTIONS and REDUCTIONS[name] not in ("sum", "prod")
        ):
            rule = None
        elif rule is None and self.can_emit(
            name, [a.dtype for a in avals[:-1]], avals[-1].dtype, eqn.params
        ):
            rule = elementwise_rule
        out = None if rule is None else rule(self, eqn, *[self.read(x) for x in eqn.inputs])
        if out is None:
            return self.fallback(eqn, "complex case not supported by codegen")
        return self.define(eqn.out_binders[0], out)

    def define(self, var, e: Expr) -> None:
        if (
            e.nops > MAX_NODES
            or var in self.out_index
            or (self.uses.get(var, 0) > 1 and (e.nops > 1 or e.expensive))
        ):
            e = self.materialize(e, var)
        self.env[var] = e

    def _step_io(self, eqn) -> tuple[tuple, tuple]:
        ins = []
        for x in eqn.inputs:
            if isinstance(x, Literal):
                ins.append(("lit", np.asarray(x.val, x.aval.dtype)))
            else:
                ins.append(self.as_buffer(self.env[x]))
        outs = tuple(self.result_buffer(v) for v in eqn.out_binders)
        for v, b in zip(eqn.out_binders, outs):
            self.env[v] = self.load_expr(b)
        return tuple(ins), outs

    def fallback(self, eqn, reason: str) -> None:
        ins, outs = self._step_io(eqn)
        self.steps.append(K.Fallback(eqn, ins, outs, reason))

    def op_kernel(self, eqn, scratch_bytes: int) -> None:
        """``eqn`` as one native op kernel of the backend (inputs made contiguous buffers)."""
        ins, outs = self._step_io(eqn)
        scratch = -1
        if scratch_bytes:
            from funcgrad._src.core import ShapedArray

            scratch = self.new_buffer(ShapedArray((int(scratch_bytes),), np.uint8))
        self.steps.append(K.OpKernel(eqn, ins, outs, scratch))

    def finish_outputs(self) -> None:
        for i, x in enumerate(self.jaxpr.outvars):
            if self.out_bufs[i] is not None:
                continue
            b = (
                self.in_bufs[self.aliases[i]]
                if i in self.aliases
                else self.new_buffer(x.aval, "out", i)
            )
            self.out_bufs[i] = b
            self.materialize(self.read(x), out=b)


def linearize(root: N) -> tuple[tuple, int]:
    """The DAG under ``root`` as an SSA tuple of kernel_ir nodes (loads and consts deduped)."""
    body: list = []
    memo: dict = {}
    keys: dict = {}

    def go(n: N) -> int:
        if id(n) in memo:
            return memo[id(n)]
        if n.kind == "op":
            args = tuple(go(a) for a in n.args)
            node = K.Op(n.payload[0], args, n.payload[1], n.dtype)
        elif n.kind == "load":
            node = K.Load(n.payload[0], n.payload[1], n.dtype)
        elif n.kind == "iota":
            node = K.Iota(n.payload[0], n.payload[1], n.payload[2], n.dtype)
        else:
            node = K.Const(n.payload, n.dtype)
        key = node if n.kind != "const" else ("const", n.dtype.str, repr(n.payload))
        if key not in keys:
            keys[key] = len(body)
            body.append(node)
        memo[id(n)] = keys[key]
        return keys[key]

    index = go(root)
    return tuple(body), index


# ---- rules: (fuser, eqn, *input exprs) -> Expr | None (None: fall back) ---------------------


def elementwise_rule(f: Fuser, eqn, *ins: Expr) -> Expr:
    aval = eqn.out_binders[0].aval
    name = eqn.primitive.name
    params = tuple(sorted(eqn.params.items()))
    if name in IDENTITY_PRIMS:
        return ins[0]
    shape = tuple(aval.shape)
    ins = [_splat(f, e, shape) if e.shape != shape else e for e in ins]
    node = N("op", aval.dtype, (name, params), tuple(e.root for e in ins))
    nops = 1 + sum(e.nops for e in ins)
    return Expr(tuple(aval.shape), node, nops, name in EXPENSIVE or any(e.expensive for e in ins))


def _splat(f: Fuser, e: Expr, shape) -> Expr:
    """A 0-d operand of an elementwise equation with a larger output (``select_n``'s scalar
    predicate) read at every index of ``shape``: a view with all strides 0."""
    if e.shape != ():
        raise AssertionError(f"internal: elementwise operand of shape {e.shape} for {shape}")
    fn = view_broadcast((), shape, ())
    out = _map_views(e, shape, fn)
    return out if out is not None else _map_views(f.materialize(e), shape, fn)


def _view_rule(make_fn, grows=False):
    def rule(f: Fuser, eqn, x: Expr):
        shape = tuple(eqn.out_binders[0].aval.shape)
        fn = make_fn(x.shape, shape, **eqn.params)
        if grows and x.nops and np.prod(shape, dtype=np.int64) > np.prod(x.shape, dtype=np.int64):
            x = f.materialize(x)
        out = _map_views(x, shape, fn)
        if out is None:  # not expressible as a view of x's leaves: copy x, then it is
            out = _map_views(f.materialize(x), shape, fn)
        return out

    return rule


def _slice_fn(in_shape, shape, start_indices, limit_indices, strides):
    return view_slice(start_indices, strides or (1,) * len(in_shape))


def _iota_rule(f: Fuser, eqn) -> Expr:
    p = eqn.params
    shape = tuple(p["shape"])
    view = K.View(contiguous_strides(shape), 0)
    return Expr(shape, N("iota", p["dtype"], (shape, p["dimension"], view)), 0, False)


def _reduce_rule(f: Fuser, eqn, x: Expr) -> Expr:
    op = REDUCTIONS[eqn.primitive.name]
    var = eqn.out_binders[0]
    out = f.result_buffer(var)
    body, index = linearize(x.root)
    axes = tuple(eqn.params["axes"])
    f.steps.append(K.LoopKernel(x.shape, body, (), K.Reduce(op, axes, index, out)))
    return f.load_expr(out)


def _dot_view(e: Expr, groups):
    """(buffer, View over the grouped dims) when ``e`` is a load whose groups of dims each
    flatten to one stride in a layout gemm takes; else None."""
    if e.root.kind != "load":
        return None
    buf, v = e.root.payload[0], e.root.payload[1]
    st = [K.row_major_stride(e.shape, g, v.strides) for g in groups]
    rows, cols = (int(np.prod([e.shape[d] for d in g], dtype=np.int64)) for g in groups[1:])
    if all(s is not None for s in st) and K.gemm_layout(rows, cols, st[1], st[2]):
        return buf, K.View(tuple(st), v.offset)
    return None


def _dot_operand(f: Fuser, e: Expr, groups):
    """(buffer, View over the grouped dims) for a dot operand, copying it if needed: as it is,
    or a contiguous copy, or a copy transposed so that each group is a run of adjacent dims
    in group order (contracting dims given out of memory order, e.g. ``(0, 3)``)."""
    found = _dot_view(e, groups) or _dot_view(f.materialize(e), groups)
    if found is not None:
        return found
    perm = tuple(d for g in groups for d in g)
    shape = tuple(e.shape[d] for d in perm)
    moved = _map_views(e, shape, view_transpose(perm))
    if moved is None:
        moved = _map_views(f.materialize(e), shape, view_transpose(perm))
    it = iter(range(len(perm)))
    runs = tuple(tuple(next(it) for _ in g) for g in groups)
    found = _dot_view(f.materialize(moved), runs)
    if found is None:
        raise AssertionError("internal: a contiguous buffer is always a valid dot operand")
    return found


def _dot_rule(f: Fuser, eqn, lhs: Expr, rhs: Expr):
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    var = eqn.out_binders[0]
    if eqn.params.get("preferred_element_type") not in (None, lhs.root.dtype) or not f.can_dot(
        lhs.root.dtype
    ):
        return None
    lf = [i for i in range(len(lhs.shape)) if i not in lc and i not in lb]
    rf = [i for i in range(len(rhs.shape)) if i not in rc and i not in rb]
    size = lambda shape, dims: int(np.prod([shape[d] for d in dims], dtype=np.int64))
    bmnk = (size(lhs.shape, lb), size(lhs.shape, lf), size(rhs.shape, rf), size(lhs.shape, lc))
    if bmnk[3] == 0 or 0 in bmnk[:3]:
        zero = Expr(tuple(var.aval.shape), N("const", var.aval.dtype, 0), 0, False)
        return zero
    lbuf, lview = _dot_operand(f, lhs, (lb, lf, lc))
    rbuf, rview = _dot_operand(f, rhs, (rb, rc, rf))
    out = f.result_buffer(var)
    bf16 = bool(eqn.params.get("bf16_operands")) and lhs.root.dtype == np.float32
    f.steps.append(K.Dot(lbuf, lview, rbuf, rview, out, bmnk, bf16))
    return f.load_expr(out)


# op kernels indifferent to their operands' dtype (they move bytes, or run inner programs that
# are checked on their own), so they also take the complex dtypes of loop kernels
BYTE_OP_KERNELS = frozenset(
    {"cond", "while", "scan", "debug_callback", "pure_callback", "io_callback"}
)

FUSION_RULES = {
    "broadcast_in_dim": _view_rule(
        lambda i, o, shape, broadcast_dimensions: view_broadcast(i, o, broadcast_dimensions),
        grows=True,
    ),
    "transpose": _view_rule(lambda i, o, permutation: view_transpose(permutation)),
    "squeeze": _view_rule(lambda i, o, dimensions: view_squeeze(dimensions)),
    "expand_dims": _view_rule(lambda i, o, dimensions: view_expand(len(o), dimensions)),
    "reshape": _view_rule(lambda i, o, new_sizes: view_reshape(i, o)),
    "slice": _view_rule(_slice_fn),
    "rev": _view_rule(lambda i, o, dimensions: view_rev(i, dimensions)),
    "iota": _iota_rule,
    "dot_general": _dot_rule,
    **{name: _reduce_rule for name in REDUCTIONS},
}


def fuse(
    jaxpr: Jaxpr, name: str, can_emit, dtype_ok, can_dot, native=None, *, aliases=None
) -> K.Program:
    """The kernel program of a (closed, optimised) jaxpr. ``native(eqn)``: the scratch bytes
    of a backend op kernel that runs ``eqn`` natively, or None (then: a numpy Fallback).

    ``aliases``: ``{output index: input index}`` of donated inputs whose buffer the output
    should be written into. Only pairs that are safe in the resulting program are kept
    (``safe_aliases``): the program's ``outputs`` then name the input's buffer."""
    aliases = dict(aliases or {})
    while True:
        program = Fuser(jaxpr, name, can_emit, dtype_ok, can_dot, native, aliases).run()
        safe = {o: i for o, i in aliases.items() if _alias_is_safe(program, o, i)}
        if safe == aliases:
            return program
        aliases = safe


def _alias_is_safe(program: K.Program, out: int, inp: int) -> bool:
    """Whether writing output ``out`` into input ``inp``'s buffer cannot change a result: the
    one step that writes it is the last to read it and, if it reads it, is an elementwise
    loop that reads each element exactly where it stores it (no Dot, op kernel or fallback
    reading and writing the same memory)."""
    buf = program.inputs[inp]
    if program.outputs[out] != buf or list(program.outputs).count(buf) != 1:
        return False

    def reads(step):
        if isinstance(step, K.LoopKernel):
            return any(isinstance(n, K.Load) and n.buf == buf for n in step.body)
        if isinstance(step, K.Dot):
            return buf in (step.lhs, step.rhs)
        return buf in [i for i in step.inputs if isinstance(i, int)]

    def writes(step):
        if isinstance(step, K.LoopKernel):
            return buf in [b for b, _ in step.stores] or (step.reduce and step.reduce.out == buf)
        if isinstance(step, K.Dot):
            return step.out == buf
        return buf in step.outputs

    writers = [t for t, s in enumerate(program.steps) if writes(s)]
    if len(writers) != 1:
        return False
    t = writers[0]
    if any(reads(s) for s in program.steps[t + 1 :]):
        return False
    step = program.steps[t]
    if not isinstance(step, K.LoopKernel) or step.reduce is not None:
        return False
    same = K.View(contiguous_strides(step.shape), 0)
    return all(n.view == same for n in step.body if isinstance(n, K.Load) and n.buf == buf)
