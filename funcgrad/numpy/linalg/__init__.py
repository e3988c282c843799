"""``funcgrad.numpy.linalg``: numpy.linalg over funcgrad arrays.

Everything is differentiable (grad, jvp, vmap, jit) and batched over leading dimensions like
numpy. Built from the primitives in ``funcgrad._src.lax.linalg``; differences from numpy
(NaN instead of LinAlgError, gradient conventions, ...) are listed in docs/numpy.md. The
implementation lives in ``funcgrad._src.numpy.linalg`` and ``linalg_tensor``.
"""

from funcgrad._src.numpy.linalg import (
    LinAlgError,
    cholesky,
    cond,
    det,
    eigh,
    eigvalsh,
    inv,
    lstsq,
    matmul,
    matrix_norm,
    matrix_power,
    matrix_rank,
    norm,
    pinv,
    qr,
    slogdet,
    solve,
    svd,
    svdvals,
    vector_norm,
)
from funcgrad._src.numpy.linalg_tensor import (
    cross,
    diagonal,
    matrix_transpose,
    multi_dot,
    outer,
    tensordot,
    tensorinv,
    tensorsolve,
    trace,
    vecdot,
)

__all__ = [
    "cholesky",
    "cond",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "lstsq",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "vector_norm",
    "LinAlgError",
    "cross",
    "diagonal",
    "matrix_transpose",
    "multi_dot",
    "outer",
    "tensordot",
    "tensorinv",
    "tensorsolve",
    "trace",
    "vecdot",
]
