"""Notebook 07's saliency and pretrained-weights cells, run here as they are written.

(a) ``saliency`` equals the absolute input gradient of the class score, the largest over the
channels, computed independently with ``torch.autograd.functional.jacobian`` on a small model.
(b) The pretrained-loading cells take the "available" path when torchvision's cache holds a file
under the weights' name (a state dict with the right keys and shapes, random values): conv1's
64×3×11×11 kernels and five ImageNet class names are printed, nothing is downloaded. (c) With an
empty cache and no network they print the one sentence and raise nothing.
"""

from __future__ import annotations

import contextlib
import io
import urllib.error
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from conftest import ROOT, code_cells, one_cell

NOTEBOOK = ROOT / "notebooks" / "07_inside_alexnet.ipynb"
OFFLINE = ("The pretrained weights could not be downloaded (no internet): the figures of this section "
           "need them; run it on Colab or a laptop online.\n")


@pytest.fixture(scope="module", name="code_cells")
def notebook_code_cells() -> list[str]:
    return code_cells(NOTEBOOK)


def _run(source: str, scope: dict) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(source, scope)
    return out.getvalue()


def _saliency(cells: list[str]):
    """The notebook's ``saliency`` function, defined by its own cell (the lines before the example call)."""
    source = one_cell(cells, "def saliency(")
    scope = {"torch": torch}
    exec(source.split("\nsal = ")[0], scope)
    return scope["saliency"]


def test_saliency_equals_the_input_gradient_of_the_class_score(code_cells):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5), nn.Dropout(0.5)).train()
    x, target = torch.randn(3, 3, 8, 8), torch.tensor([1, 4, 0])
    got = _saliency(code_cells)(model, x, target)
    assert got.shape == (3, 8, 8)
    model.eval()
    for n in range(3):
        jac = torch.autograd.functional.jacobian(lambda xi: model(xi.unsqueeze(0))[0, target[n]], x[n])  # (3, 8, 8)
        assert torch.allclose(got[n], jac.abs().amax(dim=0), atol=1e-6), f"image {n}: not |d score / d pixel| max over channels"
        assert not torch.allclose(got[n], jac.amax(dim=0), atol=1e-6)  # the reference itself would catch a missing abs
    assert all(p.grad is None for p in model.parameters()), "saliency should leave no gradients in the weights"


def _pretrained_cells(cells: list[str]) -> list[str]:
    return [one_cell(cells, "weights = AlexNet_Weights.IMAGENET1K_V1"), one_cell(cells, "alexnet(weights=weights)"),
            one_cell(cells, "pretrained.features[0].weight"), one_cell(cells, "weights.meta['categories']")]


def _scope() -> dict:
    from alexnet_lib.course.inspection import plot_filters

    return {"torch": torch, "Path": Path, "plot_filters": plot_filters, "display": lambda *args: None}


def test_pretrained_cells_use_the_cached_weights(code_cells, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    weights = torchvision.models.AlexNet_Weights.IMAGENET1K_V1
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    folder.mkdir(parents=True)
    torch.save(torchvision.models.alexnet().state_dict(), folder / Path(weights.url).name)

    def no_download(*args, **kwargs):
        raise AssertionError("the cached file should have been used, not downloaded")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    scope = _scope()
    outputs = [_run(source, scope) for source in _pretrained_cells(code_cells)]
    assert scope["pretrained"] is not None
    assert outputs[1] == "loaded the pretrained weights: alexnet-owt-7be5be79.pth\n"
    assert "conv1 kernels (out, in, height, width): (64, 3, 11, 11)" in outputs[2]
    lines = outputs[3].splitlines()
    assert len(lines) == 6 and "5 most likely ImageNet classes" in lines[0]
    categories = weights.meta["categories"]
    assert all(line.split("%", 1)[1].strip() in categories for line in lines[1:]), lines


def test_pretrained_cells_without_network_say_so_in_one_sentence(code_cells, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    scope = _scope()
    outputs = [_run(source, scope) for source in _pretrained_cells(code_cells)]
    assert scope["pretrained"] is None
    assert outputs[1:] == [OFFLINE, "", ""]
