"""Tests for funcgrad._src.checkpoint: save/load round trips, validation, corruption."""

import collections
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from funcgrad._src import checkpoint
from funcgrad._src.checkpoint import FORMAT_VERSION, load, save
from funcgrad.tree_util import register_dataclass, tree_leaves, tree_structure

Point = collections.namedtuple("Point", ["x", "y"])


def _np(x):
    return np.asarray(x)


def _tree():
    return {
        "params": {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.zeros(3, np.float64)},
        "layers": [np.int32(4), (np.ones((1,), np.int8), np.array(True))],
        "pt": Point(np.float16(1.5), np.arange(3, dtype=np.uint16)),
        "step": 12,
        "lr": 0.5,
        "flag": False,
        "name": "adam",
        "nothing": None,
        # int keys in a dict of their own: keys of mixed types do not sort (an error, as JAX)
        "by_id": {3: np.array([1.0, 2.0], np.float32), 1: np.int32(7)},
    }


def _assert_same(a, b):
    la, lb = tree_leaves(a), tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        if isinstance(x, (bool, int, float, str)):
            assert type(y) is type(x) and y == x
        else:
            xa, ya = _np(x), _np(y)
            # loaded leaves are funcgrad arrays: 64-bit types become 32-bit unless x64 is on
            from funcgrad._src.dtypes import canonicalize

            assert xa.shape == ya.shape and canonicalize(xa.dtype) == ya.dtype
            np.testing.assert_array_equal(xa, ya)


def test_round_trip_without_template(tmp_path):
    p = tmp_path / "ck.npz"
    tree = _tree()
    save(p, tree)
    out = load(p)
    _assert_same(tree, out)
    assert set(out) == set(tree) and out["nothing"] is None
    assert isinstance(out["layers"], list) and isinstance(out["layers"][1], tuple)
    assert out["pt"]._fields == ("x", "y") and type(out["pt"]).__name__ == "Point"
    assert set(out["by_id"]) == {1, 3}  # int dict keys round-trip
    assert out["step"] == 12 and out["name"] == "adam" and out["flag"] is False


def test_round_trip_with_template_keeps_types(tmp_path):
    p = tmp_path / "ck.npz"
    tree = _tree()
    save(p, tree)
    out = load(p, like=tree)
    assert tree_structure(out) == tree_structure(tree)
    assert type(out["pt"]) is Point
    _assert_same(tree, out)


def test_registered_dataclass_round_trip(tmp_path):
    import dataclasses

    @register_dataclass
    @dataclasses.dataclass
    class State:
        w: np.ndarray
        count: int

    p = tmp_path / "s.npz"
    st = State(np.ones(2, np.float32), 5)
    save(p, st)
    out = load(p, like=State(np.zeros(2, np.float32), 0))
    assert isinstance(out, State) and out.count == 5
    np.testing.assert_array_equal(_np(out.w), st.w)
    assert load(p)[".count"] == 5  # no template: a dict


def test_file_format_is_documented_npz(tmp_path):
    p = tmp_path / "ck.npz"
    save(p, {"a": np.ones(2, np.float32), "n": 3})
    with np.load(p, allow_pickle=False) as z:
        assert sorted(z.files) == ["__structure__", "leaf_0"]
        meta = json.loads(z["__structure__"].tobytes().decode())
    assert meta["version"] == FORMAT_VERSION
    assert meta["leaves"][0] == {
        "path": "['a']",
        "kind": "array",
        "name": "leaf_0",
        "shape": [2],
        "dtype": "<f4",
    }
    assert meta["leaves"][1] == {"path": "['n']", "kind": "value", "value": 3}


def test_shape_mismatch_names_path_and_shapes(tmp_path):
    p = tmp_path / "ck.npz"
    save(p, {"enc": {"w": np.zeros((3, 4), np.float32)}})
    with pytest.raises(ValueError, match=r"\['enc'\]\['w'\].*\(3, 4\).*\(4, 3\)"):
        load(p, like={"enc": {"w": np.zeros((4, 3), np.float32)}})
    with pytest.raises(ValueError, match=r"\['enc'\]\['w'\].*float32.*float64"):
        load(p, like={"enc": {"w": np.zeros((3, 4), np.float64)}})


def test_structure_mismatch_names_paths(tmp_path):
    p = tmp_path / "ck.npz"
    save(p, {"a": np.zeros(2), "b": np.zeros(2)})
    with pytest.raises(ValueError, match=r"missing from the file \[\"\['c'\]\"\]"):
        load(p, like={"a": np.zeros(2), "c": np.zeros(2)})
    with pytest.raises(ValueError, match=r"\['b'\]"):
        load(p, like={"a": np.zeros(2)})
    with pytest.raises(ValueError, match="Python int"):
        load(p, like={"a": np.zeros(2), "b": 1})


def test_unsupported_leaves(tmp_path):
    with pytest.raises(TypeError, match=r"\['f'\].*object"):
        save(tmp_path / "x.npz", {"f": object()})
    with pytest.raises(TypeError, match="dtype object"):
        save(tmp_path / "x.npz", {"f": np.array([1, "a", None], dtype=object)})
    assert os.listdir(tmp_path) == []


def test_truncated_file_is_a_clear_error(tmp_path):
    p = tmp_path / "ck.npz"
    save(p, _tree())
    data = p.read_bytes()
    for cut in (len(data) - 1, len(data) // 2, 10, 0):
        p.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="is corrupt or truncated"):
            load(p)


def test_flipped_bytes_and_garbage(tmp_path):
    p = tmp_path / "ck.npz"
    save(p, {"w": np.arange(1000, dtype=np.float32)})
    data = bytearray(p.read_bytes())
    for i in range(100, len(data), 997):  # damage array payload (CRC catches)
        data[i] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt or truncated"):
        load(p)
    rng = np.random.default_rng(0)
    for prefix in (b"", b"PK\x03\x04", b"\x93NUMPY"):
        p.write_bytes(prefix + rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
        with pytest.raises(ValueError, match="corrupt or truncated"):
            load(p)


def test_not_a_checkpoint(tmp_path):
    p = tmp_path / "plain.npz"
    np.savez(p, a=np.ones(2))
    with pytest.raises(ValueError, match="__structure__"):
        load(p)
    q = tmp_path / "arr.npy"
    np.save(q, np.ones(2))
    with pytest.raises(ValueError, match=".npy"):
        load(q)
    bad_json = tmp_path / "j.npz"
    np.savez(bad_json, __structure__=np.frombuffer(b"{not json", np.uint8))
    with pytest.raises(ValueError, match="corrupt"):
        load(bad_json)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")


def test_newer_version_rejected(tmp_path):
    p = tmp_path / "v.npz"
    meta = {
        "format": "funcgrad.checkpoint",
        "version": FORMAT_VERSION + 1,
        "leaves": [],
        "tree": {"t": "none"},
    }
    np.savez(p, __structure__=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    with pytest.raises(ValueError, match="upgrade funcgrad"):
        load(p)


def test_atomic_write_leaves_no_temp_files(tmp_path, monkeypatch):
    p = tmp_path / "ck.npz"
    save(p, {"a": np.ones(3)})
    save(p, {"a": np.full(3, 2.0)})  # overwrite
    assert os.listdir(tmp_path) == ["ck.npz"]
    np.testing.assert_array_equal(_np(load(p)["a"]), np.full(3, 2.0))

    def crash(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save(p, {"a": np.zeros(3)})
    assert os.listdir(tmp_path) == ["ck.npz"]  # temp file removed
    np.testing.assert_array_equal(_np(load(p)["a"]), np.full(3, 2.0))  # old file intact


def test_empty_and_scalar_trees(tmp_path):
    for i, tree in enumerate([{}, [], None, np.float32(2.5), 7, {"a": []}]):
        p = tmp_path / f"t{i}.npz"
        save(p, tree)
        out = load(p)
        assert tree_structure(out) == tree_structure(tree)
        _assert_same(tree, out)


# ---- stale temporaries of killed saves (issue 21) ----------------------------------------------


def _temps(d):
    return sorted(n for n in os.listdir(d) if n.endswith(".tmp"))


def _age(path, seconds=60):
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_a_killed_saves_temporary_is_removed_by_the_next_save(tmp_path):
    target = tmp_path / "ckpt.npz"
    code = (
        "import os, sys, numpy as np; from funcgrad._src import checkpoint;"
        "checkpoint.atomic_write(sys.argv[1], lambda f: (f.write(b'half'), os._exit(9)))"
    )
    rc = subprocess.run([sys.executable, "-c", code, str(target)]).returncode
    assert rc == 9
    (left,) = _temps(tmp_path)  # the killed save's temporary
    _age(tmp_path / left)
    checkpoint.save(str(target), {"w": np.ones(3, np.float32)})
    assert _temps(tmp_path) == []
    np.testing.assert_array_equal(checkpoint.load(str(target))["w"], np.ones(3))


def test_only_abandoned_temporaries_of_the_same_target_are_removed(tmp_path):
    target = tmp_path / "m.npz"
    names = {
        "stale": ".m.npz.ab12cd_3.tmp",
        "fresh": ".m.npz.zz99yy00.tmp",  # could be a save that has just begun
        "other": ".n.npz.ab12cd_3.tmp",  # another target's
        "unlike": ".m.npz.x.ab12cd_3.tmp",  # the temporary of 'm.npz.x'
    }
    for key, n in names.items():
        (tmp_path / n).write_bytes(b"x")
        if key != "fresh":
            _age(tmp_path / n)
    checkpoint.save(str(target), {"a": 1.0})
    assert _temps(tmp_path) == sorted(v for k, v in names.items() if k != "stale")


@pytest.mark.skipif(checkpoint.fcntl is None, reason="no fcntl: temporaries are aged out only")
def test_a_temporary_that_a_live_save_still_writes_is_kept(tmp_path):
    tmp = tmp_path / ".m.npz.live0000.tmp"
    tmp.write_bytes(b"x")
    _age(tmp)  # old, but locked: a slow save in progress
    fd = os.open(tmp, os.O_RDONLY)
    try:
        checkpoint.fcntl.flock(fd, checkpoint.fcntl.LOCK_EX)
        checkpoint.save(str(tmp_path / "m.npz"), {"a": 1.0})
        assert tmp.exists()
    finally:
        os.close(fd)
    checkpoint.save(str(tmp_path / "m.npz"), {"a": 2.0})  # the lock is gone: removed
    assert not tmp.exists()
