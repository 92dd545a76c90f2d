"""AlexNet as published in 2012 (grouped and as two towers), as taught, as others rebuilt it, and ZFNet.

Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep Convolutional Neural Networks", NIPS 2012:
Sections 3 (3.2 two GPUs, 3.3 LRN, 3.4 pooling, 3.5 and Figure 2 the layers), 4.2 (dropout), 5 (initialisation).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping
from functools import partial

import torch
from torch import nn

from .config import seeded
from .convnet import ConvNet, check_input, check_positive
from .shapes import same_padding

LRN_SIZE, LRN_ALPHA, LRN_BETA, LRN_K = 5, 1e-4, 0.75, 2.0  # Section 3.3: n, α, β, k
WEIGHT_STD, BIAS_ONE_LAYERS = 0.01, ("conv2", "conv4", "conv5", "fc6", "fc7")  # Section 5, as in facts.paper (tested)


def local_response_norm_as_printed(x: torch.Tensor, size: int = LRN_SIZE, alpha: float = LRN_ALPHA,
                                   beta: float = LRN_BETA, k: float = LRN_K) -> torch.Tensor:
    """Section 3.3 as printed: ``b_i = a_i / (k + alpha * Σ_j a_j²) ** beta``, j over the ``size`` maps around ``i`` (clipped).

    >>> x = torch.randn(2, 7, 3, 3)
    >>> torch.allclose(local_response_norm_as_printed(x), nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)(x))
    True
    """
    channels, out = x.shape[1], torch.empty_like(x)
    for i in range(channels):
        lo, hi = max(0, i - size // 2), min(channels - 1, i + (size - 1) // 2)
        out[:, i] = x[:, i] / (k + alpha * (x[:, lo : hi + 1] ** 2).sum(1)) ** beta
    return out


class GroupedLocalResponseNorm(nn.LocalResponseNorm):
    """``nn.LocalResponseNorm`` on each of ``groups`` blocks of maps: each GPU normalises its own half (Section 3.2).

    >>> x, plain = torch.randn(1, 8, 2, 2), nn.LocalResponseNorm(5, k=2.0)
    >>> torch.allclose(GroupedLocalResponseNorm(5, k=2.0, groups=2)(x), torch.cat([plain(x[:, :4]), plain(x[:, 4:])], 1))
    True
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0, groups: int = 1) -> None:
        super().__init__(size, alpha, beta, k)
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] % self.groups:
            raise ValueError(f"{x.shape[1]} maps cannot be split into groups={self.groups} equal blocks.")
        return torch.cat([nn.LocalResponseNorm.forward(self, block) for block in x.chunk(self.groups, 1)], 1)

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", groups={self.groups}" if self.groups != 1 else "")


def cuda_convnet_padding(input_size: int, kernel_size: int = 11, stride: int = 4) -> int:
    """Zeros right of and below the image that give PyTorch, which rounds down, cuda-convnet's windows: 224 gives 55.

    >>> cuda_convnet_padding(224)  # (224 - 11) / 4 = 53.25: the 55th window needs 3 more pixels
    3
    >>> cuda_convnet_padding(227)  # Caffe's 227: (227 - 11) / 4 = 54 exactly, nothing to add
    0
    """
    return (-(input_size - kernel_size)) % stride


def _layers(*layers: tuple[str, nn.Module]) -> nn.Sequential:
    return nn.Sequential(OrderedDict(layers))


def _stage(i: int, conv: nn.Conv2d, **after: nn.Module) -> list[tuple[str, nn.Module]]:
    """``conv{i}`` -> ``relu{i}`` -> the ``after`` layers in order, named with ``i`` (``pool=`` gives ``pool1``)."""
    return [(f"conv{i}", conv), (f"relu{i}", nn.ReLU()), *((f"{kind}{i}", layer) for kind, layer in after.items())]


def _weighted_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, layer) for name, layer in model.named_modules() if isinstance(layer, (nn.Conv2d, nn.Linear))]


def _conv1_to_pool2(input_size: int, widths: tuple[int, int], groups: int) -> list[tuple[str, nn.Module]]:
    """conv1 to pool2 as published: ``widths=(96, 256), groups=2`` is both GPUs, ``(48, 128), 1`` one GPU's half."""
    pad, lrn = cuda_convnet_padding(input_size), partial(GroupedLocalResponseNorm, LRN_SIZE, LRN_ALPHA, LRN_BETA, LRN_K)
    return [*([("pad1", nn.ZeroPad2d((0, pad, 0, pad)))] if pad else []),  # see AlexNet2012 on 224 or 227
            *_stage(1, nn.Conv2d(3, widths[0], kernel_size=11, stride=4), norm=lrn(groups), pool=nn.MaxPool2d(3, 2)),
            *_stage(2, nn.Conv2d(widths[0], widths[1], kernel_size=5, padding=2, groups=groups),  # within each GPU
                    norm=lrn(groups), pool=nn.MaxPool2d(3, 2))]


def conv3_to_relu5(widths: tuple[int, int, int] = (384, 384, 256), groups: int = 1, in_channels: int = 256
                   ) -> list[tuple[str, nn.Module]]:
    """conv3 to relu5, every AlexNet's three 3×3 convolutions; ``groups=2`` keeps conv4 and conv5 within each GPU.

    >>> [name for name, _ in conv3_to_relu5()], conv3_to_relu5(groups=2)[2][1].groups
    (['conv3', 'relu3', 'conv4', 'relu4', 'conv5', 'relu5'], 2)
    """
    c3, c4, c5 = widths
    return [*_stage(3, nn.Conv2d(in_channels, c3, kernel_size=3, padding=1)),  # reads both GPUs
            *_stage(4, nn.Conv2d(c3, c4, kernel_size=3, padding=1, groups=groups)),
            *_stage(5, nn.Conv2d(c4, c5, kernel_size=3, padding=1, groups=groups))]


def alexnet_classifier(in_features: int, hidden: int, num_classes: int, dropout: float) -> nn.Sequential:
    """fc6 -> ReLU -> dropout -> fc7 -> ReLU -> dropout -> fc8: dropout on the hidden layers' outputs (Section 4.2).

    >>> [name for name, _ in alexnet_classifier(9216, 4096, 1000, dropout=0.5).named_children()]
    ['fc6', 'relu6', 'drop6', 'fc7', 'relu7', 'drop7', 'fc8']
    """
    return _layers(("fc6", nn.Linear(in_features, hidden)), ("relu6", nn.ReLU()), ("drop6", nn.Dropout(dropout)),
                   ("fc7", nn.Linear(hidden, hidden)), ("relu7", nn.ReLU()), ("drop7", nn.Dropout(dropout)),
                   ("fc8", nn.Linear(hidden, num_classes)))


def init_2012(model: nn.Module, seed: int | None = None) -> nn.Module:
    """The paper's initialisation (Section 5), in place, of the layers named as in AlexNet2012; ``seed=None``: global RNG.

    >>> model = init_2012(nn.Sequential(OrderedDict(conv1=nn.Conv2d(3, 8, 3), conv2=nn.Conv2d(8, 8, 3))), seed=0)
    >>> model.conv1.bias.unique().tolist(), model.conv2.bias.unique().tolist()
    ([0.0], [1.0])
    """
    layers = [(name.rsplit(".", 1)[-1], layer) for name, layer in _weighted_layers(model)]
    if not any(name in BIAS_ONE_LAYERS for name, _ in layers):
        raise ValueError(f"init_2012 finds layers by the paper's names ({', '.join(BIAS_ONE_LAYERS)}) and "
                         f"{type(model).__name__} has none of them: name its layers as AlexNet2012 does.")
    with seeded(seed), torch.no_grad():
        for name, layer in layers:
            layer.weight.normal_(0.0, WEIGHT_STD)
            if layer.bias is not None:
                layer.bias.fill_(1.0 if name in BIAS_ONE_LAYERS else 0.0)  # 1s give "the ReLUs with positive inputs"
    return model


def check_alexnet_arguments(model_name: str, num_classes: int, input_size: int, dropout: float | None = None) -> None:
    """A ``ValueError`` unless ``num_classes`` and ``input_size`` are whole numbers >= 1 and ``dropout`` a probability.

    >>> check_alexnet_arguments("alexnet", 10, 224, dropout=1.5)
    Traceback (most recent call last):
    ValueError: alexnet: dropout=1.5 is a probability of zeroing a unit: use 0 <= dropout < 1 (the paper's is 0.5).
    """
    check_positive("num_classes", num_classes, model_name, "one output per class")
    check_positive("input_size", input_size, model_name, "the image side in pixels")
    if dropout is not None and not (isinstance(dropout, (int, float)) and 0 <= dropout < 1):
        raise ValueError(f"{model_name}: dropout={dropout!r} is a probability of zeroing a unit: "
                         "use 0 <= dropout < 1 (the paper's is 0.5).")


class AlexNet2012(ConvNet):
    """AlexNet as published (Section 3, Figure 2), its two GPUs (3.2) as groups: 60,965,224 parameters at 224, 1,000 classes.

    **LRN's α.** Section 3.3 prints α = 1e-4 times the *sum* of 5 squares; PyTorch's LRN takes ``α / n`` times it, as
    did the paper's code (cuda-convnet's ``layer.py`` divides ``scale`` by ``size``; ``scale=0.0001, size=5, pow=0.75``).

    **224 or 227.** The paper has 224×224 inputs and 55×55 maps after conv1, but (224 - 11) / 4 + 1 = 54.25: cuda-convnet
    rounded up, its last windows reading 3 zeros past the right and bottom edges (``pad1``, :func:`cuda_convnet_padding`).
    Caffe's 227 needs none; torchvision pads 2 all round. Built for 224, the model takes sides 224 to 255: 6×6 at pool5.

    >>> model = AlexNet2012()
    >>> model.feature_shape(), sum(p.numel() for p in model.parameters())
    ((256, 6, 6), 60965224)
    """

    def __init__(self, num_classes: int = 1000, input_size: int = 224) -> None:
        check_alexnet_arguments("alexnet_2012", num_classes, input_size)
        super().__init__("alexnet_2012", (3, input_size, input_size))
        self.features = _layers(*_conv1_to_pool2(input_size, widths=(96, 256), groups=2),
                                *conv3_to_relu5(groups=2), ("pool5", nn.MaxPool2d(3, 2)))
        self.avgpool = nn.Identity()  # the paper has no pooling between pool5 and fc6
        self.classifier = alexnet_classifier(math.prod(self.feature_shape()), 4096, num_classes, dropout=0.5)
        init_2012(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x)  # a wrong shape gets a message that names the smallest valid input
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))  # 256×6×6 = 9,216 values


class _Tower(nn.Module):
    """One GPU's half of :class:`AlexNet2012TwoTower`: ``stage1`` before the first exchange, ``stage2`` after it."""

    def __init__(self, input_size: int) -> None:
        super().__init__()
        self.stage1 = _layers(*_conv1_to_pool2(input_size, widths=(48, 128), groups=1))
        self.stage2 = _layers(*conv3_to_relu5(widths=(192, 192, 128)), ("pool5", nn.MaxPool2d(3, 2)))


class TwoTowerFeatures(nn.Module):
    """The two-GPU network's convolutions: towers ``gpu0``, ``gpu1``, each seeing the whole image, exchanging maps twice.

    >>> TwoTowerFeatures(224)(torch.zeros(1, 3, 224, 224)).shape
    torch.Size([1, 256, 6, 6])
    """

    def __init__(self, input_size: int) -> None:
        super().__init__()
        self.gpu0, self.gpu1 = _Tower(input_size), _Tower(input_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        both = torch.cat([self.gpu0.stage1(x), self.gpu1.stage1(x)], 1)  # exchange 1: conv3 reads all 256 maps
        return torch.cat([self.gpu0.stage2(both), self.gpu1.stage2(both)], 1)  # exchange 2: fc6 reads both pool5s


class AlexNet2012TwoTower(ConvNet):
    """:class:`AlexNet2012` with its GPUs written out as two towers (Section 3.2, Figure 2): the same parameters and outputs.

    >>> sum(p.numel() for p in AlexNet2012TwoTower().parameters())
    60965224
    """

    def __init__(self, num_classes: int = 1000, input_size: int = 224) -> None:
        check_alexnet_arguments("alexnet_2012_two_tower", num_classes, input_size)
        super().__init__("alexnet_2012_two_tower", (3, input_size, input_size))
        self.features = TwoTowerFeatures(input_size)
        self.avgpool = nn.Identity()
        self.classifier = alexnet_classifier(math.prod(self.feature_shape()), 4096, num_classes, dropout=0.5)
        init_2012(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x)  # a wrong shape gets a message that names the smallest valid input
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))  # fc6 reads both towers


def two_tower_state_dict(grouped: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A grouped :class:`AlexNet2012`'s state dict for :class:`AlexNet2012TwoTower`: group 0's kernels to ``gpu0``.

    >>> state = two_tower_state_dict(AlexNet2012().state_dict())
    >>> state["features.gpu0.stage1.conv2.weight"].shape, state["features.gpu1.stage2.conv3.weight"].shape
    (torch.Size([128, 48, 5, 5]), torch.Size([192, 256, 3, 3]))
    """
    stage = {"conv1": 1, "conv2": 1, "conv3": 2, "conv4": 2, "conv5": 2}
    out: dict[str, torch.Tensor] = {}
    for key, value in grouped.items():
        layer = key.split(".")[1] if key.startswith("features.") else None
        if layer in stage:  # split by output maps; conv3's kernels read all 256, in the order the towers concatenate
            for gpu, half in enumerate(value.chunk(2, dim=0)):
                out[f"features.gpu{gpu}.stage{stage[layer]}.{key.removeprefix('features.')}"] = half.clone()
        else:
            out[key] = value
    return out


class AlexNet(ConvNet):
    """AlexNet as usually taught (Dive into Deep Learning): one tower, no LRN; conv1 pads ``conv1_padding`` (torchvision's 2).

    >>> sum(p.numel() for p in AlexNet().parameters())
    62378344
    """

    accepts_in_channels = True

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, dropout: float = 0.5,
                 conv1_padding: int = 2, model_name: str = "alexnet", init: str = "pytorch") -> None:
        check_alexnet_arguments(model_name, num_classes, input_size, dropout)
        check_positive("in_channels", in_channels, model_name, "1 for greyscale, 3 for colour")
        if init not in ("pytorch", "xavier"):
            raise ValueError(f"{model_name}: init={init!r} is not one of 'pytorch', 'xavier'.")
        super().__init__(model_name, (in_channels, input_size, input_size))
        self.features = _layers(
            *_stage(1, nn.Conv2d(in_channels, 96, kernel_size=11, stride=4, padding=conv1_padding), pool=nn.MaxPool2d(3, 2)),
            *_stage(2, nn.Conv2d(96, 256, kernel_size=5, padding=2), pool=nn.MaxPool2d(3, 2)),
            *conv3_to_relu5(), ("pool5", nn.MaxPool2d(3, 2)))
        self.avgpool = nn.Identity()
        self.classifier = alexnet_classifier(math.prod(self.feature_shape()), 4096, num_classes, dropout)
        if init == "xavier":  # Dive into Deep Learning's init_cnn: every weight Xavier-uniform
            for _, layer in _weighted_layers(self):
                nn.init.xavier_uniform_(layer.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x)  # a wrong shape gets a message that names the smallest valid input
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))  # 256×6×6 at 224


class AlexNetKerasBN(ConvNet):
    """The AlexNet of many Keras blog posts: ``padding='same'`` and BatchNorm after conv1, conv2, conv5.

    >>> sum(p.numel() for p in AlexNetKerasBN().parameters())  # AlexNet's and 1,216 for 608 BatchNorm maps
    62379560
    """

    def __init__(self, num_classes: int = 1000, input_size: int = 224, dropout: float = 0.5) -> None:
        check_alexnet_arguments("alexnet_keras_bn", num_classes, input_size, dropout)
        super().__init__("alexnet_keras_bn", (3, input_size, input_size))
        (before, after), bn = same_padding(input_size, 11, s=4), partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01)
        self.features = _layers(  # bn: Keras's epsilon=1e-3, momentum=0.99 (PyTorch's momentum weights the new batch)
            ("pad1", nn.ZeroPad2d((before, after, before, after))),  # TensorFlow's 'same': at 224, 3 before, 4 after -> 56
            *_stage(1, nn.Conv2d(3, 96, kernel_size=11, stride=4), bn=bn(96), pool=nn.MaxPool2d(3, 2)),
            *_stage(2, nn.Conv2d(96, 256, kernel_size=5, padding=2), bn=bn(256), pool=nn.MaxPool2d(3, 2)),
            *conv3_to_relu5(), ("bn5", bn(256)), ("pool5", nn.MaxPool2d(3, 2)))
        self.avgpool = nn.Identity()
        self.classifier = alexnet_classifier(math.prod(self.feature_shape()), 4096, num_classes, dropout)
        for _, layer in _weighted_layers(self):  # Keras's defaults: glorot_uniform kernels, zero biases
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x)  # a wrong shape gets a message that names the smallest valid input
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))  # logits; the softmax is in F.cross_entropy


class AlexNetCPU(ConvNet):
    """AlexNet's eight layers at laptop scale, this course's own: 64×64 greyscale, about 1.1 million parameters.

    No LRN (Simonyan and Zisserman 2014 found it did not help). conv1 5×5 / 2 keeps the paper's maps: 64, 32, 15, 15, 7,
    7, 3 as 224, 55, 27, 27, 13, 13, 6; widths a quarter to a third of the paper's: 29 million MACs an image, not 720 million.

    >>> sum(p.numel() for p in AlexNetCPU().parameters())
    1094890
    """

    accepts_in_channels = True

    def __init__(self, num_classes: int = 10, in_channels: int = 1, input_size: int = 64,
                 widths: tuple[int, int, int, int, int] = (32, 64, 128, 128, 96), fc_width: int = 512,
                 dropout: float = 0.5) -> None:
        name, widths = "alexnet_cpu", tuple(widths)
        check_alexnet_arguments(name, num_classes, input_size, dropout)
        check_positive("in_channels", in_channels, name, "1 for greyscale, 3 for colour")
        check_positive("fc_width", fc_width, name, "units in fc6 and fc7")
        if len(widths) != 5:
            raise ValueError(f"{name}: widths={widths!r} needs 5 numbers, the kernels of conv1 to conv5.")
        for i, width in enumerate(widths):
            check_positive(f"widths[{i}] (conv{i + 1})", width, name, "kernels in that convolution")
        super().__init__(name, (in_channels, input_size, input_size))
        self.features = _layers(
            *_stage(1, nn.Conv2d(in_channels, widths[0], kernel_size=5, stride=2, padding=2), pool=nn.MaxPool2d(3, 2)),
            *_stage(2, nn.Conv2d(widths[0], widths[1], kernel_size=5, padding=2), pool=nn.MaxPool2d(3, 2)),
            *conv3_to_relu5(widths[2:], in_channels=widths[1]), ("pool5", nn.MaxPool2d(3, 2)))
        self.avgpool = nn.Identity()
        self.classifier = alexnet_classifier(math.prod(self.feature_shape()), fc_width, num_classes, dropout)
        for layer_name, layer in _weighted_layers(self):  # He et al. 2015: PyTorch's default stayed at chance for two epochs
            if layer_name.endswith("fc8"):
                nn.init.normal_(layer.weight, std=0.01)
            else:
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x)  # a wrong shape gets a message that names the smallest valid input
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))  # pool5's 96×3×3 = 864 values at 64


class ZFNet2013(ConvNet):
    """ZFNet: Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks" (2013), Fig. 3.

    AlexNet with conv1 7×7 / 2, conv2 5×5 / 2 and LRN after pooling. Where the paper is silent, chosen to give Fig. 3's
    map sizes (110, 55, 26, 13, 13, 13, 6): conv1 pads 1, pooling rounds up (as Caffe's), AlexNet's LRN and classifier.

    >>> sum(p.numel() for p in ZFNet2013().parameters())
    62357608
    """

    def __init__(self, num_classes: int = 1000, input_size: int = 224) -> None:
        check_alexnet_arguments("zfnet_2013", num_classes, input_size)
        super().__init__("zfnet_2013", (3, input_size, input_size))
        lrn = partial(nn.LocalResponseNorm, LRN_SIZE, LRN_ALPHA, LRN_BETA, LRN_K)  # after pooling, unlike AlexNet's
        pool = partial(nn.MaxPool2d, 3, 2, ceil_mode=True)
        self.features = _layers(
            *_stage(1, nn.Conv2d(3, 96, kernel_size=7, stride=2, padding=1), pool=pool(), norm=lrn()),  # was 11×11 / 4
            *_stage(2, nn.Conv2d(96, 256, kernel_size=5, stride=2), pool=pool(), norm=lrn()),
            *conv3_to_relu5(), ("pool5", pool()))
        self.avgpool = nn.Identity()
        self.classifier = alexnet_classifier(math.prod(self.feature_shape()), 4096, num_classes, dropout=0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x)  # a wrong shape gets a message that names the smallest valid input
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))  # 256×6×6 at 224, as in AlexNet
