"""Every notebook follows the course format and is committed executed.

nbval (run by `make test`) re-executes the notebooks and compares outputs; these tests check
what nbval does not: the Colab header, the structure of the page and the committed outputs.
"""

import importlib.util

import nbformat
import pytest

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _tool():
    spec = importlib.util.spec_from_file_location("sync_colab_cells", ROOT / "tools" / "sync_colab_cells.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_notebooks():
    assert (ROOT / "notebooks" / "00_start_here.ipynb") in NOTEBOOKS


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.name)
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_colab_badge_and_install_cell_use_the_one_repository_url(notebook):
    path, nb = notebook
    tool = _tool()
    url = tool.repository_url()
    assert nb.cells[0].source.splitlines()[0] == tool.badge_line(path.name, url)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert first_code.source == tool.install_source(url), "run `make colab-cells`"


def test_install_cell_only_acts_on_colab(notebook):
    _, nb = notebook
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert 'if "google.colab" in sys.modules:' in first_code.source
    assert "torch" not in first_code.source.split("%pip install", 1)[1]  # never reinstall Colab's torch


def test_structure_title_goals_exercises_summary(notebook):
    _, nb = notebook
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert nb.cells[0].source.splitlines()[1].startswith("# "), "title right after the badge"
    for heading in ("**Learning goals**", "## Exercises", "## Summary"):
        assert heading in markdown
    assert "<details><summary>Solution</summary>" in markdown


def test_prints_profile_and_data(notebook):
    _, nb = notebook
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "get_config()" in code and ".describe()" in code


def test_committed_executed_with_outputs(notebook):
    _, nb = notebook
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code[1:]:  # the Colab install cell prints nothing off Colab
        assert cell.execution_count is not None, f"not executed: {cell.source[:60]!r}"
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), "run top to bottom once (make notebooks)"
    assert sum(1 for c in code if c.outputs) >= len(code) // 2


def test_outputs_are_comparable(notebook):
    _, nb = notebook
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert "execution" not in cell.metadata, "timing metadata: re-run with `make notebooks`"
        assert "NBVAL_IGNORE_OUTPUT" not in cell.source, "use the nbval-ignore-output tag, not a comment"
        for output in cell.outputs:
            assert output.output_type != "error", f"committed with an error: {cell.source[:60]!r}"
            assert "image/svg+xml" not in output.get("data", {}), "emit PNG figures: nbval compares SVG text"
        if "clear_output" in cell.source:
            assert "nbval-ignore-output" in cell.metadata.get("tags", []), "nbval cannot compare clear_output"
