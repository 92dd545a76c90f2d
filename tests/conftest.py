"""Shared test fixtures."""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
# The tools are scripts, not a package: their tests import them by name (import build_site).
sys.path.insert(0, str(ROOT / "tools"))
# Models trained by the notebooks the tests run are kept (alexnet_lib.runs.cache): in a folder of this session, never in
# the user's cache, so that every run of the tests trains as CI does.
os.environ["ALEXNET_CACHE"] = tempfile.mkdtemp(prefix="alexnet-trained-")
atexit.register(shutil.rmtree, os.environ["ALEXNET_CACHE"], ignore_errors=True)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="module")
def one_thread():
    """Run a test module's small models on one thread: tiny layers take microseconds on one thread
    and milliseconds when threads wait on a busy machine. Restored after the module."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def code_cells(notebook: Path) -> list[str]:
    """The sources of a notebook's code cells, in order."""
    return [cell.source for cell in nbformat.read(notebook, as_version=4).cells if cell.cell_type == "code"]


def one_cell(cells: list[str], marker: str) -> str:
    """The one code cell that holds ``marker`` (a test that finds none or several fails, naming the marker)."""
    found = [source for source in cells if marker in source]
    assert len(found) == 1, f"{len(found)} code cells hold {marker!r}, expected 1"
    return found[0]


def defined_by_cells(cells: list[str], markers: list[str], scope: dict,
                     mutation: tuple[str, str] | None = None) -> dict:
    """``scope`` after running the one code cell that holds each of ``markers``, in order, printing silenced;
    ``mutation`` (old, new) first edits one line of one of them, to show a check fails on a wrong copy."""
    changed = 0
    for marker in markers:
        source = one_cell(cells, marker)
        if mutation and mutation[0] in source:
            assert source.count(mutation[0]) == 1, f"{mutation[0]!r} is not one place in the cell"
            source, changed = source.replace(*mutation), changed + 1
        with contextlib.redirect_stdout(io.StringIO()):
            exec(source, scope)
    assert not mutation or changed == 1, f"the notebook no longer has {mutation[0]!r}: update the mutation"
    return scope
