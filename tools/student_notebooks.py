"""The students' notebooks without solutions, and the teacher's answer key beside them.

The notebooks in ``notebooks/`` are the teacher's version: after each exercise a collapsed
``<details><summary>Solution</summary> ... </details>`` block holds the answer. This tool writes

- ``<out>/notebooks/*.ipynb``: the same notebooks with every solution block removed (the rest
  of each cell, such as the next exercise's question, stays as it was);
- ``<out>/ANSWER_KEY.md``: every solution, by notebook and in order, for the teacher only.

The output folder is replaced as a whole, atomically: the new one is built beside it and
swapped in, so a failed run leaves the old one intact (a folder that cannot be written, on a
read-only or full disk, is one sentence). A folder this tool did not make is never
replaced (it has no ``.student-build`` marker): the tool stops and says so.

Usage: python tools/student_notebooks.py [--out build/student]   (or: make student)
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import output_folder  # noqa: E402  (a sibling tool, found through the line above)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
MARKER = ".student-build"
SOLUTION = re.compile(r"<details>\s*<summary>\s*Solution\s*</summary>(.*?)</details>\s*", flags=re.DOTALL)


def strip_solutions(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[str]]:
    """A copy of ``nb`` without solution blocks (cells left empty are dropped), and the solutions' texts."""
    student, solutions = nbformat.from_dict(nb), []
    cells = []
    for cell in student.cells:
        if cell.cell_type == "markdown":
            solutions += [m.group(1).strip() for m in SOLUTION.finditer(cell.source)]
            cell.source = SOLUTION.sub("", cell.source).strip()
            if not cell.source:
                continue
        cells.append(cell)
    student.cells = cells
    return student, solutions


def answer_key(solutions: dict[str, list[str]]) -> str:
    """The teacher's answer key as markdown: one section per notebook, its solutions numbered."""
    lines = ["# Answer key (teacher's copy)", "",
             "Written by `make student` from the notebooks' solution blocks. Do not hand it out.", ""]
    for name, texts in solutions.items():
        lines += [f"## {name}", ""]
        for number, text in enumerate(texts, start=1):
            lines += [f"**{number}.**", "", text, ""]
    return "\n".join(lines)


def build(out: Path, notebooks: list[Path]) -> int:
    """Write the student notebooks and the answer key into ``out``; return the number of solutions."""
    staging = output_folder.staging_beside(out, MARKER)
    try:
        students, solutions = {}, {}
        for path in notebooks:
            students[path.name], solutions[path.name] = strip_solutions(nbformat.read(path, as_version=4))
        try:  # a full or read-only disk: one sentence, and the old output stays
            (staging / "notebooks").mkdir()
            for name, student in students.items():
                nbformat.write(student, staging / "notebooks" / name)
            (staging / "ANSWER_KEY.md").write_text(answer_key(solutions), encoding="utf-8")
        except OSError as exc:
            raise output_folder.cannot_write(out, exc) from exc
        output_folder.swap_in(staging, out, MARKER, "tools/student_notebooks.py")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sum(len(texts) for texts in solutions.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "student", help="output folder (default: build/student)")
    args = parser.parse_args(argv)
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    count = build(args.out, notebooks)
    print(f"{len(notebooks)} student notebooks without their {count} solutions in {args.out / 'notebooks'}; "
          f"the answer key is {args.out / 'ANSWER_KEY.md'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
