"""The core: abstract values, the IR (jaxprs), primitives, traces and ``bind``.

Modelled on JAX's Autodidax. A transformation is a Trace subclass with ``process_primitive``
plus one rule table; ``bind`` finds the innermost (highest-level) trace among the arguments
and hands the primitive to it. Traces nest by level, which is what keeps nested derivatives
of closures apart (no perturbation confusion).
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from funcgrad._src import axis_env, dtypes

# ---- abstract values ----------------------------------------------------------------------


class ShapedArray:
    """The type of an array: shape, dtype and whether it is weakly typed (immutable)."""

    __slots__ = ("shape", "dtype", "weak_type", "_hash")

    def __init__(self, shape: tuple, dtype, weak_type: bool = False):
        object.__setattr__(self, "shape", tuple(shape))
        object.__setattr__(self, "dtype", dtype)
        object.__setattr__(self, "weak_type", weak_type)
        object.__setattr__(self, "_hash", None)

    def __setattr__(self, name, value):
        raise AttributeError("ShapedArray is immutable")

    def __eq__(self, other):
        return (
            isinstance(other, ShapedArray)
            and self.shape == other.shape
            and self.dtype == other.dtype
            and self.weak_type == other.weak_type
        )

    def __hash__(self):
        h = self._hash
        if h is None:
            h = hash((self.shape, self.dtype, self.weak_type))
            object.__setattr__(self, "_hash", h)
        return h

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def str_short(self) -> str:
        return f"{dtypes.short_name(self.dtype)}[{','.join(map(str, self.shape))}]"

    def strip_weak(self) -> ShapedArray:
        return ShapedArray(self.shape, self.dtype, False) if self.weak_type else self

    def update(self, **kw) -> ShapedArray:
        d = dict(shape=self.shape, dtype=self.dtype, weak_type=self.weak_type)
        d.update(kw)
        return ShapedArray(tuple(d["shape"]), dtypes.as_dtype(d["dtype"]), bool(d["weak_type"]))

    def __repr__(self) -> str:  # as JAX: ShapedArray(float32[3]), weak_type=True when weak
        shape = ",".join(map(str, self.shape))
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapedArray({np.dtype(self.dtype).name}[{shape}]{weak})"


# ---- primitives ---------------------------------------------------------------------------


class Primitive:
    """A named operation. Its rules live in the tables below, keyed by the primitive."""

    def __init__(self, name: str, multiple_results: bool = False):
        self.name = name
        self.multiple_results = multiple_results

    def bind(self, *args, **params):
        return bind(self, *args, **params)

    def __repr__(self) -> str:
        return self.name


impl_rules: dict[Primitive, Callable] = {}
abstract_eval_rules: dict[Primitive, Callable] = {}

# ---- the IR -------------------------------------------------------------------------------


class Var:
    """A variable of the IR. Compared by identity; named only when printed."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval


@dataclass(frozen=True, eq=False)
class Literal:
    """A scalar constant inlined in the IR."""

    val: Any
    aval: ShapedArray


Atom = Var | Literal


@dataclass(frozen=True, eq=False)
class JaxprEqn:
    primitive: Primitive
    inputs: tuple
    params: dict
    out_binders: tuple

    # JAX's names for the same fields
    invars = property(lambda self: list(self.inputs))
    outvars = property(lambda self: list(self.out_binders))


@dataclass(frozen=True, eq=False)
class Jaxpr:
    """A typed, immutable program: ``{ lambda consts ; inputs . let eqns in (outs) }``."""

    constvars: tuple
    invars: tuple
    eqns: tuple
    outvars: tuple

    @property
    def in_avals(self) -> list:
        return [v.aval for v in self.invars]

    @property
    def out_avals(self) -> list:
        return [v.aval for v in self.outvars]

    def __str__(self) -> str:
        return pp_jaxpr(self)

    __repr__ = __str__


@dataclass(frozen=True, eq=False)
class ClosedJaxpr:
    """A jaxpr plus the values of its constvars (what ``make_jaxpr`` returns).

    Prints as the IR; ``in_avals``, ``out_avals``, ``eqns`` and ``literals`` (the
    constants, as a list) read through to the jaxpr.

    Args:
      jaxpr: the :class:`Jaxpr` (typed, immutable IR).
      consts: the values of ``jaxpr.constvars``, in order (a tuple).
    """

    jaxpr: Jaxpr
    consts: tuple

    @property
    def in_avals(self):
        return self.jaxpr.in_avals

    @property
    def out_avals(self):
        return self.jaxpr.out_avals

    @property
    def eqns(self):
        return self.jaxpr.eqns

    literals = property(lambda self: list(self.consts))

    def __str__(self) -> str:
        return pp_jaxpr(self.jaxpr)

    __repr__ = __str__


# ---- printing -----------------------------------------------------------------------------


class _Names:
    def __init__(self):
        self.names: dict[int, str] = {}

    def __call__(self, v) -> str:
        if isinstance(v, Literal):
            return _literal_str(v.val)
        if id(v) not in self.names:
            self.names[id(v)] = _name(len(self.names))
        return self.names[id(v)]


def _name(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(97 + r) + s
    return s


def _literal_str(val) -> str:
    v = np.asarray(val)
    if v.dtype == np.bool_:
        return str(bool(v)).lower() if v.ndim == 0 else "[...]"
    return repr(v.item()) if v.ndim == 0 else f"{v.dtype}[{','.join(map(str, v.shape))}]"


def _param_str(v) -> str:
    if isinstance(v, (Jaxpr, ClosedJaxpr)):
        return "{ jaxpr }"
    if isinstance(v, np.dtype):
        return v.name
    if isinstance(v, tuple) and v and all(isinstance(x, (Jaxpr, ClosedJaxpr)) for x in v):
        return "(" + ", ".join("{ jaxpr }" for _ in v) + ")"
    if callable(v) and not isinstance(v, type):
        return getattr(v, "__name__", "fn")
    return str(v)


def pp_jaxpr(jaxpr: Jaxpr, indent: int = 0, names: _Names | None = None) -> str:
    names = names or _Names()
    pad = " " * indent
    binders = lambda vs: " ".join(f"{names(v)}:{v.aval.str_short()}" for v in vs)
    head = f"{{ lambda {binders(jaxpr.constvars)} ; {binders(jaxpr.invars)} . let"
    lines = [pad + head]
    for e in jaxpr.eqns:
        lhs = " ".join(f"{names(v)}:{v.aval.str_short()}" for v in e.out_binders)
        params = {k: v for k, v in e.params.items()}
        pstr = "[" + " ".join(f"{k}={_param_str(v)}" for k, v in params.items()) + "]"
        rhs = f"{e.primitive.name}{pstr if params else ''} " + " ".join(names(x) for x in e.inputs)
        lines.append(f"{pad}    {lhs} = {rhs}")
        for v in params.values():
            for sub in v if isinstance(v, tuple) else (v,):
                if isinstance(sub, (Jaxpr, ClosedJaxpr)):
                    inner = sub.jaxpr if isinstance(sub, ClosedJaxpr) else sub
                    lines.append(pp_jaxpr(inner, indent + 6, names))
    outs = " ".join(names(v) for v in jaxpr.outvars)
    lines.append(f"{pad}  in ( {outs} ) }}")
    return "\n".join(lines)


# ---- traces, tracers, levels --------------------------------------------------------------


class MainTrace(NamedTuple):
    level: int
    trace_type: type
    global_data: Any
    active: list  # [True] while on the stack; a one-element list so it can be flipped


class _TraceStack(threading.local):
    """The main traces of the current thread: threads trace independently (``jit`` from
    several threads at once), so levels never collide and a pop never takes another
    thread's trace."""

    def __init__(self):
        self.mains: list[MainTrace] = []
        self.dynamic: MainTrace | None = None  # the innermost staging trace (omnistaging)


_trace_stack = _TraceStack()


class UnexpectedTracerError(Exception):
    """A traced value was used after its transformation finished (it escaped).

    Raised, as in JAX, when a tracer stored outside a transformed function (a global, a
    list, a closure) is used later. Return values instead of storing them.

    Args:
      *args: the message (as for any exception).
    """


@contextmanager
def new_main(trace_type: type, global_data=None):
    stack = _trace_stack.mains
    main = MainTrace(len(stack), trace_type, global_data, [True])
    stack.append(main)
    try:
        yield main
    finally:
        stack.pop()
        main.active[0] = False


class Trace:
    def __init__(self, main: MainTrace):
        self.main = main

    def pure(self, val):
        raise NotImplementedError

    lift = pure

    def process_primitive(self, primitive, tracers, params):
        raise NotImplementedError

    def full_raise(self, val):
        if not isinstance(val, Tracer):
            return self.pure(val)
        level = val._trace.main.level
        if val._trace.main is self.main:
            return val
        if level < self.main.level:
            return self.lift(val)
        raise UnexpectedTracerError(_escaped_msg(val))


def _escaped_msg(t) -> str:
    return (
        f"A traced value ({t.aval.str_short()}) from a transformation that has already "
        f"finished was used: it escaped its transformation (for example it was stored in "
        f"a global or a closure and used after grad/vmap/jit returned). Return it as an "
        f"output of the transformed function instead of leaking it."
    )


_TRACE_NAMES = {"JaxprTrace": "DynamicJaxprTrace", "VJPTrace": "JVPTrace"}


class Tracer:
    """A value being traced. Array operators come from the Array mixin (see array.py)."""

    __array_priority__ = 1000
    __slots__ = ("_trace",)

    @property
    def aval(self) -> ShapedArray:
        raise NotImplementedError

    def __repr__(self) -> str:  # as JAX: Traced<ShapedArray(float32[3])>with<JVPTrace>
        trace = getattr(self, "_trace", None)
        name = _TRACE_NAMES.get(type(trace).__name__, type(trace).__name__)
        return f"Traced<{self.aval!r}>with<{name}>"

    def full_lower(self):
        return self

    @property
    def shape(self):
        return self.aval.shape

    @property
    def dtype(self):
        return self.aval.dtype

    @property
    def weak_type(self):
        return self.aval.weak_type

    @property
    def ndim(self):
        return self.aval.ndim

    @property
    def size(self):
        return self.aval.size

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return iter([self[i] for i in range(self.shape[0])])

    def _concrete_error(self, what: str):
        return ConcretizationTypeError(
            f"{what} was called on a traced value {self.aval.str_short()} whose value is "
            f"not known while tracing ({type(self._trace).__name__}). Python control flow on "
            f"traced values is not possible: use funcgrad.lax.cond / lax.while_loop / "
            f"fnp.where for value-dependent control flow, or mark the argument static "
            f"with jit(..., static_argnums=...)."
        )

    def _to_concrete(self):
        """The concrete value under forward/reverse-mode tracers (their primal), or None.

        Differentiation tracers carry real values (as in JAX), so Python control flow on them
        works inside grad/jvp; staging and batching tracers have no single value."""
        x = self
        while isinstance(x, Tracer):
            x = getattr(x, "primal", None)
            if x is None:
                return None
        return x

    def _concrete_or_raise(self, what: str):
        v = self._to_concrete()
        if v is None:
            raise self._concrete_error(what)
        return v

    def __bool__(self):
        return bool(self._concrete_or_raise("bool()"))

    def __float__(self):
        return float(self._concrete_or_raise("float()"))

    def __int__(self):
        return int(self._concrete_or_raise("int()"))

    def __complex__(self):
        return complex(self._concrete_or_raise("complex()"))

    def __index__(self):
        return self._concrete_or_raise("__index__ (use as an index or size)").__index__()

    def item(self):
        return self._concrete_or_raise("item()").item()

    def __array__(self, dtype=None, copy=None):
        raise TracerArrayConversionError(
            f"A traced value {self.aval.str_short()} was converted to a numpy array. Inside "
            f"jit/grad/vmap use funcgrad.numpy (fnp) functions instead of numpy (np) ones."
        )

    def __hash__(self):
        raise TypeError(
            "traced arrays are not hashable (they would be static values); "
            "use static_argnums for hashable arguments"
        )

    def __setitem__(self, idx, val):
        raise TypeError(
            "funcgrad arrays are immutable: instead of x[idx] = y use x = x.at[idx].set(y)"
        )


class ConcretizationTypeError(TypeError):
    """A traced value was used where a concrete Python value is needed (bool, int, an if).

    A TypeError, as in JAX. Mark the argument static (``jit(f, static_argnums=...)``), or
    use ``fnp.where`` / ``lax.cond`` instead of Python control flow.

    Args:
      *args: the message (as for any exception).
    """


class ValueTypeError(ValueError, TypeError):
    """Bad shapes / dtypes where numpy raises ValueError and JAX raises TypeError (or the
    reverse): an instance of both, so code written against either catches it."""


class TracerArrayConversionError(TypeError):
    """A traced value was converted to a numpy array (use funcgrad.numpy inside transforms).

    A TypeError, as in JAX: raised by ``np.asarray(tracer)`` and numpy functions applied to
    traced values.

    Args:
      *args: the message (as for any exception).
    """


def find_top_trace(xs) -> Trace:
    """The trace of the highest level among the arguments' tracers and the innermost staging
    trace (omnistaging, as JAX: inside ``jit``/``make_jaxpr`` even operations on concrete
    values are staged; eagerly, with no staging trace, they run at once)."""
    top = _trace_stack.dynamic
    for x in xs:
        if isinstance(x, Tracer):
            main = x._trace.main
            if not main.active[0]:
                raise UnexpectedTracerError(_escaped_msg(x))
            if top is None or main.level > top.level:
                top = main
    if top is None:
        return _eval_trace
    return top.trace_type(top)


def full_lower(val):
    return val.full_lower() if isinstance(val, Tracer) else val


# Hooks filled in by array.py / eval (kept here so core needs no upward import).
eval_hooks: dict[str, Callable] = {}


def bind(prim: Primitive, *args, **params):
    """Apply a primitive in the current context (eager, or under the innermost transformation)."""
    trace = find_top_trace(args)
    if axis_env.state.frames:  # a collective runs at the vmap binding its axis name, or above
        trace = axis_env.axis_trace(trace, prim, params)
    tracers = [trace.full_raise(a) for a in args]
    outs = trace.process_primitive(prim, tracers, params)
    if prim.multiple_results:
        return [full_lower(o) for o in outs]
    return full_lower(outs)


class EvalTrace(Trace):
    """Level 0: run the numpy implementation."""

    def pure(self, x):
        return x

    lift = pure

    def process_primitive(self, prim, args, params):
        return eval_hooks["apply_impl"](prim, args, params)


_eval_main = MainTrace(-1, EvalTrace, None, [True])
_eval_trace = EvalTrace(_eval_main)


def get_aval(x) -> ShapedArray:
    """The abstract value of an array-like."""
    if isinstance(x, Tracer):
        return x.aval
    return eval_hooks["get_aval"](x)


def missing_rule(table_name: str, prim: Primitive):
    return NotImplementedError(
        f"The primitive '{prim.name}' has no {table_name} rule, so this transformation "
        f"cannot be applied to it. Please report this as a funcgrad bug."
    )


def abstract_eval(prim: Primitive, *avals, **params):
    rule = abstract_eval_rules.get(prim)
    if rule is None:
        raise missing_rule("abstract evaluation (shape/dtype)", prim)
    return rule(*avals, **params)


# ---- staging: tracing a Python function into a jaxpr ---------------------------------------


class JaxprTracer(Tracer):
    __slots__ = ("_aval",)

    def __init__(self, trace, aval):
        self._trace = trace
        self._aval = aval

    @property
    def aval(self):
        return self._aval


class JaxprBuilder:
    """Collects the equations and constants while a function is traced."""

    def __init__(self):
        self.eqns: list[JaxprEqn] = []
        self.tracer_to_var: dict[int, Var] = {}
        self.const_tracers: dict[int, JaxprTracer] = {}
        self.constvals: dict[int, Any] = {}
        self.tracers: list[JaxprTracer] = []

    def new_tracer(self, trace, aval) -> JaxprTracer:
        t = JaxprTracer(trace, aval)
        self.tracers.append(t)
        return t

    def add_var(self, tracer) -> Var:
        v = Var(tracer.aval)
        self.tracer_to_var[id(tracer)] = v
        return v

    def getvar(self, tracer) -> Var:
        return self.tracer_to_var[id(tracer)]

    def add_const(self, tracer, val) -> Var:
        var = self.add_var(tracer)
        self.const_tracers[id(val)] = tracer
        self.constvals[var] = val
        return var


class JaxprTrace(Trace):
    """Records every primitive applied to its tracers as an equation."""

    @property
    def builder(self) -> JaxprBuilder:
        return self.main.global_data

    def new_arg(self, aval: ShapedArray) -> JaxprTracer:
        t = self.builder.new_tracer(self, aval)
        self.builder.add_var(t)
        return t

    def pure(self, val):
        tracer = self.builder.const_tracers.get(id(val))
        if tracer is None:
            aval = get_aval(val)
            tracer = self.builder.new_tracer(self, aval)
            self.builder.add_const(tracer, val)
        return tracer

    lift = pure

    def process_primitive(self, prim, tracers, params):
        avals_in = [t.aval for t in tracers]
        avals_out = abstract_eval(prim, *avals_in, **params)
        outs_list = avals_out if prim.multiple_results else [avals_out]
        out_tracers = [self.builder.new_tracer(self, a) for a in outs_list]
        inputs = tuple(self.builder.getvar(t) for t in tracers)
        outvars = tuple(self.builder.add_var(t) for t in out_tracers)
        self.builder.eqns.append(JaxprEqn(prim, inputs, dict(params), outvars))
        return out_tracers if prim.multiple_results else out_tracers[0]


def build_jaxpr(builder: JaxprBuilder, in_tracers, out_tracers) -> tuple[Jaxpr, list]:
    constvars, constvals = zip(*builder.constvals.items()) if builder.constvals else ((), ())
    invars = tuple(builder.getvar(t) for t in in_tracers)
    outvars = tuple(builder.getvar(t) for t in out_tracers)
    jaxpr = Jaxpr(tuple(constvars), invars, tuple(builder.eqns), outvars)
    typecheck_jaxpr(jaxpr)
    jaxpr, constvals = inline_literals(jaxpr, list(constvals))
    return jaxpr, constvals


def is_staging() -> bool:
    """Whether operations on concrete values are being staged (inside jit/make_jaxpr)."""
    return _trace_stack.dynamic is not None


@contextmanager
def dynamic_main(main: MainTrace | None):
    """Make ``main`` the staging trace that operations on concrete values go to (None: they
    run eagerly, as under ``ensure_compile_time_eval``)."""
    prev, _trace_stack.dynamic = _trace_stack.dynamic, main
    try:
        yield
    finally:
        _trace_stack.dynamic = prev


def trace_to_jaxpr(f: Callable, in_avals: list, dynamic: bool = True) -> tuple[Jaxpr, list]:
    """Trace ``f`` (flat list in, flat list out) at the given avals; return (jaxpr, consts).

    With ``dynamic`` (the default, JAX's omnistaging) operations on concrete values inside
    ``f`` are staged too; without it they run at once (``linearize`` keeps its primal work
    eager that way)."""
    builder = JaxprBuilder()
    with new_main(JaxprTrace, builder) as main, dynamic_main(main if dynamic else None):
        trace = JaxprTrace(main)
        tracers_in = [trace.new_arg(a) for a in in_avals]
        outs = f(*tracers_in)
        tracers_out = [trace.full_raise(o) for o in outs]
        return build_jaxpr(builder, tracers_in, tracers_out)


def inline_literals(jaxpr: Jaxpr, consts: list) -> tuple[Jaxpr, list]:
    """Turn scalar constants into Literals (so they print and fold), keep the rest as consts."""
    const_binders, other_consts = [], []
    literals: dict[Var, Literal] = {}
    for v, val in zip(jaxpr.constvars, consts):
        if not isinstance(val, Tracer) and np.ndim(val) == 0:
            literals[v] = Literal(np.asarray(eval_hooks["to_numpy"](val)), v.aval)
        else:
            const_binders.append(v)
            other_consts.append(val)
    new_eqns = tuple(
        JaxprEqn(
            e.primitive,
            tuple(literals.get(x, x) if isinstance(x, Var) else x for x in e.inputs),
            e.params,
            e.out_binders,
        )
        for e in jaxpr.eqns
    )
    outvars = tuple(literals.get(x, x) if isinstance(x, Var) else x for x in jaxpr.outvars)
    new = Jaxpr(tuple(const_binders), jaxpr.invars, new_eqns, outvars)
    return new, other_consts


def typecheck_jaxpr(jaxpr: Jaxpr) -> None:
    """Check every equation's output types against its abstract-eval rule."""
    env: set = set(jaxpr.constvars) | set(jaxpr.invars)
    for eqn in jaxpr.eqns:
        for x in eqn.inputs:
            if isinstance(x, Var) and x not in env:
                raise TypeError(f"IR error: {eqn.primitive} uses an undefined variable")
        avals = [x.aval for x in eqn.inputs]
        out = abstract_eval(eqn.primitive, *avals, **eqn.params)
        out = out if eqn.primitive.multiple_results else [out]
        for v, a in zip(eqn.out_binders, out):
            if (v.aval.shape, v.aval.dtype) != (a.shape, a.dtype):
                raise TypeError(
                    f"IR error: {eqn.primitive} produces {a.str_short()} but its "
                    f"binder is {v.aval.str_short()}"
                )
            env.add(v)
    for x in jaxpr.outvars:
        if isinstance(x, Var) and x not in env:
            raise TypeError("IR error: an output is undefined")


def eval_jaxpr(jaxpr: Jaxpr, consts, args) -> list:
    """Interpret a jaxpr with ``bind`` (so it runs under any enclosing transformation)."""
    env: dict = {}

    def read(x):
        return x.val if isinstance(x, Literal) else env[x]

    def write(v, val):
        env[v] = val

    for v, val in zip(jaxpr.constvars, consts):
        write(v, val)
    for v, val in zip(jaxpr.invars, args):
        write(v, val)
    for eqn in jaxpr.eqns:
        outs = bind(eqn.primitive, *map(read, eqn.inputs), **eqn.params)
        for v, val in zip(eqn.out_binders, outs if eqn.primitive.multiple_results else [outs]):
            write(v, val)
    return [read(x) for x in jaxpr.outvars]


def jaxpr_as_fun(closed: ClosedJaxpr) -> Callable:
    return lambda *args: eval_jaxpr(closed.jaxpr, closed.consts, args)


def close_over_consts(jaxpr: Jaxpr) -> Jaxpr:
    """Move constvars to the front of invars (the form call primitives carry)."""
    return Jaxpr((), jaxpr.constvars + jaxpr.invars, jaxpr.eqns, jaxpr.outvars)


# ---- helpers for rules --------------------------------------------------------------------

prod = lambda xs: int(np.prod(xs, dtype=np.int64))


def canonicalize_axis(axis: int, ndim: int, what: str = "axis") -> int:
    a = operator.index(axis)
    if not -ndim <= a < max(ndim, 1) or (ndim == 0 and a not in (0, -1)):
        # numpy's AxisError: a ValueError (numpy) and an IndexError (what JAX raises)
        raise np.exceptions.AxisError(f"{what} {axis} is out of bounds for an array of rank {ndim}")
    return a % ndim if ndim else 0
