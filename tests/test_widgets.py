"""The interactive tools: what they display, with ipywidgets 8 and with Colab's ipywidgets 7.7."""

import subprocess
import sys
import textwrap

import matplotlib
import pytest

from alexnet_lib.course.diagrams import draw_sliding_window, window_starts
from alexnet_lib.course.explain import explain_conv_output
from alexnet_lib.shapes import ShapeError, conv_output_size
from alexnet_lib.course.widgets import conv_calculator, conv_step

matplotlib.use("Agg")


def test_window_starts_agree_with_the_formula():
    for n, k, s, p in [(7, 3, 2, 1), (28, 5, 1, 2), (13, 3, 2, 0)]:
        starts = window_starts(n, k, s, p)
        assert len(starts) == conv_output_size(n, k, s, p)
        assert starts[-1] + k <= n + 2 * p  # the last window fits


def test_drawing_has_one_output_cell_per_window():
    fig = draw_sliding_window(6, k=3, s=1, p=1)
    output_axes = fig.axes[1]
    assert len(output_axes.patches) == conv_output_size(6, 3, 1, 1) ** 2


def test_too_large_to_draw_is_a_clear_error():
    with pytest.raises(ShapeError, match="too large to draw"):
        draw_sliding_window(224, k=11, s=4, p=2)


def test_step_for_impossible_setting_explains_instead_of_raising():
    text, fig = conv_step(3, k=5, s=1, p=0)
    assert fig is None and "larger than the padded input" in text


def test_calculator_displays_widget_picture_and_text(monkeypatch):
    shown = []
    monkeypatch.setattr("alexnet_lib.course.widgets.display", lambda obj, raw=False: shown.append(obj))
    conv_calculator(n=7, k=3, s=2, p=1)
    (bundle,) = [obj for obj in shown if isinstance(obj, dict)]  # the rest went to the Output widget
    assert bundle["text/plain"] == explain_conv_output(7, k=3, s=2, p=1)
    assert bundle["image/png"]  # the static fallback picture
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"]


@pytest.mark.slow
def test_calculator_runs_with_colab_ipywidgets_7_7(tmp_path):
    # Colab ships ipywidgets 7.7.1: install it beside this environment and run the calculator.
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(tmp_path),
         "ipywidgets==7.7.1", "ipython_genutils==0.2.0"],
        capture_output=True, text=True, timeout=300,
    )
    if install.returncode != 0:
        pytest.skip(f"cannot install ipywidgets 7.7.1 here (no package index?): {install.stderr[-300:]}")
    code = textwrap.dedent("""
        import matplotlib; matplotlib.use("Agg")
        import ipywidgets
        assert ipywidgets.__version__ == "7.7.1", ipywidgets.__version__
        import alexnet_lib.course.widgets as widgets
        shown = []
        widgets.display = lambda obj, raw=False: shown.append(obj)
        widgets.conv_calculator(n=5, k=3, s=2, p=1)
        (bundle,) = [obj for obj in shown if isinstance(obj, dict)]
        print(bundle["text/plain"].splitlines()[-1].strip())
    """)
    env_path = f"{tmp_path}"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "= 3"


def test_activation_explorer_shows_the_chosen_activation(monkeypatch):
    import torch

    from alexnet_lib.course.widgets import activation_explorer

    shown = []
    monkeypatch.setattr("alexnet_lib.course.widgets.display", lambda obj, raw=False: shown.append(obj))
    torch.manual_seed(0)
    activation_explorer(torch.rand(32, 16), torch.randint(0, 10, (32,)), name="tanh", depth=4)
    (bundle,) = shown
    assert bundle["text/plain"].startswith("tanh: largest slope 1, at x = 0.00")
    assert "he init" in bundle["text/plain"] and bundle["image/png"]
