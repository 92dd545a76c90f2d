"""Time budgets of the profiles: measured speeds × the images each notebook trains on = minutes per notebook.

The ``cpu`` profile must run every notebook within 10 minutes on a 2-core laptop CPU in float32
(AVX2, no bf16), the ``gpu`` profile within 5 minutes on a Colab T4, both with the full 60,000 /
10,000 images on disk. This script measures, on this machine and with the arithmetic the trainer
chooses here, training and test images per second of the networks the notebooks train (08's
five small ones built by its own cells), and multiplies them by each notebook's training runs under a profile (from the recipes, for the full
data set). An AVX2 laptop can be imitated on a newer CPU:

    ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 python benchmarks/bench_profiles.py --profile cpu

Run: python benchmarks/bench_profiles.py [--profile cpu|gpu] [--batches N] [--speed MODEL=TRAIN/TEST ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from alexnet_lib import models
from alexnet_lib.callbacks import choose_precision
from alexnet_lib.course.evaluation import evaluate
from alexnet_lib.course.reference import machine_name
from alexnet_lib.course.tables import layer_table
from alexnet_lib.data import validation_size
from alexnet_lib.recipes import epochs_for_budget, recipe, train_recipe

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from notebook_cells import code_cells, defined_by_cells  # noqa: E402 (a sibling folder's script, found through the line above)

FULL = (60_000, 10_000)
NOTEBOOK_08 = Path(__file__).resolve().parent.parent / "notebooks" / "08_recap.ipynb"
SMALL_NETWORKS = ["def vgg_block(", "def nin_block(", "class Inception(", "class Residual(", "small_networks = {"]


def small_networks() -> dict[str, Callable[[], nn.Module]]:
    """Notebook 08's race, ``name -> build()``: its own cells that define the blocks and the networks, run here."""
    scope = defined_by_cells(code_cells(NOTEBOOK_08), SMALL_NETWORKS, {"pd": pd, "layer_table": layer_table, "models": models})
    return {name: (lambda name=name: scope["build"](name)) for name in scope["small_networks"]}


def speeds(name: str, profile: str, batches: int, build: Callable[[], nn.Module] | None = None) -> tuple[float, float]:
    """Training and test images per second of ``name``'s recipe here (after a warm-up epoch); ``build``: train the
    model it builds (one of notebook 08's small networks) by LeNet's recipe instead."""
    r = recipe(name if build is None else "lenet", profile)
    r = replace(r, subset=(r.batch_size * batches, r.batch_size * batches), epochs=2)
    model, history, data = train_recipe(r, model=None if build is None else build(), test=False, progress=False,
                                        announce=False)
    start = time.perf_counter()
    result = evaluate(model, data.val)
    return float(history["images_per_s"].iloc[-1]), result["images"] / (time.perf_counter() - start)


def notebook_runs(profile: str) -> dict[str, list[tuple[str, int, int]]]:
    """Per notebook, its training runs as (model, training images seen, images evaluated), full data set: each run
    validates after every epoch and is tested once, at the end."""
    def run(name: str, **kw) -> tuple[str, int, int]:
        r = replace(recipe(name, profile), **kw)
        epochs = epochs_for_budget(r.budget, r.subset[0], on_disk=FULL[0]) if r.budget else r.epochs
        images = min(r.subset[0] or FULL[0], FULL[0])
        val, test = validation_size(images), min(r.subset[1] or FULL[1], FULL[1])
        return name, epochs * (images - val), epochs * val + test

    alexnet = "alexnet_d2l" if profile == "gpu" else "alexnet_cpu"
    val = validation_size(FULL[0])
    race_epochs = max(1, run("lenet")[1] // (FULL[0] - val) // 2)  # 08's race: half of LeNet's epochs, each network
    race = [(f"08 {name}", race_epochs * (FULL[0] - val), race_epochs * val + FULL[1]) for name in small_networks()]
    # 06: 4 settings × 3 seeds, 20 epochs of 469 images, 156 validating each epoch; then the 625 scored once more
    study = ("alexnet_cpu", 12 * 469 * 20, 12 * (20 * 156 + 625))
    return {
        "02_lenet": [run("lenet")],
        "03_relu_vs_sigmoid": [run("lenet")] * 16,  # the sweep's 8, 3 seeds × 2 at the chosen rates, 2 with max pooling
        "06_training_alexnet": [run(alexnet), study, run("lenet")],
        "07_inside_alexnet": [run("alexnet_cpu")],
        "08_recap": [run("lenet"), run(alexnet), *race],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="cpu", choices=["cpu", "gpu"])
    parser.add_argument("--batches", type=int, default=8, help="batches per speed measurement")
    parser.add_argument("--speed", action="append", default=[],
                        help="MODEL=TRAIN/TEST images/s to use instead of measuring (e.g. for a GPU estimated from another)")
    args = parser.parse_args()
    runs = notebook_runs(args.profile)
    given = {k: tuple(map(float, v.split("/"))) for k, v in (s.split("=") for s in args.speed)}
    print(f"machine: {machine_name()}; torch {torch.__version__}; {choose_precision('cpu').describe()} on the CPU")
    rates, race = {}, small_networks()
    for name in sorted({m for rs in runs.values() for m, _, _ in rs}):
        build = race.get(name.removeprefix("08 ")) if name.startswith("08 ") else None
        rates[name] = given.get(name) or speeds(name, args.profile, args.batches if name != "alexnet_d2l" else 2, build)
        print(f"{name:14s} {rates[name][0]:>9,.0f} training images/s {rates[name][1]:>9,.0f} test images/s", flush=True)
    print(f"\nprofile {args.profile}, full data set (60,000 / 10,000): training time per notebook")
    for notebook, rs in runs.items():
        seconds = sum(train / rates[m][0] + test / rates[m][1] for m, train, test in rs)
        parts = ", ".join(f"{rs.count(r)} × {r[0]} {r[1]:,}+{r[2]:,}" for r in dict.fromkeys(rs))
        print(f"{notebook:22s} {seconds / 60:5.1f} min   ({parts} training+test images)")


if __name__ == "__main__":
    main()
