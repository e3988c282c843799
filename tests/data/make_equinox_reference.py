"""Records Equinox 0.13 / Optax reference values from the reference virtualenv into
tests/data/equinox_reference*.json, read by tests/test_nn_equinox_reference.py and
tests/test_port_from_jax.py (never a test dependency):

    /tmp/jaxenv/bin/python tests/data/make_equinox_reference.py

``equinox_reference.json``: recorded with ``jax_threefry_partitionable=False``, the stream
funcgrad.random matches today. ``equinox_reference_partitionable.json``: the same with JAX
0.10's default (True), for when funcgrad.random follows it.
"""

import base64
import io
import json
import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax

HERE = pathlib.Path(__file__).parent


def arr(x):
    x = np.asarray(x)
    return {"dtype": str(x.dtype), "shape": list(x.shape), "data": x.ravel().tolist()}


def leaves(tree):
    return [arr(x) for x in jax.tree_util.tree_leaves(eqx.filter(tree, eqx.is_array))]


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def layers():
    k = jr.PRNGKey(7)
    out = {}

    def rec(name, model, *inputs, **kw):
        y = model(*[jnp.asarray(i) for i in inputs], **kw)
        out[name] = {"params": leaves(model), "out": [arr(v) for v in jax.tree_util.tree_leaves(y)]}

    rec("linear", eqx.nn.Linear(3, 4, key=k), _x(3))
    rec("linear_scalar_in", eqx.nn.Linear("scalar", 2, key=k), np.float32(0.5))
    rec("linear_scalar_out", eqx.nn.Linear(3, "scalar", use_bias=False, key=k), _x(3))
    rec("mlp", eqx.nn.MLP(3, 2, 5, 2, activation=jax.nn.tanh, key=k), _x(3))
    rec("mlp_depth0", eqx.nn.MLP(3, 2, 5, 0, key=k), _x(3))
    rec("conv2d", eqx.nn.Conv2d(2, 4, 3, padding=1, key=k), _x((2, 5, 5)))
    rec("conv1d_groups", eqx.nn.Conv1d(4, 6, 3, stride=2, groups=2, key=k), _x((4, 9)))
    rec(
        "conv_transpose2d",
        eqx.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2, key=k),
        _x((4, 3, 3)),
    )
    emb = eqx.nn.Embedding(6, 3, key=k)
    out["embedding"] = {
        "params": leaves(emb),
        "out": [arr(emb(jnp.asarray(i))) for i in (3, 9, -1)],
    }
    rec("layernorm", eqx.nn.LayerNorm((2, 3)), _x((2, 3)) * 3 + 1)
    rec("rmsnorm", eqx.nn.RMSNorm(4), _x(4) * 2)
    rec("groupnorm", eqx.nn.GroupNorm(2, 4), _x((4, 3)) + 2)
    rec("gru", eqx.nn.GRUCell(3, 4, key=k), _x(3), _x(4, 1))
    rec("lstm", eqx.nn.LSTMCell(3, 4, key=k), _x(3), (_x(4, 1), _x(4, 2)))
    rec("dropout", eqx.nn.Dropout(0.3), np.ones(12, np.float32), key=jr.PRNGKey(3))
    mha = eqx.nn.MultiheadAttention(
        2,
        8,
        key_size=6,
        value_size=5,
        output_size=7,
        qk_size=3,
        vo_size=4,
        use_query_bias=True,
        use_output_bias=True,
        dropout_p=0.3,
        key=k,
    )
    mask = np.tril(np.ones((4, 5), bool))
    q, kk, v = _x((4, 8)), _x((5, 6), 1), _x((5, 5), 2)
    out["mha"] = {
        "params": leaves(mha),
        "out": [
            arr(mha(q, kk, v, mask, inference=True)),
            arr(
                mha(q, kk, v, np.stack([mask, ~mask | np.eye(4, 5, dtype=bool)]), key=jr.PRNGKey(5))
            ),
        ],
    }
    return out


def batchnorm():
    x1, x2 = _x((6, 3, 2, 2), 3) * 2 + 1, _x((6, 3, 2, 2), 4)
    out = {}
    for mode in ("ema", "batch"):
        bn, state = eqx.nn.make_with_state(eqx.nn.BatchNorm)(3, "b", momentum=0.9, mode=mode)
        call = jax.vmap(bn, in_axes=(0, None), out_axes=(0, None), axis_name="b")
        y1, state = call(x1, state)
        y2, state = call(x2, state)
        inf = jax.vmap(
            eqx.nn.inference_mode(bn), in_axes=(0, None), out_axes=(0, None), axis_name="b"
        )
        y3, _ = inf(x1, state)
        out[mode] = {
            "out": [arr(y1), arr(y2), arr(y3)],
            "state": [arr(s) for s in jax.tree_util.tree_leaves(state)],
        }
    return {"x1": arr(x1), "x2": arr(x2), "modes": out}


def serialised():
    model = eqx.nn.MLP(3, 2, 4, 1, key=jr.PRNGKey(11))
    buf = io.BytesIO()
    eqx.tree_serialise_leaves(buf, model)
    return base64.b64encode(buf.getvalue()).decode()


# ---- part 4: a small JAX + Optax + Equinox training script --------------------------------------


def data():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = (np.sin(x[:, :1] * 2) + x[:, 1:2] * x[:, 2:3]).astype(np.float32)
    return x, y


def train(steps=25):
    x, y = data()
    key = jr.PRNGKey(0)
    mkey, key = jr.split(key)
    k1, k2 = jr.split(mkey)
    model = eqx.nn.Sequential(
        [
            eqx.nn.Linear(4, 16, key=k1),
            eqx.nn.Lambda(jax.nn.tanh),
            eqx.nn.Dropout(0.1),
            eqx.nn.Linear(16, 1, key=k2),
        ]
    )
    opt = optax.adam(1e-2)
    opt_state = opt.init(eqx.filter(model, eqx.is_inexact_array))

    def loss_fn(model, x, y, key):
        keys = jr.split(key, x.shape[0])
        pred = jax.vmap(lambda xi, ki: model(xi, key=ki))(x, keys)
        return jnp.mean((pred - y) ** 2)

    @eqx.filter_jit
    def step(model, opt_state, x, y, key):
        loss, grads = eqx.filter_value_and_grad(loss_fn)(model, x, y, key)
        updates, opt_state = opt.update(grads, opt_state, model)
        return eqx.apply_updates(model, updates), opt_state, loss

    losses = []
    for _ in range(steps):
        key, sub = jr.split(key)
        model, opt_state, loss = step(model, opt_state, x, y, sub)
        losses.append(float(loss))
    test = eqx.nn.inference_mode(model)
    return {"x": arr(x), "y": arr(y), "losses": losses, "final_pred": arr(jax.vmap(test)(x))}


SIGNATURE_NAMES = """Linear Identity MLP Sequential Lambda Conv Conv1d Conv2d Conv3d ConvTranspose
ConvTranspose1d ConvTranspose2d ConvTranspose3d Dropout Embedding LayerNorm GroupNorm RMSNorm
BatchNorm State StateIndex MultiheadAttention GRUCell LSTMCell""".split()
FUNCTION_NAMES = """filter_jit filter_grad filter_value_and_grad filter_vmap is_array is_array_like
is_inexact_array partition combine filter tree_at apply_updates tree_serialise_leaves
tree_deserialise_leaves field inference_mode make_with_state""".split()


def signatures():
    """Parameter names and kinds of Equinox's layer constructors, calls and functions."""
    import inspect

    def params(fn):
        return [[p.name, p.kind.name] for p in inspect.signature(fn).parameters.values()]

    out = {}
    for name in SIGNATURE_NAMES:
        cls = getattr(eqx.nn, name)
        out[f"nn.{name}.__init__"] = params(cls.__init__)
        if "__call__" in dir(cls) and name not in ("State", "StateIndex"):
            out[f"nn.{name}.__call__"] = params(cls.__call__)
    for name in FUNCTION_NAMES:
        fn = getattr(eqx, name, None) or getattr(eqx.nn, name)
        out[name] = params(fn)
    return out


def record():
    return {
        "layers": layers(),
        "batchnorm": batchnorm(),
        "serialised_mlp": serialised(),
        "train": train(),
        "signatures": signatures(),
    }


def main():
    jax.config.update("jax_threefry_partitionable", False)
    (HERE / "equinox_reference.json").write_text(json.dumps(record()))
    jax.config.update("jax_threefry_partitionable", True)
    (HERE / "equinox_reference_partitionable.json").write_text(json.dumps(record()))


if __name__ == "__main__":
    main()
