"""Tune the `cpu` recipes on the validation images, then test the chosen ones, once, over three seeds.

    ALEXNET_PROFILE=cpu .venv/bin/python benchmarks/tune_on_validation.py            # every model, ~25 min on 2 cores
    ALEXNET_PROFILE=cpu .venv/bin/python benchmarks/tune_on_validation.py lenet      # one model

For each model, every setting of its grid trains once (seed 0) and is scored by its validation
accuracy after the last epoch; no test image is read. The setting with the best validation
accuracy is then trained with seeds 0, 1 and 2, and only these runs are tested, once each, after
their last epoch. Each run is one row of ``benchmarks/tuning_<profile>.csv`` (machine and date
in every row); the script prints the rows and, per model, the chosen setting's mean and spread
(the smallest to the largest of the three seeds).
"""

from __future__ import annotations

import csv
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
GRIDS = {  # run name: (model, model arguments, learning rates, augmentations, weight decays)
    "lenet": ("lenet", {"activation": "relu"}, (0.03, 0.1, 0.3), ("none", "flips + crops (padding 2)"), (0.0,)),
    "lenet_sigmoid": ("lenet", {"activation": "sigmoid"}, (0.1, 0.3, 1.0), ("flips + crops (padding 2)",), (0.0,)),  # as ReLU's
    "alexnet_cpu": ("alexnet_cpu", {}, (0.01, 0.02, 0.05), ("flips", "flips + crops (padding 2)", "flips + crops (padding 4)"),
                    (5e-4, 5e-3)),
}
SEEDS = (0, 1, 2)
FIELDS = ["run", "lr", "augmentation", "weight_decay", "seed", "epochs", "val_acc", "test_acc", "seconds", "diverged", "chosen", "machine", "date"]


def train(name: str, lr: float, augmentation: str, weight_decay: float, seed: int, test: bool) -> dict:
    model, kwargs, _, _, _ = GRIDS[name]
    base = recipe(model, get_config().profile, **kwargs)
    r = replace(base, lr=lr, weight_decay=weight_decay, seed=seed, **AUGMENT[augmentation](base.resize or 28))
    try:
        history = train_recipe(r, test=test, progress=False, announce=False).history
    except TrainingDiverged as diverged:  # a rate too large: the run counts as 0% on validation
        history, test = diverged.history, False
        history.loc[len(history), "val_acc"] = 0.0
    return {"run": name, "lr": lr, "augmentation": augmentation, "weight_decay": weight_decay, "seed": seed, "epochs": len(history),
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
    kept = [row for row in csv.DictReader(path.open())] if path.exists() else []
    rows = [row for row in kept if row["run"] not in (names or GRIDS)]
    for name in names or GRIDS:
        _, _, rates, augmentations, decays = GRIDS[name]
        grid = [{**train(name, lr, aug, wd, 0, test=False), "chosen": ""} for lr in rates for aug in augmentations for wd in decays]
        for row in grid:
            print(row, flush=True)
        best = max(grid, key=lambda row: row["val_acc"])  # chosen on validation: no test image read so far
        seeds = [{**train(name, best["lr"], best["augmentation"], best["weight_decay"], seed, test=True), "chosen": "yes"}
                 for seed in SEEDS]
        rows += [{**row, **stamp} for row in grid + seeds]
        val = torch.tensor([row["val_acc"] for row in seeds])
        test = torch.tensor([row["test_acc"] for row in seeds])
        print(f"{name}: lr {best['lr']}, {best['augmentation']}, weight decay {best['weight_decay']:g}; over seeds {SEEDS}: validation {val.mean():.1%} "
              f"({val.min():.1%} to {val.max():.1%}), test {test.mean():.1%} ({test.min():.1%} to {test.max():.1%})", flush=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
