"""The op table: one list of rows (``Op``, see ``op_spec.py``) that the eager, jit and
CUDA-lowering op tests all parametrize over, each filtering by the row's flags (STYLE
principle 12). The rows live in ``op_rows_*.py`` (one module per family, to keep files short).
"""

from __future__ import annotations

import funcgrad.numpy as fnp

from .op_rows_elementwise import ELEMENTWISE
from .op_rows_programs import PROGRAMS
from .op_rows_structural import STRUCTURAL
from .op_spec import Op

OPS: list[Op] = [*ELEMENTWISE, *STRUCTURAL, *PROGRAMS]
OPS_BY_NAME = {op.name: op for op in OPS}
assert len(OPS_BY_NAME) == len(OPS), "duplicate op names in the table"

# What the CUDA fusion pass leaves as Fallback steps: CUDA reports them, never runs them.
# (primitive, function, input shape)
CUDA_UNSUPPORTED = [
    # complex operands of the sort op kernel (complex elementwise code, sums, dots, cumsums and
    # element-moving op kernels do run)
    ("sort", lambda x: fnp.sort(x * 1j + x[::-1]), (8,)),
]


def shape_id(shapes) -> str:
    """``2x3,s`` for the shape set ((2, 3), ()): one shape per argument, ``s`` for 0-d."""
    return ",".join("x".join(map(str, s)) or "s" for s in shapes) or "noargs"


def cuda_cases():
    """(op, shapes, dtype) for every program the CUDA tests lower: each CUDA dtype of a row on
    each of its CUDA shape sets."""
    for op in OPS:
        for shapes in op.cuda_shapes or op.shapes[:1]:
            for dtype in op.cuda:
                yield op, shapes, dtype
