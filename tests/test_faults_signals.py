"""Issue 24, "Nothing lost, round two": SIGTERM, Ctrl-C on several processes, Ctrl-C twice, settings the command line
refuses, runs that cannot fit in memory or run out of it, and a diverging run, on ``python -m alexnet_lib train``.

Each test checks what the issue asks of every fault: one sentence and no traceback, nothing trained lost (history.csv and
checkpoint.pt hold the complete epochs), no folder left claimed, and the right exit status. The signals need real
processes (:class:`test_faults_processes.Train`: LeNet on the ci profile, one thread); the rest runs in this process.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from alexnet_lib import models
from alexnet_lib.course import memory
from alexnet_lib.runs.checkpoints import load_checkpoint
from alexnet_lib.recipes import recipe
from alexnet_lib.runs.cli import main
from alexnet_lib.runs.folders import RunFolder
from alexnet_lib.runs.training_run import error_after
from alexnet_lib.training import TrainingDiverged
from test_faults_processes import Train, _assert_a_whole_run

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and process groups")
STILL_SAVING = "still saving what was trained; this Ctrl-C is ignored until the files are written."


def _one_error_line(err: str) -> str:
    """The one line of a refusal: no traceback, nothing else on stderr but LeNet's progress bar (which the line may
    follow on the same line when the process that drew it was killed)."""
    before, found, message = err.rpartition("error: ")
    others = [piece for line in before.split("\n") for piece in line.split("\r") if piece.strip() and not piece.startswith("lenet")]
    assert found and "Traceback" not in err and others == [] and message.endswith("\n") and message.count("\n") == 1, err
    return message.removesuffix("\n")


def _group_left(pid: int) -> list[str]:
    """The processes of process group ``pid`` still alive (a zombie, already ended, is not)."""
    ps = subprocess.run(["ps", "-o", "stat=,pid=,args=", "-g", str(pid)], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if line.strip() and not line.lstrip().startswith("Z")]


# --- signals, on real processes ---


@posix_only
@pytest.mark.slow
def test_sigterm_in_the_middle_of_an_epoch_saves_what_was_trained(tmp_path):
    # what `timeout`, `docker stop`, Slurm and Kubernetes send
    out = tmp_path / "run"
    run = Train(tmp_path, "--epochs", "3", "--batch", "8", "--out", str(out))
    run.wait_until(lambda: "epoch 2/3" in run.err, what="epoch 2")
    run.proc.send_signal(signal.SIGTERM)
    code, stdout, err = run.finish()
    assert code == 143 and "Traceback" not in err, err[-2000:]
    assert f"stopped by SIGTERM; saved {out / 'history.csv'} and {out / 'checkpoint.pt'}" in stdout
    history = _assert_a_whole_run(out)
    assert history["epoch"].tolist() in ([1], [1, 2])  # epoch 1, and the part of epoch 2 trained, if any
    assert history["val_acc"].notna().tolist()[:1] == [True]


@posix_only
@pytest.mark.slow
@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_during_start_up_is_one_line_and_leaves_nothing(tmp_path, signum, status):
    out = tmp_path / "run"
    run = Train(tmp_path, "--out", str(out))
    run.wait_until(lambda: run.has_mapped("libtorch"), what="torch began to load")
    run.proc.send_signal(signum)
    code, stdout, err = run.finish()
    assert code == status and stdout == "" and not out.exists()
    name = signal.Signals(signum).name
    assert _one_error_line(err) == f"interrupted by {name} before training started; nothing was trained or saved."


@posix_only
@pytest.mark.slow
def test_ctrl_c_again_and_again_while_stopping_and_saving_loses_nothing(tmp_path):
    # Ctrl-C after 11 epochs, again 10 ms later, then every 50 ms until the process ends: while fit stops, while the
    # files are written and while Python exits. Each used to cost the run or end in a traceback.
    out = tmp_path / "run"
    run = Train(tmp_path, "--epochs", "40", "--out", str(out), own_group=True)
    run.wait_until(lambda: "epoch 12/40" in run.err, what="11 complete epochs")
    run.ctrl_c()
    time.sleep(0.01)
    while run.proc.poll() is None:
        run.ctrl_c()
        time.sleep(0.05)
    code, stdout, err = run.finish()
    assert code == 130 and "Traceback" not in err and "nothing was trained" not in err, err[-2000:]
    assert err.count("still saving") <= 1 and (STILL_SAVING in err or "still saving" not in err)
    assert f"stopped by Ctrl-C; saved {out / 'history.csv'}" in stdout
    assert len(_assert_a_whole_run(out)) >= 11


@posix_only
@pytest.mark.slow
@pytest.mark.parametrize("how", ["ctrl_c", "sigterm_to_the_parent"])
def test_stopping_two_processes_saves_process_0s_history(tmp_path, how):
    # Ctrl-C signals the whole group (the processes are told by the parent, not by the terminal: they block it);
    # SIGTERM from `timeout` or `docker stop` reaches the parent only, which asks the others to stop.
    out = tmp_path / "run"
    run = Train(tmp_path, "--nproc", "2", "--epochs", "3", "--batch", "8", "--out", str(out), own_group=True)
    run.wait_until(lambda: "epoch 2/3" in run.err, timeout=120, what="epoch 2 on two processes")
    run.ctrl_c() if how == "ctrl_c" else run.proc.send_signal(signal.SIGTERM)
    code, stdout, err = run.finish()
    name, status = ("Ctrl-C", 130) if how == "ctrl_c" else ("SIGTERM", 143)
    assert code == status and "Traceback" not in err and "leaked" not in err, err[-2000:]
    assert "2 processes, training figures of process 0's share" in stdout
    assert f"stopped by {name}; saved {out / 'history.csv'} and {out / 'checkpoint.pt'}" in stdout
    history = _assert_a_whole_run(out)
    assert history["epoch"].tolist()[0] == 1 and 1 <= len(history) <= 3
    time.sleep(0.5)  # the processes it started are gone with it, not orphaned
    assert _group_left(run.proc.pid) == []


@posix_only
def test_a_signal_while_the_files_are_written_waits_for_them(tmp_path, capfd, monkeypatch):
    # A preemption notice (SIGTERM) after the last epoch, as the files are written: it must not cut the save short.
    save = RunFolder.save

    def preempted(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return save(self, *args, **kwargs)

    monkeypatch.setattr(RunFolder, "save", preempted)
    out = tmp_path / "run"
    assert main(["train", "lenet", "--epochs", "1", "--device", "cpu", "--out", str(out)]) == 0  # every epoch trained
    err = capfd.readouterr().err
    assert "still saving what was trained; this SIGTERM is ignored until the files are written." in err
    assert "Traceback" not in err
    _assert_a_whole_run(out, epochs=1)


@posix_only
@pytest.mark.slow
def test_a_process_killed_during_training_is_named_in_one_sentence(tmp_path):
    # The out-of-memory killer's SIGKILL: no process can save anything, but the run must end at once, name the process
    # that was killed (not the error the others got after it), release the folder and leave no process behind.
    out = tmp_path / "run"
    run = Train(tmp_path, "--nproc", "2", "--epochs", "3", "--batch", "8", "--out", str(out), own_group=True)
    run.wait_until(lambda: "epoch 2/3" in run.err, timeout=120, what="epoch 2 on two processes")
    children = subprocess.run(["pgrep", "-P", str(run.proc.pid)], capture_output=True, text=True).stdout.split()
    worker = next(pid for pid in children if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text())
    os.kill(int(worker), signal.SIGKILL)
    code, stdout, err = run.finish()
    message = _one_error_line(err)
    assert code == 2 and "leaked" not in err
    assert re.fullmatch(r"process [01] of 2 was killed by SIGKILL \(by the system\? out of memory\?\); the others were "
                        r"stopped\.", message), message
    assert sorted(p.name for p in out.iterdir()) == ["resume.pt"]  # epoch 1, to --resume from; no claim left
    time.sleep(0.5)
    assert _group_left(run.proc.pid) == []


# --- the command line's refusals and failures, in this process ---


def test_set_refuses_what_is_not_a_model_argument(tmp_path, capsys):
    for option, message in [
        ("seed=5", "--set seed=5: seed is not a model argument; use --seed 5."),
        ("device=cpu", "--set device=cpu: device is not a model argument; use --device cpu."),
        ("lr=0.1", "--set lr=0.1: lr is not a model argument; use --lr 0.1."),
        ("colour=red", "--set colour=red: lenet has no argument 'colour'; --set takes num_classes, activation, pooling, "
                       "in_channels, input_size."),
    ]:
        assert main(["train", "lenet", "--set", option, "--out", str(tmp_path / "run")]) == 2
        assert _one_error_line(capsys.readouterr().err) == message
    assert models.entry("lenet").arguments[-1] == "seed" and not (tmp_path / "run").exists()


@pytest.mark.parametrize("argv", [
    ["train", "lenet", "--nproc", "0"], ["train", "lenet", "--epochs", ""], ["train", "lenet", "--epochs", "-1"],
    ["train", "lenet", "--batch", "0"], ["train", "lenet", "--lr", "0"], ["train", "lenet", "--lr", "inf"],
    ["parallel", "--mode", "data", "--steps", "0"], ["parallel", "--mode", "data", "--steps", "-1"],
    ["parallel", "--mode", "data", "--batch", "0"], ["parallel", "--mode", "data", "--nproc", "-2"],
])
def test_numbers_that_cannot_be_are_refused_before_anything_starts(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    value = argv[-1]
    assert f"argument {argv[-2]}: {value!r} is not a " in capsys.readouterr().err.splitlines()[-1]


def test_more_processes_than_cpu_cores_are_refused_with_the_arithmetic(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert main(["train", "lenet", "--nproc", "64", "--out", str(tmp_path / "run")]) == 2
    assert _one_error_line(capsys.readouterr().err) == (
        "nproc=64: this process may use 2 CPU cores, and 64 processes would share them (32.0 to a core), each loading "
        "PyTorch and a copy of the model; use 2 processes or fewer.")
    assert main(["parallel", "--mode", "data", "--nproc", "3"]) == 2
    assert "nproc=3: this process may use 2 CPU cores" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_one_core_still_runs_two_processes_as_the_2012_split_needs(monkeypatch):
    from alexnet_lib.parallel.distributed import DistributedError, check_backend

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0}, raising=False)
    check_backend("gloo", 2)  # notebook 09's launches: two halves, taking turns on the one core
    with pytest.raises(DistributedError, match=r"nproc=3: this process may use 1 CPU core, .*use 2 processes or fewer"):
        check_backend("gloo", 3)


def test_a_run_too_big_for_memory_is_refused_with_the_arithmetic(tmp_path, capsys):
    assert main(["train", "alexnet_cpu", "--set", "input_size=20000", "--out", str(tmp_path / "run")]) == 2
    message = _one_error_line(capsys.readouterr().err)
    model = models.get("alexnet_cpu", input_size=20000, device="meta")
    params = 4 * sum(p.numel() for p in model.parameters())
    assert message.startswith("training alexnet_cpu at 1×20000×20000 in batches of 128 needs about ")
    assert f"(parameters {params / 2**30:,.1f} GiB, gradients {params / 2**30:,.1f} GiB, optimizer state" in message
    assert message.endswith("; use a smaller --batch or --set input_size.")
    assert not (tmp_path / "run").exists()  # the folder it claimed is released (and removed: it made it)

    assert main(["summary", "lenet", "--input", "3,100000,100000"]) == 2
    assert _one_error_line(capsys.readouterr().err).startswith("lenet built for 3×100000×100000 inputs needs about ")


def test_the_memory_check_compares_the_estimate_with_what_is_available(tmp_path, capsys, monkeypatch):
    # A control for the check above: the same run fits, and is refused once less memory is available than it needs.
    needed = memory.memory_estimate(models.get("lenet", device="meta"), (1, 28, 28), 128, "momentum")
    monkeypatch.setattr(memory, "available_memory", lambda device: (sum(needed.values()) - 1, "available (test)"))
    assert main(["train", "lenet", "--out", str(tmp_path / "run")]) == 2
    total = sum(needed.values())
    assert _one_error_line(capsys.readouterr().err).startswith(
        f"training lenet at 1×28×28 in batches of 128 needs about {total / 2**20:,.1f} MiB (parameters "
        f"{needed['parameters'] / 2**20:,.1f} MiB, ")


def test_running_out_of_memory_mid_training_saves_the_complete_epochs(tmp_path, capsys, monkeypatch):
    import alexnet_lib.training as training

    validations, run_eval = [], training.run_eval

    def out_of_memory_in_the_second_validation(model, *args, **kwargs):
        validations.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        if len(validations) == 2:  # the weights are those after epoch 2's training: not a complete epoch yet
            raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory: "
                               "you tried to allocate 5368709120 bytes. Error code 12 (Cannot allocate memory)")
        return run_eval(model, *args, **kwargs)

    monkeypatch.setattr(training, "run_eval", out_of_memory_in_the_second_validation)
    out = tmp_path / "run"
    assert main(["train", "lenet", "--epochs", "3", "--device", "cpu", "--out", str(out)]) == 2
    assert _one_error_line(capsys.readouterr().err) == (
        f"ran out of memory (an allocation of 5.0 GiB failed) while training lenet; the 1 complete epoch is saved in "
        f"{out}; use a smaller --batch (it was 128) or --set input_size.")
    history = _assert_a_whole_run(out, epochs=1)
    assert history["val_acc"].notna().all()
    saved = load_checkpoint(out / "checkpoint.pt").model.state_dict()
    assert all(torch.equal(saved[k], v) for k, v in validations[0].items())  # the weights after epoch 1, not 2's


def test_out_of_memory_outside_training_is_one_sentence(capsys, monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("alexnet_lib.course.tables.layer_table", no_memory)
    assert main(["summary", "lenet"]) == 2
    assert _one_error_line(capsys.readouterr().err) == "ran out of memory; use a smaller batch, input or model."


def test_lr_replaces_the_recipes_and_a_divergence_points_at_it(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "lenet", "--epochs", "2", "--lr", "1e5", "--device", "cpu", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "at lr 100000.0 with a onecycle schedule" in captured.out
    assert "nothing to save: training diverged in epoch 1, before any epoch was complete" in captured.out
    assert "Empty DataFrame" not in captured.out and " epoch train_loss" not in captured.out  # no empty table
    message = _one_error_line(captured.err)
    assert message.startswith("training diverged in epoch 1 of 2, batch ")
    assert message.endswith(f" (--lr {1e5 / 10:g}); nothing was saved.")
    assert not out.exists()


def test_the_divergence_error_names_the_saved_epochs(tmp_path):
    history = pd.DataFrame({"epoch": [1, 2]})
    error = error_after(TrainingDiverged("training diverged ... e.g. lr=0.003."), recipe("lenet", "ci"), history, tmp_path)
    assert isinstance(error, TrainingDiverged) and error.history is history
    assert str(error) == f"training diverged ... e.g. lr=0.003 (--lr 0.003); the 2 complete epochs are saved in {tmp_path}."
