"""The house rules of ARCHITECTURE.md, checked: every module has a layer, imports only run down
the layers, what another module imports is public, and no module or function outgrows its limit."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "alexnet_lib"
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 500, 60


def documented_layers(text: str) -> dict[str, int]:
    """Module name -> layer, from the table rows ``| N | `module`, `module` | ... |`` of ARCHITECTURE.md."""
    layers = {}
    for row in re.finditer(r"^\|\s*(\d+)\s*\|([^|]*)\|", text, flags=re.MULTILINE):
        for name in re.findall(r"`(\w+)`", row.group(2)):
            layers[name] = int(row.group(1))
    return layers


def package_imports(source: str) -> list[tuple[str, tuple[str, ...], int]]:
    """``(module, names, line)`` of every import from the package in ``source``, at any depth."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = tuple(alias.name for alias in node.names)
            if node.module:
                found.append((node.module.split(".")[0], names, node.lineno))
            else:  # from . import models
                found += [(name, (), node.lineno) for name in names]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            for name in [module] if module else [alias.name for alias in node.names]:
                if name and name.startswith("alexnet_lib."):
                    found.append((name.split(".")[1], (), node.lineno))
    return found


def rule_breaks(sources: dict[str, str], layers: dict[str, int]) -> list[str]:
    """Each import that does not run down a layer (or reaches a private name), in words."""
    breaks = []
    for module, source in sources.items():
        for target, names, line in package_imports(source):
            if target == module:
                continue
            if layers[target] >= layers[module]:
                breaks.append(f"{module}.py:{line} imports {target} (layer {layers[target]}) from layer {layers[module]}")
            breaks += [f"{module}.py:{line} imports the private {target}.{n}" for n in names if n.startswith("_")]
    return breaks


def package_sources() -> dict[str, str]:
    return {path.stem: path.read_text() for path in sorted(PACKAGE.glob("*.py"))}


@pytest.fixture(scope="module")
def layers() -> dict[str, int]:
    return documented_layers((ROOT / "ARCHITECTURE.md").read_text())


def test_every_module_is_in_the_architecture_note_once(layers):
    assert set(layers) == set(package_sources()), "ARCHITECTURE.md's table and alexnet_lib/ disagree"


def test_imports_run_only_down_the_layers_and_reach_public_names(layers):
    assert rule_breaks(package_sources(), layers) == []


def test_the_rule_catches_an_upward_import_and_a_private_name():
    layers = {"basics": 0, "models": 3}
    sources = {"basics": "def f():\n    from .models import get\n", "models": "from .basics import _hidden\n"}
    assert rule_breaks(sources, layers) == [
        "basics.py:2 imports models (layer 3) from layer 0",
        "models.py:1 imports the private basics._hidden",
    ]


def test_no_module_or_function_outgrows_its_limit():
    too_long = []
    for module, source in package_sources().items():
        if len(source.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{module}.py: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long.append(f"{module}.py: {node.name} has {lines} lines")
    assert too_long == []
