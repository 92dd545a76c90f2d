"""Training: :func:`fit`, the loop every notebook uses, and the history it returns.

``fit`` takes any model and any pair of iterables of ``(X, y)`` batches (our
:class:`alexnet_lib.loaders.DataLoaders`, or Dive into Deep Learning's and PyTorch's
``DataLoader``), and returns the history as a DataFrame, one row per epoch: loss, train and
test accuracy, seconds, images per second. The loop is short: each epoch trains (one
:class:`_Step` per batch), then tests (:func:`alexnet_lib.evaluation.run_eval`). The arithmetic
per device is :mod:`alexnet_lib.precision`'s; the progress bar, live curve and time estimate
are :class:`alexnet_lib.progress.Reporter`'s; evaluation and checkpoints have modules of their
own (:mod:`alexnet_lib.evaluation`, :mod:`alexnet_lib.runs.checkpoints`).

Reproducibility: ``fit(..., seed=0)`` seeds dropout and the shuffling and augmentation of our
loaders (without touching PyTorch's global random state outside the call); build the model
with a seed too (``models.get(name, seed=0)``) and two runs on a CPU give the same history.

Ctrl-C (``KeyboardInterrupt``) stops training cleanly: ``fit`` returns the history so far
(the interrupted epoch's row holds the batches it finished) and the model keeps its weights.

Divergence stops it too: at the first NaN or infinite training loss, or one above
``max_loss_ratio`` times the first batch's, ``fit`` puts the model back at its weights after
the last complete epoch and raises :class:`TrainingDiverged`, which says where it happened,
suggests a lower learning rate and carries the history of the complete epochs. Each loss is
checked one batch late, so the check never makes the CPU wait for a GPU.

The history has the columns of ``HISTORY_COLUMNS``: mean training loss and accuracy over the
epoch's batches (as the weights change, like Dive into Deep Learning's), test loss and
accuracy after the epoch, the learning rate at its end, the training images of the epoch, the
epoch's seconds (training and test) and the training images per second (data pipeline
included, testing not). ``history.attrs`` records the model, device, precision, optimizer,
schedule, seed and whether the run was interrupted.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import nn

from .basics import is_whole_number, model_name, seeded
from .evaluation import run_eval, split_data
from .precision import Precision, choose_precision, cudnn_autotune, grad_scaler, resolve_device, sync, to_device
from .progress import Reporter

__all__ = ["HISTORY_COLUMNS", "TrainingDiverged", "fit", "format_history", "make_optimizer"]

HISTORY_COLUMNS = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "images", "seconds", "images_per_s"]


# ---------------------------------------------------------------------------------------------
# Optimizers and schedules

_DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3}


def make_optimizer(
    name: str, params: Iterable[torch.nn.Parameter], lr: float | None = None, momentum: float = 0.9, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    """``'sgd'`` (with ``momentum``), ``'adam'`` or ``'adamw'`` over ``params``; ``lr=None``: 0.05 for SGD, 0.001 for Adam.

    >>> make_optimizer("sgd", nn.Linear(2, 2).parameters())
    SGD (... lr: 0.05 ... momentum: 0.9 ...)
    """
    key = name.lower()
    if key not in _DEFAULT_LR:
        raise ValueError(f"optimizer={name!r} is not one of {', '.join(map(repr, _DEFAULT_LR))}; or pass a torch.optim.Optimizer.")
    lr = _DEFAULT_LR[key] if lr is None else lr
    if not lr > 0:
        raise ValueError(f"lr={lr!r} should be a positive learning rate.")
    if key == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    cls = torch.optim.Adam if key == "adam" else torch.optim.AdamW
    return cls(params, lr=lr, weight_decay=weight_decay)


def _make_schedule(schedule: str, optimizer: torch.optim.Optimizer, total_steps: int):
    if schedule == "constant":
        return None
    if schedule == "onecycle":
        max_lr = [group["lr"] for group in optimizer.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=max(total_steps, 1), cycle_momentum=False)
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))
    raise ValueError(f"schedule={schedule!r} should be 'constant', 'onecycle' or 'cosine'.")


def _optimizer_for(model: nn.Module, optimizer: str | torch.optim.Optimizer, lr: float | None, momentum: float,
                   weight_decay: float) -> torch.optim.Optimizer:
    """The optimizer ``fit`` was asked for: built by name over the model's parameters, or the one given."""
    if isinstance(optimizer, str):
        return make_optimizer(optimizer, model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(f"optimizer should be 'sgd', 'adam', 'adamw' or a torch.optim.Optimizer; got {optimizer!r}.")
    if lr is not None:
        raise ValueError(f"lr={lr} is for an optimizer given by name; set the learning rate of your {type(optimizer).__name__} itself.")
    return optimizer


# ---------------------------------------------------------------------------------------------
# The training loop


class TrainingDiverged(RuntimeError):
    """Training stopped because the loss became NaN or infinite, or exploded (see :func:`fit`).

    ``history`` holds the complete epochs before it (``history.attrs['diverged']`` is the
    message) and ``model`` the model, back at its weights after the last complete epoch.
    """

    def __init__(self, message: str, history: pd.DataFrame | None = None, model: nn.Module | None = None) -> None:
        super().__init__(message)
        self.history = history
        self.model = model


class _DivergenceGuard:
    """Watches the training loss batch by batch, and keeps the weights each epoch starts from.

    A loss is checked when the next batch has been queued (one batch late), so reading it
    does not stall a GPU; the step after a bad loss is undone with the rest of the epoch.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, epochs: int, batches: int | None,
                 max_loss_ratio: float | None) -> None:
        self.model, self.optimizer, self.epochs, self.batches, self.ratio = model, optimizer, epochs, batches, max_loss_ratio
        self.first: float | None = None
        self.pending: tuple[int, int, torch.Tensor] | None = None
        self.snapshot: dict[str, torch.Tensor] = {}

    def start_epoch(self) -> None:
        """Remember the weights the epoch starts from (a copy on the model's device)."""
        self.pending = None
        self.snapshot = {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def watch(self, epoch: int, batch: int, loss: torch.Tensor) -> None:
        """Keep this batch's loss for later; check the previous batch's (a TrainingDiverged if it diverged)."""
        previous, self.pending = self.pending, (epoch, batch, loss.detach())
        self._check(previous)

    def finish_epoch(self) -> None:
        """Check the epoch's last loss."""
        previous, self.pending = self.pending, None
        self._check(previous)

    def restore(self) -> None:
        """Put the model back at the weights the epoch started from."""
        self.model.load_state_dict(self.snapshot)

    def _check(self, item: tuple[int, int, torch.Tensor] | None) -> None:
        if item is None:
            return
        epoch, batch, loss = item
        value = loss.item()
        if self.first is None and math.isfinite(value):
            self.first = value
        limit = self.ratio * self.first if self.ratio and self.first and self.first > 0 else math.inf
        if math.isfinite(value) and value <= limit:
            return
        why = "NaN or infinite" if not math.isfinite(value) else f"more than {self.ratio:g} times the first batch's {self.first:.3g}"
        weights = f"after epoch {epoch}" if epoch else "from before training"
        lr = self.optimizer.param_groups[0]["lr"]
        raise TrainingDiverged(
            f"training diverged in epoch {epoch + 1} of {self.epochs}, batch {batch} of {self.batches or '?'}: the loss was "
            f"{value:.4g} ({why}); the model is back at its weights {weights}; train again with a lower learning rate "
            f"than lr={lr:g}, e.g. lr={lr / 10:g}."
        )


def _check_classes(name: str, out: torch.Tensor, y: torch.Tensor, loss_fn: Callable, train_iter: Iterable) -> None:
    """Before the first step: a classifier must have an output for every class in the labels.

    Checked for ``nn.CrossEntropyLoss`` against all the training labels where the loader
    holds them (``train_iter.labels``, as our ``BatchLoader`` does), else the first batch's.
    """
    if not isinstance(loss_fn, nn.CrossEntropyLoss) or out.dim() != 2 or y.dim() != 1 or y.is_floating_point():
        return
    labels = getattr(train_iter, "labels", y)
    top = int(labels.max()) if len(labels) else -1
    if top >= out.shape[1]:
        raise ValueError(
            f"{name} has {out.shape[1]} outputs but the training labels go up to {top}; build it with "
            f"num_classes={top + 1} (one output per class) or train it on data with {out.shape[1]} classes."
        )


@dataclass
class _EpochTotals:
    """Running sums of one training epoch, kept on the device to avoid a sync per batch."""

    device: torch.device
    loss_sum: torch.Tensor = field(init=False)
    correct: torch.Tensor = field(init=False)
    seen: int = 0
    batches: int = 0

    def __post_init__(self) -> None:
        self.loss_sum = torch.zeros((), device=self.device)
        self.correct = torch.zeros((), device=self.device, dtype=torch.int64)

    def add(self, loss: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None:
        n = len(y)
        self.loss_sum += loss.detach().float() * n
        self.correct += (out.detach().argmax(1) == y).sum()
        self.seen += n
        self.batches += 1

    def means(self) -> tuple[float, float]:
        if self.seen == 0:
            return math.nan, math.nan
        return self.loss_sum.item() / self.seen, self.correct.item() / self.seen


def _num_batches(loader: Iterable, max_batches: int | None) -> int | None:
    try:
        n = len(loader)  # type: ignore[arg-type]
    except TypeError:
        return max_batches
    return n if max_batches is None else min(n, max_batches)


@dataclass
class _Step:
    """One optimisation step: forward under autocast, loss, backward (scaled for fp16), update, schedule."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: object | None  # a torch LR scheduler, stepped every batch
    loss_fn: Callable
    precision: Precision
    check_first: Callable[[torch.Tensor, torch.Tensor], None] | None = None  # run on the first batch, before its update

    def __post_init__(self) -> None:
        self.scaler = grad_scaler(self.precision.device) if self.precision.scaler else None

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Train on one batch; return its loss and the model's output."""
        with self.precision.autocast():
            out = self.model(x)
            if self.check_first is not None:
                self.check_first, check = None, self.check_first
                check(out, y)
            loss = self.loss_fn(out, y)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            self.optimizer.step()
        if self.schedule is not None:
            self.schedule.step()
        return loss, out


class _Run:
    """One ``fit`` call under way: its parts, the history rows so far, and where it is (for Ctrl-C).

    ``phase`` is ``"training"`` or ``"testing"`` within an epoch, ``"between"`` epochs.
    """

    def __init__(self, step: _Step, data: tuple[Iterable, Iterable | None], epochs: int, max_batches: int | None,
                 seed: int | None, guard: _DivergenceGuard, reporter: Reporter) -> None:
        self.step, (self.train_iter, self.test_iter), self.epochs, self.seed = step, data, epochs, seed
        self.max_batches, self.batches = max_batches, guard.batches  # counted once, by fit
        self.guard, self.reporter, self.device = guard, reporter, step.precision.device
        self.rows: list[dict[str, float]] = []
        self.epoch, self.phase, self.started = 0, "between", time.perf_counter()
        self.totals = _EpochTotals(self.device)

    def train_epoch(self, epoch: int) -> None:
        """Train one epoch, record its row, then test it."""
        self.epoch, self.phase, self.totals = epoch, "training", _EpochTotals(self.device)
        if hasattr(self.train_iter, "set_epoch"):
            self.train_iter.set_epoch(epoch, self.seed)
        self.step.model.train()
        self.guard.start_epoch()
        self.reporter.start_epoch(epoch)
        self.started = time.perf_counter()
        for i, (x, y) in enumerate(self.train_iter):
            if self.max_batches is not None and i >= self.max_batches:
                break
            x, y = to_device(x, y, self.step.precision)
            loss, out = self.step(x, y)
            self.totals.add(loss, out, y)
            self.guard.watch(epoch, i + 1, loss)
            self.reporter.batch_done(epoch, i, self.totals.means)
        self.guard.finish_epoch()
        row = self.row()
        self.rows.append(row)
        self.phase = "testing"
        if self.test_iter is not None:
            row["test_loss"], row["test_acc"], _ = run_eval(self.step.model, self.test_iter, self.step.precision, self.step.loss_fn)
        row["seconds"] = time.perf_counter() - self.started
        self.phase = "between"
        self.reporter.epoch_done(row)

    def row(self) -> dict[str, float]:
        """The history row of the epoch's training so far (test figures NaN until tested)."""
        sync(self.device)
        seconds = time.perf_counter() - self.started
        loss, accuracy = self.totals.means()
        return {
            "epoch": self.epoch + 1, "train_loss": loss, "train_acc": accuracy, "test_loss": math.nan, "test_acc": math.nan,
            "lr": self.step.optimizer.param_groups[0]["lr"], "images": self.totals.seen, "seconds": seconds,
            "images_per_s": self.totals.seen / seconds if seconds else math.nan,
        }

    def interrupted(self) -> None:
        """After Ctrl-C: keep the partial epoch's row, if it trained any batch, and say where training stopped."""
        at = f"epoch {self.epoch + 1} of {self.epochs}"
        if self.phase == "training" and self.totals.batches:
            self.rows.append(self.row())
            where = f"in {at} after {self.totals.batches} of {self.batches} batches"
            last = "partial: its training figures cover those batches, no test figures"
        elif self.phase == "testing":
            where, last = f"while testing after {at}", "without test figures"
        elif self.phase == "training":
            where, last = f"before {at} started", "the last complete epoch"
        else:
            where, last = (f"after {at}" if self.rows else f"before epoch 1 of {self.epochs} started"), "the last complete epoch"
        print(f"Training stopped by KeyboardInterrupt {where}. The model keeps the weights it has; "
              f"the history holds {len(self.rows)} row(s)" + (f", the last one {last}." if self.rows else "."))

    def history(self, precision: Precision, **attrs: object) -> pd.DataFrame:
        """The rows as the history DataFrame, with the run's facts in ``attrs``."""
        history = pd.DataFrame(self.rows, columns=HISTORY_COLUMNS)
        history[["epoch", "images"]] = history[["epoch", "images"]].astype(int)
        history.attrs.update(model=model_name(self.step.model), device=str(self.device), precision=precision.describe(), **attrs)
        return history


def _check_fit_arguments(epochs: object, max_batches: object, max_loss_ratio: object) -> None:
    if not is_whole_number(epochs):
        raise ValueError(f"epochs={epochs!r} should be a whole number >= 1.")
    if max_batches is not None and not is_whole_number(max_batches):
        raise ValueError(f"max_batches={max_batches!r} should be a whole number >= 1 (or None for all batches).")
    if max_loss_ratio is not None and not max_loss_ratio > 1:
        raise ValueError(f"max_loss_ratio={max_loss_ratio!r} should be a number > 1 (or None to stop only at NaN or infinite losses).")


def _schedule_for(schedule: str, optimizer: torch.optim.Optimizer, epochs: int, batches: int | None):
    if schedule != "constant" and batches is None:
        raise ValueError(
            f"schedule={schedule!r} needs the number of batches per epoch, but the training batches have no len(); "
            "give max_batches or use schedule='constant'."
        )
    return _make_schedule(schedule, optimizer, epochs * (batches or 1))


def fit(
    model: nn.Module, data, epochs: int, optimizer: str | torch.optim.Optimizer = "sgd", lr: float | None = None, *,
    momentum: float = 0.9, weight_decay: float = 0.0, schedule: str = "constant", loss_fn: Callable | None = None,
    device: str | torch.device | None = None, amp: bool | str = "auto", channels_last: bool | str = "auto",
    seed: int | None = None, progress: bool = True, plot: bool | None = None, max_batches: int | None = None,
    max_loss_ratio: float | None = 1000.0, announce: bool | None = None,
) -> pd.DataFrame:
    """Train ``model`` on ``data = (train, test)`` for ``epochs`` epochs; return the history, one row per epoch.

    ``optimizer``: ``'sgd'`` (with ``momentum``), ``'adam'``, ``'adamw'`` (built with ``lr``,
    ``weight_decay``) or a ``torch.optim.Optimizer``; ``schedule`` sets the learning rate every
    batch (``'constant'``, ``'onecycle'``, ``'cosine'``). ``device=None`` picks CUDA, MPS or
    CPU; ``amp``, ``channels_last``: :func:`alexnet_lib.precision.choose_precision`. ``seed``
    makes dropout and our loaders reproducible. ``progress`` shows a progress bar, ``plot`` the
    live curve, ``announce`` a time estimate (None: in notebooks). ``max_batches`` caps the
    batches per epoch. ``max_loss_ratio``: a loss above this multiple of the first batch's is
    divergence (None: only NaN or infinite ones). The model is trained in place, left in eval mode.

    >>> from alexnet_lib.loaders import BatchLoader
    >>> images, labels = torch.randint(0, 256, (64, 8, 8), dtype=torch.uint8), torch.arange(64) % 2
    >>> data = BatchLoader(images, labels, 16, shuffle=True), BatchLoader(images, labels, 32)
    >>> history = fit(nn.Sequential(nn.Flatten(), nn.Linear(64, 2)), data, epochs=2, lr=0.1, seed=0, progress=False)
    >>> list(history.columns) == HISTORY_COLUMNS, len(history), history.attrs["interrupted"]
    (True, 2, False)
    """
    _check_fit_arguments(epochs, max_batches, max_loss_ratio)
    train_iter, test_iter = split_data(data)
    precision = choose_precision(resolve_device(device), amp, channels_last)
    precision.place(model)
    opt = _optimizer_for(model, optimizer, lr, momentum, weight_decay)
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    batches, name = _num_batches(train_iter, max_batches), model_name(model)
    step = _Step(model, opt, _schedule_for(schedule, opt, epochs, batches), loss_fn, precision,
                 check_first=lambda out, y: _check_classes(name, out, y, loss_fn, train_iter))
    reporter = Reporter(name, epochs, batches, _num_batches(test_iter, None) if test_iter is not None else 0, precision,
                        progress=progress, plot=plot, announce=announce)
    run = _Run(step, (train_iter, test_iter), epochs, max_batches, seed, _DivergenceGuard(model, opt, epochs, batches, max_loss_ratio), reporter)
    diverged, interrupted, started = None, False, time.perf_counter()
    with seeded(seed, precision.device), cudnn_autotune(precision.device):
        try:
            for epoch in range(epochs):
                run.train_epoch(epoch)
        except TrainingDiverged as exc:
            diverged = exc
            run.guard.restore()
        except KeyboardInterrupt:
            interrupted = True
            run.interrupted()
        finally:
            reporter.close()
            model.eval()
    reporter.finish()
    history = run.history(precision, interrupted=interrupted, seconds=time.perf_counter() - started,
                          optimizer=type(opt).__name__, schedule=schedule, seed=seed)
    _log_run(history)
    if diverged is not None:
        history.attrs["diverged"] = str(diverged)
        diverged.history, diverged.model = history, model
        raise diverged
    return history


def _log_run(history: pd.DataFrame) -> None:
    """Append the run's final figures as one JSON line to the file named by ``ALEXNET_RUN_LOG``, if set.

    ``tools/profile_check.py`` sets it to collect every training run of a notebook.
    """
    path = os.environ.get("ALEXNET_RUN_LOG")
    if not path or history.empty:
        return
    last = history.iloc[-1]
    record = {
        "model": history.attrs["model"], "epochs": int(last["epoch"]), "train_acc": float(last["train_acc"]),
        "test_acc": float(last["test_acc"]), "seconds": float(history.attrs["seconds"]),
        "images_per_s": float(history["images_per_s"].mean()), "device": history.attrs["device"],
        "precision": history.attrs["precision"],
    }
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


def format_history(history: pd.DataFrame) -> str:
    """The history as a text table: losses to 3 decimals, accuracies in %, speeds with thousands separators.

    ``-`` marks what was not measured (no test set, an interrupted epoch's test figures);
    a loss that was measured but is NaN or infinite prints as ``nan`` or ``inf``. A loss
    counts as measured when the accuracy beside it is (an accuracy is NaN only when no image
    was scored).

    >>> nan = float("nan")
    >>> history = pd.DataFrame([[1, 0.61234, 0.7712, 0.5, 0.8, 0.1, 3615, 1.23, 3012.5],
    ...                         [2, 0.5, 0.8, nan, 0.1, 0.1, 3615, 1.2, 3000.0],
    ...                         [3, 0.4, 0.85, nan, nan, 0.1, 1200, 0.4, 3000.0]], columns=HISTORY_COLUMNS)
    >>> print(format_history(history))
     epoch  train_loss  train_acc  test_loss  test_acc  lr  images  seconds  images/s
         1       0.612      77.1%      0.500     80.0%  0.1   3,615      1.2     3,012
         2       0.500      80.0%        nan     10.0%  0.1   3,615      1.2     3,000
         3       0.400      85.0%          -         -  0.1   1,200      0.4     3,000
    """
    def missing_or(text: Callable[[float], str]) -> Callable[[float], str]:
        return lambda v: "-" if v != v else text(v)

    loss_beside = {"train_acc": "train_loss", "test_acc": "test_loss"}
    table = history.rename(columns={"images_per_s": "images/s"})
    formatters = {
        "train_loss": lambda v: f"{v:,.3f}", "test_loss": lambda v: f"{v:,.3f}",
        "train_acc": missing_or(lambda v: f"{100 * v:.1f}%"), "test_acc": missing_or(lambda v: f"{100 * v:.1f}%"),
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
    return text.to_string(index=False)
