"""The static site in Chromium, offline: pages load cleanly, links resolve, maths, figures and widgets render,
and at 1280×800 no code, output or table is cut or scrolls sideways.

The site is built once for the module (tools/build_site.py) and served on 127.0.0.1.
"""

from __future__ import annotations

import functools
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from browser.conftest import SLIDER_TRACK_PX, WIDGET_SIZES

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PAGES = [f"{p.stem}.html" for p in NOTEBOOKS] + ["search.html", "genindex.html"]
FIGURES = {f"{p.stem}.html" for p in NOTEBOOKS if '"image/png"' in p.read_text(encoding="utf-8")}
SITE_VIEWPORT = {"width": 1280, "height": 800}
# What a reader would have to scroll sideways to read, or cannot read at all: a block of code or output,
# or any element of the article, wider than its box and scrollable; a table or figure past the column's right edge.
SIDEWAYS = """() => {
  const article = document.querySelector('.bd-article');
  const right = article.getBoundingClientRect().right + 1;
  const text = e => e.textContent.trim().split('\\n').sort((a, b) => b.length - a.length)[0].slice(0, 70);
  const scrolls = [...article.querySelectorAll('*')].filter(e => e.clientWidth > 0
      && e.scrollWidth > e.clientWidth + 1 && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX));
  const past = [...article.querySelectorAll('table, img, pre')].filter(e => e.getBoundingClientRect().right > right);
  return [...scrolls.map(e => `${e.tagName} scrolls (${e.scrollWidth} > ${e.clientWidth} px): ${text(e)}`),
          ...past.map(e => `${e.tagName} past the column's edge: ${text(e)}`),
          ...(document.documentElement.scrollWidth > window.innerWidth ? ['the page scrolls sideways'] : [])];
}"""


@pytest.fixture(scope="module")
def base_url(serve, tmp_path_factory) -> str:
    import build_site

    return serve(build_site.build(tmp_path_factory.mktemp("site") / "site"))


@functools.lru_cache(maxsize=None)
def _fetch(url: str) -> tuple[int, str]:
    """The HTTP status and text of a page of the local site (cached: many pages share links)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, ""


def _broken_links(page, base_url: str) -> list[str]:
    """The page's links into the site whose target is missing, or whose #anchor is not on the target."""
    broken = []
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    for href in sorted(set(hrefs)):
        if not href.startswith(base_url + "/"):
            continue  # Colab, GitHub: outside the site
        target, _, anchor = href.partition("#")
        status, text = _fetch(target)
        if status != 200:
            broken.append(f"{href} (HTTP {status})")
        elif anchor and f'id="{urllib.parse.unquote(anchor)}"' not in text:
            broken.append(f"{href} (no element with that id)")
    return broken


def _wait_for_maths_and_widgets(page) -> None:
    """Wait until MathJax has typeset the page and the saved widgets are drawn (where it has either)."""
    if page.locator(".math").count():
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("() => MathJax.startup.promise")
        page.wait_for_selector("mjx-container")
    if page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count():
        page.wait_for_selector(".jupyter-widgets")
    page.wait_for_load_state("networkidle")  # the fonts and images drawing them asked for


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_offline_cleanly_with_its_figures_and_links(page, base_url, name):
    missing = []
    page.on("response", lambda response: response.status >= 400 and missing.append(f"{response.status} {response.url}"))
    page.goto(f"{base_url}/{name}", wait_until="load")
    _wait_for_maths_and_widgets(page)
    images = page.eval_on_selector_all("img", """images => images.map(i => ({
        src: i.getAttribute('src').slice(0, 60), loaded: i.complete && i.naturalWidth > 0,
        box: i.getBoundingClientRect().width * i.getBoundingClientRect().height,
        in_menu: !!i.closest('.dropdown-menu')}))""")  # the launch menu's Colab logo shows on hover only
    assert [i["src"] for i in images if not i["loaded"]] == [], "images that did not load"
    assert [i["src"] for i in images if not i["in_menu"] and i["box"] == 0] == [], "images drawn with no size"
    figures = page.locator(".cell_output img").count()
    assert figures >= (name in FIGURES), "the notebook's figures are on its page"
    assert _broken_links(page, base_url) == []
    assert missing == [], "files the page asked for that are not on the site"
    assert page.blocked == [], "requests that left the machine"
    assert page.errors == []


@pytest.mark.parametrize("name", [f"{p.stem}.html" for p in NOTEBOOKS])
def test_nothing_is_cut_or_scrolls_sideways_at_1280_by_800(page, base_url, name):
    page.set_viewport_size(SITE_VIEWPORT)
    page.goto(f"{base_url}/{name}", wait_until="load")
    _wait_for_maths_and_widgets(page)
    assert page.evaluate(SIDEWAYS) == []


def test_the_sideways_check_sees_a_long_line_and_a_wide_table(page, base_url):
    page.set_viewport_size(SITE_VIEWPORT)
    page.goto(f"{base_url}/01_convolution_arithmetic.html", wait_until="load")
    assert page.evaluate(SIDEWAYS) == []
    page.evaluate("""() => {
        document.querySelector('div.cell_input pre').textContent += 'x = ' + '1 + '.repeat(40) + '1';
        const table = document.createElement('table');
        table.innerHTML = '<tr>' + '<td>1,234,567.89</td>'.repeat(40) + '</tr>';
        document.querySelector('div.cell_output').append(table);
    }""")
    found = page.evaluate(SIDEWAYS)
    assert any(f.startswith("PRE scrolls") and "1 + 1 + " in f for f in found), found
    assert any(f.startswith("TABLE past the column's edge") for f in found), found


def test_each_page_has_its_icon_and_its_widgets_a_note(page, base_url):
    page.goto(f"{base_url}/01_convolution_arithmetic.html", wait_until="load")
    icon = page.get_attribute('link[rel="icon"]', "href")
    assert _fetch(urllib.parse.urljoin(f"{base_url}/", icon))[0] == 200
    widgets = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    notes = page.locator("p.static-widget-note")
    assert widgets > 0 and notes.count() == widgets
    assert "run it in JupyterLab or on Colab" in notes.first.text_content()


def test_index_opens_the_start_page(page, base_url):
    page.goto(f"{base_url}/", wait_until="load")
    page.wait_for_url(f"{base_url}/00_start_here.html")
    assert "Start here" in page.title()


def test_maths_and_widgets_render_on_01(page, base_url):
    page.goto(f"{base_url}/01_convolution_arithmetic.html", wait_until="load")
    page.wait_for_selector("mjx-container")
    page.wait_for_selector(".jupyter-widgets .widget-slider")
    assert page.locator(".jupyter-widgets").count() > 0
    assert page.locator(".widget-readout").first.text_content().strip() != ""
    sizes = page.evaluate(WIDGET_SIZES)
    assert sizes["tracks"] and all(px >= SLIDER_TRACK_PX for _, px in sizes["tracks"]), sizes
    assert sizes["cut"] == []
    assert page.errors == []  # no MathJax 2 call failing in a widget


def test_search_finds_padding(page, base_url):
    page.goto(f"{base_url}/search.html?q=padding", wait_until="load")
    results = page.locator("#search-results ul.search li")
    results.first.wait_for()
    titles = results.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert any(href.startswith("01_convolution_arithmetic.html") for href in titles), titles
