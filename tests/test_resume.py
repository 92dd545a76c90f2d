"""Issue 28: ``train --resume RUN_DIR`` continues a run from its last complete epoch as if it had never stopped.

LeNet on 300 training images (ALEXNET_MAX_IMAGES=400), two epochs of a one-cycle schedule, float32
(ONEDNN_MAX_CPU_ISA=AVX2): a run stopped after epoch 1 (``--stop-after 1``) and resumed must end with the weights and
history of the run that went straight through; on two processes, with the global batch kept, within 1e-5.
"""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from alexnet_lib.runs.cli import main
from alexnet_lib.runs.resume import RESUME_FILE

TIMINGS = ["seconds", "images_per_s"]


@pytest.fixture(autouse=True)
def small_float32_runs(monkeypatch):
    monkeypatch.setenv("ALEXNET_MAX_IMAGES", "400")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")


def _train(*options: str) -> int:
    return main(["train", "lenet", "--epochs", "2", "--device", "cpu", *options])


def _largest_difference(a, b) -> float:
    wa, wb = (torch.load(folder / "checkpoint.pt", weights_only=True)["model_state"] for folder in (a, b))
    return max((wa[name] - wb[name]).abs().max().item() for name in wa)


@pytest.mark.slow
def test_one_epoch_then_resume_equals_two_epochs_in_one_run(tmp_path, capsys):
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert _train("--out", str(straight)) == 0
    assert _train("--out", str(stopped), "--stop-after", "1") == 0
    out = capsys.readouterr().out
    assert f"stopped by --stop-after 1; saved {stopped / 'history.csv'}" in out
    assert (stopped / RESUME_FILE).exists() and _largest_difference(straight, stopped) > 1e-3  # control: one epoch differs
    copy = tmp_path / "copy"  # the same epoch, resumed below on two processes
    copy.mkdir()
    (copy / RESUME_FILE).write_bytes((stopped / RESUME_FILE).read_bytes())

    assert _train("--resume", str(stopped)) == 0
    assert f"continuing {stopped} after epoch 1 of 2\n" in capsys.readouterr().out
    assert sorted(p.name for p in stopped.iterdir()) == ["checkpoint.pt", "history.csv"]  # done: nothing left to resume
    assert _largest_difference(straight, stopped) < 1e-6
    a, b = (pd.read_csv(folder / "history.csv") for folder in (straight, stopped))
    assert a["epoch"].tolist() == [1, 2]
    pd.testing.assert_frame_equal(a.drop(columns=TIMINGS), b.drop(columns=TIMINGS), check_exact=False, rtol=0, atol=1e-6)

    assert _train("--resume", str(copy), "--nproc", "2") == 0
    assert ("continuing {} after epoch 1 of 2, on 2 processes instead of 1: the global batch stays 128 images (64 per "
            "process)".format(copy)) in capsys.readouterr().out
    assert _largest_difference(straight, copy) < 1e-5


def test_resume_refuses_other_settings_and_a_finished_run(tmp_path, capsys):
    run = tmp_path / "run"
    assert _train("--out", str(run), "--stop-after", "1", "--batch", "200") == 0
    capsys.readouterr()
    assert _train("--resume", str(run)) == 2
    assert ("error: --resume {}: the run was trained with batch_size=200, this command asks for 128; give the options "
            "the run was started with".format(run)) in capsys.readouterr().err
    assert _train("--resume", str(run), "--batch", "200") == 0
    assert _train("--resume", str(run), "--batch", "200") == 2
    assert f"error: --resume {run}: there is no {run / RESUME_FILE}" in capsys.readouterr().err


def test_the_divergence_guard_keeps_the_runs_first_loss_on_resume(tmp_path):
    from types import SimpleNamespace

    from alexnet_lib.callbacks import DivergenceGuard
    from alexnet_lib.recipes import recipe
    from alexnet_lib.runs.resume import ResumableEpochs, load_resume

    assert _train("--out", str(tmp_path), "--stop-after", "1") == 0
    saved = load_resume(tmp_path)
    assert 1.5 < saved["first_loss"] < 3.5  # an untrained net's first loss, about ln 10 = 2.3, not a trained epoch's
    model = recipe("lenet", "ci").build_model()
    run = SimpleNamespace(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), schedule=None,
                          train_iter=[], val_iter=None, callbacks=[guard := DivergenceGuard()])
    ResumableEpochs(None, recipe("lenet", "ci"), saved).before_fit(run)
    assert guard.first == saved["first_loss"]  # the limit stays 1000 times the run's first loss, not the resumed batch's
