"""Every public function of ``funcgrad.lax`` has a Google-style docstring: a summary line,
``Args:`` when it takes parameters and ``Returns:``; every public class has a docstring.

Names that ``funcgrad.lax`` re-exports from outside ``funcgrad/_src/lax`` are documented by
their own modules' owners: they are listed in ``ELSEWHERE`` so that the list cannot grow
silently (``tests/test_docstrings.py``, where present, checks them with its namespaces).
"""

import importlib
import inspect

import pytest

NAMESPACES = ["funcgrad.lax"]
ELSEWHERE = {"funcgrad.lax.stop_gradient"}  # _src/custom_derivatives.py (test_docstrings.py)


def docstring_problem(obj) -> str | None:
    """What the docstring of ``obj`` lacks, or None."""
    doc = inspect.getdoc(obj) or ""
    if inspect.isclass(obj):
        return None if doc else "class without docstring"
    try:
        params = [p for p in inspect.signature(obj).parameters if p not in ("self", "cls")]
    except (TypeError, ValueError):
        params = ["?"]
    if not doc:
        return "no docstring"
    if params and "Args:" not in doc:
        return "no Args:"
    if "Returns:" not in doc and "Yields:" not in doc:
        return "no Returns:"
    return None


def _public(ns):
    mod = importlib.import_module(ns)
    names = getattr(mod, "__all__", [x for x in dir(mod) if not x.startswith("_")])
    for n in sorted(names):
        obj = getattr(mod, n)
        if not inspect.ismodule(obj) and callable(obj):
            yield f"{ns}.{n}", obj


OBJECTS = [(q, o) for ns in NAMESPACES for q, o in _public(ns)]
OURS = [(q, o) for q, o in OBJECTS if q not in ELSEWHERE]


@pytest.mark.parametrize("qualname,obj", OURS, ids=[q for q, _ in OURS])
def test_public_docstring(qualname, obj):
    problem = docstring_problem(obj)
    assert problem is None, f"{qualname}: {problem}"


def test_only_the_listed_names_come_from_elsewhere():
    outside = {q for q, o in OBJECTS if not o.__module__.startswith("funcgrad._src.lax")}
    assert outside == ELSEWHERE
    assert len(OURS) > 120


def test_the_check_can_fail():
    def bare(x):
        return x

    def no_returns(x):
        """Double it.

        Args:
          x: a number.
        """
        return 2 * x

    def fine(x):
        """Double it.

        Args:
          x: a number.

        Returns:
          ``2 * x``.
        """
        return 2 * x

    assert docstring_problem(bare) == "no docstring"
    assert docstring_problem(no_returns) == "no Returns:"
    assert docstring_problem(fine) is None
