"""Gradient checks for the numpy-surface tests: funcgrad.test_util.check_grads when it exists,
otherwise central differences (forward mode) plus the inner-product identity (reverse mode),
in float64."""

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import tree_util as tu

try:  # pragma: no cover - depends on whether test_util has landed
    from funcgrad.test_util import check_grads as _fg_check_grads
except ImportError:  # pragma: no cover
    _fg_check_grads = None


def _leaves(y):
    return [np.asarray(v, dtype=np.float64) for v in tu.tree_leaves(y)]


def _vdot(xs, ys):
    return sum(float(np.vdot(np.asarray(a), np.asarray(b))) for a, b in zip(xs, ys))


def _check_once(f, args, eps, rtol, atol, rng):
    ts = [rng.standard_normal(np.shape(a)) for a in args]
    fa = tuple(fnp.asarray(a) for a in args)
    y, y_dot = fg.jvp(f, fa, tuple(fnp.asarray(t) for t in ts))
    plus = _leaves(f(*[fnp.asarray(a + eps * t) for a, t in zip(args, ts)]))
    minus = _leaves(f(*[fnp.asarray(a - eps * t) for a, t in zip(args, ts)]))
    for got, p, m in zip(_leaves(y_dot), plus, minus):
        np.testing.assert_allclose(
            got, (p - m) / (2 * eps), rtol=rtol, atol=atol, err_msg="jvp vs central differences"
        )
    y, f_vjp = fg.vjp(f, *fa)
    cts = [rng.standard_normal(np.shape(v)) for v in _leaves(y)]
    ct_tree = tu.tree_unflatten(tu.tree_structure(y), [fnp.asarray(c) for c in cts])
    cts_in = f_vjp(ct_tree)
    lhs, rhs = _vdot(cts_in, ts), _vdot(cts, _leaves(y_dot))
    assert abs(lhs - rhs) <= atol + rtol * max(abs(lhs), abs(rhs)), (
        f"vjp inner-product identity: {lhs} vs {rhs}"
    )
    return ts


def check_grads(f, args, order=1, eps=1e-6, rtol=1e-5, atol=1e-6, seed=0):
    """Check jvp and vjp of ``f`` at ``args`` (and of its jvp for ``order=2``) in float64."""
    with fg.config.override(enable_x64=True):
        args = [np.asarray(a, dtype=np.float64) for a in args]
        if _fg_check_grads is not None:
            try:
                _fg_check_grads(
                    f,
                    tuple(fnp.asarray(a) for a in args),
                    order=order,
                    modes=("fwd", "rev"),
                    atol=atol,
                    rtol=rtol,
                    eps=eps,
                )
            except TypeError:
                pass  # a different signature: fall through to the local check
        rng = np.random.default_rng(seed)
        ts = _check_once(f, args, eps, rtol, atol, rng)
        if order >= 2:
            tt = tuple(fnp.asarray(t) for t in ts)
            g = lambda *a: fg.jvp(f, a, tt)[1]
            _check_once(g, args, eps, rtol * 10, atol * 10, rng)
