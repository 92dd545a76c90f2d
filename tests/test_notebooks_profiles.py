"""Every notebook runs under the ``cpu`` and ``gpu`` profiles' code paths, not only under ``ci``.

nbval (``make test``) replays the notebooks under ``ci`` and compares outputs. Learners run the
other two profiles, whose recipes, models and sizes differ (the ``gpu`` profile trains the book's
AlexNet at 224×224). Here each notebook is executed under each of them, on the CPU
(``ALEXNET_DEVICE=cpu``) and with tiny caps (``ALEXNET_MAX_IMAGES``, ``ALEXNET_MAX_EPOCHS``), so
that it takes seconds. Outputs are not compared; an error in any cell fails the test and names
the cell. The executed copies are kept in memory: the committed notebooks are not touched.
"""

from __future__ import annotations

import importlib.util

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CAPS = {"ALEXNET_MAX_IMAGES": "256", "ALEXNET_MAX_EPOCHS": "1", "ALEXNET_DEVICE": "cpu"}


def _tool():
    spec = importlib.util.spec_from_file_location("profile_check", ROOT / "tools" / "profile_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def execute(path, profile: str) -> nbformat.NotebookNode:
    """Run the notebook at ``path`` in a fresh kernel under ``profile`` with the tiny caps; return it executed."""
    tool = _tool()
    return tool.execute_notebook(path, tool.profile_env(profile, **CAPS), timeout=600)


@pytest.mark.parametrize("profile", ["ci", "gpu"])
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_under_profile(path, profile):
    try:
        nb = execute(path, profile)
    except CellExecutionError as error:
        pytest.fail(f"{path.name} under ALEXNET_PROFILE={profile} (capped, on the CPU) failed:\n{error}", pytrace=False)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert f"profile   : {profile} (set by ALEXNET_PROFILE)" in printed  # every notebook prints cfg.describe()


def test_a_broken_cell_fails_the_run(tmp_path):
    """The check above can fail: a notebook with an f-string that breaks only outside ``ci`` is caught."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from alexnet_lib import get_config\n"
        "p = get_config().profile\n"
        "print(f\"{p.alexnet_input if p.name == 'ci' else 'all':,} pixels\")"  # like 06's bug: ',' with a str outside ci
    )]
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(CellExecutionError, match="Cannot specify ','"):
        execute(path, "gpu")
