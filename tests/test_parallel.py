"""Two processes on gloo: the 2012 split and today's data parallelism equal one process; nothing hangs.

Every launch here starts real processes (torch.multiprocessing, spawn) that meet over TCP on
127.0.0.1. Each test ends with no child process left alive, passed or failed.
"""

from __future__ import annotations

import multiprocessing
import socket
import time
from dataclasses import replace

import pytest
import torch
import torch.distributed as dist
from torch import nn

from alexnet_lib import models
from alexnet_lib.runs.cli import main
from alexnet_lib.parallel.ddp import train_recipe_distributed
from alexnet_lib.parallel.distributed import DistributedError, check_backend, free_port, launch, sum_of_ranks
from alexnet_lib.parallel.two_gpu import (
    compute_between_exchanges, data_parallel_traffic, model_parallel_traffic, run_data_parallel, run_model_parallel,
)
from alexnet_lib.recipes import recipe
from alexnet_lib.training import fit


@pytest.fixture(autouse=True)
def no_orphans():
    yield
    deadline = time.monotonic() + 10
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not multiprocessing.active_children(), "a test left a child process alive"


# --- workers for the failure tests: module level, so that spawned processes can import them ---


def _one_waits_forever() -> int:
    """Process 0 calls a collective that process 1 never joins."""
    if dist.get_rank() == 0:
        dist.all_reduce(torch.ones(1))
    return dist.get_rank()


def _one_fails() -> None:
    if dist.get_rank() == 1:
        raise ValueError("process 1 has a bad setting")
    dist.barrier()


class _SlowToReport(ValueError):
    """An error whose second formatting (torch's traceback, after the launch noted it) takes 3 s: meanwhile process 0
    sees the exchange fail and ends first, and torch's join ends this process with SIGTERM."""

    def __str__(self) -> str:
        self.told = getattr(self, "told", 0) + 1
        if self.told > 1:
            time.sleep(3)
        return "process 1 has a bad setting"


def _one_fails_slowly() -> None:
    if dist.get_rank() == 1:
        raise _SlowToReport()
    dist.barrier()


# --- the two equalities ---


def test_model_parallel_halves_equal_the_grouped_network():
    results = run_model_parallel(steps=1, batch=2)
    assert [r["rank"] for r in results] == [0, 1]
    for r in results:
        assert r["scores"] < 1e-4 and r["gradients"] < 1e-4
        # what process r sent, per image, is half of each exchanged layer (batch 2: twice per image)
        assert r["sent"]["into conv3 forward"] == 2 * 128 * 13 * 13 * 4
        assert r["sent"]["into conv3 backward"] == r["sent"]["into conv3 forward"]


def test_data_parallel_two_halves_of_a_batch_equal_the_whole_batch():
    # steps=6: the comparison is made after the first step, before training amplifies rounding (it compared
    # after all the steps, and the check failed after 5: 1.6e-05 on the CPU, 2.1e-05 on an H200)
    results = run_data_parallel(nproc=2, steps=6, batch=128)
    assert all(r["parameters"] < 1e-5 for r in results)


def test_data_parallel_check_notices_a_difference():
    # Control: the same comparison between one process's step on 32 images and on 16 finds a difference,
    # so the check above can fail.
    torch.manual_seed(0)
    model = models.get("alexnet_cpu", seed=0)
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    x, y = torch.randn(32, 1, 64, 64), torch.randint(0, 10, (32,))
    grads = []
    for part in (slice(0, 32), slice(0, 16)):
        model.zero_grad()
        nn.functional.cross_entropy(model(x[part]), y[part]).backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    assert (grads[0] - grads[1]).abs().max() > 1e-5


def test_train_nproc_two_equals_one_process_and_writes_one_history(tmp_path, capsys):
    r = replace(recipe("lenet", "ci"), epochs=1, subset=(512, 256))
    model, history, _ = train_recipe_distributed(r, 2, "cpu", progress=False, amp=False)
    assert len(history) == 1 and history.attrs["processes"] == 2
    single = r.build_model()
    data = r.loaders(device="cpu")
    fit(single, (data.train, None), device="cpu", progress=False, amp=False, **r.fit_kwargs())
    for p, q in zip(model.parameters(), single.parameters()):
        assert torch.allclose(p, q, atol=1e-4)

    # --device cpu: on a machine with one CUDA GPU the default would be nccl, which needs a GPU per process
    status = main(["train", "lenet", "--nproc", "2", "--epochs", "1", "--device", "cpu", "--out", str(tmp_path / "run")])
    assert status == 0
    assert "2 processes, training figures of process 0's share of each batch" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["checkpoint.pt", "history.csv"]
    assert len((tmp_path / "run" / "history.csv").read_text().strip().splitlines()) == 2  # header and one epoch


# --- the arithmetic, against hand-computed values ---


def test_traffic_of_one_layer_by_hand():
    traffic = model_parallel_traffic(batch=128)
    # conv2 gives 128 maps per GPU; pool2 shrinks 27×27 to (27 - 3) // 2 + 1 = 13: 128·13·13 float32 numbers
    assert traffic.loc["pool2 -> conv3", "bytes per image"] == 128 * 13 * 13 * 4 == 86_528
    assert traffic.loc["pool2 -> conv3", "bytes per step (forward + backward)"] == 2 * 86_528 * 128
    assert traffic.loc["fc6 -> fc7", "numbers per image"] == 4096 // 2
    paper_params = (  # Section 3.5's layers, counted by hand: weights + biases
        (11 * 11 * 3 * 96 + 96) + (5 * 5 * 48 * 256 + 256) + (3 * 3 * 256 * 384 + 384) + (3 * 3 * 192 * 384 + 384)
        + (3 * 3 * 192 * 256 + 256) + (9216 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    )
    assert data_parallel_traffic("alexnet_2012", world=2) == {
        "parameters": paper_params, "gradient bytes": 4 * paper_params, "sent per process": 4 * paper_params}
    assert data_parallel_traffic("alexnet_2012", world=4)["sent per process"] == 2 * 3 * 4 * paper_params // 4
    macs = compute_between_exchanges()
    assert macs["fc6"] == 9216 * 4096 // 2 and macs["fc8"] == 4096 * 1000 // 2
    assert macs["conv1 to pool2"] == (55 * 55 * 96 * 11 * 11 * 3 + 27 * 27 * 256 * 5 * 5 * 48) // 2


# --- failures: one sentence, no hang, no orphan ---


def test_a_collective_that_never_completes_times_out():
    start = time.monotonic()
    with pytest.raises(DistributedError):
        launch(_one_waits_forever, 2, timeout_s=3)
    assert time.monotonic() - start < 60


def test_an_error_in_one_process_ends_all_with_its_message():
    with pytest.raises(DistributedError, match="process 1 of 2 failed: ValueError: process 1 has a bad setting"):
        launch(_one_fails, 2, timeout_s=20)


def test_the_sigterm_that_ends_the_others_is_not_taken_for_the_cause():
    # CI once said "process 1 of 2 was killed by SIGTERM" here: the SIGTERM was torch's, sent after process 0 failed
    with pytest.raises(DistributedError, match="process 1 of 2 failed: _SlowToReport: process 1 has a bad setting"):
        launch(_one_fails_slowly, 2, timeout_s=20)


def test_launch_returns_each_process_result():
    assert launch(sum_of_ranks, 2, timeout_s=30) == [1.0, 1.0]  # 0 + 1 in each (CI has 2 cores: no more processes)


def test_bad_settings_are_refused_before_any_process_starts(monkeypatch):
    with pytest.raises(DistributedError, match="nproc=0"):
        check_backend("gloo", 0)
    if not torch.cuda.is_available():
        with pytest.raises(DistributedError, match="nccl with 2 processes needs 2 CUDA GPUs"):
            check_backend("nccl", 2)
    if not dist.is_mpi_available():
        with pytest.raises(DistributedError, match="no 'mpi' backend"):
            check_backend("mpi", 2)

    def refuse(self, address):
        raise OSError("Address not available")

    monkeypatch.setattr(socket.socket, "bind", refuse)
    with pytest.raises(DistributedError, match="no TCP port on 127.0.0.1 can be opened"):
        free_port()


def test_cli_parallel_model_mode_needs_two_processes(capsys):
    assert main(["parallel", "--mode", "model", "--nproc", "3"]) == 2
    assert "--mode model needs --nproc 2" in capsys.readouterr().err
