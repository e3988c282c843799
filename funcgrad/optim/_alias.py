"""Optimizers, each one ``chain(...)`` of transformations: Optax's aliases, with Optax's
signatures (argument order included), state structures and update formulas.

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

import numpy as np

from funcgrad.optim import _extras as ex
from funcgrad.optim import _scalers as sc
from funcgrad.optim import _transforms as tr
from funcgrad.optim._base import GradientTransformationExtraArgs, chain, identity
from funcgrad.optim._wrappers import masked

__all__ = [
    "adabelief",
    "adadelta",
    "adafactor",
    "adagrad",
    "adam",
    "adamax",
    "adamaxw",
    "adamw",
    "adan",
    "amsgrad",
    "fromage",
    "lamb",
    "lars",
    "lion",
    "nadam",
    "nadamw",
    "noisy_sgd",
    "novograd",
    "optimistic_adam_v2",
    "optimistic_gradient_descent",
    "polyak_sgd",
    "radam",
    "rmsprop",
    "rprop",
    "sgd",
    "sign_sgd",
    "signum",
    "sm3",
    "yogi",
]

Opt = GradientTransformationExtraArgs


def sgd(learning_rate, momentum=None, nesterov: bool = False, accumulator_dtype=None) -> Opt:
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    ``t <- g + momentum * t``; ``p <- p - lr * t`` (Nesterov: ``p <- p - lr (g + momentum t)``).
    State: ``(TraceState(trace) or EmptyState(), EmptyState())``.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      momentum: the momentum decay; None for plain SGD.
      nesterov: use Nesterov momentum.
      accumulator_dtype: the dtype of the momentum.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    first = identity() if momentum is None else tr.trace(momentum, nesterov, accumulator_dtype)
    return chain(first, tr.scale_by_learning_rate(learning_rate))


def adam(
    learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, mu_dtype=None, *, nesterov=False
) -> Opt:
    """Adam: ``p <- p - lr * m_hat / (sqrt(v_hat + eps_root) + eps)`` with bias-corrected
    moments ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``.

    State: ``(ScaleByAdamState(count, mu, nu), EmptyState())`` (``ScaleByScheduleState`` last
    for a schedule).

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the decay of the first moment ``m``.
      b2: the decay of the second moment ``v``.
      eps: added to the denominator outside the square root.
      eps_root: added to ``v_hat`` inside the square root.
      mu_dtype: the dtype of ``m``.
      nesterov: use Nesterov momentum (NAdam; keyword-only).

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        tr.scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        tr.scale_by_learning_rate(learning_rate),
    )


def nadam(
    learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, mu_dtype=None, *, nesterov=True
) -> Opt:
    """Adam with Nesterov momentum (Dozat 2016): ``adam(..., nesterov=True)``.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the decay of the first moment.
      b2: the decay of the second moment.
      eps: added to the denominator outside the square root.
      eps_root: added inside the square root.
      mu_dtype: the dtype of the first moment.
      nesterov: use Nesterov momentum (keyword-only; True, as Optax).

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return adam(learning_rate, b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov)


def adamw(
    learning_rate,
    b1=0.9,
    b2=0.999,
    eps=1e-8,
    eps_root=0.0,
    mu_dtype=None,
    weight_decay=1e-4,
    mask=None,
    *,
    nesterov: bool = False,
) -> Opt:
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019):
    ``p <- p - lr * (adam_direction + weight_decay * p)``.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the decay of the first moment.
      b2: the decay of the second moment.
      eps: added to the denominator outside the square root.
      eps_root: added inside the square root.
      mu_dtype: the dtype of the first moment.
      weight_decay: the decoupled weight decay rate (or a schedule).
      mask: a pytree of bools (or a function of the params returning one) selecting the
        decayed leaves; None decays all.
      nesterov: use Nesterov momentum (keyword-only).

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        tr.scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        tr.add_decayed_weights(weight_decay, mask),
        tr.scale_by_learning_rate(learning_rate),
    )


def nadamw(
    learning_rate,
    b1=0.9,
    b2=0.999,
    eps=1e-8,
    eps_root=0.0,
    mu_dtype=None,
    weight_decay=1e-4,
    mask=None,
    *,
    nesterov: bool = True,
) -> Opt:
    """AdamW with Nesterov momentum: ``adamw(..., nesterov=True)``.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the decay of the first moment.
      b2: the decay of the second moment.
      eps: added to the denominator outside the square root.
      eps_root: added inside the square root.
      mu_dtype: the dtype of the first moment.
      weight_decay: the decoupled weight decay rate.
      mask: a pytree of bools (or a function of the params) selecting the decayed leaves.
      nesterov: use Nesterov momentum (keyword-only; True, as Optax).

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return adamw(
        learning_rate, b1, b2, eps, eps_root, mu_dtype, weight_decay, mask, nesterov=nesterov
    )


def rmsprop(
    learning_rate,
    decay=0.9,
    eps=1e-8,
    initial_scale=0.0,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    momentum=None,
    nesterov: bool = False,
    bias_correction: bool = False,
) -> Opt:
    """RMSProp: ``v <- decay v + (1-decay) g^2``, ``p <- p - lr g / sqrt(v + eps)`` (centred:
    ``sqrt(v - m^2 + eps)``), optionally followed by momentum.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      decay: the decay of the squared-gradient average ``v`` (and ``m``).
      eps: added inside the square root (outside with ``eps_in_sqrt=False``).
      initial_scale: the initial value of ``v``.
      eps_in_sqrt: where ``eps`` goes.
      centered: subtract the squared mean gradient ``m^2`` (``scale_by_stddev``).
      momentum: the momentum decay applied after scaling; None for none.
      nesterov: use Nesterov momentum.
      bias_correction: debias the averages as Adam does.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    scaler = tr.scale_by_stddev if centered else tr.scale_by_rms
    return chain(
        scaler(decay, eps, initial_scale, eps_in_sqrt, bias_correction),
        tr.scale_by_learning_rate(learning_rate),
        tr.trace(momentum, nesterov) if momentum is not None else identity(),
    )


def adagrad(learning_rate, initial_accumulator_value=0.1, eps=1e-7) -> Opt:
    """AdaGrad: ``s <- s + g^2``, ``p <- p - lr g / sqrt(s + eps)``.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      initial_accumulator_value: the initial value of ``s``.
      eps: added inside the square root.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        tr.scale_by_rss(initial_accumulator_value, eps), tr.scale_by_learning_rate(learning_rate)
    )


def lion(learning_rate, b1=0.9, b2=0.99, mu_dtype=None, weight_decay=1e-3, mask=None) -> Opt:
    """Lion: ``p <- p - lr (sign(b1 m + (1-b1) g) + wd p)``, then ``m <- b2 m + (1-b2) g``.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the interpolation factor of the update direction.
      b2: the decay of the momentum ``m``.
      mu_dtype: the dtype of ``m``.
      weight_decay: the decoupled weight decay rate ``wd``.
      mask: a pytree of bools (or a function of the params returning one) selecting the
        decayed leaves; None decays all.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        tr.scale_by_lion(b1, b2, mu_dtype),
        tr.add_decayed_weights(weight_decay, mask),
        tr.scale_by_learning_rate(learning_rate),
    )


def lamb(
    learning_rate, b1=0.9, b2=0.999, eps=1e-6, eps_root=0.0, weight_decay=0.0, mask=None
) -> Opt:
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
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        tr.scale_by_adam(b1, b2, eps, eps_root),
        tr.add_decayed_weights(weight_decay, mask),
        tr.scale_by_trust_ratio(),
        tr.scale_by_learning_rate(learning_rate),
    )


def adabelief(learning_rate, b1=0.9, b2=0.999, eps=1e-16, eps_root=1e-16, *, nesterov=False) -> Opt:
    """AdaBelief (Zhuang et al. 2020): Adam with the variance of ``g`` around its average.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the decay of the first moment.
      b2: the decay of the belief term.
      eps: added to the denominator outside the square root.
      eps_root: added to the belief term each step.
      nesterov: Nesterov-corrected first moment (keyword-only).

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        sc.scale_by_belief(b1, b2, eps, eps_root, nesterov=nesterov),
        tr.scale_by_learning_rate(learning_rate),
    )


def adadelta(
    learning_rate=None, rho=0.9, eps=1e-6, weight_decay=0.0, weight_decay_mask=None
) -> Opt:
    """AdaDelta (Zeiler 2012), optionally with weight decay added first.

    Args:
      learning_rate: a number, an array, a schedule, or None (a step of 1, descent).
      rho: the decay of both averages.
      eps: added inside both square roots.
      weight_decay: the weight decay rate.
      weight_decay_mask: the leaves decayed (a pytree of bools or a function).

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        tr.add_decayed_weights(weight_decay, mask=weight_decay_mask),
        sc.scale_by_adadelta(rho, eps),
        tr.scale_by_learning_rate(learning_rate),
    )


def adafactor(
    learning_rate=None,
    min_dim_size_to_factor: int = 128,
    decay_rate=0.8,
    decay_offset=0,
    multiply_by_parameter_scale: bool = True,
    clipping_threshold=1.0,
    momentum=None,
    dtype_momentum=np.float32,
    weight_decay_rate=None,
    eps=1e-30,
    factored: bool = True,
    weight_decay_mask=None,
) -> Opt:
    """Adafactor (Shazeer & Stern 2018): factored second moments, block-RMS clipping,
    relative step sizes.

    Args:
      learning_rate: a number, an array, a schedule, or None (no scaling).
      min_dim_size_to_factor: the smallest second-largest dimension that is factored.
      decay_rate: the decay exponent of the second moments.
      decay_offset: the step offset of the decay.
      multiply_by_parameter_scale: scale by the parameters' root mean square.
      clipping_threshold: the block-RMS clipping threshold, or None.
      momentum: an EMA of the updates, or None.
      dtype_momentum: the dtype of that EMA.
      weight_decay_rate: weight decay added last, or None.
      eps: added to the squared gradients.
      factored: factor the second moments when possible.
      weight_decay_mask: the leaves decayed.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    tx = [sc.scale_by_factored_rms(factored, decay_rate, decay_offset, min_dim_size_to_factor, eps)]
    if clipping_threshold is not None:
        tx.append(ex.clip_by_block_rms(clipping_threshold))
    if learning_rate is not None:
        tx.append(tr.scale_by_learning_rate(learning_rate, flip_sign=False))
    if multiply_by_parameter_scale:
        tx.append(sc.scale_by_param_block_rms())
    if momentum is not None:
        tx.append(ex.ema(momentum, debias=False, accumulator_dtype=dtype_momentum))
    if weight_decay_rate is not None:
        tx.append(tr.add_decayed_weights(weight_decay_rate, mask=weight_decay_mask))
    tx.append(tr.scale(-1))
    return chain(*tx)


def adan(
    learning_rate, b1=0.98, b2=0.92, b3=0.99, eps=1e-8, eps_root=1e-8, weight_decay=0.0, mask=None
) -> Opt:
    """Adan (Xie et al. 2022): adaptive Nesterov momentum, with decoupled weight decay.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the decay of the gradient average.
      b2: the decay of the gradient-difference average.
      b3: the decay of the squared average.
      eps: added to the denominator outside the square root.
      eps_root: added inside the square root.
      weight_decay: the decoupled weight decay rate.
      mask: the decayed leaves.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        sc.scale_by_adan(b1, b2, b3, eps, eps_root),
        tr.add_decayed_weights(weight_decay, mask),
        tr.scale_by_learning_rate(learning_rate),
    )


def amsgrad(
    learning_rate,
    b1=0.9,
    b2=0.999,
    eps=1e-8,
    eps_root=0.0,
    mu_dtype=None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
) -> Opt:
    """AMSGrad (Reddi et al. 2018): Adam dividing by the running maximum of ``v_hat``.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the decay of the first moment.
      b2: the decay of the second moment.
      eps: added to the denominator outside the square root.
      eps_root: added inside the square root.
      mu_dtype: the dtype of the first moment.
      bias_correction_mu: debias the first moment.
      bias_correction_nu: debias the second moment.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        sc.scale_by_amsgrad(
            b1, b2, eps, eps_root, mu_dtype, bias_correction_mu, bias_correction_nu
        ),
        tr.scale_by_learning_rate(learning_rate),
    )


def adamax(learning_rate, b1=0.9, b2=0.999, eps=1e-8) -> Opt:
    """AdaMax (Kingma & Ba 2015): Adam with the infinity norm.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the decay of the first moment.
      b2: the decay of the infinity norm.
      eps: added to ``|g|``.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(sc.scale_by_adamax(b1, b2, eps), tr.scale_by_learning_rate(learning_rate))


def adamaxw(learning_rate, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-4, mask=None) -> Opt:
    """AdaMax with decoupled weight decay.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the decay of the first moment.
      b2: the decay of the infinity norm.
      eps: added to ``|g|``.
      weight_decay: the decoupled weight decay rate.
      mask: the decayed leaves.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        sc.scale_by_adamax(b1, b2, eps),
        tr.add_decayed_weights(weight_decay, mask),
        tr.scale_by_learning_rate(learning_rate),
    )


def fromage(learning_rate, min_norm=1e-6) -> Opt:
    """Fromage (Bernstein et al. 2020): trust-ratio steps shrunk by ``1 / sqrt(1 + lr^2)``.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      min_norm: the lower bound of the norms in the trust ratio.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    if not callable(learning_rate):
        mult = 1 / (1 + learning_rate**2) ** 0.5
        return chain(
            tr.scale_by_trust_ratio(min_norm),
            tr.scale_by_learning_rate(learning_rate * mult),
            tr.add_decayed_weights(mult - 1),
        )
    mult_lr = lambda c: 1 / (1 + learning_rate(c) ** 2) ** 0.5  # noqa: E731
    return chain(
        tr.scale_by_trust_ratio(min_norm),
        tr.scale_by_learning_rate(lambda c: mult_lr(c) * learning_rate(c)),
        tr.add_decayed_weights(lambda c: mult_lr(c) - 1),
    )


def lars(
    learning_rate,
    weight_decay=0.0,
    weight_decay_mask=True,
    trust_coefficient=0.001,
    eps=0.0,
    trust_ratio_mask=True,
    momentum=0.9,
    nesterov: bool = False,
) -> Opt:
    """LARS (You et al. 2017): weight decay, the layer-wise trust ratio, then momentum.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      weight_decay: the weight decay rate.
      weight_decay_mask: the decayed leaves (True: all).
      trust_coefficient: multiplies the trust ratio.
      eps: added to the update norm.
      trust_ratio_mask: the leaves given a trust ratio (True: all).
      momentum: the momentum decay.
      nesterov: use Nesterov momentum.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        tr.add_decayed_weights(weight_decay, mask=weight_decay_mask),
        masked(
            tr.scale_by_trust_ratio(trust_coefficient=trust_coefficient, eps=eps), trust_ratio_mask
        ),
        tr.scale_by_learning_rate(learning_rate),
        tr.trace(momentum, nesterov),
    )


def noisy_sgd(learning_rate, eta=0.01, gamma=0.55, key=None, *, seed=None) -> Opt:
    """SGD with annealed Gaussian gradient noise (Neelakantan et al. 2015).

    The noise comes from funcgrad's PRNG (see :func:`add_noise`).

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      eta: the initial noise variance.
      gamma: the variance's decay exponent.
      key: a PRNG key or an int seed.
      seed: Optax's older name of an int ``key``.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(ex.add_noise(eta, gamma, key, seed=seed), tr.scale_by_learning_rate(learning_rate))


def sign_sgd(learning_rate) -> Opt:
    """signSGD (Bernstein et al. 2018): ``p <- p - lr sign(g)``.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(sc.scale_by_sign(), tr.scale_by_learning_rate(learning_rate))


def signum(learning_rate, beta=0.9, accumulator_dtype=None) -> Opt:
    """Signum: the sign of an (undebiased) EMA of the gradients.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      beta: the EMA decay.
      accumulator_dtype: the dtype of the EMA.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        ex.ema(beta, debias=False, accumulator_dtype=accumulator_dtype),
        sc.scale_by_sign(),
        tr.scale_by_learning_rate(learning_rate),
    )


def novograd(learning_rate, b1=0.9, b2=0.25, eps=1e-6, eps_root=0.0, weight_decay=0.0) -> Opt:
    """NovoGrad (Ginsburg et al. 2019): layer-wise normalised gradients with momentum.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the momentum decay.
      b2: the decay of the squared norms.
      eps: added to the denominator outside the square root.
      eps_root: added inside the square root.
      weight_decay: the weight decay rate.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        sc.scale_by_novograd(b1, b2, eps, eps_root, weight_decay),
        tr.scale_by_learning_rate(learning_rate),
    )


def optimistic_gradient_descent(learning_rate, alpha=1.0, beta=1.0) -> Opt:
    """Optimistic gradient descent: ``p <- p - lr ((alpha + beta) g_t - beta g_{t-1})``.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      alpha: the weight of the current gradient.
      beta: the weight of the correction.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        sc.scale_by_optimistic_gradient(alpha, beta), tr.scale_by_learning_rate(learning_rate)
    )


def optimistic_adam_v2(
    learning_rate,
    *,
    alpha=1.0,
    beta=1.0,
    b1=0.9,
    b2=0.999,
    eps=1e-8,
    eps_root=0.0,
    mu_dtype=None,
    nesterov: bool = True,
) -> Opt:
    """Optimistic Adam: the optimistic correction applied to Adam's direction.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      alpha: the weight of the current direction.
      beta: the weight of the correction.
      b1: the decay of the first moment.
      b2: the decay of the second moment.
      eps: added to the denominator outside the square root.
      eps_root: added inside the square root.
      mu_dtype: the dtype of the first moment.
      nesterov: Nesterov-corrected first moment.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        tr.scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        sc.scale_by_optimistic_gradient(alpha, beta),
        tr.scale_by_learning_rate(learning_rate),
    )


def radam(
    learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, threshold=5.0, *, nesterov=False
) -> Opt:
    """Rectified Adam (Liu et al. 2020).

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the decay of the first moment.
      b2: the decay of the second moment.
      eps: added to the denominator outside the square root.
      eps_root: added inside the square root.
      threshold: the ``rho`` from which the adaptive step is used.
      nesterov: Nesterov-corrected first moment (keyword-only).

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        sc.scale_by_radam(b1, b2, eps, eps_root, threshold, nesterov=nesterov),
        tr.scale_by_learning_rate(learning_rate),
    )


def rprop(
    learning_rate, eta_minus=0.5, eta_plus=1.2, min_step_size=1e-6, max_step_size=50.0
) -> Opt:
    """Rprop (Riedmiller & Braun 1993): sign-based per-element step sizes.

    Args:
      learning_rate: the initial step size (a number).
      eta_minus: the shrink factor.
      eta_plus: the growth factor.
      min_step_size: the smallest step size.
      max_step_size: the largest step size.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        sc.scale_by_rprop(learning_rate, eta_minus, eta_plus, min_step_size, max_step_size),
        tr.scale(-1.0),
    )


def sm3(learning_rate, momentum=0.9) -> Opt:
    """SM3 (Anil et al. 2019): memory-efficient adaptive steps, then momentum.

    Args:
      learning_rate: a number.
      momentum: the momentum decay.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(sc.scale_by_sm3(momentum), tr.scale(-learning_rate))


def yogi(learning_rate, b1=0.9, b2=0.999, eps=1e-3) -> Opt:
    """Yogi (Zaheer et al. 2018): Adam with an additive second-moment update.

    Args:
      learning_rate: a number, an array, or a schedule ``count -> lr``.
      b1: the decay of the first moment.
      b2: the rate of the second-moment update.
      eps: added to the denominator outside the square root.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(sc.scale_by_yogi(b1, b2, eps), tr.scale_by_learning_rate(learning_rate))


def polyak_sgd(max_learning_rate=1.0, scaling=1.0, f_min=0.0, eps=0.0, variant="sps") -> Opt:
    """SGD with the Polyak step size (Loizou et al. 2021); ``update`` needs ``value=f(x)``.

    Args:
      max_learning_rate: the largest step size.
      scaling: a number or schedule multiplying the step.
      f_min: a lower bound of the objective.
      eps: added to the squared gradient norm.
      variant: ``"sps"`` or ``"sps+"``.

    Returns:
      A :class:`GradientTransformationExtraArgs` (a ``chain``).
    """
    return chain(
        sgd(learning_rate=scaling),
        sc.scale_by_polyak(
            f_min=f_min, max_learning_rate=max_learning_rate, eps=eps, variant=variant
        ),
    )
