"""Notebook 01's convolution by hand: its loops and its unfold version equal ``F.conv2d``, and the
notebook's own proof cells fail on a wrong implementation, so their "equal" can be believed.

The wrong implementations are the notebook's own code with one deliberate mistake each (a
flipped kernel, zeros on two sides only, a forgotten bias, ...), the mistakes a student makes.
"""

from __future__ import annotations

import nbformat
import pytest
import torch
import torch.nn.functional as F

from alexnet_lib.course.checks import check
from alexnet_lib.shapes import conv_output_size
from conftest import ROOT


def _cell(nb, *texts: str) -> nbformat.NotebookNode:
    """The one code cell whose source contains every one of ``texts``."""
    cells = [c for c in nb.cells if c.cell_type == "code" and all(t in c.source for t in texts)]
    assert len(cells) == 1, f"{len(cells)} code cells contain {texts!r}"
    return cells[0]


def _output_text(cell) -> str:
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(ROOT / "notebooks" / "01_convolution_arithmetic.ipynb", as_version=4)


@pytest.fixture(scope="module")
def cells(nb):
    return {
        "loops": _cell(nb, "def conv2d_loops("),
        "unfold": _cell(nb, "def conv2d_unfold("),
        "setup": _cell(nb, "def random_input_and_filters("),
        "prove loops": _cell(nb, "conv2d_loops(x, weight, bias", "assert_close"),
        "prove unfold": _cell(nb, "conv2d_unfold(x, weight, bias", "assert_close"),
    }


def _namespace(cells, loops: str | None = None, unfold: str | None = None) -> dict:
    """The notebook's definitions run afresh; ``loops``/``unfold`` replace the two functions' source."""
    namespace = {"torch": torch, "F": F}
    exec(loops or cells["loops"].source, namespace)
    exec(unfold or cells["unfold"].source, namespace)
    exec(cells["setup"].source, namespace)
    return namespace


def _mutant(source: str, right: str, wrong: str) -> str:
    assert source.count(right) == 1, f"the notebook's code no longer contains {right!r} once: update this test"
    return source.replace(right, wrong)


# (a) both equal F.conv2d on fresh random cases, and the loops count the formula's MACs

CASES = [  # C_in, C_out, height, width, k, stride, padding
    (1, 1, 5, 5, 3, 1, 0), (3, 4, 7, 7, 3, 2, 1), (2, 3, 9, 6, 5, 3, 2), (4, 2, 8, 11, 2, 2, 1),
    (3, 5, 6, 6, 1, 1, 0), (2, 2, 10, 10, 4, 3, 3), (5, 3, 12, 9, 3, 1, 2), (1, 6, 4, 4, 4, 1, 0),
]


@pytest.mark.parametrize("c_in, c_out, height, width, k, s, p", CASES)
def test_loops_and_unfold_equal_conv2d_and_the_loops_count_the_formulas_macs(cells, c_in, c_out, height, width,
                                                                              k, s, p):
    namespace = _namespace(cells)
    generator = torch.Generator().manual_seed(c_in * 1000 + height * 10 + k)
    x = torch.randn(c_in, height, width, generator=generator, dtype=torch.float64)
    weight = torch.randn(c_out, c_in, k, k, generator=generator, dtype=torch.float64)
    bias = torch.randn(c_out, generator=generator, dtype=torch.float64)
    reference = F.conv2d(x[None], weight, bias, stride=s, padding=p)[0]
    loops, macs = namespace["conv2d_loops"](x, weight, bias, stride=s, padding=p)
    torch.testing.assert_close(loops, reference)
    torch.testing.assert_close(namespace["conv2d_unfold"](x, weight, bias, stride=s, padding=p), reference)
    out_h, out_w = conv_output_size(height, k, s, p), conv_output_size(width, k, s, p)
    assert reference.shape == (c_out, out_h, out_w)
    assert macs == c_in * k * k * c_out * out_h * out_w


def test_the_notebooks_settings_cover_channels_filters_stride_and_padding(cells):
    settings = _namespace(cells)["settings"]
    assert any(c_in > 1 and c_out > 1 and s > 1 and p > 0 for c_in, c_out, _, _, s, p in settings)


# (b) the notebook's proof cells pass on its code and fail on each wrong version of it

LOOP_MISTAKES = {
    "kernel flipped (a true convolution)": ("(weight[o] * window)", "(weight[o].flip(1, 2) * window)"),
    "zeros on the right and bottom only": ("F.pad(x, (padding, padding, padding, padding))",
                                           "F.pad(x, (0, 2 * padding, 0, 2 * padding))"),
    "padding forgotten": ("F.pad(x, (padding, padding, padding, padding))", "F.pad(x, (0, 0, 0, 0))"),
    "columns read with stride 1": ("j * stride : j * stride + k", "j : j + k"),
    "bias forgotten": (".sum() + bias[o]", ".sum()"),
    "first input channel only": ("window = x[:, ", "window = x[:1, "),
}
UNFOLD_MISTAKES = {
    "kernel transposed": ("weight.reshape(c_out, -1)", "weight.transpose(2, 3).reshape(c_out, -1)"),
    "bias forgotten": (" + bias[:, None]", ""),
    "rows and columns swapped": ("out.reshape(c_out, rows, cols)", "out.reshape(c_out, cols, rows).transpose(1, 2)"),
}


@pytest.mark.parametrize("proof", ["prove loops", "prove unfold"])
def test_the_proof_cells_pass_on_the_notebooks_code(cells, capsys, proof):
    namespace = _namespace(cells)
    exec(cells[proof].source, namespace)
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == len(namespace["settings"])
    assert all(line.endswith("within 1e-12 of F.conv2d: True") for line in printed)


@pytest.mark.parametrize("mistake", LOOP_MISTAKES)
def test_the_loops_proof_cell_fails_on_a_wrong_loop(cells, capsys, mistake):
    namespace = _namespace(cells, loops=_mutant(cells["loops"].source, *LOOP_MISTAKES[mistake]))
    with pytest.raises(AssertionError, match="not close|shape"):  # assert_close's own message, not a crash
        exec(cells["prove loops"].source, namespace)
    capsys.readouterr()


@pytest.mark.parametrize("mistake", UNFOLD_MISTAKES)
def test_the_unfold_proof_cell_fails_on_a_wrong_matrix_product(cells, capsys, mistake):
    namespace = _namespace(cells, unfold=_mutant(cells["unfold"].source, *UNFOLD_MISTAKES[mistake]))
    with pytest.raises(AssertionError, match="not close|shape"):
        exec(cells["prove unfold"].source, namespace)
    capsys.readouterr()


def test_a_wrong_implementation_is_not_even_close_on_a_single_setting(cells):
    """Every loop mistake is caught on the notebook's first setting (stride 2, padding 1) alone."""
    namespace = _namespace(cells)
    c_in, c_out, n, k, s, p = namespace["settings"][0]
    x, weight, bias = namespace["random_input_and_filters"](c_in, c_out, n, k)
    reference = F.conv2d(x[None], weight, bias, stride=s, padding=p)[0]
    for mistake, change in LOOP_MISTAKES.items():
        wrong = _namespace(cells, loops=_mutant(cells["loops"].source, *change))["conv2d_loops"]
        out, _ = wrong(x, weight, bias, stride=s, padding=p)
        assert out.shape != reference.shape or (out - reference).abs().max() > 1e-3, mistake


# what the notebook shows and its exercise


def test_committed_outputs_say_equal_and_the_four_counts_agree(nb):
    for texts in (("conv2d_loops(x, weight, bias", "assert_close"), ("conv2d_unfold(x, weight, bias", "assert_close")):
        lines = _output_text(_cell(nb, *texts)).splitlines()
        assert len(lines) == 3 and all(line.endswith("within 1e-12 of F.conv2d: True") for line in lines)
    counts = _output_text(_cell(nb, "the four counts agree"))
    assert not _cell(nb, "FlopCounterMode(display=False)").outputs  # the counting cell prints nothing itself
    assert "the four counts agree: True" in counts
    assert counts.count("112") == 4 and counts.count("1,728") == 4  # 3·3·3·4 + 4 and 3·3·3·4·4·4, four times


def test_the_exercise_expects_the_loops_count_and_the_solution_is_right(nb, cells, capsys):
    namespace = _namespace(cells) | {"check": check}
    exercise = _cell(nb, "answer = None  # multiply-adds for one image").source
    exec(exercise.replace("answer = None", "answer = 6 * 5 * 5 * 16 * 10 * 10"), namespace)
    assert capsys.readouterr().out.strip() == "Right: 240,000."
    exec(exercise.replace("answer = None", "answer = 6 * 5 * 5 * 16 * 14 * 14"), namespace)
    assert capsys.readouterr().out.startswith("Not quite")
    index = next(i for i, c in enumerate(nb.cells) if "answer = None  # multiply-adds for one image" in c.source)
    solution = nb.cells[index + 1].source
    assert solution.startswith("<details><summary>Solution</summary>") and "240,000" in solution
