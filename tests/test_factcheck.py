"""The fact check of the source posts: each claim's evidence against an independent reference, and verdicts
that follow from the evidence.

References: the paper's network written here in plain PyTorch from its text (Krizhevsky et al.
2012, Section 3.5 and Figure 2: one GPU's tower), the posts' Keras model written here in plain
PyTorch, torchvision's models, and the figures papers state, kept in one place
(``evidence.PUBLISHED``, each with its source).
"""

from __future__ import annotations

import functools
import math
import re

import pytest
import torch
from torch import nn
from torchvision import models as tv

from alexnet_lib.facts import evidence, factcheck, factcheck_alexnet, model_facts
from alexnet_lib.facts.evidence import PUBLISHED, Check, verdict


def pub(key):
    return PUBLISHED[key].value


def lrn():
    return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)


def one_tower():
    """One GPU's half of the 2012 network, from Section 3.5 and Figure 2 (224 input, 3 zeros right and bottom)."""
    return nn.ModuleDict({
        "conv1": nn.Sequential(nn.ZeroPad2d((0, 3, 0, 3)), nn.Conv2d(3, 48, 11, 4), nn.ReLU(), lrn()),
        "pool1": nn.MaxPool2d(3, 2),
        "conv2": nn.Sequential(nn.Conv2d(48, 128, 5, padding=2), nn.ReLU(), lrn()),
        "pool2": nn.MaxPool2d(3, 2),
        "conv3": nn.Sequential(nn.Conv2d(256, 192, 3, padding=1), nn.ReLU()),  # reads both GPUs' 128 + 128 maps
        "conv4": nn.Sequential(nn.Conv2d(192, 192, 3, padding=1), nn.ReLU()),
        "conv5": nn.Sequential(nn.Conv2d(192, 128, 3, padding=1), nn.ReLU()),
        "pool5": nn.MaxPool2d(3, 2),
    })


FC = {"fc6": nn.Linear(9216, 4096), "fc7": nn.Linear(4096, 4096), "fc8": nn.Linear(4096, 1000)}


def tower_shapes():
    tower, x, shapes = one_tower(), torch.zeros(1, 3, 224, 224), {}
    for name, layer in tower.items():
        x = layer(torch.cat([x, x], 1) if name == "conv3" else x)
        shapes[name] = tuple(x.shape[1:])
    return shapes


SHAPES = tower_shapes()  # per GPU
BOTH = {k: (2 * v[0], *v[1:]) for k, v in SHAPES.items()}  # both GPUs
PER_GPU_PARAMS = {k: sum(p.numel() for p in one_tower()[k].parameters()) for k in ("conv1", "conv2", "conv3", "conv4", "conv5")}
PARAMS = {**{k: 2 * v for k, v in PER_GPU_PARAMS.items()}, **{k: sum(p.numel() for p in v.parameters()) for k, v in FC.items()}}
LAYERS = list(PARAMS)
TOTAL = sum(PARAMS.values())
ORDER = ("conv", "LRN", "max-pool")  # Section 3.5: response normalisation, then max-pooling


def weights(tower_layer):
    return tuple(next(m for m in one_tower()[tower_layer].modules() if isinstance(m, nn.Conv2d)).weight.shape)


def keras_post_model():
    """The posts' Keras model in plain PyTorch: 'same' padding (3 before, 4 after), BatchNorm instead of LRN."""
    def bn(c):
        return nn.BatchNorm2d(c)
    return nn.ModuleDict({
        "conv1": nn.Sequential(nn.ZeroPad2d((3, 4, 3, 4)), nn.Conv2d(3, 96, 11, 4)), "bn1": bn(96),
        "conv2": nn.Conv2d(96, 256, 5, padding=2), "bn2": bn(256), "conv3": nn.Conv2d(256, 384, 3, padding=1),
        "conv4": nn.Conv2d(384, 384, 3, padding=1), "conv5": nn.Conv2d(384, 256, 3, padding=1), "bn5": bn(256),
        "fc6": nn.Linear(9216, 4096), "fc7": nn.Linear(4096, 4096), "fc8": nn.Linear(4096, 1000),
    })


def counted(module):
    return sum(p.numel() for p in module.parameters()) + sum(b.numel() for n, b in module.named_buffers() if "running" in n)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def depth(model):
    """Weight layers of a chain (VGG, torchvision's AlexNet)."""
    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())


def formulas_agree():
    """Dive into Deep Learning's formulas against nn.Conv2d / nn.MaxPool2d themselves, on a sample of cases."""
    for n in range(5, 30, 3):
        for k, s, p in [(3, 1, 2), (5, 2, 4), (3, 2, 2), (2, 2, 0), (5, 3, 0)]:  # p: both sides together
            out = nn.Conv2d(1, 1, k, s, padding=p // 2)(torch.zeros(1, 1, n, n))
            assert out.shape[-1] == (n - k + p + s) // s
            assert nn.MaxPool2d(k, s)(torch.zeros(1, 1, n, n)).shape[-1] == (n - k) // s + 1
    return [True, True, True, True]


@functools.lru_cache(maxsize=None)
def googlenet():
    with torch.device("meta"):
        return tv.googlenet(weights=None, aux_logits=False, init_weights=False)


def grouped_alexnet():
    """The 2012 network with its GPU split as grouped convolutions: conv2, conv4 and conv5 in 2 groups (Figure 2)."""
    convs = [(3, 96, 11, 1), (96, 256, 5, 2), (256, 384, 3, 1), (384, 384, 3, 2), (384, 256, 3, 2)]
    return nn.Sequential(*(nn.Conv2d(i, o, k, groups=g, device="meta") for i, o, k, g in convs))


@functools.lru_cache(maxsize=None)
def inception_v3():
    with torch.device("meta"):
        return tv.inception_v3(weights=None, aux_logits=False, init_weights=False)


def post_000_init_std():
    """Post 000's init_param on torchvision's AlexNet for Flowers102: the standard deviation of all its weights."""
    model = tv.alexnet(weights=None, num_classes=102)
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    with torch.no_grad():
        for w in weights:
            w.normal_()
    return round(float(torch.cat([w.detach().flatten() for w in weights]).std()), 2)


def first_epoch_at(run, accuracy):
    """The first epoch of a committed reference run whose training accuracy reaches ``accuracy``, read with csv."""
    import csv
    from pathlib import Path
    path = Path(evidence.__file__).parent.parent / "reference" / f"cpu-{run}.csv"
    rows = list(csv.DictReader(path.open()))
    return next((int(r["epoch"]) for r in rows if float(r["train_acc"]) >= accuracy), len(rows) + 1)


def relu_mlp_first_gradient_at_least_last():
    """A 10-hidden-layer ReLU MLP with PyTorch's default initialisation: does layer 1 get as large a gradient as the last?"""
    torch.manual_seed(1)
    sizes = [784] + [128] * 10
    layers = [m for a, b in zip(sizes, sizes[1:]) for m in (nn.Linear(a, b), nn.ReLU())] + [nn.Linear(128, 10)]
    model = nn.Sequential(*layers)
    nn.functional.cross_entropy(model(torch.rand(256, 784)), torch.randint(0, 10, (256,))).backward()
    return bool(model[0].weight.grad.norm() >= model[-1].weight.grad.norm())


@functools.lru_cache(maxsize=None)
def tv_alexnet():
    with torch.device("meta"):
        return tv.alexnet(weights=None)


REFERENCE = {
    "000-input": lambda: [(3, 224, 224), FC["fc8"].out_features],
    "000-layers": lambda: [5, 3, 8],
    "000-conv1": lambda: [weights("conv1"), SHAPES["conv1"], (224 + 4 - 11) / 4 + 1, [0, 3]],
    "000-block1": lambda: [ORDER, SHAPES["pool1"]],
    "000-conv2": lambda: [weights("conv2"), SHAPES["conv2"], ORDER, SHAPES["pool2"]],
    "000-conv3-5": lambda: [weights("conv3"), weights("conv4"), weights("conv5"), SHAPES["pool5"], math.prod(BOTH["pool5"])],
    "000-conv4-count": lambda: [32_448, math.prod(BOTH["conv4"])],
    "000-fc6-fc7": lambda: [(2048, 9216), (2048, 4096)],
    "000-fc8": lambda: [tuple(FC["fc8"].weight.shape), False],
    "000-fc8-groups": lambda: [FC["fc8"].out_features, FC["fc8"].in_features],
    "000-dual-core": lambda: [sum(isinstance(m, nn.Conv2d) and m.groups == 2 for m in grouped_alexnet().modules()) == 3,
                              pub("two_gpus")],
    "000-lrn": lambda: [("conv1", "conv2")],
    "000-lrn-later": lambda: [pub("lrn_no_gain")],
    "000-why-two": lambda: [pub("two_gpu_reason"), pub("two_gpu_faster")],
    "000-torchvision": lambda: [depth(tv_alexnet()), tuple(m.kernel_size[0] for m in tv_alexnet().features if isinstance(m, nn.Conv2d)),
                                tuple(m.out_channels for m in tv_alexnet().features if isinstance(m, nn.Conv2d)),
                                tuple(m for m in tv_alexnet().modules() if isinstance(m, nn.LocalResponseNorm))],
    "000-init": lambda: [post_000_init_std(), 0.0],
    "000-eval": lambda: [True],
    "000-title": lambda: [pub("alexnet_title")],
    "001-pool-where": lambda: [True, any(isinstance(m, nn.MaxPool2d) for m in tv_alexnet().classifier)],
    "001-one-by-one": lambda: [(64, 13, 13)],
    "000-flowers": lambda: [pub("flowers102_classes")],
    "001-params": lambda: [PARAMS[k] for k in LAYERS],
    "001-units": lambda: [math.prod(BOTH[k]) for k in LAYERS[:5]] + [FC[k].out_features for k in ("fc6", "fc7", "fc8")],
    "001-fc-share": lambda: [True],
    "001-ilsvrc": lambda: [pub("alexnet_top5_2012"), round(pub("winner_top5_2011") - pub("alexnet_top5_2012"), 1)],
    "001-relu": lambda: [first_epoch_at("lenet", 0.75) < first_epoch_at("lenet_sigmoid", 0.75), 1.0],
    "001-relu-vanishing": lambda: [1.0, relu_mlp_first_gradient_at_least_last()],
    "001-pooling-overfit": lambda: [PARAMS["fc6"] < 256 * 13 * 13 * 4096 + 4096, pub("pooling_prevents_overfitting")],
    "001-dropout": lambda: [True, True],
    "001-augment": lambda: [pub("augmentation")],
    "001-zfnet": lambda: [pub("zfnet_conv1")[1], pub("zfnet_conv1")[0] < 11, tuple(pub("zfnet_conv3_5")), pub("zfnet_wide_variant")],
    "001-vgg": lambda: [8, *pub("vgg_weight_layers")[1:]],
    "001-vgg-train": lambda: [pub("vgg_weight_layers")[0], pub("vgg_copied_layers_frozen")],
    "001-googlenet": lambda: [*pub("googlenet_layers"), pub("googlenet_blocks"), sum(isinstance(m, nn.Linear) for m in googlenet().modules())],
    "001-googlenet-params": lambda: [pub("googlenet_fewer_params"), round(TOTAL / n_params(googlenet()), 1)],
    "001-inception": lambda: [sum(isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) for m in googlenet().modules()),
                              pub("googlenet_reductions")],
    "001-inception-v3": lambda: [n_params(inception_v3()) < pub("bn_inception_params"), pub("inception_v3_grows_v2")],
    "001-resnet": lambda: [1.0, False],
    "001-lenet-year": lambda: ["1998", pub("lenet_1989")],
    "001-lenet": lambda: [(1, 32, 32), (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), 120, 84, 10],
    "001-lenet-parts": lambda: [True, False, pub("lenet_sigmoid"), True, 2 * 6, True],
    "001-epoch": lambda: [math.ceil(pub("fashion_mnist")[0] / 64)],
    "001-pooling": lambda: [(96, 96), 0, PARAMS["fc6"] < 256 * 13 * 13 * 4096 + 4096],
    "001-conv-rule": lambda: [(256, 96)],
    "001-eval-bn": lambda: [True, False],
    "001-own-runs": lambda: [],
    "001-shuffle": lambda: [True],
    "002-layout": lambda: [(11, 5, 3, 3, 3), ("conv1", "conv2", "conv5"), (4096, 4096, 1000)],
    "002-d2l-net": lambda: [(256, 5, 5), 6400, 27, 13, 0.5],
    "002-who": lambda: [pub("alexnet_authors"), pub("alexnet_venue"), "2012"],
    "002-new": lambda: [7, 2, True],
    "002-vs-lenet": lambda: [(3, 224, 224), 1, (96, 6)],
    "002-ten-times": lambda: [pub("imagenet_photo_side"), 224 / pub("fashion_mnist")[2] > 10],
    "002-gradients": lambda: [1.0, True],
    "002-fashion": lambda: pub("fashion_mnist"),
    "002-formulas": formulas_agree,
    "003-gpus-meet": lambda: [("conv3", "fc6", "fc7", "fc8")],
    "003-shapes": lambda: [BOTH[k] for k in ("conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5")],
    "003-params": lambda: [PARAMS[k] for k in LAYERS],
    "003-order": lambda: [ORDER, ORDER],
    "003-lrn-name": lambda: [pub("lrn_name")],
    "003-new": lambda: [7, 2, pub("pooling_novelty"), pub("gpus")],
    "003-tensorflow": lambda: [pub("tf_slim_alexnet")],
    "004-bn": lambda: [7, 0, "LRN"],
    "004-kernels": lambda: [(96, 3, 11, 11), (256, 48, 5, 5), (384, 256, 3, 3), (384, 192, 3, 3), (256, 192, 3, 3)],
    "004-norm-conv5": lambda: [("conv1", "conv2"), True],
    "004-dropout": lambda: [2, ("fc6", "fc7")],
    "004-same": lambda: [math.ceil(224 / 4), (56 - 3) // 2 + 1],
    "004-summary": lambda: [counted(m) for m in keras_post_model().values()]
                           + [counted(keras_post_model()), 2 * (96 + 256 + 256)],
}


@pytest.fixture(scope="module")
def table():
    return factcheck.fact_table().set_index("key")


def test_every_claim_has_an_independent_reference():
    assert sorted(REFERENCE) == sorted(c.key for c in factcheck.CLAIMS)


@pytest.mark.parametrize("key", sorted(REFERENCE))
def test_each_claims_evidence_matches_its_reference(table, key):
    found = [c.found for c in table.loc[key, "checks"]]
    expected = REFERENCE[key]()
    assert len(found) == len(expected)
    for f, e in zip(found, expected):
        if isinstance(e, float):
            assert f == pytest.approx(e, abs=0.01)
        elif isinstance(e, (list, tuple)) and isinstance(f, (list, tuple)):
            assert tuple(f) == tuple(e)
        else:
            assert f == e


def test_published_checks_name_their_source(table):
    sources = {p.source for p in PUBLISHED.values()}
    for checks in table["checks"]:
        assert all(c.source in sources or c.source.startswith("comparison.MILESTONES") for c in checks
                   if c.source and not c.judgement)
        assert all(c.source for c in checks if c.judgement)  # a judgement always cites where to read it


def test_the_table_tells_judgements_from_computations(table):
    kinds = {c.kind for checks in table["checks"] for c in checks}
    assert kinds == {"computed", "published", "judgement"}
    for how, checks in zip(table["how"], table["checks"]):
        assert set(how.split(" + ")) == {c.kind for c in checks} or (how == "-" and not checks)
    reading = Check.against("the paper's reason", "speed", "two_gpu_reason")
    assert reading.kind == "judgement" and "[judgement:" in evidence.format_claims(
        evidence.claims_table([evidence.Claim("k", ("000",), "two GPUs for speed", lambda: ([reading], ""))]))
    assert Check("conv1 kernels", 96, 96).kind == "computed"


def _other(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1000
    if isinstance(value, (list, tuple)):
        return (*value, "another")
    return f"not {value}"


@pytest.mark.parametrize("claim", factcheck.CLAIMS, ids=lambda c: c.key)
def test_the_verdict_follows_from_the_evidence(claim):
    checks, _ = claim.evidence()
    if not checks:
        assert verdict(checks) == "unverifiable"
        return
    agreeing = [Check(c.what, c.claimed, c.claimed, c.source) for c in checks]
    disagreeing = [Check(c.what, c.claimed, _other(c.claimed), c.source, c.tolerance) for c in checks]
    assert verdict(agreeing) == "right" and verdict(disagreeing) == "wrong"
    for i, c in enumerate(checks):  # every check, flipped alone, flips its own part of the verdict
        flipped = Check(c.what, c.claimed, c.claimed if not c.holds else _other(c.claimed), c.source, c.tolerance)
        assert flipped.holds != c.holds
        if len(checks) == 1:
            assert verdict([flipped]) != verdict(checks)


def test_the_four_required_claims_are_judged_as_the_paper_says(table):
    assert table.loc["003-params", "verdict"] == "wrong"  # ×2 for the two GPUs
    assert table.loc["004-bn", "verdict"] != "right"  # BatchNorm presented as AlexNet's
    assert table.loc["003-order", "verdict"] != "right"  # pooling before LRN
    assert table.loc["004-dropout", "verdict"] == "wrong"  # a single dropout layer


def test_doubled_table_right_and_doubled_columns():
    doubled = factcheck_alexnet.doubled_parameter_table()
    assert doubled.loc[LAYERS, "right"].tolist() == [PARAMS[k] for k in LAYERS]
    assert doubled.loc["total", "right"] == TOTAL
    assert (doubled["doubled"] == 2 * doubled["right"]).all()
    per_gpu = [int(f.split(" + ")[0].replace(",", "")) for f in doubled.loc[LAYERS[:7], "figure"]]
    assert per_gpu == [SHAPES[k][0] for k in LAYERS[:5]] + [2048, 2048]  # the figure's halves add up to the text's
    assert doubled.loc["conv2", factcheck.POSTS["003"].name] == (5 * 5 * 96 + 1) * 256 * 2
    assert doubled.loc["total", factcheck.POSTS["001"].name] == sum(factcheck_alexnet.POST_001_PARAMS)


def test_the_fact_check_as_html_names_each_post_and_marks_each_verdict():
    table = factcheck.fact_table()
    page = factcheck.fact_html(table)
    assert page.count("<tr") == len(table) + 1  # a row per claim, and the header
    for kind, count in table["verdict"].value_counts().items():
        mark = factcheck.VERDICT_MARKS[kind][0]
        assert page.count(f"<b>{mark} {kind}</b>") == count
    cells = re.findall(r"<tr[^>]*><td[^>]*>\d+</td><td[^>]*>(.*?)</td>", page)
    names = {post.name for post in factcheck.POSTS.values()}
    assert len(cells) == len(table) and all(set(cell.split("<br>")) <= names for cell in cells)
    assert "seeds" not in page and "<script" not in page


def test_swapping_pooling_and_lrn_changes_the_output():
    maps = torch.rand(1, 96, 55, 55, generator=torch.Generator().manual_seed(0)) * 100
    assert not torch.allclose(nn.MaxPool2d(3, 2)(lrn()(maps)), lrn()(nn.MaxPool2d(3, 2)(maps)))
    swapped = model_facts.swap_pool_and_lrn()
    assert swapped["largest_difference"] > 0 and 0 < swapped["share_differing"] <= 1
    assert (swapped["normalised_paper"], swapped["normalised_swapped"]) == (math.prod(BOTH["conv1"]), math.prod(BOTH["pool1"]))


def test_no_chinese_text_is_copied_into_the_library():
    names = [text for post in factcheck.POSTS.values() for text in (post.title, post.site)]  # titles and sites only
    assert all(len(name) <= 60 for name in names)
    for module in (evidence, factcheck, factcheck_alexnet, model_facts, factcheck.factcheck_context):
        source = open(module.__file__, encoding="utf-8").read()
        for name in names:
            source = source.replace(name, "")
        assert not re.search(r"[\u4e00-\u9fff]", source), module.__name__


def test_an_unknown_claim_or_figure_gets_one_clear_sentence():
    with pytest.raises(KeyError, match="no claim 'nope'|no claim nope"):
        factcheck.fact_table(["nope"])
    with pytest.raises(KeyError, match="no published figure 'nope'"):
        evidence.published("nope")


def test_format_covers_every_claim(table):
    full = factcheck.fact_table()
    text = evidence.format_claims(full)
    assert text.count("\n") > len(full) and "..." not in text
