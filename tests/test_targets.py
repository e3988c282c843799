"""The target registry, and the ``ref`` target (kernel programs run by ``kernel_ir.interpret``)
against eager and the ``cpu`` target: a table of programs on fresh random inputs."""

from typing import NamedTuple

import numpy as np
import pytest
from funcgrad.backend import available_targets, get_target, registered_targets

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax


class Case(NamedTuple):
    name: str
    fn: object
    shapes: tuple  # one shape per argument; float32 values in [-2, 2)
    rtol: float = 1e-5


def _gather_rows(x, i):
    return x[fnp.clip(i, 0, x.shape[0] - 1)]


def _scatter(x, i):
    return fnp.asarray(x).at[fnp.clip(i, 0, x.shape[0] - 1)].add(1.5)


def _while(x):
    return lax.while_loop(lambda c: c[1] < 5, lambda c: (c[0] * 0.9 + 0.1, c[1] + 1), (x, 0))[0]


def _scan(x):
    return lax.scan(lambda c, r: (c + fnp.sin(r), c * r), fnp.zeros(x.shape[1]), x)


CASES = [
    Case(
        "elementwise",
        lambda x, y: fnp.tanh(x) * y + fnp.exp(-x * x) - y / (1 + x * x),
        2 * ((5, 7),),
    ),
    Case("broadcast", lambda x, y: fnp.sin(x)[:, None] * y[None, :] + 1.0, ((6,), (4,))),
    Case("sum_max", lambda x: (x.sum(0), fnp.max(x, axis=1), x.mean()), ((8, 9),)),
    Case("softmax", lambda x: fg.nn.softmax(x, axis=-1), ((4, 33),)),
    Case("logsumexp", lambda x: fg.scipy.special.logsumexp(x, axis=0), ((12, 5),)),
    Case("dot", lambda a, b: fnp.tanh(a @ b), ((5, 8), (8, 3))),
    Case("batched_dot", lambda a, b: fnp.einsum("bij,bjk->bik", a, b), ((2, 3, 4), (2, 4, 5))),
    Case("transpose_reshape", lambda x: (x.T.reshape(-1)[::2] * 3.0).cumsum(), ((4, 6),)),
    Case(
        "slice_pad_concat", lambda x: fnp.concatenate([x[1:, :2], fnp.pad(x, 1)[:3, :2]]), ((4, 5),)
    ),
    Case("gather", lambda x, i: _gather_rows(x, (i * 3).astype(np.int32)), ((6, 3), (4,))),
    Case("scatter_add", lambda x, i: _scatter(x, (i * 3).astype(np.int32)), ((6,), (5,))),
    Case("sort", lambda x: fnp.sort(x, axis=-1), ((3, 17),)),
    Case("argmax", lambda x: (fnp.argmax(x, axis=0), fnp.argmin(x)), ((7, 4),)),
    Case("cond", lambda x: lax.cond(x.sum() > 0, fnp.sin, fnp.cos, x), ((5,),)),
    Case("while", _while, ((6,),)),
    Case("scan", _scan, ((4, 3),)),
    Case("conv", lambda x, w: lax.conv(x, w, (1, 1), "SAME"), ((1, 2, 6, 6), (3, 2, 3, 3)), 1e-4),
    Case("grad", fg.grad(lambda x, y: fnp.sum(fnp.tanh(x @ y) ** 2)), ((3, 4), (4, 2)), 1e-4),
    Case("integers", lambda x: ((x * 10).astype(np.int32) // 3) % 5 + (x > 0), ((9,),)),
]


def _args(case, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-2, 2, s).astype(np.float32) for s in case.shapes]


def _close(got, want, rtol):
    for g, w in zip(fg.tree.leaves(got), fg.tree.leaves(want)):
        assert np.asarray(g).dtype == np.asarray(w).dtype
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("backend", ["ref", "cpu"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_target_matches_eager(case, backend):
    jf = fg.jit(case.fn, backend=backend)
    for seed in (1, 2):  # fresh inputs each time: the second call reuses the compiled program
        args = _args(case, seed)
        _close(jf(*args), case.fn(*args), case.rtol)


def test_ref_runs_the_cpu_programs_kernels():
    """Same fusion decisions as the CPU target: the same kernel program, run by numpy."""
    f = lambda x: fnp.sum(fnp.exp(x - fnp.max(x, -1, keepdims=True)), -1)
    x = np.ones((8, 16), np.float32)
    ref, cpu = (fg.jit(f, backend=b).lower(x).as_text("kernels") for b in ("ref", "cpu"))
    body = lambda text: text.split("\n", 1)[1]  # (the CPU renames `<lambda>` to `_lambda_`)
    assert body(ref) == body(cpu) and "reduce_sum" in ref


def test_ref_stages_and_memory_report():
    low = fg.jit(lambda x: fnp.sin(x) * 2.0, backend="ref").lower(np.ones(4, np.float32))
    assert "sin" in low.as_text("ir-opt") and "loop [4]" in low.as_text("kernels")
    with pytest.raises(ValueError, match="unknown stage 'llvm'"):
        low.as_text("llvm")
    assert low.compile().memory_report()["inputs"] == 16


def test_ref_bfloat16_matches_eager():
    f = lambda x: fnp.tanh(fnp.asarray(x).astype(fnp.bfloat16) * 3) + 1
    x = _args(Case("", None, ((40,),)), 3)[0]
    np.testing.assert_array_equal(
        np.asarray(fg.jit(f, backend="ref")(x), np.float32), np.asarray(f(x), np.float32)
    )


def test_platform_setting_picks_the_target():
    with fg.config.override(platform="ref"):
        low = fg.jit(lambda x: x + 1).lower(np.ones(3, np.float32))
        assert low._sig.backend == "ref"


def test_registry():
    assert registered_targets() == ["cpu", "cuda", "ref"]
    assert {"cpu", "ref"} <= set(available_targets())
    assert get_target("cpu") is get_target("cpu")
    assert "donation" in get_target("cpu").capabilities
    assert "donation" not in get_target("ref").capabilities
    assert get_target("cuda").stages == ("kernels", "llvm", "ptx")
    with pytest.raises(ValueError, match=r"'metal' is not available.*\['cpu', 'cuda', 'ref'\]"):
        get_target("metal")
