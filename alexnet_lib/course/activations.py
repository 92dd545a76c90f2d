"""Activation functions, their derivatives, and how gradients flow through deep stacks of them.

Derivatives come from autograd, not from hand-written formulas, so what the notebooks plot is
what PyTorch computes when it trains.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import torch
from torch import nn

from ..config import seeded

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "gelu": nn.GELU,
}


def activation(name: str) -> nn.Module:
    """A fresh activation module by name.

    >>> activation("relu")
    ReLU()
    """
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}") from None


def values_and_derivatives(name: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The activation ``f(x)`` and its derivative ``f'(x)`` at every point of ``x``, by autograd.

    >>> x = torch.tensor([-1.0, 0.0, 2.0])
    >>> y, dy = values_and_derivatives("relu", x)
    >>> y.tolist(), dy.tolist()
    ([0.0, 0.0, 2.0], [0.0, 0.0, 1.0])
    >>> values_and_derivatives("sigmoid", torch.zeros(1))[1].item()  # the largest slope a sigmoid has
    0.25
    """
    x = x.detach().clone().requires_grad_(True)
    y = activation(name)(x)
    (dy,) = torch.autograd.grad(y.sum(), x)
    return y.detach(), dy


def deep_mlp(
    name: str, depth: int, width: int, in_features: int, num_classes: int = 10, seed: int = 0, init: str = "default"
) -> nn.Sequential:
    """``depth`` hidden layers of ``width`` units with activation ``name``.

    ``init='default'`` keeps PyTorch's initialisation of ``nn.Linear`` (uniform, variance
    1/(3·fan_in)); ``init='he'`` draws weights from N(0, 2/fan_in) (He et al. 2015), which
    keeps the signal's scale through ReLU layers; biases are then 0.

    >>> deep_mlp("tanh", depth=2, width=8, in_features=4)
    Sequential(
      (0): Linear(in_features=4, out_features=8, bias=True)
      (1): Tanh()
      (2): Linear(in_features=8, out_features=8, bias=True)
      (3): Tanh()
      (4): Linear(in_features=8, out_features=10, bias=True)
    )
    """
    if depth < 1 or width < 1:
        raise ValueError(f"depth and width must be at least 1, got depth={depth}, width={width}.")
    if init not in ("default", "he"):
        raise ValueError(f"init must be 'default' or 'he', got {init!r}.")
    with seeded(seed):  # the caller's generator is left as it was
        layers: list[nn.Module] = []
        size = in_features
        for _ in range(depth):
            layers += [nn.Linear(size, width), activation(name)]
            size = width
        layers.append(nn.Linear(size, num_classes))
        if init == "he":
            for layer in layers:
                if isinstance(layer, nn.Linear):
                    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                    nn.init.zeros_(layer.bias)
        return nn.Sequential(*layers)


def gradient_norms(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> pd.DataFrame:
    """The norm of the loss gradient for each ``nn.Linear`` layer's weights, first layer first.

    One cross-entropy backward pass on the batch ``(x, y)``; the model is not changed.

    >>> model = deep_mlp("relu", depth=3, width=16, in_features=8)
    >>> norms = gradient_norms(model, torch.randn(32, 8), torch.randint(0, 10, (32,)))
    >>> list(norms.index), list(norms.columns)
    ([1, 2, 3, 4], ['gradient norm'])
    """
    model.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(model(x.flatten(1)), y)
    loss.backward()
    linears = [m for m in model if isinstance(m, nn.Linear)]
    norms = [m.weight.grad.norm().item() for m in linears]
    model.zero_grad(set_to_none=True)
    return pd.DataFrame({"gradient norm": norms}, index=pd.RangeIndex(1, len(norms) + 1, name="layer"))


def gradient_profile(
    names: list[str], x: torch.Tensor, y: torch.Tensor, depth: int = 10, width: int = 128, seed: int = 0, init: str = "default"
) -> pd.DataFrame:
    """Per-layer gradient norms at initialisation for deep MLPs that differ only in their activation.

    The same seed and ``init`` give every network the same initial weights, so only the
    activation differs. One column per activation, one row per ``nn.Linear`` layer.

    >>> profile = gradient_profile(["sigmoid", "relu"], torch.randn(16, 4), torch.randint(0, 10, (16,)), depth=3)
    >>> profile.shape
    (4, 2)
    """
    return pd.concat(
        {
            name: gradient_norms(deep_mlp(name, depth, width, x[0].numel(), seed=seed, init=init), x, y)["gradient norm"]
            for name in names
        },
        axis=1,
    )


