"""Write every notebook's "Open in Colab" badge and Colab install cell from pyproject.toml.

The repository URL lives in one place, ``[project.urls] Repository`` in pyproject.toml. Each
notebook starts with a markdown cell whose first line is the badge, then a code cell that
installs the library on Colab only. ``tests/test_notebooks_meta.py`` checks that they agree.

Usage: python tools/sync_colab_cells.py   (or: make colab-cells)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
INSTALL_MARKER = "# Colab only:"


def repository_url() -> str:
    """The course repository's URL, read from pyproject.toml."""
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'^Repository\s*=\s*"([^"]+)"', text, flags=re.MULTILINE)
    if not match:
        raise SystemExit("pyproject.toml has no [project.urls] Repository = \"...\" line")
    return match.group(1).rstrip("/")


def badge_line(notebook: str, url: str) -> str:
    """The markdown badge that opens ``notebooks/<notebook>`` on Colab."""
    path = url.removeprefix("https://github.com/")
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"(https://colab.research.google.com/github/{path}/blob/main/notebooks/{notebook})"
    )


def install_source(url: str) -> str:
    """The first code cell: on Colab only, install alexnet_lib (and nothing Colab already has).

    ``pip install "name @ git+URL"`` (no ``-e``) clones the repository, builds a wheel from it with
    the ``[build-system]`` of pyproject.toml, and installs that wheel: a regular, not an editable,
    install. tests/test_packaging.py builds the same wheel and imports every module from it.
    """
    return (
        f"{INSTALL_MARKER} install the course library as a wheel that pip builds from its repository.\n"
        "# Its dependencies are lower bounds that Colab's torch, torchvision and ipywidgets satisfy,\n"
        "# so pip keeps them.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "alexnet-lib @ git+{url}"'
    )


def sync(path: Path, url: str) -> bool:
    """Rewrite the badge and install cell of one notebook; return whether it changed."""
    nb = nbformat.read(path, as_version=4)
    changed = False
    first = nb.cells[0]
    badge = badge_line(path.name, url)
    lines = first.source.splitlines()
    if first.cell_type != "markdown":
        raise SystemExit(f"{path}: the first cell must be markdown (badge and title)")
    if not lines or "colab-badge.svg" not in lines[0]:
        lines.insert(0, badge)
    if lines[0] != badge:
        lines[0] = badge
    if "\n".join(lines) != first.source:
        first.source, changed = "\n".join(lines), True
    code = [c for c in nb.cells if c.cell_type == "code"]
    if code and code[0].source.startswith(INSTALL_MARKER):
        if code[0].source != install_source(url):
            code[0].source, changed = install_source(url), True
    else:
        nb.cells.insert(1, nbformat.v4.new_code_cell(install_source(url)))
        changed = True
    if changed:
        nbformat.write(nb, path)
    return changed


def main() -> None:
    url = repository_url()
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        if sync(path, url):
            print(f"updated {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
