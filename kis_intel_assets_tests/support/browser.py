"""Headless Debian Chromium for the page tests (Playwright, never a downloaded browser): where it is,
how it starts, the marks that skip a test without it, and the two page steps every browser test takes."""

from __future__ import annotations

import os

import pytest

from kis_intel_assets_tests.support import REPO

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts" / "pages"
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
# A browser test is marked `browser` and skipped on a machine without Debian's Chromium.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    ),
]


def open_rendered(page: object, url: str) -> None:
    """Go to `url` and wait until the page says its figures are drawn."""
    page.goto(url)
    page.wait_for_selector("body[data-rendered='1']", timeout=15_000)


def screenshot(page: object, name: str) -> None:
    """The whole page, to test-artifacts/pages/<name>.png (kept for a reader of a failed run)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
