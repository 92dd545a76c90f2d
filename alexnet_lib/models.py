"""The model zoo: LeNet and AlexNet as published, as simplified, and as tutorials print them, and
the networks that came after AlexNet (ZFNet, VGG, GoogLeNet, Inception v3, ResNet).

Every model is registered by name with its class, the settings that make it that model, its
native input and the source it follows: ``get(name, **kwargs)`` builds one (``device="meta"``
for shapes and counts only), ``entry(name)`` describes it without building it and
``list_models()`` lists the names. Models are named by source and year and their entries cite
the paper section or file they follow. The layers live in :mod:`alexnet_lib.lenet`,
:mod:`alexnet_lib.alexnet` and :mod:`alexnet_lib.alexnet_variants`; VGG, GoogLeNet, Inception v3
and ResNet are torchvision's, built untrained. :mod:`alexnet_lib.course.comparison` puts the
models side by side.

Every model takes ``num_classes`` (10 for the Fashion-MNIST models, 1,000 for the ImageNet
ones), ``input_size`` (the side of the square native input; the first fully connected layer
is sized for it) and ``seed``: an int builds the same weights on every call without touching PyTorch's
global random state; ``None`` draws from the global generator, as torchvision does (seed it
with ``torch.manual_seed``). Every model has ``input_size = (C, H, W)``, its native input,
and checks its inputs: a wrong channel count or size raises a ``ValueError`` that names the
smallest valid input (torchvision's later networks keep torchvision's own checks).

>>> list_models()  # doctest: +NORMALIZE_WHITESPACE
['alexnet', 'alexnet_2012', 'alexnet_2012_two_tower', 'alexnet_cpu', 'alexnet_d2l', 'alexnet_keras_bn',
 'googlenet', 'inception_v3', 'lenet', 'lenet5_1998', 'resnet18', 'resnet50', 'torchvision_alexnet',
 'vgg11', 'vgg16', 'vgg19', 'zfnet_2013']
>>> model = get("lenet5_1998", seed=0)
>>> model.input_size, model(torch.zeros(1, *model.input_size)).shape
((1, 32, 32), torch.Size([1, 10]))
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from types import MappingProxyType

import torch
from torch import nn

from .alexnet import AlexNet, AlexNet2012, AlexNet2012TwoTower, ZFNet2013
from .alexnet_variants import AlexNetCPU, AlexNetKerasBN
from .config import seeded
from .convnet import check_input, check_positive, feature_shape
from .lenet import LeNet, LeNet5

__all__ = ["ModelEntry", "entries", "entry", "get", "list_models", "register"]


@dataclass(frozen=True)
class ModelEntry:
    """One registered model: what :func:`get` builds, with which settings, for which input, after which source.

    ``factory`` is the model's class (a plain function for torchvision's). :func:`get` calls
    it with ``defaults``, then the caller's keyword arguments, then ``fixed``: the settings
    that make it this model, which the caller cannot change. ``arguments`` are the keyword
    arguments :func:`get` accepts, ``seed`` last. ``input_size`` is the native ``(C, H, W)``
    at the default arguments, so that nothing builds a model to read it. ``source`` says in
    one line where the model comes from, ``doc`` which paper section or file it follows.
    ``family`` is the network it is a version of, as the papers name it (``"LeNet"``,
    ``"AlexNet"``, ``"ZFNet"``, ``"VGG"``, ...).

    >>> e = entry("alexnet_d2l")
    >>> e.factory.__name__, dict(e.defaults), dict(e.fixed), e.input_size, e.family
    ('AlexNet', {'num_classes': 10, 'in_channels': 1}, {'conv1_padding': 1, 'init': 'xavier', 'model_name': 'alexnet_d2l'}, (1, 224, 224), 'AlexNet')
    """

    name: str
    factory: Callable[..., nn.Module]
    arguments: tuple[str, ...]
    input_size: tuple[int, int, int]
    source: str
    doc: str
    defaults: Mapping[str, object] = field(default_factory=dict)
    fixed: Mapping[str, object] = field(default_factory=dict)
    family: str = field(kw_only=True)

    def __post_init__(self) -> None:
        if self.arguments[-1:] != ("seed",):
            raise ValueError(f"{self.name}: arguments={self.arguments!r} must end with 'seed', which get always takes.")
        accepted = inspect.signature(self.factory).parameters
        unknown = [k for k in (*self.arguments[:-1], *self.defaults, *self.fixed) if k not in accepted]
        if unknown:
            names = ", ".join(repr(k) for k in unknown)
            raise ValueError(f"{self.name}: {self.factory.__name__} takes no argument {names}; it takes {', '.join(accepted)}.")
        object.__setattr__(self, "doc", inspect.cleandoc(self.doc))
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
        object.__setattr__(self, "fixed", MappingProxyType(dict(self.fixed)))


_ENTRIES: dict[str, ModelEntry] = {}


def register(new: ModelEntry) -> ModelEntry:
    """Add ``new`` to the registry under its name (names are unique).

    >>> register(entry("lenet"))
    Traceback (most recent call last):
    ...
    ValueError: a model named 'lenet' is already registered
    """
    if new.name in _ENTRIES:
        raise ValueError(f"a model named {new.name!r} is already registered")
    _ENTRIES[new.name] = new
    return new


def list_models() -> list[str]:
    """The names ``get`` accepts, sorted.

    >>> "alexnet_2012" in list_models()
    True
    """
    return sorted(_ENTRIES)


def entries() -> list[ModelEntry]:
    """Every registered model's entry, in the order registered: the course's story, LeNet first.

    >>> [e.name for e in entries()][:3]
    ['lenet5_1998', 'lenet', 'alexnet_2012']
    """
    return list(_ENTRIES.values())


def entry(name: str) -> ModelEntry:
    """The registry's entry for ``name``: its class, settings, native input and source, without building it.

    >>> entry("alexnet_cpu").input_size, entry("alexnet_cpu").arguments
    ((1, 64, 64), ('num_classes', 'in_channels', 'input_size', 'dropout', 'widths', 'fc_width', 'seed'))
    """
    try:
        return _ENTRIES[name]
    except KeyError:
        raise ValueError(f"no model named {name!r}; registered models: {', '.join(list_models()) or 'none'}") from None


def get(name: str, *, seed: int | None = None, device: str | torch.device | None = None, **kwargs: object) -> nn.Module:
    """Build the registered model ``name`` with keyword arguments ``kwargs``, drawing its weights with ``seed``.

    An int ``seed`` gives the same weights on every call and leaves PyTorch's global generator
    as it was; ``None`` draws from the global generator. ``kwargs`` must be among the model's
    ``entry(name).arguments``. ``device`` is where the weights are made; ``None`` is PyTorch's
    default device, the CPU unless you changed it.

    For questions of shapes and counts, ``device="meta"`` builds on PyTorch's meta device: every
    tensor has its shape and no values, so even VGG builds in milliseconds and no memory, and
    ``seed`` changes nothing. Such a model runs on meta tensors, and gives shapes, not values.

    >>> get("lenet", activation="relu").input_size
    (1, 28, 28)
    >>> vgg = get("vgg16", device="meta")
    >>> sum(p.numel() for p in vgg.parameters()), vgg(torch.zeros(1, *vgg.input_size, device="meta")).shape
    (138357544, torch.Size([1, 1000]))
    >>> get("alexnet_2012", in_channels=1)
    Traceback (most recent call last):
    ...
    ValueError: alexnet_2012 takes no argument 'in_channels'; it takes num_classes, input_size, seed.
    """
    spec = entry(name)
    unknown = [k for k in kwargs if k not in spec.arguments]
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        raise ValueError(f"{name} takes no argument {names}; it takes {', '.join(spec.arguments)}.")
    where = nullcontext() if device is None else torch.device(device)  # a torch.device is also a context manager
    with where, seeded(seed, device or "cpu"):
        return spec.factory(**{**spec.defaults, **kwargs, **spec.fixed})


def _check_input_hook(module: nn.Module, args: tuple) -> None:
    """Forward pre-hook: the zoo's input checks for a model whose class is not ours."""
    if args:
        check_input(module, args[0])


# GoogLeNet's and Inception v3's auxiliary classifiers help only in training, and torchvision's weights
# drop them. init_weights=True is torchvision's current default, asked for to silence its warning.
_WITHOUT_AUXILIARY = {"googlenet": {"aux_logits": False, "init_weights": True},
                      "inception_v3": {"aux_logits": False, "init_weights": True}}


def _torchvision(
    architecture: str, num_classes: int = 1000, input_size: int = 224, model_name: str | None = None, **config: object
) -> nn.Module:
    """torchvision's untrained ``architecture`` with its native ``input_size`` and a name for tables and messages.

    Each of these ends in an adaptive average pooling, so it takes any input from a smallest
    side up and ``input_size`` only records the native one. ``model_name`` defaults to
    ``architecture``; ``config`` goes to torchvision.
    """
    from torchvision.models import get_model  # deferred: importing torchvision takes seconds, and only these models need it

    model_name = model_name or architecture
    check_positive("num_classes", num_classes, model_name, "one output per class")
    check_positive("input_size", input_size, model_name, "the image side in pixels")
    config = {**_WITHOUT_AUXILIARY.get(architecture, {}), **config}
    model = get_model(architecture, weights=None, num_classes=num_classes, **config)
    model.input_size = (3, input_size, input_size)
    model.model_name = model_name
    return model


def _torchvision_alexnet(num_classes: int = 1000, input_size: int = 224, dropout: float = 0.5) -> nn.Module:
    """torchvision's own ``AlexNet``, given a native ``input_size``, a name and the zoo's input checks."""
    model = _torchvision("alexnet", num_classes, input_size, "torchvision_alexnet", dropout=dropout)
    feature_shape(model.features, (3, input_size, input_size), "torchvision_alexnet")  # too small: a clear error
    model.register_forward_pre_hook(_check_input_hook)
    return model


# The registry, in the order of the course's story. Each ``doc`` cites the source and shows the model.
register(ModelEntry(
    "lenet5_1998", LeNet5, arguments=("num_classes", "input_size", "seed"),
    input_size=(1, 32, 32), source="LeCun et al. 1998, Sec. II-B", family="LeNet",
    doc="""LeNet-5 as published: LeCun, Bottou, Bengio and Haffner 1998, Section II-B, Fig. 2, Table I.

    32×32 input; C1 6@28×28, trainable subsampling S2, C3 with Table I's partial connections,
    S4, C5 120, F6 84, the squashing function ``1.7159 tanh(2a/3)``, and 10 Euclidean RBF output
    units with fixed prototypes (the model returns minus their penalties, see
    :class:`alexnet_lib.lenet.EuclideanRBF`). 60,000 trainable parameters: C1 156, S2 12,
    C3 1,516, S4 32, C5 48,120, F6 10,164. Initialised as in Appendix A (uniform ±2.4 / fan-in).

    >>> model = get("lenet5_1998", seed=0)
    >>> {name: sum(p.numel() for p in layer.parameters()) for name, layer in model.features.named_children() if name[0] in "CS"}
    {'C1': 156, 'S2': 12, 'C3': 1516, 'S4': 32, 'C5': 48120}
    """,
))
register(ModelEntry(
    "lenet", LeNet, arguments=("num_classes", "activation", "pooling", "in_channels", "input_size", "seed"),
    input_size=(1, 28, 28), source="Dive into Deep Learning, LeNet", family="LeNet",
    doc="""The textbook LeNet: Dive into Deep Learning, "Convolutional Neural Networks (LeNet)" (``d2l.LeNet``).

    28×28 input with padding 2 in conv1; ``activation`` ``'sigmoid'`` (the book's), ``'relu'``
    or ``'tanh'``; ``pooling`` ``'avg'`` (the book's) or ``'max'``; Xavier-uniform weights as
    the book's ``init_cnn``. 61,706 parameters at 10 classes.

    >>> sum(p.numel() for p in get("lenet").parameters())
    61706
    """,
))
register(ModelEntry(
    "alexnet_2012", AlexNet2012, arguments=("num_classes", "input_size", "seed"),
    input_size=(3, 224, 224), source="Krizhevsky et al. 2012, Sec. 3", family="AlexNet",
    doc="""AlexNet as published: Krizhevsky, Sutskever and Hinton 2012, Sections 3.1-3.5, 4.2, 5 and Figure 2.

    The two GPUs as grouped convolutions (conv2, conv4, conv5), LRN after conv1 and conv2
    (k=2, n=5, α=1e-4, β=0.75, PyTorch's α/n convention, which is cuda-convnet's),
    overlapping 3×3/2 max pooling, dropout 0.5 on fc6 and fc7, weights N(0, 0.01) and biases
    1 in conv2, conv4, conv5, fc6 and fc7. 60,965,224 parameters at 224×224×3 and 1,000
    classes. ``input_size=224`` pads conv1's input by 3 zeros right and bottom as
    cuda-convnet's rounding did; ``input_size=227`` (Caffe's) needs none. See
    :class:`alexnet_lib.alexnet.AlexNet2012` for the reasoning.

    >>> model = get("alexnet_2012", input_size=227, seed=0)
    >>> [name for name, _ in model.features.named_children()][:4], model.feature_shape()
    (['conv1', 'relu1', 'norm1', 'pool1'], (256, 6, 6))
    """,
))
register(ModelEntry(
    "alexnet_2012_two_tower", AlexNet2012TwoTower, arguments=("num_classes", "input_size", "seed"),
    input_size=(3, 224, 224), source="Krizhevsky et al. 2012, Sec. 3.2", family="AlexNet",
    doc="""``alexnet_2012`` with the two GPUs as two towers (Krizhevsky et al. 2012, Section 3.2, Figure 2).

    Towers ``features.gpu0`` and ``features.gpu1`` exchange their maps at conv3 and at fc6.
    The same parameters as the grouped form, and the same outputs once its weights are
    copied in with :func:`alexnet_lib.alexnet.two_tower_state_dict`.

    >>> model = get("alexnet_2012_two_tower", seed=0)
    >>> [name for name, _ in model.features.named_children()]
    ['gpu0', 'gpu1']
    """,
))
register(ModelEntry(
    "alexnet", AlexNet, arguments=("num_classes", "in_channels", "input_size", "dropout", "seed"),
    input_size=(3, 224, 224), source="the 2012 layers in one tower, as taught", family="AlexNet",
    doc="""AlexNet as usually taught: the 2012 layers (96, 256, 384, 384, 256 kernels) in one tower, no LRN.

    Every convolution reads all maps below it, conv1 pads 2 pixels (torchvision's choice for
    224 -> 55), dropout ``dropout`` after fc6's and fc7's ReLUs, PyTorch's default
    initialisation. fc6 is sized for ``input_size``; 62,378,344 parameters at 224×224×3 and
    1,000 classes.

    >>> get("alexnet", num_classes=10, in_channels=1, input_size=96, seed=0).feature_shape()
    (256, 2, 2)
    """,
))
register(ModelEntry(
    "torchvision_alexnet", _torchvision_alexnet, arguments=("num_classes", "input_size", "dropout", "seed"),
    input_size=(3, 224, 224), source="torchvision (Krizhevsky 2014)", family="AlexNet",
    doc="""torchvision's AlexNet (``torchvision.models.alexnet``, untrained), the reference most code uses.

    It follows Krizhevsky's 2014 "One weird trick" single-GPU variant: 64, 192, 384, 256, 256
    kernels, conv1 padding 2, no LRN, an ``AdaptiveAvgPool2d((6, 6))`` before the classifier
    (so any input from 63×63 up works, and ``input_size`` only sets the native input) and
    dropout *before* fc6 and fc7. 61,100,840 parameters at 1,000 classes. We only add
    ``input_size`` and the input checks (a forward pre-hook).

    >>> model = get("torchvision_alexnet", seed=0)
    >>> type(model).__module__, sum(p.numel() for p in model.parameters())
    ('torchvision.models.alexnet', 61100840)
    """,
))
register(ModelEntry(
    "alexnet_d2l", AlexNet, arguments=("num_classes", "in_channels", "input_size", "dropout", "seed"),
    input_size=(1, 224, 224), source="Dive into Deep Learning, AlexNet", family="AlexNet",
    defaults={"num_classes": 10, "in_channels": 1},
    fixed={"conv1_padding": 1, "init": "xavier", "model_name": "alexnet_d2l"},
    doc="""Dive into Deep Learning's AlexNet for Fashion-MNIST (section "Deep Convolutional Neural Networks (AlexNet)").

    One greyscale channel resized to 224×224, conv1 11×11/4 with padding 1 (224 -> 54, and
    the maps end at 5×5, so fc6 has 256 × 5 × 5 = 6,400 inputs), no LRN, dropout after the
    ReLUs of the two 4,096-unit layers, Xavier-uniform weights (the book's ``init_cnn``).
    46,764,746 parameters at 10 classes.

    >>> model = get("alexnet_d2l", seed=0)
    >>> model.input_size, model.classifier.fc6.in_features
    ((1, 224, 224), 6400)
    """,
))
register(ModelEntry(
    "alexnet_keras_bn", AlexNetKerasBN, arguments=("num_classes", "input_size", "dropout", "seed"),
    input_size=(3, 224, 224), source="Keras blog posts", family="AlexNet",
    doc="""The AlexNet of the widely copied Keras posts: ``padding='same'`` (224 -> 56), BatchNorm instead of LRN.

    BatchNorm after conv1, conv2 and conv5 (608 maps), Keras's defaults for initialisation and
    BatchNorm. PyTorch counts 62,379,560 parameters at 1,000 classes; Keras's summary says
    62,380,776 because it adds BatchNorm's 1,216 running means and variances, which PyTorch
    keeps as buffers. See :class:`alexnet_lib.alexnet_variants.AlexNetKerasBN`.

    >>> model = get("alexnet_keras_bn", seed=0)
    >>> sum(p.numel() for p in model.parameters()), sum(b.numel() for n, b in model.named_buffers() if "running" in n)
    (62379560, 1216)
    """,
))
register(ModelEntry(
    "alexnet_cpu", AlexNetCPU, arguments=("num_classes", "in_channels", "input_size", "dropout", "widths", "fc_width", "seed"),
    input_size=(1, 64, 64), source="this course: CPU scale", family="AlexNet",
    doc="""AlexNet's eight-layer design scaled for a laptop CPU and CI: this course's own (not a published model).

    5 convolutions and 3 fully connected layers, ReLU, overlapping 3×3/2 max pooling and
    dropout as in Krizhevsky et al. 2012, on 64×64 greyscale images with 32, 64, 128, 128, 96
    kernels and 512-unit fc6 and fc7: 1,094,890 parameters, about 29 million MACs per image.
    See :class:`alexnet_lib.alexnet_variants.AlexNetCPU`.

    >>> import torch
    >>> model = get("alexnet_cpu", seed=0)
    >>> model.input_size, model(torch.zeros(2, 1, 64, 64)).shape
    ((1, 64, 64), torch.Size([2, 10]))
    """,
))

# What came after AlexNet: ZFNet from the paper, the others as torchvision builds them (untrained).
register(ModelEntry(
    "zfnet_2013", ZFNet2013, arguments=("num_classes", "input_size", "seed"),
    input_size=(3, 224, 224), source="Zeiler and Fergus 2013, Fig. 3", family="ZFNet",
    doc="""ZFNet: Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks" (arXiv 2013, ECCV 2014), Fig. 3.

    AlexNet retuned by looking at what its layers respond to: conv1 has 7×7 kernels at stride 2
    instead of 11×11 at stride 4, conv2 strides 2, one tower, contrast normalisation after the
    first two poolings. torchvision has no ZFNet; the paper's silences and our assumptions are
    in :class:`alexnet_lib.alexnet.ZFNet2013`. 62,357,608 parameters at 1,000 classes.

    >>> model = get("zfnet_2013", device="meta")
    >>> model.features.conv1, model.feature_shape()
    (Conv2d(3, 96, kernel_size=(7, 7), stride=(2, 2), padding=(1, 1)), (256, 6, 6))
    """,
))
register(ModelEntry(
    "vgg11", _torchvision, arguments=("num_classes", "input_size", "seed"),
    input_size=(3, 224, 224), source="Simonyan and Zisserman 2014, Table 1 (A)", family="VGG",
    fixed={"architecture": "vgg11"},
    doc="""VGG's network A (torchvision's ``vgg11``): Simonyan and Zisserman 2014, "Very Deep Convolutional Networks", Table 1.

    8 convolutions of 3×3 and 3 fully connected layers: the first network the paper trained,
    whose layers started the deeper ones. 132,863,336 parameters at 1,000 classes (Table 2: 133 million).

    >>> sum(p.numel() for p in get("vgg11", device="meta").parameters())
    132863336
    """,
))
register(ModelEntry(
    "vgg16", _torchvision, arguments=("num_classes", "input_size", "seed"),
    input_size=(3, 224, 224), source="Simonyan and Zisserman 2014, Table 1 (D)", family="VGG",
    fixed={"architecture": "vgg16"},
    doc="""VGG-16, the paper's network D (torchvision's ``vgg16``): Simonyan and Zisserman 2014, Table 1.

    Thirteen 3×3 convolutions in five blocks, each closed by 2×2 max pooling, then fully
    connected layers of 4096, 4096 and ``num_classes``; no LRN. torchvision adds an
    ``AdaptiveAvgPool2d((7, 7))`` before the first fully connected layer. 138,357,544
    parameters at 1,000 classes (Table 2: 138 million), most of them in that layer.

    >>> get("vgg16", device="meta").classifier[0]
    Linear(in_features=25088, out_features=4096, bias=True)
    """,
))
register(ModelEntry(
    "vgg19", _torchvision, arguments=("num_classes", "input_size", "seed"),
    input_size=(3, 224, 224), source="Simonyan and Zisserman 2014, Table 1 (E)", family="VGG",
    fixed={"architecture": "vgg19"},
    doc="""VGG-19, the paper's network E (torchvision's ``vgg19``): Simonyan and Zisserman 2014, Table 1.

    Sixteen 3×3 convolutions and 3 fully connected layers. 143,667,240 parameters at 1,000
    classes (Table 2: 144 million).

    >>> sum(p.numel() for p in get("vgg19", device="meta").parameters())
    143667240
    """,
))
register(ModelEntry(
    "googlenet", _torchvision, arguments=("num_classes", "input_size", "seed"),
    input_size=(3, 224, 224), source="Szegedy et al. 2014, Table 1, as torchvision ports it", family="GoogLeNet",
    fixed={"architecture": "googlenet"},
    doc="""GoogLeNet (Inception v1): Szegedy et al. 2014, "Going Deeper with Convolutions", Table 1, as torchvision builds it.

    Nine Inception blocks of parallel 1×1, 3×3, 5×5 and pooling branches, their channels first
    reduced by 1×1 convolutions, then global average pooling and one fully connected layer.
    torchvision's is a port of TensorFlow's version: batch normalisation after every
    convolution, no LRN, 3×3 kernels where the paper's branch has 5×5; its two auxiliary
    classifiers, which help only in training, are left out. 6,624,904 parameters at 1,000 classes.

    >>> model = get("googlenet", device="meta")
    >>> sum(p.numel() for p in model.parameters()), model.aux1
    (6624904, None)
    """,
))
register(ModelEntry(
    "inception_v3", _torchvision, arguments=("num_classes", "input_size", "seed"),
    input_size=(3, 299, 299), source="Szegedy et al. 2015, Inception-v3", family="Inception",
    defaults={"input_size": 299}, fixed={"architecture": "inception_v3"},
    doc="""Inception v3: Szegedy et al., "Rethinking the Inception Architecture for Computer Vision" (arXiv 2015), as torchvision builds it.

    Inception blocks with factorised convolutions (a 5×5 as two 3×3, an n×n as 1×n then n×1)
    and batch normalisation, on 299×299 images; the auxiliary classifier is left out.
    23,834,568 parameters at 1,000 classes.

    >>> model = get("inception_v3", device="meta")
    >>> model.input_size, sum(p.numel() for p in model.parameters())
    ((3, 299, 299), 23834568)
    """,
))
register(ModelEntry(
    "resnet18", _torchvision, arguments=("num_classes", "input_size", "seed"),
    input_size=(3, 224, 224), source="He et al. 2015, Table 1", family="ResNet",
    fixed={"architecture": "resnet18"},
    doc="""ResNet-18: He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition" (arXiv 2015), Table 1.

    Eight residual blocks of two 3×3 convolutions, each adding its input to its output, between
    a 7×7 convolution and global average pooling with one fully connected layer; batch
    normalisation after every convolution. 11,689,512 parameters at 1,000 classes.

    >>> sum(p.numel() for p in get("resnet18", device="meta").parameters())
    11689512
    """,
))
register(ModelEntry(
    "resnet50", _torchvision, arguments=("num_classes", "input_size", "seed"),
    input_size=(3, 224, 224), source="He et al. 2015, Table 1", family="ResNet",
    fixed={"architecture": "resnet50"},
    doc="""ResNet-50: He et al. 2015, Table 1, as torchvision builds it.

    Sixteen bottleneck blocks (1×1 to narrow, 3×3, 1×1 to widen again); torchvision strides
    the 3×3 convolution, not the first 1×1, where a block halves the maps (no parameter
    changes). 25,557,032 parameters at 1,000 classes.

    >>> sum(p.numel() for p in get("resnet50", device="meta").parameters())
    25557032
    """,
))

# Each entry's doc is a doctest too (pytest --doctest-modules reads __test__).
__test__ = {name: e.doc for name, e in _ENTRIES.items()}
