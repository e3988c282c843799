"""``funcgrad.nn``: modules as pytrees (Equinox's design), initialisers, losses and activations.

A module is a frozen dataclass whose array fields are its parameters; it takes ONE example,
needs an explicit ``key`` to build, and is batched with ``fg.vmap``. See docs/modularity.md.

>>> import funcgrad as fg, funcgrad.numpy as fnp
>>> mlp = fg.nn.MLP(4, 2, width_size=8, depth=1, key=fg.random.key(0))
>>> fg.vmap(mlp)(fnp.ones((3, 4))).shape
(3, 2)
"""

# The activations: every name in funcgrad._src.nn_functions.__all__ (tests/test_nn.py checks).
from funcgrad._src.nn_functions import (  # noqa: F401
    celu,
    elu,
    gelu,
    glu,
    hard_sigmoid,
    hard_silu,
    hard_swish,
    hard_tanh,
    identity,
    leaky_relu,
    log1mexp,
    log_sigmoid,
    log_softmax,
    logsumexp,
    mish,
    normalize,
    one_hot,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    soft_sign,
    softmax,
    softplus,
    sparse_plus,
    sparse_sigmoid,
    squareplus,
    standardize,
    swish,
    tanh,
)
from funcgrad.nn import initializers, losses  # noqa: F401
from funcgrad.nn._attention import (  # noqa: F401
    MultiheadAttention,
    dot_product_attention,
    make_causal_mask,
)
from funcgrad.nn._conv import (  # noqa: F401
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    Conv,
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose,
    ConvTranspose1d,
    ConvTranspose2d,
    MaxPool1d,
    MaxPool2d,
)
from funcgrad.nn._layers import (  # noqa: F401
    MLP,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    Lambda,
    Linear,
    Residual,
    Sequential,
)
from funcgrad.nn._module import (  # noqa: F401
    Module,
    combine,
    count_params,
    field,
    filter,
    inference_mode,
    is_array,
    is_inexact_array,
    partition,
    static_field,
    train_mode,
    tree_at,
    tree_pformat,
)
from funcgrad.nn._norm import BatchNorm, BatchNormState, GroupNorm, LayerNorm, RMSNorm  # noqa: F401
from funcgrad.nn._recurrent import RNN, GRUCell, LSTMCell, RNNCell  # noqa: F401
from funcgrad.nn._resnet import BasicBlock, ResNet  # noqa: F401
