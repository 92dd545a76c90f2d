"""The model zoo: LeNet and AlexNet as published, as simplified, and as tutorials print them.

Every model is registered by name; ``get(name, **kwargs)`` builds one and ``list_models()``
lists the names. Models are named by source and year and their docstrings cite the paper
section or file they follow.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register a model builder under its function name (use as a decorator)."""
    if builder.__name__ in _REGISTRY:
        raise ValueError(f"a model named {builder.__name__!r} is already registered")
    _REGISTRY[builder.__name__] = builder
    return builder


def list_models() -> list[str]:
    """The names ``get`` accepts, sorted."""
    return sorted(_REGISTRY)


def get(name: str, **kwargs) -> nn.Module:
    """Build the registered model ``name`` with keyword arguments ``kwargs``."""
    try:
        builder = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"no model named {name!r}; registered models: {', '.join(list_models()) or 'none'}") from None
    return builder(**kwargs)
