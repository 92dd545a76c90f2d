"""Lecture slides: one reveal.js deck per notebook, built with nbconvert, that work offline.

Each notebook in ``notebooks/`` becomes ``<out>/<notebook>.slides.html``, made from its
committed outputs (nothing is re-executed). Where slides start is chosen by the cells'
``slideshow`` metadata, which ``tools/slide_cells.py`` sets by rules a lecturer can override;
``tools/slide_layout.py`` then lays out a copy of the notebook for a 1280x720 projector (prose
28 px, code 22 px; at most about 120 words and 15 lines of code a slide; the title slide holds
the title and the goals), and what the slides leave out goes into the speaker notes (``S``).
``<out>/index.html`` lists the decks.

The decks load nothing from the internet: reveal.js, require.js, jQuery, MathJax 2 and the
widget manager are copied once into ``<out>/vendor/`` from the packages ``tools/vendor_js.py``
keeps in ``build/vendor/`` (fetched once from npm), and the template in
``tools/slides_template/`` drops nbconvert's mermaid script (a CDN address it cannot
configure) and sizes figures and tables for a 1280x720 projector. The theme is reveal's
``white``: most other themes import Google Fonts. The title slide leaves the "Open in Colab"
badge out; any other image from the internet in the markdown becomes a text link.

The output folder is replaced as a whole, atomically: the new one is built beside it and
swapped in. A folder this tool did not make is never replaced (it has no ``.slides-build``
marker): the tool stops and says so.

Usage: python tools/build_slides.py [--out build/slides] [NOTEBOOK ...]   (or: make slides)
       python tools/build_slides.py --outline [NOTEBOOK ...]   (each slide's number and first line)
In a deck: arrow keys or space to move, Esc for the overview, S for the speaker notes.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter
from traitlets.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
import output_folder  # noqa: E402 (sibling tools, found through the line above)
import slide_layout  # noqa: E402
import vendor_js  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TEMPLATE = Path(__file__).resolve().parent / "slides_template"
MARKER = ".slides-build"
FAVICON = Path(__file__).resolve().parent / "site" / "favicon.svg"  # the site's icon
SIZE = (1280, 720)  # the projector the decks are laid out for
# a markdown image from the internet, alone or as a link (the "Open in Colab" badge)
REMOTE_IMAGE = re.compile(r"\[!\[([^\]]*)\]\(https?://[^)\s]*\)\]\(([^)\s]+)\)|!\[([^\]]*)\]\(https?://[^)\s]*\)")

# <out>/vendor/<name>: (package key in vendor_js, folder inside the package, what to leave out)
VENDOR = {
    "reveal.js": ("reveal.js", ".", ()),
    "require.js": ("requirejs", "require.js", ()),
    "jquery.min.js": ("jquery", "dist/jquery.min.js", ()),
    # unpacked/ repeats every file unminified; the other font families are never configured here
    "mathjax": ("mathjax@2", ".", ("unpacked", "test", "Asana-Math", "Gyre-Pagella", "Gyre-Termes",
                                   "Latin-Modern", "Neo-Euler")),
    # the decks load embed-amd.js; embed.js is the bundle for pages without require.js
    "html-manager": ("html-manager", "dist", ("embed.js", "*.map")),
}


def exporter() -> SlidesExporter:
    """nbconvert's slides exporter, pointed at the local copies in ``vendor/`` next to each deck."""
    config = Config()
    config.SlidesExporter.update(
        reveal_url_prefix="vendor/reveal.js",
        reveal_theme="white",
        reveal_scroll=True,
        reveal_number="h.v",  # "3.2": the numbers TEACHING.md's lesson plans cite (slide_layout.outline)
        reveal_width=str(SIZE[0]),
        reveal_height=str(SIZE[1]),
        require_js_url="vendor/require.js",
        jquery_url="vendor/jquery.min.js",
        mathjax_url="vendor/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
        widget_renderer_url="vendor/html-manager/embed-amd.js",
    )
    return SlidesExporter(config=config, extra_template_basedirs=[str(TEMPLATE.parent)], template_name=TEMPLATE.name)


def _link_or_copy(source: str, target: str) -> str:
    """Hard-link a vendored file where the file system allows it (fast, no space), else copy it."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
    return target


def copy_vendor(target: Path) -> None:
    """Copy the JavaScript the decks load into ``target`` (fetched from npm once if it is missing)."""
    target.mkdir()
    for name, (key, inside, leave_out) in VENDOR.items():
        try:
            source = vendor_js.package_dir(key) / inside
        except vendor_js.VendorError as error:
            raise SystemExit(f"error: {error}") from None
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns(*leave_out),
                            copy_function=_link_or_copy)
        else:
            _link_or_copy(str(source), str(target / name))


def deck_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The notebook's title: the first ``# `` heading of its first cell."""
    lines = nb.cells[0].source.splitlines() if nb.cells else []
    return next((line[2:].strip() for line in lines if line.startswith("# ")), fallback)


def index_page(decks: list[tuple[str, str]]) -> str:
    """``index.html``: a list of links to the decks, given as (file name, title) pairs."""
    items = "\n".join(f'  <li><a href="{html.escape(name)}">{html.escape(title)}</a></li>' for name, title in decks)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<title>LeNet → AlexNet: lecture slides</title>\n"
            "<style>body { font: 20px/1.5 sans-serif; max-width: 48em; margin: 2em auto; padding: 0 1em; }</style>\n"
            "</head>\n<body>\n<h1>LeNet → AlexNet: lecture slides</h1>\n"
            "<p>One deck per notebook. Arrow keys or space move, Esc shows the overview, "
            "S opens the speaker notes.</p>\n"
            f"<ol>\n{items}\n</ol>\n</body>\n</html>\n")


def offline_markdown(nb: nbformat.NotebookNode) -> None:
    """Replace images from the internet in ``nb``'s markdown by their text: a linked badge keeps its link."""
    def text(match: re.Match) -> str:  # "[alt](link)" for a linked image, "alt" for a plain one
        return f"[{match[1]}]({match[2]})" if match[2] else match[3]

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = REMOTE_IMAGE.sub(text, cell.source)


def _read(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path``, or one sentence on why it cannot be read."""
    try:
        return nbformat.read(path, as_version=4)
    except (OSError, ValueError) as error:
        raise SystemExit(f"cannot read the notebook {path} ({error}): name an existing .ipynb file.") from None


def _write_decks(staging: Path, notebooks: list[Path]) -> list[tuple[str, str]]:
    """Write one deck per notebook into ``staging``; return (file name, title) pairs."""
    slides, decks = exporter(), []
    for path in notebooks:
        nb = slide_layout.lay_out(_read(path))  # before the badge becomes a text link: the title slide leaves it out
        offline_markdown(nb)
        body, _ = slides.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
        name = f"{path.stem}.slides.html"
        (staging / name).write_text(body, encoding="utf-8")
        decks.append((name, deck_title(nb, path.stem)))
    return decks


def build(out: Path, notebooks: list[Path] | None = None) -> list[Path]:
    """Write the decks of ``notebooks`` (default: all in notebooks/) into ``out``; return their paths."""
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb")) if notebooks is None else [Path(p) for p in notebooks]
    staging = output_folder.staging_beside(out, MARKER)
    try:
        decks = _write_decks(staging, notebooks)
        copy_vendor(staging / "vendor")
        shutil.copy2(FAVICON, staging / FAVICON.name)
        (staging / "index.html").write_text(index_page(decks), encoding="utf-8")
        output_folder.swap_in(staging, out, MARKER, "tools/build_slides.py")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out / name for name, _ in decks]


def main(argv: list[str] | None = None) -> int:
    """Build the decks from the command line; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks (default: every notebook in notebooks/)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "slides",
                        help="output folder (default: build/slides)")
    parser.add_argument("--outline", action="store_true",
                        help="build nothing: print each deck's slide numbers and first lines, for a lesson plan")
    args = parser.parse_args(argv)
    if args.outline:
        for path in args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb")):
            print(f"{path.stem}:")
            for number, text in slide_layout.outline(slide_layout.lay_out(_read(path))):
                print(f"  {number:>6}  {text[:90]}")
        return 0
    decks = build(args.out, args.notebooks or None)
    print(f"{len(decks)} slide decks in {args.out}; open {args.out / 'index.html'} in a browser.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
