"""The four paradigm examples (examples/paradigms/) are real and agree with each other.

From the same initial weights and the same data order, the Caffe-style layers (hand-written
backward), the TF1-style graph (symbolic gradients, Session compiled with fg.jit), the
PyTorch-style tape and funcgrad's functional style give the same losses after N steps to
float32 tolerance. Bitwise equality is not expected: the four compute the same math with
differently ordered float32 operations (Caffe takes log(softmax) where the others use a
shifted log-sum-exp; eager sums are numpy's pairwise sums, jit's are LLVM loops; the norm
and the clip factor are rounded in different places). Measured: at most 2e-7 relative over
the first 20 steps and 1.6e-6 after 880 steps (run_all.py); the test allows 1e-5.
"""

import pathlib
import re
import sys

import numpy as np
import pytest

import funcgrad as fg

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "paradigms"))

import caffe_style  # noqa: E402
import common  # noqa: E402
import functional_style  # noqa: E402
import run_all  # noqa: E402
import tf1_graph as tf  # noqa: E402
import tf1_style  # noqa: E402
import torch_style  # noqa: E402

CFG = common.Config(batch_size=16, epochs=1)
N_STEPS = 12
LOSS_RTOL = 1e-5
REFERENCE = "funcgrad functional"


@pytest.fixture(scope="module")
def data():
    return common.load_data()


@pytest.fixture(scope="module")
def trained(data):
    """Each paradigm after N_STEPS steps: name -> (losses, trainer)."""
    out = {}
    for name, make in run_all.TRAINERS.items():
        trainer = make(common.initial_weights(CFG), CFG)
        out[name] = (np.asarray(common.train(trainer, data, CFG, max_steps=N_STEPS)), trainer)
    return out


def first_batches(data, n=N_STEPS):
    return list(common.batch_order(len(data.x_train), CFG))[:n]


# ---- the four agree ------------------------------------------------------------------------


def test_same_loss_after_n_steps(trained):
    reference = trained[REFERENCE][0]
    assert len(reference) == N_STEPS and np.all(np.isfinite(reference))
    for name, (losses, _) in trained.items():
        np.testing.assert_allclose(losses, reference, rtol=LOSS_RTOL, err_msg=name)


def test_same_weights_after_n_steps(trained, data):
    x = data.x_test[:64]
    reference = np.asarray(trained[REFERENCE][1].predict(x))
    for name, (_, trainer) in trained.items():
        logits = np.asarray(trainer.predict(x))
        np.testing.assert_allclose(logits, reference, rtol=1e-5, atol=1e-5, err_msg=name)


def test_both_clipping_branches_ran_with_a_clear_margin(data):
    """The comparison exercises the control flow: some of the N steps clip, some do not, and
    no norm is so close to the threshold that rounding could send paradigms different ways."""
    trainer = tf1_style.TF1Trainer(common.initial_weights(CFG), CFG)
    m, norms = trainer.model, []
    for idx in first_batches(data):
        feed = {m.x: data.x_train[idx], m.labels: data.y_train[idx]}
        norms.append(float(trainer.sess.run([m.grad_norm, m.train_op], feed)[0]))
    norms = np.asarray(norms)
    assert (norms > CFG.max_norm).any() and (norms <= CFG.max_norm).any(), norms
    assert np.min(np.abs(norms - CFG.max_norm)) > 1e-3, norms


@pytest.fixture(scope="module")
def reference_grads(data):
    """fg.grad of the functional loss at the initial weights, as (out, in) arrays."""
    model = functional_style.build_model(common.initial_weights(CFG))
    idx = first_batches(data, 1)[0]
    g = fg.grad(functional_style.loss_fn)(model, data.x_train[idx], data.y_train[idx])
    grads = [g.fc1.weight, g.fc1.bias, g.fc2.weight, g.fc2.bias]
    return idx, [np.asarray(a) for a in grads]


def assert_grads_close(grads, reference):
    for got, want in zip(grads, reference):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-7)


def test_caffe_hand_written_backward_matches_fg_grad(data, reference_grads):
    idx, reference = reference_grads
    net = caffe_style.build_net(common.initial_weights(CFG))
    net.blobs["data"].data = fg.numpy.asarray(data.x_train[idx])
    net.blobs["label"].data = fg.numpy.asarray(data.y_train[idx])
    net.clear_param_diffs()
    net.forward()
    net.backward()
    assert_grads_close([p.diff for p in net.params()], reference)
    assert net.blobs["data"].diff is None  # propagate_down is False below the first layer
    assert float(fg.numpy.min(net.blobs["ip1"].data)) >= 0.0  # the ReLU ran in place


def test_tf1_symbolic_gradients_match_fg_grad(data, reference_grads):
    idx, reference = reference_grads
    m = tf1_style.build_model(common.initial_weights(CFG), CFG)
    with m.graph.as_default():
        grads = tf.gradients(m.loss, m.params)
    sess = tf.Session(m.graph)
    sess.run(m.init)
    got = sess.run(grads, {m.x: data.x_train[idx], m.labels: data.y_train[idx]})
    assert_grads_close([got[0].T, got[1], got[2].T, got[3]], reference)  # TF's (in, out)


def test_torch_tape_backward_matches_fg_grad(data, reference_grads):
    idx, reference = reference_grads
    model = torch_style.MLP(common.initial_weights(CFG))
    loss = torch_style.cross_entropy(
        model(torch_style.Tensor(data.x_train[idx])), data.y_train[idx]
    )
    loss.backward()
    assert_grads_close([p.grad.data for p in model.parameters()], reference)


def test_run_all_trains_every_paradigm_to_the_same_accuracy():
    results = run_all.main(["--epochs", "3"])
    accuracies = {name: acc for name, (_, acc, _) in results.items()}
    assert min(accuracies.values()) > 0.85, accuracies
    assert len(set(accuracies.values())) == 1, accuracies
    reference = results[REFERENCE][0]
    for name, (losses, _, _) in results.items():
        np.testing.assert_allclose(losses, reference, rtol=LOSS_RTOL, err_msg=name)


# ---- the lecture's small program -----------------------------------------------------------


@pytest.mark.parametrize("v1", [-2.0, -0.5, 0.0, 0.7])
def test_small_program_in_three_styles(v1):
    """v5 and dv5/dv1 through the branch: the TF1 cond node (gradient = cond of the branch
    gradients), the PyTorch-style Python if, funcgrad's grad of lax.cond; by hand."""
    graph, x, v5, dv5 = tf1_style.small_program()
    tf_value, tf_grad = tf.Session(graph).run([v5, dv5], {x: v1})
    torch_value, torch_grad = torch_style.small_program(v1)

    def functional(v):
        v4 = fg.numpy.exp(v) * (fg.numpy.exp(v) + 1.0)
        return fg.lax.cond(v4 > 0.5, lambda a: a * 2.0, lambda a: a, v4)

    e = np.exp(np.float64(v1))
    factor = 2.0 if e * (e + 1) > 0.5 else 1.0
    want = (factor * e * (e + 1), factor * (2 * e * e + e))
    for value, grad in [(tf_value, tf_grad), (torch_value, torch_grad)]:
        np.testing.assert_allclose([value, grad], want, rtol=1e-6)
    np.testing.assert_allclose(
        [float(fg.jit(functional)(v1)), float(fg.grad(functional)(v1))], want, rtol=1e-6
    )


# ---- TF1: the graph and the Session --------------------------------------------------------


def test_session_compiles_once_per_fetches_and_feeds(data):
    trainer = tf1_style.TF1Trainer(common.initial_weights(CFG), CFG)
    assert trainer.sess.traces == 1  # the initializer
    common.train(trainer, data, CFG, max_steps=4)
    assert trainer.sess.traces == 2  # one program for [loss, train_op], run four times
    trainer.predict(data.x_test[:16])
    trainer.predict(data.x_test[16:32])
    assert trainer.sess.traces == 3  # fetching the logits alone is another program


def test_session_fetches_intermediates(data):
    trainer = tf1_style.TF1Trainer(common.initial_weights(CFG), CFG)
    m, x = trainer.model, data.x_test[:8]
    hidden, logits = trainer.sess.run([m.hidden, m.logits], {m.x: x})
    w1, b1, w2, b2 = (np.asarray(trainer.sess.values[p]) for p in m.params)
    np.testing.assert_allclose(hidden, np.maximum(x @ w1 + b1, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logits, hidden @ w2 + b2, rtol=1e-5, atol=1e-6)


def test_graph_mode_errors(data):
    m = tf1_style.build_model(common.initial_weights(CFG), CFG)
    with pytest.raises(TypeError, match="tf.cond"):
        bool(m.loss > 1.0)  # a Python if on a node: no value yet
    sess = tf.Session(m.graph)
    with pytest.raises(ValueError, match="uninitialised"):
        sess.run(m.logits, {m.x: data.x_test[:2]})
    sess.run(m.init)
    with pytest.raises(ValueError, match="feed a value"):
        sess.run(m.loss, {m.x: data.x_test[:2]})  # the labels are not fed
    with pytest.raises(TypeError, match="only feed placeholders"):
        sess.run(m.logits, {m.x: data.x_test[:2], m.hidden: np.zeros((2, CFG.hidden))})


def test_in_graph_while_loop_equals_one_run_per_step(data, trained):
    trainer = tf1_style.TF1Trainer(common.initial_weights(CFG), CFG)
    xs, ys, losses, train_op = tf1_style.build_in_graph_loop(trainer.model, CFG, N_STEPS)
    idx = np.stack(first_batches(data))
    got, _ = trainer.sess.run([losses, train_op], {xs: data.x_train[idx], ys: data.y_train[idx]})
    step_by_step, stepped = trained["TF1-style graph + Session"]
    np.testing.assert_allclose(got, step_by_step, rtol=LOSS_RTOL)
    for p, q in zip(trainer.model.params, stepped.model.params):
        np.testing.assert_allclose(
            trainer.sess.values[p], stepped.sess.values[q], rtol=1e-5, atol=1e-6
        )


def test_no_gradient_through_while_loop_is_an_error():
    with tf.Graph().as_default():
        a = tf.Variable(np.float32(1.0))
        _, b = tf.while_loop(lambda i, b: tf.greater(3, i), lambda i, b: [i + 1, b * 2.0], [0, a])
        with pytest.raises(LookupError, match="No gradient defined"):
            tf.gradients(b, [a])


# ---- PyTorch style: the tape ---------------------------------------------------------------


def test_tape_is_freed_after_backward_and_grads_accumulate():
    T = torch_style.Tensor
    w = T(np.float32([1.0, 2.0]), requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 4.0])
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()
    (w * w).sum().backward()  # no zero_grad: accumulates, as in PyTorch
    np.testing.assert_allclose(w.grad.numpy(), [4.0, 8.0])
    with torch_style.no_grad():
        assert not (w * w).sum().requires_grad


# ---- the tutorial's excerpts are the files' code -------------------------------------------

TUTORIAL = ROOT / "docs" / "tutorials" / "four-paradigms.md"
EXCERPT = re.compile(r"```py\n# (examples/paradigms/\w+\.py)\n(.*?)```", re.S)


def test_tutorial_excerpts_match_the_example_files():
    excerpts = EXCERPT.findall(TUTORIAL.read_text())
    files = {path for path, _ in excerpts}
    assert {
        f"examples/paradigms/{n}.py" for n in ("caffe_style", "tf1_graph", "tf1_style")
    } <= files
    assert {"examples/paradigms/torch_style.py", "examples/paradigms/functional_style.py"} <= files
    for path, code in excerpts:
        assert code in (ROOT / path).read_text(), f"the excerpt of {path} is stale:\n{code}"


def test_benchmark_runs_and_prints_every_paradigm(capsys, monkeypatch):
    """A smoke test of benchmarks/bench_paradigms.py (no timing is asserted)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench", ROOT / "benchmarks" / "bench_paradigms.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setattr(bench.InGraphLoop, "steps", 4)
    bench.main(["--repeat", "3", "--rounds", "1", "--no-torch"])
    out = capsys.readouterr().out
    for name in list(run_all.TRAINERS) + ["in-graph while_loop"]:
        assert name in out, out
