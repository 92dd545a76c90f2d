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
  A claim that could not be written whole (a full disk) is removed at once; a claim is read and
  replaced without following a symbolic link in its place.
- The two files are serialized in memory, written to temporary files and renamed into place
  together (:func:`alexnet_lib.runs.checkpoints.write_together`): both appear or neither does,
  and a crash never leaves a half-written file. A run whose claim was taken over by a forced run
  saves into a new folder beside it, so the two files in a folder always come from one run.
- A full disk (or any failed write) loses nothing trained: the results go to a new folder under
  the system's temporary folder instead, and :class:`RunNotSavedError` says in one sentence where,
  and how many bytes the run needed. The claim stays until :meth:`RunFolder.release`, so the model,
  still in memory, can be saved again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from torch import nn

from ..config import model_name
from .checkpoints import NoRoomError, checkpoint_bytes, history_bytes, write_together

__all__ = [
    "CLAIM_FILE", "RESULT_FILES", "RunFolder", "RunFolderError", "RunNotSavedError", "claim_run_folder", "new_run_folder",
]

RESULT_FILES = ("history.csv", "checkpoint.pt")
CLAIM_FILE = ".run-claim"
_CLAIM_SIZE = 4096  # a claim is two short lines: no more of a file in its place is read


class RunFolderError(ValueError):
    """The output folder cannot take this run: it is a file, cannot be written, or holds another run."""


class RunNotSavedError(RunFolderError):
    """A run's results could not be written in its folder; ``saved_in`` is the folder they went to instead, or None."""

    def __init__(self, message: str, saved_in: Path | None) -> None:
        super().__init__(message)
        self.saved_in = saved_in


def _why(exc: OSError) -> str:
    """The system's short reason for ``exc`` ('No space left on device'), without the errno and file name."""
    return exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc))


def _cannot(action: str, folder: Path, exc: OSError) -> RunFolderError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return RunFolderError(f"cannot {action} the output folder {folder}: its disk is full ({_why(exc)}); "
                              "free some space or choose another folder.")
    return RunFolderError(f"cannot {action} the output folder {folder} ({_why(exc)}); choose a place you can write to.")


def _make_new_folder(parent: Path, name: str, attempts: int) -> Path:
    """Create a new folder ``parent/<name>-<date>-<time>-<4 hex digits>``; an OSError if it cannot."""
    parent.mkdir(parents=True, exist_ok=True)
    for _ in range(attempts):
        folder = parent / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue  # another run took this name in the same second: draw another suffix
    raise FileExistsError(errno.EEXIST, f"no free name for a run folder in {attempts} tries")  # no file name: see below


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
        return _make_new_folder(parent, name, attempts)
    except FileExistsError as exc:
        if exc.filename is not None:
            raise _cannot("create", parent, exc) from exc  # parent is a file, or a link to nothing
        raise RunFolderError(f"found no free name for a run folder in {parent} in {attempts} tries; give one with --out.") from None
    except OSError as exc:
        raise _cannot("create", Path(exc.filename or parent), exc) from exc


def _read_claim(claim: Path) -> str | None:
    """The text of the claim file, read without following a link; None if there is none.

    A RunFolderError if something else than a plain file is in its place (a link, a folder, a pipe).
    """
    try:
        fd = os.open(claim, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise _cannot("read the claim in", claim.parent, exc) from exc
        kind = "a symbolic link"
    else:
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                return os.read(fd, _CLAIM_SIZE).decode(errors="replace")
        finally:
            os.close(fd)
        kind = "a folder, a pipe or a device"
    raise RunFolderError(
        f"{claim} is {kind}, where a run writes a plain file; remove it, or pass --force (force=True) to replace it "
        "with this run's claim."
    )


def _claim_token(claim: Path) -> str:
    """The token of the run holding the claim ('' if the claim has none); see :func:`_read_claim`."""
    return (_read_claim(claim) or "").split("\n", 1)[0].strip()


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
            return _claim_token(self.claim) == self.token
        except RunFolderError:  # a link or a folder in its place: not ours
            return False

    def save(self, model: nn.Module, history: pd.DataFrame, **meta: object) -> Path:
        """Save ``history.csv`` and ``checkpoint.pt`` (with ``meta``) together; return the folder they went to.

        That is this folder (made again if it was removed meanwhile), or a new one beside it if a
        forced run has taken this one over; the claim is released afterwards. If they cannot be
        written there (a full disk), they are saved in a new folder under the system's temporary
        folder and :class:`RunNotSavedError` says where and how many bytes they need; the claim is
        kept until :meth:`release`.
        """
        files = {RESULT_FILES[0]: history_bytes(history), RESULT_FILES[1]: checkpoint_bytes(model, history=history, **meta)}
        ours = self.owned() or not os.path.lexists(self.path)  # a folder removed during the run is still ours
        try:
            here = self.path.absolute()
            folder = _write_results(files, self.path if ours else None, here.parent, here.name)
        except OSError as exc:
            raise self._saved_elsewhere(files, model_name(model), exc) from exc
        self.release()
        return folder

    def _saved_elsewhere(self, files: dict[str, bytes], name: str, exc: OSError) -> RunNotSavedError:
        """Save ``files`` in a new folder under the temporary folder; the error that says where (or that it failed too)."""
        need = sum(len(data) for data in files.values())
        reason = exc.reason if isinstance(exc, NoRoomError) else (
            f"{' and '.join(files)} could not be written in {self.path} ({_why(exc)}; they need {need:,} bytes)")
        spare = Path(tempfile.gettempdir())
        try:
            saved_in = _write_results(files, None, spare, name)
        except OSError as second:
            return RunNotSavedError(
                f"{reason}, and {spare} could not take them either ({_why(second)}), so nothing was saved: "
                "free some space and save again (the trained weights are lost when this process ends).", None)
        return RunNotSavedError(
            f"{reason}; they were saved in {saved_in} instead: move them where you want them, and free some space "
            "before the next run.", saved_in)

    def release(self) -> None:
        """Remove the claim if it is still this run's, and the folder if this run created it and it is empty."""
        if self.owned():
            self.claim.unlink(missing_ok=True)
        if self.created:
            with contextlib.suppress(OSError):  # not empty: it holds results or files of others
                self.path.rmdir()


def _write_results(files: dict[str, bytes], folder: Path | None, parent: Path, name: str) -> Path:
    """Write ``files`` together into ``folder``, or into a new folder under ``parent`` if it is None; return the folder.

    An OSError if they cannot be written; a new folder is then removed again.
    """
    created = folder is None or not folder.is_dir()
    if folder is None:
        folder = _make_new_folder(parent, name, attempts=20)
    else:
        folder.mkdir(parents=True, exist_ok=True)
    try:
        write_together({folder / file: data for file, data in files.items()})
    except OSError:
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return folder


def _claim_text(token: str) -> bytes:
    return f"{token}\nprocess {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode()


def _holder(text: str) -> str:
    """Who holds a claim, from its second line, as printable text of a sensible length ('unknown' if it says nothing)."""
    line = "".join(c for c in (text.split("\n")[1:2] or [""])[0] if c.isprintable())[:100]
    return line.strip() or "unknown"


def _claim_exclusively(folder: Path, token: str) -> None:
    """Create the claim file whole, failing with a RunFolderError if another run holds one.

    ``O_EXCL`` makes the file only if there is none (and never through a link); a claim that
    could not be written whole (a full disk) is removed again, so it never blocks the folder.
    """
    claim = folder / CLAIM_FILE
    try:
        fd = os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        text = _read_claim(claim) or ""
        if not text.strip():
            raise RunFolderError(
                f"{folder} holds an empty claim ({CLAIM_FILE}), left by a run that stopped while claiming it; if no run "
                "is starting there at this instant, remove it, or pass --force (force=True)."
            ) from None
        raise RunFolderError(
            f"{folder} is claimed by another run ({_holder(text)}) that has not saved yet; "
            f"choose another folder, or pass --force (force=True) if that run is gone."
        ) from None
    except OSError as exc:
        raise _cannot("write in", folder, exc) from exc
    try:
        with open(fd, "wb") as f:
            f.write(_claim_text(token))
    except OSError as exc:
        claim.unlink(missing_ok=True)
        raise _cannot("write in", folder, exc) from exc


def _claim_by_force(folder: Path, token: str) -> None:
    """Write this run's claim over any other: a new file renamed onto the name, so a link there is replaced, not followed."""
    try:
        write_together({folder / CLAIM_FILE: _claim_text(token)})
    except OSError as exc:
        raise _cannot("write in", folder, exc) from exc


def _prepare(out: Path) -> bool:
    """Create ``out`` if needed (True if this call created it); a RunFolderError if it cannot be a run folder."""
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"the output folder {out} is a file; choose a folder (it is created if it does not exist).")
    if out.is_symlink() and not out.exists():
        raise RunFolderError(f"the output folder {out} is a symbolic link to nothing ({os.readlink(out)}); "
                             "remove it or choose another folder.")
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot("create", out, exc) from exc
    return created


def claim_run_folder(out: str | Path | None, name: str, force: bool = False, parent: str | Path = "runs",
                     continuing: bool = False) -> RunFolder:
    """Check and claim the folder for a run of model ``name``, before any data is loaded.

    ``out=None``: a new folder under ``parent`` (see :func:`new_run_folder`). Otherwise ``out``
    must be a folder, or creatable as one, that we can write in, and hold no run unless
    ``force``, or ``continuing`` (the run resumes the one there, whose results it replaces).
    Raises :class:`RunFolderError` with what to do.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     run = claim_run_folder(Path(folder) / "seq", "lenet")
    ...     claim_run_folder(Path(folder) / "seq", "lenet")
    Traceback (most recent call last):
    ...
    alexnet_lib.runs.folders.RunFolderError: .../seq is claimed by another run (process ...) that has not saved yet; ...
    """
    token = secrets.token_hex(8)
    if isinstance(out, str) and not out.strip():
        raise RunFolderError(
            f"the output folder is {'an empty name' if not out else 'a name of only spaces'}, which would put the run in "
            "the current folder; give a folder with --out (is the variable you passed empty?), or leave --out out for a "
            "new folder under runs/."
        )
    if out is None:
        folder = new_run_folder(parent, name)
        try:
            _claim_exclusively(folder, token)
        except RunFolderError:
            folder.rmdir()
            raise
        return RunFolder(folder, token, created=True)
    folder = Path(out)
    created = _prepare(folder)
    run = RunFolder(folder, token, created)
    try:
        if force:
            _claim_by_force(folder, token)
        else:
            _claim_exclusively(folder, token)
    except RunFolderError:
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    if force or continuing:
        return run
    found = [name for name in RESULT_FILES if os.path.lexists(folder / name)]
    if found:
        run.release()
        raise RunFolderError(
            f"{folder} already holds a run ({', '.join(found)}); choose another folder, or pass --force (force=True) to replace it."
        )
    return run
