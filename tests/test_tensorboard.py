"""The Tracker's TensorBoard sink (tensorboardX), checked by reading the event file back."""

import struct
import sys

import numpy as np
import pytest

from funcgrad.metrics import TensorBoardSink, Tracker


def read_scalars(logdir) -> list[tuple[int, str, float]]:
    """(step, tag, value) of every scalar in the TFRecord event files of ``logdir``.

    A TFRecord is: length (uint64 LE), its masked CRC (uint32), the Event bytes, their CRC."""
    from tensorboardX.proto.event_pb2 import Event

    out = []
    for path in sorted(logdir.glob("events.out.tfevents.*")):
        data, i = path.read_bytes(), 0
        while i < len(data):
            (n,) = struct.unpack("<Q", data[i : i + 8])
            event = Event.FromString(data[i + 12 : i + 12 + n])
            out += [(event.step, v.tag, v.simple_value) for v in event.summary.value]
            i += 12 + n + 4
    return out


def test_step_and_epoch_metrics_reach_the_event_file(tmp_path):
    pytest.importorskip("tensorboardX")
    with Tracker(print_fn=None, sinks=[TensorBoardSink(tmp_path)]) as tr:
        for step in range(1, 4):
            tr.log(step, loss=np.float32(1.0 / step), accuracy=0.25 * step)
        tr.end_epoch(0, test_accuracy=0.5)
        tr.log(4, loss=0.2)
        tr.end_epoch(1, test_accuracy=0.75)
    got = read_scalars(tmp_path)
    assert [(s, t) for s, t, _ in got if t == "loss"] == [
        (1, "loss"),
        (2, "loss"),
        (3, "loss"),
        (4, "loss"),
    ]
    values = {(s, t): v for s, t, v in got}
    np.testing.assert_allclose(values[(2, "loss")], 0.5)
    np.testing.assert_allclose(values[(3, "accuracy")], 0.75)
    # epoch metrics at the step where their epoch ended, so they line up with train curves
    assert values[(3, "epoch/test_accuracy")] == 0.5
    assert values[(4, "epoch/test_accuracy")] == 0.75


def test_epochs_without_steps_use_the_epoch_number(tmp_path):
    pytest.importorskip("tensorboardX")
    sink = TensorBoardSink(tmp_path)
    tr = Tracker(print_fn=None, sinks=[sink])
    tr.end_epoch(7, val_loss=0.125)
    tr.close()
    assert read_scalars(tmp_path) == [(7, "epoch/val_loss", 0.125)]
    assert repr(sink) == f"TensorBoardSink({str(tmp_path)!r})"


def test_missing_tensorboardx_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"pip install \"funcgrad\[tensorboard\]\""):
        TensorBoardSink(tmp_path)


def test_any_object_with_the_sink_methods_is_a_sink():
    calls = []

    class Recorder:
        def log(self, step, metrics):
            calls.append(("log", step, metrics))

        def end_epoch(self, epoch, step, metrics):
            calls.append(("epoch", epoch, step, metrics))

        def close(self):
            calls.append(("close",))

    with Tracker(print_fn=None, sinks=[Recorder()]) as tr:
        tr.log(5, loss=np.array(2.0))
        tr.end_epoch(0, acc=1)
    assert calls == [("log", 5, {"loss": 2.0}), ("epoch", 0, 5, {"acc": 1.0}), ("close",)]
