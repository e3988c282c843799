"""Every public function of funcgrad.random and funcgrad.scipy.special has a Google-style
docstring: a summary, ``Args:`` (when it takes parameters) and ``Returns:``; classes have a
docstring (issue 13)."""

import importlib
import inspect

import pytest

NAMESPACES = ["funcgrad.random", "funcgrad.scipy.special"]


def public_callables(ns):
    mod = importlib.import_module(ns)
    names = getattr(mod, "__all__", [x for x in dir(mod) if not x.startswith("_")])
    for n in sorted(names):
        obj = getattr(mod, n)
        if not inspect.ismodule(obj) and callable(obj):
            yield n, obj


def docstring_problem(obj):
    """What is missing from ``obj``'s docstring, or None."""
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


@pytest.mark.parametrize("ns", NAMESPACES)
def test_public_functions_have_google_docstrings(ns):
    problems = [
        f"{ns}.{n}: {p}" for n, obj in public_callables(ns) if (p := docstring_problem(obj))
    ]
    assert not problems, "\n".join(problems)


def test_the_check_catches_missing_sections():
    def documented(x):
        """Summary.

        Args:
            x: input.

        Returns:
            output.
        """

    def no_args(x):
        """Summary.

        Returns:
            output.
        """

    def no_returns(x):
        """Summary.

        Args:
            x: input.
        """

    def bare(x):
        pass

    assert docstring_problem(documented) is None
    assert docstring_problem(no_args) == "no Args:"
    assert docstring_problem(no_returns) == "no Returns:"
    assert docstring_problem(bare) == "no docstring"
