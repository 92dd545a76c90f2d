"""Notebook 08's four successor blocks, written in the notebook: each equal to torchvision's block where it has one.

The cells that define the blocks run here as they are. (a) On other widths, strides and inputs than the notebook's,
the VGG block and the residual block, given torchvision's weights, give torchvision's outputs (the residual block in
training and evaluation mode, with batch-normalisation statistics that matter); the Inception block differs from
torchvision's, built with plain convolutions, by exactly the weights of its 5×5 kernels beyond 3×3 (torchvision's
issue 906), and the NiN block's count is the formula's. (b) The notebook's own check cells, run against a wrong copy
of a block (its cell with one line changed), print False or raise: the checks can fail.
"""

from __future__ import annotations

import contextlib
import io

import pandas as pd
import pytest
import torch
from torch import nn
from torchvision.models.googlenet import Inception as TorchvisionInception
from torchvision.models.resnet import BasicBlock
from torchvision.models.vgg import make_layers

from alexnet_lib import models
from alexnet_lib.course.tables import layer_table
from conftest import ROOT, code_cells, defined_by_cells, one_cell

NOTEBOOK = ROOT / "notebooks" / "08_recap.ipynb"
DEFINITIONS = ["def vgg_block(", "def nin_block(", "class Inception(", "class Residual("]
CHECKS = {"def vgg_block(": "make_layers([64, 64", "class Inception(": "TorchvisionInception(",
          "class Residual(": "resnet18().layer2[0]"}


@pytest.fixture(scope="module", name="cells")
def notebook_cells() -> list[str]:
    return code_cells(NOTEBOOK)


def _scope(cells: list[str], mutation: tuple[str, str] | None = None) -> dict:
    """The notebook's blocks, defined by their own cells; ``mutation`` (old, new) edits one line."""
    return defined_by_cells(cells, DEFINITIONS, {"pd": pd, "layer_table": layer_table, "models": models}, mutation)


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("convs, width_in, width_out, side", [(1, 3, 16, 8), (2, 3, 64, 16), (3, 8, 5, 12)])
def test_the_vgg_block_is_torchvisions(cells, convs, width_in, width_out, side):
    ours = _scope(cells)["vgg_block"](convs, width_in, width_out)
    torch.manual_seed(convs)
    theirs = make_layers([width_out] * convs + ["M"])
    if width_in != 3:  # make_layers always starts from 3 channels
        theirs[0] = nn.Conv2d(width_in, width_out, 3, padding=1)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, width_in, side, side)
    assert torch.equal(ours(x), theirs(x)) and ours(x).shape[-1] == side // 2


@pytest.mark.parametrize("width_in, width_out, stride", [(64, 64, 1), (64, 128, 2), (32, 48, 1), (16, 16, 2)])
def test_the_residual_block_is_torchvisions_basic_block(cells, width_in, width_out, stride):
    torch.manual_seed(width_out + stride)
    downsample = None
    if stride != 1 or width_in != width_out:
        downsample = nn.Sequential(nn.Conv2d(width_in, width_out, 1, stride, bias=False), nn.BatchNorm2d(width_out))
    theirs = BasicBlock(width_in, width_out, stride, downsample)
    for module in theirs.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.weight.data.normal_()
            module.bias.data.normal_()
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2.0)
    ours = _scope(cells)["Residual"](width_in, width_out, stride)
    ours.load_state_dict({k.replace("downsample.", "shortcut."): v for k, v in theirs.state_dict().items()})
    x = torch.randn(3, width_in, 10, 10)
    assert torch.allclose(ours.eval()(x), theirs.eval()(x), atol=1e-5)
    assert torch.allclose(ours.train()(x), theirs.train()(x), atol=1e-5)


@pytest.mark.parametrize("widths", [(192, 64, 96, 128, 16, 32, 32), (480, 192, 96, 208, 16, 48, 64),
                                    (8, 2, 3, 4, 5, 6, 7)])
def test_the_inception_block_differs_from_torchvisions_by_its_5x5_kernels(cells, widths):
    ours = _scope(cells)["Inception"](*widths)
    plain = lambda i, o, **kw: nn.Sequential(nn.Conv2d(i, o, **kw), nn.ReLU())  # noqa: E731, torchvision's conv_block
    theirs = TorchvisionInception(*widths, conv_block=plain)
    c5_reduce, c5 = widths[4], widths[5]
    assert _count(ours) - _count(theirs) == (5 * 5 - 3 * 3) * c5_reduce * c5
    x = torch.randn(1, widths[0], 9, 9)
    assert ours(x).shape == theirs(x).shape == (1, widths[1] + widths[3] + widths[5] + widths[6], 9, 9)


@pytest.mark.parametrize("width_in, classes, kernel", [(256, 1000, 3), (96, 10, 5), (3, 7, 11)])
def test_the_nin_block_holds_the_formulas_parameters_and_keeps_one_map_per_class(cells, width_in, classes, kernel):
    block = _scope(cells)["nin_block"](width_in, classes, kernel, 1, kernel // 2)
    assert _count(block) == kernel * kernel * width_in * classes + classes + 2 * (classes * classes + classes)
    head = nn.Sequential(block, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    assert head(torch.randn(2, width_in, 6, 6)).shape == (2, classes)


def _check_output(cells: list[str], marker: str, mutation: tuple[str, str] | None = None) -> str:
    """What the notebook's check cell after ``marker``'s definition prints, with the blocks (maybe mutated) defined."""
    scope = _scope(cells, mutation)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(one_cell(cells, CHECKS[marker]), scope)
    return out.getvalue()


@pytest.mark.parametrize("marker", sorted(CHECKS))
def test_the_notebooks_checks_pass_on_its_blocks(cells, marker):
    printed = _check_output(cells, marker)
    assert "True" in printed and "False" not in printed


@pytest.mark.parametrize("marker, mutation", [
    ("class Residual(", ("return torch.relu(y + self.shortcut(x))", "return torch.relu(y)")),  # no residual path
    ("class Residual(", ("y = self.bn2(self.conv2(y))", "y = torch.relu(self.bn2(self.conv2(y)))")),  # ReLU too early
    ("class Inception(", ("nn.Conv2d(c5_reduce, c5, 5, padding=2)", "nn.Conv2d(c5_reduce, c5, 3, padding=1)")),
    ("def vgg_block(", ("nn.MaxPool2d(2)", "nn.AvgPool2d(2)")),
])
def test_the_notebooks_checks_fail_on_a_wrong_block(cells, marker, mutation):
    try:
        printed = _check_output(cells, marker, mutation)
    except RuntimeError:  # load_state_dict refuses weights that do not fit: the check fails loudly
        return
    assert "False" in printed



# The race: five small networks for Fashion-MNIST, built by the notebook's cell, trained by one recipe.
RACE = [*DEFINITIONS, "small_networks = {"]


@pytest.fixture(scope="module", name="race")
def race_scope(cells) -> dict:
    return defined_by_cells(cells, RACE, {"pd": pd, "layer_table": layer_table, "models": models})


def test_each_small_network_scores_ten_classes_and_is_counted_as_pytorch_counts(race):
    names = list(race["small_networks"])
    assert names == ["LeNet", "VGG", "NiN", "Inception", "ResNet"]
    for name in names:
        net = race["build"](name).eval()
        assert net(torch.randn(3, 1, 28, 28)).shape == (3, 10), name
        assert race["sizes_28"][name]["params"] == _count(net), name
    assert not any(isinstance(m, nn.Linear) for m in race["build"]("NiN").modules())  # NiN: pooled maps are the scores
    assert sum(isinstance(m, race["Residual"]) for m in race["build"]("ResNet").modules()) == 3


def test_the_small_networks_start_from_he_initialisation_and_their_seed(race):
    net = race["build"]("VGG")
    conv = net[1][2]  # the second block's second convolution: 32 maps in, 3×3
    assert abs(conv.weight.std().item() / (2 / (32 * 9)) ** 0.5 - 1) < 0.05 and not conv.bias.any()
    assert torch.equal(race["build"]("ResNet")[0].weight, race["build"]("ResNet")[0].weight)
    assert not torch.equal(race["build"]("ResNet", seed=1)[0].weight, race["build"]("ResNet")[0].weight)


def test_the_race_rates_are_those_chosen_on_validation(cells):
    """The notebook's learning rates are, per network, the better on validation in benchmarks/tune_08_race.py's runs."""
    tuning = pd.read_csv(ROOT / "benchmarks" / "tuning_08_race_cpu.csv")
    assert "test_acc" not in tuning.columns  # the choice never saw a test figure
    chosen = tuning.loc[tuning.groupby("network")["val_acc"].idxmax()].set_index("network")["lr"].to_dict()
    scope: dict = {}
    source = one_cell(cells, "learning_rates = {")
    exec(next(line for line in source.splitlines() if line.startswith("learning_rates = {")), scope)
    assert scope["learning_rates"] == chosen
    assert "epochs // 2" in source and "replace(race, lr=lr)" in source  # one recipe, the rate alone differs
