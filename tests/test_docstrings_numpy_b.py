"""Every public function of ``funcgrad.numpy`` and ``funcgrad.numpy.linalg`` defined in
reductions, statistics, sorting, sets, products, differences, signal, polynomials,
functional, linalg and linalg_tensor (``funcgrad/_src/numpy/``) has a Google-style
docstring: a one-line summary, ``Args:`` naming every parameter, ``Returns:``; every public
class has a docstring.

The other modules of ``funcgrad/_src/numpy/`` are checked by their own docstring test.
``funcgrad.numpy.linalg`` re-exports one name from elsewhere: numpy's ``LinAlgError``
(``ELSEWHERE``, so that the list cannot grow silently).
"""

import importlib
import inspect

import pytest

NAMESPACES = ["funcgrad.numpy", "funcgrad.numpy.linalg"]
MODULES = {
    f"funcgrad._src.numpy.{m}"
    for m in (
        "reductions",
        "statistics",
        "sorting",
        "sets",
        "products",
        "differences",
        "signal",
        "polynomials",
        "functional",
        "linalg",
        "linalg_tensor",
    )
}
ELSEWHERE = {"funcgrad.numpy.linalg.LinAlgError"}  # numpy.linalg.LinAlgError


def _params(obj):
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return ["?"]
    return [p for p in sig.parameters if p not in ("self", "cls")]


def docstring_problem(obj) -> str | None:
    """What the docstring of ``obj`` lacks, or None (the issue's check)."""
    doc = inspect.getdoc(obj) or ""
    if inspect.isclass(obj):
        return None if doc else "class without docstring"
    if not doc:
        return "no docstring"
    if _params(obj) and "Args:" not in doc:
        return "no Args:"
    if "Returns:" not in doc and "Yields:" not in doc:
        return "no Returns:"
    return None


def undocumented_params(obj) -> list[str]:
    """Public parameters of a function that have no ``name:`` entry under ``Args:``."""
    doc = inspect.getdoc(obj) or ""
    args = doc.partition("Args:")[2].partition("Returns:")[0]
    entries = {line.strip().lstrip("*").partition(":")[0] for line in args.splitlines()}
    return [p for p in _params(obj) if not p.startswith("_") and p not in entries]


def _public(ns):
    mod = importlib.import_module(ns)
    names = getattr(mod, "__all__", [x for x in dir(mod) if not x.startswith("_")])
    for n in sorted(names):
        obj = getattr(mod, n)
        if not inspect.ismodule(obj) and callable(obj):
            yield f"{ns}.{n}", obj


OBJECTS = [(q, o) for ns in NAMESPACES for q, o in _public(ns)]
OURS = [(q, o) for q, o in OBJECTS if getattr(o, "__module__", None) in MODULES]
FUNCTIONS = [(q, o) for q, o in OURS if not inspect.isclass(o)]


@pytest.mark.parametrize("qualname,obj", OURS, ids=[q for q, _ in OURS])
def test_public_docstring(qualname, obj):
    problem = docstring_problem(obj)
    assert problem is None, f"{qualname}: {problem}"


@pytest.mark.parametrize("qualname,obj", FUNCTIONS, ids=[q for q, _ in FUNCTIONS])
def test_every_parameter_is_documented_and_the_summary_is_one_line(qualname, obj):
    assert undocumented_params(obj) == [], f"{qualname}: parameters missing from Args:"
    lines = inspect.getdoc(obj).splitlines()
    assert len(lines) == 1 or not lines[1].strip(), f"{qualname}: the summary is not one line"


def test_only_the_listed_linalg_names_come_from_elsewhere():
    linalg = [(q, o) for q, o in OBJECTS if q.startswith("funcgrad.numpy.linalg.")]
    outside = {q for q, o in linalg if getattr(o, "__module__", None) not in MODULES}
    assert outside == ELSEWHERE
    assert len(OURS) > 100
