"""TEACHING.md: one section per notebook, whose references exist, and run times that match the measurements."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "TEACHING.md").read_text(encoding="utf-8")
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TIMES = ROOT / "benchmarks" / "notebook_times.csv"


def section(stem: str) -> str:
    """The guide's section about notebook ``stem`` (from its ### heading to the next heading)."""
    match = re.search(rf"^### [^\n]*\(`{stem}`\)\n(.*?)(?=^#|\Z)", GUIDE, flags=re.M | re.S)
    assert match, f"TEACHING.md has no section for {stem}: add one (goals, prerequisites, class time, demos, exercises)"
    return match.group(1)


def headings(nb) -> set[str]:
    return {line.lstrip("#").strip() for cell in nb.cells if cell.cell_type == "markdown"
            for line in cell.source.splitlines() if line.startswith("## ") or line.startswith("### ")}


def field(text: str, name: str) -> str:
    match = re.search(rf"^- \*\*{name}:\*\*(.*?)(?=^- \*\*|\Z)", text, flags=re.M | re.S)
    assert match, f"no '{name}' entry"
    return " ".join(match.group(1).split())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_has_a_complete_section(path):
    text = section(path.stem)
    for name in ("Goals", "Prerequisites", "In class", "Demonstrate live", "Assign"):
        assert field(text, name)
    assert re.search(r"\d+ minutes", field(text, "In class"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_demonstrated_sections_and_assigned_exercises_exist(path):
    nb = nbformat.read(path, as_version=4)
    text = section(path.stem)
    demos = re.findall(r"\*([^*]+)\*", field(text, "Demonstrate live"))
    assert demos, "name the sections to demonstrate in *italics*, as the notebook's headings read"
    missing = [d for d in demos if " ".join(d.split()) not in headings(nb)]
    assert not missing, f"{path.stem} has no heading {missing}"
    assign = field(text, "Assign")
    numbers = {int(n) for n in re.findall(r"\d+", assign)}
    for a, b in re.findall(r"(\d+) to (\d+)", assign):
        numbers |= set(range(int(a), int(b) + 1))
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    exercises = {int(n) for n in re.findall(r"^\*\*(\d+)\.", markdown, flags=re.M)}
    assert numbers == exercises, f"{path.stem}: the guide assigns {sorted(numbers)}, the notebook has {sorted(exercises)}"


def test_run_times_match_the_recorded_measurements():
    rows = list(csv.DictReader(TIMES.open()))
    table = re.search(r"^\| notebook \| `ci`, (.*?) \| `cpu`, (.*?) \| `gpu`(?:, (.*?))? \|\n\|[- |]+\|\n(.*?)\n\n", GUIDE,
                      flags=re.M | re.S)
    assert table, "TEACHING.md lost its run-time table"
    ci_machine, cpu_header, gpu_header = table.group(1), table.group(2), table.group(3) or ""
    lines = table.group(4).splitlines()
    assert [re.match(r"\| `(\w+)`", line).group(1) for line in lines] == [p.stem for p in NOTEBOOKS]
    for line in lines:
        stem, ci, cpu, gpu = [cell.strip(" `") for cell in line.strip("|").split("|")]
        for profile, shown, header in (("ci", ci, ci_machine), ("cpu", cpu, cpu_header)):
            row = next(r for r in rows if r["notebook"] == stem and r["profile"] == profile and r["machine"] in header)
            assert shown == f"{row['seconds']} s" and row["date"] in header, (stem, profile, shown, row)
        measured = [r for r in rows if r["notebook"] == stem and r["profile"] == "gpu"
                    and (r["machine"] in gpu_header or not gpu_header)]  # no machine named: any recorded time
        assert (gpu == "not measured") == (not measured), f"{stem}: a gpu time is recorded; put it in the table"
        if measured:
            assert gpu == f"{measured[0]['seconds']} s" and measured[0]["date"] in gpu_header, (stem, gpu, measured[0])


def test_record_times_replaces_a_machines_rows(tmp_path):
    import profile_check as tool

    path = tmp_path / "times.csv"
    tool.record_times({"01_a": 10.4, "02_b": 3.6}, "ci", "box A", path)
    tool.record_times({"01_a": 12.0}, "ci", "box B", path)
    tool.record_times({"01_a": 9.0}, "ci", "box A", path)
    rows = list(csv.DictReader(path.open()))
    assert [(r["notebook"], r["machine"], r["seconds"]) for r in rows] == [
        ("01_a", "box A", "9"), ("02_b", "box A", "4"), ("01_a", "box B", "12")]


# "slide 2.4", "slides 3–3.12", "slides 3-5": a slide or a range, as the decks number them
CITED_SLIDES = re.compile(r"\bslides? (\d+(?:\.\d+)?)(?:\s*[–-]\s*(\d+(?:\.\d+)?))?", flags=re.I)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_cited_slides_exist_in_the_deck(path):
    import build_slides
    import slide_layout

    numbers = [n for n, _ in slide_layout.outline(slide_layout.lay_out(build_slides._read(path)))]
    cited = CITED_SLIDES.findall(section(path.stem))
    slides = {n for pair in cited for n in pair if n}
    assert len(slides) >= 3, f"{path.stem}: the lesson plan cites {sorted(slides)}; cite at least 3 slides"
    missing = sorted(slides - set(numbers))
    assert not missing, (f"{path.stem}'s deck has no slide {missing}: see "
                         f"python tools/build_slides.py --outline notebooks/{path.name}")
    backwards = [f"{a}–{b}" for a, b in cited if b and numbers.index(a) > numbers.index(b)]
    assert not backwards, f"{path.stem}: ranges that end before they start: {backwards}"
