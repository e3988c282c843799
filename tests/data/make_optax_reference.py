"""Record Optax 0.2.x optimizer runs for tests/test_optim_optax.py.

Run with the jax env: ``/tmp/jaxenv/bin/python tests/data/make_optax_reference.py``; writes
optax_reference.json. Each case builds an optimizer from a JSON spec (the test builds the same
spec with funcgrad.optim), runs 5 steps on a fixed small logistic-regression problem (params
``{"w": [3, 2], "b": [2]}``; the test recomputes the gradients with funcgrad) and records the
params after every step, the update of every step and the state's structure (NamedTuple class
and field names, tuples, dicts). Transform cases are fed a fixed gradient sequence instead.
"""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax

rng = np.random.RandomState(0)
X = rng.randn(6, 3).astype(np.float32)
Y = (rng.rand(6, 2) > 0.5).astype(np.float32)
P0 = {"w": (0.5 * rng.randn(3, 2)).astype(np.float32), "b": (0.1 * rng.randn(2)).astype(np.float32)}
GRADS = [
    {"w": rng.randn(3, 2).astype(np.float32), "b": rng.randn(2).astype(np.float32)}
    for _ in range(5)
]
GRADS[2]["b"][1] = np.nan  # for zero_nans / apply_if_finite / skip_not_finite cases (marked)
STEPS = 5


def loss(p):
    z = X @ p["w"] + p["b"]
    return jnp.mean(jnp.logaddexp(0.0, z) - Y * z) + 0.05 * jnp.sum(p["w"] ** 2)


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


def build(spec, lib):
    """A spec: ["name", {kwargs}] (kwargs may hold nested specs, marked by a "__" key)."""
    name, kwargs = spec
    kwargs = {k: value(v, lib) for k, v in kwargs.items()}
    if name == "MultiSteps":
        return lib.MultiSteps(**kwargs).gradient_transformation()
    if name == "inject_hyperparams":
        return lib.inject_hyperparams(getattr(lib, kwargs.pop("factory")))(**kwargs)
    if name.startswith("schedules."):
        return getattr(lib.schedules, name.split(".")[1])(**kwargs)
    if name.startswith("contrib."):
        return getattr(lib.contrib, name.split(".")[1])(**kwargs)
    return getattr(lib, name)(**kwargs)


def value(v, lib):
    if isinstance(v, dict) and "__spec__" in v:
        return build(v["__spec__"], lib)
    if isinstance(v, dict) and "__list__" in v:
        return [build(s, lib) for s in v["__list__"]]
    if isinstance(v, dict) and "__dict__" in v:
        return {k: build(s, lib) for k, s in v["__dict__"].items()}
    return v


def S(name, **kw):
    return {"__spec__": [name, kw]}


WCOS = S(
    "schedules.warmup_cosine_decay_schedule",
    init_value=0.0,
    peak_value=0.1,
    warmup_steps=2,
    decay_steps=5,
)
EXPD = S("schedules.exponential_decay", init_value=0.1, transition_steps=2, decay_rate=0.5)

ALIASES = {
    "sgd": ["sgd", {"learning_rate": 0.1}],
    "sgd_momentum": ["sgd", {"learning_rate": 0.1, "momentum": 0.9}],
    "sgd_nesterov": ["sgd", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}],
    "sgd_schedule": ["sgd", {"learning_rate": WCOS, "momentum": 0.5}],
    "adam": ["adam", {"learning_rate": 0.1}],
    "adam_nesterov_eps_root": ["adam", {"learning_rate": 0.1, "eps_root": 1e-8, "nesterov": True}],
    "adam_schedule": ["adam", {"learning_rate": EXPD}],
    "adamw": ["adamw", {"learning_rate": 0.1, "weight_decay": 0.1}],
    "adamw_mask": [
        "adamw",
        {"learning_rate": 0.1, "weight_decay": 0.1, "mask": {"w": True, "b": False}},
    ],
    "nadam": ["nadam", {"learning_rate": 0.1}],
    "nadamw": ["nadamw", {"learning_rate": 0.1, "weight_decay": 0.1}],
    "adamax": ["adamax", {"learning_rate": 0.1}],
    "adamaxw": ["adamaxw", {"learning_rate": 0.1, "weight_decay": 0.1}],
    "adabelief": ["adabelief", {"learning_rate": 0.1}],
    "adafactor": ["adafactor", {"learning_rate": 0.1}],
    "adafactor_factored": [
        "adafactor",
        {
            "learning_rate": 0.1,
            "min_dim_size_to_factor": 2,
            "momentum": 0.9,
            "weight_decay_rate": 0.01,
        },
    ],
    "adadelta": ["adadelta", {"learning_rate": 0.5}],
    "adadelta_wd": ["adadelta", {"learning_rate": 0.5, "weight_decay": 0.1}],
    "adagrad": ["adagrad", {"learning_rate": 0.1}],
    "adan": ["adan", {"learning_rate": 0.1}],
    "adan_wd": ["adan", {"learning_rate": 0.1, "weight_decay": 0.1}],
    "amsgrad": ["amsgrad", {"learning_rate": 0.1}],
    "fromage": ["fromage", {"learning_rate": 0.1}],
    "lars": ["lars", {"learning_rate": 0.1, "weight_decay": 0.01}],
    "lamb": ["lamb", {"learning_rate": 0.1, "weight_decay": 0.01}],
    "lion": ["lion", {"learning_rate": 0.01}],
    "noisy_sgd_no_noise": ["noisy_sgd", {"learning_rate": 0.1, "eta": 0.0, "key": 0}],
    # compared only once funcgrad's PRNG streams equal JAX's (see "prng_probe")
    "noisy_sgd_needs_jax_prng": ["noisy_sgd", {"learning_rate": 0.1, "eta": 0.01, "key": 0}],
    "novograd": ["novograd", {"learning_rate": 0.1}],
    "novograd_wd": ["novograd", {"learning_rate": 0.1, "weight_decay": 0.1}],
    "optimistic_gradient_descent": ["optimistic_gradient_descent", {"learning_rate": 0.1}],
    "optimistic_adam_v2": ["optimistic_adam_v2", {"learning_rate": 0.1}],
    "radam": ["radam", {"learning_rate": 0.1, "threshold": 4.0}],
    "radam_default": ["radam", {"learning_rate": 0.1}],
    "rmsprop": ["rmsprop", {"learning_rate": 0.1}],
    "rmsprop_centered_momentum": [
        "rmsprop",
        {"learning_rate": 0.1, "centered": True, "momentum": 0.9},
    ],
    "rmsprop_bias_correction": [
        "rmsprop",
        {"learning_rate": 0.1, "eps_in_sqrt": False, "bias_correction": True},
    ],
    "rprop": ["rprop", {"learning_rate": 0.1}],
    "sign_sgd": ["sign_sgd", {"learning_rate": 0.1}],
    "signum": ["signum", {"learning_rate": 0.1}],
    "sm3": ["sm3", {"learning_rate": 0.1}],
    "yogi": ["yogi", {"learning_rate": 0.1}],
    "polyak_sgd": ["polyak_sgd", {"max_learning_rate": 0.5}],
    "chain_clip_adamw": ["chain", {}],  # built specially
    "multi_transform": ["multi_transform", {}],  # built specially
    "inject_adam": ["inject_hyperparams", {"factory": "adam", "learning_rate": WCOS, "b1": 0.8}],
    "inject_adamw": ["inject_hyperparams", {"factory": "adamw", "learning_rate": 0.1}],
    "multisteps_2": ["MultiSteps", {"opt": S("adam", learning_rate=0.1), "every_k_schedule": 2}],
    "multisteps_sum": [
        "MultiSteps",
        {"opt": S("sgd", learning_rate=0.1), "every_k_schedule": 2, "use_grad_mean": False},
    ],
    "lookahead_sgd": ["lookahead", {}],  # built specially
    "contrib_adopt": ["contrib.adopt", {"learning_rate": 0.1}],
    "contrib_adopt_nesterov": [
        "contrib.adopt",
        {"learning_rate": 0.1, "nesterov": True, "use_clipping": False},
    ],
    "contrib_schedule_free_adamw": [
        "contrib.schedule_free_adamw",
        {"learning_rate": 0.1, "warmup_steps": 2},
    ],
    "contrib_schedule_free_sgd": [
        "contrib.schedule_free_sgd",
        {"learning_rate": 0.1, "weight_decay": 0.01},
    ],
    "contrib_ademamix": [
        "contrib.ademamix",
        {"learning_rate": 0.1, "b3": 0.99, "weight_decay": 0.01},
    ],
    "contrib_simplified_ademamix": [
        "contrib.simplified_ademamix",
        {"learning_rate": 0.1, "alpha": 0.5},
    ],
    "contrib_prodigy": ["contrib.prodigy", {"learning_rate": 1.0, "estim_lr0": 1e-3}],
    "contrib_prodigy_wd_safeguard": [
        "contrib.prodigy",
        {"weight_decay": 0.1, "safeguard_warmup": True},
    ],
    "optimistic_adam": ["optimistic_adam", {"learning_rate": 0.1, "optimism": 0.05}],
    "lbfgs": ["lbfgs", {}],
    "lbfgs_memory_2": ["lbfgs", {"memory_size": 2}],
    "lbfgs_lr_no_linesearch": ["lbfgs", {"learning_rate": 0.5, "linesearch": None}],
    "lbfgs_backtracking": [
        "lbfgs",
        {
            "linesearch": S(
                "scale_by_backtracking_linesearch", max_backtracking_steps=15, store_grad=True
            )
        },
    ],
    "sgd_backtracking": ["chain", {}],  # built specially
    "sgd_zoom": ["chain", {}],  # built specially
    "reduce_on_plateau": ["chain", {}],  # built specially
}
EXTRA_ARGS = {
    "polyak_sgd": "value",
    "lbfgs": "ls",
    "lbfgs_memory_2": "ls",
    "lbfgs_lr_no_linesearch": "none",
    "lbfgs_backtracking": "ls",
    "sgd_backtracking": "ls_plain",
    "sgd_zoom": "ls",
    "reduce_on_plateau": "value",
}

TRANSFORMS = {
    "clip": ["clip", {"max_delta": 0.5}],
    "clip_by_global_norm": ["clip_by_global_norm", {"max_norm": 1.0}],
    "clip_by_block_rms": ["clip_by_block_rms", {"threshold": 0.5}],
    "adaptive_grad_clip": ["adaptive_grad_clip", {"clipping": 0.1}],
    "centralize": ["centralize", {}],
    "zero_nans": ["zero_nans", {}],
    "keep_params_nonnegative": ["keep_params_nonnegative", {}],
    "apply_every": ["apply_every", {"k": 2}],
    "ema": ["ema", {"decay": 0.9}],
    "ema_no_debias": ["ema", {"decay": 0.9, "debias": False}],
    "trace": ["trace", {"decay": 0.9}],
    "add_decayed_weights_schedule": ["add_decayed_weights", {"weight_decay": EXPD}],
    "scale_by_adam": ["scale_by_adam", {}],
    "scale_by_amsgrad": ["scale_by_amsgrad", {}],
    "scale_by_adamax": ["scale_by_adamax", {}],
    "scale_by_belief": ["scale_by_belief", {}],
    "scale_by_yogi": ["scale_by_yogi", {}],
    "scale_by_radam": ["scale_by_radam", {"threshold": 1.0}],
    "scale_by_adadelta": ["scale_by_adadelta", {}],
    "scale_by_adan": ["scale_by_adan", {}],
    "scale_by_novograd": ["scale_by_novograd", {}],
    "scale_by_rprop": ["scale_by_rprop", {"learning_rate": 0.1}],
    "scale_by_sm3": ["scale_by_sm3", {}],
    "scale_by_sign": ["scale_by_sign", {}],
    "scale_by_rms": ["scale_by_rms", {}],
    "scale_by_stddev": ["scale_by_stddev", {}],
    "scale_by_rss": ["scale_by_rss", {}],
    "scale_by_lion": ["scale_by_lion", {}],
    "scale_by_trust_ratio": ["scale_by_trust_ratio", {}],
    "scale_by_param_block_norm": ["scale_by_param_block_norm", {}],
    "scale_by_param_block_rms": ["scale_by_param_block_rms", {}],
    "scale_by_factored_rms": ["scale_by_factored_rms", {"min_dim_size_to_factor": 2}],
    "scale_by_optimistic_gradient": ["scale_by_optimistic_gradient", {}],
    "normalize_by_update_norm": ["normalize_by_update_norm", {}],
    "apply_if_finite": [
        "apply_if_finite",
        {"inner": S("adam", learning_rate=0.1), "max_consecutive_errors": 2},
    ],
    "multisteps_skip_not_finite": ["MultiSteps", {}],  # built specially
    "flatten_adam": ["flatten", {"inner": S("adam", learning_rate=0.1)}],
    "freeze": ["freeze", {"mask": {"w": True, "b": False}}],
    "selective_transform": [
        "selective_transform",
        {"optimizer": S("adam", learning_rate=0.1), "freeze_mask": {"w": False, "b": True}},
    ],
    "conditionally_mask": ["conditionally_mask", {}],  # built specially
    "conditionally_transform": ["conditionally_transform", {}],  # built specially
    "named_chain": ["named_chain", {}],  # built specially
    "monitor": ["monitor", {}],  # built specially
    "masked_adam": [
        "masked",
        {"inner": S("adam", learning_rate=0.1), "mask": {"w": False, "b": True}},
    ],
}
NAN_OK = {"zero_nans", "apply_if_finite", "multisteps_skip_not_finite"}

SCHEDULES = {
    "constant_schedule": ["constant_schedule", {"value": 0.3}],
    "polynomial_schedule": [
        "polynomial_schedule",
        {
            "init_value": 1.0,
            "end_value": 0.1,
            "power": 2,
            "transition_steps": 6,
            "transition_begin": 2,
        },
    ],
    "polynomial_schedule_zero_steps": [
        "polynomial_schedule",
        {"init_value": 1.0, "end_value": 0.1, "power": 2, "transition_steps": 0},
    ],
    "linear_schedule": [
        "linear_schedule",
        {"init_value": 1.0, "end_value": 0.0, "transition_steps": 7},
    ],
    "piecewise_constant_schedule": [
        "piecewise_constant_schedule",
        {"init_value": 1.0, "boundaries_and_scales": {"3": 0.5, "7": 0.1}},
    ],
    "exponential_decay": [
        "exponential_decay",
        {
            "init_value": 1.0,
            "transition_steps": 3,
            "decay_rate": 0.5,
            "transition_begin": 2,
            "end_value": 0.2,
        },
    ],
    "exponential_decay_staircase": [
        "exponential_decay",
        {"init_value": 1.0, "transition_steps": 3, "decay_rate": 0.5, "staircase": True},
    ],
    "exponential_decay_zero_steps": [
        "exponential_decay",
        {"init_value": 0.7, "transition_steps": 0, "decay_rate": 0.5},
    ],
    "exponential_decay_growth": [
        "exponential_decay",
        {"init_value": 0.1, "transition_steps": 2, "decay_rate": 2.0, "end_value": 1.0},
    ],
    "cosine_decay_schedule": [
        "cosine_decay_schedule",
        {"init_value": 1.0, "decay_steps": 8, "alpha": 0.1, "exponent": 2.0},
    ],
    "warmup_cosine_decay_schedule": [
        "warmup_cosine_decay_schedule",
        {
            "init_value": 0.0,
            "peak_value": 1.0,
            "warmup_steps": 3,
            "decay_steps": 10,
            "end_value": 0.1,
        },
    ],
    "warmup_exponential_decay_schedule": [
        "warmup_exponential_decay_schedule",
        {
            "init_value": 0.0,
            "peak_value": 1.0,
            "warmup_steps": 3,
            "transition_steps": 2,
            "decay_rate": 0.5,
        },
    ],
    "warmup_constant_schedule": [
        "warmup_constant_schedule",
        {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 4},
    ],
    "cosine_onecycle_schedule": [
        "cosine_onecycle_schedule",
        {"transition_steps": 10, "peak_value": 1.0},
    ],
    "linear_onecycle_schedule": [
        "linear_onecycle_schedule",
        {"transition_steps": 10, "peak_value": 1.0},
    ],
    "piecewise_interpolate_schedule": [
        "piecewise_interpolate_schedule",
        {
            "interpolate_type": "cosine",
            "init_value": 1.0,
            "boundaries_and_scales": {"4": 0.5, "9": 0.2},
        },
    ],
    "sgdr_schedule": [
        "sgdr_schedule",
        {
            "cosine_kwargs": [
                {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 1, "decay_steps": 4},
                {"init_value": 0.1, "peak_value": 0.5, "warmup_steps": 2, "decay_steps": 6},
            ]
        },
    ],
    "join_schedules": ["join_schedules", {}],  # built specially
}


def special(name, lib):
    if name == "chain_clip_adamw":
        return lib.chain(lib.clip_by_global_norm(0.5), lib.adamw(0.1, weight_decay=0.1))
    if name == "multi_transform":
        return lib.multi_transform(
            {"a": lib.adam(0.1), "s": lib.sgd(0.1, momentum=0.9)}, {"w": "a", "b": "s"}
        )
    if name == "multisteps_skip_not_finite":
        return lib.MultiSteps(lib.sgd(0.1), 2, should_skip_update_fn=lib.skip_not_finite)
    if name == "conditionally_mask":
        return lib.conditionally_mask(lib.adam(0.1), lambda step: step % 2 == 0)
    if name == "conditionally_transform":
        return lib.conditionally_transform(lib.adam(0.1), lambda step: step % 2 == 1)
    if name == "monitor":
        measures = {"norm": lib.global_norm, "ema": lib.measure_with_ema(lib.global_norm, 0.9)}
        return lib.chain(lib.monitor(measures), lib.sgd(0.1), lib.snapshot("u", lib.global_norm))
    if name == "named_chain":
        return lib.named_chain(("clip", lib.clip(0.5)), ("opt", lib.sgd(0.1, momentum=0.9)))
    if name == "sgd_backtracking":
        return lib.chain(
            lib.sgd(1.0),
            lib.scale_by_backtracking_linesearch(
                max_backtracking_steps=15, decrease_factor=0.5, increase_factor=2.0
            ),
        )
    if name == "sgd_zoom":
        return lib.chain(lib.sgd(1.0), lib.scale_by_zoom_linesearch(max_linesearch_steps=10))
    if name == "reduce_on_plateau":
        return lib.chain(
            lib.adam(0.1),
            lib.contrib.reduce_on_plateau(factor=0.5, patience=1, rtol=0.05, cooldown=1),
        )
    if name == "join_schedules":
        return lib.join_schedules(
            [lib.constant_schedule(1.0), lib.linear_schedule(1.0, 0.0, 4)], [3]
        )
    raise KeyError(name)


def fix_schedule_kwargs(spec):
    name, kw = spec
    if "boundaries_and_scales" in kw:
        kw = dict(
            kw, boundaries_and_scales={int(k): v for k, v in kw["boundaries_and_scales"].items()}
        )
    return [name, kw]


def make(case, spec, lib):
    if spec[1] == {} and case in (
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
    ):
        return special(case, lib)
    return build(fix_schedule_kwargs(spec), lib)


def run_alias(case, spec):
    if case == "lookahead_sgd":
        return run_lookahead()
    opt = make(case, spec, optax)
    p = jax.tree.map(jnp.asarray, P0)
    state = opt.init(p)
    params, updates = [], []
    kind = EXTRA_ARGS.get(case)
    for _ in range(STEPS):
        if kind == "ls":
            val, g = optax.value_and_grad_from_state(loss)(p, state=state)
        else:
            val, g = jax.value_and_grad(loss)(p)
        extra = {"value": val} if kind == "value" else {}
        if kind in ("ls", "ls_plain"):
            extra = {"value": val, "grad": g, "value_fn": loss}
        u, state = opt.update(g, state, p, **extra)
        p = optax.apply_updates(p, u)
        params.append(jax.tree.map(lambda x: np.asarray(x).tolist(), p))
        updates.append(jax.tree.map(lambda x: np.asarray(x).tolist(), u))
    return {"spec": spec, "params": params, "updates": updates, "structure": structure(state)}


def run_lookahead():
    opt = optax.lookahead(optax.sgd(0.1), sync_period=2, slow_step_size=0.5)
    p = optax.LookaheadParams.init_synced(jax.tree.map(jnp.asarray, P0))
    state = opt.init(p)
    params = []
    for _ in range(STEPS):
        g = jax.grad(loss)(p.fast)
        u, state = opt.update(g, state, p)
        p = optax.apply_updates(p, u)
        params.append(jax.tree.map(lambda x: np.asarray(x).tolist(), p._asdict()))
    return {"spec": ["lookahead", {}], "params": params, "structure": structure(state)}


def run_transform(case, spec):
    tx = make(case, spec, optax)
    p = jax.tree.map(jnp.asarray, P0)
    state = tx.init(p)
    updates = []
    for t in range(STEPS):
        g = dict(GRADS[t]) if case in NAN_OK else {k: np.nan_to_num(v) for k, v in GRADS[t].items()}
        u, state = tx.update(jax.tree.map(jnp.asarray, g), state, p)
        p = optax.apply_updates(p, u)
        updates.append(jax.tree.map(lambda x: np.asarray(x).tolist(), u))
    return {"spec": spec, "updates": updates, "structure": structure(state)}


def run_schedule(case, spec):
    s = make(case, spec, optax)
    return {"spec": spec, "values": [float(s(i)) for i in range(14)]}


data = {
    "optax_version": optax.__version__,
    "P0": jax.tree.map(lambda x: x.tolist(), P0),
    "X": X.tolist(),
    "Y": Y.tolist(),
    "prng_probe": np.asarray(jax.random.normal(jax.random.PRNGKey(0), (3,))).tolist(),
    "GRADS": [jax.tree.map(lambda x: x.tolist(), g) for g in GRADS],
    "aliases": {k: run_alias(k, v) for k, v in ALIASES.items()},
    "transforms": {k: run_transform(k, v) for k, v in TRANSFORMS.items()},
    "schedules": {k: run_schedule(k, v) for k, v in SCHEDULES.items()},
}
BATCHED = {"w": rng.randn(4, 3, 2).astype(np.float32), "b": 3 * rng.randn(4, 2).astype(np.float32)}
data["per_example"] = {
    "BATCHED": jax.tree.map(lambda x: x.tolist(), BATCHED),
    "global": jax.tree.map(
        lambda x: np.asarray(x).tolist(), optax.per_example_global_norm_clip(BATCHED, 1.0)
    ),
    "layer_uniform": jax.tree.map(
        lambda x: np.asarray(x).tolist(), optax.per_example_layer_norm_clip(BATCHED, 1.0)
    ),
    "layer_by_size": jax.tree.map(
        lambda x: np.asarray(x).tolist(),
        optax.per_example_layer_norm_clip(BATCHED, 1.0, uniform=False),
    ),
}
path = pathlib.Path(__file__).with_name("optax_reference.json")
path.write_text(json.dumps(data, allow_nan=True))
print("wrote", path, path.stat().st_size)
