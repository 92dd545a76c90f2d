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
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from .basics import is_whole_number, shape_text
from .shapes import next_receptive_field

__all__ = ["layer_table", "format_layer_table", "training_memory", "format_training_memory"]

COLUMNS = ["name", "type", "output_shape", "weights", "biases", "params", "macs", "activation_bytes", "rf", "jump"]
OPTIMIZERS = {
    "sgd": (0, "plain SGD keeps no state"),
    "momentum": (1, "SGD with momentum keeps one velocity value per parameter"),
    "adam": (2, "Adam keeps two running averages per parameter (exp_avg, exp_avg_sq), one step count per tensor"),
    "adamw": (2, "AdamW keeps two running averages per parameter (exp_avg, exp_avg_sq), one step count per tensor"),
}
_NO_MACS = (  # layers FlopCounterMode counts nothing for: pooling, activations, normalisation, reshaping
    nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd, nn.modules.pooling._AdaptiveAvgPoolNd,
    nn.modules.pooling._AdaptiveMaxPoolNd, nn.modules.pooling._LPPoolNd, nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU,
    nn.GELU, nn.SiLU, nn.Hardswish, nn.Hardsigmoid, nn.Sigmoid, nn.Tanh, nn.Softmax, nn.LogSoftmax, nn.Identity,
    nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm, nn.modules.dropout._DropoutNd,
    nn.Flatten, nn.Unflatten,
)
_DENSE = (nn.Linear, nn.Bilinear, nn.Flatten, nn.Unflatten, nn.MultiheadAttention, nn.RNNBase, nn.Embedding)
_POOLS = (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd, nn.modules.pooling._LPPoolNd)
_PADDING = tuple(
    getattr(nn.modules.padding, name)
    for name in ("_ConstantPadNd", "_ReflectionPadNd", "_ReplicationPadNd", "_CircularPadNd")
    if hasattr(nn.modules.padding, name)
)
_ADAPTIVE = (
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
)


def _tensors(value: object) -> Iterator[torch.Tensor]:
    """The tensors in a layer's output or arguments, in order (tuples, lists and dicts searched)."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _tensors(item)


def _per_dim(value: object, dims: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims


def _collapse(values: tuple[int, ...] | None) -> int | tuple[int, ...] | None:
    """One number where every dimension agrees, else the tuple."""
    if values is None:
        return None
    return values[0] if len(set(values)) == 1 else values


@dataclass
class _Field:
    """Receptive field and jump of one tensor, per spatial dimension (None: unknown)."""

    rf: tuple[int, ...] | None
    jump: tuple[int, ...] | None


@dataclass
class _Call:
    """One run of one module, as the hooks saw it."""

    module: nn.Module
    name: str
    order: int = 0
    nested: bool = False  # another module ran inside this one
    output_shape: object = None
    numel: int = 0
    float_numel: int = 0
    other_bytes: int = 0
    macs: int | None = 0
    flops_before: int = 0
    measured: bool = False  # macs measured with FlopCounterMode, not computed with a formula
    field: _Field = field(default_factory=lambda: _Field(None, None))


class _Tracker(TorchFunctionMode):
    """Records each module call (forward hooks) and follows receptive fields through every tensor.

    As a ``TorchFunctionMode`` it sees the operations outside the layers too: a tensor such an
    operation makes gets the union of its inputs' fields (see :func:`_union`); a layer's
    forward hook then replaces the field of the layer's output by the layer's own rule.
    """

    def __init__(self, model: nn.Module, x: torch.Tensor, counter: object):
        super().__init__()
        self.counter = counter
        self.names = {m: name for name, m in model.named_modules()}
        self.stack: list[_Call] = []
        self.calls: list[_Call] = []
        self.fields: dict[int, tuple[torch.Tensor, _Field]] = {}  # the tensor is kept so that its id stays its own
        self.fields[id(x)] = (x, _Field((1,) * (x.dim() - 2), (1,) * (x.dim() - 2)))
        self.handles = []
        for module in self.names:
            self.handles.append(module.register_forward_pre_hook(self.pre_hook))
            self.handles.append(module.register_forward_hook(self.hook, with_kwargs=True))

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()

    def field_of(self, tensor: torch.Tensor) -> _Field | None:
        known = self.fields.get(id(tensor))
        return known[1] if known is not None and known[0] is tensor else None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        outputs = [t for t in _tensors(result) if t.dim() >= 3]
        if outputs:
            inputs = [(t, f) for t in _tensors((args, kwargs)) if (f := self.field_of(t)) is not None]
            for t in outputs:
                union = _union(t, inputs)
                if union is not None:
                    self.fields[id(t)] = (t, union)
                else:
                    self.fields.pop(id(t), None)
        return result

    def pre_hook(self, module: nn.Module, args: tuple) -> None:
        if self.stack:
            self.stack[-1].nested = True
        self.stack.append(_Call(module, self.names[module], flops_before=self.counter.get_total_flops()))

    def hook(self, module: nn.Module, args: tuple, kwargs: dict, output: object) -> None:
        call = self.stack.pop()
        call.order = len(self.calls)
        self.calls.append(call)
        outputs = list(_tensors(output))
        inputs = list(_tensors(args)) + list(_tensors(kwargs))
        shapes = [tuple(t.shape[1:]) for t in outputs]
        call.output_shape = (shapes[0] if len(shapes) == 1 else tuple(shapes)) if shapes else None
        for t in outputs:
            call.numel += t.numel()
            if t.is_floating_point():
                call.float_numel += t.numel()
            else:
                call.other_bytes += t.numel() * t.element_size()
        if not call.nested:
            call.macs = _macs(module, inputs, outputs)
            if call.macs is None:  # no formula: what FlopCounterMode counted while the layer ran
                call.macs, call.measured = (self.counter.get_total_flops() - call.flops_before) // 2, True
            first_in = inputs[0] if inputs else None
            before = self.field_of(first_in) if first_in is not None else None
            for t in outputs:
                self.fields[id(t)] = (t, _next_field(module, first_in, t, before))
        if outputs:
            call.field = self.field_of(outputs[0]) or _Field(None, None)


def _union(out: torch.Tensor, inputs: list[tuple[torch.Tensor, _Field]]) -> _Field | None:
    """The field of ``out``, made outside any layer from tensors with the fields ``inputs``.

    The inputs of ``out``'s spatial size, or broadcast to it (a 1x1 attention map), count:
    the field of a sum or a concatenation is the union of its inputs' fields, the largest
    of them for centred fields. The jump is that of the largest input of ``out``'s size.
    """
    size = tuple(out.shape[2:])
    same, broadcast = [], []
    for t, f in inputs:
        if f.rf is None or t.dim() != out.dim():
            continue
        if tuple(t.shape[2:]) == size:
            same.append(f)
        elif all(n == 1 for n in t.shape[2:]):
            broadcast.append(f)
    if not same:
        return None
    widest = max(same, key=lambda f: math.prod(f.rf))
    rf = tuple(max(f.rf[i] for f in same + broadcast) for i in range(len(size)))
    return _Field(rf, widest.jump)


def _macs(module: nn.Module, inputs: list[torch.Tensor], outputs: list[torch.Tensor]) -> int | None:
    """Multiply-accumulates of one call, as FlopCounterMode counts them (its FLOPs / 2); None: no formula."""
    if not outputs:
        return 0
    out = outputs[0]
    if isinstance(module, nn.modules.conv._ConvTransposeNd) and inputs:
        per_input = module.out_channels // module.groups * math.prod(module.kernel_size)
        return inputs[0].numel() * per_input
    if isinstance(module, nn.modules.conv._ConvNd):
        return out.numel() * module.in_channels // module.groups * math.prod(module.kernel_size)
    if isinstance(module, nn.Linear):
        return out.numel() * module.in_features
    if isinstance(module, _NO_MACS):
        return 0
    return None


def _next_field(module: nn.Module, x: torch.Tensor | None, out: torch.Tensor, before: _Field | None) -> _Field:
    """The receptive field of ``out``, made by ``module`` from ``x`` whose field is ``before``."""
    unknown = _Field(None, None)
    dims = out.dim() - 2
    if x is None or before is None or before.rf is None or dims < 1 or isinstance(module, _DENSE):
        return unknown
    if x.dim() != out.dim() or len(before.rf) != dims:
        return unknown
    rf, jump = before.rf, before.jump
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        return unknown  # its outputs are closer together than its inputs: no whole-number jump
    if isinstance(module, (nn.modules.conv._ConvNd, *_POOLS)):
        k = _per_dim(module.kernel_size, dims)
        s = _per_dim(module.stride if module.stride is not None else module.kernel_size, dims)
        d = _per_dim(getattr(module, "dilation", 1), dims)
        if jump is None:
            return unknown
        pairs = [next_receptive_field(r, j, k_, s_, d_) for r, j, k_, s_, d_ in zip(rf, jump, k, s, d)]
        return _Field(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))
    if isinstance(module, _PADDING):
        return before  # padding moves nothing: every output value still sees the same input pixels
    if hasattr(module, "kernel_size") and jump is not None:  # a custom window layer
        k = _per_dim(module.kernel_size, dims)
        d = _per_dim(getattr(module, "dilation", 1), dims)
        stride = getattr(module, "stride", None)
        if stride is not None:
            s = _per_dim(stride, dims)
        else:
            s = tuple(_stride_for(n, o, k_, d_) for n, o, k_, d_ in zip(x.shape[2:], out.shape[2:], k, d))
        if not all(isinstance(v, int) and v >= 1 for v in (*k, *s, *d)):
            return unknown
        pairs = [next_receptive_field(r, j, k_, s_, d_) for r, j, k_, s_, d_ in zip(rf, jump, k, s, d)]
        return _Field(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))
    if isinstance(module, _ADAPTIVE):
        n_in, n_out = x.shape[2:], out.shape[2:]
        if jump is None:
            return unknown
        new_rf, new_jump = [], []
        for r, j, n, o in zip(rf, jump, n_in, n_out):
            windows = [math.ceil((i + 1) * n / o) - (i * n) // o for i in range(o)]
            new_rf.append(r + (max(windows) - 1) * j)
            new_jump.append(j * (n // o) if n % o == 0 else None)
        return _Field(tuple(new_rf), None if None in new_jump else tuple(new_jump))
    if tuple(x.shape[2:]) == tuple(out.shape[2:]):
        return before  # works pixel by pixel: ReLU, BatchNorm, LRN, Dropout, ...
    return unknown


def _stride_for(n: int, out: int, k: int, d: int) -> int | None:
    """The smallest stride with which a window of ``k`` (dilation ``d``) turns ``n`` pixels into ``out``, unpadded."""
    for s in range(1, max(n, 1) + 1):
        if n >= d * (k - 1) + 1 and (n - d * (k - 1) - 1) // s + 1 == out:
            return s
    return None


def _check_input_size(input_size: Sequence[int]) -> tuple[int, ...]:
    size = tuple(input_size)
    if not size or not all(is_whole_number(v) for v in size):
        raise ValueError(
            f"input_size={input_size!r} should be whole numbers >= 1 without the batch dimension, "
            f"such as (3, 224, 224) for a colour image or (1, 28, 28) for Fashion-MNIST."
        )
    return size


def _model_device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    for p in model.parameters():
        if p.is_floating_point():
            return p.device, p.dtype
    return torch.device("cpu"), torch.get_default_dtype()


def _run(model: nn.Module, x: torch.Tensor) -> tuple[_Tracker, int]:
    """Run ``model`` on ``x`` in eval mode without gradients; the tracker and FlopCounterMode's MACs."""
    from torch.utils.flop_counter import FlopCounterMode

    modes = [(m, m.training) for m in model.modules()]
    counter = FlopCounterMode(display=False)
    tracker = _Tracker(model, x, counter)
    try:
        model.eval()
        with torch.no_grad(), counter, tracker:
            model(x)
    except Exception as exc:
        raise ValueError(
            f"{type(model).__name__} cannot run on an input of size {shape_text(x.shape[1:])}: {exc}\n"
            f"Check input_size (channels, height, width): the model may expect other channels or a larger image."
        ) from exc
    finally:
        tracker.remove()
        for m, mode in modes:
            m.training = mode
    return tracker, counter.get_total_flops() // 2


def _parameter_counts(model: nn.Module, calls: list[_Call]) -> dict[int | str, tuple[int, int]]:
    """(weights, biases) per call that owns parameters: ``id(call)``, or ``'(not run)'``.

    A parameter belongs to the first call of its module. A module that never ran gives its
    parameters to the nearest enclosing layer that ran without running other modules (as
    ``nn.MultiheadAttention`` uses its ``out_proj`` weights itself), or else to ``'(not run)'``
    (auxiliary classifiers in eval mode).
    """
    first_call: dict[nn.Module, _Call] = {}
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
    size = _check_input_size(input_size)
    if not is_whole_number(batch_size):
        raise ValueError(f"batch_size={batch_size!r} should be a whole number of examples >= 1.")
    model_device, model_dtype = _model_device_dtype(model)
    device = model_device if device is None else torch.device(device)
    same_device = device.type == model_device.type and device.index in (None, model_device.index)
    if not same_device and any(True for _ in model.parameters()):
        raise ValueError(
            f"the model's parameters are on {model_device}, not on device={device!s}; "
            f"move it with model.to({str(device)!r}) or leave device out."
        )
    x = torch.zeros((1, *size), dtype=model_dtype, device=device)
    tracker, total_macs = _run(model, x)
    itemsize = torch.empty((), dtype=dtype).element_size()
    counts = _parameter_counts(model, tracker.calls)

    repeat: dict[str, int] = {}
    rows, measured = [], []
    for call in tracker.calls:
        if call.nested and id(call) not in counts:  # a container: its layers have the rows
            continue
        repeat[call.name] = repeat.get(call.name, 0) + 1
        name = call.name or "(model)"
        if repeat[call.name] > 1:
            name += f" ({repeat[call.name]})"
        w, b = counts.get(id(call), (0, 0))
        if call.measured:
            measured.append(name)
        rows.append({
            "name": name,
            "type": type(call.module).__name__,
            "output_shape": call.output_shape,
            "weights": w,
            "biases": b,
            "params": w + b,
            "macs": call.macs,
            "activation_bytes": batch_size * (call.float_numel * itemsize + call.other_bytes),
            "rf": _collapse(call.field.rf),
            "jump": _collapse(call.field.jump),
        })
    if "(not run)" in counts:
        w, b = counts["(not run)"]
        rows.append(dict(name="(not run)", type="-", output_shape=None, weights=w, biases=b, params=w + b, macs=0,
                         activation_bytes=0, rf=None, jump=None))
    other = total_macs - sum(r["macs"] for r in rows)
    if other:
        rows.append(dict(name="(other ops)", type="-", output_shape=None, weights=0, biases=0, params=0, macs=other,
                         activation_bytes=0, rf=None, jump=None))
    numbers = ("weights", "biases", "params", "macs", "activation_bytes")
    rows.append({"name": "total", "type": "", "output_shape": None, **{c: sum(r[c] for r in rows) for c in numbers},
                 "rf": None, "jump": None})
    table = pd.DataFrame(
        {c: pd.Series([r[c] for r in rows], dtype="int64" if c in numbers else object) for c in COLUMNS}
    )
    table["name"], table["type"] = table["name"].astype(str), table["type"].astype(str)
    table.attrs.update(
        model=type(model).__name__,
        input_size=size,
        batch_size=batch_size,
        dtype=str(dtype).removeprefix("torch."),
        measured_macs=measured,
    )
    return table


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


def _render(
    header: list[str], rows: list[list[str]], right: list[bool], total_at: int | None, gap: int = 2
) -> list[str]:
    """Aligned columns under a header, a rule above the total row at ``total_at``."""
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
    is_total = table["name"].eq("total").to_numpy()
    total_at = int(is_total.nonzero()[0][0]) if is_total.any() else None
    columns = {  # key: header, cells, right-aligned
        "name": ("name", [str(v) for v in table["name"]], False),
        "type": ("type", [str(v) for v in table["type"]], False),
        "output": ("output", [shape_text(v) for v in table["output_shape"]], True),
        "params": ("params", [f"{v:,}" for v in table["params"]], True),
        "macs": ("MACs", [f"{v:,}" for v in table["macs"]], True),
        "memory": ("memory", [_bytes_text(int(v)) for v in table["activation_bytes"]], True),
        "rf": ("rf", ["" if t else _field_text(v) for v, t in zip(table["rf"], is_total)], True),
        "jump": ("jump", ["" if t else _field_text(v) for v, t in zip(table["jump"], is_total)], True),
    }
    layout = {"drop": [], "name": None, "type": None, "gap": 2}
    steps = [("drop", "memory"), ("gap", 1), ("drop", "jump"), ("type", 14), ("name", 20), ("name", 14),
             ("drop", "rf"), ("name", 10), ("type", 8)]

    def build() -> tuple[list[str], set[str]]:
        keep = [k for k in columns if k not in layout["drop"]]
        cut, rows = set(), []
        for i in range(len(table)):
            cells = []
            for k in keep:
                cell = columns[k][1][i]
                if layout.get(k) and k in ("name", "type"):
                    short = _shorten(cell, layout[k], abbreviate=k == "type")
                    cut |= {k} if short != cell else set()
                    cell = short
                cells.append(cell)
            rows.append(cells)
        header, right = [columns[k][0] for k in keep], [columns[k][2] for k in keep]
        return _render(header, rows, right, total_at, layout["gap"]), cut

    lines, cut = build()
    for what, value in steps:
        if max(map(len, lines)) <= width:
            break
        if what == "drop":
            layout["drop"].append(value)
        else:
            layout[what] = value
        lines, cut = build()
    attrs = table.attrs
    title = []
    if {"model", "input_size", "batch_size", "dtype"} <= set(attrs):
        memory = "" if "memory" in layout["drop"] else f"; memory for batch {attrs['batch_size']:,}, {attrs['dtype']}"
        size = shape_text(attrs["input_size"])
        title = textwrap.wrap(f"{attrs['model']} on {size}: MACs per example{memory}", width)
    notes = []
    if layout["drop"] or cut:
        names = {"memory": "output memory", "jump": "jump", "rf": "receptive field"}
        parts = [f"left out: {', '.join(names[d] for d in layout['drop'])}"] if layout["drop"] else []
        parts += [f"{' and '.join(sorted(cut))} names shortened"] if cut else []
        notes = textwrap.wrap(
            f"(to fit {width} characters, {'; '.join(parts)}; layer_table's DataFrame has it all)", width
        )
    return "\n".join(title + lines + notes)


def _saved_tensors(model: nn.Module, size: tuple[int, ...], batch: int, dtype: torch.dtype) -> tuple[int, int]:
    """Values and bytes of the tensors autograd keeps for backward() in a training-mode forward pass of ``batch``.

    Parameters are left out (they are counted as parameters); floating-point tensors are
    counted in ``dtype``. The model's training mode, buffers and the random state are restored.
    """
    device, model_dtype = _model_device_dtype(model)
    itemsize = torch.empty((), dtype=dtype).element_size()
    parameter_storages = {p.untyped_storage().data_ptr() for p in model.parameters()}
    kept: dict[int, tuple[int, int]] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in parameter_storages and storage.nbytes():
            scale = itemsize / t.element_size() if t.is_floating_point() else 1
            kept[storage.data_ptr()] = (storage.nbytes() // t.element_size(), int(storage.nbytes() * scale))
        return t

    modes = [(m, m.training) for m in model.modules()]
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                model.train()
                model(torch.zeros((batch, *size), dtype=model_dtype, device=device))
    finally:
        for m, mode in modes:
            m.training = mode
        with torch.no_grad():
            for b, copy in buffers:
                b.copy_(copy)
    return sum(v for v, _ in kept.values()), sum(b for _, b in kept.values())


def training_memory(
    model: nn.Module,
    input_size: Sequence[int] = (3, 224, 224),
    batch_size: int = 1,
    optimizer: str = "sgd",
    dtype: torch.dtype = torch.float32,
) -> pd.DataFrame:
    """What one training step keeps in memory: parameters, gradients, optimizer state, activations.

    ``optimizer`` is ``'sgd'``, ``'momentum'``, ``'adam'`` or ``'adamw'``. Parameters and
    buffers (BatchNorm's running statistics) are stored in ``dtype`` where they are floating
    point; each trainable parameter gets a gradient of its size; the optimizer state is what
    ``torch.optim`` allocates at its first step. Activations are the tensors autograd keeps
    for ``backward()``: each layer's input or output (whichever its gradient needs), max-pooling's
    indices, dropout's masks. They are measured in training mode on batches of 2 and 4
    (``torch.autograd.graph.saved_tensors_hooks``) and scaled to ``batch_size``; the model's
    state is left as it was. That is less than the sum of :func:`layer_table`'s outputs:
    autograd keeps only what backward needs. The allocator's rounding, CUDA's context and
    temporary buffers come on top, so the total is a lower bound for the device memory.

    >>> mem = training_memory(nn.Linear(1000, 10), input_size=(1000,), batch_size=32, optimizer="adam")
    >>> mem[["item", "values", "bytes"]]
                  item  values   bytes
    0       parameters   10010   40040
    1          buffers       0       0
    2        gradients   10010   40040
    3  optimizer state   20022   80088
    4      activations   32000  128000
    5            total   72042  288168
    """
    key = str(optimizer).strip().lower()
    if key not in OPTIMIZERS:
        raise ValueError(
            f"optimizer={optimizer!r} is not one this estimate knows; choose one of {', '.join(OPTIMIZERS)}."
        )
    size = _check_input_size(input_size)
    if not is_whole_number(batch_size):
        raise ValueError(f"batch_size={batch_size!r} should be a whole number of examples >= 1.")
    per_value, optimizer_text = OPTIMIZERS[key]
    itemsize = torch.empty((), dtype=dtype).element_size()
    dtype_name = str(dtype).removeprefix("torch.")

    def stored_bytes(t: torch.Tensor) -> int:
        return t.numel() * (itemsize if t.is_floating_point() else t.element_size())

    params = list({id(p): p for p in model.parameters()}.values())
    trainable = [p for p in params if p.requires_grad]
    n_params, n_trainable = sum(p.numel() for p in params), sum(p.numel() for p in trainable)
    steps = len(trainable) if key in ("adam", "adamw") else 0  # one float32 step count per tensor
    try:
        two, four = (_saved_tensors(model, size, b, dtype) for b in (2, 4))
    except Exception as exc:
        raise ValueError(
            f"{type(model).__name__} cannot train on an input of size {shape_text(size)}: {exc}\n"
            f"Check input_size (channels, height, width)."
        ) from exc
    # a straight line through batches 2 and 4: a few saved tensors (BatchNorm's statistics) do not grow with the batch
    activation_values, activation_bytes = (t + (batch_size - 2) * (f - t) // 2 for t, f in zip(two, four))
    frozen = n_params - n_trainable
    rows = [
        ("parameters", n_params, sum(stored_bytes(p) for p in params),
         f"every weight and bias, {itemsize} bytes each in {dtype_name}"),
        ("buffers", sum(b.numel() for b in model.buffers()), sum(stored_bytes(b) for b in model.buffers()),
         "running statistics of BatchNorm and other state that is not trained"),
        ("gradients", n_trainable, n_trainable * itemsize,
         "one gradient per trainable parameter, written by backward()"
         + (f" ({frozen:,} frozen parameters get none)" if frozen else "")),
        ("optimizer state", per_value * n_trainable + steps, per_value * n_trainable * itemsize + 4 * steps,
         optimizer_text),
        ("activations", activation_values, activation_bytes,
         f"what autograd keeps for backward() for a batch of {batch_size:,}: layer inputs or outputs, "
         f"pooling indices, dropout masks (measured)"),
    ]
    rows.append(("total", sum(r[1] for r in rows), sum(r[2] for r in rows), "a lower bound for the device memory"))
    mem = pd.DataFrame(rows, columns=["item", "values", "bytes", "explanation"])
    mem["item"], mem["explanation"] = mem["item"].astype(str), mem["explanation"].astype(str)
    mem.attrs.update(
        model=type(model).__name__, input_size=size, batch_size=batch_size, dtype=dtype_name, optimizer=key
    )
    return mem


def format_training_memory(memory: pd.DataFrame, width: int = 80) -> str:
    """A :func:`training_memory` table as plain text: exact bytes, MiB, and the explanations below.

    >>> print(format_training_memory(training_memory(nn.Linear(1000, 10), (1000,), batch_size=32, optimizer="adam")))
    Training memory of Linear, input 1000, batch of 32 in float32, optimizer adam
    item             values    bytes  MiB
    -------------------------------------
    parameters       10,010   40,040  0.0
    buffers               0        0  0.0
    gradients        10,010   40,040  0.0
    optimizer state  20,022   80,088  0.1
    activations      32,000  128,000  0.1
    -------------------------------------
    total            72,042  288,168  0.3
    - parameters: every weight and bias, 4 bytes each in float32
    - buffers: running statistics of BatchNorm and other state that is not trained
    - gradients: one gradient per trainable parameter, written by backward()
    - optimizer state: Adam keeps two running averages per parameter (exp_avg,
      exp_avg_sq), one step count per tensor
    - activations: what autograd keeps for backward() for a batch of 32: layer
      inputs or outputs, pooling indices, dropout masks (measured)
    - total: a lower bound for the device memory
    """
    rows = [
        [str(r.item), f"{int(r.values):,}", f"{int(r.bytes):,}", f"{r.bytes / 2**20:,.1f}"] for r in memory.itertuples()
    ]
    is_total = memory["item"].eq("total").to_numpy()
    total_at = int(is_total.nonzero()[0][0]) if is_total.any() else None
    lines = _render(["item", "values", "bytes", "MiB"], rows, [False, True, True, True], total_at)
    attrs = memory.attrs
    if {"model", "input_size", "batch_size", "dtype", "optimizer"} <= set(attrs):
        lines = textwrap.wrap(
            f"Training memory of {attrs['model']}, input {shape_text(attrs['input_size'])}, batch of "
            f"{attrs['batch_size']:,} in {attrs['dtype']}, optimizer {attrs['optimizer']}",
            width,
        ) + lines
    for r in memory.itertuples():
        lines += textwrap.wrap(f"{r.item}: {r.explanation}", width, initial_indent="- ", subsequent_indent="  ")
    return "\n".join(lines)
