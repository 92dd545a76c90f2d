"""Tests for the pieces notebooks 04 and 05 use: the sample photo, dropout's measurement,
the two-GPU diagram of AlexNet 2012 and their exercise checks."""

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from alexnet_lib.course import checks
from alexnet_lib.alexnet import local_response_norm_as_printed
from alexnet_lib.course.diagrams import draw_two_gpu_network, two_gpu_connections
from alexnet_lib.course.photos import load_sample_photo


def test_sample_photo_shapes_and_range():
    full = load_sample_photo()
    assert full.shape == (3, 600, 512) and full.dtype == torch.float32
    grey = load_sample_photo(side=32, grey=True)
    assert grey.shape == (1, 32, 32)
    assert 0 <= float(grey.min()) <= float(grey.max()) <= 1


def test_sample_photo_rejects_bad_side():
    with pytest.raises(ValueError, match="side"):
        load_sample_photo(side=0)


def test_two_gpu_connections_match_the_paper_section_3_2():
    table = two_gpu_connections().set_index("layer")
    assert table["reads"].to_dict() == {
        "conv1": "image", "conv2": "own GPU", "conv3": "both GPUs", "conv4": "own GPU",
        "conv5": "own GPU", "fc6": "both GPUs", "fc7": "both GPUs", "fc8": "both GPUs",
    }
    assert table.loc["conv1", "per_gpu"] == "48×55×55" and table.loc["fc6", "per_gpu"] == "2048"


def test_two_gpu_diagram_draws_one_box_per_gpu_and_layer():
    fig = draw_two_gpu_network()
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("conv3") == 2 and texts.count("image") == 1
    plt.close(fig)


def test_check_lrn_value_uses_the_printed_formula(capsys):
    x = torch.tensor([1.0, 2, 3, 4, 5], dtype=torch.float64).reshape(1, 5, 1, 1)
    expected = float(local_response_norm_as_printed(x, alpha=0.1)[0, 2, 0, 0])
    checks.check_lrn_value(expected, i=2)
    assert capsys.readouterr().out.startswith("Right")
    with_torch = float(nn.LocalResponseNorm(5, alpha=0.1, beta=0.75, k=2.0)(x)[0, 2, 0, 0])
    checks.check_lrn_value(with_torch, i=2)  # PyTorch's alpha / n is not the printed formula
    assert capsys.readouterr().out.startswith("Not quite")


@pytest.mark.parametrize("k, s, expected", [(2, 2, 1), (3, 2, 4), (3, 1, 9)])
def test_check_overlap_windows(capsys, k, s, expected):
    checks.check_overlap_windows(expected, k=k, s=s)
    assert capsys.readouterr().out.startswith("Right")


def test_check_cross_gpu_layers_accepts_any_order_and_rejects_wrong_sets(capsys):
    checks.check_cross_gpu_layers("FC7, conv3,fc6 , fc8")
    assert capsys.readouterr().out.startswith("Right")
    checks.check_cross_gpu_layers("conv3, fc6")
    assert capsys.readouterr().out.startswith("Not quite")


def test_check_fc_parameter_share(capsys):
    checks.check_fc_parameter_share(0.5)
    assert capsys.readouterr().out.startswith("Not quite")
    checks.check_fc_parameter_share((37_752_832 + 16_781_312 + 4_097_000) / 60_965_224)
    assert capsys.readouterr().out.startswith("Right")
