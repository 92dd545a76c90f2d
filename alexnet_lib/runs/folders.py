"""Run folders: where ``python -m alexnet_lib train`` saves a run, without ever overwriting another.

A run's folder holds ``history.csv`` and ``checkpoint.pt``. The rules:

- A default folder, ``runs/<model>-<date>-<time>-<4 hex digits>``, is always new: it is created
  with ``mkdir(exist_ok=False)``, and another suffix is drawn if the name is taken, so two runs
  started in the same second get two folders.
- A folder given with ``--out`` is checked before any data is loaded or anything trained: it
  must be a folder (or be creatable as one) that we can write in, and it must not hold a run
  (the results of an earlier one, or the claim of one still going) unless ``force=True``.
  Other files in it are left alone.
- A run claims its folder with a file, ``.run-claim``, created exclusively (``O_EXCL``), so of
  two runs started into one folder the second is refused at once. The claim is removed when the
  results are saved, or when the run ends without results (an empty folder it created goes too).
- Each file is written to a temporary file and renamed into place (:func:`alexnet_lib.runs.checkpoints.save_history`,
  :func:`~alexnet_lib.runs.checkpoints.save_checkpoint`), so a crash never leaves a half-written file.
  A run whose claim was taken over by a forced run saves into a new folder beside it, so the two
  files in a folder always come from one run.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from torch import nn

from .checkpoints import save_checkpoint, save_history

__all__ = ["CLAIM_FILE", "RESULT_FILES", "RunFolder", "RunFolderError", "claim_run_folder", "new_run_folder"]

RESULT_FILES = ("history.csv", "checkpoint.pt")
CLAIM_FILE = ".run-claim"


class RunFolderError(ValueError):
    """The output folder cannot take this run: it is a file, cannot be written, or holds another run."""


def _cannot(action: str, folder: Path, exc: OSError) -> RunFolderError:
    return RunFolderError(f"cannot {action} the output folder {folder} ({exc.strerror or exc}); choose a place you can write to.")


def new_run_folder(parent: str | Path, name: str, attempts: int = 20) -> Path:
    """Create and return a new folder ``parent/<name>-<date>-<time>-<4 hex digits>``; never an existing one.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as parent:
    ...     first, second = new_run_folder(parent, "lenet"), new_run_folder(parent, "lenet")
    ...     first != second, first.name.startswith("lenet-"), first.is_dir()
    (True, True, True)
    """
    parent = Path(parent)
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot("create", parent, exc) from exc
    for _ in range(attempts):
        folder = parent / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue  # another run took this name in the same second: draw another suffix
        except OSError as exc:
            raise _cannot("create", folder, exc) from exc
    raise RunFolderError(f"found no free name for a run folder in {parent} in {attempts} tries; give one with --out.")


@dataclass
class RunFolder:
    """A folder claimed for one run: save its results there with :meth:`save`, or :meth:`release` it."""

    path: Path
    token: str
    created: bool  # this run created the folder (an empty one is removed on release)

    @property
    def claim(self) -> Path:
        return self.path / CLAIM_FILE

    def owned(self) -> bool:
        """Whether the folder's claim is still this run's (a forced run may have taken it over)."""
        try:
            return self.claim.read_text().split("\n", 1)[0] == self.token
        except OSError:
            return False

    def save(self, model: nn.Module, history: pd.DataFrame, **meta: object) -> Path:
        """Save ``history.csv`` and ``checkpoint.pt`` (with ``meta``); return the folder they went to.

        That is this folder, or a new one beside it if a forced run has taken this one over.
        The claim is released afterwards.
        """
        folder = self.path if self.owned() else new_run_folder(self.path.parent, self.path.name)
        save_history(folder / RESULT_FILES[0], history)
        save_checkpoint(folder / RESULT_FILES[1], model, history=history, **meta)
        self.release()
        return folder

    def release(self) -> None:
        """Remove the claim if it is still this run's, and the folder if this run created it and it is empty."""
        if self.owned():
            self.claim.unlink(missing_ok=True)
        if self.created:
            with contextlib.suppress(OSError):  # not empty: it holds results or files of others
                self.path.rmdir()


def _claim_text(token: str) -> str:
    return f"{token}\nprocess {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}\n"


def _claim_exclusively(folder: Path, token: str) -> None:
    """Create the claim file, failing with a RunFolderError if another run holds one."""
    claim = folder / CLAIM_FILE
    try:
        with open(claim, "x") as f:
            f.write(_claim_text(token))
    except FileExistsError:
        holder = claim.read_text().split("\n")[1:2] or ["unknown"]
        raise RunFolderError(
            f"{folder} is claimed by another run ({holder[0] or 'unknown'}) that has not saved yet; "
            f"choose another folder, or pass --force (force=True) if that run is gone."
        ) from None
    except OSError as exc:
        raise _cannot("write in", folder, exc) from exc


def _prepare(out: Path) -> bool:
    """Create ``out`` if needed (True if this call created it); a RunFolderError if it cannot be a run folder."""
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"the output folder {out} is a file; choose a folder (it is created if it does not exist).")
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot("create", out, exc) from exc
    return created


def claim_run_folder(out: str | Path | None, name: str, force: bool = False, parent: str | Path = "runs") -> RunFolder:
    """Check and claim the folder for a run of model ``name``, before any data is loaded.

    ``out=None``: a new folder under ``parent`` (see :func:`new_run_folder`). Otherwise ``out``
    must be a folder, or creatable as one, that we can write in, and hold no run unless
    ``force``. Raises :class:`RunFolderError` with what to do.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     run = claim_run_folder(Path(folder) / "seq", "lenet")
    ...     claim_run_folder(Path(folder) / "seq", "lenet")
    Traceback (most recent call last):
    ...
    alexnet_lib.runs.folders.RunFolderError: .../seq is claimed by another run (process ...) that has not saved yet; ...
    """
    token = secrets.token_hex(8)
    if out is None:
        folder = new_run_folder(parent, name)
        _claim_exclusively(folder, token)
        return RunFolder(folder, token, created=True)
    folder = Path(out)
    created = _prepare(folder)
    run = RunFolder(folder, token, created)
    if force:
        try:
            run.claim.write_text(_claim_text(token))
        except OSError as exc:
            raise _cannot("write in", folder, exc) from exc
        return run
    _claim_exclusively(folder, token)
    found = [name for name in RESULT_FILES if (folder / name).exists()]
    if found:
        run.release()
        raise RunFolderError(
            f"{folder} already holds a run ({', '.join(found)}); choose another folder, or pass --force (force=True) to replace it."
        )
    return run
