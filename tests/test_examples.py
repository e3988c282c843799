"""Every example runs (with short settings), so none of them can silently go stale."""

import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = {
    "per_example_gradients.py": ["--batch", "8"],
    "custom_gradient.py": [],
    "second_order.py": ["--steps", "6"],
    "rnn_scan.py": ["--steps", "20"],
    "train_digits.py": ["--epochs", "1", "--quick"],
    "train_resnet.py": ["--epochs", "1", "--quick"],
    "train_cuda.py": ["--quick"],
}


def _load(name):
    spec = importlib.util.spec_from_file_location(name[:-3], ROOT / "examples" / name)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_example_is_listed():
    on_disk = {p.name for p in (ROOT / "examples").glob("*.py")}
    assert on_disk <= set(EXAMPLES), f"examples without a test entry: {on_disk - set(EXAMPLES)}"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_runs(name, tmp_path, monkeypatch):
    if not (ROOT / "examples" / name).exists():
        pytest.skip(f"{name} is not written yet")
    monkeypatch.chdir(tmp_path)
    _load(name).main(EXAMPLES[name])
