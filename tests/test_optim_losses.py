"""funcgrad.optim.losses against Optax 0.2.x: the same per-example values (no reduction) and
gradients, recorded in tests/data/optax_losses.json by tests/data/make_optax_losses.py."""

import json
import pathlib

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import optim
from funcgrad.optim import losses as L
from funcgrad.optim import projections as P
from funcgrad.scipy.special import logsumexp

DATA = json.loads((pathlib.Path(__file__).parent / "data" / "optax_losses.json").read_text())
IN = DATA["inputs"]


def a(name, dtype=np.float32):
    return fnp.asarray(np.asarray(IN[name], dtype))


def ab(name):
    return fnp.asarray(np.asarray(IN[name], bool))


def lsm():
    return fg.nn.log_softmax(a("logits"))


CASES = {
    "softmax_cross_entropy": lambda: L.softmax_cross_entropy(a("logits"), a("probs")),
    "softmax_cross_entropy_where": lambda: L.softmax_cross_entropy(
        a("logits"), a("probs"), where=ab("where")
    ),
    "softmax_cross_entropy_axis0": lambda: L.softmax_cross_entropy(a("logits"), a("probs"), axis=0),
    "softmax_cross_entropy_with_integer_labels": lambda: (
        L.softmax_cross_entropy_with_integer_labels(a("logits"), a("ilab", np.int32))
    ),
    "softmax_cross_entropy_with_integer_labels_where": lambda: (
        L.softmax_cross_entropy_with_integer_labels(
            a("logits"), a("ilab", np.int32), where=ab("where")
        )
    ),
    "softmax_cross_entropy_with_integer_labels_axis0": lambda: (
        L.softmax_cross_entropy_with_integer_labels(a("logits").T, a("ilab", np.int32), axis=0)
    ),
    "safe_softmax_cross_entropy": lambda: L.safe_softmax_cross_entropy(a("logits"), a("probs")),
    "sigmoid_binary_cross_entropy": lambda: L.sigmoid_binary_cross_entropy(
        a("logits"), a("bin_lab")
    ),
    "sigmoid_focal_loss": lambda: L.sigmoid_focal_loss(a("logits"), a("bin_lab")),
    "sigmoid_focal_loss_alpha": lambda: L.sigmoid_focal_loss(
        a("logits"), a("bin_lab"), alpha=0.25, gamma=1.5
    ),
    "hinge_loss": lambda: L.hinge_loss(a("pred"), a("signs")),
    "perceptron_loss": lambda: L.perceptron_loss(a("pred"), a("signs")),
    "sparsemax_loss": lambda: L.sparsemax_loss(a("pred"), a("bin_lab")),
    "multiclass_hinge_loss": lambda: L.multiclass_hinge_loss(a("logits"), a("ilab", np.int32)),
    "multiclass_perceptron_loss": lambda: L.multiclass_perceptron_loss(
        a("logits"), a("ilab", np.int32)
    ),
    "multiclass_sparsemax_loss": lambda: L.multiclass_sparsemax_loss(
        a("logits"), a("ilab", np.int32)
    ),
    "poly_loss_cross_entropy": lambda: L.poly_loss_cross_entropy(
        a("logits"), a("probs"), epsilon=1.5
    ),
    "kl_divergence": lambda: L.kl_divergence(lsm(), a("probs")),
    "kl_divergence_with_log_targets": lambda: L.kl_divergence_with_log_targets(
        lsm(), fnp.log(a("probs"))
    ),
    "generalized_kl_divergence": lambda: L.generalized_kl_divergence(lsm(), a("probs")),
    "convex_kl_divergence": lambda: L.convex_kl_divergence(lsm(), a("probs")),
    "squared_error": lambda: L.squared_error(a("pred"), a("targ")),
    "l2_loss": lambda: L.l2_loss(a("pred"), a("targ")),
    "l2_loss_no_targets": lambda: L.l2_loss(a("pred")),
    "huber_loss": lambda: L.huber_loss(a("pred"), a("targ"), delta=0.7),
    "log_cosh": lambda: L.log_cosh(a("pred"), a("targ")),
    "cosine_similarity": lambda: L.cosine_similarity(a("pred"), a("targ")),
    "cosine_distance": lambda: L.cosine_distance(a("pred"), a("targ"), epsilon=0.1),
    "cosine_similarity_where": lambda: L.cosine_similarity(a("pred"), a("targ"), where=ab("where")),
    "smooth_labels": lambda: L.smooth_labels(a("probs"), 0.1),
    "ntxent": lambda: L.ntxent(a("emb"), a("elab", np.int32), 0.5),
    "triplet_margin_loss": lambda: L.triplet_margin_loss(
        a("pred")[:2], a("targ")[:2], a("pred")[2:]
    ),
    "ranking_softmax_loss": lambda: L.ranking_softmax_loss(a("logits"), a("bin_lab")),
    "ranking_softmax_loss_where_none": lambda: L.ranking_softmax_loss(
        a("logits"), a("bin_lab"), where=ab("where"), reduce_fn=None
    ),
    "ctc_loss": lambda: L.ctc_loss(
        a("ctc_logits"), a("ctc_lp"), a("ctc_labels", np.int32), a("ctc_labpad")
    ),
    "dice_loss": lambda: L.dice_loss(a("seg_pred"), a("seg_t")),
    "dice_loss_none": lambda: L.dice_loss(
        a("seg_pred"), a("seg_t"), alpha=0.3, beta=0.7, reduction="none"
    ),
    "multiclass_generalized_dice_loss": lambda: L.multiclass_generalized_dice_loss(
        a("seg_pred"), a("seg_t")
    ),
    "binary_dice_loss": lambda: L.binary_dice_loss(a("seg_pred")[..., 0], a("seg_t")[..., 0]),
    "fenchel_young_logsumexp": lambda: L.make_fenchel_young_loss(logsumexp)(
        a("logits"), a("probs")
    ),
}


def test_every_recorded_case_is_checked():
    assert set(CASES) == set(DATA["values"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_optax(name):
    want = np.asarray(DATA["values"][name], np.float32)
    got = np.asarray(CASES[name]())
    assert got.shape == want.shape, name
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


GRADS = {
    "softmax_cross_entropy": lambda x: L.softmax_cross_entropy(x, a("probs")).sum(),
    "sigmoid_focal_loss": lambda x: L.sigmoid_focal_loss(x, a("bin_lab")).sum(),
    "ctc_loss": lambda x: L.ctc_loss(
        x, a("ctc_lp"), a("ctc_labels", np.int32), a("ctc_labpad")
    ).sum(),
}


@pytest.mark.parametrize("name", sorted(GRADS))
def test_gradients_match_optax(name):
    x = a("ctc_logits") if name == "ctc_loss" else a("logits")
    got = np.asarray(fg.grad(GRADS[name])(x))
    np.testing.assert_allclose(got, np.asarray(DATA["grads"][name]), rtol=1e-4, atol=1e-5)


def test_no_reduction_sum_is_the_optax_sum():
    """The trap of issue 16: the sum of per-example values, not of a mean."""
    lg, lab = a("logits"), a("ilab", np.int32)
    want = float(np.sum(DATA["values"]["softmax_cross_entropy_with_integer_labels"]))
    got = float(L.softmax_cross_entropy_with_integer_labels(lg, lab).sum())
    assert got == pytest.approx(want, rel=1e-5)


def test_formulas_on_small_inputs():
    p, t = fnp.array([1.0, -2.0, 3.0]), fnp.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(np.asarray(L.squared_error(p, t)), [1.0, 4.0, 4.0])
    np.testing.assert_allclose(np.asarray(L.huber_loss(p, t)), [0.5, 1.5, 1.5])
    x = np.array([[0.3, -1.2, 2.0]], np.float32)
    y = np.array([[0.1, 0.2, 0.7]], np.float32)
    want = -(y * (x - np.log(np.exp(x).sum()))).sum(-1)
    np.testing.assert_allclose(np.asarray(L.softmax_cross_entropy(x, y)), want, rtol=1e-6)


def test_safe_softmax_cross_entropy_finite_with_minus_inf_logits():
    logits = fnp.array([[0.0, -fnp.inf, 1.0]])
    labels = fnp.array([[0.5, 0.0, 0.5]])
    val = L.safe_softmax_cross_entropy(logits, labels)
    g = fg.grad(lambda x: L.safe_softmax_cross_entropy(x, labels).sum())(logits)
    assert np.isfinite(np.asarray(val)).all() and np.isfinite(np.asarray(g)).all()


def test_dtype_errors_as_optax():
    with pytest.raises(ValueError, match="floating"):
        L.softmax_cross_entropy(fnp.array([[1, 2]]), fnp.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="integer"):
        L.softmax_cross_entropy_with_integer_labels(fnp.array([[1.0, 2.0]]), fnp.array([1.0]))


# the losses Optax 0.2.x also exports at its top level (optax.softmax_cross_entropy, ...)
OPTAX_TOP_LEVEL = [
    "convex_kl_divergence", "cosine_distance", "cosine_similarity", "ctc_loss",
    "ctc_loss_with_forward_probs", "generalized_kl_divergence", "hinge_loss", "huber_loss",
    "kl_divergence", "l2_loss", "log_cosh", "ntxent", "safe_softmax_cross_entropy",
    "sigmoid_binary_cross_entropy", "sigmoid_focal_loss", "smooth_labels",
    "softmax_cross_entropy", "softmax_cross_entropy_with_integer_labels", "squared_error",
]  # fmt: skip


def test_reexported_from_optim():
    for name in OPTAX_TOP_LEVEL:
        assert getattr(optim, name) is getattr(L, name), name


# ---- projections (tests/data/optax_losses.json "projections") -----------------------------------

PROJ = {
    "projection_non_negative": lambda t, ta: P.projection_non_negative(t),
    "projection_box": lambda t, ta: P.projection_box(a("pred")[0], -0.5, 0.5),
    "projection_hypercube": lambda t, ta: P.projection_hypercube(a("pred")[0], 0.7),
    "projection_simplex": lambda t, ta: P.projection_simplex(t, 2.0),
    "projection_l1_sphere": lambda t, ta: P.projection_l1_sphere(t, 1.5),
    "projection_l1_ball": lambda t, ta: P.projection_l1_ball(t, 1.5),
    "projection_l2_sphere": lambda t, ta: P.projection_l2_sphere(t, 1.5),
    "projection_l2_ball": lambda t, ta: P.projection_l2_ball(t, 1.5),
    "projection_linf_ball": lambda t, ta: P.projection_linf_ball(t, 0.3),
    "projection_vector": lambda t, ta: P.projection_vector(t, ta),
    "projection_hyperplane": lambda t, ta: P.projection_hyperplane(t, ta, 0.5),
    "projection_halfspace": lambda t, ta: P.projection_halfspace(t, ta, -0.5),
}


@pytest.mark.parametrize("name", sorted(PROJ))
def test_projection_matches_optax(name):
    t = {"a": a("pred")[0], "b": a("pred")[1, :3]}
    ta = {"a": a("targ")[0], "b": a("targ")[1, :3]}
    got, want = PROJ[name](t, ta), DATA["projections"][name]
    if isinstance(want, dict):
        for k in want:
            np.testing.assert_allclose(np.asarray(got[k]), want[k], rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)


def test_projection_simplex_gradient_matches_optax():
    g = fg.grad(lambda x: fnp.sum(P.projection_simplex(x) * fnp.arange(5.0)))(a("pred")[0])
    np.testing.assert_allclose(np.asarray(g), DATA["simplex_grad"], rtol=1e-5, atol=1e-6)
