"""Notebook 04's LRN, BatchNorm and dropout, written in the notebook: equal to PyTorch's, and checked so.

The cells that define the modules run here as they are. (a) On fresh random inputs, shapes and
settings, each module gives PyTorch's outputs, input gradients, parameter gradients and (BatchNorm)
running statistics, and passes ``gradcheck``. (b) The notebook's own proof cells, run against a
deliberately wrong copy of a module (its cell with one line changed), raise: the proofs can fail.
"""

from __future__ import annotations

import contextlib
import io
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import ROOT, code_cells, defined_by_cells, one_cell

NOTEBOOK = ROOT / "notebooks" / "04_pooling_normalization_dropout.ipynb"
DEFINITIONS = ["def forward_backward(", "class MyLRN(", "class MyBatchNorm2d(", "class MyDropout(",
               "from torch.func import functional_call"]
PROOFS = {"MyLRN": '"LRN")', "MyBatchNorm2d": '"BatchNorm, training",', "MyDropout": '"dropout, evaluation")'}


@pytest.fixture(scope="module", name="code_cells")
def notebook_code_cells() -> list[str]:
    return code_cells(NOTEBOOK)


def _scope(cells: list[str], mutation: tuple[str, str] | None = None) -> dict:
    """The notebook's helpers and modules, defined by their own cells; ``mutation`` (old, new) edits one line."""
    return defined_by_cells(cells, DEFINITIONS, {"torch": torch, "F": F, "nn": nn}, mutation)


def _run(source: str, scope: dict) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(source, scope)
    return out.getvalue()


def _assert_equal_runs(ours: nn.Module, theirs: nn.Module, x: torch.Tensor, buffers=(), upstream=None) -> None:
    """Same output, input gradient, parameter gradients and ``buffers`` after one forward and backward pass."""
    upstream = torch.randn_like(x) if upstream is None else upstream
    results = []
    for module in (ours, theirs):
        xi = x.clone().requires_grad_()
        y = module(xi)
        y.backward(upstream)
        results.append([y, xi.grad, *(p.grad for p in module.parameters()), *(getattr(module, b) for b in buffers)])
        module.zero_grad()
    assert len(results[0]) == len(results[1])
    for a, b in zip(*results):
        torch.testing.assert_close(a, b)


# (a) equal to PyTorch's on fresh inputs


@pytest.mark.parametrize("n, alpha, beta, k", [(5, 1e-4, 0.75, 2.0), (3, 1e-2, 0.5, 1.0), (7, 3e-3, 1.2, 0.5)])
def test_lrn_is_pytorchs_with_alpha_times_n(code_cells, n, alpha, beta, k):
    scope = _scope(code_cells)
    torch.manual_seed(n)
    x = 10 * torch.randn(3, 9, 4, 5, dtype=torch.float64)
    ours = scope["MyLRN"](n=n, k=k, alpha=alpha, beta=beta)
    _assert_equal_runs(ours, nn.LocalResponseNorm(n, alpha=alpha * n, beta=beta, k=k), x)
    assert scope["gradcheck_module"](ours, x[:1, :, :2, :2])


def test_batchnorm_is_pytorchs_over_steps_and_in_evaluation(code_cells):
    scope = _scope(code_cells)
    torch.manual_seed(1)
    ours, theirs = scope["MyBatchNorm2d"](5, eps=1e-3, momentum=0.3), nn.BatchNorm2d(5, eps=1e-3, momentum=0.3)
    nn.init.normal_(theirs.weight), nn.init.normal_(theirs.bias)
    ours.load_state_dict(theirs.state_dict(), strict=False)
    for step in range(3):  # training: batches of different sizes move the running statistics
        x = (step + 1) * torch.randn(2 + step, 5, 3, 4) - step
        _assert_equal_runs(ours, theirs, x, buffers=("running_mean", "running_var"))
    ours.eval(), theirs.eval()
    _assert_equal_runs(ours, theirs, torch.randn(1, 5, 2, 2), buffers=("running_mean", "running_var"))
    assert scope["gradcheck_module"](scope["MyBatchNorm2d"](2), torch.randn(3, 2, 2, 2))


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_is_pytorchs_given_its_mask_and_keeps_the_mean(code_cells, p):
    scope = _scope(code_cells)
    torch.manual_seed(2)
    x, upstream, theirs = torch.randn(6, 10), torch.randn(6, 10), nn.Dropout(p)
    ours = scope["MyDropout"](p)
    torch.manual_seed(3)
    ours.mask = theirs(x) != 0  # the mask PyTorch draws first after this seed...
    torch.manual_seed(3)
    _assert_equal_runs(ours, theirs, x, upstream=upstream)  # ...and draws again here (ours draws nothing)
    ours.eval(), theirs.eval()
    _assert_equal_runs(ours, theirs, x)
    assert scope["gradcheck_module"](ours.train(), x)
    y = scope["MyDropout"](p)(torch.ones(200_000))  # its own masks: rate p, mean kept
    assert abs((y == 0).float().mean().item() - p) < 0.01 and abs(y.mean().item() - 1) < 0.02
    torch.testing.assert_close(y.unique(), torch.tensor([0.0, 1 / (1 - p)]))  # zeroed or scaled


# (b) the notebook's proofs fail on a wrong implementation

MUTANTS = {  # name: (module, the line's text, its wrong text, what the proof's error names)
    "LRN with PyTorch's alpha / n": ("MyLRN", "self.alpha * sums", "self.alpha / self.n * sums", "LRN, output"),
    "LRN window one map short": ("MyLRN", "range(self.n)", "range(self.n - 1)", "LRN, output"),
    "BatchNorm normalising with the unbiased variance": ("MyBatchNorm2d", "correction=0", "correction=1",
                                                         "BatchNorm, training, output"),
    "BatchNorm keeping the biased variance": ("MyBatchNorm2d", "m * x.var((0, 2, 3)).detach()",
                                              "m * x.var((0, 2, 3), correction=0).detach()",
                                              "after one step, running_var"),
    "BatchNorm with momentum the other way round": ("MyBatchNorm2d", "(1 - m) * self.running_mean + m * mean",
                                                    "m * self.running_mean + (1 - m) * mean",
                                                    "after one step, running_mean"),
    "BatchNorm with the batch mean cut from the graph": ("MyBatchNorm2d", "x.mean((0, 2, 3)),",
                                                         "x.mean((0, 2, 3)).detach(),",
                                                         "BatchNorm, training, input gradient"),  # same output
    "BatchNorm using the batch in evaluation": ("MyBatchNorm2d", "if self.training:", "if True:",
                                                "BatchNorm, evaluation, output"),
    "dropout without the 1/(1 - p) scaling": ("MyDropout", "x * keep / (1 - self.p)", "x * keep",
                                              "dropout, training, PyTorch's mask, output"),
    "dropout scaling by 1 - p": ("MyDropout", "x * keep / (1 - self.p)", "x * keep * (1 - self.p)",
                                 "dropout, training, PyTorch's mask, output"),
    "dropout active in evaluation": ("MyDropout", "if not self.training:", "if False:", "dropout, evaluation, output"),
}


def test_the_notebooks_proofs_pass_as_committed(code_cells):
    scope = _scope(code_cells)
    said = "".join(_run(one_cell(code_cells, marker), scope) for marker in PROOFS.values())
    assert said.count("equal to PyTorch's in") == 6, said
    assert "equal to PyTorch's with α = 1e-4 too: False" in said, said  # PyTorch's α is divided by n


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda name: name.replace(" ", "-"))
def test_the_notebooks_proof_fails_on_a_wrong_module(code_cells, mutant):
    module, old, new, named = MUTANTS[mutant]
    scope = _scope(code_cells, (old, new))
    with pytest.raises(AssertionError, match=re.escape(f"{named}: Tensor-likes are not close")):
        _run(one_cell(code_cells, PROOFS[module]), scope)


def test_gradcheck_catches_a_mean_cut_from_the_graph(code_cells):
    scope = _scope(code_cells, ("x.mean((0, 2, 3)),", "x.mean((0, 2, 3)).detach(),"))
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        scope["gradcheck_module"](scope["MyBatchNorm2d"](3), torch.randn(4, 3, 2, 2))
