"""The model zoo: LeNet and AlexNet as published, as simplified and as tutorials print them, and what came after.

``get(name, **kwargs)`` builds a model, ``entry(name)`` describes it without building it. Every model takes
``num_classes``, ``input_size`` (the side of its square native input) and ``seed``, and has ``input_size = (C, H, W)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from types import MappingProxyType

import torch
from torch import nn

from .alexnet import AlexNet, AlexNet2012, AlexNet2012TwoTower, AlexNetCPU, AlexNetKerasBN, ZFNet2013
from .config import seeded
from .convnet import check_input, check_positive, feature_shape
from .lenet import LeNet, LeNet5

__all__ = ["ModelEntry", "entries", "entry", "get", "list_models", "register"]
_ENTRIES: dict[str, ModelEntry] = {}  # the registry: name -> entry, in the order registered


def _check_arguments(who: str, given: Iterable[str], accepted: Iterable[str]) -> None:
    """A ``ValueError`` naming the arguments in ``given`` that ``who`` does not take, and those it takes."""
    unknown = ", ".join(repr(k) for k in given if k not in accepted)
    if unknown:
        raise ValueError(f"{who} takes no argument {unknown}; it takes {', '.join(accepted)}.")


@dataclass(frozen=True)
class ModelEntry:
    """One registered model: :func:`get` calls ``factory`` with ``defaults``, the caller's keyword arguments among ``arguments``
    (``seed`` last), then ``fixed``, the settings that make it this model; all are checked against its signature here.

    >>> dict(entry("alexnet_d2l").defaults), dict(entry("alexnet_d2l").fixed)
    ({'num_classes': 10, 'in_channels': 1}, {'conv1_padding': 1, 'init': 'xavier', 'model_name': 'alexnet_d2l'})
    """

    name: str
    factory: Callable[..., nn.Module]
    arguments: tuple[str, ...]
    input_size: tuple[int, int, int]
    source: str
    doc: str = ""
    defaults: Mapping[str, object] = field(default_factory=dict)
    fixed: Mapping[str, object] = field(default_factory=dict)
    family: str = field(kw_only=True)

    def __post_init__(self) -> None:
        if self.arguments[-1:] != ("seed",):
            raise ValueError(f"{self.name}: arguments={self.arguments!r} must end with 'seed', which get always takes.")
        _check_arguments(f"{self.name}: {self.factory.__name__}", (*self.arguments[:-1], *self.defaults, *self.fixed),
                         inspect.signature(self.factory).parameters)
        object.__setattr__(self, "doc", inspect.cleandoc(self.doc or self.factory.__doc__ or ""))
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
        object.__setattr__(self, "fixed", MappingProxyType(dict(self.fixed)))


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

    >>> len(list_models()), list_models()[:3]
    (17, ['alexnet', 'alexnet_2012', 'alexnet_2012_two_tower'])
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
    if name not in _ENTRIES:
        raise ValueError(f"no model named {name!r}; registered models: {', '.join(list_models()) or 'none'}")
    return _ENTRIES[name]


def get(name: str, *, seed: int | None = None, device: str | torch.device | None = None, **kwargs: object) -> nn.Module:
    """Build the registered model ``name`` with ``kwargs`` on ``device`` (``"meta"``: shapes, no values), seeded by ``seed``.

    An int ``seed`` gives the same weights on every call and leaves PyTorch's global generator as it was; ``None`` draws from it.

    >>> get("lenet5_1998", seed=0)(torch.zeros(1, 1, 32, 32)).shape
    torch.Size([1, 10])
    """
    spec = entry(name)
    _check_arguments(name, kwargs, spec.arguments)
    where = nullcontext() if device is None else torch.device(device)  # a torch.device is also a context manager
    with where, seeded(seed, device or "cpu"):
        return spec.factory(**{**spec.defaults, **kwargs, **spec.fixed})


def _torchvision(architecture: str, model_name: str, num_classes: int = 1000, input_size: int = 224,
                 **config: object) -> nn.Module:
    """torchvision's untrained ``architecture``, named ``model_name``; ``config`` goes to torchvision."""
    from torchvision.models import get_model  # deferred: importing torchvision takes seconds, and only these models need it

    check_positive("num_classes", num_classes, model_name, "one output per class")
    check_positive("input_size", input_size, model_name, "the image side in pixels")
    if architecture in ("googlenet", "inception_v3"):  # their auxiliary classifiers help only in training
        config = {"aux_logits": False, "init_weights": True, **config}  # init_weights: the default, asked to silence a warning
    model = get_model(architecture, weights=None, num_classes=num_classes, **config)
    model.input_size, model.model_name = (3, input_size, input_size), model_name
    return model


def _check_input_hook(module: nn.Module, args: tuple, kwargs: dict) -> None:  # the zoo's checks, x by position or name
    check_input(module, *args, **kwargs)


def _torchvision_alexnet(num_classes: int = 1000, input_size: int = 224, dropout: float = 0.5) -> nn.Module:
    """torchvision's AlexNet with the zoo's input checks: Krizhevsky's 2014 "One weird trick" variant (64, 192, 384, 256,
    256 kernels, no LRN, dropout *before* fc6 and fc7), whose ``AdaptiveAvgPool2d((6, 6))`` takes any input from 63×63 up.

    >>> sum(p.numel() for p in get("torchvision_alexnet", device="meta").parameters())
    61100840
    """
    model = _torchvision("alexnet", "torchvision_alexnet", num_classes, input_size, dropout=dropout)
    feature_shape(model.features, model.input_size, "torchvision_alexnet")  # too small: a clear error
    model.register_forward_pre_hook(_check_input_hook, with_kwargs=True)
    return model


_SIZED, _DROPOUT = ("num_classes", "input_size", "seed"), ("num_classes", "input_size", "dropout", "seed")
_ALEXNET, _IMAGENET = ("num_classes", "in_channels", "input_size", "dropout", "seed"), (3, 224, 224)
register(ModelEntry("lenet5_1998", LeNet5, _SIZED, (1, 32, 32), "LeCun et al. 1998, Sec. II-B", family="LeNet"))
register(ModelEntry("lenet", LeNet, ("num_classes", "activation", "pooling", "in_channels", "input_size", "seed"),
                    (1, 28, 28), "Dive into Deep Learning, LeNet", family="LeNet"))
register(ModelEntry("alexnet_2012", AlexNet2012, _SIZED, _IMAGENET, "Krizhevsky et al. 2012, Sec. 3", family="AlexNet"))
register(ModelEntry("alexnet_2012_two_tower", AlexNet2012TwoTower, _SIZED, _IMAGENET, "Krizhevsky et al. 2012, Sec. 3.2",
                    family="AlexNet"))
register(ModelEntry("alexnet", AlexNet, _ALEXNET, _IMAGENET, "the 2012 layers in one tower, as taught", family="AlexNet"))
register(ModelEntry("torchvision_alexnet", _torchvision_alexnet, _DROPOUT, _IMAGENET, "torchvision (Krizhevsky 2014)",
                    family="AlexNet"))
register(ModelEntry(
    "alexnet_d2l", AlexNet, _ALEXNET, (1, 224, 224), "Dive into Deep Learning, AlexNet", family="AlexNet",
    defaults={"num_classes": 10, "in_channels": 1}, fixed={"conv1_padding": 1, "init": "xavier", "model_name": "alexnet_d2l"},
    doc="""Dive into Deep Learning's AlexNet for Fashion-MNIST: one grey channel resized to 224×224, conv1 padded by 1
    (224 -> 54, so fc6 reads 256 × 5 × 5 = 6,400 values), Xavier-uniform weights (the book's ``init_cnn``).

    >>> get("alexnet_d2l", device="meta").classifier.fc6.in_features
    6400
    """))
register(ModelEntry("alexnet_keras_bn", AlexNetKerasBN, _DROPOUT, _IMAGENET, "Keras blog posts", family="AlexNet"))
register(ModelEntry("alexnet_cpu", AlexNetCPU, ("num_classes", "in_channels", "input_size", "dropout", "widths",
                                                "fc_width", "seed"), (1, 64, 64), "this course: CPU scale", family="AlexNet"))
register(ModelEntry("zfnet_2013", ZFNet2013, _SIZED, _IMAGENET, "Zeiler and Fergus 2013, Fig. 3", family="ZFNet"))

# After AlexNet, as torchvision builds them: family, source, what the network is, parameters at 1,000 classes.
_SUCCESSORS = {
    "vgg11": ("VGG", "Simonyan and Zisserman 2014, Table 1 (A)", "8 convolutions of 3×3, 3 fully connected", 132_863_336),
    "vgg16": ("VGG", "Simonyan and Zisserman 2014, Table 1 (D)", "13 convolutions of 3×3, 3 fully connected", 138_357_544),
    "vgg19": ("VGG", "Simonyan and Zisserman 2014, Table 1 (E)", "16 convolutions of 3×3, 3 fully connected", 143_667_240),
    "googlenet": ("GoogLeNet", "Szegedy et al. 2014, Table 1, as torchvision ports it", "9 Inception blocks", 6_624_904),
    "inception_v3": ("Inception", "Szegedy et al. 2015, Inception-v3", "factorised convolutions, 299×299", 23_834_568),
    "resnet18": ("ResNet", "He et al. 2015, Table 1", "8 residual blocks of two 3×3 convolutions", 11_689_512),
    "resnet50": ("ResNet", "He et al. 2015, Table 1", "16 bottleneck blocks (1×1, 3×3, 1×1)", 25_557_032),
}
for _name, (_family, _source, _what, _params) in _SUCCESSORS.items():
    _side = 299 if _name == "inception_v3" else 224
    register(ModelEntry(_name, _torchvision, _SIZED, (3, _side, _side), _source, family=_family,
                        defaults={"input_size": _side}, fixed={"architecture": _name, "model_name": _name},
                        doc=f"torchvision's ``{_name}``, untrained ({_source}): {_what}.\n\n"
                            f">>> sum(p.numel() for p in get({_name!r}, device='meta').parameters())\n{_params}"))

# The entries' own docs are doctests too (pytest --doctest-modules reads __test__); the classes' run in their modules.
__test__ = {e.name: e.doc for e in entries() if e.doc != inspect.cleandoc(e.factory.__doc__ or "")}
