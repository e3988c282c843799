"""``funcgrad.scipy.special``: special functions, stable in value and gradient.

>>> import funcgrad.numpy as fnp
>>> from funcgrad.scipy.special import logsumexp
>>> logsumexp(fnp.array([1000.0, 1000.0]))
Array(1000.6932, dtype=float32)
"""

from funcgrad._src.scipy.special import (
    digamma,
    erf,
    erfc,
    erfinv,
    expit,
    gammaln,
    log_softmax,
    logit,
    logsumexp,
    softmax,
    xlog1py,
    xlogy,
)

__all__ = [
    "digamma",
    "erf",
    "erfc",
    "erfinv",
    "expit",
    "gammaln",
    "log_softmax",
    "logit",
    "logsumexp",
    "softmax",
    "xlog1py",
    "xlogy",
]
