"""JAX's strictness, checked against jax 0.10.2's recorded behaviour
(tests/data/jax_strictness.json, made by tests/data/make_jax_strictness.py): lax functions do
not promote, jax.numpy functions reject Python lists where JAX does, shape errors of products
have JAX's types, pytree dicts with keys that do not sort raise, node data is compared by
equality, tracers print their type."""

import builtins
import json
import os

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax, tree_util

DATA = json.load(open(os.path.join(os.path.dirname(__file__), "data", "jax_strictness.json")))
ENV = {"jnp": fnp, "lax": lax, "np": np, "tree_util": tree_util, "jit": fg.jit}
# messages that differ on purpose: funcgrad does not call itself "jax"; its atan2 takes real
# floats only (the accepted-dtype list in the message names no complex type)
OWN_MESSAGE = {"lax.dot(jnp.ones((2, 3)), jnp.ones((4, 5)))", "lax.atan2(f32, i32)"}


def _run(expr):
    env = dict(ENV)
    exec(DATA["setup"], env)
    try:
        r = eval(expr, env)
    except Exception as e:  # noqa: BLE001
        return type(e), str(e)
    return "ok", str(getattr(r, "dtype", type(r).__name__))


@pytest.mark.parametrize("expr", sorted(DATA["cases"]))
def test_outcome_as_jax(expr):
    kind, msg = DATA["cases"][expr]
    got, got_msg = _run(expr)
    if kind == "ok":
        assert got == "ok", got_msg
        if msg in ("float32", "int32", "bool", "complex64"):
            assert got_msg == msg
        return
    assert issubclass(got, getattr(builtins, kind)), (got, got_msg)  # (ValueTypeError: both)
    if expr not in OWN_MESSAGE:  # JAX's message, then (perhaps) funcgrad's operand shapes
        assert got_msg.startswith(msg.rstrip()), (got_msg, msg)


def test_lax_does_not_promote_but_fnp_does():
    x_f32, x_i32 = fnp.ones(3, np.float32), fnp.ones(3, np.int32)
    assert lax.add(x_f32, 1.0).dtype == np.float32  # a weak Python float of the same kind
    with pytest.raises(TypeError, match="lax.add requires arguments to have the same dtypes"):
        lax.add(x_i32, 1.0)
    with pytest.raises(TypeError, match="jnp.multiply"):
        lax.mul(x_i32, x_f32)
    assert fnp.add(x_i32, 1.0).dtype == np.float32
    assert (x_i32 * x_f32).dtype == np.float32
    f = fg.jit(lambda a, b: lax.add(a, b))
    with pytest.raises(TypeError, match="same dtypes"):
        f(x_f32, x_i32)


def test_lax_pow_takes_an_integer_exponent():
    x = fnp.arange(1.0, 4.0)
    np.testing.assert_allclose(lax.pow(x, fnp.full(3, 2, np.int32)), [1.0, 4.0, 9.0])
    np.testing.assert_allclose(lax.pow(x, 2), [1.0, 4.0, 9.0])


# ---- lists in jax.numpy --------------------------------------------------------------------

LIST = [1.0, 2.0, 3.0]
CALLS = {0: lambda f: f(LIST), 1: lambda f: f(fnp.ones(3), LIST), 2: lambda f: f(LIST, fnp.ones(3))}


def _list_outcome(f, call):
    try:
        call(f)
    except TypeError as e:
        if "requires ndarray or scalar arguments, got <class 'list'>" in str(e):
            return "list"
        return "error"
    except Exception:  # noqa: BLE001
        return "error"
    return "ok"


def test_every_public_numpy_function_is_in_the_table():
    missing = [
        n
        for n in fnp.__all__
        if callable(getattr(fnp, n))
        and not isinstance(getattr(fnp, n), type)
        and n not in DATA["lists"]
        and hasattr(np, n)
    ]
    # names jax.numpy lacks are not in the table; numpy names jax.numpy has must be
    assert len(DATA["lists"]) > 250
    assert not [n for n in missing if n in ("sum", "mean", "add", "dot", "where")]


@pytest.mark.parametrize("name", sorted(DATA["lists"]))
def test_lists_as_jax(name):
    f = getattr(fnp, name)
    for i, (ref, _) in enumerate(DATA["lists"][name]):
        got = _list_outcome(f, CALLS[i])
        if ref == "list":
            assert got == "list", (name, i, got)
        elif ref == "ok" and name != "lexsort":  # JAX accepts the list here: so must funcgrad
            assert got == "ok", (name, i, got)


def test_list_message_is_jaxs():
    with pytest.raises(TypeError) as e:
        fnp.sum([1, 2])
    assert str(e.value) == (
        "sum requires ndarray or scalar arguments, got <class 'list'> at position 0."
    )
    with pytest.raises(TypeError, match="got <class 'tuple'> at position 1"):
        fnp.add(fnp.ones(2), (1.0, 2.0))
    with pytest.raises(TypeError, match="where requires .* at position 2"):
        fnp.where(fnp.ones(2) > 0, 1.0, [1.0, 2.0])
    with pytest.raises(TypeError, match="at position 2"):
        fnp.clip(fnp.ones(2), 0.0, [1.0, 2.0])


def test_sequences_accepted_where_jax_accepts_them():
    assert fnp.array([1, 2]).shape == (2,)
    assert fnp.asarray((1.0, 2.0)).dtype == np.float32
    assert fnp.concatenate([fnp.ones(2), fnp.zeros(2)]).shape == (4,)
    assert fnp.stack((fnp.ones(2), fnp.zeros(2))).shape == (2, 2)
    assert fnp.zeros([2, 3]).shape == (2, 3)
    assert fnp.reshape(fnp.ones(6), [3, 2]).shape == (3, 2)
    assert fnp.sum(fnp.ones((2, 3)), axis=(0, 1)) == 6.0
    assert fnp.transpose(fnp.ones((2, 3)), (1, 0)).shape == (3, 2)


# ---- products: shape errors ------------------------------------------------------------------


def test_product_shape_errors():
    a, b = fnp.ones((2, 3)), fnp.ones((4, 5))
    msg = "dot_general requires contracting dimensions to have the same shape, got (3,) and (4,)."
    for f in (
        lambda: lax.dot_general(a, b, (((1,), (0,)), ((), ()))),
        lambda: fnp.dot(a, b),
        lambda: fnp.matmul(a, b),
        lambda: a @ b,
        lambda: fnp.tensordot(a, b, 1),
        lambda: fnp.vdot(fnp.ones(3), fnp.ones(4)),
        lambda: fg.jit(fnp.matmul)(a, b),
    ):
        with pytest.raises(TypeError) as e:
            f()
        assert str(e.value).startswith(msg)
    with pytest.raises(TypeError, match="batch dimensions"):
        lax.dot_general(fnp.ones((2, 3, 4)), fnp.ones((3, 4, 5)), (((2,), (1,)), ((0,), (0,))))
    with pytest.raises(ValueError, match="Size of label 'j'"):
        fnp.einsum("ij,jk->ik", a, b)
    assert fnp.einsum("ij,jk->ik", fnp.ones((2, 1)), fnp.ones((4, 5))).shape == (2, 5)
    with pytest.raises(ValueError, match="ndim at least 1"):
        fnp.matmul(fnp.ones(()), b)
    with pytest.raises(ValueError, match="Incompatible types for matmul"):
        fnp.matmul(fnp.ones((2, 2, 3)), fnp.ones((3, 3, 4)))


# ---- pytrees -----------------------------------------------------------------------------------


def test_dict_keys_that_do_not_sort_raise_as_jax():
    with pytest.raises(ValueError, match="Comparator raised exception while sorting"):
        tree_util.tree_flatten({1: 1.0, "a": 2.0})
    with pytest.raises(ValueError, match="Comparator raised exception"):
        fg.jit(lambda d: d)({1: 1.0, "a": 2.0})
    assert tree_util.tree_leaves({2: "b", 1: "a"}) == ["a", "b"]


class _Node:
    def __init__(self, x, meta):
        self.x, self.meta = x, meta


tree_util.register_pytree_node(_Node, lambda n: ((n.x,), n.meta), lambda m, c: _Node(c[0], m))


@pytest.mark.parametrize(
    "meta,same,other",
    [
        ([1, 2], [1, 2], [1, 3]),
        (np.arange(3), np.arange(3), np.arange(4)),
        ({"k": [1]}, {"k": [1]}, {"k": [2]}),
    ],
)
def test_unhashable_aux_data_works_under_jit(meta, same, other):
    traces = []

    @fg.jit
    def f(n):
        traces.append(1)
        return _Node(n.x * 2, n.meta)

    out = f(_Node(fnp.ones(3), meta))
    assert tree_util.tree_structure(out) == tree_util.tree_structure(_Node(0.0, meta))
    np.testing.assert_allclose(out.x, 2.0)
    f(_Node(fnp.ones(3), same))  # equal aux data: the cached trace
    assert len(traces) == 1
    f(_Node(fnp.ones(3), other))  # different aux data: a new trace
    assert len(traces) == 2
    td = tree_util.tree_structure(_Node(1.0, meta))
    assert td == tree_util.tree_structure(_Node(2.0, same))
    assert td != tree_util.tree_structure(_Node(2.0, other))
    assert hash(td) == hash(tree_util.tree_structure(_Node(2.0, same)))


# ---- tracer reprs ------------------------------------------------------------------------------


def test_tracer_reprs_show_shape_and_dtype():
    seen = []

    def show(x):
        seen.append(repr(x))
        return x

    x = fnp.ones(3)
    fg.jit(show)(x)
    fg.grad(lambda v: show(v).sum())(x)
    fg.vmap(show)(x)
    fg.jvp(show, (x,), (x,))
    fg.jit(show)(1.0)
    fg.jit(show)(fnp.ones((2, 3), np.int32))
    assert seen == [
        "Traced<ShapedArray(float32[3])>with<DynamicJaxprTrace>",
        "Traced<ShapedArray(float32[3])>with<JVPTrace>",
        "Traced<ShapedArray(float32[])>with<BatchTrace>",
        "Traced<ShapedArray(float32[3])>with<JVPTrace>",
        "Traced<ShapedArray(float32[], weak_type=True)>with<DynamicJaxprTrace>",
        "Traced<ShapedArray(int32[2,3])>with<DynamicJaxprTrace>",
    ]
    out = []
    fg.jit(lambda v: out.append(str(v)) or v)(x)
    assert out == ["Traced<ShapedArray(float32[3])>with<DynamicJaxprTrace>"]


def test_tracer_reprs_carry_jaxs_shape_and_dtype():
    """jax 0.10 prints ``JitTracer(float32[3])``; funcgrad's classic form holds the same type."""
    ref = DATA["tracer_reprs"]
    seen = {}

    def show(name):
        def f(x):
            seen[name] = repr(x)
            return x

        return f

    fg.jit(show("jit"))(fnp.ones(3))
    fg.vmap(show("vmap"))(fnp.ones(3))
    fg.jit(show("jit_int"))(fnp.ones((2, 3), np.int32))
    for name, jax_type in (("jit", "float32[3]"), ("vmap", "float32[]"), ("jit_int", "int32[2,3]")):
        assert jax_type in ref[name]
        assert f"ShapedArray({jax_type})" in seen[name]
