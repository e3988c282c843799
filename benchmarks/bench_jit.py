"""funcgrad.jit vs numpy (and jax.jit / torch when importable), side by side in one process.

    python benchmarks/bench_jit.py [--quick]

Prints medians and the ratio to numpy for each workload of the jit issue. jax and torch are
never dependencies: they are measured only if they happen to be installed.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad._src.jit import jit

try:  # optional peers
    import jax
    import jax.numpy as jnp
except Exception:  # noqa: BLE001
    jax = None
try:
    import torch
except Exception:  # noqa: BLE001
    torch = None


def median_time(fn, reps=20, min_time=0.2) -> float:
    fn()  # warm up (compiles)
    times = []
    t_end = time.perf_counter() + min_time
    while len(times) < reps or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) > 10000:
            break
    return float(np.median(times))


def _block(x):
    return x.block_until_ready() if hasattr(x, "block_until_ready") else x


ROWS: list = []


def report(name, results: dict) -> None:
    base = results.get("numpy")
    cells = []
    for k, v in results.items():
        if v is None:
            continue
        ratio = f" ({base / v:.2f}x)" if base and k != "numpy" else ""
        cells.append(f"{k} {_fmt(v)}{ratio}")
    ROWS.append((name, results))
    print(f"{name:44s} " + " | ".join(cells), flush=True)


def _fmt(t: float) -> str:
    return f"{t * 1e6:.1f} us" if t < 1e-3 else f"{t * 1e3:.2f} ms"


# ---- workloads -----------------------------------------------------------------------------------


def bench_elementwise(n):
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    f = lambda x: fnp.tanh(x) * 0.5 + fnp.sin(x) ** 2 - fnp.exp(-x * x)
    jf = jit(f)
    r = {
        "numpy": median_time(lambda: np.tanh(x) * 0.5 + np.sin(x) ** 2 - np.exp(-x * x)),
        "funcgrad.jit": median_time(lambda: jf(x)),
    }
    if jax:
        jx = jax.jit(lambda x: jnp.tanh(x) * 0.5 + jnp.sin(x) ** 2 - jnp.exp(-x * x))
        xj = jnp.asarray(x)
        r["jax.jit"] = median_time(lambda: _block(jx(xj)))
    if torch:
        xt = torch.from_numpy(x)
        r["torch"] = median_time(
            lambda: torch.tanh(xt) * 0.5 + torch.sin(xt) ** 2 - torch.exp(-xt * xt)
        )
    report(f"tanh*0.5+sin^2-exp(-x^2), {n:.0e} f32", r)


def lse(x, m):
    mx = m.max(x, axis=1, keepdims=True)
    return m.log(m.sum(m.exp(x - mx), axis=1)) + mx[:, 0]


def bench_logsumexp(n):
    x = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
    jf = jit(lambda x: lse(x, fnp))
    r = {"numpy": median_time(lambda: lse(x, np)), "funcgrad.jit": median_time(lambda: jf(x))}
    if jax:
        jx, xj = jax.jit(lambda x: lse(x, jnp)), jnp.asarray(x)
        r["jax.jit"] = median_time(lambda: _block(jx(xj)))
    if torch:
        xt = torch.from_numpy(x)
        r["torch"] = median_time(lambda: torch.logsumexp(xt, 1))
    report(f"logsumexp rows {n}x{n}", r)


def bench_matmul(n):
    rng = np.random.default_rng(2)
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    jf = jit(lambda a, b: a @ b)
    r = {"numpy": median_time(lambda: a @ b), "funcgrad.jit": median_time(lambda: jf(a, b))}
    if jax:
        jx, aj, bj = jax.jit(lambda a, b: a @ b), jnp.asarray(a), jnp.asarray(b)
        r["jax.jit"] = median_time(lambda: _block(jx(aj, bj)))
    if torch:
        at, bt = torch.from_numpy(a), torch.from_numpy(b)
        r["torch"] = median_time(lambda: at @ bt)
    report(f"matmul {n}^3", r)


def bench_overhead():
    x = np.arange(8, dtype=np.float32)
    jf = jit(lambda x: x * 2 + 1)
    xa = fnp.asarray(x)
    r = {
        "numpy": median_time(lambda: x * 2 + 1, reps=2000),
        "funcgrad.jit": median_time(lambda: jf(xa), reps=2000),
    }
    if jax:
        jx, xj = jax.jit(lambda x: x * 2 + 1), jnp.asarray(x)
        r["jax.jit"] = median_time(lambda: _block(jx(xj)), reps=2000)
    report("per-call overhead x*2+1, 8 elements", r)


# ---- MLP -----------------------------------------------------------------------------------------


def mlp_init(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [
        ((rng.standard_normal((a, b)) * np.sqrt(2 / a)).astype(np.float32), np.zeros(b, np.float32))
        for a, b in zip(sizes[:-1], sizes[1:])
    ]


def mlp_loss(params, x, t, m=fnp):
    h = x
    for i, (w, b) in enumerate(params):
        h = h @ w + b
        if i < len(params) - 1:
            h = m.maximum(h, 0)
    mx = m.max(h, -1, keepdims=True)
    logp = h - mx - m.log(m.sum(m.exp(h - mx), -1, keepdims=True))
    return -m.mean(m.sum(logp * t, -1))


def sgd_step(params, x, t):
    loss, g = fg.value_and_grad(mlp_loss)(params, x, t)
    return loss, fg.tree_util.tree_map(lambda p, g: p - 0.01 * g, params, g)


def numpy_mlp_step(params, x, t):
    hs, h = [x], x
    for i, (w, b) in enumerate(params):
        h = h @ w + b
        if i < len(params) - 1:
            h = np.maximum(h, 0)
        hs.append(h)
    mx = h.max(-1, keepdims=True)
    e = np.exp(h - mx)
    p = e / e.sum(-1, keepdims=True)
    loss = -np.mean(np.sum((h - mx - np.log(e.sum(-1, keepdims=True))) * t, -1))
    g = (p - t) / x.shape[0]
    new = []
    for i in range(len(params) - 1, -1, -1):
        w, b = params[i]
        gw, gb = hs[i].T @ g, g.sum(0)
        if i:
            g = (g @ w.T) * (hs[i] > 0)
        new.append((w - 0.01 * gw, b - 0.01 * gb))
    return loss, new[::-1]


def _mlp_data(batch, din, dout, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, din)).astype(np.float32)
    t = np.eye(dout, dtype=np.float32)[rng.integers(0, dout, batch)]
    return x, t


def bench_mlp():
    params = mlp_init([784, 512, 512, 10])
    x, t = _mlp_data(128, 784, 10)
    t0 = time.perf_counter()
    step = jit(sgd_step)
    _block(step(params, x, t)[0])
    first = time.perf_counter() - t0
    r = {
        "numpy": median_time(lambda: numpy_mlp_step(params, x, t)),
        "funcgrad.jit": median_time(lambda: step(params, x, t)),
    }
    if jax:
        jstep = jax.jit(lambda p, x, t: _jax_step(p, x, t))
        pj = jax.tree_util.tree_map(jnp.asarray, params)
        t0 = time.perf_counter()
        _block(jstep(pj, x, t)[0])
        jfirst = time.perf_counter() - t0
        r["jax.jit"] = median_time(lambda: _block(jstep(pj, x, t)[0]))
    report("MLP 784-512-512-10 B=128 value_and_grad+SGD", r)
    report(
        "first call (trace+compile) of that step",
        {"funcgrad.jit": first, **({"jax.jit": jfirst} if jax else {})},
    )


def _jax_step(params, x, t):
    loss, g = jax.value_and_grad(lambda p: mlp_loss(p, x, t, jnp))(params)
    return loss, jax.tree_util.tree_map(lambda p, g: p - 0.01 * g, params, g)


def bench_per_example():
    params = mlp_init([784, 128, 10])
    x, t = _mlp_data(64, 784, 10, seed=2)
    one = lambda p, x, t: mlp_loss(p, x[None], t[None])
    f = jit(fg.vmap(fg.grad(one), in_axes=(None, 0, 0)))

    def by_hand():
        (w1, b1), (w2, b2) = params
        h = np.maximum(x @ w1 + b1, 0)
        z = h @ w2 + b2
        e = np.exp(z - z.max(-1, keepdims=True))
        g = e / e.sum(-1, keepdims=True) - t
        gh = (g @ w2.T) * (h > 0)
        return (x[:, :, None] * gh[:, None, :], gh), (h[:, :, None] * g[:, None, :], g)

    r = {"numpy": median_time(by_hand), "funcgrad.jit": median_time(lambda: f(params, x, t))}
    if jax:
        jf = jax.jit(
            jax.vmap(
                jax.grad(lambda p, x, t: mlp_loss(p, x[None], t[None], jnp)), in_axes=(None, 0, 0)
            )
        )
        r["jax.jit"] = median_time(lambda: _block(jax.tree_util.tree_leaves(jf(params, x, t))[0]))
    report("per-example grads vmap(grad) 784-128-10 B=64", r)


# ---- convnet -------------------------------------------------------------------------------------


def conv_init(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "c1": rng.standard_normal((32, 1, 3, 3)).astype(np.float32) * 0.3,
        "c2": rng.standard_normal((64, 32, 3, 3)).astype(np.float32) * 0.05,
        "w": rng.standard_normal((64 * 12 * 12, 10)).astype(np.float32) * 0.01,
    }


def conv_loss(p, x, t, m=fnp, conv=lax.conv):
    h = m.maximum(conv(x, p["c1"], (1, 1), "VALID"), 0)  # 26x26
    h = m.maximum(conv(h, p["c2"], (1, 1), "VALID"), 0)  # 24x24
    b = h.shape[0]
    h = m.max(h.reshape(b, 64, 12, 2, 12, 2), axis=(3, 5))
    z = h.reshape(b, -1) @ p["w"]
    mx = m.max(z, -1, keepdims=True)
    return -m.mean(m.sum((z - mx - m.log(m.sum(m.exp(z - mx), -1, keepdims=True))) * t, -1))


def bench_convnet():
    p = conv_init()
    x, t = _mlp_data(32, 28 * 28, 10, seed=3)
    x = x.reshape(32, 1, 28, 28)
    f = jit(fg.value_and_grad(conv_loss))
    eager = fg.value_and_grad(conv_loss)
    r = {
        "funcgrad eager": median_time(lambda: eager(p, x, t), reps=5),
        "funcgrad.jit": median_time(lambda: f(p, x, t), reps=5),
    }
    if jax:
        jf = jax.jit(jax.value_and_grad(lambda p, x, t: conv_loss(p, x, t, jnp, jax.lax.conv)))
        pj = jax.tree_util.tree_map(jnp.asarray, p)
        _block(jf(pj, x, t)[0])
        r["jax.jit"] = median_time(lambda: _block(jf(pj, x, t)[0]), reps=5)
    if torch:
        tp = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
        xt, tt = torch.from_numpy(x), torch.from_numpy(t)

        def tstep():
            h = torch.relu(torch.nn.functional.conv2d(xt, tp["c1"]))
            h = torch.relu(torch.nn.functional.conv2d(h, tp["c2"]))
            h = torch.nn.functional.max_pool2d(h, 2)
            z = h.reshape(32, -1) @ tp["w"]
            loss = -(torch.log_softmax(z, -1) * tt).sum(-1).mean()
            return torch.autograd.grad(loss, list(tp.values()))

        r["torch"] = median_time(tstep, reps=5)
    report("convnet fwd+bwd B=32 28x28", r)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke test)")
    args = ap.parse_args(argv)
    print(
        f"# {time.strftime('%Y-%m-%d')} {platform.node()} {platform.processor()} "
        f"numpy {np.__version__}"
        + (f" jax {jax.__version__}" if jax else "")
        + (f" torch {torch.__version__}" if torch else "")
    )
    q = args.quick
    bench_elementwise(100_000 if q else 10_000_000)
    bench_logsumexp(256 if q else 4096)
    bench_matmul(256)
    if not q:
        bench_matmul(1024)
    bench_overhead()
    bench_mlp()
    bench_per_example()
    bench_convnet()


if __name__ == "__main__":
    main()
