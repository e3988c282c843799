"""fg.save/fg.load with .safetensors files, and the PyTorch state_dict name mapping
(fg.to_state_dict / fg.from_state_dict). PyTorch parts run when torch is installed."""

import collections
import sys

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp

safetensors = pytest.importorskip("safetensors")
from safetensors import safe_open  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402

Pair = collections.namedtuple("Pair", "a b")


def rich_tree():
    return {
        "model": fg.nn.MLP(4, 2, width_size=3, depth=1, key=fg.random.key(0)),
        "step": 7,
        "lr": 1e-3,
        "opt": "adam",
        "half": fnp.array([1.5, -2.0, 3.140625], dtype=fnp.bfloat16),
        "pair": Pair(np.arange(12, dtype=np.int32).reshape(3, 4)[:, ::2], None),
        "scalar": [np.float32(2.5), np.array(True)],
        "big_endian": np.arange(3, dtype=">f4"),
    }


def assert_same(a, b):
    la, ta = fg.tree_util.tree_flatten(a)
    lb, tb = fg.tree_util.tree_flatten(b)
    assert ta == tb
    for x, y in zip(la, lb):
        assert type(x) is type(y) or hasattr(x, "shape")
        if hasattr(x, "shape"):
            assert x.dtype.name == y.dtype.name and x.shape == y.shape  # byte order aside
            np.testing.assert_array_equal(np.asarray(x, np.float64), np.asarray(y, np.float64))
        else:
            assert x == y


def test_round_trip_with_and_without_template(tmp_path):
    tree = rich_tree()
    path = tmp_path / "ckpt.safetensors"
    fg.save(path, tree)
    like = fg.load(path, like=tree)
    assert type(like["model"]) is fg.nn.MLP and like["pair"].b is None
    assert like["half"].dtype == fnp.bfloat16
    np.testing.assert_array_equal(like["pair"].a, [[0, 2], [4, 6], [8, 10]])  # strided input
    np.testing.assert_array_equal(like["big_endian"], [0.0, 1.0, 2.0])
    assert_same(like, tree)
    plain = fg.load(path)  # containers rebuilt from the metadata, no template
    assert plain["step"] == 7 and plain["opt"] == "adam" and plain["lr"] == 1e-3
    assert isinstance(plain["pair"], tuple) and plain["pair"].b is None
    layers = plain["model"]["[0]"]  # a custom node comes back as a dict, as from .npz files
    np.testing.assert_array_equal(layers[0][".weight"], tree["model"].layers[0].weight)


def test_the_file_is_plain_safetensors_named_like_a_state_dict(tmp_path):
    path = tmp_path / "m.safetensors"
    fg.save(path, rich_tree())
    with safe_open(str(path), framework="numpy") as f:
        names = set(f.keys())
        assert f.get_slice("half").get_dtype() == "BF16"  # a real bfloat16 tensor
        assert f.metadata()["format"] == "funcgrad.checkpoint"
    assert names == {
        "model.layers.0.weight",
        "model.layers.0.bias",
        "model.layers.1.weight",
        "model.layers.1.bias",
        "half",
        "pair.a",
        "scalar.0",
        "scalar.1",
        "big_endian",
    }
    raw = safetensors.deserialize(path.read_bytes())
    bits = dict(raw)["half"]["data"]
    np.testing.assert_array_equal(
        np.frombuffer(bytes(bits), np.uint16), [0x3FC0, 0xC000, 0x4049]
    )  # 1.5, -2.0, 3.140625 as bfloat16


def test_format_argument_and_suffix(tmp_path):
    tree = {"w": np.ones((2, 2), np.float32)}
    fg.save(tmp_path / "a.bin", tree, format="safetensors")
    assert load_file(str(tmp_path / "a.bin"))["w"].shape == (2, 2)
    np.testing.assert_array_equal(fg.load(tmp_path / "a.bin", format="safetensors")["w"], 1.0)
    fg.save(tmp_path / "b.safetensors", tree, format="npz")  # explicit beats the suffix
    assert fg.load(tmp_path / "b.safetensors", format="npz")["w"].shape == (2, 2)
    with pytest.raises(ValueError, match="format"):
        fg.save(tmp_path / "c", tree, format="pickle")


def test_foreign_file_loads_flat_or_by_name(tmp_path):
    path = str(tmp_path / "torch_like.safetensors")
    rng = np.random.default_rng(0)
    sd = {
        "layers.0.weight": rng.standard_normal((3, 4)).astype(np.float32),
        "layers.0.bias": np.zeros(3, np.float32),
        "layers.1.weight": rng.standard_normal((2, 3)).astype(np.float32),
        "layers.1.bias": np.ones(2, np.float32),
    }
    save_file(sd, path)  # no funcgrad metadata: a state_dict
    flat = fg.load(path)
    assert sorted(flat) == sorted(sd) and isinstance(flat["layers.0.bias"], fg.Array)
    mlp = fg.nn.MLP(4, 2, width_size=3, depth=1, key=fg.random.key(1))
    loaded = fg.load(path, like=mlp)
    x = np.arange(4, dtype=np.float32)
    want = sd["layers.1.weight"] @ np.maximum(sd["layers.0.weight"] @ x, 0) + 1
    np.testing.assert_allclose(loaded(x), want, rtol=1e-6)


def test_corrupt_files_are_value_errors(tmp_path):
    path = tmp_path / "x.safetensors"
    fg.save(path, {"w": np.ones(3, np.float32)})
    data = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) - 5])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        fg.load(tmp_path / "cut.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00not json")
    with pytest.raises(ValueError, match="corrupt or truncated"):
        fg.load(tmp_path / "junk.safetensors")
    bad = {"w": np.ones(3, np.float32)}
    save_file(bad, str(tmp_path / "meta.safetensors"), metadata={"funcgrad": "{not json"})
    with pytest.raises(ValueError, match="bad funcgrad metadata"):
        fg.load(tmp_path / "meta.safetensors")


def test_written_atomically(tmp_path):
    path = tmp_path / "m.safetensors"
    fg.save(path, {"w": np.zeros(2, np.float32)})
    fg.save(path, {"w": np.ones(2, np.float32)})
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]
    np.testing.assert_array_equal(fg.load(path)["w"], [1.0, 1.0])


def test_missing_package_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    with pytest.raises(ImportError, match=r"pip install \"funcgrad\[safetensors\]\""):
        fg.save(tmp_path / "m.safetensors", {"w": np.ones(2)})
    with pytest.raises(ImportError, match=r"funcgrad\[safetensors\]"):
        fg.load(tmp_path / "m.safetensors")


# ---- state_dict names -------------------------------------------------------------------------


def test_to_state_dict_names_and_clashes():
    conv = fg.nn.Conv2d(3, 8, 3, key=fg.random.key(0))
    sd = fg.to_state_dict({"features": [conv], "head": {"w": np.zeros(2)}})
    assert {k: tuple(v.shape) for k, v in sd.items()} == {
        "features.0.weight": (8, 3, 3, 3),  # OIHW, as torch.nn.Conv2d
        "features.0.bias": (8,),
        "head.w": (2,),
    }
    with pytest.raises(ValueError, match="same dotted name"):
        fg.to_state_dict({"a.b": np.zeros(1), "a": {"b": np.zeros(1)}})


def test_from_state_dict_checks_names_shapes_and_strictness():
    lin = fg.nn.Linear(3, 2, key=fg.random.key(0))
    w, b = np.ones((2, 3), np.float32), np.zeros(2, np.float32)
    with pytest.raises(ValueError, match=r"missing from the state_dict: \['bias'\]"):
        fg.from_state_dict({"weight": w}, lin)
    extra = {"weight": w, "bias": b, "num_batches_tracked": np.array(3)}
    with pytest.raises(ValueError, match="num_batches_tracked.*strict=False"):
        fg.from_state_dict(extra, lin)
    assert fg.from_state_dict(extra, lin, strict=False).weight.shape == (2, 3)
    with pytest.raises(ValueError, match="transposed"):
        fg.from_state_dict({"weight": w.T, "bias": b}, lin)
    with pytest.raises(ValueError, match="'bias'.*int32"):
        fg.from_state_dict({"weight": w, "bias": np.zeros(2, np.int32)}, lin)


def test_rename_by_prefix():
    model = {"encoder": fg.nn.Linear(2, 2, key=fg.random.key(0))}
    sd = {"enc.0.weight": np.eye(2, dtype=np.float32), "enc.0.bias": np.ones(2, np.float32)}
    out = fg.from_state_dict(sd, model, rename={"encoder": "enc.0"})
    np.testing.assert_array_equal(out["encoder"](np.array([2.0, 3.0], np.float32)), [3.0, 4.0])
    seq = fg.nn.Sequential([fg.nn.Linear(2, 2, key=fg.random.key(1))])
    sd = {"0.weight": np.eye(2, dtype=np.float32), "0.bias": np.zeros(2, np.float32)}
    assert fg.from_state_dict(sd, seq, rename={"layers": ""}).layers[0].weight.shape == (2, 2)
    named = fg.from_state_dict({"w.x": np.ones(1)}, {"a": {"x": np.ones(1)}}, rename={"a": "w"})
    np.testing.assert_array_equal(named["a"]["x"], [1.0])


# ---- PyTorch ----------------------------------------------------------------------------------


def torch_and_funcgrad_models():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 6 * 6, 10),
    )
    template = {
        "conv": fg.nn.Conv2d(1, 4, 3, key=fg.random.key(0)),
        "fc": fg.nn.Linear(4 * 6 * 6, 10, key=fg.random.key(1)),
    }
    return torch, net, template


def forward(p, x):
    h = fnp.maximum(p["conv"](x), 0.0)
    return p["fc"](fnp.reshape(h, (-1,)))


def test_a_pytorch_state_dict_saved_with_safetensors_loads_by_name(tmp_path):
    torch, net, template = torch_and_funcgrad_models()
    from safetensors.torch import save_file as torch_save_file

    path = str(tmp_path / "net.safetensors")
    torch_save_file(net.state_dict(), path)
    params = fg.from_state_dict(fg.load(path), template, rename={"conv": "0", "fc": "3"})
    x = np.random.default_rng(0).standard_normal((1, 8, 8)).astype(np.float32)
    want = net(torch.from_numpy(x[None]))[0].detach().numpy()
    np.testing.assert_allclose(forward(params, x), want, rtol=1e-5, atol=1e-5)


def test_funcgrad_params_load_into_pytorch(tmp_path):
    torch, net, template = torch_and_funcgrad_models()
    from safetensors.torch import load_file as torch_load_file

    path = str(tmp_path / "fg.safetensors")
    fg.save(path, fg.to_state_dict({"0": template["conv"], "3": template["fc"]}))
    net.load_state_dict(torch_load_file(path))
    x = np.random.default_rng(1).standard_normal((1, 8, 8)).astype(np.float32)
    want = net(torch.from_numpy(x[None]))[0].detach().numpy()
    np.testing.assert_allclose(forward(template, x), want, rtol=1e-5, atol=1e-5)


def test_from_state_dict_copies_torch_tensors():
    torch, net, template = torch_and_funcgrad_models()
    sd = net.state_dict()
    params = fg.from_state_dict(sd, template, rename={"conv": "0", "fc": "3"})
    before = np.array(params["fc"].bias)
    with torch.no_grad():
        net[3].bias.add_(1.0)  # PyTorch keeps training in place
    np.testing.assert_array_equal(params["fc"].bias, before)
