"""checkpoint/remat honours its policy (JAX's checkpoint_policies): what is saved changes,
the gradients do not; checkpoint_name, print_saved_residuals, keyword arguments."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad._src import core
from funcgrad._src.lax.dot import dot_general_p
from funcgrad.ad_checkpoint import checkpoint, checkpoint_name, print_saved_residuals

P = fg.checkpoint_policies


def f(x, w):
    h = fnp.sin(x @ w)
    h = checkpoint_name(h, "h")
    z = fnp.cos(h @ w)
    return fnp.sum(z * x)


X = fnp.asarray(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3))
W = fnp.asarray(np.linspace(0.5, -0.5, 9, dtype=np.float32).reshape(3, 3))
POLICIES = [
    None,
    P.everything_saveable,
    P.nothing_saveable,
    P.dots_saveable,
    P.checkpoint_dots,
    P.dots_with_no_batch_dims_saveable,
    P.checkpoint_dots_with_no_batch_dims,
    P.save_only_these_names("h"),
    P.save_any_names_but_these("other"),
    P.save_from_both_policies(P.dots_saveable, P.save_only_these_names("h")),
]


def reference_grads():
    return fg.grad(f, argnums=(0, 1))(X, W)


@pytest.mark.parametrize("policy", POLICIES)
def test_gradients_equal_for_every_policy(policy):
    want = reference_grads()
    g = checkpoint(f, policy=policy)
    for got in (
        fg.grad(g, argnums=(0, 1))(X, W),
        fg.jit(fg.grad(g, argnums=(0, 1)))(X, W),
        fg.grad(fg.jit(g), argnums=(0, 1))(X, W),
    ):
        for a, b in zip(got, want):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("policy", [P.dots_saveable, P.everything_saveable, None])
def test_higher_order_and_vmap(policy):
    g = checkpoint(lambda x: fnp.sin(x * x) @ fnp.ones(3), policy=policy)
    x = fnp.array([0.3, -0.2, 0.5])
    hess = fg.jacfwd(fg.grad(lambda v: g(v).sum()))(x)
    want = fg.jacfwd(fg.grad(lambda v: (fnp.sin(v * v) @ fnp.ones(3)).sum()))(x)
    np.testing.assert_allclose(np.asarray(hess), np.asarray(want), rtol=1e-5, atol=1e-6)
    gg = fg.grad(fg.grad(lambda s: g(x * s).sum()))(1.5)
    ww = fg.grad(fg.grad(lambda s: (fnp.sin((x * s) ** 2) @ fnp.ones(3)).sum()))(1.5)
    np.testing.assert_allclose(float(gg), float(ww), rtol=1e-4)
    vg = fg.vmap(fg.grad(lambda v: g(v).sum()))(fnp.stack([x, 2 * x]))
    np.testing.assert_allclose(
        np.asarray(vg[1]), np.asarray(fg.grad(lambda v: g(v).sum())(2 * x)), rtol=1e-6
    )


def count_dots(fn, *args):
    impl = core.impl_rules[dot_general_p]
    n = [0]

    def counting(*a, **p):
        n[0] += 1
        return impl(*a, **p)

    core.impl_rules[dot_general_p] = counting
    try:
        fn(*args)
    finally:
        core.impl_rules[dot_general_p] = impl
    return n[0]


def test_saved_residuals_change_with_the_policy():
    grad = lambda policy: fg.grad(checkpoint(f, policy=policy), argnums=(0, 1))
    plain = count_dots(fg.grad(f, argnums=(0, 1)), X, W)  # 2 forward + 4 backward
    assert plain == 6
    assert count_dots(grad(None), X, W) == 8  # the 2 products recomputed
    assert count_dots(grad(P.nothing_saveable), X, W) == 8
    assert count_dots(grad(P.everything_saveable), X, W) == 6
    assert count_dots(grad(P.dots_saveable), X, W) == 6  # products saved: not recomputed
    # h = sin(x @ w) saved: h @ w is not, and sin's derivative needs x @ w: both recomputed
    assert count_dots(grad(P.save_only_these_names("h")), X, W) == 8
    both = P.save_from_both_policies(P.dots_saveable, P.save_only_these_names("h"))
    assert count_dots(grad(both), X, W) == 6


def test_print_saved_residuals(capsys):
    print_saved_residuals(checkpoint(f, policy=P.nothing_saveable), X, W)
    assert capsys.readouterr().out == "f32[2,3] from the argument x\nf32[3,3] from the argument w\n"
    print_saved_residuals(fg.checkpoint(f), X, W)
    assert capsys.readouterr().out == "f32[2,3] from the argument x\nf32[3,3] from the argument w\n"
    print_saved_residuals(checkpoint(f, policy=P.dots_saveable), X, W)
    assert capsys.readouterr().out.splitlines()[2:] == ["f32[2,3] output of dot_general"] * 2
    print_saved_residuals(checkpoint(f, policy=P.save_only_these_names("h")), X, W)
    assert capsys.readouterr().out.splitlines()[2:] == ["f32[2,3] named 'h'"]
    print_saved_residuals(checkpoint(f, policy=P.save_any_names_but_these("h")), X, W)
    assert capsys.readouterr().out.splitlines()[2:] == []


def test_batch_dims_policy():
    def bf(a, b):
        return fnp.einsum("bij,bjk->bik", a, b).sum() + (a[0] @ b[0]).sum()

    a = fnp.ones((2, 3, 3))
    lines = []
    for pol in (P.dots_saveable, P.dots_with_no_batch_dims_saveable):
        import contextlib
        import io

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            print_saved_residuals(checkpoint(bf, policy=pol), a, a)
        lines.append([ln for ln in buf.getvalue().splitlines() if "dot_general" in ln])
    assert lines[0] == ["f32[2,3,3] output of dot_general", "f32[3,3] output of dot_general"]
    assert lines[1] == ["f32[3,3] output of dot_general"]


def test_keyword_arguments_and_static_argnums():
    def g(x, n, *, scale=1.0):
        for _ in range(n):  # n is a Python int (static)
            x = fnp.sin(x)
        return x * scale

    c = fg.checkpoint(g, static_argnums=(1,), policy=P.everything_saveable)
    got = fg.grad(lambda x: c(x, 2, scale=3.0))(0.4)
    want = fg.grad(lambda x: g(x, 2, scale=3.0))(0.4)
    np.testing.assert_allclose(float(got), float(want), rtol=1e-6)
    got_s = fg.grad(lambda s: c(fnp.float32(0.4), 2, scale=s))(3.0)
    np.testing.assert_allclose(float(got_s), np.sin(np.sin(0.4)), rtol=1e-6)


def test_checkpoint_name_is_identity_everywhere():
    x = fnp.arange(3.0)
    np.testing.assert_array_equal(np.asarray(checkpoint_name(x, "a")), np.asarray(x))
    assert "name[name=a]" in str(fg.make_jaxpr(lambda v: checkpoint_name(v, "a"))(x)) or (
        "name" in str(fg.make_jaxpr(lambda v: checkpoint_name(v, "a"))(x))
    )
    np.testing.assert_array_equal(
        np.asarray(fg.vmap(lambda v: checkpoint_name(v * 2, "b"))(x)), np.asarray(x) * 2
    )
    assert float(fg.grad(lambda v: checkpoint_name(v * v, "c"))(3.0)) == 6.0
    assert fg.ad_checkpoint.checkpoint is fg.checkpoint
