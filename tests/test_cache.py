"""Train once (``alexnet_lib.runs.cache``): a kept model is served only for the same recipe, data, library, PyTorch,
device and machine; anything else trains again, and a kept file that cannot be read or written loses nothing."""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import replace

import pytest
import torch

from alexnet_lib.data import fashion_mnist_folder
from alexnet_lib.recipes import Recipe, recipe
from alexnet_lib.runs import cache
from alexnet_lib.runs.cache import cache_key, data_fingerprint, library_fingerprint, train_once
from alexnet_lib.runs.checkpoints import load_checkpoint, save_checkpoint

TINY = replace(recipe("lenet", "ci"), subset=(64, 64), epochs=1, batch_size=32)


def _changed(value: object) -> object:
    """Another value of the same kind: what a student's edit of one field of a recipe looks like."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value * 2 + 1
    if isinstance(value, str):
        return value + "_changed"
    if isinstance(value, tuple):
        return tuple(32 if v is None else v + 1 for v in value)
    if isinstance(value, dict):
        return {**value, "changed": 1}
    return 32  # None: a crop, a resize, a budget, a number of channels


def fields_the_key_ignores(key, r: Recipe = TINY) -> list[str]:
    """The fields of ``r`` that can change without changing ``key(r)``."""
    return [f.name for f in dataclasses.fields(Recipe)
            if key(replace(r, **{f.name: _changed(getattr(r, f.name))})) == key(r)]


def test_every_field_of_the_recipe_changes_the_key():
    assert fields_the_key_ignores(cache_key) == []
    # The check sees a key that forgets a field: one that ignores the model's arguments, for example.
    assert fields_the_key_ignores(lambda r: cache_key(replace(r, model_kwargs={}))) == ["model_kwargs"]


@pytest.fixture
def trainings(monkeypatch):
    """The recipes train_once really trained, in order."""
    trained = []
    real = cache.train_recipe

    def counting(r, **kwargs):
        trained.append(r)
        return real(r, **kwargs)

    monkeypatch.setattr(cache, "train_recipe", counting)
    return trained


def test_a_changed_recipe_is_trained_never_served(tmp_path, trainings, capsys):
    first = train_once(TINY, device="cpu", folder=tmp_path, progress=False)
    assert "lenet: trained in" in capsys.readouterr().out and trainings == [TINY]

    again = train_once(TINY, device="cpu", folder=tmp_path, progress=False)
    assert "lenet: reused the model trained" in capsys.readouterr().out and trainings == [TINY]
    assert all(torch.equal(a, b) for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()))
    assert again.history.equals(first.history) and again.history.attrs["test_acc"] == first.history.attrs["test_acc"]
    assert not again.model.training and len(again.data.train) == len(first.data.train)

    edits = [replace(TINY, lr=TINY.lr / 3), replace(TINY, seed=1), replace(TINY, epochs=2),
             replace(TINY, model_kwargs={"activation": "sigmoid"})]
    for edited in edits:
        train_once(edited, device="cpu", folder=tmp_path, progress=False)
        assert "trained in" in capsys.readouterr().out and trainings[-1] == edited
    train_once(TINY, device="cpu", folder=tmp_path, test=False, progress=False)  # no test figure: another key
    assert len(trainings) == 1 + len(edits) + 1
    train_once(TINY, device="cpu", folder=tmp_path, progress=False)  # the first recipe is still kept
    assert len(trainings) == 1 + len(edits) + 1 and "reused" in capsys.readouterr().out


def test_other_data_library_torch_or_machine_make_another_key(tmp_path, monkeypatch):
    key = cache_key(TINY)
    copy = tmp_path / "data"
    shutil.copytree(fashion_mnist_folder(), fashion_mnist_folder(copy))
    assert cache_key(TINY, root=copy) == key  # the key reads the files' bytes, not where they are
    images = fashion_mnist_folder(copy) / "train-images-idx3-ubyte"
    raw = bytearray(images.read_bytes())
    raw[16 + 784 * 3 + 400] ^= 0xFF  # one pixel of the fourth image
    images.write_bytes(bytes(raw))
    assert data_fingerprint(copy) != data_fingerprint() and cache_key(TINY, root=copy) != key

    package = tmp_path / "alexnet_lib"
    shutil.copytree(cache.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    assert library_fingerprint(package) == library_fingerprint()
    with (package / "training.py").open("a") as f:
        f.write("\n# a student's edit\n")
    assert library_fingerprint(package) != library_fingerprint()
    monkeypatch.setattr(cache, "library_fingerprint", lambda: library_fingerprint(package))
    assert cache_key(TINY) != key
    monkeypatch.undo()

    assert cache_key(TINY, test=False) != key and cache_key(TINY, device="meta") != key
    monkeypatch.setattr(torch, "__version__", "0.0.1")
    assert cache_key(TINY) != key
    monkeypatch.undo()
    monkeypatch.setattr(cache, "machine_name", lambda device: "a 2-core CPU without bf16")
    assert cache_key(TINY) != key


def test_a_file_of_the_right_name_holding_another_key_is_not_served(tmp_path, trainings, capsys):
    train_once(TINY, device="cpu", folder=tmp_path, progress=False)
    (path,) = tmp_path.glob("*.pt")
    kept = load_checkpoint(path, model=TINY.build_model())
    save_checkpoint(path, kept.model, history=kept.history, **{**kept.meta, "cache_key": "0" * 64})
    train_once(TINY, device="cpu", folder=tmp_path, progress=False)
    assert len(trainings) == 2 and "trained in" in capsys.readouterr().out


def test_a_damaged_entry_is_said_in_one_sentence_and_trained_again(tmp_path, trainings, capsys):
    train_once(TINY, device="cpu", folder=tmp_path, progress=False)
    (path,) = tmp_path.glob("*.pt")
    path.write_bytes(path.read_bytes()[:100])  # cut short, as by a full disk
    capsys.readouterr()
    trained = train_once(TINY, device="cpu", folder=tmp_path, progress=False)
    said = capsys.readouterr().out.splitlines()
    assert said[0].startswith("lenet: the kept model could not be read (") and said[0].endswith("training it again.")
    assert len(trainings) == 2 and trained.history.attrs["test_acc"] >= 0
    train_once(TINY, device="cpu", folder=tmp_path, progress=False)
    assert len(trainings) == 2  # the entry was written again, whole


def test_a_folder_that_cannot_be_written_still_returns_the_model(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    trained = train_once(TINY, device="cpu", folder=blocker, progress=False)
    assert "not kept (" in capsys.readouterr().out and len(trained.history) == 1


def test_the_folder_keeps_only_the_newest_entries(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "KEEP", 2)
    for seed in range(3):
        train_once(replace(TINY, seed=seed), device="cpu", folder=tmp_path, progress=False)
    kept = {load_checkpoint(p, model=TINY.build_model()).history.attrs["seed"] for p in tmp_path.glob("*.pt")}
    assert kept == {1, 2}
