"""Fault injection, in this process: damaged data, diverging training, bad devices and output folders,
malicious checkpoints. Each test checks the message and that nothing was lost or half-written.

The faults that need other processes (concurrent runs, Ctrl-C) are in ``test_faults_processes.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import pickle
import shutil

import pandas as pd
import pytest
import torch
from torch import nn

from alexnet_lib.runs import cli, folders as runs
from alexnet_lib import models
from alexnet_lib.config import get_config
from alexnet_lib.data import (
    DataDamagedError,
    fashion_mnist_counts,
    fashion_mnist_folder,
    load_fashion_mnist,
)
from alexnet_lib.datasets.fashion_mnist import verify_fashion_mnist
from alexnet_lib.data import fashion_mnist_loaders
from alexnet_lib.shapes import conv_output_size, pool_output_size
from alexnet_lib.runs.checkpoints import load_checkpoint, save_checkpoint, save_history
from alexnet_lib.course.plots import format_history
from alexnet_lib.training import HISTORY_COLUMNS, TrainingDiverged, fit

pytestmark = pytest.mark.usefixtures("one_thread")

TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"


# ---------------------------------------------------------------------------------------------
# Data: damaged copies fail the checks, in doctor and on loading, with the same sentence


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A writable copy of the data folder, set as ALEXNET_DATA; returns its raw/ folder."""
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    shutil.copytree(fashion_mnist_folder(get_config().data_root), raw)
    for path in raw.iterdir():
        path.chmod(0o644)
    monkeypatch.setenv("ALEXNET_DATA", str(tmp_path / "data"))
    return raw


def _truncate_to_half(path):
    content = path.read_bytes()
    path.write_bytes(content[: 16 + (len(content) - 16) // 2])


def _random_labels(path):
    content = path.read_bytes()
    path.write_bytes(content[:8] + bytes((17 * i + 92) % 256 for i in range(len(content) - 8)))


def _fewer_labels(path):
    content = bytearray(path.read_bytes())
    content[4:8] = (1000).to_bytes(4, "big")
    path.write_bytes(bytes(content[: 8 + 1000]))  # a consistent file, but fewer labels than images


def _bad_magic(path):
    content = bytearray(path.read_bytes())
    content[3] = 1  # says 1-d: a label file's magic number on an image file
    path.write_bytes(bytes(content))


def _header_only(path):
    path.write_bytes(path.read_bytes()[:5])


@pytest.mark.parametrize(
    ("name", "damage", "words", "names_the_folder"),
    [
        (TRAIN_IMAGES, _truncate_to_half, ["header declares 3,615 images (2,834,176 bytes)", "1,417,"], False),
        (TRAIN_LABELS, _random_labels, ["the label at position 0 is 92", "classes are 0 to 9"], False),
        (TRAIN_LABELS, _fewer_labels, ["holds 3,615 images but train-labels-idx1-ubyte holds 1,000 labels"], True),
        (TRAIN_IMAGES, _bad_magic, ["magic number is 0x00000801, not 0x00000803"], False),
        (TRAIN_LABELS, _header_only, ["holds 5 bytes, less than the 8-byte IDX header"], False),
    ],
)
def test_damaged_files_fail_the_checks_naming_the_file_and_the_fix(data_copy, capsys, name, damage, words, names_the_folder):
    if data_copy.joinpath(name).stat().st_size != {TRAIN_IMAGES: 2_834_176, TRAIN_LABELS: 3_623}[name]:
        pytest.skip("written for the offline subset (3,615 training images)")
    damage(data_copy / name)
    with pytest.raises(DataDamagedError) as caught:
        load_fashion_mnist(limit=10)
    message = str(caught.value)
    assert "\n" not in message and "is damaged" in message
    assert "delete it and download again" in message and "ALEXNET_DATA" in message
    for word in words:
        assert word in message
    named = data_copy if names_the_folder else data_copy / name
    assert message.startswith(f"{named} is damaged")

    assert cli.main(["doctor", "--require-data"]) == 1
    out = capsys.readouterr().out
    assert "Fashion-MNIST  damaged:" in out and message in out and "training images" not in out

    assert cli.main(["train", "lenet", "--out", str(data_copy.parent.parent.parent / "run")]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {message}\n"  # one line, the same sentence, no traceback
    assert not (data_copy.parent.parent.parent / "run").exists()  # nothing left behind


def test_archives_are_checked_against_torchvisions_md5(data_copy, monkeypatch):
    from torchvision.datasets import FashionMNIST

    for path in list(data_copy.iterdir()):
        with gzip.open(path.with_name(path.name + ".gz"), "wb") as f:
            f.write(path.read_bytes())
    with pytest.raises(DataDamagedError, match=r"train-images-idx3-ubyte.gz is damaged: its md5 is not torchvision's"):
        verify_fashion_mnist()  # our archives are not the published ones
    published = [(p.name, hashlib.md5(p.read_bytes()).hexdigest()) for p in sorted(data_copy.glob("*.gz"))]
    monkeypatch.setattr(FashionMNIST, "resources", published)
    assert all("whose md5 is torchvision's" in line for line in verify_fashion_mnist())
    labels = data_copy / TRAIN_LABELS
    labels.write_bytes(labels.read_bytes()[:-1] + b"\x00")  # one label changed, still a valid file
    assert fashion_mnist_counts() is not None  # the cheap checks cannot see it ...
    with pytest.raises(DataDamagedError, match="its contents differ from those of train-labels-idx1-ubyte.gz"):
        verify_fashion_mnist()  # ... the archive can


def test_files_without_archives_say_no_md5_was_checked(data_copy):
    lines = verify_fashion_mnist()
    assert len(lines) == 4 and all("no archive to check an md5" in line for line in lines)


# ---------------------------------------------------------------------------------------------
# Divergence: stopped at once, the last complete epoch's weights kept, never saved as good


@pytest.fixture(scope="module")
def small_data():
    return fashion_mnist_loaders(64, subset=(480, 128), normalize=True, device="cpu")  # 360 train (6 batches), 120 validate


class _NaNAt(nn.Module):
    """LeNet whose output turns NaN on its ``at``-th training call; keeps the weights it had at ``keep``."""

    def __init__(self, at: int, keep: int) -> None:
        super().__init__()
        self.net, self.at, self.keep, self.calls, self.kept = models.get("lenet", activation="relu", seed=0), at, keep, 0, None

    def forward(self, x):
        if self.training:
            self.calls += 1
            if self.calls == self.keep:
                self.kept = {k: v.clone() for k, v in self.net.state_dict().items()}
            if self.calls == self.at:
                return self.net(x) * math.nan
        return self.net(x)


def test_nan_at_step_k_stops_with_the_weights_of_the_last_complete_epoch(small_data, tmp_path):
    model = _NaNAt(at=6 + 3, keep=6 + 1)  # 6 batches per epoch: NaN in batch 3 of epoch 2
    with pytest.raises(TrainingDiverged) as caught:
        fit(model, small_data, epochs=3, lr=0.05, device="cpu", progress=False)
    message = str(caught.value)
    assert "diverged in epoch 2 of 3, batch 3 of 6: the loss was nan (NaN or infinite)" in message
    assert "back at its weights after epoch 1" in message and "lower learning rate than the lr=0.05 set, e.g. lr=0.005" in message
    history = caught.value.history
    assert history["epoch"].tolist() == [1] and history.attrs["diverged"] == message
    assert caught.value.model is model
    for key, value in model.net.state_dict().items():  # exactly the weights epoch 2 started from
        assert torch.equal(value, model.kept[key]), key
    path = save_checkpoint(tmp_path / "c.pt", model, history=history)  # finite, so it saves
    assert load_checkpoint(path, _NaNAt(0, 0)).history.attrs["diverged"] == message


def test_a_huge_learning_rate_is_caught_and_no_weight_is_left_non_finite(small_data):
    model = models.get("lenet", activation="relu", seed=0)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TrainingDiverged, match=r"epoch 1 of 2, batch \d of 6: .*back at its weights from before training"):
        fit(model, small_data, epochs=2, lr=1e6, device="cpu", progress=False)
    assert all(torch.equal(v, start[k]) for k, v in model.state_dict().items())


def test_non_finite_weights_are_never_saved(tmp_path):
    model = models.get("lenet", activation="relu", seed=0)
    save_checkpoint(tmp_path / "c.pt", model)
    before = (tmp_path / "c.pt").read_bytes()
    with torch.no_grad():
        next(model.parameters())[0] = math.inf
    with pytest.raises(ValueError, match=r"the weights '[\w.]+' of lenet hold NaN or infinite values"):
        save_checkpoint(tmp_path / "c.pt", model)
    assert (tmp_path / "c.pt").read_bytes() == before and sorted(os.listdir(tmp_path)) == ["c.pt"]


def test_nan_prints_as_nan_and_missing_as_a_dash():
    history = pd.DataFrame(
        {"epoch": [1, 2], "train_loss": [math.nan, 0.5], "train_acc": [0.1, 0.8], "val_loss": [math.inf, math.nan],
         "val_acc": [0.1, math.nan], "lr": [0.1, 0.1], "images": [10, 10], "seconds": [1.0, 1.0], "images_per_s": [10.0, 10.0]}
    )
    first, second = [line.split() for line in format_history(history).splitlines()[1:]]
    assert first[1:5] == ["nan", "10.0%", "inf", "10.0%"]
    assert second[1:5] == ["0.500", "80.0%", "-", "-"]


def test_atomic_writes_leave_the_old_file_whole_when_writing_fails(tmp_path, monkeypatch):
    path = save_history(tmp_path / "history.csv", pd.DataFrame({"epoch": [1]}))
    monkeypatch.setattr(pd.DataFrame, "to_csv", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        save_history(path, pd.DataFrame({"epoch": [1, 2]}))
    assert path.read_text() == "epoch\n1\n" and os.listdir(tmp_path) == ["history.csv"]


# ---------------------------------------------------------------------------------------------
# Checkpoints: malicious, damaged, or for another model


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))  # would create the marker file when unpickled


@pytest.mark.parametrize("how", ["torch.save", "pickle"])
def test_malicious_checkpoints_are_refused_without_running_them(tmp_path, how):
    path, marker = tmp_path / "evil.pt", tmp_path / "ran"
    if how == "torch.save":
        torch.save({"format": "alexnet_lib checkpoint 1", "model_state": _Payload(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(_Payload(marker), protocol=2))
    with pytest.raises(ValueError, match=r"refused by torch.load\(weights_only=True\).*do not, unless you trust"):
        load_checkpoint(path)
    assert not marker.exists()


def test_damaged_checkpoints_are_one_sentence(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", models.get("lenet", seed=0))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="cannot be read as a checkpoint .* damaged or cut short"):
        load_checkpoint(path)
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(ValueError, match="damaged or cut short"):
        load_checkpoint(tmp_path / "empty.pt")


def test_a_checkpoint_for_another_model_names_the_first_mismatch_in_full(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", models.get("lenet", activation="relu", seed=0))
    other = models.get("lenet", activation="relu", num_classes=3, seed=0)
    key, saved = next((k, v) for k, v in torch.load(path, weights_only=True)["model_state"].items()
                      if v.shape != other.state_dict()[k].shape)
    wanted = other.state_dict()[key]
    with pytest.raises(ValueError) as caught:
        load_checkpoint(path, other)
    shape = "×".join
    assert (f"{key!r} is {shape(map(str, saved.shape))} in the checkpoint but {shape(map(str, wanted.shape))} "
            "in this model; build the model the checkpoint was saved from") in str(caught.value)


# ---------------------------------------------------------------------------------------------
# The command line: one error line, before anything is loaded, and nothing left behind


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """ALEXNET_DATA pointing at an empty folder: a command that touched the data would fail on that."""
    monkeypatch.setenv("ALEXNET_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("ALEXNET_OFFLINE", "1")
    monkeypatch.setenv("ALEXNET_PROFILE", "ci")
    monkeypatch.delenv("ALEXNET_TRACEBACK", raising=False)
    return tmp_path


def _error_line(capsys, argv) -> tuple[int, str]:
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return code, err


@pytest.mark.parametrize(
    ("device", "words"),
    [("cuda:99", "cuda:99"), ("tpu", "'tpu' is not a device PyTorch knows"), ("meta", "not one this trainer supports")],
)
def test_a_missing_device_is_refused_before_the_data_are_touched(no_data, capsys, device, words):
    out = no_data / "run"
    code, err = _error_line(capsys, ["train", "lenet", "--device", device, "--out", str(out)])
    assert code == 2 and words in err and "Fashion-MNIST" not in err
    assert not out.exists()


def test_cuda_without_a_gpu_is_one_line(no_data, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, err = _error_line(capsys, ["train", "lenet", "--device", "cuda", "--out", str(no_data / "run")])
    assert code == 2 and "PyTorch sees no CUDA GPU here; use device='cpu'" in err


@pytest.mark.parametrize("kind", ["file", "unwritable"])
def test_a_bad_output_folder_is_refused_before_anything_else(no_data, capsys, kind):
    out = no_data / "taken"
    if kind == "file":
        out.write_text("mine")
    else:
        out = no_data / "proc" / "x" if os.geteuid() != 0 else "/proc/alexnet-test/x"  # root writes anywhere else
        if os.geteuid() != 0:
            out.parent.mkdir()
            out.parent.chmod(0o500)
    code, err = _error_line(capsys, ["train", "lenet", "--device", "tpu", "--out", str(out)])  # tpu: checked later
    assert code == 2 and str(out) in err
    assert ("is a file; choose a folder" in err) if kind == "file" else ("cannot create the output folder" in err)
    if kind == "file":
        assert (no_data / "taken").read_text() == "mine"


def test_an_existing_run_is_never_overwritten_without_force(no_data, capsys, monkeypatch):
    out = no_data / "seq"
    out.mkdir()
    for name, content in [("history.csv", "earlier"), ("checkpoint.pt", "earlier"), ("notes.txt", "mine")]:
        (out / name).write_text(content)
    code, err = _error_line(capsys, ["train", "lenet", "--out", str(out)])
    assert code == 2 and f"{out} already holds a run (history.csv, checkpoint.pt)" in err and "--force" in err
    assert {p.name: p.read_text() for p in out.iterdir()} == {
        "history.csv": "earlier", "checkpoint.pt": "earlier", "notes.txt": "mine"}  # untouched, no claim left


def test_num_classes_that_do_not_fit_the_data_are_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ALEXNET_PROFILE", "ci")
    out = tmp_path / "run"
    code = cli.main(["train", "lenet", "--set", "num_classes=3", "--epochs", "1", "--out", str(out), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[-1] == (
        "error: lenet has 3 outputs but the training labels go up to 9; build it with num_classes=10 "
        "(one output per class) or train it on data with 3 classes."
    )
    assert not out.exists()


def test_a_diverged_run_saves_its_complete_epochs_and_ends_in_an_error(no_data, capsys, monkeypatch):
    from alexnet_lib import recipes

    model = models.get("lenet", activation="relu", seed=0)
    history = pd.DataFrame([[1, 0.6, 0.8, 0.5, 0.8, 0.1, 100, 1.0, 100.0]], columns=HISTORY_COLUMNS)
    history.attrs.update(precision="float32", device="cpu", seconds=1.0, interrupted=False)

    def diverging(*args, **kwargs):
        raise TrainingDiverged("training diverged in epoch 2 of 8, batch 3 of 16: the loss was nan", history, model)

    monkeypatch.setattr(recipes, "train_recipe", diverging)
    out = no_data / "run"
    code = cli.main(["train", "lenet", "--out", str(out), "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 2 and captured.err == (f"error: training diverged in epoch 2 of 8, batch 3 of 16: the loss was nan "
                                          f"(--lr 0.003); the 1 complete epoch is saved in {out}.\n")
    assert f"saved {out / 'history.csv'}" in captured.out
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "history.csv"]
    assert load_checkpoint(out / "checkpoint.pt").history["epoch"].tolist() == [1]


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_traceback_on_request(no_data, capsys, monkeypatch, how):
    argv = ["train", "lenet", "--device", "tpu", "--out", str(no_data / "run")]
    if how == "flag":
        argv.append("--traceback")
    else:
        monkeypatch.setenv("ALEXNET_TRACEBACK", "1")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):") and "RuntimeError" in err
    assert err.splitlines()[-1].startswith("error: device='tpu'")


def test_conv_out_is_exact_for_any_size(capsys):
    n = 10**308 + 7  # 309 digits: beyond any float
    assert cli.main(["conv-out", "--n", str(n), "--k", "3", "--pool"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-2] == f"      = {pool_output_size(n, 3)}"
    assert cli.main(["conv-out", "--n", str(10**30), "--k", "3", "--s", "7"]) == 0
    steps = capsys.readouterr().out.splitlines()
    span = 10**30 - 3
    assert steps[-3] == f"      = floor({span // 7}.{span % 7 * 1000 // 7:03d}...) + 1"  # 0.714... truncates to 714 here
    assert steps[-1] == f"      = {conv_output_size(10**30, 3, 7)}"


def test_default_run_folders_never_collide(tmp_path, monkeypatch):
    suffixes = iter(["beef", "beef", "beef", "cafe"])
    monkeypatch.setattr(runs.secrets, "token_hex", lambda n=8: next(suffixes, "0" * (2 * n)))
    monkeypatch.setattr(runs.time, "strftime", lambda fmt, *a: "20260101-120000" if "%H" in fmt else "2026-01-01")
    first = runs.claim_run_folder(None, "lenet", parent=tmp_path)  # token 'beef', folder suffix 'beef'
    second = runs.new_run_folder(tmp_path, "lenet")  # 'beef' taken: draws again, gets 'cafe'
    assert first.path.name == "lenet-20260101-120000-beef" and second.name == "lenet-20260101-120000-cafe"


def test_a_run_whose_folder_was_taken_over_saves_beside_it(tmp_path):
    model = models.get("lenet", activation="relu", seed=0)
    history = pd.DataFrame({"epoch": [1], "train_loss": [0.5]})
    first = runs.claim_run_folder(tmp_path / "seq", "lenet")
    second = runs.claim_run_folder(tmp_path / "seq", "lenet", force=True)
    moved = first.save(model, history, note="first")
    kept = second.save(model, history, note="second")
    assert kept == tmp_path / "seq" and moved.parent == tmp_path and moved.name.startswith("seq-")
    assert load_checkpoint(kept / "checkpoint.pt").meta["note"] == "second"
    assert load_checkpoint(moved / "checkpoint.pt").meta["note"] == "first"
    assert sorted(p.name for p in kept.iterdir()) == ["checkpoint.pt", "history.csv"]  # the claim is gone
