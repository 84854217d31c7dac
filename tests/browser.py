"""Headless Chromium for tests: Debian's /usr/bin/chromium driven by Playwright (never `playwright install`).

Under CI=true a missing browser fails the test loudly; elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.ci import in_ci

CHROMIUM = os.environ.get("TOKENWARD_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def unavailable(reason: str) -> None:
    """Fail under CI, skip elsewhere."""
    if in_ci():
        pytest.fail(f"headless Chromium is required under CI: {reason}")
    pytest.skip(reason)


@contextmanager
def chromium_page(width: int = 1400, height: int = 900) -> Iterator[Any]:
    """A fresh page in a headless Chromium (closed afterwards)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
    if not os.path.exists(CHROMIUM):
        unavailable(f"{CHROMIUM} not found (apt-get install chromium; scripts/system-deps.sh does it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()
