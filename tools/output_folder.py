"""Output folders that the build tools replace as a whole, and only when they made them.

``make student``, ``make site`` and ``make slides`` each build into a fresh folder beside their
output (``staging``) and then swap it in: a failed build leaves the old output intact, and a
reader never sees half a site. A folder holds a marker file naming the tool that made it; a
folder without that marker (the user's own files) is never replaced: the tool stops and says so.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


def staging_beside(out: Path, marker: str) -> Path:
    """A new empty folder next to ``out`` to build into; refuses an ``out`` that has no ``marker`` inside."""
    if out.exists() and not (out / marker).exists():
        raise SystemExit(f"{out} exists and was not made by this tool (no {marker} file inside): "
                         "remove it or choose another folder with --out.")
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))


def swap_in(new: Path, out: Path, marker: str, tool: str) -> None:
    """Mark ``new`` as made by ``tool`` and put it in the place of ``out`` (whose old copy is then removed)."""
    (new / marker).write_text(f"made by {tool}; replaced on every run\n")
    old = out.with_name(f".{out.name}-old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)  # kept until the new folder is in place
    new.rename(out)
    shutil.rmtree(old, ignore_errors=True)
