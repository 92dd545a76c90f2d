"""Which cells a lecturer projects: the reveal.js slide type of every cell, set by rules.

``make slides`` (nbconvert's slides exporter) reads each cell's ``metadata.slideshow.slide_type``,
the field JupyterLab's property inspector shows as "Slide Type":

- ``slide``: starts a new slide (left to right); ``subslide``: starts a slide below (down);
- ``-``: continues the slide above; ``fragment``: appears on the next key press;
- ``skip``: left out of the deck; ``notes``: the speaker notes (press S in the deck).

This tool writes that field into every cell of the notebooks in ``notebooks/``, by the rules
below; the first rule that matches a cell decides.

1. A cell tagged ``slide-manual`` is the lecturer's: its slide type is left as it is. To choose a
   cell's type by hand, set it in JupyterLab and add the tag ``slide-manual``.
2. ``skip``, cells that would only clutter a projected slide:
   the Colab install cell (the first code cell, it starts with ``# Colab only:``);
   the set-up cell before the first section (``%matplotlib inline``, prints the run's profile);
   a code cell that holds only comments and has no output;
   the environment report (a cell that calls ``doctor_report``: the versions and paths of the
   machine that ran it).
   ``notes``: the line that says where the committed outputs come from (the markdown cell tagged
   ``outputs-label``, which ``make notebooks`` writes): the lecturer finds it in the speaker notes.
3. ``slide``: the title cell (the first cell) and a markdown cell with a ``## `` heading (a section).
4. ``subslide``: a markdown cell with a ``### `` heading (a subsection), and an exercise's question
   (a markdown cell with a line that starts like ``**2.**``).
5. ``subslide``: a code cell whose output holds a figure, so that the figure gets the room.
   When the cell just above is a short markdown lead-in (at most two lines, such as "And the
   first image of each class:"), the lead-in starts the subslide instead and the figure follows
   it; when that lead-in already starts a slide, the figure stays on it.
6. ``subslide``: where a slide would grow past about 24 lines, counting source lines, printed
   lines, table rows and 15 for a figure, the next markdown cell (or a code cell that follows
   a code cell) goes on on a subslide below. ``make slides`` then fits each slide to the
   projector (``tools/slide_layout.py``): more slides below, and prose into the speaker notes.
7. ``-``: everything else continues the slide above.

Rule 6 counts the committed outputs: when re-executing a notebook changes how long an output
is, run this tool again (``--check`` says so).

Usage: python tools/slide_cells.py [--check] [NOTEBOOK ...]   (default: every notebook in notebooks/)
``--check`` changes nothing: it exits with status 1 and names the first notebook and cell whose
slide type differs from the rules (a test runs it).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
MANUAL_TAG = "slide-manual"
LABEL_TAG = "outputs-label"  # tools/profile_check.py --in-place writes it
FIGURES = ("image/png", "image/jpeg", "image/svg+xml")
SHORT_LEAD_IN = 2  # lines of markdown that travel with the figure below them
LINES_PER_SLIDE = 24  # about what a 1280x720 slide shows at the decks' font sizes
FIGURE_LINES = 15  # a figure takes up to 60% of the slide's height
QUESTION = re.compile(r"^\*\*\d+\.", flags=re.MULTILINE)


def _text(value: str | list[str]) -> str:
    """A notebook's multi-line string, which the file may store as a list of lines."""
    return "".join(value) if isinstance(value, list) else value


def _source(cell: dict) -> str:
    """The cell's source as one string."""
    return _text(cell.get("source", ""))


def _has_heading(cell: dict, level: int) -> bool:
    """Whether ``cell`` is markdown with a heading of ``level`` (2 for ``## ``) at the start of a line."""
    prefix = "#" * level + " "
    return cell["cell_type"] == "markdown" and any(line.startswith(prefix) for line in _source(cell).splitlines())


def _has_figure(cell: dict) -> bool:
    """Whether one of the cell's outputs is an image."""
    return any(mime in output.get("data", {}) for output in cell.get("outputs", []) for mime in FIGURES)


def _is_skipped(cells: list[dict], index: int) -> bool:
    """Rule 2: install cell, set-up cell before the first section, comment-only code, environment report."""
    cell = cells[index]
    if cell["cell_type"] != "code":
        return False
    source = _source(cell).strip()
    first_code = next((i for i, c in enumerate(cells) if c["cell_type"] == "code"), None)
    before_sections = not any(_has_heading(c, 2) for c in cells[:index])
    return ((index == first_code and source.startswith("# Colab only:"))
            or (before_sections and source.startswith("%matplotlib inline"))
            or (not cell.get("outputs") and all(line.lstrip().startswith("#") for line in source.splitlines()))
            or "doctor_report(" in source)


def _rule_type(cells: list[dict], index: int) -> str:
    """The slide type that rules 2 to 5 give cell ``index``, before figures pull in their lead-in."""
    cell = cells[index]
    if _is_skipped(cells, index):
        return "skip"
    if LABEL_TAG in cell.get("metadata", {}).get("tags", []):
        return "notes"
    if index == 0 or _has_heading(cell, 2):
        return "slide"
    if _has_heading(cell, 3) or (cell["cell_type"] == "markdown" and QUESTION.search(_source(cell))):
        return "subslide"
    if cell["cell_type"] == "code" and _has_figure(cell):
        return "subslide"
    return "-"


def slide_types(cells: list[dict]) -> list[str]:
    """The slide type of each cell by the rules (manual cells keep theirs; "-" where they have none)."""
    types = [_rule_type(cells, i) for i in range(len(cells))]
    _join_lead_ins(cells, types)
    manual = {i for i, cell in enumerate(cells) if MANUAL_TAG in cell.get("metadata", {}).get("tags", [])}
    for i in manual:
        types[i] = cells[i]["metadata"].get("slideshow", {}).get("slide_type", "-")
    _split_long_slides(cells, types, manual)
    return types


def _join_lead_ins(cells: list[dict], types: list[str]) -> None:
    """Rule 5's second half: a figure's short markdown lead-in starts its subslide, the figure follows."""
    for i in range(1, len(cells)):
        lead_in = cells[i - 1]
        if (cells[i]["cell_type"] == "code" and _has_figure(cells[i]) and lead_in["cell_type"] == "markdown"
                and len(_source(lead_in).strip().splitlines()) <= SHORT_LEAD_IN):
            if types[i - 1] == "-":
                types[i - 1] = "subslide"
            if types[i - 1] in ("slide", "subslide"):
                types[i] = "-"


def _lines(cell: dict) -> int:
    """About how many lines of a slide ``cell`` fills: its source, its printed text, table rows, figures."""
    lines = len(_source(cell).splitlines())
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if any(mime in data for mime in FIGURES):
            lines += FIGURE_LINES
        elif "<table" in _text(data.get("text/html", "")):
            lines += _text(data["text/html"]).count("<tr")
        else:
            lines += len(_text(output.get("text", data.get("text/plain", ""))).splitlines())
    return lines


def _split_long_slides(cells: list[dict], types: list[str], manual: set[int]) -> None:
    """Rule 6: a slide that grows past LINES_PER_SLIDE goes on below, at a markdown cell or between code cells."""
    lines = 0
    for i, cell in enumerate(cells):
        if types[i] in ("skip", "notes"):
            continue
        size = _lines(cell)
        breakable = cell["cell_type"] == "markdown" or cells[i - 1]["cell_type"] == "code"
        if types[i] == "-" and i not in manual and lines and lines + size > LINES_PER_SLIDE and breakable:
            types[i] = "subslide"
        lines = size if types[i] in ("slide", "subslide") else lines + size


def apply(nb: dict) -> list[int]:
    """Write the rules' slide types into ``nb``'s cells; return the indices of the cells changed."""
    changed = []
    for i, (cell, slide_type) in enumerate(zip(nb["cells"], slide_types(nb["cells"]))):
        if MANUAL_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.get("metadata", {}).get("slideshow", {}).get("slide_type") != slide_type:
            cell.setdefault("metadata", {}).setdefault("slideshow", {})["slide_type"] = slide_type
            changed.append(i)
    return changed


def _read(path: Path) -> dict:
    """The notebook at ``path`` as JSON, or one sentence on why it cannot be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SystemExit(f"cannot read the notebook {path} ({error}): name an existing .ipynb file.") from None


def main(argv: list[str] | None = None) -> int:
    """Set (or with --check, compare) the slide types of the notebooks; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks (default: every notebook in notebooks/)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a notebook differs from the rules")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    written = 0
    for path in paths:
        nb = _read(path)
        changed = apply(nb)
        if changed and args.check:
            cell = nb["cells"][changed[0]]
            print(f"{path}: cell {changed[0]} should have slide_type {cell['metadata']['slideshow']['slide_type']!r} "
                  f"by the rules ({len(changed)} cells differ); run `python tools/slide_cells.py`, or tag a cell "
                  f"'{MANUAL_TAG}' to keep a type set by hand.", file=sys.stderr)
            return 1
        if changed:
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            written += 1
    if not args.check:
        print(f"slide types set by the rules in {len(paths)} notebooks ({written} changed).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
