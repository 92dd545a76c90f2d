"""fit, evaluate, checkpoints, confusion matrices, the live curve and the train command, on tiny runs."""

import math

import pandas as pd
import pytest
import torch
from torch import nn

from alexnet_lib.runs import cli
from alexnet_lib import models
from alexnet_lib.data import fashion_mnist_loaders
from alexnet_lib.course.plots import LiveCurve
from alexnet_lib.runs.checkpoints import load_checkpoint, save_checkpoint
from alexnet_lib.course.evaluation import confusion_matrix, evaluate
from alexnet_lib.callbacks import choose_precision
from alexnet_lib.training import HISTORY_COLUMNS, TrainingDiverged, fit


@pytest.fixture(scope="module")
def small_data():
    return fashion_mnist_loaders(64, subset=(480, 256), normalize=True, device="cpu")  # 360 train, 120 validate


def _lenet(seed=0):
    return models.get("lenet", activation="relu", seed=seed)


def test_fit_learns_and_returns_the_history(small_data):
    model = _lenet()
    history = fit(model, small_data, epochs=3, optimizer="adam", lr=3e-3, seed=0, device="cpu", progress=False)
    assert list(history.columns) == HISTORY_COLUMNS and history["epoch"].tolist() == [1, 2, 3]
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    assert history["val_acc"].iloc[-1] > 0.4  # from 10% by chance
    assert (history["images"] == 360).all() and (history["images_per_s"] > 0).all()
    assert history.attrs["interrupted"] is False and history.attrs["device"] == "cpu"
    assert "test_acc" not in history.attrs  # no test images given: fit never touches them
    assert not model.training  # left in eval mode


def test_fit_tests_once_after_the_last_epoch_and_never_before(small_data):
    scored = []

    class Counting:  # the test batches, counting each pass over them
        def __iter__(self):
            scored.append(True)
            return iter(small_data.test)

    model = _lenet()
    history = fit(model, small_data, epochs=2, lr=0.1, seed=0, device="cpu", progress=False, test=Counting())
    assert len(scored) == 1
    assert history.attrs["test_acc"] == pytest.approx(evaluate(model, small_data.test)["acc"])
    assert history.attrs["test_loss"] > 0


def test_two_seeded_runs_give_identical_histories(small_data):
    # alexnet_cpu has dropout; the loader shuffles and flips: all of it must follow the seed.
    data = fashion_mnist_loaders(64, resize=64, subset=(192, 64), flip=True, device="cpu")
    runs = []
    for _ in range(2):
        model = models.get("alexnet_cpu", seed=0)
        history = fit(model, data, epochs=2, lr=0.05, seed=0, device="cpu", progress=False)
        runs.append(history[["train_loss", "train_acc", "val_loss", "val_acc"]])
    pd.testing.assert_frame_equal(runs[0], runs[1], check_exact=True)
    other = fit(models.get("alexnet_cpu", seed=0), data, epochs=2, lr=0.05, seed=1, device="cpu", progress=False)
    assert other["train_loss"].tolist() != runs[0]["train_loss"].tolist()


class _Interrupting(nn.Module):
    """LeNet whose forward raises KeyboardInterrupt (as Ctrl-C does) on its ``at``-th training call."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.net, self.at, self.calls = _lenet(), at, 0

    def forward(self, x):
        if self.training:
            self.calls += 1
            if self.calls == self.at:
                raise KeyboardInterrupt
        return self.net(x)


def test_keyboard_interrupt_keeps_the_model_and_the_history_so_far(small_data, capsys):
    model = _Interrupting(at=6 + 3)  # 6 batches per epoch: stop in the 4th batch of epoch 2
    before = [p.detach().clone() for p in model.parameters()]
    history = fit(model, small_data, epochs=5, lr=0.1, device="cpu", progress=False)
    message = capsys.readouterr().out
    assert "KeyboardInterrupt in epoch 2 of 5 after 2 of 6 batches" in message and "keeps the weights" in message
    assert history.attrs["interrupted"] is True
    assert history["epoch"].tolist() == [1, 2]
    assert not math.isnan(history["val_acc"].iloc[0]) and math.isnan(history["val_acc"].iloc[1])
    assert history["images"].tolist() == [360, 128]
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))  # the trained weights stay
    assert evaluate(model, small_data.test)["images"] == 256  # and the model still works


def test_interrupt_in_the_first_batch_returns_an_empty_history(small_data, capsys):
    history = fit(_Interrupting(at=1), small_data, epochs=2, lr=0.1, device="cpu", progress=False)
    assert len(history) == 0 and list(history.columns) == HISTORY_COLUMNS
    assert "KeyboardInterrupt" in capsys.readouterr().out


def test_evaluation_runs_under_inference_mode(small_data):
    seen = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = _lenet()

        def forward(self, x):
            seen.append((torch.is_inference_mode_enabled(), self.training))
            return self.net(x)

    result = evaluate(Spy(), small_data.test, device="cpu")
    assert seen and all(inference and not training for inference, training in seen)
    assert result["images"] == 256 and 0 <= result["acc"] <= 1


def test_precision_rules_and_switches():
    assert choose_precision("cpu", amp=False, channels_last=False).describe() == "float32, contiguous"
    assert choose_precision("cpu", amp="bf16").amp_dtype == torch.bfloat16
    assert choose_precision("cpu", channels_last=False).channels_last is False
    assert choose_precision("mps", amp="auto").describe() == "float32, contiguous"
    with pytest.raises(ValueError, match="amp='fp16' needs a CUDA GPU"):
        choose_precision("cpu", amp="fp16")
    with pytest.raises(ValueError, match="amp='yes'"):
        choose_precision("cpu", amp="yes")


def test_fit_switches_and_bad_arguments(small_data):
    history = fit(_lenet(), small_data, 1, lr=0.1, amp=False, channels_last=False, device="cpu", progress=False, max_batches=2)
    assert history.attrs["precision"] == "float32, contiguous" and history["images"].tolist() == [128]
    with pytest.raises(ValueError, match="epochs=0"):
        fit(_lenet(), small_data, 0, progress=False)
    with pytest.raises(ValueError, match="lr=0.1 is for an optimizer given by name"):
        model = _lenet()
        fit(model, small_data, 1, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), lr=0.1, progress=False)
    with pytest.raises(ValueError, match="data should be the pair"):
        fit(_lenet(), small_data.train, 1, progress=False)


def test_checkpoint_round_trip(small_data, tmp_path):
    model = _lenet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    history = fit(model, small_data, 1, optimizer=optimizer, device="cpu", progress=False)
    path = save_checkpoint(tmp_path / "run" / "checkpoint.pt", model, optimizer, history,
                           model_kwargs={"activation": "relu"}, note="tiny")
    # the file holds only tensors and plain values: torch.load with weights_only=True reads it
    raw = torch.load(path, weights_only=True)
    assert raw["meta"]["model_name"] == "lenet"

    fresh = _lenet(seed=1)
    fresh_optimizer = torch.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
    loaded = load_checkpoint(path, fresh, fresh_optimizer)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, fresh.state_dict()[name])
    assert torch.equal(
        fresh_optimizer.state_dict()["state"][0]["momentum_buffer"], optimizer.state_dict()["state"][0]["momentum_buffer"]
    )
    pd.testing.assert_frame_equal(loaded.history, history, check_dtype=False)
    assert loaded.history.attrs["precision"] == history.attrs["precision"] and loaded.meta["note"] == "tiny"
    assert evaluate(fresh, small_data.test)["acc"] == evaluate(model, small_data.test)["acc"]

    rebuilt = load_checkpoint(path)  # no model given: rebuilt from the saved name and arguments
    assert isinstance(rebuilt.model, type(model)) and rebuilt.model.activation == "relu"


def test_checkpoint_errors_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt")
    path = save_checkpoint(tmp_path / "c.pt", _lenet())
    with pytest.raises(ValueError, match="do not fit this alexnet_cpu"):
        load_checkpoint(path, models.get("alexnet_cpu", seed=0))
    with pytest.raises(ValueError, match="holds no optimizer state"):
        model = _lenet()
        load_checkpoint(path, model, torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="weights_only=True"):
        save_checkpoint(tmp_path / "d.pt", _lenet(), note=object())


def test_confusion_matrix_counts_every_validation_image(small_data):
    model = _lenet()
    fit(model, small_data, 2, optimizer="adam", lr=3e-3, seed=0, device="cpu", progress=False)
    table = confusion_matrix(model, small_data)
    assert table.shape == (10, 10) and list(table.index) == list(small_data.classes)
    assert table.to_numpy().sum() == 120
    accuracy = evaluate(model, small_data.val)["acc"]
    assert table.to_numpy().trace() / 120 == pytest.approx(accuracy)


def test_live_curve_updates_one_display_in_place(monkeypatch):
    import IPython.display

    shown, updates = [], []

    class Handle:
        def update(self, obj):
            updates.append(obj)

    def fake_display(obj, display_id=False):
        shown.append((obj, display_id))
        return Handle()

    monkeypatch.setattr(IPython.display, "display", fake_display)
    monkeypatch.setattr(IPython.display, "clear_output", lambda *a, **k: pytest.fail("no clear_output: nbval cannot handle it"))
    curve = LiveCurve(epochs=3, min_interval=0.0, enabled=True)
    for epoch in range(1, 4):
        curve.add(epoch, train_loss=1 / epoch, train_acc=0.5, val_loss=1.1 / epoch, val_acc=0.45)
    assert len(shown) == 1 and shown[0][1] is True  # one display, with a display id
    assert len(updates) == 2  # then updated in place
    assert all(obj.format == "png" and obj.data[:4] == b"\x89PNG" for obj in [shown[0][0], *updates])
    assert list(curve.figure().axes[1].lines[1].get_xdata()) == [1.0, 2.0, 3.0]


def test_the_live_curve_callback_draws_while_fit_trains(small_data, monkeypatch):
    import IPython.display

    calls = []

    class Handle:
        def update(self, obj):
            calls.append(obj)

    monkeypatch.setattr(IPython.display, "display", lambda obj, display_id=False: calls.append(obj) or Handle())
    fit(_lenet(), small_data, 2, lr=0.1, device="cpu", progress=False, callbacks=[LiveCurve(enabled=True)])
    assert len(calls) >= 2


def test_train_command_prints_and_saves_history_and_checkpoint(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ALEXNET_PROFILE", "ci")
    out = tmp_path / "run"
    assert cli.main(["train", "lenet", "--epochs", "1", "--out", str(out), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "lenet(activation='relu') at 28×28, profile ci" in printed
    assert "train_loss" in printed and "val_acc" in printed and f"saved {out / 'history.csv'}" in printed
    assert "test, once after the last epoch: loss" in printed
    history = pd.read_csv(out / "history.csv")
    assert list(history.columns) == HISTORY_COLUMNS and len(history) == 1
    checkpoint = load_checkpoint(out / "checkpoint.pt")
    assert checkpoint.model is not None and checkpoint.meta["profile"] == "ci"
    assert cli.main(["train", "lenet", "--set", "nonsense"]) == 2


def test_top1_error_breaks_ties_as_argmax_does():
    from alexnet_lib.course.evaluation import topk_error

    logits = torch.tensor([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0], [3.0, 0.0, 3.0]])  # ties, as bf16 scores often have
    labels = torch.tensor([1, 2, 0])
    assert topk_error(logits, labels, k=1) == pytest.approx(1 - (logits.argmax(1) == labels).float().mean().item())
    assert topk_error(logits, labels, k=2) == 0.0


def test_divergence_advice_names_the_rate_set_not_the_schedules_value_at_that_batch(small_data):
    """Under one-cycle the rate at the failing batch is a fraction of the one set; the advice must name the one set."""
    with pytest.raises(TrainingDiverged) as caught:
        fit(_lenet(), small_data, epochs=2, lr=1e6, schedule="onecycle", device="cpu", progress=False)
    message = str(caught.value)
    assert "lower learning rate than the lr=1e+06 set, e.g. lr=100000." in message, message
