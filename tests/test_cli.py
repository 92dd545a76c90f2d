"""The command line: `python -m alexnet_lib doctor` and friends."""

import subprocess
import sys

import torch
import torchvision

from alexnet_lib.runs.cli import main
from alexnet_lib.data import fashion_mnist_counts


def test_help_lists_doctor():
    out = subprocess.run([sys.executable, "-m", "alexnet_lib", "--help"], capture_output=True, text=True, check=True)
    assert "doctor" in out.stdout


def test_doctor_reports_versions_and_image_counts():
    out = subprocess.run([sys.executable, "-m", "alexnet_lib", "doctor"], capture_output=True, text=True, check=True)
    counts = fashion_mnist_counts()
    assert f"torch        {torch.__version__}" in out.stdout
    assert f"torchvision  {torchvision.__version__.split('+')[0]}" in out.stdout
    assert f"{counts['train']:,} training images, {counts['test']:,} test images" in out.stdout


def test_doctor_without_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ALEXNET_DATA", str(tmp_path))
    assert main(["doctor"]) == 0
    assert main(["doctor", "--require-data"]) == 1
    out = capsys.readouterr().out
    assert f"not found in {tmp_path / 'FashionMNIST' / 'raw'}" in out


def test_bad_profile_is_an_error_not_a_traceback(monkeypatch, capsys):
    monkeypatch.setenv("ALEXNET_PROFILE", "huge")
    assert main(["doctor"]) == 2
    assert "error: ALEXNET_PROFILE='huge' is not a profile" in capsys.readouterr().err


def test_output_cut_short_by_a_pipe_is_not_a_traceback():
    # Like `python -m alexnet_lib conv-out ... | head -n 0`: the reader is gone before we write.
    proc = subprocess.Popen([sys.executable, "-m", "alexnet_lib", "conv-out", "--n", "224", "--k", "11", "--s", "4"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 1
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
