"""Where a Tracker sends its numbers besides its own history: ``sinks``.

A sink is any object with ``log(step, metrics)``, ``end_epoch(epoch, step, metrics)`` and
``close()`` (``metrics`` a dict of floats). :class:`TensorBoardSink` writes TensorBoard event
files through ``tensorboardX`` (the optional extra funcgrad[tensorboard]).
"""

from __future__ import annotations

import os

TENSORBOARD_HINT = 'pip install "funcgrad[tensorboard]"'


class TensorBoardSink:
    """Write a Tracker's metrics as TensorBoard scalars (needs ``tensorboardX``).

    Step metrics go to tag ``name`` at their step; epoch metrics go to tag ``epoch/name`` at
    the step the epoch ended (so train and test curves share TensorBoard's x axis), or at
    the epoch number when no step was logged yet. ``tensorboard --logdir LOGDIR`` shows them.

    Args:
      logdir: the directory of the event files.
      flush_secs: how often tensorboardX flushes to disk, in seconds.

    Raises:
      ImportError: without ``tensorboardX`` (the optional extra ``funcgrad[tensorboard]``).

    >>> import tempfile
    >>> from funcgrad.metrics import Tracker, TensorBoardSink
    >>> tr = Tracker(print_fn=None, sinks=[TensorBoardSink(tempfile.mkdtemp())])
    >>> tr.log(1, loss=0.5)
    >>> tr.close()
    """

    def __init__(self, logdir, flush_secs: int = 10):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError(
                f"TensorBoardSink needs tensorboardX, an optional extra: {TENSORBOARD_HINT}"
            ) from None
        self.logdir = os.fspath(logdir)
        self._writer = SummaryWriter(logdir=self.logdir, flush_secs=flush_secs)

    def log(self, step: int, metrics: dict) -> None:
        """Write step metrics as scalars.

        Args:
          step: the global step.
          metrics: name -> float.
        """
        for name, value in metrics.items():
            self._writer.add_scalar(name, value, global_step=step)

    def end_epoch(self, epoch: int, step: int | None, metrics: dict) -> None:
        """Write epoch metrics as ``epoch/<name>`` scalars and flush.

        Args:
          epoch: the epoch number (the x value when ``step`` is None).
          step: the last step logged before the epoch ended, or None.
          metrics: name -> float.
        """
        where = epoch if step is None else step
        for name, value in metrics.items():
            self._writer.add_scalar(f"epoch/{name}", value, global_step=where)
        self._writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self._writer.close()

    def __repr__(self) -> str:
        return f"TensorBoardSink({self.logdir!r})"
