"""Every public function and class of the namespaces below has a Google-style docstring: a
one-line summary, an ``Args:`` section when it takes parameters (other than self), and a
``Returns:`` (or ``Yields:``) section when it returns something. Classes document their
constructor arguments under ``Args:``; their public methods are checked as functions.

"Returns something" is read from the source: a ``return <value>`` or ``yield`` in the body
(nested functions aside), unless the return annotation is ``None``. A function whose source
cannot be read (a builtin, a ``functools.partial``) must have the section.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import re
import textwrap

import pytest

# The namespaces walked (the integrator extends this list as packages get documented).
NAMESPACES = [
    "funcgrad.nn",
    "funcgrad.nn.initializers",
    "funcgrad.nn.losses",
    "funcgrad.optim",
    "funcgrad.optim.schedules",
    "funcgrad.optim.losses",
    "funcgrad.optim.tree_utils",
    "funcgrad.optim.contrib",
    "funcgrad.optim.projections",
    "funcgrad.data",
    "funcgrad.tree_util",
    "funcgrad.config",
    "funcgrad.debug",
    "funcgrad.test_util",
    "funcgrad",
    "funcgrad.numpy",
    "funcgrad.numpy.linalg",
    "funcgrad.lax",
    "funcgrad.random",
    "funcgrad.scipy.special",
    "funcgrad.metrics",
]

_SECTION = re.compile(
    r"^\s*(Args|Arguments|Returns|Yields|Raises|Example|Examples|Note):\s*$", re.M
)


def _ours(v) -> bool:
    """Defined by funcgrad (not a typing alias or another library's object)."""
    v = v.func if isinstance(v, functools.partial) else v
    return (getattr(v, "__module__", None) or "").startswith("funcgrad")


def public_names(module) -> list[str]:
    """``__all__`` (else the names not starting with ``_``) that funcgrad defines."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return [
        n for n in names if not inspect.ismodule(getattr(module, n)) and _ours(getattr(module, n))
    ]


def _is_routine(v) -> bool:
    return inspect.isroutine(v) or isinstance(v, functools.partial)


def _public_methods(cls):
    for name, v in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(v, (staticmethod, classmethod)):
            v = v.__func__
        if inspect.isfunction(v):
            yield name, v


def _objects():
    seen = set()
    for mod_name in NAMESPACES:
        module = importlib.import_module(mod_name)
        for name in public_names(module):
            obj = getattr(module, name)
            if id(obj) in seen or not (_is_routine(obj) or inspect.isclass(obj)):
                continue
            seen.add(id(obj))
            yield f"{mod_name}.{name}", obj
            if inspect.isclass(obj):
                for m_name, m in _public_methods(obj):
                    yield f"{mod_name}.{name}.{m_name}", m


OBJECTS = list(_objects())


def _params(obj, is_method: bool) -> list[str]:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return ["?"]  # unknown: must say what it takes
    names = list(sig.parameters)
    return names[1:] if is_method and names and names[0] in ("self", "cls") else names


def _body_returns_value(fn) -> bool:
    """A ``return <value>`` / ``yield`` in the function's own body (not in nested defs)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    root = tree.body[0]
    todo = list(ast.iter_child_nodes(root))
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                return True
        todo.extend(ast.iter_child_nodes(node))
    return False


def returns_something(fn) -> bool:
    if isinstance(fn, functools.partial):
        return True
    ann = getattr(fn, "__annotations__", {}).get("return", inspect.Signature.empty)
    if ann is None or ann == "None":
        return False
    try:
        return _body_returns_value(inspect.unwrap(fn))
    except (OSError, TypeError, SyntaxError, IndexError):
        return True


def docstring_problems(qualname: str, obj) -> list[str]:
    """What the docstring of ``obj`` lacks (empty: nothing)."""
    doc = inspect.getdoc(obj) if not isinstance(obj, functools.partial) else obj.__doc__
    if inspect.isclass(obj) and doc == inspect.getdoc(obj.__mro__[1]) and obj.__doc__ is None:
        doc = None  # inherited from a base class: not its own
    if not doc or not doc.strip().splitlines()[0].strip():
        return ["no summary line"]
    problems = []
    sections = set(_SECTION.findall(doc))
    is_method = qualname.count(".") > 1 and inspect.isfunction(obj) and "." in obj.__qualname__
    params = _params(obj, is_method)
    if inspect.isclass(obj) and getattr(obj, "_is_protocol", False):
        params = []  # a typing.Protocol is never constructed
    if params and not sections & {"Args", "Arguments"}:
        problems.append(f"no Args: section (takes {', '.join(params)})")
    if not inspect.isclass(obj) and returns_something(obj):
        if not sections & {"Returns", "Yields"}:
            problems.append("no Returns: section")
    return problems


@pytest.mark.parametrize("qualname,obj", OBJECTS, ids=[q for q, _ in OBJECTS])
def test_public_docstring(qualname, obj):
    problems = docstring_problems(qualname, obj)
    assert not problems, f"{qualname}: {'; '.join(problems)}"


def test_namespaces_have_public_objects():
    assert len(OBJECTS) > 100


def test_the_check_can_fail():
    def undocumented(x):
        return x

    def no_returns(x):
        """Double it.

        Args:
          x: a number.
        """
        return 2 * x

    def documented(x) -> None:
        """Print it.

        Args:
          x: a number.
        """
        print(x)

    assert docstring_problems("m.undocumented", undocumented) == ["no summary line"]
    assert docstring_problems("m.no_returns", no_returns) == ["no Returns: section"]
    assert docstring_problems("m.documented", documented) == []
