"""The shape every model in the zoo shares, and the input checks that explain a wrong input.

A model is ``features`` (convolutions and pooling), ``avgpool``, a flatten and
``classifier`` (fully connected layers), as in torchvision's ``AlexNet``; each model's
``forward``, in its own file, first calls :func:`check_input`. The sizes of the
first fully connected layer depend on the input size, so a model is built for one input size
(its ``input_size = (C, H, W)`` attribute) and checks every input it gets: a wrong channel
count, or an image too small or too large for its classifier, raises a ``ValueError`` that
names the shape it got, the shapes it accepts and the smallest valid input.

The checks run the layers on PyTorch's ``meta`` device: tensors with a shape and no data, so
a probe costs microseconds and no memory, whatever the model's size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import chain

import torch
from torch import nn

from .config import is_whole_number, model_name, shape_text

__all__ = ["ConvNet", "check_input", "check_positive", "feature_shape", "input_side_range"]

_PROBE_BATCH = 2  # BatchNorm in training mode needs more than one value per channel


def _meta_call(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Run ``module`` on the meta tensor ``x`` with meta copies of its parameters and buffers."""
    state = {
        name: torch.empty_like(t, device="meta")
        for name, t in chain(module.named_parameters(), module.named_buffers())
    }
    with torch.no_grad():
        return torch.func.functional_call(module, state, (x,))


def feature_shape(features: nn.Module, input_size: Sequence[int], model_name: str = "the model") -> tuple[int, ...]:
    """The shape ``(C, H, W)`` that ``features`` makes of one ``input_size = (C, H, W)`` image.

    Computed on the meta device (no data, no memory). Where the input is too small for a layer,
    the ``ValueError`` names the layer, the size it got and the smallest input that works.

    >>> features = nn.Sequential(nn.Conv2d(3, 8, 11, stride=4, padding=2), nn.MaxPool2d(3, 2))
    >>> feature_shape(features, (3, 224, 224))
    (8, 27, 27)
    >>> feature_shape(features, (3, 12, 12))
    Traceback (most recent call last):
    ...
    ValueError: the model: a 3×12×12 input is too small: layer 1 (MaxPool2d(...)) gets 8×2×2 maps, ... use input_size >= 15.
    """
    c, h, w = (int(v) for v in input_size)
    names = {m: name for name, m in features.named_modules()}
    entered: list[tuple[str, nn.Module, tuple[int, ...]]] = []

    def note(module: nn.Module, args: tuple) -> None:  # remember the last layer entered, and its input
        if args and isinstance(args[0], torch.Tensor):
            entered.append((names.get(module) or "features", module, tuple(args[0].shape[1:])))

    leaves = [m for m in features.modules() if next(m.children(), None) is None]
    handles = [m.register_forward_pre_hook(note) for m in leaves]
    try:
        out = _meta_call(features, torch.empty(_PROBE_BATCH, c, h, w, device="meta"))
    except (RuntimeError, ValueError):
        failed = True
    else:
        failed = not all(v >= 1 for v in out.shape[1:])
    finally:
        for handle in handles:
            handle.remove()
    if not failed:
        return tuple(int(v) for v in out.shape[1:])
    where = "its layers leave nothing"
    if entered:
        name, layer, shape = entered[-1]
        text = repr(layer)
        detail = f" ({text})" if "\n" not in text else ""
        where = f"layer {name}{detail} gets {shape_text(shape)} maps"
    smallest = _smallest_side(lambda s: _features_work(features, c, s))
    fix = (
        f"The smallest input these layers accept is {c}×{smallest}×{smallest}: use input_size >= {smallest}."
        if smallest is not None
        else "No input size works for these layers."
    )
    raise ValueError(f"{model_name}: a {c}×{h}×{w} input is too small: {where}, and its window does not fit. {fix}")


def _features_work(features: nn.Module, channels: int, side: int) -> bool:
    try:
        out = _meta_call(features, torch.empty(_PROBE_BATCH, channels, side, side, device="meta"))
    except (RuntimeError, ValueError):
        return False
    return all(v >= 1 for v in out.shape[1:])


def _model_works(model: nn.Module, height: int, width: int) -> bool:
    """Whether features -> avgpool -> flatten -> classifier accepts an input of this size."""
    c = model.input_size[0]
    body = nn.Sequential(model.features, model.avgpool, nn.Flatten(), model.classifier)
    try:
        _meta_call(body, torch.empty(_PROBE_BATCH, c, height, width, device="meta"))
    except (RuntimeError, ValueError):
        return False
    return True


def _first_true(works: Callable[[int], bool], lo: int, hi: int) -> int:
    """The smallest ``s`` in ``[lo, hi]`` with ``works(s)``, for a test that is false, then true; ``works(hi)`` must hold."""
    while lo < hi:
        mid = (lo + hi) // 2
        if works(mid):
            hi = mid
        else:
            lo = mid + 1
    return hi


def _smallest_side(works: Callable[[int], bool], cap: int = 1 << 14) -> int | None:
    """The smallest side for which the test ``works`` holds, if it holds for every larger side (None: none up to cap)."""
    hi = 1
    while not works(hi):
        if hi >= cap:
            return None
        hi = min(hi * 2, cap)
    return _first_true(works, max(1, hi // 2), hi)


def input_side_range(model: nn.Module) -> tuple[int, int | None]:
    """The smallest and largest image side the model accepts as built (None: no upper limit).

    A model whose classifier takes a fixed number of features accepts only the few sizes that
    give its features the same shape; torchvision's ``AdaptiveAvgPool2d`` accepts any size
    from the smallest up.

    >>> from alexnet_lib.models import get
    >>> input_side_range(get("lenet"))
    (28, 31)
    >>> input_side_range(get("torchvision_alexnet"))
    (63, None)
    """
    cached = getattr(model, "_input_side_range", None)
    if cached is not None:
        return cached
    _, h, w = model.input_size
    side = min(h, w)
    if not _model_works(model, side, side):  # cannot happen for a model that was built, but say so if it does
        raise ValueError(f"{model_name(model)} does not accept its own input size {model.input_size}.")
    # Feature maps grow with the input, so the sizes that work are one run of sides around the
    # built one: those that give the classifier its number of features (or all from the
    # smallest up, after an adaptive pooling).
    lo = _first_true(lambda s: _model_works(model, s, s), 1, side)
    cap = max(4 * side, 1024)
    if _model_works(model, cap, cap):
        result = (lo, None)
    else:
        result = (lo, _first_true(lambda s: not _model_works(model, s, s), side, cap) - 1)
    model._input_side_range = result
    return result


def _sides_text(lo: int, hi: int | None) -> str:
    return f"{lo} <= H, W <= {hi}" if hi is not None else f"H, W >= {lo}"


def check_input(model: nn.Module, x: torch.Tensor) -> None:
    """Raise a ``ValueError`` that says what is wrong if ``x`` is not a batch the model accepts.

    The model needs ``input_size = (C, H, W)``, ``features``, ``avgpool`` and ``classifier``.
    The usual input (the built size) is accepted at once; other sizes are probed once on
    the meta device and remembered. Every message names the smallest valid input. The checks
    run in order: a batch of images at all, then its channels, then its height and width.

    >>> from alexnet_lib.models import get
    >>> model = get("lenet")
    >>> check_input(model, torch.zeros(8, 1, 28, 28))  # fine: nothing happens
    >>> check_input(model, torch.zeros(8, 3, 28, 28))
    Traceback (most recent call last):
    ...
    ValueError: lenet expects 1 input channel, shape (N, 1, H, W); got 3 channels in an input of shape (8, 3, 28, 28). ...
    """
    if not isinstance(x, torch.Tensor):  # e.g. torch.fx proxies while tracing: nothing to check
        return
    if x.dim() == 4 and tuple(x.shape[1:]) == tuple(model.input_size):
        return
    accepts = _accepts_text(model)
    _check_batch_of_images(model, x, accepts)
    _check_channels(model, x, accepts)
    _check_height_and_width(model, x, accepts)


def _accepts_text(model: nn.Module) -> str:
    """What the model accepts as built, ending with its smallest valid input (every message ends with it)."""
    c, h, w = model.input_size
    lo, hi = input_side_range(model)
    return (
        f"As built (for {c}×{h}×{w}) it accepts (N, {c}, H, W) with {_sides_text(lo, hi)}: "
        f"the smallest valid input is {c}×{lo}×{lo}."
    )


def _check_batch_of_images(model: nn.Module, x: torch.Tensor, accepts: str) -> None:
    """A 4-dimensional batch (N, C, H, W); a single image gets the hint to add the batch dimension."""
    if x.dim() != 4:
        hint = " Add the batch dimension with x.unsqueeze(0)." if x.dim() == 3 else ""
        raise ValueError(
            f"{model_name(model)} takes a batch of images shaped (N, C, H, W); got a tensor of shape {tuple(x.shape)}."
            f"{hint} {accepts}"
        )


def _check_channels(model: nn.Module, x: torch.Tensor, accepts: str) -> None:
    """The model's number of channels; the message says how to convert grey to colour or back."""
    c = model.input_size[0]
    got = int(x.shape[1])
    if got == c:
        return
    if c == 3 and got == 1:
        fix = "Repeat the grey channel: x.expand(-1, 3, -1, -1)"
    elif c == 1 and got == 3:
        fix = "Convert the images to grey: x.mean(1, keepdim=True)"
    else:
        fix = f"Give it {c}-channel images"
    if getattr(model, "accepts_in_channels", False):
        fix += f", or build the model with in_channels={got}"
    plural = "s" if c != 1 else ""
    raise ValueError(
        f"{model_name(model)} expects {c} input channel{plural}, shape (N, {c}, H, W); got {got} channel{'s' if got != 1 else ''} "
        f"in an input of shape {tuple(x.shape)}. {fix}. {accepts}"
    )


def _check_height_and_width(model: nn.Module, x: torch.Tensor, accepts: str) -> None:
    """A height and width the classifier takes: probed once per size on the meta device, then remembered."""
    hw = (int(x.shape[2]), int(x.shape[3]))
    seen = model.__dict__.setdefault("_accepted_sizes", set())
    if hw in seen:
        return
    if _model_works(model, *hw):
        seen.add(hw)
        return
    raise ValueError(_wrong_size_text(model, tuple(x.shape), accepts))


def _wrong_size_text(model: nn.Module, shape: tuple[int, ...], accepts: str) -> str:
    """Why an (N, C, H, W) input of the right channels does not fit: too small for the layers, or for the classifier."""
    name, (c, h, w), hw = model_name(model), model.input_size, shape[2:]
    rebuild = f", or build the model for this size (input_size={hw[0]})" if hw[0] == hw[1] else ""
    if min(hw) < input_side_range(model)[0]:
        least = _smallest_side(lambda s: _features_work(model.features, c, s))
        if least is not None and min(hw) < least:
            return (
                f"{name}: a {hw[0]}×{hw[1]} input (shape {shape}) is too small for its layers: they need at least "
                f"{least}×{least} pixels, whatever input_size the model is built for. Resize the images to {h}×{w}. "
                f"{accepts}"
            )
        return (
            f"{name}: a {hw[0]}×{hw[1]} input (shape {shape}) is smaller than this model takes. "
            f"Resize the images to {h}×{w}{rebuild}. {accepts}"
        )
    built = feature_shape(model.features, (c, h, w), name)
    got = feature_shape(model.features, (c, *hw), name)
    return (
        f"{name} was built for {h}×{w} images: its classifier takes {shape_text(built)} = {math.prod(built):,} "
        f"features, and a {hw[0]}×{hw[1]} input (shape {shape}) gives {shape_text(got)} = {math.prod(got):,}. "
        f"Resize the images to {h}×{w}{rebuild}. {accepts}"
    )


class ConvNet(nn.Module):
    """Base class of the zoo: ``features`` -> ``avgpool`` -> flatten -> ``classifier``, sized for one input.

    Subclasses set ``features``, ``avgpool`` and ``classifier`` (``nn.Identity()`` for
    ``avgpool`` where the source has no pooling there), call ``feature_shape()`` to size
    the first fully connected layer for ``input_size``, and write their own ``forward``, whose
    first line is ``check_input(self, x)``, so that a reader finds the computation in the
    model's own file.

    >>> class Tiny(ConvNet):
    ...     def __init__(self):
    ...         super().__init__("tiny", (1, 8, 8))
    ...         self.features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.MaxPool2d(2))
    ...         self.avgpool = nn.Identity()
    ...         self.classifier = nn.Linear(math.prod(self.feature_shape()), 2)
    ...     def forward(self, x):
    ...         check_input(self, x)
    ...         return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
    >>> model = Tiny()
    >>> model.feature_shape(), model(torch.zeros(5, 1, 8, 8)).shape
    ((4, 3, 3), torch.Size([5, 2]))
    """

    features: nn.Module
    avgpool: nn.Module
    classifier: nn.Module
    accepts_in_channels: bool = False  # whether the model's class takes in_channels (for error messages)

    def __init__(self, model_name: str, input_size: tuple[int, int, int]) -> None:
        super().__init__()
        self.model_name = model_name
        self.input_size = tuple(int(v) for v in input_size)

    def feature_shape(self, input_size: Sequence[int] | None = None) -> tuple[int, ...]:
        """The ``(C, H, W)`` of ``features``' output for one image of ``input_size`` (default: the built size)."""
        return feature_shape(self.features, self.input_size if input_size is None else input_size, self.model_name)


def check_positive(name: str, value: object, model_name: str, hint: str) -> int:
    """``value`` as an int if it is a whole number >= 1, else a ``ValueError`` naming it.

    >>> check_positive("num_classes", 10, "lenet", "one output per class")
    10
    >>> check_positive("num_classes", 0, "lenet", "one output per class")
    Traceback (most recent call last):
    ...
    ValueError: lenet: num_classes=0 is not allowed: it must be a whole number >= 1 (one output per class).
    """
    if not is_whole_number(value):
        raise ValueError(f"{model_name}: {name}={value!r} is not allowed: it must be a whole number >= 1 ({hint}).")
    return value
