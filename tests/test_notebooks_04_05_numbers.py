"""Notebooks 04 and 05 type no result: what their text states, a cell prints; their solutions pass their checks.

A result, as the text writes it, is a number with thousands separators (60,965,224), a
percentage (73%) or a size in GiB or MiB (2.18 GiB). Each must be printed by a code cell of
the same notebook, to the precision the text gives it (96% stands for a printed 96.2%).
Solutions are left out of that test, since they state what the student computes: instead,
05's new solutions are fed to their own checks. 05's fact-check section is checked by its
own tests.
"""

import contextlib
import io
import re

import nbformat
import pytest
from torch import nn

from alexnet_lib.course import checks
from conftest import ROOT

NOTEBOOKS = ["04_pooling_normalization_dropout.ipynb", "05_alexnet_architecture.ipynb"]
FACT_CHECK, EXERCISES = "## A fact check", "## Exercises"
SOLUTION = re.compile(r"<details><summary>Solution</summary>.*?</details>", re.S)
RESULT = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?=\s?%)|\d+(?:\.\d+)?(?=\s?[GM]iB))")
NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")


def _read(name):
    return nbformat.read(ROOT / "notebooks" / name, as_version=4)


def _prose(nb):
    """The markdown outside solutions, outside 05's fact-check section and outside the label of where the outputs come
    from (its data sizes are the machine's, checked by test_notebooks_meta.py)."""
    skipping, parts = False, []
    for cell in nb.cells:
        if cell.cell_type != "markdown" or "outputs-label" in cell.metadata.get("tags", []):
            continue
        skipping = (skipping or cell.source.startswith(FACT_CHECK)) and not cell.source.startswith(EXERCISES)
        if not skipping:
            parts.append(SOLUTION.sub("", cell.source))
    return "\n".join(parts)


def _printed(nb):
    """Every number that the code cells' outputs show."""
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            texts.append(output.get("text", "") or output.get("data", {}).get("text/plain", ""))
    return {float(n.replace(",", "")) for n in NUMBER.findall("\n".join(texts))}


def _shown_as(value, text):
    decimals = len(text.partition(".")[2])
    return round(value, decimals) == float(text.replace(",", ""))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_result_in_the_text_is_printed_by_a_cell(name):
    nb = _read(name)
    printed = _printed(nb)
    typed = [t for t in RESULT.findall(_prose(nb)) if not any(_shown_as(v, t) for v in printed)]
    assert not typed, f"{name}: the text states {typed}, which no cell prints"


def test_the_text_check_finds_a_typed_number():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("it has 12,345 parameters, 96% of them")])
    assert RESULT.findall(_prose(nb)) == ["12,345", "96"] and not _printed(nb)


def _solution_after(nb, exercise):
    """The solution cell that follows the code cell that checks ``exercise``."""
    at = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and f'check(answer, "{exercise}"' in c.source)
    solution = nb.cells[at + 1].source
    assert solution.startswith("<details><summary>Solution</summary>") and solution.rstrip().endswith("</details>")
    return solution


def _run_solution(solution):
    """The answer that a solution's Python block computes."""
    block = re.search(r"```python\n(.*?)```", solution, re.S).group(1)
    scope = {"nn": nn}
    exec(block, scope)
    return scope["answer"]


def _said(check, *args, **kwargs):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        check(*args, **kwargs)
    return out.getvalue()


def test_05_unshared_conv_solution_passes_its_check_and_states_its_answer():
    solution = _solution_after(_read(NOTEBOOKS[1]), "unshared_conv_params")
    answer = _run_solution(solution)
    said = _said(checks.check_unshared_conv_params, answer, in_channels=96, out_channels=256, k=5, out_side=27)
    assert said.startswith("Right"), said
    assert f"{answer:,}" in solution
    shared = sum(p.numel() for p in nn.Conv2d(96, 256, 5).parameters())  # the other numbers the solution states
    assert f"{shared:,} shared parameters times {27 * 27} positions" in solution


def test_05_build_it_solution_is_torchvision_alexnet():
    answer = _run_solution(_solution_after(_read(NOTEBOOKS[1]), "network"))
    said = _said(checks.check_network, answer, "torchvision_alexnet")
    assert said.startswith("Right"), said


def test_05_plain_network_is_proven_equal_in_the_output():
    nb = _read(NOTEBOOKS[1])
    outputs = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert re.search(r"all \d+ layers the same: True", outputs)
    assert "same function: True" in outputs
    assert "| same function: False" in outputs  # the counter-example shows that the test can fail


def test_solution_cells_hold_only_a_solution():
    for name in NOTEBOOKS:
        for cell in _read(name).cells:
            if cell.cell_type == "markdown" and "<details><summary>Solution</summary>" in cell.source:
                assert cell.source.startswith("<details>") and cell.source.rstrip().endswith("</details>"), (
                    f"{name}: a solution cell holds more than its solution; make student would strip it all")


def _words(name):
    return " ".join(_prose(_read(name)).split())


def test_05_conv1_counts_in_the_text_are_pytorchs():
    import math

    import torch

    from alexnet_lib import models
    from alexnet_lib.course.tables import layer_table

    with torch.device("meta"):
        model = models.get("alexnet_2012")
        conv1 = model.features.conv1
        out_shape = layer_table(model, model.input_size).set_index("name").loc["features.conv1", "output_shape"]
        fully = sum(p.numel() for p in nn.Linear(math.prod(model.input_size), math.prod(out_shape)).parameters())
    shared = sum(p.numel() for p in conv1.parameters())
    local = out_shape[1] * out_shape[2] * shared  # every position its own kernels: positions × conv1
    assert f"conv1 would have {fully:,} parameters; local connectivity brings it to {local:,} and weight sharing to {shared:,}" in _words(NOTEBOOKS[1])


def test_05_names_the_convolutions_where_torchvision_differs():
    import torch

    from alexnet_lib import models

    with torch.device("meta"):
        widths = [[m.out_channels for m in models.get(n).modules() if isinstance(m, nn.Conv2d)]
                  for n in ("alexnet_2012", "torchvision_alexnet")]
    differing = [f"conv{i}" for i, (a, b) in enumerate(zip(*widths), 1) if a != b]
    assert f"fewer kernels in {', '.join(differing[:-1])} and {differing[-1]}" in _words(NOTEBOOKS[1])
