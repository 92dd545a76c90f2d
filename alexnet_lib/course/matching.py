"""Is a network the same as another, layer for layer? The check behind "write it yourself".

A student writes LeNet or AlexNet as a plain ``nn.Sequential``; the library's models have named
layers and a ``forward`` of their own. Names differ, so two networks are compared by what they
*do*, from their layer tables (:func:`alexnet_lib.course.tables.layer_table`): the layers with weights
or a change of shape, in the order they run, each with its type, output shape, weights and
biases. ``Flatten`` and ``Identity`` rows are left out: whether the flattening is a layer or a
line of ``forward`` changes nothing.

:func:`layer_match` lays the two tables side by side; :func:`first_difference` names the first
layer that differs, in one sentence; :func:`same_function` goes one step further and proves that
the two compute the same function, by copying one's parameters into the other and comparing the
outputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch
from torch import nn

from ..config import model_name, seeded, shape_text
from .tables import layer_table

__all__ = ["layer_match", "first_difference", "same_function"]

_SKIPPED = {"Flatten", "Identity", "total", "(other ops)"}
_COMPARED = ["type", "output_shape", "weights", "biases"]


def _signature(model: nn.Module, input_size: Sequence[int]) -> pd.DataFrame:
    """The rows of ``model``'s layer table that two equal networks must share, numbered from 1."""
    table = layer_table(model, input_size)
    rows = table[~table["type"].isin(_SKIPPED) & (table["name"] != "total")]
    return rows[["name", *_COMPARED]].reset_index(drop=True).astype(object)


def layer_match(candidate: nn.Module, reference: nn.Module, input_size: Sequence[int]) -> pd.DataFrame:
    """The two networks' layers side by side, one row per position, with a ``same`` column.

    A position where one network has run out of layers shows ``None`` on that side.

    >>> a = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    >>> b = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sigmoid(), nn.Flatten(), nn.Linear(8, 3))
    >>> layer_match(a, b, (1, 4, 4))[["layer", "type", "reference type", "same"]]
       layer    type reference type   same
    0      1  Conv2d         Conv2d   True
    1      2    ReLU        Sigmoid  False
    2      3  Linear         Linear   True
    """
    mine, theirs = _signature(candidate, input_size), _signature(reference, input_size)
    length = max(len(mine), len(theirs))
    mine, theirs = mine.reindex(range(length)), theirs.reindex(range(length))
    match = pd.DataFrame({"layer": range(1, length + 1), "name": mine["name"], "reference name": theirs["name"]})
    for column in _COMPARED:
        match[column], match[f"reference {column}"] = mine[column], theirs[column]
    same = pd.Series(True, index=match.index)
    for column in _COMPARED:
        same &= match[column].notna() & (match[column].astype(str) == match[f"reference {column}"].astype(str))
    match["same"] = same
    return match.astype(object).where(match.notna(), None)


def first_difference(candidate: nn.Module, reference: nn.Module, input_size: Sequence[int]) -> str | None:
    """The first layer where ``candidate`` differs from ``reference``, in one sentence; None if none does.

    >>> a = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    >>> b = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(32, 3))
    >>> print(first_difference(a, b, (1, 4, 4)))
    Layer 1 (0, Conv2d) gives output shape 2×2×2; the reference's (0, Conv2d) gives 2×4×4.
    >>> first_difference(b, b, (1, 4, 4)) is None
    True
    """
    match = layer_match(candidate, reference, input_size)
    wrong = match[~match["same"].astype(bool)]
    if wrong.empty:
        return None
    row = wrong.iloc[0]
    if row["type"] is None:
        return f"Layer {row['layer']} is missing: the reference has {row['reference type']} ({row['reference name']}) there."
    if row["reference type"] is None:
        return f"Layer {row['layer']} ({row['name']}, {row['type']}) is one too many: the reference ends before it."
    if row["type"] != row["reference type"]:
        return (f"Layer {row['layer']} ({row['name']}) is {row['type']}; "
                f"the reference has {row['reference type']} ({row['reference name']}) there.")
    column = next(c for c in _COMPARED[1:] if str(row[c]) != str(row[f"reference {c}"]))
    words = column.replace("_", " ")
    text = shape_text if column == "output_shape" else "{:,}".format
    return (f"Layer {row['layer']} ({row['name']}, {row['type']}) gives {words} {text(row[column])}; "
            f"the reference's ({row['reference name']}, {row['reference type']}) gives "
            f"{text(row[f'reference {column}'])}.")


def same_function(
    candidate: nn.Module, reference: nn.Module, input_size: Sequence[int], seed: int = 0, batch: int = 2
) -> bool:
    """Whether ``candidate``, given ``reference``'s parameters in order, computes exactly its outputs.

    The parameters are copied position by position (``candidate`` is changed); both run in eval
    mode on one random batch. A network with a different number or shape of parameters raises
    ``ValueError`` saying which.

    >>> a = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    >>> b = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    >>> same_function(a, b, (1, 4, 4))
    True
    """
    mine, theirs = list(candidate.parameters()), list(reference.parameters())
    if len(mine) != len(theirs):
        raise ValueError(f"{model_name(candidate)} has {len(mine)} parameter tensors and "
                         f"{model_name(reference)} {len(theirs)}: write the same layers in the same order.")
    for i, (p, q) in enumerate(zip(mine, theirs)):
        if p.shape != q.shape:
            raise ValueError(f"parameter tensor {i + 1} has shape {tuple(p.shape)} here and {tuple(q.shape)} "
                             "in the reference: compare the layers with layer_match.")
    modes = candidate.training, reference.training
    candidate.eval(), reference.eval()
    try:
        with torch.no_grad():
            for p, q in zip(mine, theirs):
                p.copy_(q)
            with seeded(seed):
                x = torch.randn(batch, *input_size)
            return torch.equal(candidate(x), reference(x))
    finally:
        candidate.train(modes[0]), reference.train(modes[1])
