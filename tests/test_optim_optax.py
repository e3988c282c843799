"""funcgrad.optim against recorded Optax 0.2.x runs (tests/data/optax_reference.json, made by
tests/data/make_optax_reference.py): every alias for 5 steps on a small logistic problem
(params and updates per step), every transform on a fixed gradient sequence, every schedule
at steps 0..13, and each state's structure (Optax's NamedTuple names and fields, tuples of
``chain``)."""

import json
import pathlib

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import optim

DATA = json.loads((pathlib.Path(__file__).parent / "data" / "optax_reference.json").read_text())
X = fnp.asarray(np.asarray(DATA["X"], np.float32))
Y = fnp.asarray(np.asarray(DATA["Y"], np.float32))
NAN_OK = {"zero_nans", "apply_if_finite", "multisteps_skip_not_finite"}
SPECIAL = (
    "chain_clip_adamw",
    "multi_transform",
    "multisteps_skip_not_finite",
    "join_schedules",
    "sgd_backtracking",
    "sgd_zoom",
    "reduce_on_plateau",
    "conditionally_mask",
    "conditionally_transform",
    "named_chain",
    "monitor",
)
EXTRA_ARGS = {
    "polyak_sgd": "value",
    "lbfgs": "ls",
    "lbfgs_memory_2": "ls",
    "lbfgs_backtracking": "ls",
    "sgd_backtracking": "ls_plain",
    "sgd_zoom": "ls",
    "reduce_on_plateau": "value",
}


def tree(d):
    return {k: fnp.asarray(np.asarray(v, np.float32)) for k, v in d.items()}


def loss(p):
    z = X @ p["w"] + p["b"]
    return fnp.mean(fnp.logaddexp(0.0, z) - Y * z) + 0.05 * fnp.sum(p["w"] ** 2)


def structure(s):
    if hasattr(s, "_fields"):
        inner = ",".join(f"{f}={structure(getattr(s, f))}" for f in s._fields)
        return f"{type(s).__name__}({inner})"
    if isinstance(s, dict):
        return "{" + ",".join(f"{k}:{structure(v)}" for k, v in sorted(s.items())) + "}"
    if isinstance(s, (tuple, list)):
        kind = "T" if isinstance(s, tuple) else "L"
        return kind + "(" + ",".join(structure(v) for v in s) + ")"
    return "*"


def value(v):
    if isinstance(v, dict) and "__spec__" in v:
        return build(v["__spec__"])
    return v


def build(spec):
    name, kwargs = spec
    kwargs = {k: value(v) for k, v in kwargs.items()}
    if "boundaries_and_scales" in kwargs:
        bs = kwargs["boundaries_and_scales"]
        kwargs["boundaries_and_scales"] = {int(k): v for k, v in bs.items()}
    if name == "MultiSteps":
        return optim.MultiSteps(**kwargs).gradient_transformation()
    if name == "inject_hyperparams":
        return optim.inject_hyperparams(getattr(optim, kwargs.pop("factory")))(**kwargs)
    if name.startswith("schedules."):
        return getattr(optim.schedules, name.split(".")[1])(**kwargs)
    if name.startswith("contrib."):
        return getattr(optim.contrib, name.split(".")[1])(**kwargs)
    return getattr(optim, name)(**kwargs)


def special(name):
    if name == "chain_clip_adamw":
        return optim.chain(optim.clip_by_global_norm(0.5), optim.adamw(0.1, weight_decay=0.1))
    if name == "multi_transform":
        return optim.multi_transform(
            {"a": optim.adam(0.1), "s": optim.sgd(0.1, momentum=0.9)}, {"w": "a", "b": "s"}
        )
    if name == "multisteps_skip_not_finite":
        return optim.MultiSteps(optim.sgd(0.1), 2, should_skip_update_fn=optim.skip_not_finite)
    if name == "conditionally_mask":
        return optim.conditionally_mask(optim.adam(0.1), lambda step: step % 2 == 0)
    if name == "conditionally_transform":
        return optim.conditionally_transform(optim.adam(0.1), lambda step: step % 2 == 1)
    if name == "monitor":
        measures = {
            "norm": optim.global_norm,
            "ema": optim.measure_with_ema(optim.global_norm, 0.9),
        }
        return optim.chain(
            optim.monitor(measures), optim.sgd(0.1), optim.snapshot("u", optim.global_norm)
        )
    if name == "named_chain":
        return optim.named_chain(("clip", optim.clip(0.5)), ("opt", optim.sgd(0.1, momentum=0.9)))
    if name == "sgd_backtracking":
        ls = optim.scale_by_backtracking_linesearch(
            max_backtracking_steps=15, decrease_factor=0.5, increase_factor=2.0
        )
        return optim.chain(optim.sgd(1.0), ls)
    if name == "sgd_zoom":
        return optim.chain(optim.sgd(1.0), optim.scale_by_zoom_linesearch(max_linesearch_steps=10))
    if name == "reduce_on_plateau":
        plateau = optim.contrib.reduce_on_plateau(factor=0.5, patience=1, rtol=0.05, cooldown=1)
        return optim.chain(optim.adam(0.1), plateau)
    if name == "join_schedules":
        return optim.join_schedules(
            [optim.constant_schedule(1.0), optim.linear_schedule(1.0, 0.0, 4)], [3]
        )
    raise KeyError(name)


def make(case, spec):
    return special(case) if case in SPECIAL and spec[1] == {} else build(spec)


def close(got, want, rtol=2e-4, atol=2e-5):
    for k in want:
        np.testing.assert_allclose(
            np.asarray(got[k]), np.asarray(want[k], np.float32), rtol=rtol, atol=atol, err_msg=k
        )


ALIASES = sorted(set(DATA["aliases"]) - {"lookahead_sgd"})


def prng_matches_jax() -> bool:
    probe = fg.random.normal(fg.random.PRNGKey(0), (3,))
    return np.allclose(np.asarray(probe), DATA["prng_probe"], rtol=1e-6)


@pytest.mark.parametrize("case", ALIASES)
def test_alias_matches_optax(case):
    if case.endswith("needs_jax_prng") and not prng_matches_jax():
        pytest.skip("funcgrad's PRNG streams differ from JAX's (same call sequence as Optax)")
    rec = DATA["aliases"][case]
    opt = make(case, rec["spec"])
    p = tree(DATA["P0"])
    state = opt.init(p)
    kind = EXTRA_ARGS.get(case)
    for step in range(len(rec["params"])):
        if kind == "ls":
            val, g = optim.value_and_grad_from_state(loss)(p, state=state)
        else:
            val, g = fg.value_and_grad(loss)(p)
        extra = {"value": val} if kind == "value" else {}
        if kind in ("ls", "ls_plain"):
            extra = {"value": val, "grad": g, "value_fn": loss}
        u, state = opt.update(g, state, p, **extra)
        p = optim.apply_updates(p, u)
        close(u, rec["updates"][step])
        close(p, rec["params"][step])
    assert structure(state) == rec["structure"]


def test_lookahead_matches_optax():
    rec = DATA["aliases"]["lookahead_sgd"]
    opt = optim.lookahead(optim.sgd(0.1), sync_period=2, slow_step_size=0.5)
    p = optim.LookaheadParams.init_synced(tree(DATA["P0"]))
    state = opt.init(p)
    for step in range(len(rec["params"])):
        u, state = opt.update(fg.grad(loss)(p.fast), state, p)
        p = optim.apply_updates(p, u)
        for part in ("fast", "slow"):
            close(getattr(p, part), rec["params"][step][part])
    assert structure(state) == rec["structure"]


@pytest.mark.parametrize("case", sorted(DATA["transforms"]))
def test_transform_matches_optax(case):
    rec = DATA["transforms"][case]
    tx = make(case, rec["spec"])
    p = tree(DATA["P0"])
    state = tx.init(p)
    for step, g in enumerate(DATA["GRADS"]):
        g = tree(g) if case in NAN_OK else {k: np.nan_to_num(v) for k, v in tree(g).items()}
        u, state = tx.update({k: fnp.asarray(v) for k, v in g.items()}, state, p)
        p = optim.apply_updates(p, u)
        close(u, rec["updates"][step])
    assert structure(state) == rec["structure"]


@pytest.mark.parametrize("case", sorted(DATA["schedules"]))
def test_schedule_matches_optax(case):
    rec = DATA["schedules"][case]
    s = make(case, rec["spec"])
    got = [float(s(i)) for i in range(len(rec["values"]))]
    np.testing.assert_allclose(got, rec["values"], rtol=1e-5, atol=1e-7)
    got_traced = [float(s(fnp.asarray(i, np.int32))) for i in range(len(rec["values"]))]
    np.testing.assert_allclose(got_traced, rec["values"], rtol=1e-5, atol=1e-7)


def test_per_example_clipping_matches_optax():
    rec = DATA["per_example"]
    g = tree(rec["BATCHED"])
    summed, n = optim.per_example_global_norm_clip(g, 1.0)
    close(summed, rec["global"][0])
    assert int(n) == rec["global"][1]
    for key, uniform in (("layer_uniform", True), ("layer_by_size", False)):
        summed, counts = optim.per_example_layer_norm_clip(g, 1.0, uniform=uniform)
        close(summed, rec[key][0])
        assert {k: int(v) for k, v in counts.items()} == rec[key][1]
