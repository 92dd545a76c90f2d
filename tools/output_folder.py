"""Output folders that the build tools replace as a whole, and only when they made them.

``make student``, ``make site`` and ``make slides`` each build into a fresh folder beside their
output (``staging``) and then swap it in: a failed build leaves the old output intact, and a
reader never sees half a site. A folder holds a marker file naming the tool that made it; a
folder without that marker (the user's own files) is never replaced: the tool stops and says so.
The staging folder gets the mode the umask gives a new folder (``tempfile.mkdtemp`` alone makes
it 0700), so an output copied to a shared place can be read by others. A folder that cannot be
written (a read-only disk, a full one) stops the tool with one sentence (:func:`cannot_write`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def folder_mode() -> int:
    """The mode the umask gives a new folder, e.g. 0o755 under the usual umask 022.

    >>> old = os.umask(0o027)
    >>> oct(folder_mode()), oct(os.umask(old))  # and the umask is as it was
    ('0o750', '0o27')
    """
    umask = os.umask(0)  # the only way to read it is to set it: put it back at once
    os.umask(umask)
    return 0o777 & ~umask


def new_folder(parent: Path, prefix: str) -> Path:
    """A new empty folder in ``parent`` named ``prefix`` and random letters, with :func:`folder_mode`'s mode."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    folder.chmod(folder_mode())
    return folder


def cannot_write(out: Path, exc: OSError) -> SystemExit:
    """The one-sentence exit for an output folder that could not be written.

    >>> import errno
    >>> print(cannot_write(Path("build/student"), OSError(errno.EROFS, "Read-only file system")))
    cannot write the output folder build/student (Read-only file system); choose a folder you can write to with --out.
    """
    reason = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc))
    return SystemExit(f"cannot write the output folder {out} ({reason}); choose a folder you can write to with --out.")


def staging_beside(out: Path, marker: str) -> Path:
    """A new empty folder next to ``out`` to build into; refuses an ``out`` that has no ``marker`` inside."""
    if out.exists() and not (out / marker).exists():
        raise SystemExit(f"{out} exists and was not made by this tool (no {marker} file inside): "
                         "remove it or choose another folder with --out.")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return new_folder(out.parent, f".{out.name}-")
    except OSError as exc:
        raise cannot_write(out, exc) from exc


def swap_in(new: Path, out: Path, marker: str, tool: str) -> None:
    """Mark ``new`` as made by ``tool`` and put it in the place of ``out`` (whose old copy is then removed)."""
    old = out.with_name(f".{out.name}-old")
    try:
        (new / marker).write_text(f"made by {tool}; replaced on every run\n")
        shutil.rmtree(old, ignore_errors=True)
        if out.exists():
            out.rename(old)  # kept until the new folder is in place
        new.rename(out)
    except OSError as exc:
        if old.exists() and not out.exists():
            old.rename(out)  # the new folder could not take its place: the old one goes back
        raise cannot_write(out, exc) from exc
    shutil.rmtree(old, ignore_errors=True)
