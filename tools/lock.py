"""Rewrite constraints.txt: the exact versions `make` installs, per Python version.

Python 3.11 and newer get the versions installed in a fresh virtual environment (what CI tests).
Python 3.10 cannot use them (torch 2.15 and numpy 2.4 need 3.11), so it gets the versions pip
resolves for 3.10 (a dry run: resolved, not executed, since no 3.10 interpreter is needed).

Usage: python3.11 tools/lock.py   (or: make lock; needs Python 3.11 or newer)
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = """\
# Exact versions that `make` installs (pip install -c constraints.txt). Regenerate: make lock
# Python >= 3.11: the environment CI tests (Linux, Python 3.11).
# Python 3.10: pip's resolution for 3.10 (torch 2.15 and numpy 2.4 need 3.11); resolved, not run by CI.
"""


def pip(python: Path, *args: str) -> str:
    return subprocess.run([str(python), "-m", "pip", *args], check=True, capture_output=True, text=True).stdout


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = Path(tmp) / "venv"
        venv.create(env, with_pip=True)
        python = env / "bin" / "python"
        pip(python, "install", "--quiet", "--upgrade", "pip")
        pip(python, "install", "--quiet", "-e", f"{ROOT}[dev]")
        pip(python, "install", "--quiet", "--no-deps", "d2l")
        current = [line for line in pip(python, "freeze", "--exclude-editable").splitlines() if "==" in line]
        requirements = {line.split("==")[0] for line in current if not line.startswith("d2l==")}
        # Direct dependencies that only Python 3.10 needs (e.g. tomli) are not in the freeze.
        project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
        for spec in project["dependencies"] + project["optional-dependencies"]["dev"]:
            requirements.add(re.match(r"[A-Za-z0-9_.-]+", spec).group(0))
        report = Path(tmp) / "report.json"
        pip(
            python, "install", "--quiet", "--dry-run", "--ignore-installed", "--only-binary=:all:",
            "--python-version", "3.10", "--target", str(Path(tmp) / "target"), "--report", str(report),
            *[f"--platform={p}" for p in ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")],
            *sorted(requirements),
        )
        old = [f"{i['metadata']['name']}=={i['metadata']['version']}" for i in json.loads(report.read_text())["install"]]
    lines = [f'{line}; python_version >= "3.11"' for line in current]
    lines += [f'{line}; python_version < "3.11"' for line in sorted(old, key=str.lower)]
    lines.append('d2l==1.0.3; python_version < "3.11"')
    (ROOT / "constraints.txt").write_text(HEADER + "\n".join(lines) + "\n")
    print(f"constraints.txt: {len(current)} pins for Python >= 3.11, {len(old) + 1} for Python 3.10", file=sys.stderr)


if __name__ == "__main__":
    main()
