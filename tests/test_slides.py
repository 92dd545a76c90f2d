"""`make slides`: which cells are projected (tools/slide_cells.py) and the offline decks (tools/build_slides.py).

The decks' behaviour in a browser is tested in tests/browser/test_slides_browser.py.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

import build_slides  # tools/, on the import path through tests/conftest.py
import slide_cells

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REMOTE = re.compile(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", flags=re.IGNORECASE)


@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    """Every deck, built once into a temporary folder."""
    return build_slides.build(tmp_path_factory.mktemp("slides") / "slides")


def test_committed_notebooks_follow_the_slide_rules(capsys):
    assert slide_cells.main(["--check"]) == 0, capsys.readouterr().err


def test_check_names_the_notebook_that_differs_and_writing_fixes_it(tmp_path, capsys):
    path = tmp_path / NOTEBOOKS[1].name
    nb = json.loads(NOTEBOOKS[1].read_text(encoding="utf-8"))
    nb["cells"][0]["metadata"]["slideshow"]["slide_type"] = "-"
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert slide_cells.main(["--check", str(path)]) == 1
    assert f"{path}: cell 0 should have slide_type 'slide'" in capsys.readouterr().err
    assert slide_cells.main([str(path)]) == 0
    assert path.read_text(encoding="utf-8") == NOTEBOOKS[1].read_text(encoding="utf-8"), "same bytes as committed"


def _cell(cell_type, source, tags=(), outputs=(), slide_type=None):
    metadata = {"tags": list(tags)}
    if slide_type:
        metadata["slideshow"] = {"slide_type": slide_type}
    cell = {"cell_type": cell_type, "source": source, "metadata": metadata}
    if cell_type == "code":
        cell["outputs"] = list(outputs)
    return cell


FIGURE = {"output_type": "display_data", "data": {"image/png": "iVBOR...", "text/plain": "<Figure>"}}
PRINTED = {"output_type": "stream", "name": "stdout", "text": "55\n"}


def test_rules_on_a_small_notebook():
    cells = [
        _cell("markdown", "[badge](x)\n# 1 · Title\n\nWhy."),                        # title
        _cell("code", "# Colab only: install\nimport sys"),                          # install cell
        _cell("code", "%matplotlib inline\nprint(cfg.describe())", outputs=[PRINTED]),  # set-up
        _cell("markdown", "## A section\n\nText."),
        _cell("code", "print(55)", outputs=[PRINTED]),
        _cell("markdown", "And the figure:"),                                          # short lead-in
        _cell("code", "plot()", outputs=[FIGURE]),
        _cell("markdown", "A long paragraph,\nover\nthree lines."),
        _cell("code", "plot()", outputs=[FIGURE]),                                     # figure after long text
        _cell("markdown", "### A subsection"),
        _cell("code", "# only a comment"),
        _cell("code", "report, ok = doctor_report()\nprint(report)", outputs=[PRINTED]),
        _cell("markdown", "<details><summary>Solution</summary>\n\n1\n</details>\n\n**2.** Next question?"),
        _cell("markdown", "my own choice", tags=["slide-manual"], slide_type="notes"),
        _cell("markdown", "untouched", tags=["slide-manual"]),
    ]
    assert slide_cells.slide_types(cells) == [
        "slide", "skip", "skip", "slide", "-", "subslide", "-", "-", "subslide",
        "subslide", "skip", "skip", "subslide", "notes", "-"]
    nb = {"cells": cells}
    slide_cells.apply(nb)
    assert "slideshow" not in cells[-1]["metadata"], "a manual cell is never written"
    assert cells[-2]["metadata"]["slideshow"] == {"slide_type": "notes"}


def test_every_deck_has_several_slides_and_lacks_the_skipped_cells(decks):
    assert [deck.name for deck in decks] == [f"{path.stem}.slides.html" for path in NOTEBOOKS]
    for path, deck in zip(NOTEBOOKS, decks):
        text = deck.read_text(encoding="utf-8")
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        types = [cell["metadata"]["slideshow"]["slide_type"] for cell in cells]
        sections = len(re.findall(r"<section\b", text)) - types.count("slide")  # a slide is a section of subslides
        # the layout (tools/slide_layout.py) adds slides below where a notebook slide holds too much
        assert sections >= types.count("slide") + types.count("subslide") > 1, deck.name
        assert text.count('<aside class="notes">') >= 5, f"{deck.name}: the speaker notes carry the prose left out"
        assert "google.colab" not in text, f"{deck.name}: the Colab install cell is skipped"


def test_decks_load_nothing_from_the_internet_and_every_local_file_exists(decks):
    out = decks[0].parent
    for page in [*decks, out / "index.html"]:
        text = page.read_text(encoding="utf-8")
        assert not REMOTE.search(text), f"{page.name} loads {REMOTE.search(text).group(0)}"
        assert "Open In Colab" not in text, f"{page.name}: the title slide leaves the Colab badge out"
        for name in set(re.findall(r"vendor/[\w@./-]+", text)):
            assert (out / name).is_file(), f"{page.name} names {name}, which is not in the build"
    assert not (out / "vendor" / "mathjax" / "unpacked").exists()
    assert (out / "vendor" / "mathjax" / "config" / "TeX-AMS_CHTML-full.js").is_file()


def test_index_links_every_deck_by_title(decks):
    index = (decks[0].parent / "index.html").read_text(encoding="utf-8")
    assert index.count("<li>") == len(decks)
    assert '<a href="01_convolution_arithmetic.slides.html">1 · Convolution arithmetic' in index


def test_build_replaces_its_own_folder_and_refuses_a_foreign_one(tmp_path):
    out = tmp_path / "slides"
    build_slides.build(out, NOTEBOOKS[:1])
    (out / "stale.html").write_text("old")
    assert build_slides.build(out, NOTEBOOKS[1:2]) == [out / f"{NOTEBOOKS[1].stem}.slides.html"]
    assert not (out / "stale.html").exists() and not (out / f"{NOTEBOOKS[0].stem}.slides.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slides"], "no staging folder left behind"
    shutil.rmtree(out)
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match="was not made by this tool"):
        build_slides.build(out, NOTEBOOKS[:1])
    assert (out / "notes.txt").read_text() == "mine"


def test_a_missing_notebook_is_one_clear_sentence(tmp_path):
    with pytest.raises(SystemExit, match="cannot read the notebook .*nope.ipynb"):
        build_slides.build(tmp_path / "slides", [tmp_path / "nope.ipynb"])
    assert not (tmp_path / "slides").exists()


def test_a_long_slide_goes_on_below_at_a_paragraph_or_between_code_cells():
    long_output = {"output_type": "stream", "name": "stdout", "text": "line\n" * 15}
    cells = [
        _cell("markdown", "# Title"),
        _cell("markdown", "## Section\n\nText."),
        _cell("code", "print(table)", outputs=[long_output]),  # 16 lines
        _cell("markdown", "So:"),                               # 19: still fits
        _cell("code", "print(more)", outputs=[long_output]),   # would be 35, but it follows its lead-in
        _cell("markdown", "Then:"),                             # goes below
        _cell("code", "a = 1\n" * 10),                         # 11
        _cell("code", "print(again)", outputs=[long_output]),  # 11 + 16 > 24, after code: goes below
    ]
    assert slide_cells.slide_types(cells) == ["slide", "slide", "-", "-", "-", "subslide", "-", "subslide"]
