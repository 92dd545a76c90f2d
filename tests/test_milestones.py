"""The milestone table and the recap checks against independent references.

References: torchvision's weight metadata (``num_params`` and ``_ops``, the GMACs torchvision
measured for its weights; stored in its code, no download) and the layer counts the papers name
their networks by (VGG-16, GoogLeNet's 22 layers, ResNet-18/50). That every milestone builds
with the right parameter count, and ZFNet's map sizes, are tested in ``test_models.py``.
"""

from __future__ import annotations

import pytest
from torch import nn
from torchvision.models import get_model_weights

from alexnet_lib import models
from alexnet_lib.course import checks
from alexnet_lib.course.comparison import (
    MILESTONES,
    count_weight_layers,
    milestone_table,
    torchvision_top1,
    weight_layer_depth,
)

TORCHVISION = ["vgg16", "googlenet", "resnet18", "resnet50"]


@pytest.fixture(scope="module")
def table():
    return milestone_table(["lenet5_1998", "lenet", "alexnet_2012", "torchvision_alexnet", "zfnet_2013", *TORCHVISION])


@pytest.mark.parametrize("name", ["torchvision_alexnet", *TORCHVISION])
def test_params_and_macs_match_torchvision_metadata(table, name):
    meta = get_model_weights(MILESTONES[name].torchvision_name).DEFAULT.meta
    assert table.loc[name, "params"] == meta["num_params"]
    assert abs(table.loc[name, "macs"] / 1e9 - meta["_ops"]) < 6e-4  # _ops: GMACs, rounded to 3 decimals


@pytest.mark.parametrize(
    ("name", "depth"),
    [("lenet5_1998", 5), ("lenet", 5), ("alexnet_2012", 8), ("zfnet_2013", 8), ("vgg16", 16), ("googlenet", 22),
     ("resnet18", 18), ("resnet50", 50)],
)
def test_depth_is_the_number_the_papers_give(table, name, depth):
    assert table.loc[name, "depth"] == depth


def test_branches_add_layers_off_the_longest_path():
    model = models.get("resnet18", device="meta")
    assert count_weight_layers(model) == weight_layer_depth(model) + 3  # three 1×1 shortcut convolutions
    vgg = models.get("vgg16", device="meta")
    assert count_weight_layers(vgg) == weight_layer_depth(vgg)


def test_depth_leaves_the_model_as_it_was():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 6 * 6, 3), nn.Dropout())
    model.train()
    assert weight_layer_depth(model, (1, 8, 8)) == 2
    assert model.training and not any(m._forward_hooks for m in model.modules())


@pytest.mark.parametrize("name", ["torchvision_alexnet", *TORCHVISION])
def test_top1_compares_like_with_like_from_torchvision(table, name):
    """Every accuracy in the table is of torchvision's first (V1) weights, whatever its default is now."""
    weights = get_model_weights(MILESTONES[name].torchvision_name)
    assert table.loc[name, "imagenet_top1"] == weights.IMAGENET1K_V1.meta["_metrics"]["ImageNet-1K"]["acc@1"]


def test_top1_of_other_weights_and_none_without_weights():
    v2 = get_model_weights("resnet50").IMAGENET1K_V2
    assert v2 is get_model_weights("resnet50").DEFAULT  # why V1 is asked for by name
    assert torchvision_top1("resnet50", "IMAGENET1K_V2") == v2.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    assert torchvision_top1("zfnet_2013") is None and torchvision_top1("alexnet_2012") is None
    with pytest.raises(ValueError, match="no weights 'V3' for resnet50; choose one of IMAGENET1K_V1"):
        torchvision_top1("resnet50", "V3")


def test_built_models_replace_the_defaults():
    small = models.get("alexnet_cpu", num_classes=3, seed=0)
    assert milestone_table(["alexnet_cpu"], built={"alexnet_cpu": small}).loc["alexnet_cpu", "params"] == sum(
        p.numel() for p in small.parameters()
    )
    with pytest.raises(ValueError, match="no model named 'zfnet'"):
        milestone_table(["zfnet"])


def test_recap_checks(capsys):
    checks.check_english_term("Pooling layer ", "汇聚层")
    checks.check_recap_choice("(B)", "resnet_vs_vgg")
    checks.check_weight_layer_count(None)
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["Right: 'pooling layer'.", "Right: 'b'."] and out[2].startswith("Not answered yet")
    with pytest.raises(ValueError, match="not a recap question"):
        checks.check_recap_choice("a", "lenet")
    checks.check_milestone_ratio(20, "params", "vgg16", "googlenet")
    assert capsys.readouterr().out.startswith("Not quite")
    meta = {w.name: w.meta["_metrics"]["ImageNet-1K"]["acc@1"] for w in get_model_weights("resnet50")}
    checks.check_recipe_gain(round(meta["IMAGENET1K_V2"] - meta["IMAGENET1K_V1"], 1))
    checks.check_recipe_gain(meta["IMAGENET1K_V2"] - meta["IMAGENET1K_V1"] + 1)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Right:") and out[1].startswith("Not quite")


def test_the_notebook_solutions_are_what_the_checks_expect(capsys):
    """notebooks/08_recap.ipynb states these answers in its solutions."""
    checks.check_output_size(110, n=224, k=7, s=2, p=1)
    checks.check_milestone_ratio(21, "params", "vgg16", "googlenet")
    checks.check_weight_layer_count(58, "googlenet")
    checks.check_recap_choice("b", "resnet_vs_vgg")
    checks.check_recap_choice("c", "dropped_ingredient")
    checks.check_english_term("pooling layer", "汇聚层")
    checks.check_recipe_gain(4.7)
    assert all(line.startswith("Right") for line in capsys.readouterr().out.splitlines())
