"""Models side by side: the zoo's variants (:func:`compare_models`, every column read from the
model's own layers), and LeNet, AlexNet and what came next (ZFNet, VGG, GoogLeNet, ResNet) in
:func:`milestone_table`.

Every number in both tables is computed from a model built on PyTorch's ``meta``
device (shapes only: no memory, no initialisation cost, no download). The milestone table:

``depth``
    The number of layers with weights (convolutions and fully connected layers) on the
    longest path from input to output, measured by :func:`weight_layer_depth` during one
    forward pass. For a chain it is simply the number of such layers; for GoogLeNet and
    ResNet, whose blocks branch, it is the depth the papers count (22, 18, 50).
``params``, ``macs``, ``activations``
    From :func:`alexnet_lib.course.tables.layer_table`: parameters, multiply-accumulates per image,
    and the number of values all layers output for one image (ReLU and dropout outputs
    included, as the layer table counts them).

Every model comes from :func:`alexnet_lib.models.get`, which builds LeNet, AlexNet and ZFNet
from their papers and VGG-16, GoogLeNet and ResNet-18/50 as torchvision does
(``torchvision.models.get_model(name, weights=None)``); :data:`MILESTONES` adds each one's
year, authors and key idea.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from .. import models
from ..alexnet import AlexNet2012TwoTower
from ..config import shape_text
from ..lenet import EuclideanRBF, PartialConv2d, ScaledTanh, Subsampling
from .tables import layer_table
from .tracking import tensors_in  # the tensors in nested outputs and arguments

__all__ = [
    "MILESTONES", "Milestone", "compare_models", "count_weight_layers", "format_milestone_table",
    "milestone_table", "torchvision_top1", "weight_layer_depth",
]


@dataclass(frozen=True)
class Milestone:
    """One network of the LeNet -> ResNet story: its name, year, authors and key idea (``models.get`` builds it)."""

    label: str
    year: int
    authors: str
    idea: str
    torchvision_name: str | None = None  # whose weights' metadata gives an ImageNet accuracy


# year: the first public release; ZFNet's arXiv:1311.2901 (Nov 2013, ECCV 2014), as VGG's and ResNet's arXiv.
MILESTONES: dict[str, Milestone] = {
    "lenet5_1998": Milestone("LeNet-5", 1998, "LeCun, Bottou, Bengio, Haffner",
                             "convolution + subsampling, trained end to end by backpropagation"),
    "lenet": Milestone("LeNet (textbook)", 1998, "Dive into Deep Learning's simplification",
                       "LeNet-5 with full connections, plain pooling, softmax outputs"),
    "alexnet_2012": Milestone("AlexNet", 2012, "Krizhevsky, Sutskever, Hinton",
                              "a deep CNN on GPUs with ReLU, dropout, data augmentation, LRN"),
    "alexnet_cpu": Milestone("AlexNet (CPU scale)", 2012, "this course, after Krizhevsky et al.",
                             "AlexNet's eight-layer design, narrowed for 64×64 greyscale images"),
    "alexnet_d2l": Milestone("AlexNet (d2l)", 2012, "Dive into Deep Learning, after Krizhevsky et al.",
                             "AlexNet on one GPU, without LRN and grouping, for Fashion-MNIST"),
    "torchvision_alexnet": Milestone("AlexNet (torchvision)", 2014, "Krizhevsky's 'one weird trick' variant",
                                     "the single-tower AlexNet that torchvision ships", torchvision_name="alexnet"),
    "zfnet_2013": Milestone("ZFNet", 2013, "Zeiler, Fergus",
                            "AlexNet tuned by looking at its features: a 7×7 stride-2 first layer"),
    "vgg16": Milestone("VGG-16", 2014, "Simonyan, Zisserman",
                       "only 3×3 convolutions, stacked deep", torchvision_name="vgg16"),
    "googlenet": Milestone("GoogLeNet", 2014, "Szegedy et al.",
                           "Inception blocks of parallel branches, 1×1 reductions, global average pooling",
                           torchvision_name="googlenet"),
    "resnet18": Milestone("ResNet-18", 2015, "He, Zhang, Ren, Sun",
                          "residual blocks: each learns a correction added to its input",
                          torchvision_name="resnet18"),
    "resnet50": Milestone("ResNet-50", 2015, "He, Zhang, Ren, Sun",
                          "residual bottleneck blocks (1×1, 3×3, 1×1 convolutions)",
                          torchvision_name="resnet50"),
}
_IMAGENET_INPUT = (3, 224, 224)


def torchvision_top1(name: str, weights: str = "IMAGENET1K_V1") -> float | None:
    """ImageNet top-1 accuracy (%) of torchvision's ``weights`` for milestone ``name``, from their metadata.

    No download: the number is stored in torchvision's code. None where torchvision has no weights.
    V1 by default, like with like: every milestone has V1 weights, trained by simple recipes
    close to the papers'; ResNet-50's default, V2, comes from torchvision's 2021 recipe.

    >>> torchvision_top1("resnet50"), torchvision_top1("resnet50", "IMAGENET1K_V2"), torchvision_top1("zfnet_2013")
    (76.13, 80.858, None)
    """
    tv_name = MILESTONES[name].torchvision_name if name in MILESTONES else None
    if tv_name is None:
        return None
    from torchvision.models import get_model_weights  # deferred: importing torchvision takes seconds

    known = get_model_weights(tv_name).__members__
    if weights not in known:
        raise ValueError(f"torchvision has no weights {weights!r} for {tv_name}; choose one of {', '.join(known)}.")
    return float(known[weights].meta["_metrics"]["ImageNet-1K"]["acc@1"])


# LeNet-5's partially connected C3 and its RBF output layer have weights too.
_WEIGHT_LAYERS: tuple[type[nn.Module], ...] = (nn.modules.conv._ConvNd, nn.Linear, PartialConv2d, EuclideanRBF)


def count_weight_layers(model: nn.Module) -> int:
    """How many layers with weights (convolutions, fully connected layers) ``model`` has, on any path.

    For a chain this equals :func:`weight_layer_depth`; branches (Inception's parallel
    convolutions, ResNet's shortcut convolutions) add layers that are not on the longest path.

    >>> count_weight_layers(models.get("vgg16", device="meta")), count_weight_layers(models.get("resnet18", device="meta"))
    (16, 21)
    """
    return sum(1 for m in model.modules() if isinstance(m, _WEIGHT_LAYERS))


class _DepthMode(TorchFunctionMode):
    """Gives every tensor made during a forward pass the largest depth among the tensors it was made from."""

    def __init__(self) -> None:
        super().__init__()
        self.depth: dict[int, int] = {}
        self.alive: list[torch.Tensor] = []  # keeps ids unique while we look them up

    def of(self, value: object) -> int:
        return max((self.depth.get(id(t), 0) for t in tensors_in(value)), default=0)

    def set(self, value: object, depth: int) -> None:
        for t in tensors_in(value):
            self.depth[id(t)] = depth
            self.alive.append(t)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.set(out, self.of((args, kwargs)))
        return out


def weight_layer_depth(model: nn.Module, input_size: Sequence[int] = _IMAGENET_INPUT) -> int:
    """Layers with weights (convolutions, fully connected layers) on the longest input-to-output path.

    The model runs once on zeros of ``(1, *input_size)`` on its own device, in eval mode.
    LeNet-5's partially connected C3 and its RBF output layer count as layers with weights.

    >>> net = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 24 * 24, 10))
    >>> weight_layer_depth(net, (1, 28, 28))
    2
    >>> weight_layer_depth(models.get("googlenet", device="meta")), weight_layer_depth(models.get("resnet50", device="meta"))
    (22, 50)
    """
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    mode = _DepthMode()

    def hook(module: nn.Module, args: tuple, output: object) -> None:
        mode.set(output, mode.of(args) + 1)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, _WEIGHT_LAYERS)]
    training = model.training
    try:
        model.eval()
        with torch.no_grad(), mode:
            out = model(torch.zeros((1, *input_size), device=device))
        return mode.of(out)
    finally:
        for handle in handles:
            handle.remove()
        model.train(training)


def milestone_table(names: Sequence[str], built: Mapping[str, nn.Module] | None = None) -> pd.DataFrame:
    """One row per milestone: label, year, depth, params, macs, activations (per image) and torchvision's top-1.

    ``built`` maps names to models to use instead of building them (a model trained here, with
    its recipe's input size); the others are built on the meta device by :func:`alexnet_lib.models.get`.
    Models run at their ``input_size`` attribute, else at 3×224×224. ``imagenet_top1`` is the
    accuracy (%) torchvision reports for its V1 weights (None: no weights in torchvision).

    >>> table = milestone_table(["lenet5_1998", "alexnet_2012"])
    >>> table[["year", "depth", "params"]]
                  year  depth    params
    lenet5_1998   1998      5     60000
    alexnet_2012  2012      8  60965224
    """
    rows = {}
    for name in names:
        model = (built or {}).get(name)
        if model is None:
            model = models.get(name, device="meta")
        size = tuple(getattr(model, "input_size", _IMAGENET_INPUT))
        total = layer_table(model, size).iloc[-1]
        params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        itemsize = torch.empty((), dtype=torch.float32).element_size()
        info = MILESTONES.get(name)
        rows[name] = {
            "label": info.label if info else name,
            "year": info.year if info else None,
            "input": shape_text(size),
            "depth": weight_layer_depth(model, size),
            "params": int(params),
            "macs": int(total["macs"]),
            "activations": int(total["activation_bytes"]) // itemsize,
            "imagenet_top1": torchvision_top1(name),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def format_milestone_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table as text: thousands separators for the counts, top-1 as a percentage, '-' where there is none.

    >>> format_milestone_table(milestone_table(["resnet18"]))[["params", "macs", "imagenet_top1"]]
                  params           macs imagenet_top1
    resnet18  11,689,512  1,814,073,344         69.8%
    """
    counts = [c for c in ("params", "macs", "activations") if c in table.columns]
    shown = table.astype(object).copy()
    for c in counts:
        shown[c] = table[c].map(lambda v: f"{int(v):,}")
    if "imagenet_top1" in table.columns:
        shown["imagenet_top1"] = table["imagenet_top1"].map(lambda v: "-" if pd.isna(v) else f"{v:.1f}%")
    return shown


# The zoo's variants side by side: compare_models and the texts of its columns.
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
    counted = Counter(texts)  # in the order first seen
    return ", ".join(f"{n}× {text}" if n > 1 else text for text, n in counted.items()) or "none"


def _activation_text(model: nn.Module) -> str:
    names = {nn.ReLU: "ReLU", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", ScaledTanh: "1.7159 tanh(2a/3)"}
    found = [text for kind, text in names.items() if any(isinstance(m, kind) for m in model.modules())]
    return ", ".join(found) or "none"


def _classifier_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.classifier.modules() if next(m.children(), None) is None]


def _dropout_text(model: nn.Module) -> str:
    """The dropout rate and the layers whose outputs it zeroes (fully connected layers named fc6, fc7, ...)."""
    n_conv = len(_layers_by_name(model, (nn.Conv2d, PartialConv2d)))
    places, rate, seen_fc = [], None, 0
    for m in _classifier_layers(model):
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
    convs = _layers_by_name(model, (nn.Conv2d,))
    grouped = [name for name, layers in convs.items() if layers[0].groups > 1]
    if grouped:
        return f"{', '.join(grouped)} in {max(layers[0].groups for layers in convs.values())} groups"
    partial = list(_layers_by_name(model, (PartialConv2d,)))
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


def compare_models(names: Sequence[str] | None = None) -> pd.DataFrame:
    """All variants of LeNet and AlexNet side by side, one row per model, read from the models themselves.

    Columns: ``source``; ``input`` (native ``C×H×W``); ``conv_kernels`` (kernels per
    convolution, the two towers added up); ``conv1`` (kernel ×, / stride, padding; a pair is
    zeros added (before, after) by a ``ZeroPad2d``); ``grouping``; ``normalisation``;
    ``activation``; ``pooling``; ``dropout`` (rate, and whether it acts on a layer's input or
    output); ``fc`` (units per fully connected layer); ``params`` and ``macs`` (the totals of
    :func:`alexnet_lib.course.tables.layer_table` at the native input: parameters, and
    multiply-accumulates for one image); ``notes``. The models are built on the meta
    device (shapes only), so the table takes a second, not gigabytes. ``names`` defaults to
    every registered LeNet and AlexNet, in the registry's order (the columns name AlexNet's
    layers; :func:`milestone_table` compares the networks that came after). Show it with
    thousands separators using ``table.style.format(thousands=",")``.

    >>> table = compare_models()
    >>> table.loc[["alexnet_2012", "alexnet_keras_bn", "alexnet_d2l"], ["input", "conv1", "params"]]
                              input                conv1    params
    model
    alexnet_2012          3×224×224  11×11 /4, pad (0, 3)  60965224
    alexnet_keras_bn      3×224×224  11×11 /4, pad (3, 4)  62379560
    alexnet_d2l           1×224×224      11×11 /4, pad 1  46764746
    """
    if names is None:
        names = [e.name for e in models.entries() if e.family in ("LeNet", "AlexNet")]
    names = list(names)
    sources = {name: models.entry(name).source for name in names}  # an unknown name: the registry's error
    rows = []
    for name in names:
        model = models.get(name, device="meta")
        rows.append({"model": name, "source": sources[name], **_comparison_columns(model)})
    return pd.DataFrame(rows).set_index("model")


def _comparison_columns(model: nn.Module) -> dict[str, object]:
    """One row of :func:`compare_models`, less the model's name and source."""
    table = layer_table(model, model.input_size)
    total = table[table["name"] == "total"].iloc[0]
    params, macs = int(total["params"]), int(total["macs"])
    kernels = [sum(m.out_channels for m in layers) for layers in _layers_by_name(model, (nn.Conv2d, PartialConv2d)).values()]
    return {
        "input": shape_text(model.input_size),
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
