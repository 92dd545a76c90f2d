"""LeNet-5 as LeCun et al. published it in 1998, and the textbook LeNet of today.

LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to document recognition",
Proc. IEEE 86(11), 1998; Dive into Deep Learning, "Convolutional Neural Networks (LeNet)".
"""

import math
from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .convnet import ConvNet, check_input, check_positive

__all__ = ["C3_CONNECTIONS", "EuclideanRBF", "LeNet", "LeNet5", "PartialConv2d", "ScaledTanh", "Subsampling", "rbf_prototypes"]

C3_CONNECTIONS: tuple[tuple[int, ...], ...] = (  # Table I: the S2 maps (0-5) that each C3 map (0-15) reads
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5), (0, 1, 2, 3, 4, 5))


class ScaledTanh(nn.Module):
    """LeNet-5's squashing ``1.7159 tanh(2a/3)`` (Section II-B, Appendix A): ``f(±1) = ±1``, where its curvature peaks.

    >>> ScaledTanh()(torch.tensor([-1.0, 0.0, 1.0]))
    tensor([-1.0000,  0.0000,  1.0000])
    """

    def __init__(self, amplitude: float = 1.7159, slope: float = 2 / 3) -> None:
        super().__init__()
        self.amplitude, self.slope = amplitude, slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.amplitude * torch.tanh(self.slope * x)


class Subsampling(nn.Module):
    """S2 and S4 (Section II-B): each 2×2 block's sum times a trainable coefficient, plus a trainable bias, per map.

    >>> s2 = Subsampling(6)
    >>> sum(p.numel() for p in s2.parameters()), s2(torch.ones(1, 6, 28, 28)).shape
    (12, torch.Size([1, 6, 14, 14]))
    """

    def __init__(self, channels: int, kernel_size: int = 2) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        block_sums = F.avg_pool2d(x, self.kernel_size, divisor_override=1)
        return block_sums * self.weight[:, None, None] + self.bias[:, None, None]


class PartialConv2d(nn.Module):
    """A convolution whose output map ``j`` reads only the input maps ``connections[j]``: C3 (Table I).

    It holds only those kernels, so C3 has the paper's 1,516 parameters, not 2,416; one grouped convolution runs per fan-in.

    >>> c3 = PartialConv2d(C3_CONNECTIONS, in_channels=6, kernel_size=5)
    >>> sum(p.numel() for p in c3.parameters()), c3(torch.zeros(1, 6, 14, 14)).shape
    (1516, torch.Size([1, 16, 10, 10]))
    """

    def __init__(self, connections: Sequence[Sequence[int]], in_channels: int, kernel_size: int) -> None:
        super().__init__()
        bad = sorted({i for inputs in connections for i in inputs if not 0 <= i < in_channels})
        if bad:
            raise ValueError(f"connections name input maps {bad}, but in_channels={in_channels}; use 0..{in_channels - 1}.")
        self.connections = tuple(tuple(int(i) for i in inputs) for inputs in connections)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, len(connections), kernel_size
        self.weight = nn.Parameter(torch.empty(sum(map(len, self.connections)), kernel_size, kernel_size).uniform_(-0.1, 0.1))
        self.bias = nn.Parameter(torch.zeros(self.out_channels))

    def connection_table(self) -> torch.Tensor:
        """Table I as booleans: rows are input maps, columns output maps."""
        return torch.tensor([[i in inputs for inputs in self.connections] for i in range(self.in_channels)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernels, maps = self.weight.split([len(c) for c in self.connections]), {}  # kernels[j]: output map j's
        for f in sorted({len(c) for c in self.connections}):  # the output maps that read f input maps
            outputs = [j for j, c in enumerate(self.connections) if len(c) == f]
            inputs = [i for j in outputs for i in self.connections[j]]
            y = F.conv2d(x[:, inputs], torch.stack([kernels[j] for j in outputs]), self.bias[outputs], groups=len(outputs))
            maps.update(zip(outputs, y.unbind(1)))
        return torch.stack([maps[j] for j in range(self.out_channels)], 1)


def rbf_prototypes(num_classes: int, in_features: int = 84) -> torch.Tensor:
    """Seeded ±1 prototypes for :class:`EuclideanRBF`, in place of the paper's unpublished 7×12 character bitmaps (Fig. 3).

    >>> p = rbf_prototypes(10)
    >>> p.shape, sorted(p.unique().tolist()), torch.equal(p, rbf_prototypes(10))
    (torch.Size([10, 84]), [-1.0, 1.0], True)
    """
    generator = torch.Generator(device="cpu").manual_seed(1998)
    return torch.randint(0, 2, (num_classes, in_features), generator=generator, device="cpu").float() * 2 - 1


class EuclideanRBF(nn.Module):
    """LeNet-5's output: minus each class's penalty ``Σ_j (x_j - w_ij)²`` from its fixed prototype ``w_i``.

    Negated, the largest output wins, and cross-entropy is Section II-B's MAP criterion without its "rubbish class" term.

    >>> int(EuclideanRBF(84, 10)(rbf_prototypes(10)[3:4]).argmax())  # on class 3's prototype
    3
    """

    def __init__(self, in_features: int = 84, num_classes: int = 10) -> None:
        super().__init__()
        self.in_features, self.num_classes = in_features, num_classes
        prototypes = torch.empty(num_classes, in_features).copy_(rbf_prototypes(num_classes, in_features))  # to the device
        self.register_buffer("prototypes", prototypes)  # fixed, as in the paper: a buffer, not trained

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -((x.unsqueeze(1) - self.prototypes) ** 2).sum(-1)


class LeNet5(ConvNet):
    """LeNet-5 as published (Section II-B, Fig. 2): 60,000 trainable parameters, initialised as in Appendix A.

    >>> LeNet5()(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 10, input_size: int = 32) -> None:
        check_positive("num_classes", num_classes, "lenet5_1998", "one RBF unit per class")
        check_positive("input_size", input_size, "lenet5_1998", "the image side in pixels; the paper's is 32")
        super().__init__("lenet5_1998", (1, input_size, input_size))  # 32: 28×28 digits in a larger field (pad by 2)
        self.features = nn.Sequential(OrderedDict(
            C1=nn.Conv2d(1, 6, kernel_size=5), tanh1=ScaledTanh(), S2=Subsampling(6), tanh2=ScaledTanh(),
            C3=PartialConv2d(C3_CONNECTIONS, in_channels=6, kernel_size=5), tanh3=ScaledTanh(),
            S4=Subsampling(16), tanh4=ScaledTanh(),
            C5=nn.Conv2d(16, 120, kernel_size=5), tanh5=ScaledTanh()))  # a convolution: 1×1 maps at 32×32 input
        self.avgpool = nn.Identity()  # the paper has no pooling between C5 and F6
        self.classifier = nn.Sequential(OrderedDict(
            F6=nn.Linear(math.prod(self.feature_shape()), 84), tanh6=ScaledTanh(), output=EuclideanRBF(84, num_classes)))
        for layer in self.modules():  # Appendix A: each unit's weights and bias uniform in ±2.4 / F, F its fan-in
            units = []  # (weights, bias, fan-in); C3's maps read 3, 4 or 6 S2 maps, so are drawn one by one
            if isinstance(layer, PartialConv2d):
                units = [(w, b, w.numel()) for w, b in zip(layer.weight.split([len(c) for c in layer.connections]), layer.bias)]
            elif isinstance(layer, (nn.Conv2d, nn.Linear, Subsampling)):
                fan_in = layer.kernel_size**2 if isinstance(layer, Subsampling) else layer.weight[0].numel()
                units = [(layer.weight, layer.bias, fan_in)]
            for weight, bias, fan_in in units:
                nn.init.uniform_(weight, -2.4 / fan_in, 2.4 / fan_in)
                nn.init.uniform_(bias, -2.4 / fan_in, 2.4 / fan_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x)  # a wrong shape gets a message that names the smallest valid input
        x = self.features(x)  # C1, S2, C3, S4, C5: 120 maps of 1×1 at 32×32
        return self.classifier(torch.flatten(self.avgpool(x), 1))  # F6, then minus each class's RBF penalty: the largest wins


class LeNet(ConvNet):
    """The textbook LeNet (Dive into Deep Learning's): LeNet-5's plan with ordinary layers, sigmoid and average pooling.

    >>> [type(m).__name__ for m in LeNet(activation="relu", pooling="max").features]
    ['Conv2d', 'ReLU', 'MaxPool2d', 'Conv2d', 'ReLU', 'MaxPool2d']
    """

    accepts_in_channels = True
    _ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}
    _POOLINGS = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}

    def __init__(self, num_classes: int = 10, activation: str = "sigmoid", pooling: str = "avg",
                 in_channels: int = 1, input_size: int = 28) -> None:  # fmt: skip
        check_positive("num_classes", num_classes, "lenet", "one output per class")
        check_positive("in_channels", in_channels, "lenet", "1 for greyscale, 3 for colour")
        check_positive("input_size", input_size, "lenet", "the image side in pixels; Fashion-MNIST's is 28")
        for name, value, choices in [("activation", activation, self._ACTIVATIONS), ("pooling", pooling, self._POOLINGS)]:
            if value not in choices:
                raise ValueError(f"lenet: {name}={value!r} is not one of {', '.join(map(repr, choices))}.")
        super().__init__("lenet", (in_channels, input_size, input_size))
        self.activation, self.pooling = activation, pooling
        act, pool = self._ACTIVATIONS[activation], self._POOLINGS[pooling]
        self.features = nn.Sequential(OrderedDict(
            conv1=nn.Conv2d(in_channels, 6, kernel_size=5, padding=2), act1=act(), pool1=pool(kernel_size=2, stride=2),
            conv2=nn.Conv2d(6, 16, kernel_size=5), act2=act(), pool2=pool(kernel_size=2, stride=2)))
        self.avgpool = nn.Identity()
        self.classifier = nn.Sequential(OrderedDict(
            fc1=nn.Linear(math.prod(self.feature_shape()), 120), act3=act(),
            fc2=nn.Linear(120, 84), act4=act(), fc3=nn.Linear(84, num_classes)))
        for layer in self.modules():  # the book's init_cnn: Xavier-uniform weights, PyTorch's default biases
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(layer.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x)  # a wrong shape gets a message that names the smallest valid input
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))  # 16×5×5 = 400 values at 28×28
