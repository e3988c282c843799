"""``funcgrad.optim``: Optax-style optimizers, pure ``(init, update)`` pairs over pytrees.

>>> import funcgrad as fg, funcgrad.numpy as fnp
>>> opt = fg.optim.chain(fg.optim.clip_by_global_norm(1.0), fg.optim.adamw(1e-3))
>>> params = {"w": fnp.ones((2, 2))}
>>> state = opt.init(params)
>>> updates, state = opt.update({"w": fnp.ones((2, 2))}, state, params)
>>> params = fg.optim.apply_updates(params, updates)
"""

from funcgrad.optim import schedules  # noqa: F401
from funcgrad.optim._alias import (  # noqa: F401
    adagrad,
    adam,
    adamw,
    lamb,
    lion,
    nadam,
    rmsprop,
    sgd,
)
from funcgrad.optim._base import (  # noqa: F401
    ChainState,
    EmptyState,
    GradientTransformation,
    apply_updates,
    chain,
    identity,
    set_to_zero,
    stateless,
)
from funcgrad.optim._transforms import (  # noqa: F401
    ScaleByAdamState,
    ScaleByLionState,
    ScaleByRmsState,
    ScaleByRssState,
    ScaleByRStdDevState,
    ScaleByScheduleState,
    TraceState,
    add_decayed_weights,
    clip,
    clip_by_global_norm,
    global_norm,
    scale,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_lion,
    scale_by_rms,
    scale_by_rss,
    scale_by_schedule,
    scale_by_stddev,
    scale_by_trust_ratio,
    trace,
)
from funcgrad.optim._wrappers import (  # noqa: F401
    ApplyIfFiniteState,
    InjectHyperparamsState,
    MaskedState,
    MultiSteps,
    MultiStepsState,
    MultiTransformState,
    apply_if_finite,
    inject_hyperparams,
    masked,
    multi_transform,
)
from funcgrad.optim.schedules import (  # noqa: F401
    constant_schedule,
    cosine_decay_schedule,
    cosine_onecycle_schedule,
    exponential_decay,
    join_schedules,
    linear_schedule,
    one_cycle,
    piecewise_constant_schedule,
    polynomial_schedule,
    warmup_cosine_decay_schedule,
)
