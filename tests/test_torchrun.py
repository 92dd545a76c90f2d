"""Issue 28: ``python -m alexnet_lib train`` under torchrun, on two nodes that are two torchrun commands on this
machine (gloo over loopback, c10d rendezvous), and what happens when one of them is lost.

Each node is ``python -m torch.distributed.run --nnodes 2 --nproc-per-node 1 ...`` started by the test, as a person
would start one per machine; node 0 hosts the rendezvous (``--rdzv-conf is_host=1``). LeNet on 300 training images
(ALEXNET_MAX_IMAGES=400, of which 100 validate), batches of 128, 128 and 44: every batch halves exactly, so two
processes take the step one process takes. ONEDNN_MAX_CPU_ISA=AVX2 keeps the arithmetic float32 on a CPU with bf16.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from alexnet_lib.config import get_config
from alexnet_lib.parallel.distributed import free_port
from alexnet_lib.recipes import recipe
from alexnet_lib.runs.cli import main
from alexnet_lib.runs.resume import RESUME_FILE

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups and signals")]


def _env(**more: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "ALEXNET_PROFILE": "ci", "ALEXNET_OFFLINE": "1",
           "ALEXNET_DATA": str(get_config().data_root), "ALEXNET_MAX_IMAGES": "400", "ONEDNN_MAX_CPU_ISA": "AVX2",
           "OMP_NUM_THREADS": "1", **more}
    for name in ("ALEXNET_TRACEBACK", "RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    return env


def _node(node_rank: int, port: int, logs: Path, *train: str, env: dict[str, str]) -> subprocess.Popen:
    """One node: torchrun with one process, its worker's stdout and stderr in ``logs/node<R>-*`` (torchrun's own
    output goes to ``logs/node<R>.txt``)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
               "--node-rank", str(node_rank), "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}",
               "--rdzv-conf", f"is_host={int(node_rank == 0)}", "--max-restarts", "0",
               "--log-dir", str(logs / f"node{node_rank}"), "--redirects", "3",
               "-m", "alexnet_lib", "train", "lenet", "--device", "cpu", *train]
    output = open(logs / f"node{node_rank}.txt", "w")
    return subprocess.Popen(command, cwd=logs, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def _worker_text(logs: Path, node_rank: int, stream: str) -> str:
    """What the node's worker wrote on ``stream`` ('stdout' or 'stderr')."""
    return "".join(path.read_text() for path in (logs / f"node{node_rank}").rglob(f"{stream}.log"))


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return torch.load(folder / "checkpoint.pt", weights_only=True)["model_state"]


def _kill_node(node: subprocess.Popen) -> None:
    """SIGKILL a node whole: its worker (torchrun starts it in a session of its own) and torchrun itself."""
    children = subprocess.run(["pgrep", "-P", str(node.pid)], capture_output=True, text=True).stdout.split()
    for pid in map(int, children):
        os.kill(pid, signal.SIGKILL)
    os.killpg(node.pid, signal.SIGKILL)
    node.wait(timeout=10)


def test_two_nodes_give_the_weights_of_one_process_and_only_rank_0_writes(tmp_path, monkeypatch):
    env = _env()
    port = free_port()
    nodes = [_node(rank, port, tmp_path, "--epochs", "1", "--out", str(tmp_path / "two"), env=env) for rank in (0, 1)]
    for name in ("ALEXNET_MAX_IMAGES", "ONEDNN_MAX_CPU_ISA"):  # meanwhile, the same run in this process
        monkeypatch.setenv(name, env[name])
    assert main(["train", "lenet", "--device", "cpu", "--epochs", "1", "--out", str(tmp_path / "one")]) == 0
    codes = [node.wait(timeout=120) for node in nodes]
    assert codes == [0, 0], (tmp_path / "node0.txt").read_text()[-3000:] + (tmp_path / "node1.txt").read_text()[-3000:]
    saved = [rank for rank in (0, 1) if "saved " in _worker_text(tmp_path, rank, "stdout")]
    assert len(saved) == 1  # one process (rank 0, on whichever node the rendezvous made it) wrote and printed
    assert "2 processes, training figures of process 0's share" in _worker_text(tmp_path, saved[0], "stdout")
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["checkpoint.pt", "history.csv"]  # resume.pt removed
    single, double = _weights(tmp_path / "one"), _weights(tmp_path / "two")
    differences = {name: (single[name] - double[name]).abs().max().item() for name in single}
    assert max(differences.values()) < 1e-5, differences
    initial = recipe("lenet", "ci").build_model().state_dict()  # control: training moved the weights well past 1e-5
    assert max((initial[name] - double[name]).abs().max().item() for name in initial) > 1e-3


def test_a_lost_node_ends_the_other_in_one_sentence_that_names_it(tmp_path):
    env = _env(ALEXNET_DIST_TIMEOUT="20")
    port, out = free_port(), tmp_path / "run"
    nodes = [_node(rank, port, tmp_path, "--epochs", "40", "--batch", "16", "--out", str(out), env=env) for rank in (0, 1)]
    deadline = time.monotonic() + 90
    while not (out / RESUME_FILE).exists():  # an epoch is done, on both nodes
        assert all(node.poll() is None for node in nodes), (tmp_path / "node0.txt").read_text()[-3000:]
        assert time.monotonic() < deadline, "no epoch was complete in 90 s"
        time.sleep(0.05)
    killed = time.monotonic()
    _kill_node(nodes[1])
    code = nodes[0].wait(timeout=60)
    assert code != 0 and time.monotonic() - killed < 60
    err = _worker_text(tmp_path, 0, "stderr")
    lines = [line for line in re.split(r"[\r\n]", err) if line.strip() and not line.startswith("lenet")]
    assert len(lines) == 1 and "Traceback" not in err, err[-3000:]
    assert re.fullmatch(r"error: rank ([01]) of 2 \(.+\) lost rank (?!\1)[01] of 2 \(.+\): its connection closed \(.+\); "
                        r"that node or its process ended: see its own message, then continue with --resume\.", lines[0]), lines[0]
    assert lines[0].removeprefix("error: ") in (tmp_path / "node0.txt").read_text()  # torchrun's summary shows it too
    assert (out / RESUME_FILE).exists()  # what was trained is there to resume
