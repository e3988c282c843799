"""lax.associative_scan: JAX's algorithm (no identity element, pytrees, any associative fn),
against a sequential reference and against values recorded from jax 0.10.2
(tests/data/make_associative_scan.py)."""

import json
from pathlib import Path

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

REF = json.loads(Path(__file__).with_name("data").joinpath("associative_scan.json").read_text())
INP = REF["inputs"]
MATS = np.array(INP["mats"], np.float32)
A, B = np.array(INP["a"], np.float32), np.array(INP["b"], np.float32)
X2 = np.array(INP["x2"], np.float32)
INTS = np.array(INP["ints"], np.int32)


def matmul2(a, b):
    return fnp.einsum("...ij,...jk->...ik", a, b)


def linrec(e1, e2):
    a1, b1 = e1
    a2, b2 = e2
    return a1 * a2, a2 * b1 + b2


def sequential(fn, xs, reverse=False):
    """The definition: x0, fn(x0, x1), fn(fn(x0, x1), x2), ... (on reversed input if reverse)."""
    xs = list(xs)[::-1] if reverse else list(xs)
    out, acc = [], None
    for x in xs:
        acc = x if acc is None else fn(acc, x)
        out.append(np.asarray(acc))
    return out[::-1] if reverse else out


def close(got, want, tol=1e-5):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want, np.float32), rtol=tol, atol=tol)


def test_multiply_is_not_padded_with_zero():
    out = lax.associative_scan(fnp.multiply, fnp.array([2.0, 3.0, 4.0, 5.0]))
    np.testing.assert_array_equal(np.asarray(out), [2.0, 6.0, 24.0, 120.0])
    close(out, REF["mul"])


@pytest.mark.parametrize("reverse", [False, True])
def test_minimum_ints(reverse):
    out = lax.associative_scan(fnp.minimum, fnp.asarray(INTS), reverse=reverse)
    assert out.dtype == np.int32
    want = REF["min_ints_rev" if reverse else "min_ints"]
    np.testing.assert_array_equal(np.asarray(out), want)
    ref = np.minimum.accumulate(INTS[::-1])[::-1] if reverse else np.minimum.accumulate(INTS)
    np.testing.assert_array_equal(np.asarray(out), ref)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 7])
@pytest.mark.parametrize("reverse", [False, True])
def test_matrix_products_keep_order(n, reverse):
    # matrix products do not commute: any reordering of the operands shows
    out = lax.associative_scan(matmul2, fnp.asarray(MATS[:n]), reverse=reverse)
    assert out.shape == (n, 2, 2)
    want = np.asarray(REF[f"matmul_{'rev_' if reverse else ''}{n}"], np.float32)
    close(out, want.reshape(n, 2, 2))
    if n:
        ref = sequential(lambda p, q: p @ q, MATS[:n], reverse)
        close(out, np.stack(ref))


@pytest.mark.parametrize("reverse", [False, True])
def test_linear_recurrence_pytree(reverse):
    a_out, b_out = lax.associative_scan(linrec, (fnp.asarray(A), fnp.asarray(B)), reverse=reverse)
    want = REF["linrec_rev" if reverse else "linrec"]
    close(a_out, want[0])
    close(b_out, want[1])
    if not reverse:  # b_t = a_t * b_{t-1} + b_t, the recurrence the pair encodes
        h, hs = 0.0, []
        for at, bt in zip(A, B):
            h = at * h + bt
            hs.append(h)
        close(b_out, hs)


def test_dict_pytree_and_structure_error():
    out = lax.associative_scan(
        lambda x, y: {"s": x["s"] + y["s"], "p": x["p"] * y["p"]},
        {"s": fnp.arange(4.0), "p": fnp.arange(1.0, 5.0)},
    )
    np.testing.assert_array_equal(np.asarray(out["s"]), [0.0, 1.0, 3.0, 6.0])
    np.testing.assert_array_equal(np.asarray(out["p"]), [1.0, 2.0, 6.0, 24.0])
    with pytest.raises(TypeError):
        lax.associative_scan(lambda x, y: (x[0] + y[0],), (fnp.ones(3), fnp.ones(3)))


def test_unequal_sizes_raise():
    with pytest.raises(ValueError, match="same first dimension"):
        lax.associative_scan(linrec, (fnp.ones(3), fnp.ones(4)))


@pytest.mark.parametrize("reverse", [False, True])
def test_axis1(reverse):
    out = lax.associative_scan(fnp.multiply, fnp.asarray(X2), reverse=reverse, axis=1)
    close(out, REF["mul_axis1_rev" if reverse else "mul_axis1"])
    out_neg = lax.associative_scan(fnp.multiply, fnp.asarray(X2), reverse=reverse, axis=-1)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(out_neg))


def test_jit_matches_eager():
    f = lambda m: lax.associative_scan(matmul2, m)  # (jit of a partial is R1's fix)
    close(fg.jit(f)(fnp.asarray(MATS)), REF["matmul_7"])
    g = fg.jit(lambda a, b: lax.associative_scan(linrec, (a, b), reverse=True))
    got = g(fnp.asarray(A), fnp.asarray(B))
    close(got[0], REF["linrec_rev"][0])
    close(got[1], REF["linrec_rev"][1])


def test_grad_matches_jax():
    scan = lax.associative_scan

    def f(m):
        return scan(matmul2, m)[-1].sum() + scan(matmul2, m, reverse=True)[0, 0, 1]

    close(fg.grad(f)(fnp.asarray(MATS)), REF["grad_matmul"], 1e-4)
    close(fg.jit(fg.grad(f))(fnp.asarray(MATS)), REF["grad_matmul"], 1e-4)
    g = lambda a, b: (scan(linrec, (a, b))[1] ** 2).sum()
    ga, gb = fg.grad(g, argnums=(0, 1))(fnp.asarray(A), fnp.asarray(B))
    close(ga, REF["grad_linrec"][0], 1e-4)
    close(gb, REF["grad_linrec"][1], 1e-4)


def test_vmap():
    out = fg.vmap(lambda r: lax.associative_scan(fnp.multiply, r))(fnp.asarray(X2))
    close(out, REF["vmap_mul_axis0"])
    # batching over the scanned elements' other axis gives the axis=0 scan of the columns
    cols = fg.vmap(lambda c: lax.associative_scan(fnp.multiply, c), in_axes=1, out_axes=1)(
        fnp.asarray(X2)
    )
    close(cols, np.cumprod(X2, axis=0))


def test_bool_elements_interleave():
    x = fnp.array([False, True, False, False, True])
    out = lax.associative_scan(fnp.logical_or, x)
    np.testing.assert_array_equal(np.asarray(out), [False, True, True, True, True])


def test_cumulative_reductions_still_work():
    x = fnp.array([2.0, -3.0, 4.0, 1.0, 0.5])
    np.testing.assert_allclose(np.asarray(lax.cumprod(x)), np.cumprod(np.asarray(x)))
    np.testing.assert_allclose(np.asarray(lax.cummax(x)), np.maximum.accumulate(np.asarray(x)))
    np.testing.assert_allclose(
        np.asarray(lax.cumlogsumexp(x)), np.logaddexp.accumulate(np.asarray(x)), rtol=1e-6
    )
