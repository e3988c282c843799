"""The tree stays ``ruff format``-ed and ``ruff check``-clean (rules E, F, I, UP, B; see
``[tool.ruff.lint]`` in pyproject.toml). ruff comes with the ``test`` extra."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff(*args):
    exe = shutil.which("ruff")
    cmd = [exe] if exe else [sys.executable, "-m", "ruff"]
    try:
        return subprocess.run([*cmd, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    except FileNotFoundError:
        pytest.fail("ruff is not installed: pip install -e '.[test]'")


def test_ruff_check_is_clean():
    r = _ruff("check", "--no-cache", ".")
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_format_is_clean():
    r = _ruff("format", "--check", "--no-cache", ".")
    assert r.returncode == 0, r.stdout + r.stderr
