"""Choose the learning rate of each of notebook 08's five small networks on the validation images, never the test.

    ALEXNET_PROFILE=cpu .venv/bin/python benchmarks/tune_08_race.py     # ten runs, about 5 min on 2 cores

Notebook 08 races LeNet and four small networks built from the successors' blocks with one recipe: LeNet's
under the profile, at half its epochs. Only the learning rate may differ. Here each network, built by the
notebook's own cells (``bench_profiles.small_networks``), trains with seed 0 at each rate of ``RATES`` and is
scored by its validation accuracy after the last epoch; no test image is read. The rate with the better
validation accuracy is the notebook's (``learning_rates`` in its race cell; a test holds the two equal). Each run
is one row of ``benchmarks/tuning_08_race_<profile>.csv``, with machine and date.
"""

from __future__ import annotations

import csv
import datetime
from dataclasses import replace
from pathlib import Path

from bench_profiles import small_networks

from alexnet_lib.config import get_config
from alexnet_lib.course.reference import machine_name
from alexnet_lib.recipes import recipe, train_recipe

RATES = (0.1, 0.03)
FIELDS = ["network", "lr", "seed", "epochs", "val_acc", "seconds", "machine", "date"]


def race_recipe(profile: str):
    """Notebook 08's race: LeNet's recipe under ``profile``, at half its epochs."""
    lenet = recipe("lenet", profile)
    return replace(lenet, epochs=max(1, lenet.epochs // 2), budget=None)


def main() -> None:
    profile = get_config().profile.name
    race = race_recipe(profile)
    print(race.describe())
    rows, networks = [], small_networks()  # runs 08's cells once
    for name, build in networks.items():
        for lr in RATES:
            history = train_recipe(replace(race, lr=lr), model=build(), test=False, progress=False, announce=False).history
            rows.append({"network": name, "lr": lr, "seed": race.seed, "epochs": len(history),
                         "val_acc": round(float(history["val_acc"].iloc[-1]), 4),
                         "seconds": round(float(history["seconds"].sum()), 1), "machine": machine_name(),
                         "date": datetime.date.today().isoformat()})
            print(rows[-1], flush=True)
    path = Path(__file__).with_name(f"tuning_08_race_{profile}.csv")
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    best = {name: max((r for r in rows if r["network"] == name), key=lambda r: r["val_acc"])["lr"] for name in networks}
    print(f"wrote {path.name}; chosen on validation: {best}")


if __name__ == "__main__":
    main()
