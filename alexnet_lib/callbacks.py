"""Callbacks: everything a training run does besides the loop, each called at its moment.

:func:`alexnet_lib.training.fit` plugs in :class:`Precision` (the device, mixed precision and
memory format), :class:`DivergenceGuard`, :class:`ShuffleSeed`, :class:`Progress` and
:class:`RunLog`; ``alexnet_lib.course.plots.LiveCurve`` draws the learning curve as it grows.
:func:`choose_precision` uses bf16 autocast where the hardware has bf16 (CUDA from Ampere on, a
CPU with ``avx512_bf16`` or AMX), fp16 with a loss scaler on older GPUs, float32 elsewhere; and
channels_last on CUDA and CPUs. On the 2-core AMD EPYC CI machine the two train LeNet about 1.3x
and the AlexNets about 2x faster than float32 (``benchmarks/README.md``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from .config import available_device, model_name

__all__ = [
    "Callback", "DivergenceGuard", "Precision", "Progress", "ProgressLine", "RunLog", "ShuffleSeed", "TrainingDiverged",
    "choose_precision", "cpu_has_native_bf16", "duration_text", "in_notebook", "resolve_device", "sync",
]


class Callback:
    """A part of a training run that is not the loop: each method is called at its moment with the run.

    ``run`` is the :class:`alexnet_lib.training.Run` under way (model, optimizer, epoch, batch,
    history rows). Every method here does nothing.
    """

    def before_fit(self, run) -> None: ...
    def before_epoch(self, run) -> None: ...
    def after_batch(self, run, loss: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None: ...
    def after_train(self, run) -> None: ...
    def after_epoch(self, run) -> None: ...
    def after_fit(self, run) -> None: ...


# ---------------------------------------------------------------------------------------------
# The device and its arithmetic


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device``, checked, or the best available (CUDA, then MPS, then CPU).

    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    ValueError: device='tpu' is not a device PyTorch knows; use 'cpu', 'cuda', 'cuda:N' or 'mps'.
    """
    if device is None:
        return torch.device(available_device())
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a device PyTorch knows; use 'cpu', 'cuda', 'cuda:N' or 'mps'.") from exc
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device.type == "cuda" and not gpus:
        raise ValueError(f"device={str(device)!r} was asked for but PyTorch sees no CUDA GPU here; use device='cpu' (or None to choose).")
    if device.type == "cuda" and device.index is not None and device.index >= gpus:
        raise ValueError(f"device={str(device)!r} was asked for but PyTorch sees {gpus} CUDA GPU(s) here, numbered from 0; "
                         f"use 'cuda:0' to 'cuda:{gpus - 1}' or 'cuda'.")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device='mps' was asked for but this PyTorch has no MPS (Apple GPU) support here; use device='cpu'.")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device={str(device)!r} is not one this trainer supports; use 'cpu', 'cuda', 'cuda:N' or 'mps'.")
    return device


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (``avx512_bf16``, AMX, Arm ``bf16``); elsewhere bf16 is emulated, slowly.

    ``ONEDNN_MAX_CPU_ISA`` set to an instruction set without bf16 (``AVX2``) makes it False,
    as oneDNN then emulates bf16: that is how an AVX2 laptop is imitated on a newer machine.

    >>> isinstance(cpu_has_native_bf16(), bool)
    True
    """
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    if isa and not isa.startswith(("ALL", "AVX512_CORE_BF16", "AVX512_CORE_AMX", "AVX10")):
        return False
    with contextlib.suppress(Exception):  # a private API: it must never break training
        capability = torch._C._cpu._get_cpu_capability()
        if capability.get("avx512_bf16") or capability.get("amx_bf16"):
            return True
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return any(flag in flags for flag in ("avx512_bf16", "amx_bf16", "bf16"))


@dataclass(frozen=True)
class Precision(Callback):
    """The arithmetic of a run: autocast dtype (None: float32), loss scaling, memory format.

    As a callback it places the model and hands the loop its input conversion, autocast and
    loss scaler; on CUDA it lets cuDNN time its algorithms and keep the fastest for the run.
    """

    device: torch.device
    amp_dtype: torch.dtype | None
    scaler: bool
    channels_last: bool

    def autocast(self) -> contextlib.AbstractContextManager:
        """The autocast context for forward passes (a no-op for float32)."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def place(self, model: nn.Module) -> nn.Module:
        """Move ``model`` to the device, in the channels_last memory format where that is used; return it."""
        model.to(self.device)
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def inputs(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch on the device, its images in the run's memory format."""
        x = x.to(self.device, non_blocking=True)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y.to(self.device, non_blocking=True)

    def before_fit(self, run) -> None:
        self.place(run.model)
        # A disabled GradScaler's scale(loss) is the loss and its step(optimizer) is optimizer.step().
        run.inputs, run.autocast = self.inputs, self.autocast
        run.scaler = torch.amp.GradScaler(self.device.type, enabled=self.scaler)
        if self.device.type == "cuda":
            run.cudnn_benchmark, torch.backends.cudnn.benchmark = torch.backends.cudnn.benchmark, True

    def after_fit(self, run) -> None:
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = run.cudnn_benchmark

    def describe(self) -> str:
        """In words, e.g. ``'bf16 autocast, channels_last'``.

        >>> Precision(torch.device("cpu"), None, False, False).describe()
        'float32, contiguous'
        """
        amp = "float32" if self.amp_dtype is None else f"{'bf16' if self.amp_dtype == torch.bfloat16 else 'fp16'} autocast"
        return amp + (" + GradScaler" if self.scaler else "") + f", {'channels_last' if self.channels_last else 'contiguous'}"


def choose_precision(device: str | torch.device, amp: bool | str = "auto", channels_last: bool | str = "auto") -> Precision:
    """The arithmetic for ``device`` (the rules are in the module docstring).

    ``amp``: ``"auto"``, ``True`` (the device's mixed precision), ``False`` (float32), ``"bf16"``
    or ``"fp16"``; ``channels_last``: ``"auto"``, ``True`` or ``False``.

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
    if amp is False:
        dtype = None
    elif amp in ("bf16", "fp16"):
        dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    elif kind == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        dtype = torch.bfloat16 if kind == "cpu" and (amp is True or cpu_has_native_bf16()) else None
    memory = kind in ("cuda", "cpu") if channels_last == "auto" else bool(channels_last)
    return Precision(device=device, amp_dtype=dtype, scaler=dtype == torch.float16, channels_last=memory)


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (timing a GPU needs it)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


# ---------------------------------------------------------------------------------------------
# Stopping at divergence, seeding the epochs, logging the run


class TrainingDiverged(RuntimeError):
    """Training stopped at a NaN, infinite or exploding loss; ``history`` holds the complete epochs,
    ``model`` the model back at its weights after the last of them."""

    def __init__(self, message: str, history=None, model: nn.Module | None = None) -> None:
        super().__init__(message)
        self.history, self.model = history, model


class DivergenceGuard(Callback):
    """Stops training at the first NaN or infinite loss, or one above ``max_loss_ratio`` times the first batch's.

    Each loss is read one batch late, when the next batch is queued, so the check never makes
    the CPU wait for a GPU. The guard copies the weights each epoch starts from; ``fit`` puts
    them back with :meth:`restore` before it raises :class:`TrainingDiverged`.
    """

    def __init__(self, max_loss_ratio: float | None = 1000.0) -> None:
        self.ratio, self.first, self.pending, self.snapshot = max_loss_ratio, None, None, {}

    def before_epoch(self, run) -> None:
        self.pending, self.run = None, run
        self.snapshot = {k: v.detach().clone() for k, v in run.model.state_dict().items()}

    def after_batch(self, run, loss, out, y) -> None:
        previous, self.pending = self.pending, (run.epoch, run.batch + 1, loss.detach())
        self._check(previous)

    def after_train(self, run) -> None:
        previous, self.pending = self.pending, None
        self._check(previous)

    def restore(self, model: nn.Module) -> None:
        """Put ``model`` back at the weights the epoch started from."""
        if self.snapshot:
            model.load_state_dict(self.snapshot)

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
        lr = self.run.optimizer.param_groups[0]["lr"]
        raise TrainingDiverged(
            f"training diverged in epoch {epoch + 1} of {self.run.epochs}, batch {batch} of {self.run.batches or '?'}: the loss "
            f"was {value:.4g} ({why}); the model is back at its weights {f'after epoch {epoch}' if epoch else 'from before training'}; "
            f"train again with a lower learning rate than lr={lr:g}, e.g. lr={lr / 10:g}."
        )


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
                      "test_acc": float(last["test_acc"]), "seconds": float(attrs["seconds"]),
                      "images_per_s": float(h["images_per_s"].mean()), "device": attrs["device"], "precision": attrs["precision"]}
            with open(self.path, "a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")


# ---------------------------------------------------------------------------------------------
# What a run shows while it runs


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel.

    >>> in_notebook()
    False
    """
    try:
        from IPython import get_ipython  # optional: IPython is there in a notebook, not always on the command line
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


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
    """A progress bar a saved notebook keeps in its final state: one line of text, replaced in place.

    tqdm's notebook bar is a widget, which a saved notebook keeps as ``0%|``. This line is shown
    through an IPython display handle at most every ``min_interval`` seconds and at :meth:`close`.
    It has the part of tqdm's interface that :class:`Progress` uses.

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
        """The line as it reads now (``elapsed`` seconds into the run)."""
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
            self._draw()

    def set_description(self, desc: str, refresh: bool = True) -> None:
        self.desc = desc

    def set_postfix(self, refresh: bool = True, **values: object) -> None:
        self.postfix = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in values.items())

    def close(self) -> None:
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


class Progress(Callback):
    """The progress bar (a :class:`ProgressLine` in a notebook, tqdm's in a terminal) and a time estimate.

    ``announce`` (None: in notebooks) prints, after the first batches, about how long the run
    will take; the first batch is a warm-up and is not timed, and a test batch is counted as a
    third of a training step. The bar shows the epoch's running figures at most twice a second.

    >>> Progress(progress=False, announce=False).progress
    False
    """

    TIMED = 3  # batches timed after the warm-up batch

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
        if self.to_announce:
            self._announce(run)
        self.bar.update(1)
        if self.progress and time.perf_counter() - self.shown > 0.5:
            self.shown = time.perf_counter()
            loss, accuracy = run.metrics.means()
            self.bar.set_postfix(loss=f"{loss:.3f}", acc=f"{accuracy:.3f}", refresh=False)

    def _announce(self, run) -> None:
        last = min(self.TIMED, run.batches - 1)
        if run.batch == 0 and last > 0:
            sync(run.precision.device)
            self.started = time.perf_counter()
        if run.batch < last:
            return
        sync(run.precision.device)
        per_batch = (time.perf_counter() - self.started) / max(run.batch, 1)
        steps = run.epochs * (run.batches + run.test_batches / 3)
        print(f"{self.name}: about {duration_text(per_batch * steps)} for {run.epochs} epoch{'s' if run.epochs != 1 else ''} "
              f"of {run.batches} batches (timed on the first batches on this machine)", flush=True)
        self.to_announce = False

    def after_epoch(self, run) -> None:
        row = run.rows[-1]
        self.bar.set_postfix(loss=f"{row['train_loss']:.3f}", train_acc=f"{row['train_acc']:.3f}", test_acc=f"{row['test_acc']:.3f}")

    def after_fit(self, run) -> None:
        self.bar.close()
