"""The notebooks' code is formatted by ruff at 100 characters a line (``make format``; pyproject.toml's [tool.ruff]).

100 characters fit the site's code blocks at 1280 px, which the browser tests measure. Ruff cannot shorten a long
string or comment, so its line-length rule (E501) checks those, and they are split by hand.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUFF = Path(sys.executable).with_name("ruff")


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(RUFF), *args], cwd=ROOT, capture_output=True, text=True)


def test_the_notebooks_code_is_formatted():
    result = _ruff("format", "--check", "--diff", "notebooks")
    assert result.returncode == 0, f"run `make format`:\n{result.stdout[-3000:]}{result.stderr[-1000:]}"


def test_no_line_of_notebook_code_is_over_100_characters():
    result = _ruff("check", "--select", "E501", "--output-format", "concise", "notebooks")
    assert result.returncode == 0, result.stdout[-3000:]


def test_the_checks_see_a_long_line(tmp_path):
    # the two checks above read the notebooks they are given: a long line in a copy of one fails both
    notebook = tmp_path / "long.ipynb"
    notebook.write_text((ROOT / "notebooks" / "00_start_here.ipynb").read_text(encoding="utf-8").replace(
        '"import ', '"x = [' + "1, " * 40 + '1]\\n",\n    "import ', 1), encoding="utf-8")
    assert _ruff("format", "--check", str(notebook)).returncode == 1
    assert _ruff("check", "--select", "E501", "--line-length", "100", str(notebook)).returncode == 1
