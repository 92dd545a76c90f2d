"""Fault injection on the files a run writes and reads (issue 24, "Nothing lost, round two"): a full disk, links
where files should be, an empty --out, crafted checkpoints, a read-only output folder, folder modes.

Each test checks the message (one sentence, no traceback), that nothing trained is lost (the results are where the
message says, or the model is still in memory), and that no folder is left blocked (a second run there succeeds).
A full or read-only disk is a 1 MB tmpfs where the tests run as root (as on CI), and is injected at the write call
everywhere.
"""

from __future__ import annotations

import builtins
import errno
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch import nn

import output_folder  # tools/, on the import path through tests/conftest.py
import student_notebooks
from alexnet_lib import models, recipes
from alexnet_lib.config import get_config
from alexnet_lib.data import fashion_mnist_counts
from alexnet_lib.runs import checkpoints, cli, folders
from alexnet_lib.runs.checkpoints import NoRoomError, checkpoint_bytes, load_checkpoint, save_checkpoint
from alexnet_lib.runs.folders import RunFolderError, RunNotSavedError, claim_run_folder
from alexnet_lib.training import HISTORY_COLUMNS

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
FULL = "No space left on device"


@pytest.fixture
def no_hang():
    """A test that would hang (reading a pipe nobody writes) fails after 20 s instead."""

    def hung(signum, frame):
        raise TimeoutError("still waiting after 20 s: a pipe was opened for reading")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _one_sentence(text: str) -> str:
    """``text`` without its ``error: `` prefix, after checking it is one line, one message and no traceback."""
    assert text.count("\n") <= 1 and "Traceback" not in text and text.rstrip().endswith("."), text
    return text.strip().removeprefix("error: ")


def _error_line(capsys, argv: list[str]) -> tuple[int, str]:
    code = cli.main(argv)
    return code, _one_sentence(capsys.readouterr().err)


def _same_weights(path: Path, model: torch.nn.Module) -> bool:
    saved = load_checkpoint(path).model_state
    return all(torch.equal(saved[k], v) for k, v in model.state_dict().items())


# ---------------------------------------------------------------------------------------------
# A small disk (a tmpfs, as root) and a full one injected at the write call (anywhere)


def _mount_tmpfs(folder: Path, options: str) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8) (CI runs the tests as root, on Linux)")
    folder.mkdir(exist_ok=True)
    command = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()})")


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs at tmp_path/disk, unmounted after the test."""
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "size=1m")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=True)


def _fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` with one file so that ``leave`` bytes stay free; the file, to remove to free the space."""
    fill = disk / "fill"
    with open(fill, "wb") as f:
        try:
            f.write(bytes(shutil.disk_usage(disk).free - leave))
            f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    assert shutil.disk_usage(disk).free == leave
    return fill


@pytest.fixture
def full_at(monkeypatch):
    """``full_at(folder)``: every file the checkpoints module opens for writing under ``folder`` fails with ENOSPC,
    as on a full disk; ``full_at(None)``: the space is freed."""
    full: list[Path] = []
    real_open = builtins.open

    def open_on_full_disk(file, mode="r", *args, **kwargs):
        if full and isinstance(file, (str, Path)) and Path(file).is_relative_to(full[0]) and set(mode) & set("wxa"):
            raise OSError(errno.ENOSPC, FULL, str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(checkpoints, "open", open_on_full_disk, raising=False)  # that module's writes only

    def set_full(folder: Path | None) -> None:
        full.clear()
        if folder is not None:
            full.append(folder)

    return set_full


@pytest.fixture
def spare(tmp_path, monkeypatch):
    """The system's temporary folder, where results go when their folder cannot take them: a fresh one per test."""
    folder = tmp_path / "spare"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _fake_training(monkeypatch, model: torch.nn.Module) -> torch.nn.Module:
    """Training replaced by ``model`` and one epoch of history, returned at once; the model."""
    history = pd.DataFrame([[1, 0.6, 0.8, 0.5, 0.8, 0.1, 100, 1.0, 100.0]], columns=HISTORY_COLUMNS)
    history.attrs.update(precision="float32", device="cpu", seconds=1.0, interrupted=False)
    monkeypatch.setattr(recipes, "train_recipe", lambda *args, **kwargs: (model, history, None))
    return model


@pytest.fixture
def trained(tmp_path, monkeypatch):
    """Training replaced by a LeNet and one epoch of history, returned at once (no data is loaded); the model."""
    monkeypatch.setenv("ALEXNET_DATA", str(tmp_path / "no-data"))  # a command that touched the data would fail
    monkeypatch.setenv("ALEXNET_OFFLINE", "1")
    monkeypatch.setenv("ALEXNET_PROFILE", "ci")
    monkeypatch.delenv("ALEXNET_TRACEBACK", raising=False)
    return _fake_training(monkeypatch, models.get("lenet", activation="relu", seed=0))


def _train(out: Path | str) -> list[str]:
    return ["train", "lenet", "--epochs", "1", "--device", "cpu", "--out", str(out)]


def _saved_in(message: str, spare: Path) -> Path:
    """The folder under ``spare`` that the message names as holding the results (and that it holds them)."""
    [folder] = [p for p in spare.iterdir() if str(p) in message]
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoint.pt", "history.csv"]
    return folder


def _assert_free_for_the_next_run(capsys, out: Path, model) -> None:
    """No claim and no half-run are left in ``out`` (the run created it, so it is gone): a second run saves there."""
    assert not out.exists()
    assert cli.main(_train(out)) == 0, capsys.readouterr().err
    assert _same_weights(out / "checkpoint.pt", model) and (out / "history.csv").exists()
    assert not (out / folders.CLAIM_FILE).exists()


# ---------------------------------------------------------------------------------------------
# 1. A full disk: one sentence with the bytes needed, the results kept, the folder free


@pytest.mark.parametrize("how", ["tmpfs", "injected"])
def test_a_full_disk_at_the_claim_leaves_no_claim(trained, capsys, tmp_path, monkeypatch, request, how):
    full = [True]
    if how == "tmpfs":
        disk = request.getfixturevalue("small_disk")
        out, fill = disk / "run", _fill(disk, leave=0)
    else:
        out, fill = tmp_path / "run", None
        real_open = builtins.open

        def claim_without_room(fd, mode="r", *args, **kwargs):  # the claim is created, then cannot be written
            if full and isinstance(fd, int) and "w" in mode:
                os.close(fd)
                raise OSError(errno.ENOSPC, FULL)
            return real_open(fd, mode, *args, **kwargs)

        monkeypatch.setattr(folders, "open", claim_without_room, raising=False)
    code, message = _error_line(capsys, _train(out))
    assert code == 2 and message == (
        f"cannot write in the output folder {out}: its disk is full ({FULL}); free some space or choose another folder.")
    assert not out.exists()  # neither an empty claim nor the folder this run created
    if fill is not None:
        fill.unlink()
    full.clear()
    _assert_free_for_the_next_run(capsys, out, trained)


@pytest.mark.parametrize("how", ["124 kB free", "4 kB free", "injected"])
def test_results_that_do_not_fit_are_saved_elsewhere_in_one_sentence(
        trained, capsys, tmp_path, spare, full_at, request, how):
    if how == "injected":
        out, fill = tmp_path / "run", None
        full_at(out)
    else:
        disk = request.getfixturevalue("small_disk")
        out, fill = disk / "run", _fill(disk, leave=1024 * int(how.split()[0]))
    weights = len(checkpoint_bytes(trained))
    code, message = _error_line(capsys, _train(out))
    assert code == 2 and message.startswith(f"no room for history.csv and checkpoint.pt in {out}: they need ")
    needed, free = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) (?:bytes|free)", message)]
    assert weights < needed < weights + 5000  # the weights, the recipe, the history twice
    assert f"free ({FULL})" in message
    if fill is not None:
        assert free <= shutil.disk_usage(out.parent).free  # as it was while writing (the claim took a page of it)
    assert message.endswith("instead: move them where you want them, and free some space before the next run.")
    assert _same_weights(_saved_in(message, spare) / "checkpoint.pt", trained)  # nothing trained is lost
    if fill is not None:
        fill.unlink()
    full_at(None)  # the disk has room again
    _assert_free_for_the_next_run(capsys, out, trained)


def test_a_real_training_on_a_nearly_full_disk_keeps_its_weights(small_disk, spare, capsys, monkeypatch):
    """The issue's reproduction, trained for real: 124 kB free gave a traceback, and checkpoint.pt was lost."""
    if fashion_mnist_counts(get_config().data_root) is None:
        pytest.skip("Fashion-MNIST is not here (python -m alexnet_lib doctor --download)")
    monkeypatch.setenv("ALEXNET_OFFLINE", "1")
    monkeypatch.setenv("ALEXNET_PROFILE", "ci")
    monkeypatch.setenv("ALEXNET_MAX_IMAGES", "300")
    monkeypatch.delenv("ALEXNET_TRACEBACK", raising=False)
    out, fill = small_disk / "run", _fill(small_disk, leave=124 * 1024)
    code = cli.main(_train(out))
    message = _one_sentence(capsys.readouterr().err.splitlines()[-1])
    assert code == 2 and message.startswith(f"no room for history.csv and checkpoint.pt in {out}")
    saved = load_checkpoint(_saved_in(message, spare) / "checkpoint.pt")
    model = saved.model  # the trained weights, rebuilt
    assert saved.history["images"].tolist() == [225]  # trained on the 225 training images of the first 300
    fill.unlink()
    _assert_free_for_the_next_run(capsys, out, _fake_training(monkeypatch, model))


@pytest.mark.parametrize("how", ["tmpfs", "injected"])
def test_when_the_temporary_folder_is_full_too_the_sentence_says_nothing_was_saved(
        trained, capsys, tmp_path, monkeypatch, full_at, request, how):
    if how == "tmpfs":
        disk = request.getfixturevalue("small_disk")
        out, fill, spare = disk / "run", _fill(disk, leave=4096), disk / "tmp"
    else:
        out, fill, spare = tmp_path / "run", None, tmp_path / "tmp"
        full_at(tmp_path)
    spare.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spare))
    code, message = _error_line(capsys, _train(out))
    assert code == 2 and message.startswith(f"no room for history.csv and checkpoint.pt in {out}: they need ")
    assert message.endswith(
        f", and {spare} could not take them either ({FULL}), so nothing was saved: free some space and save again "
        "(the trained weights are lost when this process ends).")
    assert list(spare.iterdir()) == []  # no empty folder left there either
    if fill is not None:
        fill.unlink()
    full_at(None)
    _assert_free_for_the_next_run(capsys, out, trained)


def test_the_api_keeps_the_model_and_the_claim_so_saving_again_works(tmp_path, spare, full_at):
    model = models.get("lenet", activation="relu", seed=0)
    history = pd.DataFrame({"epoch": [1], "train_loss": [0.5]})
    run = claim_run_folder(tmp_path / "run", "lenet")
    full_at(tmp_path / "run")
    with pytest.raises(RunNotSavedError) as caught:
        run.save(model, history, note="full")
    assert caught.value.saved_in.parent == spare and _same_weights(caught.value.saved_in / "checkpoint.pt", model)
    _one_sentence(str(caught.value))
    assert run.owned() and sorted(p.name for p in run.path.iterdir()) == [folders.CLAIM_FILE]  # no half-run
    full_at(None)  # space freed: the same run saves again, in its own folder
    assert run.save(model, history, note="again") == run.path
    assert sorted(p.name for p in run.path.iterdir()) == ["checkpoint.pt", "history.csv"]


def test_save_checkpoint_on_a_full_disk_names_the_bytes_and_leaves_the_old_file(tmp_path, full_at):
    model = models.get("lenet", activation="relu", seed=0)
    path = save_checkpoint(tmp_path / "c.pt", model)
    before = path.read_bytes()
    full_at(tmp_path)
    with pytest.raises(NoRoomError) as caught:
        save_checkpoint(path, model, note="new")
    need = len(checkpoint_bytes(model, note="new"))
    assert re.fullmatch(f"no room for c.pt in {tmp_path}: it needs {need:,} bytes and the disk has [\\d,]+ free "
                        f"\\({FULL}\\); free some space, or write them somewhere else.", _one_sentence(str(caught.value)))
    assert caught.value.errno == errno.ENOSPC and isinstance(caught.value, OSError)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["c.pt"]


def test_the_two_result_files_appear_together_or_not_at_all(tmp_path, spare, monkeypatch):
    model = models.get("lenet", activation="relu", seed=0)
    run = claim_run_folder(tmp_path / "run", "lenet")
    real_replace = os.replace

    def second_rename_fails(source, target):  # history.csv is in place when checkpoint.pt's rename fails
        if str(target).endswith("checkpoint.pt") and Path(target).parent == run.path:
            raise OSError(errno.EDQUOT, "Disk quota exceeded")
        return real_replace(source, target)

    monkeypatch.setattr(checkpoints.os, "replace", second_rename_fails)
    with pytest.raises(RunNotSavedError, match=r"need [\d,]+ bytes \(Disk quota exceeded\); they were saved in"):
        run.save(model, pd.DataFrame({"epoch": [1]}))
    assert sorted(p.name for p in run.path.iterdir()) == [folders.CLAIM_FILE]  # not history.csv alone
    run.release()
    assert not run.path.exists()


def test_a_folder_removed_during_the_run_is_made_again_for_its_results(tmp_path):
    """A scratch cleaner (or a student tidying up) removed the output folder while the run trained."""
    model = models.get("lenet", activation="relu", seed=0)
    run = claim_run_folder(tmp_path / "scratch" / "run", "lenet")
    shutil.rmtree(tmp_path / "scratch")
    assert run.save(model, pd.DataFrame({"epoch": [1]})) == run.path
    assert sorted(os.listdir(run.path)) == ["checkpoint.pt", "history.csv"] and _same_weights(run.path / "checkpoint.pt", model)


# ---------------------------------------------------------------------------------------------
# 5. Links where the claim or the results go are never followed


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("password=hunter2\n")
    return path


def test_a_claim_that_is_a_link_is_neither_read_nor_written_through(trained, capsys, tmp_path, secret):
    out = tmp_path / "run"
    out.mkdir()
    (out / folders.CLAIM_FILE).symlink_to(secret)
    code, message = _error_line(capsys, _train(out))
    assert code == 2 and "hunter2" not in message and message == (
        f"{out / folders.CLAIM_FILE} is a symbolic link, where a run writes a plain file; remove it, or pass --force "
        "(force=True) to replace it with this run's claim.")
    assert cli.main([*_train(out), "--force"]) == 0
    assert secret.read_text() == "password=hunter2\n"  # the link was replaced, its target untouched
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "history.csv"] and _same_weights(out / "checkpoint.pt", trained)


def test_result_files_that_are_links_are_replaced_not_written_through(trained, capsys, tmp_path, secret):
    out = tmp_path / "run"
    out.mkdir()
    for name in folders.RESULT_FILES:
        (out / name).symlink_to(secret)
    code, message = _error_line(capsys, _train(out))
    assert code == 2 and message.startswith(f"{out} already holds a run (history.csv, checkpoint.pt)")
    assert cli.main([*_train(out), "--force"]) == 0
    assert secret.read_text() == "password=hunter2\n"
    assert not any((out / name).is_symlink() for name in folders.RESULT_FILES) and _same_weights(out / "checkpoint.pt", trained)


def test_a_link_planted_at_a_temporary_name_is_not_followed(tmp_path, secret, monkeypatch):
    monkeypatch.setattr(checkpoints.secrets, "token_hex", lambda n: "0" * 2 * n)  # the name is random: make it known
    planted = tmp_path / f".c.pt.{'0' * 16}.partial"
    planted.symlink_to(secret)
    with pytest.raises(FileExistsError):
        save_checkpoint(tmp_path / "c.pt", models.get("lenet", seed=0))
    assert secret.read_text() == "password=hunter2\n" and planted.is_symlink() and not (tmp_path / "c.pt").exists()


@pytest.mark.parametrize("kind", ["folder", "pipe", "empty file"])
def test_odd_claims_are_one_sentence_and_force_replaces_them(trained, capsys, tmp_path, no_hang, kind):
    out = tmp_path / "run"
    out.mkdir()
    claim = out / folders.CLAIM_FILE
    if kind == "folder":
        claim.mkdir()
    elif kind == "pipe":
        os.mkfifo(claim)  # reading it must not hang
    else:
        claim.write_text("")  # left by an older version on a full disk
    code, message = _error_line(capsys, _train(out))
    assert code == 2
    if kind == "empty file":
        assert message == (f"{out} holds an empty claim (.run-claim), left by a run that stopped while claiming it; if no "
                           "run is starting there at this instant, remove it, or pass --force (force=True).")
    else:
        assert message.startswith(f"{claim} is a folder, a pipe or a device, where a run writes a plain file")
    code = cli.main([*_train(out), "--force"])
    if kind == "folder":  # a folder cannot be replaced by a file: refused in one sentence
        assert code == 2 and _one_sentence(capsys.readouterr().err) == (
            f"cannot write in the output folder {out} (Is a directory); choose a place you can write to.")
    else:
        assert code == 0 and sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "history.csv"]


def test_the_holder_of_a_claim_is_shown_as_short_printable_text(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / folders.CLAIM_FILE).write_text("token\n\x1b[2J\x07" + "x" * 10_000)
    with pytest.raises(RunFolderError) as caught:
        claim_run_folder(out, "lenet")
    assert f"claimed by another run ([2J{'x' * 97}) that has not saved yet" in _one_sentence(str(caught.value))


# ---------------------------------------------------------------------------------------------
# 6. An empty --out is refused, not the current folder


@pytest.mark.parametrize("out", ["", "  ", "\t"])
def test_an_empty_out_is_refused(trained, capsys, tmp_path, monkeypatch, out):
    monkeypatch.chdir(tmp_path)
    code, message = _error_line(capsys, _train(out))
    assert code == 2 and message == (
        f"the output folder is {'a name of only spaces' if out else 'an empty name'}, which would put the run in the "
        "current folder; give a folder with --out (is the variable you passed empty?), or leave --out out for a new "
        "folder under runs/.")
    assert os.listdir(tmp_path) == []  # nothing written in the current folder


# ---------------------------------------------------------------------------------------------
# 7 and 8. Crafted checkpoints: NaN weights, and model_kwargs that would choose the memory


def test_a_checkpoint_with_nan_weights_is_refused_naming_the_tensor(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", models.get("lenet", seed=0), model_kwargs={})
    payload = torch.load(path, weights_only=True)
    name = list(payload["model_state"])[2]
    payload["model_state"][name][0] = float("nan")
    torch.save(payload, path)
    with pytest.raises(ValueError) as caught:
        load_checkpoint(path, models.get("lenet", seed=0))
    assert _one_sentence(str(caught.value)) == (
        f"the checkpoint {path} holds NaN or infinite values in its weights {name!r}, so a model loaded from it would "
        "answer NaN; save_checkpoint never writes such weights (the file was altered or saved another way): use "
        "another checkpoint, or train again.")


def _crafted(path: Path, state: dict, **meta) -> Path:
    torch.save({"format": "alexnet_lib checkpoint 1", "model_state": state, "meta": meta}, path)
    return path


def _builds(monkeypatch) -> list[object]:
    """The devices models.get is asked to build on, recorded."""
    devices, real_get = [], models.get
    monkeypatch.setattr(models, "get", lambda *a, device=None, **k: devices.append(device) or real_get(*a, device=device, **k))
    return devices


def test_model_kwargs_cannot_make_load_checkpoint_build_a_huge_model(tmp_path, monkeypatch):
    state = models.get("lenet", seed=0).state_dict()
    path = _crafted(tmp_path / "c.pt", state, model_name="alexnet_cpu", model_kwargs={"input_size": 20000})
    devices, start = _builds(monkeypatch), time.perf_counter()
    with pytest.raises(ValueError) as caught:
        load_checkpoint(path)
    assert devices == ["meta"] and time.perf_counter() - start < 10  # shapes only: nothing of 306 GB was asked for
    assert _one_sentence(str(caught.value)).startswith(
        f"the checkpoint {path} asks for alexnet_cpu with model_kwargs={{'input_size': 20000}}, but its weights do not "
        "fit that model (")


def test_weights_that_repeat_one_stored_value_cannot_pass_the_shape_check(tmp_path, monkeypatch):
    """A stride of 0 lets a 2 kB file describe tensors of any size, shaped to fit a huge model."""
    huge = models.get("alexnet_cpu", device="meta", input_size=20000).state_dict()
    state = {k: torch.zeros(()).expand(v.shape) for k, v in huge.items()}
    path = _crafted(tmp_path / "c.pt", state, model_name="alexnet_cpu", model_kwargs={"input_size": 20000})
    assert path.stat().st_size < 100_000
    devices = _builds(monkeypatch)
    with pytest.raises(ValueError, match=r"its tensor '[\w.]+' has more elements than the file stores; it was altered"):
        load_checkpoint(path)
    assert devices == []


@pytest.mark.parametrize("kwargs", [{"input_size": torch.tensor(20000)}, [("input_size", 28)], {"widths": {"a": 1}}, "x"])
def test_model_kwargs_must_be_a_dict_of_plain_values(tmp_path, monkeypatch, kwargs):
    path = _crafted(tmp_path / "c.pt", models.get("lenet", seed=0).state_dict(), model_name="lenet", model_kwargs=kwargs)
    devices = _builds(monkeypatch)
    with pytest.raises(ValueError) as caught:
        load_checkpoint(path)
    assert devices == [] and _one_sentence(str(caught.value)) == (
        f"{path} is not a checkpoint as save_checkpoint writes it: its model_kwargs are not a dict of plain values "
        "(str, int, float, bool, None, or lists of them); it was altered or made by hand, so use another copy.")


def test_a_compressed_checkpoint_cannot_unpack_to_fill_the_memory(tmp_path):
    """torch.load unpacks a zip's deflated parts: 1 kB of zeros could ask for 1 MB, 1 MB for 1 GB."""
    stored = save_checkpoint(tmp_path / "c.pt", nn.Linear(500, 500))  # 1 MB of weights, most of the file
    with zipfile.ZipFile(stored) as source, zipfile.ZipFile(tmp_path / "bomb.pt", "w", zipfile.ZIP_DEFLATED) as bomb:
        for part in source.infolist():
            bomb.writestr(part.filename, source.read(part.filename))
    size = (tmp_path / "bomb.pt").stat().st_size
    assert torch.load(tmp_path / "bomb.pt", weights_only=True)["format"] == "alexnet_lib checkpoint 1"  # torch reads it
    with pytest.raises(ValueError) as caught:
        load_checkpoint(tmp_path / "bomb.pt")
    assert re.fullmatch(f"{tmp_path / 'bomb.pt'} unpacks to [\\d,]+ bytes from {size:,}, but save_checkpoint never "
                        "compresses a checkpoint: it was made to fill the memory of whoever loads it; do not use it.",
                        _one_sentence(str(caught.value)))


def test_a_checkpoint_that_fits_is_still_rebuilt_after_the_check(tmp_path, monkeypatch):
    model = models.get("lenet", activation="relu", seed=0)
    path = save_checkpoint(tmp_path / "c.pt", model, model_kwargs={"activation": "relu"})
    devices = _builds(monkeypatch)
    rebuilt = load_checkpoint(path).model
    assert devices == ["meta", None] and all(torch.equal(v, model.state_dict()[k]) for k, v in rebuilt.state_dict().items())


@pytest.mark.parametrize(("history", "problem"), [
    ({"columns": ["epoch"], "rows": [[1, 2]]}, "its history is not a table of plain values"),
    ({"columns": ["epoch"], "rows": [[torch.zeros(1)]]}, "its history is not a table of plain values"),
    ("rows", "its history is not a table of plain values"),
    ({"columns": ["epoch"], "rows": [[1]] * 100_000}, "its history is not a table of plain values"),  # one row, by reference
])
def test_a_crafted_history_is_one_sentence(tmp_path, history, problem):
    path = tmp_path / "c.pt"
    torch.save({"format": "alexnet_lib checkpoint 1", "model_state": {}, "meta": {}, "history": history}, path)
    with pytest.raises(ValueError, match=f"{problem}; it was altered or made by hand"):
        load_checkpoint(path)


def test_a_folder_or_a_pipe_in_place_of_a_checkpoint_is_one_sentence(tmp_path, no_hang):
    (tmp_path / "run").mkdir()
    with pytest.raises(IsADirectoryError) as caught:
        load_checkpoint(tmp_path / "run")
    assert str(caught.value) == (f"{tmp_path / 'run'} is a folder, not a checkpoint file; give the file inside it, "
                                 f"e.g. {tmp_path / 'run' / 'checkpoint.pt'}.")
    os.mkfifo(tmp_path / "pipe.pt")
    with pytest.raises(ValueError, match="is not a regular file .* so it holds no checkpoint"):
        load_checkpoint(tmp_path / "pipe.pt")  # would hang if it were opened for reading as a file


# ---------------------------------------------------------------------------------------------
# Output folders that are not folders


def test_out_under_a_file_or_a_broken_link_is_one_sentence(trained, capsys, tmp_path):
    (tmp_path / "file").write_text("mine")
    code, message = _error_line(capsys, _train(tmp_path / "file" / "run"))
    assert code == 2 and message == (
        f"cannot create the output folder {tmp_path / 'file' / 'run'} (Not a directory); choose a place you can write to.")
    (tmp_path / "broken").symlink_to(tmp_path / "nowhere")
    code, message = _error_line(capsys, _train(tmp_path / "broken"))
    assert code == 2 and message == (f"the output folder {tmp_path / 'broken'} is a symbolic link to nothing "
                                     f"({tmp_path / 'nowhere'}); remove it or choose another folder.")
    assert not (tmp_path / "nowhere").exists()


def test_out_as_a_link_to_a_folder_saves_in_that_folder(trained, capsys, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert cli.main(_train(tmp_path / "link")) == 0
    assert sorted(os.listdir(tmp_path / "real")) == ["checkpoint.pt", "history.csv"]


def test_a_pipe_named_checkpoint_pt_is_a_run_to_replace_only_with_force(trained, capsys, tmp_path, no_hang):
    out = tmp_path / "run"
    out.mkdir()
    os.mkfifo(out / "checkpoint.pt")
    code, message = _error_line(capsys, _train(out))
    assert code == 2 and message.startswith(f"{out} already holds a run (checkpoint.pt)")
    assert cli.main([*_train(out), "--force"]) == 0 and _same_weights(out / "checkpoint.pt", trained)


# ---------------------------------------------------------------------------------------------
# 14 and 15. The students' notebooks: a read-only output folder, and the folder's mode


@pytest.fixture
def read_only_disk(tmp_path):
    disk = tmp_path / "ro"
    _mount_tmpfs(disk, "size=1m,ro")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=True)


@pytest.mark.parametrize("how", ["read-only tmpfs", "at mkdtemp", "at the notebook write"])
def test_student_notebooks_on_a_read_only_folder_is_one_sentence(tmp_path, monkeypatch, request, how):
    if how == "read-only tmpfs":
        out = request.getfixturevalue("read_only_disk") / "student"
    else:
        out = tmp_path / "student"
        student_notebooks.build(out, NOTEBOOKS[:1])  # an old output, which must stay
        where = (tempfile, "mkdtemp") if how == "at mkdtemp" else (student_notebooks.nbformat, "write")
        monkeypatch.setattr(*where, lambda *a, **k: (_ for _ in ()).throw(OSError(errno.EROFS, "Read-only file system")))
    with pytest.raises(SystemExit) as caught:
        student_notebooks.build(out, NOTEBOOKS[:1])
    assert str(caught.value) == (f"cannot write the output folder {out} (Read-only file system); choose a folder you "
                                 "can write to with --out.")
    if how != "read-only tmpfs":
        assert sorted(p.name for p in tmp_path.iterdir()) == ["student"]  # no staging folder left
        assert len(list((out / "notebooks").iterdir())) == 1


@pytest.mark.parametrize("umask", [0o022, 0o002], ids=["umask 022", "umask 002"])
def test_output_folders_get_the_mode_of_any_new_folder(tmp_path, umask):
    old = os.umask(umask)
    try:
        student_notebooks.build(tmp_path / "student", NOTEBOOKS[:1])
        (tmp_path / "plain").mkdir()
        staged = output_folder.staging_beside(tmp_path / "slides", ".slides-build")
    finally:
        os.umask(old)
    mode = 0o777 & ~umask
    assert [p.stat().st_mode & 0o777 for p in (tmp_path / "student", tmp_path / "plain", staged)] == [mode] * 3
