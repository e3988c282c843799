"""Writes docs/compatibility.md: JAX, Optax and Equinox names with funcgrad's status.

The name lists below are hand-kept (the commonly used public API of each library); the
status is read from the code: a name is "supported" when it resolves (``getattr``) in
funcgrad's namespace for it, "missing" when it does not, and "differs" when it resolves but
is in ``DIFFERS`` (a known, intended difference with a one-line reason), is renamed, or lacks
parameters that the JAX function has (``PARAMS``, checked with ``inspect.signature``).

Run `python .ci/gen_compatibility.py` after changing the public API or these lists;
tests/test_compatibility.py fails when the page is out of date or a ``DIFFERS`` entry names
something funcgrad does not have.
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import sys
from typing import NamedTuple

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "compatibility.md"


class Section(NamedTuple):
    library: str  # the JAX-ecosystem module the names come from
    title: str
    namespaces: tuple[str, ...]  # where funcgrad keeps them, searched in order
    names: str  # whitespace-separated; "jax_name=funcgrad_name" where funcgrad renames it


SECTIONS = [
    Section(
        "jax",
        "`jax`: transformations and core",
        ("funcgrad",),
        """
        grad value_and_grad jit vmap pmap jvp vjp linearize linear_transpose jacfwd jacrev
        jacobian hessian make_jaxpr eval_shape ShapeDtypeStruct checkpoint remat custom_jvp
        custom_vjp closure_convert pure_callback named_call named_scope disable_jit
        ensure_compile_time_eval clear_caches block_until_ready device_put device_get devices
        local_devices device_count local_device_count default_backend process_index
        process_count Array Device typeof config debug.print debug.callback debug.breakpoint
        print_environment_info make_mesh shard_map
        """,
    ),
    Section(
        "jax",
        "`jax.tree` and `jax.tree_util`: pytrees",
        ("funcgrad",),
        """
        tree.map tree.leaves tree.structure tree.flatten tree.unflatten tree.reduce tree.all
        tree.map_with_path tree.flatten_with_path tree.leaves_with_path tree.transpose
        tree.broadcast tree_util.tree_map tree_util.tree_leaves tree_util.tree_structure
        tree_util.tree_flatten tree_util.tree_unflatten tree_util.tree_reduce
        tree_util.tree_all tree_util.tree_map_with_path tree_util.tree_flatten_with_path
        tree_util.tree_leaves_with_path tree_util.tree_transpose
        tree_util.register_pytree_node tree_util.register_pytree_node_class
        tree_util.register_pytree_with_keys tree_util.register_dataclass
        tree_util.register_static tree_util.Partial tree_util.PyTreeDef tree_util.keystr
        tree_util.DictKey tree_util.GetAttrKey tree_util.SequenceKey
        tree_util.FlattenedIndexKey tree_util.all_leaves tree_util.treedef_is_leaf
        """,
    ),
    Section(
        "jax.numpy",
        "`jax.numpy`",
        ("funcgrad.numpy",),
        """
        abs absolute add all allclose amax amin any append arange arccos arccosh arcsin
        arcsinh arctan arctan2 arctanh argmax argmin argpartition argsort argwhere around
        array array_equal array_equiv asarray astype atleast_1d atleast_2d atleast_3d
        average bincount bitwise_and bitwise_not bitwise_or bitwise_xor block
        broadcast_arrays broadcast_shapes broadcast_to c_ can_cast cbrt ceil choose clip
        column_stack concat concatenate conj conjugate convolve copy copysign corrcoef
        correlate cos cosh count_nonzero cov cross cumprod cumsum cumulative_sum deg2rad
        degrees delete diag diag_indices diagflat diagonal diff digitize divide divmod dot
        dsplit dstack ediff1d einsum empty empty_like equal exp exp2 expand_dims expm1
        extract eye fabs fill_diagonal flatnonzero flip fliplr flipud float_power floor
        floor_divide fmax fmin fmod frexp from_dlpack frombuffer fromfunction full
        full_like gcd geomspace gradient greater greater_equal heaviside histogram
        histogram2d hsplit hstack hypot i0 identity imag indices inner insert interp
        intersect1d invert isclose iscomplex isdtype isfinite isin isinf isnan isneginf
        isposinf isreal isscalar issubdtype ix_ kron lcm ldexp left_shift less less_equal
        lexsort linspace log log10 log1p log2 logaddexp logaddexp2 logical_and
        logical_not logical_or logical_xor logspace matmul matrix_transpose matvec max
        maximum mean median meshgrid mgrid min minimum mod modf moveaxis multiply
        nan_to_num nanargmax nanargmin nancumprod nancumsum nanmax nanmean nanmedian nanmin
        nanpercentile nanprod nanquantile nanstd nansum nanvar ndim negative nextafter
        nonzero not_equal ogrid ones ones_like outer packbits pad partition percentile
        permute_dims piecewise place poly polyadd polyder polyfit polyint polymul polysub
        polyval positive pow power prod ptp put put_along_axis quantile r_ rad2deg
        radians ravel ravel_multi_index real reciprocal remainder repeat reshape resize
        right_shift rint roll rollaxis roots rot90 round s_ searchsorted select
        setdiff1d setxor1d shape sign signbit sin sinc sinh size sort sort_complex split
        sqrt square squeeze stack std subtract sum swapaxes take take_along_axis tan tanh
        tensordot tile trace transpose trapezoid tri tril tril_indices triu triu_indices
        trim_zeros true_divide trunc union1d unique unique_all unique_counts
        unique_inverse unique_values unpackbits unravel_index unstack unwrap vander var
        vdot vecdot vectorize vsplit vstack where zeros zeros_like
        bool_ int8 int16 int32 int64 uint8 uint16 uint32 uint64 float16 bfloat16 float32
        float64 complex64 complex128 float0 dtype finfo iinfo promote_types result_type
        ndarray e pi inf nan newaxis euler_gamma
        """,
    ),
    Section(
        "jax.numpy.linalg",
        "`jax.numpy.linalg`",
        ("funcgrad.numpy.linalg",),
        """
        cholesky cond cross det diagonal eig eigh eigvals eigvalsh inv lstsq matmul
        matrix_norm matrix_power matrix_rank matrix_transpose multi_dot norm outer pinv qr
        slogdet solve svd svdvals tensordot tensorinv tensorsolve trace vecdot vector_norm
        """,
    ),
    Section(
        "jax.nn",
        "`jax.nn`",
        ("funcgrad.nn",),
        """
        celu dot_product_attention elu gelu glu hard_sigmoid hard_silu hard_swish hard_tanh
        leaky_relu log_sigmoid log_softmax logsumexp mish one_hot relu relu6 selu sigmoid
        silu soft_sign softmax softplus sparse_plus sparse_sigmoid squareplus standardize
        swish tanh identity
        """,
    ),
    Section(
        "jax.nn.initializers",
        "`jax.nn.initializers`",
        ("funcgrad.nn.initializers",),
        """
        constant delta_orthogonal glorot_normal glorot_uniform he_normal he_uniform
        kaiming_normal kaiming_uniform lecun_normal lecun_uniform normal ones orthogonal
        truncated_normal uniform variance_scaling xavier_normal xavier_uniform zeros
        """,
    ),
    Section(
        "jax.lax",
        "`jax.lax`",
        ("funcgrad.lax",),
        """
        abs acos add all_gather argmax argmin asin associative_scan atan atan2
        axis_index batch_matmul bitcast_convert_type broadcast broadcast_in_dim
        broadcasted_iota cbrt ceil clamp complex concatenate cond conj conv
        conv_dimension_numbers conv_general_dilated conv_transpose
        conv_with_general_padding convert_element_type cos cosh cumlogsumexp cummax cummin
        cumprod cumsum custom_linear_solve custom_root digamma div dot dot_general
        dynamic_index_in_dim dynamic_slice dynamic_slice_in_dim dynamic_update_index_in_dim
        dynamic_update_slice dynamic_update_slice_in_dim eq erf erf_inv erfc exp exp2
        expand_dims expm1 floor fori_loop full full_like gather ge gt igamma imag
        index_in_dim integer_pow iota is_finite le lgamma log log1p logistic lt map max min
        mul ne neg nextafter optimization_barrier pad pmean polygamma population_count pow
        ppermute psum real reduce reduce_max reduce_min reduce_precision reduce_prod
        reduce_sum reduce_window rem reshape rev round rsqrt scan scatter scatter_add
        scatter_max scatter_min scatter_mul select select_n shift_left
        shift_right_arithmetic shift_right_logical sign sin sinh slice slice_in_dim sort
        sort_key_val sqrt square squeeze stop_gradient sub switch tan tanh top_k transpose
        while_loop zeta Precision
        """,
    ),
    Section(
        "jax.random",
        "`jax.random`",
        ("funcgrad.random",),
        """
        PRNGKey key key_data wrap_key_data split fold_in clone bernoulli beta binomial
        bits categorical cauchy chisquare choice dirichlet double_sided_maxwell exponential
        f gamma generalized_normal geometric gumbel laplace loggamma logistic lognormal
        maxwell multivariate_normal normal orthogonal pareto permutation poisson
        rademacher randint rayleigh t triangular truncated_normal uniform wald weibull_min
        ball key_impl multinomial
        """,
    ),
    Section(
        "jax.scipy.special",
        "`jax.scipy.special`",
        ("funcgrad.scipy.special",),
        """
        bernoulli beta betainc betaln digamma entr erf erfc erfinv exp1 expi expit expn
        factorial gamma gammainc gammaincc gammaln gammasgn i0 i0e i1 i1e kl_div log_ndtr
        log_softmax logit logsumexp multigammaln ndtr ndtri poch polygamma rel_entr
        softmax spence xlog1py xlogy zeta
        """,
    ),
    Section(
        "optax",
        "Optax: optimizers, transformations, schedules",
        ("funcgrad.optim",),
        """
        adabelief adadelta adafactor adagrad adam adamax adamaxw adamw adan amsgrad fromage
        lamb lars lbfgs lion nadam nadamw noisy_sgd novograd optimistic_gradient_descent
        optimistic_adam_v2 polyak_sgd radam rmsprop rprop sgd sign_sgd signum sm3 yogi
        lookahead apply_every skip_not_finite skip_large_updates partition named_chain
        scale_by_backtracking_linesearch scale_by_zoom_linesearch value_and_grad_from_state
        scale_by_lbfgs scale_by_polyak scale_by_factored_rms contrib.reduce_on_plateau
        tree_utils.tree_get tree_utils.tree_set tree_utils.tree_map_params
        tree_utils.tree_add tree_utils.tree_scale tree_utils.tree_norm
        tree_utils.tree_zeros_like losses.softmax_cross_entropy
        GradientTransformation GradientTransformationExtraArgs EmptyState OptState
        apply_updates chain identity set_to_zero stateless stateless_with_tree_map
        inject_hyperparams masked multi_transform MultiSteps apply_if_finite clip
        clip_by_global_norm clip_by_block_rms adaptive_grad_clip global_norm scale
        scale_by_adam scale_by_amsgrad scale_by_belief scale_by_learning_rate scale_by_lion
        scale_by_radam scale_by_rms scale_by_rss scale_by_schedule scale_by_stddev
        scale_by_trust_ratio add_decayed_weights add_noise trace ema centralize zero_nans
        keep_params_nonnegative incremental_update periodic_update safe_norm
        ScaleByAdamState TraceState constant_schedule cosine_decay_schedule
        cosine_onecycle_schedule exponential_decay join_schedules linear_schedule
        linear_onecycle_schedule piecewise_constant_schedule
        piecewise_interpolate_schedule polynomial_schedule sgdr_schedule
        warmup_cosine_decay_schedule warmup_exponential_decay_schedule
        """,
    ),
    Section(
        "optax.losses",
        "Optax losses (`optax.losses`)",
        ("funcgrad.optim.losses",),
        """
        softmax_cross_entropy softmax_cross_entropy_with_integer_labels
        safe_softmax_cross_entropy sigmoid_binary_cross_entropy sigmoid_focal_loss
        poly_loss_cross_entropy l2_loss squared_error huber_loss log_cosh cosine_distance
        cosine_similarity hinge_loss multiclass_hinge_loss perceptron_loss
        multiclass_perceptron_loss sparsemax_loss multiclass_sparsemax_loss kl_divergence
        kl_divergence_with_log_targets generalized_kl_divergence convex_kl_divergence
        smooth_labels ctc_loss ctc_loss_with_forward_probs ntxent triplet_margin_loss
        ranking_softmax_loss dice_loss multiclass_generalized_dice_loss binary_dice_loss
        make_fenchel_young_loss
        """,
    ),
    Section(
        "equinox",
        "Equinox (`equinox`)",
        ("funcgrad.nn",),
        """
        Module field static_field filter_jit filter_grad filter_value_and_grad filter_vmap
        filter_pmap filter_eval_shape filter_checkpoint filter_custom_jvp filter_custom_vjp
        filter_closure_convert partition combine filter is_array is_array_like
        is_inexact_array is_inexact_array_like tree_at tree_equal tree_pformat tree_pprint
        tree_serialise_leaves tree_deserialise_leaves apply_updates nondifferentiable
        error_if branched_error_if Partial AbstractVar Enumeration clear_caches
        """,
    ),
    Section(
        "equinox.nn",
        "Equinox layers (`equinox.nn`)",
        ("funcgrad.nn",),
        """
        Linear Identity MLP Sequential Lambda Conv Conv1d Conv2d Conv3d ConvTranspose
        ConvTranspose1d ConvTranspose2d ConvTranspose3d Dropout Embedding LayerNorm
        GroupNorm RMSNorm BatchNorm State StateIndex make_with_state MultiheadAttention
        RotaryPositionalEmbedding GRUCell LSTMCell MaxPool1d MaxPool2d MaxPool3d AvgPool1d
        AvgPool2d AvgPool3d AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveMaxPool2d Pool
        PRelu SpectralNorm WeightNorm Shared inference_mode
        """,
    ),
]

# Known, intended differences of names funcgrad has: the one-line reason is the note.
DIFFERS = {
    "jax.lax.conv_general_dilated": "`batch_group_count` must be 1",
    "jax.numpy.reshape": "`order='C'` only (JAX also has `'F'`)",
    "jax.numpy.pad": "modes constant, edge, reflect, symmetric, wrap (no linear_ramp, "
    "maximum, mean, median, minimum, empty)",
    "jax.numpy.unique": "with `size=`, values only (no `return_index`/`inverse`/`counts`)",
    "jax.numpy.r_": "no `'r'`/`'c'` matrix directives",
    "jax.numpy.c_": "no `'r'`/`'c'` matrix directives",
    "jax.numpy.linalg.det": "gradient at exactly singular matrices is not finite (JAX uses "
    "a cofactor expansion there)",
    "jax.numpy.linalg.multi_dot": "multiplies left to right (JAX picks the cheapest order)",
    "equinox.nn.BatchNorm": "also accepts `axis_name=None`: then it is called outside `vmap` "
    "on the whole batch (funcgrad's extension)",
}

# Parameters of the JAX function (as in its current documentation, deprecated ones left
# out) that matter to users: those funcgrad's signature lacks are listed as a difference.
PARAMS = {
    "jax.jit": "static_argnums static_argnames donate_argnums donate_argnames in_shardings "
    "out_shardings keep_unused device backend inline compiler_options",
    "jax.vmap": "in_axes out_axes axis_name axis_size spmd_axis_name",
    "jax.grad": "argnums has_aux holomorphic allow_int",
    "jax.value_and_grad": "argnums has_aux holomorphic allow_int",
    "jax.jacrev": "argnums has_aux holomorphic allow_int",
    "jax.jacfwd": "argnums has_aux holomorphic",
    "jax.hessian": "argnums has_aux holomorphic",
    "jax.vjp": "has_aux",
    "jax.jvp": "has_aux",
    "jax.linearize": "has_aux",
    "jax.checkpoint": "prevent_cse policy static_argnums",
    "jax.make_jaxpr": "static_argnums return_shape",
    "jax.numpy.reshape": "order copy",
}


class Row(NamedTuple):
    jax_name: str
    funcgrad_name: str
    status: str  # "supported", "differs" or "missing"
    note: str


def resolve(namespaces, name):
    """(qualified name, object) of ``name`` in the first namespace that has it, or Nones.
    Modules are not API names here (a stray ``import numpy as np`` is not ``np``)."""
    for ns in namespaces:
        obj = importlib.import_module(ns)
        try:
            for part in name.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        if not inspect.ismodule(obj):
            return f"{ns}.{name}", obj
    return None, None


def missing_params(jax_name: str, obj) -> list[str]:
    wanted = PARAMS.get(jax_name, "").split()
    if not wanted:
        return []
    try:
        have = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return []
    return [p for p in wanted if p not in have]


def row(section: Section, entry: str) -> Row:
    jax_part, _, fg_part = entry.partition("=")
    jax_name = f"{section.library}.{jax_part}"
    qualified, obj = resolve(section.namespaces, fg_part or jax_part)
    if qualified is None:
        if jax_name in DIFFERS:
            raise LookupError(f"DIFFERS lists {jax_name}, which funcgrad does not have")
        return Row(jax_name, "", "missing", "")
    notes = [DIFFERS[jax_name]] if jax_name in DIFFERS else []
    absent = missing_params(jax_name, obj)
    if absent:
        notes.append("no " + ", ".join(f"`{p}`" for p in absent))
    if fg_part and jax_name not in DIFFERS:
        notes.append(f"named `{fg_part}`")
    return Row(jax_name, qualified, "differs" if notes else "supported", "; ".join(notes))


def rows(section: Section) -> list[Row]:
    return [row(section, entry) for entry in sorted(section.names.split(), key=str.lower)]


def counts(rs: list[Row]) -> list[int]:
    return [sum(r.status == status for r in rs) for status in ("supported", "differs", "missing")]


def summary(tables) -> list[str]:
    lines = ["| library | supported | differs | missing |", "| --- | ---: | ---: | ---: |"]
    for section, rs in tables:
        lines.append(f"| {section.title} | " + " | ".join(map(str, counts(rs))) + " |")
    return lines


def table(section: Section, rs: list[Row]) -> list[str]:
    lines = [f"## {section.title}", "", "| name | funcgrad | status | note |"]
    lines.append("| --- | --- | --- | --- |")
    for r in rs:
        fg = f"`{r.funcgrad_name}`" if r.funcgrad_name else ""
        lines.append(f"| `{r.jax_name}` | {fg} | {r.status} | {r.note} |")
    return lines + [""]


HEADER = """# Compatibility with JAX, Optax and Equinox

Generated by `.ci/gen_compatibility.py` (the tests fail when this page is out of date). For
each commonly used name of JAX, Optax and Equinox (a hand-kept list), the funcgrad name it
resolves to and a status read from the code: **supported** (the name exists), **differs**
(it exists, with a known difference: a reason kept in the script, a different name, or JAX
parameters its signature lacks) or **missing**. "Supported" means the name is there with
the same meaning; details of behaviour are in [the sharp bits](sharp-bits.md),
[funcgrad.numpy](numpy.md) and [the API reference](api/reference.md).

Where funcgrad keeps each library: `jax` in `funcgrad` (`import funcgrad as fg`),
`jax.numpy` in `funcgrad.numpy`, `jax.lax`, `jax.random`, `jax.scipy.special` under the same
names in `funcgrad`, `jax.nn` and Equinox in `funcgrad.nn`, Optax in `funcgrad.optim` (its
losses in `funcgrad.nn.losses`).
"""


def render() -> str:
    tables = [(section, rows(section)) for section in SECTIONS]
    lines = [HEADER, *summary(tables), ""]
    for section, rs in tables:
        lines += table(section, rs)
    return "\n".join(lines)


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT}", file=sys.stderr)
