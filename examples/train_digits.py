"""funcgrad's main example: train a classifier on handwritten digits with a jit-compiled step.

By default it trains an MLP on the 1,797 8x8 UCI digits shipped inside the package (offline),
prints progress (loss, accuracy, steps per second), evaluates on the held-out test split,
and saves a checkpoint (``runs/digits/model.npz``), the metric history (CSV/JSON) and a
training-curve plot (``runs/digits/curves.png``; drawn with matplotlib when it is installed,
otherwise with funcgrad's small built-in PNG writer).

    python examples/train_digits.py                      # MLP, ~97-98% test accuracy
    python examples/train_digits.py --model resnet       # small ResNet with BatchNorm
    python examples/train_digits.py --mnist PATH         # MNIST IDX files in PATH
"""

from __future__ import annotations

import argparse
import pathlib
import time

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import metrics, nn, optim
from funcgrad._src.tracker import MetricTracker
from funcgrad.data import ArrayDataset, DataLoader, load_digits, load_mnist
from funcgrad.nn import losses


class MLPClassifier(nn.Module):
    """Flattens one image and applies an MLP (one example in, logits out)."""

    mlp: nn.MLP

    def __call__(self, x, key=None):
        return self.mlp(fnp.reshape(x, (-1,)), key=key)


def build_model(kind: str, image_shape, key):
    if kind == "mlp":
        size = int(np.prod(image_shape))
        return MLPClassifier(nn.MLP(size, 10, width_size=128, depth=2, dropout_p=0.1, key=key))
    if kind == "resnet":
        return nn.ResNet(1, 10, stage_sizes=(1, 1), widths=(16, 32), key=key)
    raise ValueError(f"unknown --model {kind!r}: use 'mlp' or 'resnet'")


def forward(model, state, x, key, train: bool):
    """Logits for a batch, and the new BatchNorm state (None for the MLP)."""
    if isinstance(model, nn.ResNet):
        return model(x[:, None], state)  # ResNet takes the batch (N, 1, H, W)
    keys = fg.random.split(key, x.shape[0])
    return fg.vmap(model)(x, keys), state


def make_train_step(optimizer, smoothing):
    def loss_fn(model, state, x, y, key):
        logits, state = forward(model, state, x, key, True)
        return losses.softmax_cross_entropy(logits, y, label_smoothing=smoothing), (logits, state)

    @fg.jit
    def train_step(model, state, opt_state, x, y, key):
        (loss, (logits, state)), grads = fg.value_and_grad(loss_fn, has_aux=True)(
            model, state, x, y, key
        )
        updates, opt_state = optimizer.update(grads, opt_state, model)
        model = optim.apply_updates(model, updates)
        # correct when the label's logit is the largest (ties, vanishingly rare for float
        # logits, count as correct); written without argmax so the step fuses into native
        # loop kernels on every backend
        label_logit = fnp.sum(fnp.where(fg.nn.one_hot(y, 10, dtype=bool), logits, 0.0), -1)
        acc = fnp.mean(label_logit >= fnp.max(logits, -1))
        return model, state, opt_state, loss, acc

    return train_step


@fg.jit
def eval_logits(model, state, x):
    return forward(nn.inference_mode(model), state, x, fg.random.key(0), False)[0]


def evaluate(model, state, x, y, batch=512):
    acc = metrics.Accuracy.init()
    for i in range(0, len(x), batch):
        acc = acc.update(eval_logits(model, state, fnp.asarray(x[i : i + batch])), y[i : i + batch])
    return float(acc.compute())


def load_data(mnist_path):
    if mnist_path:
        xtr, ytr = load_mnist(mnist_path, "train")
        xte, yte = load_mnist(mnist_path, "test")
        return (xtr.astype(np.float32) / 255.0, ytr), (xte.astype(np.float32) / 255.0, yte)
    return load_digits("train"), load_digits("test")


def make_schedule(name, lr, total_steps):
    if name == "constant":
        return optim.constant_schedule(lr)
    if name == "cosine":
        return optim.warmup_cosine_decay_schedule(0.0, lr, max(total_steps // 20, 1), total_steps)
    if name == "onecycle":
        return optim.cosine_onecycle_schedule(total_steps, lr)
    raise ValueError(f"unknown --schedule {name!r}: constant, cosine or onecycle")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", default="mlp", choices=["mlp", "resnet"])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--schedule", default="cosine", choices=["constant", "cosine", "onecycle"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--mnist", default=None, help="folder with MNIST IDX files (optional)")
    ap.add_argument("--out", default="runs/digits", help="where to write checkpoint and plots")
    ap.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    fg.config.update("platform", args.device)
    (x_train, y_train), (x_test, y_test) = load_data(args.mnist)
    if args.quick:
        x_train, y_train = x_train[:256], y_train[:256]
    key = fg.random.key(args.seed)
    k_model, k_data, k_drop = fg.random.split(key, 3)
    model = build_model(args.model, x_train.shape[1:], k_model)
    state = model.init_state() if isinstance(model, nn.ResNet) else None
    loader = DataLoader(
        ArrayDataset(x_train, y_train),
        batch_size=args.batch_size,
        shuffle=True,
        key=k_data,
        drop_last=True,
    )
    total = args.epochs * len(loader)
    optimizer = optim.adamw(make_schedule(args.schedule, args.lr, total), weight_decay=1e-4)
    opt_state = optimizer.init(model)
    train_step = make_train_step(optimizer, smoothing=0.05)
    out = pathlib.Path(args.out)
    tracker = MetricTracker(
        log_every=max(len(loader) * max(args.epochs // 10, 1), 1), out_dir=out, total_steps=total
    )
    print(
        f"training {args.model} on {len(x_train)} images {x_train.shape[1:]} for "
        f"{args.epochs} epochs ({total} steps, batch {args.batch_size}), "
        f"{nn.count_params(model):,} parameters, device {args.device}"
    )
    t0, step = time.perf_counter(), 0
    for epoch in range(args.epochs):
        for xb, yb in loader:
            k_drop, sub = fg.random.split(k_drop)
            model, state, opt_state, loss, acc = train_step(
                model, state, opt_state, fnp.asarray(xb), fnp.asarray(yb), sub
            )
            step += 1
            tracker.log(step, loss=loss, accuracy=acc)
        tracker.end_epoch(epoch, test_accuracy=evaluate(model, state, x_test, y_test))
    elapsed = time.perf_counter() - t0
    test_acc = evaluate(model, state, x_test, y_test)
    print(
        f"done in {elapsed:.1f}s ({step / elapsed:.0f} steps/s): "
        f"test accuracy {test_acc:.4f} on {len(x_test)} held-out images"
    )
    out.mkdir(parents=True, exist_ok=True)
    fg.save(out / "model.npz", {"model": model, "state": state})
    restored = fg.load(out / "model.npz", like={"model": model, "state": state})
    assert evaluate(restored["model"], restored["state"], x_test, y_test) == test_acc
    tracker.to_csv(out / "steps.csv")
    tracker.to_json(out / "metrics.json")
    plot = tracker.plot(out / "curves.png")
    print(f"saved checkpoint {out / 'model.npz'} and plot {plot}")
    return test_acc


if __name__ == "__main__":
    main()
