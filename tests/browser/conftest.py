"""Shared fixtures of the browser tests: Chromium through Playwright, a local web server, screenshots.

Chromium is the system's (Debian: ``apt-get install chromium``), or the binary named by
``ALEXNET_CHROMIUM``; Playwright drives it and never downloads a browser of its own. Where there
is none, every browser test is skipped with the reason, unless ``ALEXNET_BROWSER_TESTS=require``
(CI sets it), which turns the skip into a failure.

Pages run offline: a request to anything but 127.0.0.1 (or data:/blob:) is aborted and recorded
in ``page.blocked``; console errors and uncaught exceptions are recorded in ``page.errors``.
A failing test leaves a screenshot of its page in ``build/test-artifacts/``.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "test-artifacts"
LOCAL = re.compile(r"^(https?://127\.0\.0\.1[:/]|data:|blob:|about:)")
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    """The Chromium binary the tests use, or None where there is none."""
    named = os.environ.get("ALEXNET_CHROMIUM")
    if named:
        return named if Path(named).exists() else None
    return next((path for path in map(shutil.which, CANDIDATES) if path), None)


def _unavailable(reason: str):
    message = (f"browser tests skipped: {reason} (Debian/Ubuntu: apt-get install chromium; "
               "or set ALEXNET_CHROMIUM to a Chrome or Chromium binary)")
    if os.environ.get("ALEXNET_BROWSER_TESTS") == "require":
        pytest.fail(message.replace("skipped", "required but cannot run"), pytrace=False)
    pytest.skip(message)


# The widgets' controls as drawn: each slider's track (noUiSlider in ipywidgets 8, jQuery UI in 7) and each label
# or checkbox text cut short (wider than its box). The calculator's sliders once had tracks of 0 to 37 px and
# "ceil_mode" was cut to "ceil_moc".
WIDGET_SIZES = """() => ({
  tracks: [...document.querySelectorAll('.widget-slider')].map(s => {
    const track = s.querySelector('.noUi-target, .ui-slider, .slider-container');
    return [s.querySelector('.widget-label')?.textContent.trim(), track ? Math.round(track.getBoundingClientRect().width) : 0];
  }),
  cut: [...document.querySelectorAll('.widget-label, .widget-checkbox label, .widget-checkbox span')]
    .filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent.trim()),
})"""
SLIDER_TRACK_PX = 100  # the shortest track the tests accept


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (it is in the project's dev extras)")
    path = chromium_path()
    if path is None:
        _unavailable("no Chromium binary was found")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    """A fresh 1280×720 page that may load only local addresses; see the module's docstring."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.blocked, page.errors = [], []

    def route(route):
        if LOCAL.match(route.request.url):
            route.continue_()
        else:
            page.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(f"console: {msg.text}"))
    page.on("pageerror", lambda error: page.errors.append(f"exception: {error}"))
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep the call phase's report on the test item, so that ``page`` knows whether it failed."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.report_call = report


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="session")
def serve():
    """A function that serves a folder on 127.0.0.1 at a free port (in a thread) and returns its URL."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def pytest_collection_modifyitems(items):
    """Every test in this folder is a browser test."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
