"""Op table rows: reductions, shape ops, indexing, dots, convolutions, cumulative ops and
sorting (see ``op_table.py``)."""

from __future__ import annotations

import numpy as np

import funcgrad.lax as lax
import funcgrad.numpy as fnp

from .op_inputs import F32, I32
from .op_refs import (
    conv_ref,
    cummax_ref,
    dot_ref,
    dus_ref,
    gather_ref,
    pad_ref,
    scatter_ref,
    sort2_ref,
    sort_ref,
    start,
)
from .op_spec import AX_SHAPES, Op

MATMUL_SHAPES = (
    ((5, 7), (7, 3)),
    ((1, 4), (4, 1)),
    ((3, 0), (0, 2)),
    ((0, 2), (2, 3)),
    ((2, 5, 7), (2, 7, 3)),
    ((3, 1, 4), (3, 4, 2)),
    ((2, 5, 7), (7, 3)),
    ((7,), (7, 3)),
    ((5, 7), (7,)),
    ((7,), (7,)),
)


def conv_op(tag, shapes, strides, padding, lhs_dil, rhs_dil, groups):
    fn = lambda x, w: lax.conv_general_dilated(
        x, w, strides, padding, lhs_dil, rhs_dil, feature_group_count=groups
    )
    ref = lambda x, w: conv_ref(x, w, strides, padding, lhs_dil, rhs_dil, groups)
    return Op(f"conv_{tag}", fn, ref, [shapes], tol=1e-4)


STRUCTURAL = [
    # -- reductions
    Op(
        "reduce_sum",
        lambda x: lax.reduce_sum(x, (1,)),
        lambda x: np.sum(x, 1, dtype=x.dtype),
        [((2, 3),), ((1, 4),), ((0, 3),), ((3, 0),)],
        dtypes=(F32, I32),
    ),
    Op(
        "reduce_sum_all",
        lambda x: lax.reduce_sum(x, (0, 1)),
        lambda x: np.sum(x),
        [((2, 3),), ((0, 2),)],
    ),
    Op(
        "reduce_max",
        lambda x: lax.reduce_max(x, (0,)),
        lambda x: np.max(x, 0),
        [((3, 2),), ((1, 4),)],
        ("distinct",),
        dtypes=(F32, I32),
    ),
    Op(
        "reduce_max_ties",
        lambda x: lax.reduce_max(x, (1,)),
        lambda x: np.max(x, 1, initial=-np.inf),
        [((3, 4),), ((2, 0),)],
        ("ties",),
        diff=False,
    ),
    Op(
        "reduce_min",
        lambda x: lax.reduce_min(x, (1,)),
        lambda x: np.min(x, 1, initial=np.inf),
        [((3, 2),), ((1, 4),), ((3, 0),)],
        ("distinct",),
    ),
    Op(
        "reduce_prod",
        lambda x: lax.reduce_prod(x, (1,)),
        lambda x: np.prod(x, 1, dtype=x.dtype),
        [((2, 3),), ((1, 4),), ((2, 0),)],
        ("nonzero",),
        dtypes=(F32, I32),
    ),
    Op(
        "reduce_prod_with_zero",
        lambda x: lax.reduce_prod(x, (0,)),
        lambda x: np.prod(x, 0),
        [((3, 2),)],
        ("ties",),
    ),
    Op(
        "argmax",
        lambda x: lax.argmax(x, 1),
        lambda x: np.argmax(x, 1).astype(np.int32),
        [((3, 4),), ((1, 5),), ((0, 3),)],
        ("ties",),
        dtypes=(F32, I32),
        diff=False,
    ),
    Op(
        "argmin",
        lambda x: lax.argmin(x, 0),
        lambda x: np.argmin(x, 0).astype(np.int32),
        [((4, 3),), ((5, 1),)],
        ("ties",),
        dtypes=(F32, I32),
        diff=False,
    ),
    Op(
        "fnp.argmax_flat",
        fnp.argmax,
        lambda x: np.argmax(x).astype(np.int32),
        [((3, 4),)],
        ("ties",),
        diff=False,
    ),
    Op(
        "reduce_and",
        lambda x: lax.reduce_and(x, (1,)),
        lambda x: np.all(x, 1),
        [((3, 4),), ((2, 0),)],
        ("bool",),
        diff=False,
    ),
    Op(
        "reduce_or",
        lambda x: lax.reduce_or(x, (0,)),
        lambda x: np.any(x, 0),
        [((3, 4),), ((0, 2),)],
        ("bool",),
        diff=False,
    ),
    # -- shape ops
    Op(
        "broadcast_in_dim",
        lambda x: lax.broadcast_in_dim(x, (2, 3, 4), (0, 2)),
        lambda x: np.broadcast_to(x[:, None, :], (2, 3, 4)),
        [((2, 4),), ((1, 4),), ((2, 1),)],
    ),
    Op(
        "broadcast_scalar",
        lambda x: lax.broadcast_in_dim(x, (2, 3), ()),
        lambda x: np.broadcast_to(x, (2, 3)),
        [((),)],
    ),
    Op(
        "broadcast_to_empty",
        lambda x: lax.broadcast_in_dim(x, (0, 3), (1,)),
        lambda x: np.broadcast_to(x, (0, 3)),
        [((3,),)],
    ),
    Op(
        "broadcast",
        lambda x: lax.broadcast(x, (2,)),
        lambda x: np.broadcast_to(x, (2,) + x.shape),
        [((3,),), ((),)],
    ),
    Op(
        "reshape",
        lambda x: lax.reshape(x, (3, 2)),
        lambda x: x.reshape(3, 2),
        [((2, 3),), ((6,),), ((1, 6),)],
    ),
    Op("reshape_scalar", lambda x: lax.reshape(x, (1, 1)), lambda x: x.reshape(1, 1), [((),)]),
    Op("reshape_empty", lambda x: lax.reshape(x, (3, 0)), lambda x: x.reshape(3, 0), [((0, 3),)]),
    Op(
        "transpose",
        lambda x: lax.transpose(x, (2, 0, 1)),
        lambda x: x.transpose(2, 0, 1),
        [((2, 3, 4),), ((1, 0, 2),)],
    ),
    Op(
        "squeeze",
        lambda x: lax.squeeze(x, (0, 2)),
        lambda x: x.reshape(x.shape[1:2]),
        [((1, 3, 1),), ((1, 0, 1),)],
    ),
    Op(
        "expand_dims",
        lambda x: lax.expand_dims(x, (0, 2)),
        lambda x: x[None, :, None],
        [((3,),), ((0,),)],
    ),
    Op(
        "rev",
        lambda x: lax.rev(x, (0, 1)),
        lambda x: x[::-1, ::-1],
        [((2, 3),), ((1, 1),), ((0, 2),)],
    ),
    Op(
        "slice",
        lambda x: lax.slice(x, (1, 0), (4, 5), (2, 2)),
        lambda x: x[1:4:2, 0:5:2],
        [((5, 5),), ((4, 6),)],
    ),
    Op("slice_empty", lambda x: lax.slice(x, (1, 0), (1, 3)), lambda x: x[1:1, 0:3], [((2, 3),)]),
    Op(
        "slice_in_dim",
        lambda x: lax.slice_in_dim(x, 1, 3, axis=1),
        lambda x: x[:, 1:3],
        [((2, 4),), ((0, 4),)],
    ),
    Op(
        "dynamic_slice",
        lambda x, i: lax.dynamic_slice(x, (i, 1), (2, 2)),
        lambda x, i: x[start(i, x.shape[0], 2) :][:2, 1:3],
        [((4, 3), ())],
        ("normal", "idx-3:7"),
    ),
    Op(
        "dynamic_slice_2starts",
        lambda x, i, j: lax.dynamic_slice(x, (i, j), (2, 1)),
        lambda x, i, j: x[start(i, x.shape[0], 2) :][:2][:, start(j, x.shape[1], 1) :][:, :1],
        [((4, 3), (), ())],
        ("normal", "idx-2:6"),
    ),
    Op(
        "dynamic_update_slice",
        lambda x, u, i: lax.dynamic_update_slice(x, u, (i, 0)),
        lambda x, u, i: dus_ref(x, u, (int(i), 0)),
        [((4, 3), (2, 3), ())],
        ("normal", "normal", "idx-2:6"),
    ),
    Op(
        "concatenate",
        lambda x, y: lax.concatenate([x, y], 1),
        lambda x, y: np.concatenate([x, y], 1),
        [((2, 3), (2, 1)), ((1, 0), (1, 2)), ((0, 2), (0, 1))],
        dtypes=(F32, I32),
    ),
    Op(
        "concatenate3",
        lambda x, y, z: lax.concatenate([x, y, z], 0),
        lambda x, y, z: np.concatenate([x, y, z], 0),
        [((1, 2), (2, 2), (1, 2))],
    ),
    Op(
        "pad",
        lambda x: lax.pad(x, 0.5, ((1, 2, 0), (0, 1, 1))),
        lambda x: pad_ref(x, 0.5, ((1, 2, 0), (0, 1, 1))),
        [((2, 3),), ((1, 1),), ((0, 2),)],
    ),
    Op(
        "pad_negative",
        lambda x: lax.pad(x, -1.0, ((-1, 1, 0), (2, -2, 2))),
        lambda x: pad_ref(x, -1.0, ((-1, 1, 0), (2, -2, 2))),
        [((3, 3),), ((2, 4),)],
    ),
    Op(
        "pad_traced_value",
        lambda x, v: lax.pad(x, v, ((1, 0, 1),)),
        lambda x, v: pad_ref(x, v, ((1, 0, 1),)),
        [((3,), ())],
    ),
    Op(
        "fnp.pad",
        lambda x: fnp.pad(x, ((1, 0), (2, 1))),
        lambda x: np.pad(x, ((1, 0), (2, 1))),
        [((2, 3),)],
    ),
    Op(
        "iota",
        lambda: lax.iota(np.int32, 5),
        lambda: np.arange(5, dtype=np.int32),
        [()],
        diff=False,
        vmap=False,
    ),
    Op(
        "broadcasted_iota",
        lambda: lax.broadcasted_iota(np.float32, (2, 3), 1),
        lambda: np.broadcast_to(np.arange(3, dtype=np.float32), (2, 3)),
        [()],
        diff=False,
        vmap=False,
    ),
    # -- indexing: gather / scatter
    Op(
        "gather",
        lambda x, i: lax.gather(x, i, (0,)),
        lambda x, i: gather_ref(x, i, (0,)),
        [((5, 3), (4, 1)), ((5,), (2, 3, 1)), ((5, 3), (0, 1)), ((5,), (1,))],
        ("normal", "idx5"),
    ),
    Op(
        "gather_axis1",
        lambda x, i: lax.gather(x, i, (1,)),
        lambda x, i: gather_ref(x, i, (1,)),
        [((2, 4), (3, 1))],
        ("normal", "idx4"),
    ),
    Op(
        "gather_2axes",
        lambda x, i: lax.gather(x, i, (0, 2)),
        lambda x, i: gather_ref(x, i, (0, 2)),
        [((3, 2, 3), (4, 2))],
        ("normal", "idx3"),
    ),
    Op(
        "gather_clip",
        lambda x, i: lax.gather(x, i, (0,), mode="clip"),
        lambda x, i: gather_ref(x, i, (0,)),
        [((4, 2), (5, 1))],
        ("normal", "idx-3:8"),
    ),
    Op(
        "gather_fill",
        lambda x, i: lax.gather(x, i, (0,), mode="fill"),
        lambda x, i: gather_ref(x, i, (0,), "fill"),
        [((4, 2), (5, 1))],
        ("normal", "idx-3:8"),
        diff=False,
    ),
    Op(
        "scatter_add",
        lambda x, i, u: lax.scatter_add(x, i, u, (0,)),
        lambda x, i, u: scatter_ref(x, i, u, np.add),
        [((5, 2), (4, 1), (4, 2)), ((4,), (6, 1), (6,))],
        ("normal", "idx3", "normal"),
        dtypes=(F32, I32),
    ),
    Op(
        "scatter_add_drop",
        lambda x, i, u: lax.scatter_add(x, i, u, (0,), mode="drop"),
        lambda x, i, u: scatter_ref(
            x, i[(i[:, 0] >= 0) & (i[:, 0] < 4)], u[(i[:, 0] >= 0) & (i[:, 0] < 4)], np.add
        ),
        [((4,), (6, 1), (6,))],
        ("normal", "idx-2:6", "normal"),
    ),
    Op(
        "scatter_set",
        lambda x, i, u: lax.scatter(x, i, u, (0,)),
        lambda x, i, u: scatter_ref(x, i, u),
        [((5, 2), (3, 1), (3, 2))],
        ("normal", "uidx5", "normal"),
    ),
    Op(
        "scatter_mul",
        lambda x, i, u: lax.scatter(x, i, u, (0,), combine="mul"),
        lambda x, i, u: scatter_ref(x, i, u, np.multiply),
        [((5, 2), (3, 1), (3, 2))],
        ("normal", "uidx5", "normal"),
    ),
    Op(
        "scatter_max",
        lambda x, i, u: lax.scatter(x, i, u, (0,), combine="max"),
        lambda x, i, u: scatter_ref(x, i, u, np.maximum),
        [((5, 2), (3, 1), (3, 2))],
        ("distinct", "uidx5", "distinct"),
    ),
    # -- dot_general
    Op(
        "dot_mm",
        lambda x, y: lax.dot_general(x, y, (((1,), (0,)), ((), ()))),
        dot_ref((((1,), (0,)), ((), ()))),
        [((2, 3), (3, 4)), ((1, 1), (1, 1)), ((0, 3), (3, 2)), ((2, 0), (0, 3))],
        dtypes=(F32, I32),
        native=(F32,),  # integer dots are numpy fallbacks on the CPU
    ),
    Op(
        "dot_batch",
        lambda x, y: lax.dot_general(x, y, (((2,), (1,)), ((0,), (0,)))),
        dot_ref((((2,), (1,)), ((0,), (0,)))),
        [((2, 3, 4), (2, 4, 1)), ((1, 1, 2), (1, 2, 3))],
    ),
    Op(
        "dot_odd",
        lambda x, y: lax.dot_general(x, y, (((0, 3), (2, 0)), ((1,), (1,)))),
        dot_ref((((0, 3), (2, 0)), ((1,), (1,)))),
        [((2, 3, 1, 4), (4, 3, 2))],
    ),
    Op(
        "dot_outer",
        lambda x, y: lax.dot_general(x, y, (((), ()), ((), ()))),
        dot_ref((((), ()), ((), ()))),
        [((3,), (2,)), ((), ())],
    ),
    Op("dot_vec", lax.dot, lambda x, y: np.dot(x, y), [((3,), (3,)), ((2, 3), (3,))]),
    Op(
        "fnp.matmul",
        fnp.matmul,
        np.matmul,
        [((2, 3), (3, 4)), ((2, 2, 3), (3,)), ((3,), (1, 3, 2)), *MATMUL_SHAPES],
        dtypes=(F32, I32),
        native=(F32,),  # integer dots are numpy fallbacks on the CPU
        cuda=(F32, I32),
        cuda_shapes=(((37, 19), (19, 70)), ((33, 65), (65,)), ((9, 17), (17, 5))),
        cuda_tol=1e-5,
    ),
    # -- convolutions, against a direct reference
    *[
        conv_op(tag, shapes, s, p, ld, rd, g)
        for tag, shapes, s, p, ld, rd, g in (
            ("1d", ((2, 3, 7), (4, 3, 3)), (1,), "VALID", None, None, 1),
            ("1d_stride_same", ((1, 2, 7), (3, 2, 3)), (2,), "SAME", None, None, 1),
            ("1d_pad_neg", ((1, 1, 6), (2, 1, 2)), (1,), ((2, -1),), None, None, 1),
            ("2d", ((1, 2, 5, 4), (3, 2, 3, 2)), (1, 1), ((1, 1), (0, 1)), None, None, 1),
            ("2d_stride", ((2, 1, 6, 5), (2, 1, 3, 3)), (2, 3), "SAME", None, None, 1),
            ("2d_lhs_dil", ((1, 2, 4, 3), (2, 2, 2, 2)), (1, 1), ((1, 1), (1, 0)), (2, 2), None, 1),
            ("2d_rhs_dil", ((1, 1, 6, 6), (2, 1, 2, 3)), (1, 2), "VALID", None, (2, 1), 1),
            ("2d_groups", ((2, 4, 4, 4), (6, 2, 2, 2)), (1, 1), "SAME", None, None, 2),
            ("2d_depthwise", ((1, 3, 4, 3), (3, 1, 3, 1)), (1, 1), "VALID", None, None, 3),
            (
                "3d",
                ((1, 2, 3, 4, 3), (2, 2, 2, 2, 2)),
                (1, 2, 1),
                ((0, 0), (1, 0), (0, 1)),
                None,
                None,
                1,
            ),
        )
    ],
    # -- cumulative ops
    Op(
        "cumsum",
        lambda x: lax.cumsum(x, 1),
        lambda x: np.cumsum(x, 1, dtype=x.dtype),
        [((2, 4),), ((1, 1),), ((3, 0),)],
        dtypes=(F32, I32),
    ),
    Op(
        "cumsum_reverse",
        lambda x: lax.cumsum(x, 0, reverse=True),
        lambda x: np.cumsum(x[::-1], 0)[::-1],
        [((4, 2),)],
    ),
    Op(
        "cumprod",
        lambda x: lax.cumprod(x, 1),
        lambda x: np.cumprod(x, 1),
        [((2, 5),), ((1, 1),)],
        ("nonzero",),
    ),
    Op(
        "cummax",
        lambda x: lax.cummax(x, 0),
        cummax_ref,
        [((5, 2),), ((1, 3),)],
        ("distinct",),
        dtypes=(F32, I32),
    ),
    Op(
        "cummin_reverse",
        lambda x: lax.cummin(x, 1, reverse=True),
        lambda x: np.minimum.accumulate(x[:, ::-1], 1)[:, ::-1],
        [((2, 5),)],
        ("distinct",),
    ),
    Op("fnp.cumsum_flat", fnp.cumsum, lambda x: np.cumsum(x), [((2, 3),)]),
    # -- sorting
    Op(
        "sort",
        lambda x: lax.sort(x),
        lambda x: np.sort(x, -1),
        [((3, 5),), ((6,),), ((2, 0),), *AX_SHAPES],
        ("distinct",),
        dtypes=(F32, I32),
    ),
    Op(
        "sort_ties",
        lambda x: lax.sort(x, 0),
        lambda x: np.sort(x, 0),
        [((6, 2),)],
        ("ties",),
        diff=False,
    ),
    Op(
        "sort_multi",
        lambda k, v: tuple(lax.sort((k, v), num_keys=1)),
        sort_ref,
        [((3, 5), (3, 5)), ((4,), (4,))],
        ("distinct", "normal"),
    ),
    Op(
        "sort_multi_ties",
        lambda k, v: tuple(lax.sort((k, v), num_keys=1)),
        sort_ref,
        [((3, 5), (3, 5))],
        ("ties", "normal"),
        diff=False,
    ),
    Op(
        "sort_2keys",
        lambda a, b, v: tuple(lax.sort((a, b, v), num_keys=2)),
        sort2_ref,
        [((6,), (6,), (6,))],
        ("ties", "ties", "normal"),
        diff=False,
    ),
    Op(
        "argsort",
        fnp.argsort,
        lambda x: np.argsort(x, -1, kind="stable").astype(np.int32),
        [((3, 5),), ((7,),)],
        ("ties",),
        diff=False,
    ),
    Op(
        "fnp.sort_desc",
        lambda x: fnp.sort(x, descending=True),
        lambda x: -np.sort(-x, -1),
        [((2, 5),)],
        ("distinct",),
    ),
]
