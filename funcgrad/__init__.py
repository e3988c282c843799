"""funcgrad: a functional deep-learning library with grad, jvp, vmap and an LLVM jit.

>>> import funcgrad as fg
>>> import funcgrad.numpy as fnp
>>> fg.grad(lambda x: fnp.sum(fnp.sin(x)))(fnp.zeros(2))
Array([1., 1.], dtype=float32)
"""

__all__ = [
    "Array",
    "ClosedJaxpr",
    "ConcretizationTypeError",
    "Device",
    "ShapeDtypeStruct",
    "TracerArrayConversionError",
    "UnexpectedTracerError",
    "ad_checkpoint",
    "block_until_ready",
    "checkpoint",
    "checkpoint_policies",
    "clear_caches",
    "config",
    "custom_jvp",
    "custom_vjp",
    "data",
    "debug",
    "debug_infs",
    "debug_nans",
    "default_backend",
    "dtypes",
    "device_count",
    "device_get",
    "device_put",
    "devices",
    "disable_jit",
    "ensure_compile_time_eval",
    "eval_shape",
    "experimental",
    "from_state_dict",
    "grad",
    "hessian",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jit",
    "jvp",
    "lax",
    "linearize",
    "load",
    "local_devices",
    "make_jaxpr",
    "make_mesh",
    "metrics",
    "named_call",
    "named_scope",
    "nn",
    "numpy",
    "optim",
    "pmap",
    "pure_callback",
    "random",
    "remat",
    "save",
    "scipy",
    "shard_map",
    "sharding",
    "stop_gradient",
    "to_state_dict",
    "tree",
    "tree_util",
    "value_and_grad",
    "vjp",
    "vmap",
]

from funcgrad import (  # noqa: F401,E402
    ad_checkpoint,
    checkpoint_policies,
    debug,  # noqa: F401
    dtypes,
    lax,  # noqa: F401
    metrics,
    nn,
    numpy,  # noqa: F401
    optim,
    random,  # noqa: F401
    scipy,  # noqa: F401
    tree_util,
)
from funcgrad import tree_util as tree
from funcgrad._src.api import (
    ShapeDtypeStruct,
    checkpoint,
    custom_jvp,
    custom_vjp,
    eval_shape,
    grad,
    hessian,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    linearize,
    make_jaxpr,
    remat,
    stop_gradient,
    value_and_grad,
    vjp,
    vmap,
)
from funcgrad._src.array import Array
from funcgrad._src.callbacks import pure_callback
from funcgrad._src.core import (
    ClosedJaxpr,
    ConcretizationTypeError,
    TracerArrayConversionError,
    UnexpectedTracerError,
)
from funcgrad._src.jit import jit  # noqa: E402
from funcgrad._src.lax import call as _lc  # noqa: F401
from funcgrad._src.lax import dot as _ld  # noqa: F401
from funcgrad._src.lax import elementwise as _le  # noqa: F401  (registers primitives)
from funcgrad._src.lax import indexing as _li  # noqa: F401
from funcgrad._src.lax import reductions as _lr  # noqa: F401
from funcgrad._src.lax import slicing as _lsl  # noqa: F401
from funcgrad._src.lax import structural as _ls  # noqa: F401
from funcgrad._src.lax import transcendental as _lt  # noqa: F401
from funcgrad.config import config

__version__ = "0.1.0"

# short aliases in fg.tree, like jax.tree
tree.map = tree_util.tree_map
tree.leaves = tree_util.tree_leaves
tree.structure = tree_util.tree_structure
tree.flatten = tree_util.tree_flatten
tree.unflatten = tree_util.tree_unflatten
tree.reduce = tree_util.tree_reduce
tree.all = tree_util.tree_all
tree.map_with_path = tree_util.tree_map_with_path
tree.flatten_with_path = tree_util.tree_flatten_with_path
tree.leaves_with_path = tree_util.tree_leaves_with_path
tree.transpose = tree_util.tree_transpose
tree.broadcast = tree_util.tree_broadcast
from funcgrad import (  # noqa: E402,F401
    data,  # noqa: E402,F401
    experimental,
    sharding,
)
from funcgrad._src.checkpoint import load, save  # noqa: E402
from funcgrad._src.devices import (  # noqa: E402
    Device,
    default_backend,
    device_count,
    device_get,
    device_put,
    devices,
    local_devices,
)
from funcgrad._src.pmap import pmap  # noqa: E402
from funcgrad._src.shard_map import shard_map  # noqa: E402
from funcgrad._src.sharding import make_mesh  # noqa: E402
from funcgrad._src.state_dict import from_state_dict, to_state_dict  # noqa: E402


def block_until_ready(x):
    """Wait until every array in a pytree is computed (``jax.block_until_ready``).

    funcgrad computes synchronously, so there is nothing to wait for; this calls each
    leaf's ``block_until_ready()`` where it has one.

    Args:
      x: an array or pytree (leaves without ``block_until_ready`` are kept as they are).

    Returns:
      ``x``, with the same structure and leaves.
    """
    return tree_util.tree_map(
        lambda a: a.block_until_ready() if hasattr(a, "block_until_ready") else a, x
    )


# ---- JAX-compatible context managers and cache control -------------------------------------

import contextlib as _contextlib  # noqa: E402
import functools as _functools  # noqa: E402

from funcgrad._src.debug_nans import debug_infs, debug_nans  # noqa: E402,F401
from funcgrad._src.jit import clear_caches, disable_jit  # noqa: E402,F401


@_contextlib.contextmanager
def ensure_compile_time_eval():
    """Evaluate operations on concrete values at once, even inside ``jit`` (as JAX's).

    Inside ``jit`` operations on concrete values are staged like any other (omnistaging);
    within this context they run eagerly at trace time and give concrete arrays instead.
    Operations on traced jit arguments stay staged (as in JAX, where they cannot be
    evaluated either).

    Yields:
      None.
    """
    from funcgrad._src.core import dynamic_main

    with dynamic_main(None):
        yield


@_contextlib.contextmanager
def named_scope(name: str):
    """Context manager naming the operations inside it, for JAX compatibility.

    funcgrad's IR does not record scope names, so this only checks ``name``.

    Args:
      name: the scope's name.

    Yields:
      None.

    Raises:
      TypeError: if ``name`` is not a string.
    """
    if not isinstance(name, str):
        raise TypeError(f"named_scope: name must be a string, got {type(name).__name__}")
    yield


def named_call(fun, *, name: str | None = None):
    """``fun`` under a name, for JAX compatibility.

    funcgrad's IR does not record call names, so this returns a plain wrapper with the
    same behaviour (JAX stages a named sub-computation).

    Args:
      fun: any callable.
      name: the wrapper's ``__name__``; default: ``fun``'s.

    Returns:
      A function calling ``fun`` with the same arguments.

    Raises:
      TypeError: if ``fun`` is not callable.
    """
    if not callable(fun):
        raise TypeError(f"named_call expects a callable, got {type(fun).__name__}")

    @_functools.wraps(fun)
    def wrapped(*args, **kwargs):
        return fun(*args, **kwargs)

    if name is not None:
        wrapped.__name__ = name
    return wrapped
