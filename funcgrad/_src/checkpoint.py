"""Checkpoints: a pytree in ONE ``.npz`` file, written atomically, read without pickle.

File layout (``np.savez``, no pickle): array leaves are entries ``leaf_0``, ``leaf_1``, ...
in ``tree_flatten`` order, and ``__structure__`` is a uint8 array holding UTF-8 JSON::

    {"format": "funcgrad.checkpoint", "version": 1,
     "leaves": [{"path": "['w']", "kind": "array", "shape": [3], "dtype": "<f4"},
                {"path": "['step']", "kind": "value", "value": 10}, ...],
     "tree": {"t": "dict", "keys": [["str", "step"], ["str", "w"]], "c": [...]}}

``leaves`` gives each leaf's key path (``keystr``), shape and dtype (Python
``int``/``float``/``bool``/``str`` leaves are stored in the JSON itself); ``tree`` describes
the containers so :func:`load` can rebuild them without a template.
"""

from __future__ import annotations

import collections
import json
import os
import tempfile
import time
import zipfile
import zlib
from typing import Any

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: stale temporaries are recognised by age alone
    fcntl = None

from funcgrad._src import dtypes
from funcgrad._src.array import Array
from funcgrad.tree_util import (
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_structure,
    tree_unflatten,
    treedef_is_leaf,
)

__all__ = ["save", "load", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_FORMAT = "funcgrad.checkpoint"
_STRUCTURE = "__structure__"
_PY_TYPES = (bool, int, float, str)


# ---- save -------------------------------------------------------------------------------


def save(path, tree, *, format: str | None = None) -> None:
    """Write ``tree`` (a pytree of arrays and Python scalars) to the single file ``path``.

    ``format``: ``"npz"`` (funcgrad's format, below) or ``"safetensors"`` (readable by
    PyTorch and others; needs the optional extra ``funcgrad[safetensors]``); by default a
    path ending in ``.safetensors`` selects safetensors, anything else npz.

    The write is atomic: the data goes to a temporary file in the same directory, which is
    fsync'ed and then renamed over ``path``, so a crash never leaves a half-written
    checkpoint. A save killed mid-write leaves its hidden temporary
    (``.<name>.<8 characters>.tmp``) behind; the next save of the same ``path`` removes it
    (once no live save holds its lock). ``path`` is used exactly as given (no ``.npz`` is
    appended).

    Args:
      path: the file to write (str or path-like); its directory must exist.
      tree: a pytree whose leaves are arrays (funcgrad, numpy, anything with
        ``__array__``; bfloat16 kept exactly) or Python ``int``/``float``/``bool``/``str``
        values (``None`` is an empty subtree).
      format: ``"npz"``, ``"safetensors"`` or None (chosen by the file name).

    Returns:
      None.

    Raises:
      TypeError: if a leaf is of another type, or an array of object or structured dtype.
      ValueError: for another ``format``; for safetensors, if two leaves have the same
        dotted name.
      ImportError: for safetensors without the ``safetensors`` package.

    >>> import tempfile, os, numpy as np
    >>> p = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
    >>> save(p, {"w": np.ones((2, 3), np.float32), "step": 10})
    >>> restored = load(p)
    >>> restored["step"], tuple(restored["w"].shape)
    (10, (2, 3))
    """
    path = os.fspath(path)
    if _format(path, format) == "safetensors":
        from funcgrad._src import safetensors_io

        return safetensors_io.save(path, tree)
    arrays, meta = _encode(tree)
    payload = json.dumps(meta, allow_nan=True).encode("utf-8")
    arrays[_STRUCTURE] = np.frombuffer(payload, dtype=np.uint8)
    _atomic_savez(path, arrays)


def _encode(tree) -> tuple[dict, dict]:
    path_leaves, _ = tree_flatten_with_path(tree)
    arrays: dict[str, np.ndarray] = {}
    entries = []
    for i, (p, leaf) in enumerate(path_leaves):
        entry: dict[str, Any] = {"path": keystr(p)}
        if type(leaf) in _PY_TYPES:
            entry.update(kind="value", value=leaf)
        else:
            arr = _leaf_array(keystr(p), leaf)
            name = f"leaf_{i}"
            if getattr(leaf, "dtype", None) is dtypes.bfloat16:  # stored as its uint16 bits
                arr = dtypes.bfloat16_bits(arr)
                entry["logical"] = "bfloat16"
            arrays[name] = arr
            entry.update(kind="array", name=name, shape=list(arr.shape), dtype=arr.dtype.str)
        entries.append(entry)
    meta = {
        "format": _FORMAT,
        "version": FORMAT_VERSION,
        "leaves": entries,
        "tree": _skeleton(tree, iter(range(len(entries)))),
    }
    return arrays, meta


def _leaf_array(path: str, leaf) -> np.ndarray:
    if not (isinstance(leaf, (np.ndarray, np.generic)) or hasattr(leaf, "__array__")):
        raise TypeError(
            f"save: the leaf at {path or '<root>'} is a {type(leaf).__name__}; "
            "checkpoints hold arrays and Python int/float/bool/str/None only"
        )
    arr = np.asarray(leaf)
    if arr.dtype.hasobject or arr.dtype.kind == "V":
        raise TypeError(
            f"save: the leaf at {path or '<root>'} has dtype {arr.dtype}, which "
            "cannot be stored without pickle; convert it to a numeric array"
        )
    return arr


def _skeleton(x, counter) -> dict:
    """JSON description of the containers of ``x`` (leaves numbered in flatten order)."""
    if treedef_is_leaf(tree_structure(x)):
        return {"t": "leaf", "i": next(counter)}
    if x is None:
        return {"t": "none"}
    children, td = tree_flatten(x, is_leaf=lambda y: y is not x)  # one level down
    kids = [_skeleton(c, counter) for c in children]
    t = td.node_type
    if t is dict:
        return {"t": "dict", "keys": [_encode_key(k) for k in td.aux], "c": kids}
    if t in (list, tuple):
        return {"t": t.__name__, "c": kids}
    if issubclass(t, tuple) and hasattr(t, "_fields"):
        return {"t": "namedtuple", "name": t.__name__, "fields": list(t._fields), "c": kids}
    keys = [keystr(p) for p, _ in tree_flatten_with_path(x, is_leaf=lambda y: y is not x)[0]]
    if len(keys) != len(kids):  # None children have no path; fall back to positions
        keys = [f"[{i}]" for i in range(len(kids))]
    return {"t": "node", "name": t.__qualname__, "keys": keys, "c": kids}


def _encode_key(k) -> list:
    for typ in _PY_TYPES:
        if type(k) is typ:
            return [typ.__name__, k]
    return ["repr", repr(k)]


def _atomic_savez(path: str, arrays: dict) -> None:
    atomic_write(path, lambda f: np.savez(f, allow_pickle=False, **arrays))


def atomic_write(path: str, write) -> None:
    """Call ``write(file)`` on a temporary file next to ``path``, fsync it, rename it over
    ``path``: a crash leaves the old file or the new one, never half of one. The temporaries
    that killed saves of the same ``path`` left behind are removed first."""
    directory = os.path.dirname(os.path.abspath(path))
    prefix = "." + os.path.basename(path) + "."
    _remove_stale_temps(directory, prefix)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=".tmp")
    lock = _lock_while_writing(fd)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp made it 0600: an existing file keeps its mode, a new one gets the mode
        # open(path, "w") would give it (0666 less the umask)
        mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        if lock is not None:
            os.close(lock)
    _fsync_dir(directory)


def _umask() -> int:
    """The process umask (read from /proc where it exists: setting it is not thread-safe)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


# A temporary is stale when no live save holds its lock (where fcntl exists; a killed process
# drops its locks) and it is older than a grace period (which covers the instant between
# mkstemp and the lock, and, without fcntl, saves still in progress).
_STALE_AGE_S = {True: 2.0, False: 3600.0}


def _lock_while_writing(fd: int) -> int | None:
    """An exclusive lock on the temporary, held by a duplicate descriptor until the rename."""
    if fcntl is None:
        return None
    lock = os.dup(fd)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
    except OSError:  # a file system without locks: the save goes on unlocked
        os.close(lock)
        return None
    return lock


def _remove_stale_temps(directory: str, prefix: str) -> None:
    """Delete ``prefix + <8 random characters> + .tmp`` files that no save is writing."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        mid = name[len(prefix) : -len(".tmp")]
        if name.startswith(prefix) and name.endswith(".tmp") and len(mid) == 8 and "." not in mid:
            tmp = os.path.join(directory, name)
            if _abandoned(tmp):
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


def _abandoned(tmp: str) -> bool:
    try:
        if time.time() - os.stat(tmp).st_mtime < _STALE_AGE_S[fcntl is not None]:
            return False
        if fcntl is None:
            return True
        fd = os.open(tmp, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released by the close below
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _fsync_dir(directory: str) -> None:
    """Persist the rename (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- load -------------------------------------------------------------------------------


def load(path, like=None, *, format: str | None = None):
    """Read a checkpoint written by :func:`save` (``format`` as there), or any safetensors
    file (e.g. a PyTorch ``state_dict``; see :func:`funcgrad.from_state_dict`).

    With ``like`` (a template pytree, e.g. freshly initialised params), the stored key
    paths, shapes and dtypes must match it (else a ValueError naming the leaf) and the
    result has ``like``'s exact structure (custom nodes included). Without it, dicts,
    lists, tuples and namedtuples are rebuilt from the file (custom pytree nodes come back
    as dicts keyed by their child key paths).

    Array leaves come back as funcgrad arrays (through ``funcgrad.numpy.asarray``, so
    float64 becomes float32 without x64; numpy arrays for dtypes funcgrad arrays do not
    hold); Python scalars come back as they were saved. A foreign safetensors file
    loads as ``{name: Array}``, or onto ``like`` by dotted name as
    :func:`funcgrad.from_state_dict` does.

    Args:
      path: the file to read (str or path-like).
      like: an optional template pytree (see above).
      format: ``"npz"``, ``"safetensors"`` or None (chosen by the file name).

    Returns:
      The pytree.

    Raises:
      FileNotFoundError: (an OSError, as are other failures to open the file) if ``path``
        does not exist.
      ValueError: if the file is corrupt, truncated, of a newer format version or not a
        checkpoint; if it does not match ``like``; for another ``format``.
      ImportError: for safetensors without the ``safetensors`` package.

    >>> import tempfile, os, numpy as np
    >>> p = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
    >>> save(p, {"b": np.zeros(3, np.float32)})
    >>> load(p, like={"b": np.ones(4, np.float32)})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: checkpoint ... leaf ['b']: the file has shape (3,) dtype float32, the ...
    """
    path = os.fspath(path)
    if _format(path, format) == "safetensors":
        from funcgrad._src import safetensors_io

        return safetensors_io.load(path, like)
    meta, values = _read(path)
    return load_parts(path, meta, values, like)


def load_parts(path: str, meta: dict, values: list, like):
    """The tree from the structure description and the leaf values (npz or safetensors)."""
    if like is None:
        try:
            return _rebuild(meta["tree"], _outputs(values))
        except (KeyError, TypeError, ValueError) as e:
            what = f"bad container description: {type(e).__name__}: {e}"
            raise _corrupt(path, what) from None
    return _load_like(path, meta, values, like)


def _format(path: str, format: str | None) -> str:
    if format is None:
        return "safetensors" if path.endswith(".safetensors") else "npz"
    if format not in ("npz", "safetensors"):
        raise ValueError(f"format must be 'npz' or 'safetensors', got {format!r}")
    return format


class _CheckpointError(ValueError):
    """A ValueError raised by this module on purpose (passed through unchanged)."""


def _corrupt(path: str, what) -> ValueError:
    return _CheckpointError(f"checkpoint file {path} is corrupt or truncated: {what}")


def _read(path: str) -> tuple[dict, list]:
    """(metadata, leaf values as numpy arrays / Python values), or a ValueError."""
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise _corrupt(path, "it holds a single .npy array, not a funcgrad checkpoint")
        with npz:
            return _read_npz(path, npz)
    except (FileNotFoundError, IsADirectoryError, PermissionError, _CheckpointError):
        raise
    except (
        ValueError,
        zipfile.BadZipFile,
        OSError,
        EOFError,
        KeyError,
        TypeError,
        zlib.error,
        IndexError,
        OverflowError,
        RecursionError,
    ) as e:
        raise _corrupt(path, f"{type(e).__name__}: {e}") from None


def _read_npz(path: str, npz) -> tuple[dict, list]:
    if _STRUCTURE not in npz.files:
        raise _corrupt(path, f"no {_STRUCTURE} entry (not written by funcgrad's save?)")
    members = _Members(path, npz)
    meta = json.loads(members.get(_STRUCTURE).tobytes().decode("utf-8"))
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise _corrupt(path, f"{_STRUCTURE} does not describe a {_FORMAT} file")
    if not isinstance(meta.get("version"), int) or meta["version"] > FORMAT_VERSION:
        raise _CheckpointError(
            f"checkpoint file {path} has format version {meta.get('version')!r};"
            f" this funcgrad reads versions <= {FORMAT_VERSION}: upgrade funcgrad"
        )
    values = []
    for entry in meta["leaves"]:
        if entry["kind"] == "value":
            values.append(entry["value"])
            continue
        arr = members.get(entry["name"])
        if list(arr.shape) != entry["shape"] or arr.dtype.str != entry["dtype"]:
            raise _corrupt(
                path,
                f"leaf {entry['path']} is {arr.shape} {arr.dtype} but the "
                f"structure says {tuple(entry['shape'])} {entry['dtype']}",
            )
        logical = entry.get("logical")
        if logical is not None:
            if logical != "bfloat16" or arr.dtype != np.uint16:
                raise _corrupt(
                    path,
                    f"leaf {entry['path']}: logical dtype {logical!r} of a "
                    f"{arr.dtype} array (only bfloat16 bits, uint16, exist)",
                )
            if entry["name"] not in members.bf16:
                members.bf16[entry["name"]] = _bf16(arr)
            arr = members.bf16[entry["name"]]
        values.append(arr)
    _check_counts(path, meta, len(values))
    return meta, values


def _bf16(bits: np.ndarray) -> Array:
    return Array(dtypes.bfloat16_from_bits(bits), False, dtypes.bfloat16)


# deflate's largest expansion (about 1032:1, RFC 1951's longest match per 2 bits), plus slack
MAX_DEFLATE_RATIO = 1100


class _Members:
    """The arrays of an npz checkpoint, each read at most once (leaves naming the same entry
    share one read-only array) and only after its declared size has been checked against the
    bytes the file holds for it, so a crafted header cannot make ``load`` allocate more than
    the file (times deflate's ratio for a compressed entry)."""

    def __init__(self, path: str, npz):
        self.path, self.npz, self.cache, self.bf16 = path, npz, {}, {}
        self.file_size = os.path.getsize(path)

    def get(self, name: str) -> np.ndarray:
        if name not in self.cache:
            self._check_size(name)
            arr = self.npz[name]
            arr.flags.writeable = False
            self.cache[name] = arr
        return self.cache[name]

    def _check_size(self, name: str) -> None:
        names = self.npz.zip.namelist()
        key = name if name in names else name + ".npy"
        if key not in names:
            raise _corrupt(self.path, f"no entry {name!r}")
        info = self.npz.zip.getinfo(key)
        limit = info.compress_size
        if info.compress_type != zipfile.ZIP_STORED:
            limit = info.compress_size * MAX_DEFLATE_RATIO + 1024
        with self.npz.zip.open(key) as f:
            version = np.lib.format.read_magic(f)
            read = {(1, 0): np.lib.format.read_array_header_1_0}
            shape, _, dtype = read.get(version, np.lib.format.read_array_header_2_0)(f)
            start = f.tell()
        declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if declared > min(info.file_size, limit) - start:
            raise _corrupt(
                self.path,
                f"entry {name!r} declares {declared} bytes ({shape} {dtype}) but holds at "
                f"most {max(min(info.file_size, limit) - start, 0)} (the file is "
                f"{self.file_size} bytes)",
            )


def _check_counts(path: str, meta: dict, n: int) -> None:
    """The container description must be well formed and number exactly ``n`` leaves."""
    seen: list[int] = []

    def walk(node):
        t = node["t"]
        if t == "leaf":
            seen.append(node["i"])
        elif t not in _NODE_KINDS:
            raise _corrupt(path, f"unknown container type {t!r} in {_STRUCTURE}")
        else:
            for c in node.get("c", ()):
                walk(c)

    walk(meta["tree"])
    if sorted(seen) != list(range(n)):
        raise _corrupt(path, f"the tree has {len(seen)} leaves but {n} are stored")


_NODE_KINDS = ("none", "dict", "list", "tuple", "namedtuple", "node")


def _load_like(path: str, meta: dict, values: list, like):
    like_paths, treedef = tree_flatten_with_path(like)
    stored = [e["path"] for e in meta["leaves"]]
    wanted = [keystr(p) for p, _ in like_paths]
    if stored != wanted:
        missing = [p for p in wanted if p not in stored]
        extra = [p for p in stored if p not in wanted]
        raise ValueError(
            f"checkpoint {path} does not match the template's structure: "
            f"missing from the file {missing or 'nothing'}, in the file but not "
            f"the template {extra or 'nothing'}"
            + ("" if missing or extra else "; the leaf order differs")
        )
    for (p, template), value in zip(like_paths, values):
        _check_leaf(path, keystr(p), template, value)
    return tree_unflatten(treedef, _outputs(values))


def _describe(x) -> str:
    if isinstance(x, np.ndarray):
        return f"shape {x.shape} dtype {x.dtype}"
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"shape {tuple(x.shape)} dtype {_dtype_name(x.dtype)}"
    return f"a Python {type(x).__name__} ({x!r})"


def _dtype_name(dtype) -> str:
    """The dtype's name, byte order aside (safetensors files are always little-endian)."""
    try:
        return str(np.dtype(dtype).newbyteorder("="))
    except TypeError:
        return str(dtype)


def _check_leaf(path: str, name: str, template, value) -> None:
    t_is_array = hasattr(template, "shape") and hasattr(template, "dtype")
    v_is_array = isinstance(value, (np.ndarray, Array))
    ok = t_is_array == v_is_array
    if ok and v_is_array:
        ok = tuple(template.shape) == value.shape and _dtype_name(template.dtype) == _dtype_name(
            value.dtype
        )
    if not ok:
        raise ValueError(
            f"checkpoint {path} leaf {name}: the file has {_describe(value)}, "
            f"the template has {_describe(template)}"
        )


def _outputs(values: list) -> list:
    """``_to_output`` of each value, once per distinct object (shared leaves stay shared)."""
    done: dict[int, Any] = {}
    return [done[id(v)] if id(v) in done else done.setdefault(id(v), _to_output(v)) for v in values]


def _to_output(value):
    """Array leaves as funcgrad arrays when funcgrad.numpy provides asarray."""
    if not isinstance(value, np.ndarray):
        return value
    try:
        from funcgrad.numpy import asarray
    except ImportError:
        return value
    try:
        return asarray(value)
    except (TypeError, ValueError, NotImplementedError):
        return value  # a dtype funcgrad arrays do not hold: keep numpy


def _rebuild(node: dict, leaves: list):
    t = node["t"]
    if t == "leaf":
        return leaves[node["i"]]
    if t == "none":
        return None
    kids = [_rebuild(c, leaves) for c in node["c"]]
    if t == "dict":
        return {_decode_key(k): v for k, v in zip(node["keys"], kids)}
    if t == "list":
        return kids
    if t == "tuple":
        return tuple(kids)
    if t == "namedtuple":
        return collections.namedtuple(node["name"], node["fields"])(*kids)
    if t == "node":
        return dict(zip(node["keys"], kids))
    raise AssertionError(t)  # unreachable: _check_counts validated the kinds


def _decode_key(k):
    kind, value = k
    return value  # str/int/float/bool keys round-trip exactly; others come back as repr
