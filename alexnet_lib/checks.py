"""Instant checks for the notebooks' exercises: ``check_...(answer)`` prints right or wrong and a hint.

The expected answers are computed by the library when the check runs, never typed in, so
a check cannot drift from what the notebook teaches.
"""

from __future__ import annotations

from typing import Any

from .config import PROFILES, resolve_profile

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
