"""Recipes under the profiles: budgets, caps, the time estimate, and the committed reference runs."""

from __future__ import annotations

import math
import sys

import pandas as pd
import pytest
import torch
from torch import nn

from alexnet_lib.config import PROFILES
from alexnet_lib.data import BatchLoader, validation_size
from alexnet_lib.course.plots import to_numpy
from alexnet_lib.recipes import MAX_BUDGET_EPOCHS, epochs_for_budget, recipe
from alexnet_lib.course.reference import PROVENANCE, reference_histories
from alexnet_lib.training import fit
from conftest import ROOT


@pytest.mark.parametrize("on_disk", [1_000, 3_615, 20_000, 60_000])
def test_a_budget_shows_about_its_images_whatever_is_on_disk(on_disk):
    epochs = epochs_for_budget(160_000, None, on_disk=on_disk)
    assert 1 <= epochs <= MAX_BUDGET_EPOCHS
    trained = on_disk - validation_size(on_disk)  # the images an epoch trains on
    if epochs < MAX_BUDGET_EPOCHS:  # not clipped: within half an epoch of the budget
        assert abs(epochs * trained - 160_000) <= trained / 2


def test_budget_recipes_follow_the_data_on_disk(monkeypatch):
    monkeypatch.setattr("alexnet_lib.recipes.fashion_mnist_counts", lambda: {"train": 60_000, "test": 10_000})
    assert recipe("alexnet_cpu", "cpu").epochs == 3 and recipe("alexnet_d2l", "gpu").epochs == 2
    assert "(a budget of 160,000 training images)" in recipe("alexnet_cpu", "cpu").describe()
    monkeypatch.setattr("alexnet_lib.recipes.fashion_mnist_counts", lambda: {"train": 3_615, "test": 1_770})
    assert recipe("alexnet_cpu", "cpu").epochs == 40
    assert "(a budget of 160,000 training images, capped at 40 epochs)" in recipe("alexnet_cpu", "cpu").describe()


def test_every_recipe_honours_the_caps(monkeypatch):
    monkeypatch.setenv("ALEXNET_MAX_IMAGES", "256")
    monkeypatch.setenv("ALEXNET_MAX_EPOCHS", "1")
    for profile in PROFILES:
        for name in ["lenet", "alexnet_cpu", "alexnet_d2l"]:
            r = recipe(name, profile)
            assert r.epochs == 1 and r.subset[0] <= 256 and r.subset[1] <= 256, (name, profile)


def test_fit_announces_its_time_once_in_advance(capsys):
    images, labels = torch.randint(0, 256, (256, 8, 8), dtype=torch.uint8), torch.arange(256) % 2
    data = BatchLoader(images, labels, 16), BatchLoader(images, labels, 64)
    fit(nn.Sequential(nn.Flatten(), nn.Linear(64, 2)), data, epochs=3, lr=0.1, progress=False, announce=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Sequential: about ") and "for 3 epochs of 16 batches" in lines[0]


def test_to_numpy_takes_any_tensor_to_the_cpu():
    x = torch.arange(6, dtype=torch.bfloat16).reshape(2, 3)
    assert to_numpy(x).tolist() == [[0, 1, 2], [3, 4, 5]] and str(to_numpy(x).dtype) == "float32"
    if torch.cuda.is_available():
        assert to_numpy(x.cuda()).tolist() == [[0, 1, 2], [3, 4, 5]]


def test_committed_reference_runs_say_where_they_come_from_and_were_tested_once():
    runs = reference_histories("cpu")
    assert {"lenet", "lenet_sigmoid", "alexnet_cpu"} <= set(runs)
    for h in runs.values():
        assert set(PROVENANCE) <= set(h.columns) and h[PROVENANCE].nunique().max() == 1
        assert h["epoch"].tolist() == list(range(1, len(h) + 1))
        assert h["val_acc"].notna().all() and h["test_acc"].nunique() == 1  # validated every epoch, tested once


def _tuned(run: str) -> pd.DataFrame:
    """The three seeds of ``run``'s recipe chosen on validation (benchmarks/tuning_cpu.csv)."""
    table = pd.read_csv(ROOT / "benchmarks" / "tuning_cpu.csv")
    return table[(table["run"] == run) & (table["chosen"] == "yes")]


def test_alexnet_is_ahead_of_lenet_by_more_than_the_spread_over_seeds():
    alexnet, lenet = _tuned("alexnet_cpu")["test_acc"], _tuned("lenet")["test_acc"]  # each tuned on validation
    assert len(alexnet) == len(lenet) == 3
    assert alexnet.mean() - lenet.mean() > max(alexnet.std(), lenet.std())  # issue 25's target
    assert alexnet.min() > lenet.max()  # and every AlexNet seed beats every LeNet seed


def test_each_chosen_recipe_is_its_grids_best_on_validation_and_only_it_was_tested():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from tune_on_validation import GRIDS, SETTING

    table = pd.read_csv(ROOT / "benchmarks" / "tuning_cpu.csv")
    for run, rows in table.groupby("run"):
        grid, seeds = rows[rows["chosen"].isna()], rows[rows["chosen"].notna()]
        assert grid["test_acc"].isna().all(), f"{run}: a grid run read the test images"
        finalists = seeds.groupby(SETTING)
        assert all(sorted(s["seed"]) == [0, 1, 2] for _, s in finalists), run
        for axes in GRIDS[run][2]:  # each round's best on validation is a finalist
            in_round = grid[pd.concat([grid[column].isin(values) for column, values in zip(SETTING, axes)], axis=1).all(axis=1)]
            assert len(in_round) == math.prod(len(values) for values in axes), run
            best = tuple(in_round.loc[in_round["val_acc"].idxmax(), SETTING])
            assert best in finalists.groups, f"{run}: {best} was its round's best and is not a finalist"
        mean_val = finalists["val_acc"].mean()  # the chosen finalist: the best validation mean over its seeds
        chosen = seeds[seeds["chosen"] == "yes"]
        assert len(chosen) == 3 and tuple(chosen[SETTING].iloc[0]) == mean_val.idxmax(), run


def test_the_gpu_recipes_reference_validated_every_epoch_and_reached_85_percent_once_tested():
    history = reference_histories("gpu")["alexnet_d2l"]
    assert history["val_acc"].notna().all() and history["test_acc"].nunique() == 1
    assert history["test_acc"].iloc[-1] >= 0.85  # issue 25's target for the gpu recipe


@pytest.mark.xfail(strict=True, reason="issue 25: chosen on validation, alexnet_cpu averages 87.9% test accuracy over "
                                       "3 seeds on the offline subset (87.5% to 88.4%), short of the 88% target")
def test_alexnet_reaches_88_percent_on_average_over_seeds():
    assert _tuned("alexnet_cpu")["test_acc"].mean() >= 0.88


def test_notebook_03_reports_the_epoch_round_as_the_tuning_csv_has_it():
    import nbformat

    cell = next(c for c in nbformat.read(ROOT / "notebooks" / "03_relu_vs_sigmoid.ipynb", as_version=4).cells
                if c.get("id") == "sigmoid-longer")
    text = " ".join(cell.source.split())
    table = pd.read_csv(ROOT / "benchmarks" / "tuning_cpu.csv")
    grid = table[table["chosen"].isna() & (table["seed"] == 0)]
    for run, rate in [("lenet", 0.1), ("lenet_sigmoid", 1.0)]:  # the round of 40, 60 and 80 epochs at the chosen rate
        scores = [grid[(grid["run"] == run) & (grid["lr"] == rate) & (grid["epochs"] == e) & (grid["augmentation"].str.contains("crops"))
                       ]["val_acc"].item() for e in (40, 60, 80)]
        assert f"({scores[0]:.1%}, {scores[1]:.1%}, {scores[2]:.1%}" in text, run
    sigmoid, relu = _tuned("lenet_sigmoid"), _tuned("lenet")
    assert sigmoid["epochs"].eq(80).all() and relu["epochs"].eq(40).all()  # what validation chose for each
    test = sigmoid["test_acc"]
    assert f"reaches {test.mean():.1%} test accuracy ({test.min():.1%} to {test.max():.1%})" in text
    assert f"{100 * (relu['test_acc'].mean() - test.mean()):.1f} points behind ReLU's {relu['test_acc'].mean():.1%}" in text
    table = table[(table["run"] == "lenet_sigmoid") & (table["chosen"] == "finalist") & (table["epochs"] == 40)]["test_acc"]
    assert f"at equal epochs it was {100 * (relu['test_acc'].mean() - table.mean()):.1f} behind ({table.mean():.1%})" in text
