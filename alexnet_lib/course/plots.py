"""Figures: a grid of images, the live learning curve of a training run, a history (as a figure or a text table), a confusion matrix.

Every function returns a matplotlib ``Figure`` made without pyplot, so nothing is shown twice
and nothing stays open: in a notebook, a cell whose last line is ``show_images(...)`` shows it;
elsewhere ``fig.savefig("images.png")`` writes it.

:class:`LiveCurve` is the callback that draws the learning curve while a model trains
(``train_recipe(r, callbacks=[LiveCurve()])``). In a notebook it is one PNG image, updated in place through an IPython display handle
(no ``clear_output``, so no flicker, and nbval can re-run the notebook); outside a notebook it
draws nothing.
"""

from __future__ import annotations

import importlib
import io
import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from ..callbacks import Callback, in_notebook
from ..config import model_name
from ..training import HISTORY_COLUMNS  # noqa: F401 (format_history's doctest uses it)

__all__ = [
    "LiveCurve", "format_history", "new_figure", "png_bytes",
    "plot_confusion", "plot_history", 
    "show_images", "to_numpy",
]


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


class LiveCurve(Callback):
    """Loss and accuracy against epochs, redrawn in place in a notebook while a model trains: a callback.

    ``train_recipe(r, callbacks=[LiveCurve()])`` (or ``fit(..., callbacks=[LiveCurve()])``)
    draws it as the run goes: the epoch's running training figures after its batches, the
    validation figures after each epoch.

    One figure, two panels (cross-entropy loss; accuracy), four lines (train and validation of
    each) whose data grow with :meth:`add`. The figure is shown as a PNG through an IPython
    display handle and replaced in place at most every ``min_interval`` seconds (rendering
    costs tens of milliseconds) and at :meth:`draw`. ``enabled=None`` draws only in a Jupyter
    kernel; outside one the curve only records its points.

    >>> curve = LiveCurve(epochs=2, title="lenet")
    >>> curve.add(0.5, train_loss=2.0, train_acc=0.3); curve.add(1, val_loss=1.5, val_acc=0.5)
    >>> curve.points["train_loss"], curve.enabled
    ([(0.5, 2.0)], False)
    """

    _STYLE = {
        "train_loss": (0, "train", "tab:blue", "-"),
        "val_loss": (0, "validation", "tab:orange", "--"),
        "train_acc": (1, "train", "tab:blue", "-"),
        "val_acc": (1, "validation", "tab:orange", "--"),
    }

    def __init__(self, epochs: int = 1, title: str = "", min_interval: float = 1.0, enabled: bool | None = None) -> None:
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
                marker = "." if key.startswith("val") else None
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
        """Add the point ``(x, value)`` to each named line (``train_loss``, ``val_acc``, ...); redraw if due."""
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

    def before_fit(self, run) -> None:
        self.epochs = run.epochs
        self.title = self.title or f"{model_name(run.model)}: {run.precision.describe()} on {run.precision.device}"
        self._shown = 0.0

    def after_batch(self, run, loss, out, y) -> None:
        if self.enabled and time.monotonic() - self._shown >= self.min_interval:
            self._shown = time.monotonic()
            loss, accuracy = run.metrics.means()
            fraction = (run.batch + 1) / run.batches if run.batches else 1.0
            self.add(run.epoch + fraction, train_loss=loss, train_acc=accuracy)

    def after_epoch(self, run) -> None:
        row = run.rows[-1]
        self.add(row["epoch"], **{k: row[k] for k in ("train_loss", "train_acc", "val_loss", "val_acc")})
        self.draw()

    def after_fit(self, run) -> None:
        self.draw()
def to_numpy(x: torch.Tensor | np.ndarray | Sequence) -> np.ndarray:
    """``x`` as a NumPy array in the CPU's memory: every tensor bound for NumPy or matplotlib passes here.

    A tensor may live on a GPU (``.numpy()`` fails there) or be half precision (NumPy has no
    bfloat16): it is detached, copied to the CPU and, if half precision, made float32. Other
    dtypes are kept, so uint8 images keep their 0–255 scale.

    >>> to_numpy(torch.tensor([1.5, 2.0], dtype=torch.bfloat16))
    array([1.5, 2. ], dtype=float32)
    >>> to_numpy(torch.arange(3, dtype=torch.uint8)).dtype
    dtype('uint8')
    """
    t = torch.as_tensor(x).detach().cpu()
    return (t.float() if t.dtype in (torch.bfloat16, torch.float16) else t).numpy()


def show_images(
    images: torch.Tensor,
    labels: Sequence[int] | torch.Tensor | None = None,
    class_names: Sequence[str] | None = None,
    predictions: Sequence[int] | torch.Tensor | None = None,
    ncols: int = 8,
    scale: float = 1.3,
    rescale: bool = True,
    titles: Sequence[str] | None = None,
) -> Figure:
    """A grid of images with their class names; with ``predictions``, wrong ones titled in red.

    ``images`` is ``(N, H, W)`` or ``(N, C, H, W)``, uint8 or float, each scaled to its own range
    (``rescale=False``: as they are, clamped to [0, 1], so that a change of colour stays visible).
    Titles: ``class_names[label]`` (or the label), ``predicted (true)`` where they differ, or ``titles``.

    >>> fig = show_images(torch.zeros(10, 28, 28, dtype=torch.uint8), labels=range(10), ncols=5)
    >>> len(fig.axes), fig.axes[1].get_title()
    (10, '1')
    """
    x = torch.as_tensor(images).detach().cpu()
    x = x.unsqueeze(1) if x.dim() == 3 else x
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"images should be shaped (N, H, W), (N, 1, H, W) or (N, 3, H, W); got {tuple(x.shape)}.")
    n = len(x)
    if n == 0:
        raise ValueError("no images to show.")
    if titles is not None and len(titles) != n:
        raise ValueError(f"give one title per image: {n} images, {len(titles)} titles.")
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig = new_figure(figsize=(ncols * scale, nrows * (scale + 0.25)), dpi=100, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    labels = None if labels is None else [int(v) for v in labels]
    predictions = None if predictions is None else [int(v) for v in predictions]
    name = str if class_names is None else lambda k: class_names[k]
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i >= n:
            continue
        img = x[i].float()
        if rescale:
            lo, hi = img.min(), img.max()
            img = (img - lo) / (hi - lo) if hi > lo else torch.zeros_like(img)
        else:
            img = img.clamp(0, 1)
        if img.shape[0] == 1:
            ax.imshow(to_numpy(img[0]), cmap="gray", vmin=0, vmax=1)
        else:
            ax.imshow(to_numpy(img.permute(1, 2, 0)))
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
        elif predictions is not None:
            wrong = labels is not None and predictions[i] != labels[i]
            title = f"{name(predictions[i])}\n({name(labels[i])})" if wrong else name(predictions[i])
            ax.set_title(title, fontsize=8, color="tab:red" if wrong else "black")
        elif labels is not None:
            ax.set_title(name(labels[i]), fontsize=8)
    return fig


def plot_history(history: pd.DataFrame, title: str = "") -> Figure:
    """The learning curves of a finished run: loss and accuracy per epoch, train and validation.

    >>> history = pd.DataFrame({"epoch": [1, 2], "train_loss": [1.0, 0.5], "val_loss": [0.9, 0.6],
    ...                         "train_acc": [0.6, 0.8], "val_acc": [0.65, 0.78]})
    >>> [ax.get_ylabel() for ax in plot_history(history).axes]
    ['loss (cross-entropy)', 'accuracy']
    """
    curve = LiveCurve(epochs=int(history["epoch"].max()) if len(history) else 1, title=title, enabled=False)
    for row in history.itertuples(index=False):
        values = {k: getattr(row, k) for k in curve.points if hasattr(row, k)}
        curve.add(float(row.epoch), **values)
    fig = curve.figure()
    for line in curve.lines.values():
        line.set_marker(".")
    return fig


def plot_confusion(confusion: pd.DataFrame, title: str = "", normalize: bool = True) -> Figure:
    """A confusion matrix as a heat map: true class down, predicted class across.

    ``confusion`` is the table of :func:`alexnet_lib.course.evaluation.confusion_matrix`; with
    ``normalize`` each row is divided by its count, so a cell is the share of that true class.

    >>> table = pd.DataFrame([[8, 2], [1, 9]], index=["cat", "dog"], columns=["cat", "dog"])
    >>> plot_confusion(table).axes[0].get_xlabel()
    'predicted class'
    """
    values = confusion.to_numpy(dtype=float)
    if normalize:
        sums = values.sum(axis=1, keepdims=True)
        values = values / (sums + (sums == 0))
    n = len(confusion)
    side = 1.2 + 0.45 * n
    fig = new_figure(figsize=(side + 1.2, side), dpi=100, layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(n), [str(c) for c in confusion.columns], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), [str(c) for c in confusion.index], fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if n <= 20:
        raw = confusion.to_numpy()
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{raw[i, j]:,}", ha="center", va="center", fontsize=7, color="white" if values[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, label="share of the true class" if normalize else "images")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def format_history(history: pd.DataFrame) -> str:
    """The history as a text table: losses to 3 decimals, accuracies in %, speeds with thousands separators; then the
    test figures, where the run measured them (once, after its last epoch).

    ``-`` marks what was not measured (no validation set, an interrupted epoch's validation figures);
    a loss that was measured but is NaN or infinite prints as ``nan`` or ``inf``. A loss
    counts as measured when the accuracy beside it is (an accuracy is NaN only when no image
    was scored).

    >>> nan = float("nan")
    >>> history = pd.DataFrame([[1, 0.61234, 0.7712, 0.5, 0.8, 0.1, 3615, 1.23, 3012.5],
    ...                         [2, 0.5, 0.8, nan, 0.1, 0.1, 3615, 1.2, 3000.0],
    ...                         [3, 0.4, 0.85, nan, nan, 0.1, 1200, 0.4, 3000.0]], columns=HISTORY_COLUMNS)
    >>> history.attrs.update(test_loss=0.55, test_acc=0.79)
    >>> print(format_history(history))
     epoch  train_loss  train_acc  val_loss  val_acc  lr  images  seconds  images/s
         1       0.612      77.1%     0.500    80.0%  0.1   3,615      1.2     3,012
         2       0.500      80.0%       nan    10.0%  0.1   3,615      1.2     3,000
         3       0.400      85.0%         -        -  0.1   1,200      0.4     3,000
    test, once after the last epoch: loss 0.550, accuracy 79.0%
    """
    def missing_or(text: Callable[[float], str]) -> Callable[[float], str]:
        return lambda v: "-" if v != v else text(v)

    loss_beside = {"train_acc": "train_loss", "val_acc": "val_loss"}
    table = history.rename(columns={"images_per_s": "images/s"})
    formatters = {
        "train_loss": lambda v: f"{v:,.3f}", "val_loss": lambda v: f"{v:,.3f}",
        "train_acc": missing_or(lambda v: f"{100 * v:.1f}%"), "val_acc": missing_or(lambda v: f"{100 * v:.1f}%"),
        "lr": lambda v: f"{v:.3g}", "images": lambda v: f"{int(v):,}", "seconds": missing_or(lambda v: f"{v:,.1f}"),
        "images/s": missing_or(lambda v: f"{v:,.0f}"),
    }
    text = table.copy()  # the epoch (and any column not named here) as pandas prints numbers
    for column, formatter in formatters.items():
        if column in text:
            text[column] = [formatter(v) for v in table[column]]
    for accuracy, loss in loss_beside.items():
        if accuracy in table and loss in table:
            text.loc[table[accuracy].isna().to_numpy(), loss] = "-"
    tested = history.attrs.get("test_acc")
    return text.to_string(index=False) + ("" if tested is None else f"\ntest, once after the last epoch: loss "
                                          f"{history.attrs['test_loss']:.3f}, accuracy {100 * tested:.1f}%")
