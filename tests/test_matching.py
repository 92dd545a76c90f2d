"""The build-it check: two networks compared layer for layer, and the first difference named."""

from __future__ import annotations

import pytest
from torch import nn

from alexnet_lib import models
from alexnet_lib.course.checks import check, check_network
from alexnet_lib.course.matching import first_difference, layer_match, same_function


def plain_lenet(activation=nn.Sigmoid, padding=2) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=padding), activation(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), activation(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), activation(), nn.Linear(120, 84), activation(), nn.Linear(84, 10),
    )


def test_plain_lenet_matches_the_library_and_computes_the_same_function():
    reference = models.get("lenet", seed=0)
    match = layer_match(plain_lenet(), reference, (1, 28, 28))
    assert match["same"].all() and len(match) == 11  # Flatten is left out, every other layer kept
    assert first_difference(plain_lenet(), reference, (1, 28, 28)) is None
    assert same_function(plain_lenet(), reference, (1, 28, 28))


def test_a_different_activation_is_named_and_changes_the_function():
    reference = models.get("lenet", seed=0)
    text = first_difference(plain_lenet(nn.ReLU), reference, (1, 28, 28))
    assert text.startswith("Layer 2 (1) is ReLU") and "Sigmoid" in text
    assert not same_function(plain_lenet(nn.ReLU), reference, (1, 28, 28))


def test_a_missing_padding_is_found_at_its_layer():
    # Without padding conv1 gives 24x24, so fc1 would need 256 inputs: write it consistently.
    net = plain_lenet(padding=0)
    net[7] = nn.Linear(256, 120)
    text = first_difference(net, models.get("lenet", seed=0), (1, 28, 28))
    assert text.startswith("Layer 1 (0, Conv2d) gives output shape 6×24×24") and "6×28×28" in text


def test_a_missing_and_an_extra_layer():
    reference = models.get("lenet", seed=0)
    assert "Layer 11 is missing" in first_difference(plain_lenet()[:-1], reference, (1, 28, 28))
    longer = nn.Sequential(*plain_lenet(), nn.ReLU())
    assert "one too many" in first_difference(longer, reference, (1, 28, 28))


def test_torchvision_alexnet_is_not_the_papers():
    tv, paper = models.get("torchvision_alexnet", seed=0), models.get("alexnet_2012", seed=0)
    text = first_difference(tv, paper, (3, 224, 224))
    assert text is not None and text.startswith("Layer 1")


def test_same_function_refuses_different_parameter_shapes():
    with pytest.raises(ValueError, match="parameter tensor 1 has shape"):
        same_function(nn.Sequential(nn.Conv2d(1, 6, 5)), nn.Sequential(nn.Conv2d(1, 8, 5)), (1, 28, 28))
    with pytest.raises(ValueError, match="parameter tensors"):
        same_function(plain_lenet(), nn.Sequential(nn.Conv2d(1, 6, 5)), (1, 28, 28))


def test_same_function_restores_training_mode():
    a, b = plain_lenet(), plain_lenet()
    a.train(), b.eval()
    same_function(a, b, (1, 28, 28))
    assert a.training and not b.training


def test_check_network_messages(capsys):
    check(None, "network", reference="lenet")
    check_network(plain_lenet(), "lenet")
    check_network(plain_lenet(nn.ReLU), "lenet")
    check_network(nn.Sequential(nn.Linear(3, 3)), "lenet")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Not answered yet")
    assert lines[1] == "Right: your network matches lenet layer for layer (61,706 parameters)."
    assert lines[2].startswith("Not quite: Layer 2")
    assert lines[3].startswith("Not quite: your network fails on an input of size (1, 28, 28)")
    with pytest.raises(ValueError, match="input_size"):
        check_network(plain_lenet(), plain_lenet())
