"""What a training run shows while it runs: one progress bar, the live learning curve and a time estimate.

:class:`Reporter` puts the three behind four calls (``start_epoch``, ``batch_done``,
``epoch_done``, ``close``), so the training loop says *when* to report and this module *how*.
In a notebook the bar is a text line kept in its final state (:class:`~alexnet_lib.plots.ProgressLine`)
and the curve is drawn live (:class:`~alexnet_lib.plots.LiveCurve`); in a terminal the bar is tqdm's.
"""

from __future__ import annotations

import time

import torch
from tqdm import tqdm

from .plots import LiveCurve, ProgressLine, duration_text, in_notebook
from .precision import Precision, sync

__all__ = ["Reporter", "RunEstimate"]


def _progress_bar(total: int | None, name: str, enabled: bool):
    """One bar for the whole run: a text line kept in its final state in a notebook, tqdm in a terminal."""
    if enabled and in_notebook():
        return ProgressLine(total, name, enabled=True)
    return tqdm(total=total, desc=name, unit="batch", disable=not enabled, dynamic_ncols=True)


class RunEstimate:
    """Prints, once the first batches are timed, about how long the whole run will take.

    The first batch is a warm-up (memory, kernel choices) and is not counted; testing is
    assumed to cost a third of a training step per batch (a forward pass only).
    """

    TIMED = 3  # batches timed after the warm-up batch

    def __init__(self, name: str, epochs: int, train_batches: int | None, test_batches: int | None, device: torch.device, enabled: bool) -> None:
        self.name, self.epochs, self.train_batches, self.test_batches = name, epochs, train_batches, test_batches or 0
        self.device, self.enabled = device, enabled and bool(train_batches)
        self.start = time.perf_counter()

    def batch_done(self, index: int) -> None:
        """Call after training batch ``index`` of the first epoch; prints once, then does nothing."""
        if not self.enabled:
            return
        last = min(self.TIMED, self.train_batches - 1)
        if index == 0 and last > 0:
            sync(self.device)
            self.start = time.perf_counter()
        if index < last:
            return
        sync(self.device)
        per_batch = (time.perf_counter() - self.start) / max(index, 1)
        steps = self.epochs * (self.train_batches + self.test_batches / 3)
        epochs = f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        print(f"{self.name}: about {duration_text(per_batch * steps)} for {epochs} of {self.train_batches} batches "
              f"(timed on the first batches on this machine)", flush=True)
        self.enabled = False


class Reporter:
    """The progress bar, live curve and time estimate of one :func:`~alexnet_lib.training.fit` run.

    ``progress`` shows the bar, ``plot`` the curve (None: in notebooks only), ``announce`` the
    estimate (None: in notebooks only). The running figures are shown at most twice a second.

    >>> from alexnet_lib.precision import choose_precision
    >>> reporter = Reporter("net", 1, 2, 0, choose_precision("cpu", amp=False), progress=False, plot=False, announce=False)
    >>> reporter.start_epoch(0); reporter.close()
    """

    def __init__(self, name: str, epochs: int, batches: int | None, test_batches: int | None, precision: Precision, *,
                 progress: bool, plot: bool | None, announce: bool | None) -> None:
        self.name, self.epochs, self.batches = name, epochs, batches
        self.curve = LiveCurve(epochs, title=f"{name}: {precision.describe()} on {precision.device}", enabled=plot)
        self.bar = _progress_bar(epochs * batches if batches else None, name, progress)
        self.estimate = RunEstimate(name, epochs, batches, test_batches, precision.device,
                                    enabled=in_notebook() if announce is None else announce)
        self.live = progress or self.curve.enabled
        self.last_shown = time.perf_counter()

    def start_epoch(self, epoch: int) -> None:
        self.bar.set_description(f"{self.name} epoch {epoch + 1}/{self.epochs}", refresh=False)
        self.last_shown = time.perf_counter()

    def batch_done(self, epoch: int, index: int, loss_and_accuracy) -> None:
        """After training batch ``index``; ``loss_and_accuracy()`` gives the epoch's running means (read only when shown)."""
        self.estimate.batch_done(index)
        self.bar.update(1)
        now = time.perf_counter()
        if self.live and now - self.last_shown > 0.5:
            self.last_shown = now
            loss, accuracy = loss_and_accuracy()
            self.bar.set_postfix(loss=f"{loss:.3f}", acc=f"{accuracy:.3f}", refresh=False)
            fraction = (index + 1) / self.batches if self.batches else 1.0
            self.curve.add(epoch + fraction, train_loss=loss, train_acc=accuracy)

    def epoch_done(self, row: dict[str, float]) -> None:
        """After an epoch's test: its figures on the bar and the curve."""
        self.bar.set_postfix(loss=f"{row['train_loss']:.3f}", train_acc=f"{row['train_acc']:.3f}", test_acc=f"{row['test_acc']:.3f}")
        self.curve.add(row["epoch"], **{k: row[k] for k in ("train_loss", "train_acc", "test_loss", "test_acc")})
        self.curve.draw()

    def close(self) -> None:
        self.bar.close()

    def finish(self) -> None:
        """After the run: the curve in its final state."""
        if self.curve.enabled:
            self.curve.draw()
