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


def test_train_digits_leaves_readable_figures(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    monkeypatch.chdir(tmp_path)
    _load("train_digits.py").main(["--epochs", "2", "--quick", "--out", "run"])
    out = tmp_path / "run"
    for name in ("curves.png", "confusion.png", "misclassified.png"):
        pixels = imread(out / name)
        assert pixels.shape[0] > 200 and pixels.shape[1] > 400, name
        assert pixels[..., :3].std() > 0.05, f"{name} looks blank"
    assert {"model.npz", "steps.csv", "epochs.csv", "metrics.json"} <= {
        p.name for p in out.iterdir()
    }


def test_train_digits_without_matplotlib_says_how_to_get_figures(tmp_path, monkeypatch, capsys):
    import sys

    for mod in ("matplotlib", "matplotlib.figure"):
        monkeypatch.setitem(sys.modules, mod, None)
    monkeypatch.chdir(tmp_path)
    _load("train_digits.py").main(["--epochs", "1", "--quick", "--out", "run"])
    printed = capsys.readouterr().out
    assert "funcgrad[plot]" in printed and '".[plot]"' in printed
    names = {p.name for p in (tmp_path / "run").iterdir()}
    assert not any(n.endswith(".png") for n in names)
    assert {"steps.csv", "epochs.csv", "metrics.json", "model.npz"} <= names
