"""An optional on-disk cache of compiled machine code, so a second process starts fast.

Enabled by ``config.disk_cache_dir`` (``FUNCGRAD_CACHE_DIR``). The key hashes the unoptimised
LLVM IR, the llvmlite/LLVM versions, the host CPU name and features and funcgrad's version, so
a changed program, compiler or machine never reuses stale code. Entries are written atomically
(temporary file, fsync, ``os.replace``) and carry a SHA-256 of their bytes that is checked
before use, so a truncated or corrupt entry is ignored and rebuilt, never loaded.

The cache directory is TRUSTED: a cache entry is machine code that funcgrad loads and runs,
and the SHA-256 is an integrity check only (it catches truncation and corruption, not an
attacker, who can write a matching digest). So the directory must be private: it is created
with mode 0700, and it and each directory above it must belong to the current user (or root)
and must not be writable by other users, unless sticky (``/tmp``-like, where others cannot
rename or replace what they do not own). Anything else is refused with ``CacheDirError``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import stat
import tempfile

_MAGIC = b"FGOBJ1\n"


class CacheDirError(RuntimeError):
    pass


def key(ir_text: str, cpu: str, features: str) -> str:
    import llvmlite
    import llvmlite.binding as llvm

    h = hashlib.sha256()
    for part in (
        ir_text,
        llvmlite.__version__,
        ".".join(map(str, llvm.llvm_version_info)),
        cpu,
        features,
        _funcgrad_version(),
    ):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def _funcgrad_version() -> str:
    try:
        return importlib.metadata.version("funcgrad")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        return "unknown"


def _check_private(path: str) -> None:
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise CacheDirError(f"compile cache {path!r} is not a directory")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise CacheDirError(
            f"compile cache {path!r} belongs to another user; use a private "
            f"directory (config.disk_cache_dir / FUNCGRAD_CACHE_DIR)"
        )
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise CacheDirError(
            f"compile cache {path!r} is writable by other users (mode "
            f"{oct(st.st_mode & 0o777)}); funcgrad only loads machine code from "
            f"a private directory: chmod 700 it or choose another"
        )


def _check_ancestors(path: str) -> None:
    """Whoever can write a directory above the cache can swap the cache for their own."""
    parent = os.path.dirname(path)
    while parent and parent != path:
        st = os.stat(parent)
        if hasattr(os, "getuid") and st.st_uid not in (os.getuid(), 0):
            raise CacheDirError(
                f"compile cache {path!r}: its parent directory {parent!r} belongs to another "
                f"user, who could replace the cache; use a directory inside your own"
            )
        others = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        if others and not st.st_mode & stat.S_ISVTX:
            raise CacheDirError(
                f"compile cache {path!r}: its parent directory {parent!r} is writable by "
                f"other users (mode {oct(st.st_mode & 0o7777)}, not sticky), who could "
                f"replace the cache; use a directory inside a private one"
            )
        path, parent = parent, os.path.dirname(parent)


def ensure_dir(path: str) -> str:
    """The absolute cache directory, created private (0700) and checked with its parents.

    Raises:
      CacheDirError: if it, or a directory above it, is not private (see the module docstring).
    """
    path = os.path.abspath(os.path.expanduser(path))
    os.makedirs(path, mode=0o700, exist_ok=True)
    _check_private(path)
    _check_ancestors(path)
    return path


def read(path: str, k: str) -> bytes | None:
    """The cached object code for key ``k``, or None (missing, truncated or corrupt)."""
    try:
        with open(os.path.join(path, k + ".o"), "rb") as f:
            data = f.read()
    except OSError:
        return None
    head = len(_MAGIC) + 64
    if len(data) < head or not data.startswith(_MAGIC):
        return None
    digest, body = data[len(_MAGIC) : head].decode("ascii", "replace"), data[head:]
    return body if hashlib.sha256(body).hexdigest() == digest else None


def write(path: str, k: str, obj: bytes) -> None:
    """Atomically store object code under key ``k``."""
    payload = _MAGIC + hashlib.sha256(obj).hexdigest().encode() + obj
    fd, tmp = tempfile.mkstemp(dir=path, prefix=".tmp-", suffix=".o")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(path, k + ".o"))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
