"""The model zoo against the papers' numbers and against independent references.

References used: the parameter counts printed by the papers and posts (as published
claims), the kernel shapes the papers describe (counted here by formula), torchvision's
AlexNet for the layers it shares, the books' code transcribed, and :mod:`alexnet_lib.shapes`'
arithmetic for the smallest valid inputs, ZFNet's map sizes in Zeiler and Fergus (2013), Fig. 3,
and for the networks after AlexNet, the parameter counts torchvision records with its weights.
The layers themselves (LeNet-5's C3, subsampling and RBF, LRN, the two towers, 224 vs 227) are
tested in ``test_model_layers.py``.

Fast where possible: parameter counts and shapes are taken from models built on the meta
device (shapes only); full-size forward passes run only for the training steps.
"""

from __future__ import annotations

import inspect

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import get_model_weights

from alexnet_lib import models
from alexnet_lib.alexnet import AlexNet, AlexNet2012, AlexNet2012TwoTower, AlexNetCPU, AlexNetKerasBN, ZFNet2013, cuda_convnet_padding
from alexnet_lib.config import seeded
from alexnet_lib.course.comparison import MILESTONES, compare_models
from alexnet_lib.convnet import feature_shape, input_side_range
from alexnet_lib.lenet import C3_CONNECTIONS, LeNet, LeNet5
from alexnet_lib.models import ModelEntry, entry, get, list_models
from alexnet_lib.shapes import conv_output_size, pool_output_size, same_padding

ALL = [
    "alexnet",
    "alexnet_2012",
    "alexnet_2012_two_tower",
    "alexnet_cpu",
    "alexnet_d2l",
    "alexnet_keras_bn",
    "lenet",
    "lenet5_1998",
    "torchvision_alexnet",
    "zfnet_2013",
]
# After AlexNet, as torchvision builds them: tested here as far as the registry wraps them.
TORCHVISION_SUCCESSORS = ["googlenet", "inception_v3", "resnet18", "resnet50", "vgg11", "vgg16", "vgg19"]
LENETS_AND_ALEXNETS = [name for name in ALL if name != "zfnet_2013"]
FASHION_MNIST_MODELS = {"lenet5_1998", "lenet", "alexnet_d2l", "alexnet_cpu"}

# Published totals (the papers' and posts' own claims).
PUBLISHED_PARAMS = {
    "lenet5_1998": 60_000,  # "about 60,000" trainable parameters; the layers add up to exactly this
    "alexnet_2012": 60_965_224,
    "alexnet_2012_two_tower": 60_965_224,
    "alexnet": 62_378_344,
    "alexnet_keras_bn": 62_379_560,
    "torchvision_alexnet": 61_100_840,
    "alexnet_d2l": 46_764_746,
    "lenet": 61_706,
}


def params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def meta(name: str, **kwargs) -> nn.Module:
    """The model built on the meta device: shapes and counts without memory or time."""
    return get(name, device="meta", **kwargs)


def conv_params(kernels: int, k: int, depth: int) -> int:
    """Parameters of a layer of ``kernels`` kernels of size k×k×depth, plus one bias each."""
    return kernels * k * k * depth + kernels


# --- the registry -------------------------------------------------------------------------------


def test_registry_lists_every_model():
    assert list_models() == sorted(ALL + TORCHVISION_SUCCESSORS)


def test_unknown_model_and_unknown_argument_are_clear_errors():
    with pytest.raises(ValueError, match="no model named 'alexnet2012'.*alexnet_2012"):
        get("alexnet2012")
    with pytest.raises(ValueError, match="alexnet_2012 takes no argument 'dropout'.*num_classes, input_size, seed"):
        get("alexnet_2012", dropout=0.3)


@pytest.mark.parametrize("name", ALL + TORCHVISION_SUCCESSORS)
def test_entry_arguments_doc_source_and_input_size(name):
    spec = entry(name)
    assert spec.name == name and spec.arguments[-1] == "seed"
    assert {"num_classes", "input_size"} <= set(spec.arguments)  # the command line rebuilds models for other inputs
    assert ">>>" in spec.doc and spec.source
    model = meta(name)
    assert model.input_size == spec.input_size  # the registry knows the input size without building the model
    c, h, w = spec.input_size
    assert (c, h == w) == ((1, True) if name in FASHION_MNIST_MODELS else (3, True))
    assert model(torch.empty(1, *spec.input_size, device="meta")).shape[1] == (10 if name in FASHION_MNIST_MODELS else 1000)
    assert inspect.signature(get).parameters["seed"].default is None


def test_settings_that_make_a_model_are_fixed_and_entries_are_checked():
    with pytest.raises(ValueError, match=r"alexnet_d2l takes no argument 'conv1_padding'; it takes num_classes, in_channels, input_size, dropout, seed\."):
        get("alexnet_d2l", conv1_padding=2)
    with pytest.raises(ValueError, match="a model named 'lenet' is already registered"):
        models.register(entry("lenet"))
    with pytest.raises(ValueError, match="LeNet takes no argument 'width'"):
        ModelEntry("wide_lenet", LeNet, ("width", "seed"), (1, 28, 28), "nowhere", "no doc", family="LeNet")
    with pytest.raises(ValueError, match="must end with 'seed'"):
        ModelEntry("lenet_without_seed", LeNet, ("num_classes",), (1, 28, 28), "nowhere", "no doc", family="LeNet")
    assert list_models() == sorted(ALL + TORCHVISION_SUCCESSORS)  # none of these was registered


def test_d2l_settings_give_the_weights_the_books_init_gives():
    """alexnet_d2l is AlexNet with padding 1, then the book's init_cnn: Xavier-uniform weights."""
    with seeded(0):
        book = AlexNet(num_classes=10, in_channels=1, input_size=96, conv1_padding=1, model_name="alexnet_d2l")
        for layer in book.modules():
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(layer.weight)
    ours = get("alexnet_d2l", input_size=96, seed=0)
    assert ours.state_dict().keys() == book.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(ours.state_dict().values(), book.state_dict().values()))


@pytest.mark.parametrize("cls", [LeNet5, LeNet, AlexNet2012, AlexNet2012TwoTower, AlexNet, AlexNetKerasBN, AlexNetCPU, ZFNet2013])
def test_each_model_writes_its_forward_in_its_own_file_and_checks_its_input_first(cls):
    assert "forward" in vars(cls)  # not inherited: a reader finds the computation in the model's file
    lines = inspect.getsource(cls.forward).splitlines()
    assert lines[1].split("#")[0].strip() == "check_input(self, x)"


def test_seed_makes_weights_reproducible_without_touching_global_rng():
    state = torch.get_rng_state()
    a, b, c = get("lenet", seed=1), get("lenet", seed=1), get("lenet", seed=2)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.features.conv1.weight, c.features.conv1.weight)
    torch.manual_seed(5)
    d = get("lenet")
    torch.manual_seed(5)
    e = get("lenet")
    assert torch.equal(d.features.conv1.weight, e.features.conv1.weight)
    with pytest.raises(ValueError, match="seed='x'"):
        get("lenet", seed="x")


def test_device_meta_builds_shapes_only_and_cpu_builds_as_before():
    state = torch.get_rng_state()
    model = get("googlenet", device="meta", seed=3)
    assert all(p.is_meta for p in model.parameters()) and params(model) == params(get("googlenet", device="meta"))
    assert torch.empty(1).device.type == "cpu" and torch.equal(torch.get_rng_state(), state)  # the defaults are restored
    on_cpu, default = get("lenet", seed=1, device="cpu"), get("lenet", seed=1)
    assert all(torch.equal(p, q) for p, q in zip(on_cpu.parameters(), default.parameters()))


# --- published parameter counts -----------------------------------------------------------------


@pytest.mark.parametrize("name, expected", sorted(PUBLISHED_PARAMS.items()))
def test_total_parameters_as_published(name, expected):
    assert params(meta(name)) == expected


def test_lenet5_parameters_per_layer_as_published():
    model = meta("lenet5_1998")
    per_layer = {n: params(m) for n, m in [*model.features.named_children(), *model.classifier.named_children()]}
    published = {"C1": 156, "S2": 12, "C3": 1_516, "S4": 32, "C5": 48_120, "F6": 10_164}
    assert {n: per_layer[n] for n in published} == published
    assert sum(per_layer.values()) == 60_000 == sum(published.values())
    # Independent count from the paper's text: C3 has 60 kernels of 5×5 (6×3 + 9×4 + 1×6 connections).
    assert sum(map(len, C3_CONNECTIONS)) == 6 * 3 + 9 * 4 + 6 == 60
    assert 60 * 25 + 16 == 1_516
    # The output layer's prototypes are fixed (a buffer), as in the paper: 840 values, none trained.
    assert per_layer["output"] == 0 and model.classifier.output.prototypes.numel() == 840


def test_alexnet_2012_per_layer_parameters_match_the_papers_kernel_shapes():
    model = meta("alexnet_2012")
    # Section 3.5: kernels of 11×11×3, 5×5×48, 3×3×256, 3×3×192, 3×3×192.
    paper = {"conv1": (96, 11, 3), "conv2": (256, 5, 48), "conv3": (384, 3, 256), "conv4": (384, 3, 192), "conv5": (256, 3, 192)}
    for name, (kernels, k, depth) in paper.items():
        layer = getattr(model.features, name)
        assert tuple(layer.weight.shape) == (kernels, depth, k, k), name
        assert params(layer) == conv_params(kernels, k, depth), name
    fc = {"fc6": 256 * 6 * 6 * 4096 + 4096, "fc7": 4096 * 4096 + 4096, "fc8": 4096 * 1000 + 1000}
    for name, expected in fc.items():
        assert params(getattr(model.classifier, name)) == expected
    expected_total = sum(conv_params(*paper[n]) for n in paper) + sum(fc.values())
    assert expected_total == params(model) == 60_965_224
    # The fully connected layers have torchvision's shapes (an independent implementation).
    tv = meta("torchvision_alexnet").classifier
    for ours, theirs in zip(("fc6", "fc7", "fc8"), (tv[1], tv[4], tv[6])):
        assert getattr(model.classifier, ours).weight.shape == theirs.weight.shape


def test_one_tower_alexnet_is_the_2012_layers_without_groups():
    one, grouped = meta("alexnet"), meta("alexnet_2012")
    for name in ("conv1", "conv3"):  # the layers that were never split stay the same
        assert params(getattr(one.features, name)) == params(getattr(grouped.features, name))
    for name, depth in (("conv2", 96), ("conv4", 384), ("conv5", 384)):  # split ones read all maps
        layer = getattr(one.features, name)
        assert layer.groups == 1 and layer.in_channels == depth
    assert not any(isinstance(m, nn.LocalResponseNorm) for m in one.modules())
    assert params(one) - params(grouped) == 62_378_344 - 60_965_224


def test_d2l_alexnet_matches_the_books_code():
    ours = meta("alexnet_d2l")
    with torch.device("meta"):  # Dive into Deep Learning, section 8.1, transcribed
        book = nn.Sequential(
            nn.Conv2d(1, 96, kernel_size=11, stride=4, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(96, 256, kernel_size=5, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 384, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2), nn.Flatten(),
            nn.Linear(6400, 4096), nn.ReLU(), nn.Dropout(p=0.5),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(p=0.5),
            nn.Linear(4096, 10),
        )  # fmt: skip
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in book.parameters()]
    assert ours.classifier.fc6.in_features == 6_400
    assert feature_shape(ours.features, (1, 224, 224)) == (256, 5, 5)


def test_textbook_lenet_matches_the_books_code_and_swaps_layers():
    with torch.device("meta"):  # Dive into Deep Learning, section 7.6 (d2l.LeNet), transcribed
        book = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(), nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10),
        )  # fmt: skip
    ours = meta("lenet")
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in book.parameters()]
    modern = meta("lenet", activation="relu", pooling="max")
    kinds = {type(m) for m in modern.modules()}
    assert nn.ReLU in kinds and nn.MaxPool2d in kinds and nn.Sigmoid not in kinds and nn.AvgPool2d not in kinds
    with pytest.raises(ValueError, match="activation='gelu' is not one of 'sigmoid', 'relu', 'tanh'"):
        get("lenet", activation="gelu")
    with pytest.raises(ValueError, match="pooling='min'"):
        get("lenet", pooling="min")


def test_keras_bn_counts_and_the_keras_summary_difference():
    model = meta("alexnet_keras_bn")
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert [m.num_features for m in bns] == [96, 256, 256]
    running = sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))
    assert running == 1_216 and params(model) + running == 62_380_776  # what Keras's summary prints
    assert params(model) - params(meta("alexnet")) == 1_216  # BatchNorm's scales and shifts
    assert (bns[0].eps, bns[0].momentum) == (1e-3, 0.01)  # Keras's epsilon=1e-3, momentum=0.99
    # TensorFlow's 'same' with stride 4: ceil(224 / 4) = 56.
    assert feature_shape(nn.Sequential(model.features.pad1, model.features.conv1), (3, 224, 224)) == (96, 56, 56)
    assert model.features.pad1.padding == (3, 4, 3, 4) == (*same_padding(224, 11, s=4),) * 2


def test_torchvision_reference_is_torchvisions_own_class():
    import torchvision

    model = meta("torchvision_alexnet", num_classes=10)
    assert type(model) is torchvision.models.AlexNet
    assert model.classifier[6].out_features == 10 and model.input_size == (3, 224, 224)


def test_cpu_scale_alexnet_keeps_the_eight_layer_design():
    model = meta("alexnet_cpu")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    pools = [m for m in model.modules() if isinstance(m, nn.MaxPool2d)]
    assert (len(convs), len(linears)) == (5, 3)
    assert all((p.kernel_size, p.stride) == (3, 2) for p in pools) and len(pools) == 3  # overlapping pooling
    assert sum(isinstance(m, nn.Dropout) and m.p == 0.5 for m in model.modules()) == 2
    assert model.input_size == (1, 64, 64) and model.feature_shape() == (96, 3, 3)
    assert params(model) < 2_000_000
    wider = meta("alexnet_cpu", widths=(16, 32, 64, 64, 48), fc_width=256, input_size=96)
    assert wider.feature_shape() == (48, 5, 5)
    with pytest.raises(ValueError, match="widths=.*needs 5 numbers"):
        get("alexnet_cpu", widths=(8, 8))


# --- output shapes at the native inputs --------------------------------------------------------


def maps_after(model: nn.Module, names: list[str]) -> dict[str, tuple[int, ...]]:
    """Output shape (C, H, W) after each named layer of ``model.features``, on the meta device."""
    shapes, layers = {}, []
    for name, layer in model.features.named_children():
        layers.append(layer)
        if name in names:
            shapes[name] = feature_shape(nn.Sequential(*layers), model.input_size)
    return shapes


def test_feature_map_sizes_at_native_inputs():
    assert maps_after(meta("lenet5_1998"), ["C1", "S2", "C3", "S4", "C5"]) == {
        "C1": (6, 28, 28), "S2": (6, 14, 14), "C3": (16, 10, 10), "S4": (16, 5, 5), "C5": (120, 1, 1),
    }  # fmt: skip
    figure_2 = {"conv1": (96, 55, 55), "pool1": (96, 27, 27), "conv2": (256, 27, 27), "pool2": (256, 13, 13),
                "conv3": (384, 13, 13), "conv4": (384, 13, 13), "conv5": (256, 13, 13), "pool5": (256, 6, 6)}  # fmt: skip
    for size in (224, 227):  # both readings of the paper give Figure 2's maps
        assert maps_after(meta("alexnet_2012", input_size=size), list(figure_2)) == figure_2
    assert maps_after(meta("alexnet_d2l"), ["conv1", "pool5"]) == {"conv1": (96, 54, 54), "pool5": (256, 5, 5)}
    assert maps_after(meta("alexnet_keras_bn"), ["conv1", "pool5"]) == {"conv1": (96, 56, 56), "pool5": (256, 6, 6)}
    assert maps_after(meta("lenet"), ["conv1", "pool2"]) == {"conv1": (6, 28, 28), "pool2": (16, 5, 5)}


def test_zfnet_follows_the_paper():
    model = meta("zfnet_2013")
    names = ["conv1", "pool1", "conv2", "pool2", "conv3", "conv5", "pool5"]
    sizes = [shape[1] for shape in maps_after(model, names).values()]
    assert sizes == [110, 55, 26, 13, 13, 13, 6]  # Zeiler and Fergus 2013, Fig. 3
    convs = [(3, 96, 7), (96, 256, 5), (256, 384, 3), (384, 384, 3), (384, 256, 3)]
    fcs = [(256 * 6 * 6, 4096), (4096, 4096), (4096, 1000)]
    assert params(model) == sum(conv_params(o, k, i) for i, o, k in convs) + sum((i + 1) * o for i, o in fcs)


@pytest.mark.parametrize("name", list(MILESTONES))
def test_every_milestone_builds_on_the_meta_device_with_the_right_count(name):
    """torchvision stores its models' parameter counts with their weights (no download): an independent record."""
    model = meta(name)
    assert all(p.is_meta for p in model.parameters())
    torchvision_name = MILESTONES[name].torchvision_name
    if torchvision_name is not None:
        assert params(model) == get_model_weights(torchvision_name).DEFAULT.meta["num_params"]
    else:  # ours: the same count as a model built on the CPU
        assert params(model) == params(get(name, seed=0))


@pytest.mark.parametrize("name", ALL + TORCHVISION_SUCCESSORS)
def test_output_shape_at_native_input(name):
    model = meta(name, num_classes=7)
    assert model(torch.empty(2, *model.input_size, device="meta")).shape == (2, 7)


# --- input checks -------------------------------------------------------------------------------


def smallest_2012_input() -> int:
    """The smallest side alexnet_2012's layers accept, by the output-size formula alone."""
    n = 1
    while True:
        try:
            m = conv_output_size(n, 11, 4, p=(0, cuda_convnet_padding(n)))
            m = pool_output_size(m, 3, 2)
            m = pool_output_size(conv_output_size(m, 5, 1, 2), 3, 2)
            m = pool_output_size(conv_output_size(m, 3, 1, 1), 3, 2)
            return n
        except ValueError:
            n += 1


def test_too_small_input_size_names_the_smallest_valid_size():
    smallest = smallest_2012_input()
    with pytest.raises(ValueError, match=rf"3×32×32 input is too small.*pool5.*3×{smallest}×{smallest}: use input_size >= {smallest}"):
        get("alexnet_2012", input_size=32)
    get("alexnet_2012", input_size=smallest, num_classes=2)  # and that one works
    with pytest.raises(ValueError, match=r"lenet5_1998.*1×20×20 input is too small.*layer C5.*input_size >= 32"):
        get("lenet5_1998", input_size=20)


def test_wrong_channels_name_the_shape_and_the_smallest_valid_input():
    model = get("alexnet_cpu", seed=0)
    with pytest.raises(ValueError) as info:
        model(torch.zeros(4, 3, 64, 64))
    text = str(info.value)
    for part in ["alexnet_cpu expects 1 input channel", "(4, 3, 64, 64)", "in_channels=3", "smallest valid input is 1×61×61"]:
        assert part in text
    with pytest.raises(ValueError, match=r"Add the batch dimension.*smallest valid input is 1×61×61"):
        model(torch.zeros(1, 64, 64))


def test_too_small_and_wrong_size_images_name_the_smallest_valid_input():
    model = get("alexnet_cpu", seed=0)
    with pytest.raises(ValueError, match=r"28×28 input is too small.*layers accept is 1×29×29.*Resize the images to 64×64.*smallest valid input is 1×61×61"):
        model(torch.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match=r"built for 64×64.*96×3×3 = 864.*96×5×5 = 2,400.*input_size=96.*1×61×61"):
        model(torch.zeros(2, 1, 96, 96))
    with pytest.raises(ValueError, match=r"40×40 input .* gives 96×1×1 = 96.*input_size=40"):
        model(torch.zeros(2, 1, 40, 40))
    assert model(torch.zeros(2, 1, 70, 70)).shape == (2, 10)  # a size that gives the same maps is fine
    assert model(torch.zeros(2, 1, 61, 76)).shape == (2, 10)  # each side on its own
    tv = meta("torchvision_alexnet")
    with pytest.raises(ValueError, match=r"32×32 input.*smallest valid input is 3×63×63"):
        tv(torch.zeros(1, 3, 32, 32, device="meta"))
    with pytest.raises(ValueError, match="expects 3 input channels.*Repeat the grey channel"):
        tv(torch.zeros(1, 1, 224, 224, device="meta"))


@pytest.mark.parametrize("name", ALL)
def test_smallest_valid_input_is_computed_and_accepted(name):
    model = meta(name)
    lo, hi = input_side_range(model)
    c = model.input_size[0]
    model(torch.empty(1, c, lo, lo, device="meta"))
    with pytest.raises(ValueError, match=f"smallest valid input is {c}×{lo}×{lo}"):
        model(torch.empty(1, c, lo - 1, lo - 1, device="meta"))
    if hi is not None:
        model(torch.empty(1, c, hi, hi, device="meta"))
        with pytest.raises(ValueError, match=f"smallest valid input is {c}×{lo}×{lo}"):
            model(torch.empty(1, c, hi + 1, hi + 1, device="meta"))


def test_bad_builder_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="num_classes=0 is not allowed"):
        get("alexnet", num_classes=0)
    with pytest.raises(ValueError, match="dropout=1.5"):
        get("alexnet", dropout=1.5)
    with pytest.raises(ValueError, match="in_channels=0"):
        get("alexnet_cpu", in_channels=0)


# --- training --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_every_model_trains_one_step_on_the_cpu(name):
    model = get(name, seed=0).train()
    x = torch.randn(2, *model.input_size, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    before = [p.detach().clone() for p in model.parameters()]
    logits = model(x)
    assert logits.shape == (2, 10 if name in FASHION_MNIST_MODELS else 1000)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    changed = sum(not torch.equal(b, p) for b, p in zip(before, model.parameters()))
    assert changed == len(before)  # every parameter got a gradient and moved


# --- the comparison table -------------------------------------------------------------------------


def test_comparison_table_has_every_variant_and_the_published_numbers():
    table = compare_models()
    assert list(table.index) == [e.name for e in models.entries() if e.family in ("LeNet", "AlexNet")]
    assert set(table.index) == set(LENETS_AND_ALEXNETS)
    assert list(table.index)[:2] == ["lenet5_1998", "lenet"]  # the story's order, not the alphabet's
    assert table.loc["alexnet_d2l", "source"] == entry("alexnet_d2l").source
    for name, expected in PUBLISHED_PARAMS.items():
        assert table.loc[name, "params"] == expected, name
    assert table.loc["alexnet_2012", "macs"] == table.loc["alexnet_2012_two_tower", "macs"]
    assert table.loc["lenet5_1998", "macs"] == 117_600 + 150_000 + 48_000 + 10_080  # C1, C3, C5, F6
    assert "62,380,776" in table.loc["alexnet_keras_bn", "notes"] and "1,216" in table.loc["alexnet_keras_bn", "notes"]
    assert table.loc["alexnet_2012", "normalisation"].startswith("LRN after conv1, conv2")
    assert table.loc["alexnet_keras_bn", "normalisation"] == "BatchNorm after conv1, conv2, conv5"
    assert table.loc["torchvision_alexnet", "conv_kernels"] == "64, 192, 384, 256, 256"
    assert table.loc["torchvision_alexnet", "dropout"] == "0.5 on pool5, fc6 outputs"
    assert table.loc["alexnet_2012", "dropout"] == "0.5 on fc6, fc7 outputs"
    assert table.loc["alexnet_d2l", "input"] == "1×224×224" and table.loc["alexnet_cpu", "input"] == "1×64×64"
    with pytest.raises(ValueError, match="no model named 'vgg'"):
        compare_models(["vgg"])
