"""``funcgrad.lax``: the primitive operations (strict shapes and dtypes, no broadcasting)."""

from funcgrad._src.api import stop_gradient  # noqa: F401
from funcgrad._src.lax_dot import (  # noqa: F401
    ConvDimensionNumbers,
    conv,
    conv_dimension_numbers,
    conv_general_dilated,
    dot_general,
)
from funcgrad._src.lax_elementwise import (  # noqa: F401
    abs,
    acos,
    acosh,
    add,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    bitcast_convert_type,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    cbrt,
    ceil,
    clamp,
    complex,
    conj,
    convert_element_type,
    cos,
    cosh,
    digamma,
    div,
    eq,
    erf,
    erf_inv,
    erfc,
    exp,
    exp2,
    expm1,
    floor,
    ge,
    gt,
    imag,
    integer_pow,
    is_finite,
    le,
    lgamma,
    log,
    log1p,
    logistic,
    lt,
    max,
    min,
    mul,
    ne,
    neg,
    nextafter,
    population_count,
    pow,
    real,
    rem,
    round,
    rsqrt,
    select,
    select_n,
    shift_left,
    shift_right_arithmetic,
    shift_right_logical,
    sign,
    sin,
    sinh,
    sqrt,
    sub,
    tan,
    tanh,
)
from funcgrad._src.lax_indexing import gather, scatter, scatter_add  # noqa: F401
from funcgrad._src.lax_reductions import (  # noqa: F401
    argmax,
    argmin,
    associative_scan,
    cummax,
    cummin,
    cumprod,
    cumsum,
    reduce_and,
    reduce_max,
    reduce_min,
    reduce_or,
    reduce_prod,
    reduce_sum,
    sort,
)
from funcgrad._src.lax_structural import (  # noqa: F401
    broadcast,
    broadcast_in_dim,
    broadcasted_iota,
    concatenate,
    dynamic_slice,
    dynamic_update_slice,
    expand_dims,
    full,
    iota,
    pad,
    reshape,
    rev,
    slice,
    slice_in_dim,
    squeeze,
    transpose,
)

and_ = bitwise_and
or_ = bitwise_or
xor = bitwise_xor
not_ = bitwise_not


def dot(lhs, rhs, precision=None, preferred_element_type=None):
    """Matrix/vector product of 1-d or 2-d operands."""
    from funcgrad._src.array import get_aval

    nl = get_aval(lhs).ndim
    return dot_general(
        lhs, rhs, (((nl - 1,), (0,)), ((), ())), preferred_element_type=preferred_element_type
    )


def full_like(x, fill_value, dtype=None, shape=None):
    from funcgrad._src.array import get_aval

    a = get_aval(x)
    return full(a.shape if shape is None else shape, fill_value, dtype or a.dtype)


def zeros_like_array(x):
    return full_like(x, 0)


def square(x):
    return integer_pow(x, 2)


def dynamic_slice_in_dim(operand, start_index, slice_size, axis=0):
    from funcgrad._src.array import get_aval

    nd = get_aval(operand).ndim
    starts = [0] * nd
    starts[axis] = start_index
    sizes = list(get_aval(operand).shape)
    sizes[axis] = slice_size
    return dynamic_slice(operand, starts, sizes)


def dynamic_update_slice_in_dim(operand, update, start_index, axis):
    from funcgrad._src.array import get_aval

    starts = [0] * get_aval(operand).ndim
    starts[axis] = start_index
    return dynamic_update_slice(operand, update, starts)


def dynamic_index_in_dim(operand, index, axis=0, keepdims=True):
    out = dynamic_slice_in_dim(operand, index, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


from funcgrad._src.lax_control import (  # noqa: E402,F401
    cond,
    fori_loop,
    map,
    scan,
    switch,
    while_loop,
)
from funcgrad._src.lax_extra import (  # noqa: E402,F401
    Precision,
    batch_matmul,
    cumlogsumexp,
    index_in_dim,
    optimization_barrier,
    polygamma,
    reduce,
    reduce_window,
    scatter_max,
    scatter_min,
    scatter_mul,
    sort_key_val,
    top_k,
    zeta,
)


class RoundingMethod(__import__("enum").IntEnum):
    """Rounding modes for :func:`round` (as ``jax.lax.RoundingMethod``)."""

    AWAY_FROM_ZERO = 0
    TO_NEAREST_EVEN = 1
