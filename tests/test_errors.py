"""Errors a user can act on: each names the operation, the shapes, and what to write instead."""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.lax as lax
import funcgrad.numpy as fnp

SHAPE_ERRORS = [
    # (description, thunk, exception type, regex the message must match)
    ("fnp broadcast", lambda: fnp.ones(3) + fnp.ones(4), ValueError, r"add.*\(3,\).*\(4,\)"),
    (
        "lax strict shapes",
        lambda: lax.add(fnp.ones(3), fnp.ones((3, 1))),
        TypeError,
        r"add.*f32\[3\].*f32\[3,1\]",
    ),
    (
        "lax strict dtypes",
        lambda: lax.mul(fnp.ones(3), fnp.ones(3, "int32")),
        TypeError,
        r"mul.*float32.*int32|mul.*int32.*float32",
    ),
    (
        "matmul",
        lambda: fnp.ones((2, 3)) @ fnp.ones((4, 2)),
        ValueError,
        r"matmul.*\(2, 3\).*\(4, 2\)",
    ),
    (
        "dot_general",
        lambda: lax.dot_general(fnp.ones((2, 3)), fnp.ones((4, 2)), (((1,), (0,)), ((), ()))),
        TypeError,
        r"dot_general.*f32\[2,3\].*f32\[4,2\]",
    ),
    (
        "reshape",
        lambda: lax.reshape(fnp.ones(3), (2, 2)),
        TypeError,
        r"reshape.*f32\[3\].*\(2, 2\)",
    ),
    (
        "fnp reshape",
        lambda: fnp.reshape(fnp.ones(6), (4, 2)),
        (TypeError, ValueError),
        r"reshape.*6.*\(4, 2\)",
    ),
    (
        "concatenate",
        lambda: lax.concatenate([fnp.ones((2, 3)), fnp.ones((3, 2))], 0),
        TypeError,
        r"concatenate.*f32\[2,3\].*f32\[3,2\]",
    ),
    (
        "conv channels",
        lambda: lax.conv_general_dilated(fnp.ones((1, 3, 5)), fnp.ones((2, 2, 3)), (1,), "VALID"),
        TypeError,
        r"conv_general_dilated.*f32\[1,3,5\].*channels",
    ),
    (
        "traced shape error",
        lambda: fg.make_jaxpr(lambda x: lax.add(x, fnp.ones(4)))(fnp.ones(3)),
        TypeError,
        r"add.*f32\[3\].*f32\[4\]",
    ),
    (
        "vmapped shape error",
        lambda: fg.vmap(lambda x: x @ fnp.ones((4, 2)))(fnp.ones((5, 3))),
        ValueError,
        r"matmul.*\(3,\).*\(4, 2\)",
    ),
    (
        "broadcast_to",
        lambda: fnp.broadcast_to(fnp.ones(3), (2, 4)),
        ValueError,
        r"\(3,\).*\(2, 4\)",
    ),
]


@pytest.mark.parametrize("desc,thunk,exc,pattern", SHAPE_ERRORS, ids=[c[0] for c in SHAPE_ERRORS])
def test_shape_errors_name_op_and_shapes(desc, thunk, exc, pattern):
    with pytest.raises(exc, match=pattern):
        thunk()


def _branchy(x):
    return x if x > 0 else -x


CONCRETIZATION = [
    ("bool under make_jaxpr", lambda: fg.make_jaxpr(_branchy)(1.0), "bool"),
    ("bool under vmap", lambda: fg.vmap(_branchy)(fnp.ones(2)), "bool"),
    ("float under vmap", lambda: fg.vmap(lambda x: float(x))(fnp.ones(2)), "float"),
    ("int under make_jaxpr", lambda: fg.make_jaxpr(lambda x: int(x))(1), "int"),
    ("index under vmap", lambda: fg.vmap(lambda i: [1, 2, 3][i])(fnp.array([0, 1])), "index"),
    ("item under make_jaxpr", lambda: fg.make_jaxpr(lambda x: x.item())(1.0), "item"),
    (
        "bool of vmap inside grad",
        lambda: fg.grad(lambda x: fnp.sum(fg.vmap(_branchy)(x)))(fnp.ones(2)),
        "bool",
    ),
]


@pytest.mark.parametrize("desc,thunk,what", CONCRETIZATION, ids=[c[0] for c in CONCRETIZATION])
def test_concretization_errors_explain_alternatives(desc, thunk, what):
    with pytest.raises(fg.ConcretizationTypeError) as info:
        thunk()
    msg = str(info.value)
    assert what in msg
    for hint in ("lax.cond", "where", "static_argnums"):
        assert hint in msg, hint


def test_numpy_on_a_tracer_says_use_fnp():
    with pytest.raises(fg.TracerArrayConversionError, match=r"funcgrad\.numpy"):
        fg.vmap(lambda x: np.sin(x))(fnp.ones(2))


@pytest.mark.parametrize(
    "transform",
    [
        lambda f: fg.grad(f),
        lambda f: fg.vmap(f),
        lambda f: fg.make_jaxpr(f),
        lambda f: lambda x: fg.jvp(f, (x,), (x,)),
    ],
)
def test_escaped_tracer_is_detected(transform):
    leaked = []

    def f(x):
        leaked.append(x)
        return fnp.sum(x * 2.0)

    transform(f)(fnp.ones(2))
    with pytest.raises(fg.UnexpectedTracerError, match=r"escaped.*(grad|vmap|jit)"):
        fnp.sin(leaked[0])


def test_escaped_tracer_inside_a_later_transformation():
    leaked = []
    fg.grad(lambda x: leaked.append(x) or x * 1.0)(1.0)
    with pytest.raises(fg.UnexpectedTracerError):
        fg.grad(lambda y: y * leaked[0])(2.0)


@pytest.mark.parametrize("fn", [fg.grad, fg.jacrev, fg.jacfwd, fg.value_and_grad])
def test_grad_of_integer_input_says_so(fn):
    with pytest.raises(TypeError, match=r"int32.*(float|astype)"):
        fn(lambda x: x * 2.0)(fnp.array(3))


def test_grad_of_integer_in_a_pytree():
    with pytest.raises(TypeError, match="int32"):
        fg.grad(lambda d: d["a"] * d["n"])({"a": 1.0, "n": fnp.array(2)})


def test_grad_of_non_scalar_output():
    with pytest.raises(TypeError, match=r"scalar output.*\(3,\).*(jacrev|vjp)"):
        fg.grad(lambda x: x * 2)(fnp.ones(3))
    with pytest.raises(TypeError, match=r"scalar output.*pytree"):
        fg.grad(lambda x: (x, x))(1.0)
    with pytest.raises(TypeError, match="real"):
        fg.grad(lambda x: x > 0)(1.0)


BAD_IN_AXES = [
    ("out of range", (0, 2), (fnp.ones(3), fnp.ones(3)), r"in_axes.*2.*argument 1.*\(3,\)"),
    ("too many entries", (0, 0, 0), (fnp.ones(3), fnp.ones(3)), r"in_axes.*3.*2"),
    (
        "inconsistent sizes",
        (0, 0),
        (fnp.ones(3), fnp.ones(4)),
        r"argument 0 has size 3.*argument 1 has size 4",
    ),
    ("pytree mismatch", ({"a": 0}, 0), ({"b": fnp.ones(2)}, fnp.ones(2)), r"in_axes.*argument 0"),
    ("scalar mapped", (0,), (fnp.array(1.0),), r"in_axes.*argument 0.*rank 0"),
]


@pytest.mark.parametrize("desc,in_axes,args,pattern", BAD_IN_AXES, ids=[c[0] for c in BAD_IN_AXES])
def test_bad_in_axes_names_the_argument(desc, in_axes, args, pattern):
    with pytest.raises(ValueError, match=pattern):
        fg.vmap(lambda *a: a[0], in_axes=in_axes)(*args)


def test_vmap_out_axes_none_for_mapped_output():
    with pytest.raises(ValueError, match="out_axes=None"):
        fg.vmap(lambda x: x, out_axes=None)(fnp.ones(2))


def test_has_aux_must_return_a_pair():
    with pytest.raises(TypeError, match="pair"):
        fg.grad(lambda x: x, has_aux=True)(1.0)


def test_jvp_argument_errors():
    with pytest.raises(TypeError, match="tuples"):
        fg.jvp(fnp.sin, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"shapes differ.*\(2,\).*\(3,\)"):
        fg.jvp(fnp.sin, (fnp.ones(2),), (fnp.ones(3),))


def test_argnums_out_of_range():
    with pytest.raises(ValueError, match="argnums"):
        fg.grad(lambda x: x, argnums=2)(1.0)


def test_invalid_argument_type():
    with pytest.raises(TypeError, match="not a valid funcgrad type"):
        fg.grad(lambda x: 1.0)("hello")
