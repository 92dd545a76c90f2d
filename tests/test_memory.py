"""Training memory against what a real optimizer step allocates (gradients, optimizer state) and
what autograd saves, derived by hand for a small chain."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from alexnet_lib.course.memory import format_training_memory, training_memory


def small_net() -> nn.Module:
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 5))
    net[0].bias.requires_grad_(False)  # a frozen parameter gets no gradient and no optimizer state
    return net


OPTIMIZERS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1),
    "momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    "adam": lambda p: torch.optim.Adam(p),
    "adamw": lambda p: torch.optim.AdamW(p),
}


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_training_memory_matches_a_real_optimizer_step(one_thread, optimizer):
    net = small_net()
    mem = training_memory(net, (3, 8, 8), batch_size=6, optimizer=optimizer).set_index("item")["bytes"]
    opt = OPTIMIZERS[optimizer]([p for p in net.parameters() if p.requires_grad])
    net(torch.randn(6, 3, 8, 8)).sum().backward()
    opt.step()

    def nbytes(tensors):
        return sum(t.numel() * t.element_size() for t in tensors)

    assert mem["parameters"] == nbytes(net.parameters())
    assert mem["buffers"] == nbytes(net.buffers())
    assert mem["gradients"] == nbytes(p.grad for p in net.parameters() if p.grad is not None)
    state = [t for s in opt.state.values() for t in s.values() if isinstance(t, torch.Tensor)]
    assert mem["optimizer state"] == nbytes(state)
    assert mem["total"] == mem.drop("total").sum()


@pytest.mark.parametrize("batch", [1, 3, 64])
def test_training_activations_are_what_autograd_saves(one_thread, batch):
    """Worked by hand: conv saves its input, ReLU its output, max-pool its input (the same tensor) and int64
    indices, linear its input (the pooled output, flattened without a copy)."""
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 2))
    expected = batch * (4 * (1 * 8 * 8 + 4 * 6 * 6 + 4 * 3 * 3) + 8 * 4 * 3 * 3)
    mem = training_memory(net, (1, 8, 8), batch_size=batch).set_index("item")
    assert mem.loc["activations", "bytes"] == expected
    half = training_memory(net, (1, 8, 8), batch_size=batch, dtype=torch.float16).set_index("item")
    assert half.loc["activations", "bytes"] == expected - batch * 2 * (64 + 144 + 36)


def test_training_memory_leaves_the_model_and_random_state_alone(one_thread):
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5), nn.Flatten(), nn.Linear(72, 2)).eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rng = torch.get_rng_state()
    training_memory(net, (1, 8, 8), batch_size=4, optimizer="adam")
    assert not net.training
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert torch.equal(rng, torch.get_rng_state())
    text = format_training_memory(training_memory(net, (1, 8, 8)))
    assert max(len(line) for line in text.splitlines()) <= 80


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: training_memory(nn.Linear(10, 2), (10,), optimizer="lbfgs"), ["'lbfgs'", "adam"]),
        (lambda: training_memory(nn.Linear(10, 2), (10,), batch_size=0), ["batch_size=0"]),
        (lambda: training_memory(nn.Conv2d(3, 8, 11), (3, 8, 8)), ["cannot train", "3×8×8", "input_size"]),
    ],
)
def test_bad_arguments_get_clear_errors(call, words):
    with pytest.raises(ValueError) as caught:
        call()
    for word in words:
        assert word in str(caught.value)
