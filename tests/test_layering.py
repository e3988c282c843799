"""Imports point one way: front end -> target registry -> target -> {lower, llvm, kernel_ir} ->
core IR. Checked on the source with ``ast`` (every ``import``, also inside functions), so a
lazy import cannot hide a wrong arrow."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
TARGET_NAMES = {"cpu", "cuda", "ref"}
# what backend/ may import from funcgrad: the core IR, dtypes, primitives of the lax modules,
# the configuration and itself
BACKEND_MAY_IMPORT = (
    "funcgrad._src.core",
    "funcgrad._src.dtypes",
    "funcgrad._src.lax.",  # the lax package: funcgrad/_src/lax/*.py
    "funcgrad.config",
)
# (``from funcgrad._src import core``, ``from funcgrad._src.lax import elementwise``)
BACKEND_MAY_IMPORT_EXACT = {"funcgrad._src", "funcgrad._src.lax"}


def _module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] == "backend":
        parts = ["funcgrad", "backend"] + parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(source: str, package: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import of a module of ``package``;
    ``from x import y`` gives ``x`` and ``x.y`` (y may be a submodule)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")
                up = up[: len(up) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            out.append((node.lineno, base))
            out += [(node.lineno, f"{base}.{a.name}") for a in node.names]
    return out


def _files(*tops):
    for top in tops:
        yield from sorted((ROOT / top).rglob("*.py"))


def _package_of(path: pathlib.Path) -> str:
    name = _module_name(path)
    return name if path.name == "__init__.py" else name.rsplit(".", 1)[0]


def _imports(path: pathlib.Path):
    return imports_of(path.read_text(), _package_of(path))


def cross_target_violations(path, imports) -> list:
    name = _module_name(path)
    bad = []
    for a, b in (("cpu", "cuda"), ("cuda", "cpu")):
        if name.startswith(f"funcgrad.backend.{a}"):
            bad += [(n, m) for n, m in imports if m.startswith(f"funcgrad.backend.{b}")]
    return bad


def backend_upward_violations(imports) -> list:
    def allowed(m):
        if not m.startswith("funcgrad") or m.startswith("funcgrad.backend"):
            return True
        return m in BACKEND_MAY_IMPORT_EXACT or m.startswith(BACKEND_MAY_IMPORT)

    return [(n, m) for n, m in imports if not allowed(m)]


def _is_backend_module(name: str) -> bool:
    """``funcgrad.backend.<x>...`` where ``x`` is a subpackage or module (not a name of the
    registry, which is ``funcgrad.backend`` itself)."""
    parts = name.split(".")
    if parts[:2] != ["funcgrad", "backend"] or len(parts) < 3:
        return False
    return (ROOT / "backend" / parts[2]).is_dir() or (ROOT / "backend" / f"{parts[2]}.py").exists()


def front_end_violations(imports) -> list:
    """funcgrad/_src may reach a target only through the registry (``funcgrad.backend``)."""
    return [(n, m) for n, m in imports if _is_backend_module(m)]


def target_name_violations(source: str) -> list:
    """String constants (not docstrings) that are exactly a target name."""
    tree = ast.parse(source)
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    return [
        (n.lineno, n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and id(n) not in docstrings
        and n.value.strip().lower() in TARGET_NAMES
    ]


@pytest.mark.parametrize("path", list(_files("backend")), ids=lambda p: str(p.relative_to(ROOT)))
def test_backend_imports(path):
    imports = _imports(path)
    assert not cross_target_violations(path, imports), cross_target_violations(path, imports)
    assert not backend_upward_violations(imports), backend_upward_violations(imports)


@pytest.mark.parametrize(
    "path", list(_files("funcgrad/_src")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_front_end_reaches_targets_through_the_registry(path):
    bad = front_end_violations(_imports(path))
    assert not bad, bad


def test_jit_names_no_target():
    bad = target_name_violations((ROOT / "funcgrad" / "_src" / "jit.py").read_text())
    assert not bad, bad


def test_the_eager_path_does_not_import_the_backends():
    imports = _imports(ROOT / "funcgrad" / "_src" / "array.py")
    assert not [m for _, m in imports if m.startswith("funcgrad.backend")]


# ---- each check can fail ------------------------------------------------------------------------


def _fake(rel: str) -> pathlib.Path:
    return ROOT / rel


@pytest.mark.parametrize(
    "rel,line",
    [
        ("backend/cuda/compiler.py", "from funcgrad.backend.cpu import fusion"),
        ("backend/cuda/ops/conv.py", "from ...cpu import codegen"),
        ("backend/cpu/codegen.py", "from ..cuda import ptx"),
        ("backend/cpu/executable.py", "import funcgrad.backend.cuda.runtime"),
    ],
)
def test_cross_target_check_fails_on_a_bad_import(rel, line):
    imports = imports_of(line, _package_of(_fake(rel)))
    assert cross_target_violations(_fake(rel), imports)


@pytest.mark.parametrize(
    "line",
    [
        "from funcgrad._src import jit",
        "from funcgrad._src.jit import trace_ms",
        "from funcgrad._src.array import Array",
        "import funcgrad",
        "from funcgrad import lax",
        "import funcgrad.numpy as fnp",
        "from funcgrad import __version__",
    ],
)
def test_backend_upward_check_fails_on_a_bad_import(line):
    assert backend_upward_violations(imports_of(line, "funcgrad.backend.lower"))


def test_backend_upward_check_allows_the_core():
    ok = "from funcgrad._src import core, dtypes\nfrom funcgrad._src.lax.structural import x_p"
    assert not backend_upward_violations(imports_of(ok, "funcgrad.backend.lower"))


@pytest.mark.parametrize(
    "line",
    [
        "from funcgrad.backend.cpu import executable",
        "from funcgrad.backend.cuda import runtime",
        "import funcgrad.backend.cuda.driver",
        "from funcgrad.backend.lower import bf16",
    ],
)
def test_front_end_check_fails_on_a_bad_import(line):
    assert front_end_violations(imports_of(line, "funcgrad._src"))


def test_front_end_check_allows_the_registry():
    ok = "from funcgrad.backend import FastCall, get_target\nimport funcgrad.backend"
    assert not front_end_violations(imports_of(ok, "funcgrad._src"))


def test_target_name_check_fails_on_a_name():
    assert target_name_violations('def f(b):\n    """cpu"""\n    return b == "cuda"\n')
    assert not target_name_violations('def f(b):\n    """On "cpu" or "cuda"."""\n    return b\n')
