"""The lecture decks in Chromium: each opens offline and advances to its last slide, readable at 1280x720.

The decks are built once into a temporary folder and served on 127.0.0.1 (reveal.js is loaded
through require.js, which needs http://). reveal.js then defines no ``window.Reveal``: the test
asks require.js for the module the deck loaded, turns the slide transition off so that every
slide can be measured as soon as it is shown, and moves with the space bar, as a lecturer does.
No console error and no request to the internet is tolerated: the decks make none (the build
turns the notebooks' Colab badge image into a text link).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
FIGURE_WIDTH = (300, 1280)  # rendered width of a figure, in CSS pixels of the 1280x720 window
TABLE_FONT = 12  # smallest rendered font size of a table's text, in pixels

# The reveal.js module the deck loaded, with transitions off; returns the number of slides.
OPEN_REVEAL = """async (id) => {
    const reveal = await new Promise((resolve, reject) => require([id], resolve, reject));
    reveal.configure({transition: "none", backgroundTransition: "none"});
    window.__reveal = reveal;
    return reveal.getTotalSlides();
}"""

# Where the deck is, and what the slide shown holds: figures' boxes, tables' right edge and smallest font.
SLIDE_STATE = """() => {
    const reveal = window.__reveal;
    const slide = reveal.getCurrentSlide();
    const scale = slide.getBoundingClientRect().width / slide.offsetWidth;
    const shown = element => element.getClientRects().length > 0 && element.getBoundingClientRect().width > 0;
    const figures = [...slide.querySelectorAll(".jp-OutputArea-output img, .widget-output img")].filter(shown)
        .map(img => img.getBoundingClientRect()).map(box => ({left: box.left, right: box.right, width: box.width}));
    const fonts = [...slide.querySelectorAll("table td, table th")].filter(shown)
        .map(cell => parseFloat(getComputedStyle(cell).fontSize) * scale);
    const tableRight = Math.max(0, ...[...slide.querySelectorAll("table")].filter(shown)
        .map(table => table.getBoundingClientRect().right));
    const {h, v} = reveal.getIndices();
    return {hash: location.hash, position: [h, v || 0], figures, tableRight,
            tableFont: fonts.length ? Math.min(...fonts) : null,
            last: reveal.isLastSlide()};
}"""


@pytest.fixture(scope="module")
def tool():
    import build_slides

    return build_slides


@pytest.fixture(scope="module")
def decks_url(tool, serve, tmp_path_factory):
    """The address of every deck, built once for this module."""
    out = tmp_path_factory.mktemp("slides") / "slides"
    tool.build(out)
    return serve(out)


def _shown_outputs(notebook: Path) -> tuple[int, int]:
    """The figures and the HTML tables among the outputs of the cells the deck shows."""
    cells = [c for c in json.loads(notebook.read_text(encoding="utf-8"))["cells"]
             if c["metadata"].get("slideshow", {}).get("slide_type") != "skip"]
    data = [output.get("data", {}) for cell in cells for output in cell.get("outputs", [])]
    return (sum("image/png" in d for d in data), sum("<table" in "".join(d.get("text/html", "")) for d in data))


def _check_readable(state: dict, deck: str) -> None:
    where = f"{deck} {state['hash'] or '#/'}"
    for figure in state["figures"]:
        assert FIGURE_WIDTH[0] <= figure["width"] <= FIGURE_WIDTH[1], f"{where}: a figure {figure['width']:.0f} px wide"
        assert 0 <= figure["left"] and figure["right"] <= 1280, f"{where}: a figure outside the window: {figure}"
    if state["tableFont"] is not None:
        assert state["tableFont"] >= TABLE_FONT, f"{where}: table text {state['tableFont']:.1f} px high"
    assert state["tableRight"] <= 1280, f"{where}: a table reaches {state['tableRight']:.0f} px, past the window"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_deck_opens_offline_and_advances_to_its_last_slide(page, tool, decks_url, notebook):
    deck = f"{notebook.stem}.slides.html"
    page.goto(f"{decks_url}/{deck}")
    timeout = pytest.importorskip("playwright.sync_api").TimeoutError  # importable: `page` skips first otherwise
    try:
        page.wait_for_selector(".reveal.ready", timeout=15_000)
    except timeout:
        pytest.fail(f"{deck} did not open within 15 s: {page.errors}")
    page.wait_for_function("[...document.images].every(image => image.complete)")
    total = page.evaluate(OPEN_REVEAL, f"{tool.exporter().reveal_url_prefix}/dist/reveal.js")
    assert total == page.locator(".reveal .slides section:not(:has(section))").count() > 1
    state = page.evaluate(SLIDE_STATE)
    assert state["position"] == [0, 0]
    _check_readable(state, deck)
    figures, tables = len(state["figures"]), state["tableFont"] is not None
    for _ in range(total - 1):
        before = state
        page.keyboard.press("Space")
        page.wait_for_function("hash => location.hash !== hash", arg=before["hash"])
        state = page.evaluate(SLIDE_STATE)
        assert state["position"] > before["position"], f"{deck}: {before['hash']} -> {state['hash']}"
        _check_readable(state, deck)
        figures, tables = figures + len(state["figures"]), tables + (state["tableFont"] is not None)
    assert state["last"], f"{deck}: {total} slides, but {state['hash']} is not the last"
    expected_figures, expected_tables = _shown_outputs(notebook)
    assert (figures, min(tables, 1)) == (expected_figures, min(expected_tables, 1)), "the checks saw every output"
    assert page.blocked == [], f"{deck} asked the internet for {page.blocked}"
    assert page.errors == [], f"{deck}: {page.errors}"
