"""Linear-algebra primitives: cholesky, triangular_solve, lu, qr, eigh, svd.

One block per primitive: the primitive and its wrapper, then impl (numpy.linalg, batched over
leading dims), abstract eval, jvp, vjp and vmap. Every impl accepts leading batch dimensions,
so each vmap rule just moves the batch dim to the front (``_batch_at_front``).

Reverse mode: ``cholesky`` and ``triangular_solve`` have explicit vjp rules; for ``lu``,
``qr``, ``eigh`` and ``svd`` the vjp is the transpose of the jvp (what JAX does too), taken by
``_vjp_from_jvp`` which runs reverse mode over the (linear) tangent map. Cotangents follow
JAX's convention: the vjp is the plain transpose (no conjugation) of the jvp.
"""

from __future__ import annotations

from funcgrad._src.lax import dot as ld
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import slicing as lsl
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax.common import (
    Primitive,
    ShapedArray,
    abstract_eval_rules,
    ad,
    as_operand,
    batching,
    get_aval,
    impl_rules,
    np,
    quiet,
    weak_type_rules,
)

# ---- helpers (bind-level, so every rule is differentiable again) -----------------------------


def _shape(x):
    return get_aval(x).shape


def _is_complex(x) -> bool:
    return get_aval(x).dtype.kind == "c"


def _T(x):
    nd = len(_shape(x))
    return ls.transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _H(x):
    return le.conj(_T(x)) if _is_complex(x) else _T(x)


def _conj(x):
    return le.conj(x) if _is_complex(x) else x


def _mm(a, b):
    """Batched matmul of (..., m, k) and (..., k, n) with identical batch dims."""
    nb = len(_shape(a)) - 2
    batch = tuple(range(nb))
    return ld.dot_general(a, b, (((nb + 1,), (nb,)), (batch, batch)))


def _const_like(x, val, shape=None):
    aval = get_aval(x)
    return ls.full(aval.shape if shape is None else shape, val, aval.dtype)


def _mask(x, np_mask):
    """Keep x where the (m, n) numpy mask is true, zero elsewhere (broadcast over batch)."""
    shape = _shape(x)
    m = ls.broadcast_in_dim(as_operand(np_mask), shape, (len(shape) - 2, len(shape) - 1))
    return le.select(m, x, _const_like(x, 0))


def _tril(x, k=0):
    m, n = _shape(x)[-2:]
    return _mask(x, np.tri(m, n, k, dtype=bool))


def _triu(x, k=0):
    m, n = _shape(x)[-2:]
    return _mask(x, ~np.tri(m, n, k - 1, dtype=bool))


def _eye_like(x, n=None, dtype=None):
    shape = _shape(x)
    n = shape[-1] if n is None else n
    eye = as_operand(np.eye(n, dtype=dtype or get_aval(x).dtype))
    return ls.broadcast_in_dim(eye, shape[:-2] + (n, n), (len(shape) - 2, len(shape) - 1))


def _diag(x):
    """The diagonal (..., n) of a square (..., n, n) batch."""
    return lr.reduce_sum(le.mul(x, _eye_like(x)), (len(_shape(x)) - 1,))


def _row(v, n):
    """(..., n) -> (..., n', n) broadcasting v along rows: v[..., None, :]."""
    shape = _shape(v)
    return ls.broadcast_in_dim(
        v, shape[:-1] + (n, shape[-1]), tuple(range(len(shape) - 1)) + (len(shape),)
    )


def _col(v, n):
    """(..., m) -> (..., m, n) broadcasting v along columns: v[..., :, None]."""
    shape = _shape(v)
    return ls.broadcast_in_dim(v, shape + (n,), tuple(range(len(shape))))


def _to(x, like):
    """Convert a real array to ``like``'s (possibly complex) dtype."""
    return le.convert_element_type(x, get_aval(like).dtype)


def _batch_at_front(prim):
    """vmap rule: the impls take leading batch dims, so move every bdim to the front."""

    def rule(vals, dims, axis_size, **params):
        vals = [batching.bdim_at_front(v, d, axis_size) for v, d in zip(vals, dims)]
        out = prim.bind(*vals, **params)
        return out, ([0] * len(out) if prim.multiple_results else 0)

    batching.vmap_rules[prim] = rule


def _vjp_from_jvp(tangent_fn):
    """vjp = transpose of the linear tangent map ``tangent_fn(primals, outs, tangents)``."""

    def rule(cts, primals, outs, **params):
        diff_in = [i for i, p in enumerate(primals) if get_aval(p).dtype.kind in "fc"]
        diff_out = [i for i, o in enumerate(outs) if get_aval(o).dtype.kind in "fc"]

        def linear(*ts):
            full = [ad.zeros_like_aval(get_aval(p)) for p in primals]
            for i, t in zip(diff_in, ts):
                full[i] = t
            t_out = tangent_fn(primals, outs, full, **params)
            return [t_out[i] for i in diff_out]

        zeros = [ad.zeros_like_aval(get_aval(primals[i])) for i in diff_in]
        _, f_vjp = ad.vjp_flat(linear, zeros)
        got = f_vjp([cts[i] for i in diff_out])
        res = [None] * len(primals)
        for i, c in zip(diff_in, got):
            res[i] = c
        return res

    return rule


def _def_jvp(prim, tangent_fn, vjp=None):
    """Register jvp from ``tangent_fn`` and vjp (explicit, or by transposing the jvp)."""

    def jvp(primals, tangents, **params):
        outs = prim.bind(*primals, **params)
        outs_l = outs if prim.multiple_results else [outs]
        t_out = tangent_fn(primals, outs_l, tangents, **params)
        return outs, (t_out if prim.multiple_results else t_out[0])

    vjp = vjp or _vjp_from_jvp(tangent_fn)
    ad.jvp_rules[prim] = jvp
    ad.vjp_rules[prim] = lambda cts, primals, outs, **params: vjp(
        cts, primals, outs if prim.multiple_results else [outs], **params
    )


def _check_matrix(name, x, square=False):
    if x.ndim < 2:
        raise TypeError(f"{name} needs an array of at least 2 dimensions, got {x.str_short()}")
    if square and x.shape[-1] != x.shape[-2]:
        raise TypeError(
            f"{name} needs square matrices in the last two dimensions, got {x.str_short()}"
        )
    if x.dtype.kind not in "fc":
        raise TypeError(f"{name} needs floating or complex input, got {x.dtype.name}")


def _real_dtype(dt):
    return np.dtype(f"f{dt.itemsize // 2}") if dt.kind == "c" else dt


def _per_matrix(fn, x, nan_outs):
    """Run ``fn`` on a batch; where numpy raises LinAlgError, that matrix's outputs are NaN
    (JAX's behaviour: no exception from inside a computation)."""
    try:
        return fn(x)
    except np.linalg.LinAlgError:
        pass
    batch = x.shape[:-2]
    flat = x.reshape((-1,) + x.shape[-2:])
    outs = [
        np.full((flat.shape[0],) + s, np.nan, d)
        if d.kind in "fc"
        else np.zeros((flat.shape[0],) + s, d)
        for s, d in nan_outs
    ]
    for i in range(flat.shape[0]):
        try:
            res = fn(flat[i])
        except np.linalg.LinAlgError:
            continue
        for o, r in zip(outs, res if isinstance(res, tuple) else (res,)):
            o[i] = r
    outs = [o.reshape(batch + o.shape[1:]) for o in outs]
    return outs[0] if len(outs) == 1 else tuple(outs)


# ---- cholesky ---------------------------------------------------------------------------------

cholesky_p = Primitive("cholesky")


def cholesky(x):
    """Lower Cholesky factor L (x = L Lᴴ) of a Hermitian positive-definite batch; reads only
    the lower triangle. Non positive-definite matrices give NaN (as in JAX)."""
    return cholesky_p.bind(as_operand(x))


def _cholesky_impl(x):
    n = x.shape[-1]
    lower = np.tril(x) + np.conj(np.swapaxes(np.tril(x, -1), -1, -2))
    return _per_matrix(np.linalg.cholesky, lower, [((n, n), x.dtype)]).astype(x.dtype)


def _cholesky_abstract(x):
    _check_matrix("cholesky", x, square=True)
    return ShapedArray(x.shape, x.dtype, False)


def _phi(x):
    """Murray's Φ: the lower triangle with the diagonal halved."""
    return le.mul(_tril(x), le.sub(_const_like(x, 1), le.mul(_eye_like(x), _const_like(x, 0.5))))


def _herm_from_lower(x):
    """The Hermitian matrix whose lower triangle is x's (what the impl reads)."""
    return le.add(_tril(x), _H(_tril(x, -1)))


def _herm_from_lower_T(ct):
    """Transpose of ``_herm_from_lower``: tril(ct) + tril(conj(ctᵀ), −1)."""
    return le.add(_tril(ct), _tril(_H(ct), -1))


def _cholesky_tangent(primals, outs, tangents):
    # Murray (2016), eq. (9): for A = L Lᴴ, L̇ = L Φ(L⁻¹ Ȧ L⁻ᴴ), with Ȧ Hermitian (the impl
    # reads the lower triangle, so Ȧ is rebuilt from its lower triangle).
    (L,), (a_dot,) = outs, tangents
    a_dot = _herm_from_lower(a_dot)
    tmp = triangular_solve(
        L, a_dot, left_side=False, lower=True, transpose_a=True, conjugate_a=True
    )
    return [_mm(L, _phi(triangular_solve(L, tmp, left_side=True, lower=True)))]


def _cholesky_vjp(cts, primals, outs):
    # Transpose of the jvp (Murray 2016, eq. (10) before symmetrisation):
    #   Ā = L⁻ᵀ Φ(Lᵀ L̄) conj(L)⁻¹   (real case: L⁻ᵀ Φ(Lᵀ L̄) L⁻¹).
    # then pulled back through "rebuild Ȧ from its lower triangle". The public wrapper
    # symmetrises its input first, as JAX's does, which symmetrises the final cotangent.
    (L,), (l_bar,) = outs, cts
    p = _phi(_mm(_T(L), l_bar))
    tmp = triangular_solve(L, p, left_side=True, lower=True, transpose_a=True)
    m = triangular_solve(L, tmp, left_side=False, lower=True, conjugate_a=True)
    return [_herm_from_lower_T(m)]


impl_rules[cholesky_p] = quiet(_cholesky_impl)
abstract_eval_rules[cholesky_p] = _cholesky_abstract
weak_type_rules[cholesky_p] = lambda w, **p: False
_def_jvp(cholesky_p, _cholesky_tangent, _cholesky_vjp)
_batch_at_front(cholesky_p)

# ---- triangular_solve ---------------------------------------------------------------------------

triangular_solve_p = Primitive("triangular_solve")


def triangular_solve(
    a,
    b,
    left_side: bool = False,
    lower: bool = False,
    transpose_a: bool = False,
    conjugate_a: bool = False,
    unit_diagonal: bool = False,
):
    """Solve ``op(a) x = b`` (left_side) or ``x op(a) = b`` for triangular ``a``.

    ``op(a)`` is ``a``, ``aᵀ`` (transpose_a) or ``aᴴ`` (transpose_a and conjugate_a); only
    the ``lower`` (or upper) triangle of ``a`` is read; ``unit_diagonal`` assumes ones on
    the diagonal. Batch dims of ``a`` and ``b`` must match.
    """
    return triangular_solve_p.bind(
        as_operand(a),
        as_operand(b),
        left_side=bool(left_side),
        lower=bool(lower),
        transpose_a=bool(transpose_a),
        conjugate_a=bool(conjugate_a),
        unit_diagonal=bool(unit_diagonal),
    )


def _op_np(a, lower, transpose_a, conjugate_a, unit_diagonal):
    a = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        n = a.shape[-1]
        a = a * (1 - np.eye(n, dtype=a.dtype)) + np.eye(n, dtype=a.dtype)
    if transpose_a:
        a = np.swapaxes(a, -1, -2)
    return np.conj(a) if conjugate_a else a


def _substitute(a, b):
    """Solve a x = b for triangular a by substitution (handles zero pivots: inf/nan)."""
    n = a.shape[-1]
    low = np.allclose(np.triu(a, 1), 0)
    x = np.zeros(
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:], np.result_type(a, b)
    )
    order = range(n) if low else range(n - 1, -1, -1)
    for i in order:
        s = np.einsum("...j,...jk->...k", a[..., i, :], x)
        x[..., i, :] = (b[..., i, :] - s) / a[..., i, i][..., None]
    return x


def _triangular_solve_impl(a, b, left_side, lower, transpose_a, conjugate_a, unit_diagonal):
    op = _op_np(a, lower, transpose_a, conjugate_a, unit_diagonal)
    if not left_side:  # x op = b  <=>  opᵀ xᵀ = bᵀ
        op, b = np.swapaxes(op, -1, -2), np.swapaxes(b, -1, -2)
    try:
        x = np.linalg.solve(op, b)
    except np.linalg.LinAlgError:
        x = _substitute(op, b)
    x = x if left_side else np.swapaxes(x, -1, -2)
    return x.astype(b.dtype, copy=False)


def _triangular_solve_abstract(a, b, left_side, lower, transpose_a, conjugate_a, unit_diagonal):
    _check_matrix("triangular_solve", a, square=True)
    if b.ndim != a.ndim or b.shape[:-2] != a.shape[:-2] or a.dtype != b.dtype:
        raise TypeError(
            f"triangular_solve: a {a.str_short()} and b {b.str_short()} must have "
            f"the same rank, batch dims and dtype"
        )
    m = a.shape[-1]
    if (b.shape[-2] if left_side else b.shape[-1]) != m:
        raise TypeError(
            f"triangular_solve: b {b.str_short()} does not fit a {a.str_short()} "
            f"(left_side={left_side})"
        )
    return ShapedArray(b.shape, b.dtype, False)


def _op(a, lower, transpose_a, conjugate_a, unit_diagonal):
    a = _tril(a) if lower else _triu(a)
    if unit_diagonal:
        a = le.mul(a, le.sub(_const_like(a, 1), _eye_like(a)))  # the tangent of 1 is 0
    if transpose_a:
        a = _T(a)
    return le.conj(a) if conjugate_a and _is_complex(a) else a


def _triangular_solve_tangent(
    primals, outs, tangents, left_side, lower, transpose_a, conjugate_a, unit_diagonal
):
    # left:  x = op(a)⁻¹ b   =>  ẋ = op(a)⁻¹ (ḃ − op(ȧ) x)
    # right: x = b op(a)⁻¹   =>  ẋ = (ḃ − x op(ȧ)) op(a)⁻¹
    # (op(ȧ) keeps ȧ's triangle; its diagonal is zero when unit_diagonal.)
    (a, _), (x,), (a_dot, b_dot) = primals, outs, tangents
    p = dict(
        left_side=left_side,
        lower=lower,
        transpose_a=transpose_a,
        conjugate_a=conjugate_a,
        unit_diagonal=unit_diagonal,
    )
    op_dot = _op(a_dot, lower, transpose_a, conjugate_a, unit_diagonal)
    rhs = le.sub(b_dot, _mm(op_dot, x) if left_side else _mm(x, op_dot))
    return [triangular_solve_p.bind(a, rhs, **p)]


def _triangular_solve_vjp(
    cts, primals, outs, left_side, lower, transpose_a, conjugate_a, unit_diagonal
):
    # b̄ = op(a)⁻ᵀ x̄ (left) or x̄ op(a)⁻ᵀ (right): the same solve with transpose_a toggled.
    # op(a)̄ = −b̄ xᵀ (left) or −xᵀ b̄ (right); ā is its transpose back through op, masked
    # to the triangle that is read (and zero on the diagonal when unit_diagonal).
    (a, _), (x,), (x_bar,) = primals, outs, cts
    b_bar = triangular_solve_p.bind(
        a,
        x_bar,
        left_side=left_side,
        lower=lower,
        transpose_a=not transpose_a,
        conjugate_a=conjugate_a,
        unit_diagonal=unit_diagonal,
    )
    op_bar = le.neg(_mm(b_bar, _T(x)) if left_side else _mm(_T(x), b_bar))
    a_bar = _T(op_bar) if transpose_a else op_bar
    a_bar = le.conj(a_bar) if conjugate_a and _is_complex(a_bar) else a_bar
    a_bar = _tril(a_bar) if lower else _triu(a_bar)
    if unit_diagonal:
        a_bar = le.mul(a_bar, le.sub(_const_like(a_bar, 1), _eye_like(a_bar)))
    return [a_bar, b_bar]


impl_rules[triangular_solve_p] = quiet(_triangular_solve_impl)
abstract_eval_rules[triangular_solve_p] = _triangular_solve_abstract
weak_type_rules[triangular_solve_p] = lambda w, **p: False
_def_jvp(triangular_solve_p, _triangular_solve_tangent, _triangular_solve_vjp)
_batch_at_front(triangular_solve_p)

# ---- lu ---------------------------------------------------------------------------------------

lu_p = Primitive("lu", multiple_results=True)


def lu(x):
    """LU with partial pivoting: returns ``(lu, pivots, permutation)`` as in ``jax.lax.linalg.lu``.

    ``lu`` holds L (strictly lower, unit diagonal implied) and U; ``x[..., permutation, :]
    == L @ U``; ``pivots[i]`` is the row swapped with row ``i`` (LAPACK's ipiv, 0-based).
    """
    return lu_p.bind(as_operand(x))


def _lu_impl(a):
    batch, (m, n) = a.shape[:-2], a.shape[-2:]
    k = min(m, n)
    w = a.reshape((int(np.prod(a.shape[:-2], dtype=np.int64)), m, n)).copy()
    nb = w.shape[0]
    bi = np.arange(nb)
    perm = np.tile(np.arange(m, dtype=np.int32), (nb, 1))
    piv = np.zeros((nb, k), np.int32)
    for j in range(k):
        p = j + np.argmax(np.abs(w[:, j:, j]), axis=1)
        piv[:, j] = p
        w[bi, j], w[bi, p] = w[bi, p].copy(), w[bi, j].copy()
        perm[bi, j], perm[bi, p] = perm[bi, p].copy(), perm[bi, j].copy()
        d = w[:, j, j]
        w[:, j + 1 :, j] /= np.where(d == 0, 1, d)[:, None]  # a zero pivot: column is 0
        w[:, j + 1 :, j + 1 :] -= w[:, j + 1 :, j : j + 1] * w[:, j : j + 1, j + 1 :]
    return [w.reshape(a.shape), piv.reshape(batch + (k,)), perm.reshape(batch + (m,))]


def _lu_abstract(x):
    _check_matrix("lu", x)
    m, n = x.shape[-2:]
    b = x.shape[:-2]
    i32 = np.dtype(np.int32)
    return [
        ShapedArray(x.shape, x.dtype, False),
        ShapedArray(b + (min(m, n),), i32, False),
        ShapedArray(b + (m,), i32, False),
    ]


def _lu_factors(lu_mat):
    """(L (m, m) unit lower, U (n, n) upper) padded to square as in JAX's lu jvp."""
    m, n = _shape(lu_mat)[-2:]
    k = min(m, n)
    nd = len(_shape(lu_mat))
    zero = _const_like(lu_mat, 0, ())
    lk = lsl.slice(lu_mat, (0,) * nd, _shape(lu_mat)[:-1] + (k,))
    cfg = [(0, 0, 0)] * nd
    cfg[-1] = (0, m - k, 0)
    L = le.add(lsl.pad(_tril(lk, -1), zero, cfg), _eye_like(lu_mat, m))
    uk = lsl.slice(lu_mat, (0,) * nd, _shape(lu_mat)[:-2] + (k, n))
    cfg = [(0, 0, 0)] * nd
    cfg[-2] = (0, n - k, 0)
    u_eye = np.pad(np.eye(n - k), ((k, 0), (k, 0))).astype(get_aval(lu_mat).dtype)
    U = le.add(
        lsl.pad(_triu(uk), zero, cfg),
        ls.broadcast_in_dim(as_operand(u_eye), _shape(lu_mat)[:-2] + (n, n), (nd - 2, nd - 1)),
    )
    return L, U


def _lu_tangent(primals, outs, tangents):
    # P A = L U  =>  L⁻¹ P Ȧ U⁻¹ = L⁻¹L̇ + U̇U⁻¹ =: X;  L̇ = L·tril(X, −1), U̇ = triu(X)·U
    # (JAX's _lu_jvp_rule; non-square inputs are padded to square factors).
    (lu_mat, _, perm), (a_dot,) = outs, tangents
    m = _shape(lu_mat)[-2]
    nd = len(_shape(perm))
    iota = ls.broadcasted_iota(get_aval(perm).dtype, _shape(perm) + (m,), nd)
    P = _to(le.eq(ls.broadcast_in_dim(perm, _shape(perm) + (m,), tuple(range(nd))), iota), a_dot)
    L, U = _lu_factors(lu_mat)
    la = triangular_solve(L, _mm(P, a_dot), left_side=True, lower=True, unit_diagonal=True)
    lau = triangular_solve(U, la, left_side=False, lower=False)
    lu_dot = le.add(_mm(L, _tril(lau, -1)), _mm(_triu(lau), U))
    return [lu_dot, ad.zeros_like_aval(get_aval(outs[1])), ad.zeros_like_aval(get_aval(perm))]


impl_rules[lu_p] = quiet(_lu_impl)
abstract_eval_rules[lu_p] = _lu_abstract
weak_type_rules[lu_p] = lambda w, **p: False
_def_jvp(lu_p, _lu_tangent)
_batch_at_front(lu_p)

# ---- qr ---------------------------------------------------------------------------------------

qr_p = Primitive("qr", multiple_results=True)


def qr(x, full_matrices: bool = True):
    """QR decomposition ``(q, r)``; ``full_matrices=False`` gives the reduced form."""
    return qr_p.bind(as_operand(x), full_matrices=bool(full_matrices))


def _qr_impl(x, full_matrices):
    q, r = np.linalg.qr(x, mode="complete" if full_matrices else "reduced")
    return [q.astype(x.dtype, copy=False), r.astype(x.dtype, copy=False)]


def _qr_abstract(x, full_matrices):
    _check_matrix("qr", x)
    m, n = x.shape[-2:]
    k = m if full_matrices else min(m, n)
    b = x.shape[:-2]
    return [ShapedArray(b + (m, k), x.dtype, False), ShapedArray(b + (k, n), x.dtype, False)]


def _qr_tangent(primals, outs, tangents, full_matrices):
    # JAX's qr_jvp_rule (m >= n, reduced): with C = Qᴴ Ȧ R⁻¹ and Ω = tril(C, −1) − tril(C, −1)ᴴ
    # (plus i·Im(diag C) for complex input), Q̇ = Q (Ω − C) + Ȧ R⁻¹ and Ṙ = (C − Ω) R.
    (x,), (q, r), (x_dot,) = primals, outs, tangents
    m, n = _shape(x)[-2:]
    if m < n or (full_matrices and m > n):
        raise NotImplementedError(
            "qr derivatives need m >= n and full_matrices=False (or a square matrix), as in JAX"
        )
    dx_rinv = triangular_solve(r, x_dot)  # right side, upper: Ȧ R⁻¹
    c = _mm(_H(q), dx_rinv)
    c_low = _tril(c, -1)
    omega = le.sub(c_low, _H(c_low))
    if _is_complex(x):
        omega = le.add(omega, le.mul(_eye_like(c), le.sub(c, _to(le.real(c), c))))
    dq = le.add(_mm(q, le.sub(omega, c)), dx_rinv)
    dr = _mm(le.sub(c, omega), r)
    return [dq, dr]


impl_rules[qr_p] = quiet(_qr_impl)
abstract_eval_rules[qr_p] = _qr_abstract
weak_type_rules[qr_p] = lambda w, **p: False
_def_jvp(qr_p, _qr_tangent)
_batch_at_front(qr_p)

# ---- eigh -------------------------------------------------------------------------------------

eigh_p = Primitive("eigh", multiple_results=True)


def eigh(x, lower: bool = True, symmetrize_input: bool = True):
    """Eigen-decomposition of a Hermitian batch: returns ``(v, w)`` (JAX's lax order),
    eigenvalues ``w`` ascending, eigenvectors in the columns of ``v``."""
    x = as_operand(x)
    if symmetrize_input:
        x = le.div(le.add(x, _H(x)), _const_like(x, 2))
    return eigh_p.bind(x, lower=bool(lower))


def _eigh_impl(x, lower):
    n = x.shape[-1]
    rdt = _real_dtype(x.dtype)
    fn = lambda a: np.linalg.eigh(a, UPLO="L" if lower else "U")
    w, v = _per_matrix(fn, x, [((n,), rdt), ((n, n), x.dtype)])
    return [v.astype(x.dtype, copy=False), w.astype(rdt, copy=False)]


def _eigh_abstract(x, lower):
    _check_matrix("eigh", x, square=True)
    return [
        ShapedArray(x.shape, x.dtype, False),
        ShapedArray(x.shape[:-1], _real_dtype(x.dtype), False),
    ]


def _eigh_tangent(primals, outs, tangents, lower):
    # JAX's eigh_jvp_rule: with F_ij = 1/(w_j − w_i) (0 on the diagonal) and
    # S = Vᴴ Ȧ V:  ẇ = Re diag(S),  V̇ = V (F ∘ S).
    (v, w), (a_dot,) = outs, tangents
    n = _shape(w)[-1]
    eye = _eye_like(v, n, get_aval(w).dtype)
    f = le.sub(le.div(_const_like(eye, 1), le.add(eye, le.sub(_row(w, n), _col(w, n)))), eye)
    s = _mm(_mm(_H(v), a_dot), v)
    dv = _mm(v, le.mul(_to(f, s), s))
    dw = _diag(s)
    dw = le.real(dw) if _is_complex(dw) else dw
    return [dv, dw]


impl_rules[eigh_p] = quiet(_eigh_impl)
abstract_eval_rules[eigh_p] = _eigh_abstract
weak_type_rules[eigh_p] = lambda w, **p: False
_def_jvp(eigh_p, _eigh_tangent)
_batch_at_front(eigh_p)

# ---- svd --------------------------------------------------------------------------------------

svd_p = Primitive("svd", multiple_results=True)


def svd(x, full_matrices: bool = True, compute_uv: bool = True):
    """SVD: ``(u, s, vh)`` with ``x = u @ diag(s) @ vh`` (or just ``s``); ``s`` descending."""
    outs = svd_p.bind(as_operand(x), full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))
    return tuple(outs) if compute_uv else outs[0]


def _svd_impl(x, full_matrices, compute_uv):
    m, n = x.shape[-2:]
    k = min(m, n)
    rdt = _real_dtype(x.dtype)
    if not compute_uv:
        fn = lambda a: np.linalg.svd(a, compute_uv=False)
        return [_per_matrix(fn, x, [((k,), rdt)]).astype(rdt, copy=False)]
    ku, kv = (m, n) if full_matrices else (k, k)
    fn = lambda a: tuple(np.linalg.svd(a, full_matrices=full_matrices))
    u, s, vh = _per_matrix(fn, x, [((m, ku), x.dtype), ((k,), rdt), ((kv, n), x.dtype)])
    return [
        u.astype(x.dtype, copy=False),
        s.astype(rdt, copy=False),
        vh.astype(x.dtype, copy=False),
    ]


def _svd_abstract(x, full_matrices, compute_uv):
    _check_matrix("svd", x)
    m, n = x.shape[-2:]
    k = min(m, n)
    b = x.shape[:-2]
    s = ShapedArray(b + (k,), _real_dtype(x.dtype), False)
    if not compute_uv:
        return [s]
    ku, kv = (m, n) if full_matrices else (k, k)
    return [ShapedArray(b + (m, ku), x.dtype, False), s, ShapedArray(b + (kv, n), x.dtype, False)]


def _svd_tangent(primals, outs, tangents, full_matrices, compute_uv):
    # JAX's svd_jvp_rule (full_matrices=False). With dS = Uᴴ Ȧ V:  ṡ = Re diag(dS);
    # F_ij = 1/(s_j² − s_i²) (0 on the diagonal), dSS = dS·diag(s), SdS = diag(s)·dS,
    # U̇ = U (F ∘ (dSS + dSSᴴ) + ½ (dS − dSᴴ) diag(1/s)) [+ (I − UUᴴ) Ȧ V / s  if m > n],
    # V̇ = V (F ∘ (SdS + SdSᴴ)) [+ (I − VVᴴ) Ȧᴴ U / s  if n > m],  and (Vᴴ)̇ = V̇ᴴ.
    (a,), (a_dot,) = primals, tangents
    m, n = _shape(a)[-2:]
    if compute_uv and full_matrices and m != n:
        raise NotImplementedError("svd derivatives need full_matrices=False (as in JAX)")
    u, s, vh = outs if compute_uv else svd(a, full_matrices=False)
    v = _H(vh)
    k = _shape(s)[-1]
    ds_mat = _mm(_mm(_H(u), a_dot), v)
    ds = _diag(ds_mat)
    ds = le.real(ds) if _is_complex(ds) else ds
    if not compute_uv:
        return [ds]
    s_row, s_col = _row(s, k), _col(s, k)
    eye = _eye_like(s_row)
    f = le.sub(
        le.div(
            _const_like(eye, 1), le.add(le.mul(le.add(s_row, s_col), le.sub(s_row, s_col)), eye)
        ),
        eye,
    )
    s_zero = _to(le.eq(s, _const_like(s, 0)), s)
    s_inv = le.sub(le.div(_const_like(s, 1), le.add(s, s_zero)), s_zero)
    dss = le.mul(_to(s_row, ds_mat), ds_mat)
    sds = le.mul(_to(s_col, ds_mat), ds_mat)
    half_skew = le.mul(
        le.mul(_const_like(ds_mat, 0.5), le.sub(ds_mat, _H(ds_mat))),
        _to(le.mul(_row(s_inv, k), eye), ds_mat),
    )
    fc = _to(f, ds_mat)
    du = _mm(u, le.add(le.mul(fc, le.add(dss, _H(dss))), half_skew))
    dv = _mm(v, le.mul(fc, le.add(sds, _H(sds))))
    if m > n:
        dav = _mm(a_dot, v)
        du = le.add(du, le.div(le.sub(dav, _mm(u, _mm(_H(u), dav))), _to(_row(s, m), dav)))
    if n > m:
        dahu = _mm(_H(a_dot), u)
        dv = le.add(dv, le.div(le.sub(dahu, _mm(v, _mm(vh, dahu))), _to(_row(s, n), dahu)))
    return [du, ds, _H(dv)]


impl_rules[svd_p] = quiet(_svd_impl)
abstract_eval_rules[svd_p] = _svd_abstract
weak_type_rules[svd_p] = lambda w, **p: False
_def_jvp(svd_p, _svd_tangent)
_batch_at_front(svd_p)
