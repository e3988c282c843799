"""funcgrad's main example: train a classifier on handwritten digits with a jit-compiled step.

By default it trains an MLP on the 1,797 8x8 UCI digits shipped inside the package (offline),
prints progress (loss, accuracy, steps per second), evaluates on the held-out test split,
and saves into ``runs/digits/``: a checkpoint (``model.npz``), the metric history
(``steps.csv``, ``epochs.csv``, ``metrics.json``) and three figures drawn with matplotlib
(``pip install -e ".[plot]"``): ``curves.png`` (train and test loss and accuracy),
``confusion.png`` (the test confusion matrix) and ``misclassified.png`` (the test digits it
got wrong). Without matplotlib it says so and writes the numbers only.

    pip install -e ".[plot]" && python examples/train_digits.py   # MLP, ~97-98% test accuracy
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
    """Test accuracy and mean loss, and the confusion matrix (metric states are pytrees)."""
    acc, loss, cm = metrics.Accuracy.init(), metrics.Mean.init(), metrics.ConfusionMatrix.init(10)
    for i in range(0, len(x), batch):
        logits = eval_logits(model, state, fnp.asarray(x[i : i + batch]))
        labels = fnp.asarray(y[i : i + batch])
        acc, cm = acc.update(logits, labels), cm.update(logits, labels)
        loss = loss.update(losses.softmax_cross_entropy(logits, labels), weights=len(labels))
    return float(acc.compute()), float(loss.compute()), cm


def have_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def save_confusion_matrix(cm, path):
    """Counts per (true, predicted) digit, with the count written in each cell."""
    from matplotlib.figure import Figure

    m = np.asarray(cm.compute())
    fig = Figure(figsize=(6.2, 5.4), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(m, cmap="Blues")
    fig.colorbar(im, ax=ax, label="test images")
    for (i, j), count in np.ndenumerate(m):
        if count:
            color = "white" if count > m.max() / 2 else "black"
            ax.text(j, i, str(count), ha="center", va="center", fontsize=8, color=color)
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    correct = np.trace(m) / m.sum()
    ax.set_title(f"Test confusion matrix: {correct:.1%} of {m.sum()} correct", fontsize=11)
    fig.savefig(path)
    return path


def save_misclassified(images, labels, preds, path, limit=32):
    """A grid of the test digits the model got wrong, each titled with true and predicted."""
    from matplotlib.figure import Figure

    wrong = np.flatnonzero(preds != labels)
    shown = wrong[:limit]
    cols = min(max(len(shown), 1), 8)
    rows = max(1, -(-len(shown) // cols))
    fig = Figure(figsize=(max(cols * 1.1, 4.5), rows * 1.35 + 0.6), dpi=110, layout="constrained")
    title = f"{len(wrong)} of {len(labels)} test digits misclassified"
    fig.suptitle(title + (f" (first {len(shown)} shown)" if len(wrong) > len(shown) else ""))
    for k, i in enumerate(shown):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.imshow(images[i], cmap="gray_r")
        ax.set_title(f"true {labels[i]}, pred {preds[i]}", fontsize=8, color="C3")
        ax.set_axis_off()
    fig.savefig(path)
    return path


def save_figures(model, state, cm, x_test, y_test, out):
    """confusion.png and misclassified.png, when matplotlib is installed."""
    if not have_matplotlib():
        print('no confusion/misclassified figures: pip install -e ".[plot]" for matplotlib')
        return []
    preds = np.asarray(fnp.argmax(eval_logits(model, state, fnp.asarray(x_test)), axis=-1))
    return [
        save_confusion_matrix(cm, out / "confusion.png"),
        save_misclassified(x_test, np.asarray(y_test), preds, out / "misclassified.png"),
    ]


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
    tracker = metrics.Tracker(
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
        test_acc, test_loss, _ = evaluate(model, state, x_test, y_test)
        tracker.end_epoch(epoch, test_loss=test_loss, test_accuracy=test_acc)
    elapsed = time.perf_counter() - t0
    test_acc, _, cm = evaluate(model, state, x_test, y_test)
    print(
        f"done in {elapsed:.1f}s ({step / elapsed:.0f} steps/s): "
        f"test accuracy {test_acc:.4f} on {len(x_test)} held-out images"
    )
    out.mkdir(parents=True, exist_ok=True)
    fg.save(out / "model.npz", {"model": model, "state": state})
    restored = fg.load(out / "model.npz", like={"model": model, "state": state})
    assert evaluate(restored["model"], restored["state"], x_test, y_test)[0] == test_acc
    save_results(args, tracker, model, state, cm, (x_test, y_test), out)
    return test_acc


def save_results(args, tracker, model, state, cm, test_data, out):
    """The metric tables and the three figures."""
    tracker.save()
    title = (
        f"{args.model} on {'MNIST' if args.mnist else 'UCI digits'}: "
        "train loss includes label smoothing and dropout, test loss does not"
    )
    figures = [tracker.plot(out / "curves.png", log_y=True, title=title)]
    figures += save_figures(model, state, cm, *test_data, out)
    shown = ", ".join(str(f) for f in figures if f) or "none"
    print(f"saved checkpoint {out / 'model.npz'}, metrics in {out}, figures: {shown}")


if __name__ == "__main__":
    main()
