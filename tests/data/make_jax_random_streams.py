"""Records jax 0.10.2's random streams for tests/test_random_streams.py.

Run once, in an environment with jax installed (never a test dependency):
``python make_jax_random_streams.py``. It loops over jax_threefry_partitionable (True, False) x
jax_enable_x64 (False, True) x seed x sampler x dtype and writes jax_random_streams.json beside
this file: for every case the output dtype, shape and the raw little-endian bytes as hex (so
the comparison is bit for bit), or the name of the exception JAX raised.
"""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as R
import numpy as np

SEEDS = (0, 42, 2**40 + 7)
FLOATS = ("float16", "bfloat16", "float32", "float64")
S23, S3 = (2, 3), (3,)


def _p(v, dt):
    return jnp.asarray(v, dtype=dt)


def _float_cases():
    """name -> fn(key, dtype) for the float samplers (each also given shape (3,) where simple)."""
    c = {}
    for shp in (S3, S23):
        tag = "x".join(map(str, shp))
        c[f"uniform_{tag}"] = lambda k, dt, s=shp: R.uniform(k, s, dt)
        c[f"normal_{tag}"] = lambda k, dt, s=shp: R.normal(k, s, dt)
        c[f"exponential_{tag}"] = lambda k, dt, s=shp: R.exponential(k, s, dt)
        c[f"gumbel_{tag}"] = lambda k, dt, s=shp: R.gumbel(k, s, dt)
        c[f"laplace_{tag}"] = lambda k, dt, s=shp: R.laplace(k, s, dt)
        c[f"logistic_{tag}"] = lambda k, dt, s=shp: R.logistic(k, s, dt)
        c[f"cauchy_{tag}"] = lambda k, dt, s=shp: R.cauchy(k, s, dt)
    c["uniform_bounds"] = lambda k, dt: R.uniform(k, S23, dt, -2.0, 3.0)
    c["truncated_normal"] = lambda k, dt: R.truncated_normal(k, -1.5, 2.0, S23, dt)
    c["bernoulli"] = lambda k, dt: R.bernoulli(k, _p(0.3, dt), S23)
    c["rademacher"] = lambda k, dt: R.rademacher(k, S23, dt)
    c["maxwell"] = lambda k, dt: R.maxwell(k, S23, dt)
    c["double_sided_maxwell"] = lambda k, dt: R.double_sided_maxwell(k, 1.0, 2.0, S23, dt)
    c["weibull_min"] = lambda k, dt: R.weibull_min(k, 2.0, 1.5, S23, dt)
    c["pareto"] = lambda k, dt: R.pareto(k, _p(3.0, dt), S23, dt)
    c["triangular"] = lambda k, dt: R.triangular(k, 0.0, 1.0, 3.0, S23, dt)
    c["lognormal"] = lambda k, dt: R.lognormal(k, _p(0.5, dt), S23, dt)
    c["rayleigh"] = lambda k, dt: R.rayleigh(k, _p(2.0, dt), S23, dt)
    c["wald"] = lambda k, dt: R.wald(k, _p(1.5, dt), S23, dt)
    c["gamma"] = lambda k, dt: R.gamma(k, _p([0.5, 1.0, 3.0], dt), S23, dt)
    c["gamma_small"] = lambda k, dt: R.gamma(k, _p(0.3, dt), S3, dt)
    c["loggamma"] = lambda k, dt: R.loggamma(k, _p([0.2, 1.0, 4.0], dt), S23, dt)
    c["beta"] = lambda k, dt: R.beta(k, _p(0.5, dt), _p(2.0, dt), S23, dt)
    c["dirichlet"] = lambda k, dt: R.dirichlet(k, _p([0.5, 1.0, 2.0], dt), (2,), dt)
    c["chisquare"] = lambda k, dt: R.chisquare(k, _p(2.5, dt), S23, dt)
    c["t"] = lambda k, dt: R.t(k, _p(3.0, dt), S23, dt)
    c["f"] = lambda k, dt: R.f(k, _p(3.0, dt), _p(5.0, dt), S23, dt)
    c["generalized_normal"] = lambda k, dt: R.generalized_normal(k, 1.5, S23, dt)
    c["ball"] = lambda k, dt: R.ball(k, 3, 2, (2,), dt)
    c["binomial"] = lambda k, dt: R.binomial(k, _p([5.0, 20.0, 100.0], dt), _p(0.3, dt), S23, dt)
    c["multinomial"] = lambda k, dt: R.multinomial(
        k, _p(10.0, dt), _p([0.2, 0.3, 0.5], dt), shape=(2, 3), dtype=dt
    )
    c["multivariate_normal"] = lambda k, dt: R.multivariate_normal(
        k, _p([0.0, 1.0], dt), _p([[2.0, 0.5], [0.5, 1.0]], dt), S3, dt
    )
    c["orthogonal"] = lambda k, dt: R.orthogonal(k, 3, (2,), dt)
    c["categorical"] = lambda k, dt: R.categorical(k, _p([0.1, 1.0, -0.5, 2.0], dt), shape=S23)
    c["categorical_noreplace"] = lambda k, dt: R.categorical(
        k, _p([0.1, 1.0, -0.5, 2.0, 0.3], dt), shape=S3, replace=False
    )
    c["choice_p"] = lambda k, dt: R.choice(k, 6, S23, p=_p([0.1, 0.2, 0.3, 0.1, 0.2, 0.1], dt))
    c["choice_p_noreplace"] = lambda k, dt: R.choice(
        k, 6, S3, replace=False, p=_p([0.1, 0.2, 0.3, 0.1, 0.2, 0.1], dt)
    )
    return c


def _other_cases():
    """name -> fn(key) for the samplers without a float dtype argument."""
    c = {}
    for w in ("uint8", "uint16", "uint32", "uint64"):
        c[f"bits_{w}_3"] = lambda k, w=w: R.bits(k, S3, w)
        c[f"bits_{w}_2x3"] = lambda k, w=w: R.bits(k, S23, w)
    for d in ("int8", "int16", "int32", "int64", "uint8", "uint32"):
        c[f"randint_{d}"] = lambda k, d=d: R.randint(k, S23, -5, 20, d)
    c["randint_wide"] = lambda k: R.randint(k, S23, 0, 256, "uint8")
    c["split"] = lambda k: R.key_data(R.split(k))
    c["split_3"] = lambda k: R.key_data(R.split(k, 3))
    c["split_2x2"] = lambda k: R.key_data(R.split(k, (2, 2)))
    c["fold_in_7"] = lambda k: R.key_data(R.fold_in(k, 7))
    c["fold_in_big"] = lambda k: R.key_data(R.fold_in(k, 2**33 + 5))
    c["key_data"] = lambda k: R.key_data(k)
    c["permutation_int"] = lambda k: R.permutation(k, 10)
    c["permutation_1d"] = lambda k: R.permutation(k, jnp.arange(7) * 10)
    c["permutation_axis1"] = lambda k: R.permutation(k, jnp.arange(12).reshape(3, 4), axis=1)
    c["permutation_indep"] = lambda k: R.permutation(
        k, jnp.arange(12).reshape(3, 4), axis=1, independent=True
    )
    c["choice"] = lambda k: R.choice(k, 10, S23)
    c["choice_noreplace"] = lambda k: R.choice(k, 10, S3, replace=False)
    c["choice_array"] = lambda k: R.choice(k, jnp.arange(12).reshape(3, 4), (2,), axis=1)
    c["poisson"] = lambda k: R.poisson(k, jnp.array([0.5, 4.0, 25.0]), S23)
    c["geometric"] = lambda k: R.geometric(k, 0.3, S23)
    c["normal_complex"] = lambda k: R.normal(k, S3, jnp.complex64)
    return c


def _record(fn):
    try:
        x = np.asarray(fn())
    except Exception as e:  # noqa: BLE001 - the exception's type is what is recorded
        return {"error": type(e).__name__}
    dt = str(x.dtype)
    raw = x.view(np.uint16) if dt == "bfloat16" else x
    return {"dtype": dt, "shape": list(x.shape), "hex": np.ascontiguousarray(raw).tobytes().hex()}


def _one_config(tag, cases):
    """Every case for every seed; the seeds share one compilation per case."""
    keys = {seed: R.key(seed) for seed in SEEDS}
    for seed in SEEDS:
        cases[f"{tag}|seed={seed}"] = {"PRNGKey": _record(lambda s=seed: R.PRNGKey(s))}
    todo = [(n, lambda k, fn=fn: fn(k)) for n, fn in _other_cases().items()]
    for name, fn in _float_cases().items():
        todo += [(f"{name}|{dt}", lambda k, fn=fn, dt=dt: fn(k, dt)) for dt in FLOATS]
    for name, fn in todo:
        for seed in SEEDS:
            cases[f"{tag}|seed={seed}"][name] = _record(lambda fn=fn, s=seed: fn(keys[s]))
        jax.clear_caches()


def main():
    """With an argument ``part x64``: record that configuration into a part file; without:
    run every configuration in its own process (bounded memory) and merge the parts."""
    import subprocess
    import sys
    import warnings

    here = Path(__file__).parent
    if len(sys.argv) == 3:
        warnings.simplefilter("ignore")
        part, x64 = int(sys.argv[1]), int(sys.argv[2])
        jax.config.update("jax_threefry_partitionable", bool(part))
        jax.config.update("jax_enable_x64", bool(x64))
        cases = {}
        _one_config(f"part={part}|x64={x64}", cases)
        (here / f"_streams_{part}{x64}.json").write_text(json.dumps(cases))
        return
    data = {"jax_version": jax.__version__, "cases": {}}
    for part in (1, 0):
        for x64 in (0, 1):
            if not (here / f"_streams_{part}{x64}.json").exists():
                subprocess.run([sys.executable, __file__, str(part), str(x64)], check=True)
            data["cases"].update(json.loads((here / f"_streams_{part}{x64}.json").read_text()))
    path = here / "jax_random_streams.json"
    path.write_text(json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n")
    for part in (1, 0):
        for x64 in (0, 1):
            (here / f"_streams_{part}{x64}.json").unlink()


if __name__ == "__main__":
    main()
