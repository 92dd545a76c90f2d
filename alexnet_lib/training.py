"""Training: :func:`train_loop`, the loop a student writes, and :func:`fit`, which runs it with its callbacks
(:mod:`alexnet_lib.callbacks`) and returns the history, one row per epoch (``HISTORY_COLUMNS``): the epoch's mean
training loss and accuracy, the validation figures after it, the learning rate, images, seconds and training images
per second; its ``attrs`` say how the run was made, with the test figures if ``fit`` tested once, at the end."""

from __future__ import annotations

import contextlib
import itertools
import math
import operator
import os
import time
from collections.abc import Callable, Iterable, Iterator

import pandas as pd
import torch
from torch import nn

from .callbacks import (Callback, DivergenceGuard, Precision, Progress, RunLog, ShuffleSeed, TrainingDiverged, choose_precision,
                        resolve_device, sync)
from .config import is_whole_number, model_name, seeded

__all__ = ["HISTORY_COLUMNS", "Metrics", "Run", "TrainingDiverged", "fit", "make_optimizer", "outputs", "run_eval",
           "train_loop"]

HISTORY_COLUMNS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "images", "seconds", "images_per_s"]


def train_loop(run: Run) -> None:
    """Train ``run.model`` for ``run.epochs`` epochs, calling each callback at its moment.

    ``run.inputs`` moves a batch to the device, ``run.autocast`` is mixed precision's context
    (or none) and ``run.scaler`` scales float16 losses: ``scaler.scale(loss).backward()`` is
    ``loss.backward()`` and ``scaler.step(optimizer)`` is ``optimizer.step()`` otherwise.
    """
    model, optimizer, loss_fn = run.model, run.optimizer, run.loss_fn
    for run.epoch in range(run.epochs):
        model.train()
        run.callback("before_epoch")
        for run.batch, (X, y) in enumerate(itertools.islice(run.train_iter, run.max_batches)):
            X, y = run.inputs(X, y)
            with run.autocast():
                out = model(X)                         # forward
                loss = loss_fn(out, y)                 # loss
            optimizer.zero_grad(set_to_none=True)
            run.scaler.scale(loss).backward()          # backward
            run.scaler.step(optimizer)                 # step
            run.scaler.update()
            if run.schedule is not None:
                run.schedule.step()                    # the learning rate of the next batch
            run.callback("after_batch", loss, out, y)
        run.callback("after_train")
        if run.val_iter is not None:                   # once per epoch: validation
            run.val_loss, run.val_acc, _ = run_eval(model, run.val_iter, run.precision, loss_fn)
        run.callback("after_epoch")


class Run:
    """One training run: what the loop and its callbacks share (a callback may replace ``model``, ``inputs``,
    ``autocast`` and ``scaler`` before the loop starts; ``rows`` is the history so far)."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: Callable, data: tuple[Iterable, Iterable | None],
                 epochs: int, *, schedule=None, max_batches: int | None = None, callbacks: Iterable[Callback] = ()) -> None:
        if not is_whole_number(epochs):
            raise ValueError(f"epochs={epochs!r} should be a whole number >= 1.")
        if max_batches is not None and not is_whole_number(max_batches):
            raise ValueError(f"max_batches={max_batches!r} should be a whole number >= 1 (or None for all batches).")
        self.model, self.optimizer, self.loss_fn, self.schedule = model, optimizer, loss_fn, schedule
        (self.train_iter, self.val_iter), self.epochs, self.max_batches = data, epochs, max_batches
        self.batches = _num_batches(self.train_iter, max_batches)
        self.val_batches = _num_batches(self.val_iter, None) or 0  # 0: no validation, or one of unknown length
        self.callbacks = list(callbacks)
        self.precision = next((cb for cb in self.callbacks if isinstance(cb, Precision)), choose_precision("cpu", False, False))
        self.metrics = next((cb for cb in self.callbacks if isinstance(cb, Metrics)), None)
        self.inputs, self.autocast = self.precision.inputs, contextlib.nullcontext
        self.scaler = torch.amp.GradScaler(self.precision.device.type, enabled=False)
        self.epoch, self.batch, self.rows, self.history = 0, -1, [], None
        self.val_loss = self.val_acc = math.nan

    def callback(self, moment: str, *args) -> None:
        """Call every callback's method ``moment`` (``before_epoch``, ``after_batch``, ...) with the run."""
        for cb in self.callbacks:
            getattr(cb, moment)(self, *args)


class Metrics(Callback):
    """The epoch's history row: running sums of loss and accuracy (kept on the device: no sync per batch) and its time."""

    phase, batches = "between", 0  # where the run is, for the Ctrl-C message

    def before_epoch(self, run) -> None:
        self.loss_sum = self.correct = self.seen = self.batches = 0  # the sums become tensors on the device at the first batch
        self.phase, self.started = "training", time.perf_counter()

    def after_batch(self, run, loss, out, y) -> None:
        self.loss_sum += loss.detach().float() * len(y)
        self.correct += (out.detach().argmax(1) == y).sum()
        self.seen, self.batches = self.seen + len(y), self.batches + 1

    def means(self) -> tuple[float, float]:
        """The epoch's mean training loss and accuracy so far (NaN before its first batch)."""
        return (self.loss_sum.item() / self.seen, self.correct.item() / self.seen) if self.seen else (math.nan, math.nan)

    def after_train(self, run) -> None:
        run.rows.append(self.row(run))
        self.phase = "validating"

    def after_epoch(self, run) -> None:
        run.rows[-1].update(val_loss=run.val_loss, val_acc=run.val_acc, seconds=time.perf_counter() - self.started)
        self.phase = "between"

    def row(self, run) -> dict[str, float]:
        """The history row of the epoch's training so far (validation figures NaN)."""
        sync(run.precision.device)
        seconds = time.perf_counter() - self.started
        loss, accuracy = self.means()
        return {"epoch": run.epoch + 1, "train_loss": loss, "train_acc": accuracy, "val_loss": math.nan, "val_acc": math.nan,
                "lr": run.optimizer.param_groups[0]["lr"], "images": self.seen, "seconds": seconds,
                "images_per_s": self.seen / seconds if seconds else math.nan}

    def interrupted(self, run, by: str = "KeyboardInterrupt") -> None:
        """After Ctrl-C: keep the partial epoch's row, if it trained a batch, and say where training stopped."""
        at, last = f"epoch {run.epoch + 1} of {run.epochs}", "the last complete epoch"
        if self.phase == "training" and self.batches:
            run.rows.append(self.row(run))
            where = f"in {at} after {self.batches} of {run.batches} batches"
            last = "partial: its training figures cover those batches, no validation figures"
        elif self.phase == "validating":
            where, last = f"while validating after {at}", "without validation figures"
        else:  # before the epoch's first batch, or between epochs
            where = f"before {at} started" if self.phase == "training" or not run.rows else f"after {at}"
        print(f"Training stopped by {by} {where}. The model keeps the weights it has; "
              f"the history holds {len(run.rows)} row(s)" + (f", the last one {last}." if run.rows else "."))


def fit(model: nn.Module, data, epochs: int, optimizer: str | torch.optim.Optimizer = "sgd", lr: float | None = None, *,
        momentum: float = 0.9, weight_decay: float = 0.0, schedule: str = "constant", loss_fn: Callable | None = None,
        device: str | torch.device | None = None, amp: bool | str = "auto", channels_last: bool | str = "auto",
        seed: int | None = None, progress: bool = True, announce: bool | None = None, max_batches: int | None = None,
        max_loss_ratio: float | None = 1000.0, callbacks: Iterable[Callback] = (), test: Iterable | None = None) -> pd.DataFrame:
    """Train ``model`` on ``data = (train, val)`` for ``epochs`` epochs with :func:`train_loop`; return the history.

    ``optimizer``: a name for :func:`make_optimizer`, or your own; ``schedule``: :func:`make_schedule`; ``device``,
    ``amp``, ``channels_last``: :func:`~alexnet_lib.callbacks.choose_precision`; ``progress``, ``announce``:
    :class:`~alexnet_lib.callbacks.Progress`; ``callbacks`` run after fit's own. A loss above ``max_loss_ratio`` times
    the first batch's raises :class:`TrainingDiverged`; Ctrl-C returns the history so far. The model is left in eval mode.
    ``test`` batches, if given, are scored once after a run that finished: ``history.attrs["test_loss"]``, ``["test_acc"]``.

    >>> batches = [(torch.randn(16, 64), torch.arange(16) % 2)] * 4  # any iterable of (inputs, labels) batches
    >>> history = fit(nn.Linear(64, 2), (batches, batches[:2]), epochs=2, lr=0.1, seed=0, progress=False)
    >>> list(history.columns) == HISTORY_COLUMNS, len(history), history.attrs["interrupted"]
    (True, 2, False)
    """
    if max_loss_ratio is not None and not max_loss_ratio > 1:
        raise ValueError(f"max_loss_ratio={max_loss_ratio!r} should be a number > 1 (or None to stop only at NaN or infinite losses).")
    train_iter, val_iter = split_data(data)
    precision = choose_precision(resolve_device(device), amp, channels_last)
    opt = optimizer if isinstance(optimizer, torch.optim.Optimizer) and lr is None else make_optimizer(
        optimizer, model.parameters(), lr, momentum, weight_decay)
    loss_fn = _FirstBatchChecked(model_name(model), nn.CrossEntropyLoss() if loss_fn is None else loss_fn, train_iter)
    guard, metrics = DivergenceGuard(max_loss_ratio), Metrics()
    own = [precision, ShuffleSeed(seed), guard, metrics, Progress(progress=progress, announce=announce)]
    own += [RunLog(os.environ["ALEXNET_RUN_LOG"])] if os.environ.get("ALEXNET_RUN_LOG") else []
    run = Run(model, opt, loss_fn, (train_iter, val_iter), epochs, max_batches=max_batches, callbacks=[*own, *callbacks])
    run.schedule = make_schedule(schedule, opt, epochs, run.batches)
    diverged, interrupted, tested, started = None, False, {}, time.perf_counter()
    with seeded(seed, precision.device):
        try:
            run.callback("before_fit")
            train_loop(run)
            if test is not None:  # the test images, once, after the last epoch
                tested = dict(zip(("test_loss", "test_acc"), run_eval(model, test, precision, loss_fn)))
        except TrainingDiverged as exc:
            diverged = exc
            guard.restore(model)
        except KeyboardInterrupt as stop:  # Ctrl-C; the command line raises KeyboardInterrupt("SIGTERM") on SIGTERM
            interrupted = True
            metrics.interrupted(run, str(stop) or "KeyboardInterrupt")
        finally:
            model.eval()
            run.history = pd.DataFrame(run.rows, columns=HISTORY_COLUMNS).astype({"epoch": int, "images": int})
            run.history.attrs.update(model=model_name(model), device=str(precision.device), precision=precision.describe(),
                                     interrupted=interrupted, seconds=time.perf_counter() - started,
                                     optimizer=type(opt).__name__, schedule=schedule, seed=seed)
            run.history.attrs.update(tested)
            run.callback("after_fit")
    if diverged is not None:
        run.history.attrs["diverged"] = str(diverged)
        raise TrainingDiverged(str(diverged), run.history, model)
    return run.history


class _FirstBatchChecked:
    """The loss function; on its first call it checks that a classifier has an output for every class in the labels
    (all the training labels where the loader holds them, as our ``BatchLoader`` does)."""

    def __init__(self, name: str, loss_fn: Callable, train_iter: Iterable) -> None:
        self.name, self.loss_fn, self.train_iter, self.checked = name, loss_fn, train_iter, False

    def __call__(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if not self.checked:
            self.checked = True
            if isinstance(self.loss_fn, nn.CrossEntropyLoss) and out.dim() == 2 and y.dim() == 1 and not y.is_floating_point():
                top = int(getattr(self.train_iter, "labels", y).max())
                if top >= out.shape[1]:
                    raise ValueError(f"{self.name} has {out.shape[1]} outputs but the training labels go up to {top}; build it "
                                     f"with num_classes={top + 1} (one output per class) or train it on data with {out.shape[1]} classes.")
        return self.loss_fn(out, y)


def _num_batches(loader: Iterable | None, max_batches: int | None) -> int | None:
    n = operator.length_hint(loader, -1)  # len(loader); -1 for a generator, a DataLoader over an IterableDataset, None
    return max_batches if n < 0 else min(n, max_batches or n)


def make_optimizer(name: str | torch.optim.Optimizer, params: Iterable[nn.Parameter], lr: float | None = None, momentum: float = 0.9,
                   weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """``'sgd'`` (with ``momentum``), ``'adam'`` or ``'adamw'`` over ``params``; ``lr=None``: 0.05 for SGD, 0.001 for Adam.

    >>> make_optimizer("sgd", nn.Linear(2, 2).parameters())
    SGD (... lr: 0.05 ... momentum: 0.9 ...)
    """
    if isinstance(name, torch.optim.Optimizer):
        raise ValueError(f"lr={lr} is for an optimizer given by name; set the learning rate of your {type(name).__name__} itself.")
    key = name.lower() if isinstance(name, str) else None
    if key not in ("sgd", "adam", "adamw"):
        raise ValueError(f"optimizer={name!r} should be 'sgd', 'adam', 'adamw' or a torch.optim.Optimizer.")
    lr = (0.05 if key == "sgd" else 1e-3) if lr is None else lr
    if not lr > 0:
        raise ValueError(f"lr={lr!r} should be a positive learning rate.")
    if key == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    return (torch.optim.Adam if key == "adam" else torch.optim.AdamW)(params, lr=lr, weight_decay=weight_decay)


def make_schedule(schedule: str, optimizer: torch.optim.Optimizer, epochs: int, batches: int | None):
    """The learning-rate schedule, stepped once per batch: None for ``'constant'``, else one-cycle or cosine.

    >>> make_schedule("cosine", make_optimizer("sgd", nn.Linear(2, 2).parameters()), 2, 10).T_max
    20
    """
    if schedule not in ("constant", "onecycle", "cosine"):
        raise ValueError(f"schedule={schedule!r} should be 'constant', 'onecycle' or 'cosine'.")
    if schedule != "constant" and batches is None:
        raise ValueError(f"schedule={schedule!r} needs the number of batches per epoch, but the training batches have no len(); "
                         "give max_batches or use schedule='constant'.")
    steps = max(epochs * (batches or 1), 1)
    if schedule == "onecycle":
        max_lr = [group["lr"] for group in optimizer.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=steps, cycle_momentum=False)
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps) if schedule == "cosine" else None


def split_data(data) -> tuple[Iterable, Iterable | None]:
    """``(train, val)`` from a pair or from loaders with ``.train`` and ``.val``."""
    if hasattr(data, "train") and hasattr(data, "val"):
        return data.train, data.val
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    raise ValueError(f"data should be the pair (train batches, validation batches), e.g. fashion_mnist_loaders(...); got "
                     f"{type(data).__name__}. Use (train_iter, None) to train without validating.")


def outputs(model: nn.Module, loader: Iterable, precision: Precision, max_batches: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``(model output, labels)`` for each batch of ``loader``, in eval and inference mode; the model's mode is restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), precision.autocast():
            for x, y in itertools.islice(loader, max_batches):
                x, y = precision.inputs(x, y)
                yield model(x), y
    finally:
        model.train(was_training)


def run_eval(model: nn.Module, loader: Iterable, precision: Precision, loss_fn: Callable,
             max_batches: int | None = None) -> tuple[float, float, int]:
    """Mean loss, accuracy and number of images of ``model`` on ``loader``."""
    loss_sum = correct = seen = 0  # the sums become tensors on the device: no sync per batch
    for out, y in outputs(model, loader, precision, max_batches):
        loss_sum += loss_fn(out.float(), y) * len(y)
        correct += (out.argmax(1) == y).sum()
        seen += len(y)
    return (loss_sum.item() / seen, correct.item() / seen, seen) if seen else (math.nan, math.nan, 0)
