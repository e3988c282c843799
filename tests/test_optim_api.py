"""funcgrad.optim's Optax surface beyond the recorded runs: state structures and lookups
(tree_utils), extra arguments, MultiSteps with schedules, schedules' edge cases, formulas of
the new aliases written out in numpy, and every optimizer traced under jit."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import optim
from funcgrad.optim import tree_utils as otu

P = {"w": fnp.array([[1.0, -2.0], [0.5, 3.0]]), "b": fnp.array([0.1, -0.2])}
G = {"w": fnp.array([[0.3, -0.1], [0.2, 0.4]]), "b": fnp.array([-0.5, 0.25])}


def leaves(t):
    return [np.asarray(x) for x in fg.tree.leaves(t)]


# ---- state structure ----------------------------------------------------------------------------


def test_adam_state_is_optax_tuple():
    state = optim.adam(0.1).init(P)
    assert isinstance(state, tuple) and len(state) == 2
    assert type(state[0]).__name__ == "ScaleByAdamState" and state[1] == optim.EmptyState()
    assert int(state[0].count) == 0
    np.testing.assert_array_equal(np.asarray(state[0].mu["w"]), np.zeros((2, 2)))
    sched = optim.adam(optim.exponential_decay(0.1, 2, 0.5)).init(P)
    assert type(sched[1]).__name__ == "ScaleByScheduleState"


def test_sgd_momentum_state():
    state = optim.sgd(0.1, momentum=0.9).init(P)
    assert type(state[0]).__name__ == "TraceState" and state[1] == optim.EmptyState()
    assert optim.sgd(0.1).init(P) == (optim.EmptyState(), optim.EmptyState())


def test_tree_get_and_set_on_states():
    opt = optim.inject_hyperparams(optim.adamw)(learning_rate=0.1)
    state = opt.init(P)
    assert float(otu.tree_get(state, "learning_rate")) == pytest.approx(0.1)
    with pytest.raises(KeyError, match="multiple"):
        otu.tree_get(state, "count")
    adam_state = otu.tree_get(state, "ScaleByAdamState")
    assert type(adam_state).__name__ == "ScaleByAdamState"
    new = otu.tree_set(state, learning_rate=fnp.asarray(0.5))
    assert float(new.hyperparams["learning_rate"]) == 0.5
    u, _ = opt.update(G, new, P)
    u_ref, _ = optim.adamw(0.5).update(G, optim.adamw(0.5).init(P), P)
    for a, b in zip(leaves(u), leaves(u_ref)):
        np.testing.assert_allclose(a, b, rtol=2e-5)
    with pytest.raises(KeyError):
        otu.tree_set(state, no_such_field=1)
    only_adam = otu.tree_get(
        state, "count", filtering=lambda path, v: "ScaleByAdamState" in str(path[-1])
    )
    assert int(only_adam) == 0


def test_tree_map_params_maps_only_param_shaped_parts():
    opt = optim.adam(0.1)
    state = opt.init(P)
    doubled = otu.tree_map_params(opt, lambda x: x + 1.0, state)
    np.testing.assert_array_equal(np.asarray(doubled[0].mu["w"]), np.ones((2, 2)))
    assert int(doubled[0].count) == 0


def test_tree_math():
    a = {"x": fnp.array([3.0, -4.0])}
    b = {"x": fnp.array([1.0, 2.0])}
    assert float(otu.tree_l2_norm(a)) == 5.0 and float(otu.tree_norm(a)) == 5.0
    assert float(otu.tree_l1_norm(a)) == 7.0 and float(otu.tree_linf_norm(a)) == 4.0
    assert float(otu.tree_norm(a, squared=True)) == 25.0
    assert float(otu.tree_vdot(a, b)) == -5.0 and float(otu.tree_sum(a)) == -1.0
    np.testing.assert_array_equal(np.asarray(otu.tree_add_scale(a, 2.0, b)["x"]), [5.0, 0.0])
    np.testing.assert_array_equal(np.asarray(otu.tree_add(a, b, b)["x"]), [5.0, 0.0])
    np.testing.assert_array_equal(np.asarray(otu.tree_sub(a, b)["x"]), [2.0, -6.0])
    np.testing.assert_array_equal(np.asarray(otu.tree_mul(a, b)["x"]), [3.0, -8.0])
    np.testing.assert_array_equal(np.asarray(otu.tree_scale(0.5, a)["x"]), [1.5, -2.0])
    np.testing.assert_array_equal(np.asarray(otu.tree_where(True, a, b)["x"]), [3.0, -4.0])
    assert otu.tree_batch_shape(a, (2,))["x"].shape == (2, 2)
    assert otu.tree_full_like(a, 7.0)["x"].tolist() == [7.0, 7.0]
    assert otu.tree_cast(a, np.float16)["x"].dtype == np.float16
    assert otu.tree_size(a) == 2 and float(otu.tree_max(a)) == 3.0
    assert bool(otu.tree_allclose(a, a)) and not bool(otu.tree_allclose(a, b))


# ---- wrappers -----------------------------------------------------------------------------------


def test_multisteps_takes_float_and_schedule():
    for k in (2.0, lambda step: 2):
        opt = optim.MultiSteps(optim.sgd(1.0), every_k_schedule=k)
        s = opt.init(fnp.zeros(1))
        u1, s = opt.update(fnp.array([1.0]), s)
        u2, s = opt.update(fnp.array([3.0]), s)
        assert float(u1[0]) == 0.0 and float(u2[0]) == -2.0
        assert bool(opt.has_updated(s))
    with pytest.raises(ValueError, match="positive integer"):
        optim.MultiSteps(optim.sgd(1.0), every_k_schedule=1.5)


def test_multisteps_schedule_changes_k():
    opt = optim.MultiSteps(optim.sgd(1.0), every_k_schedule=lambda step: fnp.where(step < 1, 1, 3))
    s = opt.init(fnp.zeros(1))
    outs = []
    for g in (1.0, 1.0, 2.0, 3.0):
        u, s = opt.update(fnp.array([g]), s)
        outs.append(float(u[0]))
    assert outs == [-1.0, 0.0, 0.0, -2.0]


def test_multisteps_skip_not_finite_keeps_state():
    opt = optim.MultiSteps(optim.sgd(1.0), 2, should_skip_update_fn=optim.skip_not_finite)
    s = opt.init(fnp.zeros(1))
    _, s = opt.update(fnp.array([fnp.nan]), s)
    assert int(s.mini_step) == 0 and int(s.skip_state["num_not_finite"]) == 1


def test_extra_args_pass_through_chain_and_are_dropped_for_plain_transforms():
    opt = optim.chain(optim.clip(1.0), optim.polyak_sgd(max_learning_rate=10.0))
    p = fnp.array([3.0])
    s = opt.init(p)
    u, _ = opt.update(fnp.array([2.0]), s, p, value=fnp.asarray(4.0))
    # polyak step: (f - f_min) / ||g||^2 = 4 / 1 (the clipped gradient is 1)
    assert float(u[0]) == pytest.approx(-4.0)


def test_masked_inner_state_has_masked_nodes():
    opt = optim.masked(optim.adam(0.1), {"w": True, "b": False})
    state = opt.init(P)
    mu = state.inner_state[0].mu
    assert isinstance(mu["b"], optim.MaskedNode) and mu["w"].shape == (2, 2)
    u, _ = opt.update(G, state, P)
    np.testing.assert_array_equal(np.asarray(u["b"]), np.asarray(G["b"]))


def test_exponential_decay_non_positive_steps_is_constant():
    s = optim.exponential_decay(0.3, transition_steps=0, decay_rate=0.5)
    assert float(s(100)) == pytest.approx(0.3)
    s = optim.polynomial_schedule(0.3, 0.0, 1, transition_steps=0)
    assert float(s(100)) == pytest.approx(0.3)


# ---- formulas in numpy --------------------------------------------------------------------------

GS = [np.array(g, np.float32) for g in ([0.1, -0.3, 0.2], [0.4, 0.1, -0.2], [-0.2, 0.2, 0.3])]
P0 = np.array([1.0, -2.0, 0.5], np.float32)


def run(opt):
    p = fnp.asarray(P0)
    s = opt.init(p)
    out = []
    for g in GS:
        u, s = opt.update(fnp.asarray(g), s, p)
        p = optim.apply_updates(p, u)
        out.append(np.asarray(p))
    return out


def ref_adamax(lr=0.1, b1=0.9, b2=0.999, eps=1e-8):
    p, m, v, out = P0.astype(np.float64), 0.0, 0.0, []
    for t, g in enumerate(GS, 1):
        m = b1 * m + (1 - b1) * g
        v = np.maximum(np.abs(g) + eps, b2 * v)
        p = p - lr * m / (1 - b1**t) / v
        out.append(p)
    return out


def ref_yogi(lr=0.1, b1=0.9, b2=0.999, eps=1e-3, v0=1e-6):
    p, m, v, out = P0.astype(np.float64), v0, v0, []
    for t, g in enumerate(GS, 1):
        m = b1 * m + (1 - b1) * g
        v = v - (1 - b2) * np.sign(v - g * g) * g * g
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        out.append(p)
    return out


def ref_adadelta(lr=1.0, rho=0.9, eps=1e-6):
    p, eg, ex, out = P0.astype(np.float64), 0.0, 0.0, []
    for g in GS:
        eg = rho * eg + (1 - rho) * g * g
        d = np.sqrt(ex + eps) / np.sqrt(eg + eps) * g
        ex = rho * ex + (1 - rho) * d * d
        p = p - lr * d
        out.append(p)
    return out


def ref_amsgrad(lr=0.1, b1=0.9, b2=0.999, eps=1e-8):
    p, m, v, vmax, out = P0.astype(np.float64), 0.0, 0.0, 0.0, []
    for t, g in enumerate(GS, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v / (1 - b2**t))
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(vmax) + eps)
        out.append(p)
    return out


def ref_sign_sgd(lr=0.1):
    p, out = P0.astype(np.float64), []
    for g in GS:
        p = p - lr * np.sign(g)
        out.append(p)
    return out


def ref_optimistic(lr=0.1, alpha=1.0, beta=1.0):
    p, prev, out = P0.astype(np.float64), GS[0], []
    for g in GS:
        p = p - lr * ((alpha + beta) * g - beta * prev)
        prev = g
        out.append(p)
    return out


@pytest.mark.parametrize(
    "opt,ref",
    [
        (optim.adamax(0.1), ref_adamax()),
        (optim.yogi(0.1), ref_yogi()),
        (optim.adadelta(1.0), ref_adadelta()),
        (optim.amsgrad(0.1), ref_amsgrad()),
        (optim.sign_sgd(0.1), ref_sign_sgd()),
        (optim.optimistic_gradient_descent(0.1), ref_optimistic()),
    ],
    ids=["adamax", "yogi", "adadelta", "amsgrad", "sign_sgd", "optimistic"],
)
def test_update_formula(opt, ref):
    for got, want in zip(run(opt), ref):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_noisy_sgd_noise_has_the_annealed_variance():
    eta, gamma = 0.5, 0.55
    opt = optim.noisy_sgd(1.0, eta=eta, gamma=gamma, key=3)
    p = fnp.zeros(20000)
    s = opt.init(p)
    for t in (1, 2):
        u, s = opt.update(fnp.zeros(20000), s, p)
        std = float(np.std(np.asarray(u)))
        assert std == pytest.approx(np.sqrt(eta / t**gamma), rel=0.05)
    assert type(s[0]).__name__ == "AddNoiseState" and int(s[0].count) == 2


# ---- jit ----------------------------------------------------------------------------------------

JIT_OPTS = {
    "adam": lambda: optim.adam(optim.warmup_cosine_decay_schedule(0.0, 0.1, 2, 10)),
    "adamw_mask": lambda: optim.adamw(0.1, mask={"w": True, "b": False}),
    "adafactor": lambda: optim.adafactor(0.1, min_dim_size_to_factor=2),
    "adan": lambda: optim.adan(0.1),
    "novograd": lambda: optim.novograd(0.1),
    "radam": lambda: optim.radam(0.1),
    "rprop": lambda: optim.rprop(0.1),
    "sm3": lambda: optim.sm3(0.1),
    "lars": lambda: optim.lars(0.1),
    "multisteps": lambda: optim.MultiSteps(optim.adam(0.1), 2).gradient_transformation(),
    "inject": lambda: optim.inject_hyperparams(optim.sgd)(learning_rate=0.1, momentum=0.9),
    "multi_transform": lambda: optim.multi_transform(
        {"a": optim.adam(0.1), "z": optim.set_to_zero()}, {"w": "a", "b": "z"}
    ),
    "apply_if_finite": lambda: optim.apply_if_finite(optim.sgd(0.1), 2),
}


@pytest.mark.parametrize("name", sorted(JIT_OPTS))
def test_update_under_jit_matches_eager(name):
    opt = JIT_OPTS[name]()
    state = opt.init(P)
    step = fg.jit(lambda g, s, p: opt.update(g, s, p))
    eager_s, jit_s = state, state
    for _ in range(3):
        eu, eager_s = opt.update(G, eager_s, P)
        ju, jit_s = step(G, jit_s, P)
        for a, b in zip(leaves(eu), leaves(ju)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_lbfgs_under_jit():
    f = lambda p: fnp.sum((p["w"] - 1.0) ** 2) + fnp.sum(p["b"] ** 4)  # noqa: E731
    opt = optim.lbfgs()
    vg = optim.value_and_grad_from_state(f)

    @fg.jit
    def step(p, s):
        v, g = vg(p, state=s)
        u, s = opt.update(g, s, p, value=v, grad=g, value_fn=f)
        return optim.apply_updates(p, u), s

    p, s = P, opt.init(P)
    for _ in range(10):
        p, s = step(p, s)
    assert float(f(p)) < 1e-3


def test_scale_gradient_and_safe_norm():
    g = fg.grad(lambda x: fnp.sum(optim.scale_gradient(x, 0.25) ** 2))(fnp.ones(2))
    np.testing.assert_allclose(np.asarray(g), [0.5, 0.5])
    assert float(optim.safe_norm(fnp.zeros(3), 0.1)) == pytest.approx(0.1)
    gz = fg.grad(lambda x: optim.safe_norm(x, 0.1))(fnp.zeros(3))
    assert np.isfinite(np.asarray(gz)).all()
