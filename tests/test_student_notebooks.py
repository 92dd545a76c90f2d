"""`make student`: the notebooks without solutions, and the answer key kept apart."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("student_notebooks", ROOT / "tools" / "student_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_copy_has_no_solution_and_keeps_everything_else(tool, path):
    teacher = nbformat.read(path, as_version=4)
    student, solutions = tool.strip_solutions(teacher)
    exercises = sum("answer = None" in c.source for c in teacher.cells if c.cell_type == "code")
    assert len(solutions) >= exercises > 0, "every exercise with an answer cell has its solution"
    assert all(text for text in solutions)
    text = "\n".join(c.source for c in student.cells)
    assert "<details>" not in text and "Solution</summary>" not in text
    teacher_code = [c.source for c in teacher.cells if c.cell_type == "code"]
    assert [c.source for c in student.cells if c.cell_type == "code"] == teacher_code
    assert "## Summary" in text and "## Exercises" in text  # the questions and the summary stay
    assert "<details>" in "\n".join(c.source for c in teacher.cells), "the teacher's copy is unchanged"


def test_build_writes_notebooks_and_answer_key_and_replaces_its_own_folder(tool, tmp_path):
    out = tmp_path / "student"
    count = tool.build(out, NOTEBOOKS[:2])
    key = (out / "ANSWER_KEY.md").read_text()
    assert count > 0 and key.count("**1.**") == 2
    for path in NOTEBOOKS[:2]:
        _, solutions = tool.strip_solutions(nbformat.read(path, as_version=4))
        assert all(s in key for s in solutions)
        assert "Solution</summary>" not in (out / "notebooks" / path.name).read_text()
    tool.build(out, NOTEBOOKS[:1])  # a second run replaces the first whole
    assert sorted(p.name for p in (out / "notebooks").iterdir()) == [NOTEBOOKS[0].name]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student"]  # no staging folder left


def test_build_refuses_a_folder_it_did_not_make(tool, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="was not made by this tool"):
        tool.build(out, NOTEBOOKS[:1])
    assert (out / "notes.txt").read_text() == "keep me"
