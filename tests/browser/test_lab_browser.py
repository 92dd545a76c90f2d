"""JupyterLab in Chromium: notebooks 01 and 03 run all their cells without an error, and their widgets react.

One JupyterLab server, started from the environment running pytest, serves a copy of
``notebooks/`` (JupyterLab saves the notebooks it runs; the committed ones are never touched).
Each test opens a notebook, clears its outputs, runs all cells from the Run menu, checks the
notebook model for errors, then drives a widget through the page as a student would.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from alexnet_lib.course.widgets import conv_step
from browser.conftest import SLIDER_TRACK_PX, WIDGET_SIZES

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips these tests, or fails them where required, with the reason
    PlaywrightTimeoutError = expect = None

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SERVER_DEADLINE_S = 60
NOTEBOOK_DEADLINE_S = 180
WIDGET_DEADLINE_S = 30
# The notebooks' markdown shows Colab's badge as an image: the only request that leaves the machine.
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BLOCKED_REQUEST_ERROR = "Failed to load resource: net::ERR_FAILED"

# The open notebook's panel, found by its path among the main area's widgets.
PANEL_JS = "[...(window.jupyterapp?.shell.widgets('main') ?? [])].find(w => w.context?.path === name)"
KERNEL_READY_JS = f"""name => {{
    const kernel = {PANEL_JS}?.sessionContext.session?.kernel;
    return kernel?.connectionStatus === 'connected' && kernel.status === 'idle';
}}"""
CLEAR_OUTPUTS_JS = f"""name => {{
    for (const cell of {PANEL_JS}.content.model.cells)
        if (cell.type === 'code') {{ cell.outputs.clear(); cell.executionCount = null; }}
}}"""
# Run All ends when every code cell has an execution count and the kernel is idle, or at the first
# error (JupyterLab then drops the rest of the queue).
RUN_FINISHED_JS = f"""name => {{
    const panel = {PANEL_JS};
    const cells = [...panel.content.model.cells].filter(cell => cell.type === 'code');
    const failed = cells.some(cell => cell.outputs.toJSON().some(out => out.output_type === 'error'));
    const done = cells.every(cell => cell.executionCount !== null);
    return (failed || done) && panel.sessionContext.session?.kernel?.status === 'idle';
}}"""
CELL_REPORT_JS = f"""name => [...{PANEL_JS}.content.model.cells].filter(cell => cell.type === 'code').map(cell => ({{
    first_line: cell.sharedModel.getSource().split('\\n')[0],
    execution_count: cell.executionCount,
    outputs: cell.outputs.toJSON(),
}}))"""


@dataclass
class Lab:
    """A running JupyterLab server: its address, token and log."""

    url: str
    token: str
    log: Path

    def api(self, path: str):
        """The JSON answer of the server's REST API at ``path``."""
        with urllib.request.urlopen(f"{self.url}/api/{path}?token={self.token}", timeout=5) as response:
            return json.load(response)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's log, for failure messages."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lab_environment(tmp: Path) -> dict[str, str]:
    """The server's environment: the test's own, the capped ci profile, and Jupyter's folders all in ``tmp``."""
    folders = {"JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data", "JUPYTER_RUNTIME_DIR": "runtime",
               "JUPYTERLAB_SETTINGS_DIR": "settings", "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
               "IPYTHONDIR": "ipython"}
    env = dict(os.environ, ALEXNET_PROFILE="ci", **{name: str(tmp / folder) for name, folder in folders.items()})
    # Small training runs: this test is about the page and the widgets, and nbval checks the numbers.
    env.update(ALEXNET_MAX_IMAGES="256", ALEXNET_MAX_EPOCHS="1")
    # The kernel imports the library of this checkout, whatever the environment has installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    # No news and no update checks: both would ask a web site.
    notification = tmp / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    return env


def _wait_until_up(lab: Lab, server: subprocess.Popen) -> None:
    """Poll ``/api/status`` until the server answers; fail with its log if it exits or takes too long."""
    deadline = time.monotonic() + SERVER_DEADLINE_S
    while True:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {server.returncode}:\n{lab.log_tail()}", pytrace=False)
        try:
            lab.api("status")
            return
        except OSError:
            if time.monotonic() > deadline:
                message = f"JupyterLab did not answer within {SERVER_DEADLINE_S} s:\n{lab.log_tail()}"
                pytest.fail(message, pytrace=False)
            time.sleep(0.2)


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (the server then shuts its kernels down), SIGKILL if it hangs."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    """A JupyterLab server on a free port, serving a copy of ``notebooks/``; stopped after the module,
    with a check that no kernel outlives it."""
    tmp = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", tmp / "notebooks")
    port, token = _free_port(), secrets.token_hex(16)
    args = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp / 'notebooks'}",
            "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly", "--LabApp.expose_app_in_browser=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # JupyterLab refuses to run as root without it (containers, CI)
    lab = Lab(f"http://127.0.0.1:{port}", token, tmp / "lab.log")
    with lab.log.open("w") as log:
        server = subprocess.Popen(args, env=_lab_environment(tmp), stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        _wait_until_up(lab, server)
        yield lab
        kernels = psutil.Process(server.pid).children(recursive=True)
    finally:
        _stop(server)
    _, alive = psutil.wait_procs(kernels, timeout=10)
    assert not alive, f"kernels left running after JupyterLab stopped: {alive}\n{lab.log_tail()}"


def open_and_run_all(page, lab: Lab, name: str) -> list[dict]:
    """Open notebook ``name``, clear its outputs, Run All from the menu; return its code cells' reports.

    Fails if the kernel does not start or the run does not end within the deadlines.
    """
    page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}")  # reset: no tabs of a saved workspace
    page.wait_for_function(KERNEL_READY_JS, arg=name, timeout=NOTEBOOK_DEADLINE_S * 1000, polling=200)
    page.evaluate(CLEAR_OUTPUTS_JS, name)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    start = time.monotonic()
    try:
        page.wait_for_function(RUN_FINISHED_JS, arg=name, timeout=NOTEBOOK_DEADLINE_S * 1000, polling=200)
    except PlaywrightTimeoutError as exc:
        cells = page.evaluate(CELL_REPORT_JS, name)
        pending = [cell["first_line"] for cell in cells if cell["execution_count"] is None]
        message = f"{name}: Run All did not finish within {NOTEBOOK_DEADLINE_S} s; not yet run: {pending}\n{exc}"
        pytest.fail(message, pytrace=False)
    print(f"{name}: Run All took {time.monotonic() - start:.1f} s")
    return page.evaluate(CELL_REPORT_JS, name)


def cell_errors(cells: list[dict]) -> list[str]:
    """One line per error output or traceback on stderr: the cell's first line and the error."""
    errors = []
    for cell in cells:
        for out in cell["outputs"]:
            if out["output_type"] == "error":
                errors.append(f"{cell['first_line']!r}: {out['ename']}: {out['evalue']}")
            elif out["output_type"] == "stream" and out["name"] == "stderr" and "Traceback" in "".join(out["text"]):
                errors.append(f"{cell['first_line']!r}: traceback on stderr: {''.join(out['text'])[-500:]}")
    return errors


def assert_ran_cleanly(page, cells: list[dict], name: str) -> None:
    """No cell shows an error, every code cell ran once in order, and the page went to nothing but the badge."""
    errors = cell_errors(cells)
    assert not errors, f"{name}: cells with errors:\n" + "\n".join(errors)
    counts = [cell["execution_count"] for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), f"{name}: execution counts {counts}, expected 1..{len(cells)}"
    assert set(page.blocked) <= {COLAB_BADGE}, f"{name}: requests to other sites: {sorted(set(page.blocked))}"
    unexpected = list(page.errors)
    for _ in page.badge_errors:  # the console errors of the blocked badge, and only those, are expected
        unexpected.remove(f"console: {BLOCKED_REQUEST_ERROR}")
    assert not unexpected, f"{name}: errors in the page: {unexpected}"


def slider_handle(cell, label: str):
    """The handle of the IntSlider labelled ``label`` in ``cell`` (ipywidgets 8 draws sliders with noUiSlider)."""
    slider = cell.locator(".widget-slider", has=cell.page.locator(".widget-label", has_text=label))
    return slider.locator(".noUi-handle")


def slider_value(cell, label: str) -> int:
    """The value the IntSlider labelled ``label`` in ``cell`` shows."""
    return round(float(slider_handle(cell, label).get_attribute("aria-valuenow")))


@pytest.fixture
def page(page):
    """The browser tests' ``page``, which here also keeps the blocked Colab badge's console errors in
    ``page.badge_errors``."""
    page.badge_errors = []

    def record(msg):
        if msg.type == "error" and msg.text == BLOCKED_REQUEST_ERROR and msg.location.get("url") == COLAB_BADGE:
            page.badge_errors.append(msg.text)

    page.on("console", record)
    return page


def test_01_runs_and_its_calculator_follows_the_padding_slider(page, lab):
    name = "01_convolution_arithmetic.ipynb"
    cells = open_and_run_all(page, lab, name)
    assert_ran_cleanly(page, cells, name)

    calculator = page.locator(".jp-CodeCell", has=page.locator(".widget-label", has_text="padding p"))
    printed = calculator.locator('.widget-output [data-mime-type="application/vnd.jupyter.stdout"]')
    labels = {"n": "input n", "k": "kernel k", "s": "stride s", "p": "padding p", "d": "dilation d"}
    values = {key: slider_value(calculator, label) for key, label in labels.items()}
    assert printed.text_content().rstrip("\n") == conv_step(**values)[0]

    sizes = page.evaluate(WIDGET_SIZES)
    assert len(sizes["tracks"]) == 5 and all(px >= SLIDER_TRACK_PX for _, px in sizes["tracks"]), sizes
    assert sizes["cut"] == []

    handle = slider_handle(calculator, "padding p")
    handle.scroll_into_view_if_needed()
    handle.focus()
    page.keyboard.press("ArrowRight")
    values["p"] += 1
    expected = conv_step(**values)[0]
    expect(printed).to_have_text(expected, timeout=WIDGET_DEADLINE_S * 1000)  # the kernel redrew it
    assert printed.text_content().rstrip("\n") == expected
    assert slider_value(calculator, "padding p") == values["p"]


def test_03_runs_and_its_explorer_follows_the_activation(page, lab):
    name = "03_relu_vs_sigmoid.ipynb"
    cells = open_and_run_all(page, lab, name)
    assert_ran_cleanly(page, cells, name)

    label = page.locator(".widget-dropdown .widget-label", has_text="activation")
    explorer = page.locator(".jp-CodeCell", has=label)
    choice = explorer.locator(".widget-dropdown select")
    printed = explorer.locator('.widget-output [data-mime-type="application/vnd.jupyter.stdout"]')
    picture = explorer.locator(".widget-output img")
    old = choice.input_value()
    assert printed.text_content().startswith(f"{old}: largest slope")
    old_picture = picture.get_attribute("src")

    new = "relu" if old != "relu" else "sigmoid"
    choice.select_option(new)
    expect(printed).to_have_text(re.compile(f"^{new}: largest slope"), timeout=WIDGET_DEADLINE_S * 1000)
    # The kernel sends the text, then the figure: once the new text shows, any figure is the new one.
    expect(picture).to_have_count(1, timeout=WIDGET_DEADLINE_S * 1000)
    assert picture.get_attribute("src") != old_picture, "the explorer's figure did not change"
    lines = printed.text_content().rstrip("\n").splitlines()
    assert lines[1:] and all(line.strip().startswith(f"{new}, ") for line in lines[1:]), lines
