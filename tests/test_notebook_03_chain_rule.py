"""Notebook 03's chain rule equals autograd, its comparison catches a wrong one, and its ReLU dies.

The cells are read from the notebook and run here, so the test checks the code students read.
"""

from __future__ import annotations

import nbformat
import pytest
import torch
from conftest import ROOT

CELLS = ("def chain(", "def by_autograd(", "def relu_slope(", "def train_unit(")


@pytest.fixture(scope="module")
def namespace():
    nb = nbformat.read(ROOT / "notebooks" / "03_relu_vs_sigmoid.ipynb", as_version=4)
    namespace = {"torch": torch}
    for text in CELLS:
        cells = [c for c in nb.cells if c.cell_type == "code" and text in c.source]
        assert len(cells) == 1, f"{len(cells)} code cells contain {text!r}"
        source = cells[0].source
        if text == "def relu_slope(":  # only the definition: the cell then uses the notebook's chain
            source = source.split("\n\n\n")[0]
        exec(source, namespace)
    return namespace


def random_chain(seed: int, layers: int = 6):
    g = torch.Generator().manual_seed(seed)
    w, b = 3 * torch.randn(2, layers, generator=g, dtype=torch.float64)
    return w, b, torch.randn((), generator=g, dtype=torch.float64)


@pytest.mark.parametrize("seed", range(20))
def test_chain_rule_equals_autograd_on_random_chains(namespace, seed):
    w, b, h0 = random_chain(seed, layers=1 + seed % 8)
    mine, theirs = namespace["compare"](w, b, h0)  # raises if they differ
    torch.testing.assert_close(mine, theirs, rtol=1e-12, atol=0)
    assert mine.shape == (len(w) + 1,) and mine[-1] == 1
    assert abs(mine[0]) <= (w.abs() / 4).prod()  # each sigmoid layer's factor is at most |w| / 4
    # and independently of the notebook's own autograd helper: PyTorch's jacobian of h_L with respect to h_0
    top = torch.autograd.functional.jacobian(lambda h: namespace["chain"](w, b, h)[-1], h0)
    torch.testing.assert_close(mine[0], top, rtol=1e-12, atol=0)
    relu, relu_autograd = namespace["compare"](w, b, h0, act=torch.relu, slope=namespace["relu_slope"])
    torch.testing.assert_close(relu, relu_autograd, rtol=1e-12, atol=0)


def test_the_comparison_raises_against_a_wrong_slope(namespace):
    w, b, h0 = random_chain(0)
    with pytest.raises(AssertionError):  # sigma'(z) taken as sigma(z)
        namespace["compare"](w, b, h0, slope=torch.sigmoid)
    with pytest.raises(AssertionError):  # ReLU's chain with the sigmoid's slope
        namespace["compare"](w, b, h0, act=torch.relu)


def test_the_comparison_raises_against_a_forgotten_weight(namespace, monkeypatch):
    def without_weights(w, b, h0, act=torch.sigmoid, slope=namespace["sigmoid_slope"]):
        h, grads = namespace["chain"](w, b, h0, act), [torch.tensor(1.0, dtype=torch.float64)]
        for l in range(len(w), 0, -1):
            grads.insert(0, grads[0] * slope(w[l - 1] * h[l - 1] + b[l - 1]))  # the factor w_l forgotten
        return torch.stack(grads)

    w, b, h0 = random_chain(1)
    monkeypatch.setitem(namespace, "by_chain_rule", without_weights)
    with pytest.raises(AssertionError):
        namespace["compare"](w, b, h0)


def test_the_relu_unit_dies_and_the_leaky_one_recovers(namespace):
    start = namespace["w_start"]
    assert (namespace["inputs"] @ start[:2] + start[2] < 0).all()  # dead for every input from the start
    first, end, active = namespace["train_unit"](torch.relu)
    assert torch.equal(first, torch.zeros(3, dtype=torch.float64)) and torch.equal(end, start) and active == 0
    first, end, active = namespace["train_unit"](lambda z: torch.nn.functional.leaky_relu(z, 0.01))
    assert (first != 0).all() and not torch.equal(end, start) and active > 0
