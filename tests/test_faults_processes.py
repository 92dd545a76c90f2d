"""Fault injection across processes: concurrent runs into one folder, and Ctrl-C (SIGINT) at start-up
and in the middle of an epoch, on the real ``python -m alexnet_lib train``.

Each run is LeNet on the ci profile for one to three short epochs. The child processes import this
checkout's ``alexnet_lib`` (PYTHONPATH) and use one thread each, so two can run side by side.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from alexnet_lib.config import get_config
from alexnet_lib.runs.folders import CLAIM_FILE
from alexnet_lib.runs.checkpoints import load_checkpoint
from alexnet_lib.training import HISTORY_COLUMNS

REPO = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and /proc"),
]


def _default_signals() -> None:
    """In the child: the default actions of Ctrl-C, SIGTERM and SIGHUP. A test run started in the background (``cmd &``,
    nohup, some CI runners) inherits SIGINT or SIGHUP ignored, and the command line leaves an ignored signal ignored."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


class Train:
    """``python -m alexnet_lib train lenet ...`` in a child process, its stderr read as it comes."""

    def __init__(self, cwd: Path, *args: str, own_group: bool = False) -> None:
        """``own_group``: the child leads a process group of its own, as a command in a terminal does (Ctrl-C there
        signals the whole group, the processes it started too: :meth:`ctrl_c`)."""
        env = {**os.environ, "PYTHONPATH": str(REPO), "ALEXNET_PROFILE": "ci", "ALEXNET_OFFLINE": "1",
               "ALEXNET_DATA": str(get_config().data_root), "OMP_NUM_THREADS": "1"}
        env.pop("ALEXNET_TRACEBACK", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "alexnet_lib", "train", "lenet", "--device", "cpu", *args],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=_default_signals, start_new_session=own_group,
        )
        self.err = ""
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    def _read_stderr(self) -> None:
        for char in iter(lambda: self.proc.stderr.read(1), ""):
            self.err += char

    def wait_until(self, condition, timeout: float = 60.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.proc.poll() is None, f"the run ended before {what}: {self.err[-2000:]}"
            assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
            time.sleep(0.005)

    def finish(self, timeout: float = 120.0) -> tuple[int, str, str]:
        out = self.proc.stdout.read()
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code, out, self.err

    def ctrl_c(self) -> None:
        """SIGINT to the child's process group, as Ctrl-C in its terminal (needs ``own_group=True``)."""
        os.killpg(self.proc.pid, signal.SIGINT)

    def has_mapped(self, library: str) -> bool:
        """Whether the child has loaded a shared library whose path contains ``library`` (Linux)."""
        try:
            return library in Path(f"/proc/{self.proc.pid}/maps").read_text()
        except OSError:
            return False


def _assert_a_whole_run(folder: Path, epochs: int | None = None) -> pd.DataFrame:
    """history.csv and checkpoint.pt are there, load, and come from the same run."""
    history = pd.read_csv(folder / "history.csv")
    checkpoint = load_checkpoint(folder / "checkpoint.pt")
    assert list(history.columns) == HISTORY_COLUMNS and checkpoint.model is not None
    pd.testing.assert_frame_equal(history, checkpoint.history, check_dtype=False)
    if epochs is not None:
        assert history["epoch"].tolist() == list(range(1, epochs + 1))
    assert not (folder / CLAIM_FILE).exists()
    return history


def test_two_runs_at_once_keep_both_results(tmp_path):
    first, second = Train(tmp_path, "--epochs", "1"), Train(tmp_path, "--epochs", "1")
    results = [first.finish(), second.finish()]
    assert [code for code, _, _ in results] == [0, 0], [err[-1000:] for _, _, err in results]
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 2 and all(re.fullmatch(r"lenet-\d{8}-\d{6}-[0-9a-f]{4}", f.name) for f in folders)
    printed = "".join(out for _, out, _ in results)
    for folder in folders:
        assert f"saved {Path('runs') / folder.name / 'history.csv'}" in printed
        _assert_a_whole_run(folder, epochs=1)


def test_a_second_run_into_a_busy_folder_is_refused_at_once(tmp_path):
    out = tmp_path / "seq"
    first = Train(tmp_path, "--epochs", "500", "--out", str(out))  # far longer than the second run's start-up
    first.wait_until(lambda: (out / CLAIM_FILE).exists(), what="the first run claimed its folder")
    second = Train(tmp_path, "--epochs", "1", "--out", str(out))
    code, stdout, err = second.finish()
    assert first.proc.poll() is None, "the first run ended before the second was refused: the test proves nothing"
    assert code == 2 and stdout == ""
    assert re.fullmatch(rf"error: {re.escape(str(out))} is claimed by another run \(process {first.proc.pid}, "
                        r"started [\d: -]+\) that has not saved yet; choose another folder, .*--force.*\n", err), err
    first.proc.send_signal(signal.SIGINT)  # the first run stops and saves what it trained
    assert first.finish()[0] == 130
    _assert_a_whole_run(out)


def test_ctrl_c_during_start_up_is_one_line_and_leaves_nothing(tmp_path):
    out = tmp_path / "run"
    run = Train(tmp_path, "--out", str(out))
    run.wait_until(lambda: run.has_mapped("libtorch"), what="torch began to load")  # start-up is under way
    run.proc.send_signal(signal.SIGINT)
    code, stdout, err = run.finish()
    assert code == 130, err
    assert err == "error: interrupted by Ctrl-C before training started; nothing was trained or saved.\n"
    assert stdout == "" and not out.exists()


def test_ctrl_c_in_the_middle_of_an_epoch_saves_what_was_trained(tmp_path):
    out = tmp_path / "run"
    run = Train(tmp_path, "--epochs", "3", "--batch", "8", "--out", str(out))  # 188 batches: an epoch long enough to hit
    batches_done = re.compile(r"epoch 1/3:\s+\d+%\|[^|]*\|\s+([1-9]\d*)/")
    run.wait_until(lambda: batches_done.search(run.err), what="the first batches of epoch 1")
    run.proc.send_signal(signal.SIGINT)
    code, stdout, err = run.finish()
    assert code == 130 and "Traceback" not in err
    assert re.search(r"Training stopped by (KeyboardInterrupt|Ctrl-C) in epoch 1 of 3 after", stdout)  # fit names it
    assert f"saved {out / 'history.csv'} and {out / 'checkpoint.pt'}" in stdout
    history = _assert_a_whole_run(out)
    assert history["epoch"].tolist() == [1] and 0 < history["images"].iloc[0] < 2_000  # the partial epoch
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "history.csv"]  # no temporary file left
