"""funcgrad.optim: each optimizer against its published update formula in numpy (3 steps),
convergence on a quadratic and on Rosenbrock, combinators, schedules."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import optim
from funcgrad.optim import schedules as S

try:
    from funcgrad._src.jit import jit
except ImportError:  # pragma: no cover - jit is written in parallel
    jit = None

P0 = np.array([1.0, -2.0, 0.5], np.float32)
GRADS = [np.array(g, np.float32) for g in ([0.1, -0.3, 0.2], [0.4, 0.1, -0.2], [-0.2, 0.2, 0.3])]
LR = 0.1


def run(opt, steps=3):
    params, state, out = fnp.asarray(P0), None, []
    state = opt.init(params)
    for g in GRADS[:steps]:
        updates, state = opt.update(fnp.asarray(g), state, params)
        params = optim.apply_updates(params, updates)
        out.append(np.asarray(params))
    return out


# ---- numpy references (the published update rules) ----------------------------------------------


def ref_sgd(momentum=0.0, nesterov=False):
    p, t, out = P0.astype(np.float64), 0.0, []
    for g in GRADS:
        t = momentum * t + g
        p = p - LR * (momentum * t + g if nesterov else t)
        out.append(p)
    return out


def ref_adam(b1=0.9, b2=0.999, eps=1e-8, wd=0.0):
    p, m, v, out = P0.astype(np.float64), 0.0, 0.0, []
    for t, g in enumerate(GRADS, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mh, vh = m / (1 - b1**t), v / (1 - b2**t)
        p = p - LR * (mh / (np.sqrt(vh) + eps) + wd * p)
        out.append(p)
    return out


def ref_rmsprop(decay=0.9, eps=1e-8):
    p, v, out = P0.astype(np.float64), 0.0, []
    for g in GRADS:
        v = decay * v + (1 - decay) * g * g
        p = p - LR * g / np.sqrt(v + eps)
        out.append(p)
    return out


def ref_adagrad(init=0.1, eps=1e-7):
    p, s, out = P0.astype(np.float64), init, []
    for g in GRADS:
        s = s + g * g
        p = p - LR * g / np.sqrt(s + eps)
        out.append(p)
    return out


def ref_lion(b1=0.9, b2=0.99, wd=1e-3):
    p, m, out = P0.astype(np.float64), 0.0, []
    for g in GRADS:
        p = p - LR * (np.sign(b1 * m + (1 - b1) * g) + wd * p)
        m = b2 * m + (1 - b2) * g
        out.append(p)
    return out


def ref_lamb(b1=0.9, b2=0.999, eps=1e-6, wd=0.01):
    p, m, v, out = P0.astype(np.float64), 0.0, 0.0, []
    for t, g in enumerate(GRADS, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        r = m / (1 - b1**t) / (np.sqrt(v / (1 - b2**t)) + eps) + wd * p
        p = p - LR * np.linalg.norm(p) / np.linalg.norm(r) * r
        out.append(p)
    return out


@pytest.mark.parametrize(
    "opt,ref",
    [
        (optim.sgd(LR), ref_sgd()),
        (optim.sgd(LR, momentum=0.9), ref_sgd(0.9)),
        (optim.sgd(LR, momentum=0.9, nesterov=True), ref_sgd(0.9, True)),
        (optim.adam(LR), ref_adam()),
        (optim.adamw(LR, weight_decay=0.05), ref_adam(wd=0.05)),
        (optim.rmsprop(LR), ref_rmsprop()),
        (optim.adagrad(LR), ref_adagrad()),
        (optim.lion(LR), ref_lion()),
        (optim.lamb(LR, weight_decay=0.01), ref_lamb()),
    ],
    ids=["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad", "lion", "lamb"],
)
def test_three_steps_match_the_published_formula(opt, ref):
    for got, want in zip(run(opt), ref):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_states_are_inspectable_namedtuples():
    state = optim.adam(LR).init({"w": fnp.zeros(2)})
    adam_state = state[0]
    assert type(adam_state).__name__ == "ScaleByAdamState"
    assert adam_state._fields == ("count", "mu", "nu")
    assert len(fg.tree.leaves(state)) == 3


# ---- convergence --------------------------------------------------------------------------------


def minimise(opt, loss, x0, steps):
    x = fnp.asarray(np.asarray(x0, np.float32))
    state = opt.init(x)
    step = _step(opt, loss)
    for _ in range(steps):
        x, state = step(x, state)
    return np.asarray(x)


def _step(opt, loss):
    def step(x, state):
        g = fg.grad(loss)(x)
        u, state = opt.update(g, state, x)
        return optim.apply_updates(x, u), state

    return jit(step) if jit is not None else step


def quadratic(x):
    return fnp.sum(fnp.array([1.0, 10.0]) * (x - fnp.array([1.0, -2.0])) ** 2)


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


@pytest.mark.parametrize(
    "opt,steps",
    [
        (optim.sgd(0.04), 200),
        (optim.sgd(0.02, momentum=0.9), 200),
        (optim.adam(0.1), 300),
        (optim.adamw(0.1, weight_decay=0.0), 300),
        (optim.rmsprop(0.02), 400),
        (optim.adagrad(0.5), 300),
        (optim.lion(0.01, weight_decay=0.0), 1000),
        (optim.lamb(0.02), 400),
    ],
)
def test_quadratic_converges(opt, steps):
    np.testing.assert_allclose(minimise(opt, quadratic, [0.0, 0.0], steps), [1.0, -2.0], atol=0.05)


@pytest.mark.parametrize(
    "opt,steps",
    [
        (optim.adam(0.02), 2000),
        (optim.sgd(1e-3, momentum=0.9), 3000),
    ],
)
def test_rosenbrock_converges(opt, steps):
    np.testing.assert_allclose(minimise(opt, rosenbrock, [-1.0, 1.0], steps), [1.0, 1.0], atol=0.05)


# ---- combinators --------------------------------------------------------------------------------


def test_clip_by_global_norm_and_chain():
    opt = optim.chain(optim.clip_by_global_norm(1.0), optim.sgd(1.0))
    params = {"a": fnp.zeros(1), "b": fnp.zeros(1)}
    u, _ = opt.update({"a": fnp.array([3.0]), "b": fnp.array([4.0])}, opt.init(params), params)
    np.testing.assert_allclose([u["a"][0], u["b"][0]], [-0.6, -0.8], rtol=1e-6)
    u, _ = opt.update({"a": fnp.array([0.3]), "b": fnp.array([0.4])}, opt.init(params), params)
    np.testing.assert_allclose([u["a"][0], u["b"][0]], [-0.3, -0.4], rtol=1e-6)


def test_weight_decay_mask_as_function():
    params = {"w": fnp.ones((2, 2)), "b": fnp.ones(2)}
    opt = optim.adamw(0.1, weight_decay=0.5, mask=lambda p: fg.tree.map(lambda x: x.ndim > 1, p))
    zero = fg.tree.map(fnp.zeros_like, params)
    u, _ = opt.update(zero, opt.init(params), params)
    np.testing.assert_allclose(u["w"], -0.05 * np.ones((2, 2)), rtol=1e-6)
    np.testing.assert_allclose(u["b"], np.zeros(2))


def test_multi_transform_freezes_and_groups():
    params = {"enc": fnp.ones(2), "head": fnp.ones(2)}
    opt = optim.multi_transform(
        {"frozen": optim.set_to_zero(), "fast": optim.adam(0.1)}, {"enc": "frozen", "head": "fast"}
    )
    state = opt.init(params)
    assert set(state.inner_states) == {"frozen", "fast"}
    g = {"enc": fnp.ones(2), "head": fnp.ones(2)}
    u, state = opt.update(g, state, params)
    np.testing.assert_allclose(u["enc"], [0, 0])
    np.testing.assert_allclose(u["head"], [-0.1, -0.1], rtol=1e-5)
    with pytest.raises(ValueError, match="no transformation"):
        optim.multi_transform({"a": optim.sgd(1.0)}, {"enc": "a", "head": "b"}).init(params)


def test_multi_steps_averages_k_gradients():
    opt = optim.MultiSteps(optim.adam(0.1), every_k_schedule=3)
    p = fnp.asarray(P0)
    s = opt.init(p)
    grads = [g + np.float32(0.5) for g in GRADS]
    for g in grads[:2]:
        u, s = opt.update(fnp.asarray(g), s, p)
        np.testing.assert_allclose(u, np.zeros(3))
        assert not bool(opt.has_updated(s))
    u, s = opt.update(fnp.asarray(grads[2]), s, p)
    assert bool(opt.has_updated(s)) and int(s.gradient_step) == 1
    direct, _ = optim.adam(0.1).update(fnp.asarray(np.mean(grads, 0)), optim.adam(0.1).init(p), p)
    np.testing.assert_allclose(u, direct, rtol=1e-5)
    assert len(optim.MultiSteps(optim.sgd(1.0), 2).gradient_transformation()) == 2


def test_apply_if_finite_skips_and_then_gives_up():
    opt = optim.apply_if_finite(optim.sgd(1.0, momentum=0.5), max_consecutive_errors=1)
    p = fnp.zeros(1)
    s = opt.init(p)
    u, s = opt.update(fnp.array([np.inf]), s, p)
    assert float(u[0]) == 0.0 and int(s.notfinite_count) == 1 and not bool(s.last_finite)
    u, s = opt.update(fnp.array([1.0]), s, p)
    assert float(u[0]) == -1.0 and int(s.notfinite_count) == 0
    s = opt.update(fnp.array([np.nan]), s, p)[1]
    u, s = opt.update(fnp.array([np.nan]), s, p)  # second in a row > max: applied
    assert np.isnan(float(u[0])) and int(s.total_notfinite) == 3


def test_inject_hyperparams_reads_the_state():
    opt = optim.inject_hyperparams(optim.adam)(learning_rate=0.1, b1=0.9)
    p = fnp.asarray(P0)
    s = opt.init(p)
    assert set(s.hyperparams) >= {"learning_rate", "b1", "b2", "eps"}
    u1, _ = opt.update(fnp.asarray(GRADS[0]), s, p)
    s2 = s._replace(hyperparams={**s.hyperparams, "learning_rate": fnp.asarray(0.2)})
    u2, _ = opt.update(fnp.asarray(GRADS[0]), s2, p)
    np.testing.assert_allclose(u2, 2 * np.asarray(u1), rtol=1e-6)


def test_inject_hyperparams_with_schedule_and_jit_without_recompiling():
    sched = S.linear_schedule(1.0, 0.0, 4)
    opt = optim.inject_hyperparams(optim.sgd)(learning_rate=sched)
    p = fnp.zeros(1)
    s = opt.init(p)
    update = jit(opt.update) if jit is not None else opt.update
    seen = []
    for _ in range(3):
        u, s = update(fnp.ones(1), s, p)
        seen.append(float(u[0]))
    np.testing.assert_allclose(seen, [-1.0, -0.75, -0.5])
    s = s._replace(hyperparams={"learning_rate": fnp.asarray(7.0)})
    if jit is not None:
        assert update._cache_size() == 1


def test_learning_rate_schedule_argument():
    opt = optim.sgd(S.piecewise_constant_schedule(1.0, {1: 0.5}))
    p = fnp.zeros(1)
    s = opt.init(p)
    u1, s = opt.update(fnp.ones(1), s, p)
    u2, s = opt.update(fnp.ones(1), s, p)
    assert float(u1[0]) == -1.0 and float(u2[0]) == -0.5


# ---- schedules ----------------------------------------------------------------------------------


def values(s, steps):
    return np.array([float(s(i)) for i in steps])


def test_schedules_match_formulas():
    t = np.arange(0, 30)
    np.testing.assert_allclose(values(S.constant_schedule(0.3), t), 0.3, rtol=1e-6)
    np.testing.assert_allclose(
        values(S.exponential_decay(2.0, 5, 0.5), t), 2.0 * 0.5 ** (t / 5), rtol=1e-5
    )
    np.testing.assert_allclose(
        values(S.exponential_decay(2.0, 5, 0.5, staircase=True, end_value=0.2), t),
        np.maximum(2.0 * 0.5 ** (t // 5), 0.2),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        values(S.exponential_decay(1.0, 5, 0.5, transition_begin=10), t),
        0.5 ** (np.maximum(t - 10, 0) / 5),
        rtol=1e-5,
    )
    cos = 0.5 * (1 + np.cos(np.pi * np.minimum(t, 20) / 20))
    np.testing.assert_allclose(
        values(S.cosine_decay_schedule(1.0, 20, alpha=0.1), t),
        0.9 * cos + 0.1,
        rtol=1e-5,
        atol=1e-7,
    )
    np.testing.assert_allclose(
        values(S.linear_schedule(1.0, 0.1, 10, transition_begin=5), t),
        1.0 + (0.1 - 1.0) * np.clip((t - 5) / 10, 0, 1),
        rtol=1e-5,
    )
    pw = values(S.piecewise_constant_schedule(1.0, {10: 0.5, 20: 0.1}), t)
    np.testing.assert_allclose(pw, np.where(t < 10, 1.0, np.where(t < 20, 0.5, 0.05)), rtol=1e-6)


def test_warmup_cosine_and_one_cycle():
    s = S.warmup_cosine_decay_schedule(0.0, 1.0, 10, 30, end_value=0.1)
    v = values(s, range(40))
    np.testing.assert_allclose(v[:11], np.linspace(0, 1, 11), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(v[30:], 0.1, rtol=1e-5)
    assert np.all(np.diff(v[10:31]) <= 1e-7)
    oc = values(S.cosine_onecycle_schedule(100, 2.0), range(101))
    assert abs(oc[0] - 2.0 / 25) < 1e-6 and abs(oc[30] - 2.0) < 1e-6
    assert oc.argmax() == 30 and oc[-1] < 1e-4
    assert S.one_cycle is S.cosine_onecycle_schedule


def test_schedules_trace_under_jit():
    if jit is None:
        pytest.skip("jit not available")
    s = S.warmup_cosine_decay_schedule(0.0, 1.0, 10, 30)
    js = jit(s)
    np.testing.assert_allclose(
        [float(js(fnp.asarray(i))) for i in (3, 20)], [float(s(3)), float(s(20))], rtol=1e-5
    )
