"""The environment files agree with each other, the declared dependencies suit Colab, and the wheel
that Colab builds from the repository holds, and imports, every module of the library."""

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

# Colab's runtime as of 2026-08 (the figures): installing the library must keep these.
COLAB = {"python": "3.13", "torch": "2.11.0", "torchvision": "0.26.0", "numpy": "2.1.0", "ipywidgets": "7.7.1"}


@pytest.fixture(scope="module")
def pyproject(repo_root):
    return tomllib.loads((repo_root / "pyproject.toml").read_text())


def _constraints(repo_root, python="3.11"):
    """Pins of constraints.txt that apply to ``python``, as {canonical name: version}."""
    env = default_environment() | {"python_version": python, "python_full_version": f"{python}.0"}
    pins = {}
    for line in (repo_root / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate(env):
                (spec,) = req.specifier
                assert spec.operator == "==", line
                assert canonicalize_name(req.name) not in pins, f"two pins for {req.name} on Python {python}"
                pins[canonicalize_name(req.name)] = spec.version
    return pins


def _direct_requirements(pyproject):
    deps = pyproject["project"]["dependencies"] + pyproject["project"]["optional-dependencies"]["dev"]
    return [Requirement(d) for d in deps]


@pytest.mark.parametrize("python", ["3.10", "3.11", "3.13"])
def test_constraints_pin_every_direct_dependency_within_its_range(repo_root, pyproject, python):
    pins = _constraints(repo_root, python)
    env = default_environment() | {"python_version": python}
    for req in _direct_requirements(pyproject):
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        name = canonicalize_name(req.name)
        assert name in pins, f"constraints.txt pins no {req.name} for Python {python}"
        assert Version(pins[name]) in req.specifier, f"{req.name}=={pins[name]} outside {req.specifier}"
    assert pins["d2l"] == "1.0.3"


def test_pinned_torch_and_torchvision_work_together():
    # A CPU-only torch with PyPI's torchvision fails here ("operator torchvision::nms does not
    # exist"): the pinned pair must run torchvision's compiled operators.
    import torch
    import torchvision
    from importlib.metadata import requires

    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert torchvision.ops.nms(boxes, scores, iou_threshold=0.5).tolist() == [0, 2]
    torch_req = next(Requirement(r) for r in requires("torchvision") if r.startswith("torch "))
    assert Version(torch.__version__.split("+")[0]) in torch_req.specifier


def test_installed_versions_are_the_pinned_ones(repo_root):
    from importlib.metadata import version

    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    pins = _constraints(repo_root, python)
    for name in ("torch", "torchvision", "numpy", "pandas", "matplotlib", "ipywidgets", "nbval", "d2l"):
        assert version(name).split("+")[0] == pins[name], name


def test_d2l_pins_never_enter_the_environment(repo_root):
    # d2l 1.0.3 pins numpy==1.23.5, pandas==2.0.3, scipy==1.10.1: none of them may be ours.
    pins = _constraints(repo_root)
    assert (pins["numpy"], pins["pandas"], pins["scipy"]) != ("1.23.5", "2.0.3", "1.10.1")
    assert Version(pins["numpy"]) >= Version("2")
    makefile = (repo_root / "Makefile").read_text()
    assert re.search(r"pip install .*--no-deps d2l", makefile)


def test_environment_yml_matches_pyproject_and_constraints(repo_root, pyproject):
    env = yaml.safe_load((repo_root / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    python = python.split("=", 1)[1]
    assert Version(python) in SpecifierSet(pyproject["project"]["requires-python"]) and python == "3.11"  # what CI tests
    pip_lines = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-c constraints.txt" in pip_lines and "-e ." in pip_lines
    listed = {canonicalize_name(Requirement(line).name): Requirement(line) for line in pip_lines if not line.startswith("-")}
    pins = _constraints(repo_root, python)
    direct = {canonicalize_name(r.name) for r in _direct_requirements(pyproject) if r.marker is None}
    assert set(listed) == direct, "environment.yml and pyproject.toml list different packages"
    for name, req in listed.items():
        (spec,) = req.specifier
        assert spec.version == pins[name], f"environment.yml pins {name}=={spec.version}, constraints.txt {pins[name]}"


def test_declared_dependencies_are_lower_bounds_that_colab_satisfies(pyproject):
    assert Version(COLAB["python"]) in SpecifierSet(pyproject["project"]["requires-python"])
    for req in (Requirement(d) for d in pyproject["project"]["dependencies"]):
        assert all(s.operator == ">=" for s in req.specifier), f"{req}: use a lower bound only"
        name = canonicalize_name(req.name)
        if name in COLAB:
            assert Version(COLAB[name]) in req.specifier, f"{req} would replace Colab's {name} {COLAB[name]}"


def test_ci_runs_the_readme_test_command(repo_root):
    ci = (repo_root / ".ci" / "run").read_text()
    readme = (repo_root / "README.md").read_text()
    assert re.search(r"^make test$", ci, flags=re.MULTILINE)
    assert "make test" in readme and "make lab" in readme
    assert "--nbval-lax" not in (repo_root / "Makefile").read_text()


# --- The wheel: Colab runs `pip install "alexnet-lib @ git+URL"`, and pip builds a wheel from the
# repository (not an editable install), so a module or data file that the wheel misses is missing
# on Colab, however well the editable tree works here.

PACKAGE_FILES = (".py", ".csv")  # the modules, and the reference runs (package data)


def _package_files(repo_root: Path, suffix: str) -> list[str]:
    """Every ``suffix`` file under alexnet_lib/ in the source tree, as wheel paths
    (``alexnet_lib/course/tables.py``), found by walking the tree, ``__pycache__`` left out."""
    found = []
    for folder, subfolders, files in os.walk(repo_root / "alexnet_lib"):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        relative = Path(folder).relative_to(repo_root)
        found += [(relative / name).as_posix() for name in sorted(files) if name.endswith(suffix)]
    return found


def _module_name(path: str) -> str:
    """``alexnet_lib/course/tables.py`` -> ``alexnet_lib.course.tables``; a package's __init__.py -> the package."""
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _run(command: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, check=False, capture_output=True, text=True, timeout=180, **kwargs)
    if proc.returncode != 0:
        pytest.fail(f"{what} failed (exit {proc.returncode}): {' '.join(command)}\n"
                    f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}")
    return proc


def _build_wheel(repo_root: Path, tmp: Path) -> Path:
    """Build the wheel from the repository with the installed setuptools, offline; its path."""
    from importlib.util import find_spec

    if find_spec("setuptools") is None:
        pytest.fail("setuptools is not installed: the wheel is built offline with --no-build-isolation, "
                    "so the environment must provide it (pip install 'setuptools>=68')")
    # setuptools builds into build/ and writes alexnet_lib.egg-info beside pyproject.toml; this extra
    # distutils configuration puts both under tmp instead. So the repository is left as it was (its
    # build/ is the site's), and no module left in an old build/lib can slip into the wheel.
    config = tmp / "setuptools.cfg"
    config.write_text(f"[build]\nbuild_base = {tmp / 'build'}\n\n[egg_info]\negg_base = {tmp}\n")
    env = os.environ | {"DIST_EXTRA_CONFIG": str(config), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--check-build-dependencies",
               "--no-index", "--no-cache-dir", "-w", str(tmp / "dist"), str(repo_root)]
    _run(command, "Building the wheel offline (--no-index: pip may not reach the network; "
                  "--check-build-dependencies: the installed setuptools must satisfy [build-system] requires)",
         env=env)
    (wheel,) = (tmp / "dist").glob("alexnet_lib-*.whl")
    return wheel


# Run in a fresh interpreter whose only copy of alexnet_lib is the wheel's: import the package, then
# every module and subpackage that pkgutil finds in it, and say where each came from.
IMPORT_EVERYTHING = """
import importlib, json, pkgutil, sys
import alexnet_lib

def fail(name):  # walk_packages would skip a subpackage that fails to import; say so instead
    raise

names = ["alexnet_lib"]
for info in pkgutil.walk_packages(alexnet_lib.__path__, "alexnet_lib.", onerror=fail):
    if info.name.rsplit(".", 1)[-1] != "__main__":
        importlib.import_module(info.name)
        names.append(info.name)
print(json.dumps({name: sys.modules[name].__file__ for name in names}))
"""


@pytest.mark.slow
def test_the_wheel_holds_and_imports_every_module(repo_root, tmp_path):
    sources = {suffix: _package_files(repo_root, suffix) for suffix in PACKAGE_FILES}
    assert "alexnet_lib/__init__.py" in sources[".py"] and sources[".csv"], "no package or no reference runs found"
    wheel = _build_wheel(repo_root, tmp_path)

    in_wheel = zipfile.ZipFile(wheel).namelist()
    for suffix, expected in sources.items():
        found = sorted(name for name in in_wheel if name.startswith("alexnet_lib/") and name.endswith(suffix))
        assert sorted(expected) == found, (
            f"the wheel's {suffix} files differ from alexnet_lib/'s: missing {sorted(set(expected) - set(found))}, "
            f"extra {sorted(set(found) - set(expected))} (a subpackage left out of "
            "[tool.setuptools.packages.find] or without __init__.py, or package-data that misses a file)")

    site = tmp_path / "site"
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--no-cache-dir",
          "--disable-pip-version-check", "--target", str(site), str(wheel)], "Installing the wheel")
    # The venv holds an editable install of alexnet_lib (a finder that runs after sys.path's entries),
    # so PYTHONPATH, which comes first, makes the wheel's copy the one imported; the asserts check it.
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = os.environ | {"PYTHONPATH": str(site), "PYTHONNOUSERSITE": "1", "MPLBACKEND": "Agg"}
    proc = _run([sys.executable, "-c", IMPORT_EVERYTHING], "Importing every module from the wheel", cwd=cwd, env=env)
    imported = json.loads(proc.stdout.strip().splitlines()[-1])

    assert Path(imported["alexnet_lib"]).resolve().is_relative_to(site.resolve()), (
        f"alexnet_lib came from {imported['alexnet_lib']}, not from the wheel installed in {site}")
    outside = {name: file for name, file in imported.items() if not Path(file).resolve().is_relative_to(site.resolve())}
    assert outside == {}, "modules imported from outside the wheel"
    expected = sorted(_module_name(path) for path in sources[".py"] if not path.endswith("/__main__.py"))
    assert len(imported) == len(expected), (
        f"imported {len(imported)} modules from the wheel, alexnet_lib/ has {len(expected)} (less __main__): "
        f"not imported {sorted(set(expected) - set(imported))}, unexpected {sorted(set(imported) - set(expected))}")
    assert sorted(imported) == expected


def test_no_file_of_the_library_is_ignored_by_git(repo_root):
    """pip builds Colab's wheel from a clone of the repository: a module that .gitignore hides never gets
    there, even though the wheel built here, from the working tree, has it."""
    git = shutil.which("git")
    if git is None or not (repo_root / ".git").exists():
        pytest.skip("not a git checkout (or no git): nothing to compare with")
    files = [path for suffix in PACKAGE_FILES for path in _package_files(repo_root, suffix)]
    # Tracked files are never reported: only new files that a `git add` would leave out.
    proc = subprocess.run([git, "check-ignore", "--verbose", *files], check=False, cwd=repo_root,
                          capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    assert proc.stdout == "", f"ignored by git, so missing from a clone of the repository:\n{proc.stdout}"
