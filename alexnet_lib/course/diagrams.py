"""Pictures that explain: a kernel sliding over a padded input, drawn with matplotlib.

The drawing is computed from the same arithmetic as :mod:`alexnet_lib.shapes`, so the picture
and the formula can never disagree. :func:`draw_two_gpu_network` draws AlexNet 2012's two GPUs
from the grouped model itself (:func:`two_gpu_connections`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from ..shapes import ShapeError, conv_output_size, pool_output_size

if TYPE_CHECKING:
    from torch import nn

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


def two_gpu_connections(model: nn.Module | None = None) -> pd.DataFrame:
    """Which layers of the 2012 network read both GPUs' maps, read from a grouped ``alexnet_2012``.

    One row per convolution or fully connected layer: ``layer``, ``per_gpu`` (output shape of
    one GPU's half, ``C×H×W`` or units) and ``reads`` (``'own GPU'`` for a convolution in
    2 groups, ``'both GPUs'`` otherwise; conv1 reads the image, which both GPUs hold). The
    model is built on the meta device when none is given, so this takes no memory. Every layer
    is halved but the last: the paper's Figure 2 draws fc8 as one layer of 1,000 units that reads
    both GPUs' fc7, so its row gives the whole layer, marked ``(one layer)``.

    >>> two_gpu_connections()[["layer", "per_gpu", "reads"]].head(3).to_string(index=False)
    'layer   per_gpu     reads\\nconv1  48×55×55     image\\nconv2 128×27×27   own GPU\\nconv3 192×13×13 both GPUs'
    """
    # deferred: only the two-GPU diagrams need torch, the models and the tables; the sliding-window
    # drawings (notebook 01, the widgets) import this module without them, about 3 seconds sooner
    import torch
    from torch import nn

    from ..models import get
    from .tables import layer_table

    if model is None:
        with torch.device("meta"):
            model = get("alexnet_2012")
    table = layer_table(model, model.input_size).set_index("name")
    rows = []
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    for name, layer in model.named_modules():
        if not isinstance(layer, (nn.Conv2d, nn.Linear)):
            continue
        shape = table.loc[name, "output_shape"]
        half = (shape[0] // 2, *shape[1:])
        if layer is last:  # fc8: one layer in the paper's Figure 2, not two halves
            rows.append({"layer": name.rsplit(".", 1)[-1], "per_gpu": f"{shape[0]} (one layer)", "reads": "both GPUs"})
            continue
        if isinstance(layer, nn.Conv2d) and layer.in_channels == model.input_size[0]:
            reads = "image"
        elif isinstance(layer, nn.Conv2d) and layer.groups == 2:
            reads = "own GPU"
        else:
            reads = "both GPUs"
        rows.append({"layer": name.rsplit(".", 1)[-1], "per_gpu": "×".join(map(str, half)), "reads": reads})
    return pd.DataFrame(rows)


def draw_two_gpu_network(model: nn.Module | None = None) -> Figure:
    """The two-GPU AlexNet of 2012 as two rows of boxes, one per GPU, computed by :func:`two_gpu_connections`.

    Each box is one GPU's half of a layer with its output shape; a straight arrow stays on its
    GPU, a pair of crossing (red) arrows marks a layer that reads both GPUs' maps.

    >>> fig = draw_two_gpu_network()
    >>> fig.axes[0].get_title()
    'AlexNet 2012 on two GPUs: red arrows cross between the GPUs'
    >>> plt.close(fig)
    """
    connections = two_gpu_connections(model)
    columns = [("image", "3×224×224", "")] + list(connections.itertuples(index=False, name=None))
    fig, ax = plt.subplots(figsize=(11, 3.4))
    width, height, gap = 1.0, 0.55, 1.3
    rows_y = {0: 1.6, 1: 0.4}
    last = len(columns) - 1  # fc8: one box between the GPUs, as in the paper's Figure 2
    for x, (layer, per_gpu, _) in enumerate(columns):
        for gpu, y in rows_y.items():
            if layer == "image" and gpu == 1 or x == last and gpu == 1:
                continue
            cy = 1.0 if layer == "image" or x == last else y
            ax.add_patch(Rectangle((x * gap - width / 2, cy - height / 2), width, height,
                                   facecolor="0.92" if layer in ("image", columns[last][0]) else ("tab:blue" if gpu == 0 else "tab:orange"),
                                   alpha=1 if layer in ("image", columns[last][0]) else 0.25, edgecolor="0.3"))
            ax.text(x * gap, cy + 0.08, layer, ha="center", va="center", fontsize=9, fontweight="bold")
            ax.text(x * gap, cy - 0.12, per_gpu.replace(" (one layer)", ""), ha="center", va="center", fontsize=7.5)
    for x, (layer, _, reads) in enumerate(columns[1:], start=1):
        x0, x1 = (x - 1) * gap + width / 2, x * gap - width / 2
        for gpu, y in rows_y.items():
            y0, y = (1.0 if x == 1 else y), (1.0 if x == last else y)
            ax.add_artist(FancyArrowPatch((x0, y0), (x1, y), arrowstyle="-|>", mutation_scale=10, color="0.3"))
            if reads == "both GPUs" and x != last:
                other = rows_y[1 - gpu]
                ax.add_artist(FancyArrowPatch((x0, other), (x1, y), arrowstyle="-|>", mutation_scale=10, color="tab:red"))
    for gpu, y in rows_y.items():
        ax.text(0.55 * gap, y + 0.42, f"GPU {gpu}", ha="left", va="center", fontsize=10, color="tab:blue" if gpu == 0 else "tab:orange")
    ax.set_xlim(-0.6, (len(columns) - 1) * gap + 0.6)
    ax.set_ylim(0.0, 2.1)
    ax.axis("off")
    ax.set_title("AlexNet 2012 on two GPUs: red arrows cross between the GPUs")
    fig.text(0.5, 0.02, "each box: one GPU's half of the layer's output (maps × height × width, or units); "
             f"the image goes to both GPUs; {columns[last][0]} is one layer that reads both GPUs' {columns[last - 1][0]}, "
             "as the paper's Figure 2 draws it", ha="center", fontsize=8)
    return fig
