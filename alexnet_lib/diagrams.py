"""Pictures that explain: a kernel sliding over a padded input, drawn with matplotlib.

The drawing is computed from the same arithmetic as :mod:`alexnet_lib.shapes`, so the picture
and the formula can never disagree.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .shapes import ShapeError, conv_output_size, pool_output_size

MAX_DRAWN = 20  # larger padded inputs are computed but not drawn: the cells would be too small to read

_WINDOW_COLOURS = ("tab:blue", "tab:orange", "tab:green")


def window_starts(n: int, k: int, s: int = 1, p: int = 0, d: int = 1, pool: bool = False, ceil_mode: bool = False) -> list[int]:
    """Where each window starts along one dimension, counted in the padded input (0 = first padding pixel).

    >>> window_starts(7, k=3, s=2, p=1)
    [0, 2, 4, 6]
    >>> window_starts(5, k=2, s=2, pool=True, ceil_mode=True)  # the last window hangs over the edge
    [0, 2, 4]
    """
    out = pool_output_size(n, k, s, p, d, ceil_mode) if pool else conv_output_size(n, k, s, p, d, ceil_mode)
    return [i * s for i in range(out)]


def draw_sliding_window(
    n: int, k: int, s: int = 1, p: int = 0, d: int = 1, pool: bool = False, ceil_mode: bool = False
) -> Figure:
    """Draw an ``n``×``n`` input with ``p`` pixels of padding, the first windows of a ``k``×``k``
    kernel (stride ``s``, dilation ``d``) and the output grid they produce.

    The first three windows of the top row and the output cells they write share a colour.
    Raises :class:`~alexnet_lib.shapes.ShapeError` for settings PyTorch rejects, and for inputs
    too large to draw legibly (more than ``MAX_DRAWN`` padded pixels a side).

    >>> fig = draw_sliding_window(5, k=3, s=2, p=1)
    >>> [ax.get_title() for ax in fig.axes]
    ['input 5×5 + padding 1 = 7×7', 'output 3×3']
    >>> plt.close(fig)
    """
    starts = window_starts(n, k, s, p, d, pool, ceil_mode)
    out = len(starts)
    padded = n + 2 * p
    span = d * (k - 1) + 1
    drawn = max(padded, starts[-1] + span)  # ceil_mode windows may hang over the edge
    if drawn > MAX_DRAWN:
        raise ShapeError(
            f"a {drawn}×{drawn} padded input is too large to draw legibly (at most {MAX_DRAWN}); "
            f"the formula still works: try a smaller n to see the picture."
        )
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(8, 4), gridspec_kw={"width_ratios": [max(drawn, 1), max(out, 1) + 1]}
    )
    for row in range(drawn):
        for col in range(drawn):
            inside = p <= row < p + n and p <= col < p + n
            in_padding = row < padded and col < padded and not inside
            face = "white" if inside else ("0.85" if in_padding else "none")
            edge = "0.6" if (inside or in_padding) else "0.85"
            left.add_patch(Rectangle((col, row), 1, 1, facecolor=face, edgecolor=edge, linestyle="-" if face != "none" else ":"))
    for index, (start, colour) in enumerate(zip(starts, _WINDOW_COLOURS)):
        for tap_row in range(k):
            for tap_col in range(k):
                x, y = start + tap_col * d, tap_row * d
                left.add_patch(Rectangle((x + 0.1, y + 0.1), 0.8, 0.8, facecolor=colour, alpha=0.35, edgecolor=colour))
        left.add_patch(Rectangle((start, 0), span, span, fill=False, edgecolor=colour, linewidth=2.5 - 0.5 * index))
    for row in range(out):
        for col in range(out):
            colour = _WINDOW_COLOURS[col] if row == 0 and col < len(_WINDOW_COLOURS) else "white"
            right.add_patch(Rectangle((col, row), 1, 1, facecolor=colour, alpha=0.6 if colour != "white" else 1, edgecolor="0.4"))
    title = f"input {n}×{n} + padding {p} = {padded}×{padded}" if p else f"input {n}×{n}"
    left.set_title(title)
    right.set_title(f"output {out}×{out}")
    for ax, size in ((left, drawn), (right, max(out, 1))):
        ax.set_xlim(-0.2, size + 0.2)
        ax.set_ylim(size + 0.2, -0.2)
        ax.set_aspect("equal")
        ax.axis("off")
    kind = "pooling window" if pool else "kernel"
    fig.suptitle(f"{kind} {k}×{k}, stride {s}" + (f", dilation {d}" if d > 1 else "") + "; one cell = one pixel")
    fig.tight_layout()
    return fig
