"""A notebook's code cells run outside Jupyter: the tests and the benchmarks take a notebook's own code from here.

    >>> one_cell(["a = 1", "b = a + 1"], "b =")
    'b = a + 1'
    >>> defined_by_cells(["a = 1", "b = a + 1"], ["a =", "b ="], {})["b"]
    2
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import nbformat


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
