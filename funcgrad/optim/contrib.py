"""``funcgrad.optim.contrib``: Optax's contributed transformations (``reduce_on_plateau``).

>>> import funcgrad as fg, funcgrad.numpy as fnp
>>> tx = fg.optim.contrib.reduce_on_plateau(factor=0.5, patience=1)
>>> s = tx.init(fnp.zeros(1))
>>> scales = []
>>> for v in (1.0, 1.0, 1.0):
...     u, s = tx.update(fnp.ones(1), s, value=v)
...     scales.append(float(s.scale))
>>> scales
[1.0, 0.5, 0.25]
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp
from funcgrad.optim._base import GradientTransformationExtraArgs, _safe_inc, _tm
from funcgrad.optim.tree_utils import tree_dtype

__all__ = ["ReduceLROnPlateauState", "reduce_on_plateau"]


class ReduceLROnPlateauState(NamedTuple):
    """The state of :func:`reduce_on_plateau`.

    Args:
      scale: the current factor of the updates.
      best_value: the best (averaged) value so far.
      plateau_count: evaluations without improvement.
      cooldown_count: evaluations left in the cooldown.
      count: values accumulated into ``avg_value`` since the last evaluation.
      avg_value: their mean.
    """

    scale: Any
    best_value: Any
    plateau_count: Any
    cooldown_count: Any
    count: Any
    avg_value: Any


def _check(factor, rtol, atol):
    if factor <= 0.0 or factor >= 1.0:
        raise ValueError(f"Factor must be in the range (0, 1), got factor = {factor}.")
    if rtol < 0.0 or atol < 0.0:
        raise ValueError(
            f"Both rtol and atol must be non-negative, got rtol = {rtol} and atol = {atol}."
        )
    if rtol == 0.0 and atol == 0.0:
        raise ValueError(
            f"At least one of rtol or atol must be positive, got rtol = {rtol} and atol = {atol}."
        )
    if rtol > 1.0:
        raise ValueError(f"rtol must be less than or equal to 1.0, got rtol = {rtol}.")


def _evaluate(s, factor, patience, rtol, atol, cooldown, min_scale):
    improved = s.avg_value < (1 - rtol) * s.best_value - atol
    best = fnp.where(improved, s.avg_value.astype(s.best_value.dtype), s.best_value)
    plateau = fnp.where(improved, 0, _safe_inc(s.plateau_count)).astype(np.int32)
    hit = plateau == patience
    cooling = s.cooldown_count > 0
    new_plateau = fnp.where(cooling, 0, fnp.where(hit, 0, plateau)).astype(np.int32)
    reduced = fnp.maximum(fnp.where(hit, s.scale * factor, s.scale), min_scale)
    new_scale = fnp.where(cooling, s.scale, reduced).astype(s.scale.dtype)
    new_cool = fnp.where(cooling, s.cooldown_count - 1, fnp.where(hit, cooldown, 0))
    zero = fnp.zeros((), s.avg_value.dtype)
    return ReduceLROnPlateauState(
        new_scale, best, new_plateau, new_cool.astype(np.int32), fnp.zeros((), np.int32), zero
    )


def reduce_on_plateau(
    factor: float = 0.1,
    patience=10,
    rtol: float = 1e-4,
    atol: float = 0.0,
    cooldown=0,
    accumulation_size=1,
    min_scale=0.0,
) -> GradientTransformationExtraArgs:
    """Scale the updates by a factor that shrinks by ``factor`` when the monitored value
    (``update(..., value=loss)``, averaged over ``accumulation_size`` calls) has not improved
    by ``rtol``/``atol`` for ``patience`` evaluations; then wait ``cooldown`` evaluations.

    Args:
      factor: the reduction factor, in (0, 1).
      patience: evaluations without improvement before a reduction.
      rtol: the relative improvement needed.
      atol: the absolute improvement needed.
      cooldown: evaluations after a reduction during which none happens.
      accumulation_size: the values averaged per evaluation.
      min_scale: the smallest scale.

    Returns:
      A :class:`GradientTransformationExtraArgs` with a :class:`ReduceLROnPlateauState`.

    Raises:
      ValueError: for a ``factor`` outside (0, 1) or invalid tolerances.
    """
    _check(factor, rtol, atol)

    def init(params):
        lo, hi = tree_dtype(params, "lowest"), tree_dtype(params, "highest")
        i0 = fnp.zeros((), np.int32)
        return ReduceLROnPlateauState(
            fnp.ones((), lo), fnp.full((), np.inf, hi), i0, i0, i0, fnp.zeros((), hi)
        )

    def update(updates, state, params=None, *, value, **extra_args):
        n = _safe_inc(state.count)
        avg = (state.count * state.avg_value + fnp.asarray(value).astype(state.avg_value.dtype)) / n
        s = state._replace(avg_value=avg.astype(state.avg_value.dtype), count=n)
        evaluated = _evaluate(s, factor, patience, rtol, atol, cooldown, min_scale)
        s = _tm(lambda e, k: fnp.where(n == accumulation_size, e, k), evaluated, s)
        return _tm(lambda g: s.scale * g, updates), s

    return GradientTransformationExtraArgs(init, update)
