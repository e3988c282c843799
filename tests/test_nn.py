"""funcgrad.nn: modules as pytrees, layers against numpy formulas, utilities, initialisers."""

import dataclasses
import doctest
import importlib

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn
from funcgrad.nn import initializers as init

KEY = fg.random.key(0)


def keys(n):
    return list(fg.random.split(KEY, n))


def rand(*shape, seed=0):
    return fnp.asarray(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


@pytest.mark.parametrize(
    "name",
    [
        "funcgrad.nn._module",
        "funcgrad.nn._layers",
        "funcgrad.nn._conv",
        "funcgrad.nn._norm",
        "funcgrad.nn._attention",
        "funcgrad.nn._recurrent",
        "funcgrad.nn._resnet",
    ],
)
def test_private_module_docstrings_run(name):
    res = doctest.testmod(
        importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    assert res.failed == 0


# ---- Module -------------------------------------------------------------------------------------


class Affine(nn.Module):
    w: fg.Array
    b: fg.Array
    name: str = nn.static_field(default="affine")

    def __call__(self, x, *, key=None):
        return self.w * x + self.b


def test_nn_reexports_every_activation():
    """``funcgrad.nn`` imports the activations by name: none of ``nn_functions.__all__`` is
    missing, and each is the same object."""
    from funcgrad._src import nn_functions

    assert nn_functions.__all__
    for name in nn_functions.__all__:
        assert getattr(nn, name, None) is getattr(nn_functions, name), name


def test_module_is_a_frozen_dataclass_pytree():
    m = Affine(fnp.ones(2), fnp.zeros(2))
    assert dataclasses.is_dataclass(m)
    leaves, td = fg.tree.flatten(m)
    assert len(leaves) == 2
    m2 = fg.tree.unflatten(td, [fnp.full(2, 3.0), fnp.ones(2)])
    assert isinstance(m2, Affine) and m2.name == "affine"
    with pytest.raises(dataclasses.FrozenInstanceError, match="tree_at"):
        m.w = fnp.zeros(2)
    g = fg.grad(lambda m: fnp.sum(m(fnp.full(2, 2.0))))(m)
    np.testing.assert_allclose(g.w, [2, 2])
    np.testing.assert_allclose(g.b, [1, 1])


def test_static_fields_are_part_of_the_structure():
    a, b = Affine(fnp.ones(1), fnp.ones(1)), Affine(fnp.ones(1), fnp.ones(1), name="x")
    assert fg.tree.structure(a) != fg.tree.structure(b)


def test_custom_init_must_set_every_field():
    class Bad(nn.Module):
        a: int
        b: int

        def __init__(self):
            self.a = 1

    with pytest.raises(TypeError, match="did not set the field"):
        Bad()


def test_subclass_of_custom_init_keeps_it():
    c = nn.Conv2d(1, 2, 3, key=KEY)
    assert c.num_spatial_dims == 2 and c.weight.shape == (2, 1, 3, 3)


def test_repr_shows_shapes_not_values():
    r = repr(nn.MLP(3, 2, 4, 1, key=KEY))
    assert "f32[4,3]" in r and "MLP(" in r and "Linear(" in r


def test_filter_partition_combine():
    m = nn.MLP(3, 2, 4, 1, key=KEY)
    params, static = nn.partition(m, nn.is_array)
    assert all(nn.is_array(x) for x in fg.tree.leaves(params))
    back = nn.combine(params, static)
    assert fg.tree.structure(back) == fg.tree.structure(m)
    only_w = nn.filter(m, lambda x: nn.is_array(x) and x.ndim == 2)
    assert len(fg.tree.leaves(only_w)) == 2


def test_count_params():
    assert nn.count_params(nn.Linear(5, 3, key=KEY)) == 18
    assert nn.count_params(nn.Linear(5, 3, use_bias=False, key=KEY)) == 15


def test_tree_at_replaces_leaves_subtrees_and_none():
    m = nn.Sequential([nn.Linear(2, 2, key=KEY), nn.Linear(2, 2, use_bias=False, key=KEY)])
    m2 = nn.tree_at(lambda s: s.layers[1].bias, m, fnp.ones(2))
    assert m.layers[1].bias is None and m2.layers[1].bias.shape == (2,)
    m3 = nn.tree_at(
        lambda s: (s.layers[0].weight, s.layers[0].bias), m, (fnp.zeros((2, 2)), fnp.zeros(2))
    )
    np.testing.assert_allclose(m3(fnp.ones(2)), np.zeros(2))
    m4 = nn.tree_at(lambda s: s.layers[0], m, replace_fn=lambda layer: nn.Identity())
    assert isinstance(m4.layers[0], nn.Identity)
    with pytest.raises(ValueError, match="not a node"):
        nn.tree_at(lambda s: s.layers[0].in_features, m, 3)


def test_inference_mode_returns_new_trees():
    m = nn.MLP(4, 2, 8, 2, dropout_p=0.5, key=KEY)
    mi = nn.inference_mode(m)
    assert m.dropout.inference is False and mi.dropout.inference is True
    x = fnp.ones(4)
    np.testing.assert_allclose(mi(x), mi(x))
    assert nn.train_mode(mi).dropout.inference is False
    with pytest.raises(RuntimeError, match="requires a key"):
        m(x)


# ---- layers -------------------------------------------------------------------------------------


def test_linear_matches_numpy_and_errors_name_sizes():
    lin = nn.Linear(3, 2, key=KEY)
    x = rand(3)
    np.testing.assert_allclose(lin(x), np.asarray(lin.weight) @ np.asarray(x) + lin.bias, rtol=1e-5)
    with pytest.raises(ValueError, match=r"\(3,\).*\(5, 3\).*fg.vmap"):
        lin(rand(5, 3))
    assert nn.Linear("scalar", "scalar", key=KEY)(fnp.asarray(1.0)).shape == ()


def test_linear_default_init_bounds():
    lin = nn.Linear(100, 50, key=KEY)
    assert float(fnp.max(fnp.abs(lin.weight))) <= 0.1 + 1e-6


def test_sequential_residual_lambda_flatten():
    k1, k2 = keys(2)
    net = nn.Sequential(
        [
            nn.Flatten(),
            nn.Linear(6, 6, key=k1),
            nn.Lambda(fnp.tanh),
            nn.Residual(nn.Linear(6, 6, key=k2)),
            nn.Identity(),
        ]
    )
    y = net(rand(2, 3))
    h = np.tanh(np.asarray(net.layers[1](rand(2, 3).reshape(-1))))
    np.testing.assert_allclose(y, h + np.asarray(net.layers[3].fn(fnp.asarray(h))), rtol=1e-5)
    assert len(net[1:3]) == 2


def test_mlp_vmap_and_grad():
    mlp = nn.MLP(4, 3, 8, 2, key=KEY)
    x = rand(5, 4)
    y = fg.vmap(mlp)(x)
    np.testing.assert_allclose(y[2], mlp(x[2]), rtol=1e-5)
    g = fg.grad(lambda m: fnp.sum(fg.vmap(m)(x) ** 2))(mlp)
    assert fg.tree.structure(g) == fg.tree.structure(mlp)


def test_dropout():
    d = nn.Dropout(0.5)
    y = np.asarray(d(fnp.ones(1000), key=KEY))
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.4 < (y == 0).mean() < 0.6
    np.testing.assert_allclose(d(fnp.ones(3), inference=True), np.ones(3))


def test_embedding():
    e = nn.Embedding(5, 3, key=KEY)
    np.testing.assert_allclose(e(fnp.asarray(2)), e.weight[2])
    with pytest.raises(TypeError, match="integer"):
        e(fnp.asarray(1.0))
    # as Equinox: one scalar index per call (vmap for many); out of range clamps (JAX indexing)
    with pytest.raises(ValueError, match="scalar index"):
        e(fnp.array([1, 2]))
    np.testing.assert_allclose(fg.vmap(e)(fnp.array([4, 0])), np.asarray(e.weight)[[4, 0]])
    np.testing.assert_allclose(e(fnp.asarray(7)), e.weight[4])
    np.testing.assert_allclose(e(fnp.asarray(-1)), e.weight[4])
    w = fnp.arange(6.0).reshape(3, 2)
    assert nn.Embedding(weight=w).num_embeddings == 3
    with pytest.raises(ValueError, match="weight must have shape"):
        nn.Embedding(4, 2, weight=w)


def _np_conv2d(x, w, stride, pad):
    _, h, wd = x.shape
    o, _, kh, kw = w.shape
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((o, oh, ow), np.float32)
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[:, i, j] = np.tensordot(w, patch, axes=([1, 2, 3], [0, 1, 2]))
    return out


def test_conv2d_matches_numpy_and_vmaps():
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1, key=KEY)
    x = rand(2, 7, 7)
    ref = (
        _np_conv2d(np.asarray(x), np.asarray(conv.weight), 2, 1)
        + np.asarray(conv.bias)[:, None, None]
    )
    np.testing.assert_allclose(conv(x), ref, rtol=1e-4, atol=1e-5)
    xb = rand(4, 2, 7, 7, seed=1)
    np.testing.assert_allclose(fg.vmap(conv)(xb)[3], conv(xb[3]), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="fg.vmap"):
        conv(xb)


def test_conv1d_groups_shape():
    conv = nn.Conv1d(4, 6, 3, padding="SAME", groups=2, key=KEY)
    assert conv.weight.shape == (6, 2, 3) and conv(rand(4, 9)).shape == (6, 9)


def test_conv_transpose_is_the_adjoint_of_conv():
    conv = nn.Conv2d(3, 5, 3, stride=2, padding=1, use_bias=False, key=KEY)
    up = nn.ConvTranspose2d(5, 3, 3, stride=2, padding=1, output_padding=0, use_bias=False, key=KEY)
    # Equinox's layout (out, in, *k) applied as a plain kernel: the adjoint of the conv is
    # the conv weight with in/out swapped and the window flipped
    w = fnp.flip(fnp.swapaxes(conv.weight, 0, 1), axis=(2, 3))
    up = nn.tree_at(lambda m: m.weight, up, w)
    x = rand(3, 7, 7)
    y, vjp = fg.vjp(conv, x)
    ct = rand(*y.shape, seed=2)
    np.testing.assert_allclose(up(ct), vjp(ct)[0], rtol=1e-4, atol=1e-5)


def test_pooling():
    x = rand(2, 6, 6)
    ref = np.asarray(x).reshape(2, 3, 2, 3, 2)
    np.testing.assert_allclose(nn.MaxPool2d(2)(x), ref.max(axis=(2, 4)))
    np.testing.assert_allclose(nn.AvgPool2d(2)(x), ref.mean(axis=(2, 4)), rtol=1e-5)
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d((3, 3))(x), ref.mean(axis=(2, 4)), rtol=1e-5)
    assert nn.AdaptiveAvgPool2d((4, 4))(x).shape == (2, 4, 4)
    assert nn.MaxPool2d(3, stride=1, padding=1)(x).shape == (2, 6, 6)
    g = fg.grad(lambda x: fnp.sum(nn.MaxPool2d(2)(x)))(x)
    assert float(fnp.sum(g)) == 18.0


def test_layernorm_rmsnorm_groupnorm_match_numpy():
    x = rand(4, 6)
    xn = np.asarray(x)
    ln = (xn - xn.mean()) / np.sqrt(xn.var() + 1e-5)
    np.testing.assert_allclose(nn.LayerNorm((4, 6))(x), ln, rtol=1e-4, atol=1e-5)
    rms = xn / np.sqrt((xn**2).mean(-1, keepdims=True) + 1e-5)  # Equinox's eps
    np.testing.assert_allclose(fg.vmap(nn.RMSNorm(6))(x), rms, rtol=1e-4, atol=1e-5)
    # as Equinox, the input must be exactly one example of `shape`
    for layer in (nn.RMSNorm(6), nn.LayerNorm(6)):
        with pytest.raises(ValueError, match="shape == x.shape"):
            layer(x)
    g = xn.reshape(2, -1)
    gn = (g - g.mean(1, keepdims=True)) / np.sqrt(g.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(nn.GroupNorm(2, 4)(x), gn.reshape(4, 6), rtol=1e-4, atol=1e-5)


def _np_bn(xn, mean, var):
    return (xn - mean[:, None, None]) / np.sqrt(np.asarray(var)[:, None, None] + 1e-5)


def test_batchnorm_batch_mode_state():
    bn, s = nn.make_with_state(nn.BatchNorm)(3, None, momentum=0.9, mode="batch")
    x = rand(8, 3, 2, 2) * 3 + 1
    y, s1 = bn(x, s)
    xn = np.asarray(x)
    mean, var = xn.mean((0, 2, 3)), xn.var((0, 2, 3))
    np.testing.assert_allclose(y, _np_bn(xn, mean, var), rtol=1e-4, atol=1e-4)
    assert int(s1.get(bn.batch_counter)) == 1
    hidden_mean, hidden_var = s1.get(bn.batch_state_index)
    np.testing.assert_allclose(hidden_mean, 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(hidden_var, 0.9 + 0.1 * var, rtol=1e-5)
    yi, s2 = nn.inference_mode(bn)(x, s1)
    assert s2 is s1
    # inference debiases the running averages by 1 - momentum**count (Equinox's "batch" mode)
    np.testing.assert_allclose(yi, _np_bn(xn, mean, (0.9 + 0.1 * var) / 0.1), rtol=1e-4)
    with pytest.raises(ValueError, match="whole batch"):
        bn(rand(3, 2, 2), s1)
    with pytest.raises(ValueError, match="old state"):
        bn(x, s)  # s was retired by the first call


def test_batchnorm_ema_mode_state():
    bn, s = nn.make_with_state(nn.BatchNorm)(3, None, momentum=0.9)
    assert bn.mode == "ema"
    x1, x2 = rand(8, 3, 2, 2), rand(8, 3, 2, 2, seed=5) * 2 + 1
    y1, s = bn(x1, s)
    n1, n2 = np.asarray(x1), np.asarray(x2)
    m1, v1 = n1.mean((0, 2, 3)), n1.var((0, 2, 3))
    np.testing.assert_allclose(y1, _np_bn(n1, m1, v1), rtol=1e-4, atol=1e-4)
    y2, s = bn(x2, s)  # normalised with the updated running statistics (as Equinox)
    m = 0.1 * n2.mean((0, 2, 3)) + 0.9 * m1
    v = 0.1 * n2.var((0, 2, 3)) + 0.9 * v1
    np.testing.assert_allclose(y2, _np_bn(n2, m, v), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(s.get(bn.ema_state_index)[0], m, rtol=1e-5)
    assert not bool(s.get(bn.ema_first_time_index))


def test_sequential_passes_state_through_stateful_layers():
    make = lambda: nn.Sequential([nn.Lambda(lambda x: 2 * x), nn.BatchNorm(3, mode="batch")])
    seq, state = nn.make_with_state(make)()
    assert seq.is_stateful()
    y, state = seq(rand(4, 3), state)
    assert y.shape == (4, 3) and int(state.get(seq.layers[1].batch_counter)) == 1
    leaves, td = fg.tree.flatten(state)
    assert len(leaves) == 3 and fg.tree.unflatten(td, leaves).get(seq.layers[1].batch_counter) == 1
    plain = nn.Sequential([nn.Lambda(lambda x: 2 * x)])
    assert not plain.is_stateful()
    np.testing.assert_allclose(plain(fnp.ones(2)), [2, 2])


def test_attention_matches_numpy_and_causal_mask():
    mha = nn.MultiheadAttention(2, 8, key=KEY)
    x = rand(5, 8)
    y = mha(x, x, x, causal=True)
    xn = np.asarray(x)
    wq, wk, wv, wo = (
        np.asarray(getattr(mha, n).weight)
        for n in ("query_proj", "key_proj", "value_proj", "output_proj")
    )
    q, k, v = (xn @ w.T for w in (wq, wk, wv))
    outs = []
    for h in range(2):
        sl = slice(4 * h, 4 * h + 4)
        logits = q[:, sl] @ k[:, sl].T / 2.0
        logits = np.where(np.tril(np.ones((5, 5), bool)), logits, -np.inf)
        p = np.exp(logits - logits.max(-1, keepdims=True))
        outs.append((p / p.sum(-1, keepdims=True)) @ v[:, sl])
    np.testing.assert_allclose(y, np.concatenate(outs, -1) @ wo.T, rtol=1e-4, atol=1e-5)
    # the first position sees only itself: changing later tokens does not change it
    x2 = fnp.concatenate([x[:1], rand(4, 8, seed=3)])
    np.testing.assert_allclose(mha(x2, x2, x2, causal=True)[0], y[0], rtol=1e-5)
    assert fg.vmap(lambda s: mha(s, s, s))(rand(3, 5, 8)).shape == (3, 5, 8)


def test_fully_masked_rows_are_finite():
    # JAX's layout (T, N, H); a fully masked row attends uniformly (JAX's large negative)
    v = rand(3, 1, 4, seed=2)
    out = nn.dot_product_attention(
        rand(2, 1, 4), rand(3, 1, 4), v, mask=fnp.zeros((2, 3), dtype=bool)
    )
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[0, 0], np.asarray(v)[:, 0].mean(0), rtol=1e-5)


def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_cells_match_numpy():
    x, h = np.asarray(rand(3)), np.asarray(rand(4, seed=1))
    rnn = nn.RNNCell(3, 4, key=KEY)
    ref = np.tanh(np.asarray(rnn.weight_ih) @ x + np.asarray(rnn.weight_hh) @ h + rnn.bias)
    np.testing.assert_allclose(rnn(fnp.asarray(x), fnp.asarray(h)), ref, rtol=1e-5)
    lstm = nn.LSTMCell(3, 4, key=KEY)
    c = np.asarray(rand(4, seed=2))
    g = np.asarray(lstm.weight_ih) @ x + np.asarray(lstm.weight_hh) @ h + lstm.bias
    i, f, gg, o = _np_sigmoid(g[:4]), _np_sigmoid(g[4:8]), np.tanh(g[8:12]), _np_sigmoid(g[12:])
    c_ref = f * c + i * gg
    h2, c2 = lstm(fnp.asarray(x), (fnp.asarray(h), fnp.asarray(c)))
    np.testing.assert_allclose(c2, c_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h2, o * np.tanh(c_ref), rtol=1e-5, atol=1e-6)
    gru = nn.GRUCell(3, 4, key=KEY)
    gi = np.asarray(gru.weight_ih) @ x + gru.bias
    gh = np.asarray(gru.weight_hh) @ h
    r, z = _np_sigmoid(gi[:4] + gh[:4]), _np_sigmoid(gi[4:8] + gh[4:8])
    n = np.tanh(gi[8:] + r * (gh[8:] + np.asarray(gru.bias_n)))  # Equinox's second bias
    np.testing.assert_allclose(
        gru(fnp.asarray(x), fnp.asarray(h)), (1 - z) * n + z * h, rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("cell_cls", [nn.RNNCell, nn.GRUCell, nn.LSTMCell])
def test_rnn_scan_matches_python_loop(cell_cls):
    cell = cell_cls(3, 4, key=KEY)
    xs = rand(6, 3)
    ys, final = nn.RNN(cell)(xs)
    s = cell.init_state()
    for t in range(6):
        s = cell(xs[t], s)
        np.testing.assert_allclose(ys[t], s[0] if isinstance(s, tuple) else s, rtol=1e-5, atol=1e-6)
    for a, b in zip(fg.tree.leaves(final), fg.tree.leaves(s)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    ys_r, _ = nn.RNN(cell, reverse=True)(xs)
    np.testing.assert_allclose(ys_r[-1], nn.RNN(cell)(xs[-1:])[0][0], rtol=1e-5)
    g = fg.grad(lambda c: fnp.sum(nn.RNN(c)(xs)[0]))(cell)
    assert np.all(np.isfinite(g.weight_hh))
    assert fg.vmap(nn.RNN(cell))(rand(2, 6, 3))[0].shape == (2, 6, 4)


def test_resnet_digits_and_cifar_shapes_and_grads():
    net = nn.ResNet(1, 10, stage_sizes=(1, 1), widths=(4, 8), key=KEY)
    state = net.init_state()
    struct = fg.tree.structure(state)  # (using a State retires it, as in Equinox)
    x = rand(3, 1, 8, 8)

    def loss(m, s):
        logits, s = m(x, s)
        return fnp.mean(logits**2), s

    (val, new_state), g = fg.value_and_grad(loss, has_aux=True)(net, state)
    assert np.isfinite(float(val))
    assert fg.tree.structure(new_state) == struct
    assert all(np.all(np.isfinite(leaf)) for leaf in fg.tree.leaves(g))
    logits, same = nn.inference_mode(net)(x, new_state)
    assert logits.shape == (3, 10)
    assert all(a is b for a, b in zip(fg.tree.leaves(same), fg.tree.leaves(new_state)))
    cifar = nn.ResNet(3, 10, stage_sizes=(1, 1, 1), widths=(4, 8, 16), norm="group", key=KEY)
    assert cifar(rand(2, 3, 32, 32), cifar.init_state())[0].shape == (2, 10)


# ---- initialisers -------------------------------------------------------------------------------


def test_compute_fans_convention():
    # JAX's: in_axis=-2, out_axis=-1, the other axes are the receptive field
    assert init.compute_fans((10, 20)) == (10, 20)
    assert init.compute_fans((3, 3, 4, 8)) == (36, 72)
    assert init.compute_fans((8, 4, 3, 3), in_axis=1, out_axis=0) == (36, 72)
    assert init.compute_fans((2, 10, 20), batch_axis=0) == (10, 20)
    assert init.compute_fans((5,), in_axis=0, out_axis=0) == (1, 1)  # as JAX
    with pytest.raises(ValueError, match="at least 2D"):
        init.compute_fans((5,))


@pytest.mark.parametrize(
    "fn,var",
    [
        (init.glorot_uniform(), 2 / (200 + 300)),
        (init.glorot_normal(), 2 / 500),
        (init.he_uniform(), 2 / 200),  # JAX: fan_in is shape[-2]
        (init.he_normal(), 2 / 200),
        (init.lecun_uniform(), 1 / 200),
        (init.lecun_normal(), 1 / 200),
        (init.he_normal(in_axis=1, out_axis=0), 2 / 300),
        (init.normal(0.5), 0.25),
        (init.truncated_normal(1.0), 0.774),
    ],
)
def test_initialiser_variances(fn, var):
    w = np.asarray(fn(KEY, (200, 300), np.float32))
    assert w.shape == (200, 300) and w.dtype == np.float32
    assert abs(w.var() / var - 1) < 0.05


def test_simple_initialisers():
    np.testing.assert_array_equal(init.zeros(KEY, (2,)), [0, 0])
    np.testing.assert_array_equal(init.ones(KEY, 2), [1, 1])
    np.testing.assert_array_equal(init.constant(3.0)(KEY, (2,)), [3, 3])
    u = np.asarray(init.uniform(2.0)(KEY, (1000,)))
    assert u.min() >= 0 and u.max() < 2 and abs(u.mean() - 1) < 0.1
    t = np.asarray(init.truncated_normal(1.0)(KEY, (1000,)))
    assert np.abs(t).max() <= 2.0


def test_uniform_variance_scaling_bounds():
    w = np.asarray(init.variance_scaling(1.0, "fan_in", "uniform")(KEY, (16, 3, 5, 5)))
    assert np.abs(w).max() <= np.sqrt(3 / 75) + 1e-6


@pytest.mark.parametrize("shape", [(4, 4), (3, 6), (6, 3), (2, 3, 4)])
def test_orthogonal(shape):
    q = np.asarray(init.orthogonal()(KEY, shape)).reshape(-1, shape[-1])
    small = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
    np.testing.assert_allclose(small, np.eye(small.shape[0]), atol=1e-5)


def test_model_and_optimizer_state_checkpoint_round_trip(tmp_path):
    from funcgrad import optim

    model = nn.MLP(4, 2, 8, 1, key=KEY)
    opt_state = optim.adam(1e-3).init(model)
    path = str(tmp_path / "ckpt.npz")
    fg.save(path, {"model": model, "opt": opt_state})
    back = fg.load(path, like={"model": model, "opt": opt_state})
    assert isinstance(back["model"], nn.MLP)
    np.testing.assert_array_equal(back["model"].layers[0].weight, model.layers[0].weight)
    assert type(back["opt"][0]).__name__ == "ScaleByAdamState"
