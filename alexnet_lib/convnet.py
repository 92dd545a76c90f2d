"""The shape every network of the zoo shares, and the input checks that explain a wrong input, probed without data."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Sequence

import torch
from torch import nn

from .config import is_whole_number, model_name, shape_text

__all__ = ["ConvNet", "check_input", "check_positive", "feature_shape", "input_side_range"]


def _probe(module: nn.Module, c: int, h: int, w: int) -> tuple[int, ...] | None:
    """The shape ``module`` makes of a c×h×w image, on the meta device (no data, no memory); None where it does not fit."""
    state = {n: torch.empty_like(t, device="meta") for n, t in [*module.named_parameters(), *module.named_buffers()]}
    x = torch.empty(2, c, h, w, device="meta")  # 2: BatchNorm in training mode needs more than one value per channel
    try:
        out = torch.func.functional_call(module, state, (x,))
    except (RuntimeError, ValueError):
        return None
    return tuple(int(v) for v in out.shape[1:]) if all(v >= 1 for v in out.shape[1:]) else None


def _first_fit(fits: Callable[[int], bool], lo: int, hi: int) -> int | None:
    """The smallest side in ``[lo, hi]`` that ``fits`` (None: none), by bisection: ``fits`` is false, then true."""
    first = lo + bisect_left(range(lo, hi + 1), True, key=fits)
    return first if first <= hi else None


def feature_shape(features: nn.Module, input_size: Sequence[int], model_name: str = "the model") -> tuple[int, ...]:
    """The shape ``(C, H, W)`` that ``features`` makes of one ``input_size = (C, H, W)`` image, without data.

    >>> features = nn.Sequential(nn.Conv2d(3, 8, 11, stride=4, padding=2), nn.MaxPool2d(3, 2))
    >>> feature_shape(features, (3, 12, 12))
    Traceback (most recent call last):
    ...
    ValueError: the model: a 3×12×12 input is too small: layer 1 (MaxPool2d(...)) gets 8×2×2 maps, ... use input_size >= 15.
    """
    c, h, w = (int(v) for v in input_size)
    entered = []  # each leaf layer entered, with the maps it got: the last one failed
    hooks = [leaf.register_forward_pre_hook(lambda layer, args, name=name: entered.append(
        f"layer {name or 'features'} ({layer!r}) gets {shape_text(args[0].shape[1:])} maps"))
        for name, leaf in features.named_modules() if next(leaf.children(), None) is None]
    try:
        shape = _probe(features, c, h, w)
    finally:
        for hook in hooks:
            hook.remove()
    if shape is not None:
        return shape
    least = _first_fit(lambda s: _probe(features, c, s, s) is not None, 1, 1 << 14)
    fix = (f"The smallest input these layers accept is {c}×{least}×{least}: use input_size >= {least}." if least
           else "No input size works for these layers.")
    where = entered[-1] if entered else "its layers leave nothing"
    raise ValueError(f"{model_name}: a {c}×{h}×{w} input is too small: {where}, and its window does not fit. {fix}")


def input_side_range(model: nn.Module) -> tuple[int, int | None]:
    """The smallest and largest side of the images the model accepts as built (None: no upper limit).

    Feature maps grow with each side of the input, so the sides that fit are one run (after an ``AdaptiveAvgPool2d``, no end).

    >>> from alexnet_lib.models import get
    >>> input_side_range(get("lenet")), input_side_range(get("torchvision_alexnet", device="meta"))
    ((28, 31), (63, None))
    """
    if getattr(model, "_input_side_range", None) is None:  # computed once, then remembered
        body = nn.Sequential(model.features, model.avgpool, nn.Flatten(), model.classifier)
        c, side = model.input_size[0], min(model.input_size[1:])
        fits = lambda s: _probe(body, c, s, s) is not None  # noqa: E731
        lo, beyond = _first_fit(fits, 1, side), _first_fit(lambda s: not fits(s), side, max(4 * side, 1024))
        if lo is None:  # cannot happen for a model that was built, but say so if it does
            raise ValueError(f"{model_name(model)} does not accept its own input size {model.input_size}.")
        model._input_side_range = (lo, None if beyond is None else beyond - 1)
    return model._input_side_range


def check_input(model: nn.Module, x: torch.Tensor) -> None:
    """A ``ValueError`` if ``x`` is not a batch the model accepts: what is wrong, with shapes, the fix, the smallest valid input.

    >>> from alexnet_lib.models import get
    >>> check_input(get("lenet"), torch.zeros(8, 3, 28, 28))
    Traceback (most recent call last):
    ...
    ValueError: lenet expects 1 input channel, shape (N, 1, H, W); got 3 channels in an input of shape (8, 3, 28, 28). ...
    """
    if not isinstance(x, torch.Tensor) or (x.dim() == 4 and tuple(x.shape[1:]) == tuple(model.input_size)):
        return  # not a tensor (torch.fx proxies while tracing), or the built size: nothing to check
    name, (c, h, w), shape = model_name(model), model.input_size, tuple(int(v) for v in x.shape)
    lo, hi = input_side_range(model)
    if x.dim() != 4:
        hint = " Add the batch dimension with x.unsqueeze(0)." if x.dim() == 3 else ""
        problem = f"{name} takes a batch of images shaped (N, C, H, W); got a tensor of shape {shape}.{hint}"
    elif shape[1] != c:
        fix = {(3, 1): "Repeat the grey channel: x.expand(-1, 3, -1, -1)",
               (1, 3): "Convert the images to grey: x.mean(1, keepdim=True)"}.get((c, shape[1]), f"Give it {c}-channel images")
        rebuild = f", or build the model with in_channels={shape[1]}" if getattr(model, "accepts_in_channels", False) else ""
        problem = (f"{name} expects {c} input channel{'s' * (c != 1)}, shape (N, {c}, H, W); got {shape[1]} "
                   f"channel{'s' * (shape[1] != 1)} in an input of shape {shape}. {fix}{rebuild}.")
    elif min(shape[2:]) < lo or max(shape[2:]) > (hi or math.inf):
        try:
            got = feature_shape(model.features, shape[1:], name)
        except ValueError as too_small:  # for the layers themselves: no input_size would help
            problem = f"{too_small} Resize the images to {h}×{w}."
        else:  # other maps than the classifier's
            built, (rows, cols) = feature_shape(model.features, (c, h, w), name), shape[2:]
            rebuild = f", or build the model for this size (input_size={rows})" if rows == cols else ""
            problem = (f"{name} was built for {h}×{w} images: its classifier takes {shape_text(built)} = "
                       f"{math.prod(built):,} features, and a {rows}×{cols} input (shape {shape}) gives {shape_text(got)} = "
                       f"{math.prod(got):,}. Resize the images to {h}×{w}{rebuild}.")
    else:
        return
    sides = f"{lo} <= H, W <= {hi}" if hi is not None else f"H, W >= {lo}"
    raise ValueError(f"{problem} As built (for {c}×{h}×{w}) it accepts (N, {c}, H, W) with {sides}: "
                     f"the smallest valid input is {c}×{lo}×{lo}.")


class ConvNet(nn.Module):
    """Base class of the zoo, torchvision's AlexNet's plan: ``features`` -> ``avgpool`` -> flatten -> ``classifier``.

    A subclass sizes its first fully connected layer with ``feature_shape()`` and starts ``forward`` with ``check_input``.

    >>> from alexnet_lib.models import get
    >>> get("lenet").feature_shape()
    (16, 5, 5)
    """

    accepts_in_channels: bool = False  # whether the model's class takes in_channels (for error messages)

    def __init__(self, model_name: str, input_size: tuple[int, int, int]) -> None:
        super().__init__()
        self.model_name, self.input_size = model_name, tuple(int(v) for v in input_size)

    def feature_shape(self, input_size: Sequence[int] | None = None) -> tuple[int, ...]:
        """The ``(C, H, W)`` of ``features``' output for one image of ``input_size`` (default: the built size)."""
        return feature_shape(self.features, self.input_size if input_size is None else input_size, self.model_name)


def check_positive(name: str, value: object, model_name: str, hint: str) -> None:
    """A ``ValueError`` naming the setting ``name`` unless its ``value`` is a whole number >= 1.

    >>> check_positive("num_classes", 0, "lenet", "one output per class")
    Traceback (most recent call last):
    ...
    ValueError: lenet: num_classes=0 is not allowed: it must be a whole number >= 1 (one output per class).
    """
    if not is_whole_number(value):
        raise ValueError(f"{model_name}: {name}={value!r} is not allowed: it must be a whole number >= 1 ({hint}).")
