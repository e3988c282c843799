"""``.safetensors`` files for ``fg.save``/``fg.load`` (the optional extra funcgrad[safetensors]).

Tensors are named by their leaves' dotted key paths (``layers.0.weight``; see
``funcgrad._src.state_dict``), so PyTorch reads a funcgrad file as a ``state_dict`` and a
PyTorch ``state_dict`` saved with safetensors loads into a funcgrad pytree. funcgrad's
structure description (the JSON of ``.npz`` checkpoints, Python scalar leaves included) is
the file's text metadata entry ``"funcgrad"``, so ``load`` rebuilds the containers without a
template. Nothing is ever unpickled: safetensors holds raw little-endian bytes and JSON.

numpy has no bfloat16: the package's numpy writer stores such leaves' bits as ``U16``, and
the header entry is then relabelled ``BF16`` (the same 2 bytes per value), which PyTorch
reads as ``torch.bfloat16``; ``BF16`` tensors are read back from their bits exactly.
"""

from __future__ import annotations

import json
import struct

import numpy as np

from funcgrad._src import checkpoint, dtypes
from funcgrad._src.array import Array
from funcgrad._src.state_dict import from_state_dict, named_leaves

SAFETENSORS_HINT = 'pip install "funcgrad[safetensors]"'
_META_KEY = "funcgrad"
_DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "C64": np.complex64,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U64": np.uint64,
    "U32": np.uint32,
    "U16": np.uint16,
    "U8": np.uint8,
    "BOOL": np.bool_,
    "BF16": np.uint16,  # the bits; see _tensor
}


def _package():
    try:
        import safetensors
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            "reading or writing .safetensors files needs the safetensors package, an "
            f"optional extra: {SAFETENSORS_HINT}"
        ) from None
    return safetensors


# ---- save ---------------------------------------------------------------------------------


def save(path: str, tree) -> None:
    """Write ``tree`` as one safetensors file, atomically (as ``checkpoint.save``)."""
    st = _package()
    arrays, meta = checkpoint._encode(tree)
    names = [name for name, _ in named_leaves(tree)]
    tensors, bf16 = {}, []
    for entry, name in zip(meta["leaves"], names):
        if entry["kind"] != "array":
            continue
        arr = arrays[entry["name"]]  # safetensors is C-ordered little-endian
        tensors[name] = np.asarray(arr, arr.dtype.newbyteorder("<"), order="C")
        entry.update(name=name, dtype=tensors[name].dtype.str)
        if entry.get("logical") == "bfloat16":
            bf16.append(name)
    metadata = {"format": "funcgrad.checkpoint", _META_KEY: json.dumps(meta, allow_nan=True)}
    data = _relabel(st.numpy.save(tensors, metadata=metadata), bf16, "U16", "BF16")
    checkpoint.atomic_write(path, lambda f: f.write(data))


def _header(data: bytes) -> tuple[dict, int]:
    """The safetensors JSON header and where the tensor bytes start."""
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n].decode("utf-8")), 8 + n


def _relabel(data: bytes, names: list, old: str, new: str) -> bytes:
    """Change the dtype label of tensors ``names`` in the header (offsets are relative to
    the data section, so only the header is rewritten; padded to 8 bytes with spaces)."""
    if not names:
        return data
    header, start = _header(data)
    for name in names:
        assert header[name]["dtype"] == old, header[name]
        header[name]["dtype"] = new
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data[start:]


# ---- load ---------------------------------------------------------------------------------


def load(path: str, like):
    """Read a safetensors file: a funcgrad checkpoint (its tree), or a foreign file such as
    a PyTorch ``state_dict``: ``{name: Array}``, or mapped by name onto ``like``."""
    tensors, metadata = _read(path)
    text = (metadata or {}).get(_META_KEY)
    if text is None:  # not written by funcgrad: a flat state_dict
        if like is None:
            return {name: checkpoint._to_output(v) for name, v in tensors.items()}
        return from_state_dict(tensors, like)
    try:
        meta = json.loads(text)
        values = [_leaf_value(path, e, tensors) for e in meta["leaves"]]
    except checkpoint._CheckpointError:
        raise
    except (ValueError, KeyError, TypeError) as e:
        what = f"bad funcgrad metadata: {type(e).__name__}: {e}"
        raise checkpoint._corrupt(path, what) from None
    checkpoint._check_counts(path, meta, len(values))
    return checkpoint.load_parts(path, meta, values, like)


def _read(path: str) -> tuple[dict, dict | None]:
    st = _package()
    with open(path, "rb") as f:
        data = f.read()
    _check_sizes(path, data)
    try:
        tensors = {name: _tensor(info) for name, info in st.deserialize(data)}
        metadata = _header(data)[0].get("__metadata__")
    except Exception as e:  # the package raises its own SafetensorError, or a ValueError
        raise checkpoint._corrupt(path, f"{type(e).__name__}: {e}") from None
    return tensors, metadata


def _check_sizes(path: str, data: bytes) -> None:
    """Each tensor's declared size (shape x dtype) must be the bytes it points at, inside
    the file: a crafted header is a clean ValueError naming both sizes."""
    try:
        header, start = _header(data)
        for name, info in header.items():
            if name == "__metadata__" or info.get("dtype") not in _DTYPES:
                continue  # (the package reports those)
            itemsize = np.dtype(_DTYPES[info["dtype"]]).itemsize
            declared = int(np.prod(info["shape"], dtype=object)) * itemsize
            begin, end = info["data_offsets"]
            if declared != end - begin or start + end > len(data):
                raise checkpoint._corrupt(
                    path,
                    f"tensor {name!r} declares {declared} bytes ({info['shape']} "
                    f"{info['dtype']}) at offsets {begin}..{end}, but the file is "
                    f"{len(data)} bytes",
                )
    except checkpoint._CheckpointError:
        raise
    except Exception:  # noqa: BLE001  (a malformed header: the package reports it)
        return


def _tensor(info: dict):
    """A deserialised tensor as a numpy array (a bfloat16 Array for BF16)."""
    kind = info["dtype"]
    if kind not in _DTYPES:
        raise ValueError(f"safetensors dtype {kind} has no funcgrad equivalent")
    arr = np.frombuffer(bytes(info["data"]), _DTYPES[kind]).reshape(info["shape"])
    if kind == "BF16":
        return Array(dtypes.bfloat16_from_bits(arr), False, dtypes.bfloat16)
    return arr


def _leaf_value(path: str, entry: dict, tensors: dict):
    if entry["kind"] == "value":
        return entry["value"]
    value = tensors[entry["name"]]
    bf16 = entry.get("logical") == "bfloat16"
    if tuple(value.shape) != tuple(entry["shape"]) or bf16 != isinstance(value, Array):
        raise checkpoint._corrupt(
            path, f"tensor {entry['name']} does not match its description {entry}"
        )
    if not bf16 and value.dtype.str != entry["dtype"]:
        raise checkpoint._corrupt(path, f"tensor {entry['name']} is {value.dtype}, not {entry}")
    return value
