"""Notebook 02's loop exercise and first checks: `check_training_loop` says right for a loop that
is `fit`'s, and names what differs for loops that are not; the initial-loss and one-batch checks
judge as their docstrings say; and the notebook's own solution and cells pass them."""

from __future__ import annotations

import math
import re

import nbformat
import pytest
import torch
from torch import nn

from alexnet_lib.course.checks import check, check_initial_loss, check_overfits_one_batch, check_training_loop
from conftest import ROOT


def loop(model, batches, epochs, lr, *, zero_grad=True, momentum=0.0, lr_used=None):
    """The exercise's loop, with the mistakes a student makes switched on by keyword."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr if lr_used is None else lr_used, momentum=momentum)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        for X, y in batches:
            loss = loss_fn(model(X), y)
            if zero_grad:
                optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def printed(capsys, check, *args) -> str:
    check(*args)
    return capsys.readouterr().out


def test_a_correct_loop_gives_exactly_fits_weights(capsys, one_thread):
    out = printed(capsys, check_training_loop, loop)
    assert out.startswith("Right: after 8 steps your loop and fit give the same weights (largest difference 0.0)"), out


@pytest.mark.parametrize("mistake", [
    {"zero_grad": False},  # the gradients of all batches add up
    {"lr_used": 0.01},     # another learning rate than the one given
    {"momentum": 0.9},     # fit is asked for plain SGD
])
def test_a_wrong_loop_is_not_right_and_says_where_and_why(capsys, one_thread, mistake):
    out = printed(capsys, check_training_loop, lambda model, batches, epochs, lr: loop(model, batches, epochs, lr, **mistake))
    assert out.startswith("Not quite: after 8 steps your weights differ from fit's, most in "), out
    assert re.search(r"most in (features|classifier)\.\w+\.(weight|bias) \(by \d", out), out
    assert "zero_grad" in out and "lr" in out and "momentum" in out


def test_a_loop_that_never_steps_or_fails_or_is_missing_says_so(capsys, one_thread):
    no_step = printed(capsys, check_training_loop, lambda model, batches, epochs, lr: None)
    assert no_step.startswith("Not quite: after your loop no weight has changed") and "optimizer.step()" in no_step

    def broken(model, batches, epochs, lr):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied\nmore detail")

    assert printed(capsys, check_training_loop, broken) == \
        "Not quite: your loop fails: RuntimeError: mat1 and mat2 shapes cannot be multiplied\n"
    assert printed(capsys, check, None, "training_loop").startswith("Not answered yet")


def test_initial_loss_band_is_computed_and_both_sides_are_explained(capsys):
    band = (1 - 1 / 10) / 2
    # the band is what random scores with a standard deviation of 1 add to ln 10, as the docstring says
    generator = torch.Generator().manual_seed(0)
    scores, labels = torch.randn(100_000, 10, generator=generator), torch.randint(0, 10, (100_000,), generator=generator)
    assert nn.functional.cross_entropy(scores, labels).item() - math.log(10) == pytest.approx(band, abs=0.03)
    assert printed(capsys, check_initial_loss, math.log(10) + band - 0.01).startswith("Right")
    above = printed(capsys, check_initial_loss, math.log(10) + band + 0.01)
    below = printed(capsys, check_initial_loss, math.log(10) - band - 0.01)
    assert above.startswith("Not quite") and "above ln 10" in above and "normalised" in above
    assert below.startswith("Not quite") and "below ln 10" in below
    assert printed(capsys, check_initial_loss, torch.tensor(2.3)).startswith("Right")


def test_overfitting_one_batch_passes_only_at_100_percent(capsys):
    assert printed(capsys, check_overfits_one_batch, 1.0).startswith("Right: 100% of the batch")
    out = printed(capsys, check_overfits_one_batch, 31 / 32)
    assert out.startswith("Not quite: 96.9% of the batch") and "bug" in out


def _notebook_cells():
    return nbformat.read(ROOT / "notebooks" / "02_lenet.ipynb", as_version=4).cells


def _output(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []))


def test_notebook_02s_own_loop_passes_the_check_in_its_committed_output_and_its_code_runs_the_loop_in_the_open(capsys, one_thread):
    cells = _notebook_cells()
    cell = next(c for c in cells if c.cell_type == "code" and 'check(my_train, "training_loop")' in c.source)
    assert _output(cell).startswith("Right: after 8 steps your loop and fit give the same weights")
    namespace = {"torch": torch, "nn": nn}
    exec(cell.source, namespace)  # and it says so again here
    assert capsys.readouterr().out.startswith("Right: after 8 steps your loop and fit give the same weights")
    code = "\n".join(c.source for c in cells if c.cell_type == "code")
    assert "inspect.getsource(training.train_loop)" in code
    assert ".backward()" in code and "optimizer.step()" in code and "optimizer.zero_grad()" in code


def test_notebook_02s_first_checks_say_right_and_print_their_numbers():
    cells = _notebook_cells()
    initial = _output(next(c for c in cells if 'check(initial_loss, "initial_loss")' in c.source))
    overfit = _output(next(c for c in cells if 'check(accuracy, "overfits_one_batch")' in c.source))
    assert f"ln 10 = {math.log(10):.3f}" in initial and "\nRight:" in initial, initial
    assert re.search(r"after \d+ steps at lr [\d.]+: accuracy 100% on the 32 images\nRight:", overfit), overfit
