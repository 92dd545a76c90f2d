"""The layers of LeNet-5 and of the 2012 AlexNet against the papers and independent references.

References used: Table I of LeCun et al. (1998) as printed, a dense convolution with the
missing kernels zeroed for C3, the formulas of Section II-B and Appendix A; cuda-convnet's
rounding (its ``layer.py``) for the 224 vs 227 puzzle; the grouped 2012 model for the two
towers; PyTorch's ``nn.LocalResponseNorm`` against Section 3.3's formula as printed.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from alexnet_lib.alexnet import (
    GroupedLocalResponseNorm,
    cuda_convnet_padding,
    local_response_norm_as_printed,
    two_tower_state_dict,
)
from alexnet_lib.convnet import input_side_range
from alexnet_lib.lenet import C3_CONNECTIONS, EuclideanRBF, PartialConv2d, ScaledTanh, Subsampling
from alexnet_lib.models import get
from alexnet_lib.shapes import conv_output_size


def params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def meta(name: str, **kwargs) -> nn.Module:
    """The model built on the meta device: shapes and counts without memory or time."""
    with torch.device("meta"):
        return get(name, **kwargs)


# --- layers of LeNet-5 ------------------------------------------------------------------------


def test_c3_connection_table_is_table_one():
    printed = [  # Table I of the paper: rows are S2 maps, columns C3 maps
        "X...XXX..XXXX.XX",
        "XX...XXX..XXXX.X",
        "XXX...XXX..X.XXX",
        ".XXX..XXXX..X.XX",
        "..XXX..XXXX.XX.X",
        "...XXX..XXXX.XXX",
    ]
    table = PartialConv2d(C3_CONNECTIONS, in_channels=6, kernel_size=5).connection_table()
    assert ["".join("X" if v else "." for v in row) for row in table.tolist()] == printed


def test_c3_equals_a_dense_convolution_with_the_missing_kernels_zeroed():
    torch.manual_seed(0)
    c3 = PartialConv2d(C3_CONNECTIONS, in_channels=6, kernel_size=5)
    nn.init.normal_(c3.weight)
    nn.init.normal_(c3.bias)
    dense = torch.zeros(16, 6, 5, 5)
    row = 0
    for j, inputs in enumerate(C3_CONNECTIONS):
        for i in inputs:
            dense[j, i] = c3.weight[row].detach()
            row += 1
    x = torch.randn(3, 6, 14, 14)
    assert torch.allclose(c3(x), F.conv2d(x, dense, c3.bias.detach()), atol=1e-5)
    # Odd fan-in orders still come out in the order of the output maps.
    odd = PartialConv2d([(0, 1, 2, 3), (1,), (0, 2)], in_channels=4, kernel_size=3)
    dense = torch.zeros(3, 4, 3, 3)
    for row, (j, i) in enumerate([(0, 0), (0, 1), (0, 2), (0, 3), (1, 1), (2, 0), (2, 2)]):
        dense[j, i] = odd.weight[row].detach()
    x = torch.randn(2, 4, 6, 6)
    assert torch.allclose(odd(x), F.conv2d(x, dense, odd.bias.detach()), atol=1e-5)


def test_subsampling_scaled_tanh_and_rbf_follow_their_formulas():
    s = Subsampling(2)
    with torch.no_grad():
        s.weight.copy_(torch.tensor([0.5, -2.0]))
        s.bias.copy_(torch.tensor([1.0, 0.25]))
    x = torch.randn(1, 2, 4, 4)
    block_sum = x[:, :, 0::2, 0::2] + x[:, :, 1::2, 0::2] + x[:, :, 0::2, 1::2] + x[:, :, 1::2, 1::2]
    assert torch.allclose(s(x), block_sum * s.weight.view(1, 2, 1, 1) + s.bias.view(1, 2, 1, 1))
    f = ScaledTanh()
    assert torch.allclose(f(torch.tensor([1.0, -1.0])), torch.tensor([1.0, -1.0]), atol=1e-4)
    assert math.isclose(float(f(torch.tensor(100.0))), 1.7159, rel_tol=1e-6)
    rbf = EuclideanRBF(84, 10)
    x = torch.randn(5, 84)
    assert torch.allclose(rbf(x), -torch.cdist(x, rbf.prototypes) ** 2, atol=1e-3)


def test_lenet5_initialisation_is_uniform_within_2_4_over_fan_in():
    model = get("lenet5_1998", seed=0)
    assert model.features.C1.weight.abs().max() <= 2.4 / 25
    assert model.classifier.F6.weight.abs().max() <= 2.4 / 120
    row = 0
    for inputs in C3_CONNECTIONS:
        block = model.features.C3.weight[row : row + len(inputs)]
        assert block.abs().max() <= 2.4 / (25 * len(inputs))
        row += len(inputs)


# --- 224 or 227 --------------------------------------------------------------------------------


@given(st.integers(min_value=11, max_value=600))
def test_cuda_convnet_padding_reproduces_its_rounding_up(n):
    pad = cuda_convnet_padding(n)
    assert 0 <= pad < 4
    assert conv_output_size(n, k=11, s=4, p=(0, pad)) == 1 + math.ceil((n - 11) / 4)  # cuda-convnet's layer.py


def test_224_pads_three_zeros_right_and_bottom_and_227_none():
    at_224, at_227 = meta("alexnet_2012"), meta("alexnet_2012", input_size=227)
    assert at_224.features.pad1.padding == (0, 3, 0, 3)
    assert not hasattr(at_227.features, "pad1")
    assert params(at_224) == params(at_227) == 60_965_224
    # The model built for 224 also takes 227-pixel crops; the one built for 227 needs 227.
    assert input_side_range(at_224) == (224, 255)
    assert input_side_range(at_227)[0] == 227


# --- the two towers ----------------------------------------------------------------------------


def test_two_tower_form_computes_the_same_outputs_as_the_grouped_form():
    grouped = get("alexnet_2012", seed=0).eval()
    towers = get("alexnet_2012_two_tower", seed=1).eval()
    towers.load_state_dict(two_tower_state_dict(grouped.state_dict()))  # strict: every weight has a place
    assert params(towers) == params(grouped)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected, got = grouped(x), towers(x)
        assert not torch.allclose(expected[0], expected[1])  # the outputs depend on the input
        assert torch.allclose(got, expected, rtol=1e-5, atol=1e-6)
        # A wrong copy (the towers' conv4 swapped) is caught: the comparison is not trivial.
        a, b = towers.features.gpu0.stage2.conv4, towers.features.gpu1.stage2.conv4
        a.weight[:], b.weight[:] = b.weight.clone(), a.weight.clone()
        assert not torch.allclose(towers(x), expected, rtol=1e-5, atol=1e-6)


def test_two_tower_state_dict_splits_each_convolution_by_output_maps():
    grouped = meta("alexnet_2012").state_dict()
    state = two_tower_state_dict(grouped)
    assert set(state) == set(meta("alexnet_2012_two_tower").state_dict())
    assert state["features.gpu0.stage1.conv1.weight"].shape == (48, 3, 11, 11)
    assert state["features.gpu1.stage2.conv5.weight"].shape == (128, 192, 3, 3)
    assert state["classifier.fc6.weight"].shape == (4096, 9216)


# --- local response normalisation ---------------------------------------------------------------


def test_lrn_conventions_pytorch_divides_alpha_by_n():
    x = torch.randn(2, 9, 3, 3) * 30  # large activations, so that the normalisation matters
    printed = local_response_norm_as_printed(x, size=5, alpha=1e-4, beta=0.75, k=2.0)
    # One value by hand: map 4 at (0, 0, 0), the sum over maps 2..6.
    a = x[0, :, 0, 0].double()
    assert math.isclose(float(printed[0, 4, 0, 0]), float(a[4] / (2 + 1e-4 * (a[2:7] ** 2).sum()) ** 0.75), rel_tol=1e-5)
    # PyTorch's module computes the printed formula with alpha * n ...
    assert torch.allclose(nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)(x), printed, rtol=1e-5)
    # ... and the paper's alpha = 1e-4 in PyTorch's convention is the printed formula with 1e-4 / 5.
    ours = GroupedLocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0, groups=1)
    assert torch.allclose(ours(x), local_response_norm_as_printed(x, alpha=1e-4 / 5), rtol=1e-5)
    assert not torch.allclose(ours(x), printed, rtol=1e-3)


def test_alexnet_2012_normalises_each_tower_on_its_own():
    norm = meta("alexnet_2012").features.norm1
    assert (norm.size, norm.alpha, norm.beta, norm.k, norm.groups) == (5, 1e-4, 0.75, 2.0, 2)
    layer = GroupedLocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0, groups=2)
    x = torch.randn(1, 8, 2, 2) * 30
    halves = torch.cat([local_response_norm_as_printed(h, alpha=1e-4 / 5) for h in x.chunk(2, 1)], 1)
    assert torch.allclose(layer(x), halves, rtol=1e-5)


def test_alexnet_2012_initialisation_as_published():
    model = get("alexnet_2012", seed=0)
    biases = {name: float(layer.bias.detach().unique()) for name, layer in model.named_modules() if isinstance(layer, (nn.Conv2d, nn.Linear))}
    assert biases == {
        "features.conv1": 0.0, "features.conv2": 1.0, "features.conv3": 0.0, "features.conv4": 1.0, "features.conv5": 1.0,
        "classifier.fc6": 1.0, "classifier.fc7": 1.0, "classifier.fc8": 0.0,
    }  # fmt: skip
    weight = model.classifier.fc6.weight.detach()
    std = float(weight.std())
    assert abs(std - 0.01) < 1e-4 and abs(float(weight.mean())) < 1e-5
