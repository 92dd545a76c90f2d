"""What a training run shows while it runs: one progress bar, the live learning curve and a time estimate.

:class:`Reporter` puts the three behind four calls (``start_epoch``, ``batch_done``,
``epoch_done``, ``close``), so the training loop says *when* to report and this module *how*.
In a notebook the bar is a text line kept in its final state (:class:`~alexnet_lib.course.plots.ProgressLine`)
and the curve is drawn live (:class:`~alexnet_lib.course.plots.LiveCurve`); in a terminal the bar is tqdm's.
"""

from __future__ import annotations

import importlib
import io
import time

import torch
from matplotlib.figure import Figure
from tqdm import tqdm

from .precision import Precision, sync

__all__ = ["LiveCurve", "ProgressLine", "Reporter", "RunEstimate", "duration_text", "in_notebook", "new_figure", "png_bytes"]


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


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (where figures and widgets can be displayed).

    >>> in_notebook()
    False
    """
    try:
        from IPython import get_ipython  # optional: IPython is there in a notebook, not always on the command line
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def new_figure(**kwargs) -> Figure:
    """A figure outside pyplot; in a notebook, first make sure IPython knows how to display figures.

    The inline backend registers its figure formatters only when it is loaded, which pyplot
    does on its first figure; a notebook that never used pyplot would show ``<Figure ...>``.
    """
    if in_notebook():
        try:
            importlib.import_module("matplotlib_inline.backend_inline")  # optional; loading it registers the display of figures
        except ImportError:
            pass
    return Figure(**kwargs)


def png_bytes(fig: Figure, tight: bool = False) -> bytes:
    """The figure as PNG bytes; ``tight`` trims the empty margin around it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight" if tight else None)
    return buffer.getvalue()


class LiveCurve:
    """Loss and accuracy against epochs, redrawn in place in a notebook while a model trains.

    One figure, two panels (cross-entropy loss; accuracy), four lines (train and test of
    each) whose data grow with :meth:`add`. The figure is shown as a PNG through an IPython
    display handle and replaced in place at most every ``min_interval`` seconds (rendering
    costs tens of milliseconds) and at :meth:`draw`. ``enabled=None`` draws only in a Jupyter
    kernel; outside one the curve only records its points.

    >>> curve = LiveCurve(epochs=2, title="lenet")
    >>> curve.add(0.5, train_loss=2.0, train_acc=0.3); curve.add(1, test_loss=1.5, test_acc=0.5)
    >>> curve.points["train_loss"], curve.enabled
    ([(0.5, 2.0)], False)
    """

    _STYLE = {
        "train_loss": (0, "train", "tab:blue", "-"),
        "test_loss": (0, "test", "tab:orange", "--"),
        "train_acc": (1, "train", "tab:blue", "-"),
        "test_acc": (1, "test", "tab:orange", "--"),
    }

    def __init__(self, epochs: int, title: str = "", min_interval: float = 1.0, enabled: bool | None = None) -> None:
        self.enabled = in_notebook() if enabled is None else enabled
        self.min_interval = min_interval
        self.points: dict[str, list[tuple[float, float]]] = {key: [] for key in self._STYLE}
        self.epochs, self.title = epochs, title
        self.fig: Figure | None = None  # made on the first draw: a run outside a notebook never pays for it
        self._handle = None
        self._last_draw = 0.0

    def figure(self) -> Figure:
        """The figure with the points so far (made on first use)."""
        if self.fig is None:
            self.fig = new_figure(figsize=(7.5, 2.8), dpi=90, layout="constrained")
            axes = self.fig.subplots(1, 2)
            self.lines = {}
            for key, (panel, label, color, style) in self._STYLE.items():
                marker = "." if "test" in key else None
                (self.lines[key],) = axes[panel].plot([], [], style, color=color, label=label, marker=marker)
            for ax, ylabel in zip(axes, ("loss (cross-entropy)", "accuracy")):
                ax.set_xlim(0, max(self.epochs, 1))
                ax.set_xlabel("epoch")
                ax.set_ylabel(ylabel)
                ax.grid(alpha=0.3)
                ax.legend(loc="upper right" if ylabel.startswith("loss") else "lower right", fontsize=8)
            axes[1].set_ylim(0, 1)
            if self.title:
                self.fig.suptitle(self.title, fontsize=10)
            self.axes = axes
        for key, line in self.lines.items():
            line.set_data([p[0] for p in self.points[key]], [p[1] for p in self.points[key]])
        self.axes[0].relim()
        self.axes[0].autoscale_view(scalex=False)
        return self.fig

    def add(self, x: float, **values: float) -> None:
        """Add the point ``(x, value)`` to each named line (``train_loss``, ``test_acc``, ...); redraw if due."""
        for key, value in values.items():
            if key not in self.points:
                raise ValueError(f"{key!r} is not a line of the curve; use one of {', '.join(self.points)}.")
            if value is not None and value == value:  # skip None and NaN
                self.points[key].append((float(x), float(value)))
        if self.enabled and time.monotonic() - self._last_draw >= self.min_interval:
            self.draw()

    def draw(self) -> None:
        """Redraw now (in a notebook: replace the displayed image)."""
        if not self.enabled:
            return
        from IPython.display import Image, display  # optional: IPython is there whenever a notebook is

        image = Image(data=png_bytes(self.figure()), format="png")
        if self._handle is None:
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)
        self._last_draw = time.monotonic()


def duration_text(seconds: float) -> str:
    """A duration as people say it: ``'45 s'``, ``'3 min 20 s'``, ``'1 h 05 min'``.

    >>> duration_text(44.6), duration_text(200), duration_text(3_900)
    ('45 s', '3 min 20 s', '1 h 05 min')
    """
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class ProgressLine:
    """A progress bar that a notebook keeps in its final state: one line of text, updated in place.

    tqdm's notebook bar is a widget; a saved notebook keeps only its first text, ``0%|``. This
    line is plain text shown through an IPython display handle (like :class:`LiveCurve`) and
    replaced at most every ``min_interval`` seconds and at :meth:`close`, so the saved notebook
    shows where the run ended. It has the part of tqdm's interface that ``fit`` uses. Outside
    a notebook (``enabled=False``) it only counts; ``fit`` uses tqdm in a terminal.

    >>> bar = ProgressLine(total=10, desc="lenet", enabled=False)
    >>> bar.update(4); bar.set_postfix(loss="0.512")
    >>> bar.text(elapsed=2.0)
    'lenet |████████░░░░░░░░░░░░| 4/10 batches, 2 s, about 3 s left, loss 0.512'
    """

    def __init__(self, total: int | None, desc: str = "", *, enabled: bool | None = None, min_interval: float = 0.5) -> None:
        self.enabled = in_notebook() if enabled is None else enabled
        self.total, self.desc, self.n, self.postfix = total, desc, 0, ""
        self.min_interval = min_interval
        self._start = time.perf_counter()
        self._handle = None
        self._last_draw = 0.0

    def text(self, elapsed: float | None = None) -> str:
        """The line as it reads now (``elapsed`` seconds into the run)."""
        elapsed = time.perf_counter() - self._start if elapsed is None else elapsed
        parts = [f"{self.n}/{self.total} batches" if self.total else f"{self.n} batches", duration_text(elapsed)]
        if self.total and 0 < self.n < self.total:
            parts.append(f"about {duration_text(elapsed / self.n * (self.total - self.n))} left")
        bar = ""
        if self.total:
            filled = round(20 * min(self.n, self.total) / self.total)
            bar = "|" + "█" * filled + "░" * (20 - filled) + "| "
        return f"{self.desc} {bar}{', '.join(parts)}" + (f", {self.postfix}" if self.postfix else "")

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.enabled and time.monotonic() - self._last_draw >= self.min_interval:
            self._draw()

    def set_description(self, desc: str, refresh: bool = True) -> None:
        self.desc = desc

    def set_postfix(self, refresh: bool = True, **values: object) -> None:
        self.postfix = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in values.items())

    def close(self) -> None:
        """Show the final state."""
        if self.enabled:
            self._draw()

    def _draw(self) -> None:
        from IPython.display import display  # optional: IPython is there whenever a notebook is

        bundle = {"text/plain": self.text()}
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)
        self._last_draw = time.monotonic()
