"""Looking inside a trained network: feature maps, top-activating images, occlusion, filter grids.

Four tools, the ones of Zeiler and Fergus's "Visualizing and Understanding Convolutional
Networks" (2014) that need no extra network:

- :func:`feature_maps`: every named layer's output for one batch, caught by forward hooks;
- :func:`top_activating`: the images that excite one channel of one layer the most;
- :func:`occlusion_sensitivity`: how much the probability of a class drops when a grey
  patch hides each part of an image (their Section 4.2);
- :func:`plot_filters` and :func:`plot_feature_maps`: the weights of a convolution and the
  maps of a layer as image grids (figures made without pyplot, like :mod:`alexnet_lib.course.plots`).

>>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU())
>>> {name: tuple(t.shape) for name, t in feature_maps(net, torch.zeros(1, 1, 5, 5)).items()}
{'0': (1, 2, 3, 3), '1': (1, 2, 3, 3)}
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from matplotlib.figure import Figure
from torch import nn

from .photos import load_photo
from .plots import new_figure
from .plots import to_numpy

__all__ = ["feature_maps", "photo_input", "occlusion_sensitivity", "plot_feature_maps", "plot_filters", "top_activating"]


def _leaf_layers(model: nn.Module) -> list[str]:
    """Names of the modules that have no children (the layers a reader sees in a table)."""
    return [name for name, module in model.named_modules() if name and not list(module.children())]


def _device(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def feature_maps(model: nn.Module, x: torch.Tensor, layers: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
    """The output of each named layer when ``model`` reads the batch ``x``, in the order they ran.

    ``layers`` are names of ``model.named_modules()`` (default: every layer without children).
    Forward hooks record the outputs during one pass in eval mode under ``torch.no_grad``;
    the hooks are removed afterwards, and the model's train/eval mode is restored. The
    tensors are float32 on the CPU, in the usual (N, C, H, W) layout.

    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
    >>> maps = feature_maps(net, torch.randn(2, 1, 8, 8), layers=["0", "2"])
    >>> list(maps), tuple(maps["2"].shape)
    (['0', '2'], (2, 4, 4, 4))
    """
    modules = dict(model.named_modules())
    names = _leaf_layers(model) if layers is None else list(layers)
    unknown = [name for name in names if name not in modules]
    if unknown:
        raise ValueError(f"no layer named {unknown}; the model's layers are {_leaf_layers(model)}.")
    caught: dict[str, torch.Tensor] = {}

    def hook_for(name: str):
        def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
            caught[name] = output.detach().float().contiguous().cpu()

        return hook

    handles = [modules[name].register_forward_hook(hook_for(name)) for name in names]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x.to(_device(model)))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return caught


def _channel_scores(maps: torch.Tensor, channel: int, reduce: str) -> torch.Tensor:
    if not 0 <= channel < maps.shape[1]:
        raise ValueError(f"channel={channel} does not exist: the layer has {maps.shape[1]} channels (0 to {maps.shape[1] - 1}).")
    values = maps[:, channel].flatten(1)
    if reduce == "max":
        return values.max(dim=1).values
    if reduce == "mean":
        return values.mean(dim=1)
    raise ValueError(f"reduce={reduce!r} should be 'max' (strongest single position) or 'mean' (whole map).")


def photo_input(
    path: str | Path, size: int = 64, grey: bool = True, mean: Sequence[float] = (0.2860,), std: Sequence[float] = (0.3530,)
) -> torch.Tensor:
    """A photograph as one model input ``(C, size, size)``: centre square, resized, in [0, 1], normalised.

    The centre square of the image (the shorter side) is resized to ``size``×``size`` with
    antialiasing, converted to grey (``grey=True``, one channel) or kept RGB, scaled to [0, 1]
    (:func:`alexnet_lib.course.photos.load_photo`) and normalised with ``mean`` and ``std`` (default: Fashion-MNIST's, as
    :data:`alexnet_lib.data.FASHION_MNIST_MEAN` and ``..._STD``).

    >>> from matplotlib import cbook
    >>> photo_input(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).shape
    torch.Size([1, 64, 64])
    """
    x = load_photo(path, side=size, grey=grey)
    if len(mean) != x.shape[0] or len(std) != x.shape[0]:
        raise ValueError(f"mean={tuple(mean)} and std={tuple(std)} need one value per channel ({x.shape[0]}).")
    return (x - torch.tensor(mean).view(-1, 1, 1)) / torch.tensor(std).view(-1, 1, 1)


def top_activating(
    model: nn.Module, images: torch.Tensor, layer: str, channel: int, k: int = 9, reduce: str = "max", batch_size: int = 256
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` images (indices into ``images``) that drive one channel of ``layer`` the hardest, best first.

    Each image is scored by the channel's largest value in its map (``reduce="max"``) or its
    mean (``"mean"``); ``images`` are model inputs (already resized and normalised), read in
    batches of ``batch_size``. Returns ``(indices, scores)``; ties keep the lower index first.

    >>> net = torch.nn.Sequential(torch.nn.Identity())
    >>> top_activating(net, torch.tensor([1.0, 5.0, 3.0]).reshape(3, 1, 1, 1), layer="0", channel=0, k=2)
    (tensor([1, 2]), tensor([5., 3.]))
    """
    if k < 1:
        raise ValueError(f"k={k} should be at least 1.")
    scores = torch.cat(
        [_channel_scores(feature_maps(model, batch, [layer])[layer], channel, reduce) for batch in images.split(batch_size)]
    )
    order = torch.sort(scores, descending=True, stable=True).indices[: min(k, len(scores))]
    return order, scores[order]


def occlusion_sensitivity(
    model: nn.Module, image: torch.Tensor, target: int, patch: int = 8, stride: int = 4, fill: float = 0.0, batch_size: int = 128
) -> torch.Tensor:
    """How much the probability of class ``target`` drops when a ``patch``×``patch`` square hides each place.

    ``image`` is one model input ``(C, H, W)``. The square (filled with ``fill``; 0 is the
    data set's mean pixel for normalised inputs) slides in steps of ``stride``; entry
    ``[i, j]`` of the result is ``p(target | image) - p(target | image hidden at rows
    i·stride to i·stride+patch, columns j·stride to j·stride+patch)``, so large positive
    values mark the places the decision depends on. The result has
    ``(H - patch) // stride + 1`` rows and as many columns as that formula gives for ``W``.

    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    >>> occlusion_sensitivity(net, torch.zeros(1, 4, 4), target=0, patch=2, stride=2).shape
    torch.Size([2, 2])
    """
    if image.dim() != 3:
        raise ValueError(f"image should be one input shaped (C, H, W); got {tuple(image.shape)}.")
    _, height, width = image.shape
    if not 1 <= patch <= min(height, width) or stride < 1:
        raise ValueError(f"patch={patch} should fit the {height}×{width} image and stride={stride} should be at least 1.")
    rows, cols = (height - patch) // stride + 1, (width - patch) // stride + 1
    occluded = image.unsqueeze(0).repeat(rows * cols, 1, 1, 1)
    for n in range(rows * cols):
        top, left = (n // cols) * stride, (n % cols) * stride
        occluded[n, :, top : top + patch, left : left + patch] = fill
    was_training = model.training
    model.eval()
    device = _device(model)
    try:
        with torch.no_grad():
            base = model(image.unsqueeze(0).to(device)).float().softmax(1)[0, target].cpu()
            probs = torch.cat([model(b.to(device)).float().softmax(1)[:, target].cpu() for b in occluded.split(batch_size)])
    finally:
        model.train(was_training)
    return (base - probs).reshape(rows, cols)


def plot_filters(weight: torch.Tensor, ncols: int = 8, title: str = "", scale: float = 0.9) -> Figure:
    """A grid of convolution kernels, one small image each: ``weight`` is ``(out, in, kh, kw)``.

    A grey kernel (``in == 1``) is drawn in a blue-white-red map centred on 0 (blue negative,
    red positive), each kernel scaled to its own largest absolute weight; a colour kernel
    (``in == 3``) is shown as an RGB image scaled to its own range.

    >>> fig = plot_filters(torch.randn(6, 1, 5, 5), ncols=3)
    >>> len(fig.axes)
    6
    """
    w = torch.as_tensor(weight).detach().float().cpu()
    if w.dim() != 4 or w.shape[1] not in (1, 3):
        raise ValueError(f"weight should be shaped (out, 1 or 3, kh, kw), a first convolution's; got {tuple(w.shape)}.")
    n = len(w)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig = new_figure(figsize=(ncols * scale, nrows * scale + (0.3 if title else 0)), dpi=100, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i >= n:
            continue
        kernel = w[i]
        if kernel.shape[0] == 1:
            limit = float(kernel.abs().max()) or 1.0
            ax.imshow(to_numpy(kernel[0]), cmap="bwr", vmin=-limit, vmax=limit)
        else:
            lo, hi = kernel.min(), kernel.max()
            ax.imshow(to_numpy(((kernel - lo) / (hi - lo if hi > lo else 1)).permute(1, 2, 0)))
        ax.set_title(str(i), fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_feature_maps(maps: dict[str, torch.Tensor], channels: int = 8, scale: float = 1.0) -> Figure:
    """One row per layer: the first ``channels`` maps of the first image of each batch in ``maps``.

    ``maps`` is what :func:`feature_maps` returns (4-D tensors; others are skipped). Each
    map is scaled to its own range (dark: low, bright: high); the row title gives the layer's
    name and its map size.

    >>> maps = feature_maps(torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.ReLU()), torch.randn(1, 1, 6, 6))
    >>> len(plot_feature_maps(maps, channels=2).axes)
    4
    """
    rows = {name: t for name, t in maps.items() if t.dim() == 4}
    if not rows:
        raise ValueError("no 4-D feature maps to show (give the output of feature_maps for convolution layers).")
    fig = new_figure(figsize=(channels * scale + 1.2, len(rows) * scale), dpi=100, layout="constrained")
    axes = fig.subplots(len(rows), channels, squeeze=False)
    for r, (name, t) in enumerate(rows.items()):
        for c in range(channels):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= t.shape[1]:
                ax.set_axis_off()
                continue
            ax.imshow(to_numpy(t[0, c]), cmap="gray")
            if r == 0:
                ax.set_title(f"channel {c}", fontsize=7)
        axes[r, 0].set_ylabel(f"{name}\n{t.shape[2]}×{t.shape[3]}", fontsize=8, rotation=0, ha="right", va="center")
    return fig
