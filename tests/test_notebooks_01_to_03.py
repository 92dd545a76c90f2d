"""What notebooks 01 to 03 state stays computed: their numbers against PyTorch and torchvision,
their text against their own committed outputs, their code and solutions run again here.

nbval replays each cell's output; these tests check what it cannot: that a number in the text
is one a cell prints, that the hand-written networks and the solutions are right, and that the
errors corrected once (issue 12) do not come back.
"""

from __future__ import annotations

import re

import nbformat
import pytest
import torch
import torchvision
from torch import nn

from alexnet_lib import models
from alexnet_lib.alexnet import cuda_convnet_padding
from alexnet_lib.course.checks import check_network
from alexnet_lib.course.matching import layer_match, same_function
from alexnet_lib.shapes import conv_output_size
from conftest import ROOT


def _notebook(name: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "notebooks" / name, as_version=4)


def _cell(nb, text: str, kind: str | None = None) -> nbformat.NotebookNode:
    """The one cell whose source contains ``text``."""
    cells = [c for c in nb.cells if text in c.source and kind in (None, c.cell_type)]
    assert len(cells) == 1, f"{len(cells)} cells contain {text!r}"
    return cells[0]


def _output_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def _numbers(text: str) -> set[str]:
    """The numbers a piece of prose states: not those in code spans, years, or section and figure numbers."""
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\((?:19|20)\d\d\b[^)]*\)|\b(?:Section|Figure|[Nn]otebook)s? [\d.]+", " ", text)
    return {n.replace(",", "") for n in re.findall(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])", text)}


def _printed_numbers(nb) -> set[str]:
    text = "".join(_output_text(c) for c in nb.cells if c.cell_type == "code")
    return {n.replace(",", "") for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


def _is_printed(stated: str, printed: set[str]) -> bool:
    """A whole number must be printed as it is; a decimal may be printed with more digits (0.01 as 0.0100)."""
    if "." not in stated:
        return stated in printed
    places = len(stated.split(".")[1])
    return any("." in p and len(p.split(".")[1]) >= places and round(float(p), places) == float(stated) for p in printed)


def _solution_code(nb, question: str) -> str:
    """The Python block of the solution that follows the exercise whose text contains ``question``."""
    index = next(i for i, c in enumerate(nb.cells) if question in c.source)
    solution = next(c for c in nb.cells[index:] if c.source.startswith("<details><summary>Solution</summary>"))
    return re.search(r"```python\n(.*?)```", solution.source, re.S).group(1)


@pytest.fixture(scope="module")
def nb01():
    return _notebook("01_convolution_arithmetic.ipynb")


@pytest.fixture(scope="module")
def nb02():
    return _notebook("02_lenet.ipynb")


@pytest.fixture(scope="module")
def nb03():
    return _notebook("03_relu_vs_sigmoid.ipynb")


# 01: the three routes to 55


def test_three_routes_to_55_are_real_networks_and_the_formula_agrees(one_thread):
    pad = cuda_convnet_padding(224)
    with torch.device("meta"):
        cuda_convnet = models.get("alexnet_2012").features[:2]
        caffe = models.get("alexnet_2012", input_size=227).features[:1]
        torchvision_conv1 = torchvision.models.alexnet(weights=None).features[0]
        sides = [m(torch.zeros(1, 3, n, n)).shape[-1] for m, n in
                 ((caffe, 227), (cuda_convnet, 224), (torchvision_conv1, 224))]
    assert isinstance(caffe[0], nn.Conv2d) and caffe[0].padding == (0, 0)
    assert cuda_convnet[0].padding == (0, pad, 0, pad)  # left, right, top, bottom
    padding = torchvision_conv1.padding[0]
    formula = [conv_output_size(227, 11, 4), conv_output_size(224, 11, 4, p=(0, pad)),
               conv_output_size(224, 11, 4, p=padding)]
    assert sides == formula == [55, 55, 55]
    assert conv_output_size(224, 11, 4) != 55  # the paper's 224, without padding, does not give its 55


def test_01_names_each_route_by_its_source_and_never_calls_227_the_papers(nb01):
    text = "\n".join(c.source for c in nb01.cells)
    pad1 = models.get("alexnet_2012", seed=0).features.pad1
    assert f"ZeroPad2d({pad1.padding})".replace(" ", "") in text.replace(" ", "")
    assert "Caffe's 227" in text and "cuda-convnet's 224" in text and "torchvision's 224" in text
    assert "paper (227" not in text and "padding as in the paper" not in text


def test_01_route_tables_show_55_everywhere_and_agree(nb01):
    routes = _output_text(_cell(nb01, "routes = {  # route:", "code"))
    rows = [line for line in routes.splitlines()[1:] if line.strip()]
    assert len(rows) == 3 and all(re.search(r"\s55\s+55\s", row) for row in rows), routes
    trace = _output_text(_cell(nb01, "def trace(n, conv1_padding)", "code"))
    assert "every row the same: True" in trace
    zeros = _output_text(_cell(nb01, "canvas = nn.ZeroPad2d((0, pad, 0, pad))", "code"))
    assert "zeros on the left or at the top: 0" in zeros


def test_01_solution_of_the_build_it_exercise_is_right_and_its_claims_hold(nb01, capsys, one_thread):
    namespace = {"nn": nn}
    exec(_solution_code(nb01, "Write it in PyTorch"), namespace)
    reference = models.get("alexnet_2012", seed=0).features[:2]
    check_network(namespace["answer"], reference, (3, 224, 224))
    assert capsys.readouterr().out.startswith("Right")
    assert same_function(namespace["answer"], reference, (3, 224, 224))
    left_top = nn.Sequential(nn.ZeroPad2d((3, 0, 3, 0)), nn.Conv2d(3, 96, kernel_size=11, stride=4))
    assert not same_function(left_top, reference, (3, 224, 224))  # passes the shapes, not the function


# 02: LeNet written out


def test_02_lenet_by_hand_is_the_librarys_lenet(nb02, one_thread):
    namespace = {}
    exec(_cell(nb02, "lenet_by_hand = nn.Sequential(", "code").source, namespace)
    reference = models.get("lenet", activation="sigmoid", pooling="avg", seed=0)
    assert layer_match(namespace["lenet_by_hand"], reference, (1, 28, 28))["same"].all()
    assert same_function(namespace["lenet_by_hand"], reference, (1, 28, 28))
    shown = _output_text(_cell(nb02, "match = layer_match(", "code")) + _output_text(_cell(nb02, "same_function(lenet_by_hand", "code"))
    assert "layers the same: True" in shown and "same function: True" in shown and "False" not in shown


def test_02_solution_of_the_modern_lenet_passes_its_check(nb02, capsys, one_thread):
    namespace = {"nn": nn}
    exec(_solution_code(nb02, "Build it yourself: the modern LeNet"), namespace)
    check_network(namespace["answer"], models.get("lenet", activation="relu", pooling="max", seed=0), (1, 28, 28))
    assert capsys.readouterr().out.startswith("Right")


def test_02_open_question_says_it_has_no_automatic_check(nb02):
    index = next(i for i, c in enumerate(nb02.cells) if "An open question" in c.source)
    assert "no automatic check" in nb02.cells[index].source
    assert any("no automatic check" in c.source and c.source.startswith("<details>") for c in nb02.cells[index:])


# 03: initialisation


def test_03_initialisation_history_is_in_order(nb03):
    text = " ".join(" ".join(c.source for c in nb03.cells if c.cell_type == "markdown").split())
    assert "three years later" not in text
    assert "Glorot and Bengio (2010)" in text and "He et al. (2015)" in text and "AlexNet (2012" in text


def test_03_init_table_matches_pytorchs_own_initialisers(nb03):
    """The notebook's Glorot and He columns against nn.init's xavier_normal_ and kaiming_normal_ on the same shapes."""
    table = _output_text(_cell(nb03, 'alexnet = models.get("alexnet_2012", seed=0)', "code"))
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in table.splitlines()
            if re.match(r"(conv|fc)\d", line)}
    model = models.get("alexnet_2012", seed=0)
    weights = {name.split(".")[-1]: m.weight for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    assert list(rows) == list(weights)
    generator = torch.Generator().manual_seed(0)
    for name, w in weights.items():
        fan_in, alexnet_std, glorot, he = rows[name]
        assert fan_in == w[0].numel()
        assert alexnet_std == pytest.approx(w.std().item(), abs=1e-4)
        xavier = nn.init.xavier_normal_(torch.empty_like(w), generator=generator).std().item()
        kaiming = nn.init.kaiming_normal_(torch.empty_like(w), nonlinearity="relu", generator=generator).std().item()
        assert glorot == pytest.approx(xavier, rel=0.03) and he == pytest.approx(kaiming, rel=0.03)
        assert alexnet_std < glorot < he
    assert "8 layers with weights" in table and len(weights) == 8


# every notebook: numbers in the new prose are printed by a cell


@pytest.mark.parametrize("name, first, last", [
    ("01_convolution_arithmetic.ipynb", "## The AlexNet puzzle", "## Exercises"),
    ("02_lenet.ipynb", "## The textbook LeNet", "## Training the textbook LeNet"),
    ("03_relu_vs_sigmoid.ipynb", "Scaled initialisation is older than AlexNet", "## Explore one activation"),
])
def test_numbers_in_the_text_are_printed_by_the_notebook(name, first, last):
    nb = _notebook(name)
    start = next(i for i, c in enumerate(nb.cells) if first in c.source)
    stop = next(i for i, c in enumerate(nb.cells) if i > start and last in c.source)
    text = "\n".join(c.source.split(last)[0] for c in nb.cells[start:stop + 1] if c.cell_type == "markdown")
    printed = _printed_numbers(nb)
    missing = {n for n in _numbers(text) if not _is_printed(n, printed)}
    assert not missing, f"{name}: the text states {sorted(missing)}, which no cell prints"


def test_03_chooses_on_validation_and_tests_only_the_chosen_runs_once(nb03):
    helper = _cell(nb03, "def train_lenet(", kind="code").source
    assert "test=False" in helper.split("def train_lenet(", 1)[1].split("\n", 1)[0]  # no test image unless asked
    sweep = helper.split("def train_lenet(", 1)[1].split("\n\n\n", 1)[1]  # the code after the function
    assert 'h["val_acc"].iloc[-1]' in sweep and "test_acc" not in sweep and "test=True" not in sweep
    assert "final.idxmax()" in _cell(nb03, "best = final.idxmax()", kind="code").source
    seeds = _cell(nb03, "seeds = [0, 1, 2]", kind="code").source
    assert "train_lenet(activation, best[activation], seed=seed, test=True)" in seeds  # only the chosen rates are tested
    code = "\n".join(c.source for c in nb03.cells if c.cell_type == "code")
    assert code.count("test=True)") == 1  # one call tests: the seeds at the chosen rates
    table = _output_text(_cell(nb03, "summary.apply(", kind="code"))
    assert table.count("±") == 4  # validation and test, mean ± standard deviation, for each activation
