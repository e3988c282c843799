"""The public transformations, alone and composed (Autodidax-style composition tests)."""

from __future__ import annotations

import dataclasses
from collections import namedtuple
from functools import partial

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import tree_util as tu
from funcgrad.test_util import check_grads

A = np.testing.assert_allclose


def f_cubic(x):
    return fnp.sum(x**3 + fnp.sin(x))


X = np.array([0.5, -1.0, 2.0], np.float32)


# ---- grad family ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argnums,want",
    [
        (0, 4.0),
        (1, 3.0),
        ((0, 1), (4.0, 3.0)),
        (-1, 3.0),
        ((1, 0), (3.0, 4.0)),
    ],
)
def test_grad_argnums(argnums, want):
    g = fg.grad(lambda x, y: x * y, argnums=argnums)(3.0, 4.0)
    A(np.asarray(g, dtype=float), want)
    assert isinstance(g, tuple) == isinstance(argnums, tuple)


def test_grad_has_aux_and_value_and_grad():
    def loss(w):
        return fnp.sum(w**2), {"norm": fnp.sqrt(fnp.sum(w**2))}

    g, aux = fg.grad(loss, has_aux=True)(fnp.array([3.0, 4.0]))
    A(g, [6.0, 8.0])
    A(aux["norm"], 5.0)
    assert isinstance(aux["norm"], fg.Array)  # no tracer leaks out
    (v, aux), g = fg.value_and_grad(loss, has_aux=True)(fnp.array([3.0, 4.0]))
    A(v, 25.0)
    A(g, [6.0, 8.0])
    v, (gx, gy) = fg.value_and_grad(lambda x, y: x * y, argnums=(0, 1))(2.0, 5.0)
    A([v, gx, gy], [10.0, 5.0, 2.0])


def test_grad_kwargs_are_not_differentiated():
    g = fg.grad(lambda x, scale=1.0: scale * x * x)(3.0, scale=2.0)
    A(g, 12.0)


def test_jvp_and_vjp():
    y, t = fg.jvp(fnp.sin, (1.0,), (2.0,))
    A([y, t], [np.sin(1.0), 2 * np.cos(1.0)], rtol=1e-6)
    y, f_vjp = fg.vjp(lambda x, y: x * y, 3.0, 4.0)
    A(f_vjp(1.0), (4.0, 3.0))
    y, f_vjp, aux = fg.vjp(lambda x: (x * 2, x + 1), 3.0, has_aux=True)
    A(aux, 4.0)
    A(f_vjp(1.0)[0], 2.0)


def test_jvp_pytrees_and_structure_errors():
    out, tan = fg.jvp(
        lambda d: {"s": d["a"] * d["b"]}, ({"a": 2.0, "b": 3.0},), ({"a": 1.0, "b": 0.0},)
    )
    A(out["s"], 6.0)
    A(tan["s"], 3.0)
    with pytest.raises(ValueError, match=r"(?s)structure.*first.*\{'a'.*second.*\["):
        fg.jvp(lambda d: d["a"], ({"a": 1.0},), ([1.0],))


def test_linearize_matches_jvp():
    x = fnp.array(X)
    y, f_jvp = fg.linearize(f_cubic, x)
    A(y, f_cubic(x))
    for t in (fnp.ones(3), fnp.array([1.0, -2.0, 0.5])):
        A(f_jvp(t), fg.jvp(f_cubic, (x,), (t,))[1], rtol=1e-6)


def _jac_true(x):
    # f(x) = x * sin(x[::-1]) -> J = diag(sin(x[::-1])) + x_i cos(x[n-1-i]) at (i, n-1-i)
    n = len(x)
    J = np.diag(np.sin(x[::-1]))
    for i in range(n):
        J[i, n - 1 - i] += x[i] * np.cos(x[n - 1 - i])
    return J


@pytest.mark.parametrize("jac", [fg.jacfwd, fg.jacrev, fg.jacobian])
def test_jacobians(jac):
    J = jac(lambda x: x * fnp.sin(x[::-1]))(fnp.array(X))
    A(J, _jac_true(X.astype(np.float64)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("jac", [fg.jacfwd, fg.jacrev])
def test_jacobian_pytrees_and_argnums(jac):
    f = lambda d, s: {"u": d["x"] * s, "v": fnp.sum(d["y"]) * s}
    d = {"x": fnp.ones(2), "y": fnp.arange(3.0)}
    J = jac(f)(d, 2.0)
    A(J["u"]["x"], 2 * np.eye(2))
    A(J["u"]["y"], np.zeros((2, 3)))
    A(J["v"]["y"], [2.0, 2.0, 2.0])
    Js = jac(f, argnums=1)(d, 2.0)
    A(Js["u"], [1.0, 1.0])
    A(Js["v"], 3.0)


def test_jacobian_has_aux():
    J, aux = fg.jacrev(lambda x: (x * 2, x.sum()), has_aux=True)(fnp.ones(2))
    A(J, 2 * np.eye(2))
    A(aux, 2.0)
    J, aux = fg.jacfwd(lambda x: (x * 2, x.sum()), has_aux=True)(fnp.ones(2))
    A(J, 2 * np.eye(2))
    A(aux, 2.0)


def test_hessian():
    x = fnp.array([1.0, 2.0])
    H = fg.hessian(lambda x: x[0] ** 3 * x[1] + fnp.sum(x**2))(x)
    A(H, [[6 * 1 * 2 + 2, 3], [3, 2]])


def test_stop_gradient():
    A(fg.grad(lambda x: x * fg.stop_gradient(x))(3.0), 3.0)
    A(fg.jvp(lambda x: x * fg.stop_gradient(x), (3.0,), (1.0,))[1], 3.0)
    tree = fg.stop_gradient({"a": fnp.ones(2), "i": fnp.arange(2)})
    assert tree["i"].dtype == np.int32
    A(fg.grad(lambda x: fnp.sum(fg.stop_gradient({"a": x})["a"] * x))(fnp.ones(2)), [1, 1])


# ---- vmap ----------------------------------------------------------------------------------------


def test_vmap_in_axes_forms():
    x = fnp.arange(6.0).reshape(2, 3)
    A(fg.vmap(fnp.sum)(x), [3.0, 12.0])
    A(fg.vmap(fnp.sum, in_axes=1)(x), [3.0, 5.0, 7.0])
    A(fg.vmap(fnp.sum, in_axes=-1)(x), [3.0, 5.0, 7.0])
    A(
        fg.vmap(lambda a, b: a * b, in_axes=(0, None))(x, fnp.array([1.0, 0.0, 2.0])),
        np.arange(6.0).reshape(2, 3) * [1.0, 0.0, 2.0],
    )
    A(fg.vmap(lambda a, b: a * b, in_axes=[None, 1])(2.0, x), 2 * np.arange(6.0).reshape(2, 3).T)


def test_vmap_pytree_in_axes_and_out_axes():
    d = {"w": fnp.ones((2, 4)), "b": fnp.arange(4.0)}
    out = fg.vmap(lambda d, s: d["w"] * d["b"] * s, in_axes=({"w": 1, "b": 0}, None))(d, 3.0)
    A(out, 3 * np.ones((4, 2)) * np.arange(4.0)[:, None])
    P = namedtuple("P", "a b")
    out = fg.vmap(lambda p: P(p.a + 1, p.b.sum()), in_axes=(P(0, 1),), out_axes=P(1, 0))(
        P(fnp.zeros((3, 2)), fnp.ones((2, 3)))
    )
    assert isinstance(out, P)
    assert out.a.shape == (2, 3) and out.b.shape == (3,)
    out = fg.vmap(lambda x: (x, x.sum()), out_axes=(1, 0))(fnp.ones((2, 3)))
    assert out[0].shape == (3, 2)
    out = fg.vmap(lambda x, c: (x * 2, c), in_axes=(0, None), out_axes=(0, None))(
        fnp.ones(3), fnp.array(7.0)
    )
    A(out[1], 7.0)
    assert out[1].shape == ()


def test_vmap_axis_size():
    out = fg.vmap(lambda: fnp.ones(2), in_axes=(), axis_size=3)()
    assert out.shape == (3, 2)
    out = fg.vmap(lambda x: x * 2, in_axes=None, axis_size=4)(fnp.ones(2))
    assert out.shape == (4, 2)
    with pytest.raises(ValueError, match="axis_size"):
        fg.vmap(lambda x: x, in_axes=None)(fnp.ones(2))


def test_vmap_of_vmap_and_unmapped_outputs():
    f = fg.vmap(fg.vmap(lambda x, y: x * y, in_axes=(0, None)), in_axes=(None, 0))
    out = f(fnp.arange(3.0), fnp.arange(2.0))
    A(out, np.arange(2.0)[:, None] * np.arange(3.0)[None, :])
    out = fg.vmap(lambda x: 5.0)(fnp.ones(3))
    A(out, [5.0, 5.0, 5.0])


# ---- make_jaxpr: golden strings pin the printer --------------------------------------------------


def _mlp_loss(params, x, y):
    w1, b1, w2 = params
    h = fnp.tanh(x @ w1 + b1)
    return fnp.mean((h @ w2 - y) ** 2)


_MLP_ARGS = (
    (np.ones((3, 4), np.float32), np.zeros(4, np.float32), np.ones((4, 1), np.float32)),
    np.ones((2, 3), np.float32),
    np.zeros((2, 1), np.float32),
)

_DN = "dimension_numbers=(((1,), (0,)), ((), ())) preferred_element_type=None"
MLP_JAXPR = f"""\
{{ lambda  ; a:f32[3,4] b:f32[4] c:f32[4,1] d:f32[2,3] e:f32[2,1] . let
    f:f32[2,4] = dot_general[{_DN}] d a
    g:f32[2,4] = broadcast_in_dim[shape=(2, 4) broadcast_dimensions=(1,)] b
    h:f32[2,4] = add f g
    i:f32[2,4] = tanh h
    j:f32[2,1] = dot_general[{_DN}] i c
    k:f32[2,1] = sub j e
    l:f32[2,1] = integer_pow[y=2] k
    m:f32[] = reduce_sum[axes=(0, 1)] l
    n:f32[] = div m 2.0
  in ( n ) }}"""


def test_make_jaxpr_golden_mlp_loss():
    assert str(fg.make_jaxpr(_mlp_loss)(*_MLP_ARGS)) == MLP_JAXPR


def test_make_jaxpr_golden_mlp_grad():
    text = str(fg.make_jaxpr(fg.grad(_mlp_loss))(*_MLP_ARGS))
    lines = text.splitlines()
    # the forward pass is recorded first, exactly as in the loss's jaxpr; operations on
    # constants are staged too (omnistaging, as JAX), so there are no folded constants
    assert lines[0] == "{ lambda  ; a:f32[3,4] b:f32[4] c:f32[4,1] d:f32[2,3] e:f32[2,1] . let"
    assert lines[1] == f"    f:f32[2,4] = dot_general[{_DN}] d a"
    assert lines[4] == "    i:f32[2,4] = tanh h"
    # the backward pass: dots contracting the batch axis (weight gradients come out in the
    # weights' layout, no transpose), tanh' = 1 - tanh^2, bias gradient by reduce_sum
    body = "\n".join(lines)
    for eqn in (
        (
            "x:f32[2,4] = dot_general[dimension_numbers=(((1,), (1,)), ((), ())) "
            "preferred_element_type=None] v c"
        ),
        (
            "y:f32[4,1] = dot_general[dimension_numbers=(((0,), (0,)), ((), ())) "
            "preferred_element_type=None] i v"
        ),
        "mul i i",
        "ad:f32[4] = reduce_sum[axes=(0,)] ac",
        (
            "af:f32[3,4] = dot_general[dimension_numbers=(((0,), (0,)), ((), ())) "
            "preferred_element_type=None] d ac"
        ),
    ):
        assert eqn in body, eqn
    assert "transpose" not in body
    assert lines[-1] == "  in ( af ad y ) }"


def test_make_jaxpr_literals_static_and_shapes():
    text = str(fg.make_jaxpr(lambda x, n: x * n, static_argnums=1)(fnp.float32(2.0), 3))
    assert text == "{ lambda  ; a:f32[] . let\n    b:f32[] = mul a 3.0\n  in ( b ) }"
    closed, shapes = fg.make_jaxpr(lambda x: (x, x.sum()), return_shape=True)(fnp.ones(3))
    assert [s.shape for s in shapes] == [(3,), ()]
    assert len(closed.eqns) == 1
    s = fg.eval_shape(lambda x: x @ x.T, fg.ShapeDtypeStruct((2, 5), np.float32))
    assert s.shape == (2, 2) and s.dtype == np.float32


# ---- custom derivatives and checkpoint ----------------------------------------------------------


def test_custom_jvp():
    @fg.custom_jvp
    def safe_log1pexp(x):
        return fnp.log1p(fnp.exp(x))

    @safe_log1pexp.defjvp
    def _jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return safe_log1pexp(x), t * fnp.where(
            x > 0, 1 / (1 + fnp.exp(-x)), fnp.exp(x) / (1 + fnp.exp(x))
        )

    A(fg.grad(safe_log1pexp)(100.0), 1.0)
    A(fg.jvp(safe_log1pexp, (0.0,), (2.0,))[1], 1.0)
    A(fg.vmap(fg.grad(safe_log1pexp))(fnp.array([0.0, 100.0])), [0.5, 1.0])
    A(fg.grad(fg.grad(safe_log1pexp))(0.0), 0.25, rtol=1e-5)


def test_custom_jvp_is_used_not_the_function_derivative():
    @fg.custom_jvp
    def f(x):
        return fnp.sin(x)

    f.defjvp(lambda p, t: (f(p[0]), 3.0 * t[0]))
    A(fg.grad(f)(0.2), 3.0)
    A(fg.jacfwd(f)(0.2), 3.0)
    A(f(0.2), np.sin(0.2), rtol=1e-6)


def test_custom_vjp_and_nondiff_argnums():
    @fg.custom_vjp
    def clip_gradient(x):
        return x

    clip_gradient.defvjp(lambda x: (x, None), lambda _, g: (fnp.clip(g, -1.0, 1.0),))
    A(fg.grad(lambda x: 5.0 * clip_gradient(x))(2.0), 1.0)
    A(fg.vmap(fg.grad(lambda x: 5.0 * clip_gradient(x) * x))(fnp.array([1.0, 2.0])), [6.0, 11.0])

    @partial(fg.custom_vjp, nondiff_argnums=(0,))
    def scaled(k, x):
        return k * x

    scaled.defvjp(lambda k, x: (k * x, x), lambda k, res, g: (k * 10.0 * g,))
    A(fg.grad(scaled, argnums=1)(2.0, 3.0), 20.0)
    with pytest.raises(TypeError, match="custom_vjp"):
        fg.jvp(lambda x: clip_gradient(x), (1.0,), (1.0,))


def test_checkpoint_same_values_and_gradients():
    f = lambda x: fnp.sum(fnp.sin(fnp.cos(x)) * x)
    x = fnp.array(X)
    A(fg.checkpoint(f)(x), f(x))
    A(fg.grad(fg.checkpoint(f))(x), fg.grad(f)(x), rtol=1e-6)
    A(fg.grad(fg.grad(lambda x: fg.remat(f)(x * 1.0)))(1.0), fg.grad(fg.grad(f))(1.0), rtol=1e-5)
    A(fg.vmap(fg.grad(fg.checkpoint(f)))(x[:, None]), fg.vmap(fg.grad(f))(x[:, None]), rtol=1e-6)
    assert "checkpoint" in str(fg.make_jaxpr(fg.grad(fg.checkpoint(f)))(x))


# ---- compositions --------------------------------------------------------------------------------


def _ref_d2(x):  # f = sum(x^3 + sin x)
    return 6 * x - np.sin(x)


COMPOSITIONS = [
    (
        "grad(grad)",
        lambda x: fg.grad(fg.grad(lambda s: s**3 + fnp.sin(s)))(x[0]),
        lambda x: _ref_d2(x[0]),
    ),
    ("jacfwd(jacrev)", lambda x: fg.jacfwd(fg.jacrev(f_cubic))(x), lambda x: np.diag(_ref_d2(x))),
    ("jacrev(jacfwd)", lambda x: fg.jacrev(fg.jacfwd(f_cubic))(x), lambda x: np.diag(_ref_d2(x))),
    (
        "vmap(grad)",
        lambda x: fg.vmap(fg.grad(lambda s: s**3 + fnp.sin(s)))(x),
        lambda x: 3 * x**2 + np.cos(x),
    ),
    (
        "grad(vmap)",
        lambda x: fg.grad(lambda v: fnp.sum(fg.vmap(lambda s: s**3)(v)))(x),
        lambda x: 3 * x**2,
    ),
    (
        "vmap(vmap)",
        lambda x: fg.vmap(fg.vmap(lambda a, b: a * b, (None, 0)), (0, None))(x, x),
        lambda x: np.outer(x, x),
    ),
    (
        "jvp(grad)",
        lambda x: fg.jvp(fg.grad(f_cubic), (x,), (fnp.ones_like(x),))[1],
        lambda x: _ref_d2(x),
    ),
    (
        "grad(jvp)",
        lambda x: fg.grad(lambda v: fg.jvp(f_cubic, (v,), (fnp.ones_like(v),))[1])(x),
        lambda x: _ref_d2(x),
    ),
    (
        "vmap(jacrev)",
        lambda x: fg.vmap(fg.jacrev(lambda v: v * v))(fnp.stack([x, x])),
        lambda x: np.stack([np.diag(2 * x)] * 2),
    ),
    (
        "grad(grad(grad))",
        lambda x: fg.grad(fg.grad(fg.grad(lambda s: s**4)))(x[0]),
        lambda x: 24 * x[0],
    ),
    (
        "vmap(hessian)",
        lambda x: fg.vmap(fg.hessian(lambda v: fnp.sum(v**3)))(fnp.stack([x, 2 * x])),
        lambda x: np.stack([np.diag(6 * x), np.diag(12 * x)]),
    ),
]


@pytest.mark.parametrize("name,fn,ref", COMPOSITIONS, ids=[c[0] for c in COMPOSITIONS])
def test_compositions(name, fn, ref):
    A(fn(fnp.array(X)), ref(X.astype(np.float64)), rtol=2e-5, atol=1e-5)


def test_composed_derivatives_check_numerically():
    with fg.config.override(enable_x64=True):
        x = fnp.array(X.astype(np.float64))
        check_grads(fg.grad(f_cubic), (x,), order=2)
        check_grads(fg.vmap(lambda s: fnp.tanh(s) * s), (x,), order=2)
        check_grads(lambda v: fg.jvp(f_cubic, (v,), (v,))[1], (x,), order=1)


# ---- perturbation confusion (nested derivatives of closures) ----------------------------------


def test_perturbation_confusion():
    # d/dx [x * d/dy (x * y)] = d/dx [x * x] = 2x
    f = lambda x: x * fg.grad(lambda y: x * y)(3.0)
    A(fg.grad(f)(2.0), 4.0)
    A(fg.jvp(f, (2.0,), (1.0,))[1], 4.0)
    g = lambda x: x * fg.jvp(lambda y: x * y, (3.0,), (1.0,))[1]
    A(fg.grad(g)(2.0), 4.0)
    A(fg.jvp(g, (2.0,), (1.0,))[1], 4.0)
    # Siskind & Pearlmutter: d/dx [x * (d/dy (x + y))|y=1] = 1 (not 2)
    A(fg.grad(lambda x: x * fg.grad(lambda y: x + y)(1.0))(1.0), 1.0)
    A(fg.jvp(lambda x: x * fg.jvp(lambda y: x + y, (1.0,), (1.0,))[1], (1.0,), (1.0,))[1], 1.0)


def test_vmap_of_closure_over_grad_tracer():
    # d/dx sum_i vmap(lambda c: x * c)(cs)_i = sum(cs)
    cs = fnp.array([1.0, 2.0, 3.0])
    A(fg.grad(lambda x: fnp.sum(fg.vmap(lambda c: x * c)(cs)))(2.0), 6.0)


# ---- Python control flow on concrete values inside differentiation ------------------------------


def _piecewise(x):
    if x > 0:
        return x * x
    return -3.0 * x


@pytest.mark.parametrize(
    "diff,x,want",
    [
        (lambda f: fg.grad(f), 2.0, 4.0),
        (lambda f: fg.grad(f), -2.0, -3.0),
        (lambda f: fg.grad(fg.grad(f)), 2.0, 2.0),
        (lambda f: lambda x: fg.jvp(f, (x,), (1.0,))[1], 2.0, 4.0),
        (lambda f: fg.jacfwd(f), -1.0, -3.0),
        (lambda f: fg.jacrev(f), 3.0, 6.0),
        (lambda f: fg.grad(lambda x: fg.grad(f)(x) * x), 2.0, 8.0),
    ],
)
def test_python_control_flow_inside_differentiation(diff, x, want):
    A(diff(_piecewise)(x), want)


def test_concrete_conversions_inside_grad():
    A(fg.grad(lambda x: x * float(x))(3.0), 3.0)
    A(fg.grad(lambda x: fnp.arange(5.0)[int(x)] * x)(3.0), 3.0)
    A(fg.grad(lambda x: x * x.item())(3.0), 3.0)
    A(fg.grad(lambda x: fnp.arange(5.0)[fnp.array(2) + (x > 0)] * x)(1.0), 3.0)
    n = fg.grad(lambda x: x * len(range(int(x))))(4.0)
    A(n, 4.0)


# ---- pytrees in and out --------------------------------------------------------------------------


@fg.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Linear:
    w: object
    b: object
    act: str = dataclasses.field(default="tanh", metadata={"static": True})


Params = namedtuple("Params", "w b")


def test_grad_pytrees_in_and_out():
    lin = Linear(fnp.ones((2, 3)), fnp.zeros(3))
    g = fg.grad(lambda m, x: fnp.sum(fnp.tanh(x @ m.w + m.b)))(lin, fnp.ones((1, 2)))
    assert isinstance(g, Linear) and g.act == "tanh"
    assert g.w.shape == (2, 3)
    A(g.b, (1 - np.tanh(2.0) ** 2) * np.ones(3), rtol=1e-6)
    p = Params(fnp.array(2.0), [fnp.array(1.0), {"c": fnp.array(3.0)}])
    g = fg.grad(lambda p: p.w * p.b[0] * p.b[1]["c"])(p)
    assert isinstance(g, Params) and isinstance(g.b, list) and set(g.b[1]) == {"c"}
    A([g.w, g.b[0], g.b[1]["c"]], [3.0, 6.0, 2.0])
    out = fg.vmap(lambda p: {"y": p.w * 2, "z": (p.b,)})(Params(fnp.ones(3), fnp.zeros(3)))
    assert set(out) == {"y", "z"} and isinstance(out["z"], tuple)
    _, t = fg.jvp(lambda m: m.w.sum() + m.b.sum(), (lin,), (Linear(fnp.ones((2, 3)), fnp.ones(3)),))
    A(t, 9.0)
    assert tu.tree_structure(
        fg.grad(lambda d: d["a"] * 1.0)({"a": 1.0, "n": None})
    ) == tu.tree_structure({"a": 1.0, "n": None})


def test_structure_mismatch_errors_show_both_structures():
    _, f_vjp = fg.vjp(lambda x: (x, x), 1.0)
    with pytest.raises(ValueError, match=r"(?s)first:.*\(\*, \*\).*second:.*\[\*, \*\]"):
        f_vjp([1.0, 1.0])
    _, f_lin = fg.linearize(lambda x, y: x * y, 1.0, 2.0)
    with pytest.raises(ValueError, match=r"(?s)first.*second"):
        f_lin({"a": 1.0})
    with pytest.raises(ValueError, match=r"(?s)first.*second"):
        fg.tree_util.tree_map(lambda a, b: a, {"a": 1}, {"b": 1})
    with pytest.raises(ValueError, match=r"in_axes.*\{'a'.*argument 0"):
        fg.vmap(lambda d: d, in_axes=({"a": 0},))({"b": fnp.ones(2)})
