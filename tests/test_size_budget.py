"""The size budget (as tinygrad's ``sz.py``): small modules and short functions stay readable.

A module of the library (``funcgrad/`` and ``backend/``) holds at most ``MODULE_LINES`` lines;
a function or method at most ``FUNCTION_LINES``, counted from its ``def`` to its last line, less
its docstring. A module or function that outgrows the budget is split by concept, not given an
exception here.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("funcgrad", "backend")
MODULE_LINES = 800
FUNCTION_LINES = 60


def _modules():
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _docstring_lines(fn) -> int:
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        if isinstance(body[0].value.value, str):
            return body[0].end_lineno - body[0].lineno + 1
    return 0


def function_lengths(source: str):
    """Yield ``(qualified name, line, length)`` for every function in ``source``."""

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            name = prefix
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                length = child.end_lineno - child.lineno + 1 - _docstring_lines(child)
                yield name, child.lineno, length
                name += "."
            elif isinstance(child, ast.ClassDef):
                name = f"{prefix}{child.name}."
            yield from walk(child, name)

    yield from walk(ast.parse(source), "")


def test_the_budget_sees_the_library():
    names = {p.relative_to(ROOT).as_posix() for p in _modules()}
    assert "funcgrad/__init__.py" in names and "backend/__init__.py" in names
    assert len(names) > 50


def test_the_function_counter_counts():
    src = (
        'def f(x):\n    """doc\n    more"""\n    a = 1\n    return a\n\n'
        "class C:\n    def g(self):\n        pass\n"
    )
    assert list(function_lengths(src)) == [("f", 1, 3), ("C.g", 8, 2)]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_module_within_budget(path):
    source = path.read_text()
    lines = source.count("\n") + (not source.endswith("\n") and bool(source))
    assert lines <= MODULE_LINES, (
        f"{path.relative_to(ROOT)} has {lines} lines (budget {MODULE_LINES}): split it by concept"
    )
    long = [
        f"{name} (line {line}: {length} lines)"
        for name, line, length in function_lengths(source)
        if length > FUNCTION_LINES
    ]
    assert not long, (
        f"{path.relative_to(ROOT)}: functions over {FUNCTION_LINES} lines (docstring excluded): "
        + ", ".join(long)
        + "; split them into named steps"
    )
