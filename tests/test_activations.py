"""Activation derivatives against their closed forms, and the vanishing gradient it causes."""

import pytest
import torch

from alexnet_lib.course.activations import ACTIVATIONS, deep_mlp, gradient_norms, gradient_profile, values_and_derivatives

X = torch.linspace(-6, 6, 241)


@pytest.mark.parametrize(
    "name, derivative",
    [
        ("sigmoid", lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x))),
        ("tanh", lambda x: 1 - torch.tanh(x) ** 2),
        ("relu", lambda x: (x > 0).float()),
        ("leaky_relu", lambda x: torch.where(x > 0, 1.0, 0.01)),
    ],
)
def test_autograd_derivatives_match_closed_forms(name, derivative):
    _, dy = values_and_derivatives(name, X)
    assert torch.allclose(dy, derivative(X), atol=1e-6)


def test_sigmoid_slope_never_exceeds_a_quarter():
    _, dy = values_and_derivatives("sigmoid", X)
    assert dy.max().item() == pytest.approx(0.25)


def test_same_seed_same_weights_whatever_the_activation():
    a, b = deep_mlp("sigmoid", 3, 16, 8, seed=1), deep_mlp("relu", 3, 16, 8, seed=1)
    for la, lb in zip(a, b):
        if isinstance(la, torch.nn.Linear):
            assert torch.equal(la.weight, lb.weight)
    state = torch.random.get_rng_state()
    deep_mlp("tanh", 2, 4, 4, seed=3)
    assert torch.equal(state, torch.random.get_rng_state())  # the caller's generator is untouched


def test_gradient_norms_equal_a_manual_backward_pass():
    torch.manual_seed(0)
    model = deep_mlp("tanh", 2, 8, 5)
    x, y = torch.randn(10, 5), torch.randint(0, 10, (10,))
    norms = gradient_norms(model, x, y)["gradient norm"].tolist()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    manual = [m.weight.grad.norm().item() for m in model if isinstance(m, torch.nn.Linear)]
    assert norms == pytest.approx(manual)


def test_sigmoid_gradients_vanish_relu_with_he_init_do_not():
    torch.manual_seed(0)
    x, y = torch.rand(128, 64), torch.randint(0, 10, (128,))
    profile = gradient_profile(["sigmoid", "relu"], x, y, depth=10, width=64, init="he")
    ratio = profile.iloc[0] / profile.iloc[-1]  # first layer's gradient relative to the last layer's
    assert ratio["sigmoid"] < 1e-3
    assert 0.1 < ratio["relu"] < 10


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        values_and_derivatives("swish", X)
    with pytest.raises(ValueError, match="init must be"):
        deep_mlp("relu", 2, 4, 4, init="xavier")
    assert set(ACTIVATIONS) >= {"sigmoid", "tanh", "relu"}
