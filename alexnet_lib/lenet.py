"""LeNet: LeNet-5 as LeCun et al. published it in 1998, and the textbook LeNet of today.

LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to document
recognition", Proceedings of the IEEE 86(11), 1998. Section II-B describes LeNet-5 layer
by layer (Fig. 2 draws it, Table I gives C3's connections); Appendix A gives the squashing
function and the initialisation.

The textbook LeNet follows Dive into Deep Learning (Zhang, Lipton, Li and Smola), section
"Convolutional Neural Networks (LeNet)": the same C1-S2-C3-S4-C5-F6 plan with ordinary
layers (every C3 map sees every S2 map, pooling without weights, a plain linear output).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .convnet import ConvNet, check_input, check_positive

__all__ = [
    "C3_CONNECTIONS",
    "EuclideanRBF",
    "LeNet",
    "LeNet5",
    "PartialConv2d",
    "ScaledTanh",
    "Subsampling",
    "rbf_prototypes",
]

# Table I of the paper: the S2 maps (0-5) each C3 map (0-15) reads. "The first six C3 feature
# maps take inputs from every contiguous subsets of three feature maps in S2. The next six take
# input from every contiguous subset of four. The next three take input from some
# discontinuous subsets of four. Finally the last one takes input from all S2 feature maps."
C3_CONNECTIONS: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)  # fmt: skip


class ScaledTanh(nn.Module):
    """LeNet-5's squashing function ``f(a) = A tanh(S a)`` with ``A = 1.7159``, ``S = 2/3``.

    The constants make ``f(1) = 1`` and ``f(-1) = -1``, where the curvature is largest
    (Section II-B and Appendix A of the paper).

    >>> ScaledTanh()(torch.tensor([-1.0, 0.0, 1.0]))
    tensor([-1.0000,  0.0000,  1.0000])
    """

    def __init__(self, amplitude: float = 1.7159, slope: float = 2 / 3) -> None:
        super().__init__()
        self.amplitude, self.slope = amplitude, slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.amplitude * torch.tanh(self.slope * x)

    def extra_repr(self) -> str:
        return f"amplitude={self.amplitude}, slope={self.slope:.4g}"


class Subsampling(nn.Module):
    """LeNet-5's S2 and S4: add each 2×2 block, multiply by a trainable coefficient, add a trainable bias.

    One coefficient and one bias per map, so ``2 * channels`` parameters (S2: 12, S4: 32);
    the squashing function follows as a separate layer.

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
        total = F.avg_pool2d(x, self.kernel_size, divisor_override=1)  # the sum of each block
        return total * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return f"{self.weight.numel()}, kernel_size={self.kernel_size}"


class PartialConv2d(nn.Module):
    """A convolution in which output map ``j`` reads only the input maps ``connections[j]``.

    Only the kernels that exist are parameters (``weight`` holds one ``k×k`` kernel per
    connection, in the order of ``connections``), so C3 has the paper's 60 kernels × 25 + 16
    biases = 1,516 parameters instead of a full convolution's 16 × 6 × 25 + 16 = 2,416, and
    does 1,500 multiply-accumulates per output position, not 2,400. ``forward`` gathers each
    connection's input map and runs one grouped convolution per fan-in (C3: the maps that
    read 3, 4 and 6 S2 maps), so every kernel is applied to its own input map only.

    >>> c3 = PartialConv2d(C3_CONNECTIONS, in_channels=6, kernel_size=5)
    >>> sum(p.numel() for p in c3.parameters()), c3(torch.zeros(1, 6, 14, 14)).shape
    (1516, torch.Size([1, 16, 10, 10]))
    >>> c3.connection_table()[:, 0].tolist()  # column 0 of Table I: C3 map 0 reads S2 maps 0, 1, 2
    [True, True, True, False, False, False]
    """

    def __init__(self, connections: Sequence[Sequence[int]], in_channels: int, kernel_size: int) -> None:
        super().__init__()
        bad = sorted({i for inputs in connections for i in inputs if not 0 <= i < in_channels})
        if bad:
            raise ValueError(f"connections name input maps {bad}, but in_channels={in_channels}; use 0..{in_channels - 1}.")
        self.connections = tuple(tuple(int(i) for i in inputs) for inputs in connections)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, len(connections), kernel_size
        n_connections = sum(len(inputs) for inputs in self.connections)
        self.weight = nn.Parameter(torch.empty(n_connections, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(self.out_channels))
        nn.init.uniform_(self.weight, -0.1, 0.1)
        # For each fan-in f: the output maps that read f inputs, their input maps in order, their kernels' rows.
        first_row = [sum(len(c) for c in self.connections[:j]) for j in range(self.out_channels)]
        self._by_fan_in = []
        for f in sorted({len(c) for c in self.connections}):
            outputs = [j for j, c in enumerate(self.connections) if len(c) == f]
            inputs = [i for j in outputs for i in self.connections[j]]
            rows = [first_row[j] + r for j in outputs for r in range(f)]
            self._by_fan_in.append((f, outputs, inputs, rows))
        order = [j for _, outs, _, _ in self._by_fan_in for j in outs]
        self._order = None if order == sorted(order) else sorted(range(len(order)), key=order.__getitem__)

    def fan_in(self) -> torch.Tensor:
        """Input values each output map reads: connections × k × k (C3: 75, 100 or 150)."""
        return torch.tensor([len(c) * self.kernel_size**2 for c in self.connections])

    def connection_table(self) -> torch.Tensor:
        """Table I as booleans: rows are input maps, columns output maps."""
        table = torch.zeros(self.in_channels, self.out_channels, dtype=torch.bool)
        for j, inputs in enumerate(self.connections):
            table[list(inputs), j] = True
        return table

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel_size
        parts = []
        for f, outputs, inputs, rows in self._by_fan_in:
            weight = self.weight[rows].view(len(outputs), f, k, k)
            parts.append(F.conv2d(x[:, inputs], weight, self.bias[outputs], groups=len(outputs)))
        out = torch.cat(parts, 1)
        return out if self._order is None else out[:, self._order]  # back to the order of the output maps

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, connections={self.weight.shape[0]}"


def rbf_prototypes(num_classes: int, in_features: int = 84) -> torch.Tensor:
    """Fixed ±1 prototype vectors for :class:`EuclideanRBF`, the same on every call.

    The paper drew each class as a 7×12 bitmap of ±1 (stylised ASCII characters, Fig. 3);
    those bitmaps are not published as numbers and do not suit clothes anyway, so we use
    pseudo-random ±1 codes from a fixed seed. They play the same role: distinct, fixed
    points in F6's output range, 84 values each.

    >>> p = rbf_prototypes(10)
    >>> p.shape, sorted(p.unique().tolist()), torch.equal(p, rbf_prototypes(10))
    (torch.Size([10, 84]), [-1.0, 1.0], True)
    """
    generator = torch.Generator(device="cpu").manual_seed(1998)
    bits = torch.randint(0, 2, (num_classes, in_features), generator=generator, device="cpu")
    return bits.float() * 2 - 1


class EuclideanRBF(nn.Module):
    """LeNet-5's output layer: unit ``i`` computes ``y_i = Σ_j (x_j - w_ij)²`` to a fixed prototype ``w_i``.

    The paper's output is a penalty, small for the right class. ``forward`` returns ``-y`` so
    that, as for every other model here, the largest output is the prediction and
    ``F.cross_entropy`` can train it: cross-entropy on ``-y`` is the paper's MAP criterion
    (Section II-B) without its constant "rubbish class" term. The prototypes are a buffer:
    fixed, as in the paper, and not counted among the trainable parameters.

    >>> rbf = EuclideanRBF(84, 10)
    >>> x = rbf.prototypes[3:4]  # an F6 output exactly on class 3's prototype
    >>> int(rbf(x).argmax()), float(rbf(x)[0, 3]), sum(p.numel() for p in rbf.parameters())
    (3, -0.0, 0)
    """

    def __init__(self, in_features: int = 84, num_classes: int = 10) -> None:
        super().__init__()
        self.in_features, self.num_classes = in_features, num_classes
        self.register_buffer("prototypes", torch.empty(num_classes, in_features))
        with torch.no_grad():  # made on the CPU, then copied to wherever the model is being built
            self.prototypes.copy_(rbf_prototypes(num_classes, in_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        penalties = ((x.unsqueeze(1) - self.prototypes) ** 2).sum(-1)
        return -penalties

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, num_classes={self.num_classes}, prototypes fixed"


def _init_lecun_1998(model: nn.Module) -> None:
    """Appendix A: weights and biases uniform in ±2.4 / F, F the unit's fan-in (inputs per unit)."""
    for layer in model.modules():
        if isinstance(layer, nn.Conv2d):
            fan_in = layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1]
        elif isinstance(layer, nn.Linear):
            fan_in = layer.in_features
        elif isinstance(layer, Subsampling):
            fan_in = layer.kernel_size**2
        elif isinstance(layer, PartialConv2d):  # C3 maps read 3, 4 or 6 S2 maps: a bound per output map
            with torch.no_grad():
                row = 0
                for j, inputs in enumerate(layer.connections):
                    bound = 2.4 / (len(inputs) * layer.kernel_size**2)
                    layer.weight[row : row + len(inputs)].uniform_(-bound, bound)
                    layer.bias[j].uniform_(-bound, bound)
                    row += len(inputs)
            continue
        else:
            continue
        bound = 2.4 / fan_in
        nn.init.uniform_(layer.weight, -bound, bound)
        nn.init.uniform_(layer.bias, -bound, bound)


class LeNet5(ConvNet):
    """LeNet-5 as published (LeCun et al. 1998, Section II-B, Fig. 2): 60,000 trainable parameters.

    C1 6@28×28 (156 parameters), S2 trainable subsampling (12), C3 16 maps with Table I's
    partial connections (1,516), S4 (32), C5 120 maps of 1×1 (48,120), F6 84 units (10,164),
    all squashed by ``1.7159 tanh(2a/3)``, and 10 Euclidean RBF output units with fixed
    prototypes. The input is 32×32: the paper's 28×28 digits centred in a larger field
    (Fashion-MNIST: pad 2 pixels on each side). The paper also scales pixels so the
    background is -0.1 and the foreground 1.175; that is the data's job, not the model's.

    >>> model = LeNet5()
    >>> model(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 10, input_size: int = 32) -> None:
        check_positive("num_classes", num_classes, "lenet5_1998", "one RBF unit per class")
        check_positive("input_size", input_size, "lenet5_1998", "the image side in pixels; the paper's is 32")
        super().__init__("lenet5_1998", (1, input_size, input_size))
        self.features = nn.Sequential(
            OrderedDict(
                [
                    ("C1", nn.Conv2d(1, 6, kernel_size=5)),
                    ("tanh1", ScaledTanh()),
                    ("S2", Subsampling(6)),
                    ("tanh2", ScaledTanh()),
                    ("C3", PartialConv2d(C3_CONNECTIONS, in_channels=6, kernel_size=5)),
                    ("tanh3", ScaledTanh()),
                    ("S4", Subsampling(16)),
                    ("tanh4", ScaledTanh()),
                    ("C5", nn.Conv2d(16, 120, kernel_size=5)),  # a convolution: 1×1 maps at 32×32 input
                    ("tanh5", ScaledTanh()),
                ]
            )
        )
        self.avgpool = nn.Identity()  # the paper has no pooling between C5 and F6
        self.classifier = nn.Sequential(
            OrderedDict(
                [
                    ("F6", nn.Linear(math.prod(self.feature_shape()), 84)),
                    ("tanh6", ScaledTanh()),
                    ("output", EuclideanRBF(84, num_classes)),
                ]
            )
        )
        _init_lecun_1998(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x)  # a wrong shape gets a message that names the smallest valid input
        x = self.features(x)  # C1, S2, C3, S4, C5: 120 maps of 1×1 at 32×32
        x = torch.flatten(self.avgpool(x), 1)  # 120 values per image (avgpool does nothing here)
        return self.classifier(x)  # F6, then minus each class's RBF penalty: the largest wins


_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}
_POOLINGS = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}


class LeNet(ConvNet):
    """The textbook LeNet (Dive into Deep Learning's): 5×5 convolutions with padding 2 on 28×28 input.

    conv1 6 maps (padding 2 keeps 28×28), pool 2×2, conv2 16 maps, pool 2×2, then 400 -> 120
    -> 84 -> ``num_classes`` fully connected. ``activation`` (``'sigmoid'``, ``'relu'`` or
    ``'tanh'``) and ``pooling`` (``'avg'`` or ``'max'``) swap the 1998-style choices for the
    modern ones; the defaults are the book's (sigmoid, average pooling).

    >>> model = LeNet(activation="relu", pooling="max")
    >>> model.features
    Sequential(
      (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))
      (act1): ReLU()
      (pool1): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
      (conv2): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))
      (act2): ReLU()
      (pool2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    )
    """

    accepts_in_channels = True

    def __init__(
        self,
        num_classes: int = 10,
        activation: str = "sigmoid",
        pooling: str = "avg",
        in_channels: int = 1,
        input_size: int = 28,
    ) -> None:
        check_positive("num_classes", num_classes, "lenet", "one output per class")
        check_positive("in_channels", in_channels, "lenet", "1 for greyscale, 3 for colour")
        check_positive("input_size", input_size, "lenet", "the image side in pixels; Fashion-MNIST's is 28")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"lenet: activation={activation!r} is not one of {', '.join(map(repr, _ACTIVATIONS))}.")
        if pooling not in _POOLINGS:
            raise ValueError(f"lenet: pooling={pooling!r} is not one of {', '.join(map(repr, _POOLINGS))}.")
        super().__init__("lenet", (in_channels, input_size, input_size))
        act, pool = _ACTIVATIONS[activation], _POOLINGS[pooling]
        self.activation, self.pooling = activation, pooling
        self.features = nn.Sequential(
            OrderedDict(
                [
                    ("conv1", nn.Conv2d(in_channels, 6, kernel_size=5, padding=2)),
                    ("act1", act()),
                    ("pool1", pool(kernel_size=2, stride=2)),
                    ("conv2", nn.Conv2d(6, 16, kernel_size=5)),
                    ("act2", act()),
                    ("pool2", pool(kernel_size=2, stride=2)),
                ]
            )
        )
        self.avgpool = nn.Identity()
        self.classifier = nn.Sequential(
            OrderedDict(
                [
                    ("fc1", nn.Linear(math.prod(self.feature_shape()), 120)),
                    ("act3", act()),
                    ("fc2", nn.Linear(120, 84)),
                    ("act4", act()),
                    ("fc3", nn.Linear(84, num_classes)),
                ]
            )
        )
        for layer in self.modules():  # the book's init_cnn: Xavier-uniform weights, PyTorch's default biases
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(layer.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x)  # a wrong shape gets a message that names the smallest valid input
        x = self.features(x)  # conv1, pool1, conv2, pool2: 16 maps of 5×5 at 28×28
        x = torch.flatten(self.avgpool(x), 1)  # 400 values per image (avgpool does nothing here)
        return self.classifier(x)  # fc1, fc2, fc3: one score per class
