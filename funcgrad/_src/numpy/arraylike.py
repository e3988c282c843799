"""jax.numpy's rule for Python lists and tuples: most functions reject them.

JAX's functions call ``check_arraylike`` on their array arguments and raise ``TypeError:
sum requires ndarray or scalar arguments, got <class 'list'> at position 0.``; the ones that
build arrays (``array``, ``asarray``, ``stack``, ``concatenate``...) and shape arguments
accept sequences. The tables below list which arguments each function checks, as recorded
from jax 0.10.2 (``tests/data/make_jax_strictness.py``); ``funcgrad.numpy`` exports the
functions wrapped with the check, so funcgrad's own code (which calls ``funcgrad._src.numpy``)
is unaffected.
"""

from __future__ import annotations

import functools

_FIRST = (
    "abs absolute acos acosh all amax amin angle any arccos arccosh arcsin arcsinh arctan "
    "arctanh argmax argmin argsort argwhere around array_split asin asinh astype atan atanh "
    "bincount bitwise_invert bitwise_not broadcast_to cbrt ceil conj conjugate copy cos "
    "cosh count_nonzero cumprod cumsum cumulative_prod cumulative_sum deg2rad degrees diag "
    "diag_indices_from diagflat diagonal diff empty_like exp exp2 expand_dims expm1 fabs "
    "flatnonzero flip fliplr flipud floor frexp hsplit i0 imag invert isfinite isinf isnan "
    "isneginf isposinf log log10 log1p log2 logical_not matrix_transpose max mean median "
    "min modf nan_to_num nanargmax nanargmin nancumsum nanmax nanmean nanmin nanprod nanstd "
    "nansum nanvar nonzero ones_like pad permute_dims polyder polyint positive prod ptp "
    "rad2deg radians ravel real reciprocal reshape rint roll rot90 round sign signbit sin "
    "sinc sinh sort sort_complex split sqrt square squeeze std sum tan tanh tile trace "
    "transpose tril tril_indices_from trim_zeros triu triu_indices_from trunc unique "
    "unique_counts unique_values unwrap vander var vsplit zeros_like"
)
_FIRST_TWO = (
    "add allclose append arctan2 atan2 atleast_1d atleast_2d atleast_3d bitwise_and "
    "bitwise_or bitwise_xor broadcast_arrays clip convolve copysign corrcoef correlate cov "
    "cross delete digitize divide divmod dot ediff1d equal float_power floor_divide fmax "
    "fmin fmod full_like gcd greater greater_equal heaviside histogram histogram_bin_edges "
    "hypot inner intersect1d isclose isin ix_ kron lcm ldexp left_shift less less_equal "
    "linspace logaddexp logaddexp2 logical_and logical_or logical_xor matmul maximum "
    "meshgrid minimum mod multiply negative nextafter not_equal outer percentile polyadd "
    "polymul polysub polyval power quantile remainder repeat right_shift searchsorted "
    "setdiff1d subtract take take_along_axis tensordot true_divide union1d vdot vecdot "
    "where"
)
_SECOND = "full"

ARRAY_ARGS: dict[str, tuple[int, ...]] = {
    **dict.fromkeys(_FIRST.split(), (0,)),
    **dict.fromkeys(_FIRST_TWO.split(), (0, 1)),
    **dict.fromkeys(_SECOND.split(), (1,)),
}


def check_arraylike(name: str, args, positions) -> None:
    """Raise JAX's ``TypeError`` if an argument at one of ``positions`` is a list or tuple.

    Args:
      name: the function's name (for the message).
      args: the positional arguments.
      positions: the indices of the arguments that must be arrays or scalars.

    Raises:
      TypeError: "<name> requires ndarray or scalar arguments, got <class 'list'> at position i."
    """
    for i in positions:
        if i < len(args) and isinstance(args[i], (list, tuple)):
            raise TypeError(
                f"{name} requires ndarray or scalar arguments, got {type(args[i])} at position {i}."
            )


def _checked(fn, name: str, positions):
    @functools.wraps(fn)
    def checked(*args, **kwargs):
        check_arraylike(name, args, positions)
        return fn(*args, **kwargs)

    return checked


def arraylike_namespace(namespace: dict) -> dict:
    """The functions of ``namespace`` named in ``ARRAY_ARGS``, wrapped with the list check.

    Args:
      namespace: a module's names (``funcgrad.numpy``'s ``globals()``).

    Returns:
      A dict ``name -> checked function``.
    """
    return {
        name: _checked(fn, name, ARRAY_ARGS[name])
        for name, fn in namespace.items()
        if name in ARRAY_ARGS and callable(fn)
    }
