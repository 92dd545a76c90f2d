"""``python -m alexnet_lib summary`` and ``conv-out``: what they print, and their errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torchvision

from alexnet_lib import models
from alexnet_lib.runs.cli import main
from alexnet_lib.course.explain import explain_conv_output

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_thread")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def numel(model) -> int:
    return sum(p.numel() for p in model.parameters())


def test_summary_of_a_torchvision_model_fits_80_columns(capsys):
    code, out, _ = run(capsys, "summary", "torchvision:alexnet")
    assert code == 0
    assert f"{numel(torchvision.models.alexnet()):,}" in out  # 61,100,840
    assert "64×55×55" in out and "256×6×6" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_summary_passes_input_and_classes(capsys):
    code, out, _ = run(capsys, "summary", "torchvision:resnet18", "--input", "3,64,64", "--classes", "10")
    assert code == 0
    assert "ResNet on 3×64×64" in out
    assert f"{numel(torchvision.models.resnet18(num_classes=10)):,}" in out
    assert "512×2×2" in out  # 64 / 32


def test_summary_of_a_registered_model_uses_its_input_size(capsys):
    name = next((n for n in models.list_models() if n.startswith("lenet")), None)
    if name is None:
        pytest.skip("no LeNet registered yet")
    model = models.get(name)
    code, out, _ = run(capsys, "summary", name)
    assert code == 0
    assert "×".join(map(str, model.input_size)) in out.splitlines()[0]
    assert f"{numel(model):,}" in out


def test_summary_prints_training_memory_with_an_optimizer(capsys):
    code, out, _ = run(capsys, "summary", "torchvision:resnet18", "--input", "3,32,32", "--optimizer", "adam", "--batch", "8")
    assert code == 0
    assert "Training memory of ResNet" in out and "optimizer state" in out and "batch of 8" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_summary_lists_models(capsys):
    code, out, _ = run(capsys, "summary", "--list")
    assert code == 0
    assert "vgg11" in out and all(name in out for name in models.list_models())


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["summary", "no_such_model"], ["'no_such_model'", "torchvision:NAME"]),
        (["summary", "vgg13"], ["torchvision:vgg13"]),  # torchvision's, not registered (vgg11, vgg16 and vgg19 are)
        (["summary", "torchvision:vgg"], ["'vgg'", "torchvision:vgg11"]),
        (["summary", "torchvision:alexnet", "--input", "3,8,8"], ["3×8×8"]),
        (["summary"], ["--list"]),
        (["conv-out", "--n", "4", "--k", "5"], ["k=5", "larger than the padded input"]),
        (["conv-out", "--n", "8", "--k", "3", "--p", "2", "--pool"], ["p=2", "k // 2 = 1"]),
        (["conv-out", "--n", "8", "--k", "3", "--s", "0"], ["s=0"]),
        (["conv-out", "--n", "8", "--k", "3", "--ceil"], ["--pool"]),
    ],
)
def test_bad_requests_exit_2_with_a_clear_message(capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2 and not out
    assert err.startswith("error: ")
    for word in words:
        assert word in err


@pytest.mark.parametrize("argv", [["summary", "x", "--input", "3,a"], ["conv-out", "--n", "8", "--k", "3", "--p", "x"]])
def test_unreadable_arguments_are_argparse_errors(capsys, argv):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "is not a" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--n", "224", "--k", "11", "--s", "4", "--p", "2"], explain_conv_output(224, 11, 4, 2)),
        (["--n", "55", "--k", "3", "--s", "2", "--pool"], explain_conv_output(55, 3, 2, pool=True)),
        (["--n", "6", "--k", "2", "--pool", "--ceil"], explain_conv_output(6, 2, None, pool=True, ceil_mode=True)),
        (["--n", "7", "--k", "4", "--p", "same"], explain_conv_output(7, 4, 1, "same")),
        (["--n", "32", "--k", "3", "--p", "0,2", "--d", "2"], explain_conv_output(32, 3, 1, (0, 2), 2)),
    ],
)
def test_conv_out_prints_the_worked_computation(capsys, argv, expected):
    code, out, _ = run(capsys, "conv-out", *argv)
    assert code == 0 and out == expected + "\n"


def test_summary_from_a_shell():
    result = subprocess.run(
        [sys.executable, "-m", "alexnet_lib", "summary", "torchvision:alexnet"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    meta = torchvision.models.get_model_weights("alexnet").DEFAULT.meta
    assert f"{meta['num_params']:,}" in result.stdout
    total = [line for line in result.stdout.splitlines() if line.startswith("total")][0]
    macs = int(total.split()[-1].replace(",", ""))
    assert round(macs / 1e9, 3) == meta["_ops"]  # 0.714 billion multiply-accumulates
