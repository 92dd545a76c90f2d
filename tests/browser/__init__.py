"""The browser tests: Chromium driven by Playwright (see conftest.py)."""
