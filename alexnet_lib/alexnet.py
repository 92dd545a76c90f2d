"""AlexNet: as published in 2012 (grouped and as two towers), and as taught.

Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep Convolutional Neural
Networks", NIPS 2012. Section 3 describes the architecture (3.2 the two GPUs, 3.3 local
response normalisation, 3.4 overlapping pooling, 3.5 the layers and Figure 2), Section 4.2
dropout and Section 5 the initialisation. The paper's code was cuda-convnet, whose
``layer.py`` settles two details the paper leaves open (the 224 vs 227 puzzle and LRN's α;
see :class:`AlexNet2012`).

Every model here has torchvision's shape: ``features``, ``avgpool``, ``classifier``, and its
own ``forward``. The AlexNets that tutorials print (Keras's with BatchNorm) and this course's
CPU-scale one are in :mod:`alexnet_lib.alexnet_variants`. :class:`ZFNet2013` closes the file:
AlexNet retuned a year later (Zeiler and Fergus 2013).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .config import seeded
from .convnet import ConvNet, check_input, check_positive

__all__ = [
    "conv3_to_relu5",
    "AlexNet",
    "AlexNet2012",
    "AlexNet2012TwoTower",
    "GroupedLocalResponseNorm",
    "TwoTowerFeatures",
    "ZFNet2013",
    "alexnet_classifier",
    "check_alexnet_arguments",
    "cuda_convnet_padding",
    "init_2012",
    "local_response_norm_as_printed",
    "two_tower_state_dict",
]

# Section 3.3: k = 2, n = 5, alpha = 1e-4, beta = 0.75.
LRN_K, LRN_SIZE, LRN_ALPHA, LRN_BETA = 2.0, 5, 1e-4, 0.75


def local_response_norm_as_printed(
    x: torch.Tensor, size: int = LRN_SIZE, alpha: float = LRN_ALPHA, beta: float = LRN_BETA, k: float = LRN_K
) -> torch.Tensor:
    """The paper's response normalisation exactly as printed in Section 3.3, one map at a time.

    ``b_i = a_i / (k + alpha * Σ_j a_j²) ** beta``, the sum over the ``size`` maps around ``i``
    (clipped at the first and last map). Note: ``alpha`` multiplies the sum itself;
    ``nn.LocalResponseNorm`` multiplies the *mean*, ``alpha / size`` times the sum.

    >>> x = torch.randn(2, 7, 3, 3)
    >>> torch.allclose(local_response_norm_as_printed(x), nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)(x))
    True
    """
    channels = x.shape[1]
    out = torch.empty_like(x)
    for i in range(channels):
        lo, hi = max(0, i - size // 2), min(channels - 1, i + (size - 1) // 2)
        squares = (x[:, lo : hi + 1] ** 2).sum(1)
        out[:, i] = x[:, i] / (k + alpha * squares) ** beta
    return out


class GroupedLocalResponseNorm(nn.LocalResponseNorm):
    """``nn.LocalResponseNorm`` applied to each of ``groups`` blocks of maps on its own.

    In the two-GPU network each GPU normalises its own half of the maps: the GPUs exchange
    data only at conv3 and the fully connected layers (Section 3.2), so the normalisation
    after conv1 and conv2 cannot reach across. ``groups=2`` does the same in one module.

    >>> norm = GroupedLocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0, groups=2)
    >>> x = torch.randn(1, 8, 2, 2)
    >>> plain = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)
    >>> torch.allclose(norm(x), torch.cat([plain(x[:, :4]), plain(x[:, 4:])], 1))
    True
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0, groups: int = 1) -> None:
        super().__init__(size, alpha, beta, k)
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.groups == 1:
            return super().forward(x)
        if x.shape[1] % self.groups:
            raise ValueError(f"{x.shape[1]} maps cannot be split into groups={self.groups} equal blocks.")
        parts = x.chunk(self.groups, 1)
        return torch.cat([F.local_response_norm(p, self.size, self.alpha, self.beta, self.k) for p in parts], 1)

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", groups={self.groups}" if self.groups != 1 else "")


def cuda_convnet_padding(input_size: int, kernel_size: int = 11, stride: int = 4) -> int:
    """Zeros that cuda-convnet's arithmetic adds after (right of, below) the image: how 224 gives 55.

    cuda-convnet counts a convolution's positions as ``1 + ceil((n + 2p - k) / s)`` (its
    ``layer.py``), rounding *up*, so with ``p = 0`` the last window may hang over the
    image's right and bottom edges and read zeros there. PyTorch rounds down; padding the
    right and bottom by this many zeros gives the same windows.

    >>> cuda_convnet_padding(224)  # (224 - 11) / 4 = 53.25: the 55th window needs 3 more pixels
    3
    >>> cuda_convnet_padding(227)  # Caffe's 227: (227 - 11) / 4 = 54 exactly, nothing to add
    0
    """
    return (-(input_size - kernel_size)) % stride


def _conv1_padding_layer(input_size: int) -> list[tuple[str, nn.Module]]:
    pad = cuda_convnet_padding(input_size)
    return [("pad1", nn.ZeroPad2d((0, pad, 0, pad)))] if pad else []


def alexnet_classifier(in_features: int, hidden: int, num_classes: int, dropout: float) -> nn.Sequential:
    """fc6 -> ReLU -> dropout -> fc7 -> ReLU -> dropout -> fc8: dropout on the hidden layers' outputs (Section 4.2).

    >>> [name for name, _ in alexnet_classifier(9216, 4096, 1000, dropout=0.5).named_children()]
    ['fc6', 'relu6', 'drop6', 'fc7', 'relu7', 'drop7', 'fc8']
    """
    return nn.Sequential(
        OrderedDict(
            [
                ("fc6", nn.Linear(in_features, hidden)),
                ("relu6", nn.ReLU()),
                ("drop6", nn.Dropout(dropout)),
                ("fc7", nn.Linear(hidden, hidden)),
                ("relu7", nn.ReLU()),
                ("drop7", nn.Dropout(dropout)),
                ("fc8", nn.Linear(hidden, num_classes)),
            ]
        )
    )


def _lrn(groups: int) -> GroupedLocalResponseNorm:
    return GroupedLocalResponseNorm(LRN_SIZE, alpha=LRN_ALPHA, beta=LRN_BETA, k=LRN_K, groups=groups)


def _conv1_to_pool2(input_size: int, widths: tuple[int, int], groups: int) -> list[tuple[str, nn.Module]]:
    """conv1 to pool2 as the paper has them: ``widths=(96, 256), groups=2`` is both GPUs, ``(48, 128), 1`` one GPU's half."""
    return [
        *_conv1_padding_layer(input_size),
        ("conv1", nn.Conv2d(3, widths[0], kernel_size=11, stride=4)),
        ("relu1", nn.ReLU()),
        ("norm1", _lrn(groups=groups)),
        ("pool1", nn.MaxPool2d(kernel_size=3, stride=2)),
        ("conv2", nn.Conv2d(widths[0], widths[1], kernel_size=5, padding=2, groups=groups)),  # each GPU reads its own maps
        ("relu2", nn.ReLU()),
        ("norm2", _lrn(groups=groups)),
        ("pool2", nn.MaxPool2d(kernel_size=3, stride=2)),
    ]


def conv3_to_relu5(widths: tuple[int, int, int] = (384, 384, 256), groups: int = 1) -> list[tuple[str, nn.Module]]:
    """conv3 to relu5, the three 3×3 convolutions every AlexNet has, on pool2's 256 maps.

    ``groups=2`` keeps conv4 and conv5 within each GPU, as in the paper; conv3 reads all maps.

    >>> [name for name, _ in conv3_to_relu5()], conv3_to_relu5(groups=2)[2][1].groups
    (['conv3', 'relu3', 'conv4', 'relu4', 'conv5', 'relu5'], 2)
    """
    return [
        ("conv3", nn.Conv2d(256, widths[0], kernel_size=3, padding=1)),  # reads both GPUs
        ("relu3", nn.ReLU()),
        ("conv4", nn.Conv2d(widths[0], widths[1], kernel_size=3, padding=1, groups=groups)),
        ("relu4", nn.ReLU()),
        ("conv5", nn.Conv2d(widths[1], widths[2], kernel_size=3, padding=1, groups=groups)),
        ("relu5", nn.ReLU()),
    ]


# Section 5 of the paper: every weight from a zero-mean Gaussian with standard deviation 0.01; the
# biases of conv2, conv4, conv5 and the fully connected hidden layers at 1, every other bias at 0.
# (alexnet_lib.facts.paper states the same facts with their section; tests/test_paper.py checks the two agree.)
WEIGHT_STD = 0.01
BIAS_ONE_LAYERS = ("conv2", "conv4", "conv5", "fc6", "fc7")


def init_2012(model: nn.Module, seed: int | None = None) -> nn.Module:
    """The paper's initialisation (Section 5), in place: every weight from N(0, 0.01); biases 1 or 0.

    The biases of conv2, conv4, conv5 and the fully connected hidden layers (fc6, fc7) start
    at 1, "providing the ReLUs with positive inputs" early in training; every other bias at 0.
    The layers are found by the last part of their names (``features.conv2``,
    ``features.gpu0.stage1.conv2``), as :class:`AlexNet2012` and its two-tower form name them.
    ``seed`` draws the same weights every time (``None``: PyTorch's global generator).
    Returns ``model``.

    >>> model = init_2012(nn.Sequential(OrderedDict(conv1=nn.Conv2d(3, 8, 3), conv2=nn.Conv2d(8, 8, 3))), seed=0)
    >>> model.conv1.bias.unique().tolist(), model.conv2.bias.unique().tolist()
    ([0.0], [1.0])
    """
    layers = [(name.rsplit(".", 1)[-1], layer) for name, layer in model.named_modules()
              if isinstance(layer, (nn.Conv2d, nn.Linear))]
    if not any(name in BIAS_ONE_LAYERS for name, _ in layers):
        raise ValueError(f"init_2012 finds layers by the paper's names ({', '.join(BIAS_ONE_LAYERS)}) and "
                         f"{type(model).__name__} has none of them: name its layers as AlexNet2012 does.")
    with seeded(seed), torch.no_grad():
        for name, layer in layers:
            layer.weight.normal_(0.0, WEIGHT_STD)
            if layer.bias is not None:
                layer.bias.fill_(1.0 if name in BIAS_ONE_LAYERS else 0.0)
    return model


def check_alexnet_arguments(model_name: str, num_classes: int, input_size: int, dropout: float | None = None) -> None:
    """Check what every AlexNet takes: ``num_classes``, ``input_size`` whole numbers >= 1, ``dropout`` a probability.

    A wrong value raises a ``ValueError`` that names it and says what to use.

    >>> check_alexnet_arguments("alexnet", 10, 224, dropout=1.5)
    Traceback (most recent call last):
    ...
    ValueError: alexnet: dropout=1.5 is a probability of zeroing a unit: use 0 <= dropout < 1 (the paper's is 0.5).
    """
    check_positive("num_classes", num_classes, model_name, "one output per class")
    check_positive("input_size", input_size, model_name, "the image side in pixels")
    if dropout is not None and not (isinstance(dropout, (int, float)) and 0 <= dropout < 1):
        raise ValueError(f"{model_name}: dropout={dropout!r} is a probability of zeroing a unit: use 0 <= dropout < 1 (the paper's is 0.5).")


class AlexNet2012(ConvNet):
    """AlexNet as published (Krizhevsky et al. 2012, Section 3, Figure 2), both GPUs in one model.

    conv1 96 kernels 11×11×3 / 4 -> ReLU -> LRN -> max-pool 3/2 -> conv2 256 kernels 5×5×48
    -> ReLU -> LRN -> max-pool -> conv3 384 kernels 3×3×256 -> conv4 384 3×3×192 -> conv5 256
    3×3×192 -> max-pool -> fc6 4096 -> fc7 4096 -> fc8 ``num_classes``; ReLU after every layer
    but fc8; dropout 0.5 on fc6's and fc7's outputs; 60,965,224 parameters at 224×224×3 and
    1,000 classes.

    **Two GPUs as groups.** Half of each layer lived on each GPU; conv2, conv4 and conv5 read
    only the maps on their own GPU (``groups=2``), conv3 and the fully connected layers read
    both (Section 3.2). The normalisation after conv1 and conv2 also stays on its GPU
    (``GroupedLocalResponseNorm(groups=2)``). :class:`AlexNet2012TwoTower` spells the two
    towers out.

    **LRN's α.** Section 3.3 prints ``b = a / (k + α Σ a²)^β`` with α = 1e-4 on the *sum* of
    the 5 squares; PyTorch's ``nn.LocalResponseNorm`` (like Caffe's) uses ``α / n`` times the
    sum. We follow PyTorch's convention, ``nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75,
    k=2)``, because it is what the paper's own code computed: cuda-convnet divides the
    configured ``scale`` by ``size`` for cross-map normalisation (``layer.py``, ``dic['scale']
    /= dic['size']``), and Krizhevsky's published configurations set ``scale=0.0001``,
    ``size=5``, ``pow=0.75``, ``minDiv=2``, the paper's α, n, β and k. The printed formula is
    :func:`local_response_norm_as_printed`; ``alpha=5e-4`` would reproduce it.

    **224 or 227.** The paper says 224×224 inputs and 55×55 maps after conv1, but
    (224 - 11) / 4 + 1 = 54.25. cuda-convnet counted positions rounding up, 1 + ceil(213 / 4)
    = 55, so its last windows read 3 zeros past the right and bottom edges; we pad exactly
    those zeros (``pad1``, see :func:`cuda_convnet_padding`). With ``input_size=227``
    (Caffe's choice) no padding is needed: (227 - 11) / 4 + 1 = 55. torchvision instead
    pads 2 pixels on every side of 224. All three give 55×55×96 and the same parameters,
    and the model built for 224 also takes 227-pixel crops (any side from 224 to 255 gives
    6×6 maps at pool5).

    >>> model = AlexNet2012()
    >>> model.feature_shape(), sum(p.numel() for p in model.parameters())
    ((256, 6, 6), 60965224)
    """

    def __init__(self, num_classes: int = 1000, input_size: int = 224) -> None:
        check_alexnet_arguments("alexnet_2012", num_classes, input_size)
        super().__init__("alexnet_2012", (3, input_size, input_size))
        self.features = nn.Sequential(
            OrderedDict(
                [
                    *_conv1_to_pool2(input_size, widths=(96, 256), groups=2),  # conv2 within each GPU
                    *conv3_to_relu5(groups=2),  # conv3 reads both GPUs, conv4 and conv5 within each
                    ("pool5", nn.MaxPool2d(kernel_size=3, stride=2)),
                ]
            )
        )
        self.avgpool = nn.Identity()  # the paper has no pooling between pool5 and fc6
        self.classifier = alexnet_classifier(math.prod(self.feature_shape()), 4096, num_classes, dropout=0.5)
        init_2012(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x)  # a wrong shape gets a message that names the smallest valid input
        x = self.features(x)  # conv1 ... pool5: 256 maps of 6×6 (at 224 or 227)
        x = torch.flatten(self.avgpool(x), 1)  # 9,216 values per image (avgpool does nothing here)
        return self.classifier(x)  # fc6, fc7, fc8: one score per class


class _Tower(nn.Module):
    """One GPU's half of :class:`AlexNet2012TwoTower`: ``stage1`` before the first exchange, ``stage2`` after it."""

    def __init__(self, input_size: int) -> None:
        super().__init__()
        self.stage1 = nn.Sequential(OrderedDict(_conv1_to_pool2(input_size, widths=(48, 128), groups=1)))
        self.stage2 = nn.Sequential(
            OrderedDict(
                [
                    *conv3_to_relu5(widths=(192, 192, 128)),  # conv3 reads both GPUs' 128 + 128 maps
                    ("pool5", nn.MaxPool2d(kernel_size=3, stride=2)),
                ]
            )
        )


class TwoTowerFeatures(nn.Module):
    """The convolutional part of the two-GPU network: two towers that exchange maps twice.

    Each tower (``gpu0``, ``gpu1``) sees the whole image; conv3 reads both towers' conv2
    maps (exchange 1), and fc6 reads both towers' pool5 maps (exchange 2).

    >>> features = TwoTowerFeatures(224)
    >>> features(torch.zeros(1, 3, 224, 224)).shape
    torch.Size([1, 256, 6, 6])
    """

    def __init__(self, input_size: int) -> None:
        super().__init__()
        self.gpu0, self.gpu1 = _Tower(input_size), _Tower(input_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.gpu0.stage1(x), self.gpu1.stage1(x)
        both = torch.cat([a, b], 1)  # exchange 1: conv3 on each GPU reads all 256 maps
        a, b = self.gpu0.stage2(both), self.gpu1.stage2(both)
        return torch.cat([a, b], 1)  # exchange 2: fc6 reads all 256 maps of pool5


class AlexNet2012TwoTower(ConvNet):
    """:class:`AlexNet2012` with its two GPUs written out as two towers (Section 3.2, Figure 2).

    Same layers, same 60,965,224 parameters, same outputs: ``load_state_dict(
    two_tower_state_dict(grouped.state_dict()))`` copies a grouped model's weights in. From
    fc6 on every unit reads every unit below it, so splitting fc6 to fc8 between the GPUs
    (2,048 + 2,048 units) only splits one weight matrix by rows; the classifier is one.

    >>> model = AlexNet2012TwoTower()
    >>> sum(p.numel() for p in model.parameters())
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
        x = self.features(x)  # both towers; their pool5 maps side by side: 128 + 128 maps of 6×6
        x = torch.flatten(self.avgpool(x), 1)  # fc6 reads both GPUs: all 9,216 values
        return self.classifier(x)  # fc6, fc7, fc8, one classifier for both towers


_STAGE = {"pad1": 1, "conv1": 1, "conv2": 1, "conv3": 2, "conv4": 2, "conv5": 2}


def two_tower_state_dict(grouped: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A grouped :class:`AlexNet2012`'s state dict rearranged for :class:`AlexNet2012TwoTower`.

    Each convolution's kernels split in two along the output maps: the first half (group 0)
    goes to ``gpu0``, the second to ``gpu1``. conv3's kernels read all 256 maps, in the same
    order the two towers concatenate them. The classifier is copied as it is.

    >>> state = two_tower_state_dict(AlexNet2012().state_dict())
    >>> state["features.gpu0.stage1.conv2.weight"].shape, state["features.gpu1.stage2.conv3.weight"].shape
    (torch.Size([128, 48, 5, 5]), torch.Size([192, 256, 3, 3]))
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in grouped.items():
        parts = key.split(".")
        if parts[0] == "features" and parts[1] in _STAGE:
            first, second = value.chunk(2, dim=0)
            stage = f"stage{_STAGE[parts[1]]}"
            rest = ".".join(parts[1:])
            out[f"features.gpu0.{stage}.{rest}"] = first.clone()
            out[f"features.gpu1.{stage}.{rest}"] = second.clone()
        else:
            out[key] = value
    return out


class AlexNet(ConvNet):
    """AlexNet as usually taught: one tower, no LRN; 96, 256, 384, 384, 256 kernels; 62,378,344 parameters.

    The paper's layers with the GPU split removed (every convolution reads all maps below
    it) and the response normalisation dropped, as most courses and Dive into Deep Learning
    teach it. conv1 pads ``conv1_padding`` pixels on each side (2, torchvision's choice, so
    224 gives 55×55); dropout follows the ReLUs of fc6 and fc7, as in the paper. The first
    fully connected layer is sized for ``input_size``. ``init='xavier'`` draws the weights of
    every convolution and fully connected layer Xavier-uniform (Dive into Deep Learning's
    ``init_cnn``); ``'pytorch'`` keeps PyTorch's default initialisation.

    >>> model = AlexNet()
    >>> model.feature_shape(), sum(p.numel() for p in model.parameters())
    ((256, 6, 6), 62378344)
    >>> AlexNet(num_classes=10, in_channels=1, input_size=64).feature_shape()
    (256, 1, 1)
    """

    accepts_in_channels = True

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        input_size: int = 224,
        dropout: float = 0.5,
        conv1_padding: int = 2,
        model_name: str = "alexnet",
        init: str = "pytorch",
    ) -> None:
        check_alexnet_arguments(model_name, num_classes, input_size, dropout)
        check_positive("in_channels", in_channels, model_name, "1 for greyscale, 3 for colour")
        if init not in ("pytorch", "xavier"):
            raise ValueError(f"{model_name}: init={init!r} is not one of 'pytorch', 'xavier'.")
        super().__init__(model_name, (in_channels, input_size, input_size))
        self.features = nn.Sequential(
            OrderedDict(
                [
                    ("conv1", nn.Conv2d(in_channels, 96, kernel_size=11, stride=4, padding=conv1_padding)),
                    ("relu1", nn.ReLU()),
                    ("pool1", nn.MaxPool2d(kernel_size=3, stride=2)),
                    ("conv2", nn.Conv2d(96, 256, kernel_size=5, padding=2)),
                    ("relu2", nn.ReLU()),
                    ("pool2", nn.MaxPool2d(kernel_size=3, stride=2)),
                    *conv3_to_relu5(),
                    ("pool5", nn.MaxPool2d(kernel_size=3, stride=2)),
                ]
            )
        )
        self.avgpool = nn.Identity()
        self.classifier = alexnet_classifier(math.prod(self.feature_shape()), 4096, num_classes, dropout)
        if init == "xavier":
            for layer in self.modules():  # Dive into Deep Learning's init_cnn
                if isinstance(layer, (nn.Conv2d, nn.Linear)):
                    nn.init.xavier_uniform_(layer.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x)  # a wrong shape gets a message that names the smallest valid input
        x = self.features(x)  # conv1 ... pool5: 256 maps, 6×6 at 224×224 with conv1_padding=2
        x = torch.flatten(self.avgpool(x), 1)  # avgpool does nothing here: fc6 reads every value
        return self.classifier(x)  # fc6, fc7, fc8: one score per class


class ZFNet2013(ConvNet):
    """ZFNet as in Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks" (2013), Fig. 3.

    The paper gives: a 224×224 colour input; conv1 with 96 kernels of 7×7, stride 2; conv2
    with 256 kernels of 5×5, stride 2; conv3 to conv5 as AlexNet's (384, 384, 256 kernels of
    3×3); max pooling 3×3 stride 2 after conv1, conv2 and conv5; contrast normalisation after
    the first two poolings; fully connected layers of 4096, 4096 and ``num_classes``; dropout.
    Assumptions where the paper is silent, chosen to reproduce the map sizes of its Fig. 3
    (110, 55, 26, 13, 13, 13, 6): conv1 pads 1 pixel, pooling rounds up (``ceil_mode``, as
    Caffe does), conv3-5 pad 1; normalisation as AlexNet's LRN; every convolution sees all
    input maps (one GPU, no AlexNet-style groups). None of these change the parameter count
    except through the 6×6 maps that reach fc6 (sized for ``input_size``). The classifier is
    AlexNet's (dropout 0.5 on fc6's and fc7's outputs); the weights start at PyTorch's defaults.

    >>> model = ZFNet2013()
    >>> sum(p.numel() for p in model.parameters()), model.feature_shape()
    (62357608, (256, 6, 6))
    """

    def __init__(self, num_classes: int = 1000, input_size: int = 224) -> None:
        check_alexnet_arguments("zfnet_2013", num_classes, input_size)
        super().__init__("zfnet_2013", (3, input_size, input_size))
        self.features = nn.Sequential(
            OrderedDict(
                [
                    ("conv1", nn.Conv2d(3, 96, kernel_size=7, stride=2, padding=1)),  # AlexNet's 11×11 / 4, retuned
                    ("relu1", nn.ReLU()),
                    ("pool1", nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)),
                    ("norm1", nn.LocalResponseNorm(LRN_SIZE, alpha=LRN_ALPHA, beta=LRN_BETA, k=LRN_K)),  # after pooling
                    ("conv2", nn.Conv2d(96, 256, kernel_size=5, stride=2)),
                    ("relu2", nn.ReLU()),
                    ("pool2", nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)),
                    ("norm2", nn.LocalResponseNorm(LRN_SIZE, alpha=LRN_ALPHA, beta=LRN_BETA, k=LRN_K)),
                    *conv3_to_relu5(),  # AlexNet's conv3 to conv5, in one tower
                    ("pool5", nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)),
                ]
            )
        )
        self.avgpool = nn.Identity()
        self.classifier = alexnet_classifier(math.prod(self.feature_shape()), 4096, num_classes, dropout=0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x)  # a wrong shape gets a message that names the smallest valid input
        x = self.features(x)  # conv1 ... pool5: 256 maps of 6×6 at 224×224
        x = torch.flatten(self.avgpool(x), 1)  # 9,216 values per image, as in AlexNet
        return self.classifier(x)  # fc6, fc7, fc8: one score per class
