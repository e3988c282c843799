"""Tests for funcgrad.metrics.Tracker: history, display, CSV/JSON, figures, sinks."""

import csv
import json
import sys

import numpy as np
import pytest

from funcgrad.metrics import Tracker


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def _tracker(**kw):
    lines = []
    clock = FakeClock()
    tr = Tracker(print_fn=lines.append, clock=clock, **kw)
    return tr, lines, clock


def test_log_history_and_conversion():
    tr, lines, clock = _tracker(log_every=100)
    tr.log(1, loss=np.float32(2.5), acc=np.array(0.5), n=3)
    clock.t += 1
    tr.log(2, loss=np.array([1.5]))
    assert tr.history[0] == {"step": 1, "time": 0.0, "loss": 2.5, "acc": 0.5, "n": 3.0}
    assert tr.history[1] == {"step": 2, "time": 1.0, "loss": 1.5}
    assert all(type(v) is float for v in tr.history[0].values() if v != 1)
    assert tr.latest == {"loss": 1.5, "acc": 0.5, "n": 3.0}
    assert lines == []
    with pytest.raises(TypeError, match="'loss'.*shape \\(2,\\)"):
        tr.log(3, loss=np.ones(2))
    with pytest.raises(TypeError, match="'x'"):
        tr.log(3, x="abc")


def test_progress_line_every_log_every_with_rate_and_eta():
    tr, lines, clock = _tracker(log_every=10, total_steps=100)
    for step in range(1, 31):
        clock.t += 0.5  # 2 steps/s
        tr.log(step, loss=1.0 / step)
    assert len(lines) == 3
    assert lines[0].startswith("step 10/100 | 2.00 steps/s | ETA 0:45 | loss 0.1")
    assert lines[2].startswith("step 30/100 | 2.00 steps/s | ETA 0:35")
    assert "loss 0.03333" in lines[2]
    for step in range(31, 101):
        clock.t += 0.25  # speeds up: 4 steps/s
        tr.log(step, loss=0.0)
    assert lines[-1].startswith("step 100/100 | 4.00 steps/s | ETA 0:00")
    assert len(lines) == 10


def test_no_total_and_last_step_printed():
    tr, lines, clock = _tracker(log_every=5)
    for step in range(0, 6):
        clock.t += 1
        tr.log(step, loss=1.0)
    assert [ln.split(" |")[0] for ln in lines] == ["step 0", "step 5"]
    assert "ETA" not in lines[0]
    tr2, lines2, _ = _tracker(log_every=4, total_steps=6)
    for step in range(1, 7):
        tr2.log(step, loss=1.0)
    assert [ln.split(" |")[0] for ln in lines2] == ["step 4/6", "step 6/6"]


def test_end_epoch_and_summary():
    tr, lines, clock = _tracker(log_every=1000)
    for step, loss in enumerate([3.0, float("nan"), 1.0, 2.0], start=1):
        tr.log(step, loss=loss)
    clock.t += 65
    tr.end_epoch(0, val_acc=np.float64(0.75))
    assert tr.epochs == [{"epoch": 0, "time": 65.0, "val_acc": 0.75}]
    assert lines == ["epoch 0 | 1:05 elapsed | val_acc 0.75"]
    s = tr.summary()
    assert s["steps"] == 4 and s["last_step"] == 4 and s["epochs"] == 1
    assert s["metrics"]["loss"] == {"last": 2.0, "min": 1.0, "max": 3.0, "mean": 2.0}
    assert s["last_epoch"]["val_acc"] == 0.75 and s["elapsed_s"] == 65.0


def test_to_csv_and_json(tmp_path):
    tr, _, clock = _tracker(log_every=1000)
    tr.log(1, loss=1.0)
    clock.t += 2
    tr.log(2, loss=0.5, grad_norm=float("inf"))
    tr.end_epoch(0, val=0.1)
    with open(tr.to_csv(tmp_path / "s.csv")) as f:
        rows = list(csv.DictReader(f))
    assert rows == [
        {"step": "1", "time": "0.0", "loss": "1.0", "grad_norm": ""},
        {"step": "2", "time": "2.0", "loss": "0.5", "grad_norm": "inf"},
    ]
    with open(tr.to_csv(tmp_path / "e.csv", which="epochs")) as f:
        assert list(csv.DictReader(f))[0]["val"] == "0.1"
    with open(tr.to_json(tmp_path / "m.json")) as f:
        data = json.load(f)
    assert data["steps"][1]["grad_norm"] is None  # inf -> null: valid JSON
    assert data["epochs"] == [{"epoch": 0, "time": 2.0, "val": 0.1}]
    assert data["summary"]["metrics"]["loss"]["min"] == 0.5
    with pytest.raises(ValueError, match="out_dir"):
        tr.to_csv()


def test_out_dir_autosave(tmp_path):
    out = tmp_path / "run"
    tr = Tracker(out_dir=out, print_fn=None)
    tr.log(1, loss=1.0)
    tr.end_epoch(0, val=2.0)
    assert sorted(p.name for p in out.iterdir()) == ["epochs.csv", "metrics.json", "steps.csv"]
    assert json.loads((out / "metrics.json").read_text())["epochs"][0]["val"] == 2.0


def test_plot_without_matplotlib_writes_tables_and_says_how(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    tr, lines, _ = _tracker(log_every=1000)
    for step in range(1, 30):
        tr.log(step, loss=1.0 / step, accuracy=1 - 1.0 / step)
    tr.end_epoch(0, test_accuracy=0.9)
    assert tr.plot(tmp_path / "m.png") is None
    assert not (tmp_path / "m.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epochs.csv", "metrics.json", "steps.csv"]
    assert "matplotlib is not installed" in lines[-1] and "funcgrad[plot]" in lines[-1]
    with pytest.raises(ImportError, match="funcgrad\\[plot\\]"):
        tr.figure()


def test_the_hand_written_png_writer_is_gone():
    import importlib.util

    assert importlib.util.find_spec("funcgrad._src.png_plot") is None


def _curves_tracker():
    tr, _, clock = _tracker(log_every=1000)
    step = 0
    for epoch in range(3):
        for _ in range(200):
            step += 1
            tr.log(step, loss=2.0 / step, accuracy=1 - 1.0 / step, lr=1e-3 / step)
        tr.end_epoch(epoch, test_loss=1.5 / step, test_accuracy=0.9 + 0.01 * epoch)
    return tr


def test_figure_panels_share_units_with_axes_legends_and_titles():
    pytest.importorskip("matplotlib")
    fig = _curves_tracker().figure(title="run 1")
    axes = {ax.get_title(loc="left"): ax for ax in fig.axes}
    assert sorted(axes) == ["accuracy", "loss", "lr"]  # test_* joined their train panel
    loss = axes["loss"]
    assert loss.get_xlabel() == "step" and loss.get_ylabel() == "loss"
    legend = [t.get_text() for t in loss.get_legend().get_texts()]
    assert legend == ["loss (per step)", "loss (mean of 12)", "test_loss (per epoch)"]
    epoch_line = loss.get_lines()[-1]
    assert list(epoch_line.get_xdata()) == [200, 400, 600]  # epochs at their last step
    assert loss.get_yscale() == "linear"
    fig.canvas.draw()  # tick labels exist once drawn
    assert sum(bool(t.get_text()) for t in loss.get_yticklabels()) >= 3
    assert sum(bool(t.get_text()) for t in loss.get_xticklabels()) >= 3
    assert fig.get_suptitle() == "run 1"


def test_figure_log_scale_option():
    pytest.importorskip("matplotlib")
    tr = _curves_tracker()
    scales = lambda fig: {ax.get_title(loc="left"): ax.get_yscale() for ax in fig.axes}
    assert scales(tr.figure(log_y=True)) == {
        "loss (log scale)": "log",
        "accuracy": "linear",
        "lr": "linear",
    }
    assert scales(tr.figure(log_y=["lr"]))["lr (log scale)"] == "log"


def test_figure_titles_fit_inside_the_image():
    pytest.importorskip("matplotlib")
    tr, _, _ = _tracker(log_every=1000)
    for step in range(1, 5):
        tr.log(step, a_rather_long_metric_name_for_the_gradient_norm=float(step))
    fig = tr.figure(title="a long title that must not run off the edge of the image")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ticks = {
        id(t)
        for ax in fig.axes
        for t in ax.get_xticklabels(which="both") + ax.get_yticklabels(which="both")
    }  # matplotlib keeps off-view tick labels around; titles, labels and legends are checked
    texts = [
        t for t in fig.findobj(Text) if t.get_text() and t.get_visible() and id(t) not in ticks
    ]
    assert any("long title" in t.get_text() for t in texts)
    assert any(t.get_text().startswith("a_rather_long") for t in texts)
    for text in texts:
        box = text.get_window_extent(renderer)
        assert box.x0 >= -0.5 and box.x1 <= fig.bbox.width + 0.5, text.get_text()
        assert box.y0 >= -0.5 and box.y1 <= fig.bbox.height + 0.5, text.get_text()


def test_unit_grouping_and_label_wrapping_rules():
    from funcgrad._src.tracker_plot import unit_of, wrap_name

    assert wrap_name("grad_norm_of_the_last_layer", 12) == "grad_norm_\nof_the_last_\nlayer"
    assert wrap_name("loss", 12) == "loss"

    assert [unit_of(n) for n in ("loss", "train_loss", "val_loss", "loss_test", "test")] == [
        "loss",
        "loss",
        "loss",
        "loss",
        "test",
    ]


def test_plot_with_matplotlib_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    tr = Tracker(print_fn=None)
    for s in range(5):
        tr.log(s, loss=1.0 / (s + 1))
    tr.end_epoch(0, val=0.3)
    path = tr.plot(tmp_path / "m.png")
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG" and path.endswith("m.png")
    from matplotlib.image import imread

    pixels = imread(path)
    assert pixels.shape[1] > 500 and pixels.std() > 0.05  # a drawn figure, not a blank


def test_only_epochs_plots_against_epoch(tmp_path):
    pytest.importorskip("matplotlib")
    tr = Tracker(print_fn=None)
    for e in range(3):
        tr.end_epoch(e, val_loss=1.0 / (e + 1))
    (ax,) = tr.figure().axes
    assert ax.get_xlabel() == "epoch" and list(ax.get_lines()[0].get_xdata()) == [0, 1, 2]


def test_bad_arguments():
    with pytest.raises(ValueError, match="log_every"):
        Tracker(log_every=0)
    with pytest.raises(ValueError, match="which"):
        Tracker(print_fn=None).to_csv("x.csv", which="batches")


def test_default_print_fn_prints(capsys):
    tr = Tracker(log_every=1)
    tr.log(1, loss=0.25)
    assert "step 1 |" in capsys.readouterr().out
