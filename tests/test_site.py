"""`make site`: the students' notebooks as an offline static site (tools/build_site.py).

The site is built once for the module; tests/browser/test_site_browser.py loads it in Chromium.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

import build_site  # tools/, on the import path through tests/conftest.py
import student_notebooks
import sync_colab_cells

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
COLAB_LINK = re.compile(r'href="(https://colab\.research\.google\.com/[^"]*)"')


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return build_site.build(tmp_path_factory.mktemp("site") / "site")


def _page(site: Path, notebook: Path) -> str:
    return (site / f"{notebook.stem}.html").read_text(encoding="utf-8")


def _colab_url(notebook: Path) -> str:
    """The Colab address of ``notebook`` derived from pyproject.toml, as `make colab-cells` writes it."""
    colab = sync_colab_cells
    badge = colab.badge_line(notebook.name, colab.repository_url())
    return re.fullmatch(r"\[!\[[^]]*\]\([^)]*\)\]\((.*)\)", badge).group(1)


def test_index_leads_to_the_start_page(site):
    index = (site / "index.html").read_text(encoding="utf-8")
    assert re.search(r'http-equiv="refresh"[^>]*url=00_start_here\.html', index, flags=re.IGNORECASE)
    assert (site / "00_start_here.html").exists() and (site / ".site-build").exists()


def test_one_page_per_notebook_in_order(site):
    assert {p.stem for p in site.glob("[0-9][0-9]_*.html")} == {p.stem for p in NOTEBOOKS}
    start = (site / "00_start_here.html").read_text(encoding="utf-8")
    positions = [start.index(f'href="{p.stem}.html"') for p in NOTEBOOKS[1:]]  # the sidebar, in order
    assert positions == sorted(positions)


def test_every_script_stylesheet_and_image_is_local(site):
    pages = sorted(site.glob("*.html"))
    assert len(pages) > len(NOTEBOOKS)  # with search.html, genindex.html, index.html
    remote = re.compile(r'<(script|link|img)\b[^>]*\b(src|href)="(https?:)?//', re.IGNORECASE)
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not remote.search(text), f"{page.name} loads {remote.search(text).group(0)}"
    assert (site / "_static" / "mathjax" / "tex-mml-chtml.js").exists()
    assert (site / "@jupyter-widgets" / "html-manager" / "dist" / "embed-amd.js").exists()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_colab_links_and_badge_agree_with_pyproject(site, notebook):
    url = _colab_url(notebook)
    page = _page(site, notebook)
    links = COLAB_LINK.findall(page)
    assert set(links) == {url} and len(links) >= 2, "the launch button and the notebook's badge"
    assert re.search(rf'<a[^>]*href="{re.escape(url)}"[^>]*>\s*<img[^>]*src="_images/open-in-colab\.svg"', page)
    teacher = nbformat.read(notebook, as_version=4)
    assert f"]({url})" in teacher.cells[0].source.splitlines()[0], "the notebook's own badge: run make colab-cells"
    repository = sync_colab_cells.repository_url()
    assert f'href="{repository}"' in page, "the repository button"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_page_links_its_notebook_without_solutions(site, notebook):
    page = _page(site, notebook)
    assert f'href="_sources/{notebook.name}"' in page
    download = nbformat.read(site / "_sources" / notebook.name, as_version=4)
    student, _ = student_notebooks.strip_solutions(nbformat.read(notebook, as_version=4))
    assert download.cells == student.cells, "the download is the student's notebook, badge and all"


def test_solutions_are_not_on_the_site(site):
    assert "<summary>Solution</summary>" in NOTEBOOKS[1].read_text(encoding="utf-8")
    everything = [p for p in site.rglob("*") if p.suffix in {".html", ".js", ".ipynb", ".txt"} and "_static" not in p.parts]
    for path in everything:
        text = path.read_text(encoding="utf-8")
        assert "<summary>Solution" not in text and "Solution</summary>" not in text, path.name
        assert "&lt;summary&gt;Solution" not in text, path.name


def test_the_colab_badge_image_is_ours(site):
    svg = (site / "_images" / "open-in-colab.svg").read_text(encoding="utf-8")
    assert "<svg" in svg and "Open in" in svg and "http://www.w3.org/2000/svg" in svg and "href" not in svg


def test_refuses_a_folder_it_did_not_make(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="was not made by this tool"):
        build_site.build(out)
    assert (out / "notes.txt").read_text() == "keep me"


def test_fails_in_one_sentence_when_a_notebook_is_missing(tmp_path):
    out = tmp_path / "site"
    with pytest.raises(SystemExit, match="00_start_here.ipynb is missing"):
        build_site.build(out, NOTEBOOKS[1:])
    linked = next(p for p in NOTEBOOKS if "09_two_gpus" in p.name)  # 05 links to 09
    fifth = next(p for p in NOTEBOOKS if p.name.startswith("05_"))
    assert linked.name in fifth.read_text(encoding="utf-8")
    with pytest.raises(SystemExit, match=r"could not build the site: .*target not found: '09_two_gpus"):
        build_site.build(out, [NOTEBOOKS[0], fifth])
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "no site and no staging folder left"
