"""Op table rows: small programs of several ops (numpy-level reductions and shape code, fused
chains, dot variants) that the jit and CUDA tests compile as one unit (see ``op_table.py``)."""

from __future__ import annotations

import numpy as np

import funcgrad as fg
import funcgrad.lax as lax
import funcgrad.numpy as fnp

from .op_inputs import BOOL, F16, F32, I32
from .op_spec import AX_SHAPES, BIN_SHAPES, FI, UN_SHAPES, composite

AX3 = AX_SHAPES[:3]


def _sum(axis=None):
    return lambda x: np.sum(x, axis, dtype=x.dtype)


def _logsumexp(x):
    m = np.max(x, -1)
    return np.log(np.sum(np.exp(x - m[..., None]), -1)) + m


def _softmax(x):
    e = np.exp(x)
    return e / np.sum(e, -1, keepdims=True)


def _chain(x, y):
    return np.tanh(x) * 0.5 + np.sin(y) ** 2 - np.exp(-x * y)


def _at_add(x):
    y = x.copy()
    y[1] += 5.0
    return y


def _cuda(*shape_sets, dtypes=(F32,), tol=2e-6):
    return {"cuda": dtypes, "cuda_shapes": shape_sets, "cuda_tol": tol}


ELEMENTWISE_PROGRAMS = [
    composite(
        "isfinite_log",
        lambda x: fnp.isfinite(fnp.log(x)),
        lambda x: np.isfinite(np.log(x)),
        UN_SHAPES,
        ((-1.0, 2.0),),
    ),
    composite(
        "where_gt",
        lambda x, y: fnp.where(x > y, x, y * 2),
        lambda x, y: np.where(x > y, x, y * 2),
        BIN_SHAPES,
        dtypes=FI,
        **_cuda(((5, 7), (5, 7))),
    ),
    composite(
        "fnp.clip", lambda x: fnp.clip(x, -1, 1), lambda x: np.clip(x, -1, 1), UN_SHAPES, dtypes=FI
    ),
    composite(
        "astype_i8",
        lambda x: x.astype(fnp.int8) * 3,
        lambda x: x.astype(np.int8) * np.int8(3),
        UN_SHAPES,
        ((-300, 300),),
        (I32,),
    ),
    composite(
        "astype_u32_shift",
        lambda x: lax.shift_right_logical(x.astype(fnp.uint32), x.astype(fnp.uint32) * 0 + 3),
        lambda x: x.astype(np.uint32) >> np.uint32(3),
        UN_SHAPES,
        ((-300, 300),),
        (I32,),
    ),
    composite(
        "chain",
        lambda x, y: fnp.tanh(x) * 0.5 + fnp.sin(y) ** 2 - fnp.exp(-x * y),
        _chain,
        BIN_SHAPES,
        **_cuda(((1000,), (1000,))),
    ),
    composite("stop_gradient", lambda x: lax.stop_gradient(x) * 2, lambda x: x * 2, UN_SHAPES),
    composite(
        "logical_bool",
        lambda x, y: (x & ~y) | (y ^ x),
        lambda x, y: (x & ~y) | (y ^ x),
        BIN_SHAPES,
        dtypes=(BOOL,),
        **_cuda(((5, 7), (5, 7)), dtypes=(BOOL,)),
    ),
    composite(
        "tanh_exp_f16",
        lambda x: fnp.tanh(x) + fnp.exp(x),
        lambda x: np.tanh(x) + np.exp(x),
        UN_SHAPES,
        ((-2.0, 2.0),),
        (F16,),
        tol=2e-3,
        native=False,  # the CPU codegen has no float16: numpy fallback
        **_cuda(((37,),), dtypes=(F16,), tol=2e-3),
    ),
    composite(
        "softplus_grad",
        fg.grad(lambda x: fnp.sum(fnp.logaddexp(x, 0.0))),
        lambda x: 1 / (1 + np.exp(-x)),
        UN_SHAPES[:1] + UN_SHAPES[2:],  # grad needs a scalar sum: any shape but 0-d works
        **_cuda(((37,),)),
    ),
]

REDUCTION_PROGRAMS = [
    composite("sum_all", fnp.sum, _sum(), AX_SHAPES, dtypes=FI, **_cuda(((13, 9),))),
    composite(
        "sum_last",
        lambda x: fnp.sum(x, -1),
        _sum(-1),
        AX_SHAPES,
        dtypes=FI,
        **_cuda(((6, 300),), ((7, 100),), dtypes=FI, tol=1e-5),
    ),
    composite(
        "sum_first",
        lambda x: fnp.sum(x, 0),
        _sum(0),
        AX_SHAPES,
        dtypes=FI,
        **_cuda(((40, 4100),), tol=1e-5),
    ),
    composite(
        "sum_f16",
        lambda x: fnp.sum(x, 1),
        _sum(1),
        (((4, 64),), ((3, 5),)),
        ((-2.0, 2.0),),
        (F16,),
        tol=2e-2,
        native=False,  # the CPU codegen has no float16: numpy fallback
        **_cuda(((4, 64),), dtypes=(F16,), tol=2e-2),
    ),
    composite("max_all", fnp.max, np.max, AX3, dtypes=FI, **_cuda(((100, 33),), dtypes=(I32,))),
    composite(
        "max_last",
        lambda x: fnp.max(x, -1),
        lambda x: np.max(x, -1),
        AX3,
        dtypes=FI,
        **_cuda(((5, 333),)),
    ),
    composite("min_first", lambda x: fnp.min(x, 0), lambda x: np.min(x, 0), AX3, dtypes=FI),
    composite(
        "min_middle",
        lambda x: fnp.min(x, 1),
        lambda x: np.min(x, 1),
        (((3, 70, 4),), ((2, 3, 4),)),
        **_cuda(((3, 70, 4),)),
    ),
    composite(
        "prod_last",
        lambda x: fnp.prod(x, -1),
        lambda x: np.prod(x, -1, dtype=x.dtype),
        AX_SHAPES,
        ((-2, 2),),
        FI,
        **_cuda(((4, 40),), tol=1e-5),
    ),
    composite(
        "mean_first",
        lambda x: fnp.mean(x, 0),
        lambda x: np.mean(x, 0),
        AX3,
        **_cuda(((200, 3),), tol=1e-5),
    ),
    composite(
        "sum_middle", lambda x: fnp.sum(x, 1), _sum(1), (((2, 3, 4),), ((3, 1, 2),)), dtypes=FI
    ),
    composite(
        "sum_outer_inner", lambda x: fnp.sum(x, (0, 2)), _sum((0, 2)), (((2, 3, 4),),), dtypes=FI
    ),
    composite("any_last", lambda x: fnp.any(x > 1, -1), lambda x: np.any(x > 1, -1), AX_SHAPES),
    composite("all_first", lambda x: fnp.all(x > -2, 0), lambda x: np.all(x > -2, 0), AX_SHAPES),
    composite(
        "all_any",
        lambda x: fnp.all(x > -1.5, 1) | fnp.any(x > 1.9, 1),
        lambda x: np.all(x > -1.5, 1) | np.any(x > 1.9, 1),
        (((8, 50),),),
        ((-2.0, 2.0),),
        **_cuda(((8, 50),)),
    ),
    composite(
        "sum_bool",
        lambda x: fnp.sum(x > 0, -1),
        lambda x: np.sum(x > 0, -1).astype(np.int32),
        AX_SHAPES,
    ),
    composite(
        "logsumexp",
        lambda x: fnp.log(fnp.sum(fnp.exp(x - fnp.max(x, -1, keepdims=True)), -1)) + fnp.max(x, -1),
        _logsumexp,
        AX3,
        **_cuda(((16, 129),), tol=1e-5),
    ),
    composite(
        "softmax",
        lambda x: fnp.exp(x) / fnp.sum(fnp.exp(x), -1, keepdims=True),
        _softmax,
        AX_SHAPES,
    ),
    composite(
        "fnp.argmax_last",
        lambda x: fnp.argmax(x, -1),
        lambda x: np.argmax(x, -1).astype(np.int32),
        AX3,
        dtypes=FI,
    ),
    composite(
        "fnp.cumsum_last",
        lambda x: fnp.cumsum(x, -1),
        lambda x: np.cumsum(x, -1, dtype=x.dtype),
        AX_SHAPES,
        dtypes=FI,
    ),
    composite("var_last", lambda x: fnp.var(x, -1), lambda x: np.var(x, -1), AX3),
]

SHAPE_PROGRAMS = [
    composite(
        "reshape_flat",
        lambda x: fnp.reshape(x, (-1,)) * 2,
        lambda x: x.reshape(-1) * 2,
        AX_SHAPES,
        dtypes=FI,
    ),
    composite(
        "reshape_T",
        lambda x: fnp.reshape(x.T, (-1,)) + 1,
        lambda x: x.T.reshape(-1) + 1,
        AX_SHAPES,
        dtypes=FI,
    ),
    composite(
        "reshape_sin",
        lambda x: fnp.reshape(fnp.sin(x), (5, 2, 3)) * 2.0,
        lambda x: np.sin(x).reshape(5, 2, 3) * 2,
        (((6, 5),), ((30,),)),
        **_cuda(((6, 5),)),
    ),
    composite(
        "transpose_mul",
        lambda x: fnp.transpose(x) * 2,
        lambda x: x.T * 2,
        AX_SHAPES,
        dtypes=FI,
        **_cuda(((6, 5),)),
    ),
    composite("T_plus", lambda x: x.T + fnp.sin(x).T, lambda x: x.T + np.sin(x).T, AX_SHAPES),
    composite(
        "broadcast_exp",
        lambda x: fnp.broadcast_to(fnp.exp(x), (2,) + x.shape) + 1,
        lambda x: np.broadcast_to(np.exp(x), (2,) + x.shape) + 1,
        AX_SHAPES,
    ),
    composite(
        "bcast_sub",
        lambda x: x[:, None] - x[None, :],
        lambda x: x[:, None] - x[None, :],
        (((5,),), ((0,),), ((1,),)),
        dtypes=FI,
    ),
    composite(
        "broadcast_outer",
        lambda x, y: x[:, None] * y[None, :],
        lambda x, y: x[:, None] * y[None, :],
        (((9,), (9,)), ((0,), (3,))),
        **_cuda(((9,), (9,))),
    ),
    composite(
        "expand_squeeze",
        lambda x: fnp.squeeze(fnp.expand_dims(x, 0), 0) * 3,
        lambda x: x * 3,
        AX_SHAPES,
        dtypes=FI,
    ),
    composite(
        "squeeze_expand",
        lambda x: fnp.expand_dims(fnp.squeeze(x, 1), 0) * 3.0,
        lambda x: x.reshape(1, x.shape[0], x.shape[2]) * 3,
        (((4, 1, 3),), ((0, 1, 2),)),
        **_cuda(((4, 1, 3),)),
    ),
    composite(
        "slice_step",
        lambda x: x[1:5:2] * 2,
        lambda x: x[1:5:2] * 2,
        (((7,),), ((3, 5),), ((0, 3),), ((1,),)),
        dtypes=FI,
    ),
    composite(
        "slice_rev_step",
        lambda x: x[:, ::-2] + 1,
        lambda x: x[:, ::-2] + 1,
        (((3, 5),), ((2, 3, 4),)),
        dtypes=FI,
    ),
    composite(
        "slice_rev",
        lambda x: fnp.flip(x[1:6:2, ::2], 0) - x[0, 0],
        lambda x: x[1:6:2, ::2][::-1] - x[0, 0],
        (((7, 8),), ((6, 3),)),
        **_cuda(((7, 8),)),
    ),
    composite("flip", lambda x: fnp.flip(x) * 2, lambda x: np.flip(x) * 2, AX_SHAPES, dtypes=FI),
    composite(
        "fnp.concatenate",
        lambda x: fnp.concatenate([x, x * 2], 0),
        lambda x: np.concatenate([x, x * 2], 0),
        AX_SHAPES,
        dtypes=FI,
    ),
    composite(
        "fnp.pad1", lambda x: fnp.pad(x, 1) * 2, lambda x: np.pad(x, 1) * 2, AX_SHAPES, dtypes=FI
    ),
    composite(
        "arange_add",
        lambda x: x + fnp.arange(x.shape[-1], dtype=x.dtype),
        lambda x: x + np.arange(x.shape[-1], dtype=x.dtype),
        AX_SHAPES,
        dtypes=FI,
    ),
    composite(
        "iota_add",
        lambda x: x + lax.broadcasted_iota(np.float32, (4, 6), 1),
        lambda x: x + np.arange(6, dtype=np.float32),
        (((4, 6),),),
        **_cuda(((4, 6),)),
    ),
    composite("tril", fnp.tril, np.tril, (((3, 5),), ((4, 4),)), dtypes=FI),
    composite(
        "take",
        lambda x: fnp.take(x, fnp.array([0, 2, 1]), 0),
        lambda x: np.take(x, [0, 2, 1], 0),
        (((3,),), ((3, 5),)),
        dtypes=FI,
    ),
    composite(
        "dynamic_slice_const",
        lambda x: lax.dynamic_slice(x, (1,), (2,)),
        lambda x: x[1:3],
        (((5,),),),
        dtypes=FI,
    ),
    composite("at_add", lambda x: fnp.asarray(x).at[1].add(5.0), _at_add, (((5,),), ((3, 2),))),
]

_DOT = {"dtypes": FI, "native": (F32,)}  # integer dots are numpy fallbacks on the CPU
DOT_PROGRAMS = [
    composite(
        "mm_T",
        lambda a, b: a @ b.T,
        lambda a, b: a @ b.T,
        (((5, 7), (3, 7)), ((4, 1), (6, 1))),
        **_DOT,
    ),
    composite(
        "T_mm",
        lambda a, b: a.T @ b,
        lambda a, b: a.T @ b,
        (((7, 5), (7, 3)),),
        **_DOT,
        **_cuda(((19, 37), (19, 23)), tol=1e-5),
    ),
    composite(
        "T_mm_T", lambda a, b: a.T @ b.T, lambda a, b: a.T @ b.T, (((7, 5), (3, 7)),), **_DOT
    ),
    composite(
        "batched_T",
        lambda a, b: a @ fnp.swapaxes(b, -1, -2),
        lambda a, b: a @ np.swapaxes(b, -1, -2),
        (((2, 5, 7), (2, 3, 7)),),
        **_DOT,
    ),
    composite(
        "einsum_bkj",
        lambda a, b: fnp.einsum("bij,bkj->bik", a, b),
        lambda a, b: np.einsum("bij,bkj->bik", a, b),
        (((2, 3, 4), (2, 5, 4)),),
        **_DOT,
    ),
    composite(
        "slice_mm",
        lambda a, b: a[:, 1:] @ b[:-1],
        lambda a, b: a[:, 1:] @ b[:-1],
        (((4, 6), (6, 3)),),
        **_DOT,
    ),
    composite(
        "einsum_bmm",
        lambda a, b: fnp.einsum("bij,bjk->bik", a, b),
        lambda a, b: np.einsum("bij,bjk->bik", a, b),
        (((3, 9, 20), (3, 20, 11)),),
        **_cuda(((3, 9, 20), (3, 20, 11)), tol=1e-5),
    ),
    composite(
        "matmul_f16",
        fnp.matmul,
        np.matmul,
        (((40, 33), (33, 24)),),
        ((-1.0, 1.0),),
        (F16,),
        tol=2e-2,
        native=False,  # the CPU codegen has no float16: numpy fallback
        **_cuda(((40, 33), (33, 24)), dtypes=(F16,), tol=2e-2),
    ),
    composite(
        "mlp_layer",
        lambda x, w, b: fnp.tanh(x @ w + b),
        lambda x, w, b: np.tanh(x @ w + b),
        (((16, 30), (30, 20), (20,)),),
        **_cuda(((16, 30), (30, 20), (20,)), tol=1e-5),
    ),
]

PROGRAMS = ELEMENTWISE_PROGRAMS + REDUCTION_PROGRAMS + SHAPE_PROGRAMS + DOT_PROGRAMS
