"""The model zoo: LeNet and AlexNet as published, as simplified, and as tutorials print them.

Every model is registered by name; ``get(name, **kwargs)`` builds one and ``list_models()``
lists the names. Models are named by source and year and their docstrings cite the paper
section or file they follow. The layers live in :mod:`alexnet_lib.lenet` and
:mod:`alexnet_lib.alexnet`; this module holds the builders, the registry and
:func:`compare_models`, the side-by-side table.

Every builder takes ``num_classes`` (10 for the Fashion-MNIST models, 1,000 for the ImageNet
ones), ``input_size`` (the side of the square native input; the first fully connected layer
is sized for it) and ``seed``: an int builds the same weights on every call without touching PyTorch's
global random state; ``None`` draws from the global generator, as torchvision does (seed it
with ``torch.manual_seed``). Every model has ``input_size = (C, H, W)``, its native input,
and checks its inputs: a wrong channel count or size raises a ``ValueError`` that names the
smallest valid input.

>>> list_models()
['alexnet', 'alexnet_2012', 'alexnet_2012_two_tower', 'alexnet_cpu', 'alexnet_d2l', 'alexnet_keras_bn', 'lenet', 'lenet5_1998', 'torchvision_alexnet']
>>> model = get("lenet5_1998", seed=0)
>>> model.input_size, model(torch.zeros(1, *model.input_size)).shape
((1, 32, 32), torch.Size([1, 10]))
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar

import pandas as pd
import torch
from torch import nn

from .basics import seeded
from .alexnet import AlexNet, AlexNet2012, AlexNet2012TwoTower, AlexNetCPU, AlexNetKerasBN
from .convnet import check_input, check_positive, feature_shape
from .lenet import EuclideanRBF, LeNet, LeNet5, PartialConv2d, ScaledTanh, Subsampling

__all__ = [
    "SOURCES",
    "compare_models",
    "get",
    "list_models",
    "register",
    "alexnet",
    "alexnet_2012",
    "alexnet_2012_two_tower",
    "alexnet_cpu",
    "alexnet_d2l",
    "alexnet_keras_bn",
    "lenet",
    "lenet5_1998",
    "torchvision_alexnet",
]

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}
M = TypeVar("M", bound=nn.Module)


def register(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register a model builder under its function name (use as a decorator).

    >>> "lenet" in _REGISTRY and register is not None
    True
    """
    if builder.__name__ in _REGISTRY:
        raise ValueError(f"a model named {builder.__name__!r} is already registered")
    _REGISTRY[builder.__name__] = builder
    return builder


def list_models() -> list[str]:
    """The names ``get`` accepts, sorted.

    >>> "alexnet_2012" in list_models()
    True
    """
    return sorted(_REGISTRY)


def get(name: str, **kwargs) -> nn.Module:
    """Build the registered model ``name`` with keyword arguments ``kwargs``.

    >>> get("lenet", activation="relu").input_size
    (1, 28, 28)
    >>> get("alexnet_2012", in_channels=1)
    Traceback (most recent call last):
    ...
    ValueError: alexnet_2012 takes no argument 'in_channels'; it takes num_classes, input_size, seed.
    """
    try:
        builder = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"no model named {name!r}; registered models: {', '.join(list_models()) or 'none'}") from None
    accepted = list(inspect.signature(builder).parameters)
    unknown = [k for k in kwargs if k not in accepted]
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        raise ValueError(f"{name} takes no argument {names}; it takes {', '.join(accepted)}.")
    return builder(**kwargs)


def _seeded(seed: int | None, build: Callable[[], M]) -> M:
    """``build()`` with PyTorch's CPU generator seeded by ``seed`` and restored afterwards (None: as it is)."""
    if seed is None:
        return build()
    with seeded(seed):
        return build()


@register
def lenet5_1998(num_classes: int = 10, input_size: int = 32, seed: int | None = None) -> LeNet5:
    """LeNet-5 as published: LeCun, Bottou, Bengio and Haffner 1998, Section II-B, Fig. 2, Table I.

    32×32 input; C1 6@28×28, trainable subsampling S2, C3 with Table I's partial connections,
    S4, C5 120, F6 84, the squashing function ``1.7159 tanh(2a/3)``, and 10 Euclidean RBF output
    units with fixed prototypes (the model returns minus their penalties, see
    :class:`alexnet_lib.lenet.EuclideanRBF`). 60,000 trainable parameters: C1 156, S2 12,
    C3 1,516, S4 32, C5 48,120, F6 10,164. Initialised as in Appendix A (uniform ±2.4 / fan-in).

    >>> model = lenet5_1998(seed=0)
    >>> {name: sum(p.numel() for p in layer.parameters()) for name, layer in model.features.named_children() if name[0] in "CS"}
    {'C1': 156, 'S2': 12, 'C3': 1516, 'S4': 32, 'C5': 48120}
    """
    return _seeded(seed, lambda: LeNet5(num_classes=num_classes, input_size=input_size))


@register
def lenet(
    num_classes: int = 10,
    activation: str = "sigmoid",
    pooling: str = "avg",
    in_channels: int = 1,
    input_size: int = 28,
    seed: int | None = None,
) -> LeNet:
    """The textbook LeNet: Dive into Deep Learning, "Convolutional Neural Networks (LeNet)" (``d2l.LeNet``).

    28×28 input with padding 2 in conv1; ``activation`` ``'sigmoid'`` (the book's), ``'relu'``
    or ``'tanh'``; ``pooling`` ``'avg'`` (the book's) or ``'max'``; Xavier-uniform weights as
    the book's ``init_cnn``. 61,706 parameters at 10 classes.

    >>> sum(p.numel() for p in lenet().parameters())
    61706
    """
    return _seeded(
        seed,
        lambda: LeNet(num_classes=num_classes, activation=activation, pooling=pooling, in_channels=in_channels, input_size=input_size),
    )


@register
def alexnet_2012(num_classes: int = 1000, input_size: int = 224, seed: int | None = None) -> AlexNet2012:
    """AlexNet as published: Krizhevsky, Sutskever and Hinton 2012, Sections 3.1-3.5, 4.2, 5 and Figure 2.

    The two GPUs as grouped convolutions (conv2, conv4, conv5), LRN after conv1 and conv2
    (k=2, n=5, α=1e-4, β=0.75, PyTorch's α/n convention, which is cuda-convnet's),
    overlapping 3×3/2 max pooling, dropout 0.5 on fc6 and fc7, weights N(0, 0.01) and biases
    1 in conv2, conv4, conv5, fc6 and fc7. 60,965,224 parameters at 224×224×3 and 1,000
    classes. ``input_size=224`` pads conv1's input by 3 zeros right and bottom as
    cuda-convnet's rounding did; ``input_size=227`` (Caffe's) needs none. See
    :class:`alexnet_lib.alexnet.AlexNet2012` for the reasoning.

    >>> model = alexnet_2012(input_size=227, seed=0)
    >>> [name for name, _ in model.features.named_children()][:4], model.feature_shape()
    (['conv1', 'relu1', 'norm1', 'pool1'], (256, 6, 6))
    """
    return _seeded(seed, lambda: AlexNet2012(num_classes=num_classes, input_size=input_size))


@register
def alexnet_2012_two_tower(num_classes: int = 1000, input_size: int = 224, seed: int | None = None) -> AlexNet2012TwoTower:
    """:func:`alexnet_2012` with the two GPUs as two towers (Krizhevsky et al. 2012, Section 3.2, Figure 2).

    Towers ``features.gpu0`` and ``features.gpu1`` exchange their maps at conv3 and at fc6.
    The same parameters as the grouped form, and the same outputs once its weights are
    copied in with :func:`alexnet_lib.alexnet.two_tower_state_dict`.

    >>> model = alexnet_2012_two_tower(seed=0)
    >>> [name for name, _ in model.features.named_children()]
    ['gpu0', 'gpu1']
    """
    return _seeded(seed, lambda: AlexNet2012TwoTower(num_classes=num_classes, input_size=input_size))


@register
def alexnet(
    num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, dropout: float = 0.5, seed: int | None = None
) -> AlexNet:
    """AlexNet as usually taught: the 2012 layers (96, 256, 384, 384, 256 kernels) in one tower, no LRN.

    Every convolution reads all maps below it, conv1 pads 2 pixels (torchvision's choice for
    224 -> 55), dropout ``dropout`` after fc6's and fc7's ReLUs, PyTorch's default
    initialisation. fc6 is sized for ``input_size``; 62,378,344 parameters at 224×224×3 and
    1,000 classes.

    >>> alexnet(num_classes=10, in_channels=1, input_size=96, seed=0).feature_shape()
    (256, 2, 2)
    """
    return _seeded(
        seed, lambda: AlexNet(num_classes=num_classes, in_channels=in_channels, input_size=input_size, dropout=dropout)
    )


@register
def alexnet_d2l(
    num_classes: int = 10, in_channels: int = 1, input_size: int = 224, dropout: float = 0.5, seed: int | None = None
) -> AlexNet:
    """Dive into Deep Learning's AlexNet for Fashion-MNIST (section "Deep Convolutional Neural Networks (AlexNet)").

    One greyscale channel resized to 224×224, conv1 11×11/4 with padding 1 (224 -> 54, and
    the maps end at 5×5, so fc6 has 256 × 5 × 5 = 6,400 inputs), no LRN, dropout after the
    ReLUs of the two 4,096-unit layers, Xavier-uniform weights (the book's ``init_cnn``).
    46,764,746 parameters at 10 classes.

    >>> model = alexnet_d2l(seed=0)
    >>> model.input_size, model.classifier.fc6.in_features
    ((1, 224, 224), 6400)
    """

    def build() -> AlexNet:
        model = AlexNet(
            num_classes=num_classes,
            in_channels=in_channels,
            input_size=input_size,
            dropout=dropout,
            conv1_padding=1,
            model_name="alexnet_d2l",
        )
        for layer in model.modules():  # the book's init_cnn
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(layer.weight)
        return model

    return _seeded(seed, build)


@register
def alexnet_keras_bn(num_classes: int = 1000, input_size: int = 224, dropout: float = 0.5, seed: int | None = None) -> AlexNetKerasBN:
    """The AlexNet of the widely copied Keras posts: ``padding='same'`` (224 -> 56), BatchNorm instead of LRN.

    BatchNorm after conv1, conv2 and conv5 (608 maps), Keras's defaults for initialisation and
    BatchNorm. PyTorch counts 62,379,560 parameters at 1,000 classes; Keras's summary says
    62,380,776 because it adds BatchNorm's 1,216 running means and variances, which PyTorch
    keeps as buffers. See :class:`alexnet_lib.alexnet.AlexNetKerasBN`.

    >>> model = alexnet_keras_bn(seed=0)
    >>> sum(p.numel() for p in model.parameters()), sum(b.numel() for n, b in model.named_buffers() if "running" in n)
    (62379560, 1216)
    """
    return _seeded(seed, lambda: AlexNetKerasBN(num_classes=num_classes, input_size=input_size, dropout=dropout))


@register
def alexnet_cpu(
    num_classes: int = 10,
    in_channels: int = 1,
    input_size: int = 64,
    dropout: float = 0.5,
    widths: tuple[int, int, int, int, int] = (32, 64, 128, 128, 96),
    fc_width: int = 512,
    seed: int | None = None,
) -> AlexNetCPU:
    """AlexNet's eight-layer design scaled for a laptop CPU and CI: this course's own (not a published model).

    5 convolutions and 3 fully connected layers, ReLU, overlapping 3×3/2 max pooling and
    dropout as in Krizhevsky et al. 2012, on 64×64 greyscale images with 32, 64, 128, 128, 96
    kernels and 512-unit fc6 and fc7: 1,094,890 parameters, about 29 million MACs per image.
    See :class:`alexnet_lib.alexnet.AlexNetCPU`.

    >>> model = alexnet_cpu(seed=0)
    >>> model.input_size, model(torch.zeros(2, 1, 64, 64)).shape
    ((1, 64, 64), torch.Size([2, 10]))
    """
    return _seeded(
        seed,
        lambda: AlexNetCPU(
            num_classes=num_classes,
            in_channels=in_channels,
            input_size=input_size,
            widths=tuple(widths),
            fc_width=fc_width,
            dropout=dropout,
        ),
    )


def _check_input_hook(module: nn.Module, args: tuple) -> None:
    """Forward pre-hook: the zoo's input checks for a model whose class is not ours."""
    if args:
        check_input(module, args[0])


@register
def torchvision_alexnet(num_classes: int = 1000, input_size: int = 224, dropout: float = 0.5, seed: int | None = None) -> nn.Module:
    """torchvision's AlexNet (``torchvision.models.alexnet``, untrained), the reference most code uses.

    It follows Krizhevsky's 2014 "One weird trick" single-GPU variant: 64, 192, 384, 256, 256
    kernels, conv1 padding 2, no LRN, an ``AdaptiveAvgPool2d((6, 6))`` before the classifier
    (so any input from 63×63 up works, and ``input_size`` only sets the native input) and
    dropout *before* fc6 and fc7. 61,100,840 parameters at 1,000 classes. We only add
    ``input_size`` and the input checks (a forward pre-hook).

    >>> model = torchvision_alexnet(seed=0)
    >>> type(model).__module__, sum(p.numel() for p in model.parameters())
    ('torchvision.models.alexnet', 61100840)
    """
    from torchvision.models import alexnet as tv_alexnet

    check_positive("num_classes", num_classes, "torchvision_alexnet", "one output per class")
    check_positive("input_size", input_size, "torchvision_alexnet", "the image side in pixels")
    model = _seeded(seed, lambda: tv_alexnet(weights=None, num_classes=num_classes, dropout=dropout))
    feature_shape(model.features, (3, input_size, input_size), "torchvision_alexnet")  # too small: a clear error
    model.input_size = (3, input_size, input_size)
    model.model_name = "torchvision_alexnet"
    model.register_forward_pre_hook(_check_input_hook)
    return model


# One line per model for compare_models: where it comes from.
SOURCES: dict[str, str] = {
    "lenet5_1998": "LeCun et al. 1998, Sec. II-B",
    "lenet": "Dive into Deep Learning, LeNet",
    "alexnet_2012": "Krizhevsky et al. 2012, Sec. 3",
    "alexnet_2012_two_tower": "Krizhevsky et al. 2012, Sec. 3.2",
    "alexnet": "the 2012 layers in one tower, as taught",
    "torchvision_alexnet": "torchvision (Krizhevsky 2014)",
    "alexnet_d2l": "Dive into Deep Learning, AlexNet",
    "alexnet_keras_bn": "Keras blog posts",
    "alexnet_cpu": "this course: CPU scale",
}

_POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, Subsampling)


def _pair_text(value: int | tuple[int, ...]) -> str:
    values = value if isinstance(value, tuple) else (value, value)
    return str(values[0]) if len(set(values)) == 1 else "×".join(map(str, values))


def _layers_by_name(model: nn.Module, kinds: tuple[type, ...]) -> dict[str, list[nn.Module]]:
    """Modules of ``kinds`` in definition order, grouped by their own name (the two towers' conv1 are one layer)."""
    groups: dict[str, list[nn.Module]] = {}
    for name, module in model.named_modules():
        if isinstance(module, kinds):
            groups.setdefault(name.rsplit(".", 1)[-1], []).append(module)
    return groups


def _conv1_text(model: nn.Module) -> str:
    """conv1's kernel / stride and padding; a ZeroPad2d before it shows as (before, after) pixels."""
    conv = next(m for m in model.modules() if isinstance(m, (nn.Conv2d, PartialConv2d)))
    if isinstance(conv, PartialConv2d):
        return f"{conv.kernel_size}×{conv.kernel_size} /1, pad 0"
    pad = next((m for m in model.modules() if isinstance(m, nn.ZeroPad2d)), None)
    if pad is not None:
        left, right, top, bottom = pad.padding
        padding = f"({top}, {bottom})" if (left, right) == (top, bottom) else str(pad.padding)
    else:
        padding = _pair_text(conv.padding)
    k, s = conv.kernel_size, conv.stride
    return f"{_pair_text(k)}×{_pair_text(k)} /{_pair_text(s)}, pad {padding}"


def _after_conv(model: nn.Module, kinds: tuple[type, ...]) -> list[str]:
    """For each layer of ``kinds`` (in order, towers merged): the convolution it follows, as conv1, conv2, ..."""
    convs: list[str] = []
    found: list[str] = []
    last = None
    for name, module in model.named_modules():
        short = name.rsplit(".", 1)[-1]
        if isinstance(module, (nn.Conv2d, PartialConv2d)):
            if short not in convs:
                convs.append(short)
            last = short
        elif isinstance(module, kinds) and last is not None:
            label = f"conv{convs.index(last) + 1}"
            if label not in found:
                found.append(label)
    return found


def _normalisation_text(model: nn.Module) -> str:
    lrn = [m for m in model.modules() if isinstance(m, nn.LocalResponseNorm)]
    bn = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    parts = []
    if lrn:
        m = lrn[0]
        groups = ", per tower" if getattr(m, "groups", 1) > 1 or isinstance(model, AlexNet2012TwoTower) else ""
        where = ", ".join(_after_conv(model, (nn.LocalResponseNorm,)))
        alpha = f"{m.alpha:.0e}".replace("e-0", "e-")
        parts.append(f"LRN after {where} (k={m.k:g}, n={m.size}, α={alpha} as α/n, β={m.beta:g}){groups}")
    if bn:
        where = ", ".join(_after_conv(model, (nn.BatchNorm2d,)))
        parts.append(f"BatchNorm after {where}")
    return "; ".join(parts) or "none"


def _pooling_text(model: nn.Module) -> str:
    texts = []
    for layers in _layers_by_name(model, _POOLS).values():
        m = layers[0]
        if isinstance(m, Subsampling):
            texts.append(f"trainable sum {m.kernel_size}×{m.kernel_size}")
        elif isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
            kind = "avg" if isinstance(m, nn.AdaptiveAvgPool2d) else "max"
            texts.append(f"adaptive {kind} to {_pair_text(m.output_size)}×{_pair_text(m.output_size)}")
        else:
            kind = "max" if isinstance(m, nn.MaxPool2d) else "avg"
            k = _pair_text(m.kernel_size)
            texts.append(f"{kind} {k}×{k} /{_pair_text(m.stride)}")
    counted = []
    for text in dict.fromkeys(texts):
        n = texts.count(text)
        counted.append(f"{n}× {text}" if n > 1 else text)
    return ", ".join(counted) or "none"


def _activation_text(model: nn.Module) -> str:
    names = {nn.ReLU: "ReLU", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", ScaledTanh: "1.7159 tanh(2a/3)"}
    found = [text for kind, text in names.items() if any(isinstance(m, kind) for m in model.modules())]
    return ", ".join(found) or "none"


def _classifier_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.classifier.modules() if next(m.children(), None) is None]


def _dropout_text(model: nn.Module) -> str:
    """The dropout rate and the layers whose outputs it zeroes (fully connected layers named fc6, fc7, ...)."""
    n_conv = len(_layers_by_name(model, (nn.Conv2d, PartialConv2d)))
    layers = _classifier_layers(model)
    places, rate, seen_fc = [], None, 0
    for m in layers:
        if isinstance(m, nn.Linear):
            seen_fc += 1
        elif isinstance(m, nn.Dropout) and m.p > 0:
            rate = m.p
            places.append(f"fc{n_conv + seen_fc}" if seen_fc else f"pool{n_conv}")
    return f"{rate:g} on {', '.join(places)} outputs" if places else "none"


def _fc_text(model: nn.Module) -> str:
    texts = []
    for m in _classifier_layers(model):
        if isinstance(m, nn.Linear):
            texts.append(f"{m.out_features:,}")
        elif isinstance(m, EuclideanRBF):
            texts.append(f"RBF {m.num_classes:,}")
    return ", ".join(texts)


def _grouping_text(model: nn.Module) -> str:
    if isinstance(model, AlexNet2012TwoTower):
        return "2 towers, exchange at conv3 and fc6"
    grouped = [name for name, layers in _layers_by_name(model, (nn.Conv2d,)).items() if layers[0].groups > 1]
    if grouped:
        return f"{', '.join(grouped)} in {max(layers[0].groups for layers in _layers_by_name(model, (nn.Conv2d,)).values())} groups"
    partial = [name for name, layers in _layers_by_name(model, (PartialConv2d,)).items()]
    if partial:
        return f"{', '.join(partial)}: partial connections (Table I)"
    return "none"


def _notes_text(model: nn.Module, params: int) -> str:
    notes = []
    running = sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))
    if running:
        notes.append(
            f"Keras's summary counts {params + running:,}: it adds {running:,} BatchNorm running means and "
            f"variances, which PyTorch keeps as buffers"
        )
    prototypes = sum(m.prototypes.numel() for m in model.modules() if isinstance(m, EuclideanRBF))
    if prototypes:
        notes.append(f"plus {prototypes:,} fixed RBF prototype values (a buffer, not trained)")
    if isinstance(model, AlexNet2012TwoTower):
        notes.append("same weights and outputs as alexnet_2012 (two_tower_state_dict)")
    return "; ".join(notes)


def compare_models(names: list[str] | None = None) -> pd.DataFrame:
    """All variants side by side, one row per model, read from the models themselves.

    Columns: ``source``; ``input`` (native ``C×H×W``); ``conv_kernels`` (kernels per
    convolution, the two towers added up); ``conv1`` (kernel ×, / stride, padding; a pair is
    zeros added (before, after) by a ``ZeroPad2d``); ``grouping``; ``normalisation``;
    ``activation``; ``pooling``; ``dropout`` (rate, and whether it acts on a layer's input or
    output); ``fc`` (units per fully connected layer); ``params`` and ``macs`` (the totals of
    :func:`alexnet_lib.tables.layer_table` at the native input: parameters, and
    multiply-accumulates for one image); ``notes``. The models are built on the meta
    device (shapes only), so the table takes a second, not gigabytes. Show it with thousands
    separators using ``table.style.format(thousands=",")``.

    >>> table = compare_models()
    >>> table.loc[["alexnet_2012", "alexnet_keras_bn", "alexnet_d2l"], ["input", "conv1", "params"]]
                              input                conv1    params
    model
    alexnet_2012          3×224×224  11×11 /4, pad (0, 3)  60965224
    alexnet_keras_bn      3×224×224  11×11 /4, pad (3, 4)  62379560
    alexnet_d2l           1×224×224      11×11 /4, pad 1  46764746
    """
    from .tables import layer_table

    names = list(SOURCES) if names is None else list(names)
    rows = []
    for name in names:
        if name not in _REGISTRY:
            raise ValueError(f"no model named {name!r}; registered models: {', '.join(list_models())}")
        with torch.device("meta"):
            model = get(name)
        table = layer_table(model, model.input_size)
        total = table[table["name"] == "total"].iloc[0]
        params, macs = int(total["params"]), int(total["macs"])
        kernels = [sum(m.out_channels for m in layers) for layers in _layers_by_name(model, (nn.Conv2d, PartialConv2d)).values()]
        rows.append(
            {
                "model": name,
                "source": SOURCES.get(name, ""),
                "input": "×".join(map(str, model.input_size)),
                "conv_kernels": ", ".join(map(str, kernels)),
                "conv1": _conv1_text(model),
                "grouping": _grouping_text(model),
                "normalisation": _normalisation_text(model),
                "activation": _activation_text(model),
                "pooling": _pooling_text(model),
                "dropout": _dropout_text(model),
                "fc": _fc_text(model),
                "params": params,
                "macs": macs,
                "notes": _notes_text(model, params),
            }
        )
    return pd.DataFrame(rows).set_index("model")
