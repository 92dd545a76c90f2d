"""Layer tables: every layer's output shape, parameters, MACs, activation memory and receptive field.

:func:`layer_table` runs one real forward pass and records each layer as it runs (forward
hooks), so the table shows what the model does, not what its code seems to say. The numbers:

``weights``, ``biases``, ``params``
    The layer's parameters, exact: ``params = weights + biases`` (parameters whose name ends
    in ``bias`` are biases). A parameter shared by several layers counts once, at the first.
``macs``
    Multiply-accumulates for *one* example, as ``torch.utils.flop_counter.FlopCounterMode``
    counts them (it counts 2 FLOPs per MAC): a convolution makes ``C_in/groups * k_h * k_w``
    of them per output value, a linear layer ``in_features`` per output value; pooling,
    activations, normalisation and bias additions count 0. For any other layer (a custom one,
    attention) the MACs are what FlopCounterMode measures while the layer runs (the table's
    ``attrs["measured_macs"]`` names those rows). Operations outside every layer (``x @ w`` in
    a ``forward``) appear in a row ``(other ops)``: FlopCounterMode's total minus the rows' sum.
``activation_bytes``
    The size of the layer's output for ``batch_size`` examples in ``dtype``.
``rf``, ``jump``
    Receptive field: how many input pixels one output value sees, and how many input pixels
    apart two neighbouring output values are (the product of the strides so far); an ``(h, w)``
    pair where height and width differ, ``None`` where the output has no spatial layout (after
    ``Flatten`` or ``Linear``). See :func:`alexnet_lib.shapes.next_receptive_field`.

Receptive fields follow each tensor through the operations that make it. Layers without a
kernel that keep the spatial size (ReLU, BatchNorm, LRN, Dropout) and padding layers pass it
on unchanged. A custom layer with a ``kernel_size`` attribute counts as a window of that size
and of its ``stride`` attribute, or, without one, of the smallest stride that gives the
output size it produced. A tensor made outside any layer (a residual sum, a concatenation,
a product with a 1x1 attention map) gets the union of its inputs' fields, which for centred
fields is the largest of them. This is exact for chains, for ResNet's blocks and for the
two-tower AlexNet, whose towers are centred alike.

:mod:`alexnet_lib.course.tracking` records the run; this module turns it into rows and their text.
:mod:`alexnet_lib.course.memory` counts what a training step keeps on top (gradients, optimizer state).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import nn

from ..config import is_whole_number, shape_text
from .tracking import LayerCall, ReceptiveField, track

__all__ = ["layer_table", "format_layer_table"]

COLUMNS = ["name", "type", "output_shape", "weights", "biases", "params", "macs", "activation_bytes", "rf", "jump"]
_NUMBERS = ("weights", "biases", "params", "macs", "activation_bytes")


# --- checks and text shared with alexnet_lib.course.memory ----------------------------------------------


def checked_input_size(input_size: Sequence[int], batch_size: int) -> tuple[int, ...]:
    """``input_size`` as a tuple, once it and ``batch_size`` are checked (a ``ValueError`` says what is wrong).

    >>> checked_input_size([1, 28, 28], batch_size=64)
    (1, 28, 28)
    """
    size = tuple(input_size)
    if not size or not all(is_whole_number(v) for v in size):
        raise ValueError(
            f"input_size={input_size!r} should be whole numbers >= 1 without the batch dimension, "
            f"such as (3, 224, 224) for a colour image or (1, 28, 28) for Fashion-MNIST."
        )
    if not is_whole_number(batch_size):
        raise ValueError(f"batch_size={batch_size!r} should be a whole number of examples >= 1.")
    return size


def model_device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    """The device and dtype of the model's first floating-point parameter (else the CPU and the default dtype).

    >>> model_device_dtype(nn.Linear(2, 2).double())
    (device(type='cpu'), torch.float64)
    """
    for p in model.parameters():
        if p.is_floating_point():
            return p.device, p.dtype
    return torch.device("cpu"), torch.get_default_dtype()


def dtype_name(dtype: torch.dtype) -> str:
    """A dtype's name as tables show it, without ``torch.``.

    >>> dtype_name(torch.float32), dtype_name(torch.int64)
    ('float32', 'int64')
    """
    return str(dtype).removeprefix("torch.")


def table_attrs(
    model: nn.Module, input_size: tuple[int, ...], batch_size: int, dtype: torch.dtype
) -> dict[str, object]:
    """What a table records in its ``attrs`` about the run it counts; its title is written from them.

    >>> table_attrs(nn.Linear(4, 2), (4,), 32, torch.float16)
    {'model': 'Linear', 'input_size': (4,), 'batch_size': 32, 'dtype': 'float16'}
    """
    return {
        "model": type(model).__name__, "input_size": input_size, "batch_size": batch_size, "dtype": dtype_name(dtype)
    }


def total_position(names: pd.Series) -> int | None:
    """The position of the first ``total`` in a table's name column (None: there is none).

    >>> total_position(pd.Series(["conv", "relu", "total"])), total_position(pd.Series(["conv"]))
    (2, None)
    """
    is_total = names.eq("total").to_numpy()
    return int(is_total.nonzero()[0][0]) if is_total.any() else None


def aligned_lines(
    header: list[str], rows: list[list[str]], right: list[bool], total_at: int | None, gap: int = 2
) -> list[str]:
    """Aligned columns under a header, a rule above the total row at ``total_at``.

    >>> print("\\n".join(aligned_lines(["item", "bytes"], [["a", "1,024"], ["total", "1,024"]], [False, True], 1)))
    item   bytes
    ------------
    a      1,024
    ------------
    total  1,024
    """
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return (" " * gap).join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)).rstrip()

    rule = "-" * len(line(["-" * w for w in widths]))
    out = [line(header), rule]
    for i, row in enumerate(rows):
        if i == total_at:
            out.append(rule)
        out.append(line(row))
    return out


# --- the table -----------------------------------------------------------------------------------


def _collapse(values: tuple[int, ...] | None) -> int | tuple[int, ...] | None:
    """One number where every dimension agrees, else the tuple."""
    if values is None:
        return None
    return values[0] if len(set(values)) == 1 else values


def _parameter_counts(model: nn.Module, calls: list[LayerCall]) -> dict[int | str, tuple[int, int]]:
    """(weights, biases) per call that owns parameters: ``id(call)``, or ``'(not run)'``.

    A parameter belongs to the first call of its module. A module that never ran gives its
    parameters to the nearest enclosing layer that ran without running other modules (as
    ``nn.MultiheadAttention`` uses its ``out_proj`` weights itself), or else to ``'(not run)'``
    (auxiliary classifiers in eval mode).
    """
    first_call: dict[nn.Module, LayerCall] = {}
    for call in calls:
        first_call.setdefault(call.module, call)
    modules = dict(model.named_modules())
    counts: dict[int | str, list[int]] = {}
    for name, p in model.named_parameters():
        owner = path = name.rpartition(".")[0]
        key: int | str = "(not run)"
        while True:  # from the owner upwards to the first module that ran
            call = first_call.get(modules[path])
            if call is not None:
                if path == owner or not call.nested:
                    key = id(call)
                break
            if not path:
                break
            path = path.rpartition(".")[0]
        counts.setdefault(key, [0, 0])[1 if name.endswith("bias") else 0] += p.numel()
    return {key: (w, b) for key, (w, b) in counts.items()}


def _example(model: nn.Module, size: tuple[int, ...], device: str | torch.device | None) -> torch.Tensor:
    """One example of zeros of ``size`` in the model's dtype, on ``device`` (None: the model's device)."""
    model_device, model_dtype = model_device_dtype(model)
    device = model_device if device is None else torch.device(device)
    same_device = device.type == model_device.type and device.index in (None, model_device.index)
    if not same_device and any(True for _ in model.parameters()):
        raise ValueError(
            f"the model's parameters are on {model_device}, not on device={device!s}; "
            f"move it with model.to({str(device)!r}) or leave device out."
        )
    return torch.zeros((1, *size), dtype=model_dtype, device=device)


def _row(
    name: str,
    kind: str,
    counts: tuple[int, int] = (0, 0),
    macs: int = 0,
    activation_bytes: int = 0,
    output_shape: object = None,
    receptive: ReceptiveField | None = None,
) -> dict[str, object]:
    """One row of the table; ``counts`` is (weights, biases)."""
    weights, biases = counts
    return {
        "name": name,
        "type": kind,
        "output_shape": output_shape,
        "weights": weights,
        "biases": biases,
        "params": weights + biases,
        "macs": macs,
        "activation_bytes": activation_bytes,
        "rf": _collapse(receptive.rf) if receptive else None,
        "jump": _collapse(receptive.jump) if receptive else None,
    }


def _layer_rows(
    calls: list[LayerCall], counts: dict[int | str, tuple[int, int]], batch_size: int, itemsize: int
) -> tuple[list[dict[str, object]], list[str]]:
    """A row per layer call (containers that own no parameters have none), and the rows whose MACs were measured."""
    repeat: dict[str, int] = {}
    rows, measured = [], []
    for call in calls:
        if call.nested and id(call) not in counts:  # a container: its layers have the rows
            continue
        repeat[call.name] = repeat.get(call.name, 0) + 1
        name = call.name or "(model)"
        if repeat[call.name] > 1:
            name += f" ({repeat[call.name]})"
        if call.measured:
            measured.append(name)
        activation_bytes = batch_size * (call.float_numel * itemsize + call.other_bytes)
        rows.append(_row(name, type(call.module).__name__, counts.get(id(call), (0, 0)), call.macs, activation_bytes,
                         call.output_shape, call.field))
    return rows, measured


def _closing_rows(
    rows: list[dict[str, object]], counts: dict[int | str, tuple[int, int]], total_macs: int
) -> list[dict[str, object]]:
    """The rows after the layers: parameters of modules that never ran, MACs outside every layer, the total."""
    closing = [_row("(not run)", "-", counts["(not run)"])] if "(not run)" in counts else []
    other = total_macs - sum(r["macs"] for r in rows)
    if other:
        closing.append(_row("(other ops)", "-", macs=other))
    sums = {c: sum(r[c] for r in rows + closing) for c in _NUMBERS}
    return closing + [_row("total", "", (sums["weights"], sums["biases"]), sums["macs"], sums["activation_bytes"])]


def layer_table(
    model: nn.Module,
    input_size: Sequence[int] = (3, 224, 224),
    batch_size: int = 1,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = None,
) -> pd.DataFrame:
    """One row per layer that runs, in the order it runs, then a ``total`` row.

    ``input_size`` is one example's size without the batch dimension, ``(C, H, W)``. The model
    runs once on an example of zeros, in eval mode and without gradients (its training mode
    is restored after); ``activation_bytes`` is for ``batch_size`` examples in ``dtype``,
    ``macs`` for one example. The columns are explained in the module docstring. Layers
    inside containers have dotted names (``features.0``); a layer that runs twice has two rows
    (``relu``, ``relu (2)``) and its parameters count in the first.

    >>> net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2),
    ...                     nn.Flatten(), nn.Linear(6 * 14 * 14, 10))
    >>> layer_table(net, (1, 28, 28))[["name", "type", "output_shape", "params", "macs", "rf", "jump"]]
        name       type output_shape  params    macs    rf  jump
    0      0     Conv2d  (6, 28, 28)     156  117600     5     1
    1      1    Sigmoid  (6, 28, 28)       0       0     5     1
    2      2  AvgPool2d  (6, 14, 14)       0       0     6     2
    3      3    Flatten      (1176,)       0       0  None  None
    4      4     Linear        (10,)   11770   11760  None  None
    5  total                  None   11926  129360  None  None
    """
    size = checked_input_size(input_size, batch_size)
    tracker, total_macs = track(model, _example(model, size, device))
    counts = _parameter_counts(model, tracker.calls)
    rows, measured = _layer_rows(tracker.calls, counts, batch_size, dtype.itemsize)
    rows += _closing_rows(rows, counts, total_macs)
    table = pd.DataFrame(
        {c: pd.Series([r[c] for r in rows], dtype="int64" if c in _NUMBERS else object) for c in COLUMNS}
    )
    table["name"], table["type"] = table["name"].astype(str), table["type"].astype(str)
    table.attrs.update(table_attrs(model, size, batch_size, dtype), measured_macs=measured)
    return table


# --- the table as text ---------------------------------------------------------------------------

_FIT_STEPS = (  # what format_layer_table gives up, one after the other, until the text fits its width
    ("drop", "memory"), ("gap", 1), ("drop", "jump"), ("type", 14), ("name", 20), ("name", 14),
    ("drop", "rf"), ("name", 10), ("type", 8),
)
_LEFT_OUT = {"memory": "output memory", "jump": "jump", "rf": "receptive field"}


@dataclass
class _Layout:
    """What the text has given up so far to fit: columns dropped, widths of names and types, the gap."""

    drop: list[str] = field(default_factory=list)
    name: int | None = None
    type: int | None = None
    gap: int = 2

    def give_up(self, what: str, value: object) -> None:
        """Take one step of ``_FIT_STEPS``."""
        if what == "drop":
            self.drop.append(value)
        else:
            setattr(self, what, value)


def _bytes_text(n: int) -> str:
    """A byte count in B, KiB, MiB or GiB with one decimal: 774,400 -> '756.3 KiB'."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,} B"


def _field_text(value: object) -> str:
    if value is None:
        return "-"
    return shape_text(value) if isinstance(value, tuple) else str(value)


_TYPE_ABBREVIATIONS = (("LocalResponseNorm", "LRN"), ("Adaptive", "Adapt"), ("Transpose", "T"))


def _shorten(text: str, width: int, abbreviate: bool = False) -> str:
    """``text`` in at most ``width`` characters: type names abbreviated, then the middle cut out."""
    if abbreviate:
        for long, short in _TYPE_ABBREVIATIONS:
            text = text.replace(long, short) if len(text) > width else text
    if len(text) <= width:
        return text
    head = (width - 2) // 2
    return text[:head] + ".." + text[len(text) - (width - 2 - head) :]


def _text_columns(table: pd.DataFrame) -> dict[str, tuple[str, list[str], bool]]:
    """Each column of the text by key: its header, its cells, and whether it is right-aligned."""
    is_total = table["name"].eq("total").to_numpy()
    return {
        "name": ("name", [str(v) for v in table["name"]], False),
        "type": ("type", [str(v) for v in table["type"]], False),
        "output": ("output", [shape_text(v) for v in table["output_shape"]], True),
        "params": ("params", [f"{v:,}" for v in table["params"]], True),
        "macs": ("MACs", [f"{v:,}" for v in table["macs"]], True),
        "memory": ("memory", [_bytes_text(int(v)) for v in table["activation_bytes"]], True),
        "rf": ("rf", ["" if t else _field_text(v) for v, t in zip(table["rf"], is_total)], True),
        "jump": ("jump", ["" if t else _field_text(v) for v, t in zip(table["jump"], is_total)], True),
    }


def _laid_out(
    columns: dict[str, tuple[str, list[str], bool]], layout: _Layout, total_at: int | None
) -> tuple[list[str], set[str]]:
    """The lines of the text under ``layout``, and which of name and type had to be shortened."""
    keep = [k for k in columns if k not in layout.drop]
    cut, cells = set(), []
    for k in keep:
        column = columns[k][1]
        width = getattr(layout, k) if k in ("name", "type") else None
        if width:
            short = [_shorten(cell, width, abbreviate=k == "type") for cell in column]
            cut |= {k} if short != column else set()
            column = short
        cells.append(column)
    rows = [list(row) for row in zip(*cells)]
    header, right = [columns[k][0] for k in keep], [columns[k][2] for k in keep]
    return aligned_lines(header, rows, right, total_at, layout.gap), cut


def _title(attrs: dict, layout: _Layout, width: int) -> list[str]:
    """The line above the table: model, input size, and what the memory column counts (if it is there)."""
    if not {"model", "input_size", "batch_size", "dtype"} <= set(attrs):
        return []
    memory = "" if "memory" in layout.drop else f"; memory for batch {attrs['batch_size']:,}, {attrs['dtype']}"
    size = shape_text(attrs["input_size"])
    return textwrap.wrap(f"{attrs['model']} on {size}: MACs per example{memory}", width)


def _notes(layout: _Layout, cut: set[str], width: int) -> list[str]:
    """The note below the table on what was left out or shortened to fit ``width``."""
    if not (layout.drop or cut):
        return []
    parts = [f"left out: {', '.join(_LEFT_OUT[d] for d in layout.drop)}"] if layout.drop else []
    parts += [f"{' and '.join(sorted(cut))} names shortened"] if cut else []
    return textwrap.wrap(f"(to fit {width} characters, {'; '.join(parts)}; layer_table's DataFrame has it all)", width)


def format_layer_table(table: pd.DataFrame, width: int = 80) -> str:
    """A :func:`layer_table` as plain text no wider than ``width`` characters (for a terminal).

    Parameters and MACs are exact, with thousands separators; output memory is in KiB/MiB.
    Where the table would be too wide, the output-memory column goes first, then the
    columns move closer, then the jump column goes, then long type names and layer names are
    shortened (``..`` marks a cut); a note below says what was left out.

    >>> net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2),
    ...                     nn.Flatten(), nn.Linear(6 * 14 * 14, 10))
    >>> print(format_layer_table(layer_table(net, (1, 28, 28))))
    Sequential on 1×28×28: MACs per example; memory for batch 1, float32
    name   type        output  params     MACs    memory  rf  jump
    --------------------------------------------------------------
    0      Conv2d     6×28×28     156  117,600  18.4 KiB   5     1
    1      Sigmoid    6×28×28       0        0  18.4 KiB   5     1
    2      AvgPool2d  6×14×14       0        0   4.6 KiB   6     2
    3      Flatten       1176       0        0   4.6 KiB   -     -
    4      Linear          10  11,770   11,760      40 B   -     -
    --------------------------------------------------------------
    total                      11,926  129,360  46.0 KiB
    """
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"the table lacks the columns {missing}; pass what layer_table returns.")
    if width < 40:
        raise ValueError(f"width={width} is too narrow for a layer table; use width >= 40 (80 fits a terminal).")
    columns, total_at, layout = _text_columns(table), total_position(table["name"]), _Layout()
    lines, cut = _laid_out(columns, layout, total_at)
    for what, value in _FIT_STEPS:
        if max(map(len, lines)) <= width:
            break
        layout.give_up(what, value)
        lines, cut = _laid_out(columns, layout, total_at)
    return "\n".join(_title(table.attrs, layout, width) + lines + _notes(layout, cut, width))
