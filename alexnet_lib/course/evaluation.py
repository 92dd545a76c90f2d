"""A trained model's predictions, its top-k errors, and which classes it confuses.

Every function here reads the model's outputs through :func:`alexnet_lib.training.outputs`,
which runs in eval and inference mode and restores the model's train/eval mode afterwards.
The loss and accuracy of each epoch's test are the core's (:func:`alexnet_lib.training.run_eval`); :func:`evaluate` gives them for any model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable

import pandas as pd
import torch
from torch import nn

from ..callbacks import choose_precision, sync
from ..training import outputs, run_eval

__all__ = ["confusion_matrix", "evaluate", "predict", "topk_error", "topk_errors"]


def evaluate(model: nn.Module, loader: Iterable, *, device: str | torch.device | None = None, amp: bool | str = "auto",
             channels_last: bool | str = "auto", loss_fn: Callable | None = None, max_batches: int | None = None) -> dict[str, float]:
    """Loss, accuracy, images and images per second of ``model`` on ``loader`` (``device=None``: the model's).

    >>> result = evaluate(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), [(torch.zeros(3, 1, 2, 2), torch.tensor([0, 1, 0]))], amp=False)
    >>> result["images"], 0 <= result["acc"] <= 1
    (3, True)
    """
    precision = choose_precision(next(model.parameters()).device if device is None else device, amp, channels_last)
    precision.place(model)
    start = time.perf_counter()
    loss, acc, seen = run_eval(model, loader, precision, nn.CrossEntropyLoss() if loss_fn is None else loss_fn, max_batches)
    sync(precision.device)
    seconds = time.perf_counter() - start
    return {"loss": loss, "acc": acc, "images": seen, "seconds": seconds, "images_per_s": seen / seconds if seconds else math.nan}


def predict(
    model: nn.Module,
    loader: Iterable,
    *,
    device: str | torch.device | None = None,
    amp: bool | str = "auto",
    max_batches: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The predicted and the true class of every image of ``loader``, as two int64 CPU tensors.

    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> predicted, true = predict(model, [(torch.zeros(3, 1, 2, 2), torch.tensor([0, 1, 0]))], amp=False)
    >>> predicted.shape, true.tolist()
    (torch.Size([3]), [0, 1, 0])
    """
    if device is None:
        device = next(model.parameters()).device
    precision = choose_precision(device, amp, channels_last=False)
    predicted, true = [], []
    for out, y in outputs(model, loader, precision, max_batches):
        predicted.append(out.argmax(1).cpu())
        true.append(y.cpu())
    if not true:
        return torch.empty(0, dtype=torch.int64), torch.empty(0, dtype=torch.int64)
    return torch.cat(predicted), torch.cat(true)


def topk_error(logits: torch.Tensor, labels: torch.Tensor, k: int = 5) -> float:
    """The fraction of images whose true label is not among the ``k`` classes with the highest scores.

    Top-1 error is ``1 - accuracy``; top-5 error is ImageNet's second measure (Section 2 of the
    2012 paper): an answer counts as right when the true label is among the five classes the
    model ranks highest. ``logits`` ``(N, classes)`` may be scores or probabilities: only their
    order counts.

    >>> logits = torch.tensor([[0.1, 2.0, 0.3], [1.0, 0.2, 0.5]])  # image 0 ranks 1, 2, 0; image 1 ranks 0, 2, 1
    >>> labels = torch.tensor([2, 1])
    >>> topk_error(logits, labels, k=1), topk_error(logits, labels, k=2), topk_error(logits, labels, k=3)
    (1.0, 0.5, 0.0)
    """
    if logits.dim() != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(f"logits should be (N, classes) and labels (N,); got {tuple(logits.shape)} and {tuple(labels.shape)}.")
    if not isinstance(k, int) or not 1 <= k <= logits.shape[1]:
        raise ValueError(f"k={k!r} should be a whole number from 1 to the number of classes, {logits.shape[1]}.")
    if len(labels) == 0:
        return math.nan
    top = logits.argsort(dim=1, descending=True, stable=True)[:, :k]  # (N, k): the k best; ties as argmax breaks them
    hit = (top == labels[:, None].to(top.device)).any(dim=1)
    return 1.0 - hit.float().mean().item()


def topk_errors(
    model: nn.Module,
    loader: Iterable,
    ks: tuple[int, ...] = (1, 5),
    *,
    device: str | torch.device | None = None,
    amp: bool | str = "auto",
    max_batches: int | None = None,
    channels_last: bool | str = "auto",
) -> dict[int, float]:
    """Top-k error of ``model`` on every image of ``loader``, for each ``k`` in ``ks`` (:func:`topk_error`).

    ``amp`` and ``channels_last`` default to what ``fit``'s evaluation uses, so that the top-1
    error is exactly one minus the accuracy ``fit`` reports for the same model and images.

    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 6))
    >>> errors = topk_errors(model, [(torch.zeros(3, 1, 2, 2), torch.tensor([0, 1, 5]))], ks=(1, 6), amp=False)
    >>> sorted(errors), errors[6]
    ([1, 6], 0.0)
    """
    if device is None:
        device = next(model.parameters()).device
    precision = choose_precision(device, amp, channels_last)
    missed, seen = dict.fromkeys(ks, 0.0), 0
    for out, y in outputs(model, loader, precision, max_batches):
        for k in ks:
            missed[k] += topk_error(out.float(), y, k) * len(y)
        seen += len(y)
    return {k: missed[k] / seen if seen else math.nan for k in ks}


def confusion_matrix(
    model: nn.Module,
    data,
    classes: tuple[str, ...] | list[str] | None = None,
    *,
    device: str | torch.device | None = None,
    amp: bool | str = "auto",
) -> pd.DataFrame:
    """How often each true class (rows) was predicted as each class (columns).

    ``data`` is a loader of ``(X, y)`` batches, or :class:`~alexnet_lib.data.DataLoaders`: its
    validation loader and its ``classes`` are used (mistakes are studied on validation images;
    the test images are kept for the one figure reported at the end).

    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> batches = [(torch.zeros(3, 1, 2, 2), torch.tensor([0, 1, 0]))]
    >>> table = confusion_matrix(model, batches, classes=["a", "b"], amp=False)
    >>> table.shape, int(table.to_numpy().sum())
    ((2, 2), 3)
    """
    if hasattr(data, "val") and hasattr(data, "classes"):
        classes = data.classes if classes is None else classes
        data = data.val
    predicted, true = predict(model, data, device=device, amp=amp)
    n = len(classes) if classes is not None else int(max(predicted.max(), true.max()) + 1) if len(true) else 0
    counts = torch.bincount(true * n + predicted, minlength=n * n).reshape(n, n) if n else torch.zeros(0, 0, dtype=torch.int64)
    names = list(classes) if classes is not None else list(range(n))
    table = pd.DataFrame(counts.numpy(), index=pd.Index(names, name="true"), columns=pd.Index(names, name="predicted"))
    return table


