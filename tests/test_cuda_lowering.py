"""CUDA lowering without a GPU: every CUDA case of the op table (``tests/support/op_table.py``:
each row's ``cuda`` dtypes on its ``cuda_shapes``) goes jaxpr -> kernel program (the CPU
fusion pass) -> NVPTX PTX. The PTX of the whole table (one module, one ptxas call) must contain
every kernel as an ``.entry`` and assemble for sm_90; each program's numpy ``interpret`` must
match eager evaluation. ``test_cuda_jit_exec.py`` runs the same table on a GPU."""

from __future__ import annotations

import re

import numpy as np
import pytest
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.cuda import codegen, compiler, ptx
from funcgrad.backend.llvm import scalar
from support.op_inputs import make_args
from support.op_table import CUDA_UNSUPPORTED, OPS_BY_NAME, cuda_cases, shape_id

import funcgrad as fg
from funcgrad._src.lax import elementwise as lax_elementwise
from funcgrad._src.lax import transcendental as lax_transcendental

CASES = [
    pytest.param(op, shapes, dt, id=f"{op.name}-{dt.name}-{shape_id(shapes)}")
    for op, shapes, dt in cuda_cases()
]


def case_name(op, shapes, dtype) -> str:
    """A program name unique in the table and usable in a PTX identifier."""
    return re.sub(r"\W", "_", f"{op.name}_{dtype.name}_{shape_id(shapes)}")


def make_inputs(op, shapes, dtype, seed: int = 0) -> list:
    return make_args(op, shapes, dtype, seed)


def cuda_tol(op, dtype) -> float:
    """The row's CUDA tolerance; float16 results at least 1e-3 (a float16 ulp near 1)."""
    return max(op.cuda_tol, 1e-3) if dtype == np.float16 else op.cuda_tol


def eager(op, inputs) -> list:
    out = op.fn(*inputs)
    return [np.asarray(o) for o in (out if isinstance(out, (tuple, list)) else [out])]


def assert_close(got, want, tol, where):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (where, got.dtype, want.dtype)
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want, err_msg=where)
    else:
        np.testing.assert_allclose(
            got.astype(np.float64), want.astype(np.float64), rtol=tol, atol=tol, err_msg=where
        )


def program_of(op, shapes, dtype, name: str | None = None):
    jaxpr = fg.make_jaxpr(op.fn)(*make_inputs(op, shapes, dtype))
    return compiler.program_from_jaxpr(jaxpr, name or case_name(op, shapes, dtype))


@pytest.fixture(scope="module")
def table():
    """All programs of the table in one NVPTX module: (programs, launches, ptx text)."""
    module = ptx.new_kernel_module("op_table")
    programs, launches = {}, {}
    for op, shapes, dtype in cuda_cases():
        name = case_name(op, shapes, dtype)
        programs[name] = program_of(op, shapes, dtype)
        _, launches[name] = codegen.emit_program(programs[name][0], module)
    return programs, launches, ptx.compile_ptx(module)


@pytest.mark.parametrize("op,shapes,dtype", CASES)
def test_interpret_matches_eager(table, op, shapes, dtype):
    name = case_name(op, shapes, dtype)
    program, consts = table[0][name]
    assert not any(isinstance(s, K.Fallback) for s in program.steps), K.program_str(program)
    inputs = make_inputs(op, shapes, dtype)
    got = K.interpret(program, [*consts, *inputs])
    for i, (g, w) in enumerate(zip(got, eager(op, inputs), strict=True)):
        assert_close(g, w, cuda_tol(op, dtype), f"{name} output {i}\n{K.program_str(program)}")


def test_every_kernel_is_a_ptx_entry(table):
    _, launches, text = table
    entries = set(re.findall(r"\.visible \.entry (\w+)\(", text))
    names = {k.name for ks in launches.values() for k in ks}
    assert names and names <= entries, sorted(names - entries)
    assert re.search(r"^\.target sm_80$", text, re.MULTILINE)


def test_table_covers_every_kernel_kind(table):
    kinds = {k.kind for ks in table[1].values() for k in ks}
    assert kinds == {"elementwise", "reduce_block", "reduce_thread", "dot_tiled", "dot_mma"}


def test_ptxas_assembles_the_whole_table_for_sm_90(table):
    result = ptx.ptxas_check(table[2], "sm_90")
    if result is None:
        pytest.skip("ptxas is not on PATH (install the CUDA toolkit to assemble generated PTX)")
    ok, log = result
    assert ok, log[-4000:]
    assert "spill" not in log or re.findall(r"(\d+) bytes spill stores", log) == ["0"] * len(
        re.findall(r"bytes spill stores", log)
    ), log[-4000:]


def test_lowered_text_stages():
    op = OPS_BY_NAME["exp"]
    inputs = make_inputs(op, op.cuda_shapes[0], np.dtype("float32"))
    lowered = compiler.lower_jaxpr(fg.make_jaxpr(op.fn)(*inputs), "exp_only")
    assert ".entry fg_exp_only_0" in lowered.as_text("ptx")
    assert "define" in lowered.as_text("llvm") and "loop" in lowered.as_text("kernels")
    assert [k.name for k in lowered.kernels] == ["fg_exp_only_0"]
    with pytest.raises(ValueError, match="unknown stage"):
        lowered.as_text("sass")


@pytest.mark.parametrize("prim, fn, shape", CUDA_UNSUPPORTED, ids=[u[0] for u in CUDA_UNSUPPORTED])
def test_fallback_steps_are_reported_not_run(prim, fn, shape):
    jaxpr = fg.make_jaxpr(fn)(np.arange(np.prod(shape), dtype=np.float32).reshape(shape))
    with pytest.raises(compiler.CudaUnsupportedError, match=f"primitive '{prim}'"):
        compiler.lower_jaxpr(jaxpr)


def test_scalar_table_covers_the_elementwise_primitives():
    from funcgrad._src import core

    f32 = np.dtype("float32")
    prims = {
        v.name
        for mod in (lax_elementwise, lax_transcendental)
        for v in vars(mod).values()
        if isinstance(v, core.Primitive)
    }
    # real/imag/conj/complex only take complex operands: their rules are scalar.COMPLEX_RULES
    missing = {p for p in prims if p not in scalar.SCALAR_RULES}
    assert missing == {"real", "imag", "conj", "complex"}, missing
    assert missing <= set(scalar.COMPLEX_RULES)
    assert scalar.can_emit("real", [np.dtype("complex64")], np.dtype("float32"))
    assert scalar.can_emit("trigamma", [f32], f32)
    assert scalar.can_emit("sin", [f32], f32)
    assert not scalar.can_emit("sin", [np.dtype("int32")], np.dtype("int32"))


# handled by the fusion pass itself (views, reductions, dots) or inlined by the passes
_FUSION_OR_PASSES = {
    "broadcast_in_dim",
    "expand_dims",
    "iota",
    "reshape",
    "rev",
    "slice",
    "squeeze",
    "transpose",
    "reduce_and",
    "reduce_or",
    "reduce_max",
    "reduce_min",
    "reduce_prod",
    "reduce_sum",
    "dot_general",
    "checkpoint",
    "custom_jvp_call",
    "custom_vjp_call",
    "pjit",
}


def test_every_primitive_has_a_cuda_lowering():
    """A new primitive must get a scalar rule, a CUDA op kernel, or fusion/pass handling."""
    import gc

    from funcgrad.backend.cuda import ops

    import funcgrad._src.debug  # noqa: F401  (defines debug_callback)
    import funcgrad._src.lax.linalg  # noqa: F401
    from funcgrad._src import core

    prims = {o.name for o in gc.get_objects() if isinstance(o, core.Primitive)}
    assert len(prims) > 100
    covered = set(scalar.SCALAR_RULES) | set(scalar.COMPLEX_RULES) | set(ops.EMITTERS)
    # Collectives over named axes never reach a backend: vmap lowers them to ordinary ops,
    # pmap/shard_map run them as host exchanges between compiled segments (_src/spmd.py).
    from funcgrad._src.axis_env import axis_names_rules

    collectives = {p.name for p in axis_names_rules}
    assert prims - covered - _FUSION_OR_PASSES - collectives == set()
    assert _FUSION_OR_PASSES <= prims  # the list names real primitives
