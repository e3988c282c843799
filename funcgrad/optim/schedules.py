"""Schedules: functions ``step_count -> value`` (Optax's semantics), written with ``where``
instead of Python branches so the count may be a traced array under ``jit``.

>>> from funcgrad.optim import schedules
>>> s = schedules.linear_schedule(1.0, 0.0, transition_steps=10)
>>> [round(float(s(i)), 2) for i in (0, 5, 10, 20)]
[1.0, 0.5, 0.0, 0.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

import funcgrad.numpy as fnp
from funcgrad.optim._wrappers import (
    InjectHyperparamsState,
    InjectStatefulHyperparamsState,
    WrappedSchedule,
    inject_hyperparams,
    inject_stateful_hyperparams,
)

__all__ = [
    "InjectHyperparamsState",
    "InjectStatefulHyperparamsState",
    "WrappedSchedule",
    "inject_hyperparams",
    "inject_stateful_hyperparams",
    "Schedule",
    "constant_schedule",
    "cosine_decay_schedule",
    "cosine_onecycle_schedule",
    "exponential_decay",
    "join_schedules",
    "linear_onecycle_schedule",
    "linear_schedule",
    "one_cycle",
    "piecewise_constant_schedule",
    "piecewise_interpolate_schedule",
    "polynomial_schedule",
    "sgdr_schedule",
    "warmup_constant_schedule",
    "warmup_cosine_decay_schedule",
    "warmup_exponential_decay_schedule",
]

Schedule = Callable  # (count) -> value


def _f(count):
    return fnp.asarray(count).astype(np.float32)


def constant_schedule(value) -> Schedule:
    """The schedule that is always ``value``.

    Args:
      value: the constant (a number).

    Returns:
      A schedule ``count -> value`` (a float32 scalar array).
    """
    return lambda count: fnp.full((), value, np.float32)


def piecewise_constant_schedule(init_value, boundaries_and_scales: dict | None = None) -> Schedule:
    """``init_value`` multiplied by ``scale`` from each ``boundary`` step on.

    Args:
      init_value: the value before the first boundary.
      boundaries_and_scales: a dict ``step -> scale``; from that step on the value is
        multiplied by the scale (the scales compound). None: constant.

    Returns:
      A schedule ``count -> value`` (a float32 scalar array).

    Raises:
      ValueError: for a negative scale.

    >>> s = piecewise_constant_schedule(1.0, {10: 0.1, 20: 0.5})
    >>> [round(float(s(i)), 3) for i in (0, 10, 25)]
    [1.0, 0.1, 0.05]
    """
    items = sorted((boundaries_and_scales or {}).items())
    if any(sc < 0.0 for _, sc in items):
        raise ValueError("`piecewise_constant_schedule` expects non-negative scale factors")

    def schedule(count):
        c, v = _f(count), fnp.full((), init_value, np.float32)
        for boundary, s in items:
            v = v * fnp.where(c < boundary, 1.0, s)
        return v

    return schedule


def exponential_decay(
    init_value,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: float | None = None,
) -> Schedule:
    """``init_value * decay_rate ** ((count - transition_begin) / transition_steps)``.

    Before ``transition_begin`` the value is ``init_value``.

    Args:
      init_value: the initial value.
      transition_steps: the steps over which the value is multiplied by ``decay_rate``.
      decay_rate: the decay factor per ``transition_steps``.
      transition_begin: the step the decay starts at.
      staircase: decay in steps (integer exponent) instead of continuously.
      end_value: a bound the value does not pass (a floor when decaying, a ceiling when
        ``decay_rate > 1``).

    Returns:
      A schedule ``count -> value`` (a float32 scalar array).

    A non-positive ``transition_steps`` or a zero ``decay_rate`` gives the constant
    ``init_value`` (as Optax, which logs it); a negative ``transition_begin`` counts as 0.

    >>> float(exponential_decay(1.0, 10, 0.5)(20))
    0.25
    >>> float(exponential_decay(2.0, 0, 0.5)(20))
    2.0
    """
    if transition_steps <= 0 or decay_rate == 0:
        return constant_schedule(init_value)
    transition_begin = max(0, transition_begin)

    def schedule(count):
        p = fnp.maximum(_f(count) - transition_begin, 0.0) / transition_steps
        if staircase:
            p = fnp.floor(p)
        v = init_value * fnp.power(fnp.asarray(decay_rate, np.float32), p)
        if end_value is not None:
            v = fnp.maximum(v, end_value) if decay_rate < 1 else fnp.minimum(v, end_value)
        return v

    return schedule


def polynomial_schedule(
    init_value, end_value, power, transition_steps: int, transition_begin: int = 0
) -> Schedule:
    """``(init - end) * (1 - t / transition_steps) ** power + end``, ``t`` clipped to the
    transition.

    Args:
      init_value: the value up to ``transition_begin``.
      end_value: the value from ``transition_begin + transition_steps`` on.
      power: the exponent of the interpolation.
      transition_steps: the length of the transition (0: ``init_value`` throughout).
      transition_begin: the step the transition starts at (``t = count - transition_begin``).

    Returns:
      A schedule ``count -> value`` (a float32 scalar array).
    """

    if transition_steps <= 0:
        return constant_schedule(init_value)
    transition_begin = max(0, transition_begin)

    def schedule(count):
        t = fnp.clip(_f(count) - transition_begin, 0.0, float(transition_steps))
        frac = 1.0 - t / transition_steps
        return (init_value - end_value) * frac**power + end_value

    return schedule


def linear_schedule(
    init_value, end_value, transition_steps: int, transition_begin: int = 0
) -> Schedule:
    """Linear interpolation from ``init_value`` to ``end_value`` over ``transition_steps``.

    Args:
      init_value: the value up to ``transition_begin``.
      end_value: the value from ``transition_begin + transition_steps`` on.
      transition_steps: the length of the transition.
      transition_begin: the step the transition starts at.

    Returns:
      A schedule ``count -> value`` (a float32 scalar array).
    """
    return polynomial_schedule(init_value, end_value, 1, transition_steps, transition_begin)


def cosine_decay_schedule(
    init_value, decay_steps: int, alpha: float = 0.0, exponent: float = 1.0
) -> Schedule:
    """``init * ((1 - alpha) * (0.5 (1 + cos(pi t / decay_steps))) ** exponent + alpha)``.

    ``t`` is the count clipped to ``decay_steps``.

    Args:
      init_value: the initial value.
      decay_steps: the length of the decay (positive).
      alpha: the final value as a fraction of ``init_value``.
      exponent: the power of the cosine factor.

    Returns:
      A schedule ``count -> value`` (a float32 scalar array).

    Raises:
      ValueError: if ``decay_steps`` is not positive.

    >>> s = cosine_decay_schedule(1.0, 100)
    >>> round(float(s(50)), 4), float(s(200))
    (0.5, 0.0)
    """
    if decay_steps <= 0:
        raise ValueError("cosine_decay_schedule: decay_steps must be positive")

    def schedule(count):
        t = fnp.minimum(_f(count), float(decay_steps))
        cosine = 0.5 * (1.0 + fnp.cos(math.pi * t / decay_steps))
        return init_value * ((1.0 - alpha) * cosine**exponent + alpha)

    return schedule


def join_schedules(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """Switch to ``schedules[i+1]`` (restarted at 0) at step ``boundaries[i]``.

    Args:
      schedules: the schedules, in order.
      boundaries: the steps where each next schedule takes over (one fewer than
        ``schedules``; increasing).

    Returns:
      A schedule ``count -> value``.

    >>> s = join_schedules([constant_schedule(1.0), constant_schedule(2.0)], [5])
    >>> float(s(4)), float(s(5))
    (1.0, 2.0)
    """

    def schedule(count):
        c = fnp.asarray(count)
        out = schedules[0](c)
        for b, s in zip(boundaries, schedules[1:]):
            out = fnp.where(c < b, out, s(c - b))
        return out

    return schedule


def warmup_cosine_decay_schedule(
    init_value,
    peak_value,
    warmup_steps: int,
    decay_steps: int,
    end_value: float = 0.0,
    exponent: float = 1.0,
) -> Schedule:
    """Linear warm-up from ``init_value`` to ``peak_value``, then cosine decay to
    ``end_value``; ``decay_steps`` counts the warm-up too (as Optax).

    Args:
      init_value: the value at step 0.
      peak_value: the value at the end of the warm-up.
      warmup_steps: the length of the warm-up.
      decay_steps: the total length of warm-up and decay.
      end_value: the final value.
      exponent: the power of the cosine factor.

    Returns:
      A schedule ``count -> value`` (a float32 scalar array).

    >>> s = warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=10, decay_steps=110)
    >>> [round(float(s(i)), 3) for i in (0, 5, 10, 60, 110)]
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    alpha = 0.0 if peak_value == 0 else end_value / peak_value
    return join_schedules(
        [
            linear_schedule(init_value, peak_value, warmup_steps),
            cosine_decay_schedule(peak_value, decay_steps - warmup_steps, alpha, exponent),
        ],
        [warmup_steps],
    )


def _lin_interp(start, end, pct):
    return (end - start) * pct + start


def _cos_interp(start, end, pct):
    return end + (start - end) / 2.0 * (fnp.cos(math.pi * pct) + 1.0)


_INTERPOLATIONS = {"linear": _lin_interp, "cosine": _cos_interp}


def piecewise_interpolate_schedule(
    interpolate_type: str, init_value, boundaries_and_scales: dict | None = None
) -> Schedule:
    """Interpolate (linearly or along a cosine) between values that are ``init_value`` times
    the product of the scales up to each boundary.

    Args:
      interpolate_type: ``"linear"`` or ``"cosine"``.
      init_value: the value at step 0.
      boundaries_and_scales: a dict ``step -> scale``; the value reached at that step is the
        previous one times the scale (non-negative).

    Returns:
      A schedule ``count -> value`` (a float32 scalar array).

    Raises:
      ValueError: for an unknown ``interpolate_type`` or a negative scale.

    >>> s = piecewise_interpolate_schedule("linear", 1.0, {10: 0.5})
    >>> [round(float(s(i)), 3) for i in (0, 5, 10, 20)]
    [1.0, 0.75, 0.5, 0.5]
    """
    if interpolate_type not in _INTERPOLATIONS:
        raise ValueError("`interpolate_type` must be either 'cosine' or 'linear'")
    interp = _INTERPOLATIONS[interpolate_type]
    items = sorted((boundaries_and_scales or {}).items())
    if any(sc < 0.0 for _, sc in items):
        raise ValueError("`piecewise_interpolate_schedule` expects non-negative scale factors")
    bounds = [0] + [b for b, _ in items]
    values = list(np.cumprod([init_value] + [sc for _, sc in items]))

    def schedule(count):
        c = _f(count)
        out = fnp.zeros((), np.float32)
        for i in range(len(bounds) - 1):
            size = max(bounds[i + 1] - bounds[i], 1)
            inside = fnp.logical_and(bounds[i] <= c, c < bounds[i + 1])
            val = interp(float(values[i]), float(values[i + 1]), (c - bounds[i]) / size)
            out = out + fnp.where(inside, val, 0.0)
        return out + fnp.where(bounds[-1] <= c, float(values[-1]), 0.0)

    return schedule


def _check_onecycle(transition_steps):
    if transition_steps <= 0:
        raise ValueError(
            "A linear onecycle schedule was set with a non-positive `transition_steps`"
        )


def cosine_onecycle_schedule(
    transition_steps: int,
    peak_value,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    """One-cycle (Smith 2018): cosine up from ``peak/div_factor`` to ``peak`` over the first
    ``pct_start`` of the steps, then cosine down to ``peak/(div_factor*final_div_factor)``.

    Args:
      transition_steps: the length of the whole cycle.
      peak_value: the largest value.
      pct_start: the fraction of the steps spent rising.
      div_factor: the initial value is ``peak_value / div_factor``.
      final_div_factor: the final value is the initial value divided by this.

    Returns:
      A schedule ``count -> value`` (a float32 scalar array).

    Raises:
      ValueError: if ``transition_steps`` is not positive.

    >>> s = cosine_onecycle_schedule(100, 1.0)
    >>> round(float(s(0)), 4), round(float(s(30)), 4), float(s(100)) < 1e-5
    (0.04, 1.0, True)
    """
    _check_onecycle(transition_steps)
    return piecewise_interpolate_schedule(
        "cosine",
        peak_value / div_factor,
        {
            int(pct_start * transition_steps): div_factor,
            int(transition_steps): 1.0 / (div_factor * final_div_factor),
        },
    )


one_cycle = cosine_onecycle_schedule


def linear_onecycle_schedule(
    transition_steps: int,
    peak_value,
    pct_start: float = 0.3,
    pct_final: float = 0.85,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    """Linear one-cycle: up to ``peak_value`` at ``pct_start``, back down to
    ``peak/div_factor`` at ``pct_final``, then to ``peak/(div_factor*final_div_factor)``.

    Args:
      transition_steps: the length of the whole cycle.
      peak_value: the largest value.
      pct_start: the fraction of the steps spent rising.
      pct_final: the fraction of the steps at which the value is back to the start.
      div_factor: the initial value is ``peak_value / div_factor``.
      final_div_factor: the final value is the initial value divided by this.

    Returns:
      A schedule ``count -> value`` (a float32 scalar array).

    Raises:
      ValueError: if ``transition_steps`` is not positive.
    """
    _check_onecycle(transition_steps)
    return piecewise_interpolate_schedule(
        "linear",
        peak_value / div_factor,
        {
            int(pct_start * transition_steps): div_factor,
            int(pct_final * transition_steps): 1.0 / div_factor,
            transition_steps: 1.0 / final_div_factor,
        },
    )


def warmup_constant_schedule(init_value, peak_value, warmup_steps: int) -> Schedule:
    """Linear warm-up from ``init_value`` to ``peak_value``, then constant.

    Args:
      init_value: the value at step 0.
      peak_value: the value from ``warmup_steps`` on.
      warmup_steps: the length of the warm-up.

    Returns:
      A schedule ``count -> value``.
    """
    return linear_schedule(init_value, peak_value, warmup_steps)


def warmup_exponential_decay_schedule(
    init_value,
    peak_value,
    warmup_steps: int,
    transition_steps: int,
    decay_rate,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value=None,
) -> Schedule:
    """Linear warm-up to ``peak_value``, then :func:`exponential_decay` from it (restarted
    at step 0 after the warm-up).

    Args:
      init_value: the value at step 0.
      peak_value: the value at the end of the warm-up.
      warmup_steps: the length of the warm-up.
      transition_steps: the decay's ``transition_steps``.
      decay_rate: the decay factor per ``transition_steps``.
      transition_begin: the decay's start, counted after the warm-up.
      staircase: decay in steps.
      end_value: a bound the value does not pass.

    Returns:
      A schedule ``count -> value``.
    """
    return join_schedules(
        [
            linear_schedule(init_value, peak_value, warmup_steps),
            exponential_decay(
                peak_value, transition_steps, decay_rate, transition_begin, staircase, end_value
            ),
        ],
        [warmup_steps],
    )


def sgdr_schedule(cosine_kwargs) -> Schedule:
    """SGDR (Loshchilov & Hutter 2017): warm restarts, one
    :func:`warmup_cosine_decay_schedule` after another.

    Args:
      cosine_kwargs: an iterable of keyword dicts of :func:`warmup_cosine_decay_schedule`
        (each with ``decay_steps``, the length of its cycle).

    Returns:
      A schedule ``count -> value``.

    >>> s = sgdr_schedule([dict(init_value=0.0, peak_value=1.0, warmup_steps=2,
    ...                         decay_steps=10)] * 2)
    >>> [round(float(s(i)), 3) for i in (0, 2, 10, 12)]
    [0.0, 1.0, 0.0, 1.0]
    """
    schedules, boundaries, step = [], [], 0
    for kwargs in cosine_kwargs:
        schedules.append(warmup_cosine_decay_schedule(**kwargs))
        step += kwargs["decay_steps"]
        boundaries.append(step)
    return join_schedules(schedules, boundaries[:-1])
