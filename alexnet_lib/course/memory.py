"""Training memory: what one training step keeps in memory, item by item.

:func:`training_memory` counts parameters, buffers, gradients and the optimizer's state from
the model itself, and measures the activations autograd keeps for ``backward()``: the tensors
that ``torch.autograd.graph.saved_tensors_hooks`` sees in a real training-mode forward pass.
:func:`format_training_memory` prints the table with an explanation per row. Where
:func:`alexnet_lib.course.tables.layer_table` adds up every layer's output, this counts only what
backward needs.

:func:`memory_estimate` bounds the same from the shapes alone, so that a model built on the meta device (nothing
allocated) can be checked before it is built for real: :func:`check_fits` and :func:`check_recipe_fits` refuse, with
the arithmetic, what would need more than :func:`available_memory`.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from .. import models
from ..config import shape_text
from .tables import aligned_lines, checked_input_size, dtype_name, layer_table, model_device_dtype, table_attrs, total_position
from .tracking import modes_restored

try:
    import resource  # POSIX only: the address-space limit (ulimit -v)
except ImportError:
    resource = None

__all__ = ["NotEnoughMemory", "available_memory", "check_fits", "check_recipe_fits", "format_training_memory", "memory_estimate",
           "training_memory"]

OPTIMIZERS = {  # name: (state values per parameter, what the state is)
    "sgd": (0, "plain SGD keeps no state"),
    "momentum": (1, "SGD with momentum keeps one velocity value per parameter"),
    "adam": (2, "Adam keeps two running averages per parameter (exp_avg, exp_avg_sq), one step count per tensor"),
    "adamw": (2, "AdamW keeps two running averages per parameter (exp_avg, exp_avg_sq), one step count per tensor"),
}


def _saved_tensors(model: nn.Module, size: tuple[int, ...], batch: int, dtype: torch.dtype) -> tuple[int, int]:
    """Values and bytes of the tensors autograd keeps for backward() in a training-mode forward pass of ``batch``.

    Parameters are left out (they are counted as parameters); floating-point tensors are
    counted in ``dtype``. The model's training mode, buffers and the random state are restored.
    """
    device, model_dtype = model_device_dtype(model)
    parameter_storages = {p.untyped_storage().data_ptr() for p in model.parameters()}
    kept: dict[int, tuple[int, int]] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in parameter_storages and storage.nbytes():
            scale = dtype.itemsize / t.element_size() if t.is_floating_point() else 1
            kept[storage.data_ptr()] = (storage.nbytes() // t.element_size(), int(storage.nbytes() * scale))
        return t

    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        with modes_restored(model), torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                model.train()
                model(torch.zeros((batch, *size), dtype=model_dtype, device=device))
    finally:
        with torch.no_grad():
            for b, copy in buffers:
                b.copy_(copy)
    return sum(v for v, _ in kept.values()), sum(b for _, b in kept.values())


def _activations(model: nn.Module, size: tuple[int, ...], batch_size: int, dtype: torch.dtype) -> tuple[int, int]:
    """Values and bytes autograd keeps for a batch of ``batch_size``, measured on batches of 2 and 4."""
    try:
        two, four = (_saved_tensors(model, size, b, dtype) for b in (2, 4))
    except Exception as exc:
        raise ValueError(
            f"{type(model).__name__} cannot train on an input of size {shape_text(size)}: {exc}\n"
            f"Check input_size (channels, height, width)."
        ) from exc
    # a straight line through batches 2 and 4: a few saved tensors (BatchNorm's statistics) do not grow with the batch
    values, nbytes = (t + (batch_size - 2) * (f - t) // 2 for t, f in zip(two, four))
    return values, nbytes


def _rows(
    model: nn.Module, optimizer: str, batch_size: int, dtype: torch.dtype, activations: tuple[int, int]
) -> list[tuple[str, int, int, str]]:
    """The rows before the total, each ``(item, values, bytes, explanation)``."""
    per_value, optimizer_text = OPTIMIZERS[optimizer]
    itemsize = dtype.itemsize

    def stored_bytes(t: torch.Tensor) -> int:
        return t.numel() * (itemsize if t.is_floating_point() else t.element_size())

    params = list({id(p): p for p in model.parameters()}.values())
    trainable = [p for p in params if p.requires_grad]
    n_params, n_trainable = sum(p.numel() for p in params), sum(p.numel() for p in trainable)
    steps = len(trainable) if optimizer in ("adam", "adamw") else 0  # one float32 step count per tensor
    frozen = n_params - n_trainable
    return [
        ("parameters", n_params, sum(stored_bytes(p) for p in params),
         f"every weight and bias, {itemsize} bytes each in {dtype_name(dtype)}"),
        ("buffers", sum(b.numel() for b in model.buffers()), sum(stored_bytes(b) for b in model.buffers()),
         "running statistics of BatchNorm and other state that is not trained"),
        ("gradients", n_trainable, n_trainable * itemsize,
         "one gradient per trainable parameter, written by backward()"
         + (f" ({frozen:,} frozen parameters get none)" if frozen else "")),
        ("optimizer state", per_value * n_trainable + steps, per_value * n_trainable * itemsize + 4 * steps,
         optimizer_text),
        ("activations", *activations,
         f"what autograd keeps for backward() for a batch of {batch_size:,}: layer inputs or outputs, "
         f"pooling indices, dropout masks (measured)"),
    ]


def training_memory(
    model: nn.Module,
    input_size: Sequence[int] = (3, 224, 224),
    batch_size: int = 1,
    optimizer: str = "sgd",
    dtype: torch.dtype = torch.float32,
) -> pd.DataFrame:
    """What one training step keeps in memory: parameters, gradients, optimizer state, activations.

    ``optimizer`` is ``'sgd'``, ``'momentum'``, ``'adam'`` or ``'adamw'``. Parameters and
    buffers (BatchNorm's running statistics) are stored in ``dtype`` where they are floating
    point; each trainable parameter gets a gradient of its size; the optimizer state is what
    ``torch.optim`` allocates at its first step. Activations are the tensors autograd keeps
    for ``backward()``: each layer's input or output (whichever its gradient needs), max-pooling's
    indices, dropout's masks. They are measured in training mode on batches of 2 and 4
    (``torch.autograd.graph.saved_tensors_hooks``) and scaled to ``batch_size``; the model's
    state is left as it was. That is less than the sum of :func:`~alexnet_lib.course.tables.layer_table`'s outputs:
    autograd keeps only what backward needs. The allocator's rounding, CUDA's context and
    temporary buffers come on top, so the total is a lower bound for the device memory.

    >>> mem = training_memory(nn.Linear(1000, 10), input_size=(1000,), batch_size=32, optimizer="adam")
    >>> mem[["item", "values", "bytes"]]
                  item  values   bytes
    0       parameters   10010   40040
    1          buffers       0       0
    2        gradients   10010   40040
    3  optimizer state   20022   80088
    4      activations   32000  128000
    5            total   72042  288168
    """
    key = str(optimizer).strip().lower()
    if key not in OPTIMIZERS:
        raise ValueError(
            f"optimizer={optimizer!r} is not one this estimate knows; choose one of {', '.join(OPTIMIZERS)}."
        )
    size = checked_input_size(input_size, batch_size)
    rows = _rows(model, key, batch_size, dtype, _activations(model, size, batch_size, dtype))
    rows.append(("total", sum(r[1] for r in rows), sum(r[2] for r in rows), "a lower bound for the device memory"))
    mem = pd.DataFrame(rows, columns=["item", "values", "bytes", "explanation"])
    mem["item"], mem["explanation"] = mem["item"].astype(str), mem["explanation"].astype(str)
    mem.attrs.update(table_attrs(model, size, batch_size, dtype), optimizer=key)
    return mem


def format_training_memory(memory: pd.DataFrame, width: int = 80) -> str:
    """A :func:`training_memory` table as plain text: exact bytes, MiB, and the explanations below.

    >>> print(format_training_memory(training_memory(nn.Linear(1000, 10), (1000,), batch_size=32, optimizer="adam")))
    Training memory of Linear, input 1000, batch of 32 in float32, optimizer adam
    item             values    bytes  MiB
    -------------------------------------
    parameters       10,010   40,040  0.0
    buffers               0        0  0.0
    gradients        10,010   40,040  0.0
    optimizer state  20,022   80,088  0.1
    activations      32,000  128,000  0.1
    -------------------------------------
    total            72,042  288,168  0.3
    - parameters: every weight and bias, 4 bytes each in float32
    - buffers: running statistics of BatchNorm and other state that is not trained
    - gradients: one gradient per trainable parameter, written by backward()
    - optimizer state: Adam keeps two running averages per parameter (exp_avg,
      exp_avg_sq), one step count per tensor
    - activations: what autograd keeps for backward() for a batch of 32: layer
      inputs or outputs, pooling indices, dropout masks (measured)
    - total: a lower bound for the device memory
    """
    rows = [
        [str(r.item), f"{int(r.values):,}", f"{int(r.bytes):,}", f"{r.bytes / 2**20:,.1f}"] for r in memory.itertuples()
    ]
    total_at = total_position(memory["item"])
    lines = aligned_lines(["item", "values", "bytes", "MiB"], rows, [False, True, True, True], total_at)
    attrs = memory.attrs
    if {"model", "input_size", "batch_size", "dtype", "optimizer"} <= set(attrs):
        lines = textwrap.wrap(
            f"Training memory of {attrs['model']}, input {shape_text(attrs['input_size'])}, batch of "
            f"{attrs['batch_size']:,} in {attrs['dtype']}, optimizer {attrs['optimizer']}",
            width,
        ) + lines
    for r in memory.itertuples():
        lines += textwrap.wrap(f"{r.item}: {r.explanation}", width, initial_indent="- ", subsequent_indent="  ")
    return "\n".join(lines)


class NotEnoughMemory(ValueError):
    """A run or a table would need more memory than the device has available: the message gives the arithmetic."""


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:,.1f} GiB" if nbytes >= 2**30 else f"{nbytes / 2**20:,.1f} MiB"


def _linux_figure(path: str, key: str | None = None) -> int | None:
    """A number from a file under /proc or /sys (the value after ``key:`` in kB, or the whole file); None if absent."""
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    if key is None:
        return int(text) if text.strip().isdigit() else None
    found = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found[1]) * 1024 if found else None


def available_memory(device: str | torch.device = "cpu") -> tuple[int | None, str]:
    """The bytes this process can still take on ``device``, and where the figure comes from (None: unknown).

    CUDA: the GPU's free memory. CPU (Linux): the smallest of the memory available (``MemAvailable``), what a
    container's memory limit leaves (cgroup), and what the address-space limit leaves (``ulimit -v``).

    >>> nbytes, source = available_memory("cpu")
    >>> nbytes is None or nbytes > 0
    True
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0], f"free on {device}"
    if device.type != "cpu":
        return None, f"unknown on {device.type}"
    figures = [(_linux_figure("/proc/meminfo", "MemAvailable"), "available (MemAvailable)")]
    for limit, usage in (("memory.max", "memory.current"), ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes")):
        limit, usage = _linux_figure(f"/sys/fs/cgroup/{limit}"), _linux_figure(f"/sys/fs/cgroup/{usage}")
        if limit is not None and usage is not None and limit < 2**60:  # cgroup v2, then v1; 2**60 and more: no limit
            figures.append((limit - usage, "left under the container's memory limit"))
    address_space = resource.getrlimit(resource.RLIMIT_AS)[0] if resource else None
    mapped = _linux_figure("/proc/self/status", "VmSize")
    if address_space not in (None, getattr(resource, "RLIM_INFINITY", None)) and mapped is not None:
        figures.append((address_space - mapped, "left under the address-space limit (ulimit -v)"))
    known = [(nbytes, source) for nbytes, source in figures if nbytes is not None]
    return min(known) if known else (None, "unknown")


def memory_estimate(model: nn.Module, input_size: Sequence[int], batch_size: int = 1,
                    optimizer: str | None = None) -> dict[str, int]:
    """An upper bound of the bytes a step needs, from the shapes alone, so ``model`` may be on the meta device: its
    parameters; for training (``optimizer`` given) their gradients and the optimizer's state; and the input and every
    layer's output for ``batch_size`` examples (autograd keeps fewer: :func:`training_memory` measures them), in float32.

    >>> estimate = memory_estimate(nn.Linear(1000, 10, device="meta"), (1000,), batch_size=32, optimizer="adam")
    >>> estimate
    {'parameters': 40040, 'gradients': 40040, 'optimizer state': 80080, 'input and layer outputs': 129280}
    """
    params = 4 * sum(p.numel() for p in model.parameters())
    outputs = int(layer_table(model, input_size, batch_size=batch_size)["activation_bytes"].iloc[-1])
    needed = {"parameters": params}
    if optimizer is not None:
        needed.update({"gradients": params, "optimizer state": OPTIMIZERS[optimizer][0] * params})
    return needed | {"input and layer outputs": outputs + 4 * batch_size * math.prod(input_size)}


def check_fits(needed: dict[str, int], device: str | torch.device, doing: str, fix: str) -> None:
    """Refuse, with the arithmetic, what needs more than the memory available on ``device`` (:func:`available_memory`).

    >>> check_fits({"parameters": 2**50}, "cpu", "building a model of 2**48 parameters", "use a smaller model")
    Traceback (most recent call last):
    ...
    alexnet_lib.course.memory.NotEnoughMemory: building a model of 2**48 parameters needs about 1,048,576.0 GiB
    (parameters 1,048,576.0 GiB) but ... is ...; use a smaller model.
    """
    available, source = available_memory(device)
    total = sum(needed.values())
    if available is not None and total > available:
        parts = ", ".join(f"{name} {_gib(n)}" for name, n in needed.items() if n)
        raise NotEnoughMemory(f"{doing} needs about {_gib(total)} ({parts}) but {_gib(max(available, 0))} is {source}; {fix}.")


def check_recipe_fits(r, device: str | torch.device, nproc: int = 1, fix: str = "use a smaller batch_size or input_size") -> None:
    """Refuse, before any data are loaded, training by recipe ``r`` (:class:`alexnet_lib.recipes.Recipe`) on ``nproc``
    processes whose :func:`memory_estimate` exceeds the memory available (the model is built on the meta device)."""
    device = torch.device(device)
    model = models.get(r.model, **r.full_model_kwargs(), device="meta")  # shapes only: nothing is allocated
    optimizer = "momentum" if r.optimizer == "sgd" and r.momentum else r.optimizer
    per_process = memory_estimate(model, model.input_size, max(1, r.batch_size // nproc), optimizer)
    shared = device.type == "cpu" and nproc > 1  # processes on the CPU share its memory; on GPUs each has its own
    needed = {name: nproc * n for name, n in per_process.items()} if shared else per_process
    doing = f"training {r.model} at {shape_text(model.input_size)} in batches of {r.batch_size}"
    check_fits(needed, device, doing + (f" in {nproc} processes" if shared else ""), fix)
