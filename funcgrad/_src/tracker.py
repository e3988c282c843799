"""Tracker (public as ``funcgrad.metrics.Tracker``): host-side training metrics, a one-line
progress display, CSV/JSON, optional sinks (TensorBoard) and matplotlib figures."""

from __future__ import annotations

import csv
import json
import math
import os
import time
from collections.abc import Callable, Sequence

import numpy as np

from funcgrad._src import tracker_plot

__all__ = ["Tracker"]


def _to_float(name: str, value) -> float:
    """A metric value (Python number, numpy or funcgrad scalar/size-1 array) as a float."""
    if isinstance(value, (int, float, np.generic)) and not isinstance(value, np.ndarray):
        return float(value)
    try:
        arr = np.asarray(value)
    except Exception:  # an array type without __array__: try __float__
        arr = None
    if arr is not None and arr.dtype.kind not in "biufO":
        raise TypeError(
            f"metric {name!r} must be a number or a size-1 array, got "
            f"{type(value).__name__} of dtype {arr.dtype}"
        )
    if arr is None or arr.dtype == object:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise TypeError(
                f"metric {name!r} must be a number or a size-1 array, got {type(value).__name__}"
            ) from None
    if arr.size != 1:
        raise TypeError(
            f"metric {name!r} must be a scalar, got an array of shape {arr.shape};"
            " reduce it first (e.g. .mean())"
        )
    return float(arr.reshape(()))


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _fmt_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _stats(vals: np.ndarray) -> dict:
    """last/min/max/mean of a metric's values, ignoring NaNs (all NaN -> NaN)."""
    finite = vals[~np.isnan(vals)]
    if finite.size == 0:
        nan = float("nan")
        return {"last": float(vals[-1]), "min": nan, "max": nan, "mean": nan}
    return {
        "last": float(vals[-1]),
        "min": float(finite.min()),
        "max": float(finite.max()),
        "mean": float(finite.mean()),
    }


def _metrics_of(row: dict, skip: tuple) -> dict:
    return {k: v for k, v in row.items() if k not in skip}


def _json_safe(v):
    return v if not isinstance(v, float) or math.isfinite(v) else None


class Tracker:
    """Record training metrics on the host and show progress.

    * ``log(step, **metrics)`` stores one row per call; every ``log_every`` steps (when
      ``step % log_every == 0``, and at ``total_steps``) it prints one line: step/total,
      rate in steps/s since the previous line, ETA, and the latest metrics.
    * ``end_epoch(epoch, **metrics)`` stores (and prints) per-epoch metrics; with
      ``out_dir`` the histories are also written there (``steps.csv``, ``epochs.csv``,
      ``metrics.json``) after every epoch.
    * ``to_csv``, ``to_json``, ``summary``; ``plot`` draws the curves with matplotlib (the
      optional extra ``funcgrad[plot]``; without it, it writes the CSV/JSON and says so).
    * ``sinks``: objects that also receive every row, e.g. ``TensorBoardSink(logdir)``;
      ``close()`` (or ``with Tracker(...) as tr:``) closes them.

    Metric values may be Python numbers or numpy/funcgrad scalars (converted with float).

    Args:
      log_every: print a progress line every this many steps (a positive int).
      out_dir: a directory (created) where ``end_epoch`` writes the histories and
        ``to_csv``/``to_json``/``plot`` write by default; None: nothing is written
        unless a path is given.
      total_steps: the number of steps, for the ``step i/total`` display and the ETA.
      print_fn: called with each progress line; None: print nothing.
      clock: the time source in seconds (default ``time.perf_counter``; a fake for tests).
      sinks: objects with ``log(step, metrics)``, ``end_epoch(epoch, step, metrics)`` and
        ``close()`` that also receive every row.

    Raises:
      ValueError: if ``log_every`` is not a positive int.

    >>> lines = []
    >>> tr = Tracker(log_every=2, total_steps=4, print_fn=lines.append)
    >>> for step in range(1, 5):
    ...     tr.log(step, loss=1.0 / step)
    >>> len(tr.history), len(lines), lines[-1].startswith("step 4/4")
    (4, 2, True)
    >>> tr.summary()["metrics"]["loss"]["last"]
    0.25
    """

    def __init__(
        self,
        log_every: int = 10,
        out_dir=None,
        total_steps: int | None = None,
        print_fn: Callable[[str], object] | None = print,
        clock: Callable[[], float] = time.perf_counter,
        sinks: Sequence = (),
    ):
        if not isinstance(log_every, int) or log_every < 1:
            raise ValueError(f"Tracker: log_every must be a positive int, got {log_every!r}")
        self.log_every = log_every
        self.out_dir = None if out_dir is None else os.fspath(out_dir)
        self.total_steps = total_steps
        self.print_fn = print_fn
        self._clock = clock
        self._t0 = clock()
        self._mark: tuple[float, int | None] = (self._t0, None)  # (time, step) of last line
        self.history: list[dict] = []  # per step: {"step", "time", **metrics}
        self.epochs: list[dict] = []  # per epoch: {"epoch", "time", **metrics}
        self._epoch_steps: list[int | None] = []  # the last logged step when each epoch ended
        self.sinks = list(sinks)
        if self.out_dir is not None:
            os.makedirs(self.out_dir, exist_ok=True)

    # -- recording --

    def log(self, step: int, **metrics) -> None:
        """Record ``metrics`` at ``step``; print a progress line every ``log_every`` steps.

        Args:
          step: the step number (an int; also printed at ``step == total_steps``).
          **metrics: name -> a number or size-1 array (converted with ``float``).

        Raises:
          TypeError: if a value is not a number or has more than one element.
        """
        step = int(step)
        now = self._clock()
        row = {"step": step, "time": now - self._t0}
        row.update({k: _to_float(k, v) for k, v in metrics.items()})
        self.history.append(row)
        for sink in self.sinks:
            sink.log(step, _metrics_of(row, ("step", "time")))
        if self._mark[1] is None:  # first call: count this step as done
            self._mark = (self._mark[0], step - 1)
        if step % self.log_every == 0 or step == self.total_steps:
            self._emit(self.progress_line(step, now))
            self._mark = (now, step)

    def end_epoch(self, epoch: int, **metrics) -> None:
        """Record per-epoch ``metrics`` (e.g. validation), print them, save to ``out_dir``.

        Args:
          epoch: the epoch number.
          **metrics: name -> a number or size-1 array (converted with ``float``).

        Raises:
          TypeError: if a value is not a number or has more than one element.
        """
        row = {"epoch": int(epoch), "time": self._clock() - self._t0}
        row.update({k: _to_float(k, v) for k, v in metrics.items()})
        self.epochs.append(row)
        last_step = self.history[-1]["step"] if self.history else None
        self._epoch_steps.append(last_step)
        for sink in self.sinks:
            sink.end_epoch(row["epoch"], last_step, _metrics_of(row, ("epoch", "time")))
        shown = " ".join(f"{k} {_fmt(v)}" for k, v in row.items() if k not in ("epoch", "time"))
        self._emit(
            f"epoch {row['epoch']} | {_fmt_duration(row['time'])} elapsed"
            + (f" | {shown}" if shown else "")
        )
        if self.out_dir is not None:
            self.save()

    def progress_line(self, step: int, now: float | None = None) -> str:
        """The one-line display for ``step``: step/total, steps/s, ETA, latest metrics.

        Args:
          step: the current step.
          now: the clock's time (default: read the clock now).

        Returns:
          The line, e.g. ``"step 40/100 | 12.50 steps/s | ETA 0:05 | loss 0.25"``.
        """
        now = self._clock() if now is None else now
        t_mark, s_mark = self._mark
        dt = now - t_mark
        rate = (step - s_mark) / dt if s_mark is not None and dt > 0 else float("nan")
        parts = [f"step {step}/{self.total_steps}" if self.total_steps else f"step {step}"]
        parts.append(f"{rate:.2f} steps/s" if math.isfinite(rate) else "? steps/s")
        if self.total_steps:
            eta = (self.total_steps - step) / rate if rate > 0 else float("nan")
            parts.append(f"ETA {_fmt_duration(max(eta, 0.0))}")
        latest = self.latest
        if latest:
            parts.append(" ".join(f"{k} {_fmt(v)}" for k, v in latest.items()))
        return " | ".join(parts)

    def _emit(self, line: str) -> None:
        if self.print_fn is not None:
            self.print_fn(line)

    # -- reading --

    @property
    def latest(self) -> dict:
        """The most recent value of each step metric."""
        out: dict = {}
        for row in self.history:
            out.update({k: v for k, v in row.items() if k not in ("step", "time")})
        return out

    def metric_names(self, which: str = "steps") -> list[str]:
        """Metric names in first-seen order.

        Args:
          which: ``"steps"`` or ``"epochs"``.

        Returns:
          A list of names.

        Raises:
          ValueError: for another ``which``.
        """
        rows, skip = self._rows(which)
        names: dict = {}
        for row in rows:
            names.update({k: None for k in row if k not in skip})
        return list(names)

    def _rows(self, which: str):
        if which == "steps":
            return self.history, ("step", "time")
        if which == "epochs":
            return self.epochs, ("epoch", "time")
        raise ValueError(f"which must be 'steps' or 'epochs', got {which!r}")

    def summary(self) -> dict:
        """Counts, elapsed time and last/min/max/mean of each step metric, last epoch row.

        Returns:
          A dict with ``steps`` (rows logged), ``last_step``, ``epochs``, ``elapsed_s``,
          ``metrics`` (name -> ``{"last", "min", "max", "mean"}``, NaNs ignored) and
          ``last_epoch`` (the last epoch row, or None).

        >>> tr = Tracker(print_fn=None)
        >>> tr.log(1, loss=3.0); tr.log(2, loss=1.0)
        >>> s = tr.summary()
        >>> s["steps"], s["metrics"]["loss"]["min"], s["metrics"]["loss"]["mean"]
        (2, 1.0, 2.0)
        """
        stats = {}
        for name in self.metric_names("steps"):
            vals = np.array([r[name] for r in self.history if name in r], dtype=np.float64)
            stats[name] = _stats(vals)
        return {
            "steps": len(self.history),
            "last_step": self.history[-1]["step"] if self.history else None,
            "epochs": len(self.epochs),
            "elapsed_s": self._clock() - self._t0,
            "metrics": stats,
            "last_epoch": dict(self.epochs[-1]) if self.epochs else None,
        }

    # -- writing --

    def _path(self, path, default: str) -> str:
        if path is not None:
            return os.fspath(path)
        if self.out_dir is None:
            raise ValueError(
                "no path given and the tracker has no out_dir: pass a path or Tracker(out_dir=...)"
            )
        return os.path.join(self.out_dir, default)

    def to_csv(self, path=None, which: str = "steps") -> str:
        """Write the step (or epoch) history as CSV; missing values are empty cells.

        Args:
          path: the file; default ``out_dir/steps.csv`` (or ``epochs.csv``).
          which: ``"steps"`` or ``"epochs"``.

        Returns:
          The path written.

        Raises:
          ValueError: without ``path`` or ``out_dir``, or for another ``which``.
        """
        rows, skip = self._rows(which)
        path = self._path(path, f"{which}.csv")
        fields = list(skip) + self.metric_names(which)
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields, restval="")
            writer.writeheader()
            writer.writerows(rows)
        return path

    def to_json(self, path=None) -> str:
        """Write ``{"steps": [...], "epochs": [...], "summary": {...}}`` (NaN/inf -> null).

        Args:
          path: the file; default ``out_dir/metrics.json``.

        Returns:
          The path written.

        Raises:
          ValueError: without ``path`` or ``out_dir``.
        """
        path = self._path(path, "metrics.json")
        clean = lambda rows: [{k: _json_safe(v) for k, v in r.items()} for r in rows]
        summary = self.summary()
        summary["metrics"] = {
            k: {s: _json_safe(v) for s, v in d.items()} for k, d in summary["metrics"].items()
        }
        if summary["last_epoch"] is not None:
            summary["last_epoch"] = clean([summary["last_epoch"]])[0]
        with open(path, "w") as f:
            json.dump(
                {"steps": clean(self.history), "epochs": clean(self.epochs), "summary": summary},
                f,
                indent=1,
                allow_nan=False,
            )
        return path

    def save(self) -> None:
        """Write steps.csv, epochs.csv and metrics.json into ``out_dir``."""
        self.to_csv(which="steps")
        self.to_csv(which="epochs")
        self.to_json()

    def plot(self, path=None, *, log_y=False, title: str | None = None) -> str | None:
        """Draw the metric curves into a PNG with matplotlib; returns the path written.

        One panel per unit: a step metric and the epoch metrics named like it
        (``loss``/``test_loss``, ``accuracy``/``val_accuracy``) share axes, epoch points
        placed at the step where the epoch ended; long noisy step curves get a moving
        average. ``log_y=True`` puts every panel whose name contains "loss" on a log scale
        (or pass the panel names to use one). Without matplotlib (the optional extra
        ``funcgrad[plot]``) nothing is drawn: the CSV/JSON histories are written next to
        ``path`` (or into ``out_dir``), a line says how to get the figures, and the result is
        ``None``.

        Args:
          path: the PNG file; default ``out_dir/metrics.png``.
          log_y: False, True, or a collection of panel names to draw on a log scale.
          title: the figure's title.

        Returns:
          The path written, or None without matplotlib.

        Raises:
          ValueError: without ``path`` or ``out_dir``.
        """
        path = self._path(path, "metrics.png")
        if not tracker_plot.have_matplotlib():
            self._save_tables(os.path.dirname(os.path.abspath(path)))
            self._emit(
                f"no figure written to {path}: matplotlib is not installed "
                f"({tracker_plot.PLOT_HINT}); the metrics are in steps.csv, epochs.csv "
                f"and metrics.json"
            )
            return None
        self.figure(log_y=log_y, title=title).savefig(path)
        return path

    def figure(self, *, log_y=False, title: str | None = None):
        """The curves of :meth:`plot` as a matplotlib ``Figure`` (e.g. to show in a notebook
        or to save in another format).

        Args:
          log_y: as for :meth:`plot`.
          title: the figure's title.

        Returns:
          A ``matplotlib.figure.Figure``.

        Raises:
          ImportError: without matplotlib.
        """
        if not tracker_plot.have_matplotlib():
            raise ImportError(
                f"Tracker.figure needs matplotlib, an optional extra: {tracker_plot.PLOT_HINT}"
            )
        has_steps = bool(self.history)
        series = [
            tracker_plot.Series(n, "steps", *self._column("steps", n, "step"))
            for n in self.metric_names("steps")
        ]
        series += [
            tracker_plot.Series(n, "epochs", *self._epoch_column(n, has_steps))
            for n in self.metric_names("epochs")
        ]
        x_label = "step" if has_steps else "epoch"
        return tracker_plot.make_figure(series, x_label=x_label, log_y=log_y, title=title)

    def _column(self, which: str, name: str, x_key: str) -> tuple[list, list]:
        rows, _ = self._rows(which)
        pts = [(r[x_key], r[name]) for r in rows if name in r]
        return [p[0] for p in pts], [p[1] for p in pts]

    def _epoch_column(self, name: str, at_steps: bool) -> tuple[list, list]:
        """An epoch metric's points: at the step its epoch ended (or at the epoch number)."""
        pts = [
            (s if at_steps and s is not None else r["epoch"], r[name])
            for r, s in zip(self.epochs, self._epoch_steps)
            if name in r and (s is not None or not at_steps)
        ]
        return [p[0] for p in pts], [p[1] for p in pts]

    def _save_tables(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self.to_csv(os.path.join(directory, "steps.csv"), which="steps")
        self.to_csv(os.path.join(directory, "epochs.csv"), which="epochs")
        self.to_json(os.path.join(directory, "metrics.json"))

    # -- sinks --

    def close(self) -> None:
        """Close every sink (flushes TensorBoard event files)."""
        for sink in self.sinks:
            sink.close()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Tracker({len(self.history)} steps, {len(self.epochs)} epochs, "
            f"metrics={self.metric_names()})"
        )


MetricTracker = Tracker  # the name before the tracker became public (funcgrad.metrics.Tracker)
