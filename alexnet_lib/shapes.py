"""Output-size arithmetic for convolution and pooling, in pure Python; along one dimension, as PyTorch documents it::

    out = floor((n + p_before + p_after - d*(k - 1) - 1) / s) + 1

Dive into Deep Learning writes ``floor((n - k + p_h + s) / s)`` (total padding ``p_h``, ``d = 1``). Pooling's
``ceil_mode`` rounds up, then drops a last window that starts past the input and its left padding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .config import is_whole_number

Padding = int | tuple[int, int] | str  # pixels on each side, a (before, after) pair, 'valid' or 'same'
IntOrPair = int | tuple[int, int]  # one value for height and width, or a (height, width) pair


class ShapeError(ValueError):
    """A setting PyTorch would reject, raised here first; the message says why and what to change."""


def _whole(name: str, value: object, minimum: int, hint: str, where: str = "") -> int:
    """``value`` if it is a whole number >= ``minimum``, else a ShapeError naming it (``where``: which dimension)."""
    if not is_whole_number(value, minimum=-math.inf):
        raise ShapeError(f"{where}{name} must be a whole number, got {value!r}; {hint}.")
    if value < minimum:
        raise ShapeError(f"{where}{name}={value} is not allowed; {hint}.")
    return value


def _check(n: int, k: int, s: int, d: int, where: str = "") -> None:
    _whole("input size n", n, 1, "an input needs at least 1 pixel", where)
    _whole("kernel size k", k, 1, "use a kernel of at least 1 pixel", where)
    _whole("stride s", s, 1, "use a stride of at least 1 (s=1 moves the window one pixel at a time)", where)
    _whole("dilation d", d, 1, "use a dilation of at least 1 (d=1 is an ordinary, undilated kernel)", where)


def same_padding(n: int, k: int, s: int = 1, d: int = 1) -> tuple[int, int]:
    """``'same'`` padding: ``(before, after)`` for ``ceil(n / s)`` outputs, the odd pixel after (as TensorFlow; PyTorch: s=1).

    >>> same_padding(7, 4), same_padding(224, 11, s=4)  # an even kernel; ceil(224 / 4) = 56 outputs
    ((1, 2), (3, 4))
    """
    _check(n, k, s, d)
    total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def _padding(p: Padding, n: int, k: int, s: int, d: int, pool: bool, where: str) -> tuple[int, int]:
    hint = "padding is a number of pixels >= 0, a (before, after) pair, 'valid' or 'same'"
    if isinstance(p, str):
        if pool and p.strip().lower() == "same":
            raise ShapeError(f"{where}PyTorch's pooling layers take padding as a number of pixels, not 'same'; "
                             f"pass p={k // 2} (the most they allow for k={k}) or p=0.")
        if p.strip().lower() not in ("valid", "same"):
            raise ShapeError(f"{where}padding p={p!r} is not understood; {hint}.")
        return same_padding(n, k, s, d) if p.strip().lower() == "same" else (0, 0)
    if isinstance(p, Sequence) and pool:
        raise ShapeError(f"{where}PyTorch's pooling layers pad both sides equally; pass one number instead of p={tuple(p)!r}.")
    if isinstance(p, Sequence) and len(p) != 2:
        raise ShapeError(f"{where}padding p={p!r} has {len(p)} values; {hint}.")
    names, pair = (("padding before", "padding after"), p) if isinstance(p, Sequence) else (("padding p",) * 2, (p, p))
    return tuple(_whole(name, v, 0, "padding cannot be negative (crop the input instead)", where) for name, v in zip(names, pair))


def _output_size(n: int, k: int, s: int, p: Padding, d: int, ceil_mode: bool, pool: bool, where: str = "") -> int:
    """The checked output size (PyTorch's ``pooling_output_shape_pad_lr``); ``where`` (``"height: "``) starts each error."""
    _check(n, k, s, d, where)
    before, after = _padding(p, n, k, s, d, pool, where)
    if pool and before > k // 2:
        raise ShapeError(f"{where}pooling padding p={before} is more than half the kernel size k={k}; "
                         f"PyTorch allows p <= k // 2 = {k // 2}: use p <= {k // 2} or a larger kernel.")
    span = n + before + after - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + before:
        out -= 1  # the last window would start beyond the input and its left padding
    if out < 1:
        dilated = f" (effective size d*(k - 1) + 1 = {d * (k - 1) + 1} with dilation d={d})" if d > 1 else ""
        raise ShapeError(f"{where}the {'pooling' if pool else 'convolution'} kernel k={k}{dilated} is larger than the "
                         f"padded input n + padding = {n} + {before + after} = {n + before + after}, so no window fits; "
                         f"use a smaller kernel or dilation, more padding, or a larger input.")
    return out


def conv_output_size(n: int, k: int, s: int = 1, p: Padding = 0, d: int = 1, ceil_mode: bool = False) -> int:
    """The output size along one dimension of a convolution (with ``ceil_mode``, rounded up as pooling may be).

    >>> conv_output_size(224, k=11, s=4, p=2), conv_output_size(227, k=11, s=4)  # torchvision's AlexNet, the paper's
    (55, 55)
    """
    return _output_size(n, k, s, p, d, ceil_mode, pool=False)


def pool_output_size(n: int, k: int, s: int | None = None, p: int = 0, d: int = 1, ceil_mode: bool = False) -> int:
    """The output size along one dimension of ``nn.MaxPool2d`` or ``nn.AvgPool2d`` (stride: ``k`` by default).

    >>> pool_output_size(55, k=3, s=2), pool_output_size(6, k=3, s=2, ceil_mode=True)  # AlexNet's overlapping pooling
    (27, 3)
    """
    return _output_size(n, k, k if s is None else s, p, d, ceil_mode, pool=True)


def _output_shape(hw: object, k: object, s: object, p: object, d: object, ceil_mode: bool, pool: bool) -> tuple[int, int]:
    """:func:`_output_size` for height and width, each argument an :data:`IntOrPair` (``p``: one :data:`Padding` or two)."""
    pairs = [v if isinstance(v, (list, tuple)) else (v, v) for v in (hw, k, s, p, d)]
    for name, pair in zip(("input size hw", "kernel size k", "stride s", "padding p", "dilation d"), pairs):
        if len(pair) != 2:
            raise ShapeError(f"{name}={pair!r} should be one value or a (height, width) pair.")
    return tuple(_output_size(*(v[i] for v in pairs), ceil_mode, pool, f"{dim}: ") for i, dim in enumerate(("height", "width")))


def conv2d_output_shape(hw: IntOrPair, k: IntOrPair, s: IntOrPair = 1, p: object = 0, d: IntOrPair = 1) -> tuple[int, int]:
    """The ``(height, width)`` of ``nn.Conv2d``'s output.

    >>> conv2d_output_shape((224, 224), k=11, s=4, p=2), conv2d_output_shape((32, 64), k=(3, 5), p=((1, 1), (0, 2)))
    ((55, 55), (32, 62))
    """
    return _output_shape(hw, k, s, p, d, ceil_mode=False, pool=False)


def pool2d_output_shape(hw: IntOrPair, k: IntOrPair, s: IntOrPair | None = None, p: IntOrPair = 0, d: IntOrPair = 1,
                        ceil_mode: bool = False) -> tuple[int, int]:
    """The ``(height, width)`` of ``nn.MaxPool2d`` or ``nn.AvgPool2d``'s output (stride: the kernel by default).

    >>> pool2d_output_shape((55, 55), k=3, s=2), pool2d_output_shape((13, 10), k=3, s=2, p=(1, 0), ceil_mode=True)
    ((27, 27), (7, 5))
    """
    return _output_shape(hw, k, k if s is None else s, p, d, ceil_mode, pool=True)
