"""Common JAX idioms, written as a JAX user would (``import funcgrad as jax``), all run."""

import functools

import numpy as np
import pytest

import funcgrad as jax
import funcgrad.numpy as jnp
from funcgrad import lax

key = jax.random.PRNGKey(0)


def _true(v):
    assert bool(v)
    return v


CASES = [
    ("split unpack", lambda: [k.shape for k in jax.random.split(key, 3)]),
    (
        "isinstance tracer Array",
        lambda: jax.jit(lambda x: jnp.asarray(isinstance(x, jax.Array)))(1.0).item(),
    ),
    ("tree_map None", lambda: jax.tree_util.tree_map(lambda x: x * 2, {"a": 1, "b": None})),
    (
        "vmap dict in_axes",
        lambda: jax.vmap(lambda d: d["a"] * d["b"], in_axes=({"a": 0, "b": None},))(
            {"a": jnp.ones(3), "b": 2.0}
        ),
    ),
    (
        "jit static_argnames",
        lambda: jax.jit(lambda x, n: x * n, static_argnames="n")(jnp.ones(2), n=3),
    ),
    ("jit static_argnums", lambda: jax.jit(lambda x, n: jnp.ones(n) * x, static_argnums=1)(2.0, 3)),
    (
        "partial jit decorator",
        lambda: (lambda f: f(jnp.ones(2), 2))(
            functools.partial(jax.jit, static_argnums=(1,))(lambda x, n: x * n)
        ),
    ),
    ("where 1arg", lambda: jnp.where(jnp.array([0, 1, 2]) > 0)),
    ("norm", lambda: jnp.linalg.norm(jnp.ones((3, 3)))),
    (
        "grad dict",
        lambda: jax.grad(lambda p: jnp.sum(p["w"] ** 2) + p["b"])({"w": jnp.ones(3), "b": 1.0}),
    ),
    ("vag aux", lambda: jax.value_and_grad(lambda x: (x**2, {"x": x}), has_aux=True)(2.0)),
    ("nn softmax", lambda: jax.nn.softmax(jnp.ones(3))),
    ("nn relu grad", lambda: jax.grad(jax.nn.relu)(0.0)),
    ("float32 call", lambda: jnp.float32(1.0) + 1),
    ("dtype eq", lambda: jnp.ones(2).dtype == jnp.float32),
    ("device_get", lambda: jax.device_get({"a": jnp.ones(2)})),
    ("block_until_ready", lambda: jax.block_until_ready(jnp.ones(2))),
    ("tree.map", lambda: jax.tree.map(lambda x: x + 1, [1, 2])),
    ("tree_util.tree_leaves", lambda: jax.tree_util.tree_leaves({"a": [1, 2]})),
    ("lax.fori_loop", lambda: lax.fori_loop(0, 10, lambda i, x: x + i, 0)),
    ("jit fori traced", lambda: jax.jit(lambda n: lax.fori_loop(0, n, lambda i, x: x + i, 0))(10)),
    ("lax.scan pytree", lambda: lax.scan(lambda c, x: (c + x, c * x), 0.0, jnp.arange(3.0))),
    (
        "jit while",
        lambda: jax.jit(lambda x: lax.while_loop(lambda c: c < 10, lambda c: c * 2, x))(1.0),
    ),
    ("jit cond", lambda: jax.jit(lambda x: lax.cond(x > 0, lambda v: v, lambda v: -v, x))(-2.0)),
    ("jacrev dict out", lambda: jax.jacrev(lambda x: {"a": x * 2})(jnp.ones(2))),
    ("hessian", lambda: jax.hessian(lambda x: jnp.sum(x**3))(jnp.ones(2))),
    ("jnp.array list tracers", lambda: jax.grad(lambda x: jnp.sum(jnp.array([x, x * 2])))(1.0)),
    ("astype", lambda: jnp.ones(2).astype(jnp.int32)),
    ("clip kw", lambda: jnp.clip(jnp.arange(5), min=1, max=3)),
    ("ndarray isinstance", lambda: isinstance(jnp.ones(2), jnp.ndarray)),
    ("reshape -1", lambda: jnp.arange(6).reshape(2, -1)),
    ("mean axis tuple", lambda: jnp.mean(jnp.ones((2, 3, 4)), axis=(0, 2))),
    ("random uniform minmax", lambda: jax.random.uniform(key, (3,), minval=-1, maxval=1)),
    ("random normal dtype", lambda: jax.random.normal(key, (2,), dtype=jnp.float32)),
    ("random choice", lambda: jax.random.choice(key, jnp.arange(10), (3,), replace=False)),
    ("one_hot", lambda: jax.nn.one_hot(jnp.array([0, 2]), 3)),
    ("logsumexp", lambda: jax.scipy.special.logsumexp(jnp.ones((2, 3)), axis=1)),
    (
        "eval_shape",
        lambda: jax.eval_shape(lambda x: x @ x.T, jax.ShapeDtypeStruct((3, 4), jnp.float32)),
    ),
    ("make_jaxpr", lambda: str(jax.make_jaxpr(lambda x: jnp.sin(x))(1.0))),
    (
        "config x64",
        lambda: (
            jax.config.update("jax_enable_x64", True),
            jnp.ones(2).dtype,
            jax.config.update("jax_enable_x64", False),
        ),
    ),
    ("jnp.concatenate", lambda: jnp.concatenate([jnp.ones(2), jnp.zeros(3)])),
    ("at set slice", lambda: jnp.zeros(5).at[1:3].set(1.0)),
    ("at add mask idx", lambda: jnp.zeros(5).at[jnp.array([0, 0, 1])].add(1.0)),
    ("jit at set traced idx", lambda: jax.jit(lambda x, i: x.at[i].set(9.0))(jnp.zeros(3), 1)),
    ("dynamic index jit", lambda: jax.jit(lambda x, i: x[i])(jnp.arange(5.0), 2)),
    ("dynamic slice lax", lambda: lax.dynamic_slice(jnp.arange(10), (2,), (3,))),
    ("vmap out_axes", lambda: jax.vmap(lambda x: x * 2, out_axes=1)(jnp.ones((3, 2))).shape),
    ("grad argnums tuple", lambda: jax.grad(lambda a, b: a * b, argnums=(0, 1))(2.0, 3.0)),
    ("jvp", lambda: jax.jvp(jnp.sin, (1.0,), (1.0,))),
    ("linearize", lambda: jax.linearize(jnp.sin, 1.0)[1](1.0)),
    ("stop_gradient", lambda: jax.grad(lambda x: jax.lax.stop_gradient(x) * x)(2.0)),
    ("jnp.einsum", lambda: jnp.einsum("ij,j->i", jnp.ones((2, 3)), jnp.ones(3))),
    ("jnp.take", lambda: jnp.take(jnp.arange(5), jnp.array([1, 3]))),
    ("int division", lambda: jnp.array([7]) // 2),
    ("bool ops", lambda: jnp.array([True]) & jnp.array([False])),
    ("numpy interop", lambda: np.asarray(jnp.ones(2)) + np.ones(2)),
    ("np func on fg array", lambda: np.sum(jnp.ones(3))),
    ("jnp.sort descending", lambda: jnp.sort(jnp.array([3, 1, 2]), descending=True)),
    ("lax.select", lambda: lax.select(jnp.array([True, False]), jnp.ones(2), jnp.zeros(2))),
    ("lax.map", lambda: lax.map(lambda x: x * 2, jnp.arange(3))),
    ("jax.Array annotation", lambda: jax.Array),
    ("optim adam", lambda: jax.optim.adam(1e-3).init({"w": jnp.ones(2)})),
    ("nn.Linear", lambda: jax.nn.Linear(3, 2, key=key)(jnp.ones(3))),
    ("tree_util.Partial", lambda: jax.tree_util.Partial(lambda a, b: a + b, 1)(2)),
    ("checkpoint", lambda: jax.grad(jax.checkpoint(lambda x: jnp.sin(x) ** 2))(1.0)),
]


@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_idiom_runs(name, fn):
    result = fn()
    if name in ("isinstance tracer Array", "dtype eq", "ndarray isinstance"):
        assert bool(result), name


def test_conv_with_nhwc_hwio_dimension_numbers():
    from funcgrad import lax

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 9, 8, 3)).astype(np.float32)  # NHWC
    w = rng.standard_normal((3, 2, 3, 4)).astype(np.float32)  # HWIO
    x_nchw, w_oihw = x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1)
    for pad in ("SAME", "VALID", ((1, 0), (2, 1))):
        ref = np.asarray(lax.conv_general_dilated(x_nchw, w_oihw, (2, 1), pad, rhs_dilation=(1, 2)))
        for dn, back in (
            (("NHWC", "HWIO", "NHWC"), (0, 2, 3, 1)),
            (("NHWC", "HWIO", "NCHW"), (0, 1, 2, 3)),
        ):
            got = lax.conv_general_dilated(
                x, w, (2, 1), pad, rhs_dilation=(1, 2), dimension_numbers=dn
            )
            np.testing.assert_allclose(got, ref.transpose(back), rtol=1e-5, atol=1e-5)
    dn = lax.conv_dimension_numbers(x.shape, w.shape, ("NHWC", "HWIO", "NHWC"))
    assert dn == lax.ConvDimensionNumbers((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))
    got = lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=dn)
    assert got.shape == (2, 9, 8, 4)
    g = jax.grad(
        lambda w: (
            lax.conv_general_dilated(
                x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
            )
            ** 2
        ).sum()
    )(w)
    g_ref = jax.grad(
        lambda w: (
            lax.conv_general_dilated(x_nchw, w.transpose(3, 2, 0, 1), (1, 1), "SAME") ** 2
        ).sum()
    )(w)
    np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-3)
    with pytest.raises(TypeError, match="layout"):
        lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NHW", "HWIO", "NHWC"))
