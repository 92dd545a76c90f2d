"""Layer tables against independent references.

- parameters: ``sum(p.numel())`` of the real modules, and torchvision's published 61,100,840
  for AlexNet;
- output shapes: the shapes the real layers return, recorded by this file's own hooks;
- MACs: ``torch.utils.flop_counter.FlopCounterMode`` on the same model and input, layer by layer
  and in total (the table computes conv and linear MACs from a formula, not from the counter);
- receptive fields: the extent of d(centre output)/d(input), measured with autograd on
  small models whose weights are all ones.

Training memory is tested in test_memory.py.
"""

from __future__ import annotations

import pandas as pd
import pytest
import torch
import torchvision
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from alexnet_lib import models
from alexnet_lib.course.tables import format_layer_table, layer_table


def built_fast(build) -> nn.Module:
    """``build()`` without initialising the weights (zeros instead): nothing checked here depends on them."""
    with torch.device("meta"):
        model = build()
    model.to_empty(device="cpu")
    with torch.no_grad():
        for t in [*model.parameters(), *model.buffers()]:
            t.zero_()
    return model


def reference_run(model: nn.Module, input_size: tuple[int, ...]) -> tuple[dict[str, list[tuple]], dict[str, int], int]:
    """Each module's output shapes (own hooks; '' is the model's), FlopCounterMode's MACs per module and in total."""
    shapes: dict[str, list[tuple]] = {}
    handles = [
        m.register_forward_hook(lambda m, a, out, name=name: shapes.setdefault(name, []).append(tuple(out.shape[1:])))
        for name, m in model.named_modules()
        if not list(m.children()) or not name
    ]
    model.eval()
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.zeros(1, *input_size))
    finally:
        for h in handles:
            h.remove()
    prefix = type(model).__name__ + "."
    per_module = {
        name.removeprefix(prefix): sum(ops.values()) // 2
        for name, ops in counter.get_flop_counts().items()
        if name.startswith(prefix)
    }
    return shapes, per_module, counter.get_total_flops() // 2


def check_against_references(model: nn.Module, input_size: tuple[int, ...]) -> pd.DataFrame:
    table = layer_table(model, input_size)
    shapes, per_module, total_macs = reference_run(model, input_size)
    total = table.iloc[-1]
    assert total["name"] == "total"
    assert total["params"] == sum(p.numel() for p in model.parameters())
    assert total["macs"] == total_macs
    assert not table["name"].eq("(other ops)").any(), "every MAC should belong to a layer"
    layers = table.iloc[:-1]
    assert (layers["params"] == layers["weights"] + layers["biases"]).all()
    modules = dict(model.named_modules())
    last = [row for row in layers.itertuples() if not row.name.startswith("(") or row.name == "(model)"][-1]
    assert last.output_shape == shapes[""][0], "the last layer's output is the model's"
    for row in layers.itertuples():
        if row.name in ("(not run)", "(other ops)"):
            continue
        name = "" if row.name == "(model)" else row.name.split(" (")[0]
        call = int(row.name.split(" (")[1].rstrip(")")) - 1 if " (" in row.name else 0
        module = modules[name]
        if not list(module.children()):
            assert row.output_shape == shapes[name][call], row.name
            if call == 0:
                own = {n: p.numel() for n, p in module.named_parameters()}
                assert row.params == sum(own.values()), row.name
                assert row.biases == sum(v for n, v in own.items() if n.endswith("bias")), row.name
        if len(shapes.get(name, [])) == 1:  # FlopCounterMode adds up the calls of a layer that runs twice
            expected = per_module.get(name, 0)
            assert row.macs == expected, f"{row.name}: ours {row.macs:,}, FlopCounterMode {expected:,}"
    return table


def published(name: str) -> dict:
    """What torchvision records for its weights: ``num_params`` and ``_ops`` (GFLOPS, in fact billions of MACs)."""
    return torchvision.models.get_model_weights(name).DEFAULT.meta


@pytest.mark.parametrize("name", ["alexnet", "vgg11", "resnet18"])
def test_torchvision_tables_match_numel_shapes_and_flop_counter(name):
    model = built_fast(lambda: torchvision.models.get_model(name, weights=None))
    table = check_against_references(model, (3, 224, 224))
    # conv and linear MACs come from the formula, not from the counter
    assert all(table.loc[table["name"].eq(n), "macs"].item() == 0 for n in table.attrs["measured_macs"])
    assert table.iloc[-1]["params"] == published(name)["num_params"]  # 61,100,840 for AlexNet
    assert round(table.iloc[-1]["macs"] / 1e9, 3) == published(name)["_ops"]
    text = format_layer_table(table)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert f"{table.iloc[-1]['params']:,}" in text and f"{table.iloc[-1]['macs']:,}" in text


# The registry's own networks. Its torchvision successors are torchvision's layers, checked above
# through vgg11 and resnet18; the other five (VGG-16, GoogLeNet, ...) would add about a minute.
@pytest.mark.parametrize("name", [e.name for e in models.entries() if e.family in ("LeNet", "AlexNet", "ZFNet")])
def test_registered_models_match_numel_and_flop_counter(name):
    try:
        model = built_fast(lambda: models.get(name))
        size = model.input_size
        layer_table(model, size)
    except Exception:  # a model that cannot be built on the meta device: build it as usual
        model = models.get(name)
        size = model.input_size
    table = layer_table(model, size)
    shapes, _, total_macs = reference_run(model, size)
    assert table.iloc[-1]["params"] == sum(p.numel() for p in model.parameters())
    assert table.iloc[-1]["macs"] == total_macs
    assert table.iloc[-2]["output_shape"] == shapes[""][0] or table.iloc[-2]["name"].startswith("(")
    assert max(len(line) for line in format_layer_table(table).splitlines()) <= 80


class Mixed(nn.Module):
    """Every kind of layer the table must handle, nested, with a layer called twice and a parameter on a container."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))  # a container's own parameter
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 5, stride=2, padding=2),
            nn.BatchNorm2d(8),
            nn.ReLU(inplace=True),
            nn.LocalResponseNorm(5),
            nn.Sequential(nn.Conv2d(8, 16, 3, padding=1, groups=2, bias=False), nn.ReLU()),  # two-GPU style
            nn.MaxPool2d(3, 2, ceil_mode=True),
            nn.ConvTranspose2d(16, 8, 2, stride=2, groups=2),
            nn.Conv2d(8, 8, 3, dilation=2, padding=2),
        )
        self.act = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d((3, 3))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(72, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.features(x) * self.scale)
        return self.classifier(self.act(self.pool(x)))


def test_every_layer_kind_matches_the_references(one_thread):
    model = Mixed()
    table = layer_table(model, (3, 32, 40))
    assert model.training and model.classifier[1].training, "layer_table should leave the model in training mode"
    check_against_references(model, (3, 32, 40))
    assert list(table["name"]).count("act") == 1 and "act (2)" in set(table["name"])
    assert table.loc[table["name"].eq("(model)"), "params"].item() == 1
    assert table.loc[table["name"].eq("features.4.0"), "macs"].item() > 0


def test_attention_matrix_products_are_counted(one_thread):
    """nn.MultiheadAttention multiplies with its weights itself: FlopCounterMode measures it."""
    attention = nn.MultiheadAttention(16, 2)  # not batch_first: PyTorch's fused path is off in both runs

    class Attend(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attention = attention

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.attention(x, x, x, need_weights=False)[0] @ torch.ones(16, 3)  # and a product of its own

    net = nn.Sequential(nn.Identity(), Attend())
    table = layer_table(net, (5, 16))
    _, _, total = reference_run(net, (5, 16))
    assert table.iloc[-1]["macs"] == total
    assert table.iloc[-1]["params"] == sum(p.numel() for p in net.parameters())
    assert "1.attention" in table.attrs["measured_macs"]
    assert table.loc[table["name"].eq("(other ops)"), "macs"].item() == 5 * 16 * 3


def test_vision_transformer_attention_is_counted_as_torchvision_publishes():
    """FlopCounterMode alone misses the fused attention kernel PyTorch runs in inference; the table does not."""
    with FlopCounterMode(display=False) as probe:
        torch.nn.functional.scaled_dot_product_attention(*torch.ones(3, 1, 1, 4, 8))
    if not probe.get_total_flops():
        pytest.skip(f"FlopCounterMode of torch {torch.__version__} does not count attention on the CPU")
    model = built_fast(lambda: torchvision.models.vit_b_16(weights=None))
    table = layer_table(model)
    assert table.iloc[-1]["params"] == published("vit_b_16")["num_params"] == sum(p.numel() for p in model.parameters())
    assert round(table.iloc[-1]["macs"] / 1e9, 3) == published("vit_b_16")["_ops"]


# --- receptive fields, measured with autograd -------------------------------------------------

layer_specs = st.lists(
    st.one_of(
        st.tuples(st.just("conv"), st.integers(1, 5), st.integers(1, 2), st.integers(0, 2), st.integers(1, 2)),
        st.tuples(st.just("max"), st.integers(1, 4), st.integers(1, 2), st.integers(0, 2), st.integers(1, 2)),
        st.tuples(st.just("avg"), st.integers(1, 4), st.integers(1, 2), st.integers(0, 2), st.just(1)),
        st.tuples(st.sampled_from(["relu", "bn", "lrn"]), st.just(1), st.just(1), st.just(0), st.just(1)),
    ),
    min_size=1,
    max_size=4,
)


def build(spec: list[tuple], twin: bool) -> nn.Sequential:
    """The model of ``spec``; its ``twin`` has the same windows as all-ones convolutions, and no other layers.

    A max-pooling window passes gradient to one input only; an all-ones convolution with the
    same kernel, stride, padding and dilation connects exactly the same pixels to every output.
    """
    layers = []
    for kind, k, s, p, d in spec:
        p = min(p, k // 2)  # PyTorch's pooling limit
        if twin and kind in ("conv", "max", "avg"):
            conv = nn.Conv2d(1, 1, k, s, p, d, bias=False)
            nn.init.ones_(conv.weight)
            layers.append(conv)
        elif twin:
            continue
        elif kind == "conv":
            layers.append(nn.Conv2d(1, 1, k, s, p, d))
        elif kind == "max":
            layers.append(nn.MaxPool2d(k, s, p, d, ceil_mode=True))
        elif kind == "avg":
            layers.append(nn.AvgPool2d(k, s, p))
        else:
            layers.append({"relu": nn.ReLU(), "bn": nn.BatchNorm2d(1), "lrn": nn.LocalResponseNorm(2)}[kind])
    return nn.Sequential(*layers)


def measured_field(model: nn.Module, n: int) -> tuple[tuple[int, int], tuple[int | None, int | None]]:
    """Receptive field (h, w) of the centre output and the jump to its neighbour, from input gradients."""
    x = torch.ones(1, 1, n, n, requires_grad=True)
    out = model(x)
    h, w = out.shape[-2] // 2, out.shape[-1] // 2

    def extent(i: int, j: int) -> tuple[list[int], list[int]]:
        (grad,) = torch.autograd.grad(out[0, :, i, j].sum(), x, retain_graph=True)
        rows = grad[0].abs().sum(dim=(0, 2)).nonzero().flatten().tolist()
        cols = grad[0].abs().sum(dim=(0, 1)).nonzero().flatten().tolist()
        assert rows[0] > 0 and rows[-1] < n - 1 and cols[0] > 0 and cols[-1] < n - 1, "make the input larger"
        return rows, cols

    rows, cols = extent(h, w)
    jump_h = extent(h + 1, w)[0][0] - rows[0] if h + 1 < out.shape[-2] else None
    jump_w = extent(h, w + 1)[1][0] - cols[0] if w + 1 < out.shape[-1] else None
    return (rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1), (jump_h, jump_w)


def as_pair(value: object) -> tuple[int, int]:
    return value if isinstance(value, tuple) else (value, value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(spec=layer_specs)
def test_receptive_field_matches_the_gradient_of_the_centre_output(one_thread, spec):
    bound, jump = 1, 1  # no field is wider than this bound
    for _, k, s, _, d in spec:
        bound, jump = bound + d * (k - 1) * jump, jump * s
    n = 2 * bound + 4 * jump + 8
    row = layer_table(build(spec, twin=False), (1, n, n)).iloc[-2]
    twin = build(spec, twin=True)
    if not len(twin):
        assert row["rf"] == 1 and row["jump"] == 1
        return
    rf, jump = measured_field(twin, n)
    assert as_pair(row["rf"]) == rf
    for ours, measured in zip(as_pair(row["jump"]), jump):
        assert measured is None or ours == measured


def ones(model: nn.Module) -> nn.Module:
    for p in model.parameters():
        nn.init.ones_(p) if p.dim() > 1 else nn.init.zeros_(p)
    return model


class Residual(nn.Module):
    """A ResNet-style block: two 3x3 convolutions, a strided 1x1 shortcut, an in-place sum."""

    def __init__(self, channels: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 2, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(2, 2, 5, padding=2)
        self.shortcut = nn.Conv2d(channels, 2, 1, stride=2)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.relu(self.conv1(x)))
        out += self.shortcut(x)
        return self.relu(out)


class Towers(nn.Module):
    """Two towers run one after the other on the same input, then concatenated: the two-GPU AlexNet's pattern."""

    def __init__(self) -> None:
        super().__init__()
        self.left = nn.Sequential(nn.Conv2d(1, 1, 7, padding=3), nn.Conv2d(1, 1, 7, padding=3))
        self.right = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1))
        self.after = nn.Conv2d(2, 1, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.after(torch.cat([self.left(x), self.right(x)], 1))


@pytest.mark.parametrize("model", [Residual, Towers, lambda: nn.Sequential(Residual(), Residual(2), nn.AvgPool2d(2))])
def test_receptive_field_of_branching_models_matches_the_gradient(one_thread, model):
    model = ones(model())
    n = 97
    row = layer_table(model, (1, n, n)).iloc[-2]
    rf, jump = measured_field(model, n)
    assert as_pair(row["rf"]) == rf and as_pair(row["jump"]) == jump


def test_receptive_field_of_rectangular_kernels_and_adaptive_pooling(one_thread):
    model = ones(nn.Sequential(nn.Conv2d(1, 1, (3, 5), stride=(1, 2)), nn.AdaptiveAvgPool2d((12, 7))))
    row = layer_table(model, (1, 50, 32)).iloc[-2]
    x = torch.ones(1, 1, 50, 32, requires_grad=True)
    (grad,) = torch.autograd.grad(model(x)[0, 0, 6, 3], x)
    rows, cols = grad[0, 0].sum(1).nonzero().flatten(), grad[0, 0].sum(0).nonzero().flatten()
    assert row["rf"] == (int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1))
    assert as_pair(row["jump"]) == (4, 4)  # 48 -> 12 is an exact window of 4; 14 -> 7 of 2, after stride 2


# --- text ------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [60, 80, 120])
def test_text_fits_the_width_and_keeps_exact_counts(one_thread, width):
    table = layer_table(Mixed(), (3, 32, 40))
    text = format_layer_table(table, width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert f"{table.iloc[-1]['params']:,}" in text
    lines = text.splitlines()
    rules = [i for i, line in enumerate(lines) if set(line) == {"-"}]
    assert len(lines[rules[0] + 1 : rules[-1]]) + 1 == len(table)  # a line per layer, then the total


def test_text_notes_what_it_leaves_out(one_thread):
    table = layer_table(torchvision.models.resnet18(), (3, 64, 64))
    assert "left out" in format_layer_table(table)
    assert "left out" not in format_layer_table(table, width=200)


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: layer_table(nn.Linear(10, 2), (0, 10)), ["input_size=(0, 10)", "(3, 224, 224)"]),
        (lambda: layer_table(nn.Linear(10, 2), (10,), batch_size=0), ["batch_size=0"]),
        (lambda: layer_table(nn.Conv2d(3, 8, 11), (3, 8, 8)), ["3×8×8", "input_size"]),
        (lambda: layer_table(nn.Conv2d(3, 8, 3), (1, 8, 8)), ["1×8×8"]),
        (lambda: format_layer_table(layer_table(nn.Linear(10, 2), (10,)), width=20), ["width=20"]),
    ],
)
def test_bad_arguments_get_clear_errors(call, words):
    with pytest.raises(ValueError) as caught:
        call()
    for word in words:
        assert word in str(caught.value)
