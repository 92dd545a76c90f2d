"""Training: ``fit`` a model, ``evaluate`` it, save and load checkpoints, see which classes it confuses.

:func:`fit` is the loop every notebook uses. It takes any model and any pair of iterables of
``(X, y)`` batches (our :class:`alexnet_lib.loaders.DataLoaders`, or Dive into Deep
Learning's and PyTorch's ``DataLoader``), and returns the history as a DataFrame, one row per
epoch: loss, train and test accuracy, seconds, images per second. On the way it shows
progress bars (``tqdm.auto``: widgets in a notebook, text in a terminal) and, in a
notebook, a live learning curve (:class:`alexnet_lib.plots.LiveCurve`).

Speed comes from choosing the arithmetic per device (:func:`choose_precision`):

========  ================================================  ==================
device    mixed precision (``amp="auto"``)                  ``channels_last``
========  ================================================  ==================
CUDA      bf16 autocast where the GPU has bf16 (Ampere and  on
          later), else fp16 autocast with a ``GradScaler``
CPU       bf16 autocast when the CPU has bf16 instructions  on
          (``avx512_bf16`` or AMX), else float32
MPS       float32                                           off
========  ================================================  ==================

On the 2-core AMD EPYC (Zen 4, ``avx512_bf16``) CI machine bf16 and channels_last together
train LeNet about 1.3x and the AlexNets about 2x faster than float32; bf16 alone slows LeNet
down (``benchmarks/README.md``, ``bench_training.py --sweep``).
Autocast keeps the weights and the optimizer in float32; ``amp=False`` and
``channels_last=False`` switch both off. Evaluation runs under ``torch.inference_mode``.

Reproducibility: ``fit(..., seed=0)`` seeds dropout and the shuffling and augmentation of our
loaders (without touching PyTorch's global random state outside the call); build the model
with a seed too (``models.get(name, seed=0)``) and two runs on a CPU give the same history.

Ctrl-C (``KeyboardInterrupt``) stops training cleanly: ``fit`` returns the history so far
(the interrupted epoch's row holds the batches it finished) and the model keeps its weights.

Divergence stops it too: at the first NaN or infinite training loss, or one above
``max_loss_ratio`` times the first batch's, ``fit`` puts the model back at its weights after
the last complete epoch and raises :class:`TrainingDiverged`, which says where it happened,
suggests a lower learning rate and carries the history of the complete epochs. Each loss is
checked one batch late, so the check never makes the CPU wait for a GPU. ``save_checkpoint``
refuses NaN or infinite weights, and writes each file to a temporary file renamed into place,
so a crash never leaves a half-written checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import pickle
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from .basics import is_whole_number, model_name, seeded, shape_text
from .plots import LiveCurve, ProgressLine, duration_text, in_notebook

__all__ = [
    "HISTORY_COLUMNS",
    "Checkpoint",
    "Precision",
    "choose_precision",
    "confusion_matrix",
    "cpu_has_native_bf16",
    "evaluate",
    "fit",
    "format_history",
    "load_checkpoint",
    "make_optimizer",
    "most_confused",
    "predict",
    "resolve_device",
    "save_checkpoint",
    "save_history",
    "TrainingDiverged",
]

HISTORY_COLUMNS = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "images", "seconds", "images_per_s"]
_CHECKPOINT_FORMAT = "alexnet_lib checkpoint 1"


# ---------------------------------------------------------------------------------------------
# Device and arithmetic


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """The device to train on: ``device``, or the best available (CUDA, then MPS, then CPU).

    Unknown or absent devices are a ValueError that says what to use instead, raised before
    anything is moved.

    >>> resolve_device("cpu"), resolve_device(None).type in {"cuda", "mps", "cpu"}
    (device(type='cpu'), True)
    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    ValueError: device='tpu' is not a device PyTorch knows; use 'cpu', 'cuda', 'cuda:N' or 'mps'.
    """
    from .config import available_device

    if device is None:
        return torch.device(available_device())
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a device PyTorch knows; use 'cpu', 'cuda', 'cuda:N' or 'mps'.") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={str(device)!r} was asked for but PyTorch sees no CUDA GPU here; use device='cpu' (or None to choose)."
        )
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(
            f"device={str(device)!r} was asked for but PyTorch sees {torch.cuda.device_count()} CUDA GPU(s) here, "
            f"numbered from 0; use 'cuda:0' to 'cuda:{torch.cuda.device_count() - 1}' or 'cuda'."
        )
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device='mps' was asked for but this PyTorch has no MPS (Apple GPU) support here; use device='cpu'.")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device={str(device)!r} is not one this trainer supports; use 'cpu', 'cuda', 'cuda:N' or 'mps'.")
    return device


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (x86 ``avx512_bf16`` or AMX, Arm ``bf16``).

    Only then does bf16 autocast speed training up; elsewhere oneDNN emulates bf16 and it can
    be slower than float32.

    ``ONEDNN_MAX_CPU_ISA`` set to an instruction set without bf16 (``AVX2``, say) makes it
    False: oneDNN then emulates bf16 even on a CPU that has it, which is how an AVX2 laptop can
    be imitated on a newer machine.

    >>> isinstance(cpu_has_native_bf16(), bool)
    True
    """
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    if isa and not any(isa.startswith(k) for k in ("ALL", "AVX512_CORE_BF16", "AVX512_CORE_AMX", "AVX10")):
        return False
    get_capability = getattr(getattr(torch._C, "_cpu", None), "_get_cpu_capability", None)
    if get_capability is not None:
        try:
            capability = get_capability()
            if any(capability.get(k) for k in ("avx512_bf16", "amx_bf16")):
                return True
        except Exception:  # a private API: never let it break training
            pass
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return any(flag in flags for flag in ("avx512_bf16", "amx_bf16", "bf16"))


@dataclass(frozen=True)
class Precision:
    """The arithmetic of a run: autocast dtype (None: float32), loss scaling, memory format."""

    device: torch.device
    amp_dtype: torch.dtype | None
    scaler: bool
    channels_last: bool

    def autocast(self) -> contextlib.AbstractContextManager:
        """The autocast context for forward passes (a no-op for float32)."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def describe(self) -> str:
        """In words, e.g. ``'bf16 autocast, channels_last'``.

        >>> Precision(torch.device("cpu"), None, False, False).describe()
        'float32, contiguous'
        """
        short = {torch.bfloat16: "bf16", torch.float16: "fp16"}
        amp = "float32" if self.amp_dtype is None else f"{short.get(self.amp_dtype, str(self.amp_dtype))} autocast"
        if self.scaler:
            amp += " + GradScaler"
        return f"{amp}, {'channels_last' if self.channels_last else 'contiguous'}"


def choose_precision(device: str | torch.device, amp: bool | str = "auto", channels_last: bool | str = "auto") -> Precision:
    """The arithmetic for ``device`` (the rules are in the module docstring).

    ``amp``: ``"auto"``, ``True`` (the device's mixed precision), ``False`` (float32), or
    ``"bf16"``/``"fp16"``. ``channels_last``: ``"auto"``, ``True`` or ``False``.

    >>> choose_precision("cpu", amp=False, channels_last=False).describe()
    'float32, contiguous'
    >>> choose_precision("cpu", amp="bf16").describe()
    'bf16 autocast, channels_last'
    """
    device = torch.device(device)
    kind = device.type
    choices = {"auto", True, False, "bf16", "fp16"}
    if amp not in choices or (isinstance(amp, int) and not isinstance(amp, bool)):
        raise ValueError(f"amp={amp!r} should be 'auto', True, False, 'bf16' or 'fp16'.")
    if channels_last not in ("auto", True, False):
        raise ValueError(f"channels_last={channels_last!r} should be 'auto', True or False.")
    dtype: torch.dtype | None
    if amp is False:
        dtype = None
    elif amp == "bf16":
        dtype = torch.bfloat16
    elif amp == "fp16":
        if kind != "cuda":
            raise ValueError(f"amp='fp16' needs a CUDA GPU (it is on {kind}); use amp='bf16' or amp=False.")
        dtype = torch.float16
    elif kind == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    elif kind == "cpu":
        dtype = torch.bfloat16 if (amp is True or cpu_has_native_bf16()) else None
    elif amp is True:
        raise ValueError(f"mixed precision on {kind} is not supported by this trainer; use amp=False (float32).")
    else:
        dtype = None
    memory = kind in ("cuda", "cpu") if channels_last == "auto" else bool(channels_last)
    return Precision(device=device, amp_dtype=dtype, scaler=dtype == torch.float16, channels_last=memory)


def _to_device(x: torch.Tensor, y: torch.Tensor, precision: Precision) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.to(precision.device, non_blocking=True)
    if precision.channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y.to(precision.device, non_blocking=True)


def _grad_scaler(device: torch.device):
    """A loss scaler for fp16 training (``torch.amp.GradScaler``; ``torch.cuda.amp`` before torch 2.3)."""
    if hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler(device.type)
    return torch.cuda.amp.GradScaler()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@contextlib.contextmanager
def _cudnn_autotune(device: torch.device) -> Iterator[None]:
    """Let cuDNN pick the fastest convolution algorithms for the block (CUDA only), then restore."""
    if device.type != "cuda":
        yield
        return
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


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


# ---------------------------------------------------------------------------------------------
# Evaluation


def _split_data(data) -> tuple[Iterable, Iterable | None]:
    if hasattr(data, "train") and hasattr(data, "test"):
        return data.train, data.test
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    raise ValueError(
        f"data should be the pair (train batches, test batches), e.g. fashion_mnist_loaders(...) or "
        f"(train_iter, test_iter); got {type(data).__name__}. Use (train_iter, None) to train without testing."
    )


def _outputs(
    model: nn.Module, loader: Iterable, precision: Precision, max_batches: int | None = None
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``(model output, labels)`` for each batch of ``loader``, in eval and inference mode.

    The model's train/eval mode is restored when the batches run out or the caller stops.
    """
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), precision.autocast():
            for i, (x, y) in enumerate(loader):
                if max_batches is not None and i >= max_batches:
                    break
                x, y = _to_device(x, y, precision)
                yield model(x), y
    finally:
        model.train(was_training)


def _run_eval(
    model: nn.Module, loader: Iterable, precision: Precision, loss_fn: Callable, max_batches: int | None = None
) -> tuple[float, float, int]:
    """Mean loss, accuracy and image count of ``model`` on ``loader`` (inference mode, eval mode)."""
    loss_sum = torch.zeros((), device=precision.device)
    correct = torch.zeros((), device=precision.device, dtype=torch.int64)
    seen = 0
    for out, y in _outputs(model, loader, precision, max_batches):
        loss_sum += loss_fn(out.float(), y) * len(y)
        correct += (out.argmax(1) == y).sum()
        seen += len(y)
    if seen == 0:
        return math.nan, math.nan, 0
    return loss_sum.item() / seen, correct.item() / seen, seen


def evaluate(
    model: nn.Module,
    loader: Iterable,
    *,
    device: str | torch.device | None = None,
    amp: bool | str = "auto",
    channels_last: bool | str = "auto",
    loss_fn: Callable | None = None,
    max_batches: int | None = None,
) -> dict[str, float]:
    """Loss, accuracy, images and images per second of ``model`` on ``loader``, under ``torch.inference_mode``.

    ``device=None`` uses the device the model's parameters are on.

    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> batches = [(torch.zeros(3, 1, 2, 2), torch.tensor([0, 1, 0]))]
    >>> result = evaluate(model, batches, amp=False)
    >>> result["images"], 0 <= result["acc"] <= 1
    (3, True)
    """
    if device is None:
        device = next(model.parameters()).device
    precision = choose_precision(device, amp, channels_last)
    if precision.channels_last:
        model.to(memory_format=torch.channels_last)
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    start = time.perf_counter()
    loss, acc, seen = _run_eval(model, loader, precision, loss_fn, max_batches)
    _sync(precision.device)
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
    for out, y in _outputs(model, loader, precision, max_batches):
        predicted.append(out.argmax(1).cpu())
        true.append(y.cpu())
    if not true:
        return torch.empty(0, dtype=torch.int64), torch.empty(0, dtype=torch.int64)
    return torch.cat(predicted), torch.cat(true)


def confusion_matrix(
    model: nn.Module,
    data,
    classes: tuple[str, ...] | list[str] | None = None,
    *,
    device: str | torch.device | None = None,
    amp: bool | str = "auto",
) -> pd.DataFrame:
    """How often each true class (rows) was predicted as each class (columns), on the test batches.

    ``data`` is a loader of ``(X, y)`` batches, or :class:`~alexnet_lib.loaders.DataLoaders`
    (its ``test`` loader and its ``classes`` are used).

    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> batches = [(torch.zeros(3, 1, 2, 2), torch.tensor([0, 1, 0]))]
    >>> table = confusion_matrix(model, batches, classes=["a", "b"], amp=False)
    >>> table.shape, int(table.to_numpy().sum())
    ((2, 2), 3)
    """
    if hasattr(data, "test") and hasattr(data, "classes"):
        classes = data.classes if classes is None else classes
        data = data.test
    predicted, true = predict(model, data, device=device, amp=amp)
    n = len(classes) if classes is not None else int(max(predicted.max(), true.max()) + 1) if len(true) else 0
    counts = torch.bincount(true * n + predicted, minlength=n * n).reshape(n, n) if n else torch.zeros(0, 0, dtype=torch.int64)
    names = list(classes) if classes is not None else list(range(n))
    table = pd.DataFrame(counts.numpy(), index=pd.Index(names, name="true"), columns=pd.Index(names, name="predicted"))
    return table


def most_confused(confusion: pd.DataFrame, k: int = 5) -> pd.DataFrame:
    """The ``k`` largest off-diagonal cells: which true class is most often taken for which.

    ``share`` is the fraction of that true class's images given the wrong class.

    >>> table = pd.DataFrame([[8, 2, 0], [5, 5, 0], [0, 1, 9]], index=list("abc"), columns=list("abc"))
    >>> most_confused(table, k=2)
      true predicted  count  share
    0    b         a      5    0.5
    1    a         b      2    0.2
    """
    values = confusion.to_numpy()
    totals = values.sum(axis=1)
    rows = [
        (confusion.index[i], confusion.columns[j], int(values[i, j]), values[i, j] / totals[i] if totals[i] else math.nan)
        for i in range(values.shape[0])
        for j in range(values.shape[1])
        if i != j and values[i, j] > 0
    ]
    rows.sort(key=lambda r: (-r[2], -r[3]))
    return pd.DataFrame(rows[:k], columns=["true", "predicted", "count", "share"])


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


def _progress_bar(total: int | None, name: str, enabled: bool):
    """One bar for the whole run: a text line kept in its final state in a notebook, tqdm in a terminal."""
    if enabled and in_notebook():
        return ProgressLine(total, name, enabled=True)
    return tqdm(total=total, desc=name, unit="batch", disable=not enabled, dynamic_ncols=True)


class _RunEstimate:
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
            _sync(self.device)
            self.start = time.perf_counter()
        if index < last:
            return
        _sync(self.device)
        per_batch = (time.perf_counter() - self.start) / max(index, 1)
        steps = self.epochs * (self.train_batches + self.test_batches / 3)
        epochs = f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        print(f"{self.name}: about {duration_text(per_batch * steps)} for {epochs} of {self.train_batches} batches "
              f"(timed on the first batches on this machine)", flush=True)
        self.enabled = False


def fit(
    model: nn.Module,
    data,
    epochs: int,
    optimizer: str | torch.optim.Optimizer = "sgd",
    lr: float | None = None,
    *,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    schedule: str = "constant",
    loss_fn: Callable | None = None,
    device: str | torch.device | None = None,
    amp: bool | str = "auto",
    channels_last: bool | str = "auto",
    seed: int | None = None,
    progress: bool = True,
    plot: bool | None = None,
    max_batches: int | None = None,
    max_loss_ratio: float | None = 1000.0,
    announce: bool | None = None,
) -> pd.DataFrame:
    """Train ``model`` on ``data`` for ``epochs`` epochs and return the history, one row per epoch.

    ``data`` is ``(train, test)``: :class:`~alexnet_lib.loaders.DataLoaders`, or any two
    iterables of ``(X, y)`` batches (``test`` may be None). ``optimizer`` is ``'sgd'`` (with
    ``momentum``), ``'adam'``, ``'adamw'`` (built with ``lr`` and ``weight_decay``) or a
    ``torch.optim.Optimizer`` over the model's parameters; ``schedule`` changes the learning
    rate every batch (``'constant'``, ``'onecycle'``, ``'cosine'``). ``device=None`` picks
    CUDA, MPS or CPU; ``amp`` and ``channels_last`` are explained in the module docstring;
    ``seed`` makes dropout and our loaders' shuffling reproducible. ``progress`` shows
    progress bars, ``plot`` the live learning curve (None: in notebooks only).
    ``max_batches`` caps the training batches per epoch (a quick check).
    ``max_loss_ratio``: a batch loss above this multiple of the first batch's counts as
    divergence, like a NaN or infinite one (None: only those). ``announce`` prints, once the
    first few batches are timed, about how long the whole run will take (None: in notebooks
    only).

    The model is trained in place (moved to ``device``, and to the channels_last memory format
    where that is used) and left in eval mode. The history has the columns of
    ``HISTORY_COLUMNS``: mean training loss and accuracy over the epoch's batches (as the
    weights change, like Dive into Deep Learning's), test loss and accuracy after the epoch,
    the learning rate at its end, the training images of the epoch, the epoch's seconds
    (training and test) and the training images per second (data pipeline included, testing
    not). ``history.attrs`` records the model, device, precision and whether the run was
    interrupted. On Ctrl-C the history so far is returned, the interrupted epoch with the
    batches it finished and no test figures. If the loss diverges, :class:`TrainingDiverged`
    is raised (the model back at its weights after the last complete epoch); a classifier
    with fewer outputs than the labels have classes is a ValueError before the first step.

    >>> from alexnet_lib.loaders import BatchLoader
    >>> images, labels = torch.randint(0, 256, (64, 8, 8), dtype=torch.uint8), torch.arange(64) % 2
    >>> data = BatchLoader(images, labels, 16, shuffle=True), BatchLoader(images, labels, 32)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    >>> history = fit(model, data, epochs=2, lr=0.1, seed=0, progress=False)
    >>> list(history.columns) == HISTORY_COLUMNS, len(history), history.attrs["interrupted"]
    (True, 2, False)
    """
    if not is_whole_number(epochs):
        raise ValueError(f"epochs={epochs!r} should be a whole number >= 1.")
    if max_batches is not None and not is_whole_number(max_batches):
        raise ValueError(f"max_batches={max_batches!r} should be a whole number >= 1 (or None for all batches).")
    if max_loss_ratio is not None and not max_loss_ratio > 1:
        raise ValueError(f"max_loss_ratio={max_loss_ratio!r} should be a number > 1 (or None to stop only at NaN or infinite losses).")
    train_iter, test_iter = _split_data(data)
    device = resolve_device(device)
    precision = choose_precision(device, amp, channels_last)
    model.to(device)
    if precision.channels_last:
        model.to(memory_format=torch.channels_last)
    if isinstance(optimizer, str):
        opt = make_optimizer(optimizer, model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    elif isinstance(optimizer, torch.optim.Optimizer):
        if lr is not None:
            raise ValueError(
                f"lr={lr} is for an optimizer given by name; set the learning rate of your {type(optimizer).__name__} itself."
            )
        opt = optimizer
    else:
        raise ValueError(f"optimizer should be 'sgd', 'adam', 'adamw' or a torch.optim.Optimizer; got {optimizer!r}.")
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    batches_per_epoch = _num_batches(train_iter, max_batches)
    if schedule != "constant" and batches_per_epoch is None:
        raise ValueError(
            f"schedule={schedule!r} needs the number of batches per epoch, but the training batches have no len(); "
            "give max_batches or use schedule='constant'."
        )
    sched = _make_schedule(schedule, opt, epochs * (batches_per_epoch or 1))
    scaler = _grad_scaler(device) if precision.scaler else None
    name = model_name(model)
    curve = LiveCurve(epochs, title=f"{name}: {precision.describe()} on {device}", enabled=plot)

    guard = _DivergenceGuard(model, opt, epochs, batches_per_epoch, max_loss_ratio)
    diverged: TrainingDiverged | None = None
    rows: list[dict[str, float]] = []
    interrupted = testing = False
    totals = _EpochTotals(device)
    epoch = 0
    bar = _progress_bar(epochs * batches_per_epoch if batches_per_epoch else None, name, progress)
    estimate = _RunEstimate(name, epochs, batches_per_epoch, _num_batches(test_iter, None) if test_iter is not None else 0, device,
                            enabled=in_notebook() if announce is None else announce)
    run_start = time.perf_counter()
    with seeded(seed, device), _cudnn_autotune(device):
        try:
            for epoch in range(epochs):
                if hasattr(train_iter, "set_epoch"):
                    train_iter.set_epoch(epoch, seed)
                model.train()
                guard.start_epoch()
                totals = _EpochTotals(device)
                bar.set_description(f"{name} epoch {epoch + 1}/{epochs}", refresh=False)
                start = last_report = time.perf_counter()
                for i, (x, y) in enumerate(train_iter):
                    if max_batches is not None and i >= max_batches:
                        break
                    x, y = _to_device(x, y, precision)
                    with precision.autocast():
                        out = model(x)
                        if epoch == 0 and i == 0:
                            _check_classes(name, out, y, loss_fn, train_iter)
                        loss = loss_fn(out, y)
                    opt.zero_grad(set_to_none=True)
                    if scaler is not None:
                        scaler.scale(loss).backward()
                        scaler.step(opt)
                        scaler.update()
                    else:
                        loss.backward()
                        opt.step()
                    if sched is not None:
                        sched.step()
                    totals.add(loss, out, y)
                    guard.watch(epoch, i + 1, loss)
                    estimate.batch_done(i)
                    bar.update(1)
                    now = time.perf_counter()
                    if now - last_report > 0.5 and (progress or curve.enabled):
                        last_report = now
                        train_loss, train_acc = totals.means()
                        bar.set_postfix(loss=f"{train_loss:.3f}", acc=f"{train_acc:.3f}", refresh=False)
                        fraction = totals.batches / batches_per_epoch if batches_per_epoch else 1.0
                        curve.add(epoch + fraction, train_loss=train_loss, train_acc=train_acc)
                guard.finish_epoch()
                _sync(device)
                train_seconds = time.perf_counter() - start
                train_loss, train_acc = totals.means()
                images = totals.seen
                totals = _EpochTotals(device)  # this epoch is recorded below; an interrupt in testing adds no partial row
                row = {
                    "epoch": epoch + 1, "train_loss": train_loss, "train_acc": train_acc, "test_loss": math.nan, "test_acc": math.nan,
                    "lr": opt.param_groups[0]["lr"], "images": images, "seconds": train_seconds,
                    "images_per_s": images / train_seconds if train_seconds else math.nan,
                }
                rows.append(row)
                if test_iter is not None:
                    testing = True
                    row["test_loss"], row["test_acc"], _ = _run_eval(model, test_iter, precision, loss_fn)
                    testing = False
                row["seconds"] = time.perf_counter() - start
                bar.set_postfix(loss=f"{train_loss:.3f}", train_acc=f"{train_acc:.3f}", test_acc=f"{row['test_acc']:.3f}")
                curve.add(epoch + 1, **{k: row[k] for k in ("train_loss", "train_acc", "test_loss", "test_acc")})
                curve.draw()
        except TrainingDiverged as exc:
            diverged = exc
            guard.restore()
        except KeyboardInterrupt:
            interrupted = True
            if totals.batches:
                _sync(device)
                seconds = time.perf_counter() - start
                train_loss, train_acc = totals.means()
                rows.append({
                    "epoch": epoch + 1, "train_loss": train_loss, "train_acc": train_acc, "test_loss": math.nan, "test_acc": math.nan,
                    "lr": opt.param_groups[0]["lr"], "images": totals.seen, "seconds": seconds, "images_per_s": totals.seen / seconds,
                })
            if testing:
                where, last = f"while testing after epoch {epoch + 1} of {epochs}", "without test figures"
            elif totals.batches:
                where = f"in epoch {epoch + 1} of {epochs} after {totals.batches} of {batches_per_epoch} batches"
                last = "partial: its training figures cover those batches, no test figures"
            else:
                where, last = f"before epoch {epoch + 1} of {epochs} started", "the last complete epoch"
            print(
                f"Training stopped by KeyboardInterrupt {where}. The model keeps the weights it has; "
                f"the history holds {len(rows)} row(s)" + (f", the last one {last}." if rows else ".")
            )
        finally:
            bar.close()
            model.eval()
    if curve.enabled:
        curve.draw()
    history = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    history[["epoch", "images"]] = history[["epoch", "images"]].astype(int)
    history.attrs.update(
        model=name, device=str(device), precision=precision.describe(), interrupted=interrupted,
        seconds=time.perf_counter() - run_start, optimizer=type(opt).__name__, schedule=schedule, seed=seed,
    )
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


# ---------------------------------------------------------------------------------------------
# Checkpoints


def _plain(name: str, value: object) -> object:
    """``value`` as plain Python values and tensors, which ``torch.load(weights_only=True)`` accepts; else a ValueError."""
    if value is None or type(value) in (str, int, float, bool) or isinstance(value, torch.Tensor):
        return value
    for kind in (bool, int, float, str):  # subclasses (torch's version string, numpy scalars) as the plain type
        if isinstance(value, kind):
            return kind(value)
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # numpy scalars
        return _plain(name, value.item())
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(name, v) for v in value)
    if isinstance(value, dict):
        return {_plain(name, k): _plain(name, v) for k, v in value.items()}
    raise ValueError(
        f"{name}={value!r} ({type(value).__name__}) cannot go into a checkpoint that loads with weights_only=True; "
        "use str, int, float, bool, None, or lists and dicts of them."
    )


def _write_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> Path:
    """Write ``path`` through a temporary file beside it, then rename it into place.

    A crash, a Ctrl-C or a full disk leaves the old file (or none), never a half-written one;
    of two processes writing the same path, one wins whole.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        with open(temporary, "xb") as f:  # 'x': a new file, with the permissions the umask gives
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def save_history(path: str | Path, history: pd.DataFrame) -> Path:
    """Save the history as CSV (NaN as an empty field), written atomically; return the path.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = save_history(Path(folder) / "history.csv", pd.DataFrame({"epoch": [1], "train_loss": [0.5]}))
    ...     print(path.read_text().strip())
    epoch,train_loss
    1,0.5
    """
    return _write_atomically(Path(path), lambda f: f.write(history.to_csv(index=False).encode()))


def _first_nonfinite(state: dict[str, torch.Tensor]) -> str | None:
    """The name of the first floating-point tensor of ``state`` holding a NaN or an infinity, or None."""
    return next((k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())), None)


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    history: pd.DataFrame | None = None,
    **meta: object,
) -> Path:
    """Save the model's weights (and optimizer state, history and ``meta``) to ``path``; return the path.

    Everything is stored as tensors and plain Python values, so :func:`load_checkpoint` can
    read it with ``torch.load(weights_only=True)``, which runs no code from the file. The
    model's registered name goes in ``meta['model_name']``; give ``model_kwargs=...`` (the
    arguments of ``models.get``) to let ``load_checkpoint`` rebuild the model by itself.
    Weights holding NaN or infinite values are refused (a ValueError), and the file is written
    to a temporary file renamed into place, so it is never half-written.
    """
    path = Path(path)
    meta = {key: _plain(key, value) for key, value in meta.items()}
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    bad = _first_nonfinite(state)
    if bad is not None:
        raise ValueError(
            f"the weights {bad!r} of {model_name(model)} hold NaN or infinite values (its training diverged), so they "
            f"are not saved to {path}; train again with a lower learning rate."
        )
    payload: dict[str, object] = {
        "format": _CHECKPOINT_FORMAT,
        "model_state": state,
        "meta": {"model_name": str(model_name(model)), "torch": str(torch.__version__), **meta},
    }
    if optimizer is not None:
        payload["optimizer_state"] = optimizer.state_dict()
    if history is not None:
        payload["history"] = {
            "columns": [str(c) for c in history.columns],
            "rows": [list(_plain("history", tuple(row))) for row in history.itertuples(index=False)],
            "attrs": {str(k): _plain(f"history.attrs[{k!r}]", v) for k, v in history.attrs.items()},
        }
    return _write_atomically(path, lambda f: torch.save(payload, f))


def _refusal_reason(exc: pickle.UnpicklingError) -> str:
    """The line of torch's long weights_only refusal that says what it met (e.g. 'Unsupported global ...')."""
    boilerplate = ("Weights only load failed", "Please file an issue", "Check the documentation")
    lines = [line.strip() for line in str(exc).splitlines() if line.strip() and not line.strip().startswith(boilerplate)]
    return lines[0] if lines else type(exc).__name__


def _load_weights_only(path: Path, map_location: str | torch.device) -> object:
    """``torch.load(path, weights_only=True)``, its failures explained in one sentence."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ValueError(
            f"{path} was refused by torch.load(weights_only=True), which reads only tensors and plain values "
            f"({_refusal_reason(exc)}); it was not written by save_checkpoint, and loading it any other way could run "
            "code hidden in it: do not, unless you trust where it came from."
        ) from exc
    except (RuntimeError, EOFError) as exc:
        reason = str(exc).split(". ")[0] or "the file ends too soon"
        raise ValueError(f"{path} cannot be read as a checkpoint ({reason}): it is damaged or cut short; use another copy.") from exc


def _first_mismatch(saved: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> str | None:
    """The first difference between saved weights and a model's, in words; None if they fit.

    >>> _first_mismatch({"w": torch.zeros(6, 1, 5, 5)}, {"w": torch.zeros(64, 3, 11, 11)})
    "'w' is 6×1×5×5 in the checkpoint but 64×3×11×11 in this model"
    >>> _first_mismatch({"w": torch.zeros(2)}, {"w": torch.zeros(2), "b": torch.zeros(1)})
    "this model's 'b' (1) is not in the checkpoint"
    """
    for key, tensor in expected.items():
        if key not in saved:
            return f"this model's {key!r} ({shape_text(tensor)}) is not in the checkpoint"
        if saved[key].shape != tensor.shape:
            return f"{key!r} is {shape_text(saved[key])} in the checkpoint but {shape_text(tensor)} in this model"
    extra = next((key for key in saved if key not in expected), None)
    return None if extra is None else f"the checkpoint's {extra!r} ({shape_text(saved[extra])}) has no place in this model"


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` read: the model (if given or rebuilt), states, history and meta data."""

    model: nn.Module | None
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict | None
    history: pd.DataFrame | None
    meta: dict[str, object]


def load_checkpoint(
    path: str | Path,
    model: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    map_location: str | torch.device = "cpu",
) -> Checkpoint:
    """Read a checkpoint of :func:`save_checkpoint` with ``weights_only=True`` and load it into ``model``.

    Without ``model``, the model is rebuilt with ``alexnet_lib.models.get`` when the
    checkpoint names a registered model and was saved with ``model_kwargs``. ``optimizer``
    gets the saved optimizer state.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}; check the path (python -m alexnet_lib train saves runs/<model>-<time>/checkpoint.pt)."
        )
    payload = _load_weights_only(path, map_location)
    if not isinstance(payload, dict) or payload.get("format") != _CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a checkpoint saved by alexnet_lib.training.save_checkpoint.")
    meta = dict(payload.get("meta", {}))
    state = payload["model_state"]
    if model is None and "model_kwargs" in meta:
        from . import models

        name = str(meta.get("model_name"))
        if name in models.list_models():
            model = models.get(name, **dict(meta["model_kwargs"]))
    if model is not None:
        mismatch = _first_mismatch(state, model.state_dict())
        if mismatch is not None:
            raise ValueError(
                f"the checkpoint {path} holds the weights of {meta.get('model_name')!r}, which do not fit this "
                f"{model_name(model)}: {mismatch}; build the model the checkpoint was saved from "
                "(load_checkpoint(path) without a model rebuilds it when it can)."
            )
        model.load_state_dict(state)
    optimizer_state = payload.get("optimizer_state")
    if optimizer is not None:
        if optimizer_state is None:
            raise ValueError(f"the checkpoint {path} holds no optimizer state; save it with save_checkpoint(..., optimizer=...).")
        optimizer.load_state_dict(optimizer_state)
    history = None
    if "history" in payload:
        saved = payload["history"]
        history = pd.DataFrame(saved["rows"], columns=saved["columns"])
        history.attrs.update(saved.get("attrs", {}))
    return Checkpoint(model=model, model_state=state, optimizer_state=optimizer_state, history=history, meta=meta)
