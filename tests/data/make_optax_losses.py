"""Record Optax 0.2.x loss values for tests/test_optim_losses.py (run with the jax env:
``/tmp/jaxenv/bin/python tests/data/make_optax_losses.py``). Writes optax_losses.json."""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax

jax.config.update("jax_enable_x64", False)
rng = np.random.RandomState(0)
F = lambda *s: rng.randn(*s).astype(np.float32)  # noqa: E731

logits = F(4, 5)
ilab = rng.randint(0, 5, size=4).astype(np.int32)
probs = np.exp(F(4, 5))
probs = (probs / probs.sum(-1, keepdims=True)).astype(np.float32)
bin_lab = (rng.rand(4, 5) > 0.5).astype(np.float32)
where = rng.rand(4, 5) > 0.3
where[:, 0] = True
pred, targ = F(4, 5), F(4, 5)
signs = np.sign(F(4, 5)).astype(np.float32)
emb = F(6, 3)
elab = np.array([0, 0, 1, 1, 2, 2], np.int32)
ctc_logits = F(2, 6, 4)
ctc_lp = np.zeros((2, 6), np.float32)
ctc_lp[1, 4:] = 1.0
ctc_labels = np.array([[1, 2, 2], [3, 1, 0]], np.int32)
ctc_labpad = np.array([[0, 0, 0], [0, 0, 1]], np.float32)
seg_pred = F(2, 3, 3, 4)
seg_t = np.eye(4, dtype=np.float32)[rng.randint(0, 4, size=(2, 3, 3))]
L = optax.losses
inputs = dict(
    logits=logits,
    ilab=ilab,
    probs=probs,
    bin_lab=bin_lab,
    where=where,
    pred=pred,
    targ=targ,
    signs=signs,
    emb=emb,
    elab=elab,
    ctc_logits=ctc_logits,
    ctc_lp=ctc_lp,
    ctc_labels=ctc_labels,
    ctc_labpad=ctc_labpad,
    seg_pred=seg_pred,
    seg_t=seg_t,
)
lsm = jax.nn.log_softmax(logits)
out = {
    "softmax_cross_entropy": L.softmax_cross_entropy(logits, probs),
    "softmax_cross_entropy_where": L.softmax_cross_entropy(logits, probs, where=where),
    "softmax_cross_entropy_axis0": L.softmax_cross_entropy(logits, probs, axis=0),
    "softmax_cross_entropy_with_integer_labels": L.softmax_cross_entropy_with_integer_labels(
        logits, ilab
    ),
    "softmax_cross_entropy_with_integer_labels_where": (
        L.softmax_cross_entropy_with_integer_labels(logits, ilab, where=where)
    ),
    "softmax_cross_entropy_with_integer_labels_axis0": (
        L.softmax_cross_entropy_with_integer_labels(logits.T, ilab, axis=0)
    ),
    "safe_softmax_cross_entropy": L.safe_softmax_cross_entropy(logits, probs),
    "sigmoid_binary_cross_entropy": L.sigmoid_binary_cross_entropy(logits, bin_lab),
    "sigmoid_focal_loss": L.sigmoid_focal_loss(logits, bin_lab),
    "sigmoid_focal_loss_alpha": L.sigmoid_focal_loss(logits, bin_lab, alpha=0.25, gamma=1.5),
    "hinge_loss": L.hinge_loss(pred, signs),
    "perceptron_loss": L.perceptron_loss(pred, signs),
    "sparsemax_loss": L.sparsemax_loss(pred, bin_lab),
    "multiclass_hinge_loss": L.multiclass_hinge_loss(logits, ilab),
    "multiclass_perceptron_loss": L.multiclass_perceptron_loss(logits, ilab),
    "multiclass_sparsemax_loss": L.multiclass_sparsemax_loss(logits, ilab),
    "poly_loss_cross_entropy": L.poly_loss_cross_entropy(logits, probs, epsilon=1.5),
    "kl_divergence": L.kl_divergence(lsm, probs),
    "kl_divergence_with_log_targets": L.kl_divergence_with_log_targets(lsm, jnp.log(probs)),
    "generalized_kl_divergence": L.generalized_kl_divergence(lsm, probs),
    "convex_kl_divergence": L.convex_kl_divergence(lsm, probs),
    "squared_error": L.squared_error(pred, targ),
    "l2_loss": L.l2_loss(pred, targ),
    "l2_loss_no_targets": L.l2_loss(pred),
    "huber_loss": L.huber_loss(pred, targ, delta=0.7),
    "log_cosh": L.log_cosh(pred, targ),
    "cosine_similarity": L.cosine_similarity(pred, targ),
    "cosine_distance": L.cosine_distance(pred, targ, epsilon=0.1),
    "cosine_similarity_where": L.cosine_similarity(pred, targ, where=where),
    "smooth_labels": L.smooth_labels(probs, 0.1),
    "ntxent": L.ntxent(emb, elab, 0.5),
    "triplet_margin_loss": L.triplet_margin_loss(pred[:2], targ[:2], pred[2:]),
    "ranking_softmax_loss": L.ranking_softmax_loss(logits, bin_lab),
    "ranking_softmax_loss_where_none": L.ranking_softmax_loss(
        logits, bin_lab, where=where, reduce_fn=None
    ),
    "ctc_loss": L.ctc_loss(ctc_logits, ctc_lp, ctc_labels, ctc_labpad),
    "dice_loss": L.dice_loss(seg_pred, seg_t),
    "dice_loss_none": L.dice_loss(seg_pred, seg_t, alpha=0.3, beta=0.7, reduction="none"),
    "multiclass_generalized_dice_loss": L.multiclass_generalized_dice_loss(seg_pred, seg_t),
    "binary_dice_loss": L.binary_dice_loss(seg_pred[..., 0], seg_t[..., 0]),
    "fenchel_young_logsumexp": L.make_fenchel_young_loss(jax.scipy.special.logsumexp)(
        logits, probs
    ),
}
grads = {
    "softmax_cross_entropy": jax.grad(lambda x: L.softmax_cross_entropy(x, probs).sum())(logits),
    "sigmoid_focal_loss": jax.grad(lambda x: L.sigmoid_focal_loss(x, bin_lab).sum())(logits),
    "ctc_loss": jax.grad(lambda x: L.ctc_loss(x, ctc_lp, ctc_labels, ctc_labpad).sum())(ctc_logits),
}
tolist = lambda d: {k: np.asarray(v).tolist() for k, v in d.items()}  # noqa: E731
data = {
    "optax_version": optax.__version__,
    "inputs": tolist(inputs),
    "values": tolist(out),
    "grads": tolist(grads),
}
path = pathlib.Path(__file__).with_name("optax_losses.json")
path.write_text(json.dumps(data))
print("wrote", path)

# ---- projections (appended to the same file) ----------------------------------------------------
Pj = optax.projections
tree = {"a": pred[0], "b": pred[1, :3]}
tree_a = {"a": targ[0], "b": targ[1, :3]}
proj = {
    "projection_non_negative": Pj.projection_non_negative(tree),
    "projection_box": Pj.projection_box(pred[0], -0.5, 0.5),
    "projection_hypercube": Pj.projection_hypercube(pred[0], 0.7),
    "projection_simplex": Pj.projection_simplex(tree, 2.0),
    "projection_l1_sphere": Pj.projection_l1_sphere(tree, 1.5),
    "projection_l1_ball": Pj.projection_l1_ball(tree, 1.5),
    "projection_l2_sphere": Pj.projection_l2_sphere(tree, 1.5),
    "projection_l2_ball": Pj.projection_l2_ball(tree, 1.5),
    "projection_linf_ball": Pj.projection_linf_ball(tree, 0.3),
    "projection_vector": Pj.projection_vector(tree, tree_a),
    "projection_hyperplane": Pj.projection_hyperplane(tree, tree_a, 0.5),
    "projection_halfspace": Pj.projection_halfspace(tree, tree_a, -0.5),
}
data["projections"] = jax.tree.map(lambda x: np.asarray(x).tolist(), proj)
data["simplex_grad"] = np.asarray(
    jax.grad(lambda x: jnp.sum(Pj.projection_simplex(x) * jnp.arange(5.0)))(pred[0])
).tolist()
path.write_text(json.dumps(data))
print("wrote projections")
