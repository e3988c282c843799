"""``funcgrad.numpy``: numpy's API over funcgrad arrays (``import funcgrad.numpy as fnp``).

Every function here is written from ``funcgrad.lax`` primitives, so all of it works under
grad, jvp, vmap and jit. Differences from numpy are listed in docs/numpy.md.
"""

import numpy as _np

from funcgrad._src import dtypes as _dtypes
from funcgrad._src.array import Array as ndarray
from funcgrad._src.scalar_types import BFLOAT16 as bfloat16
from funcgrad._src.scalar_types import TYPES as _TYPES

bool_, int8, int16, int32, int64 = (_TYPES[n] for n in ("bool_", "int8", "int16", "int32", "int64"))
uint8, uint16, uint32, uint64 = (_TYPES[n] for n in ("uint8", "uint16", "uint32", "uint64"))
float16, float32, float64, complex64, complex128 = (
    _TYPES[n] for n in ("float16", "float32", "float64", "complex64", "complex128")
)
from funcgrad._src.fnp_base import (  # noqa: F401
    abs,
    absolute,
    acos,
    acosh,
    add,
    allclose,
    angle,
    arange,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    around,
    array,
    array_equal,
    asarray,
    asin,
    asinh,
    astype,
    atan,
    atan2,
    atanh,
    bitwise_and,
    bitwise_invert,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    broadcast_shapes,
    broadcast_to,
    cbrt,
    ceil,
    clip,
    conj,
    conjugate,
    copysign,
    cos,
    cosh,
    deg2rad,
    degrees,
    divide,
    divmod,
    empty,
    empty_like,
    equal,
    exp,
    exp2,
    expm1,
    eye,
    fabs,
    fix,
    float_power,
    floor,
    floor_divide,
    fmax,
    fmin,
    fmod,
    full,
    full_like,
    greater,
    greater_equal,
    heaviside,
    hypot,
    identity,
    imag,
    invert,
    isclose,
    isfinite,
    isinf,
    isnan,
    isneginf,
    isposinf,
    left_shift,
    less,
    less_equal,
    linspace,
    log,
    log1p,
    log2,
    log10,
    logaddexp,
    logaddexp2,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    logspace,
    maximum,
    meshgrid,
    minimum,
    mod,
    multiply,
    nan_to_num,
    negative,
    nextafter,
    not_equal,
    ones,
    ones_like,
    positive,
    power,
    promote_types,
    rad2deg,
    radians,
    ravel,
    real,
    reciprocal,
    remainder,
    result_type,
    right_shift,
    rint,
    round,
    sign,
    signbit,
    sin,
    sinc,
    sinh,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    tri,
    true_divide,
    trunc,
    where,
    zeros,
    zeros_like,
)
from funcgrad._src.fnp_extra import (  # noqa: F401
    append,
    apply_along_axis,
    argpartition,
    bincount,
    block,
    c_,
    can_cast,
    convolve,
    corrcoef,
    correlate,
    cov,
    cross,
    delete,
    diag_indices,
    diag_indices_from,
    diff,
    digitize,
    ediff1d,
    fill_diagonal,
    float0,
    frexp,
    fromfunction,
    gcd,
    geomspace,
    gradient,
    histogram,
    histogram_bin_edges,
    i0,
    index_exp,
    insert,
    interp,
    intersect1d,
    isin,
    ix_,
    lcm,
    ldexp,
    lexsort,
    mgrid,
    modf,
    nanargmax,
    nanargmin,
    nanprod,
    nanstd,
    nanvar,
    ogrid,
    partition,
    piecewise,
    polyadd,
    polyder,
    polyint,
    polymul,
    polysub,
    polyval,
    r_,
    rollaxis,
    s_,
    select,
    setdiff1d,
    sort_complex,
    tril_indices,
    tril_indices_from,
    trim_zeros,
    triu_indices,
    triu_indices_from,
    union1d,
    unique_counts,
    unique_values,
    unwrap,
    vander,
    vectorize,
)
from funcgrad._src.fnp_linalg import (  # noqa: F401
    dot,
    einsum,
    inner,
    kron,
    matmul,
    outer,
    tensordot,
    vdot,
    vecdot,
)
from funcgrad._src.fnp_reduce import (  # noqa: F401
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    average,
    count_nonzero,
    cumprod,
    cumsum,
    cumulative_prod,
    cumulative_sum,
    max,
    mean,
    median,
    min,
    nancumsum,
    nanmax,
    nanmean,
    nanmin,
    nansum,
    percentile,
    prod,
    ptp,
    quantile,
    std,
    sum,
    var,
)
from funcgrad._src.fnp_search import (  # noqa: F401
    argsort,
    argwhere,
    flatnonzero,
    nonzero,
    searchsorted,
    sort,
    unique,
)
from funcgrad._src.fnp_shape import (  # noqa: F401
    array_split,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    broadcast_arrays,
    column_stack,
    concat,
    concatenate,
    diag,
    diagflat,
    diagonal,
    dstack,
    expand_dims,
    flip,
    fliplr,
    flipud,
    hsplit,
    hstack,
    matrix_transpose,
    moveaxis,
    ndim,
    pad,
    permute_dims,
    repeat,
    reshape,
    roll,
    rot90,
    row_stack,
    shape,
    size,
    split,
    squeeze,
    stack,
    swapaxes,
    tile,
    trace,
    transpose,
    tril,
    triu,
    vsplit,
    vstack,
)
from funcgrad._src.indexing import take, take_along_axis  # noqa: F401

pi = _np.pi
e = _np.e
inf = _np.inf
nan = _np.nan
newaxis = None
euler_gamma = _np.euler_gamma
dtype = _dtypes.as_dtype
finfo = _dtypes.finfo_of
iinfo = _np.iinfo
integer, floating, inexact, number, signedinteger, unsignedinteger, complexfloating = (
    _np.integer,
    _np.floating,
    _np.inexact,
    _np.number,
    _np.signedinteger,
    _np.unsignedinteger,
    _np.complexfloating,
)


def issubdtype(arg1, arg2):
    """``np.issubdtype``, knowing bfloat16 (a floating type)."""
    a1 = _dtypes.as_dtype(arg1) if not isinstance(arg1, type) else arg1
    a2 = arg2 if isinstance(arg2, type) else _dtypes.as_dtype(arg2)
    if a1 is _dtypes.bfloat16 or a2 is _dtypes.bfloat16:
        if a1 is a2:
            return True
        return (
            a1 is _dtypes.bfloat16
            and isinstance(a2, type)
            and a2 in (_np.floating, _np.inexact, _np.number, _np.generic)
        )
    return _np.issubdtype(a1, a2)


float_ = float64
int_ = int64
complex_ = complex128
Array = ndarray


def isscalar(x):
    return _np.ndim(x) == 0 if not isinstance(x, ndarray) else x.ndim == 0


def iscomplexobj(x):
    return _np.dtype(getattr(x, "dtype", _np.asarray(x).dtype)).kind == "c"


def copy(a, order=None):
    return asarray(a)


from funcgrad.numpy import linalg  # noqa: E402,F401
