"""Tests for funcgrad.data: digits, readers, datasets, DataLoader, transforms."""

import gc
import gzip
import threading
import time

import numpy as np
import pytest

from funcgrad.data import (
    ArrayDataset,
    Compose,
    DataLoader,
    Dataset,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    ToFloat,
    default_collate,
    generator_from_key,
    key_to_data,
    load_cifar10,
    load_digits,
    load_mnist,
    read_idx,
)

# ---- shipped digits ---------------------------------------------------------------------


def test_digits_splits_shapes_and_ranges():
    xa, ya = load_digits("all")
    xtr, ytr = load_digits("train")
    xte, yte = load_digits("test")
    assert xa.shape == (1797, 8, 8) and ya.shape == (1797,)
    assert xtr.shape == (1437, 8, 8) and xte.shape == (360, 8, 8)
    assert xa.dtype == np.float32 and ya.dtype == np.int32
    assert xa.min() == 0.0 and xa.max() == 1.0
    assert sorted(np.unique(ya).tolist()) == list(range(10))
    assert ya[:10].tolist() == list(range(10))  # the file's original order
    # train and test partition the data: same multiset of labels and pixel sums
    assert np.bincount(np.concatenate([ytr, yte])).tolist() == np.bincount(ya).tolist()
    assert np.isclose(xtr.sum() + xte.sum(), xa.sum())
    # deterministic
    assert np.array_equal(load_digits("test")[0], xte)


def test_digits_bad_split():
    with pytest.raises(ValueError, match="split"):
        load_digits("validation")


# ---- IDX / MNIST ------------------------------------------------------------------------


def _idx_bytes(arr: np.ndarray, code: int) -> bytes:
    header = bytes([0, 0, code, arr.ndim]) + np.array(arr.shape, ">u4").tobytes()
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize(
    "code,dtype",
    [
        (0x08, np.uint8),
        (0x09, np.int8),
        (0x0B, np.int16),
        (0x0C, np.int32),
        (0x0D, np.float32),
        (0x0E, np.float64),
    ],
)
def test_read_idx_dtypes(tmp_path, code, dtype):
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == np.uint8:
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) + 200
    p = tmp_path / "a.idx"
    p.write_bytes(_idx_bytes(arr, code))
    out = read_idx(p)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)


def test_read_idx_gzip(tmp_path):
    arr = np.arange(300, dtype=np.int16).reshape(10, 30)
    p = tmp_path / "a.idx.gz"
    p.write_bytes(gzip.compress(_idx_bytes(arr, 0x0B)))
    np.testing.assert_array_equal(read_idx(str(p)), arr)


@pytest.mark.parametrize(
    "data,match",
    [
        (b"\x00\x00", "shorter than"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "two zero bytes"),
        (b"\x00\x00\x0a\x01\x00\x00\x00\x01\x05", "unknown IDX data type byte 0x0A"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x01", "truncated IDX header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "truncated"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "trailing bytes"),
    ],
)
def test_read_idx_corrupt(tmp_path, data, match):
    p = tmp_path / "bad.idx"
    p.write_bytes(data)
    with pytest.raises(ValueError, match=match) as e:
        read_idx(p)
    assert "bad.idx" in str(e.value)


def test_read_idx_corrupt_gzip(tmp_path):
    arr = np.zeros((50, 50), np.uint8)
    p = tmp_path / "x.idx.gz"
    p.write_bytes(gzip.compress(_idx_bytes(arr, 0x08))[:30])
    with pytest.raises(ValueError, match="x.idx.gz.*gzip"):
        read_idx(p)


def _write_mnist(folder, n_train=5, n_test=3, gz=False):
    rng = np.random.default_rng(1)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, n, dtype=np.uint8)
        for stem, arr, code in (
            (f"{prefix}-images-idx3-ubyte", x, 0x08),
            (f"{prefix}-labels-idx1-ubyte", y, 0x08),
        ):
            data = _idx_bytes(arr, code)
            (folder / (stem + (".gz" if gz else ""))).write_bytes(
                gzip.compress(data) if gz else data
            )
        out[prefix] = (x, y)
    return out


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist(tmp_path, gz):
    want = _write_mnist(tmp_path, gz=gz)
    x, y = load_mnist(tmp_path, "train")
    np.testing.assert_array_equal(x, want["train"][0])
    np.testing.assert_array_equal(y, want["train"][1])
    assert y.dtype == np.int32
    x, y = load_mnist(str(tmp_path), "test")
    assert x.shape == (3, 28, 28) and y.shape == (3,)


def test_load_mnist_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)
    _write_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros(4, np.uint8), 8))
    with pytest.raises(ValueError, match="expected 5 labels"):
        load_mnist(tmp_path)


def _write_cifar(folder, names, n=4):
    rng = np.random.default_rng(2)
    xs, ys = [], []
    for name in names:
        y = rng.integers(0, 10, n, dtype=np.uint8)
        x = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
        recs = np.concatenate([y[:, None], x.reshape(n, -1)], axis=1)
        (folder / name).write_bytes(recs.tobytes())
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)


def test_load_cifar10(tmp_path):
    sub = tmp_path / "cifar-10-batches-bin"
    sub.mkdir()
    x, y = _write_cifar(sub, [f"data_batch_{i}.bin" for i in range(1, 6)])
    xt, yt = _write_cifar(sub, ["test_batch.bin"], n=3)
    got_x, got_y = load_cifar10(tmp_path, "train")
    assert got_x.shape == (20, 32, 32, 3) and got_x.dtype == np.uint8
    np.testing.assert_array_equal(got_x, x.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(got_y, y)
    chw, lab = load_cifar10(sub, "test", layout="CHW")
    np.testing.assert_array_equal(chw, xt)
    np.testing.assert_array_equal(lab, yt)


def test_load_cifar10_corrupt(tmp_path):
    _write_cifar(tmp_path, ["test_batch.bin"], n=2)
    data = (tmp_path / "test_batch.bin").read_bytes()
    (tmp_path / "test_batch.bin").write_bytes(data[:-100])
    with pytest.raises(ValueError, match="test_batch.bin.*truncated"):
        load_cifar10(tmp_path, "test")
    bad = bytearray(data)
    bad[3073] = 200  # label byte of record 1
    (tmp_path / "test_batch.bin").write_bytes(bytes(bad))
    with pytest.raises(ValueError, match="record 1 has label 200"):
        load_cifar10(tmp_path, "test")
    with pytest.raises(FileNotFoundError, match="data_batch_1.bin"):
        load_cifar10(tmp_path, "train")


# ---- datasets ---------------------------------------------------------------------------


def test_array_dataset():
    ds = ArrayDataset(np.arange(12).reshape(6, 2), {"y": np.arange(6)})
    assert len(ds) == 6 and isinstance(ds, Dataset)
    x, d = ds[4]
    assert x.tolist() == [8, 9] and int(d["y"]) == 4
    with pytest.raises(IndexError):
        ds[6]


def test_array_dataset_shape_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"\(5, 2\).*\(4,\)"):
        ArrayDataset(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError):
        ArrayDataset()


def test_default_collate_pytrees():
    exs = [{"x": np.full(3, i), "y": (i, np.float32(i))} for i in range(4)]
    b = default_collate(exs)
    assert b["x"].shape == (4, 3) and b["y"][0].tolist() == [0, 1, 2, 3]
    assert b["y"][1].dtype == np.float32


# ---- keys -------------------------------------------------------------------------------


def test_key_to_data():
    assert key_to_data(5).tolist() == [0, 5]
    assert key_to_data(2**32 + 3).tolist() == [1, 3]
    assert key_to_data(np.array([1, 2], np.uint32)).tolist() == [1, 2]
    with pytest.raises(TypeError):
        key_to_data(np.zeros(3, np.uint32))
    with pytest.raises(TypeError):
        key_to_data([1.5, 2.0])
    with pytest.raises(ValueError):
        key_to_data([-1, 2])


def test_generator_from_key_is_pinned():
    # Fixed values: SeedSequence + PCG64 are platform independent, so this must never change.
    a = generator_from_key([0, 42], 0, 0).permutation(10).tolist()
    assert a == generator_from_key(42, 0, 0).permutation(10).tolist()
    assert a != generator_from_key(42, 1, 0).permutation(10).tolist()
    assert a != generator_from_key(43, 0, 0).permutation(10).tolist()


# ---- DataLoader -------------------------------------------------------------------------


def _ds(n=10):
    return ArrayDataset(
        np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.arange(n, dtype=np.int32)
    )


@pytest.mark.parametrize(
    "n,bs,drop,expected",
    [
        (10, 3, False, 4),
        (10, 3, True, 3),
        (9, 3, False, 3),
        (9, 3, True, 3),
        (2, 3, True, 0),
        (2, 3, False, 1),
    ],
)
def test_len_and_batch_sizes(n, bs, drop, expected):
    loader = DataLoader(_ds(n), bs, drop_last=drop)
    batches = list(loader)
    assert len(loader) == expected == len(batches)
    if drop:
        assert all(len(y) == bs for _, y in batches)
    else:
        assert sum(len(y) for _, y in batches) == n


def test_no_shuffle_is_in_order_and_batches_are_numpy():
    xs, ys = zip(*DataLoader(_ds(), 4))
    assert all(isinstance(y, np.ndarray) for y in ys)
    assert np.concatenate(ys).tolist() == list(range(10))
    assert xs[0].shape == (4, 2) and xs[0].dtype == np.float32


@pytest.mark.parametrize("prefetch", [0, 2])
def test_shuffle_reproducible_and_epochs_differ(prefetch):
    key = np.array([0, 123], np.uint32)
    a = DataLoader(_ds(50), 7, shuffle=True, key=key, prefetch=prefetch)
    b = DataLoader(_ds(50), 7, shuffle=True, key=123, prefetch=prefetch)
    e0 = np.concatenate([y for _, y in a])
    e1 = np.concatenate([y for _, y in a])  # second pass = epoch 1
    assert sorted(e0.tolist()) == list(range(50))
    assert e0.tolist() != e1.tolist()
    assert e0.tolist() == np.concatenate([y for _, y in b]).tolist()
    assert e1.tolist() == np.concatenate([y for _, y in b.epoch(1)]).tolist()
    assert e0.tolist() == a.indices(0).tolist()
    b.set_epoch(0)
    assert e0.tolist() == np.concatenate([y for _, y in b]).tolist()
    assert b.current_epoch == 1
    other = DataLoader(_ds(50), 7, shuffle=True, key=124)
    assert np.concatenate([y for _, y in other]).tolist() != e0.tolist()


def test_shuffle_order_matches_documented_derivation():
    loader = DataLoader(_ds(20), 5, shuffle=True, key=[3, 4])
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([3, 4, 2, 0])))
    assert loader.indices(2).tolist() == rng.permutation(20).tolist()


def test_shuffle_needs_key():
    with pytest.raises(ValueError, match="key"):
        DataLoader(_ds(), 2, shuffle=True)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(_ds(), 0)


def test_custom_collate_and_plain_dataset():
    class Squares:
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.array([i, i * i])}

    loader = DataLoader(Squares(), 2, collate_fn=lambda exs: [e["x"][1] for e in exs], prefetch=0)
    assert [list(map(int, b)) for b in loader] == [[0, 1], [4, 9], [16]]
    default = list(DataLoader(Squares(), 5))
    assert default[0]["x"].tolist() == [[i, i * i] for i in range(5)]


class _Boom:
    def __len__(self):
        return 100

    def __getitem__(self, i):
        if i == 7:
            raise RuntimeError("bad example 7")
        return np.array(i)


@pytest.mark.parametrize("prefetch", [0, 3])
def test_worker_exception_reraised(prefetch):
    loader = DataLoader(_Boom(), 2, prefetch=prefetch)
    got = []
    with pytest.raises(RuntimeError, match="bad example 7"):
        for b in loader:
            got.append(b)
    assert len(got) == 3


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "funcgrad-data-prefetch"]


def test_early_stop_does_not_hang_and_thread_stops():
    loader = DataLoader(_ds(1000), 1, prefetch=2)
    it = iter(loader)
    next(it)
    time.sleep(0.05)  # let the worker fill the queue and block
    assert all(t.daemon for t in _prefetch_threads())
    for _ in loader:  # break out of a second epoch too
        break
    it.close()
    del it
    gc.collect()
    deadline = time.time() + 3
    while _prefetch_threads() and time.time() < deadline:
        time.sleep(0.01)
    assert not _prefetch_threads()


def test_transform_reproducible_and_batch_rng():
    seen = []

    def t(rng, ex):
        x, y = ex
        seen.append(rng)
        return x + rng.integers(0, 1000), y

    loader = DataLoader(_ds(8), 4, shuffle=True, key=9, transform=t)
    a = [x.tolist() for x, _ in loader.epoch(0)]
    b = [x.tolist() for x, _ in loader.epoch(0)]
    c = [x.tolist() for x, _ in loader.epoch(1)]
    assert a == b and a != c
    assert all(isinstance(r, np.random.Generator) for r in seen)
    no_key = list(
        DataLoader(_ds(4), 2, transform=lambda rng, ex: (rng, ex[1]), collate_fn=lambda exs: exs)
    )
    assert no_key[0][0][0] is None


def test_loader_with_augmentation_pipeline():
    images = np.random.default_rng(0).integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    ds = ArrayDataset(images, np.arange(6))
    aug = Compose(
        [
            ToFloat(),
            RandomCrop(8, padding=2),
            RandomHorizontalFlip(),
            Normalize([0.5] * 3, [0.25] * 3),
        ]
    )
    loader = DataLoader(ds, 3, shuffle=True, key=0, transform=aug)
    (x1, y1), (x2, y2) = list(loader.epoch(0))
    assert x1.shape == (3, 8, 8, 3) and x1.dtype == np.float32
    again = list(loader.epoch(0))
    np.testing.assert_array_equal(again[0][0], x1)
    assert -2.0 - 1e-6 <= x1.min() and x1.max() <= 2.0 + 1e-6


# ---- transforms -------------------------------------------------------------------------


def test_to_float_and_normalize_layouts():
    img = np.full((2, 2, 3), 255, np.uint8)
    assert ToFloat()(img).dtype == np.float32 and ToFloat()(img).max() == 1.0
    assert ToFloat(16)(np.array([16, 8])).tolist() == [1.0, 0.5]
    hwc = np.ones((4, 5, 3), np.float32) * np.array([1, 2, 3], np.float32)
    out = Normalize([1, 2, 3], [1, 2, 3])(hwc)
    assert np.allclose(out, 0)
    chw = np.transpose(hwc, (2, 0, 1))
    assert np.allclose(Normalize([1, 2, 3], [1, 1, 1], layout="CHW")(chw), 0)
    with pytest.raises(ValueError, match="channels"):
        Normalize([1, 2], [1, 1], layout="CHW")(chw)
    with pytest.raises(ValueError, match="std"):
        Normalize(0, 0)
    with pytest.raises(ValueError, match="layout"):
        Normalize(0, 1, layout="NHWC")


def test_flip_layouts_and_probability():
    hwc = np.arange(2 * 3 * 2).reshape(2, 3, 2)
    rng = np.random.default_rng(0)
    assert np.array_equal(RandomHorizontalFlip(1.0)(rng, hwc), hwc[:, ::-1, :])
    chw = np.arange(2 * 2 * 3).reshape(2, 2, 3)
    assert np.array_equal(RandomHorizontalFlip(1.0, layout="CHW")(rng, chw), chw[:, :, ::-1])
    assert np.array_equal(RandomHorizontalFlip(0.0)(rng, hwc), hwc)
    flips = sum(RandomHorizontalFlip(0.5)(rng, hwc)[0, 0, 0] != 0 for _ in range(400))
    assert 150 < flips < 250
    with pytest.raises(ValueError, match="rng"):
        RandomHorizontalFlip()(hwc)  # random transform without an rng


def test_random_crop():
    img = np.arange(1, 17, dtype=np.float32).reshape(4, 4)
    crops = {RandomCrop(2)(np.random.default_rng(s), img).tobytes() for s in range(60)}
    assert len(crops) == 9  # all 3x3 offsets appear
    chw = np.ones((3, 4, 4))
    out = RandomCrop(4, padding=1, layout="CHW")(np.random.default_rng(1), chw)
    assert out.shape == (3, 4, 4)
    padded = [RandomCrop(4, padding=2)(np.random.default_rng(s), img) for s in range(20)]
    assert any((p == 0).any() for p in padded)  # zero padding shows up
    with pytest.raises(ValueError, match="larger"):
        RandomCrop(5)(np.random.default_rng(0), img)


def test_transforms_on_examples_and_reproducible_with_same_seed():
    ex = (np.ones((4, 4, 3), np.uint8) * 255, 7)
    x, y = Compose([ToFloat(), RandomCrop(3)])(np.random.default_rng(0), ex)
    assert y == 7 and x.shape == (3, 3, 3)
    d = Normalize(1.0, 2.0)({"image": np.array([3.0]), "label": 1})
    assert d["image"].tolist() == [1.0] and d["label"] == 1
    img = np.random.default_rng(5).random((6, 6, 3))
    t = Compose([RandomCrop(4, padding=1), RandomHorizontalFlip()])
    assert np.array_equal(t(np.random.default_rng(3), img), t(np.random.default_rng(3), img))
    assert np.array_equal(t(11, img), t([0, 11], img))  # int seed / key accepted too
    with pytest.raises(TypeError):
        Compose([1])
