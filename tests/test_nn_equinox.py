"""Equinox semantics of funcgrad.nn beyond recorded numbers: filtered transformations, State,
call-signature errors, Dropout/MultiheadAttention arguments (see also
tests/test_nn_equinox_reference.py)."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn

KEY = fg.random.PRNGKey(0)


def test_filter_jit_traces_arrays_and_keeps_the_rest_static():
    traces = []

    @nn.filter_jit
    def f(x, n, act):
        traces.append(1)
        return act(x) * n, {"label": "out", "n": n}

    y, aux = f(fnp.ones(2), 3, fnp.tanh)
    np.testing.assert_allclose(y, np.tanh(1.0) * 3 * np.ones(2), rtol=1e-6)
    assert aux == {"label": "out", "n": 3}
    f(fnp.zeros(2), 3, fnp.tanh)
    assert len(traces) == 1  # new array values: no retrace
    f(fnp.zeros(2), 4, fnp.tanh)
    assert len(traces) == 2  # a static leaf changed: retrace


def test_filter_jit_of_a_bound_module_method_traces_the_module():
    class Scale(nn.Module):
        w: fg.Array

        def apply(self, x):
            return self.w * x

    m = Scale(fnp.asarray(2.0))
    f = nn.filter_jit(m.apply)
    assert float(f(fnp.asarray(3.0))) == 6.0
    assert float(nn.filter_jit(Scale(fnp.asarray(5.0)).apply)(fnp.asarray(3.0))) == 15.0


def test_filter_grad_and_value_and_grad_skip_non_float_leaves():
    tree = {"w": fnp.ones(2), "steps": fnp.asarray(3), "act": fnp.tanh}

    def loss(t, x):
        return fnp.sum(t["act"](t["w"] * x)) + t["steps"]

    g = nn.filter_grad(loss)(tree, 0.5)
    assert g["steps"] is None and g["act"] is None
    np.testing.assert_allclose(g["w"], 0.5 * (1 - np.tanh(0.5) ** 2) * np.ones(2), rtol=1e-6)
    (val, aux), g2 = nn.filter_value_and_grad(lambda t: (loss(t, 1.0), "aux"), has_aux=True)(tree)
    assert aux == "aux" and float(val) == pytest.approx(2 * np.tanh(1.0) + 3, rel=1e-6)
    new = nn.apply_updates(tree, g2)
    np.testing.assert_allclose(new["w"], 1 + g2["w"])
    assert new["steps"] is tree["steps"] and new["act"] is fnp.tanh


def test_filter_vmap_maps_arrays_only():
    lin = nn.Linear(3, 2, key=KEY)
    xs = fnp.ones((5, 3))
    out = nn.filter_vmap(lambda m, x, tag: (m(x), tag), in_axes=(None, 0, None))(lin, xs, "t")
    assert out[0].shape == (5, 2) and out[1] == "t"
    # a batch of modules: vmap their construction, then map over the stacked parameters
    keys = fg.random.split(KEY, 4)
    stacked = nn.filter_vmap(lambda k: nn.Linear(3, 2, key=k))(keys)
    assert stacked.weight.shape == (4, 2, 3)
    ys = nn.filter_vmap(lambda m, x: m(x))(stacked, fnp.ones((4, 3)))
    np.testing.assert_allclose(ys[1], nn.Linear(3, 2, key=keys[1])(fnp.ones(3)), rtol=1e-6)


def test_is_array_like_and_is_array():
    assert nn.is_array_like(1.0) and nn.is_array_like(True) and nn.is_array_like(np.ones(2))
    assert not nn.is_array_like("relu") and not nn.is_array(1.0)
    assert nn.is_inexact_array(fnp.ones(2)) and not nn.is_inexact_array(fnp.arange(2))


def test_call_signature_errors_are_clear():
    class NoKey(nn.Module):
        def __call__(self, x):
            return x

    with pytest.raises(TypeError, match=r"define `def __call__\(self, x, \*, key=None\)`"):
        nn.Sequential([NoKey()])(fnp.ones(2), key=KEY)
    with pytest.raises(TypeError, match=r"Linear.__call__\(x, \*, key=None\)"):
        nn.Linear(2, 2, key=KEY)(fnp.ones(2), KEY)

    class Buggy(nn.Module):
        def __call__(self, x, *, key=None):
            return len(x)  # a TypeError from inside is left alone

    with pytest.raises(TypeError, match="has no len"):
        Buggy()(1)


def test_state_index_and_state_rules():
    index = nn.StateIndex(fnp.zeros(2))
    state = nn.State(index)
    np.testing.assert_array_equal(state.get(index), [0, 0])
    new = state.set(index, fnp.ones(2))
    with pytest.raises(ValueError, match="old state"):
        state.get(index)
    with pytest.raises(ValueError, match="different structures"):
        new.set(index, fnp.ones(3))
    with pytest.raises(ValueError, match="not a function|directly"):
        nn.StateIndex(lambda: fnp.zeros(2))
    model, st = nn.make_with_state(lambda: {"a": nn.StateIndex(fnp.zeros(1))})()
    assert model["a"].marker == "dict['a']"  # named by its path, as Equinox
    bn, _ = nn.make_with_state(nn.BatchNorm)(2, None)
    assert bn.ema_state_index.marker == "BatchNorm.ema_state_index"
    sub = st.substate(model)
    merged = st.update(sub.set(model["a"], fnp.ones(1)))
    np.testing.assert_array_equal(merged.get(model["a"]), [1])
    with pytest.raises(ValueError, match="make_with_state"):
        nn.State(model)  # the initial values were moved into the state


def test_state_is_a_pytree_through_jit():
    bn, state = nn.make_with_state(nn.BatchNorm)(2, None, mode="batch")
    step = fg.jit(lambda x, s: bn(x, s))
    y, state = step(fnp.ones((4, 2)) * fnp.arange(4.0)[:, None], state)
    y, state = step(fnp.ones((4, 2)), state)
    assert int(state.get(bn.batch_counter)) == 2


def test_dropout_and_mha_arguments_as_equinox():
    d = nn.Dropout(0.5)
    with pytest.raises(RuntimeError, match="requires a key"):
        d(fnp.ones(3))
    np.testing.assert_array_equal(nn.Dropout(0.0)(fnp.ones(3)), np.ones(3))
    np.testing.assert_array_equal(nn.Dropout(1.0)(fnp.ones(3), key=KEY), np.zeros(3))
    mha = nn.MultiheadAttention(2, 4, dropout_p=0.5, inference=True, key=KEY)
    assert mha.dropout.inference and mha.qk_size == 2 and mha.output_size == 4
    x = fnp.ones((3, 4))
    called = []

    def process(q, k, v):
        called.append(q.shape)
        return q * 2, k, v

    mha(x, x, x, process_heads=process)
    assert called == [(3, 2, 2)]
    with pytest.raises(ValueError, match="must not change the shape"):
        mha(x, x, x, process_heads=lambda q, k, v: (q[:1], k, v))
    with pytest.raises(ValueError, match="equal length"):
        mha(x, x, x[:2])
    with pytest.raises(ValueError, match="mask must have shape"):
        mha(x, x, x, mask=fnp.ones((2, 2), bool))


def test_gru_has_equinox_biases():
    gru = nn.GRUCell(3, 4, key=KEY)
    assert gru.bias.shape == (12,) and gru.bias_n.shape == (4,)
    no_bias = nn.GRUCell(3, 4, use_bias=False, key=KEY)
    assert no_bias.bias is None and no_bias.bias_n is None


def test_norm_layers_pass_state_through():
    _, state = nn.make_with_state(nn.BatchNorm)(2, None)
    for layer, x in [
        (nn.LayerNorm(3), fnp.ones(3)),
        (nn.RMSNorm(3), fnp.ones(3)),
        (nn.GroupNorm(1, 2), fnp.ones((2, 3))),
    ]:
        y, same = layer(x, state)
        assert same is state and y.shape == x.shape
    with pytest.raises(ValueError, match="channelwise_affine"):
        nn.GroupNorm(2)


def test_field_converter_and_check_init_as_equinox():
    class Scale(nn.Module):
        factor: fg.Array = nn.field(converter=fnp.asarray)
        name: str = nn.field(static=True, default="s")

        def __check_init__(self):
            if float(self.factor) < 0:
                raise ValueError("factor must be non-negative")

    s = Scale(2.0)
    assert nn.is_array(s.factor) and fg.tree.leaves(s) == [s.factor]
    with pytest.raises(ValueError, match="non-negative"):
        Scale(-1.0)
