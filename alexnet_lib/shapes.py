"""Output-size arithmetic for convolution and pooling, and the worked computation as text.

One formula gives the output size of a convolution or pooling layer along one dimension
(PyTorch's documentation of ``nn.Conv2d`` and ``nn.MaxPool2d``)::

    out = floor((n + p_before + p_after - d*(k - 1) - 1) / s) + 1

with ``n`` the input size, ``k`` the kernel size, ``s`` the stride, ``p_before`` and
``p_after`` the padding added before and after the input (both ``p`` for PyTorch's
symmetric ``padding=p``) and ``d`` the dilation; ``d*(k - 1) + 1`` is the kernel's
*effective* size, the span its dilated taps cover. Dive into Deep Learning writes the same
formula with the *total* padding ``p_h = p_before + p_after`` and ``d = 1`` as
``floor((n - k + p_h + s) / s)``.

Pooling with ``ceil_mode=True`` rounds up instead of down, then follows PyTorch's rule that
the last window must start inside the input or the left padding: if ``(out - 1)*s >= n +
p_before`` the last window is dropped. Such a window may hang over the end of the padded
input, and PyTorch accepts that; everything else that PyTorch rejects, these functions
reject first with a :class:`ShapeError` that names the values and what to change.

Padding may be a number, a ``(before, after)`` pair, ``'valid'`` (no padding) or ``'same'``.
``'same'`` with stride 1 is PyTorch's: the output is as large as the input, with
``d*(k - 1)`` padding in total and the odd pixel after. PyTorch's ``nn.Conv2d`` rejects
``padding='same'`` with a stride above 1; here it means what TensorFlow and Keras mean by it:
``out = ceil(n / s)``, with the padding :func:`same_padding` returns (pad with
``nn.ZeroPad2d`` or ``F.pad`` first to build it in PyTorch).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .basics import is_whole_number

Padding = int | tuple[int, int] | str
IntOrPair = int | tuple[int, int]

__all__ = [
    "ShapeError",
    "conv_output_size",
    "pool_output_size",
    "same_padding",
    "conv2d_output_shape",
    "pool2d_output_shape",
    "explain_conv_output",
    "next_receptive_field",
]


class ShapeError(ValueError):
    """A convolution or pooling setting that cannot work; the message says why and what to change."""


def _where(dim: str) -> str:
    return f"{dim}: " if dim else ""


def _check_int(name: str, value: object, minimum: int, hint: str, dim: str = "") -> int:
    if not is_whole_number(value, minimum=-math.inf):
        raise ShapeError(f"{_where(dim)}{name} must be a whole number, got {value!r}; {hint}.")
    if value < minimum:
        raise ShapeError(f"{_where(dim)}{name}={value} is not allowed; {hint}.")
    return value


def _check_common(n: int, k: int, s: int, d: int, dim: str) -> None:
    _check_int("input size n", n, 1, "an input needs at least 1 pixel", dim)
    _check_int("kernel size k", k, 1, "use a kernel of at least 1 pixel", dim)
    _check_int("stride s", s, 1, "use a stride of at least 1 (s=1 moves the window one pixel at a time)", dim)
    _check_int("dilation d", d, 1, "use a dilation of at least 1 (d=1 is an ordinary, undilated kernel)", dim)


def same_padding(n: int, k: int, s: int = 1, d: int = 1) -> tuple[int, int]:
    """The ``(before, after)`` padding that makes a ``'same'`` convolution: output ``ceil(n / s)``.

    For stride 1 this is what PyTorch's ``padding='same'`` adds (``d*(k - 1)`` in total, the odd
    pixel after); for larger strides it is TensorFlow's rule, which PyTorch's ``nn.Conv2d``
    does not offer.

    >>> same_padding(224, 3)
    (1, 1)
    >>> same_padding(7, 4)  # even kernel: the odd pixel goes after
    (1, 2)
    >>> same_padding(224, 11, s=4)  # TensorFlow's 'same': ceil(224 / 4) = 56 outputs
    (3, 4)
    """
    _check_common(n, k, s, d, "")
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def _padding_pair(p: Padding, n: int, k: int, s: int, d: int, dim: str) -> tuple[int, int]:
    """Padding as (before, after) pixels, from an int, a pair, 'valid' or 'same'."""
    hint = "padding is a number of pixels >= 0, a (before, after) pair, 'valid' or 'same'"
    if isinstance(p, str):
        mode = p.strip().lower()
        if mode == "valid":
            return 0, 0
        if mode == "same":
            return same_padding(n, k, s, d)
        raise ShapeError(f"{_where(dim)}padding p={p!r} is not understood; {hint}.")
    if isinstance(p, Sequence):
        if len(p) != 2:
            raise ShapeError(f"{_where(dim)}padding p={p!r} has {len(p)} values; {hint}.")
        before = _check_int("padding before", p[0], 0, "padding cannot be negative (crop the input instead)", dim)
        after = _check_int("padding after", p[1], 0, "padding cannot be negative (crop the input instead)", dim)
        return before, after
    p = _check_int("padding p", p, 0, "padding cannot be negative (crop the input instead)", dim)
    return p, p


def _size_from_pair(n: int, k: int, s: int, before: int, after: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's arithmetic (``pooling_output_shape_pad_lr``), without checks."""
    span = n + before + after - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + before:
        out -= 1
    return out


def _output_size(
    n: int, k: int, s: int, p: Padding, d: int, ceil_mode: bool, pool: bool, dim: str = ""
) -> tuple[int, tuple[int, int]]:
    """The checked output size and the (before, after) padding it used."""
    _check_common(n, k, s, d, dim)
    kind = "pooling" if pool else "convolution"
    if pool and isinstance(p, str) and p.strip().lower() == "same":
        raise ShapeError(
            f"{_where(dim)}PyTorch's pooling layers take padding as a number of pixels, not 'same'; "
            f"pass p={k // 2} (the most they allow for k={k}) or p=0."
        )
    if pool and not isinstance(p, str) and isinstance(p, Sequence):
        raise ShapeError(
            f"{_where(dim)}PyTorch's pooling layers pad both sides equally; pass one number instead of p={tuple(p)!r}."
        )
    before, after = _padding_pair(p, n, k, s, d, dim)
    if pool and before > k // 2:
        raise ShapeError(
            f"{_where(dim)}pooling padding p={before} is more than half the kernel size k={k}; "
            f"PyTorch allows p <= k // 2 = {k // 2}: use p <= {k // 2} or a larger kernel."
        )
    out = _size_from_pair(n, k, s, before, after, d, ceil_mode)
    if out < 1:
        effective = d * (k - 1) + 1
        dilated = f" (effective size d*(k - 1) + 1 = {effective} with dilation d={d})" if d > 1 else ""
        raise ShapeError(
            f"{_where(dim)}the {kind} kernel k={k}{dilated} is larger than the padded input "
            f"n + padding = {n} + {before + after} = {n + before + after}, so no window fits; "
            f"use a smaller kernel or dilation, more padding, or a larger input."
        )
    return out, (before, after)


def conv_output_size(n: int, k: int, s: int = 1, p: Padding = 0, d: int = 1, ceil_mode: bool = False) -> int:
    """The output size along one dimension of a convolution (or, with ``ceil_mode``, a pooling window).

    ``p`` is the padding on each side, a ``(before, after)`` pair, ``'valid'`` or ``'same'``
    (see the module docstring for ``'same'`` with a stride). ``ceil_mode`` rounds up and
    applies PyTorch's rule for the last pooling window; pooling's own limit on padding is
    checked by :func:`pool_output_size`.

    >>> conv_output_size(224, k=11, s=4, p=2)  # AlexNet's first layer, as torchvision builds it
    55
    >>> conv_output_size(227, k=11, s=4)  # the paper's numbers work out with 227 pixels
    55
    >>> conv_output_size(32, k=3, p=(0, 2)), conv_output_size(32, k=3, p="same")
    (32, 32)
    >>> conv_output_size(32, k=3, s=2, p="same")  # TensorFlow's 'same': ceil(32 / 2)
    16
    >>> conv_output_size(4, k=5)
    Traceback (most recent call last):
    ...
    alexnet_lib.shapes.ShapeError: the convolution kernel k=5 is larger than the padded input ...
    """
    return _output_size(n, k, s, p, d, ceil_mode, pool=False)[0]


def pool_output_size(n: int, k: int, s: int | None = None, p: int = 0, d: int = 1, ceil_mode: bool = False) -> int:
    """The output size along one dimension of ``nn.MaxPool2d`` / ``nn.AvgPool2d`` (stride defaults to ``k``).

    PyTorch allows at most ``k // 2`` padding (it checks this for the undilated kernel) and
    pads both sides equally.

    >>> pool_output_size(55, k=3, s=2)  # AlexNet's overlapping pooling
    27
    >>> pool_output_size(28, k=2)  # LeNet-style pooling: stride = kernel
    14
    >>> pool_output_size(6, k=3, s=2), pool_output_size(6, k=3, s=2, ceil_mode=True)
    (2, 3)
    >>> pool_output_size(8, k=3, p=2)
    Traceback (most recent call last):
    ...
    alexnet_lib.shapes.ShapeError: pooling padding p=2 is more than half the kernel size k=3; ...
    """
    return _output_size(n, k, k if s is None else s, p, d, ceil_mode, pool=True)[0]


def _pair(name: str, value: object) -> tuple:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ShapeError(f"{name}={value!r} should be one value or a (height, width) pair.")
        return tuple(value)
    return value, value


def _padding_2d(p: object) -> tuple:
    """Padding for (height, width): one value for both, an (h, w) pair, or ((top, bottom), (left, right))."""
    if isinstance(p, str):
        return p, p
    return _pair("padding p", p)


def conv2d_output_shape(
    hw: IntOrPair, k: IntOrPair, s: IntOrPair = 1, p: object = 0, d: IntOrPair = 1
) -> tuple[int, int]:
    """The ``(height, width)`` of ``nn.Conv2d``'s output; every argument is one value or an ``(h, w)`` pair.

    ``p`` may also be ``'same'``, ``'valid'`` or ``((top, bottom), (left, right))``.

    >>> conv2d_output_shape((224, 224), k=11, s=4, p=2)
    (55, 55)
    >>> conv2d_output_shape((32, 64), k=(3, 5), p=((1, 1), (0, 2)))
    (32, 62)
    """
    (h, w), (kh, kw), (sh, sw) = _pair("input size hw", hw), _pair("kernel size k", k), _pair("stride s", s)
    (ph, pw), (dh, dw) = _padding_2d(p), _pair("dilation d", d)
    return (
        _output_size(h, kh, sh, ph, dh, False, pool=False, dim="height")[0],
        _output_size(w, kw, sw, pw, dw, False, pool=False, dim="width")[0],
    )


def pool2d_output_shape(
    hw: IntOrPair,
    k: IntOrPair,
    s: IntOrPair | None = None,
    p: IntOrPair = 0,
    d: IntOrPair = 1,
    ceil_mode: bool = False,
) -> tuple[int, int]:
    """The ``(height, width)`` of ``nn.MaxPool2d`` / ``nn.AvgPool2d``'s output (stride defaults to the kernel).

    >>> pool2d_output_shape((55, 55), k=3, s=2)
    (27, 27)
    >>> pool2d_output_shape((13, 10), k=3, s=2, p=(1, 0), ceil_mode=True)
    (7, 5)
    """
    (h, w), (kh, kw) = _pair("input size hw", hw), _pair("kernel size k", k)
    (sh, sw) = (kh, kw) if s is None else _pair("stride s", s)
    (ph, pw), (dh, dw) = _pair("padding p", p), _pair("dilation d", d)
    return (
        _output_size(h, kh, sh, ph, dh, ceil_mode, pool=True, dim="height")[0],
        _output_size(w, kw, sw, pw, dw, ceil_mode, pool=True, dim="width")[0],
    )


def _decimal(numerator: int, denominator: int) -> str:
    """``numerator / denominator`` rounded to at most 3 decimals (half to even), '...' where digits were cut.

    Whole-number arithmetic only, so it is exact for integers of any size (no float rounding).

    >>> _decimal(217, 4), _decimal(10, 3), _decimal(-1, 2), _decimal(1, 16)
    ('54.25', '3.333...', '-0.5', '0.062...')
    >>> _decimal(10**30 + 1, 2)
    '500000000000000000000000000000.5'
    """
    sign = "-" if (numerator < 0) != (denominator < 0) and numerator != 0 else ""
    numerator, denominator = abs(numerator), abs(denominator)
    thousandths, rest = divmod(numerator * 1000, denominator)
    if 2 * rest > denominator or (2 * rest == denominator and thousandths % 2):
        thousandths += 1
    whole, fraction = divmod(thousandths, 1000)
    text = f"{whole}.{fraction:03d}".rstrip("0").rstrip(".")
    return sign + text + ("..." if rest else "")


def explain_conv_output(
    n: int, k: int, s: int | None = 1, p: Padding = 0, d: int = 1, ceil_mode: bool = False, pool: bool = False
) -> str:
    """The output-size computation worked step by step, as a few lines of text for a notebook.

    ``pool=True`` explains a pooling layer (``s=None`` then means stride = kernel) and checks
    PyTorch's padding limit; the settings are checked as :func:`conv_output_size` checks them.

    >>> print(explain_conv_output(224, k=11, s=4, p=2))
    Convolution output size along one dimension (PyTorch's formula):
      out = floor((n + 2p - d*(k - 1) - 1) / s) + 1
      where n = 224 (input), k = 11 (kernel), s = 4 (stride), d = 1 (dilation)
      and p = 2 (padding on each side)
      out = floor((224 + 2*2 - 1*(11 - 1) - 1) / 4) + 1
          = floor(217 / 4) + 1
          = floor(54.25) + 1
          = 54 + 1
          = 55
    >>> print(explain_conv_output(5, k=2, s=2, p=1, ceil_mode=True, pool=True))
    Pooling output size along one dimension (PyTorch's formula):
      out = ceil((n + 2p - d*(k - 1) - 1) / s) + 1
      where n = 5 (input), k = 2 (kernel), s = 2 (stride), d = 1 (dilation)
      and p = 1 (padding on each side)
      out = ceil((5 + 2*1 - 1*(2 - 1) - 1) / 2) + 1
          = ceil(5 / 2) + 1
          = ceil(2.5) + 1
          = 3 + 1
          = 4
      the last window would start at (out - 1)*s = 6, not before n + p = 6;
      PyTorch keeps only windows that start in the input or its left padding:
          = 3
      (PyTorch allows pooling padding p <= k // 2 = 1; p = 1 is fine)
    """
    s = k if (s is None and pool) else s
    if s is None:
        raise ShapeError("stride s=None means 'stride = kernel' only for pooling; pass s or pool=True.")
    out, (before, after) = _output_size(n, k, s, p, d, ceil_mode, pool=pool)
    rnd = "ceil" if ceil_mode else "floor"
    span = n + before + after - d * (k - 1) - 1
    rounded = -(-span // s) if ceil_mode else span // s
    lines = [
        f"{'Pooling' if pool else 'Convolution'} output size along one dimension (PyTorch's formula):",
        *_formula_lines(p, n, k, s, d, before, after, rnd),
        *_worked_lines(n, k, s, d, before, after, rnd, span, rounded),
    ]
    if ceil_mode:
        lines += _last_window_lines(n, k, s, d, before, after, rounded, out)
    if pool:
        lines.append(f"  (PyTorch allows pooling padding p <= k // 2 = {k // 2}; p = {before} is fine)")
    return "\n".join(lines)


def _formula_lines(p: Padding, n: int, k: int, s: int, d: int, before: int, after: int, rnd: str) -> list[str]:
    """The formula, what a padding given by name means, and the value of each letter."""
    symmetric = before == after
    padding = "2p" if symmetric else "p_before + p_after"
    return [
        f"  out = {rnd}((n + {padding} - d*(k - 1) - 1) / s) + 1",
        *_padding_mode_lines(p, n, s, before, after),
        f"  where n = {n} (input), k = {k} (kernel), s = {s} (stride), d = {d} (dilation)",
        f"  and p = {before} (padding on each side)" if symmetric
        else f"  and p_before = {before}, p_after = {after} (padding)",
    ]


def _padding_mode_lines(p: Padding, n: int, s: int, before: int, after: int) -> list[str]:
    """What ``'same'`` or ``'valid'`` padding comes to (nothing for padding given in pixels)."""
    if not isinstance(p, str):
        return []
    if p.strip().lower() != "same":
        return ["  padding 'valid' means no padding: p = 0"]
    rule = "as PyTorch's padding='same'" if s == 1 else "TensorFlow's rule; nn.Conv2d has none for s > 1"
    return [
        f"  padding 'same': ceil(n / s) = {-(-n // s)} outputs need {before + after} pixels of padding",
        f"  ({before} before, {after} after: {rule})",
    ]


def _worked_lines(
    n: int, k: int, s: int, d: int, before: int, after: int, rnd: str, span: int, rounded: int
) -> list[str]:
    """The formula with the numbers put in, worked down to the output size."""
    pad_text = f"2*{before}" if before == after else f"{before} + {after}"
    lines = [
        f"  out = {rnd}(({n} + {pad_text} - {d}*({k} - 1) - 1) / {s}) + 1",
        f"      = {rnd}({span} / {s}) + 1",
    ]
    if span % s:
        lines.append(f"      = {rnd}({_decimal(span, s)}) + 1")
    lines.append(f"      = {rounded} + 1")
    lines.append(f"      = {rounded + 1}")
    return lines


def _last_window_lines(n: int, k: int, s: int, d: int, before: int, after: int, rounded: int, out: int) -> list[str]:
    """With ``ceil_mode``: whether PyTorch keeps the last window, and whether it hangs over the padded input."""
    start = rounded * s
    if rounded + 1 != out:
        lines = [
            f"  the last window would start at (out - 1)*s = {start}, not before n + p = {n + before};",
            "  PyTorch keeps only windows that start in the input or its left padding:",
            f"      = {out}",
        ]
    else:
        lines = [f"  (the last window starts at (out - 1)*s = {start} < n + p = {n + before}: PyTorch keeps it)"]
    if (out - 1) * s + d * (k - 1) + 1 > n + before + after:
        lines.append("  (it reaches past the padded input, which PyTorch allows with ceil_mode)")
    return lines


def next_receptive_field(rf: int, jump: int, k: int, s: int = 1, d: int = 1) -> tuple[int, int]:
    """The receptive field size and jump after a layer with kernel ``k``, stride ``s`` and dilation ``d``.

    ``rf`` is how many input pixels one output value sees (along one dimension), ``jump`` how
    many input pixels apart two neighbouring values are (the product of the strides so far):
    ``rf_out = rf + d*(k - 1)*jump`` and ``jump_out = jump*s``. Padding does not change them.

    >>> rf, jump = next_receptive_field(1, 1, k=11, s=4)  # AlexNet conv1
    >>> rf, jump
    (11, 4)
    >>> next_receptive_field(rf, jump, k=3, s=2)  # then max-pool 3, stride 2
    (19, 8)
    """
    _check_common(1, k, s, d, "")
    _check_int("receptive field rf", rf, 1, "a receptive field is at least 1 pixel")
    _check_int("jump", jump, 1, "a jump is at least 1 pixel")
    return rf + d * (k - 1) * jump, jump * s
