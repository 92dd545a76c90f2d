"""Callbacks: everything a training run does besides the loop, each called at its moment by :func:`alexnet_lib.training.fit`:
:class:`Precision` (the device, mixed precision, memory format), :class:`DivergenceGuard`, :class:`ShuffleSeed`, :class:`Progress`
and :class:`RunLog`; ``alexnet_lib.course.plots.LiveCurve`` draws the learning curve as it grows."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from .config import available_device, model_name

__all__ = ["Callback", "DivergenceGuard", "Precision", "Progress", "ProgressLine", "RunLog", "ShuffleSeed", "TrainingDiverged",
           "choose_precision", "cpu_has_native_bf16", "duration_text", "in_notebook", "resolve_device", "sync"]


class Callback:
    """A part of a run besides the loop: each method is called at its moment with the :class:`~alexnet_lib.training.Run`."""

    def before_fit(self, run) -> None: ...
    def before_epoch(self, run) -> None: ...
    def after_batch(self, run, loss: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None: ...
    def after_train(self, run) -> None: ...
    def after_epoch(self, run) -> None: ...
    def after_fit(self, run) -> None: ...


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device``, checked, or the best available (CUDA, then MPS, then CPU).

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device is None:
        return torch.device(available_device())
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a device PyTorch knows; use 'cpu', 'cuda', 'cuda:N' or 'mps'.") from exc
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device={str(device)!r} is not one this trainer supports; use 'cpu', 'cuda', 'cuda:N' or 'mps'.")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device='mps' was asked for but this PyTorch has no MPS (Apple GPU) support here; use device='cpu'.")
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device.type == "cuda" and (device.index or 0) >= gpus:
        seen = (f"{gpus} CUDA GPU(s) here, numbered from 0; use 'cuda:0' to 'cuda:{gpus - 1}' or 'cuda'" if gpus
                else "no CUDA GPU here; use device='cpu' (or None to choose)")
        raise ValueError(f"device={str(device)!r} was asked for but PyTorch sees {seen}.")
    return device


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (``avx512_bf16``, AMX, Arm ``bf16``); elsewhere bf16 is emulated, slowly.
    ``ONEDNN_MAX_CPU_ISA=AVX2`` makes it False, as oneDNN then emulates bf16: that imitates an AVX2 laptop on a newer CPU.

    >>> isinstance(cpu_has_native_bf16(), bool)
    True
    """
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    if isa and not isa.startswith(("ALL", "AVX512_CORE_BF16", "AVX512_CORE_AMX", "AVX10")):
        return False
    flags = {"avx512_bf16", "amx_bf16", "bf16"}
    with contextlib.suppress(Exception):  # a private API: it must never break training
        if any(torch._C._cpu._get_cpu_capability().get(flag) for flag in flags):
            return True
    with contextlib.suppress(OSError):  # no /proc/cpuinfo outside Linux
        return bool(flags & set(Path("/proc/cpuinfo").read_text().split()))
    return False


@dataclass(frozen=True)
class Precision(Callback):
    """The arithmetic of a run: autocast dtype (None: float32), loss scaling, memory format. As a callback it places the
    model, hands the loop its input conversion, autocast and loss scaler, and on CUDA lets cuDNN keep its fastest algorithms."""

    device: torch.device
    amp_dtype: torch.dtype | None
    scaler: bool
    channels_last: bool

    def autocast(self) -> contextlib.AbstractContextManager:
        """The autocast context for forward passes (a no-op for float32)."""
        return contextlib.nullcontext() if self.amp_dtype is None else torch.autocast(self.device.type, dtype=self.amp_dtype)

    def place(self, model: nn.Module) -> nn.Module:
        """Move ``model`` to the device, in the channels_last memory format where that is used; return it."""
        return model.to(self.device, memory_format=torch.channels_last if self.channels_last else torch.preserve_format)

    def inputs(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch on the device, its images in the run's memory format."""
        x = x.to(self.device, non_blocking=True)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y.to(self.device, non_blocking=True)

    def before_fit(self, run) -> None:
        run.cudnn_benchmark, torch.backends.cudnn.benchmark = torch.backends.cudnn.benchmark, self.device.type == "cuda"
        self.place(run.model)
        run.inputs, run.autocast = self.inputs, self.autocast
        run.scaler = torch.amp.GradScaler(self.device.type, enabled=self.scaler)

    def after_fit(self, run) -> None:
        torch.backends.cudnn.benchmark = run.cudnn_benchmark

    def describe(self) -> str:
        """In words, e.g. ``'bf16 autocast, channels_last'``."""
        amp = {None: "float32", torch.bfloat16: "bf16 autocast", torch.float16: "fp16 autocast"}[self.amp_dtype]
        return amp + (" + GradScaler" if self.scaler else "") + (", channels_last" if self.channels_last else ", contiguous")


def choose_precision(device: str | torch.device, amp: bool | str = "auto", channels_last: bool | str = "auto") -> Precision:
    """The arithmetic for ``device``: bf16 autocast where the hardware has bf16 (CUDA from Ampere on, a CPU with ``avx512_bf16``
    or AMX), fp16 with a loss scaler on older GPUs, float32 elsewhere; channels_last on CUDA and CPUs (with bf16 on the 2-core CI
    machine: LeNet 1.3x, the AlexNets 2x faster than float32, ``benchmarks/README.md``). ``amp``: ``"auto"``, ``True`` (the
    device's mixed precision), ``False`` (float32), ``"bf16"`` or ``"fp16"``; ``channels_last``: ``"auto"``, ``True`` or
    ``False``.

    >>> choose_precision("cpu", amp="bf16").describe()
    'bf16 autocast, channels_last'
    """
    device = torch.device(device)
    kind = device.type
    if amp not in ("auto", True, False, "bf16", "fp16") or (isinstance(amp, int) and not isinstance(amp, bool)):
        raise ValueError(f"amp={amp!r} should be 'auto', True, False, 'bf16' or 'fp16'.")
    if channels_last not in ("auto", True, False):
        raise ValueError(f"channels_last={channels_last!r} should be 'auto', True or False.")
    if amp == "fp16" and kind != "cuda":
        raise ValueError(f"amp='fp16' needs a CUDA GPU (it is on {kind}); use amp='bf16' or amp=False.")
    if amp is True and kind not in ("cuda", "cpu"):
        raise ValueError(f"mixed precision on {kind} is not supported by this trainer; use amp=False (float32).")
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp)  # the one asked for, or None (float32) for now
    if amp in (True, "auto") and kind == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    elif amp in (True, "auto") and kind == "cpu" and (amp is True or cpu_has_native_bf16()):
        dtype = torch.bfloat16
    memory = kind in ("cuda", "cpu") if channels_last == "auto" else bool(channels_last)
    return Precision(device=device, amp_dtype=dtype, scaler=dtype == torch.float16, channels_last=memory)


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (timing a GPU needs it).

    >>> sync(torch.device("cpu"))  # a CPU has no queue: nothing to wait for
    """
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


class TrainingDiverged(RuntimeError):
    """A NaN, infinite or exploding loss stopped training; ``history`` holds the complete epochs, ``model`` has their weights."""

    def __init__(self, message: str, history=None, model: nn.Module | None = None) -> None:
        super().__init__(message)
        self.history, self.model = history, model


class DivergenceGuard(Callback):
    """Stops training at the first NaN or infinite loss, or one above ``max_loss_ratio`` times the first batch's. Each loss
    is read one batch late, when the next batch is queued, so the check never makes the CPU wait for a GPU. :meth:`restore`
    puts back the weights the epoch started from (``fit`` calls it before it raises :class:`TrainingDiverged`)."""

    def __init__(self, max_loss_ratio: float | None = 1000.0) -> None:
        self.ratio, self.first, self.pending, self.snapshot = max_loss_ratio, None, None, {}

    def before_epoch(self, run) -> None:
        self.pending, self.run = None, run
        self.snapshot = {k: v.detach().clone() for k, v in run.model.state_dict().items()}

    def after_batch(self, run, loss, out, y) -> None:
        self._check_pending()
        self.pending = (run.batch + 1, loss.detach())

    def after_train(self, run) -> None:
        self._check_pending()

    def restore(self, model: nn.Module) -> None:
        """Put ``model`` back at the weights the epoch started from."""
        model.load_state_dict(self.snapshot)

    def _check_pending(self) -> None:
        if self.pending is None:
            return
        (batch, loss), self.pending = self.pending, None
        value = loss.item()
        if self.first is None:  # a NaN or infinite first loss stops training at once: it is never a limit
            self.first = value
        limit = self.ratio * self.first if self.ratio and self.first > 0 else math.inf
        if math.isfinite(value) and value <= limit:
            return
        why = f"more than {self.ratio:g} times the first batch's {self.first:.3g}" if math.isfinite(value) else "NaN or infinite"
        run, group = self.run, self.run.optimizer.param_groups[0]  # the rate set, not the schedule's value at this batch
        lr = group.get("max_lr", group.get("initial_lr", group["lr"]))
        weights = f"after epoch {run.epoch}" if run.epoch else "from before training"
        raise TrainingDiverged(
            f"training diverged in epoch {run.epoch + 1} of {run.epochs}, batch {batch} of {run.batches or '?'}: "
            f"the loss was {value:.4g} ({why}); the model is back at its weights {weights}; "
            f"train again with a lower learning rate than the lr={lr:g} set, e.g. lr={lr / 10:g}.")


class ShuffleSeed(Callback):
    """Tells a loader that shuffles and augments from a seed (our ``BatchLoader``) which epoch begins."""

    def __init__(self, seed: int | None) -> None:
        self.seed = seed

    def before_epoch(self, run) -> None:
        if hasattr(run.train_iter, "set_epoch"):
            run.train_iter.set_epoch(run.epoch, self.seed)


class RunLog(Callback):
    """Appends the run's final figures as one JSON line to ``path`` (``fit`` adds it when ``ALEXNET_RUN_LOG`` is set;
    ``tools/profile_check.py`` collects them)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def after_fit(self, run) -> None:
        h = run.history
        if not h.empty:
            last, attrs = h.iloc[-1], h.attrs
            record = {"model": attrs["model"], "epochs": int(last["epoch"]), "train_acc": float(last["train_acc"]),
                      "val_acc": float(last["val_acc"]), "test_acc": float(attrs.get("test_acc", "nan")), "seconds": float(attrs["seconds"]),
                      "images_per_s": float(h["images_per_s"].mean()), "device": attrs["device"], "precision": attrs["precision"]}
            with open(self.path, "a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel.

    >>> in_notebook()
    False
    """
    ipython = sys.modules.get("IPython")  # a Jupyter kernel has always imported it; elsewhere it need not be loaded
    return ipython is not None and "IPKernelApp" in getattr(ipython.get_ipython(), "config", {})


def duration_text(seconds: float) -> str:
    """A duration as people say it.

    >>> duration_text(44.6), duration_text(200), duration_text(3_900)
    ('45 s', '3 min 20 s', '1 h 05 min')
    """
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    return f"{s // 60} min {s % 60:02d} s" if s < 3600 else f"{s // 3600} h {s % 3600 // 60:02d} min"


class ProgressLine:
    """A progress bar that a saved notebook keeps in its final state (tqdm's notebook widget is saved as ``0%|``):
    one line of text, replaced in place at most every ``min_interval`` seconds; the part of tqdm that :class:`Progress` uses.

    >>> bar = ProgressLine(total=10, desc="lenet", enabled=False)
    >>> bar.update(4); bar.set_postfix(loss="0.512")
    >>> bar.text(elapsed=2.0)
    'lenet |████████░░░░░░░░░░░░| 4/10 batches, 2 s, about 3 s left, loss 0.512'
    """

    def __init__(self, total: int | None, desc: str = "", *, enabled: bool | None = None, min_interval: float = 0.5) -> None:
        self.enabled = in_notebook() if enabled is None else enabled
        self.total, self.desc, self.n, self.postfix, self.min_interval = total, desc, 0, "", min_interval
        self._start, self._handle, self._last_draw = time.perf_counter(), None, 0.0

    def text(self, elapsed: float | None = None) -> str:
        """The line as it reads ``elapsed`` seconds into the run."""
        elapsed = time.perf_counter() - self._start if elapsed is None else elapsed
        parts = [f"{self.n}/{self.total} batches" if self.total else f"{self.n} batches", duration_text(elapsed)]
        if self.total and 0 < self.n < self.total:
            parts.append(f"about {duration_text(elapsed / self.n * (self.total - self.n))} left")
        filled = round(20 * min(self.n, self.total) / self.total) if self.total else 0
        bar = f"|{'█' * filled}{'░' * (20 - filled)}| " if self.total else ""
        return f"{self.desc} {bar}{', '.join(parts)}" + (f", {self.postfix}" if self.postfix else "")

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.enabled and time.monotonic() - self._last_draw >= self.min_interval:
            self.close()

    def set_description(self, desc: str, refresh: bool = True) -> None:
        self.desc = desc

    def set_postfix(self, refresh: bool = True, **values: object) -> None:
        self.postfix = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in values.items())

    def close(self) -> None:
        """Show the line as it reads now."""
        if self.enabled:
            from IPython.display import display  # here, not at the top: only a notebook needs it
            bundle = {"text/plain": self.text()}
            if self._handle is None:
                self._handle = display(bundle, raw=True, display_id=True)
            else:
                self._handle.update(bundle, raw=True)
            self._last_draw = time.monotonic()


class Progress(Callback):
    """The progress bar (a :class:`ProgressLine` in a notebook, tqdm's in a terminal) with the epoch's running
    figures, and ``announce`` (None: in notebooks), an estimate of the run's time from its first batches."""

    def __init__(self, *, progress: bool = True, announce: bool | None = None) -> None:
        self.progress, self.announce = progress, announce

    def before_fit(self, run) -> None:
        self.name, total = model_name(run.model), run.epochs * run.batches if run.batches else None
        self.bar = (ProgressLine(total, self.name, enabled=True) if self.progress and in_notebook()
                    else tqdm(total=total, desc=self.name, unit="batch", disable=not self.progress, dynamic_ncols=True))
        self.to_announce = (in_notebook() if self.announce is None else self.announce) and bool(run.batches)
        self.started = self.shown = time.perf_counter()

    def before_epoch(self, run) -> None:
        self.bar.set_description(f"{self.name} epoch {run.epoch + 1}/{run.epochs}", refresh=False)

    def after_batch(self, run, loss, out, y) -> None:
        if self.to_announce:  # timed after the first batch (a warm-up) over 1 s of batches, or to the first epoch's end
            if run.batch == 0 and run.batches > 1:
                sync(run.precision.device)
                self.started = time.perf_counter()
            elif run.batch == run.batches - 1 or time.perf_counter() - self.started >= 1:  # a validation batch: 1/3 a step
                sync(run.precision.device)
                per_batch = (time.perf_counter() - self.started) / max(run.batch, 1)
                seconds = per_batch * run.epochs * (run.batches + run.val_batches / 3)
                print(f"{self.name}: about {duration_text(seconds)} for {run.epochs} epoch{'s' if run.epochs != 1 else ''} of "
                      f"{run.batches} batches (timed on the first batches on this machine)", flush=True)
                self.to_announce = False
        self.bar.update(1)
        if self.progress and time.perf_counter() - self.shown > 0.5:  # means() waits for the GPU: not every batch
            self.shown = time.perf_counter()
            loss, accuracy = run.metrics.means()
            self.bar.set_postfix(loss=f"{loss:.3f}", acc=f"{accuracy:.3f}", refresh=False)

    def after_epoch(self, run) -> None:
        r = run.rows[-1]
        self.bar.set_postfix(loss=f"{r['train_loss']:.3f}", train_acc=f"{r['train_acc']:.3f}", val_acc=f"{r['val_acc']:.3f}")

    def after_fit(self, run) -> None:
        self.bar.close()
