"""The source layout: public packages only re-export, the implementation lives in funcgrad/_src
as packages (no lax_*/fnp_* module prefixes), and array.py stays below the numpy layer."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SRC = ROOT / "funcgrad" / "_src"

PUBLIC_INITS = [
    "funcgrad/numpy/__init__.py",
    "funcgrad/numpy/linalg/__init__.py",
    "funcgrad/lax/__init__.py",
    "funcgrad/random/__init__.py",
    "funcgrad/scipy/special/__init__.py",
]
NUMPY_LAYER = ("funcgrad.numpy", "funcgrad._src.numpy", "funcgrad._src.indexing")


def _is_docstring(node) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def _is_all(node) -> bool:
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return isinstance(node, (ast.Assign, ast.AugAssign)) and all(
        isinstance(t, ast.Name) and t.id == "__all__" for t in targets
    )


def _is_trivial_constant(node) -> bool:
    return (
        isinstance(node, ast.Assign)
        and all(isinstance(t, ast.Name) for t in node.targets)
        and isinstance(node.value, ast.Constant)
    )


def _allowed(node) -> bool:
    return (
        _is_docstring(node)
        or isinstance(node, (ast.Import, ast.ImportFrom))
        or _is_all(node)
        or _is_trivial_constant(node)
    )


@pytest.mark.parametrize("path", PUBLIC_INITS)
def test_public_init_only_reexports(path):
    tree = ast.parse((ROOT / path).read_text())
    bad = [
        f"line {node.lineno}: {type(node).__name__} {ast.unparse(node).splitlines()[0][:60]}"
        for node in tree.body
        if not _allowed(node)
    ]
    assert not bad, (
        f"{path} should only import (and set __all__ or trivial constants); move the "
        f"implementation to funcgrad/_src: {bad}"
    )


def test_no_prefixed_modules_in_src():
    prefixed = sorted(
        str(p.relative_to(ROOT))
        for p in SRC.rglob("*.py")
        if p.name.startswith(("lax_", "fnp_")) and "__pycache__" not in p.parts
    )
    assert not prefixed, f"use the _src/lax/ and _src/numpy/ packages instead of: {prefixed}"


def _imported_modules(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) in (
            "import_module",
            "__import__",
        ):
            yield from (a.value for a in node.args if isinstance(a, ast.Constant))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            yield from (a.value for a in node.args if isinstance(a, ast.Constant))


def test_array_does_not_import_the_numpy_layer():
    tree = ast.parse((SRC / "array.py").read_text())
    bad = sorted(
        {m for m in _imported_modules(tree) if isinstance(m, str) and m.startswith(NUMPY_LAYER)}
    )
    assert not bad, f"array.py imports the numpy layer ({bad}); funcgrad.numpy installs operators"


def test_numpy_layer_installs_the_operators():
    import funcgrad as fg  # noqa: F401
    from funcgrad._src.array import Array
    from funcgrad._src.core import Tracer

    for cls in (Array, Tracer):
        for name in ("__add__", "__rmatmul__", "__eq__", "__getitem__", "sum", "reshape"):
            fn = getattr(cls, name)
            assert fn.__module__ == "funcgrad._src.numpy.array_methods", (cls, name)
    x = fg.numpy.arange(3.0)
    assert (x * 2 + 1)[1].item() == 3.0
