"""The optional on-disk cache of compiled code: a second process (here: a cleared in-memory
cache) loads machine code instead of compiling; corrupt entries and shared dirs are refused."""

import os
import subprocess
import sys

import numpy as np
import pytest
from funcgrad.backend.cpu import disk_cache, engine

from funcgrad.config import config

IR = """
define float @twice(float %x) {
  %y = fmul float %x, 2.0
  ret float %y
}
"""


def test_second_compile_loads_from_the_cache(tmp_path):
    with config.override(disk_cache_dir=str(tmp_path / "cache")):
        first = engine.compile_module(IR, name="m")
        second = engine.compile_module(IR, name="m")
    assert not first.from_disk_cache and second.from_disk_cache
    assert os.stat(tmp_path / "cache").st_mode & 0o777 == 0o700
    import ctypes

    f = ctypes.CFUNCTYPE(ctypes.c_float, ctypes.c_float)(second.address("twice"))
    assert f(3.0) == 6.0
    assert "fmul" in second.ir_opt  # recomputed on demand
    assert not [p for p in os.listdir(tmp_path / "cache") if p.startswith(".tmp")]


def test_corrupt_entries_are_ignored_and_rebuilt(tmp_path):
    d = str(tmp_path / "c")
    with config.override(disk_cache_dir=d):
        engine.compile_module(IR, name="m")
        (entry,) = [p for p in os.listdir(d) if p.endswith(".o")]
        data = open(os.path.join(d, entry), "rb").read()
        open(os.path.join(d, entry), "wb").write(data[: len(data) // 2])  # truncated
        again = engine.compile_module(IR, name="m")
    assert not again.from_disk_cache
    import ctypes

    assert ctypes.CFUNCTYPE(ctypes.c_float, ctypes.c_float)(again.address("twice"))(2.0) == 4.0


def test_a_shared_directory_is_refused(tmp_path):
    d = tmp_path / "shared"
    d.mkdir(mode=0o777)
    os.chmod(d, 0o777)
    with config.override(disk_cache_dir=str(d)):
        with pytest.raises(disk_cache.CacheDirError, match="writable by other users"):
            engine.compile_module(IR, name="m")


def test_jit_in_a_second_process_uses_the_cache(tmp_path):
    code = (
        "import numpy as np, funcgrad as fg, funcgrad.numpy as fnp;"
        "f = fg.jit(lambda x: fnp.tanh(x) * 2 + fnp.sin(x));"
        "x = np.ones(8, np.float32); c = f.lower(x).compile();"
        "print(float(c(x)[0]), c._exe.compiled.from_disk_cache)"
    )
    env = dict(os.environ, FUNCGRAD_CACHE_DIR=str(tmp_path / "jc"))
    outs = [
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        for _ in range(2)
    ]
    for r in outs:
        assert r.returncode == 0, r.stderr
    (v1, hit1), (v2, hit2) = (r.stdout.split() for r in outs)
    assert (hit1, hit2) == ("False", "True") and v1 == v2
    assert np.isclose(float(v1), np.tanh(1) * 2 + np.sin(1))
    assert len([p for p in os.listdir(tmp_path / "jc") if p.endswith(".o")]) >= 1


def test_a_cache_inside_a_shared_parent_is_refused(tmp_path):
    """Whoever can write the parent can rename the private cache away and put theirs there."""
    parent = tmp_path / "open"
    parent.mkdir()
    os.chmod(parent, 0o777)
    with pytest.raises(disk_cache.CacheDirError, match="parent directory .* writable"):
        disk_cache.ensure_dir(str(parent / "cache"))
    deeper = parent / "mine"  # a private directory under a shared one is no better
    deeper.mkdir(mode=0o700)
    with pytest.raises(disk_cache.CacheDirError, match="writable by other users"):
        disk_cache.ensure_dir(str(deeper / "cache"))


def test_a_sticky_shared_parent_like_tmp_is_accepted(tmp_path):
    parent = tmp_path / "sticky"
    parent.mkdir()
    os.chmod(parent, 0o1777)
    path = disk_cache.ensure_dir(str(parent / "cache"))
    assert os.stat(path).st_mode & 0o777 == 0o700


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs chown (root)")
def test_a_parent_owned_by_another_user_is_refused(tmp_path):
    parent = tmp_path / "theirs"
    parent.mkdir(mode=0o755)
    os.chown(parent, 12345, 12345)
    with pytest.raises(disk_cache.CacheDirError, match="belongs to another user"):
        disk_cache.ensure_dir(str(parent / "cache"))
