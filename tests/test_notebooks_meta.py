"""Every notebook follows the course format and is committed executed.

nbval (run by `make test`) re-executes the notebooks and compares outputs; these tests check
what nbval does not: the Colab header, the structure of the page and the committed outputs.
"""

import datetime
import importlib.util
import re

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


LABEL = re.compile(r"under the `(\w+)` profile on (\d{4}-\d{2}-\d{2}): (.+?), PyTorch ([\d.]+), with ([\d,]+) training "
                   r"and ([\d,]+) test images")


def test_committed_outputs_come_from_the_cpu_profile_and_say_where_they_ran(notebook):
    """Issue 26: the outputs a reader sees are a real `cpu` run, labelled with the machine, date and data size right
    after the configuration they printed (tools/profile_check.py --in-place, `make notebooks`, writes the label)."""
    path, nb = notebook
    labels = [i for i, c in enumerate(nb.cells) if "outputs-label" in c.metadata.get("tags", [])]
    assert len(labels) == 1, f"{path.name}: one outputs-label cell expected (make notebooks writes it)"
    config = nb.cells[labels[0] - 1]
    printed = "".join(o.get("text", "") for o in config.get("outputs", []))
    profile, date, machine, _, train, test = LABEL.search(" ".join(nb.cells[labels[0]].source.split())).groups()
    assert profile == "cpu" and f"profile   : {profile} " in printed
    assert datetime.date.fromisoformat(date) <= datetime.date.today() and ("core" in machine or "GPU" in machine)
    everything = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    for trains, validates in re.findall(r"\(([\d,]+) of the training images train, ([\d,]+) validate\)", everything):
        assert int(trains.replace(",", "")) + int(validates.replace(",", "")) <= int(train.replace(",", ""))
    # A recipe that takes all the images says so with the label's count: the label is the data these outputs used.
    assert "first 2,000 training" not in everything, "ci-profile outputs are committed: run make notebooks"
