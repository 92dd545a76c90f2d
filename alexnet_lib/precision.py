"""Device and arithmetic: which device to train on, and mixed precision and memory format per device.

:func:`choose_precision` picks the arithmetic for a device:

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
``channels_last=False`` switch both off.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .config import available_device

__all__ = ["Precision", "choose_precision", "cpu_has_native_bf16", "cudnn_autotune", "grad_scaler", "resolve_device", "sync", "to_device"]


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
        raise ValueError("device='mps' was asked for but this PyTorch has no MPS (Apple GPU) support here; use device='cpu'.")
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

    def place(self, model: nn.Module) -> nn.Module:
        """Move ``model`` to the device, in the channels_last memory format where that is used; return it."""
        model.to(self.device)
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

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


def to_device(x: torch.Tensor, y: torch.Tensor, precision: Precision) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.to(precision.device, non_blocking=True)
    if precision.channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y.to(precision.device, non_blocking=True)


def grad_scaler(device: torch.device):
    """A loss scaler for fp16 training (``torch.amp.GradScaler``; ``torch.cuda.amp`` before torch 2.3)."""
    if hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler(device.type)
    return torch.cuda.amp.GradScaler()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@contextlib.contextmanager
def cudnn_autotune(device: torch.device) -> Iterator[None]:
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
