"""The course as a static web site, built with Jupyter Book from the notebooks' committed outputs.

The site is what students get: the notebooks of ``notebooks/`` without their solution blocks
(the answer key stays with ``make student``), rendered as they were committed (nothing is
executed), one page per notebook with ``00_start_here`` as the home page. Every page has a
search box, a button to open it on Colab, a link to the repository (both from pyproject.toml's
``[project.urls] Repository``), and a button to download its ``.ipynb``.

Its look (tools/site/): a stylesheet that widens the text column and fits code of 100 characters
a line (ruff formats the notebooks at that length), a favicon, and a small Sphinx extension that
drops the Thebe scripts the site never uses. Each saved widget is labelled as a picture of its
first state, to be run in JupyterLab or on Colab.

The site works offline: MathJax, require.js and the widget manager are copied in from
``build/vendor/`` (tools/vendor_js.py fetches them once), and each notebook's Colab badge image
is replaced by a local copy, its link unchanged.

The output folder is replaced as a whole, atomically: the new site is built beside it and
swapped in, so a failed build leaves the old one intact. A folder this tool did not make is
never replaced (it has no ``.site-build`` marker): the tool stops and says so.

Usage: python tools/build_site.py [--out build/site]   (or: make site)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import output_folder  # noqa: E402  (sibling tools, found through the line above)
import student_notebooks  # noqa: E402
import sync_colab_cells  # noqa: E402
import vendor_js  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
THEME = Path(__file__).resolve().parent / "site"  # course.css, course_site.py (a Sphinx extension), favicon.svg
NOTEBOOKS = ROOT / "notebooks"
HOME = "00_start_here"
MARKER = ".site-build"
TITLE = "LeNet → AlexNet"
REMOTE_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
LOCAL_BADGE = "open-in-colab.svg"
# Where @jupyter-widgets/html-manager must sit: it loads its fonts from <site root>/@jupyter-widgets/html-manager/dist/.
WIDGETS_DIST = "@jupyter-widgets/html-manager/dist"
# Sphinx warnings that mean a page of the table of contents is missing.
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the colours of its log
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = ('<p class="static-widget-note">These controls need a running notebook: run it in JupyterLab or '
               "on Colab to move the sliders.</p>")
MISSING = re.compile(r"nonexisting document|not found|does not exist|not included in any toctree", re.IGNORECASE)

BADGE_SVG = """\
<svg xmlns="http://www.w3.org/2000/svg" width="117" height="20" role="img" aria-label="Open in Colab">
  <title>Open in Colab</title>
  <rect width="117" height="20" rx="3" fill="#555"/>
  <rect x="51" width="66" height="20" rx="3" fill="#f9ab00"/>
  <rect x="51" width="6" height="20" fill="#f9ab00"/>
  <g font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle">
    <text x="26" y="14" fill="#fff">Open in</text>
    <text x="84" y="14" fill="#222">Colab</text>
  </g>
</svg>
"""

# @jupyter-widgets/html-manager 1.x typesets widget labels with the MathJax 2 API
# (MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])); Sphinx loads MathJax 3, which has no Hub.
HUB_SHIM = """\
// Lets the widget manager's MathJax 2 call (MathJax.Hub.Queue) typeset with MathJax 3.
(function () {
  var mathjax = window.MathJax;
  if (!mathjax || mathjax.Hub) return;
  mathjax.Hub = {Queue: function (job) {
    var element = Array.isArray(job) ? job[2] : undefined;
    if (window.MathJax.typesetPromise) window.MathJax.typesetPromise(element ? [element] : undefined);
  }};
})();
"""


def book_config(url: str) -> dict:
    """Jupyter Book's ``_config.yml``: no execution, Colab and repository buttons, vendored JavaScript."""
    return {
        "title": TITLE,
        "author": url.rstrip("/").split("/")[-2],
        "only_build_toc_files": True,
        "execute": {"execute_notebooks": "off"},
        "repository": {"url": url, "path_to_book": "notebooks", "branch": "main"},
        "launch_buttons": {"colab_url": "https://colab.research.google.com"},
        "html": {"use_repository_button": True, "use_download_button": True, "favicon": "favicon.svg"},
        "sphinx": {"local_extensions": {"course_site": "_ext"}, "config": {
            # Not "_static": Jupyter Book would add every .js and .css under it to every page.
            "html_static_path": ["_vendor"],
            "html_extra_path": ["_extra"],  # copied to the site's root
            "mathjax_path": "mathjax/tex-mml-chtml.js",
            # Deferred with a higher priority than MathJax's, so it runs after MathJax 3 has loaded.
            "html_js_files": [["mathjax2-hub-shim.js", {"defer": "defer"}]],
            "nb_ipywidgets_js": {"require.js": {}, f"../{WIDGETS_DIST}/embed-amd.js": {}},
        }},
    }


def table_of_contents(names: list[str]) -> dict:
    """Jupyter Book's ``_toc.yml``: the home page first, then the other notebooks in order."""
    if HOME not in names:
        raise SystemExit(f"notebooks/{HOME}.ipynb is missing: the site needs it as its home page.")
    return {"format": "jb-book", "root": HOME, "chapters": [{"file": name} for name in names if name != HOME]}


def stage_notebooks(source: Path, notebooks: list[Path]) -> dict[str, nbformat.NotebookNode]:
    """Copy the notebooks into ``source`` without their solutions, their Colab badge image made local.

    Returns the students' notebooks as they are downloaded from the site (the badge left as it is).
    """
    students = {}
    for path in notebooks:
        students[path.name], _ = student_notebooks.strip_solutions(nbformat.read(path, as_version=4))
        page = nbformat.from_dict(students[path.name])  # a copy
        for cell in page.cells:
            if cell.cell_type == "markdown":
                cell.source = cell.source.replace(REMOTE_BADGE, LOCAL_BADGE)
            elif cell.cell_type == "code":
                cell.outputs = [extra for output in cell.outputs for extra in _labelled(output)]
        nbformat.write(page, source / path.name)
    (source / LOCAL_BADGE).write_text(BADGE_SVG, encoding="utf-8")
    return students


def _labelled(output: dict) -> list[dict]:
    """The output, after a note that says how to use it where it is a saved widget."""
    if WIDGET_VIEW not in output.get("data", {}):
        return [output]
    note = nbformat.v4.new_output("display_data", data={"text/html": WIDGET_NOTE, "text/plain": ""})
    return [note, output]


def stage_theme(source: Path) -> None:
    """Copy the course's stylesheet, Sphinx extension and favicon into ``source``."""
    (source / "_ext").mkdir()
    shutil.copy2(THEME / "course_site.py", source / "_ext" / "course_site.py")
    shutil.copy2(THEME / "course.css", source / "_vendor" / "course.css")
    shutil.copy2(THEME / "favicon.svg", source / "favicon.svg")


def stage_javascript(source: Path) -> None:
    """Copy MathJax 3, require.js, the widget manager and the MathJax 2 shim into ``source``."""
    try:
        mathjax = vendor_js.package_dir("mathjax@3") / "es5"
        requirejs = vendor_js.package_dir("requirejs") / "require.js"
        widgets = vendor_js.package_dir("html-manager") / "dist"
    except vendor_js.VendorError as error:
        raise SystemExit(str(error)) from None
    static = source / "_vendor"
    shutil.copytree(mathjax, static / "mathjax")
    shutil.copy2(requirejs, static / "require.js")
    (static / "mathjax2-hub-shim.js").write_text(HUB_SHIM, encoding="utf-8")
    shutil.copytree(widgets, source / "_extra" / WIDGETS_DIST)
    # Some page loads ask for the widgets' icon fonts one folder up, at <site root>/@jupyter-widgets/
    # (the bundle also defines modules named "@jupyter-widgets/base" and "@jupyter-widgets/controls"):
    # put them there too.
    for font in widgets.iterdir():
        if font.suffix in {".woff2", ".woff", ".ttf", ".eot", ".svg"}:
            shutil.copy2(font, source / "_extra" / "@jupyter-widgets")


def run_jupyter_book(source: Path, output: Path) -> Path:
    """Build the book in ``source`` into ``output``; return the HTML folder, or stop with the reason."""
    program = Path(sys.executable).parent / "jupyter-book"
    if not program.exists():
        raise SystemExit(f"jupyter-book is not installed next to {sys.executable}: run `make setup` "
                         "(it is in the project's dev extras), then `make site`.")
    command = [str(program), "build", str(source),
               "--path-output", str(output), "--builder", "html", "--all", "-q"]
    result = subprocess.run(command, capture_output=True, text=True)
    log = ANSI.sub("", result.stdout + result.stderr).replace(f"{source}{os.sep}", "")
    warnings = [line.strip() for line in log.splitlines() if "WARNING" in line]
    missing = [line for line in warnings if MISSING.search(line)]
    if result.returncode != 0 or missing:
        reasons = missing or [line.strip() for line in log.splitlines() if line.strip()][-3:]
        raise SystemExit("jupyter-book could not build the site: " + "; ".join(reasons))
    for line in warnings:
        print(line, file=sys.stderr)
    return output / "_build" / "html"


def build(out: Path, notebooks: list[Path] | None = None) -> Path:
    """Build the site from ``notebooks`` (default: every notebook) into ``out``; return ``out``."""
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb")) if notebooks is None else notebooks
    toc = table_of_contents([path.stem for path in notebooks])
    staging = output_folder.staging_beside(out, MARKER)
    try:
        source = staging / "book"
        source.mkdir()
        (source / "_config.yml").write_text(
            yaml.safe_dump(book_config(sync_colab_cells.repository_url()), allow_unicode=True, sort_keys=False),
            encoding="utf-8")
        (source / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
        students = stage_notebooks(source, notebooks)
        stage_javascript(source)
        stage_theme(source)
        html = run_jupyter_book(source, staging / "output")
        for name, student in students.items():  # each page's download button links to _sources/<name>
            nbformat.write(student, html / "_sources" / name)
        output_folder.swap_in(html, out, MARKER, "tools/build_site.py")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """Build the site into ``--out`` and say where it is and how to look at it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site", help="output folder (default: build/site)")
    args = parser.parse_args(argv)
    site = build(args.out)
    pages = len(list(site.glob("[0-9][0-9]_*.html")))
    where = os.path.relpath(site) if site.resolve().is_relative_to(Path.cwd()) else str(site)
    print(f"The site ({pages} pages) is in {where}; to browse it, run "
          f"`python -m http.server -d {where} 8000` and open http://127.0.0.1:8000/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
