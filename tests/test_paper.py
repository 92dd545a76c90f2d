"""The 2012 paper's stated facts (alexnet_lib.facts.paper), its initialisation (alexnet.init_2012), top-k
error (evaluation.topk_error) and the figures notebook 06 prints from them."""

import re

import nbformat
import pytest
import torch
from torch import nn

from alexnet_lib import models
from alexnet_lib.facts import paper
from alexnet_lib.alexnet import init_2012
from alexnet_lib.course.evaluation import topk_error, topk_errors
from alexnet_lib.recipes import recipe
from alexnet_lib.shapes import conv_output_size
from alexnet_lib.course.tables import layer_table
from conftest import ROOT

NOTEBOOK_06 = ROOT / "notebooks" / "06_training_alexnet.ipynb"


def test_results_table_has_the_papers_headline_figures():
    table = paper.results_table()
    assert set(table["source"]) == {"Table 1", "Table 2", "Section 6, footnote 5"}
    tests_2012 = table[(table["data"] == "ILSVRC-2012") & (table["split"] == "test")]["top-5 %"]
    assert tests_2012.min() == tests_2012["7 CNNs* (5 CNNs + 2 pre-trained)"]
    assert tests_2012.max() == tests_2012["SIFT + FVs (second-best ILSVRC-2012 entry)"]
    assert (table["top-5 %"].dropna() < table["top-1 %"].reindex(table["top-5 %"].dropna().index).fillna(100)).all()


def test_recipe_against_paper_reads_a_real_recipe():
    r = recipe("alexnet_cpu", "ci")
    table = paper.recipe_against_paper(r)
    assert table.loc["batch_size"].tolist() == [paper.PAPER.batch_size.value, r.batch_size]
    assert table.loc["lr", "paper (Section 5)"] == paper.PAPER.learning_rate.value
    with pytest.raises(ValueError, match="lacks"):
        paper.recipe_against_paper(object())


def test_facts_table_rejects_what_is_not_a_fact():
    with pytest.raises(ValueError, match="paper.Fact"):
        paper.facts_table({"batch": 128})


def test_init_2012_on_the_registered_model():
    model = models.get("alexnet_2012", seed=0)
    for layer in model.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            layer.reset_parameters()  # PyTorch's default first, so that init_2012 has something to change
    init_2012(model, seed=0)
    for name, layer in model.named_modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            short = name.rsplit(".", 1)[-1]
            assert layer.weight.std().item() == pytest.approx(paper.PAPER.weight_std.value, rel=0.05), name
            assert abs(layer.weight.mean().item()) < 0.002, name
            assert layer.bias.unique().tolist() == [1.0 if short in paper.PAPER.bias_one_layers.value else 0.0], name
    assert {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()} >= set(paper.PAPER.bias_one_layers.value)


def test_init_2012_is_seeded_and_refuses_unnamed_layers():
    a = init_2012(models.get("alexnet_2012_two_tower"), seed=1).state_dict()
    b = init_2012(models.get("alexnet_2012_two_tower"), seed=1).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="none of them"):
        init_2012(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(4, 2)))


def brute_force_topk_error(logits, labels, k):
    """One image at a time: sort the classes by score, look for the label among the first k."""
    missed = 0
    for row, label in zip(logits.tolist(), labels.tolist()):
        ranked = sorted(range(len(row)), key=lambda c: -row[c])
        missed += label not in ranked[:k]
    return missed / len(labels)


@pytest.mark.parametrize("k", [1, 2, 5, 10])
def test_topk_error_against_brute_force_and_accuracy(k):
    generator = torch.Generator().manual_seed(k)
    logits, labels = torch.randn(200, 10, generator=generator), torch.randint(0, 10, (200,), generator=generator)
    assert topk_error(logits, labels, k) == pytest.approx(brute_force_topk_error(logits, labels, k))
    if k == 1:
        assert topk_error(logits, labels, 1) == pytest.approx(1 - (logits.argmax(1) == labels).float().mean().item())
    if k == 10:
        assert topk_error(logits, labels, k) == 0


def test_topk_error_by_hand():
    logits = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0, 0.0], [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]])
    labels = torch.tensor([5, 0])  # both true labels are ranked last: sixth of six
    assert topk_error(logits, labels, 5) == 1.0 and topk_error(logits, labels, 6) == 0.0


def test_topk_error_rejects_bad_k_and_shapes():
    with pytest.raises(ValueError, match="k=11"):
        topk_error(torch.zeros(3, 10), torch.zeros(3, dtype=torch.long), 11)
    with pytest.raises(ValueError, match="labels"):
        topk_error(torch.zeros(3, 10), torch.zeros(4, dtype=torch.long), 1)


def test_topk_errors_over_batches_equals_topk_error_over_all():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 7))
    batches = [(torch.randn(5, 1, 2, 2), torch.randint(0, 7, (5,))) for _ in range(3)]
    with torch.no_grad():
        logits = torch.cat([model(x) for x, _ in batches])
    labels = torch.cat([y for _, y in batches])
    errors = topk_errors(model, batches, ks=(1, 5), amp=False)
    assert errors == {k: pytest.approx(topk_error(logits, labels, k)) for k in (1, 5)}


def _outputs_text(nb, cell):
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)


def test_notebook_06_prints_the_lenet_factors_it_states():
    """The parameter and MAC factors of alexnet_cpu over LeNet are printed by a compared cell, and are layer_table's."""
    nb = nbformat.read(NOTEBOOK_06, as_version=4)
    pattern = r"alexnet_cpu has ([\d.]+)× LeNet's parameters and (\d+)× its MACs per image"
    cells = [c for c in nb.cells if c.cell_type == "code" and re.search(pattern, _outputs_text(nb, c))]
    assert len(cells) == 1 and "nbval-ignore-output" not in cells[0].metadata.get("tags", [])
    params, macs = re.search(pattern, _outputs_text(nb, cells[0])).groups()
    totals = {}
    for name, kwargs in [("lenet", {"activation": "relu"}), ("alexnet_cpu", {"num_classes": 10, "input_size": 64})]:
        model = models.get(name, seed=0, **kwargs)
        totals[name] = layer_table(model, model.input_size).iloc[-1]
    assert params == f"{totals['alexnet_cpu']['params'] / totals['lenet']['params']:.1f}"
    assert macs == f"{totals['alexnet_cpu']['macs'] / totals['lenet']['macs']:.0f}"
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "hundreds of times" not in markdown


def test_notebook_06_names_the_papers_measures():
    nb = nbformat.read(NOTEBOOK_06, as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for words in ("top-5", "ILSVRC", "error rate", "Section 4.1", "Section 5"):
        assert words in markdown


def test_notebook_06_states_the_papers_figures_as_paper_py_has_them():
    """The figures 06's text states about the paper are alexnet_lib.facts.paper's, and the patch count is computed."""
    nb = nbformat.read(NOTEBOOK_06, as_version=4)
    text = " ".join(" ".join(c.source for c in nb.cells if c.cell_type == "markdown").split())
    stated = [
        f"batches of {paper.PAPER.batch_size.value}", f"momentum {paper.PAPER.momentum.value}",
        f"weight decay {paper.PAPER.weight_decay.value:g}", f"learning rate of {paper.PAPER.learning_rate.value}",
        f"about {paper.PAPER.epochs.value} epochs", f"N(0, {paper.PAPER.weight_std.value})",
        f"standard deviation {paper.PAPER.weight_std.value}", f"standard deviation {paper.PAPER.pca_alpha_std.value}",
        "{}, {}, {}, {} and {} to 1".format(*paper.PAPER.bias_one_layers.value),
        f"{paper.PAPER.crop_side.value}×{paper.PAPER.crop_side.value} patches of {paper.PAPER.image_side.value}×{paper.PAPER.image_side.value}",
        f'"by a factor of {paper.PAPER.augmentation_factor.value}"',
    ]
    for words in stated:
        assert words in text, words
    positions = conv_output_size(paper.PAPER.image_side.value, paper.PAPER.crop_side.value, 1)
    assert f"{positions} × {positions} × 2 = {2 * positions ** 2:,}" in text
    assert f"which is {positions - 1} × {positions - 1} × 2" in text and 2 * (positions - 1) ** 2 == paper.PAPER.augmentation_factor.value
    assert paper.PAPER.lr_divisor.value == 10 and "divided by ten" in text
