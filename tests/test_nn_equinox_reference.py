"""funcgrad.nn against numbers recorded from Equinox 0.13 (tests/data/make_equinox_reference.py):
the same key gives the same parameters and outputs; state, serialisation as Equinox.

The data file is recorded with ``jax_threefry_partitionable=False``, the stream funcgrad.random
matches today; ``equinox_reference_partitionable.json`` holds JAX 0.10's default stream."""

import base64
import io
import json
import pathlib

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn

# recorded with jax_threefry_partitionable=False, the stream funcgrad.random matches today;
# equinox_reference_partitionable.json (JAX 0.10's default) when funcgrad's flag is set
_PARTITIONABLE = bool(getattr(fg.config, "threefry_partitionable", False))
_FILE = "equinox_reference_partitionable.json" if _PARTITIONABLE else "equinox_reference.json"
REF = json.loads((pathlib.Path(__file__).parent / "data" / _FILE).read_text())
LAYERS = REF["layers"]


def arr(d):
    return np.asarray(d["data"], dtype=d["dtype"]).reshape(d["shape"])


def _x(shape, seed=0):
    return fnp.asarray(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


K = fg.random.PRNGKey(7)
MHA_KW = dict(key_size=6, value_size=5, output_size=7, qk_size=3, vo_size=4)
MHA_KW.update(use_query_bias=True, use_output_bias=True, dropout_p=0.3)
MASK = np.tril(np.ones((4, 5), bool))
MASK2 = np.stack([MASK, ~MASK | np.eye(4, 5, dtype=bool)])
QKV = (_x((4, 8)), _x((5, 6), 1), _x((5, 5), 2))

CASES = {
    "linear": (lambda: nn.Linear(3, 4, key=K), lambda m: [m(_x(3))]),
    "linear_scalar_in": (lambda: nn.Linear("scalar", 2, key=K), lambda m: [m(fnp.asarray(0.5))]),
    "linear_scalar_out": (
        lambda: nn.Linear(3, "scalar", use_bias=False, key=K),
        lambda m: [m(_x(3))],
    ),
    "mlp": (lambda: nn.MLP(3, 2, 5, 2, activation=fnp.tanh, key=K), lambda m: [m(_x(3))]),
    "mlp_depth0": (lambda: nn.MLP(3, 2, 5, 0, key=K), lambda m: [m(_x(3))]),
    "conv2d": (lambda: nn.Conv2d(2, 4, 3, padding=1, key=K), lambda m: [m(_x((2, 5, 5)))]),
    "conv1d_groups": (
        lambda: nn.Conv1d(4, 6, 3, stride=2, groups=2, key=K),
        lambda m: [m(_x((4, 9)))],
    ),
    "conv_transpose2d": (
        lambda: nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2, key=K),
        lambda m: [m(_x((4, 3, 3)))],
    ),
    "embedding": (
        lambda: nn.Embedding(6, 3, key=K),
        lambda m: [m(fnp.asarray(i)) for i in (3, 9, -1)],
    ),
    "layernorm": (lambda: nn.LayerNorm((2, 3)), lambda m: [m(_x((2, 3)) * 3 + 1)]),
    "rmsnorm": (lambda: nn.RMSNorm(4), lambda m: [m(_x(4) * 2)]),
    "groupnorm": (lambda: nn.GroupNorm(2, 4), lambda m: [m(_x((4, 3)) + 2)]),
    "gru": (lambda: nn.GRUCell(3, 4, key=K), lambda m: [m(_x(3), _x(4, 1))]),
    "lstm": (lambda: nn.LSTMCell(3, 4, key=K), lambda m: list(m(_x(3), (_x(4, 1), _x(4, 2))))),
    "dropout": (
        lambda: nn.Dropout(0.3),
        lambda m: [m(fnp.ones(12), key=fg.random.PRNGKey(3))],
    ),
    "mha": (
        lambda: nn.MultiheadAttention(2, 8, **MHA_KW, key=K),
        lambda m: [
            m(*QKV, fnp.asarray(MASK), inference=True),
            m(*QKV, fnp.asarray(MASK2), key=fg.random.PRNGKey(5)),
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_same_key_same_parameters_and_outputs_as_equinox(name):
    make, call = CASES[name]
    model = make()
    rec = LAYERS[name]
    params = fg.tree.leaves(nn.filter(model, nn.is_array))
    assert len(params) == len(rec["params"])
    for got, want in zip(params, rec["params"]):
        want = arr(want)
        # (Equinox's conv bias is (C, 1, ..., 1); funcgrad's is (C,): same numbers)
        assert np.asarray(got).size == want.size
        np.testing.assert_allclose(np.asarray(got).ravel(), want.ravel(), rtol=1e-6, atol=1e-7)
    outs = call(model)
    assert len(outs) == len(rec["out"])
    for got, want in zip(outs, rec["out"]):
        want = arr(want)
        assert np.shape(got) == want.shape
        np.testing.assert_allclose(np.asarray(got), want, rtol=2e-5, atol=2e-6)


BN = REF["batchnorm"]


@pytest.mark.parametrize("mode", ["ema", "batch"])
def test_batchnorm_matches_equinox(mode):
    # Equinox calls it per example under vmap(axis_name=...); funcgrad (axis_name=None)
    # takes the whole batch: the same numbers
    x1, x2 = fnp.asarray(arr(BN["x1"])), fnp.asarray(arr(BN["x2"]))
    bn, state = nn.make_with_state(nn.BatchNorm)(3, None, momentum=0.9, mode=mode)
    y1, state = bn(x1, state)
    y2, state = bn(x2, state)
    y3, state = nn.inference_mode(bn)(x1, state)
    rec = BN["modes"][mode]
    for got, want in zip((y1, y2, y3), rec["out"]):
        np.testing.assert_allclose(np.asarray(got), arr(want), rtol=1e-4, atol=1e-5)
    got_state = fg.tree.leaves(state)
    assert len(got_state) == len(rec["state"])
    for got, want in zip(got_state, rec["state"]):
        np.testing.assert_allclose(np.asarray(got), arr(want), rtol=1e-5, atol=1e-6)


def test_deserialise_equinox_file_and_serialise_identically():
    raw = base64.b64decode(REF["serialised_mlp"])
    like = nn.MLP(3, 2, 4, 1, key=fg.random.PRNGKey(0))
    model = nn.tree_deserialise_leaves(io.BytesIO(raw), like)
    same_key = nn.MLP(3, 2, 4, 1, key=fg.random.PRNGKey(11))
    for a, b in zip(fg.tree.leaves(model), fg.tree.leaves(same_key)):
        # (XLA may fuse uniform's scale-and-shift into an FMA: an ulp apart at most)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
    buf = io.BytesIO()
    nn.tree_serialise_leaves(buf, model)
    assert buf.getvalue() == raw  # byte for byte Equinox's stream of .npy records


def test_deserialise_checks_shapes_and_never_unpickles(tmp_path):
    model = nn.Linear(3, 2, key=K)
    nn.tree_serialise_leaves(tmp_path / "lin", model)
    assert (tmp_path / "lin.eqx").exists()
    back = nn.tree_deserialise_leaves(tmp_path / "lin", nn.Linear(3, 2, key=fg.random.PRNGKey(1)))
    np.testing.assert_array_equal(np.asarray(back.weight), np.asarray(model.weight))
    with pytest.raises(RuntimeError, match="changed"):
        nn.tree_deserialise_leaves(tmp_path / "lin.eqx", nn.Linear(2, 3, key=K))
    buf = io.BytesIO()
    np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
    buf.seek(0)
    with pytest.raises(ValueError, match="pickle"):
        nn.tree_deserialise_leaves(buf, fnp.zeros(1))


# ---- signatures ---------------------------------------------------------------------------------

# Equinox parameters funcgrad does not take: deprecated aliases and **kwargs passed on to jax
NOT_TAKEN = {"deterministic", "elementwise_affine", "jitkwargs", "gradkwargs", "vmapkwargs"}
POSITIONAL = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")


def _resolve(name):
    obj = nn
    for part in name.split(".")[1:] if name.startswith("nn.") else [name]:
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("name", sorted(REF["signatures"]))
def test_equinox_signature(name):
    import inspect

    want = [(n, k) for n, k in REF["signatures"][name] if n not in NOT_TAKEN]
    got = inspect.signature(_resolve(name)).parameters
    # every Equinox parameter is accepted under its name ...
    assert [n for n, _ in want if n not in got] == []
    # ... and the positional ones are in Equinox's order (extensions come after, by keyword)
    want_pos = [n for n, k in want if k in POSITIONAL]
    got_pos = [n for n, p in got.items() if p.kind.name in POSITIONAL]
    assert got_pos[: len(want_pos)] == want_pos
    for n, k in want:
        if k == "KEYWORD_ONLY":
            assert got[n].kind.name in ("KEYWORD_ONLY", "POSITIONAL_OR_KEYWORD")
