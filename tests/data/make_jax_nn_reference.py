"""Records jax.nn reference values (activations, initializers, dot_product_attention) from
jax 0.10.2 into small JSON files that tests/test_nn_jax_reference.py reads. Run with the
reference virtualenv (never a test dependency):

    /tmp/jaxenv/bin/python tests/data/make_jax_nn_reference.py

Writes ``jax_nn_reference.json`` (no PRNG; initializers with ``jax_threefry_partitionable``
False, the stream funcgrad.random matches today) and ``jax_nn_init_partitionable.json``
(initializers with JAX 0.10's default, ``jax_threefry_partitionable=True``).
"""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

HERE = pathlib.Path(__file__).parent
jax.config.update("jax_enable_x64", False)


def arr(x):
    x = np.asarray(x)
    if x.dtype == bool:
        return {"dtype": "bool", "shape": list(x.shape), "data": x.ravel().tolist()}
    return {"dtype": str(x.dtype), "shape": list(x.shape), "data": x.ravel().tolist()}


X = np.linspace(-3.0, 3.0, 13, dtype=np.float32)
POS = np.linspace(0.1, 3.0, 7, dtype=np.float32)
M = np.arange(12, dtype=np.float32).reshape(3, 4) / 3 - 2
WHERE = np.array([[True, False, True, True]] * 3)

ELEMENTWISE = """celu elu gelu hard_sigmoid hard_silu hard_swish hard_tanh identity leaky_relu
log_sigmoid mish relu relu6 selu sigmoid silu soft_sign softplus sparse_plus sparse_sigmoid
squareplus swish tanh""".split()


def activations():
    n = jax.nn
    out = {name: arr(getattr(n, name)(X)) for name in ELEMENTWISE}
    out["log1mexp"] = arr(n.log1mexp(POS))
    out["gelu_exact"] = arr(n.gelu(X, approximate=False))
    out["celu_alpha"] = arr(n.celu(X, alpha=0.5))
    out["elu_alpha"] = arr(n.elu(X, alpha=2.0))
    out["leaky_relu_slope"] = arr(n.leaky_relu(X, negative_slope=0.2))
    out["squareplus_b"] = arr(n.squareplus(X, b=1.0))
    out["glu"] = arr(n.glu(M, axis=-1))
    out["glu_axis0"] = arr(n.glu(M[:2], axis=0))
    out["softmax"] = arr(n.softmax(M))
    out["softmax_axis0"] = arr(n.softmax(M, axis=0))
    out["softmax_where"] = arr(n.softmax(M, where=WHERE))
    out["log_softmax"] = arr(n.log_softmax(M))
    out["log_softmax_where"] = arr(n.log_softmax(M, where=WHERE))
    out["standardize"] = arr(n.standardize(M))
    out["standardize_stable_axis0"] = arr(n.standardize(M, axis=0, algorithm="stable"))
    out["standardize_where"] = arr(n.standardize(M, where=WHERE))
    out["logsumexp"] = arr(n.logsumexp(M, axis=1))
    out["logsumexp_b"] = arr(n.logsumexp(M, axis=0, b=M[:1] + 3))
    out["logmeanexp"] = arr(n.logmeanexp(M, axis=1))
    out["logmeanexp_where"] = arr(n.logmeanexp(M, axis=1, where=WHERE, keepdims=True))
    idx = np.array([0, 2, 1, 5])
    out["one_hot"] = arr(n.one_hot(idx, 4))
    out["one_hot_axis0_int"] = arr(n.one_hot(idx, 3, axis=0, dtype=jnp.int32))
    return {"x": arr(X), "pos": arr(POS), "m": arr(M), "where": arr(WHERE), "values": out}


INITS = {
    "glorot_uniform": lambda i: i.glorot_uniform(),
    "glorot_normal": lambda i: i.glorot_normal(),
    "he_uniform": lambda i: i.he_uniform(),
    "he_normal": lambda i: i.he_normal(),
    "lecun_uniform": lambda i: i.lecun_uniform(),
    "lecun_normal": lambda i: i.lecun_normal(),
    "xavier_uniform_axes": lambda i: i.xavier_uniform(in_axis=1, out_axis=0),
    "kaiming_normal_batch": lambda i: i.kaiming_normal(batch_axis=0),
    "vs_fan_out_normal": lambda i: i.variance_scaling(0.5, "fan_out", "normal"),
    "vs_fan_geo_avg_uniform": lambda i: i.variance_scaling(3.0, "fan_geo_avg", "uniform"),
    "vs_multi_axes": lambda i: i.variance_scaling(1.0, "fan_in", "normal", in_axis=(0, 1)),
    "normal": lambda i: i.normal(0.5),
    "uniform": lambda i: i.uniform(2.0),
    "truncated_normal": lambda i: i.truncated_normal(1.5, lower=-1.0, upper=2.0),
    "orthogonal": lambda i: i.orthogonal(2.0),
    "orthogonal_col0": lambda i: i.orthogonal(column_axis=0),
    "delta_orthogonal": lambda i: i.delta_orthogonal(),
    "constant": lambda i: i.constant(0.25),
}
SHAPES = {"vs_multi_axes": (2, 3, 4), "kaiming_normal_batch": (2, 3, 4)}
SHAPES.update({"delta_orthogonal": (3, 3, 2, 4), "orthogonal": (3, 2, 5)})


def initializers():
    i = jax.nn.initializers
    key = jax.random.PRNGKey(42)
    out = {}
    for name, make in INITS.items():
        shape = SHAPES.get(name, (4, 6))
        out[name] = {"shape": list(shape), "value": arr(make(i)(key, shape, jnp.float32))}
    out["zeros"] = {"shape": [2, 3], "value": arr(i.zeros(key, (2, 3)))}
    out["ones"] = {"shape": [3], "value": arr(i.ones(key, (3,)))}
    out["_fans"] = {
        "(3,3,4,8)": list(jax._src.nn.initializers._compute_fans((3, 3, 4, 8))),
        "(2,10,20) batch 0": list(
            jax._src.nn.initializers._compute_fans((2, 10, 20), batch_axis=0)
        ),
    }
    return out


def _inputs(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


def attention():
    rng = np.random.default_rng(0)
    dpa = jax.nn.dot_product_attention
    q, k, v = (_inputs(rng, s) for s in [(2, 3, 4, 8), (2, 5, 2, 8), (2, 5, 2, 8)])
    bias = _inputs(rng, (1, 4, 3, 5))
    mask = rng.random((2, 1, 3, 5)) > 0.3
    q3, k3, v3 = q[0], k[0], v[0]
    q2 = _inputs(rng, (4, 8))
    cases = {
        "gqa": dict(args=(q, k, v), kw={}),
        "bias_mask": dict(args=(q, k, v, bias, mask), kw={}),
        "bias_3d": dict(args=(q, k, v, bias[0]), kw={}),
        "causal_scale": dict(args=(q, k, v), kw={"is_causal": True, "scale": 0.3}),
        "seq_lengths": dict(
            args=(q, k, v),
            kw={
                "query_seq_lengths": np.array([2, 3], np.int32),
                "key_value_seq_lengths": np.array([4, 1], np.int32),
            },
        ),
        "window_int": dict(args=(q, k, v), kw={"local_window_size": 1}),
        "window_pair": dict(args=(q, k, v), kw={"local_window_size": (2, 0)}),
        "three_d": dict(args=(q3, k3, v3), kw={"is_causal": True}),
        "two_d_same": dict(args=(q2, q2, q2), kw={}),
    }
    out = {}
    for name, c in cases.items():
        res = dpa(*c["args"], **c["kw"])
        kw = {k_: (arr(v_) if isinstance(v_, np.ndarray) else v_) for k_, v_ in c["kw"].items()}
        out[name] = {"args": [arr(a) for a in c["args"]], "kw": kw, "out": arr(res)}
    errors = {}
    for name, args, kw in [
        ("two_d_other_length", (q2, q2[:3], q2[:3]), {}),
        ("float_mask", (q, k, v), {"mask": mask.astype(np.float32)}),
        ("heads_not_multiple", (q[:, :, :3], k, v), {}),
        ("value_shape", (q, k, v[:, :4]), {}),
    ]:
        try:
            dpa(*args, **kw)
        except ValueError as e:
            errors[name] = str(e)
    out["_errors"] = errors
    return out


def signatures():
    """Parameter names (in order) of every public jax.nn and jax.nn.initializers function."""
    import inspect

    out = {}
    for prefix, mod in (("", jax.nn), ("initializers.", jax.nn.initializers)):
        for name in sorted(n for n in dir(mod) if not n.startswith("_")):
            obj = getattr(mod, name)
            if callable(obj) and not isinstance(obj, type) and name != "Initializer":
                params = inspect.signature(obj).parameters
                out[prefix + name] = [p for p in params if p != "out_sharding"]
    return out


def main():
    jax.config.update("jax_threefry_partitionable", False)
    ref = {"activations": activations(), "attention": attention(), "initializers": initializers()}
    ref["signatures"] = signatures()
    (HERE / "jax_nn_reference.json").write_text(json.dumps(ref))
    jax.config.update("jax_threefry_partitionable", True)
    (HERE / "jax_nn_init_partitionable.json").write_text(json.dumps(initializers()))


if __name__ == "__main__":
    main()
