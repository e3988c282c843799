"""bfloat16 legalisation: a jaxpr with bfloat16 values -> the same program in float32, with an
explicit rounding to bfloat16 after every equation that makes a new bfloat16 value.

numpy has no bfloat16, so funcgrad holds a bfloat16 array's values in a float32 buffer, every
value exactly representable in bfloat16 (``funcgrad._src.dtypes.BFloat16DType``); the eager
path computes each primitive in float32 and rounds its result (``array._apply_bfloat16``).
The compiled paths do the same by rewriting the program before the backend sees it:

- every bfloat16 variable, literal and parameter (``convert_element_type``'s ``new_dtype``,
  ``iota``'s ``dtype``, ``preferred_element_type``) becomes float32;
- after each equation whose result is bfloat16, the result is rounded to the nearest bfloat16,
  ties to even, NaN kept (of the same sign, quiet), overflow to inf. The rounding is written
  with ordinary integer primitives on the float32 bits (``bitcast_convert_type``, ``add``,
  ``and``, ``shift_right_logical``, ``select_n``), so the fusion pass fuses it into the kernel
  that computes the value and both backends compile it like any other elementwise code.
  Equations that only move values (reshapes, slices, gathers, max/min, negation...) keep
  bfloat16 values bfloat16 and get no rounding;
- a bfloat16 ``dot_general`` becomes a float32 one with ``bf16_operands=True``: its operands
  hold bfloat16 values, so the CUDA backend feeds them to bfloat16 tensor-core ``mma``
  instructions (products exact, float32 accumulation: the float32 product of those values);
- ``bitcast_convert_type`` between bfloat16 and 16-bit integers moves the upper 16 bits of the
  float32 word;
- the inner jaxprs of control flow (``cond``, ``while``, ``scan``) and of call primitives are
  legalised the same way.

The rounding matches ``dtypes.round_to_bfloat16`` bit for bit, so compiled bfloat16 programs
give the eager results. The price: bfloat16 buffers take 4 bytes per element on the CPU and in
CUDA device memory, like float32.
"""

from __future__ import annotations

import numpy as np

from funcgrad._src import core, dtypes
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax.structural import broadcast_in_dim_p

from . import rewrite

F32 = np.dtype("float32")
U16, U32 = np.dtype("uint16"), np.dtype("uint32")

# results that are bfloat16 whenever their inputs are (no rounding needed)
_EXACT = frozenset(
    {
        "reshape",
        "broadcast_in_dim",
        "transpose",
        "squeeze",
        "expand_dims",
        "slice",
        "rev",
        "concatenate",
        "pad",
        "gather",
        "dynamic_slice",
        "dynamic_update_slice",
        "select_n",
        "max",
        "min",
        "neg",
        "abs",
        "sign",
        "floor",
        "ceil",
        "round",
        "sort",
        "scatter",
        "reduce_max",
        "reduce_min",
        "stop_gradient",
        "name",
        "cond",
        "while",
        "scan",
        "pjit",
        "custom_jvp_call",
        "custom_vjp_call",
        "checkpoint",
        "copy",
    }
)


def _aval_has_bf16(aval) -> bool:
    return getattr(aval, "dtype", None) is dtypes.bfloat16


def _param_has_bf16(v) -> bool:
    if v is dtypes.bfloat16:
        return True
    if isinstance(v, core.ClosedJaxpr):
        return has_bf16(v.jaxpr)
    if isinstance(v, core.Jaxpr):
        return has_bf16(v)
    if isinstance(v, (tuple, list)):
        return any(_param_has_bf16(x) for x in v)
    return False


def has_bf16(jaxpr: core.Jaxpr) -> bool:
    """Whether any value, literal or parameter of ``jaxpr`` (inner jaxprs too) is bfloat16."""
    if any(_aval_has_bf16(v.aval) for v in (*jaxpr.constvars, *jaxpr.invars)):
        return True
    for eqn in jaxpr.eqns:
        if any(_aval_has_bf16(v.aval) for v in eqn.out_binders) or any(
            _aval_has_bf16(x.aval) for x in eqn.inputs
        ):
            return True
        if any(_param_has_bf16(v) for v in eqn.params.values()):
            return True
    return any(_aval_has_bf16(x.aval) for x in jaxpr.outvars)


def _phys(aval: core.ShapedArray) -> core.ShapedArray:
    return aval.update(dtype=F32) if aval.dtype is dtypes.bfloat16 else aval


def legalize_param(v):
    """A parameter in float32 form: bfloat16 dtypes and every inner jaxpr legalised."""
    if v is dtypes.bfloat16:
        return F32
    if isinstance(v, core.ClosedJaxpr):
        consts = tuple(
            core.eval_hooks["to_numpy"](c) if _aval_has_bf16(core.get_aval(c)) else c
            for c in v.consts
        )  # a bfloat16 constant's float32 buffer
        return core.ClosedJaxpr(legalize(v.jaxpr), consts)
    if isinstance(v, core.Jaxpr):
        return legalize(v)
    if isinstance(v, tuple):
        return tuple(legalize_param(x) for x in v)
    if isinstance(v, list):
        return [legalize_param(x) for x in v]
    return v


def round_bits(x):
    """float32 (traced) values rounded to bfloat16, still float32: the primitives of
    ``dtypes.round_to_bfloat16``."""
    u = le.bitcast_convert_type_p.bind(x, new_dtype=U32)
    k = lambda v: _const(v, U32, u)
    lsb = le.and_p.bind(le.shift_right_logical_p.bind(u, k(16)), k(1))
    r = le.and_p.bind(le.add_p.bind(le.add_p.bind(u, k(0x7FFF)), lsb), k(0xFFFF0000))
    quiet = le.and_p.bind(le.or_p.bind(u, k(0x00400000)), k(0xFFFF0000))
    rounded = le.select_n_p.bind(le.ne_p.bind(x, x), r, quiet)  # NaN: quiet, same sign
    return le.bitcast_convert_type_p.bind(rounded, new_dtype=F32)


def _const(value, dtype, like):
    """A scalar constant broadcast to ``like``'s shape by a staged equation, so that the
    constant stays a literal (a concrete broadcast would become an array constant)."""
    scalar = rewrite.constant(core.find_top_trace([like]), np.array(value, dtype))
    return broadcast_in_dim_p.bind(
        scalar, shape=tuple(core.get_aval(like).shape), broadcast_dimensions=()
    )


def _bitcast(x, in_dtype, new_dtype):
    """bitcast_convert_type with bfloat16 on one side (16-bit integers on the other)."""
    convert = lambda v, dt: le.convert_element_type_p.bind(v, new_dtype=dt, weak_type=False)
    bitcast = lambda v, dt: le.bitcast_convert_type_p.bind(v, new_dtype=dt)
    if new_dtype is dtypes.bfloat16:
        bits = convert(bitcast(x, U16), U32)
        return bitcast(le.shift_left_p.bind(bits, _const(16, U32, bits)), F32)
    u = bitcast(x, U32)
    bits = le.shift_right_logical_p.bind(u, _const(16, U32, u))
    return bitcast(convert(bits, U16), np.dtype(new_dtype))


def _literal(x):
    return np.asarray(x.val, F32 if x.aval.dtype is dtypes.bfloat16 else None)


def _rule(eqn, trace, ins) -> list:
    name = eqn.primitive.name
    if name == "bitcast_convert_type" and (
        eqn.params["new_dtype"] is dtypes.bfloat16 or eqn.inputs[0].aval.dtype is dtypes.bfloat16
    ):
        return [_bitcast(ins[0], eqn.inputs[0].aval.dtype, eqn.params["new_dtype"])]
    params = {k: legalize_param(v) for k, v in eqn.params.items()}
    if name == "dot_general" and eqn.inputs[0].aval.dtype is dtypes.bfloat16:
        params["bf16_operands"] = True  # a backend may use bfloat16 tensor cores
    outs = rewrite.bind(eqn, ins, params)
    if name in _EXACT:
        return outs
    return [
        round_bits(o) if v.aval.dtype is dtypes.bfloat16 else o
        for o, v in zip(outs, eqn.out_binders)
    ]


def legalize(jaxpr: core.Jaxpr) -> core.Jaxpr:
    """The float32 form of ``jaxpr`` (unchanged when it has no bfloat16): same inputs and
    outputs in the same order, bfloat16 ones as float32 holding bfloat16 values."""
    if not has_bf16(jaxpr):
        return jaxpr
    avals = [_phys(v.aval) for v in (*jaxpr.constvars, *jaxpr.invars)]
    return rewrite.retrace(jaxpr, avals, _rule, _literal)
