"""AlexNet on two "GPUs" as in 2012 (model parallel), and on many as today (data parallel).

**Model parallel (2012).** Each process holds one GPU's half of :class:`AlexNet2012`: half of
every layer's kernels and half of every fully connected layer's units. Both halves see the whole
image. They exchange maps where the paper's GPUs talked (Section 3.2, Figure 2): the inputs of
conv3, fc6, fc7 and fc8, which read both GPUs' outputs, and, at the end, the two halves of the
scores, which the softmax needs whole. Splitting fc8's 1,000 units as 500 + 500 is our
assumption: the paper does not say how its last layer was split. :class:`AlexNetHalf` is one
half; :func:`model_parallel_check` proves that two of them compute what one
:class:`AlexNet2012` computes, forward and backward.

**Data parallel (today).** Each process holds a whole replica, takes its share of each batch and
computes gradients on it; ``DistributedDataParallel`` then averages the gradients (an
all-reduce) so that every replica takes the same step. :func:`data_parallel_check` proves that
two processes with 64 images each take the step that one process takes with 128.

**The arithmetic.** :func:`model_parallel_traffic` and :func:`data_parallel_traffic` count the
bytes each scheme moves per training step; :func:`compute_between_exchanges` the work each GPU
does between two exchanges. Dropout is off in every check: its random masks would differ
between one process and two, so the outputs could not be compared.
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict

import pandas as pd
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .. import models
from ..alexnet import AlexNet2012, TwoTowerFeatures, two_tower_state_dict
from ..config import is_whole_number, seeded
from .distributed import TRAFFIC, exchange, launch, rank_and_world
from ..course.tables import layer_table

__all__ = ["AlexNetHalf", "model_parallel_check", "data_parallel_check", "model_parallel_traffic",
           "data_parallel_traffic", "compute_between_exchanges", "run_model_parallel", "run_data_parallel",
           "model_parallel_report", "data_parallel_report"]

EXCHANGES = OrderedDict([  # the layer whose output both GPUs need -> the layer that reads it
    ("pool2", "conv3"), ("pool5", "fc6"), ("fc6", "fc7"), ("fc7", "fc8"), ("fc8", "softmax"),
])
_FC = ("fc6", "fc7", "fc8")


def _row(layer: str) -> str:
    """A layer's row in :class:`AlexNet2012`'s layer table: ``fc6`` -> ``classifier.fc6``, ``pool2`` -> ``features.pool2``."""
    return f"{'classifier' if layer.startswith('fc') else 'features'}.{layer}"


def _half_state(grouped: dict[str, torch.Tensor], rank: int) -> dict[str, torch.Tensor]:
    """A grouped model's tensors (weights or gradients) cut to GPU ``rank``'s half, named as in :class:`AlexNetHalf`."""
    towers = two_tower_state_dict(grouped)
    prefix = f"features.gpu{rank}."
    half = {key.removeprefix(prefix): value for key, value in towers.items() if key.startswith(prefix)}
    for layer in _FC:  # a fully connected layer splits by its output units (the rows of its weight)
        for kind in ("weight", "bias"):
            half[f"{layer}.{kind}"] = grouped[f"classifier.{layer}.{kind}"].chunk(2, dim=0)[rank]
    return half


class AlexNetHalf(nn.Module):
    """GPU ``rank``'s half of a :class:`AlexNet2012` (2 GPUs): its weights are copied from ``grouped``.

    ``stage1`` is conv1 to pool2 on this GPU's 48 and 128 maps, ``stage2`` conv3 to pool5 on its
    192, 192 and 128; ``fc6``, ``fc7``, ``fc8`` hold half of each layer's units (2,048, 2,048 and
    500). :func:`alexnet_lib.parallel.distributed.exchange` joins the halves where a layer reads both GPUs.
    """

    def __init__(self, grouped: AlexNet2012, rank: int) -> None:
        super().__init__()
        if rank not in (0, 1):
            raise ValueError(f"rank={rank!r}: the 2012 network has two halves, rank 0 and rank 1.")
        side = grouped.input_size[-1]
        tower = getattr(TwoTowerFeatures(side), f"gpu{rank}")
        self.stage1, self.stage2 = tower.stage1, tower.stage2
        fc = {name: getattr(grouped.classifier, name) for name in _FC}
        self.fc6, self.fc7, self.fc8 = (nn.Linear(fc[n].in_features, fc[n].out_features // 2) for n in _FC)
        self.load_state_dict(_half_state(grouped.state_dict(), rank))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = exchange(self.stage1(x), name="into conv3")  # 128 + 128 maps of 13×13
        x = exchange(self.stage2(x), name="into fc6").flatten(1)  # 128 + 128 maps of 6×6: 9,216 values
        x = exchange(F.relu(self.fc6(x)), name="into fc7")  # 2,048 + 2,048 units
        x = exchange(F.relu(self.fc7(x)), name="into fc8")
        return exchange(self.fc8(x), name="scores")  # 500 + 500 scores, for the softmax


def _max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return max((a[k] - b[k]).abs().max().item() for k in a)


def model_parallel_check(batch: int = 8, steps: int = 2, seed: int = 0, classes: int = 1000) -> dict:
    """In each of 2 processes: one half against the whole network, then ``steps`` timed SGD steps.

    Returns this process's largest differences (scores, gradients) and the ``tolerance`` they
    should be within, its mean time per step, the share of it spent in exchanges and the bytes
    each exchange sent. Run it with :func:`launch`.
    """
    rank, world = rank_and_world()
    if world != 2:
        raise ValueError(f"the 2012 split needs exactly 2 processes, not {world}: use --nproc 2.")
    with seeded(seed):
        whole = AlexNet2012(num_classes=classes).eval()  # eval: dropout off, as explained above
        x, y = torch.randn(batch, *whole.input_size), torch.randint(0, classes, (batch,))
    half = AlexNetHalf(whole, rank)
    reference = whole(x)
    F.cross_entropy(reference, y).backward()
    TRAFFIC.clear()
    scores = half(x)
    (F.cross_entropy(scores, y) / world).backward()  # each process carries half of the one loss
    grads = {name: p.grad for name, p in half.named_parameters()}
    whole_grads = _half_state({n: p.grad for n, p in whole.named_parameters()}, rank)
    result = {"rank": rank, "scores": (scores - reference).abs().max().item(),
              "gradients": _max_difference(grads, whole_grads), "sent": dict(TRAFFIC.sent),
              "tolerance": MODEL_TOLERANCE}
    return result | _timed_steps(lambda: (F.cross_entropy(half(x), y) / world).backward(), half, steps)


def _synchronize(device: torch.device) -> None:
    """Wait for the GPU's queued work, so that the clock measures it (CUDA runs asynchronously)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed_steps(step, model: nn.Module, steps: int, device: torch.device = torch.device("cpu")) -> dict:
    """Mean seconds per SGD step of ``step()`` (forward and backward) and the share spent in exchanges.

    An exchange's time includes waiting for the other process to arrive, not only the copying.
    """
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    timed, start = 0, time.perf_counter()
    for i in range(steps):
        if i == 1 or steps == 1:  # the first step sets things up (buffers, buckets): time the others
            _synchronize(device)
            TRAFFIC.clear()
            timed, start = steps - i, time.perf_counter()
        optimizer.zero_grad()
        step()
        optimizer.step()
    _synchronize(device)
    elapsed = time.perf_counter() - start
    return {"step_seconds": elapsed / max(timed, 1), "exchange_share": TRAFFIC.total_seconds / elapsed if elapsed else 0.0}


def data_parallel_check(model_name: str = "alexnet_cpu", batch: int = 128, steps: int = 2, seed: int = 0) -> dict:
    """In each process: a DDP replica trained on its share of ``batch``, against one process on all of it.

    Returns the largest parameter difference after one SGD step (and the ``tolerance`` it should
    be within), then the mean time of ``steps`` more steps with gradient averaging, and the same
    without it (``no_sync``): their difference is the time the all-reduce adds. Run it with
    :func:`launch`. Under nccl, process ``rank`` works on GPU ``rank``, with TensorFloat-32 off so
    that the two sides round alike.
    """
    rank, world = rank_and_world()
    if batch % world:
        raise ValueError(f"batch={batch} does not split evenly between {world} processes: use a multiple of {world}.")
    device = torch.device("cuda", rank) if dist.get_backend() == "nccl" else torch.device("cpu")
    if device.type == "cuda":  # this process's own setting: it ends with the check
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    with seeded(seed):
        model = models.get(model_name)
        x = torch.randn(batch, *models.entry(model_name).input_size)
        y = torch.randint(0, model.classifier[-1].out_features, (batch,))
    x, y, model = x.to(device), y.to(device), model.to(device)
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0  # the masks would differ between one process and two
    single, replica = copy.deepcopy(model), DistributedDataParallel(model)
    mine = slice(rank * batch // world, (rank + 1) * batch // world)

    def step() -> None:  # forward and backward on this process's share
        F.cross_entropy(replica(x[mine]), y[mine]).backward()

    # Compared after one step: training amplifies rounding differences step by step (on the CPU, 6e-8
    # after 2 steps, 2e-5 after 5 and 3e-4 after 10), so later the check would measure that, not DDP.
    for net, images, labels in ((replica, x[mine], y[mine]), (single, x, y)):
        optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
        F.cross_entropy(net(images), labels).backward()  # the replica's gradients are averaged here
        optimizer.step()
    difference = max((p - q).abs().max().item() for p, q in zip(replica.module.parameters(), single.parameters()))
    timed = _timed_steps(step, replica, steps, device)
    _synchronize(device)
    start = time.perf_counter()
    with replica.no_sync():  # the same work without averaging the gradients
        for _ in range(steps):
            step()
    _synchronize(device)
    alone = (time.perf_counter() - start) / max(steps, 1)
    return {"rank": rank, "parameters": difference, "step_seconds": timed["step_seconds"], "no_sync_seconds": alone,
            "tolerance": DATA_TOLERANCE}


def model_parallel_traffic(batch: int = 128, classes: int = 1000) -> pd.DataFrame:
    """Bytes each GPU sends per exchange of the 2012 split, per image and per training step of ``batch``.

    Forward, each GPU sends its half of the layer's output; backward, the gradient of the other
    GPU's half comes back, as many bytes again. float32: 4 bytes a number.
    """
    table = layer_table(AlexNet2012(num_classes=classes), batch_size=1).set_index("name")
    rows = []
    for source, reader in EXCHANGES.items():
        shape = table.loc[_row(source), "output_shape"]
        numbers = int(torch.Size(shape).numel()) // 2  # one GPU's half
        rows.append({"exchange": f"{source} -> {reader}", "numbers per image": numbers, "bytes per image": 4 * numbers,
                     "bytes per step (forward + backward)": 2 * 4 * numbers * batch})
    frame = pd.DataFrame(rows).set_index("exchange")
    frame.loc["total"] = frame.sum()
    return frame


def data_parallel_traffic(model_name: str = "alexnet_2012", world: int = 2) -> dict[str, int]:
    """Bytes of gradients one data-parallel step averages, and what a ring all-reduce sends per process.

    A ring all-reduce over ``world`` processes sends ``2 (world - 1) / world`` times the gradient
    bytes from each process, whatever the batch size.
    """
    params = sum(p.numel() for p in models.get(model_name).parameters())
    return {"parameters": params, "gradient bytes": 4 * params, "sent per process": 2 * (world - 1) * 4 * params // world}


def compute_between_exchanges(classes: int = 1000) -> pd.Series:
    """Multiply-accumulates one GPU does per image between the 2012 split's exchanges (half of each layer's)."""
    table = layer_table(AlexNet2012(num_classes=classes)).set_index("name")
    segments = {"conv1 to pool2": ("conv1", "conv2"), "conv3 to pool5": ("conv3", "conv4", "conv5"),
                "fc6": ("fc6",), "fc7": ("fc7",), "fc8": ("fc8",)}
    macs = {name: sum(int(table.loc[_row(layer), "macs"]) for layer in layers) // 2 for name, layers in segments.items()}
    return pd.Series(macs, name="MACs per image per GPU")


def _check_steps_and_batch(steps: int, batch: int) -> None:
    """Refuse, before any process starts, steps or a batch that are not whole numbers >= 1 (nothing would be timed).

    >>> _check_steps_and_batch(0, 8)
    Traceback (most recent call last):
    ...
    ValueError: steps=0: time at least one training step (a whole number >= 1).
    """
    if not is_whole_number(steps):
        raise ValueError(f"steps={steps!r}: time at least one training step (a whole number >= 1).")
    if not is_whole_number(batch):
        raise ValueError(f"batch={batch!r}: give each step at least one image (a whole number >= 1).")


def run_model_parallel(steps: int = 2, batch: int = 8, timeout_s: float = 120.0) -> list[dict]:
    """:func:`model_parallel_check` in 2 new processes (gloo); their results by rank."""
    _check_steps_and_batch(steps, batch)
    return launch(model_parallel_check, 2, (batch, steps), timeout_s=timeout_s)


def run_data_parallel(nproc: int = 2, steps: int = 2, batch: int = 128, model_name: str = "alexnet_cpu",
                      timeout_s: float = 120.0, backend: str = "gloo") -> list[dict]:
    """:func:`data_parallel_check` in ``nproc`` new processes; their results by rank."""
    _check_steps_and_batch(steps, batch)
    return launch(data_parallel_check, nproc, (model_name, batch, steps), backend=backend, timeout_s=timeout_s)


MODEL_TOLERANCE, DATA_TOLERANCE = 1e-4, 1e-5  # float32: summing in another order changes the last digits


def _mib(nbytes: float) -> str:
    return f"{nbytes / 2**20:,.1f} MiB"


def model_parallel_report(results: list[dict], batch: int) -> tuple[str, bool]:
    """What :func:`run_model_parallel` found, as text, and whether the equality check passed."""
    worst = max(max(r["scores"], r["gradients"]) for r in results)
    passed = worst <= MODEL_TOLERANCE
    traffic = model_parallel_traffic(batch=128)
    lines = [
        f"Model parallel, as in 2012: AlexNet's two halves in 2 processes, batch {batch}.",
        f"Equality with one process holding the whole network: scores differ by at most "
        f"{max(r['scores'] for r in results):.1e}, gradients by {max(r['gradients'] for r in results):.1e} "
        f"(tolerance {MODEL_TOLERANCE:g}): {'passed' if passed else 'FAILED'}.",
        "", "What each process sends to the other (float32), per image and per training step of batch 128:",
        traffic.to_string(formatters={c: "{:,}".format for c in traffic.columns}), "",
        "Time per step: " + ", ".join(f"{r['step_seconds']:.2f} s in process {r['rank']} "
                                       f"({r['exchange_share']:.0%} of it in exchanges, waiting included)" for r in results) + ".",
    ]
    return "\n".join(lines), passed


def data_parallel_report(results: list[dict], model_name: str, batch: int) -> tuple[str, bool]:
    """What :func:`run_data_parallel` found, as text, and whether the equality check passed."""
    world = len(results)
    worst = max(r["parameters"] for r in results)
    passed = worst <= DATA_TOLERANCE
    mine, paper = data_parallel_traffic(model_name, world), data_parallel_traffic("alexnet_2012", world)
    step = sum(r["step_seconds"] for r in results) / world
    alone = sum(r["no_sync_seconds"] for r in results) / world
    lines = [
        f"Data parallel, as today: {world} replicas of {model_name}, batch {batch} = {world} x {batch // world}.",
        f"Equality with one process on the whole batch, after one SGD step: parameters differ by at most "
        f"{worst:.1e} (tolerance {DATA_TOLERANCE:g}): {'passed' if passed else 'FAILED'}.",
        f"All-reduced per step: the gradients of {model_name}, {mine['parameters']:,} numbers = "
        f"{_mib(mine['gradient bytes'])}; a ring all-reduce sends {_mib(mine['sent per process'])} from each process.",
        f"(For the 2012 AlexNet: {paper['parameters']:,} numbers = {_mib(paper['gradient bytes'])} a step, whatever the batch.)",
        f"Time per step: {step:.3f} s with the gradients averaged, {alone:.3f} s without (no_sync): "
        f"averaging adds {max(step - alone, 0) / step:.0%}.",
    ]
    return "\n".join(lines), passed
