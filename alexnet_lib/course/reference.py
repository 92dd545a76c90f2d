"""Reference results: learning curves of runs under the ``cpu`` profile, committed as CSV files beside the live ones.

A notebook run by a learner may train for less (under ``ci``, for seconds; with caps), or on
another machine or data set. So ``tools/reference_runs.py`` trains the course's recipes under
the ``cpu`` profile, and writes each history to ``alexnet_lib/reference/<profile>-<run>.csv`` with
where it came from in every row: machine, date, torch version, data and recipe; and the test
figures, measured once after the last epoch, in every row too. The notebooks plot these beside
their own run, labelled as reference.

>>> table = reference_histories("cpu")
>>> sorted(table)[:2], {"epoch", "val_acc", "test_acc", "machine", "date", "recipe"} <= set(table["lenet"].columns)
(['alexnet_cpu', 'lenet'], True)
"""

from __future__ import annotations

import datetime
import platform
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import torch
from matplotlib.figure import Figure

from .plots import new_figure
from ..callbacks import cpu_has_native_bf16

__all__ = ["REFERENCE_DIR", "cpu_model", "machine_name", "plot_against_reference", "reference_histories", "reference_label", "write_reference"]

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"  # alexnet_lib/reference/, package data
PROVENANCE = ["machine", "date", "torch", "data", "recipe"]


def machine_name(device: str | torch.device = "cpu") -> str:
    """The machine in words: the GPU's name, or the CPU's model, cores and bf16 support.

    >>> "CPU" in machine_name("cpu") or "core" in machine_name("cpu")
    True
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_model()}, {torch.get_num_threads()} cores, {'bf16' if cpu_has_native_bf16() else 'no bf16 (AVX2 or older)'}"


def cpu_model() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else what ``platform`` knows.

    >>> isinstance(cpu_model(), str)
    True
    """
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_reference(history: pd.DataFrame, profile: str, run: str, *, data: str, recipe: str, device: str = "cpu",
                    folder: Path | None = None) -> Path:
    """Write ``history`` as the reference run ``run`` of ``profile``, with its test figures and provenance in every row."""
    table = history.copy()
    table["test_loss"], table["test_acc"] = history.attrs.get("test_loss"), history.attrs.get("test_acc")
    table["machine"] = machine_name(device)
    table["date"] = datetime.date.today().isoformat()
    table["torch"] = torch.__version__
    table["data"] = data
    table["recipe"] = recipe
    path = (REFERENCE_DIR if folder is None else folder) / f"{profile}-{run}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, float_format="%.6g")
    return path


def reference_histories(profile: str, folder: Path | None = None) -> dict[str, pd.DataFrame]:
    """The committed reference runs of ``profile``, by run name (empty if there are none)."""
    folder = REFERENCE_DIR if folder is None else folder
    return {path.stem.split("-", 1)[1]: pd.read_csv(path) for path in sorted(folder.glob(f"{profile}-*.csv"))}


def reference_label(history: pd.DataFrame) -> str:
    """Where a reference run comes from, in one line: data, machine, date and torch version.

    >>> reference_label(pd.DataFrame({"data": ["offline subset"], "machine": ["a CPU"], "date": ["2026-11-29"], "torch": ["2.15.0"]}))
    'offline subset; a CPU, 2026-11-29, torch 2.15.0'
    """
    first = history.iloc[0]
    return f"{first['data']}; {first['machine']}, {first['date']}, torch {first['torch']}"


def plot_against_reference(live: Mapping[str, pd.DataFrame], reference: Mapping[str, pd.DataFrame], title: str = "",
                           column: str = "val_acc") -> Figure:
    """Two panels of ``column`` against epochs: this run's histories, and the reference runs (labelled as such, with the
    epochs they ran: a panel of longer runs says so)."""
    fig = new_figure(figsize=(9, 3.2), dpi=90, layout="constrained")
    panels = fig.subplots(1, 2, sharey=True)
    longer = max(map(len, reference.values()), default=0) > max(map(len, live.values()), default=0)
    headings = ("this run", "reference (longer run)" if longer else "reference")
    for ax, runs, heading in zip(panels, (live, reference), headings):
        for label, h in runs.items():
            ax.plot(h["epoch"], h[column], marker=".", label=label)
        ax.set(xlabel="epoch", title=heading, ylim=(0, 1))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    panels[0].set_ylabel(column.replace("val_", "validation ").replace("_", " ").replace("acc", "accuracy"))
    if reference:
        fig.supxlabel(f"reference: {reference_label(next(iter(reference.values())))}", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
