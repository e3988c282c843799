"""End to end: an MLP trained on the shipped 8x8 digits with nn + losses + optim + metrics."""

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import metrics, nn, optim
from funcgrad.data import ArrayDataset, DataLoader, load_digits
from funcgrad.nn import losses

try:
    from funcgrad._src.jit import jit
except ImportError:  # pragma: no cover - jit is written in parallel
    jit = lambda f: f


def make_step(opt):
    def loss_fn(model, x, y, key):
        keys = fg.random.split(key, x.shape[0])
        logits = fg.vmap(model)(x, keys)
        return losses.softmax_cross_entropy(logits, y, label_smoothing=0.05)

    @jit
    def step(model, opt_state, x, y, key):
        loss, grads = fg.value_and_grad(loss_fn)(model, x, y, key)
        updates, opt_state = opt.update(grads, opt_state, model)
        return optim.apply_updates(model, updates), opt_state, loss

    return step


class Classifier(nn.Module):
    mlp: nn.MLP

    def __call__(self, x, key=None):
        return self.mlp(fnp.reshape(x, (-1,)), key=key)


def test_mlp_learns_digits():
    x_train, y_train = load_digits("train")
    x_test, y_test = load_digits("test")
    model = Classifier(nn.MLP(64, 10, width_size=64, depth=2, dropout_p=0.1, key=fg.random.key(0)))
    schedule = optim.schedules.warmup_cosine_decay_schedule(0.0, 3e-3, 20, 300)
    opt = optim.chain(optim.clip_by_global_norm(5.0), optim.adamw(schedule, weight_decay=1e-4))
    opt_state = opt.init(model)
    step = make_step(opt)
    loader = DataLoader(
        ArrayDataset(x_train, y_train),
        batch_size=64,
        shuffle=True,
        key=fg.random.key(1),
        drop_last=True,
    )
    key = fg.random.key(2)
    for epoch in range(10):
        for xb, yb in loader.epoch(epoch):
            key, sub = fg.random.split(key)
            model, opt_state, loss = step(model, opt_state, fnp.asarray(xb), fnp.asarray(yb), sub)
    assert np.isfinite(float(loss))

    eval_model = nn.inference_mode(model)
    acc = metrics.Accuracy.init().update(fg.vmap(eval_model)(fnp.asarray(x_test)), y_test)
    assert float(acc.compute()) > 0.9, float(acc.compute())


def test_resnet_with_batchnorm_state_learns_digits():
    x_train, y_train = load_digits("train")
    x_test, y_test = load_digits("test")
    net = nn.ResNet(1, 10, stage_sizes=(1, 1), widths=(8, 16), key=fg.random.key(0))
    bn_state, opt = net.init_state(), optim.adam(3e-3)
    opt_state = opt.init(net)

    def loss_fn(net, bn_state, x, y):
        logits, bn_state = net(x, bn_state)
        return losses.softmax_cross_entropy(logits, y), bn_state

    @jit
    def step(net, bn_state, opt_state, x, y):
        (loss, bn_state), grads = fg.value_and_grad(loss_fn, has_aux=True)(net, bn_state, x, y)
        updates, opt_state = opt.update(grads, opt_state, net)
        return optim.apply_updates(net, updates), bn_state, opt_state, loss

    perm = np.random.default_rng(0).permutation(len(y_train))
    for _ in range(2):
        for i in range(0, len(perm) - 63, 64):
            idx = perm[i : i + 64]
            net, bn_state, opt_state, loss = step(
                net, bn_state, opt_state, fnp.asarray(x_train[idx, None]), fnp.asarray(y_train[idx])
            )
    assert np.isfinite(float(loss))
    logits, _ = nn.inference_mode(net)(fnp.asarray(x_test[:, None]), bn_state)
    acc = metrics.Accuracy.init().update(logits, y_test)
    assert float(acc.compute()) > 0.5, float(acc.compute())
