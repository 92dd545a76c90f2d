"""The inspection tools against brute force and against models whose answer is known by construction."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from alexnet_lib import models
from alexnet_lib.course.inspection import feature_maps, occlusion_sensitivity, photo_input, plot_feature_maps, plot_filters, top_activating
from alexnet_lib.data import FASHION_MNIST_MEAN, FASHION_MNIST_STD


class LooksAtOneRegion(nn.Module):
    """Logit of class 0 = sum of the pixels in rows r0:r1, columns c0:c1; class 1 = 0."""

    def __init__(self, r0: int, r1: int, c0: int, c1: int) -> None:
        super().__init__()
        self.box = (r0, r1, c0, c1)
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r0, r1, c0, c1 = self.box
        logit = x[:, :, r0:r1, c0:c1].sum(dim=(1, 2, 3))
        return torch.stack([logit, torch.zeros_like(logit)], dim=1)


@pytest.mark.parametrize(("patch", "stride"), [(4, 4), (4, 2), (3, 1), (8, 3)])
def test_occlusion_lights_up_exactly_the_region_the_model_reads(patch, stride):
    r0, r1, c0, c1 = 5, 9, 10, 12
    model = LooksAtOneRegion(r0, r1, c0, c1)
    image = torch.ones(1, 16, 20)
    heat = occlusion_sensitivity(model, image, target=0, patch=patch, stride=stride, fill=0.0)
    rows, cols = (16 - patch) // stride + 1, (20 - patch) // stride + 1
    assert heat.shape == (rows, cols)
    for i in range(rows):
        for j in range(cols):
            top, left = i * stride, j * stride
            overlaps = top < r1 and top + patch > r0 and left < c1 and left + patch > c0
            assert (heat[i, j] > 1e-6) == overlaps, (i, j)
            if not overlaps:
                assert heat[i, j] == 0


def test_occlusion_drop_equals_the_probability_lost():
    model = LooksAtOneRegion(0, 2, 0, 2)
    image = torch.ones(1, 4, 4)
    heat = occlusion_sensitivity(model, image, target=0, patch=2, stride=2)
    base = torch.softmax(torch.tensor([4.0, 0.0]), 0)[0]
    assert torch.allclose(heat[0, 0], base - 0.5)
    assert heat[1, 1] == 0


@pytest.mark.parametrize("reduce", ["max", "mean"])
def test_top_activating_equals_brute_force_argsort(reduce):
    model = models.get("alexnet_cpu", seed=0)
    images = torch.randn(37, 1, 64, 64, generator=torch.Generator().manual_seed(1))
    indices, scores = top_activating(model, images, layer="features.conv2", channel=5, k=6, reduce=reduce, batch_size=10)
    with torch.no_grad():
        model.eval()
        maps = model.features[:4](images)[:, 5].flatten(1)
    brute = maps.max(1).values if reduce == "max" else maps.mean(1)
    expected = torch.argsort(brute, descending=True)[:6]
    assert indices.tolist() == expected.tolist()
    assert torch.allclose(scores, brute[expected], atol=1e-5)


def test_feature_maps_equal_the_layers_outputs_and_leave_no_hooks():
    model = models.get("alexnet_cpu", seed=0).train()
    x = torch.randn(2, 1, 64, 64)
    maps = feature_maps(model, x)
    assert list(maps)[:3] == ["features.conv1", "features.relu1", "features.pool1"]
    with torch.no_grad():
        model.eval()
        assert torch.allclose(maps["features.pool1"], model.features[:3](x))
        assert torch.allclose(maps[list(maps)[-1]], model(x))
    model.train()
    assert all(not m._forward_hooks for m in model.modules())
    assert model.training  # mode restored


def test_feature_maps_names_the_layers_when_one_is_wrong():
    with pytest.raises(ValueError, match="no layer named"):
        feature_maps(models.get("lenet", seed=0), torch.zeros(1, 1, 28, 28), layers=["conv9"])


def test_top_activating_checks_the_channel():
    with pytest.raises(ValueError, match="channel=40 does not exist"):
        top_activating(models.get("alexnet_cpu", seed=0), torch.zeros(2, 1, 64, 64), "features.conv1", channel=40)


def test_photo_input_is_normalised_like_the_training_data():
    from matplotlib import cbook
    from PIL import Image

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    x = photo_input(path, size=32)
    raw = photo_input(path, size=32, mean=(0.0,), std=(1.0,))
    assert x.shape == (1, 32, 32) and 0 <= raw.min() and raw.max() <= 1
    assert torch.allclose(x, (raw - FASHION_MNIST_MEAN[0]) / FASHION_MNIST_STD[0])
    assert photo_input(path, size=16, grey=False, mean=(0, 0, 0), std=(1, 1, 1)).shape == (3, 16, 16)
    with Image.open(path) as im:
        assert im.size == (512, 600)  # centre square is 512×512


def test_plots_have_one_panel_per_kernel_and_map():
    assert len(plot_filters(torch.randn(10, 1, 5, 5), ncols=4).axes) == 12
    maps = feature_maps(models.get("alexnet_cpu", seed=0), torch.zeros(1, 1, 64, 64), ["features.conv1", "features.conv5"])
    assert len(plot_feature_maps(maps, channels=4).axes) == 8
