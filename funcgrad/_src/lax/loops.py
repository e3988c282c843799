"""Loops: while_loop, scan, and fori_loop / map built on them.

``while_loop`` and ``scan`` are primitives carrying closed jaxprs, as ``cond`` in
``control.py`` (whose tracing helpers they share). Reverse mode of ``scan`` stores the carry
of every step and re-runs one step's forward in each backward step; ``while_loop`` is
differentiable in reverse mode only with ``max_steps`` (as an N-step scan).
"""

from __future__ import annotations

import operator

import numpy as np

from funcgrad import tree_util as tu
from funcgrad._src import ad, batching, dtypes
from funcgrad._src.array import Array, get_aval, to_numpy, wrap
from funcgrad._src.core import Primitive, Tracer, abstract_eval_rules, impl_rules
from funcgrad._src.lax import elementwise as le
from funcgrad._src.lax import loops_eager
from funcgrad._src.lax import reductions as lr
from funcgrad._src.lax import structural as ls
from funcgrad._src.lax.call import batch_jaxpr, jvp_jaxpr, without_effects
from funcgrad._src.lax.control import (
    _as_arr,
    _avals,
    _retrace,
    _run,
    _trace_tree_fn,
)

# ---- loop carries -------------------------------------------------------------------------------


def _promote_weak_carry(flat, out_avals):
    """JAX's rule for loop carries: a weakly typed initial value (a Python scalar) whose
    type differs from the body's output is promoted to the joint type. Returns the new
    leaves and whether any changed (the body must then be traced again)."""
    changed = False
    flat = list(flat)
    for i, (x, b) in enumerate(zip(flat, out_avals)):
        a = get_aval(x)
        if a.weak_type and a.shape == b.shape and a.dtype != b.dtype:
            dt, _ = dtypes.result_type((a.dtype, True), (b.dtype, b.weak_type))
            if dt != a.dtype:
                flat[i] = le.convert_element_type(x, dt, weak_type=False)
                changed = True
    return flat, changed


def _set_weak(outs, avals):
    """Give loop outputs the weak types of the body's outputs (as JAX does)."""
    return [
        le.convert_element_type(o, get_aval(o).dtype, weak_type=a.weak_type)
        if get_aval(o).weak_type != a.weak_type
        else o
        for o, a in zip(outs, avals)
    ]


# ---- while_loop ----------------------------------------------------------------------------------

while_p = Primitive("while", multiple_results=True)


def _while_impl(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts, max_steps):
    vals = [wrap(a) for a in args]
    cc, bc = vals[:cond_nconsts], vals[cond_nconsts : cond_nconsts + body_nconsts]
    carry = vals[cond_nconsts + body_nconsts :]
    steps = 0
    while bool(to_numpy(_run(cond_jaxpr, cc + carry)[0])):
        if max_steps is not None and steps >= max_steps:
            break
        if steps == loops_eager.MIN_STEPS:  # a long loop: run the rest as compiled code
            params = dict(
                cond_jaxpr=cond_jaxpr,
                body_jaxpr=body_jaxpr,
                cond_nconsts=cond_nconsts,
                body_nconsts=body_nconsts,
                max_steps=None if max_steps is None else max_steps - steps,
            )
            rest = [to_numpy(v) for v in cc + bc + carry]
            outs = loops_eager.run(while_p, rest, params, body_jaxpr)
            if outs is not None:
                return outs
        carry = _run(body_jaxpr, bc + carry)
        steps += 1
    return [to_numpy(c) for c in carry]


def _while_abstract(*avals, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts, max_steps):
    return list(avals[cond_nconsts + body_nconsts :])


impl_rules[while_p] = _while_impl
abstract_eval_rules[while_p] = _while_abstract


def while_loop(cond_fun, body_fun, init_val, max_steps: int | None = None):
    """``while cond_fun(val): val = body_fun(val)``, traceable.

    With ``max_steps=N`` the loop stops after at most N iterations and becomes differentiable
    in reverse mode (JAX's while_loop is not).

    Args:
      cond_fun: a function of the carry returning a boolean scalar.
      body_fun: a function of the carry returning a new carry of the same structure, shapes
        and dtypes (a Python scalar in ``init_val`` is promoted to the body's dtype, as in
        JAX).
      init_val: the initial carry, a pytree of arrays.
      max_steps: an optional static bound on the number of iterations (funcgrad's
        extension).

    Returns:
      The final carry.

    Raises:
      TypeError: if ``cond_fun`` does not return a boolean scalar, or ``body_fun`` changes
        the carry's structure, shapes or dtypes, or ``max_steps`` is not an integer.
      ValueError: when differentiated in reverse mode (``grad``, ``vjp``) without
        ``max_steps``, or if ``max_steps`` is negative.
    """
    if max_steps is not None:
        max_steps = _max_steps(max_steps)
    flat, in_tree = tu.tree_flatten(init_val)
    flat = [_as_arr(x) for x in flat]
    arg_tree = tu.tree_structure((tu.tree_unflatten(in_tree, flat),))  # f(val), one argument
    bj, bc, btree = _trace_tree_fn(body_fun, _avals(flat), arg_tree, "body_fun")
    if btree == in_tree:
        flat, changed = _promote_weak_carry(flat, bj.out_avals)
        if changed:
            bj, bc, btree = _trace_tree_fn(body_fun, _avals(flat), arg_tree, "body_fun")
    avals = _avals(flat)
    cj, cc, ctree = _trace_tree_fn(cond_fun, avals, arg_tree, "cond_fun")
    if len(cj.outvars) != 1 or cj.out_avals[0].shape != () or cj.out_avals[0].dtype != np.bool_:
        raise TypeError(
            f"while_loop cond_fun must return a boolean scalar, got "
            f"{[a.str_short() for a in cj.out_avals]}"
        )
    _check_carry("while_loop body_fun", in_tree, btree, avals, bj.out_avals)
    outs = while_p.bind(
        *cc,
        *bc,
        *flat,
        cond_jaxpr=cj,
        body_jaxpr=bj,
        cond_nconsts=len(cc),
        body_nconsts=len(bc),
        max_steps=max_steps,
    )
    return tu.tree_unflatten(in_tree, _set_weak(outs, bj.out_avals))


def _max_steps(n) -> int:
    """``while_loop``'s ``max_steps``: a non-negative integer (TypeError, ValueError)."""
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"while_loop: max_steps must be an integer or None, got {n!r}") from None
    if n < 0:
        raise ValueError(f"while_loop: max_steps must be non-negative, got {n}")
    return n


def _check_carry(what, in_tree, out_tree, in_avals, out_avals):
    if in_tree != out_tree:
        raise TypeError(
            f"{what} must return the same structure as its carry input:\n"
            f"  input:  {in_tree}\n  output: {out_tree}"
        )
    for i, (a, b) in enumerate(zip(in_avals, out_avals)):
        if (a.shape, a.dtype) != (b.shape, b.dtype):
            raise TypeError(
                f"{what}: the carry component {i} has type {a.str_short()} on "
                f"input but {b.str_short()} on output; they must match (cast with "
                f"astype, or start from an array of the right dtype)"
            )


def _while_jvp(primals, tangents, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts, max_steps):
    cc = primals[:cond_nconsts]
    bc = primals[cond_nconsts : cond_nconsts + body_nconsts]
    carry = primals[cond_nconsts + body_nconsts :]
    bct = tangents[cond_nconsts : cond_nconsts + body_nconsts]
    ct = tangents[cond_nconsts + body_nconsts :]
    jj, jconsts = jvp_jaxpr(body_jaxpr)
    nb, nc = len(bc), len(carry)

    def body(*a):  # (jconsts, bc, bct, carry, carry_t) -> (carry, carry_t)
        k = len(jconsts)
        jc, b, bt, c, t = (
            a[:k],
            a[k : k + nb],
            a[k + nb : k + 2 * nb],
            a[k + 2 * nb : k + 2 * nb + nc],
            a[k + 2 * nb + nc :],
        )
        return _run(jj, list(jc) + list(b) + list(c) + list(bt) + list(t))

    new_bj, extra = _retrace(
        body, _avals(jconsts) + _avals(bc) + _avals(bct) + _avals(carry) + _avals(ct)
    )

    def cnd(*a):  # (cc, carry, carry_t) -> pred
        return _run(cond_jaxpr, list(a[:cond_nconsts]) + list(a[cond_nconsts : cond_nconsts + nc]))

    new_cj, extra_c = _retrace(cnd, _avals(cc) + _avals(carry) + _avals(ct))
    outs = while_p.bind(
        *extra_c,
        *cc,
        *extra,
        *jconsts,
        *bc,
        *bct,
        *carry,
        *ct,
        cond_jaxpr=new_cj,
        body_jaxpr=new_bj,
        cond_nconsts=len(extra_c) + len(cc),
        body_nconsts=len(extra) + len(jconsts) + 2 * nb,
        max_steps=max_steps,
    )
    return outs[:nc], outs[nc:]


def _while_as_scan(cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts, max_steps):
    """The same loop as a fixed-length scan that stops updating once the predicate fails."""

    def f(*args):
        cc = list(args[:cond_nconsts])
        bc = list(args[cond_nconsts : cond_nconsts + body_nconsts])
        carry = list(args[cond_nconsts + body_nconsts :])

        def step(c, _):
            pred = _run(cond_jaxpr, cc + list(c))[0]
            new = _run(body_jaxpr, bc + list(c))
            return [le.select(_bcast(pred, x), n, x) for n, x in zip(new, c)], None

        final, _ = scan(step, carry, None, length=max_steps)
        return list(final)

    return f


def _bcast(pred, x):
    return ls.broadcast_in_dim(pred, get_aval(x).shape, ())


def _while_vjp_fwd(primals, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts, max_steps):
    if max_steps is None:
        raise ValueError(
            "Reverse-mode differentiation does not work for lax.while_loop with a "
            "value-dependent trip count. Use lax.scan or lax.fori_loop with static bounds, or "
            "pass while_loop(..., max_steps=N) to bound the loop (funcgrad then differentiates "
            "it as a scan of N steps)."
        )
    outs = while_p.bind(
        *primals,
        cond_jaxpr=cond_jaxpr,
        body_jaxpr=body_jaxpr,
        cond_nconsts=cond_nconsts,
        body_nconsts=body_nconsts,
        max_steps=max_steps,
    )
    f = _while_as_scan(
        without_effects(cond_jaxpr),
        without_effects(body_jaxpr),
        cond_nconsts,
        body_nconsts,
        max_steps,
    )

    def bwd(cts):
        _, f_vjp = ad.vjp_flat(f, list(primals))
        cts_in = f_vjp(list(cts))
        return [c if get_aval(p).dtype.kind in "fc" else None for c, p in zip(cts_in, primals)]

    return outs, bwd


def _while_vmap(
    vals, dims, axis_size, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts, max_steps
):
    cc, bc = vals[:cond_nconsts], vals[cond_nconsts : cond_nconsts + body_nconsts]
    carry = vals[cond_nconsts + body_nconsts :]
    ccd, bcd = dims[:cond_nconsts], dims[cond_nconsts : cond_nconsts + body_nconsts]
    carry = [
        batching.bdim_at_front(c, d, axis_size)
        for c, d in zip(carry, dims[cond_nconsts + body_nconsts :])
    ]
    nc = len(carry)
    cdims = tuple(ccd) + (0,) * nc
    bdims = tuple(bcd) + (0,) * nc
    cbj, cbc = batch_jaxpr(cond_jaxpr, cdims, axis_size)
    bbj, bbc = batch_jaxpr(body_jaxpr, bdims, axis_size)
    ncc, nbc = len(cbc) + len(cc), len(bbc) + len(bc)

    def cnd(*a):
        pred = _run(cbj, list(a[:ncc]) + list(a[ncc + nbc :]))[0]
        return [lr.reduce_or(pred, (0,))]

    def body(*a):
        c_args = list(a[:ncc]) + list(a[ncc + nbc :])
        pred = _run(cbj, c_args)[0]
        new = _run(bbj, list(a[ncc : ncc + nbc]) + list(a[ncc + nbc :]))
        old = a[ncc + nbc :]
        return [
            le.select(ls.broadcast_in_dim(pred, get_aval(o).shape, (0,)), n, o)
            for n, o in zip(new, old)
        ]

    all_consts = list(cbc) + list(cc) + list(bbc) + list(bc)
    avals = _avals(all_consts) + _avals(carry)
    new_cj, e1 = _retrace(cnd, avals)
    new_bj, e2 = _retrace(body, avals)
    outs = while_p.bind(
        *e1,
        *all_consts,
        *e2,
        *all_consts,
        *carry,
        cond_jaxpr=new_cj,
        body_jaxpr=new_bj,
        cond_nconsts=len(e1) + len(all_consts),
        body_nconsts=len(e2) + len(all_consts),
        max_steps=max_steps,
    )
    return outs, [0] * nc


ad.jvp_rules[while_p] = _while_jvp
ad.vjp_fwd_rules[while_p] = _while_vjp_fwd
batching.vmap_rules[while_p] = _while_vmap

# ---- scan ---------------------------------------------------------------------------------------

scan_p = Primitive("scan", multiple_results=True)


def _scan_impl(*args, jaxpr, length, reverse, num_consts, num_carry):
    if length >= loops_eager.MIN_STEPS:  # a long loop: one compiled loop, if it can be
        params = dict(
            jaxpr=jaxpr, length=length, reverse=reverse, num_consts=num_consts, num_carry=num_carry
        )
        outs = loops_eager.run(scan_p, args, params, jaxpr)
        if outs is not None:
            return outs
    vals = [wrap(a) for a in args]
    consts, carry = vals[:num_consts], vals[num_consts : num_consts + num_carry]
    xs = [a for a in args[num_consts + num_carry :]]
    ys = []
    order = range(length - 1, -1, -1) if reverse else range(length)
    for i in order:
        outs = _run(jaxpr, consts + carry + [wrap(np.array(x[i])) for x in xs])
        carry = outs[:num_carry]
        ys.append([to_numpy(o) for o in outs[num_carry:]])
    if reverse:
        ys = ys[::-1]
    y_avals = jaxpr.out_avals[num_carry:]
    stacked = [
        np.stack([y[k] for y in ys]) if ys else np.zeros((0,) + a.shape, a.dtype)
        for k, a in enumerate(y_avals)
    ]
    return [to_numpy(c) for c in carry] + stacked


def _trip_count(length) -> int:
    """``scan``'s ``length=`` checked at once, as in JAX: an integer (TypeError), not negative
    (ValueError), within the loop counter's dtype (int32, int64 with x64; OverflowError)."""
    try:
        n = operator.index(length)
    except TypeError:
        n = int(length) if isinstance(length, (np.ndarray, Array)) and _is_int(length) else None
    if n is None:
        raise TypeError(f"scan: length must be an integer, got {length!r}")
    if n < 0:
        raise ValueError(f"scan: length must be non-negative, got {n}")
    top = np.iinfo(np.int64 if dtypes.x64_enabled() else np.int32).max
    if n > top:
        raise OverflowError(
            f"scan: length={n} is too large for the loop counter (at most {top}"
            + ("" if dtypes.x64_enabled() else "; enable x64 for longer loops")
            + ")"
        )
    return n


def _is_int(x) -> bool:
    return np.ndim(x) == 0 and np.asarray(x).dtype.kind in "iu"


def _scan_abstract(*avals, jaxpr, length, reverse, num_consts, num_carry):
    ys = [a.update(shape=(length,) + a.shape) for a in jaxpr.out_avals[num_carry:]]
    return list(avals[num_consts : num_consts + num_carry]) + ys


impl_rules[scan_p] = _scan_impl
abstract_eval_rules[scan_p] = _scan_abstract


def scan(f, init, xs=None, length=None, reverse=False, unroll=1, _split_transpose=False):
    """``carry, ys = scan(f, init, xs)`` with ``f(carry, x) -> (carry, y)`` (JAX semantics):
    a loop over the leading axis of ``xs`` that stacks the ``y``'s.

    Reverse mode stores the carry of every step and recomputes one step's forward pass in
    each backward step.

    Args:
      f: a function ``(carry, x) -> (carry, y)``; the new carry has the structure, shapes
        and dtypes of ``init`` (Python scalars in ``init`` are promoted, as in JAX).
      init: the initial carry, a pytree of arrays.
      xs: a pytree of arrays sharing a leading axis to scan over, or None.
      length: the number of steps; needed when ``xs`` is None or has no leaves, and must
        match the leading axis otherwise.
      reverse: run from the last step to the first (``ys`` stays in index order).
      unroll: accepted for JAX compatibility and ignored.
      _split_transpose: accepted for JAX compatibility and ignored.

    Returns:
      ``(final carry, ys)``: ``ys`` stacks each step's ``y`` along a new leading axis of
      size ``length``.

    Raises:
      ValueError: if a leaf of ``xs`` is a scalar, the leading sizes differ (from each other
        or from ``length``), the length is unknown, or ``length`` is negative.
      TypeError: if ``f`` does not return a pair, or changes the carry's structure, shapes
        or dtypes, or ``length`` is not an integer.
      OverflowError: if ``length`` does not fit the loop counter (int32; int64 with x64), as
        in JAX.
    """
    x_flat, x_tree = tu.tree_flatten(xs)
    x_flat = [_as_arr(x) for x in x_flat]
    lengths = {get_aval(x).shape[0] for x in x_flat if get_aval(x).ndim}
    if any(get_aval(x).ndim == 0 for x in x_flat):
        raise ValueError("scan: every leaf of xs needs a leading axis to scan over")
    if length is None:
        if not lengths:
            raise ValueError("scan: pass length= when xs is None or has no leaves")
        if len(lengths) > 1:
            raise ValueError(f"scan: xs leaves have different leading sizes {sorted(lengths)}")
        length = lengths.pop()
    else:
        length = _trip_count(length)
        if lengths and lengths != {length}:
            raise ValueError(f"scan: length={length} but xs have leading sizes {sorted(lengths)}")
    c_flat, c_tree = tu.tree_flatten(init)
    c_flat = [_as_arr(c) for c in c_flat]
    c_avals = _avals(c_flat)
    x_avals = [get_aval(x).update(shape=get_aval(x).shape[1:]) for x in x_flat]
    in_tree = tu.tree_structure(
        (tu.tree_unflatten(c_tree, c_flat), tu.tree_unflatten(x_tree, x_flat))
    )
    jaxpr, consts, out_tree = _trace_tree_fn(f, c_avals + x_avals, in_tree, "scan body")
    if out_tree.node_type is not tuple or len(out_tree.children) != 2:
        raise TypeError(f"scan body must return a pair (carry, y), got structure {out_tree}")
    carry_tree = out_tree.children[0]
    nc = len(c_flat)
    if carry_tree == c_tree:
        c_flat, changed = _promote_weak_carry(c_flat, jaxpr.out_avals[:nc])
        if changed:
            c_avals = _avals(c_flat)
            jaxpr, consts, out_tree = _trace_tree_fn(f, c_avals + x_avals, in_tree, "scan body")
            carry_tree = out_tree.children[0]
    _check_carry("scan body", c_tree, carry_tree, c_avals, jaxpr.out_avals[:nc])
    outs = scan_p.bind(
        *consts,
        *c_flat,
        *x_flat,
        jaxpr=jaxpr,
        length=int(length),
        reverse=bool(reverse),
        num_consts=len(consts),
        num_carry=nc,
    )
    outs = _set_weak(outs, jaxpr.out_avals)
    carry = tu.tree_unflatten(c_tree, outs[:nc])
    ys = tu.tree_unflatten(out_tree.children[1], outs[nc:])
    return carry, ys


def _scan_jvp(primals, tangents, jaxpr, length, reverse, num_consts, num_carry):
    nk, nc = num_consts, num_carry
    consts, carry, xs = primals[:nk], primals[nk : nk + nc], primals[nk + nc :]
    ct, cat, xt = tangents[:nk], tangents[nk : nk + nc], tangents[nk + nc :]
    nx = len(xs)
    jj, jconsts = jvp_jaxpr(jaxpr)
    ny = len(jaxpr.outvars) - nc

    def body(*a):  # (jconsts, consts, consts_t, carry, carry_t, x, x_t)
        k = len(jconsts)
        jc = a[:k]
        c, c_t = a[k : k + nk], a[k + nk : k + 2 * nk]
        r = a[k + 2 * nk :]
        cr, cr_t, x, x_t = r[:nc], r[nc : 2 * nc], r[2 * nc : 2 * nc + nx], r[2 * nc + nx :]
        outs = _run(
            jj, list(jc) + list(c) + list(cr) + list(x) + list(c_t) + list(cr_t) + list(x_t)
        )
        m = nc + ny
        p_out, t_out = outs[:m], outs[m:]
        return p_out[:nc] + t_out[:nc] + p_out[nc:] + t_out[nc:]

    x_avals = [a.update(shape=a.shape[1:]) for a in _avals(xs) + _avals(xt)]
    new_j, extra = _retrace(
        body, _avals(jconsts) + _avals(consts) + _avals(ct) + _avals(carry) + _avals(cat) + x_avals
    )
    outs = scan_p.bind(
        *extra,
        *jconsts,
        *consts,
        *ct,
        *carry,
        *cat,
        *xs,
        *xt,
        jaxpr=new_j,
        length=length,
        reverse=reverse,
        num_consts=len(extra) + len(jconsts) + 2 * nk,
        num_carry=2 * nc,
    )
    c_out, ct_out = outs[:nc], outs[nc : 2 * nc]
    ys, yts = outs[2 * nc : 2 * nc + ny], outs[2 * nc + ny :]
    return c_out + ys, ct_out + yts


def _scan_vjp_fwd(primals, jaxpr, length, reverse, num_consts, num_carry):
    nk, nc = num_consts, num_carry
    consts, carry, xs = primals[:nk], primals[nk : nk + nc], primals[nk + nc :]

    def aug(*a):  # also emit the carry each step starts from
        outs = _run(jaxpr, list(a))
        return outs + list(a[nk : nk + nc])

    x_avals = [a.update(shape=a.shape[1:]) for a in _avals(xs)]
    aj, extra = _retrace(aug, _avals(consts) + _avals(carry) + x_avals)
    outs = scan_p.bind(
        *extra,
        *consts,
        *carry,
        *xs,
        jaxpr=aj,
        length=length,
        reverse=reverse,
        num_consts=len(extra) + nk,
        num_carry=nc,
    )
    ny = len(jaxpr.outvars) - nc
    visible, carries = outs[: nc + ny], outs[nc + ny :]

    def bwd(cts):
        ct_carry, ct_ys = list(cts[:nc]), list(cts[nc:])

        def back(state, inp):
            ct_c, ct_k = state
            x, c_i, ct_y = inp
            _, f_vjp = ad.vjp_flat(
                lambda *a: _run(without_effects(jaxpr), list(a)), list(consts) + list(c_i) + list(x)
            )
            g = f_vjp(list(ct_c) + list(ct_y))
            g_k, g_c, g_x = g[:nk], g[nk : nk + nc], g[nk + nc :]
            ct_k = [ad.add_tangents(a, b) for a, b in zip(ct_k, g_k)]
            return (g_c, ct_k), g_x

        zeros_k = [ad.zeros_like_aval(get_aval(c)) for c in consts]
        (ct_init, ct_consts), ct_xs = scan(
            back,
            (ct_carry, zeros_k),
            (list(xs), list(carries), ct_ys),
            length=length,
            reverse=not reverse,
        )
        res = list(ct_consts) + list(ct_init) + list(ct_xs)
        return [r if get_aval(p).dtype.kind in "fc" else None for r, p in zip(res, primals)]

    return visible, bwd


def _scan_vmap(vals, dims, axis_size, jaxpr, length, reverse, num_consts, num_carry):
    nk, nc = num_consts, num_carry
    consts, carry, xs = vals[:nk], vals[nk : nk + nc], vals[nk + nc :]
    kd, xd = dims[:nk], dims[nk + nc :]
    carry = [batching.bdim_at_front(c, d, axis_size) for c, d in zip(carry, dims[nk : nk + nc])]
    xs = [ls.moveaxis(x, d, 1) if d is not None else x for x, d in zip(xs, xd)]
    in_dims = tuple(kd) + (0,) * nc + tuple(0 if d is not None else None for d in xd)
    bj, bconsts = batch_jaxpr(jaxpr, in_dims, axis_size)
    outs = scan_p.bind(
        *bconsts,
        *consts,
        *carry,
        *xs,
        jaxpr=bj,
        length=length,
        reverse=reverse,
        num_consts=len(bconsts) + nk,
        num_carry=nc,
    )
    ny = len(outs) - nc
    return outs, [0] * nc + [1] * ny


ad.jvp_rules[scan_p] = _scan_jvp
ad.vjp_fwd_rules[scan_p] = _scan_vjp_fwd
batching.vmap_rules[scan_p] = _scan_vmap

# ---- fori_loop / map -----------------------------------------------------------------------------


def fori_loop(lower, upper, body_fun, init_val, unroll=None):
    """``for i in range(lower, upper): val = body_fun(i, val)``.

    With concrete bounds it is a scan carrying the index (reverse-differentiable; no index
    array is built, so memory does not grow with the trip count); with traced bounds a
    while_loop (then not reverse-differentiable). Eagerly, a long loop runs as one compiled
    loop (``loops_eager.py``).

    Args:
      lower: the first index: a scalar integer (Python int, array or tracer).
      upper: the end (exclusive), like ``lower``.
      body_fun: a function ``(i, val) -> val`` keeping the structure, shapes and dtypes.
      init_val: the initial value, a pytree of arrays.
      unroll: accepted for JAX compatibility and ignored.

    Returns:
      The final value (``init_val`` when ``upper <= lower``).

    Raises:
      TypeError: as :func:`scan` and :func:`while_loop`, if ``body_fun`` changes the value's
        structure, shapes or dtypes.
      OverflowError: if a concrete bound does not fit the index dtype (int32 for Python
        ints without x64), as in JAX.
    """
    concrete = not isinstance(lower, Tracer) and not isinstance(upper, Tracer)
    if concrete:  # a scan carrying the index (never an index array as long as the loop)
        idt = _index_dtype(lower, upper)
        lo, hi = (_bound(v, idt, name) for v, name in ((lower, "lower"), (upper, "upper")))
        # Python-int bounds give a weakly typed index, as in JAX
        weak = all(isinstance(v, int) for v in (lower, upper))
        i0 = le.convert_element_type(ls.full((), lo, idt), idt, weak_type=weak)

        def step(carry, _):
            i, c = carry
            nxt = le.convert_element_type(le.add(i, ls.full((), 1, idt)), idt, weak_type=weak)
            return (nxt, body_fun(i, c)), None

        (_, out), _ = scan(step, (i0, init_val), None, length=max(hi - lo, 0))
        return out
    lower, upper = _as_arr(lower), _as_arr(upper)
    idt = np.result_type(get_aval(lower).dtype, get_aval(upper).dtype)
    lower = le.convert_element_type(lower, idt)
    upper = le.convert_element_type(upper, idt)

    def c(state):
        return le.lt(state[0], upper)

    def b(state):
        i, v = state
        return le.add(i, ls.full((), 1, idt)), body_fun(i, v)

    return while_loop(c, b, (lower, init_val))[1]


def _bound(v, idt, name: str) -> int:
    """A concrete loop bound as a Python int; OverflowError when the index dtype cannot hold
    it (as JAX: ``fori_loop(0, 2**40, ...)`` without x64)."""
    b = operator.index(v) if isinstance(v, int) else int(np.asarray(v))
    info = np.iinfo(idt)
    if not info.min <= b <= info.max:
        raise OverflowError(
            f"fori_loop: {name} bound {b} does not fit the loop index's dtype "
            f"{np.dtype(idt).name} (range {info.min}..{info.max})"
        )
    return b


def _index_dtype(lower, upper):
    for v in (lower, upper):
        if type(v) is Array or isinstance(v, (np.ndarray, np.generic)):
            return dtypes.canonicalize(np.asarray(v).dtype)
    return dtypes.int32 if not dtypes.x64_enabled() else dtypes.int64


def map(f, xs, batch_size=None):
    """``stack([f(x) for x in xs])`` over the leading axis, as a scan (``jax.lax.map``).

    Args:
      f: a function of one slice of ``xs`` returning a pytree of arrays.
      xs: a pytree of arrays sharing a leading axis.
      batch_size: accepted for JAX compatibility and ignored (one slice per step).

    Returns:
      The outputs of ``f`` stacked along a new leading axis.

    Raises:
      ValueError: as :func:`scan`, if ``xs`` has scalar leaves or unequal leading sizes.
    """
    _, ys = scan(lambda c, x: (c, f(x)), (), xs)
    return ys
