"""Numerical gradient checks, like ``jax.test_util``.

``check_jvp`` compares forward mode with central differences in a random direction;
``check_vjp`` checks reverse mode with the inner-product identity ``<v, J t> == <J^T v, t>``;
``check_grads`` runs both, recursively up to ``order`` (order 2 checks the derivatives of the
jvp and vjp functions themselves). All comparisons are done in float64 numpy; enable x64
(``funcgrad.config.override(enable_x64=True)``) and pass float64 inputs for tight tolerances.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

from funcgrad import tree_util as tu

__all__ = ["check_grads", "check_jvp", "check_vjp", "numerical_jvp"]

_EPS = {
    np.dtype("float16"): 1e-2,
    np.dtype("float32"): 1e-3,
    np.dtype("float64"): 1e-5,
    np.dtype("complex64"): 1e-3,
    np.dtype("complex128"): 1e-5,
}
_TOL = {
    np.dtype("float16"): 5e-2,
    np.dtype("float32"): 1e-2,
    np.dtype("float64"): 1e-5,
    np.dtype("complex64"): 1e-2,
    np.dtype("complex128"): 1e-5,
}


def _api():
    import funcgrad as fg

    return fg


def _np(x) -> np.ndarray:
    return np.asarray(x)


def _inexact(x) -> bool:
    return _np(x).dtype.kind in "fc"


def _float_leaves(tree) -> list:
    return [x for x in tu.tree_leaves(tree) if _inexact(x)]


def _widest(tree, table, default):
    """The loosest table entry over the inexact leaves (float32 beats float64)."""
    vals = [table.get(_np(x).dtype, default) for x in _float_leaves(tree)]
    return max(vals) if vals else default


def _rand_like(rng, x):
    """A random tangent/cotangent: standard normal for inexact leaves, zeros otherwise."""
    a = _np(x)
    if a.dtype.kind not in "fc":
        return _api().numpy.asarray(np.zeros(a.shape, a.dtype))
    v = rng.standard_normal(a.shape)
    if a.dtype.kind == "c":
        v = v + 1j * rng.standard_normal(a.shape)
    return _api().numpy.asarray(v.astype(a.dtype))


def _perturb(x, t, scale: float):
    """``x + scale * t`` computed in float64, returned in ``x``'s dtype (non-floats as is)."""
    a = _np(x)
    if a.dtype.kind not in "fc":
        return x
    if a.dtype.kind == "c":
        v = a.astype(np.complex128) + scale * _np(t).astype(np.complex128)
    else:
        v = a.astype(np.float64) + scale * _np(t).astype(np.float64)
    return _api().numpy.asarray(v.astype(a.dtype))


def numerical_jvp(f: Callable, primals: Sequence, tangents: Sequence, eps: float):
    """Central difference ``(f(x + eps t) - f(x - eps t)) / (2 eps)``, as float64 leaves.

    Args:
      f: the function, of ``len(primals)`` arguments (pytrees).
      primals: the point ``x``, a sequence of arguments.
      tangents: the direction ``t``, with ``primals``' structure.
      eps: the step.

    Returns:
      A pytree of ``f``'s output structure with float64 (or complex128) numpy leaves.
    """
    plus = f(*tu.tree_map(lambda x, t: _perturb(x, t, eps), tuple(primals), tuple(tangents)))
    minus = f(*tu.tree_map(lambda x, t: _perturb(x, t, -eps), tuple(primals), tuple(tangents)))
    wide = lambda v: _np(v).astype(np.complex128 if _np(v).dtype.kind == "c" else np.float64)
    return tu.tree_map(lambda p, m: (wide(p) - wide(m)) / (2 * eps), plus, minus)


def _check_close(got, want, atol, rtol, err_msg):
    g_leaves, g_tree = tu.tree_flatten(got)
    w_leaves, w_tree = tu.tree_flatten(want)
    if g_tree != w_tree:
        raise AssertionError(f"{err_msg}: structures differ: {g_tree} vs {w_tree}")
    for i, (g, w) in enumerate(zip(g_leaves, w_leaves)):
        g, w = _np(g), _np(w)
        if g.dtype.kind not in "fc" and w.dtype.kind not in "fc":
            np.testing.assert_array_equal(g, w, err_msg=f"{err_msg} (leaf {i})")
            continue
        np.testing.assert_allclose(
            g.astype(np.complex128),
            w.astype(np.complex128),
            atol=atol,
            rtol=rtol,
            err_msg=f"{err_msg} (leaf {i})",
        )


def _check_dtypes_match(a, b, err_msg):
    for i, (x, y) in enumerate(zip(tu.tree_leaves(a), tu.tree_leaves(b))):
        dx, dy = _np(x).dtype, _np(y).dtype
        if dx.kind in "fc" and dy.kind in "fc" and dx != dy:
            raise AssertionError(f"{err_msg}: dtype of leaf {i} is {dy}, expected {dx}")


def _inner(xs, ys) -> float:
    """Real inner product of two pytrees (over their inexact leaves)."""
    total = 0.0
    for x, y in zip(tu.tree_leaves(xs), tu.tree_leaves(ys)):
        x, y = _np(x), _np(y)
        if x.dtype.kind in "fc" and y.dtype.kind in "fc":
            total += float(np.real(np.sum(x.astype(np.complex128) * y.astype(np.complex128))))
    return total


def _tols(args, atol, rtol, eps):
    return (
        atol if atol is not None else _widest(args, _TOL, 1e-5),
        rtol if rtol is not None else _widest(args, _TOL, 1e-5),
        eps if eps is not None else _widest(args, _EPS, 1e-5),
    )


def check_jvp(
    f: Callable, f_jvp: Callable, args: Sequence, atol=None, rtol=None, eps=None, err_msg: str = ""
) -> None:
    """Check ``f_jvp(primals, tangents) -> (out, tangent_out)`` against central differences.

    The tangent is random (a fixed seed); the primal output must match ``f`` and the dtypes
    must agree.

    Args:
      f: the function, of ``len(args)`` arguments.
      f_jvp: ``f_jvp(primals, tangents) -> (out, tangent_out)``, e.g. ``partial(fg.jvp, f)``.
      args: the point, a sequence of arguments.
      atol: absolute tolerance (default: from the least precise float dtype of the inputs
        and output, e.g. 1e-2 for float32, 1e-5 for float64).
      rtol: relative tolerance (default: as ``atol``).
      eps: the finite-difference step (default: likewise, 1e-3 for float32, 1e-5 for
        float64).
      err_msg: a prefix for the failure message.

    Returns:
      None.

    Raises:
      AssertionError: if a value, a tangent or a dtype does not match.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> from functools import partial
    >>> check_jvp(fnp.sin, partial(fg.jvp, fnp.sin), (fnp.array(0.5),))
    """
    args = tuple(args)
    v_expected = f(*args)
    atol, rtol, eps = _tols((args, v_expected), atol, rtol, eps)
    rng = np.random.default_rng(0)
    tangent = tu.tree_map(functools.partial(_rand_like, rng), args)
    v_out, t_out = f_jvp(args, tangent)
    _check_dtypes_match(v_out, t_out, f"{err_msg} tangent vs primal output")
    _check_dtypes_match(v_expected, v_out, f"{err_msg} primal output of the jvp")
    _check_close(v_out, v_expected, atol, rtol, f"{err_msg} primal output of the jvp")
    t_expected = numerical_jvp(f, args, tangent, eps)
    _check_close(t_out, t_expected, atol, rtol, f"{err_msg} jvp vs central differences")


def check_vjp(
    f: Callable,
    f_vjp: Callable,
    args: Sequence,
    atol=None,
    rtol=None,
    eps=None,
    err_msg: str = "",
    f_jvp: Callable | None = None,
) -> None:
    """Check ``f_vjp(*args) -> (out, vjp_fn)`` with ``<v, J t> == <J^T v, t>``.

    ``J t`` comes from ``f_jvp`` when given (an already-checked forward mode: exact), else
    from central differences. ``t`` and ``v`` are random (fixed seeds).

    Args:
      f: the function, of ``len(args)`` arguments.
      f_vjp: ``f_vjp(*args) -> (out, vjp_fn)``, e.g. ``partial(fg.vjp, f)``.
      args: the point, a sequence of arguments.
      atol: absolute tolerance (default: from the least precise float dtype of the inputs
        and output, e.g. 1e-2 for float32, 1e-5 for float64).
      rtol: relative tolerance (default: as ``atol``).
      eps: the finite-difference step (default: likewise, 1e-3 for float32, 1e-5 for
        float64).
      err_msg: a prefix for the failure message.
      f_jvp: optional ``f_jvp(primals, tangents) -> (out, tangent_out)`` for ``J t``.

    Returns:
      None.

    Raises:
      AssertionError: if the primal output, a cotangent dtype or the identity does not
        match.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> from functools import partial
    >>> check_vjp(fnp.sin, partial(fg.vjp, fnp.sin), (fnp.array(0.5),))
    """
    args = tuple(args)
    v_expected = f(*args)
    atol, rtol, eps = _tols((args, v_expected), atol, rtol, eps)
    rng = np.random.default_rng(1)
    v_out, vjp_fn = f_vjp(*args)
    _check_close(v_out, v_expected, atol, rtol, f"{err_msg} primal output of the vjp")
    tangent = tu.tree_map(functools.partial(_rand_like, rng), args)
    if f_jvp is not None:
        t_out = f_jvp(args, tangent)[1]
    else:
        t_out = numerical_jvp(f, args, tangent, eps)
    cotangent = tu.tree_map(functools.partial(_rand_like, rng), v_out)
    ct_in = vjp_fn(cotangent)
    _check_dtypes_match(args, ct_in, f"{err_msg} cotangent vs primal input")
    lhs, rhs = _inner(tangent, ct_in), _inner(t_out, cotangent)
    scale = max(abs(lhs), abs(rhs), _norm(tangent) * _norm(cotangent) * 1e-3)
    if not abs(lhs - rhs) <= atol + rtol * scale:
        raise AssertionError(
            f"{err_msg} vjp inner-product identity <J^T v, t> == <v, J t> fails: {lhs!r} vs {rhs!r}"
        )


def _norm(tree) -> float:
    return float(np.sqrt(sum(np.sum(np.abs(_np(x)) ** 2) for x in _float_leaves(tree))))


def check_grads(
    f: Callable, args: Sequence, order: int, modes=("fwd", "rev"), atol=None, rtol=None, eps=None
) -> None:
    """Check forward and/or reverse derivatives of ``f`` at ``args`` up to ``order``.

    Order 2 also checks the derivatives of the jvp and vjp functions themselves, and so on.

    Args:
      f: the function, of ``len(args)`` arguments.
      args: the point, a sequence of arguments.
      order: the highest derivative order checked (1 or more).
      modes: ``"fwd"``, ``"rev"`` or both (a string or a sequence).
      atol: absolute tolerance (default: from the least precise float dtype of the inputs
        and output, e.g. 1e-2 for float32, 1e-5 for float64).
      rtol: relative tolerance (default: as ``atol``).
      eps: the finite-difference step (default: likewise, 1e-3 for float32, 1e-5 for
        float64).

    Returns:
      None.

    Raises:
      AssertionError: if a derivative does not match.
      ValueError: for an unknown mode.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> with fg.config.override(enable_x64=True):
    ...     check_grads(lambda x: fnp.sum(x ** 3), (fnp.array([1.0, 2.0], "float64"),), 2)
    """
    fg = _api()
    args = tuple(args)
    if isinstance(modes, str):
        modes = (modes,)
    unknown = set(modes) - {"fwd", "rev"}
    if unknown:
        raise ValueError(f"check_grads: modes must be 'fwd' and/or 'rev', got {sorted(unknown)}")
    jvp_check = functools.partial(check_jvp, atol=atol, rtol=rtol, eps=eps)
    vjp_check = functools.partial(check_vjp, atol=atol, rtol=rtol, eps=eps)

    def go(f, args, order, msg):
        if "fwd" in modes:
            fwd_msg = f"JVP of {msg}" if msg else "JVP"
            jvp_check(f, functools.partial(fg.jvp, f), args, err_msg=fwd_msg)
            if order > 1:
                go(functools.partial(fg.jvp, f), (args, args), order - 1, fwd_msg)
        if "rev" in modes:
            rev_msg = f"VJP of {msg}" if msg else "VJP"
            f_jvp = functools.partial(fg.jvp, f) if "fwd" in modes else None
            vjp_check(f, functools.partial(fg.vjp, f), args, err_msg=rev_msg, f_jvp=f_jvp)
            if order > 1:

                def f_vjp(*a):
                    out, vjp_fn = fg.vjp(f, *a)
                    return vjp_fn(out)

                go(f_vjp, args, order - 1, rev_msg)

    go(f, args, order, "")
