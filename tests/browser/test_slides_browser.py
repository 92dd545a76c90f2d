"""The lecture decks in Chromium: each opens offline and advances to its last slide, readable at 1280x720.

Every slide of every deck is measured as it is shown: no slide taller than the 720 pixels of the
projector; prose at 28 px or more, code and printed output at 22 px or more, tables at 20 px or more
(so that 08's widest table fits); at most 120 words of prose and 15 lines of code a slide
(tools/slide_layout.py lays them out so). ``S`` opens the speaker notes.

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
SLIDE_HEIGHT = 720  # the projector's height, in pixels
FONTS = {"prose": 28, "code": 22, "table": 20}  # smallest rendered font size of each kind of text, in pixels
WORDS, CODE_LINES = 120, 15  # at most, on one slide

# The reveal.js module the deck loaded, with transitions off; returns the number of slides.
OPEN_REVEAL = """async (id) => {
    const reveal = await new Promise((resolve, reject) => require([id], resolve, reject));
    reveal.configure({transition: "none", backgroundTransition: "none"});
    window.__reveal = reveal;
    return reveal.getTotalSlides();
}"""

# Where the deck is, and what the slide shown holds: its height, figures' boxes, tables' right edge, the
# smallest font of each kind of text (with the text), its words of prose and its lines of code.
SLIDE_STATE = r"""() => {
    const reveal = window.__reveal;
    const slide = reveal.getCurrentSlide();
    const scale = slide.getBoundingClientRect().width / slide.offsetWidth;
    const shown = element => element.getClientRects().length > 0 && element.getBoundingClientRect().width > 0;
    const figures = [...slide.querySelectorAll(".jp-OutputArea-output img, .widget-output img")].filter(shown)
        .map(img => img.getBoundingClientRect()).map(box => ({left: box.left, right: box.right, width: box.width}));
    const fonts = {prose: [], code: [], table: []};
    for (const element of slide.querySelectorAll("*")) {
        const text = [...element.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join("").trim();
        if (!text || !shown(element) || element.closest("aside.notes, .MathJax, .MathJax_Display, mjx-container")) continue;
        const kind = element.closest("table") ? "table" : element.closest("pre, code, .jp-RenderedText") ? "code" : "prose";
        fonts[kind].push([parseFloat(getComputedStyle(element).fontSize) * scale, text.slice(0, 40)]);
    }
    const smallest = list => list.length ? list.reduce((a, b) => (a[0] <= b[0] ? a : b)) : null;
    const tableRight = Math.max(0, ...[...slide.querySelectorAll("table")].filter(shown)
        .map(table => table.getBoundingClientRect().right));
    const prose = [...slide.querySelectorAll(".jp-RenderedMarkdown")].filter(shown).map(e => e.innerText).join(" ");
    const code = [...slide.querySelectorAll(".jp-InputArea pre")].filter(shown)
        .map(pre => pre.innerText.replace(/\n$/, "").split("\n").length);
    const {h, v} = reveal.getIndices();
    return {hash: location.hash, position: [h, v || 0], figures, tableRight, height: slide.scrollHeight,
            tableFont: fonts.table.length ? smallest(fonts.table)[0] : null,
            smallest: {prose: smallest(fonts.prose), code: smallest(fonts.code), table: smallest(fonts.table)},
            words: prose.split(/\s+/).filter(word => /\w/.test(word)).length,
            codeLines: code.reduce((a, b) => a + b, 0), last: reveal.isLastSlide()};
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
    assert state["height"] <= SLIDE_HEIGHT, f"{where}: the slide is {state['height']} px tall, past the screen"
    for kind, least in FONTS.items():
        smallest = state["smallest"][kind]
        assert smallest is None or smallest[0] >= least, f"{where}: {kind} at {smallest[0]:.1f} px: {smallest[1]!r}"
    assert state["words"] <= WORDS, f"{where}: {state['words']} words of prose"
    assert state["codeLines"] <= CODE_LINES, f"{where}: {state['codeLines']} lines of code"
    for figure in state["figures"]:
        assert FIGURE_WIDTH[0] <= figure["width"] <= FIGURE_WIDTH[1], f"{where}: a figure {figure['width']:.0f} px wide"
        assert 0 <= figure["left"] and figure["right"] <= 1280, f"{where}: a figure outside the window: {figure}"
    assert state["tableRight"] <= 1280, f"{where}: a table reaches {state['tableRight']:.0f} px, past the window"


def _open(page, tool, url: str) -> int:
    """Open the deck at ``url`` with transitions off; the number of its slides."""
    page.goto(url)
    timeout = pytest.importorskip("playwright.sync_api").TimeoutError  # importable: `page` skips first otherwise
    try:
        page.wait_for_selector(".reveal.ready", timeout=15_000)
    except timeout:
        pytest.fail(f"{url} did not open within 15 s: {page.errors}")
    page.wait_for_function("[...document.images].every(image => image.complete)")
    return page.evaluate(OPEN_REVEAL, f"{tool.exporter().reveal_url_prefix}/dist/reveal.js")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_deck_opens_offline_and_advances_to_its_last_slide(page, tool, decks_url, notebook):
    deck = f"{notebook.stem}.slides.html"
    total = _open(page, tool, f"{decks_url}/{deck}")
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


def test_the_checks_fail_on_a_slide_too_tall_too_wordy_with_too_much_code_or_small_type(page, tool, serve, tmp_path):
    # A lecturer's own cells (tagged slide-manual) are shown whole: here 200 words and 40 lines of code on one slide.
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A deck"), nbformat.v4.new_markdown_cell(" ".join(["word"] * 200)),
                nbformat.v4.new_code_cell("\n".join(f"x{i} = {i}" for i in range(40)))]
    for cell, slide_type in zip(nb.cells, ("slide", "slide", "-")):
        cell.metadata.update(slideshow={"slide_type": slide_type}, tags=["slide-manual"])
    path = tmp_path / "99_too_much.ipynb"
    nbformat.write(nb, path)
    url = serve(tool.build(tmp_path / "slides", [path])[0].parent)
    _open(page, tool, f"{url}/{path.stem}.slides.html")
    page.keyboard.press("Space")
    page.wait_for_function("() => window.__reveal.getIndices().h === 1")
    state = page.evaluate(SLIDE_STATE)
    for problem, fixed in (("px tall", {"height": 700}), ("200 words of prose", {"words": 100}),
                           ("40 lines of code", {"codeLines": 15})):
        with pytest.raises(AssertionError, match=problem):
            _check_readable(state, "the test deck")
        state |= fixed
    _check_readable(state, "the test deck")  # the three, fixed, were the only faults
    page.add_style_tag(content=".reveal .jp-RenderedMarkdown p { font-size: 20px !important; }")
    with pytest.raises(AssertionError, match=r"prose at 19\.2 px: 'word word"):  # 20 px, scaled by reveal.js's 1/1.04
        _check_readable(page.evaluate(SLIDE_STATE) | fixed | {"height": 700, "words": 100}, "the test deck")


def test_s_opens_the_speaker_notes_with_what_the_slide_leaves_out(page, tool, decks_url):
    _open(page, tool, f"{decks_url}/02_lenet.slides.html")
    with page.expect_popup() as opened:
        page.keyboard.press("s")
    notes = opened.value
    notes.wait_for_function("() => document.querySelector('.speaker-controls-notes .value')?.innerText.trim()",
                            timeout=15_000)
    text = notes.evaluate("() => document.querySelector('.speaker-controls-notes .value').innerText")
    assert text.startswith("LeNet-5 (LeCun, Bottou, Bengio and Haffner, 1998) read the digits"), text[:200]
    assert "LeNet-5 (LeCun" not in page.evaluate("() => window.__reveal.getCurrentSlide().innerText"), "not on the slide"
    notes.close()
    assert page.errors == [], page.errors
