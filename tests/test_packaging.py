"""The environment files agree with each other, and the declared dependencies suit Colab."""

import re
import sys

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
