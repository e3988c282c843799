"""``funcgrad.random``: explicit-key, counter-based pseudo-random numbers (threefry2x32).

Written from ``funcgrad.lax`` primitives only, so it runs the same eagerly, under ``vmap``
and under ``jit``. A key is a ``uint32[2]`` array; ``split`` and ``fold_in`` derive new keys.
Never reuse a key for two draws that should be independent.

>>> import funcgrad as fg
>>> key = fg.random.key(0)
>>> k1, k2 = fg.random.split(key)
>>> fg.random.normal(k1, (3,)).shape
(3,)
"""

from funcgrad._src.random.basic import (
    bernoulli,
    categorical,
    choice,
    exponential,
    gumbel,
    laplace,
    logistic,
    normal,
    permutation,
    rademacher,
    randint,
    shuffle,
    truncated_normal,
    uniform,
)
from funcgrad._src.random.binomial import binomial, multinomial
from funcgrad._src.random.continuous import (
    cauchy,
    double_sided_maxwell,
    lognormal,
    maxwell,
    pareto,
    rayleigh,
    triangular,
    wald,
    weibull_min,
)
from funcgrad._src.random.discrete import (
    geometric,
    poisson,
)
from funcgrad._src.random.gamma import (
    beta,
    chisquare,
    dirichlet,
    f,
    gamma,
    generalized_normal,
    loggamma,
    t,
)
from funcgrad._src.random.multivariate import (
    ball,
    multivariate_normal,
    orthogonal,
)
from funcgrad._src.random.prng import (
    PRNGKey,
    bits,
    clone,
    fold_in,
    key,
    key_data,
    key_impl,
    random_bits,
    split,
    threefry_2x32,
    wrap_key_data,
)

__all__ = [
    "PRNGKey",
    "key",
    "key_data",
    "key_impl",
    "wrap_key_data",
    "split",
    "fold_in",
    "clone",
    "random_bits",
    "bits",
    "uniform",
    "normal",
    "truncated_normal",
    "bernoulli",
    "randint",
    "gumbel",
    "categorical",
    "permutation",
    "shuffle",
    "choice",
    "exponential",
    "laplace",
    "logistic",
    "rademacher",
    "threefry_2x32",
    "gamma",
    "loggamma",
    "beta",
    "dirichlet",
    "chisquare",
    "t",
    "f",
    "poisson",
    "cauchy",
    "lognormal",
    "pareto",
    "weibull_min",
    "geometric",
    "rayleigh",
    "wald",
    "multivariate_normal",
    "orthogonal",
    "ball",
    "maxwell",
    "double_sided_maxwell",
    "generalized_normal",
    "triangular",
    "binomial",
    "multinomial",
]
