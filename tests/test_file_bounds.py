"""Files are bounded: crafted checkpoints and dataset files cannot make a reader allocate far
more than the file holds (a header declaring 8 TiB is a clean ValueError naming both sizes,
raised before anything is allocated), a shared array is read once, decompression stops at the
declared size, and new checkpoint files honour the umask."""

from __future__ import annotations

import gzip
import io
import json
import os
import struct
import zipfile

import numpy as np
import pytest

import funcgrad as fg
from funcgrad.data import load_cifar10, read_idx

TIB8 = 8 * 2**40


def _npy_bytes(arr: np.ndarray, shape=None) -> bytes:
    """``arr`` as .npy bytes, its header claiming ``shape`` (default: its own)."""
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    raw = buf.getvalue()
    if shape is None:
        return raw
    header = {"descr": arr.dtype.str, "fortran_order": False, "shape": tuple(shape)}
    body = raw[len(raw) - arr.nbytes :]
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, header)
    return out.getvalue() + body


def _checkpoint(path, members: dict, leaves: list, compress=zipfile.ZIP_STORED):
    """An npz checkpoint whose structure lists ``leaves`` (entries naming members)."""
    meta = {
        "format": "funcgrad.checkpoint",
        "version": 1,
        "leaves": leaves,
        "tree": {"t": "list", "c": [{"t": "leaf", "i": i} for i in range(len(leaves))]},
    }
    structure = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with zipfile.ZipFile(path, "w", compress) as z:
        z.writestr("__structure__.npy", _npy_bytes(structure))
        for name, raw in members.items():
            z.writestr(name + ".npy", raw)


def _leaf(i, name, shape, dtype="<f4"):
    return {"path": f"[{i}]", "kind": "array", "name": name, "shape": list(shape), "dtype": dtype}


@pytest.mark.parametrize("compress", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_npz_header_declaring_8_tib_is_a_clean_value_error(tmp_path, compress):
    p = tmp_path / "big.npz"
    shape = (TIB8 // 4,)
    raw = _npy_bytes(np.zeros(4, np.float32), shape)
    _checkpoint(p, {"leaf_0": raw}, [_leaf(0, "leaf_0", shape)], compress)
    with pytest.raises(ValueError, match=rf"declares {TIB8} bytes.*the file is {p.stat().st_size}"):
        fg.load(p)


def test_npz_array_shared_by_64_leaves_is_read_once(tmp_path):
    p = tmp_path / "shared.npz"
    arr = np.arange(1000, dtype=np.float32)
    leaves = [_leaf(i, "leaf_0", arr.shape) for i in range(64)]
    _checkpoint(p, {"leaf_0": _npy_bytes(arr)}, leaves)
    out = fg.load(p)
    assert len(out) == 64 and all(o is out[0] for o in out)  # one array, shared
    np.testing.assert_array_equal(np.asarray(out[63]), arr)
    with pytest.raises((ValueError, TypeError)):
        np.asarray(out[0])[0] = 5.0  # read-only


def test_npz_shared_bfloat16_leaves_are_one_array(tmp_path):
    p = tmp_path / "bf16.npz"
    bits = np.arange(8, dtype=np.uint16)
    leaves = [{**_leaf(i, "leaf_0", (8,), "<u2"), "logical": "bfloat16"} for i in range(3)]
    _checkpoint(p, {"leaf_0": _npy_bytes(bits)}, leaves)
    out = fg.load(p)
    assert out[0] is out[1] is out[2] and out[0].dtype == fg.numpy.bfloat16


def test_safetensors_header_declaring_8_tib_is_a_clean_value_error(tmp_path):
    pytest.importorskip("safetensors")
    p = tmp_path / "big.safetensors"
    header = {"w": {"dtype": "F32", "shape": [TIB8 // 4], "data_offsets": [0, TIB8]}}
    text = json.dumps(header).encode()
    p.write_bytes(struct.pack("<Q", len(text)) + text + b"\0" * 16)
    with pytest.raises(ValueError, match=rf"{TIB8} bytes.*{p.stat().st_size}"):
        fg.load(p)


def test_new_checkpoint_files_honour_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        fg.save(tmp_path / "a.npz", {"w": np.ones(3, np.float32)})
        os.umask(0o002)
        fg.save(tmp_path / "b.npz", {"w": np.ones(3, np.float32)})
    finally:
        os.umask(old)
    assert (tmp_path / "a.npz").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "b.npz").stat().st_mode & 0o777 == 0o664
    os.chmod(tmp_path / "b.npz", 0o600)  # an existing file keeps its mode
    fg.save(tmp_path / "b.npz", {"w": np.zeros(3, np.float32)})
    assert (tmp_path / "b.npz").stat().st_mode & 0o777 == 0o600
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


# ---- dataset readers -------------------------------------------------------------------------


def _idx_header(shape, type_byte=0x08) -> bytes:
    return bytes([0, 0, type_byte, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape)


def test_idx_header_declaring_a_huge_array_fails_before_reading(tmp_path):
    p = tmp_path / "x.idx"
    p.write_bytes(_idx_header((2**32 - 1, 2**32 - 1, 255), 0x0E) + b"\0" * 64)
    declared = 16 + (2**32 - 1) ** 2 * 255 * 8  # header + data
    with pytest.raises(ValueError, match=rf"{declared} bytes.*file has {p.stat().st_size}"):
        read_idx(p)


def test_idx_gzip_bomb_stops_at_the_declared_size(tmp_path):
    p = tmp_path / "x.idx.gz"
    with gzip.open(p, "wb") as f:  # declares 16 bytes, then 64 MiB of zeros
        f.write(_idx_header((16,)))
        for _ in range(64):
            f.write(bytes(2**20))
    with pytest.raises(ValueError, match="longer than"):
        read_idx(p)


def test_idx_gzip_declaring_more_than_deflate_can_hold_fails_early(tmp_path):
    p = tmp_path / "x.idx.gz"
    with gzip.open(p, "wb") as f:
        f.write(_idx_header((2**31,)) + bytes(100))
    with pytest.raises(ValueError, match=rf"{2**31 + 8} bytes.*file has {p.stat().st_size}"):
        read_idx(p)


def test_idx_gzip_shorter_than_declared_is_truncated(tmp_path):
    p = tmp_path / "x.idx.gz"
    with gzip.open(p, "wb") as f:
        f.write(_idx_header((100,)) + bytes(10))
    with pytest.raises(ValueError, match="truncated"):
        read_idx(p)


def test_idx_gzip_round_trip(tmp_path):
    p = tmp_path / "x.idx.gz"
    data = np.arange(12, dtype=">i4").reshape(3, 4)
    with gzip.open(p, "wb") as f:
        f.write(_idx_header((3, 4), 0x0C) + data.tobytes())
    np.testing.assert_array_equal(read_idx(p), data)


def test_cifar_gzip_stops_at_the_size_its_trailer_declares(tmp_path):
    rec = bytes(3073)
    with gzip.open(tmp_path / "test_batch.bin.gz", "wb") as f:
        f.write(rec * 2)
    x, y = load_cifar10(tmp_path, "test")
    assert x.shape == (2, 32, 32, 3) and y.tolist() == [0, 0]
    raw = (tmp_path / "test_batch.bin.gz").read_bytes()
    (tmp_path / "test_batch.bin.gz").write_bytes(raw[:-4] + struct.pack("<I", 3073))
    with pytest.raises(ValueError, match="longer than the 3073 bytes"):
        load_cifar10(tmp_path, "test")
    (tmp_path / "test_batch.bin.gz").write_bytes(raw[:-4] + struct.pack("<I", 2**32 - 1))
    with pytest.raises(ValueError, match=rf"declares {2**32 - 1} bytes.*file has {len(raw)}"):
        load_cifar10(tmp_path, "test")


def test_big_endian_checkpoint_leaves_load_native(tmp_path):
    p = tmp_path / "be.npz"
    fg.save(p, {"w": np.arange(4, dtype=">f4"), "i": np.arange(3, dtype=">i4")})
    for out in (fg.load(p), fg.load(p, like={"w": np.zeros(4, "<f4"), "i": np.zeros(3, "<i4")})):
        assert np.asarray(out["w"]).dtype.isnative and np.asarray(out["i"]).tolist() == [0, 1, 2]
