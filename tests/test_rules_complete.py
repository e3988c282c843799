"""Every primitive has every rule (impl, abstract eval, jvp, vjp, vmap) or is on the allow-list
(STYLE principle 2)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import funcgrad as fg
import funcgrad._src
import funcgrad.lax as lax
from funcgrad._src import ad, batching, core

# Primitives allowed to miss a rule, and why. Keep this list short.
ALLOWED_MISSING = {
    # trigamma is only the derivative of digamma; it has no derivative of its own (so third
    # derivatives of lgamma and second derivatives of digamma are unsupported)
    "trigamma": {"jvp", "vjp"},
}


def _all_primitives() -> dict:
    """Primitive objects found in the globals of every module of funcgrad._src (and the
    public packages that import it), plus every key of the rule tables."""
    prims: dict[int, core.Primitive] = {}
    for info in pkgutil.iter_modules(funcgrad._src.__path__):
        mod = importlib.import_module(f"funcgrad._src.{info.name}")
        for v in vars(mod).values():
            if isinstance(v, core.Primitive):
                prims[id(v)] = v
    for table in (
        core.impl_rules,
        core.abstract_eval_rules,
        ad.jvp_rules,
        ad.vjp_rules,
        ad.vjp_fwd_rules,
        batching.vmap_rules,
    ):
        for p in table:
            prims[id(p)] = p
    return {p.name: p for p in prims.values()}


PRIMS = _all_primitives()


def _missing(p) -> set:
    tables = {
        "impl": core.impl_rules,
        "abstract_eval": core.abstract_eval_rules,
        "jvp": ad.jvp_rules,
        "vmap": batching.vmap_rules,
    }
    out = {name for name, t in tables.items() if p not in t}
    if p not in ad.vjp_rules and p not in ad.vjp_fwd_rules:
        out.add("vjp")
    return out


def test_found_the_primitive_set():
    for name in (
        "sin",
        "add",
        "dot_general",
        "conv_general_dilated",
        "gather",
        "scatter_add",
        "sort",
        "cumsum",
        "pjit",
        "custom_jvp_call",
        "custom_vjp_call",
        "checkpoint",
        "stop_gradient",
        "iota",
        "pad",
        "select_n",
    ):
        assert name in PRIMS, name
    assert len(PRIMS) > 80


def test_names_are_unique():
    objs: dict[str, set] = {}
    for info in pkgutil.iter_modules(funcgrad._src.__path__):
        mod = importlib.import_module(f"funcgrad._src.{info.name}")
        for v in vars(mod).values():
            if isinstance(v, core.Primitive):
                objs.setdefault(v.name, set()).add(id(v))
    dups = {n for n, ids in objs.items() if len(ids) > 1}
    assert not dups, f"two different primitives share a name: {sorted(dups)}"


@pytest.mark.parametrize("name", sorted(PRIMS))
def test_primitive_has_every_rule(name):
    missing = _missing(PRIMS[name])
    allowed = ALLOWED_MISSING.get(name, set())
    assert missing <= allowed, (
        f"primitive '{name}' has no {sorted(missing - allowed)} "
        f"rule(s); add them, or put it on ALLOWED_MISSING with a "
        f"comment saying why"
    )


@pytest.mark.parametrize("name", sorted(ALLOWED_MISSING))
def test_allow_list_is_not_stale(name):
    assert name in PRIMS, f"allow-listed primitive '{name}' no longer exists"
    assert _missing(PRIMS[name]) == ALLOWED_MISSING[name], (
        f"'{name}' now has rules the allow-list says it lacks: shrink ALLOWED_MISSING"
    )


def test_a_missing_rule_names_the_primitive_and_transformation():
    with pytest.raises(NotImplementedError, match=r"'trigamma'.*jvp"):
        fg.jvp(fg.grad(lax.digamma), (1.5,), (1.0,))
    with pytest.raises(NotImplementedError, match=r"'trigamma'.*(vjp|reverse)"):
        fg.grad(fg.grad(lax.digamma))(1.5)
