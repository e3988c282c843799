"""Google-style docstrings (Args:/Returns:) on every public function of funcgrad.numpy that is
defined in the modules below (issue 13). The rest of funcgrad.numpy (reductions, sorting,
products, ...) is checked by its own test."""

import importlib
import inspect

import pytest

MODULES = {
    f"funcgrad._src.numpy.{m}"
    for m in (
        "ufuncs math transcendental float_routines bitwise logic creation ranges conversion "
        "dtype_routines constants shape joining indexing index_tricks array_methods"
    ).split()
}


def _public_callables(ns="funcgrad.numpy"):
    mod = importlib.import_module(ns)
    names = getattr(mod, "__all__", [x for x in dir(mod) if not x.startswith("_")])
    for n in sorted(names):
        obj = getattr(mod, n)
        if inspect.ismodule(obj) or not callable(obj):
            continue
        if getattr(obj, "__module__", None) in MODULES:
            yield n, obj


def _problem(obj):
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


def test_every_public_function_has_a_google_docstring():
    checked = dict(_public_callables())
    problems = [f"{n}: {p}" for n, obj in checked.items() if (p := _problem(obj))]
    assert not problems, "funcgrad.numpy docstrings missing:\n" + "\n".join(problems)
    # the filter must not quietly select nothing
    assert len(checked) > 150
    seen = {obj.__module__ for obj in checked.values()}
    assert seen >= MODULES - {"funcgrad._src.numpy.constants", "funcgrad._src.numpy.array_methods"}


def test_the_check_catches_a_missing_section():
    def f(x):
        """Summary only."""

    def g(x):
        """Summary.

        Args:
            x: input.
        """

    assert _problem(f) == "no Args:" and _problem(g) == "no Returns:"


@pytest.mark.parametrize(
    "name", [n for n, o in _public_callables() if o.__module__ == "funcgrad._src.numpy.ufuncs"]
)
def test_generated_ufunc_docstrings_name_their_function(name):
    import funcgrad.numpy as fnp

    f = getattr(fnp, name)
    doc = inspect.getdoc(f)
    summary = doc.splitlines()[0]
    assert summary.strip() and summary.endswith(".")  # every factory call gives a summary
    assert f"``numpy.{f.__name__}``" in doc
    args = doc.split("Args:")[1].split("Returns:")[0]
    params = list(inspect.signature(f).parameters)
    assert [ln.split(":")[0].strip() for ln in args.strip().splitlines() if ": " in ln] == params
