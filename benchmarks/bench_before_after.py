"""Training speed before and after a change to the library, measured in one run on one machine.

The library of ``--before`` (a git commit; default ``HEAD``) is checked out into a temporary
worktree; the working tree is "after". Each round runs, for both libraries in turn and in new
processes, the same measurements:

- ``fit``'s images/s: ``train_recipe`` of a model's ``ci`` recipe for ``--epochs`` epochs (the
  first epoch is a warm-up and is left out), ``progress=False``;
- ``bench_training.py --engine ours``: the book's AlexNet at 224×224 through our drop-in
  ``train_ch6`` for ``--batches`` batches.

Rounds alternate before/after so that a machine that slows down (another process, heat) slows
both alike; the median of the rounds is reported, with the ratio after / before.

Run: python benchmarks/bench_before_after.py --before c17ec63 [--rounds 3] [--models lenet alexnet_cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent

FIT_SNIPPET = """
import json, sys
from dataclasses import replace
from alexnet_lib.recipes import recipe, train_recipe
name, epochs = sys.argv[1], int(sys.argv[2])
history = train_recipe(replace(recipe(name, "ci"), epochs=epochs), progress=False, announce=False, device="cpu").history
print(json.dumps({"images_per_s": float(history["images_per_s"].iloc[1:].mean()), "library": __import__("alexnet_lib").__file__}))
"""


def run_library(tree: Path, args: list[str]) -> str:
    """Run ``python args`` with the library of ``tree`` first on the path; return its output."""
    env = {**os.environ, "PYTHONPATH": str(tree), "ALEXNET_PROFILE": "ci", "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args[:2])} failed in {tree}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout


def fit_speed(tree: Path, model: str, epochs: int) -> float:
    result = json.loads(run_library(tree, ["-c", FIT_SNIPPET, model, str(epochs)]).strip().splitlines()[-1])
    if not result["library"].startswith(str(tree)):
        raise RuntimeError(f"the library came from {result['library']}, not from {tree}")
    return result["images_per_s"]


def bench_training_speed(tree: Path, batches: int) -> float:
    out = run_library(tree, [str(tree / "benchmarks" / "bench_training.py"), "--engine", "ours", "--batches", str(batches)])
    return float(re.findall(r"([\d.]+) images/s", out)[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="HEAD", help="the git commit to compare with (default HEAD)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="epochs of each fit run, the first one a warm-up (default 3)")
    parser.add_argument("--batches", type=int, default=8, help="batches of bench_training.py (default 8)")
    parser.add_argument("--models", nargs="+", default=["lenet", "alexnet_cpu"])
    args = parser.parse_args(argv)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    print(f"{cpu}, {os.cpu_count()} cores; torch {torch.__version__}; before = {args.before}, after = the working tree")
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(before), args.before], cwd=ROOT, check=True, capture_output=True)
        try:
            trees = {"before": before, "after": ROOT}
            tasks = {f"fit {m} (ci recipe)": (lambda tree, m=m: fit_speed(tree, m, args.epochs)) for m in args.models}
            tasks["bench_training.py --engine ours"] = lambda tree: bench_training_speed(tree, args.batches)
            speeds: dict[tuple[str, str], list[float]] = {}
            for round_ in range(args.rounds):
                for task, measure in tasks.items():
                    for which in (("before", "after") if round_ % 2 == 0 else ("after", "before")):
                        speeds.setdefault((task, which), []).append(measure(trees[which]))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, check=False, capture_output=True)
    print("\n| measurement | before (images/s) | after (images/s) | after / before |\n| --- | ---: | ---: | ---: |")
    for task in tasks:
        b, a = statistics.median(speeds[(task, "before")]), statistics.median(speeds[(task, "after")])
        print(f"| {task} | {b:,.1f} | {a:,.1f} | {a / b:.3f} |")
    print(f"\nmedians of {args.rounds} rounds, alternating before and after")


if __name__ == "__main__":
    main()
