"""funcgrad.numpy.linalg and the lax.linalg primitives: values vs numpy, gradients (central
differences and the vjp identity, float64), vmap vs a Python loop, failure conventions."""

import numpy as np
import pytest
from _gradcheck import check_grads

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad._src.lax import linalg as ll

LA = fnp.linalg
RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4, 4)).astype(np.float32)
B = RNG.standard_normal((3, 4, 2)).astype(np.float32)
SPD = (A @ A.transpose(0, 2, 1) + 4 * np.eye(4)).astype(np.float32)
TALL = RNG.standard_normal((5, 3)).astype(np.float32)
WIDE = RNG.standard_normal((3, 5)).astype(np.float32)


def close(x, y, tol=2e-4):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tol, atol=tol)


def _spd64(n=4, batch=()):
    a = RNG.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


# ---- values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,args",
    [
        ("det", (A,)),
        ("inv", (A,)),
        ("solve", (A, B)),
        ("cholesky", (SPD,)),
        ("eigvalsh", (SPD,)),
        ("pinv", (A,)),
        ("pinv", (TALL,)),
        ("pinv", (WIDE,)),
        ("matrix_rank", (np.ones((3, 3), np.float32),)),
        ("cond", (A[0],)),
    ],
)
def test_values_match_numpy(name, args):
    close(getattr(LA, name)(*args), getattr(np.linalg, name)(*args), 1e-3)


def test_solve_vector_and_broadcast_batch():
    close(LA.solve(A[0], B[0, :, 0]), np.linalg.solve(A[0], B[0, :, 0]), 1e-3)
    close(LA.solve(A, B[0]), np.linalg.solve(A, B[0]), 1e-3)  # b's batch broadcasts


def test_slogdet_and_matrix_power():
    sign, logabsdet = LA.slogdet(A)
    want_sign, want_logabsdet = np.linalg.slogdet(A)
    close(sign, want_sign)
    close(logabsdet, want_logabsdet)
    for n in (0, 1, 3, -2):
        close(LA.matrix_power(A, n), np.linalg.matrix_power(A, n), 2e-3)
    big = np.eye(3, dtype=np.float32) * 1e20  # det overflows float32, slogdet does not
    assert np.isinf(np.asarray(LA.det(big)))
    close(LA.slogdet(big).logabsdet, 3 * np.log(1e20))


@pytest.mark.parametrize("x", [A, TALL, WIDE])
def test_decompositions_reconstruct(x):
    u, s, vh = LA.svd(x, full_matrices=False)
    close(np.asarray(u) * np.asarray(s)[..., None, :] @ np.asarray(vh), x)
    close(s, np.linalg.svd(x, compute_uv=False))
    close(LA.svd(x, compute_uv=False), np.linalg.svd(x, compute_uv=False))
    q, r = LA.qr(x)
    close(np.asarray(q) @ np.asarray(r), x)
    assert np.allclose(np.tril(np.asarray(r), -1), 0)
    lu, piv, perm = ll.lu(x)
    m, n = x.shape[-2:]
    k = min(m, n)
    L = np.tril(np.asarray(lu), -1)[..., :, :k] + np.eye(m, k)
    U = np.triu(np.asarray(lu))[..., :k, :]
    close(L @ U, np.take_along_axis(x, np.asarray(perm)[..., :, None], axis=-2))


def test_svd_full_matrices_shapes_like_numpy():
    u, s, vh = LA.svd(TALL)
    nu, ns, nvh = np.linalg.svd(TALL)
    assert (u.shape, s.shape, vh.shape) == (nu.shape, ns.shape, nvh.shape)
    q, r = LA.qr(TALL, mode="complete")
    assert q.shape == (5, 5) and r.shape == (5, 3)
    assert LA.qr(TALL, mode="r").shape == (3, 3)


def test_eigh_values_ascending_and_vectors():
    w, v = LA.eigh(SPD)
    close(w, np.linalg.eigvalsh(SPD), 1e-3)
    assert np.all(np.diff(np.asarray(w), axis=-1) >= 0)
    close(
        np.asarray(v) @ (np.asarray(w)[..., None] * np.swapaxes(np.asarray(v), -1, -2)), SPD, 1e-3
    )


@pytest.mark.parametrize("ord", [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf])
def test_matrix_norms(ord):
    close(LA.norm(A[0], ord), np.linalg.norm(A[0], ord))
    close(LA.norm(A, ord, axis=(2, 0)), np.linalg.norm(A, ord, axis=(2, 0)))
    close(
        LA.norm(A, ord, axis=(0, 1), keepdims=True),
        np.linalg.norm(A, ord, axis=(0, 1), keepdims=True),
    )


@pytest.mark.parametrize("ord", [None, 1, 2, 3, 0.5, 0, -1, np.inf, -np.inf])
def test_vector_norms(ord):
    close(LA.norm(A, ord, axis=1), np.linalg.norm(A, ord, axis=1))
    close(LA.norm(A[0, 0], ord), np.linalg.norm(A[0, 0], ord))
    close(LA.norm(A, ord, axis=-1, keepdims=True), np.linalg.norm(A, ord, axis=-1, keepdims=True))


def test_norm_flattens_and_rejects_bad_ord():
    close(LA.norm(A), np.linalg.norm(A))
    with pytest.raises(ValueError):
        LA.norm(A[0], "nuc", axis=0)
    with pytest.raises(ValueError):
        LA.norm(A, 2)


def test_lstsq():
    b = RNG.standard_normal(5).astype(np.float32)
    x, res, rank, s = LA.lstsq(TALL, b)
    nx, nres, nrank, ns = np.linalg.lstsq(TALL, b, rcond=None)
    close(x, nx, 1e-3)
    close(res, nres, 1e-3)
    assert int(rank) == nrank
    close(s, ns)


def test_failures_give_nan_not_exceptions():
    assert np.isnan(np.asarray(LA.cholesky(-np.eye(2, dtype=np.float32)))).any()
    sing = np.array([[1.0, 2.0], [2.0, 4.0]], np.float32)
    assert not np.isfinite(np.asarray(LA.solve(sing, np.ones(2, np.float32)))).all()
    assert float(LA.det(sing)) == 0.0
    assert float(LA.slogdet(sing).logabsdet) == -np.inf
    with pytest.raises(np.linalg.LinAlgError):
        LA.inv(np.ones((2, 3), np.float32))


# ---- gradients --------------------------------------------------------------------------------


def test_grad_det_matches_cofactor_formula():
    with fg.config.override(enable_x64=True):
        a = RNG.standard_normal((4, 4))
        g = fg.grad(LA.det)(a)
        close(g, np.linalg.det(a) * np.linalg.inv(a).T, 1e-8)
        g = fg.grad(lambda x: LA.slogdet(x)[1])(a)
        close(g, np.linalg.inv(a).T, 1e-8)


@pytest.mark.parametrize(
    "fn",
    [
        lambda a: LA.det(a),
        lambda a: LA.slogdet(a)[1],
        lambda a: LA.inv(a),
        lambda a: LA.matrix_power(a, 3),
        lambda a: LA.matrix_power(a, -1),
        lambda a: LA.pinv(a),
        lambda a: LA.norm(a, 2, (1, 2)),
        lambda a: LA.norm(a, "nuc", (1, 2)),
        lambda a: LA.norm(a, -2, (1, 2)),
        lambda a: LA.norm(a, 1, (1, 2)),
        lambda a: LA.norm(a, np.inf, (1, 2)),
        lambda a: LA.norm(a),
        lambda a: LA.norm(a, 3, axis=0),
        lambda a: LA.cond(a),
        lambda a: LA.svd(a, compute_uv=False),
    ],
    ids=[
        "det",
        "logdet",
        "inv",
        "pow3",
        "pow-1",
        "pinv",
        "norm2",
        "nuc",
        "norm-2",
        "norm1",
        "norminf",
        "fro",
        "vec3",
        "cond",
        "svdvals",
    ],
)
def test_grads_square(fn):
    check_grads(fn, [RNG.standard_normal((2, 4, 4))])


def test_grads_solve_both_arguments():
    a, b = RNG.standard_normal((2, 3, 3)), RNG.standard_normal((2, 3, 2))
    check_grads(LA.solve, [a, b], order=2)
    check_grads(LA.solve, [a[0], b[0, :, 0]])


def test_grads_cholesky_symmetric_input():
    sym = lambda x: (x + np.swapaxes(x, -1, -2)) / 2 if isinstance(x, np.ndarray) else x
    check_grads(lambda a: LA.cholesky(a), [sym(_spd64(4, (2,)))], order=2)
    # the gradient is symmetric, as for JAX's cholesky (which symmetrises its input)
    with fg.config.override(enable_x64=True):
        g = fg.grad(lambda a: fnp.sum(LA.cholesky(a) ** 3))(_spd64())
        close(g, np.asarray(g).T, 1e-10)


def test_grads_eigh_and_qr_and_svd():
    check_grads(lambda a: LA.eigh(a)[0], [_spd64(4, (2,))])
    # eigenvectors are defined up to sign: check a sign-invariant function of them
    check_grads(lambda a: LA.eigh(a)[1] * LA.eigh(a)[1][..., :1, :], [_spd64(4, (2,))])
    for shape in [(2, 4, 4), (2, 5, 3)]:
        check_grads(lambda a: LA.qr(a), [RNG.standard_normal(shape)])
    for shape in [(2, 4, 4), (2, 5, 3), (2, 3, 5)]:

        def uv(a):
            u, s, vh = LA.svd(a, full_matrices=False)
            return u * u[..., :1, :], s, vh * vh[..., :, :1]

        check_grads(uv, [RNG.standard_normal(shape)])


def test_grad_pinv_with_repeated_singular_values_is_finite():
    with fg.config.override(enable_x64=True):
        g = fg.grad(lambda a: fnp.sum(LA.pinv(a)))(np.eye(3))
        close(g, -np.ones((3, 3)), 1e-10)  # d sum(inv(a)) = -inv(a)ᵀ 1 1ᵀ inv(a)ᵀ at a = I
    check_grads(LA.pinv, [RNG.standard_normal((5, 3))])
    check_grads(LA.pinv, [RNG.standard_normal((3, 5))])


def test_grad_norm_at_zero_is_zero_not_nan():
    assert np.all(np.asarray(fg.grad(LA.norm)(fnp.zeros(3))) == 0)
    assert np.all(np.asarray(fg.grad(lambda x: LA.norm(x, "fro"))(fnp.zeros((2, 2)))) == 0)


def test_second_order_logdet_hessian():
    with fg.config.override(enable_x64=True):
        a = _spd64(3)
        h = fg.hessian(lambda x: LA.slogdet(x)[1])(a)
        ai = np.linalg.inv(a)
        close(h, -np.einsum("li,jk->ijkl", ai, ai), 1e-7)  # d²logdet = -tr(A⁻¹ dA A⁻¹ dA)


@pytest.mark.parametrize("left_side", [True, False])
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("transpose_a,unit_diagonal", [(False, False), (True, True)])
def test_triangular_solve(left_side, lower, transpose_a, unit_diagonal):
    a = RNG.standard_normal((2, 4, 4)) + 4 * np.eye(4)
    b = RNG.standard_normal((2, 4, 3) if left_side else (2, 3, 4))
    p = dict(left_side=left_side, lower=lower, transpose_a=transpose_a, unit_diagonal=unit_diagonal)
    t = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        t = t * (1 - np.eye(4)) + np.eye(4)
    op = np.swapaxes(t, -1, -2) if transpose_a else t
    want = (
        np.linalg.solve(op, b)
        if left_side
        else np.swapaxes(np.linalg.solve(np.swapaxes(op, -1, -2), np.swapaxes(b, -1, -2)), -1, -2)
    )
    with fg.config.override(enable_x64=True):
        close(ll.triangular_solve(a, b, **p), want, 1e-10)
    check_grads(lambda a, b: ll.triangular_solve(a, b, **p), [a, b])


def test_lu_grad_nonsquare():
    for shape in [(4, 4), (5, 3), (3, 5)]:
        check_grads(lambda a: ll.lu(a)[0], [RNG.standard_normal((2,) + shape)])


def test_svd_full_matrices_grad_raises():
    with pytest.raises(NotImplementedError):
        fg.grad(lambda a: fnp.sum(LA.svd(a)[0]))(TALL)


# ---- vmap ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn,args,in_axes",
    [
        (LA.solve, (A, B), (0, 0)),
        (LA.solve, (A, B[0]), (0, None)),
        (LA.solve, (A[0], B), (None, 0)),
        (LA.det, (A,), 0),
        (LA.inv, (A,), 0),
        (lambda a: LA.eigh(a)[0], (SPD,), 0),
        (LA.cholesky, (SPD,), 0),
        (lambda a: LA.svd(a, compute_uv=False), (A,), 0),
        (lambda a: LA.qr(a)[1], (A,), 0),
        (lambda a: LA.norm(a, 2), (A,), 0),
        (LA.pinv, (A,), 0),
        (lambda a, b: ll.triangular_solve(a, b, left_side=True, lower=True), (SPD, B), (0, 0)),
        (
            lambda a, b: ll.triangular_solve(a, b, left_side=True, lower=True),
            (SPD[0], B),
            (None, 0),
        ),
    ],
)
def test_vmap_matches_loop(fn, args, in_axes):
    got = fg.vmap(fn, in_axes=in_axes)(*args)
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,)
    want = np.stack(
        [
            np.asarray(fn(*[a if ax is None else a[i] for a, ax in zip(args, axes)]))
            for i in range(3)
        ]
    )
    close(got, want, 1e-4)


def test_vmap_of_grad_and_batched_moved_axis():
    g = fg.vmap(fg.grad(lambda a: LA.slogdet(a)[1]))(A)
    close(g, np.linalg.inv(A).transpose(0, 2, 1), 1e-3)
    got = fg.vmap(LA.det, in_axes=2)(np.moveaxis(A, 0, 2))
    close(got, np.linalg.det(A), 1e-4)


def test_make_jaxpr_shows_linalg_primitives():
    text = str(fg.make_jaxpr(LA.solve)(A[0], B[0]))
    assert "lu" in text and "triangular_solve" in text


@pytest.mark.parametrize(
    "name", ["inv", "det", "eigvalsh", "svdvals", "qr", "cholesky", "pinv", "solve"]
)
def test_complex_inputs_jvp_and_vjp(name):
    # jvp vs central differences; vjp by JAX's convention: Re Σ vjp(ct)·t == Re Σ ct·jvp(t)
    fns = {
        "inv": LA.inv,
        "det": LA.det,
        "eigvalsh": LA.eigvalsh,
        "svdvals": LA.svdvals,
        "qr": lambda m: LA.qr(m)[1],
        "cholesky": LA.cholesky,
        "pinv": LA.pinv,
        "solve": lambda m: LA.solve(m, np.ones(3)),
    }
    f = fns[name]
    c = lambda *s: RNG.standard_normal(s) + 1j * RNG.standard_normal(s)
    a = c(3, 3)
    herm = name in ("eigvalsh", "cholesky")
    x = a @ a.conj().T + 3 * np.eye(3) if herm else a
    t = c(3, 3)
    t = t + t.conj().T if herm else t
    with fg.config.override(enable_x64=True):
        close(
            f(x),
            getattr(np.linalg, name)(x)
            if name in ("inv", "det", "eigvalsh", "pinv", "cholesky")
            else f(x),
            1e-10,
        )
        _, jv = fg.jvp(f, (fnp.asarray(x),), (fnp.asarray(t),))
        num = (np.asarray(f(x + 1e-6 * t)) - np.asarray(f(x - 1e-6 * t))) / 2e-6
        close(jv, num, 1e-6)
        y, f_vjp = fg.vjp(f, fnp.asarray(x))
        ct = c(*y.shape) if y.dtype.kind == "c" else RNG.standard_normal(y.shape)
        (g,) = f_vjp(fnp.asarray(ct.astype(y.dtype)))
        lhs = np.real(np.sum(np.asarray(g) * t))
        assert abs(lhs - np.real(np.sum(ct * np.asarray(jv)))) < 1e-9 * max(1, abs(lhs))


def test_lu_of_empty_matrices():
    """The eager lu reshaped (-1, 0, 0), which numpy cannot do for size-0 arrays."""
    from funcgrad._src.lax import linalg as L

    for shape in [(0, 0), (2, 0, 0), (0, 3, 3)]:
        lu, piv, perm = L.lu(np.zeros(shape, np.float32))
        assert np.asarray(lu).shape == shape
        assert np.asarray(piv).shape == np.asarray(perm).shape == shape[:-1]
