"""The Tracker's figure: metric curves drawn with matplotlib (the optional extra funcgrad[plot]).

Metrics that share a unit share a panel: ``loss`` per step and ``test_loss`` per epoch are drawn
on the same axes (the unit is the name without a ``train_``/``test_``/``val_``... prefix or
suffix). Epoch metrics are placed at the step where their epoch ended, so train and test
curves line up. Only ``matplotlib.figure.Figure`` is used (no pyplot: no global state, no GUI
backend).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

PLOT_HINT = 'pip install "funcgrad[plot]"'
_SPLITS = ("train", "training", "test", "val", "valid", "validation", "eval")


class Series(NamedTuple):
    name: str
    which: str  # "steps" or "epochs"
    x: list
    y: list


def have_matplotlib() -> bool:
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        return False
    return True


def unit_of(name: str) -> str:
    """The panel a metric belongs to: its name without a train/test/val prefix or suffix."""
    for split in _SPLITS:
        if name.startswith(split + "_") and len(name) > len(split) + 1:
            return name[len(split) + 1 :]
        if name.endswith("_" + split) and len(name) > len(split) + 1:
            return name[: -len(split) - 1]
    return name


def group_by_unit(series: list[Series]) -> dict[str, list[Series]]:
    panels: dict[str, list[Series]] = {}
    for s in series:
        panels.setdefault(unit_of(s.name), []).append(s)
    return panels


def wants_log(unit: str, log_y) -> bool:
    """``log_y``: False, True (every panel whose name contains "loss"), or a set of names."""
    if isinstance(log_y, bool):
        return log_y and "loss" in unit
    return unit in set(log_y)


def _finite(s: Series):
    x, y = np.asarray(s.x, np.float64), np.asarray(s.y, np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def _moving_average(y: np.ndarray, window: int) -> np.ndarray:
    kernel = np.ones(window) / window
    return np.convolve(y, kernel, mode="valid")


def _draw_steps(ax, s: Series, color) -> None:
    x, y = _finite(s)
    window = len(y) // 50
    if window < 3:
        ax.plot(x, y, color=color, lw=1.5, label=f"{s.name} (per step)")
        return
    ax.plot(x, y, color=color, lw=0.8, alpha=0.3, label=f"{s.name} (per step)")
    smooth = _moving_average(y, window)
    ax.plot(x[window - 1 :], smooth, color=color, lw=1.8, label=f"{s.name} (mean of {window})")


def _draw_epochs(ax, s: Series, color) -> None:
    x, y = _finite(s)
    ax.plot(x, y, color=color, lw=1.8, marker="o", ms=4, label=f"{s.name} (per epoch)")


def wrap_name(name: str, width: int) -> str:
    """Break a long metric name into lines of at most ``width`` characters at underscores
    (so a long label never runs off the figure)."""
    lines = [""]
    for part in name.split("_"):
        piece = part if not lines[-1] else "_" + part
        if lines[-1] and len(lines[-1]) + len(piece) + 1 > width:  # +1: the trailing "_"
            lines[-1] += "_"
            lines.append(part)
        else:
            lines[-1] += piece
    return "\n".join(lines)


def _log_axis(ax) -> None:
    """A log y axis whose ticks (1, 2, 5 per decade) read as plain numbers, not 10^k."""
    from matplotlib import ticker

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def _draw_panel(ax, unit: str, members: list[Series], x_label: str, log: bool) -> None:
    from matplotlib import ticker

    colors = ["C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7"]
    for i, s in enumerate(members):
        draw = _draw_steps if s.which == "steps" else _draw_epochs
        draw(ax, s, colors[i % len(colors)])
    if log:
        _log_axis(ax)
    ax.set_title(wrap_name(unit, 60) + (" (log scale)" if log else ""), fontsize=11, loc="left")
    ax.set_xlabel(x_label)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))  # steps and epochs are whole
    ax.set_ylabel(wrap_name(unit, 24))
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="best", framealpha=0.8)


def make_figure(series: list[Series], *, x_label: str, log_y=False, title=None):
    """A matplotlib Figure with one panel per unit."""
    from matplotlib.figure import Figure

    panels = group_by_unit([s for s in series if len(_finite(s)[0])])
    n = max(len(panels), 1)
    cols = 1 if n == 1 else 2
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(6.0 * cols, 3.4 * rows), dpi=110, layout="constrained")
    for i, (unit, members) in enumerate(panels.items()):
        ax = fig.add_subplot(rows, cols, i + 1)
        _draw_panel(ax, unit, members, x_label, wants_log(unit, log_y))
    if title:
        fig.suptitle(title, fontsize=12)
    return fig
