"""Every ```python block in README.md and docs/ runs (blocks of one file share a namespace,
in order), so the documentation cannot silently go stale."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


# Optional packages a page may use (the extras plot/tensorboard/safetensors, and PyTorch for
# interchange, which the test extra does not install): without one, the page's remaining
# blocks are reported as skipped. Pages put such blocks last.
OPTIONAL = ("matplotlib", "tensorboardX", "safetensors", "torch")


def _optional_missing(e: ImportError) -> str | None:
    name = (getattr(e, "name", None) or "").split(".")[0]
    if name in OPTIONAL:
        return name
    if "optional extra" in str(e):  # funcgrad's own message naming the extra to install
        return next((m for m in OPTIONAL if m in str(e)), None)
    return None


def blocks(path):
    return BLOCK.findall(path.read_text())


@pytest.mark.parametrize(
    "path", [p for p in FILES if blocks(p)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_markdown_code_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns = {"__name__": "__docs__"}
    for i, code in enumerate(blocks(path)):
        try:
            exec(compile(code, f"{path.name}[block {i}]", "exec"), ns)
        except ImportError as e:
            missing = _optional_missing(e)
            if missing is None:
                raise AssertionError(
                    f"{path.relative_to(ROOT)} block {i} failed: {e!r}\n{code}"
                ) from e
            pytest.skip(f"block {i} and after need the optional package {missing}")
        except Exception as e:  # pragma: no cover - the message is the point
            raise AssertionError(f"{path.relative_to(ROOT)} block {i} failed: {e!r}\n{code}") from e


LINK = re.compile(r"\]\(([^)#\s,*]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_to_files(path):
    missing = [
        link
        for link in LINK.findall(path.read_text())
        if not link.startswith(("http://", "https://")) and not (path.parent / link).exists()
    ]
    assert not missing, f"{path.relative_to(ROOT)} links to missing files: {missing}"
