"""Checkpoints and histories on disk: written atomically, read back with ``weights_only=True``.

:func:`save_checkpoint` refuses NaN or infinite weights and writes each file to a temporary
file renamed into place, so a crash never leaves a half-written checkpoint;
:func:`load_checkpoint` reads only tensors and plain values (no code from the file) and says
in one sentence why a file does not fit a model.
"""

from __future__ import annotations

import os
import pickle
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pandas as pd
import torch
from torch import nn

from .. import models
from ..config import model_name, shape_text

__all__ = ["Checkpoint", "load_checkpoint", "save_checkpoint", "save_history"]

_CHECKPOINT_FORMAT = "alexnet_lib checkpoint 1"


def _plain(name: str, value: object) -> object:
    """``value`` as plain Python values and tensors, which ``torch.load(weights_only=True)`` accepts; else a ValueError."""
    if value is None or type(value) in (str, int, float, bool) or isinstance(value, torch.Tensor):
        return value
    for kind in (bool, int, float, str):  # subclasses (torch's version string, numpy scalars) as the plain type
        if isinstance(value, kind):
            return kind(value)
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # numpy scalars
        return _plain(name, value.item())
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(name, v) for v in value)
    if isinstance(value, dict):
        return {_plain(name, k): _plain(name, v) for k, v in value.items()}
    raise ValueError(
        f"{name}={value!r} ({type(value).__name__}) cannot go into a checkpoint that loads with weights_only=True; "
        "use str, int, float, bool, None, or lists and dicts of them."
    )


def _write_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> Path:
    """Write ``path`` through a temporary file beside it, then rename it into place.

    A crash, a Ctrl-C or a full disk leaves the old file (or none), never a half-written one;
    of two processes writing the same path, one wins whole.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        with open(temporary, "xb") as f:  # 'x': a new file, with the permissions the umask gives
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def save_history(path: str | Path, history: pd.DataFrame) -> Path:
    """Save the history as CSV (NaN as an empty field), written atomically; return the path.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = save_history(Path(folder) / "history.csv", pd.DataFrame({"epoch": [1], "train_loss": [0.5]}))
    ...     print(path.read_text().strip())
    epoch,train_loss
    1,0.5
    """
    return _write_atomically(Path(path), lambda f: f.write(history.to_csv(index=False).encode()))


def _first_nonfinite(state: dict[str, torch.Tensor]) -> str | None:
    """The name of the first floating-point tensor of ``state`` holding a NaN or an infinity, or None."""
    return next((k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())), None)


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    history: pd.DataFrame | None = None,
    **meta: object,
) -> Path:
    """Save the model's weights (and optimizer state, history and ``meta``) to ``path``; return the path.

    Everything is stored as tensors and plain Python values, so :func:`load_checkpoint` can
    read it with ``torch.load(weights_only=True)``, which runs no code from the file. The
    model's registered name goes in ``meta['model_name']``; give ``model_kwargs=...`` (the
    arguments of ``models.get``) to let ``load_checkpoint`` rebuild the model by itself.
    Weights holding NaN or infinite values are refused (a ValueError), and the file is written
    to a temporary file renamed into place, so it is never half-written.
    """
    path = Path(path)
    meta = {key: _plain(key, value) for key, value in meta.items()}
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    bad = _first_nonfinite(state)
    if bad is not None:
        raise ValueError(
            f"the weights {bad!r} of {model_name(model)} hold NaN or infinite values (its training diverged), so they "
            f"are not saved to {path}; train again with a lower learning rate."
        )
    payload: dict[str, object] = {
        "format": _CHECKPOINT_FORMAT,
        "model_state": state,
        "meta": {"model_name": str(model_name(model)), "torch": str(torch.__version__), **meta},
    }
    if optimizer is not None:
        payload["optimizer_state"] = optimizer.state_dict()
    if history is not None:
        payload["history"] = {
            "columns": [str(c) for c in history.columns],
            "rows": [list(_plain("history", tuple(row))) for row in history.itertuples(index=False)],
            "attrs": {str(k): _plain(f"history.attrs[{k!r}]", v) for k, v in history.attrs.items()},
        }
    return _write_atomically(path, lambda f: torch.save(payload, f))


def _refusal_reason(exc: pickle.UnpicklingError) -> str:
    """The line of torch's long weights_only refusal that says what it met (e.g. 'Unsupported global ...')."""
    boilerplate = ("Weights only load failed", "Please file an issue", "Check the documentation")
    lines = [line.strip() for line in str(exc).splitlines() if line.strip() and not line.strip().startswith(boilerplate)]
    return lines[0] if lines else type(exc).__name__


def _load_weights_only(path: Path, map_location: str | torch.device) -> object:
    """``torch.load(path, weights_only=True)``, its failures explained in one sentence."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ValueError(
            f"{path} was refused by torch.load(weights_only=True), which reads only tensors and plain values "
            f"({_refusal_reason(exc)}); it was not written by save_checkpoint, and loading it any other way could run "
            "code hidden in it: do not, unless you trust where it came from."
        ) from exc
    except (RuntimeError, EOFError) as exc:
        reason = str(exc).split(". ")[0] or "the file ends too soon"
        raise ValueError(f"{path} cannot be read as a checkpoint ({reason}): it is damaged or cut short; use another copy.") from exc


def _first_mismatch(saved: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> str | None:
    """The first difference between saved weights and a model's, in words; None if they fit.

    >>> _first_mismatch({"w": torch.zeros(6, 1, 5, 5)}, {"w": torch.zeros(64, 3, 11, 11)})
    "'w' is 6×1×5×5 in the checkpoint but 64×3×11×11 in this model"
    >>> _first_mismatch({"w": torch.zeros(2)}, {"w": torch.zeros(2), "b": torch.zeros(1)})
    "this model's 'b' (1) is not in the checkpoint"
    """
    for key, tensor in expected.items():
        if key not in saved:
            return f"this model's {key!r} ({shape_text(tensor)}) is not in the checkpoint"
        if saved[key].shape != tensor.shape:
            return f"{key!r} is {shape_text(saved[key])} in the checkpoint but {shape_text(tensor)} in this model"
    extra = next((key for key in saved if key not in expected), None)
    return None if extra is None else f"the checkpoint's {extra!r} ({shape_text(saved[extra])}) has no place in this model"


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` read: the model (if given or rebuilt), states, history and meta data."""

    model: nn.Module | None
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict | None
    history: pd.DataFrame | None
    meta: dict[str, object]


def load_checkpoint(
    path: str | Path,
    model: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    map_location: str | torch.device = "cpu",
) -> Checkpoint:
    """Read a checkpoint of :func:`save_checkpoint` with ``weights_only=True`` and load it into ``model``.

    Without ``model``, the model is rebuilt with ``alexnet_lib.models.get`` when the
    checkpoint names a registered model and was saved with ``model_kwargs``. ``optimizer``
    gets the saved optimizer state.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}; check the path (python -m alexnet_lib train saves runs/<model>-<time>/checkpoint.pt)."
        )
    payload = _load_weights_only(path, map_location)
    if not isinstance(payload, dict) or payload.get("format") != _CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a checkpoint saved by alexnet_lib.runs.checkpoints.save_checkpoint.")
    meta = dict(payload.get("meta", {}))
    state = payload["model_state"]
    if model is None and "model_kwargs" in meta:
        name = str(meta.get("model_name"))
        if name in models.list_models():
            model = models.get(name, **dict(meta["model_kwargs"]))
    if model is not None:
        mismatch = _first_mismatch(state, model.state_dict())
        if mismatch is not None:
            raise ValueError(
                f"the checkpoint {path} holds the weights of {meta.get('model_name')!r}, which do not fit this "
                f"{model_name(model)}: {mismatch}; build the model the checkpoint was saved from "
                "(load_checkpoint(path) without a model rebuilds it when it can)."
            )
        model.load_state_dict(state)
    optimizer_state = payload.get("optimizer_state")
    if optimizer is not None:
        if optimizer_state is None:
            raise ValueError(f"the checkpoint {path} holds no optimizer state; save it with save_checkpoint(..., optimizer=...).")
        optimizer.load_state_dict(optimizer_state)
    history = None
    if "history" in payload:
        saved = payload["history"]
        history = pd.DataFrame(saved["rows"], columns=saved["columns"])
        history.attrs.update(saved.get("attrs", {}))
    return Checkpoint(model=model, model_state=state, optimizer_state=optimizer_state, history=history, meta=meta)
