"""One helper per idiom that several modules share: a whole-number check, seeding, a model's
name and a shape's text.

Each exists once here so that every module checks, seeds and writes these the same way. The
module needs no torch until :func:`seeded` runs, so that :mod:`alexnet_lib.shapes` (pure
arithmetic) stays free of it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn


def is_whole_number(value: object, minimum: float = 1) -> bool:
    """Whether ``value`` is an ``int`` (not a ``bool``) of at least ``minimum`` (``-math.inf``: any).

    >>> is_whole_number(3), is_whole_number(0), is_whole_number(0, minimum=0), is_whole_number(True), is_whole_number(2.0)
    (True, False, True, False, False)
    """
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


@contextlib.contextmanager
def seeded(seed: int | None, device: torch.device | str = "cpu") -> Iterator[None]:
    """Seed PyTorch's generators for the block, then restore them (nothing changes if ``seed`` is None).

    The CPU generator is always seeded; on a CUDA ``device`` every GPU's generator is too. The
    caller's generators are left as they were, so seeding here never changes what follows.

    >>> import torch
    >>> with seeded(0):
    ...     a = torch.rand(2)
    >>> with seeded(0):
    ...     b = torch.rand(2)
    >>> torch.equal(a, b)
    True
    """
    import torch  # deferred: the other helpers here, and shapes.py with them, need no torch

    if seed is None:
        yield
        return
    if not is_whole_number(seed, minimum=0):
        raise ValueError(f"seed={seed!r} should be a whole number >= 0 (or None to use torch's global generator).")
    cuda = torch.device(device).type == "cuda"
    with torch.random.fork_rng(devices=list(range(torch.cuda.device_count())) if cuda else []):
        torch.manual_seed(seed)
        yield


def model_name(model: nn.Module) -> str:
    """The name a model goes by in messages and tables: its ``model_name``, else its class name.

    >>> from torch import nn
    >>> model_name(nn.Linear(2, 3))
    'Linear'
    """
    return getattr(model, "model_name", type(model).__name__)


def shape_text(shape: object) -> str:
    """A shape as text, with one separator (×): several shapes are joined by commas.

    >>> import torch
    >>> shape_text((6, 28, 28)), shape_text(torch.zeros(2, 3)), shape_text(((1, 2), (3,))), shape_text(())
    ('6×28×28', '2×3', '1×2, 3', 'scalar')
    """
    if shape is None:
        return ""
    shape = tuple(getattr(shape, "shape", shape))  # a tensor's shape, or the shape itself  # type: ignore[arg-type]
    if shape and all(isinstance(s, (tuple, list)) for s in shape):
        return ", ".join(shape_text(s) for s in shape)
    return "×".join(str(int(v)) for v in shape) if shape else "scalar"
