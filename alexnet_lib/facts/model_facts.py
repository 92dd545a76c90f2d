"""Facts read off the models, for the fact check: shapes, parameter counts, layer order, widths.

Each function takes a model's name, one of :func:`alexnet_lib.models.list_models`: LeNet,
AlexNet and ZFNet, and torchvision's VGG, GoogLeNet, Inception v3 and ResNet. Models are built
by ``models.get(name, device="meta")``, on PyTorch's ``meta`` device (shapes only: no memory,
no download, a few milliseconds); each model's layer table is computed once.
Layers are named as in the paper, ``conv1`` ... ``conv5``, ``fc6`` ... ``fc8``; in the
two-tower model a convolution's name means GPU 0's half.

>>> output_shape("alexnet_2012_two_tower", "conv1"), weight_shape("alexnet_2012", "conv2")
((48, 55, 55), (256, 48, 5, 5))
>>> block_order("alexnet_2012", "conv1"), normalised_after("alexnet_keras_bn")
(('conv', 'LRN', 'max-pool'), ('conv1', 'conv2', 'conv5'))
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd
import torch
from torch import nn

from .. import models
from ..course.photos import load_photo
from ..course.tables import layer_table

__all__ = [
    "PAPER_LAYERS", "block_order", "both_gpus_params", "conv_widths", "count_modules", "layer_rows",
    "n_params", "normalised_after", "output_shape", "params", "swap_pool_and_lrn", "weight_shape",
]

PAPER_LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")
TWO_TOWER = "alexnet_2012_two_tower"


def n_params(model: nn.Module) -> int:
    """Every weight and bias of ``model``; buffers (BatchNorm's running statistics) are not parameters.

    >>> n_params(models.get("vgg19", device="meta"))
    143667240
    """
    return sum(p.numel() for p in model.parameters())


@lru_cache(maxsize=None)
def layer_rows(name: str) -> pd.DataFrame:
    """:func:`alexnet_lib.course.tables.layer_table` of model ``name`` at its native input, indexed by layer name."""
    model = models.get(name, device="meta")
    return layer_table(model, model.input_size).set_index("name")


def _full_name(name: str, layer: str) -> str:
    """The layer table's name of ``layer``: ``conv1`` -> ``features.conv1``; in the two towers, GPU 0's."""
    if layer.startswith("fc"):
        full = f"classifier.{layer}"
    elif name == TWO_TOWER:
        full = f"features.gpu0.stage{1 if layer in ('conv1', 'pool1', 'conv2', 'pool2') else 2}.{layer}"
    else:
        full = f"features.{layer}"
    if full not in layer_rows(name).index:
        known = [n.split(".")[-1] for n in layer_rows(name).index if n.startswith(("features.", "classifier."))]
        raise ValueError(f"{name} has no layer {layer!r}; name one of {', '.join(dict.fromkeys(known))}.")
    return full


def output_shape(name: str, layer: str) -> tuple[int, ...]:
    """The output shape of ``layer`` of model ``name`` for one image, ``(C, H, W)`` or ``(units,)``.

    >>> output_shape("alexnet_2012", "pool5"), output_shape("alexnet_2012", "fc6")
    ((256, 6, 6), (4096,))
    >>> output_shape("alexnet_2012", "conv9")
    Traceback (most recent call last):
    ...
    ValueError: alexnet_2012 has no layer 'conv9'; name one of pad1, conv1, relu1, norm1, pool1, conv2, relu2, norm2, pool2, conv3, relu3, conv4, relu4, conv5, relu5, pool5, fc6, relu6, drop6, fc7, relu7, drop7, fc8.
    """
    return tuple(int(v) for v in layer_rows(name).loc[_full_name(name, layer), "output_shape"])


def params(name: str, layer: str) -> int:
    """The parameters (weights and biases) of ``layer`` of model ``name``.

    >>> params("alexnet_2012", "conv2"), params("alexnet", "conv2")  # two groups of 48-deep kernels, or 96-deep
    (307456, 614656)
    """
    return int(layer_rows(name).loc[_full_name(name, layer), "params"])


def weight_shape(name: str, layer: str) -> tuple[int, ...]:
    """The shape of the weight of ``layer``: ``(kernels, depth, k, k)`` or ``(outputs, inputs)``."""
    return tuple(models.get(name, device="meta").get_submodule(_full_name(name, layer)).weight.shape)


def both_gpus_params(layer: str) -> tuple[int, int]:
    """(both GPUs, GPU 0) parameters of ``layer`` in the two-tower model; fc6 to fc8 are one matrix each.

    >>> both_gpus_params("conv1"), both_gpus_params("fc8")
    ((34944, 17472), (4097000, 4097000))
    """
    mine = params(TWO_TOWER, layer)
    if layer.startswith("fc"):
        return mine, mine
    other = _full_name(TWO_TOWER, layer).replace("gpu0", "gpu1")
    return mine + int(layer_rows(TWO_TOWER).loc[other, "params"]), mine


_KINDS = ((nn.Conv2d, "conv"), (nn.LocalResponseNorm, "LRN"), (nn.BatchNorm2d, "BatchNorm"), (nn.MaxPool2d, "max-pool"))


def block_order(name: str, conv: str) -> tuple[str, ...]:
    """``conv`` and what follows it in ``features`` up to the next convolution, ReLU and padding left out."""
    kinds, started = [], False
    for child_name, child in models.get(name, device="meta").features.named_children():
        kind = next((k for cls, k in _KINDS if isinstance(child, cls)), None)
        if kind == "conv" and started:
            break
        started = started or child_name == conv
        if started and kind:
            kinds.append(kind)
    return tuple(kinds)


def normalised_after(name: str) -> tuple[str, ...]:
    """The convolutions of model ``name`` whose block holds a normalisation (LRN or BatchNorm)."""
    return tuple(c for c in PAPER_LAYERS[:5] if {"LRN", "BatchNorm"} & set(block_order(name, c)))


def count_modules(name: str, kind: type[nn.Module]) -> int:
    """How many modules of ``kind`` model ``name`` has, at any depth.

    >>> count_modules("alexnet_2012", nn.Dropout), count_modules("googlenet", nn.Linear)
    (2, 1)
    """
    return sum(isinstance(m, kind) for m in models.get(name, device="meta").modules())


def conv_widths(name: str) -> tuple[int, ...]:
    """The number of kernels of each convolution of model ``name``, in order.

    >>> conv_widths("torchvision_alexnet"), conv_widths("zfnet_2013")
    ((64, 192, 384, 256, 256), (96, 256, 384, 384, 256))
    """
    return tuple(m.out_channels for m in models.get(name, device="meta").modules() if isinstance(m, nn.Conv2d))


def swap_pool_and_lrn(seed: int = 0) -> dict[str, float]:
    """conv1 -> ReLU of ``alexnet_2012`` on the sample photo, then LRN -> pool (the paper) or pool -> LRN.

    The photo is 224×224 with values 0 to 255, less each channel's mean (the paper feeds raw
    pixels less the mean, Section 2). Returns the largest difference between the two orders
    relative to the largest output, the share of outputs that differ by more than a millionth
    of it, and how many values each order normalises.

    >>> swapped = swap_pool_and_lrn()
    >>> swapped["largest_difference"] > 0, swapped["normalised_paper"], swapped["normalised_swapped"]
    (True, 290400, 69984)
    """
    model = models.get("alexnet_2012", seed=seed).eval()
    photo = load_photo(side=224) * 255
    x = (photo - photo.mean((1, 2), keepdim=True)).unsqueeze(0)
    f = model.features
    with torch.no_grad():
        maps = f.relu1(f.conv1(f.pad1(x)))
        paper, swapped = f.pool1(f.norm1(maps)), f.norm1(f.pool1(maps))
    gap, scale = (paper - swapped).abs(), paper.abs().max()
    return {"largest_difference": float(gap.max() / scale), "share_differing": float((gap > 1e-6 * scale).float().mean()),
            "normalised_paper": maps.numel(), "normalised_swapped": f.pool1(maps).numel()}
