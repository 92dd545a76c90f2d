"""Interactive notebook tools, built only from what ipywidgets 7.7 (Colab) and 8 share.

Each tool displays its widgets together with a static rendering of its starting state in the
same output: JupyterLab and Colab show the live widgets, while a viewer without a widget
frontend (GitHub, nbviewer, nbconvert, nbval) shows the picture and text instead.
"""

from __future__ import annotations

import base64
from typing import Any

import ipywidgets as w
import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import Image, display
from matplotlib.figure import Figure

from .activations import ACTIVATIONS, gradient_profile, values_and_derivatives
from .diagrams import draw_sliding_window
from .plots import png_bytes
from .explain import explain_conv_output
from ..shapes import ShapeError


def display_with_fallback(widget: w.Widget, text: str, png: bytes | None = None) -> None:
    """Display ``widget`` with ``text`` (and the ``png`` image) as the fallback for static viewers.

    The output carries three representations: the widget view, which a widget frontend
    renders, and ``image/png`` and ``text/plain``, which everything else shows.
    """
    bundle: dict[str, Any] = {
        "application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0, "model_id": widget.model_id},
        "text/plain": text,
    }
    if png is not None:
        bundle["image/png"] = base64.b64encode(png).decode("ascii")
    display(bundle, raw=True)


def conv_step(n: int, k: int, s: int, p: int, d: int = 1, pool: bool = False, ceil_mode: bool = False) -> tuple[str, Figure | None]:
    """The worked computation and the picture for one setting; a clear message instead for a bad one.

    >>> text, fig = conv_step(5, k=3, s=2, p=1)
    >>> print(text.splitlines()[-1].strip())
    = 3
    >>> text, fig = conv_step(3, k=5, s=1, p=0)
    >>> fig is None and text.startswith("Impossible setting:")
    True
    """
    try:
        text = explain_conv_output(n, k, s, p, d, ceil_mode=ceil_mode, pool=pool)
    except ShapeError as exc:
        return f"Impossible setting: {exc}", None
    try:
        fig = draw_sliding_window(n, k, s, p, d, pool=pool, ceil_mode=ceil_mode)
    except ShapeError as exc:
        return f"{text}\n({exc})", None
    return text, fig


def conv_calculator(n: int = 7, k: int = 3, s: int = 1, p: int = 0, d: int = 1, pool: bool = False) -> None:
    """Sliders for n, k, s, p, d and a pooling toggle; redraws the picture and the worked computation.

    Without a widget frontend the starting setting is shown as a picture and text.
    """
    # Fixed widths: in a row that is too narrow, flexbox would shrink a slider's track to nothing and cut
    # a checkbox's label; rows that wrap keep every control whole in JupyterLab, Colab and on the site.
    slider = {"style": {"description_width": "80px"}, "layout": w.Layout(width="320px")}
    box = {"indent": False, "layout": w.Layout(width="auto", margin="0 1.5em 0 0")}
    controls = {
        "n": w.IntSlider(value=n, min=1, max=16, description="input n", **slider),
        "k": w.IntSlider(value=k, min=1, max=7, description="kernel k", **slider),
        "s": w.IntSlider(value=s, min=1, max=4, description="stride s", **slider),
        "p": w.IntSlider(value=p, min=0, max=3, description="padding p", **slider),
        "d": w.IntSlider(value=d, min=1, max=3, description="dilation d", **slider),
        "pool": w.Checkbox(value=pool, description="pooling layer", **box),
        "ceil_mode": w.Checkbox(value=False, description="ceil_mode (pooling)", **box),
    }

    output = w.Output()

    def redraw(change: Any = None) -> tuple[str, bytes | None]:
        # The output widget's state is set directly (no `with output:` capture and no
        # clear_output messages), which works the same in JupyterLab, Colab and nbval.
        text, fig = conv_step(**{name: control.value for name, control in controls.items()})
        png = None
        output.outputs = ()
        output.append_stdout(text + "\n")
        if fig is not None:
            png = png_bytes(fig, tight=True)
            plt.close(fig)
            output.append_display_data(Image(data=png))
        return text, png

    for control in controls.values():
        control.observe(redraw, names="value")
    ui = w.VBox(
        [
            w.HBox([controls["n"], controls["k"], controls["s"]], layout=w.Layout(flex_flow="row wrap")),
            w.HBox([controls["p"], controls["d"]], layout=w.Layout(flex_flow="row wrap")),
            w.HBox([controls["pool"], controls["ceil_mode"]], layout=w.Layout(flex_flow="row wrap")),
            output,
        ]
    )
    display_with_fallback(ui, *redraw())


def _explore_activation(name: str, x: torch.Tensor, y: torch.Tensor, depth: int) -> tuple[str, bytes]:
    """Text and PNG for the activation explorer: the function, its slope and its gradient profile."""
    values, slopes = values_and_derivatives(name, torch.linspace(-6, 6, 601))
    profiles = pd.concat(
        {f"{name}, {init} init": gradient_profile([name], x, y, depth=depth, init=init)[name] for init in ("default", "he")},
        axis=1,
    )
    fig = Figure(figsize=(10, 3.4))
    left, right = fig.subplots(1, 2)
    grid = torch.linspace(-6, 6, 601)
    left.plot(grid, values, label="f(x)")
    left.plot(grid, slopes, label="f'(x)")
    left.set(title=f"{name} and its derivative", xlabel="input x", ylim=(-1.5, 3))
    left.grid(alpha=0.3)
    left.legend()
    for column in profiles.columns:
        right.plot(profiles.index, profiles[column], marker="o", label=column)
    right.set(yscale="log", title=f"gradient norm per layer, {depth}-layer MLP", xlabel="layer (1 = input side)")
    right.grid(alpha=0.3, which="both")
    right.legend()
    fig.tight_layout()
    ratios = profiles.iloc[0] / profiles.iloc[-1]
    text = "\n".join(
        [f"{name}: largest slope {slopes.max().item():.3g}, at x = {grid[slopes.argmax()].item():.2f}"]
        + [f"  {column}: first layer's gradient / last layer's = {ratio:.2g}" for column, ratio in ratios.items()]
    )
    return text, png_bytes(fig, tight=True)


def activation_explorer(x: torch.Tensor, y: torch.Tensor, name: str = "sigmoid", depth: int = 10) -> None:
    """Choose an activation; see it, its derivative, and the per-layer gradient norms of a deep MLP
    using it on the batch ``(x, y)``, with PyTorch's default and with He initialisation.

    Without a widget frontend the starting activation is shown as a picture and text.
    """
    choice = w.Dropdown(options=list(ACTIVATIONS), value=name, description="activation")
    output = w.Output()

    def redraw(change: Any = None) -> tuple[str, bytes]:
        text, png = _explore_activation(choice.value, x, y, depth)
        output.outputs = ()
        output.append_stdout(text + "\n")
        output.append_display_data(Image(data=png))
        return text, png

    choice.observe(redraw, names="value")
    display_with_fallback(w.VBox([choice, output]), *redraw())
