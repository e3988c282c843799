"""funcgrad.numpy: products (``dot``, ``matmul``, ``vdot``, ``inner``, ``outer``, ``tensordot``,
``kron``, ``einsum``, ``cross``)."""

from __future__ import annotations

import builtins

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.array import get_aval
from funcgrad._src.core import ValueTypeError, canonicalize_axis
from funcgrad._src.lax import dot as ld
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy.arraylike import arraylike_args
from funcgrad._src.numpy.conversion import (
    _broadcast,
    _promote,
    _shape,
    asarray,
    astype,
    broadcast_shapes,
    broadcast_to,
)
from funcgrad._src.numpy.creation import zeros_like
from funcgrad._src.numpy.joining import stack
from funcgrad._src.numpy.shape import diagonal, moveaxis, ravel


def _dot_widened(a, b, dimension_numbers, preferred_element_type=None):
    """``lax.dot_general`` accumulating in ``preferred_element_type``, as JAX.

    Operands of a narrower dtype (e.g. int8 for int32) are widened first: the lax primitive
    computes in the operands' dtype and converts only its result.
    """
    pet = preferred_element_type
    if pet is not None:
        pet, dt = dtypes.canonicalize(pet), get_aval(a).dtype
        try:
            wider = dt != pet and np.promote_types(dt, pet) == pet
        except TypeError:  # e.g. bfloat16, unknown to numpy's promotion
            wider = False
        if wider:
            a, b = astype(a, pet), astype(b, pet)
    return ld.dot_general(a, b, dimension_numbers, preferred_element_type=pet)


@arraylike_args(0, 1)
def matmul(a, b, /, precision=None, preferred_element_type=None):
    """Matrix product of ``a`` and ``b`` with numpy's rules (the ``@`` operator).

    Follows ``numpy.matmul`` and ``jax.numpy.matmul``: a 1-d operand is a vector (a row on the left,
    a column on the right, its axis removed from the result); leading batch axes broadcast. The
    inputs are promoted to a common dtype (JAX rules).

    Args:
      a: array_like of shape ``(..., M, K)`` or ``(K,)``.
      b: array_like of shape ``(..., K, N)`` or ``(K,)``.
      precision: ignored (accepted for JAX compatibility).
      preferred_element_type: optional dtype to accumulate in and return (as JAX), e.g. int32 for
        int8 inputs. Default: the inputs' promoted dtype.

    Returns:
      The product, of shape ``broadcast(a_batch, b_batch) + (M, N)`` (without ``M``/``N`` for a 1-d
      ``a``/``b``).

    Raises:
      ValueError: if an operand is 0-d or the batch shapes do not broadcast.
      ValueTypeError: (a ``TypeError`` as in JAX, also a ``ValueError`` as in numpy) if the
        contracted sizes ``K`` differ.
    """
    a, b = _promote(a, b)
    sa, sb = _shape(a), _shape(b)
    for i, sh in enumerate((sa, sb)):
        if not sh:  # JAX's message
            raise ValueError(
                f"matmul input operand {i} must have ndim at least 1, but it has ndim 0"
            )
    a2 = ls.reshape(a, (1,) + sa) if len(sa) == 1 else a
    b2 = ls.reshape(b, sb + (1,)) if len(sb) == 1 else b
    sa2, sb2 = _shape(a2), _shape(b2)
    if sa2[-1] != sb2[-2]:
        from funcgrad._src.core import ValueTypeError

        raise ValueTypeError(  # JAX's TypeError (numpy's ValueError) and message, then shapes
            f"dot_general requires contracting dimensions to have the same shape, got "
            f"({sa2[-1]},) and ({sb2[-2]},). (matmul of shapes {sa} and {sb})"
        )
    try:
        batch = broadcast_shapes(sa2[:-2], sb2[:-2])
    except ValueError:
        raise ValueError(  # JAX's message
            f"Incompatible types for matmul arguments: {_type_str(a)} and {_type_str(b)}"
        ) from None
    nb = len(batch)
    if sa2[:-2] != batch:
        a2 = broadcast_to(a2, batch + sa2[-2:])
    if sb2[:-2] != batch and len(sb2) > 2:
        b2 = broadcast_to(b2, batch + sb2[-2:])
    if len(_shape(b2)) == 2 and nb:  # (…, m, k) @ (k, n): contract without broadcasting b
        out = _dot_widened(a2, b2, (((nb + 1,), (0,)), ((), ())), preferred_element_type)
    else:
        out = _dot_widened(
            a2,
            b2,
            (((nb + 1,), (nb,)), (tuple(range(nb)), tuple(range(nb)))),
            preferred_element_type,
        )
    if len(sa) == 1:
        out = ls.squeeze(out, (get_aval(out).ndim - 2,))
    if len(sb) == 1:
        out = ls.squeeze(out, (get_aval(out).ndim - 1,))
    return out


@arraylike_args(0, 1)
def dot(a, b, *, precision=None, preferred_element_type=None):
    """Dot product of ``a`` and ``b`` with numpy's rules (over the last axis of ``a``).

    Follows ``numpy.dot`` and ``jax.numpy.dot``: scalars multiply; a 1-d ``b`` contracts with the
    last axis of ``a``; otherwise the last axis of ``a`` contracts with the second-to-last axis of
    ``b``, and the other axes of both are kept (no batch broadcasting, unlike :func:`matmul`).

    Args:
      a: array_like input.
      b: array_like input; promoted with ``a``.
      precision: ignored (accepted for JAX compatibility).
      preferred_element_type: optional dtype to accumulate in and return (as JAX), e.g. int32 for
        int8 inputs. Default: the inputs' promoted dtype.

    Returns:
      The product: ``a.shape[:-1] + b.shape[:-2] + b.shape[-1:]`` (``a.shape[:-1]`` for a 1-d
      ``b``).

    Raises:
      ValueError: if the contracted axes differ in size.
    """
    a, b = _promote(a, b)
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        return _scalar_product(a, b, preferred_element_type)
    cb = 0 if len(sb) == 1 else len(sb) - 2
    return tensordot(a, b, ((len(sa) - 1,), (cb,)), preferred_element_type=preferred_element_type)


def _scalar_product(a, b, preferred_element_type):
    """``a * b`` for a 0-d operand: a dot product contracting nothing (as JAX)."""
    if preferred_element_type is None:
        return a * b
    return _dot_widened(a, b, (((), ()), ((), ())), preferred_element_type)


@arraylike_args(0, 1)
def vdot(a, b, /, *, precision=None, preferred_element_type=None):
    """Dot product of the flattened arrays, conjugating the first: ``sum(conj(a) * b)``.

    Follows ``numpy.vdot`` and ``jax.numpy.vdot``.

    Args:
      a: array_like input (conjugated).
      b: array_like input with ``a``'s number of elements.
      precision: ignored (accepted for JAX compatibility).
      preferred_element_type: optional dtype to accumulate in and return (as JAX). Default: the
        inputs' promoted dtype.

    Returns:
      A scalar array of the promoted dtype.

    Raises:
      ValueError: if ``a`` and ``b`` have different sizes.
    """
    from funcgrad._src.numpy.math import conj

    return dot(ravel(conj(a)), ravel(b), preferred_element_type=preferred_element_type)


@arraylike_args(0, 1)
def vecdot(x1, x2, /, *, axis=-1):
    """Vector dot product along ``axis``, conjugating ``x1``: ``sum(conj(x1) * x2, axis)``.

    Follows ``numpy.vecdot`` and ``jax.numpy.vecdot``; the other axes broadcast. Bools and small
    integers are summed in the default int (as :func:`sum`).

    Args:
      x1: array_like input (conjugated).
      x2: array_like input, broadcast against ``x1``.
      axis: int axis to contract (static, keyword-only).

    Returns:
      The broadcast shape of ``x1`` and ``x2`` without ``axis``.

    Raises:
      ValueError: if the shapes do not broadcast or ``axis`` is out of bounds.
    """
    from funcgrad._src.numpy.math import conj
    from funcgrad._src.numpy.reductions import sum

    return sum(conj(x1) * x2, axis=axis)


@arraylike_args(0, 1)
def inner(a, b, /, *, precision=None, preferred_element_type=None):
    """Inner product over the last axes of ``a`` and ``b`` (for every pair of rows).

    Follows ``numpy.inner`` and ``jax.numpy.inner``; a scalar operand multiplies.

    Args:
      a: array_like input.
      b: array_like input; its last axis must match ``a``'s.
      precision: ignored (accepted for JAX compatibility).
      preferred_element_type: optional dtype to accumulate in and return (as JAX). Default: the
        inputs' promoted dtype.

    Returns:
      An array of shape ``a.shape[:-1] + b.shape[:-1]``, of the promoted dtype.

    Raises:
      ValueError: if the last axes differ in size.
    """
    a, b = _promote(a, b)
    if not _shape(a) or not _shape(b):
        return _scalar_product(a, b, preferred_element_type)
    return tensordot(a, b, ((-1,), (-1,)), preferred_element_type=preferred_element_type)


@arraylike_args(0, 1)
def outer(a, b, out=None):
    """Outer product of the flattened ``a`` and ``b``: ``out[i, j] = a[i] * b[j]``.

    Follows ``numpy.outer`` and ``jax.numpy.outer``.

    Args:
      a: array_like input (flattened).
      b: array_like input (flattened).
      out: ignored (arrays are immutable; use the return value).

    Returns:
      An ``(a.size, b.size)`` array of the promoted dtype.
    """
    a, b = ravel(asarray(a)), ravel(asarray(b))
    a, b = _promote(a, b)
    return _dot_widened(
        ls.reshape(a, (_shape(a)[0], 1)), ls.reshape(b, (1, _shape(b)[0])), (((1,), (0,)), ((), ()))
    )


@arraylike_args(0, 1)
def tensordot(a, b, axes=2, precision=None, preferred_element_type=None):
    """Tensor contraction of ``a`` and ``b`` over the given pairs of axes.

    Follows ``numpy.tensordot`` and ``jax.numpy.tensordot``.

    Args:
      a: array_like input.
      b: array_like input; promoted with ``a``.
      axes: an int ``n`` (the last ``n`` axes of ``a`` with the first ``n`` of ``b``) or a pair
        ``(axes_a, axes_b)`` of ints or sequences of ints (static).
      precision: ignored (accepted for JAX compatibility).
      preferred_element_type: optional dtype to accumulate in and return (as JAX), e.g. int32 for
        int8 inputs. Default: the inputs' promoted dtype.

    Returns:
      The free axes of ``a`` followed by the free axes of ``b``.

    Raises:
      ValueError: if ``axes`` exceeds a rank, an axis is out of bounds, or contracted axes differ in
        size.
    """
    a, b = _promote(a, b)
    na, nb = get_aval(a).ndim, get_aval(b).ndim
    if isinstance(axes, (int, np.integer)):
        if axes > builtins.min(na, nb):
            raise ValueTypeError(  # numpy: ValueError, JAX: TypeError
                f"tensordot: axes={axes} exceeds the rank of {_shape(a)} or {_shape(b)}"
            )
        ca, cb = tuple(range(na - axes, na)), tuple(range(axes))
    else:
        ca, cb = axes
        ca = (ca,) if isinstance(ca, int) else tuple(ca)
        cb = (cb,) if isinstance(cb, int) else tuple(cb)
        ca = tuple(canonicalize_axis(x, na) for x in ca)
        cb = tuple(canonicalize_axis(x, nb) for x in cb)
    for x, y in zip(ca, cb):
        if _shape(a)[x] != _shape(b)[y]:  # JAX's TypeError (numpy's ValueError), JAX's text
            raise ValueTypeError(
                f"dot_general requires contracting dimensions to have the same shape, got "
                f"{tuple(_shape(a)[i] for i in ca)} and {tuple(_shape(b)[i] for i in cb)}. "
                f"(tensordot of shapes {_shape(a)} and {_shape(b)})"
            )
    return _dot_widened(a, b, ((ca, cb), ((), ())), preferred_element_type)


@arraylike_args(0, 1)
def kron(a, b):
    """Kronecker product of ``a`` and ``b``: blocks ``a[i, j] * b``.

    Follows ``numpy.kron`` and ``jax.numpy.kron``; the operand of lower rank gets leading size-1
    axes.

    Args:
      a: array_like input.
      b: array_like input; promoted with ``a``.

    Returns:
      An array of shape ``a.shape * b.shape`` (elementwise, after padding the ranks), of the
      promoted dtype.
    """
    a, b = _promote(a, b)
    nd = builtins.max(get_aval(a).ndim, get_aval(b).ndim)
    a = ls.reshape(a, (1,) * (nd - get_aval(a).ndim) + _shape(a))
    b = ls.reshape(b, (1,) * (nd - get_aval(b).ndim) + _shape(b))
    sa, sb = _shape(a), _shape(b)
    ea = ls.reshape(a, tuple(x for s in sa for x in (s, 1)))
    eb = ls.reshape(b, tuple(x for s in sb for x in (1, s)))
    return ls.reshape(ea * eb, tuple(x * y for x, y in zip(sa, sb)))


def _parse_einsum(subscripts, operands):
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        ins, out = subscripts.split("->")
        explicit = True
    else:
        ins, out, explicit = subscripts, None, False
    terms = ins.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum: {len(terms)} subscript terms for {len(operands)} operands")
    spare = iter(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in subscripts)
    ell_letters = None
    new_terms = []
    for t, op in zip(terms, operands):
        if "..." in t:
            n_ell = get_aval(op).ndim - (len(t) - 3)
            if ell_letters is None:
                ell_letters = "".join(next(spare) for _ in range(16))
            t = t.replace("...", ell_letters[16 - n_ell :] if n_ell else "")
        if len(t) != get_aval(op).ndim:
            raise ValueError(f"einsum: term {t!r} does not match an operand of shape {_shape(op)}")
        new_terms.append(t)
    if out is None:
        counts = {}
        for t in new_terms:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        ell = [c for c in (ell_letters or "") if c in counts]
        out = "".join(ell) + "".join(
            sorted(c for c, k in counts.items() if k == 1 and c not in ell)
        )
    elif "..." in out:
        longest = builtins.max(
            (sum(1 for c in t if c in (ell_letters or "")) for t in new_terms), default=0
        )
        out = out.replace("...", (ell_letters or "")[16 - longest :] if longest else "")
    del explicit
    return new_terms, out


def _diag_term(op, term):
    """Handle a letter repeated within one operand by taking the diagonal."""
    while len(set(term)) != len(term):
        for c in term:
            if term.count(c) > 1:
                i = term.index(c)
                j = term.index(c, i + 1)
                op = diagonal(op, 0, i, j)
                term = term[:i] + term[i + 1 : j] + term[j + 1 :] + c
                break
    return op, term


def einsum(
    subscripts,
    *operands,
    optimize=None,
    precision=None,
    preferred_element_type=None,
    _dot_general=None,
):
    """Einstein summation over the operands, as described by ``subscripts``.

    Follows ``numpy.einsum`` and ``jax.numpy.einsum`` for the string form: explicit
    (``'ij,jk->ik'``) or implicit (``'ij,jk'``: output letters in alphabetical order) subscripts,
    ``...`` for broadcast axes, repeated letters within an operand for diagonals. The contractions
    run left to right as ``dot_general`` calls (no path optimisation). The operands are promoted to
    a common dtype.

    Args:
      subscripts: the subscripts string (the interleaved operand/sublist form is not supported).
      *operands: array_like operands, one per comma-separated term.
      optimize: ignored (the contraction order is always left to right).
      precision: ignored (accepted for JAX compatibility).
      preferred_element_type: optional dtype to accumulate in and return (as JAX), e.g. int32 for
        int8 inputs. Default: the inputs' promoted dtype.

    Returns:
      The contraction, with the output subscripts' axes in their order.

    Raises:
      ValueError: if the number of terms differs from the number of operands, a term does not match
        its operand's rank, or an output letter is not in the inputs.
    """
    operands = _promote(*[asarray(o) for o in operands])
    terms, out = _parse_einsum(subscripts, operands)
    ops = []
    for op, t in zip(operands, terms):
        ops.append(_diag_term(op, t))
    ops = _squeeze_broadcast_labels(ops)

    # sum out letters that appear in one operand only and not in the output
    def others(k):
        return "".join(t for j, (_, t) in enumerate(ops) if j != k) + out

    for k, (op, t) in enumerate(ops):
        lone = [i for i, c in enumerate(t) if c not in others(k)]
        if lone:
            pet = preferred_element_type
            op = lr.reduce_sum(op if pet is None else astype(op, pet), tuple(lone))
            t = "".join(c for i, c in enumerate(t) if i not in lone)
        ops[k] = (op, t)
    res, rt = ops[0]
    for k in range(1, len(ops)):
        op, t = ops[k]
        later = "".join(tt for _, tt in ops[k + 1 :]) + out
        batch = [c for c in rt if c in t and c in later]
        contract = [c for c in rt if c in t and c not in later]
        dn = (
            (tuple(rt.index(c) for c in contract), tuple(t.index(c) for c in contract)),
            (tuple(rt.index(c) for c in batch), tuple(t.index(c) for c in batch)),
        )
        res = _dot_widened(res, op, dn, preferred_element_type)
        rt = (
            "".join(batch)
            + "".join(c for c in rt if c not in batch and c not in contract)
            + "".join(c for c in t if c not in batch and c not in contract)
        )
    extra = [i for i, c in enumerate(rt) if c not in out]
    if extra:
        res = lr.reduce_sum(res, tuple(extra))
        rt = "".join(c for c in rt if c in out)
    if sorted(rt) != sorted(out):
        raise ValueError(f"einsum: output subscripts {out!r} are not all in the inputs")
    if preferred_element_type is not None:  # one operand: no dot_general accumulated in it
        res = astype(res, preferred_element_type)
    return ls.transpose(res, tuple(rt.index(c) for c in out))


def _type_str(x) -> str:
    a = get_aval(x)
    return f"{np.dtype(a.dtype).name}[{','.join(map(str, a.shape))}]"


def _squeeze_broadcast_labels(ops) -> list:
    """A letter of size 1 in one operand and n > 1 in another broadcasts (as JAX/opt_einsum):
    the size-1 axis is squeezed out of its operand. Other size mismatches are JAX's
    ValueError."""
    sizes: dict = {}
    for k, (op, t) in enumerate(ops):
        for c, n in zip(t, _shape(op)):
            prev = sizes.setdefault(c, n)
            if n != prev and 1 not in (n, prev):  # opt_einsum's wording, sizes as it prints
                raise ValueError(
                    f"Size of label '{c}' for operand {k} ({prev}) does not match previous "
                    f"terms ({n})."
                )
            sizes[c] = builtins.max(n, prev)
    out = []
    for op, t in ops:
        drop = tuple(i for i, c in enumerate(t) if _shape(op)[i] == 1 and sizes[c] > 1)
        if drop:
            op = ls.squeeze(op, drop)
            t = "".join(c for i, c in enumerate(t) if i not in drop)
        out.append((op, t))
    return out


@arraylike_args(0, 1)
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of (arrays of) 2- or 3-vectors.

    Follows ``numpy.cross`` and ``jax.numpy.cross``: a 2-vector is taken as 3-vector with zero z
    component, and two 2-vectors give only the z component (a scalar per pair). The other axes
    broadcast.

    Args:
      a: array_like of vectors along ``axisa``.
      b: array_like of vectors along ``axisb``; promoted with ``a``.
      axisa: int axis of ``a`` holding the vectors (static).
      axisb: int axis of ``b`` holding the vectors (static).
      axisc: int axis of the result holding the vectors (static).
      axis: if given, overrides ``axisa``, ``axisb`` and ``axisc``.

    Returns:
      The cross products: vectors of length 3 along ``axisc``, or the z components (that axis
      removed) when both inputs are 2-vectors.

    Raises:
      ValueError: if a vector axis has a length other than 2 or 3.
    """
    a, b = _promote(asarray(a), asarray(b))
    if axis is not None:
        axisa = axisb = axisc = axis
    a = moveaxis(a, axisa, -1)
    b = moveaxis(b, axisb, -1)
    na, nb = _shape(a)[-1], _shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(
            f"cross: incompatible dimensions for cross product (dimension must "
            f"be 2 or 3), got vectors of length {na} and {nb}"
        )
    ac = [a[..., i] for i in range(na)]
    bc = [b[..., i] for i in range(nb)]
    if na == 2 and nb == 2:
        return ac[0] * bc[1] - ac[1] * bc[0]
    zero = zeros_like
    a0, a1 = ac[0], ac[1]
    a2 = ac[2] if na == 3 else zero(a0)
    b0, b1 = bc[0], bc[1]
    b2 = bc[2] if nb == 3 else zero(b0)
    c = stack(_broadcast(a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0), -1)
    return moveaxis(c, -1, axisc)
