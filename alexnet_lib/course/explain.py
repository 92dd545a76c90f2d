"""The output-size computation of :mod:`alexnet_lib.shapes`, worked step by step as text.

Notebook 01, its calculator widget and ``python -m alexnet_lib conv-out`` print it. Pure Python,
like the arithmetic it explains: importing it loads no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..shapes import Padding, ShapeError, conv_output_size, pool_output_size, same_padding


def explain_conv_output(
    n: int, k: int, s: int | None = 1, p: Padding = 0, d: int = 1, ceil_mode: bool = False, pool: bool = False
) -> str:
    """The output-size computation worked step by step, as a few lines of text for a notebook.

    ``pool=True`` explains a pooling layer (``s=None`` then means stride = kernel); the settings
    are checked, with the same errors, as :func:`~alexnet_lib.shapes.conv_output_size` and
    :func:`~alexnet_lib.shapes.pool_output_size` check them.

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
    out = pool_output_size(n, k, s, p, d, ceil_mode) if pool else conv_output_size(n, k, s, p, d, ceil_mode)
    before, after = _padding_pair(p, n, k, s, d)
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


def _padding_pair(p: Padding, n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """The ``(before, after)`` pixels of a padding that ``shapes`` has already accepted."""
    if isinstance(p, str):
        return same_padding(n, k, s, d) if p.strip().lower() == "same" else (0, 0)
    return (p[0], p[1]) if isinstance(p, Sequence) else (p, p)


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
