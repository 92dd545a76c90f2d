"""Shared test fixtures."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
# The tools are scripts, not a package: their tests import them by name (import build_site).
sys.path.insert(0, str(ROOT / "tools"))
from notebook_cells import code_cells, defined_by_cells, one_cell  # noqa: E402, F401 (the tests import them from here)
# Models trained by the notebooks the tests run are kept (alexnet_lib.runs.cache): in a folder of this session, never in
# the user's cache, so that every run of the tests trains as CI does.
os.environ["ALEXNET_CACHE"] = tempfile.mkdtemp(prefix="alexnet-trained-")
atexit.register(shutil.rmtree, os.environ["ALEXNET_CACHE"], ignore_errors=True)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="module")
def one_thread():
    """Run a test module's small models on one thread: tiny layers take microseconds on one thread
    and milliseconds when threads wait on a busy machine. Restored after the module."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


