"""funcgrad.nn against numbers recorded from jax.nn 0.10.2 (tests/data/make_jax_nn_reference.py):
activations, initializers (same key -> same numbers), dot_product_attention."""

import json
import pathlib
import re

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn
from funcgrad.nn import initializers as init

DATA = pathlib.Path(__file__).parent / "data"
REF = json.loads((DATA / "jax_nn_reference.json").read_text())


def arr(d):
    return np.asarray(d["data"], dtype=d["dtype"]).reshape(d["shape"])


ACT = REF["activations"]
X, POS, M, WHERE = (arr(ACT[k]) for k in ("x", "pos", "m", "where"))
X, M, WHERE = fnp.asarray(X), fnp.asarray(M), fnp.asarray(WHERE)

CALLS = {
    "log1mexp": lambda: nn.log1mexp(fnp.asarray(POS)),
    "gelu_exact": lambda: nn.gelu(X, approximate=False),
    "celu_alpha": lambda: nn.celu(X, alpha=0.5),
    "elu_alpha": lambda: nn.elu(X, alpha=2.0),
    "leaky_relu_slope": lambda: nn.leaky_relu(X, negative_slope=0.2),
    "squareplus_b": lambda: nn.squareplus(X, b=1.0),
    "glu": lambda: nn.glu(M, axis=-1),
    "glu_axis0": lambda: nn.glu(M[:2], axis=0),
    "softmax": lambda: nn.softmax(M),
    "softmax_axis0": lambda: nn.softmax(M, axis=0),
    "softmax_where": lambda: nn.softmax(M, where=WHERE),
    "log_softmax": lambda: nn.log_softmax(M),
    "log_softmax_where": lambda: nn.log_softmax(M, where=WHERE),
    "standardize": lambda: nn.standardize(M),
    "standardize_stable_axis0": lambda: nn.standardize(M, axis=0, algorithm="stable"),
    "standardize_where": lambda: nn.standardize(M, where=WHERE),
    "logsumexp": lambda: nn.logsumexp(M, axis=1),
    "logsumexp_b": lambda: nn.logsumexp(M, axis=0, b=M[:1] + 3),
    "logmeanexp": lambda: nn.logmeanexp(M, axis=1),
    "logmeanexp_where": lambda: nn.logmeanexp(M, axis=1, where=WHERE, keepdims=True),
    "one_hot": lambda: nn.one_hot(fnp.array([0, 2, 1, 5]), 4),
    "one_hot_axis0_int": lambda: nn.one_hot(fnp.array([0, 2, 1, 5]), 3, axis=0, dtype=np.int32),
}


@pytest.mark.parametrize("name", sorted(ACT["values"]))
def test_activation_matches_jax(name):
    want = arr(ACT["values"][name])
    got = CALLS[name]() if name in CALLS else getattr(nn, name)(X)
    got = np.asarray(got)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6)


# block-scaled fp8/fp4 matmul helpers of jax.nn that funcgrad leaves out (no such dtypes)
NOT_PROVIDED = {"scaled_matmul", "scaled_dot_general", "get_scaled_dot_general_config"}
# JAX arguments funcgrad does not take: return_residual (the cuDNN softmax residual)
NOT_TAKEN = {"dot_product_attention": {"return_residual"}}


@pytest.mark.parametrize("name", sorted(REF["signatures"]))
def test_jax_nn_name_present_with_jax_signature(name):
    import inspect

    if name in NOT_PROVIDED:
        assert not hasattr(nn, name)
        return
    obj = nn
    for part in name.split("."):
        obj = getattr(obj, part)
    params = inspect.signature(obj).parameters
    want = [p for p in REF["signatures"][name] if p not in NOT_TAKEN.get(name, ())]
    assert list(params) == want


# ---- initializers -------------------------------------------------------------------------------

MAKERS = {
    "glorot_uniform": lambda: init.glorot_uniform(),
    "glorot_normal": lambda: init.glorot_normal(),
    "he_uniform": lambda: init.he_uniform(),
    "he_normal": lambda: init.he_normal(),
    "lecun_uniform": lambda: init.lecun_uniform(),
    "lecun_normal": lambda: init.lecun_normal(),
    "xavier_uniform_axes": lambda: init.xavier_uniform(in_axis=1, out_axis=0),
    "kaiming_normal_batch": lambda: init.kaiming_normal(batch_axis=0),
    "vs_fan_out_normal": lambda: init.variance_scaling(0.5, "fan_out", "normal"),
    "vs_fan_geo_avg_uniform": lambda: init.variance_scaling(3.0, "fan_geo_avg", "uniform"),
    "vs_multi_axes": lambda: init.variance_scaling(1.0, "fan_in", "normal", in_axis=(0, 1)),
    "normal": lambda: init.normal(0.5),
    "uniform": lambda: init.uniform(2.0),
    "truncated_normal": lambda: init.truncated_normal(1.5, lower=-1.0, upper=2.0),
    "orthogonal": lambda: init.orthogonal(2.0),
    "orthogonal_col0": lambda: init.orthogonal(column_axis=0),
    "delta_orthogonal": lambda: init.delta_orthogonal(),
    "constant": lambda: init.constant(0.25),
    "zeros": lambda: init.zeros,
    "ones": lambda: init.ones,
}

# funcgrad.random today matches JAX with jax_threefry_partitionable=False (recorded in
# jax_nn_reference.json); JAX 0.10's default (True) is jax_nn_init_partitionable.json, used
# when funcgrad's config has the flag set (the bit-exact partitionable stream).
PARTITIONABLE = bool(getattr(fg.config, "threefry_partitionable", False))
INIT_REF = (
    json.loads((DATA / "jax_nn_init_partitionable.json").read_text())
    if PARTITIONABLE
    else REF["initializers"]
)


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_initializer_same_key_same_numbers_as_jax(name):
    rec = INIT_REF[name]
    want = arr(rec["value"])
    got = np.asarray(MAKERS[name]()(fg.random.PRNGKey(42), tuple(rec["shape"]), np.float32))
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


def test_compute_fans_as_jax():
    fans = INIT_REF["_fans"]
    assert list(init.compute_fans((3, 3, 4, 8))) == fans["(3,3,4,8)"]
    assert list(init.compute_fans((2, 10, 20), batch_axis=0)) == fans["(2,10,20) batch 0"]


def test_initializer_errors_as_jax():
    key = fg.random.PRNGKey(0)
    with pytest.raises(ValueError, match="at least 2D"):
        init.he_normal()(key, (5,))
    with pytest.raises(ValueError, match="invalid mode"):
        init.variance_scaling(1.0, "fan_sum", "normal")(key, (2, 2))
    with pytest.raises(ValueError, match="requires at least a 2D"):
        init.orthogonal()(key, (3,))
    with pytest.raises(ValueError, match="3D, 4D or 5D"):
        init.delta_orthogonal()(key, (3, 3))
    with pytest.raises(ValueError, match="fan_in"):
        init.delta_orthogonal()(key, (3, 4, 2))


# ---- dot_product_attention ----------------------------------------------------------------------

ATT = REF["attention"]


def _kw(kw):
    return {k: (fnp.asarray(arr(v)) if isinstance(v, dict) else v) for k, v in kw.items()}


@pytest.mark.parametrize("name", sorted(k for k in ATT if not k.startswith("_")))
def test_dot_product_attention_matches_jax(name):
    case = ATT[name]
    args = [fnp.asarray(arr(a)) for a in case["args"]]
    kw = _kw(case["kw"])
    if "local_window_size" in kw and isinstance(kw["local_window_size"], list):
        kw["local_window_size"] = tuple(kw["local_window_size"])
    got = np.asarray(nn.dot_product_attention(*args, **kw))
    want = arr(case["out"])
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_dot_product_attention_under_jit_and_grad():
    case = ATT["bias_mask"]
    q, k, v, b, m = (fnp.asarray(arr(a)) for a in case["args"])
    f = lambda q, k, v: nn.dot_product_attention(q, k, v, b, m)
    np.testing.assert_allclose(fg.jit(f)(q, k, v), arr(case["out"]), rtol=1e-5, atol=1e-5)
    g = fg.grad(lambda q: fnp.sum(f(q, k, v) ** 2))(q)
    assert g.shape == q.shape and np.all(np.isfinite(np.asarray(g)))


def test_dot_product_attention_errors_as_jax():
    rng = np.random.default_rng(0)
    q = fnp.asarray(rng.standard_normal((2, 3, 4, 8)), np.float32)
    k = fnp.asarray(rng.standard_normal((2, 5, 2, 8)), np.float32)
    q2 = fnp.asarray(rng.standard_normal((4, 8)), np.float32)
    mask = fnp.ones((2, 1, 3, 5))
    err = ATT["_errors"]
    cases = {
        "two_d_other_length": lambda: nn.dot_product_attention(q2, q2[:3], q2[:3]),
        "float_mask": lambda: nn.dot_product_attention(q, k, k, mask=mask),
        "heads_not_multiple": lambda: nn.dot_product_attention(q[:, :, :3], k, k),
        "value_shape": lambda: nn.dot_product_attention(q, k, k[:, :4]),
    }
    for name, call in cases.items():
        with pytest.raises(ValueError, match=re.escape(err[name])):
            call()
    with pytest.raises(NotImplementedError, match="cudnn"):
        nn.dot_product_attention(q, k, k, implementation="cudnn")
