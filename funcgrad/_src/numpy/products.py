"""funcgrad.numpy: products (``dot``, ``matmul``, ``vdot``, ``inner``, ``outer``, ``tensordot``,
``kron``, ``einsum``, ``cross``)."""

from __future__ import annotations

import builtins

import numpy as np

from funcgrad._src.array import get_aval
from funcgrad._src.core import canonicalize_axis
from funcgrad._src.lax import dot as ld
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import structural as ls
from funcgrad._src.numpy.conversion import (
    _broadcast,
    _promote,
    _shape,
    asarray,
    broadcast_shapes,
    broadcast_to,
)
from funcgrad._src.numpy.creation import zeros_like
from funcgrad._src.numpy.shape import diagonal, moveaxis, ravel, stack


def matmul(a, b, /, precision=None, preferred_element_type=None):
    a, b = _promote(a, b)
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        raise ValueError(f"matmul: operands must be at least 1-d, got shapes {sa} and {sb}")
    a2 = ls.reshape(a, (1,) + sa) if len(sa) == 1 else a
    b2 = ls.reshape(b, sb + (1,)) if len(sb) == 1 else b
    sa2, sb2 = _shape(a2), _shape(b2)
    if sa2[-1] != sb2[-2]:
        from funcgrad._src.core import ValueTypeError

        raise ValueTypeError(
            f"matmul: contracting dimensions differ: shapes {sa} and {sb} ({sa2[-1]} != {sb2[-2]})"
        )
    batch = broadcast_shapes(sa2[:-2], sb2[:-2])
    nb = len(batch)
    if sa2[:-2] != batch:
        a2 = broadcast_to(a2, batch + sa2[-2:])
    if sb2[:-2] != batch and len(sb2) > 2:
        b2 = broadcast_to(b2, batch + sb2[-2:])
    if len(_shape(b2)) == 2 and nb:  # (…, m, k) @ (k, n): contract without broadcasting b
        out = ld.dot_general(
            a2, b2, (((nb + 1,), (0,)), ((), ())), preferred_element_type=preferred_element_type
        )
    else:
        out = ld.dot_general(
            a2,
            b2,
            (((nb + 1,), (nb,)), (tuple(range(nb)), tuple(range(nb)))),
            preferred_element_type=preferred_element_type,
        )
    if len(sa) == 1:
        out = ls.squeeze(out, (get_aval(out).ndim - 2,))
    if len(sb) == 1:
        out = ls.squeeze(out, (get_aval(out).ndim - 1,))
    return out


def dot(a, b, *, precision=None, preferred_element_type=None):
    a, b = _promote(a, b)
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        return a * b
    if len(sb) == 1:
        return tensordot(a, b, ((len(sa) - 1,), (0,)))
    return tensordot(a, b, ((len(sa) - 1,), (len(sb) - 2,)))


def vdot(a, b, /):
    from funcgrad._src.numpy.math import conj

    return dot(ravel(conj(a)), ravel(b))


def vecdot(x1, x2, /, *, axis=-1):
    from funcgrad._src.numpy.math import conj
    from funcgrad._src.numpy.reductions import sum

    return sum(conj(x1) * x2, axis=axis)


def inner(a, b, /):
    a, b = _promote(a, b)
    if not _shape(a) or not _shape(b):
        return a * b
    return tensordot(a, b, ((-1,), (-1,)))


def outer(a, b, out=None):
    a, b = ravel(asarray(a)), ravel(asarray(b))
    a, b = _promote(a, b)
    return ld.dot_general(
        ls.reshape(a, (_shape(a)[0], 1)), ls.reshape(b, (1, _shape(b)[0])), (((1,), (0,)), ((), ()))
    )


def tensordot(a, b, axes=2, precision=None, preferred_element_type=None):
    a, b = _promote(a, b)
    na, nb = get_aval(a).ndim, get_aval(b).ndim
    if isinstance(axes, (int, np.integer)):
        if axes > builtins.min(na, nb):
            raise ValueError(
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
        if _shape(a)[x] != _shape(b)[y]:
            raise ValueError(
                f"tensordot: shape mismatch for sum: {_shape(a)} axis {x} vs {_shape(b)} axis {y}"
            )
    return ld.dot_general(a, b, ((ca, cb), ((), ())), preferred_element_type=preferred_element_type)


def kron(a, b):
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
    """Einstein summation, evaluated left to right as dot_generals."""
    operands = _promote(*[asarray(o) for o in operands])
    terms, out = _parse_einsum(subscripts, operands)
    ops = []
    for op, t in zip(operands, terms):
        ops.append(_diag_term(op, t))

    # sum out letters that appear in one operand only and not in the output
    def others(k):
        return "".join(t for j, (_, t) in enumerate(ops) if j != k) + out

    for k, (op, t) in enumerate(ops):
        lone = [i for i, c in enumerate(t) if c not in others(k)]
        if lone:
            op = lr.reduce_sum(op, tuple(lone))
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
        res = ld.dot_general(res, op, dn, preferred_element_type=preferred_element_type)
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
    return ls.transpose(res, tuple(rt.index(c) for c in out))


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of (arrays of) 2- or 3-vectors; 2-vectors give the z component only."""
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
