"""Train the reference runs that notebooks 06 and 08 plot beside their own, and commit them as CSV.

    ALEXNET_PROFILE=cpu python tools/reference_runs.py      # make references
    ALEXNET_PROFILE=gpu python tools/reference_runs.py alexnet_d2l   # the gpu recipe of the book's AlexNet

Each run is a recipe of the active profile, trained with seed 0 on the data on disk: ``lenet``
and ``alexnet_cpu`` for notebooks 06 and 08, and ``lenet_sigmoid`` for notebook 03, the sigmoid
LeNet at the learning rate chosen on the validation images by ``benchmarks/tune_on_validation.py``
under ``cpu`` on the offline subset: 1.0 (84.2% on validation; 0.3 gave 80.6%, 0.1 78.6%;
``benchmarks/tuning_cpu.csv``). Each
run validates after every epoch and is tested once, at the end. Its history goes to
``alexnet_lib/reference/<profile>-<run>.csv`` with its test figures, the machine, date, torch
version, data and recipe in every row (``alexnet_lib.course.reference``).
"""

from __future__ import annotations

import sys

from dataclasses import replace

from alexnet_lib.config import get_config
from alexnet_lib.data import fashion_mnist_counts, validation_size
from alexnet_lib.recipes import recipe, train_recipe
from alexnet_lib.course.reference import write_reference
from alexnet_lib.course.plots import format_history

RUNS = {  # run name: (model, changes to its recipe, changes to its model)
    "lenet": ("lenet", {}, {}),
    "lenet_sigmoid": ("lenet", {"lr": 1.0}, {"activation": "sigmoid"}),
    "alexnet_cpu": ("alexnet_cpu", {}, {}),
    "alexnet_d2l": ("alexnet_d2l", {}, {}),  # the gpu profile's AlexNet: ALEXNET_PROFILE=gpu ... alexnet_d2l
}
DEFAULT_RUNS = ["lenet", "lenet_sigmoid", "alexnet_cpu"]


def data_text(train_images: int | None, test_images: int | None) -> str:
    """The images a run used, in words, from what is on disk."""
    counts = fashion_mnist_counts()
    train = counts["train"] if train_images is None else min(train_images, counts["train"])
    test = counts["test"] if test_images is None else min(test_images, counts["test"])
    source = "full Fashion-MNIST" if counts["train"] == 60_000 else f"Fashion-MNIST subset on disk ({counts['train']:,} / {counts['test']:,})"
    held = validation_size(train)
    return f"{source}: first {train:,} training ({train - held:,} to train, {held:,} to validate) and {test:,} test images"


def main(argv: list[str]) -> int:
    unknown = [run for run in argv if run not in RUNS]
    if unknown:
        print(f"error: no reference run named {', '.join(unknown)}; choose from {', '.join(RUNS)}.", file=sys.stderr)
        return 2
    cfg = get_config()
    print(cfg.describe(), flush=True)
    for run in argv or DEFAULT_RUNS:
        name, changes, model_kwargs = RUNS[run]
        r = replace(recipe(name, cfg.profile, **model_kwargs), **changes)
        print(f"\n{r.describe()}", flush=True)
        history = train_recipe(r, progress=False).history
        print(format_history(history))
        path = write_reference(history, cfg.profile.name, run, data=data_text(*r.subset),
                               recipe=r.describe(), device=cfg.device)
        print(f"wrote {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
