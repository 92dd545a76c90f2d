"""Instant checks for the notebooks' exercises: ``check_...(answer)`` prints right or wrong and a hint.

The expected answers are computed by the library when the check runs, never typed in, so
a check cannot drift from what the notebook teaches.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch
from torch import nn

from .config import PROFILES, resolve_profile
from .shapes import conv_output_size, pool_output_size

FASHION_MNIST_SIDE = 28  # pixels; Xiao, Rasul and Vollgraf 2017


def check(answer: Any, expected: Any, hint: str, tolerance: float = 0.0) -> None:
    """Print whether ``answer`` equals ``expected`` (numbers within ``tolerance``), with a hint if not.

    >>> check(1_568_000, 1_568_000, hint="bytes per image times images")
    Right: 1,568,000.
    >>> check(None, 3, hint="count them")
    Not answered yet: replace None with your answer.
    >>> check("GPU ", "gpu", hint="-")
    Right: 'gpu'.
    """
    if answer is None or answer is Ellipsis:
        print(f"Not answered yet: replace {answer!r} with your answer.")
        return
    if isinstance(expected, str) and isinstance(answer, str):
        right = answer.strip().lower() == expected.lower()
    elif isinstance(expected, (int, float)) and isinstance(answer, (int, float)) and not isinstance(answer, bool):
        right = abs(answer - expected) <= tolerance
    else:
        right = answer == expected
    if right:
        shown = f"{expected:,}" if isinstance(expected, int) else repr(expected)
        print(f"Right: {shown}.")
    else:
        print(f"Not quite: {answer!r} is not the answer. Hint: {hint}")


def check_profile_on_gpu_machine(answer: str | None) -> None:
    """Exercise 00.1: the profile chosen on a CUDA machine with no ALEXNET_PROFILE and no CI.

    >>> check_profile_on_gpu_machine("cpu")
    Not quite: 'cpu' is not the answer. Hint: ...
    """
    expected, _ = resolve_profile({}, device="cuda")
    check(answer, expected.name, hint="read the order of the rules in `resolve_profile`: override, CI, CUDA.")


def check_ci_training_bytes(answer: int | None) -> None:
    """Exercise 00.2: bytes taken by the ``ci`` profile's training images stored as uint8.

    >>> check_ci_training_bytes(0)
    Not quite: 0 is not the answer. Hint: ...
    """
    expected = PROFILES["ci"].train_images * FASHION_MNIST_SIDE * FASHION_MNIST_SIDE
    check(answer, expected, hint="one uint8 pixel is one byte; an image is 28 x 28 pixels.")


def check_output_size(answer: int | None, n: int, k: int, s: int = 1, p: int = 0, pool: bool = False) -> None:
    """Exercise: the output size of a convolution (or pooling) layer along one dimension.

    >>> check_output_size(13, n=27, k=5, s=2, p=1)
    Right: 13.
    >>> check_output_size(12, n=27, k=5, s=2, p=1)
    Not quite: 12 is not the answer. Hint: out = floor((n + 2p - k) / s) + 1 with n=27, k=5, s=2, p=1.
    """
    expected = pool_output_size(n, k, s, p) if pool else conv_output_size(n, k, s, p)
    check(answer, expected, hint=f"out = floor((n + 2p - k) / s) + 1 with n={n}, k={k}, s={s}, p={p}.")


def check_same_padding(answer: int | None, n: int, k: int) -> None:
    """Exercise: the padding on each side that keeps an ``n``-pixel input at ``n`` pixels (stride 1, odd ``k``).

    >>> check_same_padding(2, n=32, k=5)
    Right: 2.
    """
    if k % 2 == 0:
        raise ValueError(f"k={k} is even: no symmetric padding keeps the size; ask with an odd kernel.")
    expected = next(p for p in range(k) if conv_output_size(n, k, 1, p) == n)
    check(answer, expected, hint="with stride 1 the output is n + 2p - k + 1; set it equal to n.")


def check_exact_input_size(answer: int | None, out: int, k: int, s: int) -> None:
    """Exercise: the input size that a padding-free layer turns into exactly ``out`` with no pixel left over.

    >>> check_exact_input_size(227, out=55, k=11, s=4)
    Right: 227.
    """
    expected = (out - 1) * s + k  # the last window ends exactly at the last pixel
    assert conv_output_size(expected, k, s) == out and (expected - k) % s == 0
    check(answer, expected, hint="the windows start at 0, s, 2s, ..., (out - 1)s, and the last one is k pixels wide.")


def check_conv_params(answer: int | None, in_channels: int, out_channels: int, k: int) -> None:
    """Exercise: trainable parameters of a full ``k``×``k`` convolution, counted by a real ``nn.Conv2d``.

    >>> check_conv_params(156, in_channels=1, out_channels=6, k=5)
    Right: 156.
    """
    expected = sum(p.numel() for p in nn.Conv2d(in_channels, out_channels, k, device="meta").parameters())
    check(answer, expected, hint="each output map has in_channels x k x k weights and one bias.")


def check_linear_params(answer: int | None, in_features: int, out_features: int) -> None:
    """Exercise: trainable parameters of a fully connected layer, counted by a real ``nn.Linear``.

    >>> check_linear_params(48_120, in_features=400, out_features=120)
    Right: 48,120.
    """
    expected = sum(p.numel() for p in nn.Linear(in_features, out_features, device="meta").parameters())
    check(answer, expected, hint="one weight per (input, output) pair, plus one bias per output.")


def check_largest_slope(answer: float | None, activation: str) -> None:
    """Exercise: the largest value of an activation's derivative, measured by autograd.

    >>> check_largest_slope(0.25, "sigmoid")
    Right: 0.25.
    """
    from .activations import values_and_derivatives

    expected = round(values_and_derivatives(activation, torch.linspace(-10, 10, 20_001))[1].max().item(), 4)
    check(answer, expected, hint="differentiate, then find where the derivative peaks (plot it!).", tolerance=1e-3)


def check_sigmoid_chain_bound(answer: float | None, layers: int) -> None:
    """Exercise: the most a gradient can be multiplied by, passing back through ``layers`` sigmoids.

    >>> check_sigmoid_chain_bound(0.25 ** 3, layers=3)
    Right: 0.015625.
    """
    from .activations import values_and_derivatives

    slope = values_and_derivatives("sigmoid", torch.zeros(1))[1].item()
    check(answer, slope**layers, hint="each sigmoid multiplies the gradient by its slope, at most 0.25.", tolerance=1e-4 * slope**layers)


def check_smallest_first_layer_gradient(answer: str | None, profile: pd.DataFrame) -> None:
    """Exercise: which activation's network gets the smallest gradient in its first layer (in ``profile``).

    >>> profile = pd.DataFrame({"sigmoid": [1e-8, 0.1], "relu": [1e-3, 0.1]})
    >>> check_smallest_first_layer_gradient("sigmoid", profile)
    Right: 'sigmoid'.
    """
    check(answer, str(profile.iloc[0].idxmin()), hint="read the first row of the profile (layer 1).")
