"""Tune the `cpu` recipes on the validation images, then test the chosen ones, once, over three seeds.

    ALEXNET_PROFILE=cpu .venv/bin/python benchmarks/tune_on_validation.py            # every model, ~25 min on 2 cores
    ALEXNET_PROFILE=cpu .venv/bin/python benchmarks/tune_on_validation.py lenet      # one model

For each model, every setting of its grid (learning rate, augmentation, weight decay, batch size,
epochs) trains once (seed 0) and is scored by its validation
accuracy after the last epoch; no test image is read. The setting with the best validation
accuracy is then trained with seeds 0, 1 and 2, and only these runs are tested, once each, after
their last epoch. A grid may have rounds (settings added after a first look at validation): each
round's best is a finalist, trained with the three seeds, and the finalist with the best mean
validation accuracy over its seeds is the recipe (one seed's validation score on 500 images
moves by a point from seed to seed; three seeds' mean less). Each run is one row of ``benchmarks/tuning_<profile>.csv`` (machine and date
in every row); the script prints the rows and, per model, the chosen setting's mean and spread
(the smallest to the largest of the three seeds). A setting this machine already ran, with the
same seed, is read back from the CSV instead of trained again (delete its rows to re-run it).
"""

from __future__ import annotations

import csv
import itertools
import datetime
import sys
from dataclasses import replace
from pathlib import Path

import torch

from alexnet_lib.config import get_config
from alexnet_lib.course.reference import machine_name
from alexnet_lib.recipes import recipe, train_recipe
from alexnet_lib.training import TrainingDiverged

AUGMENT = {  # augmentation name: changes to a recipe (a 28×28 LeNet crops at 28, alexnet_cpu at 64)
    "none": lambda side: {"flip": False, "crop": None, "padding": 0},
    "flips": lambda side: {"flip": True, "crop": None, "padding": 0},
    "flips + crops (padding 2)": lambda side: {"flip": True, "crop": side, "padding": 2},
    "flips + crops (padding 4)": lambda side: {"flip": True, "crop": side, "padding": 4},
}
CROPS = "flips + crops (padding 2)"
LONGER = (40, 60, 80)  # the last round of each: the epochs, at the recipe chosen before it (40: the budget's cap)
GRIDS = {  # run name: (model, model arguments, rounds); a round: learning rates × augmentations × weight decays × batches
    # × epochs
    "lenet": ("lenet", {"activation": "relu"}, [((0.03, 0.1, 0.3), ("none", CROPS), (0.0,), (128,), (40,)),
                                                ((0.1,), (CROPS,), (0.0,), (128,), LONGER)]),
    "lenet_sigmoid": ("lenet", {"activation": "sigmoid"}, [((0.1, 0.3, 1.0), (CROPS,), (0.0,), (128,), (40,)),
                                                           ((1.0,), (CROPS,), (0.0,), (128,), LONGER)]),
    "alexnet_cpu": ("alexnet_cpu", {}, [
        ((0.01, 0.02, 0.05), ("flips", CROPS, "flips + crops (padding 4)"), (5e-4, 5e-3), (128,), (40,)),
        ((0.01, 0.02, 0.05), (CROPS,), (5e-4,), (64,), (40,)),  # round 3: twice the steps, round 2's best
        ((0.02,), (CROPS,), (5e-4,), (128,), LONGER),  # round 4: longer, at round 2's recipe
    ]),
}
SETTING = ["lr", "augmentation", "weight_decay", "batch_size", "epochs"]
SEEDS = (0, 1, 2)
FIELDS = ["run", *SETTING, "seed", "val_acc", "test_acc", "seconds", "diverged", "chosen", "machine", "date"]


def train(name: str, lr: float, augmentation: str, weight_decay: float, batch_size: int, epochs: int, seed: int,
          test: bool) -> dict:
    model, kwargs, _ = GRIDS[name]
    base = recipe(model, get_config().profile, **kwargs)
    r = replace(base, lr=lr, weight_decay=weight_decay, batch_size=batch_size, epochs=epochs, seed=seed,
                **AUGMENT[augmentation](base.resize or 28))
    try:
        history = train_recipe(r, test=test, progress=False, announce=False).history
    except TrainingDiverged as diverged:  # a rate too large: the run counts as 0% on validation
        history, test = diverged.history, False
        history.loc[len(history), "val_acc"] = 0.0
    return {"run": name, "lr": lr, "augmentation": augmentation, "weight_decay": weight_decay, "batch_size": batch_size, "epochs": epochs, "seed": seed,
            "val_acc": round(float(history["val_acc"].iloc[-1]), 4),
            "test_acc": round(float(history.attrs["test_acc"]), 4) if test else "",
            "seconds": round(history.attrs["seconds"], 1), "diverged": "diverged" in history.attrs}


def main(names: list[str]) -> int:
    unknown = [n for n in names if n not in GRIDS]
    if unknown:
        print(f"error: no grid named {', '.join(unknown)}; choose from {', '.join(GRIDS)}.", file=sys.stderr)
        return 2
    cfg = get_config()
    print(cfg.describe(), flush=True)
    stamp = {"machine": machine_name(cfg.device), "date": datetime.date.today().isoformat()}
    path = Path(__file__).with_name(f"tuning_{cfg.profile.name}.csv")
    kept = [{"batch_size": "128", **row} for row in csv.DictReader(path.open())] if path.exists() else []
    rows = [row for row in kept if row["run"] not in (names or GRIDS)]

    def run(name: str, setting: tuple, seed: int, test: bool) -> dict:
        """A row of the CSV: this machine's earlier run of the same setting and seed where there is one, else a new run."""
        for row in kept:
            if (row["run"], row["seed"], row["machine"], bool(row["test_acc"])) == (name, str(seed), stamp["machine"], test) \
                    and [float(row[k]) if k != "augmentation" else row[k] for k in SETTING] == list(setting):
                return {**row, "val_acc": float(row["val_acc"])}
        return {**train(name, *setting, seed, test=test), **stamp}

    for name in names or GRIDS:
        finalists, ran = [], {}  # a setting in two rounds (round 4 repeats round 2's best) is run and written once

        def once(setting: tuple, seed: int, test: bool, name: str = name, ran: dict = ran) -> dict:
            if (setting, seed, test) not in ran:
                ran[setting, seed, test] = {**run(name, setting, seed, test), "chosen": "finalist" if test else ""}
            return ran[setting, seed, test]

        for axes in GRIDS[name][2]:  # each round's best on validation is a finalist
            settings = list(itertools.product(*axes))
            grid = [once(setting, 0, test=False) for setting in settings]
            for row in grid:
                print(row, flush=True)
            best = settings[max(range(len(grid)), key=lambda i: grid[i]["val_acc"])]  # no test image read so far
            seeds = [once(best, seed, test=True) for seed in SEEDS]
            if seeds not in finalists:
                finalists.append(seeds)
        rows += list(ran.values())
        # the finalist with the best validation accuracy over its seeds is the recipe
        chosen = max(finalists, key=lambda seeds: sum(float(row["val_acc"]) for row in seeds))
        for seeds in finalists:
            val = torch.tensor([float(row["val_acc"]) for row in seeds])
            test = torch.tensor([float(row["test_acc"]) for row in seeds])
            for row in seeds:
                row["chosen"] = "yes" if seeds is chosen else "finalist"
            best = seeds[0]
            print(f"{name} ({'chosen' if seeds is chosen else 'finalist'}): lr {best['lr']}, {best['augmentation']}, weight decay "
                  f"{best['weight_decay']}, batch {best['batch_size']}, {best['epochs']} epochs; over seeds {SEEDS}: validation {val.mean():.1%} "
                  f"({val.min():.1%} to {val.max():.1%}), test {test.mean():.1%} ({test.min():.1%} to {test.max():.1%})", flush=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
