"""Checkpoints and histories on disk: written atomically, read back with ``weights_only=True``.

:func:`save_checkpoint` refuses NaN or infinite weights; it serializes in memory first, so the
bytes a file needs are known before it is written. :func:`write_together` writes files to
temporary files renamed into place: a crash never leaves a half-written file, the files of one
call appear together or not at all, and a full disk is one sentence with the bytes needed
(:class:`NoRoomError`). :func:`load_checkpoint` reads only tensors and plain values (no code
from the file), checks them before building anything, and says in one sentence why a file does
not fit a model.
"""

from __future__ import annotations

import errno
import io
import os
import pickle
import reprlib
import secrets
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pandas as pd
import torch
from torch import nn

from .. import models
from ..config import model_name, shape_text

__all__ = [
    "Checkpoint", "NoRoomError", "checkpoint_bytes", "history_bytes", "load_checkpoint", "load_weights_only", "save_checkpoint",
    "save_history", "write_together",
]

_CHECKPOINT_FORMAT = "alexnet_lib checkpoint 1"
_PLAIN_TYPES = (str, int, float, bool, type(None))


class NoRoomError(OSError):
    """Files could not be written for want of room (a full disk, or a full quota); ``reason`` says how much they need."""

    def __init__(self, reason: str, code: int) -> None:
        super().__init__(f"{reason}; free some space, or write them somewhere else.")
        self.reason, self.errno = reason, code


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


def _no_room(files: dict[Path, bytes], exc: OSError) -> NoRoomError:
    """The NoRoomError for ``files`` that did not fit: their names, the folder, the bytes they need and those free."""
    folder = next(iter(files)).parent
    names = " and ".join(path.name for path in files)
    need = sum(len(data) for data in files.values())
    try:
        free = f" and the disk has {shutil.disk_usage(folder).free:,} free" if exc.errno == errno.ENOSPC else ""
    except OSError:  # the folder itself is gone: say nothing about its disk
        free = ""
    they = "it needs" if len(files) == 1 else "they need"
    reason = f"no room for {names} in {folder}: {they} {need:,} bytes{free} ({exc.strerror or os.strerror(exc.errno)})"
    return NoRoomError(reason, exc.errno)


def write_together(files: dict[Path, bytes]) -> None:
    """Write each file to a temporary file beside it, then rename them all into place: all appear, or none does.

    A crash, a Ctrl-C or a full disk leaves the old files (or none), never a half-written one; of
    two processes writing the same path, one wins whole. A full disk or quota raises
    :class:`NoRoomError`, which names the bytes needed; what this call wrote is removed. A
    symbolic link in a file's place is replaced, never followed.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_together({Path(folder) / "a.txt": b"1", Path(folder) / "b.txt": b"22"})
    ...     sorted(p.name for p in Path(folder).iterdir())
    ['a.txt', 'b.txt']
    """
    temporaries = {path: path.with_name(f".{path.name}.{secrets.token_hex(8)}.partial") for path in files}
    opened: list[Path] = []  # the temporary files this call created (only those are removed)
    placed: list[Path] = []
    try:
        for path, data in files.items():
            with open(temporaries[path], "xb") as f:  # 'x': a new file (never through a link), as the umask allows
                opened.append(temporaries[path])
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        for path, temporary in temporaries.items():
            os.replace(temporary, path)  # renames onto the name: a link there is replaced, its target untouched
            placed.append(path)
    except BaseException as exc:
        for path in placed + opened:  # the files appear together or not at all, and no temporary file stays
            path.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise _no_room(files, exc) from exc
        raise


def history_bytes(history: pd.DataFrame) -> bytes:
    """The history as CSV bytes (NaN as an empty field), as :func:`save_history` writes it.

    >>> history_bytes(pd.DataFrame({"epoch": [1], "train_loss": [0.5]}))
    b'epoch,train_loss\\n1,0.5\\n'
    """
    return history.to_csv(index=False).encode()


def save_history(path: str | Path, history: pd.DataFrame) -> Path:
    """Save the history as CSV (NaN as an empty field), written atomically; return the path.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = save_history(Path(folder) / "history.csv", pd.DataFrame({"epoch": [1], "train_loss": [0.5]}))
    ...     print(path.read_text().strip())
    epoch,train_loss
    1,0.5
    """
    path = Path(path)
    data = history_bytes(history)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_together({path: data})
    return path


def _first_nonfinite(state: dict[str, torch.Tensor]) -> str | None:
    """The name of the first floating-point tensor of ``state`` holding a NaN or an infinity, or None."""
    return next((k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())), None)


def checkpoint_bytes(
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    history: pd.DataFrame | None = None,
    **meta: object,
) -> bytes:
    """The checkpoint file of the model's weights (and optimizer state, history and ``meta``), as bytes in memory.

    Everything is stored as tensors and plain Python values, so :func:`load_checkpoint` can
    read it with ``torch.load(weights_only=True)``, which runs no code from the file. The
    model's registered name goes in ``meta['model_name']``; give ``model_kwargs=...`` (the
    arguments of ``models.get``) to let ``load_checkpoint`` rebuild the model by itself.
    Weights holding NaN or infinite values are refused (a ValueError). The bytes are a second
    copy of the weights in memory, until they are written.

    >>> len(checkpoint_bytes(nn.Linear(2, 3))) > 4 * (2 * 3 + 3)  # the 9 weights and biases, and their names
    True
    """
    meta = {key: _plain(key, value) for key, value in meta.items()}
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    bad = _first_nonfinite(state)
    if bad is not None:
        raise ValueError(
            f"the weights {bad!r} of {model_name(model)} hold NaN or infinite values (its training diverged), so they "
            "are not saved; train again with a lower learning rate."
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
    buffer = io.BytesIO()
    torch.save(payload, buffer)  # in memory: a full disk cannot fail it half-way, and its size is known
    return buffer.getvalue()


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    history: pd.DataFrame | None = None,
    **meta: object,
) -> Path:
    """Save the model's weights (and optimizer state, history and ``meta``) to ``path``; return the path.

    The file is :func:`checkpoint_bytes`, written to a temporary file renamed into place, so it
    is never half-written; NaN or infinite weights are refused (a ValueError), and a full disk
    is a :class:`NoRoomError` that names the bytes needed (the model is left as it was).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_checkpoint(Path(folder) / "c.pt", nn.Linear(2, 3)).name
    'c.pt'
    """
    path = Path(path)
    data = checkpoint_bytes(model, optimizer, history, **meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_together({path: data})
    return path


def _refusal_reason(exc: pickle.UnpicklingError) -> str:
    """The line of torch's long weights_only refusal that says what it met (e.g. 'Unsupported global ...')."""
    boilerplate = ("Weights only load failed", "Please file an issue", "Check the documentation")
    lines = [line.strip() for line in str(exc).splitlines() if line.strip() and not line.strip().startswith(boilerplate)]
    return lines[0] if lines else type(exc).__name__


def _open_regular_file(path: Path) -> IO[bytes]:
    """``path`` opened for reading if it is a regular file (a link to one is fine); else an error saying what it is.

    Opened without blocking and checked on the open file, so a pipe put in its place cannot hang the reader.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no checkpoint at {path}; check the path (python -m alexnet_lib train saves runs/<model>-<time>/checkpoint.pt)."
        ) from None
    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode):
        return os.fdopen(fd, "rb")
    os.close(fd)
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(
            f"{path} is a folder, not a checkpoint file; give the file inside it, e.g. {path / 'checkpoint.pt'}.")
    raise ValueError(
        f"{path} is not a regular file (it is a pipe, a socket or a device), so it holds no checkpoint; give the file a run saved.")


def _unpacked_size(f: IO[bytes]) -> int:
    """The bytes the parts of a zip file (torch.save's format) say they unpack to; 0 for a file that is no zip.

    torch.save stores its parts uncompressed, so they never add up to more than the file; a
    compressed part could make torch.load ask for a thousand times the file's size in memory.
    """
    try:
        with zipfile.ZipFile(f) as archive:
            return sum(part.file_size for part in archive.infolist())
    except zipfile.BadZipFile:
        return 0  # an older format, or no checkpoint at all: torch.load says which
    finally:
        f.seek(0)


def load_weights_only(path: Path, map_location: str | torch.device) -> object:
    """``torch.load(path, weights_only=True)``, its failures explained in one sentence (a run's ``resume.pt`` too)."""
    try:
        with _open_regular_file(path) as f:
            size, unpacked = os.fstat(f.fileno()).st_size, _unpacked_size(f)
            if unpacked > size:
                raise ValueError(
                    f"{path} unpacks to {unpacked:,} bytes from {size:,}, but save_checkpoint never compresses a "
                    "checkpoint: it was made to fill the memory of whoever loads it; do not use it."
                )
            return torch.load(f, map_location=map_location, weights_only=True)
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


def _is_plain(value: object) -> bool:
    """Whether ``value`` is a plain value, or a list or tuple of them: what model_kwargs may hold.

    >>> _is_plain(5), _is_plain([64, 192]), _is_plain(torch.zeros(1)), _is_plain({"a": 1})
    (True, True, False, False)
    """
    if isinstance(value, (list, tuple)):
        return all(type(v) in _PLAIN_TYPES for v in value)
    return type(value) in _PLAIN_TYPES


def _is_table(history: object) -> bool:
    """Whether a checkpoint's ``history`` entry is what save_checkpoint writes: named columns, rows of plain values.

    Each row must be a list of its own: a pickle can repeat one row by reference, a few bytes each,
    and so make a table of any size.
    """
    if not isinstance(history, dict) or not isinstance(history.get("attrs", {}), dict):
        return False
    columns, rows = history.get("columns"), history.get("rows")
    if not isinstance(columns, list) or not all(type(c) is str for c in columns) or not isinstance(rows, list):
        return False
    if len({id(row) for row in rows}) != len(rows):
        return False
    return all(isinstance(row, list) and len(row) == len(columns) and all(type(v) in _PLAIN_TYPES for v in row) for row in rows)


def _not_stored(state: dict[str, torch.Tensor]) -> str | None:
    """The first tensor with more elements than its storage holds (a stride of 0 repeats one value), or None.

    A file could otherwise describe a huge tensor with a few bytes, and a model built to fit it.

    >>> _not_stored({"w": torch.zeros(3), "b": torch.zeros(1).expand(1000)})
    'b'
    """
    return next((k for k, v in state.items() if v.numel() * v.element_size() > v.untyped_storage().nbytes()), None)


def _checked(path: Path, payload: object) -> tuple[dict[str, torch.Tensor], dict[str, object]]:
    """The checkpoint's weights and meta data, after checking they are what save_checkpoint writes; else a ValueError."""
    if not isinstance(payload, dict) or payload.get("format") != _CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a checkpoint saved by alexnet_lib.runs.checkpoints.save_checkpoint.")
    state, meta = payload.get("model_state"), payload.get("meta", {})
    kwargs = meta.get("model_kwargs") if isinstance(meta, dict) else None
    if not isinstance(state, dict) or not all(
        type(k) is str and isinstance(v, torch.Tensor) and v.layout == torch.strided for k, v in state.items()
    ):
        problem = "its model_state is not a dict of named dense tensors"
    elif _not_stored(state) is not None:
        problem = f"its tensor {_not_stored(state)!r} has more elements than the file stores"
    elif not isinstance(meta, dict) or not isinstance(meta.get("model_name", ""), str):
        problem = "its meta data is not a dict with a model_name"
    elif kwargs is not None and not (isinstance(kwargs, dict) and all(type(k) is str and _is_plain(v) for k, v in kwargs.items())):
        problem = "its model_kwargs are not a dict of plain values (str, int, float, bool, None, or lists of them)"
    elif "history" in payload and not _is_table(payload["history"]):
        problem = "its history is not a table of plain values"
    else:
        problem = None
    if problem is not None:
        raise ValueError(
            f"{path} is not a checkpoint as save_checkpoint writes it: {problem}; it was altered or made by hand, so use another copy.")
    bad = _first_nonfinite(state)
    if bad is not None:
        raise ValueError(
            f"the checkpoint {path} holds NaN or infinite values in its weights {bad!r}, so a model loaded from it would "
            "answer NaN; save_checkpoint never writes such weights (the file was altered or saved another way): "
            "use another checkpoint, or train again."
        )
    return state, meta


def _rebuilt(path: Path, state: dict[str, torch.Tensor], meta: dict[str, object]) -> nn.Module | None:
    """The model the checkpoint names, built with its ``model_kwargs`` once its weights are seen to fit; None if it names none.

    The model is first built on the ``meta`` device (shapes only, no memory), so a file cannot make
    us build a model bigger than the weights it holds.
    """
    name, kwargs = meta.get("model_name"), meta.get("model_kwargs")
    if kwargs is None or name not in models.list_models():
        return None
    try:
        shapes = models.get(name, device="meta", **kwargs)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(
            f"the checkpoint {path} asks for {name} with model_kwargs={reprlib.repr(kwargs)}, which do not build it: {exc}") from exc
    mismatch = _first_mismatch(state, shapes.state_dict())
    if mismatch is not None:
        raise ValueError(
            f"the checkpoint {path} asks for {name} with model_kwargs={reprlib.repr(kwargs)}, but its weights do not fit "
            f"that model ({mismatch}), so it was not built: the file was altered or made by hand; use another copy."
        )
    return models.get(name, **kwargs)


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
    checkpoint names a registered model and was saved with ``model_kwargs`` (and only after its
    weights are seen to fit that model). ``optimizer`` gets the saved optimizer state. A file
    that is not a checkpoint, is damaged, holds NaN weights or does not fit ``model`` is a
    ValueError in one sentence.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = save_checkpoint(Path(folder) / "c.pt", models.get("lenet", seed=0), model_kwargs={})
    ...     type(load_checkpoint(path).model).__name__
    'LeNet'
    """
    path = Path(path)
    payload = load_weights_only(path, map_location)
    state, meta = _checked(path, payload)
    if model is None:
        model = _rebuilt(path, state, meta)
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
