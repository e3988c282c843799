"""CUDA op kernels of ``backend/cuda/ops/linalg.py``: cholesky, triangular_solve, lu, qr, eigh,
svd (one thread per matrix).

Without a GPU: every case lowers to a kernel program with the op kernel and no Fallback; the
PTX of all cases (one module) assembles with ``ptxas -arch=sm_90``; whole ``fnp.linalg``
functions lower to PTX; and the kernels run on the CPU through test_cuda_ops_a's ``Emulator``
(NVPTX IR retargeted to the host, every buffer access bounds-checked, 2 blocks of 3 threads
so batches split over threads) against eager: ``lu`` bit for bit, cholesky and
triangular_solve to rounding, and for qr / eigh / svd (whose vector signs are free) the
invariants: reconstruction, orthonormality, R triangular, values equal to eager's and sorted.
The ``cuda``-marked tests run the same cases through ``jit(f, backend="cuda")`` on a GPU.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
from funcgrad.backend import kernel_ir as K
from funcgrad.backend.cuda import codegen, compiler, driver, ptx
from test_cuda_ops_a import Emulator

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad._src.lax import linalg as L

# compiler errors raise (no silent numpy fallback); 64-bit dtypes stay 64-bit (conftest.py)
pytestmark = pytest.mark.usefixtures("strict_jit", "x64")


# ---- the cases -----------------------------------------------------------------------------------


class Case(NamedTuple):
    name: str
    fn: Callable
    make: Callable  # rng -> argument list
    prim: str
    check: str  # how results are compared: "exact", "close", "qr", "eigh", "svd"
    dtype: str = "float32"


def _normal(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def _spd(rng, shape, dtype):
    a = rng.standard_normal(shape)
    return (a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])).astype(dtype)


def _triangular(rng, shape, dtype):
    """Well-conditioned in both triangles (|diagonal| >= 2), junk elsewhere is read by nobody."""
    a = rng.standard_normal(shape)
    sign = np.where(rng.standard_normal(shape[:-1]) < 0, -1.0, 1.0)
    d = np.arange(shape[-1])
    a[..., d, d] = sign * (2 + np.abs(a[..., d, d])) * 2
    return (a / 2).astype(dtype)


def _small_ints(rng, shape, dtype):
    """Ties and zero pivots for lu."""
    return rng.integers(-2, 3, shape).astype(dtype)


SQUARE = [(1, 1), (2, 2), (5, 5), (17, 17), (3, 4, 4)]
RECT = [(6, 3), (3, 6), (2, 3, 5), (17, 4)]
EMPTY = [(0, 0), (0, 3), (3, 0), (0, 2, 2)]
DTYPES = ["float32", "float64"]


def _shape_id(shape) -> str:
    return "x".join(map(str, shape))


def _cholesky_cases():
    cases = [
        Case(
            f"cholesky_{_shape_id(s)}_{dt}",
            L.cholesky,
            lambda rng, s=s, dt=dt: [_spd(rng, s, dt)],
            "cholesky",
            "close",
            dt,
        )
        for s in SQUARE + [(0, 0)]
        for dt in DTYPES
    ]

    def not_pd(rng):  # the middle matrix is indefinite: its factor is NaN, the others are not
        x = _spd(rng, (3, 4, 4), "float32")
        x[1, 2, 2] = -50.0
        return [x]

    return cases + [Case("cholesky_not_pd", L.cholesky, not_pd, "cholesky", "close")]


FLAG = {
    "left_side": "L",
    "lower": "l",
    "transpose_a": "t",
    "conjugate_a": "c",
    "unit_diagonal": "u",
}


def _trsm(name, a_shape, b_shape, dt="float32", **params):
    def fn(a, b):
        return L.triangular_solve(a, b, **params)

    flags = "".join(FLAG[k] for k, v in sorted(params.items()) if v) or "none"
    return Case(
        f"trsm_{name}_{flags}_{dt}",
        fn,
        lambda rng: [_triangular(rng, a_shape, dt), _normal(rng, b_shape, dt)],
        "triangular_solve",
        "close",
        dt,
    )


def _trsm_cases():
    cases = []
    for flags in itertools.product((True, False), repeat=4):  # every combination
        p = dict(zip(("left_side", "lower", "transpose_a", "unit_diagonal"), flags))
        cases.append(_trsm("5", (5, 5), (5, 3) if p["left_side"] else (3, 5), **p))
    for dt in DTYPES:
        cases += [
            _trsm("1", (1, 1), (1, 2), dt, left_side=True, lower=True),
            _trsm("17_wide_b", (17, 17), (17, 20), dt, left_side=True, transpose_a=True),
            _trsm("17_tall_b", (17, 17), (23, 17), dt, left_side=False, lower=True),
            _trsm(
                "batched",
                (3, 4, 4),
                (3, 4, 2),
                dt,
                left_side=True,
                lower=True,
                conjugate_a=True,
                transpose_a=True,
            ),
            _trsm("batched_right", (3, 4, 4), (3, 1, 4), dt, lower=True, unit_diagonal=True),
        ]
    return cases + [
        _trsm("empty_a", (0, 0), (0, 3), left_side=True),
        _trsm("empty_b", (4, 4), (4, 0), left_side=True),
    ]


def _lu_cases():
    cases = [
        Case(
            f"lu_{_shape_id(s)}_{dt}",
            L.lu,
            lambda rng, s=s, dt=dt: [_normal(rng, s, dt)],
            "lu",
            "exact",
            dt,
        )
        for s in SQUARE + RECT
        for dt in DTYPES
    ]
    cases += [
        Case(
            f"lu_{_shape_id(s)}",
            L.lu,
            lambda rng, s=s: [_normal(rng, s, "float32")],
            "lu",
            "lu_empty",
        )
        for s in EMPTY
    ]
    return cases + [
        Case(
            f"lu_ties_{dt}",
            L.lu,
            lambda rng, dt=dt: [_small_ints(rng, (4, 6, 6), dt)],
            "lu",
            "exact",
            dt,
        )
        for dt in DTYPES
    ]


def _variants(shapes_f32, f64, empty):
    """(shape, mode, dtype): ``{shape: modes}`` in float32, a few in float64, empty ones."""
    out = [(s, mode, "float32") for s, modes in shapes_f32.items() for mode in modes]
    out += [(s, mode, "float64") for s, mode in f64]
    return out + [(s, mode, "float32") for s, mode in empty]


def _qr_cases():
    variants = _variants(
        {
            **{s: ("full",) for s in SQUARE},
            (6, 3): ("full", "reduced"),
            (3, 6): ("full", "reduced"),
            (2, 3, 5): ("reduced",),
            (17, 4): ("full", "reduced"),
        },
        [((5, 5), "full"), ((3, 4, 4), "reduced"), ((6, 3), "reduced"), ((3, 6), "full")],
        [((0, 3), "full"), ((3, 0), "full"), ((3, 0), "reduced"), ((0, 2, 2), "full")],
    )
    return [
        Case(
            f"qr_{_shape_id(s)}_{mode}_{dt}",
            lambda x, full=mode == "full": L.qr(x, full_matrices=full),
            lambda rng, s=s, dt=dt: [_normal(rng, s, dt)],
            "qr",
            "qr",
            dt,
        )
        for s, mode, dt in variants
    ]


def _eigh_cases():
    # the operand is not symmetric: only the `lower` (or upper) triangle may be read
    variants = [(s, lower, "float32") for s in SQUARE for lower in (True, False)]
    variants += [(s, True, "float64") for s in SQUARE] + [((0, 0), False, "float32")]
    return [
        Case(
            f"eigh_{_shape_id(s)}_{'lower' if lower else 'upper'}_{dt}",
            lambda x, lower=lower: L.eigh_p.bind(x, lower=lower),
            lambda rng, s=s, dt=dt: [_normal(rng, s, dt)],
            "eigh",
            "eigh",
            dt,
        )
        for s, lower, dt in variants
    ]


def _rank_deficient(rng, shape, dtype):
    a = rng.standard_normal(shape[:-1] + (2,)) @ rng.standard_normal((2, shape[-1]))
    return a.astype(dtype)


SVD_MODES = {"full": (True, True), "reduced": (False, True), "novec": (False, False)}


def _svd_cases():
    variants = _variants(
        {
            **{s: ("full",) for s in SQUARE},
            (6, 3): ("full", "reduced", "novec"),
            (3, 6): ("full", "reduced", "novec"),
            (2, 3, 5): ("full",),
            (17, 4): ("reduced",),
        },
        [((5, 5), "full"), ((3, 4, 4), "novec"), ((6, 3), "full"), ((3, 6), "reduced")],
        [((0, 3), "full"), ((3, 0), "full"), ((0, 0), "reduced"), ((0, 2, 2), "full")],
    )
    cases = [
        Case(
            f"svd_{_shape_id(s)}_{mode}_{dt}",
            lambda x, p=SVD_MODES[mode]: L.svd(x, *p),
            lambda rng, s=s, dt=dt: [_normal(rng, s, dt)],
            "svd",
            "svd",
            dt,
        )
        for s, mode, dt in variants
    ]
    zero_column = np.float32([1, 0, 1, 1])  # s = 0 exactly: that column of U is completed
    cases.append(
        Case(
            "svd_zero_column_5x4_reduced",
            lambda x: L.svd(x, False, True),
            lambda rng: [_normal(rng, (5, 4), "float32") * zero_column],
            "svd",
            "svd",
        )
    )
    for s in ((5, 5), (7, 4), (4, 7)):
        cases.append(
            Case(
                f"svd_rank2_{_shape_id(s)}",
                lambda x: L.svd(x, True, True),
                lambda rng, s=s: [_rank_deficient(rng, s, "float64")],
                "svd",
                "svd",
                "float64",
            )
        )
    return cases


CASES = _cholesky_cases() + _trsm_cases() + _lu_cases() + _qr_cases() + _eigh_cases() + _svd_cases()
BY_NAME = {c.name: c for c in CASES}
assert len(BY_NAME) == len(CASES)


def _args(case: Case, seed: int) -> list:
    return case.make(np.random.default_rng(seed))


def _eager(case: Case, args) -> list:
    if case.check == "lu_empty":  # the impl's reshape(-1, m, n) fails on a size-0 operand
        x = args[0]
        (m, n), batch = x.shape[-2:], x.shape[:-2]
        perm = np.broadcast_to(np.arange(m, dtype=np.int32), batch + (m,))
        return [x, np.zeros(batch + (min(m, n),), np.int32), perm]
    out = case.fn(*args)
    return [np.asarray(o) for o in (out if isinstance(out, (tuple, list)) else [out])]


# ---- comparisons ---------------------------------------------------------------------------------


def _tol(case: Case, x) -> float:
    """Absolute tolerance: the dtype's, scaled by the matrix size and magnitude."""
    base = 2e-5 if case.dtype == "float32" else 1e-12
    scale = max(1.0, float(np.max(np.abs(x), initial=0.0))) * max(1, *np.shape(x)[-2:])
    return base * scale


def _mm(a, b):
    return np.einsum("...ij,...jk->...ik", a.astype(np.float64), b.astype(np.float64))


def _T(a):
    return np.swapaxes(a, -1, -2)


def _orthonormal_columns(q, tol, where):
    k = q.shape[-1]
    np.testing.assert_allclose(
        _mm(_T(q), q), np.broadcast_to(np.eye(k), q.shape[:-2] + (k, k)), atol=tol, err_msg=where
    )


def _same_meta(got, want, where):
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype, (
            where,
            g.shape,
            w.shape,
            g.dtype,
            w.dtype,
        )


def _check_qr(case, x, got, want, tol):
    q, r = got
    _orthonormal_columns(q, tol, case.name + " Q")
    m, n = r.shape[-2:]
    assert not np.any(r[..., ~np.triu(np.ones((m, n), bool))]), case.name + " R triangular"
    np.testing.assert_allclose(_mm(q, r), x, atol=tol, err_msg=case.name + " QR = A")
    np.testing.assert_allclose(np.abs(r), np.abs(want[1]), atol=tol, err_msg=case.name + " |R|")


def _check_eigh(case, x, got, want, tol):
    v, w = got
    n = x.shape[-1]
    tri = np.tril if case.fn.__defaults__[0] else np.triu
    a = tri(x) + _T(tri(x)) - x * np.eye(n)  # the matrix the triangle stands for
    np.testing.assert_allclose(w, want[1], atol=tol, err_msg=case.name + " eigenvalues")
    assert np.all(np.diff(w, axis=-1) >= 0), case.name + " ascending"
    _orthonormal_columns(v, tol, case.name + " V")
    np.testing.assert_allclose(
        _mm(a, v), v * w[..., None, :], atol=tol, err_msg=case.name + " A V = V diag(w)"
    )


def _check_svd(case, x, got, want, tol):
    s = got[1] if len(got) == 3 else got[0]
    np.testing.assert_allclose(
        s, want[1] if len(want) == 3 else want[0], atol=tol, err_msg=case.name + " singular values"
    )
    assert np.all(np.diff(s, axis=-1) <= 0), case.name + " descending"
    if len(got) == 3:
        u, _, vh = got
        k = s.shape[-1]
        _orthonormal_columns(u, tol, case.name + " U")
        _orthonormal_columns(_T(vh), tol, case.name + " Vh")
        usv = _mm(u[..., :k] * s[..., None, :], vh[..., :k, :])
        np.testing.assert_allclose(usv, x, atol=tol, err_msg=case.name + " U S Vh = A")


def assert_matches(case: Case, args, got, want):
    """``got`` (emulated or GPU outputs) against eager's ``want`` by the case's measure."""
    got = [np.asarray(g) for g in got]
    _same_meta(got, want, case.name)
    x = args[0]
    tol = _tol(case, x)
    if case.check in ("exact", "lu_empty"):
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w, err_msg=case.name)
    elif case.check == "close":
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, atol=_tol(case, w), rtol=1e-5, err_msg=case.name)
    else:
        {"qr": _check_qr, "eigh": _check_eigh, "svd": _check_svd}[case.check](
            case, x, got, want, tol
        )


# ---- lowering: programs, one PTX module, ptxas -------------------------------------------------


@pytest.fixture(scope="module")
def lowered():
    """Every case's program, emitted into one NVPTX module: (programs, launches, module)."""
    module = ptx.new_kernel_module("linalg")
    programs, launches = {}, {}
    for case in CASES:
        jaxpr = fg.make_jaxpr(case.fn)(*_args(case, 0))
        programs[case.name] = compiler.program_from_jaxpr(jaxpr, case.name)
        _, launches[case.name] = codegen.emit_program(programs[case.name][0], module)
    return programs, launches, module


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_program_has_the_op_kernel_and_no_fallback(lowered, case):
    program, _ = lowered[0][case.name]
    text = K.program_str(program)
    assert "FALLBACK" not in text, text
    ops = [s.eqn.primitive.name for s in program.steps if isinstance(s, K.OpKernel)]
    assert ops == [case.prim], text


def test_ptxas_assembles_every_kernel_for_sm_90(lowered):
    text = ptx.compile_ptx(lowered[2], "sm_90")
    launches = [k.name for ks in lowered[1].values() for k in ks]
    assert all(f".entry {name}(" in text for name in launches)
    result = ptx.ptxas_check(text, "sm_90")
    if result is None:
        pytest.skip("ptxas is not on PATH (install the CUDA toolkit to assemble generated PTX)")
    ok, log = result
    assert ok, log[-4000:]


def test_empty_batches_skip_the_launch(lowered):
    for name in (
        "lu_0x2x2",
        "qr_0x2x2_full_float32",
        "svd_0x2x2_full_float32",
        "trsm_empty_a_L_float32",
        "cholesky_0x0_float32",
    ):
        assert all(k.grid == (0,) for k in lowered[1][name]), name
    assert all(k.grid[0] > 0 for k in lowered[1]["lu_3x0"])  # writes the permutation


def test_lu_has_no_fused_multiply_add(lowered):
    """lu must round as the impl does (a product, then a difference): no contraction."""
    module = ptx.new_kernel_module("lu_only")
    codegen.emit_program(lowered[0]["lu_5x5_float32"][0], module)
    text = ptx.compile_ptx(module, "sm_90")
    assert "fma" not in text and "div.rn.f32" in text


@pytest.mark.parametrize(
    "prim, make",
    [
        ("cholesky", lambda: (L.cholesky, [np.eye(3, dtype=np.float16)])),
        ("lu", lambda: (L.lu, [np.eye(3, dtype=np.complex64)])),
        ("qr", lambda: (lambda x: L.qr(x, True), [np.eye(3, dtype=np.float16)])),
        ("svd", lambda: (lambda x: L.svd(x, True, True), [np.eye(2, dtype=np.complex128)])),
    ],
)
def test_other_dtypes_are_refused(prim, make):
    fn, args = make()
    program, _ = compiler.program_from_jaxpr(fg.make_jaxpr(fn)(*args), "refused")
    assert any(isinstance(s, K.Fallback) and s.eqn.primitive.name == prim for s in program.steps), (
        K.program_str(program)
    )
    with pytest.raises(compiler.CudaUnsupportedError, match=prim):
        compiler.lower_program(program)


def _solve(a, b):
    return fnp.linalg.solve(a, b)


WHOLE_FUNCTIONS = {
    "solve": (_solve, 2),
    "inv": (fnp.linalg.inv, 1),
    "det": (fnp.linalg.det, 1),
    "slogdet": (fnp.linalg.slogdet, 1),
    "cholesky": (fnp.linalg.cholesky, 1),
    "qr": (fnp.linalg.qr, 1),
    "eigh": (fnp.linalg.eigh, 1),
    "svd": (fnp.linalg.svd, 1),
    "eigvalsh": (fnp.linalg.eigvalsh, 1),
}


def _whole_args(name, arity):
    rng = np.random.default_rng(5)
    a = _spd(rng, (4, 4), "float32")
    return [a] if arity == 1 else [a, _normal(rng, (4, 2), "float32")]


def test_whole_linalg_functions_lower_to_ptx_and_assemble():
    for name, (fn, arity) in WHOLE_FUNCTIONS.items():
        lowered = fg.jit(fn, backend="cuda").lower(*_whole_args(name, arity))
        kernels = lowered.as_text("kernels")
        assert "FALLBACK" not in kernels and " op " in kernels, (name, kernels)
        result = ptx.ptxas_check(lowered.as_text("ptx"), "sm_90")
        if result is None:
            pytest.skip("ptxas is not on PATH (install the CUDA toolkit to assemble generated PTX)")
        assert result[0], (name, result[1][-4000:])


# ---- running the kernels on the CPU -------------------------------------------------------------


@pytest.fixture(scope="module")
def emulated(lowered):
    """All cases' kernels compiled once for the host."""
    return Emulator(lowered[2])


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_kernels_run_on_the_cpu_match_eager(lowered, emulated, case, seed):
    assert emulated.checks == emulated.geps > 0  # every buffer address is bounds-checked
    program, consts = lowered[0][case.name]
    args = _args(case, seed)
    got = emulated.run(program, lowered[1][case.name], [*consts, *args])
    assert_matches(case, args, got, _eager(case, args))


def test_not_positive_definite_gives_nan_for_that_matrix_only(lowered, emulated):
    case = BY_NAME["cholesky_not_pd"]
    program, consts = lowered[0][case.name]
    args = _args(case, 3)
    (got,) = emulated.run(program, lowered[1][case.name], [*consts, *args])
    assert np.isnan(got[1]).all() and not np.isnan(got[[0, 2]]).any()


def test_svd_of_a_nan_matrix_is_nan(lowered, emulated):
    case = BY_NAME["svd_5x5_full_float32"]
    program, consts = lowered[0][case.name]
    x = _args(case, 3)[0]
    x[2, 3] = np.nan
    got = emulated.run(program, lowered[1][case.name], [*consts, x])
    want = _eager(case, [x])
    for g, w in zip(got, want):
        assert np.isnan(g).all() and np.isnan(w).all()


# ---- on a GPU ------------------------------------------------------------------------------------

GPU_CASES = [c.name for c in CASES if "17" in c.name or "3x4x4" in c.name or "_5_" in c.name]
needs_gpu = pytest.mark.skipif(
    not driver.cuda_available(), reason="needs an NVIDIA GPU and the CUDA driver (libcuda.so.1)"
)


@pytest.mark.parametrize("name", GPU_CASES)
@pytest.mark.cuda
@needs_gpu
def test_gpu_matches_eager(name):
    case = BY_NAME[name]
    args = _args(case, 3)
    got = fg.jit(case.fn, backend="cuda")(*args)
    got = list(got) if isinstance(got, (tuple, list)) else [got]
    assert_matches(case, args, got, _eager(case, args))


@pytest.mark.parametrize("name", sorted(WHOLE_FUNCTIONS))
@pytest.mark.cuda
@needs_gpu
def test_gpu_whole_linalg_functions(name):
    fn, arity = WHOLE_FUNCTIONS[name]
    args = _whole_args(name, arity)
    got = fg.jit(fn, backend="cuda")(*args)
    want = fn(*args)
    if name in ("qr", "eigh", "svd"):  # signs are free: compare what is sign-independent
        got, want = fg.tree_util.tree_leaves(got), fg.tree_util.tree_leaves(want)
        if name == "eigh":
            got, want = got[:1], want[:1]
        elif name == "svd":
            got, want = got[1:2], want[1:2]
        else:
            got, want = [np.abs(got[1])], [np.abs(want[1])]
    for g, w in zip(fg.tree_util.tree_leaves(got), fg.tree_util.tree_leaves(want), strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-3, atol=1e-3)
