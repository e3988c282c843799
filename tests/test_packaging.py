"""Guards for the install layout: every package is listed, backend/ installs as funcgrad.backend,
and `import funcgrad` stays light (no llvmlite, no CUDA)."""

import pathlib
import subprocess
import sys

try:
    import tomllib
except ImportError:  # pragma: no cover
    tomllib = None

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _pyproject():
    if tomllib is None:
        pytest.skip("tomllib needs Python 3.11")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _packages_on_disk():
    found = set()
    for top, prefix in (("funcgrad", "funcgrad"), ("backend", "funcgrad.backend")):
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top)
            parts = [] if str(rel) == "." else list(rel.parts)
            if "__pycache__" in parts:
                continue
            found.add(".".join([prefix] + parts))
    return found


def test_every_package_is_listed():
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    on_disk = _packages_on_disk()
    assert on_disk - listed == set(), f"packages missing from pyproject.toml: {on_disk - listed}"
    assert listed - on_disk == set(), f"listed packages that do not exist: {listed - on_disk}"


def test_backend_maps_into_funcgrad():
    mapping = _pyproject()["tool"]["setuptools"]["package-dir"]
    assert mapping["funcgrad.backend"] == "backend"
    import funcgrad.backend.cpu as cpu

    assert pathlib.Path(cpu.__file__).resolve().parent == ROOT / "backend" / "cpu"


def test_runtime_dependencies_are_numpy_and_llvmlite_only():
    deps = _pyproject()["project"]["dependencies"]
    names = sorted(d.split(">")[0].split("=")[0].split("<")[0].strip() for d in deps)
    assert names == ["llvmlite", "numpy"]


def test_import_is_light():
    code = (
        "import sys, funcgrad, funcgrad.numpy, funcgrad.nn, funcgrad.optim, funcgrad.random;"
        "bad=[m for m in sys.modules if m.startswith('llvmlite') or 'cuda' in m];"
        "print(bad); assert not bad, bad"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_cmd = [line for line in ci.splitlines() if line.startswith("pip install -e")][0]
    assert test_cmd in readme


def test_optional_extras_are_declared_and_never_imported_by_funcgrad():
    extras = _pyproject()["project"]["optional-dependencies"]
    assert extras["plot"] == ["matplotlib>=3.5"]
    assert extras["tensorboard"] == ["tensorboardX>=2.6"]
    assert extras["safetensors"] == ["safetensors>=0.4"]
    assert set(extras["plot"] + extras["tensorboard"] + extras["safetensors"]) <= set(
        extras["test"]
    )  # CI (pip install -e ".[test]") runs their tests
    code = (
        "import sys, funcgrad, funcgrad.metrics, funcgrad.numpy;"
        "bad=[m for m in ('matplotlib','tensorboardX','safetensors','torch') if m in sys.modules];"
        "print(bad); assert not bad, bad"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_readme_first_command_installs_the_plot_extra_and_trains():
    readme = (ROOT / "README.md").read_text()
    first = readme.split("```bash\n", 1)[1].split("\n", 1)[0]
    assert first == 'pip install -e ".[plot]" && python examples/train_digits.py'
