"""Line searches (Optax's backtracking Armijo search and zoom search with the strong Wolfe
conditions), L-BFGS, and ``value_and_grad_from_state``. The searches loop with
``lax.while_loop`` so they also run under ``jit``.

>>> import funcgrad as fg, funcgrad.numpy as fnp
>>> f = lambda p: fnp.sum((p - 1.0) ** 2)
>>> opt = fg.optim.lbfgs()
>>> p = fnp.zeros(3)
>>> state = opt.init(p)
>>> vg = fg.optim.value_and_grad_from_state(f)
>>> for _ in range(3):
...     value, grad = vg(p, state=state)
...     u, state = opt.update(grad, state, p, value=value, grad=grad, value_fn=f)
...     p = fg.optim.apply_updates(p, u)
>>> [round(float(x), 4) for x in p]
[1.0, 1.0, 1.0]
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad._src.api import value_and_grad
from funcgrad.optim import tree_utils as otu
from funcgrad.optim._base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    _safe_inc,
    _tm,
    _zeros_count,
    _zeros_tree,
    chain,
    identity,
)
from funcgrad.optim._transforms import scale, scale_by_learning_rate

__all__ = [
    "BacktrackingLinesearchInfo",
    "ScaleByBacktrackingLinesearchState",
    "ScaleByLBFGSState",
    "ScaleByZoomLinesearchState",
    "ZoomLinesearchInfo",
    "lbfgs",
    "scale_by_backtracking_linesearch",
    "scale_by_lbfgs",
    "scale_by_zoom_linesearch",
    "value_and_grad_from_state",
]

_F32 = np.float32


def _f(x):
    return fnp.asarray(x).astype(_F32)


def _cast_like(new, old):
    return _tm(lambda n, o: fnp.asarray(n).astype(fnp.asarray(o).dtype), new, old)


def _fn_kwargs(value_fn, extra_args, who):
    names = set(inspect.signature(value_fn).parameters)
    left = sorted(k for k in extra_args if k not in names)
    if left:
        raise TypeError(
            f"Unexpected keyword arguments passed to `{who}.update`. These arguments were not "
            f"consumed by `value_fn`: {left}. Ensure that all extra keyword arguments are "
            "accepted by `value_fn`."
        )
    return {k: v for k, v in extra_args.items() if k in names}


def _where(c, a, b):
    return _tm(lambda x, y: fnp.where(c, x, y), a, b)


# ---- backtracking -------------------------------------------------------------------------------


class BacktrackingLinesearchInfo(NamedTuple):
    """Diagnostics of :func:`scale_by_backtracking_linesearch`.

    Args:
      num_linesearch_steps: the steps the last search took.
      decrease_error: how far the last step is from sufficient decrease (0: satisfied).
    """

    num_linesearch_steps: Any
    decrease_error: Any


class ScaleByBacktrackingLinesearchState(NamedTuple):
    """The state of :func:`scale_by_backtracking_linesearch`.

    Args:
      learning_rate: the step size found last.
      value: the objective at the new parameters.
      grad: its gradient (with ``store_grad=True``), else None.
      info: a :class:`BacktrackingLinesearchInfo`.
    """

    learning_rate: Any
    value: Any
    grad: Any
    info: Any


def scale_by_backtracking_linesearch(
    max_backtracking_steps,
    slope_rtol=1e-4,
    decrease_factor=0.8,
    increase_factor=1.5,
    max_learning_rate=1.0,
    atol=0.0,
    rtol=0.0,
    store_grad: bool = False,
    verbose: bool = False,
) -> GradientTransformationExtraArgs:
    """Backtracking (Armijo) line search along the updates: start from
    ``min(increase_factor * previous, max_learning_rate)`` and shrink by ``decrease_factor``
    until ``f(p + lr u) <= (1 + rtol) f(p) + slope_rtol lr <u, g> + atol``.

    ``update`` needs the keywords ``value=f(p)``, ``grad=grad f(p)`` and ``value_fn=f``
    (other keywords are passed to ``value_fn``).

    Args:
      max_backtracking_steps: the most shrinking steps.
      slope_rtol: the sufficient-decrease constant.
      decrease_factor: the shrink factor.
      increase_factor: the growth of the first guess over the last step size.
      max_learning_rate: the largest step size.
      atol: the absolute tolerance of the decrease condition.
      rtol: the relative tolerance of the decrease condition.
      store_grad: also store the gradient at the new point (for
        :func:`value_and_grad_from_state`).
      verbose: accepted for Optax compatibility (prints nothing).

    Returns:
      A :class:`GradientTransformationExtraArgs` with a
      :class:`ScaleByBacktrackingLinesearchState`.
    """

    def init(params):
        grad = _zeros_tree(params) if store_grad else None
        info = BacktrackingLinesearchInfo(_zeros_count(), _f(np.inf))
        return ScaleByBacktrackingLinesearchState(_f(1.0), _f(np.inf), grad, info)

    def dec_error(lr, slope, value, new_value):
        e = new_value - (1.0 + rtol) * value - lr * slope_rtol * slope
        return fnp.maximum(fnp.where(fnp.isnan(e), np.inf, e), 0.0).astype(_F32)

    def update(updates, state, params=None, *, value, grad, value_fn, **extra_args):
        kw = _fn_kwargs(value_fn, extra_args, "scale_by_backtracking_linesearch")
        fn = lambda p: value_fn(p, **kw)  # noqa: E731
        slope = _f(otu.tree_real(otu.tree_vdot(updates, otu.tree_conj(grad))))
        value = _f(value)

        def body(s):
            lr, _, g, _, it = s
            lr = fnp.where(it > 0, decrease_factor * lr, lr).astype(_F32)
            new_p = otu.tree_add_scale(params, lr, updates)
            if store_grad:
                new_v, g = value_and_grad(fn)(new_p)
            else:
                new_v = fn(new_p)
            new_v = _f(new_v)
            return (lr, new_v, g, dec_error(lr, slope, value, new_v), it + 1)

        def cond(s):
            return fnp.logical_and(fnp.logical_not(s[3] <= atol), s[4] <= max_backtracking_steps)

        lr0 = fnp.minimum(increase_factor * state.learning_rate, max_learning_rate).astype(_F32)
        init_s = (lr0, value, _zeros_tree(params), _f(np.inf), _zeros_count())
        lr, new_v, g, err, it = lax.while_loop(cond, body, init_s)
        lr = fnp.where(fnp.isinf(err), 0.0, lr).astype(_F32)
        info = BacktrackingLinesearchInfo(it, err)
        new = ScaleByBacktrackingLinesearchState(lr, new_v, g if store_grad else None, info)
        return otu.tree_scale(lr, updates), new

    return GradientTransformationExtraArgs(init, update)


# ---- zoom (strong Wolfe) ------------------------------------------------------------------------


class ZoomLinesearchInfo(NamedTuple):
    """Diagnostics of :func:`scale_by_zoom_linesearch`.

    Args:
      num_linesearch_steps: the steps the last search took.
      decrease_error: the sufficient-decrease error of the step taken (0: satisfied).
      curvature_error: its curvature error (0: satisfied).
    """

    num_linesearch_steps: Any
    decrease_error: Any
    curvature_error: Any


class ScaleByZoomLinesearchState(NamedTuple):
    """The state of :func:`scale_by_zoom_linesearch`.

    Args:
      learning_rate: the step size found last.
      value: the objective at the new parameters.
      grad: its gradient.
      info: a :class:`ZoomLinesearchInfo`.
    """

    learning_rate: Any
    value: Any
    grad: Any
    info: Any


class _Zoom(NamedTuple):
    count: Any
    stepsize: Any
    value: Any
    grad: Any
    slope: Any
    decrease_error: Any
    curvature_error: Any
    interval_found: Any
    done: Any
    failed: Any
    low: Any
    value_low: Any
    slope_low: Any
    high: Any
    value_high: Any
    slope_high: Any
    cubic_ref: Any
    value_cubic_ref: Any
    safe_stepsize: Any
    safe_value: Any
    safe_grad: Any


def _cubicmin(a, fa, fpa, b, fb, c, fc):
    db, dc = b - a, c - a
    denom = (db * dc) ** 2 * (db - dc)
    r1, r2 = fb - fa - fpa * db, fc - fa - fpa * dc
    big_a = (dc**2 * r1 - db**2 * r2) / denom
    big_b = (-(dc**3) * r1 + db**3 * r2) / denom
    radical = big_b * big_b - 3.0 * big_a * fpa
    return a + (-big_b + fnp.sqrt(radical)) / (3.0 * big_a)


def _quadmin(a, fa, fpa, b, fb):
    db = b - a
    big_b = (fb - fa - fpa * db) / db**2
    return a - fpa / (2.0 * big_b)


class _ZoomConfig(NamedTuple):
    max_steps: Any
    max_stepsize: Any
    tol: Any
    increase_factor: Any
    slope_rtol: Any
    curv_rtol: Any
    approx_dec_rtol: Any
    interval_threshold: Any


def _errors(cfg, stepsize, value, slope, value0, slope0):
    dec = value - value0 - cfg.slope_rtol * stepsize * slope0
    if cfg.approx_dec_rtol is not None:
        approx = slope - (2 * cfg.slope_rtol - 1.0) * slope0
        delta = value - value0 - cfg.approx_dec_rtol * fnp.abs(value0)
        dec = fnp.minimum(fnp.maximum(approx, delta), dec)
    dec = fnp.maximum(dec, 0.0)
    dec = fnp.where(fnp.isnan(dec), np.inf, dec).astype(_F32)
    curv = fnp.maximum(fnp.abs(slope) - cfg.curv_rtol * fnp.abs(slope0), 0.0)
    curv = fnp.where(fnp.isnan(curv), np.inf, curv).astype(_F32)
    return dec, curv


def _search_interval(cfg, s, on_line, guess, value0, slope0):
    new = fnp.where(s.count == 0, guess, cfg.increase_factor * s.stepsize).astype(_F32)
    if cfg.max_stepsize is not None:
        max_reached = new >= cfg.max_stepsize
        new = fnp.minimum(new, cfg.max_stepsize).astype(_F32)
    else:
        max_reached = fnp.asarray(False)
    v, g, sl = on_line(new)
    dec, curv = _errors(cfg, new, v, sl, value0, slope0)
    err = fnp.maximum(dec, curv)
    safe = _where(dec <= cfg.tol, [new, v, g], [s.safe_stepsize, s.safe_value, s.safe_grad])
    set_high = fnp.logical_or(dec > 0.0, fnp.logical_and(v >= s.value, s.count > 0))
    set_low = fnp.logical_and(sl >= 0.0, fnp.logical_not(set_high))
    default = [s.stepsize, s.value, s.slope, new, v, sl]
    cand = [new, v, sl, s.stepsize, s.value, s.slope]
    low, vlow, slow, high, vhigh, shigh = _where(set_low, cand, default)
    found = fnp.logical_or(fnp.logical_or(set_high, set_low), err <= cfg.tol)
    done = fnp.logical_or(err <= cfg.tol, fnp.logical_and(max_reached, fnp.logical_not(found)))
    failed = fnp.logical_and(s.count + 1 >= cfg.max_steps, fnp.logical_not(done))
    return _Zoom(
        _safe_inc(s.count), new, v, g, sl, dec, curv, found, done, failed,
        low, vlow, slow, high, vhigh, shigh, low, vlow, *safe,
    )  # fmt: skip


def _zoom_middle(cfg, s):
    delta = fnp.abs(s.high - s.low)
    left, right = fnp.minimum(s.high, s.low), fnp.maximum(s.high, s.low)
    cubic = _cubicmin(
        s.low, s.value_low, s.slope_low, s.high, s.value_high, s.cubic_ref, s.value_cubic_ref
    )
    use_cubic = fnp.logical_and(cubic > left + 0.2 * delta, cubic < right - 0.2 * delta)
    quad = _quadmin(s.low, s.value_low, s.slope_low, s.high, s.value_high)
    quad_ok = fnp.logical_and(quad > left + 0.1 * delta, quad < right - 0.1 * delta)
    use_quad = fnp.logical_and(fnp.logical_not(use_cubic), quad_ok)
    use_bis = fnp.logical_and(fnp.logical_not(use_cubic), fnp.logical_not(use_quad))
    middle = fnp.where(use_cubic, cubic, s.cubic_ref)
    middle = fnp.where(use_quad, quad, middle)
    return fnp.where(use_bis, (s.low + s.high) / 2.0, middle).astype(_F32), delta


def _zoom_into_interval(cfg, s, on_line, value0, slope0):
    middle, delta = _zoom_middle(cfg, s)
    v, g, sl = on_line(middle)
    dec, curv = _errors(cfg, middle, v, sl, value0, slope0)
    err = fnp.maximum(dec, curv)
    better = fnp.logical_and(dec <= cfg.tol, v < s.safe_value)
    safe = _where(better, [middle, v, g], [s.safe_stepsize, s.safe_value, s.safe_grad])
    done = err <= cfg.tol
    hi_mid = fnp.logical_or(dec > 0.0, v >= s.value_low)
    hi_low = fnp.logical_and(sl * (s.high - s.low) >= 0.0, fnp.logical_not(hi_mid))
    hi = _where(hi_mid, [middle, v, sl], [s.high, s.value_high, s.slope_high])
    hi = _where(hi_low, [s.low, s.value_low, s.slope_low], hi)
    lo = _where(hi_mid, [s.low, s.value_low, s.slope_low], [middle, v, sl])
    ref = _where(fnp.logical_or(hi_mid, hi_low), [s.high, s.value_high], [s.low, s.value_low])
    too_small = delta <= cfg.interval_threshold
    maybe_failed = fnp.logical_or(
        s.count + 1 >= cfg.max_steps, fnp.logical_and(too_small, safe[0] > 0.0)
    )
    failed = fnp.logical_and(maybe_failed, fnp.logical_not(done))
    return _Zoom(
        _safe_inc(s.count), middle, v, g, sl, dec, curv, s.interval_found, done, failed,
        *lo, *hi, *ref, *safe,
    )  # fmt: skip


def _try_safe_step(s):
    use_safe = fnp.logical_or(s.safe_stepsize > 0.0, fnp.isinf(s.decrease_error))
    step, val, grad = _where(
        use_safe, [s.safe_stepsize, s.safe_value, s.safe_grad], [s.stepsize, s.value, s.grad]
    )
    return s._replace(stepsize=step, value=val, grad=grad)


def _zoom_search(cfg, updates, params, value, grad, guess, value_and_grad_fn):
    def on_line(step):
        v, g = value_and_grad_fn(otu.tree_add_scale(params, step, updates))
        sl = _f(otu.tree_real(otu.tree_vdot(otu.tree_conj(g), updates)))
        return _f(v), _cast_like(g, grad), sl

    value = _f(value)
    slope = _f(otu.tree_real(otu.tree_vdot(updates, grad)))
    zero, inf, no = _f(0.0), _f(np.inf), fnp.asarray(False)
    s0 = _Zoom(
        _zeros_count(), zero, value, grad, slope, inf, inf, no, no, no,
        zero, value, slope, zero, value, slope, zero, value, zero, value, grad,
    )  # fmt: skip

    def step(s):
        nxt = lax.cond(
            s.interval_found,
            lambda st: _cast_like(_zoom_into_interval(cfg, st, on_line, value, slope), st),
            lambda st: _cast_like(_search_interval(cfg, st, on_line, guess, value, slope), st),
            s,
        )
        return _cast_like(lax.cond(nxt.failed, _try_safe_step, lambda x: x, nxt), s)

    def cond(s):
        return fnp.logical_not(fnp.logical_or(s.done, s.failed))

    return lax.while_loop(cond, step, s0)


def scale_by_zoom_linesearch(
    max_linesearch_steps,
    max_learning_rate=None,
    tol=0.0,
    increase_factor=2.0,
    slope_rtol=1e-4,
    curv_rtol=0.9,
    approx_dec_rtol=1e-6,
    stepsize_precision=1e-5,
    initial_guess_strategy: str = "keep",
    verbose: bool = False,
) -> GradientTransformationExtraArgs:
    """Zoom line search (Nocedal & Wright, algorithms 3.5-3.6) for a step size satisfying
    the strong Wolfe conditions (sufficient decrease and curvature), as Optax's.

    ``update`` needs the keywords ``value=f(p)``, ``grad=grad f(p)`` and ``value_fn=f``
    (other keywords are passed to ``value_fn``).

    Args:
      max_linesearch_steps: the most evaluations of ``f`` per search.
      max_learning_rate: the largest step size, or None.
      tol: the tolerance of both conditions.
      increase_factor: the growth of the step size while searching an interval.
      slope_rtol: the sufficient-decrease constant.
      curv_rtol: the curvature constant.
      approx_dec_rtol: the relative tolerance of the approximate decrease condition
        (Hager & Zhang), or None.
      stepsize_precision: the interval length under which the search gives up.
      initial_guess_strategy: ``"keep"`` (start at the last step size) or ``"one"``.
      verbose: accepted for Optax compatibility (prints nothing).

    Returns:
      A :class:`GradientTransformationExtraArgs` with a :class:`ScaleByZoomLinesearchState`.

    Raises:
      ValueError: for an unknown ``initial_guess_strategy``.
    """
    if initial_guess_strategy not in ("keep", "one"):
        raise ValueError(f"Unknown initial guess strategy: {initial_guess_strategy}")
    cfg = _ZoomConfig(
        max_linesearch_steps,
        max_learning_rate,
        tol,
        increase_factor,
        slope_rtol,
        curv_rtol,
        approx_dec_rtol,
        stepsize_precision,
    )

    def init(params):
        info = ZoomLinesearchInfo(_zeros_count(), _f(np.inf), _f(np.inf))
        return ScaleByZoomLinesearchState(_f(1.0), _f(np.inf), _zeros_tree(params), info)

    def update(updates, state, params=None, *, value, grad, value_fn, **extra_args):
        kw = _fn_kwargs(value_fn, extra_args, "scale_by_zoom_linesearch")
        vg = value_and_grad(lambda p: value_fn(p, **kw))
        guess = _f(1.0) if initial_guess_strategy == "one" else state.learning_rate
        s = _zoom_search(cfg, updates, params, value, grad, guess, vg)
        info = ZoomLinesearchInfo(s.count, s.decrease_error, s.curvature_error)
        new = ScaleByZoomLinesearchState(s.stepsize, s.value, s.grad, info)
        return otu.tree_scale(s.stepsize, updates), _cast_like(new, state)

    return GradientTransformationExtraArgs(init, update)


def value_and_grad_from_state(value_fn: Callable) -> Callable:
    """``value_and_grad(value_fn)`` that reuses the value and gradient a line search stored in
    the optimizer state (``state=`` keyword) when they are finite.

    Args:
      value_fn: the objective ``f(params, *args, **kwargs)``.

    Returns:
      ``fn(params, *args, state, **kwargs) -> (value, grad)``.

    Raises:
      ValueError: (when called) if the state stores no ``value`` and ``grad``.
    """

    def fn(params, *args, state, **kwargs):
        value, grad = otu.tree_get(state, "value"), otu.tree_get(state, "grad")
        if value is None or grad is None:
            raise ValueError(
                "Value or gradient not found in the state. Make sure that these values are "
                "stored in the state by the optimizer."
            )
        ok = fnp.logical_not(fnp.logical_or(fnp.isinf(value), fnp.isnan(value)))
        fresh = lambda p: value_and_grad(value_fn)(p, *args, **kwargs)  # noqa: E731
        return lax.cond(ok, lambda p: (value, grad), fresh, params)

    return fn


# ---- L-BFGS -------------------------------------------------------------------------------------


class ScaleByLBFGSState(NamedTuple):
    """The state of :func:`scale_by_lbfgs`.

    Args:
      count: the number of updates so far (int32 scalar).
      params: the last parameters.
      updates: the last gradients.
      diff_params_memory: the stacked parameter differences ``[memory_size, ...]``.
      diff_updates_memory: the stacked gradient differences.
      weights_memory: ``1 / <dg, dp>`` per memory slot.
    """

    count: Any
    params: Any
    updates: Any
    diff_params_memory: Any
    diff_updates_memory: Any
    weights_memory: Any


def _lbfgs_precondition(updates, dp_mem, du_mem, rhos, identity_scale, memory_idx):
    m = rhos.shape[0]
    indices = (memory_idx + fnp.arange(m)) % m

    def right(vec, idx):
        dwi, dui = _tm(lambda x: x[idx], (dp_mem, du_mem))
        alpha = rhos[idx] * otu.tree_real(otu.tree_vdot(dwi, vec))
        return _cast_like(otu.tree_add_scale(vec, -alpha, dui), vec), alpha

    vec, alphas = lax.scan(right, updates, indices, reverse=True)
    vec = otu.tree_scale(identity_scale, vec)

    def left(vec, idx_alpha):
        idx, alpha = idx_alpha
        dwi, dui = _tm(lambda x: x[idx], (dp_mem, du_mem))
        beta = rhos[idx] * otu.tree_real(otu.tree_vdot(dui, vec))
        return _cast_like(otu.tree_add_scale(vec, alpha - beta, dwi), vec), beta

    vec, _ = lax.scan(left, vec, (indices, alphas))
    return vec


def _lbfgs_memory(updates, state, params, memory_size):
    prev_idx = (state.count - 1) % memory_size
    dp, du = otu.tree_sub(params, state.params), otu.tree_sub(updates, state.updates)
    vdot = otu.tree_real(otu.tree_vdot(du, dp))
    weight = fnp.where(vdot == 0.0, 0.0, 1.0 / vdot).astype(_F32)
    first = state.count > 0
    dp, du, weight = _tm(lambda x: fnp.where(first, x, fnp.zeros_like(x)), (dp, du, weight))
    mems = (state.diff_params_memory, state.diff_updates_memory, state.weights_memory)
    return _tm(lambda x, y: x.at[prev_idx].set(y), mems, (dp, du, weight)), dp, du


def scale_by_lbfgs(
    memory_size: int = 10, scale_init_precond: bool = True
) -> GradientTransformation:
    """L-BFGS's preconditioning: the two-loop recursion over the last ``memory_size``
    parameter and gradient differences (Nocedal & Wright, algorithm 7.4), as Optax's.

    Args:
      memory_size: the number of difference pairs kept.
      scale_init_precond: scale the initial inverse Hessian by ``<dg, dp> / <dg, dg>``
        (the first step by ``min(1, 1 / ||g||)``).

    Returns:
      A :class:`GradientTransformation` with a :class:`ScaleByLBFGSState`.

    Raises:
      ValueError: if ``memory_size < 1``.
    """
    if memory_size < 1:
        raise ValueError("memory_size must be >= 1")

    def init(params):
        stacked = _tm(
            lambda p: fnp.zeros((memory_size, *fnp.shape(p)), fnp.asarray(p).dtype), params
        )
        z = _zeros_tree(params)
        return ScaleByLBFGSState(
            _zeros_count(), z, z, stacked, stacked, fnp.zeros(memory_size, _F32)
        )

    def update(updates, state, params=None):
        (dp_mem, du_mem, w_mem), dp, du = _lbfgs_memory(updates, state, params, memory_size)
        if scale_init_precond:
            num = otu.tree_real(otu.tree_vdot(du, dp))
            den = otu.tree_norm(du, squared=True)
            ident = fnp.where(den > 0.0, num / den, 1.0)
            capped = fnp.minimum(1.0, 1.0 / otu.tree_norm(lax.stop_gradient(updates)))
            ident = fnp.where(state.count > 0, ident, capped)
        else:
            ident = 1.0
        out = _lbfgs_precondition(updates, dp_mem, du_mem, w_mem, ident, state.count % memory_size)
        new = ScaleByLBFGSState(_safe_inc(state.count), params, updates, dp_mem, du_mem, w_mem)
        return out, new

    return GradientTransformation(init, update)


_DEFAULT = object()


def lbfgs(
    learning_rate=None, memory_size: int = 10, scale_init_precond: bool = True, linesearch=_DEFAULT
) -> GradientTransformationExtraArgs:
    """L-BFGS with Optax's default zoom line search
    (``scale_by_zoom_linesearch(max_linesearch_steps=20, initial_guess_strategy="one")``).

    ``update`` needs ``value=``, ``grad=`` and ``value_fn=`` for the line search; use
    :func:`value_and_grad_from_state` to reuse the value and gradient it stored.

    Args:
      learning_rate: None (the line search picks the step), a number or a schedule.
      memory_size: the number of difference pairs kept.
      scale_init_precond: scale the initial inverse Hessian.
      linesearch: a line-search transformation, or None for none.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    if linesearch is _DEFAULT:
        linesearch = scale_by_zoom_linesearch(max_linesearch_steps=20, initial_guess_strategy="one")
    base = scale(-1.0) if learning_rate is None else scale_by_learning_rate(learning_rate)
    return chain(
        scale_by_lbfgs(memory_size, scale_init_precond),
        base,
        identity() if linesearch is None else linesearch,
    )
