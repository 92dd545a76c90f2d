"""Train a recipe on several processes at once: data parallelism with ``DistributedDataParallel``.

Each process builds the same model from the recipe's seed and makes the same batches (the
loaders shuffle and augment from the seed and the epoch, so every process sees the same
sequence). :class:`ShardedBatches` gives process ``rank`` every ``world``-th image of each batch;
``DistributedDataParallel`` averages the gradients after each backward pass, so all replicas
take the same step, the one a single process would take on the whole batch (up to rounding).
Training runs through the same :func:`alexnet_lib.training.fit` as on one process.

Only process 0 validates after each epoch, tests once at the end and reports progress; its history and weights are what
:func:`train_recipe_distributed` returns. The history's training loss and accuracy are measured
on process 0's share of each batch (``attrs["train_figures"]`` says so).

Ctrl-C, SIGTERM or SIGHUP stops all processes at the same batch (:class:`StopTogether`), as Ctrl-C stops ``fit``
on one process: the history and weights of what was trained still come back.

The processes are started here (``torch.multiprocessing``, one machine) or by ``torchrun`` (one node or many): either
way each runs the same worker, and under torchrun this process is one of them (:func:`~.distributed.join`).
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Callable, Iterator

import pandas as pd
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

from .distributed import check_backend, group_timeout, join, launch, rank_and_world, stop_asked, torchrun_ranks
from ..callbacks import resolve_device
from ..callbacks import Callback
from ..recipes import Recipe, Trained
from ..training import fit

__all__ = ["DistributedDataParallel", "ShardedBatches", "StopTogether", "train_recipe_distributed"]


class ShardedBatches:
    """Process ``rank``'s share of each batch of ``loader``: images ``rank``, ``rank + world``, ...

    Every process must iterate a loader that yields the same batches. A batch with fewer
    images than processes is skipped by all of them alike (no process gets an empty share).
    A loader with a ``shard(rank, world)`` method (an image folder's) is asked to yield that
    share itself, so that it decodes only this process's images; its ``labels`` are kept.

    >>> import torch
    >>> batches = [(torch.arange(6), torch.arange(6)), (torch.arange(1), torch.arange(1))]
    >>> [x.tolist() for x, _ in ShardedBatches(batches, rank=1, world=2)]
    [[1, 3, 5]]
    """

    def __init__(self, loader, rank: int, world: int) -> None:
        if not 0 <= rank < world:
            raise ValueError(f"rank={rank} should be between 0 and world - 1 = {world - 1}.")
        self.loader, self.rank, self.world = loader, rank, world
        self.by_loader = hasattr(loader, "shard")
        if self.by_loader:
            loader.shard(rank, world)
        if hasattr(loader, "labels"):  # all the training labels: fit checks the model's outputs against them
            self.labels = loader.labels

    def __len__(self) -> int:
        return len(self.loader)

    def set_epoch(self, epoch: int, seed: int | None = None) -> None:
        if hasattr(self.loader, "set_epoch"):
            self.loader.set_epoch(epoch, seed)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self.by_loader:
            yield from self.loader
            return
        for x, y in self.loader:
            if len(y) >= self.world:
                yield x[self.rank::self.world], y[self.rank::self.world]


class DistributedDataParallel(Callback):
    """The callback that makes a run data-parallel: it wraps the placed model in ``DistributedDataParallel``.

    ``DistributedDataParallel`` averages the gradients of all processes during each backward
    pass, so the loop itself does not change. It must come after :class:`~alexnet_lib.callbacks.Precision`,
    which places the model (``fit`` puts its own callbacks first).
    """

    def before_fit(self, run) -> None:
        run.model = DDP(run.model)

    def after_fit(self, run) -> None:
        run.model = run.model.module


class StopTogether(Callback):
    """The callback that stops every process at the same batch once any was asked to (:func:`~.distributed.stop_asked`).

    Before each epoch and after each batch the processes add up, over ``group`` (a gloo group: the CPU, so that no GPU
    is waited for), how many were asked; if any was, all raise ``KeyboardInterrupt``, which ``fit`` takes as Ctrl-C. A
    process that stopped alone would leave the others waiting in their next exchange.
    """

    def __init__(self, group=None) -> None:
        self.group = group

    def before_epoch(self, run) -> None:
        self._stop_if_asked()

    def after_batch(self, run, loss, out, y) -> None:
        self._stop_if_asked()

    def _stop_if_asked(self) -> None:
        asked = torch.tensor([float(stop_asked() is not None)])
        dist.all_reduce(asked, group=self.group)
        if asked.item():
            raise KeyboardInterrupt(stop_asked() or "Ctrl-C")


def _worker(r: Recipe, device_type: str, progress: bool, amp: bool | str,
            more_callbacks: Callable[[int, int], list[Callback]] | None = None) -> tuple[pd.DataFrame, dict] | None:
    """One process of :func:`train_recipe_distributed`: its model, its share of each batch, the same ``fit``."""
    rank, world = rank_and_world()
    tqdm.set_lock(threading.RLock())  # the progress bar's: a semaphore would be reported leaked if this process were killed
    local_rank = (torchrun_ranks() or (rank, world, rank))[2]  # its GPU on its node
    device = torch.device(device_type, local_rank) if device_type == "cuda" else torch.device(device_type)
    data = r.loaders(device=device)
    model = r.build_model()
    # One process validates while the others go on to the next epoch's steps; a model with buffers
    # (batch norm) syncs them in every forward pass, so there every process validates, in step.
    # The test, once at the end, runs on the model itself (no DDP, no sync): process 0 alone.
    has_buffers = any(True for _ in model.buffers())
    val = data.val if rank == 0 or has_buffers else None
    flags = dist.new_group(backend="gloo")  # StopTogether's, on the CPU whatever the backend of the training
    more = more_callbacks(rank, world) if more_callbacks else []  # before DDP: they may load the weights it shares
    with contextlib.nullcontext() if rank == 0 else contextlib.redirect_stdout(io.StringIO()):  # process 0 reports
        history = fit(model, (ShardedBatches(data.train, rank, world), val), test=data.test if rank == 0 else None,
                      device=device, progress=progress and rank == 0, announce=False, amp=amp,
                      callbacks=[*more, DistributedDataParallel(), StopTogether(flags)], **r.fit_kwargs())
    if rank != 0:
        return None
    history.attrs.update(recipe=r.describe(), processes=world, train_figures="process 0's share of each batch")
    if history.attrs["interrupted"]:
        history.attrs["stopped_by"] = stop_asked() or history.attrs.get("stopped_by")
    return history, {k: v.cpu() for k, v in model.state_dict().items()}


def train_recipe_distributed(r: Recipe, nproc: int | None, device: str | torch.device | None = None, *,
                             progress: bool = True, amp: bool | str = "auto", timeout_s: float = 300.0,
                             stop_requested: Callable[[], str | None] | None = None,
                             more_callbacks: Callable[[int, int], list[Callback]] | None = None) -> Trained:
    """Train by recipe ``r`` on ``nproc`` processes (gloo on CPU, nccl on CUDA); return what ``train_recipe`` returns.

    ``nproc=None``: torchrun started this process and the others, on one node or many; this one trains as one of them,
    and the model and history come back in rank 0 only (None elsewhere). ``ALEXNET_DIST_TIMEOUT`` replaces
    ``timeout_s``. ``more_callbacks(rank, world)``, a module-level function or a picklable object, gives each process
    callbacks to run before DistributedDataParallel's (saving resumable epochs, say).

    On CUDA each process takes one GPU (``nproc`` of them must be there). The recipe's batch size
    is the batch of all processes together: each takes ``batch_size / nproc`` images a step.
    ``amp`` is :func:`alexnet_lib.training.fit`'s. A process that waits more than ``timeout_s``
    seconds for the others ends the run with :class:`alexnet_lib.parallel.distributed.DistributedError`.
    Ctrl-C, or ``stop_requested()`` giving a reason (the command line's signals), stops the processes at their next
    batch, and what they trained is returned (``history.attrs["interrupted"]``, ``["stopped_by"]``).
    The result's ``data`` are the recipe's loaders, made in this process first (so missing data stop the run at once).
    """
    device = resolve_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"device {device.type!r}: several processes train on 'cpu' (gloo) or 'cuda' (nccl).")
    timeout_s, args = group_timeout(timeout_s), (r, device.type, progress, amp, more_callbacks)
    if nproc is None:
        result = join(_worker, args, backend=backend, timeout_s=timeout_s, stop_requested=stop_requested)
        if result is None:  # not rank 0
            return Trained(None, None, None)
        history, state = result
        data = None  # each process loaded its own
    else:
        check_backend(backend, nproc)
        data = r.loaders(device=device)
        results = launch(_worker, nproc, args, backend=backend, timeout_s=timeout_s, stoppable=True, stop_requested=stop_requested)
        history, state = results[0]
    model = r.build_model()
    model.load_state_dict(state)
    return Trained(model.eval(), history, data)
