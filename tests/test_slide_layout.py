"""tools/slide_layout.py: what each lecture slide holds, and that what it leaves out goes into the speaker notes.

The decks' real sizes at 1280x720 are measured in tests/browser/test_slides_browser.py.
"""

from __future__ import annotations

import nbformat
import pytest

import slide_layout as layout  # tools/, on the import path through tests/conftest.py

PARAGRAPH = " ".join(f"word{i}" for i in range(50)) + "."
BADGE = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.example/nb.ipynb)"
PNG = "iVBORw0KGgo="


def _nb(*cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _md(source, slide_type="-", tags=()):
    cell = nbformat.v4.new_markdown_cell(source)
    cell.metadata.update(slideshow={"slide_type": slide_type}, tags=list(tags))
    return cell


def _code(source, outputs=(), slide_type="-", tags=()):
    cell = nbformat.v4.new_code_cell(source, outputs=list(outputs))
    cell.metadata.update(slideshow={"slide_type": slide_type}, tags=list(tags))
    return cell


def _slides(nb) -> tuple[list[list], list[str]]:
    """The laid-out cells slide by slide (notes left out), and the notes' texts."""
    slides, notes = [], []
    for cell in nb.cells:
        kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
        if kind == "notes":
            notes.append(cell.source)
        elif kind in ("slide", "subslide") or not slides:
            slides.append([cell])
        else:
            slides[-1].append(cell)
    return slides, notes


def _words(slide) -> int:
    return sum(layout.words(c.source) for c in slide if c.cell_type == "markdown")


def test_the_title_slide_holds_the_title_and_the_goals_and_no_colab_link():
    title = f"{BADGE}\n# 3 · A notebook\n\nAn introduction of a few sentences.\n\n**Learning goals**\n- one\n- two"
    slides, notes = _slides(layout.lay_out(_nb(_md(title, "slide"), _md("## Next", "slide"))))
    first = "\n".join(c.source for c in slides[0])
    assert "# 3 · A notebook" in first and "- one\n- two" in first
    assert "introduction" not in first and notes == ["An introduction of a few sentences."]
    assert not any("colab" in c.source.lower() for slide in slides for c in slide) and "colab" not in str(notes).lower()


def test_prose_past_the_word_limit_goes_into_the_notes_in_order_and_nothing_is_lost():
    paragraphs = [PARAGRAPH.replace("word", f"p{n}w") for n in range(5)]
    nb = layout.lay_out(_nb(_md("# T", "slide"), _md("## Section\n\n" + "\n\n".join(paragraphs), "slide")))
    slides, notes = _slides(nb)
    assert all(_words(slide) <= layout.WORDS for slide in slides)
    shown = [c.source for c in slides[1] if c.cell_type == "markdown"]
    assert shown == ["## Section", paragraphs[0], paragraphs[1]]
    assert notes == paragraphs[2:], "the rest, in order, for the speaker"


def test_one_paragraph_longer_than_a_slide_shows_its_first_sentences():
    sentences = [f"Sentence {n} has " + " ".join(["many"] * 20) + "." for n in range(8)]
    slides, notes = _slides(layout.lay_out(_nb(_md("# T", "slide"), _md(" ".join(sentences), "slide"))))
    assert slides[1][0].source == " ".join(sentences[:5]) and _words(slides[1]) <= layout.WORDS
    assert notes == [" ".join(sentences[5:])]


def test_long_code_goes_on_below_in_pieces_of_at_most_15_lines_that_keep_every_line():
    source = "\n".join(f"x{i} = {i}" for i in range(40))
    output = nbformat.v4.new_output("stream", text="done\n")
    slides, _ = _slides(layout.lay_out(_nb(_md("# T", "slide"), _md("## Code", "slide"), _code(source, [output]))))
    pieces = [c for slide in slides for c in slide if c.cell_type == "code" and c.source]
    assert [len(p.source.splitlines()) for p in pieces] == [14, 13, 13]
    assert "\n".join(p.source for p in pieces) == source
    assert all(sum(len(c.source.splitlines()) for c in s if c.cell_type == "code") <= layout.CODE_LINES for s in slides)
    assert slides[2][0].source == '<p class="continued">Code, continued</p>', "a slide below says what it continues"
    assert slides[-1][-1].outputs[0]["text"] == "done\n" and slides[-1][-1].metadata["transient"]["remove_source"]


def test_long_printed_output_and_long_tables_are_cut_and_the_notes_say_how_much():
    text = nbformat.v4.new_output("stream", text="".join(f"line {i}\n" for i in range(40)))
    rows = "".join(f"<tr><td>{i}</td></tr>" for i in range(30))
    table = nbformat.v4.new_output("display_data", data={"text/html": f"<table><tr><th>n</th></tr>{rows}</table>",
                                                         "text/plain": "a table"})
    nb = layout.lay_out(_nb(_md("# T", "slide"), _code("print()", [text], "slide"), _code("show()", [table], "slide")))
    slides, notes = _slides(nb)
    printed = slides[1][-1].outputs[0]["text"].splitlines()
    assert printed == [f"line {i}" for i in range(layout.OUTPUT_LINES)] + ["... 28 more lines in the notebook"]
    shown = slides[2][-1].outputs[0]["data"]
    assert shown["text/html"].count("<td>") == layout.TABLE_ROWS and "text/plain" not in shown
    assert notes == ["The output goes on for 28 more lines in the notebook.",
                     "The table goes on for 22 more rows in the notebook."]


def test_a_table_too_wide_for_the_slide_loses_its_last_columns_and_the_notes_say_so():
    wide = "".join(f"<td>{'x' * 30}</td>" for _ in range(6))
    table = nbformat.v4.new_output("display_data", data={"text/html": f"<table><tr>{wide}</tr></table>"})
    slides, notes = _slides(layout.lay_out(_nb(_md("# T", "slide"), _code("show()", [table], "slide"))))
    assert slides[1][-1].outputs[0]["data"]["text/html"].count("<td>") == 2  # 3 × (30 × 13 + 24) px > 1,180
    assert notes == ["The table has 4 more columns in the notebook."]


def test_a_figure_that_moves_down_takes_the_sentence_that_introduces_it():
    figure = nbformat.v4.new_output("display_data", data={"image/png": PNG})
    lead_in = "The picture below shows the kernels."
    code = "\n".join(f"step{i}()" for i in range(12))
    nb = layout.lay_out(_nb(_md("# T", "slide"), _md(f"## Kernels\n\n{PARAGRAPH}\n\n{lead_in}", "slide"),
                            _code(code, [figure])))
    slides, _ = _slides(nb)
    with_figure = next(s for s in slides if any(c.cell_type == "code" and c.outputs for c in s))
    assert [c.source for c in with_figure][1:] == [lead_in, ""], "the sentence, then the figure, on one slide"
    assert all(lead_in not in c.source for s in slides if s is not with_figure for c in s)


def test_a_saved_widget_becomes_its_picture_and_a_note_to_run_it_live():
    widget = nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "m", "version_major": 2, "version_minor": 0},
        "image/png": PNG, "text/plain": "Calculator()"})
    slides, notes = _slides(layout.lay_out(_nb(_md("# T", "slide"), _code("calculator()", [widget], "slide"))))
    assert slides[1][-1].outputs[0]["data"] == {"image/png": PNG}
    assert notes == ["Switch to JupyterLab or Colab for this demonstration: the widget responds only in a running "
                     "notebook."]


@pytest.mark.parametrize("slide_type", ["subslide", "-"])
def test_a_cell_tagged_slide_manual_is_shown_whole_with_its_own_slide_type(slide_type):
    source = "\n".join(f"x{i} = {i}" for i in range(40))
    nb = layout.lay_out(_nb(_md("# T", "slide"), _code(source, slide_type=slide_type, tags=["slide-manual"])))
    assert nb.cells[-1].source == source and nb.cells[-1].metadata["slideshow"]["slide_type"] == slide_type


def test_the_notebook_itself_is_not_changed():
    nb = _nb(_md(f"{BADGE}\n# T\n\n{PARAGRAPH}", "slide"), _code("\n".join(["x = 1"] * 40)))
    before = nbformat.writes(nb)
    layout.lay_out(nb)
    assert nbformat.writes(nb) == before


def test_a_collapsed_solution_stays_whole_and_counts_as_its_summary():
    solution = f"<details><summary>Solution</summary>\n\n{PARAGRAPH}\n\n{PARAGRAPH}\n</details>"
    nb = layout.lay_out(_nb(_md("# T", "slide"), _md(f"**1.** A question?\n\n{solution}", "subslide")))
    slides, notes = _slides(nb)
    assert [c.source for c in slides[1]] == ["**1.** A question?", solution] and notes == []
    assert layout.words(solution) == 1 and _words(slides[1]) == 4


def test_the_paragraph_above_a_heading_ends_the_slide_before_it():
    nb = layout.lay_out(_nb(_md("# T", "slide"), _md("## One", "slide"), _md("The end of one.\n\n## Two\n\nText.", "slide")))
    slides, _ = _slides(nb)
    assert [[c.source for c in slide] for slide in slides[1:]] == [["## One", "The end of one."], ["## Two", "Text."]]
