"""The public transformations: grad, value_and_grad, jvp, vjp, linearize, jacfwd, jacrev,
hessian, vmap, make_jaxpr, custom_jvp, custom_vjp, checkpoint, stop_gradient.

Pytrees are flattened at the boundary; the interpreters underneath see flat lists. Each family
lives in its own module (``reverse_mode``, ``forward_mode``, ``jacobians``, ``vectorization``,
``staging``, ``custom_derivatives``, ``remat``; argument helpers in ``api_util``); this module
gathers them for ``funcgrad/__init__.py`` and the rest of ``funcgrad._src``.
"""

from funcgrad._src.api_util import _as_array  # noqa: F401  (devices.py)
from funcgrad._src.custom_derivatives import custom_jvp, custom_vjp, stop_gradient, stop_gradient_p  # noqa: F401
from funcgrad._src.forward_mode import jvp, linearize  # noqa: F401
from funcgrad._src.jacobians import hessian, jacfwd, jacobian, jacrev  # noqa: F401
from funcgrad._src.remat import checkpoint, remat  # noqa: F401
from funcgrad._src.reverse_mode import grad, value_and_grad, vjp  # noqa: F401
from funcgrad._src.staging import ShapeDtypeStruct, eval_shape, make_jaxpr  # noqa: F401
from funcgrad._src.vectorization import vmap  # noqa: F401
