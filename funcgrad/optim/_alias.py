"""Optimizers, each one ``chain(...)`` of transformations (Optax's aliases).

``learning_rate`` is a number, an array, or a schedule ``count -> lr``.

>>> import funcgrad as fg, funcgrad.numpy as fnp
>>> opt = fg.optim.adam(1e-1)
>>> params = fnp.array([1.0, -2.0])
>>> state = opt.init(params)
>>> for _ in range(100):
...     grads = fg.grad(lambda p: fnp.sum(p ** 2))(params)
...     updates, state = opt.update(grads, state, params)
...     params = fg.optim.apply_updates(params, updates)
>>> bool(fnp.all(fnp.abs(params) < 0.1))
True
"""

from __future__ import annotations

from funcgrad.optim._base import GradientTransformation, chain, identity
from funcgrad.optim._transforms import (
    add_decayed_weights,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_lion,
    scale_by_rms,
    scale_by_rss,
    scale_by_stddev,
    scale_by_trust_ratio,
    trace,
)

__all__ = ["adagrad", "adam", "adamw", "lamb", "lion", "nadam", "rmsprop", "sgd"]


def sgd(learning_rate, momentum=None, nesterov: bool = False) -> GradientTransformation:
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    ``t <- momentum * t + g``; ``p <- p - lr * t`` (Nesterov: ``p <- p - lr (momentum t + g)``).

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      momentum: the momentum decay; None for plain SGD.
      nesterov: use Nesterov momentum.

    Returns:
      A :class:`GradientTransformation` (a ``chain``).
    """
    return chain(
        trace(momentum, nesterov) if momentum is not None else identity(),
        scale_by_learning_rate(learning_rate),
    )


def adam(
    learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, nesterov: bool = False
) -> GradientTransformation:
    """Adam: ``p <- p - lr * m_hat / (sqrt(v_hat + eps_root) + eps)`` with bias-corrected
    moments ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the decay of the first moment ``m``.
      b2: the decay of the second moment ``v``.
      eps: added to the denominator outside the square root.
      eps_root: added to ``v_hat`` inside the square root.
      nesterov: use Nesterov momentum (NAdam).

    Returns:
      A :class:`GradientTransformation` (a ``chain``).
    """
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, nesterov), scale_by_learning_rate(learning_rate)
    )


def nadam(learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0) -> GradientTransformation:
    """Adam with Nesterov momentum (Dozat 2016): ``adam(..., nesterov=True)``.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the decay of the first moment.
      b2: the decay of the second moment.
      eps: added to the denominator outside the square root.
      eps_root: added inside the square root.

    Returns:
      A :class:`GradientTransformation` (a ``chain``).
    """
    return adam(learning_rate, b1, b2, eps, eps_root, nesterov=True)


def adamw(
    learning_rate,
    b1=0.9,
    b2=0.999,
    eps=1e-8,
    eps_root=0.0,
    weight_decay=1e-4,
    mask=None,
    nesterov: bool = False,
) -> GradientTransformation:
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019):
    ``p <- p - lr * (adam_direction + weight_decay * p)``.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the decay of the first moment.
      b2: the decay of the second moment.
      eps: added to the denominator outside the square root.
      eps_root: added inside the square root.
      weight_decay: the decoupled weight decay rate.
      mask: a pytree of bools (or a function of the params returning one) selecting the
        decayed leaves; None decays all.
      nesterov: use Nesterov momentum.

    Returns:
      A :class:`GradientTransformation` (a ``chain``).
    """
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, nesterov),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )


def rmsprop(
    learning_rate,
    decay=0.9,
    eps=1e-8,
    initial_scale=0.0,
    centered: bool = False,
    momentum=None,
    nesterov: bool = False,
) -> GradientTransformation:
    """RMSProp: ``v <- decay v + (1-decay) g^2``, ``p <- p - lr g / sqrt(v + eps)`` (centred:
    ``sqrt(v - m^2 + eps)``), optionally followed by momentum.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      decay: the decay of the squared-gradient average ``v`` (and ``m``).
      eps: added inside the square root.
      initial_scale: the initial value of ``v``.
      centered: subtract the squared mean gradient ``m^2`` (``scale_by_stddev``).
      momentum: the momentum decay applied after scaling; None for none.
      nesterov: use Nesterov momentum.

    Returns:
      A :class:`GradientTransformation` (a ``chain``).
    """
    scaler = scale_by_stddev if centered else scale_by_rms
    return chain(
        scaler(decay, eps, initial_scale),
        scale_by_learning_rate(learning_rate),
        trace(momentum, nesterov) if momentum is not None else identity(),
    )


def adagrad(learning_rate, initial_accumulator_value=0.1, eps=1e-7) -> GradientTransformation:
    """AdaGrad: ``s <- s + g^2``, ``p <- p - lr g / sqrt(s + eps)``.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      initial_accumulator_value: the initial value of ``s``.
      eps: added inside the square root.

    Returns:
      A :class:`GradientTransformation` (a ``chain``).
    """
    return chain(
        scale_by_rss(initial_accumulator_value, eps), scale_by_learning_rate(learning_rate)
    )


def lion(learning_rate, b1=0.9, b2=0.99, weight_decay=1e-3, mask=None) -> GradientTransformation:
    """Lion: ``p <- p - lr (sign(b1 m + (1-b1) g) + wd p)``, then ``m <- b2 m + (1-b2) g``.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the interpolation factor of the update direction.
      b2: the decay of the momentum ``m``.
      weight_decay: the decoupled weight decay rate ``wd``.
      mask: a pytree of bools (or a function of the params returning one) selecting the
        decayed leaves; None decays all.

    Returns:
      A :class:`GradientTransformation` (a ``chain``).
    """
    return chain(
        scale_by_lion(b1, b2),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )


def lamb(
    learning_rate, b1=0.9, b2=0.999, eps=1e-6, eps_root=0.0, weight_decay=0.0, mask=None
) -> GradientTransformation:
    """LAMB (You et al. 2020): the Adam direction plus weight decay, rescaled per leaf by the
    trust ratio ``||p|| / ||u||``, times ``-lr``.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the decay of the first moment.
      b2: the decay of the second moment.
      eps: added to the Adam denominator outside the square root.
      eps_root: added inside the square root.
      weight_decay: the weight decay rate (added before the trust ratio).
      mask: a pytree of bools (or a function of the params returning one) selecting the
        decayed leaves; None decays all.

    Returns:
      A :class:`GradientTransformation` (a ``chain``).
    """
    return chain(
        scale_by_adam(b1, b2, eps, eps_root),
        add_decayed_weights(weight_decay, mask),
        scale_by_trust_ratio(),
        scale_by_learning_rate(learning_rate),
    )
