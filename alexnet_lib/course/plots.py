"""Figures: a grid of images, the live learning curve of a training run, a history, a confusion matrix.

Every function returns a matplotlib ``Figure`` made without pyplot, so nothing is shown twice
and nothing stays open: in a notebook, a cell whose last line is ``show_images(...)`` shows it;
elsewhere ``fig.savefig("images.png")`` writes it.

:class:`LiveCurve` is the learning curve that :func:`alexnet_lib.training.fit` draws while it
trains. In a notebook it is one PNG image, updated in place through an IPython display handle
(no ``clear_output``, so no flicker, and nbval can re-run the notebook); outside a notebook it
draws nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from ..progress import LiveCurve, new_figure

__all__ = [
    "plot_confusion", "plot_history", 
    "show_images", "to_numpy",
]


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
) -> Figure:
    """A grid of images with their class names; with ``predictions``, wrong ones titled in red.

    ``images`` is ``(N, H, W)`` or ``(N, C, H, W)``, uint8 or float. Each image is scaled to
    its own range, so normalised batches show too; ``rescale=False`` shows float values as
    they are, clamped to [0, 1] (so that a change of colour or brightness stays visible).
    Titles are ``class_names[label]`` (or the label); with predictions, ``predicted (true)``
    where they differ.

    >>> fig = show_images(torch.zeros(10, 28, 28, dtype=torch.uint8), labels=range(10), ncols=5)
    >>> len(fig.axes), fig.axes[1].get_title()
    (10, '1')
    """
    x = torch.as_tensor(images).detach().cpu()
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"images should be shaped (N, H, W), (N, 1, H, W) or (N, 3, H, W); got {tuple(x.shape)}.")
    n = len(x)
    if n == 0:
        raise ValueError("no images to show.")
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig = new_figure(figsize=(ncols * scale, nrows * (scale + 0.25)), dpi=100, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    labels = None if labels is None else [int(v) for v in labels]
    predictions = None if predictions is None else [int(v) for v in predictions]

    def name(k: int) -> str:
        return class_names[k] if class_names is not None else str(k)

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
        if predictions is not None:
            wrong = labels is not None and predictions[i] != labels[i]
            title = f"{name(predictions[i])}\n({name(labels[i])})" if wrong else name(predictions[i])
            ax.set_title(title, fontsize=8, color="tab:red" if wrong else "black")
        elif labels is not None:
            ax.set_title(name(labels[i]), fontsize=8)
    return fig


def plot_history(history: pd.DataFrame, title: str = "") -> Figure:
    """The learning curves of a finished run: loss and accuracy per epoch, train and test.

    >>> history = pd.DataFrame({"epoch": [1, 2], "train_loss": [1.0, 0.5], "test_loss": [0.9, 0.6],
    ...                         "train_acc": [0.6, 0.8], "test_acc": [0.65, 0.78]})
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

    ``confusion`` is the table of :func:`alexnet_lib.evaluation.confusion_matrix`; with
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
