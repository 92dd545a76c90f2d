"""How a layer table sees a model run: every module call, its MACs, and each tensor's receptive field.

:func:`track` runs a model once under a :class:`Tracker`. Forward hooks on every module record
each call as a :class:`LayerCall` (output shape, output size, MACs); as a ``TorchFunctionMode``
the tracker also sees the operations outside the layers, so a :class:`ReceptiveField` follows
every tensor, whichever operation made it. :func:`alexnet_lib.course.tables.layer_table` turns the
calls into rows; its module docstring states the rules for MACs and receptive fields that
this module implements.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils.flop_counter import FlopCounterMode

from ..config import is_whole_number, shape_text
from ..shapes import ShapeError

__all__ = ["LayerCall", "ReceptiveField", "Tracker", "modes_restored", "next_receptive_field", "tensors_in", "track"]

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


def tensors_in(value: object) -> Iterator[torch.Tensor]:
    """The tensors in a layer's output or arguments, in order (tuples, lists and dicts searched).

    >>> a, b = torch.zeros(1), torch.ones(2)
    >>> [t.tolist() for t in tensors_in((a, {"mask": b}, "text"))]
    [[0.0], [1.0, 1.0]]
    """
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from tensors_in(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from tensors_in(item)


@contextlib.contextmanager
def modes_restored(model: nn.Module) -> Iterator[None]:
    """Put back each submodule's training mode after the block, however the block ends.

    >>> net = nn.Sequential(nn.Dropout()).eval()
    >>> with modes_restored(net):
    ...     _ = net.train()
    >>> net.training, net[0].training
    (False, False)
    """
    modes = [(m, m.training) for m in model.modules()]
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode


def _per_dim(value: object, dims: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims


@dataclass
class ReceptiveField:
    """Receptive field and jump of one tensor, per spatial dimension (None: unknown)."""

    rf: tuple[int, ...] | None
    jump: tuple[int, ...] | None


@dataclass
class LayerCall:
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
    field: ReceptiveField = field(default_factory=lambda: ReceptiveField(None, None))


class Tracker(TorchFunctionMode):
    """Records each module call (forward hooks) and follows receptive fields through every tensor.

    As a ``TorchFunctionMode`` it sees the operations outside the layers too: a tensor such an
    operation makes gets the union of its inputs' fields (see :func:`_union`); a layer's
    forward hook then replaces the field of the layer's output by the layer's own rule.
    """

    def __init__(self, model: nn.Module, x: torch.Tensor, counter: FlopCounterMode):
        super().__init__()
        self.counter = counter
        self.names = {m: name for name, m in model.named_modules()}
        self.stack: list[LayerCall] = []
        self.calls: list[LayerCall] = []
        # each tensor's field, by id; the tensor is kept so that its id stays its own
        self.fields: dict[int, tuple[torch.Tensor, ReceptiveField]] = {}
        self.fields[id(x)] = (x, ReceptiveField((1,) * (x.dim() - 2), (1,) * (x.dim() - 2)))
        self.handles = []
        for module in self.names:
            self.handles.append(module.register_forward_pre_hook(self.pre_hook))
            self.handles.append(module.register_forward_hook(self.hook, with_kwargs=True))

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()

    def field_of(self, tensor: torch.Tensor) -> ReceptiveField | None:
        known = self.fields.get(id(tensor))
        return known[1] if known is not None and known[0] is tensor else None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        outputs = [t for t in tensors_in(result) if t.dim() >= 3]
        if outputs:
            inputs = [(t, f) for t in tensors_in((args, kwargs)) if (f := self.field_of(t)) is not None]
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
        self.stack.append(LayerCall(module, self.names[module], flops_before=self.counter.get_total_flops()))

    def hook(self, module: nn.Module, args: tuple, kwargs: dict, output: object) -> None:
        call = self.stack.pop()
        call.order = len(self.calls)
        self.calls.append(call)
        outputs = list(tensors_in(output))
        inputs = list(tensors_in(args)) + list(tensors_in(kwargs))
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
            call.field = self.field_of(outputs[0]) or ReceptiveField(None, None)


def _union(out: torch.Tensor, inputs: list[tuple[torch.Tensor, ReceptiveField]]) -> ReceptiveField | None:
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
    return ReceptiveField(rf, widest.jump)


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


def next_receptive_field(rf: int, jump: int, k: int, s: int = 1, d: int = 1) -> tuple[int, int]:
    """The receptive field and the jump along one dimension after a layer with kernel ``k``, stride ``s``, dilation ``d``.

    ``rf`` is how many input pixels one value sees, ``jump`` how many input pixels apart two
    neighbouring values are (the product of the strides so far). After the layer they are
    ``rf + d*(k - 1)*jump`` and ``jump*s``; padding changes neither.

    >>> next_receptive_field(1, 1, k=11, s=4), next_receptive_field(11, 4, k=3, s=2)  # AlexNet's conv1, then pool1
    ((11, 4), (19, 8))
    """
    wrong = [f"{name}={value!r}" for name, value in zip(("rf", "jump", "k", "s", "d"), (rf, jump, k, s, d))
             if not is_whole_number(value)]
    if wrong:
        raise ShapeError(f"{', '.join(wrong)}: a receptive field, jump, kernel, stride and dilation are whole numbers >= 1.")
    return rf + d * (k - 1) * jump, jump * s


def _next_field(
    module: nn.Module, x: torch.Tensor | None, out: torch.Tensor, before: ReceptiveField | None
) -> ReceptiveField:
    """The receptive field of ``out``, made by ``module`` from ``x`` whose field is ``before``."""
    unknown = ReceptiveField(None, None)
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
        return ReceptiveField(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))
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
        return ReceptiveField(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))
    if isinstance(module, _ADAPTIVE):
        n_in, n_out = x.shape[2:], out.shape[2:]
        if jump is None:
            return unknown
        new_rf, new_jump = [], []
        for r, j, n, o in zip(rf, jump, n_in, n_out):
            windows = [math.ceil((i + 1) * n / o) - (i * n) // o for i in range(o)]
            new_rf.append(r + (max(windows) - 1) * j)
            new_jump.append(j * (n // o) if n % o == 0 else None)
        return ReceptiveField(tuple(new_rf), None if None in new_jump else tuple(new_jump))
    if tuple(x.shape[2:]) == tuple(out.shape[2:]):
        return before  # works pixel by pixel: ReLU, BatchNorm, LRN, Dropout, ...
    return unknown


def _stride_for(n: int, out: int, k: int, d: int) -> int | None:
    """The smallest stride with which a window of ``k`` (dilation ``d``) turns ``n`` pixels into ``out``, unpadded."""
    for s in range(1, max(n, 1) + 1):
        if n >= d * (k - 1) + 1 and (n - d * (k - 1) - 1) // s + 1 == out:
            return s
    return None


def track(model: nn.Module, x: torch.Tensor) -> tuple[Tracker, int]:
    """Run ``model`` on ``x`` in eval mode without gradients; the tracker and FlopCounterMode's MACs.

    The model's training mode is restored after. A model that cannot run on ``x`` raises a
    ``ValueError`` that names the input size.

    >>> tracker, macs = track(nn.Sequential(nn.Linear(4, 3), nn.ReLU()), torch.zeros(1, 4))
    >>> [(call.name, call.output_shape, call.macs) for call in tracker.calls], macs
    ([('0', (3,), 12), ('1', (3,), 0), ('', (3,), 0)], 12)
    """
    counter = FlopCounterMode(display=False)
    tracker = Tracker(model, x, counter)
    try:
        with modes_restored(model):
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
    return tracker, counter.get_total_flops() // 2
