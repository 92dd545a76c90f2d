"""Execute every notebook under one profile and report each one's time and the accuracies it reached.

    python tools/profile_check.py --profile gpu            # make gpu-check: on a CUDA machine
    python tools/profile_check.py --profile cpu            # the laptop profile, full size
    export ALEXNET_MAX_IMAGES=256 ALEXNET_MAX_EPOCHS=1 ALEXNET_DEVICE=cpu   # then, capped:
    python tools/profile_check.py --profile gpu --no-tests
    python tools/profile_check.py --profile ci --no-tests --record "2-core Intel Xeon (avx512_bf16)"
    python tools/profile_check.py --profile cpu --no-tests --in-place   # make notebooks: the committed outputs

Each notebook runs in a fresh kernel with ``ALEXNET_PROFILE`` set; every ``fit`` call appends its
final figures to a run log (``ALEXNET_RUN_LOG``), read back for the report. The executed copies
go to ``build/profile-check/<profile>/`` (the committed notebooks are not touched). The models
they train are kept for the notebooks after them (:mod:`alexnet_lib.runs.cache`) in a folder that
starts empty, as on a learner's first pass, or in ``ALEXNET_CACHE`` when it is set. Then, unless
``--no-tests``, the unit tests and doctests run on the same machine. The exit status is 1 when a
notebook or a test failed.

``--in-place`` writes each executed notebook back over the committed one instead, with a label
(the markdown cell tagged ``outputs-label``, right after the cell that printed ``cfg.describe()``)
that says which profile, machine, date, PyTorch and data size the outputs come from.

``--record MACHINE`` also writes each notebook's time into ``benchmarks/notebook_times.csv``
(one row per notebook, profile and machine, replaced when measured again), the table that
TEACHING.md's run times are checked against. Record only runs on a quiet machine and name the
machine precisely (CPU model and cores, or the GPU).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent


def execute_notebook(path: Path, env: dict[str, str], timeout: int = 1800) -> nbformat.NotebookNode:
    """Run the notebook at ``path`` in a fresh kernel with environment ``env``; return it executed.

    Raises ``CellExecutionError`` (naming the cell) at the first cell that fails.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=env)
    return nb


def profile_env(profile: str, **extra: str) -> dict[str, str]:
    """This process's environment with ``ALEXNET_PROFILE=profile`` (and ``CI`` removed, which would choose ci)."""
    env = {**os.environ, "ALEXNET_PROFILE": profile, "MPLBACKEND": "agg", **extra}
    env.pop("CI", None)
    return env


def _runs_text(log: Path) -> str:
    if not log.exists():
        return "no training"
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    def accuracy(r: dict) -> str:  # NaN: no validation images, or the test was not run
        val = f"val {r['val_acc']:.1%}" if r["val_acc"] == r["val_acc"] else "no validation"
        return val + (f", test {r['test_acc']:.1%}" if r["test_acc"] == r["test_acc"] else "")

    return "; ".join(f"{r['model']} {accuracy(r)} ({r['epochs']} ep, {r['seconds']:.0f} s)" for r in runs)


TIMES = ROOT / "benchmarks" / "notebook_times.csv"
TIME_FIELDS = ["notebook", "profile", "seconds", "images_on_disk", "machine", "date"]


def record_times(times: dict[str, float], profile: str, machine: str, path: Path = TIMES) -> None:
    """Write ``times`` (notebook stem -> seconds) into the CSV at ``path``, replacing older rows of the same machine."""
    from alexnet_lib.data import fashion_mnist_counts  # the library is installed; only this function needs it

    rows = list(csv.DictReader(path.open())) if path.exists() else []
    rows = [r for r in rows if not (r["notebook"] in times and r["profile"] == profile and r["machine"] == machine)]
    counts = fashion_mnist_counts()
    on_disk = counts["train"] if counts else ""
    today = datetime.date.today().isoformat()
    rows += [{"notebook": name, "profile": profile, "seconds": f"{seconds:.0f}", "images_on_disk": on_disk,
              "machine": machine, "date": today} for name, seconds in times.items()]
    rows.sort(key=lambda r: (r["profile"], r["machine"], r["notebook"]))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TIME_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


LABEL_TAG = "outputs-label"


def outputs_label(profile: str, machine: str, date: str, torch_version: str, counts: dict[str, int]) -> str:
    """The sentence that says where a notebook's committed outputs come from."""
    text = (f"*The outputs on this page come from a run under the `{profile}` profile on {date}: {machine}, "
            f"PyTorch {torch_version}, with {counts['train']:,} training and {counts['test']:,} test images of "
            "Fashion-MNIST on disk (the offline copy the course is tested with; the full data set has 60,000 and "
            "10,000). Run it yourself and the timings, and a little the accuracies, will differ; with the full data set, on "
            "which the recipes run fewer and longer epochs, the accuracies too.*")
    return textwrap.fill(text, width=96)


def label_outputs(nb: nbformat.NotebookNode, profile: str) -> None:
    """Put the outputs' label right after the cell that printed ``cfg.describe()``, replacing an older one."""
    import torch  # only the label needs it

    from alexnet_lib.course.reference import machine_name
    from alexnet_lib.data import fashion_mnist_counts

    today, version = datetime.date.today().isoformat(), torch.__version__.split("+")[0]
    text = outputs_label(profile, machine_name("cpu"), today, version, fashion_mnist_counts())
    nb.cells = [c for c in nb.cells if LABEL_TAG not in c.metadata.get("tags", [])]
    at = next(i for i, c in enumerate(nb.cells)
              if any("profile   :" in output.get("text", "") for output in c.get("outputs", [])))
    nb.cells.insert(at + 1, nbformat.v4.new_markdown_cell(text, id=LABEL_TAG, metadata={"tags": [LABEL_TAG]}))


def check_notebooks(profile: str, names: list[str], out: Path | None, times: dict[str, float] | None = None) -> bool:
    """Execute the notebooks; print one line each (time, runs); return whether all ran without error.

    Each executed copy goes into ``out``, or, with ``out=None``, over the notebook itself, labelled. Each notebook's
    seconds go into ``times`` (when given), by notebook stem.
    """
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    ok = True
    # the kept models: ALEXNET_CACHE's (those of an earlier call), else a folder that starts empty, as on a learner's
    # first pass, shared by the notebooks of this call and deleted with it
    fresh = None if os.environ.get("ALEXNET_CACHE") else tempfile.TemporaryDirectory(prefix="trained-")
    cache = fresh.name if fresh else os.environ["ALEXNET_CACHE"]
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        if names and not any(path.stem.startswith(n) for n in names):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "runs.jsonl"
            start = time.perf_counter()
            try:
                env = profile_env(profile, ALEXNET_RUN_LOG=str(log), ALEXNET_CACHE=cache)
                nb = execute_notebook(path, env)
                if out is None:
                    label_outputs(nb, profile)
                nbformat.write(nb, out / path.name if out is not None else path)
                status = "ok"
            except CellExecutionError as error:
                ok, status = False, f"FAILED: {str(error).strip().splitlines()[-1]}"
            seconds = time.perf_counter() - start
            if times is not None and status == "ok":
                times[path.stem] = seconds
            print(f"{path.stem:36s} {seconds:7.1f} s  {status}  {_runs_text(log)}", flush=True)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="gpu", choices=["ci", "cpu", "gpu"])
    parser.add_argument("--notebooks", nargs="*", default=[], help="name prefixes, e.g. 06 07 (default: all)")
    parser.add_argument("--no-tests", action="store_true", help="skip the unit tests and doctests")
    parser.add_argument("--out", type=Path, default=None, help="folder for the executed copies")
    parser.add_argument("--in-place", action="store_true", help="write each executed notebook over itself, labelled")
    parser.add_argument("--record", metavar="MACHINE", help="write the times into benchmarks/notebook_times.csv")
    args = parser.parse_args(argv)
    out = None if args.in_place else args.out or ROOT / "build" / "profile-check" / args.profile
    print(f"profile {args.profile}: executing notebooks into {out or 'notebooks/ (in place)'}", flush=True)
    times: dict[str, float] = {}
    ok = check_notebooks(args.profile, args.notebooks, out, times)
    if args.record:
        record_times(times, args.profile, args.record)
        print(f"recorded {len(times)} times in {TIMES.relative_to(ROOT)}", flush=True)
    if not args.no_tests:
        tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", "alexnet_lib",
                                "--deselect", "tests/test_notebooks_profiles.py"], cwd=ROOT, env=profile_env("ci"))
        ok = ok and tests.returncode == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
